/* HDF5 helpers shared by the files of src/io that touch
 * HDF5 (session reader, session writer, result writer).  Internal, stable:
 * other modules build on these signatures.
 *
 * Error printing.  HDF5 prints its error stack to stderr by default; the
 * library must never print.  km_h5_init() (called by km_h5_quiet_begin, once
 * per process) turns HDF5's default printer off for the process life,
 * shutdown included (see h5_util.c; attributes: h5_attr.c, h5_vlen.c;
 * datasets: h5_dataset.c).  The automatic printer is part of the error
 * stack, and this HDF5 is built thread-safe (H5_HAVE_THREADSAFE), where each
 * thread has its own error stack: H5Eset_auto2(H5E_DEFAULT, ...) changes the
 * calling thread only.  So every public entry point that calls HDF5 wraps
 * its calls in km_h5_quiet_begin()/km_h5_quiet_end(), which turn the printer
 * off for this thread and put back whatever the host application had (a
 * host that uses HDF5 itself keeps its own setting).  Nesting is fine.
 *
 * Never call H5LT/H5DS here: they are not covered by HDF5's global lock. */
#ifndef KM_H5UTIL_H
#define KM_H5UTIL_H

#include <errno.h>
#include <hdf5.h>

#include "internal.h"

typedef struct km_h5_quiet {
    H5E_auto2_t func;
    void *data;
    int saved;    /* func and data are the thread's printer before */
    int switched; /* the printer was on: put it back at the end */
} km_h5_quiet;

/* Once per process (thread-safe, idempotent); km_h5_quiet_begin calls it. */
void km_h5_init(void);
void km_h5_quiet_begin(km_h5_quiet *q);
void km_h5_quiet_end(const km_h5_quiet *q);

/* The most specific message on this thread's HDF5 error stack (e.g.
 * "truncated file: eof = 1024, ..."), "" if none; then clears the stack.
 * buf gets at most cap-1 characters. */
void km_h5_error_text(char *buf, size_t cap);
/* libhdf5 1.10.8 dereferences some of its failed allocations (H5AC_create
 * under H5Fopen and H5Fcreate, H5FL frees in the error paths of H5Dcreate
 * and H5Dwrite_chunk: SIGSEGV under `ulimit -v`).  Called before H5Fopen
 * (km_h5_open_ro) and before each run of writer calls that create objects
 * or chunk indexes: 1 when KM_H5_HEADROOM bytes of address space are still
 * free, else 0 with errno ENOMEM and HDF5's error stack empty, which
 * km_h5_error_kind reports as "out of memory", KM_ERR_NOMEM (exit 71).
 * Without an address-space limit (RLIMIT_AS unlimited) the answer is 1
 * from getrlimit alone; under one, a PROT_NONE mapping of that size is
 * made and unmapped.  Best effort: another thread may take the room before
 * libhdf5 does. */
#define KM_H5_HEADROOM ((size_t)1 << 20)
int km_h5_headroom(void);
/* H5Fopen(path, H5F_ACC_RDONLY, fapl) after km_h5_headroom: -1 without it. */
hid_t km_h5_open_ro(const char *path, hid_t fapl);
/* km_h5_error_text, and the kind of the failure: KM_ERR_NOMEM when libhdf5
 * ran out of memory (an allocation failed first: under `ulimit -v`, the
 * deflate filter's buffer); KM_ERR_UNSUPPORTED when knotmap's chunk check
 * refused a filter it cannot check (km_h5_push_unsound, KM_H5_UNCHECKABLE);
 * KM_ERR_IO when the file was cut while being read (km_h5_file_cut); else
 * `kind` (KM_ERR_FORMAT for a read, KM_ERR_IO for a write). */
km_status km_h5_error_kind(km_status kind, char *buf, size_t cap);
/* The function names knotmap's own pushes carry on HDF5's error stack,
 * which km_h5_error_kind looks for. */
#define KM_H5_UNSOUND_FUNC "km_h5_push_unsound"
#define KM_H5_CUT_FUNC "km_h5_file_cut"
/* An H5Fopen failure's text (km_h5_error_text) says the file is in use:
 * another program holds HDF5's lock on it (a writer, h5py's "a" or "w"),
 * which libhdf5 1.10 takes at every open.  Not a damaged file: the words
 * to say instead, and KM_ERR_IO (exit 74) rather than KM_ERR_FORMAT. */
int km_h5_locked(const char *why);

/* A writer's libhdf5 call failed (a result, a session, a column, an
 * attribute): record "WHAT: REASON" on ctx (WHAT from fmt, printf-style)
 * and return its status.  The one mapping of a write failure for every
 * writer, in this order:
 *  - an OS error of the file (os_err: the writer's km_h5_io.err; when 0,
 *    the knotmap driver's last one on this thread, km_h5_vfd_take_errno):
 *    REASON strerror() ("No space left on device"), status `kind`, errno
 *    set to it (km_ctx_last_errno); ENOMEM counts as out of memory;
 *  - libhdf5 or knotmap out of memory (km_h5_error_kind, km_h5_headroom's
 *    refusal included): "out of memory", KM_ERR_NOMEM (exit 71);
 *  - else "HDF5 error: " and HDF5's most specific text ("HDF5 error" when
 *    it has none), status `kind`: KM_ERR_IO (exit 74), or KM_ERR_CREATE
 *    (exit 73) when the file itself could not be made.
 * HDF5's error stack is read and cleared: call before anything that may
 * clear it (closing ids). */
km_status km_h5_write_fail(km_ctx *ctx, km_status kind, int os_err, const char *fmt, ...)
    KM_PRINTF(4, 5);
#define KM_H5_LOCKED_TEXT "in use: another program has it open for writing (HDF5's file lock)"
/* Its errno (km_fail_errno): what flock() says of a lock another process holds. */
#define KM_H5_LOCKED_ERRNO EWOULDBLOCK
/* km_h5_open_ro(path) failed: record why and return the status, the one
 * mapping of a failed open for every reader of HDF5 (results, sessions,
 * MAT-files v7.3) and for the writers' look at an existing output (its
 * schema, its /truth), from HDF5's error stack (read and
 * cleared: call before anything that may clear it, H5Pclose included):
 *  - in use (km_h5_locked): KM_ERR_IO "PATH: " KM_H5_LOCKED_TEXT (exit 74),
 *    errno KM_H5_LOCKED_ERRNO;
 *  - out of memory (km_h5_error_kind): KM_ERR_NOMEM "PATH: cannot open as
 *    HDF5: out of memory" (71);
 *  - else `damaged` "PATH: cannot open as HDF5: HDF5'S TEXT (truncated or
 *    damaged file?)": KM_ERR_FORMAT (65), or KM_OK to record nothing (a
 *    check for which a damaged file is simply not the thing looked for).
 * path NULL: the detail without "PATH: " (a reader prefixes it). */
km_status km_h5_open_fail(km_ctx *ctx, const char *path, km_status damaged);

/* The block of d at start, count (rank 1 to 3) read into out as mtype by
 * H5Dread, its stored chunks checked first (km_h5_block_unsound: a chunk
 * that does not decode to its size fails the read, never inflated by
 * libhdf5): 1 on success; 0 on failure, HDF5's error stack kept for
 * km_h5_error_text (closing the dataspaces would clear it). */
int km_h5_read_block(hid_t d, hid_t mtype, int rank, const hsize_t *start, const hsize_t *count,
                     void *out);

/* Scalar attributes on obj (file, group or dataset), replacing one of the
 * same name.  Strings are variable-length UTF-8 (what h5py writes).
 * Errors (km_h5_write_fail): KM_ERR_IO with a detail naming the
 * attribute, KM_ERR_NOMEM. */
km_status km_h5_attr_put_string(km_ctx *ctx, hid_t obj, const char *name, const char *value);
km_status km_h5_attr_put_double(km_ctx *ctx, hid_t obj, const char *name, double value);
km_status km_h5_attr_put_int64(km_ctx *ctx, hid_t obj, const char *name, int64_t value);

/* Read a scalar (or one-element) attribute of untrusted files.  A
 * variable-length string of a file opened read-only never goes through
 * libhdf5's vlen conversion or global-heap parser (they loop and overflow
 * on damaged files): its stored descriptor is copied out and the string
 * read from the global heap collection with every size checked.
 * KM_ERR_NOT_FOUND when absent (no detail recorded); KM_ERR_FORMAT with
 * "attribute NAME ..." when it has the wrong class or shape; a string
 * longer than cap-1 is an error too. */
km_status km_h5_attr_get_string(km_ctx *ctx, hid_t obj, const char *name, char *buf, size_t cap);
/* The attribute messages of obj's object header checked from the file's
 * bytes before libhdf5 decodes them (it trusts their sizes: h5_attr_check.c);
 * KM_ERR_FORMAT naming the damage.  Called before every look-up of an
 * untrusted file's attributes (the km_h5_attr_get_* functions do). */
km_status km_h5_check_attributes(km_ctx *ctx, hid_t obj);
km_status km_h5_attr_get_double(km_ctx *ctx, hid_t obj, const char *name, double *out);

/* Any attribute as text for a header list: strings as they are, numbers
 * with %.17g / integers exactly, arrays of up to 64 numbers
 * comma-separated, larger ones "<N integer values>", other types "<TYPE CLASS>".  Never fails; buf
 * is always terminated. */
void km_h5_attr_text(hid_t attr, char *buf, size_t cap);

/* Refuse dataset `d` (named `name`, e.g. "/frames", in details) when its
 * declared extent is not backed by stored data (docs/FORMAT.md 1.2,
 * "Untrusted input"): contiguous, the stored bytes must equal the declared
 * bytes (elem_size each); chunked, every chunk over the extent must be
 * stored (and, unfiltered, whole).  External and virtual storage (other
 * files) are refused.  A filtered 1-D or 2-D dataset of up to 64 MiB has
 * every stored chunk checked once here (km_h5_chunks_unsound): one that
 * does not give its chunk's size is refused before HDF5 reads it.  Errors:
 * KM_ERR_FORMAT ("... unwritten data", "... damaged file"),
 * KM_ERR_UNSUPPORTED. */
km_status km_h5_check_storage(km_ctx *ctx, hid_t d, const char *name, size_t elem_size);
/* 1 when a stored chunk of d (chunked and filtered, up to 64 MiB declared:
 * a larger one is checked when read) does not decode to its chunk's size
 * (decoded: deflate, shuffle, LZF, BZip2, LZ4, each LZ4 block by liblz4's
 * bounds-checked decoder; sized by header or parameters: Blosc, SZIP,
 * NBit, ScaleOffset), where and how in why (cap bytes):
 * HDF5's deflate filter and the plugins would decode a bomb whole
 * (gigabytes from a few MB) or hand on a short chunk's uninitialised tail;
 * KM_H5_UNCHECKABLE (2) for a sound file knotmap cannot check: a filter
 * none of these bounds, a compressor under one whose output is only sized,
 * a filtered chunk over 64 MiB, libbz2 or liblz4 not loadable.  0
 * otherwise, and for an unfiltered dataset (elem: the stored element's
 * size; dcpl and space: d's creation list and dataspace, borrowed;
 * src/io/h5_chunks_check.c). */
#define KM_H5_UNCHECKABLE 2
int km_h5_chunks_unsound(hid_t d, hid_t dcpl, hid_t space, size_t elem, char *why, size_t cap);
/* The status of what those checks return (bad != 0), the one rule of
 * docs/CLI.md's exit table: -1 KM_ERR_NOMEM (71), KM_H5_UNCHECKABLE
 * KM_ERR_UNSUPPORTED (69: a feature, not damage), 1 KM_ERR_FORMAT (65). */
km_status km_h5_unsound_status(int bad);
/* km_h5_chunks_unsound for the whole dataset, whatever its size: what
 * km_h5_dread and km_result_check_chunks check. */
int km_h5_dataset_unsound(hid_t d, hid_t dcpl, hid_t space, size_t elem, char *why, size_t cap);
/* km_h5_chunks_unsound for the chunks of d that the block [start, start +
 * count) covers, whatever d's size: km_h5_read_block's check.  Both
 * return -1 (why: "out of memory checking its chunks") when memory for the
 * check runs out. */
int km_h5_block_unsound(hid_t d, size_t elem, const hsize_t *start, const hsize_t *count, char *why, size_t cap);
/* H5Dread, after km_h5_chunks_unsound (the whole dataset, any size, once
 * per call):
 * for the datasets of a file knotmap reads with HDF5's own filters (a
 * result's tables, coordinates, a MAT-file's variables) that
 * km_h5_check_storage has not seen.  A damaged chunk fails the read (-1)
 * with its text on HDF5's error stack (km_h5_error_text). */
herr_t km_h5_dread(hid_t d, hid_t mtype, hid_t mspace, hid_t fspace, hid_t dxpl, void *buf);
/* why on HDF5's error stack for km_h5_error_text, tagged so that
 * km_h5_error_kind gives km_h5_unsound_status(bad) for it (bad: what the
 * checks above returned). */
void km_h5_push_unsound(int bad, const char *why);
/* /frames' chunks are inflated whole into a cache that holds them: refuse
 * chunks beyond KM_CHUNK_MAX_BYTES or half the memory budget of opt
 * (KM_ERR_LIMIT; docs/FORMAT.md "Untrusted input"). */
km_status km_h5_check_chunk_size(km_ctx *ctx, size_t chunk_bytes, const km_read_options *opt);

/* A 1-D column of a table (DESIGN section 8): dataset NAME [n] in `group`,
 * written from `data` of mem_type, stored as file_type, with a "units"
 * string attribute when units != NULL.  n may be 0.  Errors
 * (km_h5_write_fail): KM_ERR_IO, KM_ERR_NOMEM. */
km_status km_h5_write_column(km_ctx *ctx, hid_t group, const char *name, hid_t mem_type,
                             hid_t file_type, const void *data, size_t n, const char *units);

/* "strings", "a compound type", ...: a type class in a detail. */
const char *km_h5_class_text(H5T_class_t c);
/* Saturation of integer raw counts in dataset d: the top of its stored
 * integer type (up to 32 bits); +inf for other types. */
double km_h5_int_saturation(hid_t d);

/* Dataset `name` of `file` (open in *d) opened again with a chunk cache of
 * cache_bytes for n_chunks chunks, so that a reader going through it in
 * order inflates each chunk once: every chunk a block of frames touches
 * (all the tiles across a frame when h5py split the frames spatially,
 * for what H5Dread still reads: h5_chunks_read.c decodes the rest).  HDF5's
 * default 1 MiB would inflate a chunk once per block instead (2.2x the
 * time of a 32x32 session).  The cache is set when a dataset is opened (a
 * second open shares the first one's), hence the close.  Errors:
 * KM_ERR_NOMEM, KM_ERR_FORMAT (*d is then invalid). */
km_status km_h5_reopen_with_chunk_cache(km_ctx *ctx, hid_t file, const char *name, hid_t *d,
                                        size_t cache_bytes, size_t n_chunks);
/* The same for `across` chunks of chunk_bytes, within half the memory
 * budget (one chunk at least); HDF5's own 1 MiB cache is kept when that is
 * no more. */
km_status km_h5_chunk_cache_within(km_ctx *ctx, hid_t file, const char *name, hid_t *d, size_t chunk_bytes,
                                   size_t across, uint64_t budget);

/* Fix the metadata cache of files opened with `fapl` at `bytes` of
 * metadata images (initial = min = max, no adaptive resizing).  HDF5's
 * default (2 MiB to start, adaptive up to 32 MiB) keeps every version 1
 * B-tree node of a chunked dataset's index once touched, and a node takes
 * ~17.7 KB of memory for its ~2-3 KB image (its native keys sized for 32
 * dimensions): memory that grows with the number of chunks, i.e. with the
 * session's length.  Returns 1, or 0 on an HDF5 error. */
int km_h5_fixed_mdc(hid_t fapl, size_t bytes);
/* The same for an open file, from now on. */
int km_h5_fixed_mdc_file(hid_t file, size_t bytes);

/* A file access list for reading a session (the chunk index's nodes not
 * kept: KM_H5_READ_MDC_BYTES of metadata), or -1. */
#define KM_H5_READ_MDC_BYTES ((size_t)1 << 14)
hid_t km_h5_read_fapl(void);

/* Bytes of one chunk of the 1-D dataset d of `elem`-byte values; 0 when it
 * is not chunked or its chunk is over a mebi-element. */
size_t km_h5_chunk_bytes_1d(hid_t d, size_t elem);

/* What to say when a file has no /frames: its 3-D datasets, in groups too
 * (up to 3, with their paths and shapes), and how to name one /frames (""
 * when it has none). */
void km_h5_frames_hint(hid_t file, char *buf, size_t cap);

/* A session's root attributes (read_session_attrs.c): the schema checked
 * (a file without one read only when `forced`, the format named: *no_schema
 * 1, or 2 for a MATLAB v7.3 file), the rate, pitches, radius, saturation,
 * units and mode into r->info; and every root attribute kept as the
 * reader's header, in creation order when the file tracks it. */
km_status km_session_root_attrs(km_ctx *ctx, km_reader *r, hid_t f, int forced, int *no_schema);
km_status km_session_header(km_ctx *ctx, km_reader *r, hid_t file);
/* Another tool's file (no schema) without a rate from frame_rate_hz or
 * /time: a root attribute named like a sampling rate (km_rate_name) holding
 * a plausible rate, taken (*named = 1); two that disagree: KM_ERR_FORMAT. */
km_status km_session_rate_by_name(km_ctx *ctx, km_reader *r, hid_t f, int *named);

/* A session's /frames stored [R, C, T] (read_session_rct.c): the reader's
 * geometry and frame count from its shape, and *frames opened again with a
 * chunk cache for blocks of T (up to `budget` bytes). */
km_status km_session_rct_open(km_ctx *ctx, km_reader *r, hid_t file, hid_t *frames, size_t budget);
/* Frames t0 .. t0 + n - 1 of such a /frames into out [n, R, C]; < 0 when
 * HDF5 or memory fails (the HDF5 error stack says why). */
int km_session_rct_read(hid_t frames, int64_t t0, int64_t n, int32_t rows, int32_t cols, float *out);
/* Frames t0 .. t0 + n - 1 of a session's /frames, stored [T, R, C] (rct 0)
 * or [R, C, T] (rct 1), into out [n, R, C] by HDF5: < 0 as above. */
int km_session_h5_read(hid_t frames, int rct, int64_t t0, int64_t n, int32_t rows, int32_t cols,
                       float *out);

#endif
