/* The candidate layer's local excess of a frame row (docs/ALGORITHMS.md 10
 * step 1): each taxel's value minus the median of the usable values within
 * +-W columns of its row, NaN where the taxel is not usable.  Deposited on
 * the body grid's cells by candidates.c. */
#include <float.h>
#include <math.h>

#include "bodygrid_internal.h"
#include "core/select_small.h"

#if KM_AVX2_TARGET
/* The usable test of the eight taxels from x (the same terms as the plain
   loop: |v| <= FLT_MAX is false for NaN and infinities). */
__attribute__((target("avx2"), always_inline)) static inline void
usable8(uint8_t *ok, const float *row, const uint8_t *mr, const int32_t *run, int32_t sf,
        const uint8_t *on, int32_t x)
{
    const __m256 abs = _mm256_castsi256_ps(_mm256_set1_epi32(INT32_MAX));
    __m256 v = _mm256_and_ps(_mm256_loadu_ps(row + x), abs);
    __m256i u = _mm256_castps_si256(_mm256_cmp_ps(v, _mm256_set1_ps(FLT_MAX), _CMP_LE_OQ));
    if (mr != NULL)
        u = _mm256_and_si256(u, km_nonzero8(mr + x));
    if (sf != 0)
        u = _mm256_and_si256(u, _mm256_cmpgt_epi32(_mm256_set1_epi32(sf),
                                                   _mm256_loadu_si256((const __m256i *)(const void *)(run + x))));
    if (on != NULL)
        u = _mm256_and_si256(u, km_nonzero8(on + x));
    km_store_flags8(ok + x, u);
}

/* The usable test eight taxels at a time; a row's last 1-7 as the last
   eight again (each flag depends on its own taxel only: the overlap
   rewrites the same bytes).  Returns where it stopped (cols, or 0 on a row
   shorter than eight). */
__attribute__((target("avx2"))) static int32_t usable_avx2(uint8_t *ok, const float *row,
                                                           const uint8_t *mr, const int32_t *run,
                                                           int32_t sf, const uint8_t *on,
                                                           int32_t cols)
{
    int32_t x = 0;
    for (; x + 8 <= cols; x += 8)
        usable8(ok, row, mr, run, sf, on, x);
    if (x < cols && x > 0) {
        usable8(ok, row, mr, run, sf, on, cols - 8);
        x = cols;
    }
    return x;
}

/* The excess of the eight taxels from x: row - bg where usable, NaN
   elsewhere (the same bits as the plain loop). */
__attribute__((target("avx2"), always_inline)) static inline void
excess8(float *excess, const float *row, const float *bg, const uint8_t *ok, int32_t x)
{
    __m256 d = _mm256_sub_ps(_mm256_loadu_ps(row + x), _mm256_loadu_ps(bg + x));
    __m256 u = _mm256_castsi256_ps(km_nonzero8(ok + x));
    _mm256_storeu_ps(excess + x, _mm256_blendv_ps(_mm256_set1_ps(NAN), d, u));
}

/* The excess eight taxels at a time, a row's last 1-7 as the last eight
   again (as usable_avx2); returns where it stopped. */
__attribute__((target("avx2"))) static int32_t excess_avx2(float *excess, const float *row,
                                                           const float *bg, const uint8_t *ok,
                                                           int32_t cols)
{
    int32_t x = 0;
    for (; x + 8 <= cols; x += 8)
        excess8(excess, row, bg, ok, x);
    if (x < cols && x > 0) {
        excess8(excess, row, bg, ok, cols - 8);
        x = cols;
    }
    return x;
}
#endif

/* km_cand_row_excess over windows too wide for a network: the window's usable
   values kept sorted as it slides (km_window_insert: the median a stable
   sort gives); up to KM_WINDOW16 of them without a branch. */
static void sorted_window_excess(km_bodygrid *g, const float *row, int32_t w)
{
    km_excess_state *xs = &g->ex;
    const uint8_t *ok = xs->ok;
    float *win = xs->win, win16[KM_WINDOW16];
    int small = 2 * w + 1 <= KM_WINDOW16, n = 0;
    if (small) {
        win = win16;
        km_window16_clear(win);
    }
    for (int32_t x = 0, lo = 0, hi = -1; x < g->cols; x++) {
        int32_t a = x - w < 0 ? 0 : x - w, b = x + w >= g->cols ? g->cols - 1 : x + w;
        /* The leaving column first: the window never holds more than 2w+1. */
        for (; lo < a; lo++)
            if (ok[lo])
                n = small ? km_window16_remove(win, n, row[lo]) : km_window_remove(win, n, row[lo]);
        for (; hi < b; hi++)
            if (ok[hi + 1])
                n = small ? km_window16_insert(win, n, row[hi + 1])
                          : km_window_insert(win, n, row[hi + 1]);
        if (!ok[x]) {
            xs->excess[x] = NAN;
            continue;
        }
        xs->bg[x] = (n & 1) ? win[n / 2] : 0.5f * (win[n / 2 - 1] + win[n / 2]);
        xs->excess[x] = row[x] - xs->bg[x];
    }
}

/* Local excess of one frame row: value minus the median of the usable
 * values within +-W columns.  NaN where the taxel is not usable.  With on
 * (roller), only the taxels in contact are usable: the background of a
 * taxel at the edge of a narrow body is the body's, not the unloaded
 * roller's beside it. */
void km_cand_row_excess(km_bodygrid *g, const float *row, const km_mask *m, int32_t r,
                        const uint8_t *on)
{
    km_excess_state *xs = &g->ex;
    int32_t w = xs->half;
    uint8_t *ok = xs->ok;
    /* Each taxel's test once, not once per window it falls in, without a
       branch (the loop vectorises): usable is on the sensor (mask), finite,
       not in a stuck run, and in contact where on is given. */
    const uint8_t *mr = m != NULL && m->data != NULL ? m->data + (ptrdiff_t)r * m->row_stride
                                                     : NULL;
    const int32_t *run = g->ex.run + km_cand_at(g, r, 0);
    const int32_t sf = g->cand.stuck_frames;
    int32_t x0 = 0;
#if KM_AVX2_TARGET
    if (xs->avx2)
        x0 = usable_avx2(ok, row, mr, run, sf, on, g->cols);
#endif
    for (int32_t x = x0; x < g->cols; x++) {
        int u = (mr == NULL || mr[x] != 0) & (fabsf(row[x]) <= FLT_MAX) &
                (sf == 0 || run[x] < sf) & (on == NULL || on[x] != 0);
        ok[x] = (uint8_t)u;
    }
    if (on != NULL && xs->slope != NULL) {
        km_cand_slope_row(xs->net, row, ok, g->cols, w, g->cand.background_slope, xs->slope,
                          xs->win, xs->bg, xs->excess);
        return;
    }
    if (xs->net != NULL) {
        km_row_window_medians_f(xs->net, row, ok, g->cols, xs->win, xs->bg);
        x0 = 0;
#if KM_AVX2_TARGET
        if (xs->avx2)
            x0 = excess_avx2(xs->excess, row, xs->bg, ok, g->cols);
#endif
        for (int32_t x = x0; x < g->cols; x++)
            xs->excess[x] = ok[x] ? row[x] - xs->bg[x] : NAN;
    } else {
        sorted_window_excess(g, row, w);
    }
}
