/* The report of a result: one self-contained HTML file (docs/FORMAT.md
 * 2.3) with the picture, the candidates, the passes over them, the
 * per-frame metrics over time as inline SVG plots, the parameters and what
 * was assumed.  Nothing is fetched: no scripts, no external styles, fonts
 * or images. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "io/file_out.h"
#include "io/result_summary.h"
#include "render.h"

#define PLOT_W 680
#define PLOT_H 190
#define PLOT_BINS 600         /* longer series are drawn as a min/max envelope */

static const char CSS[] =
    ":root{--ink:#1a1a1a;--muted:#5a5a5a;--line:#d0d0d0;--warn:#9a3412;--accent:#2c6e8f}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0 auto;max-width:960px;padding:12px 16px 32px;color:var(--ink);"
    "font:16px/1.45 'DejaVu Sans',Verdana,'Helvetica Neue',Arial,sans-serif;background:#fff}\n"
    "h1{font-size:1.45em;margin:.4em 0 .1em}h2{font-size:1.2em;margin:1.6em 0 .5em;"
    "border-bottom:1px solid var(--line);padding-bottom:.2em}\n"
    "p{margin:.4em 0}.sub{color:var(--muted)}.warn{color:var(--warn);font-weight:bold}\n"
    "nav{display:flex;flex-wrap:wrap;gap:.3em 1em;margin:.8em 0;font-size:.95em}\n"
    "nav a{color:var(--accent)}\n"
    "figure{margin:0}svg{max-width:100%;height:auto;display:block}\n"
    ".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}\n"
    "table{border-collapse:collapse;font-size:.92em;width:100%}\n"
    "th,td{padding:.3em .55em;border-bottom:1px solid var(--line);text-align:right;"
    "white-space:nowrap}\n"
    "th:first-child,td:first-child{text-align:left}td.text,th.text{text-align:left;"
    "white-space:normal}\n"
    "thead th{background:#f3f3f3;position:sticky;top:0}\n"
    "tr.changed td{background:#fff7e6}\n"
    ".plot{margin:.6em 0 1.2em}.plot h3{font-size:1em;margin:.2em 0}\n"
    ".note{color:var(--muted);font-size:.9em}\n"
    "footer{margin-top:2em;color:var(--muted);font-size:.85em;word-break:break-all}\n"
    "@media (max-width:600px){body{font-size:15px;padding:8px}th,td{padding:.25em .35em}}\n"
    "@media print{body{max-width:none;font-size:10.5pt;padding:0}nav{display:none}"
    "section{break-inside:avoid-page}.plot,figure,tr{break-inside:avoid}"
    "thead th{position:static}a{color:inherit;text-decoration:none}"
    "h2{break-after:avoid}}\n"
    "@page{margin:14mm}\n";

static void esc(km_buf *b, const char *s)
{
    km_buf_escaped(b, s);
}

static void num(km_buf *b, double v, int digits)
{
    char t[40];
    if (!isfinite(v)) {
        km_buf_printf(b, "&ndash;");
        return;
    }
    km_fmt_num(t, sizeof t, v, digits);
    km_buf_printf(b, "%s", t);
}

/* ---- plots ------------------------------------------------------------------ */

typedef struct series {
    const double *v;
    const char *name;
    uint32_t colour;
} series;

/* Plot margins in px: left (value ticks), right, top, bottom (time axis);
   the inner box PLOT_IW x PLOT_IH. */
#define PLOT_L 62.0
#define PLOT_R 14.0
#define PLOT_T 10.0
#define PLOT_B 40.0
#define PLOT_IW (PLOT_W - PLOT_L - PLOT_R)
#define PLOT_IH (PLOT_H - PLOT_T - PLOT_B)

/* The axes of a plot: time t0..t1 in steps of ts, values lo..hi in steps
   of ys. */
typedef struct plot_axes {
    double t0, t1, lo, hi, ts, ys;
} plot_axes;

/* The axes for series s against t (n rows): 0 when no time or no value is
   finite. */
static int plot_range(const double *t, size_t n, const series *s, size_t ns, plot_axes *a)
{
    double t0 = INFINITY, t1 = -INFINITY, lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (isfinite(t[i])) {
            t0 = t[i] < t0 ? t[i] : t0;
            t1 = t[i] > t1 ? t[i] : t1;
        }
        for (size_t k = 0; k < ns; k++)
            if (isfinite(s[k].v[i])) {
                lo = s[k].v[i] < lo ? s[k].v[i] : lo;
                hi = s[k].v[i] > hi ? s[k].v[i] : hi;
            }
    }
    if (!isfinite(lo) || !isfinite(t0))
        return 0;
    if (lo > 0.0 && lo < 0.5 * hi)
        lo = 0.0;
    if (!(hi > lo)) {
        hi = lo + (lo != 0.0 ? fabs(lo) * 0.1 : 1.0);
        lo -= hi - lo;
    }
    if (!(t1 > t0))
        t1 = t0 + 1.0;
    a->ys = km_nice_step((hi - lo) / 4.0);
    a->ts = km_nice_step((t1 - t0) / 6.0);
    a->lo = floor(lo / a->ys) * a->ys;
    a->hi = ceil(hi / a->ys) * a->ys;
    a->t0 = t0;
    a->t1 = t1;
    return 1;
}

/* Grid lines, ticks, the box and the axis labels. */
static void draw_plot_axes(km_draw *d, const plot_axes *a, const char *y_label)
{
    const double lo = a->lo, hi = a->hi, t0 = a->t0, t1 = a->t1, ys = a->ys, ts = a->ts;
    char lab[40];
    for (double v = lo; v <= hi + 1e-9 * (hi - lo); v += ys) {
        double py = PLOT_T + PLOT_IH - (v - lo) / (hi - lo) * PLOT_IH;
        kd_line(d, PLOT_L, py, PLOT_L + PLOT_IW, py, 0xe3e3e3u, 1.0, 0);
        km_fmt_num(lab, sizeof lab, v, 4);
        kd_text(d, PLOT_L - 6, py + 4, 11, 0, 1, 0.0, 0x1a1a1au, KD_NONE, lab);
    }
    for (double v = ceil(t0 / ts) * ts; v <= t1 + 1e-9 * (t1 - t0); v += ts) {
        double px = PLOT_L + (v - t0) / (t1 - t0) * PLOT_IW;
        kd_line(d, px, PLOT_T + PLOT_IH, px, PLOT_T + PLOT_IH + 4, 0x333333u, 1.0, 0);
        km_fmt_num(lab, sizeof lab, v, 4);
        kd_text(d, px, PLOT_T + PLOT_IH + 16, 11, 0, 0, 0.0, 0x1a1a1au, KD_NONE, lab);
    }
    kd_rect(d, PLOT_L, PLOT_T, PLOT_IW, PLOT_IH, KD_NONE, 0x333333u, 1.0);
    kd_text(d, PLOT_L + PLOT_IW / 2, PLOT_H - 6, 12, 0, 0, 0.0, 0x1a1a1au, KD_NONE, "time (s)");
    kd_text(d, 13, PLOT_T + PLOT_IH / 2, 12, 0, 0, -90.0, 0x1a1a1au, KD_NONE, y_label);
}

/* Series k of ns as a line through its bins' minimum and maximum (a gap
   where a bin has no finite value), and its key when there are several.
   xy: room for 2 * bins points. */
static void draw_plot_series(km_draw *d, const plot_axes *a, const double *t, size_t n, size_t bins,
                             const series *sk, size_t k, size_t ns, double *xy)
{
    const double lo = a->lo, hi = a->hi, t0 = a->t0, t1 = a->t1;
    size_t m = 0;
    for (size_t b = 0; b < bins; b++) {
        size_t i0 = b * n / bins, i1 = (b + 1) * n / bins;
        double mn = INFINITY, mx = -INFINITY, ta = t[i0];
        for (size_t i = i0; i < i1; i++)
            if (isfinite(sk->v[i])) {
                mn = sk->v[i] < mn ? sk->v[i] : mn;
                mx = sk->v[i] > mx ? sk->v[i] : mx;
            }
        if (!isfinite(mn) || !isfinite(ta)) { /* a gap: end the line here */
            kd_poly(d, xy, m, 0, KD_NONE, sk->colour, 1.4);
            m = 0;
            continue;
        }
        double px = PLOT_L + (ta - t0) / (t1 - t0) * PLOT_IW;
        xy[2 * m] = px;
        xy[2 * m + 1] = PLOT_T + PLOT_IH - (mn - lo) / (hi - lo) * PLOT_IH;
        m++;
        if (mx > mn) {
            xy[2 * m] = px;
            xy[2 * m + 1] = PLOT_T + PLOT_IH - (mx - lo) / (hi - lo) * PLOT_IH;
            m++;
        }
    }
    kd_poly(d, xy, m, 0, KD_NONE, sk->colour, 1.4);
    if (ns > 1) {
        double lx = PLOT_L + 10 + (double)k * 120;
        kd_line(d, lx, PLOT_T + 12, lx + 18, PLOT_T + 12, sk->colour, 2.5, 0);
        kd_text(d, lx + 22, PLOT_T + 16, 11, 0, -1, 0.0, 0x1a1a1au, 0xffffffu, sk->name);
    }
}

/* Plot series against t (n rows) as inline SVG into html.  Long series
 * are binned: each bin draws its minimum and maximum, so no spike is lost. */
static km_status plot(km_ctx *ctx, km_buf *html, const double *t, size_t n, const series *s,
                      size_t ns, const char *y_label)
{
    km_status st;
    km_draw *d = NULL;
    uint8_t *svg = NULL;
    size_t svg_n = 0, bins = n > 2 * PLOT_BINS ? PLOT_BINS : n;
    double *xy = NULL;
    plot_axes a;

    if (!plot_range(t, n, s, ns, &a)) {
        km_buf_printf(html, "<p class=\"note\">No finite values.</p>\n");
        return KM_OK;
    }
    st = kd_create(ctx, KM_DRAW_SVG, PLOT_W, PLOT_H, &d);
    if (st != KM_OK)
        return st;
    xy = km_alloc(ctx, (2 * bins + 2) * 2 * sizeof *xy);
    if (xy == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    draw_plot_axes(d, &a, y_label);
    for (size_t k = 0; k < ns; k++)
        draw_plot_series(d, &a, t, n, bins, &s[k], k, ns, xy);
    st = kd_finish(ctx, d, NULL, NULL, 0, 1, &svg, &svg_n);
    if (st == KM_OK)
        km_buf_put(html, svg, svg_n);
done:
    km_free(ctx, xy);
    km_free(ctx, svg);
    kd_free(d);
    return st;
}

static km_status metrics_section(km_ctx *ctx, km_buf *b, const km_result_summary *s)
{
    const km_table *m = &s->metrics;
    const km_table_col *t = km_table_find(m, "time");
    const km_table_col *peak = km_table_find(m, "peak");
    const km_table_col *area = km_table_find(m, "contact_area_mm2");
    const km_table_col *force = km_table_find(m, "force_n");
    /* Centre of pressure on the sensor grid (older results: cop_x_mm). */
    const km_table_col *cx = km_table_find(m, "cop_grid_x_mm"), *cy = km_table_find(m, "cop_grid_y_mm");
    if (cx == NULL || cy == NULL) {
        cx = km_table_find(m, "cop_x_mm");
        cy = km_table_find(m, "cop_y_mm");
    }
    const char *units = s->units[0] ? s->units : "raw";
    char label[96];
    km_status st = KM_OK;
    km_buf_printf(b, "<section id=\"metrics\">\n<h2>Pressure over time</h2>\n");
    if (t == NULL || m->n_rows == 0) {
        km_buf_printf(b, "<p class=\"note\">The result holds no per-frame metrics.</p>\n"
                         "</section>\n");
        return KM_OK;
    }
    km_buf_printf(b, "<p class=\"note\">One value per frame (%zu frames)%s. Definitions: "
                     "docs/ALGORITHMS.md section 4.</p>\n",
                  m->n_rows, m->n_rows > 2 * PLOT_BINS ? "; each point of the line spans "
                                                         "several frames (their lowest and "
                                                         "highest value)"
                                                       : "");
    struct {
        const km_table_col *c, *c2;
        const char *title, *n1, *n2;
        uint32_t colour;
    } plots[4] = {
        {peak, NULL, "Peak pressure", "peak", NULL, 0x2c6e8fu},
        {area, NULL, "Contact area", "area", NULL, 0x2a9d5cu},
        {force, NULL, "Force", "force", NULL, 0x9a3412u},
        {cx, cy, "Centre of pressure on the sensor", "x (columns)", "y (rows)", 0x2c6e8fu},
    };
    for (int k = 0; k < 4 && st == KM_OK; k++) {
        const char *yl = k == 0 ? units : k == 1 ? "mm\u00b2" : k == 2 ? "N" : "mm";
        km_buf_printf(b, "<div class=\"plot\" id=\"plot-%d\"><h3>%s</h3>\n", k, plots[k].title);
        if (plots[k].c == NULL) {
            km_buf_printf(b, "<p class=\"note\">Not in this result.</p></div>\n");
            continue;
        }
        snprintf(label, sizeof label, "%s (%s)", plots[k].title, yl);
        if (k == 2 && strcmp(units, "kPa") != 0) {
            km_buf_printf(b, "<p class=\"note\">Not available: force needs pressure in kPa, "
                             "this session is in %s.</p></div>\n",
                          units);
            continue;
        }
        series sr[2] = {{plots[k].c->v, plots[k].n1, plots[k].colour},
                        {plots[k].c2 != NULL ? plots[k].c2->v : NULL, plots[k].n2, 0xd62728u}};
        st = plot(ctx, b, t->v, m->n_rows, sr, plots[k].c2 != NULL ? 2 : 1,
                  k == 3 ? "position (mm)" : yl);
        km_buf_printf(b, "</div>\n");
    }
    km_buf_printf(b, "</section>\n");
    return st;
}

/* ---- tables ----------------------------------------------------------------- */

static double col_at(const km_table_col *c, size_t i)
{
    return c != NULL ? c->v[i] : NAN;
}

static void candidates_section(km_buf *b, const km_result_summary *s)
{
    const km_table *t = &s->candidates;
    const char *units = s->units[0] ? s->units : "raw";
    const km_table_col *x = km_table_find(t, "x_mm"), *y = km_table_find(t, "y_mm");
    const km_table_col *amp = km_table_find(t, "amplitude"), *peak = km_table_find(t, "peak");
    const km_table_col *size = km_table_find(t, "size_mm"), *area = km_table_find(t, "area_mm2");
    const km_table_col *sig = km_table_find(t, "significance");
    const km_table_col *np = km_table_find(t, "n_passes"), *nc = km_table_find(t, "n_covering");
    const km_table_col *per = km_table_find(t, "persistence"), *score = km_table_find(t, "score");
    km_buf_printf(b, "<section id=\"candidates\">\n<h2>Knot candidates</h2>\n");
    if (t->n_rows == 0) {
        km_buf_printf(b, "<p>No knot candidate was found in this session.</p>\n</section>\n");
        return;
    }
    km_buf_printf(b,
                  "<p>%zu candidate%s, strongest first. The numbers are those on the map. "
                  "Positions are body coordinates in mm (the map's axes).</p>\n"
                  "<div class=\"scroll\"><table>\n<thead><tr><th>#</th><th>x (mm)</th>"
                  "<th>y (mm)</th><th>%s (",
                  t->n_rows, t->n_rows == 1 ? "" : "s", amp != NULL ? "amplitude" : "excess");
    esc(b, units);
    km_buf_printf(b, ")</th><th>%s</th>%s<th>passes seen</th><th>score</th></tr></thead>\n"
                     "<tbody>\n",
                  size != NULL ? "size (mm)" : "area (mm\u00b2)",
                  sig != NULL ? "<th>significance (z)</th>" : "");
    for (size_t i = 0; i < t->n_rows; i++) {
        km_buf_printf(b, "<tr id=\"cand-%zu\"><td>%zu</td><td>", i + 1, i + 1);
        num(b, col_at(x, i), 3);
        km_buf_printf(b, "</td><td>");
        num(b, col_at(y, i), 3);
        km_buf_printf(b, "</td><td>");
        num(b, col_at(amp != NULL ? amp : peak, i), 3);
        km_buf_printf(b, "</td><td>");
        num(b, col_at(size != NULL ? size : area, i), 3);
        if (sig != NULL) {
            km_buf_printf(b, "</td><td>");
            num(b, col_at(sig, i), 3);
        }
        km_buf_printf(b, "</td><td>");
        if (np != NULL && nc != NULL)
            km_buf_printf(b, "%.0f of %.0f", col_at(np, i), col_at(nc, i));
        else
            num(b, col_at(per, i), 2);
        km_buf_printf(b, "</td><td>");
        num(b, col_at(score, i), 3);
        km_buf_printf(b, "</td></tr>\n");
    }
    km_buf_printf(b, "</tbody></table></div>\n</section>\n");
}

/* Per candidate: passes that saw it of those that covered it, and when it
 * was seen, as a bar on the session's time line. */
static km_status passes_section(km_ctx *ctx, km_buf *b, const km_result_summary *s)
{
    const km_table *t = &s->candidates;
    const km_table_col *np = km_table_find(t, "n_passes"), *nc = km_table_find(t, "n_covering");
    const km_table_col *ft = km_table_find(t, "first_time"), *lt = km_table_find(t, "last_time");
    const km_table_col *per = km_table_find(t, "persistence");
    double dur = isfinite(s->duration_s) && s->duration_s > 0 ? s->duration_s : NAN;
    km_status st = KM_OK;
    char meaning[200];
    km_buf_printf(b, "<section id=\"passes\">\n<h2>Passes over each candidate</h2>\n");
    if (t->n_rows == 0) {
        km_buf_printf(b, "<p>No candidates.</p>\n</section>\n");
        return KM_OK;
    }
    km_pass_meaning(s, meaning, sizeof meaning); /* the file's own text: escaped */
    km_buf_printf(b, "<p>");
    esc(b, meaning);
    km_buf_printf(b, " A knot that is real shows in most "
                     "passes; one seen once may be a chance pressure. The bar spans the "
                     "session (%.4g s): dark from the first to the last time the spot was "
                     "seen.</p>\n<div class=\"scroll\"><table>\n<thead><tr><th>#</th>"
                     "<th class=\"text\">passes</th><th>seen</th><th>first seen (s)</th>"
                     "<th>last seen (s)</th><th class=\"text\">when</th></tr></thead><tbody>\n",
                  dur);
    for (size_t i = 0; i < t->n_rows && st == KM_OK; i++) {
        double a = col_at(ft, i), z = col_at(lt, i);
        km_buf_printf(b, "<tr><td>%zu</td><td class=\"text\">", i + 1);
        if (np != NULL && nc != NULL)
            km_buf_printf(b, "seen in %.0f of %.0f", col_at(np, i), col_at(nc, i));
        else
            km_buf_printf(b, "&ndash;");
        km_buf_printf(b, "</td><td>");
        if (per != NULL && isfinite(per->v[i]))
            km_buf_printf(b, "%.0f%%", 100.0 * per->v[i]);
        else
            km_buf_printf(b, "&ndash;");
        km_buf_printf(b, "</td><td>");
        num(b, a, 3);
        km_buf_printf(b, "</td><td>");
        num(b, z, 3);
        km_buf_printf(b, "</td><td class=\"text\">");
        if (isfinite(dur) && isfinite(a) && isfinite(z)) {
            km_draw *d = NULL;
            uint8_t *svg = NULL;
            size_t n = 0;
            double x0 = 1 + fmax(0.0, fmin(1.0, a / dur)) * 178;
            double x1 = 1 + fmax(0.0, fmin(1.0, z / dur)) * 178;
            st = kd_create(ctx, KM_DRAW_SVG, 180, 14, &d);
            if (st == KM_OK) {
                kd_rect(d, 1, 4, 178, 6, 0xe3e3e3u, KD_NONE, 0);
                kd_rect(d, x0, 2, fmax(x1 - x0, 2.0), 10, 0x2c6e8fu, KD_NONE, 0);
                st = kd_finish(ctx, d, NULL, NULL, 0, 1, &svg, &n);
            }
            if (st == KM_OK)
                km_buf_put(b, svg, n);
            km_free(ctx, svg);
            kd_free(d);
        }
        km_buf_printf(b, "</td></tr>\n");
    }
    km_buf_printf(b, "</tbody></table></div>\n</section>\n");
    return st;
}

/* Does the command line name an option that sets this parameter?  An
 * option --a-b names the parameters a_b, *_a_b and *_a_b_* (the CLI's
 * option names are the parameters' without their stage prefix). */
static int named_on_command_line(const char *cmd, const char *param)
{
    for (const char *p = strstr(cmd, "--"); p != NULL; p = strstr(p + 2, "--")) {
        char opt[64];
        size_t k = 0;
        const char *q = p + 2;
        while (*q != '\0' && *q != ' ' && *q != '=' && k + 1 < sizeof opt) {
            opt[k++] = *q == '-' ? '_' : *q;
            q++;
        }
        opt[k] = '\0';
        if (k < 2)
            continue;
        const char *hit = strstr(param, opt);
        while (hit != NULL) {
            int starts = hit == param || hit[-1] == '_';
            int ends = hit[k] == '\0' || hit[k] == '_';
            if (starts && ends)
                return 1;
            hit = strstr(hit + 1, opt);
        }
    }
    return 0;
}

static void params_section(km_buf *b, const km_result_summary *s)
{
    size_t n_named = 0;
    km_buf_printf(b, "<section id=\"parameters\">\n<h2>Parameters</h2>\n");
    if (s->n_params == 0) {
        km_buf_printf(b, "<p class=\"note\">The result records no parameters.</p>\n"
                         "</section>\n");
        return;
    }
    for (size_t i = 0; i < s->n_params; i++)
        n_named += named_on_command_line(s->command_line, s->params[i].key);
    if (s->command_line[0]) {
        km_buf_printf(b, "<p>Command: <code>");
        esc(b, s->command_line);
        km_buf_printf(b, "</code></p>\n");
    }
    km_buf_printf(b,
                  "<p class=\"note\">%zu parameter%s set by the command's options (shaded, "
                  "first); the others kept their defaults or were derived from the "
                  "recording. Meanings: docs/CLI.md and docs/FORMAT.md 2.1.</p>\n"
                  "<div class=\"scroll\"><table>\n<thead><tr><th>parameter</th>"
                  "<th class=\"text\">value</th></tr></thead><tbody>\n",
                  n_named, n_named == 1 ? "" : "s");
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < s->n_params; i++) {
            int named = named_on_command_line(s->command_line, s->params[i].key);
            if (named != (pass == 0))
                continue;
            km_buf_printf(b, "<tr%s><td>", named ? " class=\"changed\"" : "");
            esc(b, s->params[i].key);
            km_buf_printf(b, "</td><td class=\"text\">");
            esc(b, s->params[i].value);
            km_buf_printf(b, "</td></tr>\n");
        }
    km_buf_printf(b, "</tbody></table></div>\n</section>\n");
}

static void assumed_section(km_buf *b, const km_result_summary *s)
{
    char text[320];
    km_describe_assumed(s, text, sizeof text);
    km_buf_printf(b, "<section id=\"assumed\">\n<h2>What was assumed</h2>\n");
    if (km_insole_note(s) != NULL)
        km_buf_printf(b, "<p class=\"warn\">%s Peaks, tracks and the pressure over time hold "
                         "as for any recording.</p>\n", km_insole_note(s));
    if (text[0] == '\0') {
        km_buf_printf(b, "<p>Nothing: the geometry, frame rate, units and mode were read from "
                         "the recording or given.</p>\n");
    } else {
        km_buf_printf(b, "<p class=\"warn\">Not in the recording, assumed: ");
        esc(b, text);
        km_buf_printf(b, ".</p>\n<p>Distances, sizes, areas and times in this report "
                         "depend on these values. Give the true ones to "
                         "<code>knotmap process</code> (<code>--pitch</code>, "
                         "<code>--rate</code>, <code>--units</code>, <code>--mode</code>, "
                         "<code>--roller-radius</code>) to correct them.</p>\n");
    }
    if (s->n_header > 0) {
        km_buf_printf(b, "<details><summary>The recording's own header (%zu entries)"
                         "</summary>\n<div class=\"scroll\"><table><tbody>\n",
                      s->n_header);
        for (size_t i = 0; i < s->n_header; i++) {
            km_buf_printf(b, "<tr><td>");
            esc(b, s->header[i].key);
            km_buf_printf(b, "</td><td class=\"text\">");
            esc(b, s->header[i].value);
            km_buf_printf(b, "</td></tr>\n");
        }
        km_buf_printf(b, "</tbody></table></div></details>\n");
    }
    km_buf_printf(b, "</section>\n");
}

/* ---- the document ----------------------------------------------------------- */

/* The document up to its header: the head (title, styles), the title,
   what was recorded, and a warning when values were assumed. */
static void doc_head(km_buf *b, const km_result_summary *s, const char *name)
{
    char assumed[320];

    km_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                     KM_HTML_GENERATOR "%s\">\n<title>Knot report: ",
                  km_version_string());
    esc(b, name);
    km_buf_printf(b, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n"
                     "<h1>Knot report: ",
                  CSS);
    esc(b, name);
    km_buf_printf(b, "</h1>\n<p class=\"sub\">");
    if (s->recorded[0]) {
        km_buf_printf(b, "Recorded ");
        esc(b, s->recorded);
        km_buf_printf(b, " &middot; ");
    }
    if (isfinite(s->duration_s)) {
        num(b, s->duration_s, 3);
        km_buf_printf(b, " s &middot; ");
    }
    km_buf_printf(b, "%s", km_recording_kind(s));
    if (strcmp(s->mode, "roller") == 0 && s->roller_radius_mm > 0) {
        km_buf_printf(b, " (radius ");
        num(b, s->roller_radius_mm, 3);
        km_buf_printf(b, " mm)");
    }
    km_buf_printf(b, " &middot; %d &times; %d taxels &middot; %zu knot candidate%s</p>\n",
                  (int)s->rows, (int)s->cols, s->candidates.n_rows,
                  s->candidates.n_rows == 1 ? "" : "s");
    km_describe_assumed(s, assumed, sizeof assumed);
    if (assumed[0]) {
        km_buf_printf(b, "<p class=\"warn\">Assumed, not in the recording: ");
        esc(b, assumed);
        km_buf_printf(b, " (see <a href=\"#assumed\">What was assumed</a>).</p>\n");
    }
    if (km_insole_note(s) != NULL)
        km_buf_printf(b, "<p class=\"warn\">%s</p>\n", km_insole_note(s));
    km_all_contact_note(s, assumed, sizeof assumed);
    if (assumed[0]) {
        km_buf_printf(b, "<p class=\"warn\">");
        esc(b, assumed);
        km_buf_printf(b, "</p>\n");
    }
    km_buf_printf(b, "</header>\n");
}

/* The footer: what made the report from what, and the end of the document. */
static void doc_foot(km_buf *b, const km_result_summary *s, const char *result_path)
{
    km_buf_printf(b, "</main>\n<footer>Made by knotmap %s from ", km_version_string());
    esc(b, result_path);
    if (s->created_utc[0]) {
        km_buf_printf(b, " (processed ");
        esc(b, s->created_utc);
        km_buf_printf(b, " by knotmap ");
        esc(b, s->version);
        km_buf_printf(b, ")");
    }
    km_buf_printf(b, ". Candidates are spots to examine, not a diagnosis.</footer>\n"
                     "</body>\n</html>\n");
}

static km_status build(km_ctx *ctx, const char *result_path, const km_render_params *p,
                       km_buf *b)
{
    km_status st;
    km_result_summary s;
    km_render_info info;
    uint8_t *svg = NULL;
    size_t svg_n = 0;

    memset(&s, 0, sizeof s);
    /* The picture first: it checks that this is a result with a map, and
       hands over the summary it read, so the file is read once. */
    st = km_render_draw(ctx, result_path, p, KM_DRAW_SVG, 1, &info, &svg, &svg_n, &s);
    if (st != KM_OK)
        goto done;
    doc_head(b, &s, km_base_name(s.source_path[0] ? s.source_path : result_path));
    km_buf_printf(b, "<nav aria-label=\"Sections\"><a href=\"#map\">Map</a>"
                     "<a href=\"#candidates\">Knot candidates</a><a href=\"#passes\">Passes</a>"
                     "<a href=\"#metrics\">Pressure over time</a>"
                     "<a href=\"#parameters\">Parameters</a>"
                     "<a href=\"#assumed\">What was assumed</a></nav>\n"
                     "<main>\n<section id=\"map\">\n<h2>%s</h2>\n<figure>\n",
                  strcmp(s.mode, "roller") == 0 ? "Body map" : "Pressure map");
    km_buf_put(b, svg, svg_n);
    km_buf_printf(b, "</figure>\n</section>\n");
    candidates_section(b, &s);
    st = km_ctx_cancelled(ctx) ? km_fail(ctx, KM_ERR_CANCELLED, "%s: cancelled", result_path)
                               : passes_section(ctx, b, &s);
    if (st == KM_OK)
        st = metrics_section(ctx, b, &s);
    if (st != KM_OK)
        goto done;
    params_section(b, &s);
    assumed_section(b, &s);
    doc_foot(b, &s, result_path);
    if (b->failed)
        st = km_fail(ctx, KM_ERR_NOMEM, "report: out of memory");
done:
    km_free(ctx, svg);
    km_result_summary_clear(ctx, &s);
    return st;
}

km_status km_report_to_memory(km_ctx *ctx, const char *result_path, const km_render_params *p,
                              uint8_t **data, size_t *size)
{
    km_buf b = {ctx, NULL, 0, 0, 0};
    km_status st;
    if (result_path == NULL || data == NULL || size == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "report: NULL argument");
    *data = NULL;
    *size = 0;
    st = build(ctx, result_path, p, &b);
    if (st != KM_OK) {
        km_free(ctx, b.p);
        return st;
    }
    *data = (uint8_t *)b.p;
    *size = b.n;
    return KM_OK;
}

km_status km_report(km_ctx *ctx, const char *result_path, const char *html_path,
                    const km_render_params *p, int32_t overwrite)
{
    uint8_t *data = NULL;
    size_t n = 0;
    km_status st;
    if (html_path == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "report: NULL path");
    /* An HTML file under a picture's name opens in no viewer of that kind. */
    if (km_render_format_of_path(html_path) != 0)
        return km_fail(ctx, KM_ERR_INVALID,
                       "%s: a report is one HTML file, not a picture: name it .html (knotmap "
                       "render draws the map as PNG, SVG or PDF)", html_path);
    st = km_report_to_memory(ctx, result_path, p, &data, &n);
    if (st == KM_OK)
        st = km_file_write_atomic(ctx, html_path, data, n, KM_FILE_HTML, overwrite);
    km_free(ctx, data);
    return st;
}
