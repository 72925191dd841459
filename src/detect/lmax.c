/* Hot loops of the detector: frame statistics and the 3x3 local-maximum
 * sweep, in a portable form and an AVX2 form chosen at run time (the
 * (2r+1)^2 window max of the general path: window_max.c).  The AVX2
 * functions carry their own target attribute because the library is not
 * built with -mavx2: they run only after km_detect_cpu_avx2() said yes.
 * Both forms only compare and select finite floats (exact and
 * order-independent up to the sign of zero, which every comparison
 * ignores), so they agree bit for bit. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "detect_internal.h"

int km_detect_cpu_avx2(void)
{
#if KM_HAVE_AVX2_TARGET
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 1 : 0;
#else
    return 0;
#endif
}

/* The slow, exact statistics: only reached when a frame holds a NaN or an
 * infinity, which the fast passes detect but do not account for. */
static void stats_careful(const float *data, ptrdiff_t stride, int32_t rows, int32_t cols,
                          km_frame_stats *out)
{
    float mn = INFINITY, mx = -INFINITY;
    size_t n = 0;

    for (int32_t i = 0; i < rows; i++) {
        const float *row = data + (ptrdiff_t)i * stride;
        for (int32_t j = 0; j < cols; j++) {
            float v = row[j];
            int fin = fabsf(v) <= FLT_MAX;
            float a = fin ? v : INFINITY;
            float b = fin ? v : -INFINITY;
            mn = a < mn ? a : mn;
            mx = b > mx ? b : mx;
            n += (size_t)fin;
        }
    }
    out->min = mn;
    out->max = mx;
    out->n_valid = n;
    out->all_finite = n == (size_t)rows * (size_t)cols;
}

void km_stats_portable(const float *data, ptrdiff_t stride, int32_t rows, int32_t cols,
                       km_frame_stats *out)
{
    /* Eight independent lanes (no reassociation, so no -ffast-math is
     * needed for gcc to vectorise); v - v is 0 for finite v and NaN
     * otherwise, so `bad` stays 0 exactly when every value is finite. */
    float mn[8], mx[8], bad[8];
    for (int k = 0; k < 8; k++) {
        mn[k] = INFINITY;
        mx[k] = -INFINITY;
        bad[k] = 0.0f;
    }
    for (int32_t i = 0; i < rows; i++) {
        const float *row = data + (ptrdiff_t)i * stride;
        int32_t j = 0;
        for (; j + 8 <= cols; j += 8) {
            for (int k = 0; k < 8; k++) {
                float v = row[j + k];
                mn[k] = v < mn[k] ? v : mn[k];
                mx[k] = v > mx[k] ? v : mx[k];
                bad[k] += v - v;
            }
        }
        for (; j < cols; j++) {
            float v = row[j];
            mn[0] = v < mn[0] ? v : mn[0];
            mx[0] = v > mx[0] ? v : mx[0];
            bad[0] += v - v;
        }
    }
    float a = mn[0], b = mx[0], z = bad[0];
    for (int k = 1; k < 8; k++) {
        a = mn[k] < a ? mn[k] : a;
        b = mx[k] > b ? mx[k] : b;
        z += bad[k];
    }
    if (z != 0.0f) {
        stats_careful(data, stride, rows, cols, out);
        return;
    }
    out->min = a;
    out->max = b;
    out->n_valid = (size_t)rows * (size_t)cols;
    out->all_finite = 1;
}

int km_lmax3_clipped(const float *data, ptrdiff_t stride, int32_t rows, int32_t cols, int32_t i,
                     int32_t j, float thr)
{
    float v = data[(ptrdiff_t)i * stride + j];
    if (!(v > thr))
        return 0;
    for (int32_t a = i - 1; a <= i + 1; a++) {
        if (a < 0 || a >= rows)
            continue;
        for (int32_t b = j - 1; b <= j + 1; b++) {
            if (b < 0 || b >= cols)
                continue;
            if (!(v >= data[(ptrdiff_t)a * stride + b]))
                return 0;
        }
    }
    return 1;
}

/* Column j (0 or cols-1) of an interior row i, jn its one neighbour
 * column: km_lmax3_clipped without the bounds checks. */
static inline int edge_col(const float *data, ptrdiff_t stride, int32_t i, int32_t j, int32_t jn,
                           float thr)
{
    const float *mid = data + (ptrdiff_t)i * stride, *up = mid - stride, *dn = mid + stride;
    float v = mid[j];
    return (v > thr) & (v >= up[j]) & (v >= up[jn]) & (v >= mid[jn]) & (v >= dn[j]) &
           (v >= dn[jn]);
}

size_t km_lmax3_edge_row(const float *data, ptrdiff_t stride, int32_t rows, int32_t cols,
                         int32_t i, float thr, uint32_t *out)
{
    const float *row = data + (ptrdiff_t)i * stride;
    const float *nb = i == 0 ? row + stride : row - stride;
    uint32_t base = (uint32_t)i * (uint32_t)cols;
    size_t n = 0;

    if (km_lmax3_clipped(data, stride, rows, cols, i, 0, thr))
        out[n++] = base;
    for (int32_t j = 1; j < cols - 1; j++) {
        float v = row[j];
        out[n] = base + (uint32_t)j;
        n += (size_t)((v > thr) & (v >= row[j - 1]) & (v >= row[j + 1]) & (v >= nb[j - 1]) &
                      (v >= nb[j]) & (v >= nb[j + 1]));
    }
    if (km_lmax3_clipped(data, stride, rows, cols, i, cols - 1, thr))
        out[n++] = base + (uint32_t)cols - 1;
    return n;
}

/* Horizontal 3-max of one frame row over columns [c0, c1]. */
static void hmax_row(const float *row, int32_t c0, int32_t c1, float *h)
{
    for (int32_t j = c0; j <= c1; j++)
        h[j] = km_max2f(km_max2f(row[j - 1], row[j]), row[j + 1]);
}

size_t km_lmax3_portable(const float *data, ptrdiff_t stride, int32_t rows, int32_t cols,
                         int32_t r0, int32_t r1, int32_t c0, int32_t c1, int edges, float thr,
                         float *hbuf, uint32_t *out)
{
    float *ha = hbuf, *hb = hbuf + cols, *hc = hbuf + 2 * (ptrdiff_t)cols;
    size_t n = 0;

    (void)rows; /* part of the shared signature; the edge columns need no row bound */
    hmax_row(data + (ptrdiff_t)(r0 - 1) * stride, c0, c1, ha);
    hmax_row(data + (ptrdiff_t)r0 * stride, c0, c1, hb);
    for (int32_t i = r0; i <= r1; i++) {
        const float *mid = data + (ptrdiff_t)i * stride;
        uint32_t base = (uint32_t)i * (uint32_t)cols;
        hmax_row(mid + stride, c0, c1, hc);
        out[n] = base;
        n += (size_t)(edges && edge_col(data, stride, i, 0, 1, thr));
        for (int32_t j = c0; j <= c1; j++) {
            float v = mid[j];
            float m = km_max2f(km_max2f(ha[j], hb[j]), hc[j]);
            /* Branchless: always store, advance only on a hit. */
            out[n] = base + (uint32_t)j;
            n += (size_t)((v > thr) & (v >= m));
        }
        out[n] = base + (uint32_t)cols - 1;
        n += (size_t)(edges && edge_col(data, stride, i, cols - 1, cols - 2, thr));
        float *t = ha;
        ha = hb;
        hb = hc;
        hc = t;
    }
    return n;
}

void km_sanitise_row_portable(const float *src, const uint8_t *mr, int32_t cols, float *dst)
{
    for (int32_t j = 0; j < cols; j++) {
        float v = src[j];
        /* +0.0f turns -0.0 into +0.0: one key per value in the sort. */
        dst[j] = fabsf(v) <= FLT_MAX && (mr == NULL || mr[j]) ? v + 0.0f : -INFINITY;
    }
}

void km_stats_sanitised_portable(const float *san, size_t n, km_frame_stats *s)
{
    float mn[8], mx[8];
    uint32_t cnt[8];
    size_t nv = 0, i = 0;
    for (int k = 0; k < 8; k++) {
        mn[k] = INFINITY;
        mx[k] = -INFINITY;
        cnt[k] = 0;
    }
    while (i + 8 <= n) {
        /* Counts per lane stay far below 2^32: flushed every 2^24 groups. */
        size_t end = n - i > ((size_t)8 << 24) ? i + ((size_t)8 << 24) : n;
        for (; i + 8 <= end; i += 8) {
            for (int k = 0; k < 8; k++) {
                float v = san[i + (size_t)k];
                float m = v > -INFINITY ? v : INFINITY;
                mn[k] = m < mn[k] ? m : mn[k];
                mx[k] = v > mx[k] ? v : mx[k];
                cnt[k] += v > -INFINITY;
            }
        }
        for (int k = 0; k < 8; k++) {
            nv += cnt[k];
            cnt[k] = 0;
        }
    }
    for (; i < n; i++) {
        float v = san[i];
        mn[0] = v > -INFINITY && v < mn[0] ? v : mn[0];
        mx[0] = v > mx[0] ? v : mx[0];
        nv += v > -INFINITY;
    }
    for (int k = 1; k < 8; k++) {
        mn[0] = mn[k] < mn[0] ? mn[k] : mn[0];
        mx[0] = mx[k] > mx[0] ? mx[k] : mx[0];
    }
    s->min = mn[0];
    s->max = mx[0];
    s->n_valid = nv;
    s->all_finite = 0;
}

size_t km_cmp_row_portable(const float *s, const float *w, int32_t j0, int32_t j1, float thr,
                           uint32_t base, uint32_t *out)
{
    size_t n = 0;
    for (int32_t j = j0; j < j1; j++) {
        out[n] = base + (uint32_t)j;
        n += (size_t)((s[j] > thr) & (s[j] >= w[j]));
    }
    return n;
}

#if KM_HAVE_AVX2_TARGET

__attribute__((target("avx2"))) void km_stats_avx2(const float *data, ptrdiff_t stride,
                                                   int32_t rows, int32_t cols,
                                                   km_frame_stats *out)
{
    __m256 mn0 = _mm256_set1_ps(INFINITY), mn1 = mn0;
    __m256 mx0 = _mm256_set1_ps(-INFINITY), mx1 = mx0;
    __m256 bad = _mm256_setzero_ps();
    float mn = INFINITY, mx = -INFINITY, sbad = 0.0f;

    for (int32_t i = 0; i < rows; i++) {
        const float *row = data + (ptrdiff_t)i * stride;
        int32_t j = 0;
        for (; j + 16 <= cols; j += 16) {
            __m256 v = _mm256_loadu_ps(row + j), w = _mm256_loadu_ps(row + j + 8);
            mn0 = _mm256_min_ps(mn0, v);
            mx0 = _mm256_max_ps(mx0, v);
            mn1 = _mm256_min_ps(mn1, w);
            mx1 = _mm256_max_ps(mx1, w);
            /* v - v: +0 (all bits clear) exactly when v is finite. */
            bad = _mm256_or_ps(bad, _mm256_or_ps(_mm256_sub_ps(v, v), _mm256_sub_ps(w, w)));
        }
        for (; j < cols; j++) {
            float v = row[j];
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
            sbad += v - v;
        }
    }
    float tmn[8], tmx[8];
    _mm256_storeu_ps(tmn, _mm256_min_ps(mn0, mn1));
    _mm256_storeu_ps(tmx, _mm256_max_ps(mx0, mx1));
    for (int k = 0; k < 8; k++) {
        mn = tmn[k] < mn ? tmn[k] : mn;
        mx = tmx[k] > mx ? tmx[k] : mx;
    }
    /* OR-ing NaN patterns with zeros or NaNs leaves NaNs: one test. */
    if (sbad != 0.0f || _mm256_movemask_ps(_mm256_cmp_ps(bad, bad, _CMP_UNORD_Q)) != 0) {
        stats_careful(data, stride, rows, cols, out);
        return;
    }
    out->min = mn;
    out->max = mx;
    out->n_valid = (size_t)rows * (size_t)cols;
    out->all_finite = 1;
}

__attribute__((target("avx2"))) static inline __m256 hmax8(const float *row, int32_t j)
{
    __m256 m = _mm256_max_ps(_mm256_loadu_ps(row + j - 1), _mm256_loadu_ps(row + j));
    return _mm256_max_ps(m, _mm256_loadu_ps(row + j + 1));
}

/* hmax_row with vectors: the last vector overlaps the previous one
 * (recomputing the same values) instead of a scalar tail. */
__attribute__((target("avx2"))) static void hmax_row_avx2(const float *row, int32_t c0,
                                                          int32_t c1, float *h)
{
    int32_t j = c0;
    for (; j + 8 <= c1 + 1; j += 8)
        _mm256_storeu_ps(h + j, hmax8(row, j));
    if (j <= c1)
        _mm256_storeu_ps(h + c1 - 7, hmax8(row, c1 - 7));
}

/* One vector of the fused sweep at column j of output row `mid`: stores
 * the horizontal max of the row below (kept for the two output rows after
 * this one) and returns the hit bits.  With `fold`, v > thr is tested as
 * v >= max(window, thr_up), thr_up the next float above thr: the same for
 * finite v and measured 10-20% faster than a second compare, but not when
 * the process treats denormals as zero (MXCSR DAZ/FTZ, set by code built
 * with -ffast-math) and thr_up is a denormal or zero: then the caller
 * passes fold = 0.  (Two output rows per pass sharing max(h[i], h[i+1])
 * measured no faster: not kept.) */
__attribute__((target("avx2"), always_inline)) static inline unsigned
sweep8(const float *mid, ptrdiff_t stride, const float *ha, const float *hb, float *hc, int32_t j,
       __m256 vthr, __m256 thr_up, const int fold)
{
    __m256 hn = hmax8(mid + stride, j);
    _mm256_storeu_ps(hc + j, hn);
    __m256 m = _mm256_max_ps(_mm256_loadu_ps(ha + j), _mm256_loadu_ps(hb + j));
    m = _mm256_max_ps(m, hn);
    __m256 v = _mm256_loadu_ps(mid + j);
    if (fold)
        return (unsigned)_mm256_movemask_ps(
            _mm256_cmp_ps(v, _mm256_max_ps(m, thr_up), _CMP_GE_OQ));
    return (unsigned)_mm256_movemask_ps(
        _mm256_and_ps(_mm256_cmp_ps(v, m, _CMP_GE_OQ), _mm256_cmp_ps(v, vthr, _CMP_GT_OQ)));
}


__attribute__((target("avx2"), always_inline)) static inline size_t
lmax3_avx2_body(const float *data, ptrdiff_t stride, int32_t cols, int32_t r0, int32_t r1,
                int32_t c0, int32_t c1, int edges, float thr, float *hbuf, uint32_t *out,
                const int fold)
{
    const __m256 vthr = _mm256_set1_ps(thr);
    const __m256 thr_up = _mm256_set1_ps(nextafterf(thr, INFINITY));
    /* Loads and stores that straddle a cache line cost two: the main loop
     * starts at the column ja where the first row's frame data is 32-byte
     * aligned (every row's, when the stride is a multiple of 8 floats; a
     * masked head vector covers [c0, ja)), and the h rows are placed so
     * that ja is aligned in them too. */
    int32_t ja = c0 + (int32_t)(((32u - ((uintptr_t)(data + (ptrdiff_t)r0 * stride + c0) & 31u)) &
                                 31u) / sizeof(float));
    ptrdiff_t rowlen = ((ptrdiff_t)cols + 7) & ~(ptrdiff_t)7;
    size_t mis = (size_t)(((uintptr_t)(hbuf + ja) & 31u) / sizeof(float));
    float *ha = hbuf + (8 - mis) % 8, *hb = ha + rowlen, *hc = hb + rowlen;
    size_t n = 0;

    hmax_row_avx2(data + (ptrdiff_t)(r0 - 1) * stride, c0, c1, ha);
    hmax_row_avx2(data + (ptrdiff_t)r0 * stride, c0, c1, hb);
    for (int32_t i = r0; i <= r1; i++) {
        const float *mid = data + (ptrdiff_t)i * stride;
        uint32_t base = (uint32_t)i * (uint32_t)cols;
        out[n] = base;
        n += (size_t)(edges && edge_col(data, stride, i, 0, 1, thr));
        int32_t j = ja;
        if (ja > c0)
            n = km_emit_bits(sweep8(mid, stride, ha, hb, hc, c0, vthr, thr_up, fold) & (0xffu >> (8 - (ja - c0))),
                     base + (uint32_t)c0, out, n);
        for (; j + 8 <= c1 + 1; j += 8)
            n = km_emit_bits(sweep8(mid, stride, ha, hb, hc, j, vthr, thr_up, fold), base + (uint32_t)j, out, n);
        if (j <= c1) {
            /* Tail: one vector ending at c1, overlapping the last one (its
             * h values are recomputed identically), lanes done masked off. */
            int32_t jj = c1 - 7;
            n = km_emit_bits(sweep8(mid, stride, ha, hb, hc, jj, vthr, thr_up, fold) & (0xffu << (j - jj)),
                     base + (uint32_t)jj, out, n);
        }
        out[n] = base + (uint32_t)cols - 1;
        n += (size_t)(edges && edge_col(data, stride, i, cols - 1, cols - 2, thr));
        float *t = ha;
        ha = hb;
        hb = hc;
        hc = t;
    }
    return n;
}

/* MXCSR flush-to-zero (bit 15) and denormals-are-zero (bit 6). */
#define KM_MXCSR_FTZ_DAZ 0x8040u

__attribute__((target("avx2"))) size_t km_lmax3_avx2(const float *data, ptrdiff_t stride,
                                                     int32_t rows, int32_t cols, int32_t r0,
                                                     int32_t r1, int32_t c0, int32_t c1,
                                                     int edges, float thr, float *hbuf,
                                                     uint32_t *out)
{
    if (c1 + 1 - c0 < 8)
        return km_lmax3_portable(data, stride, rows, cols, r0, r1, c0, c1, edges, thr, hbuf,
                                 out);
    float up = nextafterf(thr, INFINITY);
    if ((_mm_getcsr() & KM_MXCSR_FTZ_DAZ) == 0 || !(fabsf(up) < FLT_MIN))
        return lmax3_avx2_body(data, stride, cols, r0, r1, c0, c1, edges, thr, hbuf, out, 1);
    return lmax3_avx2_body(data, stride, cols, r0, r1, c0, c1, edges, thr, hbuf, out, 0);
}

/* Eight taxels of a row for the sanitised copy: the lanes that are valid
   (finite and, with a mask row mr, unmasked), and the values with -0.0
   made +0.0 into *x. */
__attribute__((target("avx2"), always_inline)) static inline __m256
valid8(const float *src, const uint8_t *mr, __m256 *x)
{
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 v = _mm256_loadu_ps(src);
    __m256 fin = _mm256_cmp_ps(_mm256_and_ps(v, absmask), _mm256_set1_ps(FLT_MAX), _CMP_LE_OQ);
    if (mr != NULL) {
        int64_t b8;
        memcpy(&b8, mr, sizeof b8);
        __m256i off = _mm256_cmpeq_epi32(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(b8)),
                                         _mm256_setzero_si256());
        fin = _mm256_andnot_ps(_mm256_castsi256_ps(off), fin);
    }
    *x = _mm256_add_ps(v, _mm256_setzero_ps());
    return fin;
}

__attribute__((target("avx2"))) void km_sanitise_row_avx2(const float *src, const uint8_t *mr,
                                                          int32_t cols, float *dst)
{
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    int32_t j = 0;
    for (; j + 8 <= cols; j += 8) {
        __m256 x, fin = valid8(src + j, mr != NULL ? mr + j : NULL, &x);
        _mm256_storeu_ps(dst + j, _mm256_blendv_ps(ninf, x, fin));
    }
    km_sanitise_row_portable(src + j, mr != NULL ? mr + j : NULL, cols - j, dst + j);
}

/* The min, max and count of eight lanes and a scalar tail into *s. */
static void stats_fold(const float tmn[8], const float tmx[8], const int32_t tc[8], float mn,
                       float mx, size_t nv, km_frame_stats *s)
{
    for (int k = 0; k < 8; k++) {
        mn = tmn[k] < mn ? tmn[k] : mn;
        mx = tmx[k] > mx ? tmx[k] : mx;
        nv += (size_t)tc[k];
    }
    s->min = mn;
    s->max = mx;
    s->n_valid = nv;
    s->all_finite = 0;
}

/* A row's last n (1-7) taxels as valid8 gives them, through a lane mask
   (the load, the mask bytes and the lanes past the row: not valid). */
__attribute__((target("avx2"), always_inline)) static inline __m256
valid_tail(const float *src, const uint8_t *mr, int32_t n, __m256i lanes, __m256 *x)
{
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 v = _mm256_maskload_ps(src, lanes);
    __m256 fin = _mm256_and_ps(_mm256_castsi256_ps(lanes),
                               _mm256_cmp_ps(_mm256_and_ps(v, absmask), _mm256_set1_ps(FLT_MAX),
                                             _CMP_LE_OQ));
    if (mr != NULL) {
        int64_t b8 = 0;
        memcpy(&b8, mr, (size_t)n);
        __m256i off = _mm256_cmpeq_epi32(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(b8)),
                                         _mm256_setzero_si256());
        fin = _mm256_andnot_ps(_mm256_castsi256_ps(off), fin);
    }
    *x = _mm256_add_ps(v, _mm256_setzero_ps());
    return fin;
}

__attribute__((target("avx2"))) void km_sanitise_stats_avx2(const km_frame *f, const km_mask *m,
                                                            float *san, float *rowmax,
                                                            km_frame_stats *s)
{
    const __m256 ninf = _mm256_set1_ps(-INFINITY), pinf = _mm256_set1_ps(INFINITY);
    __m256 mn = pinf, mx = ninf;
    __m256i cnt = _mm256_setzero_si256();
    int32_t cols = f->cols;
    const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols & 7),
                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const uint8_t *mdata = m != NULL ? m->data : NULL;
    for (int32_t i = 0; i < f->rows; i++) {
        const float *src = f->data + (ptrdiff_t)i * f->row_stride;
        const uint8_t *mr = mdata != NULL ? mdata + (ptrdiff_t)i * m->row_stride : NULL;
        float *dst = san + (size_t)i * (size_t)cols;
        __m256 rmx = ninf;
        int32_t j = 0;
        for (; j + 8 <= cols; j += 8) {
            __m256 x, fin = valid8(src + j, mr != NULL ? mr + j : NULL, &x);
            __m256 sv = _mm256_blendv_ps(ninf, x, fin);
            _mm256_storeu_ps(dst + j, sv);
            mn = _mm256_min_ps(mn, _mm256_blendv_ps(pinf, x, fin));
            rmx = _mm256_max_ps(rmx, sv);
            cnt = _mm256_sub_epi32(cnt, _mm256_castps_si256(fin));
        }
        if (j < cols) { /* the last 1-7 taxels: one masked vector (session 39) */
            __m256 x, fin = valid_tail(src + j, mr != NULL ? mr + j : NULL, cols - j, tail, &x);
            __m256 sv = _mm256_blendv_ps(ninf, x, fin);
            _mm256_maskstore_ps(dst + j, tail, sv);
            mn = _mm256_min_ps(mn, _mm256_blendv_ps(pinf, x, fin));
            rmx = _mm256_max_ps(rmx, sv);
            cnt = _mm256_sub_epi32(cnt, _mm256_castps_si256(fin));
        }
        mx = _mm256_max_ps(mx, rmx);
        if (rowmax != NULL) /* eight lanes: no reduction */
            _mm256_storeu_ps(rowmax + (size_t)i * KM_ROW_LANES, rmx);
    }
    float tmn[8], tmx[8];
    int32_t tc[8];
    _mm256_storeu_ps(tmn, mn);
    _mm256_storeu_ps(tmx, mx);
    _mm256_storeu_si256((__m256i *)(void *)tc, cnt);
    stats_fold(tmn, tmx, tc, INFINITY, -INFINITY, 0, s);
}

/* km_stats_sanitised_portable's answer in eight AVX2 lanes: min and max
   do not depend on the order (san holds no NaN and no -0.0), the counts
   are per lane (int32: n <= KM_MAX_TAXELS). */
__attribute__((target("avx2"))) void km_stats_sanitised_avx2(const float *san, size_t n,
                                                             km_frame_stats *s)
{
    const __m256 ninf = _mm256_set1_ps(-INFINITY), pinf = _mm256_set1_ps(INFINITY);
    __m256 mn = pinf, mx = ninf;
    __m256i cnt = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(san + i);
        __m256 ok = _mm256_cmp_ps(v, ninf, _CMP_GT_OQ);
        mn = _mm256_min_ps(mn, _mm256_blendv_ps(pinf, v, ok));
        mx = _mm256_max_ps(mx, v);
        cnt = _mm256_sub_epi32(cnt, _mm256_castps_si256(ok));
    }
    float tmn[8], tmx[8];
    int32_t tc[8];
    _mm256_storeu_ps(tmn, mn);
    _mm256_storeu_ps(tmx, mx);
    _mm256_storeu_si256((__m256i *)(void *)tc, cnt);
    km_frame_stats t;
    km_stats_sanitised_portable(san + i, n - i, &t);
    size_t nv = t.n_valid;
    for (int k = 0; k < 8; k++) {
        t.min = tmn[k] < t.min ? tmn[k] : t.min;
        t.max = tmx[k] > t.max ? tmx[k] : t.max;
        nv += (size_t)tc[k];
    }
    s->min = t.min;
    s->max = t.max;
    s->n_valid = nv;
    s->all_finite = 0;
}

__attribute__((target("avx2"))) size_t km_cmp_row_avx2(const float *s, const float *w,
                                                       int32_t j0, int32_t j1, float thr,
                                                       uint32_t base, uint32_t *out)
{
    const __m256 vthr = _mm256_set1_ps(thr);
    size_t n = 0;
    int32_t j = j0;
    for (; j + 8 <= j1; j += 8) {
        __m256 v = _mm256_loadu_ps(s + j);
        __m256 hit = _mm256_and_ps(_mm256_cmp_ps(v, vthr, _CMP_GT_OQ),
                                   _mm256_cmp_ps(v, _mm256_loadu_ps(w + j), _CMP_GE_OQ));
        n = km_emit_bits((unsigned)_mm256_movemask_ps(hit), base + (uint32_t)j, out, n);
    }
    if (j < j1 && j1 - j0 >= 8) {
        /* The last columns by one vector ending at j1, its lanes before j
           (compared above) masked off: the hits stay in raster order. */
        int32_t jj = j1 - 8;
        __m256 v = _mm256_loadu_ps(s + jj);
        __m256 hit = _mm256_and_ps(_mm256_cmp_ps(v, vthr, _CMP_GT_OQ),
                                   _mm256_cmp_ps(v, _mm256_loadu_ps(w + jj), _CMP_GE_OQ));
        unsigned bits = (unsigned)_mm256_movemask_ps(hit) & (0xffu << (j - jj));
        return km_emit_bits(bits, base + (uint32_t)jj, out, n);
    }
    return n + km_cmp_row_portable(s, w, j, j1, thr, base, out + n);
}

#else

void km_stats_avx2(const float *data, ptrdiff_t stride, int32_t rows, int32_t cols,
                   km_frame_stats *out)
{
    km_stats_portable(data, stride, rows, cols, out);
}

void km_sanitise_row_avx2(const float *src, const uint8_t *mr, int32_t cols, float *dst)
{
    km_sanitise_row_portable(src, mr, cols, dst);
}

void km_stats_sanitised_avx2(const float *san, size_t n, km_frame_stats *s)
{
    km_stats_sanitised_portable(san, n, s);
}

void km_sanitise_stats_avx2(const km_frame *f, const km_mask *m, float *san, float *rowmax,
                            km_frame_stats *s)
{
    (void)rowmax; /* never called: no AVX2 target */
    for (int32_t i = 0; i < f->rows; i++)
        km_sanitise_row_portable(f->data + (ptrdiff_t)i * f->row_stride,
                                 m != NULL && m->data != NULL ? m->data + (ptrdiff_t)i * m->row_stride
                                                              : NULL,
                                 f->cols, san + (size_t)i * (size_t)f->cols);
    km_stats_sanitised_portable(san, (size_t)f->rows * (size_t)f->cols, s);
}

size_t km_cmp_row_avx2(const float *s, const float *w, int32_t j0, int32_t j1, float thr,
                       uint32_t base, uint32_t *out)
{
    return km_cmp_row_portable(s, w, j0, j1, thr, base, out);
}

size_t km_lmax3_avx2(const float *data, ptrdiff_t stride, int32_t rows, int32_t cols,
                     int32_t r0, int32_t r1, int32_t c0, int32_t c1, int edges, float thr,
                     float *hbuf, uint32_t *out)
{
    return km_lmax3_portable(data, stride, rows, cols, r0, r1, c0, c1, edges, thr, hbuf, out);
}

#endif
