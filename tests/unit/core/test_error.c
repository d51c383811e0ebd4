/*
 * Unit tests for core/error: brunt's own codes lie above the errno range and never
 * overlap it or each other, and brunt_strerror names every code of both.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"

static const int own[] = {
    BRUNT_EPARTIAL, BRUNT_EPROTO,  BRUNT_ETOOLARGE, BRUNT_ETOOMANY,  BRUNT_ENOTFOUND,
    BRUNT_EJSON,    BRUNT_EDEPTH,  BRUNT_ESCHEME,   BRUNT_EUSERINFO, BRUNT_EHOST,
    BRUNT_EPORT,    BRUNT_ETARGET, BRUNT_ETOOLONG,  BRUNT_EDNS,      BRUNT_EUTF8,
};

Test(error, own_codes_are_above_the_errno_range_and_distinct)
{
    size_t n = sizeof own / sizeof own[0];
    for (size_t i = 0; i < n; i++) {
        cr_expect(own[i] < -BRUNT_ERRNO_MAX, "code %d is inside the errno range", own[i]);
        cr_expect(brunt_is_own_error(own[i]), "code %d", own[i]);
        for (size_t j = 0; j < i; j++) {
            cr_expect_neq(own[i], own[j], "codes %zu and %zu are both %d", i, j, own[i]);
        }
    }
    cr_expect(!brunt_is_own_error(-EPERM));
    cr_expect(!brunt_is_own_error(0));
    cr_expect(!brunt_is_own_error(-BRUNT_ERRNO_MAX));
}

Test(error, strerror_names_errno_and_own_codes)
{
    cr_expect_str_eq(brunt_strerror(0), "success");
    cr_expect_str_eq(brunt_strerror(3), "success");
    cr_expect_str_eq(brunt_strerror(-ECONNREFUSED), strerror(ECONNREFUSED));
    cr_expect_str_eq(brunt_strerror(-EPERM), strerror(EPERM));
    cr_expect_str_eq(brunt_strerror(BRUNT_ENOTFOUND), "no value at that path");
    cr_expect_str_eq(brunt_strerror(BRUNT_EPARTIAL), "incomplete HTTP message");
    cr_expect_str_eq(brunt_strerror(BRUNT_ESCHEME), "URL must start with http:// or https://");
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        const char *s = brunt_strerror(own[i]);
        cr_expect(strncmp(s, "unknown", 7) != 0, "code %d has no name", own[i]);
    }
    cr_expect_str_eq(brunt_strerror(BRUNT_ELAST), "unknown error -4127");
}

Test(error, json_codes_are_in_the_one_space)
{
    cr_expect_eq(JSON_ENOTFOUND, BRUNT_ENOTFOUND);
    cr_expect_neq(JSON_ENOTFOUND, -EPERM, "-1 no longer means two things");
    cr_expect_str_eq(json_strerror(JSON_EINVAL), brunt_strerror(BRUNT_EJSON));
}
