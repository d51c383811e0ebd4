/*
 * procfs — parsers for the /proc and cgroup v2 files the watchers read.
 *
 * Pure functions over a caller's buffer: no I/O, no allocation, never past len (the
 * buffer need not be NUL-terminated).  Each returns 0 or -EINVAL when the text is not
 * what the kernel writes; fields a file lacks are left as the caller zeroed them.  Units
 * are the kernel's (clock ticks, kB, microseconds) unless a name says otherwise.
 */
#ifndef BRUNT_PROBE_PROCFS_H
#define BRUNT_PROBE_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* /proc/PID/stat, the fields the process watcher uses. */
struct procfs_stat {
    int pid;
    char comm[16]; /* NUL-terminated, as the kernel truncates it (15 bytes) */
    char state;    /* R S D Z T t X ... */
    int ppid;
    uint64_t majflt;
    uint64_t utime, stime;   /* clock ticks */
    uint64_t cutime, cstime; /* of the children it has waited for, clock ticks */
    int64_t num_threads;
    uint64_t starttime; /* clock ticks after boot */
    uint64_t rss_pages;
};

/* The process has ended: dead, or a zombie with no thread left (a group leader that
 * exited before its other threads shows Z while they run, its times still growing). */
static inline bool procfs_stat_ended(const struct procfs_stat *st)
{
    return st->state == 'X' || (st->state == 'Z' && st->num_threads <= 1);
}
int procfs_parse_stat(const char *buf, size_t len, struct procfs_stat *out);

/* /proc/PID/status. */
struct procfs_status {
    uint64_t vm_rss_kb, rss_anon_kb, rss_file_kb;
    uint64_t threads;
    uint64_t voluntary_ctxt, nonvoluntary_ctxt;
};
int procfs_parse_status(const char *buf, size_t len, struct procfs_status *out);

/* /proc/PID/io. */
struct procfs_io {
    uint64_t rchar, wchar, read_bytes, write_bytes;
};
int procfs_parse_io(const char *buf, size_t len, struct procfs_io *out);

/* /proc/PID/schedstat and /proc/PID/task/TID/schedstat: ns on CPU, ns waiting, slices. */
struct procfs_schedstat {
    uint64_t cpu_ns, wait_ns, slices;
};
int procfs_parse_schedstat(const char *buf, size_t len, struct procfs_schedstat *out);

/*
 * /proc/PID/cgroup: copies the cgroup v2 path (the "0::" line) into out (capacity cap,
 * NUL-terminated).  -ENOENT when there is no v2 line, -ENAMETOOLONG when it does not fit.
 */
int procfs_parse_cgroup(const char *buf, size_t len, char *out, size_t cap);

/* cgroup cpu.max ("max 100000" or "50000 100000"): *cores = quota / period, or 0 for max. */
int procfs_parse_cpu_max(const char *buf, size_t len, double *cores);
/* memory.max and similar: a byte count, or "max" (*bytes = 0). */
int procfs_parse_max(const char *buf, size_t len, uint64_t *bytes);

/* cgroup cpu.stat. */
struct procfs_cpu_stat {
    uint64_t usage_usec, user_usec, system_usec;
    uint64_t nr_periods, nr_throttled, throttled_usec;
};
int procfs_parse_cpu_stat(const char *buf, size_t len, struct procfs_cpu_stat *out);

/* PSI files (/proc/pressure/cpu, cpu.pressure): "some"/"full" totals in µs, avg10 in %. */
struct procfs_psi {
    double some_avg10, full_avg10;
    uint64_t some_total_us, full_total_us;
    int has_full;
};
int procfs_parse_psi(const char *buf, size_t len, struct procfs_psi *out);

/* /proc/stat's aggregate "cpu" line, in clock ticks, and the number of cpuN lines. */
struct procfs_cpu {
    uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
    int n_cpus;
};
int procfs_parse_proc_stat(const char *buf, size_t len, struct procfs_cpu *out);

/* /proc/meminfo, in kB. */
struct procfs_meminfo {
    uint64_t mem_total_kb, mem_available_kb, swap_total_kb, swap_free_kb;
};
int procfs_parse_meminfo(const char *buf, size_t len, struct procfs_meminfo *out);

/* /proc/loadavg. */
int procfs_parse_loadavg(const char *buf, size_t len, double *load1, double *load5, double *load15);

/* /proc/net/dev, summed over every interface (loopback included, as load tests on one
 * machine run over it). */
struct procfs_netdev {
    uint64_t rx_bytes, tx_bytes, rx_drops, tx_drops;
    int n_ifaces;
};
int procfs_parse_netdev(const char *buf, size_t len, struct procfs_netdev *out);

/*
 * /proc/net/snmp and /proc/net/netstat: pairs of "Prefix: names" / "Prefix: values"
 * lines.  Stores in *value the field `name` of the table `prefix` ("Tcp", "RetransSegs").
 * -ENOENT when absent.
 */
int procfs_snmp_get(const char *buf, size_t len, const char *prefix, const char *name,
                    uint64_t *value);

#endif
