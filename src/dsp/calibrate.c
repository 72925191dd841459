/* STUB: to be replaced by the module owner. */
#include <math.h>
#include "internal.h"

double km_units_to_kpa(const char *units)
{
    (void)units;
    return NAN;
}

void km_calib_params_default(km_calib_params *p)
{
    (void)p;
}

km_status km_calibrate(km_ctx *ctx, const km_calib_params *p, const km_frame *in, const km_frame_mut *out)
{
    (void)ctx;
    (void)p;
    (void)in;
    (void)out;
    return KM_ERR_UNSUPPORTED;
}
