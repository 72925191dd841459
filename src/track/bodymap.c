/* Body map: what the sensor pressed, in body coordinates
 * (docs/ALGORITHMS.md 7.2).  Roller: cell rows along the rolling direction,
 * anchored on the taxel footprints of the first contact frame so that with
 * exact odometry each taxel row lands on a cell centre; the map grows with
 * the travelled range.  Mat: the grid itself. */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "roller_rows.h"

#define KM_BODYMAP_GROW 64

struct km_bodymap {
    km_alloc_ref alloc;
    int32_t mode, rows, cols;
    double row_pitch, col_pitch;
    km_bodymap_params p;
    int64_t frame;          /* frames added so far */
    /* storage covers cell rows [base, base + cap); used [lo, hi] */
    int64_t base, cap, lo, hi;
    int have_origin;
    double y_origin;        /* body y of cell row 0 */
    float *max;
    double *sum;
    int64_t *n;
    int32_t *cov;
    int64_t *last;          /* frame of the last touch, -1 never */
};

void km_bodymap_params_default(km_bodymap_params *p)
{
    if (p == NULL)
        return;
    p->contact_half_rows = 1;
    p->contact_threshold = 5.0;
    p->pass_gap_frames = 5;
    p->max_extent_mm = 100000.0;
}

static void free_arrays(const km_alloc_ref *a, km_bodymap *b)
{
    km_ref_free(a, b->max);
    km_ref_free(a, b->sum);
    km_ref_free(a, b->n);
    km_ref_free(a, b->cov);
    km_ref_free(a, b->last);
    b->max = NULL;
    b->sum = NULL;
    b->n = NULL;
    b->cov = NULL;
    b->last = NULL;
}

/* Reallocate storage to cover cell rows [nbase, nbase + ncap), keeping the
   contents. */
static km_status resize(km_ctx *ctx, km_bodymap *b, int64_t nbase, int64_t ncap)
{
    km_status st = KM_OK;
    km_bodymap t = *b;
    size_t cells = (size_t)ncap * (size_t)b->cols;
    t.max = km_alloc(ctx, cells * sizeof(float));
    t.sum = km_calloc(ctx, cells, sizeof(double));
    t.n = km_calloc(ctx, cells, sizeof(int64_t));
    t.cov = km_calloc(ctx, cells, sizeof(int32_t));
    t.last = km_alloc(ctx, cells * sizeof(int64_t));
    if (!t.max || !t.sum || !t.n || !t.cov || !t.last) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < cells; i++) {
        t.max[i] = -INFINITY;
        t.last[i] = -1;
    }
    if (b->cap > 0) {
        size_t off = (size_t)(b->base - nbase) * (size_t)b->cols;
        size_t old = (size_t)b->cap * (size_t)b->cols;
        memcpy(t.max + off, b->max, old * sizeof(float));
        memcpy(t.sum + off, b->sum, old * sizeof(double));
        memcpy(t.n + off, b->n, old * sizeof(int64_t));
        memcpy(t.cov + off, b->cov, old * sizeof(int32_t));
        memcpy(t.last + off, b->last, old * sizeof(int64_t));
    }
    free_arrays(&b->alloc, b);
    b->max = t.max;
    b->sum = t.sum;
    b->n = t.n;
    b->cov = t.cov;
    b->last = t.last;
    b->base = nbase;
    b->cap = ncap;
    t.max = NULL;
    t.sum = NULL;
    t.n = NULL;
    t.cov = NULL;
    t.last = NULL;
done:
    free_arrays(&b->alloc, &t);
    return st;
}

km_status km_bodymap_create(km_ctx *ctx, int32_t mode, int32_t rows, int32_t cols, double row_pitch_mm,
                            double col_pitch_mm, const km_bodymap_params *p, km_bodymap **out)
{
    km_status st = KM_OK;
    km_bodymap *b = NULL;
    if (out == NULL) {
        st = km_fail(ctx, KM_ERR_INVALID, "bodymap: NULL out");
        goto done;
    }
    *out = NULL;
    st = km_check_shape(ctx, rows, cols, "body map grid");
    if (st != KM_OK)
        goto done;
    if ((mode != KM_MODE_MAT && mode != KM_MODE_ROLLER) || !(row_pitch_mm > 0.0) || !(col_pitch_mm > 0.0)
        || !isfinite(row_pitch_mm) || !isfinite(col_pitch_mm)) {
        st = km_fail(ctx, KM_ERR_INVALID, "bodymap: bad mode or pitch");
        goto done;
    }
    b = km_calloc(ctx, 1, sizeof *b);
    if (b == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    b->alloc = km_ctx_alloc_ref(ctx);
    b->mode = mode;
    b->rows = rows;
    b->cols = cols;
    b->row_pitch = row_pitch_mm;
    b->col_pitch = col_pitch_mm;
    if (p)
        b->p = *p;
    else
        km_bodymap_params_default(&b->p);
    if (b->p.contact_half_rows < 0 || b->p.pass_gap_frames < 0 || !(b->p.max_extent_mm > 0.0)
        || isnan(b->p.contact_threshold)) {
        st = km_fail(ctx, KM_ERR_INVALID, "bodymap: parameters out of range");
        goto done;
    }
    b->lo = 0;
    b->hi = -1;
    if (mode == KM_MODE_MAT) {
        st = resize(ctx, b, 0, rows);
        if (st != KM_OK)
            goto done;
        b->have_origin = 1;
        b->y_origin = 0.0;
        /* A mat's body map is its grid, frames or not (as the candidate
           map's): an empty session gives rows x cols of NaN, coverage 0. */
        b->lo = 0;
        b->hi = rows - 1;
    }
    *out = b;
    b = NULL;
done:
    km_bodymap_free(b);
    return st;
}

void km_bodymap_free(km_bodymap *b)
{
    if (b == NULL)
        return;
    km_alloc_ref a = b->alloc;
    free_arrays(&a, b);
    km_ref_free(&a, b);
}

/* Make sure cell row iy has storage; grows by whole blocks. */
static km_status ensure_row(km_ctx *ctx, km_bodymap *b, int64_t iy)
{
    if (b->cap > 0 && iy >= b->base && iy < b->base + b->cap)
        return KM_OK;
    int64_t nlo = b->cap > 0 ? (iy < b->base ? iy - KM_BODYMAP_GROW : b->base) : iy - KM_BODYMAP_GROW / 2;
    int64_t nhi = b->cap > 0 ? (iy >= b->base + b->cap ? iy + KM_BODYMAP_GROW : b->base + b->cap - 1)
                             : iy + KM_BODYMAP_GROW / 2;
    int64_t ncap = nhi - nlo + 1;
    int64_t extent = b->hi < b->lo ? 1 : iy < b->lo ? b->hi - iy + 1 : iy - b->lo + 1;
    if ((double)extent * b->row_pitch > b->p.max_extent_mm || ncap > KM_MAX_DIM || (int64_t)ncap * b->cols > KM_MAX_TAXELS)
        return km_fail(ctx, KM_ERR_LIMIT, "bodymap: the travelled range exceeds %.0f mm (or the map size cap)",
                       b->p.max_extent_mm);
    return resize(ctx, b, nlo, ncap);
}

static void touch(km_bodymap *b, size_t i, float v, int in_contact)
{
    if (v > b->max[i])
        b->max[i] = v;
    b->sum[i] += v;
    b->n[i]++;
    if (in_contact) {
        if (b->last[i] < 0 || b->frame - b->last[i] - 1 > b->p.pass_gap_frames)
            b->cov[i]++;
        b->last[i] = b->frame;
    }
}

static km_status add_roller(km_ctx *ctx, km_bodymap *b, const km_frame *f, const km_mask *m,
                            const km_odometry_sample *odo)
{
    if (!b->have_origin) {
        b->have_origin = 1;
        b->y_origin = km_roller_y_origin(odo, b->row_pitch);
    }
    for (int64_t d = -b->p.contact_half_rows; d <= b->p.contact_half_rows; d++) {
        int32_t r;
        int64_t iy;
        km_roller_row(odo, d, b->rows, b->row_pitch, b->y_origin, &r, &iy);
        km_status st = ensure_row(ctx, b, iy);
        if (st != KM_OK)
            return st;
        if (iy < b->lo || b->hi < b->lo)
            b->lo = iy;
        if (iy > b->hi)
            b->hi = iy;
        const float *row = f->data + (ptrdiff_t)r * f->row_stride;
        size_t off = (size_t)(iy - b->base) * (size_t)b->cols;
        for (int32_t col = 0; col < b->cols; col++)
            if (km_mask_at(m, r, col) && isfinite(row[col]))
                touch(b, off + (size_t)col, row[col], 1);
    }
    return KM_OK;
}

km_status km_bodymap_add(km_ctx *ctx, km_bodymap *b, const km_frame *frame, const km_mask *mask,
                         const km_odometry_sample *odo)
{
    km_status st = KM_OK;
    if (b == NULL || frame == NULL || frame->data == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "bodymap: NULL argument");
    if (frame->rows != b->rows || frame->cols != b->cols || frame->row_stride < frame->cols)
        return km_fail(ctx, KM_ERR_INVALID, "bodymap: frame is %dx%d, expected %dx%d", (int)frame->rows,
                       (int)frame->cols, (int)b->rows, (int)b->cols);
    if (b->mode == KM_MODE_ROLLER) {
        if (odo == NULL)
            return km_fail(ctx, KM_ERR_INVALID, "bodymap: a roller map needs the frame's odometry sample");
        if (!(odo->flags & KM_ODO_LIFTED))
            st = add_roller(ctx, b, frame, mask, odo);
    } else {
        for (int32_t r = 0; r < b->rows; r++) {
            const float *row = frame->data + (ptrdiff_t)r * frame->row_stride;
            for (int32_t c = 0; c < b->cols; c++)
                if (km_mask_at(mask, r, c) && isfinite(row[c]))
                    touch(b, (size_t)r * (size_t)b->cols + (size_t)c, row[c], row[c] > b->p.contact_threshold);
        }
        b->lo = 0;
        b->hi = b->rows - 1;
    }
    b->frame++;
    return st;
}

void km_bodymap_shape(const km_bodymap *b, int32_t *ny, int32_t *nx, double *y0_mm, double *y_pitch_mm,
                      double *x_pitch_mm)
{
    int64_t rows = b && b->hi >= b->lo ? b->hi - b->lo + 1 : 0;
    if (ny)
        *ny = (int32_t)rows;
    if (nx)
        *nx = b ? b->cols : 0;
    if (y0_mm)
        *y0_mm = b ? b->y_origin + (double)b->lo * b->row_pitch : 0.0;
    if (y_pitch_mm)
        *y_pitch_mm = b ? b->row_pitch : 0.0;
    if (x_pitch_mm)
        *x_pitch_mm = b ? b->col_pitch : 0.0;
}

km_status km_bodymap_get(km_ctx *ctx, const km_bodymap *b, float *max, float *mean, int32_t *coverage,
                         size_t capacity, size_t *needed)
{
    if (b == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "bodymap: NULL map");
    int32_t ny = 0, nx = 0;
    km_bodymap_shape(b, &ny, &nx, NULL, NULL, NULL);
    size_t cells = (size_t)ny * (size_t)nx;
    if (needed)
        *needed = cells;
    if (capacity < cells)
        return km_fail(ctx, KM_ERR_CAPACITY, "bodymap: %zu cells needed, capacity %zu", cells, capacity);
    for (int32_t y = 0; y < ny; y++) {
        size_t src = (size_t)(b->lo + y - b->base) * (size_t)nx;
        for (int32_t x = 0; x < nx; x++) {
            size_t i = src + (size_t)x, o = (size_t)y * (size_t)nx + (size_t)x;
            int any = b->n[i] > 0;
            if (max)
                max[o] = any ? b->max[i] : NAN;
            if (mean)
                mean[o] = any ? (float)(b->sum[i] / (double)b->n[i]) : NAN;
            if (coverage)
                coverage[o] = b->cov[i];
        }
    }
    return KM_OK;
}
