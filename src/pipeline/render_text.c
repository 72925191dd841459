/* What the picture says: the title and subtitle, the axis and bar labels,
 * the orientation notes, what was assumed, the clipped share, the footer
 * and the lines of the candidate list; numbers as people write them. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "render_internal.h"

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

/* What was assumed, said in words of its own: the names whose words take
 * the session's values (km_describe_assumed), then those said as they are,
 * in the order they are said.  Any other item of the list (a newer
 * writer's, the header's free-form knotmap_assumed) is shown as it is. */
static const char *const VALUED[] = {"row_pitch_mm", "col_pitch_mm", "frame_rate_hz", "units", "mode",
                                     "roller_radius_mm", "text_layout", "insole" /* km_insole_note */};
static const struct {
    const char *name, *words;
} WORDED[] = {
    {"encoding", "text encoding UTF-16 (no byte order mark)"},
    {"schema", "a knotmap session's layout (no schema attribute)"},
    {"matlab", "MATLAB's frames taken as stored (rows and columns may be swapped)"},
    {"time_units", "/time in seconds (it has no units attribute)"},
    {"time_axis", "the time axis by its length (MAT-file, .npy, .npz)"},
    {"sensor", "the first of several sensors (XSENSOR)"},
    {"rate_name", "the frame rate from a number named like a rate (fs, fps, ...)"},
    {"time_name", "the times from a vector named like time (t, times, ...)"},
    {"string", "a MATLAB string object left unread (text is read when saved as char)"},
};

static int described(const char *p, size_t key)
{
    for (size_t k = 0; k < sizeof VALUED / sizeof VALUED[0]; k++)
        if (strlen(VALUED[k]) == key && strncmp(p, VALUED[k], key) == 0)
            return 1;
    for (size_t k = 0; k < sizeof WORDED / sizeof WORDED[0]; k++)
        if (strlen(WORDED[k].name) == key && strncmp(p, WORDED[k].name, key) == 0)
            return 1;
    return 0;
}

static void add_unknown(char *buf, size_t cap, const char *list)
{
    char item[96];
    for (const char *p = list; *p != '\0';) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t len = strcspn(p, ", "), key = strcspn(p, "=, ");
        if (len > 0 && !described(p, key)) {
            snprintf(item, sizeof item, "%.*s", (int)(len < 95 ? len : 95), p);
            add_part(buf, cap, item);
        }
        p += len;
    }
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
    for (size_t k = 0; k < sizeof WORDED / sizeof WORDED[0]; k++)
        if (has_name(list, WORDED[k].name))
            add_part(buf, cap, WORDED[k].words);
    if (has_name(list, "text_layout")) {
        snprintf(part, sizeof part, "one %d \u00d7 %d frame (a text matrix without a grid)", (int)s->rows,
                 (int)s->cols);
        add_part(buf, cap, part);
    }
    add_unknown(buf, cap, list);
}

const char *km_insole_note(const km_result_summary *s)
{
    return has_name(s->assumed, "insole")
               ? "An in-shoe insole: the pressure under a foot. The candidates mark where the foot "
                 "bears its load (heel, forefoot, toes), not trigger points."
               : NULL;
}

void km_all_contact_note(const km_result_summary *s, char *buf, size_t cap)
{
    const char *v = "0";
    for (size_t i = 0; i < s->n_params; i++)
        if (strcmp(s->params[i].key, "contact_threshold") == 0)
            v = s->params[i].value;
    if (cap > 0)
        buf[0] = '\0';
    if (s->all_contact && cap > 0)
        snprintf(buf, cap,
                 "Every taxel was above the contact threshold (%.32s) in %s: the contact is the "
                 "whole sheet. If the unloaded sheet reads above %.32s, process again with "
                 "--contact-threshold V above its floor or --tare N.",
                 v, s->n_frames == 1 ? "the frame" : "every frame", v);
}

void km_pass_meaning(const km_result_summary *s, char *buf, size_t cap)
{
    const char *gap = NULL;
    for (size_t i = 0; i < s->n_params; i++)
        if (strcmp(s->params[i].key, "bodymap_pass_gap_frames") == 0)
            gap = s->params[i].value;
    if (cap == 0)
        return;
    if (strcmp(s->mode, "roller") == 0)
        snprintf(buf, cap, "A pass is one stroke of the roller over the spot.");
    else if (gap != NULL)
        snprintf(buf, cap, "A pass is one time the body lay on the spot: it ends when the spot "
                           "is off contact for more than %.32s frames.", gap);
    else
        snprintf(buf, cap, "A pass is one time the body lay on the spot.");
}

const char *km_recording_kind(const km_result_summary *s)
{
    if (strcmp(s->mode, "roller") == 0)
        return "foam roller";
    return has_name(s->assumed, "insole") ? "in-shoe insole" : "pressure mat";
}

const char *km_base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s != NULL && s[1] != '\0' ? s + 1 : path;
}

/* Title, subtitle (when and what was recorded) and the assumed values. */
static void title_texts(const km_result_map *m, const km_result_summary *s, const char *result_path,
                        int body, int excess, texts *t)
{
    char a[32], b[32], part[160];

    snprintf(t->title, sizeof t->title, "%.100s \u2014 %s",
             km_base_name(s->source_path[0] ? s->source_path : result_path),
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
        snprintf(part, sizeof part, "%s", km_recording_kind(s));
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
    if (km_insole_note(s) != NULL)
        snprintf(t->insole, sizeof t->insole, "%s", km_insole_note(s));
    /* Two lines, split after the first sentence: the picture is as wide as
       its widest line. */
    km_all_contact_note(s, t->all_contact[0], sizeof t->all_contact[0]);
    char *cut = strstr(t->all_contact[0], ". ");
    if (cut != NULL) {
        snprintf(t->all_contact[1], sizeof t->all_contact[1], "%s", cut + 2);
        cut[1] = '\0';
    }
}

/* Axis labels and the colour bar's label. */
static void label_texts(const km_result_map *m, const char *units, int body, int excess, texts *t)
{
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
}

/* Orientation, what grey means, the clipped share and the footer. */
static void note_texts(const km_result_map *m, const km_result_summary *s, const km_render_info *L,
                       double data_max, const char *result_path, const char *units, int body,
                       int excess, texts *t)
{
    char a[32], b[32], c[32];

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
        snprintf(t->orient[1], sizeof t->orient[1], "%s",
                 km_insole_note(s) != NULL ? "Which end is the toes and which the heel is not recorded in the file."
                                           : "Head and feet are not recorded in the file.");
    } else {
        snprintf(t->orient[0], sizeof t->orient[0],
                 "The roller's own sensor grid (row 0 at the top), not body positions.");
    }
    /* a mat's "passes" (no roller passes): said what they are where the
       candidate list counts them */
    if (strcmp(s->mode, "roller") != 0 && km_table_find(&s->candidates, "n_passes") != NULL &&
        km_table_find(&s->candidates, "n_covering") != NULL)
        km_pass_meaning(s, t->pass, sizeof t->pass);
    snprintf(t->grey, sizeof t->grey, "%s",
             excess ? "grey: covered by too few passes to judge"
             : body && m->roller ? "grey: not reached by the roller (no data)"
                    : "grey: masked taxel, one left out as stuck or hot, or no valid reading");
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
             s->version[0] ? s->version : km_version_string(), km_base_name(result_path),
             s->created_utc[0] ? "  \u00b7  processed " : "", s->created_utc);
}

void km_render_make_texts(const km_result_map *m, const km_result_summary *s,
                          const km_render_info *L, double data_max, const char *result_path,
                          texts *t)
{
    const char *units = m->units[0] ? m->units : "raw";
    int body = strcmp(m->dataset, "/frames/max") != 0;
    int excess = strcmp(m->dataset, "/bodymap/excess") == 0;
    memset(t, 0, sizeof *t);
    title_texts(m, s, result_path, body, excess, t);
    label_texts(m, units, body, excess, t);
    note_texts(m, s, L, data_max, result_path, units, body, excess, t);
}

/* The text of candidate k's line in the list under the map. */
void km_render_candidate_line(const km_result_summary *s, size_t k, const char *units, char *buf,
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
