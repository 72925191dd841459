/* Peak detection: hand-made fixtures for every rule of docs/ALGORITHMS.md
 * section 3, brute-force references on random frames, portable vs AVX2. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detect_internal.h"
#include "detect/keysort.h"
#include "detect/prominence.h"
#include "internal.h"
#include "knotmap.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

#define CAP 4096

static km_peak g_pk[CAP];

/* Run the detector; returns the count (asserting the status). */
static size_t run_isa(const float *data, int32_t rows, int32_t cols, ptrdiff_t stride,
                      const uint8_t *mask, const km_peak_params *p, km_peak *out, km_isa isa)
{
    km_ctx *ctx = NULL;
    km_detector *det = NULL;
    size_t n = 0;
    km_frame f = {data, rows, cols, stride};
    km_mask m = {mask, rows, cols, cols};
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    cr_assert_eq(km_detector_create(ctx, rows, cols, p, &det), KM_OK, "%s", km_ctx_last_error(ctx));
    km_status st = km_detector_apply_isa(ctx, det, &f, mask ? &m : NULL, out, CAP, &n, isa);
    cr_assert_eq(st, KM_OK, "%s", km_ctx_last_error(ctx));
    km_detector_free(det);
    km_ctx_free(ctx);
    return n;
}

static size_t run(const float *data, int32_t rows, int32_t cols, const uint8_t *mask,
                  const km_peak_params *p)
{
    return run_isa(data, rows, cols, cols, mask, p, g_pk, KM_ISA_AUTO);
}

static km_peak_params params(int32_t r, int32_t border)
{
    km_peak_params p;
    km_peak_params_default(&p);
    p.min_distance = r;
    p.exclude_border = border;
    return p;
}

#define ASSERT_PEAK(k, r_, c_) \
    cr_assert(g_pk[k].row == (r_) && g_pk[k].col == (c_), "peak %d at (%d,%d), expected (%d,%d)", \
              (int)(k), g_pk[k].row, g_pk[k].col, (int)(r_), (int)(c_))

Test(detect, defaults)
{
    km_peak_params p;
    km_peak_params_default(&p);
    cr_assert_eq(p.min_distance, 1);
    cr_assert(isnan(p.threshold_abs));
    cr_assert_eq(p.threshold_rel, 0.0);
    cr_assert_eq(p.exclude_border, -1);
    cr_assert_eq(p.plateau, KM_PLATEAU_ALL);
    cr_assert(isinf(p.p_norm));
    cr_assert_eq(p.num_peaks, -1);
    cr_assert_eq(p.want, KM_WANT_ALL);
    cr_assert(isinf(p.saturation));
}

Test(detect, single_interior_peak)
{
    float f[25] = {0};
    f[2 * 5 + 2] = 5.0f;
    f[1 * 5 + 1] = 1.0f;
    km_peak_params p = params(1, -1);
    cr_assert_eq(run(f, 5, 5, NULL, &p), 1);
    ASSERT_PEAK(0, 2, 2);
    cr_assert_eq(g_pk[0].value, 5.0f);
    cr_assert_eq(g_pk[0].flags, 0u);
    /* Prominence: global maximum gets max - min. */
    cr_assert_float_eq(g_pk[0].prominence, 5.0f, 1e-6);
}

Test(detect, plateau_2x2_all_and_one)
{
    float f[36] = {0};
    f[2 * 6 + 2] = f[2 * 6 + 3] = f[3 * 6 + 2] = f[3 * 6 + 3] = 5.0f;
    km_peak_params p = params(1, 0);
    cr_assert_eq(run(f, 6, 6, NULL, &p), 4);
    ASSERT_PEAK(0, 2, 2);
    ASSERT_PEAK(1, 2, 3);
    ASSERT_PEAK(2, 3, 2);
    ASSERT_PEAK(3, 3, 3);
    for (int k = 0; k < 4; k++)
        cr_assert_eq(g_pk[k].flags & KM_PEAK_PLATEAU, 0u);
    /* Only the first plateau taxel in the total order is a birth. */
    cr_assert_float_eq(g_pk[0].prominence, 5.0f, 1e-6);
    cr_assert_float_eq(g_pk[1].prominence, 0.0f, 1e-6);
    p.plateau = KM_PLATEAU_ONE;
    cr_assert_eq(run(f, 6, 6, NULL, &p), 1);
    ASSERT_PEAK(0, 2, 2); /* four members equidistant: the first in raster order */
    cr_assert_float_eq(g_pk[0].y, 2.5, 1e-12);
    cr_assert_float_eq(g_pk[0].x, 2.5, 1e-12);
    cr_assert(g_pk[0].flags & KM_PEAK_PLATEAU);
    cr_assert_float_eq(g_pk[0].prominence, 5.0f, 1e-6);
    cr_assert_eq(g_pk[0].area_taxels, 4);
}

/* Plateau "one" without the sub-pixel fit: a peak of one taxel is placed
 * at its taxel (y = row, x = col exactly), anywhere on the grid, its edges
 * included; a plateau's peak at its centroid, inside the grid.  Frames of
 * few levels, so that both occur. */
Test(detect, plateau_one_single_taxels_at_their_taxel)
{
    enum { R = 23, C = 31 };
    float f[R * C];
    int singles = 0, plateaus = 0;
    srand(12);
    for (int it = 0; it < 40; it++) {
        for (int k = 0; k < R * C; k++)
            f[k] = (float)(rand() % (it % 2 ? 40 : 6));
        km_peak_params p = params(1, 0);
        p.plateau = KM_PLATEAU_ONE;
        p.want = 0;
        size_t n = run(f, R, C, NULL, &p);
        for (size_t k = 0; k < n; k++) {
            const km_peak *q = &g_pk[k];
            if (q->flags & KM_PEAK_PLATEAU) {
                cr_assert(q->y >= 0.0 && q->y <= R - 1 && q->x >= 0.0 && q->x <= C - 1);
                plateaus++;
                continue;
            }
            cr_assert(q->y == (double)q->row && q->x == (double)q->col,
                      "iteration %d peak %zu at (%d, %d): y %g, x %g", it, k, q->row, q->col,
                      q->y, q->x);
            singles++;
        }
    }
    cr_assert(singles > 1000 && plateaus > 100, "%d single, %d plateaus", singles, plateaus);
}

Test(detect, plateau_one_representative_nearest_centroid)
{
    /* An L-shaped plateau of 3 taxels: centroid (1.333, 1.333), nearest
     * member (1,1). */
    float f[25] = {0};
    f[1 * 5 + 1] = f[1 * 5 + 2] = f[2 * 5 + 1] = 3.0f;
    km_peak_params p = params(1, 0);
    p.plateau = KM_PLATEAU_ONE;
    cr_assert_eq(run(f, 5, 5, NULL, &p), 1);
    ASSERT_PEAK(0, 1, 1);
    cr_assert_float_eq(g_pk[0].y, 4.0 / 3.0, 1e-12);
    cr_assert_float_eq(g_pk[0].x, 4.0 / 3.0, 1e-12);
}

Test(detect, equal_peaks_r_and_r_minus_1_apart)
{
    float f[9 * 15];
    km_peak_params p = params(3, 0);

    memset(f, 0, sizeof f);
    f[4 * 15 + 4] = f[4 * 15 + 7] = 2.0f; /* exactly r apart: both kept */
    cr_assert_eq(run(f, 9, 15, NULL, &p), 2);
    ASSERT_PEAK(0, 4, 4);
    ASSERT_PEAK(1, 4, 7);

    memset(f, 0, sizeof f);
    f[4 * 15 + 4] = f[4 * 15 + 6] = 2.0f; /* r-1 apart: the later one dropped */
    cr_assert_eq(run(f, 9, 15, NULL, &p), 1);
    ASSERT_PEAK(0, 4, 4);

    /* Diagonal (2, 2): Chebyshev 2, Euclid 2.83 both < 3; Manhattan 4 >= 3. */
    memset(f, 0, sizeof f);
    f[4 * 15 + 4] = f[6 * 15 + 6] = 2.0f;
    p.p_norm = INFINITY;
    cr_assert_eq(run(f, 9, 15, NULL, &p), 1);
    p.p_norm = 2.0;
    cr_assert_eq(run(f, 9, 15, NULL, &p), 1);
    p.p_norm = 1.0;
    cr_assert_eq(run(f, 9, 15, NULL, &p), 2);
}

Test(detect, unequal_peaks_within_r_only_the_higher)
{
    float f[7 * 7] = {0};
    f[3 * 7 + 2] = 3.0f;
    f[3 * 7 + 4] = 2.0f;
    km_peak_params p = params(2, 0);
    cr_assert_eq(run(f, 7, 7, NULL, &p), 1);
    ASSERT_PEAK(0, 3, 2);
    p.min_distance = 1;
    cr_assert_eq(run(f, 7, 7, NULL, &p), 2);
}

static void edge_frame(float *f)
{
    memset(f, 0, 25 * sizeof *f);
    f[0] = 9;
    f[4] = 8;
    f[20] = 7;
    f[24] = 6;
    f[2] = 5;
    f[10] = 4;
    f[14] = 3;
    f[22] = 2;
    f[12] = 1;
}

Test(detect, every_edge_and_corner)
{
    float f[25];
    edge_frame(f);
    km_peak_params p = params(1, 0);
    cr_assert_eq(run(f, 5, 5, NULL, &p), 9);
    int expect[9][2] = {{0, 0}, {0, 4}, {4, 0}, {4, 4}, {0, 2}, {2, 0}, {2, 4}, {4, 2}, {2, 2}};
    for (int k = 0; k < 9; k++) {
        ASSERT_PEAK(k, expect[k][0], expect[k][1]);
        cr_assert_eq(g_pk[k].flags & KM_PEAK_AT_BORDER, k < 8 ? KM_PEAK_AT_BORDER : 0u);
    }
    p.exclude_border = -1; /* = min_distance = 1 */
    cr_assert_eq(run(f, 5, 5, NULL, &p), 1);
    ASSERT_PEAK(0, 2, 2);
    p.exclude_border = 2;
    cr_assert_eq(run(f, 5, 5, NULL, &p), 1);
    p.exclude_border = 3;
    cr_assert_eq(run(f, 5, 5, NULL, &p), 0);
    /* With r = 2 the window of (2,2) is clipped too. */
    p = params(2, 0);
    f[12] = 10;
    cr_assert_eq(run(f, 5, 5, NULL, &p), 1);
    ASSERT_PEAK(0, 2, 2);
    cr_assert_eq(g_pk[0].flags & KM_PEAK_AT_BORDER, 0u); /* rows 0..4 fit exactly */
    p = params(3, 0);
    cr_assert_eq(run(f, 5, 5, NULL, &p), 1);
    ASSERT_PEAK(0, 2, 2);
    cr_assert(g_pk[0].flags & KM_PEAK_AT_BORDER);
}

Test(detect, all_negative_border_peak_found)
{
    float f[16];
    for (int k = 0; k < 16; k++)
        f[k] = -5.0f;
    f[1] = -1.0f;
    km_peak_params p = params(1, 0);
    cr_assert_eq(run(f, 4, 4, NULL, &p), 1);
    ASSERT_PEAK(0, 0, 1);
    cr_assert(g_pk[0].flags & KM_PEAK_AT_BORDER);
    cr_assert_float_eq(g_pk[0].prominence, 4.0f, 1e-6);
}

Test(detect, constant_frame_none)
{
    float f[20];
    for (int k = 0; k < 20; k++)
        f[k] = 3.0f;
    km_peak_params p = params(1, 0);
    p.threshold_abs = -100.0;
    cr_assert_eq(run(f, 4, 5, NULL, &p), 0);
    /* Constant over the valid taxels, whatever the masked ones hold. */
    uint8_t m[20];
    memset(m, 1, sizeof m);
    f[7] = 50.0f;
    m[7] = 0;
    cr_assert_eq(run(f, 4, 5, m, &p), 0);
}

Test(detect, value_equal_threshold_is_not_a_peak)
{
    float f[25] = {0};
    f[12] = 5.0f;
    f[0] = 10.0f;
    km_peak_params p = params(1, 0);
    p.threshold_abs = 5.0;
    cr_assert_eq(run(f, 5, 5, NULL, &p), 1);
    ASSERT_PEAK(0, 0, 0);
    p.threshold_abs = 4.999;
    cr_assert_eq(run(f, 5, 5, NULL, &p), 2);
    /* Relative: T = 0.5 * 10 = 5, strict. */
    p.threshold_abs = NAN;
    p.threshold_rel = 0.5;
    cr_assert_eq(run(f, 5, 5, NULL, &p), 1);
    f[12] = 5.0001f;
    cr_assert_eq(run(f, 5, 5, NULL, &p), 2);
}

Test(detect, nan_inf_and_masked_next_to_peak)
{
    float f[25] = {0};
    uint8_t m[25];
    memset(m, 1, sizeof m);
    f[12] = 5.0f;
    f[13] = NAN;
    f[11] = INFINITY;
    f[7] = 100.0f; /* masked below */
    m[7] = 0;
    f[17] = -INFINITY;
    km_peak_params p = params(1, 0);
    cr_assert_eq(run(f, 5, 5, m, &p), 1);
    ASSERT_PEAK(0, 2, 2);
    cr_assert_eq(g_pk[0].value, 5.0f);
    /* Same without a mask: the masked 100 is a real neighbour and wins. */
    f[11] = 0.0f;
    cr_assert_eq(run(f, 5, 5, NULL, &p), 1);
    ASSERT_PEAK(0, 1, 2);
    /* The sub-pixel fit cannot use the invalid neighbours: fallback. */
    f[7] = 0.0f;
    cr_assert_eq(run(f, 5, 5, m, &p), 1);
    ASSERT_PEAK(0, 2, 2);
    cr_assert(g_pk[0].flags & KM_PEAK_FIT_FALLBACK);
}

Test(detect, all_masked_and_all_nan)
{
    float f[12];
    uint8_t m[12] = {0};
    for (int k = 0; k < 12; k++)
        f[k] = (float)k;
    km_peak_params p = params(1, 0);
    cr_assert_eq(run(f, 3, 4, m, &p), 0);
    for (int k = 0; k < 12; k++)
        f[k] = NAN;
    cr_assert_eq(run(f, 3, 4, NULL, &p), 0);
}

Test(detect, tiny_frames)
{
    float one = 3.0f;
    km_peak_params p = params(1, 0);
    cr_assert_eq(run(&one, 1, 1, NULL, &p), 0); /* threshold = min = 3, strict */
    p.threshold_abs = 0.0;
    cr_assert_eq(run(&one, 1, 1, NULL, &p), 1);
    ASSERT_PEAK(0, 0, 0);
    p = params(1, 0);
    float row[5] = {1, 3, 2, 5, 4};
    cr_assert_eq(run(row, 1, 5, NULL, &p), 2);
    ASSERT_PEAK(0, 0, 3);
    ASSERT_PEAK(1, 0, 1);
    cr_assert_eq(run(row, 5, 1, NULL, &p), 2);
    ASSERT_PEAK(0, 3, 0);
    ASSERT_PEAK(1, 1, 0);
    float sq[4] = {1, 2, 3, 4};
    cr_assert_eq(run(sq, 2, 2, NULL, &p), 1);
    ASSERT_PEAK(0, 1, 1);
    p.exclude_border = -1;
    cr_assert_eq(run(sq, 2, 2, NULL, &p), 0);
}

Test(detect, strided_view_with_poison)
{
    enum { R = 9, C = 11, S = 16 };
    float dense[R * C], strided[R * S];
    km_peak peaks_a[64], peaks_b[64];
    srand(7);
    for (int i = 0; i < R; i++) {
        for (int j = 0; j < S; j++) {
            float v = (float)(rand() % 1000) / 100.0f;
            if (j < C) {
                dense[i * C + j] = v;
                strided[i * S + j] = v;
            } else {
                strided[i * S + j] = (j % 2) ? 1e30f : NAN;
            }
        }
    }
    for (int r = 1; r <= 2; r++) {
        km_peak_params p = params(r, 0);
        size_t na = run_isa(dense, R, C, C, NULL, &p, peaks_a, KM_ISA_AUTO);
        size_t nb = run_isa(strided, R, C, S, NULL, &p, peaks_b, KM_ISA_AUTO);
        cr_assert_eq(na, nb);
        cr_assert(na > 0);
        cr_assert_eq(memcmp(peaks_a, peaks_b, na * sizeof *peaks_a), 0);
        nb = run_isa(strided, R, C, S, NULL, &p, peaks_b, KM_ISA_PORTABLE);
        cr_assert_eq(na, nb);
        cr_assert_eq(memcmp(peaks_a, peaks_b, na * sizeof *peaks_a), 0);
    }
}

Test(detect, capacity_returns_count_needed)
{
    float f[25];
    edge_frame(f);
    km_ctx *ctx = NULL;
    km_peak_params p = params(1, 0);
    km_frame fr = {f, 5, 5, 5};
    km_peak out[2];
    size_t n = 0;
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    cr_assert_eq(km_find_peaks(ctx, &fr, NULL, &p, out, 2, &n), KM_ERR_CAPACITY);
    cr_assert_eq(n, 9);
    cr_assert_eq(out[0].row, 0);
    cr_assert_eq(out[0].col, 0);
    cr_assert_eq(out[1].col, 4);
    cr_assert_eq(km_find_peaks(ctx, &fr, NULL, &p, NULL, 0, &n), KM_ERR_CAPACITY);
    cr_assert_eq(n, 9);
    p.num_peaks = 2;
    cr_assert_eq(km_find_peaks(ctx, &fr, NULL, &p, out, 2, &n), KM_OK);
    cr_assert_eq(n, 2);
    km_ctx_free(ctx);
}

Test(detect, invalid_arguments)
{
    km_ctx *ctx = NULL;
    km_detector *det = NULL;
    km_peak_params p = params(0, 0);
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    cr_assert_eq(km_detector_create(ctx, 4, 4, &p, &det), KM_ERR_INVALID);
    cr_assert_null(det);
    p = params(1, 0);
    p.p_norm = 0.5;
    cr_assert_eq(km_detector_create(ctx, 4, 4, &p, &det), KM_ERR_INVALID);
    p = params(1, 0);
    cr_assert_eq(km_detector_create(ctx, 0, 4, &p, &det), KM_ERR_INVALID);
    cr_assert_eq(km_detector_create(ctx, 4, 4, &p, &det), KM_OK);
    float f[20] = {0};
    km_frame fr = {f, 4, 5, 5};
    size_t n = 7;
    cr_assert_eq(km_detector_apply(ctx, det, &fr, NULL, g_pk, CAP, &n), KM_ERR_INVALID);
    cr_assert_eq(n, 0);
    cr_assert(strstr(km_ctx_last_error(ctx), "4x5") != NULL);
    km_detector_free(det);
    km_ctx_free(ctx);
}

Test(detect, saturated_and_min_prominence_and_num_peaks)
{
    /* Two hills: 10 (global) and 6 separated by a saddle of 4. */
    float f[3 * 9] = {0};
    float row[9] = {1, 10, 5, 4, 5, 6, 2, 0, 3};
    for (int i = 0; i < 3; i++)
        memcpy(f + i * 9, row, sizeof row);
    for (int j = 0; j < 9; j++)
        f[9 + j] += 0.5f; /* the middle row on top: peaks at row 1 */
    km_peak_params p = params(1, 0);
    p.saturation = 8.0;
    cr_assert_eq(run(f, 3, 9, NULL, &p), 3);
    ASSERT_PEAK(0, 1, 1);
    ASSERT_PEAK(1, 1, 5);
    ASSERT_PEAK(2, 1, 8);
    cr_assert(g_pk[0].flags & KM_PEAK_SATURATED);
    cr_assert_eq(g_pk[1].flags & KM_PEAK_SATURATED, 0u);
    cr_assert_float_eq(g_pk[0].prominence, 10.5f - 0.0f, 1e-6);
    cr_assert_float_eq(g_pk[1].prominence, 6.5f - 4.5f, 1e-6);
    cr_assert_float_eq(g_pk[2].prominence, 3.5f - 0.5f, 1e-6);
    p.min_prominence = 2.5;
    cr_assert_eq(run(f, 3, 9, NULL, &p), 2);
    ASSERT_PEAK(1, 1, 8);
    p.num_peaks = 1;
    cr_assert_eq(run(f, 3, 9, NULL, &p), 1);
    ASSERT_PEAK(0, 1, 1);
    p.want = 0;
    p.min_prominence = 0;
    p.num_peaks = -1;
    cr_assert_eq(run(f, 3, 9, NULL, &p), 3);
    cr_assert(isnan(g_pk[0].prominence));
    cr_assert_eq(g_pk[0].area_taxels, -1);
    cr_assert_eq(g_pk[0].y, 1.0);
}

Test(detect, area_of_a_cone)
{
    /* A square pyramid 4,3,2,1,0 from the centre of a 9x9 frame: prominence
     * 4 (max - min), level 2: the 5x5 block of values >= 2. */
    float f[81];
    for (int i = 0; i < 9; i++)
        for (int j = 0; j < 9; j++) {
            int d = abs(i - 4) > abs(j - 4) ? abs(i - 4) : abs(j - 4);
            f[i * 9 + j] = (float)(4 - d);
        }
    km_peak_params p = params(1, 0);
    cr_assert_eq(run(f, 9, 9, NULL, &p), 1);
    cr_assert_float_eq(g_pk[0].prominence, 4.0f, 1e-6);
    cr_assert_eq(g_pk[0].area_taxels, 25);
}

Test(detect, separate_component_prominence)
{
    /* A masked column splits the frame: the right part's peak never merges
     * and gets value - min of its component. */
    float f[3 * 5] = {1, 2, 0, 7, 3,
                      1, 9, 0, 4, 3,
                      1, 1, 0, 3, 3};
    uint8_t m[15];
    memset(m, 1, sizeof m);
    m[2] = m[7] = m[12] = 0;
    km_peak_params p = params(1, 0);
    cr_assert_eq(run(f, 3, 5, m, &p), 2);
    ASSERT_PEAK(0, 1, 1);
    ASSERT_PEAK(1, 0, 3);
    cr_assert_float_eq(g_pk[0].prominence, 9.0f - 1.0f, 1e-6);
    cr_assert_float_eq(g_pk[1].prominence, 7.0f - 3.0f, 1e-6);
}

Test(detect, separate_component_by_a_masked_row)
{
    /* A masked row splits the frame (no two of its taxels are above each
     * other: only their adjacency along the row tells that it splits): the
     * lower part's peak never merges and gets value - min of its component,
     * not the frame minimum. */
    float f[5 * 3] = {1, 9, 1,
                      2, 1, 1,
                      0, 0, 0,
                      7, 4, 3,
                      3, 3, 3};
    uint8_t m[15];
    memset(m, 1, sizeof m);
    m[6] = m[7] = m[8] = 0;
    km_peak_params p = params(1, 0);
    for (int isa = 0; isa < 2; isa++) {
        if (isa == 1 && !km_detect_cpu_avx2())
            break;
        km_detector *det = NULL;
        km_frame fr = {f, 5, 3, 3};
        km_mask mk = {m, 5, 3, 3};
        size_t n = 0;
        cr_assert_eq(km_detector_create(NULL, 5, 3, &p, &det), KM_OK);
        cr_assert_eq(km_detector_apply_isa(NULL, det, &fr, &mk, g_pk, 16, &n,
                                           isa ? KM_ISA_AVX2 : KM_ISA_PORTABLE), KM_OK);
        km_detector_free(det);
        cr_assert_eq(n, 2);
        ASSERT_PEAK(0, 0, 1);
        ASSERT_PEAK(1, 3, 0);
        cr_assert_float_eq(g_pk[0].prominence, 9.0f - 1.0f, 1e-6);
        cr_assert_float_eq(g_pk[1].prominence, 7.0f - 3.0f, 1e-6, "isa %d: %g", isa,
                           (double)g_pk[1].prominence);
    }
}

/* ---------------------------------------------------------------------- */
/* Brute-force references on random frames.                                */

static int bf_valid(const float *f, const uint8_t *m, int k)
{
    return isfinite(f[k]) && (m == NULL || m[k]);
}

/* Peaks by the definition, plateau "all", in the total order. */
static size_t bf_peaks(const float *f, const uint8_t *m, int rows, int cols, const km_peak_params *p,
                       int *out)
{
    float mn = INFINITY, mx = -INFINITY;
    int nv = 0;
    for (int k = 0; k < rows * cols; k++)
        if (bf_valid(f, m, k)) {
            mn = fminf(mn, f[k]);
            mx = fmaxf(mx, f[k]);
            nv++;
        }
    if (nv == 0 || (nv >= 2 && mn == mx))
        return 0;
    double t = isnan(p->threshold_abs) ? mn : p->threshold_abs;
    if (p->threshold_rel > 0)
        t = fmax(t, p->threshold_rel * mx);
    float thr = (float)t;
    int r = p->min_distance, b = p->exclude_border < 0 ? r : p->exclude_border;
    int cand[4096], nc = 0;
    /* Total order: scan values descending, indices ascending. */
    int order[4096];
    for (int k = 0; k < rows * cols; k++)
        order[k] = k;
    for (int a = 0; a < rows * cols; a++)
        for (int c = a + 1; c < rows * cols; c++) {
            int x = order[a], y = order[c];
            float vx = bf_valid(f, m, x) ? f[x] : -INFINITY, vy = bf_valid(f, m, y) ? f[y] : -INFINITY;
            if (vy > vx || (vy == vx && y < x)) {
                order[a] = y;
                order[c] = x;
            }
        }
    for (int o = 0; o < rows * cols; o++) {
        int k = order[o], i = k / cols, j = k % cols;
        if (!bf_valid(f, m, k) || !(f[k] > thr))
            continue;
        if (i < b || i >= rows - b || j < b || j >= cols - b)
            continue;
        int ok = 1;
        for (int a = i - r; a <= i + r; a++)
            for (int c = j - r; c <= j + r; c++)
                if (a >= 0 && a < rows && c >= 0 && c < cols && bf_valid(f, m, a * cols + c) &&
                    f[a * cols + c] > f[k])
                    ok = 0;
        if (ok)
            cand[nc++] = k;
    }
    size_t n = 0;
    for (int q = 0; q < nc; q++) {
        int drop = 0;
        for (size_t s = 0; s < n; s++) {
            double dy = abs(cand[q] / cols - out[s] / cols), dx = abs(cand[q] % cols - out[s] % cols);
            double d = isinf(p->p_norm) ? fmax(dy, dx) : pow(pow(dy, p->p_norm) + pow(dx, p->p_norm), 1.0 / p->p_norm);
            if (d < r)
                drop = 1;
        }
        if (!drop)
            out[n++] = cand[q];
    }
    return n;
}

static void random_frame(float *f, uint8_t *m, int n, int levels, int holes)
{
    for (int k = 0; k < n; k++) {
        f[k] = (float)(rand() % levels) - (float)(levels / 3);
        m[k] = 1;
        if (holes && rand() % 17 == 0)
            m[k] = 0;
        if (holes && rand() % 23 == 0)
            f[k] = (rand() % 2) ? NAN : INFINITY;
    }
}

/* Plateau "one" reports no two peaks too close for thinning (within
 * Chebyshev distance r - 1 and closer than r in the p-norm): at r = 2,
 * where the detector skips the thinning pass (two candidates that close are
 * one plateau), and at r = 3 and 4, where it runs it.  Random frames of few
 * values (plateaus, ties two apart), -inf holes and masks, every p-norm. */
static int thin_too_close(int dy, int dx, int r, double p)
{
    if (dy > r - 1 || dx > r - 1)
        return 0;
    if (isinf(p))
        return 1;
    if (p == 1.0)
        return dy + dx < r;
    return dy * dy + dx * dx < r * r;
}

Test(detect, plateau_one_peaks_apart_without_thinning)
{
    float f[400];
    uint8_t m[400];
    srand(4321);
    int pairs = 0;
    for (int it = 0; it < 900; it++) {
        int rows = 3 + rand() % 18, cols = 3 + rand() % 18, r = 2 + it % 3;
        int holes = rand() % 2;
        random_frame(f, m, rows * cols, 2 + rand() % 4, holes);
        km_peak_params p = params(r, rand() % 2 ? -1 : 0);
        p.plateau = KM_PLATEAU_ONE;
        p.p_norm = (it / 3) % 3 == 0 ? 1.0 : (it / 3) % 3 == 1 ? 2.0 : INFINITY;
        size_t n = run(f, rows, cols, holes ? m : NULL, &p);
        for (size_t a = 0; a < n; a++)
            for (size_t b = a + 1; b < n; b++) {
                int dy = abs(g_pk[a].row - g_pk[b].row), dx = abs(g_pk[a].col - g_pk[b].col);
                pairs++;
                cr_assert(!thin_too_close(dy, dx, r, p.p_norm),
                          "iteration %d (%dx%d, r %d, p %g): peaks (%d,%d) and (%d,%d) too close",
                          it, rows, cols, r, p.p_norm, g_pk[a].row, g_pk[a].col, g_pk[b].row,
                          g_pk[b].col);
            }
    }
    cr_assert_gt(pairs, 1000);
}

Test(detect, random_frames_match_brute_force)
{
    float f[400];
    uint8_t m[400];
    int ref[400];
    srand(12345);
    for (int it = 0; it < 600; it++) {
        int rows = 1 + rand() % 20, cols = 1 + rand() % 20;
        int holes = rand() % 2;
        random_frame(f, m, rows * cols, 2 + rand() % 30, holes);
        km_peak_params p = params(1 + rand() % 4, -1 + rand() % 4);
        p.p_norm = (rand() % 3 == 0) ? 1.0 : ((rand() % 2) ? 2.0 : INFINITY);
        if (rand() % 3 == 0)
            p.threshold_abs = (double)(rand() % 10) - 3.0;
        if (rand() % 3 == 0)
            p.threshold_rel = 0.3;
        size_t nref = bf_peaks(f, holes ? m : NULL, rows, cols, &p, ref);
        size_t n = run(f, rows, cols, holes ? m : NULL, &p);
        cr_assert_eq(n, nref, "iteration %d (%dx%d r=%d): %zu peaks, reference %zu", it, rows, cols,
                     p.min_distance, n, nref);
        for (size_t k = 0; k < n; k++)
            cr_assert_eq(g_pk[k].row * cols + g_pk[k].col, ref[k], "iteration %d peak %zu", it, k);
    }
}

/* Prominence by the definition: value minus the highest level L such that
 * a path of taxels >= L joins the peak to a taxel earlier in the total
 * order. */
static int bf_reach_older(const float *f, const uint8_t *m, int rows, int cols, int start, float level)
{
    int seen[400] = {0}, queue[400], head = 0, tail = 0;
    queue[tail++] = start;
    seen[start] = 1;
    while (head < tail) {
        int t = queue[head++];
        if (f[t] > f[start] || (f[t] == f[start] && t < start))
            return 1;
        for (int a = t / cols - 1; a <= t / cols + 1; a++)
            for (int c = t % cols - 1; c <= t % cols + 1; c++) {
                if (a < 0 || a >= rows || c < 0 || c >= cols)
                    continue;
                int q = a * cols + c;
                if (!seen[q] && bf_valid(f, m, q) && f[q] >= level) {
                    seen[q] = 1;
                    queue[tail++] = q;
                }
            }
    }
    return 0;
}

static float bf_prominence(const float *f, const uint8_t *m, int rows, int cols, int k)
{
    float best = -INFINITY, mn = INFINITY, compmin = INFINITY;
    for (int q = 0; q < rows * cols; q++) {
        if (!bf_valid(f, m, q))
            continue;
        mn = fminf(mn, f[q]);
        if (f[q] <= f[k] && f[q] > best && bf_reach_older(f, m, rows, cols, k, f[q]))
            best = f[q];
    }
    if (best > -INFINITY)
        return f[k] - best;
    /* No older taxel reachable: the global maximum or a separate component. */
    int is_global = 1;
    for (int q = 0; q < rows * cols; q++)
        if (bf_valid(f, m, q) && (f[q] > f[k] || (f[q] == f[k] && q < k)))
            is_global = 0;
    if (is_global)
        return f[k] - mn;
    for (int q = 0; q < rows * cols; q++) {
        /* q in k's component: k reaches q through valid taxels at any level */
        int seen[400] = {0}, queue[400], head = 0, tail = 0, found = 0;
        queue[tail++] = k;
        seen[k] = 1;
        while (head < tail && !found) {
            int t = queue[head++];
            if (t == q)
                found = 1;
            for (int a = t / cols - 1; a <= t / cols + 1; a++)
                for (int c = t % cols - 1; c <= t % cols + 1; c++)
                    if (a >= 0 && a < rows && c >= 0 && c < cols && !seen[a * cols + c] &&
                        bf_valid(f, m, a * cols + c)) {
                        seen[a * cols + c] = 1;
                        queue[tail++] = a * cols + c;
                    }
        }
        if (found)
            compmin = fminf(compmin, f[q]);
    }
    return f[k] - compmin;
}

Test(detect, prominence_matches_brute_force)
{
    float f[100];
    uint8_t m[100];
    srand(99);
    for (int it = 0; it < 300; it++) {
        int rows = 1 + rand() % 10, cols = 1 + rand() % 10;
        int holes = rand() % 2;
        random_frame(f, m, rows * cols, 2 + rand() % 12, holes);
        km_peak_params p = params(1, 0);
        size_t n = run(f, rows, cols, holes ? m : NULL, &p);
        for (size_t k = 0; k < n; k++) {
            float want = bf_prominence(f, holes ? m : NULL, rows, cols, g_pk[k].row * cols + g_pk[k].col);
            cr_assert_float_eq(g_pk[k].prominence, want, 1e-5, "iteration %d peak %zu (%d,%d): %g vs %g",
                               it, k, g_pk[k].row, g_pk[k].col, (double)g_pk[k].prominence, (double)want);
        }
    }
}

/* The general path's copy and its statistics (km_sanitise_row_*,
 * km_stats_sanitised_*): the AVX2 forms against the plain ones, bit for
 * bit, on rows of 0-70 values with NaN, infinities, -0.0, ties, masks and
 * every tail length. */
/* Each row's largest value in eight lanes (KM_ROW_LANES), as the detector
 * keeps it: lane j the largest of the row's columns j, j + 8, ... (-inf
 * when none). */
static void row_lanes(const float *san, int rows, int cols, float *rm)
{
    for (int i = 0; i < rows; i++)
        for (int l = 0; l < KM_ROW_LANES; l++) {
            float m = -INFINITY;
            for (int c = l; c < cols; c += KM_ROW_LANES)
                m = fmaxf(m, san[i * cols + c]);
            rm[i * KM_ROW_LANES + l] = m;
        }
}

/* km_sanitise_stats_avx2 (the copy and its statistics in one pass) against
 * the plain row copy and the plain statistics: frames of 1-6 rows and 0-40
 * columns (the eight-wide blocks and the tails), row strides beyond the
 * width (poison between rows), masks with their own stride, NULL and
 * without data; NaN, infinities, -0.0 and ties. */
Test(detect, sanitise_stats_one_pass_identical)
{
    if (!km_detect_cpu_avx2())
        cr_skip_test("no AVX2 on this CPU");
    enum { R = 6, C = 40, S = 48, MS = 44 };
    static float src[R * S], a[R * C], b[R * C];
    static uint8_t mr[R * MS];
    srand(78);
    int valid_seen = 0, none_valid = 0;
    for (int it = 0; it < 4000; it++) {
        int rows = 1 + rand() % R, cols = rand() % (C + 1);
        ptrdiff_t stride = it % 4 == 0 ? S : cols;
        for (int k = 0; k < R * S; k++) {
            int q = rand() % 12;
            src[k] = q == 0 ? NAN : q == 1 ? INFINITY : q == 2 ? -INFINITY : q == 3 ? -0.0f
                     : (float)(rand() % 7) - 3.0f;
        }
        for (int k = 0; k < R * MS; k++)
            mr[k] = (uint8_t)(it % 3 == 0 || rand() % 4 != 0);
        km_frame f = {src, rows, cols, stride};
        km_mask m = {mr, rows, cols, MS}, m0 = {NULL, rows, cols, cols};
        const km_mask *mp = it % 3 == 1 ? NULL : it % 3 == 2 ? &m0 : &m;
        for (int i = 0; i < rows; i++)
            km_sanitise_row_portable(src + i * stride, mp == &m ? mr + i * MS : NULL, cols,
                                     a + i * cols);
        km_frame_stats sa, sb;
        km_stats_sanitised_portable(a, (size_t)rows * (size_t)cols, &sa);
        memset(b, 0x55, sizeof b);
        float rowmax[R * KM_ROW_LANES];
        km_sanitise_stats_avx2(&f, mp, b, it % 5 == 4 ? NULL : rowmax, &sb);
        for (int i = 0; i < rows && it % 5 != 4; i++) {
            float want = -INFINITY, got = -INFINITY;
            for (int j = 0; j < cols; j++)
                want = a[i * cols + j] > want ? a[i * cols + j] : want;
            for (int l = 0; l < KM_ROW_LANES; l++) {
                float x = rowmax[i * KM_ROW_LANES + l];
                cr_assert(x <= want, "iteration %d row %d lane %d: %a above the row's %a", it, i,
                          l, (double)x, (double)want);
                got = x > got ? x : got;
            }
            cr_assert_eq(memcmp(&got, &want, sizeof want), 0,
                         "iteration %d row %d: largest %a, want %a", it, i, (double)got,
                         (double)want);
        }
        cr_assert_eq(memcmp(a, b, (size_t)rows * (size_t)cols * sizeof *a), 0,
                     "iteration %d (%dx%d): copies differ", it, rows, cols);
        for (size_t k = (size_t)rows * (size_t)cols; k < sizeof b / sizeof b[0]; k++) {
            uint32_t u;
            memcpy(&u, &b[k], sizeof u);
            cr_assert_eq(u, 0x55555555u, "iteration %d (%dx%d): written past the copy at %zu",
                         it, rows, cols, k);
        }
        cr_assert(memcmp(&sa.min, &sb.min, sizeof sa.min) == 0 &&
                      memcmp(&sa.max, &sb.max, sizeof sa.max) == 0 && sa.n_valid == sb.n_valid &&
                      sa.all_finite == sb.all_finite,
                  "iteration %d: min %a/%a max %a/%a n %zu/%zu", it, (double)sa.min,
                  (double)sb.min, (double)sa.max, (double)sb.max, sa.n_valid, sb.n_valid);
        valid_seen += sa.n_valid > 0;
        none_valid += sa.n_valid == 0;
    }
    cr_assert(valid_seen > 1000 && none_valid > 10);
}

Test(detect, sanitised_copy_and_stats_avx2_identical)
{
    if (!km_detect_cpu_avx2())
        cr_skip_test("no AVX2 on this CPU");
    enum { N = 70 };
    float src[N], a[N], b[N];
    uint8_t mr[N];
    srand(77);
    int valid_seen = 0, none_valid = 0;
    for (int it = 0; it < 5000; it++) {
        int cols = rand() % (N + 1);
        for (int j = 0; j < cols; j++) {
            int k = rand() % 12;
            src[j] = k == 0 ? NAN : k == 1 ? INFINITY : k == 2 ? -INFINITY : k == 3 ? -0.0f
                     : (float)(rand() % 7) - 3.0f;
            mr[j] = (uint8_t)(it % 3 == 0 || rand() % 4 != 0);
        }
        const uint8_t *m = it % 2 ? mr : NULL;
        km_sanitise_row_portable(src, m, cols, a);
        km_sanitise_row_avx2(src, m, cols, b);
        cr_assert_eq(memcmp(a, b, (size_t)cols * sizeof *a), 0, "iteration %d: copies differ", it);
        km_frame_stats sa, sb;
        km_stats_sanitised_portable(a, (size_t)cols, &sa);
        km_stats_sanitised_avx2(a, (size_t)cols, &sb);
        cr_assert(memcmp(&sa.min, &sb.min, sizeof sa.min) == 0 &&
                      memcmp(&sa.max, &sb.max, sizeof sa.max) == 0 && sa.n_valid == sb.n_valid,
                  "iteration %d: min %a/%a max %a/%a n %zu/%zu", it, (double)sa.min,
                  (double)sb.min, (double)sa.max, (double)sb.max, sa.n_valid, sb.n_valid);
        size_t nv = 0;
        for (int j = 0; j < cols; j++)
            nv += isfinite(src[j]) && (m == NULL || m[j]);
        cr_assert_eq(sa.n_valid, nv, "iteration %d", it);
        valid_seen += nv > 0;
        none_valid += nv == 0;
    }
    cr_assert(valid_seen > 1000 && none_valid > 10);
}

Test(detect, portable_and_avx2_identical)
{
    if (!km_detect_cpu_avx2())
        cr_skip_test("no AVX2 on this CPU");
    /* Frames up to 200 wide (many vectors per row, every tail length),
     * half of them on the 3x3 fast path, the others r = 1-5 on the general
     * path, borders 0-3, an occasional NaN or infinity (which leaves the
     * fast path), a mask in a third of them, values with many ties. */
    enum { MAXN = 40 * 220 };
    static float f[MAXN];
    static uint8_t mask[MAXN];
    static km_peak a[CAP], b[CAP];
    srand(2024);
    for (int it = 0; it < 400; it++) {
        int rows = 1 + rand() % 40, cols = 1 + rand() % 200;
        int stride = cols + rand() % 20;
        int levels = (rand() % 2) ? 5 : 100000;
        for (int k = 0; k < rows * stride; k++)
            f[k] = (float)(rand() % levels) * 0.25f - 3.0f;
        int poison = rand() % 8;
        if (poison < 3)
            f[rand() % (rows * stride)] = poison == 0 ? NAN : (poison == 1 ? INFINITY : -INFINITY);
        km_peak_params p = params((rand() % 2) ? 1 : 1 + rand() % 5, -1 + rand() % 5);
        p.plateau = (rand() % 2) ? KM_PLATEAU_ONE : KM_PLATEAU_ALL;
        const uint8_t *mk = NULL;
        if (rand() % 3 == 0) {
            for (int k = 0; k < rows * cols; k++)
                mask[k] = (uint8_t)(rand() % 10 != 0);
            mk = mask;
        }
        size_t na = run_isa(f, rows, cols, stride, mk, &p, a, KM_ISA_PORTABLE);
        size_t nb = run_isa(f, rows, cols, stride, mk, &p, b, KM_ISA_AVX2);
        cr_assert_eq(na, nb, "iteration %d", it);
        for (size_t k = 0; k < na; k++) {
            cr_assert(a[k].row == b[k].row && a[k].col == b[k].col && a[k].flags == b[k].flags);
            cr_assert_eq(memcmp(&a[k].y, &b[k].y, sizeof a[k].y), 0);
            cr_assert_eq(memcmp(&a[k].x, &b[k].x, sizeof a[k].x), 0);
            cr_assert_eq(memcmp(&a[k].prominence, &b[k].prominence, sizeof(float)), 0);
            cr_assert_eq(a[k].area_taxels, b[k].area_taxels);
        }
    }
}

/* km_subpixel (the 3x3 block of an interior peak read without bounds
 * tests) against km_subpixel_checked (every place tested), bit for bit:
 * every taxel of random frames of 1-9 x 1-9 taxels with row strides and
 * mask strides beyond the width, masks NULL, without data and random;
 * values positive (the log fit), mixed in sign (the fit on values), with
 * NaN and infinities (the fallbacks). */
Test(detect, subpixel_interior_matches_checked)
{
    enum { R = 9, S = 12, MS = 11 };
    static float data[R * S];
    static uint8_t md[R * MS];
    srand(31);
    int fits = 0, fallbacks = 0;
    for (int it = 0; it < 3000; it++) {
        int rows = 1 + rand() % R, cols = 1 + rand() % 9, kind = it % 3;
        ptrdiff_t stride = it % 2 ? S : cols;
        for (int k = 0; k < R * S; k++) {
            int q = rand() % 40;
            data[k] = kind == 2 && q == 0 ? NAN : kind == 2 && q == 1 ? INFINITY
                      : kind == 1 ? (float)(rand() % 200) - 60.0f
                                  : 1.0f + (float)(rand() % 1000) * 0.01f;
        }
        for (int k = 0; k < R * MS; k++)
            md[k] = (uint8_t)(rand() % 9 != 0);
        km_mask m = {md, rows, cols, MS}, m0 = {NULL, rows, cols, cols};
        const km_mask *mp = it % 4 == 0 ? NULL : it % 4 == 1 ? &m0 : &m;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                double y1, x1, y2, x2;
                int f1 = km_subpixel(data, stride, rows, cols, r, c, mp, &y1, &x1);
                int f2 = km_subpixel_checked(data, stride, rows, cols, r, c, mp, &y2, &x2);
                cr_assert(f1 == f2 && memcmp(&y1, &y2, sizeof y1) == 0 &&
                              memcmp(&x1, &x2, sizeof x1) == 0,
                          "iteration %d (%dx%d) taxel (%d, %d): %d %a %a / %d %a %a", it, rows,
                          cols, r, c, f1, y1, x1, f2, y2, x2);
                fits += !f1;
                fallbacks += f1;
            }
    }
    cr_assert(fits > 1000 && fallbacks > 1000);
}

/* The surface fit as first written (a loop over the nine values with
 * weights j, i, j*j - 2/3, i*i - 2/3 and i*j, products by 0 included): the
 * reference of subpixel_fit_bits_as_the_weighted_loop. */
static int quad_vertex_loop(double z[3][3], double *dy, double *dx)
{
    double b = 0, c = 0, d = 0, e = 0, f = 0;
    for (int i = -1; i <= 1; i++)
        for (int j = -1; j <= 1; j++) {
            double v = z[i + 1][j + 1];
            b += j * v;
            c += i * v;
            d += (j * j - 2.0 / 3.0) * v;
            f += (i * i - 2.0 / 3.0) * v;
            e += i * j * v;
        }
    b /= 6.0, c /= 6.0, d /= 2.0, f /= 2.0, e /= 4.0;
    double det = 4.0 * d * f - e * e;
    if (!(d < 0.0 && det > 0.0))
        return 0;
    *dx = (-2.0 * f * b + c * e) / det;
    *dy = (-2.0 * d * c + b * e) / det;
    return fabs(*dx) <= 1.0 && fabs(*dy) <= 1.0;
}

/* km_subpixel's 2-D fit (on the logs of positive values, else on the
 * values: signed zeros, negatives, values of every scale) gives the bits of
 * the loop that multiplied by the weights 0 too (quad_vertex_loop). */
Test(detect, subpixel_fit_bits_as_the_weighted_loop)
{
    float f[9];
    srand(77);
    int fits = 0;
    for (int it = 0; it < 200000; it++) {
        int kind = it % 4;
        for (int k = 0; k < 9; k++) {
            double u = rand() / (double)RAND_MAX;
            f[k] = kind == 0   ? (float)(1.0 + 99.0 * u)
                   : kind == 1 ? (float)ldexp(0.5 + u, rand() % 60 - 30)
                   : kind == 2 ? (rand() % 5 == 0 ? (rand() % 2 ? 0.0f : -0.0f) : (float)(20.0 * u - 5.0))
                               : (float)(rand() % 7) - 2.0f;
        }
        f[4] = 120.0f + (float)(rand() % 100);
        double z[3][3], lz[3][3], dy = 0, dx = 0;
        int pos = 1;
        for (int k = 0; k < 9; k++) {
            z[k / 3][k % 3] = (double)f[k];
            pos &= f[k] > 0.0f;
        }
        for (int k = 0; k < 9 && pos; k++)
            lz[k / 3][k % 3] = log(z[k / 3][k % 3]);
        int ok = (pos && quad_vertex_loop(lz, &dy, &dx)) || quad_vertex_loop(z, &dy, &dx);
        double y, x;
        int fb = km_subpixel(f, 3, 3, 3, 1, 1, NULL, &y, &x);
        if (!ok)
            continue;
        double ey = 1.0 + dy, ex = 1.0 + dx;
        cr_assert(fb == 0 && memcmp(&y, &ey, sizeof y) == 0 && memcmp(&x, &ex, sizeof x) == 0,
                  "iteration %d: %d %a %a, the loop %a %a", it, fb, y, x, ey, ex);
        fits++;
    }
    cr_assert_gt(fits, 50000);
}

Test(detect, subpixel_gaussian_blobs)
{
    /* Noiseless Gaussian blobs (isotropic sigma 1, 1.5, 2, 3 taxels and a
     * rotated elliptical one), centres at random sub-taxel offsets.  The
     * fit on log values is exact for a Gaussian up to float32 rounding:
     * the issue asks for 0.02 taxel, and we hold it to 1e-3. */
    enum { N = 21 };
    float f[N * N];
    const double sig[][3] = {{1, 1, 0}, {1.5, 1.5, 0}, {2, 2, 0}, {3, 3, 0}, {1.2, 2.5, 0.6}};
    srand(5);
    for (size_t s = 0; s < sizeof sig / sizeof sig[0]; s++) {
        double worst = 0;
        double ca = cos(sig[s][2]), sa = sin(sig[s][2]);
        for (int it = 0; it < 100; it++) {
            double cy = 10.0 + (rand() / (double)RAND_MAX - 0.5);
            double cx = 10.0 + (rand() / (double)RAND_MAX - 0.5);
            for (int i = 0; i < N; i++)
                for (int j = 0; j < N; j++) {
                    double u = ca * (j - cx) + sa * (i - cy), w = -sa * (j - cx) + ca * (i - cy);
                    double q = u * u / (sig[s][0] * sig[s][0]) + w * w / (sig[s][1] * sig[s][1]);
                    f[i * N + j] = (float)(100.0 * exp(-0.5 * q));
                }
            km_peak_params p = params(1, 0);
            cr_assert_eq(run(f, N, N, NULL, &p), 1);
            cr_assert_eq(g_pk[0].flags & KM_PEAK_FIT_FALLBACK, 0u);
            double e = fmax(fabs(g_pk[0].y - cy), fabs(g_pk[0].x - cx));
            worst = fmax(worst, e);
        }
        cr_assert_lt(worst, 1e-3, "sigma %g x %g: worst sub-pixel error %g", sig[s][0], sig[s][1],
                     worst);
    }
}

Test(detect, subpixel_without_log_on_zero_floor)
{
    /* A neighbour <= 0 has no log: the surface is fitted to the values
     * (still a 2-D fit, not a fallback), pulled towards the heavier side. */
    float f[49] = {0};
    f[3 * 7 + 3] = 10.0f;
    f[3 * 7 + 4] = 4.0f;
    f[2 * 7 + 3] = f[4 * 7 + 3] = 2.0f;
    km_peak_params p = params(1, 0);
    cr_assert_eq(run(f, 7, 7, NULL, &p), 1);
    cr_assert_eq(g_pk[0].flags & KM_PEAK_FIT_FALLBACK, 0u);
    cr_assert_float_eq(g_pk[0].y, 3.0, 1e-12);
    cr_assert(g_pk[0].x > 3.0 && g_pk[0].x < 3.5, "x = %g", g_pk[0].x);
    /* The same values lifted above zero take the log fit: a different,
     * still symmetric-in-y answer. */
    for (int k = 0; k < 49; k++)
        f[k] += 1.0f;
    cr_assert_eq(run(f, 7, 7, NULL, &p), 1);
    cr_assert_eq(g_pk[0].flags & KM_PEAK_FIT_FALLBACK, 0u);
    cr_assert_float_eq(g_pk[0].y, 3.0, 1e-12);
    cr_assert(g_pk[0].x > 3.0 && g_pk[0].x < 3.5, "x = %g", g_pk[0].x);
}

Test(detect, total_order_on_large_candidate_lists)
{
    /* The candidate sort has three regimes (insertion, one-pass buckets,
     * radix): spread distinct values (buckets), a few levels (ties: radix),
     * values clustered near one end (a full bucket: radix), 4..3000
     * candidates.  The output must hold every 3x3 local maximum (counted
     * by brute force) in the total order. */
    enum { R = 96, C = 90 };
    static float f[R * C];
    srand(77);
    for (int kind = 0; kind < 3; kind++) {
        for (int it = 0; it < 20; it++) {
            for (int k = 0; k < R * C; k++) {
                double u = rand() / (double)RAND_MAX;
                if (kind == 0)
                    f[k] = (float)u;
                else if (kind == 1)
                    f[k] = (float)(rand() % 4);
                else /* a few huge outliers, the rest within 0.1% */
                    f[k] = rand() % 50 == 0 ? (float)(1e30 * u) : (float)(1.0 + 1e-3 * u);
            }
            int rows = 2 + rand() % (R - 1), cols = 2 + rand() % (C - 1);
            km_peak_params p = params(1, 0);
            p.want = 0;
            size_t n = run(f, rows, cols, NULL, &p);
            size_t want = 0;
            float mn = INFINITY;
            for (int k = 0; k < rows * cols; k++)
                mn = fminf(mn, f[k]);
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) {
                    float v = f[i * cols + j];
                    int is = v > mn;
                    for (int a = i - 1; a <= i + 1 && is; a++)
                        for (int b = j - 1; b <= j + 1; b++)
                            if (a >= 0 && a < rows && b >= 0 && b < cols && f[a * cols + b] > v)
                                is = 0;
                    want += (size_t)is;
                }
            cr_assert_eq(n, want, "kind %d it %d (%dx%d): %zu peaks, brute force %zu", kind, it,
                         rows, cols, n, want);
            for (size_t k = 1; k < n; k++) {
                float a = g_pk[k - 1].value, b = g_pk[k].value;
                int ia = g_pk[k - 1].row * cols + g_pk[k - 1].col, ib = g_pk[k].row * cols + g_pk[k].col;
                cr_assert(a > b || (a == b && ia < ib), "kind %d it %d: peaks %zu, %zu out of order",
                          kind, it, k - 1, k);
            }
        }
    }
}

static int u64_cmp(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return (a > b) - (a < b);
}

Test(detect, keysort_matches_qsort)
{
    /* km_keysort against qsort, bit for bit: 33..4200 items (the bucket
     * and radix regimes), key ranges so that the bucket count takes every
     * remainder mod 8 (the prefix sum's vector groups and tail), keys
     * spread, in a narrow range, with ties, and clustered (a full bucket:
     * radix).  Payloads ascending, as the callers give them. */
    enum { M = 4200 };
    static uint64_t a[M], t[M], ref[M];
    srand(1234);
    for (int it = 0; it < 3000; it++) {
        size_t m = 33 + (size_t)rand() % (it % 10 == 0 ? M - 33 : 700);
        int kind = it % 4;
        uint32_t base = (uint32_t)rand() * 2654435761u, range = 1u + (uint32_t)rand() % 20000u;
        if (kind == 0)
            range = 0xffffffffu;
        for (size_t k = 0; k < m; k++) {
            uint32_t r = (uint32_t)rand() ^ (uint32_t)rand() << 15 ^ (uint32_t)rand() << 30;
            uint32_t key = kind == 0   ? r
                           : kind == 1 ? base + r % range
                           : kind == 2 ? base + (r % 7u) * (range / 7u + 1u)
                                       : (r % 50u == 0 ? r : base + r % 3u);
            a[k] = (uint64_t)key << 32 | (uint32_t)k;
        }
        memcpy(ref, a, m * sizeof *a);
        qsort(ref, m, sizeof *ref, u64_cmp);
        const uint64_t *out = km_keysort(a, t, m);
        cr_assert(memcmp(out, ref, m * sizeof *ref) == 0, "it %d kind %d m %zu range %u", it,
                  kind, m, range);
    }
}

Test(detect, portable_and_avx2_identical_with_denormals_as_zero)
{
#if defined(__x86_64__) || defined(__i386__)
    if (!km_detect_cpu_avx2())
        cr_skip_test("no AVX2 on this CPU");
    /* Code built with -ffast-math sets MXCSR flush-to-zero and
     * denormals-are-zero for the whole process; the two paths must still
     * agree on frames of zeros and denormals with thresholds at 0 and at a
     * denormal (where the vector path may not fold v > T into the max). */
    enum { R = 12, C = 40 };
    static float f[R * C];
    static km_peak a[CAP], b[CAP];
    const float den = 1e-40f;
    unsigned csr = _mm_getcsr();
    srand(31);
    size_t total = 0;
    for (int it = 0; it < 60; it++) {
        for (int k = 0; k < R * C; k++) {
            int u = rand() % 16;
            f[k] = u < 6 ? 0.0f : (u < 9 ? den : (u < 11 ? 2 * den : (u < 13 ? -den : (u < 15 ? 3e-38f : 1.0f))));
        }
        km_peak_params p = params(1, it % 2 ? 0 : -1);
        p.want = 0;
        p.threshold_abs = (it / 2) % 3 == 0 ? 0.0 : ((it / 2) % 3 == 1 ? (double)den : NAN);
        _mm_setcsr(csr | 0x8040u);
        size_t na = run_isa(f, R, C, C, NULL, &p, a, KM_ISA_PORTABLE);
        size_t nb = run_isa(f, R, C, C, NULL, &p, b, KM_ISA_AVX2);
        _mm_setcsr(csr);
        cr_assert_eq(na, nb, "iteration %d: portable %zu peaks, AVX2 %zu", it, na, nb);
        for (size_t k = 0; k < na; k++)
            cr_assert(a[k].row == b[k].row && a[k].col == b[k].col, "iteration %d peak %zu", it, k);
        total += na;
    }
    cr_assert_gt(total, 0);
#else
    cr_skip_test("x86 only");
#endif
}

/* Thresholds make the prominence run in two stages (the taxels above the
 * threshold first): still the brute-force value for every peak. */
Test(detect, prominence_with_thresholds_matches_brute_force)
{
    float f[100];
    uint8_t m[100];
    srand(4242);
    for (int it = 0; it < 300; it++) {
        int rows = 1 + rand() % 10, cols = 1 + rand() % 10;
        int holes = rand() % 2;
        random_frame(f, m, rows * cols, 2 + rand() % 12, holes);
        km_peak_params p = params(1 + rand() % 2, 0);
        if (rand() % 2)
            p.threshold_rel = 0.2 + 0.2 * (rand() % 4);
        else
            p.threshold_abs = (double)(rand() % 8) - 2.0;
        size_t n = run(f, rows, cols, holes ? m : NULL, &p);
        for (size_t k = 0; k < n; k++) {
            float want = bf_prominence(f, holes ? m : NULL, rows, cols, g_pk[k].row * cols + g_pk[k].col);
            cr_assert_float_eq(g_pk[k].prominence, want, 1e-5, "iteration %d peak %zu", it, k);
        }
    }
}

/* Reference persistence: the whole total order by qsort, plain union-find,
 * no early stop, no stages. */
static const float *g_ref_san;
static int ref_order(const void *a, const void *b)
{
    uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
    float u = g_ref_san[i], v = g_ref_san[j];
    if (u != v)
        return u > v ? -1 : 1;
    return i < j ? -1 : (i > j);
}

static uint32_t ref_find(uint32_t *parent, uint32_t x)
{
    while (parent[x] != x)
        x = parent[x];
    return x;
}

static void ref_persistence(const float *san, int rows, int cols, float vmin, const uint32_t *want,
                            size_t n_want, float *death)
{
    size_t n = (size_t)rows * (size_t)cols, m = 0;
    uint32_t *ord = malloc(n * sizeof *ord), *parent = malloc(n * sizeof *parent);
    float *dt = malloc(n * sizeof *dt), *lastv = malloc(n * sizeof *lastv);
    uint8_t *added = calloc(n, 1);
    cr_assert(ord && parent && dt && lastv && added);
    for (size_t i = 0; i < n; i++) {
        parent[i] = (uint32_t)i;
        dt[i] = NAN;
        if (san[i] != -INFINITY)
            ord[m++] = (uint32_t)i;
    }
    g_ref_san = san;
    qsort(ord, m, sizeof *ord, ref_order);
    for (size_t k = 0; k < m; k++) {
        uint32_t t = ord[k];
        int r = (int)(t / (uint32_t)cols), c = (int)(t % (uint32_t)cols);
        added[t] = 1;
        for (int a = r - 1; a <= r + 1; a++)
            for (int b = c - 1; b <= c + 1; b++) {
                if (a < 0 || a >= rows || b < 0 || b >= cols || !added[a * cols + b])
                    continue;
                uint32_t ra = ref_find(parent, t), rb = ref_find(parent, (uint32_t)(a * cols + b));
                if (ra == rb)
                    continue;
                uint32_t young = ref_order(&ra, &rb) < 0 ? rb : ra;
                parent[young] = young == ra ? rb : ra;
                dt[young] = san[t];
            }
        lastv[ref_find(parent, t)] = san[t];
    }
    for (size_t k = 0; k < n_want; k++) {
        uint32_t w = want[k];
        death[k] = w == ord[0] ? vmin : (ref_find(parent, w) == w ? lastv[w] : dt[w]);
    }
    free(ord);
    free(parent);
    free(dt);
    free(lastv);
    free(added);
}

/* km_persistence with a level (two stages) gives, bit for bit, what it gives
 * with -inf (one stage), what it gives with the labels read by SSE4.1 (when
 * the CPU has AVX2) and what the reference gives: frames up to 48x48
 * (the radix path), few or many distinct values (ties), -inf holes, wanted
 * taxels anywhere (peaks or not), levels below, inside and above the
 * range. */
Test(detect, persistence_two_stage_equals_full)
{
    enum { MAXN = 48 * 48 };
    static float san[MAXN], d1[MAXN], d2[MAXN], d3[MAXN], d4[MAXN];
    enum { MAXP = 50 * 50 };
    int avx2 = km_detect_cpu_avx2();
    static uint64_t item[MAXN], item2[MAXN];
    static uint32_t comp[MAXP], next[MAXP], head[MAXN], size[MAXN], otax[MAXN], want[MAXN];
    static float pad[MAXP], dtax[MAXP];
    static uint8_t flag[MAXP], used[MAXN];
    km_prom_scratch s = {item, item2, pad, comp, next, dtax, flag, head, size, otax, NULL};
    srand(777);
    int two_stage_needed = 0, one_stage_enough = 0, went_below[2] = {0, 0};
    for (int it = 0; it < 400; it++) {
        int rows = 1 + rand() % 48, cols = 1 + rand() % 48, n = rows * cols;
        int levels = (rand() % 3 == 0) ? 4 : 1 << 20;
        int holes = rand() % 2; /* without: the taxels at the minimum are skipped */
        float vmin = INFINITY, vmax = -INFINITY;
        for (int k = 0; k < n; k++) {
            san[k] = (holes && rand() % 13 == 0) ? -INFINITY
                                                      : (float)(rand() % levels) * 0.001f - 1.0f;
            if (san[k] != -INFINITY) {
                vmin = fminf(vmin, san[k]);
                vmax = fmaxf(vmax, san[k]);
            }
            used[k] = 0;
        }
        if (vmin == INFINITY)
            continue;
        size_t nw = 0;
        int tries = 1 + rand() % 40;
        for (int k = 0; k < tries; k++) {
            int q = rand() % n;
            if (san[q] != -INFINITY && !used[q]) {
                used[q] = 1;
                want[nw++] = (uint32_t)q;
            }
        }
        float level = rand() % 4 == 0 ? vmax + 1.0f : vmin + (vmax - vmin) * (float)(rand() % 100) / 100.0f;
        km_persistence(san, rows, cols, vmin, -INFINITY, &s, want, nw, d1, 0, NULL);
        km_persistence(san, rows, cols, vmin, level, &s, want, nw, d2, 0, NULL);
        ref_persistence(san, rows, cols, vmin, want, nw, d3);
        float rowmax[48 * KM_ROW_LANES];
        row_lanes(san, rows, cols, rowmax);
        for (int isa = 0; isa <= avx2; isa++)
            for (int hint = 0; hint <= 2; hint++) {
                /* The labels read with SSE4.1, and both groups sorted up
                   front or the second only when needed, and the rows'
                   largest values given: the same bits; the hint comes back
                   as whether the sweep went on below. */
                int below = hint == 1;
                s.rowmax = hint == 2 ? rowmax : NULL;
                km_persistence(san, rows, cols, vmin, level, &s, want, nw, d4, isa, &below);
                s.rowmax = NULL;
                cr_assert_eq(memcmp(d2, d4, nw * sizeof *d2), 0,
                             "iteration %d: isa %d hint %d differs", it, isa, hint);
                went_below[below != 0]++;
            }
        for (size_t k = 0; k < nw; k++) {
            cr_assert_eq(memcmp(&d1[k], &d2[k], sizeof(float)), 0,
                         "iteration %d (%dx%d) taxel %u: one stage %g, two stages %g", it, rows,
                         cols, want[k], (double)d1[k], (double)d2[k]);
            cr_assert_eq(memcmp(&d1[k], &d3[k], sizeof(float)), 0,
                         "iteration %d (%dx%d) taxel %u: %g, reference %g", it, rows, cols,
                         want[k], (double)d1[k], (double)d3[k]);
            if (d1[k] < level)
                two_stage_needed = 1;
            else
                one_stage_enough = 1;
        }
        for (int k = 0; k < MAXP; k++)
            cr_assert_eq(flag[k], 0, "flag left set");
    }
    /* Both outcomes of the first stage were exercised, and both told. */
    cr_assert(two_stage_needed && one_stage_enough && went_below[0] > 0 && went_below[1] > 0);
}

/* km_prom_order (the group at or above the level by one counting sort)
 * and km_prom_order_below (the group below it, above the frame minimum)
 * against qsort, bit for bit, portable and AVX2; frames up to 80x80 with
 * spread values (the counting sort), a noisy floor of both signs about
 * zero (the buckets' fold), three distinct values (full buckets of
 * ties: taken), values clustered in a few buckets beside a few far ones
 * (full buckets of mixed keys: declined) and more than 4096 taxels in the
 * group (declined), -inf holes, levels below, inside and above the range
 * and NaN, without and with the rows' largest values.  Every outcome is
 * exercised.  The below group is made after the
 * first group's sweep has begun: next[] (the sweep's lists) is left as it
 * was. */
Test(detect, prom_order_matches_qsort)
{
    enum { MAXN = 80 * 80, MAXP = 82 * 82 };
    static float san[MAXN];
    static uint64_t item[MAXN], item2[MAXN], want_a[MAXN], want_b[MAXN];
    static uint32_t next[MAXP];
    km_prom_scratch s = {item, item2, NULL, NULL, next, NULL, NULL, NULL, NULL, NULL, NULL};
    int avx2 = km_detect_cpu_avx2(), made = 0, declined = 0, made_big = 0, declined_big = 0;
    int made_tied = 0, declined_mixed = 0, made_both = 0;
    srand(4321);
    for (int it = 0; it < 600; it++) {
        int big = it % 8 == 0;
        int rows = 1 + rand() % (big ? 80 : 30), cols = 1 + rand() % (big ? 80 : 30);
        int full = it % 48 == 0; /* 80x80, the level below the minimum: a group of 6400 */
        if (full)
            rows = cols = 80;
        int n = rows * cols, levels = (it % 5 == 0) ? 3 : 1 << 22, holes = rand() % 2;
        int clustered = it % 5 == 1, floor = it % 10 == 8;
        float vmin = INFINITY, vmax = -INFINITY;
        for (int k = 0; k < n; k++) {
            san[k] = (holes && rand() % 11 == 0) ? -INFINITY
                                                    : (float)(rand() % levels) * 1e-6f + 50.0f;
            if (clustered && san[k] != -INFINITY) /* 1000 keys a few ulp apart, 2% far */
                san[k] = rand() % 50 == 0 ? 60.0f + (float)(rand() % 1000)
                                          : 50.0f + (float)(rand() % 1000) * 4e-6f;
            if (floor && san[k] != -INFINITY) /* a noisy floor about 0 (folded), a body */
                san[k] = rand() % 3 == 0 ? 20.0f + (float)(rand() % 1000) * 0.03f
                                         : (float)(rand() % 2001 - 1000) * 3e-4f *
                                               (rand() % 4 == 0 ? 1e-3f : 1.0f);
            if (san[k] != -INFINITY) {
                vmin = fminf(vmin, san[k]);
                vmax = fmaxf(vmax, san[k]);
            }
        }
        if (vmin == INFINITY)
            continue;
        int lk = full ? 2 : rand() % 6;
        float level = lk == 0 ? NAN : lk == 1 ? vmax + 1.0f : lk == 2 ? vmin - 1.0f
                                                    : vmin + (vmax - vmin) * (float)(rand() % 100) / 100.0f;
        /* The level and the floats either side of it in the frame: the
           groups' bounds to the last key. */
        float edge[3] = {nextafterf(level, -INFINITY), level, nextafterf(level, INFINITY)};
        for (int e = 0; lk >= 3 && e < 3 && n > 3; e++)
            if (edge[e] > vmin)
                san[rand() % n] = edge[e];
        /* Every third frame about half its rows held below the level (the
           rows whose largest value is below it are only counted); each
           row's largest value. */
        static float rowmax[80 * KM_ROW_LANES];
        for (int r = 0; r < rows; r++) {
            int quiet = it % 3 == 2 && lk >= 3 && rand() % 2 == 0;
            for (int c = 0; c < cols; c++) {
                float *v = &san[r * cols + c];
                if (quiet && *v >= level) {
                    *v = vmin + (level - vmin) * (float)(rand() % 1000) / 1001.0f;
                    *v = *v < level ? *v : vmin;
                }
            }
        }
        row_lanes(san, rows, cols, rowmax);
        size_t na = 0, nb = 0, nv = 0;
        for (int k = 0; k < n; k++) {
            nv += san[k] != -INFINITY;
            if (!(san[k] > vmin))
                continue;
            uint64_t x = (uint64_t)km_desc_key(san[k]) << 32 |
                         (uint32_t)((k / cols + 1) * (cols + 2) + k % cols + 1);
            if (san[k] >= level)
                want_a[na++] = x;
            else
                want_b[nb++] = x;
        }
        qsort(want_a, na, sizeof *want_a, u64_cmp);
        qsort(want_b, nb, sizeof *want_b, u64_cmp);
        for (int isa = 0; isa <= avx2; isa++) {
            km_prom_groups g;
            s.rowmax = it % 2 == 1 ? rowmax : NULL;
            if (!km_prom_order(san, rows, cols, vmin, level, &s, &g, 0, isa)) {
                declined++;
                cr_assert(clustered || na > 4096, "it %d: declined (%zu, %zu)", it, na, nb);
                declined_big += na > 4096;
                declined_mixed += clustered && na <= 4096;
                continue;
            }
            made++;
            made_big += n > 2000;
            made_tied += levels == 3 && na > 600; /* a bucket of 200 or more ties */
            cr_assert(g.n_above == na && g.n_below == nb && g.n_valid == nv,
                      "it %d isa %d: counts %zu %zu %zu, want %zu %zu %zu", it, isa, g.n_above,
                      g.n_below, g.n_valid, na, nb, nv);
            cr_assert(!g.below_made && g.below == NULL, "it %d isa %d", it, isa);
            for (int k = 0; k < (rows + 2) * (cols + 2); k++)
                next[k] = (uint32_t)k * 2654435761u;
            km_prom_order_below(san, rows, cols, vmin, level, &s, &g, isa);
            cr_assert(g.below_made && g.n_below == nb, "it %d isa %d", it, isa);
            for (int k = 0; k < (rows + 2) * (cols + 2); k++)
                cr_assert(next[k] == (uint32_t)k * 2654435761u, "it %d isa %d: next[%d]", it, isa, k);
            cr_assert(memcmp(g.above, want_a, na * sizeof *want_a) == 0, "it %d isa %d: above", it, isa);
            cr_assert(memcmp(g.below, want_b, nb * sizeof *want_b) == 0, "it %d isa %d: below", it, isa);
            /* Both groups in one sort: the same two groups. */
            if (!km_prom_order(san, rows, cols, vmin, level, &s, &g, 1, isa)) {
                cr_assert(clustered || na + nb > 8192, "it %d: both declined", it);
                continue;
            }
            made_both++;
            cr_assert(g.below_made == 2 && g.n_above == na && g.n_below == nb && g.n_valid == nv,
                      "it %d isa %d: both, counts %zu %zu", it, isa, g.n_above, g.n_below);
            cr_assert(memcmp(g.above, want_a, na * sizeof *want_a) == 0, "it %d isa %d: both, above", it, isa);
            cr_assert(memcmp(g.below, want_b, nb * sizeof *want_b) == 0, "it %d isa %d: both, below", it, isa);
        }
    }
    cr_assert(made_big > 0 && made_tied > 0 && declined_big > 0 && declined_mixed > 0 && made_both > 0,
              "made %d (%d large, %d tied), declined %d (%d too large, %d mixed)", made, made_big,
              made_tied, declined, declined_big, declined_mixed);
}

/* km_prom_order against qsort on a frame whose rows of eight taxels go
 * through every subset of eight lanes above the frame minimum (row r:
 * taxel c above it iff bit c of r), so the AVX2 compaction packs every
 * 8-lane mask once; the level splits the values in two groups. */
Test(detect, prom_order_every_lane_mask)
{
    enum { ROWS = 256, COLS = 8, N = ROWS * COLS, NP = (ROWS + 2) * (COLS + 2) };
    static float san[N];
    static uint64_t item[N], item2[N], want_a[N], want_b[N];
    static uint32_t next[NP];
    km_prom_scratch s = {item, item2, NULL, NULL, next, NULL, NULL, NULL, NULL, NULL, NULL};
    const float vmin = 50.0f, level = 50.5f;
    size_t na = 0, nb = 0;
    for (int k = 0; k < N; k++) {
        int r = k / COLS, c = k % COLS;
        san[k] = (r >> c) & 1 ? vmin + (float)((k * 7919) % N + 1) * 1e-3f / 2.0f : vmin;
        if (!(san[k] > vmin))
            continue;
        uint64_t x = (uint64_t)km_desc_key(san[k]) << 32 | (uint32_t)((r + 1) * (COLS + 2) + c + 1);
        if (san[k] >= level)
            want_a[na++] = x;
        else
            want_b[nb++] = x;
    }
    cr_assert(na > 0 && nb > 0);
    qsort(want_a, na, sizeof *want_a, u64_cmp);
    qsort(want_b, nb, sizeof *want_b, u64_cmp);
    for (int isa = 0; isa <= km_detect_cpu_avx2(); isa++) {
        km_prom_groups g;
        cr_assert(km_prom_order(san, ROWS, COLS, vmin, level, &s, &g, 0, isa), "isa %d", isa);
        cr_assert(g.n_above == na && g.n_below == nb && g.n_valid == N, "isa %d", isa);
        km_prom_order_below(san, ROWS, COLS, vmin, level, &s, &g, isa);
        cr_assert(memcmp(g.above, want_a, na * sizeof *want_a) == 0, "isa %d: above", isa);
        cr_assert(memcmp(g.below, want_b, nb * sizeof *want_b) == 0, "isa %d: below", isa);
    }
}

/* The 16-bit exclusive prefix sums (SSE2 and AVX2) and the largest count
 * they return against a plain loop:
 * every length up to 100 (each remainder mod 8 and 16: the vector groups
 * and the tail), then lengths up to 4096 whose sums reach 8192 (prominence's
 * two groups of 4096), including counts of 4096 in one bucket. */
Test(detect, prefix_sum_16bit_matches_plain_loop)
{
    enum { NB = 4096 };
    static uint16_t a[NB], b[NB], ref[NB];
    int avx2 = km_detect_cpu_avx2();
    srand(77);
    for (size_t it = 0; it < 400; it++) {
        size_t nb = it <= 100 ? it : 1 + (size_t)rand() % NB;
        uint32_t left = 8192;
        for (size_t k = 0; k < nb; k++) {
            uint32_t c = it % 7 == 3 && k == nb / 2 ? 4096u : (uint32_t)(rand() % 70);
            c = c < left ? c : left;
            left -= c;
            a[k] = b[k] = (uint16_t)c;
        }
        uint32_t sum = 0, most = 0;
        for (size_t k = 0; k < nb; k++) {
            ref[k] = (uint16_t)sum;
            sum += a[k];
            most = a[k] > most ? a[k] : most;
        }
        unsigned got = km_prefix_sum_exclusive(a, nb);
        cr_assert(memcmp(a, ref, nb * sizeof *a) == 0, "sse2: %zu buckets", nb);
        cr_assert(got == most, "sse2: %zu buckets: largest %u, want %u", nb, got, most);
#if KM_HAVE_AVX2_TARGET
        if (avx2) {
            got = km_prefix_sum_exclusive_avx2(b, nb);
            cr_assert(memcmp(b, ref, nb * sizeof *b) == 0, "avx2: %zu buckets", nb);
            cr_assert(got == most, "avx2: %zu buckets: largest %u, want %u", nb, got, most);
        }
#endif
    }
    (void)avx2;
}

/* km_fill_bytes_avx2 against memset: every length up to 300 (below 32,
 * the 128-byte blocks, the 32-byte steps and the overlapping last store)
 * at every offset of a 32-byte line, both fill bytes prominence uses and
 * another; the bytes around the span untouched. */
Test(detect, fill_bytes_avx2_matches_memset)
{
    enum { SPAN = 300, EDGE = 40 };
    static unsigned char a[SPAN + 2 * EDGE + 32], ref[SPAN + 2 * EDGE + 32];
    const unsigned char bytes[] = {0x00, 0xff, 0x5a};
    if (!km_detect_cpu_avx2())
        return;
    for (size_t len = 0; len <= SPAN; len++) {
        for (size_t off = 0; off < 32; off++) {
            unsigned char b = bytes[(len + off) % 3];
            for (size_t k = 0; k < sizeof a; k++)
                a[k] = ref[k] = (unsigned char)(k * 7 + 1);
            memset(ref + EDGE + off, b, len);
            km_fill_bytes_avx2(a + EDGE + off, b, len);
            cr_assert(memcmp(a, ref, sizeof a) == 0, "%zu bytes at offset %zu (byte 0x%02x)", len,
                      off, (unsigned)b);
        }
    }
}

/* The AVX2 sweep reads labels as 16-bit lanes on grids of at most 32767
 * taxels and as 32-bit lanes above: on both sides of that bound (181 x 181
 * = 32761 taxels, 200 x 200 = 40000), the deaths of every local maximum
 * equal the portable sweep's bit for bit.  The frames: random values above
 * 1000 (distinct, or 50 levels: ties and plateaus) over all but the last
 * 20 rows, -inf holes in one variant; in the last rows, below a row of
 * -inf, pairs of taxels (a low local maximum and a lower neighbour) walled
 * off by -inf, so that components start at the last ranks (above 32767 on
 * the wide grid) and a taxel then reads its neighbour's label: a 16-bit
 * read of it would saturate and put the neighbour in another component. */
Test(detect, persistence_narrow_and_wide_labels_identical)
{
    enum { MAXN = 200 * 200, MAXP = 202 * 202 };
    static float san[MAXN], d1[MAXN], d2[MAXN];
    static uint64_t item[MAXN], item2[MAXN];
    static uint32_t comp[MAXP], next[MAXP], head[MAXN], size[MAXN], otax[MAXN], want[MAXN];
    static float pad[MAXP], dtax[MAXP];
    static uint8_t flag[MAXP];
    km_prom_scratch s = {item, item2, pad, comp, next, dtax, flag, head, size, otax, NULL};
    const int shapes[][2] = {{181, 181}, {200, 200}};
    if (!km_detect_cpu_avx2())
        return;
    srand(4242);
    for (int it = 0; it < 8; it++) {
        int rows = shapes[it % 2][0], cols = shapes[it % 2][1], n = rows * cols;
        int levels = (it / 2) % 2 ? 50 : 1 << 20, holes = it / 4, low = 0;
        float vmin = INFINITY;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                float v;
                if (r < rows - 20)
                    v = holes && rand() % 17 == 0 ? -INFINITY
                                                  : 1000.0f + (float)(rand() % levels) / 1024.0f;
                else if ((rows - r) % 2 == 0 || c % 3 == 2)
                    v = -INFINITY;
                else
                    v = c % 3 == 0 ? 999.0f - (float)(low++) : 998.5f - (float)(low - 1);
                san[r * cols + c] = v;
                vmin = v != -INFINITY ? fminf(vmin, v) : vmin;
            }
        size_t nw = 0;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                float v = san[r * cols + c];
                int top = v != -INFINITY;
                for (int dr = -1; dr <= 1 && top; dr++)
                    for (int dc = -1; dc <= 1; dc++) {
                        int rr = r + dr, cc = c + dc;
                        if ((dr || dc) && rr >= 0 && rr < rows && cc >= 0 && cc < cols &&
                            san[rr * cols + cc] > v)
                            top = 0;
                    }
                if (top)
                    want[nw++] = (uint32_t)(r * cols + c);
            }
        km_persistence(san, rows, cols, vmin, -INFINITY, &s, want, nw, d1, 0, NULL);
        km_persistence(san, rows, cols, vmin, -INFINITY, &s, want, nw, d2, 1, NULL);
        cr_assert_gt(nw, 300);
        cr_assert_gt(n, 0);
        cr_assert(memcmp(d1, d2, nw * sizeof *d1) == 0, "%dx%d (%d levels, holes %d): differ",
                  rows, cols, levels, holes);
    }
}

/* Both insertion passes against qsort on items of every kind they may
 * meet and some they should not: in bucket order (the scatter's result:
 * mostly in order, some one or more places off), random, sorted, reversed,
 * equal items, and keys on both sides of the top bit (negative values; a
 * compare as signed without flipping it would pass over them), for every
 * length up to 300 (each remainder mod 4: the vector blocks and the tail)
 * and at random up to 4096. */
Test(detect, insertion_sort_cx_matches_qsort)
{
    enum { M = 4096 };
    static uint64_t a[M], b[M], ref[M];
    int avx2 = km_detect_cpu_avx2(), sizes[] = {0, 1, 2, 3, 4, 5, 8, 9};
    srand(4242);
    for (int it = 0; it < 3000; it++) {
        size_t m = it < 300 ? (size_t)it : it % 50 == 0 ? (size_t)(rand() % M) : (size_t)sizes[it % 8] + (size_t)(rand() % 64);
        int kind = it % 6;
        uint32_t top = (uint32_t)(rand() % 3) << 30; /* keys below, around or above 2^31 */
        for (size_t k = 0; k < m; k++) {
            uint32_t r = (uint32_t)rand() ^ (uint32_t)rand() << 15;
            uint32_t key = kind == 4 ? 0x7ffffff0u + r % 32u       /* across the top bit */
                           : kind == 5 ? top + r % 4u               /* many equal keys */
                                       : top + r % (1u << 20);
            a[k] = (uint64_t)key << 32 | (uint32_t)(kind == 5 ? r % 2u : k);
        }
        memcpy(ref, a, m * sizeof *a);
        qsort(ref, m, sizeof *ref, u64_cmp);
        if (kind == 0) /* bucket order: sorted by the key's top bits, stable */
            for (size_t k = 0; k < m; k++)
                a[k] = ref[k];
        if (kind == 0 || kind == 1) /* then a few swaps, near or far */
            for (size_t j = 0; j < m / 8; j++) {
                size_t p = (size_t)rand() % m, q = kind == 0 ? (p + 1 + (size_t)rand() % 3) % m
                                                              : (size_t)rand() % m;
                uint64_t t = a[p];
                a[p] = a[q];
                a[q] = t;
            }
        if (kind == 2)
            for (size_t k = 0; k < m; k++)
                a[k] = ref[m - 1 - k];
        memcpy(b, a, m * sizeof *a);
        km_insertion_sort_cx(a, m);
        cr_assert(memcmp(a, ref, m * sizeof *a) == 0, "portable: it %d kind %d m %zu", it, kind, m);
#if KM_HAVE_AVX2_TARGET
        if (avx2) {
            km_insertion_sort_cx_avx2(b, m);
            cr_assert(memcmp(b, ref, m * sizeof *b) == 0, "avx2: it %d kind %d m %zu", it, kind, m);
        }
#endif
    }
    (void)avx2;
}

/* km_basin_area (on the padded copy, no bounds tests) against a search of
 * the raster with bounds tests: frames up to 70 columns (the search by rows
 * of bits up to 62, the queue beyond) and 30 or 300 rows (the bits hand
 * regions past padded row ~250 to the queue) with -inf holes and ties,
 * levels at taxel values (the boundary case), between them and a hair off
 * a float (the bits compare floats with the least float at or above the
 * level), starts anywhere (below the level too), stamps reused across
 * calls; AVX2 and portable level sets. */
Test(detect, basin_area_matches_raster_search)
{
    enum { MAXR = 300, MAXC = 70, MAXN = MAXR * MAXC, MAXP = (MAXR + 2) * (MAXC + 2) };
    static float san[MAXN], pad[MAXP];
    static uint32_t stamp[MAXP], queue[MAXN + 1]; /* + 1: the contract */
    static int seen[MAXN], ref_queue[MAXN];
    uint32_t sv = 0;
    srand(2468);
    for (int it = 0; it < 6000; it++) {
        int tall = it % 10 == 9;
        int rows = tall ? 200 + rand() % 101 : 1 + rand() % 30;
        int cols = tall ? 1 + rand() % 8 : 1 + rand() % MAXC, n = rows * cols;
        int levels = (rand() % 2) ? 4 : 1000;
        for (int k = 0; k < n; k++)
            san[k] = rand() % 9 == 0 ? -INFINITY : (float)(rand() % levels) - (float)(levels / 8);
        for (int k = 0; k < (rows + 2) * (cols + 2); k++)
            pad[k] = -INFINITY;
        for (int k = 0; k < n; k++)
            pad[(k / cols + 1) * (cols + 2) + k % cols + 1] = san[k];
        int start = rand() % n, from = rand() % n;
        if (san[from] == -INFINITY)
            continue; /* the level is above -inf: the border ends the search */
        double level = (double)san[from];
        int off = rand() % 4;
        level += off == 1 ? 0.5 : off == 2 ? 1e-9 : off == 3 ? -1e-9 : 0.0;
        memset(seen, 0, sizeof seen);
        int head = 0, tail = 0;
        ref_queue[tail++] = start;
        seen[start] = 1;
        while (head < tail) {
            int t = ref_queue[head++];
            for (int a = t / cols - 1; a <= t / cols + 1; a++)
                for (int c = t % cols - 1; c <= t % cols + 1; c++) {
                    if (a < 0 || a >= rows || c < 0 || c >= cols || seen[a * cols + c] ||
                        !((double)san[a * cols + c] >= level))
                        continue;
                    seen[a * cols + c] = 1;
                    ref_queue[tail++] = a * cols + c;
                }
        }
        for (int avx2 = 0; avx2 <= km_detect_cpu_avx2(); avx2++) {
            if (++sv == 1)
                memset(stamp, 0, sizeof stamp);
            int32_t got = km_basin_area(pad, cols, (uint32_t)start, level, stamp, sv, queue, avx2);
            cr_assert_eq(got, tail, "it %d (%dx%d) start %d level %.10g avx2 %d: %d, reference %d",
                         it, rows, cols, start, level, avx2, (int)got, tail);
        }
    }
}

/* The (2r+1)^2 window max of a sanitised grid (values, ties, +0.0, -inf
 * for invalid taxels), both forms against the window taken directly
 * (clipped by the edge), bit for bit: widths of every remainder mod 8,
 * one row, one column, r past the grid. */
/* The values of the window tests' frames (ties, a tiny one, -1); -inf
 * drawn apart. */
static const float WINDOW_ALPHABET[] = {0.0f, 1.0f, 2.0f, 2.0f, 3.5f, -1.0f, 40.0f, 1e-7f};

/* A random sanitised frame of 1-13 x 1-71 (the LCG *s) and a radius
 * 1..max_r; returns the draw that gave r (its high bits for the caller). */
static uint32_t window_case(uint32_t *s, float *san, int32_t *rows, int32_t *cols, int32_t *r,
                            int32_t max_r)
{
    *s = *s * 1664525u + 1013904223u;
    *rows = 1 + (int32_t)((*s >> 8) % 13);
    *s = *s * 1664525u + 1013904223u;
    *cols = 1 + (int32_t)((*s >> 8) % 71);
    *s = *s * 1664525u + 1013904223u;
    uint32_t draw = *s;
    *r = 1 + (int32_t)((draw >> 8) % (uint32_t)max_r);
    for (int32_t k = 0; k < *rows * *cols; k++) {
        *s = *s * 1664525u + 1013904223u;
        uint32_t a = (*s >> 8) % 10;
        san[k] = a < 8 ? WINDOW_ALPHABET[a] : -INFINITY;
    }
    return draw;
}

Test(detect, window_max_matches_brute_force)
{
    static float san[13 * 71], tmp[13 * 71], wmax[13 * 71];
    uint32_t s = 99u;
    for (int t = 0; t < 3000; t++) {
        int32_t rows, cols, r;
        window_case(&s, san, &rows, &cols, &r, 7);
        for (int isa = 0; isa < 2; isa++) {
            if (isa == 1 && !km_detect_cpu_avx2())
                continue;
            for (int32_t k = 0; k < 13 * 71; k++)
                tmp[k] = wmax[k] = NAN; /* nothing left from the other form */
            (isa ? km_window_max_avx2 : km_window_max_portable)(san, tmp, wmax, rows, cols, r);
            for (int32_t i = 0; i < rows; i++)
                for (int32_t j = 0; j < cols; j++) {
                    float m = -INFINITY;
                    for (int32_t a = i - r; a <= i + r; a++)
                        for (int32_t b = j - r; b <= j + r; b++)
                            if (a >= 0 && a < rows && b >= 0 && b < cols && san[a * cols + b] > m)
                                m = san[a * cols + b];
                    cr_assert(memcmp(&m, &wmax[i * cols + j], sizeof m) == 0,
                              "case %d isa %d (%dx%d r %d) at %d,%d: %a, expected %a", t, isa,
                              (int)rows, (int)cols, (int)r, (int)i, (int)j,
                              (double)wmax[i * cols + j], (double)m);
                }
        }
    }
}

/* km_window_peaks_avx2 (the general path's window max and compare in one
 * pass) against the definition: v > thr and v >= every value of the clipped
 * (2r+1)^2 window, rows and columns [b, n - b), raster order.  Sizes around
 * the vector width (the shifted first and last vectors, the backed-off
 * middle one, masked tails), r 1..9, borders 0..3, ties and -inf.  Without
 * the rows' largest values and with them (every other case with about half
 * its rows held at or below thr, so that rows are skipped; the horizontal
 * pass's buffer poisoned with NaN, so that a row of it not made for a row
 * that needs it loses hits). */
Test(detect, window_peaks_matches_definition)
{
    if (!km_detect_cpu_avx2())
        return;
    static float san[13 * 71], tmp[13 * 71];
    static uint32_t got[13 * 71 + 8], want[13 * 71];
    uint32_t s = 7u;
    for (int t = 0; t < 4000; t++) {
        int32_t rows, cols, r;
        uint32_t draw = window_case(&s, san, &rows, &cols, &r, 9);
        int32_t b = (int32_t)((draw >> 20) % 4);
        float thr = WINDOW_ALPHABET[(draw >> 24) % 6];
        float rowmax[13 * KM_ROW_LANES];
        for (int32_t i = 0; i < rows; i++) {
            s = s * 1664525u + 1013904223u;
            int quiet = t % 2 == 1 && (s >> 16) % 2 == 0;
            for (int32_t j = 0; j < cols; j++) {
                float *v = &san[i * cols + j];
                *v = quiet && *v > thr ? thr : *v;
            }
        }
        row_lanes(san, rows, cols, rowmax);
        size_t nw = 0;
        for (int32_t i = b; i < rows - b; i++)
            for (int32_t j = b; j < cols - b; j++) {
                float v = san[i * cols + j];
                int top = v > thr;
                for (int32_t a = i - r; a <= i + r && top; a++)
                    for (int32_t c = j - r; c <= j + r && top; c++)
                        if (a >= 0 && a < rows && c >= 0 && c < cols && san[a * cols + c] > v)
                            top = 0;
                if (top)
                    want[nw++] = (uint32_t)(i * cols + j);
            }
        for (int with = 0; with < 2; with++) {
            for (int k = 0; k < 13 * 71; k++)
                tmp[k] = NAN;
            size_t n = km_window_peaks_avx2(san, tmp, rows, cols, r, b, thr, with ? rowmax : NULL,
                                            got);
            cr_assert_neq(n, SIZE_MAX, "case %d (%dx%d r %d): declined", t, (int)rows, (int)cols,
                          (int)r);
            cr_assert_eq(n, nw, "case %d (%dx%d r %d b %d, rowmax %d): %zu hits, definition %zu",
                         t, (int)rows, (int)cols, (int)r, (int)b, with, n, nw);
            for (size_t k = 0; k < n; k++)
                cr_assert_eq(got[k], want[k], "case %d hit %zu", t, k);
        }
    }
}

static int u32_cmp(const void *pa, const void *pb)
{
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    return (a > b) - (a < b);
}

static double normal01(void)
{
    double u = ((double)rand() + 1.0) / ((double)RAND_MAX + 2.0), v = (double)rand() / RAND_MAX;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* km_prom_order's bucket map (km_prom_bucket_map, km_prom_fold): buckets
 * in key order (monotone) and within the count, on frames of a body over a
 * floor: N(0, 0.3) of both signs (a sensor whose noise about zero is not
 * clamped), U(0, 1e-3), all negative, and a frame of denormals only (no
 * fold).  The noisy floor's fullest bucket holds at most 12 of its ~700
 * items: without the fold, buckets spread over every exponent between the
 * floor's signs put ~30 in one (the insertion pass's cost, session 38). */
Test(detect, prom_bucket_map_spreads_a_noisy_floor)
{
    enum { M = 1024 };
    static uint32_t key[M];
    static uint16_t count[4096];
    srand(77);
    for (int it = 0; it < 40; it++) {
        int kind = it % 4;
        for (int k = 0; k < M; k++) {
            double v = k % 3 == 0 ? 20.0 + 30.0 * rand() / RAND_MAX
                       : kind == 0 ? 0.3 * normal01()
                       : kind == 1 ? 1e-3 * rand() / RAND_MAX
                       : kind == 2 ? -1.0 - 0.3 * fabs(normal01())
                                   : 1e-40 * (rand() % 1000);
            if (kind == 3) /* denormals only */
                v = 1e-40 * (rand() % 1000);
            if (k == 5 && kind != 3)
                v = 193.0; /* a stuck taxel */
            key[k] = km_desc_key((float)v);
        }
        qsort(key, M, sizeof *key, u32_cmp);
        size_t nb = 0;
        km_prom_map mp = km_prom_bucket_map(key[0], key[M - 1], M, &nb);
        cr_assert(nb >= 1 && nb <= 4096, "it %d: %zu buckets", it, nb);
        memset(count, 0, sizeof count);
        unsigned most = 0, prev = 0;
        for (int k = 0; k < M; k++) {
            unsigned b = (km_prom_fold(key[k], &mp) - mp.lo) >> mp.shift;
            cr_assert(b < nb && b >= prev, "it %d item %d: bucket %u after %u of %zu", it, k, b,
                      prev, nb);
            prev = b;
            most = ++count[b] > most ? count[b] : most;
        }
        if (kind == 0)
            cr_assert(most <= 12, "it %d: a bucket of %u items", it, most);
        if (kind == 3)
            cr_assert(mp.w == 0, "it %d: denormals folded", it);
        else /* +0 and the negative float nearest zero share the fold's key */
            cr_assert(km_prom_fold(km_desc_key(0.0f), &mp) == km_prom_fold(km_desc_key(-1e-45f), &mp));
    }
}

/* km_full_buckets_tied against its definition: one bucket of 64 or 65
 * items, of one key or two, at every place among 1..40 buckets of a few
 * mixed items each (the SSE2 pass goes eight buckets at a time from the
 * second; the first and the tail on their own). */
Test(detect, full_buckets_tied_every_place)
{
    static uint64_t item[40 * 3 + 65];
    static uint16_t end[40];
    for (size_t nb = 1; nb <= 40; nb++)
        for (size_t at = 0; at < nb; at++)
            for (int fill = 64; fill <= 65; fill++)
                for (int mixed = 0; mixed <= 1; mixed++) {
                    size_t m = 0;
                    for (size_t b = 0; b < nb; b++) {
                        int f = b == at ? fill : (int)(b % 4);
                        for (int i = 0; i < f; i++, m++) /* others: keys b, b + 1 */
                            item[m] = (uint64_t)(b * 2 + (b == at ? (size_t)(mixed && i == f - 1)
                                                                  : (size_t)(i % 2)))
                                          << 32 | m;
                        end[b] = (uint16_t)m;
                    }
                    int want = !(fill > KM_BUCKET_MAX_FILL && mixed);
                    cr_assert_eq(km_full_buckets_tied(item, end, nb), want,
                                 "%zu buckets, the full one (%d, mixed %d) at %zu", nb, fill, mixed, at);
                }
}
