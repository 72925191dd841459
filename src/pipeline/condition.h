/* Pipeline-internal helpers of the conditioning chain (condition.c). */
#ifndef KM_CONDITION_H
#define KM_CONDITION_H

#include "knotmap.h"

/* Replace KM_CURVE_HEADER in p by the curve the reader's header gives
 * (CALIBRATION_POINT_k, SENSEL_AREA): linear for one point, power for
 * more.  Other curves are left alone.  Errors: KM_ERR_INVALID (no
 * calibration point or cell area in the header), KM_ERR_FORMAT. */
km_status km_condition_resolve_curve(km_ctx *ctx, const km_reader *reader,
                                     km_condition_params *p);

/* 1 when the warm-up looks for bad taxels: all kinds (detect_bad), or the
 * taxels that read an offset while unloaded (bad.offset_sigmas > 0, on by
 * default; docs/ALGORITHMS.md 11.3). */
int km_condition_finds_bad(const km_condition_params *p);

/* The frames of the grid the conditioner holds at most for p (its output
 * queue, staging, temporal filters, warm-up block, corrupt-frame ring):
 * memory that grows with the grid, counted by the memory budget
 * (budget.c; the queue and staging are made whatever p asks). */
int64_t km_condition_frames_held(const km_condition_params *p);

/* 1 when p asks for anything beyond the point-wise calibration. */
int km_condition_active(const km_condition_params *p);

/* A taxel the warm-up found stuck or hot (KM_TAXEL_STUCK, _HOT): masked
 * with detect_bad; else left in the conditioner's mask and, unless
 * keep_suspect, out of the peaks, metrics and maps (docs/ALGORITHMS.md 3.7). */
int km_taxel_suspect(uint8_t state);

/* out[k] = 1 where mask[k] is set and state[k] is not suspect, else 0
 * (n taxels): the mask the peaks and, with a spatial filter, the filters
 * see unless keep_suspect. */
void km_mask_less_suspect(uint8_t *out, const uint8_t *mask, const uint8_t *state, size_t n);

/* on: with a spatial filter (smoothing sigma, dog_sigma), the suspect taxels
 * still in the mask enter the filters as masked ones do (0), so that their
 * value does not reach their neighbours; their own output is the filtered
 * value.  Set before the first push (the engine: unless keep_suspect). */
void km_conditioner_suspect_out(km_conditioner *c, int on);

/* The frames the next push makes ready go, while none wait in the output
 * queue, straight into frames/times/flags (up to max; the rest to the
 * queue as before), with the same values; the next km_conditioner_pull,
 * which must be given the same three buffers and a max at least as large,
 * returns them first without copying them.  One copy of each frame less
 * for the engine, which pulls into its block (bench/HISTORY.md "Session
 * 40 (speed14)"). */
void km_conditioner_direct(km_conditioner *c, float *frames, double *times, uint32_t *flags,
                           int64_t max);

#endif
