/* Body map: what the sensor pressed, in body coordinates
 * (docs/ALGORITHMS.md 7.2): per cell of the body grid (bodygrid.c) the
 * maximum and mean of the samples deposited there and the passes that
 * covered it.  km_bodymap_* is a body grid with this one layer. */
#include <math.h>
#include <string.h>

#include "bodygrid_internal.h"

#if KM_AVX2_TARGET
#include <immintrin.h>
#endif

struct km_bodymap {
    km_bodygrid *g;
};

void km_bodymap_params_default(km_bodymap_params *p)
{
    if (p == NULL)
        return;
    p->contact_half_rows = 1;
    p->contact_threshold = 5.0;
    p->pass_gap_frames = 5;
    p->max_extent_mm = 100000.0;
}

static void touch(km_bodygrid *g, size_t i, float v, int in_contact)
{
    if (v > g->max[i])
        g->max[i] = v;
    g->sum[i] += v;
    g->n[i]++;
    if (in_contact) {
        if (km_grid_new_pass(g->last[i], g->frame, g->rule.pass_gap_frames))
            g->cov[i]++;
        g->last[i] = g->frame;
    }
}

void km_body_layer_row_plain(km_bodygrid *g, const float *row, const uint8_t *on, size_t off,
                             int32_t from)
{
    for (int32_t col = from; col < g->cols; col++)
        if (on[col])
            touch(g, off + (size_t)col, row[col], 1);
}

#if KM_AVX2_TARGET
/* touch() on the four cells at i (each lane its own cell: no two lanes
   share one) holding v: the lanes in `on` touched (the maximum by a blend,
   the count in int64 lanes, the sum in double lanes), the pass rule on
   those in `in` (in contact).  A lane not touched adds +0.0 to its sum,
   which keeps the sum's bits (it starts at +0.0 and a sum never becomes
   -0.0) whatever v holds there (NaN included). */
__attribute__((target("avx2"), always_inline)) static inline void
touch4(km_bodygrid *g, size_t i, __m128 v, __m128i on32, __m128i in32)
{
    const __m256i frame = _mm256_set1_epi64x(g->frame), zero = _mm256_setzero_si256();
    const __m256i gap1 = _mm256_set1_epi64x((int64_t)g->rule.pass_gap_frames + 1);
    const __m256i lo32 = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    __m256i on64 = _mm256_cvtepi32_epi64(on32), in64 = _mm256_cvtepi32_epi64(in32);
    __m128 mx = _mm_loadu_ps(g->max + i);
    __m128 up = _mm_and_ps(_mm_castsi128_ps(on32), _mm_cmpgt_ps(v, mx));
    _mm_storeu_ps(g->max + i, _mm_blendv_ps(mx, v, up));
    __m256d vd = _mm256_and_pd(_mm256_castsi256_pd(on64), _mm256_cvtps_pd(v));
    _mm256_storeu_pd(g->sum + i, _mm256_add_pd(_mm256_loadu_pd(g->sum + i), vd));
    __m256i *n = (__m256i *)(void *)(g->n + i), *last = (__m256i *)(void *)(g->last + i);
    _mm256_storeu_si256(n, _mm256_sub_epi64(_mm256_loadu_si256(n), on64));
    /* km_grid_new_pass: last < 0 || frame - last - 1 > gap. */
    __m256i l = _mm256_loadu_si256(last);
    __m256i fresh = _mm256_or_si256(_mm256_cmpgt_epi64(zero, l),
                                    _mm256_cmpgt_epi64(_mm256_sub_epi64(frame, l), gap1));
    fresh = _mm256_and_si256(fresh, in64);
    __m128i f32 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(fresh, lo32));
    __m128i *cov = (__m128i *)(void *)(g->cov + i);
    _mm_storeu_si128(cov, _mm_sub_epi32(_mm_loadu_si128(cov), f32));
    _mm256_storeu_si256(last, _mm256_blendv_epi8(l, frame, in64));
}

/* Four bytes of a row's flags (nonzero: set) as four int32 lanes of all ones. */
__attribute__((target("avx2"), always_inline)) static inline __m128i flags4(const uint8_t *b)
{
    int32_t ob;
    memcpy(&ob, b, sizeof ob);
    return _mm_cmpgt_epi32(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(ob)), _mm_setzero_si128());
}

/* A roller row: the cells where on[], all in contact (touch4).  Returns the
   first column it did not do. */
__attribute__((target("avx2"))) static int32_t body_row_avx2(km_bodygrid *g, const float *row,
                                                             const uint8_t *on, size_t off)
{
    int32_t x = 0;
    for (; x + 4 <= g->cols; x += 4) {
        __m128i on32 = flags4(on + x);
        touch4(g, off + (size_t)x, _mm_loadu_ps(row + x), on32, on32);
    }
    return x;
}
#endif

void km_body_layer_row(km_bodygrid *g, const float *row, const uint8_t *on, size_t off)
{
    int32_t from = 0;
#if KM_AVX2_TARGET
    if (km_cpu_avx2())
        from = body_row_avx2(g, row, on, off);
#endif
    km_body_layer_row_plain(g, row, on, off, from);
}

void km_body_layer_mat_row_plain(km_bodygrid *g, const float *row, const uint8_t *valid,
                                 size_t off, int32_t from)
{
    for (int32_t c = from; c < g->cols; c++)
        if ((valid == NULL || valid[c] != 0) && isfinite(row[c]))
            touch(g, off + (size_t)c, row[c], row[c] > g->rule.contact_threshold);
}

#if KM_AVX2_TARGET
/* A mat row (touch4): the cells touched those valid (mask byte nonzero,
   NULL: all) and finite, the pass rule on those of them above the contact
   threshold (a NaN or an infinity is neither). */
__attribute__((target("avx2"))) static int32_t mat_row_avx2(km_bodygrid *g, const float *row,
                                                            const uint8_t *valid, size_t off)
{
    const __m128 inf = _mm_set1_ps(INFINITY), sign = _mm_set1_ps(-0.0f);
    const __m128 thr = _mm_set1_ps((float)g->rule.contact_threshold);
    const double thr_d = g->rule.contact_threshold;
    if ((double)(float)thr_d != thr_d)
        return 0; /* v > thr compared in float would differ from the double test */
    int32_t x = 0;
    for (; x + 4 <= g->cols; x += 4) {
        __m128 v = _mm_loadu_ps(row + x);
        __m128 on = _mm_cmplt_ps(_mm_andnot_ps(sign, v), inf); /* finite */
        if (valid != NULL)
            on = _mm_and_ps(on, _mm_castsi128_ps(flags4(valid + x)));
        __m128 in = _mm_and_ps(on, _mm_cmpgt_ps(v, thr));
        touch4(g, off + (size_t)x, v, _mm_castps_si128(on), _mm_castps_si128(in));
    }
    return x;
}
#endif

void km_body_layer_mat_row(km_bodygrid *g, const float *row, const uint8_t *valid, size_t off)
{
    int32_t from = 0;
#if KM_AVX2_TARGET
    if (km_cpu_avx2())
        from = mat_row_avx2(g, row, valid, off);
#endif
    km_body_layer_mat_row_plain(g, row, valid, off, from);
}

#if KM_AVX2_TARGET
/* out = flags and b both nonzero, as bytes 0 / 1, sixteen at a time (SSE2);
   a row's last 1-15 as its last sixteen again (each byte its own taxel's:
   the overlap rewrites the same values).  Returns where it stopped (0 on
   rows under sixteen). */
static int32_t both_set16(uint8_t *restrict out, const uint8_t *flags, const uint8_t *b,
                          int32_t cols)
{
    const __m128i zero = _mm_setzero_si128(), one = _mm_set1_epi8(1);
    if (cols < 16)
        return 0;
    for (int32_t x = 0;; x += 16) {
        if (x + 16 > cols)
            x = cols - 16;
        __m128i f = _mm_loadu_si128((const __m128i *)(const void *)(flags + x));
        __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(b + x));
        __m128i unset = _mm_or_si128(_mm_cmpeq_epi8(f, zero), _mm_cmpeq_epi8(c, zero));
        _mm_storeu_si128((__m128i *)(void *)(out + x), _mm_andnot_si128(unset, one));
        if (x + 16 == cols)
            return cols;
    }
}
#endif

const uint8_t *km_body_layer_leave_out(km_bodygrid *g, const float *row, const uint8_t *flags,
                                       int32_t r, size_t off)
{
    if (g->bmask == NULL)
        return flags;
    const int32_t cols = g->cols; /* a local: the byte stores below may alias g */
    const uint8_t *b = g->bmask + (size_t)r * (size_t)cols;
    uint8_t *restrict out = g->brow;
    if (flags == NULL) {
        memcpy(out, b, (size_t)cols);
    } else {
        int32_t x = 0;
#if KM_AVX2_TARGET
        x = both_set16(out, flags, b, cols);
#endif
        for (; x < cols; x++)
            out[x] = (uint8_t)((flags[x] != 0) & (b[x] != 0));
    }
    /* The left-out taxels' samples that touch() would take (a roller's
       taxel in contact, a mat's valid and finite one) go to xmax. */
    int any_value = g->mode == KM_MODE_ROLLER;
    for (int32_t k = g->bout[r]; k < g->bout[r + 1]; k++) {
        int32_t x = g->bout[k];
        float v = row[x];
        if ((flags == NULL || flags[x] != 0) && (any_value || isfinite(v)) &&
            v > g->xmax[off + (size_t)x])
            g->xmax[off + (size_t)x] = v;
    }
    return out;
}

void km_body_layer_pressure(const km_bodygrid *g, float *out)
{
    int32_t ny = 0, nx = 0;
    km_bodygrid_shape(g, &ny, &nx, NULL, NULL, NULL);
    for (int32_t y = 0; y < ny; y++) {
        size_t src = (size_t)(g->lo + y - g->base) * (size_t)nx;
        for (int32_t x = 0; x < nx; x++) {
            size_t i = src + (size_t)x;
            float m = g->xmax[i] > g->max[i] ? g->xmax[i] : g->max[i];
            out[(size_t)y * (size_t)nx + (size_t)x] = g->n[i] > 0 || m > -INFINITY ? m : NAN;
        }
    }
}

static void drop_bodymap_mask(km_bodygrid *g)
{
    km_ref_free(&g->alloc, g->bmask);
    km_ref_free(&g->alloc, g->brow);
    km_ref_free(&g->alloc, g->bout);
    g->bmask = g->brow = NULL;
    g->bout = NULL;
}

km_status km_bodygrid_set_bodymap_mask(km_ctx *ctx, km_bodygrid *g, const uint8_t *mask)
{
    if (g == NULL || !(g->layers & KM_GRID_BODYMAP))
        return km_fail(ctx, KM_ERR_INVALID, "body map mask: NULL grid or no body map layer");
    drop_bodymap_mask(g);
    if (mask == NULL)
        return KM_OK;
    size_t rc = (size_t)g->rows * (size_t)g->cols, n_out = 0;
    for (size_t k = 0; k < rc; k++)
        n_out += mask[k] == 0;
    g->bmask = km_ref_alloc(&g->alloc, rc);
    g->brow = km_ref_alloc(&g->alloc, (size_t)g->cols);
    g->bout = km_ref_alloc(&g->alloc, ((size_t)g->rows + 1 + n_out) * sizeof *g->bout);
    if (g->bmask == NULL || g->brow == NULL || g->bout == NULL) {
        drop_bodymap_mask(g);
        return km_fail(ctx, KM_ERR_NOMEM, "body map mask: out of memory");
    }
    memcpy(g->bmask, mask, rc);
    int32_t at = g->rows + 1;
    for (int32_t r = 0; r < g->rows; r++) {
        g->bout[r] = at;
        for (int32_t x = 0; x < g->cols; x++)
            if (mask[(size_t)r * (size_t)g->cols + (size_t)x] == 0)
                g->bout[at++] = x;
    }
    g->bout[g->rows] = at;
    return KM_OK;
}

void km_body_layer_mat(km_bodygrid *g, const km_frame *f, const km_mask *m)
{
    for (int32_t r = 0; r < g->rows; r++) {
        const uint8_t *valid =
            m != NULL && m->data != NULL ? m->data + (ptrdiff_t)r * m->row_stride : NULL;
        const float *row = f->data + (ptrdiff_t)r * f->row_stride;
        size_t off = (size_t)r * (size_t)g->cols;
        km_body_layer_mat_row(g, row, km_body_layer_leave_out(g, row, valid, r, off), off);
    }
}

km_status km_bodygrid_bodymap(km_ctx *ctx, const km_bodygrid *g, float *max, float *mean,
                              int32_t *coverage, size_t capacity, size_t *needed)
{
    if (g == NULL || !(g->layers & KM_GRID_BODYMAP))
        return km_fail(ctx, KM_ERR_INVALID, "body map: NULL grid or no body map layer");
    int32_t ny = 0, nx = 0;
    km_bodygrid_shape(g, &ny, &nx, NULL, NULL, NULL);
    size_t cells = (size_t)ny * (size_t)nx;
    if (needed)
        *needed = cells;
    if (capacity < cells)
        return km_fail(ctx, KM_ERR_CAPACITY, "body map: %zu cells needed, capacity %zu", cells,
                       capacity);
    for (int32_t y = 0; y < ny; y++) {
        size_t src = (size_t)(g->lo + y - g->base) * (size_t)nx;
        for (int32_t x = 0; x < nx; x++) {
            size_t i = src + (size_t)x, o = (size_t)y * (size_t)nx + (size_t)x;
            int any = g->n[i] > 0;
            if (max)
                max[o] = any ? g->max[i] : NAN;
            if (mean)
                mean[o] = any ? (float)(g->sum[i] / (double)g->n[i]) : NAN;
            if (coverage)
                coverage[o] = g->cov[i];
        }
    }
    return KM_OK;
}

km_status km_bodymap_create(km_ctx *ctx, int32_t mode, int32_t rows, int32_t cols, double row_pitch_mm,
                            double col_pitch_mm, const km_bodymap_params *p, km_bodymap **out)
{
    km_status st = KM_OK;
    km_bodymap *b = NULL;
    if (out == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "bodymap: NULL out");
    *out = NULL;
    if ((b = km_calloc(ctx, 1, sizeof *b)) == NULL)
        return KM_ERR_NOMEM;
    st = km_bodygrid_create(ctx, mode, rows, cols, row_pitch_mm, col_pitch_mm, p, NULL,
                            KM_GRID_BODYMAP, &b->g);
    if (st != KM_OK) {
        km_free(ctx, b);
        return st;
    }
    *out = b;
    return KM_OK;
}

void km_bodymap_free(km_bodymap *b)
{
    if (b == NULL)
        return;
    km_alloc_ref a = b->g->alloc;
    km_bodygrid_free(b->g);
    km_ref_free(&a, b);
}

km_status km_bodymap_add(km_ctx *ctx, km_bodymap *b, const km_frame *frame, const km_mask *mask,
                         const km_odometry_sample *odo)
{
    if (b == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "bodymap: NULL argument");
    return km_bodygrid_add(ctx, b->g, frame, mask, odo, 0.0);
}

void km_bodymap_shape(const km_bodymap *b, int32_t *ny, int32_t *nx, double *y0_mm, double *y_pitch_mm,
                      double *x_pitch_mm)
{
    km_bodygrid_shape(b != NULL ? b->g : NULL, ny, nx, y0_mm, y_pitch_mm, x_pitch_mm);
}

km_status km_bodymap_get(km_ctx *ctx, const km_bodymap *b, float *max, float *mean, int32_t *coverage,
                         size_t capacity, size_t *needed)
{
    return km_bodygrid_bodymap(ctx, b != NULL ? b->g : NULL, max, mean, coverage, capacity, needed);
}
