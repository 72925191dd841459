/* Each footprint size's significance against its own spread on the map
 * (km_candidate_params.scale_noise, opt-in; docs/ALGORITHMS.md 10.4 Noise,
 * Calibrated per size).  z divides the matched filter's response by the
 * map's cell-to-cell noise as if that noise were white; on knot-free
 * sessions of four simulators the true noise through the filter has 0.64-0.97
 * of that spread (medians; less at the broad sizes of the independent and
 * third simulators: bench/null_calib.py).  Dividing each size's z by its own
 * robust spread over the map (the lower half's, which sources do not raise)
 * gives every size one scale; measured, it lets the body's and the sensor's
 * structures through (tuning seeds, 16 cells: false candidates 161 -> 463
 * for 48 knots), so it is off by default (bench/HISTORY.md "Session 43
 * (det23)"). */
#include <math.h>

#include "pipeline/cand_noise.h"
#include "detect/mapfilt.h"

void km_cand_scale_noise(int mode, const float *scale_amp, float *scale_snr, int32_t ny,
                         int32_t nx, const double *sigmas_mm, int n_scales, int band_from,
                         float *amp, float *snr, float *sigma_mm, float *band_amp,
                         float *band_snr, float *band_sigma_mm, float *scratch)
{
    size_t cells = (size_t)ny * (size_t)nx;
    double d[32];
    if (mode <= 0 || n_scales < 1 || n_scales > 32)
        return;
    for (int k = 0; k < n_scales; k++) {
        d[k] = km_map_lower_spread(scale_snr + (size_t)k * cells, cells, scratch);
        if (!(d[k] > 0.0) || (mode == 2 && d[k] < 1.0))
            d[k] = 1.0;
    }
    km_map_scale_reselect(scale_amp, scale_snr, ny, nx, sigmas_mm, n_scales, band_from, d, amp,
                          snr, sigma_mm, band_amp, band_snr, band_sigma_mm, scratch);
}
