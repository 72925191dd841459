/* The median of each taxel's valid, finite 8-neighbours over a whole frame
 * (the offset-taxel test's warm-up, src/dsp/badtaxel.c, docs/ALGORITHMS.md
 * 11), four interior taxels at a time by a selection network.  Not
 * installed. */
#ifndef KM_NEIGHBOUR_MEDIAN_H
#define KM_NEIGHBOUR_MEDIAN_H

#include <stdint.h>

/* The median of the 8-neighbours (r, c) of a rows x cols frame f (row-major)
 * with mask != 0 and a finite value: the middle one, or the mean of the two
 * middle ones in float, as a stable insertion sort of them in row-major
 * order gives it (signed zeros included); NaN when there is none.  The
 * plain form, one taxel. */
float km_neighbour_median_plain(int32_t rows, int32_t cols, const uint8_t *mask, const float *f,
                                int32_t r, int32_t c);

/* out[k] = km_neighbour_median_plain of every taxel k, the same bits.  Where
 * all eight neighbours count and they do not hold both +0.0 and -0.0 (the
 * only equal floats with different bits), a network of min/max picks the
 * fourth and fifth values without a data-dependent branch (SSE2, four
 * taxels a register); elsewhere the plain form.  out must not alias f. */
void km_neighbour_medians(int32_t rows, int32_t cols, const uint8_t *mask, const float *f,
                          float *out);

#endif
