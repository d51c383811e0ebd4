/*
 * packed — one second of a registry as varint records (see packed.h).
 *
 * The packer walks the second's series once; for a trend it walks the fine histogram's
 * non-empty buckets in ascending order and folds runs that fall into the same compact
 * bucket, so a second with k distinct fine buckets costs O(k) and no allocation beyond
 * the output buffer.
 */
#include "metrics/packed.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/dynbuf.h"

uint32_t packed_index(uint64_t value_ns)
{
    uint64_t v = value_ns > HIST_HIGHEST_NS ? HIST_HIGHEST_NS : value_ns;
    unsigned bitlen = 64u - (unsigned)__builtin_clzll(v | ((2ull << PACKED_SUB_BITS) - 1));
    unsigned b = bitlen - (PACKED_SUB_BITS + 1);
    return (uint32_t)(((uint64_t)b << PACKED_SUB_BITS) + (v >> b));
}

uint64_t packed_lowest(uint32_t index, uint64_t *width_ns)
{
    uint32_t top = index >> PACKED_SUB_BITS;
    unsigned b = top > 0 ? top - 1 : 0;
    uint64_t s = (uint64_t)index - ((uint64_t)b << PACKED_SUB_BITS);
    if (width_ns != NULL) {
        *width_ns = 1ull << b;
    }
    return s << b;
}

bool packed_keeps_trend(int metric)
{
    if (metric < 0 || metric >= metric_count() || metric_info[metric].type != METRIC_TREND) {
        return false;
    }
    return metric == M_HTTP_REQ_DURATION || metric == M_HTTP_REQ_LATENCY || metric >= M_COUNT;
}

bool packed_put_varint(uint8_t *buf, size_t cap, size_t *off, uint64_t v)
{
    size_t o = *off;
    do {
        if (o >= cap) {
            return false;
        }
        uint8_t byte = (uint8_t)(v & 0x7f);
        v >>= 7;
        buf[o++] = (uint8_t)(byte | (v ? 0x80 : 0));
    } while (v);
    *off = o;
    return true;
}

bool packed_get_varint(const uint8_t *p, size_t len, size_t *off, uint64_t *v)
{
    uint64_t x = 0;
    size_t o = *off;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (o >= len) {
            return false;
        }
        uint8_t byte = p[o++];
        if (shift == 63 && byte > 1) {
            return false; /* more than 64 bits */
        }
        x |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *off = o;
            *v = x;
            return true;
        }
    }
    return false;
}

/* A small staging buffer for one record's fixed part. */
struct stage {
    uint8_t b[96];
    size_t n;
};

static void stage_varint(struct stage *s, uint64_t v)
{
    (void)packed_put_varint(s->b, sizeof s->b, &s->n, v); /* 96 bytes hold any head */
}

static void stage_double(struct stage *s, double d)
{
    memcpy(s->b + s->n, &d, sizeof d);
    s->n += sizeof d;
}

/* Appends a trend's buckets (count, then pairs) to b.  0 or a dynbuf error. */
static int put_buckets(struct dynbuf *b, const struct hist *h)
{
    /* Count the compact buckets first so the pair count can lead. */
    size_t cursor = 0, n = 0;
    uint64_t v, c;
    uint32_t last = UINT32_MAX;
    while (hist_next_bucket(h, &cursor, &v, &c)) {
        uint32_t i = packed_index(v);
        n += i != last;
        last = i;
    }
    uint8_t tmp[32];
    size_t k = 0;
    (void)packed_put_varint(tmp, sizeof tmp, &k, n);
    int rc = dynbuf_add(b, tmp, k);
    cursor = 0;
    last = UINT32_MAX;
    uint32_t prev = 0;
    uint64_t run = 0;
    while (rc == 0) {
        bool more = hist_next_bucket(h, &cursor, &v, &c);
        uint32_t i = more ? packed_index(v) : UINT32_MAX;
        if (i != last && run > 0) {
            k = 0;
            (void)packed_put_varint(tmp, sizeof tmp, &k, last - prev);
            (void)packed_put_varint(tmp, sizeof tmp, &k, run);
            rc = dynbuf_add(b, tmp, k);
            prev = last;
            run = 0;
        }
        if (!more) {
            break;
        }
        last = i;
        run += c;
    }
    return rc;
}

int packed_second(const struct registry *second, const struct registry *total, uint8_t **out,
                  size_t *out_len)
{
    struct dynbuf b;
    int rc = 0;
    size_t n = registry_len(second);

    *out = NULL;
    *out_len = 0;
    dynbuf_init(&b, PACKED_MAX_BYTES);
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct series *s = registry_at_const(second, (int)i);
        enum metric_type type = metric_info[s->metric].type;
        bool any = false;
        switch (type) {
        case METRIC_COUNTER:
        case METRIC_RATE:
            any = s->total > 0;
            break;
        case METRIC_TREND:
            any = packed_keeps_trend(s->metric) && s->hist != NULL && hist_count(s->hist) > 0;
            break;
        case METRIC_GAUGE:
            any = s->total > 0;
            break;
        }
        if (!any) {
            continue;
        }
        int ti = registry_find(total, s->metric, s->tags);
        if (ti < 0) {
            continue;
        }
        struct stage st = {.n = 0};
        stage_varint(&st, (uint64_t)ti);
        st.b[st.n++] = (uint8_t)type;
        if (type == METRIC_COUNTER) {
            stage_double(&st, s->sum);
            stage_varint(&st, s->total);
        } else if (type == METRIC_RATE) {
            stage_varint(&st, s->trues);
            stage_varint(&st, s->total);
        } else if (type == METRIC_GAUGE) {
            stage_double(&st, s->sum);
            stage_double(&st, s->gmin);
            stage_double(&st, s->gmax);
            stage_varint(&st, s->total);
        } else {
            stage_varint(&st, hist_count(s->hist));
            stage_double(&st, hist_sum_ns(s->hist));
            stage_varint(&st, hist_min_ns(s->hist));
            stage_varint(&st, hist_max_ns(s->hist));
        }
        rc = dynbuf_add(&b, st.b, st.n);
        if (rc == 0 && type == METRIC_TREND) {
            rc = put_buckets(&b, s->hist);
        }
    }
    if (rc == 0 && b.len > 0) {
        size_t len;
        char *data = dynbuf_take(&b, &len);
        /* Growth doubled the buffer: give the slack back, rows live for the whole run. */
        char *fit = data != NULL ? realloc(data, len) : NULL;
        *out = (uint8_t *)(fit != NULL ? fit : data);
        *out_len = data != NULL ? len : 0;
        rc = data != NULL ? 0 : -ENOMEM;
    }
    dynbuf_destroy(&b);
    return rc;
}

static bool get_double(const uint8_t *p, size_t len, size_t *off, double *d)
{
    if (len - *off < sizeof *d) {
        return false;
    }
    memcpy(d, p + *off, sizeof *d);
    *off += sizeof *d;
    return true;
}

int packed_next(const uint8_t *p, size_t len, size_t *off, struct packed_rec *rec)
{
    size_t o = *off;
    uint64_t v;
    memset(rec, 0, sizeof *rec);
    if (o >= len) {
        return 0;
    }
    if (!packed_get_varint(p, len, &o, &v) || v > UINT32_MAX || o >= len) {
        return -EINVAL;
    }
    rec->series = (uint32_t)v;
    uint8_t type = p[o++];
    bool ok = true;
    switch (type) {
    case METRIC_COUNTER:
        ok = get_double(p, len, &o, &rec->sum) && packed_get_varint(p, len, &o, &rec->total);
        break;
    case METRIC_GAUGE:
        ok = get_double(p, len, &o, &rec->sum) && get_double(p, len, &o, &rec->gmin) &&
             get_double(p, len, &o, &rec->gmax) && packed_get_varint(p, len, &o, &rec->total);
        break;
    case METRIC_RATE:
        ok = packed_get_varint(p, len, &o, &rec->trues) &&
             packed_get_varint(p, len, &o, &rec->total) && rec->trues <= rec->total;
        break;
    case METRIC_TREND: {
        uint64_t nb = 0;
        ok = packed_get_varint(p, len, &o, &rec->count) && get_double(p, len, &o, &rec->sum_ns) &&
             packed_get_varint(p, len, &o, &rec->min_ns) &&
             packed_get_varint(p, len, &o, &rec->max_ns) && packed_get_varint(p, len, &o, &nb) &&
             nb <= PACKED_HIST_LEN;
        if (ok) {
            rec->n_buckets = (size_t)nb;
            rec->buckets = p + o;
            for (uint64_t k = 0; k < 2 * nb && ok; k++) {
                ok = packed_get_varint(p, len, &o, &v);
            }
            rec->buckets_len = (size_t)(p + o - rec->buckets);
        }
        break;
    }
    default:
        ok = false;
    }
    if (!ok) {
        return -EINVAL;
    }
    rec->type = (enum metric_type)type;
    *off = o;
    return 1;
}

void packed_buckets_begin(struct packed_bucket_it *it, const struct packed_rec *rec)
{
    it->rec = rec;
    it->off = 0;
    it->left = rec->n_buckets;
    it->index = 0;
}

bool packed_buckets_next(struct packed_bucket_it *it, uint32_t *index, uint64_t *count)
{
    uint64_t d, c;
    if (it->left == 0 || !packed_get_varint(it->rec->buckets, it->rec->buckets_len, &it->off, &d) ||
        !packed_get_varint(it->rec->buckets, it->rec->buckets_len, &it->off, &c) ||
        d > UINT32_MAX - it->index) {
        return false;
    }
    it->index += (uint32_t)d;
    it->left--;
    *index = it->index;
    *count = c;
    return true;
}
