/* The vpermd indices that pack the 64-bit lanes a 4-bit mask selects to the
 * front of an AVX2 vector, in lane order (each 64-bit lane as its two 32-bit
 * halves; the lanes left over take lane 0).  One table for the kernels that
 * compact four doubles or 64-bit keys at a time: the frame metrics' nonzero
 * terms (metrics.c) and prominence's partition (prominence.c). */
#ifndef KM_DETECT_LANES64_H
#define KM_DETECT_LANES64_H

#include <stdint.h>

static inline const uint32_t *km_lanes64_front(unsigned mask)
{
    static const uint32_t t[16][8] = {
        {0, 0, 0, 0, 0, 0, 0, 0}, {0, 1, 0, 0, 0, 0, 0, 0}, {2, 3, 0, 0, 0, 0, 0, 0},
        {0, 1, 2, 3, 0, 0, 0, 0}, {4, 5, 0, 0, 0, 0, 0, 0}, {0, 1, 4, 5, 0, 0, 0, 0},
        {2, 3, 4, 5, 0, 0, 0, 0}, {0, 1, 2, 3, 4, 5, 0, 0}, {6, 7, 0, 0, 0, 0, 0, 0},
        {0, 1, 6, 7, 0, 0, 0, 0}, {2, 3, 6, 7, 0, 0, 0, 0}, {0, 1, 2, 3, 6, 7, 0, 0},
        {4, 5, 6, 7, 0, 0, 0, 0}, {0, 1, 4, 5, 6, 7, 0, 0}, {2, 3, 4, 5, 6, 7, 0, 0},
        {0, 1, 2, 3, 4, 5, 6, 7}};
    return t[mask & 15u];
}

#endif
