/* Every stored chunk of a small dataset decoded once before HDF5 reads it
 * (h5util.h: km_h5_check_storage, km_h5_dread): HDF5's deflate filter inflates whatever
 * a chunk's stream says (a 1 MB chunk of a session's /time or /mask to
 * 1 GB, 16 s) and hands on a chunk that inflates short with its tail
 * uninitialised (heap bytes read as times).  Decoded here into a buffer of
 * the chunk's size, such a chunk stops at once. */
#include <libdeflate.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "h5_chunks.h"
#include "h5util.h"

/* Checked: declared values up to 64 MiB (a session's /time and /mask, a
 * result's tables and maps, at most a few milliseconds to decode) in at
 * most 4096 chunks (a look-up each); a session's /frames is decoded by its
 * own reader, which stops at a damaged chunk the same way.  A block read by
 * km_h5_read_block (MAT v7.3 frames, /frames with pipelines knotmap's
 * reader does not take, /time past the open's check): the chunks it covers,
 * at most 4096 of at most 64 MiB each, whatever the dataset's size. */
#define CHECK_MAX_BYTES ((double)(64 << 20))
#define CHECK_MAX_CHUNKS 4096.0

/* The chunk at coordinates off (rank values) decoded into dst; 1 when it
 * gives chunk_bytes exactly or is not stored (HDF5 reads the fill value).
 * sum_bit: the filter-mask bit of a Fletcher-32 checksum ending the
 * pipeline (its 4 bytes end the stored chunk; libhdf5 checks them), 0. */
static int chunk_sound(hid_t d, const hsize_t *off, const int *step, int n_steps, unsigned sum_bit,
                       size_t elem, size_t chunk_bytes, unsigned char *buf,
                       struct libdeflate_decompressor *dec, char *why, size_t cap)
{
    unsigned mask = 0;
    uint32_t skipped = 0;
    haddr_t addr = HADDR_UNDEF;
    hsize_t stored = 0;
    if (H5Dget_chunk_info_by_coord(d, off, &mask, &addr, &stored) < 0 || addr == HADDR_UNDEF ||
        stored == 0)
        return 1; /* not stored (the storage check counts them) or HDF5 says why when read */
    if (stored <= (hsize_t)(chunk_bytes + chunk_bytes / 8 + 4096) &&
        H5Dread_chunk(d, H5P_DEFAULT, off, &skipped, buf) >= 0 &&
        (sum_bit == 0 || (skipped & sum_bit) || stored >= 4) &&
        km_h5_decode_steps(dec, step, n_steps, skipped, buf,
                           (size_t)stored - (sum_bit != 0 && !(skipped & sum_bit) ? 4 : 0), elem, chunk_bytes,
                           buf + 2 * chunk_bytes + 4096, buf + 3 * chunk_bytes + 4096))
        return 1;
    snprintf(why, cap, "the chunk at byte %llu: %llu bytes stored do not decode to its %zu bytes, "
             "damaged file", (unsigned long long)addr, (unsigned long long)stored, chunk_bytes);
    return 0;
}

/* km_h5_filter_steps of dcpl, a Fletcher-32 checksum at the pipeline's end
   (h5py's fletcher32=True) set aside: its filter-mask bit in *sum_bit. */
static int check_steps(hid_t dcpl, int *step, unsigned *cd0, unsigned *sum_bit)
{
    int n = H5Pget_nfilters(dcpl);
    unsigned flags = 0, cd[1];
    size_t n_cd = 1;
    *sum_bit = 0;
    if (n < 2 || H5Pget_filter2(dcpl, (unsigned)n - 1, &flags, &n_cd, cd, 0, NULL, NULL) != H5Z_FILTER_FLETCHER32)
        return km_h5_filter_steps(dcpl, step, cd0);
    hid_t rest = H5Pcopy(dcpl);
    int k = rest >= 0 && H5Premove_filter(rest, H5Z_FILTER_FLETCHER32) >= 0 ? km_h5_filter_steps(rest, step, cd0)
                                                                          : -1;
    if (rest >= 0)
        H5Pclose(rest);
    *sum_bit = 1u << (n - 1);
    return k;
}

/* The stored chunks of d over [lo, lo + n) (rank values each; NULL: the
   whole extent, 1-D or 2-D only, at most CHECK_MAX_BYTES declared) decoded
   in turn; 1 at the first that does not give its chunk's size. */
static int unsound_in(hid_t d, hid_t dcpl, hid_t space, size_t elem, const hsize_t *lo, const hsize_t *n,
                      char *why, size_t cap)
{
    hsize_t dims[H5S_MAX_RANK], chunk[H5S_MAX_RANK], off[H5S_MAX_RANK], first[H5S_MAX_RANK],
        end[H5S_MAX_RANK];
    int step[MAX_STEPS], n_steps = -1, rank = -1, bad = 0;
    unsigned cd0[MAX_STEPS], opts = 0, sum_bit = 0;
    double declared = (double)elem, n_chunks = 1;
    size_t chunk_bytes = elem, shuffle = elem;
    unsigned char *buf = NULL;
    struct libdeflate_decompressor *dec = NULL;

    if (dcpl < 0 || space < 0 || H5Pget_layout(dcpl) != H5D_CHUNKED ||
        (rank = H5Sget_simple_extent_dims(space, dims, NULL)) < 1 || rank > (lo != NULL ? 3 : 2) ||
        H5Pget_chunk(dcpl, rank, chunk) != rank || H5Pget_chunk_opts(dcpl, &opts) < 0 ||
        (opts & H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS) ||
        (n_steps = check_steps(dcpl, step, cd0, &sum_bit)) <= 0 || !km_h5_steps_exact(step, n_steps))
        goto done; /* whole: rank 3 (frames); unfiltered or other filters: as before */
    for (int i = 0; i < rank; i++) {
        if (chunk[i] == 0 || (lo != NULL && (n[i] == 0 || lo[i] >= dims[i] || n[i] > dims[i] - lo[i])))
            goto done;
        first[i] = lo != NULL ? lo[i] / chunk[i] * chunk[i] : 0;
        end[i] = lo != NULL ? lo[i] + n[i] : dims[i];
        declared *= (double)dims[i];
        n_chunks *= (double)((end[i] - first[i] + chunk[i] - 1) / chunk[i]);
        chunk_bytes *= (size_t)(chunk[i] < (hsize_t)1 << 26 ? chunk[i] : (hsize_t)1 << 26);
        off[i] = first[i];
    }
    if (declared == 0 || (lo == NULL && declared > CHECK_MAX_BYTES) || n_chunks > CHECK_MAX_CHUNKS ||
        (double)chunk_bytes > CHECK_MAX_BYTES)
        goto done;
    for (int i = 0; i < n_steps; i++)
        if (step[i] == STEP_SHUFFLE && cd0[i] != UINT_MAX)
            shuffle = cd0[i];
    /* the stored bytes (up to 9/8 of a chunk + 4 KiB), then two decoded chunks */
    if ((buf = malloc(4 * chunk_bytes + 4096)) == NULL ||
        (dec = libdeflate_alloc_decompressor()) == NULL)
        goto done; /* out of memory: HDF5 reads it as before */
    for (;;) {
        if (!chunk_sound(d, off, step, n_steps, sum_bit, shuffle, chunk_bytes, buf, dec, why, cap)) {
            bad = 1;
            break;
        }
        int i = rank - 1; /* the next chunk, last dimension fastest */
        while (i >= 0 && (off[i] += chunk[i]) >= end[i])
            off[i] = first[i], i--;
        if (i < 0)
            break;
    }
done:
    if (dec != NULL)
        libdeflate_free_decompressor(dec);
    free(buf);
    return bad;
}

int km_h5_chunks_unsound(hid_t d, hid_t dcpl, hid_t space, size_t elem, char *why, size_t cap)
{
    return unsound_in(d, dcpl, space, elem, NULL, NULL, why, cap);
}

int km_h5_block_unsound(hid_t d, size_t elem, const hsize_t *start, const hsize_t *count, char *why, size_t cap)
{
    hid_t dcpl = H5Dget_create_plist(d), space = H5Dget_space(d);
    int bad = elem > 0 && unsound_in(d, dcpl, space, elem, start, count, why, cap);
    km_h5_close_layout(dcpl, H5I_INVALID_HID, space);
    return bad;
}

herr_t km_h5_dread(hid_t d, hid_t mtype, hid_t mspace, hid_t fspace, hid_t dxpl, void *buf)
{
    char why[160];
    hid_t type = H5Dget_type(d), dcpl = H5Dget_create_plist(d), space = H5Dget_space(d);
    size_t elem = type >= 0 ? H5Tget_size(type) : 0;
    int bad = elem > 0 && km_h5_chunks_unsound(d, dcpl, space, elem, why, sizeof why);
    km_h5_close_layout(dcpl, type, space);
    if (bad) {
        /* The caller's error text (km_h5_error_text) is this. */
        H5Epush2(H5E_DEFAULT, __FILE__, __func__, __LINE__, H5E_ERR_CLS, H5E_DATASET, H5E_READERROR,
                 "%s", why);
        return -1;
    }
    return H5Dread(d, mtype, mspace, fspace, dxpl, buf);
}
