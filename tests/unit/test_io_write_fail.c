/* km_h5_write_fail (src/io/h5util.h): the one mapping of a writer's
 * libhdf5 failure to knotmap's status, errno and words, whatever the
 * writer (result, session, column, attribute).  The OS reason first, then
 * out of memory, then HDF5's own text; HDF5's error stack cleared. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>

#include <hdf5.h>

#include "io/h5_vfd.h"
#include "io/h5util.h"
#include "test_util.h"

static km_ctx *ctx;

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    km_h5_init(); /* HDF5's printer off */
}

static void teardown(void)
{
    km_ctx_free(ctx);
}

TestSuite(io_write_fail, .init = setup, .fini = teardown);

typedef struct fail_case {
    km_status kind;  /* the writer's kind */
    int os_err;      /* the file's OS error given */
    int stack;       /* 0 empty, 1 out of memory (H5E_RESOURCE, H5E_NOSPACE), 2 another error */
    int errno_before;
    km_status want;
    char says[80];    /* the whole detail (no pointers: the cases are copied to the test's process) */
    int want_errno;   /* km_ctx_last_errno */
} fail_case;

ParameterizedTestParameters(io_write_fail, mapping)
{
    static fail_case cases[] = {
        /* the OS reason wins over HDF5's words, out of memory included */
        {KM_ERR_IO, ENOSPC, 2, 0, KM_ERR_IO, "o.h5: cannot write /peaks: No space left on device", ENOSPC},
        {KM_ERR_CREATE, EFBIG, 1, 0, KM_ERR_CREATE, "o.h5: cannot write /peaks: File too large", EFBIG},
        {KM_ERR_IO, ENOMEM, 0, 0, KM_ERR_NOMEM, "o.h5: cannot write /peaks: out of memory", 0},
        /* libhdf5 out of memory: a failed allocation on its stack, or no words and ENOMEM */
        {KM_ERR_IO, 0, 1, 0, KM_ERR_NOMEM, "o.h5: cannot write /peaks: out of memory", 0},
        {KM_ERR_CREATE, 0, 0, ENOMEM, KM_ERR_NOMEM, "o.h5: cannot write /peaks: out of memory", 0},
        /* anything else: HDF5's most specific text, or that HDF5 failed */
        {KM_ERR_IO, 0, 2, 0, KM_ERR_IO, "o.h5: cannot write /peaks: HDF5 error: unable to create dataset", 0},
        {KM_ERR_IO, 0, 0, 0, KM_ERR_IO, "o.h5: cannot write /peaks: HDF5 error", 0},
    };
    return cr_make_param_array(fail_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(fail_case *c, io_write_fail, mapping)
{
    (void)km_h5_vfd_take_errno(); /* no driver error left from before */
    H5Eclear2(H5E_DEFAULT);
    if (c->stack == 1)
        H5Epush2(H5E_DEFAULT, __FILE__, __func__, __LINE__, H5E_ERR_CLS, H5E_RESOURCE, H5E_NOSPACE,
                 "memory allocation failed for raw data chunk");
    else if (c->stack == 2)
        H5Epush2(H5E_DEFAULT, __FILE__, __func__, __LINE__, H5E_ERR_CLS, H5E_DATASET, H5E_CANTINIT,
                 "unable to create dataset");
    errno = c->errno_before;
    km_status st = km_h5_write_fail(ctx, c->kind, c->os_err, "%s: cannot write /%s", "o.h5", "peaks");
    cr_assert_eq(st, c->want, "status %d, want %d (%s)", st, c->want, c->says);
    cr_assert_eq(km_ctx_last_status(ctx), c->want);
    cr_assert_str_eq(km_ctx_last_error(ctx), c->says);
    cr_assert_eq(km_ctx_last_errno(ctx), c->want_errno, "errno %d, want %d (%s)",
                 km_ctx_last_errno(ctx), c->want_errno, c->says);
    cr_assert_eq(H5Eget_num(H5E_DEFAULT), 0, "HDF5's error stack cleared");
}

/* A column that HDF5 refuses to create (the name is taken) says HDF5's
 * reason: before the one mapping it said only "cannot write dataset x_mm"
 * (h5_dataset.c), and a session's frames "HDF5 write error". */
Test(io_write_fail, column_says_why)
{
    const double x[2] = {1, 2};
    km_h5_quiet q;
    char dir[64], path[128];
    km_test_make_dir(dir, sizeof dir, "km_wfail_");
    km_test_path(path, sizeof path, dir, "c.h5");
    km_h5_quiet_begin(&q);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(f >= 0);
    cr_assert_eq(km_h5_write_column(ctx, f, "x_mm", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, x, 2, "mm"), KM_OK);
    km_status st = km_h5_write_column(ctx, f, "x_mm", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, x, 2, "mm");
    H5Fclose(f);
    km_h5_quiet_end(&q);
    cr_assert_eq(st, KM_ERR_IO);
    const char *says = km_ctx_last_error(ctx);
    const char *head = "cannot write dataset x_mm: HDF5 error: ";
    cr_assert(strncmp(says, head, strlen(head)) == 0 && strlen(says) > strlen(head), "%s", says);
    cr_assert_eq(km_test_remove_dir(dir), 0);
}
