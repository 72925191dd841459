/* STUB: to be replaced by the module owner. */
#include <math.h>
#include "internal.h"

void km_process_params_default(km_process_params *p)
{
    (void)p;
}

km_status km_process(km_ctx *ctx, const char *input, const char *output, const km_process_params *p, km_process_summary *summary)
{
    (void)ctx;
    (void)input;
    (void)output;
    (void)p;
    (void)summary;
    return KM_ERR_UNSUPPORTED;
}
