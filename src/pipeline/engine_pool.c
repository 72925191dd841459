/* The per-frame stage on a pool of threads (metrics, row medians, peaks:
 * each frame alone decides them).
 *
 * Blocks are published in order into a ring of KM_ENGINE_SLOTS; any
 * thread takes KM_ENGINE_GRAB frames at a time from the oldest published
 * block with frames left, so the workers go on with block k+1 while the
 * first thread tracks block k (no barrier between the per-frame stage and
 * the sequential one).  The read-ahead hook (the driver's next read) is
 * taken first by whichever worker is free.  The workers live as long as
 * the engine and sleep on a condition variable when there is nothing to
 * take; the first thread joins in while it waits for a block or the read.
 * One mutex guards the schedule (a few thousand takes a session).  Which
 * thread computed a frame does not change its result: peaks go to the
 * taker's buffer of the block, and each frame records where.  The
 * executor's side threads (writing, maps) live here too: started at their
 * first job, then one job per post, in order, under the same mutex. */
#include <math.h>
#include <string.h>

#include "pipeline/engine_internal.h"

#define GRAB KM_ENGINE_GRAB

static void lock(km_eng_exec *x)
{
    if (x->pool)
        pthread_mutex_lock(&x->pmu);
}

static void unlock(km_eng_exec *x)
{
    if (x->pool)
        pthread_mutex_unlock(&x->pmu);
}

/* Peaks of one frame appended to the worker's buffer of the block,
 * growing it when a block has more peaks than ever before (amortised: not
 * a per-frame allocation).  It grows by a quarter, not twice: its size is
 * the most peaks any block had, which creeps up with the session's length,
 * and doubling turned that creep into steps of the whole buffer in the
 * peak memory (bench/HISTORY.md, "Session 20 (pipe)"). */
static km_status frame_peaks(km_eng_worker *w, km_eng_block *b, int k, const km_frame *fr,
                             const km_mask *mask, size_t *n)
{
    for (;;) {
        km_status st = km_detector_apply(w->ctx, w->det, fr, mask, b->pk[k] + b->used[k],
                                         b->cap[k] - b->used[k], n);
        if (st != KM_ERR_CAPACITY)
            return st;
        size_t need = b->used[k] + *n, cap = b->cap[k] + b->cap[k] / 4;
        if (cap < need)
            cap = need + need / 4;
        km_peak *np = km_alloc(w->ctx, cap * sizeof *np);
        if (np == NULL)
            return KM_ERR_NOMEM;
        if (b->used[k] > 0)
            memcpy(np, b->pk[k], b->used[k] * sizeof *np);
        km_free(w->ctx, b->pk[k]);
        b->pk[k] = np;
        b->cap[k] = cap;
        km_ctx_clear_error(w->ctx);
    }
}

/* The per-frame stage of frame i: metrics, row medians, then peaks unless
 * the frame is corrupt (held at the last good frame: no peaks).  The
 * metrics and peaks see pmask (the mask less the suspect taxels unless
 * keep_suspect, docs/ALGORITHMS.md 3.7), the odometry's row medians the
 * conditioner's mask (as the candidates, which set stuck taxels aside by
 * their own rule). */
static km_status frame_stage(km_eng_worker *w, km_eng_block *b, const km_mask *mask,
                             const km_mask *pmask, int64_t i)
{
    km_engine *e = w->e;
    int k = (int)(w - e->wk);
    int32_t rows = e->info.rows, cols = e->info.cols;
    size_t rc = (size_t)rows * (size_t)cols;
    km_frame fr = {b->frames + (size_t)i * rc, rows, cols, cols};
    km_metrics *m = &b->metrics[i];
    km_status st = km_frame_metrics(w->ctx, &fr, pmask, e->info.row_pitch_mm, e->info.col_pitch_mm,
                                    e->physical ? 1.0 : NAN, e->p.contact_threshold,
                                    e->info.saturation, m);
    if (st != KM_OK)
        return st;
    m->flags |= b->cflags[i];
    if (b->odo_rows != NULL)
        km_stage_body_row_medians(&e->body, &fr, mask, w->oscratch,
                                  b->odo_rows + (size_t)i * (size_t)rows);
    size_t np = 0;
    km_frame pf = fr;
    const float *restrict rise =
        e->zero.on ? km_peak_zero_rise(&e->zero, b->rises, b->rise_any, b->zf0, i) : NULL;
    if (rise != NULL) { /* the frame less its taxels' zero (peak_zero.c) */
        km_peak_zero_apply(&e->zero, fr.data, rise, w->zframe);
        pf.data = w->zframe;
    }
    if ((m->flags & KM_FRAME_CORRUPT) == 0 && (st = frame_peaks(w, b, k, &pf, pmask, &np)) != KM_OK)
        return st;
    b->fpk_off[i] = b->used[k];
    b->fpk_n[i] = np;
    b->fpk_w[i] = k;
    b->used[k] += np;
    return KM_OK;
}

/* Under the lock: GRAB frames of the oldest block with frames left. */
static km_eng_block *take(km_engine *e, int64_t *i0, int64_t *i1)
{
    km_eng_exec *x = &e->x;
    for (int64_t j = x->lo; j < x->pub && j < x->stop_from; j++) {
        km_eng_block *b = &e->slot[j % e->n_slots];
        if (b->next >= b->n) {
            if (j == x->lo && b->inflight == 0)
                x->lo = j + 1;
            continue;
        }
        *i0 = b->next;
        *i1 = b->next + GRAB < b->n ? b->next + GRAB : b->n;
        b->next = *i1;
        b->inflight++;
        return b;
    }
    return NULL;
}

/* Frames [i0, i1) of block b on worker w, unlocked; then, under the lock
 * again, the share is handed back (a failure stops the block and the
 * later ones: their frames will not be used). */
static void run_share(km_engine *e, km_eng_worker *w, km_eng_block *b, int64_t i0, int64_t i1)
{
    km_eng_exec *x = &e->x;
    km_mask mask = {km_conditioner_mask(e->cond), e->info.rows, e->info.cols, e->info.cols};
    km_mask pmask = {e->peak_mask, e->info.rows, e->info.cols, e->info.cols};
    km_status st = KM_OK;
    int64_t i = i0;
    unlock(x);
    for (; i < i1 && st == KM_OK; i++)
        st = frame_stage(w, b, &mask, &pmask, i);
    lock(x);
    if (st != KM_OK) {
        i--;
        if (b->st == KM_OK || i < b->fail_at) {
            b->st = st;
            b->fail_at = i;
            b->fail_w = (int)(w - e->wk);
        }
        b->next = b->n;
        if (b->id + 1 < x->stop_from)
            x->stop_from = b->id + 1;
    }
    if (--b->inflight == 0 && b->next >= b->n && x->pool)
        pthread_cond_broadcast(&x->done_cv);
}

/* The read-ahead, under the lock on entry and exit. */
static void run_ahead(km_engine *e)
{
    km_eng_exec *x = &e->x;
    x->ahead_pending = 0;
    unlock(x);
    e->ahead(e->ahead_user);
    lock(x);
    x->ahead_done = 1;
    if (x->pool)
        pthread_cond_broadcast(&x->done_cv);
}

static void *worker_main(void *arg)
{
    km_eng_worker *w = arg;
    km_engine *e = w->e;
    km_eng_exec *x = &e->x;
    int64_t i0, i1;
    lock(x);
    while (!x->quit) {
        km_eng_block *b;
        if (x->ahead_pending)
            run_ahead(e);
        else if ((b = take(e, &i0, &i1)) != NULL)
            run_share(e, w, b, i0, i1);
        else
            pthread_cond_wait(&x->work_cv, &x->pmu);
    }
    unlock(x);
    return NULL;
}

/* A side thread: its jobs in order, until the pool stops. */
static void *side_main(void *arg)
{
    km_eng_side *s = arg;
    km_eng_exec *x = s->x;
    lock(x);
    for (;;) {
        while (!x->quit && s->done == s->posted)
            pthread_cond_wait(&x->side_cv, &x->pmu);
        if (s->done == s->posted)
            break; /* quit, nothing left */
        void *(*fn)(void *) = s->fn;
        void *a = s->arg;
        unlock(x);
        fn(a);
        lock(x);
        s->done++;
        pthread_cond_broadcast(&x->side_cv);
    }
    unlock(x);
    return NULL;
}

int km_side_post(km_engine *e, int k, void *(*fn)(void *), void *arg)
{
    km_eng_exec *x = &e->x;
    km_eng_side *s = &x->side[k];
    if (!x->pool)
        return 0;
    lock(x);
    if (!s->started) {
        s->x = x;
        s->started = pthread_create(&s->tid, NULL, side_main, s) == 0;
    }
    if (s->started) {
        s->fn = fn;
        s->arg = arg;
        s->posted++;
        pthread_cond_broadcast(&x->side_cv);
    }
    unlock(x);
    return s->started;
}

void km_side_wait(km_engine *e, int k)
{
    km_eng_exec *x = &e->x;
    km_eng_side *s = &x->side[k];
    if (!x->pool)
        return;
    lock(x);
    while (s->done < s->posted)
        pthread_cond_wait(&x->side_cv, &x->pmu);
    unlock(x);
}

void km_pool_publish(km_engine *e, km_eng_block *b, int64_t n)
{
    km_eng_exec *x = &e->x;
    lock(x);
    b->id = x->pub;
    b->n = n;
    b->next = 0;
    b->inflight = 0;
    b->st = KM_OK;
    b->fail_at = INT64_MAX;
    for (int k = 0; k < e->nw; k++)
        b->used[k] = 0;
    x->pub++;
    e->blk = &e->slot[x->pub % e->n_slots];
    /* A worker reads the next block first, then computes frames: the read
       overlaps the per-frame work. */
    if (e->nw > 1 && e->ahead != NULL && e->ahead_wanted && !e->ahead_started) {
        e->ahead_started = 1;
        x->ahead_pending = 1;
        x->ahead_done = 0;
    }
    if (x->pool)
        pthread_cond_broadcast(&x->work_cv);
    unlock(x);
}

void km_pool_start_ahead(km_engine *e)
{
    km_eng_exec *x = &e->x;
    if (!x->pool || e->ahead == NULL)
        return;
    lock(x);
    e->ahead_started = 1;
    x->ahead_pending = 1;
    x->ahead_done = 0;
    pthread_cond_broadcast(&x->work_cv);
    unlock(x);
}

/* This thread computes frames until done() holds; it sleeps only when
 * there is nothing to take.  Under the lock on entry and exit. */
static void help_until(km_ctx *ctx, km_engine *e, const km_eng_block *b)
{
    km_eng_exec *x = &e->x;
    int64_t i0, i1;
    e->wk[0].ctx = ctx;
    for (;;) {
        /* A block after a failed one is never finished: its frames are
           not used (the failure reports first). */
        int done = b != NULL ? (b->next >= b->n || b->id >= x->stop_from) && b->inflight == 0
                             : x->ahead_done;
        if (done)
            return;
        km_eng_block *t = take(e, &i0, &i1);
        if (t != NULL)
            run_share(e, &e->wk[0], t, i0, i1);
        else if (b == NULL && x->ahead_pending)
            run_ahead(e); /* no worker has taken it yet */
        else
            pthread_cond_wait(&x->done_cv, &x->pmu);
    }
}

km_status km_pool_finish_block(km_ctx *ctx, km_engine *e, km_eng_block *b)
{
    km_eng_exec *x = &e->x;
    lock(x);
    help_until(ctx, e, b);
    km_status st = b->st;
    int w = b->fail_w;
    if (st == KM_OK && b->next < b->n) { /* after a failed block */
        const km_eng_block *f = &e->slot[(x->stop_from - 1) % e->n_slots];
        st = f->st;
        w = f->fail_w;
    }
    unlock(x);
    if (st == KM_OK)
        return KM_OK;
    if (e->wk[w].ctx != ctx)
        return km_fail(ctx, st, "%s", km_ctx_last_error(e->wk[w].ctx));
    return st;
}

void km_pool_wait_ahead(km_ctx *ctx, km_engine *e)
{
    km_eng_exec *x = &e->x;
    lock(x);
    if (x->ahead_pending || !x->ahead_done)
        help_until(ctx, e, NULL);
    unlock(x);
}

/* The workers past the first, sleeping until a block is published.  A
 * worker that cannot start leaves its share to the others. */
km_status km_pool_create(km_ctx *ctx, km_engine *e)
{
    km_eng_exec *x = &e->x;
    x->stop_from = INT64_MAX;
    x->ahead_done = 1;
    if (e->nw < 2)
        return KM_OK;
    if (pthread_mutex_init(&x->pmu, NULL) != 0)
        return km_fail(ctx, KM_ERR_NOMEM, "cannot create a mutex");
    if (pthread_cond_init(&x->work_cv, NULL) != 0) {
        pthread_mutex_destroy(&x->pmu);
        return km_fail(ctx, KM_ERR_NOMEM, "cannot create a condition variable");
    }
    if (pthread_cond_init(&x->done_cv, NULL) != 0) {
        pthread_cond_destroy(&x->work_cv);
        pthread_mutex_destroy(&x->pmu);
        return km_fail(ctx, KM_ERR_NOMEM, "cannot create a condition variable");
    }
    if (pthread_cond_init(&x->side_cv, NULL) != 0) {
        pthread_cond_destroy(&x->done_cv);
        pthread_cond_destroy(&x->work_cv);
        pthread_mutex_destroy(&x->pmu);
        return km_fail(ctx, KM_ERR_NOMEM, "cannot create a condition variable");
    }
    x->pool = 1;
    for (int k = 1; k < e->nw; k++)
        e->wk[k].started = pthread_create(&e->wk[k].tid, NULL, worker_main, &e->wk[k]) == 0;
    return KM_OK;
}

void km_pool_stop(km_engine *e)
{
    km_eng_exec *x = &e->x;
    if (!x->pool)
        return;
    lock(x);
    x->quit = 1;
    pthread_cond_broadcast(&x->work_cv);
    pthread_cond_broadcast(&x->side_cv);
    unlock(x);
    for (int k = 1; k < e->nw; k++)
        if (e->wk[k].started)
            pthread_join(e->wk[k].tid, NULL);
    for (int k = 0; k < KM_SIDES; k++)
        if (x->side[k].started)
            pthread_join(x->side[k].tid, NULL);
    pthread_cond_destroy(&x->side_cv);
    pthread_cond_destroy(&x->done_cv);
    pthread_cond_destroy(&x->work_cv);
    pthread_mutex_destroy(&x->pmu);
    x->pool = 0;
}
