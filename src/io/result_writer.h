/* Writer of knotmap result HDF5 v1 (docs/FORMAT.md 2.1).  Internal: used by
 * src/pipeline.  Streaming: /session/time, /metrics, /peaks and
 * /frames/conditioned grow block by block; memory is bounded by the block
 * size and a fixed peak buffer, never by the session length.
 *
 * The file is written under a temporary name in the target folder
 * (".<name>.tmp-XXXXXX") and renamed to `path` only by
 * km_result_writer_commit(), after the root attribute complete = 1, close
 * and fsync.  Freeing without commit removes the temporary file.
 * A writer belongs to one thread at a time, and from create to free it
 * keeps HDF5's automatic error printing off for that thread (h5util.h).
 * Every error detail starts with the output path. */
#ifndef KM_RESULT_WRITER_H
#define KM_RESULT_WRITER_H

#include "internal.h"

typedef struct km_result_writer km_result_writer;

typedef struct km_result_meta {
    const km_session_info *info; /* geometry, rate, units (the RESULT units), mode */
    const uint8_t *mask;         /* rows*cols, 1 = valid; NULL = all valid */
    const char *source_path;     /* [NULL = ""] */
    const char *source_format;   /* [NULL = ""] */
    const char *command_line;    /* [NULL = ""] */
    int32_t save_frames;         /* 1 = /frames/conditioned */
    int32_t overwrite;           /* 1 = replace an existing knotmap result */
    int32_t check_later;         /* 1 = an existing target's schema read by
                                    km_result_writer_check_target (at the
                                    latest by the commit), not at create */
} km_result_meta;

/* Two sessions on two threads share HDF5's global lock, which is not fair:
 * a thread that needs it while the other runs a burst of calls (opening its
 * session and result file; writing the maps, the last chunks and tables at
 * the end) waits out the whole burst (bench/HISTORY.md "Session 38
 * (threads)").  A session marks its bursts (begin/end on the thread that
 * runs them; thread-safe), and HDF5 work that can wait (the /params
 * attributes) is done during the frames when no other thread is in one.
 * km_h5_bursts_elsewhere: how many bursts threads other than the caller's
 * are in now (a hint: it may change at once). */
void km_h5_burst_begin(void);
void km_h5_burst_end(void);
int km_h5_bursts_elsewhere(void);

/* One session's opening at a time (km_process: reader open to result file
 * made).  Two openings at once take turns at HDF5's lock call by call
 * (each ~800 takes), so both end late and the two sessions then reach
 * their end bursts together; one after the other, the first runs its
 * frames while the second opens, and their ends come apart by an opening
 * (bench/HISTORY.md "Session 41 (burst15)").  km_h5_opening_begin waits
 * while another thread's opening is in progress, at most
 * KM_H5_OPENING_WAIT_MS (an opening that long is not HDF5's: a large text
 * parsed, for one), then proceeds beside it; 1 when it waited.  An
 * opening is also a burst (km_h5_burst_begin, km_h5_burst_end).  Every
 * begin is matched by one km_h5_opening_end, on any path.
 * km_h5_opening_counts: openings in progress, threads waiting now, waits
 * and waits that ran out since the process began (for tests). */
#define KM_H5_OPENING_WAIT_MS 20
int km_h5_opening_begin(void);
void km_h5_opening_end(void);
void km_h5_opening_counts(int *in_progress, int *waiting, int64_t *waits, int64_t *timeouts);

/* One run of HDF5 calls at a time, as one opening at a time.  Outside its
 * opening a session still makes dense runs of HDF5 calls: a table's
 * columns at their first rows (~70 takes of the lock a column), /params
 * (~400), the maps, the file's close.  When two threads' runs meet, the
 * one waiting is woken at every call the other ends and goes back to
 * sleep (HDF5's lock is not fair): in two sessions on two threads that
 * cost ~2 ms of CPU time a session, the first block's runs meeting the
 * other session's opening and runs (bench/HISTORY.md "Session 44
 * (thr20)").  km_h5_run_begin waits while another thread's opening or run
 * is in progress, at most KM_H5_OPENING_WAIT_MS, then proceeds; 1 when it
 * waited.  Runs nest (an inner pair costs nothing) and inside the
 * thread's own opening they are free; km_h5_opening_begin waits for other
 * threads' runs as for their openings.  A run must not wait for another
 * thread's work.  Every begin is matched by one km_h5_run_end on the same
 * thread.  km_h5_run_counts: runs in progress, threads waiting to begin
 * one now, waits and waits that ran out since the process began (for
 * tests). */
int km_h5_run_begin(void);
void km_h5_run_end(void);
void km_h5_run_counts(int *in_progress, int *waiting, int64_t *waits, int64_t *timeouts);

/* Check that `path` may be written: it does not exist, or it is a knotmap
 * result and overwrite is 1.  Anything else (a directory, another file, a
 * result with overwrite 0) is KM_ERR_CREATE.  The folder must exist. */
km_status km_result_check_target(km_ctx *ctx, const char *path, int32_t overwrite);

/* KM_ERR_CREATE when `output` exists and is the same file as `input`
 * (same device and inode, whatever the spelling of the paths). */
km_status km_result_check_not_input(km_ctx *ctx, const char *output, const char *input);

/* The existing target's schema that create left for later
 * (meta->check_later): HDF5's open of that file, out of a session's
 * opening burst.  KM_OK when none is due.  Errors: KM_ERR_CREATE ("PATH:
 * exists and is not a knotmap-result file: not replacing it", or the
 * target changed into a folder, ...). */
km_status km_result_writer_check_target(km_ctx *ctx, km_result_writer *w);

/* Create the temporary file and the fixed structure.  Errors: KM_ERR_CREATE,
 * KM_ERR_INVALID, KM_ERR_LIMIT, KM_ERR_IO, KM_ERR_NOMEM. */
km_status km_result_writer_create(km_ctx *ctx, const char *path, const km_result_meta *meta,
                                  km_result_writer **out);

/* One source header key/value as a string attribute of /session/source_header.
 * Keys are escaped (see FORMAT.md 2.1); repeats get "#2", "#3"... */
km_status km_result_writer_add_header(km_ctx *ctx, km_result_writer *w, const char *key,
                                      const char *value);

/* One attribute of /params. */
km_status km_result_writer_param_f64(km_ctx *ctx, km_result_writer *w, const char *name, double v);
km_status km_result_writer_param_i64(km_ctx *ctx, km_result_writer *w, const char *name, int64_t v);
km_status km_result_writer_param_str(km_ctx *ctx, km_result_writer *w, const char *name,
                                     const char *v);

/* The frames' nan and inf values as read (km_session_info.n_nonfinite and
 * nonfinite_at's meaning): /session's, written at create from the session
 * info, are replaced by these when committed. */
void km_result_writer_set_nonfinite(km_result_writer *w, int64_t n, const char *at);

/* Append n frames: times -> /session/time, metrics -> /metrics, and the
 * conditioned frames (n*rows*cols floats) -> /frames/conditioned when
 * save_frames (frames may be NULL otherwise). */
km_status km_result_writer_append_frames(km_ctx *ctx, km_result_writer *w, const double *times,
                                         const km_metrics *metrics, const float *frames, int64_t n);

/* Append the peaks of one frame to /peaks (buffered; flushed when full and
 * at commit).  Positions in mm use the session pitch. */
km_status km_result_writer_append_peaks(km_ctx *ctx, km_result_writer *w, int64_t frame,
                                        double time, const km_peak *peaks, size_t n);

/* As km_result_writer_append_peaks, with each peak's track id (n entries;
 * NULL = -1 for all). */
km_status km_result_writer_append_peaks_tracked(km_ctx *ctx, km_result_writer *w, int64_t frame,
                                                double time, const km_peak *peaks,
                                                const int32_t *track, size_t n);

/* A column of a table a stage declares (docs/FORMAT.md 2.1 describes
 * each): the declaration is the one source of the column's name, type,
 * units and description.  Units "" = an id, an index or bit flags; "1" = a
 * dimensionless quantity or a count; "@" = the result units (the /session
 * attribute `units`).  offset: of the value in the stage's row struct, or
 * KM_COL_ROW for the row's index in the table (KM_COL_I32 or KM_COL_I64). */
enum { KM_COL_F64, KM_COL_F32, KM_COL_I64, KM_COL_I32, KM_COL_U32, KM_COL_KINDS };
#define KM_COL_ROW ((size_t)-1)
typedef struct km_result_col {
    const char *name;
    int kind;                  /* KM_COL_* */
    const char *units;
    const char *desc;
    size_t offset;
} km_result_col;

/* A table: a group under the root whose first column is its dimension
 * (a netCDF coordinate variable), the others attached to it, written from
 * rows of row_size bytes; count_attr (may be NULL) gets the row count. */
typedef struct km_result_table {
    const char *name;
    const km_result_col *cols;
    size_t n_cols;
    size_t row_size;
    const char *count_attr;
} km_result_table;

/* A table written once: its n rows. */
km_status km_result_writer_set_table(km_ctx *ctx, km_result_writer *w, const km_result_table *t,
                                     const void *rows, size_t n);
/* The group and empty columns of a table written once, made now (one
 * table at a time), so that its km_result_writer_set_table (the same t)
 * only writes the count and rows: the making moved out of a burst of
 * HDF5 calls (km_process: during the frames, with /params; bench/HISTORY.md
 * "Session 39 (burst13)").  The file holds the same objects either way. */
km_status km_result_writer_prepare_table(km_ctx *ctx, km_result_writer *w,
                                         const km_result_table *t);
/* A table that grows during the run: declared now, its group and columns
 * created at the first km_result_writer_append_rows(*id) (or, with no
 * rows, at the end: result_writer_internal.h, km_rw_make_table), the count
 * written at commit.
 * At most 4 per writer.  t must outlive the writer. */
km_status km_result_writer_add_table(km_ctx *ctx, km_result_writer *w, const km_result_table *t,
                                     int *id);
km_status km_result_writer_append_rows(km_ctx *ctx, km_result_writer *w, int id,
                                       const void *rows, size_t n);

/* The body map, written once: /bodymap (FORMAT.md 2.1). */
typedef struct km_result_bodymap {
    int32_t mode;                /* km_mode */
    int32_t ny, nx;
    double y0_mm, y_pitch_mm, x_pitch_mm;
    const float *max, *mean;     /* ny*nx each */
    const int32_t *coverage;
    const float *excess;         /* the candidate map */
    const float *spread;         /* its pass-to-pass spread */
} km_result_bodymap;
km_status km_result_writer_set_bodymap(km_ctx *ctx, km_result_writer *w,
                                       const km_result_bodymap *b);

/* The whole-session per-taxel maps, rows*cols each: /frames/max, /frames/mean. */
km_status km_result_writer_set_maps(km_ctx *ctx, km_result_writer *w, const float *max_map,
                                    const float *mean_map);

/* The last frame has been written: the file's metadata cache grows for
 * the end (RESULT_END_MDC_BYTES, result_writer.c).  Before the end's
 * other calls. */
km_status km_result_writer_last_frame(km_ctx *ctx, km_result_writer *w);

/* After the last frame: the tables' last chunks compressed and written
 * now (with threads, while the candidates are computed); rows appended
 * later are still written by the commit. */
km_status km_result_writer_end_frames(km_ctx *ctx, km_result_writer *w);

/* Flush, write n_frames and complete = 1, close, fsync, rename into place,
 * fsync the folder.  The writer stays to be freed. */
km_status km_result_writer_commit(km_ctx *ctx, km_result_writer *w);

/* Free; removes the temporary file unless committed.  NULL is a no-op. */
void km_result_writer_free(km_result_writer *w);

/* The attribute name a source header key is stored under: escaped, and
 * "#n" appended for the n-th repeat (n >= 2; 1 = first).  Writes at most
 * cap bytes including the terminator; returns 0 when it does not fit. */
int km_result_header_name(const char *key, int repeat, char *out, size_t cap);

#endif
