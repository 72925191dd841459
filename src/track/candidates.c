/* The candidate layer of the body grid (docs/ALGORITHMS.md 10 steps 1-3):
 * per cell, the pass maximum of the local excess (value minus the running
 * median of its row), its mean and its spread (standard deviation) over
 * the passes that covered the cell, the passes that saw it and when.  The
 * cells and passes are the body grid's (bodygrid.c).  Detecting the
 * candidates on these maps is the pipeline's composition of detect's map
 * filters (src/pipeline/candidate_detect.c).  km_candidates_* is a body
 * grid with this one layer. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "bodygrid_internal.h"
#include "core/select_small.h"

#if KM_AVX2_TARGET
#include <immintrin.h>
#endif

#define MAX_BACKGROUND_SIGMAS 100.0

struct km_candidates {
    km_bodygrid *g;
};

void km_candidate_params_default(km_candidate_params *p)
{
    if (p == NULL)
        return;
    p->background_sigmas = 2.0;
    p->seen_threshold = 8.0;
    p->min_prominence = 4.0;
    p->min_snr = 5.0;
    p->knot_sigma_mm = 0.0;
    p->min_sigma_mm = 3.0;
    p->max_sigma_mm = 15.0;
    p->ridge_sigmas = 4.5;
    p->min_distance_mm = 10.0;
    p->min_coverage = 2;
    p->min_persistence = 0.3;
    p->max_candidates = 100;
    p->stuck_frames = 25;
    p->contact_half_rows = 1;
    p->contact_threshold = 5.0;
    p->pass_gap_frames = 5;
    p->flat_field = 0;
    p->drift_sigmas = 3.0;
    p->one_taxel_weight = 0.05;
    p->min_pressure_share = 0.12;
    p->background_slope = 0;
    p->seen_noise = 3.0;
    p->band_share = 0.4;
    p->broad_taxel = 0;
}

/* The row median's half-width in columns (km_candidate_params): +-
   background_sigmas times the largest footprint sigma searched, so that a
   footprint of that sigma covers under half the window and leaves the
   median on the contact around it; at least 1, at most the row. */
static int32_t background_half_cols(const km_candidate_params *p, double col_pitch_mm,
                                    int32_t cols)
{
    double s = p->knot_sigma_mm > 0.0 ? p->knot_sigma_mm : p->max_sigma_mm;
    double w = floor(p->background_sigmas * s / col_pitch_mm + 0.5);
    return w < 1.0 ? 1 : w > (double)cols ? cols : (int32_t)w;
}

static int params_ok(const km_candidate_params *q, double row_pitch_mm, double col_pitch_mm)
{
    double big = 100.0 * (row_pitch_mm > col_pitch_mm ? row_pitch_mm : col_pitch_mm);
    return q->background_sigmas > 0.0 && q->background_sigmas <= MAX_BACKGROUND_SIGMAS &&
           !isnan(q->seen_threshold) && q->min_prominence >= 0.0 && q->min_distance_mm >= 0.0 &&
           q->min_distance_mm <= big &&
           q->min_coverage >= 1 && q->min_persistence >= 0.0 && q->min_snr >= 0.0 &&
           q->knot_sigma_mm >= 0.0 && isfinite(q->knot_sigma_mm) && q->min_sigma_mm > 0.0 &&
           q->max_sigma_mm >= q->min_sigma_mm && isfinite(q->max_sigma_mm) &&
           q->max_sigma_mm <= big && q->knot_sigma_mm <= big && q->ridge_sigmas >= 0.0 &&
           q->ridge_sigmas <= MAX_BACKGROUND_SIGMAS && q->contact_half_rows >= 0 &&
           !isnan(q->contact_threshold) && q->pass_gap_frames >= 0 && q->stuck_frames >= 0 &&
           (q->flat_field == 0 || q->flat_field == 1) && q->drift_sigmas >= 0.0 &&
           isfinite(q->drift_sigmas) && q->one_taxel_weight >= 0.0 && q->one_taxel_weight <= 1.0 &&
           q->min_pressure_share >= 0.0 && q->min_pressure_share <= 1.0 &&
           q->background_slope >= 0 && q->background_slope <= 2 &&
           q->seen_noise >= 0.0 && isfinite(q->seen_noise) && q->band_share >= 0.0 &&
           q->band_share <= 1.0 && (q->broad_taxel == 0 || q->broad_taxel == 1);
}

km_status km_cand_layer_create(km_ctx *ctx, km_bodygrid *g, const km_candidate_params *p)
{
    km_excess_state *x = &g->ex;
    if (p != NULL)
        g->cand = *p;
    else
        km_candidate_params_default(&g->cand);
    if (!params_ok(&g->cand, g->row_pitch, g->col_pitch))
        return km_fail(ctx, KM_ERR_INVALID, "candidates: parameters out of range");
    x->excess = km_alloc(ctx, (size_t)g->cols * sizeof *x->excess);
    x->bg = km_alloc(ctx, (size_t)g->cols * sizeof *x->bg);
    /* The window: a sorted one, or the network's (and its scratch). */
    x->half = background_half_cols(&g->cand, g->col_pitch, g->cols);
    int32_t span = 2 * x->half + 1;
    x->net = km_median_net_for(span);
    x->avx2 = km_cpu_avx2();
    x->win = km_alloc(ctx, x->net != NULL ? km_row_window_scratch(g->cols, span)
                                          : (size_t)span * sizeof *x->win);
    x->ok = km_alloc(ctx, (size_t)g->cols);
    if (g->cand.background_slope != 0 && g->mode == KM_MODE_ROLLER) {
        x->slope = km_alloc(ctx, km_cand_slope_scratch(span / 2, g->cols));
        if (x->slope == NULL)
            return KM_ERR_NOMEM;
    }
    /* The stuck rule's per-taxel state, on the padded layout (km_cand_at)
       and KM_CAND_SLACK entries after it: zeroed, so the border and the
       slack read as unchanged, never repeating, at 0. */
    size_t pad = ((size_t)g->rows + 2) * ((size_t)g->cols + 2) + KM_CAND_SLACK;
    x->prev = km_calloc(ctx, pad, sizeof *x->prev);
    x->changed = km_calloc(ctx, pad, sizeof *x->changed);
    x->nb = km_calloc(ctx, pad, sizeof *x->nb);
    x->run = km_calloc(ctx, pad, sizeof *x->run);
    x->stuck = km_calloc(ctx, pad, sizeof *x->stuck);
    x->sat_lo = INFINITY;
    if (x->excess == NULL || x->bg == NULL || x->win == NULL || x->ok == NULL || x->prev == NULL ||
        x->changed == NULL || x->nb == NULL || x->run == NULL || x->stuck == NULL)
        return KM_ERR_NOMEM;
    for (int32_t r = 0; r < g->rows; r++)
        for (int32_t c = 0; c < g->cols; c++)
            x->nb[km_cand_at(g, r, c)] =
                (uint8_t)((r > 0) + (r + 1 < g->rows) + (c > 0) + (c + 1 < g->cols));
    return KM_OK;
}

void km_cand_layer_free(km_bodygrid *g)
{
    km_excess_state *x = &g->ex;
    km_ref_free(&g->alloc, x->excess);
    km_ref_free(&g->alloc, x->bg);
    km_ref_free(&g->alloc, x->win);
    km_ref_free(&g->alloc, x->ok);
    km_ref_free(&g->alloc, x->slope);
    km_ref_free(&g->alloc, x->prev);
    km_ref_free(&g->alloc, x->changed);
    km_ref_free(&g->alloc, x->nb);
    km_ref_free(&g->alloc, x->run);
    km_ref_free(&g->alloc, x->stuck);
    memset(x, 0, sizeof *x);
}

/* Welford's update of (mean, m2) by the k-th value v. */
static void welford(double *mean, double *m2, int32_t k, double v)
{
    double d = v - *mean;
    *mean += d / (double)k;
    *m2 += d * (v - *mean);
}

/* The k-th closed pass's maximum v at time t into the cell's trend;
 * mean: the maxima's mean with v included (the bivariate Welford update). */
static void trend_pass(km_trend_cell *tr, int32_t k, double t, double v, double mean)
{
    if (k == 1)
        tr->t0 = t;
    double d = t - tr->tmean;
    tr->tmean += d / (double)k;
    tr->tm2 += d * (t - tr->tmean);
    tr->ctm += d * (v - mean);
}

/* Passes a cell needs before its slope is trusted: the standard error of
 * a slope from fewer has too few degrees of freedom to shrink it by. */
#define DRIFT_MIN_PASSES 8

/* How much a drift of the cell's sensor over the session added to the mean
 * of its n pass maxima (m2: their sum of squared deviations): the least-
 * squares slope against time, shrunk towards 0 by `sigmas` of its standard
 * error (soft threshold: a slope within the noise leaves the map as it
 * is), times the passes' mean time since the first pass.  0 when off
 * (sigmas 0) or under DRIFT_MIN_PASSES passes. */
static double drift_term(const km_trend_cell *tr, int32_t n, double m2, double sigmas)
{
    if (sigmas <= 0.0 || n < DRIFT_MIN_PASSES || !(tr->tm2 > 0.0))
        return 0.0;
    double b = tr->ctm / tr->tm2;
    double rss = m2 - b * tr->ctm;
    double se = sqrt((rss > 0.0 ? rss : 0.0) / (double)(n - 2) / tr->tm2);
    double mag = fabs(b) - sigmas * se;
    return mag > 0.0 ? copysign(mag, b) * (tr->tmean - tr->t0) : 0.0;
}

/* A pass maximum v that came from taxel row crow (rows + 1) into the
 * sums of the cell's first row (row A) or of the others. */
static void row_pass(int32_t *rowa, int32_t *an, int32_t *bn, double *asum, double *bsum,
                     int32_t crow, double v)
{
    if (*rowa == 0)
        *rowa = crow;
    if (crow == *rowa) {
        *asum += v;
        ++*an;
    } else {
        *bsum += v;
        ++*bn;
    }
}

/* Rung k of the seen ladder (km_bodygrid_seen_at). */
static double seen_rung(const km_candidate_params *p, int k)
{
    return p->seen_threshold * (double)(k + 2) / 8.0;
}

/* Pass maximum v onto a cell's seen ladder. */
static void ladder_pass(const km_candidate_params *p, km_seen_ladder *l, float v)
{
    for (int k = 0; k < KM_SEEN_RUNGS; k++)
        l->n[k] += v >= seen_rung(p, k);
}

/* Sensor row r (rows 0..) deposited excess e over background b on cell i
 * at time t, sampled frac row pitches from the cell's centre. */
static void touch(km_bodygrid *g, size_t i, float e, float b, int32_t r, float frac, double t)
{
    const km_candidate_params *p = &g->cand;
    int new_pass = km_grid_new_pass(g->clast[i], g->frame, p->pass_gap_frames);
    if (new_pass) {
        if (g->clast[i] >= 0) { /* close the previous pass, the ccov-th */
            g->csum[i] += g->cur[i];
            g->seen[i] += g->cur[i] >= p->seen_threshold;
            ladder_pass(p, &g->ladder[i], g->cur[i]);
            welford(&g->wmean[i], &g->wm2[i], g->ccov[i], g->cur[i]);
            trend_pass(&g->trend[i], g->ccov[i], g->cur_t[i], g->cur[i], g->wmean[i]);
            row_pass(&g->rowa[i], &g->an[i], &g->bn[i], &g->asum[i], &g->bsum[i], g->crow[i],
                     g->cur[i]);
            km_flat_pass(&g->flat[i], g->crow[i], g->cur[i], g->cur_b[i], g->cur_off[i],
                         g->cur_turn[i]);
        }
        g->ccov[i]++;
        g->cur_turn[i] = g->turns;
    }
    if (new_pass || e > g->cur[i]) {
        g->cur[i] = e;
        g->cur_t[i] = t;
        g->crow[i] = r + 1;
        g->cur_b[i] = b;
        g->cur_off[i] = frac;
    }
    g->clast[i] = g->frame;
    if (e >= p->seen_threshold) {
        if (isnan(g->t_first[i]))
            g->t_first[i] = t;
        g->t_last[i] = t;
    }
}

#if KM_AVX2_TARGET
/* The deposit of the four cells from column x (only the lanes in `lanes`
 * read, at a row's end) of a roller row, or of a mat row (mat: the cells
 * whose background is above the contact threshold, km_cand_layer_mat's
 * test, as a mask).  Most usable cells go on with their pass, under its
 * maximum: of touch() they take only clast = frame and, at or above
 * seen_threshold, the seen times, stored together; so do those with a new
 * maximum, its values too; a new pass takes touch() one by one (each
 * column its own cell: the order is free). */
typedef struct deposit_consts { /* ex, bg; frame, gap + 1; seen, contact thresholds */
    const float *ex, *bg;
    __m256i frame, gap1;
    __m256d seen, thr;
} deposit_consts;

__attribute__((target("avx2"), always_inline)) static inline void
deposit4(km_bodygrid *g, const deposit_consts *k, size_t off, int32_t x, __m128i lanes, int32_t r,
         float frac, double t, int mat, int tail)
{
    const float *ex = k->ex, *bg = k->bg;
    const __m256i zero = _mm256_setzero_si256(), lanes64 = _mm256_cvtepi32_epi64(lanes);
    size_t i = off + (size_t)x;
    const long long *clast = (const long long *)(const void *)(g->clast + i);
    __m128 e = tail ? _mm_maskload_ps(ex + x, lanes) : _mm_loadu_ps(ex + x);
    __m256i last = tail ? _mm256_maskload_epi64(clast, lanes64)
                        : _mm256_loadu_si256((const __m256i *)(const void *)clast);
    __m128 cur = tail ? _mm_maskload_ps(g->cur + i, lanes) : _mm_loadu_ps(g->cur + i);
    /* km_grid_new_pass: last < 0 or frame - last - 1 > gap */
    __m256i slow = _mm256_or_si256(_mm256_cmpgt_epi64(zero, last),
                                   _mm256_cmpgt_epi64(_mm256_sub_epi64(k->frame, last), k->gap1));
    __m256i above = _mm256_cvtepi32_epi64(_mm_castps_si128(_mm_cmp_ps(e, cur, _CMP_GT_OQ)));
    __m256i seen = _mm256_castpd_si256(_mm256_cmp_pd(_mm256_cvtps_pd(e), k->seen, _CMP_GE_OQ));
    __m256i usable = _mm256_cvtepi32_epi64(_mm_castps_si128(_mm_cmp_ps(e, e, _CMP_ORD_Q)));
    if (tail)
        usable = _mm256_and_si256(usable, lanes64);
    if (mat) { /* float bg > double threshold: in double, exactly */
        __m128 b = tail ? _mm_maskload_ps(bg + x, lanes) : _mm_loadu_ps(bg + x);
        usable = _mm256_and_si256(
            usable, _mm256_castpd_si256(_mm256_cmp_pd(_mm256_cvtps_pd(b), k->thr, _CMP_GT_OQ)));
    }
    __m256i fast = _mm256_andnot_si256(slow, usable);
    _mm256_maskstore_epi64((long long *)(void *)(g->clast + i), fast, k->frame);
    __m256i seen_fast = _mm256_and_si256(fast, seen);
    /* A new maximum of the pass (e > cur; two in three of a roller's
       touches that are not a pass going on under its maximum): touch()'s
       stores of it, and t_first where e is at or above seen_threshold and
       there is none yet. */
    __m256i up = _mm256_and_si256(fast, above);
    if (_mm256_movemask_pd(_mm256_castsi256_pd(up)) != 0) {
        __m128i up32 = _mm256_castsi256_si128(
            _mm256_permutevar8x32_epi32(up, _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6)));
        _mm_maskstore_ps(g->cur + i, up32, e);
        _mm256_maskstore_pd(g->cur_t + i, up, _mm256_set1_pd(t));
        _mm_maskstore_epi32(g->crow + i, up32, _mm_set1_epi32(r + 1));
        _mm_maskstore_ps(g->cur_b + i, up32, _mm_maskload_ps(bg + x, up32));
        _mm_maskstore_ps(g->cur_off + i, up32, _mm_set1_ps(frac));
        __m256d tf = _mm256_maskload_pd(g->t_first + i, up);
        __m256i none = _mm256_castpd_si256(_mm256_cmp_pd(tf, tf, _CMP_UNORD_Q));
        _mm256_maskstore_pd(g->t_first + i, _mm256_and_si256(_mm256_and_si256(up, seen), none),
                            _mm256_set1_pd(t));
    }
    /* touch()'s seen time of the cells that go on with their pass at or
       above seen_threshold (the loaded cells of a noisy mat, every frame:
       four in five of its touches were these): t_last.  The t_first of
       those under their maximum is set: e <= cur, and cur took its value
       in touch() or above, which set t_first as cur >= seen_threshold. */
    if (_mm256_movemask_pd(_mm256_castsi256_pd(seen_fast)) != 0)
        _mm256_maskstore_pd(g->t_last + i, seen_fast, _mm256_set1_pd(t));
    unsigned s = (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_and_si256(slow, usable)));
    for (; s != 0; s &= s - 1) {
        int32_t j = x + __builtin_ctz(s);
        touch(g, off + (size_t)j, ex[j], bg[j], r, frac, t);
    }
}

/* A row's deposit four cells at a time, the last one to three cells as
   masked lanes; what touch() may not change read once (it stores through
   g, so the compiler would read them again after each). */
__attribute__((target("avx2"), always_inline)) static inline void
deposit_row(km_bodygrid *g, size_t off, int32_t r, float frac, double t, int mat)
{
    const deposit_consts k = {g->ex.excess, g->ex.bg, _mm256_set1_epi64x((long long)g->frame),
                              _mm256_set1_epi64x((long long)g->cand.pass_gap_frames + 1),
                              _mm256_set1_pd(g->cand.seen_threshold),
                              _mm256_set1_pd(g->rule.contact_threshold)};
    const __m128i all = _mm_set1_epi32(-1);
    const int32_t cols = g->cols;
    int32_t x = 0;
    for (; x + 4 <= cols; x += 4)
        deposit4(g, &k, off, x, all, r, frac, t, mat, 0);
    if (x < cols) {
        __m128i lane = _mm_setr_epi32(0, 1, 2, 3);
        deposit4(g, &k, off, x, _mm_cmpgt_epi32(_mm_set1_epi32(cols - x), lane), r, frac, t, mat,
                 1);
    }
}

__attribute__((target("avx2"))) static void deposit_avx2(km_bodygrid *g, size_t off, int32_t r,
                                                         float frac, double t)
{
    deposit_row(g, off, r, frac, t, 0);
}

__attribute__((target("avx2"))) static void deposit_mat_avx2(km_bodygrid *g, size_t off,
                                                             int32_t r, double t)
{
    deposit_row(g, off, r, 0.0f, t, 1);
}

/* km_cand_layer_mat's row test eight taxels at a time: a valid taxel (mr
   NULL: all) above thr in double; where it stopped, -1 when one found. */
__attribute__((target("avx2"))) static int32_t contact8(const float *row, const uint8_t *mr,
                                                        int32_t cols, double thr)
{
    const __m256d th = _mm256_set1_pd(thr);
    int32_t x = 0;
    for (; x + 8 <= cols; x += 8) {
        __m256 v = _mm256_loadu_ps(row + x);
        __m256d lo = _mm256_cmp_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), th, _CMP_GT_OQ);
        __m256d hi = _mm256_cmp_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), th, _CMP_GT_OQ);
        unsigned m = (unsigned)_mm256_movemask_pd(lo) | (unsigned)_mm256_movemask_pd(hi) << 4;
        if (mr != NULL)
            m &= (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(km_nonzero8(mr + x)));
        if (m != 0)
            return -1;
    }
    return x;
}
#endif

void km_cand_layer_row(km_bodygrid *g, const float *row, const km_mask *m, int32_t r,
                       const uint8_t *on, size_t off, float frac, double t)
{
    km_cand_row_excess(g, row, m, r, on);
#if KM_AVX2_TARGET
    if (g->ex.avx2) {
        deposit_avx2(g, off, r, frac, t);
        return;
    }
#endif
    for (int32_t x = 0; x < g->cols; x++)
        if (!isnan(g->ex.excess[x]))
            touch(g, off + (size_t)x, g->ex.excess[x], g->ex.bg[x], r, frac, t);
}

/* Mat: a taxel is in contact when its background is above the threshold
 * (the background, not the taxel, so that noise at the edge of the load
 * does not split one pass into many). */
void km_cand_layer_mat(km_bodygrid *g, const km_frame *f, const km_mask *m, double t)
{
    const double thr = g->rule.contact_threshold;
    for (int32_t r = 0; r < g->rows; r++) {
        const float *row = f->data + (ptrdiff_t)r * f->row_stride;
        int any = 0;
        int32_t x = 0;
#if KM_AVX2_TARGET
        if (g->ex.avx2) {
            const uint8_t *mr = m != NULL && m->data != NULL ? m->data + (ptrdiff_t)r * m->row_stride
                                                             : NULL;
            x = contact8(row, mr, g->cols, thr);
            any = x < 0;
        }
#endif
        for (; x >= 0 && x < g->cols && !any; x++)
            any = km_mask_at(m, r, x) && row[x] > thr;
        if (!any)
            continue; /* the common case away from the load: skip the medians */
        km_cand_row_excess(g, row, m, r, NULL);
        size_t off = (size_t)r * (size_t)g->cols;
#if KM_AVX2_TARGET
        if (g->ex.avx2) {
            deposit_mat_avx2(g, off, r, t);
            continue;
        }
#endif
        for (x = 0; x < g->cols; x++)
            if (!isnan(g->ex.excess[x]) && g->ex.bg[x] > thr)
                touch(g, off + (size_t)x, g->ex.excess[x], g->ex.bg[x], r, 0.0f, t);
    }
}

/* The session's flat field on one cell (docs/ALGORITHMS.md 7.5): each
 * pass maximum m from a taxel of gain gn becomes v / gn - b (v = m + b its
 * value, b the row background), taken off the sums of the passes (sum) and
 * of those from row A and from the others.  fc includes the open pass. */
static void flat_correct(const km_bodygrid *g, const km_flat_cell *fc, const float *gain,
                         int32_t x, int32_t rowa, double *sum, double *asum, double *bsum)
{
    if (gain == NULL)
        return;
    *sum -= km_flat_removed(fc, gain, g->cols, x, 0, 0);
    if (rowa != 0) {
        *asum -= km_flat_removed(fc, gain, g->cols, x, rowa, 0);
        *bsum -= km_flat_removed(fc, gain, g->cols, x, 0, rowa);
    }
}

/* The maps of cell i (storage index, column x) at map index o, the open
 * pass included; gain: the session's flat field, NULL for none. */
static void cell_maps(const km_bodygrid *g, size_t i, int32_t x, size_t o, int bad,
                      const float *gain, const km_candidate_maps *m)
{
    const km_candidate_params *p = &g->cand;
    int32_t cov = g->ccov[i], seen = g->seen[i];
    int32_t rowa = g->rowa[i], an = g->an[i], bn = g->bn[i];
    double sum = g->csum[i], mean = g->wmean[i], m2 = g->wm2[i];
    double asum = g->asum[i], bsum = g->bsum[i];
    km_flat_cell fc = g->flat[i];
    km_trend_cell tr = g->trend[i];
    if (g->clast[i] >= 0) {
        sum += g->cur[i];
        seen += g->cur[i] >= p->seen_threshold;
        welford(&mean, &m2, cov, g->cur[i]);
        trend_pass(&tr, cov, g->cur_t[i], g->cur[i], mean);
        row_pass(&rowa, &an, &bn, &asum, &bsum, g->crow[i], g->cur[i]);
        km_flat_pass(&fc, g->crow[i], g->cur[i], g->cur_b[i], g->cur_off[i], g->cur_turn[i]);
    }
    flat_correct(g, &fc, gain, x, rowa, &sum, &asum, &bsum);
    if (m->excess)
        m->excess[o] = cov >= p->min_coverage && !bad
                           ? (float)(sum / cov - drift_term(&tr, cov, m2, p->drift_sigmas))
                           : NAN;
    if (m->spread)
        m->spread[o] = cov >= 2 && !bad ? (float)sqrt(m2 / (double)(cov - 1)) : NAN;
    if (m->excess_two_rows) {
        double a = an > 0 ? asum / an : NAN, b = bn > 0 ? bsum / bn : NAN;
        m->excess_two_rows[o] = an > 0 && bn > 0 && !bad ? (float)(a < b ? a : b) : NAN;
    }
    if (m->n_covering)
        m->n_covering[o] = cov;
    if (m->n_seen)
        m->n_seen[o] = seen;
    if (m->first_time)
        m->first_time[o] = g->t_first[i];
    if (m->last_time)
        m->last_time[o] = g->t_last[i];
}

/* The candidate layer's map shape into *ny, *nx (*needed the cells):
   KM_ERR_INVALID without the layer (or out NULL), KM_ERR_CAPACITY when
   capacity is short. */
static km_status map_cells(km_ctx *ctx, const km_bodygrid *g, const void *out, size_t capacity,
                           size_t *needed, int32_t *ny, int32_t *nx)
{
    if (g == NULL || out == NULL || !(g->layers & KM_GRID_CANDIDATES))
        return km_fail(ctx, KM_ERR_INVALID, "candidates: NULL argument or no candidate layer");
    km_bodygrid_shape(g, ny, nx, NULL, NULL, NULL);
    size_t cells = (size_t)*ny * (size_t)*nx;
    if (needed)
        *needed = cells;
    if (capacity < cells)
        return km_fail(ctx, KM_ERR_CAPACITY, "candidates: %zu cells needed, capacity %zu", cells,
                       capacity);
    return KM_OK;
}

km_status km_bodygrid_candidate_maps(km_ctx *ctx, const km_bodygrid *g, const km_candidate_maps *m,
                                     size_t capacity, size_t *needed)
{
    if (g != NULL && m != NULL && m->pressure != NULL && !(g->layers & KM_GRID_BODYMAP) &&
        (g->layers & KM_GRID_CANDIDATES))
        return km_fail(ctx, KM_ERR_INVALID, "candidates: contact pressure without a body map layer");
    int32_t ny, nx;
    km_status st = map_cells(ctx, g, m, capacity, needed, &ny, &nx);
    if (st != KM_OK)
        return st;
    size_t cells = (size_t)ny * (size_t)nx;
    float *gain = NULL;
    int32_t n_flat = 0;
    /* Only the contact pressure asked for: no pass to close, no flat field. */
    int passes = m->excess || m->n_covering || m->spread || m->n_seen || m->first_time ||
                 m->last_time || m->excess_two_rows;
    if (passes && g->mode == KM_MODE_ROLLER && g->cand.flat_field != 0 && cells > 0) {
        if ((gain = km_alloc(ctx, (size_t)g->rows * (size_t)g->cols * sizeof *gain)) == NULL)
            return KM_ERR_NOMEM;
        st = km_flat_estimate(ctx, g, gain, &n_flat);
        if (st != KM_OK) {
            km_free(ctx, gain);
            return st;
        }
    }
    for (int32_t y = 0; passes && y < ny; y++) {
        size_t src = (size_t)(g->lo + y - g->base) * (size_t)nx;
        for (int32_t x = 0; x < nx; x++) {
            /* A mat taxel found stuck is its cell; what it deposited
             * before the run was long enough to tell is not trusted. */
            int bad = g->mode == KM_MODE_MAT && g->ex.stuck[km_cand_at(g, (int32_t)(g->lo + y), x)];
            cell_maps(g, src + (size_t)x, x, (size_t)y * (size_t)nx + (size_t)x, bad,
                      n_flat > 0 ? gain : NULL, m);
        }
    }
    km_free(ctx, gain);
    if (m->pressure != NULL)
        km_body_layer_pressure(g, m->pressure);
    return KM_OK;
}

km_status km_bodygrid_seen_at(km_ctx *ctx, const km_bodygrid *g, double threshold,
                              int32_t *n_seen, size_t capacity, size_t *needed, double *used)
{
    int32_t ny, nx;
    km_status st = map_cells(ctx, g, used == NULL ? NULL : n_seen, capacity, needed, &ny, &nx);
    if (st != KM_OK)
        return st;
    const km_candidate_params *p = &g->cand;
    int k = -1; /* -1: seen_threshold itself */
    if (p->seen_threshold > 0.0 && !(threshold >= p->seen_threshold))
        for (k = 0; k + 1 < KM_SEEN_RUNGS && seen_rung(p, k + 1) <= threshold; k++)
            ;
    *used = k < 0 ? p->seen_threshold : seen_rung(p, k);
    for (int32_t y = 0; y < ny; y++) {
        size_t src = (size_t)(g->lo + y - g->base) * (size_t)nx;
        for (int32_t x = 0; x < nx; x++) {
            size_t i = src + (size_t)x;
            int32_t n = k < 0 ? g->seen[i] : g->ladder[i].n[k];
            n_seen[(size_t)y * (size_t)nx + (size_t)x] = n + (g->clast[i] >= 0 && g->cur[i] >= *used);
        }
    }
    return KM_OK;
}

km_status km_bodygrid_flat_field(km_ctx *ctx, const km_bodygrid *g, float *gain, size_t capacity,
                                 int32_t *n_estimated)
{
    if (g == NULL || gain == NULL || n_estimated == NULL || !(g->layers & KM_GRID_CANDIDATES))
        return km_fail(ctx, KM_ERR_INVALID, "flat field: NULL argument or no candidate layer");
    size_t rc = (size_t)g->rows * (size_t)g->cols;
    if (capacity < rc)
        return km_fail(ctx, KM_ERR_CAPACITY, "flat field: %zu taxels, capacity %zu", rc, capacity);
    return km_flat_estimate(ctx, g, gain, n_estimated);
}

km_status km_candidates_create(km_ctx *ctx, int32_t mode, int32_t rows, int32_t cols,
                               double row_pitch_mm, double col_pitch_mm,
                               const km_candidate_params *p, km_candidates **out)
{
    km_status st;
    km_candidates *c = NULL;
    km_candidate_params q;
    km_bodymap_params rule;
    if (out == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "candidates: NULL out");
    *out = NULL;
    if (p != NULL)
        q = *p;
    else
        km_candidate_params_default(&q);
    /* The grid's contact rule from the candidates' own fields. */
    km_bodymap_params_default(&rule);
    rule.contact_half_rows = q.contact_half_rows;
    rule.contact_threshold = q.contact_threshold;
    rule.pass_gap_frames = q.pass_gap_frames;
    if ((c = km_calloc(ctx, 1, sizeof *c)) == NULL)
        return KM_ERR_NOMEM;
    st = km_bodygrid_create(ctx, mode, rows, cols, row_pitch_mm, col_pitch_mm, &rule, &q,
                            KM_GRID_CANDIDATES, &c->g);
    if (st != KM_OK) {
        km_free(ctx, c);
        return st;
    }
    *out = c;
    return KM_OK;
}

void km_candidates_free(km_candidates *c)
{
    if (c == NULL)
        return;
    km_alloc_ref a = c->g->alloc;
    km_bodygrid_free(c->g);
    km_ref_free(&a, c);
}

km_status km_candidates_add(km_ctx *ctx, km_candidates *c, const km_frame *frame,
                            const km_mask *mask, const km_odometry_sample *odo, double time_s)
{
    if (c == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "candidates: NULL argument");
    return km_bodygrid_add(ctx, c->g, frame, mask, odo, time_s);
}

void km_candidates_shape(const km_candidates *c, int32_t *ny, int32_t *nx, double *y0_mm)
{
    km_bodygrid_shape(c != NULL ? c->g : NULL, ny, nx, y0_mm, NULL, NULL);
}

km_status km_candidates_map(km_ctx *ctx, const km_candidates *c, float *excess, size_t capacity,
                            size_t *needed)
{
    if (c == NULL || excess == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "candidates: NULL argument");
    km_candidate_maps m = {0};
    m.excess = excess;
    return km_bodygrid_candidate_maps(ctx, c->g, &m, capacity, needed);
}

const km_bodygrid *km_candidates_grid(const km_candidates *c)
{
    return c != NULL ? c->g : NULL;
}
