/* Variable-length string attributes of read-only files (src/io/h5_vlen.c):
 * the values libhdf5 itself reads, and the file's property lists asked
 * once for the strings of one file read in a row, again when another
 * file's come between or the file is opened anew; a file open for writing
 * goes through libhdf5 and is never remembered. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <hdf5.h>
#include <stdio.h>
#include <string.h>

#include "io/h5_vlen.h"
#include "io/h5util.h"
#include "test_util.h"

static char dir[64];

static void setup(void)
{
    km_test_make_dir(dir, sizeof dir, "km-iovlen-");
    km_h5_init(); /* registers the descriptor conversion */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void teardown(void)
{
    cr_expect_eq(km_test_remove_dir(dir), 0);
}

TestSuite(io_vlen, .init = setup, .fini = teardown);

static const char *const names[3] = {"schema", "units", "mode"};

/* Root attributes names[k] = "<tag>-k" as variable-length UTF-8 strings,
 * as h5py writes a str. */
static void write_strings(const char *path, const char *tag)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
    cr_assert(f >= 0 && t >= 0 && sp >= 0);
    cr_assert(H5Tset_size(t, H5T_VARIABLE) >= 0 && H5Tset_cset(t, H5T_CSET_UTF8) >= 0);
    for (int k = 0; k < 3; k++) {
        char v[64];
        const char *p = v;
        snprintf(v, sizeof v, "%s-%d", tag, k);
        hid_t a = H5Acreate2(f, names[k], t, sp, H5P_DEFAULT, H5P_DEFAULT);
        cr_assert(a >= 0 && H5Awrite(a, t, &p) >= 0);
        H5Aclose(a);
    }
    H5Sclose(sp);
    H5Tclose(t);
    H5Fclose(f);
}

static void expect_string(hid_t f, int k, const char *tag)
{
    char got[64], want[64];
    snprintf(want, sizeof want, "%s-%d", tag, k);
    cr_assert_eq(km_h5_attr_get_string(NULL, f, names[k], got, sizeof got), KM_OK);
    cr_expect_str_eq(got, want);
}

Test(io_vlen, file_looked_at_once_per_run_of_its_strings)
{
    char pa[128], pb[128];
    snprintf(pa, sizeof pa, "%s/a.h5", dir);
    snprintf(pb, sizeof pb, "%s/b.h5", dir);
    write_strings(pa, "alpha");
    write_strings(pb, "beta");
    hid_t a = H5Fopen(pa, H5F_ACC_RDONLY, H5P_DEFAULT), b = H5Fopen(pb, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(a >= 0 && b >= 0);

    unsigned long n0 = km_h5_vlen_file_looks();
    for (int k = 0; k < 3; k++)
        expect_string(a, k, "alpha");
    cr_expect_eq(km_h5_vlen_file_looks() - n0, 1, "three strings of one file: one look");

    /* The other file's strings between: each switch is a look. */
    n0 = km_h5_vlen_file_looks();
    expect_string(b, 0, "beta");
    expect_string(a, 1, "alpha");
    expect_string(b, 2, "beta");
    expect_string(b, 1, "beta");
    cr_expect_eq(km_h5_vlen_file_looks() - n0, 3);

    /* Opened anew (a new id, perhaps another descriptor): looked at again,
       with the right values. */
    H5Fclose(b);
    H5Fclose(a);
    write_strings(pa, "gamma");
    a = H5Fopen(pa, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(a >= 0);
    n0 = km_h5_vlen_file_looks();
    for (int k = 0; k < 3; k++)
        expect_string(a, k, "gamma");
    cr_expect_eq(km_h5_vlen_file_looks() - n0, 1);

    /* Open for writing: libhdf5 reads it, and the read-only file before
       it is still remembered afterwards. */
    hid_t w = H5Fopen(pb, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert(w >= 0);
    expect_string(w, 2, "beta");
    n0 = km_h5_vlen_file_looks();
    expect_string(a, 0, "gamma");
    expect_string(w, 0, "beta");
    expect_string(a, 2, "gamma");
    cr_expect_eq(km_h5_vlen_file_looks() - n0, 1, "the writable file looked at, not kept");
    H5Fclose(w);
    H5Fclose(a);
}
