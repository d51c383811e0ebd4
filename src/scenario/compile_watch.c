/*
 * compile_watch — `watch:` (which processes to watch, or to spawn, and how often) and
 * `criteria:` (the success-criteria table) into the file's options, for the CLI to merge
 * with its flags (cli/run_scenario.c).  Criteria rows are parsed by metrics/criteria.c, so
 * their grammar is the thresholds'.  Load time, one thread.
 *
 *     watch:
 *       processes: [gunicorn, 4242, {spawn: {command: "...", ready: "http://..."}}]
 *       interval: 1s
 *       machine: true
 *       steady_min: 1m
 *     criteria:
 *       - {metric: "http_req_duration:p(95)", target: "<400", acceptable: "<600"}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/criteria.h"
#include "scenario/load_internal.h"

void scenario_file_opts_destroy(struct scenario_file_opts *o)
{
    for (size_t i = 0; i < o->n_watch; i++) {
        free(o->watch[i]);
        o->watch[i] = NULL;
    }
    o->n_watch = 0;
    free(o->pg_dsn);
    free(o->redis_url);
    o->pg_dsn = o->redis_url = NULL;
    free(o->spawn);
    free(o->spawn_ready);
    free(o->spawn_log);
    o->spawn = o->spawn_ready = o->spawn_log = NULL;
    for (size_t i = 0; i < o->n_criteria; i++) {
        criterion_destroy(&o->criteria[i]);
    }
    free(o->criteria);
    o->criteria = NULL;
    o->n_criteria = 0;
}

static int dup_into(struct loader *L, char **dst, const char *s)
{
    *dst = strdup(s);
    return *dst == NULL ? load__oom(L) : 0;
}

static int compile_spawn(struct loader *L, struct ynode *n)
{
    static const char *const keys[] = {"command", "ready", "ready_timeout", "log", NULL};
    struct scenario_file_opts *o = L->opts;
    if (load__check_map(L, n, "spawn", keys) < 0) {
        return -1;
    }
    if (o->spawn != NULL) {
        return load__err(L, n,
                         "a second spawn (expected one spawned process; watch others "
                         "by PID or name)");
    }
    struct ynode *cmd = load__mget(n, "command"), *ready = load__mget(n, "ready");
    struct ynode *to = load__mget(n, "ready_timeout"), *log = load__mget(n, "log");
    if (cmd == NULL) {
        return load__err(L, n,
                         "spawn without command (expected {command: \"gunicorn "
                         "app:app\", ready: \"http://127.0.0.1:8000/health\"})");
    }
    const char *s = load__sval(L, cmd, "a command line");
    if (s == NULL || dup_into(L, &o->spawn, s) < 0) {
        return -1;
    }
    if (s[0] == '\0') {
        return load__err(L, cmd, "an empty command (expected a command line)");
    }
    if (ready != NULL) {
        s = load__sval(L, ready, "an http:// URL or a port");
        if (s == NULL || dup_into(L, &o->spawn_ready, s) < 0) {
            return -1;
        }
    }
    if (log != NULL) {
        s = load__sval(L, log, "a file path");
        if (s == NULL || dup_into(L, &o->spawn_log, s) < 0) {
            return -1;
        }
    }
    if (to != NULL) {
        if (load__get_duration(L, to, false, &o->ready_timeout_ns) < 0) {
            return -1;
        }
        o->has_ready_timeout = true;
    }
    return 0;
}

static int compile_process(struct loader *L, struct ynode *it)
{
    struct scenario_file_opts *o = L->opts;
    if (it->type == Y_MAP) {
        static const char *const keys[] = {"spawn", NULL};
        if (load__check_map(L, it, "a watched process", keys) < 0) {
            return -1;
        }
        struct ynode *sp = load__mget(it, "spawn");
        if (sp == NULL) {
            return load__err(L, it,
                             "a mapping without spawn (expected a PID, a name, or "
                             "{spawn: {command, ready}})");
        }
        return compile_spawn(L, sp);
    }
    const char *s = load__sval(L, it, "a PID, a process name, or {spawn: {command, ready}}");
    if (s == NULL) {
        return -1;
    }
    bool digits = s[0] != '\0';
    for (const char *c = s; *c; c++) {
        digits = digits && *c >= '0' && *c <= '9';
    }
    if (s[0] == '\0' || (!digits && strlen(s) > 15)) {
        return load__err(L, it,
                         "'%s' (expected a PID or a process name of at most 15 bytes, as "
                         "/proc/PID/comm holds it)",
                         s);
    }
    if (o->n_watch == SCENARIO_MAX_WATCH) {
        return load__err(L, it, "too many watched processes (at most %d)", SCENARIO_MAX_WATCH);
    }
    return dup_into(L, &o->watch[o->n_watch++], s);
}

int load__compile_watch(struct loader *L, struct ynode *n)
{
    static const char *const keys[] = {"processes",       "interval",   "machine",
                                       "postgres",        "redis",      "explain_analyze",
                                       "postgres_settle", "steady_min", NULL};
    struct scenario_file_opts *o = L->opts;
    if (load__check_map(L, n, "watch", keys) < 0) {
        return -1;
    }
    /* The database probes (cli/dbprobe.c).  ${ENV} expands here, so a password need
     * never be written in the file: postgres: "postgresql://app:${PGPASS}@db/shop". */
    struct ynode *pg = load__mget(n, "postgres"), *rd = load__mget(n, "redis");
    struct ynode *ea = load__mget(n, "explain_analyze"), *ps = load__mget(n, "postgres_settle");
    if (pg != NULL) {
        const char *s = load__sval(L, pg, "a libpq DSN (postgresql://user@host:port/db)");
        if (s == NULL || dup_into(L, &o->pg_dsn, s) < 0) {
            return -1;
        }
    }
    if (rd != NULL) {
        const char *s = load__sval(L, rd, "a Redis URL (redis://host:port/db)");
        if (s == NULL || dup_into(L, &o->redis_url, s) < 0) {
            return -1;
        }
    }
    if (ea != NULL) {
        static const char *const bools[] = {"false", "true", NULL};
        int b;
        if (load__get_enum(L, ea, "explain_analyze value", bools, &b) < 0) {
            return -1;
        }
        o->has_explain_analyze = true;
        o->explain_analyze = b != 0;
    }
    if (ps != NULL) {
        if (load__get_duration(L, ps, false, &o->pg_settle_ns) < 0) {
            return -1;
        }
        if (o->pg_settle_ns < NS_PER_S || o->pg_settle_ns > 60 * NS_PER_S) {
            return load__err(L, ps, "postgres_settle out of range (expected 1s to 60s)");
        }
    }
    struct ynode *sm = load__mget(n, "steady_min");
    if (sm != NULL) {
        if (load__get_duration(L, sm, false, &o->steady_min_ns) < 0) {
            return -1;
        }
        o->has_steady_min = true;
    }
    struct ynode *procs = load__mget(n, "processes");
    struct ynode *iv = load__mget(n, "interval"), *mach = load__mget(n, "machine");
    if (procs != NULL) {
        struct ynode *one[1] = {procs};
        struct ynode **items = procs->type == Y_SEQ ? procs->kids : one;
        size_t count = procs->type == Y_SEQ ? procs->n : 1;
        for (size_t i = 0; i < count; i++) {
            if (compile_process(L, items[i]) < 0) {
                return -1;
            }
        }
    }
    if (iv != NULL) {
        if (load__get_duration(L, iv, false, &o->watch_interval_ns) < 0) {
            return -1;
        }
        if (o->watch_interval_ns < 100 * NS_PER_MS || o->watch_interval_ns > 60 * NS_PER_S) {
            return load__err(L, iv, "interval out of range (expected 100ms to 60s)");
        }
        o->has_watch_interval = true;
    }
    if (mach != NULL) {
        static const char *const bools[] = {"false", "true", NULL};
        int b;
        if (load__get_enum(L, mach, "machine value", bools, &b) < 0) {
            return -1;
        }
        o->has_watch_machine = true;
        o->watch_machine = b != 0;
    }
    return 0;
}

int load__compile_criteria(struct loader *L, struct ynode *n)
{
    static const char *const keys[] = {"metric", "target", "acceptable", NULL};
    struct scenario_file_opts *o = L->opts;
    if (n->type != Y_SEQ) {
        return load__err(L, n,
                         "found %s for criteria (expected a list of {metric, target, "
                         "acceptable})",
                         load__ytype_name(n));
    }
    if (n->n > SCENARIO_MAX_CRITERIA) {
        return load__err(L, n, "too many criteria (at most %d)", SCENARIO_MAX_CRITERIA);
    }
    if (n->n == 0) {
        return 0;
    }
    o->criteria = calloc(n->n, sizeof *o->criteria);
    if (o->criteria == NULL) {
        return load__oom(L);
    }
    for (size_t i = 0; i < n->n; i++) {
        struct ynode *row = n->kids[i];
        if (load__check_map(L, row, "a criterion", keys) < 0) {
            return -1;
        }
        struct ynode *m = load__mget(row, "metric"), *t = load__mget(row, "target");
        struct ynode *a = load__mget(row, "acceptable");
        if (m == NULL || t == NULL) {
            return load__err(L, row,
                             "a criterion without %s (expected {metric: "
                             "\"http_req_duration:p(95)\", target: \"<400\", acceptable: "
                             "\"<600\"})",
                             m == NULL ? "metric" : "target");
        }
        const char *ms = load__sval(L, m, "a metric expression such as http_req_duration:p(95)");
        const char *ts = ms ? load__sval(L, t, "a level such as <400") : NULL;
        const char *as = ts && a ? load__sval(L, a, "a level such as <600") : NULL;
        if (ms == NULL || ts == NULL || (a != NULL && as == NULL)) {
            return -1;
        }
        char msg[512];
        if (criterion_parse(ms, ts, as, &o->criteria[o->n_criteria], msg, sizeof msg) < 0) {
            return load__err(L, row, "%s", msg);
        }
        o->n_criteria++;
    }
    return 0;
}
