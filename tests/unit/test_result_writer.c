/* Result writer: write, reopen with the HDF5 C API, check the schema. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>
#include <hdf5_hl.h>

#include "io/result_writer.h"
#include "io/result_writer_internal.h"
#include "test_util.h"

static km_ctx *ctx;
static char dir[64];
static char path[128];

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    km_test_make_dir(dir, sizeof dir, "km_rw_");
    km_test_path(path, sizeof path, dir, "out.knotmap.h5");
}

static void teardown(void)
{
    km_ctx_free(ctx);
    cr_assert_eq(km_test_remove_dir(dir), 0);
}
TestSuite(result_writer, .init = setup, .fini = teardown);

static km_session_info info_3x4(void)
{
    km_session_info in;
    memset(&in, 0, sizeof in);
    in.format = KM_FORMAT_TEXT;
    in.rows = 3;
    in.cols = 4;
    in.n_frames = 5;
    in.frame_rate_hz = 10.0;
    in.row_pitch_mm = 2.0;
    in.col_pitch_mm = 3.0;
    snprintf(in.units, sizeof in.units, "kPa");
    in.saturation = INFINITY;
    in.n_valid = 12;
    return in;
}

static km_status make(km_result_writer **w, int save_frames, int overwrite)
{
    km_session_info in = info_3x4();
    km_result_meta meta = {&in, NULL, "in.txt", "text", "knotmap process in.txt", save_frames,
                           overwrite, 0};
    return km_result_writer_create(ctx, path, &meta, w);
}

static km_status fill(km_result_writer *w)
{
    double t[5];
    km_metrics m[5];
    float frames[5 * 12], maps[12];
    km_peak pk[2] = {{1, 2, 1.25, 2.5, 9.0f, 4.0f, 3, 0}, {0, 0, 0.0, 0.0, 5.0f, NAN, -1, 1}};
    km_status st;
    for (int i = 0; i < 5; i++) {
        t[i] = i * 0.1;
        memset(&m[i], 0, sizeof m[i]);
        m[i].peak = i;
        m[i].flags = (uint32_t)i;
    }
    for (int i = 0; i < 60; i++)
        frames[i] = (float)i;
    for (int i = 0; i < 12; i++)
        maps[i] = (float)i;
    if ((st = km_result_writer_add_header(ctx, w, "A", "1")) != KM_OK ||
        (st = km_result_writer_add_header(ctx, w, "A", "2")) != KM_OK ||
        (st = km_result_writer_add_header(ctx, w, "x/y.z", "3")) != KM_OK ||
        (st = km_result_writer_add_header(ctx, w, "", "\xe9t\xe9")) != KM_OK ||
        (st = km_result_writer_param_f64(ctx, w, "sigma", 1.5)) != KM_OK ||
        (st = km_result_writer_append_frames(ctx, w, t, m, frames, 3)) != KM_OK ||
        (st = km_result_writer_append_frames(ctx, w, t + 3, m + 3, frames + 36, 2)) != KM_OK ||
        (st = km_result_writer_append_peaks(ctx, w, 1, 0.1, pk, 2)) != KM_OK ||
        (st = km_result_writer_append_peaks(ctx, w, 4, 0.4, pk, 1)) != KM_OK)
        return st;
    return km_result_writer_set_maps(ctx, w, maps, maps);
}

static hsize_t length_of(hid_t f, const char *name)
{
    hsize_t dims[3] = {0, 0, 0};
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    cr_assert_geq(ds, 0, "%s missing", name);
    hid_t s = H5Dget_space(ds);
    H5Sget_simple_extent_dims(s, dims, NULL);
    H5Sclose(s);
    H5Dclose(ds);
    return dims[0];
}

static void read_str_attr(hid_t obj, const char *name, char *buf, size_t cap)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    cr_assert_geq(a, 0, "attribute %s missing", name);
    hid_t t = H5Aget_type(a);
    char *s = NULL;
    cr_assert(H5Tis_variable_str(t) > 0);
    cr_assert_geq(H5Aread(a, t, &s), 0);
    snprintf(buf, cap, "%s", s);
    H5free_memory(s);
    H5Tclose(t);
    H5Aclose(a);
}

Test(result_writer, schema_columns_and_header)
{
    km_result_writer *w = NULL;
    cr_assert_eq(make(&w, 1, 1), KM_OK, "%s", km_ctx_last_error(ctx));
    cr_assert_eq(km_test_count_entries(dir, ".tmp-"), 1);
    cr_assert_eq(access(path, F_OK), -1, "nothing under the final name before commit");
    cr_assert_eq(fill(w), KM_OK, "%s", km_ctx_last_error(ctx));
    cr_assert_eq(km_result_writer_commit(ctx, w), KM_OK, "%s", km_ctx_last_error(ctx));
    km_result_writer_free(w);
    cr_assert_eq(km_test_count_entries(dir, ".tmp-"), 0);

    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(f, 0);
    char buf[256];
    read_str_attr(f, "schema", buf, sizeof buf);
    cr_assert_str_eq(buf, "knotmap-result");
    read_str_attr(f, "source_format", buf, sizeof buf);
    cr_assert_str_eq(buf, "text");
    int32_t v = 0;
    hid_t a = H5Aopen(f, "complete", H5P_DEFAULT);
    cr_assert_geq(H5Aread(a, H5T_NATIVE_INT32, &v), 0);
    H5Aclose(a);
    cr_assert_eq(v, 1);
    a = H5Aopen(f, "schema_version", H5P_DEFAULT);
    cr_assert_geq(H5Aread(a, H5T_NATIVE_INT32, &v), 0);
    H5Aclose(a);
    cr_assert_eq(v, 1);

    const char *met[] = {"time", "peak", "mean", "contact_area_mm2", "force_n", "cop_grid_x_mm",
                         "cop_grid_y_mm", "flags"};
    for (size_t i = 0; i < sizeof met / sizeof met[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "/metrics/%s", met[i]);
        cr_assert_eq(length_of(f, name), 5, "%s", name);
    }
    const char *pk[] = {"peak", "frame", "time", "row", "col", "grid_y_mm", "grid_x_mm", "value",
                        "prominence", "area_taxels", "flags", "track"};
    for (size_t i = 0; i < sizeof pk / sizeof pk[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "/peaks/%s", pk[i]);
        cr_assert_eq(length_of(f, name), 3, "%s", name);
    }
    cr_assert_eq(length_of(f, "/session/time"), 5);
    cr_assert_eq(length_of(f, "/frames/conditioned"), 5);
    cr_assert_eq(length_of(f, "/frames/max"), 3);

    /* values survive, blocks land in order */
    double peak[5];
    hid_t ds = H5Dopen2(f, "/metrics/peak", H5P_DEFAULT);
    H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, peak);
    H5Dclose(ds);
    for (int i = 0; i < 5; i++)
        cr_assert_float_eq(peak[i], (double)i, 0.0);
    int64_t frame[3];
    int32_t track[3];
    double x_mm[3];
    ds = H5Dopen2(f, "/peaks/frame", H5P_DEFAULT);
    H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, frame);
    H5Dclose(ds);
    ds = H5Dopen2(f, "/peaks/track", H5P_DEFAULT);
    H5Dread(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, track);
    H5Dclose(ds);
    ds = H5Dopen2(f, "/peaks/grid_x_mm", H5P_DEFAULT);
    H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x_mm);
    H5Dclose(ds);
    cr_assert(frame[0] == 1 && frame[1] == 1 && frame[2] == 4);
    cr_assert(track[0] == -1 && track[2] == -1);
    cr_assert_float_eq(x_mm[0], 2.5 * 3.0, 1e-12);

    ds = H5Dopen2(f, "/metrics/peak", H5P_DEFAULT);
    read_str_attr(ds, "units", buf, sizeof buf);
    H5Dclose(ds);
    cr_assert_str_eq(buf, "kPa");

    /* every table column has units and a description; the tables are
       dimension scales' (netCDF) variables */
    const char *const tables[] = {"/metrics", "/peaks"};
    for (size_t t = 0; t < 2; t++) {
        hid_t tg = H5Gopen2(f, tables[t], H5P_DEFAULT);
        H5G_info_t gi;
        cr_assert_geq(H5Gget_info(tg, &gi), 0);
        for (hsize_t i = 0; i < gi.nlinks; i++) {
            char nm[64];
            cr_assert_gt(H5Lget_name_by_idx(tg, ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, i, nm,
                                            sizeof nm, H5P_DEFAULT), 0);
            hid_t cd = H5Dopen2(tg, nm, H5P_DEFAULT);
            cr_assert_gt(H5Aexists(cd, "units"), 0, "%s/%s: no units", tables[t], nm);
            read_str_attr(cd, "description", buf, sizeof buf);
            cr_assert_gt(strlen(buf), 0, "%s/%s: empty description", tables[t], nm);
            cr_assert_eq(H5DSis_scale(cd) > 0, i == 0, "%s/%s: scale", tables[t], nm);
            if (i > 0)
                cr_assert_eq(H5DSget_num_scales(cd, 0), 1, "%s/%s: no dimension", tables[t], nm);
            H5Dclose(cd);
        }
        H5Gclose(tg);
    }

    hid_t g = H5Gopen2(f, "/session/source_header", H5P_DEFAULT);
    read_str_attr(g, "A", buf, sizeof buf);
    cr_assert_str_eq(buf, "1");
    read_str_attr(g, "A#2", buf, sizeof buf);
    cr_assert_str_eq(buf, "2");
    read_str_attr(g, "x%2Fy%2Ez", buf, sizeof buf);
    cr_assert_str_eq(buf, "3");
    read_str_attr(g, "%00", buf, sizeof buf);
    cr_assert_str_eq(buf, "\xc3\xa9t\xc3\xa9", "Latin-1 text is stored as UTF-8");
    H5Gclose(g);
    H5Fclose(f);
}

Test(result_writer, free_without_commit_removes_temp)
{
    km_result_writer *w = NULL;
    cr_assert_eq(make(&w, 0, 1), KM_OK);
    cr_assert_eq(fill(w), KM_OK);
    cr_assert_eq(km_test_count_entries(dir, ".tmp-"), 1);
    km_result_writer_free(w);
    cr_assert_eq(km_test_count_entries(dir, ".tmp-"), 0);
    cr_assert_eq(access(path, F_OK), -1);
    km_result_writer_free(NULL);
}

Test(result_writer, never_replaces_other_files)
{
    FILE *fp = fopen(path, "w");
    cr_assert_not_null(fp);
    fputs("precious\n", fp);
    fclose(fp);
    km_result_writer *w = NULL;
    cr_assert_eq(make(&w, 0, 1), KM_ERR_CREATE);
    cr_assert_null(w);
    cr_assert(strncmp(km_ctx_last_error(ctx), path, strlen(path)) == 0, "%s",
              km_ctx_last_error(ctx));
    char buf[32] = "";
    fp = fopen(path, "r");
    cr_assert_not_null(fgets(buf, sizeof buf, fp));
    fclose(fp);
    cr_assert_str_eq(buf, "precious\n");
    cr_assert_eq(km_test_count_entries(dir, ".tmp-"), 0);
}

Test(result_writer, replaces_a_result_only_when_allowed)
{
    km_result_writer *w = NULL;
    cr_assert_eq(make(&w, 0, 1), KM_OK);
    cr_assert_eq(fill(w), KM_OK);
    cr_assert_eq(km_result_writer_commit(ctx, w), KM_OK);
    km_result_writer_free(w);
    w = NULL;
    cr_assert_eq(make(&w, 0, 0), KM_ERR_CREATE);
    cr_assert_null(w);
    cr_assert_eq(make(&w, 0, 1), KM_OK);
    km_result_writer_free(w);
    cr_assert_eq(access(path, F_OK), 0, "the old result stays when the new one is abandoned");
}

Test(result_writer, missing_folder_is_create_error)
{
    km_session_info in = info_3x4();
    km_result_meta meta = {&in, NULL, "", "", "", 0, 1, 0};
    km_result_writer *w = NULL;
    char p[160];
    snprintf(p, sizeof p, "%s/no/such/out.h5", dir);
    cr_assert_eq(km_result_writer_create(ctx, p, &meta, &w), KM_ERR_CREATE);
    cr_assert_null(w);
}

Test(result_writer, header_names)
{
    char b[32];
    cr_assert(km_result_header_name("ROWS", 1, b, sizeof b));
    cr_assert_str_eq(b, "ROWS");
    cr_assert(km_result_header_name("a.b/c%", 3, b, sizeof b));
    cr_assert_str_eq(b, "a%2Eb%2Fc%25#3");
    cr_assert(km_result_header_name("", 1, b, sizeof b));
    cr_assert_str_eq(b, "%00");
    cr_assert(km_result_header_name("#", 1, b, sizeof b));
    cr_assert_str_eq(b, "%23");
    cr_assert(!km_result_header_name("abcdef", 1, b, 4), "too long does not fit");
}

/* A key longer than a name holds (a 1500-byte Tekscan key, 400 non-ASCII
   characters: 3600 bytes escaped) is cut at a whole escape and marked '~',
   its repeats still numbered: before, the whole run failed with "source
   header key too long" naming the result, not the input. */
Test(result_writer, header_names_cut_when_too_long)
{
    char key[1600], name[1024], name2[1024];
    memset(key, 'K', 1500);
    key[1500] = '\0';
    cr_assert(km_result_header_name(key, 1, name, sizeof name));
    cr_assert_lt(strlen(name), sizeof name);
    cr_assert_eq(name[strlen(name) - 1], '~');
    cr_assert_eq(strspn(name, "K"), strlen(name) - 1);
    for (int i = 0; i < 400; i++)
        memcpy(key + 3 * i, "\xe2\xa0\xa8", 3);
    key[1200] = '\0';
    cr_assert(km_result_header_name(key, 2, name2, sizeof name2));
    size_t n = strlen(name2);
    cr_assert(n > 900 && n < sizeof name2);
    cr_assert_str_eq(name2 + n - 3, "~#2");
    cr_assert_eq((n - 3) % 3, 0, "whole escapes only: %s", name2 + n - 12);
    cr_assert_eq(strncmp(name2, "%E2%A0%A8%E2", 12), 0);
}

/* Parameters and header keys are scalar attributes: the writer makes their
 * dataspace and string type once, not once per attribute (each make and
 * close is a take of HDF5's global lock: ~2 000 of a result file's).  HDF5
 * numbers a kind's identifiers in sequence, so the dataspaces made while 90
 * attributes are written are the difference of two probes' identifiers;
 * the values still read back, a Latin-1 one transcoded. */
static hid_t next_space_id(void)
{
    hid_t s = H5Screate(H5S_SCALAR);
    cr_assert_geq(s, 0);
    H5Sclose(s);
    return s;
}

Test(result_writer, attributes_share_space_and_type)
{
    km_result_writer *w = NULL;
    cr_assert_eq(make(&w, 0, 0), KM_OK);
    hid_t s0 = next_space_id();
    char name[32];
    for (int i = 0; i < 30; i++) {
        snprintf(name, sizeof name, "f%d", i);
        cr_assert_eq(km_result_writer_param_f64(ctx, w, name, i * 0.5), KM_OK);
        snprintf(name, sizeof name, "i%d", i);
        cr_assert_eq(km_result_writer_param_i64(ctx, w, name, (int64_t)i << 40), KM_OK);
        snprintf(name, sizeof name, "s%d", i);
        cr_assert_eq(km_result_writer_param_str(ctx, w, name, i == 7 ? "\xe9t\xe9" : "text"),
                     KM_OK);
    }
    hid_t s1 = next_space_id();
    cr_assert_leq(s1 - s0 - 1, 1, "%lld dataspaces made for 90 attributes",
                  (long long)(s1 - s0 - 1));
    cr_assert_eq(fill(w), KM_OK);
    cr_assert_eq(km_result_writer_commit(ctx, w), KM_OK);
    km_result_writer_free(w);

    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(f, 0);
    hid_t g = H5Gopen2(f, "params", H5P_DEFAULT);
    cr_assert_geq(g, 0);
    double d = 0;
    int64_t v = 0;
    char buf[32];
    hid_t a = H5Aopen(g, "f9", H5P_DEFAULT);
    cr_assert(a >= 0 && H5Aread(a, H5T_NATIVE_DOUBLE, &d) >= 0);
    H5Aclose(a);
    a = H5Aopen(g, "i29", H5P_DEFAULT);
    cr_assert(a >= 0 && H5Aread(a, H5T_NATIVE_INT64, &v) >= 0);
    H5Aclose(a);
    cr_assert(d == 4.5 && v == (int64_t)29 << 40);
    read_str_attr(g, "s7", buf, sizeof buf);
    cr_assert_str_eq(buf, "\xc3\xa9t\xc3\xa9");
    read_str_attr(g, "s8", buf, sizeof buf);
    cr_assert_str_eq(buf, "text");
    H5Gclose(g);
    H5Fclose(f);
}

/* The tables are created at their first append, not by create (where two
 * sessions on two threads both need HDF5's lock at once): /metrics at the
 * first frames, /peaks at the first flush of the peak buffer, a growing
 * table at its first rows; a table never appended to still at the end,
 * empty, with its columns in their order. */
typedef struct {
    int64_t id;
    double v;
} lazy_row;
static const km_result_col LAZY_COLS[] = {
    {"id", KM_COL_I64, "", "row", offsetof(lazy_row, id)},
    {"v", KM_COL_F64, "mm", "value", offsetof(lazy_row, v)},
};
static const km_result_table LAZY_T = {"lazy", LAZY_COLS, 2, sizeof(lazy_row), "n_lazy"};
static const km_result_table LAZY_E = {"empty", LAZY_COLS, 2, sizeof(lazy_row), "n_empty"};

static int has(const km_result_writer *w, const char *name)
{
    return H5Lexists(w->file, name, H5P_DEFAULT) > 0;
}

Test(result_writer, tables_made_at_their_first_append)
{
    km_result_writer *w = NULL;
    int id = -1, id_e = -1;
    double t = 0.5;
    km_metrics m;
    float maps[12] = {0};
    km_peak pk = {1, 2, 1.25, 2.5, 9.0f, 4.0f, 3, 0};
    lazy_row row = {7, 2.5};
    memset(&m, 0, sizeof m);
    cr_assert_eq(make(&w, 0, 0), KM_OK);
    cr_assert_eq(km_result_writer_add_table(ctx, w, &LAZY_T, &id), KM_OK);
    cr_assert_eq(km_result_writer_add_table(ctx, w, &LAZY_E, &id_e), KM_OK);
    cr_expect(!has(w, "metrics") && !has(w, "peaks") && !has(w, "lazy") && !has(w, "empty"),
              "tables made by create");
    cr_assert_eq(km_result_writer_append_frames(ctx, w, &t, &m, NULL, 1), KM_OK);
    cr_assert_eq(km_result_writer_append_peaks(ctx, w, 0, t, &pk, 1), KM_OK);
    cr_expect(has(w, "metrics") && !has(w, "peaks"), "/peaks before its first flush");
    cr_assert_eq(km_result_writer_append_rows(ctx, w, id, &row, 1), KM_OK);
    cr_expect(has(w, "lazy") && !has(w, "empty"));
    cr_assert_eq(km_result_writer_set_maps(ctx, w, maps, maps), KM_OK);
    cr_assert_eq(km_result_writer_commit(ctx, w), KM_OK, "%s", km_ctx_last_error(ctx));
    km_result_writer_free(w);

    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(f, 0);
    cr_expect_eq(length_of(f, "metrics/flags"), 1);
    cr_expect_eq(length_of(f, "peaks/track"), 1);
    cr_expect_eq(length_of(f, "lazy/v"), 1);
    cr_expect_eq(length_of(f, "empty/v"), 0);
    hid_t g = H5Gopen2(f, "empty", H5P_DEFAULT);
    char name[8] = "";
    cr_assert_geq(g, 0);
    cr_expect_gt(H5Lget_name_by_idx(g, ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, 0, name,
                                    sizeof name, H5P_DEFAULT), 0);
    cr_expect_str_eq(name, "id");
    int64_t n = -1;
    hid_t a = H5Aopen(g, "n_empty", H5P_DEFAULT);
    cr_assert(a >= 0 && H5Aread(a, H5T_NATIVE_INT64, &n) >= 0);
    cr_expect_eq(n, 0);
    H5Aclose(a);
    H5Gclose(g);
    H5Fclose(f);
}

/* The body map's five maps get their scales as H5DSattach_scale would
 * attach them (written at once: result_h5.c, attach_maps): y_mm on
 * dimension 0 and x_mm on 1 of each, each scale's references in the
 * maps' order. */
typedef struct {
    int n;
} seen_refs;

static herr_t seen_one(hid_t ds, unsigned dim, hid_t scale, void *data)
{
    (void)ds;
    (void)dim;
    (void)scale;
    ((seen_refs *)data)->n++;
    return 0;
}

/* The scale's REFERENCE_LIST holds exactly the datasets `want` (full
 * names) at dimensions `dims`, in that order. */
static void expect_ref_list(hid_t g, hid_t scale, const char *const *want, const int *dims, int n)
{
    enum { ITEM = sizeof(hobj_ref_t) + sizeof(int) + 4 };
    hid_t a = H5Aopen(scale, "REFERENCE_LIST", H5P_DEFAULT);
    hid_t t = H5Tcreate(H5T_COMPOUND, ITEM);
    cr_assert(a >= 0 && t >= 0);
    H5Tinsert(t, "dataset", 0, H5T_STD_REF_OBJ);
    H5Tinsert(t, "dimension", sizeof(hobj_ref_t), H5T_NATIVE_INT);
    unsigned char buf[8][ITEM];
    hid_t s = H5Aget_space(a);
    cr_assert_eq(H5Sget_simple_extent_npoints(s), n);
    cr_assert(n <= 8 && H5Aread(a, t, buf) >= 0);
    for (int i = 0; i < n; i++) {
        hobj_ref_t r;
        int dim;
        char name[32] = "";
        memcpy(&r, buf[i], sizeof r);
        memcpy(&dim, buf[i] + sizeof r, sizeof dim);
        hid_t o = H5Rdereference2(g, H5P_DEFAULT, H5R_OBJECT, &r);
        cr_assert_geq(o, 0);
        H5Iget_name(o, name, sizeof name);
        H5Oclose(o);
        cr_expect_str_eq(name, want[i]);
        cr_expect_eq(dim, dims[i], "%s", want[i]);
    }
    H5Sclose(s);
    H5Tclose(t);
    H5Aclose(a);
}

Test(result_writer, bodymap_scales_attached)
{
    km_result_writer *w = NULL;
    float f[6] = {1, 2, 3, 4, 5, 6}, maps[12] = {0};
    int32_t cov[6] = {1, 2, 3, 0, 1, 2};
    km_result_bodymap b = {KM_MODE_ROLLER, 2, 3, 10.0, 2.0, 3.0, f, f, cov, f, f};
    cr_assert_eq(make(&w, 0, 0), KM_OK);
    cr_assert_eq(km_result_writer_set_maps(ctx, w, maps, maps), KM_OK);
    cr_assert_eq(km_result_writer_set_bodymap(ctx, w, &b), KM_OK, "%s", km_ctx_last_error(ctx));
    cr_assert_eq(km_result_writer_commit(ctx, w), KM_OK, "%s", km_ctx_last_error(ctx));
    km_result_writer_free(w);

    static const char *const names[5] = {"pressure", "mean", "coverage", "excess", "spread"};
    hid_t f5 = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t g = H5Gopen2(f5, "bodymap", H5P_DEFAULT);
    hid_t y = H5Dopen2(g, "y_mm", H5P_DEFAULT), x = H5Dopen2(g, "x_mm", H5P_DEFAULT);
    cr_assert(f5 >= 0 && g >= 0 && y >= 0 && x >= 0);
    for (int i = 0; i < 5; i++) {
        hid_t d = H5Dopen2(g, names[i], H5P_DEFAULT);
        cr_assert_geq(d, 0);
        cr_expect_eq(H5DSis_attached(d, y, 0), 1, "%s", names[i]);
        cr_expect_eq(H5DSis_attached(d, x, 1), 1, "%s", names[i]);
        cr_expect_eq(H5DSis_attached(d, x, 0), 0, "%s", names[i]);
        seen_refs s = {0};
        cr_expect_eq(H5DSiterate_scales(d, 0, NULL, seen_one, &s), 0);
        cr_expect_eq(H5DSiterate_scales(d, 1, NULL, seen_one, &s), 0);
        cr_expect_eq(s.n, 2, "%s: one scale per dimension", names[i]);
        H5Dclose(d);
    }
    /* REFERENCE_LIST: {map, dimension} in the maps' order. */
    const char *want[5];
    int dims[5];
    char full[5][32];
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 5; i++) {
            snprintf(full[i], sizeof full[i], "/bodymap/%s", names[i]);
            want[i] = full[i];
            dims[i] = k;
        }
        expect_ref_list(g, k == 0 ? y : x, want, dims, 5);
    }
    H5Dclose(x);
    H5Dclose(y);
    H5Gclose(g);
    H5Fclose(f5);
}

/* A result with nothing but its /frames maps (zeros). */
static void write_maps_only(int save_frames)
{
    km_result_writer *w = NULL;
    float maps[12] = {0};
    cr_assert_eq(make(&w, save_frames, 0), KM_OK);
    cr_assert_eq(km_result_writer_set_maps(ctx, w, maps, maps), KM_OK);
    cr_assert_eq(km_result_writer_commit(ctx, w), KM_OK, "%s", km_ctx_last_error(ctx));
    km_result_writer_free(w);
}

/* /frames/max and mean join the scales /frames/row and col after the saved
 * frames (a list already there is extended, its entries first, as
 * H5DSattach_scale extends it), and /session/mask is /session/row and
 * col's only entry. */
Test(result_writer, frame_maps_extend_the_scales_lists)
{
    write_maps_only(1);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(f, 0);
    static const char *const frames[3] = {"/frames/conditioned", "/frames/max", "/frames/mean"};
    static const char *const session[1] = {"/session/mask"};
    static const int on_row[3] = {1, 0, 0}, on_col[3] = {2, 1, 1}, mask_dims[2][1] = {{0}, {1}};
    static const char *const scales[2] = {"row", "col"};
    for (int k = 0; k < 2; k++) {
        char name[32];
        snprintf(name, sizeof name, "/frames/%s", scales[k]);
        hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
        cr_assert_geq(d, 0);
        expect_ref_list(f, d, frames, k == 0 ? on_row : on_col, 3);
        H5Dclose(d);
        snprintf(name, sizeof name, "/session/%s", scales[k]);
        d = H5Dopen2(f, name, H5P_DEFAULT);
        cr_assert_geq(d, 0);
        expect_ref_list(f, d, session, mask_dims[k], 1);
        H5Dclose(d);
    }
    H5Fclose(f);
}

/* An attribute's type (class, size, padding, character set, variable or
 * not) and bytes equal another's. */
static void expect_same_attr(hid_t o1, hid_t o2, const char *name)
{
    hid_t a1 = H5Aopen(o1, name, H5P_DEFAULT), a2 = H5Aopen(o2, name, H5P_DEFAULT);
    cr_assert(a1 >= 0 && a2 >= 0, "%s", name);
    hid_t t1 = H5Aget_type(a1), t2 = H5Aget_type(a2), s1 = H5Aget_space(a1);
    cr_expect_gt(H5Tequal(t1, t2), 0, "%s: type", name);
    cr_expect_eq(H5Tget_strpad(t1), H5Tget_strpad(t2), "%s", name);
    cr_expect_eq(H5Tget_cset(t1), H5Tget_cset(t2), "%s", name);
    cr_expect_eq(H5Sget_simple_extent_type(s1), H5S_SCALAR, "%s", name);
    char v1[32] = "", v2[32] = "";
    size_t n = H5Tget_size(t1);
    cr_assert(n <= sizeof v1 && H5Aread(a1, t1, v1) >= 0 && H5Aread(a2, t2, v2) >= 0);
    cr_expect_eq(memcmp(v1, v2, n), 0, "%s: value", name);
    H5Sclose(s1);
    H5Tclose(t2);
    H5Tclose(t1);
    H5Aclose(a2);
    H5Aclose(a1);
}

/* The writer's dimension scales carry the attributes H5DSset_scale writes
 * (result_h5.c writes them itself), byte for byte, and read as scales. */
Test(result_writer, scales_as_h5ds_makes_them)
{
    write_maps_only(0);
    char ref[160];
    snprintf(ref, sizeof ref, "%s/ref.h5", dir);
    hid_t rf = H5Fcreate(ref, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t n[1] = {4};
    hid_t s = H5Screate_simple(1, n, NULL);
    hid_t rd = H5Dcreate2(rf, "col", H5T_STD_I32LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(rd >= 0 && H5DSset_scale(rd, "col") >= 0);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "/session/col", H5P_DEFAULT);
    cr_assert_geq(d, 0);
    cr_expect_gt(H5DSis_scale(d), 0);
    char nm[16] = "";
    cr_expect_eq(H5DSget_scale_name(d, nm, sizeof nm), 3);
    cr_expect_str_eq(nm, "col");
    expect_same_attr(d, rd, "CLASS");
    expect_same_attr(d, rd, "NAME");
    H5Dclose(d);
    H5Fclose(f);
    H5Dclose(rd);
    H5Sclose(s);
    H5Fclose(rf);
    remove(ref);
}
