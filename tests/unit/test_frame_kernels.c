/* Per-frame kernels written to vectorise or to skip work (the candidate
 * layer's stuck rule, src/track/candidates.c; the roller's contact test,
 * src/track/bodygrid.c; the per-taxel maps, src/pipeline/stage_body.c; the
 * odometry's row medians, src/track/odometry.c; the map noise by selection,
 * src/detect/mapfilt.c; the row median's sliding window, src/core/select_small.h; the
 * offset test's neighbour medians, src/dsp/neighbour_median.c)
 * against plain per-taxel forms of their rules (docs/ALGORITHMS.md 7.2, 10
 * step 1, FORMAT /frames/max and /frames/mean), on hostile frames: NaN, infinities, signed zeros, ties, repeats,
 * grids of one row or one column, widths that are no multiple of a vector,
 * row strides wider than the row. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "knotmap.h"
#include "pipeline/engine_internal.h"
#include "track/bodygrid_internal.h"
#include "detect/mapfilt.h"
#include "core/exact_sum.h"
#include "core/select_small.h"
#include "dsp/neighbour_median.h"

static km_ctx *ctx;

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
}

static void teardown(void)
{
    km_ctx_free(ctx);
}

TestSuite(frame_kernels, .init = setup, .fini = teardown);

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* Values from a small alphabet (ties and repeats are common), hostile ones
 * included. */
static float draw(uint32_t *s)
{
    static const float alphabet[] = {0.0f, -0.0f, 1.0f, 2.0f, 2.0f, 7.5f, -3.0f, 40.0f};
    uint32_t k = lcg(s) % 10u;
    if (k == 8)
        return NAN;
    if (k == 9)
        return (lcg(s) & 1u) ? INFINITY : -INFINITY;
    return alphabet[k];
}

/* The stuck rule as the docs state it, one taxel at a time with explicit
 * neighbour bounds; with a saturation (sat_lo finite) a value at or above
 * sat_lo ends the run as a change does (+inf and NaN included). */
static void stuck_reference(int32_t rows, int32_t cols, const float *f, ptrdiff_t stride,
                            float *prev, int32_t *run, uint8_t *stuck, int first, int32_t sf,
                            float sat_lo)
{
    uint8_t *chg = malloc((size_t)rows * (size_t)cols);
    cr_assert_not_null(chg);
    for (int32_t r = 0; r < rows; r++)
        for (int32_t x = 0; x < cols; x++) {
            float v = f[r * stride + x];
            chg[r * cols + x] = !(v == prev[r * cols + x]);
        }
    for (int32_t r = 0; r < rows; r++)
        for (int32_t x = 0; x < cols; x++) {
            int nb = 0, moved = 0;
            static const int dr[4] = {-1, 1, 0, 0}, dx[4] = {0, 0, -1, 1};
            for (int k = 0; k < 4; k++) {
                int32_t rr = r + dr[k], xx = x + dx[k];
                if (rr < 0 || rr >= rows || xx < 0 || xx >= cols)
                    continue;
                nb++;
                moved += chg[rr * cols + xx];
            }
            int32_t *rv = &run[r * cols + x];
            if (first || chg[r * cols + x] || (sat_lo < INFINITY && !(f[r * stride + x] < sat_lo)))
                *rv = 0;
            else if (nb > 0 && 2 * moved >= nb)
                (*rv)++;
            float v = f[r * stride + x];
            if (sf > 0 && *rv >= sf && v != 0.0f)
                stuck[r * cols + x] = 1;
        }
    for (int32_t r = 0; r < rows; r++)
        for (int32_t x = 0; x < cols; x++)
            prev[r * cols + x] = f[r * stride + x];
    free(chg);
}

/* A grid of rows x cols cells with the candidate layer and stuck_frames
 * sf; with plain, on the plain loops. */
static km_bodygrid *stuck_grid(km_mode mode, int32_t rows, int32_t cols, int32_t sf, int plain)
{
    km_bodygrid *g = NULL;
    km_candidate_params p;
    km_bodymap_params rule;
    km_candidate_params_default(&p);
    km_bodymap_params_default(&rule);
    p.stuck_frames = sf;
    cr_assert_eq(km_bodygrid_create(ctx, mode, rows, cols, 5.0, 5.0, &rule, &p,
                                    KM_GRID_CANDIDATES, &g),
                 KM_OK, "%s", km_ctx_last_error(ctx));
    if (plain)
        g->ex.avx2 = 0; /* the plain loop, where the CPU would take AVX2 */
    return g;
}

static void check_stuck(int32_t rows, int32_t cols, int32_t sf, uint32_t seed, int plain,
                        double saturation)
{
    km_bodygrid *g = stuck_grid(KM_MODE_MAT, rows, cols, sf, plain);
    cr_assert_eq(km_bodygrid_set_saturation(g, saturation), KM_OK);
    size_t rc = (size_t)rows * (size_t)cols;
    ptrdiff_t stride = cols + 3;
    float *f = calloc((size_t)rows * (size_t)stride, sizeof *f);
    float *prev = calloc(rc, sizeof *prev);
    int32_t *run = calloc(rc, sizeof *run);
    uint8_t *stuck = calloc(rc, 1);
    cr_assert(f && prev && run && stuck);
    uint32_t s = seed;
    int any_run = 0, any_stuck = 0;
    for (int frame = 0; frame < 60; frame++) {
        /* Most taxels repeat; a few columns change every frame (they make
           their neighbours' repeats count); every 7th frame all repeat. */
        for (int32_t r = 0; r < rows; r++)
            for (int32_t x = 0; x < cols; x++) {
                float *v = &f[r * stride + x];
                int hold = frame % 7 == 6 || (x % 3 != 1 && lcg(&s) % 4u != 0);
                if (frame == 0 || !hold)
                    *v = draw(&s);
            }
        km_frame fr = {f, rows, cols, stride};
        km_cand_layer_stuck(g, &fr);
        g->frame++;
        stuck_reference(rows, cols, f, stride, prev, run, stuck, frame == 0, sf, g->ex.sat_lo);
        for (size_t i = 0; i < rc; i++) {
            size_t at = km_cand_at(g, (int32_t)(i / (size_t)cols), (int32_t)(i % (size_t)cols));
            cr_assert_eq(g->ex.run[at], run[i], "%dx%d frame %d taxel %zu: run %d, expected %d",
                         rows, cols, frame, i, g->ex.run[at], run[i]);
            cr_assert_eq(g->ex.stuck[at], stuck[i], "%dx%d frame %d taxel %zu: stuck %d", rows,
                         cols, frame, i, g->ex.stuck[at]);
            any_run |= run[i] > 1;
            any_stuck |= stuck[i];
        }
    }
    /* The frames must exercise the rule, not pass by being dull. */
    if (rows * cols >= 9) {
        cr_assert(any_run, "%dx%d: no run ever grew", rows, cols);
        cr_assert(sf == 0 || any_stuck, "%dx%d: no taxel ever stuck", rows, cols);
    }
    free(f);
    free(prev);
    free(run);
    free(stuck);
    km_bodygrid_free(g);
}

Test(frame_kernels, stuck_rule_matches_the_per_taxel_form)
{
    static const int32_t shapes[][2] = {{1, 1}, {1, 2}, {2, 1}, {1, 9},  {9, 1},   {2, 2},
                                        {3, 3}, {5, 37}, {32, 32}, {17, 33}, {4, 64}, {3, 17}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        for (int plain = 0; plain < 2; plain++) {
            check_stuck(shapes[k][0], shapes[k][1], 3, 12345u + (uint32_t)k, plain, INFINITY);
            check_stuck(shapes[k][0], shapes[k][1], 0, 777u + (uint32_t)k, plain, INFINITY);
            /* a saturation of 40: the alphabet's 40 and +inf are clipped */
            check_stuck(shapes[k][0], shapes[k][1], 3, 999u + (uint32_t)k, plain, 40.0);
        }
    }
}

/* A run at INT32_MAX stays there (the plain loop's saturation), in both
 * loops: row 1 repeats 5.0 while rows 0 and 2 change every frame, so each
 * of row 1's taxels counts every frame; its runs are set to INT32_MAX - 1
 * after the first frame.  A run that wrapped would go negative. */
Test(frame_kernels, stuck_run_saturates_at_int32_max)
{
    const int32_t rows = 3, cols = 41;
    for (int plain = 0; plain < 2; plain++) {
        km_bodygrid *g = stuck_grid(KM_MODE_ROLLER, rows, cols, INT32_MAX, plain);
        float f[3 * 41];
        for (int frame = 0; frame < 4; frame++) {
            for (int32_t x = 0; x < cols; x++) {
                f[x] = f[2 * cols + x] = (float)(frame + x);
                f[cols + x] = 5.0f;
            }
            km_frame fr = {f, rows, cols, cols};
            km_cand_layer_stuck(g, &fr);
            g->frame++;
            for (int32_t x = 0; x < cols; x++) {
                int32_t *rv = &g->ex.run[km_cand_at(g, 1, x)];
                if (frame == 0)
                    *rv = INT32_MAX - 1;
                else
                    cr_assert_eq(*rv, INT32_MAX, "plain %d frame %d column %d: run %d", plain,
                                 frame, x, *rv);
                cr_assert_eq(g->ex.stuck[km_cand_at(g, 1, x)], frame > 0);
            }
        }
        km_bodygrid_free(g);
    }
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The roller's contact test as the docs state it (docs/ALGORITHMS.md 7.2):
 * a usable taxel whose window of +-2 columns has a median of its usable
 * values (sorted; the mean of the two middle ones in float) >= thr. */
static int contact_reference(const float *row, const uint8_t *mask, int32_t cols, int32_t x,
                             double thr)
{
    float win[5];
    int n = 0;
    if (!mask[x] || !isfinite(row[x]))
        return 0;
    for (int32_t k = x - 2; k <= x + 2; k++)
        if (k >= 0 && k < cols && mask[k] && isfinite(row[k]))
            win[n++] = row[k];
    qsort(win, (size_t)n, sizeof *win, cmp_float);
    float med = (n & 1) ? win[n / 2] : 0.5f * (win[n / 2 - 1] + win[n / 2]);
    return med >= thr;
}

/* Random rows of cols taxels around thr (near: values at, just under and
 * just over it), with NaN, infinities and masked taxels; returns how many
 * were in contact and adds the others to *n_out. */
static int check_contact(int32_t cols, double thr, const float *near, uint32_t *s, int *n_out)
{
    int n_in = 0;
    for (int trial = 0; trial < 200; trial++) {
        float row[160];
        uint8_t mask[160], on[160];
        for (int32_t x = 0; x < cols; x++) {
            uint32_t k = lcg(s) % 14u;
            row[x] = k < 10 ? near[k] : k == 10 ? NAN : k == 11 ? INFINITY
                     : k == 12 ? -INFINITY : 30.0f;
            mask[x] = lcg(s) % 8u != 0;
        }
        km_mask m = {mask, 1, cols, cols};
        km_grid_roller_contact(on, row, &m, 0, cols, thr);
        for (int32_t x = 0; x < cols; x++) {
            int want = contact_reference(row, mask, cols, x, thr);
            cr_assert_eq(on[x], want, "cols %d thr %g trial %d x %d: on %d, expected %d", cols,
                         thr, trial, x, on[x], want);
            n_in += want;
            *n_out += !want;
        }
        /* No mask: every taxel is on the sensor. */
        memset(mask, 1, sizeof mask);
        km_grid_roller_contact(on, row, NULL, 0, cols, thr);
        for (int32_t x = 0; x < cols; x++)
            cr_assert_eq(on[x], contact_reference(row, mask, cols, x, thr), "cols %d x %d", cols,
                         x);
    }
    return n_in;
}

Test(frame_kernels, roller_contact_matches_the_median_of_five)
{
    /* thr 10: values at, just under and just over it (the mean of two
       middle values on either side of thr falls on either side), signed
       zeros.  thr 0.1 is no float: the float nearest it lies above it,
       the one below under it (the kernel compares floats with the first
       float >= thr).  Widths 1-40 and past the kernel's blocks of 64
       columns and its 16-column steps. */
    const float near10[] = {10.0f, nextafterf(10.0f, 0.0f), nextafterf(10.0f, 20.0f), 9.0f, 11.0f,
                            9.99f, 10.01f, 0.0f, -0.0f, 40.0f};
    const float near01[] = {0.1f, nextafterf(0.1f, 0.0f), nextafterf(0.1f, 1.0f), 0.05f, 0.2f,
                            nextafterf(nextafterf(0.1f, 0.0f), 0.0f), 0.15f, 0.0f, -0.0f, 0.3f};
    static const int32_t wide[] = {63, 64, 65, 66, 79, 80, 81, 127, 128, 129, 130, 131, 160};
    uint32_t s = 99u;
    int n_in = 0, n_out = 0;
    for (int32_t cols = 1; cols <= 40; cols++)
        n_in += check_contact(cols, 10.0, near10, &s, &n_out);
    for (size_t k = 0; k < sizeof wide / sizeof wide[0]; k++) {
        n_in += check_contact(wide[k], 10.0, near10, &s, &n_out);
        n_in += check_contact(wide[k], 0.1, near01, &s, &n_out);
    }
    for (int32_t cols = 1; cols <= 20; cols++)
        n_in += check_contact(cols, 0.1, near01, &s, &n_out);
    cr_assert(n_in > 1000 && n_out > 1000, "in %d, out %d", n_in, n_out);
}

/* The body map layer's deposit of a roller row (AVX2 four cells at a time
 * where the CPU has it) leaves every cell as the plain form does: maximum,
 * sum, count, passes and last touch, over frames that skip ahead by up to
 * twice the pass gap (new passes and continued ones), taxels out of
 * contact holding NaN, infinities or anything, widths with SIMD tails. */
static void check_body_row(int32_t cols, uint32_t *s)
{
    enum { RR = 3, NF = 60 };
    km_bodygrid *g[2] = {NULL, NULL};
    km_bodymap_params rule;
    km_bodymap_params_default(&rule);
    for (int k = 0; k < 2; k++)
        cr_assert_eq(km_bodygrid_create(ctx, KM_MODE_MAT, RR, cols, 5.0, 5.0, &rule, NULL,
                                        KM_GRID_BODYMAP, &g[k]),
                     KM_OK, "%s", km_ctx_last_error(ctx));
    float row[100];
    uint8_t on[100];
    int64_t frame = 0;
    for (int f = 0; f < NF; f++) {
        frame += 1 + (int64_t)(lcg(s) % (uint32_t)(2 * rule.pass_gap_frames + 2));
        g[0]->frame = g[1]->frame = frame;
        for (int32_t r = 0; r < RR; r++) {
            for (int32_t x = 0; x < cols; x++) {
                on[x] = lcg(s) % 4u != 0;
                uint32_t k = lcg(s) % 8u;
                row[x] = on[x] ? (k == 0 ? -0.0f : k == 1 ? 0.0f : draw(s))
                               : (k == 0 ? NAN : k == 1 ? INFINITY : draw(s));
            }
            size_t off = (size_t)r * (size_t)cols;
            km_body_layer_row(g[0], row, on, off);
            km_body_layer_row_plain(g[1], row, on, off, 0);
        }
        size_t n = (size_t)RR * (size_t)cols;
        cr_assert(memcmp(g[0]->max, g[1]->max, n * sizeof *g[0]->max) == 0, "cols %d max", cols);
        /* Bits, but any NaN equals any NaN: which NaN a sum of NaN and -nan
           (inf - inf) keeps follows the operand order the compiler picks for
           the plain form's +=, which differs between -O0 and -O2 (the
           sanitizer build's Debug gave -nan against +nan in one cell). */
        for (size_t q = 0; q < n; q++)
            cr_assert((isnan(g[0]->sum[q]) && isnan(g[1]->sum[q])) ||
                          memcmp(&g[0]->sum[q], &g[1]->sum[q], sizeof g[0]->sum[q]) == 0,
                      "cols %d sum, cell %zu: %a against %a", cols, q, g[0]->sum[q], g[1]->sum[q]);
        cr_assert(memcmp(g[0]->n, g[1]->n, n * sizeof *g[0]->n) == 0, "cols %d n", cols);
        cr_assert(memcmp(g[0]->cov, g[1]->cov, n * sizeof *g[0]->cov) == 0, "cols %d cov", cols);
        cr_assert(memcmp(g[0]->last, g[1]->last, n * sizeof *g[0]->last) == 0, "cols %d last",
                  cols);
    }
    int32_t most = 0;
    for (int32_t i = 0; i < RR * cols; i++)
        most = g[1]->cov[i] > most ? g[1]->cov[i] : most;
    cr_assert(cols < 4 || most > 1, "cols %d: no cell saw a second pass", cols);
    km_bodygrid_free(g[0]);
    km_bodygrid_free(g[1]);
}

Test(frame_kernels, body_row_same_cells_as_the_plain_form)
{
    uint32_t s = 2024u;
    for (int32_t cols = 1; cols <= 37; cols++)
        check_body_row(cols, &s);
    check_body_row(64, &s);
    check_body_row(99, &s);
}

/* The per-taxel maximum, sum and count over the frames: every finite value
 * counts, NaN and infinities do not; the AVX2 loop and (plain) the plain
 * one. */
static void check_taxel_maps(int plain)
{
    enum { RR = 5, CC = 37, NF = 80 };
    km_session_info info;
    km_process_params p;
    km_stage_body s;
    memset(&info, 0, sizeof info);
    info.mode = KM_MODE_MAT;
    info.rows = RR;
    info.cols = CC;
    info.row_pitch_mm = info.col_pitch_mm = 5.0;
    info.frame_rate_hz = 100.0;
    km_process_params_default(&p);
    cr_assert_eq(km_stage_body_create(ctx, &s, &info, &p), KM_OK, "%s", km_ctx_last_error(ctx));
    if (plain)
        s.avx2 = 0;
    static float f[RR * CC], mx[RR * CC];
    static double sum[RR * CC];
    static int64_t cnt[RR * CC];
    for (int k = 0; k < RR * CC; k++) {
        mx[k] = -INFINITY;
        sum[k] = 0.0;
        cnt[k] = 0;
    }
    uint32_t seed = 4242u;
    for (int i = 0; i < NF; i++) {
        for (int k = 0; k < RR * CC; k++) {
            /* Column 0 never finite, column 1 always -0 or NaN (the others
               a fifth NaN or infinite: groups of eight taxels all finite
               in some frames, not in others). */
            f[k] = k % CC == 0 ? (i & 1 ? NAN : INFINITY)
                   : k % CC == 1 ? (i % 3 ? -0.0f : NAN) : draw(&seed) * (float)(1 + i % 5);
            if (isfinite(f[k])) {
                mx[k] = f[k] > mx[k] ? f[k] : mx[k];
                sum[k] += (double)f[k];
                cnt[k]++;
            }
        }
        km_frame fr = {f, RR, CC, CC};
        km_odometry_sample odo;
        memset(&odo, 0, sizeof odo);
        cr_assert_eq(km_stage_body_add(ctx, &s, &fr, NULL, &odo, 0.01 * i), KM_OK);
    }
    for (int k = 0; k < RR * CC; k++) {
        cr_assert_eq(memcmp(&s.max_map[k], &mx[k], sizeof mx[k]), 0, "max %d: %a, expected %a", k,
                     (double)s.max_map[k], (double)mx[k]);
        cr_assert_eq(memcmp(&s.sum_map[k], &sum[k], sizeof sum[k]), 0, "sum %d: %a, expected %a",
                     k, s.sum_map[k], sum[k]);
        cr_assert_eq(s.map_frames - s.bad_map[k], cnt[k], "count %d", k);
    }
    cr_assert_eq(s.map_frames - s.bad_map[0], 0);
    cr_assert_gt(s.map_frames - s.bad_map[1], 0);
    km_stage_body_free(ctx, &s);
}

Test(frame_kernels, taxel_maps_count_finite_values_only)
{
    check_taxel_maps(0);
    check_taxel_maps(1);
}

/* The k-th of the row's valid values (mask 1, finite) in their stable order:
 * by value, equal values (+0.0 and -0.0) by position. */
static float stable_rank(const float *row, const uint8_t *mrow, int32_t cols, size_t k)
{
    float v[64];
    size_t n = 0;
    for (int32_t c = 0; c < cols; c++)
        if ((mrow == NULL || mrow[c]) && isfinite(row[c])) {
            size_t j = n++;
            for (; j > 0 && v[j - 1] > row[c]; j--)
                v[j] = v[j - 1];
            v[j] = row[c];
        }
    cr_assert_lt(k, n);
    return v[k];
}

static size_t n_valid(const float *row, const uint8_t *mrow, int32_t cols)
{
    size_t n = 0;
    for (int32_t c = 0; c < cols; c++)
        n += (mrow == NULL || mrow[c]) && isfinite(row[c]);
    return n;
}

/* Row medians (km_odometry_row_medians' contract in knotmap.h, and its wide
 * rule: the median of the `wide` largest values when a quarter of a row is
 * loaded above its median) on rows all finite (one copy), with NaN,
 * infinities or masked taxels, and all invalid. */
Test(frame_kernels, row_medians_match_the_stable_rank)
{
    enum { RR = 6, CC = 32 };
    km_odometry *o = NULL;
    cr_assert_eq(km_odometry_create(ctx, RR, CC, 30.0, NULL, &o), KM_OK);
    static float f[RR * CC], scratch[CC];
    static uint8_t m[RR * CC];
    double med[RR];
    uint32_t seed = 77u;
    for (int trial = 0; trial < 400; trial++) {
        for (int k = 0; k < RR * CC; k++) {
            int r = k / CC;
            float v = draw(&seed);
            /* Rows 0-2 all finite, row 3 all invalid, rows 4-5 anything. */
            f[k] = r <= 2 ? (isfinite(v) ? v : 5.0f) : r == 3 ? NAN : v;
            f[k] *= (float)(1 + (trial % 7) * (k % 3 == 0));
            m[k] = (uint8_t)(r != 5 || lcg(&seed) % 4 != 0);
        }
        km_frame fr = {f, RR, CC, CC};
        km_mask mk = {m, RR, CC, CC};
        for (int with_mask = 0; with_mask < 2; with_mask++) {
            const uint8_t *mp = with_mask ? m : NULL;
            km_odometry_row_medians(o, &fr, with_mask ? &mk : NULL, scratch, med);
            double want[RR];
            float low = INFINITY, wide_med = 0.0f;
            size_t wide = 0;
            for (int r = 0; r < RR; r++) {
                const float *row = f + r * CC;
                const uint8_t *mr = mp != NULL ? mp + r * CC : NULL;
                size_t n = n_valid(row, mr, CC), above = 0;
                float md = n == 0 ? 0.0f : stable_rank(row, mr, CC, n / 2);
                for (int c = 0; c < CC; c++)
                    above += (mr == NULL || mr[c]) && isfinite(row[c]) && row[c] > md + 5.0f;
                if (above * 4 >= n && n > 0) { /* the loaded part: over 3 robust sd too */
                    float dev[CC];
                    size_t q = 0;
                    for (int c = 0; c < CC; c++)
                        if ((mr == NULL || mr[c]) && isfinite(row[c]))
                            dev[q++] = fabsf(row[c] - md);
                    qsort(dev, q, sizeof dev[0], cmp_float);
                    float t = 3.0f * 1.4826f * dev[n / 2];
                    t = t > 5.0f ? t : 5.0f;
                    above = 0;
                    for (int c = 0; c < CC; c++)
                        above += (mr == NULL || mr[c]) && isfinite(row[c]) && row[c] > md + t;
                }
                if (above > wide) {
                    wide = above;
                    wide_med = md;
                }
                low = md < low ? md : low;
                want[r] = md;
            }
            if (!(wide * 4 < (size_t)CC || wide_med - low >= 5.0f))
                for (int r = 0; r < RR; r++) {
                    const float *row = f + r * CC;
                    const uint8_t *mr = mp != NULL ? mp + r * CC : NULL;
                    size_t n = n_valid(row, mr, CC);
                    size_t k = n > wide / 2 ? n - 1 - wide / 2 : 0;
                    want[r] = n == 0 ? 0.0 : (double)stable_rank(row, mr, CC, k);
                }
            for (int r = 0; r < RR; r++)
                cr_assert_eq(memcmp(&med[r], &want[r], sizeof med[r]), 0,
                             "trial %d mask %d row %d: %a, expected %a", trial, with_mask, r,
                             med[r], want[r]);
        }
    }
    km_odometry_free(o);
}

static int float_order(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* km_map_noise as first written: the median and the MAD of the finite
 * horizontal differences by two sorts. */
static double map_noise_sorted(const float *a, int32_t ny, int32_t nx, int32_t y0, int32_t y1,
                               int32_t x0, int32_t x1, float *buf)
{
    size_t n = 0;
    for (int32_t y = y0; y < y1 && y < ny; y++)
        for (int32_t x = x0; x < x1 && x < nx; x++) {
            size_t i = (size_t)y * (size_t)nx + (size_t)x;
            float dx = x + 1 < x1 && x + 1 < nx ? a[i + 1] - a[i] : NAN;
            if (isfinite(dx))
                buf[n++] = dx;
        }
    if (n < 2)
        return 0.0;
    qsort(buf, n, sizeof *buf, float_order);
    float med = (n & 1) ? buf[n / 2] : 0.5f * (buf[n / 2 - 1] + buf[n / 2]);
    for (size_t k = 0; k < n; k++)
        buf[k] = fabsf(buf[k] - med);
    qsort(buf, n, sizeof *buf, float_order);
    double mad = (n & 1) ? buf[n / 2] : 0.5 * ((double)buf[n / 2 - 1] + (double)buf[n / 2]);
    return 1.482602218505602 * mad / sqrt(2.0);
}

/* Maps of a few values (many equal differences, +-0, NaN, infinities),
 * windows of every parity, one-cell and empty ones. */
Test(frame_kernels, map_noise_matches_the_sorted_form)
{
    enum { NY = 9, NX = 13 };
    static float a[NY * NX], buf[NY * NX];
    uint32_t seed = 99u;
    for (int trial = 0; trial < 300; trial++) {
        for (int k = 0; k < NY * NX; k++)
            a[k] = draw(&seed) * (trial % 3 == 0 ? 0.5f : 1.0f);
        for (int w = 0; w < 20; w++) {
            int32_t y0 = (int32_t)(lcg(&seed) % NY), x0 = (int32_t)(lcg(&seed) % NX);
            int32_t y1 = y0 + 1 + (int32_t)(lcg(&seed) % NY);
            int32_t x1 = x0 + 1 + (int32_t)(lcg(&seed) % NX);
            double want = map_noise_sorted(a, NY, NX, y0, y1, x0, x1, buf);
            double got = km_map_noise(a, NY, NX, y0, y1, x0, x1, buf);
            cr_assert_eq(memcmp(&got, &want, sizeof got), 0,
                         "trial %d window [%d,%d)x[%d,%d): %a, expected %a", trial, y0, y1, x0,
                         x1, got, want);
        }
    }
}

/* The median of the finite values row[a..b] whose ok[] is set, in column
 * order, by the stable rank (km_median_small_f): what a stable sort of the
 * window gives, signed zeros included. */
static float window_median_reference(const float *row, const uint8_t *ok, int a, int b)
{
    float v[64];
    int n = 0;
    for (int x = a; x <= b; x++)
        if (ok[x])
            v[n++] = row[x];
    return km_median_small_f(v, n);
}

/* A finite value for the window tests: from the small alphabet (+-0,
 * ties), or spread over +-370 (every fourth trial, and for NaN and the
 * infinities). */
static float finite_draw(uint32_t *seed, int trial)
{
    float v = draw(seed);
    if (!isfinite(v) || trial % 4 == 1)
        v = (float)((int)(lcg(seed) % 2001u) - 1000) * 0.37f;
    return v;
}

/* The branch-free window (km_window16_*) against the plain one
 * (km_window_insert/remove) and against the stable-rank median, slid along
 * rows as the candidate layer's row median slides (src/track/candidates.c):
 * finite values from a small alphabet (+-0, ties) or spread ones, columns
 * left out, half widths 0-7 (windows of 1-15 values), rows of 1-40 columns.
 * Equal contents bit for bit after every step (signed zeros tell a
 * misplaced equal value), the same median as the reference. */
Test(frame_kernels, sliding_window_matches_the_plain_form)
{
    enum { MAXC = 40 };
    float row[MAXC], plain[KM_WINDOW16], fast[KM_WINDOW16];
    uint8_t ok[MAXC];
    uint32_t seed = 4242u;
    int tested = 0;
    for (int trial = 0; trial < 3000; trial++) {
        int cols = 1 + (int)(lcg(&seed) % MAXC), w = (int)(lcg(&seed) % 8);
        for (int x = 0; x < cols; x++) {
            row[x] = finite_draw(&seed, trial);
            ok[x] = (uint8_t)(lcg(&seed) % 5u != 0u);
        }
        km_window16_clear(fast);
        int np = 0, nf = 0;
        for (int x = 0, lo = 0, hi = -1; x < cols; x++) {
            int a = x - w < 0 ? 0 : x - w, b = x + w >= cols ? cols - 1 : x + w;
            for (; lo < a; lo++)
                if (ok[lo]) {
                    np = km_window_remove(plain, np, row[lo]);
                    nf = km_window16_remove(fast, nf, row[lo]);
                }
            for (; hi < b; hi++)
                if (ok[hi + 1]) {
                    np = km_window_insert(plain, np, row[hi + 1]);
                    nf = km_window16_insert(fast, nf, row[hi + 1]);
                }
            cr_assert_eq(nf, np);
            cr_assert_eq(memcmp(fast, plain, (size_t)np * sizeof *fast), 0,
                         "trial %d column %d: the windows differ", trial, x);
            for (int k = np; k < KM_WINDOW16; k++)
                cr_assert(fast[k] == INFINITY, "trial %d: unused slot %d is %a", trial, k,
                          (double)fast[k]);
            if (np == 0)
                continue;
            float got = (np & 1) ? fast[np / 2] : 0.5f * (fast[np / 2 - 1] + fast[np / 2]);
            float want = window_median_reference(row, ok, a, b);
            cr_assert_eq(memcmp(&got, &want, sizeof got), 0,
                         "trial %d column %d: median %a, reference %a", trial, x, (double)got,
                         (double)want);
            tested++;
        }
    }
    cr_assert(tested > 10000);
}

/* The row median by the selection network (km_row_window_medians_f: full
 * windows eight at a time by min and max, partial ones by rank) against the
 * stable-rank median, on the rows of the test above: every usable column's
 * median bit for bit (signed zeros included, which min and max alone would
 * swap), columns left out untouched, windows of 1-15 values with any
 * number of columns missing (odd and even counts left), rows shorter than
 * a window and than the eight lanes. */
Test(frame_kernels, window_network_matches_the_rank_median)
{
    enum { MAXC = 40 };
    float row[MAXC], bg[MAXC];
    uint8_t ok[MAXC];
    void *scratch = malloc(km_row_window_scratch(MAXC, KM_MEDIAN_NET_MAX));
    cr_assert_not_null(scratch);
    uint32_t seed = 777u;
    int tested = 0, zeros = 0;
    for (int trial = 0; trial < 4000; trial++) {
        int cols = 1 + (int)(lcg(&seed) % MAXC), w = (int)(lcg(&seed) % 8);
        for (int x = 0; x < cols; x++) {
            row[x] = finite_draw(&seed, trial);
            ok[x] = (uint8_t)(trial % 3 == 0 || lcg(&seed) % 7u != 0u);
            bg[x] = -1234.5f;
        }
        const km_median_net *net = km_median_net_for(2 * w + 1);
        cr_assert_not_null(net);
        km_row_window_medians_f(net, row, ok, cols, scratch, bg);
        for (int x = 0; x < cols; x++) {
            if (!ok[x]) {
                cr_assert(bg[x] == -1234.5f, "trial %d column %d: written", trial, x);
                continue;
            }
            int a = x - w < 0 ? 0 : x - w, b = x + w >= cols ? cols - 1 : x + w;
            float want = window_median_reference(row, ok, a, b);
            cr_assert_eq(memcmp(&bg[x], &want, sizeof want), 0,
                         "trial %d column %d (w %d): median %a, reference %a", trial, x, w,
                         (double)bg[x], (double)want);
            zeros += want == 0.0f;
            tested++;
        }
    }
    free(scratch);
    cr_assert(tested > 50000 && zeros > 1000, "tested %d, zero medians %d", tested, zeros);
}

/* The sorting network's table (km_sort32_net, a literal so that the
 * compiler keeps the slots in registers) is Batcher's network as
 * km_batcher_net builds it, and it sorts: every 0/1 input of 32 (the 0-1
 * principle) would be 2^32; random 0/1 inputs and the rows below stand in. */
/* The window networks' tables (km_median_net_for, literals so that every
 * slot is a constant) are km_batcher_net's for each odd window. */
Test(frame_kernels, window_tables_are_batchers_networks)
{
    for (int n = 1; n <= KM_MEDIAN_NET_MAX; n += 2) {
        unsigned char lo[64], hi[64];
        uint64_t outs = 1ull << (n / 2) | (n / 2 + 1 < n ? 1ull << (n / 2 + 1) : 0u);
        int m = km_batcher_net(16, n, outs, lo, hi, 64);
        const km_median_net *net = km_median_net_for(n);
        cr_assert(net != NULL && net->n == n && net->ncmp == m, "n %d: %d comparators", n, m);
        cr_assert(m == 0 || (memcmp(net->lo, lo, (size_t)m) == 0 &&
                             memcmp(net->hi, hi, (size_t)m) == 0), "n %d: table differs", n);
    }
    cr_assert_null(km_median_net_for(2));
    cr_assert_null(km_median_net_for(KM_MEDIAN_NET_MAX + 2));
}

Test(frame_kernels, sort32_table_is_batchers_network)
{
    unsigned char lo[256], hi[256];
    int m = km_batcher_net(32, 32, ~0ull, lo, hi, 256), ncmp;
    const unsigned char *thi, *tlo = km_sort32_net(&ncmp, &thi);
    cr_assert_eq(m, 191);
    cr_assert_eq(ncmp, m);
    cr_assert_eq(memcmp(tlo, lo, (size_t)m), 0);
    cr_assert_eq(memcmp(thi, hi, (size_t)m), 0);
    uint32_t seed = 99u;
    for (int trial = 0; trial < 20000; trial++) {
        uint8_t v[32];
        for (int j = 0; j < 32; j++)
            v[j] = (uint8_t)(lcg(&seed) >> 7 & 1u);
        for (int c = 0; c < m; c++)
            if (v[lo[c]] > v[hi[c]]) {
                uint8_t x = v[lo[c]];
                v[lo[c]] = v[hi[c]];
                v[hi[c]] = x;
            }
        for (int j = 1; j < 32; j++)
            cr_assert(v[j - 1] <= v[j], "trial %d: not sorted at %d", trial, j);
    }
}

/* Eight rows sorted at once (km_rows_sort32_f, the odometry's row
 * statistics) against the stable rank: rows of 1-32 columns with masked,
 * NaN and infinite taxels, values from a small alphabet (+-0, ties) or
 * spread; every rank of every row bit for bit, a zero only where the row
 * has no -0.0 (where it has one, the caller takes zeros by rank: flagged),
 * +inf past the valid count. */
Test(frame_kernels, rows_sorted_eight_at_once_match_the_rank)
{
    enum { COLS = 40 };
    float data[8 * COLS], vals[32];
    uint8_t mask[8 * COLS];
    uint32_t seed = 31337u;
    km_rows32 out;
    int checked = 0, flagged = 0;
    for (int trial = 0; trial < 3000; trial++) {
        int cols = 1 + (int)(lcg(&seed) % 32u), rows = 1 + (int)(lcg(&seed) % 8u);
        int use_mask = trial % 3 != 0;
        for (int k = 0; k < 8 * COLS; k++) {
            float v = draw(&seed);
            if (trial % 4 == 1 && isfinite(v))
                v = (float)((int)(lcg(&seed) % 2001u) - 1000) * 0.37f;
            data[k] = v;
            mask[k] = (uint8_t)(lcg(&seed) % 6u != 0u);
        }
        if (!km_rows_sort32_f(data, COLS, use_mask ? mask : NULL, COLS, rows, cols, &out))
            cr_skip_test("no AVX2");
        for (int l = 0; l < rows; l++) {
            int n = 0, negzero = 0;
            for (int j = 0; j < cols; j++) {
                float v = data[l * COLS + j];
                if (isfinite(v) && (!use_mask || mask[l * COLS + j])) {
                    vals[n++] = v;
                    negzero |= v == 0.0f && signbit(v);
                }
            }
            cr_assert_eq(out.n[l], n, "trial %d row %d", trial, l);
            cr_assert_eq(out.negzero[l], negzero, "trial %d row %d", trial, l);
            for (int k = 0; k < 32; k++) {
                float got = out.v[k][l];
                if (k >= n) {
                    cr_assert(got == INFINITY, "trial %d row %d slot %d", trial, l, k);
                    continue;
                }
                float want = km_select_rank_f(vals, (size_t)n, (size_t)k);
                if (negzero && want == 0.0f) {
                    cr_assert(got == 0.0f);
                    flagged++;
                    continue;
                }
                cr_assert_eq(memcmp(&got, &want, sizeof got), 0,
                             "trial %d row %d rank %d: %a, reference %a", trial, l, k,
                             (double)got, (double)want);
                checked++;
            }
        }
    }
    cr_assert(checked > 100000 && flagged > 1000, "checked %d, flagged %d", checked, flagged);
}

/* The corrupt-frame sum's reference: |v| of the valid, finite values added
 * in index order; *rev gets the same added in reverse (so that a test can
 * count the sums whose bits depend on the order). */
static double plain_abs_sum(const float *v, const uint8_t *mk, size_t n, double *rev)
{
    double want = 0.0, r = 0.0;
    for (size_t k = 0; k < n; k++)
        if ((mk == NULL || mk[k]) && isfinite(v[k]))
            want += fabs((double)v[k]);
    for (size_t k = n; k-- > 0;)
        if ((mk == NULL || mk[k]) && isfinite(v[k]))
            r += fabs((double)v[k]);
    *rev = r;
    return want;
}

/* The conditioner's corrupt-frame sum (km_abs_sum_masked) against the
 * plain loop in index order, bit for bit: counts (every partial sum exact:
 * the lanes' order may differ), values spread over 2^-40..2^19 or over
 * 2^0..2^25 (near the bound: the order matters, the plain loop must be
 * taken), NaN, infinities, -0.0, masks, 0-2000 values. */
Test(frame_kernels, abs_sum_matches_the_plain_loop)
{
    enum { N = 2000 };
    static float v[N];
    static uint8_t m[N];
    uint32_t seed = 2718u;
    int differs_by_order = 0;
    for (int trial = 0; trial < 3000; trial++) {
        size_t n = (size_t)(lcg(&seed) % (N + 1));
        int kind = trial % 4;
        for (size_t k = 0; k < n; k++) {
            uint32_t r = lcg(&seed);
            v[k] = kind == 0 ? (float)(int)(r % 4001u) - 2000.0f
                   : kind == 1 ? ldexpf((float)(r % 1000u) + 0.37f, (int)(lcg(&seed) % 50u) - 40)
                   : kind == 2 ? ldexpf((float)(r % 1000u) + 0.37f, (int)(lcg(&seed) % 16u))
                               : draw(&seed) * 17.3f;
            m[k] = (uint8_t)(lcg(&seed) % 9u != 0u);
        }
        const uint8_t *mk = trial % 2 ? m : NULL;
        double rev, want = plain_abs_sum(v, mk, n, &rev);
        differs_by_order += rev != want;
        double got = km_abs_sum_masked(v, mk, n);
        cr_assert_eq(memcmp(&got, &want, sizeof got), 0, "trial %d (kind %d, n %zu): %a, plain %a",
                     trial, kind, n, got, want);
        /* The copying form: the same sum, the values copied bit for bit
           (NaN, -0.0, masked ones too) and nothing past n written. */
        static float cp[N + 1];
        memset(cp, 0x5a, sizeof cp);
        got = km_abs_sum_masked_copy(v, mk, n, cp);
        cr_assert_eq(memcmp(&got, &want, sizeof got), 0, "copy: trial %d", trial);
        cr_assert_eq(memcmp(cp, v, n * sizeof *v), 0, "copy: trial %d (kind %d, n %zu)", trial,
                     kind, n);
        uint32_t past;
        memcpy(&past, cp + n, sizeof past);
        cr_assert_eq(past, 0x5a5a5a5au, "copy: trial %d wrote past n", trial);
    }
    /* The spread values must be ones whose sum depends on the order. */
    cr_assert(differs_by_order > 100, "only %d sums depend on the order", differs_by_order);
}

/* The median of the valid, finite 8-neighbours as docs/ALGORITHMS.md 11 and
 * the offset test state it: the middle value of them in order, ties (+0.0
 * and -0.0) ordered by their row-major place, or the mean of the two middle
 * ones in float; NaN when none. */
static float neighbour_median_reference(int32_t rows, int32_t cols, const uint8_t *mask,
                                        const float *f, int32_t r, int32_t c)
{
    float nb[8];
    int n = 0;
    for (int32_t dr = -1; dr <= 1; dr++)
        for (int32_t dc = -1; dc <= 1; dc++) {
            int32_t rr = r + dr, cc = c + dc;
            if ((dr == 0 && dc == 0) || rr < 0 || rr >= rows || cc < 0 || cc >= cols)
                continue;
            size_t k = (size_t)rr * (size_t)cols + (size_t)cc;
            if (mask[k] && isfinite(f[k]))
                nb[n++] = f[k];
        }
    if (n == 0)
        return NAN;
    float at[8];
    for (int i = 0; i < n; i++) {
        int rank = 0;
        for (int j = 0; j < n; j++)
            rank += nb[j] < nb[i] || (nb[j] == nb[i] && j < i);
        at[rank] = nb[i];
    }
    return n % 2 ? at[n / 2] : 0.5f * (at[n / 2 - 1] + at[n / 2]);
}

/* The offset test's frame of neighbour medians (src/dsp/neighbour_median.c)
 * against the reference, bit for bit: masked and non-finite neighbours,
 * ties, both signed zeros or one of them, grids of one row or column and
 * widths that are no multiple of four. */
Test(frame_kernels, neighbour_medians_match_the_plain_form)
{
    enum { MAXR = 9, MAXC = 37 };
    float f[MAXR * MAXC], out[MAXR * MAXC];
    uint8_t mask[MAXR * MAXC];
    uint32_t seed = 977u;
    int tested = 0, full = 0;
    for (int trial = 0; trial < 2000; trial++) {
        int32_t rows = 1 + (int32_t)(lcg(&seed) % MAXR), cols = 1 + (int32_t)(lcg(&seed) % MAXC);
        int mode = trial % 4;
        for (int32_t k = 0; k < rows * cols; k++) {
            float v = draw(&seed);
            if (mode == 1 && !isfinite(v))
                v = 1.0f;
            if (mode >= 2)
                v = (float)((int)(lcg(&seed) % 2001u) - 1000) * 0.37f;
            if (mode == 3 && lcg(&seed) % 4u == 0u)
                v = 0.0f; /* zeros of one sign: the network's */
            f[k] = v;
            mask[k] = (uint8_t)(mode == 0 ? lcg(&seed) % 6u != 0u : 1u);
        }
        /* four taxels at a time (SSE2) and, where the CPU has AVX2, eight */
        km_neighbour_medians_lanes(rows, cols, mask, f, trial % 2, out);
        for (int32_t r = 0; r < rows; r++)
            for (int32_t c = 0; c < cols; c++) {
                size_t k = (size_t)r * (size_t)cols + (size_t)c;
                float want = neighbour_median_reference(rows, cols, mask, f, r, c);
                float plain = km_neighbour_median_plain(rows, cols, mask, f, r, c);
                cr_assert_eq(memcmp(&out[k], &want, sizeof want), 0,
                             "trial %d (%dx%d) taxel (%d, %d): %a, reference %a", trial, rows,
                             cols, r, c, (double)out[k], (double)want);
                cr_assert_eq(memcmp(&plain, &want, sizeof want), 0);
                tested++;
                full += r > 0 && r < rows - 1 && c > 0 && c < cols - 1 && mode >= 2;
            }
    }
    cr_assert(tested > 100000 && full > 50000, "tested %d, interior %d", tested, full);
}

/* Rows wider than the strips the medians are taken in (1024 columns): the
 * taxels beside a strip's edge see the next strip's columns. */
Test(frame_kernels, neighbour_medians_of_wide_rows)
{
    enum { R = 3, C = 2051 };
    static float f[R * C], out[R * C];
    static uint8_t mask[R * C];
    uint32_t seed = 4242u;
    for (int32_t k = 0; k < R * C; k++) {
        f[k] = (float)((int)(lcg(&seed) % 2001u) - 1000) * 0.37f;
        mask[k] = (uint8_t)(lcg(&seed) % 11u != 0u);
    }
    for (int avx2 = 0; avx2 < 2; avx2++) {
        km_neighbour_medians_lanes(R, C, mask, f, avx2, out);
        for (int32_t r = 0; r < R; r++)
            for (int32_t c = 0; c < C; c++) {
                float want = neighbour_median_reference(R, C, mask, f, r, c);
                size_t k = (size_t)r * C + (size_t)c;
                cr_assert_eq(memcmp(&out[k], &want, sizeof want), 0,
                             "avx2 %d taxel (%d, %d): %a, reference %a", avx2, r, c,
                             (double)out[k], (double)want);
            }
    }
}

/* The hot-taxel test's neighbour maxima (km_neighbour_maxes) against a
 * brute-force reference: the largest valid, finite 8-neighbour, -inf when
 * none (+0.0 and -0.0 equal): masks, NaN and infinities as neighbours,
 * grids of one row or column, all-masked neighbourhoods.  The plain form
 * (one taxel) too. */
Test(frame_kernels, neighbour_maxes_match_brute_force)
{
    enum { MAXR = 9, MAXC = 37 };
    float f[MAXR * MAXC], out[MAXR * MAXC];
    uint8_t mask[MAXR * MAXC];
    uint32_t seed = 4111u;
    int tested = 0, none = 0;
    for (int trial = 0; trial < 2000; trial++) {
        int32_t rows = 1 + (int32_t)(lcg(&seed) % MAXR), cols = 1 + (int32_t)(lcg(&seed) % MAXC);
        int mode = trial % 3;
        for (int32_t k = 0; k < rows * cols; k++) {
            float v = draw(&seed);
            if (mode == 2)
                v = (float)((int)(lcg(&seed) % 2001u) - 1000) * 0.37f;
            f[k] = v;
            mask[k] = (uint8_t)(mode == 1 ? 1u : lcg(&seed) % (mode == 0 ? 3u : 6u) != 0u);
        }
        km_neighbour_maxes(rows, cols, mask, f, out);
        for (int32_t r = 0; r < rows; r++)
            for (int32_t c = 0; c < cols; c++) {
                float want = -INFINITY;
                for (int32_t rr = 0; rr < rows; rr++)
                    for (int32_t cc = 0; cc < cols; cc++) {
                        size_t q = (size_t)rr * (size_t)cols + (size_t)cc;
                        int adjacent = abs(rr - r) <= 1 && abs(cc - c) <= 1 && (rr != r || cc != c);
                        if (adjacent && mask[q] && isfinite(f[q]) && f[q] > want)
                            want = f[q];
                    }
                size_t k = (size_t)r * (size_t)cols + (size_t)c;
                float plain = km_neighbour_max_plain(rows, cols, mask, f, r, c);
                cr_assert(out[k] == want, "trial %d (%dx%d) taxel (%d, %d): %a, want %a", trial,
                          rows, cols, r, c, (double)out[k], (double)want);
                cr_assert(plain == want);
                tested++;
                none += want == -INFINITY;
            }
    }
    cr_assert(tested > 100000 && none > 1000, "tested %d, without a neighbour %d", tested, none);
}

/* The count of taxel (r, c)'s neighbours with mask != 0 above halfway from
 * floor to it, by brute force. */
static int count_half_brute(int32_t rows, int32_t cols, const uint8_t *mask, const float *f,
                            double floor, int32_t r, int32_t c)
{
    double half = 0.5 * ((double)f[(size_t)r * (size_t)cols + (size_t)c] + floor);
    int want = 0;
    for (int32_t rr = r - 1; rr <= r + 1; rr++)
        for (int32_t cc = c - 1; cc <= c + 1; cc++) {
            if (rr < 0 || rr >= rows || cc < 0 || cc >= cols || (rr == r && cc == c))
                continue;
            size_t q = (size_t)rr * (size_t)cols + (size_t)cc;
            if (mask[q] != 0 && (double)f[q] > half)
                want++;
        }
    return want;
}

/* A trial's frame for neighbour_count_half_matches_brute_force.  Modes 3
 * and 4 put the neighbours on the floats about a level that no float
 * equals (3: a floor of 52 significant bits; 4: levels beyond FLT_MAX, a
 * hair below 0, among the subnormals), where the kernel's float compare
 * must step its rounded level down exactly. */
static double count_half_frame(int mode, int32_t n, uint32_t *seed, float *f, uint8_t *mask)
{
    /* levels: 1.25 FLT_MAX (rounds to +inf), -2^-201 (to -0.0), between two
       subnormals, -1.125 FLT_MAX (to -inf), 1.55, just below -FLT_MAX (to
       -FLT_MAX) */
    static const float centre4[] = {FLT_MAX, -0.0f, 0x1p-140f, -FLT_MAX, 3.0f, -FLT_MAX};
    static const double floor4[] = {0x1.fffffep127 * 1.5, -0x1p-200, 0x1p-148 + 0x1p-170,
                                    -0x1.fffffep127 * 1.25, 0.1, -0x1.fffffep127 * (1.0 + 0x1p-30)};
    int pick = (int)(lcg(seed) % 6u);
    float x = mode == 3 ? 1.0f + (float)(lcg(seed) % 1000u) / 256.0f : centre4[pick];
    double floor = mode == 3 ? 0.1 + (double)lcg(seed) * 0x1p-40 : mode == 2 ? 2.0
                   : mode == 4 ? floor4[pick] : (double)draw(seed);
    double h = 0.5 * ((double)x + floor);
    float near = (float)h, lo = nextafterf(near, -INFINITY), hi = nextafterf(near, INFINITY);
    for (int32_t k = 0; k < n; k++) {
        uint32_t u = lcg(seed);
        if (mode >= 3) { /* the centre value, or a float next to its level */
            float v[8] = {x, x, near, lo, hi, -0.0f, 0.0f, NAN};
            f[k] = v[u % 8u];
        } else {
            /* mode 2: small integers, so a neighbour often equals the level */
            f[k] = mode == 2 ? (float)(u % 9u) : draw(seed);
        }
        mask[k] = (uint8_t)(mode == 1 ? 1u + lcg(seed) % 3u : lcg(seed) % 4u != 0u);
    }
    return floor;
}

/* The offset test's footprint count (km_neighbour_count_half: SSE2 four
 * taxels at a time from NaN-padded rows, else gathered) against a
 * brute-force count: masks, NaN and infinities as the taxel and as
 * neighbours, ties with the halfway level, levels no float equals, grids
 * of one row or column. */
Test(frame_kernels, neighbour_count_half_matches_brute_force)
{
    enum { MAXR = 9, MAXC = 37 };
    float f[MAXR * MAXC];
    uint8_t mask[MAXR * MAXC], out[MAXR * MAXC];
    uint32_t seed = 5150u;
    int tested = 0, counts[9] = {0}, edge = 0;
    for (int trial = 0; trial < 3000; trial++) {
        int32_t rows = 1 + (int32_t)(lcg(&seed) % MAXR), cols = 1 + (int32_t)(lcg(&seed) % MAXC);
        int mode = trial % 5;
        double floor = count_half_frame(mode, rows * cols, &seed, f, mask);
        km_neighbour_count_half(rows, cols, mask, f, floor, out);
        for (int32_t r = 0; r < rows; r++)
            for (int32_t c = 0; c < cols; c++) {
                size_t k = (size_t)r * (size_t)cols + (size_t)c;
                int want = count_half_brute(rows, cols, mask, f, floor, r, c);
                cr_assert(out[k] == want, "trial %d (%dx%d) taxel (%d, %d): %d, want %d", trial,
                          rows, cols, r, c, out[k], want);
                counts[want]++;
                tested++;
                edge += mode >= 3 && want > 0 && want < 8;
            }
    }
    cr_assert(tested > 150000 && counts[0] > 1000 && counts[8] > 100 && edge > 10000,
              "tested %d, 0: %d, 8: %d, at a level no float equals %d", tested, counts[0],
              counts[8], edge);
}

/* Rows wider than the kernel's row buffer take the gathered loop: the same
 * counts as brute force. */
Test(frame_kernels, neighbour_count_half_of_wide_rows)
{
    enum { R = 4, C = 1031 };
    static float f[R * C];
    static uint8_t mask[R * C], out[R * C];
    uint32_t seed = 77u;
    for (int mode = 0; mode < 5; mode++) {
        double floor = count_half_frame(mode, R * C, &seed, f, mask);
        km_neighbour_count_half(R, C, mask, f, floor, out);
        for (int32_t r = 0; r < R; r++)
            for (int32_t c = 0; c < C; c++)
                cr_assert(out[(size_t)r * C + (size_t)c] == count_half_brute(R, C, mask, f, floor, r, c),
                          "mode %d taxel (%d, %d)", mode, r, c);
    }
}

/* Rows wider than the kernel's row buffer take its scalar loop: the same
 * maxima as the plain form (itself checked by brute force above). */
Test(frame_kernels, neighbour_maxes_of_wide_rows)
{
    enum { R = 4, C = 1031 };
    static float f[R * C], out[R * C];
    static uint8_t mask[R * C];
    uint32_t seed = 99u;
    for (int trial = 0; trial < 3; trial++) {
        for (size_t k = 0; k < (size_t)R * C; k++) {
            f[k] = trial == 0 ? draw(&seed) : (float)((int)(lcg(&seed) % 201u) - 100);
            mask[k] = (uint8_t)(lcg(&seed) % 5u != 0u);
        }
        km_neighbour_maxes(R, C, mask, f, out);
        for (int32_t r = 0; r < R; r++)
            for (int32_t c = 0; c < C; c++) {
                float want = km_neighbour_max_plain(R, C, mask, f, r, c);
                cr_assert(out[(size_t)r * C + (size_t)c] == want, "(%d, %d): %a, want %a", r, c,
                          (double)out[(size_t)r * C + (size_t)c], (double)want);
            }
    }
}

/* km_abs_sum_masked (src/core/exact_sum.c) at the edge of its exactness
 * tests, bit for bit against the plain loop in index order: values of one
 * binary order with full significands and a few far smaller ones whose ulp
 * puts the whole within a factor 4 either side of 2^53 of them, so that
 * adding in lanes rounds differently from the plain order unless the test
 * refuses the lanes. */
Test(frame_kernels, abs_sum_at_the_exactness_bound_matches_the_plain_loop)
{
    enum { N = 1100 };
    static float v[N];
    static uint8_t m[N];
    uint32_t s = 8080u;
    int differs_by_order = 0;
    for (int t = 0; t < 4000; t++) {
        size_t n = 8 + lcg(&s) % (N - 8);
        int big = 10 + (int)(lcg(&s) % 10);
        double whole = 0.0;
        for (size_t k = 0; k < n; k++) {
            float x = ldexpf(1.0f + (float)(lcg(&s) % (1u << 23)) / (float)(1u << 23), big);
            v[k] = lcg(&s) % 3 == 0 ? 0.0f : (lcg(&s) & 1) ? x : -x;
            m[k] = (uint8_t)(lcg(&s) % 7 != 0);
            whole += fabs((double)v[k]);
        }
        int small = ilogb(whole > 0.0 ? whole : 1.0) - 30 + (int)(lcg(&s) % 5) - 2;
        for (int j = 0, ns = 1 + (int)(lcg(&s) % 3); j < ns; j++)
            v[lcg(&s) % n] = ldexpf(1.0f + (float)(lcg(&s) % (1u << 23)) / (float)(1u << 23), small);
        const uint8_t *mk = (t & 1) ? m : NULL;
        double rev, want = plain_abs_sum(v, mk, n, &rev);
        differs_by_order += rev != want;
        double got = km_abs_sum_masked(v, mk, n);
        cr_assert_eq(memcmp(&got, &want, sizeof got), 0, "case %d (n %zu, big %d, small %d): %a, plain %a",
                     t, n, big, small, got, want);
    }
    cr_assert(differs_by_order > 200, "only %d sums depend on the order", differs_by_order);
}

/* The peaks' zero (src/pipeline/peak_zero.c): its smoothing and envelope
 * frame by frame, and the frame less its rise, against the loops written
 * out here, on frames with NaN, infinities and signed zeros, a grid of
 * 185 taxels (the vector loops' tails); the AVX2 copies (when the CPU has
 * them) and the plain ones, the same bits. */
Test(frame_kernels, peak_zero_as_its_definition)
{
    enum { RC = 185, NB = 200 };
    static float frames[NB * RC], rises[(NB / KM_ZERO_STEP + 2) * RC], out[RC];
    static float s[RC], env[RC];
    uint8_t any[NB / KM_ZERO_STEP + 2];
    int64_t f0;
    uint32_t seed = 31337u;
    for (int k = 0; k < NB * RC; k++)
        frames[k] = draw(&seed) * (1.0f + (float)(lcg(&seed) % 100u) / 64.0f);
    for (int avx2 = 0; avx2 <= 1; avx2++) {
        km_peak_zero z;
        cr_assert_eq(km_peak_zero_create(ctx, &z, RC, NB, 0.05, 100.0, 0.5), KM_OK);
        if (avx2 && !z.avx2) {
            km_peak_zero_free(ctx, &z);
            continue;
        }
        z.avx2 = avx2;
        km_peak_zero_block(&z, frames, NB, rises, any, &f0);
        /* the definition: every 4th frame into s and env, the first starts them */
        for (int k = 0; k < RC; k++)
            s[k] = env[k] = frames[k];
        for (int i = 0; i < NB; i += 4)
            for (int k = 0; k < RC; k++) {
                float x = frames[i * RC + k], next = s[k] + z.alpha * (x - s[k]);
                float sk = next == next ? next : x == x ? x : s[k];
                float up = env[k] + z.rise;
                env[k] = up != up ? sk : sk < up ? sk : up;
                s[k] = sk;
            }
        for (int k = 0; k < RC; k++) {
            cr_assert_eq(memcmp(&z.s[k], &s[k], sizeof s[k]), 0, "avx2 %d s[%d] %a, want %a", avx2,
                         k, (double)z.s[k], (double)s[k]);
            cr_assert_eq(memcmp(&z.env[k], &env[k], sizeof env[k]), 0, "avx2 %d env[%d] %a, want %a",
                         avx2, k, (double)z.env[k], (double)env[k]);
        }
        const float *x = frames + 7 * RC, *rise = frames + 11 * RC;
        memset(out, 0x5a, sizeof out);
        km_peak_zero_apply(&z, x, rise, out);
        for (int k = 0; k < RC; k++) {
            float v = x[k] - rise[k], lo = x[k] < 0.0f ? x[k] : 0.0f;
            float want = v < lo ? lo : v;
            cr_assert_eq(memcmp(&out[k], &want, sizeof want), 0, "avx2 %d out[%d] %a, want %a",
                         avx2, k, (double)out[k], (double)want);
        }
        km_peak_zero_free(ctx, &z);
    }
}
