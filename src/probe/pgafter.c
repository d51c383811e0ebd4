/*
 * pgafter — what the PostgreSQL probe does after the load: waits until the statistics
 * the load's backends flush settle, takes the after snapshots, ranks the statements,
 * explains the top ones, and fills the run's pg_stats (pp_stop).  See pg_internal.h.
 */
#include "probe/pg_internal.h"

#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/json.h"
#include "probe/dbutil.h"

/* Reads pg_stat_database and the tables until what the load's backends flushed stops
 * changing: at least SETTLE_MIN_NS after the load ended, at most SETTLE_MAX_NS. */
static void settle(struct pgprobe *p, uint64_t load_end_ns, struct dbrow *db, struct pg_table **tbl,
                   size_t *ntbl)
{
    uint64_t prev_sig = 0;
    bool have_prev = false;
    *tbl = NULL;
    *ntbl = 0;
    for (;;) {
        uint64_t now = clock_now_ns();
        struct pg_table *t = NULL;
        size_t nt = 0;
        struct dbrow d;
        if (p->conn == NULL || pg__read_db(p, &d, true) != 0) {
            break;
        }
        pg__read_tables(p, &t, &nt);
        /* Only what the probe's own reads do not move: commits less its own statements
         * (flushed just before), rollbacks, writes, and the user tables' scans.  Blocks
         * hit and tuples returned move with every catalog read the probe makes. */
        uint64_t sig =
            (d.v[0] - d.own_seq) * 31 + d.v[1] * 7 + d.v[10] + d.v[11] * 5 + d.v[12] * 11;
        for (size_t i = 0; i < nt; i++) {
            sig = sig * 1000003u + t[i].seq_scan + t[i].idx_scan * 13 + t[i].seq_tup_read;
        }
        free(*tbl);
        *tbl = t;
        *ntbl = nt;
        *db = d;
        /* A backend that flushed less than a second before it went idle keeps the rest
         * pending for PGSTAT_IDLE_INTERVAL (10 s): stable figures are final only once no
         * backend of the database went idle within that time (or it disconnected). */
        PGresult *r = pg__run(p,
                              "SELECT " MARK " count(*) FROM pg_stat_activity WHERE datname = "
                              "current_database() AND backend_type = 'client backend' AND pid <> "
                              "pg_backend_pid() AND now() - state_change < interval '10200 ms'",
                              STMT_TIMEOUT_MS);
        uint64_t recent = r && PQntuples(r) == 1 ? pg__u64(r, 0, 0) : 0;
        PQclear(r);
        bool old_enough = now - load_end_ns >= SETTLE_MIN_NS;
        if (have_prev && sig == prev_sig && old_enough && recent == 0) {
            break;
        }
        if (now - load_end_ns >= p->settle_max_ns) {
            if (recent > 0) {
                pg__note(p,
                         "postgres: %llu backends went idle less than 10 s before the closing "
                         "snapshot, so part of their statistics may not be flushed yet "
                         "(pg_stat_database, pg_stat_user_tables may be short; "
                         "pg_stat_statements is exact): --postgres-settle 11s waits for them",
                         (unsigned long long)recent);
            }
            break;
        }
        prev_sig = sig;
        have_prev = true;
        struct timespec ts = {0, 250000000};
        nanosleep(&ts, NULL);
    }
}

static bool is_explainable(const char *q)
{
    while (isspace((unsigned char)*q)) {
        q++;
    }
    static const char *const kw[] = {"SELECT", "WITH",   "UPDATE", "DELETE",
                                     "INSERT", "VALUES", "TABLE"};
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++) {
        size_t n = strlen(kw[i]);
        if (strncasecmp(q, kw[i], n) == 0 && !isalnum((unsigned char)q[n])) {
            return true;
        }
    }
    return false;
}

static bool is_select(const char *q)
{
    while (isspace((unsigned char)*q)) {
        q++;
    }
    return strncasecmp(q, "SELECT", 6) == 0;
}

/* The highest $n in q (0 when none). */
int pg__max_param(const char *q)
{
    int m = 0;
    bool in_str = false;
    for (const char *s = q; *s; s++) {
        if (*s == '\'') {
            in_str = !in_str;
        } else if (!in_str && *s == '$' && isdigit((unsigned char)s[1])) {
            int v = atoi(s + 1);
            if (v > m && v < 1000) {
                m = v;
            }
        }
    }
    return m;
}

static void keep_plan(struct pgprobe *p, struct pg_query *q, PGresult *r, const char *method)
{
    if (r == NULL || PQntuples(r) < 1) {
        dbutil_fmt(q->explain_error, sizeof q->explain_error, "%s",
                   p->last_err[0] ? p->last_err : "no plan");
        return;
    }
    const char *plan = PQgetvalue(r, 0, 0);
    size_t len = strlen(plan);
    if (len > PG_PLAN_MAX || json_validate(plan, len, NULL) != 0) {
        dbutil_fmt(q->explain_error, sizeof q->explain_error, "plan too large or not JSON");
        return;
    }
    q->plan_json = strdup(plan);
    dbutil_fmt(q->plan_method, sizeof q->plan_method, "%s", method);
    q->nscans = pgplan_seq_scans(plan, len, q->scans, 4, NULL);
    if (q->nscans < 0) {
        q->nscans = 0;
    }
}

static void explain_one(struct pgprobe *p, struct pg_query *q)
{
    struct dynbuf sql;
    PGresult *r = NULL;
    dynbuf_init(&sql, 4096);
    int params = pg__max_param(q->text);
    bool analyze = p->explain_analyze;
    if (params == 0 || q->sample[0]) {
        const char *text = params == 0 ? q->text : q->sample;
        const char *method = analyze ? "analyze" : params == 0 ? "text" : "sampled";
        bool write = analyze && !is_select(text);
        if (write) {
            PQclear(pg__run(p, "BEGIN " MARK " READ WRITE", STMT_TIMEOUT_MS));
        }
        dynbuf_addf(&sql, "EXPLAIN " MARK " (%sFORMAT JSON) %s",
                    analyze ? "ANALYZE, BUFFERS, " : "", text);
        r = sql.data ? pg__run(p, sql.data, EXPLAIN_TIMEOUT_MS) : NULL;
        keep_plan(p, q, r, method);
        if (write) {
            PQclear(pg__run(p, "ROLLBACK " MARK, STMT_TIMEOUT_MS));
        }
    } else {
        /* PG <= 15: a generic plan of the normalized text (cybertec's recipe). */
        PQclear(pg__run(p, "DEALLOCATE " MARK " ALL", STMT_TIMEOUT_MS));
        dynbuf_addf(&sql, "PREPARE brunt_probe_p " MARK " AS %s", q->text);
        r = sql.data ? pg__run(p, sql.data, STMT_TIMEOUT_MS) : NULL;
        if (r == NULL) {
            dbutil_fmt(q->explain_error, sizeof q->explain_error, "PREPARE failed: %s",
                       p->last_err);
        } else {
            PQclear(r);
            PQclear(pg__run(p, "SET plan_cache_mode = force_generic_plan", STMT_TIMEOUT_MS));
            dynbuf_reset(&sql);
            dynbuf_addf(&sql, "EXPLAIN " MARK " (FORMAT JSON) EXECUTE brunt_probe_p(");
            for (int i = 0; i < params; i++) {
                dynbuf_addf(&sql, "%sNULL", i ? ", " : "");
            }
            dynbuf_adds(&sql, ")");
            r = sql.data ? pg__run(p, sql.data, EXPLAIN_TIMEOUT_MS) : NULL;
            keep_plan(p, q, r, "generic");
            PQclear(pg__run(p, "DEALLOCATE " MARK " brunt_probe_p", STMT_TIMEOUT_MS));
            PQclear(pg__run(p, "RESET plan_cache_mode", STMT_TIMEOUT_MS));
        }
    }
    PQclear(r);
    dynbuf_destroy(&sql);
}

static int cmp_row_ms(const void *a, const void *b)
{
    const struct pgss_row *x = a, *y = b;
    return x->total_ms < y->total_ms ? 1 : x->total_ms > y->total_ms ? -1 : 0;
}

static int cmp_tbl(const void *a, const void *b)
{
    const struct pg_table *x = a, *y = b;
    return x->seq_tup_read < y->seq_tup_read ? 1 : x->seq_tup_read > y->seq_tup_read ? -1 : 0;
}

static void after_pgss(struct pgprobe *p)
{
    struct pgss_row *a = NULL;
    size_t n = 0;
    if (pg__read_pgss(p, true, &a, &n) != 0) {
        pg__note(p, "postgres: the closing pg_stat_statements snapshot failed: %s", p->last_err);
        return;
    }
    /* Deltas in place: a[i] becomes after - before. */
    for (size_t i = 0; i < n; i++) {
        struct pgss_row *b =
            bsearch(&a[i], p->pgss_before, p->npgss_before, sizeof *p->pgss_before, pg__cmp_key);
        if (b && b->calls <= a[i].calls) {
            a[i].calls -= b->calls;
            a[i].total_ms -= b->total_ms;
            a[i].rows = pg__inc(b->rows, a[i].rows);
            a[i].hit = pg__inc(b->hit, a[i].hit);
            a[i].read = pg__inc(b->read, a[i].read);
            a[i].temp_r = pg__inc(b->temp_r, a[i].temp_r);
            a[i].temp_w = pg__inc(b->temp_w, a[i].temp_w);
        }
        if (a[i].total_ms < 0) {
            a[i].total_ms = 0;
        }
        p->st.db_time_ms += a[i].total_ms;
        p->st.calls += a[i].calls;
    }
    qsort(a, n, sizeof *a, cmp_row_ms);
    for (size_t i = 0; i < n && p->st.ntop < PG_TOP_MAX; i++) {
        if (a[i].calls == 0) {
            continue;
        }
        struct pg_query *q = &p->st.top[p->st.ntop++];
        memset(q, 0, sizeof *q);
        q->userid = a[i].userid;
        q->queryid = a[i].queryid;
        dbutil_fmt(q->text, sizeof q->text, "%s", a[i].text ? a[i].text : "");
        q->calls = a[i].calls;
        q->rows = a[i].rows;
        q->shared_hit = a[i].hit;
        q->shared_read = a[i].read;
        q->temp_read = a[i].temp_r;
        q->temp_written = a[i].temp_w;
        q->total_ms = a[i].total_ms;
        q->mean_ms = q->calls ? q->total_ms / (double)q->calls : 0;
        q->attrib.calls_per_http = -1;
        for (size_t k = 0; k < p->st.nsamples_text; k++) {
            if (p->st.samples_qid[k] == q->queryid && q->queryid != 0) {
                dbutil_fmt(q->sample, sizeof q->sample, "%s", p->st.samples_text[k]);
            }
        }
        struct track *t = pg__track_find(p, q->userid, q->queryid, false, 0);
        if (t) {
            q->per_s = t->per_s;
            uint64_t since = p->st.duration_s > 0 ? (uint64_t)ceil(p->st.duration_s) : 0;
            q->n_s = since < PG_SECONDS_MAX ? since : PG_SECONDS_MAX;
        }
    }
    for (size_t i = 0; i < p->st.ntop; i++) {
        p->st.top[i].share = p->st.db_time_ms > 0 ? p->st.top[i].total_ms / p->st.db_time_ms : 0;
    }
    pg__free_pgss(a, n);
}

void pg__stop(void *self)
{
    struct pgprobe *p = self;
    uint64_t load_end = clock_now_ns();
    if (p->stopped) {
        return;
    }
    p->stopped = true;
    if (!p->st.available) {
        return;
    }
    p->st.duration_s = (double)(load_end - p->start_ns) / 1e9;
    p->last_try_ns = 0;
    pg__try_reconnect(p, load_end);
    struct dbrow db;
    struct pg_table *tbl = NULL;
    size_t ntbl = 0;
    memset(&db, 0, sizeof db);
    settle(p, load_end, &db, &tbl, &ntbl);
    if (db.ok) {
        bool reset = p->st.restarts > 0;
        uint64_t *out[13] = {&p->st.xact_commit, &p->st.xact_rollback, &p->st.blks_read,
                             &p->st.blks_hit,    &p->st.deadlocks,     &p->st.temp_files,
                             &p->st.temp_bytes,  &p->st.conflicts,     &p->st.tup_returned,
                             &p->st.tup_fetched, &p->st.tup_inserted,  &p->st.tup_updated,
                             &p->st.tup_deleted};
        for (int i = 0; i < 13; i++) {
            *out[i] = reset ? db.v[i] : pg__inc(p->db_before.v[i], db.v[i]);
        }
        p->st.own_xacts = db.own_seq - p->db_before.own_seq;
        p->st.xact_commit =
            p->st.xact_commit > p->st.own_xacts ? p->st.xact_commit - p->st.own_xacts : 0;
        uint64_t looked = p->st.blks_hit + p->st.blks_read;
        p->st.cache_hit_ratio = looked ? (double)p->st.blks_hit / (double)looked : -1;
        /* Tables: deltas, only those scanned during the run. */
        p->st.tables = calloc(ntbl ? ntbl : 1, sizeof *p->st.tables);
        for (size_t i = 0; p->st.tables && i < ntbl; i++) {
            struct pg_table t = tbl[i];
            for (size_t j = 0; j < p->ntbl_before; j++) {
                if (p->tbl_before[j].relid == t.relid) {
                    t.seq_scan = pg__inc(p->tbl_before[j].seq_scan, t.seq_scan);
                    t.seq_tup_read = pg__inc(p->tbl_before[j].seq_tup_read, t.seq_tup_read);
                    t.idx_scan = pg__inc(p->tbl_before[j].idx_scan, t.idx_scan);
                    t.idx_tup_fetch = pg__inc(p->tbl_before[j].idx_tup_fetch, t.idx_tup_fetch);
                    break;
                }
            }
            if (t.seq_scan + t.idx_scan > 0) {
                p->st.tables[p->st.ntables++] = t;
            }
        }
        if (p->st.tables) {
            qsort(p->st.tables, p->st.ntables, sizeof *p->st.tables, cmp_tbl);
        }
    } else {
        pg__note(p,
                 "postgres: the closing snapshot failed (%s): only the per-second figures are "
                 "there",
                 p->last_err[0] ? p->last_err : "not connected");
    }
    free(tbl);
    uint64_t stmts_in_run = db.ok ? db.own_seq : p->own_seq;
    if (p->st.pgss_available && p->conn) {
        after_pgss(p);
        for (size_t i = 0; i < p->st.ntop && i < PG_EXPLAIN_MAX && p->conn; i++) {
            if (is_explainable(p->st.top[i].text)) {
                explain_one(p, &p->st.top[i]);
            }
        }
    }
    p->st.probe_statements = stmts_in_run;
    p->st.probe_sample_statements = p->sample_stmts;
    p->st.probe_statements_per_s =
        p->st.duration_s > 0 ? (double)stmts_in_run / p->st.duration_s : 0;
    pg__disconnect(p);
}
