/* The legend under the picture's map: what the orientation marks, grey,
 * the rings and the clipped-colour marker mean, what was assumed, then
 * the numbered list of the candidates ringed on the map.  Measured first
 * (measure_only) to size the picture, then drawn. */
#include <stdio.h>

#include "render_internal.h"

/* One row of text from (x + 26, y), *max_w widened to it; y moves down a line. */
#define ROW_TEXT(str, colour, bold)                                                          \
    do {                                                                                     \
        w = x + 26 + kd_text_width(d, FS_TEXT, bold, str);                                   \
        *max_w = w > *max_w ? w : *max_w;                                                    \
        if (!measure_only)                                                                   \
            kd_text(d, x + 26, y + 13, FS_TEXT, bold, -1, 0.0, colour, KD_NONE, str);        \
        y += LINE;                                                                           \
    } while (0)

/* The numbered list of the candidates ringed on the map, from y down. */
static int32_t candidate_list(km_draw *d, const frame *F, const km_result_summary *s,
                              const char *units, int32_t y, int measure_only, double *max_w)
{
    const km_render_info *L = &F->L;
    char line[400], num[16];
    double x = PAD, w;
    y += 6;
    size_t n_all = s->candidates.n_rows > (size_t)L->n_marked ? s->candidates.n_rows : (size_t)L->n_marked;
    snprintf(line, sizeof line, "Knot candidates (%d of %zu shown, strongest first)", (int)L->n_marked, n_all);
    w = x + kd_text_width(d, FS_TEXT, 1, line);
    *max_w = w > *max_w ? w : *max_w;
    if (!measure_only) {
        kd_group_begin(d, "candidate-list", NULL);
        kd_text(d, x, y + 13, FS_TEXT, 1, -1, 0.0, C_TEXT, KD_NONE, line);
    }
    y += LINE;
    for (size_t k = 0; k < (size_t)L->n_marked && k < s->candidates.n_rows; k++) {
        snprintf(num, sizeof num, "%d", (int)k + 1); /* k < n_marked, an int */
        km_render_candidate_line(s, k, units, line, sizeof line);
        if (!measure_only)
            kd_text(d, x + 20, y + 13, FS_TEXT, 1, 1, 0.0, C_TEXT, KD_NONE, num);
        ROW_TEXT(line, C_TEXT, 0);
    }
    if (!measure_only)
        kd_group_end(d);
    return y;
}

/* Legend rows: ring, grey, clipped share; then the candidate list. */
int32_t km_render_draw_legend(km_draw *d, const frame *F, const texts *t, const km_result_summary *s,
                              const char *units, int32_t y, int measure_only, double *max_w)
{
    const km_render_info *L = &F->L;
    char line[400];
    double x = PAD, w;
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
            kd_circle(d, x + 9, y + 9, 6.5, km_render_colour_of(0.45), KD_NONE, 0.0);
            kd_circle(d, x + 9, y + 9, 6.5, KD_NONE, C_BLACK, 4.0);
            kd_circle(d, x + 9, y + 9, 6.5, KD_NONE, C_WHITE, 2.0);
        }
        snprintf(line, sizeof line, "%s",
                 km_table_find(&s->candidates, "size_mm") != NULL
                     ? "ring: knot candidate, numbered by rank (1 = strongest); ring radius = "
                       "2 \u00d7 its size"
                     : "ring: knot candidate, numbered by rank (1 = strongest)");
        ROW_TEXT(line, C_TEXT, 0);
        if (t->pass[0])
            ROW_TEXT(t->pass, C_TEXT, 0);
    }
    if (t->clip[0]) {
        if (!measure_only) {
            double tri[6] = {x + 2, y + 15, x + 16, y + 15, x + 9, y + 3};
            kd_poly(d, tri, 3, 1, km_render_colour_of(1.0), C_AXIS, 1.0);
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
    if (t->insole[0])
        ROW_TEXT(t->insole, C_WARN, 1);
    for (int i = 0; i < 2; i++)
        if (t->all_contact[i][0])
            ROW_TEXT(t->all_contact[i], C_WARN, 1);
    if (L->n_marked > 0)
        y = candidate_list(d, F, s, units, y, measure_only, max_w);
#undef ROW_TEXT
    return y;
}
