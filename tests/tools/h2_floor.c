/*
 * h2_floor — the least work an HTTP/2 client can do per request, for bench/h2.sh: how
 * much of a generator's CPU per request the exchange itself costs (the kernel's TCP and
 * loopback work, the sleeps and wakes, TLS) before any HTTP/2 library, header decoding,
 * checks or metrics.  Issue 9's bar (brunt <= 0.8x h2load) is judged against it.
 *
 *   h2-floor [--tls] [--connections N] [--streams M] [--seconds S] URL
 *
 * URL is http://HOST:PORT/PATH (h2c, prior knowledge) or, with --tls, https://...
 * (ALPN h2, the certificate not verified); HOST is an IPv4 address or localhost.  Each of
 * N connections keeps M GETs in flight for S seconds (defaults 16, 10, 5), then waits at
 * most 2 s for the answers still in flight.  What it does not do is the point: the
 * request's HEADERS block is encoded once (HPACK: static indexes and literals, never
 * the dynamic table) and every request sends the same bytes under a new stream id;
 * frames are split by their length only; an answer's HEADERS are not decoded beyond the
 * first byte (0x88 is ":status: 200" from the static table, as nginx sends it); the
 * windows are 2^30, so no WINDOW_UPDATE goes out until half of the connection's is used;
 * SETTINGS and PINGs are acknowledged.  Like brunt and h2load it runs one thread on
 * epoll (level-triggered), reads a readable connection until EAGAIN, and writes each
 * connection's queued frames once per turn, after the turn's reads.
 *
 * Prints one line, "requests N drained D ok M seconds S": N answers (END_STREAM) within
 * the S seconds, D after them, M answers whose status was 200, S the seconds measured.
 * Exit status 0; 1 when a connection fails, the server sends GOAWAY or RST_STREAM, or
 * streams are still in flight after the drain; 2 for bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONN_MAX 4096
#define STREAM_MAX 1000
#define IN_BYTES (64 * 1024)
#define OUT_BYTES (64 * 1024)
#define WINDOW (1u << 30)
#define DRAIN_NS (2 * 1000000000LL)

enum { F_DATA = 0, F_HEADERS = 1, F_RST = 3, F_SETTINGS = 4, F_PING = 6, F_GOAWAY = 7 };
enum { FL_END_STREAM = 0x1, FL_ACK = 0x1, FL_END_HEADERS = 0x4, FL_PADDED = 0x8, FL_PRIO = 0x20 };

struct conn {
    int fd;
    SSL *ssl;
    uint32_t next_id; /* the next stream id: odd, rising */
    int inflight;
    bool want_out;        /* EPOLLOUT asked for: a write left bytes queued */
    uint64_t window_used; /* DATA bytes since the last connection WINDOW_UPDATE */
    size_t in_len, out_len, out_off;
    uint8_t in[IN_BYTES];
    uint8_t out[OUT_BYTES];
};

struct floor {
    struct conn *conns;
    int nconns, streams;
    bool tls, stopping;
    uint8_t block[256]; /* the request's HEADERS block, encoded once */
    size_t block_len;
    uint64_t requests, drained, ok;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void usage(const char *why)
{
    fprintf(stderr,
            "h2-floor: %s (usage: h2-floor [--tls] [--connections N] [--streams M] "
            "[--seconds S] URL)\n",
            why);
    exit(2);
}

static long number(const char *flag, const char *v, long lo, long hi)
{
    char *end;
    errno = 0;
    long n = v != NULL ? strtol(v, &end, 10) : 0;
    if (v == NULL || errno != 0 || end == v || *end != '\0' || n < lo || n > hi) {
        char why[128];
        snprintf(why, sizeof why, "%s needs a whole number from %ld to %ld", flag, lo, hi);
        usage(why);
    }
    return n;
}

/* frame_head: a frame's 9-byte header at p. */
static void frame_head(uint8_t *p, size_t len, uint8_t type, uint8_t flags, uint32_t id)
{
    p[0] = (uint8_t)(len >> 16);
    p[1] = (uint8_t)(len >> 8);
    p[2] = (uint8_t)len;
    p[3] = type;
    p[4] = flags;
    p[5] = (uint8_t)(id >> 24 & 0x7f);
    p[6] = (uint8_t)(id >> 16);
    p[7] = (uint8_t)(id >> 8);
    p[8] = (uint8_t)id;
}

static bool queue(struct conn *c, const void *bytes, size_t n)
{
    if (c->out_len + n > OUT_BYTES) {
        return false;
    }
    if (n > 0) { /* an empty payload (a SETTINGS ACK) may come as NULL */
        memcpy(c->out + c->out_len, bytes, n);
        c->out_len += n;
    }
    return true;
}

static bool queue_frame(struct conn *c, uint8_t type, uint8_t flags, uint32_t id,
                        const void *payload, size_t len)
{
    uint8_t head[9];
    frame_head(head, len, type, flags, id);
    return queue(c, head, sizeof head) && queue(c, payload, len);
}

static bool queue_request(struct floor *f, struct conn *c)
{
    if (c->next_id > 0x7fffffffu - 2) {
        fprintf(stderr, "h2-floor: a connection ran out of stream ids\n");
        return false;
    }
    if (!queue_frame(c, F_HEADERS, FL_END_STREAM | FL_END_HEADERS, c->next_id, f->block,
                     f->block_len)) {
        fprintf(stderr, "h2-floor: a connection's output buffer is full\n");
        return false;
    }
    c->next_id += 2;
    c->inflight++;
    return true;
}

/* hpack_literal: a literal without indexing whose name is static index IDX (< 15). */
static bool hpack_literal(struct floor *f, unsigned idx, const char *value)
{
    size_t n = strlen(value);
    if (n >= 127 || f->block_len + 2 + n > sizeof f->block) {
        return false;
    }
    f->block[f->block_len++] = (uint8_t)idx;
    f->block[f->block_len++] = (uint8_t)n;
    memcpy(f->block + f->block_len, value, n);
    f->block_len += n;
    return true;
}

/* A recv/send result as bytes, 0 (closed), -EAGAIN or a negative errno. */
static ssize_t sock_result(ssize_t k)
{
    return k >= 0 ? k : errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

/* An SSL_read/SSL_write result the same way. */
static ssize_t ssl_result(SSL *ssl, int k)
{
    if (k > 0) {
        return k;
    }
    int e = SSL_get_error(ssl, k);
    ERR_clear_error();
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? -EAGAIN
           : e == SSL_ERROR_ZERO_RETURN                          ? 0
                                                                 : -EIO;
}

static ssize_t conn_read(struct conn *c, void *buf, size_t n)
{
    return c->ssl == NULL ? sock_result(recv(c->fd, buf, n, 0))
                          : ssl_result(c->ssl, SSL_read(c->ssl, buf, (int)n));
}

static ssize_t conn_write(struct conn *c, const void *buf, size_t n)
{
    return c->ssl == NULL ? sock_result(send(c->fd, buf, n, MSG_NOSIGNAL))
                          : ssl_result(c->ssl, SSL_write(c->ssl, buf, (int)n));
}

/* on_frame: one whole frame; false when the run must fail. */
static bool on_frame(struct floor *f, struct conn *c, const uint8_t *p, size_t len)
{
    uint8_t type = p[3], flags = p[4];
    const uint8_t *payload = p + 9;
    switch (type) {
    case F_HEADERS: {
        size_t skip = ((flags & FL_PADDED) ? 1 : 0) + ((flags & FL_PRIO) ? 5 : 0);
        if (len > skip && payload[skip] == 0x88) {
            f->ok++;
        }
        break;
    }
    case F_DATA:
        c->window_used += len;
        if (c->window_used >= WINDOW / 2) {
            uint8_t inc[4] = {(uint8_t)(c->window_used >> 24 & 0x7f),
                              (uint8_t)(c->window_used >> 16), (uint8_t)(c->window_used >> 8),
                              (uint8_t)c->window_used};
            /* The streams' windows: each answer is far below 2^30. */
            if (!queue_frame(c, 8, 0, 0, inc, sizeof inc)) {
                return false;
            }
            c->window_used = 0;
        }
        break;
    case F_SETTINGS:
        if (!(flags & FL_ACK) && !queue_frame(c, F_SETTINGS, FL_ACK, 0, NULL, 0)) {
            return false;
        }
        return true;
    case F_PING:
        if (!(flags & FL_ACK) && len != 8) {
            fprintf(stderr, "h2-floor: a PING of %zu bytes (8 expected)\n", len);
            return false;
        }
        return (flags & FL_ACK) || queue_frame(c, F_PING, FL_ACK, 0, payload, 8);
    case F_GOAWAY:
        fprintf(stderr, "h2-floor: the server sent GOAWAY\n");
        return false;
    case F_RST:
        fprintf(stderr, "h2-floor: the server reset a stream (RST_STREAM)\n");
        return false;
    default:
        return true;
    }
    if ((flags & FL_END_STREAM) && c->inflight > 0) {
        c->inflight--;
        if (f->stopping) {
            f->drained++;
        } else {
            f->requests++;
            return queue_request(f, c);
        }
    }
    return true;
}

/* take_frames: every whole frame of c->in, the rest moved to its start; false when the
 * run must fail (tests/fuzz/fuzz_h2_floor.c feeds it arbitrary bytes). */
static bool take_frames(struct floor *f, struct conn *c)
{
    size_t at = 0;
    while (c->in_len - at >= 9) {
        const uint8_t *p = c->in + at;
        size_t len = (size_t)p[0] << 16 | (size_t)p[1] << 8 | p[2];
        if (len + 9 > IN_BYTES) {
            fprintf(stderr, "h2-floor: a frame of %zu bytes is larger than the buffer\n", len);
            return false;
        }
        if (c->in_len - at < len + 9) {
            break;
        }
        if (!on_frame(f, c, p, len)) {
            return false;
        }
        at += len + 9;
    }
    memmove(c->in, c->in + at, c->in_len - at);
    c->in_len -= at;
    return true;
}

/* conn_readable: reads until EAGAIN, takes every whole frame; false when it failed. */
static bool conn_readable(struct floor *f, struct conn *c)
{
    for (;;) {
        ssize_t n = conn_read(c, c->in + c->in_len, IN_BYTES - c->in_len);
        if (n == -EAGAIN) {
            return true;
        }
        if (n <= 0) {
            fprintf(stderr, "h2-floor: a connection %s\n",
                    n == 0 ? "was closed by the server" : "failed");
            return false;
        }
        c->in_len += (size_t)n;
        if (!take_frames(f, c)) {
            return false;
        }
    }
}

/* conn_flush: one write of what is queued (EPOLLOUT while some stays); false when it
 * failed. */
static bool conn_flush(int ep, int i, struct conn *c)
{
    if (c->out_len > c->out_off) {
        ssize_t n = conn_write(c, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0 && n != -EAGAIN) {
            fprintf(stderr, "h2-floor: a write failed\n");
            return false;
        }
        c->out_off += n > 0 ? (size_t)n : 0;
        if (c->out_off == c->out_len) {
            c->out_off = c->out_len = 0;
        } else if (c->out_off > OUT_BYTES / 2) {
            memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
            c->out_len -= c->out_off;
            c->out_off = 0;
        }
    }
    bool want = c->out_len > c->out_off;
    if (want != c->want_out) {
        struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0),
                                 .data.u32 = (uint32_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
            return false;
        }
        c->want_out = want;
    }
    return true;
}

static int conn_open(struct floor *f, struct conn *c, const struct sockaddr_in *sa, SSL_CTX *ctx,
                     const char *host)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (c->fd < 0 || setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        connect(c->fd, (const struct sockaddr *)sa, sizeof *sa) != 0) {
        fprintf(stderr, "h2-floor: cannot connect: %s\n", strerror(errno));
        return -1;
    }
    if (ctx != NULL) {
        c->ssl = SSL_new(ctx);
        if (c->ssl == NULL || !SSL_set_fd(c->ssl, c->fd) ||
            !SSL_set_tlsext_host_name(c->ssl, host) || SSL_connect(c->ssl) != 1) {
            fprintf(stderr, "h2-floor: the TLS handshake failed\n");
            return -1;
        }
        const unsigned char *proto;
        unsigned proto_len;
        SSL_get0_alpn_selected(c->ssl, &proto, &proto_len);
        if (proto_len != 2 || memcmp(proto, "h2", 2) != 0) {
            fprintf(stderr, "h2-floor: the server did not choose h2 by ALPN\n");
            return -1;
        }
        /* Whole records in one read once the handshake is done (as brunt reads). */
        SSL_set_read_ahead(c->ssl, 1);
    }
    if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) != 0) {
        return -1;
    }
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    /* SETTINGS: ENABLE_PUSH 0, INITIAL_WINDOW_SIZE 2^30. */
    static const uint8_t settings[] = {0, 2, 0, 0, 0, 0, 0, 4, 0x40, 0, 0, 0};
    uint32_t inc = WINDOW - 65535;
    uint8_t wu[4] = {(uint8_t)(inc >> 24), (uint8_t)(inc >> 16), (uint8_t)(inc >> 8), (uint8_t)inc};
    c->next_id = 1;
    if (!queue(c, preface, sizeof preface - 1) ||
        !queue_frame(c, F_SETTINGS, 0, 0, settings, sizeof settings) ||
        !queue_frame(c, 8, 0, 0, wu, sizeof wu)) {
        return -1;
    }
    for (int i = 0; i < f->streams; i++) {
        if (!queue_request(f, c)) {
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct floor f = {.nconns = 16, .streams = 10};
    long seconds = 5;
    const char *url = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--tls") == 0) {
            f.tls = true;
        } else if (strcmp(a, "--connections") == 0 || strcmp(a, "-c") == 0) {
            f.nconns = (int)number(a, v, 1, CONN_MAX);
            i++;
        } else if (strcmp(a, "--streams") == 0) {
            f.streams = (int)number(a, v, 1, STREAM_MAX);
            i++;
        } else if (strcmp(a, "--seconds") == 0) {
            seconds = number(a, v, 1, 3600);
            i++;
        } else if (a[0] == '-' || url != NULL) {
            char why[160];
            snprintf(why, sizeof why, "unexpected argument '%.100s'", a);
            usage(why);
        } else {
            url = a;
        }
    }
    if (url == NULL) {
        usage("no URL");
    }
    const char *scheme = f.tls ? "https://" : "http://";
    if (strncmp(url, scheme, strlen(scheme)) != 0) {
        usage(f.tls ? "with --tls the URL must start with https://"
                    : "the URL must start with http://");
    }
    char authority[128], host[64];
    const char *hp = url + strlen(scheme), *path = strchr(hp, '/');
    size_t alen = path != NULL ? (size_t)(path - hp) : strlen(hp);
    const char *colon = memchr(hp, ':', alen);
    if (alen >= sizeof authority || colon == NULL || (size_t)(colon - hp) >= sizeof host) {
        usage("the URL needs HOST:PORT (an IPv4 address or localhost)");
    }
    memcpy(authority, hp, alen);
    authority[alen] = '\0';
    memcpy(host, hp, (size_t)(colon - hp));
    host[colon - hp] = '\0';
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%.*s", (int)(alen - (size_t)(colon - hp) - 1),
             colon + 1);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port =
                                 htons((uint16_t)number("the URL's port", port_text, 1, 65535))};
    if (inet_pton(AF_INET, strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, &sa.sin_addr) !=
        1) {
        usage("the URL's host must be an IPv4 address or localhost");
    }
    /* :method GET, :scheme, :path, :authority. */
    f.block[f.block_len++] = 0x82;
    f.block[f.block_len++] = f.tls ? 0x87 : 0x86;
    if (path == NULL || strcmp(path, "/") == 0) {
        f.block[f.block_len++] = 0x84;
    } else if (!hpack_literal(&f, 4, path)) {
        usage("the URL's path is too long (at most 126 bytes)");
    }
    if (!hpack_literal(&f, 1, authority)) {
        usage("the URL's authority is too long");
    }

    SSL_CTX *ctx = NULL;
    if (f.tls) {
        ctx = SSL_CTX_new(TLS_client_method());
        static const unsigned char alpn[] = {2, 'h', '2'};
        if (ctx == NULL || SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn) != 0) {
            fprintf(stderr, "h2-floor: cannot set up TLS\n");
            return 1;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    }
    f.conns = calloc((size_t)f.nconns, sizeof *f.conns);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (f.conns == NULL || ep < 0) {
        fprintf(stderr, "h2-floor: out of memory or descriptors\n");
        return 1;
    }
    for (int i = 0; i < f.nconns; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (conn_open(&f, &f.conns[i], &sa, ctx, host) != 0 ||
            epoll_ctl(ep, EPOLL_CTL_ADD, f.conns[i].fd, &ev) != 0) {
            return 1;
        }
    }

    int64_t start = now_ns(), end = start + seconds * 1000000000LL, stop = 0;
    struct epoll_event evs[256];
    bool failed = false;
    for (;;) {
        int64_t t = now_ns();
        if (!f.stopping && t >= end) {
            f.stopping = true;
            stop = t;
        }
        int inflight = 0;
        for (int i = 0; i < f.nconns; i++) {
            inflight += f.conns[i].inflight;
        }
        if (f.stopping && (inflight == 0 || t >= stop + DRAIN_NS)) {
            failed = failed || inflight > 0;
            if (inflight > 0) {
                fprintf(stderr, "h2-floor: %d streams still in flight 2 s after the end\n",
                        inflight);
            }
            break;
        }
        for (int i = 0; i < f.nconns && !failed; i++) {
            failed = !conn_flush(ep, i, &f.conns[i]);
        }
        if (failed) {
            break;
        }
        int64_t until = f.stopping ? stop + DRAIN_NS : end;
        int timeout_ms = (int)((until - t) / 1000000 + 1);
        int n = epoll_wait(ep, evs, (int)(sizeof evs / sizeof evs[0]), timeout_ms);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "h2-floor: epoll_wait: %s\n", strerror(errno));
            failed = true;
            break;
        }
        for (int k = 0; k < n && !failed; k++) {
            failed = !conn_readable(&f, &f.conns[evs[k].data.u32]);
        }
        if (failed) {
            break;
        }
    }
    double measured = (double)((stop != 0 ? stop : now_ns()) - start) / 1e9;
    printf("requests %llu drained %llu ok %llu seconds %.3f\n", (unsigned long long)f.requests,
           (unsigned long long)f.drained, (unsigned long long)f.ok, measured);
    for (int i = 0; i < f.nconns; i++) {
        if (f.conns[i].ssl != NULL) {
            SSL_free(f.conns[i].ssl);
        }
        close(f.conns[i].fd);
    }
    free(f.conns);
    SSL_CTX_free(ctx);
    close(ep);
    return failed ? 1 : 0;
}
