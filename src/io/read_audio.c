/* STUB: to be replaced by the module owner. */
#include "reader_internal.h"
km_status km_open_audio(km_ctx *ctx, km_reader *r, const km_read_options *opt)
{
    (void)r; (void)opt;
    return km_fail(ctx, KM_ERR_UNSUPPORTED, "audio reader not built yet");
}
