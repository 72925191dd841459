/* The body grid (docs/ALGORITHMS.md 7.2): the cells in body coordinates on
 * which the body map and the candidate map accumulate.  Roller: cell rows
 * along the rolling direction, anchored on the taxel footprints of the
 * first contact frame so that with exact odometry each taxel row lands on
 * a cell centre; the grid grows with the travelled range.  Mat: the grid
 * itself.  One geometry, one storage, one deposit rule (which frame rows
 * land on which cell rows) and one pass rule (bodygrid_internal.h) for
 * every layer, so the two maps coincide cell for cell by construction. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "bodygrid_internal.h"
#include "core/select_small.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define GROW_ROWS 64

/* The roller's contact test (docs/ALGORITHMS.md 7.2): a taxel of a
 * deposited row presses tissue when the median of the usable values
 * within +-CONTACT_HALF_COLS columns reaches CONTACT_FRACTION of the
 * frame's contact strength (the odometry's: the loaded part of the contact
 * row over the floor).  A median of five, so a hot, stuck or leaking taxel
 * beside the body (or two) does not make contact, and the edge of the body
 * falls where most of the window is on it.  A fifth: the lowest pressures
 * on a body, a spine valley at 0.3-0.55 of the contact or a thigh's
 * flank, stay in contact while the band's middle is over them; taxels off
 * the body read noise, offsets and leakage of a few kPa, under a fifth of
 * the 30-90 kPa a roller presses. */
#define CONTACT_FRACTION 0.2
#define CONTACT_HALF_COLS 2

/* Body y of body row 0: the first frame's contact line, snapped so that
 * the nearest sensor row falls on a cell centre. */
static double roller_y_origin(const km_odometry_sample *odo, double pitch)
{
    const double c = odo->contact_row;
    return odo->y_mm + (floor(c + 0.5) - c) * pitch;
}

/* The deposit rule of a roller: for the sensor row d rows from the contact
 * row (d may be negative), the sensor row index *r (wrapped around the
 * roller), the body row *iy of the grid whose row 0 lies at y_origin and
 * the row's offset *frac from that cell's centre, in row pitches. */
static void roller_row(const km_odometry_sample *odo, int64_t d, int32_t rows, double pitch,
                       double y_origin, int32_t *r, int64_t *iy, float *frac)
{
    const double c = odo->contact_row;
    const int64_t ru = (int64_t)floor(c + 0.5) + d;
    const double y = odo->y_mm + ((double)ru - c) * pitch;
    *r = (int32_t)(((ru % rows) + rows) % rows);
    *iy = (int64_t)floor((y - y_origin) / pitch + 0.5);
    *frac = (float)((y - y_origin) / pitch - (double)*iy);
}

/* How a new cell starts: the type is the field's (float, int64, double). */
enum { FILL_ZERO, FILL_NEG_INF, FILL_NEVER, FILL_NAN };

/* Every per-cell array of each layer, with its start value. */
#define BODY_CELLS(X)                                                                         \
    X(max, FILL_NEG_INF) X(sum, FILL_ZERO) X(n, FILL_ZERO) X(cov, FILL_ZERO) X(last, FILL_NEVER) \
    X(xmax, FILL_NEG_INF)
#define CAND_CELLS(X)                                                                         \
    X(ccov, FILL_ZERO) X(seen, FILL_ZERO) X(csum, FILL_ZERO) X(wmean, FILL_ZERO)             \
    X(wm2, FILL_ZERO) X(cur, FILL_ZERO) X(clast, FILL_NEVER) X(t_first, FILL_NAN)            \
    X(t_last, FILL_NAN) X(crow, FILL_ZERO) X(rowa, FILL_ZERO) X(an, FILL_ZERO)               \
    X(bn, FILL_ZERO) X(asum, FILL_ZERO) X(bsum, FILL_ZERO) X(flat, FILL_ZERO)                \
    X(cur_b, FILL_ZERO) X(cur_off, FILL_ZERO) X(cur_turn, FILL_ZERO) X(cur_t, FILL_ZERO)        \
    X(trend, FILL_ZERO) X(ladder, FILL_ZERO)

static void fill(void *p, int how, size_t n)
{
    if (how == FILL_NEG_INF) {
        float *f = p;
        for (size_t i = 0; i < n; i++)
            f[i] = -INFINITY;
    } else if (how == FILL_NEVER) {
        int64_t *v = p;
        for (size_t i = 0; i < n; i++)
            v[i] = -1;
    } else if (how == FILL_NAN) {
        double *d = p;
        for (size_t i = 0; i < n; i++)
            d[i] = NAN;
    }
}

/* One cell array for storage rows [nbase, nbase + ncap): the old contents
 * at their rows, new cells at their start value.  NULL: out of memory. */
static void *regrow(km_ctx *ctx, const km_bodygrid *g, const void *old, size_t size, int how,
                    int64_t nbase, int64_t ncap)
{
    size_t cells = (size_t)ncap * (size_t)g->cols;
    void *p = how == FILL_ZERO ? km_calloc(ctx, cells, size) : km_alloc(ctx, cells * size);
    if (p == NULL)
        return NULL;
    fill(p, how, cells);
    if (g->cap > 0) {
        size_t off = (size_t)(g->base - nbase) * (size_t)g->cols;
        memcpy((char *)p + off * size, old, (size_t)g->cap * (size_t)g->cols * size);
    }
    return p;
}

#define FREE_CELLS(f, how) km_ref_free(a, g->f), g->f = NULL;
static void free_cells(const km_alloc_ref *a, km_bodygrid *g)
{
    BODY_CELLS(FREE_CELLS)
    CAND_CELLS(FREE_CELLS)
}

/* Storage for cell rows [nbase, nbase + ncap) of every layer, keeping the
   contents. */
#define REGROW(f, how)                                                                        \
    t.f = regrow(ctx, g, g->f, sizeof *g->f, how, nbase, ncap);                               \
    ok &= t.f != NULL;
static km_status resize(km_ctx *ctx, km_bodygrid *g, int64_t nbase, int64_t ncap)
{
    km_status st = KM_OK;
    km_bodygrid t = *g;
    int ok = 1;
    if (g->layers & KM_GRID_BODYMAP) {
        BODY_CELLS(REGROW)
    }
    if (g->layers & KM_GRID_CANDIDATES) {
        CAND_CELLS(REGROW)
    }
    if (!ok) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    free_cells(&g->alloc, g);
    t.base = nbase;
    t.cap = ncap;
    *g = t;
    memset(&t, 0, sizeof t);
done:
    free_cells(&g->alloc, &t);
    return st;
}

static km_status check_geometry(km_ctx *ctx, int32_t mode, int32_t rows, int32_t cols, double rp,
                                double cp, const km_bodymap_params *rule)
{
    km_status st = km_check_shape(ctx, rows, cols, "body grid");
    if (st != KM_OK)
        return st;
    if ((mode != KM_MODE_MAT && mode != KM_MODE_ROLLER) || !(rp > 0.0) || !(cp > 0.0) ||
        !isfinite(rp) || !isfinite(cp))
        return km_fail(ctx, KM_ERR_INVALID, "body grid: bad mode or pitch");
    if (rule->contact_half_rows < 0 || rule->pass_gap_frames < 0 || !(rule->max_extent_mm > 0.0) ||
        isnan(rule->contact_threshold))
        return km_fail(ctx, KM_ERR_INVALID, "body grid: contact rule out of range");
    return KM_OK;
}

km_status km_bodygrid_create(km_ctx *ctx, int32_t mode, int32_t rows, int32_t cols,
                             double row_pitch_mm, double col_pitch_mm,
                             const km_bodymap_params *rule, const km_candidate_params *cand,
                             unsigned layers, km_bodygrid **out)
{
    km_status st = KM_OK;
    km_bodygrid *g = NULL;
    km_bodymap_params r;
    if (out == NULL || (layers & ~(unsigned)(KM_GRID_BODYMAP | KM_GRID_CANDIDATES)) != 0 ||
        layers == 0)
        return km_fail(ctx, KM_ERR_INVALID, "body grid: NULL out or no layer");
    *out = NULL;
    if (rule != NULL)
        r = *rule;
    else
        km_bodymap_params_default(&r);
    if ((st = check_geometry(ctx, mode, rows, cols, row_pitch_mm, col_pitch_mm, &r)) != KM_OK)
        return st;
    if ((g = km_calloc(ctx, 1, sizeof *g)) == NULL)
        return KM_ERR_NOMEM;
    g->alloc = km_ctx_alloc_ref(ctx);
    g->mode = mode;
    g->rows = rows;
    g->cols = cols;
    g->row_pitch = row_pitch_mm;
    g->col_pitch = col_pitch_mm;
    g->layers = layers;
    g->rule = r;
    g->lo = 0;
    g->hi = -1;
    if ((layers & KM_GRID_CANDIDATES) && (st = km_cand_layer_create(ctx, g, cand)) != KM_OK)
        goto done;
    if (mode == KM_MODE_ROLLER && (g->on = km_alloc(ctx, (size_t)cols)) == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    if (mode == KM_MODE_MAT) {
        if ((st = resize(ctx, g, 0, rows)) != KM_OK)
            goto done;
        /* A mat's grid is its taxels, frames or not: an empty session gives
           rows x cols of NaN, coverage 0. */
        g->have_origin = 1;
        g->y_origin = 0.0;
        g->hi = rows - 1;
    }
    *out = g;
    g = NULL;
done:
    km_bodygrid_free(g);
    return st;
}

void km_bodygrid_free(km_bodygrid *g)
{
    if (g == NULL)
        return;
    km_alloc_ref a = g->alloc;
    free_cells(&a, g);
    km_cand_layer_free(g);
    km_ref_free(&a, g->on);
    km_ref_free(&a, g->bmask);
    km_ref_free(&a, g->brow);
    km_ref_free(&a, g->bout);
    km_ref_free(&a, g);
}

/* Make sure cell row iy has storage; grows by whole blocks. */
static km_status ensure_row(km_ctx *ctx, km_bodygrid *g, int64_t iy)
{
    if (g->cap > 0 && iy >= g->base && iy < g->base + g->cap)
        return KM_OK;
    int64_t nlo = g->cap > 0 ? (iy < g->base ? iy - GROW_ROWS : g->base) : iy - GROW_ROWS / 2;
    int64_t nhi = g->cap > 0 ? (iy >= g->base + g->cap ? iy + GROW_ROWS : g->base + g->cap - 1)
                             : iy + GROW_ROWS / 2;
    int64_t ncap = nhi - nlo + 1;
    int64_t extent = g->hi < g->lo ? 1 : iy < g->lo ? g->hi - iy + 1 : iy - g->lo + 1;
    if ((double)extent * g->row_pitch > g->rule.max_extent_mm || ncap > KM_MAX_DIM ||
        ncap * g->cols > KM_MAX_TAXELS)
        return km_fail(ctx, KM_ERR_LIMIT,
                       "body map: the travelled range exceeds %.0f mm (or the map size cap)",
                       g->rule.max_extent_mm);
    return resize(ctx, g, nlo, ncap);
}

/* Roller: which taxels of frame row r press tissue (on[x]; see
 * CONTACT_FRACTION).  The median of the window reaches thr exactly when
 * enough of its values do: with n usable values of which c reach thr, an
 * odd n's middle value reaches it when c >= (n + 1) / 2; an even n's two
 * middle values both do when c >= n / 2 + 1 and both do not when
 * c < n / 2 (the mean of two floats, rounded, lies between them).  Only
 * c = n / 2 (one middle value on each side) needs the mean itself, as
 * km_median_small_f computes it: counting instead of a median per taxel
 * gives the same bits at a fraction of the cost. */
enum { CONTACT_STEP = 64, CONTACT_PAD = CONTACT_STEP + 2 * CONTACT_HALF_COLS };

/* The smallest float f with (double)f >= thr (+inf when none is finite;
   NaN for a NaN thr): v >= f as floats is (double)v >= thr for every
   finite v, which lets the flags compare four floats at once. */
static float float_at_least(double thr)
{
    float f = (float)thr;
    return (double)f < thr ? nextafterf(f, INFINITY) : f;
}

/* Columns [k0, k1) of the row: u[k - k0] = usable (on the sensor, finite),
   a[k - k0] = usable and reaching thr (tf = float_at_least(thr)); sixteen
   columns at a time by SSE2, the rest one by one. */
static void contact_flags(uint8_t *restrict u, uint8_t *restrict a, const float *row,
                          const uint8_t *mrow, int32_t k0, int32_t k1, float tf)
{
    int32_t k = k0;
#if defined(__SSE2__)
    const __m128 absmask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
    const __m128 big = _mm_set1_ps(FLT_MAX), t4 = _mm_set1_ps(tf);
    const __m128i one = _mm_set1_epi8(1), zero = _mm_setzero_si128();
    for (; k + 16 <= k1; k += 16) {
        __m128i okw[2], atw[2];
        for (int h = 0; h < 2; h++) {
            __m128 v0 = _mm_loadu_ps(row + k + 8 * h), v1 = _mm_loadu_ps(row + k + 8 * h + 4);
            __m128 f0 = _mm_cmple_ps(_mm_and_ps(v0, absmask), big);
            __m128 f1 = _mm_cmple_ps(_mm_and_ps(v1, absmask), big);
            okw[h] = _mm_packs_epi32(_mm_castps_si128(f0), _mm_castps_si128(f1));
            atw[h] = _mm_packs_epi32(_mm_castps_si128(_mm_cmpge_ps(v0, t4)),
                                     _mm_castps_si128(_mm_cmpge_ps(v1, t4)));
        }
        __m128i ok = _mm_and_si128(_mm_packs_epi16(okw[0], okw[1]), one);
        if (mrow != NULL) {
            __m128i mb = _mm_loadu_si128((const __m128i *)(const void *)(mrow + k));
            ok = _mm_andnot_si128(_mm_cmpeq_epi8(mb, zero), ok);
        }
        __m128i at = _mm_and_si128(_mm_packs_epi16(atw[0], atw[1]), ok);
        _mm_storeu_si128((__m128i *)(void *)(u + (k - k0)), ok);
        _mm_storeu_si128((__m128i *)(void *)(a + (k - k0)), at);
    }
#endif
    for (; k < k1; k++) {
        float v = row[k];
        uint8_t ok = (uint8_t)((mrow == NULL || mrow[k] != 0) & (fabsf(v) <= FLT_MAX));
        u[k - k0] = ok;
        a[k - k0] = (uint8_t)(ok & (v >= tf));
    }
}

/* The tie c = n / 2 at column x: the mean of the two middle usable values
   of its window, as km_median_small_f gives it. */
static int contact_tie(const float *row, const uint8_t *u, int32_t x, int32_t x0, int32_t cols,
                       double thr)
{
    float win[2 * CONTACT_HALF_COLS + 1];
    int w = 0;
    int32_t a = x - CONTACT_HALF_COLS < 0 ? 0 : x - CONTACT_HALF_COLS;
    int32_t b = x + CONTACT_HALF_COLS >= cols ? cols - 1 : x + CONTACT_HALF_COLS;
    for (int32_t k = a; k <= b; k++) {
        win[w] = row[k];
        w += u[k - x0 + CONTACT_HALF_COLS];
    }
    return km_median_small_f(win, w) >= thr;
}

/* Each of w windows of 2H + 1 flags (u usable, a reaching thr; the window
   of column i is u[i .. i + 2H]): on[i] = its middle taxel is usable and
   more than half its usable values reach thr; tie[i] = usable and exactly
   half do (contact_tie decides).  Sixteen columns at a time by SSE2 (the
   counts fit a byte); returns whether any tie was found. */
static int contact_windows(uint8_t *on, uint8_t *tie, const uint8_t *u, const uint8_t *a,
                           int32_t w)
{
    int32_t i = 0;
    int any = 0;
#if defined(__SSE2__)
    const __m128i zero = _mm_setzero_si128(), one = _mm_set1_epi8(1);
    for (; i + 16 <= w; i += 16) {
        __m128i n = zero, c = zero;
        for (int j = 0; j <= 2 * CONTACT_HALF_COLS; j++) {
            n = _mm_add_epi8(n, _mm_loadu_si128((const __m128i *)(const void *)(u + i + j)));
            c = _mm_add_epi8(c, _mm_loadu_si128((const __m128i *)(const void *)(a + i + j)));
        }
        /* The middle flags as 0 / 0xff, so that a tie's lane has its top bit. */
        __m128i mid = _mm_cmpgt_epi8(
            _mm_loadu_si128((const __m128i *)(const void *)(u + i + CONTACT_HALF_COLS)), zero);
        __m128i c2 = _mm_add_epi8(c, c);
        __m128i in = _mm_and_si128(_mm_cmpgt_epi8(c2, n), mid);
        __m128i t = _mm_and_si128(_mm_and_si128(_mm_cmpeq_epi8(c2, n), _mm_cmpgt_epi8(n, zero)),
                                  mid);
        _mm_storeu_si128((__m128i *)(void *)(on + i), _mm_and_si128(in, one));
        _mm_storeu_si128((__m128i *)(void *)(tie + i), t);
        any |= _mm_movemask_epi8(t);
    }
#endif
    for (; i < w; i++) {
        int n = 0, c = 0;
        for (int j = 0; j <= 2 * CONTACT_HALF_COLS; j++) {
            n += u[i + j];
            c += a[i + j];
        }
        tie[i] = (uint8_t)(2 * c == n && n > 0 && u[i + CONTACT_HALF_COLS]);
        any |= tie[i];
        on[i] = (uint8_t)(u[i + CONTACT_HALF_COLS] & (2 * c > n));
    }
    return any != 0;
}

void km_grid_roller_contact(uint8_t *on, const float *row, const km_mask *m, int32_t r,
                            int32_t cols, double thr)
{
    const uint8_t *mrow = m != NULL && m->data != NULL ? m->data + (ptrdiff_t)r * m->row_stride
                                                        : NULL;
    /* By blocks of CONTACT_STEP columns [x0, x0 + w): the flags of columns
       x0 - H .. x0 + w + H (zero off the row) at u[0..w + 2H), then each
       window's counts as a sum of 2H + 1 shifted rows of flags. */
    uint8_t u[CONTACT_PAD], a[CONTACT_PAD], tie[CONTACT_STEP];
    const float tf = float_at_least(thr);
    for (int32_t x0 = 0; x0 < cols; x0 += CONTACT_STEP) {
        int32_t w = cols - x0 < CONTACT_STEP ? cols - x0 : CONTACT_STEP;
        int32_t k0 = x0 - CONTACT_HALF_COLS < 0 ? 0 : x0 - CONTACT_HALF_COLS;
        int32_t k1 = x0 + w + CONTACT_HALF_COLS > cols ? cols : x0 + w + CONTACT_HALF_COLS;
        /* Only the H flags on either side can be off the row. */
        for (int j = 0; j < CONTACT_HALF_COLS; j++)
            u[j] = a[j] = u[w + CONTACT_HALF_COLS + j] = a[w + CONTACT_HALF_COLS + j] = 0;
        int32_t lead = k0 - (x0 - CONTACT_HALF_COLS);
        contact_flags(u + lead, a + lead, row, mrow, k0, k1, tf);
        if (contact_windows(on + x0, tie, u, a, w))
            for (int32_t i = 0; i < w; i++)
                if (tie[i])
                    on[x0 + i] = (uint8_t)contact_tie(row, u, x0 + i, x0, cols, thr);
    }
}

/* Roller: the rows within +-contact_half_rows of the contact row, each on
 * its cell row, into every layer; in each, the taxels in contact. */
static km_status add_roller(km_ctx *ctx, km_bodygrid *g, const km_frame *f, const km_mask *m,
                            const km_odometry_sample *odo, double t)
{
    if (!g->have_origin) {
        g->have_origin = 1;
        g->y_origin = roller_y_origin(odo, g->row_pitch);
    }
    /* NaN or no strength (a hand-made sample): any non-negative background. */
    const double thr = odo->strength > 0.0 ? CONTACT_FRACTION * odo->strength : 0.0;
    for (int64_t d = -g->rule.contact_half_rows; d <= g->rule.contact_half_rows; d++) {
        int32_t r;
        int64_t iy;
        float frac;
        roller_row(odo, d, g->rows, g->row_pitch, g->y_origin, &r, &iy, &frac);
        km_status st = ensure_row(ctx, g, iy);
        if (st != KM_OK)
            return st;
        if (iy < g->lo || g->hi < g->lo)
            g->lo = iy;
        if (iy > g->hi)
            g->hi = iy;
        const float *row = f->data + (ptrdiff_t)r * f->row_stride;
        size_t off = (size_t)(iy - g->base) * (size_t)g->cols;
        km_grid_roller_contact(g->on, row, m, r, g->cols, thr);
        if (g->layers & KM_GRID_BODYMAP)
            km_body_layer_row(g, row, km_body_layer_leave_out(g, row, g->on, r, off), off);
        if (g->layers & KM_GRID_CANDIDATES)
            km_cand_layer_row(g, row, m, r, g->on, off, frac, t);
    }
    return KM_OK;
}

/* Roller: did it turn in the air?  A lift (not a light frame: the
 * odometry keeps its reference row through those) after which the contact
 * row has moved by half a row or more puts other sensor rows on the body
 * cells: the session's flat field (flatfield.c) trusts only the cells whose
 * sensor row changed across such a turn.  Without one, rolling without
 * slipping keeps each cell under one row, and a row change there is the
 * odometry's error (the other row pressed the body elsewhere). */
static void count_turns(km_bodygrid *g, const km_odometry_sample *odo)
{
    if (odo->flags & KM_ODO_LIFTED) {
        g->lifted |= !(odo->flags & KM_ODO_LIGHT);
        return;
    }
    if (g->lifted && g->have_origin) {
        double d = fmod(odo->contact_row - g->last_row, (double)g->rows);
        d = d < -0.5 * g->rows ? d + g->rows : d >= 0.5 * g->rows ? d - g->rows : d;
        g->turns += fabs(d) >= 0.5;
    }
    g->lifted = 0;
    g->last_row = odo->contact_row;
}

km_status km_bodygrid_add(km_ctx *ctx, km_bodygrid *g, const km_frame *frame, const km_mask *mask,
                          const km_odometry_sample *odo, double time_s)
{
    km_status st = KM_OK;
    if (g == NULL || frame == NULL || frame->data == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "body grid: NULL argument");
    if (frame->rows != g->rows || frame->cols != g->cols || frame->row_stride < frame->cols)
        return km_fail(ctx, KM_ERR_INVALID, "body grid: frame is %dx%d, expected %dx%d",
                       (int)frame->rows, (int)frame->cols, (int)g->rows, (int)g->cols);
    if (g->mode == KM_MODE_ROLLER && odo == NULL)
        return km_fail(ctx, KM_ERR_INVALID,
                       "body grid: a roller needs the frame's odometry sample");
    if (g->layers & KM_GRID_CANDIDATES)
        km_cand_layer_stuck(g, frame);
    if (g->mode == KM_MODE_ROLLER) {
        count_turns(g, odo);
        if (!(odo->flags & KM_ODO_LIFTED))
            st = add_roller(ctx, g, frame, mask, odo, time_s);
    } else {
        if (g->layers & KM_GRID_BODYMAP)
            km_body_layer_mat(g, frame, mask);
        if (g->layers & KM_GRID_CANDIDATES)
            km_cand_layer_mat(g, frame, mask, time_s);
    }
    g->frame++;
    return st;
}

int32_t km_bodygrid_mode(const km_bodygrid *g)
{
    return g != NULL ? g->mode : -1;
}

int32_t km_bodygrid_turns(const km_bodygrid *g)
{
    return g != NULL && g->mode == KM_MODE_ROLLER ? g->turns : 0;
}

void km_bodygrid_shape(const km_bodygrid *g, int32_t *ny, int32_t *nx, double *y0_mm,
                       double *y_pitch_mm, double *x_pitch_mm)
{
    int64_t rows = g != NULL && g->hi >= g->lo ? g->hi - g->lo + 1 : 0;
    if (ny)
        *ny = (int32_t)rows;
    if (nx)
        *nx = g != NULL ? g->cols : 0;
    if (y0_mm)
        *y0_mm = g != NULL ? g->y_origin + (double)g->lo * g->row_pitch : 0.0;
    if (y_pitch_mm)
        *y_pitch_mm = g != NULL ? g->row_pitch : 0.0;
    if (x_pitch_mm)
        *x_pitch_mm = g != NULL ? g->col_pitch : 0.0;
}

const km_candidate_params *km_bodygrid_candidate_params(const km_bodygrid *g)
{
    return g != NULL && (g->layers & KM_GRID_CANDIDATES) ? &g->cand : NULL;
}
