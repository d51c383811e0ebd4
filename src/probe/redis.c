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

#define CMD_TIMEOUT_MS 500
#define RECONNECT_EVERY_NS (2 * NS_PER_S)
#define FINDINGS_MAX 16

/* The commands the probe sends, by their COMMANDSTATS names. */
enum own_cmd {
    OWN_INFO,
    OWN_HIST,
    OWN_SLOWLOG,
    OWN_CONFIG,
    OWN_LATEST,
    OWN_SETNAME,
    OWN_AUTH,
    OWN_N
};
static const char *const own_names[OWN_N] = {"info",       "latency|histogram", "slowlog|get",
                                             "config|get", "latency|latest",    "client|setname",
                                             "auth"};

struct rinfo {
    bool ok;
    char run_id[48];
    char version[32];
    char policy[32];
    uint64_t total_commands, hits, misses, evicted, expired, rejected, error_replies;
    uint64_t used_memory, rss, maxmemory, connected, blocked, maxclients;
    double frag;
    uint64_t own_seq; /* own commands sent before this INFO */
};

struct rcmdstat {
    char name[48];
    uint64_t calls, usec, rejected, failed;
};

struct rhist {
    char name[48];
    uint64_t calls;
    uint64_t cum[REDIS_HIST_BUCKETS]; /* cumulative: calls <= 2^i µs */
};

struct rprobe {
    char url[1024];
    char host[256];
    int port;
    int db;
    char user[128];
    char password[256];
    bool has_password;
    redisContext *c;
    uint64_t start_ns, last_try_ns;
    struct rinfo before, prev;
    struct rcmdstat cs_before[REDIS_CMDS_MAX];
    size_t ncs_before;
    uint64_t own_at_before[OWN_N];
    struct rhist h_before[REDIS_CMDS_MAX], h_prev[REDIS_CMDS_MAX], h_tmp[REDIS_CMDS_MAX];
    size_t nh_before, nh_prev;
    int64_t slow_start_id; /* the newest id before the run, -1 none */
    uint64_t own[OWN_N];
    uint64_t own_seq;
    int m_ops, m_hit, m_evicted, m_expired, m_mem, m_conn, m_blocked, m_rejected, m_frag, m_lat;
    struct redis_stats st;
    size_t rows_cap;
    struct finding findings[FINDINGS_MAX];
    size_t nfindings;
    bool started, stopped;
};

/* ---- URL -------------------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Percent-decodes s[0..n) into out (cap); returns 0 or -EINVAL. */
static int pct_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
                rc = -EINVAL;
                break;
            }
            c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        }
        if (o + 1 >= cap) {
            rc = -EINVAL;
        } else {
            out[o++] = c;
        }
    }
    if (cap > 0) {
        out[o < cap ? o : cap - 1] = '\0';
    }
    return rc;
}

static int parse_url(struct rprobe *p, const char *url, char *err, size_t err_len)
{
    int rc = 0;
    const char *s = url;
    char shown[512];
    dbutil_redact(url, shown, sizeof shown);
    if (strncmp(s, "rediss://", 9) == 0) {
        dbutil_fmt(err, err_len, "--redis '%s': TLS (rediss://) is not supported; use redis://",
                   shown);
        return -EINVAL;
    }
    if (strncmp(s, "redis://", 8) == 0) {
        s += 8;
    } else if (strstr(s, "://") != NULL) {
        dbutil_fmt(err, err_len, "--redis '%s': expected redis://[user:password@]host[:port][/db]",
                   shown);
        return -EINVAL;
    }
    size_t alen = strcspn(s, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++) {
        if (s[i] == '@') {
            at = s + i;
        }
    }
    if (at) {
        const char *colon = memchr(s, ':', (size_t)(at - s));
        if (colon) {
            rc = pct_decode(s, (size_t)(colon - s), p->user, sizeof p->user);
            if (rc == 0) {
                rc = pct_decode(colon + 1, (size_t)(at - colon - 1), p->password,
                                sizeof p->password);
            }
        } else {
            /* redis-cli takes a lone userinfo as the password. */
            rc = pct_decode(s, (size_t)(at - s), p->password, sizeof p->password);
        }
        if (rc != 0) {
            dbutil_fmt(err, err_len, "--redis '%s': bad %%-escape or too long user or password",
                       shown);
            return -EINVAL;
        }
        p->has_password = p->password[0] != '\0';
        alen -= (size_t)(at + 1 - s);
        s = at + 1;
    }
    const char *host = s, *hend;
    const char *port = NULL;
    if (*s == '[') {
        const char *close = memchr(s, ']', alen);
        if (!close) {
            dbutil_fmt(err, err_len, "--redis '%s': expected ']' after the IPv6 address", shown);
            return -EINVAL;
        }
        host = s + 1;
        hend = close;
        if ((size_t)(close + 1 - s) < alen) {
            if (close[1] != ':') {
                dbutil_fmt(err, err_len, "--redis '%s': expected ':PORT' after ']'", shown);
                return -EINVAL;
            }
            port = close + 2;
        }
    } else {
        const char *colon = memchr(s, ':', alen);
        hend = colon ? colon : s + alen;
        port = colon ? colon + 1 : NULL;
    }
    if (hend == host || (size_t)(hend - host) >= sizeof p->host) {
        dbutil_fmt(err, err_len, "--redis '%s': expected a host name or address", shown);
        return -EINVAL;
    }
    memcpy(p->host, host, (size_t)(hend - host));
    p->host[hend - host] = '\0';
    p->port = 6379;
    if (port) {
        long v = 0;
        const char *q = port;
        while (q < s + alen && *q >= '0' && *q <= '9' && v <= 65535) {
            v = v * 10 + (*q - '0');
            q++;
        }
        if (q == port || q != s + alen || v < 1 || v > 65535) {
            dbutil_fmt(err, err_len, "--redis '%s': the port must be a number from 1 to 65535",
                       shown);
            return -EINVAL;
        }
        p->port = (int)v;
    }
    s += alen;
    p->db = 0;
    if (*s == '/' && s[1] != '\0') {
        long v = 0;
        const char *q = s + 1;
        while (*q >= '0' && *q <= '9' && v < 100000) {
            v = v * 10 + (*q - '0');
            q++;
        }
        if (q == s + 1 || *q != '\0') {
            dbutil_fmt(err, err_len, "--redis '%s': the database after '/' must be a number",
                       shown);
            return -EINVAL;
        }
        p->db = (int)v;
    } else if (*s != '\0' && strcmp(s, "/") != 0) {
        dbutil_fmt(err, err_len, "--redis '%s': unexpected '%c' after the host", shown, *s);
        return -EINVAL;
    }
    return 0;
}

/* ---- commands --------------------------------------------------------------------- */

static void disconnect(struct rprobe *p)
{
    if (p->c) {
        redisFree(p->c);
        p->c = NULL;
    }
}

/* Notes the first thing that could not be measured (later ones are counted only). */
static void note(struct rprobe *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct rprobe *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dbutil_vnote(p->st.error, sizeof p->st.error, fmt, ap);
    va_end(ap);
}

/* Sends one command (argv, argc) counted as own command `own`; returns the reply or
 * NULL (connection closed: the caller reconnects later).  An error reply is returned. */
static redisReply *cmd(struct rprobe *p, enum own_cmd own, int argc, const char **argv)
{
    redisReply *r = NULL;
    if (p->c == NULL) {
        return NULL;
    }
    p->own[own]++;
    p->own_seq++;
    r = redisCommandArgv(p->c, argc, argv, NULL);
    if (r == NULL) {
        note(p, "redis: connection lost: %s", p->c->errstr[0] ? p->c->errstr : "no reply");
        disconnect(p);
    }
    return r;
}

static int connect_server(struct rprobe *p, char *err, size_t err_len)
{
    struct timeval tv = {.tv_sec = 0, .tv_usec = CMD_TIMEOUT_MS * 1000};
    int rc = 0;
    redisReply *r = NULL;
    p->last_try_ns = clock_now_ns();
    p->c = redisConnectWithTimeout(p->host, p->port, tv);
    if (p->c == NULL || p->c->err) {
        dbutil_fmt(err, err_len, "redis: cannot connect to %s: %s", p->st.url_shown,
                   p->c ? p->c->errstr : "out of memory");
        disconnect(p);
        return -ECONNREFUSED;
    }
    redisSetTimeout(p->c, tv);
    if (p->has_password) {
        const char *av[3] = {"AUTH", p->user[0] ? p->user : p->password, p->password};
        r = cmd(p, OWN_AUTH, p->user[0] ? 3 : 2, av);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            dbutil_fmt(err, err_len, "redis: %s: authentication failed: %s", p->st.url_shown,
                       r ? r->str : "connection closed");
            rc = -EACCES;
        }
        freeReplyObject(r);
    }
    if (rc == 0) {
        const char *av[3] = {"CLIENT", "SETNAME", "brunt-probe"};
        r = cmd(p, OWN_SETNAME, 3, av);
        if (r && r->type == REDIS_REPLY_ERROR &&
            (strncmp(r->str, "NOAUTH", 6) == 0 || strncmp(r->str, "WRONGPASS", 9) == 0)) {
            dbutil_fmt(err, err_len,
                       "redis: %s: the server wants a password (redis://:PASSWORD@host:port): %s",
                       p->st.url_shown, r->str);
            rc = -EACCES;
        } else if (r == NULL) {
            dbutil_fmt(err, err_len, "redis: %s: connection closed right after connecting",
                       p->st.url_shown);
            rc = -ECONNRESET;
        }
        freeReplyObject(r);
    }
    if (rc != 0) {
        disconnect(p);
    }
    return rc;
}

/* Reads INFO (the sections the probe uses) into *out; returns 0 or -EIO. */
static int read_info(struct rprobe *p, struct rinfo *out, bool commandstats, struct rcmdstat *cs,
                     size_t *ncs)
{
    const char *av[7] = {"INFO",  "server",   "clients",     "memory",
                         "stats", "keyspace", "commandstats"};
    memset(out, 0, sizeof *out);
    out->own_seq = p->own_seq;
    redisReply *r = cmd(p, OWN_INFO, commandstats ? 7 : 6, av);
    int rc = 0;
    if (r == NULL || r->type != REDIS_REPLY_STRING) {
        if (r && r->type == REDIS_REPLY_ERROR) {
            note(p, "redis: INFO failed: %s", r->str);
        }
        rc = -EIO;
    } else {
        const char *t = r->str;
        size_t n = r->len;
        struct redisinfo_field f;
        if (redisinfo_get(t, n, "run_id", &f) && f.val_len < sizeof out->run_id) {
            memcpy(out->run_id, f.val, f.val_len);
        }
        if (redisinfo_get(t, n, "redis_version", &f) && f.val_len < sizeof out->version) {
            memcpy(out->version, f.val, f.val_len);
        }
        if (redisinfo_get(t, n, "maxmemory_policy", &f) && f.val_len < sizeof out->policy) {
            memcpy(out->policy, f.val, f.val_len);
        }
        redisinfo_u64(t, n, "total_commands_processed", &out->total_commands);
        redisinfo_u64(t, n, "keyspace_hits", &out->hits);
        redisinfo_u64(t, n, "keyspace_misses", &out->misses);
        redisinfo_u64(t, n, "evicted_keys", &out->evicted);
        redisinfo_u64(t, n, "expired_keys", &out->expired);
        redisinfo_u64(t, n, "rejected_connections", &out->rejected);
        redisinfo_u64(t, n, "total_error_replies", &out->error_replies);
        redisinfo_u64(t, n, "used_memory", &out->used_memory);
        redisinfo_u64(t, n, "used_memory_rss", &out->rss);
        redisinfo_u64(t, n, "maxmemory", &out->maxmemory);
        redisinfo_u64(t, n, "connected_clients", &out->connected);
        redisinfo_u64(t, n, "blocked_clients", &out->blocked);
        redisinfo_u64(t, n, "maxclients", &out->maxclients);
        redisinfo_double(t, n, "mem_fragmentation_ratio", &out->frag);
        out->ok = out->run_id[0] != '\0';
        if (!out->ok) {
            note(p, "redis: INFO %s", "had no run_id: not a Redis server?");
            rc = -EIO;
        }
        if (commandstats && cs && ncs) {
            struct redisinfo_iter it;
            *ncs = 0;
            redisinfo_iter_init(&it, t, n);
            while (redisinfo_next(&it, &f) && *ncs < REDIS_CMDS_MAX) {
                if (f.key_len <= 8 || memcmp(f.key, "cmdstat_", 8) != 0 ||
                    f.key_len - 8 >= sizeof cs[0].name) {
                    continue;
                }
                struct rcmdstat *c = &cs[*ncs];
                memset(c, 0, sizeof *c);
                memcpy(c->name, f.key + 8, f.key_len - 8);
                redisinfo_sub_u64(f.val, f.val_len, "calls", &c->calls);
                redisinfo_sub_u64(f.val, f.val_len, "usec", &c->usec);
                redisinfo_sub_u64(f.val, f.val_len, "rejected_calls", &c->rejected);
                redisinfo_sub_u64(f.val, f.val_len, "failed_calls", &c->failed);
                (*ncs)++;
            }
        }
    }
    freeReplyObject(r);
    return rc;
}

static int bucket_of_us(long long bound_us)
{
    int i = 0;
    while (i < REDIS_HIST_BUCKETS - 1 && (1LL << i) < bound_us) {
        i++;
    }
    return i;
}

/* Reads LATENCY HISTOGRAM into h (dense cumulative buckets); returns how many commands,
 * or -1 when the server does not have it (Redis < 7) or the connection failed. */
static int read_hist(struct rprobe *p, struct rhist *h)
{
    const char *av[2] = {"LATENCY", "HISTOGRAM"};
    redisReply *r = cmd(p, OWN_HIST, 2, av);
    int n = 0;
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        n = -1;
    } else {
        for (size_t i = 0; i + 1 < r->elements && n < REDIS_CMDS_MAX; i += 2) {
            redisReply *name = r->element[i], *body = r->element[i + 1];
            if (name->type != REDIS_REPLY_STRING || body->type != REDIS_REPLY_ARRAY ||
                name->len >= sizeof h[0].name) {
                continue;
            }
            struct rhist *e = &h[n];
            memset(e, 0, sizeof *e);
            memcpy(e->name, name->str, name->len);
            for (size_t j = 0; j + 1 < body->elements; j += 2) {
                redisReply *k = body->element[j], *v = body->element[j + 1];
                if (k->type != REDIS_REPLY_STRING) {
                    continue;
                }
                if (strcmp(k->str, "calls") == 0 && v->type == REDIS_REPLY_INTEGER) {
                    e->calls = (uint64_t)v->integer;
                } else if (strcmp(k->str, "histogram_usec") == 0 && v->type == REDIS_REPLY_ARRAY) {
                    /* Sparse cumulative pairs (bound, count): fill the dense buckets. */
                    int last = -1;
                    uint64_t lastv = 0;
                    for (size_t q = 0; q + 1 < v->elements; q += 2) {
                        if (v->element[q]->type != REDIS_REPLY_INTEGER ||
                            v->element[q + 1]->type != REDIS_REPLY_INTEGER) {
                            continue;
                        }
                        int b = bucket_of_us(v->element[q]->integer);
                        for (int z = last + 1; z < b; z++) {
                            e->cum[z] = lastv;
                        }
                        lastv = (uint64_t)v->element[q + 1]->integer;
                        e->cum[b] = lastv;
                        last = b;
                    }
                    for (int z = last + 1; z < REDIS_HIST_BUCKETS; z++) {
                        e->cum[z] = lastv;
                    }
                }
            }
            n++;
        }
    }
    freeReplyObject(r);
    return n;
}

static const struct rhist *hist_find(const struct rhist *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(h[i].name, name) == 0) {
            return &h[i];
        }
    }
    return NULL;
}

static int own_index(const char *name)
{
    for (int i = 0; i < OWN_N; i++) {
        if (strcmp(own_names[i], name) == 0) {
            return i;
        }
    }
    return -1;
}

/* A counter's increment from a to b: after a reset (restart) the count since it. */
static uint64_t inc(uint64_t a, uint64_t b, bool reset)
{
    return reset || b < a ? b : b - a;
}

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

    rc = connect_server(p, err, err_len);
    if (rc == 0) {
        const char *av[3] = {"CONFIG", "GET", "latency-monitor-threshold"};
        redisReply *r = cmd(p, OWN_CONFIG, 3, av);
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[1]->type == REDIS_REPLY_STRING) {
            p->st.latency_monitor_ms = atoll(r->element[1]->str);
        }
        freeReplyObject(r);
        av[2] = "slowlog-log-slower-than";
        r = cmd(p, OWN_CONFIG, 3, av);
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[1]->type == REDIS_REPLY_STRING) {
            p->st.slowlog_slower_than_us = atoll(r->element[1]->str);
        }
        freeReplyObject(r);
        const char *sv[3] = {"SLOWLOG", "GET", "1"};
        r = cmd(p, OWN_SLOWLOG, 3, sv);
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
            r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements > 0 &&
            r->element[0]->element[0]->type == REDIS_REPLY_INTEGER) {
            p->slow_start_id = r->element[0]->element[0]->integer;
        }
        freeReplyObject(r);
        memcpy(p->own_at_before, p->own, sizeof p->own);
        if (read_info(p, &p->before, true, p->cs_before, &p->ncs_before) != 0) {
            dbutil_fmt(err, err_len, "redis: %s: INFO failed: %s", p->st.url_shown,
                       p->st.error[0] ? p->st.error : "no reply");
            rc = -EIO;
            disconnect(p);
        }
    }
    if (rc == 0) {
        int nh = read_hist(p, p->h_before);
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
        note(p, "redis: %s",
             "the server restarted during the run (new run_id); the second "
             "it happened in is not counted");
    }
    uint64_t own = cur->own_seq - a->own_seq;
    uint64_t dcmd = inc(a->total_commands, cur->total_commands, reset);
    uint64_t ops = dcmd > own ? dcmd - own : 0;
    uint64_t hits = inc(a->hits, cur->hits, reset);
    uint64_t misses = inc(a->misses, cur->misses, reset);
    uint64_t evicted = inc(a->evicted, cur->evicted, reset);
    uint64_t expired = inc(a->expired, cur->expired, reset);
    uint64_t rejected = inc(a->rejected, cur->rejected, reset);
    uint64_t errors = inc(a->error_replies, cur->error_replies, reset);
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
        if (own_index(cur[i].name) >= 0) {
            continue;
        }
        const struct rhist *old = hist_find(p->h_prev, p->nh_prev, cur[i].name);
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
        if (connect_server(p, e, sizeof e) != 0) {
            note(p, "%s", e);
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
    if (p->c == NULL || read_info(p, &cur, false, NULL, NULL) != 0) {
        p->st.lost_samples++;
        return;
    }
    double last_t = p->st.nrows ? p->st.rows[p->st.nrows - 1].t_s : 0;
    account(p, &cur, reg, t_s, t_s - last_t);
    int nh = read_hist(p, p->h_tmp);
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
    redisReply *r = cmd(p, OWN_SLOWLOG, 3, av);
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
    redisReply *r = cmd(p, OWN_LATEST, 2, av);
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
    if (cs_after && p->c && read_info(p, &after, true, cs_after, &ncs_after) == 0) {
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
        int nh = read_hist(p, p->h_tmp);
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
            c.calls = inc(b ? b->calls : 0, cs_after[i].calls, reset);
            c.usec = inc(b ? b->usec : 0, cs_after[i].usec, reset);
            c.rejected_calls = inc(b ? b->rejected : 0, cs_after[i].rejected, reset);
            c.failed_calls = inc(b ? b->failed : 0, cs_after[i].failed, reset);
            int oi = own_index(c.name);
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
            const struct rhist *ha = nh > 0 ? hist_find(p->h_tmp, (size_t)nh, c.name) : NULL;
            const struct rhist *hb = hist_find(p->h_before, p->nh_before, c.name);
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
        note(p, "redis: %s",
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
    disconnect(p);
}

static double hist_pct_us(const struct redis_cmd *c, double q)
{
    if (c->hist_calls == 0) {
        return -1;
    }
    uint64_t want = (uint64_t)ceil(q * (double)c->hist_calls), seen = 0;
    for (int b = 0; b < REDIS_HIST_BUCKETS; b++) {
        seen += c->hist[b];
        if (seen >= want && seen > 0) {
            return (double)(1ULL << b);
        }
    }
    return (double)(1ULL << (REDIS_HIST_BUCKETS - 1));
}

static void rp_summary(void *self, FILE *f, bool color)
{
    struct rprobe *p = self;
    const struct redis_stats *s = &p->st;
    char buf[512], a[64], b[64];
    if (!dbutil_summary_head(f, "redis", s->url_shown, s->version, s->available, s->error)) {
        return;
    }
    double d = s->duration_s > 0 ? s->duration_s : 1;
    dbutil_fmt(buf, sizeof buf, "%llu (%.1f/s, peak %.0f/s)", (unsigned long long)s->ops,
               (double)s->ops / d, s->ops_per_s_max);
    dbutil_row(f, color, 4, "ops", buf);
    if (s->hit_rate >= 0) {
        dbutil_fmt(buf, sizeof buf, "%.2f%% (%llu hits, %llu misses)", s->hit_rate * 100,
                   (unsigned long long)s->hits, (unsigned long long)s->misses);
    } else {
        dbutil_fmt(buf, sizeof buf, "no key lookups");
    }
    dbutil_row(f, color, 4, "hit rate", buf);
    dbutil_fmt_bytes((double)s->used_memory, a, sizeof a);
    if (s->maxmemory) {
        dbutil_fmt_bytes((double)s->maxmemory, b, sizeof b);
        dbutil_fmt(buf, sizeof buf, "%s of %s maxmemory (%s), fragmentation %.2f", a, b,
                   s->maxmemory_policy, s->fragmentation);
    } else {
        dbutil_fmt(buf, sizeof buf, "%s (no maxmemory), fragmentation %.2f", a, s->fragmentation);
    }
    dbutil_row(f, color, 4, "memory", buf);
    dbutil_fmt(buf, sizeof buf, "%llu evicted, %llu expired", (unsigned long long)s->evicted,
               (unsigned long long)s->expired);
    dbutil_row(f, color, 4, "keys", buf);
    dbutil_fmt(buf, sizeof buf, "%llu connected (peak %llu), peak %llu blocked, %llu rejected",
               (unsigned long long)s->connected_clients, (unsigned long long)s->connected_max,
               (unsigned long long)s->blocked_max, (unsigned long long)s->rejected_connections);
    dbutil_row(f, color, 4, "clients", buf);
    if (s->ncmds > 0) {
        fprintf(f, "    top commands           calls     µs/call   server p50   p99\n");
        for (size_t i = 0; i < s->ncmds && i < 5; i++) {
            const struct redis_cmd *c = &s->cmds[i];
            double p50 = hist_pct_us(c, 0.5), p99 = hist_pct_us(c, 0.99);
            char q50[24] = "-", q99[24] = "-";
            if (p50 >= 0) {
                dbutil_fmt(q50, sizeof q50, "<=%.0fµs", p50);
                dbutil_fmt(q99, sizeof q99, "<=%.0fµs", p99);
            }
            fprintf(f, "      %-18s %9llu %11.2f %12s %6s\n", c->name, (unsigned long long)c->calls,
                    c->calls ? (double)c->usec / (double)c->calls : 0, q50, q99);
        }
    }
    if (s->slow_added > 0) {
        dbutil_fmt(buf, sizeof buf, "%llu entries added (slower than %lld µs), slowest: %s",
                   (unsigned long long)s->slow_added, (long long)s->slowlog_slower_than_us,
                   s->nslow ? s->slow[0].argv : "?");
        dbutil_row(f, color, 4, "slowlog", buf);
    }
    if (s->error[0]) {
        fprintf(f, "    note: %s\n", s->error);
    }
    dbutil_print_findings(f, color, p->findings, p->nfindings);
}

/* One row of the "series" member (dbutil_series_json). */
static double series_row(const void *rows, size_t i, uint64_t *v)
{
    const struct redis_row *r = (const struct redis_row *)rows + i;
    const uint64_t row[] = {0,          r->ops,         r->hits,      r->misses, r->evicted,
                            r->expired, r->used_memory, r->connected, r->blocked};
    memcpy(v, row, sizeof row);
    return r->t_s;
}

static int rp_to_json(void *self, struct jsonw *w)
{
    struct rprobe *p = self;
    const struct redis_stats *s = &p->st;
    double d = s->duration_s > 0 ? s->duration_s : 1;
    jsonw_obj_begin(w);
    jsonw_key(w, "url");
    jsonw_str(w, s->url_shown);
    dbutil_json_status(w, s->available, s->error);
    if (s->available) {
        jsonw_key(w, "version");
        jsonw_str(w, s->version);
        dbutil_json_run(w, s->duration_s, s->restarts, s->lost_samples);
        jsonw_key(w, "totals");
        jsonw_obj_begin(w);
        jsonw_key(w, "ops");
        jsonw_uint(w, s->ops);
        jsonw_key(w, "ops_per_s");
        jsonw_num(w, (double)s->ops / d);
        jsonw_key(w, "ops_per_s_max");
        jsonw_num(w, s->ops_per_s_max);
        jsonw_key(w, "keyspace_hits");
        jsonw_uint(w, s->hits);
        jsonw_key(w, "keyspace_misses");
        jsonw_uint(w, s->misses);
        jsonw_key(w, "hit_rate");
        if (s->hit_rate < 0) {
            jsonw_null(w);
        } else {
            jsonw_num(w, s->hit_rate);
        }
        jsonw_key(w, "evicted_keys");
        jsonw_uint(w, s->evicted);
        jsonw_key(w, "expired_keys");
        jsonw_uint(w, s->expired);
        jsonw_key(w, "rejected_connections");
        jsonw_uint(w, s->rejected_connections);
        jsonw_key(w, "error_replies");
        jsonw_uint(w, s->error_replies);
        jsonw_key(w, "probe_commands");
        jsonw_uint(w, s->own_commands);
        jsonw_obj_end(w);
        jsonw_key(w, "memory");
        jsonw_obj_begin(w);
        jsonw_key(w, "used_bytes");
        jsonw_uint(w, s->used_memory);
        jsonw_key(w, "used_max_bytes");
        jsonw_uint(w, s->used_memory_max);
        jsonw_key(w, "rss_bytes");
        jsonw_uint(w, s->used_memory_rss);
        jsonw_key(w, "maxmemory_bytes");
        jsonw_uint(w, s->maxmemory);
        jsonw_key(w, "maxmemory_policy");
        jsonw_str(w, s->maxmemory_policy);
        jsonw_key(w, "fragmentation_ratio");
        jsonw_num(w, s->fragmentation);
        jsonw_key(w, "fragmentation_max");
        jsonw_num(w, s->fragmentation_max);
        jsonw_obj_end(w);
        jsonw_key(w, "clients");
        jsonw_obj_begin(w);
        jsonw_key(w, "connected");
        jsonw_uint(w, s->connected_clients);
        jsonw_key(w, "connected_max");
        jsonw_uint(w, s->connected_max);
        jsonw_key(w, "blocked_max");
        jsonw_uint(w, s->blocked_max);
        jsonw_key(w, "maxclients");
        jsonw_uint(w, s->maxclients);
        jsonw_obj_end(w);
        jsonw_key(w, "commands");
        jsonw_arr_begin(w);
        for (size_t i = 0; i < s->ncmds; i++) {
            const struct redis_cmd *c = &s->cmds[i];
            jsonw_obj_begin(w);
            jsonw_key(w, "command");
            jsonw_str(w, c->name);
            jsonw_key(w, "calls");
            jsonw_uint(w, c->calls);
            jsonw_key(w, "usec");
            jsonw_uint(w, c->usec);
            jsonw_key(w, "usec_per_call");
            jsonw_num(w, c->calls ? (double)c->usec / (double)c->calls : 0);
            jsonw_key(w, "rejected_calls");
            jsonw_uint(w, c->rejected_calls);
            jsonw_key(w, "failed_calls");
            jsonw_uint(w, c->failed_calls);
            jsonw_key(w, "latency_histogram");
            jsonw_obj_begin(w);
            jsonw_key(w, "calls");
            jsonw_uint(w, c->hist_calls);
            double p50 = hist_pct_us(c, 0.5), p99 = hist_pct_us(c, 0.99);
            jsonw_key(w, "p50_le_us");
            if (p50 < 0) {
                jsonw_null(w);
            } else {
                jsonw_num(w, p50);
            }
            jsonw_key(w, "p99_le_us");
            if (p99 < 0) {
                jsonw_null(w);
            } else {
                jsonw_num(w, p99);
            }
            jsonw_key(w, "buckets_le_us");
            jsonw_obj_begin(w);
            for (int b = 0; b < REDIS_HIST_BUCKETS; b++) {
                if (c->hist[b]) {
                    char k[24];
                    dbutil_fmt(k, sizeof k, "%llu", 1ULL << b);
                    jsonw_key(w, k);
                    jsonw_uint(w, c->hist[b]);
                }
            }
            jsonw_obj_end(w);
            jsonw_obj_end(w);
            jsonw_obj_end(w);
        }
        jsonw_arr_end(w);
        jsonw_key(w, "slowlog");
        jsonw_obj_begin(w);
        jsonw_key(w, "slower_than_us");
        jsonw_int(w, s->slowlog_slower_than_us);
        jsonw_key(w, "added");
        jsonw_uint(w, s->slow_added);
        jsonw_key(w, "entries");
        jsonw_arr_begin(w);
        for (size_t i = 0; i < s->nslow; i++) {
            jsonw_obj_begin(w);
            jsonw_key(w, "id");
            jsonw_int(w, s->slow[i].id);
            jsonw_key(w, "unix_s");
            jsonw_int(w, s->slow[i].unix_s);
            jsonw_key(w, "duration_us");
            jsonw_int(w, s->slow[i].duration_us);
            jsonw_key(w, "command");
            jsonw_str(w, s->slow[i].argv);
            jsonw_key(w, "client");
            jsonw_str(w, s->slow[i].client);
            jsonw_obj_end(w);
        }
        jsonw_arr_end(w);
        jsonw_obj_end(w);
        jsonw_key(w, "latency_monitor");
        jsonw_obj_begin(w);
        jsonw_key(w, "threshold_ms");
        jsonw_int(w, s->latency_monitor_ms);
        jsonw_key(w, "latest");
        jsonw_str(w, s->latency_monitor_ms > 0 ? s->latency_latest : NULL);
        jsonw_obj_end(w);
        static const char *const cols[] = {"t_s",        "ops",       "hits",
                                           "misses",     "evicted",   "expired",
                                           "used_bytes", "connected", "blocked"};
        dbutil_series_json(w, cols, sizeof cols / sizeof cols[0], s->rows, s->nrows, series_row);
    }
    dbutil_findings_json(w, p->findings, p->nfindings);
    jsonw_obj_end(w);
    return jsonw_error(w);
}

static size_t rp_findings(void *self, struct finding *out, size_t cap)
{
    struct rprobe *p = self;
    return dbutil_findings_copy(p->findings, p->nfindings, out, cap);
}

static void rp_free(void *self)
{
    struct rprobe *p = self;
    disconnect(p);
    free(p->st.rows);
    explicit_bzero(p->password, sizeof p->password);
    free(p);
}

static const struct probe_ops redis_ops = {
    .name = "redis",
    .start = rp_start,
    .sample = rp_sample,
    .stop = rp_stop,
    .summary = rp_summary,
    .to_json = rp_to_json,
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
        rc = parse_url(p, url, err, err_len);
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
