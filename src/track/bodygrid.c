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
    X(max, FILL_NEG_INF) X(sum, FILL_ZERO) X(n, FILL_ZERO) X(cov, FILL_ZERO) X(last, FILL_NEVER)
#define CAND_CELLS(X)                                                                         \
    X(ccov, FILL_ZERO) X(seen, FILL_ZERO) X(csum, FILL_ZERO) X(wmean, FILL_ZERO)             \
    X(wm2, FILL_ZERO) X(cur, FILL_ZERO) X(clast, FILL_NEVER) X(t_first, FILL_NAN)            \
    X(t_last, FILL_NAN) X(crow, FILL_ZERO) X(rowa, FILL_ZERO) X(an, FILL_ZERO)               \
    X(bn, FILL_ZERO) X(asum, FILL_ZERO) X(bsum, FILL_ZERO) X(flat, FILL_ZERO)                \
    X(cur_b, FILL_ZERO) X(cur_off, FILL_ZERO) X(cur_turn, FILL_ZERO) X(cur_t, FILL_ZERO)        \
    X(trend, FILL_ZERO)

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
/* Bit 0: taxel k of the row is usable (on the sensor, finite); bit 1: and
   it reaches thr. */
static inline int contact_flags(const float *row, const uint8_t *mrow, int32_t k, double thr)
{
    float v = row[k];
    int u = (mrow == NULL || mrow[k] != 0) & (fabsf(v) <= FLT_MAX);
    return u | ((u & (v >= thr)) << 1);
}

void km_grid_roller_contact(uint8_t *on, const float *row, const km_mask *m, int32_t r,
                            int32_t cols, double thr)
{
    const uint8_t *mrow = m != NULL && m->data != NULL ? m->data + (ptrdiff_t)r * m->row_stride
                                                        : NULL;
    /* Every column's flags once, into on; column x's answer then replaces
       its flags, which a ring keeps for the window's columns behind x. */
    enum { RING = CONTACT_HALF_COLS + 2 };
    uint8_t ring[RING];
    for (int32_t k = 0; k < cols; k++)
        on[k] = (uint8_t)contact_flags(row, mrow, k, thr);
    /* n, c: over the columns [x - H, x + H] of the row, sliding. */
    int n = 0, c = 0;
    for (int32_t k = 0; k < CONTACT_HALF_COLS && k < cols; k++) {
        n += on[k] & 1;
        c += on[k] >> 1;
    }
    for (int32_t x = 0; x < cols; x++) {
        if (x + CONTACT_HALF_COLS < cols) {
            n += on[x + CONTACT_HALF_COLS] & 1;
            c += on[x + CONTACT_HALF_COLS] >> 1;
        }
        if (x - CONTACT_HALF_COLS - 1 >= 0) {
            int f = ring[(x - CONTACT_HALF_COLS - 1) % RING];
            n -= f & 1;
            c -= f >> 1;
        }
        int in = 2 * c > n;
        if (!(n & 1) && 2 * c == n && n > 0) {
            float win[2 * CONTACT_HALF_COLS + 1];
            int w = 0;
            int32_t a = x - CONTACT_HALF_COLS < 0 ? 0 : x - CONTACT_HALF_COLS;
            int32_t b = x + CONTACT_HALF_COLS >= cols ? cols - 1 : x + CONTACT_HALF_COLS;
            for (int32_t k = a; k <= b; k++) {
                win[w] = row[k];
                w += (k < x ? ring[k % RING] : on[k]) & 1;
            }
            in = km_median_small_f(win, w) >= thr;
        }
        ring[x % RING] = on[x];
        on[x] = (uint8_t)((on[x] & 1) & in);
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
            km_body_layer_row(g, row, g->on, off);
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
