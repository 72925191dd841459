/* Frame metrics against values worked out by hand. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "knotmap.h"

static km_ctx *ctx;
static void setup(void) { cr_assert_eq(km_ctx_create(&ctx), KM_OK); }
static void teardown(void) { km_ctx_free(ctx); }
TestSuite(metrics, .init = setup, .fini = teardown);

/* 3x4 frame, pitch 2 mm (rows) x 3 mm (cols): taxel area 6 mm^2.
 *   0  0  0  0
 *   0 10 30  0
 *   0  0 20 -5
 * contact (> 0): 10 @(1,1), 30 @(1,2), 20 @(2,2); weight sum 60.
 * cop x = (10*1 + 30*2 + 20*2)/60 * 3 = 110/60*3 = 5.5 mm
 * cop y = (10*1 + 30*1 + 20*2)/60 * 2 = 80/60*2 = 2.6667 mm
 * mean over 12 taxels = 55/12; force in kPa = 60 * 6 * 1e-3 = 0.36 N. */
static const float F[12] = {0, 0, 0, 0, 0, 10, 30, 0, 0, 0, 20, -5};

Test(metrics, analytic_values)
{
    km_frame fr = {F, 3, 4, 4};
    km_metrics m;
    cr_assert_eq(km_frame_metrics(ctx, &fr, NULL, 2.0, 3.0, 1.0, 0.0, INFINITY, &m), KM_OK);
    cr_assert_float_eq(m.peak, 30.0, 1e-12);
    cr_assert_float_eq(m.mean, 55.0 / 12.0, 1e-12);
    cr_assert_float_eq(m.contact_area_mm2, 18.0, 1e-12);
    cr_assert_float_eq(m.force_n, 0.36, 1e-12);
    cr_assert_float_eq(m.cop_x_mm, 5.5, 1e-12);
    cr_assert_float_eq(m.cop_y_mm, 80.0 / 60.0 * 2.0, 1e-12);
    cr_assert_eq(m.flags, 0u);
}

Test(metrics, units_scale_force_and_raw_is_nan)
{
    km_frame fr = {F, 3, 4, 4};
    km_metrics m;
    cr_assert_eq(km_frame_metrics(ctx, &fr, NULL, 2.0, 3.0, 0.133322, 0.0, INFINITY, &m), KM_OK);
    cr_assert_float_eq(m.force_n, 0.36 * 0.133322, 1e-12);
    cr_assert_eq(km_frame_metrics(ctx, &fr, NULL, 2.0, 3.0, NAN, 0.0, INFINITY, &m), KM_OK);
    cr_assert(isnan(m.force_n));
    cr_assert_float_eq(m.peak, 30.0, 1e-12); /* the rest does not depend on units */
}

Test(metrics, mask_nan_and_stride)
{
    /* Same frame inside rows of 6 with garbage padding; the 30 is masked
       and one taxel is NaN. */
    float buf[18];
    uint8_t mk[12];
    for (int i = 0; i < 18; i++)
        buf[i] = 1e6f;
    for (int r = 0; r < 3; r++)
        memcpy(buf + r * 6, F + r * 4, 4 * sizeof(float));
    buf[0] = NAN;
    memset(mk, 1, sizeof mk);
    mk[6] = 0; /* (1,2) = 30 */
    km_frame fr = {buf, 3, 4, 6};
    km_mask mask = {mk, 3, 4, 4};
    km_metrics m;
    cr_assert_eq(km_frame_metrics(ctx, &fr, &mask, 2.0, 3.0, 1.0, 0.0, 25.0, &m), KM_OK);
    /* valid: 10 taxels (12 - masked - NaN), sum 25 */
    cr_assert_float_eq(m.peak, 20.0, 1e-12);
    cr_assert_float_eq(m.mean, 25.0 / 10.0, 1e-12);
    cr_assert_float_eq(m.contact_area_mm2, 12.0, 1e-12);
    cr_assert_float_eq(m.cop_x_mm, (10.0 * 1 + 20.0 * 2) / 30.0 * 3.0, 1e-12);
    cr_assert_float_eq(m.cop_y_mm, (10.0 * 1 + 20.0 * 2) / 30.0 * 2.0, 1e-12);
    cr_assert_eq(m.flags, 0u, "20 < saturation 25: not saturated");
    cr_assert_eq(km_frame_metrics(ctx, &fr, &mask, 2.0, 3.0, 1.0, 0.0, 20.0, &m), KM_OK);
    cr_assert_eq(m.flags, KM_FRAME_SATURATED, ">= saturation counts");
}

Test(metrics, contact_threshold_and_empty)
{
    km_frame fr = {F, 3, 4, 4};
    km_metrics m;
    cr_assert_eq(km_frame_metrics(ctx, &fr, NULL, 1.0, 1.0, 1.0, 15.0, INFINITY, &m), KM_OK);
    cr_assert_float_eq(m.contact_area_mm2, 2.0, 1e-12);
    cr_assert_float_eq(m.force_n, 50e-3, 1e-12);
    cr_assert_eq(km_frame_metrics(ctx, &fr, NULL, 1.0, 1.0, 1.0, 30.0, INFINITY, &m), KM_OK);
    cr_assert_eq(m.flags, KM_FRAME_EMPTY, "30 is not > 30");
    cr_assert_float_eq(m.contact_area_mm2, 0.0, 1e-12);
    cr_assert(isnan(m.cop_x_mm) && isnan(m.cop_y_mm));
    cr_assert_float_eq(m.force_n, 0.0, 1e-12);
}

Test(metrics, no_valid_taxel)
{
    float z[4] = {1, 2, 3, 4};
    uint8_t mk[4] = {0, 0, 0, 0};
    km_frame fr = {z, 2, 2, 2};
    km_mask mask = {mk, 2, 2, 2};
    km_metrics m;
    cr_assert_eq(km_frame_metrics(ctx, &fr, &mask, 1.0, 1.0, 1.0, 0.0, INFINITY, &m), KM_OK);
    cr_assert(isnan(m.peak) && isnan(m.mean));
    cr_assert_eq(m.flags, KM_FRAME_EMPTY);
}

Test(metrics, invalid_arguments)
{
    km_frame fr = {F, 3, 4, 4};
    uint8_t mk[4] = {1, 1, 1, 1};
    km_mask bad = {mk, 2, 2, 2};
    km_metrics m;
    cr_assert_eq(km_frame_metrics(ctx, &fr, NULL, 0.0, 1.0, 1.0, 0.0, INFINITY, &m), KM_ERR_INVALID);
    cr_assert_eq(km_frame_metrics(ctx, &fr, &bad, 1.0, 1.0, 1.0, 0.0, INFINITY, &m), KM_ERR_INVALID);
    cr_assert_eq(km_frame_metrics(ctx, &fr, NULL, 1.0, 1.0, 1.0, 0.0, INFINITY, NULL), KM_ERR_INVALID);
    km_frame narrow = {F, 3, 4, 3};
    cr_assert_eq(km_frame_metrics(ctx, &narrow, NULL, 1.0, 1.0, 1.0, 0.0, INFINITY, &m), KM_ERR_INVALID);
    cr_assert_neq(km_ctx_last_error(ctx)[0], '\0');
}
