/* The result writer's parts, private to src/io (the writer's files:
 * result_writer.c the file, its root, /session and /params, and commit;
 * result_tables.c the tables and maps; result_h5.c the HDF5 helpers they
 * share). */
#ifndef KM_RESULT_WRITER_INTERNAL_H
#define KM_RESULT_WRITER_INTERNAL_H

#include <hdf5.h>

#include "io/atomic_out.h"
#include "io/h5_chunks.h"
#include "io/h5_vfd.h"
#include "io/h5util.h"
#include "io/result_writer.h"

#define COL_CHUNK 4096          /* rows per chunk of a table column */
/* Level 1: the tables are written once per run and deflate's cost grows
 * with the level far faster than the ratio on these numeric columns. */
#define COL_DEFLATE 1
/* HDF5's chunk cache of a column (used when it is not written by direct
 * chunks, km_rw_col): appended at its end only, two chunks hold the partly
 * filled last chunk.  HDF5's default 1 MiB per dataset, times the ~35
 * columns, let the process grow by tens of MB as the tables grew.  Set on
 * the result file (km_rw_column_cache), the default of its datasets. */
#define COL_CACHE_BYTES (2u * COL_CHUNK * 8u + 4096u)
#define PEAK_BUF 8192           /* peaks buffered before a flush */

/* The metadata cache of the result file at a fixed size (h5util.h,
 * km_h5_fixed_mdc).  Its chunk indexes (version 1 B-trees: a node per 64
 * chunks of a table, ~2.1 KB of image but ~17.7 KB of memory) grow with
 * the session; under HDF5's default every node stayed (bench/HISTORY.md,
 * "Session 20 (pipe)").  At 64 KiB up to ~30 nodes stayed, ~0.5 MB, which
 * a 60 s session did not fill and a 600 s one did; at 32 KiB ~15 (Session
 * 28 (mem)).  Nodes are written out and dropped, and read back when an
 * append reaches one again: on a 600 s session 3445 preads and 4601
 * pwrites instead of 1383 and 3343 (at 64 KiB), a few ms of system time.
 * The datasets' bytes do not depend on it; the file's layout does
 * (addresses). */
#define RESULT_MDC_BYTES ((size_t)1 << 15)
/* From the last frame on (km_result_writer_last_frame): the end visits
 * every column's header and index node once more (its last chunk, its
 * close) and makes the maps and tables; at 32 KiB each visit evicted
 * (wrote) another entry and read its own back, all under HDF5's lock: the
 * end of the bench's two sessions held it for 12.2 M instructions, 11.7 M
 * at 64 KiB (bench/HISTORY.md "Session 41 (burst15)").  128 KiB and more
 * (11.0 M at 256 KiB) kept enough index nodes of a 600 s session, ~17.7 KB
 * of memory each, to cost it a 2 MB huge page of peak memory (knotmap-bench
 * e2e/memory_10x +10.6%); 64 KiB did not (+0.1%). */
#define RESULT_END_MDC_BYTES ((size_t)1 << 16)

/* The result's metadata pages held in memory (h5_vfd.h 5.), at most this
 * much: the bench's 60 s session's result holds 132 pages of 4 KiB (peak
 * memory unchanged), a 600 s one's passes it (written out there, at ~1/4
 * of the session).  2 MiB and more would add to the 600 s session's peak
 * (e2e/memory_10x). */
#define RESULT_IMAGE_BYTES ((size_t)1 << 20)

typedef km_result_col col_def;
#define KM_RW_METRIC_COLS 8
#define KM_RW_PEAK_COLS 12
#define KM_RW_MAX_TABLES 4
#define KM_RW_MAX_COLS 32

/* An appended dataset: its chunks are compressed outside HDF5's lock and
 * written directly when its layout allows (h5_chunks.h; z), else by
 * H5Dwrite (z NULL) from memory of type mtype.  mtype is set once with the
 * column: every H5T_NATIVE_* macro calls H5open(), which takes HDF5's
 * global lock, and resolving it per append took that lock ~9 400 times a
 * 60 s session (bench/HISTORY.md "Session 30 (pipe)"). */
typedef struct km_rw_col {
    hid_t ds;
    hid_t mtype;
    km_h5_chunks_out *z;
} km_rw_col;

/* A declared table appended to during the run. */
typedef struct km_rw_table {
    const km_result_table *t;
    hid_t g;
    km_rw_col ds[KM_RW_MAX_COLS];
    int64_t n;
    int made; /* 1: its group and columns exist; -1: making them failed */
} km_rw_table;

/* Filters of a table column: deflate (level COL_DEFLATE) alone, byte
 * shuffle + deflate, or none. */
enum { KM_RW_DEFLATE, KM_RW_SHUFFLE_DEFLATE, KM_RW_UNFILTERED, KM_RW_FILTER_SETS };

struct km_result_writer {
    km_alloc_ref alloc;
    char *path;
    km_atomic_out out;          /* the temporary file, renamed by commit */
    km_h5_io io;                /* its OS errors; closing mode (h5_vfd.h) */
    int committed;
    int maps_set;
    int32_t rows, cols;
    double row_pitch, col_pitch;
    char units[16];
    int nonfinite_set;          /* km_result_writer_set_nonfinite: at commit, /session's */
    int64_t n_nonfinite;        /* n_nonfinite and nonfinite_at replaced by these */
    char nonfinite_at[sizeof ((km_session_info *)0)->nonfinite_at];
    int32_t save_frames;
    km_h5_quiet quiet;          /* HDF5 printing off from create to free */
    hid_t file, g_session, g_header, g_params, g_frames, g_metrics, g_peaks;
    km_rw_col ds_time, ds_cond, ds_frame;
    km_rw_col met[KM_RW_METRIC_COLS];
    km_rw_col pk[KM_RW_PEAK_COLS];
    int made_metrics, made_peaks; /* as km_rw_table.made */
    km_h5_deflater *defl;       /* the compressors of every column (one thread at a time) */
    /* a column's property lists by its filters (KM_RW_*), made once (km_rw_make_column) */
    hid_t col_dcpl[KM_RW_FILTER_SETS]; /* their access list: the file's (km_rw_column_cache) */
    hid_t attr_scalar, attr_str; /* every attribute's dataspace and string type (km_rw_attr_*) */
    /* a column's direct-write layout by its filters and kind (KM_COL_*), taken from the first */
    km_h5_chunks_out *col_layout[KM_RW_FILTER_SETS][KM_COL_KINDS];
    km_rw_table grow[KM_RW_MAX_TABLES]; /* tables appended to during the run */
    int n_grow;
    km_rw_table pre;            /* a table written once, made ahead (km_result_writer_prepare_table) */
    int64_t n_frames, n_peaks;
    void *scratch;              /* column conversion, scratch_cap bytes */
    size_t scratch_cap;
    km_peak *pbuf;              /* peaks waiting for a flush */
    int64_t *pframe;
    double *ptime;
    int32_t *ptrack;
    size_t pn;
};


hid_t km_rw_mem_type(int kind);
hid_t km_rw_file_type(int kind);
void km_rw_close_h(hid_t *h, herr_t (*fn)(hid_t));
/* Scalar attributes, with the writer's dataspace and string type
 * (attr_scalar, attr_str: made at the first attribute). */
int km_rw_attr_str(km_result_writer *w, hid_t loc, const char *name, const char *value);
int km_rw_attr_f64(km_result_writer *w, hid_t loc, const char *name, double v);
int km_rw_attr_i64(km_result_writer *w, hid_t loc, const char *name, int64_t v);
int km_rw_attr_i32(km_result_writer *w, hid_t loc, const char *name, int32_t v);
int km_rw_col_attrs(km_result_writer *w, hid_t ds, const char *units, const char *runits,
                     const char *desc);
int km_rw_set_scale(km_result_writer *w, hid_t ds, const char *name);
int km_rw_attach_named(hid_t g, hid_t ds, const char *name, unsigned idx);
/* Column 0 (a scale) attached to dimension 0 of columns 1..n-1 at once. */
int km_rw_attach_columns(const km_alloc_ref *ref, const km_rw_col *cols, size_t n);
int km_rw_write_axis(km_result_writer *w, hid_t g, const char *name, hid_t ftype,
                      int32_t n, double x0, double step, const char *units, const char *desc);
int km_rw_write_grid_axes(km_result_writer *w, hid_t g, int32_t rows, int32_t cols);
/* The result file's chunk cache: a column's (COL_CACHE_BYTES), for every
 * dataset opened with the default access list. */
int km_rw_column_cache(hid_t fapl);
/* An access list with HDF5's default chunk cache (/frames/conditioned). */
hid_t km_rw_default_cache_dapl(void);
int km_rw_make_column(km_result_writer *w, hid_t group, const col_def *c, int filters,
                      km_rw_col *out);
/* ds (owned from here on) with its direct chunk writer when eligible. */
void km_rw_col_init(km_result_writer *w, km_rw_col *c, hid_t ds, hid_t mtype);
/* Append n rows of `buf` (the column's memory type) to a column of rank 1
 * or 3 now holding `old` rows; a row of a rank-3 dataset is rows x cols
 * elements. */
int km_rw_append_rows(km_rw_col *c, int rank, int32_t rows, int32_t cols, int64_t old,
                      const void *buf, size_t n);
int km_rw_append_1d(km_rw_col *c, int64_t old, const void *buf, size_t n);
/* 1 when appending n rows to c calls HDF5 (a chunk completes, or the
 * column is written by H5Dwrite), 0 when they are only buffered. */
int km_rw_col_calls_h5(const km_rw_col *c, size_t n);
/* The last chunk written (before commit closes the file). */
int km_rw_col_finish(km_rw_col *c);
void km_rw_col_close(km_rw_col *c);
/* Finish every column of the writer; 0 on the first failure. */
int km_rw_finish_columns(km_result_writer *w);
/* A fixed 2-D dataset [ny, nx] of data (memory type mtype), for
 * km_rw_write_maps. */
typedef struct km_rw_map {
    const char *name;
    hid_t ftype, mtype;
    int32_t ny, nx;
    const void *data;
    const char *units, *desc;
} km_rw_map;
#define KM_RW_MAX_MAPS 8
/* n (at most KM_RW_MAX_MAPS) maps in g, each with its units and
 * description, their dimensions the scales ydim and xdim of g: attached all
 * at once after any datasets attached before (result_h5.c, attach_maps). */
int km_rw_write_maps(km_result_writer *w, hid_t g, const km_rw_map *maps, size_t n,
                     const char *ydim, const char *xdim);
/* km_rw_write_maps leaving the n datasets open in ds (closed on failure);
 * a map whose data is NULL is made and not written. */
int km_rw_make_maps(km_result_writer *w, hid_t g, const km_rw_map *maps, size_t n,
                    const char *ydim, const char *xdim, hid_t *ds);
hid_t km_rw_make_group(hid_t loc, const char *name, int track_order);
hid_t km_rw_table_group(hid_t loc, const char *name);
void *km_rw_scratch(km_ctx *ctx, km_result_writer *w, size_t bytes);
/* Create /metrics, /peaks or a growing table at its first append (or at
 * the end when it has none), not in km_result_writer_create: there two
 * sessions on two threads both need HDF5's global lock at once, during the
 * frames rarely (bench/HISTORY.md "Session 32 (pipe3)").  1 once made
 * (result_tables.c). */
int km_rw_make_metrics(km_result_writer *w);
int km_rw_make_peaks(km_result_writer *w);
int km_rw_make_table(km_result_writer *w, km_rw_table *g);
/* Write the n rows of the growing tables at commit, and close them. */
int km_rw_count_tables(km_result_writer *w);
void km_rw_close_tables(km_result_writer *w);
km_status km_rw_flush_peaks(km_ctx *ctx, km_result_writer *w);

#endif
