/* The picture of a result, for km_render and the report (report.c).
 * Internal to src/pipeline. */
#ifndef KM_RENDER_H
#define KM_RENDER_H

#include "draw.h"
#include "internal.h"

struct km_result_summary;
/* Draw the picture of `result_path` (p already checked or NULL) in
 * `format`; svg_inline 1 gives an SVG element to embed in HTML.  *out is
 * allocated with ctx's allocator.  summary, when not NULL, is handed the
 * result's summary the picture was drawn from (the report's tables, so the
 * file is read once; the caller frees it with km_result_summary_clear; left
 * zeroed on an error). */
km_status km_render_draw(km_ctx *ctx, const char *result_path, const km_render_params *p,
                         km_draw_format format, int svg_inline, km_render_info *info,
                         uint8_t **out, size_t *out_n, struct km_result_summary *summary);

/* The picture format named by the extension of `path` (.png, .svg, .pdf,
 * any case): KM_IMAGE_PNG, _SVG, _PDF; 0 for another extension or none
 * (km_render's AUTO, and the report, which refuses a picture's name). */
int32_t km_render_format_of_path(const char *path);

/* Is `path` named as the report is (.html, .htm, any case)?  (km_process,
 * which refuses to write a result under a picture's or a report's name.) */
int km_report_name(const char *path);

/* "1 mm", "0.25 mm", "12.5 s": a number with at most `digits` significant
 * digits and no trailing zeros, into buf. */
void km_fmt_num(char *buf, size_t cap, double v, int digits);

/* A round step (1, 2, 5 x 10^k) at least `min_step`; 1 when min_step is
 * not a positive number (axis ticks of the picture and the report's
 * plots). */
double km_nice_step(double min_step);

/* The last part of a path ("a/b.h5" -> "b.h5"; the path itself when it
 * ends in '/'). */
const char *km_base_name(const char *path);

/* Human text for the comma-separated /session assumed list ("pitch 1 mm,
 * frame rate 1 Hz"), using the summary's values; "" when none. */
void km_describe_assumed(const struct km_result_summary *s, char *buf, size_t cap);
/* What the picture and the report say of an in-shoe insole (`insole` in
 * /session assumed: said on its own, not among the values assumed), NULL
 * for any other recording.  Static text. */
const char *km_insole_note(const struct km_result_summary *s);
/* A session whose every taxel was above the contact threshold in every frame
 * (/metrics flags ALL_CONTACT, as `knotmap process` says in its summary):
 * the sentence the picture and the report show, into buf; "" otherwise. */
void km_all_contact_note(const struct km_result_summary *s, char *buf, size_t cap);
/* What a pass is, in one sentence: a roller's stroke over the spot, or on
 * a mat (where no roller passes) one time the body lay on the spot, ended
 * by more than /params bodymap_pass_gap_frames frames off contact.  For the
 * candidates' "seen in N of M passes" (picture, report). */
void km_pass_meaning(const struct km_result_summary *s, char *buf, size_t cap);
/* The recording's kind as a subtitle says it: "in-shoe insole", "foam
 * roller" or "pressure mat". */
const char *km_recording_kind(const struct km_result_summary *s);

#endif
