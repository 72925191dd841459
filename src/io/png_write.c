/* 8-bit RGB PNG encoder over libpng, into memory (see png_write.h). */
#include "png_write.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

typedef struct png_state {
    km_ctx *ctx;
    uint8_t *buf;
    size_t n, cap;
    int nomem;
    int cancelled;       /* km_ctx_cancel() seen between rows */
    char message[256];
} png_state;

/* libpng's default handlers print to stderr; the library must not. */
static void on_error(png_structp png, png_const_charp msg)
{
    png_state *s = png_get_error_ptr(png);
    if (s != NULL) {
        snprintf(s->message, sizeof s->message, "%s", msg != NULL ? msg : "libpng error");
        /* zlib's Z_MEM_ERROR text, libpng's own: out of memory, not a failed write */
        if (msg != NULL && (strstr(msg, "insufficient memory") != NULL || strstr(msg, "ut of memory") != NULL))
            s->nomem = 1;
    }
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void on_write(png_structp png, png_bytep data, size_t len)
{
    png_state *s = png_get_io_ptr(png);
    if (s->n + len > s->cap) {
        size_t cap = s->cap > 0 ? s->cap : 65536;
        while (cap < s->n + len)
            cap *= 2;
        uint8_t *p = km_alloc(s->ctx, cap);
        if (p == NULL) {
            s->nomem = 1;
            png_error(png, "out of memory");
        }
        if (s->n > 0)
            memcpy(p, s->buf, s->n);
        km_free(s->ctx, s->buf);
        s->buf = p;
        s->cap = cap;
    }
    memcpy(s->buf + s->n, data, len);
    s->n += len;
}

static void on_flush(png_structp png)
{
    (void)png;
}

/* All libpng work, isolated so that nothing live across setjmp changes
 * after it.  Returns 0 on success. */
static int encode(png_state *s, int32_t width, int32_t height, const uint8_t *rgb,
                  const char *const *keys, const char *const *values, size_t n_text)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, s, on_error, on_warning);
    png_infop info = NULL;
    if (png == NULL) {
        snprintf(s->message, sizeof s->message, "out of memory");
        return -1;
    }
    info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        snprintf(s->message, sizeof s->message, "out of memory");
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    png_set_write_fn(png, s, on_write, on_flush);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 9);
    for (size_t i = 0; i < n_text; i++) {
        png_text t;
        memset(&t, 0, sizeof t);
        t.compression = PNG_TEXT_COMPRESSION_NONE;
        /* libpng takes non-const pointers but only reads them. */
        t.key = (png_charp)(uintptr_t)keys[i];
        t.text = (png_charp)(uintptr_t)values[i];
        png_set_text(png, info, &t, 1);
    }
    png_write_info(png, info);
    for (int32_t y = 0; y < height; y++) {
        if ((y & 15) == 15 && km_ctx_cancelled(s->ctx)) { /* a SIGINT on a large picture */
            s->cancelled = 1;
            png_destroy_write_struct(&png, &info);
            return -1;
        }
        png_write_row(png, rgb + (size_t)y * (size_t)width * 3u);
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return 0;
}

km_status km_png_encode_rgb(km_ctx *ctx, int32_t width, int32_t height, const uint8_t *rgb,
                            const char *const *text_keys, const char *const *text_values,
                            size_t n_text, uint8_t **out, size_t *out_n)
{
    png_state s;
    memset(&s, 0, sizeof s);
    s.ctx = ctx;
    if (out == NULL || out_n == NULL || rgb == NULL || width < 1 || height < 1 ||
        width > 65536 || height > 65536 ||
        (n_text > 0 && (text_keys == NULL || text_values == NULL)))
        return km_fail(ctx, KM_ERR_INVALID, "png: bad arguments");
    *out = NULL;
    *out_n = 0;
    for (size_t i = 0; i < n_text; i++) {
        size_t k = strlen(text_keys[i]);
        if (k < 1 || k > 79)
            return km_fail(ctx, KM_ERR_INVALID, "png: text key '%s' must have 1-79 characters",
                           text_keys[i]);
    }
    if (encode(&s, width, height, rgb, text_keys, text_values, n_text) != 0) {
        km_free(ctx, s.buf);
        if (s.cancelled)
            return km_fail(ctx, KM_ERR_CANCELLED, "png: cancelled");
        return s.nomem ? km_fail(ctx, KM_ERR_NOMEM, "png: out of memory")
                       : km_fail(ctx, KM_ERR_IO, "png: cannot encode: %s", s.message);
    }
    *out = s.buf;
    *out_n = s.n;
    return KM_OK;
}
