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
 * values are parsed when km_reader_read asks for them.
 *
 * The reader's files: this one opens, reads and closes, and keeps the
 * passes and the frame times; xsensor_text.c splits lines into fields and
 * reads numbers and times; xsensor_keys.c says what key lines and column
 * names mean; xsensor_block.c and xsensor_wide.c are the two layouts. */
#include <stdio.h>
#include <string.h>

#include "xsensor_internal.h"

/* --------------------------------------------------------------- times */

/* The chosen sensor's frame time from what its block/row said; checks the
   order.  raw/clock describe the file's value; has = 0 when it gave none. */
km_status km_xs_frame_time(km_ctx *ctx, xs_impl *t, int has, double raw, int clock, long long frame_no,
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
        st = t->layout == XS_WIDE ? km_xs_wide_frame(ctx, r, t, frames + (size_t)n * fs, &tm, &got)
                                  : km_xs_block_frame(ctx, r, t, frames + (size_t)n * fs, &tm, &got);
        if (st != KM_OK || !got) { /* a damaged frame or the end: a file cut under us says so */
            t->finished = st == KM_OK;
            st = km_lines_changed(ctx, &t->lines, st);
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
km_status km_xs_rewind(km_ctx *ctx, xs_impl *t)
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

/* The layout: the first line that is not a key line decides.  The
   separator is decided on the way (the first line showing one).  Leaves
   the deciding line read. */
static km_status find_layout(km_ctx *ctx, km_reader *r, xs_impl *t)
{
    km_status st;
    int got = 0;
    for (;;) {
        int is_cols = 0;
        long long rr, cc;
        st = km_xs_get_line(ctx, r, t, &got);
        if (st != KM_OK)
            return st;
        if (!got)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: no frame data: neither S_<row>_<col> columns nor lines of "
                           "numbers (not an XSENSOR CSV export?)", (long long)t->lines.line_no);
        for (size_t i = 0; i < t->nf && !is_cols; i++)
            is_cols = km_xs_sensel_name(&t->f[i], &rr, &cc);
        if (is_cols) {
            t->layout = XS_WIDE;
            return KM_OK;
        }
        if (km_xs_is_data_line(t)) {
            t->layout = XS_BLOCK;
            return KM_OK;
        }
        if (t->lines.line_no > XS_MAX_PREAMBLE)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: no frame data in the first %d lines",
                           (long long)t->lines.line_no, XS_MAX_PREAMBLE);
    }
}

/* What the survey learnt, into the session info and the header. */
static km_status take_survey(km_ctx *ctx, km_reader *r, xs_impl *t, const km_read_options *opt)
{
    km_status st;
    char note[160];

    r->info.n_frames = t->n_frames;
    /* Times that never advance give no rate: reading them as 1 Hz would put
       every frame at 0 s while the rate claims otherwise. */
    if (t->t_have && t->n_frames >= 2 && !(t->span > 0))
        return km_fail(ctx, KM_ERR_FORMAT,
                       "line %lld: frame %lld: all %lld frames have the same time, so the times give no frame rate",
                       (long long)t->t_line, t->t_frame, (long long)t->n_frames);
    if (t->t_have)
        r->info.frame_rate_hz = km_reader_times_rate(r, t->n_frames, 0, t->span, 1,
                                                     "line %lld: frame %lld: the times", (long long)t->t_line, t->t_frame);
    if (!t->t_have)
        t->dt = opt->frame_rate_hz > 0 ? 1.0 / opt->frame_rate_hz : 1.0;
    if (t->height_mm > 0)
        r->info.row_pitch_mm = t->height_mm;
    if (t->width_mm > 0)
        r->info.col_pitch_mm = t->width_mm;
    km_reader_pitch_from(r, 0, "%s", t->height_from);
    km_reader_pitch_from(r, 1, "%s", t->width_from);
    if (t->units[0] != '\0') {
        snprintf(r->info.units, sizeof r->info.units, "%s", km_xs_map_units(t->units, &t->scale));
        km_reader_units_from(r, t->units, &t->scale); /* PSI: what --units is compared with */
        if (!t->units_from_key) {
            st = km_reader_add_header(ctx, r, "Units", t->units);
            if (st != KM_OK)
                return st;
        }
    }
    snprintf(note, sizeof note, "layout=%s sensor=%d sensors=%d%s%s%s", t->layout == XS_WIDE ? "wide" : "block",
             (int)t->want, t->layout == XS_WIDE ? t->n_groups : (int)t->n_names,
             t->scale != 1.0 ? " converted=" : "", t->scale != 1.0 ? t->units : "",
             t->scale != 1.0 ? "->kPa" : "");
    return km_reader_add_header(ctx, r, "knotmap_xsensor", note);
}

/* An in-shoe export (docs/FORMAT.md 1.6, "An insole"): a key or column
   named Insole (XSENSOR's name for a foot product's sensor), or the word
   "insole" in a value of the header (a sensor's or the software's name). */
static int is_insole(const km_reader *r)
{
    for (size_t i = 0; i < r->n_header; i++) {
        if (eq_ci(r->header[i].key, "Insole"))
            return 1;
        for (const char *v = r->header[i].value; *v != '\0'; v++)
            if (prefix_ci(v, "insole"))
                return 1;
    }
    return 0;
}

km_status km_open_xsensor(km_ctx *ctx, km_reader *r, const km_read_options *opt)
{
    xs_impl *t;
    km_status st;

    t = km_reader_alloc(r, sizeof *t);
    if (t == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory for the XSENSOR reader");
    memset(t, 0, sizeof *t);
    r->impl = t;
    r->ops = &xs_ops;
    t->want = opt->sensor < 0 ? 0 : opt->sensor;
    t->scale = 1.0;
    st = km_reader_open_lines(ctx, r, &t->lines);
    if (st == KM_OK)
        st = find_layout(ctx, r, t);
    if (st != KM_OK)
        return st;
    if (t->layout == XS_WIDE) {
        int64_t col_line = t->lines.line_no;
        st = km_xs_rewind(ctx, t);
        if (st == KM_OK)
            st = km_xs_open_wide(ctx, r, t, col_line);
    } else {
        st = km_xs_open_block(ctx, r, t);
    }
    if (st == KM_OK)
        st = take_survey(ctx, r, t, opt);
    if (st == KM_OK && is_insole(r))
        km_reader_set_insole(r);
    if (st == KM_OK)
        st = km_reader_apply_options(ctx, r, opt);
    /* Which sensor of several, not given: the first, said. */
    if (st == KM_OK && opt->sensor < 0 && (t->layout == XS_WIDE ? t->n_groups : (int)t->n_names) > 1)
        km_reader_note_assumed(r, "sensor");
    if (st == KM_OK && r->insole)
        km_reader_note_assumed(r, "insole");
    return st;
}
