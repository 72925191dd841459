/* Dead, stuck and hot taxels from a warm-up block, and filling masked
 * taxels from their neighbours (docs/ALGORITHMS.md 10). */
#include <math.h>
#include <string.h>

#include "internal.h"

struct km_badtaxel {
    km_alloc_ref ref;
    km_badtaxel_params p;
    int32_t rows, cols;
    int64_t frames;
    uint8_t *mask;             /* source mask */
    float *lo, *hi;            /* range over the block */
    int32_t *hot;              /* frames in which the taxel was an isolated spike */
};

void km_badtaxel_params_default(km_badtaxel_params *p)
{
    if (p == NULL)
        return;
    p->flat_range = 0.0;
    p->dead_level = 0.0;
    p->active_range = 0.0;
    p->hot_ratio = 4.0;
}

void km_badtaxel_free(km_badtaxel *b)
{
    if (b == NULL)
        return;
    km_alloc_ref ref = b->ref;
    km_ref_free(&ref, b->mask);
    km_ref_free(&ref, b->lo);
    km_ref_free(&ref, b->hi);
    km_ref_free(&ref, b->hot);
    km_ref_free(&ref, b);
}

km_status km_badtaxel_create(km_ctx *ctx, int32_t rows, int32_t cols, const uint8_t *mask,
                             const km_badtaxel_params *p, km_badtaxel **out)
{
    km_status st;
    km_badtaxel *b = NULL;
    size_t n;

    if (out == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "bad taxels: out is NULL");
    *out = NULL;
    if ((st = km_check_shape(ctx, rows, cols, "bad-taxel grid")) != KM_OK)
        return st;
    if (p != NULL && (!(p->flat_range >= 0.0) || !(p->dead_level >= 0.0) ||
                      !(p->active_range >= 0.0) || !(p->hot_ratio >= 0.0)))
        return km_fail(ctx, KM_ERR_INVALID,
                       "bad taxels: flat_range, dead_level, active_range and hot_ratio must "
                       "be >= 0");
    n = (size_t)rows * (size_t)cols;
    b = km_calloc(ctx, 1, sizeof *b);
    if (b == NULL)
        return KM_ERR_NOMEM;
    b->ref = km_ctx_alloc_ref(ctx);
    if (p != NULL)
        b->p = *p;
    else
        km_badtaxel_params_default(&b->p);
    b->rows = rows;
    b->cols = cols;
    b->mask = km_alloc(ctx, n);
    b->lo = km_alloc(ctx, n * sizeof *b->lo);
    b->hi = km_alloc(ctx, n * sizeof *b->hi);
    b->hot = km_calloc(ctx, n, sizeof *b->hot);
    if (b->mask == NULL || b->lo == NULL || b->hi == NULL || b->hot == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    if (mask != NULL)
        memcpy(b->mask, mask, n);
    else
        memset(b->mask, 1, n);
    *out = b;
    b = NULL;
    st = KM_OK;
done:
    km_badtaxel_free(b);
    return st;
}

/* Largest valid neighbour (8-connected) of (r, c); -INFINITY when none. */
static float neighbour_max(const km_badtaxel *b, const float *f, int32_t r, int32_t c)
{
    float m = -INFINITY;
    for (int32_t dr = -1; dr <= 1; dr++) {
        int32_t rr = r + dr;
        if (rr < 0 || rr >= b->rows)
            continue;
        for (int32_t dc = -1; dc <= 1; dc++) {
            int32_t cc = c + dc;
            if ((dr == 0 && dc == 0) || cc < 0 || cc >= b->cols)
                continue;
            size_t k = (size_t)rr * (size_t)b->cols + (size_t)cc;
            if (b->mask[k] && isfinite(f[k]) && f[k] > m)
                m = f[k];
        }
    }
    return m;
}

km_status km_badtaxel_add(km_ctx *ctx, km_badtaxel *b, const float *frame)
{
    if (b == NULL || frame == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "bad taxels: NULL frame");
    size_t n = (size_t)b->rows * (size_t)b->cols;
    if (b->frames == 0) {
        memcpy(b->lo, frame, n * sizeof *frame);
        memcpy(b->hi, frame, n * sizeof *frame);
    } else {
        for (size_t k = 0; k < n; k++) {
            float v = frame[k];
            /* NaN never narrows or widens the range. */
            if (v < b->lo[k])
                b->lo[k] = v;
            if (v > b->hi[k])
                b->hi[k] = v;
        }
    }
    if (b->p.hot_ratio > 0.0) {
        for (int32_t r = 0; r < b->rows; r++)
            for (int32_t c = 0; c < b->cols; c++) {
                size_t k = (size_t)r * (size_t)b->cols + (size_t)c;
                float v = frame[k];
                if (!b->mask[k] || !(v > 0.0f))
                    continue;
                float m = neighbour_max(b, frame, r, c);
                if (m > -INFINITY && (double)v > b->p.hot_ratio * (m > 0.0f ? m : 0.0f))
                    b->hot[k]++;
            }
    }
    b->frames++;
    return KM_OK;
}

static float median_small(float *a, int n)
{
    for (int i = 1; i < n; i++) {
        float x = a[i];
        int j = i - 1;
        while (j >= 0 && a[j] > x) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = x;
    }
    return n % 2 ? a[n / 2] : 0.5f * (a[n / 2 - 1] + a[n / 2]);
}

km_status km_badtaxel_decide(km_ctx *ctx, const km_badtaxel *b, uint8_t *state,
                             uint8_t *mask_out, int32_t *n_bad)
{
    if (b == NULL || mask_out == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "bad taxels: NULL argument to decide");
    int32_t bad = 0;
    for (int32_t r = 0; r < b->rows; r++)
        for (int32_t c = 0; c < b->cols; c++) {
            size_t k = (size_t)r * (size_t)b->cols + (size_t)c;
            uint8_t s = KM_TAXEL_OK;
            if (!b->mask[k]) {
                s = KM_TAXEL_MASKED;
            } else if (b->frames > 0) {
                double range = (double)b->hi[k] - (double)b->lo[k];
                if (range <= b->p.flat_range) {
                    float nb[8];
                    int m = 0;
                    for (int32_t dr = -1; dr <= 1; dr++)
                        for (int32_t dc = -1; dc <= 1; dc++) {
                            int32_t rr = r + dr, cc = c + dc;
                            if ((dr == 0 && dc == 0) || rr < 0 || rr >= b->rows || cc < 0 ||
                                cc >= b->cols)
                                continue;
                            size_t q = (size_t)rr * (size_t)b->cols + (size_t)cc;
                            if (b->mask[q])
                                nb[m++] = b->hi[q] - b->lo[q];
                        }
                    /* A flat taxel among flat neighbours is an unloaded
                       region, not a fault. */
                    if (m > 0 && (double)median_small(nb, m) > b->p.active_range) {
                        double level = fmax(fabs((double)b->lo[k]), fabs((double)b->hi[k]));
                        s = level <= b->p.dead_level ? KM_TAXEL_DEAD : KM_TAXEL_STUCK;
                    }
                } else if (b->p.hot_ratio > 0.0 && 2 * (int64_t)b->hot[k] > b->frames) {
                    s = KM_TAXEL_HOT;
                }
            }
            if (s == KM_TAXEL_DEAD || s == KM_TAXEL_STUCK || s == KM_TAXEL_HOT)
                bad++;
            if (state != NULL)
                state[k] = s;
            mask_out[k] = s == KM_TAXEL_OK;
        }
    if (n_bad != NULL)
        *n_bad = bad;
    return KM_OK;
}

km_status km_fill_masked(km_ctx *ctx, float *frame, int32_t rows, int32_t cols,
                         const uint8_t *mask, uint8_t *scratch)
{
    km_status st;
    uint8_t *known = scratch;
    size_t n;

    if (frame == NULL || mask == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "fill: NULL frame or mask");
    if ((st = km_check_shape(ctx, rows, cols, "fill")) != KM_OK)
        return st;
    n = (size_t)rows * (size_t)cols;
    if (known == NULL && (known = km_alloc(ctx, n)) == NULL)
        return KM_ERR_NOMEM;
    for (size_t k = 0; k < n; k++)
        known[k] = mask[k] != 0 && isfinite(frame[k]);
    /* Each pass fills from taxels known at its start (1); taxels filled in
       the pass (2) join only after it, so the result does not depend on
       the scan order. */
    for (int changed = 1; changed;) {
        changed = 0;
        for (int32_t r = 0; r < rows; r++)
            for (int32_t c = 0; c < cols; c++) {
                size_t k = (size_t)r * (size_t)cols + (size_t)c;
                if (known[k])
                    continue;
                double sum = 0.0;
                int m = 0;
                for (int32_t dr = -1; dr <= 1; dr++)
                    for (int32_t dc = -1; dc <= 1; dc++) {
                        int32_t rr = r + dr, cc = c + dc;
                        if (rr < 0 || rr >= rows || cc < 0 || cc >= cols)
                            continue;
                        size_t q = (size_t)rr * (size_t)cols + (size_t)cc;
                        if (known[q] == 1) {
                            sum += frame[q];
                            m++;
                        }
                    }
                if (m > 0) {
                    frame[k] = (float)(sum / m);
                    known[k] = 2;
                    changed = 1;
                }
            }
        for (size_t k = 0; k < n; k++)
            if (known[k] == 2)
                known[k] = 1;
    }
    if (known != scratch)
        km_free(ctx, known);
    return KM_OK;
}
