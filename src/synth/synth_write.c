/* km_synth_write: a synthetic session straight into a file.  The writers
 * (src/io) do the I/O; this only pumps blocks from the generator. */
#include "internal.h"

#define KM_SYNTH_BLOCK 128

typedef struct synth_sink {
    km_format format;
    km_session_writer *session;
    km_tekscan_writer *tekscan;
    km_audio_writer *audio;
} synth_sink;

static km_status sink_open(km_ctx *ctx, synth_sink *k, const km_synth *s, const char *path,
                           int32_t overwrite)
{
    km_session_info info;
    km_synth_info(s, &info);
    switch (k->format) {
    case KM_FORMAT_SESSION:
        return km_session_writer_create(ctx, path, &info, km_synth_mask(s),
                                        overwrite ? KM_OVERWRITE_SYNTHETIC : 0, &k->session);
    case KM_FORMAT_TEKSCAN:
        return km_tekscan_writer_create(ctx, path, &info, km_synth_mask(s), overwrite, &k->tekscan);
    case KM_FORMAT_AUDIO:
        return km_audio_writer_create(ctx, path, &info, overwrite, &k->audio);
    default:
        return km_fail(ctx, KM_ERR_UNSUPPORTED, "%s: synth writes the formats session, tekscan and audio",
                       path);
    }
}

static km_status sink_append(km_ctx *ctx, synth_sink *k, const float *f, const double *t, int64_t n)
{
    if (k->session)
        return km_session_writer_append(ctx, k->session, f, t, n);
    if (k->tekscan)
        return km_tekscan_writer_append(ctx, k->tekscan, f, n);
    return km_audio_writer_append(ctx, k->audio, f, n);
}

static km_status sink_commit(km_ctx *ctx, synth_sink *k, const km_synth *s,
                            const km_synth_params *p)
{
    if (k->session) {
        if (p->equilibration_kpa > 0.0) /* a uniform load: no knots to report */
            return km_session_writer_commit(ctx, k->session);
        km_synth_truth tr;
        km_synth_truth_get(s, &tr);
        size_t n = tr.n_knots;
        double col[5][KM_SYNTH_MAX_KNOTS];
        for (size_t i = 0; i < n; i++) {
            col[0][i] = tr.knots[i].x_mm;
            col[1][i] = tr.knots[i].y_mm;
            col[2][i] = tr.knots[i].sigma_mm;
            col[3][i] = tr.knots[i].amplitude_kpa;
            col[4][i] = tr.knots[i].footprint_sigma_mm;
        }
        km_status st = km_session_writer_set_truth(ctx, k->session, col[0], col[1], col[2], col[3],
                                                   col[4], n);
        if (st != KM_OK)
            return st;
        return km_session_writer_commit(ctx, k->session);
    }
    if (k->tekscan)
        return km_tekscan_writer_commit(ctx, k->tekscan);
    return km_audio_writer_commit(ctx, k->audio);
}

km_status km_synth_write(km_ctx *ctx, const km_synth_params *p, km_format format, const char *path,
                         int32_t overwrite)
{
    km_status st;
    km_synth *s = NULL;
    float *frames = NULL;
    double *times = NULL;
    synth_sink k = {format, NULL, NULL, NULL};
    if (path == NULL) {
        st = km_fail(ctx, KM_ERR_INVALID, "synth: NULL path");
        goto done;
    }
    st = km_synth_create(ctx, p, &s);
    if (st != KM_OK)
        goto done;
    km_session_info info; /* model 2 draws its own grid */
    km_synth_info(s, &info);
    size_t per = (size_t)info.rows * (size_t)info.cols;
    frames = km_alloc(ctx, per * KM_SYNTH_BLOCK * sizeof(float));
    times = km_alloc(ctx, KM_SYNTH_BLOCK * sizeof(double));
    if (frames == NULL || times == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    st = sink_open(ctx, &k, s, path, overwrite);
    if (st != KM_OK)
        goto done;
    for (;;) {
        int64_t n = 0;
        if (km_ctx_cancelled(ctx)) {
            st = km_fail(ctx, KM_ERR_CANCELLED, "%s: cancelled", path);
            goto done;
        }
        st = km_synth_frames(ctx, s, frames, times, KM_SYNTH_BLOCK, &n);
        if (st != KM_OK || n == 0)
            break;
        st = sink_append(ctx, &k, frames, times, n);
        if (st != KM_OK)
            goto done;
    }
    if (st == KM_OK)
        st = sink_commit(ctx, &k, s, p);
done:
    km_session_writer_free(k.session);
    km_tekscan_writer_free(k.tekscan);
    km_audio_writer_free(k.audio);
    km_free(ctx, times);
    km_free(ctx, frames);
    km_synth_free(s);
    return st;
}
