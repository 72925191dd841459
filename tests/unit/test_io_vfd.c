/* knotmap's HDF5 file driver for writing (src/io/h5_vfd.h): with
 * defer_raw, the raw data HDF5 writes is kept until km_h5_io_flush_raw
 * (outside HDF5's lock), and HDF5 never sees the file without it: a read,
 * or the close, writes it first. */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5_vfd.h"
#include "test_util.h"

static char dir[64];
static char path[128];

static void setup(void)
{
    km_test_make_dir(dir, sizeof dir, "km_vfd_");
    km_test_path(path, sizeof path, dir, "f.h5");
}

static void teardown(void)
{
    cr_assert_eq(km_test_remove_dir(dir), 0);
}

TestSuite(io_vfd, .init = setup, .fini = teardown);

enum { CHUNK = 1024 };

/* Chunk k's values: distinct from every other chunk's and from zeros. */
static void pattern(int32_t *v, int k)
{
    for (int i = 0; i < CHUNK; i++)
        v[i] = (int32_t)(0x5a000000 + k * 0x10000 + i);
}

/* 1 when the file's bytes on disk (read past HDF5) hold chunk k's. */
static int on_disk(int k)
{
    int32_t v[CHUNK];
    pattern(v, k);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    unsigned char *buf = malloc(1 << 20);
    cr_assert_not_null(buf);
    size_t n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    int found = memmem(buf, n, v, sizeof v) != NULL;
    free(buf);
    return found;
}

static void put(hid_t ds, int k)
{
    int32_t v[CHUNK];
    pattern(v, k);
    hsize_t dims[1] = {(hsize_t)(k + 1) * CHUNK}, off[1] = {(hsize_t)k * CHUNK};
    cr_assert_geq(H5Dset_extent(ds, dims), 0);
    cr_assert_geq(H5Dwrite_chunk(ds, H5P_DEFAULT, 0, off, sizeof v, v), 0);
}

/* Chunk k as HDF5 reads it through the open file (or another handle). */
static void expect_read(hid_t ds, int k)
{
    int32_t v[CHUNK], got[CHUNK];
    pattern(v, k);
    hsize_t off[1] = {(hsize_t)k * CHUNK}, cnt[1] = {CHUNK};
    hid_t fs = H5Dget_space(ds), ms = H5Screate_simple(1, cnt, NULL);
    cr_assert_geq(H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL), 0);
    cr_assert_geq(H5Dread(ds, H5T_NATIVE_INT32, ms, fs, H5P_DEFAULT, got), 0);
    cr_expect_eq(memcmp(got, v, sizeof v), 0, "chunk %d as read", k);
    H5Sclose(ms);
    H5Sclose(fs);
}

static hid_t make(km_h5_io *io, hid_t *file)
{
    hid_t fapl = km_h5_write_fapl(io);
    cr_assert_geq(fapl, 0);
    *file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    cr_assert_geq(*file, 0);
    hsize_t dims[1] = {0}, maxd[1] = {H5S_UNLIMITED}, chunk[1] = {CHUNK};
    hid_t s = H5Screate_simple(1, dims, maxd), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    cr_assert_geq(H5Pset_chunk(dcpl, 1, chunk), 0);
    hid_t ds = H5Dcreate2(*file, "v", H5T_NATIVE_INT32, s, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(s);
    cr_assert_geq(ds, 0);
    return ds;
}

Test(io_vfd, raw_data_kept_until_flushed)
{
    km_h5_io io = {0, 0, 1, NULL, 0};
    hid_t file, ds = make(&io, &file);
    put(ds, 0);
    cr_expect_not(on_disk(0), "kept, not written, when H5Dwrite_chunk returns");
    cr_assert_eq(km_h5_io_flush_raw(&io), 0);
    cr_expect(on_disk(0), "written by km_h5_io_flush_raw");
    put(ds, 1);
    expect_read(ds, 1); /* HDF5's read of kept data writes it first */
    cr_expect(on_disk(1));
    put(ds, 2);
    cr_expect_not(on_disk(2));
    H5Dclose(ds);
    cr_assert_geq(H5Fclose(file), 0); /* the close writes what is kept */
    cr_expect_null(io.vf);
    cr_expect_eq(io.err, 0);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "v", H5P_DEFAULT);
    cr_assert(f >= 0 && d >= 0);
    for (int k = 0; k < 3; k++)
        expect_read(d, k);
    H5Dclose(d);
    H5Fclose(f);
}

/* Without defer_raw the driver writes at once, as before (and so the test
 * above can tell kept from written). */
Test(io_vfd, raw_data_written_at_once_by_default)
{
    km_h5_io io = {0, 0, 0, NULL, 0};
    hid_t file, ds = make(&io, &file);
    put(ds, 0);
    cr_expect(on_disk(0));
    cr_assert_eq(km_h5_io_flush_raw(&io), 0);
    H5Dclose(ds);
    cr_assert_geq(H5Fclose(file), 0);
}
