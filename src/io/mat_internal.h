/* MAT-file level 5 elements (mat_file.c), for read_matlab.c: docs/FORMAT.md 1.8.
 * Byte order, element tags, the zlib streams of compressed variables, and a
 * variable's header (class, dimensions, name, where its values start). */
#ifndef KM_MAT_INTERNAL_H
#define KM_MAT_INTERNAL_H

#include <stdio.h>
#include <zlib.h>

#include "internal.h"

enum { MI_INT8 = 1, MI_UINT8, MI_INT16, MI_UINT16, MI_INT32, MI_UINT32, MI_SINGLE, MI_DOUBLE = 9,
       MI_INT64 = 12, MI_UINT64, MI_MATRIX, MI_COMPRESSED, MI_UTF8, MI_UTF16, MI_UTF32,
       MI_HALF = 64 /* numpy's float16 ('<f2', .npy/.npz only): no MAT-file type */ };
enum { MX_STRUCT = 2, MX_OBJECT = 3, MX_CHAR = 4, MX_SPARSE = 5, MX_DOUBLE = 6, MX_UINT64 = 15, MX_OPAQUE = 17 };

#define MAT_MAX_DIMS 32

typedef struct mat_var {
    char name[256];        /* a struct's field: "struct.field" (nested: "s.meta.fs") */
    uint32_t cls;          /* mx class */
    int complex_;
    int nd;
    uint64_t dims[3];      /* the first three; the rest were 1 when nd > 3 is refused */
    uint64_t n;            /* elements */
    uint32_t type;         /* mi type of the real part (may be narrower than the class) */
    uint64_t bytes;        /* the real part's bytes */
    uint64_t elem_off;     /* the top-level element's tag in the file */
    uint64_t elem_bytes;   /* its declared size */
    uint64_t matrix_bytes; /* the miMATRIX's declared size (a struct's field: its own) */
    int compressed;
    uint64_t data_pos;     /* the real part's first byte in the element's content stream */
    unsigned char small[4]; /* the real part when it is a small data element */
    int is_small;
    int swap;              /* values stored big-endian */
    int row_major;         /* values in C order (a .npz array); else MATLAB's column-major */
    char descr[32];        /* a .npz array's numpy type ('<f4'), for messages; a MAT-file's
                              classdef object: its class ("string", "datetime"); else "" */
} mat_var;

typedef struct mat_src {   /* a byte stream: a file range, or its inflation */
    FILE *f;
    int z, z_init;         /* z: 1 a zlib stream (MAT-file), 2 raw deflate (a zip member) */
    int crc_on;            /* keep the CRC-32 of the bytes delivered (a zip member) */
    uint32_t crc;
    z_stream zs;
    uint64_t in_left;      /* file bytes of the range not yet taken */
    long long size_at_begin; /* the file's size when the range's reading began, -1 unknown */
    uint64_t pos;          /* bytes delivered */
    unsigned char in[16384];
} mat_src;


/* A dense array of values in a file (array_read.c): a MAT-file variable or a
   .npy array.  Value (t, r, c) is value t*st + r*sr + c*sc of the byte range
   [off, off + bytes), after `skip` bytes (of its inflation when z). */
typedef struct km_array {
    FILE *f;
    uint64_t off, bytes, skip;
    int z;
    uint32_t type;         /* an mi type */
    int swap;
    int64_t T, R, C, st, sr, sc;
    const unsigned char *inline_values; /* values held in a MAT tag, else NULL */
    const double *time;    /* T times in seconds, or NULL: from the reader's rate */
    const char *name;      /* for messages: the variable */
    uint64_t at;           /* for messages: the element's byte */
    mat_src src;           /* state: the stream, the raw values */
    int started, whole;
    int crc_check;         /* a zip member: its CRC-32 checked when its last byte is read */
    uint32_t crc_want;
    uint64_t crc_len;      /* the member's bytes */
    int64_t next;          /* the next frame to deliver */
    unsigned char *raw;
    size_t raw_cap;
} km_array;

struct km_reader;
/* Does the array stream (time the slowest axis, frames whole in order)?  Else
   km_array_frames reads it whole at the first call. */
int km_array_streams(const km_array *a);
/* The reader's read (km_reader_ops.read's contract): the next frames, in order,
   as row-major floats, and their times. */
km_status km_array_read(km_ctx *ctx, struct km_reader *r, km_array *a, float *frames, double *times,
                        int64_t max_frames, int64_t *n_read);
void km_array_close(struct km_reader *r, km_array *a);

/* ---- Named arrays (array_vars.c): the frames, time, mask and metadata of a
   MAT-file's variables or a .npz archive's arrays, by one rule ---- */
typedef struct km_varset {
    const mat_var *v;
    size_t n;
    const char *noun;      /* "variable" or "array", for messages */
    const char *hint;      /* how to name the frames in the writer's language */
    int numpy;             /* numpy's convention: [T, R, C] on a tie; else MATLAB's (r, c, t) */
    /* Array v's values, whole, into buf (v->bytes bytes). */
    km_status (*values)(km_ctx *ctx, void *src, const mat_var *v, unsigned char *buf);
    void *src;
    size_t group_len;      /* set by km_vars_choose_frames: frames a struct's field s.frames:
                              strlen("s.") (rec.data.frames: "rec.data."), and `time`, `mask`,
                              metadata looked up nearest that struct first */
    const char *group;     /* the frames' name ("s.frames") */
} km_varset;

typedef struct km_orient {
    int time_first;        /* time is the frames' first dimension */
    int guessed;           /* from the longer end dimension: noted as assumed */
    int rate_named;        /* the rate from a number named like one (fs): noted as assumed */
    const struct mat_var *time; /* the frames' times: `time`, or a vector named like it, else NULL */
    int time_named;        /* ... named like it (t, times: km_time_name): noted as assumed */
    int n_strings;         /* MATLAB string objects skipped (km_vars_read_scalars): noted */
    int64_t n_frames;
} km_orient;

/* "double", "uint8", "cell", ...; a .npz array's numpy type. */
const char *km_var_class(const mat_var *v);
int km_var_numeric(const mat_var *v);
const mat_var *km_vars_find(const km_varset *s, const char *name);
/* v appended to a reader's list *vars of *n (grown 64 at a time; at most
   KM_VARS_MAX: a MAT-file's variables, level 5 or v7.3). */
#define KM_VARS_MAX 4096
km_status km_vars_append(km_ctx *ctx, struct km_reader *r, mat_var **vars, size_t *n, const mat_var *v);
/* `frames`, else the field `frames` of one struct (s.frames), else the only
   3-D numeric array, else the only numeric matrix; sets s->group. */
km_status km_vars_choose_frames(km_ctx *ctx, km_varset *s, const mat_var **out);
/* The time axis: the option, else `time`'s length when it matches one end
   dimension only, else the longer end dimension (guessed; on a tie the
   writer's own order); sets the reader's geometry. */
km_status km_vars_orient(km_ctx *ctx, struct km_reader *r, const km_varset *s, const mat_var *f,
                         const km_read_options *opt, km_orient *o);
/* Scalars and strings become header entries; those named as the session's
   attributes (docs/FORMAT.md 1.2) give the metadata.  A MATLAB string
   object is a header entry saying it was not read (o->n_strings). */
km_status km_vars_read_scalars(km_ctx *ctx, struct km_reader *r, const km_varset *s, km_orient *o);
/* What o says was assumed, into the reader's list (after
   km_reader_apply_options): time_axis, rate_name, time_name, string. */
void km_vars_note_assumed(struct km_reader *r, const km_orient *o);
/* o->time (`time`, or a vector named like it: t, times, timestamps, time_s,
   as long as the frames; km_vars_orient chose it): n_frames finite,
   non-decreasing seconds (NULL without it); gives
   the rate when no scalar did; else, unless opt gives one, a rate under a
   name like `fs` (o->rate_named).  o: the time axis's frames. */
km_status km_vars_read_time(km_ctx *ctx, struct km_reader *r, const km_varset *s, const km_read_options *opt,
                            km_orient *o, double **time);
km_status km_vars_read_mask(km_ctx *ctx, struct km_reader *r, const km_varset *s);
/* The frames' dimensions, strides, type and byte order into a. */
void km_vars_strides(km_array *a, const mat_var *f, const km_orient *o);

/* A .npy header (read_npy.c) from the stream's start: v's class, type, byte
   order, order, dimensions, value bytes and data_pos (the values' first
   byte); *nd the stored count of dimensions; *text the header (to free).
   size: the bytes the stream holds.  strict: refuse a type knotmap cannot
   read (else v->cls 0). */
km_status km_npy_header(km_ctx *ctx, mat_src *s, uint64_t size, mat_var *v, int *nd, char **text, int strict);

/* A MAT-file's 116-byte header text (level 5, or v7.3's user block),
   trailing blanks and NULs cut, '?' for what is not printable ASCII, into
   text (117 bytes): its "MAT-file" header entry (read_matlab.c). */
void km_mat_head_text(const unsigned char *h, char *text);
/* A 32-bit word in the file's byte order (swap: big-endian file). */
uint32_t km_mat_u32(const unsigned char *p, int swap);
/* Bytes per value of an mi type; 0 for a type that holds no numbers. */
size_t km_mat_type_size(uint32_t t);
/* Value i of a run of type t, as a double. */
double km_mat_elem(const unsigned char *p, size_t i, uint32_t t, int swap);
/* n values of type t, values i0, i0 + step, ..., as floats converted once
   (an integer directly, not through double). */
void km_mat_run_f(const unsigned char *p, size_t i0, size_t step, size_t n, uint32_t t, int swap, float *out);
/* Start a stream over the file's bytes [off, off + bytes), inflated when z
   (1: zlib, 2: raw deflate). */
km_status km_mat_src_begin(km_ctx *ctx, mat_src *s, FILE *f, uint64_t off, uint64_t bytes, int z);
/* Exactly n bytes of the stream into buf (NULL: skip them); errors name the
   element at byte `at` and `what`. */
km_status km_mat_src_read(km_ctx *ctx, mat_src *s, void *buf, uint64_t n, uint64_t at, const char *what);
void km_mat_src_end(mat_src *s);
/* The stream's CRC-32 (crc_on) against a zip member's `want`; the error names
   `what` and the member's byte `at`. */
km_status km_mat_src_crc(km_ctx *ctx, const mat_src *s, uint32_t want, const char *what, uint64_t at);
/* A variable's header, the stream at its miMATRIX tag (v->elem_off set for
   messages).  Cells, structs, objects, sparse and complex arrays get their
   name and class only; an empty element leaves the name "". */
km_status km_mat_read_header(km_ctx *ctx, mat_src *s, int swap, mat_var *v);
/* Structs in structs are opened to this depth: a variable's fields are
   level 1 (s.fs), a field's fields level 2 (s.meta.fs), ... (names of up
   to 63 characters fit mat_var.name).  A deeper struct is listed, not
   opened.  Both levels of MAT-file (docs/FORMAT.md 1.8). */
#define KM_MAT_STRUCT_DEPTH 3
/* A 1 x 1 struct (a struct array is listed, never opened). */
int km_mat_one_struct(const mat_var *v);
/* The fields of a 1 x 1 struct v, the stream just past v's name (as
   km_mat_read_header leaves it): each field's header, named "v.field", with
   v's element and stream positions, a 1 x 1 struct field's own fields after
   it ("v.field.sub", to KM_MAT_STRUCT_DEPTH), into a malloc'd array *out of
   *n (free it); the stream ends past the last field. */
km_status km_mat_read_fields(km_ctx *ctx, mat_src *s, int swap, const mat_var *v, mat_var **out, size_t *n);
/* The whole real part of variable v into buf (v->bytes bytes). */
km_status km_mat_read_values(km_ctx *ctx, FILE *f, const mat_var *v, mat_src *s, unsigned char *buf);

#endif
