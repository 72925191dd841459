/* Text matrices: docs/FORMAT.md 1.4.
 *
 * Two layouts: one frame per line (rows*cols values on each line), or the
 * matrix layout (each frame is `rows` lines of `cols` values; a file of R
 * lines is one frame).  Values are separated by blanks and/or one comma;
 * blank lines and '#' comments are ignored.  A first line of column names
 * (pandas' to_csv, a spreadsheet) is read as such: a first column named like
 * a time gives each line's time, one unnamed or named like an index labels
 * the lines and is dropped.  The file is surveyed once at open (count of
 * data lines, values on the first one, the first and last times, the nan
 * and inf values) to decide the geometry and the frame count, then streamed. */
#include <math.h>
#include <string.h>

#include "reader_internal.h"
#include "text_scan.h"

typedef struct tx_impl {
    km_lines lines;
    int32_t rows, cols;
    km_text_grid g;     /* per_line, the frame count; layout_guessed: assumed "text_layout" */
    int64_t parsed;
    double dt;
    int label;          /* the first column: 0 a value, KM_LABEL_INDEX dropped, KM_LABEL_TIME the line's time */
    int skip;           /* 1: line labels dropped before the time column (pandas' index and time) */
    double time_unit;   /* KM_LABEL_TIME: seconds per unit of that column */
    double t_prev;      /* the time of the frame before (KM_LABEL_TIME) */
    int dates;          /* the time column holds dates and times (1; pandas' DatetimeIndex), numbers (-1), unknown (0) */
    int64_t day0;       /* the first line's day: times count from its midnight */
    char sep;           /* ',', or ';' or '\t' with ',' the decimal mark (European spreadsheets) */
} tx_impl;

#define LABELS(t) ((t)->label != 0 ? 1 + (t)->skip : 0) /* columns before the values */

static km_status bad_value(km_ctx *ctx, const tx_impl *t, const char *tok, const char *e, int64_t col, int range)
{
    const char *te = tok;
    while (te < e && !km_text_blank(*te) && *te != t->sep && te - tok < KM_TOKEN_SHOWN)
        te++;
    return km_value_error(ctx, t->lines.line_no, NULL, tok, (size_t)(te - tok), col + LABELS(t), range);
}

/* Parse the values of one line into dst (up to cap; dst may be NULL to
   count and check only); *count gets how many the line holds. */
static km_status parse_values(km_ctx *ctx, const tx_impl *t, const char *p, const char *e, float *restrict dst,
                              int64_t cap, int64_t *count)
{
    int64_t c = 0;
    while (p < e && km_text_blank(*p))
        p++;
    while (p < e) {
        const char *q;
        float v;
        if (*p == t->sep && c > 0 && km_table_padding(t->sep, p, (size_t)(e - p)))
            break; /* a spreadsheet's padding after the last value */
        if (*p == t->sep)
            return km_fail(ctx, KM_ERR_FORMAT,
                           "line %lld: empty value in column %lld (a missing value? write it as nan, which is "
                           "read and counted: pandas' to_csv(na_rep='nan'))",
                           (long long)t->lines.line_no, (long long)c + 1 + LABELS(t));
        if ((unsigned)(*p - '0') < 10u) {
            /* plain integers: the common case, no conversion call */
            uint32_t iv = (uint32_t)(*p - '0');
            q = p + 1;
            while (q < e && (unsigned)(*q - '0') < 10u && q - p < 9) {
                iv = iv * 10u + (uint32_t)(*q - '0');
                q++;
            }
            if (q == e || km_text_blank(*q) || *q == t->sep) {
                v = (float)iv;
                goto store;
            }
        }
        {
            double d;
            int rc = km_scan_value(t->sep, p, e, &q, &d);
            if (rc != 0 || (q < e && !km_text_blank(*q) && *q != t->sep))
                return bad_value(ctx, t, p, e, c + 1, rc == -2);
            v = (float)d;
        }
    store:
        if (dst != NULL && c < cap)
            dst[c] = v;
        c++;
        p = q;
        while (p < e && km_text_blank(*p))
            p++;
        if (p < e && *p == t->sep) {
            p++;
            while (p < e && km_text_blank(*p))
                p++;
        }
    }
    *count = c;
    return KM_OK;
}

/* A line whose first non-blank byte is '#' (numpy.savetxt's header and
   footer, many loggers' notes). */
static int is_comment(const char *p, size_t len)
{
    size_t i = 0;
    while (i < len && km_text_blank(p[i]))
        i++;
    return i < len && p[i] == '#';
}

/* Next line that is neither blank nor a comment; *got = 0 at the end. */
static km_status next_data_line(km_ctx *ctx, tx_impl *t, char **line, size_t *len, int *got)
{
    km_status st;
    do {
        st = km_lines_next(ctx, &t->lines, line, len, got);
    } while (st == KM_OK && *got &&
             (km_line_padding(*line, *len) || km_table_padding(';', *line, *len) || is_comment(*line, *len) ||
              (t->lines.line_no == 1 && km_line_sep_hint(*line, *len))));
    return st;
}

/* A time column's date and time (pandas' DatetimeIndex or TimedeltaIndex,
   ISO 8601: km_scan_datetime) at p, in the column's unit from the first
   line's midnight into *x, *q past it; -1 when p holds none. */
static int label_date(tx_impl *t, const char *p, const char *e, double *x, const char **q)
{
    int64_t day;
    double secs;
    int rc = t->label == KM_LABEL_TIME ? km_scan_datetime(p, e, t->sep != ',', q, &day, &secs) : -1;
    if (rc < 0 || (*q < e && !km_text_blank(**q) && **q != t->sep))
        return -1;
    if (t->dates <= 0)
        t->day0 = rc == 0 ? day : 0; /* a timedelta counts from 0 */
    *x = ((double)(day - t->day0) * 86400.0 + secs) / t->time_unit;
    return 0;
}

/* The line's first value (its label: a frame number or a time) into *x;
   *rest the first byte after it and its separator. */
static km_status line_label(km_ctx *ctx, tx_impl *t, const char *p, const char *e, double *x, const char **rest)
{
    const char *q;
    int rc, date = 0;
    if (t->label == KM_LABEL_INDEX) { /* dropped unread: R's quoted row names ("1") too */
        *x = NAN;
        *rest = km_past_value(p, e, t->sep);
        return KM_OK;
    }
    if (t->skip) /* the line labels before the time column */
        p = km_past_value(p, e, t->sep);
    while (p < e && km_text_blank(*p))
        p++;
    date = label_date(t, p, e, x, &q) == 0; /* before a number: "0 days 00:00:01" */
    rc = date ? 0 : km_scan_value(t->sep, p, e, &q, x);
    if (rc != 0 || (q < e && !km_text_blank(*q) && *q != t->sep)) {
        const char *te = p;
        while (te < e && !km_text_blank(*te) && *te != t->sep && te - p < KM_TOKEN_SHOWN)
            te++;
        return km_value_error(ctx, t->lines.line_no, NULL, p, (size_t)(te - p), 1 + t->skip, rc == -2);
    }
    if (t->label == KM_LABEL_TIME && t->dates != 0 && (t->dates > 0) != date)
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: a time column of %s holds %s '%.*s' (one kind of time a column)",
                       (long long)t->lines.line_no, t->dates > 0 ? "dates" : "numbers",
                       date ? "a date" : "a number", (int)(q - p < KM_TOKEN_SHOWN ? q - p : KM_TOKEN_SHOWN), p);
    if (t->label == KM_LABEL_TIME)
        t->dates = date ? 1 : -1;
    while (q < e && km_text_blank(*q))
        q++;
    if (q < e && *q == t->sep)
        q++;
    *rest = q;
    return KM_OK;
}

/* One data line's values (after its label, if the columns have one) into
   dst (up to cap; NULL: count only); *label its label (NAN without). */
static km_status parse_line(km_ctx *ctx, tx_impl *t, const char *p, const char *e, float *restrict dst,
                            int64_t cap, int64_t *count, double *label)
{
    *label = NAN;
    if (t->label != 0) {
        km_status st = line_label(ctx, t, p, e, label, &p);
        if (st != KM_OK)
            return st;
    }
    return parse_values(ctx, t, p, e, dst, cap, count);
}

static km_status count_error(km_ctx *ctx, const tx_impl *t, int64_t frame, int64_t want, int64_t found)
{
    return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame %lld: expected %lld values, found %lld",
                   (long long)t->lines.line_no, (long long)frame, (long long)want, (long long)found);
}

/* The frame's time from its first line's label (KM_LABEL_TIME): finite and
   not before the frame before. */
static km_status label_time(km_ctx *ctx, tx_impl *t, double label, double *time)
{
    double x = label * t->time_unit;
    if (!isfinite(x) || (t->parsed > 0 && x < t->t_prev))
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: time %g is %s (times must be finite and non-decreasing)",
                       (long long)t->lines.line_no, label,
                       isfinite(x) ? "smaller than the one before" : "not finite");
    t->t_prev = x;
    *time = x;
    return KM_OK;
}

static km_status parse_frame(km_ctx *ctx, tx_impl *t, float *dst, double *time, int *got)
{
    const int64_t frame = t->parsed + 1;
    char *line;
    size_t len;
    int g;
    int64_t n;
    double label;
    km_status st;

    *got = 0;
    *time = (double)t->parsed * t->dt;
    if (t->g.per_line) {
        const int64_t want = (int64_t)t->rows * t->cols;
        st = next_data_line(ctx, t, &line, &len, &g);
        if (st != KM_OK || !g)
            return st;
        st = parse_line(ctx, t, line, line + len, dst, want, &n, &label);
        if (st == KM_OK && t->label == KM_LABEL_TIME)
            st = label_time(ctx, t, label, time);
        if (st != KM_OK)
            return st;
        if (n != want)
            return count_error(ctx, t, frame, want, n);
    } else {
        for (int32_t row = 0; row < t->rows; row++) {
            st = next_data_line(ctx, t, &line, &len, &g);
            if (st != KM_OK)
                return st;
            if (!g) {
                if (row == 0)
                    return KM_OK;
                return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame %lld: file ends after %d of %d rows (truncated)",
                               (long long)t->lines.line_no, (long long)frame, (int)row, (int)t->rows);
            }
            st = parse_line(ctx, t, line, line + len, dst + (size_t)row * (size_t)t->cols, t->cols, &n, &label);
            if (st != KM_OK)
                return st;
            if (n != t->cols)
                return count_error(ctx, t, frame, t->cols, n);
        }
    }
    t->parsed++;
    *got = 1;
    return KM_OK;
}

static km_status tx_read(km_ctx *ctx, km_reader *r, float *frames, double *times, int64_t max_frames,
                         int64_t *n_read)
{
    tx_impl *t = r->impl;
    const size_t fs = (size_t)t->rows * (size_t)t->cols;
    int64_t n = 0;
    km_status st = KM_OK;

    while (n < max_frames) {
        int got;
        double time;
        if ((n & 63) == 63 && km_ctx_cancelled(ctx)) {
            st = km_fail(ctx, KM_ERR_CANCELLED, "cancelled");
            break;
        }
        st = parse_frame(ctx, t, frames + (size_t)n * fs, &time, &got);
        if (st != KM_OK || !got) { /* a damaged line or the end: a file cut under us says so */
            if (st != KM_ERR_CANCELLED)
                st = km_lines_changed(ctx, &t->lines, st);
            break;
        }
        if (times != NULL)
            times[n] = time;
        n++;
    }
    *n_read = n;
    return st;
}

static void tx_close(km_reader *r)
{
    tx_impl *t = r->impl;
    if (t == NULL)
        return;
    km_lines_close(&t->lines);
    km_reader_release(r, t);
    r->impl = NULL;
}

static const km_reader_ops tx_ops = {tx_read, tx_close};

typedef struct tx_survey {
    int64_t n_lines, n1, line1; /* data lines, values on the first (label aside), its line number */
    double t_first, t_last;     /* KM_LABEL_TIME: the first and last lines' times */
    long long data_off;         /* where the data start: after a line of names */
    int64_t data_line;
    int64_t units_line;         /* a line of units under the names (its number), else 0 */
    km_table_units units;       /* what it says */
    km_table_names names;             /* names.n > 0: the first line named the columns */
    int64_t level_rows, level_cols;   /* the grid two lines of column levels gave (row, col), else 0 */
    int64_t n_nonfinite, nf_line, nf_col; /* nan and inf values, the first one's place */
} tx_survey;

/* A comment before the data: a source-header entry ("comment", "comment 2"). */
static km_status header_comment(km_ctx *ctx, km_reader *r, const char *p, size_t len, int *n_comments)
{
    char key[24], text[256];
    size_t i = 0;
    while (i < len && (km_text_blank(p[i]) || p[i] == '#'))
        i++;
    while (len > i && km_text_blank(p[len - 1]))
        len--;
    if (++*n_comments > 32 || len == i)
        return KM_OK;
    snprintf(key, sizeof key, *n_comments == 1 ? "comment" : "comment %d", *n_comments);
    km_token_text(text, p + i, len - i > KM_TOKEN_SHOWN ? KM_TOKEN_SHOWN : len - i);
    return km_reader_add_header(ctx, r, key, text);
}

/* The header entry "columns": a few names, their count, the first column's role. */
static km_status names_entry(km_ctx *ctx, km_reader *r, const tx_impl *t, const tx_survey *v)
{
    char text[sizeof v->names.shown + 160];
    snprintf(text, sizeof text, "%s%s (%lld names on line %lld; first column: %s%s)", v->names.shown,
             v->names.n > 3 ? ", ..." : "", (long long)v->names.n, (long long)v->data_line,
             t->skip ? "line labels, dropped; second column: " : "",
             t->label == KM_LABEL_TIME    ? (t->time_unit == 1.0 ? "times in s" : "times in ms")
             : t->label == KM_LABEL_INDEX ? "line labels, dropped"
                                       : "a value");
    return km_reader_add_header(ctx, r, "columns", text);
}

/* A line of units under the names (`s,kPa,kPa`; docs/FORMAT.md 1.4): one
   pressure unit for every value column (psi, Pa, MPa read converted by
   km_reader_read), a time unit for the time column; the data start after
   it.  Leaves the next data line in *line. */
static km_status units_line(km_ctx *ctx, km_reader *r, tx_impl *t, tx_survey *v, char **line, size_t *len,
                            int *got)
{
    char shown[KM_TOKEN_TEXT];
    double scale;
    const km_table_units *u = &v->units;
    if (u->other[0] != '\0')
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: units '%s' and '%s' in one table: knotmap reads one unit "
                       "for every taxel (convert the columns to one, or name none and pass --units)",
                       (long long)t->lines.line_no, u->pressure, u->other);
    snprintf(r->info.units, sizeof r->info.units, "%s", km_units_from_file(u->pressure, &scale));
    km_reader_units_from(r, u->pressure, NULL);
    km_token_text(shown, *line, *len > KM_TOKEN_SHOWN ? KM_TOKEN_SHOWN : *len);
    v->units_line = t->lines.line_no;
    v->data_off = km_lines_tell(&t->lines);
    km_status st = km_reader_add_header(ctx, r, "units line", shown);
    return st == KM_OK ? next_data_line(ctx, t, line, len, got) : st;
}

/* The time column's unit from a units line: it agrees with the column's
   name (time_ms over ms), or makes a column of other name a time. */
static km_status time_unit(km_ctx *ctx, tx_impl *t, const tx_survey *v)
{
    const double secs = v->units.time_secs[t->skip];
    const char *name = t->skip ? v->names.second : v->names.first;
    if (v->units_line == 0 || secs == 0)
        return KM_OK;
    if (strcmp(name, "time") == 0 || strcmp(name, "t") == 0 || strcmp(name, "elapsed") == 0)
        t->time_unit = secs; /* a name without a unit: the line says it */
    if (t->label == KM_LABEL_TIME && t->time_unit != secs)
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: the time column '%s' is in %s, its unit on line %lld says %s",
                       (long long)v->data_line, name, t->time_unit == 1.0 ? "s" : "ms", (long long)v->units_line, secs == 1.0 ? "s" : "ms");
    if (t->label == 0 && v->units.time_secs[0] > 0) { /* `stamp` over `ms`: a time column */
        t->label = KM_LABEL_TIME;
        t->time_unit = secs;
    }
    return KM_OK;
}

/* Past a first field of dates and times (km_scan_datetime) and its
   separator, at p; NULL when it holds none. */
static const char *past_date(const tx_impl *t, const char *p, const char *e)
{
    const char *q;
    int64_t day;
    double secs;
    p = km_text_skip_seps(' ', p, e);
    if (km_scan_datetime(p, e, t->sep != ',', &q, &day, &secs) < 0 || (q < e && !km_text_blank(*q) && *q != t->sep))
        return NULL;
    q = km_text_skip_seps(' ', q, e);
    return q < e && *q == t->sep ? q + 1 : q;
}

/* A first column's name that may hold dates: a line label's or a time's
   (pandas' DatetimeIndex, named or not), or date, datetime, timestamp. */
static int date_name(const char *name)
{
    double unit;
    return km_table_label_of(name, &unit) != 0 || strcmp(name, "date") == 0 || strcmp(name, "datetime") == 0 ||
           strcmp(name, "date_time") == 0 || strcmp(name, "timestamp") == 0;
}

/* Is the line under the names numbers, an index column's label (R's quoted
   row names, "1") or a column of dates (pandas' DatetimeIndex) aside? */
static int numbers_under(const tx_impl *t, const tx_survey *v, const char *p, const char *e)
{
    double unit;
    const char *q = date_name(v->names.first) ? past_date(t, p, e) : NULL;
    if (q == NULL && km_table_label_of(v->names.first, &unit) == KM_LABEL_INDEX && v->names.n > 1) {
        p = km_past_value(p, e, t->sep);
        if (km_table_label_of(v->names.second, &unit) == KM_LABEL_TIME)
            q = past_date(t, p, e); /* pandas' index beside a time column of dates */
    }
    return km_table_numeric_line(t->sep, q != NULL ? q : p, e);
}

/* Two lines of column levels at *line (pandas' MultiIndex columns; text_levels.c): read when they
   are row and col numbering every taxel, then the index's name if a line
   gives it; refused when they are not (a header of two levels never read as
   data).  *lv 1 with the names read and the next data line in *line; else
   the file is back at line 1 (off0, line0). */
static km_status column_levels(km_ctx *ctx, tx_impl *t, tx_survey *v, char **line, size_t *len,
                               int *got, long long off0, int64_t line0, int *lv)
{
    km_table_level a, b;
    const int64_t l1 = t->lines.line_no;
    const int named = !km_table_numeric_line(t->sep, *line, *line + *len);
    char why[400];
    km_status st;
    *lv = 0;
    km_table_level_line(*line, *line + *len, named, &a);
    if (a.n < 2 || !a.repeats || (!named && !a.outer))
        return KM_OK;
    if ((st = next_data_line(ctx, t, line, len, got)) != KM_OK)
        return st;
    int k = 0;
    km_table_units u;
    if (*got && named && !km_table_numeric_line(t->sep, *line, *line + *len) &&
        !km_table_units_line(*line, *line + *len, &u)) { /* names over units (s,kPa,kPa): not levels */
        km_table_level_line(*line, *line + *len, 1, &b);
        k = km_table_levels(&a, &b, &v->level_rows, &v->level_cols, why, sizeof why);
    } else if (*got && !named) {
        km_table_level_line(*line, *line + *len, 0, &b);
        k = km_table_unnamed_levels(&a, &b) ? -2 : 0;
    }
    if (k == 0) { /* not levels: line 1 again */
        v->level_rows = v->level_cols = 0;
        st = km_lines_seek(ctx, &t->lines, off0, line0);
        return st == KM_OK ? next_data_line(ctx, t, line, len, got) : st;
    }
    if (k == -1)
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: two lines of column names (pandas' to_csv of two-level "
                       "columns, a MultiIndex), which knotmap reads when they are row and col: %s", (long long)l1, why);
    if (k == -2)
        return km_fail(ctx, KM_ERR_FORMAT, "lines %lld-%lld: two lines of labels that number rows and columns "
                       "(pandas' to_csv(index=False) of two-level columns, a MultiIndex, writes them without the "
                       "levels' names), not taxels: write the index too (to_csv()) with the levels named row and "
                       "col, or drop them (to_csv(header=False)) and pass --grid RxC", (long long)l1,
                       (long long)t->lines.line_no);
    memset(&v->names, 0, sizeof v->names);
    v->names.n = 1 + a.n;
    snprintf(v->names.shown, sizeof v->names.shown, "levels '%s' and '%s': %lld x %lld taxels", a.name, b.name,
             (long long)v->level_rows, (long long)v->level_cols);
    v->data_line = t->lines.line_no;
    v->data_off = km_lines_tell(&t->lines);
    if ((st = next_data_line(ctx, t, line, len, got)) == KM_OK && *got &&
        km_table_index_name_line(*line, *line + *len, v->names.first)) { /* the index's name: time, ... */
        v->data_line = t->lines.line_no;
        v->data_off = km_lines_tell(&t->lines);
        st = next_data_line(ctx, t, line, len, got);
    }
    *lv = 1;
    return st;
}

/* What the first columns hold, told by their names over the first data line:
   line labels, times (in seconds or ms, dates), a value. */
static km_status column_roles(km_ctx *ctx, km_reader *r, tx_impl *t, const tx_survey *v, const char *line,
                              size_t len)
{
    double unit;
    t->label = km_table_label_of(v->names.first, &t->time_unit);
    t->skip = t->label == KM_LABEL_INDEX && km_table_label_of(v->names.second, &unit) == KM_LABEL_TIME;
    if (t->skip) /* pandas' index beside its time column: the times are the second's */
        t->label = km_table_label_of(v->names.second, &t->time_unit);
    if (!t->skip && date_name(v->names.first) && past_date(t, line, line + len) != NULL) {
        t->label = KM_LABEL_TIME; /* dates and times under any such name (pandas' DatetimeIndex) */
        if (km_table_label_of(v->names.first, &t->time_unit) != KM_LABEL_TIME)
            t->time_unit = 1.0;
    }
    km_status st = time_unit(ctx, t, v);
    return st == KM_OK ? names_entry(ctx, r, t, v) : st;
}

/* The first line is names when it is not numbers and the next line is (or
   counts 0, 1, 2, ... and the next line does not go on counting); or two
   lines are, column levels (column_levels). */
static km_status first_lines(km_ctx *ctx, km_reader *r, tx_impl *t, tx_survey *v, char **line, size_t *len,
                             int *got)
{
    const long long off0 = km_lines_tell(&t->lines);
    const int64_t line0 = t->lines.line_no;
    km_status st = next_data_line(ctx, t, line, len, got);
    int64_t counted = -2, n, keep;
    size_t hlen = *len;
    double unit, x;
    const char *rest;
    char *copy = NULL;
    int lv = 0;
    if (st != KM_OK || !*got)
        return st;
    t->sep = memchr(*line, ';', *len) != NULL ? ';' : km_tab_decimal_comma(*line, *line + *len) ? '\t' : ',';
    if ((st = column_levels(ctx, t, v, line, len, got, off0, line0, &lv)) != KM_OK)
        return st;
    if (!lv) {
        counted = km_table_numeric_line(t->sep, *line, *line + *len) ? km_table_counting_line(t->sep, *line, *line + *len) : -1;
        if (counted == 0)
            return st;
        if (counted < 0 && km_table_labelled_count(t->sep, *line, *line + *len) > 0)
            counted = -2; /* pandas' `,0,1` or `time,0,1` over one to three unnamed columns: names */
        if (counted == -1 && km_values_with_a_bad_one(t->sep, *line, *line + *len, 1))
            return parse_values(ctx, t, *line, *line + *len, NULL, 0, &n); /* its bad value's error */
        if ((copy = km_reader_alloc(r, (hlen = *len) + 1)) == NULL)
            return km_fail(ctx, KM_ERR_NOMEM, "out of memory for the first line");
        memcpy(copy, *line, hlen);
        copy[hlen] = '\0';
        km_table_split_names(copy, copy + hlen, &v->names);
        v->data_line = t->lines.line_no;
        v->data_off = km_lines_tell(&t->lines);
        st = next_data_line(ctx, t, line, len, got);
    }
    if (st == KM_OK && *got && t->sep == ',' && km_tab_decimal_comma(*line, *line + *len))
        t->sep = '\t'; /* names over TABs and decimal commas */
    if (st == KM_OK && *got && !numbers_under(t, v, *line, *line + *len) &&
        km_table_units_line(*line, *line + *len, &v->units))
        st = units_line(ctx, r, t, v, line, len, got);
    if (st == KM_OK && counted > 0 &&
        (!*got || !km_table_numeric_line(t->sep, *line, *line + *len) ||
         (line_label(ctx, t, *line, *line + *len, &x, &rest) == KM_OK && x == (double)counted))) {
        /* 0 1 2 3 followed by 4 5 6 7, or alone: data after all */
        memset(&v->names, 0, sizeof v->names);
        v->data_off = v->data_line = 0;
        st = km_lines_seek(ctx, &t->lines, off0, line0);
        if (st == KM_OK)
            st = next_data_line(ctx, t, line, len, got);
    } else if (st == KM_OK && (!*got || !numbers_under(t, v, *line, *line + *len))) {
        /* not names over numbers: line 1's own error, as for any text,
           unless a lone line names its first column as a table would, or
           the names stand over values with a bad one (times of day under
           `time`): that value's */
        keep = t->lines.line_no;
        t->lines.line_no = v->data_line;
        if (*got && (copy == NULL || km_values_with_a_bad_one(t->sep, *line, *line + *len, 0)))
            t->lines.line_no = keep;
        st = *got && t->lines.line_no == keep              ? parse_values(ctx, t, *line, *line + *len, NULL, 0, &n)
             : !*got && (copy == NULL || km_table_label_of(v->names.first, &unit) != 0) ? KM_OK
                                                            : parse_values(ctx, t, copy, copy + hlen, NULL, 0, &n);
        t->lines.line_no = keep;
        if (st == KM_OK)
            st = km_fail(ctx, KM_ERR_FORMAT, "line %lld: column names and no data", (long long)v->data_line);
    } else if (st == KM_OK) {
        st = column_roles(ctx, r, t, v, *line, *len);
    }
    km_reader_release(r, copy);
    return st;
}

/* One pass over the file: data lines, the values of the first, the times. */
static km_status survey(km_ctx *ctx, km_reader *r, tx_impl *t, tx_survey *v)
{
    char *line;
    size_t len;
    int got, n_comments = 0;
    km_status st;
    memset(v, 0, sizeof *v);
    /* comments before the data are the file's header */
    for (;;) {
        long long off = km_lines_tell(&t->lines);
        int64_t line_no = t->lines.line_no;
        st = km_lines_next(ctx, &t->lines, &line, &len, &got);
        if (st == KM_OK && got && line_no == 0 && km_line_sep_hint(line, len) &&
            (st = km_reader_add_header(ctx, r, "sep", line + 4)) == KM_OK)
            continue; /* skipped as read too (next_data_line) */
        if (st != KM_OK || !got || (!km_line_padding(line, len) && !is_comment(line, len))) {
            if (st == KM_OK)
                st = km_lines_seek(ctx, &t->lines, off, line_no);
            break;
        }
        if (is_comment(line, len))
            st = header_comment(ctx, r, line, len, &n_comments);
        if (st != KM_OK)
            return st;
    }
    if (st == KM_OK)
        st = first_lines(ctx, r, t, v, &line, &len, &got);
    while (st == KM_OK && got) {
        double x = NAN;
        const char *vals = line; /* past a time column's label (a date and time: fields of one label) */
        if (v->n_lines == 0) {
            st = parse_line(ctx, t, line, line + len, NULL, 0, &v->n1, &x);
            v->line1 = t->lines.line_no;
            v->t_first = x;
            /* every data line holds as many values (and one more label at
               most, of a line read as one): the observed grid bounds them */
            t->lines.max_fields = v->n1 + LABELS(t) + 2;
        }
        if (st == KM_OK && t->label == KM_LABEL_TIME && (v->n_lines > 0 || t->dates > 0))
            st = line_label(ctx, t, line, line + len, &x, &vals);
        int64_t col = 0, k = km_line_nonfinite(vals, line + len, t->sep, vals == line ? LABELS(t) : 0, &col);
        if (k > 0 && v->n_nonfinite == 0) {
            v->nf_line = t->lines.line_no;
            v->nf_col = col + (vals == line ? 0 : LABELS(t));
        }
        v->n_nonfinite += k;
        v->t_last = x;
        ++v->n_lines;
        if (st == KM_OK)
            st = next_data_line(ctx, t, &line, &len, &got);
    }
    if (st != KM_OK)
        return st;
    if (v->n_lines == 0 && t->lines.line_no == 0)
        return km_fail(ctx, KM_ERR_FORMAT, "empty file");
    if (v->n_lines == 0)
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: no data: the file holds only blank lines%s",
                       (long long)t->lines.line_no, n_comments > 0 ? " and comments" : "");
    if (v->names.n > 0 && v->names.n != v->n1 + LABELS(t))
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: %lld column names over lines of %lld values (line %lld)",
                       (long long)v->data_line, (long long)v->names.n, (long long)(v->n1 + LABELS(t)),
                       (long long)v->line1);
    return km_lines_seek(ctx, &t->lines, v->data_off, v->units_line > 0 ? v->units_line : v->data_line);
}

km_status km_open_text(km_ctx *ctx, km_reader *r, const km_read_options *opt)
{
    tx_impl *t;
    tx_survey v;
    km_status st;

    memset(&v, 0, sizeof v);
    t = km_reader_alloc(r, sizeof *t);
    if (t == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory for the text reader");
    memset(t, 0, sizeof *t);
    t->sep = ',';
    r->impl = t;
    r->ops = &tx_ops;
    st = km_reader_open_lines(ctx, r, &t->lines);
    /* a grid given bounds every line from the first: one frame and its labels at most
       (the column names' line too), not the KM_MAX_TAXELS of a grid still unknown */
    if (opt->rows > 0 && opt->cols > 0)
        t->lines.max_fields = (long long)opt->rows * opt->cols + 4;
    if (st == KM_OK)
        st = survey(ctx, r, t, &v);
    if (st == KM_OK && v.n1 == 0)
        st = km_fail(ctx, KM_ERR_FORMAT, "line %lld: no values", (long long)v.line1);
    km_read_options lo = *opt; /* column levels give the grid: one frame a line (a grid given must agree) */
    lo.rows = (int32_t)v.level_rows;
    lo.cols = (int32_t)v.level_cols;
    lo.text_frame_per_file = 0;
    if (st == KM_OK)
        st = km_text_geometry(ctx, v.level_rows > 0 ? &lo : opt, t->label, v.n_lines, v.n1, v.line1, &t->g);
    if (st == KM_OK && t->label == KM_LABEL_TIME && !t->g.per_line)
        st = km_fail(ctx, KM_ERR_FORMAT, "line %lld: a first column of times needs one frame per line (a grid "
                     "of %lld values: --grid RxC)", (long long)v.data_line, (long long)v.n1);
    if (st != KM_OK)
        return st;
    if (t->label == KM_LABEL_TIME)
        r->info.frame_rate_hz = km_reader_times_rate(r, v.n_lines, v.t_first, v.t_last, t->time_unit,
                                                     "line %lld: the time column", (long long)v.line1);
    st = km_reader_set_geometry(ctx, r, t->g.rows, t->g.cols);
    if (st != KM_OK)
        return st;
    t->rows = (int32_t)t->g.rows;
    t->cols = (int32_t)t->g.cols;
    r->info.n_frames = t->g.n_frames;
    r->info.n_nonfinite = v.n_nonfinite; /* said by the caller (km_nonfinite_text) */
    r->count_nonfinite = 0;              /* counted here, not again as read */
    if (v.n_nonfinite > 0)
        snprintf(r->info.nonfinite_at, sizeof r->info.nonfinite_at, "line %lld, column %lld",
                 (long long)v.nf_line, (long long)v.nf_col);
    st = km_reader_apply_options(ctx, r, opt);
    if (st != KM_OK)
        return st;
    if (t->g.layout_guessed)
        km_reader_note_assumed(r, "text_layout");
    t->dt = 1.0 / r->info.frame_rate_hz;
    return KM_OK;
}
