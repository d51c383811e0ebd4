/*
 * listener — `brunt serve`'s threads and its listening socket, and the public API
 * (server.h).  Every server thread runs its own loop (core/loop.h) and registers the one
 * shared, non-blocking listening socket.  The thread that accepts a connection deals it
 * out in turn (connection k to thread k mod N) and hands it over through the owner's
 * handoff queue (an eventfd); the owner keeps it for its whole life, so nothing on the
 * request path is shared except the auction store (a mutex per auction).  Dealing
 * matters because one wake-up accepts a whole burst: a load generator's connections,
 * opened together, would otherwise all land on one thread.  A thread stops when its stop
 * eventfd is written; out of descriptors, accepting pauses briefly instead of spinning.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/json.h"
#include "core/rng.h"
#include "server/server_internal.h"

/* ---- the worker ------------------------------------------------------------------- */

static void accept_resume_cb(struct loop *loop, struct loop_timer *timer)
{
    struct server_thread *w = timer->data;
    (void)loop_io_set(loop, &w->listen_io, LOOP_READ);
}

/* A connection this thread owns from now on; false when out of memory (then closed). */
static bool adopt(struct server_thread *w, int fd)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn *c = server__conn_new(w, fd);
    if (c == NULL) {
        atomic_fetch_sub(&w->t->open_conns, 1);
        close(fd);
        return false;
    }
    if (loop_io_set(w->loop, &c->io, LOOP_READ) < 0) {
        server__conn_destroy(c);
        return false;
    }
    cnt_add(&w->cnt, C_CONN_OWNED, 1);
    return true;
}

/* Queues fd for thread o; false when its queue cannot grow (the caller keeps fd). */
static bool hand_over(struct server_thread *o, int fd)
{
    pthread_mutex_lock(&o->handoff_lock);
    bool ok = true;
    if (o->handoff_n == o->handoff_cap) {
        size_t cap = o->handoff_cap ? o->handoff_cap * 2 : 16;
        int *a = realloc(o->handoff, cap * sizeof *a);
        if (a == NULL) {
            ok = false;
        } else {
            o->handoff = a;
            o->handoff_cap = cap;
        }
    }
    if (ok) {
        o->handoff[o->handoff_n++] = fd;
    }
    pthread_mutex_unlock(&o->handoff_lock);
    if (ok) {
        uint64_t one = 1;
        if (write(o->handoff_io.fd, &one, sizeof one) < 0) {
            /* the counter is already non-zero: the owner wakes anyway */
        }
    }
    return ok;
}

static void handoff_cb(struct loop *loop, struct loop_io *io, unsigned events)
{
    (void)loop;
    (void)events;
    struct server_thread *w = io->data;
    uint64_t n;
    if (read(io->fd, &n, sizeof n) < 0) {
        /* nothing new: a wake-up for connections taken already */
    }
    pthread_mutex_lock(&w->handoff_lock);
    int *a = w->handoff;
    size_t na = w->handoff_n;
    w->handoff = NULL;
    w->handoff_n = w->handoff_cap = 0;
    pthread_mutex_unlock(&w->handoff_lock);
    for (size_t i = 0; i < na; i++) {
        (void)adopt(w, a[i]);
    }
    free(a);
}

static void listen_cb(struct loop *loop, struct loop_io *io, unsigned events)
{
    (void)events;
    struct server_thread *w = io->data;
    struct server *t = w->t;
    for (int i = 0; i < SRV_ACCEPT_BATCH; i++) {
        int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) {
                continue;
            }
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors: pause accepting briefly instead of spinning. */
                (void)loop_io_set(loop, io, 0);
                loop_timer_start(loop, &w->accept_timer, loop_now_ns(loop) + 50 * NS_PER_MS);
            }
            return;
        }
        cnt_add(&w->cnt, C_CONN_ACCEPTED, 1);
        if (atomic_fetch_add(&t->open_conns, 1) >= t->o.max_conns) {
            atomic_fetch_sub(&t->open_conns, 1);
            cnt_add(&w->cnt, C_CONN_REJECTED, 1);
            close(fd);
            continue;
        }
        int owner = t->n_threads > 1
                        ? (int)(atomic_fetch_add(&t->next_owner, 1) % (unsigned)t->n_threads)
                        : w->index;
        if (owner == w->index || !hand_over(&t->threads[owner], fd)) {
            (void)adopt(w, fd);
        }
    }
}

static void stop_cb(struct loop *loop, struct loop_io *io, unsigned events)
{
    (void)events;
    uint64_t n;
    if (read(io->fd, &n, sizeof n) < 0) {
        /* nothing pending; the stop is still requested */
    }
    loop_stop(loop);
}

static void *thread_main(void *arg)
{
    struct server_thread *w = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    (void)loop_run(w->loop);
    while (w->conns != NULL) {
        server__conn_destroy(w->conns);
    }
    return NULL;
}

/* ---- public API ------------------------------------------------------------------- */

void server_options_default(struct server_options *o)
{
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 0;
    o->threads = 1;
    o->max_conns = 65536;
}

static bool rate_ok(double r)
{
    return r >= 0.0 && r <= 1.0; /* also false for NaN */
}

static int check_options(const struct server_options *o)
{
    if (o->threads < 1 || o->threads > SRV_MAX_THREADS || o->max_conns < 1 ||
        !rate_ok(o->error_rate) || !rate_ok(o->reset_rate) || !rate_ok(o->malformed_rate) ||
        o->error_rate + o->reset_rate + o->malformed_rate > 1.0 + 1e-9) {
        return -EINVAL;
    }
    if (o->stall_every_ns > 0 && o->stall_for_ns >= o->stall_every_ns) {
        return -EINVAL;
    }
    if (o->delay_ns > INT64_MAX / 2 || o->delay_max_ns > INT64_MAX / 2) {
        return -EINVAL;
    }
    if ((o->tls_cert != NULL) != (o->tls_key != NULL)) {
        return -EINVAL;
    }
    if ((o->service_slots > 0) != (o->service_time_ns > 0) || o->service_slots > SERVER_MAX_SLOTS ||
        o->service_time_ns > INT64_MAX / 4 || o->burn_cpu_ns > SERVER_MAX_BURN_NS) {
        return -EINVAL;
    }
    return 0;
}

static int open_listener(const struct server_options *o, int *fd_out, uint16_t *port_out)
{
    struct addrinfo hints = {0}, *ai = NULL;
    char port[8];
    const char *host = o->host ? o->host : "127.0.0.1";
    int fd = -1, err;
    if (strcmp(host, "localhost") == 0) {
        host = "127.0.0.1";
    }
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    snprintf(port, sizeof port, "%u", (unsigned)o->port);
    if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL) {
        return -EINVAL;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err = -errno;
        goto fail;
    }
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
        err = -errno;
        goto fail;
    }
    if (ai->ai_family == AF_INET6) {
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 65535) < 0) {
        err = -errno;
        goto fail;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
        err = -errno;
        goto fail;
    }
    *port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    freeaddrinfo(ai);
    *fd_out = fd;
    return 0;

fail:
    if (fd >= 0) {
        close(fd);
    }
    freeaddrinfo(ai);
    return err;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl); /* best effort: the limit stays as it was */
    }
}

static int thread_init(struct server *t, struct server_thread *w, int index)
{
    int err;
    w->t = t;
    w->index = index;
    uint64_t s = t->o.seed + 0x632be59bd9b4e019ULL * (uint64_t)(index + 1);
    w->rng = rng_next(&s) | 1;
    w->in_scratch = malloc(SRV_READ_CHUNK);
    w->out_scratch = malloc(SRV_OUT_SCRATCH);
    if (w->in_scratch == NULL || w->out_scratch == NULL) {
        return -ENOMEM;
    }
    err = loop_new(&w->loop);
    if (err < 0) {
        return err;
    }
    w->stop_io.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->stop_io.fd < 0) {
        return -errno;
    }
    w->stop_io.cb = stop_cb;
    w->stop_io.data = w;
    err = loop_io_set(w->loop, &w->stop_io, LOOP_READ);
    if (err < 0) {
        return err;
    }
    w->listen_io.fd = t->listen_fd;
    w->listen_io.cb = listen_cb;
    w->listen_io.data = w;
    err = loop_io_set(w->loop, &w->listen_io, LOOP_READ);
    if (err < 0) {
        return err;
    }
    if (t->n_threads > 1) {
        pthread_mutex_init(&w->handoff_lock, NULL);
        w->handoff_lock_init = true;
        w->handoff_io.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (w->handoff_io.fd < 0) {
            return -errno;
        }
        w->handoff_io.cb = handoff_cb;
        w->handoff_io.data = w;
        err = loop_io_set(w->loop, &w->handoff_io, LOOP_READ);
        if (err < 0) {
            return err;
        }
    }
    err = server__ws_thread_init(w);
    if (err < 0) {
        return err;
    }
    w->accept_timer.cb = accept_resume_cb;
    w->accept_timer.data = w;
    w->stall_timer.cb = server__stall_cb;
    w->stall_timer.data = w;
    if (t->o.stall_every_ns > 0 && t->o.stall_for_ns > 0) {
        w->stall_k = 1;
        loop_timer_start(w->loop, &w->stall_timer, t->start_ns + t->o.stall_every_ns);
    }
    return 0;
}

static void thread_destroy(struct server_thread *w)
{
    server__ws_thread_destroy(w);
    if (w->loop != NULL) {
        loop_io_del(w->loop, &w->listen_io);
        loop_io_del(w->loop, &w->stop_io);
        if (w->handoff_io.fd >= 0) {
            loop_io_del(w->loop, &w->handoff_io);
        }
    }
    if (w->handoff_io.fd >= 0) {
        close(w->handoff_io.fd);
    }
    free(w->handoff); /* empty: server_stop closed what was left */
    if (w->handoff_lock_init) {
        pthread_mutex_destroy(&w->handoff_lock);
    }
    if (w->stop_io.fd >= 0) {
        close(w->stop_io.fd);
    }
    loop_free(w->loop);
    free(w->in_scratch);
    free(w->out_scratch);
    free(w->body.p);
    for (size_t i = 0; i < w->leak_nblocks; i++) {
        free(w->leak_blocks[i]);
    }
    free(w->leak_blocks);
}

/* Copies a start failure's line to o->error, when the caller gave one. */
static void error_out(const struct server_options *o, const char *line)
{
    if (o->error != NULL && o->error_len > 0) {
        snprintf(o->error, o->error_len, "%s", line);
    }
}

int server_start(const struct server_options *o, struct server **out)
{
    int err = check_options(o);
    if (err < 0) {
        return err;
    }
    server__pattern_init();
    raise_nofile();
    struct server *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return -ENOMEM;
    }
    t->o = *o;
    t->listen_fd = -1;
    pthread_mutex_init(&t->stats_lock, NULL);
    if (server__service_init(t) < 0) {
        server__service_destroy(t);
        pthread_mutex_destroy(&t->stats_lock);
        free(t);
        return -ENOMEM;
    }
    uint64_t s = o->seed ^ 0x5eed5eed5eed5eedULL;
    t->secret = rng_next(&s);
    err = auction_store_new(&t->auctions);
    if (err < 0) {
        goto fail;
    }
    {
        char tlserr[512] = "";
        err = server__tls_init(t, tlserr, sizeof tlserr);
        if (err < 0) {
            error_out(o, tlserr);
            goto fail;
        }
    }
    if (o->pg_dsn != NULL) {
        char dberr[512] = "";
        err = server__db_start(t, dberr, sizeof dberr);
        if (err < 0) {
            error_out(o, dberr);
            goto fail;
        }
    }
    err = open_listener(o, &t->listen_fd, &t->port);
    if (err < 0) {
        goto fail;
    }
    t->start_ns = clock_now_ns();
    t->threads = calloc((size_t)o->threads, sizeof *t->threads);
    if (t->threads == NULL) {
        err = -ENOMEM;
        goto fail;
    }
    t->n_threads = o->threads;
    for (int i = 0; i < o->threads; i++) {
        t->threads[i].stop_io.fd = -1;
        t->threads[i].inbox_io.fd = -1;
        t->threads[i].handoff_io.fd = -1;
    }
    for (int i = 0; i < o->threads; i++) {
        err = thread_init(t, &t->threads[i], i);
        if (err < 0) {
            goto fail;
        }
    }
    for (int i = 0; i < o->threads; i++) {
        int e = pthread_create(&t->threads[i].thread, NULL, thread_main, &t->threads[i]);
        if (e != 0) {
            err = -e;
            goto fail;
        }
        t->threads[i].thread_started = true;
    }
    *out = t;
    return 0;

fail:
    server_free(t);
    return err;
}

uint16_t server_port(const struct server *t)
{
    return t->port;
}

void server_stop(struct server *t)
{
    if (t == NULL || t->stopped) {
        return;
    }
    t->stopped = true;
    for (int i = 0; i < t->n_threads; i++) {
        struct server_thread *w = &t->threads[i];
        if (w->thread_started) {
            uint64_t one = 1;
            if (write(w->stop_io.fd, &one, sizeof one) < 0) {
                /* the counter is already non-zero: the thread will stop anyway */
            }
        }
    }
    for (int i = 0; i < t->n_threads; i++) {
        struct server_thread *w = &t->threads[i];
        if (w->thread_started) {
            pthread_join(w->thread, NULL);
            w->thread_started = false;
        }
    }
    /* Connections handed to a thread that had stopped already: closed now, not at free. */
    for (int i = 0; i < t->n_threads; i++) {
        struct server_thread *w = &t->threads[i];
        if (!w->handoff_lock_init) {
            continue;
        }
        pthread_mutex_lock(&w->handoff_lock);
        for (size_t k = 0; k < w->handoff_n; k++) {
            close(w->handoff[k]);
            atomic_fetch_sub(&t->open_conns, 1);
        }
        w->handoff_n = 0;
        pthread_mutex_unlock(&w->handoff_lock);
    }
    if (t->listen_fd >= 0) {
        for (int i = 0; i < t->n_threads; i++) {
            if (t->threads[i].loop != NULL) {
                loop_io_del(t->threads[i].loop, &t->threads[i].listen_io);
            }
        }
        close(t->listen_fd);
        t->listen_fd = -1;
    }
}

void server_free(struct server *t)
{
    if (t == NULL) {
        return;
    }
    server_stop(t);
    for (int i = 0; i < t->n_threads; i++) {
        thread_destroy(&t->threads[i]);
    }
    free(t->threads);
    auction_store_free(t->auctions);
    server__db_free(t);
    pthread_mutex_destroy(&t->stats_lock);
    server__service_destroy(t);
    server__tls_destroy(t);
    free(t);
}
