/*
 * libFuzzer target for url_parse and url_host_header.  The input, cut at its first NUL,
 * is a URL.  Invariants on success: the host is non-empty and within its limit, the
 * port is non-zero, the target starts with '/' (or is NUL-terminated within its cap)
 * and has no space or control byte, and the Host header value re-parses to the same
 * host and port when put back behind the scheme.  url_resolve is not called: it
 * would touch DNS.
 *
 * Built by scripts/fuzz.sh; seeds in tests/fuzz/corpus/url/.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/url.h"

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct url u, v;
    static char rebuilt[512];
    char *s = malloc(size + 1);
    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';

    int rc = url_parse(s, &u);
    check(rc <= 0 && rc >= URL_ETOOLONG);
    check(brunt_strerror(rc) != NULL);
    if (rc == 0) {
        size_t hl = strnlen(u.host, sizeof u.host);
        check(hl > 0 && hl <= URL_MAX_HOST);
        check(u.port != 0);
        size_t tl = strnlen(u.target, sizeof u.target);
        check(tl > 0 && tl < URL_MAX_TARGET && u.target[0] == '/');
        for (size_t i = 0; i < tl; i++) {
            unsigned char c = (unsigned char)u.target[i];
            check(c > 0x20 && c < 0x7f && c != '#');
        }
        char hh[300];
        int n = url_host_header(&u, hh, sizeof hh);
        check(n > 0 && (size_t)n == strlen(hh));
        memcpy(rebuilt, u.tls ? "https://" : "http://", u.tls ? 8 : 7);
        strcpy(rebuilt + (u.tls ? 8 : 7), hh);
        check(url_parse(rebuilt, &v) == 0);
        check(strcmp(u.host, v.host) == 0 && u.port == v.port && u.tls == v.tls &&
              u.ipv6_literal == v.ipv6_literal && strcmp(v.target, "/") == 0);
        /* Too small a buffer is an error, never a truncated value. */
        check(url_host_header(&u, hh, (size_t)n) == URL_ETOOLONG);
    }
    free(s);
    return 0;
}
