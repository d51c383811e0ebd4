/*
 * prom — the live /metrics endpoint (prom.h).  One thread: poll() on the listening
 * socket and a stop pipe, then each connection served in turn with a bounded read of
 * its request head (2 s, 8 KiB) and one write of the latest text, then close.  The text
 * is rendered by the coordinator in prom_tick() and handed over under a mutex.
 */
#include "output/prom.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "metrics/hist.h"
#include "metrics/registry.h"

struct prom {
    int lfd;
    int stop_pipe[2];
    uint16_t port;
    enum prom_names names;
    double bounds[PROM_MAX_BOUNDS]; /* seconds, ascending, unique */
    size_t n_bounds;
    pthread_t thread;
    pthread_mutex_t mu;
    char *text; /* the latest exposition, owned; under mu */
    size_t text_len;
};

/* Latency bucket edges in seconds: 0.5 ms .. 60 s. */
static const double default_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                        0.25,   0.5,   1,      2.5,   5,    10,    30,   60};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- rendering ------------------------------------------------------------------- */

static int name_part(struct dynbuf *b, const char *s, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char c = s[i];
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        rc = dynbuf_addc(b, ok ? c : '_');
    }
    return rc;
}

static int label_value(struct dynbuf *b, const char *s, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char c = s[i];
        rc = c == '\\'   ? dynbuf_adds(b, "\\\\")
             : c == '"'  ? dynbuf_adds(b, "\\\"")
             : c == '\n' ? dynbuf_adds(b, "\\n")
                         : dynbuf_addc(b, c);
    }
    return rc;
}

/* {k="v",...[,extra]}: the series' tags as labels, plus an extra label when given. */
static int labels(struct dynbuf *b, const char *tags, const char *extra_key, const char *extra_val)
{
    int rc = 0;
    bool any = false;
    const char *p = tags;
    while (p != NULL && *p && rc == 0) {
        const char *end = strchr(p, TAGS_SEP);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t kl = eq ? (size_t)(eq - p) : len;
        if (kl > 0) {
            rc |= dynbuf_adds(b, any ? "," : "{");
            if (p[0] >= '0' && p[0] <= '9') {
                rc |= dynbuf_addc(b, '_');
            }
            rc |= name_part(b, p, kl);
            rc |= dynbuf_adds(b, "=\"");
            if (eq != NULL) {
                rc |= label_value(b, eq + 1, len - kl - 1);
            }
            rc |= dynbuf_addc(b, '"');
            any = true;
        }
        p = end ? end + 1 : NULL;
    }
    if (extra_key != NULL) {
        rc |= dynbuf_addf(b, "%s%s=\"%s\"", any ? "," : "{", extra_key, extra_val);
        any = true;
    }
    if (any) {
        rc |= dynbuf_addc(b, '}');
    }
    return rc;
}

static int value(struct dynbuf *b, double v)
{
    if (isnan(v)) {
        return dynbuf_adds(b, " NaN\n");
    }
    if (isinf(v)) {
        return dynbuf_adds(b, v > 0 ? " +Inf\n" : " -Inf\n");
    }
    return dynbuf_addf(b, " %.17g\n", v);
}

/* The family name: prefix + metric + suffix, sanitised. */
static int family(struct dynbuf *b, enum prom_names names, const char *metric, const char *suffix)
{
    int rc = dynbuf_adds(b, names == PROM_NAMES_K6 ? "k6_" : "brunt_");
    rc |= name_part(b, metric, strlen(metric));
    rc |= dynbuf_adds(b, suffix);
    return rc;
}

static int help_type(struct dynbuf *b, enum prom_names names, const char *metric,
                     const char *suffix, const char *desc, const char *type)
{
    int rc = dynbuf_adds(b, "# HELP ");
    rc |= family(b, names, metric, suffix);
    rc |= dynbuf_addc(b, ' ');
    for (const char *d = desc ? desc : metric; *d && rc == 0; d++) {
        rc |= *d == '\\'   ? dynbuf_adds(b, "\\\\")
              : *d == '\n' ? dynbuf_adds(b, "\\n")
                           : dynbuf_addc(b, *d);
    }
    rc |= dynbuf_adds(b, "\n# TYPE ");
    rc |= family(b, names, metric, suffix);
    rc |= dynbuf_addf(b, " %s\n", type);
    return rc;
}

static int sample(struct dynbuf *b, enum prom_names names, const char *metric, const char *suffix,
                  const char *tags, const char *ek, const char *ev, double v)
{
    int rc = family(b, names, metric, suffix);
    rc |= labels(b, tags, ek, ev);
    rc |= value(b, v);
    return rc;
}

static int render_histogram(struct dynbuf *b, const struct series *s, const char *metric,
                            const double *bounds, size_t n_bounds)
{
    uint64_t cum[PROM_MAX_BOUNDS] = {0};
    size_t cursor = 0;
    uint64_t v, c;
    while (hist_next_bucket(s->hist, &cursor, &v, &c)) {
        double sec = (double)v / 1e9;
        for (size_t i = 0; i < n_bounds; i++) {
            if (sec <= bounds[i]) {
                cum[i] += c;
            }
        }
    }
    int rc = 0;
    for (size_t i = 0; i < n_bounds; i++) {
        char le[32];
        snprintf(le, sizeof le, "%g", bounds[i]);
        rc |= sample(b, PROM_NAMES_BRUNT, metric, "_seconds_bucket", s->tags, "le", le,
                     (double)cum[i]);
    }
    uint64_t count = hist_count(s->hist);
    rc |= sample(b, PROM_NAMES_BRUNT, metric, "_seconds_bucket", s->tags, "le", "+Inf",
                 (double)count);
    rc |= sample(b, PROM_NAMES_BRUNT, metric, "_seconds_sum", s->tags, NULL, NULL,
                 hist_sum_ns(s->hist) / 1e9);
    rc |= sample(b, PROM_NAMES_BRUNT, metric, "_seconds_count", s->tags, NULL, NULL, (double)count);
    return rc;
}

static const struct {
    const char *suffix;
    double q; /* < 0: avg, min, max */
} trend_stats[] = {{"_avg", -1},  {"_min", -2},   {"_med", 0.5}, {"_max", -3},
                   {"_p90", 0.9}, {"_p95", 0.95}, {"_p99", 0.99}};

static double trend_stat(const struct series *s, double q, double scale)
{
    if (q == -1) {
        return hist_mean_ns(s->hist) * scale;
    }
    if (q == -2) {
        return (double)hist_min_ns(s->hist) * scale;
    }
    if (q == -3) {
        return (double)hist_max_ns(s->hist) * scale;
    }
    return (double)hist_quantile_ns(s->hist, q) * scale;
}

/* Every series of metric m in reg, as one or more families. */
static int render_metric(struct dynbuf *b, const struct registry *reg, int m, enum prom_names names,
                         const double *bounds, size_t n_bounds)
{
    const struct metric_info *mi = &metric_info[m];
    size_t n = registry_len(reg);
    bool any = false;
    for (size_t i = 0; i < n && !any; i++) {
        any = registry_at_const(reg, (int)i)->metric == m;
    }
    if (!any) {
        return 0;
    }
    int rc = 0;
    bool k6 = names == PROM_NAMES_K6;
    bool time = mi->contains == CONTAINS_TIME;
    const char *unit = mi->contains == CONTAINS_DATA && !k6 ? "_bytes" : "";
    char suffix[32];
    switch (mi->type) {
    case METRIC_COUNTER:
        snprintf(suffix, sizeof suffix, "%s_total", unit);
        rc |= help_type(b, names, mi->name, suffix, mi->desc, "counter");
        for (size_t i = 0; i < n; i++) {
            const struct series *s = registry_at_const(reg, (int)i);
            if (s->metric == m) {
                rc |= sample(b, names, mi->name, suffix, s->tags, NULL, NULL, s->sum);
            }
        }
        break;
    case METRIC_GAUGE:
        rc |= help_type(b, names, mi->name, unit, mi->desc, "gauge");
        for (size_t i = 0; i < n; i++) {
            const struct series *s = registry_at_const(reg, (int)i);
            if (s->metric == m) {
                rc |= sample(b, names, mi->name, unit, s->tags, NULL, NULL, s->sum);
            }
        }
        break;
    case METRIC_RATE:
        rc |= help_type(b, names, mi->name, "_rate", mi->desc, "gauge");
        for (size_t i = 0; i < n; i++) {
            const struct series *s = registry_at_const(reg, (int)i);
            if (s->metric == m) {
                rc |= sample(b, names, mi->name, "_rate", s->tags, NULL, NULL,
                             s->total ? (double)s->trues / (double)s->total : 0);
            }
        }
        if (!k6) {
            for (int pass = 0; pass < 2; pass++) {
                const char *sfx = pass == 0 ? "_samples_total" : "_hits_total";
                rc |= help_type(b, names, mi->name, sfx,
                                pass == 0 ? "samples of the rate" : "non-zero samples of the rate",
                                "counter");
                for (size_t i = 0; i < n; i++) {
                    const struct series *s = registry_at_const(reg, (int)i);
                    if (s->metric == m) {
                        rc |= sample(b, names, mi->name, sfx, s->tags, NULL, NULL,
                                     (double)(pass == 0 ? s->total : s->trues));
                    }
                }
            }
        }
        break;
    case METRIC_TREND:
        if (!k6 && time) {
            rc |= help_type(b, names, mi->name, "_seconds", mi->desc, "histogram");
            for (size_t i = 0; i < n; i++) {
                const struct series *s = registry_at_const(reg, (int)i);
                if (s->metric == m && s->hist != NULL) {
                    rc |= render_histogram(b, s, mi->name, bounds, n_bounds);
                }
            }
            break;
        }
        /* k6 (and brunt for non-time trends): one gauge family per statistic. */
        for (size_t k = 0; k < sizeof trend_stats / sizeof trend_stats[0]; k++) {
            rc |= help_type(b, names, mi->name, trend_stats[k].suffix, mi->desc, "gauge");
            for (size_t i = 0; i < n; i++) {
                const struct series *s = registry_at_const(reg, (int)i);
                if (s->metric == m && s->hist != NULL && hist_count(s->hist) > 0) {
                    rc |= sample(
                        b, names, mi->name, trend_stats[k].suffix, s->tags, NULL, NULL,
                        /* stored: ns, or millionths of the unit shown */
                        trend_stat(s, trend_stats[k].q, time ? 1e-9 : 1 / metric_trend_div(m)));
                }
            }
        }
        break;
    }
    return rc;
}

int prom_render(const struct run_report *r, enum prom_names names, const double *bounds_s,
                size_t n_bounds, struct dynbuf *out)
{
    int rc = dynbuf_adds(out, "# HELP brunt_up 1 while brunt serves this run\n"
                              "# TYPE brunt_up gauge\nbrunt_up 1\n");
    if (r != NULL && r->total != NULL) {
        double elapsed = (double)r->duration_ns / 1e9;
        if (r->n_rows > 0) {
            elapsed = (double)r->rows[r->n_rows - 1].t + 1;
        }
        rc |= dynbuf_addf(out,
                          "# HELP brunt_run_seconds seconds of the run covered by these totals\n"
                          "# TYPE brunt_run_seconds gauge\nbrunt_run_seconds %.17g\n",
                          elapsed);
        for (int m = 0; m < metric_count() && rc == 0; m++) {
            rc |= render_metric(out, r->total, m, names, bounds_s, n_bounds);
        }
    }
    return rc ? -E2BIG : 0;
}

void prom_tick(const struct run_report *r, void *data)
{
    struct prom *p = data;
    struct dynbuf b;
    dynbuf_init(&b, PROM_MAX_TEXT);
    if (prom_render(r, p->names, p->bounds, p->n_bounds, &b) < 0) {
        dynbuf_truncate(&b, 0);
        (void)dynbuf_adds(&b, "# brunt: too many series for one exposition\nbrunt_up 1\n");
    }
    size_t len = 0;
    char *text = dynbuf_take(&b, &len);
    if (text == NULL) {
        return;
    }
    pthread_mutex_lock(&p->mu);
    char *old = p->text;
    p->text = text;
    p->text_len = len;
    pthread_mutex_unlock(&p->mu);
    free(old);
}

/* ---- serving --------------------------------------------------------------------- */

static int write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, s, n);
        if (k < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                struct pollfd pf = {.fd = fd, .events = POLLOUT};
                if (poll(&pf, 1, 2000) <= 0) {
                    return -1;
                }
                continue;
            }
            return -1;
        }
        s += k;
        n -= (size_t)k;
    }
    return 0;
}

static void serve_one(struct prom *p, int fd)
{
    char req[8192];
    size_t len = 0;
    uint64_t deadline = clock_now_ns() + 2 * NS_PER_S;
    while (len < sizeof req - 1 && memmem(req, len, "\r\n\r\n", 4) == NULL) {
        uint64_t now = clock_now_ns();
        if (now >= deadline) {
            return;
        }
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int k = poll(&pf, 1, (int)((deadline - now) / NS_PER_MS) + 1);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return;
        }
        ssize_t n = read(fd, req + len, sizeof req - 1 - len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        len += (size_t)n;
    }
    req[len] = '\0';
    bool get = strncmp(req, "GET ", 4) == 0, head = strncmp(req, "HEAD ", 5) == 0;
    const char *path = req + (get ? 4 : head ? 5 : 0);
    size_t plen = strcspn(path, " ?");
    char hdr[256];
    if (!get && !head) {
        static const char r405[] = "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n"
                                   "Content-Length: 0\r\nConnection: close\r\n\r\n";
        (void)write_all(fd, r405, sizeof r405 - 1);
        return;
    }
    if (!(plen == 8 && memcmp(path, "/metrics", 8) == 0)) {
        static const char r404[] = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
                                   "Content-Length: 29\r\nConnection: close\r\n\r\n"
                                   "brunt serves /metrics only.\r\n";
        (void)write_all(fd, r404, sizeof r404 - 1);
        return;
    }
    pthread_mutex_lock(&p->mu);
    size_t n = p->text ? p->text_len : 0;
    char *copy = malloc(n + 1);
    if (copy != NULL && n > 0) {
        memcpy(copy, p->text, n);
    }
    pthread_mutex_unlock(&p->mu);
    static const char up[] = "# TYPE brunt_up gauge\nbrunt_up 1\n";
    const char *body = copy != NULL && n > 0 ? copy : up;
    size_t blen = copy != NULL && n > 0 ? n : sizeof up - 1;
    int hl = snprintf(hdr, sizeof hdr,
                      "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; "
                      "charset=utf-8\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                      blen);
    if (write_all(fd, hdr, (size_t)hl) == 0 && get) {
        (void)write_all(fd, body, blen);
    }
    free(copy);
}

static void *serve_thread(void *arg)
{
    struct prom *p = arg;
    for (;;) {
        struct pollfd pf[2] = {{.fd = p->lfd, .events = POLLIN},
                               {.fd = p->stop_pipe[0], .events = POLLIN}};
        int k = poll(pf, 2, -1);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k < 0 || (pf[1].revents & (POLLIN | POLLHUP))) {
            break;
        }
        if (pf[0].revents & POLLIN) {
            int fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd >= 0) {
                serve_one(p, fd);
                close(fd);
            }
        }
    }
    return NULL;
}

/* Splits "host:port", "[v6]:port" or ":port". */
static int split_addr(const char *addr, char *host, size_t hcap, char *port, size_t pcap)
{
    const char *colon;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (close == NULL || close[1] != ':') {
            return -1;
        }
        snprintf(host, hcap, "%.*s", (int)(close - addr - 1), addr + 1);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (colon == NULL || (size_t)(colon - addr) >= hcap) {
            return -1;
        }
        snprintf(host, hcap, "%.*s", (int)(colon - addr), addr);
    }
    if (colon[1] == '\0' || strlen(colon + 1) >= pcap ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
        return -1;
    }
    snprintf(port, pcap, "%s", colon + 1);
    return atoi(port) <= 65535 ? 0 : -1;
}

int prom_start(const char *addr, enum prom_names names, const double *extra_bounds_s,
               size_t n_extra, struct prom **out, char *err, size_t err_len)
{
    char host[256], port[16];
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    struct prom *p = NULL;
    int rc;
    *out = NULL;
    if (split_addr(addr, host, sizeof host, port, sizeof port) < 0) {
        snprintf(err, err_len,
                 "bad --prometheus address '%s': expected HOST:PORT such as 127.0.0.1:9464, "
                 "[::1]:9464 or :9464",
                 addr);
        return -EINVAL;
    }
    int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (gai != 0) {
        snprintf(err, err_len, "bad --prometheus address '%s': %s", addr, gai_strerror(gai));
        return -EINVAL;
    }
    p = calloc(1, sizeof *p);
    if (p == NULL) {
        freeaddrinfo(res);
        snprintf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    p->lfd = -1;
    p->stop_pipe[0] = p->stop_pipe[1] = -1;
    p->names = names;
    pthread_mutex_init(&p->mu, NULL);
    for (size_t i = 0; i < sizeof default_bounds / sizeof default_bounds[0]; i++) {
        p->bounds[p->n_bounds++] = default_bounds[i];
    }
    for (size_t i = 0; i < n_extra && p->n_bounds < PROM_MAX_BOUNDS; i++) {
        if (isfinite(extra_bounds_s[i]) && extra_bounds_s[i] > 0) {
            p->bounds[p->n_bounds++] = extra_bounds_s[i];
        }
    }
    qsort(p->bounds, p->n_bounds, sizeof p->bounds[0], cmp_double);
    size_t u = 0;
    for (size_t i = 0; i < p->n_bounds; i++) {
        if (u == 0 || p->bounds[i] != p->bounds[u - 1]) {
            p->bounds[u++] = p->bounds[i];
        }
    }
    p->n_bounds = u;
    rc = -EADDRNOTAVAIL;
    for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) < 0 || listen(fd, 64) < 0) {
            rc = -errno;
            close(fd);
            continue;
        }
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
            p->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                     : ((struct sockaddr_in *)&ss)->sin_port);
        }
        p->lfd = fd;
        rc = 0;
        break;
    }
    freeaddrinfo(res);
    if (rc < 0) {
        snprintf(err, err_len, "cannot listen on --prometheus %s: %s", addr, strerror(-rc));
        goto fail;
    }
    if (pipe2(p->stop_pipe, O_CLOEXEC) < 0) {
        rc = -errno;
        snprintf(err, err_len, "cannot start the Prometheus endpoint: %s", strerror(-rc));
        goto fail;
    }
    rc = -pthread_create(&p->thread, NULL, serve_thread, p);
    if (rc < 0) {
        snprintf(err, err_len, "cannot start the Prometheus endpoint: %s", strerror(-rc));
        goto fail;
    }
    *out = p;
    return 0;
fail:
    if (p->lfd >= 0) {
        close(p->lfd);
    }
    if (p->stop_pipe[0] >= 0) {
        close(p->stop_pipe[0]);
        close(p->stop_pipe[1]);
    }
    pthread_mutex_destroy(&p->mu);
    free(p);
    return rc;
}

uint16_t prom_port(const struct prom *p)
{
    return p->port;
}

void prom_stop(struct prom *p)
{
    if (p == NULL) {
        return;
    }
    char c = 1;
    while (write(p->stop_pipe[1], &c, 1) < 0 && errno == EINTR) {
    }
    pthread_join(p->thread, NULL);
    close(p->lfd);
    close(p->stop_pipe[0]);
    close(p->stop_pipe[1]);
    pthread_mutex_destroy(&p->mu);
    free(p->text);
    free(p);
}
