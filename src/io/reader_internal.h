/* The reader object shared by the format modules of src/io.
 *
 * km_reader_open() (reader.c) allocates the km_reader, copies the path,
 * decides the format (sniffing content for KM_FORMAT_AUTO) and calls the
 * format's open function, which fills info, mask, header, ops and impl.
 * Format code reports errors WITHOUT the file name ("line 12: expected 21
 * values, found 20"); reader.c prefixes "PATH: " on every failure of open
 * and read, so every detail names the file. */
#ifndef KM_READER_INTERNAL_H
#define KM_READER_INTERNAL_H

#include "internal.h"

typedef struct km_reader_ops {
    /* Same contract as km_reader_read() (frames contiguous, times may be
       NULL, *n_read = 0 at the end).  Called only with max_frames >= 1. */
    km_status (*read)(km_ctx *ctx, km_reader *r, float *frames, double *times,
                      int64_t max_frames, int64_t *n_read);
    /* Release impl (not the reader itself).  Must accept a half-opened impl. */
    void (*close)(km_reader *r);
} km_reader_ops;

typedef struct km_kv {
    char *key;
    char *value;
} km_kv;

struct km_reader {
    km_alloc_ref alloc;
    const km_reader_ops *ops;
    char *path;
    km_session_info info;
    uint8_t *mask;          /* rows*cols, 1 = valid; made by km_reader_set_geometry */
    km_kv *header;
    size_t n_header, cap_header;
    int64_t frames_done;    /* frames delivered so far (kept by reader.c) */
    /* km_reader_probe's format part; NULL: the first frame is read with
       ops->read.  Set by a format's open. */
    km_status (*probe)(km_ctx *ctx, km_reader *r);
    void *impl;             /* the format's own state */
    int utf16_guessed;      /* text read as UTF-16 by its NULs alone (no byte
                               order mark): km_reader_open notes "encoding" */
    int count_nonfinite;    /* km_reader_read counts the frames' nan and inf
                               values into info: 1, cleared by a format that
                               counts them at open (the text matrix) */
    int avx2;               /* km_cpu_avx2(), for that count */
    int insole;             /* an in-shoe sensor (km_reader_set_insole) */
    int times_from_rate;    /* --override replaced the file's own rate: km_reader_read
                               gives frame k the time k / rate, not the file's (a
                               format whose times follow the rate itself clears it) */
    char rate_from[160];    /* where the file's rate came from (km_reader_rate_from) */
    char pitch_from[2][96]; /* where its row and column pitch came from (km_reader_pitch_from) */
    char units_file[16];    /* the file's own unit when it is read converted to kPa (a Tekscan
                               export's PSI; km_reader_units_from), else "": what a --units
                               given is compared with */
    double values_scale;    /* km_reader_read multiplies the values by it (psi, Pa, MPa to kPa:
                               a --units given, a MAT-file's units; 0 = not) */
    char units_given[16];   /* --units under --override (km_reader_open), else "": a file's
                               own unit that differs is then not converted (its numbers are
                               read in the given unit, converted once by km_reader_read) */
};

/* The options themselves, before any file is opened (reader_options.c):
   KM_ERR_INVALID naming the option's value ("the frame rate given (1e+09
   Hz) is not plausible: ..."); km_reader_open returns it without the path
   before it (not the file's fault). */
km_status km_reader_check_options(km_ctx *ctx, const km_read_options *o);
/* The names MATLAB, numpy and h5py users give a sampling rate in Hz (fs,
   Fs, FS, fps, srate, rate, sample_rate, sampling_rate, samplerate,
   sampling_frequency, frame_rate, framerate): the i-th, NULL past the end.
   One list for every reader that takes a rate so named (a MAT-file's or
   .npz's variable, another tool's HDF5 root attribute; docs/FORMAT.md 1.1). */
const char *km_rate_name(int32_t i);
/* The names a MAT-file's or .npz archive's time vector goes by besides
   `time` (t, times, timestamps, time_s): the i-th, NULL past the end.  One
   is read as the frames' times when no `time` is and its length agrees with
   the frames (noted as assumed, "time_name"; docs/FORMAT.md 1.8). */
const char *km_time_name(int32_t i);
/* The file's own unit `word` (km_units_from_file's, one it converts to
   kPa: psi, Pa, MPa), recorded (what a --units given is compared with) and
   converted: by the reader itself when own_scale is given (a Tekscan,
   XSENSOR or HDF5 reader scales as it parses: *own_scale is set to the
   factor, or to 1 when --override gives another unit, whose conversion
   km_reader_read then applies to the file's numbers, in double, once),
   else by km_reader_read (values_scale).  Nothing for a unit kept as it is
   (kPa, mmHg, ...) or not known. */
void km_reader_units_from(km_reader *r, const char *word, double *own_scale);
/* Append a header key/value (both copied).  Keys may repeat. */
km_status km_reader_add_header(km_ctx *ctx, km_reader *r, const char *key, const char *value);
/* Set rows/cols after km_check_shape and allocate the mask, all valid. */
km_status km_reader_set_geometry(km_ctx *ctx, km_reader *r, int64_t rows, int64_t cols);
/* Apply the options a file does not carry (rate, pitch, units, mode,
   roller radius) and defaults for what neither gives.  Call at the end of a
   format's open.  `file_has_*` are decided by the format via the info
   fields it set: 0 / "" means "the file did not say". */
km_status km_reader_apply_options(km_ctx *ctx, km_reader *r, const km_read_options *opt);
/* The file is an in-shoe sensor's (a Tekscan F-Scan, an XSENSOR insole;
   docs/FORMAT.md 1.3, 1.6): its mode is known, a fixed grid under a foot
   read as a mat (not assumed, so never said to be "assuming a mat"; a
   --mode roller is a conflict naming the insole).  Call before
   km_reader_apply_options; the format then notes "insole". */
void km_reader_set_insole(km_reader *r);
/* The frame rates knotmap reads, from a file or an option: a frame a day
   to a million frames a second (a period of 24 h to 1 us; docs/FORMAT.md
   1.1, "Plausible rates").  One rule for every reader: a file's rate or
   period outside it is a damaged header or a wrong unit, refused by
   km_reader_apply_options (KM_ERR_FORMAT) naming where it came from; a
   --rate outside it is KM_ERR_INVALID (KM_RATE_MIN_HZ, KM_RATE_MAX_HZ:
   knotmap.h, the CLI's range of --rate too). */
int km_reader_rate_plausible(double hz);
/* Say where the file's rate (info.frame_rate_hz, set by the format) came
   from, for that error: "line 14: SECONDS_PER_FRAME 1e-300" (printf-like;
   the last call wins; never called: "the file's frame rate"). */
void km_reader_rate_from(km_reader *r, const char *fmt, ...) KM_PRINTF(2, 3);
/* The rate a file's n times from `first` to `last` (in units of `unit`
   seconds) give, (n - 1) / ((last - first) x unit) (0 when they give none:
   n < 2, last <= first), said to come from them ("/time: 5 times from 0 s
   to 4e-09 s"; fmt names them): every reader's rule for a rate from times. */
double km_reader_times_rate(km_reader *r, int64_t n, double first, double last, double unit, const char *fmt, ...)
    KM_PRINTF(6, 7);
/* The taxel pitches knotmap reads, from a file or an option: 10 um to 1 m
   (docs/FORMAT.md 1.1, "Plausible pitches"), by the same kind of rule as the
   rates: a file's outside it is a length in another unit (a script's
   0.00508 for 5.08 mm, written in metres without saying so), refused by
   km_reader_apply_options (KM_ERR_FORMAT) naming where it came from
   (KM_PITCH_MIN_MM, KM_PITCH_MAX_MM: knotmap.h). */
/* Say where the file's pitch of `axis` (0 rows: info.row_pitch_mm, 1
   columns) came from: "line 10: ROW_SPACING 0.00508" (printf-like). */
void km_reader_pitch_from(km_reader *r, int axis, const char *fmt, ...) KM_PRINTF(3, 4);
/* The three at once, as plain text (a format whose keys have fixed names). */
void km_reader_sources(km_reader *r, const char *rate, const char *row_pitch, const char *col_pitch);
/* Name one more assumed field in info.assumed (after km_reader_apply_options,
   which starts the list anew): a format's own assumption, e.g. "schema". */
void km_reader_note_assumed(km_reader *r, const char *name);
/* km_lines_open on r's file for a text reader; text in UTF-16 told only by
   its NUL bytes (no byte order mark) is then noted as assumed ("encoding"). */
struct km_lines;
km_status km_reader_open_lines(km_ctx *ctx, km_reader *r, struct km_lines *lines);
/* A pipe (FIFO) is refused, KM_ERR_NOT_FOUND "a pipe, not a file: ...":
 * knotmap reads its input more than once; never waits for ever on a pipe
 * nobody writes (every reader and the result readers: render, report). */
km_status km_refuse_pipe(km_ctx *ctx, const char *path);
/* Add the nan and inf values of n frames just read (the first of them
   frame r->frames_done) to r->info.n_nonfinite; the first one's place into
   r->info.nonfinite_at ("0-based frame 3, row 2, column 4"). */
void km_reader_count_nonfinite(km_reader *r, const float *frames, int64_t n);
/* Allocation through the reader's allocator. */
void *km_reader_alloc(km_reader *r, size_t size);
void km_reader_release(km_reader *r, void *ptr);

/* Per-format open functions: r->path is set; fill info, mask, header, ops, impl.
   On entry info is zero except format, n_frames = -1 and mode = -1; a field
   left at 0 / "" / -1 means "the file did not say" to
   km_reader_apply_options (saturation 0 becomes +inf).  When an open fails,
   reader.c calls ops->close (if ops is set) and frees header and mask. */
/* Largest HDF5 chunk of /frames a session may have, uncompressed: a chunk
 * is inflated whole, once per pass, into a cache that holds it
 * (docs/FORMAT.md, "Untrusted input"). */
#define KM_CHUNK_MAX_BYTES (256 << 20)

km_status km_open_session(km_ctx *ctx, km_reader *r, const km_read_options *opt);
km_status km_open_tekscan(km_ctx *ctx, km_reader *r, const km_read_options *opt);
km_status km_open_text(km_ctx *ctx, km_reader *r, const km_read_options *opt);
km_status km_open_audio(km_ctx *ctx, km_reader *r, const km_read_options *opt);
km_status km_open_xsensor(km_ctx *ctx, km_reader *r, const km_read_options *opt);
km_status km_open_matlab(km_ctx *ctx, km_reader *r, const km_read_options *opt);
/* A MAT-file of v7.3 (read_mat73.c; km_open_matlab hands it over): HDF5
   behind a 512-byte user block that begins KM_MAT73_SIG. */
#define KM_MAT73_SIG "MATLAB 7.3 MAT-file"
km_status km_open_mat73(km_ctx *ctx, km_reader *r, const km_read_options *opt);
km_status km_open_npy(km_ctx *ctx, km_reader *r, const km_read_options *opt);
km_status km_open_npz(km_ctx *ctx, km_reader *r, const km_read_options *opt);

/* The units a session may declare: kPa, mmHg, N/cm2, raw (reader.c; the
   one list of the readers, the session writer and the comments). */
int km_units_known(const char *u);

/* What a knotmap comment says (knotmap_comment.c); 0 / "" / -1 = not said. */
typedef struct km_comment_meta {
    int64_t rows, cols;
    double row_pitch, col_pitch;
    double rate;
    double radius;
    char units[16];
    int32_t mode;
} km_comment_meta;

void km_comment_meta_init(km_comment_meta *m);
/* Parse a comment of the form "knotmap [word...] key=value ..." into *m
   (a comment whose first word is not `knotmap` says nothing).  With
   add_header, each key=value also goes into the reader's header.  A bad
   value of a known key is KM_ERR_FORMAT ("comment: mode=x is not mat or
   roller"); unknown keys and words without '=' are skipped. */
km_status km_comment_parse(km_ctx *ctx, km_reader *r, const char *comment, int add_header, km_comment_meta *m);

/* Bytes of a file's head looked at by km_sniff_format. */
#define KM_SNIFF_BYTES 4096

/* Content sniffing on the first bytes of a file (sniff.c): the format, or
   KM_FORMAT_AUTO when nothing matches. */
km_format km_sniff_format(const unsigned char *head, size_t n, const char *path);
/* What a file no reader takes is, when its head says so (a picture
 * `knotmap render` wrote, a report, an archive): the words, or NULL. */
const char *km_sniff_foreign(const unsigned char *head, size_t n);

#endif
