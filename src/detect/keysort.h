/* Private: the sort behind the detector's total order (value descending,
 * raster index ascending), shared by the candidate list (peaks.c) and the
 * prominence filtration (prominence.c). */
#ifndef KM_KEYSORT_H
#define KM_KEYSORT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Ascending-order key of a finite or infinite float that is not NaN, with
 * -0.0 folded into +0.0, inverted: ascending keys are descending values. */
static inline uint32_t km_desc_key(float v)
{
    uint32_t u;
    v += 0.0f;
    memcpy(&u, &v, sizeof u);
    /* Ascending key: ~u for a negative value, u | sign bit otherwise; its
       complement, without a branch (loops over it vectorise). */
    uint32_t neg = (uint32_t)0 - (u >> 31);
    return u ^ (~neg & 0x7fffffffu);
}

/* Inverse of km_desc_key. */
static inline float km_key_value(uint32_t key)
{
    uint32_t u = ~key;
    float v;
    u = (u & 0x80000000u) ? (u & 0x7fffffffu) : ~u;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* Sorts the m items a[] ((uint64_t)key << 32 | payload), given in
 * ascending payload order, by key ascending with ties in payload order:
 * that is, ascending as 64-bit integers.  Insertion sort up to 32 items;
 * up to 4096, one counting pass into about 4m (at most 4096) buckets over
 * the key range and an insertion sort that only moves items within their
 * bucket (when no bucket holds more than 64); otherwise an LSD radix sort
 * with digits of 11, 11 and 10 bits of the key (histograms from one
 * read), skipping the digits that are the same in every key.  tmp holds m items.  Returns the array holding the result
 * (a or tmp). */
uint64_t *km_keysort(uint64_t *a, uint64_t *tmp, size_t m);

/* The pieces of the bucket sort, for a caller that makes its own counting
 * pass (prominence's order, promorder.c). */

/* Most items a bucket may hold: beyond it the insertion pass could go
 * quadratic (the caller takes another sort), unless the bucket holds one
 * key only (km_full_buckets_tied). */
#define KM_BUCKET_MAX_FILL 64

/* After a stable scatter (end[b] = the end of bucket b in item[], nb
 * buckets): 1 when each bucket of more than KM_BUCKET_MAX_FILL items holds
 * one key, 0 when one mixes keys (called only when the prefix sum said a
 * bucket is that full: a pass over the buckets).  A
 * bucket of one key made in ascending index order is in order already, so
 * the insertion pass only reads it.  Quantised sessions (a sensor's
 * counts, values in steps of 0.5 kPa) fill buckets with such ties. */
int km_full_buckets_tied(const uint64_t *item, const uint16_t *end, size_t nb);

/* The bucket shift for m items whose keys span range (kmax - kmin):
 * about 4m buckets (32 to 4096); *nb = (range >> shift) + 1 buckets. */
unsigned km_bucket_geometry(size_t m, uint32_t range, size_t *nb);

/* hist[b] = the sum of hist[0..b) (in place), modulo 2^16, and returns the
 * largest count (so the counting pass needs no test per item): the bucket
 * counts are 16 bits wide (a sort takes at most 8192 items: two groups of
 * 4096 in prominence's order), so clearing and summing them touches half
 * the bytes of 32-bit counts.  Eight buckets at a time with SSE2; the
 * _avx2 form (only where km_detect_cpu_avx2() says yes) sixteen, the same
 * sums. */
unsigned km_prefix_sum_exclusive(uint16_t *hist, size_t nb);
unsigned km_prefix_sum_exclusive_avx2(uint16_t *hist, size_t nb);

/* Insertion sort of items already in ascending order of bucket (items of a
 * bucket together, in ascending payload order): a branch-free
 * compare-exchange with the last one, the insertion loop only for three or
 * more out of order.  The _avx2 form (only where km_detect_cpu_avx2() says
 * yes) passes over four items at a time when they are in order already;
 * the same result (any sort of the items has one). */
void km_insertion_sort_cx(uint64_t *a, size_t m);
void km_insertion_sort_cx_avx2(uint64_t *a, size_t m);

/* memset(dst, byte, bytes) by 32-byte AVX2 stores (only where
 * km_detect_cpu_avx2() says yes), the last one ending at dst + bytes
 * (overlapping the one before); memset itself below 32 bytes.  For the
 * per-frame clears of prominence (the label grid, ~4.6 KB on 32x32, and
 * the bucket counts, ~5 KB): glibc clears these sizes with `rep stosb`,
 * which callgrind counts as one instruction per byte (bench/HISTORY.md
 * "Session 33 (prom6)"); the stores are about 150, as fast or faster. */
void km_fill_bytes_avx2(void *dst, unsigned char byte, size_t bytes);

#endif
