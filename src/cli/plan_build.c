/*
 * plan_build — turning user-level request definitions into plan steps: origins
 * (resolved once), pre-rendered request bytes, and the reachability probe run before a
 * load starts.  Shared by `brunt run`, `brunt demo` and, later, scenario files.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/dynbuf.h"
#include "core/error.h"
#include "engine/run.h"
#include "http/reqhead.h"

int plan_origin(struct plan *plan, const char *url, bool *unreachable, char *err, size_t err_len)
{
    return plan_origin_add(plan, url, true, unreachable, err, err_len);
}

static bool has_header(const struct request_def *def, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < def->n_headers; i++) {
        if (strncasecmp(def->headers[i], name, n) == 0 && def->headers[i][n] == ':') {
            return true;
        }
    }
    return false;
}

/* A -H header: "Name: value", the name checked by the plan builder's rules. */
static int check_header(const char *h, char *err, size_t err_len)
{
    const char *colon = strchr(h, ':');
    if (colon == NULL || colon == h) {
        snprintf(err, err_len, "bad header '%s': expected 'Name: value'", h);
        return -1;
    }
    char why[300];
    if (plan_header_name_check(h, (size_t)(colon - h), why, sizeof why) < 0) {
        snprintf(err, err_len, "-H '%s': %s", h, why);
        return -1;
    }
    for (const char *p = colon + 1; *p; p++) {
        if ((unsigned char)*p < ' ' && *p != '\t') {
            snprintf(err, err_len, "bad header '%s': expected 'Name: value'", h);
            return -1;
        }
    }
    return 0;
}

int plan_request_step(struct plan *plan, struct step *st, const struct request_def *def,
                      bool *unreachable, char *err, size_t err_len)
{
    struct dynbuf b;
    memset(st, 0, sizeof *st);
    if (!plan_token_valid(def->method, strlen(def->method))) {
        snprintf(err, err_len, "bad method '%s': expected a token such as GET or POST",
                 def->method);
        return -1;
    }
    for (size_t i = 0; i < def->n_headers; i++) {
        if (check_header(def->headers[i], err, err_len) < 0) {
            return -1;
        }
    }
    int oi = plan_origin(plan, def->url, unreachable, err, err_len);
    if (oi < 0) {
        return -1;
    }
    const struct origin *o = &plan->origins[oi];
    /* The origin is shared by every URL on that host: the target is this URL's own. */
    static _Thread_local struct url u;
    if (url_parse(def->url, &u) < 0) {
        snprintf(err, err_len, "bad URL '%s'", def->url);
        return -1;
    }
    dynbuf_init(&b, PLAN_MAX_REQUEST_BYTES);
    int rc = reqhead_request_line(&b, def->method, u.target);
    if (!has_header(def, "Host")) {
        rc = rc ? rc : reqhead_host(&b, &o->url);
    }
    if (!has_header(def, "User-Agent")) {
        rc = rc ? rc : reqhead_user_agent(&b);
    }
    for (size_t i = 0; i < def->n_headers && rc == 0; i++) {
        rc = dynbuf_addf(&b, "%s\r\n", def->headers[i]);
    }
    rc = rc ? rc : reqhead_end(&b, reqhead_wants_length(def->method, def->body_len), def->body_len);
    if (def->body_len > 0) {
        rc = rc ? rc : dynbuf_add(&b, def->body, def->body_len);
    }
    if (rc < 0) {
        dynbuf_destroy(&b);
        snprintf(err, err_len, "request too large (at most %u bytes)", PLAN_MAX_REQUEST_BYTES);
        return -1;
    }
    st->kind = STEP_REQUEST;
    st->origin = o;
    st->method = strdup(def->method);
    st->name = strdup(def->name ? def->name : def->url);
    st->raw = b.data;
    st->raw_len = b.len;
    st->body_len = def->body_len;
    st->head_request = strcmp(def->method, "HEAD") == 0;
    if (st->method == NULL || st->name == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    return 0;
}

/* One non-blocking connect, waited for with poll(); 0 or a positive errno. */
/* Waits (bounded by the deadline) until fd is ready: 0, or ETIMEDOUT. */
static int probe_wait(int fd, bool want_write, uint64_t deadline)
{
    struct pollfd p = {.fd = fd, .events = want_write ? POLLOUT : POLLIN};
    int n;
    do {
        uint64_t now = clock_now_ns();
        int ms = now >= deadline ? 0 : (int)((deadline - now) / NS_PER_MS) + 1;
        n = poll(&p, 1, ms);
    } while (n < 0 && errno == EINTR);
    return n == 0 ? ETIMEDOUT : 0;
}

/* Connects and completes the origin's handshake once: 0 or a negative result code. */
static int probe_one(const struct origin *o, uint64_t timeout_ns, void **cache)
{
    const struct transport_ops *t = o->transport;
    struct transport_conn c = {.fd = -1, .cfg = o->transport_cfg, .cache = cache};
    uint64_t deadline = clock_now_ns() + timeout_ns;
    int rc = t->connect(&c, (const struct sockaddr *)&o->addr, o->addr_len);
    if (rc == -EINPROGRESS) {
        rc = probe_wait(c.fd, true, deadline) ? -ETIMEDOUT : t->connected(&c);
    }
    if (rc < 0 && c.fd < 0) {
        return rc; /* nothing was left open */
    }
    bool want_write = false;
    while (rc == 0 && t->handshake != NULL && (rc = t->handshake(&c, &want_write)) == -EAGAIN) {
        rc = probe_wait(c.fd, want_write, deadline) ? -ETIMEDOUT : 0;
    }
    t->close(&c);
    return rc;
}

int plan_probe(struct plan *plan, uint64_t timeout_ns, char *err, size_t err_len)
{
    if (plan_transport_prepare(plan, err, err_len) < 0) {
        return -2;
    }
    signal(SIGPIPE, SIG_IGN); /* a TLS write to a closed peer (OpenSSL uses send(2)) */
    for (size_t i = 0; i < plan->n_origins; i++) {
        const struct origin *o = &plan->origins[i];
        void *cache = NULL;
        int e = probe_one(o, timeout_ns > 0 ? timeout_ns : NS_PER_MS, &cache);
        if (cache != NULL && o->transport->cache_free != NULL) {
            o->transport->cache_free(cache);
        }
        if (e != 0) {
            bool tls = e <= BRUNT_ETLS && e > BRUNT_ELAST;
            snprintf(err, err_len, "cannot connect to %s%s%s:%u (%s)%s",
                     o->url.ipv6_literal ? "[" : "", o->url.host, o->url.ipv6_literal ? "]" : "",
                     o->url.port, brunt_strerror(e), tls ? "" : ": is the target running?");
            return -1;
        }
    }
    return 0;
}

unsigned long cli_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        return 0;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    return (unsigned long)rl.rlim_cur;
}

int cli_nofile_check(const struct plan *plan, unsigned long limit, char *msg, size_t msg_len)
{
    /* One descriptor per VU's connection, plus per worker its epoll fd and eventfd, the
     * coordinator's eventfd, stdio, and a few for the result file and DNS. */
    uint64_t need = 3 + 1 + 16 + 2 * (uint64_t)(plan->threads > 0 ? plan->threads : 1);
    for (size_t i = 0; i < plan->n_scenarios; i++) {
        need += plan_vus_peak(&plan->scenarios[i]);
    }
    if (limit == 0 || need <= limit) {
        return 0;
    }
    snprintf(msg, msg_len,
             "warning: the descriptor limit (ulimit -n) is %lu, fewer than the %llu this run "
             "may need for its VUs' connections; connects beyond it fail as "
             "errors{kind:nofile} (raise it: ulimit -n %llu)",
             limit, (unsigned long long)need, (unsigned long long)need);
    return -1;
}

void cli_warn_nofile(const struct plan *plan)
{
    char msg[512];
    if (cli_nofile_check(plan, cli_raise_nofile(), msg, sizeof msg) < 0) {
        fprintf(stderr, "brunt run: %s\n", msg);
    }
}

static volatile sig_atomic_t g_signalled;

static void on_signal(int sig)
{
    (void)sig;
    g_signalled = 1;
    engine_interrupt();
}

const volatile sig_atomic_t *cli_signalled(void)
{
    return &g_signalled;
}

void cli_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL); /* a closed terminal ends the run as SIGTERM does */
    signal(SIGPIPE, SIG_IGN);
}
