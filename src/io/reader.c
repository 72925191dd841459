/* STUB: to be replaced by the module owner. */
#include <math.h>
#include "internal.h"

const char *km_format_name(km_format format)
{
    (void)format;
    return NULL;
}

km_status km_format_parse(const char *name, km_format *out)
{
    (void)name;
    (void)out;
    return KM_ERR_UNSUPPORTED;
}

void km_read_options_default(km_read_options *opt)
{
    (void)opt;
}

km_status km_reader_open(km_ctx *ctx, const char *path, const km_read_options *opt, km_reader **out)
{
    (void)ctx;
    (void)path;
    (void)opt;
    (void)out;
    return KM_ERR_UNSUPPORTED;
}

void km_reader_free(km_reader *reader)
{
    (void)reader;
}

void km_reader_info(const km_reader *reader, km_session_info *out)
{
    (void)reader;
    (void)out;
}

const uint8_t *km_reader_mask(const km_reader *reader)
{
    (void)reader;
    return NULL;
}

size_t km_reader_header_count(const km_reader *reader)
{
    (void)reader;
    return 0;
}

void km_reader_header_get(const km_reader *reader, size_t index, const char **key, const char **value)
{
    (void)reader;
    (void)index;
    (void)key;
    (void)value;
}

km_status km_reader_read(km_ctx *ctx, km_reader *reader, float *frames, double *times, int64_t max_frames, int64_t *n_read)
{
    (void)ctx;
    (void)reader;
    (void)frames;
    (void)times;
    (void)max_frames;
    (void)n_read;
    return KM_ERR_UNSUPPORTED;
}
