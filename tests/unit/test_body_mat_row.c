/* The body map layer's deposit of a mat frame row (src/track/bodymap.c:
 * AVX2 four cells at a time where the CPU has it) leaves every cell as the
 * plain form does: maximum, sum, count, passes and last touch, over frames
 * that skip ahead by up to twice the pass gap, values around the contact
 * threshold (equal to it included), NaN, infinities and signed zeros, with
 * and without a mask, widths with SIMD tails; and a contact threshold that
 * no float holds (the double comparison of the plain form). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "knotmap.h"
#include "track/bodygrid_internal.h"

static km_ctx *ctx;

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
}

static void teardown(void)
{
    km_ctx_free(ctx);
}

TestSuite(body_mat_row, .init = setup, .fini = teardown);

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static float value(uint32_t *s, double thr)
{
    static const float alphabet[] = {0.0f, -0.0f, 1.0f, 7.5f, 40.0f, -3.0f};
    uint32_t k = lcg(s) % 12u;
    if (k < 6)
        return alphabet[k];
    if (k == 6)
        return NAN;
    if (k == 7)
        return (lcg(s) & 1u) ? INFINITY : -INFINITY;
    if (k == 8)
        return (float)thr; /* the threshold itself: not in contact */
    if (k == 9)
        return nextafterf((float)thr, INFINITY);
    return (float)(lcg(s) % 1000u) / 37.0f;
}

static void check_mat_rows(int32_t cols, double thr, int masked, uint32_t *s)
{
    enum { RR = 3, NF = 60 };
    km_bodygrid *g[2] = {NULL, NULL};
    km_bodymap_params rule;
    km_bodymap_params_default(&rule);
    rule.contact_threshold = thr;
    for (int k = 0; k < 2; k++)
        cr_assert_eq(km_bodygrid_create(ctx, KM_MODE_MAT, RR, cols, 5.0, 5.0, &rule, NULL,
                                        KM_GRID_BODYMAP, &g[k]),
                     KM_OK, "%s", km_ctx_last_error(ctx));
    float row[100];
    uint8_t valid[100];
    int64_t frame = 0;
    size_t n = (size_t)RR * (size_t)cols;
    for (int f = 0; f < NF; f++) {
        frame += 1 + (int64_t)(lcg(s) % (uint32_t)(2 * rule.pass_gap_frames + 2));
        g[0]->frame = g[1]->frame = frame;
        for (int32_t r = 0; r < RR; r++) {
            for (int32_t x = 0; x < cols; x++) {
                valid[x] = lcg(s) % 5u != 0 ? (uint8_t)(1 + lcg(s) % 3u) : 0;
                row[x] = value(s, thr);
            }
            size_t off = (size_t)r * (size_t)cols;
            km_body_layer_mat_row(g[0], row, masked ? valid : NULL, off);
            km_body_layer_mat_row_plain(g[1], row, masked ? valid : NULL, off, 0);
        }
        cr_assert(memcmp(g[0]->max, g[1]->max, n * sizeof *g[0]->max) == 0, "cols %d max", cols);
        for (size_t q = 0; q < n; q++)
            cr_assert(memcmp(&g[0]->sum[q], &g[1]->sum[q], sizeof g[0]->sum[q]) == 0,
                      "cols %d sum, cell %zu: %a against %a", cols, q, g[0]->sum[q], g[1]->sum[q]);
        cr_assert(memcmp(g[0]->n, g[1]->n, n * sizeof *g[0]->n) == 0, "cols %d n", cols);
        cr_assert(memcmp(g[0]->cov, g[1]->cov, n * sizeof *g[0]->cov) == 0, "cols %d cov", cols);
        cr_assert(memcmp(g[0]->last, g[1]->last, n * sizeof *g[0]->last) == 0, "cols %d last",
                  cols);
    }
    int32_t most = 0;
    int64_t touched = 0;
    for (size_t i = 0; i < n; i++) {
        most = g[1]->cov[i] > most ? g[1]->cov[i] : most;
        touched += g[1]->n[i];
    }
    cr_assert(cols < 4 || most > 1, "cols %d: no cell saw a second pass", cols);
    cr_assert(touched > 0 && touched < (int64_t)(NF * n), "cols %d: %lld touches", cols,
              (long long)touched);
    km_bodygrid_free(g[0]);
    km_bodygrid_free(g[1]);
}

Test(body_mat_row, same_cells_as_the_plain_form)
{
    uint32_t s = 77u;
    for (int masked = 0; masked <= 1; masked++) {
        for (int32_t cols = 1; cols <= 37; cols++)
            check_mat_rows(cols, 5.0, masked, &s);
        check_mat_rows(64, 5.0, masked, &s);
        check_mat_rows(99, 12.5, masked, &s);
        check_mat_rows(33, 0.1, masked, &s); /* no float holds 0.1 */
        check_mat_rows(33, -1.0, masked, &s);
    }
}

/* km_body_layer_leave_out's flags (sixteen at a time where SSE2 is, a row's
 * last 1-15 as its last sixteen again) against their definition: the row's
 * flags and the body map mask both nonzero, as 0 / 1; bytes other than 1 in
 * both; every width from 1 to 70 and each row of the grid. */
Test(body_mat_row, left_out_flags_as_their_definition)
{
    enum { RR = 3 };
    uint32_t s = 99u;
    int cleared = 0;
    for (int32_t cols = 1; cols <= 70; cols++) {
        km_bodygrid *g = NULL;
        cr_assert_eq(km_bodygrid_create(ctx, KM_MODE_MAT, RR, cols, 5.0, 5.0, NULL, NULL,
                                        KM_GRID_BODYMAP, &g),
                     KM_OK, "%s", km_ctx_last_error(ctx));
        uint8_t keep[RR * 70], flags[70];
        float row[70];
        for (int32_t i = 0; i < RR * cols; i++)
            keep[i] = lcg(&s) % 4u == 0 ? 0 : (uint8_t)(1 + lcg(&s) % 200u);
        cr_assert_eq(km_bodygrid_set_bodymap_mask(ctx, g, keep), KM_OK);
        for (int32_t r = 0; r < RR; r++) {
            for (int32_t x = 0; x < cols; x++) {
                flags[x] = lcg(&s) % 3u == 0 ? 0 : (uint8_t)(1 + lcg(&s) % 255u);
                row[x] = (float)(lcg(&s) % 50u);
            }
            const uint8_t *out = km_body_layer_leave_out(g, row, flags, r, (size_t)r * (size_t)cols);
            for (int32_t x = 0; x < cols; x++) {
                int want = flags[x] != 0 && keep[r * cols + x] != 0;
                cr_assert_eq(out[x], want, "cols %d row %d x %d: %d", cols, r, x, out[x]);
                cleared += flags[x] != 0 && !want;
            }
        }
        km_bodygrid_free(g);
    }
    cr_assert_gt(cleared, 100);
}
