/* Session writer: knotmap session HDF5 v1 (docs/FORMAT.md 1.2).
 *
 * The file is written under a temporary name beside the target and renamed
 * into place by commit, so the final name never holds a half-written
 * session (a writer killed before H5Fclose leaves an unreadable file). */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "atomic_out.h"
#include "h5_chunks.h"
#include "h5_vfd.h"
#include "h5util.h"
#include "reader_internal.h"

#define KM_SESSION_CHUNK_BYTES (1u << 20) /* target size of one [k, R, C] frames chunk */
#define KM_SESSION_TIME_CHUNK 4096
#define KM_DEFLATE_LEVEL 4

struct km_session_writer {
    km_alloc_ref alloc;
    char *path;
    km_atomic_out out; /* the temporary file, renamed by commit */
    km_h5_io io;       /* its OS errors; closing mode (h5_vfd.h) */
    hid_t file, frames, time;
    /* Chunks compressed here, outside HDF5's lock (h5_chunks.h); NULL:
       H5Dwrite compresses them. */
    km_h5_deflater *defl;
    km_h5_chunks_out *zframes, *ztime;
    int32_t rows, cols;
    double rate;
    int64_t n_frames;
    double last_time;
    int overwrite;
    int committed;
    int has_truth;
    int broken; /* a write failed: the file is not trustworthy, commit refuses */
};

static km_status check_info(km_ctx *ctx, const km_session_info *info)
{
    km_status st = km_check_shape(ctx, info->rows, info->cols, "session grid");
    if (st != KM_OK)
        return st;
    if (!(info->frame_rate_hz > 0) || !isfinite(info->frame_rate_hz))
        return km_fail(ctx, KM_ERR_INVALID, "frame_rate_hz must be positive and finite");
    if (!(info->row_pitch_mm >= 0) || !isfinite(info->row_pitch_mm) ||
        !(info->col_pitch_mm >= 0) || !isfinite(info->col_pitch_mm))
        return km_fail(ctx, KM_ERR_INVALID, "pitches must be finite and >= 0 (0 = 1 mm)");
    if (info->units[0] != '\0' && (memchr(info->units, '\0', sizeof info->units) == NULL ||
                                   !km_units_known(info->units)))
        return km_fail(ctx, KM_ERR_INVALID, "units must be kPa, mmHg, N/cm2 or raw");
    if (info->mode != KM_MODE_MAT && info->mode != KM_MODE_ROLLER)
        return km_fail(ctx, KM_ERR_INVALID, "mode must be KM_MODE_MAT or KM_MODE_ROLLER");
    if (!(info->roller_radius_mm >= 0) || !isfinite(info->roller_radius_mm))
        return km_fail(ctx, KM_ERR_INVALID, "roller_radius_mm must be finite and >= 0");
    return KM_OK;
}

static km_status write_root_attrs(km_ctx *ctx, hid_t f, const km_session_info *info)
{
    km_status st;
    double rp = info->row_pitch_mm > 0 ? info->row_pitch_mm : 1.0;
    double cp = info->col_pitch_mm > 0 ? info->col_pitch_mm : 1.0;

    if ((st = km_h5_attr_put_string(ctx, f, "schema", "knotmap-session")) != KM_OK ||
        (st = km_h5_attr_put_int64(ctx, f, "schema_version", 1)) != KM_OK ||
        (st = km_h5_attr_put_double(ctx, f, "frame_rate_hz", info->frame_rate_hz)) != KM_OK ||
        (st = km_h5_attr_put_double(ctx, f, "row_pitch_mm", rp)) != KM_OK ||
        (st = km_h5_attr_put_double(ctx, f, "col_pitch_mm", cp)) != KM_OK ||
        (st = km_h5_attr_put_string(ctx, f, "units",
                                    info->units[0] ? info->units : "raw")) != KM_OK ||
        (st = km_h5_attr_put_string(ctx, f, "mode",
                                    info->mode == KM_MODE_ROLLER ? "roller" : "mat")) != KM_OK ||
        (st = km_h5_attr_put_string(ctx, f, "knotmap_version", km_version_string())) != KM_OK)
        return st;
    if (info->mode == KM_MODE_ROLLER || info->roller_radius_mm > 0)
        st = km_h5_attr_put_double(ctx, f, "roller_radius_mm", info->roller_radius_mm);
    if (st == KM_OK && info->saturation > 0 && isfinite(info->saturation))
        st = km_h5_attr_put_double(ctx, f, "saturation", info->saturation);
    return st;
}

static km_status write_mask(km_ctx *ctx, hid_t f, int32_t rows, int32_t cols,
                            const uint8_t *mask)
{
    km_status st = KM_OK;
    hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
    size_t n = (size_t)rows * (size_t)cols, i;
    uint8_t *ones = NULL;
    hid_t space = H5Screate_simple(2, dims, NULL), dset = H5I_INVALID_HID;

    if (mask == NULL) {
        ones = km_alloc(ctx, n);
        if (ones == NULL) {
            st = KM_ERR_NOMEM;
            goto done;
        }
        memset(ones, 1, n);
        mask = ones;
    } else {
        /* The format stores 0/1; normalise any nonzero byte. */
        ones = km_alloc(ctx, n);
        if (ones == NULL) {
            st = KM_ERR_NOMEM;
            goto done;
        }
        for (i = 0; i < n; i++)
            ones[i] = mask[i] != 0;
        mask = ones;
    }
    if (space >= 0 && km_h5_headroom())
        dset = H5Dcreate2(f, "mask", H5T_STD_U8LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (dset < 0 || H5Dwrite(dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, mask) < 0)
        st = km_h5_write_fail(ctx, KM_ERR_IO, 0, "cannot write /mask");
done:
    km_free(ctx, ones);
    if (dset >= 0)
        H5Dclose(dset);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

/* An extendible, chunked dataset of rank 1 or 3, with shuffle + deflate. */
static hid_t create_extendible(hid_t f, const char *name, hid_t type, int rank,
                               const hsize_t *chunk)
{
    hsize_t dims[3] = {0, chunk[1 % rank], chunk[2 % rank]};
    hsize_t maxdims[3] = {H5S_UNLIMITED, dims[1], dims[2]};
    hid_t space = H5Screate_simple(rank, dims, maxdims);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), dset = H5I_INVALID_HID;

    if (space < 0 || dcpl < 0 || H5Pset_chunk(dcpl, rank, chunk) < 0 || H5Pset_shuffle(dcpl) < 0 ||
        H5Pset_deflate(dcpl, KM_DEFLATE_LEVEL) < 0)
        goto done;
    dset = H5Dcreate2(f, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
done:
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return dset;
}

/* The session's last write or close failed. */
static km_status fail_session(km_ctx *ctx, const km_session_writer *w)
{
    return km_h5_write_fail(ctx, KM_ERR_IO, w->io.err, "%s: cannot write the session", w->path);
}

static void close_handles(km_session_writer *w)
{
    km_h5_chunks_out_free(w->zframes);
    km_h5_chunks_out_free(w->ztime);
    w->zframes = w->ztime = NULL;
    w->io.closing = 1; /* pending writes may fail silently: never inside H5Fclose */
    if (w->frames >= 0)
        H5Dclose(w->frames);
    if (w->time >= 0)
        H5Dclose(w->time);
    if (w->file >= 0)
        H5Fclose(w->file);
    w->frames = w->time = w->file = H5I_INVALID_HID;
}

/* /frames and /time, empty and extendible, with their chunk writers. */
static km_status create_datasets(km_ctx *ctx, km_session_writer *w)
{
    size_t frame_bytes = (size_t)w->rows * (size_t)w->cols * sizeof(float);
    hsize_t fchunk[3], tchunk[1] = {KM_SESSION_TIME_CHUNK};
    fchunk[0] = frame_bytes >= KM_SESSION_CHUNK_BYTES ? 1 : KM_SESSION_CHUNK_BYTES / frame_bytes;
    if (fchunk[0] > 256)
        fchunk[0] = 256;
    fchunk[1] = (hsize_t)w->rows;
    fchunk[2] = (hsize_t)w->cols;
    if (km_h5_headroom())
        w->frames = create_extendible(w->file, "frames", H5T_IEEE_F32LE, 3, fchunk);
    if (w->frames >= 0 && km_h5_headroom())
        w->time = create_extendible(w->file, "time", H5T_IEEE_F64LE, 1, tchunk);
    if (w->frames < 0 || w->time < 0)
        return km_h5_write_fail(ctx, KM_ERR_IO, w->io.err, "cannot create /frames and /time");
    km_status st = km_h5_attr_put_string(ctx, w->time, "units", "s");
    w->defl = km_h5_deflater_new();
    if (st == KM_OK && w->defl != NULL) {
        w->zframes = km_h5_chunks_out_open(w->frames, H5T_NATIVE_FLOAT, w->defl);
        /* Frames of noisy or quantised values deflate smaller unshuffled,
           smooth ones shuffled: each chunk stored the smaller way. */
        if (w->zframes != NULL)
            km_h5_chunks_out_best_of(w->zframes);
        w->ztime = km_h5_chunks_out_open(w->time, H5T_NATIVE_DOUBLE, w->defl);
    }
    return st;
}

/* KM_OVERWRITE_SYNTHETIC: an existing session (the schema already checked)
   is replaced only when it holds /truth, as every session knotmap synth
   writes does; a recording in knotmap's format does not (session 46: `synth
   -o rec.h5` replaced one without a word). */
static km_status check_synthetic(km_ctx *ctx, const char *path)
{
    km_h5_quiet q;
    hid_t f;
    km_status st = KM_OK;
    int truth = 0; /* unreadable now: kept, never replaced */
    if (access(path, F_OK) != 0)
        return KM_OK;
    km_h5_quiet_begin(&q);
    f = km_h5_open_ro(path, H5P_DEFAULT);
    if (f >= 0) {
        truth = H5Lexists(f, "truth", H5P_DEFAULT) > 0;
        H5Fclose(f);
    } else { /* out of memory, in use: said so (a damaged file: KM_OK, not replaced) */
        st = km_h5_open_fail(ctx, path, KM_OK);
    }
    km_h5_quiet_end(&q);
    if (st != KM_OK)
        return st;
    if (!truth)
        return km_fail(ctx, KM_ERR_CREATE, "%s: exists and is a recorded session (no /truth: knotmap "
                       "synth did not write it): not replacing it", path);
    return KM_OK;
}

km_status km_session_writer_create(km_ctx *ctx, const char *path, const km_session_info *info,
                                   const uint8_t *mask, int32_t overwrite, km_session_writer **out)
{
    km_status st;
    km_session_writer *w = NULL;
    km_h5_quiet q;
    hid_t fapl;

    if (out == NULL || path == NULL || info == NULL || path[0] == '\0')
        return km_fail(ctx, KM_ERR_INVALID, "session writer: path, info and out are required");
    *out = NULL;
    if ((st = check_info(ctx, info)) != KM_OK)
        return st;
    if ((st = km_atomic_check_target(ctx, path, "knotmap-session", overwrite != 0)) != KM_OK ||
        (overwrite == KM_OVERWRITE_SYNTHETIC && (st = check_synthetic(ctx, path)) != KM_OK))
        return st;
    km_h5_quiet_begin(&q);
    w = km_calloc(ctx, 1, sizeof *w);
    if (w == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    w->alloc = km_ctx_alloc_ref(ctx);
    km_atomic_init(&w->out);
    w->file = w->frames = w->time = H5I_INVALID_HID;
    w->rows = info->rows;
    w->cols = info->cols;
    w->rate = info->frame_rate_hz;
    w->last_time = -INFINITY;
    w->overwrite = overwrite != 0;
    w->path = km_ref_strdup(&w->alloc, path);
    if (w->path == NULL) {
        st = km_fail(ctx, KM_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((st = km_atomic_open(ctx, &w->alloc, path, "knotmap-session", overwrite != 0, &w->out)) !=
            KM_OK ||
        (st = km_atomic_close_fd(ctx, &w->out)) != KM_OK)
        goto done;
    w->io.write_out = 1; /* the frames' write-out started as they are written (h5_vfd.h 3.) */
    fapl = km_h5_write_fapl(&w->io);
    /* A failed write inside H5Fcreate is recorded, not raised (h5_vfd.h). */
    w->io.closing = 1;
    w->file = fapl >= 0 && km_h5_headroom() ? H5Fcreate(w->out.tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl) : -1;
    w->io.closing = w->io.err != 0;
    if (fapl >= 0)
        H5Pclose(fapl);
    if (w->file < 0 || w->io.err != 0) {
        st = km_h5_write_fail(ctx, KM_ERR_CREATE, w->io.err, "%s: cannot create the HDF5 file", path);
        goto done;
    }
    if ((st = write_root_attrs(ctx, w->file, info)) != KM_OK ||
        (st = write_mask(ctx, w->file, w->rows, w->cols, mask)) != KM_OK)
        goto fail_prefix;
    if ((st = create_datasets(ctx, w)) != KM_OK)
        goto fail_prefix;
    *out = w;
    w = NULL;
    goto done;
fail_prefix:
    km_error_prefix(ctx, path);
done:
    km_session_writer_free(w);
    km_h5_quiet_end(&q);
    return st;
}

/* Extend a dataset along its first axis and write `n` records at `at`. */
static herr_t append_rows(hid_t dset, int rank, hsize_t at, hsize_t n, hid_t mem_type,
                          const void *data)
{
    hsize_t dims[3], start[3] = {at, 0, 0}, count[3];
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    herr_t rc = -1;
    int i;

    fspace = H5Dget_space(dset);
    if (fspace < 0 || H5Sget_simple_extent_dims(fspace, dims, NULL) != rank)
        goto done;
    H5Sclose(fspace);
    fspace = H5I_INVALID_HID;
    dims[0] = at + n;
    if (H5Dset_extent(dset, dims) < 0 || (fspace = H5Dget_space(dset)) < 0)
        goto done;
    count[0] = n;
    for (i = 1; i < rank; i++)
        count[i] = dims[i];
    mspace = H5Screate_simple(rank, count, NULL);
    if (mspace < 0 || H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0)
        goto done;
    rc = H5Dwrite(dset, mem_type, mspace, fspace, H5P_DEFAULT, data);
done:
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    return rc;
}

static km_status usable(km_ctx *ctx, const km_session_writer *w)
{
    if (w == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "session writer is NULL");
    if (w->committed)
        return km_fail(ctx, KM_ERR_INVALID, "%s: session writer already committed", w->path);
    if (w->broken)
        return km_fail(ctx, KM_ERR_IO, "%s: an earlier write failed; the session is abandoned",
                       w->path);
    return KM_OK;
}

#define KM_TIME_BLOCK 1024

km_status km_session_writer_append(km_ctx *ctx, km_session_writer *w, const float *frames,
                                   const double *times, int64_t n)
{
    km_status st;
    km_h5_quiet q;
    double tbuf[KM_TIME_BLOCK];
    int64_t i, j;

    if ((st = usable(ctx, w)) != KM_OK)
        return st;
    if (n < 0 || (n > 0 && frames == NULL))
        return km_fail(ctx, KM_ERR_INVALID, "%s: append needs n >= 0 frames", w->path);
    if (n == 0)
        return KM_OK;
    if (n > INT64_MAX / 2 - w->n_frames)
        return km_fail(ctx, KM_ERR_LIMIT, "%s: too many frames", w->path);
    if (times != NULL) {
        double last = w->last_time;
        for (i = 0; i < n; i++) {
            if (!isfinite(times[i]) || times[i] < last)
                return km_fail(ctx, KM_ERR_INVALID,
                               "%s: frame %lld: time %g is not finite or goes backwards",
                               w->path, (long long)(w->n_frames + i), times[i]);
            last = times[i];
        }
    }
    km_h5_quiet_begin(&q);
    st = KM_OK;
    if (w->zframes != NULL ? !km_h5_chunks_write(w->zframes, frames, (size_t)n)
                           : append_rows(w->frames, 3, (hsize_t)w->n_frames, (hsize_t)n,
                                         H5T_NATIVE_FLOAT, frames) < 0) {
        st = km_h5_write_fail(ctx, KM_ERR_IO, w->io.err, "%s: cannot write frames %lld..%lld", w->path,
                              (long long)w->n_frames, (long long)(w->n_frames + n - 1));
        goto done;
    }
    for (i = 0; i < n; i += KM_TIME_BLOCK) {
        int64_t m = n - i < KM_TIME_BLOCK ? n - i : KM_TIME_BLOCK;
        const double *t = times != NULL ? times + i : tbuf;
        if (times == NULL)
            for (j = 0; j < m; j++)
                tbuf[j] = (double)(w->n_frames + i + j) / w->rate;
        if (w->ztime != NULL ? !km_h5_chunks_write(w->ztime, t, (size_t)m)
                             : append_rows(w->time, 1, (hsize_t)(w->n_frames + i), (hsize_t)m,
                                           H5T_NATIVE_DOUBLE, t) < 0) {
            st = km_h5_write_fail(ctx, KM_ERR_IO, w->io.err, "%s: cannot write /time", w->path);
            goto done;
        }
        w->last_time = t[m - 1];
    }
    w->n_frames += n;
done:
    if (st != KM_OK)
        w->broken = 1;
    km_h5_quiet_end(&q);
    return st;
}

km_status km_session_writer_set_truth(km_ctx *ctx, km_session_writer *w, const double *x_mm,
                                      const double *y_mm, const double *sigma_mm,
                                      const double *amplitude_kpa,
                                      const double *footprint_sigma_mm, size_t n)
{
    km_status st;
    km_h5_quiet q;
    hid_t lcpl = H5I_INVALID_HID, g = H5I_INVALID_HID;

    if ((st = usable(ctx, w)) != KM_OK)
        return st;
    if (w->has_truth)
        return km_fail(ctx, KM_ERR_INVALID, "%s: the truth table is already written", w->path);
    if (n > 0 && (x_mm == NULL || y_mm == NULL || sigma_mm == NULL || amplitude_kpa == NULL))
        return km_fail(ctx, KM_ERR_INVALID, "%s: truth columns must not be NULL", w->path);
    km_h5_quiet_begin(&q);
    lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (lcpl < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0 ||
        (g = H5Gcreate2(w->file, "truth/knots", lcpl, H5P_DEFAULT, H5P_DEFAULT)) < 0) {
        st = km_h5_write_fail(ctx, KM_ERR_IO, w->io.err, "cannot create /truth/knots");
        goto done;
    }
    if ((st = km_h5_write_column(ctx, g, "x_mm", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, x_mm, n,
                                 "mm")) != KM_OK ||
        (st = km_h5_write_column(ctx, g, "y_mm", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, y_mm, n,
                                 "mm")) != KM_OK ||
        (st = km_h5_write_column(ctx, g, "sigma_mm", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, sigma_mm,
                                 n, "mm")) != KM_OK ||
        (st = km_h5_write_column(ctx, g, "amplitude_kpa", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE,
                                 amplitude_kpa, n, "kPa")) != KM_OK ||
        (footprint_sigma_mm != NULL &&
         (st = km_h5_write_column(ctx, g, "footprint_sigma_mm", H5T_NATIVE_DOUBLE,
                                  H5T_IEEE_F64LE, footprint_sigma_mm, n, "mm")) != KM_OK))
        goto done;
    w->has_truth = 1;
done:
    if (st != KM_OK) {
        w->broken = 1;
        km_error_prefix(ctx, w->path);
    }
    if (g >= 0)
        H5Gclose(g);
    if (lcpl >= 0)
        H5Pclose(lcpl);
    km_h5_quiet_end(&q);
    return st;
}

km_status km_session_writer_commit(km_ctx *ctx, km_session_writer *w)
{
    km_status st;
    km_h5_quiet q;
    herr_t rc = 0;

    if ((st = usable(ctx, w)) != KM_OK)
        return st;
    km_h5_quiet_begin(&q);
    /* The last, partly filled chunks. */
    if ((w->zframes != NULL && !km_h5_chunks_flush(w->zframes)) ||
        (w->ztime != NULL && !km_h5_chunks_flush(w->ztime))) {
        w->broken = 1;
        st = fail_session(ctx, w); /* before the stack is cleared */
        km_h5_quiet_end(&q);
        return st;
    }
    km_h5_chunks_out_free(w->zframes);
    km_h5_chunks_out_free(w->ztime);
    w->zframes = w->ztime = NULL;
    w->io.closing = 1; /* errors are recorded in w->io, never raised inside H5Fclose */
    if (w->frames >= 0)
        rc |= H5Dclose(w->frames);
    if (w->time >= 0)
        rc |= H5Dclose(w->time);
    w->frames = w->time = H5I_INVALID_HID;
    if (w->file >= 0)
        rc |= H5Fclose(w->file);
    w->file = H5I_INVALID_HID;
    if (rc < 0 || w->io.err != 0) {
        w->broken = 1;
        st = fail_session(ctx, w);
        km_h5_quiet_end(&q);
        return st;
    }
    km_h5_quiet_end(&q);
    /* km_atomic_commit checks the target again before replacing it. */
    if ((st = km_atomic_commit(ctx, &w->out)) != KM_OK) {
        w->broken = 1;
        return st;
    }
    w->committed = 1;
    return KM_OK;
}

void km_session_writer_free(km_session_writer *w)
{
    km_h5_quiet q;

    if (w == NULL)
        return;
    km_h5_quiet_begin(&q);
    close_handles(w);
    km_h5_quiet_end(&q);
    km_atomic_discard(&w->out);
    km_h5_deflater_free(w->defl);
    km_ref_free(&w->alloc, w->path);
    km_alloc_ref a = w->alloc;
    km_ref_free(&a, w);
}
