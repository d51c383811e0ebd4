/*
 * cookie — Set-Cookie parsing and the per-VU jar (scenario/cookie.h).  The parser
 * follows RFC 6265 section 5.2 (split at ';', the first pair is the cookie, attribute
 * names case-insensitive, the last of an attribute wins) and 5.1.1 for dates.
 */
#include "scenario/cookie.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && is_ws(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_ws((*s)[*n - 1])) {
        (*n)--;
    }
}

static bool has_ctl(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            return true;
        }
    }
    return false;
}

static bool attr_is(const char *s, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int cookie_parse_date(const char *s, size_t len, int64_t *out)
{
    static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    bool have_time = false, have_day = false, have_month = false, have_year = false;
    int hh = 0, mi = 0, ss = 0, day = 0, month = 0, year = 0;
    size_t i = 0;
    while (i < len) {
        /* delimiters: everything but digits, letters and ':' (5.1.1) */
        while (i < len && !(s[i] == ':' || (s[i] >= '0' && s[i] <= '9') ||
                            ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z'))) {
            i++;
        }
        size_t b = i;
        while (i < len && (s[i] == ':' || (s[i] >= '0' && s[i] <= '9') ||
                           ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z'))) {
            i++;
        }
        const char *t = s + b;
        size_t n = i - b;
        if (n == 0) {
            break;
        }
        size_t digits = 0;
        while (digits < n && t[digits] >= '0' && t[digits] <= '9') {
            digits++;
        }
        int a = 0, c = 0, e = 0;
        size_t k = 0;
        if (!have_time && n >= 5 && n <= 8) {
            /* hh:mm:ss, each one or two digits */
            int parts[3] = {0, 0, 0}, np = 0, nd = 0;
            bool ok = true;
            for (k = 0; k < n && ok; k++) {
                if (t[k] == ':') {
                    ok = nd > 0 && np < 2;
                    np++;
                    nd = 0;
                } else if (t[k] >= '0' && t[k] <= '9' && nd < 2) {
                    parts[np] = parts[np] * 10 + (t[k] - '0');
                    nd++;
                } else {
                    ok = false;
                }
            }
            if (ok && np == 2 && nd > 0) {
                a = parts[0];
                c = parts[1];
                e = parts[2];
                have_time = true;
                hh = a;
                mi = c;
                ss = e;
                continue;
            }
        }
        if (!have_day && digits >= 1 && digits <= 2 && digits == n) {
            day = t[0] - '0';
            if (digits == 2) {
                day = day * 10 + (t[1] - '0');
            }
            have_day = true;
            continue;
        }
        if (!have_month && n >= 3) {
            for (int m = 0; m < 12; m++) {
                if (strncasecmp(t, months + 3 * m, 3) == 0) {
                    month = m + 1;
                    have_month = true;
                    break;
                }
            }
            if (have_month) {
                continue;
            }
        }
        if (!have_year && digits >= 2 && digits <= 4 && digits == n) {
            year = 0;
            for (k = 0; k < digits; k++) {
                year = year * 10 + (t[k] - '0');
            }
            have_year = true;
            continue;
        }
    }
    if (have_year && year >= 70 && year <= 99) {
        year += 1900;
    } else if (have_year && year <= 69) {
        year += 2000;
    }
    if (!have_time || !have_day || !have_month || !have_year || day < 1 || day > 31 ||
        year < 1601 || hh > 23 || mi > 59 || ss > 59) {
        return -EINVAL;
    }
    *out = days_from_civil(year, (unsigned)month, (unsigned)day) * 86400 + hh * 3600 + mi * 60 + ss;
    return 0;
}

int cookie_parse(const char *s, size_t len, struct cookie_set *out)
{
    memset(out, 0, sizeof *out);
    const char *semi = memchr(s, ';', len);
    size_t pair_len = semi != NULL ? (size_t)(semi - s) : len;
    const char *eq = memchr(s, '=', pair_len);
    if (eq == NULL) {
        return -EINVAL;
    }
    const char *name = s, *value = eq + 1;
    size_t name_len = (size_t)(eq - s), value_len = pair_len - name_len - 1;
    trim(&name, &name_len);
    trim(&value, &value_len);
    if (name_len == 0 || has_ctl(name, name_len) || has_ctl(value, value_len)) {
        return -EINVAL;
    }
    out->name = name;
    out->name_len = name_len;
    out->value = value;
    out->value_len = value_len;
    const char *p = semi != NULL ? semi + 1 : s + len;
    const char *end = s + len;
    while (p < end) {
        const char *stop = memchr(p, ';', (size_t)(end - p));
        if (stop == NULL) {
            stop = end;
        }
        const char *an = p, *av = NULL;
        const char *aeq = memchr(p, '=', (size_t)(stop - p));
        size_t an_len = (size_t)((aeq != NULL ? aeq : stop) - p), av_len = 0;
        if (aeq != NULL) {
            av = aeq + 1;
            av_len = (size_t)(stop - av);
            trim(&av, &av_len);
        }
        trim(&an, &an_len);
        if (attr_is(an, an_len, "Secure")) {
            out->secure = true;
        } else if (attr_is(an, an_len, "HttpOnly")) {
            out->http_only = true;
        } else if (attr_is(an, an_len, "Domain") && av != NULL) {
            if (av_len > 0 && av[0] == '.') {
                av++;
                av_len--;
            }
            out->domain = av_len > 0 ? av : NULL;
            out->domain_len = av_len;
        } else if (attr_is(an, an_len, "Path") && av != NULL) {
            /* A path that does not start with '/' means the default path (5.2.4). */
            bool ok = av_len > 0 && av[0] == '/';
            out->path = ok ? av : NULL;
            out->path_len = ok ? av_len : 0;
        } else if (attr_is(an, an_len, "Max-Age") && av != NULL && av_len > 0) {
            size_t k = av[0] == '-' ? 1 : 0;
            int64_t v = 0;
            bool ok = k < av_len;
            for (; k < av_len && ok; k++) {
                ok = av[k] >= '0' && av[k] <= '9';
                if (ok && v < INT64_MAX / 20) {
                    v = v * 10 + (av[k] - '0');
                }
            }
            if (ok) {
                out->has_max_age = true;
                out->max_age_s = av[0] == '-' ? -v : v;
            }
        } else if (attr_is(an, an_len, "Expires") && av != NULL) {
            int64_t t;
            if (cookie_parse_date(av, av_len, &t) == 0) {
                out->has_expires = true;
                out->expires_s = t;
            }
        }
        p = stop + 1;
    }
    return 0;
}

/* Whether host domain-matches domain (5.1.3): equal, or a suffix after a dot of a name
 * that is not an IP address. */
static bool domain_match(const char *host, const char *domain, size_t dlen)
{
    size_t hlen = strlen(host);
    if (hlen == dlen) {
        return strncasecmp(host, domain, dlen) == 0;
    }
    if (hlen < dlen + 1 || host[hlen - dlen - 1] != '.' ||
        strncasecmp(host + hlen - dlen, domain, dlen) != 0) {
        return false;
    }
    unsigned char ip[16];
    return inet_pton(AF_INET, host, ip) != 1 && inet_pton(AF_INET6, host, ip) != 1;
}

/* Whether a request path matches a cookie path (5.1.4). */
static bool path_match(const char *path, size_t plen, const char *cpath)
{
    size_t clen = strlen(cpath);
    if (clen > plen || memcmp(path, cpath, clen) != 0) {
        return false;
    }
    return clen == plen || cpath[clen - 1] == '/' || path[clen] == '/';
}

static void cookie_free(struct cookie *c)
{
    free(c->name);
    memset(c, 0, sizeof *c);
}

static void jar_del(struct cookie_jar *jar, size_t i)
{
    cookie_free(&jar->c[i]);
    memmove(&jar->c[i], &jar->c[i + 1], (jar->n - i - 1) * sizeof jar->c[0]);
    jar->n--;
    memset(&jar->c[jar->n], 0, sizeof jar->c[0]);
}

int cookie_jar_store(struct cookie_jar *jar, const char *set_cookie, size_t len, const char *host,
                     const char *path, size_t path_len, int64_t now_s)
{
    struct cookie_set cs;
    if (cookie_parse(set_cookie, len, &cs) < 0 || cs.name_len + cs.value_len > COOKIE_MAX_BYTES) {
        return 0;
    }
    const char *domain = host;
    size_t dlen = strlen(host);
    bool host_only = cs.domain == NULL;
    if (!host_only) {
        if (cs.domain_len > 255 || !domain_match(host, cs.domain, cs.domain_len)) {
            return 0; /* a Domain the request host does not belong to */
        }
        domain = cs.domain;
        dlen = cs.domain_len;
    }
    /* The default path: the request path up to its last '/' (5.1.4). */
    const char *cpath = cs.path;
    size_t cplen = cs.path_len;
    if (cpath == NULL) {
        const char *q = memchr(path, '?', path_len);
        size_t n = q != NULL ? (size_t)(q - path) : path_len;
        while (n > 0 && path[n - 1] != '/') {
            n--;
        }
        cpath = path;
        cplen = n > 1 ? n - 1 : 1;
        if (path_len == 0 || path[0] != '/') {
            cpath = "/";
            cplen = 1;
        }
    }
    if (cplen > 1024) {
        return 0;
    }
    int64_t expires = COOKIE_SESSION;
    if (cs.has_max_age) {
        expires = cs.max_age_s <= 0 ? INT64_MIN : now_s + cs.max_age_s;
    } else if (cs.has_expires) {
        expires = cs.expires_s;
    }
    for (size_t i = 0; i < jar->n; i++) {
        struct cookie *c = &jar->c[i];
        if (strlen(c->name) == cs.name_len && memcmp(c->name, cs.name, cs.name_len) == 0 &&
            strlen(c->domain) == dlen && strncasecmp(c->domain, domain, dlen) == 0 &&
            strlen(c->path) == cplen && memcmp(c->path, cpath, cplen) == 0) {
            jar_del(jar, i);
            break;
        }
    }
    if (expires <= now_s) {
        return 0; /* expired: deleted (above) and not stored */
    }
    if (jar->n == COOKIE_JAR_MAX) {
        jar_del(jar, 0); /* the oldest goes */
    }
    size_t total = cs.name_len + cs.value_len + dlen + cplen + 4;
    char *b = malloc(total);
    if (b == NULL) {
        return -ENOMEM;
    }
    struct cookie *c = &jar->c[jar->n++];
    c->name = b;
    memcpy(b, cs.name, cs.name_len);
    b[cs.name_len] = '\0';
    c->value = b + cs.name_len + 1;
    memcpy(c->value, cs.value, cs.value_len);
    c->value[cs.value_len] = '\0';
    c->domain = c->value + cs.value_len + 1;
    for (size_t i = 0; i < dlen; i++) {
        char ch = domain[i];
        c->domain[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch;
    }
    c->domain[dlen] = '\0';
    c->path = c->domain + dlen + 1;
    memcpy(c->path, cpath, cplen);
    c->path[cplen] = '\0';
    c->expires_s = expires;
    c->host_only = host_only;
    c->secure = cs.secure;
    c->http_only = cs.http_only;
    return 0;
}

int cookie_jar_header(struct cookie_jar *jar, const char *host, const char *path, size_t path_len,
                      bool tls, int64_t now_s, struct dynbuf *out)
{
    const char *q = memchr(path, '?', path_len);
    size_t plen = q != NULL ? (size_t)(q - path) : path_len;
    int n = 0;
    for (size_t i = 0; i < jar->n;) {
        struct cookie *c = &jar->c[i];
        if (c->expires_s <= now_s) {
            jar_del(jar, i);
            continue;
        }
        i++;
        bool host_ok = c->host_only ? strcasecmp(host, c->domain) == 0
                                    : domain_match(host, c->domain, strlen(c->domain));
        if (!host_ok || !path_match(path, plen, c->path) || (c->secure && !tls)) {
            continue;
        }
        int rc = n > 0 ? dynbuf_add(out, "; ", 2) : 0;
        rc = rc ? rc : dynbuf_adds(out, c->name);
        rc = rc ? rc : dynbuf_addc(out, '=');
        rc = rc ? rc : dynbuf_adds(out, c->value);
        if (rc < 0) {
            return rc;
        }
        n++;
    }
    return n;
}

void cookie_jar_clear(struct cookie_jar *jar)
{
    for (size_t i = 0; i < jar->n; i++) {
        cookie_free(&jar->c[i]);
    }
    jar->n = 0;
}
