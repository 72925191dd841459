/* Roller odometry from the pressure alone (docs/ALGORITHMS.md 7.1).
 *
 * Each row is summarised by the median of its valid taxels, so knots, dead
 * and stuck taxels and the spine valley (a few columns each) do not move
 * the estimate; the median over rows (most rows are off the body) is the
 * floor that noise, drift and hum put under every row.  The contact row is
 * the circular mean of the excess, refined over a window around the first
 * estimate. */
#include <math.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "internal.h"
#include "core/select_small.h"

#if KM_AVX2_TARGET
#include <immintrin.h>
#endif

#define KM_TWO_PI 6.283185307179586476925286766559

struct km_odometry {
    km_alloc_ref alloc;
    int32_t rows, cols;
    double radius;
    km_odometry_params p;
    float *scratch;        /* one row of valid values */
    double *row_stat;      /* per row median */
    double *sorted;        /* copy of row_stat for the floor */
    double *base;          /* per row unloaded level over the floor (BASE_FRAMES) */
    double *cos_r, *sin_r; /* angle of each row: built once, not per frame */
    int have_ref;          /* a contact frame has been seen since the last lift */
    int32_t lost;          /* frames below lift_threshold since the last firm frame */
    int started;           /* any contact frame seen at all */
    double last_row, theta;
    double typical;        /* running contact strength (FIRM_FRAMES average), 0 = none yet */
};

void km_odometry_params_default(km_odometry_params *p)
{
    if (p == NULL)
        return;
    p->lift_threshold = 5.0;
    p->window_rows = 4;
}

km_status km_odometry_create(km_ctx *ctx, int32_t rows, int32_t cols, double roller_radius_mm,
                             const km_odometry_params *p, km_odometry **out)
{
    km_status st = KM_OK;
    km_odometry *o = NULL;
    if (out == NULL) {
        st = km_fail(ctx, KM_ERR_INVALID, "odometry: NULL out");
        goto done;
    }
    *out = NULL;
    st = km_check_shape(ctx, rows, cols, "odometry grid");
    if (st != KM_OK)
        goto done;
    if (rows < 3 || !(roller_radius_mm > 0.0) || !isfinite(roller_radius_mm)) {
        st = km_fail(ctx, KM_ERR_INVALID, "odometry: needs rows >= 3 and a roller radius > 0 (got %d, %g)",
                     (int)rows, roller_radius_mm);
        goto done;
    }
    o = km_calloc(ctx, 1, sizeof *o);
    if (o == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    o->alloc = km_ctx_alloc_ref(ctx);
    o->rows = rows;
    o->cols = cols;
    o->radius = roller_radius_mm;
    if (p)
        o->p = *p;
    else
        km_odometry_params_default(&o->p);
    if (o->p.window_rows < 0 || !(o->p.lift_threshold >= 0.0)) {
        st = km_fail(ctx, KM_ERR_INVALID, "odometry: window_rows must be >= 0 and lift_threshold >= 0");
        goto done;
    }
    o->scratch = km_alloc(ctx, (size_t)cols * sizeof(float));
    o->row_stat = km_alloc(ctx, (size_t)rows * sizeof(double));
    o->sorted = km_alloc(ctx, (size_t)rows * sizeof(double));
    o->cos_r = km_alloc(ctx, (size_t)rows * sizeof(double));
    o->sin_r = km_alloc(ctx, (size_t)rows * sizeof(double));
    o->base = km_calloc(ctx, (size_t)rows, sizeof(double));
    if (!o->scratch || !o->row_stat || !o->sorted || !o->cos_r || !o->sin_r || !o->base) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    for (int32_t r = 0; r < rows; r++) {
        double a = KM_TWO_PI * r / rows;
        o->cos_r[r] = cos(a);
        o->sin_r[r] = sin(a);
    }
    *out = o;
    o = NULL;
done:
    km_odometry_free(o);
    return st;
}

void km_odometry_free(km_odometry *o)
{
    if (o == NULL)
        return;
    km_alloc_ref a = o->alloc;
    km_ref_free(&a, o->scratch);
    km_ref_free(&a, o->row_stat);
    km_ref_free(&a, o->sorted);
    km_ref_free(&a, o->cos_r);
    km_ref_free(&a, o->sin_r);
    km_ref_free(&a, o->base);
    km_ref_free(&a, o);
}

void km_odometry_reset(km_odometry *o)
{
    if (o == NULL)
        return;
    o->have_ref = 0;
    o->lost = 0;
    o->started = 0;
    o->last_row = 0.0;
    o->theta = 0.0;
    o->typical = 0.0;
    memset(o->base, 0, (size_t)o->rows * sizeof *o->base);
}

/* Firm contact (docs/ALGORITHMS.md 7.1 step 3): a frame locates the
   contact only while the roller presses the tissue about as hard as it has
   been pressing: its strength at least FIRM_FRACTION of the running
   contact strength, an average over about FIRM_FRAMES contact frames.  A
   frame in between (the load leaving or coming back through the sensor's
   lag, a frame in which most of the band's pressure is missing) has a few
   kPa left over noise and quantisation, and its contact row was measured
   up to a row pitch off; adding that to the travel moved every later
   position.  Half: the lean of one user varies by 0.75-1.25 per stroke,
   and a pause pressing a tender spot at up to 1.9 times the lean is
   followed within about FIRM_FRAMES frames. */
#define FIRM_FRACTION 0.5
#define FIRM_FRAMES 32.0

/* A gap between rows (docs/ALGORITHMS.md 7.1 step 5): a contact band
   narrower than the row pitch (a coarse roller: 26 rows on a 69 mm radius
   are 16.6 mm apart) presses no row while the contact line lies between two
   of them, so the frames there fall under lift_threshold although the
   roller never left the body.  Dropping the reference there lost the step
   to the next row at every crossing: a 213 mm stroke came out as 100 mm.
   Up to GAP_FRAMES frames under the threshold keep the reference, as light
   frames do, and the rotation counts at the next firm frame; a longer run is
   a lift.  Ten frames (0.1 s at 100 Hz): a crossing at 15% of a slow
   speed took at most 6 frames on the sessions measured, and a user lifting
   a roller off the body and setting it down takes 0.2 s or more (the
   shortest lift of all three simulators); in the air the roller may turn,
   and that turn must not count. */
#define GAP_FRAMES 10

/* Each row's unloaded level (docs/ALGORITHMS.md 7.1 step 2): the sensor's
   offsets drift, taxel by taxel (1-3 kPa a minute on knotmap's models), so
   after some minutes the median of a row the body does not touch stands
   several kPa over the median row, over lift_threshold with the roller in
   the air: a lift read as contact on that row, the contact jumped there and
   back, a circumference at a time (model 1 seed 1 at 889 s, every later
   position 315 mm off).  Each row's level over the floor is followed by a
   running mean over about BASE_FRAMES frames of the frames in which it is
   under lift_threshold (the band's passes never move it), each step up
   clipped to BASE_RISE * lift_threshold: a drift up to 0.2 kPa/s in a row's
   median (at lift_threshold 5) is followed before it reaches the
   threshold, the edges of the band barely lift it, and a fall is followed
   at the running mean's full rate. */
#define BASE_FRAMES 256.0
#define BASE_RISE 0.1

/* The floor of up to this many rows by rank counting (select_small.h). */
#define FLOOR_RANK_MAX 64

static double wrap_rows(double d, double R)
{
    d = fmod(d, R);
    if (d < -R / 2.0)
        d += R;
    else if (d >= R / 2.0)
        d -= R;
    return d;
}

/* Circular mean (in rows) of the weights, over rows within `window` of
   `centre` (window < 0: all rows; 0 <= centre < R).  Returns -1 when the
   weights vanish. */
static double circular_mean(const km_odometry *o, const double *w, int32_t R, double centre,
                            int32_t window)
{
    double cs = 0.0, sn = 0.0, tot = 0.0;
    for (int32_t r = 0; r < R; r++) {
        if (window >= 0) {
            /* |r - centre| < R: the wrap needs no fmod (same value). */
            double d = r - centre;
            if (d < -R / 2.0)
                d += R;
            else if (d >= R / 2.0)
                d -= R;
            if (fabs(d) > window + 0.5)
                continue;
        }
        cs += w[r] * o->cos_r[r];
        sn += w[r] * o->sin_r[r];
        tot += w[r];
    }
    if (!(tot > 0.0) || (cs == 0.0 && sn == 0.0))
        return -1.0;
    double c = atan2(sn, cs) / KM_TWO_PI * R;
    return c < 0.0 ? c + R : c >= R ? c - R : c;
}

km_status km_odometry_update(km_ctx *ctx, km_odometry *o, const km_frame *frame, const km_mask *mask,
                             km_odometry_sample *out)
{
    if (o == NULL || frame == NULL || frame->data == NULL || out == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "odometry: NULL argument");
    if (frame->rows != o->rows || frame->cols != o->cols || frame->row_stride < frame->cols)
        return km_fail(ctx, KM_ERR_INVALID, "odometry: frame is %dx%d, expected %dx%d", (int)frame->rows,
                       (int)frame->cols, (int)o->rows, (int)o->cols);
    if (mask != NULL && mask->data != NULL && (mask->rows != o->rows || mask->cols != o->cols))
        return km_fail(ctx, KM_ERR_INVALID, "odometry: mask shape differs from the frame");
    km_odometry_row_medians(o, frame, mask, o->scratch, o->row_stat);
    return km_odometry_advance(ctx, o, o->row_stat, out);
}

/* Row r copied whole into scratch; 1 when every taxel of it is valid (mask
   nonzero, finite by its exponent bits), else 0 (scratch then holds the
   row as it is).  SSE2: four values a time copied and tested, sixteen mask
   bytes a time; one pass over the usual row. */
static int copy_row_if_valid(const float *row, const uint8_t *mr, int32_t cols, float *scratch)
{
    int32_t c = 0;
    uint32_t bad = 0;
#if defined(__SSE2__)
    const __m128i expo = _mm_set1_epi32(0x7f800000);
    __m128i acc = _mm_setzero_si128();
    for (; c + 4 <= cols; c += 4) {
        __m128i u = _mm_loadu_si128((const __m128i *)(row + c));
        _mm_storeu_si128((__m128i *)(scratch + c), u);
        acc = _mm_or_si128(acc, _mm_cmpeq_epi32(_mm_and_si128(u, expo), expo));
    }
    int32_t m = 0;
    if (mr != NULL)
        for (; m + 16 <= cols; m += 16)
            acc = _mm_or_si128(acc, _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(mr + m)),
                                                   _mm_setzero_si128()));
    bad = (uint32_t)_mm_movemask_epi8(acc);
    if (mr != NULL)
        for (; m < cols; m++)
            bad |= mr[m] == 0;
#else
    if (mr != NULL)
        for (int32_t m = 0; m < cols; m++)
            bad |= mr[m] == 0;
#endif
    for (; c < cols; c++) {
        uint32_t u;
        memcpy(&u, &row[c], sizeof u);
        scratch[c] = row[c];
        bad |= (u & 0x7f800000u) == 0x7f800000u;
    }
    return bad == 0;
}

/* Valid values of row r into scratch; returns their count.  The usual row
   (every taxel valid) is one checked copy; otherwise a branch-free
   gather: every value is stored, the count advances only for valid ones
   (noise makes the branch unpredictable). */
static size_t gather_row(const km_odometry *o, const km_frame *frame, const km_mask *mask,
                         int32_t r, float *scratch)
{
    const float *row = frame->data + (ptrdiff_t)r * frame->row_stride;
    const uint8_t *mr = mask != NULL && mask->data != NULL
                            ? mask->data + (ptrdiff_t)r * mask->row_stride : NULL;
    size_t n = 0;
    if (copy_row_if_valid(row, mr, o->cols, scratch))
        return (size_t)o->cols;
    if (mr == NULL) {
        for (int32_t c = 0; c < o->cols; c++) {
            scratch[n] = row[c];
            n += isfinite(row[c]) ? 1u : 0u;
        }
    } else {
        for (int32_t c = 0; c < o->cols; c++) {
            scratch[n] = row[c];
            n += (mr[c] != 0 && isfinite(row[c])) ? 1u : 0u;
        }
    }
    return n;
}

/* How many of v[0..n) are > lim (float compares; SSE2 four at a time). */
static size_t count_above(const float *v, size_t n, float lim)
{
    size_t k = 0, above = 0;
#if defined(__SSE2__)
    const __m128 l4 = _mm_set1_ps(lim);
    __m128i cnt = _mm_setzero_si128();
    for (; k + 4 <= n; k += 4)
        cnt = _mm_sub_epi32(cnt, _mm_castps_si128(_mm_cmpgt_ps(_mm_loadu_ps(v + k), l4)));
    uint32_t c4[4];
    _mm_storeu_si128((__m128i *)c4, cnt);
    above = (size_t)c4[0] + c4[1] + c4[2] + c4[3];
#endif
    for (; k < n; k++)
        above += v[k] > lim;
    return above;
}

/* Rows up to KM_SELECT128_MAX valid taxels by a sorting network (AVX2),
   longer ones by quickselect on the scratch (km_select_any_f). */
static float rank_of(float *v, size_t n, size_t k)
{
    return km_select_any_f(v, n, k);
}

/* Rows r0 .. r0 + 7 (those below R) of the frame sorted at once
   (km_rows_sort32_f), or with median_only only their medians and counts
   (km_rows_median32_f); 0 where the rows are too long or the CPU too old. */
static int sort_rows(const km_odometry *o, const km_frame *frame, const km_mask *mask, int32_t r0,
                     km_rows32 *s8, int median_only)
{
    const uint8_t *md = mask != NULL ? mask->data : NULL;
    const float *d = frame->data + (ptrdiff_t)r0 * frame->row_stride;
    const uint8_t *m0 = md != NULL ? md + (ptrdiff_t)r0 * mask->row_stride : NULL;
    ptrdiff_t ms = md != NULL ? mask->row_stride : 0;
    int rows = o->rows - r0 < 8 ? o->rows - r0 : 8;
    return median_only ? km_rows_median32_f(d, frame->row_stride, m0, ms, rows, o->cols, s8)
                       : km_rows_sort32_f(d, frame->row_stride, m0, ms, rows, o->cols, s8);
}

/* The k-th smallest of row r's n valid values: from the sorted block s8
   (its lane r % 8; rank n / 2 from its med, which both sorts fill) when
   there is one and it can say, else by rank from the row gathered into
   scratch (a zero of a row with a -0.0: the block may hold the other
   zero). */
static float kth_of_row(const km_odometry *o, const km_frame *frame, const km_mask *mask,
                        int32_t r, const km_rows32 *s8, int sorted, float *scratch, size_t n,
                        size_t k)
{
    if (sorted) {
        float x = k == n / 2 ? s8->med[r % 8] : s8->v[k][r % 8];
        /* Both tests made (& not &&): whether a row's median is exactly 0
           changes from row to row, and as a branch of its own it was
           mispredicted 82 000 times on the bench session. */
        if (!((x == 0.0f) & (s8->negzero[r % 8] != 0)))
            return x;
    }
    gather_row(o, frame, mask, r, scratch);
    return rank_of(scratch, n, k);
}

/* For each lane l of a sorted block, how many of its n[l] valid values are
   > lim[l] (count_above's answer): n less the values <= lim, counted over
   the lane's 32 slots at once for all eight lanes (the missing slots hold
   +inf, past the valid ones: they count only when lim is +inf, hence the
   clamp to n).  A binary search per row was a chain of dependent loads. */
#if KM_AVX2_TARGET
__attribute__((target("avx2"))) static void sorted_above8(const km_rows32 *s8, const float *lim,
                                                          size_t *above)
{
    const __m256 l8 = _mm256_loadu_ps(lim);
    __m256i le = _mm256_setzero_si256();
    for (int j = 0; j < 32; j++)
        le = _mm256_sub_epi32(le, _mm256_castps_si256(_mm256_cmp_ps(_mm256_loadu_ps(s8->v[j]), l8,
                                                                    _CMP_LE_OQ)));
    int32_t c[8];
    _mm256_storeu_si256((__m256i *)(void *)c, le);
    for (int l = 0; l < 8; l++)
        above[l] = (size_t)s8->n[l] - (size_t)(c[l] < s8->n[l] ? c[l] : s8->n[l]);
}
#endif

static void sorted_above_all(const km_rows32 *s8, const float *lim, size_t *above)
{
#if KM_AVX2_TARGET
    sorted_above8(s8, lim, above); /* a sorted block exists only with AVX2 */
#else
    for (int l = 0; l < 8; l++) {
        size_t le = 0;
        for (int j = 0; j < 32; j++)
            le += s8->v[j][l] <= lim[l];
        above[l] = (size_t)s8->n[l] - (le < (size_t)s8->n[l] ? le : (size_t)s8->n[l]);
    }
#endif
}

/* Taxels of row r above its median by more than thr and by more than 3
   robust standard deviations of the row (1.4826 MAD): the loaded part of a
   row that a narrow body presses stands out of a row otherwise unloaded
   (MAD near 0); taxels whose offsets drifted apart by tens of kPa over a
   long session (model 1: 1-3 kPa a minute each) do not, and took every row
   for a narrow body in the air, the contact then jumping between rows
   (docs/ALGORITHMS.md 7.1 step 1).  scratch holds the row's n values and
   is overwritten. */
static size_t loaded_part(const km_odometry *o, const km_frame *frame, const km_mask *mask,
                          int32_t r, float *scratch, size_t n, float med, float thr)
{
    for (size_t k = 0; k < n; k++)
        scratch[k] = fabsf(scratch[k] - med);
    float t = 3.0f * 1.4826f * rank_of(scratch, n, n / 2);
    t = t > thr ? t : thr;
    gather_row(o, frame, mask, r, scratch);
    return count_above(scratch, n, med + t);
}

void km_odometry_row_medians(const km_odometry *o, const km_frame *frame, const km_mask *mask,
                             float *scratch, double *row_med)
{
    const int32_t R = o->rows;
    const float thr = (float)o->p.lift_threshold;
    size_t wide = 0;       /* most taxels of one row above that row's median + thr */
    float wide_med = 0.0f, low = INFINITY;
    km_rows32 s8;
    int sorted = 0;
    float meds[8], lims[8];
    size_t aboves[8];
    for (int32_t r = 0; r < R; r++) {
        if (r % 8 == 0 && (sorted = sort_rows(o, frame, mask, r, &s8, 1)) != 0) {
            /* Eight rows sorted at once: their medians, then how many of
               each row's values stand above median + thr, all eight at once
               (the lanes past the last row are empty: n 0). */
            for (int32_t l = 0; l < 8; l++) {
                size_t n = (size_t)s8.n[l];
                meds[l] = n == 0 || r + l >= R
                              ? 0.0f
                              : kth_of_row(o, frame, mask, r + l, &s8, 1, scratch, n, n / 2);
                lims[l] = meds[l] + thr;
            }
            sorted_above_all(&s8, lims, aboves);
        }
        /* The row is gathered only where the sorted block cannot say. */
        size_t n = sorted ? (size_t)s8.n[r % 8] : gather_row(o, frame, mask, r, scratch);
        float med = sorted ? meds[r % 8]
                           : n == 0 ? 0.0f : kth_of_row(o, frame, mask, r, &s8, 0, scratch, n, n / 2);
        size_t above = sorted ? aboves[r % 8] : count_above(scratch, n, med + thr);
        if (above * 4 >= n && n > 0) {
            if (sorted)
                gather_row(o, frame, mask, r, scratch);
            above = loaded_part(o, frame, mask, r, scratch, n, med, thr);
        }
        if (above > wide) {
            wide = above;
            wide_med = med;
        }
        low = med < low ? med : low;
        row_med[r] = med;
    }
    /* A body narrower than half the roller (a thigh on a long roller): the
       contact row's median is off the body, no higher than the unloaded
       rows'.  When some row has at least a quarter of the columns loaded
       above its median and that median is not itself loaded, each row's
       statistic is the median of its `wide` largest values instead: the
       loaded part of the row.  A quarter: a few stuck or hot taxels, or
       the knots of a row, never reach it; a thigh on a roller at most four
       times its width does. */
    if (wide * 4 < (size_t)o->cols || wide_med - low >= thr)
        return;
    for (int32_t r = 0; r < R; r++) {
        if (r % 8 == 0)
            sorted = sort_rows(o, frame, mask, r, &s8, 0);
        size_t n = sorted ? (size_t)s8.n[r % 8] : gather_row(o, frame, mask, r, scratch);
        size_t k = n > wide / 2 ? n - 1 - wide / 2 : 0;
        row_med[r] = n == 0 ? 0.0 : (double)kth_of_row(o, frame, mask, r, &s8, sorted, scratch, n, k);
    }
}

km_status km_odometry_advance(km_ctx *ctx, km_odometry *o, double *row_med,
                              km_odometry_sample *out)
{
    if (o == NULL || row_med == NULL || out == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "odometry: NULL argument");
    const int32_t R = o->rows;
    /* The floor is the median of the rows less their own levels: taken
       over the raw row medians, it sat on whichever row ranked in the
       middle, and the rows the band loads moved that rank, so the floor
       stepped between contact and lift by as much as the rows' levels lie
       apart (docs/ALGORITHMS.md 7.1 step 2). */
    for (int32_t r = 0; r < R; r++) {
        row_med[r] -= o->base[r];
        o->sorted[r] = row_med[r];
    }
    /* By rank where the rows are few (quickselect mispredicts on them):
       the same value, but for the sign of a zero, which changes only the
       sign of a zero w below, and no use of w keeps it: the weight becomes
       +0, compares see any zero alike, and a zero added to a level that is
       never -0 (it starts at +0, and a sum is -0 only of two -0) leaves it
       as it was. */
    double floor_v = R <= FLOOR_RANK_MAX ? km_select64_d(o->sorted, (size_t)R, (size_t)R / 2)
                                         : km_select_kth_d(o->sorted, (size_t)R, (size_t)R / 2);
    double strength = 0.0, rise = BASE_RISE * o->p.lift_threshold;
    int32_t best = 0;
    for (int32_t r = 0; r < R; r++) {
        double w = row_med[r] - floor_v;
        row_med[r] = w > 0.0 ? w : 0.0;
        if (row_med[r] > strength) {
            strength = row_med[r];
            best = r;
        }
        if (w < o->p.lift_threshold) /* contact does not move it */
            o->base[r] += (w < rise ? w : rise) / BASE_FRAMES;
    }
    memset(out, 0, sizeof *out);
    out->strength = strength;
    double c = -1.0;
    if (strength >= o->p.lift_threshold && strength > 0.0) {
        /* Start the window at the strongest row: the all-row mean is pulled
           toward the middle by leftovers far from the contact. */
        c = circular_mean(o, row_med, R, best, o->p.window_rows > 0 ? o->p.window_rows : -1);
        if (c >= 0.0 && o->p.window_rows > 0)
            c = circular_mean(o, row_med, R, c, o->p.window_rows);
    }
    /* Firmness against the contact strength before this frame; every
       contact frame (firm or not) moves the average, so a lighter lean
       becomes the new typical. */
    int firm = c >= 0.0 && strength >= FIRM_FRACTION * o->typical;
    if (c >= 0.0)
        o->typical = o->typical > 0.0 ? o->typical + (strength - o->typical) / FIRM_FRAMES
                                      : strength;
    if (c < 0.0) {
        out->flags |= KM_ODO_LIFTED;
        /* rotation in the air does not move along the body; a short gap
           between rows is no lift (GAP_FRAMES) */
        if (o->lost > GAP_FRAMES || ++o->lost > GAP_FRAMES)
            o->have_ref = 0;
    } else if (!firm) {
        /* Light contact: no estimate, no travel; the reference row is kept,
           so the travel until the next firm frame counts then. */
        out->flags |= KM_ODO_LIFTED | KM_ODO_LIGHT;
    } else if (!o->have_ref) {
        o->lost = 0;
        out->flags |= KM_ODO_START;
        o->have_ref = 1;
        o->started = 1;
        o->last_row = c;
    } else {
        o->lost = 0;
        o->theta += KM_TWO_PI * wrap_rows(c - o->last_row, R) / R;
        o->last_row = c;
    }
    out->contact_row = o->last_row;
    out->theta_rad = o->theta;
    out->y_mm = o->radius * o->theta;
    return KM_OK;
}

/* Zero drift (docs/ALGORITHMS.md 7.1 step 6): the rows' unloaded levels
   spread as the taxels' offsets drift apart, and so do each row's own
   taxels, which no row level follows: readings clamp at 0 or saturate, a
   row's median grows noisier in the air and the body map takes the
   offsets in.  Rows whose zeros stand ZERO_DRIFT_SHARE of the contact
   strength apart: model 1 roller moderate seed 1 at 10 kPa a minute per
   taxel kept its body map and every knot at 0.96 of it (6 min) and lost
   them at 2.1 (12 min: 35 rows, F1 0.71; bench/HISTORY.md 'Session 18 (long)'). */
#define ZERO_DRIFT_SHARE 1.0

void km_odometry_zero_drift(const km_odometry *o, double *spread, double *limit)
{
    double lo = 0.0, hi = 0.0;
    for (int32_t r = 0; o != NULL && r < o->rows; r++) {
        lo = r == 0 || o->base[r] < lo ? o->base[r] : lo;
        hi = r == 0 || o->base[r] > hi ? o->base[r] : hi;
    }
    if (spread != NULL)
        *spread = hi - lo;
    if (limit != NULL)
        *limit = o != NULL ? ZERO_DRIFT_SHARE * o->typical : 0.0;
}
