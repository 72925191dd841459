/* docs/ARCHITECTURE.md, "Add a stage", proved: a stage in one file that
 * owns its state, sees every frame in order and declares the table it
 * writes; km_process writes that table with the units and description
 * the declaration gives, the same with one thread or two. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <stddef.h>
#include <string.h>

#include "pipeline/engine_internal.h"
#include "test_util.h"

/* ---- the example stage: frames and peaks it saw, one row ---- */
typedef struct seen {
    int64_t frames;
    int64_t peaks;
    int64_t last_frame;
} seen;

static const km_result_col SEEN_COLS[] = {
    {"frames", KM_COL_I64, "1", "frames the example stage saw", offsetof(seen, frames)},
    {"peaks", KM_COL_I64, "1", "peaks the example stage saw", offsetof(seen, peaks)},
    {"last_frame", KM_COL_I64, "", "index of the last frame it saw", offsetof(seen, last_frame)},
};
static const km_result_table SEEN_TABLE = {"example_seen", SEEN_COLS, 3, sizeof(seen), NULL};

static km_status seen_frame(km_ctx *ctx, void *state, const km_stage_frame *f)
{
    seen *s = state;
    if (f->frame != s->last_frame + 1)
        return km_fail(ctx, KM_ERR_INTERNAL, "frame %lld after %lld", (long long)f->frame,
                       (long long)s->last_frame);
    s->frames++;
    s->peaks += (int64_t)f->n_peaks;
    s->last_frame = f->frame;
    return KM_OK;
}

static km_status seen_write(km_ctx *ctx, void *state, km_result_writer *w)
{
    return km_result_writer_set_table(ctx, w, &SEEN_TABLE, state, 1);
}

/* ---- the test ---- */
static km_ctx *ctx;
static char dir[64];

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    km_test_make_dir(dir, sizeof dir, "km-stage-");
}

static void teardown(void)
{
    (void)km_test_remove_dir(dir);
    km_ctx_free(ctx);
}

TestSuite(example_stage, .init = setup, .fini = teardown);

static int64_t read_one(hid_t f, const char *name)
{
    int64_t v = -1;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    cr_assert_geq(d, 0, "missing %s", name);
    cr_assert_geq(H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v), 0);
    H5Dclose(d);
    return v;
}

static int64_t attr_i64(hid_t f, const char *obj, const char *name)
{
    int64_t v = -1;
    cr_assert_geq(H5LTget_attribute(f, obj, name, H5T_NATIVE_INT64, &v), 0, "%s %s", obj, name);
    return v;
}

/* A variable-length string attribute (how the writer stores text). */
static void check_text(hid_t f, const char *obj, const char *name, const char *want)
{
    char *got = NULL;
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(a, 0, "%s has no %s", obj, name);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    cr_assert_geq(H5Aread(a, t, &got), 0);
    cr_assert_str_eq(got, want, "%s %s", obj, name);
    H5free_memory(got);
    H5Tclose(t);
    H5Aclose(a);
}

static void run(int threads)
{
    char in[128], out[128];
    km_test_path(in, sizeof in, dir, "s.h5");
    km_test_path(out, sizeof out, dir, "r.h5");
    km_synth_params sp;
    km_synth_params_default(&sp);
    km_synth_preset(&sp, KM_SYNTH_MODERATE);
    sp.duration_s = 4;
    cr_assert_eq(km_synth_write(ctx, &sp, KM_FORMAT_SESSION, in, 1), KM_OK);
    km_process_params p;
    km_process_params_default(&p);
    p.n_threads = threads;
    p.block_frames = 37;
    seen state = {0, 0, -1};
    km_stage_sink sink = {"example_seen", &state, seen_frame, seen_write, NULL};
    cr_assert_eq(km_process_with(ctx, in, out, &p, NULL, &sink, 1), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(f, 0);
    int64_t n_frames = attr_i64(f, "/session", "n_frames");
    cr_assert_eq(n_frames, 400, "4 s at 100 Hz");
    cr_assert_eq(read_one(f, "/example_seen/frames"), n_frames);
    cr_assert_eq(read_one(f, "/example_seen/peaks"), attr_i64(f, "/peaks", "n_peaks"));
    cr_assert_eq(read_one(f, "/example_seen/last_frame"), n_frames - 1);
    check_text(f, "/example_seen/peaks", "units", "1");
    check_text(f, "/example_seen/peaks", "description", "peaks the example stage saw");
    H5Fclose(f);
}

Test(example_stage, declared_table_is_written)
{
    run(1);
}

Test(example_stage, declared_table_is_written_with_threads)
{
    run(2);
}
