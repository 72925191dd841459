/* XSENSOR CSV reader: what the key lines and column names say.  A key
 * line is "Key: value" ("Frame:", "Sensor:", "Rows:", "Columns:", "Time:",
 * "Sensel Width (cm)", "Units:", ...); a column name S_<row>_<col> is a
 * sensel.  The file-wide facts (sensel pitch, pressure units) are kept in
 * the reader state, the per-block ones in an xs_block. */
#include <math.h>
#include <stdio.h>

#include "xsensor_internal.h"

/* Key as written, without blanks and a trailing ':' (in place). */
char *km_xs_key_of(xs_field *fd)
{
    char *k = fd->s;
    size_t n = fd->len;
    while (n > 0 && (blank(k[n - 1]) || k[n - 1] == ':'))
        n--;
    k[n] = '\0';
    fd->len = n;
    return k;
}

int km_xs_key_kind(const char *k)
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

/* Seconds per unit of a time key's or column's numbers, from the unit in
   its parentheses: "Elapsed Time (ms)" 0.001 (read as seconds until session
   45: 10 ms frames were 10 s apart); (s), (sec), (seconds), none: 1; a word
   that is no time unit ("Time (local)", "(UTC)"): 0, the caller's error
   when the values are numbers (read as seconds until session 47).  A time
   of day (HH:MM:SS) is in seconds whatever the name says. */
double km_xs_time_unit(const char *k)
{
    const char *p = strrchr(k, '(');
    if (p == NULL)
        return 1.0;
    p++;
    while (*p == ' ')
        p++;
    if (prefix_ci(p, "s)") || prefix_ci(p, "sec)") || prefix_ci(p, "secs)") || prefix_ci(p, "second"))
        return 1.0;
    if (prefix_ci(p, "ms)") || prefix_ci(p, "msec") || prefix_ci(p, "millisec"))
        return 1e-3;
    /* the micro sign in UTF-8, in Latin-1 / Windows-1252 (an ANSI export), or a Greek mu */
    if (prefix_ci(p, "us)") || prefix_ci(p, "\xc2\xb5s)") || prefix_ci(p, "\xb5s)") || prefix_ci(p, "\xce\xbcs)") ||
        prefix_ci(p, "microsec"))
        return 1e-6;
    if (prefix_ci(p, "min)") || prefix_ci(p, "minute"))
        return 60.0;
    if (prefix_ci(p, "h)") || prefix_ci(p, "hr)") || prefix_ci(p, "hour"))
        return 3600.0;
    return 0.0;
}

/* A time in numbers under a name whose parentheses say no time unit
   (km_xs_time_unit 0): KM_ERR_FORMAT naming the line, the name, the value
   and what to write instead. */
km_status km_xs_time_unit_error(km_ctx *ctx, const xs_impl *t, const char *name, const char *value)
{
    char n[KM_TOKEN_TEXT], v[KM_TOKEN_TEXT];
    km_token_text(n, name, strlen(name));
    km_token_text(v, value, strlen(value));
    return km_fail(ctx, KM_ERR_FORMAT,
                   "line %lld: %s '%s': a number in a time unit knotmap does not know (in the name's "
                   "parentheses); it reads numbers under a name that says s, ms, us, min or h (Time (ms)), "
                   "or times of day HH:MM:SS: rename it to say the unit",
                   (long long)t->lines.line_no, n, v);
}

/* XSENSOR's unit words to knotmap's (km_units_from_file: PSI, Pa, MPa are
   converted to kPa); any other word gives "" -- units unknown, so assumed
   raw and warned (the original stays in the header as Units). */
const char *km_xs_map_units(const char *u, double *scale)
{
    const char *name = km_units_from_file(u, scale);
    return name != NULL ? name : "";
}

/* "Peak Pressure (PSI)" -> "PSI": a unit hint from a key or column name. */
void km_xs_units_hint(xs_impl *t, const char *name)
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

/* "S_<row>_<col>" -> 1 with the indices. */
int km_xs_sensel_name(const xs_field *fd, long long *row, long long *col)
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
km_status km_xs_add_key_line(km_ctx *ctx, km_reader *r, xs_impl *t, const char *key)
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

/* A sensel size in mm from "Sensel Width (cm)" = "1,27" (unit from the
   key's parentheses or the value's word; cm when neither says). */
static km_status sensel_size(km_ctx *ctx, const xs_impl *t, const char *key, const xs_field *val, double *mm,
                             char *from)
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
    snprintf(from, 80, "line %lld: %s %.40s", (long long)t->lines.line_no, key, val->s);
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
km_status km_xs_key_line(km_ctx *ctx, xs_impl *t, xs_block *b)
{
    char *key = km_xs_key_of(&t->f[0]);
    xs_field empty = {"", 0, 0};
    const xs_field *val = t->nf > 1 ? &t->f[1] : &empty;
    int kind = km_xs_key_kind(key), clock;
    long long v = 0;
    double d;
    km_status st = KM_OK;

    b->n_keys++;
    if (t->frozen && (kind == K_WIDTH || kind == K_HEIGHT || kind == K_UNITS || kind == K_OTHER))
        return KM_OK;
    switch (kind) {
    case K_FRAME:
        if (field_number(t, val, &d) != 0 || d != floor(d))
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame number '%s' is not an integer",
                           (long long)t->lines.line_no, val->s);
        if (fabs(d) > 1e15)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame number '%s' is too large",
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
        if (km_xs_field_time(t, val, &d, &clock) != 0)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: %s '%s' is not a time (HH:MM:SS.fff or seconds)",
                           (long long)t->lines.line_no, key, val->s);
        if (!clock && km_xs_time_unit(key) == 0)
            return km_xs_time_unit_error(ctx, t, key, val->s);
        if (!clock)
            d *= km_xs_time_unit(key);
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
        st = sensel_size(ctx, t, key, val, &t->width_mm, t->width_from);
        break;
    case K_HEIGHT:
        st = sensel_size(ctx, t, key, val, &t->height_mm, t->height_from);
        break;
    case K_UNITS:
        snprintf(t->units, sizeof t->units, "%s", val->s);
        t->units_from_key = 1;
        break;
    default:
        km_xs_units_hint(t, key);
        break;
    }
    return st;
}
