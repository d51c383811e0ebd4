/*
 * redisinfo — see redisinfo.h.  A line ends at '\n' (a '\r' before it is dropped);
 * the key is everything before the first ':' of the line, the value everything after.
 */
#include "probe/redisinfo.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void redisinfo_iter_init(struct redisinfo_iter *it, const char *text, size_t len)
{
    it->p = text;
    it->end = text ? text + len : NULL;
}

bool redisinfo_next(struct redisinfo_iter *it, struct redisinfo_field *out)
{
    bool found = false;
    while (!found && it->p && it->p < it->end) {
        const char *line = it->p;
        const char *nl = memchr(line, '\n', (size_t)(it->end - line));
        const char *stop = nl ? nl : it->end;
        it->p = nl ? nl + 1 : it->end;
        if (stop > line && stop[-1] == '\r') {
            stop--;
        }
        if (stop == line || line[0] == '#') {
            continue;
        }
        const char *colon = memchr(line, ':', (size_t)(stop - line));
        if (!colon || colon == line) {
            continue;
        }
        out->key = line;
        out->key_len = (size_t)(colon - line);
        out->val = colon + 1;
        out->val_len = (size_t)(stop - colon - 1);
        found = true;
    }
    return found;
}

bool redisinfo_get(const char *text, size_t len, const char *key, struct redisinfo_field *out)
{
    struct redisinfo_iter it;
    struct redisinfo_field f;
    size_t klen = strlen(key);
    bool found = false;
    redisinfo_iter_init(&it, text, len);
    while (!found && redisinfo_next(&it, &f)) {
        if (f.key_len == klen && memcmp(f.key, key, klen) == 0) {
            *out = f;
            found = true;
        }
    }
    return found;
}

int redisinfo_parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    int rc = 0;
    if (len == 0 || len > 20) {
        rc = -EINVAL;
    }
    for (size_t i = 0; rc == 0 && i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            rc = -EINVAL;
        } else if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10) {
            rc = -ERANGE;
        } else {
            v = v * 10 + (uint64_t)(s[i] - '0');
        }
    }
    if (rc == 0) {
        *out = v;
    }
    return rc;
}

int redisinfo_parse_double(const char *s, size_t len, double *out)
{
    char buf[64];
    int rc = 0;
    if (len == 0 || len >= sizeof buf) {
        rc = -EINVAL;
    }
    /* Only what Redis writes: sign, digits, '.', an exponent.  strtod alone would also
     * take "inf", "nan", hex and leading spaces. */
    for (size_t i = 0; rc == 0 && i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E')) {
            rc = -EINVAL;
        }
    }
    if (rc == 0) {
        memcpy(buf, s, len);
        buf[len] = '\0';
        char *end = NULL;
        errno = 0;
        double v = strtod(buf, &end);
        if (end != buf + len || !isfinite(v)) {
            rc = -EINVAL;
        } else {
            *out = v;
        }
    }
    return rc;
}

int redisinfo_u64(const char *text, size_t len, const char *key, uint64_t *out)
{
    struct redisinfo_field f;
    if (!redisinfo_get(text, len, key, &f)) {
        return -ENOENT;
    }
    return redisinfo_parse_u64(f.val, f.val_len, out);
}

int redisinfo_double(const char *text, size_t len, const char *key, double *out)
{
    struct redisinfo_field f;
    if (!redisinfo_get(text, len, key, &f)) {
        return -ENOENT;
    }
    return redisinfo_parse_double(f.val, f.val_len, out);
}

/* Finds name=... in a pair list; sets the value span. */
static bool sub_find(const char *val, size_t val_len, const char *name, const char **v,
                     size_t *vlen)
{
    size_t nlen = strlen(name);
    const char *p = val;
    const char *end = val ? val + val_len : NULL;
    bool found = false;
    while (!found && p && p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (eq && (size_t)(eq - p) == nlen && memcmp(p, name, nlen) == 0) {
            *v = eq + 1;
            *vlen = (size_t)(stop - eq - 1);
            found = true;
        }
        p = comma ? comma + 1 : end;
    }
    return found;
}

int redisinfo_sub_u64(const char *val, size_t val_len, const char *name, uint64_t *out)
{
    const char *v = NULL;
    size_t vlen = 0;
    if (!sub_find(val, val_len, name, &v, &vlen)) {
        return -ENOENT;
    }
    return redisinfo_parse_u64(v, vlen, out);
}

int redisinfo_sub_double(const char *val, size_t val_len, const char *name, double *out)
{
    const char *v = NULL;
    size_t vlen = 0;
    if (!sub_find(val, val_len, name, &v, &vlen)) {
        return -ENOENT;
    }
    return redisinfo_parse_double(v, vlen, out);
}
