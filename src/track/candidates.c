/* Knot candidates (docs/ALGORITHMS.md 10): per body cell, the pass maximum
 * of the local excess (value minus the running median of its row), averaged
 * over the passes that covered the cell; candidates are the prominent peaks
 * of that map.  The cells are the body map's (same anchor, same contact
 * rule), so coverage here equals the body map's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "roller_rows.h"
#include "core/select_small.h"
#include "detect/mapfilt.h"

#define GROW_ROWS 64
#define MAX_HALF_COLS 64
#define MAX_RIDGE_ROWS 64
#define NOISE_HALF 4

struct km_candidates {
    km_alloc_ref alloc;
    int32_t mode, rows, cols;
    double row_pitch, col_pitch;
    km_candidate_params p;
    int64_t frame;
    int64_t base, cap, lo, hi;  /* storage rows [base, base+cap); used [lo, hi] */
    int have_origin;
    double y_origin;
    int32_t *cov, *seen;        /* passes; closed passes that saw the cell */
    double *sum;                /* sum of the closed passes' maxima */
    float *cur;                 /* maximum of the open pass */
    int64_t *last;              /* frame of the last touch, -1 never */
    double *t_first, *t_last;   /* times the excess reached seen_threshold */
    float *excess;              /* one row of excess (cols) */
    float *bg;                  /* one row of local background (cols) */
    float *win;                 /* median window */
    uint8_t *ok;                /* one row: taxel usable (cols) */
    float *prev;                /* per taxel: value in the previous frame */
    int32_t *run;               /* per taxel: frames it has repeated that value */
    uint8_t *stuck;             /* per taxel: was ever stuck at a nonzero value */
};

void km_candidate_params_default(km_candidate_params *p)
{
    if (p == NULL)
        return;
    p->background_half_cols = 4;
    p->seen_threshold = 8.0;
    p->min_prominence = 4.0;
    p->min_snr = 4.0;
    p->knot_sigma_mm = 0.0;
    p->min_sigma_mm = 3.0;
    p->max_sigma_mm = 15.0;
    p->ridge_half_rows = 4;
    p->min_distance = 2;
    p->min_coverage = 2;
    p->min_persistence = 0.3;
    p->max_candidates = 100;
    p->stuck_frames = 25;
    p->contact_half_rows = 1;
    p->contact_threshold = 5.0;
    p->pass_gap_frames = 5;
}

static void free_cells(const km_alloc_ref *a, km_candidates *c)
{
    km_ref_free(a, c->cov);
    km_ref_free(a, c->seen);
    km_ref_free(a, c->sum);
    km_ref_free(a, c->cur);
    km_ref_free(a, c->last);
    km_ref_free(a, c->t_first);
    km_ref_free(a, c->t_last);
    c->cov = c->seen = NULL;
    c->sum = c->t_first = c->t_last = NULL;
    c->cur = NULL;
    c->last = NULL;
}

/* Storage for cell rows [nbase, nbase + ncap), keeping the contents. */
static km_status resize(km_ctx *ctx, km_candidates *c, int64_t nbase, int64_t ncap)
{
    km_status st = KM_OK;
    km_candidates t = *c;
    size_t cells = (size_t)ncap * (size_t)c->cols;
    t.cov = km_calloc(ctx, cells, sizeof(int32_t));
    t.seen = km_calloc(ctx, cells, sizeof(int32_t));
    t.sum = km_calloc(ctx, cells, sizeof(double));
    t.cur = km_calloc(ctx, cells, sizeof(float));
    t.last = km_alloc(ctx, cells * sizeof(int64_t));
    t.t_first = km_alloc(ctx, cells * sizeof(double));
    t.t_last = km_alloc(ctx, cells * sizeof(double));
    if (!t.cov || !t.seen || !t.sum || !t.cur || !t.last || !t.t_first || !t.t_last) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < cells; i++) {
        t.last[i] = -1;
        t.t_first[i] = NAN;
        t.t_last[i] = NAN;
    }
    if (c->cap > 0) {
        size_t off = (size_t)(c->base - nbase) * (size_t)c->cols;
        size_t old = (size_t)c->cap * (size_t)c->cols;
        memcpy(t.cov + off, c->cov, old * sizeof(int32_t));
        memcpy(t.seen + off, c->seen, old * sizeof(int32_t));
        memcpy(t.sum + off, c->sum, old * sizeof(double));
        memcpy(t.cur + off, c->cur, old * sizeof(float));
        memcpy(t.last + off, c->last, old * sizeof(int64_t));
        memcpy(t.t_first + off, c->t_first, old * sizeof(double));
        memcpy(t.t_last + off, c->t_last, old * sizeof(double));
    }
    free_cells(&c->alloc, c);
    c->cov = t.cov;
    c->seen = t.seen;
    c->sum = t.sum;
    c->cur = t.cur;
    c->last = t.last;
    c->t_first = t.t_first;
    c->t_last = t.t_last;
    c->base = nbase;
    c->cap = ncap;
    return KM_OK;
done:
    free_cells(&c->alloc, &t);
    return st;
}

km_status km_candidates_create(km_ctx *ctx, int32_t mode, int32_t rows, int32_t cols,
                               double row_pitch_mm, double col_pitch_mm,
                               const km_candidate_params *p, km_candidates **out)
{
    km_status st;
    km_candidates *c = NULL;
    if (out == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "candidates: NULL out");
    *out = NULL;
    if ((st = km_check_shape(ctx, rows, cols, "candidate map grid")) != KM_OK)
        return st;
    if ((mode != KM_MODE_MAT && mode != KM_MODE_ROLLER) || !(row_pitch_mm > 0.0) ||
        !(col_pitch_mm > 0.0) || !isfinite(row_pitch_mm) || !isfinite(col_pitch_mm))
        return km_fail(ctx, KM_ERR_INVALID, "candidates: bad mode or pitch");
    c = km_calloc(ctx, 1, sizeof *c);
    if (c == NULL)
        return KM_ERR_NOMEM;
    c->alloc = km_ctx_alloc_ref(ctx);
    c->mode = mode;
    c->rows = rows;
    c->cols = cols;
    c->row_pitch = row_pitch_mm;
    c->col_pitch = col_pitch_mm;
    if (p != NULL)
        c->p = *p;
    else
        km_candidate_params_default(&c->p);
    const km_candidate_params *q = &c->p;
    if (q->background_half_cols < 1 || q->background_half_cols > MAX_HALF_COLS ||
        isnan(q->seen_threshold) || !(q->min_prominence >= 0.0) || q->min_distance < 1 ||
        q->min_coverage < 1 || !(q->min_persistence >= 0.0) || !(q->min_snr >= 0.0) ||
        !(q->knot_sigma_mm >= 0.0) || !isfinite(q->knot_sigma_mm) ||
        !(q->min_sigma_mm > 0.0) || !(q->max_sigma_mm >= q->min_sigma_mm) ||
        !isfinite(q->max_sigma_mm) ||
        q->max_sigma_mm > 100.0 * (row_pitch_mm > col_pitch_mm ? row_pitch_mm : col_pitch_mm) ||
        q->knot_sigma_mm > 100.0 * (row_pitch_mm > col_pitch_mm ? row_pitch_mm : col_pitch_mm) ||
        q->ridge_half_rows < 0 || q->ridge_half_rows > MAX_RIDGE_ROWS || q->contact_half_rows < 0 ||
        isnan(q->contact_threshold) || q->pass_gap_frames < 0 || q->stuck_frames < 0) {
        st = km_fail(ctx, KM_ERR_INVALID, "candidates: parameters out of range");
        goto done;
    }
    c->lo = 0;
    c->hi = -1;
    c->excess = km_alloc(ctx, (size_t)cols * sizeof *c->excess);
    c->bg = km_alloc(ctx, (size_t)cols * sizeof *c->bg);
    int32_t wmax = q->background_half_cols > q->ridge_half_rows ? q->background_half_cols
                                                                 : q->ridge_half_rows;
    c->win = km_alloc(ctx, (size_t)(2 * wmax + 1) * sizeof *c->win);
    c->ok = km_alloc(ctx, (size_t)cols);
    c->prev = km_alloc(ctx, (size_t)rows * (size_t)cols * sizeof *c->prev);
    c->run = km_calloc(ctx, (size_t)rows * (size_t)cols, sizeof *c->run);
    c->stuck = km_calloc(ctx, (size_t)rows * (size_t)cols, sizeof *c->stuck);
    if (c->excess == NULL || c->bg == NULL || c->win == NULL || c->ok == NULL || c->prev == NULL ||
        c->run == NULL || c->stuck == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    /* Read (not used) on the first frame by the branch-free run update. */
    memset(c->prev, 0, (size_t)rows * (size_t)cols * sizeof *c->prev);
    if (mode == KM_MODE_MAT) {
        if ((st = resize(ctx, c, 0, rows)) != KM_OK)
            goto done;
        c->have_origin = 1;
        c->lo = 0;
        c->hi = rows - 1;
    }
    *out = c;
    c = NULL;
done:
    km_candidates_free(c);
    return st;
}

void km_candidates_free(km_candidates *c)
{
    if (c == NULL)
        return;
    km_alloc_ref a = c->alloc;
    free_cells(&a, c);
    km_ref_free(&a, c->excess);
    km_ref_free(&a, c->bg);
    km_ref_free(&a, c->win);
    km_ref_free(&a, c->ok);
    km_ref_free(&a, c->prev);
    km_ref_free(&a, c->run);
    km_ref_free(&a, c->stuck);
    km_ref_free(&a, c);
}


/* Local excess of one frame row: value minus the median of the valid
 * values within +-W columns.  NaN where the taxel is invalid. */
static int usable(const km_candidates *c, const float *row, const km_mask *m, int32_t r, int32_t x)
{
    return km_mask_at(m, r, x) && isfinite(row[x]) &&
           (c->p.stuck_frames == 0 || c->run[(size_t)r * (size_t)c->cols + (size_t)x] < c->p.stuck_frames);
}

static void row_excess(km_candidates *c, const float *row, const km_mask *m, int32_t r)
{
    int32_t w = c->p.background_half_cols;
    uint8_t *ok = c->ok;
    /* Each taxel's test once, not once per window it falls in; the window
       gather then stores every value and advances over the usable ones. */
    for (int32_t x = 0; x < c->cols; x++)
        ok[x] = (uint8_t)usable(c, row, m, r, x);
    for (int32_t x = 0; x < c->cols; x++) {
        if (!ok[x]) {
            c->excess[x] = NAN;
            continue;
        }
        int n = 0;
        int32_t a = x - w < 0 ? 0 : x - w, b = x + w >= c->cols ? c->cols - 1 : x + w;
        for (int32_t k = a; k <= b; k++) {
            c->win[n] = row[k];
            n += ok[k];
        }
        c->bg[x] = km_median_small_f(c->win, n);
        c->excess[x] = row[x] - c->bg[x];
    }
}

static void touch(km_candidates *c, size_t i, float e, double t)
{
    if (c->last[i] < 0 || c->frame - c->last[i] - 1 > c->p.pass_gap_frames) {
        if (c->last[i] >= 0) { /* close the previous pass */
            c->sum[i] += c->cur[i];
            c->seen[i] += c->cur[i] >= c->p.seen_threshold;
        }
        c->cov[i]++;
        c->cur[i] = e;
    } else if (e > c->cur[i]) {
        c->cur[i] = e;
    }
    c->last[i] = c->frame;
    if (e >= c->p.seen_threshold) {
        if (isnan(c->t_first[i]))
            c->t_first[i] = t;
        c->t_last[i] = t;
    }
}

static km_status ensure_row(km_ctx *ctx, km_candidates *c, int64_t iy)
{
    if (c->cap > 0 && iy >= c->base && iy < c->base + c->cap)
        return KM_OK;
    int64_t nlo = c->cap > 0 ? (iy < c->base ? iy - GROW_ROWS : c->base) : iy - GROW_ROWS / 2;
    int64_t nhi = c->cap > 0 ? (iy >= c->base + c->cap ? iy + GROW_ROWS : c->base + c->cap - 1)
                             : iy + GROW_ROWS / 2;
    int64_t ncap = nhi - nlo + 1;
    if (ncap > KM_MAX_DIM || ncap * c->cols > KM_MAX_TAXELS)
        return km_fail(ctx, KM_ERR_LIMIT, "candidates: the travelled range exceeds the map size cap");
    return resize(ctx, c, nlo, ncap);
}

static km_status add_roller(km_ctx *ctx, km_candidates *c, const km_frame *f, const km_mask *m,
                            const km_odometry_sample *odo, double t)
{
    if (!c->have_origin) {
        c->have_origin = 1;
        c->y_origin = km_roller_y_origin(odo, c->row_pitch);
    }
    for (int64_t d = -c->p.contact_half_rows; d <= c->p.contact_half_rows; d++) {
        int32_t r;
        int64_t iy;
        km_roller_row(odo, d, c->rows, c->row_pitch, c->y_origin, &r, &iy);
        km_status st = ensure_row(ctx, c, iy);
        if (st != KM_OK)
            return st;
        if (iy < c->lo || c->hi < c->lo)
            c->lo = iy;
        if (iy > c->hi)
            c->hi = iy;
        row_excess(c, f->data + (ptrdiff_t)r * f->row_stride, m, r);
        size_t off = (size_t)(iy - c->base) * (size_t)c->cols;
        for (int32_t x = 0; x < c->cols; x++)
            if (!isnan(c->excess[x]))
                touch(c, off + (size_t)x, c->excess[x], t);
    }
    return KM_OK;
}

km_status km_candidates_add(km_ctx *ctx, km_candidates *c, const km_frame *frame,
                            const km_mask *mask, const km_odometry_sample *odo, double time_s)
{
    km_status st = KM_OK;
    if (c == NULL || frame == NULL || frame->data == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "candidates: NULL argument");
    if (frame->rows != c->rows || frame->cols != c->cols || frame->row_stride < frame->cols)
        return km_fail(ctx, KM_ERR_INVALID, "candidates: frame is %dx%d, expected %dx%d",
                       (int)frame->rows, (int)frame->cols, (int)c->rows, (int)c->cols);
    /* Stuck taxels: repeating one value exactly.  Sensor noise never
     * repeats a float, so a run means a stuck or dead (0) taxel; an idle
     * taxel reading 0 between passes also forms a run, which is harmless:
     * it is ignored only while it reads 0, and the first loaded frame ends
     * the run. */
    /* Branch-free (it vectorises): every taxel, every frame. */
    const int32_t not_first = c->frame > 0, sf = c->p.stuck_frames;
    for (int32_t r = 0; r < c->rows; r++) {
        const float *restrict row = frame->data + (ptrdiff_t)r * frame->row_stride;
        float *restrict prev = c->prev + (size_t)r * (size_t)c->cols;
        int32_t *restrict run = c->run + (size_t)r * (size_t)c->cols;
        uint8_t *restrict stuck = c->stuck + (size_t)r * (size_t)c->cols;
        for (int32_t x = 0; x < c->cols; x++) {
            float v = row[x];
            int32_t same = not_first & (v == prev[x]);
            int32_t rv = run[x];
            rv = (rv + (rv < INT32_MAX)) & -same;
            run[x] = rv;
            stuck[x] |= (uint8_t)((sf > 0) & (rv >= sf) & (v != 0.0f));
            prev[x] = v;
        }
    }
    if (c->mode == KM_MODE_ROLLER) {
        if (odo == NULL)
            return km_fail(ctx, KM_ERR_INVALID, "candidates: a roller needs the odometry sample");
        if (!(odo->flags & KM_ODO_LIFTED))
            st = add_roller(ctx, c, frame, mask, odo, time_s);
    } else {
        for (int32_t r = 0; r < c->rows; r++) {
            const float *row = frame->data + (ptrdiff_t)r * frame->row_stride;
            int any = 0;
            for (int32_t x = 0; x < c->cols && !any; x++)
                any = km_mask_at(mask, r, x) && row[x] > c->p.contact_threshold;
            if (!any)
                continue; /* the common case away from the load: skip the medians */
            row_excess(c, row, mask, r);
            size_t off = (size_t)r * (size_t)c->cols;
            for (int32_t x = 0; x < c->cols; x++)
                if (!isnan(c->excess[x]) && c->bg[x] > c->p.contact_threshold)
                    touch(c, off + (size_t)x, c->excess[x], time_s);
        }
    }
    c->frame++;
    return st;
}

void km_candidates_shape(const km_candidates *c, int32_t *ny, int32_t *nx, double *y0_mm)
{
    int64_t n = c != NULL && c->hi >= c->lo ? c->hi - c->lo + 1 : 0;
    if (ny)
        *ny = (int32_t)n;
    if (nx)
        *nx = c != NULL ? c->cols : 0;
    if (y0_mm)
        *y0_mm = c != NULL ? c->y_origin + (double)c->lo * c->row_pitch : 0.0;
}

/* Totals of cell i including the open pass. */
static void cell_totals(const km_candidates *c, size_t i, int32_t *cov, int32_t *seen, double *sum)
{
    *cov = c->cov[i];
    *seen = c->seen[i];
    *sum = c->sum[i];
    if (c->last[i] >= 0) {
        *sum += c->cur[i];
        *seen += c->cur[i] >= c->p.seen_threshold;
    }
}

km_status km_candidates_map(km_ctx *ctx, const km_candidates *c, float *excess, size_t capacity,
                            size_t *needed)
{
    if (c == NULL || excess == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "candidates: NULL argument");
    int32_t ny, nx;
    km_candidates_shape(c, &ny, &nx, NULL);
    size_t cells = (size_t)ny * (size_t)nx;
    if (needed)
        *needed = cells;
    if (capacity < cells)
        return km_fail(ctx, KM_ERR_CAPACITY, "candidates: %zu cells needed, capacity %zu", cells,
                       capacity);
    for (int32_t y = 0; y < ny; y++) {
        size_t src = (size_t)(c->lo + y - c->base) * (size_t)nx;
        for (int32_t x = 0; x < nx; x++) {
            int32_t cov, seen;
            double sum;
            cell_totals(c, src + (size_t)x, &cov, &seen, &sum);
            /* A mat taxel found stuck is its cell; what it deposited
             * before the run was long enough to tell is not trusted. */
            int bad = c->mode == KM_MODE_MAT && c->stuck[(size_t)(c->lo + y) * (size_t)nx + (size_t)x];
            excess[(size_t)y * (size_t)nx + (size_t)x] =
                cov >= c->p.min_coverage && !bad ? (float)(sum / cov) : NAN;
        }
    }
    return KM_OK;
}

static int cand_cmp(const void *a, const void *b)
{
    const km_candidate *p = a, *q = b;
    if (p->score != q->score)
        return p->score > q->score ? -1 : 1;
    if (p->prominence != q->prominence)
        return p->prominence > q->prominence ? -1 : 1;
    if (p->y_mm != q->y_mm)
        return p->y_mm < q->y_mm ? -1 : 1;
    return p->x_mm < q->x_mm ? -1 : p->x_mm > q->x_mm;
}

/* Vertex of the parabola through three values, in [-0.5, 0.5]; 0 when the
 * values are not finite or not a maximum. */
static double vertex(float l, float m, float r)
{
    double d = (double)l - 2.0 * (double)m + (double)r;
    if (!isfinite(d) || !(d < 0.0))
        return 0.0;
    double o = 0.5 * ((double)l - (double)r) / d;
    return o < -0.5 ? -0.5 : o > 0.5 ? 0.5 : o;
}

/* The detection maps of km_candidates_get, all ny x nx. */
typedef struct cand_maps {
    float *map;     /* A: the candidate map */
    float *flat;    /* A without ridges along y */
    float *amp, *snr, *size; /* matched filter at the best scale */
    float *noise;   /* per cell noise */
    float *diff;    /* scratch: 2 cells */
    float *scratch; /* scratch: 4 cells */
} cand_maps;

static void free_maps(km_ctx *ctx, cand_maps *m)
{
    km_free(ctx, m->map);
    km_free(ctx, m->flat);
    km_free(ctx, m->amp);
    km_free(ctx, m->snr);
    km_free(ctx, m->size);
    km_free(ctx, m->noise);
    km_free(ctx, m->diff);
    km_free(ctx, m->scratch);
}

static km_status alloc_maps(km_ctx *ctx, size_t cells, cand_maps *m)
{
    m->map = km_alloc(ctx, cells * sizeof *m->map);
    m->flat = km_alloc(ctx, cells * sizeof *m->flat);
    m->amp = km_alloc(ctx, cells * sizeof *m->amp);
    m->snr = km_alloc(ctx, cells * sizeof *m->snr);
    m->size = km_alloc(ctx, cells * sizeof *m->size);
    m->noise = km_alloc(ctx, cells * sizeof *m->noise);
    m->diff = km_alloc(ctx, 2 * cells * sizeof *m->diff);
    m->scratch = km_alloc(ctx, 4 * cells * sizeof *m->scratch);
    return m->map && m->flat && m->amp && m->snr && m->size && m->noise && m->diff && m->scratch
               ? KM_OK
               : KM_ERR_NOMEM;
}

/* Noise per cell: the global estimate of the map, raised by a local one. */
static void noise_map(cand_maps *m, int32_t ny, int32_t nx)
{
    double top = 0.0;
    size_t cells = (size_t)ny * (size_t)nx;
    double global = km_map_noise(m->map, ny, nx, 0, ny, 0, nx, m->diff);
    for (size_t i = 0; i < cells; i++)
        if (isfinite(m->flat[i]) && fabs(m->flat[i]) > top)
            top = fabs(m->flat[i]);
    /* A noise-free map (hand-built input) would divide by 0: a floor far
     * below any excess keeps snr finite and the ranking by amplitude. */
    if (!(global > 1e-6 * top))
        global = top > 0.0 ? 1e-6 * top : 1.0;
    /* The gain error of a taxel scales with the pressure on it, so the
     * noise is larger where the contact is stronger (away from the spine
     * valley, the middle of the stroke): the local estimate (a window of
     * +-NOISE_HALF cells) raises the bar there, never below the global
     * one, which keeps quiet patches (exact zeros where a taxel is always
     * its own row median) from making every bump significant. */
    for (int32_t y = 0; y < ny; y++)
        for (int32_t x = 0; x < nx; x++) {
            double loc = km_map_noise(m->map, ny, nx, y - NOISE_HALF < 0 ? 0 : y - NOISE_HALF,
                                      y + NOISE_HALF + 1, x - NOISE_HALF < 0 ? 0 : x - NOISE_HALF,
                                      x + NOISE_HALF + 1, m->diff);
            m->noise[(size_t)y * (size_t)nx + (size_t)x] = (float)(loc > global ? loc : global);
        }
}

/* Footprint sigmas searched: knot_sigma_mm alone, or min..max_sigma_mm in
   steps of a factor 1.25 (the snr of a Gaussian's matched filter falls by
   under 1.3% half a step off its own sigma).  Returns the count. */
static int footprint_sigmas(const km_candidate_params *p, double sig[32])
{
    int ns = 0;
    if (p->knot_sigma_mm > 0.0)
        sig[ns++] = p->knot_sigma_mm;
    else
        for (double v = p->min_sigma_mm; ns < 32 && v <= p->max_sigma_mm * 1.0001; v *= 1.25)
            sig[ns++] = v;
    return ns;
}

/* The candidate at peak q of the amplitude map, or 0 when it fails a test
   of 10.4 (significance, broader than any knot, seen, persistence). */
static int make_candidate(const km_candidates *c, const cand_maps *m, const km_peak *q,
                          int32_t nx, int32_t ny, double y0, double largest_sigma,
                          km_candidate *e)
{
    size_t k = (size_t)q->row * (size_t)nx + (size_t)q->col;
    size_t i = (size_t)(c->lo + q->row - c->base) * (size_t)nx + (size_t)q->col;
    int32_t cov, seen;
    double sum;
    if (!(m->snr[k] >= c->p.min_snr))
        return 0;
    /* Still growing at the largest sigma searched: broader than any knot
       footprint (a bony prominence, the body's shape). */
    if (largest_sigma > 0.0 && m->size[k] >= (float)largest_sigma)
        return 0;
    if (km_map_isolated(m->flat, ny, nx, q->row, q->col) ||
        km_map_elongated(m->amp, ny, nx, q->row, q->col, c->row_pitch, c->col_pitch))
        return 0;
    cell_totals(c, i, &cov, &seen, &sum);
    double pers = cov > 0 ? (double)seen / (double)cov : 0.0;
    if (seen < 1 || pers < c->p.min_persistence)
        return 0;
    /* Position from the unfiltered map: the filter widens the peak and a
     * ridge median can tilt it. */
    const float *a = m->map;
    float l = q->col > 0 ? a[k - 1] : NAN, r = q->col + 1 < nx ? a[k + 1] : NAN;
    float u = q->row > 0 ? a[k - (size_t)nx] : NAN;
    float d = q->row + 1 < ny ? a[k + (size_t)nx] : NAN;
    e->x_mm = ((double)q->col + vertex(l, a[k], r)) * c->col_pitch;
    e->y_mm = y0 + ((double)q->row + vertex(u, a[k], d)) * c->row_pitch;
    e->peak = a[k];
    e->prominence = m->amp[k];
    e->area_mm2 = q->area_taxels >= 0 ? q->area_taxels * c->col_pitch * c->row_pitch : NAN;
    e->n_passes = seen;
    e->n_covering = cov;
    e->persistence = pers;
    e->first_time = c->t_first[i];
    e->last_time = c->t_last[i];
    e->size_mm = m->size[k];
    e->amplitude = m->amp[k];
    e->significance = m->snr[k];
    e->score = (double)m->snr[k] * pers;
    return 1;
}

/* Peaks of the amplitude (where the knot is); their significance comes from
 * the snr (whether it is one): the snr map's own maxima lean towards
 * quieter neighbours. */
static km_status amp_peaks(km_ctx *ctx, const km_candidates *c, const float *amp, int32_t ny,
                           int32_t nx, km_peak *pk, size_t *npk)
{
    km_peak_params pp;
    km_peak_params_default(&pp);
    pp.min_distance = c->p.min_distance;
    pp.threshold_abs = c->p.min_prominence;
    pp.threshold_rel = 0.0;
    pp.exclude_border = 0;
    pp.plateau = KM_PLATEAU_ONE;
    pp.min_prominence = 0.0;
    pp.want = KM_WANT_PROMINENCE | KM_WANT_AREA;
    km_frame fr = {amp, ny, nx, nx};
    return km_find_peaks(ctx, &fr, NULL, &pp, pk, (size_t)ny * (size_t)nx, npk);
}

km_status km_candidates_get(km_ctx *ctx, km_candidates *c, km_candidate *out, size_t capacity,
                            size_t *n_out)
{
    km_status st = KM_OK;
    cand_maps m = {0};
    km_peak *pk = NULL;
    km_candidate *cand = NULL;
    size_t npk = 0, nc = 0;
    if (c == NULL || n_out == NULL || (out == NULL && capacity > 0))
        return km_fail(ctx, KM_ERR_INVALID, "candidates: NULL argument");
    *n_out = 0;
    int32_t ny, nx;
    double y0;
    km_candidates_shape(c, &ny, &nx, &y0);
    size_t cells = (size_t)ny * (size_t)nx;
    if (cells == 0)
        return KM_OK;
    pk = km_alloc(ctx, cells * sizeof *pk);
    cand = km_alloc(ctx, cells * sizeof *cand);
    if ((st = alloc_maps(ctx, cells, &m)) != KM_OK || pk == NULL || cand == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    if ((st = km_candidates_map(ctx, c, m.map, cells, NULL)) != KM_OK)
        goto done;
    if (c->p.ridge_half_rows > 0)
        km_map_remove_ridges(m.map, ny, nx, c->p.ridge_half_rows, c->win, m.flat);
    else
        memcpy(m.flat, m.map, cells * sizeof *m.flat);
    noise_map(&m, ny, nx);
    double sig[32];
    int ns = footprint_sigmas(&c->p, sig);
    km_map_scale_search(m.flat, ny, nx, c->row_pitch, c->col_pitch, sig, ns, m.noise, m.amp,
                        m.snr, m.size, m.scratch);
    if ((st = amp_peaks(ctx, c, m.amp, ny, nx, pk, &npk)) != KM_OK)
        goto done;
    for (size_t k = 0; k < npk; k++)
        nc += (size_t)make_candidate(c, &m, &pk[k], nx, ny, y0, ns > 1 ? sig[ns - 1] : 0.0,
                                     &cand[nc]);
    if (nc > 1)
        qsort(cand, nc, sizeof *cand, cand_cmp);
    if (c->p.max_candidates >= 0 && nc > (size_t)c->p.max_candidates)
        nc = (size_t)c->p.max_candidates;
    *n_out = nc;
    if (nc > capacity) {
        st = km_fail(ctx, KM_ERR_CAPACITY, "candidates: %zu found, capacity %zu", nc, capacity);
        goto done;
    }
    if (nc > 0)
        memcpy(out, cand, nc * sizeof *cand);
done:
    free_maps(ctx, &m);
    km_free(ctx, pk);
    km_free(ctx, cand);
    return st;
}
