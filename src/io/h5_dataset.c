/* Datasets (see h5util.h): the 1-D columns of result tables, and the
 * checks of untrusted inputs (declared extent against stored data, the
 * size of a chunk). */
#define _POSIX_C_SOURCE 200809L

#include "h5util.h"
#include "reader_internal.h"

#include <math.h>

km_status km_h5_write_column(km_ctx *ctx, hid_t group, const char *name, hid_t mem_type,
                             hid_t file_type, const void *data, size_t n, const char *units)
{
    km_status st = KM_OK;
    hsize_t dims[1] = {(hsize_t)n};
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t dset = H5I_INVALID_HID;

    if (space < 0)
        goto fail;
    if (!km_h5_headroom())
        goto fail;
    dset = H5Dcreate2(group, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (dset < 0)
        goto fail;
    if (n > 0 && H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        goto fail;
    if (units != NULL && (st = km_h5_attr_put_string(ctx, dset, "units", units)) != KM_OK)
        goto done;
    goto done;
fail:
    st = km_h5_write_fail(ctx, KM_ERR_IO, 0, "cannot write dataset %s", name);
done:
    if (dset >= 0)
        H5Dclose(dset);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

/* See h5util.h.  A few KiB can declare 2^40 frames or gigabytes of fill
 * values. */
/* Why: said of a session's frames, a result's maps and a MAT-file's arrays alike. */
#define UNWRITTEN "unwritten data (a file must store every value it declares)"

km_status km_h5_check_storage(km_ctx *ctx, hid_t d, const char *name, size_t elem_size)
{
    km_status st = KM_OK;
    hid_t dcpl = H5Dget_create_plist(d);
    hid_t space = H5Dget_space(d);
    hsize_t dims[H5S_MAX_RANK], chunk[H5S_MAX_RANK], n_chunks = 0;
    hsize_t stored = H5Dget_storage_size(d);
    double declared = (double)elem_size, want = 1;
    H5D_layout_t layout;
    int i, rank = space >= 0 ? H5Sget_simple_extent_dims(space, dims, NULL) : -1;

    if (rank < 0 || dcpl < 0) {
        st = km_fail(ctx, KM_ERR_FORMAT, "%s: cannot read its shape and storage", name);
        goto done;
    }
    for (i = 0; i < rank; i++)
        declared *= (double)dims[i];
    layout = H5Pget_layout(dcpl);
    if (H5Pget_external_count(dcpl) != 0 || layout == H5D_VIRTUAL) {
        st = km_fail(ctx, KM_ERR_UNSUPPORTED,
                     "%s is stored in other files (external or virtual storage): not read",
                     name);
        goto done;
    }
    if (declared == 0 || layout == H5D_COMPACT)
        goto done;
    if (layout == H5D_CONTIGUOUS) {
        if ((double)stored < declared)
            st = km_fail(ctx, KM_ERR_FORMAT,
                         "%s declares %.0f bytes but stores %llu: " UNWRITTEN, name, declared,
                         (unsigned long long)stored);
        goto done;
    }
    if (layout != H5D_CHUNKED || H5Pget_chunk(dcpl, rank, chunk) != rank) {
        st = km_fail(ctx, KM_ERR_FORMAT, "%s: unknown storage layout", name);
        goto done;
    }
    for (i = 0; i < rank; i++) {
        if (chunk[i] == 0) {
            st = km_fail(ctx, KM_ERR_FORMAT, "%s: chunk dimension %d is 0", name, i);
            goto done;
        }
        want *= (double)((dims[i] + chunk[i] - 1) / chunk[i]);
    }
    /* libhdf5 1.10.8 refuses H5S_ALL here, despite its documentation. */
    if (H5Dget_num_chunks(d, space, &n_chunks) < 0) {
        st = km_fail(ctx, KM_ERR_FORMAT, "%s: its chunk index cannot be read", name);
        goto done;
    }
    if ((double)n_chunks < want) {
        st = km_fail(ctx, KM_ERR_FORMAT,
                     "%s declares %.0f chunks but stores %llu: " UNWRITTEN, name, want,
                     (unsigned long long)n_chunks);
        goto done;
    }
    char why[200];
    int bad = rank <= 2 ? km_h5_chunks_unsound(d, dcpl, space, elem_size, why, sizeof why) : 0;
    if (bad) {
        st = km_fail(ctx, km_h5_unsound_status(bad), "%s: %s", name, why);
        goto done;
    }
    if (H5Pget_nfilters(dcpl) == 0) {
        double per = (double)elem_size;
        for (i = 0; i < rank; i++)
            per *= (double)chunk[i];
        if ((double)stored < per * want)
            st = km_fail(ctx, KM_ERR_FORMAT,
                         "%s stores %llu bytes, less than its %.0f uncompressed chunks need",
                         name, (unsigned long long)stored, want);
    }
done:
    if (space >= 0)
        H5Sclose(space);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return st;
}

const char *km_h5_class_text(H5T_class_t c)
{
    switch (c) {
    case H5T_STRING: return "strings";
    case H5T_COMPOUND: return "a compound type";
    case H5T_ENUM: return "an enum type";
    case H5T_OPAQUE: return "an opaque type";
    case H5T_VLEN: return "variable-length sequences";
    case H5T_ARRAY: return "an array type";
    case H5T_REFERENCE: return "references";
    case H5T_BITFIELD: return "bitfields";
    default: return "an unknown type";
    }
}

/* Saturation of integer raw counts: the top of the stored type. */
double km_h5_int_saturation(hid_t d)
{
    hid_t t = H5Dget_type(d);
    double sat = INFINITY;
    if (t >= 0 && H5Tget_class(t) == H5T_INTEGER) {
        size_t bits = H5Tget_size(t) * 8;
        int is_signed = H5Tget_sign(t) == H5T_SGN_2;
        if (bits <= 32)
            sat = ldexp(1.0, (int)bits - is_signed) - 1.0;
    }
    if (t >= 0)
        H5Tclose(t);
    return sat;
}

km_status km_h5_check_chunk_size(km_ctx *ctx, size_t chunk_bytes, const km_read_options *opt)
{
    uint64_t budget = km_read_max_memory(opt);
    if (chunk_bytes > KM_CHUNK_MAX_BYTES)
        return km_fail(ctx, KM_ERR_LIMIT,
                       "/frames is stored in chunks of %.1f MiB: beyond the limit of %d MiB "
                       "per chunk (rechunk it, e.g. with h5repack -l)",
                       (double)chunk_bytes / 1048576.0, KM_CHUNK_MAX_BYTES >> 20);
    if (budget > 0 && chunk_bytes > budget / 2)
        return km_fail(ctx, KM_ERR_LIMIT,
                       "/frames is stored in chunks of %.1f MiB: beyond half the memory "
                       "budget of %.0f MiB (--max-memory, max_memory=)",
                       (double)chunk_bytes / 1048576.0, (double)budget / 1048576.0);
    return KM_OK;
}

int km_h5_read_block(hid_t d, hid_t mtype, int rank, const hsize_t *start, const hsize_t *count,
                     void *out)
{
    char damage[200];
    hid_t type = H5Dget_type(d);
    size_t elem = type >= 0 ? H5Tget_size(type) : 0;
    if (type >= 0)
        H5Tclose(type);
    int bad = km_h5_block_unsound(d, elem, start, count, damage, sizeof damage);
    if (bad) {
        km_h5_push_unsound(bad, damage); /* the caller's error text (km_h5_error_text) */
        return 0;
    }
    hid_t fspace = H5Dget_space(d), mspace = H5Screate_simple(rank, count, NULL);
    int ok = fspace >= 0 && mspace >= 0 &&
             H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
             H5Dread(d, mtype, mspace, fspace, H5P_DEFAULT, out) >= 0;
    hid_t why = ok ? H5I_INVALID_HID : H5Eget_current_stack();
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    if (why >= 0)
        H5Eset_current_stack(why);
    return ok;
}
