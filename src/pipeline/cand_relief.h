/* The body's relief against a knot (docs/ALGORITHMS.md 10.4 Peaks): the
 * tests of candidate_detect.c that weigh a peak's amplitude against the
 * contact pressure under it (the body map layer's maximum).  Private to
 * src/pipeline. */
#ifndef KM_PIPELINE_CAND_RELIEF_H
#define KM_PIPELINE_CAND_RELIEF_H

#include <stddef.h>
#include <stdint.h>

/* The share of its significance a full-search peak at cell k keeps: 1 when
   its amplitude amp is at least PEAK_PRESSURE_SHARE of the contact pressure
   press[k] there, or press is NULL or not positive there; amp / (share x
   pressure) under it (0 for amp <= 0). */
double km_cand_pressure_discount(const float *press, size_t k, double amp);

/* The share of its significance a peak at cell (y, x) of the ny x nx
   candidate map keeps: 1 when the map there stands at least SURROUND_SHARE
   of the contact pressure above the median of the map over a ring around
   it, or press is NULL or not positive there, or the ring has no finite
   cell; (map - median) / (share x pressure) under it (0 at or below the
   median).  scratch: room for the ring's cells (ny * nx always suffices). */
double km_cand_surround_discount(const float *map, const float *press, int32_t ny, int32_t nx,
                                 double row_pitch, double col_pitch, int32_t y, int32_t x,
                                 float *scratch);

/* 1 when a mat peak at cell k of amplitude amp is the body's relief: amp
   under share x the contact pressure press[k], unless that pressure
   reaches clip_level (the sensor's full scale, km_bodygrid_clip_level: the
   knot's amplitude is clipped there, so its share reads low).  0 when
   press is NULL. */
int km_cand_relief(const float *press, size_t k, double amp, double share, double clip_level);

/* 1 when a roller peak at cell k of amplitude amp stands at a knot's share
   of the contact: amp at least KNOT_PRESSURE_SHARE x press[k] (press[k] > 0).
   0 when press is NULL. */
int km_cand_knot_share(const float *press, size_t k, double amp);

/* The holes of a mat's contact, for the edge test (km_map_at_edge's skip):
   into skip (ny x nx), 1 where the candidate map has no data and both of
   the cell's neighbours along y or both along x have data and are pressed
   (press, the contact pressure) at least HOLE_CONTACT_SHARE of the median
   pressure of the cells with data: a dead, stuck or masked taxel inside the
   contact, neither contact nor edge.  All 0 when press is NULL.  scratch:
   ny * nx floats. */
void km_cand_bad_cells(const float *map, const float *press, int32_t ny, int32_t nx,
                       float *scratch, uint8_t *skip);

/* The share of its significance a roller peak keeps at (fy, fx) (fractional
   cells of the map a, pitches rp x cp mm), fitted at sigma_mm with
   amplitude amp (--cand-band-share, km_candidate_params.band_share): 1 -
   the share of its height a keeps along its best line 2.5 fitted sigmas
   away when that and the share 4 sigmas away both reach share and amp is
   under 0.14 of the contact pressure press at its cell; else 1 (and with
   share 0 or no pressure). */
double km_cand_band_discount(const float *a, const float *press, int32_t ny, int32_t nx,
                             double rp, double cp, double fy, double fx, double sigma_mm,
                             double amp, double share);

#endif
