/* Direct chunk reads (src/io/h5_chunks.c): frames bit-identical to HDF5's
 * own H5Dread on files written here with the HDF5 C API: with and without
 * shuffle, deflate levels 0-9, partial edge chunks (filtered and, with
 * H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS, stored raw), requests that start
 * and end inside chunks; ineligible layouts are refused (the session reader
 * then uses H5Dread); a damaged chunk is refused, not misread. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5_chunks.h"
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
} layout;

static hid_t write_file(const char *path, const layout *l, const float *data)
{
    hsize_t dims[3] = {T, R, C}, chunk[3] = {(hsize_t)l->chunk_frames, R, C};
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
    hid_t d = H5Dcreate2(f, "frames", H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    cr_assert(d >= 0);
    cr_assert(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
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
    {1, 4, 64, 0}, {0, 4, 64, 0}, {1, 0, 64, 0}, {1, 1, 50, 0}, {1, 9, 50, 0},
    {0, 6, 1, 0},  {1, -1, 64, 0}, {0, -1, 64, 0}, {1, 4, 202, 0}, {1, 4, 64, 1},
    {1, 5, 203, 0}, {0, 1, 7, 1},
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
    char path[128];
    cr_assert(data && a && b);
    fill(data, n, (unsigned)(l->level + 3 * l->shuffle + l->chunk_frames));
    snprintf(path, sizeof path, "%s/c.h5", dir);
    hid_t f = write_file(path, l, data);
    hid_t d = H5Dopen2(f, "frames", H5P_DEFAULT);
    km_h5_chunks *c = km_h5_chunks_open(d);
    cr_assert_not_null(c, "shuffle %d level %d chunk %d: not eligible", l->shuffle, l->level,
                       l->chunk_frames);
    h5_read(d, 0, T, a);
    memset(b, 0xff, n * sizeof *b);
    if (l->raw_partial && T % l->chunk_frames != 0) {
        /* The unfiltered edge chunk is HDF5's to read (h5_chunks.c), the
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
    free(a);
    free(b);
}

/* Not eligible: contiguous, chunks splitting frames, float64, fletcher32. */
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
        H5Dcreate2(f, "double", H5T_IEEE_F64LE, sp, H5P_DEFAULT, p2, H5P_DEFAULT),
        H5Dcreate2(f, "fletcher", H5T_IEEE_F32LE, sp, H5P_DEFAULT, p3, H5P_DEFAULT)};
    for (int i = 0; i < 4; i++) {
        cr_assert(d[i] >= 0);
        cr_expect_null(km_h5_chunks_open(d[i]), "dataset %d", i);
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
    km_h5_chunks *c = km_h5_chunks_open(d);
    cr_assert_not_null(c);
    cr_expect_eq(km_h5_chunks_read(c, 0, 64, buf), 64);
    cr_expect_eq(km_h5_chunks_read(c, 32, 64, buf), 32, "unwritten chunk must go to HDF5");
    km_h5_chunks_free(c);
    unsigned char junk[100];
    memset(junk, 0x5a, sizeof junk);
    hsize_t off[3] = {0, 0, 0};
    cr_assert(H5Dwrite_chunk(d, H5P_DEFAULT, 0, off, sizeof junk, junk) >= 0);
    c = km_h5_chunks_open(d);
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
