/* Result writer: what km_process makes ahead of the end of a session, out
 * of its burst of HDF5 calls (bench/HISTORY.md "Session 39 (burst13)"): a
 * table written once, prepared (km_result_writer_prepare_table), and the
 * columns' chunk cache, the file's rather than each column's access list. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <hdf5.h>

#include "io/result_writer.h"
#include "io/result_writer_internal.h"
#include "test_util.h"

static km_ctx *ctx;
static char dir[64];

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    km_test_make_dir(dir, sizeof dir, "km_rwa_");
}

static void teardown(void)
{
    km_ctx_free(ctx);
    cr_assert_eq(km_test_remove_dir(dir), 0);
}
TestSuite(result_writer_ahead, .init = setup, .fini = teardown);

static km_status make(const char *path, km_result_writer **w)
{
    km_session_info in;
    memset(&in, 0, sizeof in);
    in.format = KM_FORMAT_TEXT;
    in.rows = 3;
    in.cols = 4;
    in.frame_rate_hz = 10.0;
    in.row_pitch_mm = in.col_pitch_mm = 2.0;
    snprintf(in.units, sizeof in.units, "kPa");
    in.saturation = INFINITY;
    in.n_valid = 12;
    km_result_meta meta = {&in, NULL, "in.txt", "text", "knotmap process in.txt", 1, 0, 0};
    return km_result_writer_create(ctx, path, &meta, w);
}

typedef struct {
    double x;
    float y;
} row_t;

static const km_result_col COLS[] = {
    {"id", KM_COL_I32, "", "rank", KM_COL_ROW},
    {"x", KM_COL_F64, "mm", "x of it", offsetof(row_t, x)},
    {"y", KM_COL_F32, "@", "y of it", offsetof(row_t, y)},
};
static const km_result_table TAB = {"tab", COLS, 3, sizeof(row_t), "n_tab"};
static const row_t ROWS[3] = {{1.5, 2.0f}, {NAN, -1.0f}, {3.25, INFINITY}};

static haddr_t addr_of(hid_t f, const char *name)
{
    H5O_info_t oi;
    cr_assert_geq(H5Oget_info_by_name2(f, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT), 0, "%s", name);
    return oi.addr;
}

/* "name:size:value;" of every attribute of `obj` (name order): a string's
 * text, else its stored bytes (references left out: addresses). */
static herr_t attr_one(hid_t obj, const char *name, const H5A_info_t *ai, void *data)
{
    (void)ai;
    char *out = data;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t = H5Aget_type(a);
    unsigned char v[64] = {0};
    size_t n = H5Aget_storage_size(a);
    snprintf(out + strlen(out), 1024 - strlen(out), "%s:%zu:", name, n);
    if (H5Tis_variable_str(t) > 0) {
        char *text = NULL;
        H5Aread(a, t, &text);
        snprintf(out + strlen(out), 1024 - strlen(out), "%s", text != NULL ? text : "(null)");
        H5free_memory(text);
        n = 0;
    } else if (strcmp(name, "DIMENSION_LIST") != 0 && strcmp(name, "REFERENCE_LIST") != 0 &&
               n <= sizeof v) {
        H5Aread(a, t, v);
    }
    for (size_t i = 0; i < n && i < sizeof v; i++)
        snprintf(out + strlen(out), 1024 - strlen(out), "%02x", v[i]);
    strcat(out, ";");
    H5Tclose(t);
    H5Aclose(a);
    return 0;
}

/* A dataset's values (as double) and attributes into out. */
static void describe(hid_t f, const char *name, char *out)
{
    double v[12];
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT), s = H5Dget_space(d);
    cr_assert(d >= 0 && s >= 0, "%s", name);
    hssize_t n = H5Sget_simple_extent_npoints(s);
    H5Sclose(s);
    cr_assert(n > 0 && n <= 12, "%s: %lld values", name, (long long)n);
    out[0] = '\0';
    H5Aiterate2(d, H5_INDEX_NAME, H5_ITER_INC, NULL, attr_one, out);
    cr_assert_geq(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Dclose(d);
    for (hssize_t i = 0; i < n; i++)
        snprintf(out + strlen(out), 1024 - strlen(out), "%a,", v[i]);
}

static const float MAX_MAP[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, NAN};
static const float MEAN_MAP[12] = {-1, 0.5f, 0.25f, 0, 0, 0, 0, 0, 0, 0, INFINITY, 3};
#define N_OBJ 5
#define N_TAB 3 /* OBJ's first: the table's, made ahead; the maps are made by set_maps */
static const char *const OBJ[N_OBJ] = {"tab/id", "tab/x", "tab/y", "frames/max", "frames/mean"};

static void write_table(const char *path, int ahead)
{
    km_result_writer *w = NULL;
    haddr_t before[N_TAB] = {0};
    cr_assert_eq(make(path, &w), KM_OK);
    if (ahead) {
        cr_assert_eq(km_result_writer_prepare_table(ctx, w, &TAB), KM_OK, "%s",
                     km_ctx_last_error(ctx));
        cr_expect_neq(km_result_writer_prepare_table(ctx, w, &TAB), KM_OK, "one at a time");
        for (int i = 0; i < N_TAB; i++)
            before[i] = addr_of(w->file, OBJ[i]);
    }
    cr_assert_eq(km_result_writer_set_table(ctx, w, &TAB, ROWS, 3), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    cr_assert_eq(km_result_writer_set_maps(ctx, w, MAX_MAP, MEAN_MAP), KM_OK);
    H5G_info_t gi;
    cr_assert_geq(H5Gget_info_by_name(w->file, "tab", &gi, H5P_DEFAULT), 0);
    cr_expect_eq(gi.nlinks, 3, "no object made twice");
    for (int i = 0; ahead && i < N_TAB; i++)
        cr_expect_eq(addr_of(w->file, OBJ[i]), before[i], "%s made again", OBJ[i]);
    cr_assert_eq(km_result_writer_commit(ctx, w), KM_OK, "%s", km_ctx_last_error(ctx));
    km_result_writer_free(w);
}

/* The names of the datasets in scale's REFERENCE_LIST, in order; their count. */
static int ref_list_names(hid_t scale, char *out)
{
    enum { ITEM = sizeof(hobj_ref_t) + sizeof(int) + 4 };
    hid_t a = H5Aopen(scale, "REFERENCE_LIST", H5P_DEFAULT), t = H5Tcreate(H5T_COMPOUND, ITEM);
    cr_assert(a >= 0 && t >= 0);
    H5Tinsert(t, "dataset", 0, H5T_STD_REF_OBJ);
    H5Tinsert(t, "dimension", sizeof(hobj_ref_t), H5T_NATIVE_INT);
    unsigned char buf[8][ITEM];
    hid_t s = H5Aget_space(a);
    int n = (int)H5Sget_simple_extent_npoints(s);
    cr_assert(n <= 8 && H5Aread(a, t, buf) >= 0);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        hobj_ref_t r;
        char name[32] = "";
        memcpy(&r, buf[i], sizeof r);
        hid_t o = H5Rdereference2(scale, H5P_DEFAULT, H5R_OBJECT, &r);
        H5Iget_name(o, name, sizeof name);
        H5Oclose(o);
        snprintf(out + strlen(out), 1024 - strlen(out), "%s,", name);
    }
    H5Sclose(s);
    H5Tclose(t);
    H5Aclose(a);
    return n;
}

/* Written into the table made ahead: the same columns, and the maps made
 * by set_maps beside it, with the same attributes and values as made at
 * the end, the scales' lists in the same order; set_table makes no object
 * (fails when it ignores the prepared one, when prepare makes nothing, or
 * set_table makes them anew). */
Test(result_writer_ahead, prepared_objects_same_as_made_at_the_end)
{
    char a[128], b[128];
    km_test_path(a, sizeof a, dir, "a.knotmap.h5");
    km_test_path(b, sizeof b, dir, "b.knotmap.h5");
    write_table(a, 0);
    write_table(b, 1);
    hid_t fa = H5Fopen(a, H5F_ACC_RDONLY, H5P_DEFAULT), fb = H5Fopen(b, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(fa >= 0 && fb >= 0);
    static char da[1024], db[1024];
    for (int i = 0; i < N_OBJ; i++) {
        describe(fa, OBJ[i], da);
        describe(fb, OBJ[i], db);
        cr_expect_str_eq(db, da, "%s: %s vs %s", OBJ[i], db, da);
    }
    /* the scales list the maps as they did: /frames/conditioned first */
    describe(fa, "frames/row", da);
    describe(fb, "frames/row", db);
    cr_expect_str_eq(db, da, "frames/row");
    hid_t ra = H5Dopen2(fa, "frames/col", H5P_DEFAULT), rb = H5Dopen2(fb, "frames/col", H5P_DEFAULT);
    cr_assert(ra >= 0 && rb >= 0);
    cr_expect_eq(ref_list_names(ra, da), 3);
    cr_expect_eq(ref_list_names(rb, db), 3);
    cr_expect_str_eq(db, da, "frames/col's REFERENCE_LIST");
    cr_expect_str_eq(da, "/frames/conditioned,/frames/max,/frames/mean,");
    H5Dclose(ra);
    H5Dclose(rb);
    da[0] = db[0] = '\0';
    H5Aiterate_by_name(fa, "tab", H5_INDEX_NAME, H5_ITER_INC, NULL, attr_one, da, H5P_DEFAULT);
    H5Aiterate_by_name(fb, "tab", H5_INDEX_NAME, H5_ITER_INC, NULL, attr_one, db, H5P_DEFAULT);
    cr_expect_str_eq(db, da, "the group's attributes");
    cr_expect_neq(strstr(da, "n_tab:8:0300000000000000;"), NULL, "%s", da);
    H5Fclose(fa);
    H5Fclose(fb);
}

/* A writer at dir/name (path in p) that has written one frame. */
static km_result_writer *with_a_frame(char *p, size_t cap, const char *name)
{
    km_result_writer *w = NULL;
    double t = 0.0;
    km_metrics m;
    memset(&m, 0, sizeof m);
    km_test_path(p, cap, dir, name);
    cr_assert_eq(make(p, &w), KM_OK);
    cr_assert_eq(km_result_writer_append_frames(ctx, w, &t, &m, (float[12]){0}, 1), KM_OK);
    return w;
}

static void expect_cache(hid_t ds, size_t slots, size_t bytes, double w0, const char *what)
{
    size_t s = 0, b = 0;
    double w = -1.0;
    hid_t dapl = H5Dget_access_plist(ds);
    cr_assert(dapl >= 0 && H5Pget_chunk_cache(dapl, &s, &b, &w) >= 0, "%s", what);
    H5Pclose(dapl);
    cr_expect_eq(s, slots, "%s: %zu slots", what, s);
    cr_expect_eq(b, bytes, "%s: %zu bytes", what, b);
    cr_expect_eq(w, w0, "%s: w0 %g", what, w);
}

/* Every column keeps the small chunk cache (now the file's), and
 * /frames/conditioned HDF5's default one (fails without the file's cache,
 * and with the conditioned frames left to the file's). */
Test(result_writer_ahead, columns_keep_their_small_chunk_cache)
{
    char p[128];
    km_result_writer *w = with_a_frame(p, sizeof p, "c.knotmap.h5");
    cr_assert_eq(km_result_writer_prepare_table(ctx, w, &TAB), KM_OK);
    expect_cache(w->met[0].ds, 11, COL_CACHE_BYTES, 1.0, "/metrics/time");
    expect_cache(w->ds_time.ds, 11, COL_CACHE_BYTES, 1.0, "/session/time");
    expect_cache(w->pre.ds[2].ds, 11, COL_CACHE_BYTES, 1.0, "/tab/y");
    int mdc = 0;
    size_t slots = 0, bytes = 0;
    double w0 = 0.0;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    cr_assert_geq(H5Pget_cache(fapl, &mdc, &slots, &bytes, &w0), 0);
    H5Pclose(fapl);
    cr_expect_gt(bytes, COL_CACHE_BYTES);
    expect_cache(w->ds_cond.ds, slots, bytes, w0, "/frames/conditioned");
    km_result_writer_free(w);
}

static size_t mdc_max(hid_t file)
{
    H5AC_cache_config_t c;
    memset(&c, 0, sizeof c);
    c.version = H5AC__CURR_CACHE_CONFIG_VERSION;
    cr_assert_geq(H5Fget_mdc_config(file, &c), 0);
    cr_expect_eq(c.min_size, c.max_size, "a fixed size");
    return c.max_size;
}

/* The result's metadata cache stays small during the frames and grows for
 * the end (km_result_writer_last_frame); the file is whole after it
 * (fails without the growth). */
Test(result_writer_ahead, metadata_cache_grows_for_the_end)
{
    char p[128];
    km_result_writer *w = with_a_frame(p, sizeof p, "m.knotmap.h5");
    cr_expect_eq(mdc_max(w->file), RESULT_MDC_BYTES);
    cr_assert_eq(km_result_writer_last_frame(ctx, w), KM_OK, "%s", km_ctx_last_error(ctx));
    cr_expect_eq(mdc_max(w->file), RESULT_END_MDC_BYTES);
    cr_expect_gt(RESULT_END_MDC_BYTES, RESULT_MDC_BYTES);
    cr_assert_eq(km_result_writer_set_maps(ctx, w, MAX_MAP, MEAN_MAP), KM_OK);
    cr_assert_eq(km_result_writer_commit(ctx, w), KM_OK, "%s", km_ctx_last_error(ctx));
    km_result_writer_free(w);
    km_result_info info;
    cr_expect_eq(km_result_info_read(ctx, p, &info), KM_OK, "%s", km_ctx_last_error(ctx));
}
