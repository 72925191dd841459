/* The frame metrics' sums in eight lanes, kept only where every order of
 * adding gives the raster order's bits (docs/ALGORITHMS.md section 4).
 *
 * The plain loop (metrics.c) adds its terms one after another in raster
 * order: four chains of dependent double additions that no compiler may
 * reorder.  A sum whose every partial sum is exact has one value whatever
 * the order, so this kernel adds in lanes and then checks that: no valid
 * value is negative (then each partial sum is at most the whole), and the
 * whole is below 2^53 ulps of the smallest nonzero term (each term is a
 * multiple of that ulp: a float value, or one times an integer column or
 * row).  A pressure frame passes (97% of a 32x32 roller session's frames;
 * the rest hold noise a few ulps above the floor, 2^-16 beside peaks of
 * 2^7); the caller adds in raster order otherwise.  Where only the values'
 * sum fails (a negative value with a threshold >= 0, so no weight is
 * negative; or values too far apart), the weight sums are kept and the
 * values are added again in raster order here (raster_value_sum).  Same
 * idea as km_abs_sum_masked (core/exact_sum.c), whose test counts terms
 * instead. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "detect_internal.h"
#include "core/exact_sum.h"

#if KM_HAVE_AVX2_TARGET

/* Columns per pass: each column's weight sum lives on the stack. */
#define LANES_SPAN 512

/* The largest float <= t: for finite float v, v > it exactly when
 * (double)v > t.  NaN for NaN, which no value exceeds. */
static float float_at_or_below(double t)
{
    if (isnan(t))
        return NAN;
    if (t >= (double)FLT_MAX)
        return FLT_MAX;
    if (t < -(double)FLT_MAX)
        return -INFINITY;
    float g = (float)t;
    return (double)g > t ? nextafterf(g, -INFINITY) : g;
}

/* km_exact_total for terms whose fold of |bits| - 1 is lo (zeros wrap to
 * the top: no nonzero term, no test); lo + 1 is the smallest one's bits,
 * its field e (0 for subnormals, whose ulp is that of e = 1).  The lanes
 * add fewer than 2^31 terms (km_metric_sums_lanes_avx2 checks the frame's
 * size). */
static int exact_in_any_order(uint32_t lo, double s)
{
    if (lo == UINT32_MAX)
        return 1;
    int e = (int)((lo + 1u) >> 23) > 1 ? (int)((lo + 1u) >> 23) : 1;
    return km_exact_total(e, s);
}

/* The state per lane: the maximum valid value, the counts, the low ends
 * of the nonzero values and weights (|bits| - 1, unsigned), the sign bits
 * seen, the sum of the values (the two halves of eight added first), the
 * row's weight sum, the frame's and its sum times the row; and the sum of
 * weight x column. */
typedef struct lanes8 {
    __m256 pk;
    __m256i nv, nc, xlo, wlo, neg;
    __m256d s, rw, ws, wy;
    double wx;
} lanes8;

/* The valid lanes of eight taxels: finite, live (inside the row) and,
 * when masked, with a nonzero mask byte (m8: eight of them). */
__attribute__((target("avx2"), always_inline)) static inline __m256i
valid8(__m256 v, __m256i live, const uint8_t *m8, int masked)
{
    /* v - v is +0.0 for a finite v, NaN for an infinity or a NaN. */
    __m256 fin = _mm256_cmp_ps(_mm256_sub_ps(v, v), _mm256_setzero_ps(), _CMP_EQ_OQ);
    __m256i ok = _mm256_and_si256(_mm256_castps_si256(fin), live);
    if (masked) {
        int64_t m;
        memcpy(&m, m8, sizeof m);
        __m256i z = _mm256_cmpeq_epi32(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(m)),
                                       _mm256_setzero_si256());
        ok = _mm256_andnot_si256(z, ok);
    }
    return ok;
}

/* Eight taxels into the state, their weights into csum (the columns'
 * weight sums); live marks the lanes inside the row, m8 the mask bytes
 * (masked 0: no mask).  xs 0 skips the values' own sum and low end: with a
 * threshold <= 0 and no negative value, the nonzero values are the
 * nonzero weights, so the sums are equal.  masked and xs are constants
 * where inlined. */
__attribute__((target("avx2"), always_inline)) static inline void
lanes8_add(lanes8 *s, __m256 v, __m256i live, const uint8_t *m8, int masked, int xs, __m256 thr,
           double *csum)
{
    const __m256i one = _mm256_set1_epi32(1);
    __m256i ok = valid8(v, live, m8, masked);
    __m256 okf = _mm256_castsi256_ps(ok);
    __m256 contact = _mm256_and_ps(okf, _mm256_cmp_ps(v, thr, _CMP_GT_OQ));
    __m256 x = _mm256_and_ps(v, okf), w = _mm256_and_ps(v, contact);
    __m256i xb = _mm256_castps_si256(x), wb = _mm256_castps_si256(w);
    /* Invalid taxels are +0.0 in x: the largest valid value when it is
       above 0, else (0 or a negative maximum) found again by the caller. */
    s->pk = _mm256_max_ps(x, s->pk);
    s->nv = _mm256_sub_epi32(s->nv, ok);
    s->nc = _mm256_sub_epi32(s->nc, _mm256_castps_si256(contact));
    s->neg = _mm256_or_si256(s->neg, xb);
    /* A negative term's bits exceed any positive one's: it cannot lower
       the low end, and neg sends the frame back to the plain loop anyway. */
    s->wlo = _mm256_min_epu32(s->wlo, _mm256_sub_epi32(wb, one));
    if (xs) {
        s->xlo = _mm256_min_epu32(s->xlo, _mm256_sub_epi32(xb, one));
        s->s = _mm256_add_pd(s->s, _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(x)),
                                                 _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1))));
    }
    __m256d wl = _mm256_cvtps_pd(_mm256_castps256_ps128(w));
    __m256d wh = _mm256_cvtps_pd(_mm256_extractf128_ps(w, 1));
    s->rw = _mm256_add_pd(s->rw, _mm256_add_pd(wl, wh));
    _mm256_storeu_pd(csum, _mm256_add_pd(_mm256_loadu_pd(csum), wl));
    _mm256_storeu_pd(csum + 4, _mm256_add_pd(_mm256_loadu_pd(csum + 4), wh));
}

/* Columns [0, n) of one row (row, mrow and csum point at its first): eight
 * at a time, the last 1-7 by a masked load whose lanes past n are not
 * valid.  Returns the row's weight sum per lane.  masked is a constant
 * where inlined, so the loop without a mask tests nothing. */
__attribute__((target("avx2"), always_inline)) static inline __m256d
lanes8_row(lanes8 *s, const float *row, const uint8_t *mrow, int masked, int xs, int32_t n,
           __m256 thr, double *csum)
{
    const __m256i all = _mm256_set1_epi32(-1);
    const int32_t n8 = n & ~(int32_t)7;
    s->rw = _mm256_setzero_pd();
    int32_t c = 0;
    for (; c < n8; c += 8)
        lanes8_add(s, _mm256_loadu_ps(row + c), all, masked ? mrow + c : mrow, masked, xs, thr,
                   csum + c);
    if (c < n) {
        __m256i live = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - c),
                                          _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0));
        uint8_t m8[8] = {0};
        if (masked)
            memcpy(m8, mrow + c, (size_t)(n - c));
        lanes8_add(s, _mm256_maskload_ps(row + c, live), live, m8, masked, xs, thr, csum + c);
    }
    return s->rw;
}

__attribute__((target("avx2"))) static int64_t fold_count(__m256i v)
{
    int32_t t[8];
    _mm256_storeu_si256((__m256i *)(void *)t, v);
    int64_t n = 0;
    for (int l = 0; l < 8; l++)
        n += t[l];
    return n;
}

__attribute__((target("avx2"))) static uint32_t fold_low(__m256i v)
{
    uint32_t t[8];
    _mm256_storeu_si256((__m256i *)(void *)t, v);
    uint32_t m = t[0];
    for (int l = 1; l < 8; l++)
        m = t[l] < m ? t[l] : m;
    return m;
}

__attribute__((target("avx2"))) static double fold_sum(__m256d v)
{
    double t[4];
    _mm256_storeu_pd(t, v);
    return (t[0] + t[1]) + (t[2] + t[3]);
}

/* Columns [c0, c0 + n) of every row into the state: the rows' weight
 * sums into ws and (times the row) wy, weight x column into wx.  masked
 * and xs as lanes8_add. */
__attribute__((target("avx2"), always_inline)) static inline void
lanes8_span(lanes8 *s, const km_frame *frame, const km_mask *mask, int masked, int xs, int32_t c0,
            int32_t n, __m256 thr)
{
    double csum[LANES_SPAN];
    memset(csum, 0, (size_t)n * sizeof *csum);
    __m256d dr = _mm256_setzero_pd();
    for (int32_t r = 0; r < frame->rows; r++) {
        const float *row = frame->data + (ptrdiff_t)r * frame->row_stride + c0;
        const uint8_t *mrow = masked ? mask->data + (ptrdiff_t)r * mask->row_stride + c0 : NULL;
        __m256d rw = lanes8_row(s, row, mrow, masked, xs, n, thr, csum);
        s->ws = _mm256_add_pd(s->ws, rw);
        s->wy = _mm256_add_pd(s->wy, _mm256_mul_pd(rw, dr));
        dr = _mm256_add_pd(dr, _mm256_set1_pd(1.0));
    }
    for (int32_t c = 0; c < n; c++)
        s->wx += csum[c] * (double)(c0 + c);
}

/* The whole frame into *out, in spans of LANES_SPAN columns. */
__attribute__((target("avx2"), always_inline)) static inline void
lanes8_frame(lanes8 *out, const km_frame *frame, const km_mask *mask, int masked, int xs,
             __m256 thr)
{
    const __m256i zero = _mm256_setzero_si256(), top = _mm256_set1_epi32(-1);
    const __m256d zd = _mm256_setzero_pd();
    lanes8 s = {_mm256_set1_ps(-INFINITY), zero, zero, top, top, zero, zd, zd, zd, zd, 0.0};
    for (int32_t c0 = 0; c0 < frame->cols; c0 += LANES_SPAN) {
        int32_t n = frame->cols - c0 < LANES_SPAN ? frame->cols - c0 : LANES_SPAN;
        lanes8_span(&s, frame, mask, masked, xs, c0, n, thr);
    }
    *out = s;
}

/* lanes8_frame with and without a mask and the values' own sum. */
__attribute__((target("avx2"))) static void frame_m1x1(lanes8 *o, const km_frame *f,
                                                      const km_mask *m, __m256 thr)
{
    lanes8_frame(o, f, m, 1, 1, thr);
}

__attribute__((target("avx2"))) static void frame_m1x0(lanes8 *o, const km_frame *f,
                                                      const km_mask *m, __m256 thr)
{
    lanes8_frame(o, f, m, 1, 0, thr);
}

__attribute__((target("avx2"))) static void frame_m0x1(lanes8 *o, const km_frame *f,
                                                      const km_mask *m, __m256 thr)
{
    lanes8_frame(o, f, m, 0, 1, thr);
}

__attribute__((target("avx2"))) static void frame_m0x0(lanes8 *o, const km_frame *f,
                                                      const km_mask *m, __m256 thr)
{
    lanes8_frame(o, f, m, 0, 0, thr);
}

/* The valid values' sum as the plain loop takes it: one taxel at a time
 * in raster order, in double (an invalid taxel adds +0.0, which leaves
 * the bits as they were: the sum is never -0.0).  For frames whose weight
 * sums are exact in any order but whose values' sum may not be: a sensor
 * that reads below zero (noise about a zero that is not clamped), or
 * values a few ulps above zero beside peaks.  The conversion and masking
 * are vector, eight taxels at a time; the additions stay in order. */
__attribute__((target("avx2"), always_inline)) static inline double
add8_in_order(double sum, __m256 v, __m256i live, const uint8_t *m8, int masked)
{
    __m256i ok = valid8(v, live, m8, masked);
    __m256 x = _mm256_and_ps(v, _mm256_castsi256_ps(ok));
    double d[8];
    _mm256_storeu_pd(d, _mm256_cvtps_pd(_mm256_castps256_ps128(x)));
    _mm256_storeu_pd(d + 4, _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)));
    sum += d[0];
    sum += d[1];
    sum += d[2];
    sum += d[3];
    sum += d[4];
    sum += d[5];
    sum += d[6];
    return sum + d[7];
}

__attribute__((target("avx2"))) static double raster_value_sum(const km_frame *frame,
                                                               const km_mask *mask)
{
    const __m256i all = _mm256_set1_epi32(-1);
    const int masked = mask != NULL && mask->data != NULL;
    const int32_t n8 = frame->cols & ~(int32_t)7;
    double sum = 0.0;
    for (int32_t r = 0; r < frame->rows; r++) {
        const float *row = frame->data + (ptrdiff_t)r * frame->row_stride;
        const uint8_t *mrow = masked ? mask->data + (ptrdiff_t)r * mask->row_stride : NULL;
        int32_t c = 0;
        for (; c < n8; c += 8)
            sum = masked ? add8_in_order(sum, _mm256_loadu_ps(row + c), all, mrow + c, 1)
                         : add8_in_order(sum, _mm256_loadu_ps(row + c), all, NULL, 0);
        if (c < frame->cols) { /* lanes past the row add +0.0 */
            __m256i live = _mm256_cmpgt_epi32(_mm256_set1_epi32(frame->cols - c),
                                              _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0));
            uint8_t m8[8] = {0};
            if (masked)
                memcpy(m8, mrow + c, (size_t)(frame->cols - c));
            sum = add8_in_order(sum, _mm256_maskload_ps(row + c, live), live, m8, masked);
        }
    }
    return sum;
}

__attribute__((target("avx2"))) int km_metric_sums_lanes_avx2(const km_frame *frame,
                                                             const km_mask *mask,
                                                             double contact_threshold,
                                                             km_metric_sums *out)
{
    if ((int64_t)frame->rows * frame->cols > INT32_MAX)
        return 0; /* counts are 32-bit per lane */
    const float thr_f = float_at_or_below(contact_threshold);
    const __m256 thr = _mm256_set1_ps(thr_f);
    const int xs = !(thr_f <= 0.0f); /* NaN: no weights, the values summed apart */
    lanes8 s;
    if (mask != NULL && mask->data != NULL)
        (xs ? frame_m1x1 : frame_m1x0)(&s, frame, mask, thr);
    else
        (xs ? frame_m0x1 : frame_m0x0)(&s, frame, mask, thr);
    /* A negative value (or -0.0): the values' partial sums may exceed the
       whole; the weights' too unless the threshold is >= 0 (every weight
       then > 0). */
    const int neg = _mm256_movemask_ps(_mm256_castsi256_ps(s.neg)) != 0;
    if (neg && !(thr_f >= 0.0f))
        return 0;
    double wsum = fold_sum(s.ws), wy = fold_sum(s.wy), sum = xs ? fold_sum(s.s) : wsum;
    double wmax = s.wx > wsum ? s.wx : wsum;
    if (!exact_in_any_order(fold_low(s.wlo), wy > wmax ? wy : wmax))
        return 0;
    if (neg || !exact_in_any_order(fold_low(s.xlo), sum))
        sum = raster_value_sum(frame, mask);
    float p8[8];
    _mm256_storeu_ps(p8, s.pk);
    float pk = p8[0];
    for (int l = 1; l < 8; l++)
        pk = p8[l] > pk ? p8[l] : pk;
    out->peak = (double)pk;
    out->sum = sum;
    out->wsum = wsum;
    out->wx = s.wx;
    out->wy = wy;
    out->n_valid = fold_count(s.nv);
    out->n_contact = fold_count(s.nc);
    return 1;
}

#endif
