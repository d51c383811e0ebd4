/*
 * pgconn — the PostgreSQL probe's connection: connecting (with the password scrubbed
 * out of every message libpq writes), statements sent asynchronously and waited for
 * under a deadline (cancelled at it), the probe's notes, reconnecting after a restart.
 * See pg_internal.h.  The probe's thread.
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

/* ---- messages --------------------------------------------------------------------- */

/* Copies msg into out with the password replaced and the trailing newline dropped. */
void pg__scrub(const struct pgprobe *p, const char *msg, char *out, size_t cap)
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

void pg__note(struct pgprobe *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dbutil_vnote(p->st.error, sizeof p->st.error, fmt, ap);
    va_end(ap);
}

/* ---- statements under a deadline ------------------------------------------------- */

void pg__disconnect(struct pgprobe *p)
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
PGresult *pg__run(struct pgprobe *p, const char *sql, uint64_t timeout_ms)
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
        pg__scrub(p, PQerrorMessage(p->conn), p->last_err, sizeof p->last_err);
        pg__disconnect(p);
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
                pg__disconnect(p);
                PQclear(last);
                return NULL;
            }
            if (w < 0 || !PQconsumeInput(p->conn)) {
                pg__scrub(p, PQerrorMessage(p->conn), p->last_err, sizeof p->last_err);
                pg__disconnect(p);
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
                pg__scrub(p, PQresultErrorMessage(res), p->last_err, sizeof p->last_err);
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
            pg__scrub(p, PQerrorMessage(p->conn), p->last_err, sizeof p->last_err);
        }
        pg__disconnect(p);
        PQclear(last);
        last = NULL;
    }
    return failed ? NULL : last;
}

uint64_t pg__u64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col)) {
        return 0;
    }
    const char *s = PQgetvalue(r, row, col);
    return s[0] == '-' ? 0 : strtoull(s, NULL, 10);
}

double pg__dbl(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtod(PQgetvalue(r, row, col), NULL);
}

int pg__connect_server(struct pgprobe *p, char *err, size_t err_len)
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
        pg__scrub(p, PQerrorMessage(c), m, sizeof m);
        dbutil_fmt(err, err_len, "postgres: %s: %s", p->st.dsn_shown, m);
        rc = strstr(m, "password") || strstr(m, "authentication") ? -EACCES : -ECONNREFUSED;
    }
    if (rc != 0) {
        PQfinish(c);
        return rc;
    }
    p->conn = c;
    PQsetnonblocking(c, 0);
    PGresult *r = pg__run(p, "SET " MARK " statement_timeout = 800", STMT_TIMEOUT_MS);
    PQclear(r);
    r = pg__run(p, "SET lock_timeout = 200", STMT_TIMEOUT_MS);
    PQclear(r);
    r = pg__run(p, "SET default_transaction_read_only = on", STMT_TIMEOUT_MS);
    PQclear(r);
    r = pg__run(p,
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
        pg__disconnect(p);
    } else {
        dbutil_fmt(p->st.version, sizeof p->st.version, "%s", PQgetvalue(r, 0, 0));
        p->st.version_num = atoi(PQgetvalue(r, 0, 1));
        dbutil_fmt(p->st.database, sizeof p->st.database, "%s", PQgetvalue(r, 0, 2));
        dbutil_fmt(p->st.role, sizeof p->st.role, "%s", PQgetvalue(r, 0, 3));
        p->st.max_connections = atoi(PQgetvalue(r, 0, 4));
        p->st.reserved_connections = atoi(PQgetvalue(r, 0, 5));
        if (p->start_time[0] && strcmp(p->start_time, PQgetvalue(r, 0, 6)) != 0) {
            p->st.restarts++;
            pg__note(p, "postgres: the server restarted during the run (postmaster start time "
                        "changed); counters may have restarted, deltas are from the restart on");
        }
        dbutil_fmt(p->start_time, sizeof p->start_time, "%s", PQgetvalue(r, 0, 6));
        p->st.pgss_all_visible = PQgetvalue(r, 0, 7)[0] == 't';
        if (p->st.version_num < 140000) {
            dbutil_fmt(err, err_len, "postgres: %s: PostgreSQL %s is not supported (14 or later)",
                       p->st.dsn_shown, p->st.version);
            rc = -ENOTSUP;
            pg__disconnect(p);
        }
    }
    PQclear(r);
    return rc;
}

void pg__try_reconnect(struct pgprobe *p, uint64_t now_ns)
{
    if (p->conn == NULL && now_ns - p->last_try_ns >= RECONNECT_EVERY_NS) {
        char e[512];
        if (pg__connect_server(p, e, sizeof e) != 0) {
            pg__note(p, "%s", e);
        }
    }
}
