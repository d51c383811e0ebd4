/*
 * url — parsing of target URLs into connection and request-line parts; see url.h.
 *
 * The grammar is the subset of RFC 3986 a load-testing target needs.  Host names are
 * limited to the characters DNS names and IPv4 addresses use (letters, digits, '-',
 * '.', '_', '~'), so a typo is an error here and not a puzzling DNS failure later.
 */
#include "http/url.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool prefix_ci(const char *s, const char *prefix)
{
    for (; *prefix != '\0'; s++, prefix++) {
        if (lower(*s) != *prefix) {
            return false;
        }
    }
    return true;
}

static bool is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* Hex digits, colons and dots (an embedded IPv4); zone ids ("%eth0") are refused. */
static bool is_ipv6_char(char c)
{
    return (c >= '0' && c <= '9') || (lower(c) >= 'a' && lower(c) <= 'f') || c == ':' || c == '.';
}

/* Parses the authority s[0..len) into out's host, port and ipv6_literal. */
static int parse_authority(const char *s, size_t len, struct url *out)
{
    size_t host_end; /* index just past the host (and its closing bracket) */
    const char *host;
    size_t host_len;

    if (memchr(s, '@', len) != NULL) {
        return URL_EUSERINFO;
    }
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL) {
            return URL_EHOST;
        }
        host = s + 1;
        host_len = (size_t)(close - host);
        host_end = (size_t)(close - s) + 1;
        out->ipv6_literal = true;
    } else {
        host_end = 0;
        while (host_end < len && s[host_end] != ':') {
            host_end++;
        }
        host = s;
        host_len = host_end;
        out->ipv6_literal = false;
    }
    if (host_len == 0 || host_len > URL_MAX_HOST) {
        return URL_EHOST;
    }
    for (size_t i = 0; i < host_len; i++) {
        char c = host[i];
        if (!(out->ipv6_literal ? is_ipv6_char(c) : is_host_char(c))) {
            return URL_EHOST;
        }
        out->host[i] = lower(c);
    }
    out->host[host_len] = '\0';
    if (out->ipv6_literal) {
        struct in6_addr a6;
        if (inet_pton(AF_INET6, out->host, &a6) != 1) {
            return URL_EHOST;
        }
    }

    out->port = out->tls ? 443 : 80;
    if (host_end == len) {
        return 0;
    }
    if (s[host_end] != ':') {
        return URL_EHOST; /* "[::1]x" */
    }
    size_t p = host_end + 1;
    if (p == len || len - p > 5) {
        return URL_EPORT;
    }
    unsigned port = 0;
    for (; p < len; p++) {
        if (s[p] < '0' || s[p] > '9') {
            return URL_EPORT;
        }
        port = port * 10 + (unsigned)(s[p] - '0');
    }
    if (port == 0 || port > 65535) {
        return URL_EPORT;
    }
    out->port = (uint16_t)port;
    return 0;
}

/* Appends byte c to the target, percent-encoding bytes outside ASCII. */
static int target_put(struct url *out, size_t *n, unsigned char c)
{
    static const char hex[] = "0123456789ABCDEF";
    if (c <= 0x20 || c == 0x7f) {
        return URL_ETARGET;
    }
    size_t need = c >= 0x80 ? 3 : 1;
    if (*n + need > URL_MAX_TARGET - 1) {
        return URL_ETOOLONG;
    }
    if (c >= 0x80) {
        out->target[(*n)++] = '%';
        out->target[(*n)++] = hex[c >> 4];
        out->target[(*n)++] = hex[c & 0xf];
    } else {
        out->target[(*n)++] = (char)c;
    }
    return 0;
}

int url_parse(const char *s, struct url *out)
{
    int rc;
    size_t n = 0;

    if (s == NULL) {
        rc = URL_ESCHEME;
        goto fail;
    }
    if (prefix_ci(s, "http://")) {
        out->tls = false;
        s += 7;
    } else if (prefix_ci(s, "https://")) {
        out->tls = true;
        s += 8;
    } else {
        rc = URL_ESCHEME;
        goto fail;
    }
    size_t auth_len = strcspn(s, "/?#");
    rc = parse_authority(s, auth_len, out);
    if (rc != 0) {
        goto fail;
    }
    s += auth_len;
    if (*s != '/') {
        out->target[n++] = '/';
    }
    for (; *s != '\0' && *s != '#'; s++) {
        rc = target_put(out, &n, (unsigned char)*s);
        if (rc != 0) {
            goto fail;
        }
    }
    out->target[n] = '\0';
    return 0;

fail:
    return rc;
}

int url_resolve(const struct url *u, struct sockaddr_storage *addr, socklen_t *addr_len)
{
    struct addrinfo hints, *res = NULL;
    char port[8];
    int rc;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (u->ipv6_literal ? AI_NUMERICHOST : 0);
    snprintf(port, sizeof port, "%u", (unsigned)u->port);
    if (getaddrinfo(u->host, port, &hints, &res) != 0 || res == NULL) {
        rc = URL_EDNS;
        goto fail;
    }
    if (res->ai_addrlen > sizeof *addr) {
        rc = URL_EDNS;
        goto fail_free;
    }
    memset(addr, 0, sizeof *addr);
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *addr_len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;

fail_free:
    freeaddrinfo(res);
fail:
    return rc;
}

int url_host_header(const struct url *u, char *out, size_t cap)
{
    bool default_port = u->port == (u->tls ? 443 : 80);
    const char *open = u->ipv6_literal ? "[" : "";
    const char *close = u->ipv6_literal ? "]" : "";
    int n;

    if (default_port) {
        n = snprintf(out, cap, "%s%s%s", open, u->host, close);
    } else {
        n = snprintf(out, cap, "%s%s%s:%u", open, u->host, close, (unsigned)u->port);
    }
    if (n < 0 || (size_t)n >= cap) {
        return URL_ETOOLONG;
    }
    return n;
}
