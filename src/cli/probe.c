/* The probe: an input that a third-party parser reads (libhdf5, libsndfile)
 * opened first in a short-lived child process.
 *
 * libhdf5 (1.10.8) can still crash (SIGSEGV in its object-header parser) or
 * loop on some crafted files (tests/fuzz/libhdf5/), and libsndfile (1.2.0)
 * loops in sf_open on some crafted WAV files (tests/fuzz/libsndfile/),
 * before any check of knotmap's can look at the bytes.  So every command
 * that reads files (process, info, render, report, eval) opens each HDF5 or
 * audio input once in a child: it reads the file's structure as the command
 * will (root attributes, /frames, /time, /mask and the first frame of a
 * session; everything `info` summarises of a result; an audio file's header
 * and first frame), then exits.  A child that dies
 * by a signal or passes its time limit means the file is refused with exit
 * 65 (75 when the limit was --deadline) before the command itself opens it;
 * 71 when it crashed under a small address-space limit (ulimit -v): libhdf5
 * does not check every allocation, so running out of memory there is a
 * SIGSEGV too.
 * Its verdict also says whether the input is a knotmap result, so
 * process and info need not open it once more to ask; it comes as one byte
 * on a pipe written when everything was read, so the command goes on while
 * the child is still exiting (a crash or a timeout closes the pipe without
 * it: then the child's fate is waited for).
 * Other inputs are not probed (their readers are knotmap's own).
 *
 * The library never forks: this lives in the command only.  Python's
 * knotmap.batch isolates every session in a child process of its own. */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "cli.h"

/* The child's verdict on "is it a knotmap result?", as its exit status,
 * so the command does not open the file once more to ask (a few ms of
 * serial start-up); any other status means "not known". */
enum { PROBE_SESSION = 10, PROBE_RESULT = 11 };

/* What the child reads; it exits with PROBE_* or 0 whatever it finds (the
 * command's own open reports the errors, with their messages). */
/* The verdict written to the command (one byte on the pipe, when there is
 * one), then the exit with it: the command goes on as soon as it has the
 * byte, while this process is still being torn down. */
static void child_exit(int fd, int code)
{
    unsigned char v = (unsigned char)code;
    if (fd >= 0 && write(fd, &v, 1) != 1)
        _exit(0);
    _exit(code);
}

static void probe_child(const char *path, const km_read_options *ro, double limit,
                        int session_first, int fd)
{
    km_ctx *ctx = NULL;
    km_reader *r = NULL;
    km_session_info in;
    km_read_options dflt;
    struct itimerval it;
    int yes = 0;

    /* The parent does the talking: nothing of the child reaches the terminal
       (not even a sanitizer's report of libhdf5's fault: its fate says it). */
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        close(null);
    }
    km_cli_signals_child(); /* SIGINT, SIGTERM: default, or ignored as the command's */
    signal(SIGALRM, SIG_DFL);
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the command */
#endif
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = (time_t)limit;
    it.it_value.tv_usec = (suseconds_t)((limit - (double)(time_t)limit) * 1e6);
    if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0)
        it.it_value.tv_usec = 1;
    setitimer(ITIMER_REAL, &it, NULL);
    if (km_ctx_create(&ctx) != KM_OK)
        child_exit(fd, 0);
    km_read_options_default(&dflt);
    /* A file the session reader opens has schema "knotmap-session": not a
       result, so the result check (one more open of the file) is only
       needed when that open fails. */
    int opened = session_first && km_reader_open(ctx, path, ro != NULL ? ro : &dflt, &r) == KM_OK;
    if (opened)
        km_reader_info(r, &in);
    int known = opened && in.format == KM_FORMAT_SESSION;
    if (!known)
        known = km_is_result_file(ctx, path, &yes) == KM_OK;
    if (yes) {
        km_result_info *ri = malloc(sizeof *ri);
        if (ri != NULL)
            km_result_info_read(ctx, path, ri);
        child_exit(fd, PROBE_RESULT);
    }
    if (!opened) {
        if (session_first || km_reader_open(ctx, path, ro != NULL ? ro : &dflt, &r) != KM_OK)
            child_exit(fd, 0); /* session_first: that open failed already */
        km_reader_info(r, &in);
    }
    /* The first frame's chunk fetched from the file, not inflated when
       knotmap inflates it (its own code, not libhdf5's). */
    km_reader_probe(ctx, r);
    km_reader_free(r);
    child_exit(fd, known ? PROBE_SESSION : 0);
}

/* A probe child that gave its verdict and is still exiting: reaped at the
 * next probe (a zombie until then, or until the command exits). */
static pid_t pending = -1;

static void reap_pending(void)
{
    if (pending > 0)
        while (waitpid(pending, NULL, 0) < 0 && errno == EINTR)
            ;
    pending = -1;
}

/* The child's verdict: PROBE_* or 0. */
static void take_verdict(int code, int *is_result)
{
    if (is_result != NULL && (code == PROBE_SESSION || code == PROBE_RESULT))
        *is_result = code == PROBE_RESULT;
}

/* The refusal of an input whose probe child died of signal `sig`: a damaged
 * or hostile file (65), or, under a small address-space limit, most likely
 * libhdf5 out of memory (71). */
static int refuse_crash(const char *path, const char *what, int sig)
{
    struct rlimit as;
    if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY &&
        as.rlim_cur < (rlim_t)KM_CLI_PROBE_SMALL_AS) {
        km_cli_error("%s: reading %s crashed (%s) under an address-space limit of %llu MiB "
                     "(ulimit -v %llu): most likely out of memory; raise the limit (or the file "
                     "is damaged)",
                     path, what, strsignal(sig), (unsigned long long)(as.rlim_cur >> 20),
                     (unsigned long long)(as.rlim_cur >> 10));
        return KM_EX_OSERR;
    }
    km_cli_error("%s: reading %s crashed (%s): a damaged or hostile file; refused", path, what,
                 strsignal(sig));
    return KM_EX_DATAERR;
}

int km_cli_probe(const char *path, const km_read_options *ro, double deadline, int *is_result,
                 int session_first)
{
    int is_hdf5 = 0, st = 0, fds[2] = {-1, -1};
    km_format fmt = KM_FORMAT_AUTO;
    if (is_result != NULL)
        *is_result = -1;
    reap_pending();
    double limit = deadline > 0.0 && deadline < KM_CLI_PROBE_SECONDS ? deadline
                                                                     : KM_CLI_PROBE_SECONDS;
    if (km_is_hdf5_file(NULL, path, &is_hdf5) != KM_OK ||
        (!is_hdf5 && (km_reader_format(NULL, path, ro, &fmt) != KM_OK || fmt != KM_FORMAT_AUDIO)))
        return KM_EX_OK; /* a result is HDF5: the command asks when it must */
    /* What the child reads, for the refusal. */
    const char *what = is_hdf5 ? "the file's HDF5 structure" : "the audio file (libsndfile)";
    fflush(NULL); /* the child must not write the parent's buffered output again */
    if (pipe2(fds, O_CLOEXEC) != 0)
        fds[0] = fds[1] = -1; /* the exit status alone says it */
    pid_t pid = fork();
    if (pid == 0) {
        if (fds[0] >= 0)
            close(fds[0]);
        probe_child(path, ro, limit, session_first, fds[1]);
    }
    if (fds[1] >= 0)
        close(fds[1]);
    if (pid < 0) {
        if (fds[0] >= 0)
            close(fds[0]);
        return KM_EX_OK; /* no process to spare: the command reads it itself */
    }
    /* libhdf5's start-up (not before the fork: the child starts its own)
       while the child reads. */
    km_hdf5_start();
    /* The byte comes only after everything was read: a child that crashed or
       ran out of time closes the pipe without it, and its fate is waited
       for below. */
    unsigned char v = 0;
    ssize_t got = -1;
    if (fds[0] >= 0) {
        do
            got = read(fds[0], &v, 1);
        while (got < 0 && errno == EINTR);
        close(fds[0]);
    }
    if (got == 1) {
        take_verdict(v, is_result);
        if (waitpid(pid, &st, WNOHANG) == 0)
            pending = pid;
        return KM_EX_OK;
    }
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return KM_EX_OK;
    if (!WIFSIGNALED(st)) {
        if (WIFEXITED(st))
            take_verdict(WEXITSTATUS(st), is_result);
        return KM_EX_OK;
    }
    int sig = WTERMSIG(st);
    if (sig == SIGINT || sig == SIGTERM) /* Ctrl-C reached the child too */
        return 128 + sig;
    if (sig == SIGALRM && limit == deadline) {
        km_cli_error("%s: deadline of %g s exceeded while reading %s: refused", path, deadline,
                     what);
        return KM_EX_TEMPFAIL;
    }
    if (sig == SIGALRM) {
        km_cli_error("%s: reading %s did not end within %d s: a damaged or hostile file; "
                     "refused",
                     path, what, KM_CLI_PROBE_SECONDS);
        return KM_EX_DATAERR;
    }
    return refuse_crash(path, what, sig);
}

int km_cli_bounded(const char *input, const char *second_input, double deadline,
                   int (*work)(void *user), void *user)
{
    if (km_cli_deadline_begin(deadline) != 0) {
        km_cli_error("cannot set the --deadline timer");
        return KM_EX_OSERR;
    }
    km_cli_deadline_enter(0, input);
    int rc = km_cli_probe(input, NULL, deadline, NULL, 0);
    if (rc == KM_EX_OK && second_input != NULL) {
        km_cli_deadline_enter(0, second_input);
        rc = km_cli_probe(second_input, NULL, deadline, NULL, 0);
        km_cli_deadline_enter(0, input);
    }
    if (rc == KM_EX_OK)
        rc = work(user);
    km_cli_deadline_enter(0, NULL);
    km_cli_deadline_end();
    return rc;
}
