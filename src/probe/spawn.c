/*
 * spawn — start, wait for, and stop the system under test (spawn.h).
 *
 * The child runs /bin/sh -c CMD in its own process group with stdout and stderr
 * appended to the log file, so stopping it signals everything it started (a gunicorn
 * master and its workers).  Readiness is polled every 50 ms: is the child still there
 * (waitpid WNOHANG), and does the ready check pass (a connect, or a GET answered below
 * 500).  Each check is bounded (1 s), and so is the whole wait.
 */
#include "probe/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/file.h"
#include "http/url.h"

struct spawn {
    pid_t pid;
    bool ended;
    bool signaled;
    int code;
    char name[64];
    char log_path[512];
    bool tmp_log;  /* we named it: removed by spawn_free() unless kept */
    bool keep_log; /* something went wrong: the log is the evidence */
};

void spawn_keep_log(struct spawn *sp)
{
    sp->keep_log = true;
}

pid_t spawn_pid(const struct spawn *sp)
{
    return sp->pid;
}

const char *spawn_name(const struct spawn *sp)
{
    return sp->name;
}

const char *spawn_log_path(const struct spawn *sp)
{
    return sp->log_path;
}

static void note_status(struct spawn *sp, int status)
{
    sp->ended = true;
    sp->signaled = WIFSIGNALED(status);
    sp->code = WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status);
}

int spawn_poll(struct spawn *sp, bool *signaled, int *code)
{
    if (!sp->ended) {
        int status;
        pid_t r;
        do {
            r = waitpid(sp->pid, &status, WNOHANG);
        } while (r < 0 && errno == EINTR);
        if (r == sp->pid) {
            note_status(sp, status);
        } else if (r < 0) {
            return -errno;
        }
    }
    if (sp->ended) {
        *signaled = sp->signaled;
        *code = sp->code;
    }
    return sp->ended ? 1 : 0;
}

static bool cancelled(const volatile sig_atomic_t *cancel)
{
    return cancel != NULL && *cancel != 0;
}

/* Sleeps ns, or less when a signal sets *cancel (nanosleep returns EINTR then). */
static void sleep_ns(uint64_t ns, const volatile sig_atomic_t *cancel)
{
    struct timespec ts = {(time_t)(ns / NS_PER_S), (long)(ns % NS_PER_S)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !cancelled(cancel)) {
    }
}

int spawn_stop(struct spawn *sp, bool *signaled, int *code)
{
    bool s;
    int c;
    if (spawn_poll(sp, &s, &c) == 0) {
        (void)kill(-sp->pid, SIGTERM);
        (void)kill(sp->pid, SIGTERM);
        uint64_t deadline = clock_now_ns() + SPAWN_GRACE_NS;
        while (spawn_poll(sp, &s, &c) == 0 && clock_now_ns() < deadline) {
            sleep_ns(20 * NS_PER_MS, NULL);
        }
        if (!sp->ended) {
            (void)kill(-sp->pid, SIGKILL);
            (void)kill(sp->pid, SIGKILL);
            int status;
            if (waitpid(sp->pid, &status, 0) == sp->pid) {
                note_status(sp, status);
            }
        }
    }
    /* The group may outlive its leader (a daemonising child): make sure it is gone. */
    (void)kill(-sp->pid, SIGKILL);
    *signaled = sp->signaled;
    *code = sp->code;
    return sp->ended ? 1 : 0;
}

void spawn_free(struct spawn *sp)
{
    if (sp == NULL) {
        return;
    }
    bool s;
    int c;
    (void)spawn_stop(sp, &s, &c);
    if (sp->tmp_log && !sp->keep_log) {
        (void)unlink(sp->log_path);
    }
    free(sp);
}

/* The ready check's target: a URL or a port on 127.0.0.1. */
struct ready {
    bool http;
    struct url u;
};

static int ready_parse(const char *text, struct ready *r)
{
    memset(r, 0, sizeof *r);
    if (text == NULL) {
        return 0;
    }
    const char *port = text;
    if (strncmp(text, "port:", 5) == 0) {
        port = text + 5;
    } else if (strncmp(text, "http://", 7) == 0) {
        r->http = true;
        return url_parse(text, &r->u) == 0 ? 0 : SPAWN_E_READY;
    }
    char *end;
    long p = strtol(port, &end, 10);
    if (*port == '\0' || *end != '\0' || p <= 0 || p > 65535) {
        return SPAWN_E_READY;
    }
    snprintf(r->u.host, sizeof r->u.host, "127.0.0.1");
    r->u.port = (uint16_t)p;
    return 0;
}

/*
 * One bounded exchange with r (a connect, then for http a GET): returns 1 when it
 * answered (for http: with a status line; *status set, the body's first bytes in body),
 * 0 when not.  Each step waits at most 1 s; the whole answer at most 2 s.
 */
static int exchange(const struct ready *r, int *status, char *body, size_t body_cap)
{
    char port[8];
    snprintf(port, sizeof port, "%u", r->u.port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(r->u.host, port, &hints, &ai) != 0 || ai == NULL) {
        return 0;
    }
    int ok = 0;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    char *buf = NULL;
    if (fd < 0) {
        goto out;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
        goto out;
    }
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (poll(&pfd, 1, 1000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 ||
        soerr != 0) {
        goto out;
    }
    if (!r->http) {
        ok = 1;
        goto out;
    }
    char req[URL_MAX_TARGET + URL_MAX_HOST + 128];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s:%u\r\nUser-Agent: brunt\r\n"
                     "Connection: close\r\n\r\n",
                     r->u.target, r->u.host, r->u.port);
    if (n < 0 || (size_t)n >= sizeof req || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        goto out;
    }
    size_t cap = 65536, got = 0;
    buf = malloc(cap);
    if (buf == NULL) {
        goto out;
    }
    uint64_t deadline = clock_now_ns() + 2 * NS_PER_S;
    while (got < cap - 1 && clock_now_ns() < deadline) {
        pfd.events = POLLIN;
        if (poll(&pfd, 1, 100) == 1) {
            ssize_t k = recv(fd, buf + got, cap - 1 - got, 0);
            if (k <= 0) {
                break; /* Connection: close ends the answer */
            }
            got += (size_t)k;
        }
    }
    buf[got] = '\0';
    if (got >= 12 && strncmp(buf, "HTTP/1.", 7) == 0) {
        *status = atoi(buf + 9);
        ok = *status >= 100;
        const char *b = strstr(buf, "\r\n\r\n");
        if (body_cap > 0) {
            snprintf(body, body_cap, "%s", b != NULL ? b + 4 : "");
        }
    }
out:
    free(buf);
    if (fd >= 0) {
        close(fd);
    }
    freeaddrinfo(ai);
    return ok;
}

/* One bounded attempt: 1 ready, 0 not yet. */
static int ready_check(const struct ready *r)
{
    int status = 0;
    return exchange(r, &status, NULL, 0) == 1 && (!r->http || status < 500);
}

int spawn_http_get(const char *url, int *status, char *body, size_t body_cap)
{
    struct ready r = {.http = true};
    if (strncmp(url, "http://", 7) != 0 || url_parse(url, &r.u) != 0) {
        return -EINVAL;
    }
    *status = 0;
    return exchange(&r, status, body, body_cap) == 1 ? 0 : -ECONNREFUSED;
}

/* The log's last non-empty line, for a message (into out). */
static void last_log_line(const char *path, char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return;
    }
    char line[512];
    while (fgets(line, sizeof line, f) != NULL) {
        size_t n = strcspn(line, "\r\n");
        line[n] = '\0';
        if (n > 0) {
            size_t k = n < cap - 1 ? n : cap - 1;
            memcpy(out, line, k);
            out[k] = '\0';
        }
    }
    fclose(f);
}

static void program_name(const char *cmd, char *out, size_t cap)
{
    while (*cmd == ' ' || *cmd == '\t') {
        cmd++;
    }
    /* Skip VAR=value prefixes and "exec". */
    for (;;) {
        size_t w = strcspn(cmd, " \t");
        if (memchr(cmd, '=', w) != NULL || (w == 4 && strncmp(cmd, "exec", 4) == 0)) {
            cmd += w;
            while (*cmd == ' ' || *cmd == '\t') {
                cmd++;
            }
            continue;
        }
        break;
    }
    size_t w = strcspn(cmd, " \t;|&");
    const char *base = cmd;
    for (size_t i = 0; i < w; i++) {
        if (cmd[i] == '/') {
            base = cmd + i + 1;
        }
    }
    size_t n = (size_t)(cmd + w - base);
    while (n > 0 && (*base == '\'' || *base == '"')) {
        base++;
        n--;
    }
    while (n > 0 && (base[n - 1] == '\'' || base[n - 1] == '"')) {
        n--;
    }
    if (n == 0) {
        snprintf(out, cap, "spawned");
        return;
    }
    snprintf(out, cap, "%.*s", (int)n, base);
}

int spawn_start(const struct spawn_options *o, struct spawn **out, char *err, size_t err_len)
{
    *out = NULL;
    struct ready r;
    int rc = ready_parse(o->ready, &r);
    if (rc < 0) {
        snprintf(err, err_len,
                 "--ready '%s': expected an http:// URL, a port, or port:N (as in port:8000)",
                 o->ready);
        return rc;
    }
    if (o->command == NULL || o->command[0] == '\0' || strlen(o->command) >= SPAWN_CMD_MAX) {
        snprintf(err, err_len, "--spawn: expected a command (at most %d bytes)", SPAWN_CMD_MAX - 1);
        return -EINVAL;
    }
    struct spawn *sp = calloc(1, sizeof *sp);
    if (sp == NULL) {
        return -ENOMEM;
    }
    program_name(o->command, sp->name, sizeof sp->name);
    int logfd;
    if (o->log_path != NULL) {
        snprintf(sp->log_path, sizeof sp->log_path, "%s", o->log_path);
        logfd = open(sp->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    } else {
        if (file_temp_path(sp->log_path, sizeof sp->log_path, "brunt-spawn-XXXXXX.log") == 0) {
            logfd = mkostemps(sp->log_path, 4, O_CLOEXEC);
        } else {
            snprintf(sp->log_path, sizeof sp->log_path, "in $TMPDIR");
            logfd = -1;
            errno = ENAMETOOLONG;
        }
        sp->tmp_log = true;
    }
    if (logfd < 0) {
        rc = -errno;
        snprintf(err, err_len, "--spawn: cannot create the log file %s: %s", sp->log_path,
                 strerror(errno));
        free(sp);
        return rc;
    }
    pid_t pid = fork();
    if (pid < 0) {
        rc = -errno;
        snprintf(err, err_len, "--spawn: cannot fork: %s", strerror(errno));
        close(logfd);
        free(sp);
        return rc;
    }
    if (pid == 0) {
        (void)setpgid(0, 0);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            dup2(devnull, 0);
        }
        dup2(logfd, 1);
        dup2(logfd, 2);
        /* brunt ignores SIGPIPE and blocks nothing else; give the child defaults. */
        signal(SIGPIPE, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* A simple command is exec'd by the shell, so the PID brunt watches (and whose
         * exit status or signal it reports) is the program's own, not a waiting sh. */
        static char line[SPAWN_CMD_MAX + 8];
        const char *cmd = o->command;
        if (strpbrk(cmd, ";&|()`\n") == NULL && strncmp(cmd, "exec ", 5) != 0) {
            snprintf(line, sizeof line, "exec %s", cmd);
            cmd = line;
        }
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    (void)setpgid(pid, pid); /* both sides: whichever runs first */
    close(logfd);
    sp->pid = pid;
    uint64_t timeout = o->ready_timeout_ns ? o->ready_timeout_ns : SPAWN_READY_TIMEOUT_NS;
    uint64_t t0 = clock_now_ns(), deadline = t0 + timeout;
    for (;;) {
        bool sig;
        int code;
        if (spawn_poll(sp, &sig, &code) == 1) {
            char last[256];
            last_log_line(sp->log_path, last, sizeof last);
            snprintf(err, err_len, "--spawn: '%s' %s %d before it was ready%s%s (log: %s)",
                     o->command, sig ? "was killed by signal" : "exited with status", code,
                     last[0] ? ": " : "", last, sp->log_path);
            rc = SPAWN_E_EXITED;
            break;
        }
        if (cancelled(o->cancel)) {
            snprintf(err, err_len,
                     "--spawn: interrupted while waiting for '%s' to be ready; it is stopped "
                     "(log: %s)",
                     o->command, sp->log_path);
            rc = SPAWN_E_CANCELLED;
            break;
        }
        if (o->ready == NULL ? clock_now_ns() - t0 >= 200 * NS_PER_MS : ready_check(&r) == 1) {
            *out = sp;
            return 0;
        }
        if (clock_now_ns() >= deadline) {
            snprintf(err, err_len, "--spawn: '%s' was not ready (%s) within %.0f s (log: %s)",
                     o->command, o->ready != NULL ? o->ready : "alive", (double)timeout / 1e9,
                     sp->log_path);
            rc = SPAWN_E_TIMEOUT;
            break;
        }
        sleep_ns(50 * NS_PER_MS, o->cancel);
    }
    sp->keep_log = true; /* the message names it */
    spawn_free(sp);
    return rc;
}
