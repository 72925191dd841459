/* Signals of the knotmap command: the only place that installs handlers.
 *
 * - SIGXFSZ is ignored for the whole run, so a file-size limit (ulimit -f)
 *   makes write() fail with EFBIG and the writer reports it (exit 74)
 *   instead of the process dying silently with its temporary left behind.
 * - SIGINT/SIGTERM during work: the first asks the contexts to cancel
 *   (the run stops between blocks, exit 130/143); a second one ends the
 *   process at once whatever it is doing, even inside libhdf5: the
 *   temporaries being written are removed (km_remove_temporaries()) and
 *   the process leaves with _exit(128 + signal).  Two signals sent at once
 *   reach the process as one (the kernel keeps one pending SIGINT, not a
 *   count), and `timeout` sends one: so a run still going INTERRUPT_GRACE_S
 *   after the first signal (stuck in an open, in libhdf5, in an fsync) is
 *   ended the same way without waiting for a second.  Handlers may run in
 *   several threads at once: which signal came first is decided by one
 *   atomic exchange.
 * - --deadline SECONDS: an input still in work after that long ends the
 *   process the same way, with a message naming the input and exit 75.
 * - Under a small address-space limit (ulimit -v below 256 MiB, the probe's
 *   KM_CLI_PROBE_SMALL_AS) a SIGSEGV or SIGBUS is taken for a library that
 *   ran out of memory without checking (libhdf5 1.10.8 crashes so in
 *   H5Dcreate2's error path): the temporaries being written are removed and
 *   the process leaves with a message naming the limit, exit 71.  Without
 *   such a limit a crash keeps its default action (a core, for the bug).
 * - A SIGINT or SIGTERM ignored when the command starts stays ignored (no
 *   handler is installed for it, and the probe's child keeps ignoring it):
 *   a shell without job control starts a background job (`knotmap ... &`
 *   in a script) with SIGINT ignored, so that a Ctrl-C meant for the
 *   foreground does not stop it.
 *
 * Handlers use only async-signal-safe calls: write, clock_gettime, alarm,
 * lock-free atomics, km_ctx_cancel (an atomic flag), km_remove_temporaries,
 * _exit. */
#define _XOPEN_SOURCE 700 /* sigaltstack, SA_ONSTACK; POSIX 2008 with it */

#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define DEADLINE_TICK_US 100000 /* the deadline is checked 10 times a second */
#define INTERRUPT_GRACE_S 2      /* a first signal's run has this long to stop */

static km_ctx *volatile g_ctx[KM_CLI_MAX_SLOTS];
static atomic_int g_signal;       /* the first SIGINT/SIGTERM, 0 before */
static atomic_llong g_signal_ns;  /* when it came */
static struct sigaction g_old_int, g_old_term;
static int g_ignored_int, g_ignored_term; /* ignored when the command started */
static int g_alarm_users;         /* interrupt and deadline share SIGALRM */

/* --deadline: per worker slot, the input in work and when it started. */
static long long g_deadline_ns;
static const char *_Atomic g_input[KM_CLI_MAX_SLOTS];
static atomic_llong g_start_ns[KM_CLI_MAX_SLOTS];
static struct sigaction g_old_alrm;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* write(2) of a NUL-terminated string, from a handler. */
static void say(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0')
        n++;
    while (n > 0) {
        ssize_t k = write(STDERR_FILENO, s, n);
        if (k <= 0)
            return;
        s += k;
        n -= (size_t)k;
    }
}

static void say_int(long long v)
{
    char buf[24];
    int i = (int)sizeof buf - 1;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0 && i > 0);
    say(buf + i);
}

static void on_interrupt(int sig)
{
    int none = 0;
    if (!atomic_compare_exchange_strong(&g_signal, &none, sig)) {
        km_remove_temporaries();
        say("knotmap: interrupted again: stopped at once, temporary files removed\n");
        _exit(128 + sig);
    }
    atomic_store(&g_signal_ns, now_ns());
    for (int i = 0; i < KM_CLI_MAX_SLOTS; i++)
        if (g_ctx[i] != NULL)
            km_ctx_cancel(g_ctx[i]);
    if (g_deadline_ns == 0) /* else the deadline's tick looks at the grace too */
        alarm(INTERRUPT_GRACE_S);
}

static void on_alarm(int sig)
{
    long long now = now_ns();
    int first = atomic_load(&g_signal);
    (void)sig;
    if (first != 0 && now - atomic_load(&g_signal_ns) >= INTERRUPT_GRACE_S * 1000000000LL) {
        km_remove_temporaries();
        say("knotmap: interrupted, and still running after the grace of ");
        say_int(INTERRUPT_GRACE_S);
        say(" s: stopped at once, temporary files removed\n");
        _exit(128 + first);
    }
    if (g_deadline_ns == 0)
        return;
    for (int i = 0; i < KM_CLI_MAX_SLOTS; i++) {
        const char *in = atomic_load(&g_input[i]);
        if (in == NULL || now - atomic_load(&g_start_ns[i]) < g_deadline_ns)
            continue;
        km_remove_temporaries();
        say("knotmap: ");
        say(in);
        say(": deadline of ");
        say_int(g_deadline_ns / 1000000000LL);
        if (g_deadline_ns % 1000000000LL != 0) {
            say(".");
            say_int(g_deadline_ns % 1000000000LL / 100000000LL);
        }
        say(" s exceeded: stopped at once, temporary files removed\n");
        _exit(KM_EX_TEMPFAIL);
    }
}

static unsigned long long g_as_limit; /* RLIMIT_AS when a crash handler is set */

static void on_crash(int sig)
{
    km_remove_temporaries();
    say(sig == SIGBUS ? "knotmap: crashed (Bus error)" : "knotmap: crashed (Segmentation fault)");
    say(" under an address-space limit of ");
    say_int((long long)(g_as_limit >> 20));
    say(" MiB (ulimit -v ");
    say_int((long long)(g_as_limit >> 10));
    say("): most likely out of memory in a library that does not check every allocation "
        "(libhdf5); raise the limit. The results in work were not written (temporary files "
        "removed)\n");
    _exit(KM_EX_OSERR);
}

/* Under a small address-space limit: on_crash for SIGSEGV and SIGBUS, on a
 * stack of its own (the crash may be a stack that could not grow). */
static void crash_handler_init(void)
{
    static char stack[64 * 1024];
    struct rlimit as;
    if (getrlimit(RLIMIT_AS, &as) != 0 || as.rlim_cur == RLIM_INFINITY ||
        as.rlim_cur >= (rlim_t)KM_CLI_PROBE_SMALL_AS)
        return;
    g_as_limit = (unsigned long long)as.rlim_cur;
    stack_t ss = {.ss_sp = stack, .ss_size = sizeof stack, .ss_flags = 0};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_crash;
    sa.sa_flags = SA_RESETHAND | (sigaltstack(&ss, NULL) == 0 ? SA_ONSTACK : 0);
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
}

static int ignored(int sig)
{
    struct sigaction sa;
    return sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN;
}

void km_cli_signals_init(void)
{
    signal(SIGXFSZ, SIG_IGN);
    crash_handler_init();
    g_ignored_int = ignored(SIGINT);
    g_ignored_term = ignored(SIGTERM);
}

void km_cli_signals_child(void)
{
    signal(SIGSEGV, SIG_DFL); /* the probe's parent reads the child's crash from its status */
    signal(SIGBUS, SIG_DFL);
    if (!g_ignored_int)
        signal(SIGINT, SIG_DFL);
    if (!g_ignored_term)
        signal(SIGTERM, SIG_DFL);
}

/* SIGALRM goes to on_alarm while the interrupt handlers or a deadline are
 * in place (a count of both); the old handler comes back after the last. */
static int alarm_take(void)
{
    struct sigaction sa;
    if (g_alarm_users++ > 0)
        return 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGALRM, &sa, &g_old_alrm);
}

static void alarm_give(void)
{
    if (g_alarm_users > 0 && --g_alarm_users == 0)
        sigaction(SIGALRM, &g_old_alrm, NULL);
}

void km_cli_interrupt_begin(km_ctx *const *ctxs, int n)
{
    struct sigaction sa;
    for (int i = 0; i < KM_CLI_MAX_SLOTS; i++)
        g_ctx[i] = i < n ? ctxs[i] : NULL;
    alarm_take();
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (!g_ignored_int)
        sigaction(SIGINT, &sa, &g_old_int);
    if (!g_ignored_term)
        sigaction(SIGTERM, &sa, &g_old_term);
}

void km_cli_interrupt_end(void)
{
    if (!g_ignored_int)
        sigaction(SIGINT, &g_old_int, NULL);
    if (!g_ignored_term)
        sigaction(SIGTERM, &g_old_term, NULL);
    if (g_deadline_ns == 0)
        alarm(0); /* the grace timer of a first signal: the run has stopped */
    alarm_give();
    for (int i = 0; i < KM_CLI_MAX_SLOTS; i++)
        g_ctx[i] = NULL;
}

int km_cli_interrupted(void)
{
    return atomic_load(&g_signal);
}

int km_cli_deadline_begin(double seconds)
{
    struct itimerval it;
    if (!(seconds > 0.0))
        return 0;
    g_deadline_ns = seconds > 9e9 ? (long long)9e18 : (long long)(seconds * 1e9 + 0.5);
    if (alarm_take() != 0)
        return -1;
    memset(&it, 0, sizeof it);
    it.it_interval.tv_usec = DEADLINE_TICK_US;
    it.it_value.tv_usec = DEADLINE_TICK_US;
    return setitimer(ITIMER_REAL, &it, NULL);
}

void km_cli_deadline_enter(int slot, const char *input)
{
    if (slot < 0 || slot >= KM_CLI_MAX_SLOTS)
        return;
    if (input != NULL)
        atomic_store(&g_start_ns[slot], now_ns());
    atomic_store(&g_input[slot], input);
}

void km_cli_deadline_end(void)
{
    struct itimerval it;
    if (g_deadline_ns == 0)
        return;
    memset(&it, 0, sizeof it);
    setitimer(ITIMER_REAL, &it, NULL);
    for (int i = 0; i < KM_CLI_MAX_SLOTS; i++)
        atomic_store(&g_input[i], NULL);
    g_deadline_ns = 0;
    if (atomic_load(&g_signal) != 0 && g_alarm_users > 1)
        alarm(INTERRUPT_GRACE_S); /* the tick kept the grace: keep it going */
    alarm_give();
}
