/* Each footprint size's significance over its own spread on the map
 * (km_candidate_params.scale_noise; docs/ALGORITHMS.md 10.4 Noise, Calibrated
 * per size): km_map_lower_spread on values worked out by hand,
 * km_map_scale_reselect against the one scale search, and the modes of
 * km_cand_scale_noise (src/pipeline/cand_noise.c). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "detect/mapfilt.h"
#include "pipeline/cand_noise.h"

enum { H = 20, W = 18, C = H * W, S = 8 };
static const double sig[S] = {3.0, 3.75, 4.6875, 5.859375, 7.32421875, 9.1552734375,
                              11.444091796875, 14.30511474609375};
static float a[C], nz[C], amp0[C], snr0[C], sig0[C], bamp0[C], bsnr0[C], bsig0[C], amp1[C],
    snr1[C], sig1[C], bamp1[C], bsnr1[C], bsig1[C], samp[S * C], ssnr[S * C], keep[S * C],
    scratch[5 * C];

/* A broad knot (sigma 9 x 8 mm) and a narrow one (3.2 x 3 mm) over a texture,
   5 mm cells, every scale kept by the search. */
static void search(void)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double b = 9.0 * exp(-0.5 * (pow((y - 6) * 5.0 / 9.0, 2) + pow((x - 5) * 5.0 / 8.0, 2)));
            double n = 6.0 * exp(-0.5 * (pow((y - 15) * 5.0 / 3.2, 2) +
                                         pow((x - 13) * 5.0 / 3.0, 2)));
            a[y * W + x] = (float)(b + n + 0.4 * sin(1.3 * y + 2.9 * x));
            nz[y * W + x] = 0.5f;
        }
    a[4 * W + 2] = NAN;
    km_map_scale_search_keep(a, H, W, 5.0, 5.0, sig, S, 4, nz, amp0, snr0, sig0, bamp0, bsnr0,
                             bsig0, samp, ssnr, scratch);
    memcpy(keep, ssnr, sizeof keep);
}

/* The lower half's spread: 13 finite values, median 0, the four under it
   0 - (-4, -3, -2, -1), whose median (the upper middle of four, as the
   selection takes n / 2) is 3: 1.4826 x 3.  The values over the median (a
   source's tail) and NaN do not count. */
Test(cand_noise, lower_spread_by_hand)
{
    float v[14] = {0, -4, 50, -3, NAN, 0, -2, 60, 0, -1, 70, 1, 0, 80}, buf[14];
    cr_assert_float_eq(km_map_lower_spread(v, 14, buf), 1.482602218505602 * 3.0, 1e-9);
    v[2] = v[7] = v[10] = v[13] = 1e6f;
    cr_assert_float_eq(km_map_lower_spread(v, 14, buf), 1.482602218505602 * 3.0, 1e-9);
    v[1] = -8.0f; /* the lower half is what it measures */
    cr_assert_float_eq(km_map_lower_spread(v, 14, buf), 1.482602218505602 * 3.0, 1e-9);
    v[3] = -9.0f;
    cr_assert_float_eq(km_map_lower_spread(v, 14, buf), 1.482602218505602 * 8.0, 1e-9);
    cr_assert(isnan(km_map_lower_spread(v, 7, buf)), "under 8 finite values: none");
}

/* Unit divisors: the reselection from the kept maps is the search itself, bit for bit. */
Test(cand_noise, reselect_with_unit_divisors_is_the_search)
{
    search();
    const double one[S] = {1, 1, 1, 1, 1, 1, 1, 1};
    km_map_scale_reselect(samp, ssnr, H, W, sig, S, 4, one, amp1, snr1, sig1, bamp1, bsnr1,
                          bsig1, scratch);
    cr_assert(memcmp(amp0, amp1, sizeof amp0) == 0 && memcmp(snr0, snr1, sizeof snr0) == 0 &&
              memcmp(sig0, sig1, sizeof sig0) == 0 && memcmp(bamp0, bamp1, sizeof bamp0) == 0 &&
              memcmp(bsnr0, bsnr1, sizeof bsnr0) == 0 && memcmp(bsig0, bsig1, sizeof bsig0) == 0);
    cr_assert(memcmp(keep, ssnr, sizeof keep) == 0);
}

/* Divisors of 1 for the narrow sizes and 3 for the broad ones: every kept
   map divided in place, and each cell's best the largest of the divided
   z over the sizes; the broad knot's centre keeps its best at a broad size
   with a third of its z, and the narrow knot's is unchanged. */
Test(cand_noise, reselect_divides_each_size)
{
    search();
    const double d[S] = {1, 1, 1, 1, 3, 3, 3, 3};
    int broad = 6 * W + 5, narrow = 15 * W + 13;
    cr_assert(sig0[broad] >= 6.0f && sig0[narrow] < 6.0f, "%g %g", sig0[broad], sig0[narrow]);
    km_map_scale_reselect(samp, ssnr, H, W, sig, S, 4, d, amp1, snr1, sig1, bamp1, bsnr1, bsig1,
                          scratch);
    for (int k = 0; k < S; k++)
        for (int i = 0; i < C; i++)
            cr_assert(memcmp(&ssnr[k * C + i], &(float){keep[k * C + i] / (float)d[k]},
                             sizeof(float)) == 0, "scale %d cell %d", k, i);
    for (int i = 0; i < C; i++) {
        float best = NAN;
        for (int k = 0; k < S; k++)
            if (isfinite(ssnr[k * C + i]) && !(ssnr[k * C + i] <= best))
                best = ssnr[k * C + i];
        cr_assert(memcmp(&best, &snr1[i], sizeof best) == 0, "cell %d: %g %g", i, best, snr1[i]);
    }
    cr_assert_float_eq(bsnr1[broad], bsnr0[broad] / 3.0f, 1e-5f * bsnr0[broad]);
    cr_assert(memcmp(&snr1[narrow], &snr0[narrow], sizeof(float)) == 0);
}

/* The modes: 0 leaves the search as it was; a map whose z spread at every
   size is under 1 (the noise map says 4 for a texture of a few tenths: 0.04
   to 0.54 by size) has its z raised by 1 and left by 2. */
Test(cand_noise, modes)
{
    search();
    for (int i = 0; i < C; i++)
        nz[i] = 4.0f;
    km_map_scale_search_keep(a, H, W, 5.0, 5.0, sig, S, 4, nz, amp0, snr0, sig0, bamp0, bsnr0,
                             bsig0, samp, ssnr, scratch);
    memcpy(keep, ssnr, sizeof keep);
    memcpy(amp1, amp0, sizeof amp1), memcpy(snr1, snr0, sizeof snr1);
    memcpy(sig1, sig0, sizeof sig1);
    km_cand_scale_noise(0, samp, ssnr, H, W, sig, S, 4, amp1, snr1, sig1, bamp1, bsnr1, bsig1,
                        scratch);
    cr_assert(memcmp(snr0, snr1, sizeof snr0) == 0 && memcmp(keep, ssnr, sizeof keep) == 0);
    km_cand_scale_noise(2, samp, ssnr, H, W, sig, S, 4, amp1, snr1, sig1, bamp1, bsnr1, bsig1,
                        scratch);
    cr_assert(memcmp(snr0, snr1, sizeof snr0) == 0 && memcmp(keep, ssnr, sizeof keep) == 0,
              "mode 2 never raises z");
    double spread0 = km_map_lower_spread(keep, C, scratch);
    cr_assert(spread0 > 0.05 && spread0 < 0.5, "%g", spread0);
    km_cand_scale_noise(1, samp, ssnr, H, W, sig, S, 4, amp1, snr1, sig1, bamp1, bsnr1, bsig1,
                        scratch);
    for (int k = 0; k < S; k++)
        cr_assert_float_eq(km_map_lower_spread(ssnr + k * C, C, scratch), 1.0, 1e-5,
                           "scale %d: its z has a unit spread", k);
    int narrow = 15 * W + 13;
    cr_assert(snr1[narrow] > 1.5f * snr0[narrow], "%g %g", snr1[narrow], snr0[narrow]);
}
