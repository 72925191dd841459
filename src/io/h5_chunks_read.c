/* Direct chunk reading with libdeflate: see h5_chunks.h. */
#include <float.h>
#include <libdeflate.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5_chunks.h"
#include "h5_codec.h"
#include "h5_raw.h"

/* The stored element types read here (little-endian), converted to float32
 * as H5Dread into H5T_NATIVE_FLOAT converts them. */
enum { T_F32 = 1, T_F64, T_I8, T_U8, T_I16, T_U16, T_I32, T_U32 };

/* A stored chunk's place: size 0 when unallocated or not to be read here. */
typedef struct chunk_loc {
    haddr_t addr;
    hsize_t size;
    unsigned mask;
} chunk_loc;

/* Chunk places read at the open at most: 24 bytes each, ~6 s of look-ups. */
#define MAX_LOCS ((size_t)1 << 16)

struct km_h5_chunks {
    hid_t d;
    int64_t n_frames;
    int64_t cf;          /* frames per chunk */
    size_t rows, cols;   /* R, C */
    size_t cr, cc;       /* a chunk's rows and columns (the frame's, or a tile of it) */
    size_t tiles_r, tiles_c; /* chunks across a frame: ceil(R / cr), ceil(C / cc) */
    size_t frame_elems;  /* R * C */
    size_t elem;         /* stored element: 1, 2, 4 or 8 bytes */
    int kind;            /* its type, T_* */
    int tlast;           /* stored [R, C, T], chunked [cr, cc, cf] (else [T, R, C]) */
    size_t chunk_bytes;  /* one stored chunk decoded: cf * cr * cc * elem */
    size_t slab_bytes;   /* cf whole frames: cf * R * C * elem */
    int raw_partial;     /* partial edge chunks stored unfiltered */
    int n_steps;
    int step[MAX_STEPS]; /* the filter pipeline in write order */
    unsigned char *raw, *scratch, *tile;
    size_t raw_cap;
    void *cache;         /* the last decoded chunk row (cf frames), stored type */
    int64_t cached;      /* its chunk row, -1 = none */
    int fd;              /* the file, read with pread (km_h5_raw_fd); -1: by H5Dread_chunk */
    chunk_loc *loc;      /* every chunk's place, read at the open (fd >= 0); NULL: asked per chunk */
    int64_t index_calls; /* chunk index look-ups after the open (km_h5_chunks_index_calls) */
    struct libdeflate_decompressor *dec;
    int exact;           /* a stored chunk that does not decode is damaged (km_h5_steps_exact) */
    haddr_t at;          /* the last chunk fetched: its address (HADDR_UNDEF: not known) */
    int64_t bad_k;       /* the chunk row whose stored bytes do not decode, -1 = none */
    hsize_t bad_stored;  /* and its stored size */
    haddr_t bad_at;      /* and its address */
};

int km_h5_chunks_lock_free(const km_h5_chunks *c)
{
    return c != NULL && c->loc != NULL;
}

int64_t km_h5_chunks_index_calls(const km_h5_chunks *c)
{
    return c != NULL ? c->index_calls : 0;
}

void km_h5_chunks_free(km_h5_chunks *c)
{
    if (c == NULL)
        return;
    if (c->dec != NULL)
        libdeflate_free_decompressor(c->dec);
    free(c->raw);
    free(c->scratch);
    free(c->tile);
    free(c->cache);
    free(c->loc);
    free(c);
}

/* Shuffle on the stored element size, deflate at any level, LZF (not
 * with deflate: one compressor). */
static int read_pipeline(hid_t dcpl, km_h5_chunks *c)
{
    unsigned cd0[MAX_STEPS];
    int n = km_h5_filter_steps(dcpl, c->step, cd0), compressors = 0;
    for (int i = 0; i < n; i++) {
        if (c->step[i] == STEP_SHUFFLE && cd0[i] != c->elem)
            return 0;
        compressors += c->step[i] != STEP_SHUFFLE;
    }
    if (n < 0 || compressors > 1)
        return 0;
    c->n_steps = n;
    c->exact = km_h5_steps_exact(c->step, n);
    return 1;
}

/* The T_* of a stored type, its size into *elem; 0 when not read here. */
static int stored_kind(hid_t type, size_t *elem)
{
    const struct {
        hid_t type;
        int kind;
        size_t size;
    } known[] = {{H5T_IEEE_F32LE, T_F32, 4}, {H5T_IEEE_F64LE, T_F64, 8},
                 {H5T_STD_I8LE, T_I8, 1},    {H5T_STD_U8LE, T_U8, 1},
                 {H5T_STD_I16LE, T_I16, 2},  {H5T_STD_U16LE, T_U16, 2},
                 {H5T_STD_I32LE, T_I32, 4},  {H5T_STD_U32LE, T_U32, 4}};
    *elem = 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (H5Tequal(type, known[i].type) > 0) {
            *elem = known[i].size;
            return known[i].kind;
        }
    return 0;
}

/* The layout and filters km_h5_chunks_open accepts, into c (c->d, the
 * sizes and the steps); 1 when eligible. */
static int eligible(hid_t frames, size_t max_slab_bytes, km_h5_chunks *c)
{
    hid_t dcpl = H5I_INVALID_HID, type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hsize_t dims[3], chunk[3];
    int ok = 0;
    const float one = 1.0f;
    unsigned char lead;

    memcpy(&lead, &one, 1); /* little-endian host: the first byte of 1.0f is 0 */
    if (lead != 0)
        return 0;
    c->d = frames;
    dcpl = H5Dget_create_plist(frames);
    type = H5Dget_type(frames);
    space = H5Dget_space(frames);
    if (type >= 0)
        c->kind = stored_kind(type, &c->elem);
    if (dcpl < 0 || type < 0 || space < 0 || H5Pget_layout(dcpl) != H5D_CHUNKED ||
        c->elem == 0 || H5Sget_simple_extent_ndims(space) != 3 ||
        H5Sget_simple_extent_dims(space, dims, NULL) != 3 || H5Pget_chunk(dcpl, 3, chunk) != 3)
        goto done;
    /* Axes: t, r, c = 0, 1, 2 ([T, R, C]) or 2, 0, 1 ([R, C, T]). */
    const int at = c->tlast ? 2 : 0, ar = c->tlast ? 0 : 1, ac = c->tlast ? 1 : 2;
    if (chunk[0] == 0 || chunk[1] == 0 || chunk[2] == 0 || dims[ar] == 0 || dims[ac] == 0 ||
        !read_pipeline(dcpl, c))
        goto done;
    /* The decoded frames of one chunk row (every tile across the frame)
       are kept: bounded by the caller. */
    if ((double)chunk[at] * (double)dims[ar] * (double)dims[ac] * (double)c->elem >
        (double)max_slab_bytes)
        goto done;
    /* H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS: HDF5 1.10.8's H5Dread_chunk
       reports a filter mask of 0 for such an unfiltered edge chunk, so
       those chunks are left to H5Dread. */
    unsigned opts = 0;
    if (H5Pget_chunk_opts(dcpl, &opts) < 0)
        goto done;
    c->raw_partial = (opts & H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS) != 0;
    /* An unfiltered edge chunk goes to H5Dread, which has no LZF here. */
    for (int i = 0; i < c->n_steps; i++)
        if (c->step[i] == STEP_LZF && c->raw_partial)
            goto done;
    c->n_frames = (int64_t)dims[at];
    c->cf = (int64_t)chunk[at];
    c->rows = (size_t)dims[ar];
    c->cols = (size_t)dims[ac];
    c->cr = (size_t)chunk[ar];
    c->cc = (size_t)chunk[ac];
    c->tiles_r = (c->rows + c->cr - 1) / c->cr;
    c->tiles_c = (c->cols + c->cc - 1) / c->cc;
    c->frame_elems = c->rows * c->cols;
    /* The open path has already bounded the chunk size. */
    c->chunk_bytes = (size_t)c->cf * c->cr * c->cc * c->elem;
    c->slab_bytes = (size_t)c->cf * c->frame_elems * c->elem;
    ok = 1;
done:
    km_h5_close_layout(dcpl, type, space);
    return ok;
}

int km_h5_chunks_eligible(hid_t frames, size_t max_slab_bytes)
{
    km_h5_chunks c;
    memset(&c, 0, sizeof c);
    return eligible(frames, max_slab_bytes, &c);
}

/* The chunks are the frame's own (one per chunk row, laid out as the
 * frames are): decoded straight into place. */
static int whole_frames(const km_h5_chunks *c)
{
    return c->cr == c->rows && c->cc == c->cols && !c->tlast;
}

/* The chunk at chunk row k, tile (tr, tc): its file offset. */
static void chunk_offset(const km_h5_chunks *c, int64_t k, size_t tr, size_t tc, hsize_t off[3])
{
    hsize_t t0 = (hsize_t)(k * c->cf), r0 = (hsize_t)(tr * c->cr), c0 = (hsize_t)(tc * c->cc);
    off[0] = c->tlast ? r0 : t0;
    off[1] = c->tlast ? c0 : r0;
    off[2] = c->tlast ? t0 : c0;
}

/* A partial edge chunk stored unfiltered: left to H5Dread. */
static int raw_edge(const km_h5_chunks *c, int64_t k, size_t tr, size_t tc)
{
    return c->raw_partial && ((k + 1) * c->cf > c->n_frames || (tr + 1) * c->cr > c->rows ||
                              (tc + 1) * c->cc > c->cols);
}

/* Every chunk's place, asked of HDF5 once at the open, so that the frames
 * are read without its global lock: with two sessions on two threads a
 * look-up during the frames waited out the other thread's run of HDF5
 * calls (bench/HISTORY.md "Session 32 (pipe3)").  Only when the file is
 * read with pread and has at most MAX_LOCS chunks; else per chunk. */
static void read_locs(km_h5_chunks *c)
{
    int64_t rows_k = (c->n_frames + c->cf - 1) / c->cf;
    size_t tiles = c->tiles_r * c->tiles_c;
    if (c->fd < 0 || rows_k <= 0 || (size_t)rows_k > MAX_LOCS / tiles)
        return;
    c->loc = calloc((size_t)rows_k * tiles, sizeof *c->loc);
    if (c->loc == NULL)
        return; /* asked per chunk */
    chunk_loc *p = c->loc;
    for (int64_t k = 0; k < rows_k; k++)
        for (size_t tr = 0; tr < c->tiles_r; tr++)
            for (size_t tc = 0; tc < c->tiles_c; tc++, p++) {
                hsize_t off[3];
                chunk_offset(c, k, tr, tc, off);
                p->addr = HADDR_UNDEF;
                if (raw_edge(c, k, tr, tc) ||
                    H5Dget_chunk_info_by_coord(c->d, off, &p->mask, &p->addr, &p->size) < 0 ||
                    p->addr == HADDR_UNDEF)
                    p->size = 0;
            }
}

static km_h5_chunks *open_axes(hid_t frames, size_t max_slab_bytes, int tlast)
{
    km_h5_chunks *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->cached = -1;
    c->bad_k = -1;
    c->tlast = tlast;
    if (!eligible(frames, max_slab_bytes, c) || (c->cache = malloc(c->slab_bytes)) == NULL ||
        (c->scratch = malloc(c->chunk_bytes)) == NULL ||
        (!whole_frames(c) && (c->tile = malloc(c->chunk_bytes)) == NULL) ||
        (c->dec = libdeflate_alloc_decompressor()) == NULL) {
        km_h5_chunks_free(c);
        return NULL;
    }
    c->fd = km_h5_raw_fd(frames);
    read_locs(c);
    return c;
}

km_h5_chunks *km_h5_chunks_open(hid_t frames, size_t max_slab_bytes)
{
    return open_axes(frames, max_slab_bytes, 0);
}

km_h5_chunks *km_h5_chunks_open_rct(hid_t frames, size_t max_slab_bytes)
{
    return open_axes(frames, max_slab_bytes, 1);
}

/* The stored bytes of the chunk at chunk row k, tile (tr, tc) into c->raw
 * (*stored of them, *skipped the filters not applied): 1 when the chunk is
 * to be decoded here, 0 when H5Dread must read it (a partial edge chunk
 * stored unfiltered, an unallocated chunk, out of memory or an HDF5
 * error), -1 for a stored size that no filter pipeline gives (more than a
 * chunk's deflate or LZF could make): a damaged chunk, never handed to
 * H5Dread, whose deflate filter inflates whatever the bytes say (a 1 MB
 * chunk to 1 GB) and leaves a short chunk's tail uninitialised.  From a
 * plain file (km_h5_raw_fd) the address, size and filter mask come from
 * the open's table (read_locs; else from HDF5) and the bytes are read with
 * pread, without its lock; otherwise HDF5 is called twice, to size and
 * copy the stored bytes. */
static int fetch_chunk(km_h5_chunks *c, int64_t k, size_t tr, size_t tc, hsize_t *stored,
                       uint32_t *skipped)
{
    hsize_t off[3];
    chunk_offset(c, k, tr, tc, off);

    *stored = 0;
    *skipped = 0;
    if (raw_edge(c, k, tr, tc))
        return 0;
    /* Unallocated (fill value) or unknown: HDF5 reads it.  Larger than
       deflate could make it (stored blocks add 5 bytes per 64 KiB): no one. */
    haddr_t addr = HADDR_UNDEF;
    unsigned mask = 0;
    if (c->loc != NULL) {
        const chunk_loc *p = &c->loc[((size_t)k * c->tiles_r + tr) * c->tiles_c + tc];
        addr = p->addr;
        mask = p->mask;
        *stored = p->size;
    } else {
        c->index_calls++;
        if ((c->fd >= 0 ? H5Dget_chunk_info_by_coord(c->d, off, &mask, &addr, stored)
                        : H5Dget_chunk_storage_size(c->d, off, stored)) < 0)
            return 0;
    }
    c->at = addr;
    if (*stored == 0)
        return 0;
    if (*stored > (hsize_t)(c->chunk_bytes + c->chunk_bytes / 8 + 4096))
        return -1; /* damaged: see fetch_chunk's comment */
    if ((size_t)*stored > c->raw_cap) {
        /* Grown with a sixteenth to spare (chunks of one session differ
           by a few percent: a few growths, not one per larger chunk), and
           not by realloc, which would copy the last chunk's bytes: 11
           copies of ~0.6 MB on the bench session. */
        size_t cap = (size_t)*stored + (size_t)*stored / 16;
        free(c->raw);
        c->raw_cap = 0;
        if ((c->raw = malloc(cap)) == NULL)
            return 0;
        c->raw_cap = cap;
    }
    /* Outside HDF5's lock; a short read (a truncated file) goes to HDF5,
       which says what is wrong (with the open's table: H5Dread, so that
       these reads never call HDF5: km_h5_chunks_lock_free). */
    if (c->fd >= 0 && addr != HADDR_UNDEF &&
        km_h5_pread_all(c->fd, c->raw, (size_t)*stored, addr)) {
        *skipped = mask;
        return 1;
    }
    return c->loc == NULL && H5Dread_chunk(c->d, H5P_DEFAULT, off, skipped, c->raw) >= 0;
}

int km_h5_chunks_fetch(km_h5_chunks *c, int64_t frame)
{
    hsize_t stored;
    uint32_t skipped;
    if (c == NULL || frame < 0 || frame >= c->n_frames)
        return 0;
    for (size_t tr = 0; tr < c->tiles_r; tr++)
        for (size_t tc = 0; tc < c->tiles_c; tc++)
            if (fetch_chunk(c, frame / c->cf, tr, tc, &stored, &skipped) <= 0)
                return 0;
    return 1;
}

int km_h5_steps_exact(const int *step, int n_steps)
{
    for (int i = 1; i < n_steps; i++)
        if (step[i] == STEP_SHUFFLE && step[i - 1] != STEP_SHUFFLE)
            return 0;
    return 1;
}

int km_h5_decode_steps(struct libdeflate_decompressor *dec, const int *step, int n_steps,
                       uint32_t skipped, const unsigned char *raw, size_t stored, size_t elem,
                       size_t chunk_bytes, unsigned char *scratch, unsigned char *dst)
{
    int todo[MAX_STEPS], m = 0;
    for (int i = n_steps - 1; i >= 0; i--) /* decode in reverse order */
        if (!(skipped & (1u << i)))
            todo[m++] = step[i];
    const unsigned char *cur = raw;
    size_t cur_n = stored;
    for (int j = 0; j < m; j++) {
        unsigned char *out = j == m - 1 ? dst : scratch;
        if (todo[j] == STEP_DEFLATE) {
            size_t got = 0;
            if (libdeflate_zlib_decompress(dec, cur, cur_n, out, chunk_bytes, &got) !=
                    LIBDEFLATE_SUCCESS ||
                got != chunk_bytes)
                return 0;
        } else if (todo[j] == STEP_LZF) {
            if (!km_lzf_decode(cur, cur_n, out, chunk_bytes))
                return 0;
        } else {
            if (cur_n != chunk_bytes)
                return 0;
            if (elem == 4)
                km_unshuffle4(cur, out, chunk_bytes / 4);
            else if (elem == 8)
                km_unshuffle8(cur, out, chunk_bytes / 8);
            else if (elem == 2)
                km_unshuffle2(cur, out, chunk_bytes / 2);
            else
                memcpy(out, cur, chunk_bytes); /* one byte: nothing moved */
        }
        cur = out;
        cur_n = chunk_bytes;
    }
    if (m == 0) {
        if (cur_n != chunk_bytes)
            return 0;
        memcpy(dst, cur, cur_n);
    }
    return 1;
}

/* The chunk at chunk row k, tile (tr, tc) decoded into dst (chunk_bytes),
 * its stored bytes fetched with HDF5's lock held only to copy them; the
 * decoding runs without it. */
static int decode_tile(km_h5_chunks *c, int64_t k, size_t tr, size_t tc, void *dst)
{
    hsize_t stored = 0;
    uint32_t skipped = 0;
    int got = fetch_chunk(c, k, tr, tc, &stored, &skipped);
    if (got > 0 && km_h5_decode_steps(c->dec, c->step, c->n_steps, skipped, c->raw, (size_t)stored,
                                      c->elem, c->chunk_bytes, c->scratch, dst))
        return 1;
    if (got < 0 || (got > 0 && c->exact)) { /* not this chunk's bytes: damaged (km_h5_chunks_damage) */
        c->bad_k = k;
        c->bad_stored = stored;
        c->bad_at = c->at;
    }
    return 0;
}

/* A time-last tile [cr, cc, cf] (c->tile) put in place in the frames
 * [cf, R, C] at dst: its taxel (r, x)'s run of cf values goes to every
 * frame's (r0 + r, c0 + x); the tile's padding past the frame left out. */
#define KM_PLACE(type)                                                                          \
    do {                                                                                        \
        const type *src = (const type *)(const void *)c->tile;                                  \
        type *out = (type *)(void *)dst;                                                        \
        for (size_t r = 0; r < nr; r++)                                                         \
            for (size_t x = 0; x < nc; x++) {                                                   \
                const type *run = src + (r * c->cc + x) * cf;                                   \
                type *to = out + (r0 + r) * c->cols + c0 + x;                                   \
                for (size_t f = 0; f < cf; f++)                                                 \
                    to[f * plane] = run[f];                                                     \
            }                                                                                   \
    } while (0)
static void place_time_last(const km_h5_chunks *c, size_t r0, size_t nr, size_t c0, size_t nc,
                            unsigned char *dst)
{
    const size_t cf = (size_t)c->cf, plane = c->frame_elems;
    switch (c->elem) {
    case 1: KM_PLACE(uint8_t); break;
    case 2: KM_PLACE(uint16_t); break;
    case 4: KM_PLACE(uint32_t); break;
    default: KM_PLACE(uint64_t); break;
    }
}
#undef KM_PLACE

/* Chunk row k (cf whole frames, slab_bytes) decoded into dst: the frame's
 * own chunk in place, or each tile across the frame decoded and its rows
 * put where they lie in the frames (the parts of edge tiles past the
 * frame, HDF5's padding, left out).  h5py chunks a [T, R, C] array by
 * itself in tiles, e.g. [750, 4, 4] for 32 x 32 frames. */
static int decode_chunk(km_h5_chunks *c, int64_t k, unsigned char *dst)
{
    if (whole_frames(c))
        return decode_tile(c, k, 0, 0, dst);
    const size_t e = c->elem;
    for (size_t tr = 0; tr < c->tiles_r; tr++) {
        size_t r0 = tr * c->cr, nr = c->rows - r0 < c->cr ? c->rows - r0 : c->cr;
        for (size_t tc = 0; tc < c->tiles_c; tc++) {
            size_t c0 = tc * c->cc, nc = c->cols - c0 < c->cc ? c->cols - c0 : c->cc;
            if (!decode_tile(c, k, tr, tc, c->tile))
                return 0;
            if (c->tlast) {
                place_time_last(c, r0, nr, c0, nc, dst);
                continue;
            }
            for (size_t f = 0; f < (size_t)c->cf; f++)
                for (size_t r = 0; r < nr; r++)
                    memcpy(dst + ((f * c->rows + r0 + r) * c->cols + c0) * e,
                           c->tile + ((f * c->cr + r) * c->cc) * e, nc * e);
        }
    }
    return 1;
}

/* float64 to float32 as HDF5's own conversion does it (H5Dread into
 * H5T_NATIVE_FLOAT): beyond the float range is an overflow, which HDF5
 * makes an infinity where a C cast would round to FLT_MAX; the rest is the
 * C cast (round to nearest, NaN stays NaN). */
static void narrow(const double *restrict in, float *restrict out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double v = in[i];
        out[i] = v > (double)FLT_MAX ? INFINITY : v < -(double)FLT_MAX ? -INFINITY : (float)v;
    }
}

/* Integers to float32 as HDF5's own conversion does it (its hard
 * conversions are the C cast: exact up to 2^24, then round to nearest). */
#define KM_WIDEN(name, type)                                                                    \
    static void name(const type *restrict in, float *restrict out, size_t n)                    \
    {                                                                                           \
        for (size_t i = 0; i < n; i++)                                                          \
            out[i] = (float)in[i];                                                              \
    }
KM_WIDEN(widen_i8, int8_t)
KM_WIDEN(widen_u8, uint8_t)
KM_WIDEN(widen_i16, int16_t)
KM_WIDEN(widen_u16, uint16_t)
KM_WIDEN(widen_i32, int32_t)
KM_WIDEN(widen_u32, uint32_t)

/* count frames from frame lo of the cached chunk into dst, as float32. */
static void copy_cached(const km_h5_chunks *c, int64_t lo, int64_t count, float *dst)
{
    size_t n = (size_t)count * c->frame_elems, at = (size_t)lo * c->frame_elems;
    const unsigned char *src = (const unsigned char *)c->cache + at * c->elem;
    switch (c->kind) {
    case T_F32: memcpy(dst, src, n * sizeof(float)); break;
    case T_F64: narrow((const double *)(const void *)src, dst, n); break;
    case T_I8: widen_i8((const int8_t *)(const void *)src, dst, n); break;
    case T_U8: widen_u8(src, dst, n); break;
    case T_I16: widen_i16((const int16_t *)(const void *)src, dst, n); break;
    case T_U16: widen_u16((const uint16_t *)(const void *)src, dst, n); break;
    case T_I32: widen_i32((const int32_t *)(const void *)src, dst, n); break;
    default: widen_u32((const uint32_t *)(const void *)src, dst, n); break;
    }
}

int64_t km_h5_chunks_read(km_h5_chunks *c, int64_t first, int64_t n, float *out)
{
    int64_t end = first + n;
    if (c == NULL || first < 0 || n < 0 || end > c->n_frames)
        return 0;
    c->bad_k = -1;
    for (int64_t f = first; f < end;) {
        int64_t k = f / c->cf, c0 = k * c->cf, lo = f - c0;
        int64_t count = c->cf - lo < end - f ? c->cf - lo : end - f;
        float *dst = out + (size_t)(f - first) * c->frame_elems;
        if (k != c->cached && lo == 0 && count == c->cf && c->kind == T_F32) {
            /* Wholly inside the request: straight into the caller's buffer. */
            if (!decode_chunk(c, k, (unsigned char *)dst))
                return f - first;
        } else {
            if (k != c->cached) {
                c->cached = -1;
                if (!decode_chunk(c, k, c->cache))
                    return f - first;
                c->cached = k;
            }
            copy_cached(c, lo, count, dst);
        }
        f += count;
    }
    return n;
}

int km_h5_chunks_damage(const km_h5_chunks *c, char *why, size_t cap)
{
    if (c == NULL || c->bad_k < 0)
        return 0;
    char at[48] = "";
    if (c->bad_at != HADDR_UNDEF)
        snprintf(at, sizeof at, " at byte %llu", (unsigned long long)c->bad_at);
    int64_t last = (c->bad_k + 1) * c->cf < c->n_frames ? (c->bad_k + 1) * c->cf : c->n_frames;
    snprintf(why, cap, "the chunk of frames %lld..%lld%s: %llu bytes stored do not decode to its "
             "%zu bytes, damaged file", (long long)(c->bad_k * c->cf), (long long)(last - 1), at,
             (unsigned long long)c->bad_stored, c->chunk_bytes);
    return 1;
}

/* ---- a 1-D float64 dataset (a session's /time) -------------------------- */

/* Values per chunk read here at most (512 KiB decoded, three such buffers
 * while a read lasts); larger: H5Dread, as /time's two-chunk cache bounds
 * (read_session.c). */
#define F64_CHUNK_MAX ((hsize_t)1 << 16)

/* The filters of a 1-D float64 dataset read here: shuffle on 8 bytes and
 * at most one of deflate and LZF; the step count, -1 otherwise. */
static int f64_steps(hid_t dcpl, int step[MAX_STEPS])
{
    unsigned cd0[MAX_STEPS];
    int n = km_h5_filter_steps(dcpl, step, cd0), compressors = 0;
    for (int i = 0; i < n; i++) {
        if (step[i] == STEP_SHUFFLE && cd0[i] != 8)
            return -1;
        compressors += step[i] != STEP_SHUFFLE;
    }
    return compressors > 1 ? -1 : n;
}

int km_h5_f64_open(hid_t d, km_h5_f64 *v)
{
    hid_t dcpl = H5Dget_create_plist(d), type = H5Dget_type(d), space = H5Dget_space(d);
    hsize_t chunk = 0;
    unsigned opts = 0;
    const double one = 1.0;
    unsigned char lead;
    memcpy(&lead, &one, 1); /* little-endian host: the first byte of 1.0 is 0 */
    memset(v, 0, sizeof *v);
    if (lead != 0 || dcpl < 0 || type < 0 || space < 0 || H5Pget_layout(dcpl) != H5D_CHUNKED ||
        H5Tequal(type, H5T_IEEE_F64LE) <= 0 || H5Sget_simple_extent_ndims(space) != 1 ||
        H5Sget_simple_extent_dims(space, &v->n, NULL) != 1 || H5Pget_chunk(dcpl, 1, &chunk) != 1 ||
        chunk == 0 || chunk > F64_CHUNK_MAX || H5Pget_chunk_opts(dcpl, &opts) < 0 ||
        (opts & H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS) ||
        (v->n_steps = f64_steps(dcpl, v->step)) < 0)
        chunk = 0;
    v->chunk = chunk;
    km_h5_close_layout(dcpl, type, space);
    return chunk > 0;
}

int km_h5_read_f64_chunks(hid_t d, const km_h5_f64 *v, int64_t first, int64_t n, double *out)
{
    int ok = 0;
    hsize_t chunk = v->chunk;
    if (chunk == 0 || first < 0 || n <= 0 || (hsize_t)first + (hsize_t)n > v->n)
        return 0;
    size_t cb = (size_t)chunk * sizeof(double), cap = cb + cb / 8 + 4096;
    struct libdeflate_decompressor *dec = libdeflate_alloc_decompressor();
    unsigned char *raw = malloc(cap), *scratch = malloc(cb), *buf = malloc(cb);
    if (dec == NULL || raw == NULL || scratch == NULL || buf == NULL)
        goto done;
    for (int64_t k = first / (int64_t)chunk; k * (int64_t)chunk < first + n; k++) {
        hsize_t off = (hsize_t)k * chunk, stored = 0;
        uint32_t skipped = 0;
        /* HDF5's lock is held to find and copy the stored bytes only. */
        if (H5Dget_chunk_storage_size(d, &off, &stored) < 0 || stored == 0 || stored > cap ||
            H5Dread_chunk(d, H5P_DEFAULT, &off, &skipped, raw) < 0 ||
            !km_h5_decode_steps(dec, v->step, v->n_steps, skipped, raw, (size_t)stored,
                                sizeof(double), cb, scratch, buf))
            goto done;
        int64_t lo = first > (int64_t)off ? first : (int64_t)off;
        int64_t hi = first + n < (int64_t)(off + chunk) ? first + n : (int64_t)(off + chunk);
        memcpy(out + (lo - first), buf + (size_t)(lo - (int64_t)off) * sizeof(double),
               (size_t)(hi - lo) * sizeof(double));
    }
    ok = 1;
done:
    if (dec != NULL)
        libdeflate_free_decompressor(dec);
    free(raw);
    free(scratch);
    free(buf);
    return ok;
}
