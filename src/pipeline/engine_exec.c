/* The executor: how a block of conditioned frames goes through the stages.
 *
 * One sequence for any thread count:
 *   1. per-frame stage (metrics, peaks, row medians): frames taken GRAB at a
 *      time by nw threads, each frame computed alone;
 *   2. odometry, in order;
 *   3. tracking and summary, in order, producing each frame's track ids and
 *      ended tracks;
 *   4. writing: each frame's ended tracks and peaks, then the frame table;
 *   5. the body grid (body map, candidate maps) and per-taxel maps, in order.
 * Policies, not copies of the sequence: with nw > 1 the second thread runs
 * the read-ahead hook before helping in 1; step 4 runs on a writing thread
 * beside 3 and goes on while the next block is computed (write-behind:
 * the block's buffers are swapped with a spare set); the maps of 5 run on
 * a maps thread, also into the next block, so the first thread's own
 * sequential work is only 2 and 3 (it is the critical path: the other
 * core takes the read-ahead, half the per-frame stage, the writing and the
 * maps).  The writing thread and the read-ahead do not wait for each other:
 * both hold HDF5's global lock only to copy bytes (chunks are compressed
 * and decompressed outside it, io/h5_chunks.h).  Each stage sees its
 * frames in order and the writer gets the same calls in the same order, so
 * the result is the one thread's. */
#include <math.h>
#include <string.h>

#include "pipeline/engine_internal.h"

#define GRAB KM_ENGINE_GRAB

/* Peaks of one frame appended to the worker's buffer, growing it when a
 * block has more peaks than ever before (amortised: not a per-frame
 * allocation). */
static km_status frame_peaks(km_eng_worker *w, const km_frame *fr, const km_mask *mask,
                             size_t *n)
{
    for (;;) {
        km_status st = km_detector_apply(w->ctx, w->det, fr, mask, w->pk + w->used,
                                         w->cap - w->used, n);
        if (st != KM_ERR_CAPACITY)
            return st;
        size_t cap = w->used + *n > w->cap * 2 ? w->used + *n : w->cap * 2;
        km_peak *np = km_alloc(w->ctx, cap * sizeof *np);
        if (np == NULL)
            return KM_ERR_NOMEM;
        if (w->used > 0)
            memcpy(np, w->pk, w->used * sizeof *np);
        km_free(w->ctx, w->pk);
        w->pk = np;
        w->cap = cap;
        km_ctx_clear_error(w->ctx);
    }
}

/* The per-frame stage of frame i: metrics, row medians, then peaks unless
 * the frame is corrupt (held at the last good frame: no peaks). */
static km_status frame_stage(km_eng_worker *w, const km_mask *mask, int64_t i)
{
    km_engine *e = w->e;
    int32_t rows = e->info.rows, cols = e->info.cols;
    size_t rc = (size_t)rows * (size_t)cols;
    km_eng_block *b = &e->blk;
    km_frame fr = {b->frames + (size_t)i * rc, rows, cols, cols};
    km_metrics *m = &b->metrics[i];
    km_status st = km_frame_metrics(w->ctx, &fr, mask, e->info.row_pitch_mm, e->info.col_pitch_mm,
                                    e->physical ? 1.0 : NAN, e->p.contact_threshold,
                                    e->info.saturation, m);
    if (st != KM_OK)
        return st;
    m->flags |= e->cflags[i];
    if (e->odo_rows != NULL)
        km_stage_body_row_medians(&e->body, &fr, mask, w->oscratch,
                                  e->odo_rows + (size_t)i * (size_t)rows);
    size_t np = 0;
    if ((m->flags & KM_FRAME_CORRUPT) == 0 && (st = frame_peaks(w, &fr, mask, &np)) != KM_OK)
        return st;
    b->fpk_off[i] = w->used;
    b->fpk_n[i] = np;
    b->fpk_w[i] = (int)(w - e->wk);
    w->used += np;
    return KM_OK;
}

/* Take GRAB frames at a time until the block is done: a thread slowed by
 * the machine or the read-ahead takes fewer, and which thread computed a
 * frame does not change its result. */
static void *worker_run(void *arg)
{
    km_eng_worker *w = arg;
    km_engine *e = w->e;
    km_eng_exec *x = &e->x;
    km_mask mask = {km_conditioner_mask(e->cond), e->info.rows, e->info.cols, e->info.cols};
    if (w->read_first)
        e->ahead(e->ahead_user);
    w->used = 0;
    w->st = KM_OK;
    w->fail_at = INT64_MAX;
    for (;;) {
        int64_t i0 = (int64_t)atomic_fetch_add(&x->next, GRAB);
        if (i0 >= x->n_block)
            break;
        int64_t i1 = i0 + GRAB < x->n_block ? i0 + GRAB : x->n_block;
        for (int64_t i = i0; i < i1; i++) {
            km_status st = frame_stage(w, &mask, i);
            if (st != KM_OK) {
                w->st = st;
                w->fail_at = i;
                /* Stop everyone: later frames will not be used. */
                atomic_store(&x->next, (long long)x->n_block);
                return NULL;
            }
        }
    }
    return NULL;
}

/* Which workers run this block, and whether the second reads ahead first. */
static int plan_workers(km_engine *e, int64_t n)
{
    int64_t nt = (n + GRAB - 1) / GRAB;
    int nw = (int64_t)e->nw < nt ? e->nw : (int)nt;
    if (nw < 1)
        nw = 1;
    atomic_store(&e->x.next, 0);
    e->x.n_block = n;
    for (int k = 0; k < nw; k++) {
        km_eng_worker *w = &e->wk[k];
        /* The second thread reads the next block first, then helps: the
           read overlaps the per-frame work without a third thread. */
        w->read_first = k == 1 && e->ahead != NULL && e->ahead_wanted && !e->ahead_started;
        if (w->read_first)
            e->ahead_started = 1;
    }
    return nw;
}

/* Metrics and peaks of the block's n frames on up to e->nw threads.  A
 * thread that cannot start leaves its share to this one; the failure at
 * the earliest frame reports, as one thread would. */
static km_status per_frame_stage(km_ctx *ctx, km_engine *e, int64_t n)
{
    pthread_t tid[KM_ENGINE_MAX_THREADS];
    int started[KM_ENGINE_MAX_THREADS] = {0};
    int nw = plan_workers(e, n);
    e->wk[0].ctx = ctx;
    for (int k = 1; k < nw; k++)
        started[k] = pthread_create(&tid[k], NULL, worker_run, &e->wk[k]) == 0;
    worker_run(&e->wk[0]);
    for (int k = 1; k < nw; k++) {
        if (started[k])
            pthread_join(tid[k], NULL);
        else
            worker_run(&e->wk[k]);
        e->wk[k].read_first = 0;
    }
    int bad = -1;
    for (int k = 0; k < nw; k++)
        if (e->wk[k].st != KM_OK && (bad < 0 || e->wk[k].fail_at < e->wk[bad].fail_at))
            bad = k;
    if (bad < 0)
        return KM_OK;
    if (e->wk[bad].ctx != ctx)
        return km_fail(ctx, e->wk[bad].st, "%s", km_ctx_last_error(e->wk[bad].ctx));
    return e->wk[bad].st;
}

static const km_peak *peaks_of(const km_eng_block *b, km_peak *const *pk, int64_t i, size_t *np)
{
    *np = b->fpk_n[i];
    return pk[b->fpk_w[i]] + b->fpk_off[i];
}

/* Tracks ended so far into the block's track buffer.  A full buffer is
 * replaced by a larger copy, the old one kept until the block is written:
 * the writing thread may still be reading it. */
static km_status collect_tracks(km_ctx *ctx, km_eng_exec *x, km_tracker *tracker)
{
    for (;;) {
        km_track *buf = atomic_load(&x->tr_buf);
        if (x->tr_n == x->tr_cap) {
            if (x->n_tr_old == (int)(sizeof x->tr_old / sizeof x->tr_old[0]))
                return km_fail(ctx, KM_ERR_LIMIT, "too many tracks ended in one block");
            size_t cap = x->tr_cap < 64 ? 64 : 2 * x->tr_cap;
            km_track *nbuf = km_alloc(ctx, cap * sizeof *nbuf);
            if (nbuf == NULL)
                return KM_ERR_NOMEM;
            if (x->tr_n > 0)
                memcpy(nbuf, buf, x->tr_n * sizeof *nbuf);
            if (buf != NULL)
                x->tr_old[x->n_tr_old++] = buf;
            atomic_store(&x->tr_buf, nbuf);
            x->tr_cap = cap;
            buf = nbuf;
        }
        size_t n = km_tracker_pop(tracker, buf + x->tr_n, x->tr_cap - x->tr_n);
        if (n == 0)
            return KM_OK;
        x->tr_n += n;
    }
}

/* Frames tracked so far (-1: failed), waking the writing thread. */
static void publish_tracked(km_eng_exec *x, long long v, int wake)
{
    if (!x->sync || !wake) {
        atomic_store(&x->tracked, v);
        return;
    }
    pthread_mutex_lock(&x->mu);
    atomic_store(&x->tracked, v);
    pthread_cond_signal(&x->cv);
    pthread_mutex_unlock(&x->mu);
}

/* Wait until frame i is tracked; its count, or -1 when tracking failed. */
static long long wait_tracked(km_eng_exec *x, int64_t i)
{
    long long done = atomic_load(&x->tracked);
    if (done <= i && done >= 0 && x->sync) {
        /* Sleep, not spin: the other threads need both cores. */
        pthread_mutex_lock(&x->mu);
        while ((done = atomic_load(&x->tracked)) <= i && done >= 0)
            pthread_cond_wait(&x->cv, &x->mu);
        pthread_mutex_unlock(&x->mu);
    }
    return done;
}

/* Frame i's slots in the block's track ids; NULL when the block has no peak
   (blk_id is not allocated then, and NULL + 0 is undefined in C). */
static int32_t *frame_ids(const km_eng_exec *x, int64_t i)
{
    return x->blk_id == NULL ? NULL : x->blk_id + x->fid_off[i];
}

/* Step 4, the writing: the ended tracks and peak table of each frame of
 * the job once the tracking has reached it (tracks in runs of 64, then the
 * frame's peaks), then the block's frame table. */
static void *write_block(void *arg)
{
    km_engine *e = arg;
    km_eng_exec *x = &e->x;
    const km_eng_block *j = &x->job;
    km_ctx *ctx = x->job_ctx;
    km_status st = KM_OK;
    for (int64_t i = 0; i < x->job_n && st == KM_OK; i++) {
        if (wait_tracked(x, i) < 0)
            break; /* tracking failed: the tracking thread reports it */
        const km_track *tb = atomic_load(&x->tr_buf);
        size_t k0 = i > 0 ? x->ftr_end[i - 1] : 0;
        for (size_t k = k0; k < x->ftr_end[i] && st == KM_OK; k += 64) {
            size_t m = x->ftr_end[i] - k < 64 ? x->ftr_end[i] - k : 64;
            st = km_result_writer_append_rows(ctx, e->writer, e->trk.table, tb + k, m);
        }
        size_t np;
        const km_peak *pks = peaks_of(j, x->job_pk, i, &np);
        if (st == KM_OK)
            st = km_result_writer_append_peaks_tracked(ctx, e->writer, x->job_first + i,
                                                       j->times[i], pks, frame_ids(x, i),
                                                       np);
    }
    if (st == KM_OK && atomic_load(&x->tracked) >= 0)
        st = km_result_writer_append_frames(ctx, e->writer, j->times, j->metrics,
                                            e->p.save_frames ? j->frames : NULL, x->job_n);
    x->w_st = st;
    return NULL;
}

/* Wait for the block being written; its status. */
static km_status join_writer(km_ctx *ctx, km_eng_exec *x)
{
    if (!x->w_active)
        return KM_OK;
    pthread_join(x->w_tid, NULL);
    x->w_active = 0;
    for (int k = 0; k < x->n_tr_old; k++)
        km_free(ctx, x->tr_old[k]);
    x->n_tr_old = 0;
    if (x->w_st != KM_OK)
        return km_fail(ctx, x->w_st, "%s", km_ctx_last_error(x->wctx));
    return KM_OK;
}

/* Step 5's maps of a block's frames (the body grid and the per-taxel
 * maps), in order, on their own thread and ctx: they go on while the next
 * block is computed, from the buffers the block keeps until then; the
 * odometry of the next block, on the first thread, touches none of them. */
static void *maps_run(void *arg)
{
    km_engine *e = arg;
    km_eng_exec *x = &e->x;
    int32_t rows = e->info.rows, cols = e->info.cols;
    size_t rc = (size_t)rows * (size_t)cols;
    km_mask mask = {km_conditioner_mask(e->cond), rows, cols, cols};
    km_status st = KM_OK;
    for (int64_t i = 0; i < x->maps_n && st == KM_OK; i++) {
        km_frame fr = {x->maps_blk.frames + (size_t)i * rc, rows, cols, cols};
        st = km_stage_body_add(x->mctx, &e->body, &fr, &mask, &x->maps_blk.odo[i],
                               x->maps_blk.times[i]);
    }
    x->maps_st = st;
    return NULL;
}

static km_status join_maps(km_ctx *ctx, km_eng_exec *x)
{
    if (!x->m_active)
        return KM_OK;
    pthread_join(x->m_tid, NULL);
    x->m_active = 0;
    if (x->maps_st != KM_OK)
        return km_fail(ctx, x->maps_st, "%s", km_ctx_last_error(x->mctx));
    return KM_OK;
}

void km_exec_stop(km_engine *e)
{
    if (e->x.w_active)
        pthread_join(e->x.w_tid, NULL);
    if (e->x.m_active)
        pthread_join(e->x.m_tid, NULL);
    e->x.w_active = e->x.m_active = 0;
}

km_status km_exec_join(km_ctx *ctx, km_engine *e)
{
    km_status st = join_writer(ctx, &e->x), cst = join_maps(ctx, &e->x);
    return st != KM_OK ? st : cst;
}

/* Room for the block's track ids, and each frame's first id. */
static km_status index_ids(km_ctx *ctx, km_engine *e, int64_t n)
{
    km_eng_exec *x = &e->x;
    size_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        x->fid_off[i] = total;
        total += e->blk.fpk_n[i];
    }
    x->fid_off[n] = total;
    if (total > x->blk_id_cap) {
        size_t cap = total > 2 * x->blk_id_cap ? total : 2 * x->blk_id_cap;
        int32_t *ids = km_alloc(ctx, cap * sizeof *ids);
        if (ids == NULL)
            return KM_ERR_NOMEM;
        km_free(ctx, x->blk_id);
        x->blk_id = ids;
        x->blk_id_cap = cap;
    }
    x->tr_n = 0;
    atomic_store(&x->tracked, 0);
    return KM_OK;
}

/* Hand the block to the writing (step 4) and maps (step 5) threads when
 * the policy has them. */
static void start_sides(km_engine *e, int64_t n)
{
    km_eng_exec *x = &e->x;
    x->job = e->blk;
    for (int k = 0; k < e->nw; k++)
        x->job_pk[k] = e->wk[k].pk;
    x->job_n = n;
    x->job_first = e->frames_done;
    x->w_st = KM_OK;
    x->job_ctx = x->wctx;
    x->w_active = x->write_behind && pthread_create(&x->w_tid, NULL, write_block, e) == 0;
    x->maps_blk = e->blk;
    x->maps_n = n;
    x->maps_st = KM_OK;
    x->m_active = x->maps_apart = e->nw > 1 && pthread_create(&x->m_tid, NULL, maps_run, e) == 0;
}

/* Step 3: tracking and the summary, frame after frame. */
static km_status track_block(km_ctx *ctx, km_engine *e, int64_t n)
{
    km_eng_exec *x = &e->x;
    km_eng_block *b = &e->blk;
    km_peak *pk[KM_ENGINE_MAX_THREADS];
    km_status st = KM_OK;
    for (int k = 0; k < e->nw; k++)
        pk[k] = e->wk[k].pk;
    for (int64_t i = 0; i < n && st == KM_OK; i++) {
        size_t np;
        const km_peak *pks = peaks_of(b, pk, i, &np);
        st = km_stage_track_frame(ctx, &e->trk, e->frames_done + i, &b->odo[i], pks, np,
                                  frame_ids(x, i));
        if (st == KM_OK)
            st = collect_tracks(ctx, x, e->trk.tracker);
        if (st != KM_OK)
            break;
        x->ftr_end[i] = x->tr_n;
        km_stage_summary_frame(&e->sum, e->frames_done + i, b->times[i], b->metrics[i].flags,
                               pks, np);
        /* Wake the writer every GRAB frames (and at the end). */
        publish_tracked(x, (long long)(i + 1), (i + 1) % GRAB == 0 || i + 1 == n);
    }
    if (st != KM_OK)
        publish_tracked(x, -1, 1);
    return st;
}

/* The sinks of frame i. */
static km_status sinks_frame(km_ctx *ctx, km_engine *e, const km_frame *fr, const km_mask *mask,
                             int64_t i, km_peak *const *pk)
{
    km_stage_frame f = {e->frames_done + i, e->blk.times[i], fr, mask, &e->blk.metrics[i], NULL,
                        0, &e->blk.odo[i]};
    f.peaks = peaks_of(&e->blk, pk, i, &f.n_peaks);
    for (int k = 0; k < e->n_sinks; k++) {
        km_status st = e->sinks[k].frame(ctx, e->sinks[k].state, &f);
        if (st != KM_OK)
            return st;
    }
    return KM_OK;
}

/* Step 5 on this thread: the maps when they have no thread of their own,
 * then the sinks. */
static km_status body_block(km_ctx *ctx, km_engine *e, int64_t n)
{
    int32_t rows = e->info.rows, cols = e->info.cols;
    size_t rc = (size_t)rows * (size_t)cols;
    km_mask mask = {km_conditioner_mask(e->cond), rows, cols, cols};
    km_peak *pk[KM_ENGINE_MAX_THREADS];
    km_status st = KM_OK;
    for (int k = 0; k < e->nw; k++)
        pk[k] = e->wk[k].pk;
    for (int64_t i = 0; i < n && st == KM_OK; i++) {
        km_frame fr = {e->blk.frames + (size_t)i * rc, rows, cols, cols};
        if (!e->x.maps_apart)
            st = km_stage_body_add(ctx, &e->body, &fr, &mask, &e->blk.odo[i], e->blk.times[i]);
        if (st == KM_OK && e->n_sinks > 0)
            st = sinks_frame(ctx, e, &fr, &mask, i, pk);
    }
    return st;
}

/* The written block keeps its buffers; the next one takes the spares. */
static void swap_blocks(km_engine *e)
{
    km_eng_block t = e->blk;
    e->blk = e->blk_b;
    e->blk_b = t;
    for (int k = 0; k < e->nw; k++) {
        km_peak *pk = e->wk[k].pk;
        size_t cap = e->wk[k].cap;
        e->wk[k].pk = e->wk[k].pk_b;
        e->wk[k].cap = e->wk[k].cap_b;
        e->wk[k].pk_b = pk;
        e->wk[k].cap_b = cap;
    }
}

/* Steps 3-5 of the block's n frames. */
static km_status sequential_stage(km_ctx *ctx, km_engine *e, int64_t n)
{
    km_eng_exec *x = &e->x;
    km_status st = km_exec_join(ctx, e);
    if (st == KM_OK)
        st = index_ids(ctx, e, n);
    if (st != KM_OK)
        return st;
    start_sides(e, n);
    st = track_block(ctx, e, n);
    if (!x->w_active && e->writer != NULL) {
        x->job_ctx = ctx;
        write_block(e); /* no writing thread: write now, as one thread does */
        if (st == KM_OK)
            st = x->w_st;
    }
    if (st == KM_OK)
        st = body_block(ctx, e, n);
    x->maps_apart = 0;
    km_status wst = KM_OK, cst = KM_OK;
    if (e->p.save_frames || st != KM_OK)
        wst = join_writer(ctx, x);
    if (st != KM_OK)
        cst = join_maps(ctx, x);
    if (st == KM_OK)
        st = wst != KM_OK ? wst : cst;
    if (st == KM_OK && e->nw > 1)
        swap_blocks(e); /* the writing or candidate thread may still read it */
    if (!x->w_active) {
        for (int k = 0; k < x->n_tr_old; k++)
            km_free(ctx, x->tr_old[k]);
        x->n_tr_old = 0;
    }
    return st;
}

km_status km_exec_block(km_ctx *ctx, km_engine *e, int64_t n)
{
    e->x.write_behind = e->nw > 1 && e->writer != NULL;
    km_status st = per_frame_stage(ctx, e, n);
    if (st == KM_OK)
        st = km_stage_body_odometry(ctx, &e->body, e->odo_rows, n, e->blk.odo);
    if (st == KM_OK)
        st = sequential_stage(ctx, e, n);
    if (st == KM_OK)
        e->frames_done += n;
    return st;
}

km_status km_exec_drain_tracks(km_ctx *ctx, km_engine *e)
{
    km_track buf[64];
    size_t n;
    while ((n = km_tracker_pop(e->trk.tracker, buf, sizeof buf / sizeof buf[0])) > 0) {
        if (e->writer == NULL)
            continue;
        km_status st = km_result_writer_append_rows(ctx, e->writer, e->trk.table, buf, n);
        if (st != KM_OK)
            return st;
    }
    return KM_OK;
}
