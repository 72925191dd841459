/* Knot candidates (docs/ALGORITHMS.md 10) on hand-built mat sequences with
 * exact expected values. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "knotmap.h"
#include "core/select_small.h"

static km_ctx *ctx;

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
}

static void teardown(void)
{
    km_ctx_free(ctx);
}

TestSuite(candidates, .init = setup, .fini = teardown);

#define R 8
#define C 16

/* Four passes of 10 contact frames (all 40 kPa) separated by 10 empty
 * frames; a knot adds `knot` kPa at (3, 8) and half of it at (3, 7) and
 * (3, 9) in passes 0, 1 and 3 only. */
/* stuck_at_2_2: 0 none, 1 taxel (2, 2) stuck at 200, 2 dead (reads 0);
 * ridge: kPa added to column 12 in every row (a taut band along y). */
static km_candidates *run_passes_ex(float knot, int stuck_at_2_2, float ridge, double ridge_sigmas)
{
    km_candidates *c = NULL;
    float f[R * C];
    km_frame fr = {f, R, C, C};
    km_candidate_params p;
    km_candidate_params_default(&p);
    p.stuck_frames = 5; /* stuck from frame 5, inside the first pass */
    p.knot_sigma_mm = 4.5; /* one scale: the filter's figures below are analytic */
    /* Row medians of +-4 columns (4 x 4.5 mm / 5 mm = 3.6, rounded): with +-3
       the median beside the knot (column 9) would reach the ridge on column
       12 and the knot's own shoulder, and stand at 55, not 40. */
    p.background_sigmas = 4.0;
    p.ridge_sigmas = ridge_sigmas;
    cr_assert_eq(km_candidates_create(ctx, KM_MODE_MAT, R, C, 10.0, 5.0, &p, &c), KM_OK);
    int64_t frame = 0;
    for (int pass = 0; pass < 4; pass++) {
        for (int k = 0; k < 20; k++, frame++) {
            int contact = k < 10;
            for (int i = 0; i < R * C; i++)
                f[i] = contact ? 40.0f + 0.01f * (float)(frame % 3) : 0.0f;
            if (contact && pass != 2) { /* a footprint: half on the columns beside */
                f[3 * C + 8] += knot;
                f[3 * C + 7] += 0.5f * knot;
                f[3 * C + 9] += 0.5f * knot;
            }
            if (contact)
                for (int r = 0; r < R; r++)
                    f[r * C + 12] += ridge;
            if (stuck_at_2_2)
                f[2 * C + 2] = stuck_at_2_2 == 1 ? 200.0f : 0.0f;
            cr_assert_eq(km_candidates_add(ctx, c, &fr, NULL, NULL, 0.1 * (double)frame), KM_OK,
                         "%s", km_ctx_last_error(ctx));
        }
    }
    return c;
}

static km_candidates *run_passes(float knot, int stuck_at_2_2)
{
    return run_passes_ex(knot, stuck_at_2_2, 0.0f, 4.5);
}

/* Energy of the matched filter's kernel (docs/ALGORITHMS.md 10, step 4) for
 * the default footprint sigma 4.5 mm on 10 x 5 mm cells: Gaussian weights
 * over +-ceil(3 sigma) cells. */
static double kernel_energy(void)
{
    double sy = 4.5 / 10.0, sx = 4.5 / 5.0, ey = 0.0, ex = 0.0;
    for (int k = -2; k <= 2; k++)
        ey += exp(-(double)(k * k) / (sy * sy));
    for (int k = -3; k <= 3; k++)
        ex += exp(-(double)(k * k) / (sx * sx));
    return ey * ex;
}

Test(candidates, recurring_excess_on_a_mat)
{
    km_candidates *c = run_passes(30.0f, 0);
    int32_t ny, nx;
    double y0;
    km_candidates_shape(c, &ny, &nx, &y0);
    cr_assert_eq(ny, R);
    cr_assert_eq(nx, C);
    cr_assert_eq(y0, 0.0);

    float map[R * C];
    size_t needed = 0;
    cr_assert_eq(km_candidates_map(ctx, c, map, 3, &needed), KM_ERR_CAPACITY);
    cr_assert_eq(needed, (size_t)(R * C));
    cr_assert_eq(km_candidates_map(ctx, c, map, R * C, NULL), KM_OK);
    /* Pass maxima of the excess at the knot: 30, 30, 0, 30 -> mean 22.5
       (the background is the row median, 40 + the same jitter). */
    cr_assert_float_eq(map[3 * C + 8], 22.5f, 1e-4);
    cr_assert_float_eq(map[0], 0.0f, 1e-4);

    km_candidate out[4];
    size_t n = 0;
    cr_assert_eq(km_candidates_get(ctx, c, out, 4, &n), KM_OK);
    cr_assert_eq(n, 1);
    cr_assert_float_eq(out[0].x_mm, 8 * 5.0, 1e-9);
    cr_assert_float_eq(out[0].y_mm, 3 * 10.0, 1e-9);
    cr_assert_float_eq(out[0].peak, 22.5f, 1e-4);
    /* The excess (22.5 and 11.25 on the columns beside) seen through the
       footprint filter: the fitted amplitude is sum K A / sum K^2 =
       (22.5 + 2 * 11.25 * K(1 col)) / sum K^2, and the basin above half of
       it spans 3 columns x 1 row of 50 mm2 (the next cells out reach 0.23
       and 0.08 of it). */
    double amp = (22.5 + 2.0 * 11.25 * exp(-0.5 / ((4.5 / 5.0) * (4.5 / 5.0)))) / kernel_energy();
    cr_assert_float_eq(out[0].prominence, amp, 1e-4);
    cr_assert_float_eq(out[0].area_mm2, 150.0, 1e-9);
    cr_assert_eq(out[0].n_passes, 3);
    cr_assert_eq(out[0].n_covering, 4);
    cr_assert_float_eq(out[0].persistence, 0.75, 1e-12);
    cr_assert_float_eq(out[0].amplitude, amp, 1e-4);
    cr_assert_float_eq(out[0].size_mm, 4.5, 1e-6);
    cr_assert(out[0].significance > 0.0);
    cr_assert_float_eq(out[0].score, out[0].significance * 0.75, 1e-9);
    cr_assert_float_eq(out[0].first_time, 0.0, 1e-12);
    cr_assert_float_eq(out[0].last_time, 0.1 * (60 + 9), 1e-9);
    km_candidates_free(c);
}

Test(candidates, weak_excess_is_not_a_candidate)
{
    /* 5 kPa: below seen_threshold [8], and its fitted amplitude
       3.75 / sum K^2 is below min_prominence [4]. */
    km_candidates *c = run_passes(5.0f, 0);
    km_candidate out[4];
    size_t n = 9;
    cr_assert_eq(km_candidates_get(ctx, c, out, 4, &n), KM_OK);
    cr_assert_eq(n, 0);
    km_candidates_free(c);
}

Test(candidates, stuck_taxel_is_ignored)
{
    km_candidates *c = run_passes(30.0f, 1);
    km_candidate out[4];
    size_t n = 0;
    cr_assert_eq(km_candidates_get(ctx, c, out, 4, &n), KM_OK);
    cr_assert_eq(n, 1);
    cr_assert_float_eq(out[0].x_mm, 40.0, 1e-9);
    km_candidates_free(c);
}

Test(candidates, dead_taxel_is_ignored)
{
    km_candidates *c = run_passes(30.0f, 2);
    float map[R * C];
    cr_assert_eq(km_candidates_map(ctx, c, map, R * C, NULL), KM_OK);
    /* Used for the 5 frames before its run of zeros was long enough to
       tell: one pass, below min_coverage; its neighbours keep the median. */
    cr_assert(isnan(map[2 * C + 2]));
    cr_assert_float_eq(map[2 * C + 3], 0.0f, 0.02);
    km_candidate out[4];
    size_t n = 0;
    cr_assert_eq(km_candidates_get(ctx, c, out, 4, &n), KM_OK);
    cr_assert_eq(n, 1);
    cr_assert_float_eq(out[0].x_mm, 40.0, 1e-9);
    km_candidates_free(c);
}

Test(candidates, ridge_along_y_is_not_a_candidate)
{
    /* 20 kPa along column 12 in every row: a taut band, not a knot. */
    km_candidates *c = run_passes_ex(30.0f, 0, 20.0f, 4.5);
    km_candidate out[8];
    size_t n = 0;
    cr_assert_eq(km_candidates_get(ctx, c, out, 8, &n), KM_OK);
    cr_assert_eq(n, 1);
    cr_assert_float_eq(out[0].x_mm, 40.0, 1e-9);
    km_candidates_free(c);
    /* Without the ridge removal the elongation test alone keeps it out
       (flat along y: the curvatures are not both negative). */
    c = run_passes_ex(30.0f, 0, 20.0f, 0.0);
    cr_assert_eq(km_candidates_get(ctx, c, out, 8, &n), KM_OK);
    cr_assert_eq(n, 1);
    /* The position is taken on the map filtered at the fitted 4.5 mm, whose
       kernel (+-3 columns) reaches the ridge 4 columns away on the knot's
       right shoulder: 0.011 mm to the right. */
    cr_assert_float_eq(out[0].x_mm, 40.0, 0.05, "x %.17g", out[0].x_mm);
    km_candidates_free(c);
}

/* The passes of run_passes_ex with a knot (footprint as there) and extra
   excesses: `hot` kPa on taxel (5, 3) alone (a high-gain taxel), and
   `band` kPa on a band two cells wide running diagonally across the whole
   map, (r, 2 + r) and (r, 3 + r) (a taut band along oblique fibres). */
static km_candidate *run_distractors(float hot, float band, size_t *n, km_candidate *out)
{
    km_candidates *c = NULL;
    float f[R * C];
    km_frame fr = {f, R, C, C};
    /* Defaults (the peak window +-10 mm, 1 row here).  Until the elongation
       test measured broad footprints over a window scaled to their sigma, a
       local maximum on the band (row 2, fitted sigma 8 mm) passed it with
       the 3 x 3 cells of the best-scale map, and this case was pinned to a
       20 mm window (ALGORITHMS 10.4 Elongated peaks). */
    cr_assert_eq(km_candidates_create(ctx, KM_MODE_MAT, R, C, 10.0, 5.0, NULL, &c), KM_OK);
    int64_t frame = 0;
    for (int pass = 0; pass < 4; pass++)
        for (int k = 0; k < 20; k++, frame++) {
            int contact = k < 10;
            for (int i = 0; i < R * C; i++) /* 1 kPa of fixed-pattern noise */
                f[i] = contact ? 40.0f + (float)((i * 7919) % 11) * 0.2f - 1.0f : 0.0f;
            if (contact) {
                f[3 * C + 12] += 30.0f;
                f[3 * C + 11] += 15.0f;
                f[3 * C + 13] += 15.0f;
                f[5 * C + 3] += hot;
                for (int r = 0; r < R; r++) {
                    f[r * C + 2 + r] += band;
                    f[r * C + 3 + r] += band;
                }
            }
            cr_assert_eq(km_candidates_add(ctx, c, &fr, NULL, NULL, 0.1 * (double)frame), KM_OK);
        }
    cr_assert_eq(km_candidates_get(ctx, c, out, 16, n), KM_OK);
    km_candidates_free(c);
    return out;
}

Test(candidates, hot_taxel_and_oblique_band_are_not_candidates)
{
    km_candidate out[16];
    size_t n = 0;
    run_distractors(0.0f, 0.0f, &n, out);
    cr_assert_eq(n, 1);
    cr_assert_float_eq(out[0].x_mm, 60.0, 2.5); /* the vertex within half a cell */
    /* A taxel reading 20 kPa (half the contact) above its neighbours: only
       the knot. */
    run_distractors(20.0f, 0.0f, &n, out);
    cr_assert_eq(n, 1, "%zu candidates, the last at %g, %g", n, out[n - 1].x_mm, out[n - 1].y_mm);
    cr_assert_float_eq(out[0].x_mm, 60.0, 2.5); /* the vertex within half a cell */
    /* A band of 15 kPa: the knot first, and nothing on the band inside the
       map (where it runs off the map edge, rows 0 and 7, its end can still
       look like a blob: ALGORITHMS 10.4). */
    run_distractors(20.0f, 15.0f, &n, out);
    cr_assert_geq(n, 1);
    cr_assert_float_eq(out[0].x_mm, 60.0, 2.5);
    for (size_t k = 1; k < n; k++)
        cr_assert(out[k].y_mm < 5.0 || out[k].y_mm > 65.0, "candidate %zu at %g, %g on the band",
                  k, out[k].x_mm, out[k].y_mm);
}

Test(candidates, invalid_use)
{
    km_candidates *c = NULL;
    km_candidate_params p;
    km_candidate_params_default(&p);
    cr_assert_eq(p.min_coverage, 2);
    cr_assert_eq(p.min_snr, 5.0);
    p.background_sigmas = 0.0;
    cr_assert_eq(km_candidates_create(ctx, KM_MODE_MAT, R, C, 10, 5, &p, &c), KM_ERR_INVALID);
    km_candidate_params_default(&p);
    p.min_snr = NAN;
    cr_assert_eq(km_candidates_create(ctx, KM_MODE_MAT, R, C, 10, 5, &p, &c), KM_ERR_INVALID);
    km_candidate_params_default(&p);
    p.ridge_sigmas = -1.0;
    cr_assert_eq(km_candidates_create(ctx, KM_MODE_MAT, R, C, 10, 5, &p, &c), KM_ERR_INVALID);
    cr_assert_null(c);
    cr_assert_eq(km_candidates_create(ctx, 7, R, C, 10, 5, NULL, &c), KM_ERR_INVALID);
    cr_assert_eq(km_candidates_create(ctx, KM_MODE_ROLLER, R, C, 10, 5, NULL, &c), KM_OK);
    float f[R * C] = {0};
    km_frame fr = {f, R, C, C};
    cr_assert_eq(km_candidates_add(ctx, c, &fr, NULL, NULL, 0.0), KM_ERR_INVALID);
    int32_t ny = -1;
    km_candidates_shape(c, &ny, NULL, NULL);
    cr_assert_eq(ny, 0);
    km_candidates_free(c);
    km_candidates_free(NULL);
}

/* The rank-count selection shared by the candidates' window medians and
 * the odometry's row medians returns exactly what a stable insertion sort
 * puts at position k: same value, same bits (signed zeros too), for every
 * k, on short arrays with many ties. */
static void insertion_sort(float *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        float x = v[i];
        size_t j = i;
        while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

Test(candidates, rank_selection_matches_stable_sort)
{
    float v[128], sorted[128];
    unsigned seed = 12345u;
    for (int it = 0; it < 3000; it++) {
        size_t n = 1 + (size_t)(it % 128);
        int levels = (it % 3 == 0) ? 3 : 1000;
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            int q = (int)((seed >> 16) % (unsigned)levels) - levels / 2;
            v[i] = (float)q * 0.5f;
            if (q == 0 && ((seed >> 8) & 1u))
                v[i] = -0.0f;
        }
        memcpy(sorted, v, n * sizeof *v);
        insertion_sort(sorted, n);
        for (size_t k = 0; k < n; k++) {
            /* The sorting networks (32 values, or sorts of 32 merged). */
            float net = km_select128_f(v, n, k);
            cr_assert_eq(memcmp(&net, &sorted[k], sizeof net), 0,
                         "iteration %d n %zu k %zu: network %g (bits differ) vs %g", it, n, k,
                         (double)net, (double)sorted[k]);
            float port = km_select128_portable_f(v, n, k);
            cr_assert_eq(memcmp(&port, &sorted[k], sizeof port), 0,
                         "iteration %d n %zu k %zu: portable %g (bits differ) vs %g", it, n, k,
                         (double)port, (double)sorted[k]);
            if (n > 64)
                continue; /* the O(n^2) forms below serve up to 64 */
            float got = km_select_rank_f(v, n, k);
            cr_assert_eq(memcmp(&got, &sorted[k], sizeof got), 0,
                         "iteration %d n %zu k %zu: %g (bits differ) vs %g", it, n, k,
                         (double)got, (double)sorted[k]);
            /* The double form (the odometry's floor), on the same values. */
            double vd[64];
            for (size_t i = 0; i < n; i++)
                vd[i] = (double)v[i];
            double gd = km_select_rank_d(vd, n, k), wd = (double)sorted[k];
            cr_assert_eq(memcmp(&gd, &wd, sizeof gd), 0, "iteration %d n %zu k %zu: double", it,
                         n, k);
            if (k + 1 < n) {
                float lo = NAN, hi = NAN;
                km_select_rank2_f(v, n, k, &lo, &hi);
                cr_assert_eq(memcmp(&lo, &sorted[k], sizeof lo), 0, "iteration %d k %zu lo", it, k);
                cr_assert_eq(memcmp(&hi, &sorted[k + 1], sizeof hi), 0, "iteration %d k %zu hi", it,
                             k);
            }
        }
    }
}

/* A taxel repeating one value for stuck_frames frames is stuck from then
 * on, counted exactly at the threshold (not one frame early or late). */
Test(candidates, stuck_run_threshold_is_exact)
{
    km_candidate_params p;
    km_candidate_params_default(&p);
    p.stuck_frames = 5;
    p.min_coverage = 1; /* one long pass: every cell it covered has a value */
    km_candidates *c = NULL;
    cr_assert_eq(km_candidates_create(ctx, KM_MODE_MAT, R, C, 10.0, 5.0, &p, &c), KM_OK);
    float f[R * C];
    km_frame fr = {f, R, C, C};
    /* Frames 0..4: (1, 1) repeats 7 (runs 0..4: not yet stuck); the other
       taxels change every frame.  Frames 5..: it changes again. */
    for (int t = 0; t < 12; t++) {
        for (int i = 0; i < R * C; i++)
            f[i] = 40.0f + 0.01f * (float)((i * 7 + t * 13) % 17) + 0.001f * (float)t;
        if (t <= 4)
            f[1 * C + 1] = 7.0f;
        cr_assert_eq(km_candidates_add(ctx, c, &fr, NULL, NULL, 0.01 * t), KM_OK);
    }
    float map[R * C];
    size_t need = 0;
    cr_assert_eq(km_candidates_map(ctx, c, map, R * C, &need), KM_OK);
    cr_assert(need == R * C);
    km_candidates_free(c);
    cr_assert_eq(km_candidates_create(ctx, KM_MODE_MAT, R, C, 10.0, 5.0, &p, &c), KM_OK);
    for (int t = 0; t < 12; t++) {
        for (int i = 0; i < R * C; i++)
            f[i] = 40.0f + 0.01f * (float)((i * 7 + t * 13) % 17) + 0.001f * (float)t;
        if (t <= 5)
            f[1 * C + 1] = 7.0f; /* run reaches 5 at frame 5: stuck */
        cr_assert_eq(km_candidates_add(ctx, c, &fr, NULL, NULL, 0.01 * t), KM_OK);
    }
    float map2[R * C];
    cr_assert_eq(km_candidates_map(ctx, c, map2, R * C, &need), KM_OK);
    cr_assert(isnan(map2[1 * C + 1]), "stuck taxel's cell must be NaN, got %g", (double)map2[1 * C + 1]);
    cr_assert(!isnan(map[1 * C + 1]), "a run of 4 must not mark the taxel");
    km_candidates_free(c);
}

/* Four mat passes on 5 mm cells, each 10 contact frames then 10 empty
 * ones: in contact a taxel reads 40 kPa, a fixed pattern of +-1 kPa and
 * shape(dx, dy) kPa, (dx, dy) in mm from taxel (cy, cx). */
static void mat_passes(km_candidates *c, float *f, const km_frame *fr, int cy, int cx,
                       double (*shape)(double dx, double dy, const double *arg),
                       const double *arg)
{
    int64_t frame = 0;
    for (int pass = 0; pass < 4; pass++)
        for (int k = 0; k < 20; k++, frame++) {
            int contact = k < 10;
            for (int r = 0; r < fr->rows; r++)
                for (int x = 0; x < fr->cols; x++) {
                    int i = r * fr->cols + x;
                    double dy = 5.0 * (r - cy), dx = 5.0 * (x - cx);
                    f[i] = contact ? 40.0f + (float)((i * 7919) % 11) * 0.2f - 1.0f +
                                         (float)shape(dx, dy, arg)
                                   : 0.0f;
                }
            cr_assert_eq(km_candidates_add(ctx, c, fr, NULL, NULL, 0.1 * (double)frame), KM_OK);
        }
}

/* A round footprint: arg = {sigma mm, amplitude kPa}. */
static double round_knot(double dx, double dy, const double *arg)
{
    return arg[1] * exp(-0.5 * (dx * dx + dy * dy) / (arg[0] * arg[0]));
}

/* A ridge at 30 degrees to y: arg = {sigma mm across, amplitude kPa}. */
static double oblique_band(double dx, double dy, const double *arg)
{
    const double ux = 0.5, uy = 0.8660254037844386; /* along the band */
    double across = dx * uy - dy * ux;               /* distance from the band's axis */
    return arg[1] * exp(-0.5 * across * across / (arg[0] * arg[0]));
}

/* The ridge median is a length on the body, not a cell count: a broad knot
 * (footprint sigma 9 mm, 20 kPa) on a mat of fine 5 mm rows keeps its
 * amplitude.  With the old +-4 cells (+-20 mm here) the column median at
 * the knot took the knot's own shoulder (0.54 of its height) and halved
 * it; +-4.5 x 15 mm (the default ridge_sigmas times the largest footprint
 * sigma searched) spans 27 rows, of which the knot covers under half. */
Test(candidates, ridge_window_is_a_length_on_fine_rows)
{
    enum { RR = 32, CC = 32 };
    km_candidates *c = NULL;
    static float f[RR * CC];
    km_frame fr = {f, RR, CC, CC};
    cr_assert_eq(km_candidates_create(ctx, KM_MODE_MAT, RR, CC, 5.0, 5.0, NULL, &c), KM_OK);
    const double s = 9.0, a = 20.0;
    const double knot[2] = {s, a};
    mat_passes(c, f, &fr, 16, 16, round_knot, knot);
    km_candidate out[8];
    size_t n = 0;
    cr_assert_eq(km_candidates_get(ctx, c, out, 8, &n), KM_OK);
    cr_assert_eq(n, 1);
    cr_assert_float_eq(out[0].x_mm, 80.0, 2.5);
    cr_assert_float_eq(out[0].y_mm, 80.0, 2.5);
    /* Measured: amplitude 15.8 (16.6 without ridge removal, 8.7 with the
       old +-20 mm; the row median of the frames, +-30 mm, takes part of the
       knot's shoulder too), size within 20%. */
    cr_assert(out[0].amplitude > 0.7 * a && out[0].amplitude < 0.9 * a, "amplitude %g",
              out[0].amplitude);
    cr_assert(fabs(out[0].size_mm / s - 1.0) < 0.2, "size %g mm", out[0].size_mm);
    km_candidates_free(c);
}

/* A broad taut band crossing a mat obliquely (a Gaussian ridge of 12 kPa,
 * sigma 6 mm across, at 30 degrees to y, on 5 mm cells, 1 kPa of fixed
 * pattern): the column median keeps most of it, and local maxima along it
 * fit footprints of 6-10 mm.  No candidate on it away from the map's
 * edges; the 3 x 3 cells of the best-scale map alone let some through. */
Test(candidates, broad_oblique_band_is_not_a_candidate)
{
    enum { RR = 40, CC = 32 };
    km_candidates *c = NULL;
    static float f[RR * CC];
    km_frame fr = {f, RR, CC, CC};
    cr_assert_eq(km_candidates_create(ctx, KM_MODE_MAT, RR, CC, 5.0, 5.0, NULL, &c), KM_OK);
    const double band[2] = {6.0, 12.0};
    mat_passes(c, f, &fr, 20, 16, oblique_band, band);
    km_candidate out[32];
    size_t n = 0;
    cr_assert_eq(km_candidates_get(ctx, c, out, 32, &n), KM_OK);
    for (size_t k = 0; k < n; k++)
        cr_assert(out[k].y_mm < 25.0 || out[k].y_mm > 170.0 || out[k].x_mm < 25.0 ||
                      out[k].x_mm > 130.0,
                  "%zu candidates, candidate %zu at %g, %g (z %g, size %g mm) on the band", n,
                  k, out[k].x_mm, out[k].y_mm, out[k].significance, out[k].size_mm);
    km_candidates_free(c);
}
