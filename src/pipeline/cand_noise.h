/* Each footprint size's significance against its own spread on the map
 * (docs/ALGORITHMS.md 10.4 Noise, Calibrated per size).  Private to
 * src/pipeline. */
#ifndef KM_PIPELINE_CAND_NOISE_H
#define KM_PIPELINE_CAND_NOISE_H

#include <stdint.h>

/* With mode 1 or 2 (km_candidate_params.scale_noise), each scale k's snr map
   (scale_snr, as km_map_scale_search_keep keeps it, n_scales * ny * nx) is
   divided by its lower half's spread over the map (km_map_lower_spread; 1
   when there is none; with mode 2 at least 1), and the best scale chosen
   again into amp, snr, sigma_mm and the band's maps from band_from on
   (km_map_scale_reselect).  scratch: 3 * ny * nx floats. */
void km_cand_scale_noise(int mode, const float *scale_amp, float *scale_snr, int32_t ny,
                         int32_t nx, const double *sigmas_mm, int n_scales, int band_from,
                         float *amp, float *snr, float *sigma_mm, float *band_amp,
                         float *band_snr, float *band_sigma_mm, float *scratch);

#endif
