/*
 * pgout — the PostgreSQL probe's output: its section of the end-of-test summary and its
 * member of the result file (probes.postgres, docs/result-format.md).  See
 * pg_internal.h.
 */
#include "probe/pg_internal.h"

#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/json.h"
#include "probe/dbutil.h"

/* ---- output ----------------------------------------------------------------------- */

static void one_line(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    bool sp = false;
    for (; *s && o + 1 < cap; s++) {
        if (isspace((unsigned char)*s)) {
            sp = o > 0;
            continue;
        }
        if (sp && o + 2 < cap) {
            out[o++] = ' ';
        }
        sp = false;
        out[o++] = *s;
    }
    out[o] = '\0';
}

void pg__summary(void *self, FILE *f, bool color)
{
    struct pgprobe *p = self;
    const struct pg_stats *s = &p->st;
    char buf[640];
    if (!dbutil_summary_head(f, "postgres", s->dsn_shown, s->version, s->available, s->error)) {
        return;
    }
    double d = s->duration_s > 0 ? s->duration_s : 1;
    dbutil_fmt(buf, sizeof buf, "%llu commits (%.1f/s), %llu rollbacks, %llu deadlocks",
               (unsigned long long)s->xact_commit, (double)s->xact_commit / d,
               (unsigned long long)s->xact_rollback, (unsigned long long)s->deadlocks);
    dbutil_row(f, color, 4, "transactions", buf);
    if (s->cache_hit_ratio >= 0) {
        dbutil_fmt(buf, sizeof buf, "%.2f%% (%llu hits, %llu reads)", s->cache_hit_ratio * 100,
                   (unsigned long long)s->blks_hit, (unsigned long long)s->blks_read);
        dbutil_row(f, color, 4, "buffer cache hit", buf);
    }
    dbutil_fmt(buf, sizeof buf,
               "peak %u of %d max_connections (%.0f%%), peak %u active, %u idle "
               "in transaction",
               s->connections_max, s->max_connections, s->connections_used_max_pct,
               s->state_max[PG_ST_ACTIVE], s->state_max[PG_ST_IDLE_TX]);
    dbutil_row(f, color, 4, "connections", buf);
    if (s->wait_max[PG_W_LOCK] > 0) {
        dbutil_fmt(buf, sizeof buf, "up to %u backends, in %llu of %llu samples",
                   s->wait_max[PG_W_LOCK], (unsigned long long)s->lock_wait_samples,
                   (unsigned long long)s->samples);
        dbutil_row(f, color, 4, "lock waits", buf);
    }
    if (s->temp_files > 0) {
        char b[32];
        dbutil_fmt_bytes((double)s->temp_bytes, b, sizeof b);
        dbutil_fmt(buf, sizeof buf, "%llu (%s)", (unsigned long long)s->temp_files, b);
        dbutil_row(f, color, 4, "temp files", buf);
    }
    if (!s->pgss_available) {
        fprintf(f, "    no per-query figures: %s\n", s->pgss_note);
    } else if (s->ntop > 0) {
        dbutil_fmt(buf, sizeof buf, "%.1f ms in %llu statements", s->db_time_ms,
                   (unsigned long long)s->calls);
        dbutil_row(f, color, 4, "database time", buf);
        fprintf(f, "    top queries          share     calls   mean ms  per req\n");
        for (size_t i = 0; i < s->ntop && i < 5; i++) {
            const struct pg_query *q = &s->top[i];
            char text[72], per[24] = "-";
            one_line(q->text, text, sizeof text);
            if (q->attrib.request[0]) {
                dbutil_fmt(per, sizeof per, "%.1f %s", q->attrib.calls_per_request,
                           q->attrib.request);
            } else if (q->attrib.calls_per_http >= 0) {
                dbutil_fmt(per, sizeof per, "%.2f", q->attrib.calls_per_http);
            }
            fprintf(f, "      %5.1f%% %9llu %9.3f  %-12s %s\n", q->share * 100,
                    (unsigned long long)q->calls, q->mean_ms, per, text);
        }
    }
    for (size_t i = 0; i < s->ntables && i < 3; i++) {
        const struct pg_table *t = &s->tables[i];
        if (t->seq_scan == 0) {
            continue;
        }
        dbutil_fmt(buf, sizeof buf,
                   "%llu seq scans (%llu rows read), %llu index scans, %llu live rows",
                   (unsigned long long)t->seq_scan, (unsigned long long)t->seq_tup_read,
                   (unsigned long long)t->idx_scan, (unsigned long long)t->n_live_tup);
        char label[80];
        dbutil_fmt(label, sizeof label, "table %.60s", t->name);
        dbutil_row(f, color, 4, label, buf);
    }
    if (s->pgss_available && s->pgss_note[0]) {
        fprintf(f, "    note: %s\n", s->pgss_note);
    }
    if (s->error[0]) {
        fprintf(f, "    note: %s\n", s->error);
    }
    dbutil_fmt(buf, sizeof buf, "%.1f statements a second while sampling, %llu in all",
               s->samples ? (double)s->probe_sample_statements / (double)s->samples : 0,
               (unsigned long long)s->probe_statements);
    dbutil_row(f, color, 4, "probe's own load", buf);
    dbutil_print_findings(f, color, p->findings, p->nfindings);
}

static void json_num_or_null(struct jsonw *w, double v)
{
    if (v < 0) {
        jsonw_null(w);
    } else {
        jsonw_num(w, v);
    }
}

/* One row of the "series" member (dbutil_series_json). */
static double series_row(const void *rows, size_t i, uint64_t *v)
{
    const struct pg_row *r = (const struct pg_row *)rows + i;
    const uint64_t row[] = {0,        r->connections, r->active,   r->idle_tx,  r->lock_waits,
                            r->calls, r->commits,     r->blks_hit, r->blks_read};
    memcpy(v, row, sizeof row);
    return r->t_s;
}

int pg__to_json(void *self, struct jsonw *w)
{
    struct pgprobe *p = self;
    const struct pg_stats *s = &p->st;
    double d = s->duration_s > 0 ? s->duration_s : 1;
    jsonw_obj_begin(w);
    jsonw_key(w, "dsn");
    jsonw_str(w, s->dsn_shown);
    jsonw_key(w, "application_name");
    jsonw_str(w, "brunt-probe");
    dbutil_json_status(w, s->available, s->error);
    if (s->available) {
        jsonw_key(w, "version");
        jsonw_str(w, s->version);
        jsonw_key(w, "database");
        jsonw_str(w, s->database);
        jsonw_key(w, "role");
        jsonw_str(w, s->role);
        dbutil_json_run(w, s->duration_s, s->restarts, s->lost_samples);
        jsonw_key(w, "pg_stat_statements");
        jsonw_obj_begin(w);
        jsonw_key(w, "available");
        jsonw_bool(w, s->pgss_available);
        jsonw_key(w, "all_roles_visible");
        jsonw_bool(w, s->pgss_all_visible);
        jsonw_key(w, "note");
        jsonw_str(w, s->pgss_note[0] ? s->pgss_note : NULL);
        jsonw_obj_end(w);
        jsonw_key(w, "database_stats");
        jsonw_obj_begin(w);
        static const char *const names[13] = {
            "xact_commit",  "xact_rollback", "blks_read",  "blks_hit",     "deadlocks",
            "temp_files",   "temp_bytes",    "conflicts",  "tup_returned", "tup_fetched",
            "tup_inserted", "tup_updated",   "tup_deleted"};
        const uint64_t vals[13] = {
            s->xact_commit,  s->xact_rollback, s->blks_read,  s->blks_hit,     s->deadlocks,
            s->temp_files,   s->temp_bytes,    s->conflicts,  s->tup_returned, s->tup_fetched,
            s->tup_inserted, s->tup_updated,   s->tup_deleted};
        for (int i = 0; i < 13; i++) {
            jsonw_key(w, names[i]);
            jsonw_uint(w, vals[i]);
        }
        jsonw_key(w, "commits_per_s");
        jsonw_num(w, (double)s->xact_commit / d);
        jsonw_key(w, "cache_hit_ratio");
        json_num_or_null(w, s->cache_hit_ratio);
        jsonw_key(w, "probe_xacts");
        jsonw_uint(w, s->own_xacts);
        jsonw_obj_end(w);
        jsonw_key(w, "db_time_ms");
        jsonw_num(w, s->db_time_ms);
        jsonw_key(w, "calls");
        jsonw_uint(w, s->calls);
        jsonw_key(w, "top_queries");
        jsonw_arr_begin(w);
        for (size_t i = 0; i < s->ntop; i++) {
            const struct pg_query *q = &s->top[i];
            jsonw_obj_begin(w);
            /* A string: 64-bit ids do not survive JavaScript's doubles. */
            char qid[24];
            dbutil_fmt(qid, sizeof qid, "%lld", (long long)q->queryid);
            jsonw_key(w, "queryid");
            jsonw_str(w, qid);
            jsonw_key(w, "userid");
            jsonw_uint(w, q->userid);
            jsonw_key(w, "query");
            jsonw_str(w, q->text);
            jsonw_key(w, "sample");
            jsonw_str(w, q->sample[0] ? q->sample : NULL);
            jsonw_key(w, "calls");
            jsonw_uint(w, q->calls);
            jsonw_key(w, "calls_per_s");
            jsonw_num(w, (double)q->calls / d);
            jsonw_key(w, "total_ms");
            jsonw_num(w, q->total_ms);
            jsonw_key(w, "mean_ms");
            jsonw_num(w, q->mean_ms);
            jsonw_key(w, "share");
            jsonw_num(w, q->share);
            jsonw_key(w, "rows");
            jsonw_uint(w, q->rows);
            jsonw_key(w, "shared_blks_hit");
            jsonw_uint(w, q->shared_hit);
            jsonw_key(w, "shared_blks_read");
            jsonw_uint(w, q->shared_read);
            jsonw_key(w, "temp_blks_read");
            jsonw_uint(w, q->temp_read);
            jsonw_key(w, "temp_blks_written");
            jsonw_uint(w, q->temp_written);
            jsonw_key(w, "calls_per_http_request");
            json_num_or_null(w, q->attrib.calls_per_http);
            jsonw_key(w, "request");
            if (q->attrib.request[0]) {
                jsonw_obj_begin(w);
                jsonw_key(w, "name");
                jsonw_str(w, q->attrib.request);
                jsonw_key(w, "calls_per_request");
                jsonw_num(w, q->attrib.calls_per_request);
                jsonw_key(w, "fit");
                jsonw_num(w, q->attrib.fit);
                jsonw_obj_end(w);
            } else {
                jsonw_null(w);
            }
            jsonw_key(w, "calls_by_second");
            if (q->per_s) {
                jsonw_arr_begin(w);
                for (size_t k = 0; k < q->n_s; k++) {
                    jsonw_uint(w, q->per_s[k]);
                }
                jsonw_arr_end(w);
            } else {
                jsonw_null(w);
            }
            jsonw_key(w, "plan");
            if (q->plan_json) {
                jsonw_obj_begin(w);
                jsonw_key(w, "method");
                jsonw_str(w, q->plan_method);
                jsonw_key(w, "seq_scans");
                jsonw_arr_begin(w);
                for (int k = 0; k < q->nscans && k < 4; k++) {
                    char cols[8][64];
                    size_t nc = pgplan_filter_columns(q->scans[k].filter, cols, 8);
                    jsonw_obj_begin(w);
                    jsonw_key(w, "relation");
                    jsonw_str(w, q->scans[k].relation);
                    jsonw_key(w, "filter");
                    jsonw_str(w, q->scans[k].filter[0] ? q->scans[k].filter : NULL);
                    jsonw_key(w, "filter_columns");
                    jsonw_arr_begin(w);
                    for (size_t c = 0; c < nc; c++) {
                        jsonw_str(w, cols[c]);
                    }
                    jsonw_arr_end(w);
                    jsonw_key(w, "plan_rows");
                    jsonw_num(w, q->scans[k].plan_rows);
                    jsonw_obj_end(w);
                }
                jsonw_arr_end(w);
                jsonw_key(w, "json");
                jsonw_raw(w, q->plan_json, strlen(q->plan_json));
                jsonw_obj_end(w);
            } else {
                jsonw_null(w);
            }
            jsonw_key(w, "explain_error");
            jsonw_str(w, q->explain_error[0] ? q->explain_error : NULL);
            jsonw_obj_end(w);
        }
        jsonw_arr_end(w);
        jsonw_key(w, "tables");
        jsonw_arr_begin(w);
        for (size_t i = 0; i < s->ntables; i++) {
            const struct pg_table *t = &s->tables[i];
            jsonw_obj_begin(w);
            jsonw_key(w, "schema");
            jsonw_str(w, t->schema);
            jsonw_key(w, "table");
            jsonw_str(w, t->name);
            jsonw_key(w, "seq_scan");
            jsonw_uint(w, t->seq_scan);
            jsonw_key(w, "seq_tup_read");
            jsonw_uint(w, t->seq_tup_read);
            jsonw_key(w, "idx_scan");
            jsonw_uint(w, t->idx_scan);
            jsonw_key(w, "idx_tup_fetch");
            jsonw_uint(w, t->idx_tup_fetch);
            jsonw_key(w, "n_live_tup");
            jsonw_uint(w, t->n_live_tup);
            jsonw_key(w, "size_bytes");
            jsonw_uint(w, t->size_bytes);
            jsonw_obj_end(w);
        }
        jsonw_arr_end(w);
        jsonw_key(w, "activity");
        jsonw_obj_begin(w);
        jsonw_key(w, "samples");
        jsonw_uint(w, s->samples);
        jsonw_key(w, "max_connections");
        jsonw_int(w, s->max_connections);
        jsonw_key(w, "superuser_reserved_connections");
        jsonw_int(w, s->reserved_connections);
        jsonw_key(w, "connections_max");
        jsonw_uint(w, s->connections_max);
        jsonw_key(w, "connections_used_max_pct");
        jsonw_num(w, s->connections_used_max_pct);
        jsonw_key(w, "lock_wait_samples");
        jsonw_uint(w, s->lock_wait_samples);
        double ns = s->samples ? (double)s->samples : 1;
        jsonw_key(w, "states");
        jsonw_obj_begin(w);
        for (int i = 0; i < PG_ST_N; i++) {
            jsonw_key(w, pg_state_names[i]);
            jsonw_obj_begin(w);
            jsonw_key(w, "avg");
            jsonw_num(w, s->state_sum[i] / ns);
            jsonw_key(w, "max");
            jsonw_uint(w, s->state_max[i]);
            jsonw_obj_end(w);
        }
        jsonw_obj_end(w);
        jsonw_key(w, "wait_event_types");
        jsonw_obj_begin(w);
        for (int i = 0; i < PG_W_N; i++) {
            jsonw_key(w, pg_wait_names[i]);
            jsonw_obj_begin(w);
            jsonw_key(w, "avg");
            jsonw_num(w, s->wait_sum[i] / ns);
            jsonw_key(w, "max");
            jsonw_uint(w, s->wait_max[i]);
            jsonw_obj_end(w);
        }
        jsonw_obj_end(w);
        jsonw_key(w, "active_query_samples");
        jsonw_arr_begin(w);
        for (size_t i = 0; i < s->nsamples_text; i++) {
            jsonw_obj_begin(w);
            char qid[24];
            dbutil_fmt(qid, sizeof qid, "%lld", (long long)s->samples_qid[i]);
            jsonw_key(w, "query_id");
            jsonw_str(w, qid);
            jsonw_key(w, "query");
            jsonw_str(w, s->samples_text[i]);
            jsonw_obj_end(w);
        }
        jsonw_arr_end(w);
        jsonw_obj_end(w);
        static const char *const cols[] = {
            "t_s",     "connections", "active",   "idle_in_transaction", "lock_waits", "calls",
            "commits", "blks_hit",    "blks_read"};
        dbutil_series_json(w, cols, sizeof cols / sizeof cols[0], s->rows, s->nrows, series_row);
        jsonw_key(w, "probe_cost");
        jsonw_obj_begin(w);
        jsonw_key(w, "statements");
        jsonw_uint(w, s->probe_statements);
        jsonw_key(w, "statements_per_s");
        jsonw_num(w, s->probe_statements_per_s);
        jsonw_key(w, "statements_per_sample");
        jsonw_num(w, s->samples ? (double)s->probe_sample_statements / (double)s->samples : 0);
        jsonw_obj_end(w);
        jsonw_key(w, "explain_analyze");
        jsonw_bool(w, s->explain_analyze);
    }
    dbutil_findings_json(w, p->findings, p->nfindings);
    jsonw_obj_end(w);
    return jsonw_error(w);
}
