/* The sum of |v[k]| over the finite v[k] with mask[k] nonzero (mask NULL:
 * all), in double, as the plain loop in index order gives it, bit for bit:
 * when the values' exponents lie close enough together that every partial
 * sum is exact (hi - lo <= 29 - ceil(log2 n), in float exponent fields), the
 * order does not matter and eight lanes add them at once (AVX2); otherwise,
 * or without AVX2, the plain loop.  Not installed. */
#ifndef KM_EXACT_SUM_H
#define KM_EXACT_SUM_H

#include <stddef.h>
#include <stdint.h>

double km_abs_sum_masked(const float *v, const uint8_t *mask, size_t n);

#endif
