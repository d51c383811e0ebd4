/*
 * url — the target URLs a user gives brunt: `http://host[:port][/path][?query]` and
 * `https://...`, with IPv6 literals in brackets (`http://[::1]:8080/x`).
 *
 * It splits a URL into what a connection needs (TLS or not, host, port) and what a
 * request line needs (the origin-form target).  It leaves out everything a load test
 * never sends: userinfo is refused (credentials belong in headers, not in a URL that
 * ends up in logs), the fragment is dropped, and no normalisation of the path is done
 * beyond percent-encoding bytes outside ASCII.  Parsing does no I/O; url_resolve() is
 * the one call that may block (on DNS), so it belongs to set-up, not the request path.
 */
#ifndef BRUNT_HTTP_URL_H
#define BRUNT_HTTP_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/error.h"

/* Bytes of storage for the target, including the terminating NUL. */
#define URL_MAX_TARGET 8192
/* The longest host name (DNS limit), without the brackets of an IPv6 literal. */
#define URL_MAX_HOST 255

enum url_error {
    URL_ESCHEME = BRUNT_ESCHEME,     /* not http:// or https:// */
    URL_EUSERINFO = BRUNT_EUSERINFO, /* user:password@ present */
    URL_EHOST = BRUNT_EHOST,         /* empty, too long, or invalid host */
    URL_EPORT = BRUNT_EPORT,         /* empty, non-numeric, 0 or > 65535 port */
    URL_ETARGET = BRUNT_ETARGET,     /* a space or control character in path or query */
    URL_ETOOLONG = BRUNT_ETOOLONG, /* target longer than URL_MAX_TARGET - 1, or output too small */
    URL_EDNS = BRUNT_EDNS,         /* the host did not resolve */
};

struct url {
    bool tls;                    /* https */
    char host[URL_MAX_HOST + 1]; /* lower-cased, NUL-terminated, no brackets */
    uint16_t port;               /* 80 / 443 unless given */
    bool ipv6_literal;           /* host was [v6] */
    char target[URL_MAX_TARGET]; /* path + query, "/" when empty, NUL-terminated */
};

/*
 * Parses the NUL-terminated URL s into *out.  The scheme is case-insensitive; the host
 * is lower-cased; bytes >= 0x80 in the path or query are percent-encoded; a `#fragment`
 * is dropped.  Returns 0 or a negative enum url_error; *out is undefined on error.
 */
int url_parse(const char *s, struct url *out);

/* brunt_strerror() (core/error.h) names every url_parse() / url_resolve() result. */

/*
 * Resolves u's host and port (getaddrinfo, both address families, first answer) into
 * *addr and *addr_len.  May block on DNS: call it at set-up, not per request.  Returns
 * 0 or URL_EDNS.
 */
int url_resolve(const struct url *u, struct sockaddr_storage *addr, socklen_t *addr_len);

/*
 * Writes the Host header value for u into out[0..cap): "host", "host:port",
 * "[v6]" or "[v6]:port", the port omitted when it is the scheme's default.  Returns the
 * length written (without the NUL), or URL_ETOOLONG when cap is too small.
 */
int url_host_header(const struct url *u, char *out, size_t cap);

#endif
