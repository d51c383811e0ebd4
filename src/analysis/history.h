/*
 * history — the run history: an SQLite database ("brunt-history/1") of every run
 * recorded with `brunt run --history FILE.db` or `brunt history FILE.db --add`.
 *
 * One row per run: when it started, the scenario's name and digest, its load shape (a
 * signature string: runs are only ever compared with runs of the same shape), the git
 * commit and branch it was run from, its tags, its headline figures (requests, rps,
 * p50/p95/p99 of http_req_duration in ms, error rate) and the result document itself
 * (compact JSON), so `brunt compare --history` can take any recorded run as its
 * baseline.
 *
 * Concurrent writers (two CI jobs on one file) are safe: the database runs in WAL mode,
 * every connection waits up to a busy timeout for a lock, and every change is one
 * BEGIN IMMEDIATE transaction, so a writer either commits a whole run or nothing.  A
 * lock held past the timeout is HIST_EBUSY.  No printing; errors come back as a code and
 * one line in err.  One connection per thread.
 */
#ifndef BRUNT_ANALYSIS_HISTORY_H
#define BRUNT_ANALYSIS_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HISTORY_FORMAT "brunt-history/1"
#define HIST_MAX_TAGS 32
#define HIST_MAX_RUNS 100000 /* a listing reads at most this many runs */

enum hist_err {
    HIST_EIO = -1,      /* cannot open or create the file */
    HIST_ENOTHIST = -2, /* the file is not a brunt history (not SQLite, or another schema) */
    HIST_EBUSY = -3,    /* locked by another writer past the busy timeout */
    HIST_EINVAL = -4,   /* bad argument (a tag without '=', ...) */
    HIST_ENOMEM = -5,
};

struct history;

/* What one run contributes. */
struct hist_run {
    int64_t id;
    char start[40]; /* RFC 3339 UTC */
    char scenario[256];
    char digest[128];
    char shape[1200]; /* load-shape signature */
    char git_commit[48];
    char git_branch[128];
    char tags[1024]; /* "k=v" pairs joined by '\n', sorted */
    double requests, rps, p50_ms, p95_ms, p99_ms, error_rate, duration_ms;
    int exit_code;
};

/*
 * Opens (creating it when missing or empty) the history at path, waiting at most
 * busy_timeout_ms for locks.  Returns 0 with *out, or a negative enum hist_err with one
 * line in err.  A file that is not SQLite, or SQLite without a brunt history in it, is
 * HIST_ENOTHIST and left untouched.  create false refuses a file that does not exist.
 */
int history_open(const char *path, int busy_timeout_ms, bool create, struct history **out,
                 char *err, size_t err_len);
void history_close(struct history *h);

/* Records a run (its id is stored in run->id) with its result document doc[0..len), in
 * one transaction.  0 or a negative enum hist_err. */
int history_add(struct history *h, struct hist_run *run, const char *doc, size_t len, char *err,
                size_t err_len);

/*
 * Lists runs started at or after since (an RFC 3339 prefix; "" = all) with scenario (""
 * = any), oldest first, into a malloc'd array (*runs, free it) of *n entries (at most
 * HIST_MAX_RUNS, the newest kept).  0 or a negative enum hist_err.
 */
int history_list(struct history *h, const char *since, const char *scenario, struct hist_run **runs,
                 size_t *n, char *err, size_t err_len);

/* The result document of run id: malloc'd (free it) into *doc, *len.  0, HIST_EINVAL when
 * there is no such run, or another negative enum hist_err. */
int history_document(struct history *h, int64_t id, char **doc, size_t *len, char *err,
                     size_t err_len);

/* Canonicalises tags ("k=v" each) into out: sorted, joined by '\n'.  -1 when a tag has no
 * '=' or an empty key, or contains a newline, or out is too small. */
int history_tags_canon(const char *const *tags, size_t n, char *out, size_t cap);

/* True when the canonical tags hold tag ("k=v": that pair; "v": any pair with value v). */
bool history_tags_match(const char *tags, const char *tag);

#endif
