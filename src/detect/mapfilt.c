/* Filters on a body map (docs/ALGORITHMS.md 10.4); see mapfilt.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect/mapfilt.h"
#include "core/select_small.h"
#include "internal.h"

/* A peak whose 4 neighbours all stand below this share of its own excess
   is one taxel (ALGORITHMS 10.4 Isolated cells). */
#define ISOLATED 0.15
/* Largest ratio of the principal curvatures of a knot's amplitude peak
   (ALGORITHMS 10.4 Elongated peaks): a knot elongated 2x along the fibres
   gives 4. */
#define MAX_ELONGATION 6.0
/* A cell with this many of the 24 others of its 5 x 5 window off the map
   or without data is on the edge of the contact (10.4 Edges): a straight
   edge next to it gives 10, a lost row segment of dead taxels beside a knot
   5, one dead or stuck taxel 1. */
#define EDGE_NEIGHBOURS 8
/* A lone cell that stands spike_z noise sd over its background (the caller's
   choice, 10.4 Spikes) is a spike to remove before the matched filter when
   its tested neighbours all stand under this share of its
   excess: a hot taxel's neighbours measured 0.02-0.05, a knot's of sigma
   half the pitch 0.12-0.14 (under ISOLATED, hence a share of its own). */
#define SPIKE_SHARE 0.08
/* On a mat a spike may stand beside another structure (a band, a knot's
   shoulder): at most this many of its neighbours are left out of the mean
   test as explained by it (10.4 Spikes). */
#define MAX_EXPLAINED 2
/* A cell whose opposite neighbours along a row, column or diagonal both
   stand at this share of its excess or more lies on a ridge through it, and
   one whose explained neighbour does continues that structure (10.4
   Spikes). */
#define RIDGE_SHARE 0.5


/* The values at n / 2 (returned) and n / 2 - 1 (*below) of buf[0..n) in
 * sorted order, n >= 2, no NaN, by selection (buf is reordered): the
 * elements before n / 2 are then no larger, the largest of them is the
 * other.  Equal values differ in bits only as +0.0 and -0.0, which
 * km_map_noise cannot tell apart (|x - med| is the same for both and the
 * deviations are >= +0.0): the result is the sort's, bit for bit, without
 * two qsorts per window (the end-of-session detection's largest part). */
static float middle(float *buf, size_t n, float *below)
{
    size_t k = n / 2;
    float hi = km_select_kth_bf(buf, n, k), lo = buf[0];
    for (size_t i = 1; i < k; i++)
        lo = buf[i] > lo ? buf[i] : lo;
    *below = lo;
    return hi;
}

/* Robust standard deviation of the cell-to-cell noise of the map: MAD of
 * the differences of horizontal neighbours / sqrt(2).  Differences cancel
 * the slowly varying contact pressure, and the median ignores the few
 * knots, so this is the spread of what a knot must stand out from (per
 * taxel gain error and sensor noise).  (Vertical pairs would mix in
 * the structure along y of the map; pooling them measured no better.)  0
 * when fewer than 2 pairs.  buf holds the window's cells. */
double km_map_noise(const float *a, int32_t ny, int32_t nx, int32_t y0, int32_t y1,
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
    float lo, hi = middle(buf, n, &lo);
    float med = (n & 1) ? hi : 0.5f * (lo + hi);
    for (size_t k = 0; k < n; k++)
        buf[k] = fabsf(buf[k] - med);
    hi = middle(buf, n, &lo);
    double mad = (n & 1) ? hi : 0.5 * ((double)lo + (double)hi);
    return 1.482602218505602 * mad / sqrt(2.0);
}

/* out = a minus the median of its column within +-h cells (finite values
 * only): removes ridges along y longer than about h cells (taut bands),
 * keeps compact excesses of one or two rows. */
void km_map_remove_ridges(const float *a, int32_t ny, int32_t nx, int32_t h, float *win, float *out)
{
    for (int32_t x = 0; x < nx; x++)
        for (int32_t y = 0; y < ny; y++) {
            size_t i = (size_t)y * (size_t)nx + (size_t)x;
            if (!isfinite(a[i])) {
                out[i] = NAN;
                continue;
            }
            int n = 0;
            for (int32_t k = y - h < 0 ? 0 : y - h; k <= y + h && k < ny; k++) {
                float v = a[(size_t)k * (size_t)nx + (size_t)x];
                if (isfinite(v))
                    win[n++] = v;
            }
            out[i] = a[i] - km_median_small_f(win, n);
        }
}

void km_map_scale_search(const float *a, int32_t ny, int32_t nx, double row_pitch,
                         double col_pitch, const double *sigmas_mm, int n_scales,
                         const float *noise, float *amp, float *snr, float *sigma_mm,
                         float *scratch)
{
    km_map_scale_search_band(a, ny, nx, row_pitch, col_pitch, sigmas_mm, n_scales, n_scales,
                             noise, amp, snr, sigma_mm, NULL, NULL, NULL, scratch);
}

/* One scale's snr z (amp_k) at cell i into the best so far (snr, amp,
   sigma_mm, lo: the snr one scale below the best), k the scale's index
   among the n searched from sig, prev the snr at scale k - 1 (NaN: none):
   a new best, or the parabola's vertex when k is the scale above the best. */
static void keep_best(float z, float amp_k, float prev, const double *sig, int k, size_t i,
                      float *amp, float *snr, float *sigma_mm, float *lo)
{
    if (!isfinite(z))
        return;
    if (!(z <= snr[i])) { /* a new best (or the first finite) */
        lo[i] = prev;
        snr[i] = z;
        amp[i] = amp_k;
        sigma_mm[i] = (float)sig[k];
    } else if (k > 0 && sigma_mm[i] == (float)sig[k - 1] && isfinite(lo[i])) {
        /* the scale above the best: vertex of the parabola in log sigma */
        double l = lo[i], m = snr[i], h = z, d = l - 2.0 * m + h, off = 0.0;
        if (d < 0.0)
            off = 0.5 * (l - h) / d;
        off = off < -0.5 ? -0.5 : off > 0.5 ? 0.5 : off;
        double st = off < 0.0 ? log(sig[k - 1] / sig[k - 2]) : log(sig[k] / sig[k - 1]);
        sigma_mm[i] = (float)(sig[k - 1] * exp(off * st));
    }
}

void km_map_scale_search_band(const float *a, int32_t ny, int32_t nx, double row_pitch,
                              double col_pitch, const double *sigmas_mm, int n_scales,
                              int band_from, const float *noise, float *amp, float *snr,
                              float *sigma_mm, float *band_amp, float *band_snr,
                              float *band_sigma_mm, float *scratch)
{
    km_map_scale_search_keep(a, ny, nx, row_pitch, col_pitch, sigmas_mm, n_scales, band_from,
                             noise, amp, snr, sigma_mm, band_amp, band_snr, band_sigma_mm, NULL,
                             NULL, scratch);
}

void km_map_scale_search_keep(const float *a, int32_t ny, int32_t nx, double row_pitch,
                              double col_pitch, const double *sigmas_mm, int n_scales,
                              int band_from, const float *noise, float *amp, float *snr,
                              float *sigma_mm, float *band_amp, float *band_snr,
                              float *band_sigma_mm, float *scale_amp, float *scale_snr,
                              float *scratch)
{
    size_t cells = (size_t)ny * (size_t)nx;
    float *amp_k = scratch, *snr_k = scratch + cells, *prev = scratch + 2 * cells;
    float *lo = scratch + 3 * cells; /* snr one scale below the best, NaN: none */
    float *blo = scratch + 4 * cells; /* the same for the band's best */
    int band = band_amp != NULL && band_snr != NULL && band_sigma_mm != NULL &&
               band_from >= 0 && band_from < n_scales;
    for (size_t i = 0; i < cells; i++)
        amp[i] = snr[i] = sigma_mm[i] = lo[i] = prev[i] = NAN;
    if (band)
        for (size_t i = 0; i < cells; i++)
            band_amp[i] = band_snr[i] = band_sigma_mm[i] = blo[i] = NAN;
    for (int k = 0; k < n_scales; k++) {
        km_map_matched_filter(a, ny, nx, sigmas_mm[k] / row_pitch, sigmas_mm[k] / col_pitch,
                              noise, amp_k, snr_k);
        if (scale_amp != NULL && scale_snr != NULL) {
            memcpy(scale_amp + (size_t)k * cells, amp_k, cells * sizeof *amp_k);
            memcpy(scale_snr + (size_t)k * cells, snr_k, cells * sizeof *snr_k);
        }
        for (size_t i = 0; i < cells; i++) {
            keep_best(snr_k[i], amp_k[i], prev[i], sigmas_mm, k, i, amp, snr, sigma_mm, lo);
            /* the band as a search of its own scales: no scale below its first */
            if (band && k >= band_from)
                keep_best(snr_k[i], amp_k[i], k > band_from ? prev[i] : NAN,
                          sigmas_mm + band_from, k - band_from, i, band_amp, band_snr,
                          band_sigma_mm, blo);
        }
        float *t = prev;
        prev = snr_k;
        snr_k = t;
    }
}

/* Local background of cell (y, x): the median of the finite cells of the
 * ring 2 cells away; NAN when fewer than 4. */
static double ring_background(const float *a, int32_t ny, int32_t nx, int32_t y, int32_t x)
{
    float ring[16];
    int n = 0;
    for (int32_t j = -2; j <= 2; j++)
        for (int32_t k = -2; k <= 2; k++) {
            if ((j > -2 && j < 2 && k > -2 && k < 2) || y + j < 0 || y + j >= ny || x + k < 0 ||
                x + k >= nx)
                continue;
            float v = a[(size_t)(y + j) * (size_t)nx + (size_t)(x + k)];
            if (isfinite(v))
                ring[n++] = v;
        }
    return n < 4 ? NAN : km_median_small_f(ring, n);
}

/* 1 when each tested neighbour of (y, x) (left and right; with x_only 0
 * also above and below) stands below share times the cell's excess c0
 * over the background bg. */
static int alone(const float *a, int32_t ny, int32_t nx, int32_t y, int32_t x, int x_only,
                 double bg, double c0, double share)
{
    static const int32_t dy[4] = {0, 0, -1, 1}, dx[4] = {-1, 1, 0, 0};
    for (int k = 0; k < (x_only ? 2 : 4); k++) {
        int32_t yy = y + dy[k], xx = x + dx[k];
        if (yy < 0 || yy >= ny || xx < 0 || xx >= nx)
            continue;
        float v = a[(size_t)yy * (size_t)nx + (size_t)xx];
        if (isfinite(v) && v - bg >= share * c0)
            return 0;
    }
    return c0 > 0.0;
}

/* One cell standing alone (a hot or high-gain taxel, 10.4): the excess of
 * each of its 4 neighbours over the local background (median of the ring
 * of cells 2 away) is under ISOLATED times its own.  A knot footprint
 * reaches the neighbours: at sigma half the pitch, 0.14 of its height
 * before the taxel's area widens it. */
int km_map_isolated(const float *a, int32_t ny, int32_t nx, int32_t y, int32_t x)
{
    double bg = ring_background(a, ny, nx, y, x);
    if (isnan(bg))
        return 0;
    return alone(a, ny, nx, y, x, 0, bg, a[(size_t)y * (size_t)nx + (size_t)x] - bg, ISOLATED);
}

/* Excess over bg of the cell (y, x) of a; NAN off the map or without data. */
static double excess_at(const float *a, int32_t ny, int32_t nx, int32_t y, int32_t x, double bg)
{
    if (y < 0 || y >= ny || x < 0 || x >= nx)
        return NAN;
    float v = a[(size_t)y * (size_t)nx + (size_t)x];
    return isfinite(v) ? (double)v - bg : NAN;
}

/* 1 when the neighbour (yy, xx) of (y, x), of excess e over bg, is explained
   by another structure: raised (e >= share c0) and one of its own other 3
   neighbours at least as high (a band or a knot's shoulder goes on past it;
   a spike's share of light leaking into it would not). */
static int explained(const float *a, int32_t ny, int32_t nx, int32_t y, int32_t x, int32_t yy,
                     int32_t xx, double bg, double e, double c0, double share)
{
    static const int32_t dy[4] = {0, 0, -1, 1}, dx[4] = {-1, 1, 0, 0};
    if (!(e >= share * c0))
        return 0;
    for (int k = 0; k < 4; k++) {
        int32_t y2 = yy + dy[k], x2 = xx + dx[k];
        if (y2 == y && x2 == x)
            continue;
        double e2 = excess_at(a, ny, nx, y2, x2, bg);
        if (e2 >= e)
            return 1;
    }
    return 0;
}

/* 1 when a line of raised cells runs through (y, x): the two cells opposite
   each other across it along a row, a column or a diagonal both stand at
   RIDGE_SHARE or more of its excess c0 (a band one or two cells wide, any
   direction: the cell is part of it, not a spike on it), or one does and
   the other is off the map or without data (the line may go on through
   it unseen: a band running off the map). */
static int on_ridge(const float *a, int32_t ny, int32_t nx, int32_t y, int32_t x, double bg,
                    double c0)
{
    static const int32_t dy[4] = {0, 1, 1, 1}, dx[4] = {1, 0, 1, -1};
    for (int k = 0; k < 4; k++) {
        double e1 = excess_at(a, ny, nx, y + dy[k], x + dx[k], bg),
               e2 = excess_at(a, ny, nx, y - dy[k], x - dx[k], bg);
        int r1 = e1 >= RIDGE_SHARE * c0, r2 = e2 >= RIDGE_SHARE * c0;
        if ((r1 && r2) || (r1 && isnan(e2)) || (r2 && isnan(e1)))
            return 1;
    }
    return 0;
}

/* 1 when the mean excess of the 4 neighbours of (y, x), leaving out at most
   MAX_EXPLAINED that another structure explains, stands one standard error
   (sd / sqrt(n)) under share c0 (a mat's high-gain taxel beside a band or
   a knot's shoulder).  0 when more are explained or none is left; when two
   explained ones face each other across the cell or one stands at
   RIDGE_SHARE of c0 or more (the cell continues a structure as high as
   half of it: a band, a footprint spread along a row, a knot's second
   cell); and on a line of raised cells through it (on_ridge). */
static int alone_on_mean(const float *a, int32_t ny, int32_t nx, int32_t y, int32_t x, double bg,
                         double c0, double sd, double share)
{
    static const int32_t dy[4] = {0, 0, -1, 1}, dx[4] = {-1, 1, 0, 0};
    double sum = 0.0;
    int n = 0, n_explained = 0, side[4] = {0};
    for (int k = 0; k < 4; k++) {
        int32_t yy = y + dy[k], xx = x + dx[k];
        double e = excess_at(a, ny, nx, yy, xx, bg);
        if (isnan(e))
            continue;
        if (explained(a, ny, nx, y, x, yy, xx, bg, e, c0, share)) {
            if (e >= RIDGE_SHARE * c0 || ++n_explained > MAX_EXPLAINED)
                return 0;
            side[k] = 1;
            continue;
        }
        sum += e;
        n++;
    }
    /* Explained on opposite sides: the structure runs through the cell (a
       band, or a footprint spread along a row or a column). */
    if (n == 0 || c0 <= 0.0 || (side[0] && side[1]) || (side[2] && side[3]))
        return 0;
    if (on_ridge(a, ny, nx, y, x, bg, c0))
        return 0;
    return sum / n + sd / sqrt((double)n) < share * c0;
}

/* Spikes beside knots pull the matched filter's peak off the knot (model 2
 * mats: 3 knots of 36 found 10-14 mm away on tuning seeds 1-8), and alone
 * they pass as knots whose footprint is one taxel.  Only spikes that stand
 * spike_z noise sd above their background are replaced: below that the
 * isolation test would mostly pick noise. */
void km_map_despike(const float *a, int32_t ny, int32_t nx, int x_only, const float *noise,
                    double spike_z, float *out)
{
    for (int32_t y = 0; y < ny; y++)
        for (int32_t x = 0; x < nx; x++) {
            size_t i = (size_t)y * (size_t)nx + (size_t)x;
            out[i] = a[i];
            if (!isfinite(a[i]))
                continue;
            double bg = ring_background(a, ny, nx, y, x), c0 = a[i] - bg;
            if (!isnan(bg) && c0 > spike_z * noise[i] &&
                (alone(a, ny, nx, y, x, x_only, bg, c0, SPIKE_SHARE) ||
                 (!x_only && alone_on_mean(a, ny, nx, y, x, bg, c0, noise[i], SPIKE_SHARE))))
                out[i] = (float)bg;
        }
}

int km_map_at_edge(const float *a, const uint8_t *skip, int32_t ny, int32_t nx, int32_t y,
                   int32_t x)
{
    int out = 0, left = 24;
    for (int32_t j = -2; j <= 2; j++)
        for (int32_t k = -2; k <= 2; k++) {
            int32_t yy = y + j, xx = x + k;
            int off = yy < 0 || yy >= ny || xx < 0 || xx >= nx;
            size_t i = off ? 0 : (size_t)yy * (size_t)nx + (size_t)xx;
            if ((j == 0 && k == 0) || (!off && skip != NULL && j != 0 && skip[i])) {
                left -= j != 0 || k != 0;
                continue;
            }
            out += off || !isfinite(a[i]);
        }
    return 24 * out >= EDGE_NEIGHBOURS * left;
}

/* A ridge, not a blob (a taut band running obliquely, which the column
 * median of the ridge removal misses; 10.4 Elongated peaks): Lowe's SIFT
 * edge test on the principal curvatures at the peak, each axis measured
 * against a round footprint of the fitted sigma seen through the same grid
 * (on rows of 17.8 mm a round knot of sigma 4 mm has a curvature along y,
 * in mm, 5-10 times under the one along 5 mm columns). */

/* The principal-curvature test on a symmetric 2 x 2 matrix (xx, yy, xy)
   of curvatures: 1 when they are not both of one sign or differ by a
   factor MAX_ELONGATION or more (tr^2 / det >= (r + 1)^2 / r). */
static int ratio_at_least(double xx, double yy, double xy)
{
    double tr = xx + yy, det = xx * yy - xy * xy, r = MAX_ELONGATION;
    return !(det > 0.0) || tr * tr / det >= (r + 1.0) * (r + 1.0) / r;
}

/* The same on the curvatures divided by those (rxx, ryy < 0) of a round
   footprint as measured on the grid, so that a round knot gives equal
   ones whatever the two pitches; as measured when a reference is not
   negative (cannot happen for |offset| <= 0.5, kept for safety). */
static int shape_elongated(double xx, double yy, double xy, double rxx, double ryy)
{
    if (!(rxx < 0.0) || !(ryy < 0.0))
        return ratio_at_least(xx, yy, xy);
    return ratio_at_least(xx / -rxx, yy / -ryy, xy / sqrt(rxx * ryy));
}

/* g[j + h], j = -h..h: the one-axis profile of a round Gaussian footprint
   of sigma s cells centred o cells off the cell j = 0, filtered as
   filtered_at does (kernel of sigma s, +-ceil(3 s) cells, at most 16,
   divided by the sum of its squares).  The footprint and the filter are
   separable, so a 2-D reference is the product of two such profiles. */
static void round_profile(double s, double o, int32_t h, double *g)
{
    int32_t r = (int32_t)ceil(3.0 * s);
    r = r > 16 ? 16 : r;
    double den = 0.0;
    for (int32_t t = -r; t <= r; t++)
        den += exp(-(double)(t * t) / (s * s));
    for (int32_t j = -h; j <= h; j++) {
        double num = 0.0;
        for (int32_t t = -r; t <= r; t++) {
            double u = (double)(j + t) - o;
            num += exp(-0.5 * (double)(t * t) / (s * s)) * exp(-0.5 * u * u / (s * s));
        }
        g[j + h] = num / den;
    }
}

/* The map's value at (y, x), NaN off the map. */
static double at(const float *a, int32_t ny, int32_t nx, int32_t y, int32_t x)
{
    return y >= 0 && y < ny && x >= 0 && x < nx ? (double)a[(size_t)y * (size_t)nx + (size_t)x]
                                                : NAN;
}

/* Principal curvatures of the 3 x 3 cells of a around the peak (finite
   differences in mm; a neighbour off the map or NaN mirrored from the
   opposite side: a band running off the map edge stays a band), against
   those of the round footprint's profiles gy, gx (3 cells each). */
static int cells_elongated(const float *a, int32_t ny, int32_t nx, int32_t y, int32_t x,
                           double rp, double cp, const double *gy, const double *gx)
{
    double v[3][3];
    for (int j = -1; j <= 1; j++)
        for (int k = -1; k <= 1; k++) {
            double u = at(a, ny, nx, y + j, x + k);
            v[j + 1][k + 1] = isfinite(u) ? u : at(a, ny, nx, y - j, x - k);
        }
    double dxx = (v[1][0] - 2.0 * v[1][1] + v[1][2]) / (cp * cp);
    double dyy = (v[0][1] - 2.0 * v[1][1] + v[2][1]) / (rp * rp);
    double dxy = (v[2][2] - v[2][0] - v[0][2] + v[0][0]) / (4.0 * cp * rp);
    if (!isfinite(dxx) || !isfinite(dyy) || !isfinite(dxy))
        return 0; /* cannot tell */
    return shape_elongated(dxx, dyy, dxy, gy[1] * (gx[0] - 2.0 * gx[1] + gx[2]) / (cp * cp),
                           gx[1] * (gy[0] - 2.0 * gy[1] + gy[2]) / (rp * rp));
}

/* The footprint filter's amplitude at one cell (km_map_matched_filter's
   amp: sum K a / sum K^2 over the finite cells under the kernel of sigma
   sy, sx cells; NaN off the map or when they carry under half its energy). */
static double filtered_at(const float *a, int32_t ny, int32_t nx, int32_t y, int32_t x,
                          double sy, double sx)
{
    if (y < 0 || y >= ny || x < 0 || x >= nx)
        return NAN;
    int32_t ry = (int32_t)ceil(3.0 * sy), rx = (int32_t)ceil(3.0 * sx);
    ry = ry > 16 ? 16 : ry;
    rx = rx > 16 ? 16 : rx;
    double num = 0.0, den = 0.0, full = 0.0;
    for (int32_t j = -ry; j <= ry; j++)
        for (int32_t k = -rx; k <= rx; k++) {
            double w = exp(-0.5 * ((double)(j * j) / (sy * sy) + (double)(k * k) / (sx * sx)));
            double v = at(a, ny, nx, y + j, x + k);
            full += w * w;
            if (isfinite(v)) {
                num += w * v;
                den += w * w;
            }
        }
    return den >= 0.5 * full ? num / den : NAN;
}

/* Curvatures of the least-squares quadratic through the footprint-filtered
   map over +-hy rows and +-hx columns (values off the map or NaN mirrored
   from the opposite side): on that full symmetric grid the centred x^2,
   y^2 and the xy regressors are orthogonal, so each curvature is one
   weighted sum.  The round footprint's (profiles gy, gx of 2h+1 cells) are
   the same sums over a separable map, products of one-axis sums. */
static int window_elongated(const float *a, int32_t ny, int32_t nx, int32_t y, int32_t x,
                            double rp, double cp, double sigma_mm, int32_t hy, int32_t hx,
                            const double *gy, const double *gx)
{
    double sy = sigma_mm / rp, sx = sigma_mm / cp, mx2 = 0.0, my2 = 0.0;
    for (int32_t k = -hx; k <= hx; k++)
        mx2 += (k * cp) * (k * cp) / (double)(2 * hx + 1);
    for (int32_t j = -hy; j <= hy; j++)
        my2 += (j * rp) * (j * rp) / (double)(2 * hy + 1);
    double su = 0.0, suu = 0.0, sv = 0.0, svv = 0.0, sw = 0.0, sww = 0.0;
    double rux = 0.0, rvy = 0.0, gxs = 0.0, gys = 0.0;
    for (int32_t j = -hy; j <= hy; j++)
        for (int32_t k = -hx; k <= hx; k++) {
            double f = filtered_at(a, ny, nx, y + j, x + k, sy, sx);
            if (!isfinite(f))
                f = filtered_at(a, ny, nx, y - j, x - k, sy, sx);
            if (!isfinite(f))
                return 0; /* cannot tell */
            double dx = k * cp, dy = j * rp, u = dx * dx - mx2, v = dy * dy - my2, w = dx * dy;
            su += u * f;
            suu += u * u;
            sv += v * f;
            svv += v * v;
            sw += w * f;
            sww += w * w;
        }
    for (int32_t k = -hx; k <= hx; k++) {
        rux += ((k * cp) * (k * cp) - mx2) * gx[k + hx];
        gxs += gx[k + hx];
    }
    for (int32_t j = -hy; j <= hy; j++) {
        rvy += ((j * rp) * (j * rp) - my2) * gy[j + hy];
        gys += gy[j + hy];
    }
    return shape_elongated(2.0 * su / suu, 2.0 * sv / svv, sw / sww, 2.0 * rux * gys / suu,
                           2.0 * rvy * gxs / svv);
}

int km_map_elongated(const float *amp, const float *a, int32_t ny, int32_t nx, int32_t y,
                     int32_t x, double rp, double cp, double sigma_mm, double window_sigmas,
                     double oy, double ox)
{
    double hy = floor(window_sigmas * sigma_mm / rp + 0.5);
    double hx = floor(window_sigmas * sigma_mm / cp + 0.5);
    hy = hy < 1.0 ? 1.0 : hy > 8.0 ? 8.0 : hy;
    hx = hx < 1.0 ? 1.0 : hx > 8.0 ? 8.0 : hx;
    double gy[17], gx[17];
    oy = isfinite(oy) ? (oy < -0.5 ? -0.5 : oy > 0.5 ? 0.5 : oy) : 0.0;
    ox = isfinite(ox) ? (ox < -0.5 ? -0.5 : ox > 0.5 ? 0.5 : ox) : 0.0;
    if (!(sigma_mm > 0.0)) {
        gy[0] = gy[2] = gx[0] = gx[2] = 0.0; /* no reference: as measured */
        gy[1] = gx[1] = 0.0;
        return cells_elongated(amp, ny, nx, y, x, rp, cp, gy, gx);
    }
    round_profile(sigma_mm / rp, oy, (int32_t)hy, gy);
    round_profile(sigma_mm / cp, ox, (int32_t)hx, gx);
    if (hy == 1.0 && hx == 1.0)
        return cells_elongated(amp, ny, nx, y, x, rp, cp, gy, gx);
    return window_elongated(a, ny, nx, y, x, rp, cp, sigma_mm, (int32_t)hy, (int32_t)hx, gy, gx);
}

/* Vertex offset of the parabola through l, m, r in [-0.5, 0.5]; 0 when
   not a finite maximum. */
static double vertex3(double l, double m, double r)
{
    double d = l - 2.0 * m + r;
    if (!isfinite(d) || !(d < 0.0))
        return 0.0;
    double o = 0.5 * (l - r) / d;
    return o < -0.5 ? -0.5 : o > 0.5 ? 0.5 : o;
}

/* The footprint's position (10.4 Peaks): on the map filtered at its own
   sigma noise of one cell moves the maximum by little, while on the amp
   map each cell keeps its own best scale and a broad knot's peak cell can
   sit on a noise bump one or two cells off. */
void km_map_locate(const float *a, int32_t ny, int32_t nx, int32_t y, int32_t x, double rp,
                   double cp, double sigma_mm, double *fy, double *fx)
{
    double sy = sigma_mm / rp, sx = sigma_mm / cp;
    int32_t ry = km_map_cells(sigma_mm, rp), rx = km_map_cells(sigma_mm, cp);
    int32_t cy = y, cx = x;
    *fy = (double)y;
    *fx = (double)x;
    if (!(sigma_mm > 0.0))
        return;
    double best = filtered_at(a, ny, nx, cy, cx, sy, sx);
    if (!isfinite(best))
        return;
    for (int moved = 1; moved;) { /* hill climb over the 8 neighbours */
        moved = 0;
        int32_t by = cy, bx = cx;
        for (int32_t j = -1; j <= 1; j++)
            for (int32_t k = -1; k <= 1; k++) {
                int32_t yy = cy + j, xx = cx + k;
                if ((j == 0 && k == 0) || abs(yy - y) > ry || abs(xx - x) > rx)
                    continue;
                double v = filtered_at(a, ny, nx, yy, xx, sy, sx);
                if (v > best) {
                    best = v;
                    by = yy;
                    bx = xx;
                    moved = 1;
                }
            }
        cy = by;
        cx = bx;
    }
    *fy = cy + vertex3(filtered_at(a, ny, nx, cy - 1, cx, sy, sx), best,
                       filtered_at(a, ny, nx, cy + 1, cx, sy, sx));
    *fx = cx + vertex3(filtered_at(a, ny, nx, cy, cx - 1, sy, sx), best,
                       filtered_at(a, ny, nx, cy, cx + 1, sy, sx));
}

int km_map_window_max(const float *a, int32_t ny, int32_t nx, int32_t y, int32_t x, int32_t ry,
                      int32_t rx)
{
    float v = a[(size_t)y * (size_t)nx + (size_t)x];
    for (int32_t yy = y - ry < 0 ? 0 : y - ry; yy <= y + ry && yy < ny; yy++)
        for (int32_t xx = x - rx < 0 ? 0 : x - rx; xx <= x + rx && xx < nx; xx++)
            if (a[(size_t)yy * (size_t)nx + (size_t)xx] > v) /* NaN compares false */
                return 0;
    return 1;
}

int32_t km_map_cells(double mm, double pitch)
{
    double c = floor(mm / pitch + 0.5);
    return c >= 1.0 ? (c < (double)INT32_MAX ? (int32_t)c : INT32_MAX) : 1;
}
