/*
 * plan — the plan builder both front ends share (origins, header rules, stage peaks) and
 * helpers over the plan structures: executor names, stage arithmetic, lengths.
 */
#include "engine/plan.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int plan_origin_add(struct plan *plan, const char *url, bool resolve, bool *unreachable, char *err,
                    size_t err_len)
{
    struct url u;
    int rc = url_parse(url, &u);
    if (rc < 0) {
        snprintf(err, err_len, "bad URL '%s': %s (expected http[s]://host[:port]/path)", url,
                 brunt_strerror(rc));
        return -1;
    }
    for (size_t i = 0; i < plan->n_origins; i++) {
        const struct url *o = &plan->origins[i].url;
        if (o->port == u.port && o->tls == u.tls && strcmp(o->host, u.host) == 0) {
            return (int)i;
        }
    }
    if (plan->origins == NULL) {
        /* Fixed capacity: steps point at origins, so the array never moves. */
        plan->origins = calloc(PLAN_MAX_ORIGINS, sizeof *plan->origins);
        if (plan->origins == NULL) {
            snprintf(err, err_len, "out of memory");
            return -1;
        }
    }
    if (plan->n_origins == PLAN_MAX_ORIGINS) {
        snprintf(err, err_len, "too many distinct hosts (at most %d)", PLAN_MAX_ORIGINS);
        return -1;
    }
    struct origin *o = &plan->origins[plan->n_origins];
    memset(o, 0, sizeof *o);
    o->url = u;
    o->transport = u.tls ? &transport_tls : &transport_tcp;
    if (resolve && url_resolve(&u, &o->addr, &o->addr_len) < 0) {
        snprintf(err, err_len,
                 "cannot resolve host '%s' of %s (expected a host name that resolves)", u.host,
                 url);
        if (unreachable != NULL) {
            *unreachable = true;
        }
        return -1;
    }
    return (int)plan->n_origins++;
}

int plan_transport_prepare(struct plan *plan, char *err, size_t err_len)
{
    struct transport_tls_opts opts = {
        .insecure = plan->tls_insecure,
        .cacert = plan->tls_cacert,
        .cert = plan->tls_cert,
        .key = plan->tls_key,
        .alpn_h2 = plan->http2,
    };
    for (size_t i = 0; i < plan->n_origins; i++) {
        struct origin *o = &plan->origins[i];
        o->http2 = plan->http2;
        if (o->transport != &transport_tls || o->transport_cfg != NULL) {
            continue;
        }
        unsigned char ip[sizeof(struct in6_addr)];
        bool literal = o->url.ipv6_literal || inet_pton(AF_INET, o->url.host, ip) == 1;
        if (transport_tls_cfg_new(o->url.host, literal, &opts, &o->transport_cfg, err, err_len) <
            0) {
            return -1;
        }
    }
    return 0;
}

bool plan_token_valid(const char *s, size_t len)
{
    if (len == 0) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c <= ' ' || c >= 127 || strchr("\"(),/:;<=>?@[\\]{}", c) != NULL) {
            return false;
        }
    }
    return true;
}

int plan_header_name_check(const char *name, size_t len, char *err, size_t err_len)
{
    static const char *const framing[] = {"Content-Length", "Transfer-Encoding"};
    if (!plan_token_valid(name, len)) {
        snprintf(err, err_len, "bad header name '%.*s' (expected a token such as X-Id)", (int)len,
                 name);
        return -1;
    }
    for (size_t i = 0; i < sizeof framing / sizeof framing[0]; i++) {
        if (strlen(framing[i]) == len && strncasecmp(name, framing[i], len) == 0) {
            snprintf(err, err_len, "header '%.*s' is set by brunt (expected other headers)",
                     (int)len, name);
            return -1;
        }
    }
    return 0;
}

double plan_stage_peak(const struct scenario_plan *sc, double from)
{
    double peak = from;
    for (size_t i = 0; i < sc->n_stages; i++) {
        if (sc->stages[i].target > peak) {
            peak = sc->stages[i].target;
        }
    }
    return peak;
}

uint64_t plan_vus_peak(const struct scenario_plan *sc)
{
    if (executor_is_open(sc->executor)) {
        return sc->max_vus;
    }
    return (uint64_t)(plan_stage_peak(sc, sc->vus) + 1e-9);
}

void plan_fit_threads(struct plan *plan)
{
    uint64_t most = 0;
    for (size_t i = 0; i < plan->n_scenarios; i++) {
        most += plan_vus_peak(&plan->scenarios[i]);
    }
    if (most > 0 && (uint64_t)plan->threads > most) {
        plan->threads = (int)most;
    }
}

const char *executor_name(enum executor_kind kind)
{
    switch (kind) {
    case EXEC_CONSTANT_VUS:
        return "constant-vus";
    case EXEC_RAMPING_VUS:
        return "ramping-vus";
    case EXEC_CONSTANT_ARRIVAL_RATE:
        return "constant-arrival-rate";
    case EXEC_RAMPING_ARRIVAL_RATE:
        return "ramping-arrival-rate";
    case EXEC_PER_VU_ITERATIONS:
        return "per-vu-iterations";
    case EXEC_SHARED_ITERATIONS:
        return "shared-iterations";
    }
    return "?";
}

bool executor_is_open(enum executor_kind kind)
{
    return kind == EXEC_CONSTANT_ARRIVAL_RATE || kind == EXEC_RAMPING_ARRIVAL_RATE;
}

static uint64_t stages_length_ns(const struct stage *stages, size_t n)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += stages[i].duration_ns;
    }
    return total;
}

uint64_t scenario_length_ns(const struct scenario_plan *sc)
{
    uint64_t len = sc->duration_ns;
    if (sc->executor == EXEC_RAMPING_VUS || sc->executor == EXEC_RAMPING_ARRIVAL_RATE) {
        len = stages_length_ns(sc->stages, sc->n_stages);
    }
    return sc->start_time_ns + len;
}

uint64_t plan_length_ns(const struct plan *plan)
{
    uint64_t len = 0;
    for (size_t i = 0; i < plan->n_scenarios; i++) {
        uint64_t l = scenario_length_ns(&plan->scenarios[i]);
        if (l > len) {
            len = l;
        }
    }
    return len;
}

double stages_target_at(const struct stage *stages, size_t n, double from, uint64_t t_ns)
{
    double prev = from;
    for (size_t i = 0; i < n; i++) {
        const struct stage *s = &stages[i];
        if (t_ns < s->duration_ns) {
            double f = (double)t_ns / (double)s->duration_ns;
            return prev + (s->target - prev) * f;
        }
        t_ns -= s->duration_ns;
        prev = s->target;
    }
    return prev;
}

void plan_free(struct plan *plan)
{
    if (plan == NULL) {
        return;
    }
    for (size_t i = 0; i < plan->n_scenarios; i++) {
        struct scenario_plan *sc = &plan->scenarios[i];
        for (size_t j = 0; j < sc->n_steps; j++) {
            free(sc->steps[j].method);
            free(sc->steps[j].name);
            free(sc->steps[j].raw);
            free(sc->steps[j].group);
            free(sc->steps[j].tags);
        }
        free(sc->steps);
        free(sc->stages);
        free(sc->name);
    }
    free(plan->scenarios);
    for (size_t i = 0; plan->origins != NULL && i < plan->n_origins; i++) {
        struct origin *o = &plan->origins[i];
        if (o->transport_cfg != NULL && o->transport->cfg_free != NULL) {
            o->transport->cfg_free(o->transport_cfg);
        }
    }
    free(plan->origins);
    free(plan->tls_cacert);
    free(plan->tls_cert);
    free(plan->tls_key);
    if (plan->owner_free != NULL) {
        plan->owner_free(plan->owner);
    }
    free(plan);
}
