/* 8-bit RGB PNG writer over libpng (see png_write.h). */
#define _POSIX_C_SOURCE 200809L

#include "png_write.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_out.h"

typedef struct png_state {
    char message[256];
} png_state;

/* libpng's default handlers print to stderr; the library must not. */
static void on_error(png_structp png, png_const_charp msg)
{
    png_state *s = png_get_error_ptr(png);
    if (s != NULL)
        snprintf(s->message, sizeof s->message, "%s", msg != NULL ? msg : "libpng error");
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static int is_png_file(const char *path)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8];
    FILE *f = fopen(path, "rb");
    int ok = 0;
    if (f == NULL)
        return 0;
    ok = fread(head, 1, sizeof head, f) == sizeof head && memcmp(head, sig, sizeof sig) == 0;
    fclose(f);
    return ok;
}

static km_status check_target(km_ctx *ctx, const char *path, int overwrite)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return errno == ENOENT ? KM_OK
                               : km_fail(ctx, KM_ERR_CREATE, "%s: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return km_fail(ctx, KM_ERR_CREATE, "%s: is a folder", path);
    if (!overwrite)
        return km_fail(ctx, KM_ERR_CREATE, "%s: exists (and overwriting was not asked)", path);
    if (!S_ISREG(sb.st_mode) || !is_png_file(path))
        return km_fail(ctx, KM_ERR_CREATE, "%s: exists and is not a PNG file: not replacing it",
                       path);
    return KM_OK;
}

/* All libpng work, isolated so that nothing live across setjmp changes
 * after it.  Returns 0 on success. */
static int encode(FILE *fp, png_state *s, int32_t width, int32_t height, const uint8_t *rgb,
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
    png_init_io(png, fp);
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
    for (int32_t y = 0; y < height; y++)
        png_write_row(png, rgb + (size_t)y * (size_t)width * 3u);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return 0;
}

km_status km_png_write_rgb(km_ctx *ctx, const char *path, int32_t width, int32_t height,
                           const uint8_t *rgb, const char *const *text_keys,
                           const char *const *text_values, size_t n_text, int overwrite)
{
    km_status st = KM_OK;
    png_state s;
    km_atomic_out out;
    FILE *fp = NULL;

    memset(&s, 0, sizeof s);
    if (path == NULL || rgb == NULL || width < 1 || height < 1 || width > 65536 ||
        height > 65536 || (n_text > 0 && (text_keys == NULL || text_values == NULL)))
        return km_fail(ctx, KM_ERR_INVALID, "png: bad arguments");
    for (size_t i = 0; i < n_text; i++) {
        size_t k = strlen(text_keys[i]);
        if (k < 1 || k > 79)
            return km_fail(ctx, KM_ERR_INVALID, "png: text key '%s' must have 1-79 characters",
                           text_keys[i]);
    }
    st = check_target(ctx, path, overwrite);
    if (st != KM_OK)
        return st;
    km_alloc_ref alloc = km_ctx_alloc_ref(ctx);
    st = km_atomic_open(ctx, &alloc, path, NULL, overwrite, &out);
    if (st != KM_OK)
        return st;
    fp = fdopen(out.fd, "wb");
    if (fp == NULL) {
        st = km_fail(ctx, KM_ERR_CREATE, "%s: cannot write: %s", path, strerror(errno));
        goto done;
    }
    out.fd = -1; /* owned by the FILE now */
    if (encode(fp, &s, width, height, rgb, text_keys, text_values, n_text) != 0) {
        st = km_fail(ctx, KM_ERR_IO, "%s: cannot write the PNG: %s", path, s.message);
        goto done;
    }
    if (fflush(fp) != 0 || ferror(fp)) {
        st = km_fail(ctx, KM_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        goto done;
    }
    if (fclose(fp) != 0) {
        fp = NULL;
        st = km_fail(ctx, KM_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        goto done;
    }
    fp = NULL;
    st = km_atomic_commit(ctx, &out);
done:
    if (fp != NULL)
        fclose(fp);
    km_atomic_discard(&out);
    return st;
}
