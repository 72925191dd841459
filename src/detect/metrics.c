/* Frame metrics: one row of the /metrics table (docs/ALGORITHMS.md section 4). */
#include <float.h>
#include <math.h>
#include <string.h>

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

/* The sums over valid taxels, in raster order. */
typedef struct metrics_acc {
    double peak, sum, wsum, wx, wy;
    int64_t n_valid, n_contact;
    int saturated;
} metrics_acc;

/* v when keep is 1, else +0.0, by a bit mask (no branch). */
static inline double keep_if(double v, int keep)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    u &= 0u - (uint64_t)keep;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* One row into the sums, without a data-dependent branch: a taxel that does
 * not count adds +0.0, which leaves each sum's bits as they were (a sum
 * starts at +0.0 and a rounded sum is -0.0 only when both terms are, so
 * none is ever -0.0), so the result is the one of skipping it.  Noise
 * around the contact threshold made those branches mispredict. */
static inline void add_row(metrics_acc *a, const float *row, const uint8_t *mrow, int32_t cols,
                           int32_t r, double contact_threshold, double saturation)
{
    double peak = a->peak, sum = a->sum, wsum = a->wsum, wx = a->wx, wy = a->wy;
    int64_t n_valid = a->n_valid, n_contact = a->n_contact;
    int saturated = a->saturated;
    double dr = (double)r;
    for (int32_t c = 0; c < cols; c++) {
        double v = row[c];
        int ok = (fabs(v) <= DBL_MAX) & (mrow == NULL || mrow[c] != 0);
        int contact = ok & (v > contact_threshold);
        double x = keep_if(v, ok), w = keep_if(v, contact);
        double pv = ok ? v : -INFINITY;
        n_valid += ok;
        sum += x;
        peak = pv > peak ? pv : peak;
        saturated |= ok & (v >= saturation);
        /* Weights are the values themselves: only contact taxels count,
           so a negative baseline cannot pull the centre. */
        n_contact += contact;
        wsum += w;
        wx += w * (double)c;
        wy += w * dr;
    }
    a->peak = peak;
    a->sum = sum;
    a->wsum = wsum;
    a->wx = wx;
    a->wy = wy;
    a->n_valid = n_valid;
    a->n_contact = n_contact;
    a->saturated = saturated;
}

km_status km_frame_metrics(km_ctx *ctx, const km_frame *frame, const km_mask *mask,
                           double row_pitch_mm, double col_pitch_mm, double units_to_kpa,
                           double contact_threshold, double saturation, km_metrics *out)
{
    km_status st = check_args(ctx, frame, mask, row_pitch_mm, col_pitch_mm, out);
    if (st != KM_OK)
        return st;

    metrics_acc a = {-INFINITY, 0.0, 0.0, 0.0, 0.0, 0, 0, 0};
    for (int32_t r = 0; r < frame->rows; r++) {
        const float *row = frame->data + (ptrdiff_t)r * frame->row_stride;
        if (mask == NULL || mask->data == NULL)
            add_row(&a, row, NULL, frame->cols, r, contact_threshold, saturation);
        else
            add_row(&a, row, mask->data + (ptrdiff_t)r * mask->row_stride, frame->cols, r,
                    contact_threshold, saturation);
    }

    double area = row_pitch_mm * col_pitch_mm;
    out->peak = a.n_valid > 0 ? a.peak : NAN;
    out->mean = a.n_valid > 0 ? a.sum / (double)a.n_valid : NAN;
    out->contact_area_mm2 = (double)a.n_contact * area;
    /* kPa * mm^2 = 1e3 N/m^2 * 1e-6 m^2 = 1e-3 N. */
    out->force_n = isfinite(units_to_kpa) ? a.wsum * units_to_kpa * area * 1e-3 : NAN;
    if (a.n_contact > 0 && a.wsum > 0.0) {
        out->cop_x_mm = a.wx / a.wsum * col_pitch_mm;
        out->cop_y_mm = a.wy / a.wsum * row_pitch_mm;
    } else {
        out->cop_x_mm = NAN;
        out->cop_y_mm = NAN;
    }
    out->flags = 0;
    if (a.saturated)
        out->flags |= KM_FRAME_SATURATED;
    if (a.n_contact == 0)
        out->flags |= KM_FRAME_EMPTY;
    return KM_OK;
}
