/* Separable Gaussian smoothing, defined as scipy.ndimage.gaussian_filter
 * (docs/ALGORITHMS.md section 2).
 *
 * Rows (axis 0) are filtered first, then columns, with the intermediate
 * stored as float32, which is what scipy does for float32 input.  The
 * vertical pass combines whole rows (unit stride, vectorised); the
 * horizontal pass runs in place on each output row through a line buffer
 * holding the row and its border extension.  Accumulation is in float: the
 * weights are positive, so the relative error stays near 1e-7. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "internal.h"

/* Kernels wider than this are refused: a direct filter that long is the
 * wrong tool (and the index tables would be huge). */
#define KM_GAUSS_MAX_RADIUS (1 << 20)
/* Line buffers up to this many floats live on the stack. */
#define KM_GAUSS_STACK_LINE 4096

struct km_gaussian {
    km_alloc_ref ref;
    int32_t rows, cols;
    km_border border;
    float cval;
    int32_t rad_r, rad_c;      /* radius along rows/cols; 0 = identity */
    float *w_r, *w_c;          /* half kernels w[0..rad] */
    int32_t *ext_r;            /* rows + 2*rad_r: source row, -1 = cval */
    int32_t *ext_c;            /* cols + 2*rad_c: source col, -1 = cval */
    float *cval_row;           /* cols copies of cval (constant mode) */
    uint8_t *ones_row;         /* cols ones: the outside counts as valid */
};

km_status km_border_parse(const char *name, km_border *out)
{
    static const char *const names[] = {"nearest", "reflect", "mirror", "constant", "wrap"};
    if (name == NULL || out == NULL)
        return KM_ERR_INVALID;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (km_border)i;
            return KM_OK;
        }
    }
    return KM_ERR_INVALID;
}

void km_gaussian_params_default(km_gaussian_params *p)
{
    if (p == NULL)
        return;
    p->sigma_rows = 1.0;
    p->sigma_cols = 1.0;
    p->truncate = 4.0;
    p->border = KM_BORDER_NEAREST;
    p->cval = 0.0;
}

/* Source index of extended position p (any integer) on a line of n, as
 * scipy.ndimage extends lines; the extension keeps reflecting or wrapping
 * when the kernel is wider than the line.  -1 = outside value (cval). */
static int32_t border_index(int64_t p, int64_t n, km_border mode)
{
    int64_t q;
    if (p >= 0 && p < n)
        return (int32_t)p;
    switch (mode) {
    case KM_BORDER_NEAREST:
        return p < 0 ? 0 : (int32_t)(n - 1);
    case KM_BORDER_REFLECT:
        q = p % (2 * n);
        if (q < 0)
            q += 2 * n;
        return (int32_t)(q < n ? q : 2 * n - 1 - q);
    case KM_BORDER_MIRROR:
        if (n == 1)
            return 0;
        q = p % (2 * n - 2);
        if (q < 0)
            q += 2 * n - 2;
        return (int32_t)(q < n ? q : 2 * n - 2 - q);
    case KM_BORDER_WRAP:
        q = p % n;
        return (int32_t)(q < 0 ? q + n : q);
    case KM_BORDER_CONSTANT:
    default:
        return -1;
    }
}

/* The scipy kernel exp(-x^2 / (2 sigma^2)) normalised to sum 1 over
 * [-radius, radius], computed in double; only the half w[0..radius] is
 * kept since it is symmetric. */
static void make_half_kernel(double sigma, int32_t radius, float *w)
{
    double sum = 0.0, tmp;
    for (int32_t k = 0; k <= radius; k++) {
        tmp = exp(-0.5 * (double)k * (double)k / (sigma * sigma));
        sum += k == 0 ? tmp : 2.0 * tmp;
    }
    for (int32_t k = 0; k <= radius; k++)
        w[k] = (float)(exp(-0.5 * (double)k * (double)k / (sigma * sigma)) / sum);
}

static km_status radius_of(km_ctx *ctx, double sigma, double truncate, const char *what,
                           int32_t *radius)
{
    double r;
    if (!(sigma >= 0.0) || !isfinite(sigma))
        return km_fail(ctx, KM_ERR_INVALID, "gaussian: %s %g must be finite and >= 0", what, sigma);
    /* scipy skips an axis whose sigma is this small. */
    if (sigma <= 1e-15) {
        *radius = 0;
        return KM_OK;
    }
    r = truncate * sigma + 0.5;
    if (r > (double)KM_GAUSS_MAX_RADIUS)
        return km_fail(ctx, KM_ERR_LIMIT, "gaussian: %s %g with truncate %g gives a kernel "
                       "radius above %d", what, sigma, truncate, KM_GAUSS_MAX_RADIUS);
    *radius = (int32_t)r;
    return KM_OK;
}

void km_gaussian_free(km_gaussian *g)
{
    km_alloc_ref ref;
    if (g == NULL)
        return;
    ref = g->ref;
    km_ref_free(&ref, g->w_r);
    km_ref_free(&ref, g->w_c);
    km_ref_free(&ref, g->ext_r);
    km_ref_free(&ref, g->ext_c);
    km_ref_free(&ref, g->cval_row);
    km_ref_free(&ref, g->ones_row);
    km_ref_free(&ref, g);
}

km_status km_gaussian_create(km_ctx *ctx, int32_t rows, int32_t cols, const km_gaussian_params *p,
                             km_gaussian **out)
{
    km_status st = KM_OK;
    km_gaussian *g = NULL;
    int32_t rr = 0, rc = 0;

    if (out == NULL || p == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "gaussian: NULL argument");
    *out = NULL;
    st = km_check_shape(ctx, rows, cols, "gaussian");
    if (st != KM_OK)
        return st;
    if (!(p->truncate > 0.0) || !isfinite(p->truncate))
        return km_fail(ctx, KM_ERR_INVALID, "gaussian: truncate %g must be finite and > 0",
                       p->truncate);
    if ((int)p->border < KM_BORDER_NEAREST || (int)p->border > KM_BORDER_WRAP)
        return km_fail(ctx, KM_ERR_INVALID, "gaussian: unknown border mode %d", (int)p->border);
    if (!isfinite(p->cval))
        return km_fail(ctx, KM_ERR_INVALID, "gaussian: cval must be finite");
    st = radius_of(ctx, p->sigma_rows, p->truncate, "sigma_rows", &rr);
    if (st != KM_OK)
        return st;
    st = radius_of(ctx, p->sigma_cols, p->truncate, "sigma_cols", &rc);
    if (st != KM_OK)
        return st;

    g = km_calloc(ctx, 1, sizeof *g);
    if (g == NULL)
        return KM_ERR_NOMEM;
    g->ref = km_ctx_alloc_ref(ctx);
    g->rows = rows;
    g->cols = cols;
    g->border = p->border;
    g->cval = (float)p->cval;
    g->rad_r = rr;
    g->rad_c = rc;
    g->w_r = km_alloc(ctx, ((size_t)rr + 1) * sizeof *g->w_r);
    g->w_c = km_alloc(ctx, ((size_t)rc + 1) * sizeof *g->w_c);
    g->ext_r = km_alloc(ctx, ((size_t)rows + 2 * (size_t)rr) * sizeof *g->ext_r);
    g->ext_c = km_alloc(ctx, ((size_t)cols + 2 * (size_t)rc) * sizeof *g->ext_c);
    g->cval_row = km_alloc(ctx, (size_t)cols * sizeof *g->cval_row);
    g->ones_row = km_alloc(ctx, (size_t)cols);
    if (g->w_r == NULL || g->w_c == NULL || g->ext_r == NULL || g->ext_c == NULL ||
        g->cval_row == NULL || g->ones_row == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    if (rr > 0)
        make_half_kernel(p->sigma_rows, rr, g->w_r);
    else
        g->w_r[0] = 1.0f;
    if (rc > 0)
        make_half_kernel(p->sigma_cols, rc, g->w_c);
    else
        g->w_c[0] = 1.0f;
    for (int64_t i = 0; i < (int64_t)rows + 2 * rr; i++)
        g->ext_r[i] = border_index(i - rr, rows, p->border);
    for (int64_t i = 0; i < (int64_t)cols + 2 * rc; i++)
        g->ext_c[i] = border_index(i - rc, cols, p->border);
    for (int32_t c = 0; c < cols; c++)
        g->cval_row[c] = g->cval;
    memset(g->ones_row, 1, (size_t)cols);
    *out = g;
    g = NULL;
done:
    km_gaussian_free(g);
    return st;
}

/* ---------------------------------------------------------------------- */

static const float *src_row(const km_gaussian *g, const km_frame *in, int32_t ext_pos)
{
    int32_t r = g->ext_r[ext_pos];
    return r < 0 ? g->cval_row : in->data + (ptrdiff_t)r * in->row_stride;
}

static const uint8_t *mask_row(const km_gaussian *g, const km_mask *m, int32_t ext_pos)
{
    int32_t r = g->ext_r[ext_pos];
    return r < 0 ? g->ones_row : m->data + (ptrdiff_t)r * m->row_stride;
}

/* The symmetric FIR both passes share: o[c] = w[0] c0[c] +
 * sum_k w[k] (lo[k][c] + hi[k][c]), k = 1..rad.  Columns go in chunks
 * whose accumulators stay in registers across the taps (one store per
 * output instead of one per tap).  Built twice, for AVX2 and for the
 * baseline, chosen at load time; no FMA, so both give the same bits. */
#define KM_GAUSS_CHUNK 32
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define KM_GAUSS_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef KM_GAUSS_CLONES
#define KM_GAUSS_CLONES
#endif

KM_GAUSS_CLONES
static void sym_conv(float *restrict o, const float *restrict c0, const float *const *lo,
                     const float *const *hi, const float *restrict w, int32_t rad, int32_t n)
{
    int32_t c = 0;
    for (; c + KM_GAUSS_CHUNK <= n; c += KM_GAUSS_CHUNK) {
        float acc[KM_GAUSS_CHUNK];
        for (int32_t j = 0; j < KM_GAUSS_CHUNK; j++)
            acc[j] = w[0] * c0[c + j];
        for (int32_t k = 1; k <= rad; k++) {
            const float *restrict a = lo[k] + c;
            const float *restrict b = hi[k] + c;
            const float wk = w[k];
            for (int32_t j = 0; j < KM_GAUSS_CHUNK; j++)
                acc[j] += wk * (a[j] + b[j]);
        }
        for (int32_t j = 0; j < KM_GAUSS_CHUNK; j++)
            o[c + j] = acc[j];
    }
    for (; c < n; c++) {
        float acc = w[0] * c0[c];
        for (int32_t k = 1; k <= rad; k++)
            acc += w[k] * (lo[k][c] + hi[k][c]);
        o[c] = acc;
    }
}

/* Radius up to which the tap pointers live on the stack; wider kernels
 * take the plain loops (they are far from the hot case). */
#ifndef KM_GAUSS_FAST_RADIUS
#define KM_GAUSS_FAST_RADIUS 64
#endif

/* Vertical pass, no mask: out row i = sum_k w[|k|] * in row ext(i + k). */
static void vpass(const km_gaussian *g, const km_frame *in, float *out, ptrdiff_t ostride)
{
    const int32_t rad = g->rad_r, n = g->cols;
    const float *w = g->w_r;
    if (rad <= KM_GAUSS_FAST_RADIUS) {
        const float *lo[KM_GAUSS_FAST_RADIUS + 1], *hi[KM_GAUSS_FAST_RADIUS + 1];
        for (int32_t i = 0; i < g->rows; i++) {
            for (int32_t k = 1; k <= rad; k++) {
                lo[k] = src_row(g, in, i + rad - k);
                hi[k] = src_row(g, in, i + rad + k);
            }
            sym_conv(out + (ptrdiff_t)i * ostride, src_row(g, in, i + rad), lo, hi, w, rad, n);
        }
        return;
    }
    for (int32_t i = 0; i < g->rows; i++) {
        float *restrict o = out + (ptrdiff_t)i * ostride;
        const float *restrict s0 = src_row(g, in, i + rad);
        const float w0 = w[0];
        for (int32_t c = 0; c < n; c++)
            o[c] = w0 * s0[c];
        for (int32_t k = 1; k <= rad; k++) {
            const float *restrict a = src_row(g, in, i + rad - k);
            const float *restrict b = src_row(g, in, i + rad + k);
            const float wk = w[k];
            for (int32_t c = 0; c < n; c++)
                o[c] += wk * (a[c] + b[c]);
        }
    }
}

/* A taxel counts in the masked filter when its mask is set and its value is
 * finite (the same validity as detection); the comparison form keeps the
 * loop free of branches and of calls. */
static inline float valid_value(float v, uint8_t m)
{
    return (m != 0 && fabsf(v) <= FLT_MAX) ? v : 0.0f;
}

static inline float valid_weight(float v, uint8_t m)
{
    return (m != 0 && fabsf(v) <= FLT_MAX) ? 1.0f : 0.0f;
}

/* Vertical pass of the normalised convolution: num = G * (v m), den = G * m.
 * With rad_r == 0 it just splits the input into the two planes. */
static void vpass_masked(const km_gaussian *g, const km_frame *in, const km_mask *m, float *num,
                         ptrdiff_t nstride, float *den, ptrdiff_t dstride)
{
    const int32_t rad = g->rad_r, n = g->cols;
    const float *w = g->w_r;
    for (int32_t i = 0; i < g->rows; i++) {
        float *restrict o = num + (ptrdiff_t)i * nstride;
        float *restrict d = den + (ptrdiff_t)i * dstride;
        const float *restrict s0 = src_row(g, in, i + rad);
        const uint8_t *restrict m0 = mask_row(g, m, i + rad);
        const float w0 = w[0];
        for (int32_t c = 0; c < n; c++) {
            o[c] = w0 * valid_value(s0[c], m0[c]);
            d[c] = w0 * valid_weight(s0[c], m0[c]);
        }
        for (int32_t k = 1; k <= rad; k++) {
            const float *restrict a = src_row(g, in, i + rad - k);
            const float *restrict b = src_row(g, in, i + rad + k);
            const uint8_t *restrict ma = mask_row(g, m, i + rad - k);
            const uint8_t *restrict mb = mask_row(g, m, i + rad + k);
            const float wk = w[k];
            for (int32_t c = 0; c < n; c++) {
                o[c] += wk * (valid_value(a[c], ma[c]) + valid_value(b[c], mb[c]));
                d[c] += wk * (valid_weight(a[c], ma[c]) + valid_weight(b[c], mb[c]));
            }
        }
    }
}

/* Horizontal pass in place on one row; `outside` is the constant-mode
 * value (cval for data, 1 for the weight plane); buf holds cols + 2 rad. */
static void hpass_row(const km_gaussian *g, float *row, float outside, float *restrict buf)
{
    const int32_t rad = g->rad_c, n = g->cols;
    const float *w = g->w_c;
    const float *restrict x = buf + rad;
    for (int32_t p = 0; p < rad; p++) {
        int32_t s = g->ext_c[p];
        buf[p] = s < 0 ? outside : row[s];
        s = g->ext_c[rad + n + p];
        buf[rad + n + p] = s < 0 ? outside : row[s];
    }
    memcpy(buf + rad, row, (size_t)n * sizeof *row);
    if (rad <= KM_GAUSS_FAST_RADIUS) {
        const float *lo[KM_GAUSS_FAST_RADIUS + 1], *hi[KM_GAUSS_FAST_RADIUS + 1];
        for (int32_t k = 1; k <= rad; k++) {
            lo[k] = x - k;
            hi[k] = x + k;
        }
        sym_conv(row, x, lo, hi, w, rad, n);
    } else {
        float *restrict o = row;
        const float w0 = w[0];
        for (int32_t c = 0; c < n; c++)
            o[c] = w0 * x[c];
        for (int32_t k = 1; k <= rad; k++) {
            const float wk = w[k];
            for (int32_t c = 0; c < n; c++)
                o[c] += wk * (x[c - k] + x[c + k]);
        }
    }
}

static km_status check_apply(km_ctx *ctx, const km_gaussian *g, const km_frame *in,
                             const km_mask *mask, const km_frame_mut *out)
{
    uintptr_t ilo, ihi, olo, ohi;
    if (g == NULL || in == NULL || out == NULL || in->data == NULL || out->data == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "gaussian: NULL argument");
    if (in->rows != g->rows || in->cols != g->cols || out->rows != g->rows ||
        out->cols != g->cols)
        return km_fail(ctx, KM_ERR_INVALID,
                       "gaussian: made for %dx%d, given input %dx%d and output %dx%d",
                       (int)g->rows, (int)g->cols, (int)in->rows, (int)in->cols,
                       (int)out->rows, (int)out->cols);
    if (in->row_stride < in->cols || out->row_stride < out->cols)
        return km_fail(ctx, KM_ERR_INVALID, "gaussian: row stride smaller than cols");
    if (mask != NULL && mask->data != NULL &&
        (mask->rows != g->rows || mask->cols != g->cols || mask->row_stride < mask->cols))
        return km_fail(ctx, KM_ERR_INVALID, "gaussian: mask is %dx%d (stride %td), frame %dx%d",
                       (int)mask->rows, (int)mask->cols, mask->row_stride, (int)g->rows,
                       (int)g->cols);
    ilo = (uintptr_t)in->data;
    ihi = (uintptr_t)(in->data + (ptrdiff_t)(in->rows - 1) * in->row_stride + in->cols);
    olo = (uintptr_t)out->data;
    ohi = (uintptr_t)(out->data + (ptrdiff_t)(out->rows - 1) * out->row_stride + out->cols);
    if (ilo < ohi && olo < ihi)
        return km_fail(ctx, KM_ERR_INVALID, "gaussian: input and output overlap");
    return KM_OK;
}

km_status km_gaussian_apply(km_ctx *ctx, const km_gaussian *g, const km_frame *in,
                            const km_mask *mask, const km_frame_mut *out)
{
    km_status st;
    float stack_line[KM_GAUSS_STACK_LINE];
    float *line = stack_line, *heap_line = NULL, *den = NULL;
    size_t line_len;
    const int32_t rows = g != NULL ? g->rows : 0, cols = g != NULL ? g->cols : 0;

    st = check_apply(ctx, g, in, mask, out);
    if (st != KM_OK)
        return st;
    line_len = (size_t)cols + 2 * (size_t)g->rad_c;
    if (g->rad_c > 0 && line_len > KM_GAUSS_STACK_LINE) {
        /* Per-call scratch keeps apply thread-safe on a shared object. */
        heap_line = km_alloc(ctx, line_len * sizeof *heap_line);
        if (heap_line == NULL) {
            st = KM_ERR_NOMEM;
            goto done;
        }
        line = heap_line;
    }

    if (mask == NULL || mask->data == NULL) {
        if (g->rad_r > 0) {
            vpass(g, in, out->data, out->row_stride);
        } else {
            for (int32_t r = 0; r < rows; r++)
                memcpy(out->data + (ptrdiff_t)r * out->row_stride,
                       in->data + (ptrdiff_t)r * in->row_stride, (size_t)cols * sizeof(float));
        }
        if (g->rad_c > 0)
            for (int32_t r = 0; r < rows; r++)
                hpass_row(g, out->data + (ptrdiff_t)r * out->row_stride, g->cval, line);
        goto done;
    }

    den = km_alloc(ctx, (size_t)rows * (size_t)cols * sizeof *den);
    if (den == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    vpass_masked(g, in, mask, out->data, out->row_stride, den, cols);
    for (int32_t r = 0; r < rows; r++) {
        float *restrict o = out->data + (ptrdiff_t)r * out->row_stride;
        float *restrict d = den + (ptrdiff_t)r * cols;
        const float *restrict s = in->data + (ptrdiff_t)r * in->row_stride;
        const uint8_t *restrict m = mask->data + (ptrdiff_t)r * mask->row_stride;
        if (g->rad_c > 0) {
            hpass_row(g, o, g->cval, line);
            hpass_row(g, d, 1.0f, line);
        }
        /* A valid taxel has den >= w_r[0] * w_c[0] > 0. */
        for (int32_t c = 0; c < cols; c++)
            o[c] = valid_weight(s[c], m[c]) != 0.0f ? o[c] / d[c] : NAN;
    }
done:
    km_free(ctx, heap_line);
    km_free(ctx, den);
    return st;
}
