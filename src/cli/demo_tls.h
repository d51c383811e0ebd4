/*
 * demo_tls — what `brunt demo --tls` needs beside the demo: a throwaway self-signed
 * certificate made with OpenSSL's API (no openssl program at run time) in a private
 * temporary directory, and one HTTPS GET that trusts only that certificate (the demo's
 * own GET /__stats after the run).  Main thread only; nothing here prints.
 */
#ifndef BRUNT_CLI_DEMO_TLS_H
#define BRUNT_CLI_DEMO_TLS_H

#include <limits.h>
#include <stddef.h>

struct demo_tls {
    char dir[PATH_MAX];  /* $TMPDIR (or /tmp)/brunt-demo-tls.XXXXXX, mode 0700 */
    char cert[PATH_MAX]; /* dir/cert.pem: the certificate, for --tls-cert and --cacert */
    char key[PATH_MAX];  /* dir/key.pem: its private key (mode 0600) */
};

/*
 * Makes the directory (in $TMPDIR, else /tmp; a TMPDIR too long for the paths in
 * struct demo_tls is an error) and writes a P-256 key and a self-signed certificate for
 * 127.0.0.1 (subjectAltName IP:127.0.0.1, DNS:localhost), valid from an hour ago for a
 * day.  Returns 0, or -1 with one line in err (what failed); nothing is left behind.
 */
int demo_tls_make(struct demo_tls *d, char *err, size_t err_len);

/* Removes the files and the directory (what demo_tls_make made; a zeroed d: nothing). */
void demo_tls_remove(struct demo_tls *d);

/*
 * GET https://127.0.0.1:port/path (Connection: close), verifying the server against
 * cacert alone and the name 127.0.0.1, bounded by 5 s.  Returns 0 with *status and the
 * body (NUL-terminated, cut at cap - 1), or -1.
 */
int demo_tls_get(const char *cacert, unsigned port, const char *path, int *status, char *body,
                 size_t cap);

#endif
