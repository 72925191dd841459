/* XSENSOR CSV reader: the block layout.  Per frame a run of key lines
 * ("Frame:", "Sensor:", "Rows:", "Columns:", "Time:", ...) then Rows lines
 * of Columns values; two sensors alternate their blocks.  A block without
 * Rows/Columns keeps the previous block's, one without a Sensor key belongs
 * to the sensor of the block before it. */
#include <stdio.h>

#include "xsensor_internal.h"

/* Key lines up to the first data line of the next block (left in t->f);
   *got = 0 at the end of the file. */
static km_status next_block(km_ctx *ctx, km_reader *r, xs_impl *t, xs_block *b, int *got)
{
    km_status st;
    memset(b, 0, sizeof *b);
    for (;;) {
        st = km_xs_get_line(ctx, r, t, got);
        if (st != KM_OK)
            return st;
        if (!*got) {
            if (b->has_frame)
                return km_fail(ctx, KM_ERR_FORMAT,
                               "line %lld: file ends after the key lines of a block, before its data (truncated)",
                               (long long)t->lines.line_no);
            return KM_OK;
        }
        if (km_xs_is_data_line(t))
            return KM_OK;
        st = km_xs_key_line(ctx, t, b);
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
        st = km_xs_get_line(ctx, r, t, &got);
        if (st != KM_OK)
            return st;
        if (!got || !km_xs_is_data_line(t))
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
km_status km_xs_block_frame(km_ctx *ctx, km_reader *r, xs_impl *t, float *dst, double *time, int *got)
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
        /* A row holds `cols` values: memory follows them, not a hostile line's
           length (km_lines.max_fields; 64 MiB of buffer before). */
        t->lines.max_fields = cols + 2;
        t->blocks_of[idx]++;
        no = b.has_frame ? b.frame_no : (long long)t->blocks_of[idx];
        if (rows == 0 || cols == 0)
            return km_fail(ctx, KM_ERR_FORMAT,
                           "line %lld: frame %lld: %s missing before the data (an XSENSOR "
                           "block gives its grid in \"Rows:\" and \"Columns:\" key lines)",
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
            st = km_xs_frame_time(ctx, t, 1, b.elapsed, 0, no, b.time_line, time);
        else
            st = km_xs_frame_time(ctx, t, b.has_clock != 0, b.clock, b.has_clock == 2, no,
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
        st = km_xs_block_frame(ctx, r, t, NULL, &tm, &got);
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
        st = km_xs_get_line(ctx, r, t, &got);
        if (st != KM_OK || !got)
            return st;
        /* where this block's key lines start, to come back to them */
        start_off = t->line_off;
        start_line = t->lines.line_no - 1;
        while (got && !km_xs_is_data_line(t)) {
            if (km_xs_key_kind(km_xs_key_of(&t->f[0])) == K_FRAME && frame_line == 0)
                frame_line = t->lines.line_no;
            st = km_xs_key_line(ctx, t, &b);
            if (st == KM_OK)
                st = km_xs_get_line(ctx, r, t, &got);
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
                    st = km_xs_get_line(ctx, r, t, &got);
                if (st != KM_OK)
                    return st;
                if (!got || t->lines.line_no >= data_line)
                    break;
                /* the first block: the lines before its Frame key are the
                   file's own; the rest belongs to its sensor */
                if (idx == t->want || frame_line == 0 || t->lines.line_no < frame_line)
                    st = km_xs_add_key_line(ctx, r, t, km_xs_key_of(&t->f[0]));
            }
            if (idx == t->want)
                return KM_OK;
            first = 0;
        }
        do
            st = km_xs_get_line(ctx, r, t, &got);
        while (st == KM_OK && got && km_xs_is_data_line(t));
        if (st != KM_OK || !got)
            return st;
        t->held = 1;
    }
}

/* Block layout: survey, header, back to the start for the read pass. */
km_status km_xs_open_block(km_ctx *ctx, km_reader *r, xs_impl *t)
{
    km_status st = km_xs_rewind(ctx, t);
    if (st == KM_OK)
        st = survey_block(ctx, r, t);
    if (st == KM_OK)
        st = km_xs_rewind(ctx, t);
    if (st == KM_OK)
        st = block_header(ctx, r, t);
    if (st == KM_OK)
        st = km_xs_rewind(ctx, t);
    return st;
}
