/* Equilibration: gain maps from uniform-load recordings (synthetic sensor
 * with known gains, hand-built recordings with dead, stuck, settling and
 * corrupt frames), gain-map text files, the conditioner's masking of NaN
 * gains, and the pipeline's grid check. */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knotmap.h"
#include "test_util.h"

static km_ctx *ctx;
static char dir[256];

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    km_test_make_dir(dir, sizeof dir, "km_equil_");
}

static void teardown(void)
{
    km_ctx_free(ctx);
    cr_expect_eq(km_test_remove_dir(dir), 0);
}

TestSuite(equilibrate, .init = setup, .fini = teardown);

#define R 6
#define C 8
#define RC (R * C)

/* A uniform-load recording written as a session: n_unloaded frames of 0
 * (plus base), n_settle frames ramping up, n_loaded at load * gain, one
 * corrupt frame in the middle (10x), dead taxel 0 (always 0), stuck taxel
 * 1 (always 2); every live taxel reads 1 more (its baseline). */
static void write_recording(const char *path, int32_t rows, int32_t cols, const float *gain,
                            double load, int n_unloaded, int n_settle, int n_loaded)
{
    km_session_info info;
    memset(&info, 0, sizeof info);
    info.rows = rows;
    info.cols = cols;
    info.frame_rate_hz = 100.0;
    info.row_pitch_mm = info.col_pitch_mm = 5.0;
    memcpy(info.units, "kPa", 4);
    info.mode = KM_MODE_MAT;
    km_session_writer *w = NULL;
    cr_assert_eq(km_session_writer_create(ctx, path, &info, NULL, 1, &w), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    size_t rc = (size_t)rows * (size_t)cols;
    float *f = malloc(rc * sizeof *f);
    cr_assert_not_null(f);
    int total = n_unloaded + 2 * n_settle + n_loaded;
    for (int t = 0; t < total; t++) {
        double level;
        if (t < n_unloaded)
            level = 0.0;
        else if (t < n_unloaded + n_settle)
            level = load * (0.1 + 0.5 * (t - n_unloaded) / n_settle); /* below the band */
        else if (t < n_unloaded + n_settle + n_loaded)
            level = load;
        else
            level = load * 0.5;
        if (t == n_unloaded + n_settle + n_loaded / 2)
            level = 10.0 * load; /* a corrupt frame: not loaded, not averaged */
        for (size_t k = 0; k < rc; k++)
            f[k] = (float)(gain[k] * level + 1.0); /* baseline 1 */
        f[0] = 0.0f;
        f[1] = 2.0f;
        cr_assert_eq(km_session_writer_append(ctx, w, f, NULL, 1), KM_OK);
    }
    cr_assert_eq(km_session_writer_commit(ctx, w), KM_OK, "%s", km_ctx_last_error(ctx));
    km_session_writer_free(w);
    free(f);
}

static void known_gains(float *gain)
{
    for (int k = 0; k < RC; k++)
        gain[k] = (float)(0.8 + 0.4 * ((k * 7) % 11) / 10.0);
}

Test(equilibrate, inverts_known_gains_exactly)
{
    char path[512];
    float gain[RC], g[RC];
    km_equil_summary s;
    known_gains(gain);
    km_test_path(path, sizeof path, dir, "eq.h5");
    write_recording(path, R, C, gain, 50.0, 20, 15, 100);
    cr_assert_eq(km_gain_map_from_recording(ctx, path, NULL, NULL, g, RC, &s), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    cr_expect_eq(s.rows, R);
    cr_expect_eq(s.cols, C);
    cr_expect_eq(s.n_frames, 20 + 30 + 100);
    /* 100 at the load; the corrupt frame splits them into runs of 50 and
       49, each losing 10 settling frames at both ends */
    cr_expect_eq(s.n_loaded, 30 + 29, "n_loaded %lld", (long long)s.n_loaded);
    cr_expect_eq(s.n_unloaded, 20);
    cr_expect_eq(s.n_dead, 2);
    cr_expect_eq(s.n_clipped, 0);
    cr_expect(isnan(g[0]) && isnan(g[1]), "dead and stuck taxels: NaN");
    /* gain * response = the median response: g[k] * gain[k] is constant */
    double ref = g[2] * gain[2];
    for (int k = 2; k < RC; k++)
        cr_expect_float_eq(g[k] * gain[k], ref, 1e-5 * ref, "taxel %d: %g * %g", k, g[k],
                           gain[k]);
    cr_expect(s.gain_min <= s.gain_median && s.gain_median <= s.gain_max);
    cr_expect_float_eq(s.reference, 50.0 * ref, 1e-4 * s.reference);
}

Test(equilibrate, clips_extreme_gains_and_counts_them)
{
    char path[512];
    float gain[RC], g[RC];
    km_equil_summary s;
    for (int k = 0; k < RC; k++)
        gain[k] = 1.0f;
    gain[5] = 8.0f;   /* reads 8x: gain 1/8, clipped to 1/4 */
    gain[6] = 0.05f;  /* reads 1/20: dead (below 0.1 of the median) */
    gain[7] = 0.2f;   /* reads 1/5: gain 5, clipped to 4 */
    km_test_path(path, sizeof path, dir, "eq.h5");
    write_recording(path, R, C, gain, 50.0, 10, 5, 40);
    km_equil_params p;
    km_equil_params_default(&p);
    cr_assert_eq(km_gain_map_from_recording(ctx, path, NULL, &p, g, RC, &s), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    cr_expect_eq(s.n_clipped, 2);
    cr_expect_eq(s.n_dead, 3);
    cr_expect_float_eq(g[5], 0.25f, 1e-6);
    cr_expect(isnan(g[6]));
    cr_expect_float_eq(g[7], 4.0f, 1e-6);
    cr_expect_float_eq(g[10], 1.0f, 1e-5);
}

Test(equilibrate, synthetic_sensor_gains_inverted_within_noise)
{
    char path[512];
    km_synth_params sp;
    km_synth_params_default(&sp);
    sp.mode = KM_MODE_MAT;
    sp.rows = 16;
    sp.cols = 16;
    sp.seed = 3;
    km_synth_preset(&sp, KM_SYNTH_HARD);
    sp.duration_s = 5.0;
    sp.equilibration_kpa = 50.0;
    km_test_path(path, sizeof path, dir, "eq.h5");
    cr_assert_eq(km_synth_write(ctx, &sp, KM_FORMAT_SESSION, path, 1), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    km_synth *syn = NULL;
    cr_assert_eq(km_synth_create(ctx, &sp, &syn), KM_OK);
    km_synth_truth tr;
    km_synth_truth_get(syn, &tr);
    float g[256];
    km_equil_summary s;
    cr_assert_eq(km_gain_map_from_recording(ctx, path, NULL, NULL, g, 256, &s), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    int n_bad = 0;
    double prod[256], med;
    size_t n = 0;
    for (int k = 0; k < 256; k++) {
        int bad = tr.taxel_state[k] != KM_SYNTH_TAXEL_OK;
        n_bad += bad;
        cr_expect_eq(isnan(g[k]) != 0, bad, "taxel %d state %d gain %g", k, tr.taxel_state[k],
                     g[k]);
        if (!bad && isfinite(g[k]))
            prod[n++] = g[k] * tr.gain[k];
    }
    cr_expect_gt(n_bad, 0, "the hard preset has dead and stuck taxels");
    cr_expect_eq(s.n_dead, n_bad);
    med = 0.0;
    for (size_t i = 0; i < n; i++)
        med += prod[i] / (double)n;
    /* Noise 2.5 kPa over ~300 loaded and 100 unloaded frames at 50 kPa:
       about 0.6% per taxel; 4% is over six standard deviations, while the
       gain spread it removes is 10%. */
    for (size_t i = 0; i < n; i++)
        cr_expect(fabs(prod[i] / med - 1.0) < 0.04, "residual %g", prod[i] / med - 1.0);
    km_synth_free(syn);
}

Test(equilibrate, capacity_and_no_load)
{
    char path[512];
    float gain[RC], g[RC];
    km_equil_summary s;
    known_gains(gain);
    km_test_path(path, sizeof path, dir, "eq.h5");
    write_recording(path, R, C, gain, 50.0, 5, 2, 10);
    cr_expect_eq(km_gain_map_from_recording(ctx, path, NULL, NULL, g, RC - 1, &s),
                 KM_ERR_CAPACITY);
    cr_expect_eq(s.rows, R);
    cr_expect_eq(s.cols, C);
    /* No load at all: every frame 0 */
    write_recording(path, R, C, gain, 0.0, 5, 2, 10);
    cr_expect_eq(km_gain_map_from_recording(ctx, path, NULL, NULL, g, RC, &s), KM_ERR_FORMAT);
    cr_expect(strstr(km_ctx_last_error(ctx), "no taxel responds") != NULL ||
                  strstr(km_ctx_last_error(ctx), "no frame under load") != NULL,
              "%s", km_ctx_last_error(ctx));
    cr_expect(strstr(km_ctx_last_error(ctx), path) != NULL, "names the file");
    km_equil_params p;
    km_equil_params_default(&p);
    p.load_fraction = 1.0;
    cr_expect_eq(km_gain_map_from_recording(ctx, path, NULL, &p, g, RC, &s), KM_ERR_INVALID);
}

Test(equilibrate, gain_map_text_file)
{
    char path[512];
    float g[12];
    int32_t rows = 0, cols = 0;
    km_test_path(path, sizeof path, dir, "gains.txt");
    km_test_write_file(path, "1 1.5 0.5 2\r\n0.25, nan, 1, 1\n3 1 1 0\n");
    cr_assert_eq(km_gain_map_read(ctx, path, g, 12, &rows, &cols), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    cr_expect_eq(rows, 3);
    cr_expect_eq(cols, 4);
    cr_expect_float_eq(g[1], 1.5f, 0);
    cr_expect_float_eq(g[4], 0.25f, 0);
    cr_expect(isnan(g[5]));
    cr_expect_float_eq(g[11], 0.0f, 0);
    cr_expect_eq(km_gain_map_read(ctx, path, g, 11, &rows, &cols), KM_ERR_CAPACITY);
    cr_expect_eq(rows * cols, 12);
    km_test_write_file(path, "1 1\n1 -2\n");
    cr_expect_eq(km_gain_map_read(ctx, path, g, 12, &rows, &cols), KM_ERR_FORMAT);
    cr_expect(strstr(km_ctx_last_error(ctx), "row 2, column 2") != NULL, "%s",
              km_ctx_last_error(ctx));
}

Test(equilibrate, conditioner_masks_nan_and_zero_gains)
{
    km_session_info info;
    memset(&info, 0, sizeof info);
    info.rows = 2;
    info.cols = 3;
    info.frame_rate_hz = 10.0;
    float gm[6] = {2.0f, NAN, 1.0f, 0.0f, 0.5f, 1.0f};
    km_condition_params cp;
    km_condition_params_default(&cp);
    cp.corrupt_ratio = 0.0;
    cp.gain_map = gm;
    km_conditioner *c = NULL;
    cr_assert_eq(km_conditioner_create(ctx, &info, NULL, &cp, NULL, NULL, &c), KM_OK);
    float in[6] = {1, 2, 3, 4, 5, 6}, out[6];
    int64_t n = 0;
    cr_assert_eq(km_conditioner_push(ctx, c, in, NULL, 1), KM_OK);
    cr_assert_eq(km_conditioner_finish(ctx, c), KM_OK);
    km_conditioner_pull(c, out, NULL, NULL, 1, &n);
    cr_assert_eq(n, 1);
    const uint8_t *m = km_conditioner_mask(c);
    uint8_t want[6] = {1, 0, 1, 0, 1, 1};
    for (int k = 0; k < 6; k++)
        cr_expect_eq(m[k], want[k], "mask %d", k);
    cr_expect_float_eq(out[0], 2.0f, 0);
    cr_expect_float_eq(out[4], 2.5f, 0);
    cr_expect(isnan(out[1]) && isnan(out[3]), "masked taxels are NaN in the output");
    km_conditioner_free(c);
}

Test(equilibrate, process_checks_the_grid_and_names_both_files)
{
    char sess[512], eq[512], out[512];
    float gain[RC];
    known_gains(gain);
    km_test_path(sess, sizeof sess, dir, "session.h5");
    km_test_path(eq, sizeof eq, dir, "eq.h5");
    km_test_path(out, sizeof out, dir, "r.h5");
    write_recording(sess, R, C, gain, 50.0, 5, 2, 20);
    write_recording(eq, C, R, gain, 50.0, 5, 2, 20); /* transposed grid */
    km_process_params p;
    km_process_params_default(&p);
    p.equilibrate = eq;
    cr_expect_eq(km_process(ctx, sess, out, &p, NULL), KM_ERR_FORMAT);
    const char *e = km_ctx_last_error(ctx);
    cr_expect(strstr(e, sess) != NULL && strstr(e, eq) != NULL, "names both files: %s", e);
    cr_expect(strstr(e, "grid 8 x 6") != NULL, "%s", e);
    /* Two gain sources at once */
    p.gain_map_path = eq;
    cr_expect_eq(km_process(ctx, sess, out, &p, NULL), KM_ERR_INVALID);
    /* The right grid works and masks the dead and stuck taxels */
    write_recording(eq, R, C, gain, 50.0, 5, 2, 20);
    p.gain_map_path = NULL;
    km_process_summary sum;
    cr_assert_eq(km_process(ctx, sess, out, &p, &sum), KM_OK, "%s", km_ctx_last_error(ctx));
    cr_expect_eq(sum.info.rows, R);
}
