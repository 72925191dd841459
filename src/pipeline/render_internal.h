/* The picture's private header (src/pipeline/render*.c only): its
 * measures, colours, texts and layout, and the functions its files share.
 * render.c lays the picture out and draws the map; render_text.c says what
 * it says; render_scale.c is the colour scale and its bar; render_legend.c
 * the legend and the candidate list under the map. */
#ifndef KM_RENDER_INTERNAL_H
#define KM_RENDER_INTERNAL_H

#include "io/result_reader.h"
#include "io/result_summary.h"
#include "render.h"

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

/* What the picture says (render_text.c). */
typedef struct texts {
    char title[256];
    char subtitle[256];
    char assumed[320];
    char insole[160];          /* km_insole_note, "" for any other recording */
    char all_contact[2][320];  /* km_all_contact_note in two lines, "" for most sessions */
    char x_label[96], y_label[96];
    char bar_label[96];
    char orient[2][200];
    char grey[128];
    char pass[200];            /* km_pass_meaning on a mat whose candidates count passes, else "" */
    char clip[320];
    char footer[256];
    int first_dir;             /* roller body map: +1 first stroke toward +y, -1 toward -y, 0 unknown */
} texts;

/* Where things are: the picture's layout. */
typedef struct frame {
    km_render_info L;
    int32_t width, height;
    int32_t bar_x, bar_h;
    int32_t y_axis_w;          /* tick labels left of the map */
    int32_t below_y;           /* first text line under the map's x axis */
    double ring_r;
    size_t n_lines;            /* candidate list lines */
} frame;

/* ---- the colour scale (render_scale.c) ---- */

/* viridis at t in 0..1 (clamped; NaN gives the bottom colour). */
void km_render_colormap(double t, uint8_t out[3]);
/* The same as 0xRRGGBB. */
uint32_t km_render_colour_of(double t);
/* vmin/vmax from the params, else vmin = 0 (or the minimum when a value is
 * negative) and vmax = the percentile of the finite cells (linear between
 * ranks, as numpy.percentile); the shares outside the range, into L.
 * *data_max: the largest finite value (NaN when none). */
km_status km_render_colour_range(km_ctx *ctx, const km_result_map *m, const km_render_params *p,
                                 km_render_info *L, double *data_max);
/* The widest tick label of an axis from lo to hi in steps of step. */
double km_render_max_tick_width(km_draw *d, double lo, double hi, double step);
/* The colour bar right of the map, with its ticks and label. */
void km_render_draw_bar(km_draw *d, const frame *F, const texts *t);

/* ---- the texts (render_text.c) ---- */

/* Every text of the picture of map m from result_path into t. */
void km_render_make_texts(const km_result_map *m, const km_result_summary *s,
                          const km_render_info *L, double data_max, const char *result_path,
                          texts *t);
/* The text of candidate k's line in the list under the map. */
void km_render_candidate_line(const km_result_summary *s, size_t k, const char *units, char *buf,
                              size_t cap);

/* ---- the legend (render_legend.c) ---- */

/* Legend rows from y down: orientation, grey, ring, clipped share, what was
 * assumed; then the candidate list.  measure_only 1 draws nothing; both
 * widen *max_w to the widest row.  Returns the y below the last row. */
int32_t km_render_draw_legend(km_draw *d, const frame *F, const texts *t, const km_result_summary *s,
                              const char *units, int32_t y, int measure_only, double *max_w);

#endif
