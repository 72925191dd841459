/* Bursts of HDF5 calls (io/result_writer.h, km_h5_burst_begin): km_process
 * writes /params during the frames only when no other thread is in a burst,
 * else after the last frame, and always the values of the open (the peaks'
 * threshold before the warm-up makes it the floor's); an existing target's
 * schema is read at the open when alone, else with /params, and a file of
 * another kind is still never replaced. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <hdf5.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic_out.h"
#include "io/result_writer.h"
#include "knotmap.h"
#include "pipeline/engine_internal.h"
#include "test_util.h"

static km_ctx *ctx;
static char dir[64];

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    km_test_make_dir(dir, sizeof dir, "km-bursts-");
}

static void teardown(void)
{
    (void)km_test_remove_dir(dir);
    km_ctx_free(ctx);
}

TestSuite(process_bursts, .init = setup, .fini = teardown);

/* Another session's thread: in a burst from `begin` until `end` is set. */
typedef struct {
    pthread_mutex_t m;
    pthread_cond_t c;
    int in_burst, end;
} other_session;

static void *other_main(void *arg)
{
    other_session *o = arg;
    km_h5_burst_begin();
    pthread_mutex_lock(&o->m);
    o->in_burst = 1;
    pthread_cond_broadcast(&o->c);
    while (!o->end)
        pthread_cond_wait(&o->c, &o->m);
    pthread_mutex_unlock(&o->m);
    km_h5_burst_end();
    return NULL;
}

/* Another session's thread, in a burst once this returns. */
static void other_start(other_session *o, pthread_t *th)
{
    cr_assert_eq(pthread_create(th, NULL, other_main, o), 0);
    pthread_mutex_lock(&o->m);
    while (!o->in_burst)
        pthread_cond_wait(&o->c, &o->m);
    pthread_mutex_unlock(&o->m);
}

static void other_stop(other_session *o, pthread_t th)
{
    pthread_mutex_lock(&o->m);
    o->end = 1;
    pthread_cond_broadcast(&o->c);
    pthread_mutex_unlock(&o->m);
    pthread_join(th, NULL);
}

Test(process_bursts, counted_per_thread)
{
    other_session o = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    pthread_t th;
    cr_assert_eq(km_h5_bursts_elsewhere(), 0);
    km_h5_burst_begin();
    cr_expect_eq(km_h5_bursts_elsewhere(), 0, "the caller's own burst is not elsewhere");
    cr_assert_eq(pthread_create(&th, NULL, other_main, &o), 0);
    pthread_mutex_lock(&o.m);
    while (!o.in_burst)
        pthread_cond_wait(&o.c, &o.m);
    cr_expect_eq(km_h5_bursts_elsewhere(), 1);
    o.end = 1;
    pthread_cond_broadcast(&o.c);
    pthread_mutex_unlock(&o.m);
    pthread_join(th, NULL);
    cr_expect_eq(km_h5_bursts_elsewhere(), 0);
    km_h5_burst_end();
    cr_expect_eq(km_h5_bursts_elsewhere(), 0);
}

/* Attribute `name` of g as text: a string's value, else its stored bytes
 * in hex. */
static void attr_text(hid_t g, const char *name, char *buf, size_t cap)
{
    hid_t a = H5Aopen(g, name, H5P_DEFAULT), t = H5Aget_type(a);
    cr_assert(a >= 0 && t >= 0, "%s", name);
    size_t n = H5Tget_size(t);
    if (H5Tis_variable_str(t) > 0) {
        char *s = NULL;
        cr_assert_geq(H5Aread(a, t, &s), 0);
        snprintf(buf, cap, "%s", s);
        H5free_memory(s);
    } else {
        unsigned char raw[64];
        cr_assert(n <= sizeof raw && H5Aread(a, t, raw) >= 0, "%s", name);
        for (size_t i = 0; i < n && 2 * i + 2 < cap; i++)
            snprintf(buf + 2 * i, 3, "%02x", raw[i]);
    }
    H5Tclose(t);
    H5Aclose(a);
}

static herr_t count_one(hid_t loc, const char *name, const H5A_info_t *info, void *n)
{
    (void)loc;
    (void)name;
    (void)info;
    (*(int *)n)++;
    return 0;
}

/* Every attribute of group `group` of b is a's, with a's value, and no
 * more; a has more than `least`. */
static void same_attrs(const char *a, const char *b, const char *group, int least)
{
    hid_t fa = H5Fopen(a, H5F_ACC_RDONLY, H5P_DEFAULT), fb = H5Fopen(b, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ga = H5Gopen2(fa, group, H5P_DEFAULT), gb = H5Gopen2(fb, group, H5P_DEFAULT);
    cr_assert(ga >= 0 && gb >= 0, "%s", group);
    int na = 0, nb = 0;
    H5Aiterate2(ga, H5_INDEX_NAME, H5_ITER_INC, NULL, count_one, &na);
    H5Aiterate2(gb, H5_INDEX_NAME, H5_ITER_INC, NULL, count_one, &nb);
    cr_assert_gt(na, least, "%s: %d attributes", group, na);
    cr_assert_eq(nb, na);
    for (int i = 0; i < na; i++) {
        char name[128] = "", va[512] = "", vb[512] = "";
        H5Aget_name_by_idx(ga, ".", H5_INDEX_NAME, H5_ITER_INC, (hsize_t)i, name, sizeof name,
                           H5P_DEFAULT);
        cr_assert_gt(H5Aexists(gb, name), 0, "%s missing", name);
        attr_text(ga, name, va, sizeof va);
        attr_text(gb, name, vb, sizeof vb);
        cr_expect_str_eq(vb, va, "/%s/%s", group, name);
    }
    H5Gclose(gb);
    H5Gclose(ga);
    H5Fclose(fb);
    H5Fclose(fa);
}

/* A 6 s session (preset, seed) processed alone into dir/alone.h5 and,
 * while another thread stays in a burst for the whole run, into
 * dir/beside.h5, with blocks of block_frames; early[0], early[1]: the
 * warm-up's /params written during the frames by each run. */
static void alone_and_beside(km_synth_difficulty preset, uint64_t seed, int64_t block_frames,
                             char *alone, char *beside, unsigned long early[2])
{
    char in[128];
    km_test_path(in, sizeof in, dir, "s.h5");
    km_test_path(alone, 128, dir, "alone.h5");
    km_test_path(beside, 128, dir, "beside.h5");
    km_synth_params sp;
    km_synth_params_default(&sp);
    km_synth_preset(&sp, preset);
    sp.duration_s = 6;
    sp.seed = seed;
    cr_assert_eq(km_synth_write(ctx, &sp, KM_FORMAT_SESSION, in, 1), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    km_process_params p;
    km_process_params_default(&p);
    p.block_frames = block_frames;
    unsigned long n0 = km_process_warm_params_early();
    cr_assert_eq(km_process(ctx, in, alone, &p, NULL), KM_OK, "%s", km_ctx_last_error(ctx));
    early[0] = km_process_warm_params_early() - n0;
    other_session o = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    pthread_t th;
    other_start(&o, &th);
    km_status st = km_process(ctx, in, beside, &p, NULL);
    other_stop(&o, th);
    cr_assert_eq(st, KM_OK, "%s", km_ctx_last_error(ctx));
    early[1] = km_process_warm_params_early() - n0 - early[0];
}

/* While another thread stays in a burst for the whole run, /params and
 * the source header wait for the last frame: the same attributes and
 * values as a run alone. */
Test(process_bursts, params_after_the_frames_while_another_bursts)
{
    char alone[128], beside[128];
    unsigned long early[2];
    km_process_params p;
    km_process_params_default(&p);
    alone_and_beside(KM_SYNTH_MODERATE, 5, p.block_frames, alone, beside, early);
    same_attrs(alone, beside, "params", 100); /* the table's parameters and the run's */
    same_attrs(alone, beside, "session/source_header", 5);
    /* The option as given, not the floor the warm-up set (/params
       peaks_floor). */
    double v = 0;
    hid_t f = H5Fopen(beside, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t a = H5Aopen_by_name(f, "params", "peaks_threshold_abs", H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(a >= 0 && H5Aread(a, H5T_NATIVE_DOUBLE, &v) >= 0);
    H5Aclose(a);
    H5Fclose(f);
    if (isnan(p.peaks.threshold_abs))
        cr_expect(isnan(v), "peaks_threshold_abs %g", v);
    else
        cr_expect_eq(v, p.peaks.threshold_abs);
}

/* The /params the warm-up settles (bad, offset and suspect taxels, noise,
 * floor) are written during the frames alone, after the last frame while
 * another thread bursts, and hold the warm-up's values either way: blocks
 * of 16 frames push some before the warm-up ends (fails with them written
 * at the end only, and with them written before the peaks are set up). */
Test(process_bursts, warm_params_in_the_frames_alone)
{
    char alone[128], beside[128];
    unsigned long early[2];
    alone_and_beside(KM_SYNTH_HARD, 2, 16, alone, beside, early); /* hard: suspect taxels */
    cr_expect_eq(early[0], 1, "alone: during the frames");
    cr_expect_eq(early[1], 0, "beside a burst: after the frames");
    same_attrs(alone, beside, "params", 100);
    char v[512] = "";
    hid_t f = H5Fopen(alone, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t g = H5Gopen2(f, "params", H5P_DEFAULT);
    attr_text(g, "noise", v, sizeof v);
    cr_expect_str_neq(v, "000000000000f87f", "the warm-up's noise, not NaN");
    H5Gclose(g);
    H5Fclose(f);
}

/* A 6 s session at `in`. */
static void make_session(char *in, size_t cap)
{
    km_test_path(in, cap, dir, "s.h5");
    km_synth_params sp;
    km_synth_params_default(&sp);
    sp.duration_s = 6;
    sp.seed = 7;
    cr_assert_eq(km_synth_write(ctx, &sp, KM_FORMAT_SESSION, in, 1), KM_OK, "%s",
                 km_ctx_last_error(ctx));
}

/* The schema reads so far at the first progress call (the first block). */
static int at_first_block(void *user, int64_t done, int64_t total)
{
    unsigned long *first = user;
    (void)done;
    (void)total;
    if (*first == ULONG_MAX)
        *first = km_atomic_schema_reads();
    return 0;
}

/* How many times the existing result at `out` had its schema read by the
   first block, and in all, for a run alone (beside = 0) or while another
   thread stays in a burst. */
static void schema_reads(const char *in, const char *out, int beside, unsigned long *by_first,
                         unsigned long *all)
{
    other_session o = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    pthread_t th;
    km_process_params p;
    unsigned long first = ULONG_MAX, n0 = km_atomic_schema_reads();
    km_process_params_default(&p);
    p.block_frames = 64;
    p.progress = at_first_block;
    p.progress_user = &first;
    if (beside)
        other_start(&o, &th);
    km_status st = km_process(ctx, in, out, &p, NULL);
    if (beside)
        other_stop(&o, th);
    cr_assert_eq(st, KM_OK, "%s", km_ctx_last_error(ctx));
    cr_assert_neq(first, ULONG_MAX);
    *by_first = first - n0;
    *all = km_atomic_schema_reads() - n0;
}

Test(process_bursts, target_schema_out_of_the_opening_while_another_bursts)
{
    char in[128], out[128];
    unsigned long by_first, all;
    make_session(in, sizeof in);
    km_test_path(out, sizeof out, dir, "r.h5");
    km_process_params p;
    km_process_params_default(&p);
    cr_assert_eq(km_process(ctx, in, out, &p, NULL), KM_OK, "%s", km_ctx_last_error(ctx));
    schema_reads(in, out, 0, &by_first, &all);
    cr_expect_eq(by_first, 1, "alone: read at the open");
    cr_expect_eq(all, 1);
    schema_reads(in, out, 1, &by_first, &all);
    cr_expect_eq(by_first, 0, "another thread in a burst: not read at the open");
    cr_expect_eq(all, 1, "read once, with /params");
}

/* Left for later, a file of another kind is refused all the same: the
   error of the open, nothing replaced, no temporary left. */
Test(process_bursts, a_target_of_another_kind_is_kept_when_checked_later)
{
    char in[128], out[128];
    make_session(in, sizeof in);
    km_test_path(out, sizeof out, dir, "r.h5");
    hid_t f = H5Fcreate(out, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(f >= 0);
    H5Fclose(f);
    struct stat before, after;
    cr_assert_eq(stat(out, &before), 0);
    other_session o = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    pthread_t th;
    km_process_params p;
    km_process_params_default(&p);
    other_start(&o, &th);
    km_status st = km_process(ctx, in, out, &p, NULL);
    other_stop(&o, th);
    cr_expect_eq(st, KM_ERR_CREATE);
    cr_expect(strstr(km_ctx_last_error(ctx), "exists and is not a knotmap-result file") != NULL,
              "%s", km_ctx_last_error(ctx));
    cr_assert_eq(stat(out, &after), 0);
    cr_expect_eq(after.st_ino, before.st_ino);
    cr_expect_eq(after.st_size, before.st_size);
    cr_expect_eq(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.' || strstr(e->d_name, ".tmp-") != NULL;
    closedir(d);
    cr_expect_eq(n, 2, "the session and the target, no temporary");
}
