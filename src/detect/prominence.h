/* Private: persistence (prominence) and basin area on a sanitised frame
 * (contiguous rows*cols floats, invalid taxels = -inf, no -0.0). */
#ifndef KM_PROMINENCE_H
#define KM_PROMINENCE_H

#include <stddef.h>
#include <stdint.h>

/* Scratch: n = rows*cols entries, np = (rows+2)*(cols+2) for the padded
 * ones (flag zeroed by the caller once; the functions leave it zeroed). */
typedef struct km_prom_scratch {
    uint64_t *item, *item2;       /* n: sort items and their scratch */
    float *pad;                   /* np: the frame with a border of -inf */
    uint32_t *comp, *next;        /* np: component label, next member (scratch
                                     of km_prom_order before the sweep) */
    float *dtax;                  /* np: death level of a wanted taxel */
    uint8_t *flag;                /* np: wanted and still alive */
    uint32_t *head, *size, *otax; /* n, per label: first member, size, oldest taxel */
    const float *rowmax;          /* KM_ROW_LANES * rows: each row's largest value in this
                                     frame in KM_ROW_LANES lanes, when the caller has it
                                     (NULL: not known); km_prom_order only counts the
                                     rows before the first and after the last with a
                                     value at or above the level */
} km_prom_scratch;

/* The valid taxels above the frame minimum, in the filtration's two
 * groups: at or above the level (sorted) and below it (below_made 0: not
 * made yet, km_prom_order_below makes it sorted when it is needed; 1: made
 * in raster order, km_keysort sorts it; 2: made and sorted). */
typedef struct km_prom_groups {
    uint64_t *above, *below;
    size_t n_above, n_below, n_valid;
    int below_made;
} km_prom_groups;

/* The group at or above the level from one counting pass over the frame
 * (promorder.c), bucket-sorted over its own key range, and the counts of
 * the other group and of the valid taxels; both: the two groups at once
 * (one counting sort over their keys, the first group's first: below_made
 * 2), for a frame whose sweep is expected to go on below the level.  Items
 * into s->item, s->item2 and s->next as scratch.  Returns 0 (groups not
 * made) when the group has more than 4096 taxels (both: 8192) or a bucket
 * too many (ties): the caller partitions and sorts instead. */
int km_prom_order(const float *san, int32_t rows, int32_t cols, float vmin, float level,
                  const km_prom_scratch *s, km_prom_groups *g, int both, int avx2);

/* The bucket of an order key x in km_prom_order's counting sort:
 * (km_prom_fold(x) - lo) >> shift.  The fold takes the keys [z0, z0 + w],
 * the values nearer zero than T = 2^-KM_PROM_FOLD_BITS of the group's
 * largest magnitude (rounded down to a power of two; both signs, +-0), to
 * z0 and the keys above them w lower: monotone, so the buckets stay in key
 * order (and the sort's result cannot depend on it).  Without it a group
 * with values of both signs about zero (a noisy floor) spreads its ~4m
 * buckets over every exponent between them, ~300 that hold nearly nothing,
 * and the floor's few exponents share a few dozen buckets: ~30 items each
 * on a 32x32 frame, ~47 K instructions a frame in the insertion pass. */
#define KM_PROM_FOLD_BITS 24u
typedef struct km_prom_map {
    uint32_t lo, z0, w;
    unsigned shift;
} km_prom_map;

static inline uint32_t km_prom_fold(uint32_t x, const km_prom_map *mp)
{
    uint32_t d = (x > mp->z0 ? x : mp->z0) - mp->z0;
    return x - (d < mp->w ? d : mp->w);
}

/* The map for m items whose keys span [lo, hi] (about 4m buckets over the
 * folded range, km_bucket_geometry); *nb = the bucket count (0 for m = 0). */
km_prom_map km_prom_bucket_map(uint32_t lo, uint32_t hi, size_t m, size_t *nb);

/* After km_prom_order: the group below the level (above vmin), sorted, in
 * s->item after the first group or in s->item2 (g->below says where); one
 * more read of the frame and km_keysort.  Leaves s->next alone (the sweep
 * of the first group is in it). */
void km_prom_order_below(const float *san, int32_t rows, int32_t cols, float vmin, float level,
                         const km_prom_scratch *s, km_prom_groups *g, int avx2);

/* For each of the n_want distinct valid taxels want[k], death[k] = the
 * level at which its component merges into an older one (prominence =
 * value - death); vmin (the minimum of the valid taxels, which must be
 * in the frame) for the oldest taxel of the frame; the minimum of its
 * component when it never merges.  A bucket sort (km_prom_order, else
 * km_keysort) and a labelled union (union by size), stopping once every
 * wanted taxel has died.  The
 * taxels at or above `level` are sorted and filtered first, the rest above
 * vmin only if a wanted taxel is still alive there, and the taxels at vmin
 * only when some taxel is invalid (with every taxel valid the grid is one
 * component: what is still alive merges at vmin).  The result does not
 * depend on `level` (-INFINITY: one stage), only the time does (pass the
 * detection threshold: wanted taxels lie above it).  avx2: the CPU has
 * AVX2 (km_detect_cpu_avx2), so the labels are read with SSE4.1; the
 * same result either way.  below (NULL: none): in, 1 when the sweep is
 * expected to go on below the level (both groups are then sorted at once);
 * out, whether it did: a caller that passes the same int for every frame
 * sorts the second group up front after a frame that needed it.  Only the
 * time depends on it. */
void km_persistence(const float *san, int32_t rows, int32_t cols, float vmin, float level,
                    const km_prom_scratch *s, const uint32_t *want, size_t n_want, float *death,
                    int avx2, int *below);

/* Entries of the padded grid ((rows + 2) x (cols + 2)). */
#define KM_PADDED_N(rows, cols) (((size_t)(rows) + 2) * ((size_t)(cols) + 2))

/* The padded grid's index of the taxel of raster index `raster`. */
static inline uint32_t km_padded_at(uint32_t raster, int32_t cols)
{
    uint32_t uc = (uint32_t)cols;
    return (raster / uc + 1u) * (uc + 2u) + raster % uc + 1u;
}

/* Taxels 8-connected to the taxel of raster index `start` through taxels
 * with value >= level (including start), searched on the padded copy that
 * km_persistence left in s->pad (its -inf border ends the search: no
 * bounds tests; level must be above -inf, as (value + death) / 2 is).  stamp[] (KM_PADDED_N entries) marks visits with
 * stamp_value; queue holds rows*cols + 1 entries (both used only by the
 * search by queue: grids wider than 62 columns, regions below padded row
 * ~250).  avx2: the rows' level sets by AVX2 (the same count).
 * src/detect/basin.c. */
int32_t km_basin_area(const float *pad, int32_t cols, uint32_t start, double level,
                      uint32_t *stamp, uint32_t stamp_value, uint32_t *queue, int avx2);

/* A row's level set as bits: bit c set where row[c] >= thr, c < w <= 64
 * (avx2: eight columns a compare, the same bits).  src/detect/basin.c. */
uint64_t km_level_bits(const float *row, uint32_t w, float thr, int avx2);

#endif
