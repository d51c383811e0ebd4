/*
 * loop — a per-thread epoll event loop with min-heap timers.
 *
 * Shaped like redis's ae and libuv's uv__io_t: the owner of a file descriptor embeds a
 * struct loop_io and registers it; the loop calls io->cb with the ready events.  Timers
 * are embedded in their owners too (struct loop_timer) and kept in a binary min-heap, so
 * starting and stopping one is O(log n) and allocates nothing once the heap has grown.
 * "Now" is read once per iteration and cached (loop_now_ns), which is what latency
 * measurement wants: one clock read serves every event of an iteration.
 *
 * Two ordering rules callers may rely on (libuv's, src/unix/linux.c and src/timer.c):
 *  - Removing an io (loop_io_del) while the loop dispatches a batch of events drops that
 *    io's events still pending in the batch: once removed, its callback is not called
 *    again, even when the same struct loop_io is registered again (with a new fd) before
 *    the batch ends.  An owner may close a connection from any callback and reuse the
 *    struct at once, without guessing which events are stale.
 *  - Timers due at the same instant fire in the order they were (last) started.
 * And one guarantee: every iteration ends.  A timer started from a timer callback for a
 * time already due fires in the next iteration, after the before-poll hook and a poll
 * for I/O, so a zero-delay timer that re-arms itself cannot starve I/O or the hook.
 *
 * Not thread-safe, except loop_wake(), which any thread may call.  Left out: signals
 * (the CLI handles them), child processes, file I/O.
 */
#ifndef BRUNT_CORE_LOOP_H
#define BRUNT_CORE_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct loop_io;
struct loop_timer;

enum {
    LOOP_READ = 1u << 0,
    LOOP_WRITE = 1u << 1,
    LOOP_ERROR = 1u << 2, /* reported only: EPOLLERR or EPOLLHUP */
};

typedef void (*loop_io_cb)(struct loop *loop, struct loop_io *io, unsigned events);
typedef void (*loop_timer_cb)(struct loop *loop, struct loop_timer *timer);
typedef void (*loop_hook_cb)(struct loop *loop, void *data);

/* Embedded in the owner of a file descriptor.  Zero-filled is "not registered". */
struct loop_io {
    int fd;
    unsigned events; /* LOOP_READ | LOOP_WRITE currently watched */
    loop_io_cb cb;
    void *data;
    /* private */
    bool registered;
};

/* Embedded in its owner.  Zero-filled is "not started". */
struct loop_timer {
    uint64_t when_ns; /* absolute monotonic deadline */
    loop_timer_cb cb;
    void *data;
    /* private */
    size_t heap_index; /* 0 = not in the heap; otherwise position + 1 */
    uint64_t seq;      /* start order: ties on when_ns fire in this order */
};

/* A clock for the loop: monotonic nanoseconds.  Tests set their own (loop_set_clock). */
typedef uint64_t (*loop_clock_cb)(void *data);

/* Creates a loop; returns 0 or a negative errno. */
int loop_new(struct loop **out);
/* Frees the loop; registered fds are not closed.  loop_free(NULL) does nothing. */
void loop_free(struct loop *loop);

/*
 * Starts watching io->fd for `events` (LOOP_READ / LOOP_WRITE; 0 keeps it registered but
 * quiet).  Calling it again changes the set.  Returns 0 or a negative errno.
 */
int loop_io_set(struct loop *loop, struct loop_io *io, unsigned events);
/* Stops watching io (before its fd is closed).  Safe on an unregistered io. */
void loop_io_del(struct loop *loop, struct loop_io *io);

/* Starts (or moves) timer to fire at the absolute monotonic time when_ns. */
void loop_timer_start(struct loop *loop, struct loop_timer *timer, uint64_t when_ns);
/* Stops timer; safe on a timer that is not running. */
void loop_timer_stop(struct loop *loop, struct loop_timer *timer);
static inline bool loop_timer_active(const struct loop_timer *timer)
{
    return timer->heap_index != 0;
}

/* The time cached at the start of this iteration (monotonic ns). */
uint64_t loop_now_ns(const struct loop *loop);
/* Reads the clock again and refreshes the cached time; returns it. */
uint64_t loop_update_now(struct loop *loop);
/* Reads the loop's clock without touching the cached time (a send's exact instant). */
uint64_t loop_clock_ns(const struct loop *loop);
/* Replaces the clock (default: clock_now_ns); cb NULL restores it.  For tests that
 * drive time by hand.  Set it before the loop runs. */
void loop_set_clock(struct loop *loop, loop_clock_cb cb, void *data);

/* Called once per iteration before waiting; used to flush batched work. */
void loop_set_before_poll(struct loop *loop, loop_hook_cb cb, void *data);

/*
 * Lets this iteration's wait leave ready I/O alone (call it from the before-poll hook;
 * it holds for one wait only): when the next timer is due within horizon_ns and no io
 * is watched for LOOP_WRITE (a connect or a write in progress), the loop sleeps until
 * that timer whatever arrives, then dispatches the I/O ready by then before the timer's
 * callbacks.  One wake-up per timer instead of one per event; loop_wake() still ends
 * the sleep at once.  The owner must not mind reading late: the open model times each
 * answer from the kernel's receive timestamp (engine/worker.c).  Needs epoll_pwait2
 * (elsewhere the wait is an ordinary one).
 */
void loop_defer_io(struct loop *loop, uint64_t horizon_ns);
/* Waits that loop_defer_io made sleep through I/O, since the loop was created. */
uint64_t loop_deferred_waits(const struct loop *loop);

/*
 * How punctually the platform woke this loop: waits that slept for a timer (timed),
 * those that ended LOOP_LATE_NS or more past the timer's time (late: the thread was
 * runnable and kept off a CPU, or the machine itself was paused, as a hypervisor does),
 * how late those were in all and the latest of them.  A wait that ended early for I/O
 * is timed and not late.
 */
#define LOOP_LATE_NS (500 * 1000ull)
struct loop_wakes {
    uint64_t timed, late, late_sum_ns, late_max_ns;
};
/* The counts since the last call (or since the loop was created), and starts anew. */
void loop_wakes_take(struct loop *loop, struct loop_wakes *out);
/*
 * How late the last wait that may have slept woke past the timer it slept for (ns,
 * however little; capped at UINT32_MAX): 0 when it woke in time, ended for I/O or did
 * not sleep for a timer.  It holds from that wake-up until the next such wait, so the
 * timers and the hook of the next iteration see it too: a send they make was held back
 * by that much before brunt could act (engine: http_req_send_lag_own).
 */
uint32_t loop_wake_late_ns(const struct loop *loop);

/*
 * Runs until loop_stop() (from this thread) or loop_wake() after a stop request.
 * Returns 0, or a negative errno if epoll itself failed.
 */
int loop_run(struct loop *loop);
/*
 * Runs one iteration: due timers, the before-poll hook, one poll for I/O waiting at most
 * max_wait_ns (or until the next timer, whichever is sooner; 0 polls without waiting),
 * and the callbacks of the events found.  Returns the number of events dispatched, or a
 * negative errno if epoll failed (EINTR counts as 0 events).  For tests and embedders.
 */
int loop_run_once(struct loop *loop, uint64_t max_wait_ns);
/* Asks loop_run() to return after the current iteration.  Loop thread only. */
void loop_stop(struct loop *loop);
/* Wakes a loop blocked in epoll_wait; any thread.  Pair it with state the loop checks. */
void loop_wake(struct loop *loop);

#endif
