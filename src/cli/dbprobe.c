/*
 * dbprobe — see dbprobe.h.  Each database probe is wrapped in a small forwarding probe
 * so that a start() failure (server down, wrong password) prints one line and keeps the
 * probe in the set instead of dropping it: the probe's own summary and result member
 * then say "not measured" and why, as the section of an unreachable database should.
 */
#include "cli/dbprobe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/dbfind.h"
#include "cli/cli.h"
#include "core/text.h"
#include "metrics/hist.h"
#include "metrics/packed.h"
#include "metrics/registry.h"
#include "probe/dbutil.h"
#include "probe/pg.h"
#include "probe/redis.h"

struct wrap {
    struct probe inner;
    bool is_pg;
    struct cli_db *db;
};

static int w_start(void *self, char *err, size_t err_len)
{
    struct wrap *w = self;
    if (w->inner.ops->start(w->inner.self, err, err_len) < 0) {
        fprintf(stderr, "brunt run: warning: %s (the run goes on; its section says why)\n", err);
    }
    return 0;
}

static void w_sample(void *self, uint64_t now_ns, struct registry *reg)
{
    struct wrap *w = self;
    w->inner.ops->sample(w->inner.self, now_ns, reg);
}

static void w_stop(void *self)
{
    struct wrap *w = self;
    w->inner.ops->stop(w->inner.self);
}

static void w_summary(void *self, FILE *f, bool color)
{
    struct wrap *w = self;
    w->inner.ops->summary(w->inner.self, f, color);
}

static int w_to_json(void *self, struct jsonw *jw)
{
    struct wrap *w = self;
    return w->inner.ops->to_json(w->inner.self, jw);
}

static size_t w_findings(void *self, struct finding *out, size_t cap)
{
    struct wrap *w = self;
    return w->inner.ops->findings(w->inner.self, out, cap);
}

static void w_free(void *self)
{
    struct wrap *w = self;
    if (w->db) {
        if (w->is_pg) {
            w->db->pg = NULL;
        } else {
            w->db->redis = NULL;
        }
    }
    w->inner.ops->free(w->inner.self);
    free(w);
}

static const struct probe_ops pg_wrap_ops = {"postgres", w_start,   w_sample,   w_stop,
                                             w_summary,  w_to_json, w_findings, w_free};
static const struct probe_ops redis_wrap_ops = {"redis",   w_start,   w_sample,   w_stop,
                                                w_summary, w_to_json, w_findings, w_free};

int cli_db_define_metrics(void)
{
    int rc = pg_probe_define_metrics();
    if (rc == 0) {
        rc = redis_probe_define_metrics();
    }
    return rc;
}

static int add_wrap(struct cli_db *db, struct probe inner, bool is_pg, struct probe *out)
{
    struct wrap *w = calloc(1, sizeof *w);
    if (w == NULL) {
        inner.ops->free(inner.self);
        fprintf(stderr, "brunt run: out of memory\n");
        return EXIT_INTERNAL;
    }
    w->inner = inner;
    w->is_pg = is_pg;
    w->db = db;
    out->ops = is_pg ? &pg_wrap_ops : &redis_wrap_ops;
    out->self = w;
    if (is_pg) {
        db->pg = w;
    } else {
        db->redis = w;
    }
    return 0;
}

int cli_db_probes(struct cli_db *db, struct probe *out, size_t cap, size_t *n)
{
    char err[1024];
    struct probe p;
    int code = 0;
    *n = 0;
    if (db->pg_dsn && *n < cap) {
        struct pg_probe_config cfg = {.dsn = db->pg_dsn,
                                      .explain_analyze = db->explain_analyze,
                                      .settle_max_ns = db->settle_ns};
        if (pg_probe_new(&cfg, &p, err, sizeof err) < 0) {
            fprintf(stderr, "brunt run: %s\n", err);
            return EXIT_USAGE;
        }
        code = add_wrap(db, p, true, &out[(*n)++]);
    }
    if (code == 0 && db->redis_url && *n < cap) {
        if (redis_probe_new(db->redis_url, &p, err, sizeof err) < 0) {
            fprintf(stderr, "brunt run: %s\n", err);
            return EXIT_USAGE;
        }
        code = add_wrap(db, p, false, &out[(*n)++]);
    }
    return code;
}

/* The slot of a request name in db->names, registered when new; -1 when there is no
 * room. */
static int name_slot(struct cli_db *db, const char *name, size_t len)
{
    size_t k = 0;
    while (k < db->n_names && (strlen(db->names[k]) != len || memcmp(db->names[k], name, len))) {
        k++;
    }
    if (k == db->n_names) {
        if (db->n_names == CLI_DB_NAMES_MAX || len >= sizeof db->names[0]) {
            return -1;
        }
        db->per_s[k] = calloc(CLI_DB_SECONDS_MAX, sizeof *db->per_s[k]);
        if (db->per_s[k] == NULL) {
            return -1;
        }
        memcpy(db->names[k], name, len);
        db->names[k][len] = '\0';
        db->n_names++;
    }
    return (int)k;
}

/*
 * Each time-series row finalised since the last call: its own second's requests per
 * name, from the row's packed series.  A row counts for its own second even when the
 * coordinator finalises several in one tick (a worker that handed its second over late,
 * under load or a sanitizer): counting the totals' growth per tick put two seconds'
 * requests in one and none in the other, and the N+1 rule's fit fell to 0.
 */
static void db_rows(struct cli_db *db, const struct run_report *r)
{
    size_t nseries = registry_len(r->total);
    for (; db->rows_seen < r->n_rows; db->rows_seen++) {
        const struct ts_row *row = &r->rows[db->rows_seen];
        struct packed_rec rec;
        size_t off = 0;
        if (row->t >= CLI_DB_SECONDS_MAX) {
            continue;
        }
        while (row->packed != NULL && packed_next(row->packed, row->packed_len, &off, &rec) == 1) {
            if (rec.series >= nseries) {
                continue;
            }
            const struct series *s = registry_at_const(r->total, (int)rec.series);
            size_t len = 0;
            const char *name = s->metric == M_HTTP_REQS ? tags_get(s->tags, "name", &len) : NULL;
            int k = name != NULL && len > 0 ? name_slot(db, name, len) : -1;
            if (k >= 0) {
                db->per_s[k][row->t] += rec.sum;
            }
        }
        if (row->t + 1 > db->n_s) {
            db->n_s = row->t + 1;
        }
    }
}

void cli_db_tick(const struct run_report *r, void *data)
{
    if (r->total != NULL) {
        db_rows(data, r);
    }
}

void cli_db_after(struct run_report *r, void *data)
{
    struct cli_db *db = data;
    struct dbfind_http http[CLI_DB_NAMES_MAX];
    size_t nh = 0;
    if (r->total != NULL) {
        db_rows(db, r); /* the rows finalised after the last tick */
    }
    /* Totals from the whole run (the ticks may miss the last partial second). */
    for (size_t k = 0; k < db->n_names; k++) {
        db->totals[k] = 0;
    }
    for (size_t i = 0; r->total && i < registry_len(r->total); i++) {
        const struct series *s = registry_at_const(r->total, (int)i);
        size_t len = 0;
        const char *name = s->metric == M_HTTP_REQS ? tags_get(s->tags, "name", &len) : NULL;
        for (size_t k = 0; name && k < db->n_names; k++) {
            if (strlen(db->names[k]) == len && memcmp(db->names[k], name, len) == 0) {
                db->totals[k] += (uint64_t)s->sum;
            }
        }
    }
    for (size_t k = 0; k < db->n_names; k++) {
        http[nh++] = (struct dbfind_http){db->names[k], db->per_s[k], db->n_s, db->totals[k]};
    }
    struct finding f[32];
    if (db->pg) {
        struct wrap *w = db->pg;
        struct pg_stats *st = pg_probe_stats(w->inner.self);
        size_t n = dbfind_postgres(st, http, nh, f, 32);
        struct dbfind_load load = {.duration_s = (double)r->duration_ns / 1e9};
        struct series agg = {0};
        agg.hist = hist_new();
        if (agg.hist != NULL && r->total != NULL) {
            registry_aggregate(r->total, M_HTTP_REQS, "", &agg);
            load.requests = (uint64_t)agg.sum;
            struct hist *h = agg.hist;
            memset(&agg, 0, sizeof agg);
            agg.hist = h;
            registry_aggregate(r->total, M_HTTP_REQ_DURATION, "", &agg);
            load.mean_duration_ms = hist_mean_ns(agg.hist) / 1e6;
        }
        hist_free(agg.hist);
        n += dbfind_pool(st, &load, f + n, 32 - n);
        pg_probe_set_findings(w->inner.self, f, n);
    }
    if (db->redis) {
        struct wrap *w = db->redis;
        size_t n = dbfind_redis(redis_probe_stats(w->inner.self), f, 32);
        redis_probe_set_findings(w->inner.self, f, n);
    }
}

void cli_db_destroy(struct cli_db *db)
{
    for (size_t k = 0; k < db->n_names; k++) {
        free(db->per_s[k]);
    }
    db->n_names = 0;
    if (db->pg) {
        ((struct wrap *)db->pg)->db = NULL;
    }
    if (db->redis) {
        ((struct wrap *)db->redis)->db = NULL;
    }
}

static bool secret_flag(const char *a)
{
    return strcmp(a, "--postgres") == 0 || strcmp(a, "--redis") == 0;
}

char **cli_db_redact_argv(int argc, char **argv)
{
    char **out = calloc((size_t)argc + 1, sizeof *out);
    bool ok = out != NULL;
    for (int i = 0; ok && i < argc; i++) {
        const char *a = argv[i];
        bool redact = i > 0 && secret_flag(argv[i - 1]);
        size_t cap = 2 * strlen(a) + 8; /* room to widen short secrets to *** */
        out[i] = malloc(cap);
        if (out[i] == NULL) {
            ok = false;
        } else if (redact) {
            dbutil_redact(a, out[i], cap);
        } else if (strncmp(a, "--postgres=", 11) == 0 || strncmp(a, "--redis=", 8) == 0) {
            size_t k = (size_t)(strchr(a, '=') - a) + 1;
            memcpy(out[i], a, k);
            dbutil_redact(a + k, out[i] + k, cap - k);
        } else {
            memcpy(out[i], a, strlen(a) + 1);
            text_mask_secrets(out[i], cap); /* a DSN inside --spawn's command line */
        }
    }
    if (!ok) {
        cli_db_free_argv(argc, out);
        out = NULL;
    }
    return out;
}

void cli_db_free_argv(int argc, char **argv)
{
    for (int i = 0; argv && i < argc; i++) {
        free(argv[i]);
    }
    free(argv);
}
