/*
 * unit_timeout — a timeout on every unit test.
 *
 * Criterion 2.4's own --timeout does not stop a test here (a test blocked in pause() or
 * spinning ran on for ever), so each test process arms its own alarm: Criterion runs
 * every test in a fresh process it starts with BXFI_MAP in the environment, and this
 * constructor runs first in each.  SIGALRM's default action kills the test, which
 * Criterion reports as a crash of that test ("Unexpected signal caught") while the
 * others carry on.  BRUNT_UNIT_TIMEOUT sets the seconds (default 60; the slowest test
 * takes about 2 s).  The runner process itself is not limited (the Makefile puts the
 * whole binary under timeout(1) as well).
 */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void unit_timeout_arm(void)
{
    if (getenv("BXFI_MAP") == NULL) {
        return; /* the runner, not a test */
    }
    const char *s = getenv("BRUNT_UNIT_TIMEOUT");
    long secs = s != NULL ? strtol(s, NULL, 10) : 60;
    alarm(secs > 0 && secs < 86400 ? (unsigned)secs : 60);
}
