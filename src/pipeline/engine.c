/* The push engine (include/knotmap.h, "Pipeline engine"): conditioned
 * frames go block by block through the executor (engine_exec.c) into the
 * stages; km_process drives it from a reader into a result writer. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/budget.h"
#include "pipeline/condition.h"
#include "pipeline/engine_internal.h"
#include "pipeline/equilibrate.h"
#include "pipeline/params.h"

/* A block never holds more than this many values, whatever block_frames
 * asks, so a huge grid cannot make a block of gigabytes. */
#define MAX_BLOCK_VALUES ((size_t)1 << 25)
#define PEAKS_START 1024

static km_status check_params(km_ctx *ctx, const km_process_params *p)
{
    km_status st = km_process_params_check(ctx, p);
    if (st != KM_OK)
        return st;
    if (p->block_frames < 1)
        return km_fail(ctx, KM_ERR_INVALID, "block_frames must be >= 1 (got %lld)",
                       (long long)p->block_frames);
    if (isnan(p->contact_threshold))
        return km_fail(ctx, KM_ERR_INVALID, "contact_threshold must be a number");
    if (!isfinite(p->calib.gain) || !isfinite(p->calib.offset))
        return km_fail(ctx, KM_ERR_INVALID, "calibration gain and offset must be finite");
    if (!(p->smooth.sigma_rows >= 0.0) || !(p->smooth.sigma_cols >= 0.0))
        return km_fail(ctx, KM_ERR_INVALID, "smoothing sigma must be >= 0");
    if (!(p->track.gate_mm > 0.0) || !isfinite(p->track.gate_mm) || p->track.max_gap < 0)
        return km_fail(ctx, KM_ERR_INVALID, "tracking: gate must be > 0 mm and max gap >= 0");
    if (isnan(p->lift_threshold))
        return km_fail(ctx, KM_ERR_INVALID, "lift_threshold must be a number");
    if (p->cond.curve == KM_CURVE_HEADER)
        return km_fail(ctx, KM_ERR_INVALID,
                       "calibration curve 'header' needs the session's header: give the curve");
    return KM_OK;
}

/* Decide units and the effective calibration: a session in a pressure
 * unit is converted to kPa (folded into the gain); a raw session stays raw
 * (the user's offset/gain apply, the unit stays "raw"). */
static void setup_units(km_engine *e)
{
    const km_process_params *p = &e->p;
    /* A calibration curve maps raw counts to kPa itself. */
    double to_kpa = e->cp.curve != KM_CURVE_NONE ? 1.0 : km_units_to_kpa(e->info.units);
    e->physical = isfinite(to_kpa) && to_kpa > 0.0;
    e->calib = p->calib;
    if (e->physical) {
        e->calib.gain *= to_kpa;
        snprintf(e->info.units, sizeof e->info.units, "kPa");
    } else if (e->info.units[0] == '\0') {
        snprintf(e->info.units, sizeof e->info.units, "raw");
    }
    double sat = e->info.saturation;
    if (isfinite(sat))
        sat = e->calib.gain * (sat - e->calib.offset);
    else
        sat = INFINITY;
    e->info.saturation = sat;
    e->peaks = p->peaks;
    e->zero_rate = !isnan(p->zero_rate)               ? p->zero_rate
                   : e->info.mode == KM_MODE_ROLLER ? KM_ZERO_RATE_ROLLER
                                                    : 0.0;
    if (!isfinite(e->peaks.saturation) && e->peaks.saturation > 0.0)
        e->peaks.saturation = sat;
}

static km_status alloc_block(km_ctx *ctx, km_engine *e, km_eng_block *b)
{
    size_t n = (size_t)e->nb, rc = (size_t)e->info.rows * (size_t)e->info.cols;
    b->frames = km_alloc(ctx, n * rc * sizeof *b->frames);
    b->times = km_alloc(ctx, n * sizeof *b->times);
    b->cflags = km_calloc(ctx, n, sizeof *b->cflags);
    b->metrics = km_alloc(ctx, n * sizeof *b->metrics);
    b->odo = km_alloc(ctx, n * sizeof *b->odo);
    b->fpk_off = km_alloc(ctx, n * sizeof *b->fpk_off);
    b->fpk_n = km_alloc(ctx, n * sizeof *b->fpk_n);
    b->fpk_w = km_alloc(ctx, n * sizeof *b->fpk_w);
    if (b->frames == NULL || b->times == NULL || b->cflags == NULL || b->metrics == NULL ||
        b->odo == NULL || b->fpk_off == NULL || b->fpk_n == NULL || b->fpk_w == NULL)
        return KM_ERR_NOMEM;
    if (e->info.mode == KM_MODE_ROLLER &&
        (b->odo_rows = km_alloc(ctx, n * (size_t)e->info.rows * sizeof *b->odo_rows)) == NULL)
        return KM_ERR_NOMEM;
    /* Peak buffers, one per thread: grown by their thread when a block has
       more peaks than ever before. */
    for (int k = 0; k < e->nw; k++) {
        b->cap[k] = rc < PEAKS_START ? rc : PEAKS_START;
        if ((b->pk[k] = km_alloc(ctx, b->cap[k] * sizeof *b->pk[k])) == NULL)
            return KM_ERR_NOMEM;
    }
    return KM_OK;
}

static void free_block(km_ctx *ctx, km_eng_block *b)
{
    km_free(ctx, b->frames);
    km_free(ctx, b->times);
    km_free(ctx, b->cflags);
    km_free(ctx, b->odo_rows);
    km_free(ctx, b->metrics);
    km_free(ctx, b->odo);
    km_free(ctx, b->fpk_off);
    km_free(ctx, b->fpk_n);
    km_free(ctx, b->fpk_w);
    km_free(ctx, b->rises);
    km_free(ctx, b->rise_any);
    for (int k = 0; k < KM_ENGINE_MAX_THREADS; k++)
        km_free(ctx, b->pk[k]);
}

/* The block size and the buffers of one block (a ring of them with
 * threads: engine_pool.c). */
static km_status alloc_buffers(km_ctx *ctx, km_engine *e)
{
    size_t rc = (size_t)e->info.rows * (size_t)e->info.cols, bytes;
    int64_t nb = e->p.block_frames;
    if ((size_t)nb > MAX_BLOCK_VALUES / rc)
        nb = (int64_t)(MAX_BLOCK_VALUES / rc);
    if (nb < 1)
        nb = 1;
    e->n_slots = e->nw > 1 ? KM_ENGINE_SLOTS : 1;
    /* Each slot holds a block; the conditioner its own frames. */
    if (km_process_check_memory(ctx, e->info.rows, e->info.cols, nb * e->n_slots,
                                 km_condition_frames_held(&e->cp), &e->p.read) != KM_OK)
        return km_ctx_last_status(ctx);
    e->nb = nb;
    if (!km_size_mul((size_t)nb * rc, sizeof(float), &bytes))
        return km_fail(ctx, KM_ERR_LIMIT, "block too large");
    for (int k = 0; k < e->n_slots; k++) {
        km_status st = alloc_block(ctx, e, &e->slot[k]);
        if (st != KM_OK)
            return st;
    }
    e->blk = &e->slot[0];
    e->x.fid_off = km_alloc(ctx, (size_t)(nb + 1) * sizeof *e->x.fid_off);
    e->x.ftr_end = km_alloc(ctx, (size_t)nb * sizeof *e->x.ftr_end);
    if (e->x.fid_off == NULL || e->x.ftr_end == NULL)
        return KM_ERR_NOMEM;
    return KM_OK;
}

/* The threads' contexts and hand-over primitives (nw > 1). */
static km_status create_sync(km_ctx *ctx, km_engine *e)
{
    km_alloc_ref ref = km_ctx_alloc_ref(ctx);
    km_eng_exec *x = &e->x;
    km_status st;
    if ((st = km_ctx_create_with(&ref.a, &x->wctx)) != KM_OK)
        return km_fail(ctx, st, "cannot create a context for the writing thread");
    if ((st = km_ctx_create_with(&ref.a, &x->mctx)) != KM_OK)
        return km_fail(ctx, st, "cannot create a context for the maps thread");
    if (pthread_mutex_init(&x->mu, NULL) != 0)
        return km_fail(ctx, KM_ERR_NOMEM, "cannot create a mutex");
    if (pthread_cond_init(&x->cv, NULL) != 0) {
        pthread_mutex_destroy(&x->mu);
        return km_fail(ctx, KM_ERR_NOMEM, "cannot create a condition variable");
    }
    x->sync = 1;
    return KM_OK;
}

/* A detector and peak buffers per thread; threads past the first get
 * their own ctx (one per thread), with the caller's allocator. */
km_status km_exec_create(km_ctx *ctx, km_engine *e)
{
    km_status st;
    int nw = e->nw;
    km_alloc_ref ref = km_ctx_alloc_ref(ctx);
    e->nw = 0;
    for (int k = 0; k < nw; k++) {
        km_eng_worker *w = &e->wk[k];
        e->nw = k + 1; /* what km_exec_free must release */
        w->e = e;
        if (k == 0)
            w->ctx = ctx;
        else if ((st = km_ctx_create_with(&ref.a, &w->ctx)) != KM_OK)
            return km_fail(ctx, st, "cannot create a context for thread %d", k + 1);
        if ((st = km_detector_create(ctx, e->info.rows, e->info.cols, &e->peaks, &w->det)) !=
            KM_OK)
            return st;
        w->oscratch = km_alloc(ctx, (size_t)e->info.cols * sizeof *w->oscratch);
        if (w->oscratch == NULL)
            return KM_ERR_NOMEM;
    }
    if (nw > 1 && (st = create_sync(ctx, e)) != KM_OK)
        return st;
    return km_pool_create(ctx, e);
}

void km_exec_free(km_ctx *ctx, km_engine *e)
{
    km_eng_exec *x = &e->x;
    km_pool_stop(e);
    for (int k = 0; k < e->nw; k++) {
        km_eng_worker *w = &e->wk[k];
        km_detector_free(w->det);
        km_free(ctx, w->oscratch);
        km_free(ctx, w->zframe);
        if (w->ctx != ctx && k > 0)
            km_ctx_free(w->ctx);
    }
    e->nw = 0;
    km_ctx_free(x->wctx);
    km_ctx_free(x->mctx);
    if (x->sync) {
        pthread_cond_destroy(&x->cv);
        pthread_mutex_destroy(&x->mu);
        x->sync = 0;
    }
    for (int k = 0; k < x->n_tr_old; k++)
        km_free(ctx, x->tr_old[k]);
    km_free(ctx, atomic_load(&x->tr_buf));
    km_free(ctx, x->blk_id);
    km_free(ctx, x->fid_off);
    km_free(ctx, x->ftr_end);
}

/* Effective parameters and every stage, for the session `info` describes. */
static km_status setup(km_ctx *ctx, km_engine *e, const uint8_t *mask)
{
    km_status st;
    const km_process_params *p = &e->p;
    e->cp = p->cond;
    if ((st = km_equil_resolve(ctx, p, &e->info, &e->eq_gain, &e->eq)) != KM_OK)
        return st;
    if (e->eq_gain != NULL)
        e->cp.gain_map = e->eq_gain;
    setup_units(e);
    e->nw = p->n_threads < 1 ? 1
            : p->n_threads > KM_ENGINE_MAX_THREADS ? KM_ENGINE_MAX_THREADS : p->n_threads;
    if ((st = alloc_buffers(ctx, e)) != KM_OK)
        return st;
    if ((st = km_conditioner_create(ctx, &e->info, mask, &e->cp, &e->calib, &p->smooth,
                                    &e->cond)) != KM_OK)
        return st;
    km_conditioner_suspect_out(e->cond, !p->keep_suspect);
    e->info.frame_rate_hz = km_conditioner_rate(e->cond);
    if ((st = km_exec_create(ctx, e)) != KM_OK ||
        (st = km_stage_body_create(ctx, &e->body, &e->info, p)) != KM_OK ||
        (st = km_stage_track_create(ctx, &e->trk, &e->info, &p->track)) != KM_OK)
        return st;
    km_stage_summary_init(&e->sum, &e->info, &e->peaks);
    return KM_OK;
}

km_status km_engine_create(km_ctx *ctx, const km_session_info *info, const uint8_t *mask,
                           const km_process_params *p, km_engine **out)
{
    km_process_params defaults;
    km_status st;
    km_engine *e = NULL;
    if (out == NULL || info == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "engine: info and out are required");
    *out = NULL;
    if (p == NULL) {
        km_process_params_default(&defaults);
        p = &defaults;
    }
    if ((st = check_params(ctx, p)) != KM_OK ||
        (st = km_check_shape(ctx, info->rows, info->cols, "engine")) != KM_OK)
        return st;
    if ((e = km_calloc(ctx, 1, sizeof *e)) == NULL)
        return KM_ERR_NOMEM;
    km_alloc_ref ref = km_ctx_alloc_ref(ctx);
    if ((st = km_ctx_create_with(&ref.a, &e->fctx)) != KM_OK) {
        km_free(ctx, e);
        return km_fail(ctx, st, "engine: cannot create its context");
    }
    e->p = *p;
    e->info = *info;
    e->noise = e->floor = NAN;
    if ((st = setup(ctx, e, mask)) != KM_OK) {
        km_engine_free(e);
        return st;
    }
    *out = e;
    return KM_OK;
}

km_status km_engine_add_sink(km_ctx *ctx, km_engine *e, const km_stage_sink *s)
{
    if (e == NULL || s == NULL || s->frame == NULL || e->n_sinks == KM_ENGINE_MAX_SINKS ||
        e->frames_in > 0)
        return km_fail(ctx, KM_ERR_INVALID, "engine: cannot add stage %s",
                       s != NULL && s->name != NULL ? s->name : "(null)");
    e->sinks[e->n_sinks++] = *s;
    return KM_OK;
}

/* A push or finish that fails leaves frames part-way through the pipeline
   (some of the push consumed, a block not tracked): like a stream of zstd
   or libsndfile, the engine then refuses further work, naming the first
   failure.  Only km_engine_free is left to do. */
static km_status mark_failed(km_ctx *ctx, km_engine *e, km_status st)
{
    if (st != KM_OK && e->failed == KM_OK) {
        e->failed = st;
        snprintf(e->failed_msg, sizeof e->failed_msg, "%s", km_ctx_last_error(ctx));
    }
    return st;
}

static km_status refuse(km_ctx *ctx, const km_engine *e)
{
    return km_fail(ctx, e->failed, "engine: an earlier call failed (%s)", e->failed_msg);
}

/* Process the conditioned frames that are ready, a block at a time. */
static km_status drain(km_ctx *ctx, km_engine *e)
{
    for (;;) {
        int64_t n = 0;
        km_conditioner_pull(e->cond, e->blk->frames, e->blk->times, e->blk->cflags, e->nb, &n);
        if (n == 0)
            return KM_OK;
        km_status st = km_exec_block(ctx, e, n);
        if (st != KM_OK)
            return st;
    }
}

km_status km_engine_push(km_ctx *ctx, km_engine *e, const float *frames, const double *times,
                         int64_t n)
{
    if (e == NULL || n < 0 || (n > 0 && frames == NULL))
        return km_fail(ctx, KM_ERR_INVALID, "engine: bad arguments to push");
    if (e->failed != KM_OK)
        return refuse(ctx, e);
    if (e->finished)
        return km_fail(ctx, KM_ERR_INVALID, "engine: push after finish");
    size_t rc = (size_t)e->info.rows * (size_t)e->info.cols;
    /* At most a block at a time into the conditioner: its staging stays
       bounded whatever the caller pushes. */
    for (int64_t i = 0; i < n; i += e->nb) {
        int64_t m = n - i < e->nb ? n - i : e->nb;
        km_conditioner_direct(e->cond, e->blk->frames, e->blk->times, e->blk->cflags, e->nb);
        km_status st = km_conditioner_push(ctx, e->cond, frames + (size_t)i * rc,
                                           times != NULL ? times + i : NULL, m);
        if (st == KM_OK)
            st = drain(ctx, e);
        if (st != KM_OK)
            return mark_failed(ctx, e, st);
        e->frames_in += m;
    }
    return KM_OK;
}

km_status km_engine_flush(km_ctx *ctx, km_engine *e)
{
    km_status st = KM_OK;
    if (e->failed != KM_OK)
        return refuse(ctx, e);
    if (!e->finished) {
        e->finished = 1;
        if ((st = km_conditioner_finish(ctx, e->cond)) == KM_OK)
            st = drain(ctx, e);
    }
    if (st != KM_OK) {
        /* A block failed: the later ones are not tracked (their frames
           would follow a block that never counted), and its message stays. */
        km_exec_stop(e);
        return mark_failed(ctx, e, st);
    }
    return mark_failed(ctx, e, km_exec_join(ctx, e));
}

km_status km_engine_finish(km_ctx *ctx, km_engine *e)
{
    if (e == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "engine: NULL");
    int was = e->finished;
    km_status st = km_engine_flush(ctx, e);
    if (st == KM_OK && !was && (st = km_tracker_finish(ctx, e->trk.tracker)) == KM_OK)
        st = km_exec_drain_tracks(ctx, e);
    return st;
}

km_status km_engine_write_final(km_ctx *ctx, km_engine *e, km_process_summary *sum)
{
    km_process_summary local;
    if (sum == NULL)
        sum = &local;
    memset(sum, 0, sizeof *sum);
    /* With threads the body map and candidates are being computed on the
       maps thread (km_exec_join) while these tables are finished. */
    km_status st = km_stage_body_write_taxel_maps(ctx, &e->body, e->writer);
    if (st == KM_OK)
        st = km_tracker_finish(ctx, e->trk.tracker);
    if (st == KM_OK)
        st = km_exec_drain_tracks(ctx, e);
    if (st == KM_OK)
        st = km_result_writer_end_frames(ctx, e->writer);
    km_status est = km_exec_join_end(ctx, e);
    if (st == KM_OK)
        st = est;
    if (st == KM_OK)
        st = km_stage_body_write(ctx, &e->body, e->writer, sum);
    for (int k = 0; k < e->n_sinks && st == KM_OK; k++)
        if (e->sinks[k].write != NULL)
            st = e->sinks[k].write(ctx, e->sinks[k].state, e->writer);
    if (st != KM_OK)
        return st;
    sum->info = e->info;
    sum->info.n_frames = e->frames_done;
    sum->n_frames = e->frames_done;
    km_stage_summary_fill(&e->sum, sum);
    sum->n_tracks = km_tracker_count(e->trk.tracker);
    return KM_OK;
}

void km_engine_info(const km_engine *e, km_session_info *info)
{
    if (e == NULL || info == NULL)
        return;
    *info = e->info;
    info->n_frames = e->frames_done;
}

km_status km_engine_bodymap(km_ctx *ctx, km_engine *e, km_engine_map *out, float *max,
                            float *mean, int32_t *coverage, float *excess, size_t capacity)
{
    if (e == NULL || out == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "engine: NULL");
    if (e->failed != KM_OK)
        return refuse(ctx, e);
    km_status st = mark_failed(ctx, e, km_exec_join(ctx, e));
    if (st != KM_OK)
        return st;
    memset(out, 0, sizeof *out);
    out->mode = e->body.roller ? KM_MODE_ROLLER : KM_MODE_MAT;
    km_bodygrid_shape(e->body.grid, &out->ny, &out->nx, &out->y0_mm, &out->y_pitch_mm,
                      &out->x_pitch_mm);
    size_t cells;
    return km_stage_body_maps(ctx, &e->body, max, mean, coverage, excess, capacity, &cells);
}

km_status km_engine_candidates(km_ctx *ctx, km_engine *e, km_candidate *out, size_t capacity,
                               size_t *n)
{
    return km_engine_candidates_seen(ctx, e, out, capacity, n, NULL);
}

km_status km_engine_candidates_seen(km_ctx *ctx, km_engine *e, km_candidate *out,
                                    size_t capacity, size_t *n, km_candidate_seen *seen)
{
    if (e == NULL || n == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "engine: NULL");
    *n = 0;
    if (e->failed != KM_OK)
        return refuse(ctx, e);
    km_status st = mark_failed(ctx, e, km_exec_join(ctx, e));
    if (st != KM_OK)
        return st;
    return km_bodygrid_candidates_seen(ctx, e->body.grid, out, capacity, n, seen);
}

void km_engine_free(km_engine *e)
{
    if (e == NULL)
        return;
    km_ctx *ctx = e->fctx; /* the caller's allocator */
    km_exec_stop(e);
    for (int k = 0; k < e->n_sinks; k++)
        if (e->sinks[k].free != NULL)
            e->sinks[k].free(ctx, e->sinks[k].state);
    km_exec_free(ctx, e);
    km_free(ctx, e->pmask);
    km_peak_zero_free(ctx, &e->zero);
    km_stage_track_free(ctx, &e->trk);
    km_stage_body_free(ctx, &e->body);
    km_conditioner_free(e->cond);
    km_free(ctx, e->eq_gain);
    for (int k = 0; k < KM_ENGINE_SLOTS; k++)
        free_block(ctx, &e->slot[k]);
    km_alloc_ref ref = km_ctx_alloc_ref(ctx);
    km_ctx_free(ctx);
    km_ref_free(&ref, e);
}
