/* k-th smallest value by quickselect (Hoare partition, middle pivot), for
 * the medians of the temporal filter and the odometry.  One body for both
 * element types so the two can never drift apart.  Also the branch-free
 * selections of km_select_kth_bf and the smallest positive value. */
#include <math.h>
#include <string.h>

#include "internal.h"
#if KM_AVX2_TARGET
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

#define KM_DEFINE_SELECT(name, T)                                                  \
    T name(T *v, size_t n, size_t k)                                               \
    {                                                                              \
        size_t lo = 0, hi = n - 1;                                                 \
        while (lo < hi) {                                                          \
            T pivot = v[lo + (hi - lo) / 2];                                       \
            size_t i = lo, j = hi;                                                 \
            while (i <= j) {                                                       \
                while (v[i] < pivot)                                               \
                    i++;                                                           \
                while (v[j] > pivot)                                               \
                    j--;                                                           \
                if (i <= j) {                                                      \
                    T t = v[i];                                                    \
                    v[i] = v[j];                                                   \
                    v[j] = t;                                                      \
                    i++;                                                           \
                    if (j == 0) /* size_t: j would wrap below lo */               \
                        break;                                                     \
                    j--;                                                           \
                }                                                                  \
            }                                                                      \
            if (k <= j)                                                            \
                hi = j;                                                            \
            else if (k >= i)                                                       \
                lo = i;                                                            \
            else                                                                   \
                break;                                                             \
        }                                                                          \
        return v[k];                                                               \
    }

KM_DEFINE_SELECT(km_select_kth_f, float)
KM_DEFINE_SELECT(km_select_kth_d, double)

/* v[lo..hi) with the values below p first: the count of them.  Lomuto's
 * scheme without a branch: each value is swapped with the first one not
 * below p, whose place moves on only when the value is below. */
static size_t below_first(float *v, size_t lo, size_t hi, float p)
{
    size_t s = lo;
    for (size_t i = lo; i < hi; i++) {
        float x = v[i];
        size_t lt = x < p;
        v[i] = v[s];
        v[s] = x;
        s += lt;
    }
    return s;
}

/* The same with the values at or below p first. */
static size_t upto_first(float *v, size_t lo, size_t hi, float p)
{
    size_t s = lo;
    for (size_t i = lo; i < hi; i++) {
        float x = v[i];
        size_t le = x <= p;
        v[i] = v[s];
        v[s] = x;
        s += le;
    }
    return s;
}

#if KM_AVX2_TARGET
/* The longest range split eight values at a time (its side buffer, 8 KiB,
 * on the stack); a longer one takes the plain rounds until it is this
 * short. */
#define SIDE_MAX 2048

/* below_first (lt) or upto_first (!lt) eight values at a time: the values
 * taken packed to v[lo..] in their order (a store never reaches a value
 * not read yet: fewer were taken than read), the others to a side buffer,
 * then put after them; the last 0-7 one by one.  The same count as the
 * plain form; the order within each side may differ. */
__attribute__((target("avx2"))) static size_t split_avx2(float *v, size_t lo, size_t hi, float p,
                                                         int lt)
{
    float side[SIDE_MAX];
    const __m256 pv = _mm256_set1_ps(p);
    size_t s = lo, m = 0, i = lo;
    for (; i + 8 <= hi; i += 8) {
        __m256 x = _mm256_loadu_ps(v + i);
        __m256 c = lt ? _mm256_cmp_ps(x, pv, _CMP_LT_OQ) : _mm256_cmp_ps(x, pv, _CMP_LE_OQ);
        unsigned t = (unsigned)_mm256_movemask_ps(c);
        __m256i pt = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(km_pack8 + t)));
        __m256i po = _mm256_cvtepu8_epi32(
            _mm_loadl_epi64((const __m128i *)(const void *)(km_pack8 + (t ^ 0xffu))));
        _mm256_storeu_ps(v + s, _mm256_permutevar8x32_ps(x, pt));
        _mm256_storeu_ps(side + m, _mm256_permutevar8x32_ps(x, po));
        size_t nt = (size_t)__builtin_popcount(t);
        s += nt;
        m += 8 - nt;
    }
    for (; i < hi; i++) {
        float x = v[i];
        size_t t = lt ? x < p : x <= p;
        v[s] = x;
        side[m] = x;
        s += t;
        m += 1 - t;
    }
    memcpy(v + s, side, m * sizeof *v);
    return s;
}
#endif

/* v[lo..hi) with the values below p (lt) or at or below p (!lt) first: the
 * count of them. */
static size_t split(float *v, size_t lo, size_t hi, float p, int lt)
{
#if KM_AVX2_TARGET
    if (hi - lo <= SIDE_MAX && km_cpu_avx2())
        return split_avx2(v, lo, hi, p, lt);
#endif
    return lt ? below_first(v, lo, hi, p) : upto_first(v, lo, hi, p);
}

static inline float median3(float a, float b, float c)
{
    float lo = a < b ? a : b, hi = a < b ? b : a;
    hi = c < hi ? c : hi;
    return lo < hi ? hi : lo;
}

/* Where the data decide every compare (the noise's changes, a frame's
 * percentiles: km_select_kth_f's scans stop at a random place, a
 * mispredicted branch every two or three values), the partitions run
 * without a branch on the values: the values below the pivot (the median
 * of three) first; when k is not among them, the search goes on above
 * them, and when none was below, the values equal to the pivot are put
 * first, which ends a search among ties at once.  Short ranges by
 * insertion; a search that takes too many rounds hands its range to
 * km_select_kth_f. */
float km_select_kth_bf(float *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n, rounds = 0;
    while (hi - lo > 16) {
        if (++rounds > 64)
            return km_select_kth_f(v + lo, hi - lo, k - lo);
        float p = median3(v[lo], v[lo + (hi - lo) / 2], v[hi - 1]);
        size_t s = split(v, lo, hi, p, 1);
        if (k < s) {
            hi = s;
            continue;
        }
        if (s > lo) { /* progress: the ties, if any, are split from the rest later */
            lo = s;
            continue;
        }
        size_t e = split(v, s, hi, p, 0);
        if (k < e)
            return v[k]; /* v[s..e) all equal p */
        lo = e;
    }
    for (size_t i = lo + 1; i < hi; i++) {
        float x = v[i];
        size_t j = i;
        for (; j > lo && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
    return v[k];
}

float km_select_above_f(float *v, size_t n, size_t j, size_t k)
{
    if (k <= j)
        return v[j];
    return km_select_kth_bf(v + j + 1, n - j - 1, k - j - 1);
}

float km_min_positive_f(const float *v, size_t n)
{
    float m = INFINITY;
    size_t i = 0;
#if defined(__SSE2__)
    const __m128 inf = _mm_set1_ps(INFINITY), zero = _mm_setzero_ps();
    __m128 m4 = inf;
    for (; i + 4 <= n; i += 4) {
        __m128 x = _mm_loadu_ps(v + i), pos = _mm_cmpgt_ps(x, zero);
        m4 = _mm_min_ps(m4, _mm_or_ps(_mm_and_ps(pos, x), _mm_andnot_ps(pos, inf)));
    }
    float lanes[4];
    _mm_storeu_ps(lanes, m4);
    for (int j = 0; j < 4; j++)
        m = lanes[j] < m ? lanes[j] : m;
#endif
    for (; i < n; i++)
        m = v[i] > 0.0f && v[i] < m ? v[i] : m;
    return m;
}
