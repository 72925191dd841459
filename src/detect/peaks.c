/* STUB: to be replaced by the module owner. */
#include <math.h>
#include "internal.h"

void km_peak_params_default(km_peak_params *p)
{
    (void)p;
}

km_status km_detector_create(km_ctx *ctx, int32_t rows, int32_t cols, const km_peak_params *p, km_detector **out)
{
    (void)ctx;
    (void)rows;
    (void)cols;
    (void)p;
    (void)out;
    return KM_ERR_UNSUPPORTED;
}

void km_detector_free(km_detector *det)
{
    (void)det;
}

km_status km_detector_apply(km_ctx *ctx, km_detector *det, const km_frame *frame, const km_mask *mask, km_peak *peaks, size_t capacity, size_t *n_peaks)
{
    (void)ctx;
    (void)det;
    (void)frame;
    (void)mask;
    (void)peaks;
    (void)capacity;
    (void)n_peaks;
    return KM_ERR_UNSUPPORTED;
}

km_status km_find_peaks(km_ctx *ctx, const km_frame *frame, const km_mask *mask, const km_peak_params *p, km_peak *peaks, size_t capacity, size_t *n_peaks)
{
    (void)ctx;
    (void)frame;
    (void)mask;
    (void)p;
    (void)peaks;
    (void)capacity;
    (void)n_peaks;
    return KM_ERR_UNSUPPORTED;
}
