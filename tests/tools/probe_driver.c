/*
 * probe_driver — runs the PostgreSQL and Redis probes against real servers without a
 * load test, for the end-to-end tests of the probes (tests/e2e/test_db_*.sh): start(),
 * sample() once a second until FILE exists (or N seconds pass), stop(), the findings,
 * then the summary on stdout and a JSON document with each probe's to_json() and the
 * totals of the metrics they recorded.
 *
 *   probe-driver [--postgres DSN] [--redis URL] [--analyze] [--until FILE]
 *                [--seconds N] [--json OUT] [--http NAME=COUNT]...
 *
 * --http tells the findings how many HTTP requests of a name the test sent (the N+1
 * rule divides calls by them).  Prints "probe-driver: started" once the probes started;
 * a probe that cannot start prints its one line on stderr and stays in the document
 * with "available": false.  Exit status 0, or 2 for bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analysis/dbfind.h"
#include "core/clock.h"
#include "core/json.h"
#include "metrics/registry.h"
#include "probe/pg.h"
#include "probe/redis.h"

#define HTTP_MAX 8

int main(int argc, char **argv)
{
    const char *pg_dsn = NULL, *redis_url = NULL, *until = NULL, *json_out = NULL;
    bool analyze = false;
    double seconds = 0, settle_s = 0;
    struct dbfind_http http[HTTP_MAX];
    char http_names[HTTP_MAX][64];
    size_t nhttp = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--analyze") == 0) {
            analyze = true;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "probe-driver: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--postgres") == 0) {
            pg_dsn = v;
        } else if (strcmp(a, "--redis") == 0) {
            redis_url = v;
        } else if (strcmp(a, "--until") == 0) {
            until = v;
        } else if (strcmp(a, "--settle") == 0) {
            settle_s = atof(v);
        } else if (strcmp(a, "--seconds") == 0) {
            seconds = atof(v);
        } else if (strcmp(a, "--json") == 0) {
            json_out = v;
        } else if (strcmp(a, "--http") == 0 && nhttp < HTTP_MAX && strchr(v, '=')) {
            size_t n = (size_t)(strchr(v, '=') - v);
            snprintf(http_names[nhttp], sizeof http_names[nhttp], "%.*s", (int)n, v);
            http[nhttp] = (struct dbfind_http){http_names[nhttp], NULL, 0,
                                               strtoull(strchr(v, '=') + 1, NULL, 10)};
            nhttp++;
        } else {
            fprintf(stderr, "probe-driver: unknown option %s\n", a);
            return 2;
        }
    }
    if (!until && seconds <= 0) {
        seconds = 3;
    }
    struct probe probes[2];
    bool is_pg[2];
    size_t n = 0;
    char err[512];
    if (pg_dsn) {
        struct pg_probe_config cfg = {
            .dsn = pg_dsn, .explain_analyze = analyze, .settle_max_ns = (uint64_t)(settle_s * 1e9)};
        if (pg_probe_new(&cfg, &probes[n], err, sizeof err) != 0) {
            fprintf(stderr, "probe-driver: %s\n", err);
            return 2;
        }
        is_pg[n++] = true;
    }
    if (redis_url) {
        if (redis_probe_new(redis_url, &probes[n], err, sizeof err) != 0) {
            fprintf(stderr, "probe-driver: %s\n", err);
            return 2;
        }
        is_pg[n++] = false;
    }
    for (size_t i = 0; i < n; i++) {
        if (probes[i].ops->start(probes[i].self, err, sizeof err) != 0) {
            fprintf(stderr, "probe-driver: %s (the run goes on without it)\n", err);
        }
    }
    printf("probe-driver: started\n");
    fflush(stdout);
    struct registry *total = registry_new();
    uint64_t t0 = clock_now_ns(), next = t0 + NS_PER_S;
    for (;;) {
        uint64_t now = clock_now_ns();
        if (until && access(until, F_OK) == 0) {
            break;
        }
        if (seconds > 0 && (double)(now - t0) / 1e9 >= seconds) {
            break;
        }
        if (now >= next) {
            struct registry *reg = registry_new();
            for (size_t i = 0; i < n; i++) {
                probes[i].ops->sample(probes[i].self, now, reg);
            }
            registry_merge(total, reg);
            registry_free(reg);
            next += NS_PER_S;
            continue;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    /* The last interval, as the probe set takes it when the load ends. */
    struct registry *last = registry_new();
    for (size_t i = 0; i < n; i++) {
        probes[i].ops->sample(probes[i].self, clock_now_ns(), last);
    }
    registry_merge(total, last);
    registry_free(last);
    struct finding f[32];
    for (size_t i = 0; i < n; i++) {
        probes[i].ops->stop(probes[i].self);
        size_t nf;
        if (is_pg[i]) {
            nf = dbfind_postgres(pg_probe_stats(probes[i].self), http, nhttp, f, 32);
            pg_probe_set_findings(probes[i].self, f, nf);
        } else {
            nf = dbfind_redis(redis_probe_stats(probes[i].self), f, 32);
            redis_probe_set_findings(probes[i].self, f, nf);
        }
        probes[i].ops->summary(probes[i].self, stdout, false);
    }
    struct jsonw w;
    jsonw_init(&w, 2, 64u << 20);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "probes");
    jsonw_obj_begin(&w);
    for (size_t i = 0; i < n; i++) {
        jsonw_key(&w, probes[i].ops->name);
        probes[i].ops->to_json(probes[i].self, &w);
    }
    jsonw_obj_end(&w);
    jsonw_key(&w, "metrics");
    jsonw_obj_begin(&w);
    for (size_t i = 0; i < registry_len(total); i++) {
        const struct series *s = registry_at_const(total, (int)i);
        char key[160];
        snprintf(key, sizeof key, "%s%s%s", metric_info[s->metric].name, s->tags[0] ? "|" : "",
                 s->tags);
        for (char *c = key; *c; c++) {
            if (*c == TAGS_SEP) {
                *c = ',';
            }
        }
        jsonw_key(&w, key);
        jsonw_obj_begin(&w);
        jsonw_key(&w, "sum");
        jsonw_num(&w, s->sum);
        jsonw_key(&w, "total");
        jsonw_uint(&w, s->total);
        jsonw_key(&w, "trues");
        jsonw_uint(&w, s->trues);
        if (s->hist) {
            jsonw_key(&w, "count");
            jsonw_uint(&w, hist_count(s->hist));
            jsonw_key(&w, "max");
            jsonw_uint(&w, hist_max_ns(s->hist));
        }
        jsonw_obj_end(&w);
    }
    jsonw_obj_end(&w);
    jsonw_obj_end(&w);
    if (json_out) {
        FILE *o = fopen(json_out, "w");
        if (o) {
            size_t len;
            const char *d = jsonw_data(&w, &len);
            fwrite(d, 1, len, o);
            fputc('\n', o);
            fclose(o);
        }
        if (jsonw_error(&w) != 0) {
            fprintf(stderr, "probe-driver: JSON error %d\n", jsonw_error(&w));
        }
    }
    jsonw_destroy(&w);
    registry_free(total);
    for (size_t i = 0; i < n; i++) {
        probes[i].ops->free(probes[i].self);
    }
    return 0;
}
