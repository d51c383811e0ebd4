/*
 * capacity_out — what `brunt capacity` shows and keeps: the latency-vs-load table of
 * its steps, the USL fit's lines for the closed model, and the brunt-capacity/1 result
 * file (docs/result-format.md), written atomically.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analysis/capacity.h"
#include "analysis/usl.h"
#include "cli/capacity_internal.h"
#include "cli/cli.h"
#include "cli/dbprobe.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/json.h"

void cli_cap__print_table(FILE *f, const struct cap_result *res, const struct cap_ctx *c)
{
    fprintf(f, "\n  %10s %10s %10s %10s %10s %10s %7s %6s", c->closed ? "VUs" : "rate/s",
            c->closed ? "iter/s" : "achieved", "served/s", "p50 ms", "p95 ms", "p99 ms", "errors",
            "ran");
    if (c->n_watch > 0) {
        fprintf(f, " %6s", "cpu");
    }
    if (c->pg_dsn != NULL) {
        fprintf(f, " %6s", "db con");
    }
    fprintf(f, "  verdict\n");
    for (size_t i = 0; i < res->n_steps; i++) {
        const struct cap_step *s = &res->steps[i];
        fprintf(f, "  %10.1f %10.1f %10.1f %10.2f %10.2f %10.2f %6.2f%% %5.1fs", s->rate,
                s->achieved, s->completed, s->p50_ms, s->p95_ms, s->p99_ms, 100 * s->error_rate,
                (double)s->ran_ns / 1e9);
        if (c->n_watch > 0) {
            fprintf(f, " %5.0f%%", s->target_cpu_pct);
        }
        if (c->pg_dsn != NULL) {
            fprintf(f, " %5.0f%%", s->db_conn_pct);
        }
        fprintf(f, "  %s%s%s%s\n", s->pass ? "held" : "broke", s->confirm ? " (confirm)" : "",
                s->aborted ? " (stopped early)" : "", s->n_broke && !s->pass ? "" : "");
    }
}

void cli_cap__print_usl(FILE *f, const struct usl_fit *u, int rc)
{
    if (rc < 0) {
        fprintf(f,
                "  USL: not fitted (it needs %d steps at 2 or more concurrencies that ran to "
                "their end)\n",
                USL_MIN_POINTS);
        return;
    }
    fprintf(f,
            "  USL fit over %zu steps: lambda %.1f/s per VU, sigma %.4f (contention), kappa "
            "%.6f (coherency), R² %.3f\n",
            u->n, u->lambda, u->sigma, u->kappa, u->r2);
    if (isfinite(u->n_peak)) {
        fprintf(f, "  predicted peak: %.1f/s at %.0f VUs (beyond it throughput falls)\n", u->x_peak,
                u->n_peak);
    } else if (isfinite(u->x_peak)) {
        fprintf(f, "  no peak: throughput levels off towards %.1f/s (kappa 0)\n", u->x_peak);
    } else {
        fprintf(f, "  no peak: throughput still grows linearly with the VUs\n");
    }
}

int cli_cap__write_result(const char *path, const struct cap_result *res,
                          const struct cap_options *o, const struct cap_ctx *c,
                          const struct usl_fit *usl, int argc, char **argv, uint64_t start_wall,
                          char *err, size_t err_len)
{
    struct jsonw w;
    jsonw_init(&w, 2, 64u << 20);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "schema");
    jsonw_str(&w, "brunt-capacity/1");
    jsonw_key(&w, "meta");
    jsonw_obj_begin(&w);
    jsonw_key(&w, "version");
    jsonw_str(&w, BRUNT_VERSION);
    jsonw_key(&w, "command");
    jsonw_arr_begin(&w);
    jsonw_str(&w, "brunt");
    char **shown = cli_db_redact_argv(argc, argv); /* no --postgres password in the file */
    for (int i = 0; i < argc; i++) {
        jsonw_str(&w, shown != NULL ? shown[i] : "?");
    }
    cli_db_free_argv(argc, shown);
    jsonw_arr_end(&w);
    jsonw_key(&w, "start_unix_ms");
    jsonw_num(&w, (double)(start_wall / NS_PER_MS));
    jsonw_obj_end(&w);
    jsonw_key(&w, "objectives");
    jsonw_arr_begin(&w);
    for (size_t i = 0; i < c->n_slos; i++) {
        jsonw_str(&w, c->slo_src[i]);
    }
    for (size_t i = 0; i < c->n_file_th; i++) {
        char t[2200];
        snprintf(t, sizeof t, "%s:%s", c->file_th[i].metric_expr, c->file_th[i].source);
        jsonw_str(&w, t);
    }
    jsonw_arr_end(&w);
    jsonw_key(&w, "options");
    jsonw_obj_begin(&w);
    jsonw_key(&w, "from");
    jsonw_num(&w, o->from);
    jsonw_key(&w, "max");
    jsonw_num(&w, o->max);
    jsonw_key(&w, "precision");
    jsonw_num(&w, o->precision);
    jsonw_key(&w, "step_ms");
    jsonw_num(&w, (double)o->step_ns / 1e6);
    jsonw_key(&w, "settle_ms");
    jsonw_num(&w, (double)c->settle_ns / 1e6);
    jsonw_key(&w, "confirm_ms");
    jsonw_num(&w, (double)o->confirm_ns / 1e6);
    jsonw_key(&w, "budget_ms");
    jsonw_num(&w, (double)o->budget_ns / 1e6);
    jsonw_obj_end(&w);
    jsonw_key(&w, "steps");
    jsonw_arr_begin(&w);
    for (size_t i = 0; i < res->n_steps; i++) {
        const struct cap_step *s = &res->steps[i];
        jsonw_obj_begin(&w);
        jsonw_key(&w, "rate");
        jsonw_num(&w, s->rate);
        jsonw_key(&w, "ran_ms");
        jsonw_num(&w, (double)s->ran_ns / 1e6);
        jsonw_key(&w, "achieved");
        jsonw_num(&w, s->achieved);
        jsonw_key(&w, "served");
        jsonw_num(&w, s->completed);
        jsonw_key(&w, "p50_ms");
        jsonw_num(&w, s->p50_ms);
        jsonw_key(&w, "p95_ms");
        jsonw_num(&w, s->p95_ms);
        jsonw_key(&w, "p99_ms");
        jsonw_num(&w, s->p99_ms);
        jsonw_key(&w, "error_rate");
        jsonw_num(&w, s->error_rate);
        jsonw_key(&w, "generator_busy");
        jsonw_num(&w, s->busy);
        jsonw_key(&w, "target_cpu_pct");
        jsonw_num(&w, s->target_cpu_pct);
        jsonw_key(&w, "db_connections_pct");
        jsonw_num(&w, s->db_conn_pct);
        jsonw_key(&w, "held");
        jsonw_bool(&w, s->pass);
        jsonw_key(&w, "confirm");
        jsonw_bool(&w, s->confirm);
        jsonw_key(&w, "stopped_early");
        jsonw_bool(&w, s->aborted);
        jsonw_key(&w, "broke");
        jsonw_arr_begin(&w);
        for (size_t k = 0; k < s->n_broke; k++) {
            jsonw_str(&w, s->broke[k]);
        }
        jsonw_arr_end(&w);
        jsonw_obj_end(&w);
    }
    jsonw_arr_end(&w);
    jsonw_key(&w, "result");
    jsonw_obj_begin(&w);
    jsonw_key(&w, "held");
    jsonw_num(&w, res->held > 0 ? res->held : NAN);
    jsonw_key(&w, "broke");
    jsonw_num(&w, res->broke > 0 ? res->broke : NAN);
    jsonw_key(&w, "upper_bound");
    jsonw_num(&w, res->upper > 0 ? res->upper : NAN);
    jsonw_key(&w, "confirmed");
    jsonw_bool(&w, res->confirmed);
    jsonw_key(&w, "precise");
    jsonw_bool(&w, res->precise);
    jsonw_key(&w, "what_broke");
    jsonw_arr_begin(&w);
    for (size_t k = 0; res->first_broke != NULL && k < res->first_broke->n_broke; k++) {
        jsonw_str(&w, res->first_broke->broke[k]);
    }
    jsonw_arr_end(&w);
    jsonw_key(&w, "test_time_ms");
    jsonw_num(&w, (double)res->test_ns / 1e6);
    jsonw_key(&w, "drain_time_ms");
    jsonw_num(&w, (double)c->drain_ns / 1e6);
    jsonw_key(&w, "rest_ms");
    jsonw_num(&w, c->base_ms);
    jsonw_key(&w, "hit_max");
    jsonw_bool(&w, res->hit_max);
    jsonw_key(&w, "hit_budget");
    jsonw_bool(&w, res->hit_budget);
    jsonw_key(&w, "generator_bound");
    jsonw_bool(&w, res->generator_bound);
    struct cap_cause_info why;
    capacity_what_broke(res, CAP_SATURATED_PCT, &why);
    jsonw_key(&w, "model");
    jsonw_str(&w, c->closed ? "closed" : "open");
    jsonw_key(&w, "usl");
    if (usl != NULL) {
        jsonw_obj_begin(&w);
        jsonw_key(&w, "points");
        jsonw_num(&w, (double)usl->n);
        jsonw_key(&w, "lambda");
        jsonw_num(&w, usl->lambda);
        jsonw_key(&w, "sigma");
        jsonw_num(&w, usl->sigma);
        jsonw_key(&w, "kappa");
        jsonw_num(&w, usl->kappa);
        jsonw_key(&w, "r2");
        jsonw_num(&w, usl->r2);
        jsonw_key(&w, "peak_vus");
        jsonw_num(&w, isfinite(usl->n_peak) ? usl->n_peak : NAN);
        jsonw_key(&w, "peak_throughput");
        jsonw_num(&w, isfinite(usl->x_peak) ? usl->x_peak : NAN);
        jsonw_obj_end(&w);
    } else {
        jsonw_null(&w);
    }
    jsonw_key(&w, "what_broke_first");
    jsonw_obj_begin(&w);
    jsonw_key(&w, "cause");
    jsonw_str(&w, cap_cause_name(why.cause));
    jsonw_key(&w, "rate");
    jsonw_num(&w, why.rate > 0 ? why.rate : NAN);
    jsonw_key(&w, "use_pct");
    jsonw_num(&w, why.rate > 0 ? why.use_pct : NAN);
    jsonw_key(&w, "text");
    jsonw_str(&w, why.text);
    jsonw_obj_end(&w);
    jsonw_key(&w, "interrupted");
    jsonw_bool(&w, res->interrupted);
    jsonw_obj_end(&w);
    jsonw_obj_end(&w);
    int rc = jsonw_error(&w);
    if (rc == 0) {
        size_t len;
        const char *doc = jsonw_data(&w, &len);
        struct file_part parts[2] = {{doc, len}, {"\n", 1}};
        rc = file_write_atomic(path, parts, 2, 0644, err, err_len);
    } else {
        snprintf(err, err_len, "the capacity result is too large");
    }
    jsonw_destroy(&w);
    return rc;
}
