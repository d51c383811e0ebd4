/*
 * demo_tls — the throwaway certificate and the one HTTPS GET of `brunt demo --tls`
 * (see demo_tls.h).  The certificate is its own issuer, so a client that trusts it as
 * a CA file (brunt's --cacert) verifies the chain and the name like any other; nothing
 * else trusts it, and it is deleted with its directory when the demo ends.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cli/demo_tls.h"
#include "core/file.h"

/* Adds extension nid with value v (as the openssl config syntax says it). */
static int add_ext(X509 *x, int nid, const char *v)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, v);
    if (e == NULL) {
        return -1;
    }
    int ok = X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok ? 0 : -1;
}

/* Writes the PEM of key or cert to path with mode; 0 or -1. */
static int write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        return -1;
    }
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        return -1;
    }
    int ok =
        key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, cert);
    if (fclose(f) != 0) {
        ok = 0;
    }
    return ok ? 0 : -1;
}

int demo_tls_make(struct demo_tls *d, char *err, size_t err_len)
{
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    const char *what = "making the directory";
    memset(d, 0, sizeof *d);
    /* The directory's name, and room in cert and key for the longest file name in it. */
    if (file_temp_path(d->dir, sizeof d->dir, "brunt-demo-tls.XXXXXX") < 0 ||
        strlen(d->dir) + sizeof "/cert.pem" > sizeof d->cert) {
        d->dir[0] = '\0';
        snprintf(err, err_len,
                 "TMPDIR is too long for the throwaway certificate's path (%zu bytes at most)",
                 sizeof d->cert - sizeof "/brunt-demo-tls.XXXXXX/cert.pem");
        return -1;
    }
    if (mkdtemp(d->dir) == NULL) {
        int e = errno;
        snprintf(err, err_len, "cannot make a temporary directory %s: %s", d->dir, strerror(e));
        d->dir[0] = '\0';
        return -1;
    }
    what = "naming the files"; /* cannot fail: the length was checked above */
    if (snprintf(d->cert, sizeof d->cert, "%s/cert.pem", d->dir) >= (int)sizeof d->cert ||
        snprintf(d->key, sizeof d->key, "%s/key.pem", d->dir) >= (int)sizeof d->key) {
        goto fail;
    }
    what = "generating a P-256 key";
    key = EVP_EC_gen("P-256");
    if (key == NULL) {
        goto fail;
    }
    what = "building the certificate";
    x = X509_new();
    X509_NAME *name = x ? X509_get_subject_name(x) : NULL;
    if (x == NULL || !X509_set_version(x, 2) ||
        !ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(getpid() & 0x7fffffff) + 1) ||
        X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600) == NULL || !X509_set_pubkey(x, key) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    (const unsigned char *)"brunt demo (throwaway)", -1, -1, 0) ||
        !X509_set_issuer_name(x, name) ||
        add_ext(x, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
        add_ext(x, NID_key_usage, "critical,digitalSignature,keyCertSign") < 0 ||
        add_ext(x, NID_ext_key_usage, "serverAuth") < 0 ||
        add_ext(x, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost") < 0 ||
        !X509_sign(x, key, EVP_sha256())) {
        goto fail;
    }
    what = "writing the key";
    if (write_pem(d->key, 0600, key, NULL) < 0) {
        goto fail;
    }
    what = "writing the certificate";
    if (write_pem(d->cert, 0644, NULL, x) < 0) {
        goto fail;
    }
    X509_free(x);
    EVP_PKEY_free(key);
    return 0;

fail : {
    unsigned long e = ERR_get_error();
    char ebuf[256] = "";
    if (e != 0) {
        ERR_error_string_n(e, ebuf, sizeof ebuf);
    }
    snprintf(err, err_len, "the throwaway certificate: %s failed (%s)", what,
             e != 0 ? ebuf : (errno != 0 ? strerror(errno) : "no reason given"));
    ERR_clear_error();
}
    X509_free(x);
    EVP_PKEY_free(key);
    demo_tls_remove(d);
    return -1;
}

void demo_tls_remove(struct demo_tls *d)
{
    if (d->dir[0] == '\0') {
        return;
    }
    (void)unlink(d->cert);
    (void)unlink(d->key);
    (void)rmdir(d->dir);
    d->dir[0] = '\0';
}

int demo_tls_get(const char *cacert, unsigned port, const char *path, int *status, char *body,
                 size_t cap)
{
    int rc = -1, fd = -1;
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    char *resp = NULL;
    size_t len = 0, rcap = 1 << 20;
    if (cap == 0 || (ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
        SSL_CTX_load_verify_locations(ctx, cacert, NULL) != 1) {
        goto out;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {.tv_sec = 5};
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 ||
        connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        goto out;
    }
    if ((ssl = SSL_new(ctx)) == NULL || !SSL_set_fd(ssl, fd) ||
        !X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1") || SSL_connect(ssl) != 1) {
        goto out;
    }
    char req[512];
    int n =
        snprintf(req, sizeof req,
                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n\r\n", path, port);
    if (n <= 0 || (size_t)n >= sizeof req || SSL_write(ssl, req, n) != n ||
        (resp = malloc(rcap)) == NULL) {
        goto out;
    }
    for (;;) {
        if (len + 1 >= rcap) {
            goto out;
        }
        int k = SSL_read(ssl, resp + len, (int)(rcap - 1 - len));
        if (k <= 0) {
            break; /* the server closes after its answer (close_notify or EOF) */
        }
        len += (size_t)k;
    }
    resp[len] = '\0';
    char *end = strstr(resp, "\r\n\r\n");
    if (end == NULL || sscanf(resp, "HTTP/1.%*d %d", status) != 1) {
        goto out;
    }
    snprintf(body, cap, "%s", end + 4);
    rc = 0;
out:
    free(resp);
    if (ssl != NULL) {
        SSL_free(ssl);
    }
    SSL_CTX_free(ctx);
    if (fd >= 0) {
        close(fd);
    }
    ERR_clear_error();
    return rc;
}
