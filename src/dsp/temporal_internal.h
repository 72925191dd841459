/* The temporal filters' private header (src/dsp/temporal*.c only): the
 * filter state and the functions of its three families.  temporal.c is
 * the streaming API and the extended stream; temporal_iir.c the causal
 * Butterworth and notch cascades; temporal_fir.c the zero-phase FIR by
 * FFT overlap-save; temporal_median.c the running median. */
#ifndef KM_TEMPORAL_INTERNAL_H
#define KM_TEMPORAL_INTERNAL_H

#include "fftw_dyn.h"

#include "dsp_internal.h"
#include "internal.h"

#define KM_TEMPORAL_MAX_SECTIONS 64

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

static inline int is_fir(const km_temporal *t)
{
    return t->p.kind == KM_TEMPORAL_FIR_LOWPASS || t->p.kind == KM_TEMPORAL_FIR_HIGHPASS;
}

static inline int is_iir(const km_temporal *t)
{
    return t->p.kind == KM_TEMPORAL_IIR_LOWPASS || t->p.kind == KM_TEMPORAL_IIR_HIGHPASS ||
           t->p.kind == KM_TEMPORAL_NOTCH;
}

/* ---- IIR (temporal_iir.c) ---- */

/* Design the sections (Butterworth or notch), their steady-state factors,
 * and allocate the state.  Errors: KM_ERR_NOMEM. */
km_status km_temporal_create_iir(km_ctx *ctx, km_temporal *t);
/* State for a stream whose first frame is x0 (a constant input is steady). */
void km_temporal_iir_start(km_temporal *t, const float *x0);
/* n frames through the cascade, in to out (frame-major). */
void km_temporal_iir_run(km_temporal *t, const float *in, int64_t n, float *out);

/* ---- FIR (temporal_fir.c) ---- */

/* Taps, FFT size, buffers and plans; the delay D.  Errors: KM_ERR_LIMIT,
 * KM_ERR_INVALID, KM_ERR_NOMEM, KM_ERR_INTERNAL (FFTW). */
km_status km_temporal_create_fir(km_ctx *ctx, km_temporal *t);
/* One overlap-save block: n_emit (<= L) outputs to out (frame-major). */
void km_temporal_fir_block(km_temporal *t, float *out, int64_t n_emit);
/* Append `count` frames of the extended stream; `repeat` = the same frame
 * `count` times (padding), else consecutive frames; outputs at out +
 * *n_out frames, *n_out advanced. */
void km_temporal_fir_feed(km_temporal *t, const float *frames, int64_t count, int repeat, float *out,
                          int64_t *n_out);

/* ---- median (temporal_median.c) ---- */

/* The window ring and sort buffers; the delay D.  Errors: KM_ERR_NOMEM. */
km_status km_temporal_create_median(km_ctx *ctx, km_temporal *t);
/* As km_temporal_fir_feed, for the median. */
void km_temporal_median_feed(km_temporal *t, const float *frames, int64_t count, int repeat,
                             float *out, int64_t *n_out);

#endif
