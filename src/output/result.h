/*
 * result — the result file: one JSON document ("brunt-result/1") describing a whole run,
 * as docs/result-format.md specifies: what ran (meta, options), every metric with its
 * complete histogram, the thresholds and their verdicts, the one-second time series,
 * the errors by kind and the warnings.  It is what `brunt report`, `compare` and `merge`
 * read, so everything needed to rebuild the numbers exactly is in it (histogram buckets
 * in integer nanoseconds); everything a person reads is in milliseconds.
 *
 * result_to_json() only serialises (no I/O apart from gethostname/uname for meta);
 * result_write() also puts the document on disk atomically.  Reading a result back is
 * left to the modules that consume it (report, compare, merge).
 */
#ifndef BRUNT_OUTPUT_RESULT_H
#define BRUNT_OUTPUT_RESULT_H

#include <stddef.h>

#include "core/json.h"
#include "engine/plan.h"
#include "engine/run.h"
#include "output/runinfo.h"

#define RESULT_SCHEMA "brunt-result/1"

/* The largest result document result_write() produces (a bigger one is an error). */
#define RESULT_MAX_BYTES (512u * 1024u * 1024u)

/*
 * Writes the whole result document for r into w (which the caller initialised, pretty or
 * compact, and owns).  r->plan may be NULL (options are then null).  Returns 0, or the
 * writer's negative errno (-ENOMEM, -E2BIG past its cap, -EINVAL on misuse) — in which
 * case w holds a partial document.  The coordinator thread, after the run (r->total is
 * read, not changed).
 */
int result_to_json(const struct run_report *r, struct jsonw *w);
/* The same with what the CLI knows beyond the report (info may be NULL): meta gains
 * test_name, scenario_file, scenario_sha256, env and tags (docs/result-format.md). */
int result_to_json_info(const struct run_report *r, const struct run_info *info, struct jsonw *w);

/*
 * Writes the document for r to path atomically: it writes "path.tmp.<pid>" in the same
 * directory, fsyncs it, renames it over path and fsyncs the directory, so a reader sees
 * either no file, the old file, or the complete new one; on failure the temporary file is
 * removed.  Pretty-printed with 2 spaces, ending with a newline.  Returns 0, or -1 with a
 * one-line message in err (capacity err_len, may be 0) naming what failed and which path.
 */
int result_write(const char *path, const struct run_report *r, char *err, size_t err_len);
/* The same with info (may be NULL), as result_to_json_info(). */
int result_write_info(const char *path, const struct run_report *r, const struct run_info *info,
                      char *err, size_t err_len);

/*
 * Checks before a run that result_write() could write path: its directory exists, is a
 * directory and is writable (a temporary file is created there and removed), and path
 * is not itself a directory.  Returns 0, or -1 with a one-line message in err naming the
 * path and what is wrong, so a bad --export is found before a two-hour soak, not after.
 */
int result_check_path(const char *path, char *err, size_t err_len);

/*
 * The URL of a scenario's first request step, as a user would type it
 * ("http://127.0.0.1:8080/path?q", "https://[::1]/"), into out[0..cap).  Returns its
 * length, 0 (out = "") when the scenario has no request step, or -1 when cap is too
 * small.  Shared by the summary's header line and the result's options.
 */
int result_scenario_url(const struct scenario_plan *sc, char *out, size_t cap);

#endif
