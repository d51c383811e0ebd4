/*
 * hash — FNV-1a, brunt's one byte-string hash, for the hash tables of the metric
 * registry, the flame graph's frames, the server's WebSocket rooms and the auction's
 * keyed tokens.  Not for anything an attacker may pick to collide, unless keyed (the
 * auction's token) and finalised.  Inline, no state: any thread.
 */
#ifndef BRUNT_CORE_HASH_H
#define BRUNT_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* The 64-bit FNV offset basis, 14695981039346656037. */
#define HASH_FNV1A_BASIS 0xcbf29ce484222325ULL

/*
 * FNV-1a over p[0..n), from the state h: HASH_FNV1A_BASIS to begin, a state returned
 * before to go on, or the basis mixed with a key or a number to hash a pair.
 */
static inline uint64_t hash_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ s[i]) * 0x100000001b3ULL; /* the 64-bit FNV prime, 1099511628211 */
    }
    return h;
}

#endif
