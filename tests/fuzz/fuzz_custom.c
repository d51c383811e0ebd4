/*
 * libFuzzer target for scenario/custom's feed compiler (the `metrics:` values of a step).
 *
 * The input, cut at its first NUL, is compiled as the feed of a declared rate, counter,
 * gauge and trend.  Invariants: a failure leaves no feed behind and writes a message; a
 * success feeds without crashing for a 200, a 500 and a network error (status 0), with
 * the input as the body and a variable set to the input, and every sample recorded is
 * collected (the rate's samples are exactly the responses fed).
 *
 * Built by scripts/fuzz.sh; seeds in tests/fuzz/corpus/custom/.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/custom.h"

static void check_true(bool ok)
{
    if (!ok) {
        abort();
    }
}

static int lookup(void *ctx, const char *name, size_t len)
{
    (void)ctx;
    return len == 1 && name[0] == 'v' ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool defined;
    char err[512];
    if (!defined) {
        check_true(custom_define("r", "rate", false, NULL, err, sizeof err) >= 0);
        check_true(custom_define("c", "counter", false, NULL, err, sizeof err) >= 0);
        check_true(custom_define("g", "gauge", false, NULL, err, sizeof err) >= 0);
        check_true(custom_define("t", "trend", false, NULL, err, sizeof err) >= 0);
        defined = true;
    }
    char *s = malloc(size + 1);
    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';
    static const char *const names[] = {"r", "c", "g", "t"};
    for (size_t m = 0; m < 4; m++) {
        struct custom_step cs = {0};
        err[0] = '\0';
        int rc = custom_feed_compile(&cs, names[m], s, "name=x", lookup, NULL, err, sizeof err);
        if (rc < 0) {
            check_true(cs.n == 0 && err[0] != '\0');
            custom_step_destroy(&cs);
            continue;
        }
        check_true(cs.n == 1);
        struct flow_var var = {.val = s, .len = (uint32_t)strnlen(s, 1u << 20), .set = true};
        struct flow_vu v = {.vars = &var, .n_vars = 1};
        struct step_results res = {0};
        custom_step_feed(&cs, &v, 200, 1000000, s, strlen(s), &res);
        custom_step_feed(&cs, &v, 500, 2000000, NULL, 0, &res);
        custom_step_feed(&cs, &v, 0, 0, NULL, 0, &res);
        check_true(res.n_samples <= 3);
        if (m == 0) {
            check_true(res.n_samples == 3); /* a rate: one sample per response */
        }
        custom_step_destroy(&cs);
    }
    free(s);
    /* Slots are handed out per compile: start each input afresh. */
    custom_shutdown();
    metric_undefine_all();
    defined = false;
    return 0;
}
