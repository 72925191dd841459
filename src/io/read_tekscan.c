/* Tekscan ASCII movie export (.asf, .csv): docs/FORMAT.md 1.3.
 *
 * `KEY value` header lines, parsed by name because the set and order of
 * keys vary between Tekscan versions; `ASCII_DATA @@`; then per frame a
 * `Frame N` line and ROWS lines of COLS comma-separated values, `B` for a
 * sensel outside the sensor outline; a final `@@`.  Frames are parsed on
 * demand from a buffered stream: the file is never loaded whole. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "reader_internal.h"
#include "tekscan_internal.h"
#include "text_scan.h"

/* Header lines before ASCII_DATA beyond which the file is not a header. */
#define TK_MAX_HEADER_LINES 100000
/* Bytes kept of the first frame's field keys (the header entry `frame_fields`). */
#define TK_FIELDS_CAP 512

typedef struct tk_impl {
    km_lines lines;
    int32_t rows, cols;
    int64_t declared;       /* frames announced by START_FRAME/END_FRAME, or -1 */
    int64_t parsed;         /* frames parsed so far */
    long long first_no;     /* number N of the first `Frame N` */
    long long last_no;      /* number of the last frame parsed */
    long long start_no;     /* START_FRAME, else 1 */
    double dt;              /* seconds per frame */
    double scale;           /* values x scale: UNITS converted to kPa (PSI, Pa, MPa), else 1 */
    double sat;             /* SATURATION_PRESSURE's number, 0 when absent or unreadable */
    char sat_unit[16];      /* and its unit word ("" when none) */
    int finished;           /* the closing @@ was read */
    int implicit;           /* frames without `Frame N` lines (a single-frame export):
                               blocks of ROWS rows numbered from START_FRAME */
    float *pending;         /* frame 1, parsed at open to learn the mask */
    double pending_time;
    int has_pending;
    km_comment_meta comment; /* what a knotmap COMMENTS line says (mode, roller radius) */
    int insole;             /* SENSOR_TYPE says an in-shoe F-Scan: noted as `insole` */
    char fields[TK_FIELDS_CAP]; /* the keys of the first frame's own fields, ", "-separated */
} tk_impl;

/* Tekscan unit words to knotmap's names (km_units_from_file: PSI, Pa, MPa
   read as kPa, values times *scale); any other word gives "" -- units
   unknown, so assumed raw and warned (the original stays in the header as
   UNITS). */
static const char *map_units(km_reader *r, const char *u, double *scale)
{
    char w[32];
    const char *name;
    km_tk_first_word(u, w, sizeof w);
    name = km_units_from_file(w, scale);
    km_reader_units_from(r, w, scale); /* PSI: what --units is compared with */
    return name != NULL ? name : "";
}

/* One header key we understand; line numbers go into the errors. */
static km_status header_key(km_ctx *ctx, km_reader *r, tk_impl *t, const char *key, const char *val, int64_t line,
                            long long *start, long long *end)
{
    double d;
    const char *rest;
    long long v;
    if (strcmp(key, "ROWS") == 0 || strcmp(key, "COLS") == 0) {
        int pr = km_tk_int64(val, &v);
        if (pr == -2)
            return km_fail(ctx, KM_ERR_LIMIT, "line %lld: %s %s exceeds the limit of %d", (long long)line, key, val,
                           KM_MAX_DIM);
        if (pr != 0 || v <= 0)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: %s '%s' is not a positive integer", (long long)line, key,
                           val);
        if (v > KM_MAX_DIM)
            return km_fail(ctx, KM_ERR_LIMIT, "line %lld: %s %lld exceeds the limit of %d", (long long)line, key, v,
                           KM_MAX_DIM);
        if (key[0] == 'R')
            t->rows = (int32_t)v;
        else
            t->cols = (int32_t)v;
    } else if (strcmp(key, "ROW_SPACING") == 0 || strcmp(key, "COL_SPACING") == 0) {
        double scale;
        if (km_tk_leading_number(val, &d, &rest) != 0 || !(d > 0))
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: %s '%s' is not a positive length", (long long)line, key,
                           val);
        scale = *rest == '\0' ? 1.0 : km_length_unit_mm(rest);
        if (scale == 0)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: %s unit '%s' not understood (mm, cm, m or inches)",
                           (long long)line, key, rest);
        if (key[0] == 'R')
            r->info.row_pitch_mm = d * scale;
        else
            r->info.col_pitch_mm = d * scale;
        km_reader_pitch_from(r, key[0] != 'R', "line %lld: %s %s", (long long)line, key, val);
    } else if (strcmp(key, "SECONDS_PER_FRAME") == 0) {
        if (km_tk_leading_number(val, &d, &rest) != 0 || !(d >= 0))
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: SECONDS_PER_FRAME '%s' is not a positive number",
                           (long long)line, val);
        /* "32 ms" was read as 32 s: only seconds, said or not */
        if (*rest != '\0' && strcasecmp(rest, "s") != 0 && strcasecmp(rest, "sec") != 0 &&
            strcasecmp(rest, "secs") != 0 && strcasecmp(rest, "second") != 0 && strcasecmp(rest, "seconds") != 0)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: SECONDS_PER_FRAME '%s': a number of seconds, with "
                           "'%s' after it (write the period in seconds: 0.032 for 32 ms)", (long long)line, val, rest);
        if (d == 0)
            return KM_OK; /* a period of 0 says no rate (1.3): as without the key */
        t->dt = d;
        r->info.frame_rate_hz = 1.0 / d;
        km_reader_rate_from(r, "line %lld: SECONDS_PER_FRAME %s", (long long)line, val);
    } else if (strcmp(key, "UNITS") == 0) {
        snprintf(r->info.units, sizeof r->info.units, "%s", map_units(r, val, &t->scale));
    } else if (strcmp(key, "SATURATION_PRESSURE") == 0) {
        /* informative only: an unreadable value leaves saturation unknown */
        if (km_tk_leading_number(val, &d, &rest) == 0 && d > 0) {
            t->sat = d;
            km_tk_first_word(rest, t->sat_unit, sizeof t->sat_unit);
        }
    } else if (strcmp(key, "SENSOR_TYPE") == 0) {
        /* F-Scan is Tekscan's in-shoe sensor: a foot, not a body on a roller or mat */
        t->insole = strncasecmp(val, "FSCAN", 5) == 0 || strncasecmp(val, "F-SCAN", 6) == 0;
    } else if (strcmp(key, "START_FRAME") == 0 || strcmp(key, "END_FRAME") == 0) {
        int pr = km_tk_int64(val, &v);
        if (pr != 0)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: %s '%s' is %s", (long long)line, key, val,
                           pr == -2 ? "too large for a frame number" : "not an integer");
        if (key[0] == 'S')
            *start = v;
        else
            *end = v;
    }
    return KM_OK;
}

/* A COMMENTS key: its value, or when it has none (COMMENTS:) the next
   line, free text, into the header. */
static km_status add_comment(km_ctx *ctx, km_reader *r, tk_impl *t, char *val)
{
    char *line;
    size_t len;
    int got;
    km_status st;
    if (*val == '\0') {
        st = km_lines_next(ctx, &t->lines, &line, &len, &got);
        if (st != KM_OK)
            return st;
        if (!got)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: file ends after COMMENTS:",
                           (long long)t->lines.line_no);
        km_tk_trim_padding(&line, &len);
        val = line;
    }
    st = km_reader_add_header(ctx, r, "COMMENTS", val);
    if (st == KM_OK && (st = km_comment_parse(ctx, r, val, 0, &t->comment)) != KM_OK) {
        char where[48];
        snprintf(where, sizeof where, "line %lld", (long long)t->lines.line_no);
        km_error_prefix(ctx, where);
    }
    return st;
}

/* A COMMENTS line knotmap wrote ("knotmap export mode=roller
   roller_radius_mm=50") gives the mode and roller radius, which Tekscan's
   keys cannot carry; an option given wins over it without a conflict (the
   comment is a convention, not a Tekscan field).  Its other keys are
   ignored: ROWS, ROW_SPACING, SECONDS_PER_FRAME and UNITS say those. */
static void take_comment(km_reader *r, const tk_impl *t, const km_read_options *opt)
{
    if (t->comment.mode >= 0 && opt->mode < 0)
        r->info.mode = t->comment.mode;
    if (t->comment.radius > 0 && !(opt->roller_radius_mm > 0))
        r->info.roller_radius_mm = t->comment.radius;
}

/* SATURATION_PRESSURE in the session's units: its own unit word when it
   has one both it and UNITS convert by (1514.73 KPa in an mmHg export),
   else in UNITS, converted as the values are.  A pressure over values in
   raw counts (or units unknown) cannot be said in them: unknown (it was
   taken as 1514.73 counts, above every value of an 8-bit sensor). */
static void set_saturation(km_reader *r, const tk_impl *t)
{
    double own = km_units_to_kpa(t->sat_unit), ses = km_units_to_kpa(r->info.units);
    if (!(t->sat > 0) || (isfinite(own) && !isfinite(ses)))
        return;
    if (r->units_file[0] != '\0' && t->scale == 1.0) { /* --override replaced UNITS: in its numbers */
        double file = km_units_to_kpa(r->units_file);
        r->info.saturation = isfinite(own) && own != file ? t->sat * own / file : t->sat;
        return;
    }
    r->info.saturation = isfinite(own) && isfinite(ses) && own != ses ? t->sat * own / ses
                         : isfinite(own) && isfinite(ses)          ? t->sat
                                                                   : t->sat * t->scale;
}

/* At the ASCII_DATA line: the grid (ROWS and COLS must have been given)
   and the frame count START_FRAME..END_FRAME declares.  *_line: where the
   keys were, for errors. */
static km_status header_end(km_ctx *ctx, km_reader *r, tk_impl *t, long long start, long long end,
                            int64_t rows_line, int64_t cols_line, int64_t end_line)
{
    km_status st;
    if (rows_line == 0 || cols_line == 0)
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: %s missing before ASCII_DATA", (long long)t->lines.line_no,
                       rows_line == 0 ? "ROWS" : "COLS");
    st = km_reader_set_geometry(ctx, r, t->rows, t->cols);
    if (st != KM_OK) {
        char where[48];
        snprintf(where, sizeof where, "line %lld", (long long)(rows_line > cols_line ? rows_line : cols_line));
        km_error_prefix(ctx, where);
        return st;
    }
    set_saturation(r, t);
    t->declared = -1;
    if (start >= 0 && end >= 0) {
        if (end < start - 1)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: END_FRAME %lld is before START_FRAME %lld",
                           (long long)end_line, end, start);
        t->declared = end - start + 1;
    }
    t->start_no = start >= 0 ? start : 1;
    return KM_OK;
}

static km_status parse_header(km_ctx *ctx, km_reader *r, tk_impl *t)
{
    long long start = -1, end = -1;
    int64_t rows_line = 0, cols_line = 0, end_line = 0;
    char *line;
    size_t len;
    int got;
    km_status st;

    for (;;) {
        char *key, *val;
        size_t klen;
        st = km_lines_next(ctx, &t->lines, &line, &len, &got);
        if (st != KM_OK)
            return st;
        if (!got)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: file ends before the ASCII_DATA line (not a Tekscan "
                           "ASCII movie, or the header is cut)", (long long)t->lines.line_no);
        if (t->lines.line_no > TK_MAX_HEADER_LINES)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: no ASCII_DATA line in the first %d lines",
                           (long long)t->lines.line_no, TK_MAX_HEADER_LINES);
        km_tk_trim_padding(&line, &len);
        if (len == 0)
            continue;
        for (klen = 0; klen < len && !km_text_blank(line[klen]); klen++)
            ;
        key = line;
        val = line + klen;
        if (klen < len) {
            line[klen] = '\0';
            val++;
            while (km_text_blank(*val))
                val++;
        }
        if (strcmp(key, "ASCII_DATA") == 0)
            break;
        if (strcmp(key, "Frame") == 0 || strcmp(key, "@@") == 0)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: '%s' before the ASCII_DATA line",
                           (long long)t->lines.line_no, key);
        if (strcmp(key, "COMMENTS:") == 0 || (strcmp(key, "COMMENTS") == 0 && *val == '\0')) {
            st = add_comment(ctx, r, t, val);
            if (st != KM_OK)
                return st;
            continue;
        }
        st = km_reader_add_header(ctx, r, key, val);
        if (st == KM_OK)
            st = header_key(ctx, r, t, key, val, t->lines.line_no, &start, &end);
        if (st != KM_OK)
            return st;
        if (strcmp(key, "ROWS") == 0)
            rows_line = t->lines.line_no;
        else if (strcmp(key, "COLS") == 0)
            cols_line = t->lines.line_no;
        else if (strcmp(key, "END_FRAME") == 0)
            end_line = t->lines.line_no;
    }
    return header_end(ctx, r, t, start, end, rows_line, cols_line, end_line);
}

static km_status frame_error(km_ctx *ctx, const tk_impl *t, long long frame_no, const char *what)
{
    return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame %lld: %s", (long long)t->lines.line_no, frame_no, what);
}

/* The token at tok (up to the next comma) is not a number. */
static km_status bad_token(km_ctx *ctx, const tk_impl *t, long long frame_no, const char *tok,
                           const char *e, int32_t column)
{
    const char *te = tok;
    while (te < e && *te != ',' && te - tok < KM_TOKEN_SHOWN)
        te++;
    return km_value_error(ctx, t->lines.line_no, &frame_no, tok, (size_t)(te - tok), column, 0);
}

/* Parse one row of comma-separated values into dst, checking the mask. */
static km_status parse_row(km_ctx *ctx, tk_impl *t, uint8_t *restrict mrow, const char *p, const char *e,
                           float *restrict dst, int first, long long frame_no)
{
    int32_t c = 0;
    const int32_t cols = t->cols;
    for (;;) {
        const char *tok, *q;
        double d;
        float v;
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        tok = p;
        if (p == e || *p == ',') {
            if (p == e && c > 0)
                break; /* trailing comma */
            if (p == e && c == 0)
                break;
            if (c == cols && km_line_padding(p, (size_t)(e - p)))
                break; /* a spreadsheet's padding after the last value */
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame %lld: empty value in column %d",
                           (long long)t->lines.line_no, frame_no, (int)c + 1);
        }
        if (*p == 'B' && (p + 1 == e || p[1] == ',' || p[1] == ' ' || p[1] == '\t')) {
            if (c < cols) {
                if (first)
                    mrow[c] = 0;
                else if (mrow[c])
                    return km_fail(ctx, KM_ERR_FORMAT,
                                   "line %lld: frame %lld: 'B' in column %d, inside the sensor outline of the "
                                   "first frame (the outline must not change)",
                                   (long long)t->lines.line_no, frame_no, (int)c + 1);
                dst[c] = 0.0f;
            }
            q = p + 1;
            goto next;
        }
        if ((unsigned)(*p - '0') < 10u) {
            /* plain integers: the common case, no conversion call */
            uint32_t iv = (uint32_t)(*p - '0');
            q = p + 1;
            while (q < e && (unsigned)(*q - '0') < 10u && q - p < 9) {
                iv = iv * 10u + (uint32_t)(*q - '0');
                q++;
            }
            if (q == e || *q == ',' || *q == ' ' || *q == '\t') {
                v = (float)iv;
                goto store;
            }
        }
        {
            int rc = km_scan_number(p, e, &q, &d);
            if (rc == -2)
                return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame %lld: value out of range in column %d",
                               (long long)t->lines.line_no, frame_no, (int)c + 1);
            if (rc != 0 || (q < e && *q != ',' && *q != ' ' && *q != '\t'))
                return bad_token(ctx, t, frame_no, tok, e, c + 1);
            v = (float)d;
        }
    store:
        if (c < cols)
            dst[c] = mrow[c] ? v : 0.0f;
    next:
        c++;
        p = q;
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        if (p == e)
            break;
        if (*p != ',')
            return bad_token(ctx, t, frame_no, tok, e, c);
        p++;
    }
    if (c != cols) {
        char what[64];
        snprintf(what, sizeof what, "expected %d values, found %d", (int)cols, (int)c);
        return frame_error(ctx, t, frame_no, what);
    }
    return KM_OK;
}

/* The number of the frame whose first line is `line`: `Frame N`, or for an
 * export without those lines (a single frame) the next in order, `line`
 * then being its first row (*row0 = 1). */
static km_status frame_number(km_ctx *ctx, tk_impl *t, const char *line, long long *no, int *row0)
{
    *row0 = 0;
    if (strncmp(line, "Frame", 5) == 0 && km_text_blank(line[5])) {
        const char *num = line + 6;
        if (t->implicit)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: 'Frame N' line after frames without one",
                           (long long)t->lines.line_no);
        while (km_text_blank(*num))
            num++;
        int pr = km_tk_int64(num, no);
        if (pr != 0)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame number '%.40s' is %s", (long long)t->lines.line_no,
                           num, pr == -2 ? "too large" : "not an integer");
        return KM_OK;
    }
    if (t->parsed > 0 && !t->implicit)
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: expected 'Frame N' or '@@', found '%.40s'",
                       (long long)t->lines.line_no, line);
    t->implicit = 1;
    *no = t->parsed == 0 ? t->start_no : t->last_no + 1;
    *row0 = 1;
    return KM_OK;
}

/* Note a key of the first frame's fields once in t->fields; a list too long
   for it ends in "...". */
static void note_field(tk_impl *t, const char *key)
{
    size_t n = strlen(t->fields), k = strlen(key);
    for (const char *p = t->fields; *p != '\0';) {
        size_t w = strcspn(p, ",");
        if (w == k && strncmp(p, key, k) == 0)
            return;
        p += w;
        p += *p != '\0' ? 2 : 0; /* ", " */
    }
    if (n >= 3 && strcmp(t->fields + n - 3, "...") == 0)
        return;
    if (n + 2 + k + 5 >= sizeof t->fields)
        snprintf(t->fields + n, sizeof t->fields - n, "%s...", n > 0 ? ", " : "");
    else
        snprintf(t->fields + n, sizeof t->fields - n, "%s%s", n > 0 ? ", " : "", key);
}

/* The frame's first row after its `Frame N` line: the lines of fields before
   it (km_tk_frame_field) are read past, the first frame's keys noted. */
static km_status first_row_line(km_ctx *ctx, tk_impl *t, int first, char **line, size_t *len, int *g)
{
    size_t klen;
    km_status st;
    for (;;) {
        st = km_lines_next(ctx, &t->lines, line, len, g);
        if (st != KM_OK || !*g || strncmp(*line, "Frame", 5) == 0 || !km_tk_frame_field(*line, *len, &klen))
            return st;
        if (first) {
            char *key = *line;
            size_t n = *len;
            km_tk_trim_padding(&key, &n);
            key[klen < n ? klen : n] = '\0';
            note_field(t, key);
        }
    }
}

/* ROWS rows of frame `no` into dst; with row0, `line` is the first one. */
static km_status frame_rows(km_ctx *ctx, km_reader *r, tk_impl *t, float *dst, int first, long long no,
                            char *line, size_t len, int row0)
{
    int g = 1;
    km_status st;
    for (int32_t row = 0; row < t->rows; row++) {
        if (row > 0 || !row0) {
            st = row > 0 ? km_lines_next(ctx, &t->lines, &line, &len, &g)
                         : first_row_line(ctx, t, first, &line, &len, &g);
            if (st != KM_OK)
                return st;
            if (!g || (len >= 2 && line[0] == '@' && line[1] == '@') || strncmp(line, "Frame", 5) == 0 ||
                km_line_padding(line, len)) {
                char what[96];
                snprintf(what, sizeof what, "%s after %d of %d rows (truncated)",
                         g ? "frame ends" : "file ends", (int)row, (int)t->rows);
                return frame_error(ctx, t, no, what);
            }
        }
        st = parse_row(ctx, t, r->mask + (size_t)row * (size_t)t->cols, line, line + len,
                       dst + (size_t)row * (size_t)t->cols, first, no);
        if (st != KM_OK)
            return st;
    }
    return KM_OK;
}

/* After the closing @@ of line `at`, only blank lines (and the Ctrl-Z some
   DOS-era writers end a file with): a second movie or any text appended is
   refused, not dropped without a word. */
static km_status after_close(km_ctx *ctx, tk_impl *t, int64_t at)
{
    char *line, tok[KM_TOKEN_TEXT];
    size_t len;
    int got;
    km_status st;
    while ((st = km_lines_next(ctx, &t->lines, &line, &len, &got)) == KM_OK && got)
        if (!km_line_padding(line, len) && !(len == 1 && line[0] == '\x1a')) /* DOS's end-of-file mark */
            return km_fail(ctx, KM_ERR_FORMAT,
                           "line %lld: '%s' after the closing @@ of line %lld: a Tekscan export ends there "
                           "(a second movie or notes appended? cut the file after line %lld, or save each "
                           "movie to its own file)", (long long)t->lines.line_no,
                           km_token_text(tok, line, len > KM_TOKEN_SHOWN ? KM_TOKEN_SHOWN : len), (long long)at,
                           (long long)at);
    return st;
}

/* The next frame into dst; *got = 0 after the closing @@. */
static km_status parse_frame(km_ctx *ctx, km_reader *r, tk_impl *t, float *dst, double *time, int *got, int first)
{
    char *line;
    size_t len;
    int g, row0;
    long long no = 0;
    km_status st;

    *got = 0;
    do {
        st = km_lines_next(ctx, &t->lines, &line, &len, &g);
        if (st != KM_OK)
            return st;
    } while (g && km_line_padding(line, len));
    if (!g) {
        if (t->declared >= 0 && t->parsed < t->declared)
            return km_fail(ctx, KM_ERR_FORMAT,
                           "line %lld: file ends before frame %lld: START_FRAME..END_FRAME announce %lld frames, "
                           "%lld found (truncated)",
                           (long long)t->lines.line_no, t->parsed == 0 ? t->start_no : t->last_no + 1,
                           (long long)t->declared, (long long)t->parsed);
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: file ends without the closing @@ (truncated)",
                       (long long)t->lines.line_no);
    }
    km_tk_trim_padding(&line, &len);
    if (strcmp(line, "@@") == 0) {
        if (t->declared >= 0 && t->parsed != t->declared)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: @@ after %lld frames: START_FRAME..END_FRAME announce %lld",
                           (long long)t->lines.line_no, (long long)t->parsed, (long long)t->declared);
        t->finished = 1;
        return after_close(ctx, t, t->lines.line_no);
    }
    if ((st = frame_number(ctx, t, line, &no, &row0)) != KM_OK)
        return st;
    if (t->parsed > 0 && no <= t->last_no)
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame %lld follows frame %lld: frame numbers must increase",
                       (long long)t->lines.line_no, no, t->last_no);
    if (t->declared >= 0 && t->parsed >= t->declared)
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame %lld is beyond END_FRAME (%lld frames announced)",
                       (long long)t->lines.line_no, no, (long long)t->declared);
    if (t->parsed == 0)
        t->first_no = no;
    if ((st = frame_rows(ctx, r, t, dst, first, no, line, len, row0)) != KM_OK)
        return st;
    if (t->scale != 1.0)
        for (size_t i = 0, n = (size_t)t->rows * (size_t)t->cols; i < n; i++)
            dst[i] = (float)(dst[i] * t->scale);
    *time = (double)(no - t->first_no) * t->dt;
    t->last_no = no;
    t->parsed++;
    *got = 1;
    return KM_OK;
}

static km_status tk_read(km_ctx *ctx, km_reader *r, float *frames, double *times, int64_t max_frames,
                         int64_t *n_read)
{
    tk_impl *t = r->impl;
    size_t fs = (size_t)t->rows * (size_t)t->cols;
    int64_t n = 0;
    km_status st = KM_OK;

    while (n < max_frames) {
        double tm = 0;
        int got;
        float *dst = frames + (size_t)n * fs;
        if (t->has_pending) {
            memcpy(dst, t->pending, fs * sizeof *dst);
            tm = t->pending_time;
            t->has_pending = 0;
        } else {
            if (t->finished)
                break;
            if ((n & 63) == 63 && km_ctx_cancelled(ctx)) {
                st = km_fail(ctx, KM_ERR_CANCELLED, "cancelled");
                goto done;
            }
            st = parse_frame(ctx, r, t, dst, &tm, &got, 0);
            if (st != KM_OK || !got) { /* a damaged frame or the end: a file cut under us says so */
                st = km_lines_changed(ctx, &t->lines, st);
                goto done;
            }
        }
        if (times != NULL)
            times[n] = tm;
        n++;
    }
done:
    *n_read = n;
    return st;
}

static void tk_close(km_reader *r)
{
    tk_impl *t = r->impl;
    if (t == NULL)
        return;
    km_lines_close(&t->lines);
    km_reader_release(r, t->pending);
    km_reader_release(r, t);
    r->impl = NULL;
}

static const km_reader_ops tk_ops = {tk_read, tk_close};

/* Count `Frame` lines from the current position, then come back.  An
 * export without them: its data lines / ROWS. */
static km_status count_frames(km_ctx *ctx, tk_impl *t, int64_t *count)
{
    long long off = km_lines_tell(&t->lines);
    int64_t line_no = t->lines.line_no, n = 0, data = 0;
    char *line;
    size_t len;
    int got;
    km_status st;
    for (;;) {
        st = km_lines_next(ctx, &t->lines, &line, &len, &got);
        if (st != KM_OK)
            return st;
        if (!got)
            break;
        km_tk_trim_padding(&line, &len); /* as tk_read sees the line ("\r@@" is the marker too) */
        /* The data end at the closing marker; anything after it is not a frame. */
        if (len >= 2 && line[0] == '@' && line[1] == '@') {
            if ((st = after_close(ctx, t, t->lines.line_no)) != KM_OK)
                return st;
            break;
        }
        if (len > 5 && line[0] == 'F' && strncmp(line, "Frame", 5) == 0 && km_text_blank(line[5]))
            n++;
        else if (len > 0)
            data++;
    }
    *count = n > 0 ? n : data / t->rows;
    return km_lines_seek(ctx, &t->lines, off, line_no);
}

km_status km_open_tekscan(km_ctx *ctx, km_reader *r, const km_read_options *opt)
{
    tk_impl *t;
    km_status st;
    size_t fs;
    int got = 0;

    t = km_reader_alloc(r, sizeof *t);
    if (t == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory for the Tekscan reader");
    memset(t, 0, sizeof *t);
    km_comment_meta_init(&t->comment);
    t->scale = 1.0;
    r->impl = t;
    r->ops = &tk_ops;
    st = km_reader_open_lines(ctx, r, &t->lines);
    if (st != KM_OK)
        return st;
    st = parse_header(ctx, r, t);
    if (st != KM_OK)
        return st;
    /* A data line is one row of the declared COLS values ('B' for one
       outside the outline), or 'Frame N': its length follows the grid. */
    if (t->cols > 0)
        t->lines.max_fields = (long long)t->cols + 2;
    /* No SECONDS_PER_FRAME, or a rate given over it (--override): times
       follow the rate given or assumed, as the session's rate does. */
    if (t->dt <= 0 || (opt->override && opt->frame_rate_hz > 0))
        t->dt = opt->frame_rate_hz > 0 ? 1.0 / opt->frame_rate_hz : 1.0;
    if (t->declared >= 0) {
        r->info.n_frames = t->declared;
    } else {
        st = count_frames(ctx, t, &r->info.n_frames);
        if (st != KM_OK)
            return st;
    }
    fs = (size_t)t->rows * (size_t)t->cols;
    t->pending = km_reader_alloc(r, fs * sizeof(float));
    if (t->pending == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory for a %dx%d frame", (int)t->rows, (int)t->cols);
    /* The first frame fixes the outline (mask): parse it now. */
    st = parse_frame(ctx, r, t, t->pending, &t->pending_time, &got, 1);
    if (st != KM_OK)
        return st;
    t->has_pending = got;
    if (t->fields[0] != '\0' && (st = km_reader_add_header(ctx, r, "frame_fields", t->fields)) != KM_OK)
        return st;
    take_comment(r, t, opt);
    if (t->insole)
        km_reader_set_insole(r);
    st = km_reader_apply_options(ctx, r, opt);
    r->times_from_rate = 0; /* its times follow the rate given already (dt above), gaps kept */
    if (st == KM_OK && t->insole)
        km_reader_note_assumed(r, "insole");
    return st;
}
