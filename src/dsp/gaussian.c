/* STUB: to be replaced by the module owner. */
#include <math.h>
#include "internal.h"

km_status km_border_parse(const char *name, km_border *out)
{
    (void)name;
    (void)out;
    return KM_ERR_UNSUPPORTED;
}

void km_gaussian_params_default(km_gaussian_params *p)
{
    (void)p;
}

km_status km_gaussian_create(km_ctx *ctx, int32_t rows, int32_t cols, const km_gaussian_params *p, km_gaussian **out)
{
    (void)ctx;
    (void)rows;
    (void)cols;
    (void)p;
    (void)out;
    return KM_ERR_UNSUPPORTED;
}

void km_gaussian_free(km_gaussian *g)
{
    (void)g;
}

km_status km_gaussian_apply(km_ctx *ctx, const km_gaussian *g, const km_frame *in, const km_mask *mask, const km_frame_mut *out)
{
    (void)ctx;
    (void)g;
    (void)in;
    (void)mask;
    (void)out;
    return KM_ERR_UNSUPPORTED;
}
