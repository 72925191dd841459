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
