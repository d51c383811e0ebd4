/*
 * libFuzzer target for analysis/result_read (and, on what it accepts, analysis/compare).
 *
 * The input is a result document.  result_read_mem must never crash or read past the
 * input, must fill err with one line on every refusal, and every document it accepts
 * must hold records whose series indices and bucket indices are in range; such a
 * document is then compared with itself (a few resamples), which must not judge any
 * figure a regression.
 *
 * Built by scripts/fuzz.sh; seeds in tests/fuzz/corpus/result/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/compare.h"
#include "analysis/result_read.h"
#include "metrics/packed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct result_doc *d = NULL;
    char err[512];
    int rc = result_read_mem((const char *)data, size, "fuzz", &d, err, sizeof err);
    if (rc < 0) {
        if (err[0] == '\0' || strchr(err, '\n') != NULL || d != NULL) {
            abort();
        }
        return 0;
    }
    for (size_t i = 0; i < d->n_rows; i++) {
        for (size_t j = 0; j < d->rows[i].n_recs; j++) {
            const struct rr_rec *r = &d->rows[i].recs[j];
            if (r->series >= d->n_series) {
                abort();
            }
            for (uint32_t k = 0; k < r->n_buckets; k++) {
                if (r->b[k].index >= PACKED_HIST_LEN ||
                    (k > 0 && r->b[k].index <= r->b[k - 1].index)) {
                    abort();
                }
            }
        }
    }
    struct cmp_options o;
    struct cmp_report rep;
    cmp_options_default(&o);
    o.resamples = 20;
    if (compare_runs(d, d, &o, &rep, err, sizeof err) == 0) {
        if (rep.incomparable || rep.worst == CMP_REGRESSION || rep.worst == CMP_CRITICAL) {
            abort();
        }
        cmp_report_destroy(&rep);
    }
    result_doc_free(d);
    return 0;
}
