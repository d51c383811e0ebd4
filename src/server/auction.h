/*
 * auction — the domain logic of the built-in target: a fixed set of auctions that
 * accept a bid only when it is higher than the current one, and stateless login tokens.
 *
 * The store holds AUCTION_COUNT auctions, "auction_0" ... "auction_999", each with its
 * own mutex, so a bid is compare-and-set under one short lock and bids on different
 * auctions never contend.  Beside the current bid, each auction records separately the
 * highest bid it ever accepted and how many it accepted; the invariant "the current bid
 * equals the highest accepted bid (or the starting bid when none was accepted)" is what
 * auction_invariant_ok() checks, so tests can assert that no lost update happened.  The
 * record is kept apart from the bid decision (an atomic maximum outside the lock), so the
 * check witnesses the locking rather than restating it; read it when no bid is in flight
 * (after a run), since a bid just decided may not be folded in yet.
 *
 * Tokens are "tok_" + hex(email) + "_" + a 64-bit keyed hash of the email in hex: they
 * are deterministic for a given secret and email, and verifiable without any state.
 * This is a test server, not a security boundary; the hash is not a cryptographic MAC.
 *
 * Left out: creating or closing auctions, persistence, bid history.
 */
#ifndef BRUNT_TARGET_AUCTION_H
#define BRUNT_TARGET_AUCTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUCTION_COUNT 1000
/* Longest email accepted by login (RFC 5321 path limit). */
#define AUCTION_EMAIL_MAX 254
/* Longest token auction_token_issue() writes, without the NUL. */
#define AUCTION_TOKEN_MAX (4 + 2 * AUCTION_EMAIL_MAX + 1 + 16)

enum auction_bid_result {
    AUCTION_BID_ACCEPTED = 0,
    AUCTION_BID_TOO_LOW = 1,
};

struct auction_store;

/* Creates a store with every auction at its starting bid.  Returns 0 or -ENOMEM. */
int auction_store_new(struct auction_store **out);
/* Frees the store; auction_store_free(NULL) does nothing.  No bid may be in progress. */
void auction_store_free(struct auction_store *s);

/* The starting bid of auction `index` (deterministic: 0 for every auction). */
int64_t auction_starting_bid(size_t index);

/*
 * Parses an auction id "auction_N" (N decimal, 0 <= N < AUCTION_COUNT, no sign, no
 * leading zero except "0") of len bytes.  Returns 0 with *index set, or -ENOENT.
 */
int auction_parse_id(const char *id, size_t len, size_t *index);

/*
 * Places a bid of `amount` on auction `index` (< AUCTION_COUNT): accepted only when
 * amount is strictly greater than the current bid, atomically with respect to every
 * other bid.  *current_out (when not NULL) gets the current bid after the call (the
 * new one when accepted).  Returns AUCTION_BID_ACCEPTED, AUCTION_BID_TOO_LOW, or
 * -ENOENT for an index out of range.  Any thread.
 */
int auction_bid(struct auction_store *s, size_t index, int64_t amount, int64_t *current_out);

/* The current bid of auction index (< AUCTION_COUNT; else 0).  Any thread. */
int64_t auction_current(struct auction_store *s, size_t index);

/* Bids accepted by auction index since the store was created.  Any thread. */
uint64_t auction_accepted_count(struct auction_store *s, size_t index);

/*
 * True when every auction's current bid equals the highest bid it accepted (or its
 * starting bid when it accepted none).  Locks each auction in turn; any thread.
 */
bool auction_invariant_ok(struct auction_store *s);

/*
 * Writes the token for email (email_len bytes, 1..AUCTION_EMAIL_MAX) under `secret`
 * into out (cap bytes, NUL-terminated).  Returns the token's length, -EINVAL for an
 * empty or too long email, or -E2BIG when cap is too small (AUCTION_TOKEN_MAX + 1 is
 * always enough).
 */
int auction_token_issue(uint64_t secret, const char *email, size_t email_len, char *out,
                        size_t cap);

/*
 * Verifies a token (len bytes) issued under `secret` and copies the email it carries
 * into email_out (cap bytes, NUL-terminated).  Returns the email's length, or -EACCES
 * when the token is malformed or was not issued under this secret, or -E2BIG when cap
 * is too small.
 */
int auction_token_verify(uint64_t secret, const char *token, size_t len, char *email_out,
                         size_t cap);

#endif
