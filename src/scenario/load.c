/*
 * load — the scenario loader's entry points and its table of top-level keys (see load.h
 * for the contract, docs/scenarios.md for the format, load_internal.h for how the
 * loader's files divide the work).
 *
 * scenario_load_string() parses the YAML into a tree (yaml.c), checks the root's keys
 * against TOP_KEYS, runs each present key's compiler in the table's order, then fills
 * the run options (threads, timeouts, grace) into the plan.  A new top-level key is one
 * compiler file and one entry here.
 */
#include "scenario/load.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics/threshold.h"
#include "scenario/feeder.h"
#include "scenario/load_internal.h"

bool scenario__skip_resolve = false;
int scenario_max_redirects = -1;
int scenario_http_debug = 0;
void (*scenario_http_debug_write)(const char *text, size_t len) = NULL;

/* The top-level keys, compiled in this order when present (data before the scenarios
 * that use its feeders; defaults before the scenarios that start from them). */
static const struct load_key {
    const char *key;
    load_key_fn *compile;
} TOP_KEYS[] = {
    {"name", load__compile_test_name},        {"description", load__compile_name},
    {"base_url", load__compile_base_url},     {"options", load__compile_options},
    {"defaults", load__compile_defaults},     {"data", load__compile_data},
    {"metrics", load__compile_metrics},       {"scenarios", load__compile_scenarios},
    {"thresholds", load__compile_thresholds}, {"setup", load__compile_setup},
    {"teardown", load__compile_teardown},     {"watch", load__compile_watch},
    {"criteria", load__compile_criteria},
};
#define N_TOP_KEYS (sizeof TOP_KEYS / sizeof TOP_KEYS[0])

int load__compile_name(struct loader *L, struct ynode *v)
{
    return load__sval(L, v, "a text") == NULL ? -1 : 0;
}

int load__compile_test_name(struct loader *L, struct ynode *v)
{
    const char *s = load__sval(L, v, "a text");
    if (s == NULL) {
        return -1;
    }
    if (strlen(s) > SCENARIO_MAX_NAME_BYTES) {
        return load__err(L, v, "name is %zu bytes long (expected at most %d)", strlen(s),
                         SCENARIO_MAX_NAME_BYTES);
    }
    if (L->opts != NULL) {
        snprintf(L->opts->test_name, sizeof L->opts->test_name, "%s", s);
    }
    return 0;
}

/* Frees what the plan owns beyond struct plan (plan->owner_free). */
static void owner_free(void *p)
{
    struct load_owner *o = p;
    if (o == NULL) {
        return;
    }
    for (size_t i = 0; i < o->n_steps; i++) {
        flow__step_destroy(o->steps[i]);
        free(o->steps[i]);
    }
    free(o->steps);
    for (size_t i = 0; i < o->n_fscs; i++) {
        struct flow_scenario *f = &o->fscs[i];
        for (size_t j = 0; j < f->n_vars; j++) {
            free(f->var_names[j]);
        }
        free(f->var_names);
        free(f->feeder_used);
    }
    free(o->fscs);
    for (size_t i = 0; i < o->n_feeders; i++) {
        feeder_free(o->feeders[i]);
        free(o->feeder_names[i]);
    }
    free(o->feeders);
    free(o->feeder_names);
    free(o);
}

/* The run options into the plan, after every key is compiled. */
static int plan_options(struct loader *L)
{
    struct plan *plan = L->plan;
    struct scenario_file_opts *o = L->opts;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    plan->threads = o->has_threads ? o->threads : (int)(cores > 0 ? cores : 1);
    if (!o->has_threads) {
        plan_fit_threads(plan); /* more threads than VUs would leave threads idle */
    }
    plan->timeout_ns = o->has_timeout ? o->timeout_ns : 60 * NS_PER_S;
    plan->connect_timeout_ns = o->has_connect_timeout ? o->connect_timeout_ns : 10 * NS_PER_S;
    plan->grace_ns = o->has_grace ? o->grace_ns : 5 * NS_PER_S;
    plan->tls_insecure = o->has_insecure && o->insecure;
    plan->http2 = o->http2;
    char **dst[3] = {&plan->tls_cacert, &plan->tls_cert, &plan->tls_key};
    const char *src[3] = {o->cacert, o->cert, o->key};
    for (size_t i = 0; i < 3; i++) {
        if (src[i][0] != '\0' && (*dst[i] = strdup(src[i])) == NULL) {
            return load__oom(L);
        }
    }
    return 0;
}

static int load_root(struct loader *L, struct ynode *root)
{
    if (root == NULL) {
        return load__err(L, NULL, "the file is empty (expected a mapping with scenarios:)");
    }
    const char *names[N_TOP_KEYS + 1];
    for (size_t i = 0; i < N_TOP_KEYS; i++) {
        names[i] = TOP_KEYS[i].key;
    }
    names[N_TOP_KEYS] = NULL;
    if (load__check_map(L, root, "the top level", names) < 0) {
        return -1;
    }
    if (load__consts_prepare(L, load__mget(root, "setup")) < 0) {
        return -1;
    }
    for (size_t i = 0; i < N_TOP_KEYS; i++) {
        struct ynode *v = load__mget(root, TOP_KEYS[i].key);
        if (L->opts != NULL && v != NULL && strcmp(TOP_KEYS[i].key, "setup") == 0) {
            L->opts->has_setup = true;
        }
        if (L->opts != NULL && v != NULL && strcmp(TOP_KEYS[i].key, "teardown") == 0) {
            L->opts->has_teardown = true;
        }
        if (!load__key_in_phase(L, TOP_KEYS[i].key)) {
            continue;
        }
        if (v == NULL && strcmp(TOP_KEYS[i].key, "scenarios") == 0) {
            return load__err(L, root,
                             "no scenarios (expected scenarios: a mapping of names to "
                             "scenarios)");
        }
        if (v != NULL && TOP_KEYS[i].compile(L, v) < 0) {
            return -1;
        }
    }
    return plan_options(L);
}

size_t scenario_feeders_stopped(const struct plan *plan, const char **names, size_t cap)
{
    const struct load_owner *o =
        plan != NULL && plan->owner_free == owner_free ? plan->owner : NULL;
    size_t n = 0;
    for (size_t i = 0; o != NULL && i < o->n_feeders; i++) {
        if (feeder_exhausted(o->feeders[i]) == FEEDER_STOP_VU && feeder_ran_out(o->feeders[i])) {
            if (n < cap) {
                names[n] = feeder_name(o->feeders[i]);
            }
            n++;
        }
    }
    return n;
}

int scenario_load_string(const char *yaml, size_t len, const char *display_name,
                         const char *base_dir, struct plan **out, struct threshold **thresholds,
                         size_t *n_thresholds, struct scenario_file_opts *opts, char *err,
                         size_t err_len)
{
    return scenario_load_phase(yaml, len, display_name, base_dir, NULL, out, thresholds,
                               n_thresholds, opts, err, err_len);
}

int scenario_load_phase(const char *yaml, size_t len, const char *display_name,
                        const char *base_dir, const struct scenario_load_in *in, struct plan **out,
                        struct threshold **thresholds, size_t *n_thresholds,
                        struct scenario_file_opts *opts, char *err, size_t err_len)
{
    struct loader L;
    struct scenario_file_opts local_opts;
    memset(&L, 0, sizeof L);
    memset(&local_opts, 0, sizeof local_opts);
    if (opts == NULL) {
        opts = &local_opts;
    }
    memset(opts, 0, sizeof *opts);
    L.file = display_name != NULL ? display_name : "<scenario>";
    L.base_dir = base_dir;
    L.err = err;
    L.err_len = err_len;
    L.opts = opts;
    L.phase = in != NULL ? in->phase : SCENARIO_PHASE_MAIN;
    L.in = in;
    if (err_len > 0) {
        err[0] = '\0';
    }
    *out = NULL;
    *thresholds = NULL;
    *n_thresholds = 0;
    int rc = -1;
    L.plan = calloc(1, sizeof *L.plan);
    L.own = calloc(1, sizeof *L.own);
    if (L.plan == NULL || L.own == NULL) {
        free(L.plan);
        free(L.own);
        load__oom(&L);
        return -1;
    }
    L.plan->owner = L.own;
    L.plan->owner_free = owner_free;
    if (len > SCENARIO_MAX_FILE_BYTES) {
        load__err(&L, NULL, "the file is larger than %u bytes", SCENARIO_MAX_FILE_BYTES);
        goto done;
    }
    struct ynode *root = NULL;
    if (load__yaml_parse(&L, yaml, len, &root) < 0) {
        goto done;
    }
    if (load_root(&L, root) < 0) {
        goto done;
    }
    rc = 0;
done:
    load__consts_free(&L);
    load__yaml_free(&L);
    free(L.base_origin);
    free(L.base_path);
    if (rc < 0) {
        plan_free(L.plan);
        for (size_t i = 0; i < L.n_th; i++) {
            threshold_destroy(&L.th[i]);
        }
        free(L.th);
        scenario_file_opts_destroy(opts);
        return -1;
    }
    *out = L.plan;
    *thresholds = L.th;
    *n_thresholds = L.n_th;
    if (opts == &local_opts) {
        scenario_file_opts_destroy(opts); /* nobody asked for watch: or criteria: */
    }
    return 0;
}

int scenario_load(const char *path, struct plan **out, struct threshold **thresholds,
                  size_t *n_thresholds, struct scenario_file_opts *opts, char *err, size_t err_len)
{
    *out = NULL;
    *thresholds = NULL;
    *n_thresholds = 0;
    if (opts != NULL) {
        memset(opts, 0, sizeof *opts);
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        snprintf(err, err_len, "%s: not a regular file (expected a scenario .yaml file)", path);
        close(fd);
        return -1;
    }
    if ((uint64_t)sb.st_size > SCENARIO_MAX_FILE_BYTES) {
        snprintf(err, err_len, "%s: larger than %u bytes", path, SCENARIO_MAX_FILE_BYTES);
        close(fd);
        return -1;
    }
    size_t cap = (size_t)sb.st_size;
    char *buf = malloc(cap + 1);
    if (buf == NULL) {
        snprintf(err, err_len, "%s: out of memory", path);
        close(fd);
        return -1;
    }
    size_t got = 0;
    while (got < cap) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    char *dir = strdup(path);
    if (dir == NULL) {
        free(buf);
        snprintf(err, err_len, "%s: out of memory", path);
        return -1;
    }
    char *slash = strrchr(dir, '/');
    if (slash == NULL) {
        dir[0] = '\0';
    } else if (slash == dir) {
        dir[1] = '\0';
    } else {
        *slash = '\0';
    }
    int rc = scenario_load_string(buf, got, path, dir, out, thresholds, n_thresholds, opts, err,
                                  err_len);
    free(dir);
    free(buf);
    return rc;
}
