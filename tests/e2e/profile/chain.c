/*
 * chain — the ground truth of the DWARF unwinding test: all of its CPU in
 * brunt_test_chain_c, called as main -> brunt_test_chain_a -> brunt_test_chain_b ->
 * brunt_test_chain_c.  Built by the test WITHOUT frame pointers (-O2
 * -fomit-frame-pointer; -fno-optimize-sibling-calls and the work after each call keep
 * the calls real calls), so that a frame-pointer chain loses the callers and only the
 * CFI (.eh_frame) can recover them.  Ends after 60 s (alarm) or when its parent ends.
 */
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

static volatile unsigned long sink;

__attribute__((noinline)) void brunt_test_chain_c(long n)
{
    unsigned long x = sink;
    for (long i = 0; i < n; i++) {
        x = x * 6364136223846793005ul + 1442695040888963407ul;
    }
    sink = x;
}

__attribute__((noinline)) void brunt_test_chain_b(long n)
{
    brunt_test_chain_c(n);
    sink += 1;
}

__attribute__((noinline)) void brunt_test_chain_a(long n)
{
    brunt_test_chain_b(n);
    sink += 2;
}

int main(void)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    alarm(60);
    for (;;) {
        brunt_test_chain_a(100000);
    }
}
