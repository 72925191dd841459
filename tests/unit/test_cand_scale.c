/* Peaks in scale space (docs/ALGORITHMS.md 10.4 Peaks in scale space,
 * km_candidate_params.scale_peaks): a weaker knot beside a stronger one,
 * on hand-built maps and mat sequences; the reference is analytic (the
 * matched filter's scale-normalised response to a Gaussian footprint of
 * sigma s peaks at the filter sigma s). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "detect/mapfilt.h"
#include "knotmap.h"
#include "mat_passes.h"

static km_ctx *ctx;

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
}

static void teardown(void)
{
    km_ctx_free(ctx);
}

TestSuite(cand_scale, .init = setup, .fini = teardown);

/* The strong knot (35 kPa, sigma 10 mm) and the weak one (12 kPa, sigma 4
 * mm) 30 mm apart along y, at x = 100 mm, y = 85 and 115 mm, on 5 mm cells. */
#define STRONG_A 35.0
#define STRONG_S 10.0
#define WEAK_A 12.0
#define WEAK_S 4.0
#define APART 30.0

static double two_knots(double x, double y)
{
    double ds = ((x - 100.0) * (x - 100.0) + (y - 85.0) * (y - 85.0));
    double dw = ((x - 100.0) * (x - 100.0) + (y - 85.0 - APART) * (y - 85.0 - APART));
    return STRONG_A * exp(-0.5 * ds / (STRONG_S * STRONG_S)) +
           WEAK_A * exp(-0.5 * dw / (WEAK_S * WEAK_S));
}

/* On the map itself (no noise, cells of 5 mm): the per-cell best scale has
 * no peak within +-10 mm of the weak knot (the strong knot's broad
 * footprint is every cell's best there), while the response has a local
 * maximum in (y, x, scale) at the weak knot's cell, at its own sigma. */
Test(cand_scale, weak_knot_beside_a_strong_one_peaks_at_its_own_scale)
{
    enum { H = 40, W = 40, S = 8 };
    static float a[H * W], nz[H * W], amp[H * W], snr[H * W], sg[H * W];
    static float samp[S * H * W], ssnr[S * H * W], scratch[5 * H * W];
    double sig[S];
    for (int k = 0; k < S; k++)
        sig[k] = 3.0 * pow(1.25, k); /* the default search, 3 .. 14.3 mm */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            a[y * W + x] = (float)two_knots(5.0 * x, 5.0 * y);
            nz[y * W + x] = 1.0f;
        }
    km_map_scale_search_keep(a, H, W, 5.0, 5.0, sig, S, S, nz, amp, snr, sg, NULL, NULL, NULL,
                             samp, ssnr, scratch);
    int wy = 23, wx = 20; /* the weak knot's cell (y 115 mm, x 100 mm) */
    cr_assert_eq(km_map_window_max(amp, H, W, wy, wx, 2, 2), 0,
                 "the best-scale amplitude map has a peak at the weak knot");
    km_scale_peak pk[64];
    size_t n = km_map_scale_peaks(samp, H, W, sig, S, 0.0, pk, 64);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        if (abs(pk[i].row - wy) <= 1 && abs(pk[i].col - wx) <= 1) {
            found = 1;
            cr_assert(fabs(pk[i].sigma_mm / WEAK_S - 1.0) < 0.15, "weak knot's sigma %g mm",
                      pk[i].sigma_mm);
        }
    cr_assert(found, "no peak in scale space at the weak knot (%zu peaks)", n);
    /* The strongest first; the strong knot's own at its sigma. */
    cr_assert_eq(pk[0].row, 17);
    cr_assert_eq(pk[0].col, 20);
    cr_assert(fabs(pk[0].sigma_mm / STRONG_S - 1.0) < 0.15, "strong knot's sigma %g mm",
              pk[0].sigma_mm);
    for (size_t i = 1; i < n; i++)
        cr_assert(pk[i].response <= pk[i - 1].response);
}

static double two_knots_at(double x, double y, const void *arg)
{
    (void)arg;
    return two_knots(x, y);
}

/* The mat sequence (mat_passes.h) with the two knots. */
static size_t run_mat(int scale_peaks, km_candidate *out, size_t cap)
{
    static float f[40 * 40];
    km_candidate_params p;
    km_candidate_params_default(&p);
    p.scale_peaks = scale_peaks;
    km_candidates *c = km_test_mat_passes(ctx, &p, 40, 40, f, two_knots_at, NULL);
    size_t n = 0;
    cr_assert_eq(km_candidates_get(ctx, c, out, cap, &n), KM_OK);
    km_candidates_free(c);
    return n;
}

static int near_weak(const km_candidate *c)
{
    return fabs(c->x_mm - 100.0) <= 5.0 && fabs(c->y_mm - 85.0 - APART) <= 5.0;
}

/* Without the peaks in scale space the weak knot is no candidate (no peak
 * of its own on the best-scale amplitude); with them it is, placed within
 * a pitch and sized at its own sigma, and the strong knot is kept. */
Test(cand_scale, weaker_knot_found_with_scale_peaks)
{
    km_candidate out[16];
    size_t n = run_mat(0, out, 16);
    cr_assert_eq(n, 1, "%zu candidates at the defaults", n);
    cr_assert(!near_weak(&out[0]));
    n = run_mat(1, out, 16);
    cr_assert_eq(n, 2, "%zu candidates with scale_peaks 1", n);
    cr_assert(!near_weak(&out[0]) && near_weak(&out[1]), "weak knot at %g, %g", out[1].x_mm,
              out[1].y_mm);
    cr_assert(fabs(out[1].size_mm / WEAK_S - 1.0) < 0.2, "size %g mm", out[1].size_mm);
    cr_assert(out[1].significance >= 5.0);
}

/* scale_peaks is 0 or 1. */
Test(cand_scale, scale_peaks_is_checked)
{
    km_candidate_params p;
    km_candidate_params_default(&p);
    cr_assert_eq(p.scale_peaks, 0);
    p.scale_peaks = 2;
    km_candidates *c = NULL;
    cr_assert_eq(km_candidates_create(ctx, KM_MODE_MAT, 8, 8, 5.0, 5.0, &p, &c),
                 KM_ERR_INVALID);
    cr_assert_null(c);
}
