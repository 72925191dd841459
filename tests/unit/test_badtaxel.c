/* Taxels that read a steady offset while their neighbourhood is unloaded
 * (KM_TAXEL_OFFSET, docs/ALGORITHMS.md 11.3): found on a sweeping load, a
 * strong taxel that reads only under load is not; a light load beside a
 * body lying still is not, unless it also reads with nothing on the sheet;
 * the conditioner masks them by default (model 2's truth). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
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
    ctx = NULL;
}

TestSuite(badtaxel, .init = setup, .fini = teardown);

enum { R = 16, C = 12, T = 200 };

/* Deterministic noise in [-1, 1) (a 32-bit LCG), so the frames are fixed. */
static float noise(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / (float)(1u << 23) - 1.0f;
}

/* A band of 40 kPa (Gaussian across rows, sigma 1.5 rows) sweeping the rows
   back and forth, noise of +-1 kPa clamped at 0 (a sensor reads no
   negative pressure).  Taxel (3, 4) adds a fixed 8 kPa; taxel (10, 7) has a
   gain of 1.6: 64 kPa under the band, 0 without it. */
static void sweep_frame(int t, uint32_t *seed, float *f)
{
    double y = (t / 50) % 2 == 0 ? (t % 50) * 0.3 : 15.0 - (t % 50) * 0.3;
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            double load = 40.0 * exp(-0.5 * (r - y) * (r - y) / (1.5 * 1.5));
            if (r == 10 && c == 7)
                load *= 1.6;
            double v = load + (r == 3 && c == 4 ? 8.0 : 0.0) + noise(seed);
            f[r * C + c] = (float)(v < 0.0 ? 0.0 : v);
        }
}

/* Classify T frames of `make`; returns the number of KM_TAXEL_OFFSET. */
static int classify(const km_badtaxel_params *p, uint8_t *state,
                    void (*make)(int, uint32_t *, float *))
{
    km_badtaxel *b = NULL;
    float f[R * C];
    uint8_t mask[R * C];
    uint32_t seed = 12345u;
    int32_t n_bad = -1;
    cr_assert_eq(km_badtaxel_create(ctx, R, C, NULL, p, &b), KM_OK);
    for (int t = 0; t < T; t++) {
        make(t, &seed, f);
        cr_assert_eq(km_badtaxel_add(ctx, b, f), KM_OK);
    }
    cr_assert_eq(km_badtaxel_decide(ctx, b, state, mask, &n_bad), KM_OK);
    int n_off = 0, n = 0;
    for (int k = 0; k < R * C; k++) {
        cr_assert_eq(mask[k], state[k] == KM_TAXEL_OK);
        n_off += state[k] == KM_TAXEL_OFFSET;
        n += state[k] != KM_TAXEL_OK;
    }
    cr_assert_eq(n_bad, n);
    km_badtaxel_free(b);
    return n_off;
}

Test(badtaxel, offset_found_strong_loaded_taxel_not)
{
    km_badtaxel_params p;
    uint8_t state[R * C];
    km_badtaxel_params_default(&p);
    cr_assert_eq(classify(&p, state, sweep_frame), 1);
    cr_assert_eq(state[3 * C + 4], KM_TAXEL_OFFSET);
    cr_assert_eq(state[10 * C + 7], KM_TAXEL_OK, "a strong taxel that reads only under load");
    for (int k = 0; k < R * C; k++)
        cr_assert(k == 3 * C + 4 || state[k] == KM_TAXEL_OK, "taxel %d: state %d", k, state[k]);
    /* offset_sigmas 0 switches the test off (the spike test alone is off too). */
    p.offset_sigmas = 0.0;
    p.hot_ratio = 0.0;
    cr_assert_eq(classify(&p, state, sweep_frame), 0);
    cr_assert_eq(state[3 * C + 4], KM_TAXEL_OK);
}

/* A bare knot pressed from the first frame to the last, nothing else on the
   sheet (tests/cli/test_peak_floor.py's scene): 15 kPa, Gaussian of sigma
   1.2 taxels, at (8, 5) on a 2 kPa floor, noise +-1 kPa; taxel (3, 4) reads
   a fixed 8 kPa more.  The knot's diagonal neighbours have their
   neighbours' median unloaded (five of the eight lie further out) and read
   7.5 kPa above it in every frame, as an offset would; but three of their
   neighbours stand above them: a load's footprint. */
static void bare_knot_frame(int t, uint32_t *seed, float *f)
{
    (void)t;
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            double d2 = (r - 8.0) * (r - 8.0) + (c - 5.0) * (c - 5.0);
            f[r * C + c] = (float)(2.0 + 15.0 * exp(-d2 / (2 * 1.2 * 1.2)) + noise(seed) +
                                   (r == 3 && c == 4 ? 8.0 : 0.0));
        }
}

Test(badtaxel, a_bare_knots_neighbours_are_not_offsets)
{
    km_badtaxel_params p;
    uint8_t state[R * C];
    km_badtaxel_params_default(&p);
    cr_assert_eq(classify(&p, state, bare_knot_frame), 1);
    cr_assert_eq(state[3 * C + 4], KM_TAXEL_OFFSET, "the offset taxel is still one");
    for (int k = 0; k < R * C; k++)
        cr_assert(k == 3 * C + 4 || state[k] == KM_TAXEL_OK, "taxel (%d, %d): state %d", k / C,
                  k % C, state[k]);
}

/* The empty sheet (noise of +-1 kPa) for the first half, then a load of
   40 kPa on rows 0-7; taxel (3, 4) reads a fixed 8 kPa more throughout.
   Under the load its neighbours stand more than halfway up to it in every
   frame, but those frames are not unloaded: a load's footprint counts only
   in the frames its neighbourhood was unloaded (an offset, else none would
   be called under a load held as long as the sheet was empty). */
static void half_loaded_frame(int t, uint32_t *seed, float *f)
{
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            double v = (t >= T / 2 && r < 8 ? 40.0 : 0.0) + (r == 3 && c == 4 ? 8.0 : 0.0) +
                       noise(seed);
            f[r * C + c] = (float)(v < 0.0 ? 0.0 : v);
        }
}

Test(badtaxel, footprint_counted_only_where_unloaded)
{
    km_badtaxel_params p;
    uint8_t state[R * C];
    km_badtaxel_params_default(&p);
    int n = classify(&p, state, half_loaded_frame);
    cr_assert(n == 1 && state[3 * C + 4] == KM_TAXEL_OFFSET, "%d offsets, (3, 4) state %d", n,
              state[3 * C + 4]);
}

/* A body lying still in integer counts (a pressure mat): the first 10 frames
   empty, then a blob of 60 counts in the middle and, at (2, 2), a light
   steady load of 3 counts on one taxel whose neighbours read 0.  Its
   neighbourhood reads the floor, but so did the taxel while the sheet was
   empty: a load, not an offset. */
static int reads_when_empty;

static void still_frame(int t, uint32_t *seed, float *f)
{
    (void)seed;
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            double d2 = (r - 9.0) * (r - 9.0) + (c - 7.0) * (c - 7.0);
            f[r * C + c] = t < 10 ? 0.0f : d2 <= 9.0 ? 60.0f : 0.0f;
        }
    if (t >= 10 || reads_when_empty)
        f[2 * C + 2] = 3.0f;
}

Test(badtaxel, still_body_light_load_is_not_an_offset)
{
    km_badtaxel_params p;
    uint8_t state[R * C];
    km_badtaxel_params_default(&p);
    reads_when_empty = 0;
    cr_assert_eq(classify(&p, state, still_frame), 0);
    /* (The spike test of detect_bad calls it hot: above 4 times every
       neighbour in most frames; that test is off by default.) */
    cr_assert_neq(state[2 * C + 2], KM_TAXEL_OFFSET);
    /* The same taxel reading its 3 counts on the empty sheet too: an offset. */
    reads_when_empty = 1;
    cr_assert_eq(classify(&p, state, still_frame), 1);
    cr_assert_eq(state[2 * C + 2], KM_TAXEL_OFFSET);
}

/* A body covering the whole sheet (a seat, a pad smaller than the body):
   the load comes on over the first 20 frames, then every taxel reads 40
   kPa +-1 and the one under a small knot, (6, 5), 8 kPa more.  Its
   neighbours read the frame's floor, but that floor is the body's load,
   40 kPa above the sheet's own: a knot, not an offset.  With `lifted`, the
   body gets off after frame 120 and the sheet reads 0 +-1 but (6, 5),
   which keeps 8 kPa: then it is one (the lower floor starts the test
   again). */
static int lifted;

static void covered_frame(int t, uint32_t *seed, float *f)
{
    double load = lifted && t >= 120 ? 0.0 : t < 20 ? 2.0 * t : 40.0;
    for (int k = 0; k < R * C; k++) {
        double v = load + noise(seed) + (k == 6 * C + 5 && (load > 0 || lifted) ? 8.0 : 0.0);
        f[k] = (float)(v < 0.0 ? 0.0 : v);
    }
}

Test(badtaxel, sheet_covered_by_the_body_is_not_unloaded)
{
    km_badtaxel_params p;
    uint8_t state[R * C];
    km_badtaxel_params_default(&p);
    lifted = 0;
    cr_assert_eq(classify(&p, state, covered_frame), 0, "a knot under a body covering the sheet");
    lifted = 1;
    cr_assert_eq(classify(&p, state, covered_frame), 1);
    cr_assert_eq(state[6 * C + 5], KM_TAXEL_OFFSET);
}

/* The conditioner's defaults mask the offset taxels of a model 2 hard mat
   (km_synth_truth.offset) and no other; on the old code nothing was masked
   without --detect-bad-taxels. */
Test(badtaxel, conditioner_masks_offsets_by_default)
{
    km_synth_params sp;
    km_synth *syn = NULL;
    km_conditioner *cond = NULL;
    km_session_info info;
    km_synth_truth tr;
    km_synth_params_default(&sp);
    km_synth_preset(&sp, KM_SYNTH_HARD);
    sp.model = 2;
    sp.mode = KM_MODE_MAT;
    sp.seed = 4;
    sp.duration_s = 2.0;
    cr_assert_eq(km_synth_create(ctx, &sp, &syn), KM_OK, "%s", km_ctx_last_error(ctx));
    km_synth_info(syn, &info);
    km_synth_truth_get(syn, &tr);
    cr_assert_eq(km_conditioner_create(ctx, &info, km_synth_mask(syn), NULL, NULL, NULL, &cond),
                 KM_OK);
    size_t rc = (size_t)info.rows * (size_t)info.cols;
    float *f = malloc(16 * rc * sizeof *f), *out = malloc(16 * rc * sizeof *out);
    double t[16];
    int64_t n = 0, got = 0;
    cr_assert(f != NULL && out != NULL);
    while (km_synth_frames(ctx, syn, f, t, 16, &n) == KM_OK && n > 0) {
        cr_assert_eq(km_conditioner_push(ctx, cond, f, t, n), KM_OK);
        km_conditioner_pull(cond, out, NULL, NULL, 16, &got);
    }
    cr_assert_eq(km_conditioner_finish(ctx, cond), KM_OK);
    const uint8_t *mask = km_conditioner_mask(cond);
    int n_off = 0, found = 0, wrong = 0;
    for (size_t k = 0; k < rc; k++) {
        n_off += tr.offset[k] > 0.0f;
        found += tr.offset[k] > 0.0f && !mask[k];
        wrong += tr.offset[k] == 0.0f && !mask[k];
    }
    cr_assert_geq(n_off, 5, "the preset should plant offset taxels (got %d)", n_off);
    cr_assert_geq(10 * found, 8 * n_off, "found %d of %d offset taxels", found, n_off);
    cr_assert_eq(wrong, 0, "%d taxels without an offset masked", wrong);
    cr_assert_eq(km_conditioner_n_offset(cond), found);
    cr_assert_eq(km_conditioner_n_bad(cond), found);
    cr_assert_eq(km_conditioner_taxel_state(cond)[0] == KM_TAXEL_OFFSET, !mask[0]);
    free(f);
    free(out);
    km_conditioner_free(cond);
    km_synth_free(syn);
}

/* A body lying still on a sensor that reads counts (docs/ALGORITHMS.md
   11.3, stuck): a smooth load of up to 60 counts plus noise of 0.15 count,
   rounded.  Most loaded taxels read one count for the whole block while
   some neighbours flip between two: they are not stuck (before the
   quantum rule 100-200 of them were).  A taxel held at 33 counts among
   neighbours that carry a moving load is stuck on the same sensor, and one
   held at 90 among idle neighbours. */
static double still_body(int r, int c)
{
    double dy = r - 8.0, dx = c - 6.0;
    return 60.0 * exp(-(dy * dy / (2.0 * 4.0 * 4.0) + dx * dx / (2.0 * 3.0 * 3.0)));
}

static float gauss(uint32_t *s)
{
    /* Sum of four uniforms on [-1, 1): mean 0, variance 4/3. */
    float g = noise(s) + noise(s) + noise(s) + noise(s);
    return g * (float)sqrt(3.0 / 4.0);
}

static void quantised_still_frame(int t, uint32_t *seed, float *f)
{
    (void)t;
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            f[r * C + c] = (float)fmax(0.0, round(still_body(r, c) + 0.15 * gauss(seed)));
}

static void quantised_moving_frame(int t, uint32_t *seed, float *f)
{
    sweep_frame(t, seed, f);
    for (int k = 0; k < R * C; k++)
        f[k] = roundf(f[k]);
    f[5 * C + 5] = 33.0f;
}

/* Nothing on the sheet yet (a roller that has not reached these taxels in
   the warm-up: model 2's sessions quantise to 1.4 kPa): counts of 0-2 and
   a taxel stuck at 90, far outside every value its neighbours read. */
static void quantised_idle_frame(int t, uint32_t *seed, float *f)
{
    (void)t;
    for (int k = 0; k < R * C; k++)
        f[k] = (float)fmax(0.0, round(1.0 + 0.5 * gauss(seed)));
    f[9 * C + 3] = 90.0f;
}

Test(badtaxel, quantised_still_body_is_not_stuck)
{
    km_badtaxel_params p;
    km_badtaxel_params_default(&p);
    uint8_t state[R * C];
    classify(&p, state, quantised_still_frame);
    int flat_loaded = 0, stuck = 0;
    for (int k = 0; k < R * C; k++)
        stuck += state[k] == KM_TAXEL_STUCK;
    /* The scene has what the rule is for: loaded taxels that never change. */
    uint32_t seed = 12345u;
    float lo[R * C], hi[R * C], f[R * C];
    for (int t = 0; t < T; t++) {
        quantised_still_frame(t, &seed, f);
        for (int k = 0; k < R * C; k++) {
            lo[k] = t == 0 || f[k] < lo[k] ? f[k] : lo[k];
            hi[k] = t == 0 || f[k] > hi[k] ? f[k] : hi[k];
        }
    }
    for (int k = 0; k < R * C; k++)
        flat_loaded += lo[k] == hi[k] && lo[k] > 0.0f;
    cr_assert_geq(flat_loaded, 20, "only %d loaded taxels read one count", flat_loaded);
    cr_assert_eq(stuck, 0, "%d loaded taxels of a still body called stuck", stuck);

    classify(&p, state, quantised_moving_frame);
    cr_assert_eq(state[5 * C + 5], KM_TAXEL_STUCK);
    classify(&p, state, quantised_idle_frame);
    cr_assert_eq(state[9 * C + 3], KM_TAXEL_STUCK);
}

/* km_badtaxel_noise on a flat sheet of white noise (sd 1, offset 5 so
   nothing is clipped): a taxel's excess over its neighbours' median has a
   standard deviation of sqrt(1 + var(median of 8)), between 1 and 1.25
   (the median of 8 unit normals has a variance near 0.18). */
static void flat_noise_frame(int t, uint32_t *seed, float *f)
{
    (void)t;
    for (int k = 0; k < R * C; k++)
        f[k] = 5.0f + gauss(seed);
}

Test(badtaxel, noise_of_a_flat_sheet)
{
    km_badtaxel_params p;
    km_badtaxel_params_default(&p);
    km_badtaxel *b = NULL;
    float f[R * C];
    uint32_t seed = 777u;
    double nz = 0.0;
    cr_assert_eq(km_badtaxel_create(ctx, R, C, NULL, &p, &b), KM_OK);
    cr_assert_eq(km_badtaxel_noise(ctx, b, &nz), KM_OK);
    cr_assert(isnan(nz), "no frame: no noise");
    for (int t = 0; t < T; t++) {
        flat_noise_frame(t, &seed, f);
        cr_assert_eq(km_badtaxel_add(ctx, b, f), KM_OK);
    }
    cr_assert_eq(km_badtaxel_noise(ctx, b, &nz), KM_OK);
    cr_assert(nz > 1.0 && nz < 1.25, "noise %g", nz);
    km_badtaxel_free(b);
    /* The offset test off: no statistics, no noise. */
    p.offset_sigmas = 0.0;
    cr_assert_eq(km_badtaxel_create(ctx, R, C, NULL, &p, &b), KM_OK);
    for (int t = 0; t < 3; t++)
        cr_assert_eq(km_badtaxel_add(ctx, b, f), KM_OK);
    cr_assert_eq(km_badtaxel_noise(ctx, b, &nz), KM_OK);
    cr_assert(isnan(nz));
    cr_assert_eq(km_badtaxel_noise(ctx, NULL, &nz), KM_ERR_INVALID);
    km_badtaxel_free(b);
}
