/* km_process end to end on a synthetic session with known knots: the
 * summary's candidates, tracks and body map. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "knotmap.h"
#include "test_util.h"

static km_ctx *ctx;
static char dir[64];

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    km_test_make_dir(dir, sizeof dir, "km-process-");
}

static void teardown(void)
{
    (void)km_test_remove_dir(dir);
    km_ctx_free(ctx);
}

TestSuite(process, .init = setup, .fini = teardown);

static void check_session(int32_t mode)
{
    char in[128], out[128];
    km_test_path(in, sizeof in, dir, "s.h5");
    km_test_path(out, sizeof out, dir, "r.h5");
    km_synth_params sp;
    km_synth_params_default(&sp);
    km_synth_preset(&sp, KM_SYNTH_EASY);
    sp.mode = mode;
    sp.duration_s = 15;
    sp.n_knots = 4;
    sp.seed = 7;
    cr_assert_eq(km_synth_write(ctx, &sp, KM_FORMAT_SESSION, in, 1), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    km_synth *s = NULL;
    km_synth_truth truth;
    cr_assert_eq(km_synth_create(ctx, &sp, &s), KM_OK);
    km_synth_truth_get(s, &truth);
    cr_assert_eq(truth.n_knots, 4);

    km_process_summary sum;
    cr_assert_eq(km_process(ctx, in, out, NULL, &sum), KM_OK, "%s", km_ctx_last_error(ctx));
    cr_assert_eq(sum.n_frames, 1500);
    cr_assert_gt(sum.n_tracks, 0);
    cr_assert_leq(sum.n_tracks, sum.n_peaks);
    cr_assert_eq(sum.bodymap_nx, 32);
    if (mode == KM_MODE_MAT)
        cr_assert_eq(sum.bodymap_ny, 32);
    else /* a 200 mm stroke on 9.8 mm rows, plus the contact window */
        cr_assert(sum.bodymap_ny >= 20 && sum.bodymap_ny <= 26, "ny %d", sum.bodymap_ny);
    /* Easy preset: exactly the four knots, each within 5 mm. */
    cr_assert_eq(sum.n_candidates, 4);
    cr_assert_eq(sum.n_cand, 4);
    for (size_t k = 0; k < truth.n_knots; k++) {
        double best = INFINITY;
        for (int i = 0; i < sum.n_cand; i++)
            best = fmin(best, hypot(sum.cand[i].x_mm - truth.knots[k].x_mm,
                                    sum.cand[i].y_mm - truth.knots[k].y_mm));
        cr_assert_lt(best, 5.0, "knot %zu at (%.1f, %.1f): nearest candidate %.1f mm", k,
                     truth.knots[k].x_mm, truth.knots[k].y_mm, best);
    }
    for (int i = 1; i < sum.n_cand; i++)
        cr_assert_geq(sum.cand[i - 1].score, sum.cand[i].score);
    for (int i = 0; i < sum.n_cand; i++) {
        cr_assert_eq(sum.cand[i].n_passes, sum.cand[i].n_covering);
        cr_assert_geq(sum.cand[i].n_covering, 10); /* 15 s at 25 cycles/min: ~12 passes */
    }
    km_synth_free(s);
}

Test(process, roller_candidates_match_truth)
{
    check_session(KM_MODE_ROLLER);
}

Test(process, mat_candidates_match_truth)
{
    check_session(KM_MODE_MAT);
}
