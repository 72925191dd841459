/* Prominence by topological persistence (superlevel-set filtration,
 * 8-connected, union-find).  See docs/ALGORITHMS.md 3.5; the basin area
 * of a peak (3.6) is in basin.c. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "detect_internal.h"
#include "keysort.h"
#include "lanes64.h"
#include "prominence.h"

/* The filtration runs on a copy of the frame with a border of -inf
 * (pad, (rows + 2) x (cols + 2)), so that every taxel has eight
 * neighbours: no bounds tests, no division.  Indices below are into that
 * copy unless named raster.
 *
 * It keeps every added taxel's component label exact (comp[t]; NONE for
 * a taxel not added yet and for the border), so that "which components do
 * the older neighbours belong to" is eight loads and a min/max with no
 * comparison of values and no branch; the rare merge relabels the smaller
 * component (union by size: O(n log n) at worst, a few relabels per taxel
 * in practice).  A label is the rank of the component's first taxel; per
 * label: its oldest taxel, size and member list (head + next[] per
 * taxel).  A member list has no end mark: every walk counts `size`
 * members (the first member's next[] is whatever head[] held). */
#define NONE UINT32_MAX

typedef struct filtration {
    const float *pad;
    size_t width;    /* cols + 2 */
    const km_prom_scratch *s;
    uint32_t rank;   /* taxels added so far: the next new label */
    size_t alive;    /* wanted taxels not dead */
    int avx2;        /* read labels with SSE4.1 (the CPU has AVX2) */
    int narrow;      /* every label fits 15 bits (at most KM_NARROW_TAXELS) */
} filtration;

/* Grids of at most this many taxels have labels (ranks) below 2^15 - 1:
 * the AVX2 sweep reads them as 16-bit lanes (labels16_avx2). */
#define KM_NARROW_TAXELS 32767u

/* a comes before b in the total order (value descending, index ascending;
 * the padded index orders taxels as the raster index does). */
static inline int older(const float *pad, uint32_t a, uint32_t b)
{
    /* Without a branch: which one is older is anybody's guess. */
    return (pad[a] > pad[b]) | ((pad[a] == pad[b]) & (a < b));
}

/* Merges labels a != b at level vt; the component whose oldest taxel is
 * younger dies there.  Returns the surviving label. */
static uint32_t merge(filtration *f, uint32_t a, uint32_t b, float vt)
{
    const km_prom_scratch *s = f->s;
    uint32_t oa = s->otax[a], ob = s->otax[b];
    int a_older = older(f->pad, oa, ob);
    uint32_t young = a_older ? ob : oa;
    if (s->flag[young]) {
        s->dtax[young] = vt;
        s->flag[young] = 0;
        f->alive--;
    }
    uint32_t big = s->size[a] >= s->size[b] ? a : b, small = big == a ? b : a;
    /* The walk counts the members (a list has no end mark): its end is
       known from the size, not from the last dependent load, so the exit's
       mispredict is found early (session 24: merge -15% of its samples).
       Two members a step (one loop test per two), the odd one after. */
    uint32_t *comp = s->comp, *next = s->next;
    uint32_t t = s->head[small], last = t, ns = s->size[small], k = 0;
    for (; k + 2 <= ns; k += 2) {
        uint32_t u = next[t];
        comp[t] = big;
        comp[u] = big;
        last = u;
        t = next[u];
    }
    if (k < ns) {
        comp[t] = big;
        last = t;
    }
    s->next[last] = s->head[big];
    s->head[big] = s->head[small];
    s->size[big] += s->size[small];
    s->otax[big] = a_older ? oa : ob;
    return big;
}

/* Labels of the (older) neighbours of t that are several: merges them
 * (re-reading each, as a merge relabels); returns the survivor. */
static __attribute__((noinline)) uint32_t merge_all(filtration *f, uint32_t t, const uint32_t off[8],
                                                   float vt)
{
    const uint32_t *comp = f->s->comp;
    uint32_t lo = NONE;
    for (int j = 0; j < 8; j++) {
        uint32_t c = comp[t + off[j]];
        if (c == NONE)
            continue;
        lo = lo == NONE || lo == c ? c : merge(f, lo, c, vt);
    }
    return lo;
}

/* Taxel t whose older neighbours carry several labels, the smallest lo
 * and the largest hi: merges them (two labels, most saddles, at once);
 * returns the survivor.  Out of line: the sweep's common path stays
 * small. */
static __attribute__((noinline)) uint32_t join(filtration *f, uint32_t t, uint32_t lo, uint32_t hi)
{
    const uint32_t *comp = f->s->comp;
    uint32_t w = (uint32_t)f->width;
    const uint32_t off[8] = {0u - w - 1u, 0u - w, 0u - w + 1u, 0u - 1u, 1u, w - 1u, w, w + 1u};
    /* A third label lies strictly between lo and hi (NONE lies above). */
    for (int j = 0; j < 8; j++)
        if (comp[t + off[j]] - lo - 1u < hi - lo - 1u)
            return merge_all(f, t, off, f->pad[t]);
    return merge(f, lo, hi, f->pad[t]);
}

/* Filtration items: (km_desc_key(value) << 32) | padded index; ascending
 * items are the total order. */
static inline uint64_t make_item(float v, size_t pi)
{
    return (uint64_t)km_desc_key(v) << 32 | (uint64_t)(uint32_t)pi;
}

/* Labels are ranks, below KM_MAX_TAXELS: as int32 they are >= 0 and NONE
 * is -1, so a signed maximum passes over NONE. */
_Static_assert(KM_MAX_TAXELS <= INT32_MAX, "labels must be positive as int32");

/* The labels of t's eight neighbours: lo, the smallest as uint32 (NONE
 * when none); hi, the largest as int32 (NONE when none).  lo == hi iff
 * the neighbours carry at most one label. */
static inline void labels_portable(const uint32_t *comp, uint32_t t, uint32_t w, uint32_t *lo,
                                   uint32_t *hi)
{
    const uint32_t *up = comp + t - w, *mid = comp + t, *down = comp + t + w;
    uint32_t lab[8] = {up[-1], up[0], up[1], mid[-1], mid[1], down[-1], down[0], down[1]};
    uint32_t l = NONE;
    int32_t h = -1;
    for (int j = 0; j < 8; j++) {
        l = lab[j] < l ? lab[j] : l;
        h = (int32_t)lab[j] > h ? (int32_t)lab[j] : h;
    }
    *lo = l;
    *hi = (uint32_t)h;
}

#if KM_HAVE_AVX2_TARGET
/* The same from three 4-lane loads (the rows above, of and below t; the
 * lane outside the 3x3 block set to NONE, and t's own label is NONE as t
 * is being added), an unsigned min and a signed max across the lanes.
 * No load leaves the padded grid: the row above starts at t - w - 1 >= 0,
 * the row below ends at t + w + 1, the middle row at t + 2 <= (rows + 1) * w. */
__attribute__((target("avx2"), always_inline)) static inline void
labels_avx2(const uint32_t *comp, uint32_t t, uint32_t w, uint32_t *lo, uint32_t *hi)
{
    const __m128i last = _mm_set_epi32(-1, 0, 0, 0), first = _mm_set_epi32(0, 0, 0, -1);
    __m128i u = _mm_or_si128(_mm_loadu_si128((const __m128i *)(const void *)(comp + t - w - 1)), last);
    __m128i m = _mm_or_si128(_mm_loadu_si128((const __m128i *)(const void *)(comp + t - 1)), last);
    __m128i d = _mm_or_si128(_mm_loadu_si128((const __m128i *)(const void *)(comp + t + w - 2)), first);
    __m128i mn = _mm_min_epu32(_mm_min_epu32(u, m), d);
    __m128i mx = _mm_max_epi32(_mm_max_epi32(u, m), d);
    mn = _mm_min_epu32(mn, _mm_shuffle_epi32(mn, 0x4e));
    mn = _mm_min_epu32(mn, _mm_shuffle_epi32(mn, 0xb1));
    mx = _mm_max_epi32(mx, _mm_shuffle_epi32(mx, 0x4e));
    mx = _mm_max_epi32(mx, _mm_shuffle_epi32(mx, 0xb1));
    *lo = (uint32_t)_mm_cvtsi128_si32(mn);
    *hi = (uint32_t)_mm_cvtsi128_si32(mx);
}

/* labels_avx2 for a grid of at most KM_NARROW_TAXELS taxels, where every
 * label is below 2^15 - 1: the eight neighbours' labels in one vector of
 * 16-bit lanes (the row above with t - 1 in its fourth lane, the row below
 * with t + 1 in its first; packed with signed saturation, so NONE becomes
 * 0xffff), the smallest by one phminposuw and the largest by another on
 * 0xfffe - label (NONE is then 0xffff, the largest: passed over unless
 * every lane is NONE).  lo and hi as labels_avx2 gives them, except that
 * "none" is 0xffff (above every rank, as NONE is): 11 vector instructions
 * instead of 17 per added taxel.  The loads stay inside the padded grid as
 * labels_avx2's do (t - w - 1 .. t - w + 2, t + w - 2 .. t + w + 1). */
__attribute__((target("avx2"), always_inline)) static inline void
labels16_avx2(const uint32_t *comp, uint32_t t, uint32_t w, uint32_t *lo, uint32_t *hi)
{
    const __m128i top = _mm_set1_epi16((short)0xfffe);
    const uint32_t *p = comp + (size_t)t, *up = p - (size_t)w, *down = p + (size_t)w;
    __m128i u = _mm_loadu_si128((const __m128i *)(const void *)(up - 1));
    __m128i d = _mm_loadu_si128((const __m128i *)(const void *)(down - 2));
    u = _mm_insert_epi32(u, (int)p[-1], 3);
    d = _mm_insert_epi32(d, (int)p[1], 0);
    __m128i v = _mm_packs_epi32(u, d);
    __m128i mn = _mm_minpos_epu16(v);
    __m128i mx = _mm_sub_epi16(top, _mm_minpos_epu16(_mm_sub_epi16(top, v)));
    *lo = (uint32_t)_mm_extract_epi16(mn, 0);
    *hi = (uint32_t)_mm_extract_epi16(mx, 0);
}

/* join, the test for a third label made on the same three 4-lane loads as
 * labels_avx2 ((x - lo - 1) < (hi - lo - 1) unsigned, compared as signed
 * after flipping the top bit; NONE never passes). */
__attribute__((target("avx2"), noinline)) static uint32_t join_avx2(filtration *f, uint32_t t,
                                                                    uint32_t lo, uint32_t hi)
{
    const uint32_t *comp = f->s->comp;
    uint32_t w = (uint32_t)f->width;
    const __m128i last = _mm_set_epi32(-1, 0, 0, 0), first = _mm_set_epi32(0, 0, 0, -1);
    const __m128i base = _mm_set1_epi32((int32_t)(lo + 1u)), sign = _mm_set1_epi32(INT32_MIN);
    const __m128i span = _mm_set1_epi32((int32_t)((hi - lo - 1u) ^ 0x80000000u));
    __m128i u = _mm_or_si128(_mm_loadu_si128((const __m128i *)(const void *)(comp + t - w - 1)), last);
    __m128i m = _mm_or_si128(_mm_loadu_si128((const __m128i *)(const void *)(comp + t - 1)), last);
    __m128i d = _mm_or_si128(_mm_loadu_si128((const __m128i *)(const void *)(comp + t + w - 2)), first);
    __m128i cu = _mm_cmpgt_epi32(span, _mm_xor_si128(_mm_sub_epi32(u, base), sign));
    __m128i cm = _mm_cmpgt_epi32(span, _mm_xor_si128(_mm_sub_epi32(m, base), sign));
    __m128i cd = _mm_cmpgt_epi32(span, _mm_xor_si128(_mm_sub_epi32(d, base), sign));
    if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(cu, cm), cd))) {
        const uint32_t off[8] = {0u - w - 1u, 0u - w, 0u - w + 1u, 0u - 1u, 1u, w - 1u, w, w + 1u};
        return merge_all(f, t, off, f->pad[t]);
    }
    return merge(f, lo, hi, f->pad[t]);
}
#endif

/* The arrays the sweep writes, held in locals across the loop (a join
 * cannot change them, so nothing is reloaded after one). */
typedef struct sweep_arrays {
    uint32_t *comp, *next, *head, *size, *otax;
} sweep_arrays;

/* Taxel t, the rank-th in the total order, is being added: the slot of
 * label `rank` is set up for every taxel (no branch), as no other
 * component can own it; it is used when t starts a component.  Its head
 * needs no value: a list is walked by its size. */
__attribute__((always_inline)) static inline void open_slot(const sweep_arrays *a, uint32_t t,
                                                            uint32_t rank)
{
    a->size[rank] = 0;
    a->otax[rank] = t;
}

/* t joins component c. */
__attribute__((always_inline)) static inline void append(const sweep_arrays *a, uint32_t t,
                                                         uint32_t c)
{
    a->comp[t] = c;
    a->next[t] = a->head[c];
    a->head[c] = t;
    a->size[c]++;
}

/* Adds the taxels of items[0..len) (the next ones in the total order) to
 * the filtration until no wanted taxel is left alive.  A neighbour has
 * been added iff it is older than the new taxel (the border never is), so
 * its label is not NONE.  A taxel whose older neighbours all carry one
 * label lo (most taxels) joins it, and one without older neighbours (a
 * local maximum, lo = NONE) starts label `rank`: every label is below
 * rank, so min(lo, rank) is either, without a branch.  Only a merge (a
 * saddle, lo != hi) leaves the inner loop for join, so the inner loop
 * makes no call and keeps every array in a register.  A wanted taxel that
 * joins an older neighbour was settled before the sweep (settle_joiners),
 * so the common path reads no flag.  Compiled twice, the labels read in
 * scalar code or by SSE4.1 instructions in an AVX2 function (the same
 * labels), each with the join that matches its reader: sweep() is inlined
 * into both with its labels and join known, so both are direct. */
typedef void (*labels_fn)(const uint32_t *comp, uint32_t t, uint32_t w, uint32_t *lo,
                          uint32_t *hi);
typedef uint32_t (*join_fn)(filtration *f, uint32_t t, uint32_t lo, uint32_t hi);

__attribute__((always_inline)) static inline void sweep(filtration *f, const uint64_t *items,
                                                        size_t len, labels_fn labels,
                                                        join_fn join_labels)
{
    const km_prom_scratch *s = f->s;
    const sweep_arrays a = {s->comp, s->next, s->head, s->size, s->otax};
    /* The item and its rank advance together; the end is a rank (one
       fewer register than a count and a base). */
    uint32_t w = (uint32_t)f->width, rank = f->rank, end = rank + (uint32_t)len;
    const uint64_t *it = items;
    while (rank != end) {
        uint32_t t, lo, hi;
        for (;;) {
            t = (uint32_t)*it++;
            labels(a.comp, t, w, &lo, &hi);
            open_slot(&a, t, rank);
            if (lo != hi)
                break;
            append(&a, t, lo < rank ? lo : rank);
            if (++rank == end)
                goto done;
        }
        uint32_t c = join_labels(f, t, lo, hi);
        rank++;
        if (f->alive == 0)
            break;
        append(&a, t, c);
    }
done:
    f->rank = rank;
}

static void filtrate_portable(filtration *f, const uint64_t *items, size_t len)
{
    sweep(f, items, len, labels_portable, join);
}

#if KM_HAVE_AVX2_TARGET
__attribute__((target("avx2"))) static void filtrate_avx2(filtration *f, const uint64_t *items,
                                                          size_t len)
{
    sweep(f, items, len, labels_avx2, join_avx2);
}

/* The same with the labels read as 16-bit lanes (narrow grids). */
__attribute__((target("avx2"))) static void filtrate16_avx2(filtration *f, const uint64_t *items,
                                                            size_t len)
{
    sweep(f, items, len, labels16_avx2, join_avx2);
}
#endif

static void filtrate(filtration *f, const uint64_t *items, size_t len)
{
    if (f->alive == 0)
        return;
#if KM_HAVE_AVX2_TARGET
    if (f->avx2) {
        (f->narrow ? filtrate16_avx2 : filtrate_avx2)(f, items, len);
        return;
    }
#endif
    filtrate_portable(f, items, len);
}

#if KM_HAVE_AVX2_TARGET
/* vpermd indices that move the selected 64-bit lanes of a 4-bit mask to
   the high lanes in reverse order, the first selected in lane 3; other
   lanes take lane 0 (the forward placement, to the low lanes in order, is
   km_lanes64_front). */
static const uint32_t PLACE_BWD[16][8] = {
    {0, 0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 1}, {0, 0, 0, 0, 0, 0, 2, 3},
    {0, 0, 0, 0, 2, 3, 0, 1}, {0, 0, 0, 0, 0, 0, 4, 5}, {0, 0, 0, 0, 4, 5, 0, 1},
    {0, 0, 0, 0, 4, 5, 2, 3}, {0, 0, 4, 5, 2, 3, 0, 1}, {0, 0, 0, 0, 0, 0, 6, 7},
    {0, 0, 0, 0, 6, 7, 0, 1}, {0, 0, 0, 0, 6, 7, 2, 3}, {0, 0, 6, 7, 2, 3, 0, 1},
    {0, 0, 0, 0, 6, 7, 4, 5}, {0, 0, 6, 7, 4, 5, 0, 1}, {0, 0, 6, 7, 4, 5, 2, 3},
    {6, 7, 4, 5, 2, 3, 0, 1}};

/* partition()'s placement of a row's items, four at a time: the above ones
   to it[lo..] in order, the below ones to it[..hi) backwards (the first at
   hi - 1), as the scalar loop puts them.  Each store writes four slots,
   the unused ones inside the free gap [lo, hi), so a vector is placed only
   while 8 or more items remain unplaced in the frame (the gap is then at
   least 8 wide).  Returns the items placed. */
__attribute__((target("avx2"))) static size_t place_avx2(const uint64_t *items, size_t m,
                                                         size_t unplaced, uint64_t *it,
                                                         size_t *lo, size_t *hi, size_t *nv,
                                                         uint64_t k_min, uint64_t k_level,
                                                         uint64_t k_valid)
{
    const __m256i sign = _mm256_set1_epi64x((long long)0x8000000000000000ull);
    const __m256i vmin = _mm256_xor_si256(_mm256_set1_epi64x((long long)k_min), sign);
    const __m256i vlev = _mm256_xor_si256(_mm256_set1_epi64x((long long)k_level), sign);
    const __m256i vval = _mm256_xor_si256(_mm256_set1_epi64x((long long)k_valid), sign);
    size_t c = 0, l = *lo, h = *hi, v = *nv;
    for (; c + 4 <= m && unplaced - c >= 8; c += 4) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(items + c));
        __m256i xs = _mm256_xor_si256(x, sign);
        __m256i lt_min = _mm256_cmpgt_epi64(vmin, xs), gt_lev = _mm256_cmpgt_epi64(xs, vlev);
        unsigned up = (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(
                          _mm256_andnot_si256(gt_lev, lt_min))),
                 down = (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(
                            _mm256_and_si256(gt_lev, lt_min))),
                 valid = (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(
                             _mm256_cmpgt_epi64(vval, xs)));
        __m256i fwd = _mm256_loadu_si256((const __m256i *)(const void *)km_lanes64_front(up));
        __m256i bwd = _mm256_loadu_si256((const __m256i *)(const void *)PLACE_BWD[down]);
        _mm256_storeu_si256((__m256i *)(void *)(it + l), _mm256_permutevar8x32_epi32(x, fwd));
        _mm256_storeu_si256((__m256i *)(void *)(it + h - 4), _mm256_permutevar8x32_epi32(x, bwd));
        l += (size_t)__builtin_popcount(up);
        h -= (size_t)__builtin_popcount(down);
        v += (size_t)__builtin_popcount(valid);
    }
    *lo = l;
    *hi = h;
    *nv = v;
    return c;
}
#endif

/* The general form of the groups (km_prom_order declined the frame: a
 * group over 4096 taxels, or a bucket of more than 64 mixed keys).  One raster pass: the above group to
 * the front of item[], the below group to the back (reversed, then
 * restored to raster order): both slots written, one kept, so there is no
 * branch.  Per row,
 * the items are made first (a loop the compiler vectorises) and then
 * placed, the groups told apart by comparing the items with the items of
 * the bounds (the order key is monotone in the value); with AVX2 four at a
 * time (place_avx2), the same places.  The above group is
 * sorted; the below one is sorted only if needed. */
static void partition(const float *san, int32_t rows, int32_t cols, float vmin, float level,
                      const km_prom_scratch *s, km_prom_groups *g, int avx2)
{
    size_t n = (size_t)rows * (size_t)cols, lo = 0, hi = n, nv = 0, w = (size_t)cols + 2;
    uint64_t *it = s->item, *row_items = s->item2;
    /* v > vmin iff item < k_min; v >= level iff item <= k_level; v > -inf
       iff item < k_valid (NaN level: no taxel is >= it). */
    const uint64_t k_min = (uint64_t)km_desc_key(vmin) << 32;
    const uint64_t k_level = level == level ? (uint64_t)km_desc_key(level) << 32 | UINT32_MAX : 0u;
    const uint64_t k_valid = (uint64_t)km_desc_key(-INFINITY) << 32;
    for (int32_t r = 0; r < rows; r++) {
        const float *src = san + (size_t)r * (size_t)cols;
        size_t prow = ((size_t)r + 1) * w + 1;
        for (int32_t c = 0; c < cols; c++)
            row_items[c] = make_item(src[c], prow + (size_t)c);
        int32_t c0 = 0;
#if KM_HAVE_AVX2_TARGET
        if (avx2)
            c0 = (int32_t)place_avx2(row_items, (size_t)cols, n - (size_t)r * (size_t)cols, it,
                                     &lo, &hi, &nv, k_min, k_level, k_valid);
#else
        (void)avx2;
#endif
        for (int32_t c = c0; c < cols; c++) {
            uint64_t item = row_items[c];
            size_t above_min = item < k_min, ge = item <= k_level;
            it[lo] = item;
            it[hi - 1] = item;
            lo += above_min & ge;
            hi -= above_min & (ge ^ 1u);
            nv += item < k_valid;
        }
    }
    for (size_t a = hi, b = n - 1; a < b; a++, b--) {
        uint64_t t = it[a];
        it[a] = it[b];
        it[b] = t;
    }
    g->n_above = lo;
    g->n_below = n - hi;
    g->n_valid = nv;
    g->above = km_keysort(it, s->item2, lo);
    g->below = it + hi;
    g->below_made = 1;
}

/* The padded copy of the frame: a border of -inf. */
static void fill_pad(const float *san, int32_t rows, int32_t cols, float *pad)
{
    size_t w = (size_t)cols + 2;
    for (size_t c = 0; c < w; c++)
        pad[c] = pad[((size_t)rows + 1) * w + c] = -INFINITY;
    for (int32_t r = 0; r < rows; r++) {
        size_t prow = ((size_t)r + 1) * w + 1;
        pad[prow - 1] = pad[prow + (size_t)cols] = -INFINITY;
        memcpy(pad + prow, san + (size_t)r * (size_t)cols, (size_t)cols * sizeof *san);
    }
}

/* The below group in the filtration's order: made now (km_prom_order
 * left it), sorted from raster order (partition made it), or as it is
 * (km_prom_order sorted both groups). */
static void sort_below(const float *san, int32_t rows, int32_t cols, float vmin, float level,
                       const km_prom_scratch *s, km_prom_groups *g, int avx2)
{
    size_t n = (size_t)rows * (size_t)cols;
    if (g->below_made == 0)
        km_prom_order_below(san, rows, cols, vmin, level, s, g, avx2);
    else if (g->below_made == 1)
        g->below = km_keysort(g->below, s->item2 + (n - g->n_below), g->n_below);
}

/* The taxels at the frame minimum, in raster order (their total order),
 * into out; returns how many. */
static size_t minimum_items(const float *san, int32_t rows, int32_t cols, float vmin,
                            uint64_t *out)
{
    size_t m = 0, w = (size_t)cols + 2;
    /* Every taxel's item written, the count advanced only at the minimum
       (out[m] is never past the taxels seen): which taxels lie at the
       minimum is the frame's, 68 000 mispredicts on the bench session as
       a branch. */
    for (int32_t r = 0; r < rows; r++)
        for (int32_t c = 0; c < cols; c++) {
            out[m] = make_item(vmin, ((size_t)r + 1) * w + (size_t)c + 1);
            m += san[(size_t)r * (size_t)cols + (size_t)c] == vmin;
        }
    return m;
}

/* Whether the valid taxels are one 8-connected component, told by a
 * sufficient test: no two invalid taxels are 8-adjacent (rows, cols >= 2,
 * cols <= 64; else 0).  Then each invalid taxel's neighbours are valid and
 * connected around it (a ring, or the part of one inside the grid), so a
 * path of the grid between two valid taxels goes round every invalid one
 * it meets.  A few word operations a row, where adding the taxels at the
 * minimum (stage 3) reads the frame and sweeps them. */
static int valid_connected(const float *san, int32_t rows, int32_t cols, int avx2)
{
    if (rows < 2 || cols < 2 || cols > 64)
        return 0;
    /* A row's invalid taxels (-inf; the copy holds no NaN) as bits: those
       not at or above the least finite float. */
    uint64_t prev = 0, all = cols == 64 ? ~(uint64_t)0 : ((uint64_t)1 << cols) - 1u;
    for (int32_t r = 0; r < rows; r++) {
        uint64_t b = all & ~km_level_bits(san + (size_t)r * (size_t)cols, (uint32_t)cols,
                                          -FLT_MAX, avx2);
        if ((b & b << 1) != 0 || (b & (prev | prev << 1 | prev >> 1)) != 0)
            return 0;
        prev = b;
    }
    return 1;
}

/* Wanted taxels with an older neighbour join its component when added,
 * so they die at their own value (a non-first taxel of a plateau, or a
 * wanted taxel that is no local maximum): settled here, before the sweep,
 * so that the sweep tests no flag per taxel. */
static void settle_joiners(filtration *f, const uint32_t *want, size_t n_want, int32_t cols)
{
    const km_prom_scratch *s = f->s;
    const float *pad = f->pad;
    uint32_t w = (uint32_t)f->width;
    const uint32_t off[8] = {0u - w - 1u, 0u - w, 0u - w + 1u, 0u - 1u, 1u, w - 1u, w, w + 1u};
    for (size_t k = 0; k < n_want; k++) {
        uint32_t t = km_padded_at(want[k], cols);
        int joins = 0;
        for (int j = 0; j < 8; j++)
            joins |= older(pad, t + off[j], t);
        if (s->flag[t] && joins) {
            s->dtax[t] = pad[t];
            s->flag[t] = 0;
            f->alive--;
        }
    }
}

/* The lowest value of t's component (its last level once every taxel has
 * been added): its size members from head. */
static float component_min(const filtration *f, uint32_t t)
{
    const km_prom_scratch *s = f->s;
    uint32_t c = s->comp[t], q = s->head[c];
    float m = f->pad[t];
    for (uint32_t k = 0; k < s->size[c]; k++, q = s->next[q])
        m = f->pad[q] < m ? f->pad[q] : m;
    return m;
}

void km_persistence(const float *san, int32_t rows, int32_t cols, float vmin, float level,
                    const km_prom_scratch *s, const uint32_t *want, size_t n_want, float *death,
                    int avx2, int *below)
{
    size_t n = (size_t)rows * (size_t)cols;
    km_prom_groups g;

    if (n_want == 0)
        return;
    size_t comp_bytes = ((size_t)rows + 2) * ((size_t)cols + 2) * sizeof *s->comp;
#if KM_HAVE_AVX2_TARGET
    if (avx2)
        km_fill_bytes_avx2(s->comp, 0xff, comp_bytes);
    else
#endif
        memset(s->comp, 0xff, comp_bytes);
    fill_pad(san, rows, cols, s->pad);
    /* The groups by one counting sort; the general form when declined. */
    if (!km_prom_order(san, rows, cols, vmin, level, s, &g, below != NULL && *below, avx2))
        partition(san, rows, cols, vmin, level, s, &g, avx2);
    for (size_t k = 0; k < n_want; k++)
        s->flag[km_padded_at(want[k], cols)] = 1;
    filtration f = {s->pad, (size_t)cols + 2, s, 0, n_want, avx2, n <= KM_NARROW_TAXELS};

    /* The oldest taxel never dies: it gets max - min. */
    int below_sorted = 0;
    if (g.n_above == 0 && g.n_below > 0) {
        sort_below(san, rows, cols, vmin, level, s, &g, avx2);
        below_sorted = 1;
    }
    uint32_t oldest = UINT32_MAX; /* none: vmin is not in the frame (the caller's error) */
    if (g.n_above > 0)
        oldest = (uint32_t)g.above[0];
    else if (g.n_below > 0)
        oldest = (uint32_t)g.below[0];
    else if (minimum_items(san, rows, cols, vmin, s->item2) > 0)
        oldest = (uint32_t)s->item2[0];
    if (oldest != UINT32_MAX && s->flag[oldest]) {
        s->dtax[oldest] = vmin;
        s->flag[oldest] = 0;
        f.alive--;
    }
    settle_joiners(&f, want, n_want, cols);
    /* Stage 1: the filtration restricted to {v >= level} is the full one
       down to that level, so a wanted taxel that dies above it has its
       exact death; the rest is sorted only if one is still alive. */
    filtrate(&f, g.above, g.n_above);
    if (below != NULL)
        *below = f.alive > 0 && g.n_below > 0;
    if (f.alive > 0 && g.n_below > 0) {
        if (!below_sorted)
            sort_below(san, rows, cols, vmin, level, s, &g, avx2);
        filtrate(&f, g.below, g.n_below);
    }
    /* Stage 3, the taxels at the minimum.  With every taxel valid the grid
       is one component, so whatever is still alive merges at the minimum
       level: no need to add them; the same when the valid taxels are one
       component (a few suspect taxels left out of a mat's or roller's
       frames: about one frame in five of the third simulator's hard mat
       went on to the minimum). */
    int all_valid = g.n_valid == n;
    if (f.alive > 0 && !all_valid && valid_connected(san, rows, cols, avx2))
        all_valid = 1;
    if (f.alive > 0 && !all_valid) {
        size_t m3 = minimum_items(san, rows, cols, vmin, s->item2);
        filtrate(&f, s->item2, m3);
    }
    for (size_t k = 0; k < n_want; k++) {
        uint32_t w = km_padded_at(want[k], cols);
        if (s->flag[w]) {
            /* Still alive: merges at the minimum (all valid, or the valid
               taxels one component), or never merged (every taxel was
               added): a separate valid component, whose minimum is its
               last level. */
            s->dtax[w] = all_valid ? vmin : component_min(&f, w);
            s->flag[w] = 0;
        }
        death[k] = s->dtax[w];
    }
}
