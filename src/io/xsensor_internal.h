/* The XSENSOR CSV reader's private header (src/io/read_xsensor*.c and
 * src/io/xsensor_*.c only): the reader state, the key words, and the
 * functions its files share.  The format and the reader's plan are
 * described at the top of read_xsensor.c; docs/FORMAT.md 1.6. */
#ifndef KM_XSENSOR_INTERNAL_H
#define KM_XSENSOR_INTERNAL_H

#include <string.h>

#include "reader_internal.h"
#include "text_scan.h"

#define XS_MAX_SENSORS 64
#define XS_MAX_PREAMBLE 10000 /* key lines before the first frame or column row */
#define XS_NONE ((size_t)-1)

enum { XS_BLOCK = 0, XS_WIDE = 1 };
enum { K_OTHER, K_FRAME, K_SENSOR, K_ROWS, K_COLS, K_TIME, K_ELAPSED, K_WIDTH, K_HEIGHT, K_UNITS };

typedef struct xs_field {
    char *s;
    size_t len;
    int quoted;
} xs_field;

/* What the key lines of one block said. */
typedef struct xs_block {
    int n_keys;
    long long frame_no;
    int has_frame;
    char sensor[64];
    int has_sensor;
    long long rows, cols;     /* 0: not said in this block */
    double elapsed, clock;
    int has_elapsed, has_clock;
    int64_t time_line;        /* line of the time key used */
} xs_block;

typedef struct xs_impl {
    km_lines lines;
    char sep;                 /* 0 until a line shows one */
    int layout;
    int32_t rows, cols;
    int32_t want;             /* the sensor chosen */
    xs_field *f;              /* fields of the current line */
    size_t cap_f, nf;
    int held;                 /* the current line is still to be consumed */
    long long line_off;       /* file offset of the current line */
    double scale;             /* applied to values (PSI -> kPa) */
    /* pitch and units as the key lines say them, last one wins */
    double width_mm, height_mm;
    char width_from[80], height_from[80]; /* the key lines that gave them, for errors */
    char units[32];
    int units_from_key;
    int frozen;               /* pitch and units fixed (chosen sensor's first frame seen) */
    /* times */
    int t_have;               /* the chosen sensor's frames carry times */
    int t_clock;              /* ... as clock times (midnight unwrap) */
    double t0, t_last, day_off, dt;
    double span;              /* last time of the survey: the session length */
    int64_t t_line;           /* line and frame number of the last time taken */
    long long t_frame;
    long long f0, f_last;     /* frame numbers */
    int64_t parsed;           /* chosen frames passed so far (this pass) */
    int64_t n_frames;
    int finished;
    /* block layout */
    char *names[XS_MAX_SENSORS];
    int64_t blocks_of[XS_MAX_SENSORS];
    size_t n_names;
    int cur_sensor;           /* sensor of the previous block */
    long long last_rows, last_cols;
    /* wide layout */
    size_t n_columns;
    int32_t *taxel;           /* per column: taxel index of the chosen sensor, or -1 */
    size_t col_time, col_frame;
    int col_time_elapsed;
    double col_time_unit;     /* seconds per unit of its numbers (km_xs_time_unit; 0: not known) */
    char col_time_name[48];   /* its name, for that error */
    int n_groups;
} xs_impl;

/* ------------------------------------------------------------ small helpers */

static inline int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static inline int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static inline int eq_ci(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++)
        if (lower((unsigned char)*a) != lower((unsigned char)*b))
            return 0;
    return *a == '\0' && *b == '\0';
}

static inline int prefix_ci(const char *s, const char *p)
{
    for (; *p != '\0'; s++, p++)
        if (lower((unsigned char)*s) != lower((unsigned char)*p))
            return 0;
    return 1;
}

/* 0, or -1 non-numeric, -2 out of float range, -3 empty.  Inline: it runs
   once per value of every frame. */
static inline int field_number(const xs_impl *t, const xs_field *fd, double *out)
{
    const char *p = fd->s, *e = fd->s + fd->len, *q;
    int rc;
    if (fd->len == 0)
        return -3;
    if (fd->len <= 9) {
        /* plain integers: the common case, no conversion call */
        uint32_t v = 0;
        size_t k = 0;
        while (k < fd->len && (unsigned)(p[k] - '0') < 10u)
            v = v * 10u + (uint32_t)(p[k++] - '0');
        if (k == fd->len) {
            *out = (double)v;
            return 0;
        }
    }
    if ((t->sep != ',' || fd->quoted) && memchr(p, ',', fd->len) != NULL)
        rc = km_scan_number_comma(p, e, &q, out);
    else
        rc = km_scan_number(p, e, &q, out);
    if (rc == 0 && q != e)
        rc = -1;
    return rc;
}


/* ---------------------------------------- lines and fields (xsensor_text.c) */

/* Next non-blank line split into t->f; *got = 0 at the end.  A held line
   is returned again first.  The separator is decided on the first line
   that shows one. */
km_status km_xs_get_line(km_ctx *ctx, km_reader *r, xs_impl *t, int *got);
/* The current line starts with a number. */
int km_xs_is_data_line(const xs_impl *t);
/* Seconds from "HH:MM:SS[.fff]" (optional AM/PM) or "MM:SS[.fff]", or a
   plain number of seconds.  *clock = 1 for the colon forms.  0, or -1. */
int km_xs_field_time(const xs_impl *t, const xs_field *fd, double *sec, int *clock);
/* Seconds per unit of the numbers under a time key or column named k:
   "(ms)" 0.001, "(us)" 1e-6, "(min)" 60, else 1 (xsensor_keys.c). */
double km_xs_time_unit(const char *k);
km_status km_xs_time_unit_error(km_ctx *ctx, const xs_impl *t, const char *name, const char *value);

/* ------------------------------------- key lines and names (xsensor_keys.c) */

/* Key as written, without blanks and a trailing ':' (in place). */
char *km_xs_key_of(xs_field *fd);
/* K_* of a key or column name. */
int km_xs_key_kind(const char *k);
/* XSENSOR's unit words to knotmap's; PSI is converted to kPa (*scale). */
const char *km_xs_map_units(const char *u, double *scale);
/* "Peak Pressure (PSI)" -> "PSI": a unit hint from a key or column name. */
void km_xs_units_hint(xs_impl *t, const char *name);
/* "S_<row>_<col>" -> 1 with the indices. */
int km_xs_sensel_name(const xs_field *fd, long long *row, long long *col);
/* The current key line into the header: the other fields joined by the
   separator. */
km_status km_xs_add_key_line(km_ctx *ctx, km_reader *r, xs_impl *t, const char *key);
/* One key line into the block being read (and the file-wide pitch/units). */
km_status km_xs_key_line(km_ctx *ctx, xs_impl *t, xs_block *b);

/* ----------------------------------------- passes and times (read_xsensor.c) */

/* The chosen sensor's frame time from what its block/row said; checks the
   order.  raw/clock describe the file's value; has = 0 when it gave none. */
km_status km_xs_frame_time(km_ctx *ctx, xs_impl *t, int has, double raw, int clock, long long frame_no,
                           int64_t line, double *out);
/* Back to the start of the file with the state of a fresh pass. */
km_status km_xs_rewind(km_ctx *ctx, xs_impl *t);

/* ------------------------------------- the two layouts (xsensor_block.c, _wide.c) */

/* Block layout: survey, header, back to the start for the read pass. */
km_status km_xs_open_block(km_ctx *ctx, km_reader *r, xs_impl *t);
/* The next block of the chosen sensor: its frame into dst (NULL: survey)
   and its time; *got = 0 at the end. */
km_status km_xs_block_frame(km_ctx *ctx, km_reader *r, xs_impl *t, float *dst, double *time, int *got);
/* Wide layout, from the start of the file: the key lines above the column
   row (line col_line) are the header; then the columns; then the survey of
   the frame rows; left after the column row for the read pass. */
km_status km_xs_open_wide(km_ctx *ctx, km_reader *r, xs_impl *t, int64_t col_line);
/* The next frame row: the chosen sensor's values into dst (zeros where the
   export lists no sensel) and its time; *got = 0 at the end. */
km_status km_xs_wide_frame(km_ctx *ctx, km_reader *r, xs_impl *t, float *dst, double *time, int *got);

#endif
