/* The k-th smallest of up to 32 floats by a bitonic sorting network in four
 * AVX2 registers (select_small.h).  The network's min/max keep the multiset
 * of values exactly except that equal values of different bits (+0.0 and
 * -0.0, the only such pair without NaN) may trade places or be duplicated;
 * a zero result is therefore taken from the input instead, as the stable
 * rank orders zeros: by position. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "select_small.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define KM_SELECT_AVX2 1
#include <immintrin.h>
#else
#define KM_SELECT_AVX2 0
#endif

#if KM_SELECT_AVX2
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
#endif

float km_select32_f(const float *v, size_t n, size_t k)
{
#if KM_SELECT_AVX2
    if (n <= 32 && __builtin_cpu_supports("avx2")) {
        float buf[32];
        memcpy(buf, v, n * sizeof *v);
        for (size_t i = n; i < 32; i++)
            buf[i] = INFINITY; /* above every value, k < n never picks one */
        sort32_avx2(buf);
        float x = buf[k];
        if (x != 0.0f)
            return x; /* equal nonzero floats have equal bits */
        /* A zero: +0.0 when no -0.0 is in the input (no branch in that
           test), else the (k - #negatives)-th zero of the input. */
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
#endif
    return km_select_rank_f(v, n, k);
}

/* ------------------------------------------------ sliding median network */

void km_median_net_init(km_median_net *net, int n)
{
    enum { N = 16 };
    unsigned char lo[KM_MEDIAN_NET_CMP], hi[KM_MEDIAN_NET_CMP];
    int m = 0;
    /* Batcher's odd-even merge sort of N values; a comparator with an end
       at n or beyond never moves anything (those slots would hold +inf). */
    for (int p = 1; p < N; p <<= 1)
        for (int k = p; k >= 1; k >>= 1)
            for (int j = k % p; j + k < N; j += 2 * k)
                for (int i = 0; i < k && i < N - j - k; i++)
                    if ((i + j) / (2 * p) == (i + j + k) / (2 * p) && i + j + k < n) {
                        lo[m] = (unsigned char)(i + j);
                        hi[m++] = (unsigned char)(i + j + k);
                    }
    /* Backwards from the two slots read (n / 2 and the one after it): only
       the comparators whose outputs reach them. */
    unsigned need = 1u << (n / 2) | (n / 2 + 1 < n ? 1u << (n / 2 + 1) : 0u);
    int kept = 0;
    for (int c = m - 1; c >= 0; c--)
        if (need & (1u << lo[c] | 1u << hi[c])) {
            need |= 1u << lo[c] | 1u << hi[c];
            net->lo[kept] = lo[c];
            net->hi[kept++] = hi[c];
        }
    for (int a = 0, b = kept - 1; a < b; a++, b--) {
        unsigned char t = net->lo[a];
        net->lo[a] = net->lo[b];
        net->lo[b] = t;
        t = net->hi[a];
        net->hi[a] = net->hi[b];
        net->hi[b] = t;
    }
    net->n = n;
    net->ncmp = kept;
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

#if KM_SELECT_AVX2
/* Eight columns' windows: slot j of column x0 + l is pr[x0 + l + j] (the
   padded row: column k at k + w).  A slot outside the row or not usable
   takes -inf and +inf in turn (per lane: the first such slot -inf), so
   that with u usable values in a window of n (n odd) the sorted slots
   n / 2 and n / 2 + 1 hold the middle one (u odd) or the two middle ones
   (u even) of the u values: the median in the same float operations as
   km_median_small_f's.  Where ok[x] the median is stored into bg[x]. */
__attribute__((target("avx2"))) static void medians8_avx2(const km_median_net *net,
                                                          const float *pr,
                                                          const unsigned char *pok, int x0,
                                                          int cols, const unsigned char *ok,
                                                          float *bg)
{
    const int n = net->n, w = n / 2;
    const __m256 ninf = _mm256_set1_ps(-INFINITY), pinf = _mm256_set1_ps(INFINITY);
    __m256i odd = _mm256_setzero_si256(); /* missing slots so far, parity (all bits) */
    __m256 v[KM_MEDIAN_NET_MAX + 1];
    for (int j = 0; j < n; j++) {
        int64_t b8;
        memcpy(&b8, pok + x0 + j, sizeof b8);
        __m256i miss = _mm256_cmpeq_epi32(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(b8)),
                                          _mm256_setzero_si256());
        __m256 pad = _mm256_blendv_ps(ninf, pinf, _mm256_castsi256_ps(odd));
        v[j] = _mm256_blendv_ps(_mm256_loadu_ps(pr + x0 + j), pad, _mm256_castsi256_ps(miss));
        odd = _mm256_xor_si256(odd, miss);
    }
    v[n] = pinf; /* n / 2 + 1 of a one-value window: never read */
    for (int c = 0; c < net->ncmp; c++) {
        __m256 a = v[net->lo[c]], b = v[net->hi[c]];
        v[net->lo[c]] = _mm256_min_ps(a, b);
        v[net->hi[c]] = _mm256_max_ps(a, b);
    }
    /* u even <=> an odd count of missing slots (n odd). */
    __m256 two = _mm256_mul_ps(_mm256_add_ps(v[w], v[w + 1]), _mm256_set1_ps(0.5f));
    __m256 med = _mm256_blendv_ps(v[w], two, _mm256_castsi256_ps(odd));
    float out[8];
    _mm256_storeu_ps(out, med);
    for (int l = 0; l < 8 && x0 + l < cols; l++)
        if (ok[x0 + l])
            bg[x0 + l] = out[l];
}
#endif

void km_row_window_medians_f(const km_median_net *net, const float *row,
                             const unsigned char *ok, int cols, void *scratch, float *bg)
{
    const int n = net->n, w = n / 2;
#if KM_SELECT_AVX2
    if (__builtin_cpu_supports("avx2")) {
        float *pr = scratch;
        unsigned char *pok = (unsigned char *)(pr + cols + n + 8);
        memset(pok, 0, (size_t)cols + (size_t)n + 8);
        memcpy(pok + w, ok, (size_t)cols);
        memset(pr, 0, ((size_t)cols + (size_t)n + 8) * sizeof *pr);
        memcpy(pr + w, row, (size_t)cols * sizeof *row);
        int negzero = 0;
        for (int x = 0; x < cols; x++) {
            uint32_t u;
            memcpy(&u, &row[x], sizeof u);
            negzero |= ok[x] && u == 0x80000000u;
        }
        for (int x0 = 0; x0 < cols; x0 += 8)
            medians8_avx2(net, pr, pok, x0, cols, ok, bg);
        /* min and max keep every value's bits but may swap a +0.0 for a
           -0.0: with a -0.0 in the row, a zero median is taken again by
           rank, which orders zeros by position. */
        if (negzero)
            for (int x = 0; x < cols; x++)
                if (ok[x] && bg[x] == 0.0f)
                    bg[x] = partial_median(row, ok, x - w < 0 ? 0 : x - w,
                                           x + w >= cols ? cols - 1 : x + w, scratch);
        return;
    }
#endif
    for (int x = 0; x < cols; x++)
        if (ok[x])
            bg[x] = partial_median(row, ok, x - w < 0 ? 0 : x - w, x + w >= cols ? cols - 1 : x + w,
                                   scratch);
}
