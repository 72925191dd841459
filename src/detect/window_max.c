/* The (2r+1)^2 window max of the detector's general path (a sanitised
 * frame: invalid taxels -inf, no NaN, no -0.0), in a portable form and an
 * AVX2 form chosen at run time (the AVX2 function carries its own target
 * attribute: the library is not built with -mavx2).  A max of such values
 * is exact in any order, so both forms agree bit for bit. */
#include <math.h>
#include <stdint.h>

#include "detect_internal.h"

/* Separable (2r+1)^2 running max of san into wmax; outside the grid is
 * ignored (never a value), so clipped windows simply shrink.  Plain loops
 * that the compiler vectorises: compiled once for the baseline ISA and
 * once inside an AVX2 function (8 lanes instead of 4). */
__attribute__((always_inline)) static inline void
window_max_body(const float *restrict san, float *restrict tmp, float *restrict wmax,
                int32_t rows, int32_t cols, int32_t r)
{
    for (int32_t i = 0; i < rows; i++) {
        const float *restrict in = san + (size_t)i * (size_t)cols;
        float *restrict o = tmp + (size_t)i * (size_t)cols;
        for (int32_t j = 0; j < cols; j++)
            o[j] = in[j];
        for (int32_t k = 1; k <= r && k < cols; k++) {
            /* o[j] = max(o[j], in[j+k]) and max(o[j], in[j-k]), clipped. */
            for (int32_t j = 0; j + k < cols; j++)
                o[j] = km_max2f(in[j + k], o[j]);
            for (int32_t j = k; j < cols; j++)
                o[j] = km_max2f(in[j - k], o[j]);
        }
    }
    for (int32_t i = 0; i < rows; i++) {
        int32_t lo = i - r < 0 ? 0 : i - r;
        int32_t hi = i + r >= rows ? rows - 1 : i + r;
        float *restrict o = wmax + (size_t)i * (size_t)cols;
        const float *restrict first = tmp + (size_t)lo * (size_t)cols;
        for (int32_t j = 0; j < cols; j++)
            o[j] = first[j];
        for (int32_t k = lo + 1; k <= hi; k++) {
            const float *restrict in = tmp + (size_t)k * (size_t)cols;
            for (int32_t j = 0; j < cols; j++)
                o[j] = km_max2f(in[j], o[j]);
        }
    }
}

void km_window_max_portable(const float *san, float *tmp, float *wmax, int32_t rows,
                            int32_t cols, int32_t r)
{
    window_max_body(san, tmp, wmax, rows, cols, r);
}

#if KM_HAVE_AVX2_TARGET

/* Padded row of the AVX2 window max: r columns of -inf each side, room
 * for a last partial vector. */
#define WM_PAD 2112

/* Lanes below n (0 <= n <= 8) set: which lanes of the last vector of a row
 * are stored. */
__attribute__((target("avx2"), always_inline)) static inline __m256i lanes_below(int32_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* The values at columns c - t (left) or c + t (right) for the eight
 * columns c of v, which starts (left) or ends (right) its row: lanes
 * shifted by t, -inf for the columns outside the row (what no max keeps
 * over a value, as a clipped window ignores them). */
__attribute__((target("avx2"), always_inline)) static inline __m256 row_shift(__m256 v, int32_t t,
                                                                              int left)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), tt = _mm256_set1_epi32(t);
    const __m256i idx = left ? _mm256_sub_epi32(lane, tt) : _mm256_add_epi32(lane, tt);
    const __m256i out = left ? _mm256_cmpgt_epi32(tt, lane)
                             : _mm256_cmpgt_epi32(lane, _mm256_set1_epi32(7 - t));
    return _mm256_blendv_ps(_mm256_permutevar8x32_ps(v, idx), _mm256_set1_ps(-INFINITY),
                            _mm256_castsi256_ps(out));
}

/* The max of in[j - r .. j + r + 7], column by column (j >= r, inside the
 * row). */
__attribute__((target("avx2"), always_inline)) static inline __m256 hmax8(const float *in,
                                                                          int32_t j, int32_t r)
{
    __m256 m = _mm256_loadu_ps(in + j - r);
    for (int32_t t = 1; t <= 2 * r; t++)
        m = _mm256_max_ps(_mm256_loadu_ps(in + j - r + t), m);
    return m;
}

/* The horizontal pass of km_window_max_avx2 straight from san, for rows of
 * at least 2r + 8 columns (and 16, r <= 8): vectors over the output columns, the
 * first at column 0 taking its left neighbours by row_shift, the last
 * moved back to end at the row's end (overlapping the one before: a max
 * taken twice is the same) taking its right ones so; the others load
 * theirs.  (Until session 35 the r clipped columns at each end were
 * scalar loops: ~31 instructions a row at r = 2.)  No padded copy of the
 * row: a load straddling two fresh stores of such a copy is not forwarded
 * from them and waits until they are written (session 24: the copy cost
 * more cycles than the max itself). */
__attribute__((target("avx2"), always_inline)) static inline void
hmax_rows_direct(const float *san, float *tmp, int32_t i0, int32_t i1, int32_t cols, const int32_t r)
{
    const int32_t fit = cols - 8 - r, mid_end = fit < cols - 9 ? fit : cols - 9;
    for (int32_t i = i0; i < i1; i++) {
        const float *in = san + (size_t)i * (size_t)cols;
        float *o = tmp + (size_t)i * (size_t)cols;
        __m256 v = _mm256_loadu_ps(in), m = v;
        for (int32_t t = 1; t <= r; t++)
            m = _mm256_max_ps(_mm256_max_ps(row_shift(v, t, 1), _mm256_loadu_ps(in + t)), m);
        _mm256_storeu_ps(o, m);
        /* The middle vectors start at 8, 16, ... while their right loads
           stay in the row (j <= fit) and the last vector does not cover
           them; one at fit (>= r) closes a gap before the last one. */
        int32_t j = 8;
        for (; j <= mid_end; j += 8)
            _mm256_storeu_ps(o + j, hmax8(in, j, r));
        if (j < cols - 8)
            _mm256_storeu_ps(o + fit, hmax8(in, fit, r));
        j = cols - 8;
        v = _mm256_loadu_ps(in + j);
        m = v;
        for (int32_t t = 1; t <= r; t++)
            m = _mm256_max_ps(_mm256_max_ps(_mm256_loadu_ps(in + j - t), row_shift(v, t, 0)), m);
        _mm256_storeu_ps(o + j, m);
    }
}

/* The horizontal pass for narrower rows: each row copied between r values
 * of -inf each side, so every column's window is the 2r+1 values from
 * pad[j] (clipped windows see -inf where the grid ends, which no max keeps
 * over a value), eight columns a time, the last partial vector through a
 * lane mask. */
__attribute__((target("avx2"), always_inline)) static inline void
hmax_rows_padded(const float *san, float *tmp, int32_t i0, int32_t i1, int32_t cols, const int32_t r)
{
    float pad[WM_PAD];
    const __m256i tail = lanes_below(cols & 7);
    const int32_t full = cols & ~(int32_t)7;
    for (int32_t k = 0; k < r; k++)
        pad[k] = -INFINITY;
    for (int32_t k = r + cols; k < 2 * r + cols + 8; k++)
        pad[k] = -INFINITY;
    for (int32_t i = i0; i < i1; i++) {
        const float *in = san + (size_t)i * (size_t)cols;
        int32_t j = 0;
        for (; j < full; j += 8)
            _mm256_storeu_ps(pad + r + j, _mm256_loadu_ps(in + j));
        if (j < cols)
            _mm256_maskstore_ps(pad + r + j, tail, _mm256_maskload_ps(in + j, tail));
        float *o = tmp + (size_t)i * (size_t)cols;
        for (j = 0; j < cols; j += 8) {
            __m256 m = _mm256_loadu_ps(pad + j);
            for (int32_t t = 1; t <= 2 * r; t++)
                m = _mm256_max_ps(_mm256_loadu_ps(pad + j + t), m);
            if (j < full)
                _mm256_storeu_ps(o + j, m);
            else
                _mm256_maskstore_ps(o + j, tail, m);
        }
    }
}

/* window_max_body with explicit vectors: the horizontal pass above, then
 * the vertical one over the 2r + 1 rows of tmp (clipped at the grid's top
 * and bottom), eight columns a time.  The compiled loops of window_max_body
 * left up to seven columns of each of the 2r shifted loops to scalar code
 * (a 32-column row at r = 3: ~13 instructions a taxel).  The max of
 * sanitised values (no NaN, no -0.0) is exact in any order, so the result
 * is the same bits.  Inlined with r a constant for r = 1 and 2 (2 is the
 * pipeline's min_distance, 1 the library's): the window loops then unroll. */
__attribute__((target("avx2"), always_inline)) static inline void
window_max_avx2_r(const float *san, float *tmp, float *wmax, int32_t rows, int32_t cols,
                  const int32_t r)
{
    const __m256i tail = lanes_below(cols & 7);
    const int32_t full = cols & ~(int32_t)7;
    if (cols >= 2 * r + 8 && cols >= 16 && r <= 8)
        hmax_rows_direct(san, tmp, 0, rows, cols, r);
    else
        hmax_rows_padded(san, tmp, 0, rows, cols, r);
    for (int32_t i = 0; i < rows; i++) {
        int32_t lo = i - r < 0 ? 0 : i - r;
        int32_t hi = i + r >= rows ? rows - 1 : i + r;
        float *o = wmax + (size_t)i * (size_t)cols;
        const float *t0 = tmp + (size_t)lo * (size_t)cols;
        int32_t j = 0;
        if (hi - lo == 2 * r) {
            /* An interior row: the 2r + 1 rows unroll. */
            for (; j < full; j += 8) {
                __m256 m = _mm256_loadu_ps(t0 + j);
                for (int32_t k = 1; k <= 2 * r; k++)
                    m = _mm256_max_ps(_mm256_loadu_ps(t0 + (size_t)k * (size_t)cols + j), m);
                _mm256_storeu_ps(o + j, m);
            }
        } else {
            for (; j < full; j += 8) {
                __m256 m = _mm256_loadu_ps(t0 + j);
                for (int32_t k = 1; k <= hi - lo; k++)
                    m = _mm256_max_ps(_mm256_loadu_ps(t0 + (size_t)k * (size_t)cols + j), m);
                _mm256_storeu_ps(o + j, m);
            }
        }
        if (j < cols) {
            __m256 m = _mm256_maskload_ps(t0 + j, tail);
            for (int32_t k = 1; k <= hi - lo; k++)
                m = _mm256_max_ps(_mm256_maskload_ps(t0 + (size_t)k * (size_t)cols + j, tail), m);
            _mm256_maskstore_ps(o + j, tail, m);
        }
    }
}

__attribute__((target("avx2"))) void km_window_max_avx2(const float *san, float *tmp,
                                                        float *wmax, int32_t rows, int32_t cols,
                                                        int32_t r)
{
    if (r < 1 || (size_t)cols + 2u * (size_t)r + 8u > WM_PAD)
        window_max_body(san, tmp, wmax, rows, cols, r);
    else if (r == 2)
        window_max_avx2_r(san, tmp, wmax, rows, cols, 2);
    else if (r == 1)
        window_max_avx2_r(san, tmp, wmax, rows, cols, 1);
    else
        window_max_avx2_r(san, tmp, wmax, rows, cols, r);
}

/* Lanes of the vector at column j inside columns [b, cols - b). */
static inline unsigned keep_lanes(int32_t j, int32_t b, int32_t cols)
{
    int32_t lo = b - j, hi = cols - b - j;
    if (lo >= 8 || hi <= 0)
        return 0u;
    return (0xffu << (lo > 0 ? lo : 0)) & (0xffu >> (hi < 8 ? 8 - hi : 0));
}

/* The hits among columns j .. j + 7 of a row: v (from s) > thr and >= the
 * max of the window rows t0 + k * cols, k = 0..nk, at the same columns. */
__attribute__((target("avx2"), always_inline)) static inline unsigned
hits8(const float *t0, const float *s, int32_t cols, const int32_t nk, int32_t j, __m256 vthr)
{
    __m256 m = _mm256_loadu_ps(t0 + j);
    for (int32_t k = 1; k <= nk; k++)
        m = _mm256_max_ps(_mm256_loadu_ps(t0 + (size_t)k * (size_t)cols + j), m);
    __m256 v = _mm256_loadu_ps(s + j);
    return (unsigned)_mm256_movemask_ps(
        _mm256_and_ps(_mm256_cmp_ps(v, vthr, _CMP_GT_OQ), _mm256_cmp_ps(v, m, _CMP_GE_OQ)));
}

/* One row's hits into out from n (the new n): eight columns at a time
 * over its nk + 1 window rows from t0 (nk = 2r for an interior row, a
 * constant where inlined: the loads unroll), the last partial vector
 * through a lane mask; only with a border b > 0 are lanes masked off
 * (keep_lanes) in the full vectors. */
__attribute__((target("avx2"), always_inline)) static inline size_t
peaks_row(const float *t0, const float *s, int32_t cols, const int32_t nk, int32_t b, __m256 vthr,
          uint32_t base, uint32_t *out, size_t n)
{
    const int32_t full = cols & ~(int32_t)7;
    int32_t j = 0;
    if (b == 0)
        for (; j < full; j += 8)
            n = km_emit_bits(hits8(t0, s, cols, nk, j, vthr), base + (uint32_t)j, out, n);
    else
        for (; j < full; j += 8)
            n = km_emit_bits(hits8(t0, s, cols, nk, j, vthr) & keep_lanes(j, b, cols),
                             base + (uint32_t)j, out, n);
    if (j < cols) {
        const __m256i tail = lanes_below(cols & 7);
        __m256 m = _mm256_maskload_ps(t0 + j, tail);
        for (int32_t k = 1; k <= nk; k++)
            m = _mm256_max_ps(_mm256_maskload_ps(t0 + (size_t)k * (size_t)cols + j, tail), m);
        __m256 v = _mm256_maskload_ps(s + j, tail);
        unsigned bits = (unsigned)_mm256_movemask_ps(
            _mm256_and_ps(_mm256_cmp_ps(v, vthr, _CMP_GT_OQ), _mm256_cmp_ps(v, m, _CMP_GE_OQ)));
        n = km_emit_bits(bits & keep_lanes(j, b, cols), base + (uint32_t)j, out, n);
    }
    return n;
}

/* Whether row i may hold a hit: rowmax NULL, or a value of its eight
   lanes (KM_ROW_LANES) above thr. */
__attribute__((target("avx2"), always_inline)) static inline int row_hot(const float *rowmax,
                                                                         int32_t i, __m256 vthr)
{
    return rowmax == NULL ||
           _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(rowmax + (size_t)i * KM_ROW_LANES),
                                            vthr, _CMP_GT_OQ)) != 0;
}

/* km_window_peaks_avx2 with r a constant where inlined (as
 * window_max_avx2_r): the horizontal pass of the rows needed, then each
 * row's vertical max compared vector by vector (peaks_row; an interior
 * row's 2r + 1 rows a constant count).  With rowmax, the rows before the
 * first and after the last that may hold a hit (row_hot) are skipped and
 * the horizontal pass made for the rows within r of those between; the
 * rows between are all compared (a roller's contact is one band of rows,
 * and a test per row cost a mat's frame more than it saved). */
__attribute__((target("avx2"), always_inline)) static inline size_t
window_peaks_avx2_r(const float *san, float *tmp, int32_t rows, int32_t cols, const int32_t r,
                    int32_t b, float thr, const float *rowmax, uint32_t *out)
{
    const __m256 vthr = _mm256_set1_ps(thr);
    int32_t first = b, last = rows - b - 1;
    while (first <= last && !row_hot(rowmax, first, vthr))
        first++;
    while (last > first && !row_hot(rowmax, last, vthr))
        last--;
    if (first > last)
        return 0;
    int32_t h0 = first - r < 0 ? 0 : first - r, h1 = last + r >= rows ? rows : last + r + 1;
    if (cols >= 2 * r + 8 && cols >= 16 && r <= 8)
        hmax_rows_direct(san, tmp, h0, h1, cols, r);
    else
        hmax_rows_padded(san, tmp, h0, h1, cols, r);
    size_t n = 0;
    for (int32_t i = first; i <= last; i++) {
        int32_t lo = i - r < 0 ? 0 : i - r;
        int32_t hi = i + r >= rows ? rows - 1 : i + r;
        const float *t0 = tmp + (size_t)lo * (size_t)cols, *s = san + (size_t)i * (size_t)cols;
        const uint32_t base = (uint32_t)i * (uint32_t)cols;
        if (hi - lo == 2 * r)
            n = peaks_row(t0, s, cols, 2 * r, b, vthr, base, out, n);
        else
            n = peaks_row(t0, s, cols, hi - lo, b, vthr, base, out, n);
    }
    return n;
}

__attribute__((target("avx2"))) size_t km_window_peaks_avx2(const float *san, float *tmp,
                                                           int32_t rows, int32_t cols, int32_t r,
                                                           int32_t b, float thr,
                                                           const float *rowmax, uint32_t *out)
{
    if (r < 1 || (size_t)cols + 2u * (size_t)r + 8u > WM_PAD)
        return SIZE_MAX;
    if (r == 2)
        return window_peaks_avx2_r(san, tmp, rows, cols, 2, b, thr, rowmax, out);
    if (r == 1)
        return window_peaks_avx2_r(san, tmp, rows, cols, 1, b, thr, rowmax, out);
    return window_peaks_avx2_r(san, tmp, rows, cols, r, b, thr, rowmax, out);
}

#else

void km_window_max_avx2(const float *san, float *tmp, float *wmax, int32_t rows, int32_t cols,
                        int32_t r)
{
    km_window_max_portable(san, tmp, wmax, rows, cols, r);
}

size_t km_window_peaks_avx2(const float *san, float *tmp, int32_t rows, int32_t cols, int32_t r,
                            int32_t b, float thr, const float *rowmax, uint32_t *out)
{
    (void)san, (void)tmp, (void)rows, (void)cols, (void)r, (void)b, (void)thr, (void)rowmax;
    (void)out;
    return SIZE_MAX;
}

#endif
