/*
 * compile_options — the file-wide settings: `base_url:` (the origin and path prefix of
 * relative request URLs), `options:` (threads, timeout, connect_timeout, grace, and TLS: insecure, cacert,
 * cert, key; http2; the
 * command line overrides each) and `defaults:` (headers and timeout every scenario
 * starts from).  Load time, one thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/url.h"
#include "scenario/load_internal.h"

static const char *const OPTION_KEYS[] = {"threads",        "timeout",      "connect_timeout",
                                          "grace",          "insecure",     "insecureSkipTLSVerify",
                                          "cacert",         "cert",         "key",
                                          "max_redirects",  "maxRedirects", "no_cookies_reset",
                                          "noCookiesReset", "http2",        NULL};

/* A file path option, resolved against the scenario file's directory, into out. */
static int option_path(struct loader *L, struct ynode *n, const char *what, char *out, size_t cap)
{
    const char *path = load__sval(L, n, "a file path");
    if (path == NULL) {
        return -1;
    }
    int len;
    if (path[0] == '/' || L->base_dir == NULL || L->base_dir[0] == '\0') {
        len = snprintf(out, cap, "%s", path);
    } else {
        len = snprintf(out, cap, "%s/%s", L->base_dir, path);
    }
    if (len < 0 || (size_t)len >= cap || path[0] == '\0') {
        return load__err(L, n, "bad %s path '%s' (expected a file path under %zu bytes)", what,
                         path, cap);
    }
    return 0;
}
static const char *const DEFAULT_KEYS[] = {"headers", "timeout", NULL};
int load__compile_base_url(struct loader *L, struct ynode *n)
{
    const char *s = load__sval(L, n, "a URL such as http://127.0.0.1:8083");
    if (s == NULL) {
        return -1;
    }
    const char *rest;
    if (strstr(s, "{{") != NULL) {
        return load__err(L, n, "a template in base_url (expected a fixed URL; ${ENV} is fine)");
    }
    if (load__split_url(L, n, s, &L->base_origin, &rest) < 0) {
        return -1;
    }
    struct url u;
    int rc = url_parse(s, &u);
    if (rc < 0) {
        return load__err(L, n, "bad base_url '%s': %s (expected http[s]://host[:port][/path])", s,
                         brunt_strerror(rc));
    }
    size_t pl = strcspn(rest, "?#");
    while (pl > 0 && rest[pl - 1] == '/') {
        pl--;
    }
    L->base_path = strndup(rest, pl);
    if (L->base_path == NULL) {
        return load__oom(L);
    }
    if (strchr(L->base_path, ' ') != NULL) {
        return load__err(L, n, "a space in base_url (expected it percent-encoded)");
    }
    return 0;
}

int load__compile_options(struct loader *L, struct ynode *n)
{
    if (load__check_map(L, n, "options", OPTION_KEYS) < 0) {
        return -1;
    }
    struct scenario_file_opts *o = L->opts;
    struct ynode *v;
    uint64_t u;
    if ((v = load__mget(n, "threads")) != NULL) {
        if (load__get_u64(L, v, 1, 256, &u) < 0) {
            return -1;
        }
        o->has_threads = true;
        o->threads = (int)u;
    }
    if ((v = load__mget(n, "timeout")) != NULL) {
        if (load__get_duration(L, v, false, &o->timeout_ns) < 0) {
            return -1;
        }
        o->has_timeout = true;
    }
    if ((v = load__mget(n, "connect_timeout")) != NULL) {
        if (load__get_duration(L, v, false, &o->connect_timeout_ns) < 0) {
            return -1;
        }
        o->has_connect_timeout = true;
    }
    if ((v = load__mget(n, "grace")) != NULL) {
        if (load__get_duration(L, v, true, &o->grace_ns) < 0) {
            return -1;
        }
        o->has_grace = true;
    }
    static const char *const bools[] = {"false", "true", NULL};
    const char *ins[] = {"insecure", "insecureSkipTLSVerify"};
    for (size_t i = 0; i < 2; i++) {
        int b;
        if ((v = load__mget(n, ins[i])) != NULL) {
            if (load__get_enum(L, v, ins[i], bools, &b) < 0) {
                return -1;
            }
            o->has_insecure = true;
            o->insecure = b != 0;
        }
    }
    if ((v = load__mget(n, "http2")) != NULL) {
        int b;
        if (load__get_enum(L, v, "http2", bools, &b) < 0) {
            return -1;
        }
        o->http2 = b != 0;
    }
    /* Redirects and cookies (k6's maxRedirects and noCookiesReset, either spelling). */
    const char *mr[] = {"max_redirects", "maxRedirects"};
    const char *ncr[] = {"no_cookies_reset", "noCookiesReset"};
    for (size_t i = 0; i < 2; i++) {
        int b;
        if ((v = load__mget(n, mr[i])) != NULL) {
            if (load__get_u64(L, v, 0, 100, &u) < 0) {
                return -1;
            }
            L->has_max_redirects = true;
            L->max_redirects = (uint32_t)u;
        }
        if ((v = load__mget(n, ncr[i])) != NULL) {
            if (load__get_enum(L, v, ncr[i], bools, &b) < 0) {
                return -1;
            }
            L->no_cookies_reset = b != 0;
        }
    }
    if ((v = load__mget(n, "cacert")) != NULL &&
        option_path(L, v, "cacert", o->cacert, sizeof o->cacert) < 0) {
        return -1;
    }
    if ((v = load__mget(n, "cert")) != NULL &&
        option_path(L, v, "cert", o->cert, sizeof o->cert) < 0) {
        return -1;
    }
    if ((v = load__mget(n, "key")) != NULL && option_path(L, v, "key", o->key, sizeof o->key) < 0) {
        return -1;
    }
    if ((o->cert[0] == '\0') != (o->key[0] == '\0')) {
        return load__err(L, n, "a client certificate needs both cert: and key: in options");
    }
    return 0;
}

int load__compile_defaults(struct loader *L, struct ynode *v)
{
    if (load__check_map(L, v, "defaults", DEFAULT_KEYS) < 0) {
        return -1;
    }
    L->def_headers = load__mget(v, "headers");
    struct ynode *t = load__mget(v, "timeout");
    if (t != NULL && load__get_duration(L, t, false, &L->def_timeout_ns) < 0) {
        return -1;
    }
    return 0;
}
