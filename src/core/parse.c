/*
 * parse — user-input numbers: durations, counts, sizes, decimals; see parse.h.
 *
 * Numbers with a fraction are kept as an integer part and up to 18 fraction digits, and
 * scaled by their unit in integer arithmetic, so "1.1s" is exactly 1100000000 ns and
 * "1.5KiB" exactly 1536 bytes with no floating-point rounding on the way.
 */
#include "core/parse.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

#define FRAC_DIGITS_MAX 18

/* A non-negative decimal number as typed: ipart.frac / 10^frac_digits. */
struct decimal {
    uint64_t ipart;
    bool ipart_overflow;
    uint64_t frac;
    unsigned frac_digits;
    uint64_t frac_scale; /* 10^frac_digits */
    bool frac_dropped;   /* non-zero digits past FRAC_DIGITS_MAX */
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads digits[.digits] at *sp (at least one digit in all); advances *sp. */
static int read_decimal(const char **sp, struct decimal *d)
{
    const char *s = *sp;
    bool any = false;

    memset(d, 0, sizeof *d);
    d->frac_scale = 1;
    for (; is_digit(*s); s++) {
        unsigned v = (unsigned)(*s - '0');
        if (d->ipart > (UINT64_MAX - v) / 10) {
            d->ipart_overflow = true;
        } else {
            d->ipart = d->ipart * 10 + v;
        }
        any = true;
    }
    if (*s == '.') {
        s++;
        for (; is_digit(*s); s++) {
            if (d->frac_digits < FRAC_DIGITS_MAX) {
                d->frac = d->frac * 10 + (uint64_t)(*s - '0');
                d->frac_scale *= 10;
                d->frac_digits++;
            } else if (*s != '0') {
                d->frac_dropped = true;
            }
            any = true;
        }
    }
    if (!any) {
        return -EINVAL;
    }
    *sp = s;
    return 0;
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b != 0) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/*
 * *out = d * mult.  With `exact`, a result that is not a whole number is -EINVAL;
 * without, it is truncated.  -ERANGE when it does not fit in 64 bits.
 */
static int decimal_scale(const struct decimal *d, uint64_t mult, bool exact, uint64_t *out)
{
    uint64_t whole, fpart;

    if (d->ipart_overflow) {
        return -ERANGE;
    }
    if (__builtin_mul_overflow(d->ipart, mult, &whole)) {
        return -ERANGE;
    }
    /* frac * mult / scale, reduced by the gcd so the product cannot overflow needlessly. */
    uint64_t g = gcd(mult, d->frac_scale);
    uint64_t m = mult / g, q = d->frac_scale / g;
    uint64_t r = d->frac % q;
    if (exact && (r != 0 || d->frac_dropped)) {
        return -EINVAL;
    }
    if (__builtin_mul_overflow(d->frac / q, m, &fpart)) {
        return -ERANGE;
    }
    if (r != 0) {
        /* Below one unit of the result: long double is exact enough to truncate it. */
        fpart += (uint64_t)floorl((long double)r * (long double)m / (long double)q);
    }
    if (__builtin_add_overflow(whole, fpart, out)) {
        return -ERANGE;
    }
    return 0;
}

/* Matches a duration unit at *sp, longest first; returns its ns or 0. */
static uint64_t duration_unit(const char **sp)
{
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {
        {"ns", 1},
        {"us", NS_PER_US},
        {"\xc2\xb5s", NS_PER_US}, /* U+00B5 micro sign */
        {"\xce\xbcs", NS_PER_US}, /* U+03BC greek mu */
        {"ms", NS_PER_MS},
        {"s", NS_PER_S},
        {"m", 60 * NS_PER_S},
        {"h", 3600 * NS_PER_S},
        {"d", 86400 * NS_PER_S},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        size_t n = strlen(units[i].name);
        if (strncmp(*sp, units[i].name, n) == 0) {
            *sp += n;
            return units[i].ns;
        }
    }
    return 0;
}

int parse_duration_ns(const char *s, uint64_t *out_ns)
{
    struct decimal d;
    uint64_t total = 0, part;
    int range = 0; /* a syntax error anywhere wins over a range error */
    int rc;

    if (s == NULL || *s == '\0') {
        return -EINVAL;
    }
    rc = read_decimal(&s, &d);
    if (rc != 0) {
        return rc;
    }
    if (*s == '\0') {
        /* A bare number is seconds. */
        rc = decimal_scale(&d, NS_PER_S, false, &total);
        if (rc != 0) {
            return rc;
        }
        goto done;
    }
    for (;;) {
        uint64_t unit = duration_unit(&s);
        if (unit == 0) {
            return -EINVAL;
        }
        rc = decimal_scale(&d, unit, false, &part);
        if (rc != 0) {
            range = rc;
        } else if (__builtin_add_overflow(total, part, &total)) {
            range = -ERANGE;
        }
        if (*s == '\0') {
            break;
        }
        rc = read_decimal(&s, &d);
        if (rc != 0) {
            return rc;
        }
    }
    if (range != 0) {
        return range;
    }

done:
    if (total > (uint64_t)INT64_MAX) {
        return -ERANGE;
    }
    *out_ns = total;
    return 0;
}

int parse_u64(const char *s, uint64_t *out)
{
    struct decimal d;
    uint64_t mult = 1;
    int rc;

    if (s == NULL) {
        return -EINVAL;
    }
    rc = read_decimal(&s, &d);
    if (rc != 0) {
        return rc;
    }
    switch (*s) {
    case '\0':
        break;
    case 'k':
    case 'K':
        mult = 1000ULL;
        s++;
        break;
    case 'M':
        mult = 1000000ULL;
        s++;
        break;
    case 'G':
        mult = 1000000000ULL;
        s++;
        break;
    case 'T':
        mult = 1000000000000ULL;
        s++;
        break;
    default:
        return -EINVAL;
    }
    if (*s != '\0') {
        return -EINVAL;
    }
    return decimal_scale(&d, mult, true, out);
}

int parse_double(const char *s, double *out)
{
    char *end;
    double v;

    if (s == NULL || *s == '\0' || strspn(s, "0123456789.eE+-") != strlen(s)) {
        return -EINVAL; /* also refuses white space, hex, "inf" and "nan" */
    }
    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != '\0') {
        return -EINVAL;
    }
    if (!isfinite(v)) {
        return errno == ERANGE ? -ERANGE : -EINVAL;
    }
    /* An underflow to a tiny or zero value is still the number the user meant. */
    *out = v;
    return 0;
}

static bool eq_ci(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        char ca = (*a >= 'A' && *a <= 'Z') ? (char)(*a - 'A' + 'a') : *a;
        if (ca != *b) {
            return false;
        }
    }
    return *a == *b;
}

int parse_size_bytes(const char *s, uint64_t *out)
{
    static const struct {
        const char *name; /* lower case */
        uint64_t mult;
    } units[] = {
        {"", 1},
        {"b", 1},
        {"k", 1ULL << 10},
        {"kib", 1ULL << 10},
        {"kb", 1000ULL},
        {"m", 1ULL << 20},
        {"mib", 1ULL << 20},
        {"mb", 1000000ULL},
        {"g", 1ULL << 30},
        {"gib", 1ULL << 30},
        {"gb", 1000000000ULL},
        {"t", 1ULL << 40},
        {"tib", 1ULL << 40},
        {"tb", 1000000000000ULL},
    };
    struct decimal d;
    int rc;

    if (s == NULL) {
        return -EINVAL;
    }
    rc = read_decimal(&s, &d);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (eq_ci(s, units[i].name)) {
            return decimal_scale(&d, units[i].mult, true, out);
        }
    }
    return -EINVAL;
}

/* Prints v with at most two decimals, trailing zeros dropped, and the unit. */
static int put_fixed2(char *out, size_t cap, const char *sign, double v, const char *unit)
{
    char num[64];
    int n = snprintf(num, sizeof num, "%.2f", v);
    if (n < 0 || (size_t)n >= sizeof num) {
        return -ENOSPC;
    }
    while (n > 0 && num[n - 1] == '0') {
        num[--n] = '\0';
    }
    if (n > 0 && num[n - 1] == '.') {
        num[--n] = '\0';
    }
    n = snprintf(out, cap, "%s%s%s", sign, num, unit);
    return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

/* Rounds v to two decimals, as "%.2f" would print it. */
static double round2(double v)
{
    return round(v * 100.0) / 100.0;
}

int format_duration_ms(double ms, char *out, size_t cap)
{
    const char *sign = "";
    int n;

    if (!isfinite(ms)) {
        return -EINVAL;
    }
    if (cap > 0) {
        out[0] = '\0';
    }
    if (ms < 0) {
        sign = "-";
        ms = -ms;
    }
    double ns = ms * 1e6;
    if (round(ns) == 0) {
        n = snprintf(out, cap, "0s");
    } else if (round(ns) < 1000.0) {
        n = snprintf(out, cap, "%s%.0fns", sign, round(ns));
    } else if (round2(ns / 1e3) < 1000.0) {
        return put_fixed2(out, cap, sign, ns / 1e3, "\xc2\xb5s");
    } else if (round2(ms) < 1000.0) {
        return put_fixed2(out, cap, sign, ms, "ms");
    } else if (round2(ms / 1e3) < 60.0) {
        return put_fixed2(out, cap, sign, ms / 1e3, "s");
    } else {
        double total = round(ms / 1e3);
        if (total >= 1e15) {
            n = snprintf(out, cap, "%s%.0fs", sign, total);
        } else {
            uint64_t t = (uint64_t)total;
            uint64_t h = t / 3600, m = (t % 3600) / 60, sec = t % 60;
            if (h > 0) {
                n = snprintf(out, cap, "%s%lluh%llum%llus", sign, (unsigned long long)h,
                             (unsigned long long)m, (unsigned long long)sec);
            } else {
                n = snprintf(out, cap, "%s%llum%llus", sign, (unsigned long long)m,
                             (unsigned long long)sec);
            }
        }
    }
    return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}
