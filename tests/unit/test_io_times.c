/* A session's /time read ahead (src/io/h5_times.c): values equal to the
 * dataset's, HDF5 asked once per KM_H5_TIMES_AHEAD values read in blocks,
 * a request of that size or more read straight through. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5_times.h"
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

/* /time of N values, chunked and deflated as sessions are. */
static void write_times(const char *path, const double *t)
{
    hsize_t dims = N, chunk = 1000;
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t sp = H5Screate_simple(1, &dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    cr_assert(f >= 0 && sp >= 0 && dcpl >= 0);
    cr_assert(H5Pset_chunk(dcpl, 1, &chunk) >= 0 && H5Pset_deflate(dcpl, 4) >= 0);
    hid_t d = H5Dcreate2(f, "time", H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    cr_assert(d >= 0);
    cr_assert(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, t) >= 0);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);
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
