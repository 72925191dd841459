/* Direct chunk reads (src/io/h5_chunks_read.c): frames bit-identical to HDF5's
 * own H5Dread on files written here with the HDF5 C API: with and without
 * shuffle, deflate levels 0-9, partial edge chunks (filtered and, with
 * H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS, stored raw), frames split in
 * tiles (as h5py chunks by itself; edge tiles partial in rows and
 * columns), requests that start and end inside chunks, float64 files (rounded to float32 as H5Dread
 * rounds them, edge values included); ineligible layouts are refused (the session reader
 * then uses H5Dread); a damaged chunk is refused, not misread. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <float.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/h5_chunks.h"
#include "io/h5_raw.h"
#include "knotmap.h"
#include "test_util.h"

static char dir[64];

static void setup(void)
{
    km_test_make_dir(dir, sizeof dir, "km-iochunks-");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void teardown(void)
{
    cr_expect_eq(km_test_remove_dir(dir), 0);
}

TestSuite(io_chunks, .init = setup, .fini = teardown);

enum { T = 203, R = 7, C = 5 };

/* Frames like a sensor's: smooth + noise, some exact zeros, signed values. */
static void fill(float *f, size_t n, unsigned seed)
{
    uint32_t s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        float noise = (float)(s >> 8) / 16777216.0f - 0.5f;
        float v = 20.0f * sinf((float)i * 0.01f) + noise;
        f[i] = (i % 17 == 0) ? 0.0f : v;
    }
}

typedef struct layout {
    int shuffle;
    int level;        /* deflate level, -1 = no deflate */
    int chunk_frames;
    int raw_partial;  /* H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS */
    int f64;          /* stored as float64 (data: doubles) */
    int tile_r, tile_c; /* a chunk's rows and columns; 0: the frame's */
} layout;

static hid_t write_file(const char *path, const layout *l, const void *data)
{
    hsize_t dims[3] = {T, R, C}, chunk[3] = {(hsize_t)l->chunk_frames,
                                             l->tile_r > 0 ? (hsize_t)l->tile_r : R,
                                             l->tile_c > 0 ? (hsize_t)l->tile_c : C};
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t sp = H5Screate_simple(3, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    cr_assert(f >= 0 && sp >= 0 && dcpl >= 0);
    cr_assert(H5Pset_chunk(dcpl, 3, chunk) >= 0);
    if (l->shuffle)
        cr_assert(H5Pset_shuffle(dcpl) >= 0);
    if (l->level >= 0)
        cr_assert(H5Pset_deflate(dcpl, (unsigned)l->level) >= 0);
    if (l->raw_partial)
        cr_assert(H5Pset_chunk_opts(dcpl, H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS) >= 0);
    hid_t d = H5Dcreate2(f, "frames", l->f64 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE, sp,
                         H5P_DEFAULT, dcpl, H5P_DEFAULT);
    cr_assert(d >= 0);
    cr_assert(H5Dwrite(d, l->f64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL,
                       H5P_DEFAULT, data) >= 0);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Fclose(f);
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0);
    return f;
}

static void h5_read(hid_t d, int64_t first, int64_t n, float *out)
{
    hsize_t start[3] = {(hsize_t)first, 0, 0}, count[3] = {(hsize_t)n, R, C};
    hid_t fs = H5Dget_space(d), ms = H5Screate_simple(3, count, NULL);
    cr_assert(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0);
    cr_assert(H5Dread(d, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, out) >= 0);
    H5Sclose(ms);
    H5Sclose(fs);
}

static layout layouts[] = {
    {1, 4, 64, 0, 0, 0, 0}, {0, 4, 64, 0, 0, 0, 0}, {1, 0, 64, 0, 0, 0, 0}, {1, 1, 50, 0, 0, 0, 0},
    {1, 9, 50, 0, 0, 0, 0},
    {0, 6, 1, 0, 0, 0, 0},  {1, -1, 64, 0, 0, 0, 0}, {0, -1, 64, 0, 0, 0, 0},
    {1, 4, 202, 0, 0, 0, 0}, {1, 4, 64, 1, 0, 0, 0}, {1, 5, 203, 0, 0, 0, 0},
    {0, 1, 7, 1, 0, 0, 0},
    /* float64: h5py's gzip (with and without shuffle), raw, odd chunk sizes */
    {1, 4, 64, 0, 1, 0, 0}, {0, 4, 50, 0, 1, 0, 0}, {1, -1, 64, 0, 1, 0, 0},
    {0, -1, 7, 0, 1, 0, 0}, {1, 9, 203, 0, 1, 0, 0}, {1, 1, 1, 0, 1, 0, 0},
    {0, 1, 7, 1, 1, 0, 0},
    /* tiles: partial in rows and columns, one row of tiles, one column,
       1 x 1, raw partial edges (those go to HDF5), float64 */
    {1, 4, 64, 0, 0, 3, 2}, {0, 6, 50, 0, 0, 7, 2}, {1, 1, 64, 0, 0, 2, 5}, {0, 4, 16, 0, 0, 1, 1},
    {1, 4, 64, 1, 0, 3, 2}, {1, 4, 64, 1, 0, 7, 1}, {1, -1, 50, 0, 0, 4, 4},
    {1, 4, 64, 0, 1, 3, 3}, {0, 9, 203, 0, 1, 6, 4},
};

ParameterizedTestParameters(io_chunks, identical_to_h5dread)
{
    return cr_make_param_array(layout, layouts, sizeof layouts / sizeof layouts[0]);
}

/* Every layout: whole-file read and a sequence of blocks of odd sizes
 * (starting and ending inside chunks) equal H5Dread bit for bit. */
ParameterizedTest(layout *l, io_chunks, identical_to_h5dread)
{
    size_t n = (size_t)T * R * C;
    float *data = malloc(n * sizeof *data), *a = malloc(n * sizeof *a),
          *b = malloc(n * sizeof *b);
    double *dd = malloc(n * sizeof *dd);
    char path[128];
    cr_assert(data && a && b && dd);
    fill(data, n, (unsigned)(l->level + 3 * l->shuffle + l->chunk_frames));
    /* float64: values between floats, so the rounding is exercised. */
    for (size_t i = 0; i < n; i++)
        dd[i] = (double)data[i] * (1.0 + 3e-8 * (double)(i % 7));
    if (l->f64)
        for (size_t i = 0; i < n; i++)
            data[i] = (float)dd[i]; /* what H5Dread must give (all in range) */
    snprintf(path, sizeof path, "%s/c.h5", dir);
    hid_t f = write_file(path, l, l->f64 ? (const void *)dd : (const void *)data);
    hid_t d = H5Dopen2(f, "frames", H5P_DEFAULT);
    km_h5_chunks *c = km_h5_chunks_open(d, SIZE_MAX);
    cr_assert_not_null(c, "shuffle %d level %d chunk %d: not eligible", l->shuffle, l->level,
                       l->chunk_frames);
    h5_read(d, 0, T, a);
    memset(b, 0xff, n * sizeof *b);
    if (l->raw_partial && ((l->tile_r > 0 && R % l->tile_r != 0) ||
                           (l->tile_c > 0 && C % l->tile_c != 0))) {
        /* Every chunk row has a tile partial in space, stored raw: all
           HDF5's to read. */
        cr_assert_eq(km_h5_chunks_read(c, 0, T, b), 0, "partial tiles stored raw");
        cr_assert_eq(memcmp(a, data, n * sizeof *a), 0);
        goto done;
    }
    if (l->raw_partial && T % l->chunk_frames != 0) {
        /* The unfiltered edge chunk is HDF5's to read (h5_chunks_read.c), the
           full chunks before it are decoded here. */
        int64_t full = T / l->chunk_frames * l->chunk_frames;
        cr_assert_eq(km_h5_chunks_read(c, T - 1, 1, b), 0);
        cr_assert_eq(km_h5_chunks_read(c, 0, T, b), full, "stops before the edge chunk");
        cr_assert_eq(memcmp(a, b, (size_t)full * R * C * sizeof *a), 0);
        cr_assert_eq(memcmp(a, data, n * sizeof *a), 0);
        goto done;
    }
    cr_assert_eq(km_h5_chunks_read(c, 0, T, b), T, "shuffle %d level %d chunk %d raw partial %d",
                 l->shuffle, l->level, l->chunk_frames, l->raw_partial);
    cr_assert_eq(memcmp(a, b, n * sizeof *a), 0);
    cr_assert_eq(memcmp(a, data, n * sizeof *a), 0);
    /* Blocks of 37, 1, 100, ... frames in order, as a reader pulls them. */
    static const int64_t steps[] = {37, 1, 100, 3, 64, 200};
    memset(b, 0xff, n * sizeof *b);
    for (int64_t f0 = 0, k = 0; f0 < T; k++) {
        int64_t len = steps[k % 6] < T - f0 ? steps[k % 6] : T - f0;
        cr_assert_eq(km_h5_chunks_read(c, f0, len, b + (size_t)f0 * R * C), len);
        f0 += len;
    }
    cr_assert_eq(memcmp(a, b, n * sizeof *a), 0);
    /* Past the end: refused. */
    cr_assert_eq(km_h5_chunks_read(c, T - 2, 3, b), 0);
done:
    km_h5_chunks_free(c);
    H5Dclose(d);
    H5Fclose(f);
    free(data);
    free(dd);
    free(a);
    free(b);
}

/* float64 values at the edges of float32: overflow (HDF5 gives +-inf where
 * a C cast rounds to FLT_MAX), the largest float and its rounding boundary,
 * denormals, underflow to +-0, ties, -0, NaN and infinities: bit-identical
 * to H5Dread's conversion, in whole chunks and from the cache. */
Test(io_chunks, float64_edges_as_h5dread)
{
    enum { NE = 24 };
    const double edges[NE] = {(double)FLT_MAX,
                              (double)FLT_MAX * (1.0 + 0x1p-25),
                              (double)FLT_MAX * (1.0 + 0x1p-23),
                              -(double)FLT_MAX * (1.0 + 0x1p-25),
                              1e39,
                              -1e300,
                              DBL_MAX,
                              (double)FLT_MIN,
                              (double)FLT_MIN * 0.75,
                              0x1p-149,
                              0x1p-150,
                              0x1p-151,
                              -0x1p-151,
                              1e-300,
                              1.0 + 0x1p-24,
                              1.0 + 3 * 0x1p-24,
                              -0.0,
                              NAN,
                              -NAN,
                              INFINITY,
                              -INFINITY,
                              0.1,
                              -33.4,
                              16777217.0};
    size_t n = (size_t)T * R * C;
    double *dd = malloc(n * sizeof *dd);
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    cr_assert(dd && a && b);
    for (size_t i = 0; i < n; i++)
        dd[i] = edges[i % NE] * (i % (2 * NE) < NE ? 1.0 : -1.0);
    layout l = {1, 4, 16, 0, 1, 0, 0};
    char path[128];
    snprintf(path, sizeof path, "%s/e.h5", dir);
    hid_t f = write_file(path, &l, dd);
    hid_t d = H5Dopen2(f, "frames", H5P_DEFAULT);
    km_h5_chunks *c = km_h5_chunks_open(d, SIZE_MAX);
    cr_assert_not_null(c, "float64 shuffle+deflate must be eligible");
    h5_read(d, 0, T, a);
    memset(b, 0xff, n * sizeof *b);
    cr_assert_eq(km_h5_chunks_read(c, 0, 5, b), 5);
    cr_assert_eq(km_h5_chunks_read(c, 5, T - 5, b + (size_t)5 * R * C), T - 5);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(memcmp(&a[i], &b[i], sizeof *a), 0, "value %.17g: H5Dread %a, here %a",
                     dd[i], (double)a[i], (double)b[i]);
    cr_expect(isinf(a[2]) && a[2] > 0, "HDF5 overflows to inf, not FLT_MAX");
    km_h5_chunks_free(c);
    H5Dclose(d);
    H5Fclose(f);
    free(dd);
    free(a);
    free(b);
}

/* Not eligible: contiguous, big-endian float64, fletcher32, and frames
 * split in tiles whose chunk row (every tile across the frame) exceeds the
 * caller's bound. */
Test(io_chunks, ineligible_layouts_fall_back)
{
    char path[128];
    snprintf(path, sizeof path, "%s/n.h5", dir);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[3] = {T, R, C}, part[3] = {16, R, 2}, whole[3] = {16, R, C};
    hid_t sp = H5Screate_simple(3, dims, NULL);
    hid_t p1 = H5Pcreate(H5P_DATASET_CREATE), p2 = H5Pcreate(H5P_DATASET_CREATE),
          p3 = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(p1, 3, part);
    H5Pset_chunk(p2, 3, whole);
    H5Pset_chunk(p3, 3, whole);
    H5Pset_fletcher32(p3);
    hid_t d[4] = {
        H5Dcreate2(f, "contiguous", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
        H5Dcreate2(f, "split", H5T_IEEE_F32LE, sp, H5P_DEFAULT, p1, H5P_DEFAULT),
        H5Dcreate2(f, "double_be", H5T_IEEE_F64BE, sp, H5P_DEFAULT, p2, H5P_DEFAULT),
        H5Dcreate2(f, "fletcher", H5T_IEEE_F32LE, sp, H5P_DEFAULT, p3, H5P_DEFAULT)};
    for (int i = 0; i < 4; i++) {
        cr_assert(d[i] >= 0);
        /* the split one's chunk row: 16 frames of R x C float32 */
        cr_expect_null(km_h5_chunks_open(d[i], i == 1 ? (size_t)16 * R * C * 4 - 1 : SIZE_MAX),
                       "dataset %d", i);
        if (i == 1) {
            km_h5_chunks *c = km_h5_chunks_open(d[i], (size_t)16 * R * C * 4);
            cr_expect_not_null(c, "the split one within its bound");
            km_h5_chunks_free(c);
        }
        H5Dclose(d[i]);
    }
    H5Pclose(p1);
    H5Pclose(p2);
    H5Pclose(p3);
    H5Sclose(sp);
    H5Fclose(f);
}

/* A chunk never written (fill value) and a damaged chunk are refused, so
 * the reader asks HDF5; the session reader then gives HDF5's error. */
Test(io_chunks, unwritten_and_damaged_chunks_refused)
{
    char path[128];
    snprintf(path, sizeof path, "%s/u.h5", dir);
    hsize_t dims[3] = {T, R, C}, chunk[3] = {64, R, C}, one[3] = {64, R, C},
            start[3] = {0, 0, 0};
    size_t n = (size_t)T * R * C;
    float *buf = calloc(n, sizeof *buf);
    cr_assert_not_null(buf);
    fill(buf, 64 * R * C, 5);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t sp = H5Screate_simple(3, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 3, chunk);
    H5Pset_shuffle(dcpl);
    H5Pset_deflate(dcpl, 4);
    hid_t d = H5Dcreate2(f, "frames", H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    hid_t ms = H5Screate_simple(3, one, NULL);
    H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, one, NULL);
    cr_assert(H5Dwrite(d, H5T_NATIVE_FLOAT, ms, sp, H5P_DEFAULT, buf) >= 0); /* chunk 0 only */
    /* Chunk 0 rewritten with bytes that are not a zlib stream. */
    km_h5_chunks *c = km_h5_chunks_open(d, SIZE_MAX);
    cr_assert_not_null(c);
    cr_expect_eq(km_h5_chunks_read(c, 0, 64, buf), 64);
    cr_expect_eq(km_h5_chunks_read(c, 32, 64, buf), 32, "unwritten chunk must go to HDF5");
    km_h5_chunks_free(c);
    unsigned char junk[100];
    memset(junk, 0x5a, sizeof junk);
    hsize_t off[3] = {0, 0, 0};
    cr_assert(H5Dwrite_chunk(d, H5P_DEFAULT, 0, off, sizeof junk, junk) >= 0);
    c = km_h5_chunks_open(d, SIZE_MAX);
    cr_assert_not_null(c);
    cr_expect_eq(km_h5_chunks_read(c, 0, 10, buf), 0, "damaged chunk must be refused");
    km_h5_chunks_free(c);
    H5Sclose(ms);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Fclose(f);
    free(buf);
}

/* Stored chunks are read with pread at the addresses HDF5 gives only from
 * a plain sec2 file (km_h5_raw_fd): a file with a user block (addresses
 * are relative to it) or in memory (the core driver) goes through
 * H5Dread_chunk.  All three read equal to H5Dread. */
Test(io_chunks, raw_reads_only_where_addresses_are_the_files)
{
    static const layout l = {1, 4, 64, 0, 0, 0, 0};
    size_t n = (size_t)T * R * C;
    float *data = malloc(n * sizeof *data), *a = malloc(n * sizeof *a),
          *b = malloc(n * sizeof *b);
    char path[128], ubpath[128];
    cr_assert(data && a && b);
    fill(data, n, 11u);
    snprintf(path, sizeof path, "%s/plain.h5", dir);
    snprintf(ubpath, sizeof ubpath, "%s/ub.h5", dir);
    H5Fclose(write_file(path, &l, data));
    /* The same dataset behind a 512-byte user block. */
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    cr_assert(fcpl >= 0 && H5Pset_userblock(fcpl, 512) >= 0);
    hid_t src = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ub = H5Fcreate(ubpath, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    cr_assert(src >= 0 && ub >= 0);
    cr_assert(H5Ocopy(src, "frames", ub, "frames", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    H5Fclose(ub);
    H5Fclose(src);
    H5Pclose(fcpl);
    hid_t core = H5Pcreate(H5P_FILE_ACCESS);
    cr_assert(core >= 0 && H5Pset_fapl_core(core, 1 << 20, 0) >= 0);
    struct {
        const char *path;
        hid_t fapl;
        int raw;
    } cases[] = {{path, H5P_DEFAULT, 1}, {ubpath, H5P_DEFAULT, 0}, {path, core, 0}};
    for (int i = 0; i < 3; i++) {
        hid_t f = H5Fopen(cases[i].path, H5F_ACC_RDONLY, cases[i].fapl);
        hid_t d = H5Dopen2(f, "frames", H5P_DEFAULT);
        cr_assert(f >= 0 && d >= 0);
        cr_assert_eq(km_h5_raw_fd(d) >= 0, cases[i].raw, "case %d", i);
        km_h5_chunks *c = km_h5_chunks_open(d, SIZE_MAX);
        cr_assert_not_null(c);
        h5_read(d, 0, T, a);
        memset(b, 0xff, n * sizeof *b);
        cr_assert_eq(km_h5_chunks_read(c, 0, T, b), T, "case %d", i);
        cr_assert_eq(memcmp(a, b, n * sizeof *a), 0, "case %d", i);
        cr_assert_eq(memcmp(a, data, n * sizeof *a), 0, "case %d", i);
        km_h5_chunks_free(c);
        H5Dclose(d);
        H5Fclose(f);
    }
    H5Pclose(core);
    free(data);
    free(a);
    free(b);
}

/* From a plain file every chunk is located at the open (tiles too): the
 * frames are then read with no look-up in HDF5's chunk index, which takes
 * its global lock (bench/HISTORY.md "Session 32 (pipe3)"); from memory (the
 * core driver) each chunk is still asked for.  Equal to H5Dread both ways. */
Test(io_chunks, chunks_located_at_open)
{
    static const layout tiled = {1, 4, 64, 0, 0, 3, 2}; /* 4 chunk rows of 3 x 3 tiles */
    size_t n = (size_t)T * R * C;
    float *data = malloc(n * sizeof *data), *a = malloc(n * sizeof *a);
    char path[128];
    cr_assert(data && a);
    fill(data, n, 17u);
    snprintf(path, sizeof path, "%s/loc.h5", dir);
    H5Fclose(write_file(path, &tiled, data));
    hid_t core = H5Pcreate(H5P_FILE_ACCESS);
    cr_assert(core >= 0 && H5Pset_fapl_core(core, 1 << 20, 0) >= 0);
    hid_t fapl[2] = {H5P_DEFAULT, core};
    for (int i = 0; i < 2; i++) {
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl[i]);
        hid_t d = H5Dopen2(f, "frames", H5P_DEFAULT);
        cr_assert(f >= 0 && d >= 0);
        km_h5_chunks *c = km_h5_chunks_open(d, SIZE_MAX);
        cr_assert_not_null(c);
        memset(a, 0xff, n * sizeof *a);
        for (int64_t t = 0; t < T; t += 50) /* requests across chunk rows */
            cr_assert_eq(km_h5_chunks_read(c, t, T - t < 50 ? T - t : 50, a + t * R * C),
                         T - t < 50 ? T - t : 50, "case %d", i);
        cr_expect_eq(memcmp(a, data, n * sizeof *a), 0, "case %d", i);
        cr_expect_eq(km_h5_chunks_index_calls(c), i == 0 ? 0 : 4 * 9, "case %d", i);
        km_h5_chunks_free(c);
        H5Dclose(d);
        H5Fclose(f);
    }
    H5Pclose(core);
    free(data);
    free(a);
}

/* A file cut short after the open: the chunk places read at the open
 * point past its end, pread comes back short and the chunk is refused,
 * left to H5Dread (the session reader then reports HDF5's error:
 * test_io_session.c). */
Test(io_chunks, file_truncated_after_open_refused)
{
    static const layout cut = {1, 4, 64, 0, 0, 0, 0};
    float *frames = malloc((size_t)T * R * C * sizeof *frames); /* written, then read into */
    char path[128];
    cr_assert_not_null(frames);
    fill(frames, (size_t)T * R * C, 23u);
    snprintf(path, sizeof path, "%s/cut.h5", dir);
    hid_t f = write_file(path, &cut, frames);
    hid_t d = H5Dopen2(f, "frames", H5P_DEFAULT);
    cr_assert(d >= 0);
    km_h5_chunks *c = km_h5_chunks_open(d, SIZE_MAX);
    cr_assert_not_null(c);
    cr_assert_eq(truncate(path, 2048), 0);
    cr_expect_lt(km_h5_chunks_read(c, 0, T, frames), 64, "a chunk past the end must be refused");
    km_h5_chunks_free(c);
    H5Dclose(d);
    H5Fclose(f);
    free(frames);
}
