/* The stages of the conditioning chain, in the order a frame passes them
 * (docs/ALGORITHMS.md 1, 2, 8, 10; the chain is drawn at the top of
 * condition.c): push -> corrupt-frame test -> resampling -> warm-up ->
 * calibration -> temporal filters -> spatial filter -> output queue (pull).
 * Each stage hands its frame to the next, so they are defined here from the
 * output back to the input; finish drains them in stream order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "condition_internal.h"
#include "core/exact_sum.h"
#include "core/select_small.h"
#include "dsp/neighbour_median.h"

#if KM_AVX2_TARGET
#include <immintrin.h>

/* km_cond_mask_copy eight taxels at a time; returns where it stopped. */
__attribute__((target("avx2"))) static size_t mask_copy_avx2(float *dst, const float *src,
                                                               const uint8_t *mask, size_t n,
                                                               float fill)
{
    const __m256 v = _mm256_set1_ps(fill);
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        int64_t b8;
        memcpy(&b8, mask + k, sizeof b8);
        __m256i off = _mm256_cmpeq_epi32(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(b8)),
                                         _mm256_setzero_si256());
        _mm256_storeu_ps(dst + k, _mm256_blendv_ps(_mm256_loadu_ps(src + k), v,
                                                   _mm256_castsi256_ps(off)));
    }
    return k;
}
#endif

void km_cond_mask_copy(float *dst, const float *src, const uint8_t *mask, size_t n, float fill,
                       int avx2)
{
    size_t k = 0;
#if KM_AVX2_TARGET
    if (avx2)
        k = mask_copy_avx2(dst, src, mask, n, fill);
#else
    (void)avx2;
#endif
    for (; k < n; k++) /* an unconditional store: the loop vectorises */
        dst[k] = mask[k] ? src[k] : fill;
}

/* f[k] = fill where mask[k] is 0 (the masked taxels: 0 into the filters, so
   that a NaN cannot spread through them; NaN at the output). */
static void mask_fill(const km_conditioner *c, float *f, float fill)
{
    km_cond_mask_copy(f, f, c->fmask != NULL ? c->fmask : c->mask, c->rc, fill, c->avx2);
}

/* The suspect taxels (stuck, hot) left out of the spatial filter take the
   mean of their valid finite 8-neighbours (0 without one): as 0 they made a
   dip in the smoothed load around them (ALGORITHMS 3.7; --sigma 1, a stuck
   taxel under a 40 kPa load: 1.44 kPa mean error in its 5 x 5 window, 0.06
   filled).  Their neighbours are never suspect in the sum, so the order of
   the fill does not matter. */
static void fill_suspect(const km_conditioner *c, float *f)
{
    for (int32_t i = 0; i < c->n_suspect; i++) {
        const int32_t k = c->suspect[i];
        int m = 0;
        f[k] = (float)km_neighbour_mean_known(c->rows, c->cols, c->fmask, f, k / c->cols,
                                              k % c->cols, &m);
    }
}

#define MAX_RESAMPLE_GAP 1000000  /* output frames one input step may produce */

/* ------------------------------------------------------------ output */

/* The frame f into the output queue; nan_mask: the taxels whose mask is 0
   go in as NaN (the output's masked fill, made in the same pass as the
   copy). */
static km_status emit(km_ctx *ctx, km_conditioner *c, const float *f, double t, uint32_t flags,
                      int nan_mask)
{
    size_t rc = c->rc;
    if (c->olen == 0 && c->dlen < c->dcap && c->dlen < c->dsafe) { /* to the puller */
        float *d = c->dout + (size_t)c->dlen * rc;
        if (nan_mask)
            km_cond_mask_copy(d, f, c->mask, rc, NAN, c->avx2);
        else
            memcpy(d, f, rc * sizeof *f);
        if (c->dout_t != NULL)
            c->dout_t[c->dlen] = t;
        if (c->dout_f != NULL)
            c->dout_f[c->dlen] = flags;
        c->dlen++;
        return KM_OK;
    }
    if (c->olen == c->ocap) {
        int64_t cap = c->ocap * 2;
        float *nf = km_alloc(ctx, (size_t)cap * rc * sizeof *nf);
        double *nt = km_alloc(ctx, (size_t)cap * sizeof *nt);
        uint32_t *nfl = km_alloc(ctx, (size_t)cap * sizeof *nfl);
        if (nf == NULL || nt == NULL || nfl == NULL) {
            km_free(ctx, nf);
            km_free(ctx, nt);
            km_free(ctx, nfl);
            return KM_ERR_NOMEM;
        }
        for (int64_t i = 0; i < c->olen; i++) {
            int64_t k = (c->ohead + i) % c->ocap;
            memcpy(nf + (size_t)i * rc, c->out + (size_t)k * rc, rc * sizeof *nf);
            nt[i] = c->out_t[k];
            nfl[i] = c->out_f[k];
        }
        km_free(ctx, c->out);
        km_free(ctx, c->out_t);
        km_free(ctx, c->out_f);
        c->out = nf;
        c->out_t = nt;
        c->out_f = nfl;
        c->ocap = cap;
        c->ohead = 0;
    }
    int64_t k = (c->ohead + c->olen) % c->ocap;
    if (nan_mask)
        km_cond_mask_copy(c->out + (size_t)k * rc, f, c->mask, rc, NAN, c->avx2);
    else
        memcpy(c->out + (size_t)k * rc, f, rc * sizeof *f);
    c->out_t[k] = t;
    c->out_f[k] = flags;
    c->olen++;
    return KM_OK;
}

void km_conditioner_pull(km_conditioner *c, float *frames, double *times, uint32_t *flags,
                         int64_t max, int64_t *n)
{
    int64_t m = 0;
    if (c != NULL && frames != NULL) {
        m = c->dlen; /* already in place (km_conditioner_direct) */
        c->dout = NULL;
        c->dcap = c->dlen = 0;
        for (; m < max && c->olen > 0; m++) {
            memcpy(frames + (size_t)m * c->rc, c->out + (size_t)c->ohead * c->rc,
                   c->rc * sizeof *frames);
            if (times != NULL)
                times[m] = c->out_t[c->ohead];
            if (flags != NULL)
                flags[m] = c->out_f[c->ohead];
            c->ohead = (c->ohead + 1) % c->ocap;
            c->olen--;
        }
    }
    if (n != NULL)
        *n = m;
}

/* ----------------------------------------------------------- spatial */

static km_status spatial(km_ctx *ctx, km_conditioner *c, float *f, double t, uint32_t flags)
{
    km_status st;
    int32_t rows = c->rows, cols = c->cols;
    km_mask m = {c->mask, rows, cols, cols};
    km_frame in = {f, rows, cols, cols};
    float *res = f;

    if (c->g1 != NULL) {
        km_frame_mut o = {c->s1, rows, cols, cols};
        if ((st = km_gaussian_apply(ctx, c->g1, &in, &m, &o)) != KM_OK)
            return st;
        res = c->s1;
    }
    if (c->g2 != NULL) {
        km_frame_mut o = {c->s2, rows, cols, cols};
        if ((st = km_gaussian_apply(ctx, c->g2, &in, &m, &o)) != KM_OK)
            return st;
        for (size_t k = 0; k < c->rc; k++)
            c->s1[k] = res[k] - c->s2[k];
        res = c->s1;
    }
    if (!c->p.fill_bad)
        return emit(ctx, c, res, t, flags, 1);
    mask_fill(c, res, NAN);
    if ((st = km_fill_masked(ctx, res, rows, cols, c->mask, c->fill_scratch)) != KM_OK)
        return st;
    return emit(ctx, c, res, t, flags, 0);
}

/* ---------------------------------------------------------- temporal */

static km_status run_chain(km_ctx *ctx, km_conditioner *c, int final)
{
    km_status st;
    int64_t n = c->tstaged;
    const float *src = c->tb[0];
    size_t rc = c->rc;

    c->tstaged = 0;
    for (int i = 0; i < c->ntf; i++) {
        int64_t m = 0, m2 = 0;
        if (n > 0 && (st = km_temporal_push(ctx, c->tf[i], src, n, c->tb[i + 1], &m)) != KM_OK)
            return st;
        if (final) {
            if ((st = km_temporal_flush(ctx, c->tf[i], c->tb[i + 1] + (size_t)m * rc, &m2)) !=
                KM_OK)
                return st;
        }
        n = m + m2;
        src = c->tb[i + 1];
    }
    for (int64_t j = 0; j < n; j++) {
        if (c->qlen == 0)
            return km_fail(ctx, KM_ERR_INTERNAL, "conditioner: filter output without input");
        double t = c->qt[c->qhead];
        uint32_t fl = c->qf[c->qhead];
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qlen--;
        /* src is the chain's scratch: spatial may write into it. */
        if ((st = spatial(ctx, c, (float *)(uintptr_t)(src + (size_t)j * rc), t, fl)) != KM_OK)
            return st;
    }
    return KM_OK;
}

/* f is the calibrated copy (c->cal, or a warm-up frame of wbuf that is not
   read again): scratch that spatial may write into, so without temporal
   filters it goes on without another copy. */
static km_status temporal_in(km_ctx *ctx, km_conditioner *c, float *f, double t, uint32_t flags)
{
    if (c->ntf == 0)
        return spatial(ctx, c, f, t, flags);
    if (c->qlen == c->qcap)
        return km_fail(ctx, KM_ERR_INTERNAL, "conditioner: time queue overflow");
    int64_t k = (c->qhead + c->qlen) % c->qcap;
    c->qt[k] = t;
    c->qf[k] = flags;
    c->qlen++;
    memcpy(c->tb[0] + (size_t)c->tstaged * c->rc, f, c->rc * sizeof *f);
    if (++c->tstaged == CHUNK)
        return run_chain(ctx, c, 0);
    return KM_OK;
}

/* ------------------------------------------------------- calibration */

static km_status calibrate(km_ctx *ctx, km_conditioner *c, float *f, double t, uint32_t flags)
{
    size_t rc = c->rc;
    if (c->tare != NULL)
        for (size_t k = 0; k < rc; k++)
            f[k] -= c->tare[k];
    if (c->gain_map != NULL)
        for (size_t k = 0; k < rc; k++)
            f[k] *= c->gain_map[k];
    if (c->p.curve != KM_CURVE_NONE)
        km_calib_curve_apply(c->p.curve_a, c->p.curve_b, f, rc);
    if (c->apply_calib) {
        km_frame in = {f, c->rows, c->cols, c->cols};
        km_frame_mut o = {f, c->rows, c->cols, c->cols};
        km_status st = km_calibrate(ctx, &c->calib, &in, &o);
        if (st != KM_OK)
            return st;
    }
    /* Masked taxels enter the filters as 0 so that a NaN cannot spread
       through them; they are NaN (or filled) again at the output.  Without
       a filter the frame goes straight to that output fill, which writes
       the same taxels: no 0 fill then. */
    if (c->ntf > 0 || c->g1 != NULL || c->g2 != NULL) {
        mask_fill(c, f, 0.0f);
        if (c->fmask != NULL)
            fill_suspect(c, f);
    }
    return temporal_in(ctx, c, f, t, flags);
}

/* ----------------------------------------------------------- warm-up */

/* The bad taxels of the warm-up: every kind with detect_bad, else only the
   taxels that read an offset while unloaded (the default); masked from
   here on, for every frame, the warm-up's included. */
static km_status warm_decide_bad(km_ctx *ctx, km_conditioner *c)
{
    km_status st;
    if ((c->state = km_alloc(ctx, c->rc)) == NULL)
        return KM_ERR_NOMEM;
    if ((st = km_badtaxel_decide(ctx, c->bad, c->state, c->mask, NULL)) != KM_OK ||
        (st = km_badtaxel_noise(ctx, c->bad, &c->noise)) != KM_OK)
        return st;
    c->n_bad = c->n_offset = 0;
    for (size_t k = 0; k < c->rc; k++) {
        uint8_t s = c->state[k];
        int bad = s != KM_TAXEL_OK && s != KM_TAXEL_MASKED;
        if (!c->p.detect_bad && s != KM_TAXEL_OFFSET)
            bad = 0;
        c->mask[k] = c->mask0[k] && !bad;
        c->n_bad += bad;
        c->n_offset += bad && s == KM_TAXEL_OFFSET;
    }
    /* A stuck taxel smoothed into its neighbours made a peak beside it in
       every frame (--sigma 1: ~2 a quiet frame, model 1 roller moderate). */
    if (!c->suspect_out || (c->g1 == NULL && c->g2 == NULL))
        return KM_OK;
    if ((c->fmask = km_alloc(ctx, c->rc)) == NULL)
        return KM_ERR_NOMEM;
    km_mask_less_suspect(c->fmask, c->mask, c->state, c->rc);
    c->n_suspect = 0;
    for (size_t k = 0; k < c->rc; k++)
        c->n_suspect += c->mask[k] && !c->fmask[k];
    if (c->n_suspect > 0 && (c->suspect = km_alloc(ctx, (size_t)c->n_suspect * sizeof *c->suspect)) == NULL)
        return KM_ERR_NOMEM;
    for (size_t k = 0, i = 0; k < c->rc; k++)
        if (c->mask[k] && !c->fmask[k])
            c->suspect[i++] = (int32_t)k;
    return KM_OK;
}

static km_status warm_finish(km_ctx *ctx, km_conditioner *c)
{
    km_status st;
    size_t rc = c->rc;
    if (c->p.tare_frames > 0)
        for (size_t k = 0; k < rc; k++)
            c->tare[k] += c->tare_cnt[k] > 0 ? (float)(c->tare_acc[k] / c->tare_cnt[k]) : 0.0f;
    if (c->bad != NULL && (st = warm_decide_bad(ctx, c)) != KM_OK)
        return st;
    c->warm_done = 1;
    for (int32_t i = 0; i < c->wcount; i++)
        if ((st = calibrate(ctx, c, c->wbuf + (size_t)i * rc, c->wtime[i], c->wflag[i])) != KM_OK)
            return st;
    c->wcount = 0;
    return KM_OK;
}

/* Whether calibrate would hand its frame to the output unchanged: no tare,
   gain map, curve or calibration, no temporal or spatial filter, no fill
   (the defaults); emit then copies it from where it is, without the
   calibrated copy first. */
static int passes_through(const km_conditioner *c)
{
    return c->tare == NULL && c->gain_map == NULL && c->p.curve == KM_CURVE_NONE &&
           !c->apply_calib && c->ntf == 0 && c->g1 == NULL && c->g2 == NULL && !c->p.fill_bad;
}

static km_status warm_in(km_ctx *ctx, km_conditioner *c, const float *f, double t, uint32_t flags)
{
    km_status st;
    size_t rc = c->rc;
    if (c->warm_done) {
        if (passes_through(c))
            return emit(ctx, c, f, t, flags, 1);
        memcpy(c->cal, f, rc * sizeof *f);
        return calibrate(ctx, c, c->cal, t, flags);
    }
    int32_t i = c->wcount;
    if (i < c->p.tare_frames)
        for (size_t k = 0; k < rc; k++)
            if (isfinite(f[k])) {
                c->tare_acc[k] += f[k];
                c->tare_cnt[k]++;
            }
    /* A corrupt frame arrives here already replaced by the last good one. */
    if (c->bad != NULL && i < c->p.warmup_frames && (st = km_badtaxel_add(ctx, c->bad, f)) != KM_OK)
        return st;
    memcpy(c->wbuf + (size_t)i * rc, f, rc * sizeof *f);
    c->wtime[i] = t;
    c->wflag[i] = flags;
    c->wcount++;
    if (c->wcount == c->W)
        return warm_finish(ctx, c);
    return KM_OK;
}

/* -------------------------------------------------------- resampling */

static km_status resample_in(km_ctx *ctx, km_conditioner *c, const float *f, double t,
                             uint32_t flags)
{
    km_status st;
    size_t rc = c->rc;
    if (!(c->p.resample_hz > 0.0))
        return warm_in(ctx, c, f, t, flags);
    if (!c->rhave) {
        memcpy(c->rprev, f, rc * sizeof *f);
        c->rt_prev = t;
        c->rf_prev = flags;
        c->rhave = 1;
        c->t0 = t;
        c->r_next = 0;
        return KM_OK;
    }
    if (!(t > c->rt_prev)) {
        /* A repeated or backward time: the later frame wins. */
        memcpy(c->rprev, f, rc * sizeof *f);
        c->rf_prev |= flags;
        return KM_OK;
    }
    if ((t - c->rt_prev) * c->rate > MAX_RESAMPLE_GAP)
        return km_fail(ctx, KM_ERR_LIMIT, "resampling: a time gap of %g s at t = %g s", t - c->rt_prev,
                       c->rt_prev);
    for (;;) {
        double tk = c->t0 + (double)c->r_next / c->rate;
        if (!(tk < t))
            break;
        double w = (tk - c->rt_prev) / (t - c->rt_prev);
        float fw = (float)w;
        float *o = c->rs;
        for (size_t k = 0; k < rc; k++)
            o[k] = c->rprev[k] + fw * (f[k] - c->rprev[k]);
        uint32_t fl = (w < 1.0 ? c->rf_prev : 0u) | (w > 0.0 ? flags : 0u);
        c->r_next++;
        if ((st = warm_in(ctx, c, o, tk, fl)) != KM_OK)
            return st;
    }
    memcpy(c->rprev, f, rc * sizeof *f);
    c->rt_prev = t;
    c->rf_prev = flags;
    return KM_OK;
}

static km_status resample_finish(km_ctx *ctx, km_conditioner *c)
{
    if (!(c->p.resample_hz > 0.0) || !c->rhave)
        return KM_OK;
    double tk = c->t0 + (double)c->r_next / c->rate;
    /* The last input frame lies on the grid (up to rounding): emit it. */
    if (fabs(tk - c->rt_prev) <= 1e-9 * fmax(1.0, fabs(tk))) {
        c->r_next++;
        memcpy(c->rs, c->rprev, c->rc * sizeof *c->rs);
        return warm_in(ctx, c, c->rs, tk, c->rf_prev);
    }
    return KM_OK;
}

/* ---------------------------------------------------- corrupt frames */

/* Decide frame j (its window's totals are known: last = index of the last
 * frame there is, or beyond the stream end when finishing). */
static km_status corrupt_decide(km_ctx *ctx, km_conditioner *c, int64_t j, int64_t last)
{
    int32_t h = c->h, w = 2 * h + 1;
    size_t k = 0; /* the window's loaded (non-empty) frames */
    for (int32_t d = -h; d <= h; d++) {
        int64_t q = j + d;
        if (q < 0)
            q = 0;
        if (q > last)
            q = last;
        if (c->csum[q % w] > 0.0)
            c->cwin[k++] = c->csum[q % w];
    }
    double s = c->csum[j % w], r = c->p.corrupt_ratio;
    /* The median of the loaded frames' totals: an empty frame (a quantised
       sensor lifted or stepped off, reading 0) has no scale, and a window
       mostly empty would otherwise make any load "corrupt". With every
       frame loaded k = w and this is the window's middle value, the one of
       rank k / 2 from the smallest. The test s > r x holds for the smallest
       totals up to some rank (r >= 0 and x > 0, so r x, rounded, grows with
       x), so it holds for the median exactly when it holds for k / 2 + 1 of
       them: a count, no branch on the values, without selecting the
       median (km_select64_d: ~360 instructions a frame of window 9). */
    float *f = c->cring + (size_t)(j % (h + 2)) * c->rc;
    uint32_t flags = 0;
    size_t above = 0;
    for (size_t i = 0; i < k; i++)
        above += s > r * c->cwin[i];
    if (s > 0.0 && above >= k / 2 + 1) {
        flags = KM_FRAME_CORRUPT;
        /* The last good frame is kept only when a corrupt one needs it: the
           frame before, still in the ring (h + 2 slots), when it was good;
           else the copy made at the corrupt frame after it. */
        if (c->prev_good)
            memcpy(c->last_good, c->cring + (size_t)((j - 1) % (h + 2)) * c->rc,
                   c->rc * sizeof *f);
        c->prev_good = 0;
        if (c->have_good)
            memcpy(f, c->last_good, c->rc * sizeof *f);
        else if (j + 1 <= last)
            memcpy(f, c->cring + (size_t)((j + 1) % (h + 2)) * c->rc, c->rc * sizeof *f);
    } else {
        c->have_good = c->prev_good = 1;
    }
    c->c_out = j + 1;
    return resample_in(ctx, c, f, c->ctime[j % (h + 1)], flags);
}

static km_status frame_in(km_ctx *ctx, km_conditioner *c, const float *f, double t)
{
    if (c->h == 0)
        return resample_in(ctx, c, f, t, 0);
    int32_t h = c->h;
    int64_t i = c->c_in;
    c->csum[i % (2 * h + 1)] =
        km_abs_sum_masked_copy(f, c->mask0, c->rc, c->cring + (size_t)(i % (h + 2)) * c->rc);
    if (c->dsafe != INT64_MAX)
        c->dsafe++; /* f is in the ring now: its place is free */
    c->ctime[i % (h + 1)] = t;
    c->c_in = i + 1;
    if (i >= h)
        return corrupt_decide(ctx, c, i - h, i);
    return KM_OK;
}

void km_conditioner_direct(km_conditioner *c, float *frames, double *times, uint32_t *flags,
                           int64_t max)
{
    c->dout = frames;
    c->dout_t = times;
    c->dout_f = flags;
    c->dcap = frames != NULL && max > 0 ? max : 0;
    c->dlen = 0;
}

km_status km_conditioner_push(km_ctx *ctx, km_conditioner *c, const float *frames,
                              const double *times, int64_t n)
{
    km_status st = KM_OK;
    if (c == NULL || n < 0 || (n > 0 && frames == NULL))
        return km_fail(ctx, KM_ERR_INVALID, "conditioner: bad arguments to push");
    if (c->finished)
        return km_fail(ctx, KM_ERR_INVALID, "conditioner: push after finish");
    /* The engine's one thread reads into the block it pulls into: a place
       there is free once its input frame has gone in (the stages keep
       copies; the corrupt test's ring takes it first, frame_in), so the
       push writes only below the frame it takes, or up to it once in the
       ring; the rest waits in the queue. */
    uintptr_t in0 = (uintptr_t)frames, in1 = in0 + (uintptr_t)n * c->rc * sizeof *frames;
    uintptr_t d0 = (uintptr_t)c->dout, d1 = d0 + (uintptr_t)c->dcap * c->rc * sizeof *frames;
    int alias = c->dcap > 0 && in0 < d1 && d0 < in1;
    c->dsafe = INT64_MAX;
    for (int64_t i = 0; i < n && st == KM_OK; i++) {
        if (alias) /* place k holds input frame k - (in0 - d0) / frame bytes */
            c->dsafe = i + (int64_t)((intptr_t)(in0 - d0) / (intptr_t)(c->rc * sizeof *frames));
        double t = times != NULL ? times[i]
                   : c->rate_in > 0.0 ? (double)c->n_pushed / c->rate_in
                                      : (double)c->n_pushed;
        if (!isfinite(t))
            return km_fail(ctx, KM_ERR_INVALID, "conditioner: frame %lld has time %g",
                           (long long)c->n_pushed, t);
        st = frame_in(ctx, c, frames + (size_t)i * c->rc, t);
        c->n_pushed++;
    }
    if (st == KM_OK && c->tstaged > 0)
        st = run_chain(ctx, c, 0);
    return st;
}

km_status km_conditioner_finish(km_ctx *ctx, km_conditioner *c)
{
    km_status st = KM_OK;
    if (c == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "conditioner: NULL");
    if (c->finished)
        return KM_OK;
    c->finished = 1;
    if (c->h > 0)
        for (int64_t j = c->c_out; j < c->c_in && st == KM_OK; j++)
            st = corrupt_decide(ctx, c, j, c->c_in - 1);
    if (st == KM_OK)
        st = resample_finish(ctx, c);
    if (st == KM_OK && !c->warm_done)
        st = warm_finish(ctx, c);
    if (st == KM_OK && c->ntf > 0)
        st = run_chain(ctx, c, 1);
    return st;
}
