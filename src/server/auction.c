/*
 * auction — bids under a per-auction mutex, and stateless tokens (see auction.h).
 *
 * Each auction sits on its own cache line so bids on neighbouring auctions from
 * different threads do not false-share.  A mutex guards the current bid and decides
 * whether a bid wins.  The record of the highest accepted bid is kept apart from it, on
 * purpose: every accepted amount is folded into an atomic maximum after the decision,
 * outside the lock, so auction_invariant_ok() is an independent witness — a lost update
 * (a lower bid overwriting a higher one) leaves current below that maximum.
 */
#include "server/auction.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/rng.h"

struct auction {
    pthread_mutex_t lock;
    int64_t current;
    _Atomic int64_t max_accepted; /* meaningful when accepted > 0 */
    _Atomic uint64_t accepted;
} __attribute__((aligned(64)));

struct auction_store {
    struct auction a[AUCTION_COUNT];
};

int auction_store_new(struct auction_store **out)
{
    struct auction_store *s = aligned_alloc(64, sizeof *s);
    if (s == NULL) {
        return -ENOMEM;
    }
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < AUCTION_COUNT; i++) {
        pthread_mutex_init(&s->a[i].lock, NULL);
        s->a[i].current = auction_starting_bid(i);
        atomic_init(&s->a[i].max_accepted, auction_starting_bid(i));
    }
    *out = s;
    return 0;
}

void auction_store_free(struct auction_store *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < AUCTION_COUNT; i++) {
        pthread_mutex_destroy(&s->a[i].lock);
    }
    free(s);
}

int64_t auction_starting_bid(size_t index)
{
    (void)index;
    return 0;
}

int auction_parse_id(const char *id, size_t len, size_t *index)
{
    static const char prefix[] = "auction_";
    size_t plen = sizeof prefix - 1;
    if (len <= plen || len > plen + 3 || memcmp(id, prefix, plen) != 0) {
        return -ENOENT;
    }
    const char *d = id + plen;
    size_t n = len - plen;
    if (n > 1 && d[0] == '0') {
        return -ENOENT;
    }
    size_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i] < '0' || d[i] > '9') {
            return -ENOENT;
        }
        v = v * 10 + (size_t)(d[i] - '0');
    }
    if (v >= AUCTION_COUNT) {
        return -ENOENT;
    }
    *index = v;
    return 0;
}

int auction_bid(struct auction_store *s, size_t index, int64_t amount, int64_t *current_out)
{
    if (index >= AUCTION_COUNT) {
        return -ENOENT;
    }
    struct auction *a = &s->a[index];
    int result;
    pthread_mutex_lock(&a->lock);
    if (amount > a->current) {
        a->current = amount;
        result = AUCTION_BID_ACCEPTED;
    } else {
        result = AUCTION_BID_TOO_LOW;
    }
    if (current_out != NULL) {
        *current_out = a->current;
    }
    pthread_mutex_unlock(&a->lock);
    if (result == AUCTION_BID_ACCEPTED) {
        /* The witness, outside the lock (see the top of the file).  Accepted amounts
         * exceed the starting bid, so the maximum starts from there. */
        int64_t seen = atomic_load(&a->max_accepted);
        while (amount > seen && !atomic_compare_exchange_weak(&a->max_accepted, &seen, amount)) {
        }
        atomic_fetch_add(&a->accepted, 1);
    }
    return result;
}

int64_t auction_current(struct auction_store *s, size_t index)
{
    if (index >= AUCTION_COUNT) {
        return 0;
    }
    struct auction *a = &s->a[index];
    pthread_mutex_lock(&a->lock);
    int64_t v = a->current;
    pthread_mutex_unlock(&a->lock);
    return v;
}

uint64_t auction_accepted_count(struct auction_store *s, size_t index)
{
    if (index >= AUCTION_COUNT) {
        return 0;
    }
    struct auction *a = &s->a[index];
    return atomic_load(&a->accepted);
}

bool auction_invariant_ok(struct auction_store *s)
{
    bool ok = true;
    for (size_t i = 0; i < AUCTION_COUNT; i++) {
        struct auction *a = &s->a[i];
        pthread_mutex_lock(&a->lock);
        int64_t want =
            atomic_load(&a->accepted) > 0 ? atomic_load(&a->max_accepted) : auction_starting_bid(i);
        if (a->current != want) {
            ok = false;
        }
        pthread_mutex_unlock(&a->lock);
    }
    return ok;
}

/* --- tokens -------------------------------------------------------------------------- */

/* A keyed 64-bit hash of the email: FNV-1a over the bytes, keyed and finalised. */
static uint64_t token_mac(uint64_t secret, const char *email, size_t len)
{
    uint64_t h = hash_fnv1a(HASH_FNV1A_BASIS ^ rng_mix64(secret + RNG_GOLDEN), email, len);
    return rng_mix64(h ^ rng_mix64(secret ^ len));
}

static const char hexdig[] = "0123456789abcdef";

int auction_token_issue(uint64_t secret, const char *email, size_t email_len, char *out, size_t cap)
{
    if (email_len == 0 || email_len > AUCTION_EMAIL_MAX) {
        return -EINVAL;
    }
    size_t need = 4 + 2 * email_len + 1 + 16;
    if (cap < need + 1) {
        return -E2BIG;
    }
    char *p = out;
    memcpy(p, "tok_", 4);
    p += 4;
    for (size_t i = 0; i < email_len; i++) {
        unsigned char c = (unsigned char)email[i];
        *p++ = hexdig[c >> 4];
        *p++ = hexdig[c & 15];
    }
    *p++ = '_';
    uint64_t mac = token_mac(secret, email, email_len);
    for (int i = 15; i >= 0; i--) {
        *p++ = hexdig[(mac >> (4 * i)) & 15];
    }
    *p = '\0';
    return (int)need;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

int auction_token_verify(uint64_t secret, const char *token, size_t len, char *email_out,
                         size_t cap)
{
    /* "tok_" + at least 2 hex digits + "_" + 16 hex digits */
    if (len < 4 + 2 + 1 + 16 || len > AUCTION_TOKEN_MAX || memcmp(token, "tok_", 4) != 0) {
        return -EACCES;
    }
    size_t hex_len = len - 4 - 1 - 16;
    if (hex_len % 2 != 0 || token[4 + hex_len] != '_') {
        return -EACCES;
    }
    size_t email_len = hex_len / 2;
    char email[AUCTION_EMAIL_MAX];
    for (size_t i = 0; i < email_len; i++) {
        int hi = hexval(token[4 + 2 * i]), lo = hexval(token[4 + 2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return -EACCES;
        }
        email[i] = (char)(hi << 4 | lo);
    }
    uint64_t mac = 0;
    for (size_t i = 0; i < 16; i++) {
        int v = hexval(token[len - 16 + i]);
        if (v < 0) {
            return -EACCES;
        }
        mac = mac << 4 | (uint64_t)v;
    }
    if (mac != token_mac(secret, email, email_len)) {
        return -EACCES;
    }
    if (cap < email_len + 1) {
        return -E2BIG;
    }
    memcpy(email_out, email, email_len);
    email_out[email_len] = '\0';
    return (int)email_len;
}
