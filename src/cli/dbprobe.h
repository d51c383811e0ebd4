/*
 * dbprobe — `brunt run --postgres DSN --redis URL`: builds the PostgreSQL and Redis
 * probes for the probe set, keeps their sections when the server cannot be reached (the
 * probe stays, its section says what could not be measured and why, and one line on
 * stderr says so at the start), collects the requests per second of each request name
 * while the load runs, and after it runs the findings rules (analysis/dbfind) with them.
 *
 * Main thread, except cli_db_tick (the coordinator's thread, once a second).
 */
#ifndef BRUNT_CLI_DBPROBE_H
#define BRUNT_CLI_DBPROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/run.h"
#include "probe/probe.h"

#define CLI_DB_NAMES_MAX 32 /* request names followed per second */
#define CLI_DB_SECONDS_MAX 3600

struct cli_db {
    const char *pg_dsn;    /* --postgres, or NULL */
    const char *redis_url; /* --redis, or NULL */
    bool explain_analyze;  /* --explain-analyze */
    uint64_t settle_ns;    /* --postgres-settle (0: the probe's default, 11 s) */
    /* private */
    void *pg, *redis; /* the wrappers handed to the probe set */
    size_t n_names;
    char names[CLI_DB_NAMES_MAX][64];
    double *per_s[CLI_DB_NAMES_MAX];
    size_t rows_seen; /* time-series rows counted into per_s */
    uint64_t totals[CLI_DB_NAMES_MAX];
    size_t n_s;
};

/* Defines the probes' metrics (before thresholds are parsed).  0 or negative errno. */
int cli_db_define_metrics(void);

/*
 * Builds the probes db asks for into out[0..cap) (*n of them).  A bad DSN or URL prints
 * one line and returns EXIT_USAGE; otherwise 0.  The set owns the probes once added.
 */
int cli_db_probes(struct cli_db *db, struct probe *out, size_t cap, size_t *n);

/* The engine's tick: counts each request name's requests of the rows finalised since the
 * last tick, each in its own second. */
void cli_db_tick(const struct run_report *r, void *data);

/* After the load (the probes stopped): the findings, handed back to each probe. */
void cli_db_after(struct run_report *r, void *data);

/*
 * A copy of argv for the result's "command" and any other display: the value of every
 * --postgres and --redis (as "--postgres V" or "--postgres=V") with its password
 * replaced by "***".  Free with cli_db_free_argv.  NULL when out of memory.
 */
char **cli_db_redact_argv(int argc, char **argv);
void cli_db_free_argv(int argc, char **argv);

/* Frees what db collected (not the probes: the set frees them). */
void cli_db_destroy(struct cli_db *db);

#endif
