/* Peak detection: local maxima under the exact semantics of
 * docs/ALGORITHMS.md section 3 (DESIGN.md section 7), plus per-peak
 * sub-pixel position, prominence and basin area. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect_internal.h"
#include "internal.h"
#include "prominence.h"

/* A candidate or reported peak before its properties are filled. */
typedef struct km_seed {
    float v;
    uint32_t i;      /* raster index of the reported taxel */
    uint32_t anchor; /* first taxel of its plateau in the total order */
    uint32_t flags;
    double y, x;     /* centroid for a plateau, else the integer position */
} km_seed;

struct km_detector {
    km_alloc_ref ref;
    int32_t rows, cols;
    size_t n;
    km_peak_params p;
    int has_avx2;
    uint32_t *idx;      /* candidate raster indices (n) */
    float *hbuf;        /* 3x3 sweep: a ring of rows of horizontal maxima (3*cols + 32) */
    uint32_t *skey, *skey2, *sidx2; /* candidate sort scratch (n each) */
    float *san;         /* sanitised copy, invalid = -inf (n) */
    float *tmp;         /* horizontal running max (n) */
    float *wmax;        /* window max (n) */
    uint8_t *kept;      /* thinning map, all zero between calls (n) */
    uint32_t *label;    /* plateau map, all zero between calls (n) */
    uint32_t *stack;    /* plateau members / basin queue (n) */
    km_prom_scratch prom;
    float *death;       /* per reported peak (n) */
    uint32_t *anchors;  /* per reported peak (n) */
    km_seed *seeds;     /* grown on demand */
    size_t seeds_cap;
    uint32_t *stamps;   /* basin visits (n), KM_WANT_AREA only */
    uint32_t stamp;
};

void km_peak_params_default(km_peak_params *p)
{
    if (p == NULL)
        return;
    p->min_distance = 1;
    p->threshold_abs = NAN;
    p->threshold_rel = 0.0;
    p->exclude_border = -1;
    p->plateau = KM_PLATEAU_ALL;
    p->p_norm = INFINITY;
    p->num_peaks = -1;
    p->min_prominence = 0.0;
    p->saturation = INFINITY;
    p->want = KM_WANT_ALL;
}

static km_status check_params(km_ctx *ctx, const km_peak_params *p)
{
    if (p->min_distance < 1)
        return km_fail(ctx, KM_ERR_INVALID, "peaks: min_distance %d must be >= 1",
                       (int)p->min_distance);
    if (p->exclude_border < -1)
        return km_fail(ctx, KM_ERR_INVALID, "peaks: exclude_border %d must be >= -1",
                       (int)p->exclude_border);
    if (p->plateau != KM_PLATEAU_ALL && p->plateau != KM_PLATEAU_ONE)
        return km_fail(ctx, KM_ERR_INVALID, "peaks: unknown plateau mode %d", (int)p->plateau);
    if (!(p->p_norm >= 1.0))
        return km_fail(ctx, KM_ERR_INVALID, "peaks: p_norm %g must be >= 1 (1, 2 or inf)",
                       p->p_norm);
    if (isnan(p->threshold_rel) || isinf(p->threshold_rel))
        return km_fail(ctx, KM_ERR_INVALID, "peaks: threshold_rel %g must be finite",
                       p->threshold_rel);
    if (isnan(p->min_prominence))
        return km_fail(ctx, KM_ERR_INVALID, "peaks: min_prominence is NaN");
    if ((p->want & ~KM_WANT_ALL) != 0)
        return km_fail(ctx, KM_ERR_INVALID, "peaks: unknown want bits 0x%x", (unsigned)p->want);
    return KM_OK;
}

/* Prominence is computed when reported, filtered on or needed for area. */
static int need_prominence(const km_peak_params *p)
{
    return (p->want & (KM_WANT_PROMINENCE | KM_WANT_AREA)) != 0 || p->min_prominence > 0.0;
}

void km_detector_free(km_detector *det)
{
    if (det == NULL)
        return;
    km_alloc_ref ref = det->ref;
    void *bufs[] = {det->idx,      det->san,       det->tmp,       det->wmax,
                    det->kept,     det->label,     det->stack,     det->prom.key,
                    det->prom.key2, det->prom.ord, det->prom.ord2, det->prom.parent,
                    det->prom.lastv, det->prom.dtax, det->prom.flag, det->death,
                    det->anchors,  det->seeds,     det->stamps,    det->skey,
                    det->skey2,    det->sidx2,     det->hbuf};
    for (size_t k = 0; k < sizeof bufs / sizeof bufs[0]; k++)
        km_ref_free(&ref, bufs[k]);
    km_ref_free(&ref, det);
}

static void *zalloc(km_detector *det, size_t count, size_t size, int zero, int *fail)
{
    size_t bytes;
    if (!km_size_mul(count, size, &bytes)) {
        *fail = 1;
        return NULL;
    }
    void *ptr = km_ref_alloc(&det->ref, bytes ? bytes : 1);
    if (ptr == NULL)
        *fail = 1;
    else if (zero)
        memset(ptr, 0, bytes);
    return ptr;
}

/* Allocate a rows*cols scratch array on first use; kept until _free. */
static void *lazy(km_ctx *ctx, km_detector *det, void *cur, size_t size, int zero, km_status *st)
{
    int fail = 0;
    if (cur != NULL || *st != KM_OK)
        return cur;
    void *p = zalloc(det, det->n, size, zero, &fail);
    if (fail)
        *st = km_fail(ctx, KM_ERR_NOMEM, "peaks: out of memory for %dx%d scratch",
                      (int)det->rows, (int)det->cols);
    return p;
}

/* Scratch needed by this call, allocated once per detector. */
static km_status ensure_scratch(km_ctx *ctx, km_detector *det, int fast, int prom)
{
    km_status st = KM_OK;
    const km_peak_params *p = &det->p;
    det->skey = lazy(ctx, det, det->skey, sizeof(uint32_t), 0, &st);
    det->skey2 = lazy(ctx, det, det->skey2, sizeof(uint32_t), 0, &st);
    det->sidx2 = lazy(ctx, det, det->sidx2, sizeof(uint32_t), 0, &st);
    if (fast && det->hbuf == NULL) {
        int fail = 0;
        det->hbuf = zalloc(det, 3 * (size_t)det->cols + 32, sizeof(float), 0, &fail);
        if (fail)
            st = km_fail(ctx, KM_ERR_NOMEM, "peaks: out of memory for the sweep buffer");
    }
    if ((!fast || prom))
        det->san = lazy(ctx, det, det->san, sizeof(float), 0, &st);
    if (!fast)
        det->tmp = lazy(ctx, det, det->tmp, sizeof(float), 0, &st);
    if (!fast)
        det->wmax = lazy(ctx, det, det->wmax, sizeof(float), 0, &st);
    if (p->min_distance > 1)
        det->kept = lazy(ctx, det, det->kept, 1, 1, &st);
    if (p->plateau == KM_PLATEAU_ONE)
        det->label = lazy(ctx, det, det->label, sizeof(uint32_t), 1, &st);
    if (p->plateau == KM_PLATEAU_ONE || prom)
        det->stack = lazy(ctx, det, det->stack, sizeof(uint32_t), 0, &st);
    if (prom) {
        det->prom.key = lazy(ctx, det, det->prom.key, sizeof(uint32_t), 0, &st);
        det->prom.key2 = lazy(ctx, det, det->prom.key2, sizeof(uint32_t), 0, &st);
        det->prom.ord = lazy(ctx, det, det->prom.ord, sizeof(uint32_t), 0, &st);
        det->prom.ord2 = lazy(ctx, det, det->prom.ord2, sizeof(uint32_t), 0, &st);
        det->prom.parent = lazy(ctx, det, det->prom.parent, sizeof(uint32_t), 0, &st);
        det->prom.lastv = lazy(ctx, det, det->prom.lastv, sizeof(float), 0, &st);
        det->prom.dtax = lazy(ctx, det, det->prom.dtax, sizeof(float), 0, &st);
        det->prom.flag = lazy(ctx, det, det->prom.flag, 1, 1, &st);
        det->death = lazy(ctx, det, det->death, sizeof(float), 0, &st);
        det->anchors = lazy(ctx, det, det->anchors, sizeof(uint32_t), 0, &st);
    }
    if ((p->want & KM_WANT_AREA))
        det->stamps = lazy(ctx, det, det->stamps, sizeof(uint32_t), 1, &st);
    return st;
}

km_status km_detector_create(km_ctx *ctx, int32_t rows, int32_t cols, const km_peak_params *p,
                             km_detector **out)
{
    km_status st = KM_OK;
    km_detector *det = NULL;
    int fail = 0;

    if (out == NULL || p == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "peaks: NULL argument");
    *out = NULL;
    if ((st = km_check_shape(ctx, rows, cols, "peaks")) != KM_OK)
        goto done;
    if ((st = check_params(ctx, p)) != KM_OK)
        goto done;
    km_alloc_ref ref = km_ctx_alloc_ref(ctx);
    det = km_ref_alloc(&ref, sizeof *det);
    if (det == NULL) {
        st = km_fail(ctx, KM_ERR_NOMEM, "peaks: out of memory");
        goto done;
    }
    memset(det, 0, sizeof *det);
    det->ref = ref;
    det->rows = rows;
    det->cols = cols;
    det->n = (size_t)rows * (size_t)cols;
    det->p = *p;
    det->has_avx2 = km_detect_cpu_avx2();
    size_t n = det->n;
    /* Only the candidate list up front (+8: the vector kernels may store
     * a few lanes past the last hit); everything else is allocated on
     * first need by _apply and kept, so a one-shot 3x3 call stays cheap. */
    det->idx = zalloc(det, n + 8, sizeof *det->idx, 0, &fail);
    if (fail) {
        st = km_fail(ctx, KM_ERR_NOMEM, "peaks: out of memory for a %dx%d detector", (int)rows,
                     (int)cols);
        goto done;
    }
    *out = det;
    det = NULL;
done:
    km_detector_free(det);
    return st;
}

static int taxel_valid(const km_frame *f, const km_mask *m, int32_t r, int32_t c)
{
    float v = f->data[(ptrdiff_t)r * f->row_stride + c];
    return fabsf(v) <= FLT_MAX && km_mask_at(m, r, c);
}

/* Statistics over valid taxels (general path: with a mask). */
static void stats_masked(const km_frame *f, const km_mask *m, km_frame_stats *s)
{
    float mn = INFINITY, mx = -INFINITY;
    size_t n = 0;
    for (int32_t i = 0; i < f->rows; i++) {
        for (int32_t j = 0; j < f->cols; j++) {
            if (!taxel_valid(f, m, i, j))
                continue;
            float v = f->data[(ptrdiff_t)i * f->row_stride + j];
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
            n++;
        }
    }
    s->min = mn;
    s->max = mx;
    s->n_valid = n;
    s->all_finite = 0;
}

static void sanitise(const km_frame *f, const km_mask *m, float *san, int avx2)
{
    int32_t rows = f->rows, cols = f->cols;
    for (int32_t i = 0; i < rows; i++) {
        const float *src = f->data + (ptrdiff_t)i * f->row_stride;
        float *dst = san + (size_t)i * (size_t)cols;
        (avx2 ? km_sanitise_row_avx2 : km_sanitise_row_portable)(src, cols, dst);
        if (m != NULL && m->data != NULL) {
            const uint8_t *mr = m->data + (ptrdiff_t)i * m->row_stride;
            for (int32_t j = 0; j < cols; j++)
                dst[j] = mr[j] ? dst[j] : -INFINITY;
        }
    }
}

/* Ascending-order key of a float with -0.0 folded into +0.0. */
static inline uint32_t desc_key(float v)
{
    uint32_t u;
    v += 0.0f;
    memcpy(&u, &v, sizeof u);
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    return ~u; /* descending */
}

/* Inverse of desc_key. */
static inline float key_value(uint32_t key)
{
    uint32_t u = ~key;
    float v;
    u = (u & 0x80000000u) ? (u & 0x7fffffffu) : ~u;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* Stable insertion sort of (key, idx) pairs by key ascending. */
static void insertion_sort(uint32_t *key, uint32_t *idx, size_t nc)
{
    for (size_t k = 1; k < nc; k++) {
        uint32_t kk = key[k], ii = idx[k];
        size_t m = k;
        for (; m > 0 && key[m - 1] > kk; m--) {
            key[m] = key[m - 1];
            idx[m] = idx[m - 1];
        }
        key[m] = kk;
        idx[m] = ii;
    }
}

/* Number of significant bits of x (0 for 0). */
static inline unsigned bit_length(uint32_t x)
{
#if defined(__GNUC__)
    return x ? 32u - (unsigned)__builtin_clz(x) : 0u;
#else
    unsigned b = 0;
    while (b < 32u && (x >> b) != 0)
        b++;
    return b;
#endif
}

#define KM_BUCKET_MAX_LOG2 12 /* buckets of the one-pass sort: up to 4096 */
#define KM_BUCKET_MAX_FILL 64 /* beyond this the insertion sort could go quadratic */

/* One stable counting pass into about nc buckets over the key range, then
 * an insertion sort that only moves entries within their bucket: two reads
 * of the candidates instead of the radix sort's three or four.  Returns 0
 * (nothing written) when a bucket is too full (clustered or equal values:
 * the radix sort takes those). */
static int bucket_sort(const uint32_t *key, const uint32_t *idx, uint32_t *key2, uint32_t *idx2,
                       size_t nc, uint32_t kmin, uint32_t kmax)
{
    uint32_t hist[1u << KM_BUCKET_MAX_LOG2];
    unsigned lb = 5;
    while (((size_t)1 << lb) < nc)
        lb++;
    uint32_t range = kmax - kmin;
    unsigned bits = bit_length(range);
    unsigned shift = bits > lb ? bits - lb : 0u;
    size_t nb = (size_t)(range >> shift) + 1;
    memset(hist, 0, nb * sizeof *hist);
    for (size_t k = 0; k < nc; k++)
        hist[(key[k] - kmin) >> shift]++;
    uint32_t sum = 0, big = 0;
    for (size_t b = 0; b < nb; b++) {
        uint32_t h = hist[b];
        big = h > big ? h : big;
        hist[b] = sum;
        sum += h;
    }
    if (big > KM_BUCKET_MAX_FILL)
        return 0;
    for (size_t k = 0; k < nc; k++) {
        uint32_t dst = hist[(key[k] - kmin) >> shift]++;
        key2[dst] = key[k];
        idx2[dst] = idx[k];
    }
    insertion_sort(key2, idx2, nc);
    return 1;
}

/* Stable sort of the raster-ordered candidate indices by value descending
 * (the total order): insertion sort for a handful, a one-pass bucket sort
 * up to 4096 candidates spread over their range, else an LSD radix sort
 * with 8-bit digits, skipping the digits that are the same in every key.
 * The sorted indices and keys are left in the detector's scratch arrays
 * returned through *sidx and *skey. */
static void sort_candidates(km_detector *det, const km_frame *f, size_t nc,
                            const uint32_t **sidx, const uint32_t **skey)
{
    uint32_t *key = det->skey, *idx = det->idx, *key2 = det->skey2, *idx2 = det->sidx2;
    uint32_t cols = (uint32_t)f->cols;
    uint32_t kand = UINT32_MAX, kor = 0, kmin = UINT32_MAX, kmax = 0;
    if (f->row_stride == f->cols) {
        for (size_t k = 0; k < nc; k++)
            key[k] = desc_key(f->data[idx[k]]);
    } else {
        for (size_t k = 0; k < nc; k++) {
            uint32_t i = idx[k];
            key[k] = desc_key(f->data[(ptrdiff_t)(i / cols) * f->row_stride + i % cols]);
        }
    }
    if (nc <= 32) {
        insertion_sort(key, idx, nc);
        *sidx = idx;
        *skey = key;
        return;
    }
    for (size_t k = 0; k < nc; k++) {
        uint32_t h = key[k];
        kand &= h;
        kor |= h;
        kmin = h < kmin ? h : kmin;
        kmax = h > kmax ? h : kmax;
    }
    if (nc <= ((size_t)1 << KM_BUCKET_MAX_LOG2) &&
        bucket_sort(key, idx, key2, idx2, nc, kmin, kmax)) {
        *sidx = idx2;
        *skey = key2;
        return;
    }
    /* Digits equal in every key need neither a histogram nor a pass. */
    uint32_t vary = kand ^ kor;
    for (int shift = 0; shift < 32; shift += 8) {
        if (((vary >> shift) & 255u) == 0)
            continue;
        uint32_t hd[256];
        memset(hd, 0, sizeof hd);
        for (size_t k = 0; k < nc; k++)
            hd[(key[k] >> shift) & 255u]++;
        uint32_t sum = 0;
        for (int bkt = 0; bkt < 256; bkt++) {
            uint32_t h = hd[bkt];
            hd[bkt] = sum;
            sum += h;
        }
        for (size_t k = 0; k < nc; k++) {
            uint32_t dst = hd[(key[k] >> shift) & 255u]++;
            key2[dst] = key[k];
            idx2[dst] = idx[k];
        }
        uint32_t *t = key; key = key2; key2 = t;
        t = idx; idx = idx2; idx2 = t;
    }
    *sidx = idx;
    *skey = key;
}

static int seed_cmp(const void *pa, const void *pb)
{
    const km_seed *a = pa, *b = pb;
    if (a->v != b->v)
        return a->v > b->v ? -1 : 1;
    return a->i < b->i ? -1 : (a->i > b->i ? 1 : 0);
}

static km_status grow_seeds(km_ctx *ctx, km_detector *det, size_t need)
{
    if (need <= det->seeds_cap)
        return KM_OK;
    size_t cap = det->seeds_cap ? det->seeds_cap : 64;
    while (cap < need)
        cap *= 2;
    if (cap > det->n)
        cap = det->n;
    km_seed *s = km_ref_alloc(&det->ref, cap * sizeof *s);
    if (s == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "peaks: out of memory for %zu candidates", need);
    km_ref_free(&det->ref, det->seeds);
    det->seeds = s;
    det->seeds_cap = cap;
    return KM_OK;
}

/* Plateau "one": replace each 8-connected group of candidates (all equal:
 * two adjacent local maxima are each >= the other) by one seed at the
 * member nearest the centroid.  seeds[] is sorted; returns the new count. */
static size_t merge_plateaus(km_detector *det, km_seed *seeds, size_t ns)
{
    int32_t rows = det->rows, cols = det->cols;
    uint32_t *label = det->label, *stack = det->stack;
    size_t out = 0;

    for (size_t k = 0; k < ns; k++)
        label[seeds[k].i] = 1;
    for (size_t k = 0; k < ns; k++) {
        km_seed s = seeds[k];
        if (!label[s.i])
            continue;
        size_t len = 0, head = 0;
        double sy = 0, sx = 0;
        stack[len++] = s.i;
        label[s.i] = 0;
        while (head < len) {
            uint32_t t = stack[head++];
            int32_t r = (int32_t)(t / (uint32_t)cols), c = (int32_t)(t % (uint32_t)cols);
            sy += r;
            sx += c;
            for (int32_t a = r - 1; a <= r + 1; a++) {
                for (int32_t b = c - 1; b <= c + 1; b++) {
                    if (a < 0 || a >= rows || b < 0 || b >= cols)
                        continue;
                    uint32_t q = (uint32_t)a * (uint32_t)cols + (uint32_t)b;
                    if (label[q]) {
                        label[q] = 0;
                        stack[len++] = q;
                    }
                }
            }
        }
        double cy = sy / (double)len, cx = sx / (double)len;
        uint32_t best = s.i;
        double bestd = INFINITY;
        for (size_t m = 0; m < len; m++) {
            uint32_t t = stack[m];
            double dy = (double)(t / (uint32_t)cols) - cy, dx = (double)(t % (uint32_t)cols) - cx;
            double d = dy * dy + dx * dx;
            /* Equal values: the total order breaks distance ties by index. */
            if (d < bestd || (d == bestd && t < best)) {
                bestd = d;
                best = t;
            }
        }
        km_seed o = {s.v, best, s.i, len > 1 ? KM_PEAK_PLATEAU : 0u, cy, cx};
        seeds[out++] = o;
    }
    qsort(seeds, out, sizeof *seeds, seed_cmp);
    return out;
}

static int too_close(int32_t dy, int32_t dx, int32_t r, double p)
{
    int32_t ay = dy < 0 ? -dy : dy, ax = dx < 0 ? -dx : dx;
    if (isinf(p))
        return (ay > ax ? ay : ax) < r;
    if (p == 1.0)
        return ay + ax < r;
    if (p == 2.0)
        return (int64_t)ay * ay + (int64_t)ax * ax < (int64_t)r * r;
    return pow(pow(ay, p) + pow(ax, p), 1.0 / p) < (double)r;
}

/* Greedy thinning in the total order: a seed closer than r (p-norm,
 * strictly) to an already kept seed is dropped (scikit-image's
 * ensure_spacing).  Only equal values can be that close. */
static size_t thin(km_detector *det, km_seed *seeds, size_t ns)
{
    int32_t r = det->p.min_distance, rows = det->rows, cols = det->cols;
    size_t out = 0;
    if (r <= 1)
        return ns;
    for (size_t k = 0; k < ns; k++) {
        int32_t ci = (int32_t)(seeds[k].i / (uint32_t)cols);
        int32_t cj = (int32_t)(seeds[k].i % (uint32_t)cols);
        int drop = 0;
        int32_t a0 = ci - (r - 1) < 0 ? 0 : ci - (r - 1);
        int32_t a1 = ci + (r - 1) >= rows ? rows - 1 : ci + (r - 1);
        int32_t b0 = cj - (r - 1) < 0 ? 0 : cj - (r - 1);
        int32_t b1 = cj + (r - 1) >= cols ? cols - 1 : cj + (r - 1);
        for (int32_t a = a0; a <= a1 && !drop; a++)
            for (int32_t b = b0; b <= b1 && !drop; b++)
                if (det->kept[(size_t)a * (size_t)cols + (size_t)b])
                    drop = too_close(a - ci, b - cj, r, det->p.p_norm);
        if (!drop) {
            det->kept[seeds[k].i] = 1;
            seeds[out++] = seeds[k];
        }
    }
    for (size_t k = 0; k < out; k++)
        det->kept[seeds[k].i] = 0;
    return out;
}

static void compute_prominence(km_detector *det, const km_seed *seeds, size_t ns, float vmin,
                               float level)
{
    for (size_t k = 0; k < ns; k++)
        det->anchors[k] = seeds[k].anchor;
    km_persistence(det->san, det->rows, det->cols, vmin, level, &det->prom, det->anchors, ns,
                   det->death);
}

km_status km_detector_apply_isa(km_ctx *ctx, km_detector *det, const km_frame *frame,
                                const km_mask *mask, km_peak *peaks, size_t capacity,
                                size_t *n_peaks, km_isa isa)
{
    km_status st = KM_OK;
    km_frame_stats fs;
    size_t nc = 0, ns = 0, count = 0;

    if (n_peaks != NULL)
        *n_peaks = 0;
    if (det == NULL || frame == NULL || n_peaks == NULL || (peaks == NULL && capacity > 0))
        return km_fail(ctx, KM_ERR_INVALID, "peaks: NULL argument");
    if (frame->data == NULL || frame->rows != det->rows || frame->cols != det->cols ||
        frame->row_stride < frame->cols)
        return km_fail(ctx, KM_ERR_INVALID,
                       "peaks: frame %dx%d (stride %td) does not match the detector's %dx%d",
                       (int)frame->rows, (int)frame->cols, frame->row_stride, (int)det->rows,
                       (int)det->cols);
    if (mask != NULL && mask->data != NULL &&
        (mask->rows != det->rows || mask->cols != det->cols || mask->row_stride < mask->cols))
        return km_fail(ctx, KM_ERR_INVALID, "peaks: mask %dx%d does not match the frame %dx%d",
                       (int)mask->rows, (int)mask->cols, (int)det->rows, (int)det->cols);
    if (mask != NULL && mask->data == NULL)
        mask = NULL;

    const km_peak_params *p = &det->p;
    int32_t rows = det->rows, cols = det->cols, r = p->min_distance;
    int avx2 = isa == KM_ISA_AVX2 || (isa == KM_ISA_AUTO && det->has_avx2);
    if (avx2 && !det->has_avx2)
        return km_fail(ctx, KM_ERR_UNSUPPORTED, "peaks: this CPU has no AVX2");

    if (mask != NULL)
        stats_masked(frame, mask, &fs);
    else if (avx2)
        km_stats_avx2(frame->data, frame->row_stride, rows, cols, &fs);
    else
        km_stats_portable(frame->data, frame->row_stride, rows, cols, &fs);
    if (fs.n_valid == 0)
        goto done;
    fs.min += 0.0f;
    fs.max += 0.0f;
    /* A constant frame has no peaks (one valid taxel is not "constant"). */
    if (fs.n_valid >= 2 && fs.min == fs.max)
        goto done;

    double t = isnan(p->threshold_abs) ? (double)fs.min : p->threshold_abs;
    if (p->threshold_rel > 0.0 && p->threshold_rel * (double)fs.max > t)
        t = p->threshold_rel * (double)fs.max;
    /* numpy compares a float32 image with a float64 scalar in float32. */
    float thr = t > FLT_MAX ? INFINITY : (t < -FLT_MAX ? -INFINITY : (float)t);
    int32_t b = p->exclude_border < 0 ? r : p->exclude_border;

    int fast = mask == NULL && fs.all_finite && r == 1;
    int prom = need_prominence(p);
    if ((st = ensure_scratch(ctx, det, fast, prom)) != KM_OK)
        goto done;
    if (!fast || prom)
        sanitise(frame, mask, det->san, avx2);
    if (fast) {
        /* Raster order throughout (ring taxels in place), so that a stable
         * sort by value alone yields the total order. */
        const float *d = frame->data;
        ptrdiff_t fst = frame->row_stride;
        if (b == 0 && (rows < 3 || cols < 3)) {
            for (int32_t i = 0; i < rows; i++)
                for (int32_t j = 0; j < cols; j++)
                    if (km_lmax3_clipped(d, fst, rows, cols, i, j, thr))
                        det->idx[nc++] = (uint32_t)i * (uint32_t)cols + (uint32_t)j;
        } else {
            int32_t e = b > 1 ? b : 1;
            if (b == 0)
                nc += km_lmax3_edge_row(d, fst, rows, cols, 0, thr, det->idx + nc);
            if (e <= rows - 1 - e && e <= cols - 1 - e)
                nc += (avx2 ? km_lmax3_avx2 : km_lmax3_portable)(
                    d, fst, rows, cols, e, rows - 1 - e, e, cols - 1 - e, b == 0, thr, det->hbuf,
                    det->idx + nc);
            if (b == 0)
                nc += km_lmax3_edge_row(d, fst, rows, cols, rows - 1, thr, det->idx + nc);
        }
    } else {
        (avx2 ? km_window_max_avx2 : km_window_max_portable)(det->san, det->tmp, det->wmax, rows,
                                                             cols, r);
        for (int32_t i = b; i < rows - b; i++) {
            const float *s = det->san + (size_t)i * (size_t)cols;
            const float *w = det->wmax + (size_t)i * (size_t)cols;
            uint32_t base = (uint32_t)i * (uint32_t)cols;
            nc += (avx2 ? km_cmp_row_avx2 : km_cmp_row_portable)(s, w, b, cols - b, thr, base,
                                                                 det->idx + nc);
        }
    }
    if (nc == 0)
        goto done;

    if ((st = grow_seeds(ctx, det, nc)) != KM_OK)
        goto done;
    km_seed *seeds = det->seeds;
    const uint32_t *sidx, *skey;
    sort_candidates(det, frame, nc, &sidx, &skey);
    for (size_t k = 0; k < nc; k++) {
        uint32_t i = sidx[k];
        int32_t ri = (int32_t)(i / (uint32_t)cols), ci = (int32_t)(i - (uint32_t)ri * (uint32_t)cols);
        km_seed s = {key_value(skey[k]), i, i, 0u, (double)ri, (double)ci};
        seeds[k] = s;
    }
    ns = nc;
    if (p->plateau == KM_PLATEAU_ONE)
        ns = merge_plateaus(det, seeds, ns);
    ns = thin(det, seeds, ns);

    int prom_done = 0;
    if (p->min_prominence > 0.0) {
        compute_prominence(det, seeds, ns, fs.min, thr);
        size_t keep = 0;
        for (size_t k = 0; k < ns; k++) {
            if ((double)seeds[k].v - (double)det->death[k] >= p->min_prominence) {
                seeds[keep] = seeds[k];
                det->death[keep] = det->death[k];
                keep++;
            }
        }
        ns = keep;
        prom_done = 1;
    }
    count = ns;
    if (p->num_peaks >= 0 && (uint64_t)p->num_peaks < (uint64_t)count)
        count = (size_t)p->num_peaks;
    size_t nw = count < capacity ? count : capacity;
    if (prom && !prom_done)
        compute_prominence(det, seeds, nw, fs.min, thr);

    for (size_t k = 0; k < nw; k++) {
        const km_seed *s = &seeds[k];
        km_peak *pk = &peaks[k];
        int32_t ri = (int32_t)(s->i / (uint32_t)cols), ci = (int32_t)(s->i % (uint32_t)cols);
        pk->row = ri;
        pk->col = ci;
        pk->value = s->v;
        pk->flags = s->flags;
        pk->y = s->y;
        pk->x = s->x;
        if (ri < r || ri >= rows - r || ci < r || ci >= cols - r)
            pk->flags |= KM_PEAK_AT_BORDER;
        if ((double)s->v >= p->saturation)
            pk->flags |= KM_PEAK_SATURATED;
        if ((p->want & KM_WANT_SUBPIXEL) && !(s->flags & KM_PEAK_PLATEAU)) {
            if (km_subpixel(frame->data, frame->row_stride, rows, cols, ri, ci, mask, &pk->y,
                            &pk->x))
                pk->flags |= KM_PEAK_FIT_FALLBACK;
        }
        pk->prominence = NAN;
        pk->area_taxels = -1;
        if (prom) {
            double death = (double)det->death[k];
            pk->prominence = (float)((double)s->v - death);
            if (p->want & KM_WANT_AREA) {
                if (++det->stamp == 0) {
                    memset(det->stamps, 0, det->n * sizeof *det->stamps);
                    det->stamp = 1;
                }
                pk->area_taxels = km_basin_area(det->san, rows, cols, s->anchor,
                                                0.5 * ((double)s->v + death), det->stamps,
                                                det->stamp, det->stack);
            }
        }
    }
    if (count > capacity)
        st = km_fail(ctx, KM_ERR_CAPACITY, "peaks: %zu peaks found, capacity %zu", count,
                     capacity);
done:
    *n_peaks = count;
    return st;
}

km_status km_detector_apply(km_ctx *ctx, km_detector *det, const km_frame *frame,
                            const km_mask *mask, km_peak *peaks, size_t capacity, size_t *n_peaks)
{
    return km_detector_apply_isa(ctx, det, frame, mask, peaks, capacity, n_peaks, KM_ISA_AUTO);
}

km_status km_find_peaks(km_ctx *ctx, const km_frame *frame, const km_mask *mask,
                        const km_peak_params *p, km_peak *peaks, size_t capacity, size_t *n_peaks)
{
    km_detector *det = NULL;
    km_status st;
    if (frame == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "peaks: NULL frame");
    st = km_detector_create(ctx, frame->rows, frame->cols, p, &det);
    if (st == KM_OK)
        st = km_detector_apply(ctx, det, frame, mask, peaks, capacity, n_peaks);
    else if (n_peaks != NULL)
        *n_peaks = 0;
    km_detector_free(det);
    return st;
}
