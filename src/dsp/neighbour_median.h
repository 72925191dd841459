/* The median of each taxel's valid, finite 8-neighbours over a whole frame
 * (the offset-taxel test's warm-up, src/dsp/badtaxel.c, docs/ALGORITHMS.md
 * 11), four taxels at a time by a sorting network; and their
 * maxima (the hot-taxel test).  Not installed. */
#ifndef KM_NEIGHBOUR_MEDIAN_H
#define KM_NEIGHBOUR_MEDIAN_H

#include <stdint.h>

/* The mean of the 8-neighbours of (r, c) whose known[] is 1 and whose value
 * is finite, summed in double in row-major order; their number in *count
 * (0: the mean is 0).  The fill of masked taxels (km_fill_masked) and of the
 * suspect taxels before the smoothing (src/pipeline/condition_stages.c). */
double km_neighbour_mean_known(int32_t rows, int32_t cols, const uint8_t *known, const float *f,
                               int32_t r, int32_t c, int *count);

/* The median of the 8-neighbours (r, c) of a rows x cols frame f (row-major)
 * with mask != 0 and a finite value: the middle one, or the mean of the two
 * middle ones in float, as a stable insertion sort of them in row-major
 * order gives it (signed zeros included); NaN when there is none.  The
 * plain form, one taxel. */
float km_neighbour_median_plain(int32_t rows, int32_t cols, const uint8_t *mask, const float *f,
                                int32_t r, int32_t c);

/* out[k] = km_neighbour_median_plain of every taxel k, the same bits.  Three
 * rows at a time are copied into padded rows on the stack, +inf where a
 * neighbour does not count (outside the grid, masked, not finite), and a
 * network of min/max sorts each taxel's eight and picks the median by the
 * number that count, without a data-dependent branch (SSE2, four taxels a
 * register); where the counted neighbours hold both +0.0 and -0.0 (the only
 * equal floats with different bits) the plain form.  out must not alias f. */
void km_neighbour_medians(int32_t rows, int32_t cols, const uint8_t *mask, const float *f,
                          float *out);

/* The same, eight taxels at a time (AVX2) only when avx2 and the CPU has
 * it, else four (SSE2): both ways for the tests; the same bits. */
void km_neighbour_medians_lanes(int32_t rows, int32_t cols, const uint8_t *mask, const float *f,
                                int avx2, float *out);

/* out[k] = the largest of the 8-neighbours of taxel k with mask != 0 and a
 * finite value; -INFINITY when there is none (the hot-taxel test of
 * src/dsp/badtaxel.c).  +0.0 and -0.0 are equal here: which of the two is
 * the largest when they tie is not said.  A frame at a time, each taxel's
 * neighbours taken once per row they lie in, without a gather or a
 * data-dependent branch.  out must not alias f. */
void km_neighbour_maxes(int32_t rows, int32_t cols, const uint8_t *mask, const float *f,
                        float *out);

/* The same for taxel (r, c) by gathering its neighbours: the plain form. */
float km_neighbour_max_plain(int32_t rows, int32_t cols, const uint8_t *mask, const float *f,
                             int32_t r, int32_t c);

/* out[k] = how many of the 8-neighbours of taxel k with mask != 0 read more
 * than halfway from floor up to taxel k (NaN never does; none when taxel k
 * is NaN): the offset test's footprint of a load (src/dsp/badtaxel.c).  A
 * frame at a time: with SSE2 (rows up to 1024 taxels) four taxels at once,
 * their neighbours read from NaN-padded rows (masked ones NaN) and compared
 * in float with the largest float at or below each level (the same answer
 * as the double compare); else each taxel's neighbours gathered. */
void km_neighbour_count_half(int32_t rows, int32_t cols, const uint8_t *mask, const float *f,
                             double floor, uint8_t *out);

#endif
