/* Direct chunk writing with libdeflate, and the filter pipeline both
 * directions share: see h5_chunks.h (reading: h5_chunks_read.c). */
#include <libdeflate.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "h5_chunks.h"
#include "h5_codec.h"
#include "h5_vfd.h"

/* See h5_chunks.h; writing takes no LZF (write_pipeline). */
int km_h5_filter_steps(hid_t dcpl, int step[MAX_STEPS], unsigned cd0[MAX_STEPS])
{
    int n = H5Pget_nfilters(dcpl);
    if (n < 0 || n > MAX_STEPS)
        return -1;
    for (int i = 0; i < n; i++) {
        unsigned flags = 0, cd[8] = {0};
        size_t ncd = 8;
        H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd, 0, NULL, NULL);
        int kind = id == H5Z_FILTER_DEFLATE   ? STEP_DEFLATE
                   : id == H5Z_FILTER_SHUFFLE ? STEP_SHUFFLE
                   : id == KM_H5_FILTER_LZF   ? STEP_LZF : 0;
        if (kind == 0)
            return -1;
        for (int j = 0; j < i; j++)
            if (step[j] == kind)
                return -1;
        step[i] = kind;
        cd0[i] = ncd >= 1 ? cd[0] : UINT_MAX;
    }
    return n;
}

void km_h5_close_layout(hid_t dcpl, hid_t type, hid_t space)
{
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    if (dcpl >= 0)
        H5Pclose(dcpl);
}

/* ---- writing ------------------------------------------------------------ */

struct km_h5_deflater {
    struct libdeflate_compressor *comp[10]; /* by level, made when first used */
    struct libdeflate_decompressor *dec;    /* plane_runs' check, made when first used */
    unsigned char *tmp, *out, *alt; /* alt: the unshuffled try (km_h5_chunks_out_best_of) */
    size_t tmp_cap, out_cap, alt_cap;
    double *hlog;   /* hlog[h] = h log2 h for h <= hlog_n (noise_plane) */
    size_t hlog_n;
};

km_h5_deflater *km_h5_deflater_new(void)
{
    return calloc(1, sizeof(km_h5_deflater));
}

void km_h5_deflater_free(km_h5_deflater *z)
{
    if (z == NULL)
        return;
    for (int i = 0; i < 10; i++)
        if (z->comp[i] != NULL)
            libdeflate_free_compressor(z->comp[i]);
    if (z->dec != NULL)
        libdeflate_free_decompressor(z->dec);
    free(z->tmp);
    free(z->out);
    free(z->alt);
    free(z->hlog);
    free(z);
}

static unsigned char *grow(unsigned char **p, size_t *cap, size_t n)
{
    if (n > *cap) {
        unsigned char *q = realloc(*p, n);
        if (q == NULL)
            return NULL;
        *p = q;
        *cap = n;
    }
    return *p;
}

struct km_h5_chunks_out {
    hid_t d;
    km_h5_deflater *z;
    int rank;
    hsize_t dims[3];    /* dims[0] = the extent set so far */
    size_t elem;        /* element size, bytes */
    size_t row_bytes;   /* one index of dimension 0 */
    size_t chunk_bytes;
    int64_t cf;         /* rows per chunk */
    int64_t n;          /* rows appended */
    int64_t extents;    /* H5Dset_extent calls (km_h5_chunks_out_extents) */
    int pending;        /* rows of the last chunk not yet written */
    int level;          /* deflate level */
    int best_of;        /* each chunk also deflated unshuffled (km_h5_chunks_out_best_of) */
    int noise_planes;   /* leading noise planes stored (km_h5_chunks_out_noise_planes) */
    int n_steps;
    int step[MAX_STEPS]; /* the filter pipeline in write order */
    unsigned char *buf; /* the last chunk (past its rows: stale until put_chunk pads it) */
    km_h5_io *io;       /* the file's, when it keeps raw data (km_h5_chunks_out_flush_via) */
};

void km_h5_chunks_out_free(km_h5_chunks_out *c)
{
    if (c == NULL)
        return;
    free(c->buf);
    free(c);
}

/* Shuffle (element size `elem`) and deflate only, each once, no partial
 * edge chunks left unfiltered, the default fill value (0: the last chunk
 * is padded with zeros, as HDF5 pads it). */
static int write_pipeline(hid_t dcpl, km_h5_chunks_out *c)
{
    unsigned opts = 0, cd0[MAX_STEPS];
    H5D_fill_value_t fill;
    if (H5Pget_chunk_opts(dcpl, &opts) < 0 || opts != 0 ||
        H5Pfill_value_defined(dcpl, &fill) < 0 || fill != H5D_FILL_VALUE_DEFAULT)
        return 0;
    int n = km_h5_filter_steps(dcpl, c->step, cd0);
    for (int i = 0; i < n; i++) {
        if (c->step[i] == STEP_LZF || (c->step[i] == STEP_SHUFFLE && cd0[i] != c->elem) ||
            (c->step[i] == STEP_DEFLATE && cd0[i] > 9))
            return 0;
        if (c->step[i] == STEP_DEFLATE)
            c->level = (int)cd0[i];
    }
    if (n < 0)
        return 0;
    c->n_steps = n;
    return 1;
}

/* Rank 1-3, chunks spanning dimensions 1.. whole, the file type equal to
 * the memory type (little-endian host), the dataset empty. */
static int write_layout(hid_t ds, hid_t mtype, km_h5_chunks_out *c)
{
    hid_t dcpl = H5Dget_create_plist(ds), type = H5Dget_type(ds), space = H5Dget_space(ds);
    hsize_t chunk[3] = {0, 0, 0};
    const float one = 1.0f;
    unsigned char lead;
    int ok = 0;
    memcpy(&lead, &one, 1);
    if (lead != 0 || dcpl < 0 || type < 0 || space < 0 || H5Pget_layout(dcpl) != H5D_CHUNKED ||
        H5Tequal(type, mtype) <= 0)
        goto done;
    c->elem = H5Tget_size(type);
    c->rank = H5Sget_simple_extent_ndims(space);
    if (c->elem == 0 || c->elem > 8 || c->rank < 1 || c->rank > 3 ||
        H5Sget_simple_extent_dims(space, c->dims, NULL) != c->rank ||
        H5Pget_chunk(dcpl, c->rank, chunk) != c->rank || c->dims[0] != 0 || chunk[0] == 0 ||
        chunk[0] > (1u << 24))
        goto done;
    c->row_bytes = c->elem;
    for (int i = 1; i < c->rank; i++) {
        if (chunk[i] != c->dims[i] || c->dims[i] == 0 || c->dims[i] > (1u << 24))
            goto done;
        c->row_bytes *= (size_t)c->dims[i];
    }
    c->cf = (int64_t)chunk[0];
    if (c->row_bytes > ((size_t)1 << 30) / (size_t)c->cf)
        goto done;
    c->chunk_bytes = (size_t)c->cf * c->row_bytes;
    ok = write_pipeline(dcpl, c);
done:
    km_h5_close_layout(dcpl, type, space);
    return ok;
}

km_h5_chunks_out *km_h5_chunks_out_open(hid_t ds, hid_t mtype, km_h5_deflater *z)
{
    km_h5_chunks_out *c = calloc(1, sizeof *c);
    if (c == NULL || z == NULL || !write_layout(ds, mtype, c) ||
        (c->buf = malloc(c->chunk_bytes)) == NULL) {
        km_h5_chunks_out_free(c);
        return NULL;
    }
    c->d = ds;
    c->z = z;
    return c;
}

km_h5_chunks_out *km_h5_chunks_out_layout(const km_h5_chunks_out *c)
{
    km_h5_chunks_out *l = c != NULL ? malloc(sizeof *l) : NULL;
    if (l != NULL) {
        *l = *c;
        l->d = -1;
        l->dims[0] = 0;
        l->n = 0;
        l->extents = 0;
        l->pending = 0;
        l->buf = NULL;
    }
    return l;
}

km_h5_chunks_out *km_h5_chunks_out_like(const km_h5_chunks_out *layout, hid_t ds)
{
    km_h5_chunks_out *c = km_h5_chunks_out_layout(layout);
    if (c != NULL && (c->buf = malloc(c->chunk_bytes)) == NULL) {
        km_h5_chunks_out_free(c);
        return NULL;
    }
    if (c != NULL)
        c->d = ds;
    return c;
}

/* in[0, *n) deflated at `level` (zlib format) into *dst (grown as
 * needed; never in); *n becomes the stream's size.  NULL on failure. */
static const unsigned char *zlib_into(km_h5_deflater *z, int level, const unsigned char *in,
                                      size_t *n, unsigned char **dst, size_t *cap)
{
    if (z->comp[level] == NULL && (z->comp[level] = libdeflate_alloc_compressor(level)) == NULL)
        return NULL;
    size_t bound = libdeflate_zlib_compress_bound(z->comp[level], *n);
    if (grow(dst, cap, bound) == NULL)
        return NULL;
    *n = libdeflate_zlib_compress(z->comp[level], in, *n, *dst, bound);
    return *n == 0 ? NULL : *dst;
}

/* A byte plane whose bytes' entropy is at least this (bits) is noise:
 * deflate's Huffman codes cannot shorten it by more than ~1%, and a stored
 * block keeps it as it is, at the cost of a copy. */
#define NOISE_BITS 7.9

/* 1 when the n bytes of p have an entropy of at least NOISE_BITS; -1 when
 * memory runs out.  The bins' h log2 h from a table (z->hlog, for planes
 * of up to n bytes) whose entries are computed when first needed (-1
 * before): a run meets a few dozen counts, not n. */
static int noise_plane(km_h5_deflater *z, const unsigned char *p, size_t n)
{
    if (z->hlog_n < n) {
        double *t = realloc(z->hlog, (n + 1) * sizeof *t);
        if (t == NULL)
            return -1;
        for (size_t h = z->hlog != NULL ? z->hlog_n + 1 : 0; h <= n; h++)
            t[h] = -1.0;
        z->hlog = t;
        z->hlog_n = n;
    }
    uint32_t h[4][256] = {{0}}; /* four counts a byte: no store waits for the last */
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        h[0][p[i]]++;
        h[1][p[i + 1]]++;
        h[2][p[i + 2]]++;
        h[3][p[i + 3]]++;
    }
    for (; i < n; i++)
        h[0][p[i]]++;
    double s = 0.0; /* sum of h log2 h: the entropy is log2 n - s / n */
    for (int b = 0; b < 256; b++) {
        uint32_t c = h[0][b] + h[1][b] + h[2][b] + h[3][b];
        if (z->hlog[c] < 0.0)
            z->hlog[c] = c > 1 ? (double)c * log2((double)c) : 0.0;
        s += z->hlog[c];
    }
    return log2((double)n) - s / (double)n >= NOISE_BITS;
}

/* The shuffled chunk in[0, n) (elem planes of n / elem bytes) as a zlib
 * stream into *dst: its leading noise planes (noise_plane; all but the
 * last at most) in stored blocks, the rest deflated by libdeflate (raw, its
 * last block the final one), the Adler-32 of all.  Stored blocks end on a
 * byte, so libdeflate's stream follows them as it is.  *n becomes the
 * stream's size.  NULL with *none 1 when no plane leads with noise (*n
 * unchanged: deflate the whole chunk), with *none 0 on failure. */
static const unsigned char *zlib_noise_planes(km_h5_deflater *z, int level,
                                              const unsigned char *in, size_t *n, size_t elem,
                                              unsigned char **dst, size_t *cap, int *none)
{
    size_t plane = *n / elem, lead = 0;
    int is = 0;
    while (lead + 1 < elem && (is = noise_plane(z, in + lead * plane, plane)) == 1)
        lead++;
    *none = lead == 0 && is == 0;
    if (lead == 0)
        return NULL;
    if (z->comp[level] == NULL && (z->comp[level] = libdeflate_alloc_compressor(level)) == NULL)
        return NULL;
    size_t head = lead * plane, rest = *n - head, blocks = (head + 65534) / 65535;
    size_t bound = 2 + head + 5 * blocks + libdeflate_deflate_compress_bound(z->comp[level], rest) + 4;
    if (grow(dst, cap, bound) == NULL)
        return NULL;
    unsigned char *o = *dst;
    size_t at = 0;
    o[at++] = 0x78; /* deflate, 32 KiB window; FLEVEL 0 (fastest), as libdeflate's level 1 */
    o[at++] = 0x01;
    for (size_t done = 0; done < head;) {
        size_t len = head - done < 65535 ? head - done : 65535;
        o[at++] = 0x00; /* BFINAL 0, BTYPE 00 (stored), then to the byte's end */
        o[at++] = (unsigned char)(len & 0xff);
        o[at++] = (unsigned char)(len >> 8);
        o[at++] = (unsigned char)(~len & 0xff);
        o[at++] = (unsigned char)((~len >> 8) & 0xff);
        memcpy(o + at, in + done, len);
        at += len;
        done += len;
    }
    size_t raw = libdeflate_deflate_compress(z->comp[level], in + head, rest, o + at, bound - at - 4);
    if (raw == 0)
        return NULL;
    at += raw;
    uint32_t a = libdeflate_adler32(1, in, *n);
    o[at++] = (unsigned char)(a >> 24);
    o[at++] = (unsigned char)(a >> 16);
    o[at++] = (unsigned char)(a >> 8);
    o[at++] = (unsigned char)a;
    *n = at;
    return o;
}

/* ---- planes' constant tails as runs (zlib_plane_runs) ------------------- */

/* A plane's tail of one byte shorter than this stays with its head. */
#define TAIL_MIN 64
/* Heads deflated together up to this many bytes, else the chunk is left
 * to the other ways: libdeflate's level 1 makes one block of such an input
 * (at most 8192 matches, each of 3 bytes or more), and not_final continues
 * only a stream of one block. */
#define HEAD_MAX 24576
/* A chunk takes zlib_plane_runs when its planes' tails are at least this
 * share of it (1/TAIL_SHARE): libdeflate's level 1 spent ~2.5 ns a byte
 * on a run as on any bytes, and each deflated head costs an inflate more. */
#define TAIL_SHARE 4

/* The length of the run of p[n - 1]'s byte that ends p[0, n), 8 bytes at
 * a time; 0 when shorter than TAIL_MIN. */
static size_t tail_run(const unsigned char *p, size_t n)
{
    if (n == 0)
        return 0;
    uint64_t all, v;
    memset(&all, p[n - 1], sizeof all);
    size_t i = n;
    for (; i >= 8; i -= 8) {
        memcpy(&v, p + i - 8, sizeof v);
        if (v != all)
            break;
    }
    while (i > 0 && p[i - 1] == p[n - 1])
        i--;
    return n - i >= TAIL_MIN ? n - i : 0;
}

/* libdeflate's raw stream s[0, len) of in[0, n), made not final so that
 * blocks can follow: its one block's BFINAL cleared, then an empty stored
 * block to the next byte.  Where that block's header starts depends on the
 * bits of zero padding after the last code (libdeflate does not say how
 * many): three or more hold it, and LEN follows (00 00 ff ff); fewer take
 * the rest from a first byte 00 (00 00 00 ff ff).  Which, from the block's
 * end-of-block code (km_deflate_pad_candidates); when its bits leave both
 * open, the one that inflates, with a final empty block of fixed codes
 * (03 00) after it, to in[0, n) using every byte: the other's LEN and NLEN
 * disagree.  The bytes written after s (room for 7): 4 or 5; 0 when
 * neither inflates so (a stream of more blocks than one), -1 when memory
 * runs out. */
static int not_final(km_h5_deflater *z, unsigned char *s, size_t len, const unsigned char *in,
                     size_t n)
{
    static const unsigned char tail[2][7] = {{0x00, 0x00, 0xff, 0xff, 0x03, 0x00},
                                            {0x00, 0x00, 0x00, 0xff, 0xff, 0x03, 0x00}};
    unsigned pad = km_deflate_pad_candidates(s, len);
    if ((s[0] & 1u) == 0)
        return 0; /* the first block is not the last */
    if (pad != 0 && ((pad & 0x07u) == 0 || (pad & 0xf8u) == 0)) {
        int k = (pad & 0x07u) == 0 ? 0 : 1;
        s[0] &= 0xfeu;
        memcpy(s + len, tail[k], (size_t)(4 + k));
        return 4 + k;
    }
    if ((z->dec == NULL && (z->dec = libdeflate_alloc_decompressor()) == NULL) ||
        grow(&z->alt, &z->alt_cap, n) == NULL)
        return -1;
    s[0] &= 0xfeu;
    for (int k = 0; k < 2; k++) {
        size_t tl = (size_t)(6 + k), used = 0, out = 0;
        memcpy(s + len, tail[k], tl);
        if (libdeflate_deflate_decompress_ex(z->dec, s, len + tl, z->alt, n, &used, &out) ==
                LIBDEFLATE_SUCCESS &&
            used == len + tl && out == n && memcmp(z->alt, in, n) == 0)
            return (int)tl - 2;
    }
    s[0] |= 1u;
    return 0;
}

enum { SEG_DEFLATE, SEG_STORED, SEG_RUN };
typedef struct {
    int kind;
    const unsigned char *p; /* SEG_RUN: p[0] is the byte */
    size_t n;
} segment;

/* The chunk in[0, n) (elem planes of n / elem bytes; elem 1 unshuffled) cut
 * into segments: each plane's head, then its tail of one byte (tail_run) as
 * a run; heads deflated (consecutive ones together) except leading planes'
 * that are noise (noise_plane, when `noise`), stored.  *ns 0 when the tails
 * are below 1/TAIL_SHARE of the chunk or heads to deflate pass HEAD_MAX; -1
 * when memory runs out. */
static int plane_segments(km_h5_deflater *z, const unsigned char *in, size_t n, size_t elem,
                          int noise, segment seg[16], int *ns)
{
    size_t plane = n / elem, tails = 0, t[8];
    *ns = 0;
    if (elem > 8 || plane * elem != n)
        return 0;
    for (size_t q = 0; q < elem; q++)
        tails += t[q] = tail_run(in + q * plane, plane);
    if (tails * TAIL_SHARE < n)
        return 0;
    int k = 0, lead = noise;
    for (size_t q = 0; q < elem; q++) {
        const unsigned char *h = in + q * plane;
        size_t head = plane - t[q];
        if (head > 0) {
            int kind = SEG_DEFLATE, is = lead && q + 1 < elem ? noise_plane(z, h, head) : 0;
            if (is < 0)
                return -1;
            lead = is;
            kind = is ? SEG_STORED : SEG_DEFLATE;
            if (kind == SEG_DEFLATE && k > 0 && seg[k - 1].kind == SEG_DEFLATE &&
                seg[k - 1].p + seg[k - 1].n == h)
                seg[k - 1].n += head;
            else
                seg[k++] = (segment){kind, h, head};
        }
        if (t[q] > 0)
            seg[k++] = (segment){SEG_RUN, h + head, t[q]};
    }
    for (int i = 0; i < k; i++)
        if (seg[i].kind == SEG_DEFLATE && seg[i].n > HEAD_MAX)
            return 0;
    *ns = k;
    return 0;
}

/* The chunk in[0, *n) as a zlib stream of plane_segments: runs as blocks
 * of fixed codes, noise heads stored, the other heads libdeflate's (not
 * final but the last segment: not_final), then the Adler-32 of all.
 * *n becomes the stream's size.  NULL with *none 1 when the chunk is not
 * one for it (or libdeflate's stream could not be continued), with *none
 * 0 on failure. */
static const unsigned char *zlib_plane_runs(km_h5_deflater *z, int level, const unsigned char *in,
                                            size_t *n, size_t elem, int noise, unsigned char **dst,
                                            size_t *cap, int *none)
{
    segment seg[16];
    int ns = 0;
    *none = 0;
    if (plane_segments(z, in, *n, elem, noise, seg, &ns) < 0)
        return NULL;
    *none = ns == 0;
    if (ns == 0)
        return NULL;
    if (z->comp[level] == NULL && (z->comp[level] = libdeflate_alloc_compressor(level)) == NULL)
        return NULL;
    size_t bound = 2 + 4 + 1;
    for (int i = 0; i < ns; i++)
        bound += seg[i].kind == SEG_RUN    ? 3 + (seg[i].n / 258 + 3) * 3
                 : seg[i].kind == SEG_STORED ? seg[i].n + 5 * (seg[i].n / 65535 + 1)
                                           : 5 + libdeflate_deflate_compress_bound(
                                                     z->comp[level], seg[i].n) + 7;
    if (grow(dst, cap, bound) == NULL)
        return NULL;
    km_bits_out w = {*dst, 0, 0};
    *w.p++ = 0x78; /* deflate, 32 KiB window; FLEVEL 0 (fastest), as libdeflate's level 1 */
    *w.p++ = 0x01;
    for (int i = 0; i < ns; i++) {
        int final = i == ns - 1;
        if (seg[i].kind == SEG_RUN) {
            km_deflate_run_block(&w, seg[i].p[0], seg[i].n, final);
        } else if (seg[i].kind == SEG_STORED) {
            km_deflate_stored(&w, seg[i].p, seg[i].n, final);
        } else {
            km_deflate_align(&w);
            size_t room = libdeflate_deflate_compress_bound(z->comp[level], seg[i].n);
            size_t len = libdeflate_deflate_compress(z->comp[level], seg[i].p, seg[i].n, w.p, room);
            int more = len == 0 || final ? 0 : not_final(z, w.p, len, seg[i].p, seg[i].n);
            if (len == 0 || more < 0)
                return NULL;
            if (!final && more == 0) {
                *none = 1; /* deflated whole instead */
                return NULL;
            }
            w.p += len + (size_t)more;
        }
    }
    if (w.n > 0) { /* the final block's last bits, then zero bits to the byte */
        *w.p++ = (unsigned char)w.acc;
        w.n = 0;
    }
    uint32_t a = libdeflate_adler32(1, in, *n);
    for (int s = 24; s >= 0; s -= 8)
        *w.p++ = (unsigned char)(a >> s);
    *n = (size_t)(w.p - *dst);
    return *dst;
}

/* The chunk buffer through the filter pipeline, without HDF5's lock; the
 * stored bytes and their size.  `runs`: deflate by km_zlib_runs (a last
 * chunk that is mostly its zero padding). */
static const unsigned char *encode_chunk(km_h5_chunks_out *c, size_t *size, int runs)
{
    km_h5_deflater *z = c->z;
    const unsigned char *cur = c->buf;
    size_t cur_n = c->chunk_bytes;
    for (int j = 0; j < c->n_steps; j++) {
        if (c->step[j] == STEP_SHUFFLE) {
            if (grow(&z->tmp, &z->tmp_cap, cur_n) == NULL)
                return NULL;
            km_shuffle_bytes(cur, z->tmp, cur_n, c->elem);
            cur = z->tmp;
            continue;
        }
        if (runs) {
            if (grow(&z->out, &z->out_cap, km_zlib_runs_bound(cur_n)) == NULL)
                return NULL;
            cur_n = km_zlib_runs(cur, cur_n, libdeflate_adler32(1, cur, cur_n), z->out,
                                 z->out_cap);
            if (cur_n == 0)
                return NULL;
            cur = z->out;
            continue;
        }
        /* out may not be the input: the input is the chunk or tmp. */
        int shuffled = j > 0 && c->step[j - 1] == STEP_SHUFFLE, none = 0;
        const unsigned char *o = zlib_plane_runs(z, c->level, cur, &cur_n, shuffled ? c->elem : 1,
                                                 c->noise_planes && shuffled, &z->out,
                                                 &z->out_cap, &none);
        if (!none) {
            if (o == NULL)
                return NULL;
            cur = o;
            continue;
        }
        if (c->noise_planes && shuffled) {
            o = zlib_noise_planes(z, c->level, cur, &cur_n, c->elem, &z->out, &z->out_cap, &none);
            if (!none) {
                if (o == NULL)
                    return NULL;
                cur = o;
                continue;
            }
        }
        cur = zlib_into(z, c->level, cur, &cur_n, &z->out, &z->out_cap);
        if (cur == NULL)
            return NULL;
    }
    *size = cur_n;
    return cur;
}

/* A last chunk of at most this share of rows is deflated as runs
 * (km_zlib_runs): at deflate level 1 libdeflate took some 12 instructions
 * a byte of zero padding, 8 M instructions at the end of a 1 s session;
 * the rows' own bytes, stored nearly as they are, cost at most 1/8 of a
 * chunk (bench/HISTORY.md "Session 27 (fixed)"). */
#define RUNS_SHARE 8

/* The extent set to `rows` (HDF5 writes chunks only inside it). */
static int set_extent(km_h5_chunks_out *c, int64_t rows)
{
    c->dims[0] = (hsize_t)rows;
    c->extents++;
    return H5Dset_extent(c->d, c->dims) >= 0;
}

/* Write the chunk holding row c->n - 1 (full, or the last one padded),
 * the extent first unless km_h5_chunks_write set it for the append. */
static int put_chunk(km_h5_chunks_out *c)
{
    int64_t k = (c->n - 1) / c->cf;
    hsize_t off[3] = {(hsize_t)(k * c->cf), 0, 0};
    size_t size = 0, rows = (size_t)(c->n - k * c->cf);
    /* A partial chunk is padded with zeros here, not the buffer cleared
       after every chunk (~26 KB a table chunk, 3.7 M instructions on the
       bench session). */
    if (rows < (size_t)c->cf)
        memset(c->buf + rows * c->row_bytes, 0, ((size_t)c->cf - rows) * c->row_bytes);
    int runs = rows * RUNS_SHARE <= (size_t)c->cf;
    const unsigned char *bytes = encode_chunk(c, &size, runs);
    uint32_t mask = 0;
    if (bytes != NULL && c->best_of && !runs) {
        /* The same chunk deflated unshuffled: filter mask bit 0 (the
           shuffle, the pipeline's first step) tells readers so. */
        size_t alt_n = c->chunk_bytes;
        const unsigned char *alt = zlib_into(c->z, c->level, c->buf, &alt_n, &c->z->alt,
                                             &c->z->alt_cap);
        if (alt == NULL)
            return 0;
        if (alt_n < size) {
            bytes = alt;
            size = alt_n;
            mask = 1u;
        }
    }
    if (bytes == NULL)
        return 0;
    if (c->dims[0] < (hsize_t)c->n && !set_extent(c, c->n))
        return 0;
    if (H5Dwrite_chunk(c->d, H5P_DEFAULT, mask, off, size, bytes) < 0)
        return 0;
    /* The chunk's bytes reach the file here, HDF5's lock released. */
    if (c->io != NULL && km_h5_io_flush_raw(c->io) != 0)
        return 0;
    c->pending = 0;
    return 1;
}

void km_h5_chunks_out_flush_via(km_h5_chunks_out *c, km_h5_io *io)
{
    c->io = io;
}

/* The extent is grown once per append, to the end of the last chunk the
 * append completes, not once per chunk: H5Dset_extent takes HDF5's global
 * lock, and a flush of the result writer's peaks completes two chunks of
 * each of its 12 columns (bench/HISTORY.md "Session 31 (pipe2)").  The
 * extent after every append is what it was (the rows of the complete
 * chunks); the flush sets it to the rows appended. */
int km_h5_chunks_write(km_h5_chunks_out *c, const void *rows, size_t n)
{
    const unsigned char *src = rows;
    int64_t done = (c->n + (int64_t)n) / c->cf * c->cf; /* rows of the chunks completed */
    if (done > c->n && (hsize_t)done > c->dims[0] && !set_extent(c, done))
        return 0;
    while (n > 0) {
        size_t at = (size_t)(c->n % c->cf), take = (size_t)c->cf - at;
        if (take > n)
            take = n;
        memcpy(c->buf + at * c->row_bytes, src, take * c->row_bytes);
        c->n += (int64_t)take;
        c->pending = 1;
        src += take * c->row_bytes;
        n -= take;
        if (c->n % c->cf == 0 && !put_chunk(c))
            return 0;
    }
    return 1;
}

int km_h5_chunks_out_best_of(km_h5_chunks_out *c)
{
    c->best_of = c->n_steps == 2 && c->step[0] == STEP_SHUFFLE && c->step[1] == STEP_DEFLATE;
    return c->best_of;
}

void km_h5_chunks_out_noise_planes(km_h5_chunks_out *c)
{
    c->noise_planes = 1;
}

int km_h5_chunks_out_fills(const km_h5_chunks_out *c, size_t n)
{
    return n > 0 && (uint64_t)(c->n % c->cf) + n >= (uint64_t)c->cf;
}

int64_t km_h5_chunks_out_extents(const km_h5_chunks_out *c)
{
    return c->extents;
}

int km_h5_chunks_flush(km_h5_chunks_out *c)
{
    return !c->pending || put_chunk(c);
}
