/* Zero-phase FIR temporal filters (docs/ALGORITHMS.md section 8): a
 * Hamming-windowed sinc (as scipy.signal.firwin) run as FFT overlap-save.
 * Each taxel's extended stream fills a segment of N samples (taxel-major,
 * one FFTW plan per direction over a batch of taxels), and a full segment
 * yields L = N - taps + 1 outputs. */
#include <math.h>
#include <string.h>

#include "temporal_internal.h"

#define KM_TEMPORAL_MAX_TAPS (1 << 20)
#define KM_TEMPORAL_MAX_FFT_FLOATS ((size_t)1 << 28)
/* Floats per FFT batch buffer: a batch's segment, spectrum and result
 * stay in L2 while it is transformed, multiplied and transformed back
 * (one plan over all taxels at once streamed 3 arrays of megabytes
 * through memory and ran at half the speed). */
#define KM_TEMPORAL_BATCH_FLOATS 16384

/* scipy.signal.firwin(taps, cutoff, window="hamming", pass_zero=kind is
 * low-pass, scale=True, fs=rate). */
static void design_fir(const km_temporal *t, double *h)
{
    const int32_t m = t->taps;
    const double c = t->p.cutoff_hz / (0.5 * t->p.rate_hz);
    const int high = t->p.kind == KM_TEMPORAL_FIR_HIGHPASS;
    double scale = 0.0;
    for (int32_t i = 0; i < m; i++) {
        double x = (double)i - 0.5 * (m - 1), lo, hi, w;
        /* sinc(a x) * a, with sinc(y) = sin(pi y) / (pi y) */
        lo = x == 0.0 ? c : sin(KM_PI * c * x) / (KM_PI * x);
        hi = x == 0.0 ? 1.0 : sin(KM_PI * x) / (KM_PI * x);
        w = m > 1 ? 0.54 - 0.46 * cos(2.0 * KM_PI * i / (m - 1)) : 1.0;
        h[i] = (high ? hi - lo : lo) * w;
    }
    for (int32_t i = 0; i < m; i++) {
        double x = (double)i - 0.5 * (m - 1);
        scale += h[i] * (high ? cos(KM_PI * x) : 1.0);
    }
    for (int32_t i = 0; i < m; i++)
        h[i] /= scale;
}

static int32_t next_pow2(int64_t n)
{
    int64_t p = 1;
    while (p < n)
        p *= 2;
    return (int32_t)p;
}

/* Taps (given, or from the transition width), FFT size N, step L and
   delay D; *total = taxels x N. */
static km_status fir_size(km_ctx *ctx, km_temporal *t, size_t *total)
{
    const double nyq = 0.5 * t->p.rate_hz;

    if (t->p.taps > 0) {
        t->taps = t->p.taps;
    } else {
        double tw = fmin(t->p.cutoff_hz, nyq - t->p.cutoff_hz);
        double m = ceil(3.3 * t->p.rate_hz / tw);
        if (m > KM_TEMPORAL_MAX_TAPS)
            return km_fail(ctx, KM_ERR_LIMIT, "temporal: cutoff %g Hz at %g Hz needs %.0f taps",
                           t->p.cutoff_hz, t->p.rate_hz, m);
        t->taps = (int32_t)m | 1;
    }
    if (t->taps > KM_TEMPORAL_MAX_TAPS)
        return km_fail(ctx, KM_ERR_LIMIT, "temporal: %d taps (at most %d)", (int)t->taps,
                       KM_TEMPORAL_MAX_TAPS);
    /* A segment four kernels long keeps 3/4 of each FFT useful; long
     * kernels get two to bound memory. */
    t->nfft = t->p.fft_size > 0
                  ? t->p.fft_size
                  : next_pow2(t->taps > 1024 ? 2 * (int64_t)t->taps : 4 * (int64_t)t->taps);
    if (t->nfft < 16)
        t->nfft = 16;
    if (t->nfft < 2 * t->taps)
        return km_fail(ctx, KM_ERR_INVALID, "temporal: fft_size %d < 2 * taps (%d)",
                       (int)t->nfft, (int)t->taps);
    if (!km_size_mul((size_t)t->nt, (size_t)t->nfft, total) ||
        *total > KM_TEMPORAL_MAX_FFT_FLOATS)
        return km_fail(ctx, KM_ERR_LIMIT, "temporal: %d taxels x FFT %d is too large",
                       (int)t->nt, (int)t->nfft);
    t->step = t->nfft - t->taps + 1;
    t->delay = (t->taps - 1) / 2;
    return KM_OK;
}

/* The kernel's spectrum divided by N (kbuf: the kernel padded to N) into
   t->kspec, and the plans over the segment buffer. */
static km_status fir_plans(km_ctx *ctx, km_temporal *t, float *kbuf, int32_t nc)
{
    fftwf_plan kplan = NULL;
    int n = t->nfft;

    km_fftw_lock();
    kplan = fftwf_plan_dft_r2c_1d(n, kbuf, t->kspec, FFTW_ESTIMATE);
    /* One plan per direction over a batch of taxels (taxel-major, distance
     * N real and N/2+1 complex), run on every batch of the segment buffer
     * through the new-array execute: batch offsets are multiples of 64
     * bytes, so they keep the alignment the plan was made for. */
    t->fwd = fftwf_plan_many_dft_r2c(1, &n, t->tile, t->seg, NULL, 1, n, t->spec, NULL, 1, nc,
                                     FFTW_ESTIMATE);
    t->inv = fftwf_plan_many_dft_c2r(1, &n, t->tile, t->spec, NULL, 1, nc, t->res, NULL, 1, n,
                                     FFTW_ESTIMATE);
    if (t->nt % t->tile != 0) {
        t->fwd_rest = fftwf_plan_many_dft_r2c(1, &n, t->nt % t->tile, t->seg, NULL, 1, n,
                                              t->spec, NULL, 1, nc, FFTW_ESTIMATE);
        t->inv_rest = fftwf_plan_many_dft_c2r(1, &n, t->nt % t->tile, t->spec, NULL, 1, nc,
                                              t->res, NULL, 1, n, FFTW_ESTIMATE);
    }
    if (kplan != NULL)
        fftwf_execute(kplan);
    if (kplan != NULL)
        fftwf_destroy_plan(kplan);
    km_fftw_unlock();
    if (kplan == NULL || t->fwd == NULL || t->inv == NULL ||
        (t->nt % t->tile != 0 && (t->fwd_rest == NULL || t->inv_rest == NULL)))
        return km_fail(ctx, KM_ERR_INTERNAL, "temporal: FFTW could not plan size %d", n);
    for (int32_t k = 0; k < nc; k++) {
        t->kspec[k][0] /= (float)n;
        t->kspec[k][1] /= (float)n;
    }
    return KM_OK;
}

km_status km_temporal_create_fir(km_ctx *ctx, km_temporal *t)
{
    km_status st;
    double *h = NULL;
    float *kbuf = NULL;
    int32_t nc;
    size_t total;

    st = fir_size(ctx, t, &total);
    if (st != KM_OK)
        return st;
    /* The FIR is the only temporal filter that needs FFTW (fftw_dyn.h). */
    if ((st = km_fftw_load(ctx)) != KM_OK)
        return st;
    nc = t->nfft / 2 + 1;
    h = km_alloc(ctx, (size_t)t->taps * sizeof *h);
    kbuf = km_calloc(ctx, (size_t)t->nfft, sizeof *kbuf);
    t->seg = km_calloc(ctx, total, sizeof *t->seg);
    t->tile = KM_TEMPORAL_BATCH_FLOATS / t->nfft;
    if (t->tile < 1)
        t->tile = 1;
    if (t->tile > t->nt)
        t->tile = t->nt;
    t->res = km_alloc(ctx, (size_t)t->tile * (size_t)t->nfft * sizeof *t->res);
    t->spec = km_alloc(ctx, (size_t)t->tile * (size_t)nc * sizeof *t->spec);
    t->kspec = km_alloc(ctx, (size_t)nc * sizeof *t->kspec);
    if (h == NULL || kbuf == NULL || t->seg == NULL || t->res == NULL || t->spec == NULL ||
        t->kspec == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    design_fir(t, h);
    for (int32_t i = 0; i < t->taps; i++)
        kbuf[i] = (float)h[i];
    st = fir_plans(ctx, t, kbuf, nc);
done:
    km_free(ctx, h);
    km_free(ctx, kbuf);
    return st;
}

/* One overlap-save block: n_emit (<= L) outputs to out (frame-major),
 * then slide, batch by batch so that each batch stays in cache. */
void km_temporal_fir_block(km_temporal *t, float *out, int64_t n_emit)
{
    const int32_t nt = t->nt, n = t->nfft, nc = n / 2 + 1, m1 = t->taps - 1;
    const float *restrict k = (const float *)t->kspec;
    for (int32_t i0 = 0; i0 < nt; i0 += t->tile) {
        const int32_t nb = nt - i0 < t->tile ? nt - i0 : t->tile;
        float *seg = t->seg + (size_t)i0 * n;
        fftwf_execute_dft_r2c(nb == t->tile ? t->fwd : t->fwd_rest, seg, t->spec);
        for (int32_t i = 0; i < nb; i++) {
            /* fftwf_complex is float[2]: interleaved re, im */
            float *restrict s = (float *)(t->spec + (size_t)i * nc);
            for (int32_t j = 0; j < nc; j++) {
                float re = s[2 * j] * k[2 * j] - s[2 * j + 1] * k[2 * j + 1];
                float im = s[2 * j] * k[2 * j + 1] + s[2 * j + 1] * k[2 * j];
                s[2 * j] = re;
                s[2 * j + 1] = im;
            }
        }
        fftwf_execute_dft_c2r(nb == t->tile ? t->inv : t->inv_rest, t->spec, t->res);
        /* Transpose back in groups of 16 taxels: one cache line of each
         * output frame per group instead of one float. */
        for (int32_t g0 = 0; g0 < nb; g0 += 16) {
            const int32_t gn = nb - g0 < 16 ? nb - g0 : 16;
            for (int64_t j = 0; j < n_emit; j++) {
                float *restrict o = out + j * nt + i0 + g0;
                const float *restrict r = t->res + (size_t)g0 * n + m1 + j;
                for (int32_t i = 0; i < gn; i++)
                    o[i] = r[(size_t)i * n];
            }
        }
        for (int32_t i = 0; i < nb; i++)
            memmove(seg + (size_t)i * n, seg + (size_t)i * n + t->step,
                    (size_t)m1 * sizeof *seg);
    }
    t->fill = m1;
}

/* Append `count` frames of the extended stream; `repeat` = the same frame
 * `count` times (padding), else consecutive frames. */
void km_temporal_fir_feed(km_temporal *t, const float *frames, int64_t count, int repeat, float *out,
                          int64_t *n_out)
{
    const int32_t nt = t->nt, n = t->nfft;
    while (count > 0) {
        int64_t chunk = n - t->fill;
        if (chunk > count)
            chunk = count;
        for (int32_t i = 0; repeat && i < nt; i++) {
            float *restrict sg = t->seg + (size_t)i * n + t->fill;
            const float v = frames[i];
            for (int64_t j = 0; j < chunk; j++)
                sg[j] = v;
        }
        if (!repeat) {
            /* Transpose in groups of 16 taxels (see fir_block). */
            for (int32_t g0 = 0; g0 < nt; g0 += 16) {
                const int32_t gn = nt - g0 < 16 ? nt - g0 : 16;
                float *restrict sg = t->seg + (size_t)g0 * n + t->fill;
                for (int64_t j = 0; j < chunk; j++) {
                    const float *restrict src = frames + j * nt + g0;
                    for (int32_t i = 0; i < gn; i++)
                        sg[(size_t)i * n + j] = src[i];
                }
            }
        }
        t->fill += (int32_t)chunk;
        count -= chunk;
        if (!repeat)
            frames += chunk * nt;
        if (t->fill == n) {
            km_temporal_fir_block(t, out + *n_out * nt, t->step);
            *n_out += t->step;
            t->n_out += t->step;
        }
    }
}
