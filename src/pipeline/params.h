/* The parameter table (param_table.c) seen from the pipeline: what a run
 * records in /params beside its parameters, and the table-driven writer. */
#ifndef KM_PIPELINE_PARAMS_H
#define KM_PIPELINE_PARAMS_H

#include "io/result_writer.h"
#include "knotmap.h"

/* The values of the KM_PARAM_DERIVED rows: what the run found out. */
typedef struct km_param_run {
    const char *units;         /* result units */
    double units_to_kpa;       /* folded into the gain; NaN for a raw session */
    double saturation;         /* the session's, in result units */
    km_equil_summary equil;    /* the gain source's statistics (zero without one) */
} km_param_run;

/* Write every KM_PARAM_RECORDED row to /params, in table order: the
 * parameters from `eff` (the effective ones: a header curve resolved, the
 * block size used, the peak saturation filled in), the derived rows from
 * `run`. */
km_status km_params_write(km_ctx *ctx, km_result_writer *w, const km_process_params *eff,
                          const km_param_run *run);

/* Every number of the parameter table within its row's [min, max]
 * (KM_ERR_INVALID naming the option and keyword): the one range check of
 * km_process and the engine; the CLI checks the same rows as it parses. */
km_status km_process_params_check(km_ctx *ctx, const km_process_params *p);

#endif
