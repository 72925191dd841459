/* 2-D convolution with an arbitrary kernel by FFT (docs/ALGORITHMS.md
 * 2.4), defined as scipy.ndimage.convolve.
 *
 * The frame is extended by the border rule into E, (R + kr - 1) x
 * (C + kc - 1), with kr-1-kr/2 rows before and kr/2 after (likewise
 * columns); out[i, j] is then the full linear convolution of E with the
 * kernel at (i + kr - 1, j + kc - 1), which a circular convolution of E's
 * own size gets right (wrap-around only touches the first kr-1 rows and
 * kc-1 columns, never read).  One r2c and one c2r plan, made at create
 * with FFTW_UNALIGNED so that apply can run them on per-call buffers from
 * any allocator (thread-safe execution on a shared object).  FFTW is loaded
 * at the first create (fftw_dyn.h). */
#include <math.h>
#include <string.h>

#include "dsp_internal.h"
#include "fftw_dyn.h"
#include "internal.h"

#define KM_CONVOLVE_MAX_FLOATS ((size_t)1 << 28)

struct km_convolve {
    km_alloc_ref ref;
    int32_t rows, cols, kr, kc;
    int32_t nr, nc;            /* E: nr x nc real */
    int32_t ncc;               /* nc/2 + 1 complex per row */
    km_border border;
    float cval;
    fftwf_complex *kspec;      /* kernel spectrum / (nr*nc) */
    fftwf_plan fwd, inv;
};

/* scipy.ndimage's extension of index p into [0, n) (-1 = outside, constant). */
static int64_t extend(int64_t p, int64_t n, km_border mode)
{
    if (p >= 0 && p < n)
        return p;
    switch (mode) {
    case KM_BORDER_NEAREST:
        return p < 0 ? 0 : n - 1;
    case KM_BORDER_REFLECT: {
        int64_t q = p % (2 * n);
        if (q < 0)
            q += 2 * n;
        return q < n ? q : 2 * n - 1 - q;
    }
    case KM_BORDER_MIRROR: {
        if (n == 1)
            return 0;
        int64_t q = p % (2 * n - 2);
        if (q < 0)
            q += 2 * n - 2;
        return q < n ? q : 2 * n - 2 - q;
    }
    case KM_BORDER_WRAP: {
        int64_t q = p % n;
        return q < 0 ? q + n : q;
    }
    case KM_BORDER_CONSTANT:
    default:
        return -1;
    }
}

void km_convolve_free(km_convolve *cv)
{
    if (cv == NULL)
        return;
    km_alloc_ref ref = cv->ref;
    km_fftw_lock();
    if (cv->fwd != NULL)
        fftwf_destroy_plan(cv->fwd);
    if (cv->inv != NULL)
        fftwf_destroy_plan(cv->inv);
    km_fftw_unlock();
    km_ref_free(&ref, cv->kspec);
    km_ref_free(&ref, cv);
}

km_status km_convolve_create(km_ctx *ctx, int32_t rows, int32_t cols, const float *kernel,
                             int32_t krows, int32_t kcols, km_border border, double cval,
                             km_convolve **out)
{
    km_status st;
    km_convolve *cv = NULL;
    float *e = NULL;
    size_t nreal, ncomplex;

    if (out == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "convolve: out is NULL");
    *out = NULL;
    if ((st = km_check_shape(ctx, rows, cols, "convolve frame")) != KM_OK ||
        (st = km_check_shape(ctx, krows, kcols, "convolve kernel")) != KM_OK)
        return st;
    if (kernel == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "convolve: kernel is NULL");
    if ((unsigned)border > KM_BORDER_WRAP || !isfinite(cval))
        return km_fail(ctx, KM_ERR_INVALID, "convolve: border %d, cval %g", (int)border, cval);
    for (size_t k = 0; k < (size_t)krows * (size_t)kcols; k++)
        if (!isfinite(kernel[k]))
            return km_fail(ctx, KM_ERR_INVALID, "convolve: kernel value %zu is not finite", k);
    int64_t nr = (int64_t)rows + krows - 1, nc = (int64_t)cols + kcols - 1;
    if (nr > INT32_MAX || nc > INT32_MAX - 2 || !km_size_mul((size_t)nr, (size_t)nc, &nreal) ||
        nreal > KM_CONVOLVE_MAX_FLOATS)
        return km_fail(ctx, KM_ERR_LIMIT, "convolve: %lld x %lld FFT is too large",
                       (long long)nr, (long long)nc);

    if ((st = km_fftw_load(ctx)) != KM_OK)
        return st;
    cv = km_calloc(ctx, 1, sizeof *cv);
    if (cv == NULL)
        return KM_ERR_NOMEM;
    cv->ref = km_ctx_alloc_ref(ctx);
    cv->rows = rows;
    cv->cols = cols;
    cv->kr = krows;
    cv->kc = kcols;
    cv->nr = (int32_t)nr;
    cv->nc = (int32_t)nc;
    cv->ncc = (int32_t)(nc / 2 + 1);
    cv->border = border;
    cv->cval = (float)cval;
    ncomplex = (size_t)nr * (size_t)cv->ncc;
    e = km_calloc(ctx, nreal, sizeof *e);
    cv->kspec = km_alloc(ctx, ncomplex * sizeof *cv->kspec);
    if (e == NULL || cv->kspec == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    km_fftw_lock();
    /* ESTIMATE leaves the arrays alone while planning (FACTS.md: MEASURE
       overwrites them and was no faster at these sizes). */
    cv->fwd = fftwf_plan_dft_r2c_2d(cv->nr, cv->nc, e, cv->kspec, FFTW_ESTIMATE | FFTW_UNALIGNED);
    cv->inv = fftwf_plan_dft_c2r_2d(cv->nr, cv->nc, cv->kspec, e,
                                    FFTW_ESTIMATE | FFTW_UNALIGNED | FFTW_DESTROY_INPUT);
    km_fftw_unlock();
    if (cv->fwd == NULL || cv->inv == NULL) {
        st = km_fail(ctx, KM_ERR_NOMEM, "convolve: FFTW could not plan %dx%d", (int)cv->nr,
                     (int)cv->nc);
        goto done;
    }
    memset(e, 0, nreal * sizeof *e);
    for (int32_t m = 0; m < krows; m++)
        memcpy(e + (size_t)m * (size_t)nc, kernel + (size_t)m * (size_t)kcols,
               (size_t)kcols * sizeof *e);
    fftwf_execute_dft_r2c(cv->fwd, e, cv->kspec);
    float scale = 1.0f / (float)nreal;
    for (size_t k = 0; k < ncomplex; k++) {
        cv->kspec[k][0] *= scale;
        cv->kspec[k][1] *= scale;
    }
    *out = cv;
    cv = NULL;
    st = KM_OK;
done:
    km_free(ctx, e);
    km_convolve_free(cv);
    return st;
}

static km_status check_apply(km_ctx *ctx, const km_convolve *cv, const km_frame *in,
                             const km_frame_mut *out)
{
    if (cv == NULL || in == NULL || out == NULL || in->data == NULL || out->data == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "convolve: NULL argument");
    if (in->rows != cv->rows || in->cols != cv->cols || out->rows != cv->rows ||
        out->cols != cv->cols)
        return km_fail(ctx, KM_ERR_INVALID, "convolve: frames must be %dx%d", (int)cv->rows,
                       (int)cv->cols);
    if (in->row_stride < in->cols || out->row_stride < out->cols)
        return km_fail(ctx, KM_ERR_INVALID, "convolve: row stride smaller than cols");
    uintptr_t ilo = (uintptr_t)in->data,
              ihi = (uintptr_t)(in->data + (ptrdiff_t)(in->rows - 1) * in->row_stride + in->cols),
              olo = (uintptr_t)out->data,
              ohi = (uintptr_t)(out->data + (ptrdiff_t)(out->rows - 1) * out->row_stride +
                                out->cols);
    if (ilo < ohi && olo < ihi)
        return km_fail(ctx, KM_ERR_INVALID, "convolve: input and output overlap");
    return KM_OK;
}

km_status km_convolve_apply(km_ctx *ctx, const km_convolve *cv, const km_frame *in,
                            const km_frame_mut *out)
{
    km_status st = check_apply(ctx, cv, in, out);
    if (st != KM_OK)
        return st;
    size_t nreal = (size_t)cv->nr * (size_t)cv->nc, ncomplex = (size_t)cv->nr * (size_t)cv->ncc;
    float *e = km_alloc(ctx, nreal * sizeof *e);
    fftwf_complex *spec = km_alloc(ctx, ncomplex * sizeof *spec);
    if (e == NULL || spec == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    int32_t r0 = cv->kr - 1 - cv->kr / 2, c0 = cv->kc - 1 - cv->kc / 2;
    for (int32_t u = 0; u < cv->nr; u++) {
        int64_t sr = extend((int64_t)u - r0, cv->rows, cv->border);
        float *dst = e + (size_t)u * (size_t)cv->nc;
        if (sr < 0) {
            for (int32_t v = 0; v < cv->nc; v++)
                dst[v] = cv->cval;
            continue;
        }
        const float *src = in->data + (ptrdiff_t)sr * in->row_stride;
        for (int32_t v = 0; v < c0; v++) {
            int64_t sc = extend((int64_t)v - c0, cv->cols, cv->border);
            dst[v] = sc < 0 ? cv->cval : src[sc];
        }
        memcpy(dst + c0, src, (size_t)cv->cols * sizeof *dst);
        for (int32_t v = c0 + cv->cols; v < cv->nc; v++) {
            int64_t sc = extend((int64_t)v - c0, cv->cols, cv->border);
            dst[v] = sc < 0 ? cv->cval : src[sc];
        }
    }
    fftwf_execute_dft_r2c(cv->fwd, e, spec);
    for (size_t k = 0; k < ncomplex; k++) {
        float ar = spec[k][0], ai = spec[k][1], br = cv->kspec[k][0], bi = cv->kspec[k][1];
        spec[k][0] = ar * br - ai * bi;
        spec[k][1] = ar * bi + ai * br;
    }
    fftwf_execute_dft_c2r(cv->inv, spec, e);
    for (int32_t i = 0; i < cv->rows; i++)
        memcpy(out->data + (ptrdiff_t)i * out->row_stride,
               e + (size_t)(i + cv->kr - 1) * (size_t)cv->nc + (size_t)(cv->kc - 1),
               (size_t)cv->cols * sizeof(float));
done:
    km_free(ctx, e);
    km_free(ctx, spec);
    return st;
}
