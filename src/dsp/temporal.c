/* Temporal filters per taxel, streaming (docs/ALGORITHMS.md section 8).
 *
 * Frames arrive frame-major ([T][n_taxels]).  The causal IIR kinds run a
 * biquad cascade across all taxels at once (unit stride over taxels, state
 * in double).  The zero-phase kinds (FIR, median) see an "extended stream"
 * e: D copies of the first frame, the frames, then at flush D copies of the
 * last frame; output frame n is computed from e[n .. n + 2D].  The FIR runs
 * as FFT overlap-save: each taxel's stream fills a segment of N samples
 * (taxel-major, one FFTW plan over all taxels), and a full segment yields
 * L = N - taps + 1 outputs.  Blocks fire at the same stream positions
 * however the input is cut into pushes, so the output does not depend on
 * the push sizes. */
#include <fftw3.h>
#include <math.h>
#include <string.h>

#include "dsp_internal.h"
#include "internal.h"

#define KM_TEMPORAL_MAX_TAPS (1 << 20)
#define KM_TEMPORAL_MAX_FFT_FLOATS ((size_t)1 << 28)
#define KM_TEMPORAL_MAX_SECTIONS 64
/* Floats per FFT batch buffer: a batch's segment, spectrum and result
 * stay in L2 while it is transformed, multiplied and transformed back
 * (one plan over all taxels at once streamed 3 arrays of megabytes
 * through memory and ran at half the speed). */
#define KM_TEMPORAL_BATCH_FLOATS 16384
/* Up to this width the median sorts all taxels at once with a
 * compare-exchange network (vectorised across taxels); wider windows use
 * quickselect per taxel. */
#define KM_TEMPORAL_NETWORK_WIDTH 15

static const double KM_PI = 3.14159265358979323846;

struct km_temporal {
    km_alloc_ref ref;
    km_temporal_params p;
    int32_t nt;                /* taxels per frame */
    int64_t delay;             /* D */
    int started;               /* first frame of the stream seen */
    int64_t n_in, n_out;       /* frames in and out in this stream */
    float *last;               /* last input frame (flush padding) */

    /* IIR: sections b0 b1 b2 a1 a2 and the steady-state factors. */
    int32_t n_sec;
    double sos[KM_TEMPORAL_MAX_SECTIONS][5];
    double zi[KM_TEMPORAL_MAX_SECTIONS][2];
    double *z;                 /* n_sec * 2 * nt */
    double *v;                 /* nt */

    /* FIR overlap-save. */
    int32_t taps, nfft, step;  /* M, N, L */
    int32_t fill;              /* samples of e in the segment */
    float *seg;                /* nt * N */
    int32_t tile;              /* taxels per FFT batch */
    float *res;                /* tile * N */
    fftwf_complex *spec;       /* tile * (N/2 + 1) */
    fftwf_complex *kspec;      /* N/2 + 1: kernel spectrum / N */
    fftwf_plan fwd, inv;       /* batches of `tile` taxels */
    fftwf_plan fwd_rest, inv_rest; /* the last nt % tile taxels */

    /* Median. */
    int32_t width;
    int32_t ring_count, ring_pos;
    float *ring;               /* width * nt */
    float *win;                /* width */
    float *sortbuf;            /* width * nt, small widths only */
};

void km_temporal_params_default(km_temporal_params *p)
{
    if (p == NULL)
        return;
    p->kind = KM_TEMPORAL_IIR_LOWPASS;
    p->rate_hz = 0.0;
    p->cutoff_hz = 1.0;
    p->order = 4;
    p->taps = 0;
    p->fft_size = 0;
    p->notch_hz = 50.0;
    p->notch_q = 30.0;
    p->harmonics = 1;
    p->median_width = 5;
}

static int is_fir(const km_temporal *t)
{
    return t->p.kind == KM_TEMPORAL_FIR_LOWPASS || t->p.kind == KM_TEMPORAL_FIR_HIGHPASS;
}

static int is_iir(const km_temporal *t)
{
    return t->p.kind == KM_TEMPORAL_IIR_LOWPASS || t->p.kind == KM_TEMPORAL_IIR_HIGHPASS ||
           t->p.kind == KM_TEMPORAL_NOTCH;
}

/* ------------------------------------------------------------ design */

static void add_section(km_temporal *t, double b0, double b1, double b2, double a1, double a2)
{
    double *s = t->sos[t->n_sec++];
    s[0] = b0;
    s[1] = b1;
    s[2] = b2;
    s[3] = a1;
    s[4] = a2;
}

/* Butterworth by the bilinear transform with prewarping (as
 * scipy.signal.butter): analog prototype poles on the unit circle, scaled
 * (low-pass) or inverted (high-pass) to the warped corner, mapped to z and
 * paired into conjugate sections, each normalised to unit gain at DC
 * (low-pass) or Nyquist (high-pass). */
static void design_butter(km_temporal *t)
{
    const int32_t n = t->p.order;
    const int high = t->p.kind == KM_TEMPORAL_IIR_HIGHPASS;
    const double fs2 = 2.0 * t->p.rate_hz;
    const double wc = fs2 * tan(KM_PI * t->p.cutoff_hz / t->p.rate_hz);
    for (int32_t k = 0; k < n / 2; k++) {
        double th = KM_PI * (double)(2 * k + n + 1) / (2.0 * n);
        double pr = cos(th), pi = sin(th), sr, si, dr, di, den, zr, zi, a1, a2, g;
        if (high) { /* s = wc / p, |p| = 1 */
            sr = wc * pr;
            si = -wc * pi;
        } else {
            sr = wc * pr;
            si = wc * pi;
        }
        /* z = (1 + s/fs2) / (1 - s/fs2) */
        dr = 1.0 - sr / fs2;
        di = -si / fs2;
        den = dr * dr + di * di;
        zr = ((1.0 + sr / fs2) * dr + (si / fs2) * di) / den;
        zi = ((si / fs2) * dr - (1.0 + sr / fs2) * di) / den;
        a1 = -2.0 * zr;
        a2 = zr * zr + zi * zi;
        if (high) {
            g = (1.0 - a1 + a2) / 4.0;
            add_section(t, g, -2.0 * g, g, a1, a2);
        } else {
            g = (1.0 + a1 + a2) / 4.0;
            add_section(t, g, 2.0 * g, g, a1, a2);
        }
    }
    if (n % 2 == 1) { /* real pole p = -1 */
        /* s = -wc for both: wc * (-1) and wc / (-1) */
        double s = -wc;
        double zp = (1.0 + s / fs2) / (1.0 - s / fs2), g;
        if (high) {
            g = (1.0 + zp) / 2.0;
            add_section(t, g, -g, 0.0, -zp, 0.0);
        } else {
            g = (1.0 - zp) / 2.0;
            add_section(t, g, g, 0.0, -zp, 0.0);
        }
    }
}

/* scipy.signal.iirnotch at each harmonic below Nyquist, same Q. */
static void design_notch(km_temporal *t)
{
    for (int32_t k = 1; k <= t->p.harmonics; k++) {
        double f0 = k * t->p.notch_hz, w0, bw, gain, c;
        if (f0 >= 0.5 * t->p.rate_hz)
            break;
        w0 = 2.0 * KM_PI * f0 / t->p.rate_hz;
        bw = w0 / t->p.notch_q;
        gain = 1.0 / (1.0 + tan(bw / 2.0));
        c = cos(w0);
        add_section(t, gain, -2.0 * gain * c, gain, -2.0 * gain * c, 2.0 * gain - 1.0);
    }
}

/* Per section, the state that makes a constant input u a steady state:
 * z1 = (G - b0) U, z2 = (b2 - a2 G) U, U = u times the DC gain of the
 * sections before (scipy.signal.sosfilt_zi scaled by the first frame). */
static void steady_state_factors(km_temporal *t)
{
    double u = 1.0;
    for (int32_t s = 0; s < t->n_sec; s++) {
        const double *c = t->sos[s];
        double g = (c[0] + c[1] + c[2]) / (1.0 + c[3] + c[4]);
        t->zi[s][0] = (g - c[0]) * u;
        t->zi[s][1] = (c[2] - c[4] * g) * u;
        u *= g;
    }
}

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

/* ------------------------------------------------------------ create */

static km_status check_params(km_ctx *ctx, int32_t n_taxels, const km_temporal_params *p)
{
    const double nyq = 0.5 * p->rate_hz;
    if (n_taxels <= 0 || n_taxels > KM_MAX_TAXELS)
        return km_fail(ctx, n_taxels <= 0 ? KM_ERR_INVALID : KM_ERR_LIMIT,
                       "temporal: %d taxels", (int)n_taxels);
    if ((int)p->kind < KM_TEMPORAL_FIR_LOWPASS || (int)p->kind > KM_TEMPORAL_MEDIAN)
        return km_fail(ctx, KM_ERR_INVALID, "temporal: unknown kind %d", (int)p->kind);
    if (p->kind == KM_TEMPORAL_MEDIAN) {
        if (p->median_width < 1 || p->median_width > 255 || p->median_width % 2 == 0)
            return km_fail(ctx, KM_ERR_INVALID, "temporal: median_width %d (odd, 1..255)",
                           (int)p->median_width);
        return KM_OK;
    }
    if (!(p->rate_hz > 0.0) || !isfinite(p->rate_hz))
        return km_fail(ctx, KM_ERR_INVALID, "temporal: rate_hz %g must be > 0", p->rate_hz);
    if (p->kind == KM_TEMPORAL_NOTCH) {
        if (!(p->notch_hz > 0.0 && p->notch_hz < nyq))
            return km_fail(ctx, KM_ERR_INVALID, "temporal: notch_hz %g not in (0, %g)",
                           p->notch_hz, nyq);
        if (!(p->notch_q > 0.0) || !isfinite(p->notch_q))
            return km_fail(ctx, KM_ERR_INVALID, "temporal: notch_q %g must be > 0", p->notch_q);
        if (p->harmonics < 1 || p->harmonics > KM_TEMPORAL_MAX_SECTIONS)
            return km_fail(ctx, KM_ERR_INVALID, "temporal: harmonics %d (1..%d)",
                           (int)p->harmonics, KM_TEMPORAL_MAX_SECTIONS);
        return KM_OK;
    }
    if (!(p->cutoff_hz > 0.0 && p->cutoff_hz < nyq))
        return km_fail(ctx, KM_ERR_INVALID, "temporal: cutoff_hz %g not in (0, %g)",
                       p->cutoff_hz, nyq);
    if ((p->kind == KM_TEMPORAL_IIR_LOWPASS || p->kind == KM_TEMPORAL_IIR_HIGHPASS) &&
        (p->order < 1 || p->order > 16))
        return km_fail(ctx, KM_ERR_INVALID, "temporal: order %d (1..16)", (int)p->order);
    if (p->taps < 0 || (p->taps > 0 && p->taps % 2 == 0))
        return km_fail(ctx, KM_ERR_INVALID, "temporal: taps %d must be odd (or 0 = auto)",
                       (int)p->taps);
    if (p->fft_size < 0 || (p->fft_size & (p->fft_size - 1)) != 0)
        return km_fail(ctx, KM_ERR_INVALID, "temporal: fft_size %d must be a power of 2",
                       (int)p->fft_size);
    return KM_OK;
}

void km_temporal_free(km_temporal *t)
{
    km_alloc_ref ref;
    if (t == NULL)
        return;
    ref = t->ref;
    if (t->fwd != NULL || t->inv != NULL || t->fwd_rest != NULL || t->inv_rest != NULL) {
        km_fftw_lock();
        if (t->fwd != NULL)
            fftwf_destroy_plan(t->fwd);
        if (t->inv != NULL)
            fftwf_destroy_plan(t->inv);
        if (t->fwd_rest != NULL)
            fftwf_destroy_plan(t->fwd_rest);
        if (t->inv_rest != NULL)
            fftwf_destroy_plan(t->inv_rest);
        km_fftw_unlock();
    }
    km_ref_free(&ref, t->last);
    km_ref_free(&ref, t->z);
    km_ref_free(&ref, t->v);
    km_ref_free(&ref, t->seg);
    km_ref_free(&ref, t->res);
    km_ref_free(&ref, t->spec);
    km_ref_free(&ref, t->kspec);
    km_ref_free(&ref, t->ring);
    km_ref_free(&ref, t->win);
    km_ref_free(&ref, t->sortbuf);
    km_ref_free(&ref, t);
}

static km_status create_fir(km_ctx *ctx, km_temporal *t)
{
    km_status st = KM_OK;
    const double nyq = 0.5 * t->p.rate_hz;
    double *h = NULL;
    float *kbuf = NULL;
    fftwf_plan kplan = NULL;
    int32_t nc;
    int n;
    size_t total;

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
    if (!km_size_mul((size_t)t->nt, (size_t)t->nfft, &total) ||
        total > KM_TEMPORAL_MAX_FFT_FLOATS)
        return km_fail(ctx, KM_ERR_LIMIT, "temporal: %d taxels x FFT %d is too large",
                       (int)t->nt, (int)t->nfft);
    t->step = t->nfft - t->taps + 1;
    t->delay = (t->taps - 1) / 2;
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

    n = t->nfft;
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
        (t->nt % t->tile != 0 && (t->fwd_rest == NULL || t->inv_rest == NULL))) {
        st = km_fail(ctx, KM_ERR_INTERNAL, "temporal: FFTW could not plan size %d", n);
        goto done;
    }
    for (int32_t k = 0; k < nc; k++) {
        t->kspec[k][0] /= (float)n;
        t->kspec[k][1] /= (float)n;
    }
done:
    km_free(ctx, h);
    km_free(ctx, kbuf);
    return st;
}

km_status km_temporal_create(km_ctx *ctx, int32_t n_taxels, const km_temporal_params *p,
                             km_temporal **out)
{
    km_status st;
    km_temporal *t = NULL;

    if (out == NULL || p == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "temporal: NULL argument");
    *out = NULL;
    st = check_params(ctx, n_taxels, p);
    if (st != KM_OK)
        return st;
    t = km_calloc(ctx, 1, sizeof *t);
    if (t == NULL)
        return KM_ERR_NOMEM;
    t->ref = km_ctx_alloc_ref(ctx);
    t->p = *p;
    t->nt = n_taxels;
    t->last = km_alloc(ctx, (size_t)n_taxels * sizeof *t->last);
    if (t->last == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    if (is_iir(t)) {
        if (p->kind == KM_TEMPORAL_NOTCH)
            design_notch(t);
        else
            design_butter(t);
        steady_state_factors(t);
        t->z = km_alloc(ctx, (size_t)t->n_sec * 2 * (size_t)n_taxels * sizeof *t->z);
        t->v = km_alloc(ctx, (size_t)n_taxels * sizeof *t->v);
        if (t->z == NULL || t->v == NULL) {
            st = KM_ERR_NOMEM;
            goto done;
        }
    } else if (is_fir(t)) {
        st = create_fir(ctx, t);
        if (st != KM_OK)
            goto done;
    } else {
        t->width = p->median_width;
        t->delay = (t->width - 1) / 2;
        t->ring = km_alloc(ctx, (size_t)t->width * (size_t)n_taxels * sizeof *t->ring);
        t->win = km_alloc(ctx, (size_t)t->width * sizeof *t->win);
        if (t->width <= KM_TEMPORAL_NETWORK_WIDTH)
            t->sortbuf = km_alloc(ctx, (size_t)t->width * (size_t)n_taxels * sizeof *t->sortbuf);
        if (t->ring == NULL || t->win == NULL ||
            (t->width <= KM_TEMPORAL_NETWORK_WIDTH && t->sortbuf == NULL)) {
            st = KM_ERR_NOMEM;
            goto done;
        }
    }
    km_temporal_reset(t);
    *out = t;
    t = NULL;
done:
    km_temporal_free(t);
    return st;
}

void km_temporal_reset(km_temporal *t)
{
    if (t == NULL)
        return;
    t->started = 0;
    t->n_in = t->n_out = 0;
    t->fill = 0;
    t->ring_count = t->ring_pos = 0;
}

int64_t km_temporal_delay(const km_temporal *t)
{
    return t == NULL ? 0 : t->delay;
}

int64_t km_temporal_max_output(const km_temporal *t, int64_t n_in)
{
    if (t == NULL)
        return 0;
    if (n_in < 0)
        n_in = 0;
    return n_in + t->delay + (is_fir(t) ? t->step : 0);
}

/* ------------------------------------------------------------- IIR */

static void iir_start(km_temporal *t, const float *x0)
{
    const int32_t nt = t->nt;
    for (int32_t s = 0; s < t->n_sec; s++) {
        double *z1 = t->z + (size_t)(2 * s) * nt, *z2 = z1 + nt;
        for (int32_t i = 0; i < nt; i++) {
            z1[i] = t->zi[s][0] * x0[i];
            z2[i] = t->zi[s][1] * x0[i];
        }
    }
}

static void iir_run(km_temporal *t, const float *in, int64_t n, float *out)
{
    const int32_t nt = t->nt;
    for (int64_t f = 0; f < n; f++) {
        const float *restrict x = in + f * nt;
        float *restrict y = out + f * nt;
        double *restrict v = t->v;
        for (int32_t i = 0; i < nt; i++)
            v[i] = x[i];
        for (int32_t s = 0; s < t->n_sec; s++) {
            const double b0 = t->sos[s][0], b1 = t->sos[s][1], b2 = t->sos[s][2];
            const double a1 = t->sos[s][3], a2 = t->sos[s][4];
            double *restrict z1 = t->z + (size_t)(2 * s) * nt;
            double *restrict z2 = z1 + nt;
            /* transposed direct form II */
            for (int32_t i = 0; i < nt; i++) {
                double u = v[i], w = b0 * u + z1[i];
                z1[i] = b1 * u - a1 * w + z2[i];
                z2[i] = b2 * u - a2 * w;
                v[i] = w;
            }
        }
        for (int32_t i = 0; i < nt; i++)
            y[i] = (float)v[i];
    }
}

/* ------------------------------------------------------------- FIR */

/* One overlap-save block: n_emit (<= L) outputs to out (frame-major),
 * then slide, batch by batch so that each batch stays in cache. */
static void fir_block(km_temporal *t, float *out, int64_t n_emit)
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
static void fir_feed(km_temporal *t, const float *frames, int64_t count, int repeat, float *out,
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
            fir_block(t, out + *n_out * nt, t->step);
            *n_out += t->step;
            t->n_out += t->step;
        }
    }
}

/* ---------------------------------------------------------- median */

/* Odd-even transposition sort of the w ring rows, all taxels at once:
 * w rounds of compare-exchanges between neighbouring rows leave every
 * column sorted; row w/2 is the median.  Order in the ring does not
 * matter for a median. */
static void median_network(km_temporal *t, float *restrict y)
{
    const int32_t nt = t->nt, w = t->width;
    float *buf = t->sortbuf;
    memcpy(buf, t->ring, (size_t)w * (size_t)nt * sizeof *buf);
    for (int32_t round = 0; round < w; round++) {
        for (int32_t r = round % 2; r + 1 < w; r += 2) {
            float *restrict a = buf + (size_t)r * nt;
            float *restrict b = a + nt;
            for (int32_t i = 0; i < nt; i++) {
                float lo = a[i] < b[i] ? a[i] : b[i];
                float hi = a[i] < b[i] ? b[i] : a[i];
                a[i] = lo;
                b[i] = hi;
            }
        }
    }
    memcpy(y, buf + (size_t)(w / 2) * nt, (size_t)nt * sizeof *y);
}

static void median_feed(km_temporal *t, const float *frames, int64_t count, int repeat,
                        float *out, int64_t *n_out)
{
    const int32_t nt = t->nt, w = t->width;
    for (int64_t f = 0; f < count; f++) {
        const float *x = repeat ? frames : frames + f * nt;
        memcpy(t->ring + (size_t)t->ring_pos * nt, x, (size_t)nt * sizeof *x);
        t->ring_pos = (t->ring_pos + 1) % w;
        if (t->ring_count < w)
            t->ring_count++;
        if (t->ring_count == w && t->sortbuf != NULL) {
            median_network(t, out + *n_out * nt);
            (*n_out)++;
            t->n_out++;
        } else if (t->ring_count == w) {
            float *y = out + *n_out * nt;
            for (int32_t i = 0; i < nt; i++) {
                for (int32_t j = 0; j < w; j++)
                    t->win[j] = t->ring[(size_t)j * nt + i];
                y[i] = km_select_kth_f(t->win, (size_t)w, (size_t)(w / 2));
            }
            (*n_out)++;
            t->n_out++;
        }
    }
}

/* ------------------------------------------------------ streaming API */

static void feed(km_temporal *t, const float *frames, int64_t count, int repeat, float *out,
                 int64_t *n_out)
{
    if (is_fir(t))
        fir_feed(t, frames, count, repeat, out, n_out);
    else
        median_feed(t, frames, count, repeat, out, n_out);
}

km_status km_temporal_push(km_ctx *ctx, km_temporal *t, const float *in, int64_t n_in,
                           float *out, int64_t *n_out)
{
    if (n_out != NULL)
        *n_out = 0;
    if (t == NULL || n_out == NULL || n_in < 0 || (n_in > 0 && (in == NULL || out == NULL)))
        return km_fail(ctx, KM_ERR_INVALID, "temporal: bad arguments to push");
    if (n_in == 0)
        return KM_OK;
    if (is_iir(t)) {
        if (!t->started)
            iir_start(t, in);
        iir_run(t, in, n_in, out);
        *n_out = n_in;
        t->n_out += n_in;
    } else {
        if (!t->started)
            feed(t, in, t->delay, 1, out, n_out);
        feed(t, in, n_in, 0, out, n_out);
    }
    t->started = 1;
    t->n_in += n_in;
    memcpy(t->last, in + (n_in - 1) * t->nt, (size_t)t->nt * sizeof *t->last);
    return KM_OK;
}

km_status km_temporal_flush(km_ctx *ctx, km_temporal *t, float *out, int64_t *n_out)
{
    if (n_out != NULL)
        *n_out = 0;
    if (t == NULL || n_out == NULL || out == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "temporal: bad arguments to flush");
    if (t->started && !is_iir(t)) {
        feed(t, t->last, t->delay, 1, out, n_out);
        if (is_fir(t) && t->n_out < t->n_in) {
            /* The last outputs need only what is already in the segment;
             * the rest of it is don't-care. */
            int64_t left = t->n_in - t->n_out;
            for (int32_t i = 0; i < t->nt; i++)
                memset(t->seg + (size_t)i * t->nfft + t->fill, 0,
                       (size_t)(t->nfft - t->fill) * sizeof(float));
            fir_block(t, out + *n_out * t->nt, left);
            *n_out += left;
            t->n_out += left;
        }
    }
    km_temporal_reset(t);
    return KM_OK;
}
