/*
 * machine — the machine watcher: CPU by mode (steal included), load average, available
 * memory and swap, network bytes and drops, TCP retransmits and listen-queue overflows,
 * pressure stall information, and brunt's own CPU, once per interval from /proc.
 *
 * It also judges the generator: brunt "was the bottleneck" (the run is suspect) when its
 * own CPU reached 90 % of the cores its threads could use, or when the machine had no
 * idle CPU left (under 5 %) for a fifth of the run while brunt took a quarter of it or
 * more (on a shared machine it then starved the target).  Metric names: docs/metrics.md.
 */
#ifndef BRUNT_PROBE_MACHINE_H
#define BRUNT_PROBE_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe/probe.h"

enum machine_figure {
    MF_CPU,        /* % of all CPUs busy */
    MF_CPU_USER,   /* user + nice */
    MF_CPU_SYSTEM, /* system + irq + softirq */
    MF_CPU_IOWAIT,
    MF_CPU_STEAL,
    MF_CPU_IDLE,
    MF_LOAD1,
    MF_MEM_AVAILABLE, /* bytes */
    MF_SWAP_USED,     /* bytes */
    MF_NET_RX,        /* bytes/s, all interfaces */
    MF_NET_TX,
    MF_NET_DROPS,        /* packets/s dropped, rx + tx */
    MF_TCP_RETRANS,      /* segments/s */
    MF_LISTEN_OVERFLOWS, /* /s: accept queue full */
    MF_LISTEN_DROPS,     /* /s */
    MF_CPU_PRESSURE,     /* /proc/pressure/cpu some, % of time */
    MF_MEM_PRESSURE,
    MF_IO_PRESSURE,
    MF_BRUNT_CPU, /* brunt's own CPU, % of one core */
    MF_COUNT
};

struct machine_figure_info {
    const char *metric, *label, *unit;
};
extern const struct machine_figure_info machine_figures[MF_COUNT];

struct machine_probe;

/* threads: brunt's load worker threads (for the bottleneck rule). */
struct machine_probe *machine_probe_new(int threads);
struct probe machine_probe_as_probe(struct machine_probe *mp);

/* Latest interval, for the progress line.  Any thread. */
struct machine_live {
    bool valid;
    double cpu, brunt_cpu;
};
void machine_probe_live(struct machine_probe *mp, struct machine_live *out);

/* After stop(): whether brunt looks like the bottleneck, and why (one sentence). */
bool machine_probe_suspect(const struct machine_probe *mp, char *why, size_t cap);

int machine_define_metrics(void);

#endif
