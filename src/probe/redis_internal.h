/*
 * redis_internal — what the parts of the Redis probe share (probe/redis*.c): its state
 * (struct rprobe), the probe's own commands, and the functions one part calls in
 * another.  redis.c has the ops and the sampling, redisconn.c the URL, the connection
 * and the commands, redisout.c the summary and the JSON.  Internal to probe/.
 */
#ifndef BRUNT_PROBE_REDIS_INTERNAL_H
#define BRUNT_PROBE_REDIS_INTERNAL_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/clock.h"
#include "core/json.h"
#include "probe/dbutil.h"
#include "probe/redis.h"
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

int redis__parse_url(struct rprobe *p, const char *url, char *err, size_t err_len);

void redis__disconnect(struct rprobe *p);

void redis__note(struct rprobe *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sends one command (argv, argc) counted as own command `own`; returns the reply or
 * NULL (connection closed: the caller reconnects later).  An error reply is returned. */
redisReply *redis__cmd(struct rprobe *p, enum own_cmd own, int argc, const char **argv);

int redis__connect_server(struct rprobe *p, char *err, size_t err_len);

/* Reads INFO (the sections the probe uses) into *out; returns 0 or -EIO. */
int redis__read_info(struct rprobe *p, struct rinfo *out, bool commandstats, struct rcmdstat *cs,
                     size_t *ncs);

/* Reads LATENCY HISTOGRAM into h (dense cumulative buckets); returns how many commands,
 * or -1 when the server does not have it (Redis < 7) or the connection failed. */
int redis__read_hist(struct rprobe *p, struct rhist *h);

const struct rhist *redis__hist_find(const struct rhist *h, size_t n, const char *name);

int redis__own_index(const char *name);

/* A counter's increment from a to b: after a reset (restart) the count since it. */
uint64_t redis__inc(uint64_t a, uint64_t b, bool reset);

void redis__summary(void *self, FILE *f, bool color);

int redis__to_json(void *self, struct jsonw *w);

#endif
