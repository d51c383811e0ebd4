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

#define MARK "/* brunt-probe */"
#define STMT_TIMEOUT_MS 800
#define EXPLAIN_TIMEOUT_MS 3000
#define CONNECT_TIMEOUT_MS 3000
#define RECONNECT_EVERY_NS (2 * NS_PER_S)
#define SETTLE_MIN_NS (1100 * NS_PER_MS)
#define SETTLE_DEFAULT_NS (11 * NS_PER_S)
#define FINDINGS_MAX 16
#define PGSS_MAX 20000 /* rows of pg_stat_statements read per snapshot */

const char *const pg_state_names[PG_ST_N] = {"active", "idle", "idle in transaction",
                                             "idle in transaction (aborted)", "other"};
const char *const pg_wait_names[PG_W_N] = {"none",   "Lock", "LWLock",  "IO",
                                           "Client", "IPC",  "Timeout", "other"};

struct pgss_row {
    uint32_t userid;
    int64_t queryid;
    uint64_t calls, rows, hit, read, temp_r, temp_w;
    double total_ms;
    char *text; /* after snapshot only */
};

struct dbrow {
    bool ok;
    uint64_t v[13]; /* xact_commit ... tup_deleted, in the order of DB_COLS */
    uint64_t own_seq;
};

struct track {
    uint32_t userid;
    int64_t queryid;
    uint64_t last_calls;
    uint32_t *per_s;
};

struct pgprobe {
    char *dsn;
    char secret[256]; /* the password, to scrub libpq's messages */
    bool explain_analyze;
    uint64_t settle_max_ns;
    PGconn *conn;
    uint64_t start_ns, run_start_ns, last_try_ns;
    uint64_t own_seq;
    uint64_t sample_stmts; /* statements sample() sent */
    char start_time[64];   /* pg_postmaster_start_time at connect */
    struct pgss_row *pgss_before;
    size_t npgss_before;
    struct dbrow db_before, db_prev;
    struct pg_table *tbl_before;
    size_t ntbl_before;
    struct track tracks[PG_TRACK_MAX];
    size_t ntracks;
    size_t rows_cap;
    char last_err[512];
    struct pg_stats st;
    struct finding findings[FINDINGS_MAX];
    size_t nfindings;
    bool stopped;
};

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

/* ---- messages --------------------------------------------------------------------- */

/* Copies msg into out with the password replaced and the trailing newline dropped. */
static void scrub(const struct pgprobe *p, const char *msg, char *out, size_t cap)
{
    size_t o = 0;
    size_t sl = strlen(p->secret);
    for (const char *m = msg ? msg : ""; *m && o + 1 < cap;) {
        if (sl >= 3 && strncmp(m, p->secret, sl) == 0) {
            for (const char *r = "***"; *r && o + 1 < cap; r++) {
                out[o++] = *r;
            }
            m += sl;
        } else {
            out[o++] = *m == '\n' || *m == '\t' ? ' ' : *m;
            m++;
        }
    }
    while (o > 0 && out[o - 1] == ' ') {
        o--;
    }
    out[o] = '\0';
}

static void note(struct pgprobe *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct pgprobe *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dbutil_vnote(p->st.error, sizeof p->st.error, fmt, ap);
    va_end(ap);
}

/* ---- statements under a deadline ------------------------------------------------- */

static void disconnect(struct pgprobe *p)
{
    if (p->conn) {
        PQfinish(p->conn);
        p->conn = NULL;
    }
}

static int wait_socket(PGconn *c, bool for_write, uint64_t deadline_ns)
{
    uint64_t now = clock_now_ns();
    if (now >= deadline_ns) {
        return -ETIMEDOUT;
    }
    struct pollfd pfd = {.fd = PQsocket(c), .events = for_write ? POLLOUT : POLLIN};
    int ms = (int)((deadline_ns - now + NS_PER_MS - 1) / NS_PER_MS);
    int rc = poll(&pfd, 1, ms);
    if (rc == 0) {
        return -ETIMEDOUT;
    }
    return rc < 0 && errno != EINTR ? -errno : 0;
}

/*
 * Runs one statement (one transaction) and returns its last result when it succeeded
 * (PGRES_TUPLES_OK or PGRES_COMMAND_OK), else NULL with the reason in p->last_err.
 * The caller PQclear()s the result.
 */
static PGresult *run(struct pgprobe *p, const char *sql, uint64_t timeout_ms)
{
    PGresult *res = NULL, *last = NULL;
    uint64_t deadline = clock_now_ns() + timeout_ms * NS_PER_MS;
    p->last_err[0] = '\0';
    if (p->conn == NULL) {
        dbutil_fmt(p->last_err, sizeof p->last_err, "not connected");
        return NULL;
    }
    p->own_seq++;
    if (!PQsendQuery(p->conn, sql)) {
        scrub(p, PQerrorMessage(p->conn), p->last_err, sizeof p->last_err);
        disconnect(p);
        return NULL;
    }
    bool failed = false;
    while (!failed) {
        while (PQisBusy(p->conn)) {
            int w = wait_socket(p->conn, false, deadline);
            if (w == -ETIMEDOUT) {
                char eb[256];
                PGcancel *cn = PQgetCancel(p->conn);
                if (cn) {
                    PQcancel(cn, eb, sizeof eb);
                    PQfreeCancel(cn);
                }
                dbutil_fmt(p->last_err, sizeof p->last_err, "no answer within %llu ms",
                           (unsigned long long)timeout_ms);
                /* The cancelled statement's answer may still come; drop the session. */
                disconnect(p);
                PQclear(last);
                return NULL;
            }
            if (w < 0 || !PQconsumeInput(p->conn)) {
                scrub(p, PQerrorMessage(p->conn), p->last_err, sizeof p->last_err);
                disconnect(p);
                PQclear(last);
                return NULL;
            }
        }
        res = PQgetResult(p->conn);
        if (res == NULL) {
            break;
        }
        ExecStatusType s = PQresultStatus(res);
        if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
            if (p->last_err[0] == '\0') {
                scrub(p, PQresultErrorMessage(res), p->last_err, sizeof p->last_err);
            }
            PQclear(res);
            PQclear(last);
            last = NULL;
            failed = true;
            /* Drain the rest. */
            while ((res = PQgetResult(p->conn)) != NULL) {
                PQclear(res);
            }
            break;
        }
        PQclear(last);
        last = res;
    }
    if (PQstatus(p->conn) == CONNECTION_BAD) {
        if (p->last_err[0] == '\0') {
            scrub(p, PQerrorMessage(p->conn), p->last_err, sizeof p->last_err);
        }
        disconnect(p);
        PQclear(last);
        last = NULL;
    }
    return failed ? NULL : last;
}

static uint64_t u64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col)) {
        return 0;
    }
    const char *s = PQgetvalue(r, row, col);
    return s[0] == '-' ? 0 : strtoull(s, NULL, 10);
}

static double dbl(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtod(PQgetvalue(r, row, col), NULL);
}

static int connect_server(struct pgprobe *p, char *err, size_t err_len)
{
    const char *keys[] = {"dbname", "application_name", "connect_timeout", NULL};
    const char *vals[] = {p->dsn, "brunt-probe", "3", NULL};
    int rc = 0;
    p->last_try_ns = clock_now_ns();
    PGconn *c = PQconnectStartParams(keys, vals, 1);
    uint64_t deadline = clock_now_ns() + CONNECT_TIMEOUT_MS * NS_PER_MS;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    if (c == NULL) {
        dbutil_fmt(err, err_len, "postgres: out of memory");
        return -ENOMEM;
    }
    while (PQstatus(c) != CONNECTION_BAD && st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        if (wait_socket(c, st == PGRES_POLLING_WRITING, deadline) == -ETIMEDOUT) {
            dbutil_fmt(err, err_len, "postgres: %s: no answer within %d ms", p->st.dsn_shown,
                       CONNECT_TIMEOUT_MS);
            rc = -ETIMEDOUT;
            break;
        }
        st = PQconnectPoll(c);
    }
    if (rc == 0 && PQstatus(c) != CONNECTION_OK) {
        char m[384];
        scrub(p, PQerrorMessage(c), m, sizeof m);
        dbutil_fmt(err, err_len, "postgres: %s: %s", p->st.dsn_shown, m);
        rc = strstr(m, "password") || strstr(m, "authentication") ? -EACCES : -ECONNREFUSED;
    }
    if (rc != 0) {
        PQfinish(c);
        return rc;
    }
    p->conn = c;
    PQsetnonblocking(c, 0);
    PGresult *r = run(p, "SET " MARK " statement_timeout = 800", STMT_TIMEOUT_MS);
    PQclear(r);
    r = run(p, "SET lock_timeout = 200", STMT_TIMEOUT_MS);
    PQclear(r);
    r = run(p, "SET default_transaction_read_only = on", STMT_TIMEOUT_MS);
    PQclear(r);
    r = run(p,
            "SELECT " MARK " current_setting('server_version'), "
            "current_setting('server_version_num')::int, current_database(), current_user, "
            "current_setting('max_connections')::int, "
            "current_setting('superuser_reserved_connections')::int, "
            "pg_postmaster_start_time()::text, "
            "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user) OR "
            "pg_has_role(current_user, 'pg_read_all_stats', 'USAGE')",
            STMT_TIMEOUT_MS);
    if (r == NULL || PQntuples(r) != 1) {
        dbutil_fmt(err, err_len, "postgres: %s: reading the settings failed: %s", p->st.dsn_shown,
                   p->last_err);
        rc = -EIO;
        disconnect(p);
    } else {
        dbutil_fmt(p->st.version, sizeof p->st.version, "%s", PQgetvalue(r, 0, 0));
        p->st.version_num = atoi(PQgetvalue(r, 0, 1));
        dbutil_fmt(p->st.database, sizeof p->st.database, "%s", PQgetvalue(r, 0, 2));
        dbutil_fmt(p->st.role, sizeof p->st.role, "%s", PQgetvalue(r, 0, 3));
        p->st.max_connections = atoi(PQgetvalue(r, 0, 4));
        p->st.reserved_connections = atoi(PQgetvalue(r, 0, 5));
        if (p->start_time[0] && strcmp(p->start_time, PQgetvalue(r, 0, 6)) != 0) {
            p->st.restarts++;
            note(p, "postgres: the server restarted during the run (postmaster start time "
                    "changed); counters may have restarted, deltas are from the restart on");
        }
        dbutil_fmt(p->start_time, sizeof p->start_time, "%s", PQgetvalue(r, 0, 6));
        p->st.pgss_all_visible = PQgetvalue(r, 0, 7)[0] == 't';
        if (p->st.version_num < 140000) {
            dbutil_fmt(err, err_len, "postgres: %s: PostgreSQL %s is not supported (14 or later)",
                       p->st.dsn_shown, p->st.version);
            rc = -ENOTSUP;
            disconnect(p);
        }
    }
    PQclear(r);
    return rc;
}

static void try_reconnect(struct pgprobe *p, uint64_t now_ns)
{
    if (p->conn == NULL && now_ns - p->last_try_ns >= RECONNECT_EVERY_NS) {
        char e[512];
        if (connect_server(p, e, sizeof e) != 0) {
            note(p, "%s", e);
        }
    }
}

/* ---- snapshots ------------------------------------------------------------------- */

#define DB_COLS                                                                            \
    "xact_commit, xact_rollback, blks_read, blks_hit, deadlocks, temp_files, temp_bytes, " \
    "conflicts, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted"

static int read_db(struct pgprobe *p, struct dbrow *out, bool flush)
{
    memset(out, 0, sizeof *out);
    if (flush && p->st.version_num >= 150000) {
        PQclear(run(p, "SELECT " MARK " pg_stat_force_next_flush()", STMT_TIMEOUT_MS));
    }
    out->own_seq = p->own_seq;
    PGresult *r = run(
        p, "SELECT " MARK " " DB_COLS " FROM pg_stat_database WHERE datname = current_database()",
        STMT_TIMEOUT_MS);
    int rc = -EIO;
    if (r && PQntuples(r) == 1 && PQnfields(r) == 13) {
        for (int i = 0; i < 13; i++) {
            out->v[i] = u64(r, 0, i);
        }
        out->ok = true;
        rc = 0;
    }
    PQclear(r);
    return rc;
}

static int cmp_key(const void *a, const void *b)
{
    const struct pgss_row *x = a, *y = b;
    if (x->userid != y->userid) {
        return x->userid < y->userid ? -1 : 1;
    }
    return x->queryid < y->queryid ? -1 : x->queryid > y->queryid;
}

/* Reads pg_stat_statements for the database (own statements excluded) into a new array
 * sorted by (userid, queryid), duplicates summed; with_text keeps the texts. */
static int read_pgss(struct pgprobe *p, bool full, struct pgss_row **out, size_t *n)
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
    PGresult *r = run(p, sql, STMT_TIMEOUT_MS);
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
        a[i].userid = (uint32_t)u64(r, i, 0);
        a[i].queryid = PQgetisnull(r, i, 1) ? 0 : strtoll(PQgetvalue(r, i, 1), NULL, 10);
        a[i].calls = u64(r, i, 2);
        a[i].total_ms = dbl(r, i, 3);
        if (full) {
            a[i].rows = u64(r, i, 4);
            a[i].hit = u64(r, i, 5);
            a[i].read = u64(r, i, 6);
            a[i].temp_r = u64(r, i, 7);
            a[i].temp_w = u64(r, i, 8);
            a[i].text = strdup(PQgetvalue(r, i, 9));
        }
    }
    PQclear(r);
    qsort(a, (size_t)rows, sizeof *a, cmp_key);
    /* Sum duplicates (rows hidden from this role all have queryid 0; toplevel splits). */
    size_t w = 0;
    for (size_t i = 0; i < (size_t)rows; i++) {
        if (w > 0 && cmp_key(&a[w - 1], &a[i]) == 0) {
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

static void free_pgss(struct pgss_row *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++) {
        free(a[i].text);
    }
    free(a);
}

static int read_tables(struct pgprobe *p, struct pg_table **out, size_t *n)
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
    PGresult *r = run(p, sql, STMT_TIMEOUT_MS);
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
        t[i].relid = (uint32_t)u64(r, i, 0);
        dbutil_fmt(t[i].schema, sizeof t[i].schema, "%s", PQgetvalue(r, i, 1));
        dbutil_fmt(t[i].name, sizeof t[i].name, "%s", PQgetvalue(r, i, 2));
        t[i].seq_scan = u64(r, i, 3);
        t[i].seq_tup_read = u64(r, i, 4);
        t[i].idx_scan = u64(r, i, 5);
        t[i].idx_tup_fetch = u64(r, i, 6);
        t[i].n_live_tup = u64(r, i, 7);
        t[i].size_bytes = u64(r, i, 8);
    }
    PQclear(r);
    *out = t;
    *n = (size_t)rows;
    return 0;
}

/* Checks pg_stat_statements: installed, loaded, readable.  Says how to fix what is not. */
static void check_pgss(struct pgprobe *p)
{
    PGresult *r = run(p,
                      "SELECT " MARK " count(*) FROM pg_extension "
                      "WHERE extname = 'pg_stat_statements'",
                      STMT_TIMEOUT_MS);
    bool installed = r && PQntuples(r) == 1 && u64(r, 0, 0) > 0;
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
    r = run(p, "SELECT " MARK " calls FROM pg_stat_statements LIMIT 1", STMT_TIMEOUT_MS);
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
        rc = connect_server(p, err, err_len);
    }
    if (rc == 0) {
        check_pgss(p);
        if (p->st.pgss_available && read_pgss(p, true, &p->pgss_before, &p->npgss_before) != 0) {
            p->st.pgss_available = false;
            dbutil_fmt(p->st.pgss_note, sizeof p->st.pgss_note,
                       "pg_stat_statements could not be read: %s", p->last_err);
        }
        read_tables(p, &p->tbl_before, &p->ntbl_before);
        if (read_db(p, &p->db_before, true) != 0) {
            dbutil_fmt(err, err_len, "postgres: %s: pg_stat_database could not be read: %s",
                       p->st.dsn_shown, p->last_err);
            rc = -EIO;
            disconnect(p);
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

static struct track *track_find(struct pgprobe *p, uint32_t userid, int64_t queryid, bool add,
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

static int max_param(const char *q);

static void keep_sample(struct pgprobe *p, int64_t qid, const char *text)
{
    if (qid == 0 || strstr(text, "brunt-probe") || strlen(text) >= 1000 || max_param(text) > 0) {
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
    PGresult *r = run(p,
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

static uint64_t inc(uint64_t a, uint64_t b)
{
    return b < a ? b : b - a;
}

static void sample_db(struct pgprobe *p, struct registry *reg, struct pg_row *row)
{
    struct dbrow cur;
    if (read_db(p, &cur, false) != 0) {
        return;
    }
    if (p->db_prev.ok) {
        uint64_t own = cur.own_seq - p->db_prev.own_seq;
        uint64_t commits = inc(p->db_prev.v[0], cur.v[0]);
        commits = commits > own ? commits - own : 0;
        uint64_t hit = inc(p->db_prev.v[3], cur.v[3]), read = inc(p->db_prev.v[2], cur.v[2]);
        dbutil_count(reg, m_commit, (double)commits);
        dbutil_count(reg, m_rollback, (double)inc(p->db_prev.v[1], cur.v[1]));
        dbutil_count(reg, m_deadlocks, (double)inc(p->db_prev.v[4], cur.v[4]));
        dbutil_count(reg, m_temp, (double)inc(p->db_prev.v[5], cur.v[5]));
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
    if (!p->st.pgss_available || read_pgss(p, false, &a, &n) != 0) {
        return;
    }
    /* The second of the run this sample closes: calls since the last sample. */
    uint64_t since = now_ns > p->run_start_ns ? now_ns - p->run_start_ns : 0;
    size_t sec = since >= NS_PER_S ? (size_t)(since / NS_PER_S) - 1 : 0;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        struct track *t = track_find(p, a[i].userid, a[i].queryid, true, 0);
        if (t == NULL) {
            continue;
        }
        uint64_t d = inc(t->last_calls, a[i].calls);
        t->last_calls = a[i].calls;
        total += d;
        if (sec < PG_SECONDS_MAX) {
            uint64_t v = (uint64_t)t->per_s[sec] + d;
            t->per_s[sec] = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
        }
    }
    free_pgss(a, n);
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
    try_reconnect(p, now_ns);
    if (p->conn != NULL && was_down) {
        p->db_prev.ok = false; /* a fresh baseline: the counters may have restarted */
    }
    if (p->conn == NULL || sample_activity(p, reg, &row) != 0) {
        if (p->last_err[0]) {
            note(p, "postgres: lost the connection during the run: %s", p->last_err);
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
        if (p->conn == NULL || read_db(p, &d, true) != 0) {
            break;
        }
        read_tables(p, &t, &nt);
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
        PGresult *r = run(p,
                          "SELECT " MARK " count(*) FROM pg_stat_activity WHERE datname = "
                          "current_database() AND backend_type = 'client backend' AND pid <> "
                          "pg_backend_pid() AND now() - state_change < interval '10200 ms'",
                          STMT_TIMEOUT_MS);
        uint64_t recent = r && PQntuples(r) == 1 ? u64(r, 0, 0) : 0;
        PQclear(r);
        bool old_enough = now - load_end_ns >= SETTLE_MIN_NS;
        if (have_prev && sig == prev_sig && old_enough && recent == 0) {
            break;
        }
        if (now - load_end_ns >= p->settle_max_ns) {
            if (recent > 0) {
                note(p,
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
static int max_param(const char *q)
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
    int params = max_param(q->text);
    bool analyze = p->explain_analyze;
    if (params == 0 || q->sample[0]) {
        const char *text = params == 0 ? q->text : q->sample;
        const char *method = analyze ? "analyze" : params == 0 ? "text" : "sampled";
        bool write = analyze && !is_select(text);
        if (write) {
            PQclear(run(p, "BEGIN " MARK " READ WRITE", STMT_TIMEOUT_MS));
        }
        dynbuf_addf(&sql, "EXPLAIN " MARK " (%sFORMAT JSON) %s",
                    analyze ? "ANALYZE, BUFFERS, " : "", text);
        r = sql.data ? run(p, sql.data, EXPLAIN_TIMEOUT_MS) : NULL;
        keep_plan(p, q, r, method);
        if (write) {
            PQclear(run(p, "ROLLBACK " MARK, STMT_TIMEOUT_MS));
        }
    } else {
        /* PG <= 15: a generic plan of the normalized text (cybertec's recipe). */
        PQclear(run(p, "DEALLOCATE " MARK " ALL", STMT_TIMEOUT_MS));
        dynbuf_addf(&sql, "PREPARE brunt_probe_p " MARK " AS %s", q->text);
        r = sql.data ? run(p, sql.data, STMT_TIMEOUT_MS) : NULL;
        if (r == NULL) {
            dbutil_fmt(q->explain_error, sizeof q->explain_error, "PREPARE failed: %s",
                       p->last_err);
        } else {
            PQclear(r);
            PQclear(run(p, "SET plan_cache_mode = force_generic_plan", STMT_TIMEOUT_MS));
            dynbuf_reset(&sql);
            dynbuf_addf(&sql, "EXPLAIN " MARK " (FORMAT JSON) EXECUTE brunt_probe_p(");
            for (int i = 0; i < params; i++) {
                dynbuf_addf(&sql, "%sNULL", i ? ", " : "");
            }
            dynbuf_adds(&sql, ")");
            r = sql.data ? run(p, sql.data, EXPLAIN_TIMEOUT_MS) : NULL;
            keep_plan(p, q, r, "generic");
            PQclear(run(p, "DEALLOCATE " MARK " brunt_probe_p", STMT_TIMEOUT_MS));
            PQclear(run(p, "RESET plan_cache_mode", STMT_TIMEOUT_MS));
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
    if (read_pgss(p, true, &a, &n) != 0) {
        note(p, "postgres: the closing pg_stat_statements snapshot failed: %s", p->last_err);
        return;
    }
    /* Deltas in place: a[i] becomes after - before. */
    for (size_t i = 0; i < n; i++) {
        struct pgss_row *b =
            bsearch(&a[i], p->pgss_before, p->npgss_before, sizeof *p->pgss_before, cmp_key);
        if (b && b->calls <= a[i].calls) {
            a[i].calls -= b->calls;
            a[i].total_ms -= b->total_ms;
            a[i].rows = inc(b->rows, a[i].rows);
            a[i].hit = inc(b->hit, a[i].hit);
            a[i].read = inc(b->read, a[i].read);
            a[i].temp_r = inc(b->temp_r, a[i].temp_r);
            a[i].temp_w = inc(b->temp_w, a[i].temp_w);
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
        struct track *t = track_find(p, q->userid, q->queryid, false, 0);
        if (t) {
            q->per_s = t->per_s;
            uint64_t since = p->st.duration_s > 0 ? (uint64_t)ceil(p->st.duration_s) : 0;
            q->n_s = since < PG_SECONDS_MAX ? since : PG_SECONDS_MAX;
        }
    }
    for (size_t i = 0; i < p->st.ntop; i++) {
        p->st.top[i].share = p->st.db_time_ms > 0 ? p->st.top[i].total_ms / p->st.db_time_ms : 0;
    }
    free_pgss(a, n);
}

static void pp_stop(void *self)
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
    try_reconnect(p, load_end);
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
            *out[i] = reset ? db.v[i] : inc(p->db_before.v[i], db.v[i]);
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
                    t.seq_scan = inc(p->tbl_before[j].seq_scan, t.seq_scan);
                    t.seq_tup_read = inc(p->tbl_before[j].seq_tup_read, t.seq_tup_read);
                    t.idx_scan = inc(p->tbl_before[j].idx_scan, t.idx_scan);
                    t.idx_tup_fetch = inc(p->tbl_before[j].idx_tup_fetch, t.idx_tup_fetch);
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
        note(p,
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
    disconnect(p);
}

/* ---- output ----------------------------------------------------------------------- */

static void one_line(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    bool sp = false;
    for (; *s && o + 1 < cap; s++) {
        if (isspace((unsigned char)*s)) {
            sp = o > 0;
            continue;
        }
        if (sp && o + 2 < cap) {
            out[o++] = ' ';
        }
        sp = false;
        out[o++] = *s;
    }
    out[o] = '\0';
}

static void pp_summary(void *self, FILE *f, bool color)
{
    struct pgprobe *p = self;
    const struct pg_stats *s = &p->st;
    char buf[640];
    if (!dbutil_summary_head(f, "postgres", s->dsn_shown, s->version, s->available, s->error)) {
        return;
    }
    double d = s->duration_s > 0 ? s->duration_s : 1;
    dbutil_fmt(buf, sizeof buf, "%llu commits (%.1f/s), %llu rollbacks, %llu deadlocks",
               (unsigned long long)s->xact_commit, (double)s->xact_commit / d,
               (unsigned long long)s->xact_rollback, (unsigned long long)s->deadlocks);
    dbutil_row(f, color, 4, "transactions", buf);
    if (s->cache_hit_ratio >= 0) {
        dbutil_fmt(buf, sizeof buf, "%.2f%% (%llu hits, %llu reads)", s->cache_hit_ratio * 100,
                   (unsigned long long)s->blks_hit, (unsigned long long)s->blks_read);
        dbutil_row(f, color, 4, "buffer cache hit", buf);
    }
    dbutil_fmt(buf, sizeof buf,
               "peak %u of %d max_connections (%.0f%%), peak %u active, %u idle "
               "in transaction",
               s->connections_max, s->max_connections, s->connections_used_max_pct,
               s->state_max[PG_ST_ACTIVE], s->state_max[PG_ST_IDLE_TX]);
    dbutil_row(f, color, 4, "connections", buf);
    if (s->wait_max[PG_W_LOCK] > 0) {
        dbutil_fmt(buf, sizeof buf, "up to %u backends, in %llu of %llu samples",
                   s->wait_max[PG_W_LOCK], (unsigned long long)s->lock_wait_samples,
                   (unsigned long long)s->samples);
        dbutil_row(f, color, 4, "lock waits", buf);
    }
    if (s->temp_files > 0) {
        char b[32];
        dbutil_fmt_bytes((double)s->temp_bytes, b, sizeof b);
        dbutil_fmt(buf, sizeof buf, "%llu (%s)", (unsigned long long)s->temp_files, b);
        dbutil_row(f, color, 4, "temp files", buf);
    }
    if (!s->pgss_available) {
        fprintf(f, "    no per-query figures: %s\n", s->pgss_note);
    } else if (s->ntop > 0) {
        dbutil_fmt(buf, sizeof buf, "%.1f ms in %llu statements", s->db_time_ms,
                   (unsigned long long)s->calls);
        dbutil_row(f, color, 4, "database time", buf);
        fprintf(f, "    top queries          share     calls   mean ms  per req\n");
        for (size_t i = 0; i < s->ntop && i < 5; i++) {
            const struct pg_query *q = &s->top[i];
            char text[72], per[24] = "-";
            one_line(q->text, text, sizeof text);
            if (q->attrib.request[0]) {
                dbutil_fmt(per, sizeof per, "%.1f %s", q->attrib.calls_per_request,
                           q->attrib.request);
            } else if (q->attrib.calls_per_http >= 0) {
                dbutil_fmt(per, sizeof per, "%.2f", q->attrib.calls_per_http);
            }
            fprintf(f, "      %5.1f%% %9llu %9.3f  %-12s %s\n", q->share * 100,
                    (unsigned long long)q->calls, q->mean_ms, per, text);
        }
    }
    for (size_t i = 0; i < s->ntables && i < 3; i++) {
        const struct pg_table *t = &s->tables[i];
        if (t->seq_scan == 0) {
            continue;
        }
        dbutil_fmt(buf, sizeof buf,
                   "%llu seq scans (%llu rows read), %llu index scans, %llu live rows",
                   (unsigned long long)t->seq_scan, (unsigned long long)t->seq_tup_read,
                   (unsigned long long)t->idx_scan, (unsigned long long)t->n_live_tup);
        char label[80];
        dbutil_fmt(label, sizeof label, "table %.60s", t->name);
        dbutil_row(f, color, 4, label, buf);
    }
    if (s->pgss_available && s->pgss_note[0]) {
        fprintf(f, "    note: %s\n", s->pgss_note);
    }
    if (s->error[0]) {
        fprintf(f, "    note: %s\n", s->error);
    }
    dbutil_fmt(buf, sizeof buf, "%.1f statements a second while sampling, %llu in all",
               s->samples ? (double)s->probe_sample_statements / (double)s->samples : 0,
               (unsigned long long)s->probe_statements);
    dbutil_row(f, color, 4, "probe's own load", buf);
    dbutil_print_findings(f, color, p->findings, p->nfindings);
}

static void json_num_or_null(struct jsonw *w, double v)
{
    if (v < 0) {
        jsonw_null(w);
    } else {
        jsonw_num(w, v);
    }
}

/* One row of the "series" member (dbutil_series_json). */
static double series_row(const void *rows, size_t i, uint64_t *v)
{
    const struct pg_row *r = (const struct pg_row *)rows + i;
    const uint64_t row[] = {0,        r->connections, r->active,   r->idle_tx,  r->lock_waits,
                            r->calls, r->commits,     r->blks_hit, r->blks_read};
    memcpy(v, row, sizeof row);
    return r->t_s;
}

static int pp_to_json(void *self, struct jsonw *w)
{
    struct pgprobe *p = self;
    const struct pg_stats *s = &p->st;
    double d = s->duration_s > 0 ? s->duration_s : 1;
    jsonw_obj_begin(w);
    jsonw_key(w, "dsn");
    jsonw_str(w, s->dsn_shown);
    jsonw_key(w, "application_name");
    jsonw_str(w, "brunt-probe");
    dbutil_json_status(w, s->available, s->error);
    if (s->available) {
        jsonw_key(w, "version");
        jsonw_str(w, s->version);
        jsonw_key(w, "database");
        jsonw_str(w, s->database);
        jsonw_key(w, "role");
        jsonw_str(w, s->role);
        dbutil_json_run(w, s->duration_s, s->restarts, s->lost_samples);
        jsonw_key(w, "pg_stat_statements");
        jsonw_obj_begin(w);
        jsonw_key(w, "available");
        jsonw_bool(w, s->pgss_available);
        jsonw_key(w, "all_roles_visible");
        jsonw_bool(w, s->pgss_all_visible);
        jsonw_key(w, "note");
        jsonw_str(w, s->pgss_note[0] ? s->pgss_note : NULL);
        jsonw_obj_end(w);
        jsonw_key(w, "database_stats");
        jsonw_obj_begin(w);
        static const char *const names[13] = {
            "xact_commit",  "xact_rollback", "blks_read",  "blks_hit",     "deadlocks",
            "temp_files",   "temp_bytes",    "conflicts",  "tup_returned", "tup_fetched",
            "tup_inserted", "tup_updated",   "tup_deleted"};
        const uint64_t vals[13] = {
            s->xact_commit,  s->xact_rollback, s->blks_read,  s->blks_hit,     s->deadlocks,
            s->temp_files,   s->temp_bytes,    s->conflicts,  s->tup_returned, s->tup_fetched,
            s->tup_inserted, s->tup_updated,   s->tup_deleted};
        for (int i = 0; i < 13; i++) {
            jsonw_key(w, names[i]);
            jsonw_uint(w, vals[i]);
        }
        jsonw_key(w, "commits_per_s");
        jsonw_num(w, (double)s->xact_commit / d);
        jsonw_key(w, "cache_hit_ratio");
        json_num_or_null(w, s->cache_hit_ratio);
        jsonw_key(w, "probe_xacts");
        jsonw_uint(w, s->own_xacts);
        jsonw_obj_end(w);
        jsonw_key(w, "db_time_ms");
        jsonw_num(w, s->db_time_ms);
        jsonw_key(w, "calls");
        jsonw_uint(w, s->calls);
        jsonw_key(w, "top_queries");
        jsonw_arr_begin(w);
        for (size_t i = 0; i < s->ntop; i++) {
            const struct pg_query *q = &s->top[i];
            jsonw_obj_begin(w);
            /* A string: 64-bit ids do not survive JavaScript's doubles. */
            char qid[24];
            dbutil_fmt(qid, sizeof qid, "%lld", (long long)q->queryid);
            jsonw_key(w, "queryid");
            jsonw_str(w, qid);
            jsonw_key(w, "userid");
            jsonw_uint(w, q->userid);
            jsonw_key(w, "query");
            jsonw_str(w, q->text);
            jsonw_key(w, "sample");
            jsonw_str(w, q->sample[0] ? q->sample : NULL);
            jsonw_key(w, "calls");
            jsonw_uint(w, q->calls);
            jsonw_key(w, "calls_per_s");
            jsonw_num(w, (double)q->calls / d);
            jsonw_key(w, "total_ms");
            jsonw_num(w, q->total_ms);
            jsonw_key(w, "mean_ms");
            jsonw_num(w, q->mean_ms);
            jsonw_key(w, "share");
            jsonw_num(w, q->share);
            jsonw_key(w, "rows");
            jsonw_uint(w, q->rows);
            jsonw_key(w, "shared_blks_hit");
            jsonw_uint(w, q->shared_hit);
            jsonw_key(w, "shared_blks_read");
            jsonw_uint(w, q->shared_read);
            jsonw_key(w, "temp_blks_read");
            jsonw_uint(w, q->temp_read);
            jsonw_key(w, "temp_blks_written");
            jsonw_uint(w, q->temp_written);
            jsonw_key(w, "calls_per_http_request");
            json_num_or_null(w, q->attrib.calls_per_http);
            jsonw_key(w, "request");
            if (q->attrib.request[0]) {
                jsonw_obj_begin(w);
                jsonw_key(w, "name");
                jsonw_str(w, q->attrib.request);
                jsonw_key(w, "calls_per_request");
                jsonw_num(w, q->attrib.calls_per_request);
                jsonw_key(w, "fit");
                jsonw_num(w, q->attrib.fit);
                jsonw_obj_end(w);
            } else {
                jsonw_null(w);
            }
            jsonw_key(w, "calls_by_second");
            if (q->per_s) {
                jsonw_arr_begin(w);
                for (size_t k = 0; k < q->n_s; k++) {
                    jsonw_uint(w, q->per_s[k]);
                }
                jsonw_arr_end(w);
            } else {
                jsonw_null(w);
            }
            jsonw_key(w, "plan");
            if (q->plan_json) {
                jsonw_obj_begin(w);
                jsonw_key(w, "method");
                jsonw_str(w, q->plan_method);
                jsonw_key(w, "seq_scans");
                jsonw_arr_begin(w);
                for (int k = 0; k < q->nscans && k < 4; k++) {
                    char cols[8][64];
                    size_t nc = pgplan_filter_columns(q->scans[k].filter, cols, 8);
                    jsonw_obj_begin(w);
                    jsonw_key(w, "relation");
                    jsonw_str(w, q->scans[k].relation);
                    jsonw_key(w, "filter");
                    jsonw_str(w, q->scans[k].filter[0] ? q->scans[k].filter : NULL);
                    jsonw_key(w, "filter_columns");
                    jsonw_arr_begin(w);
                    for (size_t c = 0; c < nc; c++) {
                        jsonw_str(w, cols[c]);
                    }
                    jsonw_arr_end(w);
                    jsonw_key(w, "plan_rows");
                    jsonw_num(w, q->scans[k].plan_rows);
                    jsonw_obj_end(w);
                }
                jsonw_arr_end(w);
                jsonw_key(w, "json");
                jsonw_raw(w, q->plan_json, strlen(q->plan_json));
                jsonw_obj_end(w);
            } else {
                jsonw_null(w);
            }
            jsonw_key(w, "explain_error");
            jsonw_str(w, q->explain_error[0] ? q->explain_error : NULL);
            jsonw_obj_end(w);
        }
        jsonw_arr_end(w);
        jsonw_key(w, "tables");
        jsonw_arr_begin(w);
        for (size_t i = 0; i < s->ntables; i++) {
            const struct pg_table *t = &s->tables[i];
            jsonw_obj_begin(w);
            jsonw_key(w, "schema");
            jsonw_str(w, t->schema);
            jsonw_key(w, "table");
            jsonw_str(w, t->name);
            jsonw_key(w, "seq_scan");
            jsonw_uint(w, t->seq_scan);
            jsonw_key(w, "seq_tup_read");
            jsonw_uint(w, t->seq_tup_read);
            jsonw_key(w, "idx_scan");
            jsonw_uint(w, t->idx_scan);
            jsonw_key(w, "idx_tup_fetch");
            jsonw_uint(w, t->idx_tup_fetch);
            jsonw_key(w, "n_live_tup");
            jsonw_uint(w, t->n_live_tup);
            jsonw_key(w, "size_bytes");
            jsonw_uint(w, t->size_bytes);
            jsonw_obj_end(w);
        }
        jsonw_arr_end(w);
        jsonw_key(w, "activity");
        jsonw_obj_begin(w);
        jsonw_key(w, "samples");
        jsonw_uint(w, s->samples);
        jsonw_key(w, "max_connections");
        jsonw_int(w, s->max_connections);
        jsonw_key(w, "superuser_reserved_connections");
        jsonw_int(w, s->reserved_connections);
        jsonw_key(w, "connections_max");
        jsonw_uint(w, s->connections_max);
        jsonw_key(w, "connections_used_max_pct");
        jsonw_num(w, s->connections_used_max_pct);
        jsonw_key(w, "lock_wait_samples");
        jsonw_uint(w, s->lock_wait_samples);
        double ns = s->samples ? (double)s->samples : 1;
        jsonw_key(w, "states");
        jsonw_obj_begin(w);
        for (int i = 0; i < PG_ST_N; i++) {
            jsonw_key(w, pg_state_names[i]);
            jsonw_obj_begin(w);
            jsonw_key(w, "avg");
            jsonw_num(w, s->state_sum[i] / ns);
            jsonw_key(w, "max");
            jsonw_uint(w, s->state_max[i]);
            jsonw_obj_end(w);
        }
        jsonw_obj_end(w);
        jsonw_key(w, "wait_event_types");
        jsonw_obj_begin(w);
        for (int i = 0; i < PG_W_N; i++) {
            jsonw_key(w, pg_wait_names[i]);
            jsonw_obj_begin(w);
            jsonw_key(w, "avg");
            jsonw_num(w, s->wait_sum[i] / ns);
            jsonw_key(w, "max");
            jsonw_uint(w, s->wait_max[i]);
            jsonw_obj_end(w);
        }
        jsonw_obj_end(w);
        jsonw_key(w, "active_query_samples");
        jsonw_arr_begin(w);
        for (size_t i = 0; i < s->nsamples_text; i++) {
            jsonw_obj_begin(w);
            char qid[24];
            dbutil_fmt(qid, sizeof qid, "%lld", (long long)s->samples_qid[i]);
            jsonw_key(w, "query_id");
            jsonw_str(w, qid);
            jsonw_key(w, "query");
            jsonw_str(w, s->samples_text[i]);
            jsonw_obj_end(w);
        }
        jsonw_arr_end(w);
        jsonw_obj_end(w);
        static const char *const cols[] = {
            "t_s",     "connections", "active",   "idle_in_transaction", "lock_waits", "calls",
            "commits", "blks_hit",    "blks_read"};
        dbutil_series_json(w, cols, sizeof cols / sizeof cols[0], s->rows, s->nrows, series_row);
        jsonw_key(w, "probe_cost");
        jsonw_obj_begin(w);
        jsonw_key(w, "statements");
        jsonw_uint(w, s->probe_statements);
        jsonw_key(w, "statements_per_s");
        jsonw_num(w, s->probe_statements_per_s);
        jsonw_key(w, "statements_per_sample");
        jsonw_num(w, s->samples ? (double)s->probe_sample_statements / (double)s->samples : 0);
        jsonw_obj_end(w);
        jsonw_key(w, "explain_analyze");
        jsonw_bool(w, s->explain_analyze);
    }
    dbutil_findings_json(w, p->findings, p->nfindings);
    jsonw_obj_end(w);
    return jsonw_error(w);
}

static size_t pp_findings(void *self, struct finding *out, size_t cap)
{
    struct pgprobe *p = self;
    return dbutil_findings_copy(p->findings, p->nfindings, out, cap);
}

static void pp_free(void *self)
{
    struct pgprobe *p = self;
    disconnect(p);
    free_pgss(p->pgss_before, p->npgss_before);
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
    .stop = pp_stop,
    .summary = pp_summary,
    .to_json = pp_to_json,
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
        scrub(p, perr ? perr : "out of memory", m, sizeof m);
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
