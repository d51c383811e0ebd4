/*
 * compile_ws — a flow's WebSocket steps (docs/scenarios.md, "WebSocket"): ws_connect
 * (compiled by compile_request.c as the upgrade's GET, with the URL mapped here),
 * ws_send, ws_wait, ws_ping, ws_listen and ws_close, into STEP_WS steps for
 * engine/conn_ws.c.  A session is the span from a ws_connect to its ws_close: the steps
 * that use it must come inside one, and no request step may (the VU's one connection is
 * the session); both are checked here, at load time.  Load time, one thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scenario/load_internal.h"

const char *const load__ws_connect_keys[] = {"ws_connect", "name", "headers", "query",
                                             "timeout",    "tags", NULL};
static const char *const SEND_KEYS[] = {"ws_send", "binary", NULL};
static const char *const WAIT_KEYS[] = {"ws_wait", "timeout", "extract", "on_fail", NULL};
static const char *const PING_KEYS[] = {"ws_ping", NULL};
static const char *const LISTEN_KEYS[] = {"ws_listen", NULL};
static const char *const CLOSE_KEYS[] = {"ws_close", "timeout", NULL};

int load__ws_line(struct loader *L, const struct ynode *n, const char *url, char *out, size_t cap)
{
    const char *scheme = NULL, *rest = url;
    if (strncasecmp(url, "ws://", 5) == 0) {
        scheme = "http://";
        rest = url + 5;
    } else if (strncasecmp(url, "wss://", 6) == 0) {
        scheme = "https://";
        rest = url + 6;
    } else if (url[0] != '/') {
        return load__err(L, n,
                         "bad WebSocket URL '%s' (expected ws://host/path, wss://host/path or "
                         "a path relative to base_url)",
                         url);
    }
    int k = snprintf(out, cap, "GET %s%s", scheme != NULL ? scheme : "", rest);
    if (k < 0 || (size_t)k >= cap) {
        return load__err(L, n, "WebSocket URL too long (at most %d bytes)", URL_MAX_TARGET - 1);
    }
    return 0;
}

/* The step node n's one key of the allowed list, checked. */
static int ws_keys(struct loader *L, struct ynode *n, const char *kind, const char *const *keys)
{
    char what[64];
    snprintf(what, sizeof what, "a %s step", kind);
    return load__check_map(L, n, what, keys);
}

static int compile_send(struct loader *L, struct scen_ctx *C, struct ynode *n, struct step *st,
                        struct flow_step *fs)
{
    if (ws_keys(L, n, "ws_send", SEND_KEYS) < 0) {
        return -1;
    }
    struct ynode *v = load__mget(n, "ws_send");
    const char *s = v->is_null ? "" : load__sval(L, v, "the message text (a template)");
    if (s == NULL) {
        return -1;
    }
    struct ynode *b = load__mget(n, "binary");
    if (b != NULL) {
        static const char *const words[] = {"false", "true", NULL};
        int k;
        if (load__get_enum(L, b, "binary value", words, &k) < 0) {
            return -1;
        }
        st->ws_binary = k == 1;
    }
    struct tmpl *t = NULL;
    if (load__compile_tmpl(L, C, v, 0, s, strlen(s), TMPL_RAW, &t) < 0) {
        return -1;
    }
    fs->has_body = true;
    if (tmpl_is_static(t)) {
        tmpl_free(t);
        fs->body_lit_len = strlen(s);
        fs->body_lit = strdup(s);
        if (fs->body_lit == NULL) {
            return load__oom(L);
        }
    } else {
        fs->body_t = t;
    }
    return 0;
}

static int compile_wait(struct loader *L, struct scen_ctx *C, struct ynode *n, struct flow_step *fs)
{
    if (ws_keys(L, n, "ws_wait", WAIT_KEYS) < 0) {
        return -1;
    }
    struct ynode *v = load__mget(n, "ws_wait");
    struct ynode *chk = v;
    if (v->type == Y_SCALAR && (v->is_null || strcmp(v->s, "any") == 0)) {
        chk = NULL; /* any message */
    }
    if (load__compile_asserts(L, C, load__mget(n, "extract"), chk, fs) < 0) {
        return -1;
    }
    for (size_t i = 0; i < fs->n_asserts; i++) {
        const struct flow_assert *a = &fs->asserts[i];
        if (!a->is_extract && (a->ck.kind == CHECK_STATUS || a->ck.kind == CHECK_HEADER ||
                               a->ck.kind == CHECK_DURATION)) {
            return load__err(L, v,
                             "'%s' cannot match a WebSocket message (expected body or json "
                             "checks, or any)",
                             a->name);
        }
        if (a->is_extract && a->at_head) {
            return load__err(L, load__mget(n, "extract"),
                             "a header extraction on a WebSocket message (expected json or "
                             "regex)");
        }
    }
    fs->wants_body = true;
    struct ynode *of = load__mget(n, "on_fail");
    if (of != NULL) {
        static const char *const words[] = {"continue", "abort", NULL};
        int k;
        if (load__get_enum(L, of, "on_fail value", words, &k) < 0) {
            return -1;
        }
        fs->abort_on_fail = k == 1;
    }
    return 0;
}

int load__compile_ws(struct loader *L, struct scen_ctx *C, struct ynode *n, const char *kind,
                     const char *group)
{
    struct ynode *v = load__mget(n, kind);
    if (!C->ws_open) {
        return load__err(L, load__mkey_of(n, v),
                         "%s without a WebSocket session (expected a ws_connect step before "
                         "it)",
                         kind);
    }
    /* The session's connect step: its origin and name carry over (tags, errors). */
    const struct step *open = NULL;
    for (size_t i = C->sc->n_steps; i-- > 0 && open == NULL;) {
        const struct step *s = &C->sc->steps[i];
        if (s->kind == STEP_WS && s->ws_op == WS_STEP_CONNECT) {
            open = s;
        }
    }
    const struct origin *origin = open != NULL ? open->origin : NULL;
    char *name = open != NULL && open->name != NULL ? strdup(open->name) : NULL;
    struct step *st = load__new_step(L, C, n);
    struct flow_step *fs = st != NULL ? load__owner_new_step(L) : NULL;
    if (fs == NULL) {
        free(name);
        return -1;
    }
    st->kind = STEP_WS;
    st->origin = origin;
    st->name = name;
    flow_attach_ws_step(st, fs);
    fs->feeders = (const struct feeder *const *)L->own->feeders;
    fs->origin = origin;
    fs->max_redirects = -1;
    fs->timeout_ns = C->def_timeout_ns;
    if (group != NULL && (st->group = strdup(group)) == NULL) {
        return load__oom(L);
    }
    struct ynode *to = load__mget(n, "timeout");
    if (to != NULL && load__get_duration(L, to, false, &fs->timeout_ns) < 0) {
        return -1;
    }
    if (strcmp(kind, "ws_send") == 0) {
        st->ws_op = WS_STEP_SEND;
        return compile_send(L, C, n, st, fs);
    }
    if (strcmp(kind, "ws_wait") == 0) {
        st->ws_op = WS_STEP_WAIT;
        return compile_wait(L, C, n, fs);
    }
    if (strcmp(kind, "ws_ping") == 0) {
        st->ws_op = WS_STEP_PING;
        return ws_keys(L, n, kind, PING_KEYS);
    }
    if (strcmp(kind, "ws_listen") == 0) {
        st->ws_op = WS_STEP_LISTEN;
        if (ws_keys(L, n, kind, LISTEN_KEYS) < 0) {
            return -1;
        }
        return load__get_duration(L, v, false, &st->ws_listen_ns);
    }
    st->ws_op = WS_STEP_CLOSE;
    C->ws_open = false;
    if (ws_keys(L, n, kind, CLOSE_KEYS) < 0) {
        return -1;
    }
    uint64_t code = 1000;
    if (!v->is_null && load__get_u64(L, v, 1000, 4999, &code) < 0) {
        return -1;
    }
    if ((code >= 1004 && code <= 1006) || code == 1015 || (code > 1014 && code < 3000)) {
        return load__err(L, v,
                         "close code %llu may not be sent (expected 1000-1003, 1007-1014 or "
                         "3000-4999)",
                         (unsigned long long)code);
    }
    st->ws_close_code = (uint16_t)code;
    return 0;
}
