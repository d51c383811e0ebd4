/*
 * parse — the numbers users type: durations, counts, sizes and plain decimals, for
 * flags and scenario files; and the one formatter summaries use for durations.
 *
 * Every parser takes the whole NUL-terminated string (no leading or trailing white
 * space, no sign), returns 0 or a negative errno (-EINVAL for text that is not a value
 * of the kind, -ERANGE for a value too large), writes *out only on success, and never
 * prints: the caller knows the flag or file:line:column to blame.
 *
 * Units, spelled out once here:
 *  - durations (Go / k6 style): one or more <number><unit> with unit ns, us, µs (or μs),
 *    ms, s, m, h, d (24 h); numbers may have a fraction ("1.5s", "1h2m3.5s"); a bare
 *    number is seconds ("10" = 10 s, "0.5" = 500 ms).  At most INT64_MAX ns (~292
 *    years) so callers may do signed arithmetic with it.  Below 1 ns is truncated.
 *  - counts (parse_u64): decimal digits with an optional SI suffix k or K (10^3),
 *    M (10^6), G (10^9), T (10^12); "1.5k" = 1500.  The value must come out whole.
 *  - sizes (parse_size_bytes): a number with an optional unit, case-insensitive:
 *    B (1); KB, MB, GB, TB decimal (10^3 ... 10^12); KiB, MiB, GiB, TiB binary
 *    (2^10 ... 2^40); and the single letters k, m, g, t are binary too (as in
 *    "16k" buffers, like dd and nginx).  The value must come out a whole number.
 */
#ifndef BRUNT_CORE_PARSE_H
#define BRUNT_CORE_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Parses a duration into nanoseconds.  "" "10x" "-1s" "s" "1m30" are -EINVAL. */
int parse_duration_ns(const char *s, uint64_t *out_ns);

/* Parses a count with an optional SI suffix (k/K, M, G, T). */
int parse_u64(const char *s, uint64_t *out);

/* Parses a finite decimal floating-point number, whole string ("1e3", "-0.5", "2."). */
int parse_double(const char *s, double *out);

/* Parses a size in bytes with an optional unit (see above). */
int parse_size_bytes(const char *s, uint64_t *out);

/*
 * Formats a duration given in milliseconds for people: "0s", "512ns", "850µs",
 * "268.8µs", "1.23ms", "2.5s", "1m5s", "1h2m3s" — at most two decimals, trailing
 * zeros dropped, whole seconds from a minute up; negative values get a '-'.  Writes a
 * NUL-terminated string into out[0..cap).  Returns its length, -EINVAL for NaN or
 * infinity, or -ENOSPC when cap is too small (out then holds nothing useful).
 */
int format_duration_ms(double ms, char *out, size_t cap);

#endif
