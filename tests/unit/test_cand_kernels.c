/* The candidate layer's deposit of a roller row (src/track/candidates.c:
 * the usable test and the excess eight taxels at a time, the cells that
 * only take their last touch four at a time, AVX2 where the CPU has it)
 * against the plain loops (ex.avx2 cleared), bit for bit: every per-cell
 * state of the layer and the row's usable flags, background and excess,
 * on rows of ties at seen_threshold and at the pass maximum, NaN,
 * infinities and signed zeros, masks and contact flags with bytes other
 * than 1, stuck runs at and around stuck_frames, frames that skip ahead by
 * up to twice the pass gap, widths with SIMD tails. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
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

TestSuite(cand_kernels, .init = setup, .fini = teardown);

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* Mostly the floor 0 (so a window's median is 0 and the excess is the
 * value), values at and beside seen_threshold (8), repeats, hostile ones. */
static float value(uint32_t *s)
{
    const float alphabet[] = {0.0f, 0.0f, 0.0f, 0.0f, -0.0f, 8.0f, nextafterf(8.0f, 0.0f),
                              nextafterf(8.0f, 16.0f), 3.0f, 3.0f, 20.0f, 2.5f};
    uint32_t k = lcg(s) % 14u;
    if (k == 12)
        return NAN;
    if (k == 13)
        return (lcg(s) & 1u) ? INFINITY : -INFINITY;
    return alphabet[k];
}

#define SAME(field, n) \
    cr_assert(memcmp(g[0]->field, g[1]->field, (n) * sizeof *g[0]->field) == 0, \
              "cols %d sf %d frame %d: " #field, cols, sf, f)

static void compare_cells(km_bodygrid *const g[2], size_t n, int32_t cols, int32_t sf, int f)
{
    SAME(ccov, n);
    SAME(seen, n);
    SAME(csum, n);
    SAME(wmean, n);
    SAME(wm2, n);
    SAME(cur, n);
    SAME(cur_t, n);
    SAME(trend, n);
    SAME(crow, n);
    SAME(rowa, n);
    SAME(an, n);
    SAME(bn, n);
    SAME(asum, n);
    SAME(bsum, n);
    SAME(flat, n);
    SAME(cur_b, n);
    SAME(cur_off, n);
    SAME(cur_turn, n);
    SAME(clast, n);
    SAME(t_first, n);
    SAME(t_last, n);
}

/* Two grids of rows x cols cells with the candidate layer: g[0] as the CPU
 * runs it, g[1] on the plain loops (ex.avx2 cleared). */
static void make_pair(km_bodygrid *g[2], int32_t rows, int32_t cols, double thr, int32_t sf)
{
    km_bodymap_params rule;
    km_candidate_params p;
    km_bodymap_params_default(&rule);
    km_candidate_params_default(&p);
    rule.contact_threshold = thr;
    p.stuck_frames = sf;
    for (int k = 0; k < 2; k++)
        cr_assert_eq(km_bodygrid_create(ctx, KM_MODE_MAT, rows, cols, 5.0, 5.0, &rule, &p,
                                        KM_GRID_CANDIDATES, &g[k]),
                     KM_OK, "%s", km_ctx_last_error(ctx));
    g[1]->ex.avx2 = 0; /* the plain loops */
}

/* Adds to *passes the n cells with a second pass and to *seen those that
 * reached seen_threshold (the test's reach); frees the pair. */
static void tally_and_free(km_bodygrid *g[2], int32_t n, int *passes, int *seen)
{
    for (int32_t i = 0; i < n; i++) {
        *passes += g[1]->ccov[i] > 1;
        *seen += !isnan(g[1]->t_first[i]);
    }
    km_bodygrid_free(g[0]);
    km_bodygrid_free(g[1]);
}

/* Adds to *passes the cells with a second pass and to *seen those that
 * reached seen_threshold (the test's reach). */
static void check_cand_row(int32_t cols, int32_t sf, uint32_t *s, int *passes, int *seen)
{
    enum { RR = 3, NF = 50 };
    km_bodygrid *g[2] = {NULL, NULL};
    km_bodymap_params rule;
    km_candidate_params p;
    km_bodymap_params_default(&rule);
    km_candidate_params_default(&p);
    make_pair(g, RR, cols, rule.contact_threshold, sf);
    float row[100], frac = 0.0f;
    uint8_t on[100], mask[RR * 100];
    int64_t frame = 0;
    for (int f = 0; f < NF; f++) {
        frame += 1 + (int64_t)(lcg(s) % (uint32_t)(2 * p.pass_gap_frames + 2));
        g[0]->frame = g[1]->frame = frame;
        for (int32_t i = 0; i < RR * cols; i++)
            mask[i] = (uint8_t)(lcg(s) % 9u == 0 ? 0 : 1 + lcg(s) % 3u);
        km_mask m = {mask, RR, cols, cols};
        int masked = f % 3 != 0;
        for (int32_t r = 0; r < RR; r++) {
            for (int32_t x = 0; x < cols; x++) {
                row[x] = value(s);
                on[x] = (uint8_t)(lcg(s) % 5u == 0 ? 0 : 1 + lcg(s) % 2u);
                /* Runs below, at and past stuck_frames, and the largest. */
                uint32_t k = lcg(s) % 6u;
                int32_t run = k == 0   ? INT32_MAX
                              : k == 1 ? sf
                              : k == 2 ? sf + 1
                              : k == 3 && sf > 0 ? sf - 1 : 0;
                g[0]->ex.run[km_cand_at(g[0], r, x)] = g[1]->ex.run[km_cand_at(g[1], r, x)] = run;
            }
            frac = (float)(lcg(s) % 100u) / 100.0f - 0.5f;
            double t = 0.01 * (double)frame;
            /* The rows' cells turn with the frame, as the roller's do: a
               cell takes several sensor rows (crow). */
            size_t off = (size_t)((r + f) % RR) * (size_t)cols;
            for (int k = 0; k < 2; k++)
                km_cand_layer_row(g[k], row, masked ? &m : NULL, r, (r + f) % 4 ? on : NULL, off,
                                  frac, t);
            cr_assert(memcmp(g[0]->ex.ok, g[1]->ex.ok, (size_t)cols) == 0, "cols %d: ok", cols);
            for (int32_t x = 0; x < cols; x++) /* bg is the median's only where usable */
                cr_assert(!g[1]->ex.ok[x] ||
                              memcmp(&g[0]->ex.bg[x], &g[1]->ex.bg[x], sizeof(float)) == 0,
                          "cols %d frame %d row %d x %d: bg", cols, f, r, x);
            cr_assert(memcmp(g[0]->ex.excess, g[1]->ex.excess, (size_t)cols * sizeof(float)) == 0,
                      "cols %d frame %d row %d: excess", cols, f, r);
        }
        compare_cells(g, (size_t)RR * (size_t)cols, cols, sf, f);
    }
    tally_and_free(g, RR * cols, passes, seen);
}

Test(cand_kernels, roller_row_deposit_same_cells_as_the_plain_form)
{
    uint32_t s = 3003u;
    int passes = 0, seen = 0;
    for (int32_t cols = 1; cols <= 37; cols++)
        check_cand_row(cols, cols % 4 == 0 ? 0 : 25, &s, &passes, &seen);
    check_cand_row(64, 25, &s, &passes, &seen);
    check_cand_row(99, 1, &s, &passes, &seen);
    cr_assert(passes > 100 && seen > 100, "cells with a second pass %d, seen %d", passes, seen);
}

/* A mat frame's values: the contact threshold itself and the floats beside
 * it (a window's median lands on them: the background test's ties), values
 * at seen_threshold above the threshold, the floor, hostile ones. */
static float mat_value(uint32_t *s, double thr)
{
    uint32_t k = lcg(s) % 16u;
    float t = (float)thr;
    switch (k) {
    case 0: case 1: case 2: return t;
    case 3: return nextafterf(t, INFINITY);
    case 4: return nextafterf(t, -INFINITY);
    case 5: return 0.0f;
    case 6: return -0.0f;
    case 7: return NAN;
    case 8: return (lcg(s) & 1u) ? INFINITY : -INFINITY;
    case 9: return t + 8.0f;
    case 10: return nextafterf(t + 8.0f, 0.0f);
    default: return t + (float)(lcg(s) % 400u) / 37.0f - 3.0f;
    }
}

/* km_cand_layer_mat with ex.avx2 set and cleared: every cell's state and
 * the excess of the last row it took (a row with no valid taxel above the
 * threshold is skipped: the test of that is seen only there).  Adds the touched cells' passes
 * and those seen. */
static void check_cand_mat(int32_t cols, double thr, int32_t sf, uint32_t *s, int *passes,
                           int *seen)
{
    enum { RR = 4, NF = 60 };
    km_bodygrid *g[2] = {NULL, NULL};
    km_candidate_params p;
    km_candidate_params_default(&p);
    make_pair(g, RR, cols, thr, sf);
    float data[RR * 100];
    uint8_t mask[RR * 100];
    int64_t frame = 0;
    for (int f = 0; f < NF; f++) {
        frame += 1 + (int64_t)(lcg(s) % (uint32_t)(2 * p.pass_gap_frames + 2));
        g[0]->frame = g[1]->frame = frame;
        for (int32_t i = 0; i < RR * cols; i++) {
            data[i] = mat_value(s, thr);
            mask[i] = (uint8_t)(lcg(s) % 9u == 0 ? 0 : 1 + lcg(s) % 3u);
        }
        if (f % 7 == 3) /* a row away from the load: skipped */
            for (int32_t x = 0; x < cols; x++)
                data[x] = 0.0f;
        if (f % 7 == 5) /* the last row: above the threshold only where masked */
            for (int32_t x = 0; x < cols; x++) {
                float *v = &data[(RR - 1) * cols + x];
                *v = mask[(RR - 1) * cols + x] == 0 ? *v : x % 2 ? (float)thr : -1.0f;
            }
        km_frame fr = {data, RR, cols, cols};
        km_mask m = {mask, RR, cols, cols};
        for (int k = 0; k < 2; k++)
            km_cand_layer_mat(g[k], &fr, f % 3 != 0 ? &m : NULL, 0.01 * (double)frame);
        cr_assert(memcmp(g[0]->ex.excess, g[1]->ex.excess, (size_t)cols * sizeof(float)) == 0,
                  "cols %d frame %d: excess", cols, f);
        compare_cells(g, (size_t)RR * (size_t)cols, cols, sf, f);
    }
    tally_and_free(g, RR * cols, passes, seen);
}

/* The mat's deposit (the background above the contact threshold as the
 * lanes' mask) against the plain loop; thresholds a float holds and one
 * no float holds (the plain form compares the float background in double). */
Test(cand_kernels, mat_deposit_same_cells_as_the_plain_form)
{
    uint32_t s = 4004u;
    int passes = 0, seen = 0;
    const double thr[] = {5.0, 0.0, 5.0 - 1e-9};
    for (size_t t = 0; t < sizeof thr / sizeof *thr; t++)
        for (int32_t cols = 1; cols <= 37; cols++)
            check_cand_mat(cols, thr[t], cols % 4 == 0 ? 0 : 25, &s, &passes, &seen);
    check_cand_mat(99, 5.0, 1, &s, &passes, &seen);
    cr_assert(passes > 100 && seen > 100, "cells with a second pass %d, seen %d", passes, seen);
}
