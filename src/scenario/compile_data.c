/*
 * compile_data — `data:`: the named CSV feeders, each read once at load time (relative
 * to the scenario file's directory) with its order, scope and what happens when it runs
 * out (scenario/feeder.h).  At most SCENARIO_MAX_FEEDERS.  Load time, one thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/feeder.h"
#include "scenario/load_internal.h"
#include "scenario/template.h"

static const char *const DATA_KEYS[] = {"file", "order", "per", "on_exhausted", NULL};

int load__compile_data(struct loader *L, struct ynode *n)
{
    if (load__check_map(L, n, "data", NULL) < 0) {
        return -1;
    }
    size_t count = n->n / 2;
    if (count > SCENARIO_MAX_FEEDERS) {
        return load__err(L, n, "too many data feeders (at most %d)", SCENARIO_MAX_FEEDERS);
    }
    struct load_owner *o = L->own;
    o->feeders = calloc(count ? count : 1, sizeof *o->feeders);
    o->feeder_names = calloc(count ? count : 1, sizeof *o->feeder_names);
    if (o->feeders == NULL || o->feeder_names == NULL) {
        return load__oom(L);
    }
    static const char *const orders[] = {"sequential", "random", "unique", NULL};
    static const char *const pers[] = {"iteration", "vu", NULL};
    static const char *const exh[] = {"recycle", "stop_vu", "abort", NULL};
    for (size_t i = 0; i < count; i++) {
        struct ynode *k = n->kids[2 * i], *d = n->kids[2 * i + 1];
        if (!load__is_ident(k->s) || tmpl_is_builtin(k->s)) {
            return load__err(L, k,
                             "bad data feeder name '%s' (expected a name of letters, digits "
                             "and _ that is not a built-in such as vu or iter)",
                             k->s);
        }
        if (load__check_map(L, d, "a data feeder", DATA_KEYS) < 0) {
            return -1;
        }
        struct ynode *file = load__mget(d, "file"), *v;
        if (file == NULL) {
            return load__err(L, k, "data feeder '%s' has no file (expected file: path/to/data.csv)",
                             k->s);
        }
        int order = 0, per = 0, ex = 0;
        if ((v = load__mget(d, "order")) != NULL &&
            load__get_enum(L, v, "order", orders, &order) < 0) {
            return -1;
        }
        if ((v = load__mget(d, "per")) != NULL &&
            load__get_enum(L, v, "per value", pers, &per) < 0) {
            return -1;
        }
        if ((v = load__mget(d, "on_exhausted")) != NULL &&
            load__get_enum(L, v, "on_exhausted value", exh, &ex) < 0) {
            return -1;
        }
        const char *path = load__sval(L, file, "a file path");
        if (path == NULL) {
            return -1;
        }
        char *full = NULL;
        if (path[0] == '/' || L->base_dir == NULL || L->base_dir[0] == '\0') {
            full = strdup(path);
        } else {
            size_t len = strlen(L->base_dir) + strlen(path) + 2;
            full = malloc(len);
            if (full != NULL) {
                snprintf(full, len, "%s/%s", L->base_dir, path);
            }
        }
        if (full == NULL) {
            return load__oom(L);
        }
        char msg[512];
        int rc = feeder_load_csv(full, k->s, (enum feeder_order)order, (enum feeder_scope)per,
                                 (enum feeder_exhausted)ex, &o->feeders[i], msg, sizeof msg);
        free(full);
        if (rc < 0) {
            return load__err(L, file, "data feeder '%s': %s", k->s, msg);
        }
        o->feeder_names[i] = strdup(k->s);
        o->n_feeders = i + 1;
        if (o->feeder_names[i] == NULL) {
            return load__oom(L);
        }
    }
    return 0;
}
