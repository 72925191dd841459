/* Pipeline-internal side of equilibration (equilibrate.c): the gain map of
 * km_process_params (equilibrate, gain_map_path) for one session. */
#ifndef KM_EQUILIBRATE_H
#define KM_EQUILIBRATE_H

#include "io/result_writer.h"
#include "knotmap.h"

/* The gain map the process parameters ask for, for a session of info's
 * grid: *gains is allocated from ctx (rows*cols floats) when
 * p->equilibrate or p->gain_map_path is set, else NULL; s gets the
 * summary (for a gain-map file: grid and gain statistics).  Errors: those of
 * km_gain_map_from_recording / km_gain_map_read, KM_ERR_INVALID (more than
 * one gain source), KM_ERR_FORMAT (grid differs from the session's: the
 * gain file; km_process prefixes the session's name). */
km_status km_equil_resolve(km_ctx *ctx, const km_process_params *p, const km_session_info *info,
                           float **gains, km_equil_summary *s);

#endif
