/* Eight rows of up to 32 floats sorted at once, one row per AVX2 lane
 * (select_small.h: km_rows_sort32_f), or only their medians and counts
 * (km_rows_median32_f: the network without the merge of its sorted
 * halves): the odometry's row statistics.  Min and max keep the multiset
 * of values exactly except that +0.0 and -0.0 may trade places; the
 * caller takes a zero of a row with a -0.0 again by rank (negzero). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "select_small.h"

#if KM_AVX2_TARGET
#include <immintrin.h>
#endif

/* km_batcher_net(32, 32, all 32 slots): Batcher's odd-even merge sort of
   32 (tests/unit/test_frame_kernels.c checks this copy against it).  A
   table, not the function's output, so that the compiler sees constant
   slots and keeps them in registers. */
#define SORT32_CMP 191
static const unsigned char sort32_lo[SORT32_CMP] = {
    0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 0, 1, 4, 5, 8, 9, 12, 13, 16,
    17, 20, 21, 24, 25, 28, 29, 1, 5, 9, 13, 17, 21, 25, 29, 0, 1, 2, 3, 8, 9, 10, 11, 16,
    17, 18, 19, 24, 25, 26, 27, 2, 3, 10, 11, 18, 19, 26, 27, 1, 3, 5, 9, 11, 13, 17, 19,
    21, 25, 27, 29, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23, 4, 5, 6, 7, 20,
    21, 22, 23, 2, 3, 6, 7, 10, 11, 18, 19, 22, 23, 26, 27, 1, 3, 5, 7, 9, 11, 13, 17, 19,
    21, 23, 25, 27, 29, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11,
    12, 13, 14, 15, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 2, 3, 6, 7, 10, 11, 14, 15,
    18, 19, 22, 23, 26, 27, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29};
static const unsigned char sort32_hi[SORT32_CMP] = {
    1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, 2, 3, 6, 7, 10, 11, 14, 15,
    18, 19, 22, 23, 26, 27, 30, 31, 2, 6, 10, 14, 18, 22, 26, 30, 4, 5, 6, 7, 12, 13, 14,
    15, 20, 21, 22, 23, 28, 29, 30, 31, 4, 5, 12, 13, 20, 21, 28, 29, 2, 4, 6, 10, 12, 14,
    18, 20, 22, 26, 28, 30, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31, 8,
    9, 10, 11, 24, 25, 26, 27, 4, 5, 8, 9, 12, 13, 20, 21, 24, 25, 28, 29, 2, 4, 6, 8, 10,
    12, 14, 18, 20, 22, 24, 26, 28, 30, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
    29, 30, 31, 16, 17, 18, 19, 20, 21, 22, 23, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26,
    27, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29, 2, 4, 6, 8, 10, 12, 14, 16, 18,
    20, 22, 24, 26, 28, 30};

const unsigned char *km_sort32_net(int *ncmp, const unsigned char **hi)
{
    *ncmp = SORT32_CMP;
    *hi = sort32_hi;
    return sort32_lo;
}

#if KM_AVX2_TARGET
/* Row r of the block into rb (32 floats): its values, NaN where not valid
   (mask 0 or not finite) and past cols. */
__attribute__((target("avx2"), always_inline)) static inline void
padded_row(const float *row, const unsigned char *mr, int cols, float *rb)
{
    const __m256i expo = _mm256_set1_epi32(0x7f800000);
    const __m256 nan = _mm256_set1_ps(NAN);
    int c = 0;
    for (; c + 8 <= cols; c += 8) {
        __m256 v = _mm256_loadu_ps(row + c);
        __m256i vi = _mm256_castps_si256(v);
        __m256i bad = _mm256_cmpeq_epi32(_mm256_and_si256(vi, expo), expo);
        if (mr != NULL) {
            int64_t b8;
            memcpy(&b8, mr + c, sizeof b8);
            bad = _mm256_or_si256(bad, _mm256_cmpeq_epi32(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(b8)),
                                                          _mm256_setzero_si256()));
        }
        _mm256_storeu_ps(rb + c, _mm256_blendv_ps(v, nan, _mm256_castsi256_ps(bad)));
    }
    for (; c < 32; c++)
        rb[c] = c < cols && isfinite(row[c]) && (mr == NULL || mr[c] != 0) ? row[c] : NAN;
}

/* Rows 0..7 of r (8 floats each) become its columns. */
__attribute__((target("avx2"), always_inline)) static inline void transpose8(__m256 *r)
{
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

/* The table's first comparators that stay within blocks of 8 slots, and
   within halves of 16 (Batcher's merge sort: the sorts of 8, of 16, then
   the merge of the halves). */
#define SORT32_BLOCK8 76
#define SORT32_HALF 126

/* Compare-exchange of slots a < b. */
__attribute__((target("avx2"), always_inline)) static inline void cx8(__m256 *t, int a, int b)
{
    __m256 x = t[a], y = t[b];
    t[a] = _mm256_min_ps(x, y);
    t[b] = _mm256_max_ps(x, y);
}

/* Rank k (0-based) of each lane's 32 slots t where slots 0-15 and 16-31
   are each sorted (halves A, B): the smallest over the splits i + j = k + 1
   of the largest of A's first i and B's first j (each split's k + 1 values
   hold the rank-k one or a larger one; the split into the k + 1 smallest
   gives it).  At most 16 max and 16 min where the merge of the halves is
   65 comparators.  0 <= k <= 16, a constant where inlined (the slots stay
   in registers). */
__attribute__((target("avx2"), always_inline)) static inline __m256 rank_of_halves(const __m256 *t,
                                                                                 int k)
{
    __m256 z = _mm256_set1_ps(INFINITY);
    int i0 = k > 15 ? k - 15 : 0, i1 = k < 15 ? k + 1 : 16;
#pragma GCC unroll 17
    for (int i = i0; i <= i1; i++) {
        int j = k + 1 - i;
        __m256 term = i == 0   ? t[16 + j - 1]
                      : j == 0 ? t[i - 1]
                               : _mm256_max_ps(t[i - 1], t[16 + j - 1]);
        z = _mm256_min_ps(z, term);
    }
    return z;
}

/* rank_of_halves with k made a constant in each case. */
__attribute__((target("avx2"))) static __m256 rank_of_halves_k(const __m256 *t, int k)
{
    switch (k) {
#define KM_RANK_CASE(x)                                                                            \
    case x:                                                                                        \
        return rank_of_halves(t, x);
        KM_RANK_CASE(0) KM_RANK_CASE(1) KM_RANK_CASE(2) KM_RANK_CASE(3) KM_RANK_CASE(4)
        KM_RANK_CASE(5) KM_RANK_CASE(6) KM_RANK_CASE(7) KM_RANK_CASE(8) KM_RANK_CASE(9)
        KM_RANK_CASE(10) KM_RANK_CASE(11) KM_RANK_CASE(12) KM_RANK_CASE(13) KM_RANK_CASE(14)
        KM_RANK_CASE(15)
#undef KM_RANK_CASE
    default:
        return rank_of_halves(t, 16);
    }
}

/* The lanes' common rank n / 2 (the lanes with no value aside), -1 where
   two lanes differ. */
static int common_half(const int32_t *m)
{
    int k = -1;
    for (int l = 0; l < 8; l++) {
        int n = 32 - m[l];
        if (n > 0 && k >= 0 && n / 2 != k)
            return -1;
        k = n > 0 ? n / 2 : k;
    }
    return k;
}

/* Eight rows, one per lane: the rows into rb, transposed so that t[j]
   holds column j of each, the missing slots (NaN) made +inf, and the
   network over the 32 slots; with median_only and every row's n / 2
   alike, the network without the merge of its halves (rank_of_halves). */
__attribute__((target("avx2"), always_inline)) static inline void
sort8_rows_body(const float *data, ptrdiff_t stride, const unsigned char *mask, ptrdiff_t mstride,
                int rows, int cols, km_rows32 *out, int median_only)
{
    float rb[8][32];
    for (int l = 0; l < 8; l++) {
        if (l < rows)
            padded_row(data + (ptrdiff_t)l * stride, mask != NULL ? mask + (ptrdiff_t)l * mstride : NULL,
                       cols, rb[l]);
        else
            for (int c = 0; c < 32; c++)
                rb[l][c] = NAN;
    }
    __m256 t[32];
    const __m256 pinf = _mm256_set1_ps(INFINITY);
    const __m256i nz = _mm256_set1_epi32((int)0x80000000u);
    __m256i missing = _mm256_setzero_si256(), neg = _mm256_setzero_si256();
    /* The network by blocks of slots (the same comparators, each slot's in
       the table's order, so the same result): a block of eight's own
       comparators (the table's first 76) right after its transpose, then
       each half's (up to 126), then the merge of the halves; fewer slots
       live at once, fewer spilled to the stack. */
#pragma GCC unroll 4
    for (int c0 = 0; c0 < 32; c0 += 8) {
        for (int l = 0; l < 8; l++)
            t[c0 + l] = _mm256_loadu_ps(&rb[l][c0]);
        transpose8(t + c0);
        for (int j = c0; j < c0 + 8; j++) {
            __m256 miss = _mm256_cmp_ps(t[j], t[j], _CMP_UNORD_Q);
            missing = _mm256_sub_epi32(missing, _mm256_castps_si256(miss));
            neg = _mm256_or_si256(neg, _mm256_cmpeq_epi32(_mm256_castps_si256(t[j]), nz));
            t[j] = _mm256_blendv_ps(t[j], pinf, miss);
        }
#pragma GCC unroll 200
        for (int c = 0; c < SORT32_BLOCK8; c++)
            if (sort32_lo[c] / 8 == c0 / 8)
                cx8(t, sort32_lo[c], sort32_hi[c]);
        if (c0 % 16 == 8)
#pragma GCC unroll 200
            for (int c = SORT32_BLOCK8; c < SORT32_HALF; c++)
                if (sort32_lo[c] / 16 == c0 / 16)
                    cx8(t, sort32_lo[c], sort32_hi[c]);
    }
    int32_t m[8], z[8];
    _mm256_storeu_si256((__m256i *)m, missing);
    _mm256_storeu_si256((__m256i *)z, neg);
    for (int l = 0; l < 8; l++) {
        out->n[l] = 32 - m[l];
        out->negzero[l] = z[l] != 0;
    }
    int k = median_only ? common_half(m) : -1;
    if (k < 0) {
#pragma GCC unroll 200
        for (int c = SORT32_HALF; c < SORT32_CMP; c++)
            cx8(t, sort32_lo[c], sort32_hi[c]);
    }
    for (int j = 0; j < 32; j++)
        _mm256_storeu_ps(out->v[j], t[j]);
    if (k >= 0)
        _mm256_storeu_ps(out->med, k == 16 ? rank_of_halves(t, 16) : rank_of_halves_k(t, k));
    else
        for (int l = 0; l < 8; l++)
            out->med[l] = out->v[out->n[l] / 2][l];
}

__attribute__((target("avx2"))) static void sort8_rows_avx2(const float *data, ptrdiff_t stride,
                                                            const unsigned char *mask,
                                                            ptrdiff_t mstride, int rows, int cols,
                                                            km_rows32 *out)
{
    sort8_rows_body(data, stride, mask, mstride, rows, cols, out, 0);
}

__attribute__((target("avx2"))) static void median8_rows_avx2(const float *data, ptrdiff_t stride,
                                                              const unsigned char *mask,
                                                              ptrdiff_t mstride, int rows, int cols,
                                                              km_rows32 *out)
{
    sort8_rows_body(data, stride, mask, mstride, rows, cols, out, 1);
}
#endif

/* Both entry points: the AVX2 body where the rows fit and the CPU has it. */
static int rows32(const float *data, ptrdiff_t stride, const unsigned char *mask,
                  ptrdiff_t mstride, int rows, int cols, km_rows32 *out, int median_only)
{
#if KM_AVX2_TARGET
    if (cols <= 32 && rows <= 8 && km_cpu_avx2()) {
        if (median_only)
            median8_rows_avx2(data, stride, mask, mstride, rows, cols, out);
        else
            sort8_rows_avx2(data, stride, mask, mstride, rows, cols, out);
        return 1;
    }
#endif
    (void)data, (void)stride, (void)mask, (void)mstride, (void)rows, (void)cols, (void)out;
    (void)median_only;
    return 0;
}

int km_rows_sort32_f(const float *data, ptrdiff_t stride, const unsigned char *mask,
                     ptrdiff_t mstride, int rows, int cols, km_rows32 *out)
{
    return rows32(data, stride, mask, mstride, rows, cols, out, 0);
}

int km_rows_median32_f(const float *data, ptrdiff_t stride, const unsigned char *mask,
                       ptrdiff_t mstride, int rows, int cols, km_rows32 *out)
{
    return rows32(data, stride, mask, mstride, rows, cols, out, 1);
}
