/* The body grid (docs/ALGORITHMS.md 7.2, 10 steps 1-3): one grid with both
 * layers gives exactly the body map and the candidate maps of the
 * one-layer grids (km_bodymap_*, km_candidates_*) fed the same frames. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "knotmap.h"

static km_ctx *ctx;

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
}

static void teardown(void)
{
    km_ctx_free(ctx);
}

TestSuite(bodygrid, .init = setup, .fini = teardown);

typedef struct three {
    km_bodygrid *g;
    km_bodymap *b;
    km_candidates *c;
} three;

/* A synthetic hard session (stuck and dead taxels, lifts, gain errors;
 * seed 5, 8 s) frame by frame with a roller's odometry: start(arg, info)
 * first, then add(arg, frame, sample, time) for every frame. */
static void each_hard_frame(int32_t mode, void (*start)(void *, const km_session_info *),
                            void (*add)(void *, const km_frame *, const km_odometry_sample *,
                                        double),
                            void *arg)
{
    km_synth_params p;
    km_synth_params_default(&p);
    km_synth_preset(&p, KM_SYNTH_HARD);
    p.mode = mode;
    p.duration_s = 8.0;
    p.seed = 5;
    km_synth *s = NULL;
    cr_assert_eq(km_synth_create(ctx, &p, &s), KM_OK);
    km_session_info info;
    km_synth_info(s, &info);
    km_odometry *o = NULL;
    if (mode == KM_MODE_ROLLER)
        cr_assert_eq(km_odometry_create(ctx, info.rows, info.cols, info.roller_radius_mm, NULL, &o),
                     KM_OK);
    start(arg, &info);
    size_t per = (size_t)info.rows * (size_t)info.cols;
    float *frames = malloc(64 * per * sizeof(float));
    double *times = malloc(64 * sizeof(double));
    cr_assert(frames != NULL && times != NULL);
    for (;;) {
        int64_t got = 0;
        cr_assert_eq(km_synth_frames(ctx, s, frames, times, 64, &got), KM_OK);
        if (got == 0)
            break;
        for (int64_t k = 0; k < got; k++) {
            km_frame f = {frames + (size_t)k * per, info.rows, info.cols, info.cols};
            km_odometry_sample smp;
            memset(&smp, 0, sizeof smp);
            if (o != NULL)
                cr_assert_eq(km_odometry_update(ctx, o, &f, NULL, &smp), KM_OK);
            add(arg, &f, &smp, times[k]);
        }
    }
    free(frames);
    free(times);
    km_odometry_free(o);
    km_synth_free(s);
}

/* The three accumulators, made for the session and fed each frame. */
static void three_start(void *arg, const km_session_info *in)
{
    three *t = arg;
    km_candidate_params cp;
    km_candidate_params_default(&cp);
    km_bodymap_params bp;
    km_bodymap_params_default(&bp);
    cr_assert_eq(km_bodygrid_create(ctx, in->mode, in->rows, in->cols, in->row_pitch_mm,
                                    in->col_pitch_mm, &bp, &cp,
                                    KM_GRID_BODYMAP | KM_GRID_CANDIDATES, &t->g),
                 KM_OK);
    cr_assert_eq(km_bodymap_create(ctx, in->mode, in->rows, in->cols, in->row_pitch_mm,
                                   in->col_pitch_mm, &bp, &t->b),
                 KM_OK);
    cr_assert_eq(km_candidates_create(ctx, in->mode, in->rows, in->cols, in->row_pitch_mm,
                                      in->col_pitch_mm, &cp, &t->c),
                 KM_OK);
}

static void three_add(void *arg, const km_frame *f, const km_odometry_sample *smp, double t)
{
    three *th = arg;
    cr_assert_eq(km_bodygrid_add(ctx, th->g, f, NULL, smp, t), KM_OK);
    cr_assert_eq(km_bodymap_add(ctx, th->b, f, NULL, smp), KM_OK);
    cr_assert_eq(km_candidates_add(ctx, th->c, f, NULL, smp, t), KM_OK);
}

static void feed(int32_t mode, three *t)
{
    each_hard_frame(mode, three_start, three_add, t);
}

static void same_maps(int32_t mode)
{
    three t = {0};
    feed(mode, &t);
    int32_t ny, nx, bny, bnx, cny, cnx;
    double y0, by0, cy0, yp, xp;
    km_bodygrid_shape(t.g, &ny, &nx, &y0, &yp, &xp);
    km_bodymap_shape(t.b, &bny, &bnx, &by0, NULL, NULL);
    km_candidates_shape(t.c, &cny, &cnx, &cy0);
    cr_assert(ny > 4 && nx > 4);
    cr_assert(ny == bny && nx == bnx && ny == cny && nx == cnx && y0 == by0 && y0 == cy0);
    size_t cells = (size_t)ny * (size_t)nx, n1 = 0, n2 = 0;
    float *f = malloc(6 * cells * sizeof(float));
    int32_t *cov = malloc(2 * cells * sizeof(int32_t));
    km_candidate *c1 = malloc(2 * cells * sizeof(km_candidate)), *c2 = c1 + cells;
    cr_assert(f != NULL && cov != NULL && c1 != NULL);
    cr_assert_eq(km_bodygrid_bodymap(ctx, t.g, f, f + cells, cov, cells, NULL), KM_OK);
    cr_assert_eq(km_bodymap_get(ctx, t.b, f + 2 * cells, f + 3 * cells, cov + cells, cells, NULL),
                 KM_OK);
    km_candidate_maps m = {0};
    m.excess = f + 4 * cells;
    cr_assert_eq(km_bodygrid_candidate_maps(ctx, t.g, &m, cells, NULL), KM_OK);
    cr_assert_eq(km_candidates_map(ctx, t.c, f + 5 * cells, cells, NULL), KM_OK);
    cr_assert_eq(memcmp(f, f + 2 * cells, 2 * cells * sizeof(float)), 0);
    cr_assert_eq(memcmp(cov, cov + cells, cells * sizeof(int32_t)), 0);
    cr_assert_eq(memcmp(f + 4 * cells, f + 5 * cells, cells * sizeof(float)), 0);
    size_t finite = 0;
    for (size_t i = 0; i < cells; i++)
        finite += isfinite(f[4 * cells + i]) && cov[i] > 0;
    cr_assert_gt(finite, cells / 4, "the candidate map is mostly empty: %zu of %zu", finite, cells);
    cr_assert_eq(km_bodygrid_candidates(ctx, t.g, c1, cells, &n1), KM_OK);
    cr_assert_eq(km_candidates_get(ctx, t.c, c2, cells, &n2), KM_OK);
    /* The body map layer only discounts (ALGORITHMS 10.4 Peaks: under a share of the
       contact pressure, above the surround): a candidate of the combined grid is one
       of the candidate-only grid's, in the same order, the same but for a significance
       and score no higher (here the mat's broad peak at (42.3, 150.5) mm, z 4.5 on
       the candidate-only grid, is dropped by the surround's discount). */
    cr_assert_leq(n1, n2);
    cr_assert_geq(n1, n2 - 1);
    for (size_t i = 0, j = 0; i < n1; i++, j++) {
        while (j < n2 && (c2[j].x_mm != c1[i].x_mm || c2[j].y_mm != c1[i].y_mm))
            j++;
        cr_assert_lt(j, n2, "candidate %zu of the combined grid not in the other", i);
        cr_assert_leq(c1[i].significance, c2[j].significance);
        km_candidate a, b;
        memcpy(&a, &c1[i], sizeof a);
        memcpy(&b, &c2[j], sizeof b);
        a.significance = b.significance = a.score = b.score = 0.0;
        cr_assert_eq(memcmp(&a, &b, sizeof a), 0);
    }
    free(f);
    free(cov);
    free(c1);
    km_bodygrid_free(t.g);
    km_bodymap_free(t.b);
    km_candidates_free(t.c);
}

Test(bodygrid, one_grid_gives_both_maps_roller)
{
    same_maps(KM_MODE_ROLLER);
}

Test(bodygrid, one_grid_gives_both_maps_mat)
{
    same_maps(KM_MODE_MAT);
}

Test(bodygrid, a_layer_is_asked_for)
{
    km_bodygrid *g = NULL;
    cr_assert_eq(km_bodygrid_create(ctx, KM_MODE_MAT, 4, 4, 5.0, 5.0, NULL, NULL, 0, &g),
                 KM_ERR_INVALID);
    cr_assert_eq(km_bodygrid_create(ctx, KM_MODE_MAT, 4, 4, 5.0, 5.0, NULL, NULL, 4, &g),
                 KM_ERR_INVALID);
    cr_assert_eq(km_bodygrid_create(ctx, KM_MODE_MAT, 4, 4, 5.0, 5.0, NULL, NULL,
                                    KM_GRID_CANDIDATES, &g),
                 KM_OK);
    float v[16];
    int32_t cov[16];
    size_t n = 0;
    cr_assert_eq(km_bodygrid_bodymap(ctx, g, v, NULL, cov, 16, NULL), KM_ERR_INVALID);
    cr_assert_not_null(km_bodygrid_candidate_params(g));
    cr_assert_eq(km_bodygrid_candidates(ctx, g, NULL, 0, &n), KM_OK);
    cr_assert_eq(n, 0);
    km_bodygrid_free(g);
    cr_assert_eq(km_bodygrid_create(ctx, KM_MODE_MAT, 4, 4, 5.0, 5.0, NULL, NULL,
                                    KM_GRID_BODYMAP, &g),
                 KM_OK);
    km_candidate_maps m = {0};
    m.excess = v;
    cr_assert_eq(km_bodygrid_candidate_maps(ctx, g, &m, 16, NULL), KM_ERR_INVALID);
    cr_assert_null(km_bodygrid_candidate_params(g));
    cr_assert_eq(km_bodygrid_candidates(ctx, g, NULL, 0, &n), KM_ERR_INVALID);
    km_bodygrid_free(g);
    km_bodygrid_free(NULL);
}

/* The pass-to-pass spread (docs/ALGORITHMS.md 10 step 3) on a mat: five
 * passes of 10 contact frames at 40 kPa (+0.01 kPa steps so that no taxel
 * repeats a value), 10 empty frames apart; the taxel (3, 8) carries an
 * extra a_p kPa in pass p, so its pass maxima of the local excess are a_p
 * (its row's median ignores it); row 7 is loaded in the first pass only. */
Test(bodygrid, spread_is_the_sd_of_the_pass_maxima)
{
    enum { R = 8, C = 16, PASSES = 5 };
    static const float a[PASSES] = {10.0f, 14.0f, 7.0f, 21.0f, 3.0f};
    km_bodygrid *g = NULL;
    cr_assert_eq(km_bodygrid_create(ctx, KM_MODE_MAT, R, C, 10.0, 5.0, NULL, NULL,
                                    KM_GRID_CANDIDATES, &g),
                 KM_OK);
    float f[R * C];
    km_frame fr = {f, R, C, C};
    int64_t frame = 0;
    for (int p = 0; p < PASSES; p++)
        for (int k = 0; k < 20; k++, frame++) {
            float base = 40.0f + 0.01f * (float)(frame % 3);
            for (int i = 0; i < R * C; i++)
                f[i] = k < 10 && (p == 0 || i < 7 * C) ? base : 0.0f;
            if (k < 10)
                f[3 * C + 8] += a[p];
            cr_assert_eq(km_bodygrid_add(ctx, g, &fr, NULL, NULL, 0.1 * (double)frame), KM_OK);
        }
    float spread[R * C], excess[R * C];
    int32_t cov[R * C];
    km_candidate_maps m = {.excess = excess, .spread = spread, .n_covering = cov};
    cr_assert_eq(km_bodygrid_candidate_maps(ctx, g, &m, R * C, NULL), KM_OK);
    /* numpy: np.std([10, 14, 7, 21, 3], ddof=1) = sqrt(190 / 4) = 6.8920243 */
    cr_assert_eq(cov[3 * C + 8], PASSES);
    cr_assert_float_eq(spread[3 * C + 8], 6.8920243f, 1e-3f, "spread %g", spread[3 * C + 8]);
    cr_assert_float_eq(excess[3 * C + 8], 11.0f, 1e-3f, "A %g", excess[3 * C + 8]);
    /* beside it the excess is 0 in every pass: no spread */
    cr_assert_eq(cov[3 * C + 7], PASSES);
    cr_assert_float_eq(spread[3 * C + 7], 0.0f, 1e-6f);
    /* one pass: no spread */
    cr_assert_eq(cov[7 * C + 3], 1);
    cr_assert(isnan(spread[7 * C + 3]));
    km_bodygrid_free(g);
}

/* The stuck rule (docs/ALGORITHMS.md 10 step 1) on a quantised mat whose
 * noise is under one count: six passes of 10 contact frames at 40 kPa
 * stepping by one count (0.5 kPa) every frame, 10 empty frames apart; in
 * pass 2 the load holds still for 60 frames (a user pressing on a tender
 * spot), every taxel repeating its value.  A knot adds 20 kPa at (3, 8) in
 * every contact frame; taxel (5, 3) is stuck at 100 kPa in every frame.
 * The pause must not make the loaded taxels stuck (before: every loaded
 * cell NaN for the session), the stuck taxel must stay out. */
Test(bodygrid, a_quantised_pause_is_not_stuck)
{
    enum { R = 8, C = 16, PASSES = 6 };
    km_bodygrid *g = NULL;
    cr_assert_eq(km_bodygrid_create(ctx, KM_MODE_MAT, R, C, 10.0, 5.0, NULL, NULL,
                                    KM_GRID_CANDIDATES, &g),
                 KM_OK);
    float f[R * C];
    km_frame fr = {f, R, C, C};
    int64_t frame = 0;
    for (int p = 0; p < PASSES; p++) {
        int contact = p == 2 ? 60 : 10;
        for (int k = 0; k < contact + 10; k++, frame++) {
            /* quantised: whole counts of 0.5 kPa; still during the pause */
            float base = 40.0f + 0.5f * (float)((p == 2 ? 0 : frame) % 3);
            for (int i = 0; i < R * C; i++)
                f[i] = k < contact ? base : 0.0f;
            if (k < contact)
                f[3 * C + 8] += 20.0f;
            f[5 * C + 3] = 100.0f;
            cr_assert_eq(km_bodygrid_add(ctx, g, &fr, NULL, NULL, 0.01 * (double)frame), KM_OK);
        }
    }
    float excess[R * C];
    int32_t cov[R * C];
    km_candidate_maps m = {.excess = excess, .n_covering = cov};
    cr_assert_eq(km_bodygrid_candidate_maps(ctx, g, &m, R * C, NULL), KM_OK);
    /* the knot: the row's median is the base, so its excess is 20 in
       every frame of every pass */
    cr_assert_eq(cov[3 * C + 8], PASSES);
    cr_assert_float_eq(excess[3 * C + 8], 20.0f, 1e-4f, "knot cell %g", excess[3 * C + 8]);
    for (int i = 0; i < R * C; i++) {
        if (i == 5 * C + 3) /* stuck while its neighbours changed: out */
            cr_assert(isnan(excess[i]), "stuck taxel's cell %g", excess[i]);
        else if (i != 3 * C + 8)
            cr_assert_float_eq(excess[i], 0.0f, 1e-4f, "cell %d: %g", i, excess[i]);
    }
    km_bodygrid_free(g);
}

/* A knot pressed into the sensor's saturation on a mat (docs/ALGORITHMS.md
 * 10 step 1; model 2 mats, hard, saturate at 100-200 kPa): six passes of
 * 40 contact frames at 60 kPa stepping by one count (0.5 kPa) every frame,
 * 10 empty frames apart; a knot at (3, 8) would read 110 kPa and is clipped
 * to the full scale of 100 kPa, so it repeats 100 in every contact frame
 * while its neighbours change; taxel (5, 3) is stuck at 70 kPa.  Without a
 * saturation the knot's taxel is taken for stuck after 25 frames and its
 * cell is NaN for the session (the knot is lost); with the session's
 * saturation its cell reads the clipped excess, 100 less the row's
 * median, and the stuck taxel stays out.  Rollers are left as they were. */
static void saturated_mat(double saturation, float *excess)
{
    enum { R = 8, C = 16, PASSES = 6 };
    km_bodygrid *g = NULL;
    cr_assert_eq(km_bodygrid_create(ctx, KM_MODE_MAT, R, C, 10.0, 5.0, NULL, NULL,
                                    KM_GRID_CANDIDATES, &g),
                 KM_OK);
    if (isfinite(saturation))
        cr_assert_eq(km_bodygrid_set_saturation(g, saturation), KM_OK);
    float f[R * C];
    km_frame fr = {f, R, C, C};
    int64_t frame = 0;
    for (int p = 0; p < PASSES; p++)
        for (int k = 0; k < 50; k++, frame++) {
            float base = 60.0f + 0.5f * (float)(frame % 3);
            for (int i = 0; i < R * C; i++)
                f[i] = k < 40 ? base : 0.0f;
            if (k < 40)
                f[3 * C + 8] = 100.0f;
            f[5 * C + 3] = 70.0f;
            cr_assert_eq(km_bodygrid_add(ctx, g, &fr, NULL, NULL, 0.01 * (double)frame), KM_OK);
        }
    km_candidate_maps m = {.excess = excess};
    cr_assert_eq(km_bodygrid_candidate_maps(ctx, g, &m, R * C, NULL), KM_OK);
    km_bodygrid_free(g);
}

Test(bodygrid, a_knot_at_saturation_is_not_stuck)
{
    enum { C = 16 };
    float with[8 * C], without[8 * C];
    saturated_mat(100.0, with);
    saturated_mat(INFINITY, without);
    /* the pass maximum of 100 - (60 .. 61) */
    cr_assert(with[3 * C + 8] >= 39.0f && with[3 * C + 8] <= 40.0f, "knot cell %g",
              with[3 * C + 8]);
    cr_assert(isnan(without[3 * C + 8]), "knot cell without saturation %g", without[3 * C + 8]);
    cr_assert(isnan(with[5 * C + 3]) && isnan(without[5 * C + 3]), "stuck taxel %g / %g",
              with[5 * C + 3], without[5 * C + 3]);
    /* the argument's checks; a roller grid takes it and keeps every repeat */
    km_bodygrid *g = NULL;
    cr_assert_eq(km_bodygrid_set_saturation(NULL, 100.0), KM_ERR_INVALID);
    cr_assert_eq(km_bodygrid_create(ctx, KM_MODE_ROLLER, 8, C, 10.0, 5.0, NULL, NULL,
                                    KM_GRID_CANDIDATES, &g),
                 KM_OK);
    cr_assert_eq(km_bodygrid_set_saturation(g, 0.0), KM_ERR_INVALID);
    cr_assert_eq(km_bodygrid_set_saturation(g, 100.0), KM_OK);
    cr_assert_eq(km_bodygrid_set_saturation(g, INFINITY), KM_OK);
    km_bodygrid_free(g);
    cr_assert_eq(km_bodygrid_create(ctx, KM_MODE_MAT, 8, C, 10.0, 5.0, NULL, NULL,
                                    KM_GRID_BODYMAP, &g),
                 KM_OK);
    cr_assert_eq(km_bodygrid_set_saturation(g, 100.0), KM_ERR_INVALID);
    km_bodygrid_free(g);
}

/* Which sensor row pressed a roller cell (docs/ALGORITHMS.md 10 steps 3-4):
 * a 24-row roller (10 mm rows, 5 mm columns) rolls 0 -> 200 -> 0 mm at
 * 2 mm per frame, is lifted for 20 frames while it turns by one row, and
 * rolls 0 -> 200 -> 0 again.  The contact band (3 rows) presses 40 kPa with
 * a fixed pattern of +-1 kPa per taxel.  A knot one column wide adds 30 kPa
 * at body (40, 100) mm under whichever taxel presses it (sensor row 10,
 * then 11); a hot taxel, sensor (15, 4), adds 30 kPa wherever it presses
 * (body y 150, then 140).  The knot recurs under two sensor rows, the hot
 * taxel's excess follows the taxel: the knot is a candidate, the taxel
 * is not (before: both removed as one-column spikes). */
static void roll_band(km_bodygrid *g, float *f, int32_t rows, int32_t cols, double shift,
                      int64_t *frame)
{
    for (int leg = 0; leg < 2; leg++)
        for (int k = 0; k <= 100; k++, ++*frame) {
            double y = 2.0 * (leg == 0 ? k : 100 - k), c = y / 10.0 + shift;
            int32_t rc = (int32_t)floor(c + 0.5);
            for (int32_t r = 0; r < rows; r++)
                for (int32_t x = 0; x < cols; x++) {
                    int32_t d = ((r - rc) % rows + rows + rows / 2) % rows - rows / 2;
                    float v = 0.0f;
                    if (d >= -1 && d <= 1) {
                        double body_y = y + ((double)r - c) * 10.0;
                        v = 40.0f + 0.2f * (float)((r * 7 + x * 13) % 11 - 5) +
                            0.01f * (float)(*frame % 3);
                        if (x == 8 && fabs(body_y - 100.0) < 3.0)
                            v += 30.0f;
                        if (r == 15 && x == 4)
                            v += 30.0f;
                    }
                    f[r * cols + x] = v;
                }
            km_odometry_sample o = {c, 0.0, y, 40.0, 0u};
            cr_assert_eq(km_bodygrid_add(ctx, g, &(km_frame){f, rows, cols, cols}, NULL, &o,
                                         0.01 * (double)*frame),
                         KM_OK);
        }
}

Test(bodygrid, a_knot_recurs_under_two_sensor_rows)
{
    enum { R = 24, C = 16 };
    km_bodygrid *g = NULL;
    cr_assert_eq(km_bodygrid_create(ctx, KM_MODE_ROLLER, R, C, 10.0, 5.0, NULL, NULL,
                                    KM_GRID_CANDIDATES, &g),
                 KM_OK);
    float f[R * C];
    int64_t frame = 0;
    roll_band(g, f, R, C, 0.0, &frame);
    for (int k = 0; k < 20; k++, frame++) { /* lifted, turning by one row */
        memset(f, 0, sizeof f);
        km_odometry_sample o = {0.05 * k, 0.0, 0.0, 0.0, KM_ODO_LIFTED};
        cr_assert_eq(km_bodygrid_add(ctx, g, &(km_frame){f, R, C, C}, NULL, &o, 0.01 * (double)frame),
                     KM_OK);
    }
    roll_band(g, f, R, C, 1.0, &frame);
    int32_t ny, nx;
    double y0;
    km_bodygrid_shape(g, &ny, &nx, &y0, NULL, NULL);
    cr_assert_eq(nx, C);
    cr_assert(ny > 16 && ny <= 24, "rows %d", ny);
    cr_assert_float_eq(y0, -10.0, 1e-9);
    float two[24 * C], excess[24 * C];
    km_candidate_maps m = {.excess = excess, .excess_two_rows = two};
    cr_assert_eq(km_bodygrid_candidate_maps(ctx, g, &m, 24 * C, NULL), KM_OK);
    size_t knot = (size_t)(11 * C + 8), hot_a = (size_t)(16 * C + 4), hot_b = (size_t)(15 * C + 4);
    /* the knot: 30 over the row median under both rows */
    cr_assert(excess[knot] > 28.0f && two[knot] > 28.0f, "knot A %g two %g", excess[knot],
              two[knot]);
    /* the hot taxel: 30 under its own row, about 0 under the other */
    cr_assert(excess[hot_a] > 13.0f && fabsf(two[hot_a]) < 2.0f, "hot A %g two %g",
              excess[hot_a], two[hot_a]);
    cr_assert(excess[hot_b] > 13.0f && fabsf(two[hot_b]) < 2.0f, "hot A %g two %g",
              excess[hot_b], two[hot_b]);
    km_candidate cand[64];
    size_t n = 0;
    cr_assert_eq(km_bodygrid_candidates(ctx, g, cand, 64, &n), KM_OK);
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        double dk = hypot(cand[i].x_mm - 40.0, cand[i].y_mm - 100.0);
        double dh = hypot(cand[i].x_mm - 20.0, cand[i].y_mm - 145.0);
        found += dk < 5.0;
        cr_assert(dh > 10.0, "hot taxel at (%g, %g) is a candidate", cand[i].x_mm,
                  cand[i].y_mm);
    }
    cr_assert_eq(found, 1, "knot not found (%zu candidates)", n);
    km_bodygrid_free(g);
}

/* km_bodygrid_set_bodymap_mask (docs/ALGORITHMS.md 3.7): the body map layer
 * leaves the taxels out (on a mat exactly as a body map fed frames with them
 * masked; a roller's contact rule sees the whole row, so there only their
 * own samples go); the candidate layer, the candidates and the contact
 * pressure they weigh a peak against do not see the mask.  A hard synthetic
 * session (stuck taxels, lifts); every 7th taxel left out. */
typedef struct masked {
    km_bodygrid *g[2]; /* with the mask, without */
    km_bodymap *b;     /* fed the frames with the mask */
    uint8_t *keep;
    int32_t rows, cols;
} masked;

/* Two grids, one with the mask, and a body map fed the frames masked. */
static void masked_start(void *arg, const km_session_info *in)
{
    masked *t = arg;
    size_t per = (size_t)in->rows * (size_t)in->cols;
    cr_assert_not_null(t->keep = malloc(per));
    for (size_t k = 0; k < per; k++)
        t->keep[k] = k % 7 != 3;
    t->rows = in->rows;
    t->cols = in->cols;
    for (int k = 0; k < 2; k++)
        cr_assert_eq(km_bodygrid_create(ctx, in->mode, in->rows, in->cols, in->row_pitch_mm,
                                        in->col_pitch_mm, NULL, NULL,
                                        KM_GRID_BODYMAP | KM_GRID_CANDIDATES, &t->g[k]),
                     KM_OK);
    cr_assert_eq(km_bodygrid_set_bodymap_mask(ctx, t->g[0], t->keep), KM_OK);
    cr_assert_eq(km_bodymap_create(ctx, in->mode, in->rows, in->cols, in->row_pitch_mm,
                                   in->col_pitch_mm, NULL, &t->b),
                 KM_OK);
}

static void masked_add(void *arg, const km_frame *f, const km_odometry_sample *smp, double t)
{
    masked *m = arg;
    km_mask fm = {m->keep, m->rows, m->cols, m->cols};
    for (int j = 0; j < 2; j++)
        cr_assert_eq(km_bodygrid_add(ctx, m->g[j], f, NULL, smp, t), KM_OK);
    cr_assert_eq(km_bodymap_add(ctx, m->b, f, &fm, smp), KM_OK);
}

static void masked_grid(int32_t mode)
{
    masked t = {0};
    each_hard_frame(mode, masked_start, masked_add, &t);
    int32_t ny, nx;
    km_bodygrid_shape(t.g[0], &ny, &nx, NULL, NULL, NULL);
    size_t cells = (size_t)ny * (size_t)nx, nc[2];
    /* per grid: max, mean, excess, spread, pressure; then km_bodymap's max, mean */
    float *v = malloc(12 * cells * sizeof(float)), *m0 = v, *m1 = v + 5 * cells;
    int32_t *cov = malloc(5 * cells * sizeof(int32_t));
    km_candidate *c = malloc(2 * cells * sizeof(km_candidate));
    cr_assert(v != NULL && cov != NULL && c != NULL && cells > 16);
    for (int j = 0; j < 2; j++) {
        float *w = v + (size_t)j * 5 * cells;
        int32_t *cv = cov + (size_t)j * 2 * cells;
        km_candidate_maps m = {.excess = w + 2 * cells, .spread = w + 3 * cells,
                               .n_covering = cv, .pressure = w + 4 * cells};
        cr_assert_eq(km_bodygrid_bodymap(ctx, t.g[j], w, w + cells, cv + cells, cells, NULL), KM_OK);
        cr_assert_eq(km_bodygrid_candidate_maps(ctx, t.g[j], &m, cells, NULL), KM_OK);
        cr_assert_eq(km_bodygrid_candidates(ctx, t.g[j], c + (size_t)j * cells, cells, &nc[j]),
                     KM_OK);
    }
    /* The candidates' maps, their pressure and the candidates: the same bits. */
    cr_assert_eq(memcmp(m0 + 2 * cells, m1 + 2 * cells, 3 * cells * sizeof(float)), 0);
    cr_assert_eq(memcmp(m0 + 4 * cells, m1, cells * sizeof(float)), 0, "pressure = unmasked max");
    cr_assert_eq(memcmp(cov, cov + 2 * cells, cells * sizeof(int32_t)), 0);
    cr_assert(nc[0] == nc[1] && nc[0] > 0);
    cr_assert_eq(memcmp(c, c + cells, nc[0] * sizeof(km_candidate)), 0);
    /* The body map: lower where the mask bites, never higher. */
    size_t lower = 0;
    for (size_t i = 0; i < cells; i++) {
        cr_assert(!(m0[i] > m1[i]), "cell %zu: %g over %g", i, m0[i], m1[i]);
        lower += m0[i] < m1[i] || (isnan(m0[i]) && !isnan(m1[i]));
    }
    cr_assert_gt(lower, cells / 20);
    if (mode == KM_MODE_MAT) {
        float *bm = v + 10 * cells;
        cr_assert_eq(km_bodymap_get(ctx, t.b, bm, bm + cells, cov + 4 * cells, cells, NULL), KM_OK);
        cr_assert_eq(memcmp(bm, m0, 2 * cells * sizeof(float)), 0);
        cr_assert_eq(memcmp(cov + 4 * cells, cov + cells, cells * sizeof(int32_t)), 0);
    }
    free(v);
    free(cov);
    free(c);
    free(t.keep);
    for (int j = 0; j < 2; j++)
        km_bodygrid_free(t.g[j]);
    km_bodymap_free(t.b);
}

Test(bodygrid, a_bodymap_mask_leaves_the_candidates_alone_roller)
{
    masked_grid(KM_MODE_ROLLER);
}

Test(bodygrid, a_bodymap_mask_leaves_the_candidates_alone_mat)
{
    masked_grid(KM_MODE_MAT);
}

Test(bodygrid, a_bodymap_mask_needs_the_layer)
{
    km_bodygrid *g = NULL;
    uint8_t keep[16] = {1};
    float v[16];
    cr_assert_eq(km_bodygrid_create(ctx, KM_MODE_MAT, 4, 4, 5.0, 5.0, NULL, NULL,
                                    KM_GRID_CANDIDATES, &g),
                 KM_OK);
    cr_assert_eq(km_bodygrid_set_bodymap_mask(ctx, g, keep), KM_ERR_INVALID);
    km_candidate_maps pm = {.pressure = v};
    cr_assert_eq(km_bodygrid_candidate_maps(ctx, g, &pm, 16, NULL), KM_ERR_INVALID);
    km_bodygrid_free(g);
    cr_assert_eq(km_bodygrid_create(ctx, KM_MODE_MAT, 4, 4, 5.0, 5.0, NULL, NULL,
                                    KM_GRID_BODYMAP, &g),
                 KM_OK);
    cr_assert_eq(km_bodygrid_set_bodymap_mask(ctx, g, keep), KM_OK);
    cr_assert_eq(km_bodygrid_set_bodymap_mask(ctx, g, NULL), KM_OK);
    km_bodygrid_free(g);
}
