/* Memory budget of km_process (see budget.h). */
#include "pipeline/budget.h"

/* Fitted to the peak RSS of `knotmap process` (/usr/bin/time, one
 * thread, sessions long enough to fill every buffer): per taxel, the
 * pipeline's maps (max, mean, contact, odometry, smoothing scratch,
 * candidate and body maps, the result writer's copies); per value of a
 * block, the float32 and the frame's peaks (on frames of pure noise one
 * taxel in nine is a peak: ~3 bytes a value); per value of each frame
 * the conditioner holds (km_condition_frames_held: its queue, the warm-up
 * block), the float32.  Fixed: libraries and HDF5 caches.  Defaults, peak
 * against estimate: 256x256 x 400 frames of noise 200 / 260 MiB, 256x256
 * x 1000 smooth frames 152 / 260 MiB, 512x512 x 400 frames 444 / 686 MiB,
 * 1000x1000 x 300 frames of uniform noise 1627 / 1801 MiB (bench/HISTORY.md
 * "Session 44 (lead)"; the model before left out the conditioner's frames
 * and the peaks, and read half the peak of long sessions). */
#define PER_TAXEL 400u
#define PER_BLOCK_VALUE 8u
#define PER_HELD_VALUE 4u
#define FIXED (32u << 20)

uint64_t km_process_memory_estimate(int32_t rows, int32_t cols, int64_t nb, int64_t held)
{
    double rc = (double)rows * (double)cols;
    double b = (double)FIXED + rc * PER_TAXEL + rc * (double)nb * PER_BLOCK_VALUE +
               rc * (double)(held > 0 ? held : 0) * PER_HELD_VALUE;
    return b >= 1.8e19 ? UINT64_MAX : (uint64_t)b;
}

km_status km_process_check_memory(km_ctx *ctx, int32_t rows, int32_t cols, int64_t nb,
                                  int64_t held, const km_read_options *opt)
{
    uint64_t need = km_process_memory_estimate(rows, cols, nb, held);
    uint64_t budget = km_read_max_memory(opt);
    if (need <= budget)
        return KM_OK;
    return km_fail(ctx, KM_ERR_LIMIT,
                   "grid %dx%d in blocks of %lld frames needs about %.0f MiB, beyond the "
                   "memory budget of %.0f MiB (raise it: --max-memory, max_memory=)",
                   (int)rows, (int)cols, (long long)nb, (double)need / 1048576.0,
                   (double)budget / 1048576.0);
}
