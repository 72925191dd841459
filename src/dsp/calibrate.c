/* Point-wise calibration (docs/ALGORITHMS.md section 1; the unit table is core/units.c). */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

void km_calib_params_default(km_calib_params *p)
{
    if (p == NULL)
        return;
    p->offset = 0.0;
    p->gain = 1.0;
    p->noise_threshold = 0.0;
}

/* Byte range [lo, hi) covered by a rows x cols view with row stride. */
static void view_span(const float *data, int32_t rows, int32_t cols, ptrdiff_t stride,
                      uintptr_t *lo, uintptr_t *hi)
{
    *lo = (uintptr_t)data;
    *hi = (uintptr_t)(data + (ptrdiff_t)(rows - 1) * stride + cols);
}

static km_status check_views(km_ctx *ctx, const km_frame *in, const km_frame_mut *out)
{
    km_status st;
    uintptr_t ilo, ihi, olo, ohi;

    if (in == NULL || out == NULL || in->data == NULL || out->data == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "calibrate: NULL frame");
    st = km_check_shape(ctx, in->rows, in->cols, "calibrate input");
    if (st != KM_OK)
        return st;
    if (out->rows != in->rows || out->cols != in->cols)
        return km_fail(ctx, KM_ERR_INVALID, "calibrate: output is %dx%d, input %dx%d",
                       (int)out->rows, (int)out->cols, (int)in->rows, (int)in->cols);
    if (in->row_stride < in->cols || out->row_stride < out->cols)
        return km_fail(ctx, KM_ERR_INVALID, "calibrate: row stride smaller than cols");
    if (in->data == out->data) {
        if (in->row_stride != out->row_stride)
            return km_fail(ctx, KM_ERR_INVALID,
                           "calibrate: in and out alias with different strides");
        return KM_OK;
    }
    view_span(in->data, in->rows, in->cols, in->row_stride, &ilo, &ihi);
    view_span(out->data, out->rows, out->cols, out->row_stride, &olo, &ohi);
    if (ilo < ohi && olo < ihi)
        return km_fail(ctx, KM_ERR_INVALID, "calibrate: in and out overlap without aliasing");
    return KM_OK;
}

km_status km_calibrate(km_ctx *ctx, const km_calib_params *p, const km_frame *in,
                       const km_frame_mut *out)
{
    km_status st;
    float offset, gain, thr;

    if (p == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "calibrate: NULL parameters");
    if (!isfinite(p->offset) || !isfinite(p->gain) || !isfinite(p->noise_threshold) ||
        p->noise_threshold < 0.0)
        return km_fail(ctx, KM_ERR_INVALID,
                       "calibrate: offset %g, gain %g, noise_threshold %g (finite, "
                       "threshold >= 0)",
                       p->offset, p->gain, p->noise_threshold);
    st = check_views(ctx, in, out);
    if (st != KM_OK)
        return st;
    offset = (float)p->offset;
    gain = (float)p->gain;
    /* Threshold 0 means off; -INF makes the comparison below never true
     * while keeping the loop branch-free. */
    thr = p->noise_threshold > 0.0 ? (float)p->noise_threshold : -INFINITY;
    for (int32_t r = 0; r < in->rows; r++) {
        const float *src = in->data + (ptrdiff_t)r * in->row_stride;
        float *dst = out->data + (ptrdiff_t)r * out->row_stride;
        /* src and dst are either identical or disjoint (checked above), so
         * element-wise read-then-write is safe without restrict. */
        for (int32_t c = 0; c < in->cols; c++) {
            float v = gain * (src[c] - offset);
            /* NaN < thr is false: NaN stays NaN. */
            dst[c] = v < thr ? 0.0f : v;
        }
    }
    return KM_OK;
}
