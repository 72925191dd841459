/* The candidate layer's row background on a slope (docs/ALGORITHMS.md 10
 * step 1, Slope): on a roller, the median of the window is taken after a
 * straight line through the row is taken off, so that the background
 * follows the body's flank (a thigh narrower than the roller) instead of
 * standing at the window's middle rank, which on a monotone slope is about
 * the taxel itself and ate a knot there (opt-in: background_slope).  Two
 * slopes.  1 (session 35): the line joins the medians of the usable values
 * on either side of the taxel, from half the window to twice it (a knot at
 * the taxel raises both sides alike, and most of its own footprint stays
 * out of them); a strong knot on one side tilts it.  2 (session 36): the
 * slope of the row's opening (the largest of the minima over +-W usable
 * columns, taken over +-W again: the row with every bump narrower than the
 * window cut off, a knot's included) between the usable columns nearest x
 * - W and x + W, which no knot tilts; the body's edge bends it alike all
 * along the edge (a ridge, not a peak). */
#include <math.h>
#include <string.h>

#include "bodygrid_internal.h"
#include "core/select_small.h"

#if KM_AVX2_TARGET
#include <immintrin.h>
#endif

/* The sides of column x: columns x - outer .. x - inner and x + inner ..
   x + outer, for a half-window of w columns. */
#define SIDE_INNER(w) (((w) + 1) / 2)
#define SIDE_OUTER(w) (2 * (w))

size_t km_cand_slope_scratch(int32_t w, int32_t cols)
{
    /* per side window (cols + outer + inner of them) its median and its
       middle column; the slope per column (8 floats of slack); the usable
       columns and their running count; the sorted side window.  Slope 2's
       padded row, erosion and opening fit in the first two and the
       window's. */
    size_t sides = (size_t)cols + (size_t)SIDE_OUTER(w) + (size_t)SIDE_INNER(w) + 1;
    size_t win = (size_t)SIDE_OUTER(w) + 1 > KM_WINDOW16 ? (size_t)SIDE_OUTER(w) + 1 : KM_WINDOW16;
    size_t pad = (size_t)cols + 2 * (size_t)SIDE_OUTER(w) + 16;
    return (2 * sides + (size_t)cols + 8 + win + pad) * sizeof(float) +
           (2 * (size_t)cols + 1) * sizeof(int32_t) + pad;
}

/* The middle of the usable columns of each side window i - outer .. i -
   inner (clipped to the row) into mid[i], NaN for an empty window, i = 0
   .. n - 1 (the usable columns counted: use, cnt). */
static void side_middles(const uint8_t *ok, int32_t cols, int32_t inner, int32_t outer,
                         int32_t n, float *mid, int32_t *use, int32_t *cnt)
{
    int32_t nu = 0;
    for (int32_t j = 0; j < cols; j++) {
        cnt[j] = nu;
        if (ok[j])
            use[nu++] = j;
    }
    cnt[cols] = nu;
    for (int32_t i = 0; i < n; i++) {
        int32_t a = i - outer < 0 ? 0 : i - outer > cols ? cols : i - outer;
        int32_t b = i - inner + 1 < 0 ? 0 : i - inner + 1 > cols ? cols : i - inner + 1;
        int32_t lo = cnt[a], m = b > a ? cnt[b] - lo : 0;
        mid[i] = m == 0 ? NAN
                 : (m & 1) ? (float)use[lo + m / 2]
                           : 0.5f * ((float)use[lo + m / 2 - 1] + (float)use[lo + m / 2]);
    }
}

/* The median of the usable values of each side window into med[i] (where
   it holds any): a sorted window that slides along the row. */
static void side_values(const float *row, const uint8_t *ok, int32_t cols, int32_t inner,
                        int32_t outer, int32_t n, float *med, float *win)
{
    int small = outer - inner + 1 <= KM_WINDOW16, m = 0;
    if (small)
        km_window16_clear(win);
    for (int32_t i = 0; i < n; i++) {
        int32_t in = i - inner, out = i - outer - 1;
        if (out >= 0 && out < cols && ok[out])
            m = small ? km_window16_remove(win, m, row[out]) : km_window_remove(win, m, row[out]);
        if (in >= 0 && in < cols && ok[in])
            m = small ? km_window16_insert(win, m, row[in]) : km_window_insert(win, m, row[in]);
        if (m > 0)
            med[i] = (m & 1) ? win[m / 2] : 0.5f * (win[m / 2 - 1] + win[m / 2]);
    }
}

/* The network for a side window of `slots` columns: that of the odd count
   (one more slot, never usable, after an even count); NULL over
   KM_MEDIAN_NET_MAX. */
static const km_median_net *side_net(int32_t slots)
{
    return km_median_net_for((int)(slots | 1));
}

#if KM_AVX2_TARGET
/* side_medians' values eight windows at a time (AVX2): window i's slot j is
   column i - outer + j, read from the padded row pr (column c at c +
   outer; flags pok, 0 off the row).  A slot not usable takes -inf and
   +inf in turn, and with an even count of slots one more, never usable,
   follows, so that the network for the odd count leaves the middle one or
   two usable values in its two middle slots (as km_row_window_medians_f;
   med[i] of an empty window is left meaningless: side_middles says so). */
__attribute__((target("avx2"))) static void side_values_avx2(const km_median_net *net,
                                                             const float *pr,
                                                             const uint8_t *pok, int32_t slots,
                                                             int32_t n, float *med)
{
    const int nn = net->n, h = nn / 2;
    const __m256 ninf = _mm256_set1_ps(-INFINITY), pinf = _mm256_set1_ps(INFINITY);
    __m256 v[KM_MEDIAN_NET_MAX + 1];
    for (int32_t i0 = 0; i0 < n; i0 += 8) {
        __m256i odd = _mm256_setzero_si256();
        for (int j = 0; j < nn; j++) {
            __m256i miss = _mm256_set1_epi32(-1);
            __m256 val = pinf;
            if (j < slots) {
                int64_t b8;
                memcpy(&b8, pok + i0 + j, sizeof b8);
                miss = _mm256_cmpeq_epi32(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(b8)),
                                          _mm256_setzero_si256());
                val = _mm256_loadu_ps(pr + i0 + j);
            }
            __m256 pad = _mm256_blendv_ps(ninf, pinf, _mm256_castsi256_ps(odd));
            v[j] = _mm256_blendv_ps(val, pad, _mm256_castsi256_ps(miss));
            odd = _mm256_xor_si256(odd, miss);
        }
        v[nn] = pinf;
        for (int c = 0; c < net->ncmp; c++) {
            __m256 a = v[net->lo[c]], b = v[net->hi[c]];
            v[net->lo[c]] = _mm256_min_ps(a, b);
            v[net->hi[c]] = _mm256_max_ps(a, b);
        }
        __m256 two = _mm256_mul_ps(_mm256_add_ps(v[h], v[h + 1]), _mm256_set1_ps(0.5f));
        __m256 m = _mm256_blendv_ps(v[h], two, _mm256_castsi256_ps(odd));
        float out[8];
        _mm256_storeu_ps(out, m);
        for (int l = 0; l < 8 && i0 + l < n; l++)
            med[i0 + l] = out[l];
    }
}
#endif

/* Slope 1: k[x] joins the medians of the two side windows (0 where a side
   has no usable column). */
static void side_slopes(const float *row, const uint8_t *ok, int32_t cols, int32_t w,
                        void *scratch, float *k)
{
    const int32_t inner = SIDE_INNER(w), outer = SIDE_OUTER(w), n = cols + outer + inner + 1;
    float *med = scratch, *mid = med + n, *win = k + cols + 8;
    size_t nwin = (size_t)outer + 1 > KM_WINDOW16 ? (size_t)outer + 1 : KM_WINDOW16;
    size_t padn = (size_t)cols + 2 * (size_t)outer + 16;
    int32_t *use = (int32_t *)(void *)(win + nwin + padn), *cnt = use + cols;
    side_middles(ok, cols, inner, outer, n, mid, use, cnt);
    const km_median_net *sn = side_net(outer - inner + 1);
    int done = 0;
#if KM_AVX2_TARGET
    if (sn != NULL && km_cpu_avx2()) {
        float *pr = win + nwin;
        uint8_t *pok = (uint8_t *)(void *)(cnt + cols + 1);
        memset(pr, 0, padn * sizeof *pr);
        memset(pok, 0, padn);
        memcpy(pr + outer, row, (size_t)cols * sizeof *row);
        memcpy(pok + outer, ok, (size_t)cols);
        side_values_avx2(sn, pr, pok, outer - inner + 1, n, med);
        done = 1;
    }
#endif
    if (!done)
        side_values(row, ok, cols, inner, outer, n, med, win);
    /* The slope at x: from the left side's window (i = x) to the right's
       (i = x + outer + inner); 0 where a side has no usable column. */
    for (int32_t x = 0; x < cols + 8; x++) {
        float s = 0.0f;
        if (x < cols && !isnan(mid[x]) && !isnan(mid[x + outer + inner]))
            s = (med[x + outer + inner] - med[x]) / (mid[x + outer + inner] - mid[x]);
        k[x] = s;
    }
}

/* out[x] = the minimum (max 0) or maximum (max 1) of in[j] over the usable
   j within +-w of x, clipped to the row (in[x] itself for a usable x);
   pad: cols + 2 w floats. */
static void window_extreme(const float *in, const uint8_t *ok, int32_t cols, int32_t w, int max,
                           float *pad, float *out)
{
    const float none = max ? -INFINITY : INFINITY;
    for (int32_t j = 0; j < cols + 2 * w; j++)
        pad[j] = none;
    for (int32_t j = 0; j < cols; j++)
        if (ok[j])
            pad[w + j] = in[j];
    memcpy(out, pad, (size_t)cols * sizeof *out);
    for (int32_t d = 1; d <= 2 * w; d++)
        for (int32_t x = 0; x < cols; x++)
            out[x] = (max ? pad[x + d] > out[x] : pad[x + d] < out[x]) ? pad[x + d] : out[x];
}

/* Slope 2: o = the opening of the usable values over +-w columns (e[x] =
   the minimum of row[j], o[x] = the maximum of e[j], usable j within +-w
   of x, clipped to the row), k[x] = its slope between the usable columns
   nearest x - w and x + w (0 where x is not usable or alone); pad: cols +
   2 w floats. */
static void opening_slopes(const float *row, const uint8_t *ok, int32_t cols, int32_t w,
                           float *pad, float *e, float *o, float *k)
{
    window_extreme(row, ok, cols, w, 0, pad, e);
    window_extreme(e, ok, cols, w, 1, pad, o);
    for (int32_t x = 0; x < cols + 8; x++)
        k[x] = 0.0f;
    for (int32_t x = 0; x < cols; x++) {
        if (!ok[x])
            continue;
        int32_t a = x - w < 0 ? 0 : x - w, b = x + w >= cols ? cols - 1 : x + w;
        while (!ok[a])
            a++;
        while (!ok[b])
            b--;
        if (b > a)
            k[x] = (o[b] - o[a]) / (float)(b - a);
    }
}

void km_cand_slope_row(const km_median_net *net, const float *row, const uint8_t *ok,
                       int32_t cols, int32_t w, int32_t slope, void *scratch, void *net_scratch,
                       float *bg, float *excess)
{
    /* The scratch's layout: side_slopes' (km_cand_slope_scratch); slope 2
       puts its padded row and erosion where the side medians and middles
       go (n >= cols + 2 w floats each), its opening after k where the
       sorted window goes. */
    const int32_t n = cols + SIDE_OUTER(w) + SIDE_INNER(w) + 1;
    float *k = (float *)scratch + 2 * n, *win = k + cols + 8;
    if (slope == 2)
        opening_slopes(row, ok, cols, w, scratch, (float *)scratch + n, k + cols + 8, k);
    else
        side_slopes(row, ok, cols, w, scratch, k);
    if (net != NULL) {
        km_row_window_medians_slope_f(net, row, ok, cols, k, net_scratch, bg);
    } else {
        float *d = win; /* outer + 1 >= 2 w + 1 floats */
        for (int32_t x = 0; x < cols; x++) {
            if (!ok[x])
                continue;
            int c = 0;
            for (int32_t j = x - w < 0 ? 0 : x - w; j <= x + w && j < cols; j++)
                if (ok[j])
                    d[c++] = row[j] - k[x] * (float)(j - x);
            bg[x] = km_median_small_f(d, c);
        }
    }
    for (int32_t x = 0; x < cols; x++)
        excess[x] = ok[x] ? row[x] - bg[x] : NAN;
}
