/* The executor: how a block of conditioned frames goes through the stages.
 *
 * One sequence for any thread count:
 *   1. per-frame stage (metrics, peaks, row medians): frames taken GRAB at a
 *      time by nw threads, each frame computed alone (engine_pool.c);
 *   2. odometry, in order;
 *   3. tracking and summary, in order, producing each frame's track ids and
 *      ended tracks;
 *   4. writing: each frame's ended tracks and peaks, then the frame table;
 *   5. the body grid (body map, candidate maps) and per-taxel maps, in order.
 * Policies, not copies of the sequence: with nw > 1 blocks live in a ring
 * of three slots and step 1 runs on a pool of workers that never waits for
 * steps 2-5: pipelined (km_process), block k's steps 2-5 run on the first
 * thread after block k+1 is handed to the workers, and the first thread
 * joins the workers when it is done; a free worker first runs the driver's
 * read-ahead hook.  Step 4 runs on a writing thread beside 3 and goes on
 * while the next block is computed; the maps of 5 run on a maps thread,
 * also into the next block, so the first thread's own sequential work is
 * only 2 and 3 (and the conditioner, in the driver's push).  Both are side
 * threads of the pool (engine_pool.c): started at their first block, one
 * job per block.  At the end (km_process: x.end_early) the body map and
 * candidates are computed on the maps thread beside the last writing.  A slot is
 * refilled only after its block's writing and maps threads are joined
 * (at the next block's step 2).  The writing thread and the read-ahead do
 * not wait for each other: both hold HDF5's global lock only to copy bytes
 * (chunks are compressed and decompressed outside it, io/h5_chunks.h).
 * The conditioner's mask, read by steps 1 and 5 on other threads, is fixed
 * before its first frame comes out (the warm-up decides it).  Each stage
 * sees its frames in order and the writer gets the same calls in the same
 * order, so the result is the one thread's. */
#include <math.h>
#include <string.h>

#include "pipeline/engine_internal.h"

#define GRAB KM_ENGINE_GRAB

static const km_peak *peaks_of(const km_eng_block *b, int64_t i, size_t *np)
{
    *np = b->fpk_n[i];
    return b->pk[b->fpk_w[i]] + b->fpk_off[i];
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
    const km_eng_block *j = x->job;
    km_ctx *ctx = x->job_ctx;
    km_status st = KM_OK;
    for (int64_t i = 0; i < j->n && st == KM_OK; i++) {
        if (wait_tracked(x, i) < 0)
            break; /* tracking failed: the tracking thread reports it */
        const km_track *tb = atomic_load(&x->tr_buf);
        size_t k0 = i > 0 ? x->ftr_end[i - 1] : 0;
        for (size_t k = k0; k < x->ftr_end[i] && st == KM_OK; k += 64) {
            size_t m = x->ftr_end[i] - k < 64 ? x->ftr_end[i] - k : 64;
            st = km_result_writer_append_rows(ctx, e->writer, e->trk.table, tb + k, m);
        }
        size_t np;
        const km_peak *pks = peaks_of(j, i, &np);
        if (st == KM_OK)
            st = km_result_writer_append_peaks_tracked(ctx, e->writer, x->job_first + i,
                                                       j->times[i], pks, frame_ids(x, i),
                                                       np);
    }
    if (st == KM_OK && atomic_load(&x->tracked) >= 0)
        st = km_result_writer_append_frames(ctx, e->writer, j->times, j->metrics,
                                            e->p.save_frames ? j->frames : NULL, j->n);
    x->w_st = st;
    return NULL;
}

/* Wait for the block being written; its status. */
static km_status join_writer(km_ctx *ctx, km_engine *e)
{
    km_eng_exec *x = &e->x;
    if (!x->w_active)
        return KM_OK;
    km_side_wait(e, KM_SIDE_WRITE);
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
    const km_eng_block *b = x->maps_blk;
    for (int64_t i = 0; i < b->n && st == KM_OK; i++) {
        km_frame fr = {b->frames + (size_t)i * rc, rows, cols, cols};
        st = km_stage_body_add(x->mctx, &e->body, &fr, &mask, &b->odo[i], b->times[i]);
    }
    x->maps_st = st;
    return NULL;
}

static km_status join_maps(km_ctx *ctx, km_engine *e)
{
    km_eng_exec *x = &e->x;
    if (!x->m_active)
        return KM_OK;
    km_side_wait(e, KM_SIDE_MAPS);
    x->m_active = 0;
    if (x->maps_st != KM_OK)
        return km_fail(ctx, x->maps_st, "%s", km_ctx_last_error(x->mctx));
    return KM_OK;
}

static void join_sides_now(km_engine *e)
{
    if (e->x.w_active)
        km_side_wait(e, KM_SIDE_WRITE);
    if (e->x.m_active)
        km_side_wait(e, KM_SIDE_MAPS);
    e->x.w_active = e->x.m_active = 0;
}

static km_status join_sides(km_ctx *ctx, km_engine *e)
{
    km_status st = join_writer(ctx, e), cst = join_maps(ctx, e);
    return st != KM_OK ? st : cst;
}

/* Room for block b's track ids, and each frame's first id. */
static km_status index_ids(km_ctx *ctx, km_engine *e, const km_eng_block *b)
{
    km_eng_exec *x = &e->x;
    size_t total = 0;
    for (int64_t i = 0; i < b->n; i++) {
        x->fid_off[i] = total;
        total += b->fpk_n[i];
    }
    x->fid_off[b->n] = total;
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

/* Hand block b to the writing (step 4) and maps (step 5) threads when the
 * policy has them. */
static void start_sides(km_engine *e, km_eng_block *b)
{
    km_eng_exec *x = &e->x;
    x->job = b;
    x->job_first = e->frames_done;
    x->w_st = KM_OK;
    x->job_ctx = x->wctx;
    x->w_active = x->write_behind && km_side_post(e, KM_SIDE_WRITE, write_block, e);
    x->maps_blk = b;
    x->maps_st = KM_OK;
    x->m_active = x->maps_apart = e->nw > 1 && km_side_post(e, KM_SIDE_MAPS, maps_run, e);
}

/* Step 3: tracking and the summary, frame after frame. */
static km_status track_block(km_ctx *ctx, km_engine *e, const km_eng_block *b)
{
    km_eng_exec *x = &e->x;
    km_status st = KM_OK;
    int64_t n = b->n;
    for (int64_t i = 0; i < n && st == KM_OK; i++) {
        size_t np;
        const km_peak *pks = peaks_of(b, i, &np);
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
static km_status sinks_frame(km_ctx *ctx, km_engine *e, const km_eng_block *b,
                             const km_frame *fr, const km_mask *mask, int64_t i)
{
    km_stage_frame f = {e->frames_done + i, b->times[i], fr, mask, &b->metrics[i], NULL,
                        0, &b->odo[i]};
    f.peaks = peaks_of(b, i, &f.n_peaks);
    for (int k = 0; k < e->n_sinks; k++) {
        km_status st = e->sinks[k].frame(ctx, e->sinks[k].state, &f);
        if (st != KM_OK)
            return st;
    }
    return KM_OK;
}

/* Step 5 on this thread: the maps when they have no thread of their own,
 * then the sinks. */
static km_status body_block(km_ctx *ctx, km_engine *e, const km_eng_block *b)
{
    int32_t rows = e->info.rows, cols = e->info.cols;
    size_t rc = (size_t)rows * (size_t)cols;
    km_mask mask = {km_conditioner_mask(e->cond), rows, cols, cols};
    km_status st = KM_OK;
    for (int64_t i = 0; i < b->n && st == KM_OK; i++) {
        km_frame fr = {b->frames + (size_t)i * rc, rows, cols, cols};
        if (!e->x.maps_apart)
            st = km_stage_body_add(ctx, &e->body, &fr, &mask, &b->odo[i], b->times[i]);
        if (st == KM_OK && e->n_sinks > 0)
            st = sinks_frame(ctx, e, b, &fr, &mask, i);
    }
    return st;
}

static void free_old_tracks(km_ctx *ctx, km_eng_exec *x)
{
    for (int k = 0; k < x->n_tr_old; k++)
        km_free(ctx, x->tr_old[k]);
    x->n_tr_old = 0;
}

/* Steps 2-5 of block b, whose per-frame stage is done.  The writing and
 * maps threads of the block before are joined first; this block's go on
 * until the next one comes here (its slot is not refilled before). */
static km_status sequential_stage(km_ctx *ctx, km_engine *e, km_eng_block *b)
{
    km_eng_exec *x = &e->x;
    km_status st = km_stage_body_odometry(ctx, &e->body, b->odo_rows, b->n, b->odo);
    if (st == KM_OK)
        st = join_sides(ctx, e);
    if (st == KM_OK)
        st = index_ids(ctx, e, b);
    if (st != KM_OK)
        return st;
    start_sides(e, b);
    st = track_block(ctx, e, b);
    if (!x->w_active && e->writer != NULL) {
        x->job_ctx = ctx;
        write_block(e); /* no writing thread: write now, as one thread does */
        if (st == KM_OK)
            st = x->w_st;
    }
    if (st == KM_OK)
        st = body_block(ctx, e, b);
    x->maps_apart = 0;
    km_status wst = KM_OK, cst = KM_OK;
    if (e->p.save_frames || st != KM_OK)
        wst = join_writer(ctx, e);
    if (st != KM_OK)
        cst = join_maps(ctx, e);
    if (st == KM_OK)
        st = wst != KM_OK ? wst : cst;
    if (!x->w_active)
        free_old_tracks(ctx, x);
    if (st == KM_OK)
        e->frames_done += b->n;
    return st;
}

/* The oldest block not yet through the sequential stage: its per-frame
 * stage finished (this thread helping), then steps 2-5. */
static km_status settle_one(km_ctx *ctx, km_engine *e)
{
    km_eng_exec *x = &e->x;
    km_eng_block *b = &e->slot[x->seqd % e->n_slots];
    km_status st = km_pool_finish_block(ctx, e, b);
    if (st == KM_OK)
        st = sequential_stage(ctx, e, b);
    x->seqd++;
    return st;
}

void km_exec_stop(km_engine *e)
{
    join_sides_now(e);
}

/* The end of the session on the maps thread: the body map and candidates. */
static void *end_run(void *arg)
{
    km_engine *e = arg;
    e->x.maps_st = km_stage_body_finish(e->x.mctx, &e->body);
    return NULL;
}

km_status km_exec_join(km_ctx *ctx, km_engine *e)
{
    km_eng_exec *x = &e->x;
    km_status st = KM_OK;
    while (st == KM_OK && x->seqd < x->pub)
        st = settle_one(ctx, e);
    if (st != KM_OK) {
        join_sides_now(e);
        return st;
    }
    if (!x->end_early || x->end_posted || e->nw < 2)
        return join_sides(ctx, e);
    /* The last block's maps done, the end goes on beside its writing. */
    if ((st = join_maps(ctx, e)) != KM_OK) {
        join_sides_now(e);
        return st;
    }
    x->end_posted = 1;
    x->maps_st = KM_OK;
    x->m_active = km_side_post(e, KM_SIDE_MAPS, end_run, e);
    return join_writer(ctx, e);
}

km_status km_exec_join_end(km_ctx *ctx, km_engine *e)
{
    return join_maps(ctx, e);
}

/* Block k is published to the per-frame stage; then, pipelined, block k-1
 * goes through the sequential stage while the workers compute block k
 * (this thread joins them when it is done), else block k does at once. */
km_status km_exec_block(km_ctx *ctx, km_engine *e, int64_t n)
{
    km_eng_exec *x = &e->x;
    km_status st = KM_OK;
    /* What the peaks see, once the warm-up has ended; the maps' pressure
       follows it (the metrics take e->peak_mask in the per-frame stage). */
    if (!e->peaks_set && ((st = km_engine_setup_peaks(ctx, e)) != KM_OK ||
                          (st = km_stage_body_set_view(ctx, &e->body, e->pmask)) != KM_OK))
        return st;
    if (e->zero.on) /* in session order, before any frame of the block is taken */
        km_peak_zero_block(&e->zero, e->blk->frames, n, e->blk->rises, e->blk->rise_any,
                           &e->blk->zf0);
    x->write_behind = e->nw > 1 && e->writer != NULL;
    km_pool_publish(e, e->blk, n);
    int64_t keep = x->pipelined && e->nw > 1 ? 1 : 0;
    while (st == KM_OK && x->pub - x->seqd > keep)
        st = settle_one(ctx, e);
    return st;
}

void km_exec_wait_ahead(km_ctx *ctx, km_engine *e)
{
    km_pool_wait_ahead(ctx, e);
}

void km_exec_start_ahead(km_engine *e)
{
    km_pool_start_ahead(e);
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
