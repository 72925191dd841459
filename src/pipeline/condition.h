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

/* 1 when p asks for anything beyond the point-wise calibration. */
int km_condition_active(const km_condition_params *p);

#endif
