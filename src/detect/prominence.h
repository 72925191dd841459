/* Private: persistence (prominence) and basin area on a sanitised frame
 * (contiguous rows*cols floats, invalid taxels = -inf, no -0.0). */
#ifndef KM_PROMINENCE_H
#define KM_PROMINENCE_H

#include <stddef.h>
#include <stdint.h>

/* Scratch of rows*cols entries each (flag zeroed by the caller once; the
 * functions leave it zeroed). */
typedef struct km_prom_scratch {
    uint32_t *key, *key2, *ord, *ord2, *parent;
    float *lastv, *dtax;
    uint8_t *flag;
} km_prom_scratch;

/* For each of the n_want distinct valid taxels want[k], death[k] = the
 * level at which its component merges into an older one (prominence =
 * value - death); vmin for the oldest taxel of the frame; the minimum of
 * its component when it never merges.  O(n) radix sort + near-linear
 * union-find, stopping once every wanted taxel has died.  The taxels at or
 * above `level` are sorted and filtered first, the rest only if a wanted
 * taxel is still alive there; the result does not depend on `level`
 * (-INFINITY: one stage), only the time does (pass the detection
 * threshold: wanted taxels lie above it). */
void km_persistence(const float *san, int32_t rows, int32_t cols, float vmin, float level,
                    const km_prom_scratch *s, const uint32_t *want, size_t n_want, float *death);

/* Taxels 8-connected to `start` through taxels with value >= level
 * (including start).  stamp[] marks visits with stamp_value; queue holds
 * rows*cols entries. */
int32_t km_basin_area(const float *san, int32_t rows, int32_t cols, uint32_t start, double level,
                      uint32_t *stamp, uint32_t stamp_value, uint32_t *queue);

#endif
