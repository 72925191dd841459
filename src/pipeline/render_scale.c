/* The picture's colour scale: viridis, the range of values it spans (set,
 * or from a percentile of the map), the tick steps, and the colour bar
 * beside the map with the markers for clipped values. */
#include <math.h>
#include <stdlib.h>

#include "render_internal.h"

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

void km_render_colormap(double t, uint8_t out[3])
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

uint32_t km_render_colour_of(double t)
{
    uint8_t c[3];
    km_render_colormap(t, c);
    return (uint32_t)c[0] << 16 | (uint32_t)c[1] << 8 | c[2];
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* vmin/vmax from the params, else vmin = 0 (or the minimum when a value is
 * negative) and vmax = the percentile of the finite cells (linear between
 * ranks, as numpy.percentile); the shares outside the range. */
km_status km_render_colour_range(km_ctx *ctx, const km_result_map *m, const km_render_params *p,
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
    if (!(hi > lo)) {
        /* A flat map, or a given end beyond the other's automatic value:
           the given end is kept and the other is moved, by 1 (or the
           resolution of a double at |value| > 1e6, so the range has a
           width: --vmax -1e20 made an endless tick loop). */
        double w = fabs(lo) > 1e6 || fabs(hi) > 1e6 ? fmax(fabs(lo), fabs(hi)) * 1e-6 : 1.0;
        if (!isnan(p->vmin) && isnan(p->vmax))
            hi = lo + w;
        else
            lo = hi - w;
    }
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
double km_nice_step(double min_step)
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

double km_render_max_tick_width(km_draw *d, double lo, double hi, double step)
{
    char lab[32];
    double w = 0;
    for (double v = ceil(lo / step) * step; v <= hi + 1e-9 * fabs(hi - lo) && v + step > v; v += step) {
        km_fmt_num(lab, sizeof lab, v, 4);
        double t = kd_text_width(d, FS_TICK, 0, lab);
        w = t > w ? t : w;
    }
    return w;
}

void km_render_draw_bar(km_draw *d, const frame *F, const texts *t)
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
        km_render_colormap(1.0 - (double)j / (double)(F->bar_h - 1), rgb + (size_t)j * 3u);
    kd_group_begin(d, "colourbar", NULL);
    kd_image(d, bx, by, BAR_W, bh, rgb, 1, F->bar_h);
    free(rgb);
    kd_rect(d, bx - 0.5, by - 0.5, BAR_W + 1.0, bh + 1.0, KD_NONE, C_AXIS, 1.0);
    if (L->clipped_above > 0.0) {
        double tri[6] = {bx, by - 3, bx + BAR_W, by - 3, bx + BAR_W / 2.0, by - 13};
        kd_poly(d, tri, 3, 1, km_render_colour_of(1.0), C_AXIS, 1.0);
    }
    if (L->clipped_below > 0.0) {
        double tri[6] = {bx, by + bh + 3, bx + BAR_W, by + bh + 3, bx + BAR_W / 2.0,
                         by + bh + 13};
        kd_poly(d, tri, 3, 1, km_render_colour_of(0.0), C_AXIS, 1.0);
    }
    double step = km_nice_step(span * 28.0 / bh);
    for (double v = ceil(L->vmin / step) * step; v <= L->vmax + 1e-9 * span && v + step > v; v += step) {
        double py = by + bh - (v - L->vmin) / span * (bh - 1.0);
        kd_line(d, bx + BAR_W, py, bx + BAR_W + TICK, py, C_AXIS, 1.0, 0);
        km_fmt_num(lab, sizeof lab, v, 4);
        kd_text(d, bx + BAR_W + TICK + 3, py + 4, FS_TICK, 0, -1, 0.0, C_TEXT, KD_NONE, lab);
    }
    double lw = 0;
    for (double v = ceil(L->vmin / step) * step; v <= L->vmax + 1e-9 * span && v + step > v; v += step) {
        km_fmt_num(lab, sizeof lab, v, 4);
        double w = kd_text_width(d, FS_TICK, 0, lab);
        lw = w > lw ? w : lw;
    }
    kd_text(d, bx + BAR_W + TICK + 3 + lw + 16, by + bh / 2.0, FS_TEXT, 0, 0, -90.0, C_TEXT,
            KD_NONE, t->bar_label);
    kd_group_end(d);
}

