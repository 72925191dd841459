/* The (2r+1)^2 window max of the detector's general path (a sanitised
 * frame: invalid taxels -inf, no NaN, no -0.0), in a portable form and an
 * AVX2 form chosen at run time (the AVX2 function carries its own target
 * attribute: the library is not built with -mavx2).  A max of such values
 * is exact in any order, so both forms agree bit for bit. */
#include <math.h>

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

/* The horizontal pass of km_window_max_avx2 straight from san, for rows of
 * at least 2r + 8 columns: vectors over the output columns r .. cols - r - 1
 * (the last one moved back to end there, overlapping the one before: a max
 * taken twice is the same), the r clipped columns at each end in scalar
 * code.  No padded copy of the row: a load straddling two fresh stores of
 * such a copy is not forwarded from them and waits until they are written
 * (session 24: the copy cost more cycles than the max itself). */
__attribute__((target("avx2"), always_inline)) static inline void
hmax_rows_direct(const float *san, float *tmp, int32_t rows, int32_t cols, const int32_t r)
{
    for (int32_t i = 0; i < rows; i++) {
        const float *in = san + (size_t)i * (size_t)cols;
        float *o = tmp + (size_t)i * (size_t)cols;
        for (int32_t j = r;; j += 8) {
            if (j > cols - r - 8)
                j = cols - r - 8;
            __m256 m = _mm256_loadu_ps(in + j - r);
            for (int32_t t = 1; t <= 2 * r; t++)
                m = _mm256_max_ps(_mm256_loadu_ps(in + j - r + t), m);
            _mm256_storeu_ps(o + j, m);
            if (j == cols - r - 8)
                break;
        }
        for (int32_t c = 0; c < r; c++) {
            float ml = in[0], mr = in[cols - 1];
            for (int32_t a = 1; a <= c + r; a++) {
                ml = in[a] > ml ? in[a] : ml;
                mr = in[cols - 1 - a] > mr ? in[cols - 1 - a] : mr;
            }
            o[c] = ml;
            o[cols - 1 - c] = mr;
        }
    }
}

/* The horizontal pass for narrower rows: each row copied between r values
 * of -inf each side, so every column's window is the 2r+1 values from
 * pad[j] (clipped windows see -inf where the grid ends, which no max keeps
 * over a value), eight columns a time, the last partial vector through a
 * lane mask. */
__attribute__((target("avx2"), always_inline)) static inline void
hmax_rows_padded(const float *san, float *tmp, int32_t rows, int32_t cols, const int32_t r)
{
    float pad[WM_PAD];
    const __m256i tail = lanes_below(cols & 7);
    const int32_t full = cols & ~(int32_t)7;
    for (int32_t k = 0; k < r; k++)
        pad[k] = -INFINITY;
    for (int32_t k = r + cols; k < 2 * r + cols + 8; k++)
        pad[k] = -INFINITY;
    for (int32_t i = 0; i < rows; i++) {
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
    if (cols >= 2 * r + 8)
        hmax_rows_direct(san, tmp, rows, cols, r);
    else
        hmax_rows_padded(san, tmp, rows, cols, r);
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

#else

void km_window_max_avx2(const float *san, float *tmp, float *wmax, int32_t rows, int32_t cols,
                        int32_t r)
{
    km_window_max_portable(san, tmp, wmax, rows, cols, r);
}

#endif
