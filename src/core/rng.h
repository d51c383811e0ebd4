/*
 * rng — brunt's one pseudo-random generator (splitmix64), for every layer: templates
 * and feeders (per VU), the engine's jitter, the server's fault draws and secrets.
 *
 * splitmix64 is tiny, fast and statistically good enough for choosing auctions, amounts
 * and faults; it is not cryptographic, and a `uuid` made from it is unique in practice
 * only.  The state is one uint64_t owned by one thread (a VU's struct flow_vu.rng, a
 * server thread's), so no call needs a lock.  Any seed, zero included, is valid.
 */
#ifndef BRUNT_CORE_RNG_H
#define BRUNT_CORE_RNG_H

#include <stdint.h>

/* The golden-ratio increment of splitmix64, also a good constant to spread seeds. */
#define RNG_GOLDEN 0x9e3779b97f4a7c15ULL

/* i times the golden increment (mod 2^64): splitmix64's state i steps after 0, so
 * seed + rng_spread(i) is stream i of a seed; also Fibonacci hashing's multiplier, which
 * spreads small or clustered integers (ids, addresses) over 64 bits. */
static inline uint64_t rng_spread(uint64_t i)
{
    return i * RNG_GOLDEN;
}

/* splitmix64's finaliser: a bijective 64-bit mix (hashes, seeds from seeds). */
static inline uint64_t rng_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The next 64 random bits; advances *s. */
static inline uint64_t rng_next(uint64_t *s)
{
    return rng_mix64(*s += RNG_GOLDEN);
}

/*
 * A uniformly distributed integer in [lo, hi], both inclusive (lo <= hi; when lo > hi
 * the two are swapped).  Rejection sampling, so there is no modulo bias; the full range
 * [0, UINT64_MAX] is allowed.
 */
static inline uint64_t rng_range(uint64_t *s, uint64_t lo, uint64_t hi)
{
    if (lo > hi) {
        uint64_t t = lo;
        lo = hi;
        hi = t;
    }
    uint64_t n = hi - lo + 1; /* 0 means the whole 2^64 range */
    if (n == 0) {
        return rng_next(s);
    }
    uint64_t floor = (0 - n) % n; /* 2^64 mod n: values below it would bias */
    uint64_t r;
    do {
        r = rng_next(s);
    } while (r < floor);
    return lo + r % n;
}

/* A double uniformly distributed in [0, 1), with 53 random bits. */
static inline double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

#endif
