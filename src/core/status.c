/* Status text, version, size arithmetic. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

const char *km_strerror(km_status status)
{
    switch (status) {
    case KM_OK: return "success";
    case KM_ERR_INVALID: return "invalid argument";
    case KM_ERR_NOMEM: return "out of memory";
    case KM_ERR_CAPACITY: return "output buffer too small";
    case KM_ERR_FORMAT: return "malformed input data";
    case KM_ERR_IO: return "input/output error";
    case KM_ERR_NOT_FOUND: return "input not found";
    case KM_ERR_UNSUPPORTED: return "not supported";
    case KM_ERR_LIMIT: return "size beyond limits";
    case KM_ERR_CREATE: return "cannot create output";
    case KM_ERR_CANCELLED: return "cancelled";
    case KM_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

const char *km_version_string(void)
{
    return KM_VERSION_STRING;
}

int km_version_number(void)
{
    return KM_VERSION_MAJOR * 10000 + KM_VERSION_MINOR * 100 + KM_VERSION_PATCH;
}

int km_size_mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

km_status km_check_shape(km_ctx *ctx, int64_t rows, int64_t cols, const char *what)
{
    if (rows <= 0 || cols <= 0)
        return km_fail(ctx, KM_ERR_INVALID, "%s: grid %lldx%lld is empty", what,
                       (long long)rows, (long long)cols);
    if (rows > KM_MAX_DIM || cols > KM_MAX_DIM || rows * cols > KM_MAX_TAXELS)
        return km_fail(ctx, KM_ERR_LIMIT, "%s: grid %lldx%lld exceeds the limit (%d per side, %d taxels)",
                       what, (long long)rows, (long long)cols, KM_MAX_DIM, KM_MAX_TAXELS);
    return KM_OK;
}

const char *km_open_reason(int err)
{
    return strerror(err == ENOTDIR ? ENOENT : err);
}
