/* Frame metrics: one row of the /metrics table (docs/ALGORITHMS.md section 4). */
#include <float.h>
#include <math.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "internal.h"
#include "detect_internal.h"
#include "lanes64.h"

static km_status check_args(km_ctx *ctx, const km_frame *frame, const km_mask *mask,
                            double row_pitch_mm, double col_pitch_mm, const km_metrics *out)
{
    if (frame == NULL || out == NULL || frame->data == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "frame metrics: frame or output is NULL");
    if (frame->rows < 1 || frame->cols < 1 || frame->row_stride < frame->cols)
        return km_fail(ctx, KM_ERR_INVALID, "frame metrics: bad frame shape %dx%d stride %td",
                       (int)frame->rows, (int)frame->cols, frame->row_stride);
    if (mask != NULL && mask->data != NULL &&
        (mask->rows != frame->rows || mask->cols != frame->cols || mask->row_stride < mask->cols))
        return km_fail(ctx, KM_ERR_INVALID, "frame metrics: mask shape %dx%d differs from frame %dx%d",
                       (int)mask->rows, (int)mask->cols, (int)frame->rows, (int)frame->cols);
    if (!(row_pitch_mm > 0.0) || !(col_pitch_mm > 0.0) || !isfinite(row_pitch_mm) ||
        !isfinite(col_pitch_mm))
        return km_fail(ctx, KM_ERR_INVALID, "frame metrics: pitch must be finite and > 0 (%g x %g mm)",
                       row_pitch_mm, col_pitch_mm);
    return KM_OK;
}

/* The sums over valid taxels, in raster order. */
typedef struct metrics_acc {
    double peak, sum, wsum, wx, wy;
    int64_t n_valid, n_contact;
    int saturated;
} metrics_acc;

/* v when keep is 1, else +0.0, by a bit mask (no branch). */
static inline double keep_if(double v, int keep)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    u &= 0u - (uint64_t)keep;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* Columns c0.. of one row (row and mrow point at column c0) into the sums,
 * without a data-dependent branch: a taxel that does not count adds +0.0,
 * which leaves each sum's bits as they were (a sum starts at +0.0 and a
 * rounded sum is -0.0 only when both terms are, so none is ever -0.0), so
 * the result is the one of skipping it.  Noise around the contact
 * threshold made those branches mispredict. */
static inline void add_row(metrics_acc *a, const float *row, const uint8_t *mrow, int32_t cols,
                           int32_t c0, int32_t r, double contact_threshold, double saturation)
{
    double peak = a->peak, sum = a->sum, wsum = a->wsum, wx = a->wx, wy = a->wy;
    int64_t n_valid = a->n_valid, n_contact = a->n_contact;
    int saturated = a->saturated;
    double dr = (double)r;
    for (int32_t c = 0; c < cols; c++) {
        double v = row[c];
        int ok = (fabs(v) <= DBL_MAX) & (mrow == NULL || mrow[c] != 0);
        int contact = ok & (v > contact_threshold);
        double x = keep_if(v, ok), w = keep_if(v, contact);
        double pv = ok ? v : -INFINITY;
        n_valid += ok;
        sum += x;
        peak = pv > peak ? pv : peak;
        saturated |= ok & (v >= saturation);
        /* Weights are the values themselves: only contact taxels count,
           so a negative baseline cannot pull the centre. */
        n_contact += contact;
        wsum += w;
        wx += w * (double)(c0 + c);
        wy += w * dr;
    }
    a->peak = peak;
    a->sum = sum;
    a->wsum = wsum;
    a->wx = wx;
    a->wy = wy;
    a->n_valid = n_valid;
    a->n_contact = n_contact;
    a->saturated = saturated;
}

#if defined(__SSE2__)
/* add_row two taxels at a time: the tests, the masked terms, the products,
 * the counts and a running maximum per lane in SSE2 registers; only the
 * additions stay serial, in raster order (the even taxel's term first), so
 * every sum has the bits of the plain loop.  The maximum is exact in any
 * order but for the sign of a zero maximum: km_frame_metrics rescans then.
 * Returns the number of columns done (the even part of cols). */
static int32_t add_row_pairs(metrics_acc *a, const float *row, const uint8_t *mrow, int32_t cols,
                             int32_t r, double contact_threshold, double saturation,
                             __m128d *peak2)
{
    const __m128d absmask = _mm_castsi128_pd(_mm_set1_epi64x(INT64_MAX));
    const __m128d big = _mm_set1_pd(DBL_MAX), thr = _mm_set1_pd(contact_threshold);
    const __m128d sat = _mm_set1_pd(saturation), dr = _mm_set1_pd((double)r);
    const __m128d ninf = _mm_set1_pd(-INFINITY), two = _mm_set1_pd(2.0);
    __m128d col = _mm_set_pd(1.0, 0.0), pk = *peak2, satv = _mm_setzero_pd();
    __m128i nv = _mm_setzero_si128(), nc = _mm_setzero_si128();
    double sum = a->sum, wsum = a->wsum, wx = a->wx, wy = a->wy;
    int32_t c = 0;
    for (; c + 2 <= cols; c += 2) {
        __m128d v = _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)(row + c))));
        __m128d ok = _mm_cmple_pd(_mm_and_pd(v, absmask), big);
        if (mrow != NULL) {
            uint16_t m2;
            memcpy(&m2, mrow + c, sizeof m2);
            __m128i m = _mm_unpacklo_epi8(_mm_cvtsi32_si128(m2), _mm_setzero_si128());
            m = _mm_unpacklo_epi16(m, _mm_setzero_si128());
            m = _mm_shuffle_epi32(_mm_cmpeq_epi32(m, _mm_setzero_si128()), 0x50);
            ok = _mm_andnot_pd(_mm_castsi128_pd(m), ok);
        }
        __m128d contact = _mm_and_pd(ok, _mm_cmpgt_pd(v, thr));
        __m128d x = _mm_and_pd(v, ok), w = _mm_and_pd(v, contact);
        __m128d wc = _mm_mul_pd(w, col), wr = _mm_mul_pd(w, dr);
        __m128d pv = _mm_or_pd(x, _mm_andnot_pd(ok, ninf));
        pk = _mm_max_pd(pv, pk); /* pv > pk ? pv : pk, per lane */
        satv = _mm_or_pd(satv, _mm_and_pd(ok, _mm_cmpge_pd(v, sat)));
        nv = _mm_sub_epi64(nv, _mm_castpd_si128(ok));
        nc = _mm_sub_epi64(nc, _mm_castpd_si128(contact));
        col = _mm_add_pd(col, two);
        sum += _mm_cvtsd_f64(x);
        wsum += _mm_cvtsd_f64(w);
        wx += _mm_cvtsd_f64(wc);
        wy += _mm_cvtsd_f64(wr);
        sum += _mm_cvtsd_f64(_mm_unpackhi_pd(x, x));
        wsum += _mm_cvtsd_f64(_mm_unpackhi_pd(w, w));
        wx += _mm_cvtsd_f64(_mm_unpackhi_pd(wc, wc));
        wy += _mm_cvtsd_f64(_mm_unpackhi_pd(wr, wr));
    }
    int64_t n2[2];
    _mm_storeu_si128((__m128i *)n2, nv);
    a->n_valid += n2[0] + n2[1];
    _mm_storeu_si128((__m128i *)n2, nc);
    a->n_contact += n2[0] + n2[1];
    a->saturated |= _mm_movemask_pd(satv) != 0;
    a->sum = sum;
    a->wsum = wsum;
    a->wx = wx;
    a->wy = wy;
    *peak2 = pk;
    return c;
}
#endif

#if KM_HAVE_AVX2_TARGET
/* Columns of one row that the AVX2 loop takes per span: the nonzero terms
 * kept between its two steps (below) live on the stack. */
#define QUAD_SPAN 512

/* How many lanes a 4-bit mask selects (km_lanes64_front packs them). */
static const uint8_t lane_count[16] = {0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4};

/* add_row four taxels at a time, for CPUs with AVX2 (the library is not
 * built with -mavx2: reached only after km_detect_cpu_avx2()).  The tests,
 * masked terms, counts and a running maximum per lane in 256-bit
 * registers, as add_row_pairs; the sums without their zero terms: a
 * pressure frame is mostly exact zeros (the conditioner clamps the floor
 * to +0.0: 45% of a roller session's taxels), scattered, and no sum is
 * ever -0.0 (add_row), so adding a zero (+0.0 or -0.0) leaves its bits as
 * they were.  The first step packs each quad's nonzero valid values, and
 * its nonzero contact weights with their columns, to the front of a
 * buffer (one permute and one store each, no branch; the count advances by
 * the lanes kept); the second adds the buffers in order, so every sum
 * meets its terms in raster order as in the plain loop, and the products
 * are the plain loop's (w * column, w * row, in double).  The maximum is
 * folded into a->peak (exact in any order but for the sign of a zero
 * maximum: frame_sums rescans then).  Returns the columns done (cols
 * rounded down to a multiple of 4). */
__attribute__((target("avx2"))) static int32_t
add_row_quads(metrics_acc *a, const float *row, const uint8_t *mrow, int32_t cols, int32_t r,
              double contact_threshold, double saturation)
{
    const __m256d absmask = _mm256_castsi256_pd(_mm256_set1_epi64x(INT64_MAX));
    const __m256d big = _mm256_set1_pd(DBL_MAX), thr = _mm256_set1_pd(contact_threshold);
    const __m256d sat = _mm256_set1_pd(saturation), ninf = _mm256_set1_pd(-INFINITY);
    const __m256d four = _mm256_set1_pd(4.0), zero = _mm256_setzero_pd();
    __m256d pk = ninf, satv = zero;
    __m256i nv = _mm256_setzero_si256(), nc = _mm256_setzero_si256();
    double sum = a->sum, wsum = a->wsum, wx = a->wx, wy = a->wy;
    const double rd = (double)r;
    double xt[QUAD_SPAN + 4], wt[QUAD_SPAN + 4], ct[QUAD_SPAN + 4];
    const int32_t quads = cols & ~(int32_t)3;
    for (int32_t c0 = 0; c0 < quads; c0 += QUAD_SPAN) {
        const int32_t c1 = quads - c0 < QUAD_SPAN ? quads : c0 + QUAD_SPAN;
        __m256d col = _mm256_add_pd(_mm256_set1_pd((double)c0), _mm256_set_pd(3.0, 2.0, 1.0, 0.0));
        size_t nx = 0, nw = 0;
        for (int32_t c = c0; c < c1; c += 4) {
            __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(row + c));
            __m256d ok = _mm256_cmp_pd(_mm256_and_pd(v, absmask), big, _CMP_LE_OQ);
            if (mrow != NULL) {
                int32_t m4;
                memcpy(&m4, mrow + c, sizeof m4);
                __m256i m = _mm256_cvtepu8_epi64(_mm_cvtsi32_si128(m4));
                m = _mm256_cmpeq_epi64(m, _mm256_setzero_si256());
                ok = _mm256_andnot_pd(_mm256_castsi256_pd(m), ok);
            }
            __m256d contact = _mm256_and_pd(ok, _mm256_cmp_pd(v, thr, _CMP_GT_OQ));
            __m256d x = _mm256_and_pd(v, ok), w = _mm256_and_pd(v, contact);
            pk = _mm256_max_pd(_mm256_or_pd(x, _mm256_andnot_pd(ok, ninf)), pk);
            satv = _mm256_or_pd(satv, _mm256_and_pd(ok, _mm256_cmp_pd(v, sat, _CMP_GE_OQ)));
            nv = _mm256_sub_epi64(nv, _mm256_castpd_si256(ok));
            nc = _mm256_sub_epi64(nc, _mm256_castpd_si256(contact));
            int zx = _mm256_movemask_pd(_mm256_cmp_pd(x, zero, _CMP_NEQ_UQ));
            int zw = _mm256_movemask_pd(_mm256_cmp_pd(w, zero, _CMP_NEQ_UQ));
            __m256i ix = _mm256_loadu_si256((const __m256i *)(const void *)km_lanes64_front((unsigned)zx));
            __m256i iw = _mm256_loadu_si256((const __m256i *)(const void *)km_lanes64_front((unsigned)zw));
            _mm256_storeu_ps((float *)(xt + nx), _mm256_permutevar8x32_ps(_mm256_castpd_ps(x), ix));
            _mm256_storeu_ps((float *)(wt + nw), _mm256_permutevar8x32_ps(_mm256_castpd_ps(w), iw));
            _mm256_storeu_ps((float *)(ct + nw), _mm256_permutevar8x32_ps(_mm256_castpd_ps(col), iw));
            nx += lane_count[zx];
            nw += lane_count[zw];
            col = _mm256_add_pd(col, four);
        }
        for (size_t k = 0; k < nx; k++)
            sum += xt[k];
        for (size_t k = 0; k < nw; k++) {
            wsum += wt[k];
            wx += wt[k] * ct[k];
            wy += wt[k] * rd;
        }
    }
    int64_t n4[4];
    _mm256_storeu_si256((__m256i *)n4, nv);
    a->n_valid += n4[0] + n4[1] + n4[2] + n4[3];
    _mm256_storeu_si256((__m256i *)n4, nc);
    a->n_contact += n4[0] + n4[1] + n4[2] + n4[3];
    a->saturated |= _mm256_movemask_pd(satv) != 0;
    double p4[4];
    _mm256_storeu_pd(p4, pk);
    for (int k = 0; k < 4; k++)
        a->peak = p4[k] > a->peak ? p4[k] : a->peak;
    a->sum = sum;
    a->wsum = wsum;
    a->wx = wx;
    a->wy = wy;
    return quads;
}
#endif

/* A zero maximum (+0.0 or -0.0) found out of order: the raster order's
 * first zero decides its sign, and from the lanes it may stand for a
 * negative maximum (an invalid taxel's +0.0 above it), so rescan in that
 * order. */
static void zero_peak_rescan(metrics_acc *a, const km_frame *frame, const km_mask *mask,
                             double contact_threshold, double saturation)
{
    if (a->peak != 0.0)
        return;
    metrics_acc z = {-INFINITY, 0.0, 0.0, 0.0, 0.0, 0, 0, 0};
    for (int32_t r = 0; r < frame->rows; r++)
        add_row(&z, frame->data + (ptrdiff_t)r * frame->row_stride,
                mask == NULL || mask->data == NULL
                    ? NULL : mask->data + (ptrdiff_t)r * mask->row_stride,
                frame->cols, 0, r, contact_threshold, saturation);
    a->peak = z.peak;
}

/* The sums, counts and maximum of a frame: in eight lanes where that is
 * exact (avx2 set, metrics_lanes.c), else quads of taxels by AVX2 or pairs
 * by SSE2, the remaining columns by the plain loop; a zero maximum (+0.0
 * or -0.0) rescanned in raster order, whose first zero it is. */
static void frame_sums(metrics_acc *a, const km_frame *frame, const km_mask *mask,
                       double contact_threshold, double saturation, int avx2)
{
#if defined(__SSE2__)
    __m128d peak2 = _mm_set1_pd(-INFINITY);
#endif
    (void)avx2;
#if KM_HAVE_AVX2_TARGET
    km_metric_sums ls;
    if (avx2 && km_metric_sums_lanes_avx2(frame, mask, contact_threshold, &ls)) {
        a->peak = ls.peak;
        a->sum = ls.sum;
        a->wsum = ls.wsum;
        a->wx = ls.wx;
        a->wy = ls.wy;
        a->n_valid = ls.n_valid;
        a->n_contact = ls.n_contact;
        /* Some valid value >= saturation exactly when the largest is
           (after the rescan: a zero from the lanes may stand for a
           negative maximum). */
        zero_peak_rescan(a, frame, mask, contact_threshold, saturation);
        a->saturated = ls.n_valid > 0 && a->peak >= saturation;
        return;
    }
#endif
    for (int32_t r = 0; r < frame->rows; r++) {
        const float *row = frame->data + (ptrdiff_t)r * frame->row_stride;
        const uint8_t *mrow = mask == NULL || mask->data == NULL
                                  ? NULL : mask->data + (ptrdiff_t)r * mask->row_stride;
        int32_t c0 = 0;
#if KM_HAVE_AVX2_TARGET
        if (avx2)
            c0 = add_row_quads(a, row, mrow, frame->cols, r, contact_threshold, saturation);
        else
#endif
#if defined(__SSE2__)
            c0 = add_row_pairs(a, row, mrow, frame->cols, r, contact_threshold, saturation,
                               &peak2);
#endif
        add_row(a, row + c0, mrow != NULL ? mrow + c0 : NULL, frame->cols - c0, c0, r,
                contact_threshold, saturation);
    }
#if defined(__SSE2__)
    double p2[2];
    _mm_storeu_pd(p2, peak2);
    for (int k = 0; k < 2; k++)
        a->peak = p2[k] > a->peak ? p2[k] : a->peak;
#endif
    zero_peak_rescan(a, frame, mask, contact_threshold, saturation);
}

km_status km_frame_metrics(km_ctx *ctx, const km_frame *frame, const km_mask *mask,
                           double row_pitch_mm, double col_pitch_mm, double units_to_kpa,
                           double contact_threshold, double saturation, km_metrics *out)
{
    return km_frame_metrics_isa(ctx, frame, mask, row_pitch_mm, col_pitch_mm, units_to_kpa,
                                contact_threshold, saturation, out, KM_ISA_AUTO);
}

km_status km_frame_metrics_isa(km_ctx *ctx, const km_frame *frame, const km_mask *mask,
                               double row_pitch_mm, double col_pitch_mm, double units_to_kpa,
                               double contact_threshold, double saturation, km_metrics *out,
                               km_isa isa)
{
    km_status st = check_args(ctx, frame, mask, row_pitch_mm, col_pitch_mm, out);
    if (st != KM_OK)
        return st;

    metrics_acc a = {-INFINITY, 0.0, 0.0, 0.0, 0.0, 0, 0, 0};
    int avx2 = isa == KM_ISA_AVX2 || (isa == KM_ISA_AUTO && km_detect_cpu_avx2());
    frame_sums(&a, frame, mask, contact_threshold, saturation, avx2);

    double area = row_pitch_mm * col_pitch_mm;
    out->peak = a.n_valid > 0 ? a.peak : NAN;
    out->mean = a.n_valid > 0 ? a.sum / (double)a.n_valid : NAN;
    out->contact_area_mm2 = (double)a.n_contact * area;
    /* kPa * mm^2 = 1e3 N/m^2 * 1e-6 m^2 = 1e-3 N. */
    out->force_n = isfinite(units_to_kpa) ? a.wsum * units_to_kpa * area * 1e-3 : NAN;
    if (a.n_contact > 0 && a.wsum > 0.0) {
        out->cop_x_mm = a.wx / a.wsum * col_pitch_mm;
        out->cop_y_mm = a.wy / a.wsum * row_pitch_mm;
    } else {
        out->cop_x_mm = NAN;
        out->cop_y_mm = NAN;
    }
    out->flags = 0;
    if (a.saturated)
        out->flags |= KM_FRAME_SATURATED;
    if (a.n_contact == 0)
        out->flags |= KM_FRAME_EMPTY;
    else if (a.n_contact == a.n_valid)
        out->flags |= KM_FRAME_ALL_CONTACT;
    return KM_OK;
}
