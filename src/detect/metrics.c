/* STUB: to be replaced by the module owner. */
#include <math.h>
#include "internal.h"

km_status km_frame_metrics(km_ctx *ctx, const km_frame *frame, const km_mask *mask, double row_pitch_mm, double col_pitch_mm, double units_to_kpa, double contact_threshold, double saturation, km_metrics *out)
{
    (void)ctx;
    (void)frame;
    (void)mask;
    (void)row_pitch_mm;
    (void)col_pitch_mm;
    (void)units_to_kpa;
    (void)contact_threshold;
    (void)saturation;
    (void)out;
    return KM_ERR_UNSUPPORTED;
}
