/* Hot loops of the detector: frame statistics and the 3x3 local-maximum
 * sweep, in a portable form and an AVX2 form chosen at run time.  The AVX2
 * functions carry their own target attribute because the library is not
 * built with -mavx2: they run only after km_detect_cpu_avx2() said yes.
 * Both forms only compare and select floats, so they agree bit for bit. */
#include <float.h>
#include <math.h>

#include "detect_internal.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define KM_HAVE_AVX2_TARGET 1
#include <immintrin.h>
#else
#define KM_HAVE_AVX2_TARGET 0
#endif

int km_detect_cpu_avx2(void)
{
#if KM_HAVE_AVX2_TARGET
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 1 : 0;
#else
    return 0;
#endif
}

void km_stats_portable(const float *data, ptrdiff_t stride, int32_t rows, int32_t cols,
                       km_frame_stats *out)
{
    float mn = INFINITY, mx = -INFINITY;
    size_t n = 0;

    for (int32_t i = 0; i < rows; i++) {
        const float *row = data + (ptrdiff_t)i * stride;
        for (int32_t j = 0; j < cols; j++) {
            float v = row[j];
            int fin = fabsf(v) <= FLT_MAX;
            /* Non-finite values must not move min/max: select them away. */
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

size_t km_lmax3_row_portable(const float *data, ptrdiff_t stride, int32_t cols, int32_t row,
                             int32_t c0, int32_t c1, float thr, uint32_t *out)
{
    const float *up = data + (ptrdiff_t)(row - 1) * stride;
    const float *mid = up + stride;
    const float *dn = mid + stride;
    uint32_t base = (uint32_t)row * (uint32_t)cols;
    size_t n = 0;

    for (int32_t j = c0; j <= c1; j++) {
        float v = mid[j];
        /* Branchless: always store, advance only on a hit. */
        int hit = (v > thr) & (v >= up[j - 1]) & (v >= up[j]) & (v >= up[j + 1]) &
                  (v >= mid[j - 1]) & (v >= mid[j + 1]) & (v >= dn[j - 1]) & (v >= dn[j]) &
                  (v >= dn[j + 1]);
        out[n] = base + (uint32_t)j;
        n += (size_t)hit;
    }
    return n;
}

#if KM_HAVE_AVX2_TARGET

__attribute__((target("avx2"))) void km_stats_avx2(const float *data, ptrdiff_t stride,
                                                   int32_t rows, int32_t cols,
                                                   km_frame_stats *out)
{
    const __m256 pinf = _mm256_set1_ps(INFINITY);
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 fmax = _mm256_set1_ps(FLT_MAX);
    __m256 vmn = pinf, vmx = ninf;
    size_t n = 0;
    float mn = INFINITY, mx = -INFINITY;

    for (int32_t i = 0; i < rows; i++) {
        const float *row = data + (ptrdiff_t)i * stride;
        int32_t j = 0;
        for (; j + 8 <= cols; j += 8) {
            __m256 v = _mm256_loadu_ps(row + j);
            __m256 fin = _mm256_cmp_ps(_mm256_and_ps(v, absmask), fmax, _CMP_LE_OQ);
            vmn = _mm256_min_ps(vmn, _mm256_blendv_ps(pinf, v, fin));
            vmx = _mm256_max_ps(vmx, _mm256_blendv_ps(ninf, v, fin));
            n += (size_t)__builtin_popcount((unsigned)_mm256_movemask_ps(fin));
        }
        for (; j < cols; j++) {
            float v = row[j];
            int fin = fabsf(v) <= FLT_MAX;
            float a = fin ? v : INFINITY;
            float b = fin ? v : -INFINITY;
            mn = a < mn ? a : mn;
            mx = b > mx ? b : mx;
            n += (size_t)fin;
        }
    }
    float tmn[8], tmx[8];
    _mm256_storeu_ps(tmn, vmn);
    _mm256_storeu_ps(tmx, vmx);
    for (int k = 0; k < 8; k++) {
        mn = tmn[k] < mn ? tmn[k] : mn;
        mx = tmx[k] > mx ? tmx[k] : mx;
    }
    out->min = mn;
    out->max = mx;
    out->n_valid = n;
    out->all_finite = n == (size_t)rows * (size_t)cols;
}

__attribute__((target("avx2"))) size_t km_lmax3_row_avx2(const float *data, ptrdiff_t stride,
                                                         int32_t cols, int32_t row, int32_t c0,
                                                         int32_t c1, float thr, uint32_t *out)
{
    const float *up = data + (ptrdiff_t)(row - 1) * stride;
    const float *mid = up + stride;
    const float *dn = mid + stride;
    const __m256 vthr = _mm256_set1_ps(thr);
    uint32_t base = (uint32_t)row * (uint32_t)cols;
    size_t n = 0;
    int32_t j = c0;

    for (;;) {
        unsigned skip = 0;
        if (j + 8 > c1 + 1) {
            /* Tail: one overlapping vector ending at c1, already-done lanes
             * masked off; a plain scalar loop when the row is too short. */
            if (j > c1)
                break;
            if (c1 + 1 - c0 < 8)
                return n + km_lmax3_row_portable(data, stride, cols, row, j, c1, thr, out + n);
            skip = (unsigned)(j - (c1 - 7));
            j = c1 - 7;
        }
        __m256 v = _mm256_loadu_ps(mid + j);
        /* Values are finite here (checked by the caller), so max_ps is exact. */
        __m256 m = _mm256_max_ps(_mm256_loadu_ps(up + j - 1), _mm256_loadu_ps(up + j));
        m = _mm256_max_ps(m, _mm256_loadu_ps(up + j + 1));
        m = _mm256_max_ps(m, _mm256_loadu_ps(mid + j - 1));
        m = _mm256_max_ps(m, _mm256_loadu_ps(mid + j + 1));
        m = _mm256_max_ps(m, _mm256_loadu_ps(dn + j - 1));
        m = _mm256_max_ps(m, _mm256_loadu_ps(dn + j));
        m = _mm256_max_ps(m, _mm256_loadu_ps(dn + j + 1));
        __m256 hit = _mm256_and_ps(_mm256_cmp_ps(v, m, _CMP_GE_OQ),
                                   _mm256_cmp_ps(v, vthr, _CMP_GT_OQ));
        unsigned bits = (unsigned)_mm256_movemask_ps(hit) & (0xffu << skip);
        while (bits) {
            out[n++] = base + (uint32_t)j + (uint32_t)__builtin_ctz(bits);
            bits &= bits - 1;
        }
        j += 8;
    }
    return n;
}

#else

void km_stats_avx2(const float *data, ptrdiff_t stride, int32_t rows, int32_t cols,
                   km_frame_stats *out)
{
    km_stats_portable(data, stride, rows, cols, out);
}

size_t km_lmax3_row_avx2(const float *data, ptrdiff_t stride, int32_t cols, int32_t row,
                         int32_t c0, int32_t c1, float thr, uint32_t *out)
{
    return km_lmax3_row_portable(data, stride, cols, row, c0, c1, thr, out);
}

#endif
