/*
 * libFuzzer target for success-criteria rows (metrics/criteria): the input, cut at its
 * first NUL, as a --criterion flag, and split at its first two newlines as the three
 * fields of a scenario row.  Invariants: 0 or -1; on -1 a one-line message; on 0 the
 * row's acceptable level is never stricter than its target in the same direction.
 *
 * Built by scripts/fuzz.sh; seeds in tests/fuzz/corpus/criteria/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/criteria.h"

static void check(int ok)
{
    if (!ok) {
        abort();
    }
}

static void check_row(int rc, const struct criterion *c, const char *err)
{
    check(rc == 0 || rc == -1);
    if (rc < 0) {
        check(err[0] != '\0' && strchr(err, '\n') == NULL);
        return;
    }
    if ((c->target.op == TH_LT || c->target.op == TH_LE) &&
        (c->acceptable.op == TH_LT || c->acceptable.op == TH_LE)) {
        check(c->acceptable.value >= c->target.value);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';
    char err[512] = "";
    struct criterion c;
    int rc = criterion_parse_flag(s, &c, err, sizeof err);
    check_row(rc, &c, err);
    if (rc == 0) {
        criterion_destroy(&c);
    }
    char *nl1 = strchr(s, '\n');
    char *nl2 = nl1 != NULL ? strchr(nl1 + 1, '\n') : NULL;
    if (nl1 != NULL) {
        *nl1 = '\0';
        if (nl2 != NULL) {
            *nl2 = '\0';
        }
        err[0] = '\0';
        rc = criterion_parse(s, nl1 + 1, nl2 != NULL ? nl2 + 1 : NULL, &c, err, sizeof err);
        check_row(rc, &c, err);
        if (rc == 0) {
            criterion_destroy(&c);
        }
    }
    free(s);
    return 0;
}
