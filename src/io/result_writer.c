/* knotmap result HDF5 v1 writer (docs/FORMAT.md 2.1): the file (a
 * temporary renamed at commit), its root attributes, /session, the source
 * header and /params; the tables are in result_tables.c. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <hdf5.h>
#include <hdf5_hl.h>

#include "io/result_writer_internal.h"

/* ---- target checks -------------------------------------------------------- */

km_status km_result_writer_check_target(km_ctx *ctx, km_result_writer *w)
{
    return km_atomic_check_schema(ctx, &w->out);
}

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

/* The temporary file, made 0666 & ~umask by its create; HDF5 opens it by name. */
static km_status make_temp(km_ctx *ctx, km_result_writer *w, const km_result_meta *m)
{
    km_status st = (m->check_later ? km_atomic_open_later : km_atomic_open)(
        ctx, &w->alloc, w->path, "knotmap-result", m->overwrite, &w->out);
    if (st == KM_OK)
        st = km_atomic_close_fd(ctx, &w->out);
    return st;
}

static km_status write_session(km_ctx *ctx, km_result_writer *w, const km_result_meta *m)
{
    const km_session_info *in = m->info;
    const char *mode = in->mode == KM_MODE_ROLLER ? "roller" : "mat";
    static const col_def time_col = {"time", KM_COL_F64, "s",
                                     "time of the frame from the session start", 0};
    km_status st = KM_OK;
    uint8_t *ones = NULL;

    w->g_session = H5Gcreate2(w->file, "session", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (w->g_session < 0 || !km_rw_attr_i32(w, w->g_session, "rows", in->rows) ||
        !km_rw_attr_i32(w, w->g_session, "cols", in->cols) ||
        !km_rw_attr_f64(w, w->g_session, "row_pitch_mm", in->row_pitch_mm) ||
        !km_rw_attr_f64(w, w->g_session, "col_pitch_mm", in->col_pitch_mm) ||
        !km_rw_attr_f64(w, w->g_session, "frame_rate_hz", in->frame_rate_hz) ||
        !km_rw_attr_str(w, w->g_session, "units", w->units) ||
        !km_rw_attr_str(w, w->g_session, "mode", mode) ||
        !km_rw_attr_f64(w, w->g_session, "roller_radius_mm", in->roller_radius_mm) ||
        !km_rw_attr_f64(w, w->g_session, "saturation", in->saturation) ||
        !km_rw_attr_i32(w, w->g_session, "n_valid", in->n_valid) ||
        !km_rw_attr_str(w, w->g_session, "assumed", in->assumed) ||
        !km_rw_attr_i64(w, w->g_session, "n_nonfinite", in->n_nonfinite) ||
        !km_rw_attr_str(w, w->g_session, "nonfinite_at", in->nonfinite_at)) {
        st = km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot write /session", w->path);
        goto done;
    }

    /* /session/time has never had the shuffle filter: files stay as they were. */
    if (!km_rw_make_column(w, w->g_session, &time_col, KM_RW_DEFLATE, &w->ds_time) ||
        !km_rw_set_scale(w, w->ds_time.ds, "time") ||
        !km_rw_write_grid_axes(w, w->g_session, in->rows, in->cols))
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
    const km_rw_map mask_map = {"mask", H5T_STD_U8LE, H5T_NATIVE_UINT8, in->rows, in->cols, mask,
                                "", "1 = valid taxel, 0 = masked"};
    if (!km_rw_write_maps(w, w->g_session, &mask_map, 1, "row", "col"))
        goto h5err;

    w->g_header = km_rw_make_group(w->g_session, "source_header", 1);
    if (w->g_header < 0)
        goto h5err;
    goto done;
h5err:
    st = km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot write /session", w->path);
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
    if (!km_rw_attr_str(w, w->file, "schema", "knotmap-result") ||
        !km_rw_attr_i32(w, w->file, "schema_version", 1) ||
        !km_rw_attr_str(w, w->file, "knotmap_version", km_version_string()) ||
        !km_rw_attr_str(w, w->file, "created_utc", stamp) ||
        !km_rw_attr_str(w, w->file, "command_line", m->command_line) ||
        !km_rw_attr_str(w, w->file, "source_path", m->source_path) ||
        !km_rw_attr_str(w, w->file, "source_format", m->source_format))
        return km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot write the root attributes", w->path);
    return KM_OK;
}

/* The extendible columns of a table, the first one its dimension. */
static km_status write_tables(km_ctx *ctx, km_result_writer *w)
{
    w->g_params = H5Gcreate2(w->file, "params", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    w->g_frames = H5Gcreate2(w->file, "frames", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (w->g_params < 0 || w->g_frames < 0)
        return km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot create the groups", w->path);
    if (!km_rw_write_grid_axes(w, w->g_frames, w->rows, w->cols))
        return km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot create /frames", w->path);
    if (!w->save_frames)
        return KM_OK;
    static const col_def frame_col = {"frame", KM_COL_I64, "", "frame index from 0", 0};
    if (!km_rw_make_column(w, w->g_frames, &frame_col, KM_RW_SHUFFLE_DEFLATE, &w->ds_frame) ||
        !km_rw_set_scale(w, w->ds_frame.ds, "frame"))
        return km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot create /frames/frame", w->path);

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
    hid_t dapl = km_rw_default_cache_dapl(); /* not a column's */
    if (s < 0 || dcpl < 0 || dapl < 0 || H5Pset_chunk(dcpl, 3, chunk) < 0 || H5Pset_shuffle(dcpl) < 0 ||
        H5Pset_deflate(dcpl, 4) < 0)
        st = km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot create /frames/conditioned", w->path);
    if (st == KM_OK) {
        hid_t ds = H5Dcreate2(w->g_frames, "conditioned", H5T_IEEE_F32LE, s, H5P_DEFAULT, dcpl,
                              dapl);
        if (ds >= 0)
            km_rw_col_init(w, &w->ds_cond, ds, H5T_NATIVE_FLOAT);
        if (ds < 0 ||
            !km_rw_col_attrs(w, ds, "@", w->units,
                       "conditioned frames (calibrated, smoothed; masked taxels NaN)") ||
            H5DSattach_scale(ds, w->ds_frame.ds, 0) < 0 ||
            !km_rw_attach_named(w->g_frames, ds, "row", 1) ||
            !km_rw_attach_named(w->g_frames, ds, "col", 2))
            st = km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot create /frames/conditioned",
                                  w->path);
    }
    km_rw_close_h(&dapl, H5Pclose);
    km_rw_close_h(&dcpl, H5Pclose);
    km_rw_close_h(&s, H5Sclose);
    return st;
}

/* The temporary file, opened by HDF5 through knotmap's file driver. */
static km_status create_file(km_ctx *ctx, km_result_writer *w)
{
    km_status st = KM_OK;
    /* The chunks' bytes written outside HDF5's lock (h5_vfd.h 4.). */
    w->io.defer_raw = 1;
    hid_t fapl = km_h5_write_fapl(&w->io);
    /* STRONG: H5Fclose really closes, so fsync and rename see a whole file.
       1.8 object format: readable by every HDF5 in use, and large
       attribute sets (long source headers) go to dense storage. */
    if (fapl < 0 || !km_h5_headroom() || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0 ||
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST) < 0 ||
        !km_h5_fixed_mdc(fapl, RESULT_MDC_BYTES) || !km_rw_column_cache(fapl)) {
        st = km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot set up HDF5", w->path);
        goto done;
    }
    /* An H5Fcreate that fails inside leaves HDF5's shutdown a broken file
       object: errors of its writes are recorded, then reported (h5_vfd.h). */
    w->io.closing = 1;
    w->file = H5Fcreate(w->out.tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    w->io.closing = w->io.err != 0;
    w->io.image_max = RESULT_IMAGE_BYTES; /* from here on (h5_vfd.h 5.) */
    if (w->file < 0 || w->io.err != 0)
        st = km_h5_write_fail(ctx, KM_ERR_CREATE, w->io.err, "%s: cannot create the temporary file",
                              w->path);
done:
    km_rw_close_h(&fapl, H5Pclose);
    return st;
}

km_status km_result_writer_create(km_ctx *ctx, const char *path, const km_result_meta *meta,
                                  km_result_writer **out)
{
    km_status st = KM_OK;
    km_result_writer *w = NULL;

    if (out == NULL || path == NULL || meta == NULL || meta->info == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "result writer: NULL argument");
    *out = NULL;
    const km_session_info *in = meta->info;
    st = km_check_shape(ctx, in->rows, in->cols, "result grid");
    if (st != KM_OK)
        return st;
    if (!(in->row_pitch_mm > 0.0) || !(in->col_pitch_mm > 0.0))
        return km_fail(ctx, KM_ERR_INVALID, "%s: pitch must be > 0", path);
    /* The target itself is checked by km_atomic_open (make_temp), its schema
       perhaps later (meta->check_later: km_result_writer_check_target). */
    if (path[0] == '\0')
        return km_fail(ctx, KM_ERR_INVALID, "result: no output path");

    w = km_calloc(ctx, 1, sizeof *w);
    if (w == NULL)
        return KM_ERR_NOMEM;
    km_h5_quiet_begin(&w->quiet);
    w->alloc = km_ctx_alloc_ref(ctx);
    km_atomic_init(&w->out);
    w->file = w->g_session = w->g_header = w->g_params = w->g_frames = -1;
    w->g_metrics = w->g_peaks = w->ds_time.ds = w->ds_cond.ds = w->ds_frame.ds = -1;
    w->attr_scalar = w->attr_str = -1;
    for (int i = 0; i < KM_RW_FILTER_SETS; i++)
        w->col_dcpl[i] = -1;
    for (size_t i = 0; i < KM_RW_METRIC_COLS; i++)
        w->met[i].ds = -1;
    for (size_t i = 0; i < KM_RW_PEAK_COLS; i++)
        w->pk[i].ds = -1;
    w->pre.g = -1;
    for (size_t i = 0; i < KM_RW_MAX_COLS; i++)
        w->pre.ds[i].ds = -1;
    w->rows = in->rows;
    w->cols = in->cols;
    w->row_pitch = in->row_pitch_mm;
    w->col_pitch = in->col_pitch_mm;
    w->save_frames = meta->save_frames != 0;
    snprintf(w->units, sizeof w->units, "%s", in->units[0] != '\0' ? in->units : "raw");

    w->path = km_ref_strdup(&w->alloc, path);
    w->pbuf = km_alloc(ctx, PEAK_BUF * sizeof *w->pbuf);
    w->pframe = km_alloc(ctx, PEAK_BUF * sizeof *w->pframe);
    w->ptime = km_alloc(ctx, PEAK_BUF * sizeof *w->ptime);
    w->ptrack = km_alloc(ctx, PEAK_BUF * sizeof *w->ptrack);
    w->defl = km_h5_deflater_new(); /* NULL: columns written by H5Dwrite */
    if (w->path == NULL || w->pbuf == NULL || w->pframe == NULL || w->ptime == NULL ||
        w->ptrack == NULL) {
        st = w->path == NULL ? km_fail(ctx, KM_ERR_NOMEM, "out of memory") : KM_ERR_NOMEM;
        goto done;
    }
    st = make_temp(ctx, w, meta);
    if (st != KM_OK)
        goto done;

    st = create_file(ctx, w);
    if (st != KM_OK)
        goto done;
    st = write_root(ctx, w, meta);
    if (st == KM_OK)
        st = write_session(ctx, w, meta);
    if (st == KM_OK)
        st = write_tables(ctx, w);
done:
    if (st != KM_OK) {
        km_result_writer_free(w);
        return st;
    }
    *out = w;
    return KM_OK;
}

int km_result_header_name(const char *key, int repeat, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t j = 0;
    const unsigned char *k = (const unsigned char *)(key != NULL ? key : "");
    /* A key too long for the name is cut at a whole escape and marked '~'
       (escaped in any key, so unambiguous), room kept for '#<repeat>'. */
    const size_t room = cap >= 64 ? cap - 16 : cap;
    if (cap == 0)
        return 0;
    /* Only [A-Za-z0-9 _-] pass through: '/', '.', '%', '#' and non-ASCII
       bytes are ambiguous or special in HDF5 paths and tools. */
    for (; *k != 0; k++) {
        int plain = (*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') ||
                    (*k >= '0' && *k <= '9') || *k == ' ' || *k == '_' || *k == '-';
        if (j + (plain ? 1 : 3) >= room) {
            if (room == cap)
                return 0;
            out[j++] = '~';
            break;
        }
        if (plain) {
            out[j++] = (char)*k;
        } else {
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
            return km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot write /session/source_header",
                                    w->path);
        if (e == 0)
            break;
    }
    if (!km_rw_attr_str(w, w->g_header, name, value))
        return km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot write /session/source_header",
                                w->path);
    return KM_OK;
}

/* The status of a /params attribute write that returned `ok`. */
static km_status param_status(km_ctx *ctx, const km_result_writer *w, int ok)
{
    return ok ? KM_OK : km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot write /params", w->path);
}

km_status km_result_writer_param_f64(km_ctx *ctx, km_result_writer *w, const char *name, double v)
{
    if (w == NULL || w->g_params < 0)
        return km_fail(ctx, KM_ERR_INVALID, "result writer: not open");
    return param_status(ctx, w, km_rw_attr_f64(w, w->g_params, name, v));
}

km_status km_result_writer_param_i64(km_ctx *ctx, km_result_writer *w, const char *name, int64_t v)
{
    if (w == NULL || w->g_params < 0)
        return km_fail(ctx, KM_ERR_INVALID, "result writer: not open");
    return param_status(ctx, w, km_rw_attr_i64(w, w->g_params, name, v));
}

km_status km_result_writer_param_str(km_ctx *ctx, km_result_writer *w, const char *name,
                                     const char *v)
{
    if (w == NULL || w->g_params < 0)
        return km_fail(ctx, KM_ERR_INVALID, "result writer: not open");
    return param_status(ctx, w, km_rw_attr_str(w, w->g_params, name, v));
}

/* /session n_nonfinite and nonfinite_at replaced by the counts set
   (written at create from the session info, as the other attributes). */
static int rewrite_nonfinite(km_result_writer *w)
{
    return H5Adelete(w->g_session, "n_nonfinite") >= 0 &&
           H5Adelete(w->g_session, "nonfinite_at") >= 0 &&
           km_rw_attr_i64(w, w->g_session, "n_nonfinite", w->n_nonfinite) &&
           km_rw_attr_str(w, w->g_session, "nonfinite_at", w->nonfinite_at);
}

void km_result_writer_set_nonfinite(km_result_writer *w, int64_t n, const char *at)
{
    if (w == NULL)
        return;
    w->nonfinite_set = 1;
    w->n_nonfinite = n;
    snprintf(w->nonfinite_at, sizeof w->nonfinite_at, "%s", at != NULL ? at : "");
}

/* ---- commit / free --------------------------------------------------------------- */

static void close_objects(km_result_writer *w)
{
    for (size_t i = 0; i < KM_RW_METRIC_COLS; i++)
        km_rw_col_close(&w->met[i]);
    for (size_t i = 0; i < KM_RW_PEAK_COLS; i++)
        km_rw_col_close(&w->pk[i]);
    km_rw_close_tables(w);
    km_rw_col_close(&w->ds_time);
    km_rw_col_close(&w->ds_cond);
    km_rw_col_close(&w->ds_frame);
    km_rw_close_h(&w->g_header, H5Gclose);
    km_rw_close_h(&w->g_session, H5Gclose);
    km_rw_close_h(&w->g_params, H5Gclose);
    km_rw_close_h(&w->g_frames, H5Gclose);
    km_rw_close_h(&w->g_metrics, H5Gclose);
    km_rw_close_h(&w->g_peaks, H5Gclose);
    for (int i = 0; i < KM_RW_FILTER_SETS; i++) {
        km_rw_close_h(&w->col_dcpl[i], H5Pclose);
        for (int k = 0; k < KM_COL_KINDS; k++) {
            km_h5_chunks_out_free(w->col_layout[i][k]);
            w->col_layout[i][k] = NULL;
        }
    }
    km_rw_close_h(&w->attr_scalar, H5Sclose);
    km_rw_close_h(&w->attr_str, H5Tclose);
}

km_status km_result_writer_last_frame(km_ctx *ctx, km_result_writer *w)
{
    if (w == NULL || w->file < 0 || w->committed)
        return km_fail(ctx, KM_ERR_INVALID, "result writer: not open");
    if (!km_h5_fixed_mdc_file(w->file, RESULT_END_MDC_BYTES))
        return km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot set up HDF5", w->path);
    return KM_OK;
}

km_status km_result_writer_end_frames(km_ctx *ctx, km_result_writer *w)
{
    if (w == NULL || w->file < 0 || w->committed)
        return km_fail(ctx, KM_ERR_INVALID, "result writer: not open");
    km_status st = km_rw_flush_peaks(ctx, w);
    if (st != KM_OK)
        return st;
    if (!km_h5_headroom() || !km_rw_finish_columns(w))
        return km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot write the tables", w->path);
    return KM_OK;
}

/* km_result_writer_commit up to the file's close: one run of HDF5 calls
   (km_h5_run_begin), its fsync and rename outside it. */
static km_status close_file(km_ctx *ctx, km_result_writer *w)
{
    km_status st;
    if (w == NULL || w->file < 0 || w->committed)
        return km_fail(ctx, KM_ERR_INVALID, "result writer: not open");
    if (!w->maps_set)
        return km_fail(ctx, KM_ERR_INTERNAL, "%s: result maps were never written", w->path);
    st = km_rw_flush_peaks(ctx, w);
    if (st != KM_OK)
        return st;
    if (!km_h5_headroom() || !km_rw_finish_columns(w))
        return km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot write the tables", w->path);
    if (!km_rw_attr_i64(w, w->g_session, "n_frames", w->n_frames) ||
        (w->nonfinite_set && !rewrite_nonfinite(w)) ||
        !km_rw_attr_i64(w, w->g_peaks, "n_peaks", w->n_peaks) || !km_rw_count_tables(w))
        return km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot finish /session", w->path);
    /* From here a failed write is recorded in w->io, never raised inside
       H5Fclose: a failed H5Fclose crashes HDF5's shutdown (h5_vfd.h). */
    w->io.closing = 1;
    close_objects(w);
    /* The completeness marker goes last, so a file that has it has all. */
    if (!km_rw_attr_i32(w, w->file, "complete", 1))
        return km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot mark the result complete", w->path);
    herr_t e = H5Fclose(w->file);
    w->file = -1;
    km_h5_io_finish(&w->io, 0); /* the held pages written, HDF5's lock released */
    if (w->io.err != 0)
        return km_h5_write_fail(ctx, KM_ERR_IO, w->io.err, "%s: cannot write the result", w->path);
    if (e < 0)
        return km_h5_write_fail(ctx, KM_ERR_IO, 0, "%s: cannot close the result", w->path);
    return KM_OK;
}

km_status km_result_writer_commit(km_ctx *ctx, km_result_writer *w)
{
    km_h5_run_begin();
    km_status st = close_file(ctx, w);
    km_h5_run_end();
    if (st == KM_OK)
        st = km_atomic_commit(ctx, &w->out);
    if (st == KM_OK)
        w->committed = 1;
    return st;
}

void km_result_writer_free(km_result_writer *w)
{
    if (w == NULL)
        return;
    w->io.closing = 1; /* the file is removed: its pending writes may fail silently */
    close_objects(w);
    km_rw_close_h(&w->file, H5Fclose);
    km_h5_io_finish(&w->io, 1);
    km_atomic_discard(&w->out);
    km_h5_quiet_end(&w->quiet);
    km_h5_deflater_free(w->defl);
    km_alloc_ref ref = w->alloc;
    km_ref_free(&ref, w->scratch);
    km_ref_free(&ref, w->pbuf);
    km_ref_free(&ref, w->pframe);
    km_ref_free(&ref, w->ptime);
    km_ref_free(&ref, w->ptrack);
    km_ref_free(&ref, w->path);
    km_ref_free(&ref, w);
}
