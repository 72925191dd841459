/* km_select64_d (src/core/select_small.c) against the stable rank
 * (km_select_rank_d), bit for bit: every k of arrays of 1 to 64 values
 * with ties, both zeros, infinities and values a double apart. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "core/select_small.h"

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

Test(select_small, select64_d_is_the_stable_rank)
{
    static const double alphabet[] = {0.0, -0.0, 1.0, -1.0, 2.5, 1e-300, -1e300, INFINITY,
                                      -INFINITY, 0x1p-1074, 1.0 + 0x1p-52, 3.0};
    uint32_t s = 31u;
    double v[64];
    for (int t = 0; t < 3000; t++) {
        size_t n = 1 + lcg(&s) % 64;
        int few = lcg(&s) % 3 == 0; /* ties: a few distinct values */
        for (size_t i = 0; i < n; i++)
            v[i] = few ? alphabet[lcg(&s) % 4] : (lcg(&s) % 4 == 0)
                             ? alphabet[lcg(&s) % 12]
                             : ((double)lcg(&s) - 8388608.0) / 1024.0;
        for (size_t k = 0; k < n; k++) {
            double got = km_select64_d(v, n, k), want = km_select_rank_d(v, n, k);
            cr_assert(memcmp(&got, &want, sizeof got) == 0, "case %d n %zu k %zu: %a, want %a", t,
                      n, k, got, want);
        }
    }
}
