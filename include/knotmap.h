/*
 * knotmap.h -- the public C API of knotmap, a pressure-mapping signal
 * processing toolkit: read recordings of pressure-sensor arrays (mats and
 * sensor-wrapped foam rollers), condition them, find localized high-tension
 * spots ("muscle knots") and write HDF5 results.
 *
 * This header is the whole contract and the manual.  Conventions:
 *
 *   - Names read km_<noun>_<verb>.  A km_ctx * comes first, outputs last.
 *   - Every call that can fail returns a km_status (KM_OK == 0, errors < 0).
 *     km_strerror() gives static text for a status; km_ctx_last_error()
 *     gives the detail of the last failure on that context (for file errors
 *     it starts with the file name and says where: "FILE: line 12: ...").
 *     There is no global or thread-local error state.
 *   - The library never prints, aborts, exits or reads the environment.
 *   - Frames are borrowed views {data, rows, cols, row_stride}; the stride
 *     is in elements.  Row-major float32.
 *   - Objects that own resources are opaque, made by _create and released by
 *     _free (which accepts NULL).  Work that depends only on the shape is
 *     done at _create; _apply is a pure function of (object, input) into a
 *     caller-owned output.
 *   - Variable-length outputs go to caller buffers with a capacity; a buffer
 *     too small returns KM_ERR_CAPACITY and writes the count needed.
 *   - Thread safety: one km_ctx per thread.  Objects are safe to use from
 *     several threads at once through their const/_apply functions, each
 *     thread with its own km_ctx, unless a function says otherwise.  There
 *     are no mutable globals.
 *
 * Defaults are written next to each parameter in [brackets].
 */
#ifndef KNOTMAP_H
#define KNOTMAP_H

#include <stddef.h>
#include <stdint.h>

#include "knotmap_version.h" /* KM_VERSION_MAJOR/MINOR/PATCH/STRING, generated */

#if defined(_WIN32) && defined(KM_BUILDING_SHARED)
#define KM_API __declspec(dllexport)
#elif defined(__GNUC__) && defined(KM_BUILDING_SHARED)
#define KM_API __attribute__((visibility("default")))
#else
#define KM_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================
 * Status codes.  Values are stable: never renumbered, only appended.
 * ==================================================================== */
typedef enum km_status {
    KM_OK = 0,
    KM_ERR_INVALID = -1,     /* an argument is out of range or inconsistent */
    KM_ERR_NOMEM = -2,       /* an allocation failed */
    KM_ERR_CAPACITY = -3,    /* output buffer too small; count needed written */
    KM_ERR_FORMAT = -4,      /* malformed input data (detail says file and where) */
    KM_ERR_IO = -5,          /* reading or writing failed at the OS level */
    KM_ERR_NOT_FOUND = -6,   /* the input file does not exist or cannot be opened */
    KM_ERR_UNSUPPORTED = -7, /* a valid request this build cannot do */
    KM_ERR_LIMIT = -8,       /* sizes beyond the library's caps (or overflow) */
    KM_ERR_CREATE = -9,      /* the output cannot be created (folder, permission, clash) */
    KM_ERR_CANCELLED = -10,  /* km_ctx_cancel() was called during the work */
    KM_ERR_INTERNAL = -11    /* a bug in knotmap: please report it */
} km_status;

/* Static English text for a status.  Never NULL.  Thread-safe. */
KM_API const char *km_strerror(km_status status);

/* What became of each input of a batch (km_batch_tally). */
typedef enum km_batch_outcome {
    KM_BATCH_RAN = 0,     /* a result was written (or a complete one was kept) */
    KM_BATCH_SKIPPED = 1, /* a knotmap result given as an input: not a session */
    KM_BATCH_FAILED = 2   /* no result: the input's own message says why */
} km_batch_outcome;
/* The line a batch ends with when not every input gave a result, the one
 * source of its words (`knotmap process A B C -o DIR/` and knotmap.batch
 * print it after each failure's own message): "2 of 6 inputs processed
 * (results in DIR); 4 failed, said above: a.txt, b.asf, c.mat, d.npy; 1
 * skipped (a knotmap result, not a session)", at most 8 failures named
 * ("and N more").  outcome[i] (a km_batch_outcome) is input[i]'s; out: the
 * results' folder [NULL: "the current folder"].  Written into buf (cap
 * bytes, always NUL-terminated, cut to fit when cap is short); returns the
 * full text's length (as snprintf), 0 with buf "" when n < 2 or every
 * input ran.  No allocation.  Thread-safe. */
KM_API size_t km_batch_tally(char *buf, size_t cap, const char *const *input,
                             const signed char *outcome, int n, const char *out);

/* ======================================================================
 * Version.  One source: the CMake project version.
 * ==================================================================== */

/* "x.y.z" of the library actually linked.  Thread-safe. */
KM_API const char *km_version_string(void);
/* x*10000 + y*100 + z of the library actually linked.  Thread-safe. */
KM_API int km_version_number(void);

/* ======================================================================
 * Context: error detail, allocator, cancellation.  One per thread.
 * ==================================================================== */
typedef struct km_ctx km_ctx;

/* Optional allocator hooks.  alloc(opaque, size) returns memory aligned for
 * any type (at least 16 bytes) or NULL; free(opaque, p) accepts NULL. */
typedef struct km_allocator {
    void *(*alloc)(void *opaque, size_t size);
    void (*free)(void *opaque, void *ptr);
    void *opaque;
} km_allocator;

/* Create a context with malloc/free.  *out is NULL on failure.
 * Errors: KM_ERR_INVALID (out NULL), KM_ERR_NOMEM.  Thread-safe. */
KM_API km_status km_ctx_create(km_ctx **out);
/* Create a context whose library allocations go through `allocator`
 * (copied; NULL = malloc/free).  Objects created with a context must be
 * freed while its allocator is still valid.  Thread-safe. */
KM_API km_status km_ctx_create_with(const km_allocator *allocator, km_ctx **out);
/* Free a context.  NULL is a no-op.  Not thread-safe on the same ctx. */
KM_API void km_ctx_free(km_ctx *ctx);
/* Detail of the last failure on this context: "" when none.  The text lives
 * in the context and stays valid until the next call with it.  NULL ctx
 * gives "".  Not thread-safe on the same ctx. */
KM_API const char *km_ctx_last_error(const km_ctx *ctx);
/* Status of the last failure on this context (KM_OK when none). */
KM_API km_status km_ctx_last_status(const km_ctx *ctx);
/* errno of the last KM_ERR_NOT_FOUND, KM_ERR_IO or KM_ERR_CREATE failure:
 * the OS's, kept when the detail text carries strerror() of it, or the one
 * the failure names (a file in use: another program holds HDF5's lock on
 * it, EWOULDBLOCK, as flock() says); 0 when the failure has none and for
 * other statuses.  The bindings pick the matching exception type with it. */
KM_API int km_ctx_last_errno(const km_ctx *ctx);
/* Forget the last error. */
KM_API void km_ctx_clear_error(km_ctx *ctx);
/* Ask long work running with this context (km_process, readers, km_render
 * and km_report between their steps and rows, km_synth_write) to stop
 * soon with KM_ERR_CANCELLED.  The ONLY function that may be called on a
 * context from another thread or from a signal handler (it sets an atomic
 * flag).  km_ctx_clear_error() does not clear it; km_ctx_reset_cancel() does. */
KM_API void km_ctx_cancel(km_ctx *ctx);
KM_API void km_ctx_reset_cancel(km_ctx *ctx);
/* 1 when km_ctx_cancel() was called and not reset. */
KM_API int km_ctx_cancelled(const km_ctx *ctx);

/* Remove every temporary output file this process is writing right now
 * (results, sessions, exports: the ".<name>.tmp-XXXXXX" files beside their
 * targets; final names are never touched).  ASYNC-SIGNAL-SAFE: meant for a
 * signal handler (or a deadline timer) that ends the process with _exit()
 * at once, whatever the other threads are doing, even inside libhdf5.
 * The writers whose temporaries were removed fail if the process goes on.
 * Callable from any thread; it reads a fixed process-wide table updated
 * with lock-free atomics, and never removes files of a parent process
 * after fork().  A temporary whose path is 4096 bytes or longer, or beyond
 * 256 written at once, is not listed.  Returns the number removed; errno
 * is preserved. */
KM_API int km_remove_temporaries(void);

/* ======================================================================
 * Frame views: borrowed, row-major, stride in elements (>= cols).
 * ==================================================================== */
typedef struct km_frame {          /* read-only view */
    const float *data;
    int32_t rows;
    int32_t cols;
    ptrdiff_t row_stride;          /* elements between row starts [cols] */
} km_frame;

typedef struct km_frame_mut {      /* writable view */
    float *data;
    int32_t rows;
    int32_t cols;
    ptrdiff_t row_stride;
} km_frame_mut;

typedef struct km_mask {           /* validity mask view, 1 = valid taxel */
    const uint8_t *data;
    int32_t rows;
    int32_t cols;
    ptrdiff_t row_stride;
} km_mask;

/* Caps on what the library accepts: any larger grid or count is refused
 * with KM_ERR_LIMIT before any allocation. */
#define KM_MAX_DIM 65536           /* rows or cols */
#define KM_MAX_TAXELS 16777216     /* rows * cols */
/* The frame rates and taxel pitches knotmap reads, from a file or an option
 * (docs/FORMAT.md 1.1, "Plausible rates", "Plausible pitches"): a frame a
 * day to a million frames a second, 0.01 mm to 1000 mm between taxels.  A
 * file's outside them is refused (KM_ERR_FORMAT), an option's too
 * (KM_ERR_INVALID; the CLI's --rate range). */
#define KM_RATE_MIN_HZ (1.0 / 86400.0)
#define KM_RATE_MAX_HZ 1e6
#define KM_PITCH_MIN_MM 0.01
#define KM_PITCH_MAX_MM 1000.0

/* ======================================================================
 * Sessions: readers.  File I/O lives here (src/io).
 * ==================================================================== */
typedef enum km_format {
    KM_FORMAT_AUTO = 0,    /* decide by content (then extension) */
    KM_FORMAT_SESSION = 1, /* knotmap session HDF5 v1 */
    KM_FORMAT_TEKSCAN = 2, /* Tekscan ASCII movie export (.asf/.csv) */
    KM_FORMAT_XSENSOR = 3, /* XSENSOR CSV export */
    KM_FORMAT_TEXT = 4,    /* text matrix */
    KM_FORMAT_AUDIO = 5,   /* WAV/W64/RF64/CAF/AIFF through libsndfile */
    KM_FORMAT_MATLAB = 6,  /* MATLAB MAT-file of level 5 (save, -v6, -v7) or v7.3 (HDF5) */
    KM_FORMAT_NPY = 7,     /* NumPy .npy array (numpy.save) */
    KM_FORMAT_NPZ = 8      /* NumPy .npz archive (numpy.savez, savez_compressed) */
} km_format;

/* "auto", "session", "tekscan", "xsensor", "text", "audio", "matlab", "npy", "npz"; NULL if unknown. */
KM_API const char *km_format_name(km_format format);
/* Parse a name as above into *out.  Errors: KM_ERR_INVALID. */
KM_API km_status km_format_parse(const char *name, km_format *out);
/* The format a file name asks a writer for (`knotmap synth -o`,
 * knotmap.synth): .asf/.csv TEKSCAN, an extension of the audio export
 * (km_audio_extension) AUDIO, anything else SESSION; case-insensitive.
 * Thread-safe. */
KM_API km_format km_format_from_extension(const char *path);
/* The i-th file extension the audio export writes (".wav", ".w64", ...),
 * NULL past the last.  Thread-safe. */
KM_API const char *km_audio_extension(size_t i);

typedef enum km_mode { KM_MODE_MAT = 0, KM_MODE_ROLLER = 1 } km_mode;

/* What the caller knows that a file may not carry.  Zero/NULL fields mean
 * "from the file, else the default" (an assumed default is listed in
 * km_session_info.assumed).  A value given here that the file also carries
 * must agree with it, unless `override` is set. */
typedef struct km_read_options {
    km_format format;          /* [KM_FORMAT_AUTO] */
    int32_t rows;              /* grid rows [0 = from file] */
    int32_t cols;              /* grid cols [0 = from file] */
    double frame_rate_hz;      /* [0 = from file, else 1 Hz, assumed; docs/FORMAT.md 1.1] */
    double row_pitch_mm;       /* [0 = from file, else 1, assumed] */
    double col_pitch_mm;       /* [0 = from file, else 1, assumed] */
    const char *units;         /* a unit km_units_name lists (its doc block says which
                                  are read converted to kPa) [NULL = from file, else
                                  "raw"] */
    int32_t mode;              /* km_mode, or -1 = from file [-1; file default mat] */
    double roller_radius_mm;   /* [0 = from file] */
    int32_t sensor;            /* XSENSOR: which sensor of a two-sensor file, 0 the first
                                  [-1 = the first, assumed ("sensor") when the file
                                  has several] */
    int32_t text_frame_per_file; /* text: 1 = matrix layout (frames of R lines; R = all the
                                    lines without a grid), 0 = one frame per line
                                    [-1 = decide: docs/FORMAT.md 1.4; an ambiguous file
                                    is KM_ERR_INVALID] */
    int32_t time_axis;         /* HDF5 session: 0 = /frames is [T, R, C], 1 = [R, C, T]
                                  (time last, as h5py or xarray may keep it) [-1 = from
                                  /time's length, else [T, R, C]; docs/FORMAT.md 1.2].
                                  MAT-file: 0 = frames(t, r, c), 1 = frames(r, c, t)
                                  [-1 = from time's length, else the longer end
                                  dimension, assumed; docs/FORMAT.md 1.8].  .npy: 0 =
                                  [T, R, C], 1 = [R, C, T] [-1 = the longer end
                                  dimension, assumed; 1.9].  .npz: as .npy [-1 = from
                                  time's length, else the longer end dimension; 1.10] */
    int32_t override;          /* 1 = a rate, pitch, units, mode or roller radius given here
                                  replaces the file's own value; [0] = a given value that
                                  differs from the file's is KM_ERR_INVALID naming both.
                                  A grid that differs from the file's is always an error. */
    int64_t max_memory;        /* memory budget in bytes, checked against the declared
                                  grid, block and HDF5 chunk size before allocating
                                  (KM_ERR_LIMIT beyond it; docs/FORMAT.md, "Untrusted
                                  input") [0 = KM_MAX_MEMORY_DEFAULT] */
} km_read_options;

/* The default memory budget of km_read_options.max_memory: 1 GiB. */
#define KM_MAX_MEMORY_DEFAULT ((int64_t)1 << 30)

/* Fill `opt` with the defaults above. */
KM_API void km_read_options_default(km_read_options *opt);
/* The memory budget in bytes: opt->max_memory, or KM_MAX_MEMORY_DEFAULT
 * when 0 (or opt NULL).  Thread-safe. */
KM_API uint64_t km_read_max_memory(const km_read_options *opt);

/* What a reader knows after opening. */
typedef struct km_session_info {
    km_format format;          /* the format actually read */
    int32_t rows, cols;
    int64_t n_frames;          /* frames in the file; -1 if unknown before reading */
    double frame_rate_hz;      /* nominal rate (1/mean step when times irregular) */
    double row_pitch_mm, col_pitch_mm;
    char units[16];            /* "kPa","mmHg","N/cm2","raw" */
    int32_t mode;              /* km_mode */
    double roller_radius_mm;   /* 0 when unknown */
    double saturation;         /* value at which the sensor saturates; +inf if unknown */
    int32_t n_valid;           /* taxels with mask 1 */
    char assumed[96];          /* comma-separated names of the fields above whose value was
                                  assumed, neither read from the file nor given:
                                  row_pitch_mm, col_pitch_mm, frame_rate_hz, units (raw),
                                  mode (mat), roller_radius_mm (process derives it from
                                  rows x row pitch), schema (an HDF5 file without the
                                  session schema read as one because format was
                                  KM_FORMAT_SESSION), matlab (such a file was a
                                  MATLAB v7.3 MAT-file: frames taken in HDF5's
                                  order, MATLAB's reversed), encoding (text read as
                                  UTF-16 by its NUL bytes, without a byte order mark),
                                  time_axis (a MAT-file's, a .npy or .npz array's 3-D
                                  frames without a time vector: time taken as the longer
                                  end dimension), rate_name (such a file's rate taken from
                                  a number named like one, `fs`: docs/FORMAT.md 1.1),
                                  time_name (such a file's times taken from a vector
                                  named t, times, timestamps or time_s: 1.8),
                                  string (a MAT-file's MATLAB string object, not
                                  read: text is read from char arrays), text_layout
                                  (a text matrix without a grid read as one frame, its
                                  lines as rows), sensor (an XSENSOR file of several
                                  sensors read without a sensor given: the first),
                                  insole (a Tekscan F-Scan or XSENSOR in-shoe recording: a foot,
                                  whose candidates are its load points, not knots),
                                  time_units (another tool's /time without a units
                                  attribute, read as seconds: docs/FORMAT.md 1.2);
                                  "" when none.  Callers should warn. */
    int64_t n_nonfinite;       /* values the file holds as nan or inf, kept as they are
                                  (detection and metrics pass over a non-finite taxel in
                                  its frame; they do not change the mask): counted at
                                  open by the text matrix reader; the other formats'
                                  as km_reader_read delivers their frames (0 at open:
                                  km_reader_info after the reads, km_reader_scan, or
                                  km_process's summary).  Callers should warn
                                  (km_nonfinite_text). */
    char nonfinite_at[48];     /* the first one's place ("line 5, column 2"; counted
                                  as read: "0-based frame 3, row 2, column 4"), ""
                                  when none */
    int64_t n_fill;            /* of n_nonfinite, the values that were the file's
                                  fill value (an HDF5 session's CF _FillValue on
                                  /frames: missing data, read as nan), counted as
                                  the frames are read; 0 in other formats */
} km_session_info;

/* The sentence that says a session's non-finite values (n_nonfinite > 0):
 * "3 values are nan or inf (the first at line 5, column 2): kept; ...", with
 * how many were fill values when n_fill > 0 ("...; 2 of them the file's
 * _FillValue: missing data"), as `knotmap info` and `process` print it and
 * the Python bindings warn it, into buf (cap bytes; 512 hold it); "" when
 * there are none.  Thread-safe. */
KM_API void km_nonfinite_text(const km_session_info *info, char *buf, size_t cap);

/* The sentence that explains one name of km_session_info.assumed: what was
 * assumed and the option that gives the value instead ("no frame rate in the
 * file: assuming 1 Hz (pass --rate HZ)"), as `knotmap info` and `process`
 * print it and the Python bindings warn it.  `name` is the first `len` bytes
 * (the list is comma-separated).  NULL for a name this version does not know
 * (a newer writer's): say the name itself then.  Thread-safe. */
KM_API const char *km_assumed_text(const char *name, size_t len);

/* The values any file may lack (row and column pitch, frame rate, units,
 * mode), when two or more of them were assumed, said in one sentence naming
 * each with what was assumed and the options to pass ("no row pitch, column
 * pitch, frame rate, units knotmap knows or acquisition mode in the file:
 * assuming 1 mm, 1 mm, 1 Hz, raw counts and a mat (pass --pitch MM or RxC,
 * --rate HZ, --units kPa|mmHg|N/cm2|psi|Pa|MPa, --mode mat|roller)"), as `knotmap info`
 * and `process` print it, into buf (cap bytes; 512 hold it); the other names
 * of info->assumed, comma-separated, into rest (rest_cap bytes: each to say
 * with km_assumed_sentence).  Returns how many names the sentence covers: 0
 * when fewer than two (buf "", rest the whole list).  Thread-safe. */
KM_API size_t km_assumed_combined(const km_session_info *info, char *buf, size_t cap, char *rest,
                                  size_t rest_cap);

/* km_assumed_text's sentence with the session's values where it has them
 * (text_layout: "...: one 50 x 48 frame"), into buf (cap bytes): what
 * `knotmap info` and `process` print and the Python bindings warn.  A name
 * this version does not know gives "NAME assumed".  Thread-safe. */
KM_API void km_assumed_sentence(const km_session_info *info, const char *name, size_t len, char *buf,
                                size_t cap);

typedef struct km_reader km_reader;

/* Open `path` for streaming.  Reads the header (and for some formats scans
 * the file once to count frames); frames come later through
 * km_reader_read().  Errors: KM_ERR_NOT_FOUND (missing/unreadable, a directory or a pipe),
 * KM_ERR_FORMAT (malformed: detail "PATH: line N: ..."; also a file known
 * to hold no frame or no taxel, e.g. a session's /frames of 0 x R x C), KM_ERR_IO,
 * KM_ERR_LIMIT, KM_ERR_INVALID (options), KM_ERR_NOMEM.
 * A reader belongs to one thread at a time. */
KM_API km_status km_reader_open(km_ctx *ctx, const char *path,
                                const km_read_options *opt, km_reader **out);
/* Close and free.  NULL is a no-op. */
KM_API void km_reader_free(km_reader *reader);
/* The format km_reader_open would read `path` as, with `opt` (NULL = the
 * defaults): opt->format when it names one, else what the file's first
 * bytes and its extension say.  KM_FORMAT_AUTO when `path` is not a
 * regular file, cannot be read, or matches no format (km_reader_open then
 * says why).  Reads the first bytes only and starts no parser (libhdf5,
 * libsndfile): the command asks before it forks its probe (docs/CLI.md, "The
 * probe").  Errors: KM_ERR_INVALID (NULL path or out).  Thread-safe. */
KM_API km_status km_reader_format(km_ctx *ctx, const char *path, const km_read_options *opt,
                                  km_format *out);
/* Geometry and metadata. */
KM_API void km_reader_info(const km_reader *reader, km_session_info *out);
/* Validity mask, rows*cols bytes, row-major, 1 = valid.  Owned by the reader. */
KM_API const uint8_t *km_reader_mask(const km_reader *reader);
/* Source header as key/value strings, in file order.  Owned by the reader. */
KM_API size_t km_reader_header_count(const km_reader *reader);
KM_API void km_reader_header_get(const km_reader *reader, size_t index,
                                 const char **key, const char **value);
/* Read up to `max_frames` frames into `frames` (max_frames*rows*cols floats,
 * contiguous) and their times in seconds from the start into `times`
 * (max_frames doubles; may be NULL).  *n_read gets the count, 0 at the end.
 * Errors: KM_ERR_FORMAT with "PATH: line L: frame N: ...", KM_ERR_IO (also a
 * text, Tekscan or XSENSOR export that changed while read: "line L: the file
 * changed while being read (B bytes when opened, now C)"), KM_ERR_NOMEM
 * (libhdf5's own allocation failures included), KM_ERR_CANCELLED. */
KM_API km_status km_reader_read(km_ctx *ctx, km_reader *reader, float *frames,
                                double *times, int64_t max_frames, int64_t *n_read);
/* Read the frames left, only to know them, then km_reader_info into `out`:
 * n_nonfinite and nonfinite_at (every format but a text matrix counts them
 * as km_reader_read delivers frames; a text matrix's were counted at open,
 * and its frames are read all the same, so that a bad value is an error as
 * in any other format: until session 44 it was not read again) and
 * n_frames where the open could not tell it.  What `knotmap info` does.
 * The reader is at its end after it.  Errors: km_reader_read's,
 * KM_ERR_NOMEM. */
KM_API km_status km_reader_scan(km_ctx *ctx, km_reader *reader, km_session_info *out);
/* km_reader_scan reading at most the frames that hold `max_values` values
 * (frames x rows x cols, the last frame whole; <= 0: every frame), so that a
 * long session is not read through only to say what it holds (`knotmap info`
 * without --scan, docs/CLI.md).  *n_read (may be NULL) gets the frames read,
 * *all (may be NULL) 1 when n_nonfinite is the file's count (every frame was
 * read, or a text matrix, which counts at open), else 0 (the count of those
 * frames).  n_frames is set as
 * km_reader_scan sets it only when the end was reached.  Errors:
 * km_reader_scan's. */
KM_API km_status km_reader_scan_at_most(km_ctx *ctx, km_reader *reader, int64_t max_values,
                                        km_session_info *out, int64_t *n_read, int *all);
/* Parse what delivering the next frame takes, decoding no more than it must:
 * for a session HDF5 whose /frames knotmap decodes itself (shuffle with
 * deflate or LZF, docs/FORMAT.md 1.2) HDF5 locates that frame's chunk in its index
 * and copies its stored bytes, which are not inflated; for any other input
 * the frame is read as km_reader_read reads it.  For the command's probe of
 * an untrusted file (docs/CLI.md, "The probe"): what km_reader_read returns
 * after it is unspecified (free the reader). */
KM_API km_status km_reader_probe(km_ctx *ctx, km_reader *reader);

/* ======================================================================
 * Session writer: knotmap session HDF5 v1 (docs/FORMAT.md 1.2).
 * Written under a temporary name in the target folder; renamed to `path`
 * only by km_session_writer_commit().  Freeing without commit removes the
 * temporary file.  The file gets mode 0666 & ~umask.  A failed write
 * (full disk, file-size limit) makes append/commit return KM_ERR_IO with
 * the OS reason ("PATH: cannot write frames 256..383: No space left on
 * device"); the writer is then abandoned (later calls fail) and free
 * removes the temporary.  A writer belongs to one thread at a time.
 * ==================================================================== */
typedef struct km_session_writer km_session_writer;

/* info supplies rows, cols, frame_rate_hz, pitches, units, mode,
 * roller_radius_mm and saturation (written as the root attribute
 * `saturation` when finite and > 0: set it to +inf or 0 when unknown; other
 * fields ignored); mask is rows*cols bytes or NULL
 * (all valid).  Frames are stored as float32, chunked and compressed.
 * overwrite: 0 refuses an existing `path`; 1 replaces a knotmap session
 * (never another file); KM_OVERWRITE_SYNTHETIC replaces only a session
 * that holds /truth, one knotmap synth wrote (km_synth_write's rule: a
 * recorded session is never replaced by a synthetic one).
 * Errors: KM_ERR_CREATE (folder missing or not writable, or `path` exists
 * and may not be replaced), KM_ERR_INVALID, KM_ERR_LIMIT, KM_ERR_IO. */
#define KM_OVERWRITE_SYNTHETIC 2
KM_API km_status km_session_writer_create(km_ctx *ctx, const char *path,
                                          const km_session_info *info, const uint8_t *mask,
                                          int32_t overwrite, km_session_writer **out);
/* Append n frames (n*rows*cols floats) and their times (n doubles; NULL =
 * frame index / frame_rate_hz). */
KM_API km_status km_session_writer_append(km_ctx *ctx, km_session_writer *w,
                                          const float *frames, const double *times, int64_t n);
/* Ground truth of a synthetic session: n knots -> /truth/knots table
 * (footprint_sigma_mm may be NULL: that column is then not written). */
KM_API km_status km_session_writer_set_truth(km_ctx *ctx, km_session_writer *w,
                                             const double *x_mm, const double *y_mm,
                                             const double *sigma_mm, const double *amplitude_kpa,
                                             const double *footprint_sigma_mm, size_t n);
/* Close, fsync and rename into place. */
KM_API km_status km_session_writer_commit(km_ctx *ctx, km_session_writer *w);
/* Free; removes the temporary file unless committed.  NULL is a no-op. */
KM_API void km_session_writer_free(km_session_writer *w);

/* ======================================================================
 * Conditioning (src/dsp).
 * ==================================================================== */

/* Per-unit conversion: 1 unit in kPa (kPa 1, mmHg 0.133322, N/cm2 10,
 * psi 6.894757, Pa 0.001, MPa 1000; ASCII case ignored, N/cm^2 as N/cm2);
 * NaN for "raw" or unknown. */
KM_API double km_units_to_kpa(const char *units);
/* The i-th unit knotmap reads (i from 0): "kPa", "mmHg", "N/cm2", "psi",
 * "Pa", "MPa", then "raw"; NULL past the end.  The one list behind
 * km_units_to_kpa, the readers' unit words and `km_read_options.units`
 * (psi, Pa and MPa are read converted to kPa).  Thread-safe. */
KM_API const char *km_units_name(int32_t i);

/* Point-wise calibration: out = gain * (in - offset); then values below
 * noise_threshold (in output units) become 0; invalid (mask 0) stay as they
 * are (they are never read downstream). */
typedef struct km_calib_params {
    double offset;             /* subtracted first [0] */
    double gain;               /* multiplied after [1] */
    double noise_threshold;    /* below -> 0 [0 = off] */
} km_calib_params;
KM_API void km_calib_params_default(km_calib_params *p);
/* in and out may alias (same data and stride).  Errors: KM_ERR_INVALID.
 * Thread-safe. */
KM_API km_status km_calibrate(km_ctx *ctx, const km_calib_params *p,
                              const km_frame *in, const km_frame_mut *out);

/* Border modes, named as scipy.ndimage names them. */
typedef enum km_border {
    KM_BORDER_NEAREST = 0,     /* aaaa|abcd|dddd */
    KM_BORDER_REFLECT = 1,     /* dcba|abcd|dcba (edge repeated) */
    KM_BORDER_MIRROR = 2,      /* dcb|abcd|cba   (edge not repeated) */
    KM_BORDER_CONSTANT = 3,    /* cval|abcd|cval */
    KM_BORDER_WRAP = 4         /* abcd|abcd|abcd */
} km_border;

/* "nearest", "reflect", "mirror", "constant", "wrap". */
KM_API km_status km_border_parse(const char *name, km_border *out);

/* Separable Gaussian smoothing, defined as scipy.ndimage.gaussian_filter
 * on float32 (radius = (int)(truncate*sigma + 0.5); rows filtered first;
 * docs/ALGORITHMS.md section 2).  Made once per shape; _apply is
 * thread-safe with a ctx per thread.  Create errors: KM_ERR_INVALID
 * (sigma < 0 or NaN, truncate <= 0, unknown border, cval not finite),
 * KM_ERR_LIMIT (grid, or radius > 2^20), KM_ERR_NOMEM. */
typedef struct km_gaussian km_gaussian;
typedef struct km_gaussian_params {
    double sigma_rows;         /* in taxels, 0 = no smoothing along rows [1] */
    double sigma_cols;         /* [1] */
    double truncate;           /* [4.0] */
    km_border border;          /* [KM_BORDER_NEAREST] */
    double cval;               /* value outside for KM_BORDER_CONSTANT [0] */
    int32_t recursive;         /* 1 = Young-van Vliet recursive filter: cost
                                  independent of sigma, an approximation of
                                  the Gaussian (sigma >= 0.5; see docs);
                                  0 = direct, exact scipy definition [0] */
} km_gaussian_params;
KM_API void km_gaussian_params_default(km_gaussian_params *p);
KM_API km_status km_gaussian_create(km_ctx *ctx, int32_t rows, int32_t cols,
                                    const km_gaussian_params *p, km_gaussian **out);
KM_API void km_gaussian_free(km_gaussian *g);
/* Smooth `in` into `out` (same shape; must not overlap).  With a mask,
 * masked taxels neither contribute (normalised convolution over valid
 * taxels) nor receive a value (their output is NaN); non-finite values
 * count as masked.  mask may be NULL: then a NaN spreads over its kernel
 * support, as in scipy.  Thread-safe on a shared object (scratch is per
 * call, from the ctx allocator, only for the mask path and rows wider
 * than 4096 - 2*radius).  Errors: KM_ERR_INVALID (shape, overlap,
 * strides), KM_ERR_NOMEM. */
KM_API km_status km_gaussian_apply(km_ctx *ctx, const km_gaussian *g, const km_frame *in,
                                   const km_mask *mask, const km_frame_mut *out);

/* 2-D convolution with an arbitrary kernel by FFT through FFTW, defined as
 * scipy.ndimage.convolve(frame, kernel, mode, cval) (origin 0):
 * out[i, j] = sum_{m, n} kernel[m, n] * ext[i + kr/2 - m, j + kc/2 - n], ext
 * the frame extended by the border rule (docs/ALGORITHMS.md 2.4).  The
 * kernel (krows x kcols, row-major, copied) is transformed and the plans
 * are made once at create (the planner is serialised).  For matched
 * filters and kernels too large for direct filtering.
 * Create errors: KM_ERR_INVALID (kernel NULL or not finite, unknown
 * border, cval not finite), KM_ERR_LIMIT, KM_ERR_NOMEM. */
typedef struct km_convolve km_convolve;
KM_API km_status km_convolve_create(km_ctx *ctx, int32_t rows, int32_t cols,
                                    const float *kernel, int32_t krows, int32_t kcols,
                                    km_border border, double cval, km_convolve **out);
KM_API void km_convolve_free(km_convolve *cv);
/* Convolve `in` into `out` (same shape as at create; must not overlap).
 * Values must be finite: one NaN makes the whole output NaN (FFT); fill
 * masked taxels first (km_fill_masked).  Thread-safe on a shared object
 * (FFT buffers per call, from the ctx allocator).  Errors: KM_ERR_INVALID
 * (shape, strides, overlap), KM_ERR_NOMEM. */
KM_API km_status km_convolve_apply(km_ctx *ctx, const km_convolve *cv, const km_frame *in,
                                   const km_frame_mut *out);

/* Temporal filters, per taxel, streaming in blocks with bounded memory
 * (docs/ALGORITHMS.md section 8).  Frames go in and out as contiguous
 * arrays of n_taxels floats each ([T, R*C] row-major).
 *   FIR_*: linear-phase windowed-sinc FIR (scipy.signal.firwin, Hamming)
 *          run as FFT overlap-save through FFTW; zero-phase: output frame
 *          n is aligned with input frame n.  The signal is extended by
 *          repeating its first frame before the start and its last frame
 *          after the end.
 *   IIR_*: causal Butterworth biquad cascade (scipy.signal.butter, sos),
 *          for real-time use: one output frame per input frame, no delay
 *          in frames (but the phase lag of a causal filter).
 *   NOTCH: causal cascade of scipy.signal.iirnotch sections at notch_hz and
 *          its harmonics below Nyquist.
 *   MEDIAN: running median over median_width frames, centred (zero-phase),
 *          ends extended as for FIR (scipy.ndimage.median_filter, nearest).
 * Zero-phase kinds output frames later than they come in: km_temporal_push
 * returns fewer frames at first (and, for FIR, in chunks of a block), and
 * km_temporal_flush returns the rest at the end; over a whole stream the
 * output count equals the input count and frame k of the output belongs
 * to input frame k.  The output does not depend on how the input is cut
 * into pushes. */
typedef enum km_temporal_kind {
    KM_TEMPORAL_FIR_LOWPASS = 0,
    KM_TEMPORAL_FIR_HIGHPASS = 1,  /* drift removal */
    KM_TEMPORAL_IIR_LOWPASS = 2,
    KM_TEMPORAL_IIR_HIGHPASS = 3,
    KM_TEMPORAL_NOTCH = 4,
    KM_TEMPORAL_MEDIAN = 5
} km_temporal_kind;

typedef struct km_temporal_params {
    km_temporal_kind kind;     /* [KM_TEMPORAL_IIR_LOWPASS] */
    double rate_hz;            /* frame rate, > 0 [0 = must be set] */
    double cutoff_hz;          /* FIR/IIR corner, 0 < f < rate/2 [1] */
    int32_t order;             /* IIR Butterworth order 1..16 [4] */
    int32_t taps;              /* FIR length, odd; 0 = 3.3 * rate / transition,
                                  transition = min(cutoff, rate/2 - cutoff) [0] */
    int32_t fft_size;          /* FIR FFT length, power of 2 >= 2*taps;
                                  0 = auto [0] */
    double notch_hz;           /* mains frequency [50] */
    double notch_q;            /* quality factor f0 / bandwidth [30] */
    int32_t harmonics;         /* notches at k * notch_hz, k = 1..harmonics,
                                  those below Nyquist [1] */
    int32_t median_width;      /* odd, 1..255 [5] */
} km_temporal_params;
KM_API void km_temporal_params_default(km_temporal_params *p);

/* A filter holds the state of one stream: km_temporal_push/flush/reset
 * change it, so an object belongs to one thread at a time.  FIR plans are
 * made here (FFTW planning is serialised behind an internal lock).
 * Errors: KM_ERR_INVALID (parameters), KM_ERR_LIMIT, KM_ERR_NOMEM. */
typedef struct km_temporal km_temporal;
KM_API km_status km_temporal_create(km_ctx *ctx, int32_t n_taxels, const km_temporal_params *p,
                                    km_temporal **out);
KM_API void km_temporal_free(km_temporal *t);
/* Frames of delay of the zero-phase kinds ((taps-1)/2 or (width-1)/2; 0
 * for causal kinds). */
KM_API int64_t km_temporal_delay(const km_temporal *t);
/* Most frames one push of n_in frames (or a flush, n_in = 0) can output:
 * size `out` for it. */
KM_API int64_t km_temporal_max_output(const km_temporal *t, int64_t n_in);
/* Filter n_in frames from `in` (n_in * n_taxels floats) and write the
 * frames now ready to `out` (see km_temporal_max_output), their count to
 * *n_out.  in and out must not overlap.  Errors: KM_ERR_INVALID. */
KM_API km_status km_temporal_push(km_ctx *ctx, km_temporal *t, const float *in, int64_t n_in,
                                  float *out, int64_t *n_out);
/* End of stream: write the frames still held back.  After a flush the
 * filter is reset for a new stream. */
KM_API km_status km_temporal_flush(km_ctx *ctx, km_temporal *t, float *out, int64_t *n_out);
/* Forget the stream (as after create). */
KM_API void km_temporal_reset(km_temporal *t);

/* Calibration curve from raw counts to pressure (Tekscan model,
 * docs/ALGORITHMS.md 1.2): a cell's pressure in kPa is p = a * raw^b
 * (b = 1: linear).  A calibration point says that a load of load_n newtons
 * spread over n_loaded cells of cell_area_mm2 each produced raw_sum counts
 * in total; the mean loaded cell then reads raw_sum / n_loaded and carries
 * load_n / (n_loaded * area) of pressure. */
typedef enum km_calib_curve {
    KM_CURVE_NONE = 0,         /* values pass through */
    KM_CURVE_LINEAR = 1,       /* p = a * raw (b = 1) */
    KM_CURVE_POWER = 2,        /* p = a * raw^b; negative raw -> -a * |raw|^b */
    KM_CURVE_HEADER = 3        /* from the source header's CALIBRATION_POINT_k
                                  keys: linear for one point, power for more
                                  (pipeline only) */
} km_calib_curve;

typedef struct km_calib_point {
    double load_n;             /* load applied, newtons (> 0) */
    double raw_sum;            /* raw counts summed over the loaded cells (> 0) */
    double n_loaded;           /* cells loaded (> 0) */
} km_calib_point;

/* Fit a and b of `curve` (LINEAR: least squares through the origin over
 * the points' mean cells, b = 1; POWER: least squares in log-log, needs 2
 * points with different mean raw).  Errors: KM_ERR_INVALID.  Thread-safe. */
KM_API km_status km_calib_curve_fit(km_ctx *ctx, km_calib_curve curve,
                                    const km_calib_point *pts, int32_t n_pts,
                                    double cell_area_mm2, double *a, double *b);
/* Read calibration points from a Tekscan header, given as n key/value
 * strings (CALIBRATION_POINT_k "75.0001 (Kgs) 4798 (Raw Sum) 240 (Number of
 * Loaded Cells)", load in Kgs, Lbs or N) and the cell area (SENSEL_AREA in
 * mm2, cm2 or in2, else ROW_SPACING * COL_SPACING).  Writes at most
 * capacity points, *n_pts = the count found (0 when the header has none).
 * Errors: KM_ERR_FORMAT (a calibration key that does not parse),
 * KM_ERR_INVALID.  Thread-safe. */
KM_API km_status km_calib_header_points(km_ctx *ctx, const char *const *keys,
                                        const char *const *values, size_t n,
                                        km_calib_point *pts, int32_t capacity,
                                        int32_t *n_pts, double *cell_area_mm2);
/* Apply p = a * raw^b in place to n values (NaN stays NaN). */
KM_API void km_calib_curve_apply(double a, double b, float *values, size_t n);

/* Bad taxels (docs/ALGORITHMS.md 10).  Statistics of a warm-up block, fed
 * frame by frame (O(rows*cols) memory), then a decision. */
#define KM_TAXEL_OK 0
#define KM_TAXEL_DEAD 1            /* flat at |v| <= dead_level */
#define KM_TAXEL_STUCK 2           /* flat elsewhere, while the neighbours move
                                      by more than 3 of the sensor's quanta
                                      (its smallest change between two
                                      frames), or it reads 4 times more than
                                      they read (or a fourth) */
#define KM_TAXEL_HOT 3             /* isolated spike in most frames */
#define KM_TAXEL_MASKED 4          /* masked by the source */
#define KM_TAXEL_OFFSET 5          /* hot: reads a steady offset while its
                                      neighbourhood is unloaded */

typedef struct km_badtaxel_params {
    double flat_range;         /* flat when max - min over the block <= this [0] */
    double dead_level;         /* a flat taxel with |value| <= this is dead [0] */
    double active_range;       /* a flat taxel counts as bad only when the median
                                  range of its valid 8-neighbours exceeds this
                                  (else the region is just unloaded) [0] */
    double hot_ratio;          /* hot when value > ratio * the largest valid
                                  neighbour (and > 0) in more than half of the
                                  frames; 0 = off [4] */
    double offset_sigmas;      /* offset (KM_TAXEL_OFFSET): in the frames where
                                  the median of its valid 8-neighbours is
                                  unloaded (see unload_sigmas), the taxel
                                  reads more than that median in at least
                                  90% of them (at least 10 frames and a
                                  fifth of the block) and of the empty
                                  frames among them (the frame's 95th
                                  percentile unloaded), by a mean above
                                  offset_sigmas times the larger of the
                                  noise there (the median over taxels of
                                  that excess's standard deviation) and the
                                  spread of the taxels' mean excesses
                                  (1.4826 MAD), and above 2% of the block's
                                  largest frame 99th percentile; 0 = off [3]
                                  (docs/ALGORITHMS.md 11.3) */
    double unload_sigmas;      /* unloaded: at most the frame's 10th
                                  percentile plus this many times the
                                  frame-to-frame noise (1.4826 MAD of the
                                  changes since the previous frame / sqrt 2)
                                  [8] */
} km_badtaxel_params;
KM_API void km_badtaxel_params_default(km_badtaxel_params *p);

typedef struct km_badtaxel km_badtaxel;
/* mask: rows*cols source mask (NULL = all valid), copied.  Errors:
 * KM_ERR_INVALID, KM_ERR_LIMIT, KM_ERR_NOMEM. */
KM_API km_status km_badtaxel_create(km_ctx *ctx, int32_t rows, int32_t cols,
                                    const uint8_t *mask, const km_badtaxel_params *p,
                                    km_badtaxel **out);
KM_API void km_badtaxel_free(km_badtaxel *b);
/* Add one contiguous frame (rows*cols) to the statistics.  One thread at a time. */
KM_API km_status km_badtaxel_add(km_ctx *ctx, km_badtaxel *b, const float *frame);
/* Classify (KM_TAXEL_* into state, rows*cols; may be NULL) and write the
 * effective mask (source mask AND not bad) into mask_out (rows*cols).
 * Returns the number of bad taxels found in *n_bad.  With no frame added
 * nothing is bad. */
KM_API km_status km_badtaxel_decide(km_ctx *ctx, const km_badtaxel *b, uint8_t *state,
                                    uint8_t *mask_out, int32_t *n_bad);
/* The sensor's noise where nothing presses, in the frames' units: the
 * offset test's noise (bad.offset_sigmas > 0), the median over the taxels
 * with enough frames of an unloaded neighbourhood (at least 10 and a fifth
 * of the frames) of the standard deviation of their excess over their
 * neighbours' median (docs/ALGORITHMS.md 11.3): how far a taxel stands
 * above its neighbours by chance, the scale of a noise peak.  NaN into
 * *noise when the offset test is off or fewer than 9 taxels qualify.
 * Errors: KM_ERR_INVALID, KM_ERR_NOMEM. */
KM_API km_status km_badtaxel_noise(km_ctx *ctx, const km_badtaxel *b, double *noise);

/* Fill masked taxels (mask 0) of a contiguous rows x cols frame in place
 * with the mean of their valid 8-neighbours, growing inwards pass by pass
 * until every taxel connected to a valid one has a value.  Taxels with no
 * valid taxel anywhere stay as they are.  scratch: rows*cols bytes or NULL
 * (then allocated from ctx).  Errors: KM_ERR_INVALID, KM_ERR_NOMEM. */
KM_API km_status km_fill_masked(km_ctx *ctx, float *frame, int32_t rows, int32_t cols,
                                const uint8_t *mask, uint8_t *scratch);

/* Conditioning chain (src/pipeline/condition.c, docs/ALGORITHMS.md 1, 2,
 * 8, 10): corrupt-frame test -> resampling -> warm-up (tare, bad taxels)
 * -> calibration -> temporal filters -> spatial filter, streaming. */
typedef struct km_condition_params {
    double resample_hz;        /* > 0: resample to this uniform rate by linear
                                  interpolation first; 0 = off [0] */
    int32_t tare_frames;       /* tare: subtract each taxel's mean over the
                                  first N frames; 0 = off [0] */
    const float *tare;         /* given per-taxel baseline, source units
                                  (rows*cols; borrowed until _create returns) [NULL] */
    const float *gain_map;     /* per-taxel equilibration gain, applied after
                                  the tare (rows*cols; borrowed likewise); a
                                  taxel whose gain is NaN or <= 0 is masked [NULL] */
    km_calib_curve curve;      /* raw -> kPa after the gain map [KM_CURVE_NONE] */
    double curve_a, curve_b;   /* p = a * raw^b, kPa [1, 1] */
    int32_t detect_bad;        /* 1 = find dead, stuck and hot taxels in the
                                  warm-up block and mask them [0] */
    int32_t warmup_frames;     /* warm-up block for detect_bad and the
                                  offset test [100] */
    km_badtaxel_params bad;    /* see km_badtaxel_params_default(); the
                                  offset test (bad.offset_sigmas [3] > 0)
                                  runs and masks its taxels even without
                                  detect_bad */
    int32_t fill_bad;          /* 1 = masked taxels are filled from valid
                                  neighbours in the output (detection still
                                  ignores them); 0 = NaN [0] */
    double corrupt_ratio;      /* a frame whose total of |values| exceeds this
                                  times the median total of the loaded (total
                                  > 0) frames among the corrupt_window frames
                                  centred on it is corrupt: flagged
                                  KM_FRAME_CORRUPT and replaced by the last
                                  good frame; 0 = off [4] */
    int32_t corrupt_window;    /* odd, 3..255 [9] */
    int32_t fir;               /* low/high-pass: 1 = zero-phase FIR, 0 = causal
                                  Butterworth IIR [1] */
    double lowpass_hz;         /* [0 = off] */
    double highpass_hz;        /* drift removal [0 = off] */
    int32_t order;             /* IIR order [4] */
    int32_t taps;              /* FIR taps, 0 = auto [0] */
    double notch_hz;           /* mains notch (and harmonics) [0 = off] */
    double notch_q;            /* [30] */
    int32_t notch_harmonics;   /* [1] */
    int32_t median_frames;     /* running median width, odd [0 = off] */
    double dog_sigma;          /* difference of Gaussians: subtract a Gaussian
                                  of this sigma (taxels, > smoothing sigma)
                                  from the (smoothed) frame [0 = off] */
} km_condition_params;
KM_API void km_condition_params_default(km_condition_params *p);

typedef struct km_conditioner km_conditioner;
/* info: rows, cols, frame_rate_hz; mask rows*cols (NULL = all valid),
 * copied; calib: the point-wise calibration applied after the curve (NULL
 * = identity); smooth: Gaussian smoothing (NULL or sigma 0 = off).
 * Errors: KM_ERR_INVALID (parameters), KM_ERR_LIMIT, KM_ERR_NOMEM.
 * One thread at a time. */
KM_API km_status km_conditioner_create(km_ctx *ctx, const km_session_info *info,
                                       const uint8_t *mask, const km_condition_params *p,
                                       const km_calib_params *calib,
                                       const km_gaussian_params *smooth, km_conditioner **out);
KM_API void km_conditioner_free(km_conditioner *c);
/* Consume n frames (n*rows*cols floats, contiguous) and their times (n
 * doubles; NULL = index / rate).  Conditioned frames become ready later
 * (warm-up, corrupt-frame window, zero-phase filters): take them with
 * km_conditioner_pull.  Errors: KM_ERR_INVALID, KM_ERR_LIMIT (a time gap
 * too long to resample), KM_ERR_NOMEM. */
KM_API km_status km_conditioner_push(km_ctx *ctx, km_conditioner *c, const float *frames,
                                     const double *times, int64_t n);
/* End of stream: every frame still held becomes ready. */
KM_API km_status km_conditioner_finish(km_ctx *ctx, km_conditioner *c);
/* Pop up to max ready frames in order: frames (max*rows*cols), times,
 * flags (KM_FRAME_CORRUPT); times and flags may be NULL.  *n = count. */
KM_API void km_conditioner_pull(km_conditioner *c, float *frames, double *times,
                                uint32_t *flags, int64_t max, int64_t *n);
/* Effective mask (rows*cols): the source mask AND not bad.  Final once the
 * first frame is ready.  Owned by c. */
KM_API const uint8_t *km_conditioner_mask(const km_conditioner *c);
/* Bad taxels masked (0 before the warm-up ended; by default only the
 * offset ones, every kind with detect_bad) and the output rate. */
KM_API int32_t km_conditioner_n_bad(const km_conditioner *c);
KM_API double km_conditioner_rate(const km_conditioner *c);
/* Of those, the taxels that read a steady offset while unloaded
 * (KM_TAXEL_OFFSET, bad.offset_sigmas). */
KM_API int32_t km_conditioner_n_offset(const km_conditioner *c);
/* KM_TAXEL_* of every taxel (rows*cols) as the warm-up classified it, or
 * NULL when no bad-taxel test ran or the warm-up has not ended; only the
 * kinds the conditioner masks (see km_conditioner_n_bad) are masked.
 * Owned by c. */
KM_API const uint8_t *km_conditioner_taxel_state(const km_conditioner *c);
/* The sensor's noise where nothing presses, over the warm-up
 * (km_badtaxel_noise), in source units (before calibration), or NaN when
 * the offset test is off, the warm-up has not ended or it found too few
 * unloaded taxels. */
KM_API double km_conditioner_noise(const km_conditioner *c);

/* Equilibration (src/pipeline/equilibrate.c, docs/ALGORITHMS.md 1.3): a
 * per-taxel gain map (km_condition_params.gain_map) from a recording of the
 * whole sensor under one uniform pressure (a bladder), so that every taxel
 * then reads the same.  The gain of a taxel is the median response of all
 * taxels divided by its own response; response = robust mean over the
 * loaded frames minus the baseline of the unloaded frames. */
typedef struct km_equil_params {
    double load_fraction;      /* a frame is loaded when its mean over valid
                                  taxels lies within [f, 1/f] times the plateau
                                  (the 90th percentile of the frame means),
                                  0 < f < 1 [0.8] */
    int32_t settle_frames;     /* loaded frames dropped at the start and the
                                  end of each run of loaded frames (the load
                                  settling) [10] */
    double unload_fraction;    /* frames whose mean is below this times the
                                  plateau are unloaded: their per-taxel mean is
                                  the baseline (0 when there are none) [0.05] */
    double clip_sigma;         /* robust mean: a second pass drops values more
                                  than this many standard deviations from the
                                  taxel's mean; 0 = plain mean [3] */
    double dead_fraction;      /* a taxel whose response is below this times
                                  the median response, or whose value never
                                  changes (stuck), is dead: gain NaN [0.1] */
    double max_gain;           /* gains are clipped to [1/max_gain, max_gain]
                                  and counted in n_clipped, >= 1 [4] */
} km_equil_params;
KM_API void km_equil_params_default(km_equil_params *p);

typedef struct km_equil_summary {
    int32_t rows, cols;        /* the recording's grid */
    int64_t n_frames;          /* frames read */
    int64_t n_loaded;          /* frames averaged (loaded, settled) */
    int64_t n_unloaded;        /* frames in the baseline */
    double plateau;            /* plateau of the frame means, recording units */
    double reference;          /* median response: the level taxels are scaled to */
    int32_t n_dead;            /* taxels with gain NaN: dead, stuck, or masked by
                                  the source */
    int32_t n_clipped;         /* gains clipped to the max_gain bounds */
    double gain_min, gain_median, gain_max; /* over the finite gains */
} km_equil_summary;

/* Compute the gain map of the uniform-load recording `path` (any format
 * km_reader_open reads, with `opt`; NULL = auto) into gains (rows*cols
 * floats, row-major; dead taxels NaN: km_conditioner masks a taxel whose
 * gain is NaN or <= 0).  Streaming: the file is read three times (frame
 * means; per-taxel mean and spread; the clipped mean); memory O(rows*cols)
 * plus 9 bytes per frame.  summary (required) gets the grid even when the
 * call fails with KM_ERR_CAPACITY (capacity < rows*cols, checked before
 * reading frames).  p NULL = defaults.  Errors: the reader's,
 * KM_ERR_CAPACITY, KM_ERR_FORMAT (no loaded frame: "PATH: no frame under
 * load", or no responding taxel), KM_ERR_INVALID, KM_ERR_NOMEM.
 * Thread-safe with a ctx per thread. */
KM_API km_status km_gain_map_from_recording(km_ctx *ctx, const char *path,
                                            const km_read_options *opt,
                                            const km_equil_params *p, float *gains,
                                            size_t capacity, km_equil_summary *summary);
/* Read a gain-map text file (docs/FORMAT.md 1.7: R lines of C numbers, nan
 * for a dead taxel) into gains (capacity floats); *rows, *cols get its
 * grid (also on KM_ERR_CAPACITY).  Errors: the text reader's, KM_ERR_FORMAT
 * (more than one matrix, or a negative gain), KM_ERR_CAPACITY.
 * Thread-safe with a ctx per thread. */
KM_API km_status km_gain_map_read(km_ctx *ctx, const char *path, float *gains, size_t capacity,
                                  int32_t *rows, int32_t *cols);

/* ======================================================================
 * Detection (src/detect): local maxima, see docs/ALGORITHMS.md.
 * ==================================================================== */
typedef enum km_plateau {
    KM_PLATEAU_ALL = 0,        /* every plateau taxel is a peak (scikit-image) */
    KM_PLATEAU_ONE = 1         /* one peak per 8-connected plateau, at its centroid */
} km_plateau;

/* Bits of km_peak_params.want: extra per-peak work, off = cheaper. */
#define KM_WANT_SUBPIXEL 1u    /* y, x by a 2-D quadratic fit */
#define KM_WANT_PROMINENCE 2u  /* prominence (and min_prominence filtering) */
#define KM_WANT_AREA 4u        /* area_taxels (needs prominence) */
#define KM_WANT_ALL 7u

typedef struct km_peak_params {
    int32_t min_distance;      /* window radius r >= 1 [1] */
    double threshold_abs;      /* v > T; NaN = minimum of valid taxels [NaN] */
    double threshold_rel;      /* T = max(abs, rel * max of valid) [0] */
    int32_t exclude_border;    /* drop peaks within b taxels of the edge;
                                  -1 = min_distance (scikit-image True), 0 = off [-1] */
    km_plateau plateau;        /* [KM_PLATEAU_ALL] */
    double p_norm;             /* distance for thinning: 1, 2 or INFINITY [INFINITY] */
    int64_t num_peaks;         /* keep the first n in the total order; < 0 = all [-1] */
    double min_prominence;     /* drop peaks less prominent (needs KM_WANT_PROMINENCE) [0] */
    double saturation;         /* value >= this gets KM_PEAK_SATURATED [+inf] */
    uint32_t want;             /* KM_WANT_* bits [KM_WANT_ALL] */
} km_peak_params;
KM_API void km_peak_params_default(km_peak_params *p);

/* Flags of a peak. */
#define KM_PEAK_AT_BORDER 1u     /* its (2r+1)^2 window is clipped by the edge */
#define KM_PEAK_PLATEAU 2u       /* reported for a plateau (plateau = one) */
#define KM_PEAK_FIT_FALLBACK 4u  /* sub-pixel fit fell back (flat/ill-conditioned) */
#define KM_PEAK_SATURATED 8u     /* value >= saturation */

/* One peak.  Maps onto a numpy structured dtype (40 bytes, aligned). */
typedef struct km_peak {
    int32_t row, col;          /* integer position */
    double y, x;               /* sub-pixel position in taxels (row, col) */
    float value;               /* frame value at (row, col) */
    float prominence;          /* persistence; NaN when not computed */
    int32_t area_taxels;       /* taxels above value - prominence/2 in its basin; -1 when not computed */
    uint32_t flags;            /* KM_PEAK_* */
} km_peak;

/* A detector owns the scratch for one frame shape; made once, applied to
 * many frames.  _apply is NOT thread-safe on one detector (scratch); use
 * one detector per thread. */
typedef struct km_detector km_detector;
KM_API km_status km_detector_create(km_ctx *ctx, int32_t rows, int32_t cols,
                                    const km_peak_params *p, km_detector **out);
KM_API void km_detector_free(km_detector *det);
/* Find the peaks of `frame` (mask may be NULL = all valid) in the total
 * order (value descending, then raster index ascending).  Writes at most
 * `capacity` peaks to `peaks` and the count to *n_peaks; when more are
 * found returns KM_ERR_CAPACITY with *n_peaks = the count needed.
 * Errors: KM_ERR_INVALID (shape differs from create), KM_ERR_CAPACITY. */
KM_API km_status km_detector_apply(km_ctx *ctx, km_detector *det, const km_frame *frame,
                                   const km_mask *mask, km_peak *peaks, size_t capacity,
                                   size_t *n_peaks);
/* One-shot: create, apply, free.  Thread-safe with a ctx per thread. */
KM_API km_status km_find_peaks(km_ctx *ctx, const km_frame *frame, const km_mask *mask,
                               const km_peak_params *p, km_peak *peaks, size_t capacity,
                               size_t *n_peaks);

/* ======================================================================
 * Frame metrics (src/detect): one row of /metrics.
 * ==================================================================== */
#define KM_FRAME_CORRUPT 1u      /* frame judged corrupt (not used for peaks) */
#define KM_FRAME_SATURATED 2u    /* some valid taxel >= saturation */
#define KM_FRAME_EMPTY 4u        /* no valid taxel above the contact threshold */
#define KM_FRAME_ALL_CONTACT 8u  /* every valid taxel above the contact threshold
                                    (the contact is the whole sheet; in every
                                    frame, the unloaded sheet's floor likely
                                    stands above the threshold) */

typedef struct km_metrics {
    double peak;               /* max valid value (NaN if none) */
    double mean;               /* mean over valid taxels */
    double contact_area_mm2;   /* valid taxels > contact_threshold times pitch area */
    double force_n;            /* sum of pressure * taxel area, in N; NaN for raw units */
    double cop_x_mm, cop_y_mm; /* centre of pressure over contact taxels; NaN if none */
    uint32_t flags;            /* KM_FRAME_* */
} km_metrics;

/* units_to_kpa from km_units_to_kpa(); contact_threshold in frame units.
 * Thread-safe. */
KM_API km_status km_frame_metrics(km_ctx *ctx, const km_frame *frame, const km_mask *mask,
                                  double row_pitch_mm, double col_pitch_mm, double units_to_kpa,
                                  double contact_threshold, double saturation, km_metrics *out);

/* ======================================================================
 * Tracking (src/track/track.c): link peaks across frames into tracks in
 * body coordinates (docs/ALGORITHMS.md 9).  Streaming; one thread at a
 * time per tracker.
 * ==================================================================== */
typedef struct km_track_params {
    double gate_mm;            /* a peak may continue a track when within this
                                  distance of the track's last position [15] */
    int32_t max_gap;           /* frames a track may miss and still continue [2] */
} km_track_params;
KM_API void km_track_params_default(km_track_params *p);

/* One finished track: a row of /tracks. */
typedef struct km_track {
    int32_t track;             /* id, 0, 1, ... in order of first appearance */
    int64_t first_frame, last_frame;
    int64_t n_frames;          /* frames with a linked peak */
    double y_mean, x_mean;     /* mean position of its peaks, mm */
    float value_max;           /* highest peak value */
} km_track;

typedef struct km_tracker km_tracker;
/* Errors: KM_ERR_INVALID (gate <= 0 or not finite, max_gap < 0), KM_ERR_NOMEM. */
KM_API km_status km_tracker_create(km_ctx *ctx, const km_track_params *p, km_tracker **out);
KM_API void km_tracker_free(km_tracker *t);
/* Link the n peaks of one frame (y_mm, x_mm, value: n entries each, in the
 * detector's total order) and write each peak's track id to ids (n).
 * Frames must increase.  Scratch grows with the largest n seen (amortised,
 * not per frame).  Errors: KM_ERR_INVALID (frame order, NULL arrays),
 * KM_ERR_NOMEM. */
KM_API km_status km_tracker_update(km_ctx *ctx, km_tracker *t, int64_t frame, const double *y_mm,
                                   const double *x_mm, const float *value, size_t n,
                                   int32_t *ids);
/* End of stream: every active track ends. */
KM_API km_status km_tracker_finish(km_ctx *ctx, km_tracker *t);
/* Pop up to `capacity` ended tracks, in order of ending (last frame, then
 * id), into out; returns the count popped.  Tracks end when they miss more
 * than max_gap frames, or at km_tracker_finish. */
KM_API size_t km_tracker_pop(km_tracker *t, km_track *out, size_t capacity);
/* Tracks started so far (= the next id). */
KM_API int64_t km_tracker_count(const km_tracker *t);

/* ======================================================================
 * Knot candidates: body locations where a compact pressure excess over the
 * surrounding contact recurs across passes (docs/ALGORITHMS.md 10).  The
 * maps are accumulated on the body grid (src/track/candidates.c), the
 * candidates detected on them by the pipeline's composition of the map
 * filters (src/pipeline/candidate_detect.c).  Parameters and results here;
 * the body grid and the accumulator object are declared after the body
 * map.
 * ==================================================================== */
typedef struct km_candidate_params {
    double background_sigmas;  /* local background = median of the frame row
                                  within +-this many times the largest footprint
                                  sigma searched (max_sigma_mm, or knot_sigma_mm
                                  when set), in columns by the column pitch,
                                  rounded, at least 1 (itself included) [2] */
    double seen_threshold;     /* a pass "sees" a cell when its pass maximum
                                  excess reaches this, session units [8] */
    double min_prominence;     /* floor on a candidate's fitted knot amplitude
                                  (its prominence), session units [4] */
    double min_snr;            /* threshold on a candidate's significance: its
                                  matched-filter response in noise standard
                                  deviations of the ridge-free map (noise
                                  measured from the session, robust) [5];
                                  while the sigmas are searched, a footprint
                                  fitted at 6 mm or more needs 0.8 x this
                                  (broad filters have fewer noise peaks per
                                  area), and on a roller a peak whose excess
                                  recurs under a second sensor row 0.8 x what
                                  it needs otherwise; a roller peak seen in
                                  every pass that covered it at 0.16 of the
                                  contact pressure or more needs at most
                                  0.8 x this (docs/ALGORITHMS.md 10 step 4) */
    double knot_sigma_mm;      /* > 0: one expected footprint sigma (mm) for the
                                  matched filter; 0 = search the sigmas from
                                  min_sigma_mm to max_sigma_mm [0] */
    double min_sigma_mm, max_sigma_mm; /* footprint sigmas searched, mm [3, 15] */
    double ridge_sigmas;       /* ridges along y (taut bands) are removed by
                                  subtracting the median of the map column within
                                  +-this many times the largest footprint sigma
                                  searched (as background_sigmas), in rows by the
                                  row pitch, rounded, at least 1; 0 = off [4.5] */
    double min_distance_mm;    /* a candidate's peak is the largest amplitude
                                  within +-this along each axis of the map, in
                                  cells by that axis' pitch, rounded, at least 1,
                                  and a candidate placed within that window of a
                                  stronger one is dropped [10] */
    int32_t min_coverage;      /* cells covered by fewer passes are ignored [2] */
    double min_persistence;    /* candidates seen in fewer than this share of
                                  the passes covering them are dropped [0.3] */
    int32_t max_candidates;    /* keep the best n, < 0 = all [100] */
    int32_t stuck_frames;      /* a taxel that repeats exactly the same value
                                  (0 included: dead) in this many frames in
                                  which most of its 4 neighbours change is
                                  stuck and ignored while it stays so; 0 = off [25] */
    /* Contact rule of km_candidates_create's grid (docs/ALGORITHMS.md 7.2);
       km_bodygrid_create takes it from its km_bodymap_params instead. */
    int32_t contact_half_rows; /* roller: rows within +-this of the contact row [1] */
    double contact_threshold;  /* mat: taxel in contact above this [5] */
    int32_t pass_gap_frames;   /* untouched frames that end a pass [5] */
    int32_t flat_field;        /* roller: 1 = estimate each taxel's gain from
                                  the body cells that two or more sensor rows
                                  pressed (a roller turned while lifted) and
                                  divide it out of the candidate map where the
                                  evidence suffices (docs/ALGORITHMS.md 7.5;
                                  km_bodygrid_flat_field); 0 = off.  Off by
                                  default: measured not to help yet (7.5).
                                  The pipeline turns it off when a gain map
                                  is given (equilibrate, gain_map_path,
                                  cond.gain_map) [0] */
    double drift_sigmas;       /* a cell's pass maxima are fitted by a line in
                                  time; its slope, shrunk towards 0 by this many
                                  standard errors, is taken off the candidate
                                  map back to the cell's first pass: a sensor
                                  that drifts over a long session adds nothing
                                  (docs/ALGORITHMS.md 10 step 3); 0 = off [3] */
    double one_taxel_weight;   /* a peak one taxel wide (a spike removed before
                                  the matched filter, or a peak whose 4
                                  neighbours stand under 0.15 of its excess):
                                  a knot narrower than a column or a hot
                                  taxel, which the map cannot tell apart.
                                  Listed with the significance b (1 -
                                  exp(-W z / b)) for its z, b = 0.9 x the
                                  default min_snr x the default
                                  min_persistence (1.35): about W z for small z,
                                  never b or more, so at the defaults a
                                  single taxel is never a candidate, and a
                                  run with the thresholds opened lists it
                                  after every peak that passes the default
                                  one (docs/ALGORITHMS.md 10 step 4,
                                  One-taxel peaks); 0 = not listed [0.05] */
    double min_pressure_share; /* mat: a peak (not one taxel) whose fitted
                                  amplitude is under this share of the
                                  contact pressure at its cell (the body
                                  map's maximum there) is dropped: a knot is
                                  a spot that much stiffer than the tissue
                                  around it, while what the row and column
                                  medians leave of the body's own relief (a
                                  bony prominence, a band's end) stands at a
                                  smaller share (docs/ALGORITHMS.md 10 step
                                  4, Peaks); 0 = off [0.12].  Rollers: not
                                  applied.  A peak whose contact pressure
                                  reaches 0.99 of the session's saturation
                                  is exempt (a knot pressed into saturation
                                  reads a clipped share) */
    int32_t background_slope;  /* roller: the row background of step 1
                                  follows a straight line through the row,
                                  so that a knot on the body's flank (a
                                  thigh) keeps its excess: 1 = its slope
                                  from the medians beyond half the window
                                  on either side (a strong knot can tilt a
                                  neighbour's line), 2 = the slope of the
                                  row's opening (every bump narrower than
                                  the window cut off) between the columns
                                  a window away, which no knot tilts; 0 =
                                  the plain row median (docs/ALGORITHMS.md
                                  10 step 1, Slope: off by default, 1 made
                                  a false candidate on the bundled example,
                                  2 lost F1 on held-back model 2 hard
                                  rollers) [0] */
    double seen_noise;         /* > 0: the seen threshold follows the
                                  session's noise: a pass sees a cell at
                                  min(seen_threshold, this x the map's global
                                  noise), taken down to a rung of the ladder
                                  seen_threshold x 2/8 .. 7/8 counted during
                                  the frames (KM_SEEN_RUNGS) and floored at
                                  its lowest; n_passes and persistence of
                                  the candidates then count that threshold
                                  (the maps' n_seen and the first and last
                                  times stay at seen_threshold);
                                  0 = seen_threshold alone (docs/ALGORITHMS.md
                                  10 step 3, Seen from the session's noise) [3] */
    double band_share;         /* roller: a peak (not one taxel) whose fitted
                                  amplitude is under 0.14 of the contact
                                  pressure at its cell and whose candidate
                                  map keeps at least this share of its
                                  height along one line on both sides, 2.5
                                  and 4 fitted sigmas away (a taut band, a
                                  bony prominence's ridge: the body's own
                                  shape, long where a knot is round), keeps
                                  1 - that share (at 2.5 sigmas) of its
                                  significance: what stands above the
                                  line's level is the knot's
                                  (docs/ALGORITHMS.md 10 step 4, Elongated
                                  peaks); 0 = off [0.4] */
    int32_t broad_taxel;       /* roller: 1 = a peak that the full scale
                                  search fits one taxel wide (at most one
                                  scale step above min_sigma_mm) on a cell
                                  a second sensor row pressed without
                                  seeing its excess stays one taxel when
                                  the broad scales' own search (6 mm and
                                  up) finds it again; 0 = that search
                                  judges it by its broad fit alone
                                  (docs/ALGORITHMS.md 10 step 4, Broad
                                  scales) [0] */
} km_candidate_params;
KM_API void km_candidate_params_default(km_candidate_params *p);

/* One candidate: a row of /candidates. */
typedef struct km_candidate {
    double x_mm, y_mm;         /* body position, sub-pixel */
    float peak;                /* accumulated excess at the peak cell */
    float prominence;          /* fitted knot amplitude: least-squares amplitude
                                  of the footprint on the ridge-free map */
    double area_mm2;           /* basin of the fitted amplitude map above half
                                  the prominence (the footprint as filtered) */
    int32_t n_passes;          /* passes that saw it */
    int32_t n_covering;        /* passes that covered it */
    double persistence;        /* n_passes / n_covering */
    double first_time, last_time; /* s; NaN when never seen */
    double score;              /* significance * persistence: the ranking key */
    double size_mm;            /* fitted footprint sigma, mm (the matched-filter
                                  scale of the largest significance) */
    double amplitude;          /* fitted knot amplitude at that scale, session
                                  units (e.g. kPa): least-squares amplitude of
                                  the footprint on the ridge-free map */
    double significance;       /* z: amplitude over the session-measured noise of
                                  that amplitude (matched-filter snr; on a
                                  roller the local noise leaves out the peak's
                                  own footprint) */
} km_candidate;
/* What the candidates' seen count (km_candidate.n_passes, persistence)
 * followed (docs/ALGORITHMS.md 10 step 3, Seen from the session's noise;
 * /params cand_map_noise and cand_seen_threshold_used of a result). */
typedef struct km_candidate_seen {
    double map_noise;          /* the candidate map's global noise (docs/
                                  ALGORITHMS.md 10 step 4, Noise), in the
                                  frames' units; recorded whatever
                                  seen_noise is; NaN on an empty grid; on
                                  a map without noise the floor taken
                                  instead, 1e-6 of its largest magnitude
                                  (1 on an all-zero map) */
    double threshold;          /* the seen threshold counted, same units:
                                  seen_threshold when seen_noise is 0 (or
                                  on an empty grid), else the ladder's rung
                                  for min(seen_threshold, seen_noise x
                                  map_noise) (km_bodygrid_seen_at) */
} km_candidate_seen;

/* ======================================================================
 * Pipeline (src/pipeline): one session, streaming, file to result HDF5.
 * ==================================================================== */
typedef struct km_process_params {
    km_read_options read;      /* see km_read_options_default() */
    km_calib_params calib;     /* see km_calib_params_default() */
    km_gaussian_params smooth; /* sigma 0 = off; see km_gaussian_params_default() */
    km_peak_params peaks;      /* see km_peak_params_default() */
    int32_t keep_suspect;      /* 1 = taxels the warm-up finds stuck or hot
                                  (cond.bad) but does not mask (detect_bad
                                  off) stay in peak detection, where each
                                  makes a peak in every frame and its value
                                  holds up threshold_rel, and in the metrics
                                  and maps; 0 = they are left out of the
                                  peaks (and so of the tracks), the metrics,
                                  the body map's pressure, mean and coverage
                                  and the per-taxel maps (NaN there), still
                                  counted in n_suspect_taxels; the
                                  candidates and odometry see them either
                                  way (docs/ALGORITHMS.md 3.7) [0] */
    double floor_sigmas;       /* with peaks.threshold_abs NaN: peaks must
                                  exceed floor_sigmas times the sensor's
                                  noise measured in the warm-up
                                  (km_conditioner_noise x the calibration
                                  gain; docs/ALGORITHMS.md 3.7); 0 = off, and
                                  off without a warm-up or with a calibration
                                  curve (then the frame minimum) [8] */
    double zero_rate;          /* the peaks are measured from each taxel's
                                  zero, the low envelope of its reading,
                                  which follows a drift of up to zero_rate
                                  times the warm-up's noise a minute
                                  (docs/ALGORITHMS.md 3.7); 0 = off (also
                                  without a measured noise); NaN = 8 on a
                                  roller, 0 on a mat, whose loaded taxels
                                  are never unloaded [NaN] */
    double contact_threshold;  /* contact when value > this, in session units [0] */
    int64_t block_frames;      /* frames pulled per block [256] */
    int32_t save_frames;       /* 1 = write /frames/conditioned [0] */
    int32_t overwrite;         /* 1 = replace an existing knotmap result [1];
                                  any other existing file is never replaced */
    const char *command_line;  /* recorded in the result [NULL = ""] */
    /* Called after each block with frames done and total (-1 if unknown);
       return nonzero to cancel.  [NULL] */
    int (*progress)(void *user, int64_t frames_done, int64_t frames_total);
    void *progress_user;
    km_track_params track;     /* see km_track_params_default() */
    km_candidate_params cand;  /* see km_candidate_params_default(); its contact
                                  rule also drives the body map */
    double lift_threshold;     /* roller odometry lift test, session units [5] */
    km_condition_params cond;  /* conditioning chain, see km_condition_params_default()
                                  (by default only the corrupt-frame test is on);
                                  the smoothing is `smooth`, the calibration `calib`;
                                  corrupt frames report no peaks */
    int32_t n_threads;         /* threads for the per-frame stage (metrics, peak
                                  detection) of each block [1]; results are
                                  identical for any count; > 1 needs a
                                  thread-safe allocator in the ctx */
    const char *equilibrate;   /* uniform-load recording: its gain map
                                  (km_gain_map_from_recording with `equil`,
                                  format auto, the session's grid only where
                                  the file carries none) becomes cond.gain_map;
                                  its grid must be the session's [NULL] */
    km_equil_params equil;     /* see km_equil_params_default() */
    const char *gain_map_path; /* gain-map text file (km_gain_map_read) for
                                  cond.gain_map; its grid must be the
                                  session's.  At most one of equilibrate,
                                  gain_map_path, cond.gain_map [NULL] */
} km_process_params;
/* Fill `p` with the pipeline defaults, which differ from the stages' own
 * defaults where knots need it: smoothing off (sigma 0: a 3-6 mm knot covers
 * one or two 5-10 mm taxels, smoothing flattens it); peaks min_distance 2,
 * threshold_abs NaN (floor_sigmas x the warm-up's noise, else the frame
 * minimum), threshold_rel 0.1, exclude_border 0
 * (edge peaks kept, flagged AT_BORDER), plateau ONE, p_norm INFINITY,
 * num_peaks -1, min_prominence 0, saturation +inf (= the session's
 * saturation), want KM_WANT_ALL; calibration identity; the rest as marked
 * above.  Units: a session in kPa/mmHg/N/cm2 is converted to kPa (the
 * conversion is folded into the gain, so offset is in source units and
 * noise_threshold, contact_threshold, threshold_abs and min_prominence in
 * kPa); a raw session stays raw.  Thread-safe. */
KM_API void km_process_params_default(km_process_params *p);

/* ======================================================================
 * Parameter vocabulary (src/pipeline/param_table.c): km_process_params
 * described once, one row per parameter, as FFmpeg's AVOption tables do.
 * The `knotmap process` options and their help, the /params group of a
 * result, the keywords of knotmap.process() and the option tables of
 * docs/CLI.md come from this table or are checked against it by tests.
 * Defaults are not in the table: they are what km_process_params_default()
 * fills in (read them with km_param_value() on a defaulted struct).
 * Adding a parameter: the struct field, its default, one row.
 * ==================================================================== */
typedef enum km_param_type {
    KM_PARAM_DOUBLE = 0,       /* double; the CLI wants a finite number */
    KM_PARAM_INT32 = 1,        /* int32_t */
    KM_PARAM_INT64 = 2,        /* int64_t */
    KM_PARAM_UINT32 = 3,       /* uint32_t (bit set) */
    KM_PARAM_BOOL = 4,         /* int32_t 0/1; a CLI flag (no value) sets 1
                                  (KM_PARAM_NEGATED: sets 0) */
    KM_PARAM_ENUM = 5,         /* int-sized enum: value v is names[v] */
    KM_PARAM_STRING = 6,       /* const char * (NULL recorded as "") */
    KM_PARAM_UNITS = 7,        /* const char *: a unit km_units_to_kpa knows, or "raw" */
    KM_PARAM_GIVEN = 8,        /* a pointer, recorded as 1 when not NULL */
    KM_PARAM_SIZE = 9,         /* int64_t bytes; the CLI also takes K, M, G (binary) */
    KM_PARAM_PAIR = 10,        /* CLI only: "V" or "RxC" sets the doubles at offset
                                  and offset2 */
    KM_PARAM_GRID = 11,        /* CLI only: "RxC" sets the int32_t at offset and offset2 */
    KM_PARAM_UINT64 = 12       /* uint64_t (a seed) */
} km_param_type;

/* Bits of km_param.flags. */
#define KM_PARAM_RECORDED 1u   /* written to /params of a result under `name` */
#define KM_PARAM_DERIVED 2u    /* recorded from the run (result units, equilibration
                                  statistics), not a parameter: offset is private */
#define KM_PARAM_NEGATED 4u    /* BOOL: the CLI flag sets 0 (--iir, --no-overwrite) */
#define KM_PARAM_MIN_OPEN 8u   /* the range excludes min */
#define KM_PARAM_MAX_OPEN 16u  /* the range excludes max */
#define KM_PARAM_AS_INT 32u    /* ENUM recorded as its integer value, not its name */
#define KM_PARAM_PAIR_ONE 64u  /* PAIR also takes one value V (= VxV) */
#define KM_PARAM_RESOLVED 128u /* recorded as the run resolved it (a header curve, the
                                  block size used, the session's saturation): not
                                  compared with the default by km_result_info_read */

typedef struct km_param {
    const char *name;          /* /params key ("peaks_min_distance"); NULL for the
                                  CLI-only PAIR and GRID rows */
    const char *option;        /* `knotmap process` long option without "--"
                                  ("min-distance"), NULL when the CLI has none */
    const char *keyword;       /* knotmap.process() keyword when it is not the
                                  option with '-' -> '_' (NULL) */
    const char *alias;         /* older CLI name kept for scripts, or NULL */
    km_param_type type;
    size_t offset;             /* of the field in km_process_params (the table's
                                  struct: km_synth_params for km_synth_param_table) */
    size_t offset2;            /* PAIR, GRID: the second field */
    double min, max;           /* accepted range (numbers; see the _OPEN flags) */
    const char *const *names;  /* ENUM: names by value, NULL-terminated */
    const char *metavar;       /* the value in the help ("N", "HZ"), NULL for flags */
    const char *units;         /* "mm", "Hz", "frames", "taxels", "result units", ... */
    const char *group;         /* the help section it is listed under */
    const char *doc;           /* one line for the help (default appended from
                                  the struct's *_default()) */
    uint32_t flags;            /* KM_PARAM_* bits */
} km_param;

/* The rows, in /params order; *n gets the count.  Static, thread-safe. */
KM_API const km_param *km_process_param_table(size_t *n);
/* The help sections (km_param.group) in the order the help lists them;
 * *n gets the count.  Static. */
KM_API const char *const *km_process_param_groups(size_t *n);
/* The row whose name, option or keyword is `key`; NULL if none. */
KM_API const km_param *km_process_param_find(const char *key);
/* Value of row d in p, the table's struct (km_process_params, or
 * km_synth_params for a km_synth_param_table row): numbers in *num (ENUM:
 * the value; GIVEN: 0/1; STRING: NaN), text in *text (ENUM: the name or
 * "unknown"; STRING and UNITS: the string or ""; else NULL).  Either may
 * be NULL.  PAIR and GRID rows give the first field.  Thread-safe. */
KM_API void km_param_value(const void *p, const km_param *d, double *num, const char **text);

#define KM_SUMMARY_TOP 5
typedef struct km_process_summary {
    km_session_info info;
    int64_t n_frames;
    int64_t n_peaks;
    int64_t n_corrupt_frames;
    int64_t n_all_contact_frames; /* frames flagged KM_FRAME_ALL_CONTACT */
    int32_t n_top;             /* entries used in top[] */
    struct {                   /* the hottest peaks of the session, by value, at
                                  distinct places: no two within min_distance
                                  taxels (Chebyshev) of each other */
        int64_t frame;
        double time;
        int32_t row, col;
        double y_mm, x_mm;
        float value;
        float prominence;
    } top[KM_SUMMARY_TOP];
    int64_t n_tracks;
    int64_t n_candidates;
    int32_t n_cand;            /* entries used in cand[] */
    km_candidate cand[KM_SUMMARY_TOP]; /* the best candidates, by score */
    int32_t bodymap_ny, bodymap_nx; /* body map shape (0 x cols before contact) */
    int32_t n_bad_taxels;      /* taxels masked as bad (/params/bad_taxels) */
    int32_t n_offset_taxels;   /* of which read a steady offset while unloaded
                                  (/params/offset_taxels; masked by default) */
    int32_t n_suspect_taxels;  /* found stuck or hot in the warm-up but not
                                  masked (without detect_bad); left out of
                                  the peaks, metrics and maps unless
                                  keep_suspect (/params/suspect_taxels) */
    double noise;              /* the sensor's frame-to-frame noise in the
                                  warm-up, result units (/params/noise; NaN:
                                  no warm-up) */
    double peaks_floor;        /* the peaks' floor, floor_sigmas x noise
                                  (/params/peaks_floor; NaN: none) */
    double peaks_zero_drift;   /* the largest rise of a taxel's zero the
                                  peaks followed, at the end, result units
                                  (/params/peaks_zero_drift; NaN: not
                                  followed, zero_rate 0) */
    int32_t n_flat_field_taxels; /* taxels whose gain the session flat field
                                  estimated and divided out of the candidate
                                  map (/params/cand_flat_field_taxels; 0 when
                                  km_candidate_params.flat_field is 0) */
    double zero_drift;         /* roller: how far apart the sensor rows' unloaded
                                  levels drifted over the session, result units
                                  (km_odometry_zero_drift; /params/odo_zero_drift);
                                  0 on a mat */
    double zero_drift_limit;   /* roller: the zero drift beyond which the odometry
                                  and the body map do not follow it (re-tare the
                                  sensor; /params/odo_zero_drift_limit); 0 on a
                                  mat or without contact */
    double cand_map_noise;     /* the candidate map's global noise, result
                                  units (/params/cand_map_noise;
                                  km_candidate_seen.map_noise; NaN: no map) */
    double cand_seen_threshold_used; /* the seen threshold the candidates'
                                  n_passes counted, result units
                                  (/params/cand_seen_threshold_used;
                                  km_candidate_seen.threshold) */
} km_process_summary;

/* Read `input`, condition, detect, and write the result HDF5 to `output`
 * (written under a temporary name in the same folder and renamed when
 * complete; nothing is left under `output` on failure).  summary may be
 * NULL.  Errors: any reader error, KM_ERR_CREATE (output folder or an
 * existing non-result file at `output`, or output == input, or the
 * temporary cannot be created or first written), KM_ERR_IO (a write, fsync
 * or rename failed, e.g. a full disk or a file-size limit: the detail names
 * `output` and the OS reason, "OUT: cannot append peaks: No space left on
 * device"; the temporary is removed), KM_ERR_CANCELLED.  A failed write
 * never leaves HDF5 in a state that crashes at exit (docs/FORMAT.md 2.1).
 * Every number of `p` is first checked against its row of
 * km_process_param_table() (min, max; NaN only where it is the default):
 * KM_ERR_INVALID naming the option and keyword ("--sigma 1e+30 (keyword
 * sigma) is out of range [0, 65536] taxels"), as km_engine_create does.
 * An `output` named as a picture or a report (.png, .svg, .pdf, .html,
 * .htm, any case) is KM_ERR_INVALID before anything is read: a result is
 * HDF5 (km_render, km_report make those from it).
 * Thread-safe with a ctx per thread (HDF5 calls are serialised inside). */
KM_API km_status km_process(km_ctx *ctx, const char *input, const char *output,
                            const km_process_params *p, km_process_summary *summary);

/* ======================================================================
 * Pipeline engine (src/pipeline/engine*.c): the pipeline of km_process for
 * frames that arrive by themselves (a live acquisition loop, a GUI): push
 * frames in blocks of any size, look at the body map and candidates so far
 * at any time, finish.  km_process is this engine driven by a reader, with
 * a result writer behind it: for the same frames, times and parameters the
 * body map and candidates are the ones `knotmap process` writes, however
 * the frames were split into pushes.  One thread at a time per engine; a
 * ctx with the creator's allocator on each call.
 * ==================================================================== */
typedef struct km_engine km_engine;

/* Create an engine for a session of `info` (rows, cols, frame_rate_hz,
 * row_pitch_mm, col_pitch_mm, units, mode, roller_radius_mm, saturation;
 * the rest unused) with the parameters of km_process (NULL = defaults;
 * p->read, save_frames, overwrite, command_line and progress are unused; a
 * calibration curve must be given, KM_CURVE_HEADER needs a file: use
 * km_process).  mask: rows*cols, 1 = valid (NULL = all valid), copied.
 * n_threads > 1 runs each block's per-frame stage on threads (results
 * identical).  Errors: KM_ERR_INVALID (parameters), KM_ERR_LIMIT,
 * KM_ERR_NOMEM, the errors of an equilibrate / gain_map_path file. */
KM_API km_status km_engine_create(km_ctx *ctx, const km_session_info *info,
                                  const uint8_t *mask, const km_process_params *p,
                                  km_engine **out);
/* Push n frames (n*rows*cols floats, row-major, contiguous) taken at
 * `times` (n seconds, increasing; NULL = frame index / frame_rate_hz).
 * Frames are processed as soon as conditioning releases them (filters
 * with a delay hold a few back until km_engine_finish).  Errors:
 * KM_ERR_INVALID (after finish, bad arguments, a time that is not
 * finite), KM_ERR_LIMIT, KM_ERR_NOMEM, KM_ERR_CANCELLED.  A push or finish
 * that fails for any reason but bad arguments may have taken part of the
 * frames: from then on push, finish and the snapshots return that first
 * status again ("engine: an earlier call failed (...)"); only
 * km_engine_free is left to do. */
KM_API km_status km_engine_push(km_ctx *ctx, km_engine *e, const float *frames,
                                const double *times, int64_t n);
/* End of the stream: frames held back are processed, the last tracks end.
 * Pushing afterwards is KM_ERR_INVALID; snapshots still work.  Calling it
 * twice is harmless. */
KM_API km_status km_engine_finish(km_ctx *ctx, km_engine *e);

/* The geometry of the body map so far (as km_bodymap_shape): cell (iy,
 * ix) centre at (ix * x_pitch_mm, y0_mm + iy * y_pitch_mm); ny = 0 before
 * any contact. */
typedef struct km_engine_map {
    int32_t mode;              /* km_mode */
    int32_t ny, nx;
    double y0_mm, y_pitch_mm, x_pitch_mm;
} km_engine_map;
/* Snapshot of the body map: its shape into *map and, into caller buffers
 * of `capacity` >= ny*nx cells (any may be NULL: call first with all NULL
 * to learn the shape), max and mean pressure (NaN where never sampled),
 * coverage (passes) and the candidate excess map (NaN below min_coverage).
 * Errors: KM_ERR_CAPACITY, KM_ERR_NOMEM. */
KM_API km_status km_engine_bodymap(km_ctx *ctx, km_engine *e, km_engine_map *map, float *max,
                                   float *mean, int32_t *coverage, float *excess,
                                   size_t capacity);
/* Snapshot of the knot candidates found on the map so far, best first:
 * at most capacity into out, *n = count found (KM_ERR_CAPACITY when more;
 * a body map's ny*nx always suffices).  Errors: KM_ERR_CAPACITY, KM_ERR_NOMEM. */
KM_API km_status km_engine_candidates(km_ctx *ctx, km_engine *e, km_candidate *out,
                                      size_t capacity, size_t *n);
/* km_engine_candidates, and *seen (NULL: not wanted) filled in as
 * km_bodygrid_candidates_seen does: the map noise and the seen threshold
 * the candidates' n_passes counted (after km_engine_finish, the /params
 * cand_map_noise and cand_seen_threshold_used km_process writes for the
 * same frames; km_process_summary's fields of those names). */
KM_API km_status km_engine_candidates_seen(km_ctx *ctx, km_engine *e, km_candidate *out,
                                           size_t capacity, size_t *n, km_candidate_seen *seen);
/* The session as the results see it: units after calibration ("kPa" for a
 * pressure unit), output rate, saturation in result units; n_frames =
 * frames processed so far. */
KM_API void km_engine_info(const km_engine *e, km_session_info *info);
/* Free the engine (unfinished work is dropped).  NULL is a no-op. */
KM_API void km_engine_free(km_engine *e);

/* *complete = 1 when `path` is a knotmap result that was written to the end
 * (root attribute complete = 1, set last before the rename), else 0 (also
 * when the file is missing, is not HDF5, or is something else).  Batches use
 * it to resume: a complete result need not be made again.
 * Errors: KM_ERR_INVALID (NULL); KM_ERR_IO when another program holds the
 * file open for writing (HDF5's file lock: "in use"), *complete 0.
 * Thread-safe. */
KM_API km_status km_result_is_complete(km_ctx *ctx, const char *path, int *complete);

/* Every filtered dataset of the HDF5 file at `path` (a result) checked
 * before another reader decodes it, as knotmap's own readers check each
 * dataset they read (docs/FORMAT.md 1.2, "Chunks decode to their size"):
 * each stored chunk must decode to its chunk's size; a filter whose output
 * knotmap cannot bound, or a filtered chunk over 64 MiB, is refused too.
 * frames = 0 leaves /frames/conditioned out (a reader that does not read
 * it).  Python's read_result calls it before h5py reads the file.  Costs
 * about one decoding of the file's data.  Errors: KM_ERR_NOT_FOUND,
 * KM_ERR_FORMAT ("PATH: /candidates/score cannot be read: the chunk at
 * byte N: M bytes stored do not decode to its K bytes, damaged file"),
 * KM_ERR_IO (in use), KM_ERR_NOMEM, KM_ERR_INVALID (NULL).  Thread-safe
 * with one ctx per thread. */
KM_API km_status km_result_check_chunks(km_ctx *ctx, const char *path, int frames);

/* What `knotmap info RESULT` shows: a result summarised (docs/FORMAT.md 2.1). */
#define KM_RESULT_INFO_COLS 24
#define KM_RESULT_INFO_PARAMS 64
typedef struct km_result_info {
    km_session_info session;   /* /session as recorded: grid, pitch, rate, units, mode,
                                  n_frames (frames processed), assumed; format from
                                  the root attribute source_format */
    char source_path[1024];    /* root attributes (truncated to fit) */
    char knotmap_version[32];
    char created_utc[32];
    char command_line[1024];
    int32_t complete;          /* root attribute complete = 1 */
    int64_t n_peaks, n_tracks, n_candidates;
    int32_t n_best;            /* rows in best[].v: the first rows of /candidates
                                  (the best by score), at most KM_SUMMARY_TOP */
    int32_t n_best_cols;       /* columns of /candidates, in file order */
    struct {
        char name[64];
        char units[16];
        double v[KM_SUMMARY_TOP];
    } best[KM_RESULT_INFO_COLS];
    int32_t n_changed;         /* /params whose value differs from a default run's
                                  (km_process_params_default()), in file order */
    struct {
        char name[48];
        char value[48];
        char dflt[48];
    } changed[KM_RESULT_INFO_PARAMS];
    double cand_map_noise;     /* /params cand_map_noise and */
    double cand_seen_threshold_used; /* cand_seen_threshold_used (NaN when
                                  absent: results before session 41) */
    int32_t all_contact;       /* 1: every frame's /metrics flags carry
                                  KM_FRAME_ALL_CONTACT (the whole sheet in contact) */
    double contact_threshold;  /* /params contact_threshold (NaN when absent) */
} km_result_info;

/* Summarise the result at `path` into *out.  Errors: KM_ERR_NOT_FOUND,
 * KM_ERR_FORMAT (not a knotmap result, no /session, a table column that
 * cannot be read), KM_ERR_IO (another program holds it open for writing:
 * "in use"), KM_ERR_NOMEM (libhdf5's included), KM_ERR_INVALID (NULL).
 * Thread-safe with one ctx per thread. */
KM_API km_status km_result_info_read(km_ctx *ctx, const char *path, km_result_info *out);

/* *is_result = 1 when `path` is a knotmap result (root attribute schema =
 * "knotmap-result", complete or not), else 0 (missing, not HDF5, a
 * session, anything else).  `knotmap process` skips such inputs: a result
 * is never read as a session.  Errors: KM_ERR_INVALID (NULL).  Thread-safe. */
KM_API km_status km_is_result_file(km_ctx *ctx, const char *path, int *is_result);

/* *is_hdf5 = 1 when `path` is an HDF5 file (the signature at offset 0, 512,
 * 1024, ...), else 0 (missing, unreadable, anything else).  Reads the
 * signature only, none of the file's structure, and does not start libhdf5.  Errors: KM_ERR_INVALID
 * (NULL).  Thread-safe. */
KM_API km_status km_is_hdf5_file(km_ctx *ctx, const char *path, int *is_hdf5);

/* Start libhdf5 now, as the first HDF5 call otherwise does (a few ms: its
 * tables and first allocations): a caller that waits anyway (the command,
 * for its probe child) pays it meanwhile.  Idempotent.  Thread-safe. */
KM_API void km_hdf5_start(void);

/* For a program that exits once its files are closed, as the command does:
 * libhdf5 will not run its own shutdown at exit (H5dont_atexit).  In HDF5
 * 1.10 a file whose close failed stays registered half torn down (seen when
 * a write fails inside a table's creation on a full disk: "objects still in
 * open object info set"), and that shutdown then crashes (SIGSEGV after
 * exit()); the file is removed anyway.  Call it before anything else that
 * starts libhdf5; afterwards it has no effect.  Not for a library inside a
 * process whose other code uses HDF5 (Python beside h5py): HDF5's shutdown
 * also closes the files left open.  Thread-safe. */
KM_API void km_hdf5_no_shutdown(void);

/* ======================================================================
 * Synthetic sessions (src/synth): roller and mat sessions with ground
 * truth, generated block by block (pure computation, no file I/O except
 * km_synth_write).  Definitions in docs/ALGORITHMS.md section 6.
 * ==================================================================== */
typedef enum km_synth_difficulty {
    KM_SYNTH_EASY = 0,         /* clean sensor, strong knots, steady rolling */
    KM_SYNTH_MODERATE = 1,     /* realistic artefacts */
    KM_SYNTH_HARD = 2          /* heavy artefacts, weak knots, lifts, saturation */
} km_synth_difficulty;

/* "easy", "moderate", "hard" -> *out.  Errors: KM_ERR_INVALID. */
KM_API km_status km_synth_difficulty_parse(const char *name, km_synth_difficulty *out);

#define KM_SYNTH_MAX_KNOTS 256

/* Every field has a default set by km_synth_params_default(); the artefact
 * fields (marked P) are also set by km_synth_preset(). */
typedef struct km_synth_params {
    int32_t mode;              /* km_mode [KM_MODE_ROLLER] */
    int32_t rows, cols;        /* grid; roller: rows around the circumference [32, 32] */
    double row_pitch_mm;       /* mat only; a roller's is 2*pi*Rr/rows [10] */
    double col_pitch_mm;       /* along the roller axis / mat columns [5] */
    double roller_radius_mm;   /* Rr, 30..75 [50] */
    double frame_rate_hz;      /* [100] */
    double duration_s;         /* [30] */
    double cycles_per_minute;  /* back-and-forth cycles, 15..35 [25] */
    double speed_jitter;       /* P: relative unevenness of the speed, 0..0.9 [0.3] */
    double stroke_mm;          /* roller: length of a stroke along the body [200];
                                  mat: the load sweeps the whole grid */
    double contact_rows;       /* contact band width along y, in rows [3] */
    double contact_kpa;        /* mean contact pressure over the band, 30..50 [40] */
    double spine_depth;        /* relative dip of the contact pressure in the spine
                                  valley at the middle of x, 0..1 [0.5] */
    double spine_width_mm;     /* Gaussian sigma of the valley [10] */
    int32_t n_knots;           /* 0..KM_SYNTH_MAX_KNOTS [6] */
    double knot_diameter_min_mm, knot_diameter_max_mm; /* FWHM of the nodule [3, 6] */
    double knot_kpa_min, knot_kpa_max; /* P: added peak pressure [25, 80] */
    double knot_spread_mm;     /* load spreading by skin, foam and sheet: the
                                  footprint sigma is hypot(nodule sigma, this) [4] */
    double knot_min_separation_mm; /* between knot centres [30] */
    double taut_band_fraction; /* share of knots lying inside a taut band [0.5] */
    double taut_band_kpa;      /* pressure a taut band adds along its ridge [8] */
    double noise_kpa;          /* P: white sensor noise, standard deviation [1] */
    double gain_spread;        /* P: per-taxel gain, relative sd [0.05] */
    double drift_kpa_per_min;  /* P: per-taxel baseline drift, sd of the slope [1] */
    double hum_kpa;            /* P: mains hum amplitude (per-row phase) [1] */
    double hum_hz;             /* mains frequency [50] */
    double dead_fraction;      /* P: taxels that read 0 [0.005] */
    double stuck_fraction;     /* P: taxels stuck at a constant [0.002] */
    double saturation_kpa;     /* P: sensor full scale, INFINITY = none [300] */
    double lift_probability;   /* P: chance the roller/load lifts at each cycle
                                  start, for 0.3..0.8 s [0.1] */
    uint64_t seed;             /* [1] */
    int32_t model;             /* 1: the tissue and sensor model above; 2: an
                                  independently parametrised second model that
                                  draws the device (grid, pitches, radius),
                                  body, knots (count, size, depth), motion
                                  and sensor artefacts from the seed within
                                  ranges set by `difficulty`; it ignores the
                                  geometry, knot and P fields
                                  (docs/ALGORITHMS.md 6.7) [1] */
    int32_t difficulty;        /* P: the km_synth_difficulty of the preset [moderate] */
    double equilibration_kpa;  /* > 0: instead of the session, the uniform-load
                                  (equilibration) recording of the same sensor
                                  (the same per-taxel gains, drift, dead and stuck
                                  taxels for the same seed, grid and preset):
                                  the first and last 10% of duration_s unloaded,
                                  10% ramps, this pressure in between, with the
                                  sensor noise and hum; no knots, no truth
                                  (docs/ALGORITHMS.md 6.6) [0 = the session] */
} km_synth_params;

/* Defaults above (roller, moderate).  Thread-safe. */
KM_API void km_synth_params_default(km_synth_params *p);
/* The options of `knotmap synth` and keywords of knotmap.synth() (src/synth/
 * synth_params.c): one km_param row per exposed field of km_synth_params
 * (name: the field; option; keyword when it is not the option with '-' ->
 * '_'), in help order; *n gets the count.  Defaults: km_synth_params_default
 * (read with km_param_value).  The artefact fields have no row: the preset
 * sets them.  Static, thread-safe. */
KM_API const km_param *km_synth_param_table(size_t *n);
/* The row whose name, option or keyword is `key`; NULL if none. */
KM_API const km_param *km_synth_param_find(const char *key);
/* Set the P fields for a difficulty (docs/ALGORITHMS.md 6.4); the
 * geometry, motion, knot count and seed are left alone.  Thread-safe. */
KM_API void km_synth_preset(km_synth_params *p, km_synth_difficulty preset);
/* The uniform-load (equilibration) recording's defaults: its load, kPa,
 * and its length, s, when no duration is given (`knotmap synth
 * --equilibration`, knotmap.synth(equilibration=True)). */
#define KM_SYNTH_EQUILIBRATION_KPA 50
#define KM_SYNTH_EQUILIBRATION_S 5
/* Make p the uniform-load recording of its sensor instead of the session
 * (docs/ALGORITHMS.md 6.6): equilibration_kpa = kpa, or
 * KM_SYNTH_EQUILIBRATION_KPA [50] when kpa is 0; duration_s =
 * KM_SYNTH_EQUILIBRATION_S [5] unless duration_given.  Call it after
 * km_synth_preset.  A negative or non-finite kpa is set as it is
 * (km_synth_create refuses it).  The one place of both defaults: the CLI
 * and Python call it.  Thread-safe. */
KM_API void km_synth_equilibration(km_synth_params *p, double kpa, int32_t duration_given);

/* One true knot, body coordinates (mat: grid mm, x = col*col_pitch,
 * y = row*row_pitch; roller: DESIGN 6, y = 0 at the first contact line). */
typedef struct km_synth_knot {
    double x_mm, y_mm;
    double sigma_mm;           /* nodule sigma = diameter / 2.3548 */
    double footprint_sigma_mm; /* sigma of the pressure footprint the nodule
                                  makes through the tissue (geometric mean of
                                  its two axes when elongated) */
    double amplitude_kpa;      /* peak pressure added at the contact line */
    int32_t in_taut_band;      /* 1 when placed on a taut band */
} km_synth_knot;

/* Body relief that is not a knot (km_synth_truth.distractors), so that a
 * false candidate can be named: a taut band (a ridge along the muscle
 * fibres) or a broad bony prominence (model 2). */
#define KM_SYNTH_BAND 1
#define KM_SYNTH_BONE 2
typedef struct km_synth_distractor {
    int32_t kind;              /* KM_SYNTH_BAND or KM_SYNTH_BONE */
    double x_mm, y_mm;         /* a point on a band's axis; a prominence's centre */
    double angle_rad;          /* a band's axis from +y towards +x (0: along y) */
    double along_lo_mm, along_hi_mm; /* a band's extent along its axis from (x, y),
                                  at full height; 0 for a prominence */
    double end_sigma_mm;       /* a band's Gaussian fall beyond its extent */
    double sigma_mm;           /* across a band; a prominence's (round) sigma */
    double amplitude_kpa;      /* pressure added at the contact line at load 1 */
} km_synth_distractor;

/* Taxel artefact classes in km_synth_truth.taxel_state. */
#define KM_SYNTH_TAXEL_OK 0
#define KM_SYNTH_TAXEL_DEAD 1
#define KM_SYNTH_TAXEL_STUCK 2

/* Whole-session truth; pointers are owned by the km_synth and live until
 * km_synth_free.  The session's own validity mask is all-valid: dead and
 * stuck taxels are artefacts that conditioning must find, so they are
 * listed here only.  The uniform-load recording (equilibration_kpa > 0)
 * lists no knots and no distractors: none is pressed (the generator still
 * places them, to draw the same sensor as the session's). */
typedef struct km_synth_truth {
    size_t n_knots;
    const km_synth_knot *knots;
    const uint8_t *taxel_state;   /* rows*cols KM_SYNTH_TAXEL_* */
    const float *gain;            /* rows*cols per-taxel gain */
    double row_pitch_mm, col_pitch_mm;
    const float *offset;          /* rows*cols fixed per-taxel offset, kPa, read
                                     loaded or not (model 2's hot taxels with an
                                     offset; all 0 on model 1) */
    size_t n_distractors;         /* taut bands and bony prominences */
    const km_synth_distractor *distractors;
} km_synth_truth;

/* The true motion of one frame. */
typedef struct km_synth_motion {
    double y_contact_mm;       /* body y of the contact line (mat: load centre) */
    double theta_rad;          /* roller rotation, unwrapped, 0 for a mat */
    double contact_row;        /* theta/(2 pi)*rows mod rows (mat: load centre in rows) */
    double load;               /* 1 in contact, 0 lifted (model 2: the lean,
                                  relative load 0.75-1.8, 0 lifted) */
} km_synth_motion;

typedef struct km_synth km_synth;

/* Make a generator (knots, taxel artefacts and motion drawn from the seed).
 * Deterministic: the same params give the same frames bit for bit on any
 * block size.  Errors: KM_ERR_INVALID (out of range; detail names the
 * field, or knots that cannot be placed), KM_ERR_LIMIT, KM_ERR_NOMEM.
 * Memory: O(rows*cols + n_knots), never O(duration).  A generator belongs to
 * one thread at a time. */
KM_API km_status km_synth_create(km_ctx *ctx, const km_synth_params *p, km_synth **out);
KM_API void km_synth_free(km_synth *s);
/* Geometry for readers/writers: rows, cols, n_frames, rate, pitches,
 * units "kPa", mode, roller radius, saturation, n_valid (all). */
KM_API void km_synth_info(const km_synth *s, km_session_info *out);
/* All-valid mask (rows*cols bytes of 1).  Owned by s. */
KM_API const uint8_t *km_synth_mask(const km_synth *s);
KM_API void km_synth_truth_get(const km_synth *s, km_synth_truth *out);
/* Next frames: up to max (max*rows*cols floats, kPa) and times (max doubles,
 * may be NULL); *n = 0 at the end.  km_synth_frames_motion also writes the
 * true motion of each frame (motion may be NULL).  Errors: KM_ERR_INVALID. */
KM_API km_status km_synth_frames(km_ctx *ctx, km_synth *s, float *frames, double *times,
                                 int64_t max, int64_t *n);
KM_API km_status km_synth_frames_motion(km_ctx *ctx, km_synth *s, float *frames,
                                        double *times, km_synth_motion *motion,
                                        int64_t max, int64_t *n);

/* Generate a whole session straight into a file: KM_FORMAT_SESSION (HDF5
 * with /truth/knots), KM_FORMAT_TEKSCAN or KM_FORMAT_AUDIO (container from
 * the extension).  Written under a temporary name and renamed.  Errors: as
 * km_synth_create and the writer's (KM_ERR_CREATE when `path` exists and
 * overwrite == 0, or is not a file of that format knotmap synth could have
 * written: a session with /truth, an export (below); KM_ERR_IO,
 * KM_ERR_UNSUPPORTED for other formats). */
KM_API km_status km_synth_write(km_ctx *ctx, const km_synth_params *p, km_format format,
                                const char *path, int32_t overwrite);

/* ======================================================================
 * Exporters (src/io): stream frames to a Tekscan ASCII movie or an audio
 * file, for format round trips.  Same life cycle as the session writer:
 * written under a temporary name in the target folder, renamed to `path`
 * by _commit (refusing an existing `path` when overwrite == 0); _free
 * without commit removes the temporary file.  With overwrite == 1 an
 * existing `path` is replaced only when it is an export knotmap wrote (a
 * Tekscan header "VERSION knotmap", an audio comment "knotmap grid=", or a
 * W64/AU file, which carry no comment); anything else, a recording among
 * them, is KM_ERR_CREATE ("PATH: exists and is not a knotmap Tekscan export
 * file: not replacing it").  One thread at a time.
 * ==================================================================== */
typedef struct km_tekscan_writer km_tekscan_writer;
/* info: rows, cols, frame_rate_hz, pitches, units; mask NULL = all valid,
 * masked taxels are written as B.  Values printed with 9 significant
 * digits (float32 round-trips exactly); pitches, saturation and roller
 * radius with 17 (double round-trips exactly).  The mode and roller radius
 * go in the COMMENTS line, "knotmap export mode=roller roller_radius_mm=50",
 * which the Tekscan reader reads back (docs/FORMAT.md 1.3).  Errors: KM_ERR_CREATE,
 * KM_ERR_INVALID, KM_ERR_LIMIT, KM_ERR_IO. */
KM_API km_status km_tekscan_writer_create(km_ctx *ctx, const char *path,
                                          const km_session_info *info, const uint8_t *mask,
                                          int32_t overwrite, km_tekscan_writer **out);
KM_API km_status km_tekscan_writer_append(km_ctx *ctx, km_tekscan_writer *w,
                                          const float *frames, int64_t n);
KM_API km_status km_tekscan_writer_commit(km_ctx *ctx, km_tekscan_writer *w);
KM_API void km_tekscan_writer_free(km_tekscan_writer *w);

typedef struct km_audio_writer km_audio_writer;
/* Float32 samples; container from the extension of `path` (.wav, .w64,
 * .rf64, .caf, .aif/.aiff, .au).  One channel per taxel (row-major) when
 * rows*cols <= 1024, else one channel of flattened frames.  Sample rate =
 * round(frame_rate_hz), flattened round(frame_rate_hz * rows * cols) (>= 1);
 * frame_rate_hz= goes in the comment when that is not exact.  The comment "knotmap grid=RxC pitch=PRxPC
 * units=U mode=M [roller_radius_mm=R] [frame_rate_hz=F]" is set where the
 * container accepts one (not W64 or AU: read those with options).  The
 * mask is not stored.  Errors: KM_ERR_CREATE, KM_ERR_INVALID (extension),
 * KM_ERR_IO. */
KM_API km_status km_audio_writer_create(km_ctx *ctx, const char *path,
                                        const km_session_info *info, int32_t overwrite,
                                        km_audio_writer **out);
KM_API km_status km_audio_writer_append(km_ctx *ctx, km_audio_writer *w,
                                        const float *frames, int64_t n);
KM_API km_status km_audio_writer_commit(km_ctx *ctx, km_audio_writer *w);
KM_API void km_audio_writer_free(km_audio_writer *w);

/* ======================================================================
 * Roller odometry (src/track): the roller's rotation and the body position
 * of the contact line from the pressure alone (docs/ALGORITHMS.md 7.1).
 * Streaming: state is carried from frame to frame.  One thread at a time.
 * ==================================================================== */
typedef struct km_odometry_params {
    double lift_threshold;     /* lifted when the strongest row (median over
                                  valid taxels, minus the median row) is below
                                  this, in session units [5] */
    int32_t window_rows;       /* refine the circular mean over rows within
                                  +-window of the first estimate, 0 = all rows [4] */
} km_odometry_params;
KM_API void km_odometry_params_default(km_odometry_params *p);

#define KM_ODO_LIFTED 1u       /* no firm contact: estimate held, frame not
                                  deposited on the body map */
#define KM_ODO_START 2u        /* first firm contact frame (or first after a lift) */
#define KM_ODO_LIGHT 4u        /* with LIFTED: in contact, but below half the
                                  running contact strength (load leaving or
                                  coming back); the travel since the last
                                  firm frame counts at the next one */

typedef struct km_odometry_sample {
    double contact_row;        /* estimated contact row, [0, rows) (held when lifted) */
    double theta_rad;          /* rotation since the first contact, unwrapped */
    double y_mm;               /* body position of the contact line = Rr * theta */
    double strength;           /* the strongest row's excess (lift test value) */
    uint32_t flags;            /* KM_ODO_* */
} km_odometry_sample;

typedef struct km_odometry km_odometry;
/* Errors: KM_ERR_INVALID (rows < 3, radius <= 0), KM_ERR_LIMIT, KM_ERR_NOMEM. */
KM_API km_status km_odometry_create(km_ctx *ctx, int32_t rows, int32_t cols,
                                    double roller_radius_mm, const km_odometry_params *p,
                                    km_odometry **out);
KM_API void km_odometry_free(km_odometry *o);
/* Consume one frame (mask NULL = all valid) and give its sample.
 * Errors: KM_ERR_INVALID (shape). */
KM_API km_status km_odometry_update(km_ctx *ctx, km_odometry *o, const km_frame *frame,
                                    const km_mask *mask, km_odometry_sample *out);
/* Forget the history (next frame starts at y = 0). */
KM_API void km_odometry_reset(km_odometry *o);
/* km_odometry_update split in two for a pipeline that runs the costly,
 * frame-independent part on several threads: km_odometry_update is exactly
 * row_medians followed by advance.  Row medians: the median of the valid
 * (mask 1, finite) taxels of each row into row_med[rows] (0 for a row
 * without any); `scratch` holds cols floats.  Reads only the odometry's
 * shape: thread-safe on a shared object, each thread with its own scratch
 * and row_med; the frame and mask must have the odometry's shape (not
 * checked).  Advance: one frame from its row medians (rows values,
 * overwritten with the excess over the floor); one thread at a time. */
KM_API void km_odometry_row_medians(const km_odometry *o, const km_frame *frame,
                                    const km_mask *mask, float *scratch, double *row_med);
KM_API km_status km_odometry_advance(km_ctx *ctx, km_odometry *o, double *row_med,
                                     km_odometry_sample *out);
/* The zero drift the odometry followed (docs/ALGORITHMS.md 7.1 step 6), in
 * session units: *spread = how far apart the rows' unloaded levels stand
 * now (the largest less the smallest), *limit = the spread beyond which
 * the odometry and the body map no longer follow it (the running contact
 * strength: rows whose zeros stand as far apart as the roller presses; 0
 * before any contact).  Either may be NULL. */
KM_API void km_odometry_zero_drift(const km_odometry *o, double *spread, double *limit);

/* ======================================================================
 * Body map (src/track/bodymap.c): max, mean and coverage of pressure in
 * body coordinates (docs/ALGORITHMS.md 7.2), on the cells of the body grid
 * (below).  Roller: cells along the roller axis (x = col * col_pitch) by
 * cells along the rolling direction (pitch = row pitch), growing with the
 * travelled range.  Mat: the grid itself.  One thread at a time.
 * ==================================================================== */
typedef struct km_bodymap_params {
    int32_t contact_half_rows; /* roller: rows within +-this of the contact row
                                  are accumulated [1] */
    double contact_threshold;  /* mat: a taxel is in contact when above this,
                                  session units [5] */
    int32_t pass_gap_frames;   /* a cell untouched for more than this many
                                  frames starts a new pass when touched again [5] */
    double max_extent_mm;      /* roller: refuse (KM_ERR_LIMIT) a map longer
                                  than this [100000] */
} km_bodymap_params;
KM_API void km_bodymap_params_default(km_bodymap_params *p);

typedef struct km_bodymap km_bodymap;
/* mode km_mode; pitches in mm (roller: row pitch = 2*pi*Rr/rows).
 * Errors: KM_ERR_INVALID, KM_ERR_LIMIT, KM_ERR_NOMEM. */
KM_API km_status km_bodymap_create(km_ctx *ctx, int32_t mode, int32_t rows, int32_t cols,
                                   double row_pitch_mm, double col_pitch_mm,
                                   const km_bodymap_params *p, km_bodymap **out);
KM_API void km_bodymap_free(km_bodymap *b);
/* Add one frame.  Roller: odo is that frame's odometry sample (required;
 * lifted frames add nothing); mat: odo is ignored (may be NULL).
 * Errors: KM_ERR_INVALID, KM_ERR_LIMIT, KM_ERR_NOMEM. */
KM_API km_status km_bodymap_add(km_ctx *ctx, km_bodymap *b, const km_frame *frame,
                                const km_mask *mask, const km_odometry_sample *odo);
/* Current shape: ny x nx cells; y0_mm = body y of the centre of cell row 0,
 * cell (iy, ix) centre at (ix * x_pitch, y0 + iy * y_pitch).  ny = 0 before
 * any contact. */
KM_API void km_bodymap_shape(const km_bodymap *b, int32_t *ny, int32_t *nx, double *y0_mm,
                             double *y_pitch_mm, double *x_pitch_mm);
/* Copy the map into caller buffers of ny*nx (any may be NULL): max and
 * mean of the samples (NaN where never sampled), coverage = passes.
 * Errors: KM_ERR_CAPACITY (capacity < ny*nx; *needed set). */
KM_API km_status km_bodymap_get(km_ctx *ctx, const km_bodymap *b, float *max, float *mean,
                                int32_t *coverage, size_t capacity, size_t *needed);

/* ======================================================================
 * Body grid (src/track/bodygrid.c): the cells in body coordinates that
 * the body map and the candidate map both accumulate on, with one deposit
 * rule (which frame rows land on which cells: km_bodymap_params) and one
 * pass rule (docs/ALGORITHMS.md 7.2).  A grid carries one layer or both:
 * KM_GRID_BODYMAP (max, mean, coverage of pressure) and KM_GRID_CANDIDATES
 * (per pass maxima of the local excess, docs/ALGORITHMS.md 10 steps 1-3).
 * km_bodymap_* and km_candidates_* are grids of one layer; the pipeline
 * keeps one grid with both, so its two maps coincide cell for cell.
 * Streaming: per frame O(contact rows x cols (x background window));
 * memory O(cells).  One thread at a time.
 * ==================================================================== */
typedef struct km_bodygrid km_bodygrid;
#define KM_GRID_BODYMAP 1
#define KM_GRID_CANDIDATES 2
/* Geometry as km_bodymap_create; rule: contact rule, passes and extent
 * (NULL = defaults); cand: the candidate layer's parameters (NULL =
 * defaults; its contact_* fields are not used here); layers: a non-empty
 * OR of KM_GRID_*.  Errors: KM_ERR_INVALID, KM_ERR_LIMIT, KM_ERR_NOMEM. */
KM_API km_status km_bodygrid_create(km_ctx *ctx, int32_t mode, int32_t rows, int32_t cols,
                                    double row_pitch_mm, double col_pitch_mm,
                                    const km_bodymap_params *rule,
                                    const km_candidate_params *cand, unsigned layers,
                                    km_bodygrid **out);
KM_API void km_bodygrid_free(km_bodygrid *g);
/* Add one frame taken at time_s into every layer.  Roller: odo required
 * (lifted frames add nothing); mat: odo ignored.  Errors: KM_ERR_INVALID,
 * KM_ERR_LIMIT, KM_ERR_NOMEM (the grid grows by blocks, amortised). */
KM_API km_status km_bodygrid_add(km_ctx *ctx, km_bodygrid *g, const km_frame *frame,
                                 const km_mask *mask, const km_odometry_sample *odo,
                                 double time_s);
/* A mask the body map layer applies on top of each frame's (rows x cols
 * bytes, row-major, nonzero = used; copied); the candidate layer does not
 * see it.  knotmap process leaves out the taxels the warm-up found stuck
 * or hot (docs/ALGORITHMS.md 3.7), whose values are not the body's
 * pressure, while the candidates set them aside by their own rule.  NULL
 * = none [the default].  Takes effect from the next frame added.  Errors:
 * KM_ERR_INVALID (NULL grid, no body map layer), KM_ERR_NOMEM. */
KM_API km_status km_bodygrid_set_bodymap_mask(km_ctx *ctx, km_bodygrid *g, const uint8_t *mask);
/* The sensor's full scale (saturation), in the frames' units, for the
 * candidate layer's stuck rule (docs/ALGORITHMS.md 10 step 1): on a mat a
 * taxel reading at least 0.99 of it is held there by the load (a knot or a
 * lean pressed into saturation), not stuck, so its repeats never make it
 * stuck (a mat taxel found stuck leaves the map for the whole session).
 * Rollers are unchanged.  +inf or NaN = unknown (the default: every repeat
 * counts).  Takes effect from the next frame added; knotmap process
 * sets the session's saturation before its first frame.  Errors:
 * KM_ERR_INVALID (NULL, no candidate layer, saturation <= 0). */
KM_API km_status km_bodygrid_set_saturation(km_bodygrid *g, double saturation);
/* The level at and above which a mat taxel's value is taken as clipped by
 * the sensor's full scale: 0.99 x the saturation set by
 * km_bodygrid_set_saturation (the stuck rule's, and the candidates' share
 * of the contact, docs/ALGORITHMS.md 10 step 4, exempts a peak whose
 * contact pressure reaches it); +inf on a roller, when unknown, for NULL
 * or without a candidate layer. */
KM_API double km_bodygrid_clip_level(const km_bodygrid *g);
/* KM_MODE_ROLLER or KM_MODE_MAT; -1 for NULL. */
KM_API int32_t km_bodygrid_mode(const km_bodygrid *g);
/* Roller: the times the roller turned in the air so far (a lift after which
 * the contact row had moved by half a row or more; docs/ALGORITHMS.md 7.5):
 * only then do other sensor rows press the same body cells.  0 on a mat or
 * for NULL. */
KM_API int32_t km_bodygrid_turns(const km_bodygrid *g);
/* Current shape, as km_bodymap_shape (every layer's). */
KM_API void km_bodygrid_shape(const km_bodygrid *g, int32_t *ny, int32_t *nx, double *y0_mm,
                              double *y_pitch_mm, double *x_pitch_mm);
/* The body map layer, as km_bodymap_get.  Errors: KM_ERR_INVALID (no such
 * layer), KM_ERR_CAPACITY (*needed set). */
KM_API km_status km_bodygrid_bodymap(km_ctx *ctx, const km_bodygrid *g, float *max, float *mean,
                                     int32_t *coverage, size_t capacity, size_t *needed);
/* The candidate layer's maps (docs/ALGORITHMS.md 10 step 3), ny*nx each in
 * caller buffers; any pointer may be NULL. */
typedef struct km_candidate_maps {
    float *excess;             /* A: mean over the passes of the pass maximum
                                  of the local excess; NaN under min_coverage
                                  passes (mat: and where the taxel was stuck).
                                  Roller, flat_field 1: with the session's
                                  flat field divided out
                                  (km_bodygrid_flat_field), as excess_two_rows */
    int32_t *n_covering;       /* passes that covered the cell */
    float *spread;             /* pass-to-pass spread: standard deviation
                                  (n - 1 in the denominator) of the pass
                                  maxima over the n passes that covered the
                                  cell; NaN under 2 passes (mat: and where
                                  the taxel was stuck) */
    int32_t *n_seen;           /* passes whose maximum reached seen_threshold */
    double *first_time, *last_time; /* s: first and last time the excess
                                  reached seen_threshold; NaN never */
    float *excess_two_rows;    /* roller: the smaller of two means of the pass
                                  maxima, those whose maximum came from the
                                  sensor row of the cell's first pass and
                                  those from any other row (a roller turned
                                  in a lift); NaN when one sensor row gave
                                  every pass (always on a mat) or for a stuck
                                  mat taxel */
    float *pressure;           /* the contact pressure the candidates weigh
                                  a peak against: the body map layer's
                                  maximum with the samples its own mask
                                  (km_bodygrid_set_bodymap_mask) left out
                                  included, so the candidates do not depend
                                  on that mask; NaN where nothing was
                                  deposited.  Needs the body map layer */
} km_candidate_maps;
/* Errors: KM_ERR_INVALID (no candidate layer, or pressure without the body
 * map layer), KM_ERR_CAPACITY (*needed set). */
KM_API km_status km_bodygrid_candidate_maps(km_ctx *ctx, const km_bodygrid *g,
                                            const km_candidate_maps *maps, size_t capacity,
                                            size_t *needed);
/* The session's flat field of a roller grid's candidate layer
 * (docs/ALGORITHMS.md 7.5): per taxel (rows x cols, row-major, capacity at
 * least rows * cols) the gain estimated from the cells that two or more
 * sensor rows pressed, 1 where the evidence does not suffice (and
 * everywhere on a mat, or with flat_field 0); *n_estimated = the taxels
 * given a gain.  km_bodygrid_candidate_maps divides these gains out of the
 * excess and excess_two_rows maps (not out of the spread, n_seen or the
 * times).  Computed from the grid's per-cell sums each call: O(cols *
 * (rows^3 + cells)).  Errors: KM_ERR_INVALID (NULL, no candidate layer),
 * KM_ERR_CAPACITY, KM_ERR_NOMEM. */
KM_API km_status km_bodygrid_flat_field(km_ctx *ctx, const km_bodygrid *g, float *gain,
                                        size_t capacity, int32_t *n_estimated);
/* Passes that saw each cell (as n_seen, the open pass included) at the
 * largest rung of the candidate layer's seen ladder at or under threshold,
 * floored at its lowest: the ladder is seen_threshold x (k + 2) / 8, k = 0
 * .. KM_SEEN_RUNGS - 1, and seen_threshold itself, counted as each pass
 * closes (km_candidate_params.seen_noise; docs/ALGORITHMS.md 10 step 3,
 * Seen).  n_seen: ny*nx, row-major as km_bodygrid_candidate_maps; *used =
 * the rung taken (seen_threshold when threshold reaches it or
 * seen_threshold is not above 0).  Errors: KM_ERR_INVALID (NULL, no
 * candidate layer), KM_ERR_CAPACITY (*needed set). */
#define KM_SEEN_RUNGS 6
KM_API km_status km_bodygrid_seen_at(km_ctx *ctx, const km_bodygrid *g, double threshold,
                                     int32_t *n_seen, size_t capacity, size_t *needed,
                                     double *used);
/* The candidate layer's parameters (owned by g), NULL without that layer. */
KM_API const km_candidate_params *km_bodygrid_candidate_params(const km_bodygrid *g);
/* Detect the knot candidates on the grid's candidate layer (the
 * pipeline's composition of the map filters, docs/ALGORITHMS.md 10 step
 * 4), sorted by score descending; writes at most capacity, *n = count found
 * (KM_ERR_CAPACITY when more; ny*nx always suffices).  Errors:
 * KM_ERR_INVALID (no candidate layer), KM_ERR_CAPACITY, KM_ERR_NOMEM. */
KM_API km_status km_bodygrid_candidates(km_ctx *ctx, const km_bodygrid *g, km_candidate *out,
                                        size_t capacity, size_t *n);
/* km_bodygrid_candidates, and *seen (NULL: not wanted) filled in, also
 * when the call fails for capacity.  Errors: as km_bodygrid_candidates. */
KM_API km_status km_bodygrid_candidates_seen(km_ctx *ctx, const km_bodygrid *g,
                                             km_candidate *out, size_t capacity, size_t *n,
                                             km_candidate_seen *seen);

/* ======================================================================
 * Pictures, reports and evaluation of a result (src/pipeline/render.c,
 * report.c, eval.c).  The picture layout is described in docs/FORMAT.md
 * 2.2, the report in 2.3, the commands in docs/CLI.md (knotmap render,
 * knotmap report, knotmap eval).
 * ==================================================================== */
typedef enum km_render_map {
    KM_RENDER_AUTO = 0,        /* /bodymap/pressure when present, else /frames/max */
    KM_RENDER_BODYMAP = 1,     /* /bodymap/pressure (KM_ERR_FORMAT when absent) */
    KM_RENDER_MAX = 2,         /* /frames/max, grid coordinates */
    KM_RENDER_EXCESS = 3       /* /bodymap/excess, the candidate map */
} km_render_map;

/* Picture file formats. */
typedef enum km_image_format {
    KM_IMAGE_AUTO = 0,         /* from the output's extension: .png, .svg, .pdf
                                  (any case); another extension is KM_ERR_INVALID */
    KM_IMAGE_PNG = 1,          /* 8-bit RGB PNG, pixels */
    KM_IMAGE_SVG = 2,          /* SVG 1.1, text as <text> elements, the map as
                                  an embedded PNG; units are pixels */
    KM_IMAGE_PDF = 3           /* one-page PDF, 1 pixel = 1 point */
} km_image_format;

typedef struct km_render_params {
    int32_t map;               /* km_render_map [KM_RENDER_AUTO] */
    int32_t cell_px;           /* pixels per map cell along the axis of the
                                  smaller pitch, 1..64; the other axis gets
                                  cell_px * its pitch / the smaller pitch
                                  (rounded), so the picture is true to scale;
                                  0 = the largest that keeps the map within
                                  480 px (at least 2) [0] */
    double vmin, vmax;         /* colour range in result units; NaN = automatic:
                                  vmin 0 when no value is negative, else the
                                  map's minimum; vmax the vmax_percentile of
                                  the map's finite cells [NaN, NaN] */
    double vmax_percentile;    /* percentile of the finite cells that ends the
                                  automatic colour scale, 50..100 (100 = the
                                  maximum); higher cells are drawn in the top
                                  colour and their share is written in the
                                  picture [99] */
    int32_t max_candidates;    /* candidates marked and numbered by rank,
                                  best first; -1 = all, 0 = none [20] */
    int32_t overwrite;         /* 1 = replace an existing picture of the same
                                  format that knotmap drew (its Software text
                                  entry, a PDF's Creator) [1]; any other file
                                  (a photo, a plot from elsewhere) is never
                                  replaced */
    int32_t format;            /* km_image_format [KM_IMAGE_AUTO] */
    int64_t max_memory;        /* memory budget in bytes of the picture (the
                                  map's values and colours, the drawing
                                  surface, the encoded file), estimated from
                                  the map's shape and cell size before any of
                                  it is allocated, again from the picture's
                                  size before drawing: beyond it
                                  KM_ERR_LIMIT; the tables read with it
                                  (/candidates; the report's /metrics), rows
                                  x columns x 8 bytes as declared, are held
                                  to it too before they are read;
                                  <= 0 = KM_MAX_MEMORY_DEFAULT
                                  [KM_MAX_MEMORY_DEFAULT, 1 GiB] */
} km_render_params;
KM_API void km_render_params_default(km_render_params *p);
/* The options of `knotmap render` (all rows) and `knotmap report` (the rows
 * of the first section, map and candidates, and the last, max_memory), and the keywords of
 * knotmap.render()/report(): one km_param row per exposed field of
 * km_render_params (src/pipeline/render_params.c), in help order; *n gets
 * the count.  Defaults: km_render_params_default (km_param_value).  The
 * enum names of km_render_map are this table's.  Static, thread-safe. */
KM_API const km_param *km_render_param_table(size_t *n);
/* The row whose name, option or keyword is `key`; NULL if none. */
KM_API const km_param *km_render_param_find(const char *key);

/* Where things landed in the picture (pixels from the top-left corner). */
typedef struct km_render_info {
    int32_t width, height;     /* of the picture */
    int32_t map_x, map_y;      /* top-left pixel of map cell (0, 0) */
    int32_t map_nx, map_ny;    /* map cells across and down */
    int32_t cell_w, cell_h;    /* pixels per cell across (x) and down (y) */
    double x0_mm, y0_mm;       /* body position of the centre of cell (0, 0) */
    double x_pitch_mm, y_pitch_mm;
    double vmin, vmax;         /* the colour range used */
    int32_t n_marked;          /* candidates drawn */
    int32_t format;            /* km_image_format written (never AUTO) */
    double clipped_above;      /* share of the finite cells above vmax (0..1) */
    double clipped_below;      /* share of the finite cells below vmin (0..1) */
} km_render_info;

/* Draw the body map (roller) or maximum map (mat) of the result file
 * `result_path` as a picture at `out_path`, in the format of its extension
 * (or p->format): a title (file, recording date when known, duration,
 * mode), axes in mm with the orientation (roller: where contact started and
 * the direction of the first stroke; mat: row 0 and column 0), the map in
 * viridis with grey for cells without data, a colour bar with ticks and the
 * units, the candidates (/candidates) as white rings numbered by rank
 * (1 = best) with a list of their amplitude and size, a legend, and what
 * the session assumed (/session attribute `assumed`).  Cell (iy, ix) is
 * drawn at map_x + ix*cell_w, map_y + iy*cell_h (body y grows downward);
 * the map is true to scale.  Written to a temporary name in the target
 * folder and renamed when complete.  p NULL = defaults; info may be NULL.
 * Errors: KM_ERR_NOT_FOUND (result missing), KM_ERR_FORMAT (not a knotmap
 * result, map absent or empty), KM_ERR_INVALID (params, unknown
 * extension), KM_ERR_CREATE (folder, or an existing file of another
 * format), KM_ERR_IO, KM_ERR_NOMEM, KM_ERR_CANCELLED (km_ctx_cancel:
 * nothing written, the temporary removed).  Thread-safe with a ctx per
 * thread. */
KM_API km_status km_render(km_ctx *ctx, const char *result_path, const char *out_path,
                           const km_render_params *p, km_render_info *info);

/* The same picture in memory: p->format must be PNG, SVG or PDF (AUTO is
 * KM_ERR_INVALID: there is no extension).  *data gets the file's bytes
 * (free with km_buffer_free using the same ctx), *size their count.
 * Errors as km_render, without the file ones. */
KM_API km_status km_render_to_memory(km_ctx *ctx, const char *result_path,
                                     const km_render_params *p, km_render_info *info,
                                     uint8_t **data, size_t *size);

/* Free a buffer the library returned (km_render_to_memory,
 * km_report_to_memory) with the ctx that made it.  NULL is a no-op. */
KM_API void km_buffer_free(km_ctx *ctx, void *data);

/* A report of the result as one self-contained HTML file at `html_path`
 * (docs/FORMAT.md 2.3): the picture (as km_render draws it, inline SVG),
 * the candidate table, per-frame metrics over time (peak, contact area,
 * force, centre of pressure) as inline SVG plots, the passes over each
 * candidate, the parameters (those set by the command's options first) and
 * what was assumed.  No network: no external scripts, styles, fonts or
 * images.  Readable on a phone and printable.  p (the picture's params,
 * NULL = defaults; its format and overwrite are ignored); overwrite 1
 * replaces an existing report knotmap wrote (its generator meta), never
 * another file (an HTML page from elsewhere included).  Errors: as
 * km_render; KM_ERR_INVALID when html_path ends in a picture's extension
 * (.png, .svg, .pdf: HTML under such a name opens in no viewer of it).
 * Thread-safe with a ctx per thread. */
KM_API km_status km_report(km_ctx *ctx, const char *result_path, const char *html_path,
                           const km_render_params *p, int32_t overwrite);
/* The same report in memory (free with km_buffer_free). */
KM_API km_status km_report_to_memory(km_ctx *ctx, const char *result_path,
                                     const km_render_params *p, uint8_t **data,
                                     size_t *size);

typedef struct km_eval_result {
    double tolerance_mm;       /* the matching distance used */
    int64_t n_truth;           /* true knots */
    int64_t n_candidates;      /* candidates evaluated */
    int64_t n_matched;         /* pairs within the tolerance (true positives) */
    double precision;          /* matched / candidates (1 when no candidates) */
    double recall;             /* matched / truth (1 when no true knot) */
    double f1;                 /* 2*matched / (candidates + truth) (1 when both 0) */
    double error_mean_mm;      /* mean distance of the matched pairs (NaN if none) */
    double error_rms_mm;       /* root mean square distance (NaN if none) */
    double error_max_mm;       /* largest matched distance (NaN if none) */
} km_eval_result;

/* Match candidates (cx, cy: nc positions in mm, best first) to true knots
 * (tx, ty: nt positions in mm) one to one: greedily by increasing distance
 * (ties: better candidate rank, then lower truth index), only pairs at most
 * tolerance_mm apart (> 0).  truth_match (nt entries, may be NULL) gets the
 * candidate index matched to each true knot, or -1.  Arrays may be NULL
 * when their count is 0.  Errors: KM_ERR_INVALID, KM_ERR_NOMEM.  Thread-safe. */
KM_API km_status km_eval_points(km_ctx *ctx, const double *cx, const double *cy, size_t nc,
                                const double *tx, const double *ty, size_t nt,
                                double tolerance_mm, int32_t *truth_match,
                                km_eval_result *out);

/* Evaluate the /candidates of a result file against /truth/knots of the
 * synthetic session `truth_path` with km_eval_points().  tolerance_mm <= 0
 * means one taxel pitch (the larger of the result's row and column pitch).
 * max_candidates: only the best this many are evaluated, -1 = all.
 * Errors: KM_ERR_NOT_FOUND, KM_ERR_FORMAT (not a result / no /candidates,
 * no /truth/knots), KM_ERR_IO (a file another program holds open for
 * writing: "in use"), KM_ERR_NOMEM.  Thread-safe with a ctx per thread. */
KM_API km_status km_eval(km_ctx *ctx, const char *result_path, const char *truth_path,
                         double tolerance_mm, int64_t max_candidates, km_eval_result *out);

/* ======================================================================
 * Knot candidate accumulator (src/track/candidates.c), docs/ALGORITHMS.md
 * 10: a body grid with the candidate layer only.  Streaming: per frame
 * O(contact rows x cols); memory O(body map).  One thread at a time.
 * ==================================================================== */
typedef struct km_candidates km_candidates;
/* Same geometry arguments as km_bodymap_create.  p NULL = defaults.
 * Errors: KM_ERR_INVALID, KM_ERR_LIMIT, KM_ERR_NOMEM. */
KM_API km_status km_candidates_create(km_ctx *ctx, int32_t mode, int32_t rows, int32_t cols,
                                      double row_pitch_mm, double col_pitch_mm,
                                      const km_candidate_params *p, km_candidates **out);
KM_API void km_candidates_free(km_candidates *c);
/* Add one frame taken at time_s.  Roller: odo required (lifted frames add
 * nothing); mat: odo ignored.  Errors: KM_ERR_INVALID, KM_ERR_LIMIT,
 * KM_ERR_NOMEM (the map grows by blocks, amortised). */
KM_API km_status km_candidates_add(km_ctx *ctx, km_candidates *c, const km_frame *frame,
                                   const km_mask *mask, const km_odometry_sample *odo,
                                   double time_s);
/* Map shape, as km_bodymap_shape (the cells coincide with the body map's
 * made with the same contact rule: both are body grids). */
KM_API void km_candidates_shape(const km_candidates *c, int32_t *ny, int32_t *nx,
                                double *y0_mm);
/* The accumulated excess map (ny*nx; NaN where covered by fewer than
 * min_coverage passes).  Errors: KM_ERR_CAPACITY (*needed set). */
KM_API km_status km_candidates_map(km_ctx *ctx, const km_candidates *c, float *excess,
                                   size_t capacity, size_t *needed);
/* Detect the candidates on the map accumulated so far (as
 * km_bodygrid_candidates on its grid), sorted by score descending; writes
 * at most capacity, *n = count found (KM_ERR_CAPACITY when more).
 * Errors: KM_ERR_CAPACITY, KM_ERR_NOMEM. */
KM_API km_status km_candidates_get(km_ctx *ctx, km_candidates *c, km_candidate *out,
                                   size_t capacity, size_t *n);
/* The body grid c accumulates on (owned by c). */
KM_API const km_bodygrid *km_candidates_grid(const km_candidates *c);

#ifdef __cplusplus
}
#endif
#endif /* KNOTMAP_H */
