/* knotmap's own comment convention (docs/FORMAT.md 1.5 and 1.3): a
 * comment whose first word is `knotmap`, then blank-separated key=value
 * words (grid, pitch, units, mode, roller_radius_mm, rate; keys in any
 * case, blanks around '=' allowed, a unit of two words: `units = N/sq cm`).  The audio
 * reader takes every key from its SF_STR_COMMENT; the Tekscan reader takes
 * mode and roller radius from its COMMENTS line, which `knotmap synth`
 * writes as "knotmap export mode=roller roller_radius_mm=50".  One parser,
 * so a key knotmap writes is read back the same way by every reader. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "reader_internal.h"

static int parse_double(const char *s, double *out)
{
    char *end;
    double v;
    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

/* "AxB" (x or X) into two doubles; a single number gives a == b. */
static int parse_pair(const char *s, double *a, double *b)
{
    char buf[64];
    char *x;
    if (strlen(s) >= sizeof buf)
        return 0;
    memcpy(buf, s, strlen(s) + 1);
    x = strpbrk(buf, "xX");
    if (x == NULL)
        return parse_double(buf, a) && (*b = *a, 1);
    *x = '\0';
    return parse_double(buf, a) && parse_double(x + 1, b);
}

static km_status comment_value(km_ctx *ctx, const char *key, const char *val, km_comment_meta *m)
{
    double a, b;

    if (strcmp(key, "grid") == 0) {
        if (strpbrk(val, "xX") == NULL || !parse_pair(val, &a, &b) || a < 1 || b < 1 || a != floor(a) ||
            b != floor(b))
            return km_fail(ctx, KM_ERR_FORMAT, "comment: grid=%s is not ROWSxCOLS", val);
        if (a > KM_MAX_DIM || b > KM_MAX_DIM)
            return km_fail(ctx, KM_ERR_LIMIT, "comment: grid=%s exceeds the limit of %d per side", val, KM_MAX_DIM);
        m->rows = (int64_t)a;
        m->cols = (int64_t)b;
    } else if (strcmp(key, "pitch") == 0) {
        if (!parse_pair(val, &a, &b) || !(a > 0) || !(b > 0))
            return km_fail(ctx, KM_ERR_FORMAT,
                           "comment: pitch=%s is not a positive MM or ROWxCOL pitch in mm", val);
        m->row_pitch = a;
        m->col_pitch = b;
    } else if (strcmp(key, "units") == 0) {
        char list[96];
        double scale;
        km_units_list(list, sizeof list);
        if (km_units_from_file(val, &scale) == NULL || strlen(val) >= sizeof m->units)
            return km_fail(ctx, KM_ERR_FORMAT, "comment: units=%s is not a unit knotmap reads (%s)", val, list);
        memcpy(m->units, val, strlen(val) + 1); /* as written: psi, Pa, MPa read converted (km_reader_units_from) */
    } else if (strcmp(key, "mode") == 0) {
        if (strcasecmp(val, "mat") == 0)
            m->mode = KM_MODE_MAT;
        else if (strcasecmp(val, "roller") == 0)
            m->mode = KM_MODE_ROLLER;
        else
            return km_fail(ctx, KM_ERR_FORMAT, "comment: mode=%s is not mat or roller", val);
    } else if (strcmp(key, "roller_radius_mm") == 0 || strcmp(key, "roller_radius") == 0) {
        if (!parse_double(val, &a) || !(a > 0))
            return km_fail(ctx, KM_ERR_FORMAT, "comment: %s=%s is not a positive number", key,
                           val);
        m->radius = a;
    } else if (strcmp(key, "rate") == 0 || strcmp(key, "frame_rate_hz") == 0) {
        if (!parse_double(val, &a) || !(a > 0))
            return km_fail(ctx, KM_ERR_FORMAT, "comment: %s=%s is not a positive number", key,
                           val);
        m->rate = a;
    }
    return KM_OK; /* unknown keys are kept in the header only */
}

void km_comment_meta_init(km_comment_meta *m)
{
    memset(m, 0, sizeof *m);
    m->mode = -1;
}

/* The comment's words, split at blanks, ',' and ';' in place: how many
   (at most cap). */
static size_t split_words(char *p, char **words, size_t cap)
{
    size_t n = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == ',' || *p == ';')
            p++;
        if (*p == '\0' || n == cap)
            return n;
        words[n++] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && *p != ';' && *p != ',')
            p++;
        if (*p != '\0')
            *p++ = '\0';
    }
}

/* One key=value from words[*i]: `units=kPa`, `units = kPa`, `units= kPa`,
   `Units =kPa` (the key lower-cased, in place); a unit of two words
   (`units=N/sq cm`) joined into two[].  NULL when the word is none. */
static const char *key_value(char **words, size_t n, size_t *i, char two[64])
{
    char *key = words[*i], *eq = strchr(key, '='), *val;
    double scale;
    if (eq == key) /* "=" or "=kPa" after a key: taken with it */
        return NULL;
    if (eq == NULL && (*i + 1 >= n || words[*i + 1][0] != '='))
        return NULL; /* a word without '=' */
    if (eq == NULL)
        eq = words[++*i];
    *eq = '\0';
    val = eq + 1;
    if (*val == '\0' && *i + 1 < n && strchr(words[*i + 1], '=') == NULL)
        val = words[++*i];
    for (char *c = key; *c != '\0'; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
    if (strcmp(key, "units") == 0 && km_units_from_file(val, &scale) == NULL && *i + 1 < n &&
        strchr(words[*i + 1], '=') == NULL) {
        snprintf(two, 64, "%s %s", val, words[*i + 1]);
        if (km_units_from_file(two, &scale) != NULL) {
            ++*i;
            return two;
        }
    }
    return val;
}

km_status km_comment_parse(km_ctx *ctx, km_reader *r, const char *comment, int add_header, km_comment_meta *m)
{
    km_status st = KM_OK;
    size_t len = strlen(comment), n;
    char *buf = km_reader_alloc(r, len + 1);
    char **words = km_reader_alloc(r, (len / 2 + 1) * sizeof *words), two[64];

    if (buf == NULL || words == NULL) {
        km_reader_release(r, buf);
        km_reader_release(r, words);
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory");
    }
    memcpy(buf, comment, len + 1);
    n = split_words(buf, words, len / 2 + 1);
    for (size_t i = 1; i < n && strcasecmp(words[0], "knotmap") == 0 && st == KM_OK; i++) {
        const char *key = words[i], *val = key_value(words, n, &i, two);
        if (val != NULL && ((add_header && (st = km_reader_add_header(ctx, r, key, val)) != KM_OK) ||
                            (st = comment_value(ctx, key, val, m)) != KM_OK))
            break;
    }
    km_reader_release(r, words);
    km_reader_release(r, buf);
    return st;
}
