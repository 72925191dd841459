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

/* sort8_rows_avx2 applies the sort-of-32 table block by block: the first
 * 76 comparators (SORT32_BLOCK8) within blocks of 8 slots right after each
 * block's transpose, those up to 126 (SORT32_HALF) within halves of 16,
 * then the rest.  That order gives the table's result only while those
 * ranges hold what they claim; the first comparator past each one must
 * cross (else the constants are stale, not wrong, but check them). */
Test(select_small, sort32_table_blocks_as_sort8_rows_applies_them)
{
    int ncmp;
    const unsigned char *hi, *lo = km_sort32_net(&ncmp, &hi);
    cr_assert_eq(ncmp, 191);
    for (int c = 0; c < 126; c++) {
        cr_assert(lo[c] < hi[c] && lo[c] / 16 == hi[c] / 16, "comparator %d crosses halves", c);
        if (c < 76)
            cr_assert(lo[c] / 8 == hi[c] / 8, "comparator %d crosses blocks of 8", c);
    }
    cr_assert(lo[76] / 8 != hi[76] / 8 && lo[126] / 16 != hi[126] / 16);
}
