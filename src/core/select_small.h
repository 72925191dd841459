/* Order statistics of short float arrays (a row of taxels, a median
 * window) by rank counting: the answer is the element whose rank equals k,
 * found with compare-and-count loops that have no data-dependent branch and
 * vectorise; on 5-64 noisy values this beats sorting or quickselect, whose
 * partitions mispredict.  The rank is the stable one (ties ranked by array
 * position), so the element returned is the one an insertion sort would put
 * at position k, signed zeros included.  Values must not be NaN.  Not
 * installed. */
#ifndef KM_SELECT_SMALL_H
#define KM_SELECT_SMALL_H

#include <stddef.h>

/* Stable rank of v[i] among v[0..n). */
static inline size_t km_rank_stable_f(const float *v, size_t n, size_t i)
{
    float x = v[i];
    size_t r = 0;
    for (size_t j = 0; j < i; j++)
        r += v[j] <= x ? 1u : 0u;
    for (size_t j = i + 1; j < n; j++)
        r += v[j] < x ? 1u : 0u;
    return r;
}

/* The k-th smallest (0-based, k < n) of v[0..n); v is not modified. */
static inline float km_select_rank_f(const float *v, size_t n, size_t k)
{
    for (size_t i = 0; i < n; i++)
        if (km_rank_stable_f(v, n, i) == k)
            return v[i];
    return v[k]; /* not reached: ranks are a permutation of 0..n-1 */
}

/* The k-th and (k+1)-th smallest (k + 1 < n) in one pass. */
static inline void km_select_rank2_f(const float *v, size_t n, size_t k, float *lo, float *hi)
{
    int found = 0;
    for (size_t i = 0; i < n && found != 3; i++) {
        size_t r = km_rank_stable_f(v, n, i);
        if (r == k) {
            *lo = v[i];
            found |= 1;
        } else if (r == k + 1) {
            *hi = v[i];
            found |= 2;
        }
    }
}

/* Median of v[0..n) (n >= 1): the middle value, or the mean of the two
 * middle ones in float, exactly as sorting would give. */
static inline float km_median_small_f(const float *v, int n)
{
    if (n & 1)
        return km_select_rank_f(v, (size_t)n, (size_t)(n / 2));
    float a = 0.0f, b = 0.0f;
    km_select_rank2_f(v, (size_t)n, (size_t)(n / 2 - 1), &a, &b);
    return 0.5f * (a + b);
}

/* km_select_rank_f's answer (bit for bit) for n <= 32 by a sorting network
 * (AVX2, src/core/select_small.c): about a third of its time on a row of
 * 32 noisy values; other n or CPUs: km_select_rank_f. */
float km_select32_f(const float *v, size_t n, size_t k);

#endif
