/* Encoding an 8-bit RGB PNG in memory through libpng (the bytes are then
 * written with file_out.h or handed to the caller).
 * Internal: used by src/pipeline/draw.c. */
#ifndef KM_PNG_WRITE_H
#define KM_PNG_WRITE_H

#include "internal.h"

/* width x height pixels, rgb row-major (3 bytes a pixel, no padding).
 * text: n_text key/value pairs stored as PNG tEXt chunks (Latin-1 keys of
 * 1-79 characters; may be NULL when n_text is 0).  *out gets the encoded
 * file (allocated with ctx's allocator: km_free), *out_n its size.
 * Errors: KM_ERR_INVALID, KM_ERR_IO (libpng), KM_ERR_NOMEM. */
km_status km_png_encode_rgb(km_ctx *ctx, int32_t width, int32_t height, const uint8_t *rgb,
                            const char *const *text_keys, const char *const *text_values,
                            size_t n_text, uint8_t **out, size_t *out_n);

#endif
