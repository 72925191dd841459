/* The candidate layer's local excess of a frame row (docs/ALGORITHMS.md 10
 * step 1): each taxel's value minus the median of the usable values within
 * +-W columns of its row, NaN where the taxel is not usable.  Deposited on
 * the body grid's cells by candidates.c. */
#include <float.h>
#include <math.h>
#include <string.h>

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

/* The fewest unmasked values a window's masked median stands on (under
   that the plain median is kept), and the most passes of masking. */
#define MASK_MIN_KEPT 3
#define MASK_PASSES 4

/* The background of each usable taxel whose window holds a taxel masked in
   this pass (keep 2; kept 1, masked before 0), as the median of the values
   kept (keep 1) within +-W columns where at least MASK_MIN_KEPT are, else
   the plain one; the other windows keep what they had.  The window's kept
   values are sorted as they are gathered (a median of two values' mean, as
   km_median_small_f). */
static void kept_medians(km_bodygrid *g, const float *row, const float *plain,
                         const uint8_t *only)
{
    km_excess_state *xs = &g->ex;
    const uint8_t *ok = xs->ok, *keep = xs->mask_keep;
    float *win = xs->mask_win;
    int32_t w = xs->half, cols = g->cols, fresh = 0;
    for (int32_t j = 0; j < w && j < cols; j++)
        fresh += keep[j] == 2;
    for (int32_t x = 0; x < cols; x++) {
        if (x + w < cols)
            fresh += keep[x + w] == 2;
        if (x - w - 1 >= 0)
            fresh -= keep[x - w - 1] == 2;
        if (!ok[x] || fresh == 0 || (only != NULL && !only[x]))
            continue;
        int32_t a = x - w < 0 ? 0 : x - w, b = x + w >= cols ? cols - 1 : x + w, k = 0;
        for (int32_t j = a; j <= b; j++)
            if (keep[j] == 1) {
                int32_t i = k++;
                for (; i > 0 && win[i - 1] > row[j]; i--)
                    win[i] = win[i - 1];
                win[i] = row[j];
            }
        xs->bg[x] = k < MASK_MIN_KEPT ? plain[x]
                    : (k & 1)        ? win[k / 2]
                                     : 0.5f * (win[k / 2 - 1] + win[k / 2]);
        xs->excess[x] = row[x] - xs->bg[x];
    }
}

/* The median of e[0..n) (n / 2's value; e, scratch, may be reordered): the
   sorting network up to its 128 values, quickselect on wider rows. */
static float row_median(float *e, int32_t n)
{
    size_t k = (size_t)(n / 2);
    return km_select_any_f(e, (size_t)n, k);
}

/* The median absolute deviation of v[0..n) (n >= 1) about its median, put
   in *med; v, scratch, is overwritten. */
static float row_mad(float *v, int32_t n, float *med)
{
    *med = row_median(v, n);
    for (int32_t i = 0; i < n; i++)
        v[i] = fabsf(v[i] - *med);
    return row_median(v, n);
}

/* The passes of masking shared by the masked background and the bumps left
   out: a taxel still kept (keep 1) is left out where it stands over thr
   (with o, above o and above its background; without, its excess this far
   from med), the windows holding one take the median of the values kept
   (kept_medians: plain where too few, only the taxels of `only`), and the
   masking repeats on the new excess until it leaves nothing more out,
   MASK_PASSES times at most.  The caller sets keep first. */
static void mask_passes(km_bodygrid *g, const float *row, const float *plain,
                        const uint8_t *only, const float *o, double med, double thr)
{
    km_excess_state *xs = &g->ex;
    uint8_t *keep = xs->mask_keep;
    int32_t cols = g->cols;
    for (int pass = 0; pass < MASK_PASSES; pass++) {
        int32_t masked = 0;
        for (int32_t x = 0; x < cols; x++) {
            double ex = (double)xs->excess[x];
            int out = o != NULL ? (double)row[x] - (double)o[x] > thr && ex > thr
                                : fabs(ex - med) > thr;
            if (keep[x] && out) {
                keep[x] = 2;
                masked++;
            }
        }
        if (masked == 0)
            return;
        kept_medians(g, row, plain, only);
        for (int32_t x = 0; x < cols; x++)
            keep[x] = keep[x] == 1;
    }
}

/* The masked background (background_mask K > 0; docs/ALGORITHMS.md 10 step
 * 1, Masked background), as SExtractor/SEP estimate a sky under sources
 * (kappa-sigma clipping): the row's first excess e (the plain median's)
 * gives its robust sigma, 1.4826 x the median of |e - median(e)| over the
 * usable taxels; a taxel with |e - median(e)| above K sigma (a knot, a
 * stronger neighbour's flank, and the cells the first median stood too
 * high or too low for) is left out of every window, each usable taxel's
 * background is taken again as the median of the usable values kept
 * within +-W columns (at least MASK_MIN_KEPT of them, else the plain
 * median stays), and the masking repeats on the new excess (a taxel whose
 * first background stood on a knot may show its own excess only then)
 * until it masks nothing more, MASK_PASSES times at most.  A row with no
 * robust sigma (fewer than 3 usable taxels, or half of them equal) or
 * nothing masked keeps the plain median. */
static void masked_excess(km_bodygrid *g, const float *row)
{
    km_excess_state *xs = &g->ex;
    const uint8_t *ok = xs->ok;
    uint8_t *keep = xs->mask_keep;
    float *e = xs->mask_abs;
    int32_t n = 0, cols = g->cols;
    for (int32_t x = 0; x < cols; x++)
        if (ok[x])
            e[n++] = xs->excess[x];
    if (n < 3)
        return;
    float med;
    double sigma = 1.4826 * (double)row_mad(e, n, &med);
    if (!(sigma > 0.0))
        return;
    /* e now holds the plain background, for the windows with too few kept. */
    memcpy(e, xs->bg, (size_t)cols * sizeof *e);
    for (int32_t x = 0; x < cols; x++)
        keep[x] = ok[x];
    mask_passes(g, row, e, NULL, NULL, (double)med, g->cand.background_mask * sigma);
}

/* The bumps left out (background_bumps K > 0; docs/ALGORITHMS.md 10 step
 * 1, Bumps left out), over the row's taxels in contact (a roller's usable
 * ones; on a mat those whose plain background is over contact_threshold):
 * o = their opening over +-W columns (every bump narrower than the window
 * cut off, the body's relief and edges kept); the noise sigma = 1.4826 x
 * the median absolute deviation of the differences of neighbouring
 * taxels, over sqrt 2 (the relief's slope moves their median, not their
 * spread).  A taxel standing over K sigma both above o and above its
 * background is left out of every window, and each window of a taxel in
 * contact holding one takes the median of the values kept (the plain one
 * where fewer than MASK_MIN_KEPT are); repeated on the new excess (a
 * weaker knot whose first background stood on a stronger one shows its
 * excess only then) until nothing more is left out, MASK_PASSES times at
 * most.  Above o alone would leave out the top of the body's broad relief
 * too (a flat opening cuts a dome's top) and lift the excess there; the
 * plain median's excess at that top stays small.  A row with fewer than 3
 * such differences, no spread in them or nothing left out keeps the plain
 * median.  mat: the contact test applies (else every usable taxel is in
 * contact). */
static void bump_masked_excess(km_bodygrid *g, const float *row, int mat)
{
    km_excess_state *xs = &g->ex;
    const uint8_t *ok = xs->ok;
    uint8_t *keep = xs->mask_keep, *on = (uint8_t *)(xs->bump + 4 * g->cols + 2 * xs->half);
    int32_t cols = g->cols, w = xs->half, n = 0;
    float *e = xs->bump + cols + 2 * w, *o = e + cols, *d = o + cols;
    /* The taxels in contact (a mat's: plain background above the contact
       threshold; a roller's usable ones are): the noise, the kept values
       and the backgrounds taken again are theirs, so that a quiet floor
       beside the body neither shrinks the noise nor becomes a contact
       taxel's background. */
    for (int32_t x = 0; x < cols; x++)
        on[x] = (uint8_t)(ok[x] && (!mat || (double)xs->bg[x] > g->cand.contact_threshold));
    for (int32_t x = 1; x < cols; x++)
        if (on[x] && on[x - 1])
            d[n++] = row[x] - row[x - 1];
    if (n < 3)
        return;
    float med;
    double sigma = 1.4826 / sqrt(2.0) * (double)row_mad(d, n, &med);
    if (!(sigma > 0.0))
        return;
    km_cand_row_opening(row, on, cols, w, xs->bump, e, o);
    /* mask_abs keeps the plain background for the windows with too few
       kept. */
    memcpy(xs->mask_abs, xs->bg, (size_t)cols * sizeof *xs->mask_abs);
    for (int32_t x = 0; x < cols; x++)
        keep[x] = on[x];
    mask_passes(g, row, xs->mask_abs, on, o, 0.0, g->cand.background_bumps * sigma);
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
    if (g->cand.background_mask > 0.0)
        masked_excess(g, row);
    else if (g->cand.background_bumps > 0.0)
        bump_masked_excess(g, row, on == NULL);
}
