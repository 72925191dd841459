/* Session HDF5 v1: writer -> reader round trips, integer frame types, and
 * malformed files (made here with the HDF5 C API), each KM_ERR_FORMAT with
 * a detail naming the file and the dataset or attribute. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <dirent.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "knotmap.h"
#include "test_util.h"

static char dir[64];
static km_ctx *ctx;

static void setup(void)
{
    km_test_make_dir(dir, sizeof dir, "km-iosession-");
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* the test's own HDF5 calls stay quiet too */
}

static void teardown(void)
{
    km_ctx_free(ctx);
    cr_expect_eq(km_test_remove_dir(dir), 0);
}

TestSuite(io_session, .init = setup, .fini = teardown);

static km_session_info make_info(int32_t rows, int32_t cols)
{
    km_session_info info;
    memset(&info, 0, sizeof info);
    info.rows = rows;
    info.cols = cols;
    info.frame_rate_hz = 50;
    info.row_pitch_mm = 9.8174770424681;
    info.col_pitch_mm = 10;
    snprintf(info.units, sizeof info.units, "kPa");
    info.mode = KM_MODE_ROLLER;
    info.roller_radius_mm = 50;
    return info;
}

Test(io_session, round_trip_bit_exact)
{
    enum { R = 4, C = 3, T = 10 };
    char path[128];
    float frames[T * R * C], back[T * R * C];
    double times[T], tback[T];
    uint8_t mask[R * C];
    double kx[2] = {12.5, 40}, ky[2] = {100, 250.25}, ks[2] = {2, 3}, ka[2] = {30, 55};
    km_session_info info = make_info(R, C), got;
    km_session_writer *w = NULL;
    km_reader *r = NULL;
    int64_t n, total = 0;

    for (int i = 0; i < T * R * C; i++) /* awkward values: tiny, negative zero, many digits */
        frames[i] = i % 7 == 0 ? -0.0f : (float)(i * 1.000123456789) * (i % 2 ? 1e-30f : 1.0f);
    frames[5] = NAN;
    for (int i = 0; i < T; i++)
        times[i] = 0.02 * i + (i == 3 ? 0.001 : 0.0) + (i > 3 ? 0.001 : 0.0);
    times[7] = times[6]; /* equal times are allowed: non-decreasing */
    for (int i = 0; i < R * C; i++)
        mask[i] = i != 4 && i != 11;

    km_test_path(path, sizeof path, dir, "s.h5");
    cr_assert_eq(km_session_writer_create(ctx, path, &info, mask, 0, &w), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    cr_assert_eq(access(path, F_OK), -1, "the final name appears only at commit");
    cr_assert_eq(km_session_writer_append(ctx, w, frames, times, 6), KM_OK, "%s", km_ctx_last_error(ctx));
    cr_assert_eq(km_session_writer_append(ctx, w, frames + 6 * R * C, times + 6, T - 6), KM_OK);
    cr_assert_eq(km_session_writer_set_truth(ctx, w, kx, ky, ks, ka, NULL, 2), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    cr_assert_eq(km_session_writer_commit(ctx, w), KM_OK, "%s", km_ctx_last_error(ctx));
    km_session_writer_free(w);
    cr_assert_eq(km_test_count_entries(dir, NULL), 1, "no temporary file left behind");

    cr_assert_eq(km_reader_open(ctx, path, NULL, &r), KM_OK, "%s", km_ctx_last_error(ctx));
    km_reader_info(r, &got);
    cr_expect_eq(got.format, KM_FORMAT_SESSION);
    cr_expect_eq(got.rows, R);
    cr_expect_eq(got.cols, C);
    cr_expect_eq(got.n_frames, T);
    cr_expect_eq(got.frame_rate_hz, 50.0);
    cr_expect_eq(got.row_pitch_mm, info.row_pitch_mm);
    cr_expect_eq(got.col_pitch_mm, 10.0);
    cr_expect_str_eq(got.units, "kPa");
    cr_expect_eq(got.mode, KM_MODE_ROLLER);
    cr_expect_eq(got.roller_radius_mm, 50.0);
    cr_expect_eq(got.n_valid, R * C - 2);
    cr_expect_arr_eq(km_reader_mask(r), mask, sizeof mask);
    cr_expect_str_eq(km_test_header_value(r, "schema"), "knotmap-session");
    cr_expect_str_eq(km_test_header_value(r, "schema_version"), "1");
    cr_expect_str_eq(km_test_header_value(r, "mode"), "roller");
    cr_expect_str_eq(km_test_header_value(r, "frame_rate_hz"), "50");
    while (km_reader_read(ctx, r, back + total * R * C, tback + total, 3, &n) == KM_OK && n > 0)
        total += n;
    cr_assert_eq(total, T);
    cr_expect_eq(memcmp(back, frames, sizeof frames), 0, "frames bit-exact");
    cr_expect_eq(memcmp(tback, times, sizeof times), 0, "times bit-exact");
    km_reader_free(r);
}

Test(io_session, times_default_to_rate_and_mask_to_all_valid)
{
    enum { R = 2, C = 5, T = 7 };
    char path[128];
    float frames[T * R * C] = {0}, back[T * R * C];
    double tback[T];
    km_session_info info = make_info(R, C);
    km_session_writer *w = NULL;
    km_reader *r = NULL;
    int64_t n = 0;

    info.mode = KM_MODE_MAT;
    info.roller_radius_mm = 0;
    info.units[0] = '\0'; /* -> raw */
    km_test_path(path, sizeof path, dir, "t.h5");
    cr_assert_eq(km_session_writer_create(ctx, path, &info, NULL, 0, &w), KM_OK);
    cr_assert_eq(km_session_writer_append(ctx, w, frames, NULL, T), KM_OK);
    cr_assert_eq(km_session_writer_commit(ctx, w), KM_OK);
    km_session_writer_free(w);
    cr_assert_eq(km_reader_open(ctx, path, NULL, &r), KM_OK, "%s", km_ctx_last_error(ctx));
    cr_assert_eq(km_reader_read(ctx, r, back, tback, T, &n), KM_OK);
    cr_assert_eq(n, T);
    for (int i = 0; i < T; i++)
        cr_expect_eq(tback[i], i / 50.0);
    for (int i = 0; i < R * C; i++)
        cr_expect_eq(km_reader_mask(r)[i], 1);
    {
        km_session_info got;
        km_reader_info(r, &got);
        cr_expect_str_eq(got.units, "raw");
        cr_expect_eq(got.mode, KM_MODE_MAT);
    }
    cr_expect_eq(km_reader_read(ctx, r, back, tback, T, &n), KM_OK);
    cr_expect_eq(n, 0, "0 at the end");
    km_reader_free(r);
}

Test(io_session, free_without_commit_leaves_nothing)
{
    char path[128];
    float f[6] = {1, 2, 3, 4, 5, 6};
    km_session_info info = make_info(2, 3);
    km_session_writer *w = NULL;

    km_test_path(path, sizeof path, dir, "gone.h5");
    cr_assert_eq(km_session_writer_create(ctx, path, &info, NULL, 0, &w), KM_OK);
    cr_assert_eq(km_test_count_entries(dir, NULL), 1, "the temporary file exists while writing");
    cr_assert_eq(km_session_writer_append(ctx, w, f, NULL, 1), KM_OK);
    km_session_writer_free(w);
    cr_expect_eq(km_test_count_entries(dir, NULL), 0);
    km_session_writer_free(NULL);
}

Test(io_session, overwrite_rules)
{
    char path[128], other[128], buf[16] = "";
    float f[6] = {0};
    km_session_info info = make_info(2, 3);
    km_session_writer *w = NULL;
    FILE *fp;

    km_test_path(path, sizeof path, dir, "a.h5");
    cr_assert_eq(km_session_writer_create(ctx, path, &info, NULL, 0, &w), KM_OK);
    cr_assert_eq(km_session_writer_append(ctx, w, f, NULL, 1), KM_OK);
    cr_assert_eq(km_session_writer_commit(ctx, w), KM_OK);
    km_session_writer_free(w);
    w = NULL;
    cr_expect_eq(km_session_writer_create(ctx, path, &info, NULL, 0, &w), KM_ERR_CREATE);
    cr_expect_null(w);
    cr_expect_not_null(strstr(km_ctx_last_error(ctx), path));
    cr_assert_eq(km_session_writer_create(ctx, path, &info, NULL, 1, &w), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    cr_assert_eq(km_session_writer_commit(ctx, w), KM_OK);
    km_session_writer_free(w);
    w = NULL;

    km_test_path(other, sizeof other, dir, "notes.h5");
    fp = fopen(other, "w");
    fputs("precious", fp);
    fclose(fp);
    cr_expect_eq(km_session_writer_create(ctx, other, &info, NULL, 1, &w), KM_ERR_CREATE);
    cr_expect_not_null(strstr(km_ctx_last_error(ctx), "not a knotmap-session"), "%s",
                       km_ctx_last_error(ctx));
    fp = fopen(other, "r");
    cr_assert_not_null(fgets(buf, sizeof buf, fp));
    fclose(fp);
    cr_expect_str_eq(buf, "precious");

    snprintf(other, sizeof other, "%s/no/such/folder/x.h5", dir);
    cr_expect_eq(km_session_writer_create(ctx, other, &info, NULL, 0, &w), KM_ERR_CREATE);
    cr_expect_eq(km_session_writer_create(ctx, dir, &info, NULL, 1, &w), KM_ERR_CREATE,
                 "a folder is never replaced");
}

Test(io_session, writer_refuses_bad_arguments)
{
    char path[128];
    km_session_info info = make_info(2, 3);
    km_session_writer *w = NULL;
    float f[12] = {0};
    double t[2] = {1.0, 0.5};

    km_test_path(path, sizeof path, dir, "b.h5");
    info.frame_rate_hz = 0;
    cr_expect_eq(km_session_writer_create(ctx, path, &info, NULL, 0, &w), KM_ERR_INVALID);
    info = make_info(2, 3);
    snprintf(info.units, sizeof info.units, "psi");
    cr_expect_eq(km_session_writer_create(ctx, path, &info, NULL, 0, &w), KM_ERR_INVALID);
    info = make_info(0, 3);
    cr_expect_neq(km_session_writer_create(ctx, path, &info, NULL, 0, &w), KM_OK);
    info = make_info(2, 3);
    cr_assert_eq(km_session_writer_create(ctx, path, &info, NULL, 0, &w), KM_OK);
    cr_expect_eq(km_session_writer_append(ctx, w, f, t, 2), KM_ERR_INVALID, "time goes backwards");
    cr_expect_eq(km_session_writer_commit(ctx, w), KM_OK);
    cr_expect_eq(km_session_writer_append(ctx, w, f, NULL, 1), KM_ERR_INVALID, "after commit");
    km_session_writer_free(w);
}

/* ---------------------------------------------------------------- files made here */

typedef struct bad_spec {
    const char *name;
    int frames_rank;        /* 0 = no /frames */
    hid_t frames_type;      /* 0 = float32 */
    int time_len;           /* -1 = no /time */
    int time_backwards;
    int mask_rows;          /* 0 = no /mask */
    const char *schema;     /* NULL = no attribute */
    int schema_version;     /* 0 = no attribute */
    int rate_as_string;
    const char *want1, *want2; /* fragments expected in the detail */
} bad_spec;

static void put_str_attr(hid_t f, const char *name, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR), a;
    H5Tset_size(t, strlen(v) + 1);
    a = H5Acreate2(f, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, v);
    H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
}

static void put_num_attr(hid_t f, const char *name, hid_t type, const void *v)
{
    hid_t s = H5Screate(H5S_SCALAR), a = H5Acreate2(f, name, type, s, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, type, v);
    H5Aclose(a);
    H5Sclose(s);
}

/* A 3-frame 4x3 session (or a broken variant of it). */
static void write_h5(const char *path, const bad_spec *b)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    double rate = 10;
    int version = b->schema_version;

    cr_assert_geq(f, 0);
    if (b->schema)
        put_str_attr(f, "schema", b->schema);
    if (version)
        put_num_attr(f, "schema_version", H5T_NATIVE_INT, &version);
    if (b->rate_as_string)
        put_str_attr(f, "frame_rate_hz", "fast");
    else
        put_num_attr(f, "frame_rate_hz", H5T_NATIVE_DOUBLE, &rate);
    if (b->frames_rank) {
        hsize_t dims[4] = {3, 4, 3, 1};
        hid_t ftype = b->frames_type ? b->frames_type : H5T_NATIVE_FLOAT;
        hid_t s = H5Screate_simple(b->frames_rank, b->frames_rank == 2 ? dims + 1 : dims, NULL);
        hid_t d = H5Dcreate2(f, "frames", ftype, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        H5T_class_t cls = H5Tget_class(ftype);
        static unsigned char zeros[36 * 16];
        cr_assert_geq(d, 0);
        /* Written, so the reader's storage check (unwritten frames) passes. */
        if ((cls == H5T_FLOAT || cls == H5T_INTEGER) && H5Tget_size(ftype) <= 16)
            cr_assert_geq(H5Dwrite(d, ftype, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros), 0);
        H5Dclose(d);
        H5Sclose(s);
    }
    if (b->time_len >= 0) {
        hsize_t n = (hsize_t)b->time_len;
        double t[16] = {0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
        hid_t s = H5Screate_simple(1, &n, NULL);
        hid_t d = H5Dcreate2(f, "time", H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (b->time_backwards)
            t[2] = 0.05;
        H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, t);
        H5Dclose(d);
        H5Sclose(s);
    }
    if (b->mask_rows) {
        hsize_t dims[2] = {(hsize_t)b->mask_rows, 3};
        uint8_t m[64];
        hid_t s = H5Screate_simple(2, dims, NULL);
        hid_t d = H5Dcreate2(f, "mask", H5T_STD_U8LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        memset(m, 1, sizeof m);
        H5Dwrite(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, m);
        H5Dclose(d);
        H5Sclose(s);
    }
    H5Fclose(f);
}

static void expect_format_error(const char *path, const char *want1, const char *want2)
{
    km_reader *r = NULL;
    km_read_options opt;
    km_status st;
    const char *e;

    km_read_options_default(&opt);
    st = km_reader_open(ctx, path, &opt, &r);
    e = km_ctx_last_error(ctx);
    cr_expect_eq(st, KM_ERR_FORMAT, "%s: status %d (%s)", path, (int)st, e);
    cr_expect_null(r);
    cr_expect_eq(strncmp(e, path, strlen(path)), 0, "detail starts with the path: %s", e);
    if (want1)
        cr_expect_not_null(strstr(e, want1), "detail '%s' lacks '%s'", e, want1);
    if (want2)
        cr_expect_not_null(strstr(e, want2), "detail '%s' lacks '%s'", e, want2);
    km_reader_free(r);
}

Test(io_session, malformed_files_are_format_errors)
{
    hid_t str_type = H5Tcopy(H5T_C_S1), cmp_type = H5Tcreate(H5T_COMPOUND, 8);
    H5Tset_size(str_type, 8);
    H5Tinsert(cmp_type, "a", 0, H5T_NATIVE_FLOAT);
    H5Tinsert(cmp_type, "b", 4, H5T_NATIVE_FLOAT);
    const bad_spec cases[] = {
        {"rank2.h5", 2, 0, -1, 0, 0, "knotmap-session", 1, 0, "/frames has rank 2, expected 3",
         "[T, R, C]"},
        {"rank4.h5", 4, 0, -1, 0, 0, "knotmap-session", 1, 0, "/frames has rank 4", NULL},
        {"strings.h5", 3, str_type, -1, 0, 0, "knotmap-session", 1, 0, "/frames holds strings",
         NULL},
        {"compound.h5", 3, cmp_type, -1, 0, 0, "knotmap-session", 1, 0, "/frames",
         "compound"},
        {"nofr.h5", 0, 0, -1, 0, 0, "knotmap-session", 1, 0, "no /frames", NULL},
        {"tlen.h5", 3, 0, 5, 0, 0, "knotmap-session", 1, 0,
         "/time has 5 values but /frames has 3 frames", NULL},
        {"tback.h5", 3, 0, 3, 1, 0, "knotmap-session", 1, 0, "/time[2]", "non-decreasing"},
        {"mask.h5", 3, 0, 3, 0, 5, "knotmap-session", 1, 0, "/mask has shape [5, 3]", "[4, 3]"},
        {"noschema.h5", 3, 0, -1, 0, 0, NULL, 1, 0, "attribute schema is missing", NULL},
        {"schema.h5", 3, 0, -1, 0, 0, "knotmap-result", 1, 0, "schema = \"knotmap-result\"",
         NULL},
        {"v2.h5", 3, 0, -1, 0, 0, "knotmap-session", 2, 0,
         "attribute schema_version = 2 is not supported (this knotmap reads 1)", NULL},
        {"rate.h5", 3, 0, -1, 0, 0, "knotmap-session", 1, 1, "attribute frame_rate_hz",
         "must be a number"},
    };
    char path[128];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        km_test_path(path, sizeof path, dir, cases[i].name);
        write_h5(path, &cases[i]);
        expect_format_error(path, cases[i].want1, cases[i].want2);
    }
    H5Tclose(str_type);
    H5Tclose(cmp_type);
}

Test(io_session, not_hdf5_and_truncated)
{
    char path[128], good[128];
    FILE *fp;
    const bad_spec ok = {"ok.h5", 3, 0, 3, 0, 4, "knotmap-session", 1, 0, NULL, NULL};
    long size;

    km_test_path(path, sizeof path, dir, "text.h5");
    fp = fopen(path, "w");
    fputs("this is not HDF5\n", fp);
    fclose(fp);
    expect_format_error(path, "not an HDF5 file", NULL);

    /* A valid file cut in half: HDF5 sees the end of file before the end
       of its address space. */
    km_test_path(good, sizeof good, dir, "ok.h5");
    write_h5(good, &ok);
    fp = fopen(good, "rb");
    fseek(fp, 0, SEEK_END);
    size = ftell(fp);
    fclose(fp);
    cr_assert_gt(size, 1000);
    cr_assert_eq(truncate(good, size / 2), 0);
    expect_format_error(good, "cannot open as HDF5", "truncated");
}

/* Integer and float64 /frames are converted to float32 by value. */
static void check_typed(hid_t file_type, hid_t mem_type, const void *values,
                        const float *expect, size_t n)
{
    char path[128];
    hsize_t dims[3] = {2, 2, 3};
    hid_t f, s, d;
    int one = 1;
    km_reader *r = NULL;
    float back[12];
    int64_t got = 0;
    km_session_info info;

    km_test_path(path, sizeof path, dir, "typed.h5");
    f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    put_str_attr(f, "schema", "knotmap-session");
    put_num_attr(f, "schema_version", H5T_NATIVE_INT, &one);
    s = H5Screate_simple(3, dims, NULL);
    d = H5Dcreate2(f, "frames", file_type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values), 0);
    H5Dclose(d);
    H5Sclose(s);
    H5Fclose(f);
    cr_assert_eq(km_reader_open(ctx, path, NULL, &r), KM_OK, "%s", km_ctx_last_error(ctx));
    cr_assert_eq(km_reader_read(ctx, r, back, NULL, 2, &got), KM_OK);
    cr_assert_eq(got, 2);
    for (size_t i = 0; i < n; i++)
        cr_expect_eq(back[i], expect[i], "element %zu: %.9g != %.9g", i, back[i], expect[i]);
    km_reader_info(r, &info);
    cr_expect_str_eq(info.units, "raw");
    cr_expect_eq(info.frame_rate_hz, 1.0, "no rate anywhere: the 1 Hz default");
    km_reader_free(r);
    unlink(path);
}

Test(io_session, integer_and_float64_frames_convert_exactly)
{
    uint8_t u8[12] = {0, 1, 2, 127, 128, 200, 254, 255, 3, 4, 5, 6};
    uint16_t u16[12] = {0, 1, 4095, 4096, 32767, 32768, 65534, 65535, 7, 8, 9, 10};
    int16_t i16[12] = {-32768, -1, 0, 1, 32767, -200, 12, 13, 14, 15, 16, 17};
    int32_t i32[12] = {-16777216, -1, 0, 1, 16777216, 1000000, 2, 3, 4, 5, 6, 7};
    double f64[12] = {0.5, -0.25, 1e-3, 3.0, 1e10, -7.75, 0, 1, 2, 3, 4, 5};
    float e[12];

    for (int i = 0; i < 12; i++)
        e[i] = (float)u8[i];
    check_typed(H5T_STD_U8LE, H5T_NATIVE_UINT8, u8, e, 12);
    for (int i = 0; i < 12; i++)
        e[i] = (float)u16[i];
    check_typed(H5T_STD_U16BE, H5T_NATIVE_UINT16, u16, e, 12); /* big-endian on disk too */
    for (int i = 0; i < 12; i++)
        e[i] = (float)i16[i];
    check_typed(H5T_STD_I16LE, H5T_NATIVE_INT16, i16, e, 12);
    for (int i = 0; i < 12; i++)
        e[i] = (float)i32[i];
    check_typed(H5T_STD_I32LE, H5T_NATIVE_INT32, i32, e, 12);
    for (int i = 0; i < 12; i++)
        e[i] = (float)f64[i];
    check_typed(H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, f64, e, 12);
}

Test(io_session, saturation_of_integer_frames)
{
    char path[128];
    hsize_t dims[3] = {1, 1, 2};
    uint16_t v[2] = {1, 2};
    int one = 1;
    hid_t f, s, d;
    km_reader *r = NULL;
    km_session_info info;

    km_test_path(path, sizeof path, dir, "sat.h5");
    f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    put_str_attr(f, "schema", "knotmap-session");
    put_num_attr(f, "schema_version", H5T_NATIVE_INT, &one);
    s = H5Screate_simple(3, dims, NULL);
    d = H5Dcreate2(f, "frames", H5T_STD_U16LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(d);
    H5Sclose(s);
    H5Fclose(f);
    cr_assert_eq(km_reader_open(ctx, path, NULL, &r), KM_OK, "%s", km_ctx_last_error(ctx));
    km_reader_info(r, &info);
    cr_expect_eq(info.saturation, 65535.0);
    km_reader_free(r);
}

/* The bundled example (datasets/example/make_example.py): geometry from its
 * docstring, one dead taxel, and knots above the 40 kPa contact band. */
Test(io_session, bundled_example_reads_in_blocks)
{
    const char *path = KM_DATASETS "/example/roller_example.h5";
    km_reader *r = NULL;
    km_session_info info;
    float *buf;
    double *t, vmax = 0, tlast = -1;
    int64_t n, total = 0;

    cr_assert_eq(km_reader_open(ctx, path, NULL, &r), KM_OK, "%s", km_ctx_last_error(ctx));
    km_reader_info(r, &info);
    cr_expect_eq(info.rows, 32);
    cr_expect_eq(info.cols, 16);
    cr_expect_eq(info.n_frames, 1500);
    cr_expect_eq(info.mode, KM_MODE_ROLLER);
    cr_expect_float_eq(info.row_pitch_mm, 2 * M_PI * 50 / 32, 1e-12);
    cr_expect_eq(info.n_valid, 32 * 16 - 1);
    cr_expect_eq(km_reader_mask(r)[20 * 16 + 3], 0);
    buf = malloc(256 * 32 * 16 * sizeof *buf);
    t = malloc(256 * sizeof *t);
    cr_assert(buf && t);
    while (km_reader_read(ctx, r, buf, t, 256, &n) == KM_OK && n > 0) {
        for (int64_t i = 0; i < n * 32 * 16; i++)
            vmax = buf[i] > vmax ? buf[i] : vmax;
        cr_expect_gt(t[0], tlast);
        tlast = t[n - 1];
        total += n;
    }
    cr_expect_eq(total, 1500);
    cr_expect_float_eq(tlast, 14.99, 1e-12);
    cr_expect_gt(vmax, 80.0, "a knot under the contact band");
    free(buf);
    free(t);
    km_reader_free(r);
}

/* A 4-frame 4x3 session whose /frames (shuffle + deflate, chunked [2, 4,
 * 3]) is decoded by knotmap, or with Fletcher32 as well read by H5Dread,
 * its first chunk's stored bytes replaced by junk that is no zlib stream. */
static void write_junk_chunk_session(const char *path, int fletcher32)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    double rate = 10;
    int version = 1;
    cr_assert_geq(f, 0);
    put_str_attr(f, "schema", "knotmap-session");
    put_num_attr(f, "schema_version", H5T_NATIVE_INT, &version);
    put_num_attr(f, "frame_rate_hz", H5T_NATIVE_DOUBLE, &rate);
    hsize_t dims[3] = {4, 4, 3}, chunk[3] = {2, 4, 3};
    float v[48];
    for (int i = 0; i < 48; i++)
        v[i] = (float)i * 0.5f;
    hid_t s = H5Screate_simple(3, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 3, chunk);
    H5Pset_shuffle(dcpl);
    H5Pset_deflate(dcpl, 4);
    if (fletcher32)
        H5Pset_fletcher32(dcpl);
    hid_t d = H5Dcreate2(f, "frames", H5T_IEEE_F32LE, s, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    cr_assert_geq(d, 0);
    cr_assert_geq(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    unsigned char junk[40];
    memset(junk, 0x5a, sizeof junk);
    hsize_t off[3] = {0, 0, 0};
    cr_assert_geq(H5Dwrite_chunk(d, H5P_DEFAULT, 0, off, sizeof junk, junk), 0);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(s);
    H5Fclose(f);
}

/* km_reader_probe (the command's probe child): where knotmap inflates the
 * chunks itself, HDF5 fetches the first frame's chunk and nothing inflates
 * it, so junk bytes pass; where HDF5 decodes them (here: with Fletcher32),
 * the frame is read, so the same junk is HDF5's read error, as
 * km_reader_read's. */
Test(io_session, probe_fetches_what_knotmap_inflates_and_reads_the_rest)
{
    char path[128];
    float frame[12];
    int64_t n = -1;
    for (int hdf5 = 0; hdf5 <= 1; hdf5++) {
        snprintf(path, sizeof path, "%s/junk%d.h5", dir, hdf5);
        write_junk_chunk_session(path, hdf5);
        km_reader *r = NULL;
        cr_assert_eq(km_reader_open(ctx, path, NULL, &r), KM_OK, "%s", km_ctx_last_error(ctx));
        km_status st = km_reader_probe(ctx, r);
        if (hdf5)
            cr_expect_eq(st, KM_ERR_FORMAT, "Fletcher32: the frame is read by HDF5");
        else
            cr_expect_eq(st, KM_OK, "whole frames: fetched, not inflated (%s)",
                         km_ctx_last_error(ctx));
        km_reader_free(r);
        r = NULL;
        cr_assert_eq(km_reader_open(ctx, path, NULL, &r), KM_OK);
        cr_expect_eq(km_reader_read(ctx, r, frame, NULL, 1, &n), KM_ERR_FORMAT,
                     "the junk chunk is a read error either way");
        km_reader_free(r);
    }
    /* Unchunked: the first frame read. */
    snprintf(path, sizeof path, "%s/plain.h5", dir);
    bad_spec ok = {"ok", 3, 0, 3, 0, 0, "knotmap-session", 1, 0, NULL, NULL};
    write_h5(path, &ok);
    km_reader *r = NULL;
    cr_assert_eq(km_reader_open(ctx, path, NULL, &r), KM_OK, "%s", km_ctx_last_error(ctx));
    cr_expect_eq(km_reader_probe(ctx, r), KM_OK);
    cr_expect_eq(km_reader_probe(ctx, NULL), KM_ERR_INVALID);
    km_reader_free(r);
}

/* km_is_hdf5_file reads the signature itself (libhdf5 not started): the
 * same answer as libhdf5's H5Fis_hdf5 on HDF5 files with user blocks of
 * 0-4096 bytes, a junk file holding the signature at 768 (not an offset
 * HDF5 tries) or at 2048 (one it tries), files shorter than the signature,
 * an empty file and a folder. */
Test(io_session, hdf5_signature_as_libhdf5_finds_it)
{
    char path[160];
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    int n_files = 0;
    for (int ub = 0; ub <= 4096; ub = ub == 0 ? 512 : 2 * ub) {
        snprintf(path, sizeof path, "%s/ub%d.h5", dir, ub);
        hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
        if (ub > 0)
            H5Pset_userblock(fcpl, (hsize_t)ub);
        hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
        cr_assert_geq(f, 0);
        H5Fclose(f);
        H5Pclose(fcpl);
        int is = -1;
        cr_assert_eq(km_is_hdf5_file(ctx, path, &is), KM_OK);
        cr_expect_eq(is, H5Fis_hdf5(path) > 0, "user block %d", ub);
        cr_expect_eq(is, 1, "user block %d", ub);
        n_files++;
    }
    const struct {
        size_t size, at;
    } junk[] = {{4096, 768}, {4096, 2048}, {3000, 0}, {7, 0}, {0, 0}, {2055, 2048}, {2056, 2048}};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        snprintf(path, sizeof path, "%s/junk%zu.bin", dir, i);
        unsigned char *b = calloc(junk[i].size + 1, 1);
        cr_assert_not_null(b);
        memset(b, 0x5a, junk[i].size);
        if (junk[i].at + 8 <= junk[i].size)
            memcpy(b + junk[i].at, sig, 8);
        else if (junk[i].at < junk[i].size) /* cut short */
            memcpy(b + junk[i].at, sig, junk[i].size - junk[i].at);
        FILE *fp = fopen(path, "wb");
        cr_assert_not_null(fp);
        cr_assert_eq(fwrite(b, 1, junk[i].size, fp), junk[i].size);
        fclose(fp);
        free(b);
        int is = -1;
        cr_assert_eq(km_is_hdf5_file(ctx, path, &is), KM_OK);
        cr_expect_eq(is, H5Fis_hdf5(path) > 0, "junk %zu (size %zu, signature at %zu)", i,
                     junk[i].size, junk[i].at);
        n_files++;
    }
    int is = -1;
    cr_expect_eq(km_is_hdf5_file(ctx, dir, &is), KM_OK);
    cr_expect_eq(is, 0);
    snprintf(path, sizeof path, "%s/missing.h5", dir);
    cr_expect_eq(km_is_hdf5_file(ctx, path, &is), KM_OK);
    cr_expect_eq(is, 0);
    cr_expect_eq(km_is_hdf5_file(ctx, NULL, &is), KM_ERR_INVALID);
    cr_assert_eq(n_files, 12);
}

/* The session file's metadata cache is fixed and small: HDF5's default
 * (adaptive up to 32 MiB) kept every node of /frames' chunk index that the
 * open's storage check walked, ~17.7 KB of memory each, so a longer session
 * held more (bench/HISTORY.md, "Session 28 (mem)"). */
Test(io_session, metadata_cache_bounded_whatever_the_length)
{
    enum { R = 512, C = 512, T = 130 }; /* 1 MiB frames: one chunk each, 3 index leaves */
    char path[128];
    km_session_info info = make_info(R, C);
    km_session_writer *w = NULL;
    km_reader *r = NULL;
    float *frames = calloc((size_t)R * C * 4, sizeof *frames);
    double times[4];
    int64_t n, total = 0;
    cr_assert_not_null(frames);

    km_test_path(path, sizeof path, dir, "long.h5");
    cr_assert_eq(km_session_writer_create(ctx, path, &info, NULL, 0, &w), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    for (int t = 0; t < T; t++) {
        times[0] = t / 50.0;
        frames[(size_t)t % ((size_t)R * C)] = (float)t;
        cr_assert_eq(km_session_writer_append(ctx, w, frames, times, 1), KM_OK, "%s",
                     km_ctx_last_error(ctx));
    }
    cr_assert_eq(km_session_writer_commit(ctx, w), KM_OK, "%s", km_ctx_last_error(ctx));
    km_session_writer_free(w);

    cr_assert_eq(km_reader_open(ctx, path, NULL, &r), KM_OK, "%s", km_ctx_last_error(ctx));
    cr_assert_eq(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE), 1, "the reader's file only");
    hid_t f = H5I_INVALID_HID;
    cr_assert_eq(H5Fget_obj_ids(H5F_OBJ_ALL, H5F_OBJ_FILE, 1, &f), 1);
    H5AC_cache_config_t c;
    memset(&c, 0, sizeof c);
    c.version = H5AC__CURR_CACHE_CONFIG_VERSION;
    cr_assert_geq(H5Fget_mdc_config(f, &c), 0);
    cr_expect_leq(c.max_size, (size_t)1 << 16, "a fixed metadata cache (HDF5's default: 32 MiB)");
    cr_expect_eq(c.incr_mode, H5C_incr__off, "not growing with what is read");
    cr_expect_eq(c.flash_incr_mode, H5C_flash_incr__off);
    while (km_reader_read(ctx, r, frames, times, 4, &n) == KM_OK && n > 0)
        total += n;
    cr_expect_eq(total, T);
    cr_expect_eq(frames[(size_t)(T - 2) % ((size_t)R * C)], (float)(T - 2), "frames read back");
    size_t max_size = 0, min_clean = 0, cur_size = 0;
    int n_entries = 0;
    cr_assert_geq(H5Fget_mdc_size(f, &max_size, &min_clean, &cur_size, &n_entries), 0);
    cr_expect_leq(cur_size, max_size, "%zu bytes of metadata held, %d entries", cur_size,
                  n_entries);
    km_reader_free(r);
    free(frames);
}

/* A session cut short after the open (its chunks located then): reading on
 * is an I/O error naming /frames and the cut (the file changed while being
 * read: docs/CLI.md's rule, KM_ERR_FORMAT before session 49), never a crash
 * nor made-up frames. */
Test(io_session, truncated_after_open)
{
    enum { R = 8, C = 8, T = 3000 };
    char path[128];
    float *frames = malloc((size_t)T * R * C * sizeof *frames);
    km_session_info info = make_info(R, C);
    km_session_writer *w = NULL;
    km_reader *r = NULL;
    km_read_options opt;
    int64_t n = 0, total = 0;
    cr_assert_not_null(frames);
    uint32_t s = 7u;
    for (size_t i = 0; i < (size_t)T * R * C; i++) { /* noise: chunks that barely compress */
        s = s * 1664525u + 1013904223u;
        frames[i] = (float)(s >> 8) / 65536.0f;
    }
    km_test_path(path, sizeof path, dir, "cut.h5");
    cr_assert_eq(km_session_writer_create(ctx, path, &info, NULL, 0, &w), KM_OK);
    cr_assert_eq(km_session_writer_append(ctx, w, frames, NULL, T), KM_OK);
    cr_assert_eq(km_session_writer_commit(ctx, w), KM_OK, "%s", km_ctx_last_error(ctx));
    km_session_writer_free(w);
    km_read_options_default(&opt);
    cr_assert_eq(km_reader_open(ctx, path, &opt, &r), KM_OK, "%s", km_ctx_last_error(ctx));
    cr_assert_eq(km_reader_read(ctx, r, frames, NULL, 10, &n), KM_OK);
    cr_assert_eq(n, 10);
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp);
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fclose(fp);
    cr_assert_eq(truncate(path, size / 2), 0);
    km_status st = KM_OK;
    for (total = 10; total < T && st == KM_OK && n > 0; total += n)
        st = km_reader_read(ctx, r, frames, NULL, 100, &n);
    const char *e = km_ctx_last_error(ctx);
    cr_expect_eq(st, KM_ERR_IO, "status %d (%s), %lld frames read", (int)st, e,
                 (long long)total);
    cr_expect_not_null(strstr(e, "/frames cannot be read"), "detail: %s", e);
    cr_expect_not_null(strstr(e, "cut while being read"), "detail: %s", e);
    km_reader_free(r);
    free(frames);
}
