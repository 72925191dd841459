/* The roller's row background on a slope (docs/ALGORITHMS.md 10 step 1,
 * Slope; src/track/cand_slope.c).  A roller of 24 rows (10 mm) and 24
 * columns (6 mm: the default window is +-5 columns) rolls 0 -> 200 -> 0 mm
 * twice over a body narrower than the roller, a thigh: the contact
 * pressure 40 (1 - u^2)^0.35 kPa, u = (x - 40 mm) / 60 mm, falls to 0 at
 * x = 100 mm (columns 17 on read 0 and are out of contact).  A knot of 12
 * kPa (sigma 5 mm across) sits on the flank at x = 78 mm, 22 mm from the
 * edge, at body y = 100 mm.  The plain row median there is taken over the
 * columns on the body only, most of them higher up the flank: it stood
 * over the knot's value and left the knot an excess of about 0; the
 * background along the flank's slope keeps it (over 0.9 of it; the
 * plain median 0.69).  On a flat body with a fixed pattern of +-1 kPa per
 * taxel the two backgrounds stay within 0.5 kPa. */
#include <criterion/criterion.h>
#include <math.h>
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

TestSuite(cand_slope, .init = setup, .fini = teardown);

enum { R = 24, C = 24 };
#define KNOT_X 78.0
#define KNOT_KPA 12.0

static float body(int32_t x, int thigh)
{
    double xm = 6.0 * x, u = (xm - 40.0) / 60.0;
    double p = thigh ? (fabs(u) < 1.0 ? 40.0 * pow(1.0 - u * u, 0.35) : 0.0) : 40.0;
    return (float)p;
}

/* The candidate map of the session with background_slope `slope`. */
static void run(int32_t slope, int thigh, float *excess)
{
    for (int32_t i = 0; i < 32 * C; i++)
        excess[i] = NAN;
    km_candidate_params p;
    km_candidate_params_default(&p);
    p.background_slope = slope;
    km_bodygrid *g = NULL;
    cr_assert_eq(km_bodygrid_create(ctx, KM_MODE_ROLLER, R, C, 10.0, 6.0, NULL, &p,
                                    KM_GRID_CANDIDATES, &g),
                 KM_OK);
    float f[R * C];
    int64_t frame = 0;
    for (int leg = 0; leg < 4; leg++)
        for (int k = 0; k <= 100; k++, frame++) {
            double y = 2.0 * (leg % 2 == 0 ? k : 100 - k), c = y / 10.0;
            int32_t rc = (int32_t)floor(c + 0.5);
            for (int32_t r = 0; r < R; r++)
                for (int32_t x = 0; x < C; x++) {
                    int32_t d = ((r - rc) % R + R + R / 2) % R - R / 2;
                    float v = 0.0f, b = body(x, thigh);
                    if (d >= -1 && d <= 1 && b > 0.0f) {
                        double body_y = y + ((double)r - c) * 10.0, xm = 6.0 * x;
                        v = b + 0.2f * (float)((r * 7 + x * 13) % 11 - 5) +
                            0.01f * (float)(frame % 3);
                        if (fabs(body_y - 100.0) < 3.0)
                            v += (float)(KNOT_KPA * exp(-0.5 * (xm - KNOT_X) * (xm - KNOT_X) / 25.0));
                    }
                    f[r * C + x] = v;
                }
            km_odometry_sample o = {c, 0.0, y, 40.0, 0u};
            cr_assert_eq(km_bodygrid_add(ctx, g, &(km_frame){f, R, C, C}, NULL, &o,
                                         0.01 * (double)frame),
                         KM_OK);
        }
    int32_t ny, nx;
    double y0;
    km_bodygrid_shape(g, &ny, &nx, &y0, NULL, NULL);
    cr_assert_eq(nx, C);
    cr_assert(ny <= 32, "rows %d", ny);
    km_candidate_maps m = {.excess = excess};
    cr_assert_eq(km_bodygrid_candidate_maps(ctx, g, &m, 32 * C, NULL), KM_OK);
    /* the knot's cell: body y 100 mm, column 12 */
    int32_t row = (int32_t)floor((100.0 - y0) / 10.0 + 0.5);
    excess[32 * C - 1] = (float)row;
    km_bodygrid_free(g);
}

Test(cand_slope, a_knot_on_the_flank_keeps_its_excess)
{
    float plain[32 * C], slope[32 * C];
    run(0, 1, plain);
    run(1, 1, slope);
    int32_t row = (int32_t)plain[32 * C - 1];
    int32_t kc = (int32_t)(KNOT_X / 6.0 + 0.5);
    float kp = plain[row * C + kc], ks = slope[row * C + kc];
    cr_assert(ks > 0.9f * (float)KNOT_KPA && ks < 1.3f * (float)KNOT_KPA,
              "slope: knot %g of %g", ks, KNOT_KPA);
    cr_assert(kp < 0.75f * (float)KNOT_KPA, "plain median: knot %g of %g", kp, KNOT_KPA);
    /* off the knot, on the flank, the background follows the slope: the
       excess of the flank's cells a few rows away stays near 0 */
    for (int32_t x = 8; x <= 13; x++) {
        float off = slope[(row - 4) * C + x];
        cr_assert(fabsf(off) < 3.0f, "flank off the knot, column %d: %g", x, off);
    }
}

Test(cand_slope, a_flat_body_is_unchanged)
{
    float plain[32 * C], slope[32 * C];
    run(0, 0, plain);
    run(1, 0, slope);
    for (int32_t i = 0; i < 31 * C; i++) {
        cr_assert_eq(isnan(plain[i]), isnan(slope[i]), "cell %d", i);
        if (!isnan(plain[i]))
            cr_assert(fabsf(plain[i] - slope[i]) < 0.5f, "cell %d: %g / %g", i, plain[i],
                      slope[i]);
    }
}
