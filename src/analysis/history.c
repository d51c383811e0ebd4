/*
 * history — the run history on SQLite (see history.h).
 *
 * Schema "brunt-history/1":
 *   meta(key TEXT PRIMARY KEY, value TEXT)          -- ('format', 'brunt-history/1')
 *   runs(id INTEGER PRIMARY KEY, start, scenario, digest, shape, git_commit, git_branch,
 *        tags, requests, rps, p50_ms, p95_ms, p99_ms, error_rate, duration_ms, exit_code,
 *        result)                                    -- result: the compact JSON document
 *   runs_by_start index on (scenario, start)
 * The schema is created in one BEGIN IMMEDIATE transaction that first looks again for the
 * meta table, so two processes creating the same new file do not both create it.
 */
#include "analysis/history.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct history {
    sqlite3 *db;
    char path[1024];
};

static int h_fail(char *err, size_t err_len, int code, const char *path, const char *what,
                  sqlite3 *db)
{
    snprintf(err, err_len, "%s: %s%s%s", path, what, db ? ": " : "", db ? sqlite3_errmsg(db) : "");
    return code;
}

static int code_of(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return HIST_EBUSY;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return HIST_ENOTHIST;
    case SQLITE_NOMEM:
        return HIST_ENOMEM;
    default:
        return HIST_EIO;
    }
}

/* Runs one statement without results.  0 or the sqlite code. */
static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static const char schema_sql[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
    "INSERT INTO meta VALUES('format', '" HISTORY_FORMAT "');"
    "CREATE TABLE runs(id INTEGER PRIMARY KEY, start TEXT NOT NULL, scenario TEXT NOT NULL,"
    " digest TEXT, shape TEXT NOT NULL, git_commit TEXT, git_branch TEXT, tags TEXT,"
    " requests REAL, rps REAL, p50_ms REAL, p95_ms REAL, p99_ms REAL, error_rate REAL,"
    " duration_ms REAL, exit_code INTEGER, result BLOB NOT NULL);"
    "CREATE INDEX runs_by_start ON runs(scenario, start);";

/* The format recorded in meta, into out; 0 when found, 1 when the database has no meta
 * table, or an sqlite code. */
static int read_format(sqlite3 *db, char *out, size_t cap, bool *empty)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        return rc;
    }
    rc = sqlite3_step(st);
    *empty = rc == SQLITE_ROW && sqlite3_column_int(st, 0) == 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) {
        return rc;
    }
    rc = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'format'", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        return 1; /* no meta table */
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(st, 0);
        snprintf(out, cap, "%s", v ? (const char *)v : "");
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? 1 : rc;
    }
    sqlite3_finalize(st);
    return rc;
}

int history_open(const char *path, int busy_timeout_ms, bool create, struct history **out,
                 char *err, size_t err_len)
{
    struct history *h = calloc(1, sizeof *h);
    struct stat sb;
    int code = 0, rc;
    char format[64] = "";
    bool empty = false;

    *out = NULL;
    if (h == NULL) {
        return h_fail(err, err_len, HIST_ENOMEM, path, "out of memory", NULL);
    }
    snprintf(h->path, sizeof h->path, "%s", path);
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        code = h_fail(err, err_len, HIST_ENOTHIST, path, "not a brunt history (not a file)", NULL);
        goto fail;
    }
    if (stat(path, &sb) < 0 && !create) {
        code = h_fail(err, err_len, HIST_EIO, path, "no such history file", NULL);
        goto fail;
    }
    rc = sqlite3_open_v2(path, &h->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        code = h_fail(err, err_len, code_of(rc), path, "cannot open the history", h->db);
        goto fail;
    }
    sqlite3_busy_timeout(h->db, busy_timeout_ms);
    rc = read_format(h->db, format, sizeof format, &empty);
    if (rc != 0 && rc != 1) {
        code = code_of(rc) == HIST_EBUSY
                   ? h_fail(err, err_len, HIST_EBUSY, path, "the history is locked", h->db)
               : code_of(rc) == HIST_ENOTHIST
                   ? h_fail(err, err_len, HIST_ENOTHIST, path,
                            "not a brunt history (not an SQLite database)", NULL)
                   : h_fail(err, err_len, code_of(rc), path, "cannot read the history", h->db);
        goto fail;
    }
    if (rc == 0 && strcmp(format, HISTORY_FORMAT) != 0) {
        snprintf(err, err_len, "%s: a history of format '%s': this brunt reads %s", path, format,
                 HISTORY_FORMAT);
        code = HIST_ENOTHIST;
        goto fail;
    }
    if (rc == 1 && !empty) {
        code = h_fail(err, err_len, HIST_ENOTHIST, path,
                      "an SQLite database, but not a brunt history (no meta table)", NULL);
        goto fail;
    }
    /* WAL: readers never block the writer and a crash mid-write loses only that write.
     * The switch needs the file to itself, and SQLite does not call the busy handler for
     * it when another process is creating the same new file at that moment: retry here,
     * within the same busy timeout. */
    rc = exec(h->db, "PRAGMA journal_mode=WAL");
    for (int waited = 0; rc == SQLITE_BUSY && waited < busy_timeout_ms; waited += 5) {
        sqlite3_sleep(5);
        rc = exec(h->db, "PRAGMA journal_mode=WAL");
    }
    if (rc != SQLITE_OK) {
        code = h_fail(err, err_len, code_of(rc), path, "cannot switch to WAL", h->db);
        goto fail;
    }
    if (rc == SQLITE_OK && empty) {
        rc = exec(h->db, "BEGIN IMMEDIATE");
        if (rc == SQLITE_OK) {
            /* another process may have created it while we waited for the lock */
            bool still_empty = false;
            int f = read_format(h->db, format, sizeof format, &still_empty);
            rc = f == 1 && still_empty ? exec(h->db, schema_sql) : SQLITE_OK;
            rc = rc == SQLITE_OK ? exec(h->db, "COMMIT") : rc;
            if (rc != SQLITE_OK) {
                (void)exec(h->db, "ROLLBACK");
            }
        }
        if (rc != SQLITE_OK) {
            code = h_fail(err, err_len, code_of(rc), path,
                          code_of(rc) == HIST_EBUSY ? "the history is locked"
                                                    : "cannot create the history",
                          h->db);
            goto fail;
        }
    }
    *out = h;
    return 0;

fail:
    if (h->db != NULL) {
        sqlite3_close(h->db);
    }
    free(h);
    return code;
}

void history_close(struct history *h)
{
    if (h == NULL) {
        return;
    }
    sqlite3_close(h->db);
    free(h);
}

int history_add(struct history *h, struct hist_run *run, const char *doc, size_t len, char *err,
                size_t err_len)
{
    static const char sql[] =
        "INSERT INTO runs(start, scenario, digest, shape, git_commit, git_branch, tags, "
        "requests, rps, p50_ms, p95_ms, p99_ms, error_rate, duration_ms, exit_code, result) "
        "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    sqlite3_stmt *st = NULL;
    int rc = exec(h->db, "BEGIN IMMEDIATE");
    if (rc != SQLITE_OK) {
        return h_fail(err, err_len, code_of(rc), h->path,
                      code_of(rc) == HIST_EBUSY ? "the history is locked by another writer"
                                                : "cannot write the history",
                      h->db);
    }
    rc = sqlite3_prepare_v2(h->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        const char *texts[7] = {run->start,      run->scenario,   run->digest, run->shape,
                                run->git_commit, run->git_branch, run->tags};
        for (int i = 0; i < 7; i++) {
            sqlite3_bind_text(st, i + 1, texts[i], -1, SQLITE_STATIC);
        }
        const double nums[7] = {run->requests, run->rps,        run->p50_ms,     run->p95_ms,
                                run->p99_ms,   run->error_rate, run->duration_ms};
        for (int i = 0; i < 7; i++) {
            sqlite3_bind_double(st, i + 8, nums[i]);
        }
        sqlite3_bind_int(st, 15, run->exit_code);
        sqlite3_bind_blob64(st, 16, doc, len, SQLITE_STATIC);
        rc = sqlite3_step(st);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        sqlite3_finalize(st);
    }
    if (rc == SQLITE_OK) {
        run->id = sqlite3_last_insert_rowid(h->db);
        rc = exec(h->db, "COMMIT");
    }
    if (rc != SQLITE_OK) {
        int code = h_fail(err, err_len, code_of(rc), h->path,
                          code_of(rc) == HIST_EBUSY ? "the history is locked by another writer"
                                                    : "cannot record the run",
                          h->db);
        (void)exec(h->db, "ROLLBACK");
        return code;
    }
    return 0;
}

static void col_text(sqlite3_stmt *st, int i, char *out, size_t cap)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    snprintf(out, cap, "%s", v ? (const char *)v : "");
}

int history_list(struct history *h, const char *since, const char *scenario, struct hist_run **runs,
                 size_t *n, char *err, size_t err_len)
{
    /* the newest HIST_MAX_RUNS, returned oldest first */
    static const char sql[] =
        "SELECT * FROM (SELECT id, start, scenario, digest, shape, git_commit, git_branch, tags, "
        "requests, rps, p50_ms, p95_ms, p99_ms, error_rate, duration_ms, exit_code FROM runs "
        "WHERE start >= ?1 AND (?2 = '' OR scenario = ?2) ORDER BY start DESC, id DESC LIMIT ?3) "
        "ORDER BY start, id";
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    *runs = NULL;
    *n = 0;
    int rc = sqlite3_prepare_v2(h->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        return h_fail(err, err_len, code_of(rc), h->path, "cannot read the history", h->db);
    }
    sqlite3_bind_text(st, 1, since, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, scenario, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, HIST_MAX_RUNS);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            struct hist_run *r = realloc(*runs, nc * sizeof *r);
            if (r == NULL) {
                rc = SQLITE_NOMEM;
                break;
            }
            *runs = r;
            cap = nc;
        }
        struct hist_run *r = &(*runs)[(*n)++];
        memset(r, 0, sizeof *r);
        r->id = sqlite3_column_int64(st, 0);
        col_text(st, 1, r->start, sizeof r->start);
        col_text(st, 2, r->scenario, sizeof r->scenario);
        col_text(st, 3, r->digest, sizeof r->digest);
        col_text(st, 4, r->shape, sizeof r->shape);
        col_text(st, 5, r->git_commit, sizeof r->git_commit);
        col_text(st, 6, r->git_branch, sizeof r->git_branch);
        col_text(st, 7, r->tags, sizeof r->tags);
        double *nums[7] = {&r->requests, &r->rps,        &r->p50_ms,     &r->p95_ms,
                           &r->p99_ms,   &r->error_rate, &r->duration_ms};
        for (int i = 0; i < 7; i++) {
            *nums[i] = sqlite3_column_double(st, 8 + i);
        }
        r->exit_code = sqlite3_column_int(st, 15);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(*runs);
        *runs = NULL;
        *n = 0;
        return h_fail(
            err, err_len, code_of(rc), h->path,
            code_of(rc) == HIST_EBUSY ? "the history is locked" : "cannot read the history", h->db);
    }
    return 0;
}

int history_document(struct history *h, int64_t id, char **doc, size_t *len, char *err,
                     size_t err_len)
{
    sqlite3_stmt *st = NULL;
    *doc = NULL;
    *len = 0;
    int rc = sqlite3_prepare_v2(h->db, "SELECT result FROM runs WHERE id = ?", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        return h_fail(err, err_len, code_of(rc), h->path, "cannot read the history", h->db);
    }
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    int code = 0;
    if (rc == SQLITE_ROW) {
        const void *b = sqlite3_column_blob(st, 0);
        int n = sqlite3_column_bytes(st, 0);
        *doc = malloc((size_t)n + 1);
        if (*doc == NULL) {
            code = h_fail(err, err_len, HIST_ENOMEM, h->path, "out of memory", NULL);
        } else {
            if (n > 0) {
                memcpy(*doc, b, (size_t)n);
            }
            (*doc)[n] = '\0';
            *len = (size_t)n;
        }
    } else if (rc == SQLITE_DONE) {
        snprintf(err, err_len, "%s: no run %lld", h->path, (long long)id);
        code = HIST_EINVAL;
    } else {
        code = h_fail(err, err_len, code_of(rc), h->path, "cannot read the history", h->db);
    }
    sqlite3_finalize(st);
    return code;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int history_tags_canon(const char *const *tags, size_t n, char *out, size_t cap)
{
    const char *sorted[HIST_MAX_TAGS];
    size_t o = 0;
    if (n > HIST_MAX_TAGS || cap == 0) {
        return -1;
    }
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(tags[i], '=');
        if (eq == NULL || eq == tags[i] || strchr(tags[i], '\n') != NULL) {
            return -1;
        }
        sorted[i] = tags[i];
    }
    qsort(sorted, n, sizeof *sorted, cmp_str);
    for (size_t i = 0; i < n; i++) {
        int k = snprintf(out + o, cap - o, "%s%s", i ? "\n" : "", sorted[i]);
        if (k < 0 || (size_t)k >= cap - o) {
            return -1;
        }
        o += (size_t)k;
    }
    return (int)o;
}

bool history_tags_match(const char *tags, const char *tag)
{
    bool pair = strchr(tag, '=') != NULL;
    size_t tl = strlen(tag);
    const char *p = tags;
    while (p != NULL && *p) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (pair) {
            if (len == tl && memcmp(p, tag, tl) == 0) {
                return true;
            }
        } else {
            const char *eq = memchr(p, '=', len);
            if (eq != NULL && (size_t)(p + len - eq - 1) == tl && memcmp(eq + 1, tag, tl) == 0) {
                return true;
            }
        }
        p = end ? end + 1 : NULL;
    }
    return false;
}
