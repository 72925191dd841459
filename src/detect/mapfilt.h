/* Filters on a body map (docs/ALGORITHMS.md 10.4): robust noise of the map,
 * removal of ridges along y, and the scale-normalised matched filter that
 * finds knots of any footprint size.  NaN marks cells without data.  Not
 * installed. */
#ifndef KM_MAPFILT_H
#define KM_MAPFILT_H

#include <stddef.h>
#include <stdint.h>

/* Robust sd of the cell-to-cell fluctuation in the window [y0, y1) x
 * [x0, x1): 1.4826 MAD of horizontal neighbour differences / sqrt(2);
 * 0 when fewer than 2 pairs.  buf: room for the window's cells. */
double km_map_noise(const float *a, int32_t ny, int32_t nx, int32_t y0, int32_t y1, int32_t x0,
                    int32_t x1, float *buf);

/* out = a minus the median of its column within +-h cells (finite values);
 * win: room for 2h+1 floats. */
void km_map_remove_ridges(const float *a, int32_t ny, int32_t nx, int32_t h, float *win,
                          float *out);

/* Matched filter for a Gaussian footprint of sigma (sy, sx) cells: per cell
 * amp = least-squares amplitude of the footprint centred there and snr =
 * amp * sqrt(sum K^2) / noise; NaN where less than half the kernel energy
 * falls on finite cells. */
void km_map_matched_filter(const float *a, int32_t ny, int32_t nx, double sy, double sx,
                           const float *noise, float *amp, float *snr);
/* The same one cell at a time (what the AVX2 form is tested against). */
void km_map_matched_filter_plain(const float *a, int32_t ny, int32_t nx, double sy, double sx,
                                 const float *noise, float *amp, float *snr);

/* Scale search: the matched filter at n_scales sigmas (mm, increasing),
 * keeping per cell the scale of the largest snr (for a Gaussian footprint
 * in white noise the largest snr falls at its own sigma); sigma_mm = that
 * scale refined by a parabola in log sigma through the neighbouring
 * scales.  scratch: 4*ny*nx floats. */
void km_map_scale_search(const float *a, int32_t ny, int32_t nx, double row_pitch,
                         double col_pitch, const double *sigmas_mm, int n_scales,
                         const float *noise, float *amp, float *snr, float *sigma_mm,
                         float *scratch);

/* km_map_scale_search, and also (band_amp, band_snr, band_sigma_mm non-NULL,
 * 0 <= band_from < n_scales) per cell the best over the scales band_from on
 * alone, exactly as km_map_scale_search on sigmas_mm + band_from: the broad
 * scales' own peaks (docs/ALGORITHMS.md 10.4 Broad scales) without filtering
 * the map at those scales twice.  scratch: 5*ny*nx floats. */
void km_map_scale_search_band(const float *a, int32_t ny, int32_t nx, double row_pitch,
                              double col_pitch, const double *sigmas_mm, int n_scales,
                              int band_from, const float *noise, float *amp, float *snr,
                              float *sigma_mm, float *band_amp, float *band_snr,
                              float *band_sigma_mm, float *scratch);

/* km_map_scale_search_band, and also (scale_amp, scale_snr non-NULL: room
 * for n_scales * ny * nx floats each) every scale's amp and snr maps, scale
 * k at k * ny * nx. */
void km_map_scale_search_keep(const float *a, int32_t ny, int32_t nx, double row_pitch,
                              double col_pitch, const double *sigmas_mm, int n_scales,
                              int band_from, const float *noise, float *amp, float *snr,
                              float *sigma_mm, float *band_amp, float *band_snr,
                              float *band_sigma_mm, float *scale_amp, float *scale_snr,
                              float *scratch);

/* The scale of a peak's neighbourhood (docs/ALGORITHMS.md 10.4 Scale of a
 * peak): per scale k the largest snr within min(radius_sigmas x sigma_k,
 * radius_max_mm) of (y, x) (mm, by each pitch; the cell itself always),
 * from scale_snr as km_map_scale_search_keep keeps it, each over the larger
 * of its own cell's noise and (y, x)'s (noise: the per-cell noise the snr
 * was computed with; NULL: the snr as it is); the scale and cell of the
 * largest of these.  Taken (returns 1) when that snr beats z, the
 * scale is not the largest searched and no neighbouring scale has a larger
 * snr at that cell (a maximum in scale as well as in space): *z_out = it,
 * *amp_out = scale_amp there, *sigma_out = that sigma refined by the
 * parabola in log sigma through the neighbouring scales' snr at that cell.
 * Returns 0 and leaves the outputs otherwise. */
int km_map_neighbourhood_scale(const float *scale_amp, const float *scale_snr, int32_t ny,
                               int32_t nx, double row_pitch, double col_pitch,
                               const double *sigmas_mm, int n_scales, const float *noise,
                               int32_t y, int32_t x, double radius_sigmas,
                               double radius_max_mm, double z, double *z_out,
                               double *amp_out, double *sigma_out);

/* The robust noise (as km_map_noise) of the window of +-half cells around
 * the roller peak (y, x) of fitted sigma sigma_mm less the horizontal pairs
 * that touch its footprint (1.5 sigma, by each pitch), never below
 * floor_noise (also returned with fewer than 8 pairs left).  buf, dev: room
 * for the window's cells each. */
double km_map_noise_off_footprint(const float *flat, int32_t ny, int32_t nx, double row_pitch,
                                  double col_pitch, int32_t y, int32_t x, int32_t half,
                                  double sigma_mm, double floor_noise, float *buf, float *dev);

/* 1 when the cell (y, x) stands alone: each of its 4 neighbours' excess
 * over the local background (median of the ring 2 cells away) is under
 * 0.15 of its own (a hot or high-gain taxel); 0 otherwise. */
int km_map_isolated(const float *a, int32_t ny, int32_t nx, int32_t y, int32_t x);

/* out = a with its spikes replaced by their local background (median of
 * the ring 2 cells away): cells whose excess over it exceeds spike_z
 * noise[i] and whose left and right neighbours (x_only 0: all 4) stand
 * under a share of it that a hot taxel's meet and a knot's do not
 * (SPIKE_SHARE).  A hot or high-gain taxel is one cell on a mat and one
 * column on a roller (the odometry spreads a taxel's cell along y), so
 * x_only there.  With x_only 0 a cell is also a spike when the mean of its
 * neighbours, leaving out up to 2 that another structure explains (not on
 * opposite sides, none at half its excess), stands one standard error
 * under that share, unless a
 * line of raised cells runs through it (docs/ALGORITHMS.md 10.4 Spikes).
 * out must not alias a. */
void km_map_despike(const float *a, int32_t ny, int32_t nx, int x_only, const float *noise,
                    double spike_z, float *out);

/* 1 when (y, x) is on the edge of the map's data: 8 or more of the 24
 * other cells of its 5 x 5 window off the map or not finite (the border of
 * the contact, the ends of the travel; a lost row segment beside a knot
 * gives 5).  skip (ny x nx, NULL: none): cells that are neither contact nor
 * edge (a mat's bad taxels inside the contact, km_cand_bad_cells), left out
 * of the window off (y)'s own row, the 8 of 24 scaled to the cells left
 * (on its own row a bad taxel biases the row-median background as the
 * edge does). */
int km_map_at_edge(const float *a, const uint8_t *skip, int32_t ny, int32_t nx, int32_t y,
                   int32_t x);

/* The window of km_map_elongated's quadratic in fitted sigmas (ALGORITHMS
 * 10.4 Elongated peaks): rollers KM_ELONGATION_WINDOW; mats
 * KM_ELONGATION_WINDOW_MAT, where a narrow taut band crossing the columns
 * at a slant (model 2: sigma 2.7-4.8 mm on 8-9 mm cells) makes a local
 * blob of the 3 x 3 cells that a wider window sees as a ridge (session 37,
 * tuning seeds 0-39: 3 false candidates fewer, no knot lost; on rollers
 * the wider window lost knots). */
#define KM_ELONGATION_WINDOW 1.5
#define KM_ELONGATION_WINDOW_MAT 2.0

/* 1 when the map is a ridge, not a blob, at the peak (y, x) of fitted
 * footprint sigma sigma_mm: the principal curvatures, each divided by that
 * of a round footprint of that sigma centred (oy, ox) cells off the peak
 * (clamped to +-0.5; NaN: 0) as measured on the same grid, are not both
 * negative or differ by a factor 6 or more.  When the footprint spans more
 * than the 3 x 3 cells (h = round(window_sigmas x sigma / pitch) >= 2 along
 * an axis), they are the curvatures of the least-squares quadratic through
 * the map a (the ridge-free, despiked one) filtered at that one sigma, over
 * +-h cells (1 to 8) per axis; otherwise those of the 3 x 3 finite
 * differences of amp (the best-scale amplitude map).  In mm; values off the
 * map or NaN are mirrored from the opposite side.  sigma_mm <= 0: the
 * curvatures as measured, in mm. */
int km_map_elongated(const float *amp, const float *a, int32_t ny, int32_t nx, int32_t y,
                     int32_t x, double rp, double cp, double sigma_mm, double window_sigmas,
                     double oy, double ox);

/* Position (row, column, sub-cell) of a footprint of sigma sigma_mm found
   at the peak (y, x): the maximum of the map a filtered at that one sigma
   (the least-squares footprint amplitude, as km_map_matched_filter), found
   by climbing from (y, x) over the 8 neighbours, at most round(sigma /
   pitch) cells (at least 1) along each axis, then refined per axis by the
   vertex of the parabola through the filtered values (clamped to +-0.5
   cell).  (y, x) unchanged when the filter is NaN there or sigma_mm <= 0. */
void km_map_locate(const float *a, int32_t ny, int32_t nx, int32_t y, int32_t x, double rp,
                   double cp, double sigma_mm, double *fy, double *fx);

/* 1 when no finite cell within +-ry rows and +-rx columns of (y, x) is
 * larger than it (ties kept: scipy.ndimage.maximum_filter's rule with a
 * (2ry+1) x (2rx+1) box); 0 otherwise. */
int km_map_window_max(const float *a, int32_t ny, int32_t nx, int32_t y, int32_t x, int32_t ry,
                      int32_t rx);

/* Cells spanned by mm along an axis of pitch mm: mm / pitch rounded, at
 * least 1. */
int32_t km_map_cells(double mm, double pitch);

#endif
