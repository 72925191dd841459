/* The push engine's parts, shared by its files (not installed):
 *
 *   engine.c          the public km_engine_* calls: create, push, snapshot, finish
 *   engine_exec.c     the executor: a block's per-frame stage, then the
 *                     sequential stage, inline or with write-behind (one
 *                     sequence of calls for any thread count)
 *   engine_pool.c     the per-frame stage on a pool of worker threads over a
 *                     ring of blocks, and the read-ahead hook
 *   peak_setup.c      what the peaks see, once the warm-up has ended: the mask
 *                     less the suspect taxels, the floor from the noise
 *   stage_track.c     peaks to body coordinates (roller: odometry), tracking
 *   stage_body.c      odometry, body map, candidate map, per-taxel maps
 *   stage_summary.c   counts and the hottest peaks at distinct places
 *
 * A stage owns its state and sees the frames in order; the executor only
 * decides on which thread a stage runs and when the writer is called. */
#ifndef KM_ENGINE_INTERNAL_H
#define KM_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "internal.h"
#include "io/result_writer.h"

#define KM_ENGINE_MAX_THREADS 64
#define KM_ENGINE_GRAB 8 /* frames a thread takes at a time from a block's per-frame stage */

/* ---- stage_summary.c: what km_process_summary reports of the frames ---- */
typedef struct km_top_entry {
    int64_t frame;
    double time;
    int32_t row, col;
    double y_mm, x_mm;
    float value, prominence;
} km_top_entry;

typedef struct km_stage_summary {
    double row_pitch_mm, col_pitch_mm;
    int32_t radius;            /* two peaks closer than this (Chebyshev) are one place */
    int64_t n_peaks, n_corrupt, n_all_contact;
    int n_top;
    km_top_entry top[KM_SUMMARY_TOP];
} km_stage_summary;

void km_stage_summary_init(km_stage_summary *s, const km_session_info *info,
                           const km_peak_params *peaks);
/* One frame: corrupt or not, its peaks (in value order). */
void km_stage_summary_frame(km_stage_summary *s, int64_t frame_no, double t, uint32_t flags,
                            const km_peak *pks, size_t np);
/* Counts and top peaks into *out (the rest of *out untouched). */
void km_stage_summary_fill(const km_stage_summary *s, km_process_summary *out);

/* ---- stage_track.c: body positions of peaks, linked into tracks ---- */
typedef struct km_stage_track {
    km_tracker *tracker;
    int roller;
    int32_t rows;
    double row_pitch_mm, col_pitch_mm;
    size_t cap;                /* room in y, x, v */
    double *y, *x;             /* body position of each peak of a frame, mm */
    float *v;
    int table;                 /* /tracks in the writer */
} km_stage_track;

km_status km_stage_track_create(km_ctx *ctx, km_stage_track *s, const km_session_info *info,
                                const km_track_params *p);
/* Link the frame's peaks (odo: its odometry sample, zero on a mat): ids
 * gets np track ids. */
km_status km_stage_track_frame(km_ctx *ctx, km_stage_track *s, int64_t frame_no,
                               const km_odometry_sample *odo, const km_peak *pks, size_t np,
                               int32_t *ids);
/* Declare /tracks to the writer (ended tracks are appended to it). */
km_status km_stage_track_declare(km_ctx *ctx, km_stage_track *s, km_result_writer *w);
void km_stage_track_free(km_ctx *ctx, km_stage_track *s);

/* ---- stage_body.c: odometry, body map, candidate map, per-taxel maps ---- */

/* The end of the session: the body map and the candidates, computed by
 * km_stage_body_finish and written by km_stage_body_write. */
typedef struct km_body_end {
    km_result_bodymap b;
    float *bmax, *bmean, *excess, *spread;
    int32_t *cov;
    km_candidate *cand;
    size_t nc;
    km_candidate_seen seen;    /* what the candidates' seen count followed */
    int done;
} km_body_end;

typedef struct km_stage_body {
    int roller;
    int32_t rows, cols;
    km_odometry *odo;
    km_bodygrid *grid;         /* body map and candidate map, one set of cells */
    float *max_map;            /* per taxel: maximum and sum of its finite values, */
    double *sum_map;
    int64_t *bad_map;          /* and the frames in which it was not finite */
    int64_t map_frames;        /* (its count is map_frames - bad_map[k]) */
    const uint8_t *view;       /* the taxels whose pressure the maps show
                                  (km_stage_body_set_view; NULL = all) */
    int avx2;                  /* the maps' loop in AVX2 (the CPU has it) */
    km_body_end end;
} km_stage_body;

/* The roller radius the session gives, or the one its rows and row pitch
 * imply (the row pitch is the circumference / rows). */
double km_roller_radius(const km_session_info *info);
km_status km_stage_body_create(km_ctx *ctx, km_stage_body *s, const km_session_info *info,
                               const km_process_params *p);
/* What the maps show of the pressure (docs/ALGORITHMS.md 3.7): view
 * (rows x cols, nonzero = shown; NULL = every taxel of the frames' mask)
 * is applied to the body map and the per-taxel maps, not to the candidate
 * maps nor the odometry.  view must live as long as s; set before the
 * first frame. */
km_status km_stage_body_set_view(km_ctx *ctx, km_stage_body *s, const uint8_t *view);
/* Roller: row medians of one frame (thread-safe; scratch: cols floats). */
void km_stage_body_row_medians(const km_stage_body *s, const km_frame *fr, const km_mask *mask,
                               float *scratch, double *row_med);
/* Odometry of n frames in order from their row medians (zero samples on a mat). */
km_status km_stage_body_odometry(km_ctx *ctx, km_stage_body *s, double *row_meds, int64_t n,
                                 km_odometry_sample *out);
/* One frame into the body grid (its body map and candidate map) and the
 * per-taxel maps: on the maps thread when there is one, else in order on
 * the main one. */
km_status km_stage_body_add(km_ctx *ctx, km_stage_body *s, const km_frame *fr,
                            const km_mask *mask, const km_odometry_sample *odo, double t);
/* The body map and candidate map so far, in buffers of *cells (any NULL). */
km_status km_stage_body_maps(km_ctx *ctx, const km_stage_body *s, float *max, float *mean,
                             int32_t *coverage, float *excess, size_t capacity, size_t *cells);
/* Write /frames/max and /frames/mean (the sum map is reused: call once, last). */
km_status km_stage_body_write_taxel_maps(km_ctx *ctx, km_stage_body *s, km_result_writer *w);
/* The body map and candidates of the whole session, computed into s->end
 * (touches only the body grid: may run on another thread while the
 * tables are written). */
km_status km_stage_body_finish(km_ctx *ctx, km_stage_body *s);
/* /candidates' group and empty columns made now, ahead of
 * km_stage_body_write (km_result_writer_prepare_table). */
km_status km_stage_body_prepare(km_ctx *ctx, km_result_writer *w);
/* Write /bodymap and /candidates (computed first unless finished); the
 * best KM_SUMMARY_TOP candidates and the count go to *sum. */
km_status km_stage_body_write(km_ctx *ctx, km_stage_body *s, km_result_writer *w,
                              km_process_summary *sum);
void km_stage_body_free(km_ctx *ctx, km_stage_body *s);

/* ---- a stage as a sink (docs/ARCHITECTURE.md, "Add a stage") ---- */

/* What a sink sees of each frame, in frame order, after the built-in
 * stages: the conditioned frame, its metrics, peaks and odometry. */
typedef struct km_stage_frame {
    int64_t frame;
    double time;
    const km_frame *data;
    const km_mask *mask;
    const km_metrics *metrics;
    const km_peak *peaks;
    size_t n_peaks;
    const km_odometry_sample *odo; /* zero on a mat */
} km_stage_frame;

/* A stage that owns its state and declares the tables it writes
 * (km_result_table, io/result_writer.h).  frame: called for every frame,
 * in order, on one thread.  write (may be NULL): at the end, with the
 * writer (km_process only).  free (may be NULL): with the engine. */
typedef struct km_stage_sink {
    const char *name;
    void *state;
    km_status (*frame)(km_ctx *ctx, void *state, const km_stage_frame *f);
    km_status (*write)(km_ctx *ctx, void *state, km_result_writer *w);
    void (*free)(km_ctx *ctx, void *state);
} km_stage_sink;
#define KM_ENGINE_MAX_SINKS 8

/* ---- the engine ---- */

/* The peaks' zero (peak_zero.c): per taxel the smoothed reading s, its low
 * envelope env, the envelope's lowest low and cur, the rise env - low -
 * dead (one noise sd) at the last step (cur_any: one of them is not 0). */
typedef struct km_peak_zero {
    int on;
    size_t rc;
    float alpha, rise;         /* smoothing a frame; the envelope's rise a frame */
    float dead;                /* a rise up to this (the noise) is none */
    uint8_t cur_any;
    int avx2;                  /* the per-taxel loops in AVX2 (the CPU has it) */
    int64_t n_steps;           /* rows of a block's rises */
    int64_t frames;            /* frames seen */
    float *s, *env, *low, *cur;
} km_peak_zero;

/* One block's per-frame data: the frames, what the per-frame stage found
 * and the odometry.  A ring of KM_ENGINE_SLOTS with threads: the per-frame
 * stage fills one block while the one before is tracked and the one
 * before that is written and mapped (engine_pool.c). */
#define KM_ENGINE_SLOTS 3
typedef struct km_eng_block {
    float *frames;
    double *times;
    uint32_t *cflags;          /* conditioner flags of the frames */
    double *odo_rows;          /* roller: row medians of the frames (nb * rows) */
    km_metrics *metrics;
    km_odometry_sample *odo;
    size_t *fpk_off;           /* per frame: first peak in its worker's buffer */
    size_t *fpk_n;             /* per frame: peak count */
    int *fpk_w;                /* per frame: worker */
    km_peak *pk[KM_ENGINE_MAX_THREADS]; /* per worker: the peaks it found in this block */
    size_t cap[KM_ENGINE_MAX_THREADS], used[KM_ENGINE_MAX_THREADS];
    /* The per-frame stage's progress (under the pool's mutex with threads). */
    int64_t id;                /* the block's number in the stream */
    int64_t n;                 /* frames */
    int64_t next;              /* next frame to take */
    int inflight;              /* shares taken and not finished */
    km_status st;              /* the failure at the earliest frame, if any */
    int64_t fail_at;
    int fail_w;
    float *rises;              /* the peaks' zero (peak_zero.c): its rise per taxel,
                                  one row per KM_ZERO_STEP frames; NULL when off */
    uint8_t *rise_any;         /* per row of rises: 0 = every rise 0 (not written) */
    int64_t zf0;               /* the block's first frame in the session */
} km_eng_block;

/* One thread's share of the per-frame stage (metrics, peaks, row medians:
 * the frame alone decides them).  Worker 0 is the calling thread; the
 * others live as long as the engine (engine_pool.c). */
typedef struct km_eng_worker {
    km_engine *e;
    km_ctx *ctx;
    km_detector *det;
    float *oscratch;           /* one row, for the odometry's row medians */
    float *zframe;             /* a frame less the peaks' zero (peak_zero.c) */
    pthread_t tid;
    int started;
} km_eng_worker;

/* A side thread of the executor (the writing thread, the maps thread):
 * started at its first job and alive as long as the engine; it runs one
 * job per post, in order (engine_pool.c). */
enum { KM_SIDE_WRITE, KM_SIDE_MAPS, KM_SIDES };
typedef struct km_eng_exec km_eng_exec;
typedef struct km_eng_side {
    km_eng_exec *x;            /* set before the thread starts */
    void *(*fn)(void *);       /* the job: fn(arg) */
    void *arg;
    pthread_t tid;
    int started;
    long long posted, done;    /* jobs, under the pool's mutex */
} km_eng_side;

/* The executor's state for threads (nw > 1): the worker pool's schedule,
 * write-behind, the maps thread, and the hand-over of tracked frames to
 * the writing thread. */
struct km_eng_exec {
    /* The pool (engine_pool.c), under pmu: blocks are published in order,
       block b in slot b % KM_ENGINE_SLOTS; [lo, pub) may have frames left. */
    pthread_mutex_t pmu;
    pthread_cond_t work_cv;    /* workers sleep here until there is work */
    pthread_cond_t done_cv;    /* the first thread sleeps here until a block or read is done */
    int pool;                  /* pmu, work_cv, done_cv initialised */
    int quit;
    int64_t pub, lo;           /* blocks published; oldest with frames possibly left */
    int64_t seqd;              /* blocks through the sequential stage */
    int64_t stop_from;         /* a failure: no frames taken from this block on */
    int ahead_pending, ahead_done;
    int pipelined;             /* the sequential stage of a block waits for the next block */
    int end_early;             /* km_exec_join starts the body's end on the maps thread */
    int end_posted;
    km_ctx *wctx;              /* writing thread */
    km_ctx *mctx;              /* maps thread */
    int write_behind;          /* 1: the block is written on its own thread */
    km_eng_side side[KM_SIDES]; /* under pmu, like the pool; side_cv: a job posted or done */
    pthread_cond_t side_cv;
    km_eng_block *job;         /* the block being written */
    km_ctx *job_ctx;           /* the ctx that writes it */
    int64_t job_first;
    int w_active;
    km_status w_st;
    km_eng_block *maps_blk;    /* the block being added to the body, candidate and taxel maps */
    int maps_apart;
    km_status maps_st;
    int m_active;
    int32_t *blk_id;           /* track ids of the block's peaks, frame after frame */
    size_t blk_id_cap;
    size_t *fid_off;           /* per frame: its first id in blk_id (nb + 1) */
    _Atomic(km_track *) tr_buf; /* tracks ended by the block's frames */
    km_track *tr_old[48];      /* outgrown track buffers, freed after the block */
    int n_tr_old;
    size_t tr_n, tr_cap;
    size_t *ftr_end;           /* per frame: end of its ended tracks in tr_buf */
    atomic_llong tracked;      /* frames of the block tracked; -1: tracking failed */
    pthread_mutex_t mu;        /* with cv: the writing thread sleeps until tracked moves */
    pthread_cond_t cv;
    int sync;                  /* mu, cv initialised */
};

struct km_engine {
    km_ctx *fctx;              /* the creator's allocator, for km_engine_free */
    km_process_params p;       /* as given (pointers only used during create) */
    km_condition_params cp;    /* effective: gain map resolved */
    km_session_info info;      /* the result's view: units after calibration */
    km_calib_params calib;     /* effective: gain includes the unit conversion */
    km_peak_params peaks;      /* effective: saturation filled in */
    int physical;              /* units convert to kPa */
    float *eq_gain;            /* gain map of equilibrate / gain_map_path */
    km_equil_summary eq;
    int64_t nb;                /* frames per block */
    km_conditioner *cond;
    double *tbuf;              /* times made up for a push without times (nb) */
    km_eng_block slot[KM_ENGINE_SLOTS]; /* one without threads */
    int n_slots;
    km_eng_block *blk;         /* the slot the conditioner fills next */
    km_eng_worker wk[KM_ENGINE_MAX_THREADS];
    int nw;
    km_eng_exec x;
    km_stage_track trk;
    km_stage_body body;
    km_stage_summary sum;
    km_result_writer *writer;  /* NULL: the results stay in the engine */
    km_stage_sink sinks[KM_ENGINE_MAX_SINKS];
    int n_sinks;
    void (*ahead)(void *user); /* read-ahead hook, run by a worker thread */
    void *ahead_user;
    int ahead_wanted, ahead_started;
    int64_t frames_in, frames_done;
    /* What the peaks see (peak_setup.c), set before the first block. */
    int peaks_set;
    const uint8_t *peak_mask;  /* the conditioner's mask, or pmask: what the
                                  peaks, the metrics and the maps' pressure
                                  see (engine_exec.c, engine_pool.c) */
    uint8_t *pmask;            /* that mask less the suspect taxels (or NULL) */
    double noise;              /* the warm-up's noise, result units (NaN: none) */
    double floor;              /* the peaks' floor, result units (NaN: none) */
    double zero_rate;          /* p.zero_rate resolved for the mode (noise sd a minute) */
    km_peak_zero zero;         /* the peaks' zero that follows drift (zero.on) */
    int finished;
    km_status failed;          /* the first failure of a push or finish */
    char failed_msg[200];      /* its message */
};

/* peak_setup.c: the peaks' mask and floor from the ended warm-up (once,
 * before the first block's per-frame stage; the detectors are made again
 * when there is a floor). */
km_status km_engine_setup_peaks(km_ctx *ctx, km_engine *e);
/* Taxels the warm-up found stuck or hot that the conditioner left in. */
int32_t km_engine_n_suspect(const km_engine *e);
/* The largest rise of the peaks' zero (NaN: not followed). */
double km_engine_zero_drift(const km_engine *e);
/* Where they are, "row,col" (0-based) separated by spaces in row-major
 * order, the first KM_SUSPECT_LISTED of them and then "... (N in all)";
 * "" when none.  *out is km_alloc'd (km_free it). */
#define KM_SUSPECT_LISTED 1000
km_status km_engine_suspect_at(km_ctx *ctx, const km_engine *e, char **out);

/* peak_zero.c: the peaks' zero that follows a drifting sensor
 * (docs/ALGORITHMS.md 3.7): each taxel's smoothed low envelope, rising at
 * most `rise` a frame; the peaks see a frame less its rise since its
 * lowest, taken every KM_ZERO_STEP frames of the session. */
#define KM_ZERO_STEP 64
/* zero_rate NaN on a roller: a drift of up to one floor (8 noise sd) a
   minute, over twice the fastest taxel's of knotmap's model 1 (N(0, 1-3
   kPa a minute) on 0.75-2 kPa of noise), and a pause of 20 s on a knot
   loses under 3 noise sd of its pressure. */
#define KM_ZERO_RATE_ROLLER 8.0
km_status km_peak_zero_create(km_ctx *ctx, km_peak_zero *z, size_t rc, int64_t nb,
                              double rise_per_frame, double frame_rate_hz, double noise);
void km_peak_zero_free(km_ctx *ctx, km_peak_zero *z);
/* The block's n frames through the envelope (in session order, once
 * each); rises (z->n_steps x rc) gets the rise each KM_ZERO_STEP of them
 * see (any[step] 0: all 0, not written), *first_frame the block's first
 * frame. */
void km_peak_zero_block(km_peak_zero *z, const float *frames, int64_t n, float *rises,
                        uint8_t *any, int64_t *first_frame);
/* The rise frame i of a block sees; NULL when every taxel's is 0. */
const float *km_peak_zero_rise(const km_peak_zero *z, const float *rises, const uint8_t *any,
                               int64_t first_frame, int64_t i);
/* out = x less rise (z->rc taxels), never below min(x, 0): a reading at or above 0 is
 * not taken below 0 (a sensor that clamps at 0 keeps its zeros), nor a
 * negative one moved (below its zero a taxel makes no peak anyway). */
void km_peak_zero_apply(const km_peak_zero *z, const float *x, const float *rise, float *out);
/* The largest rise now over the taxels of mask (NULL: all); NaN when off. */
double km_peak_zero_drift(const km_peak_zero *z, const uint8_t *mask);

/* engine_pool.c: the per-frame stage on the pool of workers */
km_status km_pool_create(km_ctx *ctx, km_engine *e);
/* Stop and join the workers (before km_exec_free). */
void km_pool_stop(km_engine *e);
/* Hand block e->blk of n frames to the per-frame stage (the read-ahead
 * too when the driver wants it); e->blk moves to the next slot. */
void km_pool_publish(km_engine *e, km_eng_block *b, int64_t n);
/* Take part in the per-frame stage on this thread until block b is
 * done; its status (the failure at its earliest frame). */
km_status km_pool_finish_block(km_ctx *ctx, km_engine *e, km_eng_block *b);
/* Side thread k runs fn(arg) (started at its first job); 0 when there is
 * no thread for it (no pool, or it cannot start): the caller runs it.  One
 * job in flight per side thread: the caller waits (km_side_wait) before
 * posting the next, since a post replaces the job's fn and arg. */
int km_side_post(km_engine *e, int k, void *(*fn)(void *), void *arg);
/* Wait until side thread k has finished every job posted to it. */
void km_side_wait(km_engine *e, int k);
/* The same until the read-ahead has run (at once when none was started). */
void km_pool_wait_ahead(km_ctx *ctx, km_engine *e);
/* The read-ahead on a worker now, before any block (threads only: else
 * nothing happens and e->ahead_started stays 0). */
void km_pool_start_ahead(km_engine *e);

/* engine_exec.c */
km_status km_exec_create(km_ctx *ctx, km_engine *e);
void km_exec_free(km_ctx *ctx, km_engine *e);
/* Process the block of n conditioned frames in e->blk.  Pipelined (threads
 * and x.pipelined): the block's sequential stage waits for the next block
 * or km_exec_join. */
km_status km_exec_block(km_ctx *ctx, km_engine *e, int64_t n);
/* Every block pushed through every stage; the threads of the last block
 * joined.  With x.end_early and a maps thread, the body map and candidates
 * (km_stage_body_finish) are then computed on it: km_exec_join_end waits. */
km_status km_exec_join(km_ctx *ctx, km_engine *e);
km_status km_exec_join_end(km_ctx *ctx, km_engine *e);
/* The driver, after a push that started the read-ahead: wait for it. */
void km_exec_wait_ahead(km_ctx *ctx, km_engine *e);
/* The driver, before the result file is created: read the first block on
 * a worker meanwhile (e->ahead_started says whether it did). */
void km_exec_start_ahead(km_engine *e);
/* The same without a status (an error is being reported already). */
void km_exec_stop(km_engine *e);
/* Ended tracks popped from the tracker into the writer (none: dropped). */
km_status km_exec_drain_tracks(km_ctx *ctx, km_engine *e);

/* Add a sink before the first push.  Errors: KM_ERR_INVALID (too many, late). */
km_status km_engine_add_sink(km_ctx *ctx, km_engine *e, const km_stage_sink *s);
/* km_process with extra sinks after the built-in stages (process.c). */
km_status km_process_with(km_ctx *ctx, const char *input, const char *output,
                          const km_process_params *p, km_process_summary *summary,
                          const km_stage_sink *sinks, int n_sinks);

/* How many times this process's km_process wrote the /params the warm-up
 * settles during the frames rather than after the last one (process.c,
 * write_warm_params; the tests count them). */
unsigned long km_process_warm_params_early(void);

/* engine.c, for km_process (which sets e->writer and e->ahead after
 * km_engine_create).  Conditioned frames flushed and processed, threads joined. */
km_status km_engine_flush(km_ctx *ctx, km_engine *e);
/* After flush: per-taxel maps, the last tracks, body map and candidates
 * into the writer; the summary filled (sum may be NULL). */
km_status km_engine_write_final(km_ctx *ctx, km_engine *e, km_process_summary *sum);

#endif
