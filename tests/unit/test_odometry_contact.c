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

/* The k-th of v[0..n) after a stable sort by `<` (what the library's
 * selections give, bit for bit, +0.0 and -0.0 included). */
static float stable_kth(const float *v, size_t n, size_t k)
{
    float s[128];
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        for (; j > 0 && v[i] < s[j - 1]; j--)
            s[j] = s[j - 1];
        s[j] = v[i];
    }
    return s[k];
}

static uint32_t odo_lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* km_odometry_row_medians against docs/ALGORITHMS.md 7.1 step 1 written
 * plainly (a gather with branches, stable sorts, counts one value at a
 * time), bit for bit: rows with and without masked or non-finite taxels
 * (anywhere in the row: the checked copy reads four values and sixteen
 * mask bytes a time), widths of every remainder, values on the median +
 * threshold exactly (integers), +-0 (bit for bit up to 64 values), rows
 * a narrow body loads (the loaded part and the wide statistic). */
Test(odometry_contact, row_medians_match_the_plain_form)
{
    static const int32_t widths[] = {1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33, 40, 70};
    static float f[8 * 74];
    static uint8_t mk[8 * 74];
    float scratch[74], v[74], d[74];
    double got[8], want[8];
    uint32_t s = 4242u;
    const float thr = 5.0f;
    for (int t = 0; t < 4000; t++) {
        int32_t R = 3 + (int32_t)(odo_lcg(&s) % 6), C = widths[odo_lcg(&s) % 15];
        int32_t stride = C + (int32_t)(odo_lcg(&s) % 4);
        int holes = odo_lcg(&s) % 3 == 0, bad = odo_lcg(&s) % 3 == 0;
        for (int32_t r = 0; r < R; r++) {
            int body = odo_lcg(&s) % 3 == 0; /* a narrow body: a run of loaded columns */
            int32_t b0 = (int32_t)(odo_lcg(&s) % (uint32_t)C), bw = 1 + (int32_t)(odo_lcg(&s) % (uint32_t)(C / 2 + 1));
            for (int32_t c = 0; c < stride; c++) {
                uint32_t a = odo_lcg(&s) % 40;
                float x = (float)((int)(odo_lcg(&s) % 7) - 2);
                if (x == 0.0f && (odo_lcg(&s) & 1))
                    x = -0.0f;
                if (body && c >= b0 && c < b0 + bw)
                    x += 5.0f + (float)(odo_lcg(&s) % 20);
                if (bad && a == 0)
                    x = NAN;
                else if (bad && a == 1)
                    x = (odo_lcg(&s) & 1) ? INFINITY : -INFINITY;
                f[r * stride + c] = x;
                mk[r * stride + c] = !holes || odo_lcg(&s) % 8 != 0;
            }
        }
        km_odometry *o = NULL;
        cr_assert_eq(km_odometry_create(ctx, R, C, 40.0, NULL, &o), KM_OK);
        km_frame fr = {f, R, C, stride};
        km_mask m = {mk, R, C, stride};
        for (int with_mask = 0; with_mask < 2; with_mask++) {
            const km_mask *mp = with_mask ? &m : NULL;
            size_t wide = 0;
            float wide_med = 0.0f, low = INFINITY;
            for (int32_t r = 0; r < R; r++) {
                size_t n = 0;
                for (int32_t c = 0; c < C; c++) {
                    float x = f[r * stride + c];
                    if (isfinite(x) && (mp == NULL || mk[r * stride + c] != 0))
                        v[n++] = x;
                }
                float med = n == 0 ? 0.0f : stable_kth(v, n, n / 2);
                size_t above = 0;
                for (size_t k = 0; k < n; k++)
                    if (v[k] > med + thr)
                        above++;
                if (above * 4 >= n && n > 0) {
                    for (size_t k = 0; k < n; k++)
                        d[k] = fabsf(v[k] - med);
                    float tt = 3.0f * 1.4826f * stable_kth(d, n, n / 2);
                    tt = tt > thr ? tt : thr;
                    above = 0;
                    for (size_t k = 0; k < n; k++)
                        if (v[k] > med + tt)
                            above++;
                }
                if (above > wide) {
                    wide = above;
                    wide_med = med;
                }
                low = med < low ? med : low;
                want[r] = med;
            }
            if (!(wide * 4 < (size_t)C || wide_med - low >= thr))
                for (int32_t r = 0; r < R; r++) {
                    size_t n = 0;
                    for (int32_t c = 0; c < C; c++) {
                        float x = f[r * stride + c];
                        if (isfinite(x) && (mp == NULL || mk[r * stride + c] != 0))
                            v[n++] = x;
                    }
                    size_t k = n > wide / 2 ? n - 1 - wide / 2 : 0;
                    want[r] = n == 0 ? 0.0 : (double)stable_kth(v, n, k);
                }
            km_odometry_row_medians(o, &fr, mp, scratch, got);
            /* Past 64 values the library selects by partition, which may
               take either zero of a row holding both: those by value. */
            for (int32_t r = 0; r < R; r++)
                cr_assert(C > 64 && want[r] == 0.0 ? got[r] == 0.0
                                                   : memcmp(&got[r], &want[r], sizeof got[r]) == 0,
                             "case %d (%dx%d stride %d, mask %d) row %d: %a, expected %a", t,
                             (int)R, (int)C, (int)stride, with_mask, (int)r, got[r], want[r]);
        }
        km_odometry_free(o);
    }
}
