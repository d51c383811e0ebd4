/*
 * analysis/history: tags canonicalised and matched; a history created, written, listed
 * and read back; a file that is not a history refused and left alone.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/history.h"

Test(history, tags_are_sorted_and_matched_by_pair_or_value)
{
    const char *tags[] = {"z=1", "build=42", "ci=yes"};
    char out[128];
    cr_assert_gt(history_tags_canon(tags, 3, out, sizeof out), 0);
    cr_assert_str_eq(out, "build=42\nci=yes\nz=1");
    cr_assert(history_tags_match(out, "ci=yes"));
    cr_assert(history_tags_match(out, "42"));
    cr_assert(!history_tags_match(out, "ci=no"));
    cr_assert(!history_tags_match(out, "4"), "a value prefix is not a match");
    const char *bad[] = {"novalue"};
    cr_assert_eq(history_tags_canon(bad, 1, out, sizeof out), -1);
    const char *nokey[] = {"=v"};
    cr_assert_eq(history_tags_canon(nokey, 1, out, sizeof out), -1);
}

Test(history, runs_round_trip)
{
    char path[] = "/tmp/brunt-test-history-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd); /* an empty file is a new history */
    struct history *h;
    char err[256];
    cr_assert_eq(history_open(path, 1000, true, &h, err, sizeof err), 0, "%s", err);
    struct hist_run a = {.p95_ms = 12.5, .requests = 100}, b = {.p95_ms = 20};
    snprintf(a.start, sizeof a.start, "2026-12-01T10:00:00.000Z");
    snprintf(b.start, sizeof b.start, "2026-12-02T10:00:00.000Z");
    snprintf(a.scenario, sizeof a.scenario, "smoke");
    snprintf(b.scenario, sizeof b.scenario, "smoke");
    snprintf(a.tags, sizeof a.tags, "build=1");
    cr_assert_eq(history_add(h, &b, "{\"b\":1}", 7, err, sizeof err), 0, "%s", err);
    cr_assert_eq(history_add(h, &a, "{\"a\":1}", 7, err, sizeof err), 0, "%s", err);
    struct hist_run *runs;
    size_t n;
    cr_assert_eq(history_list(h, "", "smoke", &runs, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(runs[0].start, a.start, "oldest first");
    cr_assert_float_eq(runs[0].p95_ms, 12.5, 1e-12);
    cr_assert_str_eq(runs[0].tags, "build=1");
    char *doc;
    size_t len;
    cr_assert_eq(history_document(h, runs[0].id, &doc, &len, err, sizeof err), 0);
    cr_assert_eq(len, 7);
    cr_assert_str_eq(doc, "{\"a\":1}");
    free(doc);
    free(runs);
    cr_assert_eq(history_list(h, "2026-12-02", "", &runs, &n, err, sizeof err), 0);
    cr_assert_eq(n, 1, "since filters");
    free(runs);
    cr_assert_eq(history_document(h, 999, &doc, &len, err, sizeof err), HIST_EINVAL);
    history_close(h);
    unlink(path);
}

Test(history, a_file_that_is_not_a_history_is_refused)
{
    char path[] = "/tmp/brunt-test-history-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, "hello, not sqlite at all, just text\n", 36), 36);
    close(fd);
    struct history *h = NULL;
    char err[256];
    cr_assert_eq(history_open(path, 100, true, &h, err, sizeof err), HIST_ENOTHIST);
    cr_assert_null(h);
    cr_assert(strstr(err, "not a brunt history") != NULL, "%s", err);
    FILE *f = fopen(path, "r");
    char buf[64] = "";
    cr_assert(fgets(buf, sizeof buf, f) != NULL);
    fclose(f);
    cr_assert_str_eq(buf, "hello, not sqlite at all, just text\n", "left alone");
    unlink(path);
    cr_assert_eq(history_open(path, 100, false, &h, err, sizeof err), HIST_EIO, "missing");
}
