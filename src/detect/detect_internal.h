/* Private interface of the peak detector (src/detect): the kernels that
 * have a portable and an AVX2 form, and the switch that tests use to force
 * one of them.  Not installed. */
#ifndef KM_DETECT_INTERNAL_H
#define KM_DETECT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "knotmap.h"

/* Instruction set for the hot loops.  AUTO picks AVX2 when the CPU has it.
 * Both give bit-identical results (the kernels only compare floats). */
typedef enum km_isa { KM_ISA_AUTO = -1, KM_ISA_PORTABLE = 0, KM_ISA_AVX2 = 1 } km_isa;

/* 1 when the running CPU supports AVX2 (and the compiler could target it). */
int km_detect_cpu_avx2(void);

/* Statistics of a frame without a mask: min and max over finite values,
 * number of finite values, and whether every value is finite. */
typedef struct km_frame_stats {
    float min, max;
    size_t n_valid;
    int all_finite;
} km_frame_stats;

void km_stats_portable(const float *data, ptrdiff_t stride, int32_t rows, int32_t cols,
                       km_frame_stats *out);
void km_stats_avx2(const float *data, ptrdiff_t stride, int32_t rows, int32_t cols,
                   km_frame_stats *out);

/* 3x3 local maxima of row `row` (1 <= row <= rows-2) over columns
 * [c0, c1] (1 <= c0, c1 <= cols-2) of a frame whose values are all finite:
 * taxels with v > thr and v >= their 8 neighbours.  Appends the raster
 * indices (row*cols + col) in increasing order to out; returns how many. */
size_t km_lmax3_row_portable(const float *data, ptrdiff_t stride, int32_t cols, int32_t row,
                             int32_t c0, int32_t c1, float thr, uint32_t *out);
size_t km_lmax3_row_avx2(const float *data, ptrdiff_t stride, int32_t cols, int32_t row,
                         int32_t c0, int32_t c1, float thr, uint32_t *out);

/* km_detector_apply with the instruction set chosen by the caller. */
km_status km_detector_apply_isa(km_ctx *ctx, km_detector *det, const km_frame *frame,
                                const km_mask *mask, km_peak *peaks, size_t capacity,
                                size_t *n_peaks, km_isa isa);

/* Sub-pixel position of the maximum at (row, col) of the sanitised frame
 * view (invalid taxels are -inf): fills *y, *x; returns 1 when it fell back
 * (see docs/ALGORITHMS.md 3.4). */
int km_subpixel(const float *data, ptrdiff_t stride, int32_t rows, int32_t cols, int32_t row,
                int32_t col, const km_mask *mask, double *y, double *x);

#endif
