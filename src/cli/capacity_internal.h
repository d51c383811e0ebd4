/*
 * capacity_internal — what the files of `brunt capacity` share (cli/capacity*.c):
 *
 *   capacity.c       the usage, the flags, and the search from the first step to the exit
 *   capacity_step.c  one step on the engine and its verdict over the settled seconds (the
 *                    objectives, the backlog, the watched resources), the drain after a
 *                    step that broke, and the closed model's series of steps
 *   capacity_out.c   the latency-vs-load table, the USL lines, the brunt-capacity/1 result
 *
 * Main thread only.
 */
#ifndef BRUNT_CLI_CAPACITY_INTERNAL_H
#define BRUNT_CLI_CAPACITY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analysis/capacity.h"
#include "analysis/usl.h"
#include "engine/plan.h"
#include "metrics/threshold.h"

#define MAX_SLOS 32
#define MAX_CAP_HEADERS 64
#define MAX_CAP_WATCH 8
#define MAX_CONCURRENCY 32

struct cap_ctx {
    struct plan *plan;
    const char *slo_src[MAX_SLOS];
    size_t n_slos;
    struct threshold *file_th; /* the scenario file's thresholds: objectives too */
    size_t n_file_th;
    uint64_t settle_ns;
    uint64_t vus, max_vus; /* 0: from the rate */
    bool quiet;
    bool drain;        /* the last step broke: let the target work off its backlog first */
    double base_ms;    /* a lone request's duration, measured before the search */
    uint64_t drain_ns; /* time spent draining, in all */
    const char *watch[MAX_CAP_WATCH]; /* --watch PID|NAME: the target's CPU per step */
    size_t n_watch;
    const char *pg_dsn; /* --postgres DSN: the database's connections per step */
    bool closed;        /* --concurrency: the step's "rate" is a number of VUs */
};

/*
 * One request alone (closed model, one VU, one iteration); its duration in ms, or NAN:
 * the target at rest before the search, and after a step that broke.
 */
double cli_cap__lone_request_ms(struct cap_ctx *c);

/* The probes of one step (a fresh set: --watch, --postgres), or NULL when none is asked
 * for; *failed when one could not be made (the message is printed). */
struct probe_set *cli_cap__step_probes(const struct cap_ctx *c, bool *failed);

/* Runs one open-model step at rate for dur and judges it into *out (capacity_search's
 * step callback; data is the struct cap_ctx).  0 or a negative errno. */
int cli_cap__run_step(double rate, uint64_t dur, bool confirm, struct cap_step *out, void *data);

/* The closed model (--concurrency): one step per concurrency in ns[0..n), then the USL
 * fit into *fit (*fit_rc its result).  0 or the first negative errno of a step. */
int cli_cap__closed_search(struct cap_ctx *c, const struct cap_options *o, const double *ns,
                           size_t n, struct cap_result *res, struct usl_fit *fit, int *fit_rc);

/* The latency-vs-load table of the steps, on f. */
void cli_cap__print_table(FILE *f, const struct cap_result *res, const struct cap_ctx *c);

/* The USL fit's lines (or why there is none: rc < 0), on f. */
void cli_cap__print_usl(FILE *f, const struct usl_fit *u, int rc);

/* Writes the brunt-capacity/1 result to path (atomically).  0, or -1 with err. */
int cli_cap__write_result(const char *path, const struct cap_result *res,
                          const struct cap_options *o, const struct cap_ctx *c,
                          const struct usl_fit *usl, int argc, char **argv, uint64_t start_wall,
                          char *err, size_t err_len);

#endif
