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
/* The same sum, v[0..n) copied to copy[0..n) bit for bit in the same pass
 * (the corrupt test's ring: one read of the frame, not two). */
double km_abs_sum_masked_copy(const float *v, const uint8_t *mask, size_t n, float *copy);

/* Whether a sum of fewer than 2^31 terms >= 0, each a multiple of the ulp
 * of float exponent field e (1 for subnormals) -- that is, of 2^(e - 150) --
 * has every partial sum exact, in any order, given s, the sum as some order
 * of adding gave it: every partial sum is at most the whole, exact while
 * below 2^53 ulps, 2^(e - 97); rounded in any order the sum is at least
 * (1 - 2^-22) of the exact one, so s <= (1 - 2^-20) 2^(e - 97) is enough.
 * Used by the corrupt-frame sum here and the frame metrics' lanes. */
int km_exact_total(int e, double s);

#endif
