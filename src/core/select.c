/* k-th smallest value by quickselect (Hoare partition, middle pivot), for
 * the medians of the temporal filter and the odometry.  One body for both
 * element types so the two can never drift apart. */
#include "internal.h"

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
 * of three) first, then, when k is not among them, those equal to it,
 * which ends a search among ties at once.  Short ranges by insertion; a
 * search that takes too many rounds hands its range to km_select_kth_f. */
float km_select_kth_bf(float *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n, rounds = 0;
    while (hi - lo > 16) {
        if (++rounds > 64)
            return km_select_kth_f(v + lo, hi - lo, k - lo);
        float p = median3(v[lo], v[lo + (hi - lo) / 2], v[hi - 1]);
        size_t s = below_first(v, lo, hi, p);
        if (k < s) {
            hi = s;
            continue;
        }
        size_t e = upto_first(v, s, hi, p);
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
