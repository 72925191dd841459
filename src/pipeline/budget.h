/* The memory budget of a run (km_read_options.max_memory), checked before
 * the pipeline allocates anything for a session's declared grid. */
#ifndef KM_PIPELINE_BUDGET_H
#define KM_PIPELINE_BUDGET_H

#include "internal.h"

/* Bytes `km_process` needs for a rows x cols grid pulled in blocks of nb
 * frames (the model below, measured with /usr/bin/time on 512^2..2048^2
 * grids; docs/FORMAT.md, "Untrusted input"). */
uint64_t km_process_memory_estimate(int32_t rows, int32_t cols, int64_t nb);

/* KM_ERR_LIMIT, naming the grid, the estimate and the budget, when the
 * estimate exceeds km_read_max_memory(&p->read). */
km_status km_process_check_memory(km_ctx *ctx, int32_t rows, int32_t cols, int64_t nb,
                                  const km_read_options *opt);

#endif
