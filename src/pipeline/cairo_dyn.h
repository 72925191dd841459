/* cairo, loaded on first use (src/core/dynlib.h): include after <cairo.h>
 * and <cairo-pdf.h>; call km_cairo_load before any cairo_* function.  The
 * cairo_* names used by draw.c are macros for the loaded addresses, so the
 * calls read as cairo's own.  Internal to src/pipeline. */
#ifndef KM_CAIRO_DYN_H
#define KM_CAIRO_DYN_H

#include <cairo-pdf.h>
#include <cairo.h>

#include "knotmap.h"

/* The functions used, one list: the table below and the names looked up. */
#define KM_CAIRO_FNS(X) \
    X(cairo_arc) X(cairo_close_path) X(cairo_create) X(cairo_destroy) X(cairo_fill) \
    X(cairo_fill_preserve) X(cairo_get_source) X(cairo_image_surface_create) \
    X(cairo_image_surface_get_data) X(cairo_image_surface_get_stride) X(cairo_line_to) \
    X(cairo_move_to) X(cairo_new_path) X(cairo_new_sub_path) X(cairo_paint) \
    X(cairo_pattern_set_filter) X(cairo_pdf_surface_create_for_stream) X(cairo_pdf_surface_set_metadata) X(cairo_rectangle) \
    X(cairo_restore) X(cairo_rotate) X(cairo_save) X(cairo_scale) X(cairo_select_font_face) \
    X(cairo_set_dash) X(cairo_set_font_size) X(cairo_set_line_join) X(cairo_set_line_width) \
    X(cairo_set_source_rgb) X(cairo_set_source_surface) X(cairo_show_text) X(cairo_status) \
    X(cairo_status_to_string) X(cairo_stroke) X(cairo_stroke_preserve) X(cairo_surface_destroy) \
    X(cairo_surface_finish) X(cairo_surface_flush) X(cairo_surface_mark_dirty) \
    X(cairo_surface_status) X(cairo_text_extents) X(cairo_text_path) X(cairo_translate)

#define KM_CAIRO_FIELD(name) __typeof__(name) *name;
typedef struct km_cairo_api {
    KM_CAIRO_FNS(KM_CAIRO_FIELD)
} km_cairo_api;
#undef KM_CAIRO_FIELD

extern km_cairo_api km_cairo;

/* KM_ERR_UNSUPPORTED naming cairo when it cannot be loaded. */
km_status km_cairo_load(km_ctx *ctx);

#ifndef KM_CAIRO_LOADER
#define cairo_arc (km_cairo.cairo_arc)
#define cairo_close_path (km_cairo.cairo_close_path)
#define cairo_create (km_cairo.cairo_create)
#define cairo_destroy (km_cairo.cairo_destroy)
#define cairo_fill (km_cairo.cairo_fill)
#define cairo_fill_preserve (km_cairo.cairo_fill_preserve)
#define cairo_get_source (km_cairo.cairo_get_source)
#define cairo_image_surface_create (km_cairo.cairo_image_surface_create)
#define cairo_image_surface_get_data (km_cairo.cairo_image_surface_get_data)
#define cairo_image_surface_get_stride (km_cairo.cairo_image_surface_get_stride)
#define cairo_line_to (km_cairo.cairo_line_to)
#define cairo_move_to (km_cairo.cairo_move_to)
#define cairo_new_path (km_cairo.cairo_new_path)
#define cairo_new_sub_path (km_cairo.cairo_new_sub_path)
#define cairo_paint (km_cairo.cairo_paint)
#define cairo_pattern_set_filter (km_cairo.cairo_pattern_set_filter)
#define cairo_pdf_surface_create_for_stream (km_cairo.cairo_pdf_surface_create_for_stream)
#define cairo_pdf_surface_set_metadata (km_cairo.cairo_pdf_surface_set_metadata)
#define cairo_rectangle (km_cairo.cairo_rectangle)
#define cairo_restore (km_cairo.cairo_restore)
#define cairo_rotate (km_cairo.cairo_rotate)
#define cairo_save (km_cairo.cairo_save)
#define cairo_scale (km_cairo.cairo_scale)
#define cairo_select_font_face (km_cairo.cairo_select_font_face)
#define cairo_set_dash (km_cairo.cairo_set_dash)
#define cairo_set_font_size (km_cairo.cairo_set_font_size)
#define cairo_set_line_join (km_cairo.cairo_set_line_join)
#define cairo_set_line_width (km_cairo.cairo_set_line_width)
#define cairo_set_source_rgb (km_cairo.cairo_set_source_rgb)
#define cairo_set_source_surface (km_cairo.cairo_set_source_surface)
#define cairo_show_text (km_cairo.cairo_show_text)
#define cairo_status (km_cairo.cairo_status)
#define cairo_status_to_string (km_cairo.cairo_status_to_string)
#define cairo_stroke (km_cairo.cairo_stroke)
#define cairo_stroke_preserve (km_cairo.cairo_stroke_preserve)
#define cairo_surface_destroy (km_cairo.cairo_surface_destroy)
#define cairo_surface_finish (km_cairo.cairo_surface_finish)
#define cairo_surface_flush (km_cairo.cairo_surface_flush)
#define cairo_surface_mark_dirty (km_cairo.cairo_surface_mark_dirty)
#define cairo_surface_status (km_cairo.cairo_surface_status)
#define cairo_text_extents (km_cairo.cairo_text_extents)
#define cairo_text_path (km_cairo.cairo_text_path)
#define cairo_translate (km_cairo.cairo_translate)
#endif

#endif
