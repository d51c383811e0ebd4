/*
 * probe — the probe set: the probes of one run, the one thread that samples them once
 * per interval, and the feed through which the engine's coordinator merges each
 * interval's registry into the run (probe.h has the contract).
 *
 * The thread sleeps on a condition variable bound to CLOCK_MONOTONIC until the next
 * interval boundary (start + k * interval), calls every probe's sample() into a registry
 * taken from a small pool, and queues it.  The coordinator takes queued registries when
 * it wakes (at most a few times a second) and gives them back reset.  The mutex guards
 * only the queue, the pool and the state flags; sample() runs without it.
 *
 * What it leaves out: it never prints, and it knows nothing of what the probes measure.
 */
#include "probe/probe.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "engine/run.h"
#include "metrics/threshold.h"
#include "probe/machine.h"
#include "probe/proc.h"

#define QUEUE_MAX 64 /* intervals waiting for the coordinator (a minute at 1 s) */
#define END_WAIT_NS (2 * NS_PER_S)

struct slot {
    struct probe p;
    bool required;
    bool started;
};

struct queued {
    struct registry *reg;
    uint32_t second;
};

struct probe_set {
    struct slot probes[PROBE_SET_MAX];
    size_t n;
    uint64_t interval_ns;
    char warnings[PROBE_SET_MAX][256];
    size_t n_warnings;

    pthread_t thread;
    bool thread_running;
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* CLOCK_MONOTONIC: wakes the thread (begin, end, stop) */
    pthread_cond_t done_cv; /* the thread finished its final interval */
    /* under mu */
    uint64_t start_ns; /* the load's start; 0 until begin() */
    uint64_t end_ns;   /* the load's end; 0 until end() */
    bool quit, final_done, stopped;
    struct queued queue[QUEUE_MAX];
    size_t q_head, q_len;
    struct registry *pool[QUEUE_MAX];
    size_t n_pool;
    _Atomic uint64_t samples;
};

struct probe_set *probe_set_new(uint64_t interval_ns)
{
    struct probe_set *set = calloc(1, sizeof *set);
    if (set == NULL) {
        return NULL;
    }
    if (interval_ns < PROBE_INTERVAL_MIN_NS) {
        interval_ns = PROBE_INTERVAL_MIN_NS;
    }
    if (interval_ns > PROBE_INTERVAL_MAX_NS) {
        interval_ns = PROBE_INTERVAL_MAX_NS;
    }
    set->interval_ns = interval_ns;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&set->mu, NULL);
    pthread_cond_init(&set->cv, &ca);
    pthread_cond_init(&set->done_cv, &ca);
    pthread_condattr_destroy(&ca);
    return set;
}

int probe_set_add(struct probe_set *set, struct probe p, bool required)
{
    int rc = 0;
    if (set->thread_running || set->stopped) {
        rc = -EBUSY;
    } else if (set->n >= PROBE_SET_MAX) {
        rc = -ENOSPC;
    }
    if (rc < 0) {
        p.ops->free(p.self);
        return rc;
    }
    set->probes[set->n++] = (struct slot){.p = p, .required = required};
    return 0;
}

size_t probe_set_len(const struct probe_set *set)
{
    return set->n;
}

struct probe *probe_set_find(struct probe_set *set, const char *name)
{
    for (size_t i = 0; i < set->n; i++) {
        if (strcmp(set->probes[i].p.ops->name, name) == 0) {
            return &set->probes[i].p;
        }
    }
    return NULL;
}

size_t probe_set_warning_count(const struct probe_set *set)
{
    return set->n_warnings;
}

const char *probe_set_warning(const struct probe_set *set, size_t i)
{
    return i < set->n_warnings ? set->warnings[i] : "";
}

uint64_t probe_set_samples(const struct probe_set *set)
{
    return atomic_load(&((struct probe_set *)set)->samples);
}

static void abs_deadline(struct timespec *ts, uint64_t ns)
{
    ts->tv_sec = (time_t)(ns / NS_PER_S);
    ts->tv_nsec = (long)(ns % NS_PER_S);
}

/* A registry from the pool, or a new one.  Under mu. */
static struct registry *pool_get(struct probe_set *set)
{
    if (set->n_pool > 0) {
        return set->pool[--set->n_pool];
    }
    return registry_new();
}

/* Samples every probe into one registry and queues it as `second`.  Without mu. */
static void sample_all(struct probe_set *set, uint64_t now, uint32_t second)
{
    pthread_mutex_lock(&set->mu);
    struct registry *reg = pool_get(set);
    pthread_mutex_unlock(&set->mu);
    if (reg == NULL) {
        return; /* out of memory: this interval is lost, the next may not be */
    }
    for (size_t i = 0; i < set->n; i++) {
        if (set->probes[i].started && set->probes[i].p.ops->sample != NULL) {
            set->probes[i].p.ops->sample(set->probes[i].p.self, now, reg);
        }
    }
    atomic_fetch_add(&set->samples, 1);
    pthread_mutex_lock(&set->mu);
    if (set->q_len == QUEUE_MAX) {
        /* The coordinator is not taking: fold into the newest rather than lose it. */
        struct queued *last = &set->queue[(set->q_head + set->q_len - 1) % QUEUE_MAX];
        (void)registry_merge(last->reg, reg);
        registry_reset(reg);
        if (set->n_pool < QUEUE_MAX) {
            set->pool[set->n_pool++] = reg;
        } else {
            registry_free(reg);
        }
    } else {
        set->queue[(set->q_head + set->q_len) % QUEUE_MAX] = (struct queued){reg, second};
        set->q_len++;
    }
    pthread_mutex_unlock(&set->mu);
}

static uint32_t second_of(uint64_t start, uint64_t t)
{
    uint64_t rel = t > start ? t - start : 0;
    uint64_t s = (rel + NS_PER_S - 1) / NS_PER_S; /* the second in which t falls, 1-based */
    return s > 0 ? (uint32_t)(s - 1) : 0;
}

static void *probe_thread(void *arg)
{
    struct probe_set *set = arg;
    uint64_t k = 1, last = 0;
    pthread_mutex_lock(&set->mu);
    for (;;) {
        if (set->quit) {
            break;
        }
        if (set->start_ns == 0) {
            pthread_cond_wait(&set->cv, &set->mu);
            continue;
        }
        if (set->end_ns != 0) {
            /* The last, partial interval, unless it is too short to mean anything. */
            uint64_t start = set->start_ns, end = set->end_ns;
            pthread_mutex_unlock(&set->mu);
            if (end > last + set->interval_ns / 10) {
                sample_all(set, clock_now_ns(), second_of(start, end));
            }
            pthread_mutex_lock(&set->mu);
            set->final_done = true;
            pthread_cond_broadcast(&set->done_cv);
            while (!set->quit) {
                pthread_cond_wait(&set->cv, &set->mu);
            }
            break;
        }
        uint64_t deadline = set->start_ns + k * set->interval_ns;
        uint64_t now = clock_now_ns();
        if (now < deadline) {
            struct timespec ts;
            abs_deadline(&ts, deadline);
            (void)pthread_cond_timedwait(&set->cv, &set->mu, &ts);
            continue; /* re-check quit, end and the clock */
        }
        uint64_t start = set->start_ns;
        pthread_mutex_unlock(&set->mu);
        sample_all(set, now, second_of(start, deadline));
        last = deadline;
        /* Skip boundaries missed while asleep or sampling: one sample per wake. */
        now = clock_now_ns();
        k++;
        while (start + k * set->interval_ns <= now) {
            k++;
        }
        pthread_mutex_lock(&set->mu);
    }
    pthread_mutex_unlock(&set->mu);
    return NULL;
}

static void stop_started(struct probe_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        if (set->probes[i].started && set->probes[i].p.ops->stop != NULL) {
            set->probes[i].p.ops->stop(set->probes[i].p.self);
        }
    }
}

int probe_set_start(struct probe_set *set, char *err, size_t err_len)
{
    int rc = 0;
    if (err_len > 0) {
        err[0] = '\0';
    }
    size_t keep = 0;
    for (size_t i = 0; i < set->n; i++) {
        struct slot *s = &set->probes[i];
        char msg[256] = "";
        int r = s->p.ops->start != NULL ? s->p.ops->start(s->p.self, msg, sizeof msg) : 0;
        if (r < 0 && s->required) {
            snprintf(err, err_len, "%s", msg[0] ? msg : "a probe could not start");
            s->started = false;
            set->probes[keep++] = *s;
            for (size_t j = i + 1; j < set->n; j++) {
                set->probes[keep++] = set->probes[j];
            }
            set->n = keep;
            stop_started(set);
            for (size_t j = 0; j < set->n; j++) {
                set->probes[j].started = false;
            }
            rc = r;
            goto out;
        }
        if (r < 0) {
            if (set->n_warnings < PROBE_SET_MAX) {
                snprintf(set->warnings[set->n_warnings++], sizeof set->warnings[0], "%.32s: %.200s",
                         s->p.ops->name, msg[0] ? msg : "could not start");
            }
            s->p.ops->free(s->p.self);
            continue;
        }
        s->started = true;
        set->probes[keep++] = *s;
    }
    set->n = keep;
    if (set->n == 0) {
        goto out; /* nothing to sample: no thread */
    }
    rc = -pthread_create(&set->thread, NULL, probe_thread, set);
    if (rc < 0) {
        snprintf(err, err_len, "cannot start the probe thread: %s", strerror(-rc));
        stop_started(set);
        for (size_t j = 0; j < set->n; j++) {
            set->probes[j].started = false;
        }
        goto out;
    }
    set->thread_running = true;
    /* Named, so its CPU can be told apart in /proc/PID/task (bench/watch.sh). */
    (void)pthread_setname_np(set->thread, "brunt-probe");
out:
    return rc;
}

static void feed_begin(void *data, uint64_t start_ns)
{
    struct probe_set *set = data;
    pthread_mutex_lock(&set->mu);
    set->start_ns = start_ns > 0 ? start_ns : 1;
    pthread_cond_broadcast(&set->cv);
    pthread_mutex_unlock(&set->mu);
}

static struct registry *feed_take(void *data, uint32_t *second)
{
    struct probe_set *set = data;
    struct registry *reg = NULL;
    pthread_mutex_lock(&set->mu);
    if (set->q_len > 0) {
        struct queued *q = &set->queue[set->q_head];
        reg = q->reg;
        *second = q->second;
        set->q_head = (set->q_head + 1) % QUEUE_MAX;
        set->q_len--;
    }
    pthread_mutex_unlock(&set->mu);
    return reg;
}

static void feed_release(void *data, struct registry *reg)
{
    struct probe_set *set = data;
    registry_reset(reg);
    pthread_mutex_lock(&set->mu);
    if (set->n_pool < QUEUE_MAX) {
        set->pool[set->n_pool++] = reg;
        reg = NULL;
    }
    pthread_mutex_unlock(&set->mu);
    registry_free(reg);
}

static void feed_end(void *data, uint64_t end_ns)
{
    struct probe_set *set = data;
    pthread_mutex_lock(&set->mu);
    if (!set->thread_running || set->start_ns == 0) {
        pthread_mutex_unlock(&set->mu);
        return;
    }
    set->end_ns = end_ns > 0 ? end_ns : 1;
    pthread_cond_broadcast(&set->cv);
    struct timespec ts;
    abs_deadline(&ts, clock_now_ns() + END_WAIT_NS);
    while (!set->final_done) {
        if (pthread_cond_timedwait(&set->done_cv, &set->mu, &ts) == ETIMEDOUT) {
            break; /* a probe is stuck: the run ends without its last interval */
        }
    }
    pthread_mutex_unlock(&set->mu);
}

void probe_set_feed(struct probe_set *set, struct run_feed *feed)
{
    *feed = (struct run_feed){
        .begin = feed_begin,
        .take = feed_take,
        .release = feed_release,
        .end = feed_end,
        .data = set,
    };
}

void probe_set_stop(struct probe_set *set)
{
    if (set->stopped) {
        return;
    }
    set->stopped = true;
    if (set->thread_running) {
        pthread_mutex_lock(&set->mu);
        set->quit = true;
        pthread_cond_broadcast(&set->cv);
        pthread_mutex_unlock(&set->mu);
        pthread_join(set->thread, NULL);
        set->thread_running = false;
    }
    stop_started(set);
}

void probe_set_summary(struct probe_set *set, FILE *f, bool color)
{
    for (size_t i = 0; i < set->n; i++) {
        if (set->probes[i].started && set->probes[i].p.ops->summary != NULL) {
            set->probes[i].p.ops->summary(set->probes[i].p.self, f, color);
        }
    }
}

int probe_set_to_json(struct probe_set *set, struct jsonw *w)
{
    int rc = 0;
    jsonw_obj_begin(w);
    for (size_t i = 0; i < set->n && rc == 0; i++) {
        struct slot *s = &set->probes[i];
        if (!s->started || s->p.ops->to_json == NULL) {
            continue;
        }
        jsonw_key(w, s->p.ops->name);
        rc = s->p.ops->to_json(s->p.self, w);
    }
    jsonw_obj_end(w);
    return rc < 0 ? rc : jsonw_error(w);
}

size_t probe_set_findings(struct probe_set *set, struct finding *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < set->n && n < cap; i++) {
        struct slot *s = &set->probes[i];
        if (s->started && s->p.ops->findings != NULL) {
            n += s->p.ops->findings(s->p.self, out + n, cap - n);
        }
    }
    return n;
}

void probe_set_free(struct probe_set *set)
{
    if (set == NULL) {
        return;
    }
    probe_set_stop(set);
    for (size_t i = 0; i < set->n; i++) {
        set->probes[i].p.ops->free(set->probes[i].p.self);
    }
    for (size_t i = 0; i < set->q_len; i++) {
        registry_free(set->queue[(set->q_head + i) % QUEUE_MAX].reg);
    }
    for (size_t i = 0; i < set->n_pool; i++) {
        registry_free(set->pool[i]);
    }
    pthread_cond_destroy(&set->cv);
    pthread_cond_destroy(&set->done_cv);
    pthread_mutex_destroy(&set->mu);
    free(set);
}

int probe_define_metrics(void)
{
    /* The process metrics' tag, for filters such as process_cpu{target:gunicorn}. */
    int rc = threshold_tag_name_add("target");
    if (rc >= 0) {
        rc = proc_define_metrics();
    }
    if (rc >= 0) {
        rc = machine_define_metrics();
    }
    return rc < 0 ? rc : 0;
}

void probe_findings_json(struct jsonw *w, const struct finding *f, size_t n)
{
    static const char *const sev[] = {"info", "warning", "critical"};
    jsonw_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        jsonw_obj_begin(w);
        jsonw_key(w, "severity");
        jsonw_str(w, (unsigned)f[i].severity < 3 ? sev[f[i].severity] : "info");
        jsonw_key(w, "probe");
        jsonw_str(w, f[i].probe);
        jsonw_key(w, "kind");
        jsonw_str(w, f[i].kind);
        jsonw_key(w, "location");
        jsonw_str(w, f[i].location);
        jsonw_key(w, "evidence");
        jsonw_str(w, f[i].evidence);
        jsonw_key(w, "recommendation");
        jsonw_str(w, f[i].recommendation);
        jsonw_key(w, "impact");
        if (f[i].impact >= 0) {
            jsonw_num(w, f[i].impact);
        } else {
            jsonw_null(w);
        }
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
}

void probe_history_push(uint64_t **wall, double **cols, size_t ncols, size_t *n, size_t *cap,
                        size_t max, uint64_t wall_ns, const double *v)
{
    if (*n == *cap) {
        if (*cap >= max) {
            return;
        }
        size_t grown = *cap ? *cap * 2 : 256;
        uint64_t *w = realloc(*wall, grown * sizeof *w);
        if (w == NULL) {
            return;
        }
        *wall = w;
        for (size_t c = 0; c < ncols; c++) {
            double *p = realloc(cols[c], grown * sizeof *p);
            if (p == NULL) {
                return;
            }
            cols[c] = p;
        }
        *cap = grown;
    }
    (*wall)[*n] = wall_ns;
    for (size_t c = 0; c < ncols; c++) {
        cols[c][*n] = v[c];
    }
    (*n)++;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

bool probe_fmt_scaled(double v, const char *unit, char *buf, size_t cap)
{
    if (unit[0] == 'B') {
        const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        int k = 0;
        while (fabs(v) >= 1024 && k < 4) {
            v /= 1024;
            k++;
        }
        if (k == 0) {
            snprintf(buf, cap, "%.0f %s%s", v, u[k], unit + 1);
        } else {
            snprintf(buf, cap, "%.1f %s%s", v, u[k], unit + 1);
        }
        return true;
    }
    if (strcmp(unit, "%") == 0) {
        snprintf(buf, cap, "%.1f%%", v);
        return true;
    }
    return false;
}

void probe_stats_of(const double *v, size_t n, struct probe_stats *out)
{
    memset(out, 0, sizeof *out);
    double *tmp = malloc((n ? n : 1) * sizeof *tmp);
    if (tmp == NULL) {
        return;
    }
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isnan(v[i])) {
            tmp[out->n++] = v[i];
            sum += v[i];
        }
    }
    if (out->n > 0) {
        qsort(tmp, out->n, sizeof *tmp, cmp_double);
        out->min = tmp[0];
        out->max = tmp[out->n - 1];
        out->avg = sum / (double)out->n;
        size_t rank = (size_t)ceil(0.95 * (double)out->n);
        out->p95 = tmp[rank > 0 ? rank - 1 : 0];
    }
    free(tmp);
}

void probe_stats_json(struct jsonw *w, const struct probe_stats *s)
{
    if (s->n == 0) {
        jsonw_null(w);
        return;
    }
    jsonw_obj_begin(w);
    jsonw_key(w, "min");
    jsonw_num(w, s->min);
    jsonw_key(w, "avg");
    jsonw_num(w, s->avg);
    jsonw_key(w, "p95");
    jsonw_num(w, s->p95);
    jsonw_key(w, "max");
    jsonw_num(w, s->max);
    jsonw_obj_end(w);
}
