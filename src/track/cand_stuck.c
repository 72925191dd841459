/* The candidate layer's stuck rule (docs/ALGORITHMS.md 10 step 1): which
 * taxels repeat one value while the sensor around them changes. */
#include <math.h>

#include "bodygrid_internal.h"

/* Stuck taxels: repeating one value exactly while the sensor around them
 * changes.  A frame counts towards a taxel's run when the taxel repeats
 * its previous value and at least half of its 4 neighbours on the sensor
 * do not: a stuck or dead (0) taxel under a moving load.  A quantised
 * sensor whose noise is under one count repeats values too, all of its
 * taxels together, wherever the load holds still (a user pressing on a
 * tender spot, an idle taxel reading 0): those frames leave the run where
 * it is, so such taxels are never taken for stuck.  Any change of the
 * taxel's own value ends its run.  Branch-free (it vectorises): every
 * taxel, every frame, in two sweeps (what changed; then the runs). */
/* changed_taxels' plain loop over columns x..cols of one row. */
static inline void changed_tail(const float *restrict row, float *restrict pv,
                                uint8_t *restrict chg, int32_t x, int32_t cols)
{
    for (; x < cols; x++) {
        float v = row[x];
        chg[x] = (uint8_t)(v != pv[x]);
        pv[x] = v;
    }
}

#if KM_AVX2_TARGET
/* Four groups of eight int32 lanes 0 / -1 as 32 bytes 0 / 1 in lane
   order: packed per 128-bit half (lanes 0-3, 8-11, 16-19, 24-27 | 4-7,
   12-15, 20-23, 28-31), the dwords then put back in order. */
__attribute__((target("avx2"), always_inline)) static inline __m256i
flags32(__m256i o0, __m256i o1, __m256i o2, __m256i o3)
{
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(o0, o1), _mm256_packs_epi32(o2, o3));
    return _mm256_and_si256(_mm256_permutevar8x32_epi32(p, order), _mm256_set1_epi8(1));
}

/* One taxel group's compare for changed_avx2: v != prev (NaN: changed),
   prev becomes v. */
__attribute__((target("avx2"), always_inline)) static inline __m256i changed8(const float *row,
                                                                              float *pv)
{
    __m256 v = _mm256_loadu_ps(row);
    __m256 c = _mm256_cmp_ps(v, _mm256_loadu_ps(pv), _CMP_NEQ_UQ);
    _mm256_storeu_ps(pv, v);
    return _mm256_castps_si256(c);
}

/* changed_taxels in one call per frame: 32 taxels of a row at a time, then
   eight, then one by one. */
__attribute__((target("avx2"))) static void changed_avx2(km_bodygrid *g, const km_frame *f)
{
    const int32_t rows = g->rows, cols = g->cols;
    for (int32_t r = 0; r < rows; r++) {
        const float *row = f->data + (ptrdiff_t)r * f->row_stride;
        float *pv = g->ex.prev + km_cand_at(g, r, 0);
        uint8_t *chg = g->ex.changed + km_cand_at(g, r, 0);
        int32_t x = 0;
        for (; x + 32 <= cols; x += 32) {
            __m256i c0 = changed8(row + x, pv + x), c1 = changed8(row + x + 8, pv + x + 8);
            __m256i c2 = changed8(row + x + 16, pv + x + 16), c3 = changed8(row + x + 24, pv + x + 24);
            _mm256_storeu_si256((__m256i *)(void *)(chg + x), flags32(c0, c1, c2, c3));
        }
        for (; x + 8 <= cols; x += 8)
            km_store_flags8(chg + x, changed8(row + x, pv + x));
        changed_tail(row, pv, chg, x, cols);
    }
}
#endif

/* Which taxels of frame f changed since the previous frame (NaN never
   equals itself: a NaN taxel counts as changing); prev becomes f.  Locals
   only in the loop, so that the byte stores cannot alias the grid's fields
   and it vectorises. */
static void changed_taxels(km_bodygrid *g, const km_frame *f)
{
#if KM_AVX2_TARGET
    if (g->ex.avx2) {
        changed_avx2(g, f);
        return;
    }
#endif
    for (int32_t r = 0; r < g->rows; r++)
        changed_tail(f->data + (ptrdiff_t)r * f->row_stride, g->ex.prev + km_cand_at(g, r, 0),
                     g->ex.changed + km_cand_at(g, r, 0), 0, g->cols);
}

#if KM_AVX2_TARGET
/* Eight taxels' runs (int32 lanes) from their count and same flags (the
   low eight bytes of c8 and s8, 0 / -1), a value at or above sat_lo
   ending the run when clip (a constant: the sweep without a saturation
   keeps its instructions): the runs updated in place, and the lanes that
   are stuck now (-1).  A run (0..INT32_MAX) plus one is at most 2^31 as
   unsigned, so the unsigned minimum with INT32_MAX is the plain loop's
   saturation; sf1 is sf - 1, or INT32_MAX when sf is 0 (no run is ever
   above it: nothing is stuck). */
__attribute__((target("avx2"), always_inline)) static inline __m256i
runs8(int32_t *run, const float *now, __m128i c8, __m128i s8, __m256i sf1, __m256 sat_lo,
      int clip)
{
    __m256i rv = _mm256_loadu_si256((const __m256i *)(const void *)run);
    __m256 v = _mm256_loadu_ps(now);
    rv = _mm256_min_epu32(_mm256_sub_epi32(rv, _mm256_cvtepi8_epi32(c8)),
                          _mm256_set1_epi32(INT32_MAX));
    rv = _mm256_and_si256(rv, _mm256_cvtepi8_epi32(s8));
    if (clip)
        rv = _mm256_and_si256(rv, _mm256_castps_si256(_mm256_cmp_ps(v, sat_lo, _CMP_LT_OQ)));
    _mm256_storeu_si256((__m256i *)(void *)run, rv);
    __m256 nz = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NEQ_UQ);
    return _mm256_and_si256(_mm256_cmpgt_epi32(rv, sf1), _mm256_castps_si256(nz));
}

/* 32 bytes at p. */
#define BYTES32(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))

/* The runs' sweep 32 taxels at a time: the neighbours' count and the
   flags in byte lanes (moved <= 4, nb <= 4), the runs in four groups of
   eight int32 lanes (runs8), the new stuck flags packed back to bytes in
   taxel order (flags32).  The same terms as the plain loop.  The last
   block runs past hi, into the border and the KM_CAND_SLACK entries after
   the padded layout (zeros): nb is 0 there, so no run moves (run 0 and
   stuck 0 stay), and no other taxel reads those entries' state.  No rest
   is left to a narrower loop. */
__attribute__((target("avx2"), always_inline)) static inline void
stuck_avx2(const uint8_t *chg, const uint8_t *nbs, const float *now, int32_t *run, uint8_t *stuck,
           size_t lo, size_t hi, ptrdiff_t st, int32_t not_first, int32_t sf, float sat_lo, int clip)
{
    const __m256 sl = _mm256_set1_ps(sat_lo);
    const __m256i zero = _mm256_setzero_si256(), first = _mm256_set1_epi8(not_first ? -1 : 0);
    const __m256i sf1 = _mm256_set1_epi32(sf > 0 ? sf - 1 : INT32_MAX);
    for (size_t i = lo; i < hi; i += 32) {
        __m256i moved = _mm256_add_epi8(_mm256_add_epi8(BYTES32(chg + i - st), BYTES32(chg + i + st)),
                                        _mm256_add_epi8(BYTES32(chg + i - 1), BYTES32(chg + i + 1)));
        __m256i nb = BYTES32(nbs + i);
        __m256i same = _mm256_and_si256(first, _mm256_cmpeq_epi8(BYTES32(chg + i), zero));
        /* 2 moved >= nb and nb > 0 */
        __m256i count = _mm256_andnot_si256(_mm256_cmpgt_epi8(nb, _mm256_add_epi8(moved, moved)),
                                            _mm256_cmpgt_epi8(nb, zero));
        __m128i c_lo = _mm256_castsi256_si128(count), c_hi = _mm256_extracti128_si256(count, 1);
        __m128i s_lo = _mm256_castsi256_si128(same), s_hi = _mm256_extracti128_si256(same, 1);
        __m256i o0 = runs8(run + i, now + i, c_lo, s_lo, sf1, sl, clip);
        __m256i o1 = runs8(run + i + 8, now + i + 8, _mm_srli_si128(c_lo, 8), _mm_srli_si128(s_lo, 8), sf1, sl, clip);
        __m256i o2 = runs8(run + i + 16, now + i + 16, c_hi, s_hi, sf1, sl, clip);
        __m256i o3 = runs8(run + i + 24, now + i + 24, _mm_srli_si128(c_hi, 8), _mm_srli_si128(s_hi, 8), sf1, sl, clip);
        /* stuck |= the new flags (both 0 / 1) */
        _mm256_storeu_si256((__m256i *)(void *)(stuck + i),
                            _mm256_or_si256(flags32(o0, o1, o2, o3), BYTES32(stuck + i)));
    }
}
#undef BYTES32

/* stuck_avx2 without a saturation (every roller, a mat of unknown full
   scale) and with one. */
__attribute__((target("avx2"))) static void stuck_avx2_all(const uint8_t *chg, const uint8_t *nbs,
                                                           const float *now, int32_t *run,
                                                           uint8_t *stuck, size_t lo, size_t hi,
                                                           ptrdiff_t st, int32_t not_first,
                                                           int32_t sf)
{
    stuck_avx2(chg, nbs, now, run, stuck, lo, hi, st, not_first, sf, INFINITY, 0);
}

__attribute__((target("avx2"))) static void stuck_avx2_clip(const uint8_t *chg, const uint8_t *nbs,
                                                            const float *now, int32_t *run,
                                                            uint8_t *stuck, size_t lo, size_t hi,
                                                            ptrdiff_t st, int32_t not_first,
                                                            int32_t sf, float sat_lo)
{
    stuck_avx2(chg, nbs, now, run, stuck, lo, hi, st, not_first, sf, sat_lo, 1);
}
#endif

void km_cand_layer_stuck(km_bodygrid *g, const km_frame *f)
{
    km_excess_state *xs = &g->ex;
    const int32_t not_first = g->frame > 0, sf = g->cand.stuck_frames;
    const ptrdiff_t st = (ptrdiff_t)g->cols + 2;
    changed_taxels(g, f);
    /* One sweep over the padded layout from the first taxel to the last:
       the border columns between the rows are swept too, with no
       neighbours (nb 0) their run stays 0 and their value 0 is never
       stuck.  One long loop vectorises better than a short one per row. */
    const size_t lo = km_cand_at(g, 0, 0), hi = km_cand_at(g, g->rows - 1, g->cols - 1) + 1;
    const uint8_t *restrict chg = xs->changed, *restrict nbs = xs->nb;
    const float *restrict now = xs->prev;
    int32_t *restrict run = xs->run;
    uint8_t *restrict stuck = xs->stuck;
    /* Without a saturation (+inf) every repeat counts, +inf values too. */
    const float sat_lo = xs->sat_lo;
    const int32_t clip = sat_lo < INFINITY;
#if KM_AVX2_TARGET
    if (xs->avx2) {
        if (clip)
            stuck_avx2_clip(chg, nbs, now, run, stuck, lo, hi, st, not_first, sf, sat_lo);
        else
            stuck_avx2_all(chg, nbs, now, run, stuck, lo, hi, st, not_first, sf);
        return;
    }
#endif
    for (size_t i = lo; i < hi; i++) {
        int32_t moved = chg[i - st] + chg[i + st] + chg[i - 1] + chg[i + 1], nb = nbs[i];
        int32_t same = not_first & (chg[i] == 0) & (!clip | (now[i] < sat_lo));
        int32_t count = (2 * moved >= nb) & (nb > 0);
        int32_t rv = run[i];
        rv = (rv + (count & (rv < INT32_MAX))) & -same;
        run[i] = rv;
        stuck[i] |= (uint8_t)((sf > 0) & (rv >= sf) & (now[i] != 0.0f));
    }
}

/* SATURATED_SHARE of the full scale and up is clipped (a quantised sensor
   reads its full scale to within half a count: model 2's hard counts of
   0.5-1.5 kPa under a full scale of 100-200 kPa are under 0.75% of it). */
#define SATURATED_SHARE 0.99

km_status km_bodygrid_set_saturation(km_bodygrid *g, double saturation)
{
    if (g == NULL || !(g->layers & KM_GRID_CANDIDATES) || !(saturation > 0.0 || isnan(saturation)))
        return KM_ERR_INVALID;
    /* Rollers keep every repeat: a roller taxel's run ends as it rolls
       off the spot, and with the rule on rollers too the tuning seeds lost
       knots there (model 2 roller hard F1 0.684 -> 0.675, model 1 roller
       moderate 0.996 -> 0.992; bench/HISTORY.md "Session 32 (scale2)"). */
    g->ex.sat_lo = g->mode == KM_MODE_MAT && isfinite(saturation)
                       ? (float)(SATURATED_SHARE * saturation)
                       : INFINITY;
    return KM_OK;
}

double km_bodygrid_clip_level(const km_bodygrid *g)
{
    return g != NULL && (g->layers & KM_GRID_CANDIDATES) ? (double)g->ex.sat_lo : INFINITY;
}
