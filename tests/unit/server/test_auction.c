/*
 * Unit tests of server/auction: the bid rule, the invariant, concurrent bids, ids and
 * login tokens.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "server/auction.h"

static struct auction_store *store;

static void setup(void)
{
    cr_assert_eq(auction_store_new(&store), 0);
}

static void teardown(void)
{
    auction_store_free(store);
    store = NULL;
}

TestSuite(auction, .init = setup, .fini = teardown);

Test(auction, starts_at_the_starting_bid)
{
    for (size_t i = 0; i < AUCTION_COUNT; i += 111) {
        cr_expect_eq(auction_current(store, i), auction_starting_bid(i),
                     "auction %zu: %lld vs %lld", i, (long long)auction_current(store, i),
                     (long long)auction_starting_bid(i));
    }
    cr_expect(auction_invariant_ok(store));
}

Test(auction, accepts_only_strictly_higher_bids)
{
    int64_t cur = -1;
    int r = auction_bid(store, 7, 10, &cur);
    cr_assert_eq(r, AUCTION_BID_ACCEPTED, "first bid: %d", r);
    cr_expect_eq(cur, 10, "current after first bid: %lld", (long long)cur);

    r = auction_bid(store, 7, 10, &cur);
    cr_expect_eq(r, AUCTION_BID_TOO_LOW, "equal bid: %d", r);
    cr_expect_eq(cur, 10, "current after equal bid: %lld", (long long)cur);

    r = auction_bid(store, 7, 9, &cur);
    cr_expect_eq(r, AUCTION_BID_TOO_LOW, "lower bid: %d", r);

    r = auction_bid(store, 7, 11, &cur);
    cr_expect_eq(r, AUCTION_BID_ACCEPTED, "higher bid: %d", r);
    cr_expect_eq(auction_current(store, 7), 11, "current: %lld",
                 (long long)auction_current(store, 7));
    cr_expect_eq(auction_accepted_count(store, 7), 2, "accepted: %llu",
                 (unsigned long long)auction_accepted_count(store, 7));
    cr_expect_eq(auction_current(store, 8), 0, "neighbour untouched: %lld",
                 (long long)auction_current(store, 8));
    cr_expect(auction_invariant_ok(store));
}

Test(auction, rejects_negative_and_zero_against_the_start)
{
    cr_expect_eq(auction_bid(store, 1, 0, NULL), AUCTION_BID_TOO_LOW);
    cr_expect_eq(auction_bid(store, 1, -5, NULL), AUCTION_BID_TOO_LOW);
    cr_expect_eq(auction_accepted_count(store, 1), 0);
}

Test(auction, unknown_index_is_enoent)
{
    int r = auction_bid(store, AUCTION_COUNT, 5, NULL);
    cr_expect_eq(r, -ENOENT, "%d vs %d", r, -ENOENT);
}

Test(auction, parses_ids_strictly)
{
    size_t idx = 12345;
    cr_expect_eq(auction_parse_id("auction_0", 9, &idx), 0);
    cr_expect_eq(idx, 0, "%zu", idx);
    cr_expect_eq(auction_parse_id("auction_999", 11, &idx), 0);
    cr_expect_eq(idx, 999, "%zu", idx);
    static const char *bad[] = {"auction_1000", "auction_",  "auction_07", "auction_-1",
                                "auction_1x",   "Auction_1", "auction1",   ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq(auction_parse_id(bad[i], strlen(bad[i]), &idx), -ENOENT, "'%s' accepted",
                     bad[i]);
    }
}

/* Several threads bid rising and random amounts on a few auctions at once. */
#define BID_THREADS 4
#define BIDS_PER_THREAD 20000
#define HOT_AUCTIONS 3

struct bidder {
    unsigned seed;
    int64_t max_accepted[HOT_AUCTIONS]; /* the highest amount this thread saw accepted */
    uint64_t accepted[HOT_AUCTIONS];
};

static void *bid_thread(void *arg)
{
    struct bidder *b = arg;
    uint64_t x = b->seed * 2654435761u + 1;
    for (int i = 0; i < BIDS_PER_THREAD; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t a = (size_t)(x % HOT_AUCTIONS);
        int64_t amount = (int64_t)(i + (int)(x >> 40) % 64);
        if (auction_bid(store, a, amount, NULL) == AUCTION_BID_ACCEPTED) {
            b->accepted[a]++;
            if (amount > b->max_accepted[a]) {
                b->max_accepted[a] = amount;
            }
        }
    }
    return NULL;
}

Test(auction, concurrent_bids_keep_the_invariant)
{
    pthread_t th[BID_THREADS];
    struct bidder b[BID_THREADS];
    memset(b, 0, sizeof b);
    for (int i = 0; i < BID_THREADS; i++) {
        b[i].seed = (unsigned)i + 1;
        cr_assert_eq(pthread_create(&th[i], NULL, bid_thread, &b[i]), 0);
    }
    for (int i = 0; i < BID_THREADS; i++) {
        pthread_join(th[i], NULL);
    }
    cr_expect(auction_invariant_ok(store));
    for (size_t a = 0; a < HOT_AUCTIONS; a++) {
        int64_t max = 0;
        uint64_t n = 0;
        for (int i = 0; i < BID_THREADS; i++) {
            if (b[i].max_accepted[a] > max) {
                max = b[i].max_accepted[a];
            }
            n += b[i].accepted[a];
        }
        cr_expect_eq(auction_current(store, a), max,
                     "auction %zu: current %lld vs highest accepted %lld", a,
                     (long long)auction_current(store, a), (long long)max);
        cr_expect_eq(auction_accepted_count(store, a), n, "auction %zu: %llu vs %llu accepted", a,
                     (unsigned long long)auction_accepted_count(store, a), (unsigned long long)n);
        cr_expect_gt(n, 10, "auction %zu: only %llu bids accepted", a, (unsigned long long)n);
    }
}

Test(auction, token_round_trips)
{
    char tok[AUCTION_TOKEN_MAX + 1], email[AUCTION_EMAIL_MAX + 1];
    int n = auction_token_issue(42, "ann@example.com", 15, tok, sizeof tok);
    cr_assert_gt(n, 0, "issue: %d", n);
    cr_expect_eq((size_t)n, strlen(tok), "%d vs %zu", n, strlen(tok));
    cr_expect_eq(strncmp(tok, "tok_", 4), 0, "token '%s'", tok);
    int m = auction_token_verify(42, tok, (size_t)n, email, sizeof email);
    cr_assert_eq(m, 15, "verify: %d", m);
    cr_expect_str_eq(email, "ann@example.com");
}

Test(auction, token_is_deterministic)
{
    char a[AUCTION_TOKEN_MAX + 1], b[AUCTION_TOKEN_MAX + 1];
    auction_token_issue(1, "x@y", 3, a, sizeof a);
    auction_token_issue(1, "x@y", 3, b, sizeof b);
    cr_expect_str_eq(a, b);
}

Test(auction, token_rejects_forgery)
{
    char tok[AUCTION_TOKEN_MAX + 1], email[AUCTION_EMAIL_MAX + 1];
    int n = auction_token_issue(42, "ann@example.com", 15, tok, sizeof tok);
    cr_assert_gt(n, 0);
    /* another secret */
    cr_expect_eq(auction_token_verify(43, tok, (size_t)n, email, sizeof email), -EACCES);
    /* the email swapped for another, same MAC */
    char forged[AUCTION_TOKEN_MAX + 1];
    strcpy(forged, tok);
    forged[5] = forged[5] == '1' ? '2' : '1';
    cr_expect_eq(auction_token_verify(42, forged, (size_t)n, email, sizeof email), -EACCES,
                 "forged '%s' accepted", forged);
    /* truncated, empty, garbage */
    cr_expect_eq(auction_token_verify(42, tok, (size_t)n - 1, email, sizeof email), -EACCES);
    cr_expect_eq(auction_token_verify(42, "", 0, email, sizeof email), -EACCES);
    cr_expect_eq(auction_token_verify(42, "tok_zz_0000000000000000", 23, email, sizeof email),
                 -EACCES);
}

Test(auction, token_limits)
{
    char tok[AUCTION_TOKEN_MAX + 1], big[AUCTION_EMAIL_MAX + 2];
    memset(big, 'a', sizeof big);
    cr_expect_eq(auction_token_issue(1, big, 0, tok, sizeof tok), -EINVAL);
    cr_expect_eq(auction_token_issue(1, big, AUCTION_EMAIL_MAX + 1, tok, sizeof tok), -EINVAL);
    int n = auction_token_issue(1, big, AUCTION_EMAIL_MAX, tok, sizeof tok);
    cr_expect_eq(n, AUCTION_TOKEN_MAX, "%d vs %d", n, AUCTION_TOKEN_MAX);
    cr_expect_eq(auction_token_issue(1, big, 3, tok, 10), -E2BIG);
}
