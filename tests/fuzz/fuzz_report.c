/*
 * libFuzzer target for report/: the input as a result document.  report_read must
 * either succeed or fail with one of its named codes and a one-line message; on success
 * every renderer must succeed, the Markdown must stay under GitHub's comment limit and
 * the HTML must close exactly its three script elements (no text from the document can
 * end the data block early).  jtree is checked against json_validate:
 * a document that validates always indexes.
 *
 * Built by scripts/fuzz.sh with clang -fsanitize=fuzzer,address,undefined; seeds in
 * tests/fuzz/corpus/report/ (small but complete result documents).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "report/jtree.h"
#include "report/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *doc = (const char *)data;
    size_t off;
    if (json_validate(doc, size, &off) == 0) {
        struct jtree t;
        int rc = jtree_parse(&t, doc, size);
        if (rc != 0 && rc != -ENOMEM) {
            abort();
        }
        jtree_free(&t);
    }
    static struct report_model m;
    char err[512];
    int rc = report_read(doc, size, &m, err, sizeof err);
    if (rc != 0) {
        if (rc != REPORT_ENOTJSON && rc != REPORT_ETRUNC && rc != REPORT_ESCHEMA &&
            rc != REPORT_ENOSAMPLES && rc != -ENOMEM) {
            abort();
        }
        if (err[0] == '\0' || strchr(err, '\n') != NULL) {
            abort();
        }
        report_model_free(&m);
        return 0;
    }
    struct dynbuf b;
    dynbuf_init(&b, 64u << 20);
    if (report_md(&m, &b) != 0 || b.len >= REPORT_MD_MAX_CHARS) {
        abort();
    }
    dynbuf_reset(&b);
    if (report_html(&m, &b) != 0) {
        abort();
    }
    size_t closes = 0;
    for (const char *p = b.data; (p = strstr(p, "</script")) != NULL; p++) {
        closes++;
    }
    if (closes != 3) {
        abort();
    }
    dynbuf_reset(&b);
    if (report_junit(&m, &b) != 0) {
        abort();
    }
    dynbuf_reset(&b);
    if (report_csv(&m, &b) != 0) {
        abort();
    }
    dynbuf_destroy(&b);
    report_model_free(&m);
    return 0;
}
