/*
 * compile_flow — a scenario's flow: the list of steps (request, sleep, group) compiled
 * into the scenario plan's steps, groups flattened (at most SCENARIO_MAX_GROUP_DEPTH
 * deep) with their names kept for tags.  A first pass collects the variables the flow's
 * extractions define, so a template may use a variable extracted by a later step (it is
 * empty until then) and a typo is an error at load time.  Load time, one thread.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"
#include "scenario/load_internal.h"

struct step *load__new_step(struct loader *L, struct scen_ctx *C, const struct ynode *at)
{
    struct scenario_plan *sc = C->sc;
    if (sc->n_steps == SCENARIO_MAX_STEPS) {
        load__err(L, at, "too many steps in scenario '%s' (at most %d)", C->name,
                  SCENARIO_MAX_STEPS);
        return NULL;
    }
    if (sc->n_steps == C->cap_steps) {
        size_t cap = C->cap_steps ? C->cap_steps * 2 : 8;
        struct step *s = realloc(sc->steps, cap * sizeof *s);
        if (s == NULL) {
            load__oom(L);
            return NULL;
        }
        sc->steps = s;
        C->cap_steps = cap;
    }
    struct step *st = &sc->steps[sc->n_steps++];
    memset(st, 0, sizeof *st);
    return st;
}

/* ------------------------------------------------------------------------------------ */
/* Flows: steps, sleeps, groups                                                          */

static const char *const SLEEP_KEYS[] = {"sleep", NULL};
static const char *const GROUP_KEYS[] = {"group", "steps", NULL};
static const char *const STEP_KINDS[] = {"request", "sleep",   "group",     "ws_connect", "ws_send",
                                         "ws_wait", "ws_ping", "ws_listen", "ws_close",   NULL};
enum { KIND_WS_CONNECT = 3, KIND_WS_WAIT = 5 };

static int step_kind_of(struct loader *L, struct ynode *n, int *kind)
{
    if (n->type != Y_MAP) {
        return load__err(L, n,
                         "found %s as a step (expected a mapping with request, sleep or group)",
                         load__ytype_name(n));
    }
    *kind = -1;
    for (int k = 0; STEP_KINDS[k] != NULL; k++) {
        struct ynode *v = load__mget(n, STEP_KINDS[k]);
        if (v == NULL) {
            continue;
        }
        if (*kind >= 0) {
            return load__err(L, load__mkey_of(n, v),
                             "a step with both %s and %s (expected one of request, "
                             "sleep or group per step)",
                             STEP_KINDS[*kind], STEP_KINDS[k]);
        }
        *kind = k;
    }
    if (*kind < 0) {
        if (n->n > 0 && n->kids[0]->type != Y_SCALAR) {
            return load__err(L, n->kids[0], "found %s as a key in a step (expected a word)",
                             load__ytype_name(n->kids[0]));
        }
        if (n->n > 0) {
            const char *s = load__suggest(n->kids[0]->s, STEP_KINDS);
            if (s == NULL) {
                s = load__suggest(n->kids[0]->s, load__request_keys);
            }
            if (s != NULL && strcmp(s, "request") != 0 && load__mget(n, "request") == NULL &&
                load__suggest(n->kids[0]->s, STEP_KINDS) == NULL) {
                s = NULL;
            }
            if (s != NULL) {
                return load__err(L, n->kids[0], "unknown key '%s' in a step (did you mean '%s'?)",
                                 n->kids[0]->s, s);
            }
        }
        return load__err(L, n, "a step without request, sleep or group (expected one of them)");
    }
    return 0;
}

/* First pass over a flow: the variables its extractions define. */
int load__collect_vars(struct loader *L, struct scen_ctx *C, struct ynode *flow, int depth)
{
    if (flow->type != Y_SEQ) {
        return load__err(L, flow, "found %s for a flow (expected a list of steps)",
                         load__ytype_name(flow));
    }
    if (depth > SCENARIO_MAX_GROUP_DEPTH) {
        return load__err(L, flow, "groups nested too deeply (at most %d)",
                         SCENARIO_MAX_GROUP_DEPTH);
    }
    for (size_t i = 0; i < flow->n; i++) {
        struct ynode *st = flow->kids[i];
        int kind;
        if (step_kind_of(L, st, &kind) < 0) {
            return -1;
        }
        if (kind == 2) {
            struct ynode *steps = load__mget(st, "steps");
            if (steps == NULL) {
                return load__err(L, st, "a group without steps (expected steps: [...])");
            }
            if (load__collect_vars(L, C, steps, depth + 1) < 0) {
                return -1;
            }
            continue;
        }
        struct ynode *ext = kind == 0 || kind == KIND_WS_WAIT ? load__mget(st, "extract") : NULL;
        if (ext == NULL) {
            continue;
        }
        if (load__check_map(L, ext, "extract", NULL) < 0) {
            return -1;
        }
        for (size_t j = 0; j < ext->n; j += 2) {
            struct ynode *k = ext->kids[j];
            if (!load__is_ident(k->s)) {
                return load__err(L, k,
                                 "bad variable name '%s' (expected letters, digits and _, "
                                 "not starting with a digit)",
                                 k->s);
            }
            if (tmpl_is_builtin(k->s)) {
                return load__err(L, k,
                                 "'%s' is a built-in template name (expected another "
                                 "variable name)",
                                 k->s);
            }
            for (size_t f = 0; f < L->own->n_feeders; f++) {
                if (strcmp(L->own->feeder_names[f], k->s) == 0) {
                    return load__err(L, k,
                                     "variable '%s' has the name of a data feeder (expected "
                                     "another name)",
                                     k->s);
                }
            }
            bool known = false;
            for (size_t v = 0; v < C->n_vars && !known; v++) {
                known = strcmp(C->vars[v], k->s) == 0;
            }
            if (known) {
                continue;
            }
            if (C->n_vars == SCENARIO_MAX_VARS) {
                return load__err(L, k, "too many variables (at most %d)", SCENARIO_MAX_VARS);
            }
            char **nv = realloc(C->vars, (C->n_vars + 1) * sizeof *nv);
            if (nv == NULL) {
                return load__oom(L);
            }
            C->vars = nv;
            if ((C->vars[C->n_vars] = strdup(k->s)) == NULL) {
                return load__oom(L);
            }
            C->n_vars++;
        }
    }
    return 0;
}

static int compile_sleep(struct loader *L, struct scen_ctx *C, struct ynode *n, const char *group)
{
    if (load__check_map(L, n, "a sleep step", SLEEP_KEYS) < 0) {
        return -1;
    }
    struct ynode *v = load__mget(n, "sleep");
    const char *s = load__sval(L, v, "a duration such as 1s or a range such as 1s..3s");
    if (s == NULL) {
        return -1;
    }
    uint64_t lo, hi;
    const char *dots = strstr(s, "..");
    if (dots != NULL) {
        char a[64];
        size_t al = (size_t)(dots - s);
        if (al >= sizeof a) {
            al = sizeof a - 1;
        }
        memcpy(a, s, al);
        a[al] = '\0';
        if (parse_duration_ns(a, &lo) < 0 || parse_duration_ns(dots + 2, &hi) < 0) {
            return load__err(L, v,
                             "bad sleep '%s' (expected a duration such as 1s or a range such "
                             "as 1s..3s)",
                             s);
        }
        if (lo > hi) {
            return load__err(L, v, "bad sleep range '%s' (expected the shorter duration first)", s);
        }
    } else if (parse_duration_ns(s, &lo) < 0) {
        return load__err(L, v,
                         "bad sleep '%s' (expected a duration such as 1s or a range such as "
                         "1s..3s)",
                         s);
    } else {
        hi = lo;
    }
    struct step *st = load__new_step(L, C, n);
    if (st == NULL) {
        return -1;
    }
    st->kind = STEP_SLEEP;
    st->sleep_min_ns = lo;
    st->sleep_max_ns = hi;
    if (group != NULL && (st->group = strdup(group)) == NULL) {
        return load__oom(L);
    }
    return 0;
}

int load__compile_flow(struct loader *L, struct scen_ctx *C, struct ynode *flow, const char *group)
{
    for (size_t i = 0; i < flow->n; i++) {
        struct ynode *st = flow->kids[i];
        int kind;
        if (step_kind_of(L, st, &kind) < 0) {
            return -1;
        }
        int rc;
        if (kind == 0 && C->ws_open) {
            return load__err(L, st,
                             "a request step inside a WebSocket session (expected ws_close "
                             "before it: the session is the VU's connection)");
        }
        if (kind == 0 || kind == KIND_WS_CONNECT) {
            if (kind == KIND_WS_CONNECT && C->ws_open) {
                return load__err(L, st,
                                 "ws_connect inside a WebSocket session (expected ws_close "
                                 "before it)");
            }
            rc = load__compile_request(L, C, st, group);
            C->ws_open |= kind == KIND_WS_CONNECT && rc == 0;
        } else if (kind > KIND_WS_CONNECT) {
            rc = load__compile_ws(L, C, st, STEP_KINDS[kind], group);
        } else if (kind == 1) {
            rc = compile_sleep(L, C, st, group);
        } else {
            if (load__check_map(L, st, "a group", GROUP_KEYS) < 0) {
                return -1;
            }
            struct ynode *gn = load__mget(st, "group");
            const char *g = load__sval(L, gn, "a group name");
            if (g == NULL) {
                return -1;
            }
            if (*g == '\0' || strstr(g, "::") != NULL) {
                return load__err(L, gn,
                                 "bad group name '%s' (expected a non-empty name without '::')", g);
            }
            size_t len = (group ? strlen(group) : 0) + strlen(g) + 3;
            char *full = malloc(len);
            if (full == NULL) {
                return load__oom(L);
            }
            snprintf(full, len, "%s::%s", group ? group : "", g);
            rc = load__compile_flow(L, C, load__mget(st, "steps"), full);
            free(full);
        }
        if (rc < 0) {
            return -1;
        }
    }
    return 0;
}
