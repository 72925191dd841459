/* The push engine (km_engine_*): a session pushed in blocks of random
 * sizes (1 included) gives the body map and candidates km_process writes
 * for the same session, byte for byte; snapshots work before the end. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knotmap.h"
#include "test_util.h"

static km_ctx *ctx;
static char dir[64];

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    km_test_make_dir(dir, sizeof dir, "km-engine-");
}

static void teardown(void)
{
    (void)km_test_remove_dir(dir);
    km_ctx_free(ctx);
}

TestSuite(engine, .init = setup, .fini = teardown);

/* A whole session in memory, read through the ordinary reader. */
typedef struct session {
    km_session_info info;
    uint8_t *mask;
    float *frames;
    double *times;
    int64_t n;
} session;

static void load(const char *path, session *s)
{
    km_reader *r;
    km_read_options o;
    km_read_options_default(&o);
    cr_assert_eq(km_reader_open(ctx, path, &o, &r), KM_OK, "%s", km_ctx_last_error(ctx));
    km_reader_info(r, &s->info);
    size_t rc = (size_t)s->info.rows * (size_t)s->info.cols;
    cr_assert_gt(s->info.n_frames, 0);
    s->frames = malloc((size_t)s->info.n_frames * rc * sizeof *s->frames);
    s->times = malloc((size_t)s->info.n_frames * sizeof *s->times);
    s->mask = malloc(rc);
    cr_assert(s->frames != NULL && s->times != NULL && s->mask != NULL);
    const uint8_t *m = km_reader_mask(r);
    for (size_t k = 0; k < rc; k++)
        s->mask[k] = m == NULL ? 1 : m[k];
    s->n = 0;
    for (;;) {
        int64_t got = 0;
        cr_assert_eq(km_reader_read(ctx, r, s->frames + (size_t)s->n * rc, s->times + s->n,
                                    s->info.n_frames - s->n, &got), KM_OK);
        if (got == 0)
            break;
        s->n += got;
    }
    km_reader_free(r);
}

static void unload(session *s)
{
    free(s->frames);
    free(s->times);
    free(s->mask);
}

/* A dataset of the result as doubles (any numeric type); *n values. */
static double *read_ds(hid_t f, const char *name, size_t *n)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    cr_assert_geq(d, 0, "missing %s", name);
    hid_t s = H5Dget_space(d);
    hssize_t pts = H5Sget_simple_extent_npoints(s);
    *n = (size_t)pts;
    double *buf = malloc((*n + 1) * sizeof *buf);
    cr_assert_not_null(buf);
    if (pts > 0)
        cr_assert_geq(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), 0);
    H5Sclose(s);
    H5Dclose(d);
    return buf;
}

/* Same doubles, NaN equal to NaN. */
static void same(const char *what, const double *file, size_t nf, const double *mine, size_t nm)
{
    cr_assert_eq(nf, nm, "%s: %zu values in the file, %zu from the engine", what, nf, nm);
    for (size_t i = 0; i < nf; i++)
        cr_assert(file[i] == mine[i] || (isnan(file[i]) && isnan(mine[i])),
                  "%s[%zu]: file %.17g, engine %.17g", what, i, file[i], mine[i]);
}

/* Push the session in random blocks of 1..max_block frames (seeded). */
static km_engine *run_engine(const session *s, const km_process_params *p, unsigned seed,
                             int max_block)
{
    km_engine *e;
    size_t rc = (size_t)s->info.rows * (size_t)s->info.cols;
    cr_assert_eq(km_engine_create(ctx, &s->info, s->mask, p, &e), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    srand(seed);
    for (int64_t i = 0; i < s->n;) {
        int64_t m = rand() % 4 == 0 ? 1 : 1 + rand() % max_block;
        if (m > s->n - i)
            m = s->n - i;
        cr_assert_eq(km_engine_push(ctx, e, s->frames + (size_t)i * rc, s->times + i, m), KM_OK,
                     "%s", km_ctx_last_error(ctx));
        i += m;
    }
    cr_assert_eq(km_engine_finish(ctx, e), KM_OK, "%s", km_ctx_last_error(ctx));
    return e;
}

/* The engine's body map and candidates against the result file's. */
static void compare(km_engine *e, const char *result)
{
    km_engine_map m;
    cr_assert_eq(km_engine_bodymap(ctx, e, &m, NULL, NULL, NULL, NULL, 0), KM_OK);
    size_t cells = (size_t)m.ny * (size_t)m.nx, n;
    cr_assert_gt(cells, 0);
    float *mx = malloc(cells * sizeof *mx), *ex = malloc(cells * sizeof *ex);
    km_candidate *c = malloc(cells * sizeof *c);
    double *a = malloc(cells * sizeof *a), *b = malloc(cells * sizeof *b);
    cr_assert(mx && ex && c && a && b);
    cr_assert_eq(km_engine_bodymap(ctx, e, &m, mx, NULL, NULL, ex, cells), KM_OK);
    cr_assert_eq(km_engine_candidates(ctx, e, c, cells, &n), KM_OK);
    hid_t f = H5Fopen(result, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(f, 0);
    size_t nf;
    double *v = read_ds(f, "/bodymap/pressure", &nf);
    for (size_t i = 0; i < cells; i++)
        a[i] = mx[i], b[i] = ex[i];
    same("/bodymap/pressure", v, nf, a, cells);
    free(v);
    v = read_ds(f, "/bodymap/excess", &nf);
    same("/bodymap/excess", v, nf, b, cells);
    free(v);
    cr_assert_gt(n, 0, "the session has knots: some candidates");
    static const char *const cols[] = {"/candidates/x_mm", "/candidates/y_mm",
                                       "/candidates/score", "/candidates/amplitude"};
    for (int k = 0; k < 4; k++) {
        for (size_t i = 0; i < n; i++)
            a[i] = k == 0 ? c[i].x_mm : k == 1 ? c[i].y_mm : k == 2 ? c[i].score : c[i].amplitude;
        v = read_ds(f, cols[k], &nf);
        same(cols[k], v, nf, a, n);
        free(v);
    }
    H5Fclose(f);
    free(mx);
    free(ex);
    free(c);
    free(a);
    free(b);
}

static void check(int32_t mode, int threads, int max_block, unsigned seed)
{
    char in[128], out[128];
    km_test_path(in, sizeof in, dir, "s.h5");
    km_test_path(out, sizeof out, dir, "r.h5");
    km_synth_params sp;
    km_synth_params_default(&sp);
    km_synth_preset(&sp, KM_SYNTH_MODERATE);
    sp.mode = mode;
    sp.duration_s = 12;
    sp.seed = 5;
    cr_assert_eq(km_synth_write(ctx, &sp, KM_FORMAT_SESSION, in, 1), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    km_process_params p;
    km_process_params_default(&p);
    cr_assert_eq(km_process(ctx, in, out, &p, NULL), KM_OK, "%s", km_ctx_last_error(ctx));
    session s;
    load(in, &s);
    p.n_threads = threads;
    km_engine *e = run_engine(&s, &p, seed, max_block);
    km_session_info info;
    km_engine_info(e, &info);
    cr_assert_eq(info.n_frames, s.n, "every frame pushed was processed");
    compare(e, out);
    km_engine_free(e);
    unload(&s);
}

Test(engine, roller_random_blocks_match_process)
{
    check(KM_MODE_ROLLER, 1, 300, 1);
}

Test(engine, mat_small_random_blocks_match_process)
{
    check(KM_MODE_MAT, 1, 7, 2);
}

Test(engine, roller_two_threads_random_blocks_match_process)
{
    check(KM_MODE_ROLLER, 2, 40, 3);
}

/* A moderate synthetic roller session of `seconds`, written and read back. */
static void roller_session(session *s, double seconds)
{
    char in[128];
    km_test_path(in, sizeof in, dir, "s.h5");
    km_synth_params sp;
    km_synth_params_default(&sp);
    km_synth_preset(&sp, KM_SYNTH_MODERATE);
    sp.mode = KM_MODE_ROLLER;
    sp.duration_s = seconds;
    cr_assert_eq(km_synth_write(ctx, &sp, KM_FORMAT_SESSION, in, 1), KM_OK);
    load(in, s);
}

Test(engine, snapshot_before_the_end_and_push_after_finish)
{
    session s;
    roller_session(&s, 6);
    km_engine *e;
    cr_assert_eq(km_engine_create(ctx, &s.info, s.mask, NULL, &e), KM_OK);
    size_t rc = (size_t)s.info.rows * (size_t)s.info.cols;
    km_engine_map m0, m1;
    cr_assert_eq(km_engine_push(ctx, e, s.frames, s.times, s.n / 2), KM_OK);
    cr_assert_eq(km_engine_bodymap(ctx, e, &m0, NULL, NULL, NULL, NULL, 0), KM_OK);
    cr_assert_gt(m0.ny, 0, "half a roller session has touched the body");
    float one;
    cr_assert_eq(km_engine_bodymap(ctx, e, &m0, &one, NULL, NULL, NULL, 1), KM_ERR_CAPACITY);
    cr_assert_eq(km_engine_push(ctx, e, s.frames + (size_t)(s.n / 2) * rc, NULL, s.n - s.n / 2),
                 KM_OK);
    cr_assert_eq(km_engine_finish(ctx, e), KM_OK);
    cr_assert_eq(km_engine_bodymap(ctx, e, &m1, NULL, NULL, NULL, NULL, 0), KM_OK);
    cr_assert_geq(m1.ny, m0.ny, "the map grows as the roller travels");
    cr_assert_eq(km_engine_push(ctx, e, s.frames, s.times, 1), KM_ERR_INVALID);
    cr_assert_eq(km_engine_finish(ctx, e), KM_OK, "finishing twice is harmless");
    km_engine_free(e);
    km_engine_free(NULL);
    unload(&s);
}

/* A push that fails part-way (a time that is not finite, after some of
   the push was taken) leaves the engine refusing every later call with
   that first failure; bad arguments are refused without harm. */
Test(engine, a_failed_push_is_final)
{
    session s;
    roller_session(&s, 2);
    km_engine *e;
    cr_assert_eq(km_engine_create(ctx, &s.info, s.mask, NULL, &e), KM_OK);
    cr_assert_eq(km_engine_push(ctx, e, s.frames, s.times, -1), KM_ERR_INVALID);
    cr_assert_eq(km_engine_push(ctx, e, s.frames, s.times, 10), KM_OK,
                 "bad arguments leave the engine usable: %s", km_ctx_last_error(ctx));
    size_t rc = (size_t)s.info.rows * (size_t)s.info.cols;
    s.times[15] = NAN;
    cr_assert_eq(km_engine_push(ctx, e, s.frames + 10 * rc, s.times + 10, 10), KM_ERR_INVALID);
    cr_assert(strstr(km_ctx_last_error(ctx), "time nan") != NULL, "%s", km_ctx_last_error(ctx));
    s.times[15] = s.times[14] + 0.01;
    cr_assert_eq(km_engine_push(ctx, e, s.frames + 20 * rc, s.times + 20, 10), KM_ERR_INVALID);
    cr_assert(strstr(km_ctx_last_error(ctx), "an earlier call failed") != NULL &&
                  strstr(km_ctx_last_error(ctx), "time nan") != NULL,
              "%s", km_ctx_last_error(ctx));
    cr_assert_eq(km_engine_finish(ctx, e), KM_ERR_INVALID);
    km_engine_map m;
    cr_assert_eq(km_engine_bodymap(ctx, e, &m, NULL, NULL, NULL, NULL, 0), KM_ERR_INVALID);
    size_t n = 7;
    cr_assert_eq(km_engine_candidates(ctx, e, NULL, 0, &n), KM_ERR_INVALID);
    cr_assert_eq(n, 0);
    km_engine_free(e);
    unload(&s);
}
