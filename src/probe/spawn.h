/*
 * spawn — `brunt run --spawn CMD [--ready URL|port]`: starts the system under test as a
 * child, captures its stdout and stderr to a file, waits (bounded) until it is ready,
 * and stops it after the run: SIGTERM to its process group, then SIGKILL after a grace.
 *
 * CMD runs under /bin/sh -c ("exec CMD" when it has no ; & | ( ) or backquote, so the
 * watched PID is the program itself) in a new process group (so the whole tree it starts gets the
 * signals), with stdin from /dev/null.  Ready means one of: an HTTP GET of the URL
 * answered with any status below 500 (a plain http:// URL only); a TCP connect to the
 * port succeeding ("port:8000" or a bare port); or, with neither, the child still alive
 * after 200 ms.  A child that exits before it is ready, or is not ready in time, is
 * stopped and reaped: nothing half-started is left behind.  No printing.
 */
#ifndef BRUNT_PROBE_SPAWN_H
#define BRUNT_PROBE_SPAWN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/clock.h"

#define SPAWN_CMD_MAX 4096
#define SPAWN_READY_TIMEOUT_NS (30 * NS_PER_S) /* default bound on the wait */
#define SPAWN_GRACE_NS (5 * NS_PER_S)          /* SIGTERM to SIGKILL */

struct spawn_options {
    const char *command;  /* for /bin/sh -c */
    const char *ready;    /* URL, "port:N", "N", or NULL */
    const char *log_path; /* stdout+stderr go here (NULL: a temp file, path kept) */
    uint64_t ready_timeout_ns;
    uint64_t grace_ns;
    /* Set (non-zero) by a signal handler to end the wait at once (NULL: never). */
    const volatile sig_atomic_t *cancel;
};

struct spawn;

/* Ways spawn_start() fails (beyond negative errno), for the CLI's exit code. */
enum spawn_error {
    SPAWN_E_EXITED = -10001,    /* the command ended before it was ready */
    SPAWN_E_TIMEOUT = -10002,   /* not ready within ready_timeout_ns */
    SPAWN_E_READY = -10003,     /* the --ready text is not a URL or port */
    SPAWN_E_CANCELLED = -10004, /* *cancel was set (^C) during the wait */
};

/*
 * Starts the command and waits until it is ready.  On success *out is the running child
 * and 0 is returned; on failure the child (if any) is stopped and reaped, *out is NULL,
 * and err holds one line (with the log's last line when the command exited).  The wait
 * looks at o->cancel between checks and a signal cuts its sleep short, so a ^C ends it
 * within one ready check (SPAWN_E_CANCELLED).
 */
int spawn_start(const struct spawn_options *o, struct spawn **out, char *err, size_t err_len);
pid_t spawn_pid(const struct spawn *sp);
/* The program's name (argv[0]'s basename of the command's first word), for labels. */
const char *spawn_name(const struct spawn *sp);
const char *spawn_log_path(const struct spawn *sp);
/* Waits no more than it takes to ask: 1 when the child has ended (status in *signaled,
 * *code: exit status or signal), 0 while it runs.  Reaps it.  One thread at a time. */
int spawn_poll(struct spawn *sp, bool *signaled, int *code);
/* SIGTERM to the group, SIGKILL after the grace, reaps; returns how it ended (as
 * spawn_poll).  Safe after the child ended on its own. */
int spawn_stop(struct spawn *sp, bool *signaled, int *code);
/*
 * GET url (plain http://) once, bounded (about 3 s at most): the status in *status and
 * the body's start in body (NUL-terminated).  0, -EINVAL (not an http:// URL), or
 * -ECONNREFUSED (no answer).  For the demo's read of the target's /__stats.
 */
int spawn_http_get(const char *url, int *status, char *body, size_t body_cap);

/* Keeps the log file spawn_free() would otherwise remove (one brunt named itself, when
 * nothing went wrong).  For a target that ended during the run. */
void spawn_keep_log(struct spawn *sp);

/* Stops it if still running, then frees; removes a log brunt named itself unless
 * spawn_keep_log() was called or the start failed.  spawn_free(NULL) does nothing. */
void spawn_free(struct spawn *sp);

#endif
