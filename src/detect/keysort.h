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

#endif
