/*
 * redis — the Redis probe (see redis.h for what it measures and its guarantees).
 *
 * Commands are sent with hiredis's blocking API under a 500 ms socket timeout.  Each
 * command the probe sends is counted (own_seq, and per name in own[]) so the figures
 * between two INFO replies can leave the probe's own work out: INFO counts the commands
 * finished before it, so the commands between INFO a and INFO b are those sent from a
 * (inclusive) to b (exclusive).
 */
#include "probe/redis.h"
#include "probe/redis_internal.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "core/clock.h"
#include "probe/dbutil.h"
#include "probe/redisinfo.h"

/* ---- ops -------------------------------------------------------------------------- */

static int m_ops = -1, m_hit = -1, m_evicted = -1, m_expired = -1, m_rejected = -1, m_mem = -1,
           m_frag = -1, m_conn = -1, m_blocked = -1, m_lat = -1;

int redis_probe_define_metrics(void)
{
    m_ops = dbutil_define("redis_ops", METRIC_COUNTER, CONTAINS_DEFAULT,
                          "commands Redis processed (all clients, the probe's own excluded)");
    m_hit = dbutil_define("redis_hit_rate", METRIC_RATE, CONTAINS_DEFAULT,
                          "keyspace lookups that found their key (hits / (hits + misses))");
    m_evicted = dbutil_define("redis_evicted_keys", METRIC_COUNTER, CONTAINS_DEFAULT,
                              "keys Redis evicted to stay under maxmemory");
    m_expired = dbutil_define("redis_expired_keys", METRIC_COUNTER, CONTAINS_DEFAULT,
                              "keys that expired (TTL)");
    m_rejected = dbutil_define("redis_rejected_connections", METRIC_COUNTER, CONTAINS_DEFAULT,
                               "connections refused at maxclients");
    m_mem = dbutil_define("redis_used_memory", METRIC_GAUGE, CONTAINS_DATA,
                          "memory Redis allocated (used_memory), bytes");
    m_frag = dbutil_define("redis_fragmentation", METRIC_GAUGE, CONTAINS_DEFAULT,
                           "used_memory_rss / used_memory");
    m_conn = dbutil_define("redis_connected_clients", METRIC_TREND, CONTAINS_DEFAULT,
                           "clients connected, read once a second");
    m_blocked = dbutil_define("redis_blocked_clients", METRIC_TREND, CONTAINS_DEFAULT,
                              "clients blocked in BLPOP and the like, once a second");
    m_lat = dbutil_define("redis_cmd_latency", METRIC_TREND, CONTAINS_TIME,
                          "time Redis spent per command (LATENCY HISTOGRAM, power-of-two "
                          "buckets, each call at its bucket's upper bound), tag cmd");

    return m_lat < 0 ? -EEXIST : 0;
}

static int rp_start(void *self, char *err, size_t err_len)
{
    struct rprobe *p = self;
    int rc = 0;
    p->start_ns = clock_now_ns();
    p->started = true;
    p->slow_start_id = -1;
    p->st.latency_monitor_ms = -1;
    p->st.slowlog_slower_than_us = -1;
    if (redis_probe_define_metrics() == 0) {
        p->m_ops = m_ops;
        p->m_hit = m_hit;
        p->m_evicted = m_evicted;
        p->m_expired = m_expired;
        p->m_rejected = m_rejected;
        p->m_mem = m_mem;
        p->m_frag = m_frag;
        p->m_conn = m_conn;
        p->m_blocked = m_blocked;
        p->m_lat = m_lat;
    }

    rc = redis__connect_server(p, err, err_len);
    if (rc == 0) {
        const char *av[3] = {"CONFIG", "GET", "latency-monitor-threshold"};
        redisReply *r = redis__cmd(p, OWN_CONFIG, 3, av);
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[1]->type == REDIS_REPLY_STRING) {
            p->st.latency_monitor_ms = atoll(r->element[1]->str);
        }
        freeReplyObject(r);
        av[2] = "slowlog-log-slower-than";
        r = redis__cmd(p, OWN_CONFIG, 3, av);
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[1]->type == REDIS_REPLY_STRING) {
            p->st.slowlog_slower_than_us = atoll(r->element[1]->str);
        }
        freeReplyObject(r);
        const char *sv[3] = {"SLOWLOG", "GET", "1"};
        r = redis__cmd(p, OWN_SLOWLOG, 3, sv);
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
            r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements > 0 &&
            r->element[0]->element[0]->type == REDIS_REPLY_INTEGER) {
            p->slow_start_id = r->element[0]->element[0]->integer;
        }
        freeReplyObject(r);
        memcpy(p->own_at_before, p->own, sizeof p->own);
        if (redis__read_info(p, &p->before, true, p->cs_before, &p->ncs_before) != 0) {
            dbutil_fmt(err, err_len, "redis: %s: INFO failed: %s", p->st.url_shown,
                       p->st.error[0] ? p->st.error : "no reply");
            rc = -EIO;
            redis__disconnect(p);
        }
    }
    if (rc == 0) {
        int nh = redis__read_hist(p, p->h_before);
        p->nh_before = nh > 0 ? (size_t)nh : 0;
        memcpy(p->h_prev, p->h_before, sizeof p->h_before);
        p->nh_prev = p->nh_before;
        p->prev = p->before;
        p->st.available = true;
        dbutil_fmt(p->st.version, sizeof p->st.version, "%s", p->before.version);
        p->st.used_memory_max = p->before.used_memory;
        p->st.connected_max = p->before.connected;
        p->st.blocked_max = p->before.blocked;
        p->st.fragmentation_max = p->before.frag;
        p->st.error[0] = '\0';
    } else {
        dbutil_fmt(p->st.error, sizeof p->st.error, "%s", err);
    }
    return rc;
}

/* Adds the interval prev -> cur to the totals and records the one-second metrics. */
static void account(struct rprobe *p, const struct rinfo *cur, struct registry *reg, double t_s,
                    double dt_s)
{
    const struct rinfo *a = &p->prev;
    bool reset = strcmp(a->run_id, cur->run_id) != 0;
    if (reset) {
        p->st.restarts++;
        redis__note(p, "redis: %s",
                    "the server restarted during the run (new run_id); the second "
                    "it happened in is not counted");
    }
    uint64_t own = cur->own_seq - a->own_seq;
    uint64_t dcmd = redis__inc(a->total_commands, cur->total_commands, reset);
    uint64_t ops = dcmd > own ? dcmd - own : 0;
    uint64_t hits = redis__inc(a->hits, cur->hits, reset);
    uint64_t misses = redis__inc(a->misses, cur->misses, reset);
    uint64_t evicted = redis__inc(a->evicted, cur->evicted, reset);
    uint64_t expired = redis__inc(a->expired, cur->expired, reset);
    uint64_t rejected = redis__inc(a->rejected, cur->rejected, reset);
    uint64_t errors = redis__inc(a->error_replies, cur->error_replies, reset);
    if (reset) {
        /* Since the restart only: the probe's own commands on the new server are not
         * known exactly, so they are not subtracted. */
        ops = dcmd;
    }
    p->st.ops += ops;
    p->st.own_commands += own;
    p->st.hits += hits;
    p->st.misses += misses;
    p->st.evicted += evicted;
    p->st.expired += expired;
    p->st.rejected_connections += rejected;
    p->st.error_replies += errors;
    if (cur->used_memory > p->st.used_memory_max) {
        p->st.used_memory_max = cur->used_memory;
    }
    if (cur->connected > p->st.connected_max) {
        p->st.connected_max = cur->connected;
    }
    if (cur->blocked > p->st.blocked_max) {
        p->st.blocked_max = cur->blocked;
    }
    if (cur->frag > p->st.fragmentation_max) {
        p->st.fragmentation_max = cur->frag;
    }
    if (dt_s > 0.2 && ops / dt_s > p->st.ops_per_s_max) {
        p->st.ops_per_s_max = ops / dt_s;
    }
    if (reg) {
        dbutil_count(reg, p->m_ops, (double)ops);
        dbutil_rate(reg, p->m_hit, hits, hits + misses);
        dbutil_count(reg, p->m_evicted, (double)evicted);
        dbutil_count(reg, p->m_expired, (double)expired);
        dbutil_count(reg, p->m_rejected, (double)rejected);
        dbutil_gauge(reg, p->m_mem, (double)cur->used_memory);
        dbutil_gauge(reg, p->m_frag, cur->frag);
        dbutil_trend(reg, p->m_conn, cur->connected);
        dbutil_trend(reg, p->m_blocked, cur->blocked);
    }
    if (p->st.nrows < REDIS_ROWS_MAX) {
        if (p->st.nrows == p->rows_cap) {
            size_t cap = p->rows_cap ? p->rows_cap * 2 : 64;
            struct redis_row *nr = realloc(p->st.rows, cap * sizeof *nr);
            if (nr) {
                p->st.rows = nr;
                p->rows_cap = cap;
            }
        }
        if (p->st.nrows < p->rows_cap) {
            struct redis_row *row = &p->st.rows[p->st.nrows++];
            row->t_s = t_s;
            row->ops = ops;
            row->hits = hits;
            row->misses = misses;
            row->evicted = evicted;
            row->expired = expired;
            row->used_memory = cur->used_memory;
            row->connected = cur->connected;
            row->blocked = cur->blocked;
        }
    }
    p->prev = *cur;
}

/* Records the one-second server-side latency per command into reg (tag cmd). */
static void account_hist(struct rprobe *p, const struct rhist *cur, size_t n, struct registry *reg)
{
    if (reg == NULL || p->m_lat < 0) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (redis__own_index(cur[i].name) >= 0) {
            continue;
        }
        const struct rhist *old = redis__hist_find(p->h_prev, p->nh_prev, cur[i].name);
        const char *keys[1] = {"cmd"};
        const char *vals[1] = {cur[i].name};
        char tags[96];
        if (tags_canon(tags, sizeof tags, keys, vals, 1) < 0) {
            continue;
        }
        int si = -1;
        uint64_t prevcum = 0;
        for (int b = 0; b < REDIS_HIST_BUCKETS; b++) {
            uint64_t was = old ? old->cum[b] : 0;
            uint64_t d = cur[i].cum[b] >= was ? cur[i].cum[b] - was : cur[i].cum[b];
            uint64_t nb = d >= prevcum ? d - prevcum : 0;
            prevcum = d;
            if (nb == 0) {
                continue;
            }
            if (si < 0) {
                si = registry_get(reg, p->m_lat, tags);
                if (si < 0) {
                    break;
                }
            }
            struct series *s = registry_at(reg, si);
            if (s->hist) {
                hist_record_n(s->hist, (1ULL << b) * NS_PER_US, nb);
            }
        }
    }
}

static void try_reconnect(struct rprobe *p, uint64_t now_ns)
{
    if (p->c == NULL && now_ns - p->last_try_ns >= RECONNECT_EVERY_NS) {
        char e[256];
        if (redis__connect_server(p, e, sizeof e) != 0) {
            redis__note(p, "%s", e);
        }
    }
}

static void rp_sample(void *self, uint64_t now_ns, struct registry *reg)
{
    struct rprobe *p = self;
    struct rinfo cur;
    if (!p->st.available || p->stopped) {
        return;
    }
    try_reconnect(p, now_ns);
    double t_s = (double)(now_ns - p->start_ns) / 1e9;
    if (p->c == NULL || redis__read_info(p, &cur, false, NULL, NULL) != 0) {
        p->st.lost_samples++;
        return;
    }
    double last_t = p->st.nrows ? p->st.rows[p->st.nrows - 1].t_s : 0;
    account(p, &cur, reg, t_s, t_s - last_t);
    int nh = redis__read_hist(p, p->h_tmp);
    if (nh >= 0) {
        account_hist(p, p->h_tmp, (size_t)nh, reg);
        memcpy(p->h_prev, p->h_tmp, sizeof p->h_tmp);
        p->nh_prev = (size_t)nh;
    }
}

static int cmp_cmd_usec(const void *a, const void *b)
{
    const struct redis_cmd *x = a, *y = b;
    return x->usec < y->usec ? 1 : x->usec > y->usec ? -1 : strcmp(x->name, y->name);
}

static void read_slowlog(struct rprobe *p)
{
    const char *av[3] = {"SLOWLOG", "GET", "128"};
    redisReply *r = redis__cmd(p, OWN_SLOWLOG, 3, av);
    int64_t newest = -1;
    uint64_t own_seen = 0, fetched = 0;
    if (r && r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements; i++) {
            redisReply *e = r->element[i];
            if (e->type != REDIS_REPLY_ARRAY || e->elements < 4 ||
                e->element[0]->type != REDIS_REPLY_INTEGER) {
                continue;
            }
            int64_t id = e->element[0]->integer;
            if (p->st.restarts == 0 && id <= p->slow_start_id) {
                continue;
            }
            if (id > newest) {
                newest = id;
            }
            if (e->elements >= 6 && e->element[5]->type == REDIS_REPLY_STRING &&
                strcmp(e->element[5]->str, "brunt-probe") == 0) {
                own_seen++;
                continue;
            }
            fetched++;
            if (p->st.nslow >= REDIS_SLOWLOG_MAX) {
                continue;
            }
            struct redis_slow *s = &p->st.slow[p->st.nslow++];
            memset(s, 0, sizeof *s);
            s->id = id;
            if (e->element[1]->type == REDIS_REPLY_INTEGER) {
                s->unix_s = e->element[1]->integer;
            }
            if (e->element[2]->type == REDIS_REPLY_INTEGER) {
                s->duration_us = e->element[2]->integer;
            }
            redisReply *args = e->element[3];
            size_t len = 0;
            for (size_t j = 0; args->type == REDIS_REPLY_ARRAY && j < args->elements; j++) {
                redisReply *a = args->element[j];
                if (a->type != REDIS_REPLY_STRING) {
                    continue;
                }
                int w = dbutil_fmt(s->argv + len, sizeof s->argv - len, "%s%.*s", j ? " " : "",
                                   (int)a->len, a->str);
                if (w < 0 || (size_t)w >= sizeof s->argv - len) {
                    break;
                }
                len += (size_t)w;
            }
            if (e->elements >= 5 && e->element[4]->type == REDIS_REPLY_STRING) {
                dbutil_fmt(s->client, sizeof s->client, "%s", e->element[4]->str);
            }
        }
    }
    freeReplyObject(r);
    /* Ids are consecutive, so entries the log dropped (past slowlog-max-len) are still
     * counted; the probe's own ones are left out where they were seen. */
    uint64_t by_id = newest > p->slow_start_id && p->st.restarts == 0
                         ? (uint64_t)(newest - p->slow_start_id)
                         : fetched + own_seen;
    p->st.slow_added = by_id > own_seen ? by_id - own_seen : 0;
    if (p->st.slow_added < fetched) {
        p->st.slow_added = fetched;
    }
}

static void read_latest(struct rprobe *p)
{
    const char *av[2] = {"LATENCY", "LATEST"};
    redisReply *r = redis__cmd(p, OWN_LATEST, 2, av);
    size_t len = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 4 ||
            e->element[0]->type != REDIS_REPLY_STRING) {
            continue;
        }
        int w = dbutil_fmt(p->st.latency_latest + len, sizeof p->st.latency_latest - len,
                           "%s%s latest %lld ms, max %lld ms", len ? "; " : "", e->element[0]->str,
                           (long long)e->element[2]->integer, (long long)e->element[3]->integer);
        if (w < 0 || (size_t)w >= sizeof p->st.latency_latest - len) {
            break;
        }
        len += (size_t)w;
    }
    freeReplyObject(r);
}

static void rp_stop(void *self)
{
    struct rprobe *p = self;
    if (!p->st.available || p->stopped) {
        p->stopped = true;
        return;
    }
    p->stopped = true;
    uint64_t now = clock_now_ns();
    try_reconnect(p, now + RECONNECT_EVERY_NS);
    struct rinfo after;
    struct rcmdstat *cs_after = calloc(REDIS_CMDS_MAX, sizeof *cs_after);
    size_t ncs_after = 0;
    uint64_t own_at_after[OWN_N];
    memcpy(own_at_after, p->own, sizeof p->own);
    p->st.duration_s = (double)(now - p->start_ns) / 1e9;
    if (cs_after && p->c && redis__read_info(p, &after, true, cs_after, &ncs_after) == 0) {
        double last_t = p->st.nrows ? p->st.rows[p->st.nrows - 1].t_s : 0;
        account(p, &after, NULL, p->st.duration_s, p->st.duration_s - last_t);
        p->st.used_memory = after.used_memory;
        p->st.used_memory_rss = after.rss;
        p->st.maxmemory = after.maxmemory;
        p->st.fragmentation = after.frag;
        p->st.connected_clients = after.connected;
        p->st.maxclients = after.maxclients;
        dbutil_fmt(p->st.maxmemory_policy, sizeof p->st.maxmemory_policy, "%s", after.policy);
        bool reset = p->st.restarts > 0 || strcmp(after.run_id, p->before.run_id) != 0;
        int nh = redis__read_hist(p, p->h_tmp);
        /* Command table: deltas, own commands out. */
        for (size_t i = 0; i < ncs_after && p->st.ncmds < REDIS_CMDS_MAX; i++) {
            const struct rcmdstat *b = NULL;
            for (size_t j = 0; !reset && j < p->ncs_before; j++) {
                if (strcmp(p->cs_before[j].name, cs_after[i].name) == 0) {
                    b = &p->cs_before[j];
                }
            }
            struct redis_cmd c;
            memset(&c, 0, sizeof c);
            dbutil_fmt(c.name, sizeof c.name, "%s", cs_after[i].name);
            c.calls = redis__inc(b ? b->calls : 0, cs_after[i].calls, reset);
            c.usec = redis__inc(b ? b->usec : 0, cs_after[i].usec, reset);
            c.rejected_calls = redis__inc(b ? b->rejected : 0, cs_after[i].rejected, reset);
            c.failed_calls = redis__inc(b ? b->failed : 0, cs_after[i].failed, reset);
            int oi = redis__own_index(c.name);
            if (oi >= 0 && !reset) {
                uint64_t mine = own_at_after[oi] - p->own_at_before[oi];
                if (c.calls <= mine) {
                    continue;
                }
                /* The app used it too: its calls without ours; usec cannot be split. */
                c.calls -= mine;
            }
            if (c.calls == 0) {
                continue;
            }
            const struct rhist *ha = nh > 0 ? redis__hist_find(p->h_tmp, (size_t)nh, c.name) : NULL;
            const struct rhist *hb = redis__hist_find(p->h_before, p->nh_before, c.name);
            if (ha) {
                uint64_t prevcum = 0;
                for (int k = 0; k < REDIS_HIST_BUCKETS; k++) {
                    uint64_t was = hb && !reset ? hb->cum[k] : 0;
                    uint64_t d = ha->cum[k] >= was ? ha->cum[k] - was : ha->cum[k];
                    c.hist[k] = d >= prevcum ? d - prevcum : 0;
                    prevcum = d;
                    c.hist_calls += c.hist[k];
                }
            }
            p->st.cmds[p->st.ncmds++] = c;
        }
        qsort(p->st.cmds, p->st.ncmds, sizeof p->st.cmds[0], cmp_cmd_usec);
        read_slowlog(p);
        if (p->st.latency_monitor_ms > 0) {
            read_latest(p);
        }
    } else {
        redis__note(p, "redis: %s",
                    "the closing INFO could not be read; totals stop at the last "
                    "second read");
        p->st.used_memory = p->prev.used_memory;
        p->st.maxmemory = p->prev.maxmemory;
        p->st.fragmentation = p->prev.frag;
        p->st.connected_clients = p->prev.connected;
    }
    free(cs_after);
    uint64_t looked = p->st.hits + p->st.misses;
    p->st.hit_rate = looked ? (double)p->st.hits / (double)looked : -1;
    redis__disconnect(p);
}

static size_t rp_findings(void *self, struct finding *out, size_t cap)
{
    struct rprobe *p = self;
    return dbutil_findings_copy(p->findings, p->nfindings, out, cap);
}

static void rp_free(void *self)
{
    struct rprobe *p = self;
    redis__disconnect(p);
    free(p->st.rows);
    explicit_bzero(p->password, sizeof p->password);
    free(p);
}

static const struct probe_ops redis_ops = {
    .name = "redis",
    .start = rp_start,
    .sample = rp_sample,
    .stop = rp_stop,
    .summary = redis__summary,
    .to_json = redis__to_json,
    .findings = rp_findings,
    .free = rp_free,
};

int redis_probe_new(const char *url, struct probe *out, char *err, size_t err_len)
{
    struct rprobe *p = calloc(1, sizeof *p);
    int rc = 0;
    if (p == NULL) {
        dbutil_fmt(err, err_len, "redis: out of memory");
        return -ENOMEM;
    }
    if (strlen(url) >= sizeof p->url) {
        char shown[128];
        dbutil_redact(url, shown, sizeof shown);
        dbutil_fmt(err, err_len, "--redis '%s...': longer than %zu bytes", shown,
                   sizeof p->url - 1);
        rc = -EINVAL;
    }
    if (rc == 0) {
        dbutil_fmt(p->url, sizeof p->url, "%s", url);
        rc = redis__parse_url(p, url, err, err_len);
    }
    if (rc == 0 && !p->has_password && getenv("REDISCLI_AUTH") != NULL) {
        /* As redis-cli does: the password from the environment, out of the URL. */
        dbutil_fmt(p->password, sizeof p->password, "%s", getenv("REDISCLI_AUTH"));
        p->has_password = p->password[0] != '\0';
    }
    if (rc == 0) {
        char shown[256];
        dbutil_redact(url, shown, sizeof shown);
        if (strstr(url, "://") == NULL) {
            dbutil_fmt(p->st.url_shown, sizeof p->st.url_shown, "redis://%.240s", shown);
        } else {
            dbutil_fmt(p->st.url_shown, sizeof p->st.url_shown, "%s", shown);
        }
        p->m_ops = p->m_hit = p->m_evicted = p->m_expired = p->m_mem = -1;
        p->m_conn = p->m_blocked = p->m_rejected = p->m_frag = p->m_lat = -1;
        p->st.hit_rate = -1;
        out->ops = &redis_ops;
        out->self = p;
    } else {
        explicit_bzero(p->password, sizeof p->password);
        free(p);
    }
    return rc;
}

const struct redis_stats *redis_probe_stats(const void *self)
{
    const struct rprobe *p = self;
    return &p->st;
}

void redis_probe_set_findings(void *self, const struct finding *f, size_t n)
{
    struct rprobe *p = self;
    p->nfindings = n < FINDINGS_MAX ? n : FINDINGS_MAX;
    memcpy(p->findings, f, p->nfindings * sizeof *f);
}
