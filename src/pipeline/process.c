/* The pipeline for one session: read -> calibrate -> smooth -> metrics and
 * peaks -> tracks; (roller: odometry ->) body map and candidate map ->
 * candidates -> result HDF5, streaming in blocks (DESIGN.md section 2). */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "io/result_writer.h"
#include "pipeline/budget.h"
#include "pipeline/condition.h"
#include "pipeline/equilibrate.h"
#include "pipeline/params.h"
#include "track/odometry_internal.h"

/* A block never holds more than this many values, whatever block_frames
 * asks, so a huge grid cannot make a block of gigabytes. */
#define MAX_BLOCK_VALUES ((size_t)1 << 25)
#define PEAKS_START 1024
#define MAX_THREADS 64
#define GRAB 8 /* frames a thread takes at a time from a block's per-frame stage */

void km_process_params_default(km_process_params *p)
{
    if (p == NULL)
        return;
    memset(p, 0, sizeof *p);
    km_read_options_default(&p->read);
    km_calib_params_default(&p->calib);
    km_gaussian_params_default(&p->smooth);
    /* A knot is 3-6 mm across and a taxel 5-10 mm: it shows on one or two
       taxels, and smoothing would flatten exactly what is looked for. */
    p->smooth.sigma_rows = 0.0;
    p->smooth.sigma_cols = 0.0;
    km_peak_params_default(&p->peaks);
    /* Every field set here so the pipeline's defaults are what the header
       and docs/CLI.md say, independent of km_peak_params_default(). */
    p->peaks.min_distance = 2;
    p->peaks.threshold_abs = NAN;
    p->peaks.threshold_rel = 0.1;
    p->peaks.exclude_border = 0;
    p->peaks.plateau = KM_PLATEAU_ONE;
    p->peaks.p_norm = INFINITY;
    p->peaks.num_peaks = -1;
    p->peaks.min_prominence = 0.0;
    p->peaks.saturation = INFINITY;
    p->peaks.want = KM_WANT_ALL;
    p->contact_threshold = 0.0;
    p->block_frames = 256;
    p->save_frames = 0;
    p->overwrite = 1;
    p->command_line = NULL;
    p->progress = NULL;
    p->progress_user = NULL;
    km_track_params_default(&p->track);
    km_candidate_params_default(&p->cand);
    p->lift_threshold = 5.0;
    km_condition_params_default(&p->cond);
    p->n_threads = 1;
    km_equil_params_default(&p->equil);
}

typedef struct top_entry {
    int64_t frame;
    double time;
    int32_t row, col;
    double y_mm, x_mm;
    float value, prominence;
} top_entry;

struct run;

/* What the writing thread needs of a block whose peaks and tracks it
 * writes while the next block is computed (write-behind). */
typedef struct wjob {
    const double *times;
    const km_metrics *metrics;
    const float *frames;       /* --save-frames only (then written before the next block) */
    const size_t *fpk_off, *fpk_n;
    const int *fpk_w;
    const km_peak *pk[MAX_THREADS];
    int64_t n, first_frame;
} wjob;

/* One thread's share of a block's per-frame stage (metrics and peaks,
 * which depend on the frame alone): frames [i0, i1), peaks appended to
 * its own buffer.  Worker 0 is the calling thread and uses its ctx. */
typedef struct worker {
    struct run *r;
    const km_process_params *p;
    const km_mask *mask;
    km_ctx *ctx;
    km_detector *det;
    km_peak *pk;
    size_t cap, used;
    km_peak *pk_b;             /* write-behind: the other block's peaks */
    size_t cap_b;
    float *oscratch;           /* one row, for the odometry's row medians */
    int read_first;            /* read the next block before taking frames */
    km_status st;
    int64_t fail_at;           /* frame of the failure, for a deterministic report */
} worker;

typedef struct run {
    km_reader *reader;
    km_result_writer *writer;
    km_conditioner *cond;      /* calibration, bad taxels, temporal and spatial filters */
    km_condition_params cp;    /* effective: a header curve resolved */
    float *eq_gain;            /* gain map of --equilibrate / --gain-map (rows*cols) */
    km_equil_summary eq;       /* its source's summary, for /params */
    uint32_t *cflags;          /* conditioner flags of the block's frames */
    worker wk[MAX_THREADS];
    int nw;
    atomic_llong next;         /* next frame of the block to take */
    int64_t n_block;
    km_ctx *rctx;              /* read-ahead thread (nw > 1) */
    km_ctx *wctx;              /* writing thread (nw > 1) */
    wjob job;                  /* the block being written */
    pthread_t w_tid;
    int w_active;              /* w_tid runs and must be joined */
    km_status w_st;
    double *times_b;           /* write-behind: the other block's times, metrics, */
    km_metrics *metrics_b;     /* peak offsets (nw > 1) */
    size_t *fpk_off_b, *fpk_n_b;
    int *fpk_w_b;
    float *rbuf;               /* read-ahead block (nw > 1) */
    double *rtimes;
    int64_t r_n;
    km_status r_st;
    int ahead_wanted, ahead_started;
    km_odometry_sample *odo_s; /* per frame of the block (zero on a mat) */
    int64_t side_n;
    km_status side_st;
    int cand_apart;            /* this block's candidates on their own thread (cand_run) */
    km_status cand_st;
    km_ctx *cctx;              /* candidate thread (nw > 1) */
    pthread_t c_tid;
    int c_active;              /* c_tid runs and must be joined */
    const float *c_block;      /* what it reads: the block's frames, odometry, times */
    const km_odometry_sample *c_odo;
    const double *c_times;
    int64_t c_n;
    float *block_b;            /* write-behind: the other block's frames and odometry */
    km_odometry_sample *odo_s_b;
    size_t *fpk_off;           /* per frame of the block: first peak in its worker's buffer */
    size_t *fpk_n;             /* per frame: peak count */
    int *fpk_w;                /* per frame: worker */
    km_session_info info;      /* the result's view: units after calibration */
    km_calib_params calib;     /* effective: gain includes the unit conversion */
    km_peak_params peaks;
    int apply_calib;
    int physical;              /* units convert to kPa */
    float *block;              /* nb frames */
    double *times;
    km_metrics *metrics;
    float *smooth_tmp;         /* one frame */
    size_t pk_cap;
    double *pk_y, *pk_x;       /* body position of each peak, mm (pk_cap) */
    float *pk_v;
    int32_t *pk_id;
    /* Two or more threads: the block's tracking (first thread) runs ahead
       of the writing of its peaks and ended tracks (second thread). */
    int32_t *blk_id;           /* track ids of the block's peaks, frame after frame */
    size_t blk_id_cap;
    size_t *fid_off;           /* per frame: its first id in blk_id (nb + 1) */
    _Atomic(km_track *) tr_buf; /* tracks ended by the block's frames */
    km_track *tr_old[48];      /* outgrown track buffers, freed after the block */
    int n_tr_old;
    size_t tr_n, tr_cap;
    size_t *ftr_end;           /* per frame: end of its ended tracks in tr_buf */
    atomic_llong tracked;      /* frames of the block tracked; -1: tracking failed */
    pthread_mutex_t tr_mu;     /* with tr_cv: the writing thread sleeps until tracked moves */
    pthread_cond_t tr_cv;
    pthread_cond_t io_cv;      /* with tr_mu: the writing thread waits while `reading` */
    int reading;               /* the read-ahead has not finished: it goes first */
    int tr_sync;               /* tr_mu and tr_cv initialised */
    km_odometry *odo;
    double *odo_rows;          /* roller: row medians of the block's frames (nb * rows) */
    km_bodymap *bmap;
    km_candidates *cand;
    km_tracker *tracker;
    int roller;
    int64_t n_candidates;
    int32_t bm_ny, bm_nx;
    int n_cand;
    km_candidate best[KM_SUMMARY_TOP];
    float *max_map;
    double *sum_map;
    int64_t *cnt_map;
    int64_t nb;
    int64_t frames_done, n_peaks, n_corrupt;
    int n_top;
    top_entry top[KM_SUMMARY_TOP];
} run;

/* Keep the KM_SUMMARY_TOP highest peaks at distinct places: a candidate
 * within the peak window of a kept entry replaces it only when higher, so a
 * knot pressed for a hundred frames is listed once. */
static void top_offer(run *r, const top_entry *c, int32_t radius)
{
    if (r->n_top == KM_SUMMARY_TOP && !(c->value > r->top[KM_SUMMARY_TOP - 1].value))
        return;
    int keep = 0;
    top_entry kept[KM_SUMMARY_TOP];
    for (int i = 0; i < r->n_top; i++) {
        const top_entry *e = &r->top[i];
        int32_t dr = e->row > c->row ? e->row - c->row : c->row - e->row;
        int32_t dc = e->col > c->col ? e->col - c->col : c->col - e->col;
        if (dr <= radius && dc <= radius) {
            if (!(c->value > e->value))
                return;
            continue; /* dropped: c is higher at the same place */
        }
        kept[keep++] = *e;
    }
    int pos = keep;
    while (pos > 0 && c->value > kept[pos - 1].value)
        pos--;
    if (pos >= KM_SUMMARY_TOP)
        return;
    int n = keep < KM_SUMMARY_TOP ? keep + 1 : KM_SUMMARY_TOP;
    for (int i = n - 1; i > pos; i--)
        kept[i] = kept[i - 1];
    kept[pos] = *c;
    memcpy(r->top, kept, (size_t)n * sizeof kept[0]);
    r->n_top = n;
}

/* /params from the parameter table: the effective values (a header curve
 * resolved, the block size used, the session's saturation filled in). */
static km_status write_params(km_ctx *ctx, run *r, const km_process_params *p)
{
    km_process_params eff = *p;
    eff.cond = r->cp;
    eff.peaks = r->peaks;
    eff.block_frames = r->nb;
    km_param_run rec = {r->info.units, r->physical ? r->calib.gain / p->calib.gain : NAN,
                        r->info.saturation, r->eq};
    return km_params_write(ctx, r->writer, &eff, &rec);
}

static km_status check_params(km_ctx *ctx, const km_process_params *p)
{
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
    return KM_OK;
}

/* Decide units and the effective calibration: a session in a pressure
 * unit is converted to kPa (folded into the gain); a raw session stays raw
 * (the user's offset/gain apply, the unit stays "raw"). */
static void setup_units(run *r, const km_process_params *p)
{
    /* A calibration curve maps raw counts to kPa itself. */
    double to_kpa = r->cp.curve != KM_CURVE_NONE ? 1.0 : km_units_to_kpa(r->info.units);
    r->physical = isfinite(to_kpa) && to_kpa > 0.0;
    r->calib = p->calib;
    if (r->physical) {
        r->calib.gain *= to_kpa;
        snprintf(r->info.units, sizeof r->info.units, "kPa");
    } else if (r->info.units[0] == '\0') {
        snprintf(r->info.units, sizeof r->info.units, "raw");
    }
    r->apply_calib = r->calib.gain != 1.0 || r->calib.offset != 0.0 ||
                     r->calib.noise_threshold != 0.0;
    double sat = r->info.saturation;
    if (isfinite(sat))
        sat = r->calib.gain * (sat - r->calib.offset);
    else
        sat = INFINITY;
    r->info.saturation = sat;
    r->peaks = p->peaks;
    if (!isfinite(r->peaks.saturation) && r->peaks.saturation > 0.0)
        r->peaks.saturation = sat;
}

static km_status alloc_buffers(km_ctx *ctx, run *r, const km_process_params *p, int smoothing)
{
    size_t rc = (size_t)r->info.rows * (size_t)r->info.cols, bytes;
    int64_t nb = p->block_frames;
    if ((size_t)nb > MAX_BLOCK_VALUES / rc)
        nb = (int64_t)(MAX_BLOCK_VALUES / rc);
    if (nb < 1)
        nb = 1;
    if (km_process_check_memory(ctx, r->info.rows, r->info.cols, nb, &p->read) != KM_OK)
        return km_ctx_last_status(ctx);
    r->nb = nb;
    if (!km_size_mul((size_t)nb * rc, sizeof(float), &bytes))
        return km_fail(ctx, KM_ERR_LIMIT, "block too large");
    r->block = km_alloc(ctx, bytes);
    r->times = km_alloc(ctx, (size_t)nb * sizeof *r->times);
    r->metrics = km_alloc(ctx, (size_t)nb * sizeof *r->metrics);
    r->pk_cap = rc < PEAKS_START ? rc : PEAKS_START;
    r->fpk_off = km_alloc(ctx, (size_t)nb * sizeof *r->fpk_off);
    r->fpk_n = km_alloc(ctx, (size_t)nb * sizeof *r->fpk_n);
    r->fpk_w = km_alloc(ctx, (size_t)nb * sizeof *r->fpk_w);
    r->odo_s = km_alloc(ctx, (size_t)nb * sizeof *r->odo_s);
    r->fid_off = km_alloc(ctx, (size_t)(nb + 1) * sizeof *r->fid_off);
    r->ftr_end = km_alloc(ctx, (size_t)nb * sizeof *r->ftr_end);
    r->pk_y = km_alloc(ctx, r->pk_cap * sizeof *r->pk_y);
    r->pk_x = km_alloc(ctx, r->pk_cap * sizeof *r->pk_x);
    r->pk_v = km_alloc(ctx, r->pk_cap * sizeof *r->pk_v);
    r->pk_id = km_alloc(ctx, r->pk_cap * sizeof *r->pk_id);
    r->max_map = km_alloc(ctx, rc * sizeof *r->max_map);
    r->sum_map = km_calloc(ctx, rc, sizeof *r->sum_map);
    r->cnt_map = km_calloc(ctx, rc, sizeof *r->cnt_map);
    if (smoothing)
        r->smooth_tmp = km_alloc(ctx, rc * sizeof *r->smooth_tmp);
    if (r->pk_y == NULL || r->pk_x == NULL || r->pk_v == NULL || r->pk_id == NULL ||
        r->fpk_off == NULL || r->fpk_n == NULL || r->fpk_w == NULL || r->odo_s == NULL ||
        r->fid_off == NULL || r->ftr_end == NULL)
        return KM_ERR_NOMEM;
    if (r->block == NULL || r->times == NULL || r->metrics == NULL ||
        r->max_map == NULL || r->sum_map == NULL || r->cnt_map == NULL ||
        (smoothing && r->smooth_tmp == NULL))
        return KM_ERR_NOMEM;
    /* -inf: any finite value replaces it, so the update needs no count test. */
    for (size_t k = 0; k < rc; k++)
        r->max_map[k] = -INFINITY;
    return KM_OK;
}

/* Peaks of one frame appended to the worker's buffer, growing it when a
 * block has more peaks than ever before (amortised: not a per-frame
 * allocation). */
static km_status frame_peaks(worker *w, const km_frame *fr, size_t *n)
{
    for (;;) {
        km_status st = km_detector_apply(w->ctx, w->det, fr, w->mask, w->pk + w->used,
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

/* The per-frame stage of frames [w->i0, w->i1): metrics, then peaks unless
 * the frame is corrupt (held at the last good frame: no peaks). */
static km_status frame_stage(worker *w, int64_t i)
{
    run *r = w->r;
    int32_t rows = r->info.rows, cols = r->info.cols;
    size_t rc = (size_t)rows * (size_t)cols;
    km_status st;
    {
        km_frame fr = {r->block + (size_t)i * rc, rows, cols, cols};
        km_metrics *m = &r->metrics[i];
        st = km_frame_metrics(w->ctx, &fr, w->mask, r->info.row_pitch_mm, r->info.col_pitch_mm,
                              r->physical ? 1.0 : NAN, w->p->contact_threshold,
                              r->info.saturation, m);
        if (st != KM_OK)
            return st;
        m->flags |= r->cflags[i];
        if (r->roller)
            km_odometry_row_medians(r->odo, &fr, w->mask, w->oscratch,
                                    r->odo_rows + (size_t)i * (size_t)rows);
        size_t np = 0;
        if ((m->flags & KM_FRAME_CORRUPT) == 0 && (st = frame_peaks(w, &fr, &np)) != KM_OK)
            return st;
        r->fpk_off[i] = w->used;
        r->fpk_n[i] = np;
        r->fpk_w[i] = (int)(w - r->wk);
        w->used += np;
    }
    return KM_OK;
}

/* Take GRAB frames at a time until the block is done: a thread slowed by
 * the machine or the read-ahead takes fewer, and which thread computed a
 * frame does not change its result. */
static void *read_ahead(void *arg);

static void *worker_run(void *arg)
{
    worker *w = arg;
    run *r = w->r;
    if (w->read_first)
        read_ahead(r);
    w->used = 0;
    w->st = KM_OK;
    w->fail_at = INT64_MAX;
    for (;;) {
        int64_t i0 = (int64_t)atomic_fetch_add(&r->next, GRAB);
        if (i0 >= r->n_block)
            break;
        int64_t i1 = i0 + GRAB < r->n_block ? i0 + GRAB : r->n_block;
        for (int64_t i = i0; i < i1; i++) {
            km_status st = frame_stage(w, i);
            if (st != KM_OK) {
                w->st = st;
                w->fail_at = i;
                /* Stop everyone: later frames will not be used. */
                atomic_store(&r->next, (long long)r->n_block);
                return NULL;
            }
        }
    }
    return NULL;
}

/* Metrics and peaks of the block's n frames on r->nw threads: contiguous
 * shares, each frame computed alone, so the result does not depend on the
 * thread count.  A thread that cannot start leaves its share to this one. */
static km_status per_frame_stage(km_ctx *ctx, run *r, const km_process_params *p,
                                 const km_mask *mask, int64_t n)
{
    pthread_t tid[MAX_THREADS];
    int started[MAX_THREADS];
    int64_t nt = (n + GRAB - 1) / GRAB;
    int nw = (int64_t)r->nw < nt ? r->nw : (int)nt;
    km_status st = KM_OK;
    if (nw < 1)
        nw = 1;
    atomic_store(&r->next, 0);
    r->n_block = n;
    for (int k = 0; k < nw; k++) {
        worker *w = &r->wk[k];
        w->r = r;
        w->p = p;
        w->mask = mask;
        /* The second thread reads the next block first, then helps: the
           read overlaps the per-frame work without a third thread. */
        w->read_first = k == 1 && r->ahead_wanted && !r->ahead_started;
        if (w->read_first) {
            r->ahead_started = 1;
            if (r->tr_sync) {
                pthread_mutex_lock(&r->tr_mu);
                r->reading = 1;
                pthread_mutex_unlock(&r->tr_mu);
            }
        }
        started[k] = 0;
    }
    for (int k = 1; k < nw; k++)
        started[k] = pthread_create(&tid[k], NULL, worker_run, &r->wk[k]) == 0;
    worker_run(&r->wk[0]);
    for (int k = 1; k < nw; k++) {
        if (started[k])
            pthread_join(tid[k], NULL);
        else
            worker_run(&r->wk[k]);
        r->wk[k].read_first = 0;
    }
    /* The failure at the earliest frame reports, as one thread would. */
    int bad = -1;
    for (int k = 0; k < nw; k++)
        if (r->wk[k].st != KM_OK && (bad < 0 || r->wk[k].fail_at < r->wk[bad].fail_at))
            bad = k;
    if (bad >= 0) {
        st = r->wk[bad].st;
        if (r->wk[bad].ctx != ctx)
            st = km_fail(ctx, st, "%s", km_ctx_last_error(r->wk[bad].ctx));
    }
    return st;
}

/* Room for np peaks in the tracking buffers. */
static km_status track_room(km_ctx *ctx, run *r, size_t np)
{
    if (np <= r->pk_cap)
        return KM_OK;
    size_t cap = np > r->pk_cap * 2 ? np : r->pk_cap * 2;
    double *ny = km_alloc(ctx, cap * sizeof *ny), *nx = km_alloc(ctx, cap * sizeof *nx);
    float *nv = km_alloc(ctx, cap * sizeof *nv);
    int32_t *ni = km_alloc(ctx, cap * sizeof *ni);
    if (ny == NULL || nx == NULL || nv == NULL || ni == NULL) {
        km_free(ctx, ny);
        km_free(ctx, nx);
        km_free(ctx, nv);
        km_free(ctx, ni);
        return KM_ERR_NOMEM;
    }
    km_free(ctx, r->pk_y);
    km_free(ctx, r->pk_x);
    km_free(ctx, r->pk_v);
    km_free(ctx, r->pk_id);
    r->pk_y = ny;
    r->pk_x = nx;
    r->pk_v = nv;
    r->pk_id = ni;
    r->pk_cap = cap;
    return KM_OK;
}

/* Ended tracks to /tracks, through a small fixed buffer. */
static km_status drain_tracks(km_ctx *ctx, run *r)
{
    km_track buf[64];
    size_t n;
    while ((n = km_tracker_pop(r->tracker, buf, sizeof buf / sizeof buf[0])) > 0) {
        km_status st = km_result_writer_append_tracks(ctx, r->writer, buf, n);
        if (st != KM_OK)
            return st;
    }
    return KM_OK;
}

/* Body positions of the frame's peaks (DESIGN 6: mat = grid mm; roller =
 * odometry y of the contact line + the row offset wrapped to half a turn),
 * then link them (ids: np track ids out). */
static km_status track_peaks(km_ctx *ctx, run *r, int64_t frame_no, const km_odometry_sample *odo,
                             const km_peak *pks, size_t np, int32_t *ids)
{
    double rp = r->info.row_pitch_mm, cp = r->info.col_pitch_mm, rows = r->info.rows;
    km_status st = track_room(ctx, r, np);
    if (st != KM_OK)
        return st;
    for (size_t i = 0; i < np; i++) {
        const km_peak *pk = &pks[i];
        double y = pk->y * rp;
        if (r->roller) {
            double d = fmod(pk->y - odo->contact_row, rows);
            if (d < -rows / 2)
                d += rows;
            else if (d >= rows / 2)
                d -= rows;
            y = odo->y_mm + d * rp;
        }
        r->pk_y[i] = y;
        r->pk_x[i] = pk->x * cp;
        r->pk_v[i] = pk->value;
    }
    return km_tracker_update(ctx, r->tracker, frame_no, r->pk_y, r->pk_x, r->pk_v, np, ids);
}

/* Odometry of the block's frames, in order (its row medians are known). */
static km_status advance_odometry(km_ctx *ctx, run *r, int64_t n)
{
    size_t rows = (size_t)r->info.rows;
    memset(r->odo_s, 0, (size_t)n * sizeof *r->odo_s);
    for (int64_t i = 0; r->roller && i < n; i++) {
        km_status st = km_odometry_advance(ctx, r->odo, r->odo_rows + (size_t)i * rows, &r->odo_s[i]);
        if (st != KM_OK)
            return st;
    }
    return KM_OK;
}

/* Per-taxel maximum, sum and count of one frame, branch-free so that it
 * vectorises: a masked (NaN) or infinite value adds and counts nothing. */
static void taxel_maps(run *r, const float *f, size_t rc)
{
    float *mx = r->max_map;
    double *sum = r->sum_map;
    int64_t *cnt = r->cnt_map;
    for (size_t k = 0; k < rc; k++) {
        float v = f[k];
        int ok = isfinite(v);
        mx[k] = ok && v > mx[k] ? v : mx[k];
        sum[k] += ok ? (double)v : 0.0;
        cnt[k] += ok;
    }
}

/* Body map, candidate map and per-taxel maps of the block's frames, in
 * order: state of their own, so with several threads they run beside the
 * writing. */
static void *maps_run(void *arg)
{
    run *r = arg;
    km_ctx *ctx = r->wk[0].ctx;
    int32_t rows = r->info.rows, cols = r->info.cols;
    size_t rc = (size_t)rows * (size_t)cols;
    km_mask mask = {km_conditioner_mask(r->cond), rows, cols, cols};
    km_status st = KM_OK;
    for (int64_t i = 0; i < r->side_n && st == KM_OK; i++) {
        km_frame fr = {r->block + (size_t)i * rc, rows, cols, cols};
        st = km_bodymap_add(ctx, r->bmap, &fr, &mask, &r->odo_s[i]);
        if (st == KM_OK && !r->cand_apart)
            st = km_candidates_add(ctx, r->cand, &fr, &mask, &r->odo_s[i], r->times[i]);
        taxel_maps(r, fr.data, rc);
    }
    r->side_st = st;
    return NULL;
}

/* The candidate map of a block's frames, in order, on its own thread and
 * ctx: it goes on while the next block is computed, from the buffers the
 * block keeps until then. */
static void *cand_run(void *arg)
{
    run *r = arg;
    km_ctx *ctx = r->cctx;
    int32_t rows = r->info.rows, cols = r->info.cols;
    size_t rc = (size_t)rows * (size_t)cols;
    km_mask mask = {km_conditioner_mask(r->cond), rows, cols, cols};
    km_status st = KM_OK;
    for (int64_t i = 0; i < r->c_n && st == KM_OK; i++) {
        km_frame fr = {r->c_block + (size_t)i * rc, rows, cols, cols};
        st = km_candidates_add(ctx, r->cand, &fr, &mask, &r->c_odo[i], r->c_times[i]);
    }
    r->cand_st = st;
    return NULL;
}

/* Wait for the block whose candidates are being added; its status. */
static km_status join_cand(km_ctx *ctx, run *r)
{
    if (!r->c_active)
        return KM_OK;
    pthread_join(r->c_tid, NULL);
    r->c_active = 0;
    if (r->cand_st != KM_OK)
        return km_fail(ctx, r->cand_st, "%s", km_ctx_last_error(r->cctx));
    return KM_OK;
}

/* The frame's share of the summary: corrupt frames, peak count, top peaks. */
static void account_frame(run *r, int64_t index_in_block, const km_peak *pks, size_t np)
{
    int64_t frame_no = r->frames_done + index_in_block;
    double t = r->times[index_in_block];
    if (r->metrics[index_in_block].flags & KM_FRAME_CORRUPT)
        r->n_corrupt++;
    r->n_peaks += (int64_t)np;
    for (size_t i = 0; i < np; i++) {
        const km_peak *pk = &pks[i];
        top_entry c = {frame_no, t, pk->row, pk->col, pk->y * r->info.row_pitch_mm,
                       pk->x * r->info.col_pitch_mm, pk->value, pk->prominence};
        if (r->n_top == KM_SUMMARY_TOP && !(pk->value > r->top[KM_SUMMARY_TOP - 1].value))
            break; /* peaks come in value order: no later one can enter */
        top_offer(r, &c, r->peaks.min_distance > 1 ? r->peaks.min_distance : 1);
    }
}

static const km_peak *frame_peaks_of(const run *r, int64_t i, size_t *np)
{
    *np = r->fpk_n[i];
    return r->wk[r->fpk_w[i]].pk + r->fpk_off[i];
}

/* The sequential stage of one frame (its metrics, peaks and odometry are
 * known): tracks, the peak table and the summary. */
static km_status process_frame(km_ctx *ctx, run *r, int64_t index_in_block)
{
    km_status st = KM_OK;
    int64_t frame_no = r->frames_done + index_in_block;
    double t = r->times[index_in_block];
    size_t np;
    const km_peak *pks = frame_peaks_of(r, index_in_block, &np);
    if ((st = track_peaks(ctx, r, frame_no, &r->odo_s[index_in_block], pks, np, r->pk_id)) !=
            KM_OK ||
        (st = drain_tracks(ctx, r)) != KM_OK)
        return st;
    st = km_result_writer_append_peaks_tracked(ctx, r->writer, frame_no, t, pks, r->pk_id, np);
    if (st != KM_OK)
        return st;
    account_frame(r, index_in_block, pks, np);
    return KM_OK;
}

/* Tracks ended so far into the block's track buffer.  A full buffer is
 * replaced by a larger copy, the old one kept until the block ends: the
 * writing thread may still be reading it. */
static km_status collect_tracks(km_ctx *ctx, run *r)
{
    for (;;) {
        km_track *buf = atomic_load(&r->tr_buf);
        if (r->tr_n == r->tr_cap) {
            if (r->n_tr_old == (int)(sizeof r->tr_old / sizeof r->tr_old[0]))
                return km_fail(ctx, KM_ERR_LIMIT, "too many tracks ended in one block");
            size_t cap = r->tr_cap < 64 ? 64 : 2 * r->tr_cap;
            km_track *nbuf = km_alloc(ctx, cap * sizeof *nbuf);
            if (nbuf == NULL)
                return KM_ERR_NOMEM;
            if (r->tr_n > 0)
                memcpy(nbuf, buf, r->tr_n * sizeof *nbuf);
            if (buf != NULL)
                r->tr_old[r->n_tr_old++] = buf;
            atomic_store(&r->tr_buf, nbuf);
            r->tr_cap = cap;
            buf = nbuf;
        }
        size_t n = km_tracker_pop(r->tracker, buf + r->tr_n, r->tr_cap - r->tr_n);
        if (n == 0)
            return KM_OK;
        r->tr_n += n;
    }
}

/* HDF5 runs one call at a time (one global lock): the writing thread
 * waits for the read-ahead, whose block the next stage needs, rather than
 * hold it up with a table flush. */
static void io_wait(run *r)
{
    pthread_mutex_lock(&r->tr_mu);
    while (r->reading)
        pthread_cond_wait(&r->io_cv, &r->tr_mu);
    pthread_mutex_unlock(&r->tr_mu);
}

/* The writing thread: the ended tracks and peak table of each frame of the
 * job once the tracking has reached it, in frame order and in the calls one
 * thread makes (tracks in runs of 64, then the frame's peaks), then the
 * block's frame table.  The writer is used by this thread alone until
 * joined. */
static void *write_block(void *arg)
{
    run *r = arg;
    const wjob *j = &r->job;
    km_ctx *ctx = r->wctx;
    km_status st = KM_OK;
    for (int64_t i = 0; i < j->n && st == KM_OK; i++) {
        long long done = atomic_load(&r->tracked);
        if (done <= i && done >= 0) {
            /* Sleep, not spin: the other threads need both cores. */
            pthread_mutex_lock(&r->tr_mu);
            while ((done = atomic_load(&r->tracked)) <= i && done >= 0)
                pthread_cond_wait(&r->tr_cv, &r->tr_mu);
            pthread_mutex_unlock(&r->tr_mu);
        }
        if (done < 0)
            break; /* tracking failed: the tracking thread reports it */
        const km_track *tb = atomic_load(&r->tr_buf);
        for (size_t k = i > 0 ? r->ftr_end[i - 1] : 0; k < r->ftr_end[i] && st == KM_OK; k += 64) {
            size_t m = r->ftr_end[i] - k < 64 ? r->ftr_end[i] - k : 64;
            io_wait(r);
            st = km_result_writer_append_tracks(ctx, r->writer, tb + k, m);
        }
        const km_peak *pks = j->pk[j->fpk_w[i]] + j->fpk_off[i];
        io_wait(r);
        if (st == KM_OK)
            st = km_result_writer_append_peaks_tracked(ctx, r->writer, j->first_frame + i,
                                                       j->times[i], pks,
                                                       r->blk_id + r->fid_off[i], j->fpk_n[i]);
    }
    io_wait(r);
    if (st == KM_OK && atomic_load(&r->tracked) >= 0)
        st = km_result_writer_append_frames(ctx, r->writer, j->times, j->metrics, j->frames, j->n);
    r->w_st = st;
    return NULL;
}

/* Frames tracked so far (-1: failed), waking the writing thread. */
static void publish_tracked(run *r, long long v)
{
    pthread_mutex_lock(&r->tr_mu);
    atomic_store(&r->tracked, v);
    pthread_cond_signal(&r->tr_cv);
    pthread_mutex_unlock(&r->tr_mu);
}

/* Wait for the block being written; its status. */
static km_status join_writer(km_ctx *ctx, run *r)
{
    if (!r->w_active)
        return KM_OK;
    pthread_join(r->w_tid, NULL);
    r->w_active = 0;
    for (int k = 0; k < r->n_tr_old; k++)
        km_free(ctx, r->tr_old[k]);
    r->n_tr_old = 0;
    if (r->w_st != KM_OK)
        return km_fail(ctx, r->w_st, "%s", km_ctx_last_error(r->wctx));
    return KM_OK;
}

/* The sequential stage of the block's n frames with two or more threads:
 * this thread tracks (and keeps the summary), then feeds the body map,
 * candidate map and per-taxel maps; a writing thread writes what the
 * tracking produced and the frame table, and goes on while the next block
 * is computed (joined before the next block's tracking or the end).  Each
 * object sees its frames in order and the writer gets the one-thread
 * sequence of calls, so the result is the one thread's.  The block's
 * buffers are then swapped with the spare set, which the next block
 * fills while this one is written. */
static km_status sequential_stage_threads(km_ctx *ctx, run *r, const km_process_params *p,
                                          int64_t n)
{
    size_t total = 0;
    km_status st = join_writer(ctx, r);
    if (st == KM_OK)
        st = join_cand(ctx, r);
    if (st != KM_OK)
        return st;
    for (int64_t i = 0; i < n; i++) {
        r->fid_off[i] = total;
        total += r->fpk_n[i];
    }
    r->fid_off[n] = total;
    if (total > r->blk_id_cap) {
        size_t cap = total > 2 * r->blk_id_cap ? total : 2 * r->blk_id_cap;
        int32_t *ids = km_alloc(ctx, cap * sizeof *ids);
        if (ids == NULL)
            return KM_ERR_NOMEM;
        km_free(ctx, r->blk_id);
        r->blk_id = ids;
        r->blk_id_cap = cap;
    }
    r->tr_n = 0;
    atomic_store(&r->tracked, 0);
    wjob *j = &r->job;
    j->times = r->times;
    j->metrics = r->metrics;
    j->frames = p->save_frames ? r->block : NULL;
    j->fpk_off = r->fpk_off;
    j->fpk_n = r->fpk_n;
    j->fpk_w = r->fpk_w;
    for (int k = 0; k < r->nw; k++)
        j->pk[k] = r->wk[k].pk;
    j->n = n;
    j->first_frame = r->frames_done;
    r->w_st = KM_OK;
    r->w_active = pthread_create(&r->w_tid, NULL, write_block, r) == 0;
    /* The candidate map, the longest of the maps, beside the tracking. */
    r->side_n = n;
    r->cand_st = KM_OK;
    r->c_block = r->block;
    r->c_odo = r->odo_s;
    r->c_times = r->times;
    r->c_n = n;
    r->c_active = r->cand_apart = pthread_create(&r->c_tid, NULL, cand_run, r) == 0;

    for (int64_t i = 0; i < n && st == KM_OK; i++) {
        size_t np;
        const km_peak *pks = frame_peaks_of(r, i, &np);
        st = track_peaks(ctx, r, r->frames_done + i, &r->odo_s[i], pks, np,
                         r->blk_id + r->fid_off[i]);
        if (st == KM_OK)
            st = collect_tracks(ctx, r);
        if (st != KM_OK)
            break;
        r->ftr_end[i] = r->tr_n;
        account_frame(r, i, pks, np);
        /* Wake the writer every GRAB frames (and at the end). */
        if ((i + 1) % GRAB == 0 || i + 1 == n)
            publish_tracked(r, i + 1);
        else
            atomic_store(&r->tracked, (long long)(i + 1));
    }
    if (st != KM_OK)
        publish_tracked(r, -1);
    if (!r->w_active) {
        /* No writing thread: write now, as one thread would have. */
        write_block(r);
        if (st == KM_OK && r->w_st != KM_OK)
            st = km_fail(ctx, r->w_st, "%s", km_ctx_last_error(r->wctx));
    }
    if (st == KM_OK) {
        r->side_st = KM_OK;
        maps_run(r);
        st = r->side_st;
    }
    r->cand_apart = 0;
    km_status wst = KM_OK, cst = KM_OK;
    if (p->save_frames || st != KM_OK)
        wst = join_writer(ctx, r);
    if (st != KM_OK)
        cst = join_cand(ctx, r);
    if (st == KM_OK)
        st = wst != KM_OK ? wst : cst;
    if (st != KM_OK)
        return st;
    /* The written block keeps its buffers; the next one takes the spares. */
#define SWAP(T, a, b) do { T t_ = (a); (a) = (b); (b) = t_; } while (0)
    SWAP(double *, r->times, r->times_b);
    SWAP(float *, r->block, r->block_b);
    SWAP(km_odometry_sample *, r->odo_s, r->odo_s_b);
    SWAP(km_metrics *, r->metrics, r->metrics_b);
    SWAP(size_t *, r->fpk_off, r->fpk_off_b);
    SWAP(size_t *, r->fpk_n, r->fpk_n_b);
    SWAP(int *, r->fpk_w, r->fpk_w_b);
    for (int k = 0; k < r->nw; k++) {
        SWAP(km_peak *, r->wk[k].pk, r->wk[k].pk_b);
        SWAP(size_t, r->wk[k].cap, r->wk[k].cap_b);
    }
#undef SWAP
    return KM_OK;
}

/* The next block into the read-ahead buffer, on its own thread and ctx:
 * it runs while the previous block is processed. */
static void *read_ahead(void *arg)
{
    run *r = arg;
    r->r_n = 0;
    r->r_st = km_reader_read(r->rctx, r->reader, r->rbuf, r->rtimes, r->nb, &r->r_n);
    if (r->tr_sync) {
        pthread_mutex_lock(&r->tr_mu);
        r->reading = 0;
        pthread_cond_broadcast(&r->io_cv);
        pthread_mutex_unlock(&r->tr_mu);
    }
    return NULL;
}

/* Process the conditioned frames that are ready, a block at a time.  The
 * conditioner copied its input, so r->block and r->times are free. */
static km_status drain_conditioned(km_ctx *ctx, run *r, const km_process_params *p)
{
    km_mask mask = {km_conditioner_mask(r->cond), r->info.rows, r->info.cols, r->info.cols};
    for (;;) {
        int64_t n = 0;
        km_conditioner_pull(r->cond, r->block, r->times, r->cflags, r->nb, &n);
        if (n == 0)
            return KM_OK;
        km_status st = per_frame_stage(ctx, r, p, &mask, n);
        if (st == KM_OK)
            st = advance_odometry(ctx, r, n);
        if (st != KM_OK)
            return st;
        if (r->nw > 1) {
            /* Writes this block's tables on another thread. */
            if ((st = sequential_stage_threads(ctx, r, p, n)) != KM_OK)
                return st;
            r->frames_done += n;
            continue;
        } else {
            r->side_n = n;
            r->side_st = KM_OK;
            maps_run(r);
            for (int64_t i = 0; i < n && st == KM_OK; i++)
                st = process_frame(ctx, r, i);
            if (st == KM_OK)
                st = r->side_st;
        }
        if (st != KM_OK)
            return st;
        st = km_result_writer_append_frames(ctx, r->writer, r->times, r->metrics,
                                                      p->save_frames ? r->block : NULL, n);
        if (st != KM_OK)
            return st;
        r->frames_done += n;
    }
}

static km_status stream(km_ctx *ctx, run *r, const km_process_params *p, const char *input)
{
    int64_t total = r->info.n_frames, n_in = 0;
    km_status st;
    /* One thread: read into the block itself (the conditioner copies it). */
    float *in = r->rbuf != NULL ? r->rbuf : r->block;
    double *in_t = r->rbuf != NULL ? r->rtimes : r->times;
    int ahead = 0; /* the read-ahead thread holds the next block */

    for (;;) {
        int64_t n = 0;
        if (km_ctx_cancelled(ctx))
            return km_fail(ctx, KM_ERR_CANCELLED, "%s: cancelled", input);
        if (ahead) {
            n = r->r_n;
            st = r->r_st;
            if (st != KM_OK)
                return km_fail(ctx, st, "%s", km_ctx_last_error(r->rctx));
        } else {
            st = km_reader_read(ctx, r->reader, in, in_t, r->nb, &n);
            if (st != KM_OK)
                return st;
        }
        if (n == 0)
            break;
        if ((st = km_conditioner_push(ctx, r->cond, in, in_t, n)) != KM_OK)
            return st;
        r->ahead_wanted = r->rbuf != NULL;
        r->ahead_started = 0;
        st = drain_conditioned(ctx, r, p);
        /* No frame came out (held back by the conditioner), or too few
           for a second thread: read in turn. */
        ahead = r->ahead_started;
        r->ahead_wanted = 0;
        r->ahead_started = 0;
        if (st != KM_OK)
            return st;
        n_in += n;
        /* Progress counts frames read: conditioning may hold some back. */
        if (p->progress != NULL && p->progress(p->progress_user, n_in, total) != 0)
            return km_fail(ctx, KM_ERR_CANCELLED, "%s: cancelled", input);
    }
    if ((st = km_conditioner_finish(ctx, r->cond)) != KM_OK ||
        (st = drain_conditioned(ctx, r, p)) != KM_OK)
        return st;
    if ((st = km_result_writer_param_i64(ctx, r->writer, "bad_taxels",
                                         km_conditioner_n_bad(r->cond))) != KM_OK)
        return st;
    if (km_ctx_cancelled(ctx))
        return km_fail(ctx, KM_ERR_CANCELLED, "%s: cancelled", input);
    return KM_OK;
}

/* The whole-session body map and candidates: computed once at the end,
 * so the buffers here are the only allocation after the stream. */
static km_status write_bodymap_and_candidates(km_ctx *ctx, run *r)
{
    km_status st = KM_OK;
    km_result_bodymap b;
    float *bmax = NULL, *bmean = NULL, *excess = NULL;
    int32_t *cov = NULL;
    km_candidate *cand = NULL;
    size_t cells, nc = 0;
    int32_t cny, cnx;

    memset(&b, 0, sizeof b);
    b.mode = r->roller ? KM_MODE_ROLLER : KM_MODE_MAT;
    km_bodymap_shape(r->bmap, &b.ny, &b.nx, &b.y0_mm, &b.y_pitch_mm, &b.x_pitch_mm);
    km_candidates_shape(r->cand, &cny, &cnx, NULL);
    if (cny != b.ny || cnx != b.nx) {
        st = km_fail(ctx, KM_ERR_INTERNAL, "candidate map %dx%d differs from the body map %dx%d",
                     (int)cny, (int)cnx, (int)b.ny, (int)b.nx);
        goto done;
    }
    cells = (size_t)b.ny * (size_t)b.nx;
    r->bm_ny = b.ny;
    r->bm_nx = b.nx;
    if (cells > 0) {
        bmax = km_alloc(ctx, cells * sizeof *bmax);
        bmean = km_alloc(ctx, cells * sizeof *bmean);
        excess = km_alloc(ctx, cells * sizeof *excess);
        cov = km_alloc(ctx, cells * sizeof *cov);
        cand = km_alloc(ctx, cells * sizeof *cand);
        if (bmax == NULL || bmean == NULL || excess == NULL || cov == NULL || cand == NULL) {
            st = KM_ERR_NOMEM;
            goto done;
        }
        if ((st = km_bodymap_get(ctx, r->bmap, bmax, bmean, cov, cells, NULL)) != KM_OK ||
            (st = km_candidates_map(ctx, r->cand, excess, cells, NULL)) != KM_OK ||
            (st = km_candidates_get(ctx, r->cand, cand, cells, &nc)) != KM_OK)
            goto done;
    }
    b.max = bmax;
    b.mean = bmean;
    b.coverage = cov;
    b.excess = excess;
    if ((st = km_result_writer_set_bodymap(ctx, r->writer, &b)) != KM_OK ||
        (st = km_result_writer_set_candidates(ctx, r->writer, cand, nc)) != KM_OK)
        goto done;
    r->n_candidates = (int64_t)nc;
    r->n_cand = nc < KM_SUMMARY_TOP ? (int)nc : KM_SUMMARY_TOP;
    for (int i = 0; i < r->n_cand; i++)
        r->best[i] = cand[i];
done:
    km_free(ctx, bmax);
    km_free(ctx, bmean);
    km_free(ctx, excess);
    km_free(ctx, cov);
    km_free(ctx, cand);
    return st;
}

static km_status finish(km_ctx *ctx, run *r)
{
    size_t rc = (size_t)r->info.rows * (size_t)r->info.cols;
    /* The sum map is reused as float storage for the mean: half its bytes
       suffice, and it is not needed afterwards. */
    float *mean = (float *)(void *)r->sum_map;
    for (size_t k = 0; k < rc; k++) {
        if (r->cnt_map[k] == 0) {
            r->max_map[k] = NAN;
            mean[k] = NAN;
        } else {
            mean[k] = (float)(r->sum_map[k] / (double)r->cnt_map[k]);
        }
    }
    km_status st = km_result_writer_set_maps(ctx, r->writer, r->max_map, mean);
    if (st == KM_OK)
        st = km_tracker_finish(ctx, r->tracker);
    if (st == KM_OK)
        st = drain_tracks(ctx, r);
    if (st == KM_OK)
        st = write_bodymap_and_candidates(ctx, r);
    if (st == KM_OK)
        st = km_result_writer_commit(ctx, r->writer);
    return st;
}

static void fill_summary(const run *r, km_process_summary *s)
{
    s->info = r->info;
    s->info.n_frames = r->frames_done;
    s->n_frames = r->frames_done;
    s->n_peaks = r->n_peaks;
    s->n_corrupt_frames = r->n_corrupt;
    s->n_top = r->n_top;
    for (int i = 0; i < r->n_top; i++) {
        s->top[i].frame = r->top[i].frame;
        s->top[i].time = r->top[i].time;
        s->top[i].row = r->top[i].row;
        s->top[i].col = r->top[i].col;
        s->top[i].y_mm = r->top[i].y_mm;
        s->top[i].x_mm = r->top[i].x_mm;
        s->top[i].value = r->top[i].value;
        s->top[i].prominence = r->top[i].prominence;
    }
    s->n_tracks = km_tracker_count(r->tracker);
    s->n_candidates = r->n_candidates;
    s->n_cand = r->n_cand;
    for (int i = 0; i < r->n_cand; i++)
        s->cand[i] = r->best[i];
    s->bodymap_ny = r->bm_ny;
    s->bodymap_nx = r->bm_nx;
}

/* A detector and a peak buffer per thread; threads past the first get
 * their own ctx (one per thread), with the caller's allocator. */
static km_status create_workers(km_ctx *ctx, run *r, const km_process_params *p)
{
    km_status st;
    size_t rc = (size_t)r->info.rows * (size_t)r->info.cols;
    int nw = p->n_threads < 1 ? 1 : p->n_threads > MAX_THREADS ? MAX_THREADS : p->n_threads;
    km_alloc_ref ref = km_ctx_alloc_ref(ctx);
    for (int k = 0; k < nw; k++) {
        worker *w = &r->wk[k];
        r->nw = k + 1; /* what free_workers must release */
        if (k == 0)
            w->ctx = ctx;
        else if ((st = km_ctx_create_with(&ref.a, &w->ctx)) != KM_OK)
            return km_fail(ctx, st, "cannot create a context for thread %d", k + 1);
        if ((st = km_detector_create(ctx, r->info.rows, r->info.cols, &r->peaks, &w->det)) !=
            KM_OK)
            return st;
        w->cap = rc < PEAKS_START ? rc : PEAKS_START;
        w->pk = km_alloc(ctx, w->cap * sizeof *w->pk);
        if (nw > 1) {
            w->cap_b = w->cap;
            if ((w->pk_b = km_alloc(ctx, w->cap_b * sizeof *w->pk_b)) == NULL)
                return KM_ERR_NOMEM;
        }
        w->oscratch = km_alloc(ctx, (size_t)r->info.cols * sizeof *w->oscratch);
        if (w->pk == NULL || w->oscratch == NULL)
            return KM_ERR_NOMEM;
    }
    if (nw > 1) {
        if ((st = km_ctx_create_with(&ref.a, &r->rctx)) != KM_OK)
            return km_fail(ctx, st, "cannot create a context for the reading thread");
        if ((st = km_ctx_create_with(&ref.a, &r->wctx)) != KM_OK)
            return km_fail(ctx, st, "cannot create a context for the writing thread");
        if ((st = km_ctx_create_with(&ref.a, &r->cctx)) != KM_OK)
            return km_fail(ctx, st, "cannot create a context for the candidate thread");
        if (pthread_mutex_init(&r->tr_mu, NULL) != 0)
            return km_fail(ctx, KM_ERR_NOMEM, "cannot create a mutex");
        if (pthread_cond_init(&r->tr_cv, NULL) != 0) {
            pthread_mutex_destroy(&r->tr_mu);
            return km_fail(ctx, KM_ERR_NOMEM, "cannot create a condition variable");
        }
        if (pthread_cond_init(&r->io_cv, NULL) != 0) {
            pthread_cond_destroy(&r->tr_cv);
            pthread_mutex_destroy(&r->tr_mu);
            return km_fail(ctx, KM_ERR_NOMEM, "cannot create a condition variable");
        }
        r->tr_sync = 1;
        size_t nb = (size_t)r->nb;
        r->times_b = km_alloc(ctx, nb * sizeof *r->times_b);
        r->block_b = km_alloc(ctx, nb * rc * sizeof *r->block_b);
        r->odo_s_b = km_alloc(ctx, nb * sizeof *r->odo_s_b);
        r->metrics_b = km_alloc(ctx, nb * sizeof *r->metrics_b);
        r->fpk_off_b = km_alloc(ctx, nb * sizeof *r->fpk_off_b);
        r->fpk_n_b = km_alloc(ctx, nb * sizeof *r->fpk_n_b);
        r->fpk_w_b = km_alloc(ctx, nb * sizeof *r->fpk_w_b);
        if (r->times_b == NULL || r->block_b == NULL || r->odo_s_b == NULL ||
            r->metrics_b == NULL || r->fpk_off_b == NULL ||
            r->fpk_n_b == NULL || r->fpk_w_b == NULL)
            return KM_ERR_NOMEM;
        r->rbuf = km_alloc(ctx, (size_t)r->nb * rc * sizeof *r->rbuf);
        r->rtimes = km_alloc(ctx, (size_t)r->nb * sizeof *r->rtimes);
        if (r->rbuf == NULL || r->rtimes == NULL)
            return KM_ERR_NOMEM;
    }
    return KM_OK;
}

static void free_workers(km_ctx *ctx, run *r)
{
    for (int k = 0; k < r->nw; k++) {
        worker *w = &r->wk[k];
        km_detector_free(w->det);
        km_free(ctx, w->pk);
        km_free(ctx, w->pk_b);
        km_free(ctx, w->oscratch);
        if (w->ctx != ctx)
            km_ctx_free(w->ctx);
    }
    r->nw = 0;
    km_ctx_free(r->rctx);
    km_ctx_free(r->wctx);
    km_ctx_free(r->cctx);
    km_free(ctx, r->block_b);
    km_free(ctx, r->odo_s_b);
    if (r->tr_sync) {
        pthread_cond_destroy(&r->tr_cv);
        pthread_cond_destroy(&r->io_cv);
        pthread_mutex_destroy(&r->tr_mu);
        r->tr_sync = 0;
    }
    km_free(ctx, r->times_b);
    km_free(ctx, r->metrics_b);
    km_free(ctx, r->fpk_off_b);
    km_free(ctx, r->fpk_n_b);
    km_free(ctx, r->fpk_w_b);
    km_free(ctx, r->rbuf);
    km_free(ctx, r->rtimes);
}

/* Odometry (roller), body map, candidate map and tracker for the session. */
static km_status create_trackers(km_ctx *ctx, run *r, const km_process_params *p)
{
    km_status st;
    const km_session_info *in = &r->info;
    double row_pitch = in->row_pitch_mm;
    r->roller = in->mode == KM_MODE_ROLLER;
    if (r->roller) {
        /* A roller without a radius: the row pitch is its circumference / rows. */
        double radius = in->roller_radius_mm > 0.0
                            ? in->roller_radius_mm
                            : in->rows * in->row_pitch_mm / (2.0 * 3.14159265358979323846);
        km_odometry_params op;
        km_odometry_params_default(&op);
        op.lift_threshold = p->lift_threshold;
        if ((st = km_odometry_create(ctx, in->rows, in->cols, radius, &op, &r->odo)) != KM_OK)
            return st;
        r->odo_rows = km_alloc(ctx, (size_t)r->nb * (size_t)in->rows * sizeof *r->odo_rows);
        if (r->odo_rows == NULL)
            return KM_ERR_NOMEM;
    }
    km_bodymap_params bp;
    km_bodymap_params_default(&bp);
    bp.contact_half_rows = p->cand.contact_half_rows;
    bp.contact_threshold = p->cand.contact_threshold;
    bp.pass_gap_frames = p->cand.pass_gap_frames;
    int32_t mode = r->roller ? KM_MODE_ROLLER : KM_MODE_MAT;
    if ((st = km_bodymap_create(ctx, mode, in->rows, in->cols, row_pitch, in->col_pitch_mm, &bp,
                                &r->bmap)) != KM_OK)
        return st;
    if ((st = km_candidates_create(ctx, mode, in->rows, in->cols, row_pitch, in->col_pitch_mm,
                                   &p->cand, &r->cand)) != KM_OK)
        return st;
    return km_tracker_create(ctx, &p->track, &r->tracker);
}

km_status km_process(km_ctx *ctx, const char *input, const char *output,
                     const km_process_params *p_in, km_process_summary *summary)
{
    km_process_params defaults;
    const km_process_params *p = p_in;
    run r;
    km_status st;

    memset(&r, 0, sizeof r);
    if (summary != NULL)
        memset(summary, 0, sizeof *summary);
    if (input == NULL || output == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "process: input and output are required");
    if (p == NULL) {
        km_process_params_default(&defaults);
        p = &defaults;
    }
    if ((st = check_params(ctx, p)) != KM_OK)
        return st;

    if ((st = km_reader_open(ctx, input, &p->read, &r.reader)) != KM_OK)
        goto done;
    km_reader_info(r.reader, &r.info);
    if ((st = km_result_check_not_input(ctx, output, input)) != KM_OK)
        goto done;
    r.cp = p->cond;
    if ((st = km_equil_resolve(ctx, p, &r.info, &r.eq_gain, &r.eq)) != KM_OK)
        goto done;
    if (r.eq_gain != NULL)
        r.cp.gain_map = r.eq_gain;
    if ((st = km_condition_resolve_curve(ctx, r.reader, &r.cp)) != KM_OK)
        goto done;
    setup_units(&r, p);

    /* Smoothing runs inside the conditioner: no frame of scratch here. */
    if ((st = alloc_buffers(ctx, &r, p, 0)) != KM_OK)
        goto done;
    if ((r.cflags = km_calloc(ctx, (size_t)r.nb, sizeof *r.cflags)) == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    if ((st = km_conditioner_create(ctx, &r.info, km_reader_mask(r.reader), &r.cp, &r.calib,
                                    &p->smooth, &r.cond)) != KM_OK)
        goto done;
    r.info.frame_rate_hz = km_conditioner_rate(r.cond);
    if ((st = create_workers(ctx, &r, p)) != KM_OK)
        goto done;
    if ((st = create_trackers(ctx, &r, p)) != KM_OK)
        goto done;

    km_result_meta meta = {&r.info, km_reader_mask(r.reader), input,
                           km_format_name(r.info.format), p->command_line,
                           p->save_frames != 0, p->overwrite != 0};
    if ((st = km_result_writer_create(ctx, output, &meta, &r.writer)) != KM_OK)
        goto done;
    for (size_t i = 0; i < km_reader_header_count(r.reader) && st == KM_OK; i++) {
        const char *k = NULL, *v = NULL;
        km_reader_header_get(r.reader, i, &k, &v);
        st = km_result_writer_add_header(ctx, r.writer, k, v);
    }
    if (st == KM_OK)
        st = write_params(ctx, &r, p);
    if (st == KM_OK)
        st = stream(ctx, &r, p, input);
    if (st == KM_OK)
        st = join_writer(ctx, &r);
    if (st == KM_OK)
        st = join_cand(ctx, &r);
    if (st == KM_OK)
        st = finish(ctx, &r);
    if (st == KM_OK && summary != NULL)
        fill_summary(&r, summary);
done:
    /* Every detail names a file: the reader's and writer's already do. */
    if (st != KM_OK && strncmp(km_ctx_last_error(ctx), input, strlen(input)) != 0 &&
        strncmp(km_ctx_last_error(ctx), output, strlen(output)) != 0)
        km_error_prefix(ctx, input);
    if (r.w_active) /* failed elsewhere while a block was being written */
        pthread_join(r.w_tid, NULL);
    if (r.c_active)
        pthread_join(r.c_tid, NULL);
    for (int k = 0; k < r.n_tr_old; k++)
        km_free(ctx, r.tr_old[k]);
    km_result_writer_free(r.writer); /* removes the temporary file unless committed */
    free_workers(ctx, &r);
    km_conditioner_free(r.cond);
    km_free(ctx, r.eq_gain);
    km_free(ctx, r.cflags);
    km_reader_free(r.reader);
    km_free(ctx, r.block);
    km_free(ctx, r.times);
    km_free(ctx, r.metrics);
    km_free(ctx, r.smooth_tmp);
    km_free(ctx, r.fpk_off);
    km_free(ctx, r.fpk_n);
    km_free(ctx, r.fpk_w);
    km_free(ctx, r.odo_s);
    km_free(ctx, r.pk_y);
    km_free(ctx, r.pk_x);
    km_free(ctx, r.pk_v);
    km_free(ctx, r.pk_id);
    km_free(ctx, r.blk_id);
    km_free(ctx, r.fid_off);
    km_free(ctx, r.ftr_end);
    km_free(ctx, atomic_load(&r.tr_buf));
    km_odometry_free(r.odo);
    km_free(ctx, r.odo_rows);
    km_bodymap_free(r.bmap);
    km_candidates_free(r.cand);
    km_tracker_free(r.tracker);
    km_free(ctx, r.max_map);
    km_free(ctx, r.sum_map);
    km_free(ctx, r.cnt_map);
    return st;
}
