/* Pictures (km_render) decoded back with libpng, and evaluation
 * (km_eval_points, km_eval) on hand-made sets with exact answers. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "io/h5util.h"
#include "test_util.h"

#define KM_PI 3.14159265358979323846

/* ---- fixtures ------------------------------------------------------------ */

static km_ctx *ctx;
static char dir[64];
static char result_path[128], session_path[128], png_path[128];

#define ROWS 6
#define COLS 8
#define ROW_PITCH 2.0
#define COL_PITCH 3.0

static void put_xy(hid_t file, const char *group, const double *x, const double *y, size_t n)
{
    hid_t g = H5Gcreate2(file, group, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(g >= 0);
    cr_assert_eq(km_h5_write_column(ctx, g, "x_mm", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, x, n, "mm"), KM_OK);
    cr_assert_eq(km_h5_write_column(ctx, g, "y_mm", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, y, n, "mm"), KM_OK);
    H5Gclose(g);
}

/* A mat result: /frames/max[r][c] = r*COLS + c, cell (0, 0) NaN, and two
 * candidates at the centres of cells (2, 5) and (4, 1). */
static void write_result(const char *path, int with_candidates)
{
    float map[ROWS * COLS];
    const double cx[] = {5 * COL_PITCH, 1 * COL_PITCH}, cy[] = {2 * ROW_PITCH, 4 * ROW_PITCH};
    hsize_t dims[2] = {ROWS, COLS};
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(f >= 0);
    for (int i = 0; i < ROWS * COLS; i++)
        map[i] = (float)i;
    map[0] = NAN;
    cr_assert_eq(km_h5_attr_put_string(ctx, f, "schema", "knotmap-result"), KM_OK);
    hid_t s = H5Gcreate2(f, "session", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_eq(km_h5_attr_put_double(ctx, s, "row_pitch_mm", ROW_PITCH), KM_OK);
    cr_assert_eq(km_h5_attr_put_double(ctx, s, "col_pitch_mm", COL_PITCH), KM_OK);
    cr_assert_eq(km_h5_attr_put_string(ctx, s, "units", "kPa"), KM_OK);
    cr_assert_eq(km_h5_attr_put_string(ctx, s, "mode", "mat"), KM_OK);
    H5Gclose(s);
    hid_t g = H5Gcreate2(f, "frames", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t sp = H5Screate_simple(2, dims, NULL);
    hid_t d = H5Dcreate2(g, "max", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(d >= 0);
    cr_assert(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, map) >= 0);
    H5Dclose(d);
    H5Sclose(sp);
    H5Gclose(g);
    if (with_candidates)
        put_xy(f, "candidates", cx, cy, 2);
    H5Fclose(f);
}

static void write_session_truth(const char *path, const double *x, const double *y, size_t n)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(f >= 0);
    cr_assert_eq(km_h5_attr_put_string(ctx, f, "schema", "knotmap-session"), KM_OK);
    hid_t t = H5Gcreate2(f, "truth", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(t);
    put_xy(f, "truth/knots", x, y, n);
    H5Fclose(f);
}

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    km_test_make_dir(dir, sizeof dir, "km_render_");
    km_test_path(result_path, sizeof result_path, dir, "r.knotmap.h5");
    km_test_path(session_path, sizeof session_path, dir, "s.h5");
    km_test_path(png_path, sizeof png_path, dir, "map.png");
}

static void teardown(void)
{
    km_ctx_free(ctx);
    cr_assert_eq(km_test_remove_dir(dir), 0);
}

/* ---- decoding ------------------------------------------------------------ */

typedef struct image {
    png_uint_32 w, h;
    png_bytep px; /* RGB */
    char layout[512];
} image;

static image read_png(const char *path)
{
    image im;
    memset(&im, 0, sizeof im);
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp, "%s not written", path);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    cr_assert(png != NULL && info != NULL);
    png_init_io(png, fp);
    png_read_info(png, info);
    im.w = png_get_image_width(png, info);
    im.h = png_get_image_height(png, info);
    cr_assert_eq(png_get_color_type(png, info), PNG_COLOR_TYPE_RGB);
    cr_assert_eq(png_get_bit_depth(png, info), 8);
    im.px = malloc((size_t)im.w * im.h * 3);
    cr_assert_not_null(im.px);
    for (png_uint_32 y = 0; y < im.h; y++)
        png_read_row(png, im.px + (size_t)y * im.w * 3, NULL);
    png_read_end(png, info);
    png_textp text = NULL;
    int n_text = 0;
    png_get_text(png, info, &text, &n_text);
    for (int i = 0; i < n_text; i++)
        if (strcmp(text[i].key, "knotmap-layout") == 0)
            snprintf(im.layout, sizeof im.layout, "%s", text[i].text);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(fp);
    return im;
}

static const png_byte *at(const image *im, int32_t x, int32_t y)
{
    cr_assert(x >= 0 && y >= 0 && (png_uint_32)x < im->w && (png_uint_32)y < im->h);
    return im->px + ((size_t)y * im->w + (size_t)x) * 3;
}

static void assert_rgb(const image *im, int32_t x, int32_t y, int r, int g, int b, int tol)
{
    const png_byte *p = at(im, x, y);
    cr_assert(abs(p[0] - r) <= tol && abs(p[1] - g) <= tol && abs(p[2] - b) <= tol,
              "pixel (%d, %d) is (%d, %d, %d), expected (%d, %d, %d) +- %d", (int)x, (int)y,
              p[0], p[1], p[2], r, g, b, tol);
}

/* ---- render -------------------------------------------------------------- */

TestSuite(render, .init = setup, .fini = teardown);

Test(render, defaults)
{
    km_render_params p;
    km_render_params_default(&p);
    cr_assert_eq(p.map, KM_RENDER_AUTO);
    cr_assert_eq(p.cell_px, 0);
    cr_assert(isnan(p.vmin) && isnan(p.vmax));
    cr_assert_eq(p.max_candidates, 20);
    cr_assert_eq(p.overwrite, 1);
    cr_assert_float_eq(p.vmax_percentile, 99.0, 0);
    cr_assert_eq(p.format, KM_IMAGE_AUTO);
}

/* The automatic range: 0 (no value is negative) up to the 99th percentile
 * of the finite cells, linear between ranks as numpy.percentile: of the 47
 * values 1..47, rank 0.99 * 46 = 45.54 -> 46.54; one cell (47) above. */
Test(render, automatic_range_is_a_percentile)
{
    km_render_info info;
    write_result(result_path, 1);
    cr_assert_eq(km_render(ctx, result_path, png_path, NULL, &info), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    cr_assert_float_eq(info.vmin, 0.0, 0);
    cr_assert_float_eq(info.vmax, 46.54, 1e-9);
    cr_assert_float_eq(info.clipped_above, 1.0 / 47.0, 1e-12);
    cr_assert_float_eq(info.clipped_below, 0.0, 0);
    km_render_params p;
    km_render_params_default(&p);
    p.vmax_percentile = 100.0;
    cr_assert_eq(km_render(ctx, result_path, png_path, &p, &info), KM_OK);
    cr_assert_float_eq(info.vmax, 47.0, 0);
    cr_assert_float_eq(info.clipped_above, 0.0, 0);
    p.vmax_percentile = 49.0;
    cr_assert_eq(km_render(ctx, result_path, png_path, &p, &info), KM_ERR_INVALID);
}

/* The format is the extension's; an unknown one is refused before anything
 * is read or written. */
Test(render, formats_by_extension)
{
    char path[160];
    const char *ext[] = {"svg", "PDF", "Png"};
    const char *magic[] = {"<?xml", "%PDF-", "\x89PNG"};
    const int32_t fmt[] = {KM_IMAGE_SVG, KM_IMAGE_PDF, KM_IMAGE_PNG};
    km_render_info info;
    write_result(result_path, 1);
    for (int i = 0; i < 3; i++) {
        char head[8] = {0};
        snprintf(path, sizeof path, "%s/map.%s", dir, ext[i]);
        cr_assert_eq(km_render(ctx, result_path, path, NULL, &info), KM_OK, "%s",
                     km_ctx_last_error(ctx));
        cr_assert_eq(info.format, fmt[i]);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f);
        cr_assert_eq(fread(head, 1, 5, f), 5u);
        fclose(f);
        cr_assert_eq(memcmp(head, magic[i], strlen(magic[i]) < 5 ? strlen(magic[i]) : 5), 0,
                     "%s starts with %.5s", path, head);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/map.jpg", dir);
    cr_assert_eq(km_render(ctx, result_path, path, NULL, NULL), KM_ERR_INVALID);
    cr_assert_neq(strstr(km_ctx_last_error(ctx), ".png, .svg or .pdf"), NULL);
    cr_assert_eq(access(path, F_OK), -1);
    /* In memory: a format is required (there is no extension). */
    uint8_t *data = NULL;
    size_t n = 0;
    km_render_params p;
    km_render_params_default(&p);
    cr_assert_eq(km_render_to_memory(ctx, result_path, &p, NULL, &data, &n), KM_ERR_INVALID);
    p.format = KM_IMAGE_SVG;
    cr_assert_eq(km_render_to_memory(ctx, result_path, &p, &info, &data, &n), KM_OK);
    cr_assert_gt(n, 100u);
    cr_assert_eq(memcmp(data, "<?xml", 5), 0);
    /* The SVG's text is text: title words, axis labels, the candidate numbers. */
    cr_assert_neq(strstr((char *)data, "y (mm), row 0 at the top"), NULL);
    cr_assert_neq(strstr((char *)data, "x (mm), column 0 at the left"), NULL);
    cr_assert_neq(strstr((char *)data, ">1</text>"), NULL);
    cr_assert_neq(strstr((char *)data, ">2</text>"), NULL);
    km_buffer_free(ctx, data);
    km_buffer_free(ctx, NULL);
}

Test(render, mat_map_decoded_back)
{
    km_render_params p;
    km_render_info info;
    write_result(result_path, 1);
    km_render_params_default(&p);
    p.cell_px = 10;
    p.vmin = 1.0;
    p.vmax = 47.0;
    cr_assert_eq(km_render(ctx, result_path, png_path, &p, &info), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    image im = read_png(png_path);
    cr_assert_eq((int32_t)im.w, info.width);
    cr_assert_eq((int32_t)im.h, info.height);
    cr_assert_eq(info.map_nx, COLS);
    cr_assert_eq(info.map_ny, ROWS);
    /* True to scale: y (pitch 2) is the finer axis: 10 px; x (pitch 3): 15. */
    cr_assert_eq(info.cell_h, 10);
    cr_assert_eq(info.cell_w, 15);
    cr_assert_eq(info.n_marked, 2);
    /* The range as given: 1 (cell (0,1)) to 47. */
    cr_assert_float_eq(info.vmin, 1.0, 1e-12);
    cr_assert_float_eq(info.vmax, 47.0, 1e-12);
    cr_assert_float_eq(info.x_pitch_mm, COL_PITCH, 1e-12);
    cr_assert_float_eq(info.y_pitch_mm, ROW_PITCH, 1e-12);
    cr_assert_neq(strstr(im.layout, "cell_w=15 cell_h=10 nx=8 ny=6"), NULL, "layout: %s", im.layout);

    int32_t sw = info.cell_w, sh = info.cell_h;
#define CELL_X(ix) (info.map_x + (ix) * sw + sw / 2)
#define CELL_Y(iy) (info.map_y + (iy) * sh + sh / 2)
    /* viridis ends (matplotlib's table: 0 -> #440154, 1 -> #fde725). */
    assert_rgb(&im, CELL_X(7), CELL_Y(5), 0xfd, 0xe7, 0x25, 0);
    assert_rgb(&im, CELL_X(1), CELL_Y(0), 0x44, 0x01, 0x54, 0);
    /* The middle of the range, 24 = cell (3, 0): viridis(0.5) = #21918c. */
    assert_rgb(&im, CELL_X(0), CELL_Y(3), 0x21, 0x91, 0x8c, 3);
    /* NaN is grey, not a colour of the map. */
    assert_rgb(&im, CELL_X(0), CELL_Y(0), 150, 150, 150, 0);

    /* Colour bar right of the map: top = vmax colour, bottom = vmin colour. */
    int bar_x0 = 0, bar_h = 0;
    const char *bx = strstr(im.layout, "bar_x="), *bh = strstr(im.layout, "bar_h=");
    cr_assert(bx != NULL && bh != NULL, "layout: %s", im.layout);
    bar_x0 = atoi(bx + 6);
    bar_h = atoi(bh + 6);
    cr_assert_gt(bar_x0, info.map_x + COLS * sw);
    cr_assert_geq(bar_h, ROWS * sh);
    int32_t bar_x = bar_x0 + 8;
    assert_rgb(&im, bar_x, info.map_y, 0xfd, 0xe7, 0x25, 0);
    assert_rgb(&im, bar_x, info.map_y + bar_h - 1, 0x44, 0x01, 0x54, 0);
    /* Monotone luminance down the bar (viridis is perceptually ordered). */
    double prev = 1e9;
    for (int32_t y = info.map_y; y < info.map_y + bar_h; y += 8) {
        const png_byte *q = at(&im, bar_x, y);
        double lum = 0.2126 * q[0] + 0.7152 * q[1] + 0.0722 * q[2];
        cr_assert(lum <= prev + 1.0, "bar luminance rises at y = %d", (int)y);
        prev = lum;
    }

    /* Rings: white on the circle of radius max(5, min(cell_px, 20)) = 10
       (the finer cell side) around the centre of each candidate's cell; the centre itself is the
       map colour (the knot stays visible). */
    const int32_t cells[2][2] = {{2, 5}, {4, 1}};
    for (int k = 0; k < 2; k++) {
        double cx = info.map_x + (cells[k][1] + 0.5) * sw, cy = info.map_y + (cells[k][0] + 0.5) * sh;
        int white = 0, n = 0;
        for (double a = 0; a < 2 * KM_PI; a += KM_PI / 36, n++) {
            const png_byte *q = at(&im, (int32_t)floor(cx + 10 * cos(a)), (int32_t)floor(cy + 10 * sin(a)));
            white += q[0] == 255 && q[1] == 255 && q[2] == 255;
        }
        cr_assert_geq(white * 4, n * 3, "candidate %d: %d of %d ring points white", k, white, n);
        const png_byte *c = at(&im, (int32_t)cx, (int32_t)cy);
        cr_assert(!(c[0] == 255 && c[1] == 255 && c[2] == 255), "ring centre painted over");
    }
    /* No white anywhere in the map far from the candidates. */
    for (int32_t y = info.map_y; y < info.map_y + 10; y++)
        for (int32_t x = info.map_x; x < info.map_x + 30; x++) {
            const png_byte *q = at(&im, x, y);
            cr_assert(!(q[0] == 255 && q[1] == 255 && q[2] == 255), "white at (%d, %d)", (int)x, (int)y);
        }
    free(im.px);
}

Test(render, no_candidates_group_draws_the_map_alone)
{
    km_render_info info;
    write_result(result_path, 0);
    cr_assert_eq(km_render(ctx, result_path, png_path, NULL, &info), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    cr_assert_eq(info.n_marked, 0);
    /* Automatic size: the map is 8 x 3 mm = 24 mm wide, 6 x 2 = 12 mm
       high; 24 mm fit 480 px: 20 px a mm, cells 60 x 40 px. */
    cr_assert_eq(info.cell_w, 60);
    cr_assert_eq(info.cell_h, 40);
    image im = read_png(png_path);
    cr_assert_eq((int32_t)im.w, info.width);
    free(im.px);
}

Test(render, explicit_range_and_candidate_limit)
{
    km_render_params p;
    km_render_info info;
    write_result(result_path, 1);
    km_render_params_default(&p);
    p.cell_px = 4;
    p.vmin = 0.0;
    p.vmax = 100.0;
    p.max_candidates = 1;
    cr_assert_eq(km_render(ctx, result_path, png_path, &p, &info), KM_OK);
    cr_assert_eq(info.n_marked, 1);
    cr_assert_float_eq(info.vmax, 100.0, 1e-12);
    image im = read_png(png_path);
    /* 47 of 0..100 is below the middle: not the top colour. */
    const png_byte *q = at(&im, info.map_x + 7 * 6 + 3, info.map_y + 5 * 4 + 2);
    cr_assert_lt(q[0], 100);
    free(im.px);
}

Test(render, errors)
{
    km_render_params p;
    km_render_params_default(&p);
    char missing[160];
    snprintf(missing, sizeof missing, "%s/none.h5", dir);
    cr_assert_eq(km_render(ctx, missing, png_path, NULL, NULL), KM_ERR_NOT_FOUND);
    cr_assert_neq(strstr(km_ctx_last_error(ctx), missing), NULL);

    write_session_truth(session_path, NULL, NULL, 0);
    cr_assert_eq(km_render(ctx, session_path, png_path, NULL, NULL), KM_ERR_FORMAT);
    cr_assert_neq(strstr(km_ctx_last_error(ctx), "knotmap-result"), NULL, "%s", km_ctx_last_error(ctx));

    write_result(result_path, 1);
    p.map = KM_RENDER_BODYMAP;
    cr_assert_eq(km_render(ctx, result_path, png_path, &p, NULL), KM_ERR_FORMAT);
    cr_assert_neq(strstr(km_ctx_last_error(ctx), "/bodymap"), NULL, "%s", km_ctx_last_error(ctx));

    km_render_params_default(&p);
    p.cell_px = 65;
    cr_assert_eq(km_render(ctx, result_path, png_path, &p, NULL), KM_ERR_INVALID);
    km_render_params_default(&p);
    p.vmin = 5;
    p.vmax = 5;
    cr_assert_eq(km_render(ctx, result_path, png_path, &p, NULL), KM_ERR_INVALID);

    /* An existing file that is not a PNG is never replaced. */
    FILE *f = fopen(png_path, "w");
    fputs("precious", f);
    fclose(f);
    cr_assert_eq(km_render(ctx, result_path, png_path, NULL, NULL), KM_ERR_CREATE);
    char buf[16] = {0};
    f = fopen(png_path, "r");
    cr_assert_not_null(fgets(buf, sizeof buf, f));
    fclose(f);
    cr_assert_str_eq(buf, "precious");
    /* A PNG is replaced, unless overwrite is 0. */
    unlink(png_path);
    cr_assert_eq(km_render(ctx, result_path, png_path, NULL, NULL), KM_OK);
    cr_assert_eq(km_render(ctx, result_path, png_path, NULL, NULL), KM_OK);
    km_render_params_default(&p);
    p.overwrite = 0;
    cr_assert_eq(km_render(ctx, result_path, png_path, &p, NULL), KM_ERR_CREATE);
}

/* ---- report -------------------------------------------------------------- */

Test(render, report_sections_and_candidates)
{
    uint8_t *html = NULL;
    size_t n = 0;
    char path[160];
    write_result(result_path, 1);
    cr_assert_eq(km_report_to_memory(ctx, result_path, NULL, &html, &n), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    cr_assert_eq(strlen((char *)html), n);
    const char *doc = (const char *)html;
    cr_assert_eq(strncmp(doc, "<!DOCTYPE html>", 15), 0);
    const char *ids[] = {"id=\"map\"", "id=\"candidates\"", "id=\"passes\"",
                         "id=\"metrics\"", "id=\"parameters\"", "id=\"assumed\"",
                         "id=\"cand-1\"", "id=\"cand-2\"", "<svg"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        cr_assert_neq(strstr(doc, ids[i]), NULL, "%s missing", ids[i]);
    cr_assert_eq(strstr(doc, "id=\"cand-3\""), NULL);
    /* Self-contained: nothing to fetch. */
    cr_assert_eq(strstr(doc, "<script"), NULL);
    cr_assert_eq(strstr(doc, "<link"), NULL);
    cr_assert_eq(strstr(doc, "src=\"http"), NULL);
    /* Candidate 1 at cell (2, 5): x = 15 mm, y = 4 mm, in the table. */
    cr_assert_neq(strstr(doc, "<td>1</td><td>15</td><td>4</td>"), NULL);
    km_buffer_free(ctx, html);

    /* Written: replaced when HTML, never when not. */
    snprintf(path, sizeof path, "%s/r.html", dir);
    cr_assert_eq(km_report(ctx, result_path, path, NULL, 1), KM_OK, "%s", km_ctx_last_error(ctx));
    cr_assert_eq(km_report(ctx, result_path, path, NULL, 1), KM_OK);
    cr_assert_eq(km_report(ctx, result_path, path, NULL, 0), KM_ERR_CREATE);
    FILE *f = fopen(path, "w");
    fputs("precious", f);
    fclose(f);
    cr_assert_eq(km_report(ctx, result_path, path, NULL, 1), KM_ERR_CREATE);
    unlink(path);
    cr_assert_eq(km_report(ctx, session_path, path, NULL, 1), KM_ERR_NOT_FOUND);
}

/* ---- eval ---------------------------------------------------------------- */

TestSuite(eval, .init = setup, .fini = teardown);

Test(eval, exact_counts_and_errors)
{
    /* Truth A(0,0) B(10,0) C(50,50).  Candidates: 0 near B (0.5 off),
       1 near A (1 off), 2 also near A (2 off: a duplicate), 3 far away. */
    const double tx[] = {0, 10, 50}, ty[] = {0, 0, 50};
    const double cx[] = {10.5, 1, 0, 100}, cy[] = {0, 0, 2, 100};
    int32_t match[3];
    km_eval_result r;
    cr_assert_eq(km_eval_points(ctx, cx, cy, 4, tx, ty, 3, 3.0, match, &r), KM_OK);
    cr_assert_eq(r.n_matched, 2);
    cr_assert_eq(r.n_candidates, 4);
    cr_assert_eq(r.n_truth, 3);
    cr_assert_float_eq(r.precision, 0.5, 1e-15);
    cr_assert_float_eq(r.recall, 2.0 / 3.0, 1e-15);
    cr_assert_float_eq(r.f1, 4.0 / 7.0, 1e-15);
    cr_assert_float_eq(r.error_mean_mm, 0.75, 1e-15);
    cr_assert_float_eq(r.error_rms_mm, sqrt((0.25 + 1.0) / 2.0), 1e-15);
    cr_assert_float_eq(r.error_max_mm, 1.0, 1e-15);
    cr_assert_eq(match[0], 1);
    cr_assert_eq(match[1], 0);
    cr_assert_eq(match[2], -1);
}

Test(eval, nearest_pair_first_and_ties_by_rank)
{
    /* Candidate 0 is 2 from truth 0 and 1 from truth 1; candidate 1 is 1.5
       from truth 1 only.  Nearest first takes (c0, t1); then t0's only
       partner c0 is taken and c1's only partner t1 too: one match (an
       optimal assignment would find two; greedy is the documented rule). */
    const double tx[] = {0, 3}, ty[] = {0, 0};
    const double cx[] = {2, 4.5}, cy[] = {0, 0};
    int32_t match[2];
    km_eval_result r;
    cr_assert_eq(km_eval_points(ctx, cx, cy, 2, tx, ty, 2, 2.5, match, &r), KM_OK);
    cr_assert_eq(match[1], 0);
    cr_assert_eq(match[0], -1);
    cr_assert_eq(r.n_matched, 1);
    /* Equal distances: the better-ranked candidate wins. */
    const double ex[] = {1, -1}, ey[] = {0, 0}, zx[] = {0}, zy[] = {0};
    cr_assert_eq(km_eval_points(ctx, ex, ey, 2, zx, zy, 1, 5.0, match, &r), KM_OK);
    cr_assert_eq(match[0], 0);
}

Test(eval, empty_sets_and_bad_arguments)
{
    const double x[] = {1}, y[] = {1};
    km_eval_result r;
    cr_assert_eq(km_eval_points(ctx, NULL, NULL, 0, NULL, NULL, 0, 1.0, NULL, &r), KM_OK);
    cr_assert_float_eq(r.f1, 1.0, 0);
    cr_assert(isnan(r.error_rms_mm));
    cr_assert_eq(km_eval_points(ctx, NULL, NULL, 0, x, y, 1, 1.0, NULL, &r), KM_OK);
    cr_assert_float_eq(r.precision, 1.0, 0);
    cr_assert_float_eq(r.recall, 0.0, 0);
    cr_assert_float_eq(r.f1, 0.0, 0);
    cr_assert_eq(km_eval_points(ctx, x, y, 1, NULL, NULL, 0, 1.0, NULL, &r), KM_OK);
    cr_assert_float_eq(r.precision, 0.0, 0);
    cr_assert_float_eq(r.recall, 1.0, 0);
    cr_assert_eq(km_eval_points(ctx, x, y, 1, x, y, 1, 0.0, NULL, &r), KM_ERR_INVALID);
    cr_assert_eq(km_eval_points(ctx, x, y, 1, x, y, 1, NAN, NULL, &r), KM_ERR_INVALID);
    const double bad[] = {NAN};
    cr_assert_eq(km_eval_points(ctx, bad, y, 1, x, y, 1, 1.0, NULL, &r), KM_ERR_INVALID);
}

Test(eval, files)
{
    /* Candidates at (15, 4) and (3, 8); truth near the first, on the second,
       and one missed.  Default tolerance = the larger pitch = 3 mm. */
    const double tx[] = {15.5, 3, 30}, ty[] = {4, 8, 30};
    km_eval_result r;
    write_result(result_path, 1);
    write_session_truth(session_path, tx, ty, 3);
    cr_assert_eq(km_eval(ctx, result_path, session_path, 0.0, -1, &r), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    cr_assert_float_eq(r.tolerance_mm, 3.0, 0);
    cr_assert_eq(r.n_matched, 2);
    cr_assert_float_eq(r.precision, 1.0, 1e-15);
    cr_assert_float_eq(r.recall, 2.0 / 3.0, 1e-15);
    cr_assert_float_eq(r.f1, 0.8, 1e-15);
    cr_assert_float_eq(r.error_mean_mm, 0.25, 1e-15);
    cr_assert_float_eq(r.error_max_mm, 0.5, 1e-15);
    /* Only the best candidate. */
    cr_assert_eq(km_eval(ctx, result_path, session_path, 0.0, 1, &r), KM_OK);
    cr_assert_eq(r.n_candidates, 1);
    cr_assert_eq(r.n_matched, 1);
    /* Swapped files: the session is not a result. */
    cr_assert_eq(km_eval(ctx, session_path, result_path, 0.0, -1, &r), KM_ERR_FORMAT);
    /* A result without /candidates. */
    write_result(result_path, 0);
    cr_assert_eq(km_eval(ctx, result_path, session_path, 0.0, -1, &r), KM_ERR_FORMAT);
    cr_assert_neq(strstr(km_ctx_last_error(ctx), "/candidates"), NULL, "%s", km_ctx_last_error(ctx));
}
