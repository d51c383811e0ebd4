/*
 * plan — what a run is asked to do, independent of how it was described.
 *
 * Quick mode (`brunt run URL` flags) and scenario files both compile into a struct
 * plan: scenarios, each with a k6 executor and a flow of steps.  The engine runs a plan
 * and knows nothing of flags or YAML.  A plan is built once before the run, read-only
 * while workers run, and freed after.
 */
#ifndef BRUNT_ENGINE_PLAN_H
#define BRUNT_ENGINE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "engine/step.h"
#include "engine/transport.h"
#include "http/url.h"

/* k6's executors (docs/scenarios.md); names as k6 spells them in executor_name(). */
enum executor_kind {
    EXEC_CONSTANT_VUS,
    EXEC_RAMPING_VUS,
    EXEC_CONSTANT_ARRIVAL_RATE,
    EXEC_RAMPING_ARRIVAL_RATE,
    EXEC_PER_VU_ITERATIONS,
    EXEC_SHARED_ITERATIONS,
};

const char *executor_name(enum executor_kind kind);
/* True for the open-model (arrival-rate) executors. */
bool executor_is_open(enum executor_kind kind);

struct stage {
    uint64_t duration_ns;
    double target; /* VUs (ramping-vus) or iterations per time unit (ramping-arrival-rate) */
};

/* A connection endpoint, resolved once before the run. */
struct origin {
    struct url url;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    const struct transport_ops *transport; /* chosen once: TCP for http://, TLS for https:// */
    /* The transport's configuration (TLS: the origin's SSL_CTX), built by
     * plan_transport_prepare(); NULL for plain TCP. */
    void *transport_cfg;
    /* --http2: HTTP/2 on this origin (h2 by ALPN over TLS, h2c with prior knowledge over
     * TCP); set by plan_transport_prepare() from plan.http2. */
    bool http2;
};

enum step_kind { STEP_REQUEST, STEP_SLEEP, STEP_WS };

/* What a STEP_WS step does on the VU's WebSocket session (engine/conn_ws.c). */
enum ws_step_op {
    WS_STEP_CONNECT, /* upgrade: ops->render gives the GET head, origin says where */
    WS_STEP_SEND,    /* ops->render gives the payload; ws_binary: a binary message */
    WS_STEP_WAIT,    /* until a message ops->ws_match accepts, at most the step's timeout */
    WS_STEP_PING,    /* a ping; its pong is timed in ws_ping when it comes */
    WS_STEP_LISTEN,  /* hold the session for ws_listen_ns, counting what arrives */
    WS_STEP_CLOSE,   /* close frame ws_close_code, the server's close, the end */
};

struct step {
    enum step_kind kind;
    /* STEP_REQUEST */
    const struct origin *origin;
    char *method;
    char *name; /* the "name" tag (default: the URL) */
    char *raw;  /* the whole request, pre-rendered: head and body */
    size_t raw_len;
    size_t body_len;
    bool head_request; /* HEAD: the response has no body */
    char *group;       /* the "group" tag (k6 style "::outer::inner"), or NULL */
    /* The step's own tags (scenario files' tags:), "key=value" pairs each ended by
     * TAGS_SEP (metrics/registry.h), or NULL; on every sample of the step. */
    char *tags;
    uint64_t timeout_ns; /* this step's request timeout; 0 = the plan's */
    /* When set, the request is rendered per VU by ops (engine/step.h; scenario files:
     * scenario/flow.c) instead of sending `raw`, and ops see the response.  ops_data is
     * the implementation's, passed back to every call. */
    const struct step_ops *ops;
    const void *ops_data;
    /* STEP_SLEEP: uniform in [sleep_min_ns, sleep_max_ns] */
    uint64_t sleep_min_ns, sleep_max_ns;
    /* STEP_WS (origin, name, group, tags, timeout_ns and ops as a request's) */
    enum ws_step_op ws_op;
    bool ws_binary;
    uint16_t ws_close_code;
    uint64_t ws_listen_ns;
};

struct scenario_plan {
    char *name;
    enum executor_kind executor;
    uint64_t start_time_ns;    /* offset from the start of the run */
    uint64_t duration_ns;      /* constant-*: the length; *-iterations: maxDuration */
    uint64_t graceful_stop_ns; /* in-flight iterations may finish for this long */
    uint64_t graceful_ramp_down_ns;
    uint32_t vus;               /* constant-vus, *-iterations; start VUs for ramping-vus */
    uint64_t iterations;        /* per-vu-iterations: per VU; shared-iterations: total */
    double rate;                /* constant-arrival-rate: iterations per time unit */
    double start_rate;          /* ramping-arrival-rate */
    uint64_t time_unit_ns;      /* default 1 s */
    uint32_t pre_allocated_vus; /* open model: VUs (connections) made before the start */
    uint32_t max_vus;           /* open model: cap; beyond it iterations queue */
    uint64_t max_queue_ns;      /* open model: a queued iteration is dropped after this */
    bool breakpoint;   /* a scenario file's `breakpoint` executor: a ramping arrival rate the
                      * CLI stops at the thresholds' first failure (analysis/breakpoint.h) */
    uint32_t pipeline; /* requests in flight per connection (quick mode) */
    struct stage *stages;
    size_t n_stages;
    struct step *steps;
    size_t n_steps;
    /* Per-VU state and iteration starts (engine/step.h; scenario files: variables and
     * feeders), or NULL. */
    const struct scenario_ops *ops;
    const void *ops_data;
};

struct plan {
    struct scenario_plan *scenarios;
    size_t n_scenarios;
    struct origin *origins;
    size_t n_origins;
    int threads;
    uint64_t timeout_ns; /* per request */
    uint64_t connect_timeout_ns;
    uint64_t grace_ns; /* on SIGINT: wait this long for in-flight work */
    /* TLS settings of the https:// origins (strings owned by the plan; NULL = none). */
    /* Run-wide tags (--tag), "key=value" each, on every sample; borrowed: they must
     * outlive the run. */
    const char *const *run_tags;
    size_t n_run_tags;
    bool tls_insecure;
    char *tls_cacert, *tls_cert, *tls_key;
    bool http2; /* --http2 / options.http2: every origin speaks HTTP/2 (engine/conn_h2.c) */
    /* Whatever built the plan may hang its own data here (compiled flows); plan_free()
     * calls owner_free(owner). */
    void *owner;
    void (*owner_free)(void *owner);
};

/* --- the plan builder, shared by quick mode (cli/plan_build.c) and scenario files --- */

/* The most bytes one request (head and body) may take, and the most distinct origins. */
#define PLAN_MAX_REQUEST_BYTES (64u * 1024 * 1024)
#define PLAN_MAX_ORIGINS 64

/*
 * Finds or adds the origin of url ("http://host[:port]", a path is ignored) and, when
 * resolve is set, resolves it once; the origin's transport is chosen here.  Returns the
 * origin's index, or -1 with one line in err: a bad URL or a scheme brunt does not speak
 * (bad input), too many origins, or a name that does not resolve (then *unreachable is
 * set when unreachable is not NULL).  Origins never move once added.
 */
int plan_origin_add(struct plan *plan, const char *url, bool resolve, bool *unreachable, char *err,
                    size_t err_len);
/*
 * Builds each origin's transport configuration (TLS: one SSL_CTX per https:// origin
 * from the plan's tls_* settings).  Once, before the run; again does nothing.  0, or -1
 * with one line in err (bad input: an unreadable certificate file).
 */
int plan_transport_prepare(struct plan *plan, char *err, size_t err_len);
/* Whether s[0..len) is an HTTP token (a method or a header name), len > 0. */
bool plan_token_valid(const char *s, size_t len);
/*
 * Checks a user-given header name: a token, and not a framing header brunt writes itself
 * (Content-Length, Transfer-Encoding).  0, or -1 with one line in err.
 */
int plan_header_name_check(const char *name, size_t len, char *err, size_t err_len);
/* The largest target over a scenario's stages, at least `from` (its start value). */
double plan_stage_peak(const struct scenario_plan *sc, double from);
/* The most VUs a scenario may have at once: closed model the start or the largest stage
 * target, open model max_vus. */
uint64_t plan_vus_peak(const struct scenario_plan *sc);
/* Caps plan->threads at the VUs all scenarios may have (more would idle). */
void plan_fit_threads(struct plan *plan);

/* Total planned length of a scenario (start_time + duration or stages, + graceful stop
 * is not included). */
uint64_t scenario_length_ns(const struct scenario_plan *sc);
/* The whole plan's planned length: the latest scenario end. */
uint64_t plan_length_ns(const struct plan *plan);
/* Target (VUs or rate) of a staged scenario at offset t_ns from its start: linear within
 * each stage, from the previous stage's target (or `from` for the first). */
double stages_target_at(const struct stage *stages, size_t n, double from, uint64_t t_ns);
/* Frees everything a plan owns (plan itself too).  plan_free(NULL) does nothing. */
void plan_free(struct plan *plan);

#endif
