/*
 * pg — the PostgreSQL probe (see pg.h for what it measures and its guarantees).
 *
 * Statements are sent with libpq's asynchronous calls and waited for with poll() under
 * a deadline; at the deadline the statement is cancelled and the figure marked as not
 * read.  Each statement is its own transaction (autocommit), so counting statements
 * counts the probe's own commits, which are then taken out of pg_stat_database's
 * xact_commit.  Before each snapshot of pg_stat_database the probe asks its own backend
 * to flush its statistics (pg_stat_force_next_flush(), PG 15), so its own counts are
 * exact where it subtracts them.
 */
#include "probe/pg.h"
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

const char *const pg_state_names[PG_ST_N] = {"active", "idle", "idle in transaction",
                                             "idle in transaction (aborted)", "other"};
const char *const pg_wait_names[PG_W_N] = {"none",   "Lock", "LWLock",  "IO",
                                           "Client", "IPC",  "Timeout", "other"};

static int m_conn_used = -1, m_conns = -1, m_active = -1, m_idle_tx = -1, m_lock = -1,
           m_commit = -1, m_rollback = -1, m_deadlocks = -1, m_temp = -1, m_hit = -1, m_calls = -1;

int pg_probe_define_metrics(void)
{
    m_conn_used = dbutil_define("pg_connections_used", METRIC_TREND, CONTAINS_DEFAULT,
                                "client connections as a percentage of max_connections, once "
                                "a second");
    m_conns = dbutil_define("pg_connections", METRIC_TREND, CONTAINS_DEFAULT,
                            "client connections to the server, once a second");
    m_active = dbutil_define("pg_active", METRIC_TREND, CONTAINS_DEFAULT,
                             "backends running a statement in the database, once a second");
    m_idle_tx = dbutil_define("pg_idle_in_transaction", METRIC_TREND, CONTAINS_DEFAULT,
                              "backends idle inside an open transaction, once a second");
    m_lock = dbutil_define("pg_lock_waits", METRIC_TREND, CONTAINS_DEFAULT,
                           "backends waiting on a heavyweight lock, once a second");
    m_commit = dbutil_define("pg_xact_commit", METRIC_COUNTER, CONTAINS_DEFAULT,
                             "transactions committed in the database (the probe's excluded)");
    m_rollback = dbutil_define("pg_xact_rollback", METRIC_COUNTER, CONTAINS_DEFAULT,
                               "transactions rolled back in the database");
    m_deadlocks = dbutil_define("pg_deadlocks", METRIC_COUNTER, CONTAINS_DEFAULT,
                                "deadlocks detected in the database");
    m_temp = dbutil_define("pg_temp_files", METRIC_COUNTER, CONTAINS_DEFAULT,
                           "temporary files queries wrote (sorts and hashes past work_mem)");
    m_hit = dbutil_define("pg_cache_hit", METRIC_RATE, CONTAINS_DEFAULT,
                          "block reads served from shared buffers (blks_hit / (hit + read))");
    m_calls = dbutil_define("pg_calls", METRIC_COUNTER, CONTAINS_DEFAULT,
                            "statements executed (pg_stat_statements), the probe's excluded");
    return m_calls < 0 ? -EEXIST : 0;
}

/* ---- snapshots ------------------------------------------------------------------- */

#define DB_COLS                                                                            \
    "xact_commit, xact_rollback, blks_read, blks_hit, deadlocks, temp_files, temp_bytes, " \
    "conflicts, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted"

int pg__read_db(struct pgprobe *p, struct dbrow *out, bool flush)
{
    memset(out, 0, sizeof *out);
    if (flush && p->st.version_num >= 150000) {
        PQclear(pg__run(p, "SELECT " MARK " pg_stat_force_next_flush()", STMT_TIMEOUT_MS));
    }
    out->own_seq = p->own_seq;
    PGresult *r = pg__run(
        p, "SELECT " MARK " " DB_COLS " FROM pg_stat_database WHERE datname = current_database()",
        STMT_TIMEOUT_MS);
    int rc = -EIO;
    if (r && PQntuples(r) == 1 && PQnfields(r) == 13) {
        for (int i = 0; i < 13; i++) {
            out->v[i] = pg__u64(r, 0, i);
        }
        out->ok = true;
        rc = 0;
    }
    PQclear(r);
    return rc;
}

int pg__cmp_key(const void *a, const void *b)
{
    const struct pgss_row *x = a, *y = b;
    if (x->userid != y->userid) {
        return x->userid < y->userid ? -1 : 1;
    }
    return x->queryid < y->queryid ? -1 : x->queryid > y->queryid;
}

/* Reads pg_stat_statements for the database (own statements excluded) into a new array
 * sorted by (userid, queryid), duplicates summed; with_text keeps the texts. */
int pg__read_pgss(struct pgprobe *p, bool full, struct pgss_row **out, size_t *n)
{
    char sql[1024];
    dbutil_fmt(sql, sizeof sql,
               "SELECT " MARK " userid, coalesce(queryid, 0), calls, total_exec_time%s "
               "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
               "WHERE d.datname = current_database() AND s.query NOT LIKE '%%brunt-probe%%' "
               "LIMIT %d",
               full ? ", rows, shared_blks_hit, shared_blks_read, temp_blks_read, "
                      "temp_blks_written, left(query, 1023)"
                    : "",
               PGSS_MAX);
    *out = NULL;
    *n = 0;
    PGresult *r = pg__run(p, sql, STMT_TIMEOUT_MS);
    if (r == NULL) {
        return -EIO;
    }
    int rows = PQntuples(r);
    struct pgss_row *a = calloc(rows > 0 ? (size_t)rows : 1, sizeof *a);
    if (a == NULL) {
        PQclear(r);
        return -ENOMEM;
    }
    for (int i = 0; i < rows; i++) {
        a[i].userid = (uint32_t)pg__u64(r, i, 0);
        a[i].queryid = PQgetisnull(r, i, 1) ? 0 : strtoll(PQgetvalue(r, i, 1), NULL, 10);
        a[i].calls = pg__u64(r, i, 2);
        a[i].total_ms = pg__dbl(r, i, 3);
        if (full) {
            a[i].rows = pg__u64(r, i, 4);
            a[i].hit = pg__u64(r, i, 5);
            a[i].read = pg__u64(r, i, 6);
            a[i].temp_r = pg__u64(r, i, 7);
            a[i].temp_w = pg__u64(r, i, 8);
            a[i].text = strdup(PQgetvalue(r, i, 9));
        }
    }
    PQclear(r);
    qsort(a, (size_t)rows, sizeof *a, pg__cmp_key);
    /* Sum duplicates (rows hidden from this role all have queryid 0; toplevel splits). */
    size_t w = 0;
    for (size_t i = 0; i < (size_t)rows; i++) {
        if (w > 0 && pg__cmp_key(&a[w - 1], &a[i]) == 0) {
            struct pgss_row *d = &a[w - 1];
            d->calls += a[i].calls;
            d->total_ms += a[i].total_ms;
            d->rows += a[i].rows;
            d->hit += a[i].hit;
            d->read += a[i].read;
            d->temp_r += a[i].temp_r;
            d->temp_w += a[i].temp_w;
            free(a[i].text);
        } else {
            a[w++] = a[i];
        }
    }
    *out = a;
    *n = w;
    return 0;
}

void pg__free_pgss(struct pgss_row *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++) {
        free(a[i].text);
    }
    free(a);
}

int pg__read_tables(struct pgprobe *p, struct pg_table **out, size_t *n)
{
    char sql[640];
    dbutil_fmt(sql, sizeof sql,
               "SELECT " MARK " relid, schemaname, relname, coalesce(seq_scan, 0), "
               "coalesce(seq_tup_read, 0), coalesce(idx_scan, 0), coalesce(idx_tup_fetch, 0), "
               "n_live_tup, pg_relation_size(relid) FROM pg_stat_user_tables ORDER BY relid "
               "LIMIT %d",
               PG_TABLES_MAX);
    *out = NULL;
    *n = 0;
    PGresult *r = pg__run(p, sql, STMT_TIMEOUT_MS);
    if (r == NULL) {
        return -EIO;
    }
    int rows = PQntuples(r);
    struct pg_table *t = calloc(rows > 0 ? (size_t)rows : 1, sizeof *t);
    if (t == NULL) {
        PQclear(r);
        return -ENOMEM;
    }
    for (int i = 0; i < rows; i++) {
        t[i].relid = (uint32_t)pg__u64(r, i, 0);
        dbutil_fmt(t[i].schema, sizeof t[i].schema, "%s", PQgetvalue(r, i, 1));
        dbutil_fmt(t[i].name, sizeof t[i].name, "%s", PQgetvalue(r, i, 2));
        t[i].seq_scan = pg__u64(r, i, 3);
        t[i].seq_tup_read = pg__u64(r, i, 4);
        t[i].idx_scan = pg__u64(r, i, 5);
        t[i].idx_tup_fetch = pg__u64(r, i, 6);
        t[i].n_live_tup = pg__u64(r, i, 7);
        t[i].size_bytes = pg__u64(r, i, 8);
    }
    PQclear(r);
    *out = t;
    *n = (size_t)rows;
    return 0;
}

/* Checks pg_stat_statements: installed, loaded, readable.  Says how to fix what is not. */
static void check_pgss(struct pgprobe *p)
{
    PGresult *r = pg__run(p,
                          "SELECT " MARK " count(*) FROM pg_extension "
                          "WHERE extname = 'pg_stat_statements'",
                          STMT_TIMEOUT_MS);
    bool installed = r && PQntuples(r) == 1 && pg__u64(r, 0, 0) > 0;
    PQclear(r);
    if (!installed) {
        dbutil_fmt(p->st.pgss_note, sizeof p->st.pgss_note,
                   "pg_stat_statements is not installed in database %s, so there are no "
                   "per-query figures: add shared_preload_libraries = 'pg_stat_statements' to "
                   "postgresql.conf, restart PostgreSQL, then run CREATE EXTENSION "
                   "pg_stat_statements; in %s",
                   p->st.database, p->st.database);
        return;
    }
    r = pg__run(p, "SELECT " MARK " calls FROM pg_stat_statements LIMIT 1", STMT_TIMEOUT_MS);
    if (r == NULL) {
        if (strstr(p->last_err, "shared_preload_libraries")) {
            dbutil_fmt(p->st.pgss_note, sizeof p->st.pgss_note,
                       "pg_stat_statements is installed but not loaded: add "
                       "shared_preload_libraries = 'pg_stat_statements' to postgresql.conf and "
                       "restart PostgreSQL");
        } else if (strstr(p->last_err, "permission denied")) {
            dbutil_fmt(p->st.pgss_note, sizeof p->st.pgss_note,
                       "role %s may not read pg_stat_statements (%s): GRANT SELECT ON "
                       "pg_stat_statements TO %s; and GRANT pg_read_all_stats TO %s; to see "
                       "every role's queries",
                       p->st.role, p->last_err, p->st.role, p->st.role);
        } else {
            dbutil_fmt(p->st.pgss_note, sizeof p->st.pgss_note,
                       "pg_stat_statements could not be read: %s", p->last_err);
        }
        return;
    }
    PQclear(r);
    p->st.pgss_available = true;
    if (!p->st.pgss_all_visible) {
        dbutil_fmt(p->st.pgss_note, sizeof p->st.pgss_note,
                   "role %s is not a member of pg_read_all_stats: the texts of other roles' "
                   "queries are hidden (their time is counted as \"<insufficient privilege>\"); "
                   "GRANT pg_read_all_stats TO %s;",
                   p->st.role, p->st.role);
    }
}

/* ---- ops -------------------------------------------------------------------------- */

static int pp_start(void *self, char *err, size_t err_len)
{
    struct pgprobe *p = self;
    int rc = pg_probe_define_metrics();
    p->start_ns = clock_now_ns();
    if (p->run_start_ns == 0) {
        p->run_start_ns = p->start_ns;
    }
    p->st.cache_hit_ratio = -1;
    p->st.explain_analyze = p->explain_analyze;
    if (rc == 0) {
        rc = pg__connect_server(p, err, err_len);
    }
    if (rc == 0) {
        check_pgss(p);
        if (p->st.pgss_available &&
            pg__read_pgss(p, true, &p->pgss_before, &p->npgss_before) != 0) {
            p->st.pgss_available = false;
            dbutil_fmt(p->st.pgss_note, sizeof p->st.pgss_note,
                       "pg_stat_statements could not be read: %s", p->last_err);
        }
        pg__read_tables(p, &p->tbl_before, &p->ntbl_before);
        if (pg__read_db(p, &p->db_before, true) != 0) {
            dbutil_fmt(err, err_len, "postgres: %s: pg_stat_database could not be read: %s",
                       p->st.dsn_shown, p->last_err);
            rc = -EIO;
            pg__disconnect(p);
        }
    }
    if (rc == 0) {
        p->db_prev = p->db_before;
        p->st.available = true;
        for (size_t i = 0; i < p->npgss_before && p->ntracks < PG_TRACK_MAX; i++) {
            struct track *t = &p->tracks[p->ntracks];
            t->per_s = calloc(PG_SECONDS_MAX, sizeof *t->per_s);
            if (t->per_s == NULL) {
                break;
            }
            t->userid = p->pgss_before[i].userid;
            t->queryid = p->pgss_before[i].queryid;
            t->last_calls = p->pgss_before[i].calls;
            p->ntracks++;
        }
    } else {
        dbutil_fmt(p->st.error, sizeof p->st.error, "%s", err);
    }
    return rc;
}

struct track *pg__track_find(struct pgprobe *p, uint32_t userid, int64_t queryid, bool add,
                             uint64_t calls_if_new)
{
    for (size_t i = 0; i < p->ntracks; i++) {
        if (p->tracks[i].userid == userid && p->tracks[i].queryid == queryid) {
            return &p->tracks[i];
        }
    }
    if (!add || p->ntracks >= PG_TRACK_MAX) {
        return NULL;
    }
    struct track *t = &p->tracks[p->ntracks];
    t->per_s = calloc(PG_SECONDS_MAX, sizeof *t->per_s);
    if (t->per_s == NULL) {
        return NULL;
    }
    t->userid = userid;
    t->queryid = queryid;
    t->last_calls = calls_if_new;
    p->ntracks++;
    return t;
}

static enum pg_state state_of(const char *s)
{
    if (strcmp(s, "active") == 0) {
        return PG_ST_ACTIVE;
    }
    if (strcmp(s, "idle") == 0) {
        return PG_ST_IDLE;
    }
    if (strcmp(s, "idle in transaction") == 0) {
        return PG_ST_IDLE_TX;
    }
    if (strcmp(s, "idle in transaction (aborted)") == 0) {
        return PG_ST_IDLE_TX_ABORTED;
    }
    return PG_ST_OTHER;
}

static enum pg_wait wait_of(const char *s)
{
    for (int i = 1; i < PG_W_OTHER; i++) {
        if (strcmp(s, pg_wait_names[i]) == 0) {
            return (enum pg_wait)i;
        }
    }
    return s[0] ? PG_W_OTHER : PG_W_NONE;
}

static void keep_sample(struct pgprobe *p, int64_t qid, const char *text)
{
    if (qid == 0 || strstr(text, "brunt-probe") || strlen(text) >= 1000 ||
        pg__max_param(text) > 0) {
        /* unknown id, ours, probably cut at track_activity_query_size, or sent with
         * parameters (extended protocol): no literals to EXPLAIN with */
        return;
    }
    for (size_t i = 0; i < p->st.nsamples_text; i++) {
        if (p->st.samples_qid[i] == qid) {
            dbutil_fmt(p->st.samples_text[i], sizeof p->st.samples_text[i], "%s", text);
            return;
        }
    }
    if (p->st.nsamples_text < PG_SAMPLES_MAX && strlen(text) < sizeof p->st.samples_text[0]) {
        size_t i = p->st.nsamples_text++;
        p->st.samples_qid[i] = qid;
        dbutil_fmt(p->st.samples_text[i], sizeof p->st.samples_text[i], "%s", text);
    }
}

/* pg_stat_activity: connections by state and wait type, lock waits, active texts. */
static int sample_activity(struct pgprobe *p, struct registry *reg, struct pg_row *row)
{
    PGresult *r = pg__run(p,
                          "SELECT " MARK " datname = current_database(), coalesce(state, ''), "
                          "coalesce(wait_event_type, ''), coalesce(query_id, 0), "
                          "CASE WHEN state = 'active' THEN left(query, 1024) END "
                          "FROM pg_stat_activity WHERE backend_type = 'client backend' "
                          "AND pid <> pg_backend_pid()",
                          STMT_TIMEOUT_MS);
    if (r == NULL) {
        return -EIO;
    }
    uint32_t st[PG_ST_N] = {0}, wt[PG_W_N] = {0}, conns = 0;
    int rows = PQntuples(r);
    for (int i = 0; i < rows; i++) {
        conns++;
        if (PQgetvalue(r, i, 0)[0] != 't') {
            continue;
        }
        enum pg_state s = state_of(PQgetvalue(r, i, 1));
        enum pg_wait w = wait_of(PQgetvalue(r, i, 2));
        st[s]++;
        if (s == PG_ST_ACTIVE || w != PG_W_CLIENT || s != PG_ST_IDLE) {
            wt[w]++;
        }
        if (s == PG_ST_ACTIVE && !PQgetisnull(r, i, 4)) {
            keep_sample(p, strtoll(PQgetvalue(r, i, 3), NULL, 10), PQgetvalue(r, i, 4));
        }
    }
    PQclear(r);
    p->st.samples++;
    for (int i = 0; i < PG_ST_N; i++) {
        p->st.state_sum[i] += st[i];
        if (st[i] > p->st.state_max[i]) {
            p->st.state_max[i] = st[i];
        }
    }
    for (int i = 0; i < PG_W_N; i++) {
        p->st.wait_sum[i] += wt[i];
        if (wt[i] > p->st.wait_max[i]) {
            p->st.wait_max[i] = wt[i];
        }
    }
    p->st.lock_wait_samples += wt[PG_W_LOCK] > 0;
    if (conns > p->st.connections_max) {
        p->st.connections_max = conns;
    }
    double pct = p->st.max_connections > 0 ? 100.0 * conns / p->st.max_connections : 0;
    if (pct > p->st.connections_used_max_pct) {
        p->st.connections_used_max_pct = pct;
    }
    dbutil_trend(reg, m_conn_used, pct);
    dbutil_trend(reg, m_conns, conns);
    dbutil_trend(reg, m_active, st[PG_ST_ACTIVE]);
    dbutil_trend(reg, m_idle_tx, st[PG_ST_IDLE_TX] + st[PG_ST_IDLE_TX_ABORTED]);
    dbutil_trend(reg, m_lock, wt[PG_W_LOCK]);
    row->connections = conns;
    row->active = st[PG_ST_ACTIVE];
    row->idle_tx = st[PG_ST_IDLE_TX] + st[PG_ST_IDLE_TX_ABORTED];
    row->lock_waits = wt[PG_W_LOCK];
    return 0;
}

uint64_t pg__inc(uint64_t a, uint64_t b)
{
    return b < a ? b : b - a;
}

static void sample_db(struct pgprobe *p, struct registry *reg, struct pg_row *row)
{
    struct dbrow cur;
    if (pg__read_db(p, &cur, false) != 0) {
        return;
    }
    if (p->db_prev.ok) {
        uint64_t own = cur.own_seq - p->db_prev.own_seq;
        uint64_t commits = pg__inc(p->db_prev.v[0], cur.v[0]);
        commits = commits > own ? commits - own : 0;
        uint64_t hit = pg__inc(p->db_prev.v[3], cur.v[3]),
                 read = pg__inc(p->db_prev.v[2], cur.v[2]);
        dbutil_count(reg, m_commit, (double)commits);
        dbutil_count(reg, m_rollback, (double)pg__inc(p->db_prev.v[1], cur.v[1]));
        dbutil_count(reg, m_deadlocks, (double)pg__inc(p->db_prev.v[4], cur.v[4]));
        dbutil_count(reg, m_temp, (double)pg__inc(p->db_prev.v[5], cur.v[5]));
        dbutil_rate(reg, m_hit, hit, hit + read);
        row->commits = commits;
        row->blks_hit = hit;
        row->blks_read = read;
    }
    p->db_prev = cur;
}

static void sample_pgss(struct pgprobe *p, uint64_t now_ns, struct registry *reg,
                        struct pg_row *row)
{
    struct pgss_row *a = NULL;
    size_t n = 0;
    if (!p->st.pgss_available || pg__read_pgss(p, false, &a, &n) != 0) {
        return;
    }
    /* The second of the run this sample closes: calls since the last sample. */
    uint64_t since = now_ns > p->run_start_ns ? now_ns - p->run_start_ns : 0;
    size_t sec = since >= NS_PER_S ? (size_t)(since / NS_PER_S) - 1 : 0;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        struct track *t = pg__track_find(p, a[i].userid, a[i].queryid, true, 0);
        if (t == NULL) {
            continue;
        }
        uint64_t d = pg__inc(t->last_calls, a[i].calls);
        t->last_calls = a[i].calls;
        total += d;
        if (sec < PG_SECONDS_MAX) {
            uint64_t v = (uint64_t)t->per_s[sec] + d;
            t->per_s[sec] = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
        }
    }
    pg__free_pgss(a, n);
    dbutil_count(reg, m_calls, (double)total);
    row->calls = total;
}

static void pp_sample(void *self, uint64_t now_ns, struct registry *reg)
{
    struct pgprobe *p = self;
    struct pg_row row;
    if (!p->st.available || p->stopped) {
        return;
    }
    memset(&row, 0, sizeof row);
    uint64_t seq0 = p->own_seq;
    bool was_down = p->conn == NULL;
    pg__try_reconnect(p, now_ns);
    if (p->conn != NULL && was_down) {
        p->db_prev.ok = false; /* a fresh baseline: the counters may have restarted */
    }
    if (p->conn == NULL || sample_activity(p, reg, &row) != 0) {
        if (p->last_err[0]) {
            pg__note(p, "postgres: lost the connection during the run: %s", p->last_err);
        }
        p->st.lost_samples++;
        return;
    }
    sample_db(p, reg, &row);
    sample_pgss(p, now_ns, reg, &row);
    p->sample_stmts += p->own_seq - seq0;
    row.t_s = (double)(now_ns - p->start_ns) / 1e9;
    if (p->st.nrows < PG_ROWS_MAX) {
        if (p->st.nrows == p->rows_cap) {
            size_t cap = p->rows_cap ? p->rows_cap * 2 : 64;
            struct pg_row *nr = realloc(p->st.rows, cap * sizeof *nr);
            if (nr) {
                p->st.rows = nr;
                p->rows_cap = cap;
            }
        }
        if (p->st.nrows < p->rows_cap) {
            p->st.rows[p->st.nrows++] = row;
        }
    }
}

static size_t pp_findings(void *self, struct finding *out, size_t cap)
{
    struct pgprobe *p = self;
    return dbutil_findings_copy(p->findings, p->nfindings, out, cap);
}

static void pp_free(void *self)
{
    struct pgprobe *p = self;
    pg__disconnect(p);
    pg__free_pgss(p->pgss_before, p->npgss_before);
    free(p->tbl_before);
    for (size_t i = 0; i < p->ntracks; i++) {
        free(p->tracks[i].per_s);
    }
    for (size_t i = 0; i < p->st.ntop; i++) {
        free(p->st.top[i].plan_json);
    }
    free(p->st.tables);
    free(p->st.rows);
    if (p->dsn) {
        explicit_bzero(p->dsn, strlen(p->dsn));
        free(p->dsn);
    }
    explicit_bzero(p->secret, sizeof p->secret);
    free(p);
}

static const struct probe_ops pg_ops = {
    .name = "postgres",
    .start = pp_start,
    .sample = pp_sample,
    .stop = pg__stop,
    .summary = pg__summary,
    .to_json = pg__to_json,
    .findings = pp_findings,
    .free = pp_free,
};

int pg_probe_new(const struct pg_probe_config *cfg, struct probe *out, char *err, size_t err_len)
{
    struct pgprobe *p = calloc(1, sizeof *p);
    int rc = 0;
    char *perr = NULL;
    PQconninfoOption *opts = NULL;
    if (p == NULL || (p->dsn = strdup(cfg->dsn)) == NULL) {
        free(p);
        dbutil_fmt(err, err_len, "postgres: out of memory");
        return -ENOMEM;
    }
    dbutil_redact(cfg->dsn, p->st.dsn_shown, sizeof p->st.dsn_shown);
    opts = PQconninfoParse(cfg->dsn, &perr);
    if (opts == NULL) {
        char m[256];
        /* libpq may quote the bad part of the string: show our redacted copy only. */
        pg__scrub(p, perr ? perr : "out of memory", m, sizeof m);
        dbutil_fmt(err, err_len,
                   "--postgres '%s': not a libpq connection string or URL "
                   "(postgresql://user@host:port/db or 'host=... dbname=...'): %s",
                   p->st.dsn_shown, strstr(m, "password") ? "see the libpq documentation" : m);
        rc = -EINVAL;
    } else {
        for (PQconninfoOption *o = opts; o->keyword; o++) {
            if (strcmp(o->keyword, "password") == 0 && o->val) {
                dbutil_fmt(p->secret, sizeof p->secret, "%s", o->val);
            }
        }
    }
    PQfreemem(perr);
    PQconninfoFree(opts);
    if (rc == 0) {
        p->explain_analyze = cfg->explain_analyze;
        p->settle_max_ns = cfg->settle_max_ns ? cfg->settle_max_ns : SETTLE_DEFAULT_NS;
        p->st.cache_hit_ratio = -1;
        out->ops = &pg_ops;
        out->self = p;
    } else {
        pp_free(p);
    }
    return rc;
}

struct pg_stats *pg_probe_stats(void *self)
{
    struct pgprobe *p = self;
    return &p->st;
}

void pg_probe_set_findings(void *self, const struct finding *f, size_t n)
{
    struct pgprobe *p = self;
    p->nfindings = n < FINDINGS_MAX ? n : FINDINGS_MAX;
    memcpy(p->findings, f, p->nfindings * sizeof *f);
}

void pg_probe_set_run_start(void *self, uint64_t start_ns)
{
    struct pgprobe *p = self;
    p->run_start_ns = start_ns;
}
