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

float km_select_above_f(float *v, size_t n, size_t j, size_t k)
{
    if (k <= j)
        return v[j];
    return km_select_kth_f(v + j + 1, n - j - 1, k - j - 1);
}
