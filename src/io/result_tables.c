/* The result's tables and maps (docs/FORMAT.md 2.1): /metrics and
 * /peaks (the writer's own), the tables stages declare (km_result_table:
 * written generically, once or growing), /frames maps and /bodymap. */
#include <stdio.h>
#include <string.h>

#include <hdf5.h>
#include <hdf5_hl.h>

#include "io/result_writer_internal.h"

/* The first column of each table is its dimension (a netCDF coordinate
 * variable); the others are attached to it (docs/FORMAT.md 2.1). */
static const col_def METRIC_COLS[] = {
    {"time", KM_COL_F64, "s", "time of the frame from the session start", 0},
    {"peak", KM_COL_F64, "@", "maximum over the valid taxels (NaN if none)", 0},
    {"mean", KM_COL_F64, "@", "mean over the valid finite taxels (NaN if none)", 0},
    {"contact_area_mm2", KM_COL_F64, "mm2", "area of the taxels above the contact threshold", 0},
    {"force_n", KM_COL_F64, "N", "force over the contact taxels (NaN for raw units)", 0},
    {"cop_grid_x_mm", KM_COL_F64, "mm",
     "centre of pressure on the sensor grid, x = col * col_pitch_mm (NaN without contact)", 0},
    {"cop_grid_y_mm", KM_COL_F64, "mm",
     "centre of pressure on the sensor grid, y = row * row_pitch_mm (NaN without contact)", 0},
    {"flags", KM_COL_U32, "", "bits: 1 CORRUPT, 2 SATURATED, 4 EMPTY", 0},
};
_Static_assert(sizeof METRIC_COLS / sizeof METRIC_COLS[0] == KM_RW_METRIC_COLS, "metric columns");

static const col_def PEAK_COLS[] = {
    {"peak", KM_COL_I64, "", "peak index, the row of this table", 0},
    {"frame", KM_COL_I64, "", "frame index from 0", 0},
    {"time", KM_COL_F64, "s", "time of the frame from the session start", 0},
    {"row", KM_COL_F64, "1", "grid row of the peak, sub-pixel (taxel index)", 0},
    {"col", KM_COL_F64, "1", "grid column of the peak, sub-pixel (taxel index)", 0},
    {"grid_y_mm", KM_COL_F64, "mm", "y on the sensor grid, row * row_pitch_mm", 0},
    {"grid_x_mm", KM_COL_F64, "mm", "x on the sensor grid, col * col_pitch_mm", 0},
    {"value", KM_COL_F32, "@", "value at the peak taxel", 0},
    {"prominence", KM_COL_F32, "@", "topological prominence (NaN when not computed)", 0},
    {"area_taxels", KM_COL_I32, "1", "taxels of its basin above value - prominence/2 (-1 when not computed)", 0},
    {"flags", KM_COL_U32, "", "bits: 1 AT_BORDER, 2 PLATEAU, 4 FIT_FALLBACK, 8 SATURATED", 0},
    {"track", KM_COL_I32, "", "id of its track (/tracks/track)", 0},
};
_Static_assert(sizeof PEAK_COLS / sizeof PEAK_COLS[0] == KM_RW_PEAK_COLS, "peak columns");

/* ---- declared tables ---------------------------------------------------- */

static size_t kind_size(int kind)
{
    return kind == KM_COL_F64 || kind == KM_COL_I64 ? 8 : 4;
}

/* The column's values of rows [0, n) into buf (its memory type); first =
 * the index of row 0 in the table, for KM_COL_ROW. */
static void gather(const km_result_table *t, const km_result_col *c, const void *rows, size_t n,
                   int64_t first, void *buf)
{
    size_t sz = kind_size(c->kind);
    const char *r = rows;
    for (size_t i = 0; i < n; i++) {
        if (c->offset == KM_COL_ROW && c->kind == KM_COL_I64)
            ((int64_t *)buf)[i] = first + (int64_t)i;
        else if (c->offset == KM_COL_ROW)
            ((int32_t *)buf)[i] = (int32_t)(first + (int64_t)i);
        else
            memcpy((char *)buf + i * sz, r + i * t->row_size + c->offset, sz);
    }
}

/* Columns stored otherwise than shuffled + deflated (docs/FORMAT.md 2.1).
 * Unfiltered: float64 positions, whose low mantissa bits are noise;
 * shuffle + deflate saved 15-25% of their bytes for about half of the time
 * spent writing a result (60 s roller session, bench/HISTORY.md "Session 14:
 * speed").  Deflated unshuffled: a peak's time (repeated for every peak of
 * a frame) and the contact area (a count of taxel areas) repeat whole
 * 8-byte values, which the shuffle splits: smaller and cheaper to deflate
 * on 6-7 of 7 sessions of both models and the example (bench/HISTORY.md
 * "Session 34, speed8"). */
typedef struct col_filters {
    const char *name;
    int filters; /* KM_RW_* */
} col_filters;

static const col_filters METRIC_FILTERS[] = {{"cop_grid_x_mm", KM_RW_UNFILTERED},
                                             {"cop_grid_y_mm", KM_RW_UNFILTERED},
                                             {"contact_area_mm2", KM_RW_DEFLATE},
                                             {NULL, 0}};
static const col_filters PEAK_FILTERS[] = {
    {"row", KM_RW_UNFILTERED}, {"col", KM_RW_UNFILTERED},   {"grid_y_mm", KM_RW_UNFILTERED},
    {"grid_x_mm", KM_RW_UNFILTERED}, {"time", KM_RW_DEFLATE}, {NULL, 0}};

/* The filters of column `name`: as listed (list may be NULL), else
 * shuffle + deflate. */
static int filters_of(const char *name, const col_filters *list)
{
    for (; list != NULL && list->name != NULL; list++)
        if (strcmp(name, list->name) == 0)
            return list->filters;
    return KM_RW_SHUFFLE_DEFLATE;
}

/* The extendible columns of a table, the first one its dimension, with
 * the filters `list` gives them (filters_of). */
static int make_columns_(km_result_writer *w, hid_t g, const km_result_col *cols, size_t n,
                        const col_filters *list, km_rw_col *out)
{
    for (size_t i = 0; i < n; i++) {
        if (!km_rw_make_column(w, g, &cols[i], filters_of(cols[i].name, list), &out[i]) ||
            (i == 0 && !km_rw_set_scale(w, out[0].ds, cols[0].name)))
            return 0;
    }
    return km_rw_attach_columns(&w->alloc, out, n);
}

static int make_columns(km_result_writer *w, hid_t g, const km_result_col *cols, size_t n,
                        const col_filters *list, km_rw_col *out)
{
    km_h5_run_begin();
    int ok = make_columns_(w, g, cols, n, list, out);
    km_h5_run_end();
    return ok;
}

static void no_columns(km_rw_col *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        c[i].ds = -1;
        c[i].mtype = -1;
        c[i].z = NULL;
    }
}

/* 1 when appending n rows to any of the n_cols columns calls HDF5. */
static int any_calls_h5(const km_rw_col *ds, size_t n_cols, size_t n)
{
    for (size_t c = 0; c < n_cols; c++)
        if (km_rw_col_calls_h5(&ds[c], n))
            return 1;
    return 0;
}

/* Append n rows to the table's columns now holding `old` rows. */
static km_status append_table(km_ctx *ctx, km_result_writer *w, const km_result_table *t,
                              km_rw_col *ds, int64_t old, const void *rows, size_t n)
{
    if (n == 0)
        return KM_OK;
    void *buf = km_rw_scratch(ctx, w, n * sizeof(double));
    if (buf == NULL)
        return KM_ERR_NOMEM;
    for (size_t c = 0; c < t->n_cols; c++) {
        gather(t, &t->cols[c], rows, n, old, buf);
        if (!km_rw_append_1d(&ds[c], old, buf, n))
            return km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot write /%s", w->path, t->name);
    }
    return KM_OK;
}

static int bad_table(const km_result_table *t)
{
    return t == NULL || t->name == NULL || t->n_cols == 0 || t->n_cols > KM_RW_MAX_COLS ||
           t->cols == NULL;
}

km_status km_result_writer_prepare_table(km_ctx *ctx, km_result_writer *w,
                                         const km_result_table *t)
{
    if (w == NULL || w->file < 0 || bad_table(t) || w->pre.t != NULL)
        return km_fail(ctx, KM_ERR_INVALID, "result writer: bad table");
    km_rw_table *p = &w->pre;
    no_columns(p->ds, KM_RW_MAX_COLS);
    p->t = t;
    p->g = km_rw_table_group(w->file, t->name);
    if (p->g < 0 || !make_columns(w, p->g, t->cols, t->n_cols, NULL, p->ds))
        return km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot create a table", w->path);
    p->made = 1;
    return KM_OK;
}

/* The table's group and columns: those km_result_writer_prepare_table
 * made (handed over: the slot is free again), else made now. */
static int table_objects(km_result_writer *w, const km_result_table *t, hid_t *g, km_rw_col *ds)
{
    if (w->pre.t != t || w->pre.made != 1) {
        *g = km_rw_table_group(w->file, t->name);
        return *g >= 0 && make_columns(w, *g, t->cols, t->n_cols, NULL, ds);
    }
    *g = w->pre.g;
    memcpy(ds, w->pre.ds, t->n_cols * sizeof *ds);
    w->pre.g = -1;
    no_columns(w->pre.ds, KM_RW_MAX_COLS);
    w->pre.t = NULL;
    w->pre.made = 0;
    return 1;
}

km_status km_result_writer_set_table(km_ctx *ctx, km_result_writer *w, const km_result_table *t,
                                     const void *rows, size_t n)
{
    if (w == NULL || w->file < 0 || bad_table(t) || (rows == NULL && n > 0))
        return km_fail(ctx, KM_ERR_INVALID, "result writer: bad table");
    km_rw_col ds[KM_RW_MAX_COLS];
    no_columns(ds, KM_RW_MAX_COLS);
    km_status st = KM_OK;
    hid_t g = -1;
    if (!table_objects(w, t, &g, ds) ||
        (t->count_attr != NULL && !km_rw_attr_i64(w, g, t->count_attr, (int64_t)n)))
        st = km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot create a table", w->path);
    if (st == KM_OK)
        st = append_table(ctx, w, t, ds, 0, rows, n);
    for (size_t c = 0; c < t->n_cols && st == KM_OK; c++)
        if (!km_rw_col_finish(&ds[c]))
            st = km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot write a table", w->path);
    for (size_t c = 0; c < t->n_cols; c++)
        km_rw_col_close(&ds[c]);
    km_rw_close_h(&g, H5Gclose);
    return st;
}

km_status km_result_writer_add_table(km_ctx *ctx, km_result_writer *w, const km_result_table *t,
                                     int *id)
{
    if (w == NULL || w->file < 0 || bad_table(t) || id == NULL || w->n_grow == KM_RW_MAX_TABLES)
        return km_fail(ctx, KM_ERR_INVALID, "result writer: bad table");
    km_rw_table *g = &w->grow[w->n_grow];
    memset(g, 0, sizeof *g);
    no_columns(g->ds, KM_RW_MAX_COLS);
    g->t = t;
    g->g = -1;
    *id = w->n_grow++;
    return KM_OK;
}

/* Once: its group and columns (km_rw_make_metrics). */
int km_rw_make_table(km_result_writer *w, km_rw_table *g)
{
    if (g->made == 0) {
        g->made = -1;
        g->g = km_rw_table_group(w->file, g->t->name);
        if (g->g >= 0 && make_columns(w, g->g, g->t->cols, g->t->n_cols, NULL, g->ds))
            g->made = 1;
    }
    return g->made == 1;
}

km_status km_result_writer_append_rows(km_ctx *ctx, km_result_writer *w, int id,
                                       const void *rows, size_t n)
{
    if (w == NULL || w->file < 0 || id < 0 || id >= w->n_grow || (rows == NULL && n > 0))
        return km_fail(ctx, KM_ERR_INVALID, "result writer: bad append");
    km_rw_table *g = &w->grow[id];
    /* On the engine's writing thread too: its own HDF5 error printer.  Only
       when a chunk is written: the engine appends each frame's finished
       tracks, and switching the printer took HDF5's global lock ~5 300
       times a 60 s session for ~180 chunk writes. */
    km_h5_quiet q;
    int h5 = g->made != 1 || any_calls_h5(g->ds, g->t->n_cols, n);
    if (h5)
        km_h5_quiet_begin(&q);
    km_status st = km_rw_make_table(w, g)
                       ? append_table(ctx, w, g->t, g->ds, g->n, rows, n)
                       : km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot create a table", w->path);
    if (h5)
        km_h5_quiet_end(&q);
    if (st == KM_OK)
        g->n += (int64_t)n;
    return st;
}

int km_rw_count_tables(km_result_writer *w)
{
    for (int i = 0; i < w->n_grow; i++)
        if (w->grow[i].t->count_attr != NULL &&
            !km_rw_attr_i64(w, w->grow[i].g, w->grow[i].t->count_attr, w->grow[i].n))
            return 0;
    return 1;
}

int km_rw_finish_columns(km_result_writer *w)
{
    /* Tables never appended to are made now. */
    int ok = km_rw_make_metrics(w) && km_rw_make_peaks(w);
    for (int i = 0; ok && i < w->n_grow; i++)
        ok = km_rw_make_table(w, &w->grow[i]);
    ok = ok && km_rw_col_finish(&w->ds_time) && km_rw_col_finish(&w->ds_frame) &&
         km_rw_col_finish(&w->ds_cond);
    for (size_t c = 0; ok && c < KM_RW_METRIC_COLS; c++)
        ok = km_rw_col_finish(&w->met[c]);
    for (size_t c = 0; ok && c < KM_RW_PEAK_COLS; c++)
        ok = km_rw_col_finish(&w->pk[c]);
    for (int i = 0; ok && i < w->n_grow; i++)
        for (size_t c = 0; ok && c < w->grow[i].t->n_cols; c++)
            ok = km_rw_col_finish(&w->grow[i].ds[c]);
    return ok;
}

void km_rw_close_tables(km_result_writer *w)
{
    for (size_t c = 0; c < KM_RW_MAX_COLS; c++)
        km_rw_col_close(&w->pre.ds[c]);
    km_rw_close_h(&w->pre.g, H5Gclose);
    for (int i = 0; i < w->n_grow; i++) {
        for (size_t c = 0; c < KM_RW_MAX_COLS; c++)
            km_rw_col_close(&w->grow[i].ds[c]);
        km_rw_close_h(&w->grow[i].g, H5Gclose);
    }
}

/* made: 0 not yet, 1 made, -1 failed (the writer is then discarded). */
static int make_fixed(km_result_writer *w, int *made, hid_t *g, const char *name,
                      const col_def *cols, size_t n, const col_filters *list, km_rw_col *out)
{
    if (*made == 0) {
        *made = -1;
        *g = km_rw_table_group(w->file, name);
        if (*g >= 0 && make_columns(w, *g, cols, n, list, out))
            *made = 1;
    }
    return *made == 1;
}

int km_rw_make_metrics(km_result_writer *w)
{
    return make_fixed(w, &w->made_metrics, &w->g_metrics, "metrics", METRIC_COLS,
                      KM_RW_METRIC_COLS, METRIC_FILTERS, w->met);
}

int km_rw_make_peaks(km_result_writer *w)
{
    return make_fixed(w, &w->made_peaks, &w->g_peaks, "peaks", PEAK_COLS, KM_RW_PEAK_COLS,
                      PEAK_FILTERS, w->pk);
}

static km_status append_frames(km_ctx *ctx, km_result_writer *w, const double *times,
                               const km_metrics *m, const float *frames, int64_t n)
{
    size_t cnt = (size_t)n;
    double *d = km_rw_scratch(ctx, w, cnt * sizeof(double));
    if (d == NULL)
        return KM_ERR_NOMEM;
    uint32_t *u = (uint32_t *)d;
    if (!km_rw_make_metrics(w))
        return km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot create /metrics", w->path);
    int ok = km_rw_append_1d(&w->ds_time, w->n_frames, times, cnt);
    ok = ok && km_rw_append_1d(&w->met[0], w->n_frames, times, cnt);
    for (size_t c = 1; ok && c < KM_RW_METRIC_COLS; c++) {
        for (size_t i = 0; i < cnt; i++) {
            switch (c) {
            case 1: d[i] = m[i].peak; break;
            case 2: d[i] = m[i].mean; break;
            case 3: d[i] = m[i].contact_area_mm2; break;
            case 4: d[i] = m[i].force_n; break;
            case 5: d[i] = m[i].cop_x_mm; break;
            case 6: d[i] = m[i].cop_y_mm; break;
            default: u[i] = m[i].flags; break;
            }
        }
        ok = km_rw_append_1d(&w->met[c], w->n_frames, d, cnt);
    }
    if (ok && w->save_frames) {
        int64_t *idx = (int64_t *)d;
        for (size_t i = 0; i < cnt; i++)
            idx[i] = w->n_frames + (int64_t)i;
        ok = km_rw_append_1d(&w->ds_frame, w->n_frames, idx, cnt);
    }
    if (ok && w->save_frames)
        ok = km_rw_append_rows(&w->ds_cond, 3, w->rows, w->cols, w->n_frames, frames, cnt);
    if (!ok)
        return km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot append frames", w->path);
    w->n_frames += n;
    return KM_OK;
}

km_status km_result_writer_append_frames(km_ctx *ctx, km_result_writer *w, const double *times,
                                         const km_metrics *m, const float *frames, int64_t n)
{
    if (w == NULL || w->file < 0 || times == NULL || m == NULL || n < 0 ||
        (w->save_frames && frames == NULL && n > 0))
        return km_fail(ctx, KM_ERR_INVALID, "result writer: bad append");
    if (n == 0)
        return KM_OK;
    size_t cnt = (size_t)n;
    int h5 = w->made_metrics != 1 || any_calls_h5(&w->ds_time, 1, cnt) ||
             any_calls_h5(w->met, KM_RW_METRIC_COLS, cnt) ||
             (w->save_frames &&
              (any_calls_h5(&w->ds_frame, 1, cnt) || any_calls_h5(&w->ds_cond, 1, cnt)));
    km_h5_quiet q; /* only when a chunk is written (km_result_writer_append_rows) */
    if (h5)
        km_h5_quiet_begin(&q);
    km_status st = append_frames(ctx, w, times, m, frames, n);
    if (h5)
        km_h5_quiet_end(&q);
    return st;
}

/* Column c of the n buffered peaks: built in the scratch d, or a buffer
 * as it is.  One loop per column (a switch per value cost ~12 instructions
 * a value: 25 M on a crowded mat's 173 K peaks). */
static const void *peak_column(const km_result_writer *w, size_t c, size_t n, double *d)
{
    const km_peak *p = w->pbuf;
    float *f = (float *)d;
    int32_t *i32 = (int32_t *)d;
    uint32_t *u = (uint32_t *)d;
    int64_t *i64 = (int64_t *)d;
    switch (c) {
    case 0:
        for (size_t i = 0; i < n; i++)
            i64[i] = w->n_peaks + (int64_t)i;
        return d;
    case 1: return w->pframe;
    case 2: return w->ptime;
    case 3:
        for (size_t i = 0; i < n; i++)
            d[i] = p[i].y;
        return d;
    case 4:
        for (size_t i = 0; i < n; i++)
            d[i] = p[i].x;
        return d;
    case 5:
        for (size_t i = 0; i < n; i++)
            d[i] = p[i].y * w->row_pitch;
        return d;
    case 6:
        for (size_t i = 0; i < n; i++)
            d[i] = p[i].x * w->col_pitch;
        return d;
    case 7:
        for (size_t i = 0; i < n; i++)
            f[i] = p[i].value;
        return d;
    case 8:
        for (size_t i = 0; i < n; i++)
            f[i] = p[i].prominence;
        return d;
    case 9:
        for (size_t i = 0; i < n; i++)
            i32[i] = p[i].area_taxels;
        return d;
    case 10:
        for (size_t i = 0; i < n; i++)
            u[i] = p[i].flags;
        return d;
    default: return w->ptrack;
    }
}

km_status km_rw_flush_peaks(km_ctx *ctx, km_result_writer *w)
{
    size_t n = w->pn;
    if (n == 0)
        return KM_OK;
    if (!km_h5_headroom() || !km_rw_make_peaks(w))
        return km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot create /peaks", w->path);
    double *d = km_rw_scratch(ctx, w, n * sizeof(double));
    if (d == NULL)
        return KM_ERR_NOMEM;
    int ok = 1;
    for (size_t c = 0; ok && c < KM_RW_PEAK_COLS; c++)
        ok = km_rw_append_1d(&w->pk[c], w->n_peaks, peak_column(w, c, n, d), n);
    if (!ok)
        return km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot append peaks", w->path);
    w->n_peaks += (int64_t)n;
    w->pn = 0;
    return KM_OK;
}

km_status km_result_writer_append_peaks(km_ctx *ctx, km_result_writer *w, int64_t frame,
                                        double time_s, const km_peak *peaks, size_t n)
{
    return km_result_writer_append_peaks_tracked(ctx, w, frame, time_s, peaks, NULL, n);
}

km_status km_result_writer_append_peaks_tracked(km_ctx *ctx, km_result_writer *w, int64_t frame,
                                                double time_s, const km_peak *peaks,
                                                const int32_t *track, size_t n)
{
    if (w == NULL || w->file < 0 || (peaks == NULL && n > 0))
        return km_fail(ctx, KM_ERR_INVALID, "result writer: bad peak append");
    while (n > 0) {
        size_t take = PEAK_BUF - w->pn;
        if (take > n)
            take = n;
        memcpy(w->pbuf + w->pn, peaks, take * sizeof *peaks);
        for (size_t i = 0; i < take; i++) {
            w->pframe[w->pn + i] = frame;
            w->ptime[w->pn + i] = time_s;
            w->ptrack[w->pn + i] = track != NULL ? track[i] : -1;
        }
        w->pn += take;
        peaks += take;
        if (track != NULL)
            track += take;
        n -= take;
        if (w->pn == PEAK_BUF) {
            km_h5_quiet q;
            km_h5_quiet_begin(&q);
            km_status st = km_rw_flush_peaks(ctx, w);
            km_h5_quiet_end(&q);
            if (st != KM_OK)
                return st;
        }
    }
    return KM_OK;
}

/* /frames/max and mean, made and written at once (made ahead of their
 * values, during the frames, they raised a long session's peak memory by
 * one 2 MB huge page: bench/HISTORY.md "Session 39, every change landed"). */
static int frame_maps(km_result_writer *w, const float *max_map, const float *mean_map, hid_t *ds)
{
    const km_rw_map maps[] = {
        {"max", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, w->rows, w->cols, max_map, w->units,
         "maximum over the session of the conditioned value per taxel"},
        {"mean", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, w->rows, w->cols, mean_map, w->units,
         "mean over the session of the conditioned value per taxel"},
    };
    return km_rw_make_maps(w, w->g_frames, maps, sizeof maps / sizeof *maps, "row", "col", ds);
}

km_status km_result_writer_set_maps(km_ctx *ctx, km_result_writer *w, const float *max_map,
                                    const float *mean_map)
{
    if (w == NULL || w->file < 0 || max_map == NULL || mean_map == NULL || w->maps_set)
        return km_fail(ctx, KM_ERR_INVALID, "result writer: bad maps");
    hid_t ds[2] = {-1, -1};
    int ok = frame_maps(w, max_map, mean_map, ds);
    km_rw_close_h(&ds[0], H5Dclose);
    km_rw_close_h(&ds[1], H5Dclose);
    if (!ok)
        return km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot write /frames maps", w->path);
    w->maps_set = 1;
    return KM_OK;
}

km_status km_result_writer_set_bodymap(km_ctx *ctx, km_result_writer *w,
                                       const km_result_bodymap *b)
{
    if (w == NULL || w->file < 0 || b == NULL || b->ny < 0 || b->nx < 0 ||
        ((size_t)b->ny * (size_t)b->nx > 0 &&
         (b->max == NULL || b->mean == NULL || b->coverage == NULL || b->excess == NULL ||
          b->spread == NULL)))
        return km_fail(ctx, KM_ERR_INVALID, "result writer: bad body map");
    const int32_t ny = b->ny, nx = b->nx;
    const km_rw_map maps[] = {
        {"pressure", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, ny, nx, b->max, w->units,
         "maximum pressed value deposited in the cell (NaN if never)"},
        {"mean", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, ny, nx, b->mean, w->units,
         "mean pressed value deposited in the cell (NaN if never)"},
        {"coverage", H5T_STD_I32LE, H5T_NATIVE_INT32, ny, nx, b->coverage, "1",
         "contact passes over the cell"},
        {"excess", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, ny, nx, b->excess, w->units,
         "candidate map: mean over covering passes of the pass-max local excess"},
        {"spread", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, ny, nx, b->spread, w->units,
         "standard deviation (ddof 1) over covering passes of the pass-max local "
         "excess; NaN under 2 passes"},
    };
    hid_t g = H5Gcreate2(w->file, "bodymap", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int ok = g >= 0 && km_rw_attr_f64(w, g, "x_pitch_mm", b->x_pitch_mm) &&
             km_rw_attr_f64(w, g, "y_pitch_mm", b->y_pitch_mm) &&
             km_rw_attr_f64(w, g, "x0_mm", 0.0) &&
             km_rw_attr_f64(w, g, "y0_mm", b->y0_mm) && km_rw_attr_str(w, g, "units", w->units) &&
             km_rw_attr_str(w, g, "mode", b->mode == KM_MODE_ROLLER ? "roller" : "mat") &&
             km_rw_write_axis(w, g, "y_mm", H5T_IEEE_F64LE, b->ny, b->y0_mm, b->y_pitch_mm,
                        "mm", "body y of the cell centres") &&
             km_rw_write_axis(w, g, "x_mm", H5T_IEEE_F64LE, b->nx, 0.0, b->x_pitch_mm, "mm",
                        "body x of the cell centres") &&
             km_rw_write_maps(w, g, maps, sizeof maps / sizeof *maps, "y_mm", "x_mm");
    km_rw_close_h(&g, H5Gclose);
    if (!ok)
        return km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot write /bodymap", w->path);
    return KM_OK;
}
