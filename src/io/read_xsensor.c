/* XSENSOR CSV exports (X3 / Foresite / PRO "Export to CSV"): docs/FORMAT.md 1.6.
 *
 * Two layouts, told apart by the first line that is not a key line:
 *  - block: per frame a run of key lines ("Frame:", "Sensor:", "Rows:",
 *    "Columns:", "Time:", "Sensel Width (cm)", "Units:", ...) then Rows
 *    lines of Columns values; two sensors alternate their blocks;
 *  - wide: one row of column names holding S_<row>_<col>, then one line per
 *    frame; a second sensor repeats its own S_ columns further right.
 * The field separator is ';', TAB or ',' (the first one a line shows, in
 * that order of preference); ',' is a decimal mark in a ';'/TAB file and
 * inside a quoted field.  The file is surveyed once at open (layout,
 * sensors, geometry, frame count, times, structure) and then streamed:
 * values are parsed when km_reader_read asks for them. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "reader_internal.h"
#include "text_scan.h"

#define XS_MAX_SENSORS 64
#define XS_MAX_PREAMBLE 10000 /* key lines before the first frame or column row */
#define XS_PSI_TO_KPA 6.894757293168361
#define XS_NONE ((size_t)-1)

enum { XS_BLOCK = 0, XS_WIDE = 1 };
enum { K_OTHER, K_FRAME, K_SENSOR, K_ROWS, K_COLS, K_TIME, K_ELAPSED, K_WIDTH, K_HEIGHT, K_UNITS };

typedef struct xs_field {
    char *s;
    size_t len;
    int quoted;
} xs_field;

/* What the key lines of one block said. */
typedef struct xs_block {
    int n_keys;
    long long frame_no;
    int has_frame;
    char sensor[64];
    int has_sensor;
    long long rows, cols;     /* 0: not said in this block */
    double elapsed, clock;
    int has_elapsed, has_clock;
    int64_t time_line;        /* line of the time key used */
} xs_block;

typedef struct xs_impl {
    km_lines lines;
    char sep;                 /* 0 until a line shows one */
    int layout;
    int32_t rows, cols;
    int32_t want;             /* the sensor chosen */
    xs_field *f;              /* fields of the current line */
    size_t cap_f, nf;
    int held;                 /* the current line is still to be consumed */
    long long line_off;       /* file offset of the current line */
    double scale;             /* applied to values (PSI -> kPa) */
    /* pitch and units as the key lines say them, last one wins */
    double width_mm, height_mm;
    char units[32];
    int units_from_key;
    int frozen;               /* pitch and units fixed (chosen sensor's first frame seen) */
    /* times */
    int t_have;               /* the chosen sensor's frames carry times */
    int t_clock;              /* ... as clock times (midnight unwrap) */
    double t0, t_last, day_off, dt;
    double span;              /* last time of the survey: the session length */
    int64_t t_line;           /* line and frame number of the last time taken */
    long long t_frame;
    long long f0, f_last;     /* frame numbers */
    int64_t parsed;           /* chosen frames passed so far (this pass) */
    int64_t n_frames;
    int finished;
    /* block layout */
    char *names[XS_MAX_SENSORS];
    int64_t blocks_of[XS_MAX_SENSORS];
    size_t n_names;
    int cur_sensor;           /* sensor of the previous block */
    long long last_rows, last_cols;
    /* wide layout */
    size_t n_columns;
    int32_t *taxel;           /* per column: taxel index of the chosen sensor, or -1 */
    size_t col_time, col_frame;
    int col_time_elapsed;
    int n_groups;
} xs_impl;

/* ------------------------------------------------------------ small helpers */

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int eq_ci(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++)
        if (lower((unsigned char)*a) != lower((unsigned char)*b))
            return 0;
    return *a == '\0' && *b == '\0';
}

static int prefix_ci(const char *s, const char *p)
{
    for (; *p != '\0'; s++, p++)
        if (lower((unsigned char)*s) != lower((unsigned char)*p))
            return 0;
    return 1;
}

/* Key as written, without blanks and a trailing ':' (in place). */
static char *key_of(xs_field *fd)
{
    char *k = fd->s;
    size_t n = fd->len;
    while (n > 0 && (blank(k[n - 1]) || k[n - 1] == ':'))
        n--;
    k[n] = '\0';
    fd->len = n;
    return k;
}

static int key_kind(const char *k)
{
    if (eq_ci(k, "Frame") || eq_ci(k, "Frame #") || eq_ci(k, "Frame No") || eq_ci(k, "Frame Number"))
        return K_FRAME;
    if (eq_ci(k, "Sensor") || eq_ci(k, "Sensor Name") || eq_ci(k, "Insole"))
        return K_SENSOR;
    if (eq_ci(k, "Rows"))
        return K_ROWS;
    if (eq_ci(k, "Columns") || eq_ci(k, "Cols"))
        return K_COLS;
    if (prefix_ci(k, "Elapsed"))
        return K_ELAPSED;
    if (eq_ci(k, "Time") || prefix_ci(k, "Time (") || eq_ci(k, "Timestamp") || eq_ci(k, "Frame Timestamp"))
        return K_TIME;
    if (prefix_ci(k, "Sensel Width"))
        return K_WIDTH;
    if (prefix_ci(k, "Sensel Height"))
        return K_HEIGHT;
    if (eq_ci(k, "Units") || eq_ci(k, "Unit") || eq_ci(k, "Pressure Units"))
        return K_UNITS;
    return K_OTHER;
}

/* XSENSOR's unit words to knotmap's; PSI is converted to kPa. */
static const char *map_units(const char *u, double *scale)
{
    *scale = 1.0;
    if (eq_ci(u, "kPa"))
        return "kPa";
    if (eq_ci(u, "mmHg"))
        return "mmHg";
    if (eq_ci(u, "N/cm2") || eq_ci(u, "N/cm^2") || strcmp(u, "N/cm\xc2\xb2") == 0 || eq_ci(u, "N/sq cm"))
        return "N/cm2";
    if (eq_ci(u, "PSI")) {
        *scale = XS_PSI_TO_KPA;
        return "kPa";
    }
    return "raw";
}

/* "Peak Pressure (PSI)" -> "PSI": a unit hint from a key or column name. */
static void units_hint(xs_impl *t, const char *name)
{
    const char *p = strstr(name, "ressure ("), *e;
    if (t->units_from_key || t->units[0] != '\0' || p == NULL)
        return;
    p += 9;
    e = strchr(p, ')');
    if (e == NULL || e == p || (size_t)(e - p) >= sizeof t->units)
        return;
    memcpy(t->units, p, (size_t)(e - p));
    t->units[e - p] = '\0';
}

/* ----------------------------------------------------------- fields, numbers */

/* Which separator a line shows outside quotes: ';' before TAB before ','. */
static char detect_sep(const char *s, size_t n)
{
    int q = 0, semi = 0, tab = 0, comma = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            q = !q;
        else if (!q) {
            semi += s[i] == ';';
            tab += s[i] == '\t';
            comma += s[i] == ',';
        }
    }
    return semi ? ';' : tab ? '\t' : comma ? ',' : 0;
}

static km_status grow_fields(km_ctx *ctx, km_reader *r, xs_impl *t)
{
    size_t ncap = t->cap_f ? t->cap_f * 2 : 64;
    xs_field *nf = km_reader_alloc(r, ncap * sizeof *nf);
    if (nf == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory for %zu fields", ncap);
    if (t->cap_f > 0)
        memcpy(nf, t->f, t->cap_f * sizeof *nf);
    km_reader_release(r, t->f);
    t->f = nf;
    t->cap_f = ncap;
    return KM_OK;
}

/* Split a line in place into t->f: quoted fields lose their quotes ("" is
   one quote), unquoted ones their surrounding blanks; each is NUL-ended. */
static km_status split(km_ctx *ctx, km_reader *r, xs_impl *t, char *s, size_t n)
{
    const char sep = t->sep ? t->sep : ',';
    size_t i = 0;
    km_status st;
    t->nf = 0;
    for (;;) {
        char *out;
        xs_field fd;
        if (t->nf == t->cap_f && (st = grow_fields(ctx, r, t)) != KM_OK)
            return st;
        while (i < n && s[i] != sep && blank(s[i]))
            i++;
        fd.s = out = s + i;
        fd.quoted = 0;
        if (i < n && s[i] == '"') {
            fd.quoted = 1;
            i++;
            while (i < n) {
                if (s[i] == '"') {
                    if (i + 1 < n && s[i + 1] == '"') {
                        *out++ = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                *out++ = s[i++];
            }
            /* anything between the closing quote and the separator is kept */
            while (i < n && s[i] != sep)
                *out++ = s[i++];
        } else {
            while (i < n && s[i] != sep)
                out++, i++;
        }
        while (out > fd.s && blank(out[-1]))
            out--;
        fd.len = (size_t)(out - fd.s);
        t->f[t->nf++] = fd;
        if (i >= n) {
            *out = '\0';
            break;
        }
        *out = '\0'; /* out <= s + i, the separator's place at the latest */
        i++;
    }
    /* a trailing separator is not an extra field */
    if (t->nf > 1 && t->f[t->nf - 1].len == 0 && !t->f[t->nf - 1].quoted && n > 0 && s[n - 1] == sep)
        t->nf--;
    return KM_OK;
}

/* 0, or -1 non-numeric, -2 out of float range, -3 empty. */
static int field_number(const xs_impl *t, const xs_field *fd, double *out)
{
    const char *p = fd->s, *e = fd->s + fd->len, *q;
    int rc;
    if (fd->len == 0)
        return -3;
    if (fd->len <= 9) {
        /* plain integers: the common case, no conversion call */
        uint32_t v = 0;
        size_t k = 0;
        while (k < fd->len && (unsigned)(p[k] - '0') < 10u)
            v = v * 10u + (uint32_t)(p[k++] - '0');
        if (k == fd->len) {
            *out = (double)v;
            return 0;
        }
    }
    if ((t->sep != ',' || fd->quoted) && memchr(p, ',', fd->len) != NULL)
        rc = km_scan_number_comma(p, e, &q, out);
    else
        rc = km_scan_number(p, e, &q, out);
    if (rc == 0 && q != e)
        rc = -1;
    return rc;
}

/* Seconds from "HH:MM:SS[.fff]" (optional AM/PM) or "MM:SS[.fff]", or a
   plain number of seconds.  *clock = 1 for the colon forms. */
static int field_time(const xs_impl *t, const xs_field *fd, double *sec, int *clock)
{
    const char *p = fd->s, *e = fd->s + fd->len;
    const char *colon = memchr(p, ':', fd->len);
    double parts[3];
    int np = 0, pm = -1;
    *clock = 0;
    if (colon == NULL) {
        int rc = field_number(t, fd, sec);
        return rc == 0 && isfinite(*sec) ? 0 : -1;
    }
    if (e - p >= 3 && (prefix_ci(e - 2, "AM") || prefix_ci(e - 2, "PM"))) {
        pm = lower((unsigned char)e[-2]) == 'p';
        e -= 2;
        while (e > p && blank(e[-1]))
            e--;
    }
    while (np < 3) {
        const char *q, *stop = memchr(p, ':', (size_t)(e - p));
        double v;
        int rc;
        if (stop == NULL)
            stop = e;
        if (np < 2 && stop != e) {
            long long iv = 0;
            if (p == stop)
                return -1;
            for (q = p; q < stop; q++) {
                if ((unsigned)(*q - '0') >= 10u || iv > 1000000)
                    return -1;
                iv = iv * 10 + (*q - '0');
            }
            v = (double)iv;
        } else {
            rc = memchr(p, ',', (size_t)(stop - p)) != NULL ? km_scan_number_comma(p, stop, &q, &v)
                                                             : km_scan_number(p, stop, &q, &v);
            if (rc != 0 || q != stop || !(v >= 0 && v < 1e9))
                return -1;
        }
        parts[np++] = v;
        if (stop == e)
            break;
        p = stop + 1;
    }
    if (p < e && np == 3 && memchr(p, ':', (size_t)(e - p)) != NULL)
        return -1;
    if (np == 2)
        *sec = parts[0] * 60.0 + parts[1];
    else if (np == 3) {
        double h = parts[0];
        if (pm >= 0)
            h = fmod(h, 12.0) + (pm ? 12.0 : 0.0);
        *sec = h * 3600.0 + parts[1] * 60.0 + parts[2];
    } else
        return -1;
    *clock = 1;
    return 0;
}

/* Next non-blank line split into t->f; *got = 0 at the end.  A held line
   is returned again first. */
static km_status get_line(km_ctx *ctx, km_reader *r, xs_impl *t, int *got)
{
    char *line;
    size_t len;
    km_status st;
    if (t->held) {
        t->held = 0;
        *got = 1;
        return KM_OK;
    }
    for (;;) {
        t->line_off = km_lines_tell(&t->lines);
        st = km_lines_next(ctx, &t->lines, &line, &len, got);
        if (st != KM_OK || !*got)
            return st;
        if (len >= 3 && (unsigned char)line[0] == 0xEF && (unsigned char)line[1] == 0xBB &&
            (unsigned char)line[2] == 0xBF && t->lines.line_no == 1) {
            line += 3; /* UTF-8 byte order mark */
            len -= 3;
        }
        if (km_line_blank(line, len))
            continue;
        if (t->sep == 0)
            t->sep = detect_sep(line, len);
        st = split(ctx, r, t, line, len);
        if (st != KM_OK)
            return st;
        for (size_t i = 0; i < t->nf; i++)
            if (t->f[i].len > 0)
                return KM_OK;
        /* only separators: a blank line of a spreadsheet export */
    }
}

static int is_data_line(const xs_impl *t)
{
    double v;
    return t->nf > 0 && field_number(t, &t->f[0], &v) == 0;
}

/* "S_<row>_<col>" -> 1 with the indices. */
static int sensel_name(const xs_field *fd, long long *row, long long *col)
{
    const char *p = fd->s, *e = fd->s + fd->len;
    long long v[2] = {0, 0};
    if (fd->len < 5 || p[0] != 'S' || p[1] != '_')
        return 0;
    p += 2;
    for (int k = 0; k < 2; k++) {
        const char *d = p;
        while (p < e && (unsigned)(*p - '0') < 10u && p - d < 9)
            v[k] = v[k] * 10 + (*p++ - '0');
        if (p == d)
            return 0;
        if (k == 0) {
            if (p == e || *p != '_')
                return 0;
            p++;
        }
    }
    if (p != e)
        return 0;
    *row = v[0];
    *col = v[1];
    return 1;
}

/* Value of a key line: the other fields joined by the separator. */
static km_status add_key_line(km_ctx *ctx, km_reader *r, xs_impl *t, const char *key)
{
    char buf[1024];
    size_t n = 0, last = 1;
    for (size_t i = 1; i < t->nf; i++)
        if (t->f[i].len > 0)
            last = i + 1;
    for (size_t i = 1; i < last && n + 1 < sizeof buf; i++) {
        size_t k = t->f[i].len;
        if (i > 1)
            buf[n++] = t->sep ? t->sep : ',';
        if (k > sizeof buf - 1 - n)
            k = sizeof buf - 1 - n;
        memcpy(buf + n, t->f[i].s, k);
        n += k;
    }
    buf[n] = '\0';
    return km_reader_add_header(ctx, r, key, buf);
}

/* ------------------------------------------------------------- key lines */

/* A sensel size in mm from "Sensel Width (cm)" = "1,27" (unit from the
   key's parentheses or the value's word; cm when neither says). */
static km_status sensel_size(km_ctx *ctx, const xs_impl *t, const char *key, const xs_field *val, double *mm)
{
    double v, scale = 10.0;
    const char *u = strchr(key, '(');
    xs_field num = *val;
    const char *word = NULL;
    for (size_t i = 0; i < num.len; i++)
        if (blank(num.s[i])) {
            word = num.s + i;
            num.len = i;
            break;
        }
    if (word != NULL) {
        while (blank(*word))
            word++;
    } else if (u != NULL) {
        word = u + 1;
    }
    if (word != NULL) {
        if (prefix_ci(word, "mm"))
            scale = 1.0;
        else if (prefix_ci(word, "cm"))
            scale = 10.0;
        else if (prefix_ci(word, "in"))
            scale = 25.4;
        else if (prefix_ci(word, "m)") || eq_ci(word, "m"))
            scale = 1000.0;
        else
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: %s: unit not understood (mm, cm, m or in)",
                           (long long)t->lines.line_no, key);
    }
    if (field_number(t, &num, &v) != 0 || !(v > 0) || !isfinite(v))
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: %s '%s' is not a positive length",
                       (long long)t->lines.line_no, key, val->s);
    *mm = v * scale;
    return KM_OK;
}

static km_status positive_int(km_ctx *ctx, const xs_impl *t, const char *key, const xs_field *val, long long *out)
{
    long long v = 0;
    size_t i;
    for (i = 0; i < val->len && (unsigned)(val->s[i] - '0') < 10u; i++) {
        if (v > (long long)1 << 40)
            break;
        v = v * 10 + (val->s[i] - '0');
    }
    if (i > 0 && i < val->len && v > (long long)1 << 40) { /* digits too many to hold? */
        size_t j = i;
        while (j < val->len && (unsigned)(val->s[j] - '0') < 10u)
            j++;
        if (j == val->len)
            return km_fail(ctx, KM_ERR_LIMIT, "line %lld: %s %s exceeds the limit of %d",
                           (long long)t->lines.line_no, key, val->s, KM_MAX_DIM);
    }
    if (i == 0 || i != val->len || v <= 0)
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: %s '%s' is not a positive integer",
                       (long long)t->lines.line_no, key, val->s);
    if (v > KM_MAX_DIM)
        return km_fail(ctx, KM_ERR_LIMIT, "line %lld: %s %lld exceeds the limit of %d", (long long)t->lines.line_no,
                       key, v, KM_MAX_DIM);
    *out = v;
    return KM_OK;
}

/* One key line into the block being read (and the file-wide pitch/units). */
static km_status key_line(km_ctx *ctx, xs_impl *t, xs_block *b)
{
    char *key = key_of(&t->f[0]);
    xs_field empty = {"", 0, 0};
    const xs_field *val = t->nf > 1 ? &t->f[1] : &empty;
    int kind = key_kind(key), clock;
    long long v = 0;
    double d;
    km_status st = KM_OK;

    b->n_keys++;
    if (t->frozen && (kind == K_WIDTH || kind == K_HEIGHT || kind == K_UNITS || kind == K_OTHER))
        return KM_OK;
    switch (kind) {
    case K_FRAME:
        if (field_number(t, val, &d) != 0 || d != floor(d) || fabs(d) > 1e15)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame number '%s' is not an integer",
                           (long long)t->lines.line_no, val->s);
        b->frame_no = (long long)d;
        b->has_frame = 1;
        break;
    case K_SENSOR:
        snprintf(b->sensor, sizeof b->sensor, "%s", val->s);
        b->has_sensor = 1;
        break;
    case K_ROWS:
    case K_COLS:
        st = positive_int(ctx, t, key, val, &v);
        if (st == KM_OK) {
            if (kind == K_ROWS)
                b->rows = v;
            else
                b->cols = v;
        }
        break;
    case K_TIME:
    case K_ELAPSED:
        if (val->len == 0)
            break;
        if (field_time(t, val, &d, &clock) != 0)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: %s '%s' is not a time (HH:MM:SS.fff or seconds)",
                           (long long)t->lines.line_no, key, val->s);
        if (kind == K_ELAPSED || !b->has_elapsed)
            b->time_line = t->lines.line_no;
        if (kind == K_ELAPSED) {
            b->elapsed = d;
            b->has_elapsed = 1;
        } else {
            b->clock = d;
            b->has_clock = 1 + clock; /* 2: a time of day */
        }
        break;
    case K_WIDTH:
        st = sensel_size(ctx, t, key, val, &t->width_mm);
        break;
    case K_HEIGHT:
        st = sensel_size(ctx, t, key, val, &t->height_mm);
        break;
    case K_UNITS:
        snprintf(t->units, sizeof t->units, "%s", val->s);
        t->units_from_key = 1;
        break;
    default:
        units_hint(t, key);
        break;
    }
    return st;
}

/* --------------------------------------------------------------- times */

/* The chosen sensor's frame time from what its block/row said; checks the
   order.  raw/clock describe the file's value; has = 0 when it gave none. */
static km_status frame_time(km_ctx *ctx, xs_impl *t, int has, double raw, int clock, long long frame_no,
                            int64_t line, double *out)
{
    if (t->parsed == 0) {
        t->t_have = has;
        t->t_clock = clock;
        t->f0 = frame_no;
        t->day_off = 0;
    }
    if (!t->t_have) {
        *out = (double)(frame_no - t->f0) * t->dt;
        return KM_OK;
    }
    if (!has)
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame %lld: no time, but the first frame has one",
                       (long long)line, frame_no);
    if (t->t_clock) {
        raw += t->day_off;
        if (t->parsed > 0 && raw < t->t0 + t->t_last - 43200.0) { /* past midnight */
            t->day_off += 86400.0;
            raw += 86400.0;
        }
    }
    if (t->parsed == 0)
        t->t0 = raw;
    *out = raw - t->t0;
    if (t->parsed > 0 && *out < t->t_last)
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame %lld: time %.6g s is before the previous frame's %.6g s",
                       (long long)line, frame_no, *out, t->t_last);
    t->t_last = *out;
    t->t_line = line;
    t->t_frame = frame_no;
    return KM_OK;
}

/* --------------------------------------------------------- block layout */

/* Key lines up to the first data line of the next block (left in t->f);
   *got = 0 at the end of the file. */
static km_status next_block(km_ctx *ctx, km_reader *r, xs_impl *t, xs_block *b, int *got)
{
    km_status st;
    memset(b, 0, sizeof *b);
    for (;;) {
        st = get_line(ctx, r, t, got);
        if (st != KM_OK)
            return st;
        if (!*got) {
            if (b->has_frame)
                return km_fail(ctx, KM_ERR_FORMAT,
                               "line %lld: file ends after the key lines of a block, before its data (truncated)",
                               (long long)t->lines.line_no);
            return KM_OK;
        }
        if (is_data_line(t))
            return KM_OK;
        st = key_line(ctx, t, b);
        if (st != KM_OK)
            return st;
    }
}

/* Sensor index of a block (a block without a Sensor key belongs to the
   sensor of the block before it). */
static km_status block_sensor(km_ctx *ctx, km_reader *r, xs_impl *t, const xs_block *b, int *idx)
{
    size_t i;
    if (!b->has_sensor && t->n_names > 0) {
        *idx = t->cur_sensor;
        return KM_OK;
    }
    for (i = 0; i < t->n_names; i++)
        if (strcmp(t->names[i], b->sensor) == 0)
            break;
    if (i == t->n_names) {
        size_t n = strlen(b->sensor) + 1;
        if (i == XS_MAX_SENSORS)
            return km_fail(ctx, KM_ERR_LIMIT, "line %lld: more than %d sensors", (long long)t->lines.line_no,
                           XS_MAX_SENSORS);
        t->names[i] = km_reader_alloc(r, n);
        if (t->names[i] == NULL)
            return km_fail(ctx, KM_ERR_NOMEM, "out of memory for a sensor name");
        memcpy(t->names[i], b->sensor, n);
        t->n_names++;
    }
    *idx = (int)i;
    t->cur_sensor = (int)i;
    return KM_OK;
}

/* Parse one data row (t->f) of `cols` values into dst. */
static km_status parse_row(km_ctx *ctx, const xs_impl *t, float *restrict dst, int32_t cols, long long frame_no)
{
    if (t->nf != (size_t)cols)
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame %lld: expected %d values, found %zu",
                       (long long)t->lines.line_no, frame_no, (int)cols, t->nf);
    for (int32_t c = 0; c < cols; c++) {
        double d;
        int rc = field_number(t, &t->f[c], &d);
        if (rc == -3)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame %lld: empty value in column %d",
                           (long long)t->lines.line_no, frame_no, (int)c + 1);
        if (rc != 0)
            return km_value_error(ctx, t->lines.line_no, &frame_no, t->f[c].s, t->f[c].len, c + 1,
                                  rc == -2);
        dst[c] = (float)(d * t->scale);
    }
    return KM_OK;
}

/* The data lines of a block, the first one already in t->f.  dst NULL:
   count only (survey, other sensors).  Leaves the next key line held. */
static km_status block_rows(km_ctx *ctx, km_reader *r, xs_impl *t, long long rows, int32_t cols, float *dst,
                            long long frame_no)
{
    long long k = 0;
    int got = 1;
    km_status st;
    for (;;) {
        if (rows > 0 && k == rows)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame %lld: more than the %lld rows that Rows gives",
                           (long long)t->lines.line_no, frame_no, rows);
        if (dst != NULL) {
            st = parse_row(ctx, t, dst + (size_t)k * (size_t)cols, cols, frame_no);
            if (st != KM_OK)
                return st;
        }
        k++;
        if (dst != NULL && k == rows)
            return KM_OK; /* the survey checked what follows */
        st = get_line(ctx, r, t, &got);
        if (st != KM_OK)
            return st;
        if (!got || !is_data_line(t))
            break;
    }
    if (got)
        t->held = 1;
    if (rows > 0 && k < rows)
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame %lld: %s after %lld of %lld rows (truncated)",
                       (long long)t->lines.line_no, frame_no, got ? "block ends" : "file ends", k, rows);
    return KM_OK;
}

/* The next block of the chosen sensor: its frame into dst (NULL: survey)
   and its time; *got = 0 at the end. */
static km_status block_frame(km_ctx *ctx, km_reader *r, xs_impl *t, float *dst, double *time, int *got)
{
    xs_block b;
    km_status st;
    for (;;) {
        int idx;
        long long rows, cols, no;
        int64_t line_first;
        st = next_block(ctx, r, t, &b, got);
        if (st != KM_OK || !*got)
            return st;
        line_first = t->lines.line_no;
        st = block_sensor(ctx, r, t, &b, &idx);
        if (st != KM_OK)
            return st;
        if (b.rows > 0)
            t->last_rows = b.rows;
        if (b.cols > 0)
            t->last_cols = b.cols;
        rows = t->last_rows;
        cols = t->last_cols;
        t->blocks_of[idx]++;
        no = b.has_frame ? b.frame_no : (long long)t->blocks_of[idx];
        if (rows == 0 || cols == 0)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame %lld: %s missing before the data",
                           (long long)line_first, no, rows == 0 ? "Rows" : "Columns");
        if (idx != t->want) {
            st = block_rows(ctx, r, t, rows, (int32_t)cols, NULL, no);
            if (st != KM_OK)
                return st;
            continue;
        }
        if (t->parsed == 0 && dst == NULL && t->rows == 0) {
            /* the survey's first frame of the chosen sensor fixes the grid */
            st = km_reader_set_geometry(ctx, r, rows, cols);
            if (st != KM_OK) {
                char where[48];
                snprintf(where, sizeof where, "line %lld", (long long)line_first);
                km_error_prefix(ctx, where);
                return st;
            }
            t->rows = (int32_t)rows;
            t->cols = (int32_t)cols;
        } else if (rows != t->rows || cols != t->cols) {
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame %lld: grid %lldx%lld differs from the first frame's %dx%d",
                           (long long)line_first, no, rows, cols, (int)t->rows, (int)t->cols);
        }
        st = block_rows(ctx, r, t, rows, (int32_t)cols, dst, no);
        if (st != KM_OK)
            return st;
        t->frozen = 1;
        if (b.has_elapsed)
            st = frame_time(ctx, t, 1, b.elapsed, 0, no, b.time_line, time);
        else
            st = frame_time(ctx, t, b.has_clock != 0, b.clock, b.has_clock == 2, no,
                            b.has_clock ? b.time_line : line_first, time);
        if (st != KM_OK)
            return st;
        t->f_last = no;
        t->parsed++;
        return KM_OK;
    }
}

/* Survey of a block file: every block once, structure and times checked,
   the header taken from the key lines before the chosen sensor's first
   data (the lines of the other sensor's blocks excepted). */
static km_status survey_block(km_ctx *ctx, km_reader *r, xs_impl *t)
{
    km_status st;
    int got;
    double tm;
    t->dt = 1.0;
    for (;;) {
        st = block_frame(ctx, r, t, NULL, &tm, &got);
        if (st != KM_OK)
            return st;
        if (!got)
            break;
    }
    if (t->n_names == 0)
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: no frame data (no line of numbers)",
                       (long long)t->lines.line_no);
    if ((size_t)t->want >= t->n_names) {
        char list[200];
        size_t n = 0;
        for (size_t i = 0; i < t->n_names && n + 1 < sizeof list; i++) {
            int k = snprintf(list + n, sizeof list - n, "%s%zu '%s'", i ? ", " : "", i, t->names[i]);
            if (k < 0)
                break;
            n += (size_t)k;
        }
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: sensor %d requested, but the file holds %zu sensor%s (%s)",
                       (long long)t->lines.line_no, (int)t->want, t->n_names, t->n_names == 1 ? "" : "s", list);
    }
    t->n_frames = t->parsed;
    t->span = t->t_last;
    return KM_OK;
}

/* Header of a block file: the key lines before the first block's Frame
   key, then the key lines of the chosen sensor's first block.  Read again
   from the start because the survey did not keep lines. */
static km_status block_header(km_ctx *ctx, km_reader *r, xs_impl *t)
{
    int got, first = 1;
    km_status st;
    for (;;) {
        xs_block b;
        int idx = 0;
        int64_t frame_line = 0, data_line, start_line;
        long long start_off;
        memset(&b, 0, sizeof b);
        st = get_line(ctx, r, t, &got);
        if (st != KM_OK || !got)
            return st;
        /* where this block's key lines start, to come back to them */
        start_off = t->line_off;
        start_line = t->lines.line_no - 1;
        while (got && !is_data_line(t)) {
            if (key_kind(key_of(&t->f[0])) == K_FRAME && frame_line == 0)
                frame_line = t->lines.line_no;
            st = key_line(ctx, t, &b);
            if (st == KM_OK)
                st = get_line(ctx, r, t, &got);
            if (st != KM_OK)
                return st;
        }
        if (!got)
            return KM_OK;
        data_line = t->lines.line_no;
        st = block_sensor(ctx, r, t, &b, &idx);
        if (st != KM_OK)
            return st;
        if (first || idx == t->want) {
            st = km_lines_seek(ctx, &t->lines, start_off, start_line);
            for (;;) {
                if (st == KM_OK)
                    st = get_line(ctx, r, t, &got);
                if (st != KM_OK)
                    return st;
                if (!got || t->lines.line_no >= data_line)
                    break;
                /* the first block: the lines before its Frame key are the
                   file's own; the rest belongs to its sensor */
                if (idx == t->want || frame_line == 0 || t->lines.line_no < frame_line)
                    st = add_key_line(ctx, r, t, key_of(&t->f[0]));
            }
            if (idx == t->want)
                return KM_OK;
            first = 0;
        }
        do
            st = get_line(ctx, r, t, &got);
        while (st == KM_OK && got && is_data_line(t));
        if (st != KM_OK || !got)
            return st;
        t->held = 1;
    }
}

/* ---------------------------------------------------------- wide layout */

/* Set of (row, col) names of one sensor group: open addressing. */
typedef struct xs_set {
    uint64_t *keys;           /* key + 1; 0 = empty */
    size_t mask;
} xs_set;

static int set_insert(xs_set *s, long long row, long long col)
{
    uint64_t k = ((uint64_t)row << 32 | (uint64_t)col) + 1;
    size_t h = (size_t)((k * 0x9E3779B97F4A7C15u) >> 20) & s->mask;
    while (s->keys[h] != 0) {
        if (s->keys[h] == k)
            return 0;
        h = (h + 1) & s->mask;
    }
    s->keys[h] = k;
    return 1;
}

/* The column row (in t->f): sensor groups, the chosen one's grid, mask and
   columns, its time and frame columns.  A sensor's sensel columns form one
   run; a run ends at another column or where a name repeats one already in
   it.  The chosen sensor's span (its own metadata columns) reaches from
   after the previous sensor's last sensel column to its own last one (to
   the end of the row for the last sensor).  *span_a, *span_b: that span. */
static km_status wide_columns(km_ctx *ctx, km_reader *r, xs_impl *t, size_t *span_a, size_t *span_b)
{
    const int64_t line = t->lines.line_no;
    const size_t n = t->nf;
    size_t g_start = 0, g_end = n, cap = 16;
    int g = -1, in_run = 0, base = 1;
    long long maxr = -1, maxc = -1, minr = -1, minc = -1;
    xs_set set = {NULL, 0};
    km_status st = KM_OK;

    t->taxel = km_reader_alloc(r, (n > 0 ? n : 1) * sizeof *t->taxel);
    if (t->taxel == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory for %zu columns", n);
    t->n_columns = n;
    while (cap < 2 * n)
        cap *= 2;
    set.keys = km_reader_alloc(r, cap * sizeof *set.keys);
    if (set.keys == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory for %zu column names", n);
    set.mask = cap - 1;
    for (size_t i = 0; i < n; i++) {
        long long rr, cc;
        t->taxel[i] = -1;
        if (!sensel_name(&t->f[i], &rr, &cc)) {
            in_run = 0;
            continue;
        }
        if (!in_run || !set_insert(&set, rr, cc)) {
            g++;
            in_run = 1;
            memset(set.keys, 0, cap * sizeof *set.keys);
            set_insert(&set, rr, cc);
        }
        t->taxel[i] = g; /* the group, for now */
    }
    km_reader_release(r, set.keys);
    t->n_groups = g + 1;
    if (t->want >= t->n_groups)
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: sensor %d requested, but the columns hold %d sensor%s",
                       (long long)line, (int)t->want, t->n_groups, t->n_groups == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        if (t->taxel[i] >= 0 && t->taxel[i] < t->want)
            g_start = i + 1;
        if (t->taxel[i] == t->want)
            g_end = i + 1;
    }
    if (t->want == t->n_groups - 1)
        g_end = n;
    for (size_t i = g_start; i < g_end; i++) {
        long long rr, cc;
        if (t->taxel[i] != t->want || !sensel_name(&t->f[i], &rr, &cc))
            continue;
        maxr = rr > maxr ? rr : maxr;
        maxc = cc > maxc ? cc : maxc;
        minr = minr < 0 || rr < minr ? rr : minr;
        minc = minc < 0 || cc < minc ? cc : minc;
    }
    if (minr == 0 || minc == 0)
        base = 0;
    st = km_reader_set_geometry(ctx, r, maxr - base + 1, maxc - base + 1);
    if (st != KM_OK) {
        char where[48];
        snprintf(where, sizeof where, "line %lld", (long long)line);
        km_error_prefix(ctx, where);
        return st;
    }
    t->rows = r->info.rows;
    t->cols = r->info.cols;
    /* sensels the export does not list (outside an insole's outline) */
    memset(r->mask, 0, (size_t)t->rows * (size_t)t->cols);
    for (size_t i = 0; i < n; i++) {
        long long rr, cc;
        if (t->taxel[i] != t->want || !sensel_name(&t->f[i], &rr, &cc)) {
            t->taxel[i] = -1;
            continue;
        }
        t->taxel[i] = (int32_t)((rr - base) * t->cols + (cc - base));
        r->mask[t->taxel[i]] = 1;
    }
    /* time and frame columns: the sensor's own first, else any */
    t->col_time = t->col_frame = XS_NONE;
    for (int pass = 0; pass < 2; pass++) {
        size_t a = pass == 0 ? g_start : 0, e = pass == 0 ? g_end : n;
        for (size_t i = a; i < e; i++) {
            long long rr, cc;
            int kind;
            if (sensel_name(&t->f[i], &rr, &cc))
                continue;
            kind = key_kind(key_of(&t->f[i]));
            if (kind == K_ELAPSED && (t->col_time == XS_NONE || !t->col_time_elapsed)) {
                t->col_time = i;
                t->col_time_elapsed = 1;
            } else if (kind == K_TIME && t->col_time == XS_NONE) {
                t->col_time = i;
            } else if (kind == K_FRAME && t->col_frame == XS_NONE) {
                t->col_frame = i;
            } else if (kind == K_OTHER && pass == 0) {
                units_hint(t, t->f[i].s);
            }
        }
    }
    *span_a = g_start;
    *span_b = g_end;
    return KM_OK;
}

/* One wide row (t->f): values of the chosen sensor into dst (NULL: check
   only), time and frame number. */
static km_status wide_row(km_ctx *ctx, xs_impl *t, float *dst, double *time)
{
    long long no = (long long)t->parsed + 1;
    double raw = 0;
    int has = 0, clock = 0;
    size_t n = t->nf;
    if (t->col_frame != XS_NONE && t->col_frame < n) {
        double d;
        if (field_number(t, &t->f[t->col_frame], &d) == 0 && d == floor(d) && fabs(d) < 1e15)
            no = (long long)d;
    }
    if (n != t->n_columns)
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame %lld: expected %zu columns, found %zu",
                       (long long)t->lines.line_no, no, t->n_columns, n);
    if (t->col_time != XS_NONE && t->f[t->col_time].len > 0) {
        if (field_time(t, &t->f[t->col_time], &raw, &clock) != 0)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame %lld: time '%.32s' is not HH:MM:SS.fff or seconds",
                           (long long)t->lines.line_no, no, t->f[t->col_time].s);
        has = 1;
    }
    if (dst != NULL) {
        for (size_t i = 0; i < n; i++) {
            double d;
            int rc;
            int32_t k = t->taxel[i];
            if (k < 0)
                continue;
            rc = field_number(t, &t->f[i], &d);
            if (rc == -3)
                return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame %lld: empty value in column %zu",
                               (long long)t->lines.line_no, no, i + 1);
            if (rc != 0)
                return km_value_error(ctx, t->lines.line_no, &no, t->f[i].s, t->f[i].len,
                                      (int64_t)i + 1, rc == -2);
            dst[k] = (float)(d * t->scale);
        }
    }
    {
        km_status st = frame_time(ctx, t, has, raw, clock && !t->col_time_elapsed, no, t->lines.line_no, time);
        if (st != KM_OK)
            return st;
    }
    t->f_last = no;
    t->parsed++;
    return KM_OK;
}

static km_status wide_frame(km_ctx *ctx, km_reader *r, xs_impl *t, float *dst, double *time, int *got)
{
    km_status st = get_line(ctx, r, t, got);
    if (st != KM_OK || !*got)
        return st;
    if (dst != NULL)
        memset(dst, 0, (size_t)t->rows * (size_t)t->cols * sizeof *dst);
    return wide_row(ctx, t, dst, time);
}

/* Survey of a wide file, positioned after the column row; the first data
   row's other columns of the chosen sensor go into the header. */
static km_status survey_wide(km_ctx *ctx, km_reader *r, xs_impl *t, size_t g_start, size_t g_end,
                             char **names, size_t n_names)
{
    km_status st;
    int got;
    double tm;
    t->dt = 1.0;
    for (;;) {
        st = get_line(ctx, r, t, &got);
        if (st != KM_OK)
            return st;
        if (!got)
            break;
        if (t->parsed == 0 && t->nf == t->n_columns) {
            for (size_t i = g_start; i < g_end && i < n_names; i++) {
                if (t->taxel[i] >= 0 || i == t->col_time || i == t->col_frame || names[i] == NULL)
                    continue;
                st = km_reader_add_header(ctx, r, names[i], t->f[i].s);
                if (st != KM_OK)
                    return st;
            }
        }
        st = wide_row(ctx, t, NULL, &tm);
        if (st != KM_OK)
            return st;
    }
    t->n_frames = t->parsed;
    t->span = t->t_last;
    return KM_OK;
}

/* ------------------------------------------------------------- the reader */

static km_status xs_read(km_ctx *ctx, km_reader *r, float *frames, double *times, int64_t max_frames,
                         int64_t *n_read)
{
    xs_impl *t = r->impl;
    size_t fs = (size_t)t->rows * (size_t)t->cols;
    int64_t n = 0;
    km_status st = KM_OK;
    while (n < max_frames && !t->finished) {
        double tm = 0;
        int got;
        if ((n & 63) == 63 && km_ctx_cancelled(ctx)) {
            st = km_fail(ctx, KM_ERR_CANCELLED, "cancelled");
            break;
        }
        st = t->layout == XS_WIDE ? wide_frame(ctx, r, t, frames + (size_t)n * fs, &tm, &got)
                                  : block_frame(ctx, r, t, frames + (size_t)n * fs, &tm, &got);
        if (st != KM_OK)
            break;
        if (!got) {
            t->finished = 1;
            break;
        }
        if (times != NULL)
            times[n] = tm;
        n++;
    }
    *n_read = st == KM_OK ? n : 0;
    return st;
}

static void xs_close(km_reader *r)
{
    xs_impl *t = r->impl;
    if (t == NULL)
        return;
    km_lines_close(&t->lines);
    for (size_t i = 0; i < t->n_names; i++)
        km_reader_release(r, t->names[i]);
    km_reader_release(r, t->f);
    km_reader_release(r, t->taxel);
    km_reader_release(r, t);
    r->impl = NULL;
}

static const km_reader_ops xs_ops = {xs_read, xs_close};

/* Back to the start of the file with the state of a fresh pass. */
static km_status rewind_to_start(km_ctx *ctx, xs_impl *t)
{
    t->held = 0;
    t->parsed = 0;
    t->t_last = 0;
    t->day_off = 0;
    /* sensor names stay: the next pass finds the same indices */
    for (size_t i = 0; i < XS_MAX_SENSORS; i++)
        t->blocks_of[i] = 0;
    t->cur_sensor = 0;
    t->last_rows = t->last_cols = 0;
    return km_lines_seek(ctx, &t->lines, 0, 0);
}

/* Wide layout: the key lines above the column row are the header; then the
   columns; then the survey of the frame rows. */
static km_status open_wide(km_ctx *ctx, km_reader *r, xs_impl *t, int64_t col_line)
{
    size_t n = 0, g_start = 0, g_end = 0;
    char **names = NULL;
    long long off;
    int64_t line;
    int got;
    xs_block pre;
    km_status st;

    memset(&pre, 0, sizeof pre);
    for (;;) {
        st = get_line(ctx, r, t, &got);
        if (st != KM_OK)
            return st;
        if (!got)
            return km_fail(ctx, KM_ERR_IO, "line %lld: the file changed while being read", (long long)t->lines.line_no);
        if (t->lines.line_no >= col_line)
            break;
        {
            char key[256];
            snprintf(key, sizeof key, "%s", key_of(&t->f[0]));
            st = key_line(ctx, t, &pre);
            if (st == KM_OK)
                st = add_key_line(ctx, r, t, key);
            if (st != KM_OK)
                return st;
        }
    }
    st = wide_columns(ctx, r, t, &g_start, &g_end);
    if (st != KM_OK)
        return st;
    t->frozen = 1;
    n = t->n_columns;
    /* the names of the sensor's other columns outlive the line buffer */
    names = km_reader_alloc(r, (n > 0 ? n : 1) * sizeof *names);
    if (names == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory for %zu column names", n);
    for (size_t i = 0; i < n; i++)
        names[i] = NULL;
    for (size_t i = g_start; i < g_end; i++) {
        if (t->taxel[i] >= 0 || t->f[i].len == 0)
            continue;
        names[i] = km_reader_alloc(r, t->f[i].len + 1);
        if (names[i] == NULL) {
            st = km_fail(ctx, KM_ERR_NOMEM, "out of memory for a column name");
            goto done;
        }
        memcpy(names[i], t->f[i].s, t->f[i].len + 1);
    }
    off = km_lines_tell(&t->lines);
    line = t->lines.line_no;
    st = survey_wide(ctx, r, t, g_start, g_end, names, n);
    if (st != KM_OK)
        goto done;
    t->held = 0;
    t->parsed = 0;
    t->t_last = 0;
    t->day_off = 0;
    st = km_lines_seek(ctx, &t->lines, off, line);
done:
    for (size_t i = 0; i < n; i++)
        km_reader_release(r, names[i]);
    km_reader_release(r, names);
    return st;
}

/* Block layout: survey, header, back to the start for the read pass. */
static km_status open_block(km_ctx *ctx, km_reader *r, xs_impl *t)
{
    km_status st = rewind_to_start(ctx, t);
    if (st == KM_OK)
        st = survey_block(ctx, r, t);
    if (st == KM_OK)
        st = rewind_to_start(ctx, t);
    if (st == KM_OK)
        st = block_header(ctx, r, t);
    if (st == KM_OK)
        st = rewind_to_start(ctx, t);
    return st;
}

km_status km_open_xsensor(km_ctx *ctx, km_reader *r, const km_read_options *opt)
{
    xs_impl *t;
    km_status st;
    int got = 0;
    char note[160];

    t = km_reader_alloc(r, sizeof *t);
    if (t == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory for the XSENSOR reader");
    memset(t, 0, sizeof *t);
    r->impl = t;
    r->ops = &xs_ops;
    t->want = opt->sensor;
    t->scale = 1.0;
    st = km_lines_open(ctx, &t->lines, r->path, &r->alloc);
    if (st != KM_OK)
        return st;

    /* The layout: the first line that is not a key line decides.  The
       separator is decided on the way (the first line showing one). */
    for (;;) {
        int is_cols = 0;
        long long rr, cc;
        st = get_line(ctx, r, t, &got);
        if (st != KM_OK)
            return st;
        if (!got)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: no frame data: neither S_<row>_<col> columns nor lines of "
                           "numbers (not an XSENSOR CSV export?)", (long long)t->lines.line_no);
        for (size_t i = 0; i < t->nf && !is_cols; i++)
            is_cols = sensel_name(&t->f[i], &rr, &cc);
        if (is_cols) {
            t->layout = XS_WIDE;
            break;
        }
        if (is_data_line(t)) {
            t->layout = XS_BLOCK;
            break;
        }
        if (t->lines.line_no > XS_MAX_PREAMBLE)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: no frame data in the first %d lines",
                           (long long)t->lines.line_no, XS_MAX_PREAMBLE);
    }
    if (t->layout == XS_WIDE) {
        int64_t col_line = t->lines.line_no;
        st = rewind_to_start(ctx, t);
        if (st == KM_OK)
            st = open_wide(ctx, r, t, col_line);
    } else {
        st = open_block(ctx, r, t);
    }
    if (st != KM_OK)
        return st;

    /* What the survey learnt. */
    r->info.n_frames = t->n_frames;
    /* Times that never advance give no rate: reading them as 1 Hz would put
       every frame at 0 s while the rate claims otherwise. */
    if (t->t_have && t->n_frames >= 2 && !(t->span > 0))
        return km_fail(ctx, KM_ERR_FORMAT,
                       "line %lld: frame %lld: all %lld frames have the same time, so the times give no frame rate",
                       (long long)t->t_line, t->t_frame, (long long)t->n_frames);
    if (t->t_have && t->n_frames >= 2 && t->span > 0)
        r->info.frame_rate_hz = (double)(t->n_frames - 1) / t->span;
    if (!t->t_have)
        t->dt = opt->frame_rate_hz > 0 ? 1.0 / opt->frame_rate_hz : 1.0;
    if (t->height_mm > 0)
        r->info.row_pitch_mm = t->height_mm;
    if (t->width_mm > 0)
        r->info.col_pitch_mm = t->width_mm;
    if (t->units[0] != '\0') {
        snprintf(r->info.units, sizeof r->info.units, "%s", map_units(t->units, &t->scale));
        if (!t->units_from_key) {
            st = km_reader_add_header(ctx, r, "Units", t->units);
            if (st != KM_OK)
                return st;
        }
    }
    snprintf(note, sizeof note, "layout=%s sensor=%d sensors=%d%s", t->layout == XS_WIDE ? "wide" : "block",
             (int)t->want, t->layout == XS_WIDE ? t->n_groups : (int)t->n_names,
             t->scale != 1.0 ? " converted=PSI->kPa" : "");
    st = km_reader_add_header(ctx, r, "knotmap_xsensor", note);
    if (st != KM_OK)
        return st;
    return km_reader_apply_options(ctx, r, opt);
}
