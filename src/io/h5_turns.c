/* Turns at HDF5's global lock between the threads of one process
 * (io/result_writer.h): bursts marked, one opening at a time, one run of
 * HDF5 calls at a time. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "io/result_writer.h"

/* Bursts of HDF5 calls in progress: all threads', and the calling
 * thread's own. */
static atomic_int km_h5_bursts;
static _Thread_local int km_h5_bursts_own;

void km_h5_burst_begin(void)
{
    km_h5_bursts_own++;
    atomic_fetch_add_explicit(&km_h5_bursts, 1, memory_order_relaxed);
}

void km_h5_burst_end(void)
{
    km_h5_bursts_own--;
    atomic_fetch_sub_explicit(&km_h5_bursts, 1, memory_order_relaxed);
}

int km_h5_bursts_elsewhere(void)
{
    return atomic_load_explicit(&km_h5_bursts, memory_order_relaxed) - km_h5_bursts_own;
}

/* Openings and runs in progress, the threads waiting to begin one, and
 * the counts for tests, under turn_m; turn_c waits on the monotonic clock
 * (made once: turn_once).  A thread's own opening (own_opening) and run
 * (run_depth > 0, nested pairs counted) are never waited for. */
static pthread_mutex_t turn_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_c;
static pthread_once_t turn_once = PTHREAD_ONCE_INIT;
static int openings, openings_waiting, runs, runs_waiting;
static int64_t opening_waits, opening_timeouts, run_waits, run_timeouts;
static _Thread_local int own_opening, run_depth, run_counted;

static void turn_init(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&turn_c, &a);
    pthread_condattr_destroy(&a);
}

/* turn_m held: another thread's opening or run in progress. */
static int others_busy(void)
{
    return openings - own_opening > 0 || runs - (run_depth > 0) > 0;
}

/* Wait (turn_m held) while others_busy(), at most KM_H5_OPENING_WAIT_MS
 * from now: 0 no wait, 1 waited, 2 waited and the time ran out. */
static int wait_turn(int *waiting)
{
    struct timespec until;
    int rc = 0;
    if (!others_busy())
        return 0;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += KM_H5_OPENING_WAIT_MS * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    if (waiting != NULL)
        (*waiting)++;
    while (others_busy() && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&turn_c, &turn_m, &until);
    if (waiting != NULL)
        (*waiting)--;
    return others_busy() ? 2 : 1;
}

int km_h5_opening_begin(void)
{
    pthread_once(&turn_once, turn_init);
    pthread_mutex_lock(&turn_m);
    int w = wait_turn(&openings_waiting);
    opening_waits += w > 0;
    opening_timeouts += w == 2;
    openings++;
    own_opening = 1;
    pthread_mutex_unlock(&turn_m);
    km_h5_burst_begin();
    return w > 0;
}

void km_h5_opening_end(void)
{
    km_h5_burst_end();
    pthread_mutex_lock(&turn_m);
    openings--;
    own_opening = 0;
    pthread_cond_broadcast(&turn_c);
    pthread_mutex_unlock(&turn_m);
}

void km_h5_opening_counts(int *in_progress, int *waiting, int64_t *waits, int64_t *timeouts)
{
    pthread_mutex_lock(&turn_m);
    *in_progress = openings;
    *waiting = openings_waiting;
    *waits = opening_waits;
    *timeouts = opening_timeouts;
    pthread_mutex_unlock(&turn_m);
}

int km_h5_run_begin(void)
{
    if (run_depth++ > 0 || own_opening)
        return 0;
    pthread_once(&turn_once, turn_init);
    pthread_mutex_lock(&turn_m);
    run_depth = 0; /* not yet one of `runs` */
    int w = wait_turn(&runs_waiting);
    run_depth = 1;
    run_counted = 1;
    run_waits += w > 0;
    run_timeouts += w == 2;
    runs++;
    pthread_mutex_unlock(&turn_m);
    return w > 0;
}

void km_h5_run_end(void)
{
    if (--run_depth > 0 || !run_counted)
        return;
    run_counted = 0;
    pthread_mutex_lock(&turn_m);
    runs--;
    pthread_cond_broadcast(&turn_c);
    pthread_mutex_unlock(&turn_m);
}

void km_h5_run_counts(int *in_progress, int *waiting, int64_t *waits, int64_t *timeouts)
{
    pthread_mutex_lock(&turn_m);
    *in_progress = runs;
    *waiting = runs_waiting;
    *waits = run_waits;
    *timeouts = run_timeouts;
    pthread_mutex_unlock(&turn_m);
}
