/* The basin area of a peak (docs/ALGORITHMS.md 3.6): the taxels
 * 8-connected to it at or above a level, on the padded copy of the frame
 * that km_persistence leaves (a border of -inf).
 *
 * Where the padded rows fit 64 bits (cols <= 62) the region grows by rows
 * of bits: row r of the level set is one word (bit c: taxel (r, c) at or
 * above the level), made only for the rows the region comes near, and
 * the reached set is grown by sweeps down and up the rows, each row
 * taking (the rows above, below and itself, shifted one column either
 * way) within its level set, until a sweep both ways changes nothing:
 * the 8-connected component of the start.  A few dozen word operations
 * per row and sweep, where the queue below spends about a dozen
 * dependent instructions per neighbour of every taxel it reaches
 * (bench/HISTORY.md "Session 43 (speed19)").  Both give the same count:
 * the same set. */
#include <float.h>
#include <math.h>

#include "detect_internal.h"
#include "prominence.h"

/* Words of a search by bits: padded rows -2 .. BASIN_ROWS - 3 (guard
   words around the rows made); a region reaching further is searched by
   the queue. */
#define BASIN_ROWS 256

/* The queue: every taxel's neighbours tested and joined, any width. */
static int32_t basin_queue(const float *pad, uint32_t w, uint32_t p, double level,
                           uint32_t *stamp, uint32_t stamp_value, uint32_t *queue)
{
    const uint32_t off[8] = {0u - w - 1u, 0u - w, 0u - w + 1u, 0u - 1u, 1u, w - 1u, w, w + 1u};
    size_t head = 0, tail = 0;
    queue[tail++] = p;
    stamp[p] = stamp_value;
    /* Branch-free: whether a neighbour joins is data (a coin toss to the
       predictor), so every neighbour is stamped and written at the queue's
       end, which advances only when it joins.  Stamping one below the
       level is harmless: the level is fixed for the call, so it could
       never join.  The write past the last entry is why the queue holds
       one more. */
    while (head < tail) {
        uint32_t t = queue[head++];
        for (int j = 0; j < 8; j++) {
            uint32_t q = t + off[j];
            size_t joins = (size_t)(stamp[q] != stamp_value) & (size_t)((double)pad[q] >= level);
            stamp[q] = stamp_value;
            queue[tail] = q;
            tail += joins;
        }
    }
    return (int32_t)tail;
}

/* The smallest float f with (double)f >= level (level above -inf, not
   NaN): for every float v, v >= it exactly when (double)v >= level. */
static float float_at_or_above(double level)
{
    if (level > (double)FLT_MAX)
        return INFINITY;
    float g = (float)level;
    return (double)g < level ? nextafterf(g, INFINITY) : g;
}

/* Row r's level set: bit c set where row[c] >= thr, c < w <= 64. */
static uint64_t level_bits_portable(const float *row, uint32_t w, float thr)
{
    uint64_t m = 0;
    for (uint32_t c = 0; c < w; c++)
        m |= (uint64_t)(row[c] >= thr) << c;
    return m;
}

#if KM_HAVE_AVX2_TARGET
/* The same bits eight columns at a time, the last one to seven by a
   masked load (its lanes past w read 0.0, which may be >= thr: their bits
   are cleared). */
__attribute__((target("avx2"), always_inline)) static inline uint64_t
level_bits_avx2(const float *row, uint32_t w, float thr)
{
    const __m256 t = _mm256_set1_ps(thr);
    uint64_t m = 0;
    uint32_t c = 0;
    for (; c + 8 <= w; c += 8)
        m |= (uint64_t)(uint32_t)_mm256_movemask_ps(
                 _mm256_cmp_ps(_mm256_loadu_ps(row + c), t, _CMP_GE_OQ))
             << c;
    if (c < w) {
        __m256i live = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(w - c)),
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        uint32_t b = (uint32_t)_mm256_movemask_ps(
            _mm256_cmp_ps(_mm256_maskload_ps(row + c, live), t, _CMP_GE_OQ));
        m |= (uint64_t)(b & ((1u << (w - c)) - 1u)) << c;
    }
    return m;
}
#endif

/* A row's reached taxels from the reached ones of its own row and the two
   beside it (u, their union) within its level set lv: u one column either
   way, then along the runs of lv towards higher columns at once (an
   addition carries a seed's bit to the end of its run: (lv + s) ^ lv
   holds the run from the lowest seed up to one past its end). */
static inline uint64_t grow(uint64_t u, uint64_t lv)
{
    uint64_t s = (u | u << 1 | u >> 1) & lv;
    return (((lv + s) ^ lv) | s) & lv;
}

#if KM_HAVE_AVX2_TARGET
__attribute__((target("avx2"))) static uint64_t level_bits_avx2_call(const float *row, uint32_t w,
                                                                    float thr)
{
    return level_bits_avx2(row, w, thr);
}
#endif

uint64_t km_level_bits(const float *row, uint32_t w, float thr, int avx2)
{
#if KM_HAVE_AVX2_TARGET
    if (avx2)
        return level_bits_avx2_call(row, w, thr);
#else
    (void)avx2;
#endif
    return level_bits_portable(row, w, thr);
}

typedef uint64_t (*level_bits_fn)(const float *row, uint32_t w, float thr);

/* The search by bits (w <= 64); -1 when the region comes near the end of
   the words (the caller then uses the queue).  Padded row r's level set
   is lv[r], its reached taxels rc[r] (both offset by two words); rows
   [lo, hi] hold the reached ones, rows [lo - 1, hi + 1] have their level
   set made and rc is zero on [lo - 3, hi + 3] outside [lo, hi].  A row whose level set
   is empty is never reached, so its neighbours' words are never needed:
   no row past the border is made. */
__attribute__((always_inline)) static inline int32_t
basin_bits(const float *pad, uint32_t w, uint32_t p, float thr, level_bits_fn level_bits)
{
    uint64_t lvb[BASIN_ROWS], rcb[BASIN_ROWS];
    uint64_t *lv = lvb + 2, *rc = rcb + 2;
    int32_t sr = (int32_t)(p / w), sc = (int32_t)(p % w);
    if (sr + 5 >= BASIN_ROWS)
        return -1;
    for (int32_t r = sr - 1; r <= sr + 1; r++)
        lv[r] = level_bits(pad + (size_t)r * w, w, thr);
    rc[sr - 3] = rc[sr - 2] = rc[sr - 1] = rc[sr + 1] = rc[sr + 2] = rc[sr + 3] = 0;
    lv[sr] |= (uint64_t)1 << sc; /* the start counts whatever its value */
    rc[sr] = (uint64_t)1 << sc;
    int32_t lo = sr, hi = sr;
    /* A sweep over rows lo - 1 .. hi + 1 that changes none leaves every
       row as its neighbours make it: the region is whole. */
    for (int down = 1;; down = !down) {
        int changed = 0;
        int32_t first = down ? lo - 1 : hi + 1, last = down ? hi + 1 : lo - 1, step = down ? 1 : -1;
        for (int32_t r = first; r != last + step; r += step) {
            uint64_t t = grow(rc[r - 1] | rc[r] | rc[r + 1], lv[r]);
            if (t == rc[r])
                continue;
            rc[r] = t;
            changed = 1;
            /* A new row: its level set is not empty, so the row past it
               exists (the border's is empty). */
            if (r > hi) {
                if (r + 5 >= BASIN_ROWS)
                    return -1;
                hi = r;
                lv[r + 1] = level_bits(pad + (size_t)(r + 1) * w, w, thr);
                rc[r + 3] = 0;
                last += down; /* the sweep down goes on past it */
            } else if (r < lo) {
                lo = r;
                lv[r - 1] = level_bits(pad + (size_t)(r - 1) * w, w, thr);
                rc[r - 3] = 0;
                last -= !down;
            }
        }
        if (!changed)
            break;
    }
    int32_t n = 0;
    for (int32_t r = lo; r <= hi; r++)
        n += __builtin_popcountll(rc[r]);
    return n;
}

static int32_t basin_bits_portable(const float *pad, uint32_t w, uint32_t p, float thr)
{
    return basin_bits(pad, w, p, thr, level_bits_portable);
}

#if KM_HAVE_AVX2_TARGET
__attribute__((target("avx2,popcnt"))) static int32_t basin_bits_avx2(const float *pad,
                                                                      uint32_t w, uint32_t p,
                                                                      float thr)
{
    return basin_bits(pad, w, p, thr, level_bits_avx2);
}
#endif

/* Whether none of p's eight neighbours is at or above thr: the region is
   p alone (half the peaks of a noisy mat, a quarter of a roller's).  Eight
   compares and no branch, where a search makes its rows and sweeps. */
static inline int alone(const float *pad, uint32_t w, uint32_t p, float thr)
{
    const float *u = pad + p - w, *m = pad + p, *d = pad + p + w;
    return ((u[-1] >= thr) | (u[0] >= thr) | (u[1] >= thr) | (m[-1] >= thr) | (m[1] >= thr) |
            (d[-1] >= thr) | (d[0] >= thr) | (d[1] >= thr)) == 0;
}

int32_t km_basin_area(const float *pad, int32_t cols, uint32_t start, double level,
                      uint32_t *stamp, uint32_t stamp_value, uint32_t *queue, int avx2)
{
    uint32_t w = (uint32_t)cols + 2u, p = km_padded_at(start, cols);
    if (level > -INFINITY && alone(pad, w, p, float_at_or_above(level)))
        return 1;
    if (w <= 64u && level > -INFINITY) {
        float thr = float_at_or_above(level);
        int32_t n;
#if KM_HAVE_AVX2_TARGET
        n = avx2 ? basin_bits_avx2(pad, w, p, thr) : basin_bits_portable(pad, w, p, thr);
#else
        (void)avx2;
        n = basin_bits_portable(pad, w, p, thr);
#endif
        if (n >= 0)
            return n;
    }
    return basin_queue(pad, w, p, level, stamp, stamp_value, queue);
}
