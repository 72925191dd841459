/* Drawing through cairo or as SVG text (see draw.h). */
#include "draw.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cairo_dyn.h"
#include "io/file_out.h"
#include "io/png_write.h"

#define FONT_FAMILY "DejaVu Sans"
#define SVG_FONTS "'DejaVu Sans', Verdana, 'Helvetica Neue', Arial, sans-serif"
#define KD_PI 3.14159265358979323846

struct km_draw {
    km_ctx *ctx;
    km_draw_format format;
    int32_t w, h;
    cairo_surface_t *surface; /* PNG, PDF: the drawing; SVG: a 1x1 surface to measure text */
    cairo_t *cr;
    km_buf out;               /* SVG text, PDF bytes */
};

/* ---- byte buffer --------------------------------------------------------- */

void km_buf_put(km_buf *b, const void *data, size_t n)
{
    if (b->failed || n == 0)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap > 0 ? b->cap : 4096;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = km_alloc(b->ctx, cap);
        if (p == NULL) {
            b->failed = 1;
            return;
        }
        if (b->n > 0)
            memcpy(p, b->p, b->n);
        km_free(b->ctx, b->p);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
    b->p[b->n] = '\0';
}

void km_buf_printf(km_buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        km_buf_put(b, small, (size_t)n);
        return;
    }
    char *big = km_alloc(b->ctx, (size_t)n + 1);
    if (big == NULL) {
        b->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    km_buf_put(b, big, (size_t)n);
    km_free(b->ctx, big);
}

void km_buf_escaped(km_buf *b, const char *s)
{
    const char *run = s;
    for (; *s != '\0'; s++) {
        const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;"
                        : *s == '"' ? "&quot;" : NULL;
        if (rep == NULL && (unsigned char)*s >= 0x20)
            continue;
        km_buf_put(b, run, (size_t)(s - run));
        if (rep != NULL)
            km_buf_put(b, rep, strlen(rep));
        else if (*s == '\t' || *s == '\n')
            km_buf_put(b, " ", 1); /* other control bytes are dropped */
        run = s + 1;
    }
    km_buf_put(b, run, (size_t)(s - run));
}

void km_buf_base64(km_buf *b, const uint8_t *data, size_t n)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char quad[4];
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < n)
            v |= data[i + 2];
        quad[0] = A[(v >> 18) & 63];
        quad[1] = A[(v >> 12) & 63];
        quad[2] = i + 1 < n ? A[(v >> 6) & 63] : '=';
        quad[3] = i + 2 < n ? A[v & 63] : '=';
        km_buf_put(b, quad, 4);
    }
}

/* ---- helpers ------------------------------------------------------------- */

static void set_rgb(cairo_t *cr, uint32_t c)
{
    cairo_set_source_rgb(cr, ((c >> 16) & 255) / 255.0, ((c >> 8) & 255) / 255.0,
                         (c & 255) / 255.0);
}

static void svg_paint(km_draw *d, uint32_t fill, uint32_t stroke, double line_w)
{
    if (fill == KD_NONE)
        km_buf_printf(&d->out, " fill=\"none\"");
    else
        km_buf_printf(&d->out, " fill=\"#%06x\"", (unsigned)fill);
    if (stroke != KD_NONE)
        km_buf_printf(&d->out, " stroke=\"#%06x\" stroke-width=\"%.3g\"", (unsigned)stroke,
                      line_w);
}

static void cairo_paint_path(cairo_t *cr, uint32_t fill, uint32_t stroke, double line_w)
{
    if (fill != KD_NONE) {
        set_rgb(cr, fill);
        if (stroke != KD_NONE)
            cairo_fill_preserve(cr);
        else
            cairo_fill(cr);
    }
    if (stroke != KD_NONE) {
        set_rgb(cr, stroke);
        cairo_set_line_width(cr, line_w);
        cairo_stroke(cr);
    }
    cairo_new_path(cr);
}

static cairo_status_t to_buf(void *closure, const unsigned char *data, unsigned int n)
{
    km_buf *b = closure;
    km_buf_put(b, data, n);
    return b->failed ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

/* ---- create / free ------------------------------------------------------- */

km_status kd_create(km_ctx *ctx, km_draw_format format, int32_t w, int32_t h, km_draw **out)
{
    km_status st = KM_OK;
    km_draw *d;
    *out = NULL;
    if (w < 1 || h < 1 || w > 32768 || h > 32768 || format < KM_DRAW_PNG || format > KM_DRAW_PDF)
        return km_fail(ctx, KM_ERR_INVALID, "draw: bad size %d x %d or format", (int)w, (int)h);
    if ((st = km_cairo_load(ctx)) != KM_OK)
        return st;
    d = km_calloc(ctx, 1, sizeof *d);
    if (d == NULL)
        return KM_ERR_NOMEM;
    d->ctx = ctx;
    d->format = format;
    d->w = w;
    d->h = h;
    d->out.ctx = ctx;
    if (format == KM_DRAW_PNG)
        d->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    else if (format == KM_DRAW_PDF)
        d->surface = cairo_pdf_surface_create_for_stream(to_buf, &d->out, w, h);
    else
        d->surface = cairo_image_surface_create(CAIRO_FORMAT_A8, 1, 1);
    if (cairo_surface_status(d->surface) != CAIRO_STATUS_SUCCESS) {
        st = km_fail(ctx, KM_ERR_NOMEM, "draw: cairo: %s",
                     cairo_status_to_string(cairo_surface_status(d->surface)));
        goto done;
    }
    d->cr = cairo_create(d->surface);
    if (cairo_status(d->cr) != CAIRO_STATUS_SUCCESS) {
        st = km_fail(ctx, KM_ERR_NOMEM, "draw: cairo: %s",
                     cairo_status_to_string(cairo_status(d->cr)));
        goto done;
    }
    if (format == KM_DRAW_SVG) {
        km_buf_printf(&d->out,
                      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                      "viewBox=\"0 0 %d %d\" font-family=\"%s\" role=\"img\">\n"
                      "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n",
                      (int)w, (int)h, (int)w, (int)h, SVG_FONTS);
    } else {
        cairo_set_source_rgb(d->cr, 1, 1, 1);
        cairo_paint(d->cr);
    }
done:
    if (st != KM_OK) {
        kd_free(d);
        return st;
    }
    *out = d;
    return KM_OK;
}

void kd_free(km_draw *d)
{
    if (d == NULL)
        return;
    if (d->cr != NULL)
        cairo_destroy(d->cr);
    if (d->surface != NULL)
        cairo_surface_destroy(d->surface);
    km_free(d->ctx, d->out.p);
    km_free(d->ctx, d);
}

/* ---- primitives ---------------------------------------------------------- */

void kd_rect(km_draw *d, double x, double y, double w, double h, uint32_t fill, uint32_t stroke,
             double line_w)
{
    if (d->format == KM_DRAW_SVG) {
        km_buf_printf(&d->out, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"", x,
                      y, w, h);
        svg_paint(d, fill, stroke, line_w);
        km_buf_printf(&d->out, "/>\n");
        return;
    }
    cairo_rectangle(d->cr, x, y, w, h);
    cairo_paint_path(d->cr, fill, stroke, line_w);
}

void kd_line(km_draw *d, double x0, double y0, double x1, double y1, uint32_t colour,
             double line_w, int dashed)
{
    if (d->format == KM_DRAW_SVG) {
        km_buf_printf(&d->out,
                      "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#%06x\" "
                      "stroke-width=\"%.3g\"%s/>\n",
                      x0, y0, x1, y1, (unsigned)colour, line_w,
                      dashed ? " stroke-dasharray=\"4 3\"" : "");
        return;
    }
    if (dashed) {
        static const double dash[2] = {4.0, 3.0};
        cairo_set_dash(d->cr, dash, 2, 0.0);
    }
    cairo_move_to(d->cr, x0, y0);
    cairo_line_to(d->cr, x1, y1);
    cairo_paint_path(d->cr, KD_NONE, colour, line_w);
    cairo_set_dash(d->cr, NULL, 0, 0.0);
}

void kd_circle(km_draw *d, double cx, double cy, double r, uint32_t fill, uint32_t stroke,
               double line_w)
{
    if (d->format == KM_DRAW_SVG) {
        km_buf_printf(&d->out, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.2f\"", cx, cy, r);
        svg_paint(d, fill, stroke, line_w);
        km_buf_printf(&d->out, "/>\n");
        return;
    }
    cairo_new_sub_path(d->cr);
    cairo_arc(d->cr, cx, cy, r, 0.0, 2.0 * KD_PI);
    cairo_paint_path(d->cr, fill, stroke, line_w);
}

void kd_poly(km_draw *d, const double *xy, size_t n, int close, uint32_t fill, uint32_t stroke,
             double line_w)
{
    if (n < 2)
        return;
    if (d->format == KM_DRAW_SVG) {
        km_buf_printf(&d->out, "<%s points=\"", close ? "polygon" : "polyline");
        for (size_t k = 0; k < n; k++)
            km_buf_printf(&d->out, "%s%.2f,%.2f", k ? " " : "", xy[2 * k], xy[2 * k + 1]);
        km_buf_printf(&d->out, "\"");
        svg_paint(d, close ? fill : KD_NONE, stroke, line_w);
        km_buf_printf(&d->out, "%s/>\n", close ? "" : " stroke-linejoin=\"round\"");
        return;
    }
    cairo_move_to(d->cr, xy[0], xy[1]);
    for (size_t k = 1; k < n; k++)
        cairo_line_to(d->cr, xy[2 * k], xy[2 * k + 1]);
    if (close)
        cairo_close_path(d->cr);
    cairo_set_line_join(d->cr, CAIRO_LINE_JOIN_ROUND);
    cairo_paint_path(d->cr, close ? fill : KD_NONE, stroke, line_w);
}

static void select_font(cairo_t *cr, double size, int bold)
{
    cairo_select_font_face(cr, FONT_FAMILY, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

double kd_text_width(km_draw *d, double size, int bold, const char *s)
{
    cairo_text_extents_t e;
    select_font(d->cr, size, bold);
    cairo_text_extents(d->cr, s, &e);
    return e.x_advance;
}

void kd_text(km_draw *d, double x, double y, double size, int bold, int anchor, double angle,
             uint32_t colour, uint32_t halo, const char *s)
{
    if (s == NULL || s[0] == '\0')
        return;
    if (d->format == KM_DRAW_SVG) {
        km_buf_printf(&d->out, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%.3g\" fill=\"#%06x\"",
                      x, y, size, (unsigned)colour);
        if (bold)
            km_buf_printf(&d->out, " font-weight=\"bold\"");
        if (anchor != -1)
            km_buf_printf(&d->out, " text-anchor=\"%s\"", anchor == 0 ? "middle" : "end");
        if (angle != 0.0)
            km_buf_printf(&d->out, " transform=\"rotate(%.3g %.2f %.2f)\"", angle, x, y);
        if (halo != KD_NONE)
            km_buf_printf(&d->out,
                          " stroke=\"#%06x\" stroke-width=\"3\" stroke-linejoin=\"round\" "
                          "paint-order=\"stroke\"",
                          (unsigned)halo);
        km_buf_printf(&d->out, ">");
        km_buf_escaped(&d->out, s);
        km_buf_printf(&d->out, "</text>\n");
        return;
    }
    double w = anchor == -1 ? 0.0 : kd_text_width(d, size, bold, s);
    cairo_save(d->cr);
    select_font(d->cr, size, bold);
    cairo_translate(d->cr, x, y);
    if (angle != 0.0)
        cairo_rotate(d->cr, angle * KD_PI / 180.0);
    cairo_move_to(d->cr, anchor == 0 ? -w / 2.0 : anchor == 1 ? -w : 0.0, 0.0);
    if (halo != KD_NONE) {
        cairo_text_path(d->cr, s);
        set_rgb(d->cr, halo);
        cairo_set_line_width(d->cr, 3.0);
        cairo_set_line_join(d->cr, CAIRO_LINE_JOIN_ROUND);
        cairo_stroke_preserve(d->cr);
        set_rgb(d->cr, colour);
        cairo_fill(d->cr);
    } else {
        set_rgb(d->cr, colour);
        cairo_show_text(d->cr, s);
    }
    cairo_restore(d->cr);
}

void kd_image(km_draw *d, double x, double y, double w, double h, const uint8_t *rgb,
              int32_t iw, int32_t ih)
{
    if (iw < 1 || ih < 1)
        return;
    if (d->format == KM_DRAW_SVG) {
        uint8_t *png = NULL;
        size_t n = 0;
        if (km_png_encode_rgb(d->ctx, iw, ih, rgb, NULL, NULL, 0, &png, &n) != KM_OK) {
            d->out.failed = 1;
            return;
        }
        km_buf_printf(&d->out,
                      "<image x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                      "preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" "
                      "href=\"data:image/png;base64,",
                      x, y, w, h);
        km_buf_base64(&d->out, png, n);
        km_buf_printf(&d->out, "\"/>\n");
        km_free(d->ctx, png);
        return;
    }
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, iw, ih);
    if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(img);
        return;
    }
    cairo_surface_flush(img);
    unsigned char *px = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    for (int32_t j = 0; j < ih; j++)
        for (int32_t i = 0; i < iw; i++) {
            const uint8_t *s = rgb + ((size_t)j * (size_t)iw + (size_t)i) * 3u;
            uint32_t v = (uint32_t)s[0] << 16 | (uint32_t)s[1] << 8 | s[2];
            memcpy(px + (size_t)j * (size_t)stride + (size_t)i * 4u, &v, 4);
        }
    cairo_surface_mark_dirty(img);
    cairo_save(d->cr);
    cairo_translate(d->cr, x, y);
    cairo_scale(d->cr, w / iw, h / ih);
    cairo_set_source_surface(d->cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(d->cr), CAIRO_FILTER_NEAREST);
    cairo_rectangle(d->cr, 0, 0, iw, ih);
    cairo_fill(d->cr);
    cairo_restore(d->cr);
    cairo_surface_destroy(img);
}

void kd_group_begin(km_draw *d, const char *css_class, const char *title)
{
    if (d->format != KM_DRAW_SVG)
        return;
    km_buf_printf(&d->out, "<g");
    if (css_class != NULL) {
        km_buf_printf(&d->out, " class=\"");
        km_buf_escaped(&d->out, css_class);
        km_buf_printf(&d->out, "\"");
    }
    km_buf_printf(&d->out, ">");
    if (title != NULL) {
        km_buf_printf(&d->out, "<title>");
        km_buf_escaped(&d->out, title);
        km_buf_printf(&d->out, "</title>");
    }
    km_buf_printf(&d->out, "\n");
}

void kd_group_end(km_draw *d)
{
    if (d->format == KM_DRAW_SVG)
        km_buf_printf(&d->out, "</g>\n");
}

/* ---- finish -------------------------------------------------------------- */

static km_status take_buf(km_ctx *ctx, km_draw *d, uint8_t **out, size_t *out_n)
{
    if (d->out.failed)
        return km_fail(ctx, KM_ERR_NOMEM, "draw: out of memory");
    *out = (uint8_t *)d->out.p;
    *out_n = d->out.n;
    d->out.p = NULL;
    d->out.n = d->out.cap = 0;
    return KM_OK;
}

km_status kd_finish(km_ctx *ctx, km_draw *d, const char *const *text_keys,
                    const char *const *text_values, size_t n_text, int svg_inline,
                    uint8_t **out, size_t *out_n)
{
    km_status st = KM_OK;
    uint8_t *rgb = NULL;
    *out = NULL;
    *out_n = 0;
    if (d->format == KM_DRAW_SVG) {
        km_buf doc = {ctx, NULL, 0, 0, 0};
        km_buf_printf(&d->out, "</svg>\n");
        if (svg_inline)
            return take_buf(ctx, d, out, out_n);
        km_buf_printf(&doc, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        for (size_t i = 0; i < n_text; i++) {
            km_buf_printf(&doc, "<!-- ");
            km_buf_escaped(&doc, text_keys[i]);
            km_buf_printf(&doc, ": ");
            /* "--" may not occur inside an XML comment */
            for (const char *p = text_values[i]; *p != '\0'; p++)
                km_buf_put(&doc, p[0] == '-' && p[1] == '-' ? "- " : p, 1);
            km_buf_printf(&doc, " -->\n");
        }
        km_buf_put(&doc, d->out.p, d->out.n);
        km_free(ctx, d->out.p);
        d->out = doc;
        return take_buf(ctx, d, out, out_n);
    }
    if (d->format == KM_DRAW_PDF) {
        /* the Software entry as the PDF's Creator: how a later render knows
           the file is knotmap's to replace (file_out.c) */
        for (size_t i = 0; i < n_text; i++)
            if (strcmp(text_keys[i], KM_SOFTWARE_KEY) == 0)
                cairo_pdf_surface_set_metadata(d->surface, CAIRO_PDF_METADATA_CREATOR, text_values[i]);
        cairo_destroy(d->cr);
        d->cr = NULL;
        cairo_surface_finish(d->surface);
        if (cairo_surface_status(d->surface) != CAIRO_STATUS_SUCCESS)
            return km_fail(ctx, d->out.failed ? KM_ERR_NOMEM : KM_ERR_IO, "draw: PDF: %s",
                           cairo_status_to_string(cairo_surface_status(d->surface)));
        return take_buf(ctx, d, out, out_n);
    }
    if (cairo_status(d->cr) != CAIRO_STATUS_SUCCESS)
        return km_fail(ctx, cairo_status(d->cr) == CAIRO_STATUS_NO_MEMORY ? KM_ERR_NOMEM : KM_ERR_IO, "draw: cairo: %s",
                       cairo_status_to_string(cairo_status(d->cr)));
    cairo_surface_flush(d->surface);
    const unsigned char *px = cairo_image_surface_get_data(d->surface);
    int stride = cairo_image_surface_get_stride(d->surface);
    rgb = km_alloc(ctx, (size_t)d->w * (size_t)d->h * 3u);
    if (rgb == NULL)
        return KM_ERR_NOMEM;
    for (int32_t j = 0; j < d->h; j++) {
        if ((j & 255) == 255 && km_ctx_cancelled(ctx)) {
            km_free(ctx, rgb);
            return km_fail(ctx, KM_ERR_CANCELLED, "draw: cancelled");
        }
        for (int32_t i = 0; i < d->w; i++) {
            uint32_t v;
            uint8_t *o = rgb + ((size_t)j * (size_t)d->w + (size_t)i) * 3u;
            memcpy(&v, px + (size_t)j * (size_t)stride + (size_t)i * 4u, 4);
            o[0] = (uint8_t)(v >> 16);
            o[1] = (uint8_t)(v >> 8);
            o[2] = (uint8_t)v;
        }
    }
    st = km_png_encode_rgb(ctx, d->w, d->h, rgb, text_keys, text_values, n_text, out, out_n);
    km_free(ctx, rgb);
    return st;
}
