/*
 * proctree — which processes a watched target is: the PID table (members and the
 * strangers remembered so they are not looked at again), members joining and leaving,
 * the one readdir of /proc per interval that finds new descendants and name matches,
 * and a target's death (when, how).  See proc.c's opening paragraph for the rules and
 * proc_internal.h for the state.  The probe's thread.
 */
#include "probe/proc_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "analysis/fit.h"
#include "core/clock.h"
#include "probe/procfs.h"
#include "probe/spawn.h"

static uint32_t hash_pid(int pid)
{
    return ((uint32_t)pid * 2654435761u) & (HASH_SIZE - 1);
}

static struct known *known_find(struct proc_probe *pp, int pid, bool insert)
{
    uint32_t h = hash_pid(pid);
    for (uint32_t i = 0; i < HASH_SIZE; i++) {
        struct known *k = &pp->known[(h + i) & (HASH_SIZE - 1)];
        if (k->kind != K_FREE && k->pid == pid) {
            return k;
        }
        if (k->kind == K_FREE) {
            if (!insert) {
                return NULL;
            }
            k->pid = pid;
            return k;
        }
    }
    return NULL;
}

/* Rebuilds the table with members only (strangers forgotten; deletions compacted). */
void proc__known_rebuild(struct proc_probe *pp)
{
    memset(pp->known, 0, HASH_SIZE * sizeof *pp->known);
    pp->n_strangers = 0;
    for (size_t i = 0; i < pp->n_members; i++) {
        struct known *k = known_find(pp, pp->members[i].pid, true);
        if (k != NULL) {
            k->kind = K_MEMBER;
            k->member = (int)i;
        }
    }
}

void proc__member_close(struct member *m)
{
    int *fds[] = {&m->fd_stat, &m->fd_status, &m->fd_io, &m->fd_fd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
    }
}

/* Adds a member; returns its index or -1 (cap, or it vanished). */
int proc__member_add(struct proc_probe *pp, int pid, uint64_t starttime, int target)
{
    if (pp->n_members >= PROC_MEMBERS_MAX) {
        return -1;
    }
    char path[32];
    snprintf(path, sizeof path, "%d", pid);
    int dfd = openat(pp->proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        return -1;
    }
    struct member *m = &pp->members[pp->n_members];
    memset(m, 0, sizeof *m);
    m->pid = pid;
    m->starttime = starttime;
    m->target = target;
    m->fd_stat = openat(dfd, "stat", O_RDONLY | O_CLOEXEC);
    m->fd_status = openat(dfd, "status", O_RDONLY | O_CLOEXEC);
    m->fd_io = openat(dfd, "io", O_RDONLY | O_CLOEXEC);
    m->fd_fd = openat(dfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    close(dfd);
    if (m->fd_stat < 0) {
        proc__member_close(m);
        return -1;
    }
    struct known *k = known_find(pp, pid, true);
    if (k == NULL) {
        proc__member_close(m);
        return -1;
    }
    k->kind = K_MEMBER;
    k->member = (int)pp->n_members;
    pp->targets[target].n_members++;
    pp->targets[target].ever_member = true;
    return (int)pp->n_members++;
}

/* Removes member i (swap with the last); the caller rebuilds the table afterwards. */
void proc__member_del(struct proc_probe *pp, size_t i)
{
    struct member *m = &pp->members[i];
    struct target *t = &pp->targets[m->target];
    t->n_members--;
    t->exits++;
    /* Its CPU up to the last sample was counted; its parent, if a member, will see it
     * all again in its cutime/cstime once it reaps it. */
    struct known *pk = known_find(pp, m->ppid, false);
    if (pk != NULL && pk->kind == K_MEMBER && m->primed) {
        t->dead_user += m->utime + m->cutime;
        t->dead_sys += m->stime + m->cstime;
    }
    proc__member_close(m);
    pp->members[i] = pp->members[pp->n_members - 1];
    pp->n_members--;
}

/* Open file descriptors of a member: getdents over its kept fd directory. */
int proc__read_proc_stat(struct proc_probe *pp, int pid, struct procfs_stat *st)
{
    char path[32], buf[1024];
    snprintf(path, sizeof path, "%d/stat", pid);
    ssize_t n = proc__read_at(pp->proc_fd, path, buf, sizeof buf);
    if (n <= 0) {
        return n < 0 ? (int)n : -EINVAL;
    }
    memset(st, 0, sizeof *st);
    return procfs_parse_stat(buf, (size_t)n, st);
}

static bool comm_matches(const struct target *t, const char *comm)
{
    return t->by_name && strcmp(t->what, comm) == 0;
}

void proc__discover(struct proc_probe *pp)
{
    struct fresh *fresh = pp->fresh;
    size_t n_fresh = 0;
    if (lseek(pp->proc_fd, 0, SEEK_SET) < 0) {
        return;
    }
    int dup_fd = dup(pp->proc_fd);
    if (dup_fd < 0) {
        return;
    }
    DIR *d = fdopendir(dup_fd);
    if (d == NULL) {
        close(dup_fd);
        return;
    }
    rewinddir(d);
    for (size_t i = 0; i < pp->n_members; i++) {
        pp->members[i].seen = false;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9') {
            continue;
        }
        int pid = atoi(de->d_name);
        struct known *k = known_find(pp, pid, false);
        if (k != NULL && k->kind == K_MEMBER) {
            pp->members[k->member].seen = true;
            continue;
        }
        if (k != NULL || pid == pp->self_pid || n_fresh >= FRESH_MAX) {
            continue;
        }
        struct procfs_stat st;
        if (proc__read_proc_stat(pp, pid, &st) < 0 || procfs_stat_ended(&st)) {
            continue;
        }
        fresh[n_fresh].pid = pid;
        fresh[n_fresh].ppid = st.ppid;
        fresh[n_fresh].starttime = st.starttime;
        memcpy(fresh[n_fresh].comm, st.comm, sizeof st.comm);
        fresh[n_fresh].done = false;
        n_fresh++;
    }
    closedir(d);
    /* Join trees to a fixpoint: a child may be listed before its new parent. */
    bool changed = true;
    while (changed) {
        changed = false;
        for (size_t i = 0; i < n_fresh; i++) {
            if (fresh[i].done) {
                continue;
            }
            int target = -1;
            struct known *pk = known_find(pp, fresh[i].ppid, false);
            if (pk != NULL && pk->kind == K_MEMBER) {
                target = pp->members[pk->member].target;
            } else {
                for (size_t t = 0; t < pp->n_targets; t++) {
                    if (comm_matches(&pp->targets[t], fresh[i].comm)) {
                        target = (int)t;
                        break;
                    }
                }
            }
            if (target >= 0) {
                int m = proc__member_add(pp, fresh[i].pid, fresh[i].starttime, target);
                if (m >= 0) {
                    pp->members[m].ppid = fresh[i].ppid;
                    pp->members[m].seen = true;
                    pp->members[m].primed = pp->samples == 0; /* born before the first sample */
                }
                fresh[i].done = true;
                changed = true;
            }
        }
    }
    for (size_t i = 0; i < n_fresh; i++) {
        if (!fresh[i].done && pp->n_strangers < STRANGERS_MAX) {
            struct known *k = known_find(pp, fresh[i].pid, true);
            if (k != NULL && k->kind == K_FREE) {
                k->kind = K_STRANGER;
                pp->n_strangers++;
            }
        }
    }
}

void proc__record_death(struct proc_probe *pp, struct target *t, int pid)
{
    if (t->death.died) {
        return;
    }
    t->death.died = true;
    t->death.t_s = -1;
    t->death.pid = pid;
    t->death.wall_ns = clock_wall_ns();
    if (t->sp != NULL && pid == spawn_pid(t->sp)) {
        bool sig;
        int code;
        if (spawn_poll(t->sp, &sig, &code) == 1) {
            t->death.status_known = true;
            t->death.signaled = sig;
            t->death.code = code;
        }
    }
    (void)pp;
}
