/*
 * Tests for url: parsing of target URLs, the Host header value, and resolution of
 * loopback names (the only network these tests may touch).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>

#include "http/url.h"

struct ucase {
    const char *in;
    int err;
    bool tls;
    const char *host;
    unsigned port;
    bool v6;
    const char *target;
    const char *host_header;
};

static const struct ucase cases[] = {
    {"http://example.com", 0, false, "example.com", 80, false, "/", "example.com"},
    {"http://example.com/", 0, false, "example.com", 80, false, "/", "example.com"},
    {"https://example.com", 0, true, "example.com", 443, false, "/", "example.com"},
    {"HTTPS://Example.COM/Path", 0, true, "example.com", 443, false, "/Path", "example.com"},
    {"http://127.0.0.1:8080/a/b?c=d&e", 0, false, "127.0.0.1", 8080, false, "/a/b?c=d&e",
     "127.0.0.1:8080"},
    {"http://h?x=1", 0, false, "h", 80, false, "/?x=1", "h"},
    {"http://h/p#frag", 0, false, "h", 80, false, "/p", "h"},
    {"http://h#frag", 0, false, "h", 80, false, "/", "h"},
    {"http://h/p?q#f?g", 0, false, "h", 80, false, "/p?q", "h"},
    {"http://[::1]:8080/x", 0, false, "::1", 8080, true, "/x", "[::1]:8080"},
    {"https://[2001:DB8::1]/", 0, true, "2001:db8::1", 443, true, "/", "[2001:db8::1]"},
    {"http://[::ffff:127.0.0.1]", 0, false, "::ffff:127.0.0.1", 80, true, "/",
     "[::ffff:127.0.0.1]"},
    {"http://h:80/", 0, false, "h", 80, false, "/", "h"},
    {"https://h:80/", 0, true, "h", 80, false, "/", "h:80"},
    {"http://h:443/", 0, false, "h", 443, false, "/", "h:443"},
    {"http://h:65535", 0, false, "h", 65535, false, "/", "h:65535"},
    {"http://my_host-1.local~x/", 0, false, "my_host-1.local~x", 80, false, "/",
     "my_host-1.local~x"},
    {"http://h/caf\xc3\xa9", 0, false, "h", 80, false, "/caf%C3%A9", "h"},
    {"http://h/%20ok", 0, false, "h", 80, false, "/%20ok", "h"},

    {"", URL_ESCHEME},
    {"example.com", URL_ESCHEME},
    {"ftp://example.com", URL_ESCHEME},
    {"http:/example.com", URL_ESCHEME},
    {"httpx://h", URL_ESCHEME},
    {"http://user:pw@h/", URL_EUSERINFO},
    {"http://user@h", URL_EUSERINFO},
    {"http:///path", URL_EHOST},
    {"http://", URL_EHOST},
    {"http://:80/", URL_EHOST},
    {"http://ho st/", URL_EHOST},
    {"http://h!/", URL_EHOST},
    {"http://[::1/", URL_EHOST},
    {"http://[]/", URL_EHOST},
    {"http://[zz::1]/", URL_EHOST},
    {"http://[::1]x/", URL_EHOST},
    {"http://[fe80::1%25eth0]/", URL_EHOST},
    {"http://[1.2.3]/", URL_EHOST},
    {"http://h:/", URL_EPORT},
    {"http://h:0/", URL_EPORT},
    {"http://h:65536/", URL_EPORT},
    {"http://h:123456/", URL_EPORT},
    {"http://h:8o/", URL_EPORT},
    {"http://h:-1/", URL_EPORT},
    {"http://h/a b", URL_ETARGET},
    {"http://h/a\tb", URL_ETARGET},
    {"http://h/a\x7f", URL_ETARGET},
    {"http://h?a\nb", URL_ETARGET},
};

Test(url, parse_table)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct ucase *c = &cases[i];
        struct url u;
        memset(&u, 0xAA, sizeof u);
        int rc = url_parse(c->in, &u);
        cr_expect_eq(rc, c->err, "'%s': rc %d (%s) vs %d (%s)", c->in, rc, brunt_strerror(rc),
                     c->err, brunt_strerror(c->err));
        if (rc != 0 || c->err != 0) {
            continue;
        }
        cr_expect_eq(u.tls, c->tls, "'%s': tls %d vs %d", c->in, u.tls, c->tls);
        cr_expect_str_eq(u.host, c->host, "'%s': host '%s' vs '%s'", c->in, u.host, c->host);
        cr_expect_eq(u.port, c->port, "'%s': port %u vs %u", c->in, u.port, c->port);
        cr_expect_eq(u.ipv6_literal, c->v6, "'%s': v6 %d vs %d", c->in, u.ipv6_literal, c->v6);
        cr_expect_str_eq(u.target, c->target, "'%s': target '%s' vs '%s'", c->in, u.target,
                         c->target);
        char hh[300];
        int n = url_host_header(&u, hh, sizeof hh);
        cr_expect_eq(n, (int)strlen(c->host_header), "'%s': host header length %d", c->in, n);
        cr_expect_str_eq(hh, c->host_header, "'%s': host header '%s' vs '%s'", c->in, hh,
                         c->host_header);
    }
}

Test(url, null_is_an_error)
{
    struct url u;
    cr_expect_eq(url_parse(NULL, &u), URL_ESCHEME, "NULL url");
}

Test(url, host_of_255_bytes_is_the_limit)
{
    static char buf[600];
    struct url u;
    strcpy(buf, "http://");
    memset(buf + 7, 'a', 255);
    strcpy(buf + 7 + 255, "/x");
    int rc = url_parse(buf, &u);
    cr_expect_eq(rc, 0, "255-byte host rc %d (%s)", rc, brunt_strerror(rc));
    cr_expect_eq(strlen(u.host), 255, "host length %zu", strlen(u.host));

    memset(buf + 7, 'a', 256);
    strcpy(buf + 7 + 256, "/x");
    rc = url_parse(buf, &u);
    cr_expect_eq(rc, URL_EHOST, "256-byte host rc %d (%s)", rc, brunt_strerror(rc));
}

Test(url, target_length_is_capped)
{
    static char buf[URL_MAX_TARGET + 64];
    struct url u;
    size_t pre = strlen("http://h");
    memcpy(buf, "http://h", pre);
    /* Exactly URL_MAX_TARGET - 1 bytes of target fit. */
    memset(buf + pre, 'p', URL_MAX_TARGET - 1);
    buf[pre] = '/';
    buf[pre + URL_MAX_TARGET - 1] = '\0';
    int rc = url_parse(buf, &u);
    cr_expect_eq(rc, 0, "longest target rc %d (%s)", rc, brunt_strerror(rc));
    cr_expect_eq(strlen(u.target), URL_MAX_TARGET - 1, "target length %zu", strlen(u.target));

    buf[pre + URL_MAX_TARGET - 1] = 'p';
    buf[pre + URL_MAX_TARGET] = '\0';
    rc = url_parse(buf, &u);
    cr_expect_eq(rc, URL_ETOOLONG, "one more byte rc %d (%s)", rc, brunt_strerror(rc));
}

Test(url, percent_encoding_counts_against_the_cap)
{
    static char buf[URL_MAX_TARGET + 64];
    struct url u;
    size_t pre = strlen("http://h/");
    memcpy(buf, "http://h/", pre);
    /* 1 + 3 * 2731 = 8194 bytes encoded: too long, though 2732 bytes raw. */
    memset(buf + pre, '\xe9', 2731);
    buf[pre + 2731] = '\0';
    int rc = url_parse(buf, &u);
    cr_expect_eq(rc, URL_ETOOLONG, "rc %d (%s)", rc, brunt_strerror(rc));
}

Test(url, host_header_reports_short_buffer)
{
    struct url u;
    cr_assert_eq(url_parse("http://example.com:8080/", &u), 0);
    char small[8];
    int n = url_host_header(&u, small, sizeof small);
    cr_expect_eq(n, URL_ETOOLONG, "rc %d", n);
    char exact[18]; /* "example.com:8080" is 16 bytes + NUL */
    n = url_host_header(&u, exact, 17);
    cr_expect_eq(n, 16, "rc %d", n);
    cr_expect_str_eq(exact, "example.com:8080");
}

Test(url, strerror_names_every_error)
{
    for (int e = URL_EDNS; e <= URL_ESCHEME; e++) {
        cr_expect_str_neq(brunt_strerror(e), brunt_strerror(-100), "code %d", e);
    }
    cr_expect_str_eq(brunt_strerror(URL_ESCHEME), "URL must start with http:// or https://");
}

Test(url, resolves_ipv4_loopback)
{
    struct url u;
    struct sockaddr_storage ss;
    socklen_t len = 0;
    cr_assert_eq(url_parse("http://127.0.0.1:8081/", &u), 0);
    int rc = url_resolve(&u, &ss, &len);
    cr_assert_eq(rc, 0, "rc %d (%s)", rc, brunt_strerror(rc));
    cr_assert_eq(ss.ss_family, AF_INET, "family %d", ss.ss_family);
    cr_expect_eq(len, sizeof(struct sockaddr_in), "len %u", (unsigned)len);
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
    cr_expect_eq(ntohs(sin->sin_port), 8081, "port %u", ntohs(sin->sin_port));
    cr_expect_eq(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK, "addr %x",
                 ntohl(sin->sin_addr.s_addr));
}

Test(url, resolves_ipv6_literal)
{
    struct url u;
    struct sockaddr_storage ss;
    socklen_t len = 0;
    cr_assert_eq(url_parse("https://[::1]/", &u), 0);
    int rc = url_resolve(&u, &ss, &len);
    cr_assert_eq(rc, 0, "rc %d (%s)", rc, brunt_strerror(rc));
    cr_assert_eq(ss.ss_family, AF_INET6, "family %d", ss.ss_family);
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
    cr_expect_eq(ntohs(sin6->sin6_port), 443, "port %u", ntohs(sin6->sin6_port));
    cr_expect(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr), "::1");
}

Test(url, resolves_localhost)
{
    struct url u;
    struct sockaddr_storage ss;
    socklen_t len = 0;
    cr_assert_eq(url_parse("http://localhost:9/", &u), 0);
    int rc = url_resolve(&u, &ss, &len);
    cr_assert_eq(rc, 0, "rc %d (%s)", rc, brunt_strerror(rc));
    cr_expect(ss.ss_family == AF_INET || ss.ss_family == AF_INET6, "family %d", ss.ss_family);
}

Test(url, unresolvable_host_is_edns)
{
    struct url u;
    struct sockaddr_storage ss;
    socklen_t len = 0;
    /* .invalid never resolves (RFC 6761), and fails without the network. */
    cr_assert_eq(url_parse("http://no-such-host.invalid/", &u), 0);
    int rc = url_resolve(&u, &ss, &len);
    cr_expect_eq(rc, URL_EDNS, "rc %d (%s)", rc, brunt_strerror(rc));
}
