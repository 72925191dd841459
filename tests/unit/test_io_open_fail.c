/* km_h5_open_fail (src/io/h5util.h): a result that HDF5 cannot open says
 * why the same way from every reader of results: in use (another program
 * holds HDF5's lock: KM_ERR_IO), or damaged (KM_ERR_FORMAT, HDF5's words);
 * km_result_is_complete finds a damaged file not complete, without an error. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* flock */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <hdf5.h>

#include "io/result_reader.h"
#include "test_util.h"

static km_ctx *ctx;
static char dir[64], path[128];

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    km_test_make_dir(dir, sizeof dir, "km_ofail_");
    km_test_path(path, sizeof path, dir, "r.h5");
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(f >= 0);
    H5Fclose(f);
}

static void teardown(void)
{
    km_ctx_free(ctx);
    cr_assert_eq(km_test_remove_dir(dir), 0);
}

TestSuite(io_open_fail, .init = setup, .fini = teardown);

/* "PATH: in use: ...", KM_ERR_IO. */
static void expect_in_use(km_status st)
{
    char want[256];
    snprintf(want, sizeof want, "%s: in use: another program has it open for writing", path);
    cr_assert_eq(st, KM_ERR_IO, "status %d: %s", st, km_ctx_last_error(ctx));
    cr_assert(strncmp(km_ctx_last_error(ctx), want, strlen(want)) == 0, "%s", km_ctx_last_error(ctx));
}

/* What another program writing the file holds: HDF5 1.10 takes flock
 * (exclusive for a writer) at every open; a lock of another open file
 * description conflicts in this process too. */
Test(io_open_fail, locked_result_is_in_use_for_every_reader)
{
    km_result_info *ri = calloc(1, sizeof *ri);
    int complete = -1, fd = open(path, O_RDONLY);
    cr_assert(ri != NULL && fd >= 0);
    cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
    /* km_result_info_read said "not an HDF5 file (expected a knotmap
       result)", KM_ERR_FORMAT, before the one mapping (b2c6910) */
    expect_in_use(km_result_info_read(ctx, path, ri));
    expect_in_use(km_result_is_complete(ctx, path, &complete));
    cr_assert_eq(complete, 0);
    km_points pts;
    memset(&pts, 0, sizeof pts);
    expect_in_use(km_result_read_candidates(ctx, path, &pts, NULL));
    close(fd);
    cr_assert_eq(km_result_info_read(ctx, path, ri), KM_ERR_FORMAT); /* no schema: not a result */
    cr_assert(strstr(km_ctx_last_error(ctx), "in use") == NULL, "%s", km_ctx_last_error(ctx));
    free(ri);
}

/* A result cut short: HDF5 finds its signature and cannot open it. */
Test(io_open_fail, damaged_result_says_hdf5s_words)
{
    km_result_info *ri = calloc(1, sizeof *ri);
    int complete = -1;
    cr_assert(ri != NULL);
    cr_assert_eq(truncate(path, 100), 0);
    char want[192];
    snprintf(want, sizeof want, "%s: cannot open as HDF5: truncated file", path);
    /* "not an HDF5 file (expected a knotmap result)" before (b2c6910) */
    cr_assert_eq(km_result_info_read(ctx, path, ri), KM_ERR_FORMAT);
    cr_assert(strncmp(km_ctx_last_error(ctx), want, strlen(want)) == 0, "%s", km_ctx_last_error(ctx));
    cr_assert(strstr(km_ctx_last_error(ctx), "(truncated or damaged file?)") != NULL, "%s",
              km_ctx_last_error(ctx));
    km_ctx_clear_error(ctx);
    cr_assert_eq(km_result_is_complete(ctx, path, &complete), KM_OK);
    cr_assert_eq(complete, 0);
    cr_assert_eq(km_ctx_last_status(ctx), KM_OK, "%s", km_ctx_last_error(ctx));
    free(ri);
}
