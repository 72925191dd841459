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

/* One step of the insertion pass after the bucket sort, where most items
 * are already in place and an out-of-order one is mostly one place off
 * (two items in a bucket, in either order: a coin flip for a branch): item
 * k is compare-exchanged with the last one (*prev, the largest of a[0..k))
 * without a branch, the larger then the largest so far; only when the
 * smaller one is also below the item before (three or more out of order:
 * rare) does the plain insertion take it further down. */
static inline __attribute__((always_inline)) void cx_step(uint64_t *a, size_t k, uint64_t *prev)
{
    uint64_t v = a[k], p = *prev;
    uint64_t lo = v < p ? v : p, hi = v < p ? p : v;
    a[k] = hi;
    size_t j = k - 1;
    if (j > 0 && a[j - 1] > lo)
        for (; j > 0 && a[j - 1] > lo; j--)
            a[j] = a[j - 1];
    a[j] = lo;
    *prev = hi;
}

/* The same order as insertion_sort. */
void km_insertion_sort_cx(uint64_t *a, size_t m)
{
    if (m < 2)
        return;
    uint64_t prev = a[0];
    for (size_t k = 1; k < m; k++)
        cx_step(a, k, &prev);
}

#if KM_HAVE_AVX2_TARGET
/* km_insertion_sort_cx four items at a time: a[k..k+4) compared with the
 * four before them (a[k - 1], the largest of the sorted a[0..k), then
 * a[k..k+3)) in one compare, as signed after flipping the top bit.  The
 * items before the first one out of order are in place (a[0..k+j) is then
 * sorted) and passed over; that one takes the scalar step and the next
 * four are read from the item after it.  After the bucket scatter most
 * items are in order (a bucket holds a quarter of an item on average), so
 * an item costs about a quarter of a compare, and one out of order a
 * compare and a scalar step.  The previous item is kept as a vector; only
 * the scalar steps store, at or below the item they take, so a vector
 * never loads what was just stored. */
__attribute__((target("avx2"))) void km_insertion_sort_cx_avx2(uint64_t *a, size_t m)
{
    if (m < 2)
        return;
    const __m256i sign = _mm256_set1_epi64x(INT64_MIN);
    __m256i prev = _mm256_xor_si256(_mm256_set1_epi64x((long long)a[0]), sign);
    size_t k = 1;
    while (k + 4 <= m) {
        __m256i x = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(const void *)(a + k)), sign);
        /* (a[k-1], a[k], a[k+1], a[k+2]) */
        __m256i before = _mm256_blend_epi32(_mm256_permute4x64_epi64(x, 0x90), prev, 0x03);
        unsigned out = (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(before, x)));
        if (!out) {
            prev = _mm256_permute4x64_epi64(x, 0xff);
            k += 4;
            continue;
        }
        k += (size_t)__builtin_ctz(out);
        uint64_t p = a[k - 1];
        cx_step(a, k, &p);
        k++;
        prev = _mm256_xor_si256(_mm256_set1_epi64x((long long)p), sign);
    }
    uint64_t p = a[k - 1];
    for (; k < m; k++)
        cx_step(a, k, &p);
}
#endif

/* Number of significant bits of x (0 for 0). */
static inline unsigned bit_length(uint32_t x)
{
    return x ? 32u - (unsigned)__builtin_clz(x) : 0u;
}

#if defined(__SSE2__) || KM_HAVE_AVX2_TARGET
/* The largest of eight 16-bit lanes below 2^15. */
__attribute__((target("sse2"))) static inline uint16_t max_lane16(__m128i x)
{
    x = _mm_max_epi16(x, _mm_srli_si128(x, 8));
    x = _mm_max_epi16(x, _mm_srli_si128(x, 4));
    x = _mm_max_epi16(x, _mm_srli_si128(x, 2));
    return (uint16_t)_mm_cvtsi128_si32(x);
}
#endif

unsigned km_prefix_sum_exclusive(uint16_t *hist, size_t nb)
{
    uint16_t sum = 0, most = 0;
    size_t b = 0;
#if defined(__SSE2__)
    /* Eight buckets at a time: an in-register inclusive scan (three shifted
       adds, independent of the running sum), the running sum the only chain
       from one group of eight to the next (one add), each bucket's own
       count subtracted for the exclusive sum. */
    __m128i carry = _mm_setzero_si128(), mx = _mm_setzero_si128();
    for (; b + 8 <= nb; b += 8) {
        __m128i x = _mm_loadu_si128((const __m128i *)(void *)(hist + b));
        mx = _mm_max_epi16(mx, x); /* counts < 2^15: signed is unsigned */
        __m128i y = _mm_add_epi16(x, _mm_slli_si128(x, 2));
        y = _mm_add_epi16(y, _mm_slli_si128(y, 4));
        y = _mm_add_epi16(y, _mm_slli_si128(y, 8));
        _mm_storeu_si128((__m128i *)(void *)(hist + b), _mm_add_epi16(carry, _mm_sub_epi16(y, x)));
        __m128i top = _mm_shufflehi_epi16(y, 0xff); /* the group's total in lanes 4..7 */
        carry = _mm_add_epi16(carry, _mm_unpackhi_epi64(top, top));
    }
    sum = (uint16_t)_mm_cvtsi128_si32(carry);
    most = max_lane16(mx);
#endif
    for (; b < nb; b++) {
        uint16_t h = hist[b];
        hist[b] = sum;
        sum = (uint16_t)(sum + h);
        most = h > most ? h : most;
    }
    return most;
}

#if KM_HAVE_AVX2_TARGET
/* Sixteen buckets at a time: an inclusive scan within each 128-bit half
   (three shifted adds), the low half's total added to the high half, the
   running sum the only chain (one add per sixteen). */
__attribute__((target("avx2"))) unsigned km_prefix_sum_exclusive_avx2(uint16_t *hist, size_t nb)
{
    const __m256i last = _mm256_set1_epi16(0x0f0e); /* bytes of each half's last lane */
    __m256i carry = _mm256_setzero_si256(), mx = _mm256_setzero_si256();
    size_t b = 0;
    for (; b + 16 <= nb; b += 16) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(void *)(hist + b));
        mx = _mm256_max_epu16(mx, x);
        __m256i y = _mm256_add_epi16(x, _mm256_slli_si256(x, 2));
        y = _mm256_add_epi16(y, _mm256_slli_si256(y, 4));
        y = _mm256_add_epi16(y, _mm256_slli_si256(y, 8));
        __m256i t = _mm256_shuffle_epi8(y, last);
        y = _mm256_add_epi16(y, _mm256_permute2x128_si256(t, t, 0x08));
        _mm256_storeu_si256((__m256i *)(void *)(hist + b), _mm256_add_epi16(carry, _mm256_sub_epi16(y, x)));
        t = _mm256_shuffle_epi8(y, last);
        carry = _mm256_add_epi16(carry, _mm256_permute2x128_si256(t, t, 0x11));
    }
    uint16_t sum = (uint16_t)_mm256_cvtsi256_si32(carry);
    uint16_t most = max_lane16(_mm_max_epi16(_mm256_castsi256_si128(mx), _mm256_extracti128_si256(mx, 1)));
    for (; b < nb; b++) {
        uint16_t h = hist[b];
        hist[b] = sum;
        sum = (uint16_t)(sum + h);
        most = h > most ? h : most;
    }
    return most;
}
#endif

#if KM_HAVE_AVX2_TARGET
__attribute__((target("avx2"))) void km_fill_bytes_avx2(void *dst, unsigned char byte,
                                                        size_t bytes)
{
    unsigned char *p = dst;
    if (bytes < 32) {
        memset(p, byte, bytes);
        return;
    }
    const __m256i v = _mm256_set1_epi8((char)byte);
    size_t k = 0;
    for (; k + 128 <= bytes; k += 128) {
        _mm256_storeu_si256((__m256i *)(void *)(p + k), v);
        _mm256_storeu_si256((__m256i *)(void *)(p + k + 32), v);
        _mm256_storeu_si256((__m256i *)(void *)(p + k + 64), v);
        _mm256_storeu_si256((__m256i *)(void *)(p + k + 96), v);
    }
    for (; k + 32 <= bytes; k += 32)
        _mm256_storeu_si256((__m256i *)(void *)(p + k), v);
    if (k < bytes)
        _mm256_storeu_si256((__m256i *)(void *)(p + bytes - 32), v);
}
#else
void km_fill_bytes_avx2(void *dst, unsigned char byte, size_t bytes)
{
    memset(dst, byte, bytes);
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

/* Bucket b (start..end[b]) of more than KM_BUCKET_MAX_FILL items mixes
   keys. */
static int full_and_mixed(const uint64_t *item, const uint16_t *end, size_t b)
{
    uint32_t start = b > 0 ? end[b - 1] : 0u, mixed = 0;
    if (end[b] - start <= KM_BUCKET_MAX_FILL)
        return 0;
    uint32_t k0 = (uint32_t)(item[start] >> 32);
    for (uint32_t i = start + 1; i < end[b]; i++)
        mixed |= (uint32_t)(item[i] >> 32) ^ k0;
    return mixed != 0;
}

int km_full_buckets_tied(const uint64_t *item, const uint16_t *end, size_t nb)
{
    size_t b = 0;
#if defined(__SSE2__)
    /* Eight buckets at a time passed over when none is that full (a crowded
       frame of a sensor's counts has ~3000 buckets and a few full ones;
       counts below 2^15: signed compares). */
    const __m128i lim = _mm_set1_epi16(KM_BUCKET_MAX_FILL);
    if (nb > 0 && full_and_mixed(item, end, 0))
        return 0;
    for (b = 1; b + 8 <= nb; b += 8) {
        __m128i e = _mm_loadu_si128((const __m128i *)(const void *)(end + b));
        __m128i p = _mm_loadu_si128((const __m128i *)(const void *)(end + b - 1));
        if (_mm_movemask_epi8(_mm_cmpgt_epi16(_mm_sub_epi16(e, p), lim)) == 0)
            continue;
        for (size_t k = b; k < b + 8; k++)
            if (full_and_mixed(item, end, k))
                return 0;
    }
#endif
    for (; b < nb; b++)
        if (full_and_mixed(item, end, b))
            return 0;
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
    uint16_t hist[1u << BUCKET_MAX_LOG2];
    size_t nb;
    unsigned shift = km_bucket_geometry(m, kmax - kmin, &nb);
    memset(hist, 0, nb * sizeof *hist);
    for (size_t k = 0; k < m; k++)
        hist[((uint32_t)(a[k] >> 32) - kmin) >> shift]++;
    unsigned most = km_prefix_sum_exclusive(hist, nb);
    for (size_t k = 0; k < m; k++)
        out[hist[((uint32_t)(a[k] >> 32) - kmin) >> shift]++] = a[k];
    if (most > KM_BUCKET_MAX_FILL && !km_full_buckets_tied(out, hist, nb))
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
