/* The peaks' zero that follows a drifting sensor (docs/ALGORITHMS.md 3.7,
 * `zero_rate`): each taxel's zero is the low envelope of its reading,
 * smoothed over ZERO_TAU_S, that falls at once and rises at most
 * zero_rate x the warm-up's noise a minute.  A roller's taxel is out of
 * contact most of each turn, so its low readings are its zero; the rate
 * limit is what keeps a roller paused or rocking on a tender spot from
 * having its pressure taken for drift (20 s at 8 noise sd a minute: under
 * 3 sd).  The peaks see each frame less the envelope's rise since its
 * lowest (never below 0: a zero that falls makes no false peak, and a
 * taxel pressed when the session starts has its envelope fall first).
 *
 * The envelope is run frame by frame on the first thread (km_exec_block,
 * before the block is published); the rise is taken every ZERO_STEP
 * frames, counted from the session's first frame, so the peaks are the
 * same whatever the block size, the push size or the threads. */
#include <math.h>
#include <string.h>

#include "pipeline/engine_internal.h"

/* The envelope's smoothing: a roller's contact passes a taxel in 0.1-0.5 s
   and it is then unloaded for seconds; 0.2 s takes the white noise down
   to a third at 25 Hz and is back at the zero within a second. */
#define ZERO_TAU_S 0.2
/* The envelope takes every ZERO_EVERY-th frame of the session (25 Hz at
   100 Hz; a drift of minutes needs no more, and a roller's pass lasts
   several of them): a quarter of the cost. */
#define ZERO_EVERY 4

km_status km_peak_zero_create(km_ctx *ctx, km_peak_zero *z, size_t rc, int64_t nb,
                              double rate_per_frame, double frame_rate_hz, double noise)
{
    memset(z, 0, sizeof *z);
    z->rc = rc;
    z->rise = (float)(rate_per_frame * ZERO_EVERY);
    z->dead = (float)noise;
    double hz = frame_rate_hz > 0.0 && isfinite(frame_rate_hz) ? frame_rate_hz : 1.0;
    z->alpha = (float)(1.0 - exp(-ZERO_EVERY / (hz * ZERO_TAU_S)));
    z->n_steps = (int64_t)(nb / KM_ZERO_STEP + 2);
    z->s = km_calloc(ctx, 4 * rc, sizeof *z->s);
    if (z->s == NULL)
        return KM_ERR_NOMEM;
    z->env = z->s + rc;
    z->low = z->env + rc;
    z->cur = z->low + rc;
    z->avx2 = km_cpu_avx2();
    z->on = 1;
    return KM_OK;
}

void km_peak_zero_free(km_ctx *ctx, km_peak_zero *z)
{
    km_free(ctx, z->s);
    memset(z, 0, sizeof *z);
}

/* A taxel's lowest envelope so far, with env taken in (a NaN low: no
   finite reading yet, so env starts it). */
static float lowest(float env, float low)
{
    return env < low || low != low ? env : low;
}

/* The rise of every taxel's envelope over its lowest so far, less a noise
   sd: the envelope's own wander (a fifth to a half of one) is no drift,
   and a frame whose rises are all 0 is seen as it is (a sensor that clamps
   at 0 keeps its exact zeros, which the prominence's sort ties cheaply). */
static void snapshot(km_peak_zero *z)
{
    float *restrict env = z->env, *restrict low = z->low, *restrict out = z->cur;
    float dead = z->dead;
    int any = 0;
    for (size_t k = 0; k < z->rc; k++) {
        float l = lowest(env[k], low[k]);
        float d = env[k] - l - dead;
        low[k] = l;
        out[k] = d > 0.0f ? d : 0.0f; /* NaN (no finite reading yet): 0 */
        any |= d > 0.0f;
    }
    z->cur_any = (uint8_t)any;
}

/* One frame into the smoothed readings and the envelope.  A NaN reading
   is skipped; a smoothed value that is NaN (a taxel that had no reading
   yet, or an infinite one, which makes it NaN a frame later) starts again
   at the reading.  Inlined into a plain and an AVX2 copy: the compiler
   vectorises each for its own width (the library is built for SSE2), the
   same operations on each taxel, so the same bits. */
__attribute__((always_inline)) static inline void update_body(float *restrict s,
                                                              float *restrict env,
                                                              const float *restrict x, float a,
                                                              float rise, size_t rc)
{
    /* Selects on quiet comparisons (isless...: no trap on a NaN), so the
       loop is vectorised without -fno-trapping-math. */
    for (size_t k = 0; k < rc; k++) {
        float xk = x[k], sv = s[k], next = sv + a * (xk - sv);
        float restart = isunordered(xk, xk) ? sv : xk;
        float sk = isunordered(next, next) ? restart : next;
        float up = env[k] + rise;
        float lower = isless(sk, up) ? sk : up;
        s[k] = sk;
        env[k] = isunordered(up, up) ? sk : lower;
    }
}

/* The frame less its rise, never below min(x, 0) (a NaN reading stays
   NaN); the plain and AVX2 copies as update_body's. */
__attribute__((always_inline)) static inline void apply_body(const float *restrict x,
                                                             const float *restrict rise,
                                                             float *restrict out, size_t rc)
{
    for (size_t k = 0; k < rc; k++) {
        float v = x[k] - rise[k], lo = isless(x[k], 0.0f) ? x[k] : 0.0f;
        out[k] = isless(v, lo) ? lo : v;
    }
}

#if KM_AVX2_TARGET
__attribute__((target("avx2"))) static void update_avx2(float *restrict s, float *restrict env,
                                                        const float *restrict x, float a,
                                                        float rise, size_t rc)
{
    update_body(s, env, x, a, rise, rc);
}

__attribute__((target("avx2"))) static void apply_avx2(const float *restrict x,
                                                       const float *restrict rise,
                                                       float *restrict out, size_t rc)
{
    apply_body(x, rise, out, rc);
}
#endif

static void update(km_peak_zero *z, const float *restrict x)
{
#if KM_AVX2_TARGET
    if (z->avx2) {
        update_avx2(z->s, z->env, x, z->alpha, z->rise, z->rc);
        return;
    }
#endif
    update_body(z->s, z->env, x, z->alpha, z->rise, z->rc);
}

void km_peak_zero_block(km_peak_zero *z, const float *frames, int64_t n, float *rises,
                        uint8_t *any, int64_t *first_frame)
{
    int64_t f0 = z->frames, step0 = f0 / KM_ZERO_STEP;
    size_t bytes = z->rc * sizeof *z->cur;
    *first_frame = f0;
    for (int64_t i = 0; i < n; i++) {
        int64_t f = f0 + i;
        if (f == 0) /* the first frame starts every taxel */
            for (size_t k = 0; k < z->rc; k++)
                z->s[k] = z->env[k] = z->low[k] = frames[k];
        if (f % KM_ZERO_STEP == 0)
            snapshot(z);
        if (f % KM_ZERO_STEP == 0 || i == 0) { /* a block may start inside a step */
            int64_t j = f / KM_ZERO_STEP - step0;
            if ((any[j] = z->cur_any) != 0)
                memcpy(rises + (size_t)j * z->rc, z->cur, bytes);
        }
        if (f % ZERO_EVERY == 0)
            update(z, frames + (size_t)i * z->rc);
    }
    z->frames = f0 + n;
}

const float *km_peak_zero_rise(const km_peak_zero *z, const float *rises, const uint8_t *any,
                               int64_t first_frame, int64_t i)
{
    int64_t step = (first_frame + i) / KM_ZERO_STEP - first_frame / KM_ZERO_STEP;
    return any[step] ? rises + (size_t)step * z->rc : NULL;
}

void km_peak_zero_apply(const km_peak_zero *z, const float *restrict x, const float *restrict rise,
                        float *restrict out)
{
#if KM_AVX2_TARGET
    if (z->avx2) {
        apply_avx2(x, rise, out, z->rc);
        return;
    }
#endif
    apply_body(x, rise, out, z->rc);
}

double km_peak_zero_drift(const km_peak_zero *z, const uint8_t *mask)
{
    if (!z->on)
        return NAN;
    double hi = 0.0;
    for (size_t k = 0; k < z->rc; k++) {
        float l = lowest(z->env[k], z->low[k]);
        double d = (double)z->env[k] - (double)l - (double)z->dead;
        if ((mask == NULL || mask[k]) && d > hi)
            hi = d;
    }
    return hi;
}
