/* Roller odometry split in two for the pipeline: the per-frame row
 * medians (the bulk of the cost, independent across frames, so they can
 * run on several threads) and the sequential advance.  km_odometry_update
 * is exactly row_medians followed by advance.  Not installed. */
#ifndef KM_ODOMETRY_INTERNAL_H
#define KM_ODOMETRY_INTERNAL_H

#include "knotmap.h"

/* Median of the valid (mask 1, finite) taxels of each row into
 * row_med[rows] (0 for a row without any).  `scratch` holds cols floats.
 * Reads only the odometry's shape: thread-safe on a shared object, each
 * thread with its own scratch and row_med.  The frame and mask must have
 * the odometry's shape (not checked here). */
void km_odometry_row_medians(const km_odometry *o, const km_frame *frame, const km_mask *mask,
                             float *scratch, double *row_med);

/* Advance by one frame from its row medians (rows values, overwritten
 * with the excess over the floor).  One thread at a time. */
km_status km_odometry_advance(km_ctx *ctx, km_odometry *o, double *row_med,
                              km_odometry_sample *out);

#endif
