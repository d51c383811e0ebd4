/*
 * analysis/result_read: a small document read back (series table, records, buckets as
 * absolute indices, load shape), and each kind of refusal with its code and message.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "analysis/result_read.h"

#define HEAD "{\"schema\":\"brunt-result/1\",\"meta\":{\"version\":\"0.1\",\"duration_ms\":2000},"
#define OPTS \
    "\"options\":{\"url\":\"http://127.0.0.1:9/x?y\",\"model\":\"closed\",\"connections\":4},"
#define TS(rows)                                                                                 \
    "\"metrics\":{},\"timeseries\":{\"histogram\":{\"unit\":\"ns\",\"sub_bucket_bits\":6},"      \
    "\"series\":[{\"metric\":\"http_req_duration\",\"type\":\"trend\",\"tags\":{\"name\":\"a\"," \
    "\"status\":\"200\"}},{\"metric\":\"http_reqs\",\"type\":\"counter\",\"tags\":{}}],"         \
    "\"rows\":" rows "}}"

static int read(const char *doc, struct result_doc **d, char *err)
{
    return result_read_mem(doc, strlen(doc), "t.json", d, err, 256);
}

Test(result_read, reads_series_rows_and_load)
{
    const char *doc =
        HEAD OPTS TS("[{\"t\":0,\"series\":[{\"i\":0,\"n\":3,\"sum\":3e6,\"min\":1000,"
                     "\"max\":2000000,\"b\":[500,1,10,2]},{\"i\":1,\"sum\":3,\"n\":3}]},"
                     "{\"t\":1,\"series\":[]}]");
    struct result_doc *d;
    char err[256];
    cr_assert_eq(read(doc, &d, err), 0, "%s", err);
    cr_assert_eq(d->n_series, 2);
    cr_assert_str_eq(d->series[0].name, "a");
    cr_assert_str_eq(d->series[0].tags, "name=a\x1fstatus=200");
    cr_assert_eq(d->series[0].type, METRIC_TREND);
    cr_assert_eq(d->n_rows, 2);
    cr_assert_eq(d->rows[0].n_recs, 2);
    const struct rr_rec *r = &d->rows[0].recs[0];
    cr_assert_eq(r->n_buckets, 2);
    cr_assert_eq(r->b[0].index, 500);
    cr_assert_eq(r->b[1].index, 510, "deltas add up to absolute indices");
    cr_assert_eq(r->b[1].count, 2);
    cr_assert_float_eq(d->rows[0].recs[1].sum, 3.0, 1e-12);
    cr_assert_str_eq(d->load.path, "/x?y", "the origin is dropped");
    cr_assert_str_eq(d->load.model, "closed");
    cr_assert_float_eq(d->load.connections, 4, 1e-12);
    cr_assert_float_eq(d->duration_ms, 2000, 1e-12);
    result_doc_free(d);
}

static void refused(const char *doc, int code, const char *words)
{
    struct result_doc *d = (void *)1;
    char err[256];
    cr_assert_eq(read(doc, &d, err), code, "code for %s: %s", words, err);
    cr_assert_null(d);
    cr_assert(strstr(err, words) != NULL, "'%s' not in '%s'", words, err);
    cr_assert(strncmp(err, "t.json: ", 8) == 0, "names the file: %s", err);
}

Test(result_read, refusals)
{
    refused("{", RR_EFORMAT, "malformed JSON");
    refused("[1]", RR_EFORMAT, "expected a JSON object");
    refused("{\"schema\":\"other\"}", RR_EFORMAT, "not a brunt result");
    refused("{\"schema\":\"brunt-result/2\"}", RR_EVERSION, "brunt-result/2");
    /* the document's strings are quoted on one line: a decoded newline is shown as '?' */
    refused("{\"schema\":\"a\\nb\\u0007c\"}", RR_EFORMAT, "schema 'a?b?c'");
    refused(HEAD "\"metrics\":{},\"timeseries\":{\"rows\":[]}}", RR_ENOHIST,
            "no per-second histograms");
    refused(HEAD TS("[{\"t\":0}]"), RR_ENOHIST, "no per-second histograms");
    refused(HEAD TS("[{\"t\":0,\"series\":[{\"i\":5,\"n\":1}]}]"), RR_EFORMAT, "needs i");
    refused(HEAD TS("[{\"t\":0,\"series\":[{\"i\":0,\"n\":2,\"sum\":1,\"min\":1,\"max\":1,"
                    "\"b\":[5,1]}]}]"),
            RR_EFORMAT, "add up to 1, not n = 2");
    refused(HEAD TS("[{\"t\":0,\"series\":[{\"i\":0,\"n\":2,\"sum\":1,\"min\":1,\"max\":1,"
                    "\"b\":[5,1,0,1]}]}]"),
            RR_EFORMAT, "ascending");
    refused(HEAD TS("[{\"t\":0,\"series\":[{\"i\":0,\"n\":1,\"sum\":1,\"min\":1,\"max\":1,"
                    "\"b\":[99999,1]}]}]"),
            RR_EFORMAT, "ascending index below");
}
