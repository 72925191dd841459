/* The seen threshold from the session's own noise (docs/ALGORITHMS.md 10
 * step 3, Seen; km_candidate_params.seen_noise, km_bodygrid_seen_at).  A
 * mat of 16 x 24 taxels (5 mm) is pressed in 10 passes of 10 frames at
 * 40 kPa, each taxel with a white noise uniform in +-0.5 kPa (a quiet
 * sensor: the map's noise is a few tenths of a kPa); a knot of 5 kPa
 * (Gaussian, sigma 5 mm) at taxel (8, 12) is pressed in every pass.  Its
 * pass maxima (about 5-5.5 kPa) never reach the fixed seen threshold of 8
 * kPa, so at the defaults it is never seen and no candidate; with
 * seen_noise 3 the threshold is 3 x the map's noise, under the ladder's
 * lowest rung (8 x 2/8 = 2 kPa), which every pass reaches: a candidate
 * seen in all 10 passes. */
#include <criterion/criterion.h>
#include <math.h>

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

TestSuite(cand_seen, .init = setup, .fini = teardown);

enum { R = 16, C = 24, PASSES = 10 };

static float noise(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / 16777216.0f - 0.5f;
}

static km_candidates *session(double seen_noise)
{
    km_candidate_params p;
    km_candidate_params_default(&p);
    p.seen_noise = seen_noise;
    km_candidates *c = NULL;
    cr_assert_eq(km_candidates_create(ctx, KM_MODE_MAT, R, C, 5.0, 5.0, &p, &c), KM_OK);
    float f[R * C];
    km_frame fr = {f, R, C, C};
    uint32_t s = 12345u;
    int64_t frame = 0;
    for (int pass = 0; pass < PASSES; pass++)
        for (int k = 0; k < 20; k++, frame++) {
            for (int y = 0; y < R; y++)
                for (int x = 0; x < C; x++) {
                    double d2 = (double)((y - 8) * (y - 8) + (x - 12) * (x - 12));
                    f[y * C + x] = k < 10 ? 40.0f + noise(&s) + (float)(5.0 * exp(-0.5 * d2))
                                          : 0.0f;
                }
            cr_assert_eq(km_candidates_add(ctx, c, &fr, NULL, NULL, 0.1 * (double)frame), KM_OK,
                         "%s", km_ctx_last_error(ctx));
        }
    return c;
}

/* The candidate at taxel (8, 12), or NULL. */
static const km_candidate *at_knot(const km_candidate *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fabs(out[i].y_mm - 40.0) <= 5.0 && fabs(out[i].x_mm - 60.0) <= 5.0)
            return &out[i];
    return NULL;
}

Test(cand_seen, a_quiet_sensor_sees_a_weak_knot_at_its_own_noise)
{
    km_candidate out[R * C];
    size_t n = 0;
    km_candidates *c = session(0.0);
    cr_assert_eq(km_candidates_get(ctx, c, out, R * C, &n), KM_OK);
    cr_assert_null(at_knot(out, n), "the fixed 8 kPa never sees a 5 kPa knot");
    km_candidates_free(c);
    c = session(3.0);
    cr_assert_eq(km_candidates_get(ctx, c, out, R * C, &n), KM_OK);
    const km_candidate *k = at_knot(out, n);
    cr_assert_not_null(k, "seen at 3 x the session's noise");
    cr_assert_eq(k->n_passes, PASSES);
    cr_assert_eq(k->n_covering, PASSES);
    cr_assert_float_eq(k->persistence, 1.0, 1e-12);
    cr_assert_eq(n, 1, "nothing else: %zu candidates", n);
    km_candidates_free(c);
}

/* The ladder's rungs, the open (last) pass included, and the maps' n_seen
   at seen_threshold itself. */
Test(cand_seen, the_ladder_counts_each_rung)
{
    km_candidates *c = session(0.0);
    const km_bodygrid *g = km_candidates_grid(c);
    int32_t seen[R * C], ref[R * C];
    size_t need = 0;
    double used = 0.0;
    km_candidate_maps m = {.n_seen = ref};
    cr_assert_eq(km_bodygrid_candidate_maps(ctx, g, &m, R * C, NULL), KM_OK);
    cr_assert_eq(km_bodygrid_seen_at(ctx, g, 100.0, seen, R * C, &need, &used), KM_OK);
    cr_assert_eq(need, (size_t)(R * C));
    cr_assert_float_eq(used, 8.0, 0.0);
    for (int i = 0; i < R * C; i++)
        cr_assert_eq(seen[i], ref[i], "cell %d", i);
    /* Rungs 2..7 kPa: the largest at or under the threshold, floored. */
    const double thr[] = {0.1, 2.0, 3.9, 5.5, 7.99};
    const double rung[] = {2.0, 2.0, 3.0, 5.0, 7.0};
    for (int t = 0; t < 5; t++) {
        cr_assert_eq(km_bodygrid_seen_at(ctx, g, thr[t], seen, R * C, NULL, &used), KM_OK);
        cr_assert_float_eq(used, rung[t], 0.0, "threshold %g", thr[t]);
        /* The knot's centre: its pass maxima 5-5.5 kPa (the most of 10
           frames' noise); a taxel away from it (noise alone) none. */
        int want = rung[t] <= 5.0 ? PASSES : 0;
        cr_assert_eq(seen[8 * C + 12], want, "rung %g: %d", rung[t], seen[8 * C + 12]);
        cr_assert_eq(seen[2 * C + 3], 0, "rung %g", rung[t]);
    }
    cr_assert_eq(km_bodygrid_seen_at(ctx, g, 5.5, seen, 10, &need, &used), KM_ERR_CAPACITY);
    cr_assert_eq(km_bodygrid_seen_at(ctx, NULL, 5.5, seen, R * C, NULL, &used), KM_ERR_INVALID);
    km_candidates_free(c);
}

Test(cand_seen, a_negative_or_nonfinite_factor_is_refused)
{
    km_candidate_params p;
    km_candidate_params_default(&p);
    km_candidates *c = NULL;
    p.seen_noise = -1.0;
    cr_assert_eq(km_candidates_create(ctx, KM_MODE_MAT, R, C, 5.0, 5.0, &p, &c), KM_ERR_INVALID);
    p.seen_noise = INFINITY;
    cr_assert_eq(km_candidates_create(ctx, KM_MODE_MAT, R, C, 5.0, 5.0, &p, &c), KM_ERR_INVALID);
    cr_assert_null(c);
}
