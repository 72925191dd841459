/* The order of the prominence filtration by one counting sort over the
 * frame: the valid taxels at or above the level (km_prom_order, every
 * frame with a peak) and those below it, above the frame minimum
 * (km_prom_order_below, only when the sweep goes on below the level: one
 * frame in fifteen of a roller session), or both groups in one sort when
 * the caller expects the sweep to go on (the frame before it did); the
 * taxels at the minimum and the invalid ones left out.  See
 * docs/ALGORITHMS.md 3.6. */
#include <math.h>
#include <string.h>

#include "detect_internal.h"
#include "internal.h"
#include "keysort.h"
#include "prominence.h"

#define GROUP_MAX 4096 /* most items of a group: the bucket sort's limit */
_Static_assert(2 * GROUP_MAX <= UINT16_MAX, "the bucket counts and ends are 16 bits wide");

/* Bounds as keys: v > vmin iff key < kv, valid (v > -inf) iff key <
 * kinf; the taxels taken are those whose key x has (x - base) < span
 * (unsigned: one compare for a range of keys). */
typedef struct order_bounds {
    uint32_t kv, kinf, base, span;
} order_bounds;

/* The groups' key ranges: a, key <= kl (v >= level; kl = 0 for a NaN
 * level: no key is 0), and b, kl < key; both key < kv. */
static order_bounds group_bounds(float vmin, float level, int below)
{
    uint32_t kl = level == level ? km_desc_key(level) : 0u, kv = km_desc_key(vmin);
    order_bounds kb = {kv, km_desc_key(-INFINITY), 0u, 0u};
    uint64_t a_end = (uint64_t)kl + 1u < kv ? (uint64_t)kl + 1u : kv; /* keys of a: [0, a_end) */
    if (!below)
        kb.span = (uint32_t)a_end;
    else if ((uint64_t)kl + 1u < kv) {
        kb.base = kl + 1u;
        kb.span = kv - kb.base;
    }
    return kb;
}

/* The smallest and largest key of the items. */
static void stats_portable(const uint64_t *item, size_t m, uint32_t *lo, uint32_t *hi)
{
    for (size_t i = 0; i < m; i++) {
        uint32_t x = (uint32_t)(item[i] >> 32);
        *lo = x < *lo ? x : *lo;
        *hi = x > *hi ? x : *hi;
    }
}

/* The taxels taken, in raster order: their items (key << 32 | padded
 * index) into item[] (m of them; returns m), the count of valid taxels
 * into *nv and of those above the minimum into *ngt.  Each slot is written
 * and the count advances only for a taxel taken: no branch. */
static size_t compact_tail(const float *src, int32_t c0, int32_t cols, size_t p0,
                           const order_bounds *kb, size_t m, uint64_t *item, size_t *nv,
                           size_t *ngt)
{
    for (int32_t c = c0; c < cols; c++) {
        uint32_t x = km_desc_key(src[c]);
        item[m] = (uint64_t)x << 32 | (uint32_t)(p0 + (size_t)c);
        m += x - kb->base < kb->span;
        *nv += x < kb->kinf;
        *ngt += x < kb->kv;
    }
    return m;
}

static size_t compact_portable(const float *san, int32_t rows, int32_t cols,
                               const order_bounds *kb, uint64_t *item, size_t *nv, size_t *ngt)
{
    size_t m = 0, w = (size_t)cols + 2;
    for (int32_t r = 0; r < rows; r++)
        m = compact_tail(san + (size_t)r * (size_t)cols, 0, cols, ((size_t)r + 1) * w + 1, kb, m,
                         item, nv, ngt);
    return m;
}

/* The buckets of the m items. */
static void buckets_portable(const uint64_t *item, size_t m, const km_prom_map *mp, uint32_t *bix)
{
    for (size_t i = 0; i < m; i++)
        bix[i] = (km_prom_fold((uint32_t)(item[i] >> 32), mp) - mp->lo) >> mp->shift;
}

#if KM_HAVE_AVX2_TARGET
/* km_desc_key of eight floats. */
__attribute__((target("avx2"))) static inline __m256i key8v(__m256 v)
{
    const __m256i low31 = _mm256_set1_epi32(INT32_MAX);
    __m256i u = _mm256_castps_si256(_mm256_add_ps(v, _mm256_setzero_ps()));
    return _mm256_xor_si256(u, _mm256_andnot_si256(_mm256_srai_epi32(u, 31), low31));
}

__attribute__((target("avx2"))) static inline __m256i key8(const float *p)
{
    return key8v(_mm256_loadu_ps(p));
}

/* The keys of items[0..8) (their high halves), in the order (0 1 4 5 2 3
 * 6 7): for sums and extremes, which take them in any order. */
__attribute__((target("avx2"))) static inline __m256i keys8_any(const uint64_t *item)
{
    __m256 i0 = _mm256_loadu_ps((const float *)(const void *)item);
    __m256 i1 = _mm256_loadu_ps((const float *)(const void *)(item + 4));
    return _mm256_castps_si256(_mm256_shuffle_ps(i0, i1, _MM_SHUFFLE(3, 1, 3, 1)));
}

/* stats_portable eight items at a time: the keys compared as signed after
 * flipping the top bit, the lanes reduced at the end. */
__attribute__((target("avx2"))) static void stats_avx2(const uint64_t *item, size_t m,
                                                       uint32_t *lo, uint32_t *hi)
{
    const __m256i sign = _mm256_set1_epi32(INT32_MIN);
    __m256i vlo = _mm256_set1_epi32(INT32_MAX), vhi = sign;
    size_t i = 0;
    for (; i + 8 <= m; i += 8) {
        __m256i s = _mm256_xor_si256(keys8_any(item + i), sign);
        vlo = _mm256_min_epi32(vlo, s);
        vhi = _mm256_max_epi32(vhi, s);
    }
    uint32_t l[8], h[8];
    _mm256_storeu_si256((__m256i *)(void *)l, vlo);
    _mm256_storeu_si256((__m256i *)(void *)h, vhi);
    for (int j = 0; j < 8; j++) {
        *lo = (l[j] ^ 0x80000000u) < *lo ? l[j] ^ 0x80000000u : *lo;
        *hi = (h[j] ^ 0x80000000u) > *hi ? h[j] ^ 0x80000000u : *hi;
    }
    stats_portable(item + i, m - i, lo, hi);
}

/* The constants of compact_avx2's pass. */
typedef struct compact_k {
    __m256i sign, skv, skinf, base, sspan, lane;
} compact_k;

/* Eight taxels from p (padded index of the first pi): the lanes in `in`
   taken by kb's range packed to item[m..] (returns the new m), counted
   valid and above the minimum in lanes; full: every lane in (a plain
   load), else the lanes past the row masked out of the load, the take
   and the counts. */
__attribute__((target("avx2"))) static inline size_t compact8(const float *p, size_t pi, __m256i in,
                                                               int full, const compact_k *k,
                                                               __m256i *valid, __m256i *gtmin,
                                                               uint64_t *item, size_t m)
{
    __m256i x = key8v(full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, in));
    __m256i s = _mm256_xor_si256(x, k->sign);
    __m256i take = _mm256_cmpgt_epi32(k->sspan, _mm256_xor_si256(_mm256_sub_epi32(x, k->base), k->sign));
    __m256i v = _mm256_cmpgt_epi32(k->skinf, s), g = _mm256_cmpgt_epi32(k->skv, s);
    if (!full) {
        take = _mm256_and_si256(take, in);
        v = _mm256_and_si256(v, in);
        g = _mm256_and_si256(g, in);
    }
    *valid = _mm256_sub_epi32(*valid, v);
    *gtmin = _mm256_sub_epi32(*gtmin, g);
    __m256i px = _mm256_add_epi32(_mm256_set1_epi32((int32_t)pi), k->lane);
    unsigned mask = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(take));
    __m256i perm = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(km_pack8 + mask)));
    __m256i kk = _mm256_permutevar8x32_epi32(x, perm), pp = _mm256_permutevar8x32_epi32(px, perm);
    /* (p0 k0 p1 k1 | p4 k4 p5 k5) and (p2 k2 p3 k3 | p6 k6 p7 k7) */
    __m256i lo = _mm256_unpacklo_epi32(pp, kk), hi = _mm256_unpackhi_epi32(pp, kk);
    _mm256_storeu_si256((__m256i *)(void *)(item + m), _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256((__m256i *)(void *)(item + m + 4), _mm256_permute2x128_si256(lo, hi, 0x31));
    return m + (size_t)__builtin_popcount(mask);
}

/* compact_portable eight taxels at a time (compact8): the taken lanes
 * packed to the front by one vpermd each for the keys and the padded
 * indices (the indices from km_pack8, one load), then interleaved into eight
 * items; each store eight lanes (items) wide: the lanes past the packed
 * ones are overwritten by the next store, or left unused (m + 8 <= the
 * taxels read so far + 8 <= n).  A row's last 1-7 columns are one masked
 * vector too (session 38: grids of 23-35 columns), but the frame's last
 * (its stores would pass the n items).  The valid taxels and those above
 * the minimum counted in lanes. */
/* Whether every lane of a row's largest values (KM_ROW_LANES) is below
   level (a NaN level: none is). */
__attribute__((target("avx2"), always_inline)) static inline int row_below(const float *rm,
                                                                           float level)
{
    return _mm256_movemask_ps(
               _mm256_cmp_ps(_mm256_loadu_ps(rm), _mm256_set1_ps(level), _CMP_NLT_UQ)) == 0;
}

/* A row none of whose taxels is taken: its full vectors only counted. */
__attribute__((target("avx2"))) static inline void count8(const float *p, const compact_k *k,
                                                          __m256i *valid, __m256i *gtmin)
{
    __m256i s = _mm256_xor_si256(key8v(_mm256_loadu_ps(p)), k->sign);
    *valid = _mm256_sub_epi32(*valid, _mm256_cmpgt_epi32(k->skinf, s));
    *gtmin = _mm256_sub_epi32(*gtmin, _mm256_cmpgt_epi32(k->skv, s));
}

__attribute__((target("avx2"))) static size_t compact_avx2(const float *san, int32_t rows,
                                                           int32_t cols, const order_bounds *kb,
                                                           const float *rowmax, float level,
                                                           uint64_t *item, size_t *nv, size_t *ngt)
{
    const __m256i sign = _mm256_set1_epi32(INT32_MIN);
    const compact_k k = {sign, _mm256_set1_epi32((int32_t)(kb->kv ^ 0x80000000u)),
                         _mm256_set1_epi32((int32_t)(kb->kinf ^ 0x80000000u)),
                         _mm256_set1_epi32((int32_t)kb->base),
                         _mm256_set1_epi32((int32_t)(kb->span ^ 0x80000000u)),
                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)};
    __m256i valid = _mm256_setzero_si256(), gtmin = _mm256_setzero_si256();
    size_t m = 0, w = (size_t)cols + 2, n = (size_t)rows * (size_t)cols;
    /* With rowmax: the rows before the first and after the last with a
       value at or above the level (a roller's frame: outside its contact)
       have no taxel in the group, and are only counted. */
    int32_t first = 0, last = rows - 1;
    while (rowmax != NULL && first <= last &&
           row_below(rowmax + (size_t)first * KM_ROW_LANES, level))
        first++;
    while (rowmax != NULL && last > first && row_below(rowmax + (size_t)last * KM_ROW_LANES, level))
        last--;
    for (int32_t r = 0; r < rows; r++) {
        const float *src = san + (size_t)r * (size_t)cols;
        size_t p0 = ((size_t)r + 1) * w + 1;
        int32_t c = 0;
        if (r < first || r > last)
            for (; c + 8 <= cols; c += 8)
                count8(src + c, &k, &valid, &gtmin);
        else
            for (; c + 8 <= cols; c += 8)
                m = compact8(src + c, p0 + (size_t)c, sign, 1, &k, &valid, &gtmin, item, m);
        if (c < cols && (size_t)r * (size_t)cols + (size_t)c + 8 <= n) {
            __m256i in = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols - c), k.lane);
            m = compact8(src + c, p0 + (size_t)c, in, 0, &k, &valid, &gtmin, item, m);
            c = cols;
        }
        m = compact_tail(src, c, cols, p0, kb, m, item, nv, ngt);
    }
    uint32_t c[8], g[8];
    _mm256_storeu_si256((__m256i *)(void *)c, valid);
    _mm256_storeu_si256((__m256i *)(void *)g, gtmin);
    for (int l = 0; l < 8; l++) {
        *nv += c[l];
        *ngt += g[l];
    }
    return m;
}

/* buckets_portable eight items at a time: their keys gathered by one
 * shuffle and put in order by one permute. */
__attribute__((target("avx2"))) static void buckets_avx2(const uint64_t *item, size_t m,
                                                         const km_prom_map *mp, uint32_t *bix)
{
    const __m256i lo = _mm256_set1_epi32((int32_t)mp->lo);
    const __m256i z0 = _mm256_set1_epi32((int32_t)mp->z0), w = _mm256_set1_epi32((int32_t)mp->w);
    const __m128i sh = _mm_cvtsi32_si128((int)mp->shift);
    size_t i = 0;
    for (; i + 8 <= m; i += 8) {
        __m256i x = _mm256_permute4x64_epi64(keys8_any(item + i), _MM_SHUFFLE(3, 1, 2, 0));
        if (mp->w != 0u) /* km_prom_fold */
            x = _mm256_sub_epi32(x, _mm256_min_epu32(_mm256_sub_epi32(_mm256_max_epu32(x, z0), z0), w));
        _mm256_storeu_si256((__m256i *)(void *)(bix + i), _mm256_srl_epi32(_mm256_sub_epi32(x, lo), sh));
    }
    buckets_portable(item + i, m - i, mp, bix + i);
}
#endif

/* The taxels of kb's key range, in raster order, into raster[] (returns
 * how many); the valid ones counted into *nv, those above the minimum into
 * *ngt.  rowmax (NULL: none; only where kb's range holds no key of a value
 * below level): each row's largest value in eight lanes (KM_ROW_LANES); the
 * rows before the first and after the last whose largest is at or above
 * level have no taxel in the range, and their vectors are only counted. */
static size_t compact(const float *san, int32_t rows, int32_t cols, const order_bounds *kb,
                      const float *rowmax, float level, uint64_t *raster, size_t *nv,
                      size_t *ngt, int avx2)
{
#if KM_HAVE_AVX2_TARGET
    if (avx2)
        return compact_avx2(san, rows, cols, kb, rowmax, level, raster, nv, ngt);
#else
    (void)avx2;
#endif
    (void)rowmax, (void)level;
    return compact_portable(san, rows, cols, kb, raster, nv, ngt);
}

km_prom_map km_prom_bucket_map(uint32_t lo, uint32_t hi, size_t m, size_t *nb)
{
    float a = fabsf(km_key_value(lo)), b = fabsf(km_key_value(hi));
    uint32_t u, e;
    a = a > b ? a : b;
    memcpy(&u, &a, sizeof u);
    e = u >> 23;
    km_prom_map mp = {0u, 0x80000000u, 0u, 0u};
    if (e > KM_PROM_FOLD_BITS) { /* T = 2^(E - 24) is a normal float */
        uint32_t tb = (e - KM_PROM_FOLD_BITS) << 23;
        mp.z0 = 0x80000000u - tb;
        mp.w = 2u * tb - 1u;
    }
    if (hi < mp.z0 || lo > mp.z0 + mp.w)
        mp.w = 0u; /* no key in or beyond the fold (a shift of them all) */
    mp.lo = km_prom_fold(lo, &mp);
    *nb = 0;
    if (m > 0)
        mp.shift = km_bucket_geometry(m, km_prom_fold(hi, &mp) - mp.lo, nb);
    return mp;
}

/* The m items of raster[] (m <= GROUP_MAX) in order into dst by one
 * counting pass into about 4m buckets over their key range (bucket
 * indices in bix[], m entries) and the insertion pass: 1, or 0 when a
 * bucket is too full for the insertion pass and mixes keys. */
static int bucket_order(const uint64_t *raster, size_t m, uint32_t *bix, uint64_t *dst, int avx2)
{
    uint32_t lo = UINT32_MAX, hi = 0;
    size_t nh = 0;
#if KM_HAVE_AVX2_TARGET
    if (avx2)
        stats_avx2(raster, m, &lo, &hi);
    else
#endif
        stats_portable(raster, m, &lo, &hi);
    km_prom_map mp = km_prom_bucket_map(lo, hi, m, &nh);
#if KM_HAVE_AVX2_TARGET
    if (avx2)
        buckets_avx2(raster, m, &mp, bix);
    else
#endif
        buckets_portable(raster, m, &mp, bix);
    uint16_t hist[GROUP_MAX]; /* counts, then ends: at most GROUP_MAX buckets */
    /* The counts: whether a bucket is too full for the insertion pass is
       told by the largest, which the prefix sum finds (no test per item). */
    unsigned most;
#if KM_HAVE_AVX2_TARGET
    if (avx2)
        km_fill_bytes_avx2(hist, 0, nh * sizeof *hist);
    else
#endif
        memset(hist, 0, nh * sizeof *hist);
#pragma GCC unroll 4
    for (size_t i = 0; i < m; i++)
        hist[bix[i]]++;
#if KM_HAVE_AVX2_TARGET
    if (avx2)
        most = km_prefix_sum_exclusive_avx2(hist, nh);
    else
#endif
        most = km_prefix_sum_exclusive(hist, nh);
#pragma GCC unroll 4
    for (size_t i = 0; i < m; i++)
        dst[hist[bix[i]]++] = raster[i];
    /* A bucket too full for the insertion pass is taken only when it holds
       ties (one key, raster order). */
    if (most > KM_BUCKET_MAX_FILL && !km_full_buckets_tied(dst, hist, nh))
        return 0;
#if KM_HAVE_AVX2_TARGET
    if (avx2)
        km_insertion_sort_cx_avx2(dst, m);
    else
#endif
        km_insertion_sort_cx(dst, m);
    return 1;
}

/* The items of sorted[0..m) whose key is at most kl (they come first). */
static size_t count_upto(const uint64_t *sorted, size_t m, uint32_t kl)
{
    size_t lo = 0, hi = m;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uint32_t)(sorted[mid] >> 32) <= kl)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int km_prom_order(const float *san, int32_t rows, int32_t cols, float vmin, float level,
                  const km_prom_scratch *s, km_prom_groups *g, int both, int avx2)
{
    /* Scratch: the items in raster order in item2, buckets in next[]
       (np >= n + 8 entries, as the eight-wide stores need; the sweep
       writes every entry of next[] before it reads it). */
    order_bounds kb = group_bounds(vmin, level, 0);
    if (both) /* every key below kv: the first group's keys come first */
        kb.span = kb.kv;
    size_t nv = 0, ngt = 0;
    size_t m = compact(san, rows, cols, &kb, both ? NULL : s->rowmax, level, s->item2, &nv, &ngt,
                       avx2);
    if (m > (both ? 2 * GROUP_MAX : GROUP_MAX) || !bucket_order(s->item2, m, s->next, s->item, avx2))
        return 0; /* the caller sorts another way */
    size_t na = both ? count_upto(s->item, m, level == level ? km_desc_key(level) : 0u) : m;
    g->above = s->item;
    g->below = both ? s->item + na : NULL;
    g->n_above = na;
    g->n_below = ngt - na;
    g->n_valid = nv;
    g->below_made = both ? 2 : 0;
    return 1;
}

void km_prom_order_below(const float *san, int32_t rows, int32_t cols, float vmin, float level,
                         const km_prom_scratch *s, km_prom_groups *g, int avx2)
{
    /* Scratch: the items in raster order at the front of item2, their
       buckets after them when they fit (next[] holds the sweep). */
    order_bounds kb = group_bounds(vmin, level, 1);
    size_t nv = 0, ngt = 0, n = (size_t)rows * (size_t)cols;
    size_t m = compact(san, rows, cols, &kb, NULL, level, s->item2, &nv, &ngt, avx2);
    uint64_t *dst = s->item + g->n_above;
    g->below_made = 1;
    g->below = dst;
    if (m <= GROUP_MAX && m + (m + 1) / 2 <= n &&
        bucket_order(s->item2, m, (uint32_t *)(void *)(s->item2 + m), dst, avx2))
        return;
    g->below = km_keysort(s->item2, dst, m);
}
