/*
 * transport_tls — TLS over the plain-TCP transport with OpenSSL (engine/transport.h).
 *
 * One SSL_CTX per origin, built before the run (transport_tls_cfg_new: verification
 * against the system store or --cacert, the expected host or IP address, a client
 * certificate, ALPN http/1.1, or h2 then http/1.1 with --http2, TLS 1.2 at least); one
 * SSL per connection.  Sessions are resumed from a per-worker, per-origin slot
 * (transport_conn.cache): the client-side new-session callback keeps the newest sessions
 * there (struct tls_pool: a TLS 1.3 ticket is used once), so a VU that reconnects
 * resumes without any lock on the request path.  Reads and writes go straight between OpenSSL
 * and the caller's buffers (the worker's read buffer, the request bytes): no copies of
 * our own.  WANT_READ / WANT_WRITE become -EAGAIN; the handshake reports which direction
 * it waits for.  Verification failures become BRUNT_ETLS_* codes (core/error.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/error.h"
#include "engine/transport.h"

struct tls_cfg {
    SSL_CTX *ctx;
    char sni[256]; /* empty for an IP literal: no SNI */
};

struct tls_conn {
    SSL *ssl;
    bool ready;  /* handshake done */
    bool broken; /* a fatal error: no close_notify (and OpenSSL drops the session) */
};

/*
 * A worker's sessions for one origin (the value of its slot; no lock: one thread).  A
 * TLS 1.3 ticket is used once (RFC 8446 C.4: a client should not reuse one, and servers
 * may refuse a second use: nginx with a shared session cache answered the second of two
 * connections offering the same ticket at once with a full handshake), so connections
 * take tickets from this stack and each handshake's new tickets (two after a full one,
 * one after a resumption, from OpenSSL servers) refill it.  A TLS 1.2 session is left in
 * place: its resumption is meant to repeat.
 */
#define TLS_POOL 16
struct tls_pool {
    unsigned n;
    SSL_SESSION *s[TLS_POOL]; /* s[n - 1] the newest */
};

static int tls_new_session(SSL *ssl, SSL_SESSION *sess)
{
    void **slot = SSL_get_app_data(ssl);
    if (slot == NULL) {
        return 0;
    }
    struct tls_pool *p = *slot;
    if (p == NULL && (p = *slot = calloc(1, sizeof *p)) == NULL) {
        return 0;
    }
    if (SSL_SESSION_get_protocol_version(sess) != TLS1_3_VERSION) {
        while (p->n > 0) { /* a TLS 1.2 session replaces what was there */
            SSL_SESSION_free(p->s[--p->n]);
        }
    }
    if (p->n == TLS_POOL) { /* full: the oldest goes */
        SSL_SESSION_free(p->s[0]);
        memmove(p->s, p->s + 1, (TLS_POOL - 1) * sizeof p->s[0]);
        p->n--;
    }
    p->s[p->n++] = sess;
    return 1; /* we keep the reference */
}

/* The session for a new connection, set on ssl: the newest resumable one, taken out of
 * the pool when it is a TLS 1.3 ticket. */
static void tls_pool_use(struct tls_pool *p, SSL *ssl)
{
    while (p != NULL && p->n > 0) {
        SSL_SESSION *sess = p->s[p->n - 1];
        if (!SSL_SESSION_is_resumable(sess)) {
            SSL_SESSION_free(sess);
            p->n--;
            continue;
        }
        (void)SSL_set_session(ssl, sess); /* ssl holds its own reference */
        if (SSL_SESSION_get_protocol_version(sess) == TLS1_3_VERSION) {
            SSL_SESSION_free(sess);
            p->n--;
        }
        return;
    }
}

/* The last OpenSSL error as text, for err. */
static const char *tls_last_error(void)
{
    unsigned long e = ERR_peek_last_error();
    return e ? ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "unknown" : "unknown";
}

/* Whether path can be read; else one line in err naming what and why. */
static bool tls_readable(const char *what, const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, err_len, "cannot read %s '%s': %s (expected a PEM file)", what, path,
                 strerror(errno));
        return false;
    }
    fclose(f);
    return true;
}

int transport_tls_cfg_new(const char *host, bool ip_literal, const struct transport_tls_opts *opts,
                          void **out, char *err, size_t err_len)
{
    int rc = -1;
    struct tls_cfg *cfg = calloc(1, sizeof *cfg);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    ERR_clear_error();
    if (cfg == NULL || ctx == NULL) {
        snprintf(err, err_len, "cannot set up TLS: out of memory");
        goto out;
    }
    cfg->ctx = ctx;
    (void)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, tls_new_session);
    static const unsigned char alpn[] = "\x08http/1.1";
    static const unsigned char alpn_h2[] = "\x02h2\x08http/1.1";
    if ((opts->alpn_h2 ? SSL_CTX_set_alpn_protos(ctx, alpn_h2, sizeof alpn_h2 - 1)
                       : SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1)) != 0) {
        snprintf(err, err_len, "cannot set up TLS: ALPN: %s", tls_last_error());
        goto out;
    }
    if ((opts->cacert != NULL && !tls_readable("CA certificates", opts->cacert, err, err_len)) ||
        (opts->cert != NULL && !tls_readable("client certificate", opts->cert, err, err_len)) ||
        (opts->key != NULL && !tls_readable("client key", opts->key, err, err_len))) {
        goto out;
    }
    if (opts->cacert != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, opts->cacert, NULL) != 1) {
            snprintf(err, err_len,
                     "cannot read CA certificates from '%s': %s (expected a PEM file)",
                     opts->cacert, tls_last_error());
            goto out;
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        snprintf(err, err_len, "cannot load the system CA store: %s (install ca-certificates)",
                 tls_last_error());
        goto out;
    }
    if ((opts->cert == NULL) != (opts->key == NULL)) {
        snprintf(err, err_len, "a client certificate needs both --cert and --key");
        goto out;
    }
    if (opts->cert != NULL) {
        if (SSL_CTX_use_certificate_chain_file(ctx, opts->cert) != 1) {
            snprintf(err, err_len, "cannot read client certificate '%s': %s (expected a PEM file)",
                     opts->cert, tls_last_error());
            goto out;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, opts->key, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            snprintf(err, err_len, "cannot use client key '%s': %s (expected the PEM key of '%s')",
                     opts->key, tls_last_error(), opts->cert);
            goto out;
        }
    }
    if (!opts->insecure) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        X509_VERIFY_PARAM *p = SSL_CTX_get0_param(ctx);
        int ok = ip_literal ? X509_VERIFY_PARAM_set1_ip_asc(p, host)
                            : X509_VERIFY_PARAM_set1_host(p, host, 0);
        if (ok != 1) {
            snprintf(err, err_len, "cannot set up TLS for host '%s'", host);
            goto out;
        }
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    if (!ip_literal) {
        snprintf(cfg->sni, sizeof cfg->sni, "%s", host);
    }
    *out = cfg;
    cfg = NULL;
    ctx = NULL;
    rc = 0;
out:
    if (cfg != NULL) {
        free(cfg);
    }
    if (ctx != NULL) {
        SSL_CTX_free(ctx);
    }
    ERR_clear_error();
    return rc;
}

static void tls_cfg_free(void *p)
{
    struct tls_cfg *cfg = p;
    if (cfg != NULL) {
        SSL_CTX_free(cfg->ctx);
        free(cfg);
    }
}

static void tls_cache_free(void *v)
{
    struct tls_pool *p = v;
    while (p != NULL && p->n > 0) {
        SSL_SESSION_free(p->s[--p->n]);
    }
    free(p);
}

static int tls_connected(struct transport_conn *c)
{
    return transport_tcp.connected(c);
}

static int tls_connect(struct transport_conn *c, const struct sockaddr *addr, socklen_t addr_len)
{
    const struct tls_cfg *cfg = c->cfg;
    if (cfg == NULL) {
        return -EINVAL; /* transport_tls_cfg_new was not called for this origin */
    }
    struct tls_conn *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return -ENOMEM;
    }
    t->ssl = SSL_new(cfg->ctx);
    if (t->ssl == NULL) {
        free(t);
        ERR_clear_error();
        return -ENOMEM;
    }
    int rc = transport_tcp.connect(c, addr, addr_len);
    if (rc < 0 && rc != -EINPROGRESS) {
        SSL_free(t->ssl);
        free(t);
        return rc;
    }
    (void)SSL_set_fd(t->ssl, c->fd);
    SSL_set_connect_state(t->ssl);
    SSL_set_app_data(t->ssl, c->cache);
    if (cfg->sni[0] != '\0') {
        (void)SSL_set_tlsext_host_name(t->ssl, cfg->sni);
    }
    if (c->cache != NULL) {
        tls_pool_use(*c->cache, t->ssl);
    }
    c->state = t;
    return rc;
}

/* Maps a failed handshake to a result: the verification reason, a socket error, or
 * BRUNT_ETLS. */
static int tls_handshake_error(struct tls_conn *t, int e)
{
    if (e == SSL_ERROR_SYSCALL) {
        return errno != 0 ? -errno : -ECONNRESET;
    }
    long v = SSL_get_verify_result(t->ssl);
    switch (v) {
    case X509_V_OK:
        return BRUNT_ETLS;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return BRUNT_ETLS_EXPIRED;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        return BRUNT_ETLS_SELF_SIGNED;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        return BRUNT_ETLS_ISSUER;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return BRUNT_ETLS_NAME;
    default:
        return BRUNT_ETLS;
    }
}

static int tls_handshake(struct transport_conn *c, bool *want_write)
{
    struct tls_conn *t = c->state;
    *want_write = false;
    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(t->ssl);
    if (r == 1) {
        t->ready = true;
        /* From now on one read(2) takes what the socket holds (several records), not a
         * header and a body per record; tls_read stops when OpenSSL holds nothing more.
         * Not during the handshake: records read ahead behind its last message would sit
         * in OpenSSL with no readable event to fetch them. */
        SSL_set_read_ahead(t->ssl, 1);
        return 0;
    }
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        *want_write = e == SSL_ERROR_WANT_WRITE;
        return -EAGAIN;
    }
    t->broken = true;
    int rc = tls_handshake_error(t, e);
    ERR_clear_error();
    return rc;
}

/* An I/O result other than success: -EAGAIN, 0 (the peer closed) or a negative errno. */
static ssize_t tls_io_error(struct tls_conn *t, int r)
{
    int e = SSL_get_error(t->ssl, r);
    ssize_t rc;
    switch (e) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        /* The peer's close_notify (or its FIN: SSL_OP_IGNORE_UNEXPECTED_EOF): an orderly
         * end, not a broken connection.  tls_close answers it; an SSL freed without a
         * close_notify of its own has its session dropped by OpenSSL, and that session is
         * the worker's slot the next connection resumes from. */
        ERR_clear_error();
        return 0;
    case SSL_ERROR_SYSCALL:
        rc = errno != 0 ? -errno : 0;
        break;
    default:
        rc = -EPROTO;
        break;
    }
    t->broken = true;
    ERR_clear_error();
    return rc;
}

/*
 * Fills buf as far as the records at hand allow: SSL_read returns one record at a time,
 * and the caller (engine/conn.c) takes a short read to mean the socket is drained
 * (engine/conn_h2.c reads on: the next call meets the socket's EAGAIN, -EAGAIN).
 */
static ssize_t tls_read(struct transport_conn *c, void *buf, size_t len)
{
    struct tls_conn *t = c->state;
    size_t got = 0;
    while (got < len) {
        ERR_clear_error();
        errno = 0;
        int want = len - got > INT32_MAX ? INT32_MAX : (int)(len - got);
        int r = SSL_read(t->ssl, (char *)buf + got, want);
        if (r > 0) {
            got += (size_t)r;
            if (!SSL_has_pending(t->ssl)) {
                /* Nothing buffered: another SSL_read would only meet EAGAIN.  Bytes still
                 * in the socket wake the (level-triggered) loop again. */
                break;
            }
            continue;
        }
        if (got > 0) {
            /* What failed repeats on the next call (OpenSSL keeps the state). */
            if (SSL_get_error(t->ssl, r) != SSL_ERROR_WANT_READ) {
                ERR_clear_error();
            }
            break;
        }
        return tls_io_error(t, r);
    }
    return (ssize_t)got;
}

static ssize_t tls_write(struct transport_conn *c, const void *buf, size_t len)
{
    struct tls_conn *t = c->state;
    ERR_clear_error();
    errno = 0;
    int want = len > INT32_MAX ? INT32_MAX : (int)len;
    int r = SSL_write(t->ssl, buf, want);
    if (r > 0) {
        return r;
    }
    ssize_t rc = tls_io_error(t, r);
    return rc == 0 ? -EPIPE : rc;
}

static void tls_close(struct transport_conn *c)
{
    struct tls_conn *t = c->state;
    if (t != NULL) {
        if (t->ready && !t->broken) {
            /* close_notify, once and without waiting: the session stays resumable. */
            ERR_clear_error();
            (void)SSL_shutdown(t->ssl);
            ERR_clear_error();
        }
        SSL_free(t->ssl);
        free(t);
        c->state = NULL;
    }
    transport_tcp.close(c);
}

/* Whether the server picked "h2" from the ALPN list (only offered with --http2). */
static bool tls_alpn_h2(struct transport_conn *c)
{
    struct tls_conn *t = c->state;
    const unsigned char *proto = NULL;
    unsigned int len = 0;
    if (t == NULL) {
        return false;
    }
    SSL_get0_alpn_selected(t->ssl, &proto, &len);
    return len == 2 && memcmp(proto, "h2", 2) == 0;
}

static bool tls_resumed(struct transport_conn *c)
{
    struct tls_conn *t = c->state;
    return t != NULL && t->ready && SSL_session_reused(t->ssl) == 1;
}

const struct transport_ops transport_tls = {
    .name = "tls",
    .connect = tls_connect,
    .connected = tls_connected,
    .handshake = tls_handshake,
    .read = tls_read,
    .write = tls_write,
    .close = tls_close,
    .cfg_free = tls_cfg_free,
    .cache_free = tls_cache_free,
    .alpn_h2 = tls_alpn_h2,
    .resumed = tls_resumed,
};
