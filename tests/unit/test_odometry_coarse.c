/* Odometry on a roller with coarse rows (issue 11; docs/ALGORITHMS.md 7.1
 * step 5): a contact band narrower than the row pitch presses no row while
 * the contact line lies between two rows.  Those frames are no lift: the
 * travel across them must count.  Synthetic sessions with a known stroke;
 * the truth is the analytic contact line. */
#include <criterion/criterion.h>
#include <math.h>

#include "knotmap.h"

#define PI 3.14159265358979323846
#define R 26          /* rows around the roller */
#define C 12          /* columns */
#define RADIUS 68.67  /* mm: a row pitch of 2 pi 68.67 / 26 = 16.6 mm */
#define HALF_BAND 8.0 /* mm: a band 16 mm wide, narrower than the pitch */
#define RATE 100.0    /* frames per second */

static km_ctx *ctx;

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
}

static void teardown(void)
{
    km_ctx_free(ctx);
}

TestSuite(odometry_coarse, .init = setup, .fini = teardown);

/* The frame of a contact line at body y (mm): row r at
   45 kPa * sqrt(1 - (u / HALF_BAND)^2), u its distance from the line along
   the body (row 0 under the line at y = 0), over a 1 kPa floor. */
static void coarse_frame(float *f, double y, double pitch)
{
    double contact = fmod(y / pitch, (double)R);
    for (int32_t r = 0; r < R; r++) {
        double d = fmod(r - contact + 1.5 * R, (double)R) - 0.5 * R;
        double u = d * pitch / HALF_BAND;
        double v = 1.0 + (fabs(u) < 1.0 ? 45.0 * sqrt(1.0 - u * u) : 0.0);
        for (int32_t k = 0; k < C; k++)
            f[r * C + k] = (float)v;
    }
}

/* Strokes 0 -> stroke -> 0 of `seconds` each, cosine speed profile (at rest
   at the turns); the estimate of every firm frame against the truth, and
   how many frames were under lift_threshold. */
static void roll(double stroke, double seconds, int strokes, double *max_err, double *end_err,
                 int *gap_frames)
{
    const double pitch = 2 * PI * RADIUS / R;
    float f[R * C];
    km_frame fr = {f, R, C, C};
    km_odometry *o = NULL;
    cr_assert_eq(km_odometry_create(ctx, R, C, RADIUS, NULL, &o), KM_OK);
    const int n = (int)lround(strokes * seconds * RATE);
    *max_err = 0.0;
    *gap_frames = 0;
    double y = 0.0;
    km_odometry_sample s;
    for (int i = 0; i <= n; i++) {
        y = 0.5 * stroke * (1.0 - cos(PI * i / (seconds * RATE)));
        coarse_frame(f, y, pitch);
        cr_assert_eq(km_odometry_update(ctx, o, &fr, NULL, &s), KM_OK);
        if (s.flags & KM_ODO_LIFTED) {
            *gap_frames += !(s.flags & KM_ODO_LIGHT);
            continue;
        }
        *max_err = fmax(*max_err, fabs(s.y_mm - y));
    }
    *end_err = s.y_mm - y;
    km_odometry_free(o);
}

/* 213 mm (12.9 row pitches) there and back, at a peak speed of 112 mm/s:
   the session of bench/sim_independent.py roller moderate seed 37 that
   mapped a 213 mm stroke onto 100 mm.  A band narrower than a pitch shows
   one row at a time, so the estimate is the pressed row: within half a
   pitch of the truth (8.3 mm), at every firm frame and at the end. */
Test(odometry_coarse, stroke_across_gaps_between_rows)
{
    const double half_pitch = PI * RADIUS / R;
    double max_err, end_err;
    int gaps;
    roll(213.0, 3.0, 2, &max_err, &end_err, &gaps);
    cr_assert_geq(gaps, 12, "the test must cross gaps between rows (%d frames)", gaps);
    cr_assert_leq(max_err, half_pitch, "max error %.1f mm (tolerance %.1f)", max_err, half_pitch);
    cr_assert_leq(fabs(end_err), half_pitch, "back at the start: %.1f mm", end_err);
}

/* Faster (peak 420 mm/s, 0.25 rows a frame) and four strokes: the gaps are
   0-1 frames; nothing may accumulate over the strokes. */
Test(odometry_coarse, fast_strokes_do_not_drift)
{
    const double half_pitch = PI * RADIUS / R;
    double max_err, end_err;
    int gaps;
    roll(213.0, 0.8, 4, &max_err, &end_err, &gaps);
    cr_assert_gt(gaps, 0);
    cr_assert_leq(max_err, half_pitch, "max error %.1f mm (tolerance %.1f)", max_err, half_pitch);
    cr_assert_leq(fabs(end_err), half_pitch, "back at the start: %.1f mm", end_err);
}

/* A lift is still a lift: the roller lifted for 0.3 s (30 frames, longer
   than a gap between rows) and turned by 3 rows in the air does not move
   along the body. */
Test(odometry_coarse, a_lift_turned_in_the_air_adds_nothing)
{
    const double pitch = 2 * PI * RADIUS / R;
    float f[R * C];
    km_frame fr = {f, R, C, C};
    km_odometry *o = NULL;
    km_odometry_sample s;
    cr_assert_eq(km_odometry_create(ctx, R, C, RADIUS, NULL, &o), KM_OK);
    for (int i = 0; i <= 5; i++) { /* 5 rows forward, one a frame */
        coarse_frame(f, i * pitch, pitch);
        cr_assert_eq(km_odometry_update(ctx, o, &fr, NULL, &s), KM_OK);
    }
    cr_assert_float_eq(s.y_mm, 5 * pitch, 1e-6);
    for (int i = 0; i < R * C; i++)
        f[i] = 1.0f;
    for (int t = 0; t < 30; t++) {
        cr_assert_eq(km_odometry_update(ctx, o, &fr, NULL, &s), KM_OK);
        cr_assert(s.flags & KM_ODO_LIFTED);
    }
    coarse_frame(f, 8 * pitch, pitch); /* down 3 rows further round */
    cr_assert_eq(km_odometry_update(ctx, o, &fr, NULL, &s), KM_OK);
    cr_assert(s.flags & KM_ODO_START);
    cr_assert_float_eq(s.y_mm, 5 * pitch, 1e-6);
    km_odometry_free(o);
}
