/* The scale of a peak's neighbourhood and the local noise off a peak's
 * footprint (docs/ALGORITHMS.md 10.4 Scale of a peak, Noise); see
 * mapfilt.h. */
#include <math.h>
#include <stdlib.h>

#include "detect/mapfilt.h"
#include "internal.h"

int km_map_neighbourhood_scale(const float *scale_amp, const float *scale_snr, int32_t ny,
                               int32_t nx, double row_pitch, double col_pitch,
                               const double *sigmas_mm, int n_scales, const float *noise,
                               int32_t y, int32_t x, double radius_sigmas,
                               double radius_max_mm, double z, double *z_out,
                               double *amp_out, double *sigma_out)
{
    size_t cells = (size_t)ny * (size_t)nx, bc = 0;
    size_t c0 = (size_t)y * (size_t)nx + (size_t)x;
    double best = -INFINITY;
    int bk = -1;
    for (int k = 0; k < n_scales; k++) {
        double r = radius_sigmas * sigmas_mm[k];
        r = r > radius_max_mm ? radius_max_mm : r;
        int32_t hy = (int32_t)floor(r / row_pitch), hx = (int32_t)floor(r / col_pitch);
        const float *sn = scale_snr + (size_t)k * cells;
        for (int32_t j = y - hy < 0 ? 0 : y - hy; j <= y + hy && j < ny; j++)
            for (int32_t i = x - hx < 0 ? 0 : x - hx; i <= x + hx && i < nx; i++) {
                size_t c = (size_t)j * (size_t)nx + (size_t)i;
                if ((j != y || i != x) && hypot((j - y) * row_pitch, (i - x) * col_pitch) > r)
                    continue;
                /* the filter's response (snr x noise) over the larger of the
                   two cells' noise: a quieter cell does not win by its noise,
                   nor a noisier one by its response */
                double v = (double)sn[c];
                if (noise != NULL && noise[c] < noise[c0])
                    v = v * noise[c] / noise[c0];
                if (isfinite(v) && v > best) {
                    best = v;
                    bk = k;
                    bc = c;
                }
            }
    }
    /* Nothing better, or best at the largest scale (still growing there:
       broader than a knot, left to the caller's test at the peak's own
       scale), or not a maximum across scales at its cell. */
    if (bk < 0 || !(best > z) || bk == n_scales - 1)
        return 0;
    float zb = scale_snr[(size_t)bk * cells + bc]; /* at its own cell's noise */
    if ((bk > 0 && scale_snr[(size_t)(bk - 1) * cells + bc] > zb) ||
        scale_snr[(size_t)(bk + 1) * cells + bc] > zb)
        return 0;
    *z_out = best;
    *amp_out = scale_amp[(size_t)bk * cells + bc];
    double sg = sigmas_mm[bk];
    if (bk > 0) { /* the parabola in log sigma through the neighbouring scales */
        double l = scale_snr[(size_t)(bk - 1) * cells + bc];
        double h = scale_snr[(size_t)(bk + 1) * cells + bc];
        double d = l - 2.0 * zb + h, off = 0.0;
        if (isfinite(l) && isfinite(h) && d < 0.0)
            off = 0.5 * (l - h) / d;
        off = off < -0.5 ? -0.5 : off > 0.5 ? 0.5 : off;
        double st = off < 0.0 ? log(sigmas_mm[bk] / sigmas_mm[bk - 1])
                              : log(sigmas_mm[bk + 1] / sigmas_mm[bk]);
        sg = sigmas_mm[bk] * exp(off * st);
    }
    *sigma_out = sg;
    return 1;
}

/* The local noise at a roller peak without its own footprint (docs/
   ALGORITHMS.md 10.4 Noise): the window of +-half cells around (y, x) less
   the horizontal pairs that touch the cells within FOOT_SIGMAS x the fitted
   sigma of the peak (in cells by each pitch, at least 1), whose differences
   are the knot's own slopes; never below floor (the map's global noise),
   which is also what is left with fewer than FOOT_MIN_PAIRS pairs.  On a
   roller a sensor taxel's gain error moves over the body from pass to pass,
   so what lies under a peak's footprint is the body's; on a mat the same
   sheet cells lie under it in every frame, and a patch of high-gain taxels
   raises its own window as a knot does (taking the footprint out there added
   false candidates on every mat cell, bench/HISTORY.md "Session 20 (recall)").
   Tuning seeds: 10 knots gained, 4 false candidates added, over the 6 roller
   cells; the knot-free null at the defaults 0.21 -> 0.22 per 100 cm2,
   within the stated 0.3. */
#define FOOT_SIGMAS 1.5
#define FOOT_MIN_PAIRS 8
double km_map_noise_off_footprint(const float *flat, int32_t ny, int32_t nx, double row_pitch,
                                  double col_pitch, int32_t y, int32_t x, int32_t half,
                                  double sigma_mm, double floor_noise, float *buf, float *dev)
{
    int32_t ey = km_map_cells(FOOT_SIGMAS * sigma_mm, row_pitch);
    int32_t ex = km_map_cells(FOOT_SIGMAS * sigma_mm, col_pitch);
    int32_t y0 = y - half < 0 ? 0 : y - half, y1 = y + half + 1;
    int32_t x0 = x - half < 0 ? 0 : x - half, x1 = x + half + 1;
    size_t n = 0;
    for (int32_t r = y0; r < y1 && r < ny; r++)
        for (int32_t c = x0; c + 1 < x1 && c + 1 < nx; c++) {
            /* a pair with either cell in the footprint is the knot's */
            if (abs(r - y) <= ey && c + 1 >= x - ex && c <= x + ex)
                continue;
            size_t i = (size_t)r * (size_t)nx + (size_t)c;
            float d = flat[i + 1] - flat[i];
            if (isfinite(d))
                buf[n++] = d;
        }
    if (n < FOOT_MIN_PAIRS)
        return floor_noise;
    float med = km_select_kth_f(buf, n, n / 2);
    for (size_t k = 0; k < n; k++)
        dev[k] = fabsf(buf[k] - med);
    double loc = 1.482602218505602 * km_select_kth_f(dev, n, n / 2) / sqrt(2.0);
    return loc > floor_noise ? loc : floor_noise;
}
