/*
 * compile_options — the file-wide settings: `base_url:` (the origin and path prefix of
 * relative request URLs), `options:` (threads, timeout, connect_timeout, grace; the
 * command line overrides each) and `defaults:` (headers and timeout every scenario
 * starts from).  Load time, one thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/url.h"
#include "scenario/load_internal.h"

static const char *const OPTION_KEYS[] = {"threads", "timeout", "connect_timeout", "grace", NULL};
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
        return load__err(L, n, "bad base_url '%s': %s (expected http://host[:port][/path])", s,
                         url_strerror(rc));
    }
    if (u.tls) {
        return load__err(L, n, "https is not supported yet in '%s' (expected http://)", s);
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
