/* A hand-made mat sequence shared by the candidate tests (test_cand_scale.c,
 * test_cand_mask.c, test_cand_bumps.c): four passes of 10 contact frames
 * each at 40 kPa with a fixed pattern of +-1 kPa and the caller's knots, 10
 * frames off between them; and the parameter check they share.
 * Header-only. */
#ifndef KM_TEST_MAT_PASSES_H
#define KM_TEST_MAT_PASSES_H

#include <criterion/criterion.h>
#include <math.h>

#include "knotmap.h"

/* The knots' pressure at body position (x, y) mm. */
typedef double (*km_test_knots_fn)(double x_mm, double y_mm, const void *arg);

/* The sequence on R x C taxels of 5 mm (f: R x C floats) into a new
   candidate accumulator with parameters p; the caller frees it. */
static inline km_candidates *km_test_mat_passes(km_ctx *ctx, const km_candidate_params *p,
                                                int32_t R, int32_t C, float *f,
                                                km_test_knots_fn knots, const void *arg)
{
    km_frame fr = {f, R, C, C};
    km_candidates *c = NULL;
    cr_assert_eq(km_candidates_create(ctx, KM_MODE_MAT, R, C, 5.0, 5.0, p, &c), KM_OK);
    int64_t frame = 0;
    for (int pass = 0; pass < 4; pass++)
        for (int k = 0; k < 20; k++, frame++) {
            for (int32_t r = 0; r < R; r++)
                for (int32_t x = 0; x < C; x++) {
                    int32_t i = r * C + x;
                    f[i] = k < 10 ? 40.0f + (float)((i * 7919) % 11) * 0.2f - 1.0f +
                                        (float)knots(5.0 * x, 5.0 * r, arg)
                                  : 0.0f;
                }
            cr_assert_eq(km_candidates_add(ctx, c, &fr, NULL, NULL, 0.1 * (double)frame), KM_OK);
        }
    return c;
}

/* A candidate parameter (*field, in p) refused at -1 and NaN: creating an
   accumulator fails with KM_ERR_INVALID and leaves none. */
static inline void km_test_refuses_negative_and_nan(km_ctx *ctx, km_candidate_params *p,
                                                    double *field)
{
    km_candidates *c = NULL;
    *field = -1.0;
    cr_assert_eq(km_candidates_create(ctx, KM_MODE_MAT, 8, 8, 5.0, 5.0, p, &c), KM_ERR_INVALID);
    *field = NAN;
    cr_assert_eq(km_candidates_create(ctx, KM_MODE_MAT, 8, 8, 5.0, 5.0, p, &c), KM_ERR_INVALID);
    cr_assert_null(c);
}

#endif
