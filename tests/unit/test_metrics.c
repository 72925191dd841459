/* Frame metrics against values worked out by hand. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "detect/detect_internal.h"
#include "knotmap.h"

static km_ctx *ctx;
static void setup(void) { cr_assert_eq(km_ctx_create(&ctx), KM_OK); }
static void teardown(void) { km_ctx_free(ctx); }
TestSuite(metrics, .init = setup, .fini = teardown);

/* 3x4 frame, pitch 2 mm (rows) x 3 mm (cols): taxel area 6 mm^2.
 *   0  0  0  0
 *   0 10 30  0
 *   0  0 20 -5
 * contact (> 0): 10 @(1,1), 30 @(1,2), 20 @(2,2); weight sum 60.
 * cop x = (10*1 + 30*2 + 20*2)/60 * 3 = 110/60*3 = 5.5 mm
 * cop y = (10*1 + 30*1 + 20*2)/60 * 2 = 80/60*2 = 2.6667 mm
 * mean over 12 taxels = 55/12; force in kPa = 60 * 6 * 1e-3 = 0.36 N. */
static const float F[12] = {0, 0, 0, 0, 0, 10, 30, 0, 0, 0, 20, -5};

Test(metrics, analytic_values)
{
    km_frame fr = {F, 3, 4, 4};
    km_metrics m;
    cr_assert_eq(km_frame_metrics(ctx, &fr, NULL, 2.0, 3.0, 1.0, 0.0, INFINITY, &m), KM_OK);
    cr_assert_float_eq(m.peak, 30.0, 1e-12);
    cr_assert_float_eq(m.mean, 55.0 / 12.0, 1e-12);
    cr_assert_float_eq(m.contact_area_mm2, 18.0, 1e-12);
    cr_assert_float_eq(m.force_n, 0.36, 1e-12);
    cr_assert_float_eq(m.cop_x_mm, 5.5, 1e-12);
    cr_assert_float_eq(m.cop_y_mm, 80.0 / 60.0 * 2.0, 1e-12);
    cr_assert_eq(m.flags, 0u);
}

/* Every valid taxel in contact: ALL_CONTACT (docs/ALGORITHMS.md 4), the
 * masked and non-finite taxels not counted; one valid taxel at the
 * threshold (not > it) clears it. */
Test(metrics, all_contact_flag)
{
    float v[6] = {1, 2, 0, 4, NAN, 6};
    uint8_t mk[6] = {1, 1, 0, 1, 1, 1};
    km_frame fr = {v, 2, 3, 3};
    km_mask mask = {mk, 2, 3, 3};
    km_metrics m;
    cr_assert_eq(km_frame_metrics(ctx, &fr, &mask, 1.0, 1.0, 1.0, 0.0, INFINITY, &m), KM_OK);
    cr_assert_eq(m.flags, KM_FRAME_ALL_CONTACT);
    cr_assert_eq(km_frame_metrics(ctx, &fr, NULL, 1.0, 1.0, 1.0, 0.0, INFINITY, &m), KM_OK);
    cr_assert_eq(m.flags, 0u, "the 0 at (0, 2) is valid without the mask");
    cr_assert_eq(km_frame_metrics(ctx, &fr, &mask, 1.0, 1.0, 1.0, 1.0, INFINITY, &m), KM_OK);
    cr_assert_eq(m.flags, 0u, "1 is not > 1");
}

Test(metrics, units_scale_force_and_raw_is_nan)
{
    km_frame fr = {F, 3, 4, 4};
    km_metrics m;
    cr_assert_eq(km_frame_metrics(ctx, &fr, NULL, 2.0, 3.0, 0.133322, 0.0, INFINITY, &m), KM_OK);
    cr_assert_float_eq(m.force_n, 0.36 * 0.133322, 1e-12);
    cr_assert_eq(km_frame_metrics(ctx, &fr, NULL, 2.0, 3.0, NAN, 0.0, INFINITY, &m), KM_OK);
    cr_assert(isnan(m.force_n));
    cr_assert_float_eq(m.peak, 30.0, 1e-12); /* the rest does not depend on units */
}

Test(metrics, mask_nan_and_stride)
{
    /* Same frame inside rows of 6 with garbage padding; the 30 is masked
       and one taxel is NaN. */
    float buf[18];
    uint8_t mk[12];
    for (int i = 0; i < 18; i++)
        buf[i] = 1e6f;
    for (int r = 0; r < 3; r++)
        memcpy(buf + r * 6, F + r * 4, 4 * sizeof(float));
    buf[0] = NAN;
    memset(mk, 1, sizeof mk);
    mk[6] = 0; /* (1,2) = 30 */
    km_frame fr = {buf, 3, 4, 6};
    km_mask mask = {mk, 3, 4, 4};
    km_metrics m;
    cr_assert_eq(km_frame_metrics(ctx, &fr, &mask, 2.0, 3.0, 1.0, 0.0, 25.0, &m), KM_OK);
    /* valid: 10 taxels (12 - masked - NaN), sum 25 */
    cr_assert_float_eq(m.peak, 20.0, 1e-12);
    cr_assert_float_eq(m.mean, 25.0 / 10.0, 1e-12);
    cr_assert_float_eq(m.contact_area_mm2, 12.0, 1e-12);
    cr_assert_float_eq(m.cop_x_mm, (10.0 * 1 + 20.0 * 2) / 30.0 * 3.0, 1e-12);
    cr_assert_float_eq(m.cop_y_mm, (10.0 * 1 + 20.0 * 2) / 30.0 * 2.0, 1e-12);
    cr_assert_eq(m.flags, 0u, "20 < saturation 25: not saturated");
    cr_assert_eq(km_frame_metrics(ctx, &fr, &mask, 2.0, 3.0, 1.0, 0.0, 20.0, &m), KM_OK);
    cr_assert_eq(m.flags, KM_FRAME_SATURATED, ">= saturation counts");
}

Test(metrics, contact_threshold_and_empty)
{
    km_frame fr = {F, 3, 4, 4};
    km_metrics m;
    cr_assert_eq(km_frame_metrics(ctx, &fr, NULL, 1.0, 1.0, 1.0, 15.0, INFINITY, &m), KM_OK);
    cr_assert_float_eq(m.contact_area_mm2, 2.0, 1e-12);
    cr_assert_float_eq(m.force_n, 50e-3, 1e-12);
    cr_assert_eq(km_frame_metrics(ctx, &fr, NULL, 1.0, 1.0, 1.0, 30.0, INFINITY, &m), KM_OK);
    cr_assert_eq(m.flags, KM_FRAME_EMPTY, "30 is not > 30");
    cr_assert_float_eq(m.contact_area_mm2, 0.0, 1e-12);
    cr_assert(isnan(m.cop_x_mm) && isnan(m.cop_y_mm));
    cr_assert_float_eq(m.force_n, 0.0, 1e-12);
}

Test(metrics, no_valid_taxel)
{
    float z[4] = {1, 2, 3, 4};
    uint8_t mk[4] = {0, 0, 0, 0};
    km_frame fr = {z, 2, 2, 2};
    km_mask mask = {mk, 2, 2, 2};
    km_metrics m;
    cr_assert_eq(km_frame_metrics(ctx, &fr, &mask, 1.0, 1.0, 1.0, 0.0, INFINITY, &m), KM_OK);
    cr_assert(isnan(m.peak) && isnan(m.mean));
    cr_assert_eq(m.flags, KM_FRAME_EMPTY);
}

Test(metrics, invalid_arguments)
{
    km_frame fr = {F, 3, 4, 4};
    uint8_t mk[4] = {1, 1, 1, 1};
    km_mask bad = {mk, 2, 2, 2};
    km_metrics m;
    cr_assert_eq(km_frame_metrics(ctx, &fr, NULL, 0.0, 1.0, 1.0, 0.0, INFINITY, &m), KM_ERR_INVALID);
    cr_assert_eq(km_frame_metrics(ctx, &fr, &bad, 1.0, 1.0, 1.0, 0.0, INFINITY, &m), KM_ERR_INVALID);
    cr_assert_eq(km_frame_metrics(ctx, &fr, NULL, 1.0, 1.0, 1.0, 0.0, INFINITY, NULL), KM_ERR_INVALID);
    km_frame narrow = {F, 3, 4, 3};
    cr_assert_eq(km_frame_metrics(ctx, &narrow, NULL, 1.0, 1.0, 1.0, 0.0, INFINITY, &m), KM_ERR_INVALID);
    cr_assert_neq(km_ctx_last_error(ctx)[0], '\0');
}

/* The metrics as docs/ALGORITHMS.md 4 states them, one taxel at a time in
 * raster order with branches: what the paired SSE2 loop of metrics.c must
 * give bit for bit. */
static km_metrics plain_metrics(const km_frame *fr, const km_mask *mk, double rp, double cp,
                                double thr, double sat)
{
    double peak = -INFINITY, sum = 0.0, wsum = 0.0, wx = 0.0, wy = 0.0;
    int64_t nv = 0, nc = 0;
    int saturated = 0;
    for (int32_t r = 0; r < fr->rows; r++)
        for (int32_t c = 0; c < fr->cols; c++) {
            double v = fr->data[(ptrdiff_t)r * fr->row_stride + c];
            if (!isfinite(v) || (mk != NULL && mk->data[(ptrdiff_t)r * mk->row_stride + c] == 0))
                continue;
            nv++;
            sum += v;
            if (v > peak)
                peak = v;
            if (v >= sat)
                saturated = 1;
            if (v > thr) {
                nc++;
                wsum += v;
                wx += v * (double)c;
                wy += v * (double)r;
            }
        }
    km_metrics m;
    memset(&m, 0, sizeof m);
    m.peak = nv > 0 ? peak : NAN;
    m.mean = nv > 0 ? sum / (double)nv : NAN;
    m.contact_area_mm2 = (double)nc * (rp * cp);
    m.force_n = wsum * (rp * cp) * 1e-3;
    m.cop_x_mm = nc > 0 && wsum > 0.0 ? wx / wsum * cp : NAN;
    m.cop_y_mm = nc > 0 && wsum > 0.0 ? wy / wsum * rp : NAN;
    m.flags = (saturated ? KM_FRAME_SATURATED : 0u) |
              (nc == 0 ? KM_FRAME_EMPTY : nc == nv ? KM_FRAME_ALL_CONTACT : 0u);
    return m;
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* Frames of a few values (ties, +-0 that decide the sign of a zero peak,
 * NaN, infinities, tiny and huge values), widths odd and even, one row,
 * one column, row strides wider than the row, masks with holes, and
 * thresholds of every kind (NaN included). */
Test(metrics, paired_loop_matches_the_plain_form)
{
    static const float alphabet[] = {0.0f, -0.0f, 1.0f, 2.0f, 2.0f, 7.5f, -3.0f, 40.0f, 1e-7f, 3e5f};
    static const int32_t widths[] = {1, 2, 3, 4, 5, 31, 32, 33, 64};
    static const double thrs[] = {0.0, -0.0, 1.0, -5.0, NAN, INFINITY, -INFINITY, 2.0};
    static const double sats[] = {INFINITY, 2.0, 40.0, NAN, -INFINITY};
    static float f[8 * 70];
    static uint8_t mk[8 * 70];
    uint32_t s = 12345u;
    for (int t = 0; t < 5000; t++) {
        int32_t rows = 1 + (int32_t)(lcg(&s) % 7), cols = widths[lcg(&s) % 9];
        int32_t stride = cols + (int32_t)(lcg(&s) % 3);
        int zeros = lcg(&s) % 5 == 0; /* frames of +-0 only: the zero peak's sign */
        for (int32_t k = 0; k < rows * stride; k++) {
            uint32_t a = lcg(&s) % 12;
            f[k] = zeros ? ((lcg(&s) & 1) ? 0.0f : -0.0f)
                   : a == 10 ? NAN : a == 11 ? ((lcg(&s) & 1) ? INFINITY : -INFINITY) : alphabet[a];
            mk[k] = lcg(&s) % 6 != 0;
        }
        km_frame fr = {f, rows, cols, stride};
        km_mask m = {mk, rows, cols, stride};
        double thr = thrs[lcg(&s) % 8], sat = sats[lcg(&s) % 5];
        for (int with_mask = 0; with_mask < 2; with_mask++) {
            km_metrics got, want = plain_metrics(&fr, with_mask ? &m : NULL, 2.0, 3.0, thr, sat);
            memset(&got, 0, sizeof got);
            cr_assert_eq(km_frame_metrics(ctx, &fr, with_mask ? &m : NULL, 2.0, 3.0, 1.0, thr, sat,
                                          &got), KM_OK);
            cr_assert_eq(memcmp(&got, &want, sizeof got), 0,
                         "case %d (%dx%d, mask %d): peak %a/%a mean %a/%a cop %a,%a/%a,%a "
                         "flags %u/%u", t, (int)rows, (int)cols, with_mask, got.peak, want.peak,
                         got.mean, want.mean, got.cop_x_mm, got.cop_y_mm, want.cop_x_mm,
                         want.cop_y_mm, got.flags, want.flags);
        }
    }
}

/* Both forms of the loop (SSE2 pairs, and AVX2 quads that add only the
 * nonzero terms, packed) against the plain form, bit for bit, on frames
 * whose sums depend on their order: values over 50 binary orders of
 * magnitude, half of them +-0 (scattered, in runs, whole rows), NaN and
 * infinities, masks with holes, rows wider than the AVX2 span (512
 * columns) and widths of every remainder mod 4, thresholds that make the
 * zeros contact taxels (negative) or none (NaN). */
Test(metrics, packed_nonzero_terms_match_the_plain_form)
{
    static const int32_t widths[] = {1, 3, 4, 5, 6, 7, 8, 9, 31, 32, 33, 511, 512, 513, 515, 1030, 1101};
    static const double thrs[] = {0.0, -1.0, 1e-3, 5.0, NAN, -INFINITY};
    static const double sats[] = {INFINITY, 10.0, -INFINITY};
    static float f[5 * 1104];
    static uint8_t mk[5 * 1104];
    uint32_t s = 777u;
    int isas[2] = {KM_ISA_PORTABLE, km_detect_cpu_avx2() ? KM_ISA_AVX2 : KM_ISA_PORTABLE};
    for (int t = 0; t < 3000; t++) {
        int32_t rows = 1 + (int32_t)(lcg(&s) % 5), cols = widths[lcg(&s) % 17];
        int32_t stride = cols + (int32_t)(lcg(&s) % 4);
        uint32_t zero_rate = lcg(&s) % 4; /* of 4: none, a quarter, half, three quarters */
        int runs = lcg(&s) % 3 == 0, holes = lcg(&s) % 2;
        for (int32_t k = 0; k < rows * stride; k++) {
            uint32_t a = lcg(&s) % 100;
            int zero = runs ? (uint32_t)(k / 7) % 4 < zero_rate : lcg(&s) % 4 < zero_rate;
            if (zero)
                f[k] = (lcg(&s) & 1) ? 0.0f : -0.0f;
            else if (a == 0)
                f[k] = NAN;
            else if (a == 1)
                f[k] = (lcg(&s) & 1) ? INFINITY : -INFINITY;
            else {
                float m = 1.0f + (float)(lcg(&s) % (1u << 23)) / (float)(1u << 23);
                int e = (int)(lcg(&s) % 51) - 30;
                f[k] = ldexpf(a < 15 ? -m : m, e);
            }
            mk[k] = !holes || lcg(&s) % 6 != 0;
        }
        if (rows > 1 && lcg(&s) % 3 == 0) /* a row of zeros */
            for (int32_t c = 0; c < cols; c++)
                f[stride + c] = 0.0f;
        km_frame fr = {f, rows, cols, stride};
        km_mask m = {mk, rows, cols, stride};
        double thr = thrs[lcg(&s) % 6], sat = sats[lcg(&s) % 3];
        for (int with_mask = 0; with_mask < 2; with_mask++) {
            km_metrics want = plain_metrics(&fr, with_mask ? &m : NULL, 2.0, 3.0, thr, sat);
            for (int i = 0; i < 2; i++) {
                km_metrics got;
                memset(&got, 0, sizeof got);
                cr_assert_eq(km_frame_metrics_isa(ctx, &fr, with_mask ? &m : NULL, 2.0, 3.0, 1.0,
                                                  thr, sat, &got, (km_isa)isas[i]), KM_OK);
                cr_assert_eq(memcmp(&got, &want, sizeof got), 0,
                             "case %d isa %d (%dx%d, mask %d): peak %a/%a mean %a/%a "
                             "force %a/%a cop %a,%a/%a,%a flags %u/%u", t, isas[i], (int)rows,
                             (int)cols, with_mask, got.peak, want.peak, got.mean, want.mean,
                             got.force_n, want.force_n, got.cop_x_mm, got.cop_y_mm,
                             want.cop_x_mm, want.cop_y_mm, got.flags, want.flags);
            }
        }
    }
}
