/*
 * The /proc and cgroup parsers on text as the kernel writes it (copied from a Debian 12
 * machine), on every prefix of it (never reading past the length, never crashing), and
 * on the traps: a comm with spaces and ')' in it, "max" limits, missing fields.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "probe/procfs.h"

static const char stat_text[] =
    "13447 (a b) c)) R 13444 13444 6930 0 -1 4194304 99 0 7 0 11 22 3 4 20 0 5 0 413676 "
    "3133440 379 18446744073709551615 93928533676032 93928533695913 140730976993072 0 0 0 0 "
    "0 0 0 0 0 17 0 0 0 0 0 0\n";

Test(procfs, stat_fields_after_a_tricky_comm)
{
    struct procfs_stat st = {0};
    cr_assert_eq(procfs_parse_stat(stat_text, strlen(stat_text), &st), 0);
    cr_assert_eq(st.pid, 13447);
    cr_assert_str_eq(st.comm, "a b) c)");
    cr_assert_eq(st.state, 'R');
    cr_assert_eq(st.ppid, 13444);
    cr_assert_eq(st.majflt, 7);
    cr_assert_eq(st.utime, 11);
    cr_assert_eq(st.stime, 22);
    cr_assert_eq(st.cutime, 3);
    cr_assert_eq(st.cstime, 4);
    cr_assert_eq(st.num_threads, 5);
    cr_assert_eq(st.starttime, 413676);
    cr_assert_eq(st.rss_pages, 379);
}

Test(procfs, every_prefix_is_safe)
{
    const char *texts[] = {
        stat_text,
        "Name:\tbrunt\nThreads:\t3\nVmRSS:\t  1024 kB\nRssAnon:\t 512 kB\n"
        "voluntary_ctxt_switches:\t10\nnonvoluntary_ctxt_switches:\t2\n",
        "some avg10=1.50 avg60=0.00 avg300=0.00 total=1234\nfull avg10=0.00 avg60=0.00 "
        "avg300=0.00 total=99\n",
        "cpu  10 1 20 300 4 5 6 7 0 0\ncpu0 5 0 10 150 2 2 3 3 0 0\n",
        "Tcp: RtoAlgorithm RetransSegs\nTcp: 1 42\n",
    };
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        size_t n = strlen(texts[k]);
        for (size_t len = 0; len <= n; len++) {
            char *copy = malloc(len ? len : 1); /* exactly len bytes: ASan sees overreads */
            memcpy(copy, texts[k], len);
            struct procfs_stat st = {0};
            struct procfs_status ss = {0};
            struct procfs_psi psi = {0};
            struct procfs_cpu cpu = {0};
            uint64_t v;
            (void)procfs_parse_stat(copy, len, &st);
            (void)procfs_parse_status(copy, len, &ss);
            (void)procfs_parse_psi(copy, len, &psi);
            (void)procfs_parse_proc_stat(copy, len, &cpu);
            (void)procfs_snmp_get(copy, len, "Tcp", "RetransSegs", &v);
            free(copy);
        }
    }
}

Test(procfs, status_and_io)
{
    const char s[] = "Name:\tx\nVmRSS:\t  2048 kB\nRssAnon:\t    1536 kB\nRssFile:\t 512 kB\n"
                     "Threads:\t4\nvoluntary_ctxt_switches:\t100\n"
                     "nonvoluntary_ctxt_switches:\t7\n";
    struct procfs_status st = {0};
    cr_assert_eq(procfs_parse_status(s, strlen(s), &st), 0);
    cr_assert_eq(st.vm_rss_kb, 2048);
    cr_assert_eq(st.rss_anon_kb, 1536);
    cr_assert_eq(st.threads, 4);
    cr_assert_eq(st.voluntary_ctxt, 100, "the prefix of nonvoluntary does not match");
    cr_assert_eq(st.nonvoluntary_ctxt, 7);
    const char io[] = "rchar: 10\nwchar: 20\nsyscr: 1\nsyscw: 2\nread_bytes: 4096\n"
                      "write_bytes: 8192\ncancelled_write_bytes: 0\n";
    struct procfs_io pio = {0};
    cr_assert_eq(procfs_parse_io(io, strlen(io), &pio), 0);
    cr_assert_eq(pio.read_bytes, 4096);
    cr_assert_eq(pio.write_bytes, 8192);
    cr_assert_eq(procfs_parse_io("", 0, &pio), -EINVAL);
}

Test(procfs, cgroup_limits)
{
    char path[64];
    const char cg[] = "9:name=systemd:/\n4:memory:/x\n0::/system.slice/app.service\n";
    cr_assert_eq(procfs_parse_cgroup(cg, strlen(cg), path, sizeof path), 0);
    cr_assert_str_eq(path, "/system.slice/app.service");
    cr_assert_eq(procfs_parse_cgroup(cg, strlen(cg), path, 8), -ENAMETOOLONG);
    cr_assert_eq(procfs_parse_cgroup("4:memory:/x\n", 12, path, sizeof path), -ENOENT);
    double cores;
    cr_assert_eq(procfs_parse_cpu_max("50000 100000\n", 13, &cores), 0);
    cr_assert_float_eq(cores, 0.5, 1e-12);
    cr_assert_eq(procfs_parse_cpu_max("max 100000\n", 11, &cores), 0);
    cr_assert_float_eq(cores, 0, 1e-12);
    cr_assert_eq(procfs_parse_cpu_max("50000 0\n", 8, &cores), -EINVAL);
    uint64_t b;
    cr_assert_eq(procfs_parse_max("max\n", 4, &b), 0);
    cr_assert_eq(b, 0);
    cr_assert_eq(procfs_parse_max("536870912\n", 10, &b), 0);
    cr_assert_eq(b, 536870912);
    const char cs[] = "usage_usec 100\nuser_usec 60\nsystem_usec 40\nnr_periods 10\n"
                      "nr_throttled 3\nthrottled_usec 2500\n";
    struct procfs_cpu_stat st = {0};
    cr_assert_eq(procfs_parse_cpu_stat(cs, strlen(cs), &st), 0);
    cr_assert_eq(st.nr_throttled, 3);
    cr_assert_eq(st.throttled_usec, 2500);
}

Test(procfs, machine_files)
{
    const char st[] = "cpu  10 1 20 300 4 5 6 7 0 0\ncpu0 5 0 10 150 2 2 3 3 0 0\n"
                      "cpu1 5 1 10 150 2 3 3 4 0 0\nintr 1 2 3\n";
    struct procfs_cpu c = {0};
    cr_assert_eq(procfs_parse_proc_stat(st, strlen(st), &c), 0);
    cr_assert_eq(c.user, 10);
    cr_assert_eq(c.idle, 300);
    cr_assert_eq(c.steal, 7);
    cr_assert_eq(c.n_cpus, 2);
    double l1, l5, l15;
    cr_assert_eq(procfs_parse_loadavg("1.93 2.07 2.10 3/128 999\n", 25, &l1, &l5, &l15), 0);
    cr_assert_float_eq(l1, 1.93, 1e-9);
    const char nd[] = "Inter-|   Receive  |  Transmit\n face |bytes    packets errs drop fifo "
                      "frame compressed multicast|bytes    packets errs drop fifo colls "
                      "carrier compressed\n    lo: 1000 10 0 1 0 0 0 0 2000 20 0 2 0 0 0 0\n"
                      "  eth0: 500 5 0 0 0 0 0 0 700 7 0 0 0 0 0 0\n";
    struct procfs_netdev n = {0};
    cr_assert_eq(procfs_parse_netdev(nd, strlen(nd), &n), 0);
    cr_assert_eq(n.n_ifaces, 2);
    cr_assert_eq(n.rx_bytes, 1500);
    cr_assert_eq(n.tx_bytes, 2700);
    cr_assert_eq(n.rx_drops, 1);
    cr_assert_eq(n.tx_drops, 2);
    const char ns[] = "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 0 12 13\n"
                      "IpExt: InNoRoutes\nIpExt: 0\n";
    uint64_t v = 0;
    cr_assert_eq(procfs_snmp_get(ns, strlen(ns), "TcpExt", "ListenDrops", &v), 0);
    cr_assert_eq(v, 13);
    cr_assert_eq(procfs_snmp_get(ns, strlen(ns), "TcpExt", "Nope", &v), -ENOENT);
    cr_assert_eq(procfs_snmp_get(ns, strlen(ns), "Tcp", "ListenDrops", &v), -ENOENT);
    const char psi[] = "some avg10=91.57 avg60=87.56 avg300=76.13 total=630353283\n"
                       "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
    struct procfs_psi p = {0};
    cr_assert_eq(procfs_parse_psi(psi, strlen(psi), &p), 0);
    cr_assert_float_eq(p.some_avg10, 91.57, 1e-9);
    cr_assert_eq(p.some_total_us, 630353283);
    cr_assert_eq(p.has_full, 1);
}

Test(procfs, overflowing_numbers_are_errors)
{
    const char s[] = "99999999999999999999999 1 2";
    struct procfs_schedstat ss = {0};
    cr_assert_eq(procfs_parse_schedstat(s, strlen(s), &ss), -EINVAL);
    cr_assert_eq(procfs_parse_schedstat("1 2 3\n", 6, &ss), 0);
    cr_assert_eq(ss.wait_ns, 2);
}
