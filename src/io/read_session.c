/* Reader for knotmap session HDF5 v1 (docs/FORMAT.md 1.2).
 *
 * HDF5 input is untrusted (the library has open parser CVEs): every rank,
 * type class, shape and attribute is checked before use, the chunk cache is
 * bounded, and frames are streamed by hyperslab blocks so memory does not
 * grow with the session length.  Float and integer frames stored with
 * shuffle and deflate or LZF, [T, R, C] or [R, C, T], are decoded by
 * h5_chunks_read.c outside HDF5's global lock (h5_chunks.h says which); the
 * rest goes through H5Dread, which converts the stored type to float32. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "h5_cf.h"
#include "h5_chunks.h"
#include "h5_times.h"
#include "h5util.h"
#include "reader_internal.h"

#define KM_TIME_SCAN 65536

typedef struct session_impl {
    hid_t file;
    hid_t frames;
    hid_t time; /* H5I_INVALID_HID when the file has no /time */
    int64_t n_frames;
    int64_t next;
    int32_t rows, cols;
    km_h5_chunks *chunks; /* direct chunk reads (NULL: H5Dread) */
    int chunks_tried;
    size_t slab_cap;      /* their decoded chunk row at most (half the memory budget) */
    km_h5_packing pack;   /* CF packing of /frames (h5_cf.h) */
    double time_scale;    /* seconds per /time unit */
    int time_units;       /* /time has a units attribute (else read as seconds) */
    char tname[64];       /* the times: "time", or a time coordinate of /frames (h5_cf.h) */
    int rct;              /* /frames stored [R, C, T] (read_session_rct.c) */
    km_h5_times times;    /* /time read ahead (h5_times.h) */
} session_impl;

static void session_close(km_reader *r)
{
    session_impl *s = r->impl;
    km_h5_quiet q;

    if (s == NULL)
        return;
    km_h5_quiet_begin(&q);
    km_h5_chunks_free(s->chunks);
    km_reader_release(r, s->times.buf);
    if (s->time >= 0)
        H5Dclose(s->time);
    if (s->frames >= 0)
        H5Dclose(s->frames);
    if (s->file >= 0)
        H5Fclose(s->file);
    km_h5_quiet_end(&q);
    km_reader_release(r, s);
    r->impl = NULL;
}

/* Open dataset `name` (without the leading '/') and check its rank and
 * number type.  dims gets the extent. */
static km_status open_dataset(km_ctx *ctx, hid_t f, const char *name, int rank,
                              const char *shape_text, int integers_only, int required,
                              hid_t *out, hsize_t *dims, H5T_class_t *cls_out, size_t *size_out)
{
    km_status st = KM_OK;
    hid_t d = H5I_INVALID_HID, space = H5I_INVALID_HID, type = H5I_INVALID_HID;
    htri_t exists = H5Lexists(f, name, H5P_DEFAULT);
    H5T_class_t cls;
    int nd;

    *out = H5I_INVALID_HID;
    if (exists == 0) {
        char hint[1536] = "";
        if (required)
            km_h5_frames_hint(f, hint, sizeof hint);
        if (required && hint[0] == '\0')
            km_h5_pandas_hint(f, hint, sizeof hint);
        return required ? km_fail(ctx, KM_ERR_FORMAT, "no /%s dataset (a session needs /%s %s)%s",
                                  name, name, shape_text, hint)
                        : KM_OK;
    }
    if (exists < 0 || (d = H5Dopen2(f, name, H5P_DEFAULT)) < 0) {
        st = km_fail(ctx, KM_ERR_FORMAT, "/%s is not a dataset", name);
        goto done;
    }
    space = H5Dget_space(d);
    nd = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    if (nd != rank) {
        st = km_fail(ctx, KM_ERR_FORMAT, "/%s has rank %d, expected %d %s%s", name, nd, rank,
                     shape_text,
                     nd == rank - 1 && rank == 3 ? " (one frame [R, C]: store it as [1, R, C], "
                                                   "numpy's frame[None])"
                                                 : "");
        goto done;
    }
    if (H5Sget_simple_extent_dims(space, dims, NULL) != rank) {
        st = km_fail(ctx, KM_ERR_FORMAT, "/%s: cannot read its shape", name);
        goto done;
    }
    type = H5Dget_type(d);
    cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    if (cls != H5T_INTEGER && (integers_only || cls != H5T_FLOAT)) {
        st = km_fail(ctx, KM_ERR_FORMAT, "/%s holds %s, expected %s%s", name,
                     cls == H5T_FLOAT ? "floats" : km_h5_class_text(cls),
                     integers_only ? "integers (uint8)" : "numbers",
                     cls == H5T_ENUM       ? " (numpy's bool is stored so by h5py: store uint8)"
                     : cls == H5T_COMPOUND ? " (numpy's complex is stored so by h5py, and a "
                                             "record: store the real pressures)"
                                           : "");
        goto done;
    }
    if (cls_out != NULL)
        *cls_out = cls;
    if (size_out != NULL)
        *size_out = H5Tget_size(type);
    *out = d;
    d = H5I_INVALID_HID;
done:
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    if (d >= 0)
        H5Dclose(d);
    return st;
}

/* Refuse filters this HDF5 cannot decode now, with their name, instead of
 * a read error in the middle of the session.  LZF passes on /frames when
 * h5_chunks_read.c decodes it (slab_cap: its bound, 0 for other datasets). */
static km_status check_filters(km_ctx *ctx, hid_t d, const char *name, size_t *chunk_bytes,
                               size_t elem_size, size_t *chunks_across, size_t slab_cap)
{
    km_status st = KM_OK;
    hid_t dcpl = H5Dget_create_plist(d);
    int i, n;
    hsize_t chunk[3];

    *chunk_bytes = 0;
    *chunks_across = 1;
    if (dcpl < 0)
        return km_fail(ctx, KM_ERR_FORMAT, "/%s: cannot read its storage properties", name);
    n = H5Pget_nfilters(dcpl);
    for (i = 0; i < n; i++) {
        unsigned flags = 0, conf = 0;
        size_t nelem = 0;
        char fname[64] = "";
        H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &nelem, NULL,
                                         sizeof fname, fname, &conf);
        /* LZF: decoded by h5_chunks_read.c when it takes the dataset, asked
           first: H5Zfilter_avail loads every filter plugin (0.1 s+). */
        if (id < 0 || (!(id == KM_H5_FILTER_LZF && km_h5_chunks_eligible(d, slab_cap)) &&
                       H5Zfilter_avail(id) <= 0)) {
            st = km_fail(ctx, KM_ERR_UNSUPPORTED,
                         "/%s is compressed with HDF5 filter %d (%s), which this build "
                         "cannot decode",
                         name, (int)id, fname[0] ? fname : "unknown");
            goto done;
        }
    }
    if (H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, 3, chunk) == 3) {
        double b = (double)chunk[0] * (double)chunk[1] * (double)chunk[2] * (double)elem_size;
        *chunk_bytes = b > (double)SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)b;
        hsize_t dims[3];
        hid_t space = H5Dget_space(d);
        if (space >= 0 && H5Sget_simple_extent_dims(space, dims, NULL) == 3 && chunk[1] > 0 &&
            chunk[2] > 0) {
            double across = (double)((dims[1] + chunk[1] - 1) / chunk[1]) *
                            (double)((dims[2] + chunk[2] - 1) / chunk[2]);
            *chunks_across = across > 1e6 ? 1000000 : (size_t)across;
        }
        if (space >= 0)
            H5Sclose(space);
    }
done:
    H5Pclose(dcpl);
    return st;
}

/* Walk /time in blocks: finite and non-decreasing; first and last value. */
static km_status scan_time(km_ctx *ctx, km_reader *r, hid_t d, const km_h5_f64 *v,
                           const char *tn, int64_t n, double *first, double *last)
{
    km_status st = KM_OK;
    double *buf = km_reader_alloc(r, KM_TIME_SCAN * sizeof(double));
    double prev = -INFINITY;
    int64_t i, j;

    if (buf == NULL) {
        st = km_fail(ctx, KM_ERR_NOMEM, "cannot scan /%s: out of memory", tn);
        goto done;
    }
    for (i = 0; i < n; i += KM_TIME_SCAN) {
        int64_t count = n - i < KM_TIME_SCAN ? n - i : KM_TIME_SCAN;
        /* decoded outside HDF5's lock when it can be: the whole of /time is
           read at the open, which another session's thread may wait on
           (bench/HISTORY.md "Session 40 (burst14)") */
        if (!km_h5_times_range(v, d, i, count, buf)) {
            char why[256];
            km_status kind = km_h5_error_kind(KM_ERR_FORMAT, why, sizeof why);
            st = km_fail(ctx, kind, "/%s: values %lld.. cannot be read (%s)", tn,
                         (long long)i, why);
            goto done;
        }
        if (km_ctx_cancelled(ctx)) {
            st = km_fail(ctx, KM_ERR_CANCELLED, "cancelled");
            goto done;
        }
        for (j = 0; j < count; j++) {
            if (!isfinite(buf[j]) || buf[j] < prev) {
                st = km_fail(ctx, KM_ERR_FORMAT,
                             "/%s[%lld] = %g is %s (times must be finite and non-decreasing)",
                             tn, (long long)(i + j), buf[j],
                             isfinite(buf[j]) ? "smaller than the one before" : "not finite");
                goto done;
            }
            prev = buf[j];
        }
        if (i == 0)
            *first = buf[0];
    }
    *last = prev;
done:
    km_reader_release(r, buf);
    return st;
}

static km_status read_mask(km_ctx *ctx, km_reader *r, hid_t f)
{
    km_status st = KM_OK;
    hid_t d = H5I_INVALID_HID;
    hsize_t dims[2];
    size_t i, n = (size_t)r->info.rows * (size_t)r->info.cols;
    int32_t valid = 0;

    st = open_dataset(ctx, f, "mask", 2, "[R, C] uint8", 1, 0, &d, dims, NULL, NULL);
    if (st != KM_OK || d < 0)
        goto done;
    if (dims[0] != (hsize_t)r->info.rows || dims[1] != (hsize_t)r->info.cols) {
        st = km_fail(ctx, KM_ERR_FORMAT, "/mask has shape [%llu, %llu] but frames are [%d, %d]",
                     (unsigned long long)dims[0], (unsigned long long)dims[1], r->info.rows,
                     r->info.cols);
        goto done;
    }
    {
        size_t dummy, across;
        if ((st = check_filters(ctx, d, "mask", &dummy, 1, &across, 0)) != KM_OK ||
            (st = km_h5_check_storage(ctx, d, "/mask", 1)) != KM_OK)
            goto done;
    }
    if (H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, r->mask) < 0) {
        char why[256];
        km_status kind = km_h5_error_kind(KM_ERR_FORMAT, why, sizeof why);
        st = km_fail(ctx, kind, "/mask cannot be read (%s)", why);
        goto done;
    }
    for (i = 0; i < n; i++) {
        r->mask[i] = r->mask[i] != 0;
        valid += r->mask[i];
    }
    r->info.n_valid = valid;
done:
    if (d >= 0)
        H5Dclose(d);
    return st;
}

static km_status session_read(km_ctx *ctx, km_reader *r, float *frames, double *times,
                              int64_t max_frames, int64_t *n_read);

static const km_reader_ops session_ops = {session_read, session_close};

/* km_reader_probe: the first frame's chunk located and copied by HDF5 but
 * not decoded when this reader decodes it itself (h5_chunks.h), else the
 * first frame read. */
static km_status session_probe(km_ctx *ctx, km_reader *r)
{
    session_impl *s = r->impl;
    km_h5_quiet q;
    int fetched;

    if (s->n_frames == 0)
        return KM_OK;
    km_h5_quiet_begin(&q);
    if (!s->chunks_tried) {
        s->chunks = (s->rct ? km_h5_chunks_open_rct : km_h5_chunks_open)(s->frames, s->slab_cap);
        s->chunks_tried = 1;
    }
    fetched = km_h5_chunks_fetch(s->chunks, s->next);
    km_h5_quiet_end(&q);
    if (fetched)
        return KM_OK;
    size_t rc = (size_t)s->rows * (size_t)s->cols;
    float *frame = km_reader_alloc(r, rc * sizeof *frame);
    if (frame == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory");
    int64_t n = 0;
    km_status st = session_read(ctx, r, frame, NULL, 1, &n);
    km_reader_release(r, frame);
    return st;
}

/* The file itself: readable, HDF5, opened read-only into s->file. */
static km_status open_file(km_ctx *ctx, km_reader *r, session_impl *s)
{
    char why[256];
    km_status st = KM_OK;
    htri_t is = H5Fis_hdf5(r->path);
    if (is < 0 && km_h5_error_kind(KM_ERR_FORMAT, why, sizeof why) == KM_ERR_NOMEM)
        return km_fail(ctx, KM_ERR_NOMEM, "cannot open as HDF5: out of memory");
    if (is <= 0)
        return km_fail(ctx, KM_ERR_FORMAT, "not an HDF5 file (no HDF5 signature)");
    hid_t fapl = km_h5_read_fapl();
    if (fapl < 0)
        return km_fail(ctx, KM_ERR_NOMEM, "cannot set up HDF5 to read the session: out of memory");
    s->file = km_h5_open_ro(r->path, fapl);
    if (s->file < 0) /* before H5Pclose clears HDF5's error stack */
        st = km_h5_open_fail(ctx, NULL, KM_ERR_FORMAT);
    H5Pclose(fapl);
    return st;
}

/* /frames: shape, geometry, filters, chunk size, storage; its frame count
 * into *n_frames. */
static km_status open_frames(km_ctx *ctx, km_reader *r, session_impl *s,
                             const km_read_options *opt, hsize_t *n_frames)
{
    km_status st;
    hsize_t dims[3];
    size_t chunk_bytes = 0, elem = 0, across = 1;
    H5T_class_t cls;

    st = open_dataset(ctx, s->file, "frames", 3, "[T, R, C]", 0, 1, &s->frames, dims, &cls,
                      &elem);
    if (st != KM_OK)
        return st;
    if (dims[0] > (hsize_t)INT64_MAX / 2)
        return km_fail(ctx, KM_ERR_LIMIT, "/frames has too many frames");
    /* The file's own shape: bad data (not the empty --grid of a usage error). */
    if (dims[0] == 0 || dims[1] == 0 || dims[2] == 0)
        return km_fail(ctx, KM_ERR_FORMAT, "/frames is %llu x %llu x %llu: %s",
                       (unsigned long long)dims[0], (unsigned long long)dims[1],
                       (unsigned long long)dims[2],
                       dims[1] == 0 || dims[2] == 0 ? "no taxels" : "no frames");
    uint64_t budget = km_read_max_memory(opt);
    s->slab_cap = budget / 2 > (uint64_t)SIZE_MAX ? SIZE_MAX : (size_t)(budget / 2);
    const int last = opt->time_axis == 1; /* --time-axis last: [R, C, T] */
    if ((st = km_reader_set_geometry(ctx, r, (int64_t)dims[last ? 0 : 1],
                                     (int64_t)dims[last ? 1 : 2])) != KM_OK ||
        (st = check_filters(ctx, s->frames, "frames", &chunk_bytes, elem, &across,
                            s->slab_cap)) != KM_OK ||
        (st = km_h5_check_chunk_size(ctx, chunk_bytes, opt)) != KM_OK ||
        (st = km_h5_check_storage(ctx, s->frames, "/frames", elem)) != KM_OK)
        return st;
    if (last) { /* its own chunk cache; the frame count is the last axis */
        if ((st = km_session_rct_open(ctx, r, s->file, &s->frames, s->slab_cap)) != KM_OK)
            return st;
        s->rct = 1;
        dims[0] = dims[2];
    } else if ((st = km_h5_chunk_cache_within(ctx, s->file, "frames", &s->frames, chunk_bytes, across,
                                              budget)) != KM_OK) {
        return st;
    }
    *n_frames = dims[0];
    s->n_frames = (int64_t)dims[0];
    s->rows = r->info.rows;
    s->cols = r->info.cols;
    r->info.n_frames = s->n_frames;
    r->info.n_valid = r->info.rows * r->info.cols;
    double given = r->info.saturation; /* the root's `saturation`, 0 when absent */
    r->info.saturation = km_h5_int_saturation(s->frames);
    st = km_h5_frames_cf(ctx, s->frames, r, &s->pack);
    if (given > 0)
        r->info.saturation = given;
    return st;
}

/* /time, when present: one value per frame, finite and non-decreasing;
 * without a rate attribute, the nominal rate is 1 / mean step. */
static km_status open_time(km_ctx *ctx, km_reader *r, session_impl *s, hsize_t n_frames, int32_t axis)
{
    km_status st;
    hsize_t tdims[1];
    double first = 0, last = 0;
    size_t dummy, across;

    char tp[66];
    if (H5Lexists(s->file, "time", H5P_DEFAULT) <= 0) /* xarray's time dim by another name */
        km_h5_time_coord(ctx, s->file, s->frames, s->tname, sizeof s->tname);
    snprintf(tp, sizeof tp, "/%s", s->tname);
    st = open_dataset(ctx, s->file, s->tname, 1, "[T] float64", 0, 0, &s->time, tdims, NULL, NULL);
    if (st != KM_OK || s->time < 0)
        return st;
    if (tdims[0] != n_frames && tdims[0] == (hsize_t)r->info.cols && axis == -1) { /* h5py's [R, C, T] */
        if ((st = km_session_rct_open(ctx, r, s->file, &s->frames, s->slab_cap)) != KM_OK)
            return st;
        s->rct = 1; /* its chunks are put in place in time (km_h5_chunks_open_rct) */
        s->n_frames = r->info.n_frames;
        s->rows = r->info.rows;
        s->cols = r->info.cols;
        n_frames = tdims[0];
    }
    if (tdims[0] != n_frames)
        return km_fail(ctx, KM_ERR_FORMAT, "%s has %llu values but /frames has %llu frames%s", tp,
                       (unsigned long long)tdims[0], (unsigned long long)n_frames,
                       axis == 1 ? " (--time-axis last: /frames [R, C, T])"
                                 : axis == 0 ? " (--time-axis first: /frames [T, R, C])" : "");
    if (km_h5_netcdf_phony(ctx, s->time)) { /* xarray's time dim without a coordinate */
        H5Dclose(s->time);
        s->time = H5I_INVALID_HID; /* its length told the layout; times from the rate */
        return KM_OK;
    }
    if ((st = check_filters(ctx, s->time, s->tname, &dummy, 8, &across, 0)) != KM_OK)
        return st;
    /* /time is read in order, a block at a time: a cache of two chunks
       inflates each chunk once.  HDF5's default (1 MiB) would keep every
       chunk read so far, up to 1 MiB: memory growing with the session. */
    size_t chunk_bytes = km_h5_chunk_bytes_1d(s->time, sizeof(double));
    if (chunk_bytes > 0 && 2 * chunk_bytes < ((size_t)1 << 20) &&
        (st = km_h5_reopen_with_chunk_cache(ctx, s->file, s->tname, &s->time, 2 * chunk_bytes,
                                            2)) != KM_OK)
        return st;
    if ((st = km_h5_check_storage(ctx, s->time, tp, 8)) != KM_OK ||
        (st = km_h5_time_scale(ctx, s->time, &s->time_scale)) != KM_OK)
        return st;
    s->time_units = H5Aexists(s->time, "units") > 0;
    km_h5_f64_open(s->time, &s->times.direct); /* else read by H5Dread */
    if ((st = scan_time(ctx, r, s->time, &s->times.direct, s->tname, s->n_frames, &first,
                        &last)) != KM_OK)
        return st;
    if (r->info.frame_rate_hz == 0)
        r->info.frame_rate_hz = km_reader_times_rate(r, (int64_t)s->n_frames, first, last, s->time_scale, "%s", tp);
    s->times.buf = km_reader_alloc(r, KM_H5_TIMES_AHEAD * sizeof(double));
    return s->times.buf != NULL ? KM_OK : km_fail(ctx, KM_ERR_NOMEM, "out of memory");
}

km_status km_open_session(km_ctx *ctx, km_reader *r, const km_read_options *opt)
{
    km_status st = KM_OK;
    km_h5_quiet q;
    session_impl *s;
    hsize_t n_frames = 0;
    int no_schema = 0, rate_named = 0;
    FILE *probe;

    probe = fopen(r->path, "rb");
    if (probe == NULL)
        return km_fail(ctx, KM_ERR_NOT_FOUND, "cannot open the file");
    fclose(probe);
    km_h5_quiet_begin(&q);
    s = km_reader_alloc(r, sizeof *s);
    if (s == NULL) {
        st = km_fail(ctx, KM_ERR_NOMEM, "out of memory");
        goto done;
    }
    memset(s, 0, sizeof *s);
    s->file = s->frames = s->time = H5I_INVALID_HID;
    s->time_scale = 1.0;
    memcpy(s->tname, "time", 5);
    r->impl = s;
    r->ops = &session_ops;
    r->probe = session_probe;
    r->info.format = KM_FORMAT_SESSION;
    if ((st = open_file(ctx, r, s)) != KM_OK ||
        (st = km_session_root_attrs(ctx, r, s->file, opt->format == KM_FORMAT_SESSION, &no_schema)) !=
            KM_OK ||
        (st = km_session_header(ctx, r, s->file)) != KM_OK ||
        (st = open_frames(ctx, r, s, opt, &n_frames)) != KM_OK ||
        (st = open_time(ctx, r, s, n_frames, opt->time_axis)) != KM_OK ||
        (st = read_mask(ctx, r, s->file)) != KM_OK)
        goto done;
    if (no_schema && r->info.frame_rate_hz == 0 && !(opt->frame_rate_hz > 0) &&
        (st = km_session_rate_by_name(ctx, r, s->file, &rate_named)) != KM_OK)
        goto done;
    km_h5_coord_pitch(ctx, &r->info, s->file, s->frames, s->rct);
    st = km_reader_apply_options(ctx, r, opt);
    if (st == KM_OK && no_schema) /* 2: a MATLAB file, its dimension order assumed too */
        km_reader_note_assumed(r, no_schema == 2 ? "schema,matlab" : "schema");
    if (st == KM_OK && rate_named) /* fs = 100 at the root: said as a MAT-file's is */
        km_reader_note_assumed(r, "rate_name");
    /* Another tool's /time without a unit: seconds, as knotmap's own (ms: a rate 1000x too low). */
    if (st == KM_OK && no_schema && s->time >= 0 && !s->time_units)
        km_reader_note_assumed(r, "time_units");
done:
    km_h5_quiet_end(&q);
    return st;
}

static km_status session_read(km_ctx *ctx, km_reader *r, float *frames, double *times,
                              int64_t max_frames, int64_t *n_read)
{
    session_impl *s = r->impl;
    km_status st = KM_OK;
    km_h5_quiet q;
    int quiet = 0; /* HDF5's printing switched off: only around HDF5 calls (its lock) */
    int64_t n = s->n_frames - s->next, done_frames;
    size_t rc = (size_t)s->rows * (size_t)s->cols;
    char why[256] = "";

    *n_read = 0;
    if (n > max_frames)
        n = max_frames;
    if (n <= 0)
        return KM_OK;
    if (km_ctx_cancelled(ctx))
        return km_fail(ctx, KM_ERR_CANCELLED, "cancelled");
    /* Stored chunks decoded here (h5_chunks.h), else HDF5's read (read_session_rct.c: [R, C, T]). */
    if (!s->chunks_tried || !km_h5_chunks_lock_free(s->chunks)) {
        km_h5_quiet_begin(&q);
        quiet = 1;
    }
    if (!s->chunks_tried) {
        s->chunks = (s->rct ? km_h5_chunks_open_rct : km_h5_chunks_open)(s->frames, s->slab_cap);
        s->chunks_tried = 1;
    }
    done_frames = km_h5_chunks_read(s->chunks, s->next, n, frames);
    if (done_frames < n) {
        if (!quiet)
            km_h5_quiet_begin(&q);
        quiet = 1;
        if (km_h5_chunks_damage(s->chunks, why, sizeof why) ||
            km_session_h5_read(s->frames, s->rct, s->next + done_frames, n - done_frames,
                               s->rows, s->cols, frames + (size_t)done_frames * rc) < 0) {
            km_status kind = KM_ERR_FORMAT;
            if (why[0] == '\0') /* HDF5's words, unless a chunk is damaged (never H5Dread's) */
                kind = km_h5_error_kind(kind, why, sizeof why);
            st = km_fail(ctx, kind, "frames %lld..%lld: /frames cannot be read (%s)",
                         (long long)s->next, (long long)(s->next + n - 1), why);
            goto done;
        }
    }
    r->info.n_fill += (int64_t)km_h5_unpack(&s->pack, frames, (size_t)n * rc);
    if (times != NULL && s->time >= 0) {
        if (!quiet && !km_h5_times_held(&s->times, s->next, n)) {
            km_h5_quiet_begin(&q);
            quiet = 1;
        }
        if (!km_h5_times_read(&s->times, s->time, s->n_frames, s->next, n, times)) {
            km_status kind = km_h5_error_kind(KM_ERR_FORMAT, why, sizeof why);
            st = km_fail(ctx, kind, "frames %lld..%lld: /%s cannot be read (%s)",
                         (long long)s->next, (long long)(s->next + n - 1), s->tname, why);
            goto done;
        }
        km_h5_scale_times(times, n, s->time_scale);
    } else if (times != NULL) {
        for (int64_t i = 0; i < n; i++)
            times[i] = (double)(s->next + i) / r->info.frame_rate_hz;
    }
    s->next += n;
    *n_read = n;
done:
    if (quiet)
        km_h5_quiet_end(&q);
    return st;
}
