/* The frame metrics' eight-lane sums (src/detect/metrics_lanes.c) against
 * the plain raster-order loop, bit for bit: on frames the lanes accept,
 * and on frames built to sit just either side of their exactness test,
 * where adding in another order rounds differently. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "detect/detect_internal.h"
#include "knotmap.h"

static km_ctx *ctx;
static void setup(void) { cr_assert_eq(km_ctx_create(&ctx), KM_OK); }
static void teardown(void) { km_ctx_free(ctx); }
TestSuite(metrics_lanes, .init = setup, .fini = teardown);

/* The sums as docs/ALGORITHMS.md 4 defines them: one taxel at a time, in
 * raster order, in double. */
static km_metric_sums plain_sums(const km_frame *fr, const km_mask *mk, double thr)
{
    km_metric_sums s = {-INFINITY, 0.0, 0.0, 0.0, 0.0, 0, 0};
    for (int32_t r = 0; r < fr->rows; r++)
        for (int32_t c = 0; c < fr->cols; c++) {
            double v = fr->data[(ptrdiff_t)r * fr->row_stride + c];
            if (!isfinite(v) || (mk != NULL && mk->data[(ptrdiff_t)r * mk->row_stride + c] == 0))
                continue;
            s.n_valid++;
            s.sum += v;
            s.peak = v > s.peak ? v : s.peak;
            if (v > thr) {
                s.n_contact++;
                s.wsum += v;
                s.wx += v * (double)c;
                s.wy += v * (double)r;
            }
        }
    return s;
}

/* km_frame_metrics's row from the plain sums; saturated: some valid value
 * >= the saturation level. */
static km_metrics plain_metrics(const km_metric_sums *s, int saturated, double rp, double cp)
{
    km_metrics m;
    memset(&m, 0, sizeof m);
    m.peak = s->n_valid > 0 ? s->peak : NAN;
    m.mean = s->n_valid > 0 ? s->sum / (double)s->n_valid : NAN;
    m.contact_area_mm2 = (double)s->n_contact * (rp * cp);
    m.force_n = s->wsum * (rp * cp) * 1e-3;
    m.cop_x_mm = s->n_contact > 0 && s->wsum > 0.0 ? s->wx / s->wsum * cp : NAN;
    m.cop_y_mm = s->n_contact > 0 && s->wsum > 0.0 ? s->wy / s->wsum * rp : NAN;
    m.flags = (s->n_contact == 0               ? KM_FRAME_EMPTY
               : s->n_contact == s->n_valid ? KM_FRAME_ALL_CONTACT
                                            : 0u) |
              (saturated ? KM_FRAME_SATURATED : 0u);
    return m;
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* m x 2^e, m in [1, 2) with random low bits. */
static float rnd_float(uint32_t *s, int e)
{
    return ldexpf(1.0f + (float)(lcg(s) % (1u << 23)) / (float)(1u << 23), e);
}

enum { MAXC = 1040, MAXR = 6 };
static float f[MAXR * (MAXC + 3)];
static uint8_t mk[MAXR * (MAXC + 3)];

/* One frame's check: the lanes, when they accept it, give the plain sums
 * bit for bit (the peak up to the sign of a zero, and a zero standing
 * for a maximum below it, which the caller finds again); the whole metrics row
 * (AVX2 path, accepted or not) equals the plain one.  Returns whether the
 * lanes accepted it. */
static int check_frame(const km_frame *fr, const km_mask *m, double thr, double sat,
                       const char *what, int t)
{
    km_metric_sums want = plain_sums(fr, m, thr), got;
    memset(&got, 0x5a, sizeof got);
    int took = km_metric_sums_lanes_avx2(fr, m, thr, &got);
    if (took) {
        cr_assert(got.peak == want.peak || (want.n_valid == 0 && got.n_valid == 0) ||
                      (got.peak == 0.0 && want.peak <= 0.0),
                  "%s %d: peak %a/%a", what, t, got.peak, want.peak);
        cr_assert(memcmp(&got.sum, &want.sum, 4 * sizeof(double)) == 0 &&
                      got.n_valid == want.n_valid && got.n_contact == want.n_contact,
                  "%s %d (%dx%d thr %a): sum %a/%a wsum %a/%a wx %a/%a wy %a/%a n %ld/%ld %ld/%ld",
                  what, t, (int)fr->rows, (int)fr->cols, thr, got.sum, want.sum, got.wsum,
                  want.wsum, got.wx, want.wx, got.wy, want.wy, (long)got.n_valid,
                  (long)want.n_valid, (long)got.n_contact, (long)want.n_contact);
    }
    int saturated = 0;
    for (int32_t r = 0; r < fr->rows; r++)
        for (int32_t c = 0; c < fr->cols; c++) {
            double v = fr->data[(ptrdiff_t)r * fr->row_stride + c];
            saturated |= isfinite(v) && (m == NULL || m->data[(ptrdiff_t)r * m->row_stride + c]) &&
                         v >= sat;
        }
    km_metrics mg, mw = plain_metrics(&want, saturated, 2.0, 3.0);
    memset(&mg, 0, sizeof mg);
    cr_assert_eq(km_frame_metrics_isa(ctx, fr, m, 2.0, 3.0, 1.0, thr, sat, &mg, KM_ISA_AVX2),
                 KM_OK);
    cr_assert_eq(memcmp(&mg, &mw, sizeof mg), 0,
                 "%s %d (%dx%d, lanes %d): peak %a/%a mean %a/%a force %a/%a cop %a,%a/%a,%a "
                 "flags %u/%u", what, t, (int)fr->rows, (int)fr->cols, took, mg.peak, mw.peak,
                 mg.mean, mw.mean, mg.force_n, mw.force_n, mg.cop_x_mm, mg.cop_y_mm, mw.cop_x_mm,
                 mw.cop_y_mm, mg.flags, mw.flags);
    return took;
}

/* Frames like a pressure session's and worse: values >= 0 over 0 to 40
 * binary orders, a share of exact zeros, NaN and infinities, sometimes a
 * negative value or -0.0 (which the lanes must refuse or get right),
 * masks with holes, widths of every remainder mod 8 and past the 512
 * columns of one span, strides wider than the row, thresholds that are
 * not floats, equal to a value, NaN and infinite, saturation levels at a
 * value, a float above it, at zero (both signs), below every value, NaN. */
Test(metrics_lanes, random_frames_match_the_plain_loop)
{
    static const int32_t widths[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40, 63,
                                     64, 65, 511, 512, 513, 520, 1030};
    if (!km_detect_cpu_avx2())
        cr_skip_test("no AVX2");
    uint32_t s = 4242u;
    int took = 0, n = 0;
    for (int t = 0; t < 4000; t++) {
        int32_t rows = 1 + (int32_t)(lcg(&s) % MAXR);
        int32_t cols = widths[lcg(&s) % (sizeof widths / sizeof *widths)];
        int32_t stride = cols + (int32_t)(lcg(&s) % 4);
        int span = (int)(lcg(&s) % 41), e0 = (int)(lcg(&s) % 60) - 40;
        uint32_t zero_rate = lcg(&s) % 4, odd = lcg(&s) % 8;
        for (int32_t k = 0; k < rows * stride; k++) {
            uint32_t a = lcg(&s) % 200;
            if (lcg(&s) % 4 < zero_rate)
                f[k] = 0.0f;
            else if (a == 0)
                f[k] = NAN;
            else if (a == 1)
                f[k] = (lcg(&s) & 1) ? INFINITY : -INFINITY;
            else if (a == 2 && odd == 0)
                f[k] = -0.0f;
            else if (a == 3 && odd == 1)
                f[k] = -rnd_float(&s, e0);
            else
                f[k] = rnd_float(&s, e0 + (int)(lcg(&s) % (uint32_t)(span + 1)));
            mk[k] = lcg(&s) % 8 != 0;
        }
        double pick = f[lcg(&s) % (uint32_t)(rows * stride)];
        const double thrs[] = {0.0, -0.0, -1.0, 0.1, ldexp(1.0, e0 + span / 2), pick,
                               nextafter(pick, INFINITY), nextafter(pick, -INFINITY), NAN,
                               INFINITY, -INFINITY, 1e300, -1e300};
        double thr = thrs[lcg(&s) % (sizeof thrs / sizeof *thrs)];
        km_frame fr = {f, rows, cols, stride};
        km_mask m = {mk, rows, cols, stride};
        const double sats[] = {INFINITY, pick, nextafter(pick, INFINITY), 0.0, -0.0, -1.0,
                               NAN, -INFINITY, ldexp(1.0, e0 + span)};
        double sat = sats[lcg(&s) % (sizeof sats / sizeof *sats)];
        took += check_frame(&fr, (lcg(&s) & 1) ? &m : NULL, thr, sat, "random", t);
        n++;
    }
    /* Both paths ran, the lanes on most frames. */
    cr_assert(took > n / 3 && took < n, "lanes took %d of %d frames", took, n);
}

/* Frames at the edge of the test: values of one binary order with full
 * significands and one to three small values whose ulp puts a whole (the
 * values' sum, or the largest weighted one) within a factor 4 either side
 * of 2^53 of them, so that adding in another order than the raster's
 * rounds (a small value lands in the last place of some partial sums and
 * not of others).  Columns up to 1029 and rows up to 5: wx and wy cross
 * the bound before the plain sums do. */
Test(metrics_lanes, frames_at_the_exactness_bound)
{
    static const int32_t widths[] = {8, 13, 32, 64, 100, 513, 1030};
    if (!km_detect_cpu_avx2())
        cr_skip_test("no AVX2");
    uint32_t s = 99u;
    int took = 0, n = 0;
    for (int t = 0; t < 6000; t++) {
        int32_t rows = 1 + (int32_t)(lcg(&s) % 5);
        int32_t cols = widths[lcg(&s) % (sizeof widths / sizeof *widths)];
        int big = 10 + (int)(lcg(&s) % 10);
        for (int32_t k = 0; k < rows * cols; k++)
            f[k] = lcg(&s) % 3 == 0 ? 0.0f : rnd_float(&s, big);
        km_frame fr = {f, rows, cols, cols};
        km_metric_sums b = plain_sums(&fr, NULL, 0.0);
        double whole = b.sum;
        if (lcg(&s) & 1)
            whole = fmax(b.wsum, fmax(b.wx, b.wy));
        /* 2^53 ulps of 2^small is 2^(small + 30): near the whole. */
        int small = ilogb(whole) - 30 + (int)(lcg(&s) % 5) - 2;
        for (int j = 0, nsmall = 1 + (int)(lcg(&s) % 3); j < nsmall; j++)
            f[lcg(&s) % (uint32_t)(rows * cols)] = rnd_float(&s, small);
        double thr = (lcg(&s) & 1) ? 0.0 : ldexp(1.0, small - 1);
        took += check_frame(&fr, NULL, thr, INFINITY, "bound", t);
        n++;
    }
    cr_assert(took > n / 10 && took < n - n / 10, "lanes took %d of %d frames", took, n);
}

/* The threshold compares doubles: values a float apart around a
 * threshold that is not a float, or is one. */
Test(metrics_lanes, threshold_between_floats)
{
    if (!km_detect_cpu_avx2())
        cr_skip_test("no AVX2");
    float v0 = 1.0f + 0x1p-23f;
    for (int k = 0; k < 9; k++)
        f[k] = k % 3 == 0 ? 1.0f : k % 3 == 1 ? v0 : nextafterf(v0, 2.0f);
    km_frame fr = {f, 3, 3, 3};
    const double thrs[] = {1.0, 1.0 + 0x1p-24, (double)v0, (double)v0 - 0x1p-40,
                           (double)v0 + 0x1p-40, nextafter(1.0, 0.0)};
    for (int i = 0; i < 6; i++) {
        km_metric_sums got, want = plain_sums(&fr, NULL, thrs[i]);
        cr_assert(km_metric_sums_lanes_avx2(&fr, NULL, thrs[i], &got));
        cr_assert_eq(got.n_contact, want.n_contact, "threshold %a: %ld contact taxels, want %ld",
                     thrs[i], (long)got.n_contact, (long)want.n_contact);
        cr_assert(got.wsum == want.wsum && got.wx == want.wx && got.wy == want.wy);
    }
}

/* The values' sum in reverse raster order: differs from the plain one on
 * a frame whose sum depends on the order of adding. */
static double reverse_sum(const km_frame *fr, const km_mask *m)
{
    double s = 0.0;
    for (int32_t r = fr->rows - 1; r >= 0; r--)
        for (int32_t c = fr->cols - 1; c >= 0; c--) {
            double v = fr->data[(ptrdiff_t)r * fr->row_stride + c];
            if (isfinite(v) && (m == NULL || m->data[(ptrdiff_t)r * m->row_stride + c] != 0))
                s += v;
        }
    return s;
}

/* A sensor that reads below zero: noise about zero on every taxel (no
 * exact zero, half the values negative, |noise| from 2^-26 to 0.25)
 * beside peaks of 2^5 to 2^8, sometimes a -0.0 or a NaN, masks with
 * holes.  With a threshold above the noise every weight
 * is a peak, so the lanes keep the weight sums and take the values' sum
 * in raster order: they accept every frame, bit for bit the plain
 * loop's, though on most frames another order rounds the values' sum
 * differently.  A threshold < 0 makes negative values weights: declined
 * (but for a small frame with none).  At 0 the noise's tiny weights
 * decide (either way, checked). */
Test(metrics_lanes, frames_below_zero)
{
    static const int32_t widths[] = {7, 13, 32, 35, 41, 64, 100, 513, 1030};
    if (!km_detect_cpu_avx2())
        cr_skip_test("no AVX2");
    uint32_t s = 7u;
    int took = 0, n = 0, order_matters = 0, declined = 0, below = 0;
    for (int t = 0; t < 3000; t++) {
        int32_t rows = 1 + (int32_t)(lcg(&s) % MAXR);
        int32_t cols = widths[lcg(&s) % (sizeof widths / sizeof *widths)];
        int32_t stride = cols + (int32_t)(lcg(&s) % 4);
        for (int32_t k = 0; k < rows * stride; k++) {
            float noise = rnd_float(&s, -3 - (int)(lcg(&s) % 24)) * ((lcg(&s) & 1) ? 1.0f : -1.0f);
            uint32_t a = lcg(&s) % 500;
            f[k] = a == 0 ? NAN : a == 1 ? -0.0f
                 : a < 150 ? rnd_float(&s, 5 + (int)(lcg(&s) % 4)) : noise;
            mk[k] = lcg(&s) % 8 != 0;
        }
        km_frame fr = {f, rows, cols, stride};
        km_mask m = {mk, rows, cols, stride};
        const km_mask *pm = (lcg(&s) & 1) ? &m : NULL;
        const double thrs[] = {0.0, -0.0, 0.5, 1.0, 3.7, 40.0};
        double thr = thrs[lcg(&s) % (sizeof thrs / sizeof *thrs)];
        int negative_thr = t % 10 == 9;
        if (negative_thr)
            thr = -0.25;
        int ok = check_frame(&fr, pm, thr, INFINITY, "below zero", t);
        if (thr > 0.0)
            cr_assert(ok, "frame %d (threshold %g): declined", t, thr);
        below += negative_thr;
        declined += negative_thr && !ok;
        km_metric_sums want = plain_sums(&fr, pm, thr);
        order_matters += reverse_sum(&fr, pm) != want.sum;
        took += ok;
        n++;
    }
    cr_assert(order_matters > n / 2, "the order changed the values' sum on %d of %d frames",
              order_matters, n);
    cr_assert(took > n / 2 && declined > below * 9 / 10, "took %d of %d; declined %d of %d",
              took, n, declined, below);
}

/* Every valid value below zero beside a NaN (or a masked taxel), whose
 * +0.0 in the lanes is their maximum: the frame is not saturated at a
 * level of 0 or just below it, and its peak is the largest value. */
Test(metrics_lanes, negative_maximum_beside_an_invalid_taxel)
{
    if (!km_detect_cpu_avx2())
        cr_skip_test("no AVX2");
    uint32_t s = 3u;
    for (int t = 0; t < 200; t++) {
        int32_t cols = 3 + (int32_t)(lcg(&s) % 40);
        for (int32_t k = 0; k < 2 * cols; k++) {
            f[k] = -rnd_float(&s, -3 - (int)(lcg(&s) % 20));
            mk[k] = 1;
        }
        f[lcg(&s) % (uint32_t)(2 * cols)] = NAN;
        mk[lcg(&s) % (uint32_t)(2 * cols)] = 0;
        km_frame fr = {f, 2, cols, cols};
        km_mask m = {mk, 2, cols, cols};
        const double sats[] = {0.0, -0.0, -1e-9, -1.0};
        check_frame(&fr, (t & 1) ? &m : NULL, 0.5, sats[t % 4], "negative maximum", t);
    }
}
