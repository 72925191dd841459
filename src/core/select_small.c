/* Sorting and selection networks for short float arrays (select_small.h):
 * the k-th smallest of up to 128 floats by a bitonic network in four AVX2
 * registers (two or four such sorts merged beyond 32); Batcher's odd-even
 * merge sort as comparator tables, for the candidate layer's sliding row
 * medians (eight windows at a time); eight rows of up to 32 sorted at once
 * are in rows_sort32.c.  Min and max keep
 * the multiset of values exactly except that equal values of different
 * bits (+0.0 and -0.0, the only such pair without NaN) may trade places or
 * be duplicated; a zero result is therefore taken from the input instead,
 * as the stable rank orders zeros: by position. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "select_small.h"

#if KM_AVX2_TARGET
#include <immintrin.h>
#endif

#if KM_AVX2_TARGET
/* Partner lanes at distance 4, 2 and 1 within a register. */
#define SWAP4(x) _mm256_permute2f128_ps((x), (x), 1)
#define SWAP2(x) _mm256_permute_ps((x), 0x4E)
#define SWAP1(x) _mm256_permute_ps((x), 0xB1)
/* Compare-exchange with the partner lane; the lanes of imm take the max. */
#define CX(x, P, imm) _mm256_blend_ps(_mm256_min_ps((x), P(x)), _mm256_max_ps((x), P(x)), (imm))
#define WITHIN(P, m0, m1, m2, m3)                                                                  \
    do {                                                                                           \
        r0 = CX(r0, P, m0);                                                                        \
        r1 = CX(r1, P, m1);                                                                        \
        r2 = CX(r2, P, m2);                                                                        \
        r3 = CX(r3, P, m3);                                                                        \
    } while (0)
/* Compare-exchange of whole registers, element e of a with e of b; desc:
   the larger goes to a. */
#define ACROSS(a, b, desc)                                                                         \
    do {                                                                                           \
        __m256 lo_ = _mm256_min_ps(a, b), hi_ = _mm256_max_ps(a, b);                               \
        a = (desc) ? hi_ : lo_;                                                                    \
        b = (desc) ? lo_ : hi_;                                                                    \
    } while (0)

/* Sorts buf[0..32) ascending (element e = lane e % 8 of register e / 8):
   the bitonic network, blocks of 2, 4, 8, 16 and 32 merged in turn, each
   block ascending when its index bit of the next size is 0. */
__attribute__((target("avx2"))) static void sort32_avx2(float *buf)
{
    __m256 r0 = _mm256_loadu_ps(buf), r1 = _mm256_loadu_ps(buf + 8);
    __m256 r2 = _mm256_loadu_ps(buf + 16), r3 = _mm256_loadu_ps(buf + 24);
    WITHIN(SWAP1, 0x66, 0x66, 0x66, 0x66); /* blocks of 2 */
    WITHIN(SWAP2, 0x3C, 0x3C, 0x3C, 0x3C); /* 4 */
    WITHIN(SWAP1, 0x5A, 0x5A, 0x5A, 0x5A);
    WITHIN(SWAP4, 0xF0, 0x0F, 0xF0, 0x0F); /* 8 */
    WITHIN(SWAP2, 0xCC, 0x33, 0xCC, 0x33);
    WITHIN(SWAP1, 0xAA, 0x55, 0xAA, 0x55);
    ACROSS(r0, r1, 0); /* 16 */
    ACROSS(r2, r3, 1);
    WITHIN(SWAP4, 0xF0, 0xF0, 0x0F, 0x0F);
    WITHIN(SWAP2, 0xCC, 0xCC, 0x33, 0x33);
    WITHIN(SWAP1, 0xAA, 0xAA, 0x55, 0x55);
    ACROSS(r0, r2, 0); /* 32 */
    ACROSS(r1, r3, 0);
    ACROSS(r0, r1, 0);
    ACROSS(r2, r3, 0);
    WITHIN(SWAP4, 0xF0, 0xF0, 0xF0, 0xF0);
    WITHIN(SWAP2, 0xCC, 0xCC, 0xCC, 0xCC);
    WITHIN(SWAP1, 0xAA, 0xAA, 0xAA, 0xAA);
    _mm256_storeu_ps(buf, r0);
    _mm256_storeu_ps(buf + 8, r1);
    _mm256_storeu_ps(buf + 16, r2);
    _mm256_storeu_ps(buf + 24, r3);
}

/* Sorts buf[0..16 * nr) ascending, nr = 4 or 8 registers per half, whose
   two halves are each sorted: the halves as one bitonic sequence (the
   second read backwards), compare-exchanged at distance 8 * nr, then at
   each smaller power of two (whole registers down to 8 floats, then
   within each register: 4, 2, 1). */
__attribute__((target("avx2"))) static void merge_halves_avx2(float *buf, int nr)
{
    const __m256i rev = _mm256_set_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256 r[16];
    for (int i = 0; i < nr; i++) {
        r[i] = _mm256_loadu_ps(buf + 8 * i);
        r[nr + i] = _mm256_permutevar8x32_ps(_mm256_loadu_ps(buf + 16 * nr - 8 - 8 * i), rev);
    }
    for (int d = nr; d >= 1; d /= 2)
        for (int i = 0; i < 2 * nr; i++)
            if ((i & d) == 0)
                ACROSS(r[i], r[i + d], 0);
    for (int i = 0; i < 2 * nr; i++) {
        r[i] = CX(r[i], SWAP4, 0xF0);
        r[i] = CX(r[i], SWAP2, 0xCC);
        r[i] = CX(r[i], SWAP1, 0xAA);
        _mm256_storeu_ps(buf + 8 * i, r[i]);
    }
}

/* Sorts buf[0..64) or buf[0..128) ascending: sorts of 32 merged by
   halves. */
__attribute__((target("avx2"))) static void sort64_avx2(float *buf)
{
    sort32_avx2(buf);
    sort32_avx2(buf + 32);
    merge_halves_avx2(buf, 4);
}

__attribute__((target("avx2"))) static void sort128_avx2(float *buf)
{
    sort64_avx2(buf);
    sort64_avx2(buf + 64);
    merge_halves_avx2(buf, 8);
}
#endif

/* x is the k-th smallest of v[0..n) as a sort of the values gives it; the
   stable rank's element, bit for bit: x itself unless it is a zero, then
   +0.0 when no -0.0 is in the input (no branch in that test), else the
   (k - #negatives)-th zero of the input. */
static float stable_zero(const float *v, size_t n, size_t k, float x)
{
    if (x != 0.0f)
        return x; /* equal nonzero floats have equal bits */
    uint32_t negzero = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof u);
        negzero |= u == 0x80000000u;
    }
    if (!negzero)
        return 0.0f;
    size_t neg = 0;
    for (size_t i = 0; i < n; i++)
        neg += v[i] < 0.0f;
    size_t j = k - neg;
    for (size_t i = 0; i < n; i++)
        if (v[i] == 0.0f && j-- == 0)
            return v[i];
    return x; /* not reached */
}

float km_select128_f(const float *v, size_t n, size_t k)
{
#if KM_AVX2_TARGET
    if (n <= KM_SELECT128_MAX && km_cpu_avx2()) {
        float buf[KM_SELECT128_MAX];
        memcpy(buf, v, n * sizeof *v);
        size_t top = n <= 32 ? 32 : n <= 64 ? 64 : 128;
        for (size_t i = n; i < top; i++)
            buf[i] = INFINITY; /* above every value, k < n never picks one */
        if (top == 32)
            sort32_avx2(buf);
        else if (top == 64)
            sort64_avx2(buf);
        else
            sort128_avx2(buf);
        return stable_zero(v, n, k, buf[k]);
    }
#endif
    return km_select128_portable_f(v, n, k);
}

float km_select128_portable_f(const float *v, size_t n, size_t k)
{
    if (n <= 64 || n > KM_SELECT128_MAX)
        return km_select_rank_f(v, n, k);
    float buf[KM_SELECT128_MAX];
    memcpy(buf, v, n * sizeof *v);
    return stable_zero(v, n, k, km_select_kth_f(buf, n, k));
}

float km_select_any_f(float *v, size_t n, size_t k)
{
    return n <= KM_SELECT128_MAX ? km_select128_f(v, n, k) : km_select_kth_f(v, n, k);
}

#if KM_AVX2_TARGET
/* Lane l of the result counts v[j] against x where v[j] < x, or where
   v[j] == x and j < i0 + l: y = v[j] broadcast, lanes l > t of a j =
   i0 + t inside the block take <=, the others <. */
__attribute__((target("avx2"))) static __m256i rank4_inside(const double *v, size_t i0, size_t n,
                                                           __m256d x, __m256i cnt)
{
    for (size_t t = 0; t < 4 && i0 + t < n; t++) {
        const __m256d y = _mm256_broadcast_sd(v + i0 + t);
        const __m256d after = _mm256_castsi256_pd(
            _mm256_cmpgt_epi64(_mm256_set_epi64x(3, 2, 1, 0), _mm256_set1_epi64x((long long)t)));
        cnt = _mm256_sub_epi64(cnt, _mm256_castpd_si256(_mm256_blendv_pd(
                                        _mm256_cmp_pd(y, x, _CMP_LT_OQ),
                                        _mm256_cmp_pd(y, x, _CMP_LE_OQ), after)));
    }
    return cnt;
}

/* The element of stable rank k among v[0..n), n <= 64, with no branch on
   the values and no wide load of v (callers have just stored it value by
   value: a 32-byte load over those stores is not forwarded and waits for
   them to reach the cache).  Four candidates x = v[i0..i0+4) at a time,
   each lane l counting km_rank_stable_d's rank: the values v[j] <= x
   before it (j < i0 + l), those < x after it, v[j] broadcast from memory
   (which forwards): all lanes take <= for j < i0 and < for j >= i0 + 4.
   Lanes past n hold +inf, whose count n is never k < n.  The one lane
   whose count is k gives the result: the OR of every lane's value masked
   by count == k. */
__attribute__((target("avx2"))) static double select64_d_avx2(const double *v, size_t n,
                                                             size_t k)
{
    const __m256i kk = _mm256_set1_epi64x((long long)k);
    const size_t last = n - 1;
    __m256d hit = _mm256_setzero_pd();
    for (size_t i0 = 0; i0 < n; i0 += 4) {
        const size_t i1 = i0 + 1 < last ? i0 + 1 : last, i2 = i0 + 2 < last ? i0 + 2 : last,
                     i3 = i0 + 3 < last ? i0 + 3 : last;
        const __m256d past = _mm256_castsi256_pd(
            _mm256_cmpgt_epi64(_mm256_set_epi64x(3, 2, 1, 0), _mm256_set1_epi64x((long long)(last - i0))));
        const __m256d x = _mm256_blendv_pd(_mm256_set_pd(v[i3], v[i2], v[i1], v[i0]),
                                           _mm256_set1_pd(INFINITY), past);
        __m256i c0 = _mm256_setzero_si256(), c1 = _mm256_setzero_si256();
        for (size_t j = 0; j < i0; j++)
            c0 = _mm256_sub_epi64(
                c0, _mm256_castpd_si256(_mm256_cmp_pd(_mm256_broadcast_sd(v + j), x, _CMP_LE_OQ)));
        for (size_t j = i0 + 4; j < n; j++)
            c1 = _mm256_sub_epi64(
                c1, _mm256_castpd_si256(_mm256_cmp_pd(_mm256_broadcast_sd(v + j), x, _CMP_LT_OQ)));
        const __m256i cnt = rank4_inside(v, i0, n, x, _mm256_add_epi64(c0, c1));
        hit = _mm256_or_pd(hit, _mm256_and_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(cnt, kk)), x));
    }
    __m128d h = _mm_or_pd(_mm256_castpd256_pd128(hit), _mm256_extractf128_pd(hit, 1));
    return _mm_cvtsd_f64(_mm_or_pd(h, _mm_unpackhi_pd(h, h)));
}
#endif

double km_select64_d(const double *v, size_t n, size_t k)
{
#if KM_AVX2_TARGET
    if (n <= 64 && km_cpu_avx2())
        return select64_d_avx2(v, n, k);
#endif
    return km_select_rank_d(v, n, k);
}

/* ------------------------------------------------ sliding median network */

int km_batcher_net(int N, int n, uint64_t outs, unsigned char *lo, unsigned char *hi, int cap)
{
    int m = 0;
    /* Batcher's odd-even merge sort of N values; a comparator with an end
       at n or beyond never moves anything (those slots would hold +inf). */
    for (int p = 1; p < N; p <<= 1)
        for (int k = p; k >= 1; k >>= 1)
            for (int j = k % p; j + k < N; j += 2 * k)
                for (int i = 0; i < k && i < N - j - k; i++)
                    if ((i + j) / (2 * p) == (i + j + k) / (2 * p) && i + j + k < n) {
                        if (m == cap)
                            return -1;
                        lo[m] = (unsigned char)(i + j);
                        hi[m++] = (unsigned char)(i + j + k);
                    }
    /* Backwards from the slots read: only the comparators whose outputs
       reach them, kept in order at the front. */
    uint64_t need = outs;
    int kept = 0;
    for (int c = m - 1; c >= 0; c--)
        if (need & (1ull << lo[c] | 1ull << hi[c])) {
            need |= 1ull << lo[c] | 1ull << hi[c];
            lo[m - 1 - kept] = lo[c];
            hi[m - 1 - kept++] = hi[c];
        }
    memmove(lo, lo + m - kept, (size_t)kept);
    memmove(hi, hi + m - kept, (size_t)kept);
    return kept;
}

/* km_batcher_net(16, n, slots n / 2 and n / 2 + 1) for the odd windows
   (tests/unit/test_frame_kernels.c checks each copy against it): tables,
   not the function's output, so that the compiler sees constant slots and
   keeps them in registers. */
static const unsigned char net3_lo[5] = {
    0, 0, 1, 1, 1};
static const unsigned char net3_hi[5] = {
    1, 2, 2, 2, 2};
static const unsigned char net5_lo[12] = {
    0, 2, 0, 1, 1, 0, 2, 1, 3, 2, 1, 3};
static const unsigned char net5_hi[12] = {
    1, 3, 2, 3, 2, 4, 4, 2, 4, 4, 2, 4};
static const unsigned char net7_lo[19] = {
    0, 2, 4, 0, 1, 4, 1, 5, 0, 1, 2, 2, 3, 1, 3, 5, 2, 3, 3};
static const unsigned char net7_hi[19] = {
    1, 3, 5, 2, 3, 6, 2, 6, 4, 5, 6, 4, 5, 2, 4, 6, 4, 5, 4};
static const unsigned char net9_lo[26] = {
    0, 2, 4, 6, 0, 1, 4, 5, 1, 5, 0, 1, 2, 3, 2, 3, 1, 3, 5, 0, 4, 2, 3, 6, 3, 5};
static const unsigned char net9_hi[26] = {
    1, 3, 5, 7, 2, 3, 6, 7, 2, 6, 4, 5, 6, 7, 4, 5, 2, 4, 6, 8, 8, 4, 5, 8, 4, 6};
static const unsigned char net11_lo[32] = {
    0, 2, 4, 6, 8, 0, 1, 4, 5, 8, 1, 5, 9, 0, 1, 2, 3, 2, 3, 1, 3, 5, 9, 0, 1, 2, 4, 5, 6,
    3, 6, 5};
static const unsigned char net11_hi[32] = {
    1, 3, 5, 7, 9, 2, 3, 6, 7, 10, 2, 6, 10, 4, 5, 6, 7, 4, 5, 2, 4, 6, 10, 8, 9, 10, 8, 9,
    10, 5, 8, 6};
static const unsigned char net13_lo[42] = {
    0, 2, 4, 6, 8, 10, 0, 1, 4, 5, 8, 9, 1, 5, 9, 0, 1, 2, 3, 8, 2, 3, 10, 1, 3, 5, 9, 11,
    0, 1, 2, 3, 4, 4, 5, 6, 7, 3, 6, 7, 5, 7};
static const unsigned char net13_hi[42] = {
    1, 3, 5, 7, 9, 11, 2, 3, 6, 7, 10, 11, 2, 6, 10, 4, 5, 6, 7, 12, 4, 5, 12, 2, 4, 6, 10,
    12, 8, 9, 10, 11, 12, 8, 9, 10, 11, 5, 8, 9, 6, 8};
static const unsigned char net15_lo[49] = {
    0, 2, 4, 6, 8, 10, 12, 0, 1, 4, 5, 8, 9, 12, 1, 5, 9, 13, 0, 1, 2, 3, 8, 9, 10, 2, 3,
    10, 11, 1, 3, 5, 9, 11, 13, 0, 1, 2, 3, 4, 5, 6, 4, 5, 6, 7, 6, 7, 7};
static const unsigned char net15_hi[49] = {
    1, 3, 5, 7, 9, 11, 13, 2, 3, 6, 7, 10, 11, 14, 2, 6, 10, 14, 4, 5, 6, 7, 12, 13, 14, 4,
    5, 12, 13, 2, 4, 6, 10, 12, 14, 8, 9, 10, 11, 12, 13, 14, 8, 9, 10, 11, 8, 9, 8};

#define NET(n) {n, (int)sizeof net##n##_lo, net##n##_lo, net##n##_hi}
static const km_median_net median_nets[] = {
    {1, 0, NULL, NULL}, NET(3), NET(5), NET(7), NET(9), NET(11), NET(13), NET(15)};
#undef NET

const km_median_net *km_median_net_for(int n)
{
    return n >= 1 && n <= KM_MEDIAN_NET_MAX && (n & 1) ? &median_nets[n / 2] : NULL;
}

size_t km_row_window_scratch(int cols, int n)
{
    /* The padded row (floats) and its usable flags (bytes), eight columns
       of slack after it; or n floats for the windows by rank. */
    size_t len = (size_t)cols + (size_t)n + 8;
    return len * (sizeof(float) + 1);
}

/* The median of the usable values in columns [a, b]. */
static float partial_median(const float *row, const unsigned char *ok, int a, int b, float *win)
{
    int n = 0;
    for (int k = a; k <= b; k++)
        if (ok[k])
            win[n++] = row[k];
    return km_median_small_f(win, n);
}

#if KM_AVX2_TARGET
/* Eight columns' windows: slot j of column x0 + l is pr[x0 + l + j] (the
   padded row: column k at k + w).  A slot outside the row or not usable
   takes -inf and +inf in turn (per lane: the first such slot -inf), so
   that with u usable values in a window of n (n odd) the sorted slots
   n / 2 and n / 2 + 1 hold the middle one (u odd) or the two middle ones
   (u even) of the u values: the median in the same float operations as
   km_median_small_f's.  Where usable (pok) the median is stored into
   bg[x], by a masked store (the padded flags are 0 past the row). */
__attribute__((target("avx2"), always_inline)) static inline void
medians8_net(const int n, const unsigned char *lo, const unsigned char *hi, const int ncmp,
             const float *pr, const unsigned char *pok, int x0, const float *slope,
             float *bg)
{
    const int w = n / 2;
    const __m256 k = slope != NULL ? _mm256_loadu_ps(slope + x0) : _mm256_setzero_ps();
    const __m256 ninf = _mm256_set1_ps(-INFINITY), pinf = _mm256_set1_ps(INFINITY);
    __m256i odd = _mm256_setzero_si256(); /* missing slots so far, parity (all bits) */
    __m256 v[KM_MEDIAN_NET_MAX + 1];
    for (int j = 0; j < n; j++) {
        int64_t b8;
        memcpy(&b8, pok + x0 + j, sizeof b8);
        __m256i miss = _mm256_cmpeq_epi32(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(b8)),
                                          _mm256_setzero_si256());
        __m256 pad = _mm256_blendv_ps(ninf, pinf, _mm256_castsi256_ps(odd));
        __m256 val = _mm256_loadu_ps(pr + x0 + j);
        if (slope != NULL) /* the line through column x0 + l taken off */
            val = _mm256_sub_ps(val, _mm256_mul_ps(k, _mm256_set1_ps((float)(j - w))));
        v[j] = _mm256_blendv_ps(val, pad, _mm256_castsi256_ps(miss));
        odd = _mm256_xor_si256(odd, miss);
    }
    v[n] = pinf; /* n / 2 + 1 of a one-value window: never read */
#pragma GCC unroll 64
    for (int c = 0; c < ncmp; c++) {
        __m256 a = v[lo[c]], b = v[hi[c]];
        v[lo[c]] = _mm256_min_ps(a, b);
        v[hi[c]] = _mm256_max_ps(a, b);
    }
    /* u even <=> an odd count of missing slots (n odd). */
    __m256 two = _mm256_mul_ps(_mm256_add_ps(v[w], v[w + 1]), _mm256_set1_ps(0.5f));
    __m256 med = _mm256_blendv_ps(v[w], two, _mm256_castsi256_ps(odd));
    int64_t u8;
    memcpy(&u8, pok + w + x0, sizeof u8);
    __m256i use = _mm256_xor_si256(_mm256_cmpeq_epi32(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(u8)),
                                                      _mm256_setzero_si256()),
                                   _mm256_set1_epi32(-1));
    _mm256_maskstore_ps(bg + x0, use, med);
}

/* One instance per window, so that every slot index is a constant; and
   one with a line taken off (slope), so that the plain one reads none. */
#define MEDIANS8(n)                                                                                \
    __attribute__((target("avx2"))) static void medians8_##n(const float *pr,                     \
                                                             const unsigned char *pok, int cols,   \
                                                             const float *slope, float *bg)        \
    {                                                                                              \
        (void)slope;                                                                               \
        for (int x0 = 0; x0 < cols; x0 += 8)                                                       \
            medians8_net(n, net##n##_lo, net##n##_hi, (int)sizeof net##n##_lo, pr, pok, x0, NULL,  \
                         bg);                                                                      \
    }                                                                                              \
    __attribute__((target("avx2"))) static void medians8s_##n(const float *pr,                    \
                                                              const unsigned char *pok, int cols,  \
                                                              const float *slope, float *bg)       \
    {                                                                                              \
        for (int x0 = 0; x0 < cols; x0 += 8)                                                       \
            medians8_net(n, net##n##_lo, net##n##_hi, (int)sizeof net##n##_lo, pr, pok, x0, slope, \
                         bg);                                                                      \
    }
MEDIANS8(3)
MEDIANS8(5)
MEDIANS8(7)
MEDIANS8(9)
MEDIANS8(11)
MEDIANS8(13)
MEDIANS8(15)
#undef MEDIANS8

/* A usable -0.0 among the cols values of the padded row at pr (flags at
   pok; both zero for eight past the end), eight at a time. */
__attribute__((target("avx2"))) static int negzero_usable(const float *pr,
                                                          const unsigned char *pok, int cols)
{
    const __m256i nz = _mm256_set1_epi32(INT32_MIN);
    __m256i any = _mm256_setzero_si256();
    for (int x = 0; x < cols; x += 8) {
        int64_t u8;
        memcpy(&u8, pok + x, sizeof u8);
        __m256i use = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(u8));
        __m256i z = _mm256_cmpeq_epi32(_mm256_loadu_si256((const __m256i *)(const void *)(pr + x)),
                                       nz);
        any = _mm256_or_si256(any, _mm256_and_si256(z, use));
    }
    return !_mm256_testz_si256(any, any);
}

__attribute__((target("avx2"))) static void medians8_1(const float *pr, const unsigned char *pok,
                                                       int cols, const float *slope, float *bg)
{
    (void)slope; /* one value: the line through it takes nothing off */
    for (int x0 = 0; x0 < cols; x0 += 8)
        medians8_net(1, NULL, NULL, 0, pr, pok, x0, NULL, bg);
}
#endif

void km_row_window_medians_f(const km_median_net *net, const float *row,
                             const unsigned char *ok, int cols, void *scratch, float *bg)
{
    km_row_window_medians_slope_f(net, row, ok, cols, NULL, scratch, bg);
}

/* The median of the usable values in columns [a, b] with the line of slope
   k through column x taken off. */
static float partial_median_slope(const float *row, const unsigned char *ok, int a, int b, int x,
                                  float k, float *win)
{
    int n = 0;
    for (int j = a; j <= b; j++)
        if (ok[j])
            win[n++] = row[j] - k * (float)(j - x);
    return km_median_small_f(win, n);
}

void km_row_window_medians_slope_f(const km_median_net *net, const float *row,
                                   const unsigned char *ok, int cols, const float *slope,
                                   void *scratch, float *bg)
{
    const int n = net->n, w = n / 2;
#if KM_AVX2_TARGET
    if (km_cpu_avx2()) {
        float *pr = scratch;
        unsigned char *pok = (unsigned char *)(pr + cols + n + 8);
        memset(pok, 0, (size_t)cols + (size_t)n + 8);
        memcpy(pok + w, ok, (size_t)cols);
        memset(pr, 0, ((size_t)cols + (size_t)n + 8) * sizeof *pr);
        memcpy(pr + w, row, (size_t)cols * sizeof *row);
        int negzero = negzero_usable(pr + w, pok + w, cols);
        static void (*const by_n[])(const float *, const unsigned char *, int, const float *,
                                    float *) = {
            medians8_1, medians8_3, medians8_5, medians8_7, medians8_9, medians8_11, medians8_13,
            medians8_15};
        static void (*const by_n_slope[])(const float *, const unsigned char *, int,
                                          const float *, float *) = {
            medians8_1, medians8s_3, medians8s_5, medians8s_7, medians8s_9, medians8s_11,
            medians8s_13, medians8s_15};
        (slope != NULL ? by_n_slope : by_n)[n / 2](pr, pok, cols, slope, bg);
        /* min and max keep every value's bits but may swap a +0.0 for a
           -0.0: with a -0.0 in the row, a zero median is taken again by
           rank, which orders zeros by position. */
        if (negzero && slope == NULL)
            for (int x = 0; x < cols; x++)
                if (ok[x] && bg[x] == 0.0f)
                    bg[x] = partial_median(row, ok, x - w < 0 ? 0 : x - w,
                                           x + w >= cols ? cols - 1 : x + w, scratch);
        return;
    }
#endif
    for (int x = 0; x < cols; x++)
        if (ok[x])
            bg[x] = slope == NULL ? partial_median(row, ok, x - w < 0 ? 0 : x - w,
                                                   x + w >= cols ? cols - 1 : x + w, scratch)
                                  : partial_median_slope(row, ok, x - w < 0 ? 0 : x - w,
                                                         x + w >= cols ? cols - 1 : x + w, x,
                                                         slope[x], scratch);
}
