/* The detector's sort by key (docs/ALGORITHMS.md 3.6): the total order of
 * the candidates and of the prominence filtration. */
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "detect_internal.h"
#include "keysort.h"

#define BUCKET_MAX_LOG2 12 /* buckets of the one-pass sort: up to 4096 */
#define RADIX_BITS 11      /* widest digit of the radix sort */

static void insertion_sort(uint64_t *a, size_t m)
{
    for (size_t k = 1; k < m; k++) {
        uint64_t v = a[k];
        size_t j = k;
        for (; j > 0 && a[j - 1] > v; j--)
            a[j] = a[j - 1];
        a[j] = v;
    }
}

/* The insertion pass after the bucket sort, where most items are already
 * in place and an out-of-order one is mostly one place off (two items in
 * a bucket, in either order: a coin flip for a branch).  Each step
 * compare-exchanges the new item with the last one without a branch (the
 * larger is then the largest so far); only when the smaller one is also
 * below the item before (three or more out of order: rare) does the plain
 * insertion take it further down.  The same order as insertion_sort. */
void km_insertion_sort_cx(uint64_t *a, size_t m)
{
    if (m < 2)
        return;
    uint64_t prev = a[0];
    for (size_t k = 1; k < m; k++) {
        uint64_t v = a[k];
        uint64_t lo = v < prev ? v : prev, hi = v < prev ? prev : v;
        a[k] = hi;
        size_t j = k - 1;
        if (j > 0 && a[j - 1] > lo)
            for (; j > 0 && a[j - 1] > lo; j--)
                a[j] = a[j - 1];
        a[j] = lo;
        prev = hi;
    }
}

/* Number of significant bits of x (0 for 0). */
static inline unsigned bit_length(uint32_t x)
{
    return x ? 32u - (unsigned)__builtin_clz(x) : 0u;
}

void km_prefix_sum_exclusive(uint32_t *hist, size_t nb)
{
    uint32_t sum = 0;
    size_t b = 0;
#if defined(__SSE2__)
    /* Eight buckets at a time: two in-register inclusive scans (shifted
       adds, independent of each other and of the running sum), the first
       one's total added to the second; the running sum is the only chain
       from one group of eight to the next (one add), each bucket's own
       count subtracted for the exclusive sum. */
    __m128i carry = _mm_setzero_si128();
    for (; b + 8 <= nb; b += 8) {
        __m128i x0 = _mm_loadu_si128((const __m128i *)(hist + b));
        __m128i x1 = _mm_loadu_si128((const __m128i *)(hist + b + 4));
        __m128i y0 = _mm_add_epi32(x0, _mm_slli_si128(x0, 4));
        __m128i y1 = _mm_add_epi32(x1, _mm_slli_si128(x1, 4));
        y0 = _mm_add_epi32(y0, _mm_slli_si128(y0, 8));
        y1 = _mm_add_epi32(y1, _mm_slli_si128(y1, 8));
        y1 = _mm_add_epi32(y1, _mm_shuffle_epi32(y0, 0xff));
        _mm_storeu_si128((__m128i *)(hist + b), _mm_add_epi32(carry, _mm_sub_epi32(y0, x0)));
        _mm_storeu_si128((__m128i *)(hist + b + 4), _mm_add_epi32(carry, _mm_sub_epi32(y1, x1)));
        carry = _mm_add_epi32(carry, _mm_shuffle_epi32(y1, 0xff));
    }
    sum = (uint32_t)_mm_cvtsi128_si32(carry);
#endif
    for (; b < nb; b++) {
        uint32_t h = hist[b];
        hist[b] = sum;
        sum += h;
    }
}

#if KM_HAVE_AVX2_TARGET
/* Sixteen buckets at a time: two eight-lane scans (within each 128-bit
   half by shifted adds, then the low half's total added to the high
   half), the first one's total added to the second, the running sum the
   only chain (one add per sixteen). */
__attribute__((target("avx2"))) void km_prefix_sum_exclusive_avx2(uint32_t *hist, size_t nb)
{
    const __m256i last = _mm256_set1_epi32(7);
    __m256i carry = _mm256_setzero_si256();
    size_t b = 0;
    for (; b + 16 <= nb; b += 16) {
        __m256i x0 = _mm256_loadu_si256((const __m256i *)(void *)(hist + b));
        __m256i x1 = _mm256_loadu_si256((const __m256i *)(void *)(hist + b + 8));
        __m256i y0 = _mm256_add_epi32(x0, _mm256_slli_si256(x0, 4));
        __m256i y1 = _mm256_add_epi32(x1, _mm256_slli_si256(x1, 4));
        y0 = _mm256_add_epi32(y0, _mm256_slli_si256(y0, 8));
        y1 = _mm256_add_epi32(y1, _mm256_slli_si256(y1, 8));
        __m256i t0 = _mm256_shuffle_epi32(y0, 0xff), t1 = _mm256_shuffle_epi32(y1, 0xff);
        y0 = _mm256_add_epi32(y0, _mm256_permute2x128_si256(t0, t0, 0x08));
        y1 = _mm256_add_epi32(y1, _mm256_permute2x128_si256(t1, t1, 0x08));
        y1 = _mm256_add_epi32(y1, _mm256_permutevar8x32_epi32(y0, last));
        _mm256_storeu_si256((__m256i *)(void *)(hist + b), _mm256_add_epi32(carry, _mm256_sub_epi32(y0, x0)));
        _mm256_storeu_si256((__m256i *)(void *)(hist + b + 8), _mm256_add_epi32(carry, _mm256_sub_epi32(y1, x1)));
        carry = _mm256_add_epi32(carry, _mm256_permutevar8x32_epi32(y1, last));
    }
    uint32_t sum = (uint32_t)_mm256_cvtsi256_si32(carry);
    for (; b < nb; b++) {
        uint32_t h = hist[b];
        hist[b] = sum;
        sum += h;
    }
}
#endif

unsigned km_bucket_geometry(size_t m, uint32_t range, size_t *nb)
{
    unsigned lb = 5;
    while (lb < BUCKET_MAX_LOG2 && ((size_t)1 << lb) < 4 * m)
        lb++;
    unsigned bits = bit_length(range);
    unsigned shift = bits > lb ? bits - lb : 0u;
    *nb = (size_t)(range >> shift) + 1;
    return shift;
}

int km_full_buckets_tied(const uint64_t *item, const uint32_t *end, const uint32_t *full,
                         size_t nfull)
{
    for (size_t j = 0; j < nfull; j++) {
        uint32_t b = full[j], start = b > 0 ? end[b - 1] : 0u, mixed = 0;
        uint32_t k0 = (uint32_t)(item[start] >> 32);
        for (uint32_t i = start + 1; i < end[b]; i++)
            mixed |= (uint32_t)(item[i] >> 32) ^ k0;
        if (mixed)
            return 0;
    }
    return 1;
}

/* One stable counting pass into about 4m buckets over the key range (fewer
 * items share a bucket, so fewer are out of order within one), then
 * an insertion sort that only moves items within their bucket: two reads
 * of the items instead of the radix sort's three or four.  Returns 0
 * (out[] scratch) when a bucket is too full and mixes keys (clustered
 * keys: the radix sort takes those); a full bucket of one key (ties) is
 * in order after the scatter, which is stable, as the keys are made in
 * ascending index order by the callers. */
static int bucket_sort(const uint64_t *a, uint64_t *out, size_t m, uint32_t kmin, uint32_t kmax)
{
    uint32_t hist[1u << BUCKET_MAX_LOG2];
    size_t nb;
    unsigned shift = km_bucket_geometry(m, kmax - kmin, &nb);
    uint32_t full[(1u << BUCKET_MAX_LOG2) / (KM_BUCKET_MAX_FILL + 1) + 1];
    size_t nfull = 0;
    memset(hist, 0, nb * sizeof *hist);
    for (size_t k = 0; k < m; k++) {
        uint32_t b = ((uint32_t)(a[k] >> 32) - kmin) >> shift;
        if (++hist[b] == KM_BUCKET_MAX_FILL + 1)
            full[nfull++] = b;
    }
    km_prefix_sum_exclusive(hist, nb);
    for (size_t k = 0; k < m; k++)
        out[hist[((uint32_t)(a[k] >> 32) - kmin) >> shift]++] = a[k];
    if (!km_full_buckets_tied(out, hist, full, nfull))
        return 0;
    km_insertion_sort_cx(out, m);
    return 1;
}

uint64_t *km_keysort(uint64_t *a, uint64_t *tmp, size_t m)
{
    if (m <= 32) {
        insertion_sort(a, m);
        return a;
    }
    uint32_t kand = UINT32_MAX, kor = 0, kmin = UINT32_MAX, kmax = 0;
    for (size_t k = 0; k < m; k++) {
        uint32_t h = (uint32_t)(a[k] >> 32);
        kand &= h;
        kor |= h;
        kmin = h < kmin ? h : kmin;
        kmax = h > kmax ? h : kmax;
    }
    if (m <= ((size_t)1 << BUCKET_MAX_LOG2) && bucket_sort(a, tmp, m, kmin, kmax))
        return tmp;
    /* LSD radix over the key: three digits of 11, 11 and 10 bits, whose
       histograms come from one read; digits equal in every key need no
       pass. */
    static const unsigned shift[3] = {32, 43, 54}, width[3] = {11, 11, 10};
    uint32_t hd[3][1u << RADIX_BITS];
    memset(hd, 0, sizeof hd);
    for (size_t k = 0; k < m; k++) {
        uint32_t h = (uint32_t)(a[k] >> 32);
        hd[0][h & 2047u]++;
        hd[1][(h >> 11) & 2047u]++;
        hd[2][h >> 22]++;
    }
    uint32_t vary = kand ^ kor;
    for (int d = 0; d < 3; d++) {
        uint32_t dmask = (1u << width[d]) - 1u;
        if (((vary >> (shift[d] - 32)) & dmask) == 0)
            continue;
        uint32_t sum = 0, *h = hd[d];
        for (uint32_t b = 0; b <= dmask; b++) {
            uint32_t c = h[b];
            h[b] = sum;
            sum += c;
        }
        for (size_t k = 0; k < m; k++)
            tmp[h[(a[k] >> shift[d]) & dmask]++] = a[k];
        uint64_t *t = a;
        a = tmp;
        tmp = t;
    }
    return a;
}
