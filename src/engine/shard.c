/*
 * shard — the once-a-second hand-over of a worker's samples to the coordinator: the
 * worker publishes its registry as a shard and continues with a fresh one of the same
 * layout (taken from the free list the coordinator returns merged shards to).  The only
 * code of a worker that takes a lock: the worker's mutex, held for a few pointer moves.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/clock.h"
#include "engine/worker_internal.h"

struct shard *shard_new(void)
{
    struct shard *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return NULL;
    }
    s->reg = registry_new();
    if (s->reg == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

void shard_free(struct shard *s)
{
    if (s != NULL) {
        registry_free(s->reg);
        free(s);
    }
}

/*
 * The worker thread's time runnable but waiting for a CPU, in ns (the second field of
 * schedstat): with its CPU time, how much CPU it wanted.  A worker that neighbours keep
 * off its core is short of CPU too, though its own CPU time stays low.  0 without it.
 */
uint64_t worker_wait_ns(struct worker *w)
{
    char buf[96];
    unsigned long long run, wait;
    if (w->schedstat_fd < 0) {
        return 0;
    }
    ssize_t n = pread(w->schedstat_fd, buf, sizeof buf - 1, 0);
    if (n <= 0) {
        return 0;
    }
    buf[n] = '\0';
    return sscanf(buf, "%llu %llu", &run, &wait) == 2 ? (uint64_t)wait : 0;
}

void worker_publish(struct worker *w, bool final)
{
    struct shard *next = NULL;
    reqm_fold_zeros(w); /* the second's zero samples belong to this shard */
    if (!final) {
        pthread_mutex_lock(&w->lock);
        next = w->free_list;
        if (next != NULL) {
            w->free_list = next->next;
        }
        pthread_mutex_unlock(&w->lock);
        if (next == NULL && (next = shard_new()) == NULL) {
            abort();
        }
        next->next = NULL;
        next->final = false;
        if (registry_sync_layout(next->reg, w->cur->reg) < 0) {
            abort();
        }
    }
    struct shard *s = w->cur;
    uint64_t cpu = clock_thread_cpu_ns();
    s->cpu_ns = cpu - w->cpu_mark;
    w->cpu_mark = cpu;
    uint64_t wait = worker_wait_ns(w);
    s->wait_ns = wait > w->wait_mark ? wait - w->wait_mark : 0;
    w->wait_mark = wait;
    loop_wakes_take(w->loop, &s->wakes);
    uint64_t now = clock_now_ns();
    s->span_ns = now > w->span_mark ? now - w->span_mark : 0;
    w->span_mark = now;
    s->interval = w->interval;
    s->final = final;
    s->vus = s->vus_max = 0;
    s->started = 0;
    for (size_t i = 0; i < w->n_scens; i++) {
        struct scen_rt *sr = &w->scens[i];
        s->vus += sr->ex->vus_now(sr);
        s->vus_max += sr->ex->vus_max(sr);
        s->started += sr->started_iters;
        sr->started_iters = 0;
    }
    s->next = NULL;
    pthread_mutex_lock(&w->lock);
    if (w->ready_tail != NULL) {
        w->ready_tail->next = s;
    } else {
        w->ready_head = s;
    }
    w->ready_tail = s;
    if (final) {
        w->finished = true;
    }
    pthread_mutex_unlock(&w->lock);
    w->cur = next;
    w->series_gen++; /* series pointers now point into the published shard */
    uint64_t one = 1;
    if (write(w->eng->notify_fd, &one, sizeof one) < 0) {
        /* The coordinator wakes once a second anyway. */
    }
}

int worker_take_shards(struct worker *w, struct shard **out)
{
    pthread_mutex_lock(&w->lock);
    struct shard *s = w->ready_head;
    w->ready_head = w->ready_tail = NULL;
    pthread_mutex_unlock(&w->lock);
    *out = s;
    int n = 0;
    for (; s != NULL; s = s->next) {
        n++;
    }
    return n;
}

void worker_return_shard(struct worker *w, struct shard *s)
{
    registry_reset(s->reg);
    pthread_mutex_lock(&w->lock);
    s->next = w->free_list;
    w->free_list = s;
    pthread_mutex_unlock(&w->lock);
}

bool worker_finished(struct worker *w)
{
    pthread_mutex_lock(&w->lock);
    bool f = w->finished;
    pthread_mutex_unlock(&w->lock);
    return f;
}
