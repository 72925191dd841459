/* km_abs_sum_masked (src/core/exact_sum.c) at the edge of its exactness
 * tests, bit for bit against the plain loop in index order: values of one
 * binary order with full significands and a few far smaller ones whose ulp
 * puts the whole within a factor 4 either side of 2^53 of them, so that
 * adding in lanes rounds differently from the plain order unless the test
 * refuses the lanes. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "core/exact_sum.h"

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

Test(exact_sum, sums_at_the_bound_match_the_plain_loop)
{
    enum { N = 1100 };
    static float v[N];
    static uint8_t m[N];
    uint32_t s = 8080u;
    int differs_by_order = 0;
    for (int t = 0; t < 4000; t++) {
        size_t n = 8 + lcg(&s) % (N - 8);
        int big = 10 + (int)(lcg(&s) % 10);
        double whole = 0.0;
        for (size_t k = 0; k < n; k++) {
            float x = ldexpf(1.0f + (float)(lcg(&s) % (1u << 23)) / (float)(1u << 23), big);
            v[k] = lcg(&s) % 3 == 0 ? 0.0f : (lcg(&s) & 1) ? x : -x;
            m[k] = (uint8_t)(lcg(&s) % 7 != 0);
            whole += fabs((double)v[k]);
        }
        int small = ilogb(whole > 0.0 ? whole : 1.0) - 30 + (int)(lcg(&s) % 5) - 2;
        for (int j = 0, ns = 1 + (int)(lcg(&s) % 3); j < ns; j++)
            v[lcg(&s) % n] = ldexpf(1.0f + (float)(lcg(&s) % (1u << 23)) / (float)(1u << 23), small);
        const uint8_t *mk = (t & 1) ? m : NULL;
        double want = 0.0, rev = 0.0;
        for (size_t k = 0; k < n; k++)
            if ((mk == NULL || mk[k]) && isfinite(v[k]))
                want += fabs((double)v[k]);
        for (size_t k = n; k-- > 0;)
            if ((mk == NULL || mk[k]) && isfinite(v[k]))
                rev += fabs((double)v[k]);
        differs_by_order += rev != want;
        double got = km_abs_sum_masked(v, mk, n);
        cr_assert_eq(memcmp(&got, &want, sizeof got), 0, "case %d (n %zu, big %d, small %d): %a, plain %a",
                     t, n, big, small, got, want);
    }
    cr_assert(differs_by_order > 200, "only %d sums depend on the order", differs_by_order);
}
