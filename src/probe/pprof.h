/*
 * pprof — a Go service's own profiles (net/http/pprof) as brunt profiles.
 *
 * Two halves:
 *   - the decoder: a pprof file (gzip-compressed protobuf `perftools.profiles.Profile`,
 *     or the raw protobuf) into a flame (analysis/flame.h): zlib inflates, libprotobuf-c
 *     unpacks with the code protoc-c generates from proto/profile.proto, then each
 *     sample's locations (leaf first; a location's lines are inlined frames, the last
 *     one the caller) become one stack weighted by the chosen sample value.  No I/O.
 *   - the probe: fetches /debug/pprof/profile?seconds=N over plain HTTP/1.1 during the
 *     window (the steady phase of the load), and /debug/pprof/heap before and after the
 *     load to show where the live heap grew.  The fetches run on the probe's own thread
 *     (a blocking GET with deadlines), never on the probe set's thread.
 *
 * Caps: a response body of at most PPROF_MAX_BODY bytes, an inflated profile of at most
 * PPROF_MAX_DECODED bytes, PPROF_MAX_SAMPLES samples (more is an error, not a guess).
 */
#ifndef BRUNT_PROBE_PPROF_H
#define BRUNT_PROBE_PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analysis/flame.h"
#include "core/dynbuf.h"
#include "probe/probe.h"

#define PPROF_MAX_BODY (64u << 20)
#define PPROF_MAX_DECODED (256u << 20)
#define PPROF_MAX_SAMPLES 4000000u
#define PPROF_MAX_SECONDS 3600

/* What a decoded profile said about itself. */
struct pprof_info {
    char sample_type[64]; /* the value used: "cpu", "inuse_space", "samples", ... */
    char unit[32];        /* its unit: "nanoseconds", "bytes", "count" */
    char period_type[64]; /* "cpu" ... */
    int64_t period;       /* e.g. 10000000 ns for Go's 100 Hz */
    int64_t time_nanos, duration_nanos;
    uint64_t samples;  /* sample records read */
    uint64_t counted;  /* the sum of the "samples" (count) values, when the profile has them */
    uint64_t negative; /* samples with a negative value (skipped) */
    uint64_t preempt_folded; /* weight whose leaf was runtime.asyncPreempt, given to the
                              * function it interrupted (pprof_decode) */
};

/*
 * Inflates a gzip (or zlib) stream data[0..len) into out (appended; at most
 * PPROF_MAX_DECODED bytes).  Returns 0, -EINVAL for a corrupt or truncated stream, -E2BIG
 * past the cap, -ENOMEM.
 */
int pprof_gunzip(const void *data, size_t len, struct dynbuf *out);

/*
 * Decodes a pprof profile from data[0..len) (gzip-compressed, or raw protobuf when it
 * does not start with the gzip magic) into fg, whose unit it sets.  value_type names the
 * sample value to weigh stacks by ("cpu", "inuse_space", ...); NULL takes the profile's
 * default_sample_type, else the last one (Go CPU profiles: cpu/nanoseconds).  info may be
 * NULL.  Returns the number of samples added, or a negative errno with one line in err
 * (-EINVAL: not a pprof profile, or an index out of range; -ENOENT: no such value type).
 */
int pprof_decode(const void *data, size_t len, const char *value_type, struct flame *fg,
                 struct pprof_info *info, char *err, size_t err_len);

/*
 * GET path (absolute, with its query) from the origin of base_url (http:// only) with a
 * deadline of timeout_ns for the whole exchange; the body goes into body (capped at
 * PPROF_MAX_BODY), the status into *status.  Blocking: call it on a thread of its own.
 * *cancel, when non-NULL, is polled about every 100 ms and ends the fetch (-ECANCELED).
 * Returns 0 (any status), or a negative errno with one line in err.
 */
int pprof_fetch(const char *base_url, const char *path, uint64_t timeout_ns,
                const volatile bool *cancel, struct dynbuf *body, int *status, char *err,
                size_t err_len);

struct pprof_opts {
    const char *url;  /* http://host:port, or with a path ending in /debug/pprof */
    unsigned seconds; /* the CPU profile's length; 0 = 30, capped by the window */
    bool heap;        /* also /debug/pprof/heap before and after (default on in the CLI) */
};

struct pprof_probe;

/* Checks opts (the URL is parsed, not contacted) and makes the probe; 0 or -EINVAL with err. */
int pprof_probe_new(const struct pprof_opts *opts, struct pprof_probe **out, char *err,
                    size_t err_len);

/*
 * The CPU profile starts at from_ns (CLOCK_MONOTONIC; 0 = at start) and lasts
 * min(seconds, to_ns - from_ns) (to_ns 0 = no bound).  Call before start().
 */
void pprof_probe_set_window(struct pprof_probe *pp, uint64_t from_ns, uint64_t to_ns);

/* The window as offsets from start() (just before the load begins); to_off 0 = open. */
void pprof_probe_set_window_offsets(struct pprof_probe *pp, uint64_t from_off_ns,
                                    uint64_t to_off_ns);

/* The CPU profile as a flame after stop(), or NULL when it could not be taken. */
const struct flame *pprof_probe_flame(const struct pprof_probe *pp);

/* Names the files written from the flame (strings copied; NULL leaves one out). */
void pprof_probe_set_files(struct pprof_probe *pp, const char *folded, const char *svg,
                           const char *speedscope);

/* The probe (name "pprof"). */
struct probe pprof_probe(struct pprof_probe *pp);

#endif
