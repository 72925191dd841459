/* The session's flat field against the truth (docs/ALGORITHMS.md 7.5,
 * bench/HISTORY.md "Session 16 (flat)"): a `knotmap synth` roller session
 * (model, preset, seed; 20 s) through knotmap's odometry and a body grid
 * with flat_field 1, then per session the taxels given a gain and the RMS
 * error of the log gains against km_synth_truth.gain, both centred per
 * column over the taxels estimated (a column's constant is not observable),
 * next to the RMS of the true log gains there (what no estimate leaves).
 *
 * Usage: knotmap-flat-field-check MODEL PRESET SEED...
 * (built with -DKM_BUILD_BENCH=ON; tuning seeds only). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "knotmap.h"

/* Feed the whole session to the grid; 0 on success. */
static int feed(km_ctx *ctx, km_synth *s, const km_session_info *in, km_bodygrid *g)
{
    km_odometry *o = NULL;
    const int32_t R = in->rows, C = in->cols;
    float *f = malloc(sizeof *f * (size_t)R * (size_t)C * 64);
    double t[64];
    int64_t n = 0;
    int bad = f == NULL || km_odometry_create(ctx, R, C, in->roller_radius_mm, NULL, &o) != KM_OK;
    while (!bad && km_synth_frames(ctx, s, f, t, 64, &n) == KM_OK && n > 0)
        for (int64_t i = 0; i < n && !bad; i++) {
            km_frame fr = {f + (size_t)i * (size_t)R * (size_t)C, R, C, C};
            km_odometry_sample os;
            bad = km_odometry_update(ctx, o, &fr, NULL, &os) != KM_OK ||
                  km_bodygrid_add(ctx, g, &fr, NULL, &os, t[i]) != KM_OK;
        }
    km_odometry_free(o);
    free(f);
    return bad;
}

/* RMS of the true and of the error of the estimated log gains, each
 * centred per column over the taxels estimated (gain != 1). */
static void compare(const float *est, const float *truth, int32_t R, int32_t C, double *rms_true,
                    double *rms_err)
{
    double st = 0.0, se = 0.0;
    int m = 0;
    for (int32_t x = 0; x < C; x++) {
        double mt = 0.0, me = 0.0;
        int k = 0;
        for (int32_t r = 0; r < R; r++)
            if (est[r * C + x] != 1.0f) {
                mt += log(truth[r * C + x]);
                me += log(est[r * C + x]);
                k++;
            }
        for (int32_t r = 0; r < R && k > 0; r++)
            if (est[r * C + x] != 1.0f) {
                double lt = log(truth[r * C + x]) - mt / k, le = log(est[r * C + x]) - me / k;
                st += lt * lt;
                se += (le - lt) * (le - lt);
                m++;
            }
    }
    *rms_true = m > 0 ? sqrt(st / m) : NAN;
    *rms_err = m > 0 ? sqrt(se / m) : NAN;
}

static int one(km_ctx *ctx, int model, km_synth_difficulty d, const char *preset, uint64_t seed)
{
    km_synth_params p;
    km_synth_params_default(&p);
    km_synth_preset(&p, d);
    p.model = model;
    p.mode = KM_MODE_ROLLER;
    p.duration_s = 20.0;
    p.seed = seed;
    km_synth *s = NULL;
    km_bodygrid *g = NULL;
    km_session_info in;
    km_synth_truth tr;
    km_candidate_params cp;
    km_candidate_params_default(&cp);
    cp.flat_field = 1;
    if (km_synth_create(ctx, &p, &s) != KM_OK)
        return 1;
    km_synth_info(s, &in);
    km_synth_truth_get(s, &tr);
    float *est = malloc(sizeof *est * (size_t)in.rows * (size_t)in.cols);
    int32_t n = 0;
    int bad = est == NULL ||
              km_bodygrid_create(ctx, KM_MODE_ROLLER, in.rows, in.cols, in.row_pitch_mm,
                                 in.col_pitch_mm, NULL, &cp, KM_GRID_CANDIDATES, &g) != KM_OK ||
              feed(ctx, s, &in, g) != 0 ||
              km_bodygrid_flat_field(ctx, g, est, (size_t)in.rows * (size_t)in.cols, &n) != KM_OK;
    if (!bad) {
        double rt, re;
        compare(est, tr.gain, in.rows, in.cols, &rt, &re);
        printf("| %d | %s | %llu | %d x %d | %d | %.3f | %.3f |\n", model, preset,
               (unsigned long long)seed, (int)in.rows, (int)in.cols, (int)n, rt, re);
    }
    free(est);
    km_bodygrid_free(g);
    km_synth_free(s);
    return bad;
}

int main(int argc, char **argv)
{
    km_ctx *ctx = NULL;
    km_synth_difficulty d;
    if (argc < 4 || km_ctx_create(&ctx) != KM_OK || km_synth_difficulty_parse(argv[2], &d) != KM_OK) {
        fprintf(stderr, "usage: knotmap-flat-field-check MODEL PRESET SEED...\n");
        return 64;
    }
    printf("| model | preset | seed | grid | taxels estimated | rms true log gain | rms error |\n"
           "|---|---|---|---|---|---|---|\n");
    int rc = 0;
    for (int i = 3; i < argc && rc == 0; i++)
        rc = one(ctx, atoi(argv[1]), d, argv[2], (uint64_t)strtoull(argv[i], NULL, 10));
    if (rc != 0)
        fprintf(stderr, "knotmap-flat-field-check: %s\n", km_ctx_last_error(ctx));
    km_ctx_free(ctx);
    return rc != 0 ? 70 : 0;
}
