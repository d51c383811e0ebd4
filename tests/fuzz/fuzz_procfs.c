/*
 * libFuzzer target for the /proc and cgroup v2 parsers (probe/procfs): every parser on
 * the same bytes, which are not NUL-terminated (a copy of exactly size bytes, so reading
 * past the length is an ASan error).  Invariants: results are 0 or negative; a parsed
 * cgroup path fits its buffer and is NUL-terminated; a comm is at most 15 bytes.
 *
 * Built by scripts/fuzz.sh; seeds in tests/fuzz/corpus/procfs/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe/procfs.h"

static void check(int ok)
{
    if (!ok) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *b = malloc(size ? size : 1);
    if (b == NULL) {
        return 0;
    }
    memcpy(b, data, size);
    struct procfs_stat st = {0};
    if (procfs_parse_stat(b, size, &st) == 0) {
        check(strlen(st.comm) < sizeof st.comm);
    }
    struct procfs_status ss = {0};
    check(procfs_parse_status(b, size, &ss) <= 0);
    struct procfs_io io = {0};
    check(procfs_parse_io(b, size, &io) <= 0);
    struct procfs_schedstat sc = {0};
    check(procfs_parse_schedstat(b, size, &sc) <= 0);
    char path[64];
    if (procfs_parse_cgroup(b, size, path, sizeof path) == 0) {
        check(memchr(path, '\0', sizeof path) != NULL);
    }
    double d;
    check(procfs_parse_cpu_max(b, size, &d) <= 0);
    uint64_t u;
    check(procfs_parse_max(b, size, &u) <= 0);
    struct procfs_cpu_stat cs = {0};
    check(procfs_parse_cpu_stat(b, size, &cs) <= 0);
    struct procfs_psi psi = {0};
    check(procfs_parse_psi(b, size, &psi) <= 0);
    struct procfs_cpu cpu = {0};
    check(procfs_parse_proc_stat(b, size, &cpu) <= 0);
    struct procfs_meminfo mi = {0};
    check(procfs_parse_meminfo(b, size, &mi) <= 0);
    double l1, l5, l15;
    check(procfs_parse_loadavg(b, size, &l1, &l5, &l15) <= 0);
    struct procfs_netdev nd = {0};
    check(procfs_parse_netdev(b, size, &nd) <= 0);
    check(procfs_snmp_get(b, size, "Tcp", "RetransSegs", &u) <= 0);
    free(b);
    return 0;
}
