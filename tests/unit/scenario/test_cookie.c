/*
 * Tests for scenario/cookie: Set-Cookie attributes, the three HTTP date forms, and the
 * jar's matching rules (host-only and Domain cookies, paths, Secure, expiry, replace).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "scenario/cookie.h"

#define NOW 1700000000LL

static struct cookie_jar jar;

static void reset(void)
{
    cookie_jar_clear(&jar);
}

/* The Cookie header the jar sends to host and path (tls or not), as a string. */
static char *header(const char *host, const char *path, bool tls, int64_t now)
{
    static char out[4096];
    struct dynbuf b;
    dynbuf_init(&b, sizeof out);
    int n = cookie_jar_header(&jar, host, path, strlen(path), tls, now, &b);
    cr_assert(n >= 0, "cookie_jar_header: %d", n);
    snprintf(out, sizeof out, "%.*s", (int)b.len, b.data ? b.data : "");
    dynbuf_destroy(&b);
    return out;
}

static void store(const char *sc, const char *host, const char *path)
{
    cr_assert_eq(cookie_jar_store(&jar, sc, strlen(sc), host, path, strlen(path), NOW), 0);
}

Test(cookie, parse_reads_every_attribute)
{
    const char *s = " sid = abc ; Path=/a; Domain=.Example.com; Max-Age=60; Secure; HttpOnly; "
                    "SameSite=Lax";
    struct cookie_set cs;
    cr_assert_eq(cookie_parse(s, strlen(s), &cs), 0);
    cr_assert(cs.name_len == 3 && memcmp(cs.name, "sid", 3) == 0);
    cr_assert(cs.value_len == 3 && memcmp(cs.value, "abc", 3) == 0);
    cr_assert(cs.path_len == 2 && memcmp(cs.path, "/a", 2) == 0);
    cr_assert(cs.domain_len == 11 && memcmp(cs.domain, "Example.com", 11) == 0);
    cr_assert(cs.has_max_age && cs.max_age_s == 60);
    cr_assert(cs.secure && cs.http_only);
}

Test(cookie, parse_refuses_pairs_without_a_name)
{
    struct cookie_set cs;
    cr_assert_eq(cookie_parse("novalue", 7, &cs), -EINVAL);
    cr_assert_eq(cookie_parse("=x", 2, &cs), -EINVAL);
    cr_assert_eq(cookie_parse("a\x01=x", 4, &cs), -EINVAL);
    cr_assert_eq(cookie_parse("a=", 2, &cs), 0, "an empty value is a cookie");
}

Test(cookie, dates_in_the_three_http_forms)
{
    int64_t t;
    const char *forms[] = {"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                           "Sun Nov  6 08:49:37 1994"};
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(cookie_parse_date(forms[i], strlen(forms[i]), &t), 0, "%s", forms[i]);
        cr_assert_eq(t, 784111777, "%s: %lld", forms[i], (long long)t);
    }
    cr_assert_eq(cookie_parse_date("yesterday", 9, &t), -EINVAL);
    cr_assert_eq(cookie_parse_date("06 Nov 1994 25:00:00", 20, &t), -EINVAL);
}

Test(cookie, host_only_cookies_go_back_to_their_host_only, .init = reset)
{
    store("a=1", "example.com", "/");
    cr_assert_str_eq(header("example.com", "/x", false, NOW), "a=1");
    cr_assert_str_eq(header("sub.example.com", "/x", false, NOW), "");
    cr_assert_str_eq(header("other.com", "/x", false, NOW), "");
}

Test(cookie, domain_cookies_go_to_subdomains, .init = reset)
{
    store("a=1; Domain=example.com", "www.example.com", "/");
    cr_assert_str_eq(header("example.com", "/", false, NOW), "a=1");
    cr_assert_str_eq(header("api.example.com", "/", false, NOW), "a=1");
    cr_assert_str_eq(header("badexample.com", "/", false, NOW), "");
    /* a Domain the request host does not belong to is refused */
    store("b=2; Domain=other.com", "www.example.com", "/");
    cr_assert_str_eq(header("other.com", "/", false, NOW), "");
}

Test(cookie, paths_match_by_segment_and_default_to_the_directory, .init = reset)
{
    store("a=1; Path=/api", "h", "/");
    store("d=4", "h", "/shop/cart?x=1"); /* default path /shop */
    cr_assert_str_eq(header("h", "/api", false, NOW), "a=1");
    cr_assert_str_eq(header("h", "/api/v1", false, NOW), "a=1");
    cr_assert_str_eq(header("h", "/apix", false, NOW), "");
    cr_assert_str_eq(header("h", "/shop/item", false, NOW), "d=4");
    cr_assert_str_eq(header("h", "/", false, NOW), "");
}

Test(cookie, secure_cookies_only_over_tls, .init = reset)
{
    store("s=1; Secure", "h", "/");
    cr_assert_str_eq(header("h", "/", false, NOW), "");
    cr_assert_str_eq(header("h", "/", true, NOW), "s=1");
}

Test(cookie, expiry_max_age_wins_and_zero_deletes, .init = reset)
{
    store("a=1; Max-Age=10; Expires=Sun, 06 Nov 1994 08:49:37 GMT", "h", "/");
    cr_assert_str_eq(header("h", "/", false, NOW + 5), "a=1", "Max-Age wins over a past Expires");
    cr_assert_str_eq(header("h", "/", false, NOW + 11), "", "expired after Max-Age");
    store("b=1", "h", "/");
    store("b=2", "h", "/");
    cr_assert_str_eq(header("h", "/", false, NOW), "b=2", "same name, domain, path: replaced");
    store("b=x; Max-Age=0", "h", "/");
    cr_assert_str_eq(header("h", "/", false, NOW), "", "Max-Age=0 deletes");
    cr_assert_eq(jar.n, 0);
}

Test(cookie, the_jar_keeps_at_most_its_cap, .init = reset)
{
    char sc[32];
    for (int i = 0; i < COOKIE_JAR_MAX + 10; i++) {
        snprintf(sc, sizeof sc, "c%d=%d", i, i);
        store(sc, "h", "/");
    }
    cr_assert_eq(jar.n, COOKIE_JAR_MAX);
    cr_assert_str_eq(jar.c[0].name, "c10", "the oldest went first");
    cookie_jar_clear(&jar);
}
