/* The frame's 8-neighbour medians (neighbour_median.h). */
#include <math.h>
#include <string.h>

#include "neighbour_median.h"
#include "core/select_small.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

float km_neighbour_median_plain(int32_t rows, int32_t cols, const uint8_t *mask, const float *f,
                                int32_t r, int32_t c)
{
    float a[8];
    int n = 0;
    for (int32_t rr = r - 1; rr <= r + 1; rr++)
        for (int32_t cc = c - 1; cc <= c + 1; cc++) {
            if ((rr == r && cc == c) || rr < 0 || rr >= rows || cc < 0 || cc >= cols)
                continue;
            size_t k = (size_t)rr * (size_t)cols + (size_t)cc;
            if (mask[k] && isfinite(f[k]))
                a[n++] = f[k];
        }
    return n == 0 ? NAN : km_median_small_f(a, n);
}

#if defined(__SSE2__)
/* Compare-exchange: a takes the smaller, b the larger. */
#define CE(a, b)                                                                                   \
    do {                                                                                           \
        __m128 lo_ = _mm_min_ps(a, b);                                                             \
        b = _mm_max_ps(a, b);                                                                      \
        a = lo_;                                                                                   \
    } while (0)

/* Taxels k..k+3 of an interior row, columns 1..cols-2: the medians into
   out[k..k+3]; returns the lanes (bit j for taxel k + j) the network could
   not take (a neighbour masked or not finite, or both signed zeros). */
static unsigned four_interior(int32_t cols, const uint8_t *mask, const float *f, size_t k,
                              float *out)
{
    const size_t w = (size_t)cols;
    const size_t q[8] = {k - w - 1, k - w, k - w + 1, k - 1, k + 1, k + w - 1, k + w, k + w + 1};
    const __m128i zero = _mm_setzero_si128(), negzero = _mm_set1_epi32((int)0x80000000u);
    const __m128 absmask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
    const __m128 inf = _mm_set1_ps(INFINITY);
    __m128i bad = zero, pz = zero, nz = zero;
    __m128 v[8];
    for (int i = 0; i < 8; i++) {
        int32_t mb;
        memcpy(&mb, mask + q[i], sizeof mb);
        __m128i m32 = _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(mb), zero), zero);
        v[i] = _mm_loadu_ps(f + q[i]);
        __m128i finite = _mm_castps_si128(_mm_cmplt_ps(_mm_and_ps(v[i], absmask), inf));
        __m128i bits = _mm_castps_si128(v[i]);
        bad = _mm_or_si128(bad, _mm_or_si128(_mm_cmpeq_epi32(m32, zero),
                                             _mm_andnot_si128(finite, _mm_set1_epi32(-1))));
        pz = _mm_or_si128(pz, _mm_cmpeq_epi32(bits, zero));
        nz = _mm_or_si128(nz, _mm_cmpeq_epi32(bits, negzero));
    }
    bad = _mm_or_si128(bad, _mm_and_si128(pz, nz));
    /* Batcher's 19-comparator sort of eight without its last layer: the
       fourth and fifth smallest end in v[3] and v[4], in either order (their
       sum does not mind). */
    CE(v[0], v[2]); CE(v[1], v[3]); CE(v[4], v[6]); CE(v[5], v[7]);
    CE(v[0], v[4]); CE(v[1], v[5]); CE(v[2], v[6]); CE(v[3], v[7]);
    CE(v[0], v[1]); CE(v[2], v[3]); CE(v[4], v[5]); CE(v[6], v[7]);
    CE(v[2], v[4]); CE(v[3], v[5]);
    CE(v[1], v[4]); CE(v[3], v[6]);
    _mm_storeu_ps(out + k, _mm_mul_ps(_mm_set1_ps(0.5f), _mm_add_ps(v[3], v[4])));
    return (unsigned)_mm_movemask_ps(_mm_castsi128_ps(bad));
}
#undef CE
#endif

void km_neighbour_medians(int32_t rows, int32_t cols, const uint8_t *mask, const float *f,
                          float *out)
{
    for (int32_t r = 0; r < rows; r++) {
        int32_t c = 0;
        size_t row = (size_t)r * (size_t)cols;
#if defined(__SSE2__)
        if (r > 0 && r < rows - 1) {
            out[row] = km_neighbour_median_plain(rows, cols, mask, f, r, 0);
            for (c = 1; c + 4 <= cols - 1; c += 4) {
                unsigned redo = four_interior(cols, mask, f, row + (size_t)c, out);
                for (int j = 0; redo != 0; j++, redo >>= 1)
                    if (redo & 1u)
                        out[row + (size_t)(c + j)] =
                            km_neighbour_median_plain(rows, cols, mask, f, r, c + j);
            }
        }
#endif
        for (; c < cols; c++)
            out[row + (size_t)c] = km_neighbour_median_plain(rows, cols, mask, f, r, c);
    }
}

float km_neighbour_max_plain(int32_t rows, int32_t cols, const uint8_t *mask, const float *f,
                             int32_t r, int32_t c)
{
    float m = -INFINITY;
    for (int32_t rr = r - 1; rr <= r + 1; rr++)
        for (int32_t cc = c - 1; cc <= c + 1; cc++) {
            if ((rr == r && cc == c) || rr < 0 || rr >= rows || cc < 0 || cc >= cols)
                continue;
            size_t k = (size_t)rr * (size_t)cols + (size_t)cc;
            if (mask[k] && isfinite(f[k]) && f[k] > m)
                m = f[k];
        }
    return m;
}

/* A taxel as a neighbour: its value when valid and finite, else -inf. */
static inline float counted(const uint8_t *mask, const float *f, size_t k)
{
    float v = f[k];
    return mask[k] != 0 && fabsf(v) < INFINITY ? v : -INFINITY;
}

static inline float max2(float a, float b)
{
    return b > a ? b : a;
}

#if defined(__SSE2__)
/* counted() of taxels k..k+3. */
static inline __m128 counted4(const uint8_t *mask, const float *f, size_t k)
{
    const __m128i zero = _mm_setzero_si128();
    const __m128 inf = _mm_set1_ps(INFINITY);
    const __m128 absmask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
    int32_t mb;
    memcpy(&mb, mask + k, sizeof mb);
    __m128i m32 = _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(mb), zero), zero);
    __m128 v = _mm_loadu_ps(f + k);
    __m128 ok = _mm_andnot_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(m32, zero)),
                              _mm_cmplt_ps(_mm_and_ps(v, absmask), inf));
    return _mm_or_ps(_mm_and_ps(ok, v), _mm_andnot_ps(ok, _mm_set1_ps(-INFINITY)));
}
#endif

/* Columns of one row at a time: the vertical maxima and the row's own
   three-row maxima (padded with -inf) fit in a buffer on the stack up to
   this width; wider rows take the scalar loop. */
#define MAXES_ROW 1024

void km_neighbour_maxes(int32_t rows, int32_t cols, const uint8_t *mask, const float *f,
                        float *out)
{
    const size_t w = (size_t)cols;
#if defined(__SSE2__)
    if (w <= MAXES_ROW) {
        float three[MAXES_ROW + 2]; /* three[c + 1]: column c's three rows */
        const __m128 none = _mm_set1_ps(-INFINITY);
        for (int32_t r = 0; r < rows; r++) {
            float *o = out + (size_t)r * w;
            const size_t row = (size_t)r * w;
            size_t c = 0;
            for (; c + 4 <= w; c += 4) {
                __m128 up = r > 0 ? counted4(mask, f, row - w + c) : none;
                __m128 dn = r + 1 < rows ? counted4(mask, f, row + w + c) : none;
                __m128 vert = _mm_max_ps(up, dn);
                _mm_storeu_ps(o + c, vert);
                _mm_storeu_ps(three + c + 1, _mm_max_ps(vert, counted4(mask, f, row + c)));
            }
            for (; c < w; c++) {
                float up = r > 0 ? counted(mask, f, row - w + c) : -INFINITY;
                float dn = r + 1 < rows ? counted(mask, f, row + w + c) : -INFINITY;
                o[c] = max2(up, dn);
                three[c + 1] = max2(o[c], counted(mask, f, row + c));
            }
            three[0] = three[w + 1] = -INFINITY;
            for (c = 0; c + 4 <= w; c += 4) {
                __m128 side = _mm_max_ps(_mm_loadu_ps(three + c), _mm_loadu_ps(three + c + 2));
                _mm_storeu_ps(o + c, _mm_max_ps(_mm_loadu_ps(o + c), side));
            }
            for (; c < w; c++)
                o[c] = max2(o[c], max2(three[c], three[c + 2]));
        }
        return;
    }
#endif
    for (int32_t r = 0; r < rows; r++) {
        float *o = out + (size_t)r * w;
        const size_t row = (size_t)r * w;
        /* The rows above and below, column by column, into o. */
        for (size_t c = 0; c < w; c++) {
            float up = r > 0 ? counted(mask, f, row - w + c) : -INFINITY;
            float dn = r + 1 < rows ? counted(mask, f, row + w + c) : -INFINITY;
            o[c] = max2(up, dn);
        }
        /* Then the columns beside: column c - 1's and c + 1's three rows
           (theirs above and below, then their own). */
        float left = -INFINITY; /* column c - 1's three rows */
        for (size_t c = 0; c < w; c++) {
            float vert = o[c];
            float here = max2(vert, counted(mask, f, row + c));
            float right = c + 1 < w ? max2(o[c + 1], counted(mask, f, row + c + 1)) : -INFINITY;
            o[c] = max2(max2(vert, left), right);
            left = here;
        }
    }
}
