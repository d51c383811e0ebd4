/*
 * pg_internal — what the parts of the PostgreSQL probe share (probe/pg*.c): its state
 * (struct pgprobe), the snapshot rows, and the functions one part calls in another.
 * pg.c has the ops and the sampling, pgconn.c the connection and statements, pgafter.c
 * the after-run analysis, pgout.c the summary and the JSON.  Internal to probe/.
 */
#ifndef BRUNT_PROBE_PG_INTERNAL_H
#define BRUNT_PROBE_PG_INTERNAL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/clock.h"
#include "core/json.h"
#include "probe/dbutil.h"
#include "probe/pg.h"

#define MARK "/* brunt-probe */"
#define STMT_TIMEOUT_MS 800
#define EXPLAIN_TIMEOUT_MS 3000
#define CONNECT_TIMEOUT_MS 3000
#define RECONNECT_EVERY_NS (2 * NS_PER_S)
#define SETTLE_MIN_NS (1100 * NS_PER_MS)
#define SETTLE_DEFAULT_NS (11 * NS_PER_S)
#define FINDINGS_MAX 16
#define PGSS_MAX 20000 /* rows of pg_stat_statements read per snapshot */
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

/* Copies msg into out with the password replaced and the trailing newline dropped. */
void pg__scrub(const struct pgprobe *p, const char *msg, char *out, size_t cap);

void pg__note(struct pgprobe *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void pg__disconnect(struct pgprobe *p);

/*
 * Runs one statement (one transaction) and returns its last result when it succeeded
 * (PGRES_TUPLES_OK or PGRES_COMMAND_OK), else NULL with the reason in p->last_err.
 * The caller PQclear()s the result.
 */
PGresult *pg__run(struct pgprobe *p, const char *sql, uint64_t timeout_ms);

uint64_t pg__u64(const PGresult *r, int row, int col);

double pg__dbl(const PGresult *r, int row, int col);

int pg__connect_server(struct pgprobe *p, char *err, size_t err_len);

void pg__try_reconnect(struct pgprobe *p, uint64_t now_ns);

int pg__read_db(struct pgprobe *p, struct dbrow *out, bool flush);

int pg__cmp_key(const void *a, const void *b);

/* Reads pg_stat_statements for the database (own statements excluded) into a new array
 * sorted by (userid, queryid), duplicates summed; with_text keeps the texts. */
int pg__read_pgss(struct pgprobe *p, bool full, struct pgss_row **out, size_t *n);

void pg__free_pgss(struct pgss_row *a, size_t n);

int pg__read_tables(struct pgprobe *p, struct pg_table **out, size_t *n);

struct track *pg__track_find(struct pgprobe *p, uint32_t userid, int64_t queryid, bool add,
                             uint64_t calls_if_new);

uint64_t pg__inc(uint64_t a, uint64_t b);

/* The highest $n in q (0 when none). */
int pg__max_param(const char *q);

/* The stop op: the after snapshots, the ranking and the plans (pgafter.c). */
void pg__stop(void *self);

/* The summary and to_json ops (pgout.c). */
void pg__summary(void *self, FILE *f, bool color);

int pg__to_json(void *self, struct jsonw *w);

#endif
