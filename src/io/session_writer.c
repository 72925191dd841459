/* STUB: to be replaced by the module owner. */
#include "internal.h"
km_status km_session_writer_create(km_ctx *ctx, const char *path, const km_session_info *info,
                                   const uint8_t *mask, int32_t overwrite, km_session_writer **out)
{
    (void)path; (void)info; (void)mask; (void)overwrite; (void)out;
    return km_fail(ctx, KM_ERR_UNSUPPORTED, "not yet");
}
km_status km_session_writer_append(km_ctx *ctx, km_session_writer *w, const float *frames,
                                   const double *times, int64_t n)
{
    (void)w; (void)frames; (void)times; (void)n;
    return km_fail(ctx, KM_ERR_UNSUPPORTED, "not yet");
}
km_status km_session_writer_set_truth(km_ctx *ctx, km_session_writer *w, const double *x_mm,
                                      const double *y_mm, const double *sigma_mm,
                                      const double *amplitude_kpa, size_t n)
{
    (void)w; (void)x_mm; (void)y_mm; (void)sigma_mm; (void)amplitude_kpa; (void)n;
    return km_fail(ctx, KM_ERR_UNSUPPORTED, "not yet");
}
km_status km_session_writer_commit(km_ctx *ctx, km_session_writer *w)
{
    (void)w;
    return km_fail(ctx, KM_ERR_UNSUPPORTED, "not yet");
}
void km_session_writer_free(km_session_writer *w)
{
    (void)w;
}
