/* Peak detection: local maxima under the exact semantics of
 * docs/ALGORITHMS.md section 3 (DESIGN.md section 7), plus per-peak
 * sub-pixel position, prominence and basin area. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect_internal.h"
#include "internal.h"
#include "keysort.h"
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
    uint64_t *sitem, *sitem2; /* candidate sort items and scratch (n each) */
    float *san;         /* sanitised copy, invalid = -inf (n) */
    float *tmp;         /* horizontal running max (n) */
    float *rowmax;      /* each row's largest sanitised value in eight lanes
                           (KM_ROW_LANES * rows), when rowmax_ok */
    int rowmax_ok;      /* rowmax is this frame's (the AVX2 copy with a mask) */
    float *wmax;        /* window max (n) */
    uint8_t *kept;      /* thinning map, all zero between calls (n) */
    uint32_t *label;    /* plateau map, all zero between calls (n) */
    uint32_t *stack;    /* plateau members / basin queue (n) */
    km_prom_scratch prom;
    int prom_below;     /* the last frame's sweep went on below the level */
    float *death;       /* per reported peak (n) */
    uint32_t *anchors;  /* per reported peak (n) */
    km_seed *seeds;     /* grown on demand */
    size_t seeds_cap;
    uint32_t *stamps;   /* basin visits (padded), KM_WANT_AREA only */
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
    void *bufs[] = {det->idx,        det->san,        det->tmp,         det->wmax,
                    det->kept,       det->label,      det->stack,       det->prom.item,
                    det->prom.item2, det->prom.pad,  det->prom.comp,  det->prom.next,
                    det->prom.dtax,  det->prom.flag, det->prom.head,  det->prom.size,
                    det->prom.otax,  det->death,     det->anchors,
                    det->seeds,      det->stamps,    det->sitem,      det->sitem2,
                    det->hbuf,       det->rowmax};
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

/* Allocate a scratch array of count entries on first use; kept until _free. */
static void *lazy_n(km_ctx *ctx, km_detector *det, void *cur, size_t count, size_t size, int zero,
                    km_status *st)
{
    int fail = 0;
    if (cur != NULL || *st != KM_OK)
        return cur;
    void *p = zalloc(det, count, size, zero, &fail);
    if (fail)
        *st = km_fail(ctx, KM_ERR_NOMEM, "peaks: out of memory for %dx%d scratch",
                      (int)det->rows, (int)det->cols);
    return p;
}

/* The same for rows*cols entries. */
static void *lazy(km_ctx *ctx, km_detector *det, void *cur, size_t size, int zero, km_status *st)
{
    return lazy_n(ctx, det, cur, det->n, size, zero, st);
}

/* The prominence scratch (src/detect/prominence.h). */
static void lazy_prominence(km_ctx *ctx, km_detector *det, km_status *st)
{
    km_prom_scratch *s = &det->prom;
    size_t np = ((size_t)det->rows + 2) * ((size_t)det->cols + 2);
    s->item = lazy(ctx, det, s->item, sizeof(uint64_t), 0, st);
    s->item2 = lazy(ctx, det, s->item2, sizeof(uint64_t), 0, st);
    s->pad = lazy_n(ctx, det, s->pad, np, sizeof(float), 0, st);
    s->comp = lazy_n(ctx, det, s->comp, np, sizeof(uint32_t), 0, st);
    s->next = lazy_n(ctx, det, s->next, np, sizeof(uint32_t), 0, st);
    s->dtax = lazy_n(ctx, det, s->dtax, np, sizeof(float), 0, st);
    s->flag = lazy_n(ctx, det, s->flag, np, 1, 1, st);
    s->head = lazy(ctx, det, s->head, sizeof(uint32_t), 0, st);
    s->size = lazy(ctx, det, s->size, sizeof(uint32_t), 0, st);
    s->otax = lazy(ctx, det, s->otax, sizeof(uint32_t), 0, st);
}

/* Scratch needed by this call, allocated once per detector. */
static km_status ensure_scratch(km_ctx *ctx, km_detector *det, int fast, int prom)
{
    km_status st = KM_OK;
    const km_peak_params *p = &det->p;
    det->sitem = lazy(ctx, det, det->sitem, sizeof(uint64_t), 0, &st);
    det->sitem2 = lazy(ctx, det, det->sitem2, sizeof(uint64_t), 0, &st);
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
        det->rowmax = lazy_n(ctx, det, det->rowmax, (size_t)det->rows * KM_ROW_LANES,
                             sizeof(float), 0, &st);
    if (!fast)
        det->wmax = lazy(ctx, det, det->wmax, sizeof(float), 0, &st);
    if (p->min_distance > 1)
        det->kept = lazy(ctx, det, det->kept, 1, 1, &st);
    if (p->plateau == KM_PLATEAU_ONE)
        det->label = lazy(ctx, det, det->label, sizeof(uint32_t), 1, &st);
    if (p->plateau == KM_PLATEAU_ONE || prom) /* + 1: km_basin_area */
        det->stack = lazy_n(ctx, det, det->stack, det->n + 1, sizeof(uint32_t), 0, &st);
    if (prom) {
        lazy_prominence(ctx, det, &st);
        det->death = lazy(ctx, det, det->death, sizeof(float), 0, &st);
        det->anchors = lazy(ctx, det, det->anchors, sizeof(uint32_t), 0, &st);
    }
    if ((p->want & KM_WANT_AREA))
        det->stamps = lazy_n(ctx, det, det->stamps, KM_PADDED_N(det->rows, det->cols), 4, 1, &st);
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

static void sanitise(const km_frame *f, const km_mask *m, float *san, int avx2)
{
    int32_t rows = f->rows, cols = f->cols;
    for (int32_t i = 0; i < rows; i++) {
        const float *src = f->data + (ptrdiff_t)i * f->row_stride;
        float *dst = san + (size_t)i * (size_t)cols;
        const uint8_t *mr = m != NULL && m->data != NULL ? m->data + (ptrdiff_t)i * m->row_stride
                                                         : NULL;
        (avx2 ? km_sanitise_row_avx2 : km_sanitise_row_portable)(src, mr, cols, dst);
    }
}

/* The raster-ordered candidates sorted by value descending (the total
 * order): items (km_desc_key(value) << 32 | raster index) through
 * km_keysort; returns the sorted array. */
static const uint64_t *sort_candidates(km_detector *det, const km_frame *f, size_t nc)
{
    uint64_t *item = det->sitem;
    const uint32_t *idx = det->idx;
    uint32_t cols = (uint32_t)f->cols;
    if (f->row_stride == f->cols) {
        for (size_t k = 0; k < nc; k++)
            item[k] = (uint64_t)km_desc_key(f->data[idx[k]]) << 32 | idx[k];
    } else {
        for (size_t k = 0; k < nc; k++) {
            uint32_t i = idx[k];
            float v = f->data[(ptrdiff_t)(i / cols) * f->row_stride + i % cols];
            item[k] = (uint64_t)km_desc_key(v) << 32 | i;
        }
    }
    return km_keysort(item, det->sitem2, nc);
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
    size_t out = 0, moved = 0;

    for (size_t k = 0; k < ns; k++)
        label[seeds[k].i] = 1;
    for (size_t k = 0; k < ns; k++) {
        km_seed s = seeds[k];
        if (!label[s.i])
            continue;
        /* A seed inside the grid with no seed among its 8 neighbours is a
           plateau of one taxel: what the fill below gives it (centroid its
           own row and column, anchor itself, no flag), without the fill's
           nine bounds tests (most seeds; ~1.6% of a quantised mat's
           instructions went to them, bench/HISTORY.md "Session 45 (fix21)"). */
        uint32_t r0 = s.i / (uint32_t)cols, c0 = s.i % (uint32_t)cols, w = (uint32_t)cols;
        if (r0 >= 1 && r0 + 1 < (uint32_t)rows && c0 >= 1 && c0 + 1 < w &&
            (label[s.i - w - 1] | label[s.i - w] | label[s.i - w + 1] | label[s.i - 1] |
             label[s.i + 1] | label[s.i + w - 1] | label[s.i + w] | label[s.i + w + 1]) == 0) {
            label[s.i] = 0;
            km_seed o = {s.v, s.i, s.i, 0u, (double)r0, (double)c0};
            seeds[out++] = o;
            continue;
        }
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
        moved |= best != s.i;
    }
    if (moved) /* else still in order (qsort was ~1% of the command's instructions) */
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
                               float level, int avx2)
{
    for (size_t k = 0; k < ns; k++)
        det->anchors[k] = seeds[k].anchor;
    det->prom.rowmax = det->rowmax_ok ? det->rowmax : NULL;
    km_persistence(det->san, det->rows, det->cols, vmin, level, &det->prom, det->anchors, ns,
                   det->death, avx2, &det->prom_below);
}

static km_status check_apply(km_ctx *ctx, const km_detector *det, const km_frame *frame,
                             const km_mask *mask, const km_peak *peaks, size_t capacity,
                             const size_t *n_peaks)
{
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
    return KM_OK;
}

/* The detection threshold: threshold_abs (else the frame minimum), raised
 * to threshold_rel * max; in float32 as numpy compares a float32 image
 * with a float64 scalar. */
static float threshold(const km_peak_params *p, const km_frame_stats *fs)
{
    double t = isnan(p->threshold_abs) ? (double)fs->min : p->threshold_abs;
    if (p->threshold_rel > 0.0 && p->threshold_rel * (double)fs->max > t)
        t = p->threshold_rel * (double)fs->max;
    return t > FLT_MAX ? INFINITY : (t < -FLT_MAX ? -INFINITY : (float)t);
}

/* The 3x3 fast path (r = 1, no mask, all finite).  Raster order
 * throughout (ring taxels in place), so that a stable sort by value alone
 * yields the total order.  Returns the number of candidates in det->idx. */
static size_t find_fast(km_detector *det, const km_frame *frame, int32_t b, float thr, int avx2)
{
    const float *d = frame->data;
    ptrdiff_t fst = frame->row_stride;
    int32_t rows = det->rows, cols = det->cols;
    size_t nc = 0;
    if (b == 0 && (rows < 3 || cols < 3)) {
        for (int32_t i = 0; i < rows; i++)
            for (int32_t j = 0; j < cols; j++)
                if (km_lmax3_clipped(d, fst, rows, cols, i, j, thr))
                    det->idx[nc++] = (uint32_t)i * (uint32_t)cols + (uint32_t)j;
        return nc;
    }
    int32_t e = b > 1 ? b : 1;
    if (b == 0)
        nc += km_lmax3_edge_row(d, fst, rows, cols, 0, thr, det->idx + nc);
    if (e <= rows - 1 - e && e <= cols - 1 - e)
        nc += (avx2 ? km_lmax3_avx2 : km_lmax3_portable)(d, fst, rows, cols, e, rows - 1 - e, e,
                                                          cols - 1 - e, b == 0, thr, det->hbuf,
                                                          det->idx + nc);
    if (b == 0)
        nc += km_lmax3_edge_row(d, fst, rows, cols, rows - 1, thr, det->idx + nc);
    return nc;
}

/* The general path (mask, non-finite values or r > 1) on the sanitised
 * copy: the (2r+1)^2 window max and one compare sweep, in raster order
 * (with AVX2 in one pass: km_window_peaks_avx2). */
static size_t find_general(km_detector *det, int32_t b, float thr, int avx2)
{
    int32_t rows = det->rows, cols = det->cols;
    size_t nc = 0;
    if (avx2 && (nc = km_window_peaks_avx2(det->san, det->tmp, rows, cols, det->p.min_distance, b,
                                           thr, det->rowmax_ok ? det->rowmax : NULL,
                                           det->idx)) != SIZE_MAX)
        return nc;
    nc = 0;
    (avx2 ? km_window_max_avx2 : km_window_max_portable)(det->san, det->tmp, det->wmax, rows, cols,
                                                         det->p.min_distance);
    for (int32_t i = b; i < rows - b; i++) {
        const float *s = det->san + (size_t)i * (size_t)cols;
        const float *w = det->wmax + (size_t)i * (size_t)cols;
        uint32_t base = (uint32_t)i * (uint32_t)cols;
        nc += (avx2 ? km_cmp_row_avx2 : km_cmp_row_portable)(s, w, b, cols - b, thr, base,
                                                             det->idx + nc);
    }
    return nc;
}

/* The nc candidates as seeds in the total order, plateaus merged, thinned
 * to min_distance; returns how many are left. */
static size_t make_seeds(km_detector *det, const km_frame *frame, size_t nc)
{
    km_seed *seeds = det->seeds;
    uint32_t cols = (uint32_t)det->cols;
    const uint64_t *sorted = sort_candidates(det, frame, nc);
    for (size_t k = 0; k < nc; k++) {
        uint32_t i = (uint32_t)sorted[k];
        uint32_t ri = i / cols, ci = i - ri * cols;
        km_seed s = {km_key_value((uint32_t)(sorted[k] >> 32)), i, i, 0u, (double)ri, (double)ci};
        seeds[k] = s;
    }
    size_t ns = nc;
    if (det->p.plateau == KM_PLATEAU_ONE) {
        ns = merge_plateaus(det, seeds, ns);
        /* At min_distance 2 (the pipeline's) thinning drops nothing here:
           a candidate is >= every taxel within 2 of it, so two candidates
           closer than 2 (8-adjacent) are equal and in one plateau, which
           merge_plateaus made one seed; seeds of two plateaus are never
           8-adjacent.  The pass over each seed's 3x3 block is skipped. */
        if (det->p.min_distance == 2)
            return ns;
    }
    return thin(det, seeds, ns);
}

/* min_prominence: drops the seeds less prominent (their deaths are kept in
 * step); returns how many are left. */
static size_t drop_flat(km_detector *det, size_t ns, float vmin, float thr, int avx2)
{
    km_seed *seeds = det->seeds;
    size_t keep = 0;
    compute_prominence(det, seeds, ns, vmin, thr, avx2);
    for (size_t k = 0; k < ns; k++) {
        if ((double)seeds[k].v - (double)det->death[k] >= det->p.min_prominence) {
            seeds[keep] = seeds[k];
            det->death[keep] = det->death[k];
            keep++;
        }
    }
    return keep;
}

/* Peak k from seed k: position, flags, sub-pixel fit, prominence, area. */
static void fill_peak(km_detector *det, const km_frame *frame, const km_mask *mask, size_t k,
                      int prom, int avx2, km_peak *pk)
{
    const km_peak_params *p = &det->p;
    const km_seed *s = &det->seeds[k];
    int32_t rows = det->rows, cols = det->cols, r = p->min_distance;
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
        if (km_subpixel(frame->data, frame->row_stride, rows, cols, ri, ci, mask, &pk->y, &pk->x))
            pk->flags |= KM_PEAK_FIT_FALLBACK;
    }
    pk->prominence = NAN;
    pk->area_taxels = -1;
    if (!prom)
        return;
    double death = (double)det->death[k];
    pk->prominence = (float)((double)s->v - death);
    if (p->want & KM_WANT_AREA) {
        if (++det->stamp == 0) {
            memset(det->stamps, 0, KM_PADDED_N(rows, cols) * sizeof *det->stamps);
            det->stamp = 1;
        }
        pk->area_taxels = km_basin_area(det->prom.pad, cols, s->anchor, 0.5 * ((double)s->v + death),
                                        det->stamps, det->stamp, det->stack, avx2);
    }
}

km_status km_detector_apply_isa(km_ctx *ctx, km_detector *det, const km_frame *frame,
                                const km_mask *mask, km_peak *peaks, size_t capacity,
                                size_t *n_peaks, km_isa isa)
{
    km_status st;
    km_frame_stats fs;
    size_t nc = 0, count = 0;

    if (n_peaks != NULL)
        *n_peaks = 0;
    if ((st = check_apply(ctx, det, frame, mask, peaks, capacity, n_peaks)) != KM_OK)
        return st;
    if (mask != NULL && mask->data == NULL)
        mask = NULL;
    const km_peak_params *p = &det->p;
    int avx2 = isa == KM_ISA_AVX2 || (isa == KM_ISA_AUTO && det->has_avx2);
    det->rowmax_ok = 0;
    if (avx2 && !det->has_avx2)
        return km_fail(ctx, KM_ERR_UNSUPPORTED, "peaks: this CPU has no AVX2");

    int prom = need_prominence(p);
    if (mask != NULL) {
        /* The general path sanitises anyway: the statistics come from that
           copy (one vectorised pass instead of a scalar one per taxel). */
        if ((st = ensure_scratch(ctx, det, 0, prom)) != KM_OK)
            goto done;
        if (avx2) {
            km_sanitise_stats_avx2(frame, mask, det->san, det->rowmax, &fs);
            det->rowmax_ok = 1;
        } else {
            sanitise(frame, mask, det->san, avx2);
            km_stats_sanitised_portable(det->san, det->n, &fs);
        }
    } else {
        (avx2 ? km_stats_avx2 : km_stats_portable)(frame->data, frame->row_stride, det->rows,
                                                   det->cols, &fs);
    }
    fs.min += 0.0f;
    fs.max += 0.0f;
    /* A constant frame has no peaks (one valid taxel is not "constant"). */
    if (fs.n_valid == 0 || (fs.n_valid >= 2 && fs.min == fs.max))
        goto done;
    float thr = threshold(p, &fs);
    int32_t b = p->exclude_border < 0 ? p->min_distance : p->exclude_border;
    int fast = mask == NULL && fs.all_finite && p->min_distance == 1;
    if (mask == NULL) {
        if ((st = ensure_scratch(ctx, det, fast, prom)) != KM_OK)
            goto done;
        if (!fast || prom)
            sanitise(frame, mask, det->san, avx2);
    }
    nc = fast ? find_fast(det, frame, b, thr, avx2) : find_general(det, b, thr, avx2);
    if (nc == 0)
        goto done;
    if ((st = grow_seeds(ctx, det, nc)) != KM_OK)
        goto done;
    size_t ns = make_seeds(det, frame, nc);
    if (p->min_prominence > 0.0)
        ns = drop_flat(det, ns, fs.min, thr, avx2);
    count = ns;
    if (p->num_peaks >= 0 && (uint64_t)p->num_peaks < (uint64_t)count)
        count = (size_t)p->num_peaks;
    size_t nw = count < capacity ? count : capacity;
    if (prom && !(p->min_prominence > 0.0))
        compute_prominence(det, det->seeds, nw, fs.min, thr, avx2);
    for (size_t k = 0; k < nw; k++)
        fill_peak(det, frame, mask, k, prom, avx2, &peaks[k]);
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
