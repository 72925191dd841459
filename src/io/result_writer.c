/* knotmap result HDF5 v1 writer (docs/FORMAT.md 2.1). */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <hdf5.h>
#include <hdf5_hl.h>

#include "io/atomic_out.h"
#include "io/h5_vfd.h"
#include "io/h5util.h"
#include "io/result_writer.h"

#define COL_CHUNK 4096          /* rows per chunk of a table column */
/* Level 1: the tables are written once per run and deflate's cost grows
 * with the level far faster than the ratio on these numeric columns. */
#define COL_DEFLATE 1
/* A column is appended at its end only: a cache of two chunks holds the
 * partly filled last chunk.  HDF5's default 1 MiB per dataset, times the
 * ~35 columns, let the process grow by tens of MB as the tables grew. */
#define COL_CACHE_BYTES (2u * COL_CHUNK * 8u + 4096u)
#define PEAK_BUF 8192           /* peaks buffered before a flush */

/* A table column: every column gets its `units` and `description`
 * attributes from here (docs/FORMAT.md 2.1).  Units "" = an id, an index
 * or bit flags; "1" = a dimensionless quantity or a count; "@" = the
 * result units (the /session attribute `units`). */
typedef struct col_def {
    const char *name;
    int kind;                   /* 0 f64, 1 f32, 2 i64, 3 i32, 4 u32 */
    const char *units;
    const char *desc;
} col_def;

enum { K_F64, K_F32, K_I64, K_I32, K_U32 };

/* The first column of each table is its dimension (a netCDF coordinate
 * variable); the others are attached to it (docs/FORMAT.md 2.1). */
static const col_def METRIC_COLS[] = {
    {"time", K_F64, "s", "time of the frame from the session start"},
    {"peak", K_F64, "@", "maximum over the valid taxels (NaN if none)"},
    {"mean", K_F64, "@", "mean over the valid finite taxels (NaN if none)"},
    {"contact_area_mm2", K_F64, "mm2", "area of the taxels above the contact threshold"},
    {"force_n", K_F64, "N", "force over the contact taxels (NaN for raw units)"},
    {"cop_grid_x_mm", K_F64, "mm",
     "centre of pressure on the sensor grid, x = col * col_pitch_mm (NaN without contact)"},
    {"cop_grid_y_mm", K_F64, "mm",
     "centre of pressure on the sensor grid, y = row * row_pitch_mm (NaN without contact)"},
    {"flags", K_U32, "", "bits: 1 CORRUPT, 2 SATURATED, 4 EMPTY"},
};
#define N_METRIC_COLS (sizeof METRIC_COLS / sizeof METRIC_COLS[0])

static const col_def PEAK_COLS[] = {
    {"peak", K_I64, "", "peak index, the row of this table"},
    {"frame", K_I64, "", "frame index from 0"},
    {"time", K_F64, "s", "time of the frame from the session start"},
    {"row", K_F64, "1", "grid row of the peak, sub-pixel (taxel index)"},
    {"col", K_F64, "1", "grid column of the peak, sub-pixel (taxel index)"},
    {"grid_y_mm", K_F64, "mm", "y on the sensor grid, row * row_pitch_mm"},
    {"grid_x_mm", K_F64, "mm", "x on the sensor grid, col * col_pitch_mm"},
    {"value", K_F32, "@", "value at the peak taxel"},
    {"prominence", K_F32, "@", "topological prominence (NaN when not computed)"},
    {"area_taxels", K_I32, "1", "taxels of its basin above value - prominence/2 (-1 when not computed)"},
    {"flags", K_U32, "", "bits: 1 AT_BORDER, 2 PLATEAU, 4 FIT_FALLBACK, 8 SATURATED"},
    {"track", K_I32, "", "id of its track (/tracks/track)"},
};
#define N_PEAK_COLS (sizeof PEAK_COLS / sizeof PEAK_COLS[0])

static const col_def TRACK_COLS[] = {
    {"track", K_I32, "", "track id, in order of first appearance"},
    {"first_frame", K_I64, "", "first frame with a linked peak"},
    {"last_frame", K_I64, "", "last frame with a linked peak"},
    {"n_frames", K_I64, "1", "frames with a linked peak"},
    {"y_mm", K_F64, "mm", "mean body y of its peaks"},
    {"x_mm", K_F64, "mm", "mean body x of its peaks"},
    {"value_max", K_F32, "@", "highest peak value"},
};
#define N_TRACK_COLS (sizeof TRACK_COLS / sizeof TRACK_COLS[0])

static const col_def CAND_COLS[] = {
    {"candidate", K_I32, "", "rank, 0 = best"},
    {"x_mm", K_F64, "mm", "body x, sub-pixel"},
    {"y_mm", K_F64, "mm", "body y, sub-pixel"},
    {"peak", K_F32, "@", "accumulated excess at the peak cell"},
    {"prominence", K_F32, "@", "fitted knot amplitude (as amplitude, single precision)"},
    {"area_mm2", K_F64, "mm2", "basin of the fitted amplitude map above half the amplitude"},
    {"n_passes", K_I32, "1", "passes in which the excess at the cell reached seen_threshold"},
    {"n_covering", K_I32, "1", "passes that covered the cell"},
    {"persistence", K_F64, "1", "n_passes / n_covering"},
    {"first_time", K_F64, "s", "first time the cell was seen (NaN if never)"},
    {"last_time", K_F64, "s", "last time the cell was seen (NaN if never)"},
    {"score", K_F64, "1", "ranking key: significance * persistence"},
    {"size_mm", K_F64, "mm", "fitted footprint sigma"},
    {"amplitude", K_F64, "@", "fitted knot amplitude (least squares, footprint of size_mm)"},
    {"significance", K_F64, "1", "z: amplitude over the session-measured noise of it"},
};
#define N_CAND_COLS (sizeof CAND_COLS / sizeof CAND_COLS[0])

struct km_result_writer {
    km_alloc_ref alloc;
    char *path;
    km_atomic_out out;          /* the temporary file, renamed by commit */
    km_h5_io io;                /* its OS errors; closing mode (h5_vfd.h) */
    int committed;
    int maps_set;
    int32_t rows, cols;
    double row_pitch, col_pitch;
    char units[16];
    int32_t save_frames;
    km_h5_quiet quiet;          /* HDF5 printing off from create to free */
    hid_t file, g_session, g_header, g_params, g_frames, g_metrics, g_peaks;
    hid_t ds_time, ds_cond, ds_frame;
    hid_t met[N_METRIC_COLS];
    hid_t pk[N_PEAK_COLS];
    hid_t g_tracks;
    hid_t tr[N_TRACK_COLS];
    int64_t n_frames, n_peaks, n_tracks;
    void *scratch;              /* column conversion, scratch_cap bytes */
    size_t scratch_cap;
    km_peak *pbuf;              /* peaks waiting for a flush */
    int64_t *pframe;
    double *ptime;
    int32_t *ptrack;
    size_t pn;
};

static hid_t mem_type(int kind)
{
    switch (kind) {
    case K_F64: return H5T_NATIVE_DOUBLE;
    case K_F32: return H5T_NATIVE_FLOAT;
    case K_I64: return H5T_NATIVE_INT64;
    case K_I32: return H5T_NATIVE_INT32;
    default: return H5T_NATIVE_UINT32;
    }
}

static hid_t file_type(int kind)
{
    switch (kind) {
    case K_F64: return H5T_IEEE_F64LE;
    case K_F32: return H5T_IEEE_F32LE;
    case K_I64: return H5T_STD_I64LE;
    case K_I32: return H5T_STD_I32LE;
    default: return H5T_STD_U32LE;
    }
}

/* Close an HDF5 handle if open and mark it closed. */
static void close_h(hid_t *h, herr_t (*fn)(hid_t))
{
    if (*h >= 0)
        fn(*h);
    *h = -1;
}

/* ---- HDF5 error detail ------------------------------------------------- */

static km_status h5fail(km_ctx *ctx, const char *path, km_status st, const char *what)
{
    char desc[256];
    int e = km_h5_vfd_take_errno();
    km_h5_error_text(desc, sizeof desc);
    if (e != 0) { /* the OS reason says more than HDF5's text */
        errno = e;    /* km_ctx_last_errno */
        return km_fail(ctx, st, "%s: %s: %s", path, what, strerror(e));
    }
    if (desc[0] != '\0')
        return km_fail(ctx, st, "%s: %s (HDF5: %s)", path, what, desc);
    return km_fail(ctx, st, "%s: %s", path, what);
}

/* ---- attributes -------------------------------------------------------- */

static int utf8_valid(const unsigned char *s)
{
    while (*s != 0) {
        int n = *s < 0x80 ? 0 : (*s & 0xE0) == 0xC0 ? 1 : (*s & 0xF0) == 0xE0 ? 2
              : (*s & 0xF8) == 0xF0 ? 3 : -1;
        if (n < 0)
            return 0;
        s++;
        for (; n > 0; n--, s++)
            if ((*s & 0xC0) != 0x80)
                return 0;
    }
    return 1;
}

/* Scalar variable-length UTF-8 string attribute.  Text that is not valid
 * UTF-8 (old exports in Latin-1) is transcoded as Latin-1 so every reader
 * gets a string. */
static int attr_str(const km_alloc_ref *ref, hid_t loc, const char *name, const char *value)
{
    int ok = 0;
    char *conv = NULL;
    hid_t t = -1, s = -1, a = -1;
    const char *v = value != NULL ? value : "";

    if (!utf8_valid((const unsigned char *)v)) {
        size_t len = strlen(v), j = 0;
        conv = km_ref_alloc(ref, 2 * len + 1);
        if (conv == NULL)
            goto done;
        for (size_t i = 0; i < len; i++) {
            unsigned char ch = (unsigned char)v[i];
            if (ch < 0x80) {
                conv[j++] = (char)ch;
            } else {
                conv[j++] = (char)(0xC0 | (ch >> 6));
                conv[j++] = (char)(0x80 | (ch & 0x3F));
            }
        }
        conv[j] = '\0';
        v = conv;
    }
    t = H5Tcopy(H5T_C_S1);
    if (t < 0 || H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)
        goto done;
    s = H5Screate(H5S_SCALAR);
    if (s < 0)
        goto done;
    a = H5Acreate2(loc, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, t, &v) < 0)
        goto done;
    ok = 1;
done:
    close_h(&a, H5Aclose);
    close_h(&s, H5Sclose);
    close_h(&t, H5Tclose);
    km_ref_free(ref, conv);
    return ok;
}

static int attr_num(hid_t loc, const char *name, hid_t ftype, hid_t mtype, const void *v)
{
    int ok = 0;
    hid_t a = -1, s = H5Screate(H5S_SCALAR);
    if (s < 0)
        goto done;
    a = H5Acreate2(loc, name, ftype, s, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, mtype, v) < 0)
        goto done;
    ok = 1;
done:
    close_h(&a, H5Aclose);
    close_h(&s, H5Sclose);
    return ok;
}

static int attr_f64(hid_t loc, const char *name, double v)
{
    return attr_num(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}

static int attr_i64(hid_t loc, const char *name, int64_t v)
{
    return attr_num(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v);
}

static int attr_i32(hid_t loc, const char *name, int32_t v)
{
    return attr_num(loc, name, H5T_STD_I32LE, H5T_NATIVE_INT32, &v);
}

/* ---- datasets ------------------------------------------------------------ */

/* The one place a column, map or axis gets its `units` ("@" = the result
 * units `runits`) and `description` (every dataset carries both). */
static int col_attrs(const km_alloc_ref *ref, hid_t ds, const char *units, const char *runits,
                     const char *desc)
{
    return attr_str(ref, ds, "units", units[0] == '@' ? runits : units) &&
           attr_str(ref, ds, "description", desc);
}

/* Make `ds` a dimension scale: a netCDF dimension named like the dataset,
 * and its coordinate variable (xarray/h5netcdf). */
static int set_scale(hid_t ds, const char *name)
{
    return H5DSset_scale(ds, name) >= 0;
}

/* Attach the scale named `name` in group g to dimension `idx` of ds. */
static int attach_named(hid_t g, hid_t ds, const char *name, unsigned idx)
{
    hid_t sc = H5Dopen2(g, name, H5P_DEFAULT);
    int ok = sc >= 0 && H5DSattach_scale(ds, sc, idx) >= 0;
    close_h(&sc, H5Dclose);
    return ok;
}

/* A fixed 1-D axis NAME [n] = x0 + i * step in group g, stored as ftype,
 * made a dimension scale. */
static int write_axis(const km_alloc_ref *ref, hid_t g, const char *name, hid_t ftype,
                      int32_t n, double x0, double step, const char *units, const char *desc)
{
    int ok = 0;
    hsize_t dims[1] = {(hsize_t)n};
    double *v = km_ref_alloc(ref, ((size_t)n + 1) * sizeof *v);
    hid_t s = H5Screate_simple(1, dims, NULL), ds = -1;
    if (v == NULL || s < 0)
        goto done;
    for (int32_t i = 0; i < n; i++)
        v[i] = x0 + (double)i * step;
    ds = H5Dcreate2(g, name, ftype, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ds < 0 || (n > 0 && H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0))
        goto done;
    ok = col_attrs(ref, ds, units, "", desc) && set_scale(ds, name);
done:
    close_h(&ds, H5Dclose);
    close_h(&s, H5Sclose);
    km_ref_free(ref, v);
    return ok;
}

/* The taxel-index axes `row` [rows] and `col` [cols] of a group's maps. */
static int write_grid_axes(const km_alloc_ref *ref, hid_t g, int32_t rows, int32_t cols)
{
    return write_axis(ref, g, "row", H5T_STD_I32LE, rows, 0.0, 1.0, "",
                      "sensor grid row (taxel index)") &&
           write_axis(ref, g, "col", H5T_STD_I32LE, cols, 0.0, 1.0, "",
                      "sensor grid column (taxel index)");
}

/* Dataset access list for an appended column: the small chunk cache. */
static hid_t column_dapl(void)
{
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (dapl >= 0 && H5Pset_chunk_cache(dapl, 11, COL_CACHE_BYTES, 1.0) < 0) {
        H5Pclose(dapl);
        dapl = -1;
    }
    return dapl;
}

/* An empty, extendible, chunked, compressed 1-D column (shuffled first
 * when `shuffle`). */
static hid_t make_column(const km_alloc_ref *ref, hid_t group, const col_def *c,
                         const char *units, int shuffle)
{
    hid_t ds = -1, s = -1, dcpl = -1, dapl = -1;
    hsize_t dims[1] = {0}, maxdims[1] = {H5S_UNLIMITED}, chunk[1] = {COL_CHUNK};

    s = H5Screate_simple(1, dims, maxdims);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    dapl = column_dapl();
    if (s < 0 || dcpl < 0 || dapl < 0 || H5Pset_chunk(dcpl, 1, chunk) < 0 ||
        (shuffle && H5Pset_shuffle(dcpl) < 0) || H5Pset_deflate(dcpl, COL_DEFLATE) < 0)
        goto fail;
    ds = H5Dcreate2(group, c->name, file_type(c->kind), s, H5P_DEFAULT, dcpl, dapl);
    if (ds < 0)
        goto fail;
    if (!col_attrs(ref, ds, c->units, units, c->desc))
        goto fail;
    H5Pclose(dapl);
    H5Pclose(dcpl);
    H5Sclose(s);
    return ds;
fail:
    close_h(&ds, H5Dclose);
    close_h(&dapl, H5Pclose);
    close_h(&dcpl, H5Pclose);
    close_h(&s, H5Sclose);
    return -1;
}

/* Append n rows of `buf` (memory type mtype) to an extendible dataset of
 * rank 1 or 3 now holding `old` rows; a row of a rank-3 dataset is
 * rows x cols elements. */
static int append_rows(hid_t ds, hid_t mtype, int rank, int32_t rows, int32_t cols, int64_t old,
                       const void *buf, size_t n)
{
    int ok = 0;
    hid_t fs = -1, ms = -1;
    hsize_t size[3] = {(hsize_t)old + n, (hsize_t)rows, (hsize_t)cols};
    hsize_t start[3] = {(hsize_t)old, 0, 0}, count[3] = {n, (hsize_t)rows, (hsize_t)cols};

    if (n == 0)
        return 1;
    if (H5Dset_extent(ds, size) < 0)
        goto done;
    fs = H5Dget_space(ds);
    ms = H5Screate_simple(rank, count, NULL);
    if (fs < 0 || ms < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0)
        goto done;
    if (H5Dwrite(ds, mtype, ms, fs, H5P_DEFAULT, buf) < 0)
        goto done;
    ok = 1;
done:
    close_h(&ms, H5Sclose);
    close_h(&fs, H5Sclose);
    return ok;
}

/* Append n elements to a 1-D column now holding `old` elements. */
static int append_1d(hid_t ds, hid_t mtype, int64_t old, const void *buf, size_t n)
{
    return append_rows(ds, mtype, 1, 0, 0, old, buf, n);
}

/* A fixed 2-D dataset [ny, nx] of `data` (memory type mtype) with its
 * units and description, its dimensions the scales named ydim and xdim of
 * the same group. */
static int write_2d(const km_alloc_ref *ref, hid_t g, const char *name, hid_t ftype, hid_t mtype,
                    int32_t ny, int32_t nx, const void *data, const char *units,
                    const char *desc, const char *ydim, const char *xdim)
{
    int ok = 0;
    hsize_t dims[2] = {(hsize_t)ny, (hsize_t)nx};
    hid_t s = H5Screate_simple(2, dims, NULL), ds = -1;
    if (s >= 0)
        ds = H5Dcreate2(g, name, ftype, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ds >= 0 && ((size_t)ny * (size_t)nx == 0 ||
                    H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0) &&
        col_attrs(ref, ds, units, "", desc) && attach_named(g, ds, ydim, 0) &&
        attach_named(g, ds, xdim, 1))
        ok = 1;
    close_h(&ds, H5Dclose);
    close_h(&s, H5Sclose);
    return ok;
}

static hid_t make_group(hid_t loc, const char *name, int track_order)
{
    hid_t g, gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (gcpl < 0)
        return -1;
    /* Header keys keep the file's order for readers that ask for it. */
    if (track_order &&
        H5Pset_attr_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0) {
        H5Pclose(gcpl);
        return -1;
    }
    g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    return g;
}

/* A table's group: its columns list in the order they were written
 * (link creation order tracked), the order docs/FORMAT.md gives. */
static hid_t table_group(hid_t loc, const char *name)
{
    hid_t g, gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (gcpl < 0)
        return -1;
    if (H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0) {
        H5Pclose(gcpl);
        return -1;
    }
    g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    return g;
}

static void *scratch(km_ctx *ctx, km_result_writer *w, size_t bytes)
{
    if (bytes <= w->scratch_cap)
        return w->scratch;
    void *p = km_alloc(ctx, bytes);
    if (p == NULL)
        return NULL;
    km_ref_free(&w->alloc, w->scratch);
    w->scratch = p;
    w->scratch_cap = bytes;
    return p;
}

/* ---- target checks -------------------------------------------------------- */

km_status km_result_check_target(km_ctx *ctx, const char *path, int32_t overwrite)
{
    if (path == NULL || path[0] == '\0')
        return km_fail(ctx, KM_ERR_INVALID, "result: no output path");
    return km_atomic_check_target(ctx, path, "knotmap-result", overwrite);
}

km_status km_result_check_not_input(km_ctx *ctx, const char *output, const char *input)
{
    struct stat a, b;
    if (output == NULL || input == NULL || stat(output, &a) != 0 || stat(input, &b) != 0)
        return KM_OK;
    if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return km_fail(ctx, KM_ERR_CREATE, "%s: is the input file; refusing to write over it",
                       output);
    return KM_OK;
}

/* ---- create ------------------------------------------------------------------ */

static char *dup_str(km_ctx *ctx, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = km_alloc(ctx, n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

/* The temporary file, made 0666 & ~umask by its create; HDF5 opens it by name. */
static km_status make_temp(km_ctx *ctx, km_result_writer *w, int overwrite)
{
    km_status st = km_atomic_open(ctx, &w->alloc, w->path, "knotmap-result", overwrite, &w->out);
    if (st == KM_OK)
        st = km_atomic_close_fd(ctx, &w->out);
    return st;
}

static km_status write_session(km_ctx *ctx, km_result_writer *w, const km_result_meta *m)
{
    const km_session_info *in = m->info;
    const char *mode = in->mode == KM_MODE_ROLLER ? "roller" : "mat";
    static const col_def time_col = {"time", K_F64, "s", "time of the frame from the session start"};
    km_status st = KM_OK;
    uint8_t *ones = NULL;

    w->g_session = H5Gcreate2(w->file, "session", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (w->g_session < 0 || !attr_i32(w->g_session, "rows", in->rows) ||
        !attr_i32(w->g_session, "cols", in->cols) ||
        !attr_f64(w->g_session, "row_pitch_mm", in->row_pitch_mm) ||
        !attr_f64(w->g_session, "col_pitch_mm", in->col_pitch_mm) ||
        !attr_f64(w->g_session, "frame_rate_hz", in->frame_rate_hz) ||
        !attr_str(&w->alloc, w->g_session, "units", w->units) ||
        !attr_str(&w->alloc, w->g_session, "mode", mode) ||
        !attr_f64(w->g_session, "roller_radius_mm", in->roller_radius_mm) ||
        !attr_f64(w->g_session, "saturation", in->saturation) ||
        !attr_i32(w->g_session, "n_valid", in->n_valid) ||
        !attr_str(&w->alloc, w->g_session, "assumed", in->assumed)) {
        st = h5fail(ctx, w->path, KM_ERR_IO, "cannot write /session");
        goto done;
    }

    /* /session/time has never had the shuffle filter: files stay as they were. */
    w->ds_time = make_column(&w->alloc, w->g_session, &time_col, w->units, 0);
    if (w->ds_time < 0 || !set_scale(w->ds_time, "time") ||
        !write_grid_axes(&w->alloc, w->g_session, in->rows, in->cols))
        goto h5err;

    const uint8_t *mask = m->mask;
    if (mask == NULL) {
        size_t n = (size_t)in->rows * (size_t)in->cols;
        ones = km_alloc(ctx, n);
        if (ones == NULL) {
            st = KM_ERR_NOMEM;
            goto done;
        }
        memset(ones, 1, n);
        mask = ones;
    }
    if (!write_2d(&w->alloc, w->g_session, "mask", H5T_STD_U8LE, H5T_NATIVE_UINT8, in->rows,
                  in->cols, mask, "", "1 = valid taxel, 0 = masked", "row", "col"))
        goto h5err;

    w->g_header = make_group(w->g_session, "source_header", 1);
    if (w->g_header < 0)
        goto h5err;
    goto done;
h5err:
    st = h5fail(ctx, w->path, KM_ERR_IO, "cannot write /session");
done:
    km_free(ctx, ones);
    return st;
}

static km_status write_root(km_ctx *ctx, km_result_writer *w, const km_result_meta *m)
{
    char stamp[32] = "";
    time_t now = time(NULL);
    struct tm tmv;
    if (gmtime_r(&now, &tmv) != NULL)
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    if (!attr_str(&w->alloc, w->file, "schema", "knotmap-result") ||
        !attr_i32(w->file, "schema_version", 1) ||
        !attr_str(&w->alloc, w->file, "knotmap_version", km_version_string()) ||
        !attr_str(&w->alloc, w->file, "created_utc", stamp) ||
        !attr_str(&w->alloc, w->file, "command_line", m->command_line) ||
        !attr_str(&w->alloc, w->file, "source_path", m->source_path) ||
        !attr_str(&w->alloc, w->file, "source_format", m->source_format))
        return h5fail(ctx, w->path, KM_ERR_IO, "cannot write the root attributes");
    return KM_OK;
}

/* The extendible columns of a table, the first one its dimension. */
static int make_table(km_result_writer *w, hid_t g, const col_def *cols, size_t n, hid_t *out)
{
    for (size_t i = 0; i < n; i++) {
        out[i] = make_column(&w->alloc, g, &cols[i], w->units, 1);
        if (out[i] < 0 || (i == 0 && !set_scale(out[0], cols[0].name)) ||
            (i > 0 && H5DSattach_scale(out[i], out[0], 0) < 0))
            return 0;
    }
    return 1;
}

static km_status write_tables(km_ctx *ctx, km_result_writer *w)
{
    w->g_params = H5Gcreate2(w->file, "params", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    w->g_frames = H5Gcreate2(w->file, "frames", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    w->g_metrics = table_group(w->file, "metrics");
    w->g_peaks = table_group(w->file, "peaks");
    w->g_tracks = table_group(w->file, "tracks");
    if (w->g_params < 0 || w->g_frames < 0 || w->g_metrics < 0 || w->g_peaks < 0 ||
        w->g_tracks < 0)
        return h5fail(ctx, w->path, KM_ERR_IO, "cannot create the groups");
    if (!make_table(w, w->g_metrics, METRIC_COLS, N_METRIC_COLS, w->met))
        return h5fail(ctx, w->path, KM_ERR_IO, "cannot create /metrics");
    if (!make_table(w, w->g_peaks, PEAK_COLS, N_PEAK_COLS, w->pk))
        return h5fail(ctx, w->path, KM_ERR_IO, "cannot create /peaks");
    if (!make_table(w, w->g_tracks, TRACK_COLS, N_TRACK_COLS, w->tr))
        return h5fail(ctx, w->path, KM_ERR_IO, "cannot create /tracks");
    if (!write_grid_axes(&w->alloc, w->g_frames, w->rows, w->cols))
        return h5fail(ctx, w->path, KM_ERR_IO, "cannot create /frames");
    if (!w->save_frames)
        return KM_OK;
    static const col_def frame_col = {"frame", K_I64, "", "frame index from 0"};
    w->ds_frame = make_column(&w->alloc, w->g_frames, &frame_col, w->units, 1);
    if (w->ds_frame < 0 || !set_scale(w->ds_frame, "frame"))
        return h5fail(ctx, w->path, KM_ERR_IO, "cannot create /frames/frame");

    /* Chunks of whole frames, about 256k values each, so a reader can pull
       a time range cheaply; very large frames are split by rows. */
    hsize_t rc = (hsize_t)w->rows * (hsize_t)w->cols;
    hsize_t k = rc >= 262144 ? 1 : 262144 / rc;
    hsize_t crows = rc > 1048576 ? (hsize_t)(1048576 / w->cols) : (hsize_t)w->rows;
    if (crows < 1)
        crows = 1;
    if (k > 256)
        k = 256;
    hsize_t dims[3] = {0, (hsize_t)w->rows, (hsize_t)w->cols};
    hsize_t maxd[3] = {H5S_UNLIMITED, (hsize_t)w->rows, (hsize_t)w->cols};
    hsize_t chunk[3] = {k, crows, (hsize_t)w->cols};
    km_status st = KM_OK;
    hid_t s = H5Screate_simple(3, dims, maxd), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (s < 0 || dcpl < 0 || H5Pset_chunk(dcpl, 3, chunk) < 0 || H5Pset_shuffle(dcpl) < 0 ||
        H5Pset_deflate(dcpl, 4) < 0)
        st = h5fail(ctx, w->path, KM_ERR_IO, "cannot create /frames/conditioned");
    if (st == KM_OK) {
        w->ds_cond = H5Dcreate2(w->g_frames, "conditioned", H5T_IEEE_F32LE, s, H5P_DEFAULT, dcpl,
                                H5P_DEFAULT);
        if (w->ds_cond < 0 ||
            !col_attrs(&w->alloc, w->ds_cond, "@", w->units,
                       "conditioned frames (calibrated, smoothed; masked taxels NaN)") ||
            H5DSattach_scale(w->ds_cond, w->ds_frame, 0) < 0 ||
            !attach_named(w->g_frames, w->ds_cond, "row", 1) ||
            !attach_named(w->g_frames, w->ds_cond, "col", 2))
            st = h5fail(ctx, w->path, KM_ERR_IO, "cannot create /frames/conditioned");
    }
    close_h(&dcpl, H5Pclose);
    close_h(&s, H5Sclose);
    return st;
}

km_status km_result_writer_create(km_ctx *ctx, const char *path, const km_result_meta *meta,
                                  km_result_writer **out)
{
    km_status st = KM_OK;
    km_result_writer *w = NULL;
    hid_t fapl = -1;

    if (out == NULL || path == NULL || meta == NULL || meta->info == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "result writer: NULL argument");
    *out = NULL;
    const km_session_info *in = meta->info;
    st = km_check_shape(ctx, in->rows, in->cols, "result grid");
    if (st != KM_OK)
        return st;
    if (!(in->row_pitch_mm > 0.0) || !(in->col_pitch_mm > 0.0))
        return km_fail(ctx, KM_ERR_INVALID, "%s: pitch must be > 0", path);
    st = km_result_check_target(ctx, path, meta->overwrite);
    if (st != KM_OK)
        return st;

    w = km_calloc(ctx, 1, sizeof *w);
    if (w == NULL)
        return KM_ERR_NOMEM;
    km_h5_quiet_begin(&w->quiet);
    w->alloc = km_ctx_alloc_ref(ctx);
    km_atomic_init(&w->out);
    w->file = w->g_session = w->g_header = w->g_params = w->g_frames = -1;
    w->g_metrics = w->g_peaks = w->ds_time = w->ds_cond = w->ds_frame = w->g_tracks = -1;
    for (size_t i = 0; i < N_TRACK_COLS; i++)
        w->tr[i] = -1;
    for (size_t i = 0; i < N_METRIC_COLS; i++)
        w->met[i] = -1;
    for (size_t i = 0; i < N_PEAK_COLS; i++)
        w->pk[i] = -1;
    w->rows = in->rows;
    w->cols = in->cols;
    w->row_pitch = in->row_pitch_mm;
    w->col_pitch = in->col_pitch_mm;
    w->save_frames = meta->save_frames != 0;
    snprintf(w->units, sizeof w->units, "%s", in->units[0] != '\0' ? in->units : "raw");

    w->path = dup_str(ctx, path);
    w->pbuf = km_alloc(ctx, PEAK_BUF * sizeof *w->pbuf);
    w->pframe = km_alloc(ctx, PEAK_BUF * sizeof *w->pframe);
    w->ptime = km_alloc(ctx, PEAK_BUF * sizeof *w->ptime);
    w->ptrack = km_alloc(ctx, PEAK_BUF * sizeof *w->ptrack);
    if (w->path == NULL || w->pbuf == NULL || w->pframe == NULL || w->ptime == NULL ||
        w->ptrack == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    st = make_temp(ctx, w, meta->overwrite);
    if (st != KM_OK)
        goto done;

    fapl = km_h5_write_fapl(&w->io);
    /* STRONG: H5Fclose really closes, so fsync and rename see a whole file.
       1.8 object format: readable by every HDF5 in use, and large
       attribute sets (long source headers) go to dense storage. */
    if (fapl < 0 || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0 ||
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST) < 0) {
        st = h5fail(ctx, w->path, KM_ERR_IO, "cannot set up HDF5");
        goto done;
    }
    /* An H5Fcreate that fails inside leaves HDF5's shutdown a broken file
       object: errors of its writes are recorded, then reported (h5_vfd.h). */
    w->io.closing = 1;
    w->file = H5Fcreate(w->out.tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    w->io.closing = w->io.err != 0;
    if (w->file < 0 || w->io.err != 0) {
        if (w->io.err != 0)
            st = km_fail(ctx, KM_ERR_CREATE, "%s: cannot create the temporary file: %s", w->path,
                         strerror(w->io.err));
        else
            st = h5fail(ctx, w->path, KM_ERR_CREATE, "cannot create the temporary file");
        goto done;
    }
    st = write_root(ctx, w, meta);
    if (st == KM_OK)
        st = write_session(ctx, w, meta);
    if (st == KM_OK)
        st = write_tables(ctx, w);
done:
    close_h(&fapl, H5Pclose);
    if (st != KM_OK) {
        km_result_writer_free(w);
        return st;
    }
    *out = w;
    return KM_OK;
}

/* ---- content ------------------------------------------------------------------ */

int km_result_header_name(const char *key, int repeat, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t j = 0;
    const unsigned char *k = (const unsigned char *)(key != NULL ? key : "");
    if (cap == 0)
        return 0;
    /* Only [A-Za-z0-9 _-] pass through: '/', '.', '%', '#' and non-ASCII
       bytes are ambiguous or special in HDF5 paths and tools. */
    for (; *k != 0; k++) {
        int plain = (*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') ||
                    (*k >= '0' && *k <= '9') || *k == ' ' || *k == '_' || *k == '-';
        if (plain) {
            if (j + 1 >= cap)
                return 0;
            out[j++] = (char)*k;
        } else {
            if (j + 3 >= cap)
                return 0;
            out[j++] = '%';
            out[j++] = hex[*k >> 4];
            out[j++] = hex[*k & 15];
        }
    }
    if (j == 0) {               /* HDF5 names cannot be empty */
        if (cap < 4)
            return 0;
        memcpy(out, "%00", 3);
        j = 3;
    }
    out[j] = '\0';
    if (repeat >= 2) {
        int n = snprintf(out + j, cap - j, "#%d", repeat);
        if (n < 0 || (size_t)n >= cap - j)
            return 0;
    }
    return 1;
}

km_status km_result_writer_add_header(km_ctx *ctx, km_result_writer *w, const char *key,
                                      const char *value)
{
    char name[1024];
    if (w == NULL || w->g_header < 0)
        return km_fail(ctx, KM_ERR_INVALID, "result writer: not open");
    for (int rep = 1;; rep++) {
        if (!km_result_header_name(key, rep, name, sizeof name))
            return km_fail(ctx, KM_ERR_LIMIT, "%s: source header key too long", w->path);
        htri_t e = H5Aexists(w->g_header, name);
        if (e < 0)
            return h5fail(ctx, w->path, KM_ERR_IO, "cannot write /session/source_header");
        if (e == 0)
            break;
    }
    if (!attr_str(&w->alloc, w->g_header, name, value))
        return h5fail(ctx, w->path, KM_ERR_IO, "cannot write /session/source_header");
    return KM_OK;
}

/* The status of a /params attribute write that returned `ok`. */
static km_status param_status(km_ctx *ctx, const km_result_writer *w, int ok)
{
    return ok ? KM_OK : h5fail(ctx, w->path, KM_ERR_IO, "cannot write /params");
}

km_status km_result_writer_param_f64(km_ctx *ctx, km_result_writer *w, const char *name, double v)
{
    if (w == NULL || w->g_params < 0)
        return km_fail(ctx, KM_ERR_INVALID, "result writer: not open");
    return param_status(ctx, w, attr_f64(w->g_params, name, v));
}

km_status km_result_writer_param_i64(km_ctx *ctx, km_result_writer *w, const char *name, int64_t v)
{
    if (w == NULL || w->g_params < 0)
        return km_fail(ctx, KM_ERR_INVALID, "result writer: not open");
    return param_status(ctx, w, attr_i64(w->g_params, name, v));
}

km_status km_result_writer_param_str(km_ctx *ctx, km_result_writer *w, const char *name,
                                     const char *v)
{
    if (w == NULL || w->g_params < 0)
        return km_fail(ctx, KM_ERR_INVALID, "result writer: not open");
    return param_status(ctx, w, attr_str(&w->alloc, w->g_params, name, v));
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
    double *d = scratch(ctx, w, cnt * sizeof(double));
    if (d == NULL)
        return KM_ERR_NOMEM;
    uint32_t *u = (uint32_t *)d;
    int ok = append_1d(w->ds_time, H5T_NATIVE_DOUBLE, w->n_frames, times, cnt);
    ok = ok && append_1d(w->met[0], H5T_NATIVE_DOUBLE, w->n_frames, times, cnt);
    for (size_t c = 1; ok && c < N_METRIC_COLS; c++) {
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
        ok = append_1d(w->met[c], mem_type(METRIC_COLS[c].kind), w->n_frames, d, cnt);
    }
    if (ok && w->save_frames) {
        int64_t *idx = (int64_t *)d;
        for (size_t i = 0; i < cnt; i++)
            idx[i] = w->n_frames + (int64_t)i;
        ok = append_1d(w->ds_frame, H5T_NATIVE_INT64, w->n_frames, idx, cnt);
    }
    if (ok && w->save_frames)
        ok = append_rows(w->ds_cond, H5T_NATIVE_FLOAT, 3, w->rows, w->cols, w->n_frames, frames,
                         cnt);
    if (!ok)
        return h5fail(ctx, w->path, KM_ERR_IO, "cannot append frames");
    w->n_frames += n;
    return KM_OK;
}

static km_status flush_peaks(km_ctx *ctx, km_result_writer *w)
{
    size_t n = w->pn;
    if (n == 0)
        return KM_OK;
    double *d = scratch(ctx, w, n * sizeof(double));
    if (d == NULL)
        return KM_ERR_NOMEM;
    float *f = (float *)d;
    int32_t *i32 = (int32_t *)d;
    uint32_t *u = (uint32_t *)d;
    const km_peak *p = w->pbuf;
    int64_t *i64 = (int64_t *)d;
    int ok = 1;
    for (size_t c = 0; ok && c < N_PEAK_COLS; c++) {
        const void *src = d;
        for (size_t i = 0; i < n; i++) {
            switch (c) {
            case 0: i64[i] = w->n_peaks + (int64_t)i; break;
            case 1: src = w->pframe; break;
            case 2: src = w->ptime; break;
            case 3: d[i] = p[i].y; break;
            case 4: d[i] = p[i].x; break;
            case 5: d[i] = p[i].y * w->row_pitch; break;
            case 6: d[i] = p[i].x * w->col_pitch; break;
            case 7: f[i] = p[i].value; break;
            case 8: f[i] = p[i].prominence; break;
            case 9: i32[i] = p[i].area_taxels; break;
            case 10: u[i] = p[i].flags; break;
            default: i32[i] = w->ptrack[i]; break;
            }
        }
        ok = append_1d(w->pk[c], mem_type(PEAK_COLS[c].kind), w->n_peaks, src, n);
    }
    if (!ok)
        return h5fail(ctx, w->path, KM_ERR_IO, "cannot append peaks");
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
            km_status st = flush_peaks(ctx, w);
            if (st != KM_OK)
                return st;
        }
    }
    return KM_OK;
}

km_status km_result_writer_set_maps(km_ctx *ctx, km_result_writer *w, const float *max_map,
                                    const float *mean_map)
{
    if (w == NULL || w->file < 0 || max_map == NULL || mean_map == NULL || w->maps_set)
        return km_fail(ctx, KM_ERR_INVALID, "result writer: bad maps");
    const char *names[2] = {"max", "mean"};
    const float *maps[2] = {max_map, mean_map};
    const char *descs[2] = {"maximum over the session of the conditioned value per taxel",
                            "mean over the session of the conditioned value per taxel"};
    for (int i = 0; i < 2; i++) {
        if (!write_2d(&w->alloc, w->g_frames, names[i], H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, w->rows,
                      w->cols, maps[i], w->units, descs[i], "row", "col"))
            return h5fail(ctx, w->path, KM_ERR_IO, "cannot write /frames maps");
    }
    w->maps_set = 1;
    return KM_OK;
}

km_status km_result_writer_append_tracks(km_ctx *ctx, km_result_writer *w, const km_track *t,
                                         size_t n)
{
    if (w == NULL || w->file < 0 || (t == NULL && n > 0))
        return km_fail(ctx, KM_ERR_INVALID, "result writer: bad track append");
    if (n == 0)
        return KM_OK;
    double *d = scratch(ctx, w, n * sizeof(double));
    if (d == NULL)
        return KM_ERR_NOMEM;
    float *f = (float *)d;
    int32_t *i32 = (int32_t *)d;
    int64_t *i64 = (int64_t *)d;
    int ok = 1;
    for (size_t c = 0; ok && c < N_TRACK_COLS; c++) {
        for (size_t i = 0; i < n; i++) {
            switch (c) {
            case 0: i32[i] = t[i].track; break;
            case 1: i64[i] = t[i].first_frame; break;
            case 2: i64[i] = t[i].last_frame; break;
            case 3: i64[i] = t[i].n_frames; break;
            case 4: d[i] = t[i].y_mean; break; /* body y_mm */
            case 5: d[i] = t[i].x_mean; break; /* body x_mm */
            default: f[i] = t[i].value_max; break;
            }
        }
        ok = append_1d(w->tr[c], mem_type(TRACK_COLS[c].kind), w->n_tracks, d, n);
    }
    if (!ok)
        return h5fail(ctx, w->path, KM_ERR_IO, "cannot append tracks");
    w->n_tracks += (int64_t)n;
    return KM_OK;
}

km_status km_result_writer_set_bodymap(km_ctx *ctx, km_result_writer *w,
                                       const km_result_bodymap *b)
{
    if (w == NULL || w->file < 0 || b == NULL || b->ny < 0 || b->nx < 0 ||
        ((size_t)b->ny * (size_t)b->nx > 0 &&
         (b->max == NULL || b->mean == NULL || b->coverage == NULL || b->excess == NULL)))
        return km_fail(ctx, KM_ERR_INVALID, "result writer: bad body map");
    hid_t g = H5Gcreate2(w->file, "bodymap", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int ok = g >= 0 && attr_f64(g, "x_pitch_mm", b->x_pitch_mm) &&
             attr_f64(g, "y_pitch_mm", b->y_pitch_mm) && attr_f64(g, "x0_mm", 0.0) &&
             attr_f64(g, "y0_mm", b->y0_mm) && attr_str(&w->alloc, g, "units", w->units) &&
             attr_str(&w->alloc, g, "mode", b->mode == KM_MODE_ROLLER ? "roller" : "mat") &&
             write_axis(&w->alloc, g, "y_mm", H5T_IEEE_F64LE, b->ny, b->y0_mm, b->y_pitch_mm,
                        "mm", "body y of the cell centres") &&
             write_axis(&w->alloc, g, "x_mm", H5T_IEEE_F64LE, b->nx, 0.0, b->x_pitch_mm, "mm",
                        "body x of the cell centres") &&
             write_2d(&w->alloc, g, "pressure", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, b->ny, b->nx,
                      b->max, w->units, "maximum pressed value deposited in the cell (NaN if never)",
                      "y_mm", "x_mm") &&
             write_2d(&w->alloc, g, "mean", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, b->ny, b->nx,
                      b->mean, w->units, "mean pressed value deposited in the cell (NaN if never)",
                      "y_mm", "x_mm") &&
             write_2d(&w->alloc, g, "coverage", H5T_STD_I32LE, H5T_NATIVE_INT32, b->ny, b->nx,
                      b->coverage, "1", "contact passes over the cell", "y_mm", "x_mm") &&
             write_2d(&w->alloc, g, "excess", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, b->ny, b->nx,
                      b->excess, w->units,
                      "candidate map: mean over covering passes of the pass-max local excess",
                      "y_mm", "x_mm");
    close_h(&g, H5Gclose);
    if (!ok)
        return h5fail(ctx, w->path, KM_ERR_IO, "cannot write /bodymap");
    return KM_OK;
}

km_status km_result_writer_set_candidates(km_ctx *ctx, km_result_writer *w,
                                          const km_candidate *c, size_t n)
{
    if (w == NULL || w->file < 0 || (c == NULL && n > 0))
        return km_fail(ctx, KM_ERR_INVALID, "result writer: bad candidates");
    double *d = n > 0 ? scratch(ctx, w, n * sizeof(double)) : NULL;
    if (n > 0 && d == NULL)
        return KM_ERR_NOMEM;
    float *f = (float *)d;
    int32_t *i32 = (int32_t *)d;
    hid_t g = table_group(w->file, "candidates");
    int ok = g >= 0 && attr_i64(g, "n_candidates", (int64_t)n);
    for (size_t k = 0; ok && k < N_CAND_COLS; k++) {
        for (size_t i = 0; i < n; i++) {
            switch (k) {
            case 0: i32[i] = (int32_t)i; break;
            case 1: d[i] = c[i].x_mm; break;
            case 2: d[i] = c[i].y_mm; break;
            case 3: f[i] = c[i].peak; break;
            case 4: f[i] = c[i].prominence; break;
            case 5: d[i] = c[i].area_mm2; break;
            case 6: i32[i] = c[i].n_passes; break;
            case 7: i32[i] = c[i].n_covering; break;
            case 8: d[i] = c[i].persistence; break;
            case 9: d[i] = c[i].first_time; break;
            case 10: d[i] = c[i].last_time; break;
            case 11: d[i] = c[i].score; break;
            case 12: d[i] = c[i].size_mm; break;
            case 13: d[i] = c[i].amplitude; break;
            default: d[i] = c[i].significance; break;
            }
        }
        hid_t ds = make_column(&w->alloc, g, &CAND_COLS[k], w->units, 1);
        ok = ds >= 0 && append_1d(ds, mem_type(CAND_COLS[k].kind), 0, d, n) &&
             (k == 0 ? set_scale(ds, CAND_COLS[0].name) : attach_named(g, ds, CAND_COLS[0].name, 0));
        close_h(&ds, H5Dclose);
    }
    close_h(&g, H5Gclose);
    if (!ok)
        return h5fail(ctx, w->path, KM_ERR_IO, "cannot write /candidates");
    return KM_OK;
}

/* ---- commit / free --------------------------------------------------------------- */

static void close_objects(km_result_writer *w)
{
    for (size_t i = 0; i < N_METRIC_COLS; i++)
        close_h(&w->met[i], H5Dclose);
    for (size_t i = 0; i < N_PEAK_COLS; i++)
        close_h(&w->pk[i], H5Dclose);
    for (size_t i = 0; i < N_TRACK_COLS; i++)
        close_h(&w->tr[i], H5Dclose);
    close_h(&w->g_tracks, H5Gclose);
    close_h(&w->ds_time, H5Dclose);
    close_h(&w->ds_cond, H5Dclose);
    close_h(&w->ds_frame, H5Dclose);
    close_h(&w->g_header, H5Gclose);
    close_h(&w->g_session, H5Gclose);
    close_h(&w->g_params, H5Gclose);
    close_h(&w->g_frames, H5Gclose);
    close_h(&w->g_metrics, H5Gclose);
    close_h(&w->g_peaks, H5Gclose);
}

km_status km_result_writer_commit(km_ctx *ctx, km_result_writer *w)
{
    km_status st;
    if (w == NULL || w->file < 0 || w->committed)
        return km_fail(ctx, KM_ERR_INVALID, "result writer: not open");
    if (!w->maps_set)
        return km_fail(ctx, KM_ERR_INTERNAL, "%s: result maps were never written", w->path);
    st = flush_peaks(ctx, w);
    if (st != KM_OK)
        return st;
    if (!attr_i64(w->g_session, "n_frames", w->n_frames) ||
        !attr_i64(w->g_peaks, "n_peaks", w->n_peaks) ||
        !attr_i64(w->g_tracks, "n_tracks", w->n_tracks))
        return h5fail(ctx, w->path, KM_ERR_IO, "cannot finish /session");
    /* From here a failed write is recorded in w->io, never raised inside
       H5Fclose: a failed H5Fclose crashes HDF5's shutdown (h5_vfd.h). */
    w->io.closing = 1;
    close_objects(w);
    /* The completeness marker goes last, so a file that has it has all. */
    if (!attr_i32(w->file, "complete", 1))
        return h5fail(ctx, w->path, KM_ERR_IO, "cannot mark the result complete");
    herr_t e = H5Fclose(w->file);
    w->file = -1;
    if (w->io.err != 0) {
        H5Eclear2(H5E_DEFAULT);
        errno = w->io.err; /* km_ctx_last_errno */
        return km_fail(ctx, KM_ERR_IO, "%s: cannot write the result: %s", w->path,
                       strerror(w->io.err));
    }
    if (e < 0)
        return h5fail(ctx, w->path, KM_ERR_IO, "cannot close the result");
    st = km_atomic_commit(ctx, &w->out);
    if (st != KM_OK)
        return st;
    w->committed = 1;
    return KM_OK;
}

void km_result_writer_free(km_result_writer *w)
{
    if (w == NULL)
        return;
    w->io.closing = 1; /* the file is removed: its pending writes may fail silently */
    close_objects(w);
    close_h(&w->file, H5Fclose);
    km_atomic_discard(&w->out);
    km_h5_quiet_end(&w->quiet);
    km_alloc_ref ref = w->alloc;
    km_ref_free(&ref, w->scratch);
    km_ref_free(&ref, w->pbuf);
    km_ref_free(&ref, w->pframe);
    km_ref_free(&ref, w->ptime);
    km_ref_free(&ref, w->ptrack);
    km_ref_free(&ref, w->path);
    km_ref_free(&ref, w);
}
