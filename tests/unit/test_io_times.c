/* A session's /time read ahead (src/io/h5_times.c): values equal to the
 * dataset's, HDF5 asked once per KM_H5_TIMES_AHEAD values read in blocks,
 * a request of that size or more read straight through; its chunks decoded
 * outside HDF5's lock (km_h5_read_f64_chunks, src/io/h5_chunks_read.c) bit
 * for bit as H5Dread reads them, other layouts left to H5Dread. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5_times.h"
#include "io/h5util.h"
#include "test_util.h"

static char dir[64];

static void setup(void)
{
    km_test_make_dir(dir, sizeof dir, "km-iotimes-");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void teardown(void)
{
    cr_expect_eq(km_test_remove_dir(dir), 0);
}

TestSuite(io_times, .init = setup, .fini = teardown);

enum { N = 10000 };

enum { LAYOUT_SHUFFLE = 1, LAYOUT_DEFLATE = 2, LAYOUT_RAW_EDGE = 4, LAYOUT_FLOAT = 8,
       LAYOUT_CONTIG = 16 };

/* /time of N values in chunks of 1000 with the layout's filters (or
 * stored as float32, or contiguous). */
static void write_layout(const char *path, const double *t, int layout)
{
    hsize_t dims = N, chunk = 1000;
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t sp = H5Screate_simple(1, &dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    cr_assert(f >= 0 && sp >= 0 && dcpl >= 0);
    if (!(layout & LAYOUT_CONTIG))
        cr_assert(H5Pset_chunk(dcpl, 1, &chunk) >= 0);
    if (layout & LAYOUT_SHUFFLE)
        cr_assert(H5Pset_shuffle(dcpl) >= 0);
    if (layout & LAYOUT_DEFLATE)
        cr_assert(H5Pset_deflate(dcpl, 6) >= 0);
    if (layout & LAYOUT_RAW_EDGE)
        cr_assert(H5Pset_chunk_opts(dcpl, H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS) >= 0);
    hid_t d = H5Dcreate2(f, "time", layout & LAYOUT_FLOAT ? H5T_IEEE_F32LE : H5T_IEEE_F64LE, sp,
                         H5P_DEFAULT, dcpl, H5P_DEFAULT);
    cr_assert(d >= 0);
    cr_assert(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, t) >= 0);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);
}

/* /time of N values, chunked and deflated. */
static void write_times(const char *path, const double *t)
{
    write_layout(path, t, LAYOUT_DEFLATE);
}

Test(io_times, read_ahead_in_blocks)
{
    char path[128];
    double *t = malloc(N * sizeof *t), *got = malloc(N * sizeof *got),
           *buf = malloc(KM_H5_TIMES_AHEAD * sizeof *buf);
    cr_assert(t && got && buf);
    for (int i = 0; i < N; i++)
        t[i] = 0.01 * i + (i % 7) * 1e-6;
    snprintf(path, sizeof path, "%s/t.h5", dir);
    write_times(path, t);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), d = H5Dopen2(f, "time", H5P_DEFAULT);
    cr_assert(f >= 0 && d >= 0);
    static const int64_t blocks[] = {1, 100, 333, KM_H5_TIMES_AHEAD - 1};
    for (size_t b = 0; b < sizeof blocks / sizeof *blocks; b++) {
        km_h5_times tc;
        memset(&tc, 0, sizeof tc);
        tc.buf = buf;
        memset(got, 0xff, N * sizeof *got);
        for (int64_t i = 0; i < N; i += blocks[b]) {
            int64_t n = N - i < blocks[b] ? N - i : blocks[b];
            int held = km_h5_times_held(&tc, i, n);
            int64_t before = tc.reads;
            cr_assert(km_h5_times_read(&tc, d, N, i, n, got + i));
            cr_assert_eq(tc.reads, before + !held, "HDF5 read only when not held");
        }
        cr_expect_eq(memcmp(got, t, N * sizeof *t), 0, "block %lld", (long long)blocks[b]);
        /* each read ahead from the first value not held: 3 reads for 10000 */
        cr_expect_eq(tc.reads, (N + KM_H5_TIMES_AHEAD - 1) / KM_H5_TIMES_AHEAD, "block %lld",
                     (long long)blocks[b]);
    }
    /* A request of KM_H5_TIMES_AHEAD or more: straight into the caller's
       buffer, nothing held. */
    km_h5_times tc;
    memset(&tc, 0, sizeof tc);
    tc.buf = buf;
    memset(got, 0xff, N * sizeof *got);
    cr_assert(km_h5_times_read(&tc, d, N, 5, N - 5, got + 5));
    cr_expect_eq(memcmp(got + 5, t + 5, (N - 5) * sizeof *t), 0);
    cr_expect_eq(tc.reads, 1);
    cr_expect_eq(tc.n, 0);
    /* Past the end: HDF5 refuses, nothing held. */
    cr_expect_eq(km_h5_times_read(&tc, d, N, N - 10, 20, got), 0);
    cr_expect_eq(tc.n, 0);
    H5Dclose(d);
    H5Fclose(f);
    free(t);
    free(got);
    free(buf);
}

Test(io_times, chunks_decoded_as_h5dread_reads_them)
{
    static const int layouts[] = {LAYOUT_SHUFFLE | LAYOUT_DEFLATE, LAYOUT_DEFLATE, LAYOUT_SHUFFLE,
                                  0, LAYOUT_FLOAT | LAYOUT_DEFLATE, LAYOUT_CONTIG,
                                  LAYOUT_DEFLATE | LAYOUT_RAW_EDGE};
    static const int direct[] = {1, 1, 1, 1, 0, 0, 0};
    /* within a chunk, across chunks, the partial last one, everything */
    static const int64_t ranges[][2] = {{0, 1}, {5, 990}, {999, 2}, {1500, 4321}, {9990, 10},
                                        {0, N}};
    char path[128];
    double *t = malloc(N * sizeof *t), *got = malloc(N * sizeof *got), *want = malloc(N * sizeof *want);
    cr_assert(t && got && want);
    for (int i = 0; i < N; i++) /* irregular steps, every bit of the mantissa in play */
        t[i] = 1e4 + 0.01 * i + 1e-7 * ((i * 7919) % 1013) + ldexp((double)(i % 3), -40);
    snprintf(path, sizeof path, "%s/t.h5", dir);
    for (size_t l = 0; l < sizeof layouts / sizeof *layouts; l++) {
        write_layout(path, t, layouts[l]);
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), d = H5Dopen2(f, "time", H5P_DEFAULT);
        cr_assert(f >= 0 && d >= 0);
        km_h5_f64 v;
        cr_expect_eq(km_h5_f64_open(d, &v), direct[l], "layout %d", layouts[l]);
        for (size_t r = 0; r < sizeof ranges / sizeof *ranges; r++) {
            int64_t a = ranges[r][0], n = ranges[r][1];
            hsize_t start = (hsize_t)a, count = (hsize_t)n;
            cr_assert(km_h5_read_block(d, H5T_NATIVE_DOUBLE, 1, &start, &count, want));
            memset(got, 0xff, (size_t)n * sizeof *got);
            cr_expect_eq(km_h5_read_f64_chunks(d, &v, a, n, got), direct[l], "layout %d",
                         layouts[l]);
            if (direct[l])
                cr_expect_eq(memcmp(got, want, (size_t)n * sizeof *got), 0, "layout %d [%lld, +%lld)",
                             layouts[l], (long long)a, (long long)n);
        }
        /* Past the end: not read here either. */
        cr_expect_eq(km_h5_read_f64_chunks(d, &v, N - 5, 10, got), 0);
        /* Through the read-ahead: the same values, decoded here. */
        double *buf = malloc(KM_H5_TIMES_AHEAD * sizeof *buf);
        km_h5_times tc;
        memset(&tc, 0, sizeof tc);
        tc.buf = buf;
        tc.direct = v;
        for (int64_t i = 0; i < N; i += 333)
            cr_assert(km_h5_times_read(&tc, d, N, i, N - i < 333 ? N - i : 333, got + i));
        cr_expect_eq(memcmp(got, t, N * sizeof *t) == 0, !(layouts[l] & LAYOUT_FLOAT),
                     "layout %d", layouts[l]);
        free(buf);
        H5Dclose(d);
        H5Fclose(f);
    }
    free(t);
    free(got);
    free(want);
}

/* A chunk not stored (fill value) or damaged: not read here, so H5Dread
 * gives the fill value or HDF5's own error. */
Test(io_times, unstored_or_damaged_chunks_left_to_h5dread)
{
    char path[128];
    double t[N], got[N];
    for (int i = 0; i < N; i++)
        t[i] = 0.5 * i;
    snprintf(path, sizeof path, "%s/t.h5", dir);
    write_layout(path, t, LAYOUT_SHUFFLE | LAYOUT_DEFLATE);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), d = H5Dopen2(f, "time", H5P_DEFAULT);
    cr_assert(f >= 0 && d >= 0);
    /* chunk 3 replaced by bytes that do not inflate, its filter mask 0 */
    hsize_t off = 3000;
    unsigned char junk[64];
    memset(junk, 0x5a, sizeof junk);
    cr_assert(H5Dwrite_chunk(d, H5P_DEFAULT, 0, &off, sizeof junk, junk) >= 0);
    H5Dclose(d);
    H5Fclose(f);
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    d = H5Dopen2(f, "time", H5P_DEFAULT);
    km_h5_f64 v;
    cr_assert(km_h5_f64_open(d, &v));
    cr_expect(km_h5_read_f64_chunks(d, &v, 0, 3000, got));
    cr_expect_eq(memcmp(got, t, 3000 * sizeof *t), 0);
    cr_expect_eq(km_h5_read_f64_chunks(d, &v, 2500, 1000, got), 0, "damaged chunk");
    H5Dclose(d);
    H5Fclose(f);

    /* A dataset whose last chunks were never written: fill values by H5Dread. */
    hsize_t dims = N, chunk = 1000;
    f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t sp = H5Screate_simple(1, &dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    cr_assert(H5Pset_chunk(dcpl, 1, &chunk) >= 0 && H5Pset_deflate(dcpl, 4) >= 0);
    d = H5Dcreate2(f, "time", H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    hsize_t start = 0, count = 1000;
    hid_t ms = H5Screate_simple(1, &count, NULL);
    cr_assert(H5Sselect_hyperslab(sp, H5S_SELECT_SET, &start, NULL, &count, NULL) >= 0);
    cr_assert(H5Dwrite(d, H5T_NATIVE_DOUBLE, ms, sp, H5P_DEFAULT, t) >= 0);
    cr_assert(km_h5_f64_open(d, &v));
    cr_expect(km_h5_read_f64_chunks(d, &v, 0, 1000, got));
    cr_expect_eq(km_h5_read_f64_chunks(d, &v, 900, 200, got), 0, "chunk 1 not stored");
    H5Sclose(ms);
    H5Sclose(sp);
    H5Pclose(dcpl);
    H5Dclose(d);
    H5Fclose(f);
}
