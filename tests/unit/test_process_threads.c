/* km_process with n_threads > 1 (per-frame stage on several threads, the
 * next block read ahead) gives the same result file content, byte for
 * byte, as one thread, for block sizes that do and do not divide the
 * session. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "knotmap.h"
#include "test_util.h"

static km_ctx *ctx;
static char dir[64];

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    km_test_make_dir(dir, sizeof dir, "km-threads-");
}

static void teardown(void)
{
    (void)km_test_remove_dir(dir);
    km_ctx_free(ctx);
}

TestSuite(process_threads, .init = setup, .fini = teardown);

/* Raw bytes of dataset `name` (its file type); *n = byte count. */
static unsigned char *read_all(hid_t f, const char *name, size_t *n)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    cr_assert_geq(d, 0, "missing %s", name);
    hid_t t = H5Dget_type(d), s = H5Dget_space(d);
    hssize_t pts = H5Sget_simple_extent_npoints(s);
    cr_assert_geq(pts, 0);
    *n = (size_t)pts * H5Tget_size(t);
    unsigned char *buf = malloc(*n + 1);
    cr_assert_not_null(buf);
    if (pts > 0)
        cr_assert_geq(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), 0, "read %s", name);
    H5Tclose(t);
    H5Sclose(s);
    H5Dclose(d);
    return buf;
}

static void same_results(const char *a, const char *b)
{
    static const char *const sets[] = {
        "/metrics/time",   "/metrics/peak",       "/metrics/mean",      "/metrics/force_n",
        "/metrics/flags",  "/metrics/cop_grid_x_mm",   "/peaks/frame",       "/peaks/row",
        "/peaks/col",      "/peaks/value",        "/peaks/prominence",  "/peaks/area_taxels",
        "/peaks/peak",     "/peaks/grid_x_mm",    "/peaks/grid_y_mm",        "/peaks/track",
        "/tracks/track",   "/tracks/first_frame", "/tracks/last_frame", "/tracks/value_max",
        "/frames/max",     "/frames/mean",        "/bodymap/pressure",  "/bodymap/excess",
        "/candidates/x_mm", "/candidates/y_mm",   "/candidates/score"};
    hid_t fa = H5Fopen(a, H5F_ACC_RDONLY, H5P_DEFAULT), fb = H5Fopen(b, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(fa, 0);
    cr_assert_geq(fb, 0);
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        size_t na, nb;
        unsigned char *x = read_all(fa, sets[i], &na), *y = read_all(fb, sets[i], &nb);
        cr_expect_eq(na, nb, "%s: %zu vs %zu bytes", sets[i], na, nb);
        if (na == nb)
            cr_expect_eq(memcmp(x, y, na), 0, "%s differs", sets[i]);
        free(x);
        free(y);
    }
    H5Fclose(fa);
    H5Fclose(fb);
}

static void check(int32_t mode, int64_t block_frames, int32_t threads)
{
    char in[128], r1[128], rn[128];
    km_test_path(in, sizeof in, dir, "s.h5");
    km_test_path(r1, sizeof r1, dir, "r1.h5");
    km_test_path(rn, sizeof rn, dir, "rn.h5");
    km_synth_params sp;
    km_synth_params_default(&sp);
    km_synth_preset(&sp, KM_SYNTH_MODERATE);
    sp.mode = mode;
    sp.duration_s = 12;
    sp.seed = 3;
    cr_assert_eq(km_synth_write(ctx, &sp, KM_FORMAT_SESSION, in, 1), KM_OK, "%s",
                 km_ctx_last_error(ctx));

    km_process_params p;
    km_process_params_default(&p);
    cr_assert_eq(p.n_threads, 1);
    p.block_frames = block_frames;
    km_process_summary s1, sn;
    cr_assert_eq(km_process(ctx, in, r1, &p, &s1), KM_OK, "%s", km_ctx_last_error(ctx));
    p.n_threads = threads;
    cr_assert_eq(km_process(ctx, in, rn, &p, &sn), KM_OK, "%s", km_ctx_last_error(ctx));

    cr_assert_eq(s1.n_frames, 1200);
    cr_assert_gt(s1.n_peaks, 1200, "a moderate session has several peaks per frame");
    cr_assert_eq(sn.n_frames, s1.n_frames);
    cr_assert_eq(sn.n_peaks, s1.n_peaks);
    cr_assert_eq(sn.n_tracks, s1.n_tracks);
    cr_assert_eq(sn.n_candidates, s1.n_candidates);
    cr_assert_eq(sn.n_top, s1.n_top);
    for (int i = 0; i < s1.n_top; i++) {
        cr_assert_eq(sn.top[i].frame, s1.top[i].frame);
        cr_assert_eq(sn.top[i].value, s1.top[i].value);
    }
    same_results(r1, rn);
}

Test(process_threads, roller_two_threads_same_result)
{
    check(KM_MODE_ROLLER, 256, 2);
}

Test(process_threads, mat_three_threads_odd_blocks_same_result)
{
    /* 1200 frames in blocks of 37: a short last block, shares of 8 frames
       that do not divide the block. */
    check(KM_MODE_MAT, 37, 3);
}

Test(process_threads, more_threads_than_frames_per_block)
{
    check(KM_MODE_ROLLER, 5, 4);
}
