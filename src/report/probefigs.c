/*
 * probefigs — the headline figures of the database probes' sections, read once from a
 * probe's member (docs/result-format.md: probes.postgres, probes.redis) as a list of
 * (name, label, raw value, text), so the HTML panel and the Markdown table show the same
 * figures in the same words.  No I/O; internal to report/.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report/jtree.h"
#include "report/report_internal.h"

struct figs {
    struct report_pfig *out;
    size_t n, cap;
};

/* Appends one figure; text is formatted by the caller. */
static struct report_pfig *add(struct figs *f, const char *name, const char *label, double raw)
{
    if (f->n == f->cap) {
        return NULL;
    }
    struct report_pfig *x = &f->out[f->n++];
    snprintf(x->name, sizeof x->name, "%s", name);
    snprintf(x->label, sizeof x->label, "%s", label);
    x->raw = raw;
    x->text[0] = '\0';
    return x;
}

static void add_str(struct figs *f, const struct jtree *t, const struct jnode *p, const char *key,
                    const char *label)
{
    struct report_pfig *x = add(f, "", label, NAN);
    if (x != NULL) {
        jtree_str(t, p, key, x->text, sizeof x->text);
    }
}

static void add_count(struct figs *f, const char *name, const char *label, double v)
{
    struct report_pfig *x = add(f, name, label, v);
    if (x != NULL) {
        report_fmt_num(v, x->text, sizeof x->text);
    }
}

size_t report__pg_figures(const struct jtree *t, const struct jnode *p, struct report_pfig *out,
                          size_t cap)
{
    struct figs f = {out, 0, cap};
    struct report_pfig *x;
    const struct jnode *ds = jtree_get(t, p, "database_stats"), *ac = jtree_get(t, p, "activity");
    add_str(&f, t, p, "dsn", "Server");
    add_str(&f, t, p, "version", "Version");
    double v = report__jnum(t, p, "db_time_ms", NULL);
    if ((x = add(&f, "postgres.db_time_ms", "Database time", v)) != NULL) {
        report_fmt_ms(v, x->text, sizeof x->text);
    }
    add_count(&f, "postgres.calls", "Statements", report__jnum(t, p, "calls", NULL));
    v = report__jnum(t, ds, "commits_per_s", NULL);
    if ((x = add(&f, "postgres.commits_per_s", "Commits", v)) != NULL) {
        snprintf(x->text, sizeof x->text, "%.1f/s", v);
    }
    v = report__jnum(t, ds, "cache_hit_ratio", NULL);
    if ((x = add(&f, "postgres.cache_hit_ratio", "Buffer cache hit ratio", v)) != NULL) {
        report_fmt_pct(v, x->text, sizeof x->text);
    }
    v = report__jnum(t, ac, "connections_max", NULL);
    if ((x = add(&f, "postgres.connections_max", "Connections at peak", v)) != NULL) {
        char a[32], b[32];
        report_fmt_num(v, a, sizeof a);
        report_fmt_num(report__jnum(t, ac, "max_connections", NULL), b, sizeof b);
        snprintf(x->text, sizeof x->text, "%s of %s max_connections", a, b);
    }
    add_count(&f, "postgres.lock_wait_samples", "Samples with a lock wait",
              report__jnum(t, ac, "lock_wait_samples", NULL));
    add_count(&f, "postgres.deadlocks", "Deadlocks", report__jnum(t, ds, "deadlocks", NULL));
    add_count(&f, "postgres.temp_files", "Temporary files",
              report__jnum(t, ds, "temp_files", NULL));
    v = report__jnum(t, p, "probe_cost", "statements_per_s");
    if ((x = add(&f, "postgres.probe_statements_per_s", "The probe's own load", v)) != NULL) {
        snprintf(x->text, sizeof x->text, "%.1f statements/s", v);
    }
    return f.n;
}

size_t report__redis_figures(const struct jtree *t, const struct jnode *p, struct report_pfig *out,
                             size_t cap)
{
    struct figs f = {out, 0, cap};
    struct report_pfig *x;
    const struct jnode *to = jtree_get(t, p, "totals"), *me = jtree_get(t, p, "memory"),
                       *cl = jtree_get(t, p, "clients");
    char a[48], b[48];
    add_str(&f, t, p, "url", "Server");
    add_str(&f, t, p, "version", "Version");
    double v = report__jnum(t, to, "ops", NULL);
    if ((x = add(&f, "redis.ops", "Commands", v)) != NULL) {
        report_fmt_num(v, a, sizeof a);
        snprintf(x->text, sizeof x->text, "%s (%.1f/s on average, peak %.0f/s)", a,
                 report__jnum(t, to, "ops_per_s", NULL),
                 report__jnum(t, to, "ops_per_s_max", NULL));
    }
    v = report__jnum(t, to, "hit_rate", NULL);
    if ((x = add(&f, "redis.hit_rate", "Hit rate", v)) != NULL) {
        report_fmt_pct(v, a, sizeof a);
        snprintf(x->text, sizeof x->text,
                 isfinite(v) ? "%s (%.0f hits, %.0f misses)" : "no key lookups", a,
                 report__jnum(t, to, "keyspace_hits", NULL),
                 report__jnum(t, to, "keyspace_misses", NULL));
    }
    add_count(&f, "redis.evicted_keys", "Evicted keys", report__jnum(t, to, "evicted_keys", NULL));
    add_count(&f, "redis.expired_keys", "Expired keys", report__jnum(t, to, "expired_keys", NULL));
    add_count(&f, "redis.rejected_connections", "Rejected connections",
              report__jnum(t, to, "rejected_connections", NULL));
    add_count(&f, "redis.error_replies", "Error replies",
              report__jnum(t, to, "error_replies", NULL));
    v = report__jnum(t, me, "used_max_bytes", NULL);
    if ((x = add(&f, "redis.used_max_bytes", "Memory at peak", v)) != NULL) {
        double mm = report__jnum(t, me, "maxmemory_bytes", NULL);
        char pol[48] = "";
        jtree_str(t, me, "maxmemory_policy", pol, sizeof pol);
        report_fmt_bytes(v, a, sizeof a);
        report_fmt_bytes(mm, b, sizeof b);
        snprintf(x->text, sizeof x->text, "%s (%s%s, %s)", a,
                 mm > 0 ? "maxmemory " : "no maxmemory", mm > 0 ? b : "", pol);
    }
    v = report__jnum(t, me, "fragmentation_max", NULL);
    if ((x = add(&f, "redis.fragmentation_max", "Fragmentation ratio (peak)", v)) != NULL) {
        snprintf(x->text, sizeof x->text, "%.2f", v);
    }
    v = report__jnum(t, cl, "connected_max", NULL);
    if ((x = add(&f, "redis.connected_max", "Clients at peak", v)) != NULL) {
        snprintf(x->text, sizeof x->text, "%.0f connected, %.0f blocked", v,
                 report__jnum(t, cl, "blocked_max", NULL));
    }
    add_count(&f, "redis.probe_commands", "The probe's own commands",
              report__jnum(t, to, "probe_commands", NULL));
    return f.n;
}

/*
 * probes.profile / probes.pprof (docs/result-format.md): how the profile was taken and
 * what it holds, then for pprof the live heap before and after the load.  Figures are
 * named NAME.samples, NAME.lost, NAME.heap.inuse_before_bytes, ... (NAME: the probe's
 * member, "profile" or "pprof").  A member that holds only an error gives that error.
 */
/* add_str(), left out when the member is absent or empty. */
static void add_str_present(struct figs *f, const struct jtree *t, const struct jnode *p,
                            const char *key, const char *label)
{
    add_str(f, t, p, key, label);
    if (f->n > 0 && f->out[f->n - 1].text[0] == '\0') {
        f->n--;
    }
}

size_t report__profile_figures(const struct jtree *t, const struct jnode *p, const char *name,
                               struct report_pfig *out, size_t cap)
{
    struct figs f = {out, 0, cap};
    struct report_pfig *x;
    char fn[48], a[48], b[48];
    const struct jnode *err = jtree_get(t, p, "error");
    if (err != NULL && err->val.type == JSON_STRING) {
        add_str(&f, t, p, "error", "Not measured");
    } else {
        add_str_present(&f, t, p, "source", "Source");
        add_str_present(&f, t, p, "url", "URL");
        add_str_present(&f, t, p, "unwind", "Call chains");
        double v = report__jnum(t, p, "samples", NULL);
        snprintf(fn, sizeof fn, "%s.samples", name);
        if ((x = add(&f, fn, "Samples", v)) != NULL) {
            report_fmt_num(v, a, sizeof a);
            double hz = report__jnum(t, p, "frequency_hz", NULL),
                   dur = report__jnum(t, p, "duration_s", NULL),
                   sec = report__jnum(t, p, "seconds", NULL);
            if (isfinite(hz) && isfinite(dur)) {
                snprintf(x->text, sizeof x->text, "%s at %.0f Hz over %.1f s", a, hz, dur);
            } else if (isfinite(sec)) {
                snprintf(x->text, sizeof x->text, "%s over %.0f s (the service's own rate)", a,
                         sec);
            } else {
                snprintf(x->text, sizeof x->text, "%s", a);
            }
        }
        /* What the kernel could not fit in a ring, or what would not unwind: shown only
         * when there was some, as a caveat on the shares. */
        static const struct {
            const char *key, *label;
        } caveats[] = {{"lost", "Samples lost (ring full between polls)"},
                       {"unwind_failed", "Samples whose stack did not unwind"},
                       {"dropped", "Samples dropped (past brunt's caps)"}};
        for (size_t i = 0; i < sizeof caveats / sizeof caveats[0]; i++) {
            v = report__jnum(t, p, caveats[i].key, NULL);
            if (isfinite(v) && v > 0) {
                snprintf(fn, sizeof fn, "%s.%s", name, caveats[i].key);
                add_count(&f, fn, caveats[i].label, v);
            }
        }
    }
    const struct jnode *heap = jtree_get(t, p, "heap");
    if (heap != NULL && heap->val.type == JSON_OBJECT) {
        const struct jnode *herr = jtree_get(t, heap, "error");
        if (herr != NULL && herr->val.type == JSON_STRING) {
            if ((x = add(&f, "", "Live heap", NAN)) != NULL) {
                char e[160] = "";
                jtree_str(t, heap, "error", e, sizeof e);
                snprintf(x->text, sizeof x->text, "not compared: %s", e);
            }
        } else {
            double before = report__jnum(t, heap, "inuse_before_bytes", NULL),
                   after = report__jnum(t, heap, "inuse_after_bytes", NULL);
            snprintf(fn, sizeof fn, "%s.heap.inuse_before_bytes", name);
            if ((x = add(&f, fn, "Live heap before the load", before)) != NULL) {
                report_fmt_bytes(before, x->text, sizeof x->text);
            }
            snprintf(fn, sizeof fn, "%s.heap.inuse_after_bytes", name);
            if ((x = add(&f, fn, "Live heap after the load", after)) != NULL) {
                report_fmt_bytes(after, a, sizeof a);
                report_fmt_bytes(fabs(after - before), b, sizeof b);
                snprintf(x->text, sizeof x->text, "%s (%s%s)", a, after >= before ? "+" : "−", b);
            }
        }
    }
    return f.n;
}
