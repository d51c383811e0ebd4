/*
 * fuzz_threshold — libFuzzer target for the threshold language.
 *
 * Feeds a NUL-terminated copy of each input to threshold_parse_flag() (which covers the
 * metric, tag-filter, expression and option parsers) and, when the first byte is odd,
 * also splits the input at its first newline into the two arguments of
 * threshold_parse().  Whatever parses must give well-formed fields, and a failure must
 * leave a NUL-terminated message and a zeroed threshold.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/threshold.h"

static void check(int rc, struct threshold *t, const char *err)
{
    if (rc == 0) {
        if (t->metric < 0 || t->metric >= metric_count() || t->metric_expr == NULL ||
            t->source == NULL || t->filter == NULL ||
            (t->agg == TH_PCT && !(t->pct >= 0 && t->pct <= 100))) {
            abort();
        }
        threshold_destroy(t);
    } else {
        if (rc != -1 || t->metric_expr != NULL || t->source != NULL || t->filter != NULL ||
            strlen(err) == 0) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';

    struct threshold t;
    char err[256] = "";
    check(threshold_parse_flag(s, &t, err, sizeof err), &t, err);

    if (size > 0 && (data[0] & 1)) {
        char *nl = strchr(s + 1, '\n');
        if (nl != NULL) {
            *nl = '\0';
            err[0] = '\0';
            check(threshold_parse(s + 1, nl + 1, &t, err, sizeof err), &t, err);
        }
    }
    free(s);
    return 0;
}
