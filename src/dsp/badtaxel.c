/* Dead, stuck and hot taxels (spikes, and steady offsets read while the
 * neighbourhood is unloaded) from a warm-up block, and filling masked
 * taxels from their neighbours (docs/ALGORITHMS.md 11). */
#include <float.h>
#include <math.h>
#include <string.h>

#include "dsp_internal.h"
#include "internal.h"
#include "neighbour_median.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if KM_AVX2_TARGET
#include <immintrin.h>
#endif

struct km_badtaxel {
    km_alloc_ref ref;
    km_badtaxel_params p;
    int32_t rows, cols;
    int64_t frames;
    uint8_t *mask;             /* source mask */
    float *lo, *hi;            /* range over the block */
    int32_t *hot;              /* frames in which the taxel was an isolated spike */
    /* offset test: per taxel over the frames with an unloaded neighbourhood */
    int32_t *n_unl, *n_pos;    /* such frames; those with a positive excess */
    int32_t *n_emp, *n_emp_pos; /* the same over empty frames (nothing loaded) */
    int32_t *n_knot;           /* such frames in which it was part of a load */
    uint8_t *nb_count;         /* a frame's km_neighbour_count_half */
    double *ex_sum, *ex_sq;    /* sum and sum of squares of the excess */
    float *scratch;            /* rows*cols: the frame's neighbour maxima (hot test),
                                  its values for its quantiles, then its neighbour
                                  medians */
    float *prev;               /* the previous frame (frame-to-frame noise) */
    double step;               /* smallest change of a taxel between two frames
                                  (> 0; +inf when none): the sensor's quantum */
    double top;                /* largest 99th percentile of a frame so far */
    double floor_min;          /* the lowest floor (10th percentile) of a frame so far */
};

/* An offset below this share of the loads the sheet reads (the largest
   99th percentile of a frame in the block) is not called one: it cannot
   stand out of the per-taxel gain pattern of a few percent of the load,
   and a sheet's smallest counts (a real mat's 1-2 counts in 500) stay
   healthy. */
#define OFFSET_MIN_SHARE 0.02

/* A steady load is no offset: a taxel is part of a load's footprint in a
   frame when KNOT_FOOTPRINT of its neighbours read more than halfway from
   the floor up to it.  A bare knot's diagonal neighbour has its neighbours'
   median unloaded (five of them lie further out) but the knot and the two
   taxels beside it above; a small knot's centre has its footprint around
   it.  An offset taxel's neighbours read the floor (two offset taxels side
   by side see one), or a moving load's edge that passes. */
#define KNOT_FOOTPRINT 3

void km_badtaxel_params_default(km_badtaxel_params *p)
{
    if (p == NULL)
        return;
    p->flat_range = 0.0;
    p->dead_level = 0.0;
    p->active_range = 0.0;
    p->hot_ratio = 4.0;
    p->offset_sigmas = 3.0;
    p->unload_sigmas = 8.0;
}

void km_badtaxel_free(km_badtaxel *b)
{
    if (b == NULL)
        return;
    km_alloc_ref ref = b->ref;
    km_ref_free(&ref, b->mask);
    km_ref_free(&ref, b->lo);
    km_ref_free(&ref, b->hi);
    km_ref_free(&ref, b->hot);
    km_ref_free(&ref, b->n_unl);
    km_ref_free(&ref, b->n_pos);
    km_ref_free(&ref, b->n_emp);
    km_ref_free(&ref, b->n_emp_pos);
    km_ref_free(&ref, b->n_knot);
    km_ref_free(&ref, b->nb_count);
    km_ref_free(&ref, b->ex_sum);
    km_ref_free(&ref, b->ex_sq);
    km_ref_free(&ref, b->scratch);
    km_ref_free(&ref, b->prev);
    km_ref_free(&ref, b);
}

km_status km_badtaxel_create(km_ctx *ctx, int32_t rows, int32_t cols, const uint8_t *mask,
                             const km_badtaxel_params *p, km_badtaxel **out)
{
    km_status st;
    km_badtaxel *b = NULL;
    size_t n;

    if (out == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "bad taxels: out is NULL");
    *out = NULL;
    if ((st = km_check_shape(ctx, rows, cols, "bad-taxel grid")) != KM_OK)
        return st;
    if (p != NULL && (!(p->flat_range >= 0.0) || !(p->dead_level >= 0.0) ||
                      !(p->active_range >= 0.0) || !(p->hot_ratio >= 0.0) ||
                      !(p->offset_sigmas >= 0.0) || !(p->unload_sigmas >= 0.0)))
        return km_fail(ctx, KM_ERR_INVALID,
                       "bad taxels: flat_range, dead_level, active_range, hot_ratio, "
                       "offset_sigmas and unload_sigmas must be >= 0");
    n = (size_t)rows * (size_t)cols;
    b = km_calloc(ctx, 1, sizeof *b);
    if (b == NULL)
        return KM_ERR_NOMEM;
    b->ref = km_ctx_alloc_ref(ctx);
    if (p != NULL)
        b->p = *p;
    else
        km_badtaxel_params_default(&b->p);
    b->rows = rows;
    b->cols = cols;
    b->floor_min = INFINITY;
    b->step = INFINITY;
    b->mask = km_alloc(ctx, n);
    b->lo = km_alloc(ctx, n * sizeof *b->lo);
    b->hi = km_alloc(ctx, n * sizeof *b->hi);
    b->hot = km_calloc(ctx, n, sizeof *b->hot);
    b->n_unl = km_calloc(ctx, n, sizeof *b->n_unl);
    b->n_pos = km_calloc(ctx, n, sizeof *b->n_pos);
    b->n_emp = km_calloc(ctx, n, sizeof *b->n_emp);
    b->n_emp_pos = km_calloc(ctx, n, sizeof *b->n_emp_pos);
    b->n_knot = km_calloc(ctx, n, sizeof *b->n_knot);
    b->nb_count = km_alloc(ctx, n);
    b->ex_sum = km_calloc(ctx, n, sizeof *b->ex_sum);
    b->ex_sq = km_calloc(ctx, n, sizeof *b->ex_sq);
    b->scratch = km_alloc(ctx, n * sizeof *b->scratch);
    b->prev = km_alloc(ctx, n * sizeof *b->prev);
    if (b->mask == NULL || b->lo == NULL || b->hi == NULL || b->hot == NULL ||
        b->n_unl == NULL || b->n_pos == NULL || b->n_emp == NULL || b->n_emp_pos == NULL ||
        b->ex_sum == NULL || b->ex_sq == NULL || b->n_knot == NULL || b->nb_count == NULL ||
        b->scratch == NULL || b->prev == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    if (mask != NULL)
        memcpy(b->mask, mask, n);
    else
        memset(b->mask, 1, n);
    *out = b;
    b = NULL;
    st = KM_OK;
done:
    km_badtaxel_free(b);
    return st;
}

static float median_small(float *a, int n)
{
    for (int i = 1; i < n; i++) {
        float x = a[i];
        int j = i - 1;
        while (j >= 0 && a[j] > x) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = x;
    }
    return n % 2 ? a[n / 2] : 0.5f * (a[n / 2 - 1] + a[n / 2]);
}

size_t km_gather_usable_plain(const uint8_t *mask, const float *f, const float *prev, size_t n,
                              float *out, size_t k0, size_t m)
{
    for (size_t k = k0; k < n; k++)
        if (mask[k] && isfinite(f[k]) && (prev == NULL || isfinite(prev[k])))
            out[m++] = prev == NULL ? f[k] : fabsf(f[k] - prev[k]);
    return m;
}

#if KM_AVX2_TARGET
/* km_gather_usable eight taxels at a time where all eight are taken (the
   common case: a sheet's taxels are on it and finite), else one by one;
   the same values in the same order.  *k0 = the first taxel not done. */
__attribute__((target("avx2"))) static size_t gather_avx2(const uint8_t *mask, const float *f,
                                                          const float *prev, size_t n,
                                                          float *out, size_t *k0)
{
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 big = _mm256_set1_ps(FLT_MAX);
    size_t k = 0, m = 0;
    for (; k + 8 <= n; k += 8) {
        __m256 x = _mm256_loadu_ps(f + k);
        __m256 ok = _mm256_cmp_ps(_mm256_and_ps(x, absmask), big, _CMP_LE_OQ);
        if (prev != NULL) {
            __m256 p = _mm256_loadu_ps(prev + k);
            ok = _mm256_and_ps(ok, _mm256_cmp_ps(_mm256_and_ps(p, absmask), big, _CMP_LE_OQ));
            x = _mm256_and_ps(_mm256_sub_ps(x, p), absmask);
        }
        int64_t mb;
        memcpy(&mb, mask + k, sizeof mb);
        if (mb == 0x0101010101010101LL && _mm256_movemask_ps(ok) == 0xff) {
            _mm256_storeu_ps(out + m, x); /* m <= k: inside out's n floats */
            m += 8;
        } else {
            m = km_gather_usable_plain(mask, f, prev, k + 8, out, k, m);
        }
    }
    *k0 = k;
    return m;
}
#endif

size_t km_gather_usable(const uint8_t *mask, const float *f, const float *prev, size_t n,
                        float *out)
{
    size_t k = 0, m = 0;
#if KM_AVX2_TARGET
    if (km_cpu_avx2())
        m = gather_avx2(mask, f, prev, n, out, &k);
#endif
    return km_gather_usable_plain(mask, f, prev, n, out, k, m);
}

/* The sensor's frame-to-frame noise in frame f: 1.4826 MAD of the
   changes since the previous frame over sqrt 2 (over the valid, finite
   taxels; most taxels hold still or only jitter between two frames, so
   the median ignores the load moving); NaN when there is no previous frame
   or too few taxels.  The smallest change that is not 0 lowers b->step
   (the quantum of a sensor that reads counts). */
static double frame_noise(km_badtaxel *b, const float *f)
{
    size_t n = (size_t)b->rows * (size_t)b->cols;
    if (b->frames == 0)
        return NAN;
    size_t md = km_gather_usable(b->mask, f, b->prev, n, b->scratch);
    float step = km_min_positive_f(b->scratch, md);
    if ((double)step < b->step)
        b->step = (double)step;
    if (md < 9)
        return NAN;
    return 1.4826 * (double)km_select_kth_bf(b->scratch, md, md / 2) / sqrt(2.0);
}

/* The unloaded level of frame f: its 10th percentile (the floor) plus
   unload_sigmas times the sensor's frame-to-frame noise sd (frame_noise).
   A level in noise units, not a share
   of the load: a light real load at the edge of a body lying still (a few
   counts, steady) stands many noise sd above a floor that reads exactly
   0, and is never taken for unloaded.  *empty = the frame's 95th
   percentile is unloaded too (nothing on the sheet: before the user lies
   down, a lift).  NaN when sd is NaN or there are too few taxels. */
static double unloaded_level(km_badtaxel *b, const float *f, double sd, int *empty,
                             double *floor_out)
{
    size_t n = (size_t)b->rows * (size_t)b->cols, m = 0;
    *empty = 0;
    if (isnan(sd))
        return NAN;
    m = km_gather_usable(b->mask, f, NULL, n, b->scratch);
    if (m < 9)
        return NAN;
    /* The 10th, 95th and 99th percentiles in turn: a selection leaves the
       values partitioned about the one it picks (km_select_kth_f), so each
       next one is picked among the values above the last. */
    size_t k10 = m / 10, k95 = (m - 1) * 95 / 100, k99 = (m - 1) * 99 / 100;
    double floor = (double)km_select_kth_bf(b->scratch, m, k10);
    double level = floor + b->p.unload_sigmas * sd;
    *floor_out = floor;
    float p95 = km_select_above_f(b->scratch, m, k10, k95);
    *empty = (double)p95 <= level;
    double top = (double)km_select_above_f(b->scratch, m, k95, k99) - floor;
    if (top > b->top)
        b->top = top;
    return level;
}

#if defined(__SSE2__)
/* Four 32-bit lanes from the low halves of two 64-bit masks. */
static inline __m128i pack64(__m128d lo, __m128d hi)
{
    return _mm_castps_si128(
        _mm_shuffle_ps(_mm_castpd_ps(lo), _mm_castpd_ps(hi), _MM_SHUFFLE(2, 0, 2, 0)));
}

/* mask[k..k+3] != 0 as 32-bit lanes. */
static inline __m128i mask4(const uint8_t *mask)
{
    int32_t mb;
    memcpy(&mb, mask, sizeof mb);
    const __m128i zero = _mm_setzero_si128();
    __m128i m32 = _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(mb), zero), zero);
    return _mm_andnot_si128(_mm_cmpeq_epi32(m32, zero), _mm_set1_epi32(-1));
}
#endif

/* offset_add's sums over taxels k0.. (the plain form of offset_sums). */
static void offset_sums_plain(km_badtaxel *b, const float *f, double level, int32_t empty,
                              size_t k0)
{
    size_t n = (size_t)b->rows * (size_t)b->cols;
    for (size_t k = k0; k < n; k++) {
        float nb = b->scratch[k];
        if (!b->mask[k] || !isfinite(f[k]) || !((double)nb <= level))
            continue;
        double e = (double)f[k] - (double)nb;
        b->n_unl[k]++;
        b->n_pos[k] += e > 0.0;
        b->n_emp[k] += empty;
        b->n_emp_pos[k] += empty && e > 0.0;
        b->ex_sum[k] += e;
        b->ex_sq[k] += e * e;
        b->n_knot[k] += b->nb_count[k] >= KNOT_FOOTPRINT;
    }
}

/* Where a taxel's neighbour median (scratch) is unloaded (<= level), its
   excess over it into the sums, and a frame in which it was part of a
   load's footprint (nb_count) into n_knot; four taxels at a time without a
   branch: a taxel not taken adds +0.0 to its sums, which keeps their bits
   (they start at +0.0 and a sum never becomes -0.0). */
static void offset_sums(km_badtaxel *b, const float *f, double level, int empty)
{
    size_t k = 0;
#if defined(__SSE2__)
    size_t n = (size_t)b->rows * (size_t)b->cols;
    const __m128 absmask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
    const __m128d lev = _mm_set1_pd(level), zero = _mm_setzero_pd();
    const __m128i emp = _mm_set1_epi32(empty ? -1 : 0);
    const __m128i foot = _mm_set1_epi32(KNOT_FOOTPRINT - 1);
    for (; k + 4 <= n; k += 4) {
        __m128 x = _mm_loadu_ps(f + k), nb = _mm_loadu_ps(b->scratch + k);
        __m128d xl = _mm_cvtps_pd(x), xh = _mm_cvtps_pd(_mm_movehl_ps(x, x));
        __m128d nl = _mm_cvtps_pd(nb), nh = _mm_cvtps_pd(_mm_movehl_ps(nb, nb));
        __m128i fin = _mm_castps_si128(_mm_cmplt_ps(_mm_and_ps(x, absmask), _mm_set1_ps(INFINITY)));
        __m128i take = _mm_and_si128(_mm_and_si128(mask4(b->mask + k), fin),
                                     pack64(_mm_cmple_pd(nl, lev), _mm_cmple_pd(nh, lev)));
        __m128d el = _mm_and_pd(_mm_sub_pd(xl, nl), _mm_castsi128_pd(_mm_unpacklo_epi32(take, take)));
        __m128d eh = _mm_and_pd(_mm_sub_pd(xh, nh), _mm_castsi128_pd(_mm_unpackhi_epi32(take, take)));
        __m128i pos = pack64(_mm_cmpgt_pd(el, zero), _mm_cmpgt_pd(eh, zero));
        __m128i *nu = (__m128i *)(b->n_unl + k), *np = (__m128i *)(b->n_pos + k);
        __m128i *ne = (__m128i *)(b->n_emp + k), *nep = (__m128i *)(b->n_emp_pos + k);
        _mm_storeu_si128(nu, _mm_sub_epi32(_mm_loadu_si128(nu), take));
        _mm_storeu_si128(np, _mm_sub_epi32(_mm_loadu_si128(np), pos));
        _mm_storeu_si128(ne, _mm_sub_epi32(_mm_loadu_si128(ne), _mm_and_si128(take, emp)));
        _mm_storeu_si128(nep, _mm_sub_epi32(_mm_loadu_si128(nep), _mm_and_si128(pos, emp)));
        int32_t cb;
        memcpy(&cb, b->nb_count + k, sizeof cb);
        __m128i cnt = _mm_unpacklo_epi16(
            _mm_unpacklo_epi8(_mm_cvtsi32_si128(cb), _mm_setzero_si128()), _mm_setzero_si128());
        __m128i *nk = (__m128i *)(b->n_knot + k);
        _mm_storeu_si128(nk, _mm_sub_epi32(_mm_loadu_si128(nk),
                                           _mm_and_si128(take, _mm_cmpgt_epi32(cnt, foot))));
        double *sum = b->ex_sum + k, *sq = b->ex_sq + k;
        _mm_storeu_pd(sum, _mm_add_pd(_mm_loadu_pd(sum), el));
        _mm_storeu_pd(sum + 2, _mm_add_pd(_mm_loadu_pd(sum + 2), eh));
        _mm_storeu_pd(sq, _mm_add_pd(_mm_loadu_pd(sq), _mm_mul_pd(el, el)));
        _mm_storeu_pd(sq + 2, _mm_add_pd(_mm_loadu_pd(sq + 2), _mm_mul_pd(eh, eh)));
    }
#endif
    offset_sums_plain(b, f, level, empty, k);
}

/* The hot test's count over taxels k0.. (the plain form of hot_count). */
static void hot_count_plain(km_badtaxel *b, const float *frame, size_t k0)
{
    size_t n = (size_t)b->rows * (size_t)b->cols;
    for (size_t k = k0; k < n; k++) {
        float v = frame[k];
        if (!b->mask[k] || !(v > 0.0f))
            continue;
        float m = b->scratch[k];
        if (m > -INFINITY && (double)v > b->p.hot_ratio * (m > 0.0f ? m : 0.0f))
            b->hot[k]++;
    }
}

/* hot[k] += 1 where the valid taxel k reads more than hot_ratio times its
   largest counted neighbour (scratch, -inf when none; a negative one as
   0); four taxels at a time without a branch. */
static void hot_count(km_badtaxel *b, const float *frame)
{
    size_t k = 0;
#if defined(__SSE2__)
    size_t n = (size_t)b->rows * (size_t)b->cols;
    const __m128 zero = _mm_setzero_ps();
    const __m128d ratio = _mm_set1_pd(b->p.hot_ratio);
    for (; k + 4 <= n; k += 4) {
        __m128 v = _mm_loadu_ps(frame + k), m = _mm_loadu_ps(b->scratch + k);
        __m128 mp = _mm_and_ps(m, _mm_cmpgt_ps(m, zero));
        __m128d tl = _mm_mul_pd(ratio, _mm_cvtps_pd(mp));
        __m128d th = _mm_mul_pd(ratio, _mm_cvtps_pd(_mm_movehl_ps(mp, mp)));
        __m128i over = pack64(_mm_cmpgt_pd(_mm_cvtps_pd(v), tl),
                              _mm_cmpgt_pd(_mm_cvtps_pd(_mm_movehl_ps(v, v)), th));
        __m128i ok = _mm_and_si128(
            mask4(b->mask + k),
            _mm_castps_si128(_mm_and_ps(_mm_cmpgt_ps(v, zero),
                                        _mm_cmpgt_ps(m, _mm_set1_ps(-INFINITY)))));
        __m128i *h = (__m128i *)(b->hot + k);
        _mm_storeu_si128(h, _mm_sub_epi32(_mm_loadu_si128(h), _mm_and_si128(ok, over)));
    }
#endif
    hot_count_plain(b, frame, k);
}

/* The offset test's statistics of one frame: where a taxel's neighbours'
   median is unloaded (unloaded_level), its excess over that median, and
   apart the frames in which the whole sheet is empty.  A healthy taxel
   reads the same floor and noise as its neighbours there. */
static void offset_add(km_badtaxel *b, const float *f, double sd)
{
    size_t n = (size_t)b->rows * (size_t)b->cols;
    int empty;
    double floor = NAN, level = unloaded_level(b, f, sd, &empty, &floor);
    if (!isfinite(level))
        return;
    /* The floor is the sheet's unloaded reading only at the lowest of the
       block: a body covering the whole sheet (a seat, a pad smaller than
       the body, a roller's full width, the load coming on) raises it, and
       a taxel under a small knot would then stand above "unloaded"
       neighbours that carry the body.  A frame whose floor stands more
       than the unload margin above the lowest so far is not taken; a
       floor lower by more than that starts the sums again. */
    if (floor > b->floor_min + (level - floor))
        return;
    if (floor < b->floor_min - (level - floor)) {
        memset(b->n_unl, 0, n * sizeof *b->n_unl);
        memset(b->n_pos, 0, n * sizeof *b->n_pos);
        memset(b->n_emp, 0, n * sizeof *b->n_emp);
        memset(b->n_emp_pos, 0, n * sizeof *b->n_emp_pos);
        memset(b->n_knot, 0, n * sizeof *b->n_knot);
        memset(b->ex_sum, 0, n * sizeof *b->ex_sum);
        memset(b->ex_sq, 0, n * sizeof *b->ex_sq);
    }
    if (floor < b->floor_min)
        b->floor_min = floor;
    /* The median of every taxel's valid, finite 8-neighbours (NaN when
       none), into scratch: unloaded_level is done with it. */
    km_neighbour_medians(b->rows, b->cols, b->mask, f, b->scratch);
    km_neighbour_count_half(b->rows, b->cols, b->mask, f, floor, b->nb_count);
    offset_sums(b, f, level, empty);
}

km_status km_badtaxel_add(km_ctx *ctx, km_badtaxel *b, const float *frame)
{
    if (b == NULL || frame == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "bad taxels: NULL frame");
    size_t n = (size_t)b->rows * (size_t)b->cols;
    if (b->frames == 0) {
        memcpy(b->lo, frame, n * sizeof *frame);
        memcpy(b->hi, frame, n * sizeof *frame);
    } else {
        /* NaN never narrows or widens the range (written as min/max). */
        for (size_t k = 0; k < n; k++) {
            float v = frame[k];
            b->lo[k] = v < b->lo[k] ? v : b->lo[k];
            b->hi[k] = v > b->hi[k] ? v : b->hi[k];
        }
    }
    if (b->p.hot_ratio > 0.0) {
        /* Every taxel's largest valid, finite neighbour (-inf when none),
           into scratch: offset_add below refills it. */
        km_neighbour_maxes(b->rows, b->cols, b->mask, frame, b->scratch);
        hot_count(b, frame);
    }
    double sd = frame_noise(b, frame);
    if (b->p.offset_sigmas > 0.0)
        offset_add(b, frame, sd);
    memcpy(b->prev, frame, n * sizeof *frame);
    b->frames++;
    return KM_OK;
}

/* A flat taxel (range <= flat_range) is dead or stuck when its neighbours
   move (median range above active_range); among flat neighbours it is an
   unloaded region, not a fault: KM_TAXEL_OK.  Stuck (flat away from 0)
   needs more: neighbours that move by more than STUCK_STEPS quanta of the
   sensor (b->step), or a value STUCK_RATIO times above what they read (the
   median of their maxima, plus those quanta; or as far below the median
   of their minima): a load's own slope never stands that far from its
   neighbours.  On a sensor that reads counts, a loaded taxel under a
   body lying still can read one count for the whole warm-up while its
   neighbours flip between two counts (tests/unit/test_badtaxel.c
   quantised_still_body_is_not_stuck); a stuck taxel's neighbours carry a
   moving load, or read the unloaded floor far below it (a roller that has
   not yet reached it).  On a sensor that reads floats the quantum is tiny
   and the rule is the one before. */
#define STUCK_STEPS 3.0
#define STUCK_RATIO 4.0 /* the hot rule's default hot_ratio */
static uint8_t flat_state(const km_badtaxel *b, int32_t r, int32_t c)
{
    float nb[8], nlo[8], nhi[8];
    int m = 0;
    size_t k = (size_t)r * (size_t)b->cols + (size_t)c;
    for (int32_t dr = -1; dr <= 1; dr++)
        for (int32_t dc = -1; dc <= 1; dc++) {
            int32_t rr = r + dr, cc = c + dc;
            if ((dr == 0 && dc == 0) || rr < 0 || rr >= b->rows || cc < 0 || cc >= b->cols)
                continue;
            size_t q = (size_t)rr * (size_t)b->cols + (size_t)cc;
            if (b->mask[q]) {
                nlo[m] = b->lo[q];
                nhi[m] = b->hi[q];
                nb[m++] = b->hi[q] - b->lo[q];
            }
        }
    double moved = m > 0 ? (double)median_small(nb, m) : NAN;
    if (!(moved > b->p.active_range))
        return KM_TAXEL_OK;
    double level = fmax(fabs((double)b->lo[k]), fabs((double)b->hi[k]));
    if (level <= b->p.dead_level)
        return KM_TAXEL_DEAD;
    double q = STUCK_STEPS * b->step;
    int apart = (double)b->lo[k] > STUCK_RATIO * (double)median_small(nhi, m) + q ||
                STUCK_RATIO * ((double)b->hi[k] + q) < (double)median_small(nlo, m);
    return moved > q || apart ? KM_TAXEL_STUCK : KM_TAXEL_OK;
}

/* Over the taxels with enough frames of an unloaded neighbourhood (at
   least 10 and a fifth of the block): mean[i] and dev[i] (standard
   deviation) of each one's excess over its neighbours' median; *m of them
   (both arrays hold rows*cols). */
static size_t unloaded_stats(const km_badtaxel *b, double *mean, double *dev)
{
    size_t n = (size_t)b->rows * (size_t)b->cols, m = 0;
    int64_t min_n = b->frames / 5 > 10 ? b->frames / 5 : 10;
    for (size_t k = 0; k < n; k++) {
        double cnt = (double)b->n_unl[k];
        if (!b->mask[k] || b->n_unl[k] < min_n)
            continue;
        double mu = b->ex_sum[k] / cnt;
        mean[m] = mu;
        dev[m++] = sqrt(fmax(0.0, b->ex_sq[k] - cnt * mu * mu) / (cnt - 1.0));
    }
    return m;
}

/* unloaded_stats in arrays of its own (*mean, *dev: km_free them, also on
   failure) and the noise: the median of the m deviations, NaN when m < 9
   (too few taxels to say what is usual).  *dev is reordered. */
static km_status unloaded_noise(km_ctx *ctx, const km_badtaxel *b, double **mean, double **dev,
                                size_t *m, double *noise)
{
    size_t n = (size_t)b->rows * (size_t)b->cols;
    *noise = NAN;
    *m = 0;
    *mean = km_alloc(ctx, n * sizeof **mean);
    *dev = km_alloc(ctx, n * sizeof **dev);
    if (*mean == NULL || *dev == NULL)
        return KM_ERR_NOMEM;
    *m = unloaded_stats(b, *mean, *dev);
    if (*m >= 9)
        *noise = km_select_kth_d(*dev, *m, *m / 2);
    return KM_OK;
}

/* Offset taxels: off[k] = the offset (the taxel's mean excess over the
   median taxel's), 0 when the taxel is not one.  Over the taxels of
   unloaded_stats: the noise is the median of their excesses' standard
   deviations, the spread 1.4826 MAD of their mean excesses (a fixed
   pattern a real sheet may have); a taxel is an offset when its excess
   was positive in at least 90% of those frames (steady, not a spike), and
   of the empty frames among them (an offset is read with nothing on the
   sheet; a light load at the edge of a body is not), it was not part of
   a steady load's footprint (KNOT_FOOTPRINT in 90% of them), and its mean stands
   more than offset_sigmas times the larger of the two above the median
   mean (and OFFSET_MIN_SHARE of the loads). */
static km_status offset_decide(km_ctx *ctx, const km_badtaxel *b, float *off)
{
    size_t n = (size_t)b->rows * (size_t)b->cols, m = 0;
    int64_t min_n = b->frames / 5 > 10 ? b->frames / 5 : 10;
    double *mean = NULL, *dev = NULL, noise;
    km_status st = unloaded_noise(ctx, b, &mean, &dev, &m, &noise);
    if (st != KM_OK || isnan(noise))
        goto done;
    double mid = km_select_kth_d(mean, m, m / 2);
    for (size_t i = 0; i < m; i++)
        dev[i] = fabs(mean[i] - mid);
    double spread = 1.4826 * km_select_kth_d(dev, m, m / 2);
    double t = fmax(b->p.offset_sigmas * fmax(noise, spread), OFFSET_MIN_SHARE * b->top);
    for (size_t k = 0; k < n; k++) {
        double cnt = (double)b->n_unl[k];
        double x = cnt > 0.0 ? b->ex_sum[k] / cnt - mid : 0.0;
        int is = b->mask[k] && b->n_unl[k] >= min_n &&
                 10 * (int64_t)b->n_pos[k] >= 9 * (int64_t)b->n_unl[k] &&
                 10 * (int64_t)b->n_emp_pos[k] >= 9 * (int64_t)b->n_emp[k] &&
                 10 * (int64_t)b->n_knot[k] < 9 * (int64_t)b->n_unl[k] && x > t;
        off[k] = is ? (float)x : 0.0f;
    }
done:
    km_free(ctx, mean);
    km_free(ctx, dev);
    return st;
}

km_status km_badtaxel_decide(km_ctx *ctx, const km_badtaxel *b, uint8_t *state,
                             uint8_t *mask_out, int32_t *n_bad)
{
    km_status st = KM_OK;
    float *offset = NULL;
    if (b == NULL || mask_out == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "bad taxels: NULL argument to decide");
    size_t n = (size_t)b->rows * (size_t)b->cols;
    int32_t bad = 0;
    if (b->p.offset_sigmas > 0.0 && b->frames > 0) {
        if ((offset = km_calloc(ctx, n, sizeof *offset)) == NULL)
            return KM_ERR_NOMEM;
        if ((st = offset_decide(ctx, b, offset)) != KM_OK)
            goto done;
    }
    for (int32_t r = 0; r < b->rows; r++)
        for (int32_t c = 0; c < b->cols; c++) {
            size_t k = (size_t)r * (size_t)b->cols + (size_t)c;
            uint8_t s = KM_TAXEL_OK;
            int flat = b->frames > 0 && (double)b->hi[k] - (double)b->lo[k] <= b->p.flat_range;
            if (!b->mask[k])
                s = KM_TAXEL_MASKED;
            else if (flat)
                s = flat_state(b, r, c);
            if (s == KM_TAXEL_OK && offset != NULL && offset[k] > 0.0f)
                s = KM_TAXEL_OFFSET; /* a steady offset reads as a spike too */
            else if (s == KM_TAXEL_OK && !flat && b->frames > 0 && b->p.hot_ratio > 0.0 &&
                     2 * (int64_t)b->hot[k] > b->frames)
                s = KM_TAXEL_HOT;
            bad += s != KM_TAXEL_OK && s != KM_TAXEL_MASKED;
            if (state != NULL)
                state[k] = s;
            mask_out[k] = s == KM_TAXEL_OK;
        }
    if (n_bad != NULL)
        *n_bad = bad;
done:
    km_free(ctx, offset);
    return st;
}

km_status km_fill_masked(km_ctx *ctx, float *frame, int32_t rows, int32_t cols,
                         const uint8_t *mask, uint8_t *scratch)
{
    km_status st;
    uint8_t *known = scratch;
    size_t n;

    if (frame == NULL || mask == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "fill: NULL frame or mask");
    if ((st = km_check_shape(ctx, rows, cols, "fill")) != KM_OK)
        return st;
    n = (size_t)rows * (size_t)cols;
    if (known == NULL && (known = km_alloc(ctx, n)) == NULL)
        return KM_ERR_NOMEM;
    for (size_t k = 0; k < n; k++)
        known[k] = mask[k] != 0 && isfinite(frame[k]);
    /* Each pass fills from taxels known at its start (1); taxels filled in
       the pass (2) join only after it, so the result does not depend on
       the scan order. */
    for (int changed = 1; changed;) {
        changed = 0;
        for (int32_t r = 0; r < rows; r++)
            for (int32_t c = 0; c < cols; c++) {
                size_t k = (size_t)r * (size_t)cols + (size_t)c;
                if (known[k])
                    continue;
                int m = 0;
                double mean = km_neighbour_mean_known(rows, cols, known, frame, r, c, &m);
                if (m > 0) {
                    frame[k] = (float)mean;
                    known[k] = 2;
                    changed = 1;
                }
            }
        for (size_t k = 0; k < n; k++)
            if (known[k] == 2)
                known[k] = 1;
    }
    if (known != scratch)
        km_free(ctx, known);
    return KM_OK;
}

km_status km_badtaxel_noise(km_ctx *ctx, const km_badtaxel *b, double *noise)
{
    if (b == NULL || noise == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "bad taxels: NULL argument to noise");
    *noise = NAN;
    if (!(b->p.offset_sigmas > 0.0) || b->frames == 0)
        return KM_OK;
    double *mean = NULL, *dev = NULL;
    size_t m;
    km_status st = unloaded_noise(ctx, b, &mean, &dev, &m, noise);
    km_free(ctx, mean);
    km_free(ctx, dev);
    return st;
}
