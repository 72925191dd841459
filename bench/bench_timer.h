/* A tiny timing harness in the spirit of zstd's programs/benchfn.h: run a
 * function once untimed (warm-up, and to size the repetitions), then time
 * `trials` trials of `reps` calls each and keep the best and the median per
 * call.  Two clocks: CLOCK_MONOTONIC (wall) and CLOCK_THREAD_CPUTIME_ID (CPU
 * of the calling thread).  On a machine shared with other jobs the CPU time
 * is the figure to compare (wall time then counts the time others ran); both
 * are reported.  Header-only, for the bench/ programs; never timed asserts. */
#ifndef BENCH_TIMER_H
#define BENCH_TIMER_H

#include <stdlib.h>
#include <time.h>

typedef struct bench_stat {
    double wall_best, wall_median; /* seconds per call */
    double cpu_best, cpu_median;
    int reps, trials;
} bench_stat;

/* Returns 0 on success; nonzero aborts the measurement. */
typedef int (*bench_fn)(void *arg);

static inline double bench_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Time fn(arg): one warm-up call, then `trials` trials (<= 64) of enough
 * calls that a trial lasts at least min_trial_s.  Returns nonzero when fn
 * failed. */
static inline int bench_run(bench_fn fn, void *arg, int trials, double min_trial_s,
                            bench_stat *out)
{
    double wall[64], cpu[64];
    double t0 = bench_clock(CLOCK_THREAD_CPUTIME_ID);
    if (fn(arg) != 0)
        return 1;
    double once = bench_clock(CLOCK_THREAD_CPUTIME_ID) - t0;
    int reps = once > 0.0 ? (int)(min_trial_s / once) + 1 : 1;
    if (reps > 100000)
        reps = 100000;
    if (trials > 64)
        trials = 64;
    if (trials < 1)
        trials = 1;
    for (int t = 0; t < trials; t++) {
        double w0 = bench_clock(CLOCK_MONOTONIC), c0 = bench_clock(CLOCK_THREAD_CPUTIME_ID);
        for (int r = 0; r < reps; r++)
            if (fn(arg) != 0)
                return 1;
        wall[t] = (bench_clock(CLOCK_MONOTONIC) - w0) / reps;
        cpu[t] = (bench_clock(CLOCK_THREAD_CPUTIME_ID) - c0) / reps;
    }
    qsort(wall, (size_t)trials, sizeof wall[0], bench_cmp_double);
    qsort(cpu, (size_t)trials, sizeof cpu[0], bench_cmp_double);
    out->wall_best = wall[0];
    out->wall_median = wall[trials / 2];
    out->cpu_best = cpu[0];
    out->cpu_median = cpu[trials / 2];
    out->reps = reps;
    out->trials = trials;
    return 0;
}

#endif
