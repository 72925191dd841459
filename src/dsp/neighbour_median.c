/* The frame's 8-neighbour medians (neighbour_median.h). */
#include <math.h>
#include <string.h>

#include "neighbour_median.h"
#include "core/select_small.h"
#include "internal.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if KM_AVX2_TARGET
#include <immintrin.h>
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
/* Rows are taken a strip of columns at a time, three rows of the strip
   padded in buffers on the stack (rows of any width). */
#define STRIP 1024
#define PADW (STRIP + 10)

/* Row r's columns c0 - 1 .. c0 - 2 + w into p: a taxel's value where it
   counts (inside the grid, mask != 0, finite), +inf elsewhere (outside
   the grid included).  Returns 1 when a counted value is -0.0. */
static int pad_row(int32_t rows, int32_t cols, const uint8_t *mask, const float *f, int32_t r,
                   int32_t c0, int32_t w, float *p)
{
    int32_t lo = c0 > 0 ? 0 : 1, hi = cols - c0 + 1 < w ? cols - c0 + 1 : w;
    uint32_t negzero = 0;
    for (int32_t j = 0; j < w; j++)
        p[j] = INFINITY;
    if (r < 0 || r >= rows)
        return 0;
    const size_t row = (size_t)r * (size_t)cols + (size_t)c0 - 1u;
    for (int32_t j = lo; j < hi; j++) {
        float x = f[row + (size_t)j];
        uint32_t bits;
        memcpy(&bits, &x, sizeof bits);
        int ok = mask[row + (size_t)j] != 0 && fabsf(x) < INFINITY;
        p[j] = ok ? x : INFINITY;
        negzero |= (uint32_t)ok & (bits == 0x80000000u);
    }
    return negzero != 0;
}

/* four_medians (SSE2) and eight_medians (AVX2): one body over the lanes,
   so the same network, counts and picks lane for lane, and the same bits. */
#define NM_NAME four_medians
#define NM_ATTR
#define NM_F __m128
#define NM_I __m128i
#define NM_LOAD _mm_loadu_ps
#define NM_STORE _mm_storeu_ps
#define NM_SETF _mm_set1_ps
#define NM_SETI _mm_set1_epi32
#define NM_ZERO _mm_setzero_si128
#define NM_NEQ _mm_cmpneq_ps
#define NM_MIN _mm_min_ps
#define NM_MAX _mm_max_ps
#define NM_ADD _mm_add_ps
#define NM_MUL _mm_mul_ps
#define NM_SUBI _mm_sub_epi32
#define NM_ORI _mm_or_si128
#define NM_ANDI _mm_and_si128
#define NM_EQI _mm_cmpeq_epi32
#define NM_SRAI _mm_srai_epi32
#define NM_F2I _mm_castps_si128
#define NM_I2F _mm_castsi128_ps
#define NM_PICK(a, b, t) _mm_or_ps(_mm_andnot_ps(_mm_castsi128_ps(t), a), _mm_and_ps(_mm_castsi128_ps(t), b))
#define NM_ALL8(u) (_mm_movemask_epi8(_mm_cmpeq_epi32(u, _mm_set1_epi32(8))) == 0xffff)
#define NM_SIGNS _mm_movemask_ps
#include "neighbour_median_lanes.h"
#undef NM_NAME
#undef NM_ATTR
#undef NM_F
#undef NM_I
#undef NM_LOAD
#undef NM_STORE
#undef NM_SETF
#undef NM_SETI
#undef NM_ZERO
#undef NM_NEQ
#undef NM_MIN
#undef NM_MAX
#undef NM_ADD
#undef NM_MUL
#undef NM_SUBI
#undef NM_ORI
#undef NM_ANDI
#undef NM_EQI
#undef NM_SRAI
#undef NM_F2I
#undef NM_I2F
#undef NM_PICK
#undef NM_ALL8
#undef NM_SIGNS

#if KM_AVX2_TARGET
#define NM_NAME eight_medians
#define NM_ATTR __attribute__((target("avx2")))
#define NM_F __m256
#define NM_I __m256i
#define NM_LOAD _mm256_loadu_ps
#define NM_STORE _mm256_storeu_ps
#define NM_SETF _mm256_set1_ps
#define NM_SETI _mm256_set1_epi32
#define NM_ZERO _mm256_setzero_si256
#define NM_NEQ(a, b) _mm256_cmp_ps(a, b, _CMP_NEQ_UQ)
#define NM_MIN _mm256_min_ps
#define NM_MAX _mm256_max_ps
#define NM_ADD _mm256_add_ps
#define NM_MUL _mm256_mul_ps
#define NM_SUBI _mm256_sub_epi32
#define NM_ORI _mm256_or_si256
#define NM_ANDI _mm256_and_si256
#define NM_EQI _mm256_cmpeq_epi32
#define NM_SRAI _mm256_srai_epi32
#define NM_F2I _mm256_castps_si256
#define NM_I2F _mm256_castsi256_ps
#define NM_PICK(a, b, t) _mm256_blendv_ps(a, b, _mm256_castsi256_ps(t))
#define NM_ALL8(u) (_mm256_movemask_epi8(_mm256_cmpeq_epi32(u, _mm256_set1_epi32(8))) == -1)
#define NM_SIGNS _mm256_movemask_ps
#include "neighbour_median_lanes.h"
#endif

/* The medians of taxels j .. j + 3 (j + 7 with AVX2: eight_medians) of the
   padded rows; the lanes to redo as four_medians says. */
static unsigned some_medians(int avx2, const float *up, const float *mid, const float *dn,
                             int zeros_mixed, float *out)
{
#if KM_AVX2_TARGET
    if (avx2)
        return eight_medians(up, mid, dn, zeros_mixed, out);
#endif
    (void)avx2;
    return four_medians(up, mid, dn, zeros_mixed, out);
}

/* Columns c0 .. c0 + n - 1 of every row (n <= STRIP). */
static void strip_medians(int32_t rows, int32_t cols, const uint8_t *mask, const float *f,
                          int32_t c0, int32_t n, int avx2, float *out)
{
    float buf[3][PADW], res[STRIP + 8];
    float *up = buf[0], *mid = buf[1], *dn = buf[2];
    const int step = avx2 ? 8 : 4;
    const int32_t w = (n + step - 1) / step * step + 2;
    int nz_up = pad_row(rows, cols, mask, f, -1, c0, w, up);
    int nz_mid = pad_row(rows, cols, mask, f, 0, c0, w, mid);
    for (int32_t r = 0; r < rows; r++) {
        int nz_dn = pad_row(rows, cols, mask, f, r + 1, c0, w, dn);
        int mixed = nz_up | nz_mid | nz_dn;
        for (int32_t j = 0; j < n; j += step) {
            unsigned redo = some_medians(avx2, up + j, mid + j, dn + j, mixed, res + j);
            for (int32_t i = 0; redo != 0; i++, redo >>= 1)
                if ((redo & 1u) && j + i < n)
                    res[j + i] = km_neighbour_median_plain(rows, cols, mask, f, r, c0 + j + i);
        }
        memcpy(out + (size_t)r * (size_t)cols + (size_t)c0, res, (size_t)n * sizeof *res);
        float *t = up;
        up = mid;
        mid = dn;
        dn = t;
        nz_up = nz_mid;
        nz_mid = nz_dn;
    }
}
#endif

void km_neighbour_medians(int32_t rows, int32_t cols, const uint8_t *mask, const float *f,
                          float *out)
{
    km_neighbour_medians_lanes(rows, cols, mask, f, km_cpu_avx2(), out);
}

void km_neighbour_medians_lanes(int32_t rows, int32_t cols, const uint8_t *mask, const float *f,
                                int avx2, float *out)
{
#if defined(__SSE2__)
    avx2 = avx2 && km_cpu_avx2();
    for (int32_t c0 = 0; c0 < cols; c0 += STRIP)
        strip_medians(rows, cols, mask, f, c0, cols - c0 < STRIP ? cols - c0 : STRIP, avx2, out);
#else
    (void)avx2;
    for (int32_t r = 0; r < rows; r++)
        for (int32_t c = 0; c < cols; c++)
            out[(size_t)r * (size_t)cols + (size_t)c] =
                km_neighbour_median_plain(rows, cols, mask, f, r, c);
#endif
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

/* Taxel k's count, its neighbours gathered with the grid's edges checked. */
static uint8_t count_half_at(int32_t rows, int32_t cols, const uint8_t *mask, const float *f,
                             double floor, int32_t r, int32_t c)
{
    size_t k = (size_t)r * (size_t)cols + (size_t)c;
    double half = 0.5 * ((double)f[k] + floor);
    int n = 0;
    for (int32_t rr = r > 0 ? r - 1 : 0; rr <= r + 1 && rr < rows; rr++)
        for (int32_t cc = c > 0 ? c - 1 : 0; cc <= c + 1 && cc < cols; cc++) {
            size_t q = (size_t)rr * (size_t)cols + (size_t)cc;
            n += q != k && mask[q] && (double)f[q] > half;
        }
    return (uint8_t)n;
}

/* One neighbour's vote, without a branch (a NaN compares false). */
static inline int above(const uint8_t *mask, const float *f, size_t q, double half)
{
    return (mask[q] != 0) & ((double)f[q] > half);
}

#if defined(__SSE2__)
/* Row r of the frame into p[1 .. cols] with p[0] and p[cols + 1] NaN: a
   taxel's value where its mask is nonzero, NaN elsewhere (a NaN never
   reads above a level); a row outside the grid all NaN.  Four taxels at a
   time (their mask bytes widened to lanes). */
static void nan_pad_row(int32_t rows, int32_t cols, const uint8_t *mask, const float *f, int32_t r,
                        float *p)
{
    int32_t c = 0;
    p[0] = p[cols + 1] = NAN;
    if (r < 0 || r >= rows) {
        for (; c < cols; c++)
            p[c + 1] = NAN;
        return;
    }
    const float *fr = f + (size_t)r * (size_t)cols;
    const uint8_t *mr = mask + (size_t)r * (size_t)cols;
    const __m128 nan = _mm_set1_ps(NAN);
    const __m128i zero = _mm_setzero_si128();
    for (; c + 4 <= cols; c += 4) {
        int32_t b4;
        memcpy(&b4, mr + c, sizeof b4);
        __m128i b = _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(b4), zero), zero);
        __m128 off = _mm_castsi128_ps(_mm_cmpeq_epi32(b, zero));
        _mm_storeu_ps(p + c + 1, _mm_or_ps(_mm_andnot_ps(off, _mm_loadu_ps(fr + c)),
                                           _mm_and_ps(off, nan)));
    }
    for (; c < cols; c++)
        p[c + 1] = mr[c] ? fr[c] : NAN;
}

/* Four taxels' levels h (two lanes each in lo, hi: doubles) as the largest
   floats <= h: for a float x, (double)x > h exactly when x > that float.
   The nearest float is one ulp above h at most; where it lies above, one
   ulp down (bits - 1 of a positive, bits + 1 of a negative: a level just
   below 0 rounds to -0.0, whose step down is the negative of the least
   subnormal; +inf steps to FLT_MAX, -FLT_MAX to -inf).  A NaN stays NaN,
   which no value exceeds. */
static inline __m128 floats_at_or_below(__m128d lo, __m128d hi)
{
    __m128 t = _mm_movelh_ps(_mm_cvtpd_ps(lo), _mm_cvtpd_ps(hi));
    __m128d blo = _mm_cvtps_pd(t), bhi = _mm_cvtps_pd(_mm_movehl_ps(t, t));
    __m128 over = _mm_shuffle_ps(_mm_castpd_ps(_mm_cmpgt_pd(blo, lo)),
                                 _mm_castpd_ps(_mm_cmpgt_pd(bhi, hi)), _MM_SHUFFLE(2, 0, 2, 0));
    __m128i bits = _mm_castps_si128(t);
    __m128i down = _mm_sub_epi32(_mm_setzero_si128(),
                                 _mm_or_si128(_mm_srai_epi32(bits, 31), _mm_set1_epi32(1)));
    return _mm_castsi128_ps(_mm_add_epi32(bits, _mm_and_si128(_mm_castps_si128(over), down)));
}

/* km_neighbour_count_half four taxels at a time (SSE2): each row's
   neighbours from three NaN-padded rows (masked and outside the grid:
   NaN), compared with the taxels' levels as floats (floats_at_or_below);
   the last cols % 4 taxels of a row gathered.  cols <= STRIP. */
static void count_half_sse2(int32_t rows, int32_t cols, const uint8_t *mask, const float *f,
                            double floor, uint8_t *out)
{
    float buf[3][PADW];
    float *up = buf[0], *mid = buf[1], *dn = buf[2];
    const __m128d fl = _mm_set1_pd(floor), half = _mm_set1_pd(0.5);
    nan_pad_row(rows, cols, mask, f, -1, up);
    nan_pad_row(rows, cols, mask, f, 0, mid);
    for (int32_t r = 0; r < rows; r++) {
        nan_pad_row(rows, cols, mask, f, r + 1, dn);
        const float *fr = f + (size_t)r * (size_t)cols;
        uint8_t *o = out + (size_t)r * (size_t)cols;
        int32_t c = 0;
        for (; c + 4 <= cols; c += 4) {
            __m128 x = _mm_loadu_ps(fr + c);
            __m128 t = floats_at_or_below(_mm_mul_pd(half, _mm_add_pd(_mm_cvtps_pd(x), fl)),
                                          _mm_mul_pd(half, _mm_add_pd(_mm_cvtps_pd(_mm_movehl_ps(x, x)), fl)));
            __m128i n = _mm_setzero_si128();
            for (int j = 0; j < 3; j++) {
                n = _mm_sub_epi32(n, _mm_castps_si128(_mm_cmpgt_ps(_mm_loadu_ps(up + c + j), t)));
                n = _mm_sub_epi32(n, _mm_castps_si128(_mm_cmpgt_ps(_mm_loadu_ps(dn + c + j), t)));
            }
            n = _mm_sub_epi32(n, _mm_castps_si128(_mm_cmpgt_ps(_mm_loadu_ps(mid + c), t)));
            n = _mm_sub_epi32(n, _mm_castps_si128(_mm_cmpgt_ps(_mm_loadu_ps(mid + c + 2), t)));
            n = _mm_packs_epi32(n, n);
            int32_t b4 = _mm_cvtsi128_si32(_mm_packus_epi16(n, n));
            memcpy(o + c, &b4, sizeof b4);
        }
        for (; c < cols; c++)
            o[c] = count_half_at(rows, cols, mask, f, floor, r, c);
        float *t = up;
        up = mid;
        mid = dn;
        dn = t;
    }
}
#endif

void km_neighbour_count_half(int32_t rows, int32_t cols, const uint8_t *mask, const float *f,
                             double floor, uint8_t *out)
{
#if defined(__SSE2__)
    if (cols <= STRIP) {
        count_half_sse2(rows, cols, mask, f, floor, out);
        return;
    }
#endif
    size_t w = (size_t)cols;
    for (int32_t r = 0; r < rows; r++) {
        int edge_row = r == 0 || r == rows - 1;
        for (int32_t c = 0; c < cols; c++) {
            size_t k = (size_t)r * w + (size_t)c;
            if (edge_row || c == 0 || c == cols - 1) {
                out[k] = count_half_at(rows, cols, mask, f, floor, r, c);
                continue;
            }
            /* Inside the grid all 8 neighbours exist. */
            double half = 0.5 * ((double)f[k] + floor);
            size_t a = k - w, b = k + w;
            out[k] = (uint8_t)(above(mask, f, a - 1, half) + above(mask, f, a, half) +
                               above(mask, f, a + 1, half) + above(mask, f, k - 1, half) +
                               above(mask, f, k + 1, half) + above(mask, f, b - 1, half) +
                               above(mask, f, b, half) + above(mask, f, b + 1, half));
        }
    }
}

double km_neighbour_mean_known(int32_t rows, int32_t cols, const uint8_t *known, const float *f,
                               int32_t r, int32_t c, int *count)
{
    double sum = 0.0;
    int m = 0;
    for (int32_t rr = r > 0 ? r - 1 : 0; rr <= r + 1 && rr < rows; rr++)
        for (int32_t cc = c > 0 ? c - 1 : 0; cc <= c + 1 && cc < cols; cc++) {
            const size_t q = (size_t)rr * (size_t)cols + (size_t)cc;
            if ((rr != r || cc != c) && known[q] == 1 && isfinite(f[q])) {
                sum += f[q];
                m++;
            }
        }
    *count = m;
    return m > 0 ? sum / m : 0.0;
}
