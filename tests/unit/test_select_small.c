/* km_select64_d (src/core/select_small.c) against the stable rank
 * (km_select_rank_d) and against a plain reference (qsort of the values
 * with their positions breaking ties: the k-th entry's value), bit for
 * bit: every k of arrays of 1 to 64 values with ties, both zeros,
 * infinities and values a double apart (no NaN: not accepted). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/select_small.h"

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

typedef struct {
    double v;
    size_t i;
} pos_value;

static int pos_value_cmp(const void *a, const void *b)
{
    const pos_value *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

Test(select_small, select64_d_is_the_stable_rank)
{
    static const double alphabet[] = {0.0, -0.0, 1.0, -1.0, 2.5, 1e-300, -1e300, INFINITY,
                                      -INFINITY, 0x1p-1074, 1.0 + 0x1p-52, 3.0};
    uint32_t s = 31u;
    double v[64];
    pos_value sorted[64];
    for (int t = 0; t < 3000; t++) {
        size_t n = 1 + lcg(&s) % 64;
        int few = lcg(&s) % 3 == 0; /* ties: a few distinct values */
        for (size_t i = 0; i < n; i++)
            v[i] = few ? alphabet[lcg(&s) % 4] : (lcg(&s) % 4 == 0)
                             ? alphabet[lcg(&s) % 12]
                             : ((double)lcg(&s) - 8388608.0) / 1024.0;
        for (size_t i = 0; i < n; i++)
            sorted[i] = (pos_value){v[i], i};
        qsort(sorted, n, sizeof sorted[0], pos_value_cmp);
        for (size_t k = 0; k < n; k++) {
            double got = km_select64_d(v, n, k), want = km_select_rank_d(v, n, k);
            cr_assert(memcmp(&got, &want, sizeof got) == 0, "case %d n %zu k %zu: %a, want %a", t,
                      n, k, got, want);
            cr_assert(memcmp(&got, &sorted[k].v, sizeof got) == 0,
                      "case %d n %zu k %zu: %a, sorted %a", t, n, k, got, sorted[k].v);
        }
    }
}

/* sort8_rows_body (src/core/rows_sort32.c) applies the sort-of-32 table
 * block by block: the first 76 comparators (SORT32_BLOCK8) within blocks
 * of 8 slots right after each block's transpose, those up to 126
 * (SORT32_HALF) within halves of 16, then the rest (km_rows_median32_f may
 * leave the rest out: the halves must be sorted by then).  That order
 * gives the table's result only while those ranges hold what they claim;
 * the first comparator past each one must cross (else the constants are
 * stale, not wrong, but check them). */
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

static int float_cmp(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* km_rows_median32_f (the odometry's row medians, eight rows at once)
 * against a plain sort: each row's valid values (mask nonzero, finite)
 * sorted by qsort, the median its element n / 2 (the upper middle of an
 * even count), bit for bit but for a zero of a row holding a -0.0 (there
 * the caller takes zeros by rank: flagged).  Rows of every length 1..64
 * (beyond 32 the kernel declines: 0), values with ties, both zeros, NaN,
 * infinities; a third of the blocks without a missing taxel, so that every
 * row shares n / 2 and the merge is left out (the other blocks mix counts
 * and take the full network).  Also n, negzero, and the counts <= a limit
 * over the 32 slots (what sorted_above8 reads). */
Test(select_small, rows_median32_is_the_sorted_median)
{
    enum { COLS = 64 };
    static const float alphabet[] = {0.0f, -0.0f, 1.5f, -2.0f, 7.0f, NAN, INFINITY, -INFINITY};
    float data[8 * COLS], vals[COLS];
    uint8_t mask[8 * COLS];
    uint32_t s = 4242u;
    km_rows32 out;
    int uniform = 0, mixed = 0, flagged = 0;
    for (int t = 0; t < 64 * 60; t++) {
        int cols = 1 + t % 64, rows = 1 + (int)(lcg(&s) % 8u), kind = (int)(lcg(&s) % 3u);
        for (int i = 0; i < 8 * COLS; i++) {
            float v = kind == 0 ? (float)((int)(lcg(&s) % 2001u) - 1000) * 0.25f
                      : lcg(&s) % 3u == 0 ? alphabet[lcg(&s) % 8u]
                                          : (float)((int)(lcg(&s) % 41u) - 20) * 0.5f;
            data[i] = v;
            mask[i] = (uint8_t)(kind == 0 || lcg(&s) % 5u != 0u);
        }
        int ok = km_rows_median32_f(data, COLS, kind == 2 ? mask : NULL, COLS, rows, cols, &out);
        if (cols > 32) {
            cr_assert_eq(ok, 0, "cols %d", cols);
            continue;
        }
        if (!ok)
            cr_skip_test("no AVX2");
        int half = -1, same = 1;
        for (int l = 0; l < rows; l++) {
            int n = 0, negzero = 0;
            for (int j = 0; j < cols; j++) {
                float v = data[l * COLS + j];
                if (isfinite(v) && (kind != 2 || mask[l * COLS + j])) {
                    vals[n++] = v;
                    negzero |= v == 0.0f && signbit(v);
                }
            }
            cr_assert_eq(out.n[l], n, "case %d row %d", t, l);
            cr_assert_eq(out.negzero[l], negzero, "case %d row %d", t, l);
            qsort(vals, (size_t)n, sizeof vals[0], float_cmp);
            if (n > 0) {
                same &= half < 0 || half == n / 2;
                half = n / 2;
                float got = out.med[l], want = vals[n / 2];
                if (negzero && want == 0.0f) {
                    cr_assert(got == 0.0f, "case %d row %d", t, l);
                    flagged++;
                } else {
                    cr_assert(memcmp(&got, &want, sizeof got) == 0,
                              "case %d cols %d row %d n %d: %a, sorted median %a", t, cols, l, n,
                              (double)got, (double)want);
                }
            }
            float lim = n > 0 ? vals[lcg(&s) % (unsigned)n] : 0.0f;
            int le = 0, want_le = 0;
            for (int j = 0; j < 32; j++)
                le += out.v[j][l] <= lim;
            for (int j = 0; j < n; j++)
                want_le += vals[j] <= lim;
            cr_assert_eq(le, want_le, "case %d row %d: counts <= %a", t, l, (double)lim);
        }
        uniform += same && half >= 0;
        mixed += !same;
    }
    cr_assert(uniform > 800 && mixed > 500 && flagged > 500, "uniform %d mixed %d flagged %d",
              uniform, mixed, flagged);
}

/* Any n: km_select128_f and its portable form past their 128 values (rank
 * counting, no copy into their 128-value buffers: the sanitizer build and the
 * values checked here both fail on a copy past it), and km_select_any_f
 * (the candidate rows' and the odometry's medians) for n 1..400, against
 * qsort; values with ties and no zero (whose sign each may choose). */
Test(select_small, select_any_n_is_the_sorted_value)
{
    enum { NMAX = 400 };
    float v[NMAX], sorted[NMAX], scratch[NMAX];
    uint32_t s = 7u;
    for (size_t n = 1; n <= NMAX; n += (n < 140 ? 1 : 13)) {
        for (size_t i = 0; i < n; i++)
            v[i] = 0.25f + (float)(lcg(&s) % 97u) * 0.5f;
        memcpy(sorted, v, n * sizeof *v);
        qsort(sorted, n, sizeof *sorted, float_cmp);
        size_t ks[] = {0, n / 2, n - 1};
        for (size_t t = 0; t < 3; t++) {
            size_t k = ks[t];
            cr_assert_eq(km_select128_f(v, n, k), sorted[k], "n %zu k %zu: network", n, k);
            cr_assert_eq(km_select128_portable_f(v, n, k), sorted[k], "n %zu k %zu: portable",
                         n, k);
            memcpy(scratch, v, n * sizeof *v);
            cr_assert_eq(km_select_any_f(scratch, n, k), sorted[k], "n %zu k %zu: any", n, k);
        }
    }
}
