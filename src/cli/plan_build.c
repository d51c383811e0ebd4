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
static int probe_one(const struct origin *o, int timeout_ms)
{
    int fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return errno;
    }
    int err = 0;
    if (connect(fd, (const struct sockaddr *)&o->addr, o->addr_len) < 0) {
        if (errno != EINPROGRESS) {
            err = errno;
        } else {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int n;
            do {
                n = poll(&p, 1, timeout_ms);
            } while (n < 0 && errno == EINTR);
            if (n == 0) {
                err = ETIMEDOUT;
            } else {
                socklen_t len = sizeof err;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
                    err = errno;
                }
            }
        }
    }
    close(fd);
    return err;
}

int plan_probe(const struct plan *plan, uint64_t timeout_ns, char *err, size_t err_len)
{
    int timeout_ms = (int)(timeout_ns / NS_PER_MS);
    for (size_t i = 0; i < plan->n_origins; i++) {
        const struct origin *o = &plan->origins[i];
        int e = probe_one(o, timeout_ms > 0 ? timeout_ms : 1);
        if (e != 0) {
            char host[300];
            (void)url_host_header(&o->url, host, sizeof host);
            snprintf(err, err_len, "cannot connect to %s%s%s:%u (%s): is the target running?",
                     o->url.ipv6_literal ? "[" : "", o->url.host, o->url.ipv6_literal ? "]" : "",
                     o->url.port, strerror(e));
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

static void on_signal(int sig)
{
    (void)sig;
    engine_interrupt();
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
    signal(SIGPIPE, SIG_IGN);
}
