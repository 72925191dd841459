/* Private interface of the peak detector (src/detect): the kernels that
 * have a portable and an AVX2 form, and the switch that tests use to force
 * one of them.  Not installed. */
#ifndef KM_DETECT_INTERNAL_H
#define KM_DETECT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "knotmap.h"

/* 1 where the compiler can target AVX2 for single functions (GCC or clang
 * on x86; the library is not built with -mavx2): the detector's AVX2
 * kernels carry their own target attribute and run only after
 * km_detect_cpu_avx2() said yes. */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define KM_HAVE_AVX2_TARGET 1
#include <immintrin.h>
#else
#define KM_HAVE_AVX2_TARGET 0
#endif

/* The larger of two floats, b when they compare equal (the hot loops' max:
   lmax.c, window_max.c). */
static inline float km_max2f(float a, float b)
{
    return a > b ? a : b;
}

/* Appends first + k for every set bit k of bits, ascending (the hits of
   a vector compare: lmax.c, window_max.c). */
static inline size_t km_emit_bits(unsigned bits, uint32_t first, uint32_t *out, size_t n)
{
    while (bits) {
        out[n++] = first + (uint32_t)__builtin_ctz(bits);
        bits &= bits - 1;
    }
    return n;
}

/* Instruction set for the hot loops.  AUTO picks AVX2 when the CPU has it.
 * Both give bit-identical results (the kernels only compare floats). */
typedef enum km_isa { KM_ISA_AUTO = -1, KM_ISA_PORTABLE = 0, KM_ISA_AVX2 = 1 } km_isa;

/* 1 when the running CPU supports AVX2 (and the compiler could target it). */
int km_detect_cpu_avx2(void);

/* km_frame_metrics with the instruction set forced (AVX2 only where
 * km_detect_cpu_avx2() says yes): the AVX2 form takes the sums in eight
 * lanes where they are exact in any order (km_metric_sums_lanes_avx2),
 * else packs the nonzero terms of each sum and adds them in the same
 * order, so both give the same bits. */
km_status km_frame_metrics_isa(km_ctx *ctx, const km_frame *frame, const km_mask *mask,
                               double row_pitch_mm, double col_pitch_mm, double units_to_kpa,
                               double contact_threshold, double saturation, km_metrics *out,
                               km_isa isa);

/* The sums of a frame's metrics (metrics.c): the largest valid value
 * (-inf when none), the sum of the valid values, of the contact weights,
 * of weight x column and weight x row, and the two counts. */
typedef struct km_metric_sums {
    double peak, sum, wsum, wx, wy;
    int64_t n_valid, n_contact;
} km_metric_sums;

#if KM_HAVE_AVX2_TARGET
/* The sums in eight lanes (metrics_lanes.c), for CPUs with AVX2: 1 with
 * *out filled when every weight sum is exact in any order (the values'
 * sum too, else it is added again in raster order), so equal bit for bit
 * to the plain loop's raster order (the maximum but for the sign of a
 * zero); 0, *out untouched, when a weight sum could round (a negative
 * value or -0.0 with a threshold < 0, or weights too far apart): add in
 * raster order then. */
int km_metric_sums_lanes_avx2(const km_frame *frame, const km_mask *mask,
                              double contact_threshold, km_metric_sums *out);
#endif

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

/* 3x3 local maxima of the block rows [r0, r1] x columns [c0, c1]
 * (1 <= r0 <= r1 <= rows-2, 1 <= c0 <= c1 <= cols-2) of a frame whose
 * values are all finite: taxels with v > thr and v >= their 8 neighbours.
 * With `edges`, columns 0 and cols-1 of those rows are checked too (their
 * windows clipped by the edge).  Separable: the horizontal 3-max of each
 * frame row is computed once into hbuf (3*cols + 32 floats, a ring)
 * and reused by the three output rows that need it.  Appends the raster
 * indices (row*cols + col) in increasing order to out, which must have
 * room for every taxel of the block plus 8 (the kernels store one past
 * the last hit); returns how many. */
size_t km_lmax3_portable(const float *data, ptrdiff_t stride, int32_t rows, int32_t cols,
                         int32_t r0, int32_t r1, int32_t c0, int32_t c1, int edges, float thr,
                         float *hbuf, uint32_t *out);
size_t km_lmax3_avx2(const float *data, ptrdiff_t stride, int32_t rows, int32_t cols,
                     int32_t r0, int32_t r1, int32_t c0, int32_t c1, int edges, float thr,
                     float *hbuf, uint32_t *out);

/* The 3x3 local maxima of the first or last row i of a finite frame with
 * rows >= 2 and cols >= 3 (windows clipped by the edge), appended in
 * raster order to out (one spare entry); returns how many. */
size_t km_lmax3_edge_row(const float *data, ptrdiff_t stride, int32_t rows, int32_t cols,
                         int32_t i, float thr, uint32_t *out);

/* One row of the sanitised copy: finite values with -0.0 made +0.0,
 * -inf for NaN and +-inf. */
void km_sanitise_row_portable(const float *src, const uint8_t *mr, int32_t cols, float *dst);
void km_sanitise_row_avx2(const float *src, const uint8_t *mr, int32_t cols, float *dst);

/* Statistics over the valid taxels of a sanitised copy (invalid taxels
 * -inf, valid ones finite, no -0.0): min and max of the valid ones, the
 * largest value (-inf when none is valid) and their count; all_finite 0.
 * The result is the one of a raster scan of the frame through the mask. */
void km_stats_sanitised_portable(const float *san, size_t n, km_frame_stats *s);
void km_stats_sanitised_avx2(const float *san, size_t n, km_frame_stats *s);

/* The sanitised copy of the frame (km_sanitise_row_* through the mask,
 * NULL or without data: none) into san (rows*cols, contiguous) and its
 * statistics (km_stats_sanitised_*) in the same pass: one read of the
 * frame instead of two, no call per row.  AVX2 only (where
 * km_detect_cpu_avx2() says yes); the same copy and the same statistics
 * bit for bit.  rowmax (NULL: not wanted; else KM_ROW_LANES * rows
 * floats) gets KM_ROW_LANES values for each row whose largest is the row's
 * largest sanitised value (-inf when none is valid): the lanes of the
 * row's vectors, not reduced. */
#define KM_ROW_LANES 8
void km_sanitise_stats_avx2(const km_frame *f, const km_mask *m, float *san, float *rowmax,
                            km_frame_stats *s);

/* Columns [j0, j1) of one row of the general path: s[j] > thr and
 * s[j] >= w[j] (the window max); appends base + j in increasing order to
 * out (one spare entry); returns how many. */
size_t km_cmp_row_portable(const float *s, const float *w, int32_t j0, int32_t j1, float thr,
                           uint32_t base, uint32_t *out);
size_t km_cmp_row_avx2(const float *s, const float *w, int32_t j0, int32_t j1, float thr,
                       uint32_t base, uint32_t *out);

/* Separable (2r+1)^2 maximum of the sanitised frame san (contiguous,
 * invalid = -inf) into wmax, through tmp (rows*cols each); windows clipped
 * by the edge shrink.  The general path (mask, non-finite values, r > 1). */
void km_window_max_portable(const float *san, float *tmp, float *wmax, int32_t rows,
                            int32_t cols, int32_t r);
void km_window_max_avx2(const float *san, float *tmp, float *wmax, int32_t rows, int32_t cols,
                        int32_t r);

/* The general path's candidates in one call (AVX2): km_window_max_avx2's
 * horizontal pass into tmp, then its vertical pass with km_cmp_row_avx2's
 * compare on each vector of maxima as it is made (no wmax stored and read
 * again, no call per row): the taxels of rows and columns [b, rows - b) x
 * [b, cols - b) with v > thr and v >= their window max, in raster order,
 * into out; their count.  rowmax (NULL: none) holds each row's largest
 * value in eight lanes (km_sanitise_stats_avx2): the rows before the first
 * and after the last with a value above thr are skipped, and the
 * horizontal pass made only for the rows within r of those between (a
 * roller's frame: its contact).  SIZE_MAX
 * where km_window_max_avx2 would take the plain loops (r < 1 or rows wider
 * than its padded row). */
size_t km_window_peaks_avx2(const float *san, float *tmp, int32_t rows, int32_t cols, int32_t r,
                            int32_t b, float thr, const float *rowmax, uint32_t *out);

/* 3x3 local-maximum test of (i, j) with the window clipped by the frame
 * edge (finite frame): the ring of the fast path. */
int km_lmax3_clipped(const float *data, ptrdiff_t stride, int32_t rows, int32_t cols, int32_t i,
                     int32_t j, float thr);

/* km_detector_apply with the instruction set chosen by the caller. */
km_status km_detector_apply_isa(km_ctx *ctx, km_detector *det, const km_frame *frame,
                                const km_mask *mask, km_peak *peaks, size_t capacity,
                                size_t *n_peaks, km_isa isa);

/* Sub-pixel position of the maximum at (row, col) of the sanitised frame
 * view (invalid taxels are -inf): fills *y, *x; returns 1 when it fell back
 * (see docs/ALGORITHMS.md 3.4). */
int km_subpixel(const float *data, ptrdiff_t stride, int32_t rows, int32_t cols, int32_t row,
                int32_t col, const km_mask *mask, double *y, double *x);

/* The same with every neighbour's place tested against the grid (the plain
 * form: km_subpixel tests it only for a peak on the edge of the grid, and
 * reads the 3x3 block of an interior one directly); for the tests. */
int km_subpixel_checked(const float *data, ptrdiff_t stride, int32_t rows, int32_t cols,
                        int32_t row, int32_t col, const km_mask *mask, double *y, double *x);

#endif
