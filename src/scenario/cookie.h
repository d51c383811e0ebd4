/*
 * cookie — the cookie jar of one virtual user (RFC 6265, the parts a load test meets):
 * Set-Cookie values parsed (Path, Domain, Expires, Max-Age, Secure, HttpOnly; other
 * attributes ignored), kept per VU, and sent back as one Cookie header on requests whose
 * host, path and scheme match.
 *
 * cookie_parse() is a pure parser: no I/O, no allocation, it points into the caller's
 * bytes (fuzzed: tests/fuzz/fuzz_cookie.c).  The jar owns copies.  Left out: the public
 * suffix list (a Domain attribute is accepted when the request host domain-matches it),
 * SameSite, and cookie prefixes.  Caps: COOKIE_JAR_MAX cookies per VU (the oldest goes),
 * COOKIE_MAX_BYTES for name and value together; a longer cookie is ignored.
 */
#ifndef BRUNT_SCENARIO_COOKIE_H
#define BRUNT_SCENARIO_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dynbuf.h"

#define COOKIE_JAR_MAX 64
#define COOKIE_MAX_BYTES 4096
/* Expiry of a session cookie (no Expires, no Max-Age). */
#define COOKIE_SESSION INT64_MAX

/* One parsed Set-Cookie value; the spans point into the parsed bytes. */
struct cookie_set {
    const char *name, *value, *domain, *path;
    size_t name_len, value_len, domain_len, path_len;
    bool secure, http_only;
    bool has_max_age, has_expires;
    int64_t max_age_s; /* seconds; <= 0 expires the cookie at once */
    int64_t expires_s; /* Unix time of Expires */
};

/*
 * Parses one Set-Cookie header value s[0..len).  0, or -EINVAL when it carries no
 * "name=value" pair (no '=', an empty name, or a control byte in name or value).
 * Attributes it cannot read (a bad date, a bad Max-Age) are ignored, as RFC 6265 says.
 */
int cookie_parse(const char *s, size_t len, struct cookie_set *out);

/* Parses an HTTP date as RFC 6265 5.1.1 does (any of the three HTTP date forms).
 * 0 and *out (Unix seconds), or -EINVAL. */
int cookie_parse_date(const char *s, size_t len, int64_t *out);

struct cookie {
    char *name, *value, *domain, *path; /* owned, one allocation (name) */
    int64_t expires_s;                  /* COOKIE_SESSION or Unix seconds */
    bool host_only, secure, http_only;
};

/* A VU's jar; zero-filled is an empty jar. */
struct cookie_jar {
    struct cookie c[COOKIE_JAR_MAX];
    size_t n;
};

/*
 * Stores what a Set-Cookie value says, for a response to a request of host and path
 * (the request target's path, without the query), at now_s (Unix seconds): adds,
 * replaces or (expired) deletes a cookie.  A value that does not parse, a Domain the
 * host does not match, or a cookie over COOKIE_MAX_BYTES is ignored.  0 or -ENOMEM.
 */
int cookie_jar_store(struct cookie_jar *jar, const char *set_cookie, size_t len, const char *host,
                     const char *path, size_t path_len, int64_t now_s);
/*
 * Appends "name=value; name2=value2" of the cookies a request to host and path (tls: an
 * https:// request) carries at now_s to out; expired cookies are dropped on the way.
 * Returns the number of cookies appended, or a negative errno from out.
 */
int cookie_jar_header(struct cookie_jar *jar, const char *host, const char *path, size_t path_len,
                      bool tls, int64_t now_s, struct dynbuf *out);
/* Empties the jar. */
void cookie_jar_clear(struct cookie_jar *jar);

#endif
