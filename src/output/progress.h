/*
 * progress — the live progress line while a run goes on.
 *
 * On a terminal one line is rewritten in place ("\r" + erase line) once a second:
 * elapsed/planned time with a bar, active VUs, requests per second over the last second,
 * p95 of http_req_duration over the last second, and the error count.  When the output
 * is not a terminal (CI logs, files) a plain line is written every 10 s instead, so logs
 * stay readable.  Quiet mode prints nothing.  The summary (output/summary.h) follows
 * after progress_finish().
 */
#ifndef BRUNT_OUTPUT_PROGRESS_H
#define BRUNT_OUTPUT_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>

#include "engine/run.h"

/* A plain (non-terminal) line is written every this many seconds of the run. */
#define PROGRESS_PLAIN_INTERVAL_S 10

struct progress;

/*
 * A progress writer on f (not owned).  tty: rewrite one line in place; else plain lines
 * every PROGRESS_PLAIN_INTERVAL_S.  quiet: write nothing at all.  Returns NULL when out
 * of memory (the caller then runs without progress).
 */
struct progress *progress_new(FILE *f, bool tty, bool quiet);

/*
 * Shows rp.  Called once a second by the engine's coordinator thread (one thread only);
 * p may be NULL (does nothing).  Flushes f.
 */
void progress_update(struct progress *p, const struct run_progress *rp);

/*
 * Text appended to every line (the watched target's CPU and memory): extra writes at
 * most cap bytes, NUL-terminated, starting with two spaces ("  target CPU 41%").  Called
 * on the coordinator thread.
 */
typedef void (*progress_extra_cb)(char *buf, size_t cap, void *data);
void progress_set_extra(struct progress *p, progress_extra_cb extra, void *data);

/* A run_progress_cb for struct run_options: data is the struct progress *. */
void progress_cb(const struct run_progress *rp, void *data);

/* Ends the live display: erases the terminal line so the summary starts clean. */
void progress_finish(struct progress *p);

/* progress_free(NULL) does nothing.  Does not close f. */
void progress_free(struct progress *p);

#endif
