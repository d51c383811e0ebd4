/*
 * tls — HTTPS for `brunt serve` (--tls-cert FILE --tls-key FILE), with OpenSSL.
 *
 * One SSL_CTX for the server, built at start and shared by every server thread (OpenSSL
 * allows that once it is set up); one SSL per connection, made when it is accepted and
 * driven by the connection's own loop: the handshake, SSL_read and SSL_write never
 * block, WANT_READ / WANT_WRITE become EAGAIN, and the direction OpenSSL waits for is
 * kept on the connection so conn.c watches the right event.  ALPN picks http/1.1 (the
 * server speaks nothing else; a client offering only h2 gets the no_application_protocol
 * alert, as RFC 7301 says).  Sessions resume with TLS 1.3 tickets or the TLS 1.2 ticket
 * extension, stateless, so nothing is locked per connection.  Renegotiation is refused,
 * so a write never waits for input in practice.  SSL_MODE_RELEASE_BUFFERS keeps an idle
 * connection small, in the spirit of conn.c.
 *
 * The plain server uses the same two ops (read(2) and send(2)) so conn.c has no `if`
 * per call.  Left out: client certificates, SNI-based certificate choice, HTTP/2.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/json.h"
#include "server/server_internal.h"

/* ---- plain -------------------------------------------------------------------------- */

static ssize_t plain_recv(struct conn *c, void *buf, size_t n)
{
    return read(c->io.fd, buf, n);
}

static ssize_t plain_send(struct conn *c, const void *buf, size_t n)
{
    return send(c->io.fd, buf, n, MSG_NOSIGNAL);
}

static const struct srv_io_ops plain_ops = {.recv = plain_recv, .send = plain_send};

/* ---- TLS ------------------------------------------------------------------------------ */

/* Maps the result r of an SSL call on c to the read(2)/send(2) convention. */
static ssize_t tls_result(struct conn *c, int r)
{
    if (r > 0) {
        return r;
    }
    int e = SSL_get_error(c->ssl, r);
    ERR_clear_error();
    switch (e) {
    case SSL_ERROR_WANT_READ:
        c->tls_wants_read = true;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        c->tls_wants_write = true;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        return 0; /* close_notify, or a bare EOF (SSL_OP_IGNORE_UNEXPECTED_EOF) */
    case SSL_ERROR_SYSCALL:
        if (errno == 0 || errno == EAGAIN) {
            errno = ECONNRESET;
        }
        return -1;
    default:
        errno = EPROTO;
        return -1;
    }
}

static ssize_t tls_recv(struct conn *c, void *buf, size_t n)
{
    c->tls_wants_write = false;
    int r = SSL_read(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
    ssize_t k = tls_result(c, r);
    c->tls_wants_read = false; /* a read waiting for input is the normal state */
    return k;
}

static ssize_t tls_send(struct conn *c, const void *buf, size_t n)
{
    c->tls_wants_read = false;
    int r = SSL_write(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
    ssize_t k = tls_result(c, r);
    c->tls_wants_write = false; /* conn.c's want_write covers it */
    return k;
}

static const struct srv_io_ops tls_ops = {.recv = tls_recv, .send = tls_send};

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    static const unsigned char ours[] = "\x08http/1.1";
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, ours, sizeof ours - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* The reason of the last OpenSSL error, for a user's line. */
static const char *tls_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
    return r != NULL ? r : "not a PEM file OpenSSL can read";
}

/* Whether path opens for reading; else one line in err. */
static bool tls_readable(const char *flag, const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, err_len, "brunt serve: %s '%s': cannot read it: %s (expected a PEM file)",
                 flag, path, strerror(errno));
        return false;
    }
    fclose(f);
    return true;
}

int server__tls_init(struct server *t, char *err, size_t err_len)
{
    const struct server_options *o = &t->o;
    t->io = &plain_ops;
    if (o->tls_cert == NULL) {
        return 0;
    }
    if (!tls_readable("--tls-cert", o->tls_cert, err, err_len) ||
        !tls_readable("--tls-key", o->tls_key, err, err_len)) {
        return -ENOKEY;
    }
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        snprintf(err, err_len, "brunt serve: cannot set up TLS: %s", tls_reason());
        return -ENOKEY;
    }
    (void)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    if (SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert) != 1) {
        snprintf(err, err_len,
                 "brunt serve: --tls-cert '%s': %s (expected a PEM certificate, then any "
                 "intermediates)",
                 o->tls_cert, tls_reason());
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, o->tls_key, SSL_FILETYPE_PEM) != 1) {
        snprintf(err, err_len, "brunt serve: --tls-key '%s': %s (expected a PEM private key)",
                 o->tls_key, tls_reason());
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, err_len,
                 "brunt serve: --tls-key '%s' does not match --tls-cert '%s': expected the "
                 "certificate's own key",
                 o->tls_key, o->tls_cert);
        goto fail;
    }
    ERR_clear_error();
    t->tls_ctx = ctx;
    t->io = &tls_ops;
    return 0;

fail:
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return -ENOKEY;
}

void server__tls_destroy(struct server *t)
{
    SSL_CTX_free(t->tls_ctx);
    t->tls_ctx = NULL;
}

int server__tls_conn_init(struct conn *c)
{
    struct server *t = c->w->t;
    if (t->tls_ctx == NULL) {
        c->tls_ready = true;
        return 0;
    }
    c->ssl = SSL_new(t->tls_ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->io.fd) != 1) {
        ERR_clear_error();
        return -ENOMEM;
    }
    SSL_set_accept_state(c->ssl);
    return 0;
}

void server__tls_conn_free(struct conn *c)
{
    SSL_free(c->ssl);
    c->ssl = NULL;
}

int server__tls_handshake(struct conn *c)
{
    c->tls_wants_read = c->tls_wants_write = false;
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        c->tls_ready = true;
        cnt_add(&c->w->cnt, C_TLS_HANDSHAKES, 1);
        if (SSL_session_reused(c->ssl)) {
            cnt_add(&c->w->cnt, C_TLS_RESUMED, 1);
        }
        return 1;
    }
    int e = SSL_get_error(c->ssl, r);
    ERR_clear_error();
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        c->tls_wants_write = e == SSL_ERROR_WANT_WRITE;
        return 0;
    }
    cnt_add(&c->w->cnt, C_TLS_FAILED, 1);
    return -1;
}

size_t server__tls_pending(const struct conn *c)
{
    if (c->ssl == NULL || !c->tls_ready) {
        return 0;
    }
    int n = SSL_pending(c->ssl);
    return n > 0 ? (size_t)n : 0;
}

void server__tls_close_notify(struct conn *c)
{
    if (c->ssl != NULL && c->tls_ready) {
        (void)SSL_shutdown(c->ssl); /* one try: the alert, without waiting for the peer's */
        ERR_clear_error();
    }
}

void server__tls_stats_json(struct server *t, const uint64_t *s, struct jsonw *w)
{
    if (t->tls_ctx == NULL) {
        return;
    }
    jsonw_key(w, "tls");
    jsonw_obj_begin(w);
    jsonw_key(w, "handshakes");
    jsonw_uint(w, s[C_TLS_HANDSHAKES]);
    jsonw_key(w, "resumed");
    jsonw_uint(w, s[C_TLS_RESUMED]);
    jsonw_key(w, "failed");
    jsonw_uint(w, s[C_TLS_FAILED]);
    jsonw_obj_end(w);
}
