/* Frame metrics: one row of the /metrics table (docs/ALGORITHMS.md section 4). */
#include <math.h>

#include "internal.h"

static km_status check_args(km_ctx *ctx, const km_frame *frame, const km_mask *mask,
                            double row_pitch_mm, double col_pitch_mm, const km_metrics *out)
{
    if (frame == NULL || out == NULL || frame->data == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "frame metrics: frame or output is NULL");
    if (frame->rows < 1 || frame->cols < 1 || frame->row_stride < frame->cols)
        return km_fail(ctx, KM_ERR_INVALID, "frame metrics: bad frame shape %dx%d stride %td",
                       (int)frame->rows, (int)frame->cols, frame->row_stride);
    if (mask != NULL && mask->data != NULL &&
        (mask->rows != frame->rows || mask->cols != frame->cols || mask->row_stride < mask->cols))
        return km_fail(ctx, KM_ERR_INVALID, "frame metrics: mask shape %dx%d differs from frame %dx%d",
                       (int)mask->rows, (int)mask->cols, (int)frame->rows, (int)frame->cols);
    if (!(row_pitch_mm > 0.0) || !(col_pitch_mm > 0.0) || !isfinite(row_pitch_mm) ||
        !isfinite(col_pitch_mm))
        return km_fail(ctx, KM_ERR_INVALID, "frame metrics: pitch must be finite and > 0 (%g x %g mm)",
                       row_pitch_mm, col_pitch_mm);
    return KM_OK;
}

km_status km_frame_metrics(km_ctx *ctx, const km_frame *frame, const km_mask *mask,
                           double row_pitch_mm, double col_pitch_mm, double units_to_kpa,
                           double contact_threshold, double saturation, km_metrics *out)
{
    km_status st = check_args(ctx, frame, mask, row_pitch_mm, col_pitch_mm, out);
    if (st != KM_OK)
        return st;

    double peak = -INFINITY, sum = 0.0, wsum = 0.0, wx = 0.0, wy = 0.0;
    int64_t n_valid = 0, n_contact = 0;
    int saturated = 0;
    for (int32_t r = 0; r < frame->rows; r++) {
        const float *row = frame->data + (ptrdiff_t)r * frame->row_stride;
        for (int32_t c = 0; c < frame->cols; c++) {
            double v = row[c];
            if (!km_mask_at(mask, r, c) || !isfinite(v))
                continue;
            n_valid++;
            sum += v;
            if (v > peak)
                peak = v;
            if (v >= saturation)
                saturated = 1;
            if (v > contact_threshold) {
                n_contact++;
                /* Weights are the values themselves: only contact taxels
                   count, so a negative baseline cannot pull the centre. */
                wsum += v;
                wx += v * (double)c;
                wy += v * (double)r;
            }
        }
    }

    double area = row_pitch_mm * col_pitch_mm;
    out->peak = n_valid > 0 ? peak : NAN;
    out->mean = n_valid > 0 ? sum / (double)n_valid : NAN;
    out->contact_area_mm2 = (double)n_contact * area;
    /* kPa * mm^2 = 1e3 N/m^2 * 1e-6 m^2 = 1e-3 N. */
    out->force_n = isfinite(units_to_kpa) ? wsum * units_to_kpa * area * 1e-3 : NAN;
    if (n_contact > 0 && wsum > 0.0) {
        out->cop_x_mm = wx / wsum * col_pitch_mm;
        out->cop_y_mm = wy / wsum * row_pitch_mm;
    } else {
        out->cop_x_mm = NAN;
        out->cop_y_mm = NAN;
    }
    out->flags = 0;
    if (saturated)
        out->flags |= KM_FRAME_SATURATED;
    if (n_contact == 0)
        out->flags |= KM_FRAME_EMPTY;
    return KM_OK;
}
