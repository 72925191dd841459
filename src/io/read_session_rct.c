/* HDF5 sessions whose /frames is stored [R, C, T]: an h5py user keeps a
 * recording time-last, xarray writes the dims in the order given.  The
 * order is known only from /time, as long as /frames' last axis and not
 * its first (read_session.c asks).  Chunks that h5_chunks_read.c takes
 * are decoded there (km_h5_chunks_open_rct); the rest is read here, a block
 * [R, C, n] at a time through HDF5, and transposed.  docs/FORMAT.md 1.2.
 * Also the HDF5 read of either layout (km_session_h5_read). */
#include <stdint.h>
#include <stdlib.h>

#include "reader_internal.h"
#include "h5_raw.h"
#include "h5util.h"

km_status km_session_rct_open(km_ctx *ctx, km_reader *r, hid_t file, hid_t *frames, size_t budget)
{
    hsize_t dims[3], chunk[3];
    hid_t space = H5Dget_space(*frames), dcpl = H5Dget_create_plist(*frames);
    hid_t type = H5Dget_type(*frames);
    km_status st = KM_OK;
    size_t elem = type >= 0 ? H5Tget_size(type) : 4;

    if (space < 0 || dcpl < 0 || H5Sget_simple_extent_dims(space, dims, NULL) != 3) {
        st = km_fail(ctx, KM_ERR_FORMAT, "/frames: cannot read its shape");
        goto done;
    }
    if (dims[2] > (hsize_t)INT64_MAX / 2) {
        st = km_fail(ctx, KM_ERR_LIMIT, "/frames has too many frames");
        goto done;
    }
    if ((st = km_reader_set_geometry(ctx, r, (int64_t)dims[0], (int64_t)dims[1])) != KM_OK)
        goto done;
    r->info.n_frames = (int64_t)dims[2];
    /* A block of frames touches every chunk across R x C for the chunks'
       run of T: cache them all (up to the budget), so each inflates once. */
    if (H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, 3, chunk) == 3) {
        double across = (double)((dims[0] + chunk[0] - 1) / chunk[0]) *
                        (double)((dims[1] + chunk[1] - 1) / chunk[1]);
        double bytes = across * (double)chunk[0] * (double)chunk[1] * (double)chunk[2] * (double)elem;
        if (bytes > (double)(1u << 20) && bytes <= (double)budget)
            st = km_h5_reopen_with_chunk_cache(ctx, file, "frames", frames, (size_t)bytes,
                                               (size_t)across);
    }
done:
    if (type >= 0)
        H5Tclose(type);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

int km_session_rct_read(hid_t frames, int64_t t0, int64_t n, int32_t rows, int32_t cols, float *out)
{
    size_t plane = (size_t)rows * (size_t)cols, len = (size_t)n;
    hsize_t start[3] = {0, 0, (hsize_t)t0}, count[3] = {(hsize_t)rows, (hsize_t)cols, (hsize_t)n};
    float *tmp = malloc(len * plane * sizeof *tmp);
    int rc = -1;

    /* km_h5_read_block keeps HDF5's error stack for the caller's message. */
    if (tmp != NULL && km_h5_read_block(frames, H5T_NATIVE_FLOAT, 3, start, count, tmp)) {
        /* [R, C, n] -> [n, R, C], a few taxels' runs of n at a time */
        for (size_t p0 = 0; p0 < plane; p0 += 16) {
            size_t p1 = p0 + 16 < plane ? p0 + 16 : plane;
            for (size_t k = 0; k < len; k++)
                for (size_t p = p0; p < p1; p++)
                    out[k * plane + p] = tmp[p * len + k];
        }
        rc = 0;
    }
    free(tmp);
    return rc;
}

int km_session_h5_read(hid_t frames, int rct, int64_t t0, int64_t n, int32_t rows, int32_t cols,
                       float *out)
{
    hsize_t start[3] = {(hsize_t)t0, 0, 0}, count[3] = {(hsize_t)n, (hsize_t)rows, (hsize_t)cols};
    int rc = rct ? km_session_rct_read(frames, t0, n, rows, cols, out)
                 : km_h5_read_block(frames, H5T_NATIVE_FLOAT, 3, start, count, out) ? 0 : -1;
    /* Read or not, a file cut meanwhile is the reason (h5_raw.h). */
    return km_h5_file_cut(frames) ? -1 : rc;
}
