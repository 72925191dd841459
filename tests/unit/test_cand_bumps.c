/* The row background with the row's narrow bumps left out
 * (docs/ALGORITHMS.md 10 step 1, Bumps left out;
 * km_candidate_params.background_bumps): the weaker knot 33 mm along the
 * taxel row from a stronger one of test_cand_mask.c, and a body's broad
 * relief across the row, which the opening keeps and so stays in the
 * median, on the hand-built mat of mat_passes.h. */
#include <criterion/criterion.h>
#include <math.h>

#include "knotmap.h"
#include "mat_passes.h"

static km_ctx *ctx;

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
}

static void teardown(void)
{
    km_ctx_free(ctx);
}

TestSuite(cand_bumps, .init = setup, .fini = teardown);

enum { RR = 40, CC = 40 };
#define STRONG_A 35.0 /* kPa, sigma 10 mm at x = 87 mm */
#define WEAK_A 20.0   /* kPa, sigma 6 mm at x = 120 mm (column 24) */
#define KNOT_Y 100.0  /* both on row 20 */
#define DOME_A 12.0   /* kPa, the body's relief: sigma 45 mm across the row */

typedef struct scene {
    double strong, weak, dome;
    double edge_knot; /* kPa, sigma 10 mm at x = 125 mm on a body that ends
                         at x = 145 mm (the floor beyond), 0 = no edge */
} scene;

/* A fixed grain of +-1 kPa whose neighbours differ at random (mat_passes.h's
   own pattern steps by the same 0.2 kPa from one column to the next, so
   the differences' spread, the rule's noise, would be 0 there). */
static double grain(double x, double y)
{
    double h = sin(x * 12.9898 + y * 78.233) * 43758.5453;
    return 2.0 * (h - floor(h)) - 1.0;
}

static double knots(double x, double y, const void *arg)
{
    const scene *s = arg;
    double dy = (y - KNOT_Y) * (y - KNOT_Y);
    if (s->edge_knot > 0.0)
        return x > 147.0 ? -40.0
                         : grain(x, y) + s->edge_knot *
                                             exp(-0.5 * ((x - 125.0) * (x - 125.0) + dy) / 100.0);
    return grain(x, y) + s->strong * exp(-0.5 * ((x - 87.0) * (x - 87.0) + dy) / 100.0) +
           s->weak * exp(-0.5 * ((x - 120.0) * (x - 120.0) + dy) / 36.0) +
           s->dome * exp(-0.5 * (x - 100.0) * (x - 100.0) / 2025.0);
}

/* The accumulated map (RR x CC) of a scene with background_bumps K. */
static void scene_map(scene s, double k, float *map)
{
    static float f[RR * CC];
    km_candidate_params p;
    km_candidate_params_default(&p);
    p.background_bumps = k;
    km_candidates *c = km_test_mat_passes(ctx, &p, RR, CC, f, knots, &s);
    cr_assert_eq(km_candidates_map(ctx, c, map, (size_t)RR * CC, NULL), KM_OK);
    km_candidates_free(c);
}

static float weak_excess(scene s, double k)
{
    static float map[RR * CC];
    scene_map(s, k, map);
    return map[20 * CC + 24];
}

/* The plain median stands on the strong knot's flank; with the bumps left
 * out the map holds the weak knot's excess (its amplitude and the strong
 * knot's tail there, 20.15 kPa) within the grain's 1.5 kPa, beside the
 * strong knot and alone. */
Test(cand_bumps, weak_knot_excess_recovered_beside_a_strong_one)
{
    double truth = WEAK_A + STRONG_A * exp(-0.5 * 33.0 * 33.0 / 100.0);
    scene alone = {0.0, WEAK_A, 0.0, 0.0}, pair = {STRONG_A, WEAK_A, 0.0, 0.0};
    float plain = weak_excess(pair, 0.0), bumps = weak_excess(pair, 5.0);
    float bumps_alone = weak_excess(alone, 5.0);
    cr_assert(plain < 0.7 * truth, "plain median: %g of %g kPa", plain, truth);
    cr_assert(bumps >= 0.85 * truth && bumps <= truth + 1.5, "bumps left out: %g of %g kPa (plain %g)", bumps, truth, plain);
    cr_assert(fabs(bumps_alone - WEAK_A) <= 1.5, "alone: %g of %g kPa", bumps_alone, WEAK_A);
}

/* A broad relief across the row (the body presses more at its middle) is
 * no bump: the opening keeps it, so the background follows it as the
 * plain median does, and the map away from the knots stays within 1 kPa
 * of the plain median's everywhere. */
Test(cand_bumps, body_relief_stays_in_the_background)
{
    static float plain[RR * CC], bumps[RR * CC];
    scene dome = {0.0, 0.0, DOME_A, 0.0};
    scene_map(dome, 0.0, plain);
    scene_map(dome, 5.0, bumps);
    float worst = 0.0f;
    for (int32_t i = 0; i < RR * CC; i++)
        if (isfinite(plain[i]))
            worst = fmaxf(worst, fabsf(bumps[i] - plain[i]));
    cr_assert(worst <= 1.0f, "the relief moved the map by %g kPa", worst);
    /* With the pair on it too, the weak knot is recovered all the same. */
    scene all = {STRONG_A, WEAK_A, DOME_A, 0.0};
    double truth = WEAK_A + STRONG_A * exp(-0.5 * 33.0 * 33.0 / 100.0);
    float rec = weak_excess(all, 5.0);
    cr_assert(weak_excess(all, 0.0) < 0.7 * truth);
    cr_assert(fabs(rec - truth) <= 2.0, "on the relief: %g of %g kPa", rec, truth);
}

/* A mat's floor is no background: a knot 20 mm inside the body's edge
 * (x = 125 mm, the body ends at 145 mm, the floor beyond) is left out of
 * its row's windows; the body's last cells, whose windows then hold the
 * floor's quiet taxels, keep a background on the body (the kept values,
 * noise and opening are those of the taxels in contact): they stay in
 * contact, at no more than the knot's tail there (the floor as their
 * background would read the body's 40 kPa) and at no less than the plain
 * median's map.  The knot's own
 * cell gets back what the plain median's window, standing on the knot,
 * took (23 of 35 kPa). */
Test(cand_bumps, floor_beside_the_body_is_no_background)
{
    static float plain[RR * CC], bumps[RR * CC];
    scene edge = {0.0, 0.0, 0.0, STRONG_A};
    scene_map(edge, 0.0, plain);
    scene_map(edge, 5.0, bumps);
    const float *p = plain + 20 * CC, *b = bumps + 20 * CC;
    for (int32_t x = 27; x <= 29; x++) {
        double d = 5.0 * x - 125.0, truth = STRONG_A * exp(-0.5 * d * d / 100.0);
        cr_assert(isfinite(b[x]) && b[x] >= p[x] - 1.0f && b[x] <= truth + 1.5,
                  "the body's last cells: column %d reads %g, plain %g, knot %g", x, b[x], p[x],
                  truth);
    }
    for (int32_t x = 0; x < 18; x++)
        cr_assert(fabsf(b[x] - p[x]) <= 0.5f, "away from the knot: column %d %g, plain %g", x,
                  b[x], p[x]);
    cr_assert(p[25] < 0.7 * STRONG_A, "plain median: %g kPa", p[25]);
    cr_assert(b[25] >= 0.8 * STRONG_A && b[25] <= STRONG_A + 1.5, "bumps left out: %g kPa (plain %g)",
              b[25], p[25]);
}

/* background_bumps is 0 by default, and K >= 0 (NaN refused). */
Test(cand_bumps, background_bumps_is_checked)
{
    km_candidate_params p;
    km_candidate_params_default(&p);
    cr_assert_eq(p.background_bumps, 0.0);
    km_test_refuses_negative_and_nan(ctx, &p, &p.background_bumps);
}
