/* knotmap's HDF5 file driver for writing (src/io/h5_vfd.h): with
 * defer_raw, the raw data HDF5 writes is kept until km_h5_io_flush_raw
 * (outside HDF5's lock), and HDF5 never sees the file without it: a read,
 * or the close, writes it first.  With image_max, the pages HDF5 writes
 * metadata to are held in memory and written by km_h5_io_finish after the
 * close (or when more would be needed), the file the same. */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

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

/* 1 when the file's bytes on disk (read past HDF5) hold p[0, n). */
static int disk_has(const void *p, size_t n)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    unsigned char *buf = malloc(1 << 20);
    cr_assert_not_null(buf);
    size_t got = fread(buf, 1, 1 << 20, f);
    fclose(f);
    int found = memmem(buf, got, p, n) != NULL;
    free(buf);
    return found;
}

/* 1 when the file's bytes on disk hold chunk k's. */
static int on_disk(int k)
{
    int32_t v[CHUNK];
    pattern(v, k);
    return disk_has(v, sizeof v);
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
    km_h5_io io = {.defer_raw = 1};
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
    km_h5_io io = {.err = 0};
    hid_t file, ds = make(&io, &file);
    put(ds, 0);
    cr_expect(on_disk(0));
    cr_assert_eq(km_h5_io_flush_raw(&io), 0);
    H5Dclose(ds);
    cr_assert_geq(H5Fclose(file), 0);
}

static const char MARKER[] = "km-vfd-held-marker";

/* A group of n attributes "a<i>" = i * 7 + k and a string MARKER (its
 * bytes findable on disk), and chunks 0..(n - 1) / 40 (kept raw data
 * beside the held metadata). */
static void fill(hid_t file, hid_t ds, int n, int k)
{
    hid_t g = H5Gcreate2(file, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), s = H5Screate(H5S_SCALAR);
    hid_t t = H5Tcopy(H5T_C_S1);
    cr_assert(g >= 0 && s >= 0 && t >= 0 && H5Tset_size(t, sizeof MARKER) >= 0);
    hid_t m = H5Acreate2(g, "marker", t, s, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(m >= 0 && H5Awrite(m, t, MARKER) >= 0);
    H5Aclose(m);
    H5Tclose(t);
    for (int i = 0; i < n; i++) {
        char name[32];
        int32_t v = i * 7 + k;
        snprintf(name, sizeof name, "a%d", i);
        hid_t a = H5Acreate2(g, name, H5T_STD_I32LE, s, H5P_DEFAULT, H5P_DEFAULT);
        cr_assert(a >= 0 && H5Awrite(a, H5T_NATIVE_INT32, &v) >= 0);
        H5Aclose(a);
        if (i % 40 == 0) { /* the metadata so far held first: the chunk meets its pages */
            cr_assert_geq(H5Fflush(file, H5F_SCOPE_LOCAL), 0);
            put(ds, i / 40);
        }
    }
    H5Sclose(s);
    H5Gclose(g);
}

/* The file as written: every attribute of fill() and its chunks. */
static void expect_file(int n, int k)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "v", H5P_DEFAULT), g = H5Gopen2(f, "g", H5P_DEFAULT);
    cr_assert(f >= 0 && d >= 0 && g >= 0);
    for (int i = 0; i < n; i++) {
        char name[32];
        int32_t v = -1;
        snprintf(name, sizeof name, "a%d", i);
        hid_t a = H5Aopen(g, name, H5P_DEFAULT);
        cr_assert(a >= 0 && H5Aread(a, H5T_NATIVE_INT32, &v) >= 0, "%s", name);
        cr_expect_eq(v, i * 7 + k, "%s", name);
        H5Aclose(a);
    }
    for (int c = 0; c * 40 < n; c++)
        expect_read(d, c);
    H5Gclose(g);
    H5Dclose(d);
    H5Fclose(f);
}

/* The file's size on disk. */
static long disk_size(void)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

Test(io_vfd, metadata_held_until_the_close)
{
    km_h5_io io = {.defer_raw = 1};
    hid_t file, ds = make(&io, &file);
    io.image_max = (size_t)1 << 20;
    long made = disk_size();
    fill(file, ds, 120, 3);
    cr_assert_eq(km_h5_io_flush_raw(&io), 0);
    cr_expect(on_disk(0) && on_disk(2), "chunks are written, not held");
    H5Dclose(ds);
    io.closing = 1;
    cr_assert_geq(H5Fclose(file), 0);
    cr_expect(io.image_held, "the pages handed over at the close");
    cr_expect_not(disk_has(MARKER, sizeof MARKER), "the attributes not written yet");
    cr_expect_geq(disk_size(), made);
    cr_assert_eq(km_h5_io_finish(&io, 0), 0);
    cr_expect_not(io.image_held);
    cr_expect_eq(io.err, 0);
    cr_expect(disk_has(MARKER, sizeof MARKER), "written by km_h5_io_finish");
    expect_file(120, 3);
}

/* More pages than image_max: written out there, the file goes on as
 * without an image; the same file. */
Test(io_vfd, image_given_up_past_its_size)
{
    km_h5_io io = {.defer_raw = 1};
    hid_t file, ds = make(&io, &file);
    io.image_max = 2 * 4096;
    fill(file, ds, 120, 5);
    H5Dclose(ds);
    io.closing = 1;
    cr_assert_geq(H5Fclose(file), 0);
    cr_expect_not(io.image_held, "given up: nothing left to hand over");
    cr_expect(disk_has(MARKER, sizeof MARKER), "written when the image was given up");
    cr_assert_eq(km_h5_io_finish(&io, 0), 0);
    expect_file(120, 5);
}

/* A failed write of the held pages is reported (io->err), not lost. */
Test(io_vfd, failed_write_of_the_pages_reported)
{
    km_h5_io io = {.defer_raw = 1};
    hid_t file, ds = make(&io, &file);
    io.image_max = (size_t)1 << 20;
    fill(file, ds, 60, 1);
    H5Dclose(ds);
    io.closing = 1;
    cr_assert_geq(H5Fclose(file), 0);
    cr_assert(io.image_held);
    int ro = open(path, O_RDONLY); /* the pages' writes now fail (EBADF) */
    cr_assert_geq(ro, 0);
    cr_assert_geq(dup2(ro, io.image_fd), 0);
    close(ro);
    cr_expect_eq(km_h5_io_finish(&io, 0), -1);
    cr_expect_eq(io.err, EBADF);
    cr_expect_not(io.image_held);
}
