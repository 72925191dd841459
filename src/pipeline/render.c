/* The picture of a result: title, axes in mm with the orientation, the map
 * in viridis (true to scale), a colour bar with ticks, candidates ringed and
 * numbered with a list of their amplitude and size, a legend and what was
 * assumed.  Layout in docs/FORMAT.md 2.2.  This file lays the picture out
 * and draws the map, its axes and marks; render_text.c writes its texts,
 * render_scale.c its colour scale, render_legend.c its legend. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "io/file_out.h"
#include "render_internal.h"

void km_render_params_default(km_render_params *p)
{
    if (p == NULL)
        return;
    memset(p, 0, sizeof *p);
    p->map = KM_RENDER_AUTO;
    p->cell_px = 0;
    p->vmin = NAN;
    p->vmax = NAN;
    p->vmax_percentile = 99.0;
    p->max_candidates = 20;
    p->overwrite = 1;
    p->format = KM_IMAGE_AUTO;
    p->max_memory = KM_MAX_MEMORY_DEFAULT;
}

void km_buffer_free(km_ctx *ctx, void *data)
{
    km_free(ctx, data);
}

/* ---- parameters and colour scale ------------------------------------------- */

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
    if (!(p->vmax_percentile >= 50.0 && p->vmax_percentile <= 100.0))
        return km_fail(ctx, KM_ERR_INVALID, "render: vmax_percentile %g must be 50..100",
                       p->vmax_percentile);
    if (p->format < KM_IMAGE_AUTO || p->format > KM_IMAGE_PDF)
        return km_fail(ctx, KM_ERR_INVALID, "render: format %d is not a km_image_format",
                       (int)p->format);
    return KM_OK;
}

/* ---- the drawing ------------------------------------------------------------ */

/* km_ctx_cancel() (a SIGINT to the command): checked between the steps of a
   picture and within its long loops (the map, the PNG's rows), so a large
   map stops promptly with nothing written. */
static km_status check_cancel(km_ctx *ctx, const char *path)
{
    return km_ctx_cancelled(ctx) ? km_fail(ctx, KM_ERR_CANCELLED, "%s: cancelled", path) : KM_OK;
}

static double cell_cx(const km_render_info *L, double x_mm)
{
    return (double)L->map_x + ((x_mm - L->x0_mm) / L->x_pitch_mm + 0.5) * (double)L->cell_w;
}

static double cell_cy(const km_render_info *L, double y_mm)
{
    return (double)L->map_y + ((y_mm - L->y0_mm) / L->y_pitch_mm + 0.5) * (double)L->cell_h;
}

static void draw_axes(km_draw *d, const km_render_info *L, const texts *t)
{
    char lab[32];
    double mw = (double)(L->map_nx * L->cell_w), mh = (double)(L->map_ny * L->cell_h);
    double x_lo = L->x0_mm - 0.5 * L->x_pitch_mm, x_hi = x_lo + L->map_nx * L->x_pitch_mm;
    double y_lo = L->y0_mm - 0.5 * L->y_pitch_mm, y_hi = y_lo + L->map_ny * L->y_pitch_mm;
    double px_per_mm_x = (double)L->cell_w / L->x_pitch_mm;
    double px_per_mm_y = (double)L->cell_h / L->y_pitch_mm;
    double sx = km_nice_step(56.0 / px_per_mm_x), sy = km_nice_step(32.0 / px_per_mm_y);
    double bx = (double)L->map_x, by = (double)L->map_y;

    kd_group_begin(d, "axes", NULL);
    kd_rect(d, bx - 0.5, by - 0.5, mw + 1.0, mh + 1.0, KD_NONE, C_AXIS, 1.0);
    for (double v = ceil(x_lo / sx) * sx; v <= x_hi + 1e-9; v += sx) {
        double px = cell_cx(L, v) - 0.5 * L->cell_w;
        kd_line(d, px, by + mh, px, by + mh + TICK, C_AXIS, 1.0, 0);
        km_fmt_num(lab, sizeof lab, v, 4);
        kd_text(d, px, by + mh + TICK + 12, FS_TICK, 0, 0, 0.0, C_TEXT, KD_NONE, lab);
    }
    kd_text(d, bx + mw / 2.0, by + mh + TICK + 12 + 16, FS_TEXT, 0, 0, 0.0, C_TEXT, KD_NONE,
            t->x_label);
    for (double v = ceil(y_lo / sy) * sy; v <= y_hi + 1e-9; v += sy) {
        double py = cell_cy(L, v) - 0.5 * L->cell_h;
        kd_line(d, bx - TICK, py, bx, py, C_AXIS, 1.0, 0);
        km_fmt_num(lab, sizeof lab, v, 4);
        kd_text(d, bx - TICK - 3, py + 4, FS_TICK, 0, 1, 0.0, C_TEXT, KD_NONE, lab);
    }
    kd_text(d, PAD + 10, by + mh / 2.0, FS_TEXT, 0, 0, -90.0, C_TEXT, KD_NONE, t->y_label);
    kd_group_end(d);
}

/* Roller body map: a triangle at y = 0 right of the map and an arrow for
 * the first stroke. */
static void draw_start(km_draw *d, const km_render_info *L, int dir)
{
    double x = (double)(L->map_x + L->map_nx * L->cell_w) + 4.0, y = cell_cy(L, 0.0) -
                                                                        0.5 * L->cell_h;
    double mh = (double)(L->map_ny * L->cell_h), len = mh / 4.0;
    double tri[6] = {x, y, x + 9, y - 6, x + 9, y + 6};
    if (dir == 0)
        return;
    if (len > 80)
        len = 80;
    if (len < 16)
        len = 16;
    kd_group_begin(d, "orientation", "y = 0: first contact; arrow: first stroke");
    kd_poly(d, tri, 3, 1, 0xd62728u, KD_NONE, 0.0);
    double ax = x + 15, y1 = y + dir * len;
    kd_line(d, ax, y, ax, y1, 0xd62728u, 2.0, 0);
    double head[6] = {ax - 4.5, y1 - dir * 7.0, ax + 4.5, y1 - dir * 7.0, ax, y1};
    kd_poly(d, head, 3, 1, 0xd62728u, KD_NONE, 0.0);
    kd_group_end(d);
}

static double ring_radius(const km_render_info *L, const km_table_col *size, size_t k)
{
    int32_t fine = L->cell_w < L->cell_h ? L->cell_w : L->cell_h;
    double r = fine < 6 ? 6.0 : fine > 20 ? 20.0 : (double)fine;
    if (size != NULL && isfinite(size->v[k]) && size->v[k] > 0.0) {
        /* Two sigma of the fitted footprint, in pixels of the finer axis. */
        double px_per_mm = (double)L->cell_w / L->x_pitch_mm;
        r = 2.0 * size->v[k] * px_per_mm;
        r = r < 6.0 ? 6.0 : r > 40.0 ? 40.0 : r;
    }
    return r;
}

static void draw_candidates(km_draw *d, const km_result_summary *s, const km_render_info *L)
{
    const km_table *t = &s->candidates;
    const km_table_col *x = km_table_find(t, "x_mm"), *y = km_table_find(t, "y_mm");
    const km_table_col *size = km_table_find(t, "size_mm");
    char num[24];
    if (x == NULL || y == NULL)
        return;
    kd_group_begin(d, "candidates", NULL);
    /* Best drawn last so it is on top. */
    for (size_t k = (size_t)L->n_marked; k-- > 0;) {
        double cx = cell_cx(L, x->v[k]), cy = cell_cy(L, y->v[k]), r = ring_radius(L, size, k);
        if (!isfinite(cx) || !isfinite(cy) || fabs(cx) > 1e6 || fabs(cy) > 1e6)
            continue;
        snprintf(num, sizeof num, "%zu", k + 1);
        kd_group_begin(d, "candidate", num);
        kd_circle(d, cx, cy, r, KD_NONE, C_BLACK, 4.0);
        kd_circle(d, cx, cy, r, KD_NONE, C_WHITE, 2.0);
        kd_text(d, cx + 0.75 * r + 2, cy - 0.75 * r - 1, FS_NUM, 1, -1, 0.0, C_WHITE, C_BLACK,
                num);
        kd_group_end(d);
    }
    kd_group_end(d);
}

/* The map, each cell a block of cell_w x cell_h pixels. */
static km_status draw_map(km_ctx *ctx, km_draw *d, const km_result_map *m,
                          const km_render_info *L)
{
    size_t n = (size_t)m->ny * (size_t)m->nx;
    uint8_t *rgb = km_alloc(ctx, n * 3u);
    double span = L->vmax - L->vmin;
    if (rgb == NULL)
        return KM_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        double v = m->values[i];
        if (isfinite(v)) {
            km_render_colormap((v - L->vmin) / span, rgb + i * 3u);
        } else {
            rgb[i * 3u] = rgb[i * 3u + 1] = rgb[i * 3u + 2] = 150;
        }
    }
    kd_group_begin(d, "map", NULL);
    kd_image(d, L->map_x, L->map_y, (double)(m->nx * L->cell_w), (double)(m->ny * L->cell_h), rgb,
             m->nx, m->ny);
    kd_group_end(d);
    km_free(ctx, rgb);
    return KM_OK;
}

static void layout_text(char *buf, size_t cap, const frame *F, const char *units,
                        const char *dataset)
{
    const km_render_info *L = &F->L;
    snprintf(buf, cap,
             "map=%s map_x=%d map_y=%d cell_w=%d cell_h=%d nx=%d ny=%d x0_mm=%.17g y0_mm=%.17g "
             "x_pitch_mm=%.17g y_pitch_mm=%.17g vmin=%.17g vmax=%.17g units=%s n_marked=%d "
             "bar_x=%d bar_y=%d bar_w=%d bar_h=%d clipped_above=%.6g",
             dataset, (int)L->map_x, (int)L->map_y, (int)L->cell_w, (int)L->cell_h, (int)L->map_nx,
             (int)L->map_ny, L->x0_mm, L->y0_mm, L->x_pitch_mm, L->y_pitch_mm, L->vmin, L->vmax,
             units[0] ? units : "-", (int)L->n_marked, (int)F->bar_x, (int)L->map_y, BAR_W,
             (int)F->bar_h, L->clipped_above);
}

/* Cell sizes (true to scale) into L. */
static km_status cell_size(km_ctx *ctx, const char *path, const km_result_map *m,
                           const km_render_params *p, km_render_info *L)
{
    double fine_pitch = m->x_pitch_mm < m->y_pitch_mm ? m->x_pitch_mm : m->y_pitch_mm;
    double rx = m->x_pitch_mm / fine_pitch, ry = m->y_pitch_mm / fine_pitch;
    double extent = (double)m->nx * rx > (double)m->ny * ry ? (double)m->nx * rx
                                                            : (double)m->ny * ry;
    double fine = p->cell_px > 0 ? (double)p->cell_px : floor(AUTO_SIDE / extent);
    if (fine < 2.0 && p->cell_px == 0)
        fine = 2.0;
    if (extent * fine > MAX_SIDE - 600 || rx * fine > MAX_SIDE || ry * fine > MAX_SIDE)
        return km_fail(ctx, KM_ERR_LIMIT, "%s: %s is %d x %d cells: too large to draw", path,
                       m->dataset, (int)m->ny, (int)m->nx);
    L->cell_w = (int32_t)lround(fine * rx);
    L->cell_h = (int32_t)lround(fine * ry);
    if (L->cell_w < 1)
        L->cell_w = 1;
    if (L->cell_h < 1)
        L->cell_h = 1;
    L->map_nx = m->nx;
    L->map_ny = m->ny;
    L->x0_mm = m->x0_mm;
    L->y0_mm = m->y0_mm;
    L->x_pitch_mm = m->x_pitch_mm;
    L->y_pitch_mm = m->y_pitch_mm;
    return KM_OK;
}

/* The bytes a picture holds at its peak: per map cell its value (4), colour
   (3) and image (4: cairo's, or the PNG an SVG embeds), and for SVG and PDF
   that image encoded, in base64 and in the document's doubling buffer (15
   more); per pixel of a PNG its drawing surface (4), RGB copy (3) and the
   encoded file (at most about the copy, 3).  Measured on a 2000 x 2000 map
   (peak RSS less the 20 MB of a small picture): PNG (4188 x 4325 px) 180 MB,
   estimated 225; SVG, PDF and the report 88-90 MB, estimated 104. */
static uint64_t picture_bytes(const km_render_info *L, int64_t width, int64_t height,
                              km_draw_format format)
{
    uint64_t cells = (uint64_t)L->map_nx * (uint64_t)L->map_ny;
    uint64_t px = (uint64_t)width * (uint64_t)height;
    return format == KM_DRAW_PNG ? cells * 11u + px * 10u : cells * 26u;
}

/* The picture (width x height px) within p->max_memory, else KM_ERR_LIMIT
   saying what to do. */
static km_status check_budget(km_ctx *ctx, const char *path, const char *dataset,
                              const km_render_params *p, const km_render_info *L, int64_t width,
                              int64_t height, km_draw_format format)
{
    static const char *const names[] = {[KM_DRAW_PNG] = "PNG", [KM_DRAW_SVG] = "SVG",
                                        [KM_DRAW_PDF] = "PDF"};
    uint64_t budget = p->max_memory > 0 ? (uint64_t)p->max_memory : KM_MAX_MEMORY_DEFAULT;
    uint64_t need = picture_bytes(L, width, height, format);
    int shrink = format == KM_DRAW_PNG && (L->cell_w > 1 || L->cell_h > 1);
    if (need <= budget)
        return KM_OK;
    return km_fail(ctx, KM_ERR_LIMIT,
                   "%s: drawing %s (%d x %d cells, %d x %d px each, as a %lld x %lld px %s) "
                   "takes about %.0f MiB, beyond the memory budget of %.0f MiB (raise it: "
                   "--max-memory, max_memory=%s)",
                   path, dataset, (int)L->map_ny, (int)L->map_nx, (int)L->cell_w, (int)L->cell_h,
                   (long long)width, (long long)height, names[format], (double)need / 1048576.0,
                   (double)budget / 1048576.0, shrink ? "; or --cell-px 1, or an .svg" : "");
}

/* The map's shape, before its values are read: the cell size and the
   memory budget (the picture at least 100 px wider and higher than the map). */
typedef struct shape_check {
    const km_render_params *p;
    const char *path;
    km_draw_format format;
    km_render_info *L;
} shape_check;

static km_status on_shape(km_ctx *ctx, const km_result_map *m, void *user)
{
    shape_check *c = user;
    km_status st = cell_size(ctx, c->path, m, c->p, c->L);
    if (st != KM_OK)
        return st;
    return check_budget(ctx, c->path, m->dataset, c->p, c->L,
                        (int64_t)m->nx * c->L->cell_w + 100, (int64_t)m->ny * c->L->cell_h + 100,
                        c->format);
}

/* How many candidates to ring.  Candidates are in body coordinates: they
   belong on a body map, or on the grid of a mat, never on a roller's grid. */
static int32_t n_to_mark(const km_render_params *p, const km_result_map *m, const km_result_summary *s)
{
    size_t n = 0;
    if (p->max_candidates != 0 && (strcmp(m->dataset, "/frames/max") != 0 || !m->roller) &&
        km_table_find(&s->candidates, "x_mm") != NULL &&
        km_table_find(&s->candidates, "y_mm") != NULL) {
        n = s->candidates.n_rows;
        if (p->max_candidates > 0 && (size_t)p->max_candidates < n)
            n = (size_t)p->max_candidates;
    }
    return (int32_t)n;
}

/* Layout: where the map, the bar and the legend go and the picture's size,
   into F; measured with a throw-away SVG drawing (text metrics only). */
static km_status measure_layout(km_ctx *ctx, const char *result_path, const km_result_map *m,
                                const km_result_summary *s, const texts *t, const char *units,
                                frame *F)
{
    km_draw *meas = NULL;
    double max_w = 0;
    int32_t y;
    km_status st = kd_create(ctx, KM_DRAW_SVG, 1, 1, &meas);
    if (st != KM_OK)
        return st;
    double ylo = F->L.y0_mm - 0.5 * F->L.y_pitch_mm;
    double sy = km_nice_step(32.0 / ((double)F->L.cell_h / F->L.y_pitch_mm));
    int32_t map_w = m->nx * F->L.cell_w, map_h = m->ny * F->L.cell_h;
    double tick_w = km_render_max_tick_width(meas, ylo, ylo + m->ny * F->L.y_pitch_mm, sy);
    double span = F->L.vmax - F->L.vmin;
    double bar_lab =
        km_render_max_tick_width(meas, F->L.vmin, F->L.vmax, km_nice_step(span * 28.0 / 96.0));
    int32_t top = PAD + 26 + LINE;
    F->L.map_x = PAD + 18 + (int32_t)ceil(tick_w) + TICK + 6;
    F->L.map_y = top + 16;
    F->bar_x = F->L.map_x + map_w + BAR_GAP;
    F->bar_h = map_h > 120 ? map_h : 120;
    kd_text_width(meas, FS_TEXT, 0, t->bar_label);
    max_w = F->bar_x + BAR_W + TICK + 3 + bar_lab + 16 + 10;
    F->below_y = F->L.map_y + (map_h > F->bar_h ? map_h : F->bar_h) + TICK + 12 + 16 + 14;
    double tw = PAD + kd_text_width(meas, FS_TITLE, 1, t->title);
    max_w = tw > max_w ? tw : max_w;
    tw = PAD + kd_text_width(meas, FS_TEXT, 0, t->subtitle);
    max_w = tw > max_w ? tw : max_w;
    y = km_render_draw_legend(meas, F, t, s, units, F->below_y, 1, &max_w);
    tw = PAD + kd_text_width(meas, FS_TICK, 0, t->footer);
    max_w = tw > max_w ? tw : max_w;
    F->width = (int32_t)ceil(max_w) + PAD;
    F->height = y + 8 + LINE + PAD / 2;
    if (F->width > MAX_SIDE || F->height > MAX_SIDE) {
        st = km_fail(ctx, KM_ERR_LIMIT, "%s: the picture would be %d x %d px: too large",
                     result_path, (int)F->width, (int)F->height);
        goto done;
    }
    F->L.width = F->width;
    F->L.height = F->height;
done:
    kd_free(meas);
    return st;
}

/* Draw the laid-out picture and finish the file, with its text chunks
   (software, source, layout). */
static km_status draw_picture(km_ctx *ctx, const char *result_path, km_draw_format format,
                              int svg_inline, const km_result_map *m, const km_result_summary *s,
                              const texts *t, const char *units, const frame *F, uint8_t **out,
                              size_t *out_n)
{
    km_draw *d = NULL;
    double max_w = 0;
    char layout[LAYOUT_LEN], software[64];
    int32_t y;
    km_status st = kd_create(ctx, format, F->width, F->height, &d);
    if (st != KM_OK)
        goto done;
    kd_text(d, PAD, PAD + 15, FS_TITLE, 1, -1, 0.0, C_TEXT, KD_NONE, t->title);
    kd_text(d, PAD, PAD + 26 + 12, FS_TEXT, 0, -1, 0.0, C_MUTED, KD_NONE, t->subtitle);
    st = draw_map(ctx, d, m, &F->L);
    if (st == KM_OK)
        st = check_cancel(ctx, result_path);
    if (st != KM_OK)
        goto done;
    draw_axes(d, &F->L, t);
    km_render_draw_bar(d, F, t);
    draw_start(d, &F->L, t->first_dir);
    draw_candidates(d, s, &F->L);
    y = km_render_draw_legend(d, F, t, s, units, F->below_y, 0, &max_w);
    kd_text(d, PAD, y + 8 + 12, FS_TICK, 0, -1, 0.0, C_MUTED, KD_NONE, t->footer);

    layout_text(layout, sizeof layout, F, m->units, m->dataset);
    snprintf(software, sizeof software, KM_MADE_BY "%s", km_version_string());
    {
        const char *keys[] = {KM_SOFTWARE_KEY, "Source", "knotmap-layout"};
        const char *values[] = {software, result_path, layout};
        st = kd_finish(ctx, d, keys, values, 3, svg_inline, out, out_n);
    }
done:
    kd_free(d);
    return st;
}

km_status km_render_draw(km_ctx *ctx, const char *result_path, const km_render_params *params,
                         km_draw_format format, int svg_inline, km_render_info *info,
                         uint8_t **out, size_t *out_n, km_result_summary *summary)
{
    km_status st;
    km_render_params p;
    km_result_map m;
    km_result_summary s;
    frame F;
    texts t;
    double data_max = NAN;
    const char *units;

    memset(&m, 0, sizeof m);
    memset(&s, 0, sizeof s);
    memset(&F, 0, sizeof F);
    *out = NULL;
    *out_n = 0;
    if (params != NULL)
        p = *params;
    else
        km_render_params_default(&p);
    st = check_params(ctx, &p);
    if (st != KM_OK)
        return st;
    shape_check check = {&p, result_path, format, &F.L};
    st = km_result_read_map(ctx, result_path, (km_result_map_kind)p.map, on_shape, &check, &m);
    if (st == KM_OK)
        st = km_result_read_summary(ctx, result_path,
                                    p.max_memory > 0 ? p.max_memory : KM_MAX_MEMORY_DEFAULT,
                                    summary != NULL, &s); /* the report's plots: /metrics */
    if (st != KM_OK)
        goto done;
    F.L.n_marked = n_to_mark(&p, &m, &s);
    st = check_cancel(ctx, result_path);
    if (st == KM_OK)
        st = km_render_colour_range(ctx, &m, &p, &F.L, &data_max);
    if (st == KM_OK)
        st = check_cancel(ctx, result_path);
    if (st != KM_OK)
        goto done;
    units = m.units[0] ? m.units : "raw";
    km_render_make_texts(&m, &s, &F.L, data_max, result_path, &t);
    st = measure_layout(ctx, result_path, &m, &s, &t, units, &F);
    if (st == KM_OK)
        st = check_budget(ctx, result_path, m.dataset, &p, &F.L, F.width, F.height, format);
    if (st == KM_OK)
        st = draw_picture(ctx, result_path, format, svg_inline, &m, &s, &t, units, &F, out, out_n);
    if (st == KM_OK && info != NULL) {
        *info = F.L;
        info->format = format == KM_DRAW_PNG   ? KM_IMAGE_PNG
                       : format == KM_DRAW_SVG ? KM_IMAGE_SVG
                                               : KM_IMAGE_PDF;
    }
done:
    km_result_map_clear(ctx, &m);
    if (summary != NULL && st == KM_OK) {
        *summary = s; /* handed over: read once for the report */
        memset(&s, 0, sizeof s);
    }
    km_result_summary_clear(ctx, &s);
    return st;
}

int32_t km_render_format_of_path(const char *path)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (dot == NULL || (slash != NULL && dot < slash))
        return 0;
    if (strcasecmp(dot, ".png") == 0)
        return KM_IMAGE_PNG;
    if (strcasecmp(dot, ".svg") == 0)
        return KM_IMAGE_SVG;
    if (strcasecmp(dot, ".pdf") == 0)
        return KM_IMAGE_PDF;
    return 0;
}

int km_report_name(const char *path)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    return dot != NULL && (slash == NULL || dot > slash) &&
           (strcasecmp(dot, ".html") == 0 || strcasecmp(dot, ".htm") == 0);
}

static km_draw_format draw_format(int32_t f)
{
    return f == KM_IMAGE_SVG ? KM_DRAW_SVG : f == KM_IMAGE_PDF ? KM_DRAW_PDF : KM_DRAW_PNG;
}

km_status km_render_to_memory(km_ctx *ctx, const char *result_path, const km_render_params *p,
                              km_render_info *info, uint8_t **data, size_t *size)
{
    if (info != NULL)
        memset(info, 0, sizeof *info);
    if (result_path == NULL || data == NULL || size == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "render: NULL argument");
    *data = NULL;
    *size = 0;
    if (p == NULL || p->format < KM_IMAGE_PNG || p->format > KM_IMAGE_PDF)
        return km_fail(ctx, KM_ERR_INVALID,
                       "render: a picture in memory needs a format (PNG, SVG or PDF)");
    return km_render_draw(ctx, result_path, p, draw_format(p->format), 0, info, data, size, NULL);
}

km_status km_render(km_ctx *ctx, const char *result_path, const char *out_path,
                    const km_render_params *params, km_render_info *info)
{
    km_status st;
    km_render_params p;
    uint8_t *bytes = NULL;
    size_t n = 0;
    static const km_file_kind kinds[] = {KM_FILE_PNG, KM_FILE_PNG, KM_FILE_SVG, KM_FILE_PDF};

    if (info != NULL)
        memset(info, 0, sizeof *info);
    if (result_path == NULL || out_path == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "render: NULL path");
    if (params != NULL)
        p = *params;
    else
        km_render_params_default(&p);
    if (p.format == KM_IMAGE_AUTO) {
        p.format = km_render_format_of_path(out_path);
        if (p.format == 0 && km_report_name(out_path))
            return km_fail(ctx, KM_ERR_INVALID,
                           "%s: a picture is .png, .svg or .pdf; the HTML report is made by "
                           "knotmap report %s -o %s (Python: knotmap.report)",
                           out_path, result_path, out_path);
        if (p.format == 0)
            return km_fail(ctx, KM_ERR_INVALID,
                           "%s: unknown picture format: the name must end in .png, .svg or .pdf",
                           out_path);
    }
    st = check_params(ctx, &p);
    if (st != KM_OK)
        return st;
    st = km_render_draw(ctx, result_path, &p, draw_format(p.format), 0, info, &bytes, &n, NULL);
    if (st == KM_OK)
        st = km_file_write_atomic(ctx, out_path, bytes, n, kinds[p.format], p.overwrite);
    if (st != KM_OK && info != NULL)
        memset(info, 0, sizeof *info);
    km_free(ctx, bytes);
    return st;
}
