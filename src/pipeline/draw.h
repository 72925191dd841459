/* A small 2-D drawing layer for pictures and reports: the same calls draw
 * through cairo (PNG, PDF) or write SVG elements (SVG, and the report's
 * inline pictures), so text stays text in SVG (searchable, selectable,
 * readable by a screen reader: cairo's own SVG surface writes glyphs as
 * outlines).  Text is measured with cairo and DejaVu Sans in every backend.
 * Coordinates in pixels (PDF: points), y down.  Internal to src/pipeline. */
#ifndef KM_DRAW_H
#define KM_DRAW_H

#include "internal.h"

typedef enum km_draw_format {
    KM_DRAW_PNG = 1,
    KM_DRAW_SVG = 2,
    KM_DRAW_PDF = 3
} km_draw_format;

#define KD_NONE 0xFFFFFFFFu /* no fill / no stroke / no halo */

typedef struct km_draw km_draw;

/* A drawing of w x h (whole pixels) on white.  Errors: KM_ERR_INVALID,
 * KM_ERR_NOMEM, KM_ERR_IO (cairo). */
km_status kd_create(km_ctx *ctx, km_draw_format format, int32_t w, int32_t h, km_draw **out);
void kd_free(km_draw *d);

/* Colours are 0xRRGGBB; KD_NONE leaves that part out. */
void kd_rect(km_draw *d, double x, double y, double w, double h, uint32_t fill, uint32_t stroke,
             double line_w);
void kd_line(km_draw *d, double x0, double y0, double x1, double y1, uint32_t colour,
             double line_w, int dashed);
void kd_circle(km_draw *d, double cx, double cy, double r, uint32_t fill, uint32_t stroke,
               double line_w);
/* A closed (close = 1) or open polygon through n points xy[2k], xy[2k+1]. */
void kd_poly(km_draw *d, const double *xy, size_t n, int close, uint32_t fill, uint32_t stroke,
             double line_w);

/* Text with its baseline at y; anchor -1 = x is the left end, 0 = centre,
 * 1 = right end; angle -90 turns it to read upwards.  halo draws a rim of
 * that colour under it so it reads on any background. */
void kd_text(km_draw *d, double x, double y, double size, int bold, int anchor, double angle,
             uint32_t colour, uint32_t halo, const char *s);
double kd_text_width(km_draw *d, double size, int bold, const char *s);

/* An iw x ih RGB image (3 bytes a pixel) stretched over (x, y, w, h),
 * each source pixel a sharp rectangle (nearest neighbour). */
void kd_image(km_draw *d, double x, double y, double w, double h, const uint8_t *rgb,
              int32_t iw, int32_t ih);

/* SVG only: an element <title> (tooltip / accessible name) for what
 * follows until kd_group_end; ignored elsewhere. */
void kd_group_begin(km_draw *d, const char *css_class, const char *title);
void kd_group_end(km_draw *d);

/* The finished file: PNG (with n_text tEXt chunks), SVG (a standalone
 * document; svg_inline 1 leaves out the XML declaration for embedding in
 * HTML) or PDF.  *out is allocated with ctx's allocator (km_free).  The
 * drawing cannot be used afterwards except by kd_free.  Errors:
 * KM_ERR_NOMEM, KM_ERR_IO (cairo or libpng). */
km_status kd_finish(km_ctx *ctx, km_draw *d, const char *const *text_keys,
                    const char *const *text_values, size_t n_text, int svg_inline,
                    uint8_t **out, size_t *out_n);

/* A growable byte buffer (SVG text, PDF bytes, HTML). */
typedef struct km_buf {
    km_ctx *ctx;
    char *p;
    size_t n, cap;
    int failed;                /* an allocation failed: the content is cut */
} km_buf;
void km_buf_put(km_buf *b, const void *data, size_t n);
void km_buf_printf(km_buf *b, const char *fmt, ...) KM_PRINTF(2, 3);
/* Text with &, <, >, " escaped for XML/HTML. */
void km_buf_escaped(km_buf *b, const char *s);
/* data as base64. */
void km_buf_base64(km_buf *b, const uint8_t *data, size_t n);

#endif
