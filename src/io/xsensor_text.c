/* XSENSOR CSV reader: the text of a line.  A line is split into fields at
 * the file's separator (';', TAB or ',': the first one a line shows, in
 * that order of preference), quotes honoured; a field is read as a number
 * (field_number, in xsensor_internal.h; ',' is a decimal mark in a ';'/TAB
 * file and inside a quoted field) or as a time of day or a count of
 * seconds. */
#include <math.h>

#include "xsensor_internal.h"

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

/* p past a date before the time of day in the same field ("2024-03-05
   12:00:00.000", "3/5/2024 11:59:59 PM", ISO's "2024-03-05T12:00:00"):
   digits with two '-', '/' or '.' between them, then a blank or T.  The
   date is not read: the time of day is, and a day's rollover is the
   clock's (km_xs_frame_time), as when the date is a key of its own. */
static const char *past_date(const char *p, const char *colon)
{
    const char *d = p;
    int seps = 0;
    for (; d < colon && ((unsigned)(*d - '0') < 10u || *d == '-' || *d == '/' || *d == '.'); d++)
        seps += !((unsigned)(*d - '0') < 10u);
    if (seps != 2 || d == colon || !(blank(*d) || *d == 'T') || !((unsigned)(d[-1] - '0') < 10u))
        return p;
    for (d++; d < colon && blank(*d); d++)
        ;
    return d;
}

/* Seconds from "HH:MM:SS[.fff]" (optional AM/PM) or "MM:SS[.fff]", after
   a date or not, or a plain number of seconds.  *clock = 1 for the colon
   forms. */
int km_xs_field_time(const xs_impl *t, const xs_field *fd, double *sec, int *clock)
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
    p = past_date(p, colon);
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
km_status km_xs_get_line(km_ctx *ctx, km_reader *r, xs_impl *t, int *got)
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

int km_xs_is_data_line(const xs_impl *t)
{
    double v;
    return t->nf > 0 && field_number(t, &t->f[0], &v) == 0;
}
