/* Sums of |v| in double that are exact, in any order (exact_sum.h). */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "exact_sum.h"
#include "internal.h"

#if KM_AVX2_TARGET
#include <immintrin.h>
#endif

/* ceil(log2(n)) for n >= 1. */
static int ceil_log2(size_t n)
{
    int b = 0;
    while (((size_t)1 << b) < n)
        b++;
    return b;
}

/* Whether a sum of up to n values whose exponent fields (1 for subnormals)
   lie in [lo, hi] is exact at every step: each value is a multiple of its
   own ulp 2^(e - 150), so of 2^(lo - 150); each is below 2^(hi - 126), a
   partial sum below 2^(ceil_log2(n) + hi - 126); both fit the 53 bits of a
   double's significand when hi - lo <= 29 - ceil_log2(n). */
static int exact_range(int lo, int hi, size_t n)
{
    return hi - lo <= 29 - ceil_log2(n);
}

int km_exact_total(int e, double s)
{
    return s <= ldexp(1.0 - 0x1p-20, e - 97);
}

/* exact_range's question answered by the sum itself (km_exact_total): it
   passes the frames whose few values far below the largest make the count
   test fail. */
static int exact_total(int lo, double s, size_t n)
{
    return n < ((size_t)1 << 31) && km_exact_total(lo, s);
}

#if KM_AVX2_TARGET
__attribute__((target("avx2"))) static int abs_sum_avx2(const float *v, const uint8_t *mask,
                                                        size_t n, double *out, float *copy)
{
    const __m256i absm = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
    const __m256i one = _mm256_set1_epi32(1), zero = _mm256_setzero_si256();
    /* The largest |bits| and the smallest |bits| - 1 (a zero wraps to the
       top, so that it never counts): exponent fields found at the end. */
    __m256i bmax = zero, bmin = _mm256_set1_epi32(-1);
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256i raw = _mm256_loadu_si256((const __m256i *)(const void *)(v + k));
        if (copy != NULL)
            _mm256_storeu_si256((__m256i *)(void *)(copy + k), raw);
        __m256i b = _mm256_and_si256(raw, absm);
        __m256i in = _mm256_cmpgt_epi32(inf, b); /* finite */
        if (mask != NULL) {
            int64_t b8;
            memcpy(&b8, mask + k, sizeof b8);
            in = _mm256_andnot_si256(_mm256_cmpeq_epi32(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(b8)),
                                                        zero), in);
        }
        b = _mm256_and_si256(b, in);
        bmax = _mm256_max_epu32(bmax, b);
        bmin = _mm256_min_epu32(bmin, _mm256_sub_epi32(b, one));
        __m256 a = _mm256_castsi256_ps(b);
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(a)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)));
    }
    uint32_t mx[8], mn[8], bhi = 0, blo = UINT32_MAX;
    _mm256_storeu_si256((__m256i *)(void *)mx, bmax);
    _mm256_storeu_si256((__m256i *)(void *)mn, bmin);
    for (int l = 0; l < 8; l++) {
        bhi = mx[l] > bhi ? mx[l] : bhi;
        blo = mn[l] < blo ? mn[l] : blo;
    }
    int hi = 0, lo = 255;
    if (bhi != 0) { /* some nonzero value: blo + 1 is the smallest one's bits */
        hi = (int)(bhi >> 23) > 1 ? (int)(bhi >> 23) : 1;
        lo = (int)((blo + 1u) >> 23) > 1 ? (int)((blo + 1u) >> 23) : 1;
    }
    double t = 0.0;
    for (; k < n; k++) {
        if (copy != NULL)
            copy[k] = v[k];
        float a = fabsf(v[k]);
        if ((mask != NULL && mask[k] == 0) || !(a <= FLT_MAX) || a == 0.0f)
            continue;
        uint32_t u;
        memcpy(&u, &a, sizeof u);
        int e = (int)(u >> 23) > 1 ? (int)(u >> 23) : 1;
        hi = e > hi ? e : hi;
        lo = e < lo ? e : lo;
        t += (double)a;
    }
    if (lo == 255) { /* nothing but zeros */
        *out = 0.0;
        return 1;
    }
    double l4[8];
    _mm256_storeu_pd(l4, s0);
    _mm256_storeu_pd(l4 + 4, s1);
    for (int l = 0; l < 8; l++)
        t += l4[l]; /* every partial sum exact: any order gives the same */
    if (!exact_range(lo, hi, n) && !exact_total(lo, t, n))
        return 0;
    *out = t;
    return 1;
}
#endif

static double abs_sum(const float *v, const uint8_t *mask, size_t n, float *copy)
{
    double s;
#if KM_AVX2_TARGET
    if (km_cpu_avx2() && abs_sum_avx2(v, mask, n, &s, copy))
        return s;
#endif
    if (copy != NULL)
        memcpy(copy, v, n * sizeof *v);
    s = 0.0;
    for (size_t k = 0; k < n; k++)
        if ((mask == NULL || mask[k]) && isfinite(v[k]))
            s += fabs((double)v[k]);
    return s;
}

double km_abs_sum_masked(const float *v, const uint8_t *mask, size_t n)
{
    return abs_sum(v, mask, n, NULL);
}

double km_abs_sum_masked_copy(const float *v, const uint8_t *mask, size_t n, float *copy)
{
    return abs_sum(v, mask, n, copy);
}
