/*
 * pprof — decode pprof profiles (zlib + libprotobuf-c) and fetch them from a Go
 * service's net/http/pprof endpoints.  See pprof.h.
 */
#include "probe/pprof.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/text.h"
#include "http/http1.h"
#include "http/url.h"
#include "probe/profile.h"
#include "profile.pb-c.h"

typedef Perftools__Profiles__Profile PbProfile;
typedef Perftools__Profiles__Location PbLocation;
typedef Perftools__Profiles__Function PbFunction;
typedef Perftools__Profiles__Mapping PbMapping;

/* ---- gzip ------------------------------------------------------------------------------ */

int pprof_gunzip(const void *data, size_t len, struct dynbuf *out)
{
    z_stream z;
    int rc = 0;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK) { /* +32: gzip or zlib header, detected */
        return -ENOMEM;
    }
    z.next_in = (Bytef *)(uintptr_t)data;
    size_t left = len;
    for (;;) {
        if (z.avail_in == 0) {
            uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
            z.avail_in = chunk;
            left -= chunk;
        }
        size_t room = out->max - out->len;
        if (room == 0) {
            rc = -E2BIG;
            break;
        }
        size_t want = room < 65536 ? room : 65536;
        rc = dynbuf_reserve(out, want);
        if (rc < 0) {
            break;
        }
        z.next_out = (Bytef *)out->data + out->len;
        z.avail_out = (uInt)want;
        int zr = inflate(&z, Z_NO_FLUSH);
        out->len += want - z.avail_out;
        out->data[out->len] = '\0';
        if (zr == Z_STREAM_END) {
            rc = 0;
            break;
        }
        if (zr == Z_BUF_ERROR && z.avail_in == 0 && left == 0) {
            rc = -EINVAL; /* truncated */
            break;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = zr == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
            break;
        }
        if (z.avail_in == 0 && left == 0 && z.avail_out != 0) {
            rc = -EINVAL; /* input ended before the stream did */
            break;
        }
    }
    inflateEnd(&z);
    return rc;
}

/* ---- decode ----------------------------------------------------------------------------- */

struct id_index {
    uint64_t id;
    size_t idx;
};

static int cmp_id(const void *a, const void *b)
{
    const struct id_index *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static struct id_index *index_ids(const uint64_t *ids, size_t n)
{
    struct id_index *ix = malloc((n ? n : 1) * sizeof *ix);
    if (ix == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        ix[i] = (struct id_index){ids[i], i};
    }
    qsort(ix, n, sizeof *ix, cmp_id);
    return ix;
}

static ssize_t find_id(const struct id_index *ix, size_t n, uint64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix[mid].id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && ix[lo].id == id ? (ssize_t)ix[lo].idx : -1;
}

/* string_table[i], or NULL when i is out of range. */
static const char *pstr(const PbProfile *pr, int64_t i)
{
    return i >= 0 && (uint64_t)i < pr->n_string_table ? pr->string_table[i] : NULL;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

#define PPROF_MAX_FRAMES (4 * FLAME_MAX_DEPTH)

int pprof_decode(const void *data, size_t len, const char *value_type, struct flame *fg,
                 struct pprof_info *info, char *err, size_t err_len)
{
    struct pprof_info local;
    struct dynbuf raw;
    PbProfile *pr = NULL;
    struct id_index *locs = NULL, *funcs = NULL, *maps = NULL;
    uint64_t *ids = NULL;
    struct flame_frame *frames = NULL;
    char(*labels)[64] = NULL;
    int rc = 0;
    int added = 0;
    const uint8_t *d = data;
    const uint8_t *pb = data;
    size_t pblen = len;
    if (info == NULL) {
        info = &local;
    }
    memset(info, 0, sizeof *info);
    dynbuf_init(&raw, PPROF_MAX_DECODED);
    if (len >= 2 && d[0] == 0x1f && d[1] == 0x8b) {
        rc = pprof_gunzip(data, len, &raw);
        if (rc < 0) {
            text_errf(err, err_len, rc, "pprof: %s",
                      rc == -E2BIG ? "the profile inflates past 256 MiB"
                                   : "the gzip stream is corrupt or truncated");
            goto out;
        }
        pb = (const uint8_t *)raw.data;
        pblen = raw.len;
    }
    pr = perftools__profiles__profile__unpack(NULL, pblen, pb != NULL ? pb : (const uint8_t *)"");
    if (pr == NULL) {
        rc = text_errf(err, err_len, -EINVAL,
                       "pprof: not a pprof profile (the protobuf Profile does not decode)");
        goto out;
    }
    if (pr->n_string_table == 0 || pr->string_table[0][0] != '\0') {
        rc = text_errf(err, err_len, -EINVAL,
                       "pprof: not a pprof profile (string_table[0] must be the empty string)");
        goto out;
    }
    if (pr->n_sample > PPROF_MAX_SAMPLES) {
        rc = text_errf(err, err_len, -E2BIG, "pprof: %zu samples, more than the %u allowed",
                       pr->n_sample, PPROF_MAX_SAMPLES);
        goto out;
    }
    /* Which value weighs the stacks. */
    ssize_t vi = -1;
    if (pr->n_sample_type == 0) {
        rc = text_errf(err, err_len, -EINVAL, "pprof: the profile has no sample types");
        goto out;
    }
    if (value_type != NULL) {
        for (size_t i = 0; i < pr->n_sample_type; i++) {
            const char *t = pstr(pr, pr->sample_type[i]->type);
            if (t != NULL && strcmp(t, value_type) == 0) {
                vi = (ssize_t)i;
            }
        }
        if (vi < 0) {
            rc = text_errf(err, err_len, -ENOENT, "pprof: the profile has no '%s' values",
                           value_type);
            goto out;
        }
    } else {
        const char *def = pstr(pr, pr->default_sample_type);
        for (size_t i = 0; def != NULL && def[0] && i < pr->n_sample_type; i++) {
            const char *t = pstr(pr, pr->sample_type[i]->type);
            if (t != NULL && strcmp(t, def) == 0) {
                vi = (ssize_t)i;
            }
        }
        if (vi < 0) {
            vi = (ssize_t)pr->n_sample_type - 1;
        }
    }
    ssize_t ci = -1; /* Go CPU profiles also count samples: samples/count */
    for (size_t i = 0; i < pr->n_sample_type; i++) {
        const char *t = pstr(pr, pr->sample_type[i]->type);
        if (t != NULL && strcmp(t, "samples") == 0) {
            ci = (ssize_t)i;
        }
    }
    const char *vt = pstr(pr, pr->sample_type[vi]->type);
    const char *vu = pstr(pr, pr->sample_type[vi]->unit);
    snprintf(info->sample_type, sizeof info->sample_type, "%s", vt != NULL ? vt : "");
    snprintf(info->unit, sizeof info->unit, "%s", vu != NULL ? vu : "");
    if (pr->period_type != NULL) {
        const char *pt = pstr(pr, pr->period_type->type);
        snprintf(info->period_type, sizeof info->period_type, "%s", pt != NULL ? pt : "");
    }
    info->period = pr->period;
    info->time_nanos = pr->time_nanos;
    info->duration_nanos = pr->duration_nanos;
    flame_set_unit(fg, vu != NULL && vu[0] ? vu : "count");

    /* id -> index tables for locations, functions, mappings */
    size_t nmax = pr->n_location > pr->n_function ? pr->n_location : pr->n_function;
    nmax = nmax > pr->n_mapping ? nmax : pr->n_mapping;
    ids = malloc((nmax ? nmax : 1) * sizeof *ids);
    frames = malloc(PPROF_MAX_FRAMES * sizeof *frames);
    labels = malloc(PPROF_MAX_FRAMES * sizeof *labels);
    if (ids == NULL || frames == NULL || labels == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < pr->n_location; i++) {
        ids[i] = pr->location[i]->id;
    }
    locs = index_ids(ids, pr->n_location);
    for (size_t i = 0; i < pr->n_function; i++) {
        ids[i] = pr->function[i]->id;
    }
    funcs = index_ids(ids, pr->n_function);
    for (size_t i = 0; i < pr->n_mapping; i++) {
        ids[i] = pr->mapping[i]->id;
    }
    maps = index_ids(ids, pr->n_mapping);
    if (locs == NULL || funcs == NULL || maps == NULL) {
        rc = -ENOMEM;
        goto out;
    }

    for (size_t s = 0; s < pr->n_sample; s++) {
        const Perftools__Profiles__Sample *sm = pr->sample[s];
        info->samples++;
        if (ci >= 0 && (size_t)ci < sm->n_value && sm->value[ci] > 0) {
            info->counted += (uint64_t)sm->value[ci];
        }
        if ((size_t)vi >= sm->n_value) {
            continue;
        }
        int64_t v = sm->value[vi];
        if (v < 0) {
            info->negative++;
            continue;
        }
        if (v == 0 || sm->n_location_id == 0) {
            continue;
        }
        size_t n = 0; /* leaf first */
        for (size_t l = 0; l < sm->n_location_id && n < PPROF_MAX_FRAMES; l++) {
            ssize_t li = find_id(locs, pr->n_location, sm->location_id[l]);
            const PbLocation *loc = li >= 0 ? pr->location[li] : NULL;
            const char *module = NULL;
            if (loc != NULL && loc->mapping_id != 0) {
                ssize_t mi = find_id(maps, pr->n_mapping, loc->mapping_id);
                const char *mf = mi >= 0 ? pstr(pr, pr->mapping[mi]->filename) : NULL;
                module = mf != NULL && mf[0] ? base_name(mf) : NULL;
            }
            if (loc == NULL || loc->n_line == 0) {
                if (module != NULL) {
                    snprintf(labels[n], sizeof labels[n], "[%s]", module);
                } else {
                    snprintf(labels[n], sizeof labels[n], "[unknown]");
                }
                frames[n] = (struct flame_frame){.name = labels[n], .module = module};
                n++;
                continue;
            }
            for (size_t k = 0; k < loc->n_line && n < PPROF_MAX_FRAMES; k++) {
                const Perftools__Profiles__Line *ln = loc->line[k];
                ssize_t fi = find_id(funcs, pr->n_function, ln->function_id);
                const PbFunction *fn = fi >= 0 ? pr->function[fi] : NULL;
                const char *name = fn != NULL ? pstr(pr, fn->name) : NULL;
                if (name == NULL || name[0] == '\0') {
                    name = fn != NULL ? pstr(pr, fn->system_name) : NULL;
                }
                const char *file = fn != NULL ? pstr(pr, fn->filename) : NULL;
                int line = ln->line > 0 && ln->line < INT32_MAX ? (int)ln->line : 0;
                if (fn != NULL && fn->start_line > 0 && fn->start_line < INT32_MAX) {
                    line = (int)fn->start_line; /* a function's place, as the tables show */
                }
                frames[n++] =
                    (struct flame_frame){name != NULL && name[0] ? name : "[unknown]", module,
                                         file != NULL && file[0] ? file : NULL, line, false};
            }
        }
        /* Go's asynchronous preemption (a signal that makes a spinning goroutine call
         * runtime.asyncPreempt) sits on top of the function it interrupted, and a profile
         * taken on a busy machine can put half its samples there: the CPU was the
         * interrupted function's, so the trampoline's frame is dropped (its callees, the
         * scheduler, would keep their own frames above it; it has none in practice). */
        if (n > 1 && frames[0].name != NULL &&
            strcmp(frames[0].name, "runtime.asyncPreempt") == 0) {
            memmove(frames, frames + 1, (n - 1) * sizeof frames[0]);
            n--;
            info->preempt_folded += (uint64_t)v;
        }
        for (size_t a = 0, b = n - 1; a < b; a++, b--) {
            struct flame_frame t = frames[a];
            frames[a] = frames[b];
            frames[b] = t;
        }
        rc = flame_add(fg, frames, n, (uint64_t)v);
        if (rc == -ENOMEM) {
            goto out;
        }
        rc = 0; /* past a cap: counted in flame_dropped() */
        added++;
    }
    rc = added;
out:
    if (pr != NULL) {
        perftools__profiles__profile__free_unpacked(pr, NULL);
    }
    free(locs);
    free(funcs);
    free(maps);
    free(ids);
    free(frames);
    free(labels);
    dynbuf_destroy(&raw);
    return rc;
}

/* ---- fetch ------------------------------------------------------------------------------ */

static int wait_fd(int fd, short events, uint64_t deadline, const volatile bool *cancel)
{
    for (;;) {
        if (cancel != NULL && *cancel) {
            return -ECANCELED;
        }
        uint64_t now = clock_now_ns();
        if (now >= deadline) {
            return -ETIMEDOUT;
        }
        uint64_t left_ms = (deadline - now) / NS_PER_MS;
        struct pollfd pfd = {fd, events, 0};
        int r = poll(&pfd, 1, left_ms < 100 ? (int)left_ms + 1 : 100);
        if (r < 0 && errno != EINTR) {
            return -errno;
        }
        if (r > 0) {
            return 0;
        }
    }
}

int pprof_fetch(const char *base_url, const char *path, uint64_t timeout_ns,
                const volatile bool *cancel, struct dynbuf *body, int *status, char *err,
                size_t err_len)
{
    struct url uu;
    struct sockaddr_storage addr;
    socklen_t alen = 0;
    char req[URL_MAX_TARGET + 512];
    char host[URL_MAX_HOST + 16];
    char *head = NULL;
    size_t head_len = 0;
    int fd = -1;
    int rc = 0;
    uint64_t deadline = clock_now_ns() + timeout_ns;
    *status = 0;
    int pr = url_parse(base_url, &uu);
    if (pr < 0) {
        return text_errf(err, err_len, -EINVAL, "pprof: '%s': %s", base_url, brunt_strerror(pr));
    }
    if (uu.tls) {
        return text_errf(err, err_len, -EINVAL,
                         "pprof: '%s': https is not supported; expected http://host:port",
                         base_url);
    }
    pr = url_resolve(&uu, &addr, &alen);
    if (pr < 0) {
        return text_errf(err, err_len, -EHOSTUNREACH, "pprof: '%s': the host does not resolve",
                         base_url);
    }
    if (url_host_header(&uu, host, sizeof host) < 0) {
        return text_errf(err, err_len, -EINVAL, "pprof: '%s': host too long", base_url);
    }
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: brunt\r\n"
                     "Accept: */*\r\nConnection: close\r\n\r\n",
                     path, host);
    if (n < 0 || (size_t)n >= sizeof req) {
        return text_errf(err, err_len, -EINVAL, "pprof: the request path is too long");
    }
    fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return text_errf(err, err_len, -errno, "pprof: socket: %s", strerror(errno));
    }
    if (connect(fd, (struct sockaddr *)&addr, alen) < 0 && errno != EINPROGRESS) {
        rc = -errno;
        goto neterr;
    }
    rc = wait_fd(fd, POLLOUT, deadline, cancel);
    if (rc < 0) {
        goto neterr;
    }
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    if (soerr != 0) {
        rc = -soerr;
        goto neterr;
    }
    for (size_t off = 0; off < (size_t)n;) {
        ssize_t w = send(fd, req + off, (size_t)n - off, MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            rc = wait_fd(fd, POLLOUT, deadline, cancel);
            if (rc < 0) {
                goto neterr;
            }
            continue;
        }
        if (w < 0) {
            rc = -errno;
            goto neterr;
        }
        off += (size_t)w;
    }
    /* The head, then the body through the framing decoder. */
    static __thread struct http1_response resp;
    struct http1_body bd;
    bool in_body = false;
    head = malloc(HTTP1_MAX_HEAD_BYTES);
    if (head == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    char buf[65536];
    for (;;) {
        rc = wait_fd(fd, POLLIN, deadline, cancel);
        if (rc < 0) {
            goto neterr;
        }
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        if (r < 0) {
            rc = -errno;
            goto neterr;
        }
        if (r == 0) {
            if (in_body && http1_body_eof(&bd) == 0) {
                break;
            }
            rc = text_errf(err, err_len, -EPROTO, "pprof: %s%s: the connection closed early",
                           base_url, path);
            goto out;
        }
        const char *p = buf;
        size_t left = (size_t)r;
        if (!in_body) {
            size_t take =
                left < HTTP1_MAX_HEAD_BYTES - head_len ? left : HTTP1_MAX_HEAD_BYTES - head_len;
            memcpy(head + head_len, p, take);
            int hl = http1_parse_response(head, head_len + take, false, &resp);
            if (hl == HTTP1_PARTIAL && take == left) {
                head_len += take;
                continue;
            }
            if (hl < 0) {
                rc = text_errf(err, err_len, -EPROTO, "pprof: %s%s: not an HTTP/1.1 response",
                               base_url, path);
                goto out;
            }
            *status = resp.status;
            in_body = true;
            http1_body_init(&bd, resp.framing, resp.content_length);
            size_t consumed = (size_t)hl - head_len; /* bytes of this read that were head */
            p += consumed;
            left -= consumed;
        }
        while (left > 0 && !http1_body_done(&bd)) {
            const char *pd = NULL;
            size_t pl = 0;
            ssize_t c = http1_body_feed(&bd, p, left, &pd, &pl);
            if (c < 0) {
                rc = text_errf(err, err_len, -EPROTO, "pprof: %s%s: malformed body framing",
                               base_url, path);
                goto out;
            }
            if (pl > 0 && dynbuf_add(body, pd, pl) < 0) {
                rc = text_errf(err, err_len, -E2BIG, "pprof: %s%s: the body exceeds %u MiB",
                               base_url, path, PPROF_MAX_BODY >> 20);
                goto out;
            }
            p += c;
            left -= (size_t)c;
        }
        if (in_body && http1_body_done(&bd)) {
            break;
        }
    }
    rc = 0;
    goto out;
neterr:
    if (rc == -ECANCELED) {
        text_errf(err, err_len, rc, "pprof: %s%s: cancelled (the run ended first)", base_url, path);
    } else if (rc == -ETIMEDOUT) {
        text_errf(err, err_len, rc, "pprof: %s%s: no complete answer within %.0f s", base_url, path,
                  (double)timeout_ns / (double)NS_PER_S);
    } else {
        text_errf(err, err_len, rc, "pprof: cannot reach %s: %s", base_url, strerror(-rc));
    }
out:
    free(head);
    if (fd >= 0) {
        close(fd);
    }
    return rc;
}

/* ---- the probe ---------------------------------------------------------------------------- */

#define HEAP_TIMEOUT_NS (10 * NS_PER_S)
#define HEAP_ROWS 10

struct heap_growth {
    char function[256];
    char file[256];
    int line;
    int64_t bytes;
};

struct pprof_probe {
    char url[URL_MAX_TARGET];
    char base_path[URL_MAX_TARGET]; /* ".../debug/pprof", no trailing slash */
    unsigned seconds;               /* asked for */
    unsigned taken_seconds;         /* what the fetch asked the service for */
    bool heap;
    uint64_t from_ns, to_ns;
    bool offsets;
    uint64_t from_off_ns, to_off_ns;

    pthread_t thread;
    bool thread_started;
    volatile bool cancel;
    volatile bool done; /* the CPU thread finished (written by it, read by stop) */
    uint64_t expect_end_ns;

    struct flame *cpu; /* NULL until decoded */
    struct pprof_info cpu_info;
    char cpu_error[512];

    struct flame *heap_before, *heap_after;
    uint64_t heap_before_bytes, heap_after_bytes;
    struct heap_growth growth[HEAP_ROWS];
    size_t n_growth;
    char heap_error[512];
    char *files[3];
};

int pprof_probe_new(const struct pprof_opts *opts, struct pprof_probe **out, char *err,
                    size_t err_len)
{
    struct url u;
    *out = NULL;
    if (opts == NULL || opts->url == NULL) {
        return text_errf(err, err_len, -EINVAL, "pprof: no URL");
    }
    int r = url_parse(opts->url, &u);
    if (r < 0) {
        return text_errf(err, err_len, -EINVAL, "--pprof '%s': %s; expected http://host:port",
                         opts->url, brunt_strerror(r));
    }
    if (u.tls) {
        return text_errf(err, err_len, -EINVAL,
                         "--pprof '%s': https is not supported; expected http://host:port",
                         opts->url);
    }
    if (strchr(u.target, '?') != NULL) {
        return text_errf(err, err_len, -EINVAL,
                         "--pprof '%s': expected a base URL without a query (http://host:port)",
                         opts->url);
    }
    if (opts->seconds > PPROF_MAX_SECONDS) {
        return text_errf(err, err_len, -EINVAL, "pprof: at most %d seconds of profile",
                         PPROF_MAX_SECONDS);
    }
    struct pprof_probe *pp = calloc(1, sizeof *pp);
    if (pp == NULL) {
        return -ENOMEM;
    }
    /* The origin alone goes into url; the path is the pprof index. */
    char origin[URL_MAX_HOST + 32];
    snprintf(origin, sizeof origin, u.ipv6_literal ? "http://[%s]:%u" : "http://%s:%u", u.host,
             (unsigned)u.port);
    snprintf(pp->url, sizeof pp->url, "%s", origin);
    size_t tl = strlen(u.target);
    while (tl > 0 && u.target[tl - 1] == '/') {
        tl--;
    }
    const char *suffix = "/debug/pprof";
    size_t sl = strlen(suffix);
    if (tl >= sl && memcmp(u.target + tl - sl, suffix, sl) == 0) {
        snprintf(pp->base_path, sizeof pp->base_path, "%.*s", (int)tl, u.target);
    } else {
        snprintf(pp->base_path, sizeof pp->base_path, "%.*s%s", (int)tl, u.target, suffix);
    }
    pp->seconds = opts->seconds ? opts->seconds : 30;
    pp->heap = opts->heap;
    *out = pp;
    return 0;
}

void pprof_probe_set_window(struct pprof_probe *pp, uint64_t from_ns, uint64_t to_ns)
{
    pp->from_ns = from_ns;
    pp->to_ns = to_ns;
}

void pprof_probe_set_window_offsets(struct pprof_probe *pp, uint64_t from_off_ns,
                                    uint64_t to_off_ns)
{
    pp->offsets = true;
    pp->from_off_ns = from_off_ns;
    pp->to_off_ns = to_off_ns;
}

const struct flame *pprof_probe_flame(const struct pprof_probe *pp)
{
    return pp->cpu;
}

void pprof_probe_set_files(struct pprof_probe *pp, const char *folded, const char *svg,
                           const char *speedscope)
{
    const char *in[3] = {folded, svg, speedscope};
    for (size_t i = 0; i < 3; i++) {
        free(pp->files[i]);
        pp->files[i] = in[i] != NULL ? strdup(in[i]) : NULL;
    }
}

/* GETs base_path + rest and decodes it by value_type into a new flame; NULL with err. */
static struct flame *fetch_profile(struct pprof_probe *pp, const char *rest, const char *value_type,
                                   uint64_t timeout_ns, struct pprof_info *info, char *err,
                                   size_t err_len)
{
    char path[URL_MAX_TARGET + 64];
    struct dynbuf body;
    struct flame *fg = NULL;
    int status = 0;
    snprintf(path, sizeof path, "%s%s", pp->base_path, rest);
    dynbuf_init(&body, PPROF_MAX_BODY);
    if (pprof_fetch(pp->url, path, timeout_ns, &pp->cancel, &body, &status, err, err_len) < 0) {
        goto out;
    }
    if (status != 200) {
        /* net/http/pprof explains itself in a text body: show its first line. */
        char first[160] = "";
        if (body.data != NULL) {
            size_t l = strcspn(body.data, "\r\n");
            l = l < sizeof first - 1 ? l : sizeof first - 1;
            for (size_t i = 0; i < l; i++) {
                unsigned char c = (unsigned char)body.data[i];
                first[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
            }
            first[l] = '\0';
        }
        text_errf(err, err_len, -EPROTO, "pprof: GET %s%s answered %d%s%s%s", pp->url, path, status,
                  first[0] ? " (" : "", first, first[0] ? ")" : "");
        goto out;
    }
    fg = flame_new();
    if (fg == NULL) {
        text_errf(err, err_len, -ENOMEM, "pprof: out of memory");
        goto out;
    }
    char derr[256] = "";
    if (pprof_decode(body.data, body.len, value_type, fg, info, derr, sizeof derr) < 0) {
        text_errf(err, err_len, -EINVAL, "%s (GET %s%s)", derr, pp->url, path);
        flame_free(fg);
        fg = NULL;
    }
out:
    dynbuf_destroy(&body);
    return fg;
}

static void *cpu_thread(void *arg)
{
    struct pprof_probe *pp = arg;
    uint64_t now = clock_now_ns();
    while (!pp->cancel && now < pp->from_ns) {
        uint64_t left = pp->from_ns - now;
        struct timespec ts = {0, (long)(left < 100 * NS_PER_MS ? left : 100 * NS_PER_MS)};
        nanosleep(&ts, NULL);
        now = clock_now_ns();
    }
    unsigned secs = pp->seconds;
    if (pp->to_ns != 0) {
        uint64_t room = pp->to_ns > now ? (pp->to_ns - now) / NS_PER_S : 0;
        secs = room < secs ? (unsigned)room : secs;
    }
    if (pp->cancel) {
        snprintf(pp->cpu_error, sizeof pp->cpu_error,
                 "pprof: the run ended before the profile window began");
    } else if (secs < 1) {
        snprintf(pp->cpu_error, sizeof pp->cpu_error,
                 "pprof: the profile window is shorter than 1 s: no CPU profile taken");
    } else {
        char rest[64];
        pp->taken_seconds = secs;
        snprintf(rest, sizeof rest, "/profile?seconds=%u", secs);
        pp->cpu = fetch_profile(pp, rest, "cpu", (secs + 15) * NS_PER_S, &pp->cpu_info,
                                pp->cpu_error, sizeof pp->cpu_error);
        if (pp->cpu == NULL && pp->cpu_error[0] == '\0') {
            snprintf(pp->cpu_error, sizeof pp->cpu_error, "pprof: no CPU profile");
        }
    }
    __atomic_store_n(&pp->done, true, __ATOMIC_RELEASE);
    return NULL;
}

static uint64_t heap_total(const struct flame *fg)
{
    return fg != NULL ? flame_total(fg) : 0;
}

static int cmp_growth(const void *a, const void *b)
{
    const struct heap_growth *x = a, *y = b;
    return x->bytes > y->bytes ? -1 : x->bytes < y->bytes;
}

/* The functions whose live heap (self: allocation sites) grew most, before -> after. */
static void heap_diff(struct pprof_probe *pp)
{
    size_t na = flame_frames(pp->heap_after), nb = flame_frames(pp->heap_before);
    struct flame_top *a = calloc(na ? na : 1, sizeof *a);
    struct flame_top *b = calloc(nb ? nb : 1, sizeof *b);
    struct heap_growth *g = calloc(na ? na : 1, sizeof *g);
    size_t ng = 0;
    if (a == NULL || b == NULL || g == NULL) {
        goto out;
    }
    na = flame_top(pp->heap_after, FLAME_BY_SELF, a, na);
    nb = flame_top(pp->heap_before, FLAME_BY_SELF, b, nb);
    for (size_t i = 0; i < na; i++) {
        int64_t before = 0;
        for (size_t j = 0; j < nb; j++) {
            if (strcmp(a[i].name, b[j].name) == 0) {
                before = (int64_t)b[j].self;
                break;
            }
        }
        int64_t d = (int64_t)a[i].self - before;
        if (d <= 0) {
            continue;
        }
        struct heap_growth *h = &g[ng++];
        snprintf(h->function, sizeof h->function, "%s", a[i].name);
        snprintf(h->file, sizeof h->file, "%s", a[i].file != NULL ? a[i].file : "");
        h->line = a[i].line;
        h->bytes = d;
    }
    qsort(g, ng, sizeof *g, cmp_growth);
    pp->n_growth = ng < HEAP_ROWS ? ng : HEAP_ROWS;
    memcpy(pp->growth, g, pp->n_growth * sizeof *g);
out:
    free(a);
    free(b);
    free(g);
}

static int op_start(void *self, char *err, size_t err_len)
{
    struct pprof_probe *pp = self;
    char herr[256] = "";
    if (pp->offsets) {
        uint64_t now = clock_now_ns();
        pp->from_ns = now + pp->from_off_ns;
        pp->to_ns = pp->to_off_ns ? now + pp->to_off_ns : 0;
    }
    /* The heap profile before the load doubles as the reachability check.  gc=1: Go's
     * heap profile shows the heap as of the last collection; this forces one first. */
    pp->heap_before =
        fetch_profile(pp, "/heap?gc=1", "inuse_space", HEAP_TIMEOUT_NS, NULL, herr, sizeof herr);
    if (pp->heap_before == NULL) {
        if (strstr(herr, "cannot reach") != NULL || strstr(herr, "resolve") != NULL) {
            snprintf(pp->cpu_error, sizeof pp->cpu_error, "%s", herr);
            return text_errf(err, err_len, -EHOSTUNREACH, "%s", herr);
        }
        if (strstr(herr, "answered 404") != NULL) {
            snprintf(pp->cpu_error, sizeof pp->cpu_error,
                     "%s: is net/http/pprof imported and served there?", herr);
            return text_errf(err, err_len, -ENOENT, "%s", pp->cpu_error);
        }
        snprintf(pp->heap_error, sizeof pp->heap_error, "%s", herr);
    }
    pp->heap_before_bytes = heap_total(pp->heap_before);
    int r = pthread_create(&pp->thread, NULL, cpu_thread, pp);
    if (r != 0) {
        snprintf(pp->cpu_error, sizeof pp->cpu_error, "pprof: cannot start a thread: %s",
                 strerror(r));
        return text_errf(err, err_len, -r, "%s", pp->cpu_error);
    }
    pp->thread_started = true;
    uint64_t from = pp->from_ns > clock_now_ns() ? pp->from_ns : clock_now_ns();
    pp->expect_end_ns = from + (uint64_t)pp->seconds * NS_PER_S;
    if (pp->to_ns != 0 && pp->to_ns < pp->expect_end_ns) {
        pp->expect_end_ns = pp->to_ns;
    }
    return 0;
}

static void op_sample(void *self, uint64_t now_ns, struct registry *reg)
{
    (void)self;
    (void)now_ns;
    (void)reg; /* the fetches run on the probe's own thread */
}

static void op_stop(void *self)
{
    struct pprof_probe *pp = self;
    if (pp->thread_started) {
        /* Give a profile in flight until its expected end + 5 s, then cut it. */
        uint64_t grace = pp->expect_end_ns + 5 * NS_PER_S;
        while (!__atomic_load_n(&pp->done, __ATOMIC_ACQUIRE) && clock_now_ns() < grace) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        pp->cancel = true;
        pthread_join(pp->thread, NULL);
        pp->thread_started = false;
        pp->cancel = false;
    }
    if (pp->heap && pp->heap_before != NULL) {
        pp->heap_after = fetch_profile(pp, "/heap?gc=1", "inuse_space", HEAP_TIMEOUT_NS, NULL,
                                       pp->heap_error, sizeof pp->heap_error);
        pp->heap_after_bytes = heap_total(pp->heap_after);
        if (pp->heap_after != NULL) {
            heap_diff(pp);
        }
    }
}

static void print_bytes(FILE *f, double b)
{
    if (b >= 1024.0 * 1024.0) {
        fprintf(f, "%.1f MiB", b / (1024.0 * 1024.0));
    } else if (b >= 1024.0) {
        fprintf(f, "%.1f KiB", b / 1024.0);
    } else {
        fprintf(f, "%.0f B", b);
    }
}

static void op_summary(void *self, FILE *f, bool color)
{
    struct pprof_probe *pp = self;
    (void)color;
    if (pp->cpu == NULL) {
        fprintf(f, "  CPU profile (pprof %s): not taken: %s\n", pp->url, pp->cpu_error);
    } else {
        fprintf(f, "  CPU profile (pprof %s, %u s): %llu samples, %.2f s of CPU\n", pp->url,
                pp->taken_seconds,
                (unsigned long long)(pp->cpu_info.counted ? pp->cpu_info.counted
                                                          : pp->cpu_info.samples),
                strcmp(flame_unit(pp->cpu), "nanoseconds") == 0
                    ? (double)flame_total(pp->cpu) / (double)NS_PER_S
                    : 0.0);
        if (flame_total(pp->cpu) == 0) {
            fprintf(f, "    no samples: the service used no CPU in the window\n");
        } else {
            profile_print_top(pp->cpu, f, PROFILE_SUMMARY_ROWS);
        }
        static const char *labels[3] = {"folded stacks", "flame graph", "speedscope"};
        for (size_t i = 0; i < 3; i++) {
            if (pp->files[i] != NULL) {
                fprintf(f, "    %s: %s\n", labels[i], pp->files[i]);
            }
        }
    }
    if (!pp->heap) {
        return;
    }
    if (pp->heap_after == NULL) {
        fprintf(f, "  heap (pprof): not compared: %s\n",
                pp->heap_error[0] ? pp->heap_error : "no heap profile");
        return;
    }
    fprintf(f, "  heap in use (pprof): ");
    print_bytes(f, (double)pp->heap_before_bytes);
    fprintf(f, " before, ");
    print_bytes(f, (double)pp->heap_after_bytes);
    fprintf(f, " after");
    if (pp->n_growth > 0) {
        fprintf(f, "; grew most in:\n");
        for (size_t i = 0; i < pp->n_growth; i++) {
            fprintf(f, "    +");
            print_bytes(f, (double)pp->growth[i].bytes);
            fprintf(f, "  %s\n", pp->growth[i].function);
        }
    } else {
        fprintf(f, "\n");
    }
}

static size_t op_findings(void *self, struct finding *out, size_t cap);

static int op_to_json(void *self, struct jsonw *w)
{
    struct pprof_probe *pp = self;
    jsonw_obj_begin(w);
    jsonw_key(w, "source");
    jsonw_str(w, "pprof");
    jsonw_key(w, "url");
    jsonw_str(w, pp->url);
    if (pp->cpu == NULL) {
        jsonw_key(w, "error");
        jsonw_str(w, pp->cpu_error);
    } else {
        jsonw_key(w, "seconds");
        jsonw_uint(w, pp->taken_seconds);
        jsonw_key(w, "sample_type");
        jsonw_str(w, pp->cpu_info.sample_type);
        jsonw_key(w, "unit");
        jsonw_str(w, flame_unit(pp->cpu));
        jsonw_key(w, "period");
        jsonw_int(w, pp->cpu_info.period);
        jsonw_key(w, "samples");
        jsonw_uint(w, pp->cpu_info.counted ? pp->cpu_info.counted : pp->cpu_info.samples);
        jsonw_key(w, "total");
        jsonw_uint(w, flame_total(pp->cpu));
        jsonw_key(w, "async_preempt_folded");
        jsonw_uint(w, pp->cpu_info.preempt_folded);
        jsonw_key(w, "top");
        profile_json_top(pp->cpu, w, PROFILE_JSON_ROWS);
        profile_json_files(w, pp->files);
    }
    if (pp->heap) {
        jsonw_key(w, "heap");
        jsonw_obj_begin(w);
        if (pp->heap_after == NULL) {
            jsonw_key(w, "error");
            jsonw_str(w, pp->heap_error[0] ? pp->heap_error : "no heap profile");
        } else {
            jsonw_key(w, "inuse_before_bytes");
            jsonw_uint(w, pp->heap_before_bytes);
            jsonw_key(w, "inuse_after_bytes");
            jsonw_uint(w, pp->heap_after_bytes);
            jsonw_key(w, "growth");
            jsonw_arr_begin(w);
            for (size_t i = 0; i < pp->n_growth; i++) {
                jsonw_obj_begin(w);
                jsonw_key(w, "function");
                jsonw_str(w, pp->growth[i].function);
                jsonw_key(w, "file");
                pp->growth[i].file[0] ? jsonw_str(w, pp->growth[i].file) : jsonw_null(w);
                jsonw_key(w, "line");
                jsonw_int(w, pp->growth[i].line);
                jsonw_key(w, "bytes");
                jsonw_int(w, pp->growth[i].bytes);
                jsonw_obj_end(w);
            }
            jsonw_arr_end(w);
        }
        jsonw_obj_end(w);
    }
    /* The hot functions (and a growing heap) for the report's bottleneck section. */
    struct finding fs[8];
    size_t nf = op_findings(self, fs, sizeof fs / sizeof fs[0]);
    jsonw_key(w, "findings");
    probe_findings_json(w, fs, nf);
    jsonw_obj_end(w);
    return jsonw_error(w);
}

static size_t op_findings(void *self, struct finding *out, size_t cap)
{
    struct pprof_probe *pp = self;
    size_t n = pp->cpu != NULL ? profile_findings(pp->cpu, "pprof", out, cap) : 0;
    /* The live heap grew by more than half and by at least 1 MiB: a leak candidate. */
    if (n < cap && pp->heap_after != NULL && pp->n_growth > 0 &&
        pp->heap_after_bytes > pp->heap_before_bytes + (1u << 20) &&
        pp->heap_after_bytes > pp->heap_before_bytes + pp->heap_before_bytes / 2) {
        struct finding *fd = &out[n++];
        memset(fd, 0, sizeof *fd);
        fd->severity = FINDING_WARNING;
        snprintf(fd->probe, sizeof fd->probe, "pprof");
        snprintf(fd->kind, sizeof fd->kind, "heap_growth");
        snprintf(fd->location, sizeof fd->location, "%s", pp->growth[0].function);
        snprintf(fd->evidence, sizeof fd->evidence,
                 "the live heap grew from %.1f MiB to %.1f MiB during the load; %.1f MiB of "
                 "the growth was allocated in %s",
                 (double)pp->heap_before_bytes / 1048576.0,
                 (double)pp->heap_after_bytes / 1048576.0, (double)pp->growth[0].bytes / 1048576.0,
                 pp->growth[0].function);
        snprintf(fd->recommendation, sizeof fd->recommendation,
                 "check whether what %.120s allocates is kept alive (a cache or map "
                 "without bound, a leak)",
                 pp->growth[0].function);
        fd->impact = -1;
    }
    return n;
}

static void op_free(void *self)
{
    struct pprof_probe *pp = self;
    if (pp->thread_started) {
        pp->cancel = true;
        pthread_join(pp->thread, NULL);
    }
    flame_free(pp->cpu);
    flame_free(pp->heap_before);
    flame_free(pp->heap_after);
    for (size_t i = 0; i < 3; i++) {
        free(pp->files[i]);
    }
    free(pp);
}

static const struct probe_ops pprof_ops = {
    .name = "pprof",
    .start = op_start,
    .sample = op_sample,
    .stop = op_stop,
    .summary = op_summary,
    .to_json = op_to_json,
    .findings = op_findings,
    .free = op_free,
};

struct probe pprof_probe(struct pprof_probe *pp)
{
    return (struct probe){&pprof_ops, pp};
}
