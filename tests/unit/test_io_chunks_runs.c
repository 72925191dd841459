/* A chunk's constant plane tails written as runs (src/io/h5_chunks.c,
 * zlib_plane_runs; the blocks and km_deflate_pad_candidates in
 * src/io/h5_codec.c): the zero bits after a one-block stream's last code
 * are among the candidates, as zlib's inflate counts them; chunks of
 * integer columns (high planes of one byte), float columns with noisy low
 * planes and a constant top one, and last chunks partly filled (their zero
 * padding), shuffled or not, read back bit for bit through HDF5's H5Dread
 * (zlib inside HDF5) and libdeflate, and are not libdeflate's stream of the
 * whole chunk. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <hdf5.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io/h5_chunks.h"
#include "io/h5_codec.h"
#include "test_util.h"

static char dir[64];

static void setup(void)
{
    km_test_make_dir(dir, sizeof dir, "km-iochunkr-");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void teardown(void)
{
    cr_expect_eq(km_test_remove_dir(dir), 0);
}

TestSuite(io_chunks_runs, .init = setup, .fini = teardown);

static uint32_t next(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* The zero bits after the stream's last code, as zlib's raw inflate
 * reports them when it stops right after the final block's end-of-block
 * code (Z_BLOCK; data_type: + 64 in the last block, + 128 after an
 * end-of-block code, & 7 the bits of the last byte it has not used). */
static int zlib_pad(const unsigned char *s, size_t n, unsigned char *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    cr_assert_eq(inflateInit2(&z, -15), Z_OK);
    z.next_in = (unsigned char *)(uintptr_t)s;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    for (int i = 0; i < 1000; i++) {
        int st = inflate(&z, Z_BLOCK);
        cr_assert(st == Z_OK || st == Z_STREAM_END, "inflate %d", st);
        if ((z.data_type & 64) && (z.data_type & 128))
            break;
    }
    int pad = z.data_type & 7;
    cr_assert((z.data_type & 192) == 192 && z.avail_in == 0, "data_type %d, %u bytes left",
              z.data_type, z.avail_in);
    inflateEnd(&z);
    return pad;
}

/* libdeflate's one-block streams at levels 0, 1 and 6 of inputs of 1 to
 * 20 000 bytes (few or many distinct bytes, runs, noise): the true padding
 * is always a candidate, and on the dynamic blocks the candidates tell
 * three or more bits (an empty stored block's header fits) from fewer in
 * nine streams of ten or more (all 387 here), which is what lets the
 * writer skip its check by inflating.
 * With a candidate left out (mutation: the code's bits compared from the
 * least significant) the first check fails. */
Test(io_chunks_runs, pad_candidates_hold_the_true_padding)
{
    enum { N = 20000 };
    unsigned char *in = malloc(N), *s = malloc(2 * N + 64), *out = malloc(N);
    struct libdeflate_compressor *comp[3] = {libdeflate_alloc_compressor(0),
                                             libdeflate_alloc_compressor(1),
                                             libdeflate_alloc_compressor(6)};
    uint32_t seed = 12345u;
    int dynamic = 0, told = 0, one_block = 0;
    cr_assert(in != NULL && s != NULL && out != NULL && comp[0] && comp[1] && comp[2]);
    for (int t = 0; t < 600; t++) {
        size_t n = 1 + next(&seed) % (t % 3 == 0 ? 64u : N - 1u);
        uint32_t kinds = 1u + next(&seed) % 255u, run = next(&seed) % 4u;
        for (size_t i = 0; i < n; i++)
            in[i] = run == 0 && i > n / 2 ? 0 : (unsigned char)(next(&seed) % kinds);
        size_t len = libdeflate_deflate_compress(comp[t % 3], in, n, s, 2 * N + 64);
        cr_assert(len > 0);
        if ((s[0] & 1u) == 0)
            continue; /* more blocks than one */
        one_block++;
        int pad = zlib_pad(s, len, out, N);
        unsigned mask = km_deflate_pad_candidates(s, len);
        cr_assert(mask & (1u << pad), "input %d (%zu bytes, level %d, block type %u): padding %d "
                  "not among the candidates %#x", t, n, t % 3 == 0 ? 0 : t % 3 == 1 ? 1 : 6,
                  (unsigned)(s[0] >> 1) & 3u, pad, mask);
        if (((s[0] >> 1) & 3u) == 2u) {
            dynamic++;
            told += (mask & 0x07u) == 0 || (mask & 0xf8u) == 0;
        }
    }
    cr_assert_gt(one_block, 400);
    cr_assert_gt(dynamic, 100);
    cr_assert_geq(told * 10, dynamic * 9, "three bits or more told apart on %d of %d", told,
                  dynamic);
    cr_assert_eq(km_deflate_pad_candidates((const unsigned char *)"\x00\x00", 2), 0u,
                 "a block that is not final");
    for (int k = 0; k < 3; k++)
        libdeflate_free_compressor(comp[k]);
    free(in);
    free(s);
    free(out);
}

enum { CF = 4096 };

typedef struct column {
    const char *name;
    hid_t mtype, ftype;
    size_t elem;
    int shuffle, noise;
    size_t rows; /* appended: full chunks and a last one partly filled */
} column;

/* Values with planes of one byte: small integers (int64 frame and peak
 * numbers, int32 ids), float32 with noisy low planes under a constant top
 * one, float64 times unshuffled (their last chunk's padding). */
static void fill(const column *c, unsigned char *buf, uint32_t *seed)
{
    for (size_t i = 0; i < c->rows; i++) {
        uint32_t r = next(seed);
        if (c->elem == 8 && c->mtype == H5T_NATIVE_INT64) {
            int64_t v = (int64_t)(i / 5) + (r % 3 == 0 ? (int64_t)(r % 17) : 0);
            memcpy(buf + 8 * i, &v, 8);
        } else if (c->mtype == H5T_NATIVE_INT32) {
            int32_t v = (int32_t)(r % 1000) + (int32_t)(i % 7) * 4096;
            memcpy(buf + 4 * i, &v, 4);
        } else if (c->mtype == H5T_NATIVE_FLOAT) {
            float v = 40.0f + (float)(r % 1000000) * 1e-5f; /* [40, 50): top byte 0x42 */
            memcpy(buf + 4 * i, &v, 4);
        } else {
            double v = (double)(i / 6) * 0.01;
            memcpy(buf + 8 * i, &v, 8);
        }
    }
}

static hid_t make_column(hid_t f, const column *c)
{
    hsize_t dims[1] = {0}, maxd[1] = {H5S_UNLIMITED}, chunk[1] = {CF};
    hid_t sp = H5Screate_simple(1, dims, maxd), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    cr_assert(sp >= 0 && dcpl >= 0 && H5Pset_chunk(dcpl, 1, chunk) >= 0);
    if (c->shuffle)
        cr_assert(H5Pset_shuffle(dcpl) >= 0);
    cr_assert(H5Pset_deflate(dcpl, 1) >= 0);
    hid_t d = H5Dcreate2(f, c->name, c->ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    cr_assert(d >= 0);
    H5Pclose(dcpl);
    H5Sclose(sp);
    return d;
}

/* Each stored chunk inflates (libdeflate) to the chunk as HDF5 lays it out
 * (shuffled when the column is, zero padding after the rows), and is not
 * libdeflate's zlib stream of it: its tails went in as runs. */
static void check_chunks(hid_t d, const column *c, const unsigned char *data, int *differ)
{
    size_t cb = CF * c->elem, nch = (c->rows + CF - 1) / CF;
    unsigned char *chunk = calloc(1, cb), *sh = malloc(cb), *stored = malloc(2 * cb + 64);
    unsigned char *whole = malloc(2 * cb + 64), *back = malloc(cb);
    struct libdeflate_compressor *comp = libdeflate_alloc_compressor(1);
    struct libdeflate_decompressor *dec = libdeflate_alloc_decompressor();
    cr_assert(chunk && sh && stored && whole && back && comp && dec);
    for (size_t k = 0; k < nch; k++) {
        size_t rows = c->rows - k * CF < CF ? c->rows - k * CF : CF, got = 0;
        memset(chunk, 0, cb);
        memcpy(chunk, data + k * cb, rows * c->elem);
        if (c->shuffle)
            km_shuffle_bytes(chunk, sh, cb, c->elem);
        else
            memcpy(sh, chunk, cb);
        hsize_t off[1] = {(hsize_t)(k * CF)}, size = 0;
        uint32_t mask = 9u;
        cr_assert(H5Dget_chunk_storage_size(d, off, &size) >= 0 && size <= 2 * cb + 64);
        cr_assert(H5Dread_chunk(d, H5P_DEFAULT, off, &mask, stored) >= 0 && mask == 0u);
        cr_assert_eq(libdeflate_zlib_decompress(dec, stored, (size_t)size, back, cb, &got),
                     LIBDEFLATE_SUCCESS, "%s chunk %zu does not inflate", c->name, k);
        cr_assert(got == cb && memcmp(back, sh, cb) == 0, "%s chunk %zu differs", c->name, k);
        size_t wn = libdeflate_zlib_compress(comp, sh, cb, whole, 2 * cb + 64);
        *differ += wn != (size_t)size || memcmp(whole, stored, wn) != 0;
    }
    libdeflate_free_compressor(comp);
    libdeflate_free_decompressor(dec);
    free(chunk), free(sh), free(stored), free(whole), free(back);
}

/* 17 chunks of columns like a result's (/peaks frame and peak, /tracks
 * ids, float32 values, /peaks time), last chunks 13-90% full: HDF5 reads
 * every value back, each chunk inflates to its bytes, and every chunk but
 * the full unshuffled times' (no tail) took the runs.  With the stored
 * block after a stream taken the other way round (mutation: 00 00 ff ff
 * where the padding held fewer than three bits) HDF5's read fails. */
Test(io_chunks_runs, plane_tails_read_back)
{
    static const column cols[] = {
        {"frame", 0, 0, 8, 1, 0, 3 * CF + 1500}, {"peak", 0, 0, 8, 1, 0, 2 * CF + 3700},
        {"track", 0, 0, 4, 1, 0, 3 * CF + 600},  {"value", 0, 0, 4, 1, 1, 2 * CF + 2000},
        {"time", 0, 0, 8, 0, 0, 2 * CF + 1000},
    };
    const hid_t mt[] = {H5T_NATIVE_INT64, H5T_NATIVE_INT64, H5T_NATIVE_INT32, H5T_NATIVE_FLOAT,
                        H5T_NATIVE_DOUBLE};
    const hid_t ft[] = {H5T_STD_I64LE, H5T_STD_I64LE, H5T_STD_I32LE, H5T_IEEE_F32LE,
                        H5T_IEEE_F64LE};
    char path[128];
    snprintf(path, sizeof path, "%s/runs.h5", dir);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    km_h5_deflater *zd = km_h5_deflater_new();
    uint32_t seed = 777u;
    int differ = 0, chunks = 0;
    cr_assert(f >= 0 && zd != NULL);
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        column c = cols[i];
        c.mtype = mt[i];
        c.ftype = ft[i];
        unsigned char *data = malloc(c.rows * c.elem), *back = malloc(c.rows * c.elem);
        cr_assert(data != NULL && back != NULL);
        fill(&c, data, &seed);
        hid_t d = make_column(f, &c);
        km_h5_chunks_out *w = km_h5_chunks_out_open(d, c.mtype, zd);
        cr_assert_not_null(w, "%s: no direct writer", c.name);
        if (c.noise)
            km_h5_chunks_out_noise_planes(w);
        /* appended in uneven pieces, as a table grows */
        for (size_t at = 0, step = 1000; at < c.rows; at += step, step = step * 3 % 4001 + 1)
            cr_assert(km_h5_chunks_write(w, data + at * c.elem,
                                         c.rows - at < step ? c.rows - at : step));
        cr_assert(km_h5_chunks_flush(w));
        km_h5_chunks_out_free(w);
        memset(back, 0xa5, c.rows * c.elem);
        cr_assert(H5Dread(d, c.mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, back) >= 0,
                  "%s: HDF5 cannot read it", c.name);
        cr_assert_eq(memcmp(back, data, c.rows * c.elem), 0, "%s: H5Dread differs", c.name);
        check_chunks(d, &c, data, &differ);
        chunks += (int)((c.rows + CF - 1) / CF);
        H5Dclose(d);
        free(data);
        free(back);
    }
    cr_assert_eq(chunks, 17);
    cr_assert_eq(differ, chunks - 2, "%d of %d chunks took the runs", differ, chunks);
    km_h5_deflater_free(zd);
    H5Fclose(f);
}
