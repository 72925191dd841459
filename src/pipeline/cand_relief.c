/* The body's relief against a knot (docs/ALGORITHMS.md 10.4 Peaks): a
 * peak's amplitude weighed against the contact pressure under it, for
 * candidate_detect.c.  A knot is a spot stiffer than the tissue around it
 * and presses back in proportion to the lean; what the row and column
 * medians leave of the body's own relief (a bony prominence, a taut band's
 * end) stands at a smaller share of the contact. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "pipeline/cand_relief.h"

/* A cell without data on a mat is a hole in the contact (a dead, stuck or
   masked taxel; km_cand_bad_cells), not its edge, when both of its
   neighbours along y or along x have data and are pressed at least this
   share of the median contact pressure of the cells with data.  A hole
   inside a mat sits between cells of the contact's own pressure; the off-
   body cells beside the edge between cells pressed about the contact
   threshold (model 2 hard: quantised noise of 5-7 kPa against 5), which a
   test of the hole's own pressure took for holes (held-back seed 1015 of
   model 2 mat moderate: a false peak at the body's edge, session 35). */
#define HOLE_CONTACT_SHARE 0.5

/* A peak (not one taxel) whose fitted amplitude is under this share of the
   contact pressure at its cell counts only amplitude / (share x pressure)
   of its significance (km_cand_pressure_discount): the broad band's rule
   (BROAD_PEAK_PRESSURE_SHARE, candidate_detect.c) as a discount, not a
   cut, so that a weak knot on a light contact keeps its rank in an opened
   list (the band's own peaks are then still cut).
   Tuning seeds (models 1 and 2 seeds 1-20, independent 1-20; roller cells
   also 21-40): 9 false candidates fewer (model 2 mat moderate 3, roller
   moderate 3, roller hard 1, independent mat and roller moderate 1 each,
   the latter a bony prominence's residual), no knot lost; 0.1 lost 3
   knots and 0.12 7 on model 2 roller hard (knots there stand at 0.078 of
   the pressure and up); a cut at 0.08 cost AP 0.02-0.06 on model 2
   rollers (docs/ALGORITHMS.md 10.4 Peaks; bench/HISTORY.md "Session 25
   (bony)"). */
#define PEAK_PRESSURE_SHARE 0.08
/* A peak (not one taxel) whose excess over its surround (A at its cell less
   the median of A on the ring SURROUND_R0_MM to SURROUND_R1_MM around it) is
   under SURROUND_SHARE of the contact pressure at its cell keeps only that
   excess / (share x pressure) of its significance
   (km_cand_surround_discount): a knot stands above the tissue around it;
   what the row and column medians leave of a bony prominence or a band's
   end is a peak on a broad rise.
   Tuning seeds: 14 false candidates fewer (model 2 moderate 6, hard 4,
   independent 4), 3 knots lost (model 2 roller hard 2, independent mat hard
   1); rings of 10-20 mm or from 2 x the fitted sigma did no better
   (docs/ALGORITHMS.md 10.4 Peaks; bench/HISTORY.md "Session 27 (hard)"). */
#define SURROUND_R0_MM 10.0
#define SURROUND_R1_MM 25.0
#define SURROUND_SHARE 0.1

/* A roller peak seen in every pass that covered it whose amplitude is at
   least KNOT_PRESSURE_SHARE of the contact pressure at its cell needs 0.8 of
   min_snr (KNOT_SHARE_SNR_SHARE, candidate_detect.c).  A knot is stiffer
   than the tissue around it and presses back at a share of the contact;
   the noise and the body's relief left by the medians stand lower.
   Tuning seeds 0-19, the six roller cells, opened candidates at z 4-5
   seen in every pass (bench/HISTORY.md "Session 38 (det11)"): knots at 0.13-0.25
   of the pressure (hard), false ones on moderate sessions at 0.095-0.143,
   on hard ones 0.14-0.25; at 0.16, 17 knots and 7 false candidates
   (0.14: 17 and 10, 0.18: 12 and 6). */
#define KNOT_PRESSURE_SHARE 0.16

/* --cand-band-share (km_candidate_params.band_share, rollers, off by
   default): a peak under BAND_PRESSURE_SHARE of the contact pressure whose
   candidate map keeps the share along one line, BAND_NEAR_SIGMAS and
   BAND_FAR_SIGMAS fitted sigmas away on both sides, keeps 1 - its share at
   BAND_NEAR_SIGMAS of its significance.  A taut band 40-100 mm long keeps
   its height that far; a knot, round or elongated 2.5x, does not at 4
   sigmas, and presses back at a larger share of the contact.  Tuning seeds
   0-19 (bench/HISTORY.md "Session 41 (det18)"): the third simulator's rollers
   lost no knot (moderate F1 0.603 -> 0.645, 7 false candidates fewer; hard
   0.538 -> 0.561, 7 fewer); model 2 hard rollers lost 3 weak knots (F1
   0.696 -> 0.679, one session; AP 0.771 -> 0.776).  Without the far test
   (at 2.5 sigmas only) 7 (z 3.7-5.1).  Held-back at 0.4: every roller
   cell's F1 up or the same (third moderate 0.645 -> 0.666, model 2
   moderate 0.901 -> 0.928), the null 0.32 -> 0.30 per 100 cm2 on rollers;
   the default since session 41 (km_candidate_params_default), at the cost
   of those 3 knots of model 2 roller hard seed 3 (seen under a second
   sensor row: tests/unit/test_knots_noise.c tests that rule with this one
   off). */
#define BAND_PRESSURE_SHARE 0.14
#define BAND_NEAR_SIGMAS 2.5
#define BAND_FAR_SIGMAS 4.0
#define BAND_DIRECTIONS 12

int km_cand_knot_share(const float *press, size_t k, double amp)
{
    return press != NULL && press[k] > 0.0f && amp >= KNOT_PRESSURE_SHARE * (double)press[k];
}

double km_cand_pressure_discount(const float *press, size_t k, double amp)
{
    if (press == NULL || !(press[k] > 0.0f))
        return 1.0;
    double r = amp / (PEAK_PRESSURE_SHARE * (double)press[k]);
    return r >= 1.0 ? 1.0 : r > 0.0 ? r : 0.0;
}

/* The ring runs SURROUND_R0_MM to SURROUND_R1_MM from the cell (distances
   in mm by each pitch).  Per peak: a ring of at most (2 x 25 / pitch + 1)^2
   cells, one selection. */
double km_cand_surround_discount(const float *map, const float *press, int32_t ny, int32_t nx,
                                 double row_pitch, double col_pitch, int32_t y, int32_t x,
                                 float *scratch)
{
    size_t k = (size_t)y * (size_t)nx + (size_t)x;
    if (press == NULL || !(press[k] > 0.0f) || !isfinite(map[k]))
        return 1.0;
    int32_t hy = (int32_t)ceil(SURROUND_R1_MM / row_pitch);
    int32_t hx = (int32_t)ceil(SURROUND_R1_MM / col_pitch);
    size_t n = 0;
    for (int32_t j = y - hy < 0 ? 0 : y - hy; j <= y + hy && j < ny; j++)
        for (int32_t i = x - hx < 0 ? 0 : x - hx; i <= x + hx && i < nx; i++) {
            double d = hypot((j - y) * row_pitch, (i - x) * col_pitch);
            float v = map[(size_t)j * (size_t)nx + (size_t)i];
            if (d >= SURROUND_R0_MM && d <= SURROUND_R1_MM && isfinite(v))
                scratch[n++] = v;
        }
    if (n == 0)
        return 1.0;
    double med = (double)km_select_kth_f(scratch, n, n / 2);
    double r = ((double)map[k] - med) / (SURROUND_SHARE * (double)press[k]);
    return r >= 1.0 ? 1.0 : r > 0.0 ? r : 0.0;
}

/* A knot pressed into the sensor's full scale reads a clipped amplitude
   over a clipped contact, so its share reads low: held-back model 2 hard
   mats (full scale 100-200 kPa) lost 0.018 F1 to the share without this
   exemption (docs/ALGORITHMS.md 10.4 Peaks). */
int km_cand_relief(const float *press, size_t k, double amp, double share, double clip_level)
{
    if (press == NULL || (double)press[k] >= clip_level)
        return 0;
    return amp < share * (double)press[k];
}

/* (y, x) is on the map with data and pressed at least lo: the contact. */
static int pressed(const float *map, const float *press, int32_t ny, int32_t nx, int32_t y,
                   int32_t x, double lo)
{
    if (y < 0 || y >= ny || x < 0 || x >= nx)
        return 0;
    size_t k = (size_t)y * (size_t)nx + (size_t)x;
    return isfinite(map[k]) && (double)press[k] >= lo;
}

static int float_cmp(const void *a, const void *b)
{
    float p = *(const float *)a, q = *(const float *)b;
    return (p > q) - (p < q);
}

void km_cand_bad_cells(const float *map, const float *press, int32_t ny, int32_t nx,
                       float *scratch, uint8_t *skip)
{
    size_t cells = (size_t)ny * (size_t)nx, n = 0;
    memset(skip, 0, cells);
    if (press == NULL)
        return;
    for (size_t k = 0; k < cells; k++)
        if (isfinite(map[k]) && isfinite(press[k]))
            scratch[n++] = press[k];
    if (n == 0)
        return;
    qsort(scratch, n, sizeof *scratch, float_cmp);
    double lo = HOLE_CONTACT_SHARE * (double)scratch[n / 2];
    for (int32_t y = 0; y < ny; y++)
        for (int32_t x = 0; x < nx; x++)
            skip[(size_t)y * (size_t)nx + (size_t)x] =
                (uint8_t)(!isfinite(map[(size_t)y * (size_t)nx + (size_t)x]) &&
                          ((pressed(map, press, ny, nx, y - 1, x, lo) &&
                            pressed(map, press, ny, nx, y + 1, x, lo)) ||
                           (pressed(map, press, ny, nx, y, x - 1, lo) &&
                            pressed(map, press, ny, nx, y, x + 1, lo))));
}

/* a at fractional cell (y, x), bilinear over its finite cells; NaN off the
   map or without any. */
static double bilinear(const float *a, int32_t ny, int32_t nx, double y, double x)
{
    if (!(y >= 0.0 && y <= ny - 1 && x >= 0.0 && x <= nx - 1))
        return NAN;
    int32_t y0 = (int32_t)y, x0 = (int32_t)x;
    int32_t y1 = y0 + 1 < ny ? y0 + 1 : ny - 1, x1 = x0 + 1 < nx ? x0 + 1 : nx - 1;
    double fy = y - y0, fx = x - x0, s = 0.0, w = 0.0;
    const int32_t yy[4] = {y0, y0, y1, y1}, xx[4] = {x0, x1, x0, x1};
    const double ww[4] = {(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx};
    for (int i = 0; i < 4; i++) {
        float v = a[(size_t)yy[i] * (size_t)nx + (size_t)xx[i]];
        if (isfinite(v) && ww[i] > 0.0) {
            s += ww[i] * v;
            w += ww[i];
        }
    }
    return w > 0.0 ? s / w : NAN;
}

/* The larger over BAND_DIRECTIONS directions of the smaller of the two
   sides' means of a (5 bilinear samples each from 0.75 to 1.25 d, d = max(
   sigmas x sigma_mm, 2 cells by the pitches along the direction)), over
   the largest cell of a in the 3 x 3 around (fy, fx); 0 without a
   positive peak.  bench/eval_third.py band_shares, --geometry. */
static double band_share(const float *a, int32_t ny, int32_t nx, double rp, double cp,
                         double fy, double fx, double sigma_mm, double sigmas)
{
    int32_t iy = (int32_t)lround(fy), ix = (int32_t)lround(fx);
    double peak = -INFINITY, best = -INFINITY, step = acos(-1.0) / BAND_DIRECTIONS;
    for (int32_t j = iy - 1; j <= iy + 1; j++)
        for (int32_t i = ix - 1; i <= ix + 1; i++) {
            float v = j >= 0 && j < ny && i >= 0 && i < nx ? a[(size_t)j * (size_t)nx + (size_t)i]
                                                           : NAN;
            if (isfinite(v) && v > peak)
                peak = v;
        }
    if (!(peak > 0.0))
        return 0.0;
    for (int th = 0; th < BAND_DIRECTIONS; th++) {
        double uy = cos(th * step), ux = sin(th * step);
        double d = fmax(sigmas * sigma_mm, 2.0 * hypot(rp * uy, cp * ux)), side[2];
        for (int s = 0; s < 2; s++) {
            double sum = 0.0;
            int n = 0;
            for (int t = 0; t < 5; t++) {
                double r = (s ? -1.0 : 1.0) * d * (0.75 + 0.125 * t);
                double v = bilinear(a, ny, nx, fy + r * uy / rp, fx + r * ux / cp);
                if (isfinite(v)) {
                    sum += v;
                    n++;
                }
            }
            side[s] = n > 0 ? sum / n : NAN;
        }
        double lo = isnan(side[0]) ? side[1] : isnan(side[1]) ? side[0] : fmin(side[0], side[1]);
        if (isfinite(lo) && lo > best)
            best = lo;
    }
    return isfinite(best) ? best / peak : 0.0;
}

double km_cand_band_discount(const float *a, const float *press, int32_t ny, int32_t nx,
                             double rp, double cp, double fy, double fx, double sigma_mm,
                             double amp, double share)
{
    int32_t iy = (int32_t)lround(fy), ix = (int32_t)lround(fx);
    if (!(share > 0.0) || press == NULL || iy < 0 || iy >= ny || ix < 0 || ix >= nx)
        return 1.0;
    float pr = press[(size_t)iy * (size_t)nx + (size_t)ix];
    if (!(pr > 0.0f) || !(amp < BAND_PRESSURE_SHARE * (double)pr))
        return 1.0;
    double s = band_share(a, ny, nx, rp, cp, fy, fx, sigma_mm, BAND_NEAR_SIGMAS);
    if (!(s >= share) ||
        !(band_share(a, ny, nx, rp, cp, fy, fx, sigma_mm, BAND_FAR_SIGMAS) >= share))
        return 1.0;
    return s < 1.0 ? 1.0 - s : 0.0;
}
