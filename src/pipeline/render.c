/* The picture of a result: title, axes in mm with the orientation, the map
 * in viridis (true to scale), a colour bar with ticks, candidates ringed and
 * numbered with a list of their amplitude and size, a legend and what was
 * assumed.  Layout in docs/FORMAT.md 2.2. */
#include "render.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/file_out.h"
#include "io/result_reader.h"
#include "io/result_summary.h"

#define PAD 16
#define AUTO_SIDE 480         /* cell_px = 0: the map's longer side fits this */
#define MAX_SIDE 16384        /* no picture larger than this either way */
#define BAR_W 16
#define BAR_GAP 28            /* map to colour bar: room for the start marker */
#define TICK 5
#define FS_TITLE 17.0
#define FS_TEXT 12.5
#define FS_TICK 11.0
#define FS_NUM 13.0
#define LINE 18               /* text line pitch */
#define LAYOUT_LEN 512

#define C_TEXT 0x1a1a1au
#define C_MUTED 0x5a5a5au
#define C_AXIS 0x333333u
#define C_WARN 0x9a3412u
#define C_NAN 0x969696u       /* (150, 150, 150) */
#define C_WHITE 0xffffffu
#define C_BLACK 0x000000u

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
}

void km_buffer_free(km_ctx *ctx, void *data)
{
    km_free(ctx, data);
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

static uint32_t colour_of(double t)
{
    uint8_t c[3];
    colormap(t, c);
    return (uint32_t)c[0] << 16 | (uint32_t)c[1] << 8 | c[2];
}

void km_fmt_num(char *buf, size_t cap, double v, int digits)
{
    if (!isfinite(v)) {
        snprintf(buf, cap, "%s", isnan(v) ? "n/a" : v > 0 ? "inf" : "-inf");
        return;
    }
    double a = fabs(v);
    int decimals = a == 0.0 ? 0 : digits - 1 - (int)floor(log10(a));
    if (decimals < 0)
        decimals = 0;
    if (decimals > 6)
        decimals = 6;
    snprintf(buf, cap, "%.*f", decimals, v);
    if (strchr(buf, '.') != NULL) {
        size_t n = strlen(buf);
        while (n > 0 && buf[n - 1] == '0')
            buf[--n] = '\0';
        if (n > 0 && buf[n - 1] == '.')
            buf[--n] = '\0';
    }
    if (strcmp(buf, "-0") == 0)
        snprintf(buf, cap, "0");
}

/* Is `name` in the list?  Items are separated by commas or spaces and may
 * carry "=value" (/session assumed is "a,b"; the source header's
 * knotmap_assumed "a=1 b=2"). */
static int has_name(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p != NULL && *p != '\0';) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t len = strcspn(p, ", ");
        size_t key = strcspn(p, "=, ");
        if (key == n && strncmp(p, name, n) == 0)
            return 1;
        p += len;
    }
    return 0;
}

/* Appends "what" to buf with ", " between. */
static void add_sep(char *buf, size_t cap, const char *what, const char *sep)
{
    size_t n = strlen(buf);
    if (n + 1 < cap)
        snprintf(buf + n, cap - n, "%s%s", n > 0 ? sep : "", what);
}

static void add_part(char *buf, size_t cap, const char *what)
{
    add_sep(buf, cap, what, ", ");
}

void km_describe_assumed(const km_result_summary *s, char *buf, size_t cap)
{
    char a[32], b[32], part[96];
    const char *list = s->assumed;
    int rp = has_name(list, "row_pitch_mm"), cp = has_name(list, "col_pitch_mm");
    buf[0] = '\0';
    if (cap == 0)
        return;
    if (rp || cp) {
        km_fmt_num(a, sizeof a, s->row_pitch_mm, 3);
        km_fmt_num(b, sizeof b, s->col_pitch_mm, 3);
        if (rp && cp && strcmp(a, b) == 0)
            snprintf(part, sizeof part, "taxel pitch %s mm", a);
        else if (rp && cp)
            snprintf(part, sizeof part, "taxel pitch %s \u00d7 %s mm", a, b);
        else
            snprintf(part, sizeof part, "%s pitch %s mm", rp ? "row" : "column", rp ? a : b);
        add_part(buf, cap, part);
    }
    if (has_name(list, "frame_rate_hz")) {
        km_fmt_num(a, sizeof a, s->frame_rate_hz, 4);
        snprintf(part, sizeof part, "frame rate %s Hz", a);
        add_part(buf, cap, part);
    }
    if (has_name(list, "units")) {
        snprintf(part, sizeof part, "units %.40s", s->units[0] ? s->units : "raw");
        add_part(buf, cap, part);
    }
    if (has_name(list, "mode")) {
        snprintf(part, sizeof part, "mode %.40s", s->mode[0] ? s->mode : "mat");
        add_part(buf, cap, part);
    }
    if (has_name(list, "roller_radius_mm")) {
        km_fmt_num(a, sizeof a, s->roller_radius_mm, 3);
        snprintf(part, sizeof part, "roller radius %s mm", a);
        add_part(buf, cap, part);
    }
    /* Names this knotmap does not know (a newer writer, the header's
       free-form knotmap_assumed): shown as they are. */
    if (buf[0] == '\0' && list[0] != '\0')
        snprintf(buf, cap, "%s", list);
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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* vmin/vmax from the params, else vmin = 0 (or the minimum when a value is
 * negative) and vmax = the percentile of the finite cells (linear between
 * ranks, as numpy.percentile); the shares outside the range. */
static km_status colour_range(km_ctx *ctx, const km_result_map *m, const km_render_params *p,
                              km_render_info *L, double *data_max)
{
    size_t n = (size_t)m->ny * (size_t)m->nx, nf = 0, above = 0, below = 0;
    double *v = km_alloc(ctx, (n > 0 ? n : 1) * sizeof *v), lo, hi;
    if (v == NULL)
        return KM_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        if (isfinite(m->values[i]))
            v[nf++] = m->values[i];
    if (nf == 0) {
        lo = 0.0;
        hi = 1.0;
        *data_max = NAN;
    } else {
        qsort(v, nf, sizeof *v, cmp_double);
        double pos = p->vmax_percentile / 100.0 * (double)(nf - 1);
        size_t k = (size_t)floor(pos);
        double f = pos - (double)k;
        hi = k + 1 < nf ? v[k] + f * (v[k + 1] - v[k]) : v[nf - 1];
        lo = v[0] < 0.0 ? v[0] : 0.0;
        *data_max = v[nf - 1];
    }
    if (!isnan(p->vmin))
        lo = p->vmin;
    if (!isnan(p->vmax))
        hi = p->vmax;
    if (!(hi > lo)) /* a flat map: one colour, a range of width 1 below it */
        lo = hi - 1.0;
    for (size_t i = 0; i < nf; i++) {
        above += v[i] > hi;
        below += v[i] < lo;
    }
    L->vmin = lo;
    L->vmax = hi;
    L->clipped_above = nf > 0 ? (double)above / (double)nf : 0.0;
    L->clipped_below = nf > 0 ? (double)below / (double)nf : 0.0;
    km_free(ctx, v);
    return KM_OK;
}

/* A round step (1, 2, 5 x 10^k) at least `min_step`. */
static double nice_step(double min_step)
{
    if (!(min_step > 0.0) || !isfinite(min_step))
        return 1.0;
    double p = pow(10.0, floor(log10(min_step)));
    if (p >= min_step)
        return p;
    if (2.0 * p >= min_step)
        return 2.0 * p;
    if (5.0 * p >= min_step)
        return 5.0 * p;
    return 10.0 * p;
}

/* ---- what the picture says -------------------------------------------------- */

typedef struct texts {
    char title[256];
    char subtitle[256];
    char assumed[320];
    char x_label[96], y_label[96];
    char bar_label[96];
    char orient[2][200];
    char grey[128];
    char clip[320];
    char footer[256];
    int first_dir;             /* roller body map: +1 first stroke toward +y, -1 toward -y, 0 unknown */
} texts;

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s != NULL && s[1] != '\0' ? s + 1 : path;
}

static void make_texts(const km_result_map *m, const km_result_summary *s,
                       const km_render_info *L, double data_max, const char *result_path,
                       texts *t)
{
    char a[32], b[32], c[32], part[160];
    const char *units = m->units[0] ? m->units : "raw";
    int body = strcmp(m->dataset, "/frames/max") != 0;
    int excess = strcmp(m->dataset, "/bodymap/excess") == 0;
    memset(t, 0, sizeof *t);

    snprintf(t->title, sizeof t->title, "%.100s \u2014 %s",
             base_name(s->source_path[0] ? s->source_path : result_path),
             excess ? "knot map (pressure above the local background)"
             : body && m->roller ? "body map (highest pressure at each body position)"
                                 : "highest pressure at each taxel");
    if (s->recorded[0]) {
        snprintf(part, sizeof part, "recorded %.100s", s->recorded);
        add_sep(t->subtitle, sizeof t->subtitle, part, "  \u00b7  ");
    }
    if (isfinite(s->duration_s)) {
        km_fmt_num(a, sizeof a, s->duration_s, 3);
        snprintf(part, sizeof part, "%s s", a);
        add_sep(t->subtitle, sizeof t->subtitle, part, "  \u00b7  ");
    }
    if (m->roller) {
        km_fmt_num(a, sizeof a, s->roller_radius_mm, 3);
        if (s->roller_radius_mm > 0.0)
            snprintf(part, sizeof part, "roller (radius %s mm)", a);
        else
            snprintf(part, sizeof part, "roller");
    } else {
        snprintf(part, sizeof part, "pressure mat");
    }
    add_sep(t->subtitle, sizeof t->subtitle, part, "  \u00b7  ");
    if (s->rows > 0 && s->cols > 0) {
        km_fmt_num(a, sizeof a, s->row_pitch_mm, 3);
        km_fmt_num(b, sizeof b, s->col_pitch_mm, 3);
        if (strcmp(a, b) == 0)
            snprintf(part, sizeof part, "%d \u00d7 %d taxels of %s mm", (int)s->rows, (int)s->cols, a);
        else
            snprintf(part, sizeof part, "%d \u00d7 %d taxels of %s \u00d7 %s mm", (int)s->rows,
                     (int)s->cols, a, b);
        add_sep(t->subtitle, sizeof t->subtitle, part, "  \u00b7  ");
    }
    km_describe_assumed(s, part, sizeof part);
    if (part[0])
        snprintf(t->assumed, sizeof t->assumed,
                 "Assumed, not in the recording: %s. Sizes and times depend on it.", part);

    if (body && m->roller) {
        snprintf(t->x_label, sizeof t->x_label, "across the body, along the roller (mm)");
        snprintf(t->y_label, sizeof t->y_label, "along the body (mm)");
    } else if (m->roller) {
        snprintf(t->x_label, sizeof t->x_label, "along the roller: column x (mm)");
        snprintf(t->y_label, sizeof t->y_label, "around the roller: row y (mm)");
    } else {
        snprintf(t->x_label, sizeof t->x_label, "x (mm), column 0 at the left");
        snprintf(t->y_label, sizeof t->y_label, "y (mm), row 0 at the top");
    }
    snprintf(t->bar_label, sizeof t->bar_label, "%s (%s)",
             excess ? "above background" : "highest pressure",
             strcmp(units, "raw") == 0 ? "raw counts" : units);

    if (body && m->roller) {
        /* y = 0 is the first contact line (docs/FORMAT.md 2.1); the first
           stroke left it toward the side where the map extends further
           (the session starts at one end of the stroke). */
        double top = L->y0_mm - 0.5 * L->y_pitch_mm;
        double bottom = L->y0_mm + ((double)m->ny - 0.5) * L->y_pitch_mm;
        if (top <= 0.0 && bottom >= 0.0) {
            t->first_dir = bottom >= -top ? 1 : -1;
            snprintf(t->orient[0], sizeof t->orient[0],
                     "Start: y = 0 mm (the triangle) is where the roller first touched.");
            snprintf(t->orient[1], sizeof t->orient[1],
                     "First stroke: toward %s y (the arrow, %s the picture).",
                     t->first_dir > 0 ? "+" : "-", t->first_dir > 0 ? "down" : "up");
        }
    } else if (!m->roller) {
        snprintf(t->orient[0], sizeof t->orient[0],
                 "Orientation as in the sensor file: row 0 at the top, column 0 at the left.");
        snprintf(t->orient[1], sizeof t->orient[1],
                 "Head and feet are not recorded in the file.");
    } else {
        snprintf(t->orient[0], sizeof t->orient[0],
                 "The roller's own sensor grid (row 0 at the top), not body positions.");
    }
    snprintf(t->grey, sizeof t->grey, "%s",
             excess ? "grey: covered by too few passes to judge"
             : body && m->roller ? "grey: not reached by the roller (no data)"
                    : "grey: masked taxel or no valid reading");
    if (L->clipped_above > 0.0) {
        km_fmt_num(a, sizeof a, L->vmax, 3);
        km_fmt_num(b, sizeof b, 100.0 * L->clipped_above, 2);
        km_fmt_num(c, sizeof c, data_max, 3);
        snprintf(t->clip, sizeof t->clip,
                 "Colours end at %s %.31s: %s%% of the cells are higher (up to %s %.31s) and "
                 "show the top colour.",
                 a, units, b, c, units);
    }
    snprintf(t->footer, sizeof t->footer, "knotmap %s  \u00b7  %.120s%s%.40s",
             s->version[0] ? s->version : km_version_string(), base_name(result_path),
             s->created_utc[0] ? "  \u00b7  processed " : "", s->created_utc);
}

/* The text of candidate k's line in the list under the map. */
static void candidate_line(const km_result_summary *s, size_t k, const char *units, char *buf,
                           size_t cap)
{
    const km_table *t = &s->candidates;
    const km_table_col *x = km_table_find(t, "x_mm"), *y = km_table_find(t, "y_mm");
    const km_table_col *amp = km_table_find(t, "amplitude"), *peak = km_table_find(t, "peak");
    const km_table_col *size = km_table_find(t, "size_mm"), *area = km_table_find(t, "area_mm2");
    const km_table_col *np = km_table_find(t, "n_passes"), *nc = km_table_find(t, "n_covering");
    char a[32], b[32], part[128];
    buf[0] = '\0';
    if (x != NULL && y != NULL) {
        km_fmt_num(a, sizeof a, x->v[k], 3);
        km_fmt_num(b, sizeof b, y->v[k], 3);
        snprintf(part, sizeof part, "at x %s, y %s mm", a, b);
        add_part(buf, cap, part);
    }
    if (amp != NULL || peak != NULL) {
        km_fmt_num(a, sizeof a, amp != NULL ? amp->v[k] : peak->v[k], 3);
        snprintf(part, sizeof part, "%s %s %s", amp != NULL ? "amplitude" : "excess", a, units);
        add_part(buf, cap, part);
    }
    if (size != NULL) {
        km_fmt_num(a, sizeof a, size->v[k], 2);
        snprintf(part, sizeof part, "size %s mm", a);
        add_part(buf, cap, part);
    } else if (area != NULL) {
        km_fmt_num(a, sizeof a, area->v[k], 3);
        snprintf(part, sizeof part, "area %s mm\u00b2", a);
        add_part(buf, cap, part);
    }
    if (np != NULL && nc != NULL && isfinite(np->v[k]) && isfinite(nc->v[k])) {
        snprintf(part, sizeof part, "seen in %.0f of %.0f passes", np->v[k], nc->v[k]);
        add_part(buf, cap, part);
    }
}

/* ---- the drawing ------------------------------------------------------------ */

typedef struct frame {
    km_render_info L;
    int32_t width, height;
    int32_t bar_x, bar_h;
    int32_t y_axis_w;          /* tick labels left of the map */
    int32_t below_y;           /* first text line under the map's x axis */
    double ring_r;
    size_t n_lines;            /* candidate list lines */
} frame;

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
    double sx = nice_step(56.0 / px_per_mm_x), sy = nice_step(32.0 / px_per_mm_y);
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

static void draw_bar(km_draw *d, const frame *F, const texts *t)
{
    const km_render_info *L = &F->L;
    double bx = F->bar_x, by = L->map_y, bh = F->bar_h, span = L->vmax - L->vmin;
    uint8_t *rgb = NULL;
    char lab[32];
    /* The bar as an image 1 x bar_h: exact colours in every format. */
    rgb = malloc((size_t)F->bar_h * 3u);
    if (rgb == NULL)
        return;
    for (int32_t j = 0; j < F->bar_h; j++)
        colormap(1.0 - (double)j / (double)(F->bar_h - 1), rgb + (size_t)j * 3u);
    kd_group_begin(d, "colourbar", NULL);
    kd_image(d, bx, by, BAR_W, bh, rgb, 1, F->bar_h);
    free(rgb);
    kd_rect(d, bx - 0.5, by - 0.5, BAR_W + 1.0, bh + 1.0, KD_NONE, C_AXIS, 1.0);
    if (L->clipped_above > 0.0) {
        double tri[6] = {bx, by - 3, bx + BAR_W, by - 3, bx + BAR_W / 2.0, by - 13};
        kd_poly(d, tri, 3, 1, colour_of(1.0), C_AXIS, 1.0);
    }
    if (L->clipped_below > 0.0) {
        double tri[6] = {bx, by + bh + 3, bx + BAR_W, by + bh + 3, bx + BAR_W / 2.0,
                         by + bh + 13};
        kd_poly(d, tri, 3, 1, colour_of(0.0), C_AXIS, 1.0);
    }
    double step = nice_step(span * 28.0 / bh);
    for (double v = ceil(L->vmin / step) * step; v <= L->vmax + 1e-9 * span; v += step) {
        double py = by + bh - (v - L->vmin) / span * (bh - 1.0);
        kd_line(d, bx + BAR_W, py, bx + BAR_W + TICK, py, C_AXIS, 1.0, 0);
        km_fmt_num(lab, sizeof lab, v, 4);
        kd_text(d, bx + BAR_W + TICK + 3, py + 4, FS_TICK, 0, -1, 0.0, C_TEXT, KD_NONE, lab);
    }
    double lw = 0;
    for (double v = ceil(L->vmin / step) * step; v <= L->vmax + 1e-9 * span; v += step) {
        km_fmt_num(lab, sizeof lab, v, 4);
        double w = kd_text_width(d, FS_TICK, 0, lab);
        lw = w > lw ? w : lw;
    }
    kd_text(d, bx + BAR_W + TICK + 3 + lw + 16, by + bh / 2.0, FS_TEXT, 0, 0, -90.0, C_TEXT,
            KD_NONE, t->bar_label);
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
            colormap((v - L->vmin) / span, rgb + i * 3u);
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

/* Legend rows: ring, grey, clipped share; then the candidate list. */
static int32_t draw_legend(km_draw *d, const frame *F, const texts *t, const km_result_summary *s,
                           const char *units, int32_t y, int measure_only, double *max_w)
{
    const km_render_info *L = &F->L;
    char line[400], num[16];
    double x = PAD, w;
#define ROW_TEXT(str, colour, bold)                                                          \
    do {                                                                                     \
        w = x + 26 + kd_text_width(d, FS_TEXT, bold, str);                                   \
        *max_w = w > *max_w ? w : *max_w;                                                    \
        if (!measure_only)                                                                   \
            kd_text(d, x + 26, y + 13, FS_TEXT, bold, -1, 0.0, colour, KD_NONE, str);        \
        y += LINE;                                                                           \
    } while (0)
    for (int i = 0; i < 2; i++)
        if (t->orient[i][0]) {
            if (!measure_only && i == 0 && t->first_dir != 0) {
                double tri[6] = {x + 4, y + 9, x + 13, y + 3, x + 13, y + 15};
                kd_poly(d, tri, 3, 1, 0xd62728u, KD_NONE, 0.0);
            }
            ROW_TEXT(t->orient[i], C_TEXT, 0);
        }
    if (!measure_only) {
        kd_group_begin(d, "legend", NULL);
        kd_rect(d, x + 2, y + 3, 14, 12, C_NAN, C_AXIS, 1.0);
    }
    ROW_TEXT(t->grey, C_TEXT, 0);
    if (L->n_marked > 0) {
        if (!measure_only) {
            kd_circle(d, x + 9, y + 9, 6.5, colour_of(0.45), KD_NONE, 0.0);
            kd_circle(d, x + 9, y + 9, 6.5, KD_NONE, C_BLACK, 4.0);
            kd_circle(d, x + 9, y + 9, 6.5, KD_NONE, C_WHITE, 2.0);
        }
        snprintf(line, sizeof line, "%s",
                 km_table_find(&s->candidates, "size_mm") != NULL
                     ? "ring: knot candidate, numbered by rank (1 = strongest); ring radius = "
                       "2 \u00d7 its size"
                     : "ring: knot candidate, numbered by rank (1 = strongest)");
        ROW_TEXT(line, C_TEXT, 0);
    }
    if (t->clip[0]) {
        if (!measure_only) {
            double tri[6] = {x + 2, y + 15, x + 16, y + 15, x + 9, y + 3};
            kd_poly(d, tri, 3, 1, colour_of(1.0), C_AXIS, 1.0);
        }
        ROW_TEXT(t->clip, C_TEXT, 0);
    }
    if (!measure_only)
        kd_group_end(d);
    if (t->assumed[0]) {
        if (!measure_only)
            kd_text(d, x + 8, y + 13, FS_TEXT, 1, 0, 0.0, C_WARN, KD_NONE, "!");
        ROW_TEXT(t->assumed, C_WARN, 1);
    }
    if (L->n_marked > 0) {
        y += 6;
        snprintf(line, sizeof line, "Knot candidates (%d of %zu shown, strongest first)",
                 (int)L->n_marked, s->candidates.n_rows > (size_t)L->n_marked
                                       ? s->candidates.n_rows
                                       : (size_t)L->n_marked);
        w = x + kd_text_width(d, FS_TEXT, 1, line);
        *max_w = w > *max_w ? w : *max_w;
        if (!measure_only) {
            kd_group_begin(d, "candidate-list", NULL);
            kd_text(d, x, y + 13, FS_TEXT, 1, -1, 0.0, C_TEXT, KD_NONE, line);
        }
        y += LINE;
        for (size_t k = 0; k < (size_t)L->n_marked && k < s->candidates.n_rows; k++) {
            snprintf(num, sizeof num, "%zu", k + 1);
            candidate_line(s, k, units, line, sizeof line);
            if (!measure_only)
                kd_text(d, x + 20, y + 13, FS_TEXT, 1, 1, 0.0, C_TEXT, KD_NONE, num);
            ROW_TEXT(line, C_TEXT, 0);
        }
        if (!measure_only)
            kd_group_end(d);
    }
#undef ROW_TEXT
    return y;
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

static double max_tick_width(km_draw *d, double lo, double hi, double step)
{
    char lab[32];
    double w = 0;
    for (double v = ceil(lo / step) * step; v <= hi + 1e-9 * fabs(hi - lo); v += step) {
        km_fmt_num(lab, sizeof lab, v, 4);
        double t = kd_text_width(d, FS_TICK, 0, lab);
        w = t > w ? t : w;
    }
    return w;
}

km_status km_render_draw(km_ctx *ctx, const char *result_path, const km_render_params *params,
                         km_draw_format format, int svg_inline, km_render_info *info,
                         uint8_t **out, size_t *out_n)
{
    km_status st;
    km_render_params p;
    km_result_map m;
    km_result_summary s;
    frame F;
    texts t;
    km_draw *meas = NULL, *d = NULL;
    double data_max = NAN, max_w = 0;
    char layout[LAYOUT_LEN], software[64];
    const char *units;
    int32_t y;

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
    st = km_result_read_map(ctx, result_path, (km_result_map_kind)p.map, &m);
    if (st == KM_OK)
        st = km_result_read_summary(ctx, result_path, &s);
    if (st != KM_OK)
        goto done;
    /* Candidates are in body coordinates: they belong on a body map, or on
       the grid of a mat, never on a roller's grid. */
    if (p.max_candidates != 0 && (strcmp(m.dataset, "/frames/max") != 0 || !m.roller) &&
        km_table_find(&s.candidates, "x_mm") != NULL &&
        km_table_find(&s.candidates, "y_mm") != NULL) {
        size_t n = s.candidates.n_rows;
        if (p.max_candidates > 0 && (size_t)p.max_candidates < n)
            n = (size_t)p.max_candidates;
        F.L.n_marked = (int32_t)n;
    }
    st = cell_size(ctx, result_path, &m, &p, &F.L);
    if (st == KM_OK)
        st = colour_range(ctx, &m, &p, &F.L, &data_max);
    if (st != KM_OK)
        goto done;
    units = m.units[0] ? m.units : "raw";
    make_texts(&m, &s, &F.L, data_max, result_path, &t);

    /* Layout: measure with a throw-away SVG drawing (text metrics only). */
    st = kd_create(ctx, KM_DRAW_SVG, 1, 1, &meas);
    if (st != KM_OK)
        goto done;
    {
        double ylo = F.L.y0_mm - 0.5 * F.L.y_pitch_mm;
        double sy = nice_step(32.0 / ((double)F.L.cell_h / F.L.y_pitch_mm));
        int32_t map_w = m.nx * F.L.cell_w, map_h = m.ny * F.L.cell_h;
        double tick_w = max_tick_width(meas, ylo, ylo + m.ny * F.L.y_pitch_mm, sy);
        double span = F.L.vmax - F.L.vmin;
        double bar_lab = max_tick_width(meas, F.L.vmin, F.L.vmax, nice_step(span * 28.0 / 96.0));
        int32_t top = PAD + 26 + LINE;
        F.L.map_x = PAD + 18 + (int32_t)ceil(tick_w) + TICK + 6;
        F.L.map_y = top + 16;
        F.bar_x = F.L.map_x + map_w + BAR_GAP;
        F.bar_h = map_h > 120 ? map_h : 120;
        kd_text_width(meas, FS_TEXT, 0, t.bar_label);
        max_w = F.bar_x + BAR_W + TICK + 3 + bar_lab + 16 + 10;
        F.below_y = F.L.map_y + (map_h > F.bar_h ? map_h : F.bar_h) + TICK + 12 + 16 + 14;
        double tw = PAD + kd_text_width(meas, FS_TITLE, 1, t.title);
        max_w = tw > max_w ? tw : max_w;
        tw = PAD + kd_text_width(meas, FS_TEXT, 0, t.subtitle);
        max_w = tw > max_w ? tw : max_w;
        y = draw_legend(meas, &F, &t, &s, units, F.below_y, 1, &max_w);
        tw = PAD + kd_text_width(meas, FS_TICK, 0, t.footer);
        max_w = tw > max_w ? tw : max_w;
        F.width = (int32_t)ceil(max_w) + PAD;
        F.height = y + 8 + LINE + PAD / 2;
        if (F.width > MAX_SIDE || F.height > MAX_SIDE) {
            st = km_fail(ctx, KM_ERR_LIMIT, "%s: the picture would be %d x %d px: too large",
                         result_path, (int)F.width, (int)F.height);
            goto done;
        }
    }
    F.L.width = F.width;
    F.L.height = F.height;

    st = kd_create(ctx, format, F.width, F.height, &d);
    if (st != KM_OK)
        goto done;
    kd_text(d, PAD, PAD + 15, FS_TITLE, 1, -1, 0.0, C_TEXT, KD_NONE, t.title);
    kd_text(d, PAD, PAD + 26 + 12, FS_TEXT, 0, -1, 0.0, C_MUTED, KD_NONE, t.subtitle);
    st = draw_map(ctx, d, &m, &F.L);
    if (st != KM_OK)
        goto done;
    draw_axes(d, &F.L, &t);
    draw_bar(d, &F, &t);
    draw_start(d, &F.L, t.first_dir);
    draw_candidates(d, &s, &F.L);
    y = draw_legend(d, &F, &t, &s, units, F.below_y, 0, &max_w);
    kd_text(d, PAD, y + 8 + 12, FS_TICK, 0, -1, 0.0, C_MUTED, KD_NONE, t.footer);

    layout_text(layout, sizeof layout, &F, m.units, m.dataset);
    snprintf(software, sizeof software, "knotmap %s", km_version_string());
    {
        const char *keys[] = {"Software", "Source", "knotmap-layout"};
        const char *values[] = {software, result_path, layout};
        st = kd_finish(ctx, d, keys, values, 3, svg_inline, out, out_n);
    }
    if (st == KM_OK && info != NULL) {
        *info = F.L;
        info->format = format == KM_DRAW_PNG   ? KM_IMAGE_PNG
                       : format == KM_DRAW_SVG ? KM_IMAGE_SVG
                                               : KM_IMAGE_PDF;
    }
done:
    kd_free(meas);
    kd_free(d);
    km_result_map_clear(ctx, &m);
    km_result_summary_clear(ctx, &s);
    return st;
}

/* The format named by the extension of `path` (any case), 0 when none. */
static int32_t format_of_path(const char *path)
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
    return km_render_draw(ctx, result_path, p, draw_format(p->format), 0, info, data, size);
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
        p.format = format_of_path(out_path);
        if (p.format == 0)
            return km_fail(ctx, KM_ERR_INVALID,
                           "%s: unknown picture format: the name must end in .png, .svg or .pdf",
                           out_path);
    }
    st = check_params(ctx, &p);
    if (st != KM_OK)
        return st;
    st = km_render_draw(ctx, result_path, &p, draw_format(p.format), 0, info, &bytes, &n);
    if (st == KM_OK)
        st = km_file_write_atomic(ctx, out_path, bytes, n, kinds[p.format], p.overwrite);
    if (st != KM_OK && info != NULL)
        memset(info, 0, sizeof *info);
    km_free(ctx, bytes);
    return st;
}
