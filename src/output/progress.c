/*
 * progress — one status line, rewritten in place on a terminal, periodic in logs.
 *
 * The line is built into a fixed buffer and, on a terminal, cut to the terminal's width
 * (TIOCGWINSZ, read on each update so a resize is followed) because a line that wraps
 * cannot be rewritten with "\r".  Plain mode prints when the elapsed time crosses each
 * multiple of PROGRESS_PLAIN_INTERVAL_S, never twice for one multiple.
 */
#include "output/progress.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/parse.h"

#define BAR_WIDTH 12
#define LINE_MAX_BYTES 512

struct progress {
    FILE *f;
    bool tty, quiet;
    bool drawn;              /* a terminal line is on screen */
    uint64_t last_plain;     /* last interval index printed in plain mode */
    progress_extra_cb extra; /* may be NULL */
    void *extra_data;
};

struct progress *progress_new(FILE *f, bool tty, bool quiet)
{
    struct progress *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return NULL;
    }
    p->f = f;
    p->tty = tty;
    p->quiet = quiet;
    return p;
}

/* Whole seconds as "12s", "1m5s", "1h2m3s". */
static void fmt_secs(uint64_t ns, char *buf, size_t cap)
{
    double s = floor((double)ns / 1e9);
    if (format_duration_ms(s * 1000.0, buf, cap) < 0) {
        snprintf(buf, cap, "%.0fs", s);
    }
}

static void fmt_p95(double ms, char *buf, size_t cap)
{
    if (format_duration_ms(ms, buf, cap) < 0) {
        snprintf(buf, cap, "-");
    }
}

static int terminal_width(FILE *f)
{
    struct winsize ws;
    int fd = fileno(f);
    if (fd >= 0 && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        return ws.ws_col;
    }
    return 80;
}

/* Cuts s to at most width code points (the line is UTF-8: µs). */
static void cut_to_width(char *s, int width)
{
    int n = 0;
    for (char *c = s; *c; c++) {
        if ((*c & 0xC0) != 0x80) {
            if (n == width) {
                *c = '\0';
                return;
            }
            n++;
        }
    }
}

static void build_tty_line(const struct progress *p, const struct run_progress *rp, char *line,
                           size_t cap)
{
    char el[32], pl[32], p95[32], err[64];
    size_t len = 0;

    fmt_secs(rp->elapsed_ns, el, sizeof el);
    line[0] = '\0';
    if (rp->planned_ns > 0) {
        double share = (double)rp->elapsed_ns / (double)rp->planned_ns;
        int fill = share >= 1 ? BAR_WIDTH : (int)(share * BAR_WIDTH);
        char bar[BAR_WIDTH + 1];
        for (int i = 0; i < BAR_WIDTH; i++) {
            bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
        }
        bar[BAR_WIDTH] = '\0';
        fmt_secs(rp->planned_ns, pl, sizeof pl);
        len = (size_t)snprintf(line, cap, "  [%s] %s/%s", bar, el, pl);
    } else {
        len = (size_t)snprintf(line, cap, "  %s", el);
    }
    if (len >= cap) {
        return;
    }
    fmt_p95(rp->p95_ms, p95, sizeof p95);
    if (rp->errors > 0 && rp->requests > 0) {
        snprintf(err, sizeof err, "%llu (%.2f%%)", (unsigned long long)rp->errors,
                 100.0 * (double)rp->errors / (double)rp->requests);
    } else {
        snprintf(err, sizeof err, "%llu", (unsigned long long)rp->errors);
    }
    int n = snprintf(line + len, cap - len, "  %u VUs  %.0f req/s  p95 %s  errors %s", rp->vus,
                     rp->rps, p95, err);
    if (n > 0 && (size_t)n < cap - len && p->extra != NULL) {
        len += (size_t)n;
        p->extra(line + len, cap - len, p->extra_data);
    }
}

void progress_update(struct progress *p, const struct run_progress *rp)
{
    char line[LINE_MAX_BYTES];

    if (p == NULL || p->quiet || rp == NULL) {
        return;
    }
    if (p->tty) {
        build_tty_line(p, rp, line, sizeof line);
        cut_to_width(line, terminal_width(p->f) - 1);
        fprintf(p->f, "\r\x1b[K%s", line);
        p->drawn = true;
    } else {
        uint64_t k = rp->elapsed_ns / (PROGRESS_PLAIN_INTERVAL_S * NS_PER_S);
        if (k == 0 || k <= p->last_plain) {
            return;
        }
        p->last_plain = k;
        char el[32], pl[32], p95[32];
        fmt_secs(rp->elapsed_ns, el, sizeof el);
        fmt_secs(rp->planned_ns, pl, sizeof pl);
        fmt_p95(rp->p95_ms, p95, sizeof p95);
        char extra[256] = "";
        if (p->extra != NULL) {
            p->extra(extra, sizeof extra, p->extra_data);
        }
        fprintf(p->f, "running %s/%s: vus=%u rps=%.0f p95=%s requests=%llu errors=%llu%s\n", el,
                rp->planned_ns ? pl : "?", rp->vus, rp->rps, p95, (unsigned long long)rp->requests,
                (unsigned long long)rp->errors, extra);
    }
    fflush(p->f);
}

void progress_set_extra(struct progress *p, progress_extra_cb extra, void *data)
{
    if (p != NULL) {
        p->extra = extra;
        p->extra_data = data;
    }
}

void progress_cb(const struct run_progress *rp, void *data)
{
    progress_update(data, rp);
}

void progress_finish(struct progress *p)
{
    if (p == NULL || p->quiet || !p->drawn) {
        return;
    }
    fprintf(p->f, "\r\x1b[K");
    fflush(p->f);
    p->drawn = false;
}

void progress_free(struct progress *p)
{
    free(p);
}
