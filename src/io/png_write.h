/* Writing an 8-bit RGB PNG through libpng, safely: to a temporary file in
 * the target folder, renamed into place when complete (h5util.h).
 * Internal: used by src/pipeline/render.c. */
#ifndef KM_PNG_WRITE_H
#define KM_PNG_WRITE_H

#include "internal.h"

/* width x height pixels, rgb row-major (3 bytes a pixel, no padding).
 * text: n_text key/value pairs stored as PNG tEXt chunks (Latin-1 keys of
 * 1-79 characters; may be NULL when n_text is 0).  overwrite 1 replaces an
 * existing PNG file; anything else that exists at `path` (another kind of
 * file, a folder) is never replaced.  The file gets mode 0644.  Errors: KM_ERR_INVALID,
 * KM_ERR_CREATE, KM_ERR_IO, KM_ERR_NOMEM; details start with the path. */
km_status km_png_write_rgb(km_ctx *ctx, const char *path, int32_t width, int32_t height,
                           const uint8_t *rgb, const char *const *text_keys,
                           const char *const *text_values, size_t n_text, int overwrite);

#endif
