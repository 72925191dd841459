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
 * the push sizes.
 *
 * This file: parameters, creation and the streaming API (the extended
 * stream's padding); the filter families are in temporal_iir.c,
 * temporal_fir.c and temporal_median.c (temporal_internal.h). */
#include <math.h>
#include <string.h>

#include "temporal_internal.h"

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
    if (is_iir(t))
        st = km_temporal_create_iir(ctx, t);
    else if (is_fir(t))
        st = km_temporal_create_fir(ctx, t);
    else
        st = km_temporal_create_median(ctx, t);
    if (st != KM_OK)
        goto done;
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

/* ------------------------------------------------------ streaming API */

static void feed(km_temporal *t, const float *frames, int64_t count, int repeat, float *out,
                 int64_t *n_out)
{
    if (is_fir(t))
        km_temporal_fir_feed(t, frames, count, repeat, out, n_out);
    else
        km_temporal_median_feed(t, frames, count, repeat, out, n_out);
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
            km_temporal_iir_start(t, in);
        km_temporal_iir_run(t, in, n_in, out);
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
            km_temporal_fir_block(t, out + *n_out * t->nt, left);
            *n_out += left;
            t->n_out += left;
        }
    }
    km_temporal_reset(t);
    return KM_OK;
}
