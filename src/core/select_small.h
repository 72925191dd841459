/* Order statistics of short float arrays (a row of taxels, a median
 * window) by rank counting: the answer is the element whose rank equals k,
 * found with compare-and-count loops that have no data-dependent branch and
 * vectorise; on 5-64 noisy values this beats sorting or quickselect, whose
 * partitions mispredict.  The rank is the stable one (ties ranked by array
 * position), so the element returned is the one an insertion sort would put
 * at position k, signed zeros included.  Values must not be NaN.  Not
 * installed. */
#ifndef KM_SELECT_SMALL_H
#define KM_SELECT_SMALL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Stable rank of v[i] among v[0..n) (km_rank_stable_f, _d), and the k-th
 * smallest (0-based, k < n) of v[0..n) (km_select_rank_f, _d); v is not
 * modified. */
#define KM_DEFINE_RANK(sfx, T)                                                                     \
    static inline size_t km_rank_stable_##sfx(const T *v, size_t n, size_t i)                      \
    {                                                                                              \
        T x = v[i];                                                                                \
        size_t r = 0;                                                                              \
        for (size_t j = 0; j < i; j++)                                                             \
            r += v[j] <= x ? 1u : 0u;                                                              \
        for (size_t j = i + 1; j < n; j++)                                                         \
            r += v[j] < x ? 1u : 0u;                                                               \
        return r;                                                                                  \
    }                                                                                              \
    static inline T km_select_rank_##sfx(const T *v, size_t n, size_t k)                           \
    {                                                                                              \
        for (size_t i = 0; i < n; i++)                                                             \
            if (km_rank_stable_##sfx(v, n, i) == k)                                                \
                return v[i];                                                                       \
        return v[k]; /* not reached: ranks are a permutation of 0..n-1 */                          \
    }
KM_DEFINE_RANK(f, float)
KM_DEFINE_RANK(d, double)
#undef KM_DEFINE_RANK

/* The k-th and (k+1)-th smallest (k + 1 < n) in one pass. */
static inline void km_select_rank2_f(const float *v, size_t n, size_t k, float *lo, float *hi)
{
    int found = 0;
    for (size_t i = 0; i < n && found != 3; i++) {
        size_t r = km_rank_stable_f(v, n, i);
        if (r == k) {
            *lo = v[i];
            found |= 1;
        } else if (r == k + 1) {
            *hi = v[i];
            found |= 2;
        }
    }
}

/* Median of v[0..n) (n >= 1): the middle value, or the mean of the two
 * middle ones in float, exactly as sorting would give. */
static inline float km_median_small_f(const float *v, int n)
{
    if (n & 1)
        return km_select_rank_f(v, (size_t)n, (size_t)(n / 2));
    float a = 0.0f, b = 0.0f;
    km_select_rank2_f(v, (size_t)n, (size_t)(n / 2 - 1), &a, &b);
    return 0.5f * (a + b);
}

/* A sorted window of finite values for a sliding median (a row median
 * whose window slides one column at a time).  km_window_insert puts v
 * after the values equal to it, km_window_remove takes out the first value
 * equal to v (v must be in the window), so that equal values stay in
 * insertion order and the median read from the window is the one a stable
 * sort would give (km_median_small_f's, bit for bit, signed zeros included);
 * O(n) per step instead of a sort.  Both return the new count. */
static inline int km_window_insert(float *win, int n, float v)
{
    int i = n;
    for (; i > 0 && win[i - 1] > v; i--)
        win[i] = win[i - 1];
    win[i] = v;
    return n + 1;
}

static inline int km_window_remove(float *win, int n, float v)
{
    int i = 0;
    while (i < n - 1 && win[i] < v)
        i++;
    for (; i < n - 1; i++)
        win[i] = win[i + 1];
    return n - 1;
}

/* The same window in a fixed buffer of KM_WINDOW16 floats (at most that
 * many values; km_window16_clear first, which fills it with +inf, the value
 * every unused slot keeps), the same contents after every step, without a
 * data-dependent branch: where v goes is a count of compares (the window
 * is sorted, so the values below v are a prefix), and every slot takes its
 * own value, v or its neighbour's by a blend (SSE2; plain loops elsewhere).
 * The insertion loop above mispredicts once per step, on a noisy row every
 * time. */
#define KM_WINDOW16 16

static inline void km_window16_clear(float *win)
{
    for (int i = 0; i < KM_WINDOW16; i++)
        win[i] = INFINITY;
}

#if defined(__SSE2__)
/* The 16 slots as four registers; the compare mask of v against them (bit
 * i set when slot i compares true). */
#define KM_W16_LOAD(win, a)                                                                        \
    __m128 a[4] = {_mm_loadu_ps(win), _mm_loadu_ps((win) + 4), _mm_loadu_ps((win) + 8),            \
                   _mm_loadu_ps((win) + 12)}
#define KM_W16_MASK(a, cmp, x)                                                                     \
    ((unsigned)_mm_movemask_ps(cmp(a[0], x)) | (unsigned)_mm_movemask_ps(cmp(a[1], x)) << 4 |      \
     (unsigned)_mm_movemask_ps(cmp(a[2], x)) << 8 | (unsigned)_mm_movemask_ps(cmp(a[3], x)) << 12)

static inline int km_window16_insert(float *win, int n, float v)
{
    __m128 x = _mm_set1_ps(v);
    KM_W16_LOAD(win, a);
    /* Slots <= v: a prefix (unused slots hold +inf and v is finite). */
    int pos = __builtin_ctz(~KM_W16_MASK(a, _mm_cmple_ps, x));
    __m128i p = _mm_set1_epi32(pos), idx = _mm_setr_epi32(0, 1, 2, 3);
    __m128i carry = _mm_setzero_si128();
    for (int k = 0; k < 4; k++) {
        __m128i ak = _mm_castps_si128(a[k]);
        /* Slot i's left neighbour (slot i - 1), across registers. */
        __m128i prev = _mm_or_si128(_mm_slli_si128(ak, 4), carry);
        carry = _mm_srli_si128(ak, 12);
        __m128i keep = _mm_cmpgt_epi32(p, idx), here = _mm_cmpeq_epi32(p, idx);
        __m128i out = _mm_or_si128(_mm_and_si128(keep, ak),
                                   _mm_or_si128(_mm_and_si128(here, _mm_castps_si128(x)),
                                                _mm_andnot_si128(_mm_or_si128(keep, here), prev)));
        _mm_storeu_ps(win + 4 * k, _mm_castsi128_ps(out));
        idx = _mm_add_epi32(idx, _mm_set1_epi32(4));
    }
    return n + 1;
}

static inline int km_window16_remove(float *win, int n, float v)
{
    __m128 x = _mm_set1_ps(v);
    KM_W16_LOAD(win, a);
    int pos = __builtin_ctz(~KM_W16_MASK(a, _mm_cmplt_ps, x));
    pos = pos < n - 1 ? pos : n - 1;
    __m128i p = _mm_set1_epi32(pos), idx = _mm_setr_epi32(0, 1, 2, 3);
    for (int k = 0; k < 4; k++) {
        __m128i ak = _mm_castps_si128(a[k]);
        /* Slot i's right neighbour (slot i + 1); +inf after the last. */
        __m128i up = k < 3 ? _mm_slli_si128(_mm_castps_si128(a[k + 1]), 12)
                           : _mm_slli_si128(_mm_castps_si128(_mm_set1_ps(INFINITY)), 12);
        __m128i next = _mm_or_si128(_mm_srli_si128(ak, 4), up);
        __m128i keep = _mm_cmpgt_epi32(p, idx);
        __m128i out = _mm_or_si128(_mm_and_si128(keep, ak), _mm_andnot_si128(keep, next));
        _mm_storeu_ps(win + 4 * k, _mm_castsi128_ps(out));
        idx = _mm_add_epi32(idx, _mm_set1_epi32(4));
    }
    return n - 1;
}
#undef KM_W16_LOAD
#undef KM_W16_MASK
#else
static inline int km_window16_insert(float *win, int n, float v)
{
    float old[KM_WINDOW16];
    int pos = 0;
    for (int i = 0; i < KM_WINDOW16; i++) {
        old[i] = win[i];
        pos += win[i] <= v;
    }
    for (int i = 0; i < KM_WINDOW16; i++)
        win[i] = i < pos ? old[i] : i == pos ? v : old[i - 1];
    return n + 1;
}

static inline int km_window16_remove(float *win, int n, float v)
{
    int pos = 0;
    for (int i = 0; i < KM_WINDOW16; i++)
        pos += win[i] < v;
    pos = pos < n - 1 ? pos : n - 1;
    for (int i = pos; i < KM_WINDOW16 - 1; i++)
        win[i] = win[i + 1];
    win[KM_WINDOW16 - 1] = INFINITY;
    return n - 1;
}
#endif

/* Sliding medians of an odd window by a selection network: the
 * comparators of Batcher's odd-even merge sort of 16 values that reach the
 * middle one of n (src/core/select_small.c).  Eight windows at a time in
 * AVX2 registers, each a min and a max per comparator, without a branch:
 * a row's medians in a fraction of the sorted window's steps. */
#define KM_MEDIAN_NET_MAX 15 /* the largest window (odd) */
typedef struct km_median_net {
    int n;                   /* the window: odd, 1..KM_MEDIAN_NET_MAX */
    int ncmp;                /* comparators */
    const unsigned char *lo; /* min to lo[i], max to hi[i], in order */
    const unsigned char *hi;
} km_median_net;

/* The comparators of Batcher's odd-even merge sort of N values (a power of
 * two, <= 64) that reach the slots set in outs, in order (min to lo[i],
 * max to hi[i]), for n <= N values (slots from n on hold +inf and are left
 * out); their count, or -1 over cap. */
int km_batcher_net(int N, int n, uint64_t outs, unsigned char *lo, unsigned char *hi, int cap);

/* The network for windows of n values (odd, 1 <= n <= KM_MEDIAN_NET_MAX:
 * km_batcher_net(16, n, slots n / 2 and n / 2 + 1)); NULL for other n. */
const km_median_net *km_median_net_for(int n);

/* Bytes of scratch km_row_window_medians_f needs. */
size_t km_row_window_scratch(int cols, int n);

/* A row's sliding median over the usable values (ok[k] nonzero, none NaN):
 * for every x with ok[x], bg[x] = the median (km_median_small_f's, bit for
 * bit, signed zeros included) of the usable values among columns x - w ..
 * x + w of [0, cols), where net->n = 2 w + 1; bg[x] of the others is left
 * as it was.  Eight columns at a time: a missing value is an infinity (of
 * alternating sign) in the network.  scratch: km_row_window_scratch bytes. */
void km_row_window_medians_f(const km_median_net *net, const float *row,
                             const unsigned char *ok, int cols, void *scratch, float *bg);
/* The same with the line of slope slope[x] through each column x taken
 * off its window: bg[x] = the median of row[j] - slope[x] (j - x) over the
 * usable j (without AVX2, km_median_small_f's; with it, the same up to the
 * order of a +0.0 and a -0.0).  slope: cols + 8 readable floats. */
void km_row_window_medians_slope_f(const km_median_net *net, const float *row,
                                   const unsigned char *ok, int cols, const float *slope,
                                   void *scratch, float *bg);

/* Up to eight rows of up to 32 columns sorted at once (AVX2, one row per
 * lane): v[j][l] is the j-th smallest of row l's n[l] valid values (mask
 * NULL or nonzero, and finite), +inf from n[l] on.  Every value keeps its
 * bits except that zeros of different signs may trade places: where
 * negzero[l], a zero read from row l is to be taken again by rank. */
typedef struct km_rows32 {
    float v[32][8];
    float med[8]; /* v[n[l] / 2][l]: lane l's median (rank n / 2) */
    int n[8], negzero[8];
} km_rows32;

/* Rows r = 0..rows-1 (rows <= 8) at data + r * stride (mask + r * mstride
 * when mask is not NULL) into out; 0, touching nothing, when cols > 32 or
 * the CPU has no AVX2.  km_sort32_net gives the network (for the tests). */
int km_rows_sort32_f(const float *data, ptrdiff_t stride, const unsigned char *mask,
                     ptrdiff_t mstride, int rows, int cols, km_rows32 *out);
const unsigned char *km_sort32_net(int *ncmp, const unsigned char **hi);

/* km_rows_sort32_f's n, negzero and med (the same bits, zeros' signs as
 * there) where only the
 * median and counts are wanted: v then holds each row's values (+inf where
 * missing) in an order no rank may be read from but for med; when every
 * row with a value has the same n / 2, the merge of the network's sorted
 * halves is left out (med by the rank of two sorted halves).  Same return. */
int km_rows_median32_f(const float *data, ptrdiff_t stride, const unsigned char *mask,
                       ptrdiff_t mstride, int rows, int cols, km_rows32 *out);

/* km_select_rank_f's answer (bit for bit) for n <= 128 by a sorting
 * network (AVX2, src/core/select_small.c: 32 values, or sorts of 32 merged
 * to 64 or 128): about a third of its time on a row of 32 noisy values;
 * on rows of 90, quickselect's mispredicted partitions had taken a quarter
 * of a 40 x 90 roller's run; without AVX2 rank counting up to 64 and
 * quickselect on a copy beyond (a zero result then taken as the stable
 * rank takes it: km_select128_portable_f, also for the tests).  No NaN in v.
 * More than KM_SELECT128_MAX values: the same answer by rank counting
 * (n squared: slow, never out of bounds); callers with wider inputs take
 * km_select_any_f. */
#define KM_SELECT128_MAX 128
float km_select128_f(const float *v, size_t n, size_t k);
float km_select128_portable_f(const float *v, size_t n, size_t k);

/* The k-th smallest of v[0..n) for any n >= 1 (k < n): km_select128_f's
 * answer up to KM_SELECT128_MAX values (v left as it was), quickselect
 * (km_select_kth_f, the same value but for which of +0.0 and -0.0) on v
 * itself beyond, which it reorders: v is the caller's scratch.  No NaN. */
float km_select_any_f(float *v, size_t n, size_t k);

/* km_select_rank_d's answer (the element of stable rank k, bit for bit)
 * for n <= 64 with AVX2: every value's rank counted, four values at a
 * time against each value broadcast, no branch on the values and no wide
 * load of v (callers fill v value by value just before; a 32-byte load
 * over such stores is not forwarded and waits for them); other n or CPUs:
 * km_select_rank_d.  No NaN in v. */
double km_select64_d(const double *v, size_t n, size_t k);

#endif
