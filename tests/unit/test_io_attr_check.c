/* The attribute messages of an untrusted object header checked from the
 * file's bytes (src/io/h5_attr_check.c): through the descriptor libhdf5
 * holds (h5_vlen.c's raw opening), not by opening the file's name again.
 * Before session 42 the check opened the name once per object: a file
 * renamed after libhdf5 opened it, and another put in its place, was walked
 * instead of the one libhdf5 then decoded (the first test fails on
 * 80e4cd4). */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <hdf5.h>
#include <stdio.h>
#include <string.h>

#include "io/h5_vlen.h"
#include "io/h5util.h"
#include "test_util.h"

#define DAMAGED KM_TEST_DATA "/../fuzz/libhdf5/overflow-H5Aexists-attr-name.h5"

static char dir[64];
static km_ctx *ctx;

static void setup(void)
{
    km_test_make_dir(dir, sizeof dir, "km-ioattr-");
    km_h5_init();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
}

static void teardown(void)
{
    km_ctx_free(ctx);
    cr_expect_eq(km_test_remove_dir(dir), 0);
}

TestSuite(io_attr_check, .init = setup, .fini = teardown);

static void copy_file(const char *from, const char *to)
{
    char buf[4096];
    size_t n;
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    cr_assert(a != NULL && b != NULL, "%s -> %s", from, to);
    while ((n = fread(buf, 1, sizeof buf, a)) > 0)
        cr_assert_eq(fwrite(buf, 1, n, b), n);
    fclose(a);
    cr_assert_eq(fclose(b), 0);
}

/* A clean file with a few attributes on its root. */
static void write_clean(const char *path)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t sp = H5Screate(H5S_SCALAR);
    cr_assert(f >= 0 && sp >= 0);
    for (int k = 0; k < 4; k++) {
        char name[16];
        double v = k;
        snprintf(name, sizeof name, "a%d", k);
        hid_t a = H5Acreate2(f, name, H5T_NATIVE_DOUBLE, sp, H5P_DEFAULT, H5P_DEFAULT);
        cr_assert(a >= 0 && H5Awrite(a, H5T_NATIVE_DOUBLE, &v) >= 0);
        H5Aclose(a);
    }
    H5Sclose(sp);
    H5Fclose(f);
}

Test(io_attr_check, walks_the_file_libhdf5_has_open_not_its_name)
{
    char path[128], moved[128];
    snprintf(path, sizeof path, "%s/s.h5", dir);
    snprintf(moved, sizeof moved, "%s/moved.h5", dir);
    copy_file(DAMAGED, path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0);
    /* the name now leads to a clean file; libhdf5 still has the damaged one */
    cr_assert_eq(rename(path, moved), 0);
    write_clean(path);
    cr_expect_eq(km_h5_check_attributes(ctx, f), KM_ERR_FORMAT, "%s", km_ctx_last_error(ctx));
    cr_expect(strstr(km_ctx_last_error(ctx), "attribute message 7 of / is damaged") != NULL, "%s",
              km_ctx_last_error(ctx));
    H5Fclose(f);
}

Test(io_attr_check, clean_objects_of_one_file_pass_and_strings_keep_their_looks)
{
    char path[128];
    snprintf(path, sizeof path, "%s/c.h5", dir);
    write_clean(path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0);
    unsigned long n0 = km_h5_vlen_file_looks();
    cr_expect_eq(km_h5_check_attributes(ctx, f), KM_OK, "%s", km_ctx_last_error(ctx));
    double v = -1;
    cr_expect_eq(km_h5_attr_get_double(ctx, f, "a3", &v), KM_OK);
    cr_expect_eq(v, 3.0);
    /* the check's look at the file is its own: the strings' count stays */
    cr_expect_eq(km_h5_vlen_file_looks(), n0);
    H5Fclose(f);
}
