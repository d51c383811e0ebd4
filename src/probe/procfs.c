/*
 * procfs — parsers for /proc and cgroup v2 text (procfs.h).  Every scan is bounded by
 * the buffer's length; numbers that overflow 64 bits are errors, not wrapped.
 */
#include "probe/procfs.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* Parses an unsigned decimal at buf[*pos..len); advances *pos.  -EINVAL when none. */
static int scan_u64(const char *buf, size_t len, size_t *pos, uint64_t *out)
{
    size_t i = *pos;
    uint64_t v = 0;
    size_t start = i;
    while (i < len && buf[i] >= '0' && buf[i] <= '9') {
        uint64_t d = (uint64_t)(buf[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return -EINVAL;
        }
        v = v * 10 + d;
        i++;
    }
    if (i == start) {
        return -EINVAL;
    }
    *pos = i;
    *out = v;
    return 0;
}

static int scan_i64(const char *buf, size_t len, size_t *pos, int64_t *out)
{
    bool neg = *pos < len && buf[*pos] == '-';
    size_t p = *pos + (neg ? 1 : 0);
    uint64_t v;
    if (scan_u64(buf, len, &p, &v) < 0 || v > (uint64_t)INT64_MAX) {
        return -EINVAL;
    }
    *pos = p;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* A non-negative decimal with an optional fraction ("12.34"). */
static int scan_double(const char *buf, size_t len, size_t *pos, double *out)
{
    uint64_t ip;
    size_t p = *pos;
    if (scan_u64(buf, len, &p, &ip) < 0) {
        return -EINVAL;
    }
    double v = (double)ip;
    if (p < len && buf[p] == '.') {
        p++;
        double scale = 0.1;
        while (p < len && buf[p] >= '0' && buf[p] <= '9') {
            v += scale * (buf[p] - '0');
            scale /= 10;
            p++;
        }
    }
    *pos = p;
    *out = v;
    return 0;
}

static void skip_spaces(const char *buf, size_t len, size_t *pos)
{
    while (*pos < len && (buf[*pos] == ' ' || buf[*pos] == '\t')) {
        (*pos)++;
    }
}

/* Start of the next line after pos (len when none). */
static size_t next_line(const char *buf, size_t len, size_t pos)
{
    const char *nl = memchr(buf + pos, '\n', len - pos);
    return nl != NULL ? (size_t)(nl - buf) + 1 : len;
}

static bool starts_with(const char *buf, size_t len, size_t pos, const char *lit)
{
    size_t n = strlen(lit);
    return len - pos >= n && memcmp(buf + pos, lit, n) == 0;
}

int procfs_parse_stat(const char *buf, size_t len, struct procfs_stat *out)
{
    /* "pid (comm) state ppid ...": comm may hold spaces and ')', so the last ')' ends it. */
    size_t pos = 0;
    int64_t pid;
    if (scan_i64(buf, len, &pos, &pid) < 0 || pos >= len || buf[pos] != ' ' || pos + 1 >= len ||
        buf[pos + 1] != '(') {
        return -EINVAL;
    }
    size_t open = pos + 2, close = len;
    for (size_t i = len; i > open; i--) {
        if (buf[i - 1] == ')') {
            close = i - 1;
            break;
        }
    }
    if (close == len || close + 2 >= len) {
        return -EINVAL;
    }
    size_t n = close - open < sizeof out->comm - 1 ? close - open : sizeof out->comm - 1;
    memcpy(out->comm, buf + open, n);
    out->comm[n] = '\0';
    out->pid = (int)pid;
    pos = close + 2;
    out->state = buf[pos++];
    /* Fields from 4 (ppid) on, 1-based as in proc(5). */
    for (int field = 4; field <= 24; field++) {
        skip_spaces(buf, len, &pos);
        int64_t v;
        if (scan_i64(buf, len, &pos, &v) < 0) {
            return field > 22 ? 0 : -EINVAL; /* old kernels end early; we need up to 22 */
        }
        uint64_t u = v < 0 ? 0 : (uint64_t)v;
        switch (field) {
        case 4:
            out->ppid = (int)v;
            break;
        case 12:
            out->majflt = u;
            break;
        case 14:
            out->utime = u;
            break;
        case 15:
            out->stime = u;
            break;
        case 16:
            out->cutime = u;
            break;
        case 17:
            out->cstime = u;
            break;
        case 20:
            out->num_threads = v;
            break;
        case 22:
            out->starttime = u;
            break;
        case 24:
            out->rss_pages = u;
            break;
        default:
            break;
        }
    }
    return 0;
}

/* For "Key:\t value [kB]" files: calls back per known key. */
static int kv_u64(const char *buf, size_t len, size_t pos, uint64_t *out)
{
    skip_spaces(buf, len, &pos);
    return scan_u64(buf, len, &pos, out);
}

/* One key of a keyed file and where its value goes in the output struct. */
struct keyed {
    const char *key; /* with its separator: "VmRSS:", "usage_usec " */
    size_t off;      /* of a uint64_t in the output struct */
};

/* The lines of buf that start with one of the n keys: each one's number (after white
 * space; a " kB" after it is ignored) into out at its offset.  0 when any key was found,
 * else -EINVAL.  status, io, cpu.stat and meminfo differ only in their keys. */
static int parse_keyed(const char *buf, size_t len, const struct keyed *keys, size_t n, void *out)
{
    int found = 0;
    for (size_t pos = 0; pos < len; pos = next_line(buf, len, pos)) {
        for (size_t k = 0; k < n; k++) {
            if (starts_with(buf, len, pos, keys[k].key)) {
                uint64_t v;
                if (kv_u64(buf, len, pos + strlen(keys[k].key), &v) == 0) {
                    memcpy((char *)out + keys[k].off, &v, sizeof v);
                    found++;
                }
                break;
            }
        }
    }
    return found > 0 ? 0 : -EINVAL;
}

int procfs_parse_status(const char *buf, size_t len, struct procfs_status *out)
{
    static const struct keyed keys[] = {
        {"VmRSS:", offsetof(struct procfs_status, vm_rss_kb)},
        {"RssAnon:", offsetof(struct procfs_status, rss_anon_kb)},
        {"RssFile:", offsetof(struct procfs_status, rss_file_kb)},
        {"Threads:", offsetof(struct procfs_status, threads)},
        {"voluntary_ctxt_switches:", offsetof(struct procfs_status, voluntary_ctxt)},
        {"nonvoluntary_ctxt_switches:", offsetof(struct procfs_status, nonvoluntary_ctxt)},
    };
    return parse_keyed(buf, len, keys, sizeof keys / sizeof keys[0], out);
}

int procfs_parse_io(const char *buf, size_t len, struct procfs_io *out)
{
    static const struct keyed keys[] = {
        {"rchar:", offsetof(struct procfs_io, rchar)},
        {"wchar:", offsetof(struct procfs_io, wchar)},
        {"read_bytes:", offsetof(struct procfs_io, read_bytes)},
        {"write_bytes:", offsetof(struct procfs_io, write_bytes)},
    };
    return parse_keyed(buf, len, keys, sizeof keys / sizeof keys[0], out);
}

int procfs_parse_schedstat(const char *buf, size_t len, struct procfs_schedstat *out)
{
    size_t pos = 0;
    uint64_t v[3];
    for (int i = 0; i < 3; i++) {
        skip_spaces(buf, len, &pos);
        if (scan_u64(buf, len, &pos, &v[i]) < 0) {
            return -EINVAL;
        }
    }
    out->cpu_ns = v[0];
    out->wait_ns = v[1];
    out->slices = v[2];
    return 0;
}

int procfs_parse_cgroup(const char *buf, size_t len, char *out, size_t cap)
{
    for (size_t pos = 0; pos < len; pos = next_line(buf, len, pos)) {
        if (!starts_with(buf, len, pos, "0::")) {
            continue;
        }
        size_t start = pos + 3, end = start;
        while (end < len && buf[end] != '\n') {
            end++;
        }
        if (end - start + 1 > cap) {
            return -ENAMETOOLONG;
        }
        memcpy(out, buf + start, end - start);
        out[end - start] = '\0';
        return 0;
    }
    return -ENOENT;
}

int procfs_parse_cpu_max(const char *buf, size_t len, double *cores)
{
    size_t pos = 0;
    uint64_t quota = 0, period;
    bool unlimited = starts_with(buf, len, 0, "max");
    if (unlimited) {
        pos = 3;
    } else if (scan_u64(buf, len, &pos, &quota) < 0) {
        return -EINVAL;
    }
    skip_spaces(buf, len, &pos);
    if (scan_u64(buf, len, &pos, &period) < 0 || period == 0) {
        return -EINVAL;
    }
    *cores = unlimited ? 0 : (double)quota / (double)period;
    return 0;
}

int procfs_parse_max(const char *buf, size_t len, uint64_t *bytes)
{
    size_t pos = 0;
    if (starts_with(buf, len, 0, "max")) {
        *bytes = 0;
        return 0;
    }
    return scan_u64(buf, len, &pos, bytes);
}

int procfs_parse_cpu_stat(const char *buf, size_t len, struct procfs_cpu_stat *out)
{
    static const struct keyed keys[] = {
        {"usage_usec ", offsetof(struct procfs_cpu_stat, usage_usec)},
        {"user_usec ", offsetof(struct procfs_cpu_stat, user_usec)},
        {"system_usec ", offsetof(struct procfs_cpu_stat, system_usec)},
        {"nr_periods ", offsetof(struct procfs_cpu_stat, nr_periods)},
        {"nr_throttled ", offsetof(struct procfs_cpu_stat, nr_throttled)},
        {"throttled_usec ", offsetof(struct procfs_cpu_stat, throttled_usec)},
    };
    return parse_keyed(buf, len, keys, sizeof keys / sizeof keys[0], out);
}

int procfs_parse_psi(const char *buf, size_t len, struct procfs_psi *out)
{
    int lines = 0;
    for (size_t pos = 0; pos < len; pos = next_line(buf, len, pos)) {
        bool some = starts_with(buf, len, pos, "some ");
        bool full = starts_with(buf, len, pos, "full ");
        if (!some && !full) {
            continue;
        }
        size_t end = next_line(buf, len, pos);
        double avg10 = 0;
        uint64_t total = 0;
        int got = 0;
        for (size_t p = pos + 5; p < end;) {
            if (starts_with(buf, end, p, "avg10=")) {
                p += 6;
                got += scan_double(buf, end, &p, &avg10) == 0;
            } else if (starts_with(buf, end, p, "total=")) {
                p += 6;
                got += scan_u64(buf, end, &p, &total) == 0;
            } else {
                p++;
            }
        }
        if (got < 2) {
            return -EINVAL;
        }
        if (some) {
            out->some_avg10 = avg10;
            out->some_total_us = total;
        } else {
            out->full_avg10 = avg10;
            out->full_total_us = total;
            out->has_full = 1;
        }
        lines++;
    }
    return lines > 0 ? 0 : -EINVAL;
}

int procfs_parse_proc_stat(const char *buf, size_t len, struct procfs_cpu *out)
{
    bool have = false;
    out->n_cpus = 0;
    for (size_t pos = 0; pos < len; pos = next_line(buf, len, pos)) {
        if (starts_with(buf, len, pos, "cpu ")) {
            size_t p = pos + 4;
            uint64_t *f[] = {&out->user,   &out->nice, &out->system,  &out->idle,
                             &out->iowait, &out->irq,  &out->softirq, &out->steal};
            for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
                skip_spaces(buf, len, &p);
                if (scan_u64(buf, len, &p, f[i]) < 0) {
                    if (i < 4) {
                        return -EINVAL;
                    }
                    break;
                }
            }
            have = true;
        } else if (starts_with(buf, len, pos, "cpu") && len - pos > 3 && buf[pos + 3] >= '0' &&
                   buf[pos + 3] <= '9') {
            out->n_cpus++;
        }
    }
    return have ? 0 : -EINVAL;
}

int procfs_parse_meminfo(const char *buf, size_t len, struct procfs_meminfo *out)
{
    static const struct keyed keys[] = {
        {"MemTotal:", offsetof(struct procfs_meminfo, mem_total_kb)},
        {"MemAvailable:", offsetof(struct procfs_meminfo, mem_available_kb)},
        {"SwapTotal:", offsetof(struct procfs_meminfo, swap_total_kb)},
        {"SwapFree:", offsetof(struct procfs_meminfo, swap_free_kb)},
    };
    return parse_keyed(buf, len, keys, sizeof keys / sizeof keys[0], out);
}

int procfs_parse_loadavg(const char *buf, size_t len, double *load1, double *load5, double *load15)
{
    size_t pos = 0;
    double *v[] = {load1, load5, load15};
    for (int i = 0; i < 3; i++) {
        skip_spaces(buf, len, &pos);
        if (scan_double(buf, len, &pos, v[i]) < 0) {
            return -EINVAL;
        }
    }
    return 0;
}

int procfs_parse_netdev(const char *buf, size_t len, struct procfs_netdev *out)
{
    for (size_t pos = 0; pos < len; pos = next_line(buf, len, pos)) {
        size_t end = next_line(buf, len, pos);
        const char *colon = memchr(buf + pos, ':', end - pos);
        if (colon == NULL) {
            continue; /* the two header lines have '|' and no ':' */
        }
        size_t p = (size_t)(colon - buf) + 1;
        uint64_t f[16];
        int n = 0;
        while (n < 16) {
            skip_spaces(buf, end, &p);
            if (scan_u64(buf, end, &p, &f[n]) < 0) {
                break;
            }
            n++;
        }
        if (n < 12) {
            return -EINVAL;
        }
        /* rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes ... */
        out->rx_bytes += f[0];
        out->rx_drops += f[3];
        out->tx_bytes += f[8];
        out->tx_drops += f[11];
        out->n_ifaces++;
    }
    return out->n_ifaces > 0 ? 0 : -EINVAL;
}

int procfs_snmp_get(const char *buf, size_t len, const char *prefix, const char *name,
                    uint64_t *value)
{
    size_t plen = strlen(prefix), nlen = strlen(name);
    for (size_t pos = 0; pos < len; pos = next_line(buf, len, pos)) {
        size_t end = next_line(buf, len, pos);
        if (!(end - pos > plen && memcmp(buf + pos, prefix, plen) == 0 && buf[pos + plen] == ':')) {
            continue;
        }
        /* The names line; the values line follows with the same prefix. */
        size_t vpos = end;
        size_t vend = next_line(buf, len, vpos);
        if (!(vend - vpos > plen && memcmp(buf + vpos, prefix, plen) == 0 &&
              buf[vpos + plen] == ':')) {
            return -EINVAL;
        }
        size_t p = pos + plen + 1, q = vpos + plen + 1;
        for (;;) {
            skip_spaces(buf, end, &p);
            skip_spaces(buf, vend, &q);
            size_t s = p;
            while (p < end && buf[p] != ' ' && buf[p] != '\n') {
                p++;
            }
            if (p == s) {
                return -ENOENT;
            }
            int64_t v;
            if (scan_i64(buf, vend, &q, &v) < 0) {
                return -EINVAL;
            }
            if (p - s == nlen && memcmp(buf + s, name, nlen) == 0) {
                *value = v < 0 ? 0 : (uint64_t)v;
                return 0;
            }
        }
    }
    return -ENOENT;
}
