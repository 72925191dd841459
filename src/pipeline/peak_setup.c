/* What the per-frame peaks see, decided once when the warm-up has ended
 * (before the first block's per-frame stage; docs/ALGORITHMS.md 3.7):
 *
 *   - the mask: the conditioner's, less the taxels the warm-up found stuck
 *     or hot but did not mask (detect_bad off), unless keep_suspect.  Each
 *     would make a peak in every frame and hold threshold_rel at a tenth of
 *     its value.  The metrics and the body map's pressure take the same
 *     mask (km_bodygrid_set_bodymap_mask); the candidates keep their own
 *     stuck-taxel rule (src/track/cand_stuck.c);
 *   - the floor: with threshold_abs NaN, floor_sigmas times the sensor's
 *     frame-to-frame noise of the warm-up, in result units, so that a
 *     light or empty frame's noise is not a peak (threshold_rel of a light
 *     frame's maximum is tiny);
 *   - the zero the peaks are measured from: on a roller (zero_rate) each
 *     taxel's low envelope, rising at most zero_rate x that noise a minute
 *     (peak_zero.c), so that a sensor whose zero drifts does not flood the
 *     peaks; off without a noise.
 *
 * The mask and the floor come from the warm-up alone and the zero from the
 * frames in session order, never from how frames are pushed, so every push
 * size gives the same peaks. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/condition.h"
#include "pipeline/engine_internal.h"

int32_t km_engine_n_suspect(const km_engine *e)
{
    const uint8_t *state = km_conditioner_taxel_state(e->cond);
    const uint8_t *mask = km_conditioner_mask(e->cond);
    size_t rc = (size_t)e->info.rows * (size_t)e->info.cols;
    int32_t n = 0;
    for (size_t k = 0; state != NULL && mask != NULL && k < rc; k++)
        n += mask[k] && km_taxel_suspect(state[k]);
    return n;
}

km_status km_engine_suspect_at(km_ctx *ctx, const km_engine *e, char **out)
{
    const uint8_t *state = km_conditioner_taxel_state(e->cond);
    const uint8_t *mask = km_conditioner_mask(e->cond);
    int32_t n = km_engine_n_suspect(e), listed = 0;
    /* "rrrrr,ccccc " per taxel (int32 rows and cols fit in 11 digits each). */
    size_t cap = (size_t)(n < KM_SUSPECT_LISTED ? n : KM_SUSPECT_LISTED) * 24 + 40, len = 0;
    char *s = km_alloc(ctx, cap);
    if ((*out = s) == NULL)
        return KM_ERR_NOMEM;
    s[0] = '\0';
    for (int32_t r = 0; n > 0 && r < e->info.rows; r++)
        for (int32_t c = 0; c < e->info.cols && listed < KM_SUSPECT_LISTED; c++) {
            size_t k = (size_t)r * (size_t)e->info.cols + (size_t)c;
            if (!(mask[k] && km_taxel_suspect(state[k])))
                continue;
            len += (size_t)snprintf(s + len, cap - len, "%s%d,%d", listed ? " " : "", (int)r,
                                    (int)c);
            listed++;
        }
    if (listed < n)
        snprintf(s + len, cap - len, " ... (%d in all)", (int)n);
    return KM_OK;
}

/* The warm-up's noise in result units: it is measured on the source
   values, and the calibration is an affine map (a curve is not: NaN). */
static double result_noise(const km_engine *e)
{
    if (e->cp.curve != KM_CURVE_NONE)
        return NAN;
    return km_conditioner_noise(e->cond) * fabs(e->calib.gain);
}

double km_engine_zero_drift(const km_engine *e)
{
    return km_peak_zero_drift(&e->zero, e->peak_mask);
}

/* The envelope, a block's rises in every slot and a frame per worker. */
static km_status setup_zero(km_ctx *ctx, km_engine *e, size_t rc)
{
    double per_frame = e->zero_rate * e->noise / 60.0 / e->info.frame_rate_hz;
    if (!(e->zero_rate > 0.0) || !(e->noise > 0.0) || !(per_frame > 0.0) || !isfinite(per_frame))
        return KM_OK;
    km_status st = km_peak_zero_create(ctx, &e->zero, rc, e->nb, per_frame,
                                       e->info.frame_rate_hz, e->noise);
    for (int k = 0; k < e->n_slots && st == KM_OK; k++) {
        km_eng_block *b = &e->slot[k];
        b->rises = km_alloc(ctx, (size_t)e->zero.n_steps * rc * sizeof(float));
        b->rise_any = km_alloc(ctx, (size_t)e->zero.n_steps);
        if (b->rises == NULL || b->rise_any == NULL)
            st = KM_ERR_NOMEM;
    }
    for (int k = 0; k < e->nw && st == KM_OK; k++)
        if ((e->wk[k].zframe = km_alloc(ctx, rc * sizeof(float))) == NULL)
            st = KM_ERR_NOMEM;
    if (st != KM_OK)
        e->zero.on = 0;
    return st;
}

km_status km_engine_setup_peaks(km_ctx *ctx, km_engine *e)
{
    const uint8_t *mask = km_conditioner_mask(e->cond);
    const uint8_t *state = km_conditioner_taxel_state(e->cond);
    size_t rc = (size_t)e->info.rows * (size_t)e->info.cols;
    km_status st;
    e->peaks_set = 1;
    e->noise = result_noise(e);
    e->peak_mask = mask;
    if (!e->p.keep_suspect && state != NULL && km_engine_n_suspect(e) > 0) {
        if ((e->pmask = km_alloc(ctx, rc)) == NULL)
            return KM_ERR_NOMEM;
        km_mask_less_suspect(e->pmask, mask, state, rc);
        e->peak_mask = e->pmask;
    }
    if ((st = setup_zero(ctx, e, rc)) != KM_OK)
        return st;
    if (!isnan(e->p.peaks.threshold_abs) || !(e->p.floor_sigmas > 0.0) || !(e->noise > 0.0))
        return KM_OK; /* no floor: threshold_abs as given, NaN = the frame minimum */
    e->floor = e->p.floor_sigmas * e->noise;
    /* The detectors were made with threshold_abs NaN: made again. */
    e->peaks.threshold_abs = e->floor;
    for (int k = 0; k < e->nw; k++) {
        km_detector_free(e->wk[k].det);
        e->wk[k].det = NULL;
        if ((st = km_detector_create(ctx, e->info.rows, e->info.cols, &e->peaks, &e->wk[k].det)) !=
            KM_OK)
            return st;
    }
    return KM_OK;
}
