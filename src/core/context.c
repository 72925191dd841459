/* Context: error detail, allocator and cancellation flag. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define KM_ERRBUF 1024

struct km_ctx {
    km_allocator alloc;
    km_status last_status;
    int last_errno; /* errno when an OS-level failure was recorded, else 0 */
    atomic_int cancelled;
    char detail[KM_ERRBUF];
};

static void *default_alloc(void *opaque, size_t size)
{
    (void)opaque;
    return malloc(size ? size : 1);
}

static void default_free(void *opaque, void *ptr)
{
    (void)opaque;
    free(ptr);
}

km_status km_ctx_create(km_ctx **out)
{
    return km_ctx_create_with(NULL, out);
}

km_status km_ctx_create_with(const km_allocator *allocator, km_ctx **out)
{
    km_allocator a = {default_alloc, default_free, NULL};
    km_ctx *ctx;

    if (out == NULL)
        return KM_ERR_INVALID;
    *out = NULL;
    if (allocator != NULL) {
        if (allocator->alloc == NULL || allocator->free == NULL)
            return KM_ERR_INVALID;
        a = *allocator;
    }
    ctx = a.alloc(a.opaque, sizeof *ctx);
    if (ctx == NULL)
        return KM_ERR_NOMEM;
    memset(ctx, 0, sizeof *ctx);
    ctx->alloc = a;
    ctx->last_status = KM_OK;
    atomic_init(&ctx->cancelled, 0);
    *out = ctx;
    return KM_OK;
}

void km_ctx_free(km_ctx *ctx)
{
    if (ctx == NULL)
        return;
    km_allocator a = ctx->alloc;
    a.free(a.opaque, ctx);
}

const char *km_ctx_last_error(const km_ctx *ctx)
{
    return ctx == NULL ? "" : ctx->detail;
}

km_status km_ctx_last_status(const km_ctx *ctx)
{
    return ctx == NULL ? KM_OK : ctx->last_status;
}

int km_ctx_last_errno(const km_ctx *ctx)
{
    return ctx == NULL ? 0 : ctx->last_errno;
}

void km_ctx_clear_error(km_ctx *ctx)
{
    if (ctx == NULL)
        return;
    ctx->last_status = KM_OK;
    ctx->last_errno = 0;
    ctx->detail[0] = '\0';
}

void km_ctx_cancel(km_ctx *ctx)
{
    if (ctx != NULL)
        atomic_store(&ctx->cancelled, 1);
}

void km_ctx_reset_cancel(km_ctx *ctx)
{
    if (ctx != NULL)
        atomic_store(&ctx->cancelled, 0);
}

int km_ctx_cancelled(const km_ctx *ctx)
{
    return ctx != NULL && atomic_load(&((km_ctx *)ctx)->cancelled) != 0;
}

/* Record a failure; `err` is its errno when the caller names it (explicit),
   else the errno the OS left (kept only when the detail carries its text). */
static km_status record(km_ctx *ctx, km_status status, int err, int is_explicit, const char *fmt,
                        va_list ap)
{
    if (ctx == NULL)
        return status;
    ctx->last_status = status;
    if (fmt == NULL) {
        snprintf(ctx->detail, sizeof ctx->detail, "%s", km_strerror(status));
    } else {
        vsnprintf(ctx->detail, sizeof ctx->detail, fmt, ap);
    }
    int os_level = status == KM_ERR_NOT_FOUND || status == KM_ERR_IO || status == KM_ERR_CREATE;
    ctx->last_errno = !os_level || err == 0                             ? 0
                      : is_explicit || strstr(ctx->detail, strerror(err)) ? err
                                                                        : 0;
    return status;
}

km_status km_vfail(km_ctx *ctx, km_status status, const char *fmt, va_list ap)
{
    return record(ctx, status, errno, 0, fmt, ap); /* errno first: formatting may change it */
}

km_status km_fail(km_ctx *ctx, km_status status, const char *fmt, ...)
{
    int err = errno;
    va_list ap;
    va_start(ap, fmt);
    record(ctx, status, err, 0, fmt, ap);
    va_end(ap);
    return status;
}

km_status km_fail_errno(km_ctx *ctx, km_status status, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record(ctx, status, err, 1, fmt, ap);
    va_end(ap);
    return status;
}

void km_error_prefix(km_ctx *ctx, const char *prefix)
{
    char tmp[KM_ERRBUF];
    size_t n;
    if (ctx == NULL || prefix == NULL)
        return;
    /* The detail is cut rather than the prefix: the file name matters most. */
    n = strlen(prefix);
    if (n > KM_ERRBUF / 2)
        n = KM_ERRBUF / 2;
    memcpy(tmp, prefix, n);
    tmp[n] = '\0';
    strncat(tmp, ": ", sizeof tmp - strlen(tmp) - 1);
    strncat(tmp, ctx->detail, sizeof tmp - strlen(tmp) - 1);
    memcpy(ctx->detail, tmp, sizeof tmp);
}

void *km_alloc(km_ctx *ctx, size_t size)
{
    void *p;
    if (ctx == NULL)
        return malloc(size ? size : 1);
    p = ctx->alloc.alloc(ctx->alloc.opaque, size ? size : 1);
    if (p == NULL)
        km_fail(ctx, KM_ERR_NOMEM, "out of memory allocating %zu bytes", size);
    return p;
}

void *km_calloc(km_ctx *ctx, size_t count, size_t size)
{
    size_t total;
    void *p;
    if (!km_size_mul(count, size, &total)) {
        km_fail(ctx, KM_ERR_LIMIT, "allocation of %zu x %zu bytes overflows", count, size);
        return NULL;
    }
    p = km_alloc(ctx, total);
    if (p != NULL)
        memset(p, 0, total);
    return p;
}

void km_free(km_ctx *ctx, void *ptr)
{
    if (ptr == NULL)
        return;
    if (ctx == NULL)
        free(ptr);
    else
        ctx->alloc.free(ctx->alloc.opaque, ptr);
}

km_alloc_ref km_ctx_alloc_ref(const km_ctx *ctx)
{
    km_alloc_ref r;
    if (ctx == NULL) {
        r.a.alloc = default_alloc;
        r.a.free = default_free;
        r.a.opaque = NULL;
    } else {
        r.a = ctx->alloc;
    }
    return r;
}

void *km_ref_alloc(const km_alloc_ref *ref, size_t size)
{
    return ref->a.alloc(ref->a.opaque, size ? size : 1);
}

void km_ref_free(const km_alloc_ref *ref, void *ptr)
{
    if (ptr != NULL)
        ref->a.free(ref->a.opaque, ptr);
}

char *km_ref_strdup(const km_alloc_ref *ref, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = km_ref_alloc(ref, n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}
