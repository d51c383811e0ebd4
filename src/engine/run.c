/*
 * run — the coordinator: starts the workers, merges their shards once a second into
 * the run totals and the one-second time series, evaluates thresholds (aborting on an
 * abortOnFail failure), reports progress, and turns SIGINT into a graceful then an
 * immediate stop.
 *
 * A time-series row for second k is final once every worker has handed over its shard
 * for second k (workers publish in order) or has finished; until then its samples wait
 * in a pending accumulator.
 */
#include "engine/run.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "engine/engine_internal.h"
#include "engine/schedule.h"
#include "metrics/packed.h"

#define MAX_PENDING 64

static _Atomic int g_interrupts;
static _Atomic int g_notify_fd = -1;

void engine_interrupt(void)
{
    atomic_fetch_add(&g_interrupts, 1);
    int fd = atomic_load(&g_notify_fd);
    if (fd >= 0) {
        uint64_t one = 1;
        ssize_t r = write(fd, &one, sizeof one);
        (void)r;
    }
}

struct pending {
    bool used;
    uint32_t interval;
    struct registry *reg;
    uint32_t vus, vus_max;
    uint64_t cpu_max_ns;  /* the busiest worker's CPU + run-queue wait in this second */
    uint64_t wait_max_ns; /* the longest run-queue wait of a worker in this second */
    bool held_back;       /* a worker was held back in this second (RUN_HELD_BACK_SHARE) */
    double rate;          /* the workers' requests / span, summed (run_shard_rate) */
    bool rate_known;      /* a worker's shard was merged */
};

struct coord {
    struct engine_shared eng;
    struct worker **workers;
    int n_workers;
    int64_t *last_interval; /* per worker: last interval handed over, -1 = none */
    bool *finished;
    struct pending pending[MAX_PENDING];
    uint32_t next_row; /* the next interval to finalise */
    struct run_report *report;
    size_t rows_cap;
    struct hist *scratch;
    struct hist *had_cpu_lag; /* send lag of the seconds in which brunt had its CPU */
    uint64_t *worker_cpu_ns;
    uint64_t started_total;
    uint64_t stop_ns;     /* when a stop was first asked for (0: never) */
    long abort_threshold; /* index of the threshold that aborted the run, or -1 */
};

void run_report_add_warning(struct run_report *r, const char *fmt, ...)
{
    if (r->n_warnings >= RUN_WARNINGS_KEPT) {
        /* The last slot says how many were not kept, so none is lost silently. */
        r->warnings_dropped++;
        snprintf(r->warnings[RUN_WARNINGS_KEPT], sizeof r->warnings[0],
                 "%zu more warning%s not kept (brunt keeps the first %d)", r->warnings_dropped,
                 r->warnings_dropped == 1 ? " was" : "s were", RUN_WARNINGS_KEPT);
        r->n_warnings = RUN_WARNINGS_KEPT + 1;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->warnings[r->n_warnings++], sizeof r->warnings[0], fmt, ap);
    va_end(ap);
}

void run_report_destroy(struct run_report *r)
{
    registry_free(r->total);
    for (size_t i = 0; r->rows != NULL && i < r->n_rows; i++) {
        free(r->rows[i].packed);
    }
    free(r->rows);
    r->total = NULL;
    r->rows = NULL;
}

static struct pending *pending_get(struct coord *c, uint32_t interval)
{
    struct pending *free_slot = NULL;
    for (int i = 0; i < MAX_PENDING; i++) {
        if (c->pending[i].used && c->pending[i].interval == interval) {
            return &c->pending[i];
        }
        if (!c->pending[i].used && free_slot == NULL) {
            free_slot = &c->pending[i];
        }
    }
    if (free_slot == NULL) {
        return NULL;
    }
    if (free_slot->reg == NULL && (free_slot->reg = registry_new()) == NULL) {
        return NULL;
    }
    free_slot->used = true;
    free_slot->interval = interval;
    free_slot->vus = free_slot->vus_max = 0;
    free_slot->cpu_max_ns = free_slot->wait_max_ns = 0;
    free_slot->held_back = false;
    free_slot->rate = 0;
    free_slot->rate_known = false;
    return free_slot;
}

static uint64_t counter_of(const struct registry *reg, int metric)
{
    struct series s = {0};
    registry_aggregate(reg, metric, NULL, &s);
    return (uint64_t)llround(s.sum);
}

static void trend_of(struct coord *c, const struct registry *reg, int metric, struct ts_trend *t)
{
    struct series s = {.hist = c->scratch};
    registry_aggregate(reg, metric, NULL, &s);
    struct hist *h = c->scratch;
    t->count = hist_count(h);
    t->avg = hist_mean_ns(h) / 1e6;
    t->med = (double)hist_quantile_ns(h, 0.5) / 1e6;
    t->p90 = (double)hist_quantile_ns(h, 0.9) / 1e6;
    t->p95 = (double)hist_quantile_ns(h, 0.95) / 1e6;
    t->p99 = (double)hist_quantile_ns(h, 0.99) / 1e6;
    t->max = (double)hist_max_ns(h) / 1e6;
}

/*
 * Judges the second in p: whether brunt had its CPU, and if not, whether requests left
 * late for it (send-lag p99 at least RUN_SEND_LAG_MATERIAL_NS).  A worker was short of
 * CPU when on a core or waiting for one over RUN_CPU_SHORT_BUSY of the second (busy
 * itself), or waiting for one over RUN_CPU_SHORT_WAIT of it (kept off by neighbours);
 * else it was held back when its loop's late wake-ups (how late, in all) or its
 * run-queue wait reached RUN_HELD_BACK_SHARE of the second (a busy machine, or a paused
 * one: a hypervisor's steal, which no run queue shows).  A target that keeps every VU busy makes iterations
 * queue, which shows in the send lag too, but leaves brunt idle and punctual, so it
 * counts in neither.  The send lag of the seconds that had the CPU is kept apart
 * (had_cpu_lag_p99_ms): what brunt's own scheduling costs, on any machine.
 */
static void note_cpu_short(struct coord *c, const struct pending *p)
{
    struct run_report *r = c->report;
    bool short_cpu = (double)p->cpu_max_ns >= RUN_CPU_SHORT_BUSY * (double)NS_PER_S ||
                     (double)p->wait_max_ns >= RUN_CPU_SHORT_WAIT * (double)NS_PER_S;
    struct ts_trend lag;
    trend_of(c, p->reg, M_HTTP_REQ_SEND_LAG, &lag); /* leaves the second's lag in scratch */
    if (!short_cpu && !p->held_back) {
        if (lag.count == 0) {
            return; /* nothing was sent: no second of sends to judge */
        }
        r->had_cpu_seconds++;
        if (c->had_cpu_lag != NULL) {
            hist_merge(c->had_cpu_lag, c->scratch);
        }
        return;
    }
    if (lag.count == 0 || lag.p99 * 1e6 < (double)RUN_SEND_LAG_MATERIAL_NS) {
        return;
    }
    if (short_cpu) {
        r->cpu_short_seconds++;
        if (lag.p99 > r->cpu_short_lag_p99_ms) {
            r->cpu_short_lag_p99_ms = lag.p99;
        }
    } else {
        r->held_back_seconds++;
        if (lag.p99 > r->held_back_lag_p99_ms) {
            r->held_back_lag_p99_ms = lag.p99;
        }
    }
}

static void finalise_row(struct coord *c, struct pending *p)
{
    struct run_report *r = c->report;
    if (r->n_rows == c->rows_cap) {
        size_t cap = c->rows_cap ? c->rows_cap * 2 : 64;
        struct ts_row *rows = realloc(r->rows, cap * sizeof *rows);
        if (rows == NULL) {
            return; /* the totals still hold everything; only this row is lost */
        }
        r->rows = rows;
        c->rows_cap = cap;
    }
    struct ts_row *row = &r->rows[r->n_rows++];
    memset(row, 0, sizeof *row);
    struct registry *reg = p ? p->reg : NULL;
    row->t = c->next_row;
    row->wall_ns = r->start_wall_ns + (uint64_t)c->next_row * NS_PER_S;
    if (reg != NULL) {
        struct series s = {0};
        row->vus = p->vus;
        row->vus_max = p->vus_max;
        row->rate = p->rate;
        row->rate_known = p->rate_known;
        row->http_reqs = counter_of(reg, M_HTTP_REQS);
        registry_aggregate(reg, M_HTTP_REQ_FAILED, NULL, &s);
        row->failed = s.trues;
        row->iterations = counter_of(reg, M_ITERATIONS);
        row->dropped = counter_of(reg, M_DROPPED_ITERATIONS);
        row->errors = counter_of(reg, M_ERRORS);
        row->data_sent = counter_of(reg, M_DATA_SENT);
        row->data_received = counter_of(reg, M_DATA_RECEIVED);
        trend_of(c, reg, M_HTTP_REQ_DURATION, &row->duration);
        trend_of(c, reg, M_HTTP_REQ_LATENCY, &row->latency);
        note_cpu_short(c, p);
        if (packed_second(reg, r->total, &row->packed, &row->packed_len) < 0) {
            run_report_add_warning(r, "out of memory keeping the per-second histograms");
        }
    }
    int i_vus = registry_get(r->total, M_VUS, "");
    int i_max = registry_get(r->total, M_VUS_MAX, "");
    if (i_vus >= 0 && i_max >= 0) {
        series_gauge(registry_at(r->total, i_vus), row->vus);
        series_gauge(registry_at(r->total, i_max), row->vus_max);
    }
    if (p != NULL) {
        registry_reset(p->reg);
        p->used = false;
    }
    c->next_row++;
}

/* Finalises every row that all workers have handed over (or all rows when `all`). */
static void finalise_rows(struct coord *c, bool all)
{
    for (;;) {
        int64_t min_seen = INT64_MAX;
        bool any_pending = false;
        for (int w = 0; w < c->n_workers; w++) {
            if (!c->finished[w] && c->last_interval[w] < min_seen) {
                min_seen = c->last_interval[w];
            }
        }
        for (int i = 0; i < MAX_PENDING; i++) {
            any_pending = any_pending || c->pending[i].used;
        }
        if (!all && (int64_t)c->next_row > min_seen) {
            return;
        }
        if (all && !any_pending) {
            return;
        }
        struct pending *p = NULL;
        for (int i = 0; i < MAX_PENDING; i++) {
            if (c->pending[i].used && c->pending[i].interval == c->next_row) {
                p = &c->pending[i];
            }
        }
        if (p == NULL && min_seen == INT64_MAX && !any_pending) {
            return; /* every worker finished and nothing is left */
        }
        finalise_row(c, p);
    }
}

static void collect(struct coord *c)
{
    for (int w = 0; w < c->n_workers; w++) {
        struct shard *list;
        if (worker_take_shards(c->workers[w], &list) == 0) {
            continue;
        }
        while (list != NULL) {
            struct shard *s = list;
            list = s->next;
            if (registry_merge(c->report->total, s->reg) < 0) {
                run_report_add_warning(c->report, "out of memory while merging metrics");
            }
            struct pending *p = s->interval >= c->next_row ? pending_get(c, s->interval) : NULL;
            if (p != NULL) {
                (void)registry_merge(p->reg, s->reg);
                p->vus += s->vus;
                p->vus_max += s->vus_max;
                if (s->cpu_ns + s->wait_ns > p->cpu_max_ns) {
                    p->cpu_max_ns = s->cpu_ns + s->wait_ns;
                }
                if (s->wait_ns > p->wait_max_ns) {
                    p->wait_max_ns = s->wait_ns;
                }
                /* Held back: woken late for its timers, or runnable without a core (a
                 * late wake spent in the run queue shows in both: the larger counts). */
                uint64_t held =
                    s->wakes.late_sum_ns > s->wait_ns ? s->wakes.late_sum_ns : s->wait_ns;
                if ((double)held >=
                    RUN_HELD_BACK_SHARE * (double)(s->span_ns ? s->span_ns : NS_PER_S)) {
                    p->held_back = true;
                }
                p->rate += run_shard_rate(counter_of(s->reg, M_HTTP_REQS), s->span_ns);
                p->rate_known = true;
            }
            c->worker_cpu_ns[w] += s->cpu_ns;
            c->report->wakes_timed += s->wakes.timed;
            c->report->wakes_late += s->wakes.late;
            if ((double)s->wakes.late_max_ns / 1e6 > c->report->wake_late_max_ms) {
                c->report->wake_late_max_ms = (double)s->wakes.late_max_ns / 1e6;
            }
            c->started_total += s->started;
            if ((int64_t)s->interval > c->last_interval[w]) {
                c->last_interval[w] = s->interval;
            }
            if (s->final) {
                c->finished[w] = true;
            }
            worker_return_shard(c->workers[w], s);
        }
    }
}

/* Merges what the feed (the probe set) has ready, like a worker's shard. */
static void collect_feed(struct coord *c, const struct run_options *opts)
{
    const struct run_feed *f = opts != NULL ? opts->feed : NULL;
    if (f == NULL || f->take == NULL) {
        return;
    }
    struct registry *reg;
    uint32_t second;
    while ((reg = f->take(f->data, &second)) != NULL) {
        if (registry_merge(c->report->total, reg) < 0) {
            run_report_add_warning(c->report, "out of memory while merging probe metrics");
        }
        struct pending *p = second >= c->next_row ? pending_get(c, second) : NULL;
        if (p != NULL) {
            (void)registry_merge(p->reg, reg);
        }
        f->release(f->data, reg);
    }
}

static void stop_workers(struct coord *c, int level);

static double elapsed_s(const struct coord *c, uint64_t now)
{
    return (double)(now - c->eng.start_ns) / 1e9;
}

static void evaluate(struct coord *c, uint64_t now, bool final)
{
    struct run_report *r = c->report;
    for (size_t i = 0; i < r->n_thresholds; i++) {
        struct threshold *t = &r->thresholds[i];
        bool ok = threshold_eval(t, r->total, elapsed_s(c, now), c->scratch);
        if (!ok && !final && t->abort_on_fail && !r->aborted &&
            now - c->eng.start_ns >= t->delay_abort_eval_ns) {
            r->aborted = true;
            c->abort_threshold = (long)i;
            snprintf(r->abort_reason, sizeof r->abort_reason, "%s: '%s' failed", t->metric_expr,
                     t->source);
            stop_workers(c, STOP_GRACEFUL);
        }
    }
}

static void progress(struct coord *c, const struct run_options *opts, uint64_t now)
{
    if (opts == NULL || opts->progress == NULL) {
        return;
    }
    struct run_report *r = c->report;
    struct run_progress p = {0};
    p.elapsed_ns = now - c->eng.start_ns;
    p.planned_ns = plan_length_ns(c->eng.plan);
    p.requests = counter_of(r->total, M_HTTP_REQS);
    p.errors = counter_of(r->total, M_ERRORS);
    if (r->n_rows > 0) {
        const struct ts_row *row = &r->rows[r->n_rows - 1];
        p.vus = row->vus;
        /* As the result's rows: each worker's requests over the time its shard covered
         * (a starved worker's late second would read as a burst over 1 s). */
        p.rps = row->rate_known ? row->rate : (double)row->http_reqs;
        p.p95_ms = row->duration.p95;
    }
    opts->progress(&p, opts->progress_data);
}

/* Number of iterations the open-model scenarios planned to start before `until_ns`. */
static uint64_t planned_starts(const struct plan *plan, uint64_t until_ns)
{
    uint64_t total = 0;
    for (size_t i = 0; i < plan->n_scenarios; i++) {
        const struct scenario_plan *sc = &plan->scenarios[i];
        struct arrival_schedule s;
        if (!executor_is_open(sc->executor) || schedule_init(&s, sc) < 0) {
            continue;
        }
        if (until_ns <= sc->start_time_ns) {
            continue;
        }
        uint64_t rel = until_ns - sc->start_time_ns;
        uint64_t lo = 0, hi = schedule_total(&s);
        while (lo < hi) { /* first k whose time is >= rel */
            uint64_t mid = lo + (hi - lo) / 2;
            if (schedule_time_ns(&s, mid) < rel) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        total += lo;
    }
    return total;
}

static void stop_workers(struct coord *c, int level)
{
    int cur = atomic_load(&c->eng.stop_level);
    if (level <= cur) {
        return;
    }
    if (c->stop_ns == 0) {
        c->stop_ns = clock_now_ns();
    }
    atomic_store(&c->eng.stop_level, level);
    for (int w = 0; w < c->n_workers; w++) {
        worker_wake(c->workers[w]);
    }
}

static void coord_destroy(struct coord *c)
{
    for (int w = 0; w < c->n_workers; w++) {
        worker_free(c->workers[w]);
    }
    free(c->workers);
    free(c->last_interval);
    free(c->finished);
    free(c->worker_cpu_ns);
    for (int i = 0; i < MAX_PENDING; i++) {
        registry_free(c->pending[i].reg);
    }
    hist_free(c->scratch);
    hist_free(c->had_cpu_lag);
    if (c->eng.notify_fd >= 0) {
        atomic_store(&g_notify_fd, -1);
        close(c->eng.notify_fd);
    }
}

static void finish_report(struct coord *c, uint64_t end_ns, const struct rusage *ru0)
{
    struct run_report *r = c->report;
    const struct plan *plan = c->eng.plan;
    r->duration_ns = end_ns - c->eng.start_ns;
    r->end_wall_ns = r->start_wall_ns + r->duration_ns;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        r->cpu_user_ms = (double)(ru.ru_utime.tv_sec - ru0->ru_utime.tv_sec) * 1e3 +
                         (double)(ru.ru_utime.tv_usec - ru0->ru_utime.tv_usec) / 1e3;
        r->cpu_sys_ms = (double)(ru.ru_stime.tv_sec - ru0->ru_stime.tv_sec) * 1e3 +
                        (double)(ru.ru_stime.tv_usec - ru0->ru_stime.tv_usec) / 1e3;
    }
    r->had_cpu_lag_p99_ms =
        hist_count(c->had_cpu_lag) > 0 ? (double)hist_quantile_ns(c->had_cpu_lag, 0.99) / 1e6 : NAN;
    double secs = (double)r->duration_ns / 1e9;
    for (int w = 0; w < c->n_workers; w++) {
        double busy = secs > 0 ? (double)c->worker_cpu_ns[w] / 1e9 / secs : 0;
        if (busy > r->max_worker_busy) {
            r->max_worker_busy = busy;
        }
    }
    /* Open model: did the schedule hold? */
    /* Arrivals planned after a stop (SIGINT, abort) were never meant to start. */
    uint64_t load_end = plan_length_ns(plan);
    uint64_t ran = c->stop_ns ? c->stop_ns - c->eng.start_ns : r->duration_ns;
    r->stop_after_ns = c->stop_ns ? c->stop_ns - c->eng.start_ns : 0;
    uint64_t measured_until = ran < load_end ? ran : load_end;
    uint64_t planned = planned_starts(plan, measured_until);
    if (planned > 0) {
        double span = (double)measured_until / 1e9;
        r->target_rate = span > 0 ? (double)planned / span : 0;
        r->achieved_rate = span > 0 ? (double)c->started_total / span : 0;
        /* Started is not answered: iterations cut off by the end did not complete. */
        uint64_t completed = counter_of(r->total, M_ITERATIONS);
        uint64_t cut = counter_of(r->total, M_ITERATIONS_INTERRUPTED);
        r->completed_rate = span > 0 ? (double)completed / span : 0;
        if (cut > 0) {
            run_report_add_warning(r,
                                   "%llu of %llu started iterations were interrupted by the "
                                   "end of the run (completed %.1f/s; see "
                                   "interrupted_iterations, http_errors kind interrupted)",
                                   (unsigned long long)cut, (unsigned long long)c->started_total,
                                   r->completed_rate);
        }
        if (r->held_back_seconds > 0) {
            char had[64] = "";
            if (r->had_cpu_seconds > 0 && !isnan(r->had_cpu_lag_p99_ms)) {
                snprintf(had, sizeof had, "; %.2f ms in the %u s it had its CPU",
                         r->had_cpu_lag_p99_ms, r->had_cpu_seconds);
            }
            char woke[64] = "it waited for a core";
            if (r->wake_late_max_ms > 0) {
                snprintf(woke, sizeof woke, "its timers woke it up to %.2f ms late",
                         r->wake_late_max_ms);
            }
            run_report_add_warning(r,
                                   "the system held brunt back in %u s (%s: a busy or paused "
                                   "machine) and requests left late (http_req_send_lag p99 up "
                                   "to %.2f ms%s)",
                                   r->held_back_seconds, woke, r->held_back_lag_p99_ms, had);
        }
        if (r->cpu_short_seconds > 0) {
            run_report_add_warning(r,
                                   "brunt was short of CPU in %u s of the run (a worker busy or "
                                   "waiting for a core) and requests left late "
                                   "(http_req_send_lag p99 up to %.2f ms; latency still counts "
                                   "from the intended start): give it more cores or -t threads",
                                   r->cpu_short_seconds, r->cpu_short_lag_p99_ms);
        }
        if ((double)c->started_total < 0.99 * (double)planned) {
            run_report_add_warning(
                r,
                "achieved rate %.1f/s is %.1f%% of the target %.1f/s: "
                "%llu of %llu planned iterations started (see dropped_iterations, "
                "http_req_queued; raise --max-vus or check the target)",
                r->achieved_rate, 100.0 * (double)c->started_total / (double)planned,
                r->target_rate, (unsigned long long)c->started_total, (unsigned long long)planned);
        }
    }
    if (r->max_worker_busy > 0.9) {
        run_report_add_warning(r,
                               "a load-generator worker was busy %.0f%% of a core: the "
                               "generator, not the target, may be the limit (add -t threads)",
                               r->max_worker_busy * 100);
    }
}

int engine_run(const struct plan *plan, struct threshold *thresholds, size_t n_thresholds,
               const struct run_options *opts, struct run_report *report)
{
    struct coord c = {0};
    int err = 0;
    struct rusage ru0;
    memset(report, 0, sizeof *report);
    report->plan = plan;
    report->thresholds = thresholds;
    report->n_thresholds = n_thresholds;
    report->total = registry_new();
    c.report = report;
    c.abort_threshold = -1;
    c.eng.plan = plan;
    c.eng.n_workers = plan->threads > 0 ? plan->threads : 1;
    c.n_workers = c.eng.n_workers;
    c.eng.notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    c.scratch = hist_new();
    c.had_cpu_lag = hist_new();
    c.workers = calloc((size_t)c.n_workers, sizeof *c.workers);
    c.last_interval = calloc((size_t)c.n_workers, sizeof *c.last_interval);
    c.finished = calloc((size_t)c.n_workers, sizeof *c.finished);
    c.worker_cpu_ns = calloc((size_t)c.n_workers, sizeof *c.worker_cpu_ns);
    if (report->total == NULL || c.eng.notify_fd < 0 || c.scratch == NULL ||
        c.had_cpu_lag == NULL || c.workers == NULL || c.last_interval == NULL ||
        c.finished == NULL || c.worker_cpu_ns == NULL) {
        err = -ENOMEM;
        goto out;
    }
    atomic_store(&g_notify_fd, c.eng.notify_fd);
    for (int w = 0; w < c.n_workers; w++) {
        c.last_interval[w] = -1;
        c.workers[w] = worker_new(&c.eng, w);
        if (c.workers[w] == NULL) {
            err = -ENOMEM;
            goto out;
        }
    }
    (void)getrusage(RUSAGE_SELF, &ru0);
    /* A common start a little ahead, so every worker begins on the same schedule. */
    c.eng.start_ns = clock_now_ns() + 20 * NS_PER_MS;
    report->start_wall_ns = clock_wall_ns() + 20 * NS_PER_MS;
    if (opts != NULL && opts->feed != NULL && opts->feed->begin != NULL) {
        opts->feed->begin(opts->feed->data, c.eng.start_ns);
    }
    int started = 0;
    for (int w = 0; w < c.n_workers; w++) {
        err = worker_start(c.workers[w]);
        if (err < 0) {
            stop_workers(&c, STOP_NOW);
            break;
        }
        started++;
    }
    /* Interrupts are counted from this run's start (capacity calls engine_run again). */
    int seen_interrupts = atomic_load(&g_interrupts), base_interrupts = seen_interrupts;
    uint64_t next_tick = c.eng.start_ns + NS_PER_S + 50 * NS_PER_MS;
    for (;;) {
        uint64_t now = clock_now_ns();
        bool all_finished = true;
        for (int w = 0; w < started; w++) {
            all_finished = all_finished && c.finished[w];
        }
        if (all_finished) {
            break;
        }
        int timeout_ms = now >= next_tick ? 0 : (int)((next_tick - now) / NS_PER_MS) + 1;
        struct pollfd pfd = {.fd = c.eng.notify_fd, .events = POLLIN};
        (void)poll(&pfd, 1, timeout_ms);
        uint64_t drain;
        if (read(c.eng.notify_fd, &drain, sizeof drain) < 0) {
            /* nothing pending */
        }
        if (atomic_load(&c.eng.flow_abort) && !report->aborted) {
            report->aborted = true;
            report->scenario_abort = true;
            snprintf(report->abort_reason, sizeof report->abort_reason,
                     "a data feeder ran out of rows (on_exhausted: abort)");
            stop_workers(&c, STOP_GRACEFUL);
        }
        int ints = atomic_load(&g_interrupts);
        if (ints != seen_interrupts) {
            seen_interrupts = ints;
            report->interrupted = true;
            stop_workers(&c, ints - base_interrupts >= 2 ? STOP_NOW : STOP_GRACEFUL);
        }
        collect(&c);
        collect_feed(&c, opts);
        now = clock_now_ns();
        if (now >= next_tick) {
            finalise_rows(&c, false);
            evaluate(&c, now, false);
            progress(&c, opts, now);
            if (opts != NULL && opts->tick != NULL) {
                opts->tick(report, opts->tick_data);
            }
            while (next_tick <= now) {
                next_tick += NS_PER_S;
            }
        }
    }
    uint64_t end_ns = clock_now_ns();
    for (int w = 0; w < started; w++) {
        worker_join(c.workers[w]);
        worker_timing(c.workers[w], &report->timing);
    }
    collect(&c);
    if (opts != NULL && opts->feed != NULL && opts->feed->end != NULL) {
        opts->feed->end(opts->feed->data, end_ns);
    }
    collect_feed(&c, opts);
    finalise_rows(&c, true);
    evaluate(&c, end_ns, true);
    if (c.abort_threshold >= 0) {
        /* The threshold that stopped the run failed, whatever the requests that finished
         * in the grace period did to its figure afterwards. */
        thresholds[c.abort_threshold].failed = true;
    }
    for (size_t i = 0; i < n_thresholds; i++) {
        report->thresholds_failed = report->thresholds_failed || thresholds[i].failed;
    }
    /* Whether any response came at all: a trend threshold without samples then means
     * its tags matched none of them, not that nothing was answered. */
    struct series answered = {.hist = c.scratch};
    registry_aggregate(report->total, M_HTTP_REQ_DURATION, NULL, &answered);
    bool any_answer = hist_count(c.scratch) > 0;
    for (size_t i = 0; i < n_thresholds; i++) {
        if (thresholds[i].evaluated && thresholds[i].no_samples) {
            if (thresholds[i].sent_requests && !any_answer) {
                run_report_add_warning(report,
                                       "threshold %s: '%s' failed with no samples: requests "
                                       "were sent but none was answered (see http_errors)",
                                       thresholds[i].metric_expr, thresholds[i].source);
            } else {
                run_report_add_warning(report,
                                       "threshold %s: '%s' matched no samples%s: nothing recorded "
                                       "this metric with these tags (check their spelling)",
                                       thresholds[i].metric_expr, thresholds[i].source,
                                       thresholds[i].sent_requests ? " and failed" : "");
            }
        }
    }
    finish_report(&c, end_ns, &ru0);
    if (started < c.n_workers && err == 0) {
        err = -EAGAIN;
    }
out:
    coord_destroy(&c);
    return err;
}
