/* The masked row background (docs/ALGORITHMS.md 10 step 1, Masked
 * background; km_candidate_params.background_mask): a weaker knot 33 mm
 * along the taxel row from a stronger one, on a hand-built mat.  The
 * reference is analytic: over a flat contact of 40 kPa the weak knot's
 * excess at its centre is its amplitude plus the strong knot's tail there
 * (35 exp(-33^2 / 2 10^2) = 0.15 kPa). */
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

TestSuite(cand_mask, .init = setup, .fini = teardown);

enum { RR = 40, CC = 40, WIDE = 200 };
#define STRONG_A 35.0 /* kPa, sigma 10 mm at x = 87 mm */
#define WEAK_A 20.0   /* kPa, sigma 6 mm at x = 120 mm (column 24) */
#define KNOT_Y 100.0  /* both on row 20 */

static double knots(double x, double y, const void *arg)
{
    double strong = *(const double *)arg, dy = (y - KNOT_Y) * (y - KNOT_Y);
    return strong * exp(-0.5 * ((x - 87.0) * (x - 87.0) + dy) / 100.0) +
           WEAK_A * exp(-0.5 * ((x - 120.0) * (x - 120.0) + dy) / 36.0);
}

/* The mat sequence (mat_passes.h) with the knots on RR x cols taxels; the
 * accumulated map at the weak knot's cell. */
static float weak_excess_cols(double strong, double mask, int32_t cols)
{
    static float f[RR * WIDE], map[RR * WIDE];
    km_candidate_params p;
    km_candidate_params_default(&p);
    p.background_mask = mask;
    km_candidates *c = km_test_mat_passes(ctx, &p, RR, cols, f, knots, &strong);
    int32_t ny = 0, nx = 0;
    km_candidates_shape(c, &ny, &nx, NULL);
    cr_assert_eq(ny, RR);
    cr_assert_eq(nx, cols);
    cr_assert_eq(km_candidates_map(ctx, c, map, (size_t)RR * (size_t)cols, NULL), KM_OK);
    km_candidates_free(c);
    return map[20 * cols + 24];
}

static float weak_excess(double strong, double mask)
{
    return weak_excess_cols(strong, mask, CC);
}

/* The plain median stands on the strong knot's flank (the weak knot and
 * the flank cover over half the +-30 mm window): the map holds well under
 * the weak knot's excess.  Masked, it holds what it holds of the weak knot
 * alone on the same mat (the plain median's, no neighbour), within 5%, and
 * over 0.85 of the analytic excess (the pattern's +-1 kPa). */
Test(cand_mask, weak_knot_excess_recovered_beside_a_strong_one)
{
    double truth = WEAK_A + STRONG_A * exp(-0.5 * 33.0 * 33.0 / 100.0);
    float alone = weak_excess(0.0, 0.0);
    float plain = weak_excess(STRONG_A, 0.0), masked = weak_excess(STRONG_A, 5.0);
    cr_assert(plain < 0.7 * truth, "plain median: %g of %g kPa", plain, truth);
    cr_assert(fabs(masked / alone - 1.0) <= 0.05, "masked median: %g, the knot alone %g kPa",
              masked, alone);
    cr_assert(masked >= 0.85 * truth && masked <= truth + 1.0, "masked median: %g of %g kPa",
              masked, truth);
    /* The knot alone: the mask changes nothing that matters. */
    float alone_masked = weak_excess(0.0, 5.0);
    cr_assert(fabs(alone_masked - alone) <= 1.0, "alone: %g masked, %g plain", alone_masked,
              alone);
}

/* Rows wider than the sorting network's 128 values (the row's median and
 * robust sigma by quickselect there): the same recovery on a mat of 200
 * columns, whose extra columns are flat contact. */
Test(cand_mask, rows_wider_than_128_taxels)
{
    float alone = weak_excess_cols(0.0, 0.0, WIDE), masked = weak_excess_cols(STRONG_A, 5.0, WIDE);
    float plain = weak_excess_cols(STRONG_A, 0.0, WIDE);
    cr_assert(plain < 0.7 * alone, "plain median: %g, the knot alone %g kPa", plain, alone);
    cr_assert(fabs(masked / alone - 1.0) <= 0.05, "masked median: %g, the knot alone %g kPa",
              masked, alone);
}

/* background_mask is 0 by default, and K >= 0 (NaN refused). */
Test(cand_mask, background_mask_is_checked)
{
    km_candidate_params p;
    km_candidate_params_default(&p);
    cr_assert_eq(p.background_mask, 0.0);
    km_test_refuses_negative_and_nan(ctx, &p, &p.background_mask);
}
