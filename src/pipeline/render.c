/* The picture of a result: a map in a perceptual colour map, a colour bar
 * with min/max labels, a mm scale bar, candidates ringed and numbered by
 * rank.  Layout in docs/FORMAT.md 2.2. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "io/png_write.h"
#include "io/result_reader.h"

#define MARGIN 10
#define FONT_SCALE 2          /* screen pixels per font pixel */
#define GLYPH_W 5
#define GLYPH_H 7
#define ADVANCE ((GLYPH_W + 1) * FONT_SCALE)
#define TEXT_H (GLYPH_H * FONT_SCALE)
#define BAR_GAP 16
#define BAR_W 18
#define BAR_MIN_H 96
#define TICK_W 5
#define AUTO_SIDE 480         /* cell_px = 0: the map's longer side fits this */
#define MAX_SIDE 16384        /* no picture larger than this either way */
#define LAYOUT_LEN 512

/* viridis (perceptually uniform; van der Walt and Smith, matplotlib 1.5)
 * sampled at 33 evenly spaced points of its published 256-entry table;
 * linear interpolation between them stays within 3 levels of the table. */
static const uint8_t VIRIDIS[33][3] = {
    {68, 1, 84},    {71, 13, 96},   {72, 24, 106},  {72, 35, 116},  {71, 45, 123},
    {69, 55, 129},  {66, 64, 134},  {62, 73, 137},  {59, 82, 139},  {55, 91, 141},
    {51, 99, 141},  {47, 107, 142}, {44, 114, 142}, {41, 122, 142}, {38, 130, 142},
    {35, 137, 142}, {33, 145, 140}, {31, 152, 139}, {31, 160, 136}, {34, 167, 133},
    {40, 174, 128}, {50, 182, 122}, {63, 188, 115}, {78, 195, 107}, {94, 201, 98},
    {112, 207, 87}, {132, 212, 75}, {152, 216, 62}, {173, 220, 48}, {194, 223, 35},
    {216, 226, 25}, {236, 229, 27}, {253, 231, 37}};

static const uint8_t WHITE[3] = {255, 255, 255};
static const uint8_t BLACK[3] = {0, 0, 0};
static const uint8_t NAN_GREY[3] = {150, 150, 150};

/* A 5x7 font for labels: each row is 5 bits, the high bit on the left. */
typedef struct glyph {
    char c;
    uint8_t rows[GLYPH_H];
} glyph;

static const glyph FONT[] = {
    {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}},
    {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}},
    {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
    {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}},
    {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
    {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}},
    {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}},
    {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
    {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}},
    {'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}},
    {'+', {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00}},
    {'e', {0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E}},
    {'k', {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12}},
    {'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}},
    {'a', {0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F}},
    {'m', {0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11}},
    {'r', {0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10}},
    {'w', {0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A}},
    {'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}},
    {'c', {0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E}},
    {'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
    {'g', {0x00, 0x0F, 0x11, 0x11, 0x0F, 0x01, 0x0E}},
    {'/', {0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10}},
    {'x', {0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11}},
    {'?', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04}},
};

typedef struct canvas {
    uint8_t *px;
    int32_t w, h;
} canvas;

void km_render_params_default(km_render_params *p)
{
    if (p == NULL)
        return;
    memset(p, 0, sizeof *p);
    p->map = KM_RENDER_AUTO;
    p->cell_px = 0;
    p->vmin = NAN;
    p->vmax = NAN;
    p->max_candidates = 20;
    p->overwrite = 1;
}

static void put(canvas *cv, int32_t x, int32_t y, const uint8_t rgb[3])
{
    if (rgb == NULL || x < 0 || y < 0 || x >= cv->w || y >= cv->h)
        return;
    memcpy(cv->px + ((size_t)y * (size_t)cv->w + (size_t)x) * 3u, rgb, 3);
}

static void fill_rect(canvas *cv, int32_t x, int32_t y, int32_t w, int32_t h,
                      const uint8_t rgb[3])
{
    for (int32_t j = y; j < y + h; j++)
        for (int32_t i = x; i < x + w; i++)
            put(cv, i, j, rgb);
}

static void colormap(double t, uint8_t out[3])
{
    double pos;
    int i;
    if (!(t > 0.0))
        t = 0.0;
    if (t > 1.0)
        t = 1.0;
    pos = t * 32.0;
    i = (int)pos;
    if (i >= 32)
        i = 31;
    double f = pos - (double)i;
    for (int k = 0; k < 3; k++)
        out[k] = (uint8_t)lround((1.0 - f) * VIRIDIS[i][k] + f * VIRIDIS[i + 1][k]);
}

static const glyph *find_glyph(char c)
{
    for (size_t i = 0; i < sizeof FONT / sizeof FONT[0]; i++)
        if (FONT[i].c == c)
            return &FONT[i];
    return c == ' ' ? NULL : &FONT[sizeof FONT / sizeof FONT[0] - 1];
}

static int32_t text_width(const char *s)
{
    size_t n = strlen(s);
    return n == 0 ? 0 : (int32_t)n * ADVANCE - FONT_SCALE;
}

/* Text with its top-left corner at (x, y); outline != NULL draws a 1-px
 * halo first so the text reads on any colour. */
static void draw_text(canvas *cv, int32_t x, int32_t y, const char *s, const uint8_t rgb[3],
                      const uint8_t *outline)
{
    for (int pass = outline != NULL ? 0 : 1; pass < 2; pass++) {
        int32_t cx = x;
        for (const char *p = s; *p != '\0'; p++, cx += ADVANCE) {
            const glyph *g = find_glyph(*p);
            if (g == NULL)
                continue;
            for (int32_t r = 0; r < GLYPH_H; r++)
                for (int32_t c = 0; c < GLYPH_W; c++) {
                    if (!(g->rows[r] & (1u << (GLYPH_W - 1 - c))))
                        continue;
                    int32_t px = cx + c * FONT_SCALE, py = y + r * FONT_SCALE;
                    if (pass == 0)
                        fill_rect(cv, px - 1, py - 1, FONT_SCALE + 2, FONT_SCALE + 2, outline);
                    else
                        fill_rect(cv, px, py, FONT_SCALE, FONT_SCALE, rgb);
                }
        }
    }
}

/* A ring of radius r around (cx, cy) in continuous pixel coordinates: white
 * within 1 px of the radius, black just outside and inside it. */
static void draw_ring(canvas *cv, double cx, double cy, double r)
{
    int32_t x0 = (int32_t)floor(cx - r - 3), x1 = (int32_t)ceil(cx + r + 3);
    int32_t y0 = (int32_t)floor(cy - r - 3), y1 = (int32_t)ceil(cy + r + 3);
    for (int32_t y = y0; y <= y1; y++)
        for (int32_t x = x0; x <= x1; x++) {
            double d = fabs(hypot((double)x + 0.5 - cx, (double)y + 0.5 - cy) - r);
            if (d <= 1.0)
                put(cv, x, y, WHITE);
            else if (d <= 2.0)
                put(cv, x, y, BLACK);
        }
}

/* The largest of 1, 2, 5 x 10^k mm not longer than `limit` mm. */
static double nice_length(double limit)
{
    double p = pow(10.0, floor(log10(limit))), best = p;
    if (2.0 * p <= limit)
        best = 2.0 * p;
    if (5.0 * p <= limit)
        best = 5.0 * p;
    return best;
}

static km_status check_params(km_ctx *ctx, const km_render_params *p)
{
    if (p->map < KM_RENDER_AUTO || p->map > KM_RENDER_EXCESS)
        return km_fail(ctx, KM_ERR_INVALID, "render: map %d is not a km_render_map", (int)p->map);
    if (p->cell_px < 0 || p->cell_px > 64)
        return km_fail(ctx, KM_ERR_INVALID, "render: cell_px %d must be 0..64", (int)p->cell_px);
    if (p->max_candidates < -1)
        return km_fail(ctx, KM_ERR_INVALID, "render: max_candidates %d must be >= -1",
                       (int)p->max_candidates);
    if (isinf(p->vmin) || isinf(p->vmax) ||
        (!isnan(p->vmin) && !isnan(p->vmax) && !(p->vmin < p->vmax)))
        return km_fail(ctx, KM_ERR_INVALID, "render: the colour range %g..%g is not a range",
                       p->vmin, p->vmax);
    return KM_OK;
}

/* vmin/vmax from the params, else from the finite values of the map. */
static void colour_range(const km_result_map *m, const km_render_params *p, double *lo,
                         double *hi)
{
    double mn = INFINITY, mx = -INFINITY;
    size_t n = (size_t)m->ny * (size_t)m->nx;
    for (size_t i = 0; i < n; i++) {
        double v = m->values[i];
        if (isfinite(v)) {
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
        }
    }
    if (!isfinite(mn)) {
        mn = 0.0;
        mx = 1.0;
    }
    *lo = isnan(p->vmin) ? mn : p->vmin;
    *hi = isnan(p->vmax) ? mx : p->vmax;
    if (!(*hi > *lo)) /* a flat map: one colour, a range of width 1 below it */
        *lo = *hi - 1.0;
}

static void draw_map(canvas *cv, const km_result_map *m, const km_render_info *L)
{
    double span = L->vmax - L->vmin;
    for (int32_t iy = 0; iy < m->ny; iy++)
        for (int32_t ix = 0; ix < m->nx; ix++) {
            double v = m->values[(size_t)iy * (size_t)m->nx + (size_t)ix];
            uint8_t rgb[3];
            if (isfinite(v))
                colormap((v - L->vmin) / span, rgb);
            else
                memcpy(rgb, NAN_GREY, 3);
            fill_rect(cv, L->map_x + ix * L->cell_w, L->map_y + iy * L->cell_h, L->cell_w,
                      L->cell_h, rgb);
        }
}

/* Colour bar right of the map, top = vmax, bottom = vmin, framed, with
 * ticks and labels at both ends and the units above. */
static void draw_colour_bar(canvas *cv, const km_render_info *L, int32_t bar_x, int32_t bar_h,
                            const char *units)
{
    char lo[32], hi[32];
    uint8_t rgb[3];
    for (int32_t j = 0; j < bar_h; j++) {
        colormap(1.0 - (double)j / (double)(bar_h - 1), rgb);
        fill_rect(cv, bar_x, L->map_y + j, BAR_W, 1, rgb);
    }
    fill_rect(cv, bar_x - 1, L->map_y - 1, BAR_W + 2, 1, BLACK);
    fill_rect(cv, bar_x - 1, L->map_y + bar_h, BAR_W + 2, 1, BLACK);
    fill_rect(cv, bar_x - 1, L->map_y - 1, 1, bar_h + 2, BLACK);
    fill_rect(cv, bar_x + BAR_W, L->map_y - 1, 1, bar_h + 2, BLACK);
    fill_rect(cv, bar_x + BAR_W + 1, L->map_y, TICK_W, 2, BLACK);
    fill_rect(cv, bar_x + BAR_W + 1, L->map_y + bar_h - 2, TICK_W, 2, BLACK);
    snprintf(hi, sizeof hi, "%.4g", L->vmax);
    snprintf(lo, sizeof lo, "%.4g", L->vmin);
    draw_text(cv, bar_x + BAR_W + TICK_W + 4, L->map_y, hi, BLACK, NULL);
    draw_text(cv, bar_x + BAR_W + TICK_W + 4, L->map_y + bar_h - TEXT_H, lo, BLACK, NULL);
    draw_text(cv, bar_x, MARGIN, units, BLACK, NULL);
}

/* A bar of a round number of mm under the map, about a third of its width. */
static void draw_scale_bar(canvas *cv, const km_render_info *L, int32_t y)
{
    double mm_per_px = L->x_pitch_mm / (double)L->cell_w;
    double width_mm = (double)L->map_nx * L->x_pitch_mm;
    double len_mm = nice_length(width_mm / 3.0 > mm_per_px ? width_mm / 3.0 : width_mm);
    int32_t len_px = (int32_t)lround(len_mm / mm_per_px);
    char label[48];
    if (len_px < 1)
        len_px = 1;
    fill_rect(cv, L->map_x, y + TEXT_H / 2 - 2, len_px, 4, BLACK);
    fill_rect(cv, L->map_x, y, 2, TEXT_H, BLACK);
    fill_rect(cv, L->map_x + len_px - 2, y, 2, TEXT_H, BLACK);
    snprintf(label, sizeof label, "%.4g mm", len_mm);
    draw_text(cv, L->map_x + len_px + 8, y, label, BLACK, NULL);
}

/* Rings and rank numbers, best drawn last so it is on top. */
static void draw_candidates(canvas *cv, const km_points *c, size_t n, const km_render_info *L)
{
    int32_t fine = L->cell_w < L->cell_h ? L->cell_w : L->cell_h;
    double r = fine < 5 ? 5.0 : fine > 20 ? 20.0 : (double)fine;
    for (size_t k = n; k-- > 0;) {
        double fx = (c->x_mm[k] - L->x0_mm) / L->x_pitch_mm;
        double fy = (c->y_mm[k] - L->y0_mm) / L->y_pitch_mm;
        double cx = (double)L->map_x + (fx + 0.5) * (double)L->cell_w;
        double cy = (double)L->map_y + (fy + 0.5) * (double)L->cell_h;
        char num[24];
        if (!isfinite(cx) || !isfinite(cy) || fabs(cx) > 1e6 || fabs(cy) > 1e6)
            continue;
        draw_ring(cv, cx, cy, r);
        snprintf(num, sizeof num, "%zu", k + 1);
        draw_text(cv, (int32_t)lround(cx + 0.75 * r) + 2,
                  (int32_t)lround(cy - 0.75 * r) - TEXT_H, num, WHITE, BLACK);
    }
}

static void layout_text(char *buf, size_t cap, const km_render_info *L, const char *units,
                        const char *dataset)
{
    snprintf(buf, cap,
             "map=%s map_x=%d map_y=%d cell_w=%d cell_h=%d nx=%d ny=%d x0_mm=%.17g y0_mm=%.17g "
             "x_pitch_mm=%.17g y_pitch_mm=%.17g vmin=%.17g vmax=%.17g units=%s n_marked=%d",
             dataset, (int)L->map_x, (int)L->map_y, (int)L->cell_w, (int)L->cell_h, (int)L->map_nx,
             (int)L->map_ny, L->x0_mm, L->y0_mm, L->x_pitch_mm, L->y_pitch_mm, L->vmin, L->vmax,
             units[0] ? units : "-", (int)L->n_marked);
}

km_status km_render(km_ctx *ctx, const char *result_path, const char *png_path,
                    const km_render_params *params, km_render_info *info)
{
    km_status st;
    km_render_params p;
    km_result_map m;
    km_points cand;
    km_render_info L;
    canvas cv = {NULL, 0, 0};
    size_t n_mark = 0, bytes;
    double fine_pitch, rx, ry, extent, fine;
    int32_t bar_x, bar_h, label_w, map_w, map_h, body_h;
    char lo[32], hi[32], layout[LAYOUT_LEN], software[64];
    const char *units;

    memset(&m, 0, sizeof m);
    memset(&cand, 0, sizeof cand);
    memset(&L, 0, sizeof L);
    if (info != NULL)
        memset(info, 0, sizeof *info);
    if (result_path == NULL || png_path == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "render: NULL path");
    if (params != NULL)
        p = *params;
    else
        km_render_params_default(&p);
    st = check_params(ctx, &p);
    if (st != KM_OK)
        return st;
    st = km_result_read_map(ctx, result_path, (km_result_map_kind)p.map, &m);
    if (st != KM_OK)
        goto done;
    /* Candidates are in body coordinates: they belong on a body map, or on
       the grid of a mat, never on a roller's grid. */
    if (p.max_candidates != 0 && (strcmp(m.dataset, "/frames/max") != 0 || !m.roller)) {
        st = km_result_read_candidates(ctx, result_path, &cand, NULL);
        if (st == KM_ERR_FORMAT) { /* a result without candidates: a map alone */
            km_ctx_clear_error(ctx);
            st = KM_OK;
        }
        if (st != KM_OK)
            goto done;
        n_mark = cand.n;
        if (p.max_candidates > 0 && (size_t)p.max_candidates < n_mark)
            n_mark = (size_t)p.max_candidates;
    }

    /* True to scale: the finer axis gets `fine` pixels a cell, the other
       its pitch ratio times that. */
    fine_pitch = m.x_pitch_mm < m.y_pitch_mm ? m.x_pitch_mm : m.y_pitch_mm;
    rx = m.x_pitch_mm / fine_pitch;
    ry = m.y_pitch_mm / fine_pitch;
    extent = (double)m.nx * rx > (double)m.ny * ry ? (double)m.nx * rx : (double)m.ny * ry;
    fine = p.cell_px > 0 ? (double)p.cell_px : floor(AUTO_SIDE / extent);
    if (fine < 2.0 && p.cell_px == 0)
        fine = 2.0;
    if (extent * fine > MAX_SIDE - 200 || rx * fine > MAX_SIDE || ry * fine > MAX_SIDE) {
        st = km_fail(ctx, KM_ERR_LIMIT, "%s: %s is %d x %d cells: too large to draw",
                     result_path, m.dataset, (int)m.ny, (int)m.nx);
        goto done;
    }
    L.cell_w = (int32_t)lround(fine * rx);
    L.cell_h = (int32_t)lround(fine * ry);
    L.map_nx = m.nx;
    L.map_ny = m.ny;
    L.x0_mm = m.x0_mm;
    L.y0_mm = m.y0_mm;
    L.x_pitch_mm = m.x_pitch_mm;
    L.y_pitch_mm = m.y_pitch_mm;
    colour_range(&m, &p, &L.vmin, &L.vmax);
    L.n_marked = (int32_t)n_mark;
    units = m.units[0] ? m.units : "raw";

    map_w = m.nx * L.cell_w;
    map_h = m.ny * L.cell_h;
    L.map_x = MARGIN;
    L.map_y = MARGIN + TEXT_H + 8;
    bar_x = L.map_x + map_w + BAR_GAP;
    bar_h = map_h > BAR_MIN_H ? map_h : BAR_MIN_H;
    snprintf(hi, sizeof hi, "%.4g", L.vmax);
    snprintf(lo, sizeof lo, "%.4g", L.vmin);
    label_w = text_width(hi) > text_width(lo) ? text_width(hi) : text_width(lo);
    if (text_width(units) > BAR_W + TICK_W + 4 + label_w)
        label_w = text_width(units) - BAR_W - TICK_W - 4;
    body_h = map_h > bar_h ? map_h : bar_h;
    cv.w = bar_x + BAR_W + TICK_W + 4 + label_w + MARGIN;
    if (cv.w < L.map_x + 160)
        cv.w = L.map_x + 160; /* room for the scale bar's label */
    cv.h = L.map_y + body_h + 10 + TEXT_H + MARGIN;
    L.width = cv.w;
    L.height = cv.h;
    if (!km_size_mul((size_t)cv.w * (size_t)cv.h, 3, &bytes)) {
        st = km_fail(ctx, KM_ERR_LIMIT, "render: picture too large");
        goto done;
    }
    cv.px = km_alloc(ctx, bytes);
    if (cv.px == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    memset(cv.px, 255, bytes);
    draw_map(&cv, &m, &L);
    draw_colour_bar(&cv, &L, bar_x, bar_h, units);
    draw_scale_bar(&cv, &L, L.map_y + body_h + 10);
    draw_candidates(&cv, &cand, n_mark, &L);

    layout_text(layout, sizeof layout, &L, m.units, m.dataset);
    snprintf(software, sizeof software, "knotmap %s", km_version_string());
    {
        const char *keys[] = {"Software", "Source", "knotmap-layout"};
        const char *values[] = {software, result_path, layout};
        st = km_png_write_rgb(ctx, png_path, cv.w, cv.h, cv.px, keys, values, 3, p.overwrite);
    }
    if (st == KM_OK && info != NULL)
        *info = L;
done:
    km_free(ctx, cv.px);
    km_result_map_clear(ctx, &m);
    km_points_clear(ctx, &cand);
    return st;
}
