/* Separable Gaussian smoothing, defined as scipy.ndimage.gaussian_filter
 * (docs/ALGORITHMS.md section 2).
 *
 * Rows (axis 0) are filtered first, then columns, with the intermediate
 * stored as float32, which is what scipy does for float32 input.  The
 * passes are fused row by row: the vertical pass of one output row combines
 * whole source rows (unit stride, accumulators in vector registers over the
 * taps) into a line buffer, whose ends get the border extension, and the
 * horizontal pass reads that buffer and writes the output row once.  The
 * loops live in gaussian_kernels.h, built once per vector width.
 * Accumulation is in float: the weights are positive, so the relative error
 * stays near 1e-7. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "dsp_internal.h"
#include "internal.h"

/* The instruction-set variants agree bit for bit only without a*b+c
 * contraction: GCC does not contract in ISO C mode, clang does by default
 * (and AVX-512 brings FMA), so switch it off there. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

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
    float *one_row;            /* cols ones: the outside counts as valid */
    int32_t recursive;         /* Young-van Vliet instead of direct */
    double yv_r[4], yv_c[4];   /* B, a1, a2, a3 per axis */
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
    p->recursive = 0;
}

/* Young & van Vliet (1995), "Recursive implementation of the Gaussian
 * filter", Signal Processing 44: third-order causal + anticausal pair.
 * c = {B, a1, a2, a3} with w[n] = B x[n] + a1 w[n-1] + a2 w[n-2] + a3 w[n-3]. */
static void yv_coefficients(double sigma, double *c)
{
    double q = sigma >= 2.5 ? 0.98711 * sigma - 0.96330
                            : 3.97156 - 4.14554 * sqrt(1.0 - 0.26891 * sigma);
    double q2 = q * q, q3 = q2 * q;
    double b0 = 1.57825 + 2.44413 * q + 1.4281 * q2 + 0.422205 * q3;
    double b1 = 2.44413 * q + 2.85619 * q2 + 1.26661 * q3;
    double b2 = -(1.4281 * q2 + 1.26661 * q3);
    double b3 = 0.422205 * q3;
    c[1] = b1 / b0;
    c[2] = b2 / b0;
    c[3] = b3 / b0;
    c[0] = 1.0 - (c[1] + c[2] + c[3]);
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
    km_ref_free(&ref, g->one_row);
    km_ref_free(&ref, g);
}

/* Truncation, border mode, cval and the recursive filter's sigmas (the
   sigmas themselves are checked by radius_of). */
static km_status check_params(km_ctx *ctx, const km_gaussian_params *p)
{
    if (!(p->truncate > 0.0) || !isfinite(p->truncate))
        return km_fail(ctx, KM_ERR_INVALID, "gaussian: truncate %g must be finite and > 0",
                       p->truncate);
    if ((int)p->border < KM_BORDER_NEAREST || (int)p->border > KM_BORDER_WRAP)
        return km_fail(ctx, KM_ERR_INVALID, "gaussian: unknown border mode %d", (int)p->border);
    if (!isfinite(p->cval))
        return km_fail(ctx, KM_ERR_INVALID, "gaussian: cval must be finite");
    if (p->recursive != 0 && p->recursive != 1)
        return km_fail(ctx, KM_ERR_INVALID, "gaussian: recursive must be 0 or 1");
    if (p->recursive &&
        ((p->sigma_rows > 1e-15 && p->sigma_rows < 0.5) ||
         (p->sigma_cols > 1e-15 && p->sigma_cols < 0.5)))
        return km_fail(ctx, KM_ERR_INVALID, "gaussian: the recursive filter needs sigma >= 0.5 "
                       "(or 0), got %g, %g", p->sigma_rows, p->sigma_cols);
    return KM_OK;
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
    st = check_params(ctx, p);
    if (st != KM_OK)
        return st;
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
    g->recursive = p->recursive;
    if (rr > 0)
        yv_coefficients(p->sigma_rows, g->yv_r);
    if (rc > 0)
        yv_coefficients(p->sigma_cols, g->yv_c);
    g->w_r = km_alloc(ctx, ((size_t)rr + 1) * sizeof *g->w_r);
    g->w_c = km_alloc(ctx, ((size_t)rc + 1) * sizeof *g->w_c);
    g->ext_r = km_alloc(ctx, ((size_t)rows + 2 * (size_t)rr) * sizeof *g->ext_r);
    g->ext_c = km_alloc(ctx, ((size_t)cols + 2 * (size_t)rc) * sizeof *g->ext_c);
    g->cval_row = km_alloc(ctx, (size_t)cols * sizeof *g->cval_row);
    g->one_row = km_alloc(ctx, (size_t)cols * sizeof *g->one_row);
    if (g->w_r == NULL || g->w_c == NULL || g->ext_r == NULL || g->ext_c == NULL ||
        g->cval_row == NULL || g->one_row == NULL) {
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
    for (int32_t c = 0; c < cols; c++) {
        g->cval_row[c] = g->cval;
        g->one_row[c] = 1.0f;
    }
    *out = g;
    g = NULL;
done:
    km_gaussian_free(g);
    return st;
}

/* ---------------------------------------------------------------------- */

/* Every hot function is compiled once per instruction set (AVX-512, AVX2,
 * baseline) from the same always-inline body, and the variant is picked
 * per call from the running CPU.  All of them do the same float
 * operations in the same order on each taxel, and no FMA is enabled (the
 * build is ISO C, so GCC does not contract a*b+c), so they give the same
 * bits; the wider ones just do 16 taxels per instruction instead of 4. */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target)
#define KM_GAUSS_MULTI 1
#endif
#endif
#ifndef KM_GAUSS_MULTI
#define KM_GAUSS_MULTI 0
#endif

#if defined(__GNUC__)
#define KM_GAUSS_INLINE static inline __attribute__((always_inline))
#else
#define KM_GAUSS_INLINE static inline
#endif

/* A plane the passes read: rows of cols floats, and the row that stands
 * for every row outside the frame in constant mode. */
typedef struct gauss_plane {
    const float *data;
    ptrdiff_t stride;
    const float *outside_row;
} gauss_plane;

KM_GAUSS_INLINE const float *plane_row(const km_gaussian *g, const gauss_plane *pl,
                                       int32_t ext_pos)
{
    int32_t r = g->ext_r[ext_pos];
    return r < 0 ? pl->outside_row : pl->data + (ptrdiff_t)r * pl->stride;
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

/* The kernels, once per vector width: gaussian_kernels.h defines
 * plain<suffix> and masked<suffix> from KM_GK_* (see its head).  Vector
 * loads and stores use the unaligned, aliasing type, as the compilers' own
 * intrinsic headers do. */
#if KM_GAUSS_MULTI
typedef float km_v16 __attribute__((vector_size(64)));
typedef float km_v16u __attribute__((vector_size(64), aligned(4), may_alias));
typedef float km_v8 __attribute__((vector_size(32)));
typedef float km_v8u __attribute__((vector_size(32), aligned(4), may_alias));

#define KM_GK_SUFFIX _avx512
#define KM_GK_TARGET __attribute__((target("avx512f")))
#define KM_GK_V km_v16
#define KM_GK_VU km_v16u
#define KM_GK_W 16
#include "gaussian_kernels.h"

#define KM_GK_SUFFIX _avx2
#define KM_GK_TARGET __attribute__((target("avx2")))
#define KM_GK_V km_v8
#define KM_GK_VU km_v8u
#define KM_GK_W 8
#include "gaussian_kernels.h"
#endif

#if defined(__GNUC__)
/* SSE2 is part of x86-64; elsewhere the compiler maps or splits it. */
typedef float km_v4 __attribute__((vector_size(16)));
typedef float km_v4u __attribute__((vector_size(16), aligned(4), may_alias));
#define KM_GK_V km_v4
#define KM_GK_VU km_v4u
#define KM_GK_W 4
#else
#define KM_GK_W 0
#endif
#define KM_GK_SUFFIX _base
#define KM_GK_TARGET
#include "gaussian_kernels.h"

int km_gaussian_isa_supported(km_gauss_isa isa)
{
    switch (isa) {
    case KM_GAUSS_ISA_AUTO:
    case KM_GAUSS_ISA_BASE:
        return 1;
#if KM_GAUSS_MULTI
    case KM_GAUSS_ISA_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") ? 1 : 0;
    case KM_GAUSS_ISA_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") ? 1 : 0;
#endif
    default:
        return 0;
    }
}

/* The widest variant this CPU runs. */
static km_gauss_isa best_isa(void)
{
    if (km_gaussian_isa_supported(KM_GAUSS_ISA_AVX512))
        return KM_GAUSS_ISA_AVX512;
    if (km_gaussian_isa_supported(KM_GAUSS_ISA_AVX2))
        return KM_GAUSS_ISA_AVX2;
    return KM_GAUSS_ISA_BASE;
}

static void run_plain(km_gauss_isa isa, const km_gaussian *g, const km_frame *in,
                      const km_frame_mut *out, float *line)
{
#if KM_GAUSS_MULTI
    if (isa == KM_GAUSS_ISA_AVX512) {
        plain_avx512(g, in, out, line);
        return;
    }
    if (isa == KM_GAUSS_ISA_AVX2) {
        plain_avx2(g, in, out, line);
        return;
    }
#endif
    (void)isa;
    plain_base(g, in, out, line);
}

static void run_masked(km_gauss_isa isa, const km_gaussian *g, const km_frame *in,
                       const km_mask *m, const km_frame_mut *out, float *line, float *work)
{
#if KM_GAUSS_MULTI
    if (isa == KM_GAUSS_ISA_AVX512) {
        masked_avx512(g, in, m, out, line, work);
        return;
    }
    if (isa == KM_GAUSS_ISA_AVX2) {
        masked_avx2(g, in, m, out, line, work);
        return;
    }
#endif
    (void)isa;
    masked_base(g, in, m, out, line, work);
}

/* ------------------------------------------------------ recursive path */

/* Forward then backward recursion in place on x[0..n), each started in
 * the steady state of its first input (a constant line stays constant). */
static void yv_line(double *x, int64_t n, const double *c)
{
    double w1 = x[0], w2 = x[0], w3 = x[0];
    for (int64_t i = 0; i < n; i++) {
        double w = c[0] * x[i] + c[1] * w1 + c[2] * w2 + c[3] * w3;
        w3 = w2;
        w2 = w1;
        w1 = w;
        x[i] = w;
    }
    w1 = w2 = w3 = x[n - 1];
    for (int64_t i = n - 1; i >= 0; i--) {
        double y = c[0] * x[i] + c[1] * w1 + c[2] * w2 + c[3] * w3;
        w3 = w2;
        w2 = w1;
        w1 = y;
        x[i] = y;
    }
}

/* Recursive smoothing of one plane src -> dst (src may equal dst).  The
 * line is extended by the direct kernel's radius with the border rule, so
 * the recursion sees the same neighbourhood and the border modes mean
 * what they mean for the direct filter; `outside` is the constant-mode
 * value.  The vertical pass recurses down the rows with whole rows as
 * vectors.  scratch: (rows + 2 rad_r + 1) * cols + cols + 2 rad_c doubles. */
static void yv_plane(const km_gaussian *g, const float *src, ptrdiff_t sstride, float outside,
                     float *dst, ptrdiff_t dstride, double *scratch)
{
    const int32_t rows = g->rows, cols = g->cols;
    const int64_t e = (int64_t)rows + 2 * g->rad_r;
    double *buf = scratch, *z = scratch + e * cols, *line = z + cols;

    if (g->rad_r > 0) {
        const double *c = g->yv_r;
        const double *p1, *p2, *p3;
        for (int64_t p = 0; p < e; p++) {
            int32_t r = g->ext_r[p];
            double *restrict b = buf + p * cols;
            const float *restrict sr = src + (ptrdiff_t)(r < 0 ? 0 : r) * sstride;
            for (int32_t j = 0; j < cols; j++)
                b[j] = r < 0 ? (double)outside : (double)sr[j];
        }
        memcpy(z, buf, (size_t)cols * sizeof *z);
        p1 = p2 = p3 = z;
        for (int64_t p = 0; p < e; p++) {
            double *restrict b = buf + p * cols;
            for (int32_t j = 0; j < cols; j++)
                b[j] = c[0] * b[j] + c[1] * p1[j] + c[2] * p2[j] + c[3] * p3[j];
            p3 = p2;
            p2 = p1;
            p1 = b;
        }
        memcpy(z, buf + (e - 1) * cols, (size_t)cols * sizeof *z);
        p1 = p2 = p3 = z;
        /* rows above the frame's first are not needed after this pass */
        for (int64_t p = e - 1; p >= g->rad_r; p--) {
            double *restrict b = buf + p * cols;
            for (int32_t j = 0; j < cols; j++)
                b[j] = c[0] * b[j] + c[1] * p1[j] + c[2] * p2[j] + c[3] * p3[j];
            p3 = p2;
            p2 = p1;
            p1 = b;
        }
        for (int32_t i = 0; i < rows; i++) {
            float *restrict d = dst + (ptrdiff_t)i * dstride;
            const double *restrict b = buf + ((int64_t)i + g->rad_r) * cols;
            for (int32_t j = 0; j < cols; j++)
                d[j] = (float)b[j];
        }
    } else if (dst != src) {
        for (int32_t i = 0; i < rows; i++)
            memcpy(dst + (ptrdiff_t)i * dstride, src + (ptrdiff_t)i * sstride,
                   (size_t)cols * sizeof *dst);
    }
    if (g->rad_c > 0) {
        const int32_t rad = g->rad_c;
        const int64_t ec = (int64_t)cols + 2 * rad;
        for (int32_t i = 0; i < rows; i++) {
            float *d = dst + (ptrdiff_t)i * dstride;
            for (int64_t p = 0; p < ec; p++) {
                int32_t q = g->ext_c[p];
                line[p] = q < 0 ? (double)outside : (double)d[q];
            }
            yv_line(line, ec, g->yv_c);
            for (int32_t j = 0; j < cols; j++)
                d[j] = (float)line[j + rad];
        }
    }
}

/* The recursive path of km_gaussian_apply (arguments checked). */
static km_status yv_apply(km_ctx *ctx, const km_gaussian *g, const km_frame *in,
                          const km_mask *mask, const km_frame_mut *out)
{
    km_status st = KM_OK;
    const int32_t rows = g->rows, cols = g->cols;
    size_t nd = ((size_t)rows + 2 * (size_t)g->rad_r + 2) * (size_t)cols + 2 * (size_t)g->rad_c;
    double *scratch = km_alloc(ctx, nd * sizeof *scratch);
    float *vm = NULL, *den = NULL;
    if (scratch == NULL)
        return KM_ERR_NOMEM;
    if (mask == NULL || mask->data == NULL) {
        yv_plane(g, in->data, in->row_stride, g->cval, out->data, out->row_stride, scratch);
        goto done;
    }
    vm = km_alloc(ctx, (size_t)rows * (size_t)cols * sizeof *vm);
    den = km_alloc(ctx, (size_t)rows * (size_t)cols * sizeof *den);
    if (vm == NULL || den == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    for (int32_t r = 0; r < rows; r++) {
        const float *s = in->data + (ptrdiff_t)r * in->row_stride;
        const uint8_t *m = mask->data + (ptrdiff_t)r * mask->row_stride;
        for (int32_t c = 0; c < cols; c++) {
            vm[(size_t)r * cols + c] = valid_value(s[c], m[c]);
            den[(size_t)r * cols + c] = valid_weight(s[c], m[c]);
        }
    }
    yv_plane(g, vm, cols, g->cval, out->data, out->row_stride, scratch);
    yv_plane(g, den, cols, 1.0f, den, cols, scratch);
    for (int32_t r = 0; r < rows; r++) {
        float *o = out->data + (ptrdiff_t)r * out->row_stride;
        const float *s = in->data + (ptrdiff_t)r * in->row_stride;
        const uint8_t *m = mask->data + (ptrdiff_t)r * mask->row_stride;
        for (int32_t c = 0; c < cols; c++)
            o[c] = valid_weight(s[c], m[c]) != 0.0f ? o[c] / den[(size_t)r * cols + c] : NAN;
    }
done:
    km_free(ctx, scratch);
    km_free(ctx, vm);
    km_free(ctx, den);
    return st;
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

km_status km_gaussian_apply_isa(km_ctx *ctx, const km_gaussian *g, const km_frame *in,
                                const km_mask *mask, const km_frame_mut *out, km_gauss_isa isa)
{
    km_status st;
    float stack_line[KM_GAUSS_STACK_LINE];
    float *line = stack_line, *heap_line = NULL, *work = NULL;
    size_t line_len;

    st = check_apply(ctx, g, in, mask, out);
    if (st != KM_OK)
        return st;
    if (!km_gaussian_isa_supported(isa))
        return km_fail(ctx, KM_ERR_UNSUPPORTED, "gaussian: instruction set %d not available",
                       (int)isa);
    if (isa == KM_GAUSS_ISA_AUTO)
        isa = best_isa();
    if (g->recursive)
        return yv_apply(ctx, g, in, mask, out);
    line_len = (size_t)g->cols + 2 * (size_t)g->rad_c;
    if (line_len > KM_GAUSS_STACK_LINE) {
        /* Per-call scratch keeps apply thread-safe on a shared object. */
        heap_line = km_alloc(ctx, line_len * sizeof *heap_line);
        if (heap_line == NULL) {
            st = KM_ERR_NOMEM;
            goto done;
        }
        line = heap_line;
    }
    if (mask == NULL || mask->data == NULL) {
        run_plain(isa, g, in, out, line);
        goto done;
    }
    work = km_alloc(ctx, (2 * (size_t)g->rows + 1) * (size_t)g->cols * sizeof *work);
    if (work == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    run_masked(isa, g, in, mask, out, line, work);
done:
    km_free(ctx, heap_line);
    km_free(ctx, work);
    return st;
}

km_status km_gaussian_apply(km_ctx *ctx, const km_gaussian *g, const km_frame *in,
                            const km_mask *mask, const km_frame_mut *out)
{
    return km_gaussian_apply_isa(ctx, g, in, mask, out, KM_GAUSS_ISA_AUTO);
}
