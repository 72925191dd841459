/* One session's opening at a time (io/result_writer.h,
 * km_h5_opening_begin): km_process waits while another thread's opening is
 * in progress, at most KM_H5_OPENING_WAIT_MS, and ends its own opening on
 * every path, failures included. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "io/result_writer.h"
#include "knotmap.h"
#include "test_util.h"

static km_ctx *ctx;
static char dir[64];
static char in[128];

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    km_test_make_dir(dir, sizeof dir, "km-openings-");
    km_test_path(in, sizeof in, dir, "s.h5");
    km_synth_params sp;
    km_synth_params_default(&sp);
    sp.duration_s = 4;
    sp.seed = 3;
    cr_assert_eq(km_synth_write(ctx, &sp, KM_FORMAT_SESSION, in, 1), KM_OK, "%s",
                 km_ctx_last_error(ctx));
}

static void teardown(void)
{
    (void)km_test_remove_dir(dir);
    km_ctx_free(ctx);
}

TestSuite(process_openings, .init = setup, .fini = teardown);

typedef struct counts {
    int in_progress, waiting;
    int64_t waits, timeouts;
} counts;

static counts now(void)
{
    counts c;
    km_h5_opening_counts(&c.in_progress, &c.waiting, &c.waits, &c.timeouts);
    return c;
}

/* A session run on its own thread and context. */
typedef struct run {
    const char *in;
    char out[128];
    km_status st;
    int done; /* under done_m */
} run;

static pthread_mutex_t done_m = PTHREAD_MUTEX_INITIALIZER;

static void *run_main(void *arg)
{
    run *r = arg;
    km_ctx *c = NULL;
    km_process_params p;
    km_process_params_default(&p);
    r->st = km_ctx_create(&c);
    if (r->st == KM_OK)
        r->st = km_process(c, r->in, r->out, &p, NULL);
    km_ctx_free(c);
    pthread_mutex_lock(&done_m);
    r->done = 1;
    pthread_mutex_unlock(&done_m);
    return NULL;
}

static int is_done(run *r)
{
    pthread_mutex_lock(&done_m);
    int d = r->done;
    pthread_mutex_unlock(&done_m);
    return d;
}

static void pause_briefly(void)
{
    struct timespec t = {0, 200000};
    nanosleep(&t, NULL);
}

/* This thread opens (holds the gate) while a session starts on another:
   the session waits for it, and opens once it ends. */
Test(process_openings, a_second_opening_waits_for_the_first)
{
    run r = {in, "", KM_OK, 0};
    km_test_path(r.out, sizeof r.out, dir, "r.h5");
    counts before = now();
    cr_assert_eq(before.in_progress, 0);
    cr_assert_eq(km_h5_opening_begin(), 0, "no other opening: no wait");
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, run_main, &r), 0);
    while (now().waits == before.waits && !is_done(&r))
        pause_briefly();
    counts mid = now();
    km_h5_opening_end();
    pthread_join(th, NULL);
    cr_assert_eq(r.st, KM_OK);
    cr_expect_eq(mid.waits, before.waits + 1, "the session waited for this opening");
    counts after = now();
    cr_expect_eq(after.in_progress, 0);
    cr_expect_eq(after.waiting, 0);
}

/* An opening that lasts (a large text parsed, say) holds the next one
   KM_H5_OPENING_WAIT_MS at most: the session runs to its end while this
   thread still holds the gate. */
Test(process_openings, the_wait_is_bounded)
{
    run r = {in, "", KM_OK, 0};
    km_test_path(r.out, sizeof r.out, dir, "r.h5");
    counts before = now();
    km_h5_opening_begin();
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, run_main, &r), 0);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 120; /* a deadlock's limit, not a speed */
    int joined = pthread_timedjoin_np(th, NULL, &until) == 0;
    km_h5_opening_end();
    if (!joined)
        pthread_join(th, NULL);
    cr_assert(joined, "the session did not end while another opening lasted");
    cr_assert_eq(r.st, KM_OK);
    counts after = now();
    cr_expect_eq(after.waits, before.waits + 1);
    cr_expect_eq(after.timeouts, before.timeouts + 1, "it went on when the wait ran out");
    cr_expect_eq(after.in_progress, 0);
}

/* A session that fails in its opening (no input; a target that is a
   folder) ends it all the same: the next one does not wait. */
Test(process_openings, a_failed_opening_ends)
{
    char missing[128], folder[128];
    km_test_path(missing, sizeof missing, dir, "none.h5");
    km_test_path(folder, sizeof folder, dir, "");
    km_process_params p;
    km_process_params_default(&p);
    counts before = now();
    cr_expect_neq(km_process(ctx, missing, "unused.h5", &p, NULL), KM_OK);
    cr_expect_eq(now().in_progress, 0, "after a missing input");
    cr_expect_neq(km_process(ctx, in, folder, &p, NULL), KM_OK);
    cr_expect_eq(now().in_progress, 0, "after a target that is a folder");
    run r = {in, "", KM_OK, 0};
    km_test_path(r.out, sizeof r.out, dir, "r.h5");
    run_main(&r);
    cr_expect_eq(r.st, KM_OK);
    cr_expect_eq(now().waits, before.waits, "no opening left to wait for");
}

/* This thread holds a run of HDF5 calls (km_h5_run_begin) while a session
   runs on another: the session's runs (its tables made, /params, maps,
   close) wait for it, as its opening does. */
Test(process_openings, a_sessions_runs_wait_for_another_threads_run)
{
    run r = {in, "", KM_OK, 0};
    km_test_path(r.out, sizeof r.out, dir, "r.h5");
    int in_progress, waiting;
    int64_t waits0, waits, timeouts;
    km_h5_run_counts(&in_progress, &waiting, &waits0, &timeouts);
    cr_assert_eq(km_h5_run_begin(), 0);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, run_main, &r), 0);
    do {
        pause_briefly();
        km_h5_run_counts(&in_progress, &waiting, &waits, &timeouts);
    } while (waits == waits0 && !is_done(&r));
    km_h5_run_end();
    pthread_join(th, NULL);
    cr_assert_eq(r.st, KM_OK);
    cr_expect_gt(waits, waits0, "the session's runs did not wait for this one");
}
