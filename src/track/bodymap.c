/* Body map: what the sensor pressed, in body coordinates
 * (docs/ALGORITHMS.md 7.2): per cell of the body grid (bodygrid.c) the
 * maximum and mean of the samples deposited there and the passes that
 * covered it.  km_bodymap_* is a body grid with this one layer. */
#include <math.h>
#include <string.h>

#include "bodygrid_internal.h"

struct km_bodymap {
    km_bodygrid *g;
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

static void touch(km_bodygrid *g, size_t i, float v, int in_contact)
{
    if (v > g->max[i])
        g->max[i] = v;
    g->sum[i] += v;
    g->n[i]++;
    if (in_contact) {
        if (km_grid_new_pass(g->last[i], g->frame, g->rule.pass_gap_frames))
            g->cov[i]++;
        g->last[i] = g->frame;
    }
}

void km_body_layer_row(km_bodygrid *g, const float *row, const uint8_t *on, size_t off)
{
    for (int32_t col = 0; col < g->cols; col++)
        if (on[col])
            touch(g, off + (size_t)col, row[col], 1);
}

void km_body_layer_mat(km_bodygrid *g, const km_frame *f, const km_mask *m)
{
    for (int32_t r = 0; r < g->rows; r++) {
        const float *row = f->data + (ptrdiff_t)r * f->row_stride;
        for (int32_t c = 0; c < g->cols; c++)
            if (km_mask_at(m, r, c) && isfinite(row[c]))
                touch(g, (size_t)r * (size_t)g->cols + (size_t)c, row[c],
                      row[c] > g->rule.contact_threshold);
    }
}

km_status km_bodygrid_bodymap(km_ctx *ctx, const km_bodygrid *g, float *max, float *mean,
                              int32_t *coverage, size_t capacity, size_t *needed)
{
    if (g == NULL || !(g->layers & KM_GRID_BODYMAP))
        return km_fail(ctx, KM_ERR_INVALID, "body map: NULL grid or no body map layer");
    int32_t ny = 0, nx = 0;
    km_bodygrid_shape(g, &ny, &nx, NULL, NULL, NULL);
    size_t cells = (size_t)ny * (size_t)nx;
    if (needed)
        *needed = cells;
    if (capacity < cells)
        return km_fail(ctx, KM_ERR_CAPACITY, "body map: %zu cells needed, capacity %zu", cells,
                       capacity);
    for (int32_t y = 0; y < ny; y++) {
        size_t src = (size_t)(g->lo + y - g->base) * (size_t)nx;
        for (int32_t x = 0; x < nx; x++) {
            size_t i = src + (size_t)x, o = (size_t)y * (size_t)nx + (size_t)x;
            int any = g->n[i] > 0;
            if (max)
                max[o] = any ? g->max[i] : NAN;
            if (mean)
                mean[o] = any ? (float)(g->sum[i] / (double)g->n[i]) : NAN;
            if (coverage)
                coverage[o] = g->cov[i];
        }
    }
    return KM_OK;
}

km_status km_bodymap_create(km_ctx *ctx, int32_t mode, int32_t rows, int32_t cols, double row_pitch_mm,
                            double col_pitch_mm, const km_bodymap_params *p, km_bodymap **out)
{
    km_status st = KM_OK;
    km_bodymap *b = NULL;
    if (out == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "bodymap: NULL out");
    *out = NULL;
    if ((b = km_calloc(ctx, 1, sizeof *b)) == NULL)
        return KM_ERR_NOMEM;
    st = km_bodygrid_create(ctx, mode, rows, cols, row_pitch_mm, col_pitch_mm, p, NULL,
                            KM_GRID_BODYMAP, &b->g);
    if (st != KM_OK) {
        km_free(ctx, b);
        return st;
    }
    *out = b;
    return KM_OK;
}

void km_bodymap_free(km_bodymap *b)
{
    if (b == NULL)
        return;
    km_alloc_ref a = b->g->alloc;
    km_bodygrid_free(b->g);
    km_ref_free(&a, b);
}

km_status km_bodymap_add(km_ctx *ctx, km_bodymap *b, const km_frame *frame, const km_mask *mask,
                         const km_odometry_sample *odo)
{
    if (b == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "bodymap: NULL argument");
    return km_bodygrid_add(ctx, b->g, frame, mask, odo, 0.0);
}

void km_bodymap_shape(const km_bodymap *b, int32_t *ny, int32_t *nx, double *y0_mm, double *y_pitch_mm,
                      double *x_pitch_mm)
{
    km_bodygrid_shape(b != NULL ? b->g : NULL, ny, nx, y0_mm, y_pitch_mm, x_pitch_mm);
}

km_status km_bodymap_get(km_ctx *ctx, const km_bodymap *b, float *max, float *mean, int32_t *coverage,
                         size_t capacity, size_t *needed)
{
    return km_bodygrid_bodymap(ctx, b != NULL ? b->g : NULL, max, mean, coverage, capacity, needed);
}
