/* The memory budget of a run (km_read_options.max_memory), checked before
 * the pipeline allocates anything for a session's declared grid. */
#ifndef KM_PIPELINE_BUDGET_H
#define KM_PIPELINE_BUDGET_H

#include "internal.h"

/* Bytes `km_process` needs for a rows x cols grid pulled in blocks of nb
 * frames while the conditioner holds `held` frames of it
 * (km_condition_frames_held; the model in budget.c, measured with
 * /usr/bin/time; docs/FORMAT.md, "Untrusted input"). */
uint64_t km_process_memory_estimate(int32_t rows, int32_t cols, int64_t nb, int64_t held);

/* KM_ERR_LIMIT, naming the grid, the estimate and the budget, when the
 * estimate exceeds km_read_max_memory(&p->read). */
km_status km_process_check_memory(km_ctx *ctx, int32_t rows, int32_t cols, int64_t nb,
                                  int64_t held, const km_read_options *opt);

#endif
