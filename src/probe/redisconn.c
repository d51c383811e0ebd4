/*
 * redisconn — the Redis probe's connection: the redis:// URL (with the password kept
 * out of every message), connecting and authenticating, and commands under a deadline,
 * each counted as the probe's own so the figures can leave them out.  See
 * redis_internal.h.  The probe's thread.
 */
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

int redis__parse_url(struct rprobe *p, const char *url, char *err, size_t err_len)
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

void redis__disconnect(struct rprobe *p)
{
    if (p->c) {
        redisFree(p->c);
        p->c = NULL;
    }
}

/* Notes the first thing that could not be measured (later ones are counted only). */
void redis__note(struct rprobe *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dbutil_vnote(p->st.error, sizeof p->st.error, fmt, ap);
    va_end(ap);
}

/* Sends one command (argv, argc) counted as own command `own`; returns the reply or
 * NULL (connection closed: the caller reconnects later).  An error reply is returned. */
redisReply *redis__cmd(struct rprobe *p, enum own_cmd own, int argc, const char **argv)
{
    redisReply *r = NULL;
    if (p->c == NULL) {
        return NULL;
    }
    p->own[own]++;
    p->own_seq++;
    r = redisCommandArgv(p->c, argc, argv, NULL);
    if (r == NULL) {
        redis__note(p, "redis: connection lost: %s", p->c->errstr[0] ? p->c->errstr : "no reply");
        redis__disconnect(p);
    }
    return r;
}

int redis__connect_server(struct rprobe *p, char *err, size_t err_len)
{
    struct timeval tv = {.tv_sec = 0, .tv_usec = CMD_TIMEOUT_MS * 1000};
    int rc = 0;
    redisReply *r = NULL;
    p->last_try_ns = clock_now_ns();
    p->c = redisConnectWithTimeout(p->host, p->port, tv);
    if (p->c == NULL || p->c->err) {
        dbutil_fmt(err, err_len, "redis: cannot connect to %s: %s", p->st.url_shown,
                   p->c ? p->c->errstr : "out of memory");
        redis__disconnect(p);
        return -ECONNREFUSED;
    }
    redisSetTimeout(p->c, tv);
    if (p->has_password) {
        const char *av[3] = {"AUTH", p->user[0] ? p->user : p->password, p->password};
        r = redis__cmd(p, OWN_AUTH, p->user[0] ? 3 : 2, av);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            dbutil_fmt(err, err_len, "redis: %s: authentication failed: %s", p->st.url_shown,
                       r ? r->str : "connection closed");
            rc = -EACCES;
        }
        freeReplyObject(r);
    }
    if (rc == 0) {
        const char *av[3] = {"CLIENT", "SETNAME", "brunt-probe"};
        r = redis__cmd(p, OWN_SETNAME, 3, av);
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
        redis__disconnect(p);
    }
    return rc;
}

/* Reads INFO (the sections the probe uses) into *out; returns 0 or -EIO. */
int redis__read_info(struct rprobe *p, struct rinfo *out, bool commandstats, struct rcmdstat *cs,
                     size_t *ncs)
{
    const char *av[7] = {"INFO",  "server",   "clients",     "memory",
                         "stats", "keyspace", "commandstats"};
    memset(out, 0, sizeof *out);
    out->own_seq = p->own_seq;
    redisReply *r = redis__cmd(p, OWN_INFO, commandstats ? 7 : 6, av);
    int rc = 0;
    if (r == NULL || r->type != REDIS_REPLY_STRING) {
        if (r && r->type == REDIS_REPLY_ERROR) {
            redis__note(p, "redis: INFO failed: %s", r->str);
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
            redis__note(p, "redis: INFO %s", "had no run_id: not a Redis server?");
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
int redis__read_hist(struct rprobe *p, struct rhist *h)
{
    const char *av[2] = {"LATENCY", "HISTOGRAM"};
    redisReply *r = redis__cmd(p, OWN_HIST, 2, av);
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

const struct rhist *redis__hist_find(const struct rhist *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(h[i].name, name) == 0) {
            return &h[i];
        }
    }
    return NULL;
}

int redis__own_index(const char *name)
{
    for (int i = 0; i < OWN_N; i++) {
        if (strcmp(own_names[i], name) == 0) {
            return i;
        }
    }
    return -1;
}

/* A counter's increment from a to b: after a reset (restart) the count since it. */
uint64_t redis__inc(uint64_t a, uint64_t b, bool reset)
{
    return reset || b < a ? b : b - a;
}
