/* Every stored chunk of a filtered dataset decoded, or its decoded size read
 * from its header, before libhdf5 decodes it (h5util.h: km_h5_check_storage,
 * km_h5_dread, km_h5_read_block): HDF5's deflate filter inflates whatever a
 * chunk's stream says (a 1 MB chunk of a session's /time or /mask to 1 GB,
 * 16 s), the BZip2 plugin grows its buffer as long as the stream goes on,
 * the LZ4 and Blosc plugins allocate what their headers say, and a chunk
 * that decodes short is handed on with its tail uninitialised (heap bytes
 * read as times).  Checked here into buffers of the chunk's size, such a
 * chunk stops at once; a filter knotmap cannot bound is refused. */
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5_chunks.h"
#include "h5_codec.h"
#include "h5util.h"

/* The open's check (km_h5_check_storage) takes datasets of up to 64 MiB
 * declared (a session's /time and /mask, a result's tables and maps: at most
 * a few milliseconds to decode); a larger one is checked when it is read
 * (km_h5_dread: the whole dataset; km_h5_read_block: the chunks a block
 * covers).  A filtered chunk of more than 64 MiB is refused wherever it is
 * checked: checking it takes about 3.4 times its size. */
#define CHECK_MAX_BYTES ((double)(64 << 20))

enum { F_SHUFFLE = 1, F_DEFLATE, F_LZF, F_FLETCHER, F_BZIP2, F_LZ4, F_BLOSC, F_SZIP, F_SIZED };
enum { BZIP2_ID = 307, LZ4_ID = 32004, BLOSC_ID = 32001 };

typedef struct pipe {
    int n;
    int kind[H5Z_MAX_NFILTERS];
    size_t elem[H5Z_MAX_NFILTERS]; /* shuffle: its element size */
    double sized[H5Z_MAX_NFILTERS]; /* nbit, scaleoffset: the bytes they decode to */
} pipe;

typedef struct bufs {
    size_t chunk, mid, raw_cap; /* a chunk decoded; between two steps; stored */
    unsigned char *raw, *a, *b;
    struct libdeflate_decompressor *dec;
} bufs;

/* The kind of each filter of dcpl: 1; 0, with why, for a pipeline that
   cannot be read; -1, with why, for a filter knotmap cannot bound (its id
   and the name the file gives it, printable bytes only). */
static int read_pipe(hid_t dcpl, size_t elem, pipe *p, char *why, size_t cap)
{
    p->n = H5Pget_nfilters(dcpl);
    if (p->n < 0 || p->n > H5Z_MAX_NFILTERS) {
        snprintf(why, cap, "its filter pipeline cannot be read, damaged file");
        return 0;
    }
    for (int i = 0; i < p->n; i++) {
        unsigned flags = 0, cd[8] = {0}, config = 0;
        size_t ncd = 8;
        char name[48] = "";
        H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd, sizeof name, name, &config);
        p->kind[i] = id == H5Z_FILTER_SHUFFLE       ? F_SHUFFLE
                     : id == H5Z_FILTER_DEFLATE     ? F_DEFLATE
                     : id == KM_H5_FILTER_LZF       ? F_LZF
                     : id == H5Z_FILTER_FLETCHER32  ? F_FLETCHER
                     : id == BZIP2_ID               ? F_BZIP2
                     : id == LZ4_ID                 ? F_LZ4
                     : id == BLOSC_ID               ? F_BLOSC
                     : id == H5Z_FILTER_SZIP        ? F_SZIP
                     : id == H5Z_FILTER_NBIT || id == H5Z_FILTER_SCALEOFFSET ? F_SIZED : 0;
        p->elem[i] = ncd >= 1 && cd[0] > 0 ? cd[0] : elem;
        /* both decode cd[2] elements of cd[4] bytes (their set_local's values) */
        p->sized[i] = ncd >= 5 ? (double)cd[2] * (double)cd[4] : -1.0;
        if (p->kind[i] == 0) {
            name[sizeof name - 1] = '\0';
            for (char *c = name; *c != '\0'; c++)
                if (*c < 0x20 || *c > 0x7e)
                    *c = '?';
            snprintf(why, cap, "its filter %d (%s) is not one whose chunks knotmap can check "
                     "before libhdf5 decodes them (a crafted chunk could decode to gigabytes)",
                     (int)id, name[0] != '\0' ? name : "no name");
            return -1;
        }
    }
    return 1;
}

/* HDF5's shuffle undone on n bytes of elem-byte elements (a trailing part
   element, and a buffer of one element, stay as they are). */
static void unshuffle_any(const unsigned char *in, unsigned char *out, size_t n, size_t elem)
{
    size_t k = elem > 1 ? n / elem : 0;
    if (k <= 1)
        k = 0;
    else if (elem == 2)
        km_unshuffle2(in, out, k);
    else if (elem == 4)
        km_unshuffle4(in, out, k);
    else if (elem == 8)
        km_unshuffle8(in, out, k);
    else
        for (size_t b = 0; b < elem; b++)
            for (size_t i = 0; i < k; i++)
                out[i * elem + b] = in[b * k + i];
    memcpy(out + k * elem, in + k * elem, n - k * elem);
}

/* What filter i must decode to: the chunk plus the checksums of the
   filters before it when those only shuffle or add a checksum (*exact
   1), else at most b->mid (*exact 0). */
static size_t step_size(const pipe *p, int i, uint32_t skipped, const bufs *b, int *exact)
{
    size_t want = b->chunk;
    *exact = 1;
    for (int j = 0; j < i; j++)
        if (!(skipped & (1u << j)) && p->kind[j] == F_FLETCHER)
            want += 4;
        else if (!(skipped & (1u << j)) && p->kind[j] != F_SHUFFLE)
            *exact = 0;
    return *exact ? want : b->mid;
}

/* The stored bytes raw[0, n) through the pipeline's decoders, last filter
   first: 1 when they give the chunk's size, 0 when not, -1 when a filter
   sits under one whose output knotmap only sizes (why set). */
static int decode(const pipe *p, uint32_t skipped, bufs *b, size_t n, char *why, size_t cap)
{
    const unsigned char *cur = b->raw;
    unsigned char *out = b->a;
    int known = 1; /* cur holds the bytes; else only their count n */
    for (int i = p->n - 1; i >= 0; i--) {
        int exact, k = p->kind[i];
        size_t want = step_size(p, i, skipped, b, &exact), got = 0;
        int64_t said = -1;
        if (skipped & (1u << i))
            continue;
        if (k == F_FLETCHER) { /* libhdf5 checks the sum */
            if (n < 4)
                return 0;
            n -= 4;
            continue;
        }
        if (k == F_SHUFFLE) {
            if (known) {
                unshuffle_any(cur, out, n, p->elem[i]);
                cur = out;
                out = out == b->a ? b->b : b->a;
            }
            continue;
        }
        if (!known) {
            snprintf(why, cap, "a compressor under another whose output knotmap cannot decode: "
                     "refused before libhdf5 decodes it (a crafted chunk could decode to gigabytes)");
            return -1;
        }
        if (k == F_DEFLATE) {
            if (libdeflate_zlib_decompress(b->dec, cur, n, out, want, &got) != LIBDEFLATE_SUCCESS)
                return 0;
        } else if (k == F_LZF) {
            if (!exact || !km_lzf_decode(cur, n, out, want))
                return 0; /* LZF inside another compressor: its size is unknown */
            got = want;
        } else if (k == F_BZIP2 || k == F_LZ4) {
            int r = k == F_BZIP2 ? km_h5_bzip2_decode(cur, n, out, want, &got)
                                 : km_h5_lz4_decode(cur, n, out, want, &got);
            if (r < 0) {
                snprintf(why, cap, "%s chunks cannot be checked: %s cannot be loaded",
                         k == F_BZIP2 ? "BZip2" : "LZ4", k == F_BZIP2 ? "libbz2.so.1.0" : "liblz4.so.1");
                return -1;
            }
            if (r == 0)
                return 0;
        } else {
            said = k == F_BLOSC ? km_h5_blosc_size(cur, n)
                   : k == F_SZIP ? km_h5_szip_size(cur, n) : (int64_t)p->sized[i];
            if (said < 0 || (uint64_t)said > want)
                return 0;
            got = (size_t)said;
            known = 0;
        }
        if (exact && got != want)
            return 0;
        n = got;
        if (known) {
            cur = out;
            out = out == b->a ? b->b : b->a;
        }
    }
    return n == b->chunk;
}

/* The chunk at coordinates off: 1 when it decodes to its size or is not
   stored (HDF5 reads the fill value), 0 (why set) when not, -1 (why set)
   when knotmap cannot check it (decode's -1). */
static int chunk_sound(hid_t d, const hsize_t *off, const pipe *p, bufs *b, char *why, size_t cap)
{
    unsigned mask = 0;
    uint32_t skipped = 0;
    haddr_t addr = HADDR_UNDEF;
    hsize_t stored = 0;
    int r = 0;
    if (H5Dget_chunk_info_by_coord(d, off, &mask, &addr, &stored) < 0 || addr == HADDR_UNDEF ||
        stored == 0)
        return 1; /* not stored (the storage check counts them) or HDF5 says why when read */
    if (stored <= (hsize_t)b->raw_cap && H5Dread_chunk(d, H5P_DEFAULT, off, &skipped, b->raw) >= 0 &&
        (r = decode(p, skipped, b, (size_t)stored, why, cap)) != 0)
        return r;
    snprintf(why, cap, "the chunk at byte %llu: %llu bytes stored do not decode to its %zu bytes, "
             "damaged file", (unsigned long long)addr, (unsigned long long)stored, b->chunk);
    return 0;
}

/* The stored chunks of d over [lo, lo + n) (rank values each; NULL: the
   whole extent, only up to CHECK_MAX_BYTES declared unless `all`) checked
   in turn; 1 at the first that does not give its chunk's size, -1 when
   memory for the check runs out. */
static int unsound_in(hid_t d, hid_t dcpl, hid_t space, size_t elem, const hsize_t *lo, const hsize_t *n,
                      int all, char *why, size_t cap)
{
    hsize_t dims[H5S_MAX_RANK], chunk[H5S_MAX_RANK], off[H5S_MAX_RANK], first[H5S_MAX_RANK],
        end[H5S_MAX_RANK];
    int rank = -1, bad = 0;
    double declared = (double)elem, chunk_bytes = (double)elem;
    bufs b = {0};
    pipe p;

    if (dcpl < 0 || space < 0 || H5Pget_layout(dcpl) != H5D_CHUNKED || H5Pget_nfilters(dcpl) == 0 ||
        (rank = H5Sget_simple_extent_dims(space, dims, NULL)) < 1 ||
        H5Pget_chunk(dcpl, rank, chunk) != rank)
        goto done; /* unfiltered: the storage check sees every byte stored */
    for (int i = 0; i < rank; i++) {
        if (chunk[i] == 0 || (lo != NULL && (n[i] == 0 || lo[i] >= dims[i] || n[i] > dims[i] - lo[i])))
            goto done;
        first[i] = lo != NULL ? lo[i] / chunk[i] * chunk[i] : 0;
        end[i] = lo != NULL ? lo[i] + n[i] : dims[i];
        declared *= (double)dims[i];
        chunk_bytes *= (double)chunk[i];
        off[i] = first[i];
    }
    if (declared == 0 || (lo == NULL && !all && declared > CHECK_MAX_BYTES))
        goto done; /* checked when read (above) */
    int piped = read_pipe(dcpl, elem, &p, why, cap);
    if (piped <= 0)
        return piped < 0 ? KM_H5_UNCHECKABLE : 1;
    if (chunk_bytes > CHECK_MAX_BYTES) {
        snprintf(why, cap, "its filtered chunks of %.1f MiB are beyond the %d MiB whose decoding "
                 "knotmap checks before libhdf5 decodes them (rechunk it, e.g. with h5repack -l)",
                 chunk_bytes / 1048576.0, (int)(CHECK_MAX_BYTES / 1048576.0));
        return KM_H5_UNCHECKABLE;
    }
    b.chunk = (size_t)chunk_bytes;
    b.mid = b.chunk + b.chunk / 8 + 4096 + 4 * H5Z_MAX_NFILTERS;
    b.raw_cap = b.mid + b.mid / 8 + 4096;
    if ((b.raw = malloc(b.raw_cap + 2 * b.mid)) == NULL || (b.dec = libdeflate_alloc_decompressor()) == NULL) {
        snprintf(why, cap, "out of memory checking its chunks");
        bad = -1;
        goto done;
    }
    b.a = b.raw + b.raw_cap;
    b.b = b.a + b.mid;
    for (;;) {
        int sound = chunk_sound(d, off, &p, &b, why, cap);
        if (sound <= 0) {
            bad = sound < 0 ? KM_H5_UNCHECKABLE : 1;
            break;
        }
        int i = rank - 1; /* the next chunk, last dimension fastest */
        while (i >= 0 && (off[i] += chunk[i]) >= end[i])
            off[i] = first[i], i--;
        if (i < 0)
            break;
    }
done:
    if (b.dec != NULL)
        libdeflate_free_decompressor(b.dec);
    free(b.raw);
    return bad;
}

km_status km_h5_unsound_status(int bad)
{
    return bad < 0 ? KM_ERR_NOMEM : bad == KM_H5_UNCHECKABLE ? KM_ERR_UNSUPPORTED : KM_ERR_FORMAT;
}

void km_h5_push_unsound(int bad, const char *why)
{
    /* The caller's error text (km_h5_error_text) is this; out of memory is
       libhdf5's own words for it, and a filter knotmap cannot check is
       H5E_UNSUPPORTED from this function, which km_h5_error_kind tells. */
    H5Epush2(H5E_DEFAULT, __FILE__, KM_H5_UNSOUND_FUNC, __LINE__, H5E_ERR_CLS,
             bad < 0 ? H5E_RESOURCE : H5E_DATASET,
             bad < 0 ? H5E_NOSPACE : bad == KM_H5_UNCHECKABLE ? H5E_UNSUPPORTED : H5E_READERROR, "%s", why);
}

int km_h5_chunks_unsound(hid_t d, hid_t dcpl, hid_t space, size_t elem, char *why, size_t cap)
{
    return unsound_in(d, dcpl, space, elem, NULL, NULL, 0, why, cap);
}

int km_h5_dataset_unsound(hid_t d, hid_t dcpl, hid_t space, size_t elem, char *why, size_t cap)
{
    return unsound_in(d, dcpl, space, elem, NULL, NULL, 1, why, cap);
}

int km_h5_block_unsound(hid_t d, size_t elem, const hsize_t *start, const hsize_t *count, char *why, size_t cap)
{
    hid_t dcpl = H5Dget_create_plist(d), space = H5Dget_space(d);
    int bad = elem > 0 ? unsound_in(d, dcpl, space, elem, start, count, 0, why, cap) : 0;
    km_h5_close_layout(dcpl, H5I_INVALID_HID, space);
    return bad;
}

herr_t km_h5_dread(hid_t d, hid_t mtype, hid_t mspace, hid_t fspace, hid_t dxpl, void *buf)
{
    char why[200];
    hid_t type = H5Dget_type(d), dcpl = H5Dget_create_plist(d), space = H5Dget_space(d);
    size_t elem = type >= 0 ? H5Tget_size(type) : 0;
    int bad = elem > 0 ? km_h5_dataset_unsound(d, dcpl, space, elem, why, sizeof why) : 0;
    km_h5_close_layout(dcpl, type, space);
    if (bad) {
        km_h5_push_unsound(bad, why);
        return -1;
    }
    return H5Dread(d, mtype, mspace, fspace, dxpl, buf);
}
