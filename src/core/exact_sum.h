/* The sum of |v[k]| over the finite v[k] with mask[k] nonzero (mask NULL:
 * all), in double, as the plain loop in index order gives it, bit for bit:
 * when every partial sum is exact, the order does not matter and eight
 * lanes add them at once (AVX2).  Exact when the values' exponents lie
 * close enough together (hi - lo <= 29 - ceil(log2 n), in float exponent
 * fields) or when the lanes' sum is below (1 - 2^-20) 2^53 ulps of the
 * smallest nonzero value (session 24: a few values far below the others
 * no longer send a frame to the plain loop).  Otherwise, or without AVX2,
 * the plain loop.  Not installed. */
#ifndef KM_EXACT_SUM_H
#define KM_EXACT_SUM_H

#include <stddef.h>
#include <stdint.h>

double km_abs_sum_masked(const float *v, const uint8_t *mask, size_t n);

#endif
