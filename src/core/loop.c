/*
 * loop — epoll event loop with a binary min-heap of embedded timers.
 *
 * Waiting uses epoll_pwait2() with a nanosecond timeout, so an open-model schedule can
 * tick far more often than once a millisecond; kernels without it (ENOSYS) fall back to
 * epoll_wait() with the timeout rounded up to a millisecond.  A wake-up eventfd lets any
 * thread interrupt the wait.  A deferred wait (loop_defer_io) sleeps on a second epoll set
 * that holds only that eventfd, then polls the main set without waiting.
 */
#include "core/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/clock.h"

#define LOOP_MAX_EVENTS 256
#define LOOP_DEFERRED_POLLS 16 /* polls after a deferred sleep, at most (run_once) */

struct loop {
    int epfd;
    struct loop_io wake_io;
    uint64_t now_ns;
    bool stop;
    bool have_pwait2;
    struct loop_timer **heap;
    size_t heap_len;
    size_t heap_cap;
    uint64_t timer_seq; /* next loop_timer.seq */
    loop_hook_cb before_poll;
    void *before_poll_data;
    loop_clock_cb clock;
    void *clock_data;
    /* The batch being dispatched: loop_io_del clears its io's entries after `next`. */
    struct epoll_event *batch;
    int batch_next, batch_len;
    /* loop_defer_io: the quiet set (the wake eventfd only; -1 until first used), this
     * iteration's horizon, registered ios watching LOOP_WRITE, deferred waits */
    int quiet_epfd;
    uint64_t defer_ns;
    size_t n_writers;
    uint64_t deferred;
    struct loop_wakes wakes; /* since the last loop_wakes_take */
    uint64_t wait_due;       /* the timer the last wait slept until (0: none), note_wake */
    uint32_t wake_late;      /* loop_wake_late_ns */
};

static uint64_t default_clock(void *data)
{
    (void)data;
    return clock_now_ns();
}

static void wake_cb(struct loop *loop, struct loop_io *io, unsigned events)
{
    (void)loop;
    (void)events;
    uint64_t n;
    /* The eventfd is non-blocking; a failed read only means nothing was pending. */
    if (read(io->fd, &n, sizeof n) < 0) {
        return;
    }
}

int loop_new(struct loop **out)
{
    int err;
    struct loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL) {
        return -ENOMEM;
    }
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        err = -errno;
        goto fail_free;
    }
    loop->wake_io.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->wake_io.fd < 0) {
        err = -errno;
        goto fail_epoll;
    }
    loop->wake_io.cb = wake_cb;
    err = loop_io_set(loop, &loop->wake_io, LOOP_READ);
    if (err < 0) {
        goto fail_eventfd;
    }
    loop->have_pwait2 = true;
    loop->quiet_epfd = -1;
    loop->clock = default_clock;
    loop->now_ns = clock_now_ns();
    *out = loop;
    return 0;

fail_eventfd:
    close(loop->wake_io.fd);
fail_epoll:
    close(loop->epfd);
fail_free:
    free(loop);
    return err;
}

void loop_free(struct loop *loop)
{
    if (loop == NULL) {
        return;
    }
    if (loop->quiet_epfd >= 0) {
        close(loop->quiet_epfd);
    }
    close(loop->wake_io.fd);
    close(loop->epfd);
    free(loop->heap);
    free(loop);
}

int loop_io_set(struct loop *loop, struct loop_io *io, unsigned events)
{
    struct epoll_event ev = {0};
    if (events & LOOP_READ) {
        ev.events |= EPOLLIN | EPOLLRDHUP;
    }
    if (events & LOOP_WRITE) {
        ev.events |= EPOLLOUT;
    }
    ev.data.ptr = io;
    if (io->registered && io->events == events) {
        return 0;
    }
    int op = io->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(loop->epfd, op, io->fd, &ev) < 0) {
        return -errno;
    }
    if (io->registered && (io->events & LOOP_WRITE)) {
        loop->n_writers--;
    }
    if (events & LOOP_WRITE) {
        loop->n_writers++;
    }
    io->registered = true;
    io->events = events;
    return 0;
}

void loop_io_del(struct loop *loop, struct loop_io *io)
{
    if (!io->registered) {
        return;
    }
    /* Failure means the fd is already gone from the set; nothing more to undo. */
    (void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    if (io->events & LOOP_WRITE) {
        loop->n_writers--;
    }
    io->registered = false;
    io->events = 0;
    /* Events of this io still pending in the batch being dispatched are dropped. */
    for (int i = loop->batch_next; i < loop->batch_len; i++) {
        if (loop->batch[i].data.ptr == io) {
            loop->batch[i].data.ptr = NULL;
        }
    }
}

/* --- timers: a binary min-heap on (when_ns, seq); heap_index is position + 1. --- */

static inline bool timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
    return a->when_ns < b->when_ns || (a->when_ns == b->when_ns && a->seq < b->seq);
}

static void heap_swap(struct loop *loop, size_t a, size_t b)
{
    struct loop_timer *t = loop->heap[a];
    loop->heap[a] = loop->heap[b];
    loop->heap[b] = t;
    loop->heap[a]->heap_index = a + 1;
    loop->heap[b]->heap_index = b + 1;
}

static void heap_up(struct loop *loop, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(loop->heap[i], loop->heap[parent])) {
            break;
        }
        heap_swap(loop, i, parent);
        i = parent;
    }
}

static void heap_down(struct loop *loop, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < loop->heap_len && timer_before(loop->heap[l], loop->heap[m])) {
            m = l;
        }
        if (r < loop->heap_len && timer_before(loop->heap[r], loop->heap[m])) {
            m = r;
        }
        if (m == i) {
            break;
        }
        heap_swap(loop, i, m);
        i = m;
    }
}

void loop_timer_stop(struct loop *loop, struct loop_timer *timer)
{
    if (timer->heap_index == 0) {
        return;
    }
    size_t i = timer->heap_index - 1;
    size_t last = loop->heap_len - 1;
    if (i != last) {
        heap_swap(loop, i, last);
    }
    loop->heap_len--;
    timer->heap_index = 0;
    if (i < loop->heap_len) {
        heap_up(loop, i);
        heap_down(loop, i);
    }
}

void loop_timer_start(struct loop *loop, struct loop_timer *timer, uint64_t when_ns)
{
    timer->seq = loop->timer_seq++;
    if (timer->heap_index != 0) {
        size_t i = timer->heap_index - 1;
        timer->when_ns = when_ns;
        heap_up(loop, i);
        heap_down(loop, timer->heap_index - 1);
        return;
    }
    if (loop->heap_len == loop->heap_cap) {
        size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
        struct loop_timer **heap = realloc(loop->heap, cap * sizeof *heap);
        if (heap == NULL) {
            abort(); /* timers are bounded by the owners that embed them */
        }
        loop->heap = heap;
        loop->heap_cap = cap;
    }
    timer->when_ns = when_ns;
    loop->heap[loop->heap_len] = timer;
    timer->heap_index = ++loop->heap_len;
    heap_up(loop, loop->heap_len - 1);
}

uint64_t loop_now_ns(const struct loop *loop)
{
    return loop->now_ns;
}

uint64_t loop_update_now(struct loop *loop)
{
    loop->now_ns = loop->clock(loop->clock_data);
    return loop->now_ns;
}

uint64_t loop_clock_ns(const struct loop *loop)
{
    return loop->clock(loop->clock_data);
}

void loop_set_clock(struct loop *loop, loop_clock_cb cb, void *data)
{
    loop->clock = cb != NULL ? cb : default_clock;
    loop->clock_data = cb != NULL ? data : NULL;
    loop->now_ns = loop->clock(loop->clock_data);
}

void loop_set_before_poll(struct loop *loop, loop_hook_cb cb, void *data)
{
    loop->before_poll = cb;
    loop->before_poll_data = data;
}

void loop_defer_io(struct loop *loop, uint64_t horizon_ns)
{
    if (loop->quiet_epfd < 0 && loop->have_pwait2) {
        int fd = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        if (fd >= 0 && epoll_ctl(fd, EPOLL_CTL_ADD, loop->wake_io.fd, &ev) < 0) {
            close(fd);
            fd = -1;
        }
        if (fd < 0) {
            loop->have_pwait2 = false; /* no quiet set: never defer */
            return;
        }
        loop->quiet_epfd = fd;
    }
    loop->defer_ns = horizon_ns;
}

uint64_t loop_deferred_waits(const struct loop *loop)
{
    return loop->deferred;
}

uint32_t loop_wake_late_ns(const struct loop *loop)
{
    return loop->wake_late;
}

void loop_wakes_take(struct loop *loop, struct loop_wakes *out)
{
    *out = loop->wakes;
    memset(&loop->wakes, 0, sizeof loop->wakes);
}

/* After a wait that slept until a timer due at due_ns: how late it woke. */
static void note_wake(struct loop *loop, uint64_t due_ns)
{
    uint64_t past = loop->now_ns > due_ns ? loop->now_ns - due_ns : 0;
    loop->wake_late = past > UINT32_MAX ? UINT32_MAX : (uint32_t)past;
    loop->wakes.timed++;
    if (loop->now_ns >= due_ns + LOOP_LATE_NS) {
        uint64_t late = loop->now_ns - due_ns;
        loop->wakes.late++;
        loop->wakes.late_sum_ns += late;
        if (late > loop->wakes.late_max_ns) {
            loop->wakes.late_max_ns = late;
        }
    }
}

void loop_stop(struct loop *loop)
{
    loop->stop = true;
}

void loop_wake(struct loop *loop)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is already non-zero: the loop will wake anyway. */
    if (write(loop->wake_io.fd, &one, sizeof one) < 0) {
        return;
    }
}

/*
 * Fires the timers due now, in (when, start order).  Only those started before this call:
 * one a callback starts for a time already due waits for the next iteration, so the
 * iteration always ends (a zero-delay timer re-armed from its own callback at the cached
 * time would otherwise keep this loop going for ever).
 */
static void run_timers(struct loop *loop)
{
    uint64_t mark = loop->timer_seq;
    while (loop->heap_len > 0 && loop->heap[0]->when_ns <= loop->now_ns &&
           loop->heap[0]->seq < mark) {
        struct loop_timer *t = loop->heap[0];
        loop_timer_stop(loop, t);
        t->cb(loop, t);
    }
}

/*
 * The time left until the next timer, from the clock itself: the cached time is the
 * iteration's start, and a wait timed from it would end early by the iteration's own
 * work, to find the timer not yet due and sleep again (a second wake-up per timer).
 */
static uint64_t until_next_timer(struct loop *loop)
{
    uint64_t when = loop->heap[0]->when_ns;
    if (when <= loop->now_ns) {
        return 0;
    }
    uint64_t now = loop->clock(loop->clock_data);
    return when > now ? when - now : 0;
}

static int wait_events(struct loop *loop, struct epoll_event *events, int64_t max_wait_ns)
{
    int64_t timeout_ns = max_wait_ns;
    if (loop->heap_len > 0 && max_wait_ns != 0) {
        uint64_t left = until_next_timer(loop);
        int64_t t = left > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)left;
        if (timeout_ns < 0 || t <= timeout_ns) {
            timeout_ns = t;
            /* Sleeping until the timer (not due yet by the clock itself): its wake-up
             * counts for punctuality.  epoll_wait's whole milliseconds would not. */
            if (t > 0 && loop->have_pwait2) {
                loop->wait_due = loop->heap[0]->when_ns;
            }
        }
    }
    if (loop->have_pwait2) {
        struct timespec ts, *tsp = NULL;
        if (timeout_ns >= 0) {
            ts.tv_sec = timeout_ns / (int64_t)NS_PER_S;
            ts.tv_nsec = timeout_ns % (int64_t)NS_PER_S;
            tsp = &ts;
        }
        int n = epoll_pwait2(loop->epfd, events, LOOP_MAX_EVENTS, tsp, NULL);
        if (n >= 0 || errno != ENOSYS) {
            return n;
        }
        loop->have_pwait2 = false;
        loop->wait_due = 0;
    }
    int timeout_ms = timeout_ns < 0 ? -1 : (int)((timeout_ns + NS_PER_MS - 1) / NS_PER_MS);
    return epoll_wait(loop->epfd, events, LOOP_MAX_EVENTS, timeout_ms);
}

/*
 * The deferred wait of this iteration, when loop_defer_io asked for one and it applies:
 * sleeps until the next timer on the quiet set.  True when it slept (the caller then
 * polls the main set without waiting).
 */
static bool defer_wait(struct loop *loop, int64_t max_wait_ns)
{
    uint64_t horizon = loop->defer_ns;
    loop->defer_ns = 0;
    if (horizon == 0 || max_wait_ns == 0 || loop->n_writers > 0 || loop->heap_len == 0 ||
        loop->quiet_epfd < 0 || !loop->have_pwait2) {
        return false;
    }
    uint64_t t = until_next_timer(loop);
    if (t == 0 || t > horizon || (max_wait_ns > 0 && t > (uint64_t)max_wait_ns)) {
        return false;
    }
    struct timespec ts = {.tv_sec = (time_t)(t / NS_PER_S), .tv_nsec = (long)(t % NS_PER_S)};
    struct epoll_event ev;
    /* Woken early (loop_wake) or interrupted: the main poll below sees to it. */
    if (epoll_pwait2(loop->quiet_epfd, &ev, 1, &ts, NULL) < 0 && errno == ENOSYS) {
        loop->have_pwait2 = false; /* an ordinary wait instead, from now on */
        return false;
    }
    loop->wait_due = loop->heap[0]->when_ns;
    loop->deferred++;
    return true;
}

/* One poll (waiting at most max_wait_ns, as wait_events) and the callbacks of what it
 * found: the number of events, or a negative errno (EINTR counts as 0 events).  A wait
 * that slept until a timer (here or in defer_wait) has its wake-up noted first. */
static int dispatch(struct loop *loop, struct epoll_event *events, int64_t max_wait_ns)
{
    int n = wait_events(loop, events, max_wait_ns);
    int err = n < 0 ? errno : 0;
    loop_update_now(loop);
    if (loop->wait_due != 0) {
        note_wake(loop, loop->wait_due);
        loop->wait_due = 0;
    } else if (max_wait_ns != 0) {
        loop->wake_late = 0; /* a wait that did not sleep for a timer */
    }
    if (n < 0) {
        return err == EINTR ? 0 : -err;
    }
    loop->batch = events;
    loop->batch_len = n;
    for (int i = 0; i < n; i++) {
        loop->batch_next = i + 1;
        struct loop_io *io = events[i].data.ptr;
        if (io == NULL) {
            continue; /* removed earlier in this batch */
        }
        unsigned ev = 0;
        if (events[i].events & (EPOLLIN | EPOLLRDHUP)) {
            ev |= LOOP_READ;
        }
        if (events[i].events & EPOLLOUT) {
            ev |= LOOP_WRITE;
        }
        if (events[i].events & (EPOLLERR | EPOLLHUP)) {
            ev |= LOOP_ERROR;
        }
        io->cb(loop, io, ev);
    }
    loop->batch = NULL;
    loop->batch_next = loop->batch_len = 0;
    return n;
}

/* One iteration; max_wait_ns < 0 waits for the next timer or event. */
static int run_once(struct loop *loop, int64_t max_wait_ns)
{
    struct epoll_event events[LOOP_MAX_EVENTS];
    loop_update_now(loop);
    run_timers(loop);
    if (loop->stop) {
        return 0;
    }
    if (loop->before_poll != NULL) {
        loop->before_poll(loop, loop->before_poll_data);
    }
    if (loop->stop) {
        loop->defer_ns = 0; /* a deferral asked for this wait ends with it */
        return 0;           /* the hook stopped the loop: do not wait for the next timer first */
    }
    /* A timer became due while the timers or the hook ran: poll without waiting. */
    if (loop->heap_len > 0 && loop->heap[0]->when_ns <= loop->now_ns) {
        max_wait_ns = 0;
    }
    bool deferred = defer_wait(loop, max_wait_ns);
    if (deferred) {
        max_wait_ns = 0;
    }
    int total = 0;
    for (int round = 1;; round++) {
        int n = dispatch(loop, events, max_wait_ns);
        if (n < 0) {
            return n;
        }
        total += n;
        /* After a deferred sleep more than a batch may be ready: read them all before
         * the timers run (a timeout must not fire for an answer that came in time), in a
         * bounded number of polls (descriptors that stay ready cannot hold the loop). */
        if (!deferred || n < LOOP_MAX_EVENTS || round == LOOP_DEFERRED_POLLS) {
            return total;
        }
    }
}

int loop_run_once(struct loop *loop, uint64_t max_wait_ns)
{
    loop->stop = false;
    return run_once(loop, max_wait_ns > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)max_wait_ns);
}

int loop_run(struct loop *loop)
{
    loop->stop = false;
    while (!loop->stop) {
        int rc = run_once(loop, -1);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}
