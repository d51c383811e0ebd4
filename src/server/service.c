/*
 * service — the load shaping of `brunt serve` for tests of the tools that watch a
 * server: CPU burned per request (--burn) and a service model of N slots of a fixed
 * service time with a FIFO queue (--service-slots, --service-time), whose capacity is
 * exactly N / service time.  What each means is written in server.h.
 *
 * The service model needs no thread of its own and never blocks a server thread: each
 * slot is its next free time in a min-heap; a request takes the root (the slot free
 * first), and its answer is held, like a delay, until its service ends.  Taking slots
 * in the order requests arrive is FIFO queueing, so the queue is an M/D/c queue.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/rng.h"
#include "server/server_internal.h"

__attribute__((noinline)) uint64_t server_burn_cpu(uint64_t ns)
{
    uint64_t start = clock_thread_cpu_ns();
    uint64_t spent = 0;
    uint64_t x = start;
    while (spent < ns) {
        /* Some 50 µs of integer work between clock reads (a read of the thread CPU
         * clock is a system call, whose samples lose their caller chain), so a profile
         * lands in this function. */
        for (unsigned i = 0; i < 16384; i++) {
            x += RNG_GOLDEN;
            x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
            x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
            x ^= x >> 31;
        }
        __asm__ volatile("" : : "r"(x) : "memory"); /* keep the work */
        spent = clock_thread_cpu_ns() - start;
    }
    return spent;
}

int server__service_init(struct server *t)
{
    pthread_mutex_init(&t->svc_lock, NULL);
    if (t->o.service_slots == 0) {
        return 0;
    }
    t->svc_free = calloc(t->o.service_slots, sizeof *t->svc_free);
    return t->svc_free != NULL ? 0 : -ENOMEM;
}

void server__service_destroy(struct server *t)
{
    free(t->svc_free);
    t->svc_free = NULL;
    pthread_mutex_destroy(&t->svc_lock);
}

uint64_t server__service_admit(struct server *t, uint64_t arrival_ns, uint64_t *wait_ns)
{
    uint64_t *h = t->svc_free;
    size_t n = t->o.service_slots;
    pthread_mutex_lock(&t->svc_lock);
    uint64_t start = h[0] > arrival_ns ? h[0] : arrival_ns;
    uint64_t end = start + t->o.service_time_ns;
    /* The root's new free time is later than before: sift it down. */
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        uint64_t mv = end;
        if (l < n && h[l] < mv) {
            m = l;
            mv = h[l];
        }
        if (r < n && h[r] < mv) {
            m = r;
        }
        if (m == i) {
            break;
        }
        h[i] = h[m];
        i = m;
    }
    h[i] = end;
    pthread_mutex_unlock(&t->svc_lock);
    *wait_ns = start - arrival_ns;
    return end;
}
