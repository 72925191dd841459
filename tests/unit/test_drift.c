/* The drift correction of the candidate map (docs/ALGORITHMS.md 10 step 3,
 * km_candidate_params.drift_sigmas): a cell's pass maxima are fitted by a
 * line in time and the significant part of its slope is taken off the map
 * back to the cell's first pass.  Hand-built mat sessions with exact
 * expected values. */
#include <criterion/criterion.h>
#include <math.h>

#include "knotmap.h"

static km_ctx *ctx;

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
}

static void teardown(void)
{
    km_ctx_free(ctx);
}

TestSuite(drift, .init = setup, .fini = teardown);

#define R 8
#define C 16
#define PASSES 40
#define DRIFT_AT (5 * C + 11)  /* a taxel whose zero drifts */
#define KNOT_AT (3 * C + 4)    /* a steady knot, one taxel wide */
#define WOBBLE_AT (1 * C + 8)  /* a taxel whose excess alternates, no trend */

/* PASSES mat passes of 10 contact frames (40 kPa + a fixed pattern) and 10
 * empty ones at 10 Hz; the taxel at DRIFT_AT reads `rate` kPa/s more as
 * time goes on (loaded or not), the one at KNOT_AT 15 kPa more throughout,
 * the one at WOBBLE_AT +-3 kPa from pass to pass plus `trend` kPa a pass.
 * The map is written to map (R x C). */
static void run(double drift_sigmas, double rate, double trend, float *map)
{
    km_candidate_params p;
    km_candidate_params_default(&p);
    p.drift_sigmas = drift_sigmas;
    km_candidates *c = NULL;
    cr_assert_eq(km_candidates_create(ctx, KM_MODE_MAT, R, C, 10.0, 5.0, &p, &c), KM_OK);
    float f[R * C];
    km_frame fr = {f, R, C, C};
    int64_t frame = 0;
    for (int pass = 0; pass < PASSES; pass++)
        for (int k = 0; k < 20; k++, frame++) {
            double t = 0.1 * (double)frame;
            for (int i = 0; i < R * C; i++)
                f[i] = k < 10 ? 40.0f + (float)((i * 7919) % 11) * 0.2f : 0.0f;
            f[DRIFT_AT] += (float)(rate * t);
            if (k < 10) {
                f[KNOT_AT] += 15.0f;
                f[WOBBLE_AT] += (pass % 2 ? 3.0f : -3.0f) + (float)(trend * pass);
            }
            cr_assert_eq(km_candidates_add(ctx, c, &fr, NULL, NULL, t), KM_OK, "%s",
                         km_ctx_last_error(ctx));
        }
    cr_assert_eq(km_candidates_map(ctx, c, map, R * C, NULL), KM_OK);
    km_candidates_free(c);
}

/* A taxel drifting 0.05 kPa/s (3 kPa/min, the hard preset's sd) over 80 s:
 * its pass maxima (the last contact frame of each pass: t = 0.9 + 2 p s)
 * climb 0.1 kPa a pass.  Uncorrected, the map holds their mean, the value
 * at the mean time; corrected, the value at the first pass: 39 x 0.1 / 2 =
 * 1.95 kPa lower.  The noise-free line has no residual, so the whole slope
 * is significant.  The steady knot and the alternating taxel have no slope
 * (the wobble's is 1/40 of its standard error) and keep their map values
 * exactly. */
Test(drift, a_drifting_taxel_is_taken_back_to_its_first_pass)
{
    static float on[R * C], off[R * C];
    run(3.0, 0.05, 0.0, on);
    run(0.0, 0.05, 0.0, off);
    cr_assert_float_eq(off[DRIFT_AT] - on[DRIFT_AT], 0.05 * 2.0 * (PASSES - 1) / 2.0, 2e-3,
                       "uncorrected %g corrected %g", off[DRIFT_AT], on[DRIFT_AT]);
    cr_assert_eq(on[KNOT_AT], off[KNOT_AT]);
    cr_assert_gt(on[KNOT_AT], 10.0);
    cr_assert_eq(on[WOBBLE_AT], off[WOBBLE_AT]);
    int changed = 0;
    for (int i = 0; i < R * C; i++)
        changed += !(on[i] == off[i] || (isnan(on[i]) && isnan(off[i])));
    cr_assert_eq(changed, 1, "%d cells changed, only the drifting one should", changed);
}

/* Without drift nothing changes anywhere, and the corrected map of a
 * drifting session matches the map of the same session without drift at
 * the drifting taxel's first pass. */
Test(drift, no_drift_no_change)
{
    static float on[R * C], off[R * C], still[R * C];
    run(3.0, 0.0, 0.0, on);
    run(0.0, 0.0, 0.0, off);
    for (int i = 0; i < R * C; i++)
        cr_assert(on[i] == off[i] || (isnan(on[i]) && isnan(off[i])), "cell %d", i);
    run(3.0, 0.05, 0.0, on);
    run(3.0, 0.0, 0.0, still);
    /* the first pass's maximum carries 0.9 s of drift: 0.045 kPa */
    cr_assert_float_eq(on[DRIFT_AT] - still[DRIFT_AT], 0.05 * 0.9, 2e-3);
}

/* A slope within its noise is left alone: pass maxima that jump +-3 kPa
 * with a slight trend (0.01 kPa a pass, 0.005 kPa/s, against a standard
 * error of the slope of about 3 / sqrt(sum (t - mean t)^2) = 0.02 kPa/s)
 * keep the plain mean; the same slope without the jumps (the drifting
 * taxel at 0.005 kPa/s) is taken off.  Out-of-range drift_sigmas is
 * refused. */
Test(drift, a_slope_within_the_noise_is_kept)
{
    static float on[R * C], off[R * C];
    run(3.0, 0.005, 0.01, on);
    run(0.0, 0.005, 0.01, off);
    cr_assert_float_eq(off[DRIFT_AT] - on[DRIFT_AT], 0.005 * 2.0 * (PASSES - 1) / 2.0, 2e-3);
    cr_assert_eq(on[WOBBLE_AT], off[WOBBLE_AT]);
    km_candidate_params p;
    km_candidate_params_default(&p);
    cr_assert_eq(p.drift_sigmas, 3.0);
    p.drift_sigmas = -1.0;
    km_candidates *c = NULL;
    cr_assert_eq(km_candidates_create(ctx, KM_MODE_MAT, R, C, 10.0, 5.0, &p, &c), KM_ERR_INVALID);
    p.drift_sigmas = NAN;
    cr_assert_eq(km_candidates_create(ctx, KM_MODE_MAT, R, C, 10.0, 5.0, &p, &c), KM_ERR_INVALID);
}
