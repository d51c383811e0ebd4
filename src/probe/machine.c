/*
 * machine — the machine watcher (machine.h).  Each file is kept open and read with
 * pread at offset 0 (procfs regenerates seq files on every read from the start), so an
 * interval costs ten small reads and no opens.
 */
#include "probe/machine.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/clock.h"
#include "probe/procfs.h"

#define HISTORY_MAX 604800

const struct machine_figure_info machine_figures[MF_COUNT] = {
    [MF_CPU] = {"machine_cpu", "CPU busy", "%"},
    [MF_CPU_USER] = {"machine_cpu_user", "  user", "%"},
    [MF_CPU_SYSTEM] = {"machine_cpu_system", "  system", "%"},
    [MF_CPU_IOWAIT] = {"machine_cpu_iowait", "  iowait", "%"},
    [MF_CPU_STEAL] = {"machine_cpu_steal", "  steal", "%"},
    [MF_CPU_IDLE] = {"machine_cpu_idle", "  idle", "%"},
    [MF_LOAD1] = {"machine_load1", "load average (1m)", ""},
    [MF_MEM_AVAILABLE] = {"machine_memory_available", "memory available", "B"},
    [MF_SWAP_USED] = {"machine_swap_used", "swap used", "B"},
    [MF_NET_RX] = {"machine_net_rx_bytes", "network received", "B/s"},
    [MF_NET_TX] = {"machine_net_tx_bytes", "network sent", "B/s"},
    [MF_NET_DROPS] = {"machine_net_drops", "packets dropped", "/s"},
    [MF_TCP_RETRANS] = {"machine_tcp_retransmits", "TCP retransmits", "/s"},
    [MF_LISTEN_OVERFLOWS] = {"machine_listen_overflows", "listen overflows", "/s"},
    [MF_LISTEN_DROPS] = {"machine_listen_drops", "listen drops", "/s"},
    [MF_CPU_PRESSURE] = {"machine_cpu_pressure", "cpu pressure", "%"},
    [MF_MEM_PRESSURE] = {"machine_memory_pressure", "memory pressure", "%"},
    [MF_IO_PRESSURE] = {"machine_io_pressure", "io pressure", "%"},
    [MF_BRUNT_CPU] = {"brunt_cpu", "brunt's own CPU", "%"},
};

static const char *const mf_desc[MF_COUNT] = {
    [MF_CPU] = "machine CPU busy, % of all CPUs",
    [MF_CPU_USER] = "machine user + nice CPU, % of all CPUs",
    [MF_CPU_SYSTEM] = "machine system + irq + softirq CPU, % of all CPUs",
    [MF_CPU_IOWAIT] = "machine iowait, % of all CPUs",
    [MF_CPU_STEAL] = "CPU stolen by the hypervisor, % of all CPUs",
    [MF_CPU_IDLE] = "machine idle CPU, % of all CPUs",
    [MF_LOAD1] = "1-minute load average",
    [MF_MEM_AVAILABLE] = "MemAvailable, MiB",
    [MF_SWAP_USED] = "swap in use, MiB",
    [MF_NET_RX] = "MiB received per second, all interfaces",
    [MF_NET_TX] = "MiB sent per second, all interfaces",
    [MF_NET_DROPS] = "packets dropped per second, all interfaces",
    [MF_TCP_RETRANS] = "TCP segments retransmitted per second",
    [MF_LISTEN_OVERFLOWS] = "accept-queue overflows per second (ListenOverflows)",
    [MF_LISTEN_DROPS] = "SYNs dropped at listening sockets per second (ListenDrops)",
    [MF_CPU_PRESSURE] = "/proc/pressure/cpu some, % of time",
    [MF_MEM_PRESSURE] = "/proc/pressure/memory some, % of time",
    [MF_IO_PRESSURE] = "/proc/pressure/io some, % of time",
    [MF_BRUNT_CPU] = "brunt's own CPU, % of one core",
};

static int g_mid[MF_COUNT];
static bool g_mdefined;

int machine_define_metrics(void)
{
    for (int f = 0; f < MF_COUNT; f++) {
        /* Memory and bytes go in MiB: a trend of plain numbers holds up to 3.6 million. */
        int id =
            metric_define(machine_figures[f].metric, METRIC_TREND, CONTAINS_DEFAULT, mf_desc[f]);
        if (id < 0) {
            return id;
        }
        g_mid[f] = id;
    }
    g_mdefined = true;
    return 0;
}

enum { F_STAT, F_LOADAVG, F_MEMINFO, F_NETDEV, F_SNMP, F_NETSTAT, F_PCPU, F_PMEM, F_PIO, F_N };
static const char *const paths[F_N] = {
    "/proc/stat",         "/proc/loadavg",         "/proc/meminfo",
    "/proc/net/dev",      "/proc/net/snmp",        "/proc/net/netstat",
    "/proc/pressure/cpu", "/proc/pressure/memory", "/proc/pressure/io",
};

struct prev {
    struct procfs_cpu cpu;
    struct procfs_netdev net;
    uint64_t retrans, overflows, drops;
    uint64_t psi[3];
    double brunt_s;
};

struct machine_probe {
    int fds[F_N];
    int threads;
    int n_cpus;
    bool primed;
    uint64_t prev_ns;
    struct prev prev;
    char *buf; /* 64 KiB: /proc/net/netstat is a few kB, /proc/stat grows with CPUs */
    double *hist[MF_COUNT];
    uint64_t *wall;
    size_t n, cap;
    pthread_mutex_t mu;
    struct machine_live live;
    char unavailable[F_N][64];
    size_t n_unavailable;
};

#define BUF_CAP 65536

struct machine_probe *machine_probe_new(int threads)
{
    struct machine_probe *mp = calloc(1, sizeof *mp);
    if (mp == NULL || (mp->buf = malloc(BUF_CAP)) == NULL) {
        free(mp);
        return NULL;
    }
    for (int i = 0; i < F_N; i++) {
        mp->fds[i] = -1;
    }
    mp->threads = threads > 0 ? threads : 1;
    pthread_mutex_init(&mp->mu, NULL);
    return mp;
}

static ssize_t rd(struct machine_probe *mp, int f)
{
    if (mp->fds[f] < 0) {
        return -1;
    }
    ssize_t n;
    do {
        n = pread(mp->fds[f], mp->buf, BUF_CAP - 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n >= 0) {
        mp->buf[n] = '\0';
    }
    return n;
}

static int machine_start(void *self, char *err, size_t err_len)
{
    struct machine_probe *mp = self;
    int rc;
    if (!g_mdefined && (rc = machine_define_metrics()) < 0) {
        snprintf(err, err_len, "machine watcher: cannot define its metrics: %s", strerror(-rc));
        return rc;
    }
    for (int i = 0; i < F_N; i++) {
        mp->fds[i] = open(paths[i], O_RDONLY | O_CLOEXEC);
        if (mp->fds[i] < 0 && mp->n_unavailable < F_N) {
            snprintf(mp->unavailable[mp->n_unavailable++], sizeof mp->unavailable[0], "%s (%s)",
                     paths[i], strerror(errno));
        }
    }
    if (mp->fds[F_STAT] < 0) {
        snprintf(err, err_len, "machine watcher: cannot read /proc/stat");
        return -ENOENT;
    }
    return 0;
}

static double brunt_cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) < 0) {
        return NAN;
    }
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void machine_sample(void *self, uint64_t now_ns, struct registry *reg)
{
    struct machine_probe *mp = self;
    double v[MF_COUNT];
    for (int f = 0; f < MF_COUNT; f++) {
        v[f] = NAN;
    }
    double dt = (double)(now_ns - mp->prev_ns) / 1e9;
    struct prev cur = {0};
    ssize_t n;
    bool have_cpu =
        (n = rd(mp, F_STAT)) > 0 && procfs_parse_proc_stat(mp->buf, (size_t)n, &cur.cpu) == 0;
    if (have_cpu && mp->primed) {
        const struct procfs_cpu *a = &mp->prev.cpu, *b = &cur.cpu;
        double user = (double)(b->user - a->user + b->nice - a->nice);
        double sys = (double)(b->system - a->system + b->irq - a->irq + b->softirq - a->softirq);
        double idle = (double)(b->idle - a->idle);
        double iow = (double)(b->iowait - a->iowait);
        double steal = (double)(b->steal - a->steal);
        double total = user + sys + idle + iow + steal;
        if (total > 0) {
            v[MF_CPU_USER] = user / total * 100;
            v[MF_CPU_SYSTEM] = sys / total * 100;
            v[MF_CPU_IDLE] = idle / total * 100;
            v[MF_CPU_IOWAIT] = iow / total * 100;
            v[MF_CPU_STEAL] = steal / total * 100;
            v[MF_CPU] = (user + sys + steal) / total * 100;
        }
    }
    if (have_cpu && cur.cpu.n_cpus > 0) {
        mp->n_cpus = cur.cpu.n_cpus;
    }
    double l1, l5, l15;
    if ((n = rd(mp, F_LOADAVG)) > 0 &&
        procfs_parse_loadavg(mp->buf, (size_t)n, &l1, &l5, &l15) == 0) {
        v[MF_LOAD1] = l1;
    }
    struct procfs_meminfo mi = {0};
    if ((n = rd(mp, F_MEMINFO)) > 0 && procfs_parse_meminfo(mp->buf, (size_t)n, &mi) == 0) {
        v[MF_MEM_AVAILABLE] = (double)mi.mem_available_kb * 1024;
        v[MF_SWAP_USED] = (double)(mi.swap_total_kb - mi.swap_free_kb) * 1024;
    }
    bool have_net =
        (n = rd(mp, F_NETDEV)) > 0 && procfs_parse_netdev(mp->buf, (size_t)n, &cur.net) == 0;
    bool have_snmp = (n = rd(mp, F_SNMP)) > 0 &&
                     procfs_snmp_get(mp->buf, (size_t)n, "Tcp", "RetransSegs", &cur.retrans) == 0;
    bool have_netstat =
        (n = rd(mp, F_NETSTAT)) > 0 &&
        procfs_snmp_get(mp->buf, (size_t)n, "TcpExt", "ListenOverflows", &cur.overflows) == 0 &&
        procfs_snmp_get(mp->buf, (size_t)n, "TcpExt", "ListenDrops", &cur.drops) == 0;
    bool have_psi[3];
    for (int i = 0; i < 3; i++) {
        struct procfs_psi psi = {0};
        have_psi[i] =
            (n = rd(mp, F_PCPU + i)) > 0 && procfs_parse_psi(mp->buf, (size_t)n, &psi) == 0;
        cur.psi[i] = psi.some_total_us;
    }
    cur.brunt_s = brunt_cpu_s();
    if (mp->primed && dt > 0) {
        if (have_net) {
            v[MF_NET_RX] = (double)(cur.net.rx_bytes - mp->prev.net.rx_bytes) / dt;
            v[MF_NET_TX] = (double)(cur.net.tx_bytes - mp->prev.net.tx_bytes) / dt;
            v[MF_NET_DROPS] = (double)(cur.net.rx_drops + cur.net.tx_drops - mp->prev.net.rx_drops -
                                       mp->prev.net.tx_drops) /
                              dt;
        }
        if (have_snmp) {
            v[MF_TCP_RETRANS] = (double)(cur.retrans - mp->prev.retrans) / dt;
        }
        if (have_netstat) {
            v[MF_LISTEN_OVERFLOWS] = (double)(cur.overflows - mp->prev.overflows) / dt;
            v[MF_LISTEN_DROPS] = (double)(cur.drops - mp->prev.drops) / dt;
        }
        for (int i = 0; i < 3; i++) {
            if (have_psi[i]) {
                v[MF_CPU_PRESSURE + i] = (double)(cur.psi[i] - mp->prev.psi[i]) / 1e6 / dt * 100;
            }
        }
        if (!isnan(cur.brunt_s) && !isnan(mp->prev.brunt_s)) {
            v[MF_BRUNT_CPU] = (cur.brunt_s - mp->prev.brunt_s) / dt * 100;
        }
    }
    bool first = !mp->primed;
    mp->prev = cur;
    mp->prev_ns = now_ns;
    mp->primed = true;
    if (first) {
        return; /* the deltas are primed; levels alone would skew nothing but add noise */
    }
    for (int f = 0; f < MF_COUNT; f++) {
        if (!isnan(v[f])) {
            int i = registry_get(reg, g_mid[f], "");
            if (i >= 0) {
                double x = v[f] < 0 ? 0 : v[f];
                bool mib = machine_figures[f].unit[0] == 'B';
                series_trend_value(registry_at(reg, i), mib ? x / (1024.0 * 1024.0) : x);
            }
        }
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    probe_history_push(&mp->wall, mp->hist, MF_COUNT, &mp->n, &mp->cap, HISTORY_MAX,
                       (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec, v);
    pthread_mutex_lock(&mp->mu);
    mp->live.valid = true;
    mp->live.cpu = v[MF_CPU];
    mp->live.brunt_cpu = v[MF_BRUNT_CPU];
    pthread_mutex_unlock(&mp->mu);
}

void machine_probe_live(struct machine_probe *mp, struct machine_live *out)
{
    pthread_mutex_lock(&mp->mu);
    *out = mp->live;
    pthread_mutex_unlock(&mp->mu);
}

static void machine_stop(void *self)
{
    (void)self;
}

static void mstats_of(const struct machine_probe *mp, int f, struct probe_stats *s)
{
    probe_stats_of(mp->hist[f], mp->n, s);
}

bool machine_probe_suspect(const struct machine_probe *mp, char *why, size_t cap)
{
    struct probe_stats brunt, cpu;
    mstats_of(mp, MF_BRUNT_CPU, &brunt);
    mstats_of(mp, MF_CPU, &cpu);
    why[0] = '\0';
    if (brunt.n == 0) {
        return false;
    }
    double cores = mp->threads < mp->n_cpus || mp->n_cpus == 0 ? mp->threads : mp->n_cpus;
    if (brunt.avg >= 90 * cores) {
        snprintf(why, cap,
                 "brunt used %.0f%% of a core on average with %d worker thread%s: the generator "
                 "was saturated, so latency and throughput are partly its own",
                 brunt.avg, mp->threads, mp->threads == 1 ? "" : "s");
        return true;
    }
    size_t starved = 0;
    for (size_t i = 0; i < mp->n; i++) {
        starved += !isnan(mp->hist[MF_CPU_IDLE][i]) && mp->hist[MF_CPU_IDLE][i] < 5;
    }
    double share = mp->n_cpus > 0 ? brunt.avg / (mp->n_cpus * 100.0) : 0;
    if (mp->n > 0 && (double)starved >= 0.2 * (double)mp->n && share >= 0.25) {
        snprintf(why, cap,
                 "the machine had under 5%% idle CPU in %zu of %zu intervals while brunt took "
                 "%.0f%% of it: on a shared machine the generator competed with the target",
                 starved, mp->n, share * 100);
        return true;
    }
    return false;
}

static void fmt_mvalue(double v, const char *unit, char *buf, size_t cap)
{
    if (!probe_fmt_scaled(v, unit, buf, cap)) {
        snprintf(buf, cap, "%.2f%s", v, unit);
    }
}

static void machine_summary(void *self, FILE *f, bool color)
{
    struct machine_probe *mp = self;
    const char *bold = color ? "\033[1m" : "", *reset = color ? "\033[0m" : "";
    if (mp->n == 0) {
        return;
    }
    fprintf(f, "\n  %smachine%s (%d CPU%s)\n", bold, reset, mp->n_cpus, mp->n_cpus == 1 ? "" : "s");
    fprintf(f, "    %-22s %10s %10s %10s %10s\n", "", "min", "avg", "p95", "max");
    for (int fi = 0; fi < MF_COUNT; fi++) {
        struct probe_stats s;
        mstats_of(mp, fi, &s);
        if (s.n == 0) {
            continue;
        }
        char a[32], b[32], c[32], d[32];
        const char *u = machine_figures[fi].unit;
        fmt_mvalue(s.min, u, a, sizeof a);
        fmt_mvalue(s.avg, u, b, sizeof b);
        fmt_mvalue(s.p95, u, c, sizeof c);
        fmt_mvalue(s.max, u, d, sizeof d);
        fprintf(f, "    %-22s %10s %10s %10s %10s\n", machine_figures[fi].label, a, b, c, d);
    }
    struct probe_stats brunt;
    mstats_of(mp, MF_BRUNT_CPU, &brunt);
    if (brunt.n > 0 && mp->n_cpus > 0) {
        fprintf(f, "    the generator took %.1f%% of the machine's CPU on average\n",
                brunt.avg / mp->n_cpus);
    }
    char why[320];
    if (machine_probe_suspect(mp, why, sizeof why)) {
        fprintf(f, "    %ssuspect run%s: %s\n", bold, reset, why);
    }
    for (size_t i = 0; i < mp->n_unavailable; i++) {
        fprintf(f, "    unavailable: %s\n", mp->unavailable[i]);
    }
}

static size_t machine_findings(void *self, struct finding *out, size_t cap);

static int machine_json(void *self, struct jsonw *w)
{
    struct machine_probe *mp = self;
    struct finding found;
    size_t nf = machine_findings(self, &found, 1);
    jsonw_obj_begin(w);
    jsonw_key(w, "findings");
    probe_findings_json(w, &found, nf);
    jsonw_key(w, "cpus");
    jsonw_int(w, mp->n_cpus);
    char why[320];
    bool suspect = machine_probe_suspect(mp, why, sizeof why);
    jsonw_key(w, "generator_suspect");
    jsonw_bool(w, suspect);
    jsonw_key(w, "generator_suspect_reason");
    jsonw_str(w, suspect ? why : NULL);
    jsonw_key(w, "unavailable");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < mp->n_unavailable; i++) {
        jsonw_str(w, mp->unavailable[i]);
    }
    jsonw_arr_end(w);
    jsonw_key(w, "summary");
    jsonw_obj_begin(w);
    for (int f = 0; f < MF_COUNT; f++) {
        struct probe_stats s;
        mstats_of(mp, f, &s);
        jsonw_key(w, machine_figures[f].metric);
        probe_stats_json(w, &s);
    }
    jsonw_obj_end(w);
    jsonw_key(w, "series");
    jsonw_obj_begin(w);
    jsonw_key(w, "wall_ms");
    jsonw_arr_begin(w);
    for (size_t k = 0; k < mp->n; k++) {
        jsonw_uint(w, mp->wall[k] / 1000000);
    }
    jsonw_arr_end(w);
    for (int f = 0; f < MF_COUNT; f++) {
        jsonw_key(w, machine_figures[f].metric);
        jsonw_arr_begin(w);
        for (size_t k = 0; k < mp->n; k++) {
            double v = mp->hist[f][k];
            if (isnan(v)) {
                jsonw_null(w);
            } else {
                jsonw_num(w, v);
            }
        }
        jsonw_arr_end(w);
    }
    jsonw_obj_end(w);
    jsonw_obj_end(w);
    return jsonw_error(w);
}

static size_t machine_findings(void *self, struct finding *out, size_t cap)
{
    struct machine_probe *mp = self;
    char why[320];
    if (cap == 0 || !machine_probe_suspect(mp, why, sizeof why)) {
        return 0;
    }
    memset(out, 0, sizeof *out);
    out->severity = FINDING_WARNING;
    snprintf(out->probe, sizeof out->probe, "machine");
    snprintf(out->kind, sizeof out->kind, "generator_bottleneck");
    snprintf(out->location, sizeof out->location, "brunt");
    snprintf(out->evidence, sizeof out->evidence, "%s", why);
    snprintf(out->recommendation, sizeof out->recommendation,
             "run brunt on another machine, or give it more threads (-t) and CPUs");
    out->impact = -1;
    return 1;
}

static void machine_free(void *self)
{
    struct machine_probe *mp = self;
    for (int i = 0; i < F_N; i++) {
        if (mp->fds[i] >= 0) {
            close(mp->fds[i]);
        }
    }
    for (int f = 0; f < MF_COUNT; f++) {
        free(mp->hist[f]);
    }
    free(mp->wall);
    free(mp->buf);
    pthread_mutex_destroy(&mp->mu);
    free(mp);
}

static const struct probe_ops machine_ops = {
    .name = "machine",
    .start = machine_start,
    .sample = machine_sample,
    .stop = machine_stop,
    .summary = machine_summary,
    .to_json = machine_json,
    .findings = machine_findings,
    .free = machine_free,
};

struct probe machine_probe_as_probe(struct machine_probe *mp)
{
    return (struct probe){&machine_ops, mp};
}
