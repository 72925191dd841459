/* Hand-made roller frames shared by the odometry tests (test_track.c,
 * test_odometry_contact.c).  Header-only and plain C11 (test_util.h needs
 * _POSIX_C_SOURCE, which hides M_PI from these files). */
#ifndef KM_TEST_ROLLER_FRAMES_H
#define KM_TEST_ROLLER_FRAMES_H

#include <stdint.h>
#include <string.h>

/* Rows c-1, c, c+1 (mod R) of every column at `kpa`, the rest 0. */
static inline void km_test_band_frame(float *f, int32_t R, int32_t C, int32_t c, float kpa)
{
    memset(f, 0, (size_t)R * (size_t)C * sizeof(float));
    for (int d = -1; d <= 1; d++) {
        int32_t r = ((c + d) % R + R) % R;
        for (int32_t k = 0; k < C; k++)
            f[r * C + k] = kpa;
    }
}

#endif
