/* Memory budget of km_process (see budget.h). */
#include "pipeline/budget.h"

/* Fitted to the peak RSS of `knotmap process` (/usr/bin/time, one
 * thread; every run's block holds 2^25 values): 203 MB at 512x512, 497 MB
 * at 1024x1024, 1155 MB at 2048x2048.  Per taxel: the pipeline's maps
 * (max, mean, contact, odometry, smoothing scratch, candidate and body
 * maps, the result writer's copies), 200-370 bytes measured; per value of
 * a block: the float32 block.  Fixed: libraries and HDF5 caches.  The
 * model errs high (+23% at 2048x2048). */
#define PER_TAXEL 300u
#define PER_BLOCK_TAXEL 4u
#define FIXED (32u << 20)

uint64_t km_process_memory_estimate(int32_t rows, int32_t cols, int64_t nb)
{
    double rc = (double)rows * (double)cols;
    double b = (double)FIXED + rc * PER_TAXEL + rc * (double)nb * PER_BLOCK_TAXEL;
    return b >= 1.8e19 ? UINT64_MAX : (uint64_t)b;
}

km_status km_process_check_memory(km_ctx *ctx, int32_t rows, int32_t cols, int64_t nb,
                                  const km_read_options *opt)
{
    uint64_t need = km_process_memory_estimate(rows, cols, nb);
    uint64_t budget = km_read_max_memory(opt);
    if (need <= budget)
        return KM_OK;
    return km_fail(ctx, KM_ERR_LIMIT,
                   "grid %dx%d in blocks of %lld frames needs about %.0f MiB, beyond the "
                   "memory budget of %.0f MiB (raise it: --max-memory, max_memory=)",
                   (int)rows, (int)cols, (long long)nb, (double)need / 1048576.0,
                   (double)budget / 1048576.0);
}
