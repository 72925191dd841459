/* Tracking only while the roller presses tissue (issue 11): odometry
 * travel from firm contact frames only (docs/ALGORITHMS.md 7.1 step 3),
 * and the body grid's roller deposit rule that leaves cells off the body
 * and off the contact band empty (7.2).  Hand-made frames with analytic
 * answers. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "knotmap.h"
#include "roller_frames.h"

#define PI 3.14159265358979323846

static km_ctx *ctx;

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
}

static void teardown(void)
{
    km_ctx_free(ctx);
}

TestSuite(odometry_contact, .init = setup, .fini = teardown);

/* The load leaves through the sensor's lag: the last frame before the lift
 * keeps 20% of the load, measured on the wrong rows.  Put down again where
 * it was lifted (no rotation in the air), the roller has not moved.  The
 * old rule took the light frame's 3 rows as travel and kept them. */
Test(odometry_contact, light_frame_before_a_lift_adds_no_travel)
{
    const int32_t R = 16, C = 8;
    float f[16 * 8];
    km_odometry *o = NULL;
    cr_assert_eq(km_odometry_create(ctx, R, C, 40.0, NULL, &o), KM_OK);
    km_frame fr = {f, R, C, C};
    km_odometry_sample s;
    const double pitch = 2 * PI * 40.0 / R;
    for (int t = 0; t <= 4; t++) { /* roll 4 rows: 5 -> 9 */
        km_test_band_frame(f, R, C, 5 + t, 40.0f);
        cr_assert_eq(km_odometry_update(ctx, o, &fr, NULL, &s), KM_OK);
        cr_assert_eq(s.flags & (KM_ODO_LIFTED | KM_ODO_LIGHT), 0u);
    }
    cr_assert_float_eq(s.y_mm, 4 * pitch, 1e-9);
    km_test_band_frame(f, R, C, 12, 8.0f); /* above lift_threshold (5), a fifth of the contact */
    cr_assert_eq(km_odometry_update(ctx, o, &fr, NULL, &s), KM_OK);
    cr_assert_eq(s.flags & (KM_ODO_LIFTED | KM_ODO_LIGHT), KM_ODO_LIFTED | KM_ODO_LIGHT);
    cr_assert_float_eq(s.y_mm, 4 * pitch, 1e-9);
    cr_assert_float_eq(s.contact_row, 9.0, 1e-9, "the estimate is held");
    memset(f, 0, sizeof f);
    for (int t = 0; t < 30; t++) { /* lifted for 0.3 s at 100 Hz */
        cr_assert_eq(km_odometry_update(ctx, o, &fr, NULL, &s), KM_OK);
        cr_assert_eq(s.flags & (KM_ODO_LIFTED | KM_ODO_LIGHT), KM_ODO_LIFTED);
    }
    km_test_band_frame(f, R, C, 9, 40.0f); /* down where it was lifted */
    cr_assert_eq(km_odometry_update(ctx, o, &fr, NULL, &s), KM_OK);
    cr_assert(s.flags & KM_ODO_START);
    cr_assert_float_eq(s.y_mm, 4 * pitch, 1e-9, "travel %g rows", s.y_mm / pitch);
    km_odometry_free(o);
}

/* A light frame in the middle of a roll (a glitch, or the user easing off
   for a frame) keeps the reference row: the travel across it counts at the
   next firm frame, so nothing is lost. */
Test(odometry_contact, light_frame_mid_roll_keeps_the_travel)
{
    const int32_t R = 16, C = 8;
    float f[16 * 8];
    km_odometry *o = NULL;
    cr_assert_eq(km_odometry_create(ctx, R, C, 40.0, NULL, &o), KM_OK);
    km_frame fr = {f, R, C, C};
    km_odometry_sample s;
    const double pitch = 2 * PI * 40.0 / R;
    for (int t = 0; t <= 3; t++) {
        km_test_band_frame(f, R, C, 2 + t, 40.0f);
        cr_assert_eq(km_odometry_update(ctx, o, &fr, NULL, &s), KM_OK);
    }
    km_test_band_frame(f, R, C, 11, 10.0f);
    cr_assert_eq(km_odometry_update(ctx, o, &fr, NULL, &s), KM_OK);
    cr_assert(s.flags & KM_ODO_LIGHT);
    km_test_band_frame(f, R, C, 7, 40.0f);
    cr_assert_eq(km_odometry_update(ctx, o, &fr, NULL, &s), KM_OK);
    cr_assert_eq(s.flags, 0u);
    cr_assert_float_eq(s.y_mm, 5 * pitch, 1e-9);
    /* A lighter lean that lasts becomes the typical contact: after a step
       to 60% of the load no frame is light. */
    for (int t = 1; t <= 64; t++) {
        km_test_band_frame(f, R, C, 7 + t, 24.0f);
        cr_assert_eq(km_odometry_update(ctx, o, &fr, NULL, &s), KM_OK);
        cr_assert_eq(s.flags, 0u, "frame %d at 60%% of the load", t);
    }
    cr_assert_float_eq(s.y_mm, 69 * pitch, 1e-9);
    km_odometry_free(o);
}

/* A body of columns [8, 16) on a 24-column roller: the band's middle row
   at 40 kPa, its two edge rows at 4 kPa (a tenth: the band ends between
   rows), off the body 0.5 kPa and one hot taxel at 15 kPa in column 3 of
   every row.  Rolled forward and back twice over 20 rows. */
#define NR 32
#define NC 24
static void narrow_frame(float *f, int32_t c)
{
    for (int32_t r = 0; r < NR; r++) {
        int32_t d = ((r - c) % NR + NR + NR / 2) % NR - NR / 2;
        for (int32_t k = 0; k < NC; k++) {
            int body = k >= 8 && k < 16;
            f[r * NC + k] = !body ? 0.5f : d == 0 ? 40.0f : (d == 1 || d == -1) ? 4.0f : 0.0f;
        }
        f[r * NC + 3] = 15.0f;
    }
}

Test(odometry_contact, off_body_and_band_edge_cells_stay_empty)
{
    const double pitch = 10.0;
    float f[NR * NC];
    km_bodygrid *g = NULL;
    cr_assert_eq(km_bodygrid_create(ctx, KM_MODE_ROLLER, NR, NC, pitch, 5.0, NULL, NULL,
                                    KM_GRID_BODYMAP | KM_GRID_CANDIDATES, &g),
                 KM_OK);
    int t = 0;
    for (int lap = 0; lap < 2; lap++)
        for (int k = 0; k <= 40; k++, t++) {
            int pos = k <= 20 ? k : 40 - k;
            int32_t c = (4 + pos) % NR;
            narrow_frame(f, c);
            /* strength as the odometry measures it: the contact row over
               the median row */
            km_odometry_sample s = {(double)c, pos * pitch / 40.0, pos * pitch, 40.0, 0};
            if (t == 0)
                s.flags = KM_ODO_START;
            km_frame fr = {f, NR, NC, NC};
            cr_assert_eq(km_bodygrid_add(ctx, g, &fr, NULL, &s, 0.01 * t), KM_OK);
        }
    int32_t ny, nx;
    km_bodygrid_shape(g, &ny, &nx, NULL, NULL, NULL);
    cr_assert_eq(nx, NC);
    cr_assert_geq(ny, 21);
    size_t cells = (size_t)ny * (size_t)nx;
    float *mx = malloc(4 * cells * sizeof(float)), *mean = mx + cells, *ex = mx + 2 * cells;
    int32_t *cov = malloc(cells * sizeof(int32_t));
    cr_assert(mx != NULL && cov != NULL);
    cr_assert_eq(km_bodygrid_bodymap(ctx, g, mx, mean, cov, cells, NULL), KM_OK);
    km_candidate_maps m = {0};
    m.excess = ex;
    cr_assert_eq(km_bodygrid_candidate_maps(ctx, g, &m, cells, NULL), KM_OK);
    int on_body_rows = 0;
    for (int32_t y = 0; y < ny; y++) {
        for (int32_t x = 0; x < nx; x++) {
            size_t i = (size_t)y * (size_t)nx + (size_t)x;
            if (x < 8 || x >= 16) {
                cr_assert(isnan(mx[i]) && isnan(mean[i]) && isnan(ex[i]),
                          "off the body, cell (%d, %d): max %g mean %g excess %g", y, x,
                          (double)mx[i], (double)mean[i], (double)ex[i]);
                cr_assert_eq(cov[i], 0);
            } else if (cov[i] > 0) {
                /* only the band's middle row pressed it: every sample 40 */
                cr_assert_eq(mean[i], 40.0f, "cell (%d, %d): mean %g", y, x, (double)mean[i]);
                cr_assert_eq(mx[i], 40.0f);
            }
        }
        on_body_rows += cov[(size_t)y * (size_t)nx + 10] >= 2;
    }
    cr_assert_geq(on_body_rows, 21, "the rolled range is covered on the body");
    free(mx);
    free(cov);
    km_bodygrid_free(g);
}
