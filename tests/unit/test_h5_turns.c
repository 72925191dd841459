/* One run of HDF5 calls at a time (io/result_writer.h, km_h5_run_begin):
 * a run waits while another thread's run or opening is in progress, at
 * most KM_H5_OPENING_WAIT_MS; an opening waits for another thread's run;
 * a thread's nested runs and its runs inside its own opening never wait. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "io/result_writer.h"

typedef struct counts {
    int runs, waiting;
    int64_t waits, timeouts;
} counts;

static counts now(void)
{
    counts c;
    km_h5_run_counts(&c.runs, &c.waiting, &c.waits, &c.timeouts);
    return c;
}

/* Threads waiting now to begin a run (runs = 1) or an opening. */
static int waiting_now(int runs)
{
    int a, w;
    int64_t b, c;
    if (runs)
        return now().waiting;
    km_h5_opening_counts(&a, &w, &b, &c);
    return w;
}

static double clock_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

/* A thread that takes one run (or opening) and records when it got it. */
typedef struct taker {
    int opening;
    double got_ms;
    int waited;
} taker;

static void *take(void *arg)
{
    taker *t = arg;
    if (t->opening) {
        t->waited = km_h5_opening_begin();
        t->got_ms = clock_ms();
        km_h5_opening_end();
    } else {
        t->waited = km_h5_run_begin();
        t->got_ms = clock_ms();
        km_h5_run_end();
    }
    return NULL;
}

/* Hold a run (or an opening) on this thread for `hold_ms` while `t` tries. */
static double held_while(int opening, taker *t, double hold_ms)
{
    pthread_t th;
    if (opening)
        km_h5_opening_begin();
    else
        cr_assert_eq(km_h5_run_begin(), 0, "no other run: no wait");
    cr_assert_eq(pthread_create(&th, NULL, take, t), 0);
    /* Until the other thread waits (2 s at most: it may not), then hold_ms. */
    double t0 = clock_ms();
    while (waiting_now(!t->opening) == 0 && clock_ms() - t0 < 2000.0)
        ;
    t0 = clock_ms();
    while (clock_ms() - t0 < hold_ms)
        ;
    double released = clock_ms();
    if (opening)
        km_h5_opening_end();
    else
        km_h5_run_end();
    pthread_join(th, NULL);
    return released;
}

/* The order of the two is checked unless the wait ran out (this thread
   descheduled past KM_H5_OPENING_WAIT_MS on a loaded machine). */
static int timed_out_since(int64_t before)
{
    return now().timeouts > before;
}

Test(h5_turns, a_run_waits_for_another_threads_run)
{
    counts before = now();
    taker t = {0, 0.0, 0};
    double released = held_while(0, &t, 5.0);
    cr_assert_eq(t.waited, 1);
    if (!timed_out_since(before.timeouts))
        cr_assert_geq(t.got_ms, released - 0.01, "the second run began while the first was held");
    counts after = now();
    cr_expect_eq(after.waits, before.waits + 1);
    cr_expect_eq(after.runs, 0);
}

Test(h5_turns, a_run_waits_for_another_threads_opening_and_the_reverse)
{
    int64_t t0 = now().timeouts, o0;
    int in_progress;
    int64_t waits;
    taker t = {0, 0.0, 0};
    double released = held_while(1, &t, 5.0);
    cr_assert_eq(t.waited, 1);
    if (!timed_out_since(t0))
        cr_assert_geq(t.got_ms, released - 0.01, "the run began during another thread's opening");
    km_h5_opening_counts(&in_progress, &in_progress, &waits, &o0);
    taker o = {1, 0.0, 0};
    released = held_while(0, &o, 5.0);
    cr_assert_eq(o.waited, 1);
    int64_t o1;
    km_h5_opening_counts(&in_progress, &in_progress, &waits, &o1);
    if (o1 == o0)
        cr_assert_geq(o.got_ms, released - 0.01, "the opening began during another thread's run");
}

Test(h5_turns, the_wait_is_bounded)
{
    counts before = now();
    taker t = {0, 0.0, 0};
    double released = held_while(0, &t, 10.0 * KM_H5_OPENING_WAIT_MS);
    cr_assert_eq(t.waited, 1);
    cr_expect_lt(t.got_ms, released, "the run waited for the other to end, past its bound");
    counts after = now();
    cr_expect_eq(after.timeouts, before.timeouts + 1, "it went on when the wait ran out");
}

/* Nested runs count once; runs inside this thread's own opening not at all. */
Test(h5_turns, nested_runs_and_runs_in_the_own_opening_are_free)
{
    counts before = now();
    cr_assert_eq(km_h5_run_begin(), 0);
    cr_assert_eq(km_h5_run_begin(), 0);
    cr_expect_eq(now().runs, 1, "a nested run counted as another");
    km_h5_run_end();
    cr_expect_eq(now().runs, 1, "the inner end released the outer run");
    km_h5_run_end();
    cr_expect_eq(now().runs, 0);
    km_h5_opening_begin();
    cr_assert_eq(km_h5_run_begin(), 0);
    cr_expect_eq(now().runs, 0, "a run inside the own opening counted");
    km_h5_run_end();
    km_h5_opening_end();
    cr_expect_eq(now().waits, before.waits);
}
