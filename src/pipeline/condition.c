/* The conditioning chain for one stream (docs/ALGORITHMS.md 1, 2, 8, 10):
 *
 *   corrupt-frame test (centred window of frame totals)
 *   -> resampling to a uniform rate (linear interpolation)
 *   -> warm-up block (tare, bad-taxel statistics), held until decided
 *   -> calibration (tare, gain map, curve, offset/gain/noise threshold)
 *   -> temporal filters (median, notch, high-pass, low-pass)
 *   -> spatial filter (Gaussian, difference of Gaussians)
 *   -> masked taxels NaN or filled -> output queue.
 *
 * Every stage decides from stream positions only, never from how the input
 * is cut into pushes, so the output is the same for any push size.  Frames
 * carry their time and flags through the stages; zero-phase filters hold
 * frames back, and a FIFO of (time, flags) follows them, so output frame k
 * belongs to input frame k.  Memory: O(grid * (warm-up + window + filter
 * delays + one chunk)), independent of the session length.
 *
 * This file: the parameters and the assembly of the chain (which stages,
 * their buffers); the stages themselves, in the order a frame passes them,
 * are in condition_stages.c. */
#include <math.h>
#include <string.h>

#include "condition_internal.h"

void km_condition_params_default(km_condition_params *p)
{
    if (p == NULL)
        return;
    memset(p, 0, sizeof *p);
    p->resample_hz = 0.0;
    p->tare_frames = 0;
    p->tare = NULL;
    p->gain_map = NULL;
    p->curve = KM_CURVE_NONE;
    p->curve_a = 1.0;
    p->curve_b = 1.0;
    p->detect_bad = 0;
    p->warmup_frames = 100;
    km_badtaxel_params_default(&p->bad);
    p->fill_bad = 0;
    p->corrupt_ratio = 4.0;
    p->corrupt_window = 9;
    p->fir = 1;
    p->lowpass_hz = 0.0;
    p->highpass_hz = 0.0;
    p->order = 4;
    p->taps = 0;
    p->notch_hz = 0.0;
    p->notch_q = 30.0;
    p->notch_harmonics = 1;
    p->median_frames = 0;
    p->dog_sigma = 0.0;
}

int km_condition_finds_bad(const km_condition_params *p)
{
    return p != NULL && (p->detect_bad || p->bad.offset_sigmas > 0.0);
}

int64_t km_condition_frames_held(const km_condition_params *p)
{
    if (p == NULL)
        return 0;
    int64_t w = p->tare_frames;
    if (km_condition_finds_bad(p) && p->warmup_frames > w)
        w = p->warmup_frames;
    /* The output queue (2 CHUNK), the staging (CHUNK), the high- and
       low-pass filters' output and what they hold back (2 CHUNK each: an
       IIR's few frames, a short FIR's; a long FIR's taps and the median and
       notch filters are not counted: the budget is a model, docs/FORMAT.md
       1.2), the warm-up block and the ring of the corrupt-frame test. */
    int64_t n = 3 * CHUNK + w;
    n += 2 * CHUNK * ((p->highpass_hz > 0.0) + (p->lowpass_hz > 0.0));
    if (p->corrupt_ratio > 0.0)
        n += p->corrupt_window / 2 + 2;
    return n;
}

int km_condition_active(const km_condition_params *p)
{
    return p != NULL &&
           (p->resample_hz > 0.0 || p->tare_frames > 0 || p->tare != NULL ||
            p->gain_map != NULL || p->curve != KM_CURVE_NONE || km_condition_finds_bad(p) ||
            p->fill_bad || p->corrupt_ratio > 0.0 || p->lowpass_hz > 0.0 ||
            p->highpass_hz > 0.0 || p->notch_hz > 0.0 || p->median_frames > 1 ||
            p->dog_sigma > 0.0);
}

km_status km_condition_resolve_curve(km_ctx *ctx, const km_reader *reader,
                                     km_condition_params *p)
{
    km_calib_point pts[16];
    int32_t n = 0;
    double area = NAN;
    size_t nh;
    const char **keys = NULL, **vals = NULL;
    km_status st = KM_OK;

    if (p == NULL || p->curve != KM_CURVE_HEADER)
        return KM_OK;
    nh = reader != NULL ? km_reader_header_count(reader) : 0;
    if (nh > 0) {
        keys = km_alloc(ctx, nh * sizeof *keys);
        vals = km_alloc(ctx, nh * sizeof *vals);
        if (keys == NULL || vals == NULL) {
            st = KM_ERR_NOMEM;
            goto done;
        }
        for (size_t i = 0; i < nh; i++)
            km_reader_header_get(reader, i, &keys[i], &vals[i]);
    }
    st = km_calib_header_points(ctx, (const char *const *)keys, (const char *const *)vals, nh,
                                pts, 16, &n, &area);
    if (st != KM_OK)
        goto done;
    if (n == 0 || !(area > 0.0)) {
        st = km_fail(ctx, KM_ERR_INVALID,
                     "calibration from the header: it has %s", n == 0
                         ? "no CALIBRATION_POINT_k key"
                         : "no SENSEL_AREA or ROW_SPACING/COL_SPACING");
        goto done;
    }
    if (n > 16)
        n = 16;
    p->curve = n == 1 ? KM_CURVE_LINEAR : KM_CURVE_POWER;
    st = km_calib_curve_fit(ctx, p->curve, pts, n, area, &p->curve_a, &p->curve_b);
done:
    km_free(ctx, keys);
    km_free(ctx, vals);
    return st;
}

void km_conditioner_free(km_conditioner *c)
{
    if (c == NULL)
        return;
    km_alloc_ref ref = c->ref;
    void *bufs[] = {c->mask0,  c->mask,   c->tare,  c->gain_map, c->cring, c->ctime,
                    c->csum,   c->cwin,   c->last_good, c->rprev, c->wbuf,  c->wtime,
                    c->wflag,  c->tare_acc, c->tare_cnt, c->qt,  c->qf,    c->s1,
                    c->s2,     c->fill_scratch, c->out, c->out_t, c->out_f, c->rs, c->cal,
                    c->state, c->fmask, c->suspect};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        km_ref_free(&ref, bufs[i]);
    for (int i = 0; i <= MAX_TF; i++)
        km_ref_free(&ref, c->tb[i]);
    for (int i = 0; i < c->ntf; i++)
        km_temporal_free(c->tf[i]);
    km_badtaxel_free(c->bad);
    km_gaussian_free(c->g1);
    km_gaussian_free(c->g2);
    km_ref_free(&ref, c);
}

static km_status check_params(km_ctx *ctx, const km_condition_params *p, double rate)
{
    if (!(p->resample_hz >= 0.0) || !isfinite(p->resample_hz))
        return km_fail(ctx, KM_ERR_INVALID, "resample_hz must be >= 0 (got %g)", p->resample_hz);
    if (p->tare_frames < 0 || p->warmup_frames < 1 || p->tare_frames > 100000 ||
        p->warmup_frames > 100000)
        return km_fail(ctx, KM_ERR_INVALID,
                       "tare_frames must be 0..100000 and warmup_frames 1..100000");
    if (p->curve != KM_CURVE_NONE && p->curve != KM_CURVE_LINEAR && p->curve != KM_CURVE_POWER)
        return km_fail(ctx, KM_ERR_INVALID,
                       "calibration curve %d (a header curve must be resolved first)",
                       (int)p->curve);
    if (p->curve != KM_CURVE_NONE &&
        (!isfinite(p->curve_a) || !isfinite(p->curve_b) || !(p->curve_b > 0.0)))
        return km_fail(ctx, KM_ERR_INVALID, "calibration curve a %g, b %g (finite, b > 0)",
                       p->curve_a, p->curve_b);
    if (!(p->corrupt_ratio >= 0.0) ||
        (p->corrupt_ratio > 0.0 && (p->corrupt_window < 3 || p->corrupt_window > 255 ||
                                    p->corrupt_window % 2 == 0)))
        return km_fail(ctx, KM_ERR_INVALID,
                       "corrupt_ratio must be >= 0 and corrupt_window odd, 3..255");
    if (!(p->lowpass_hz >= 0.0) || !(p->highpass_hz >= 0.0) || !(p->notch_hz >= 0.0) ||
        !(p->dog_sigma >= 0.0))
        return km_fail(ctx, KM_ERR_INVALID,
                       "lowpass_hz, highpass_hz, notch_hz and dog_sigma must be >= 0");
    if ((p->lowpass_hz > 0.0 || p->highpass_hz > 0.0 || p->notch_hz > 0.0) && !(rate > 0.0))
        return km_fail(ctx, KM_ERR_INVALID, "temporal filters need a frame rate");
    if (p->median_frames < 0 || (p->median_frames > 1 && p->median_frames % 2 == 0))
        return km_fail(ctx, KM_ERR_INVALID, "median_frames must be odd (got %d)",
                       (int)p->median_frames);
    return KM_OK;
}

static km_status add_filter(km_ctx *ctx, km_conditioner *c, km_temporal_kind kind, double cutoff)
{
    km_temporal_params tp;
    km_temporal_params_default(&tp);
    tp.kind = kind;
    tp.rate_hz = c->rate;
    tp.cutoff_hz = cutoff;
    tp.order = c->p.order;
    tp.taps = c->p.taps;
    tp.notch_hz = c->p.notch_hz;
    tp.notch_q = c->p.notch_q;
    tp.harmonics = c->p.notch_harmonics;
    tp.median_width = c->p.median_frames;
    return km_temporal_create(ctx, (int32_t)c->rc, &tp, &c->tf[c->ntf++]);
}

static km_status create_temporal(km_ctx *ctx, km_conditioner *c)
{
    km_status st = KM_OK;
    const km_condition_params *p = &c->p;
    /* Median first: a spike must not ring through the linear filters. */
    if (p->median_frames > 1 && (st = add_filter(ctx, c, KM_TEMPORAL_MEDIAN, 1.0)) != KM_OK)
        return st;
    if (p->notch_hz > 0.0 && (st = add_filter(ctx, c, KM_TEMPORAL_NOTCH, 1.0)) != KM_OK)
        return st;
    if (p->highpass_hz > 0.0 &&
        (st = add_filter(ctx, c, p->fir ? KM_TEMPORAL_FIR_HIGHPASS : KM_TEMPORAL_IIR_HIGHPASS,
                         p->highpass_hz)) != KM_OK)
        return st;
    if (p->lowpass_hz > 0.0 &&
        (st = add_filter(ctx, c, p->fir ? KM_TEMPORAL_FIR_LOWPASS : KM_TEMPORAL_IIR_LOWPASS,
                         p->lowpass_hz)) != KM_OK)
        return st;
    int64_t n = CHUNK, held = CHUNK;
    c->tb[0] = km_alloc(ctx, (size_t)CHUNK * c->rc * sizeof(float));
    if (c->tb[0] == NULL)
        return KM_ERR_NOMEM;
    for (int i = 0; i < c->ntf; i++) {
        n = km_temporal_max_output(c->tf[i], n);
        held += km_temporal_max_output(c->tf[i], 0);
        size_t bytes;
        if (!km_size_mul((size_t)n * c->rc, sizeof(float), &bytes))
            return km_fail(ctx, KM_ERR_LIMIT, "temporal filter buffers too large");
        c->tb[i + 1] = km_alloc(ctx, bytes);
        if (c->tb[i + 1] == NULL)
            return KM_ERR_NOMEM;
    }
    /* Frames inside the chain: staged plus what each stage holds back. */
    c->qcap = held + n + 1;
    c->qt = km_alloc(ctx, (size_t)c->qcap * sizeof *c->qt);
    c->qf = km_alloc(ctx, (size_t)c->qcap * sizeof *c->qf);
    return c->qt == NULL || c->qf == NULL ? KM_ERR_NOMEM : KM_OK;
}

static km_status create_spatial(km_ctx *ctx, km_conditioner *c, const km_gaussian_params *smooth)
{
    km_status st;
    int smoothing = smooth != NULL && (smooth->sigma_rows > 0.0 || smooth->sigma_cols > 0.0);
    if (smoothing) {
        if ((st = km_gaussian_create(ctx, c->rows, c->cols, smooth, &c->g1)) != KM_OK)
            return st;
    }
    if (c->p.dog_sigma > 0.0) {
        km_gaussian_params gp;
        if (smooth != NULL)
            gp = *smooth;
        else
            km_gaussian_params_default(&gp);
        if ((smoothing && !(c->p.dog_sigma > fmax(smooth->sigma_rows, smooth->sigma_cols))))
            return km_fail(ctx, KM_ERR_INVALID,
                           "dog_sigma %g must exceed the smoothing sigma", c->p.dog_sigma);
        gp.sigma_rows = gp.sigma_cols = c->p.dog_sigma;
        if ((st = km_gaussian_create(ctx, c->rows, c->cols, &gp, &c->g2)) != KM_OK)
            return st;
    }
    c->s1 = km_alloc(ctx, c->rc * sizeof *c->s1);
    c->s2 = km_alloc(ctx, c->rc * sizeof *c->s2);
    c->fill_scratch = km_alloc(ctx, c->rc);
    return c->s1 == NULL || c->s2 == NULL || c->fill_scratch == NULL ? KM_ERR_NOMEM : KM_OK;
}

static km_status create_buffers(km_ctx *ctx, km_conditioner *c, const uint8_t *mask)
{
    const km_condition_params *p = &c->p;
    size_t rc = c->rc, fb = rc * sizeof(float);
    c->mask0 = km_alloc(ctx, rc);
    c->mask = km_alloc(ctx, rc);
    c->avx2 = km_cpu_avx2();
    c->last_good = km_alloc(ctx, fb);
    c->rprev = km_alloc(ctx, fb);
    c->rs = km_alloc(ctx, fb);
    c->cal = km_alloc(ctx, fb);
    if (c->mask0 == NULL || c->mask == NULL || c->last_good == NULL || c->rprev == NULL ||
        c->rs == NULL || c->cal == NULL)
        return KM_ERR_NOMEM;
    if (mask != NULL)
        memcpy(c->mask0, mask, rc);
    else
        memset(c->mask0, 1, rc);
    memcpy(c->mask, c->mask0, rc);
    if (p->tare != NULL || p->tare_frames > 0) {
        if ((c->tare = km_calloc(ctx, rc, sizeof *c->tare)) == NULL)
            return KM_ERR_NOMEM;
        if (p->tare != NULL)
            memcpy(c->tare, p->tare, fb);
    }
    if (p->gain_map != NULL) {
        if ((c->gain_map = km_alloc(ctx, fb)) == NULL)
            return KM_ERR_NOMEM;
        memcpy(c->gain_map, p->gain_map, fb);
        /* An equilibration marks dead taxels with a NaN gain: mask them, so
           that the NaN never reaches the filters. */
        for (size_t k = 0; k < rc; k++)
            if (!(c->gain_map[k] > 0.0f) || isinf(c->gain_map[k])) {
                c->mask0[k] = c->mask[k] = 0;
                c->gain_map[k] = 0.0f;
            }
    }
    if (p->corrupt_ratio > 0.0) {
        c->h = p->corrupt_window / 2;
        c->cring = km_alloc(ctx, (size_t)(c->h + 2) * fb);
        c->ctime = km_alloc(ctx, (size_t)(c->h + 1) * sizeof *c->ctime);
        c->csum = km_alloc(ctx, (size_t)(2 * c->h + 1) * sizeof *c->csum);
        c->cwin = km_alloc(ctx, (size_t)(2 * c->h + 1) * sizeof *c->cwin);
        if (c->cring == NULL || c->ctime == NULL || c->csum == NULL || c->cwin == NULL)
            return KM_ERR_NOMEM;
    }
    c->W = p->tare_frames;
    if (km_condition_finds_bad(p) && p->warmup_frames > c->W)
        c->W = p->warmup_frames;
    c->warm_done = c->W == 0;
    if (c->W > 0) {
        size_t bytes;
        if (!km_size_mul((size_t)c->W * rc, sizeof(float), &bytes))
            return km_fail(ctx, KM_ERR_LIMIT, "warm-up block too large");
        c->wbuf = km_alloc(ctx, bytes);
        c->wtime = km_alloc(ctx, (size_t)c->W * sizeof *c->wtime);
        c->wflag = km_alloc(ctx, (size_t)c->W * sizeof *c->wflag);
        c->tare_acc = km_calloc(ctx, rc, sizeof *c->tare_acc);
        c->tare_cnt = km_calloc(ctx, rc, sizeof *c->tare_cnt);
        if (c->wbuf == NULL || c->wtime == NULL || c->wflag == NULL || c->tare_acc == NULL ||
            c->tare_cnt == NULL)
            return KM_ERR_NOMEM;
    }
    c->ocap = 2 * CHUNK;
    c->out = km_alloc(ctx, (size_t)c->ocap * fb);
    c->out_t = km_alloc(ctx, (size_t)c->ocap * sizeof *c->out_t);
    c->out_f = km_alloc(ctx, (size_t)c->ocap * sizeof *c->out_f);
    return c->out == NULL || c->out_t == NULL || c->out_f == NULL ? KM_ERR_NOMEM : KM_OK;
}

km_status km_conditioner_create(km_ctx *ctx, const km_session_info *info, const uint8_t *mask,
                                const km_condition_params *p, const km_calib_params *calib,
                                const km_gaussian_params *smooth, km_conditioner **out)
{
    km_status st;
    km_conditioner *c = NULL;

    if (out == NULL || info == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "conditioner: info and out are required");
    *out = NULL;
    if ((st = km_check_shape(ctx, info->rows, info->cols, "conditioner grid")) != KM_OK)
        return st;
    c = km_calloc(ctx, 1, sizeof *c);
    if (c == NULL)
        return KM_ERR_NOMEM;
    c->ref = km_ctx_alloc_ref(ctx);
    c->noise = NAN;
    if (p != NULL)
        c->p = *p;
    else
        km_condition_params_default(&c->p);
    if (calib != NULL)
        c->calib = *calib;
    else
        km_calib_params_default(&c->calib);
    c->apply_calib = c->calib.gain != 1.0 || c->calib.offset != 0.0 ||
                     c->calib.noise_threshold != 0.0;
    c->rows = info->rows;
    c->cols = info->cols;
    c->rc = (size_t)info->rows * (size_t)info->cols;
    c->rate_in = info->frame_rate_hz;
    c->rate = c->p.resample_hz > 0.0 ? c->p.resample_hz : info->frame_rate_hz;
    if ((st = check_params(ctx, &c->p, c->rate)) != KM_OK)
        goto done;
    /* Borrowed arrays are copied in create_buffers: forget the pointers. */
    if ((st = create_buffers(ctx, c, mask)) != KM_OK)
        goto done;
    c->p.tare = NULL;
    c->p.gain_map = NULL;
    if (km_condition_finds_bad(&c->p) &&
        (st = km_badtaxel_create(ctx, c->rows, c->cols, c->mask0, &c->p.bad, &c->bad)) != KM_OK)
        goto done;
    if ((st = create_temporal(ctx, c)) != KM_OK)
        goto done;
    if ((st = create_spatial(ctx, c, smooth)) != KM_OK)
        goto done;
    *out = c;
    c = NULL;
done:
    km_conditioner_free(c);
    return st;
}

const uint8_t *km_conditioner_mask(const km_conditioner *c)
{
    return c == NULL ? NULL : c->mask;
}

int32_t km_conditioner_n_bad(const km_conditioner *c)
{
    return c == NULL ? 0 : c->n_bad;
}

int32_t km_conditioner_n_offset(const km_conditioner *c)
{
    return c == NULL ? 0 : c->n_offset;
}

const uint8_t *km_conditioner_taxel_state(const km_conditioner *c)
{
    return c == NULL ? NULL : c->state;
}

int km_taxel_suspect(uint8_t state)
{
    return state == KM_TAXEL_STUCK || state == KM_TAXEL_HOT;
}

void km_mask_less_suspect(uint8_t *out, const uint8_t *mask, const uint8_t *state, size_t n)
{
    for (size_t k = 0; k < n; k++)
        out[k] = mask[k] && !km_taxel_suspect(state[k]);
}

void km_conditioner_suspect_out(km_conditioner *c, int on)
{
    if (c != NULL)
        c->suspect_out = on;
}

double km_conditioner_noise(const km_conditioner *c)
{
    return c == NULL ? NAN : c->noise;
}

double km_conditioner_rate(const km_conditioner *c)
{
    return c == NULL ? 0.0 : c->rate;
}
