/* XSENSOR CSV reader: the wide layout.  One row of column names holding
 * S_<row>_<col>, then one line per frame; a second sensor repeats its own
 * S_ columns further right, with its own metadata columns (time, frame
 * number, ...) beside them.  Sensels the export does not list (outside an
 * insole's outline) are masked out. */
#include <math.h>
#include <stdio.h>

#include "xsensor_internal.h"

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

/* Sensor groups of the column row (in t->f): each sensel column's group
   into t->taxel (-1 for the other columns), their number into t->n_groups.
   A sensor's sensel columns form one run; a run ends at another column or
   where a name repeats one already in it. */
static km_status group_columns(km_ctx *ctx, km_reader *r, xs_impl *t)
{
    const size_t n = t->nf;
    size_t cap = 16;
    int g = -1, in_run = 0;
    xs_set set = {NULL, 0};

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
        if (!km_xs_sensel_name(&t->f[i], &rr, &cc)) {
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
    return KM_OK;
}

/* The chosen sensor's grid from its S_ names (numbered from 0 or from 1)
   and its mask; t->taxel becomes each of its columns' taxel index, -1 for
   every other column.  line: the column row's, for errors. */
static km_status chosen_grid(km_ctx *ctx, km_reader *r, xs_impl *t, size_t g_start, size_t g_end, int64_t line)
{
    long long maxr = -1, maxc = -1, minr = -1, minc = -1;
    int base = 1;
    km_status st;

    for (size_t i = g_start; i < g_end; i++) {
        long long rr, cc;
        if (t->taxel[i] != t->want || !km_xs_sensel_name(&t->f[i], &rr, &cc))
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
    for (size_t i = 0; i < t->n_columns; i++) {
        long long rr, cc;
        if (t->taxel[i] != t->want || !km_xs_sensel_name(&t->f[i], &rr, &cc)) {
            t->taxel[i] = -1;
            continue;
        }
        t->taxel[i] = (int32_t)((rr - base) * t->cols + (cc - base));
        r->mask[t->taxel[i]] = 1;
    }
    return KM_OK;
}

/* Time and frame columns: the sensor's own (in its span) first, else any;
   a units hint from the names of the sensor's other columns. */
static void meta_columns(xs_impl *t, size_t g_start, size_t g_end)
{
    t->col_time = t->col_frame = XS_NONE;
    t->col_time_unit = 1.0;
    for (int pass = 0; pass < 2; pass++) {
        size_t a = pass == 0 ? g_start : 0, e = pass == 0 ? g_end : t->n_columns;
        for (size_t i = a; i < e; i++) {
            long long rr, cc;
            int kind;
            if (km_xs_sensel_name(&t->f[i], &rr, &cc))
                continue;
            kind = km_xs_key_kind(km_xs_key_of(&t->f[i]));
            if (kind == K_ELAPSED && (t->col_time == XS_NONE || !t->col_time_elapsed)) {
                t->col_time = i;
                t->col_time_elapsed = 1;
                t->col_time_unit = km_xs_time_unit(t->f[i].s);
                snprintf(t->col_time_name, sizeof t->col_time_name, "%s", t->f[i].s);
            } else if (kind == K_TIME && t->col_time == XS_NONE) {
                t->col_time = i;
                t->col_time_unit = km_xs_time_unit(t->f[i].s);
                snprintf(t->col_time_name, sizeof t->col_time_name, "%s", t->f[i].s);
            } else if (kind == K_FRAME && t->col_frame == XS_NONE) {
                t->col_frame = i;
            } else if (kind == K_OTHER && pass == 0) {
                km_xs_units_hint(t, t->f[i].s);
            }
        }
    }
}

/* The column row (in t->f): sensor groups, the chosen one's grid, mask and
   columns, its time and frame columns.  The chosen sensor's span (its own
   metadata columns) reaches from after the previous sensor's last sensel
   column to its own last one (to the end of the row for the last sensor).
   *span_a, *span_b: that span. */
static km_status wide_columns(km_ctx *ctx, km_reader *r, xs_impl *t, size_t *span_a, size_t *span_b)
{
    const int64_t line = t->lines.line_no;
    const size_t n = t->nf;
    size_t g_start = 0, g_end = n;
    km_status st = group_columns(ctx, r, t);

    if (st != KM_OK)
        return st;
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
    st = chosen_grid(ctx, r, t, g_start, g_end, line);
    if (st != KM_OK)
        return st;
    meta_columns(t, g_start, g_end);
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
        if (km_xs_field_time(t, &t->f[t->col_time], &raw, &clock) != 0)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame %lld: time '%.32s' is not HH:MM:SS.fff or seconds",
                           (long long)t->lines.line_no, no, t->f[t->col_time].s);
        if (!clock && t->col_time_unit == 0)
            return km_xs_time_unit_error(ctx, t, t->col_time_name, t->f[t->col_time].s);
        if (!clock)
            raw *= t->col_time_unit;
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
        km_status st = km_xs_frame_time(ctx, t, has, raw, clock && !t->col_time_elapsed, no, t->lines.line_no, time);
        if (st != KM_OK)
            return st;
    }
    t->f_last = no;
    t->parsed++;
    return KM_OK;
}

km_status km_xs_wide_frame(km_ctx *ctx, km_reader *r, xs_impl *t, float *dst, double *time, int *got)
{
    km_status st = km_xs_get_line(ctx, r, t, got);
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
        st = km_xs_get_line(ctx, r, t, &got);
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

/* Wide layout: the key lines above the column row are the header; then the
   columns; then the survey of the frame rows. */
km_status km_xs_open_wide(km_ctx *ctx, km_reader *r, xs_impl *t, int64_t col_line)
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
        st = km_xs_get_line(ctx, r, t, &got);
        if (st != KM_OK)
            return st;
        if (!got)
            return km_fail(ctx, KM_ERR_IO, "line %lld: the file changed while being read", (long long)t->lines.line_no);
        if (t->lines.line_no >= col_line)
            break;
        {
            char key[256];
            snprintf(key, sizeof key, "%s", km_xs_key_of(&t->f[0]));
            st = km_xs_key_line(ctx, t, &pre);
            if (st == KM_OK)
                st = km_xs_add_key_line(ctx, r, t, key);
            if (st != KM_OK)
                return st;
        }
    }
    st = wide_columns(ctx, r, t, &g_start, &g_end);
    if (st != KM_OK)
        return st;
    t->frozen = 1;
    n = t->n_columns;
    /* A data line holds a value per column (blanks in a date or a name may
       split a few): memory follows the columns, not a hostile line's length. */
    t->lines.max_fields = 4 * (long long)n + 8;
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
