/* Bursts of HDF5 calls (io/result_writer.h, km_h5_burst_begin): km_process
 * writes /params during the frames only when no other thread is in a burst,
 * else after the last frame, and always the values of the open (the peaks'
 * threshold before the warm-up makes it the floor's). */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/result_writer.h"
#include "knotmap.h"
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

/* While another thread stays in a burst for the whole run, /params and
 * the source header wait for the last frame: the same attributes and
 * values as a run alone. */
Test(process_bursts, params_after_the_frames_while_another_bursts)
{
    char in[128], alone[128], beside[128];
    km_test_path(in, sizeof in, dir, "s.h5");
    km_test_path(alone, sizeof alone, dir, "alone.h5");
    km_test_path(beside, sizeof beside, dir, "beside.h5");
    km_synth_params sp;
    km_synth_params_default(&sp);
    km_synth_preset(&sp, KM_SYNTH_MODERATE);
    sp.duration_s = 6;
    sp.seed = 5;
    cr_assert_eq(km_synth_write(ctx, &sp, KM_FORMAT_SESSION, in, 1), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    km_process_params p;
    km_process_params_default(&p);
    cr_assert_eq(km_process(ctx, in, alone, &p, NULL), KM_OK, "%s", km_ctx_last_error(ctx));

    other_session o = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, other_main, &o), 0);
    pthread_mutex_lock(&o.m);
    while (!o.in_burst)
        pthread_cond_wait(&o.c, &o.m);
    pthread_mutex_unlock(&o.m);
    km_status st = km_process(ctx, in, beside, &p, NULL);
    pthread_mutex_lock(&o.m);
    o.end = 1;
    pthread_cond_broadcast(&o.c);
    pthread_mutex_unlock(&o.m);
    pthread_join(th, NULL);
    cr_assert_eq(st, KM_OK, "%s", km_ctx_last_error(ctx));
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
