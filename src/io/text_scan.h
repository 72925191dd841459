/* Shared by the text readers (Tekscan, text matrix): a buffered line reader
 * that streams a file without loading it, and a locale-independent number
 * scanner fast enough for the hot loop (no sscanf/strtod). */
#ifndef KM_TEXT_SCAN_H
#define KM_TEXT_SCAN_H

#include <stdio.h>

#include "internal.h"

/* The blanks between a text file's values: space, TAB, CR, FF, VT (not
   the newline: lines are split before). */
static inline int km_text_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Past the blanks and separators `sep` from p (at most e): where the next
   field starts, e when none does. */
static inline const char *km_text_skip_seps(char sep, const char *p, const char *e)
{
    while (p < e && (km_text_blank(*p) || *p == sep))
        p++;
    return p;
}

/* Past the field that starts at p: the first blank or `sep`, or e. */
static inline const char *km_text_field_end(char sep, const char *p, const char *e)
{
    while (p < e && !(km_text_blank(*p) || *p == sep))
        p++;
    return p;
}

/* 3 when p[0..n) starts with a UTF-8 byte order mark (Excel's "CSV UTF-8",
   Notepad), else 0. */
static inline size_t km_utf8_bom_len(const unsigned char *p, size_t n)
{
    return n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF ? 3u : 0u;
}

/* "UTF-16LE"/"UTF-16BE" when p[0..n) is text in UTF-16 (Windows Notepad's
   and Excel's "Unicode text": a byte order mark FF FE or FE FF, or ASCII
   with every other byte NUL), else NULL.  The text readers read it through
   a UTF-8 copy (km_lines_open); the format is sniffed on km_utf16_to_utf8's
   conversion of the head. */
static inline const char *km_utf16_name(const unsigned char *p, size_t n)
{
#define KM_TEXT_BYTE(c) ((c) >= 0x09 && (c) < 0x7F)
    if (n >= 2 && p[0] == 0xFF && p[1] == 0xFE)
        return "UTF-16LE";
    if (n >= 2 && p[0] == 0xFE && p[1] == 0xFF)
        return "UTF-16BE";
    if (n >= 4 && KM_TEXT_BYTE(p[0]) && p[1] == 0 && KM_TEXT_BYTE(p[2]) && p[3] == 0)
        return "UTF-16LE";
    if (n >= 4 && p[0] == 0 && KM_TEXT_BYTE(p[1]) && p[2] == 0 && KM_TEXT_BYTE(p[3]))
        return "UTF-16BE";
#undef KM_TEXT_BYTE
    return NULL;
}

/* 1 when km_utf16_name saw a byte order mark, 0 when it went by the NULs. */
static inline int km_utf16_has_bom(const unsigned char *p, size_t n)
{
    return n >= 2 && ((p[0] == 0xFF && p[1] == 0xFE) || (p[0] == 0xFE && p[1] == 0xFF));
}

/* Convert UTF-16 code units in src[0..n) (big-endian when `big`) to UTF-8 in
 * dst[0..cap).  *hi carries a high surrogate between calls (0 at the start).
 * Returns the bytes written, or (size_t)-1 on an unpaired surrogate; stops
 * early (*used < n) when dst is full, never splitting a character.  A final
 * odd byte is left unused. */
size_t km_utf16_to_utf8(const unsigned char *src, size_t n, int big, unsigned *hi, char *dst, size_t cap,
                        size_t *used);

/* The line buffer's largest size (the longest line accepted is one byte
   less): one frame per line of KM_MAX_TAXELS values with about 30
   characters each still fits.  The buffer doubles from 64 KiB up to it. */
#define KM_LINE_MAX ((size_t)1 << 29)
/* Most fields (runs of other than blanks, ',' and ';') a line may hold:
   one frame of KM_MAX_TAXELS values and two labels (an index, a time).  A
   line that outgrows the buffer with more, or with a NUL byte, is refused
   before the buffer grows. */
#define KM_LINE_FIELDS ((long long)KM_MAX_TAXELS + 2)
/* The longest field (a value or label: a run of other than blanks, ',' and
   ';') a line may hold: no number or label is longer (a Windows path in a
   Tekscan header is at most 260).  A line that outgrows the buffer with a
   longer one is refused before the buffer grows: with the fields a line of
   the file can hold (km_lines.max_fields), its length follows the file's
   grid, not the 512 MiB of KM_LINE_MAX. */
#define KM_FIELD_MAX 4096

typedef struct km_lines {
    km_alloc_ref alloc;
    FILE *f;
    char *buf;
    size_t cap;         /* bytes allocated */
    size_t pos;         /* start of the unread part of buf */
    size_t end;         /* end of the valid part of buf */
    long long buf_off;  /* file offset of buf[0] */
    int eof;            /* fread reached the end */
    int64_t line_no;    /* number of the last line returned (1-based) */
    int eol;            /* the file's line end: 0 = not yet seen, '\n' (LF or
                           CR LF) or '\r' (CR alone, classic Mac OS) */
    const char *utf16;  /* "UTF-16LE"/"UTF-16BE" when the file is UTF-16 text,
                           read through a UTF-8 copy (offsets are the copy's) */
    int utf16_guessed;  /* ... told by its NUL bytes, without a byte order mark */
    long long max_fields; /* fields a line of this file may hold, 0 = KM_LINE_FIELDS:
                           set by a reader once it knows its grid (the
                           columns of a row, the values of a frame's line,
                           and its labels) */
    long long size_at_open;   /* the file's size and modification time when */
    long long mtime_at_open;  /* opened (ns; the UTF-8 copy's for UTF-16) */
} km_lines;

/* Open `path` for reading.  Text in UTF-16 (km_utf16_name) is transcoded
 * once into an anonymous temporary file in UTF-8, which is then read instead
 * (its byte order mark dropped; line numbers are the file's).  Errors:
 * KM_ERR_NOT_FOUND, KM_ERR_NOMEM; for UTF-16, KM_ERR_FORMAT (an unpaired
 * surrogate, an odd byte count) and KM_ERR_IO (the temporary file). */
km_status km_lines_open(km_ctx *ctx, km_lines *l, const char *path, const km_alloc_ref *alloc);
/* Close and release; accepts a zeroed or half-opened km_lines. */
void km_lines_close(km_lines *l);
/* Next line, without its end (LF, CR LF or CR alone: the file's first line
 * end decides which it uses; a lone final CR is dropped) and,
 * for the first line of the file, without a UTF-8 byte order mark,
 * NUL-terminated in place and valid until the next call.  *got = 0 at the
 * end of the file.  Errors: KM_ERR_IO, KM_ERR_LIMIT (line too long),
 * KM_ERR_NOMEM. */
km_status km_lines_next(km_ctx *ctx, km_lines *l, char **line, size_t *len, int *got);
/* File offset of the next unread byte, and going back to such an offset
 * (with the line number of the line that will be read next minus one). */
long long km_lines_tell(const km_lines *l);
km_status km_lines_seek(km_ctx *ctx, km_lines *l, long long offset, int64_t line_no);
/* `st` (a reader's failed or short read), or KM_ERR_IO "line N: the file
 * changed while being read (B bytes when opened, now C)" when the file's
 * size or modification time is no longer the open's: a file cut or
 * rewritten under the reader fails as changed, not as damaged. */
km_status km_lines_changed(km_ctx *ctx, const km_lines *l, km_status st);

/* Scan one number starting at p (no leading blanks): optional sign, digits
 * with an optional '.' and exponent, or nan / inf / infinity (any case).
 * On success *out is the value, *endp the first byte after it, and the
 * result is 0; -1 when p does not start a number; -2 when the value is
 * outside the float range (*endp and *out set all the same, *out +-inf past
 * 1e400: a header's number, a period say, is a double). */
int km_scan_number(const char *p, const char *end, const char **endp, double *out);
/* The same with ',' as the decimal mark (European-locale exports): "1,25"
 * reads as 1.25; a '.' ends the number.  Numbers longer than 63 bytes are
 * cut there (the caller then sees unconsumed bytes). */
int km_scan_number_comma(const char *p, const char *end, const char **endp, double *out);
/* A value of a text table (text_table.c): km_scan_number, and with `;` or
 * TABs between values (sep ';' or '\t', European spreadsheets: see
 * km_tab_decimal_comma) a ',' as the decimal mark too. */
int km_scan_value(char sep, const char *p, const char *end, const char **endp, double *out);
/* Is the line [p, p + len) Excel's separator hint, "sep=;" ("sep=," or
 * "sep=" TAB, padded or not)?  Then the separator is left at p[4], p[5]
 * made the string's end (in place). */
int km_line_sep_hint(char *p, size_t len);
/* Is a line of a table [p, e) values with a bad one rather than column
 * names (docs/FORMAT.md 1.4): more of its fields are numbers than not, and
 * (with `counting` 1, asked of a first line) they are not three or more
 * that count up one by one, as names may? */
int km_values_with_a_bad_one(char sep, const char *p, const char *e, int counting);
/* Only blanks and `sep` in p[0..len): a spreadsheet's padding after a
   line's last value (or a blank line so saved). */
static inline int km_table_padding(char sep, const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != sep && !km_text_blank(p[i]))
            return 0;
    return 1;
}

/* The first line of a text table (text_names.c, docs/FORMAT.md 1.4).
 * km_table_numeric_line: would the reader read [p, e) as values without an
 * error (a value out of range aside)?  km_table_counting_line: how many
 * numbers it holds when they count 0, 1, 2, ... (pandas' names for unnamed
 * columns; at least 4), else 0. */
int km_table_numeric_line(char sep, const char *p, const char *e);
int64_t km_table_counting_line(char sep, const char *p, const char *e);
/* A first line of column names: how many, the first two (lower case, no
   blanks or quotes) and a few for the source header. */
typedef struct km_table_names {
    int64_t n;
    char first[32], second[32];
    char shown[160];
} km_table_names;
/* Split [p, e) at ';', else ',', else TAB, else blanks; surrounding quotes
   and blanks dropped, empty names after the last one are padding. */
void km_table_split_names(const char *p, const char *e, km_table_names *h);
/* What a first column's name (as km_table_names keeps it) says it holds:
   KM_LABEL_INDEX (line labels), KM_LABEL_TIME (times; *unit seconds per
   unit of the column) or 0 (a value's). */
enum { KM_LABEL_INDEX = 1, KM_LABEL_TIME = 2 };
int km_table_label_of(const char *name, double *unit);
/* pandas' header over one to three unnamed columns: an index's name (empty,
   `time`, ...: km_table_label_of) then 0, 1, ... (`,0,1`, `time,0,1`): how
   many numbers, else 0. */
int64_t km_table_labelled_count(char sep, const char *p, const char *e);
/* A line of units under the column names (`s,kPa,kPa`, `[ms];[mmHg];...`,
   `,kPa,kPa` under an index): every field empty, a pressure unit of
   km_units_from_file's (raw too) or, in the first two columns, a time unit
   (s, ms, ...; brackets, parentheses and quotes dropped), and at least one
   pressure unit.  1 with what it says, else 0. */
typedef struct km_table_units {
    char pressure[16];   /* the first column's pressure unit */
    char other[16];      /* another column's, when it differs ("" when all agree) */
    double time_secs[2]; /* seconds per unit the first two columns' time units say, 0 = none */
} km_table_units;
int km_table_units_line(const char *p, const char *e, km_table_units *u);
/* Two lines of column names, pandas' to_csv of two-level columns (a
 * MultiIndex; text_levels.c, docs/FORMAT.md 1.4).  km_table_level_line: one
 * level's line, its first field the level's name when `named`, and what
 * its labels are.  km_table_levels: a header of two such lines read (1, the
 * grid: levels row and col numbering every taxel row by row), refused (-1,
 * *why says why and what to do), or not two levels (0).
 * km_table_unnamed_levels: two lines of numbers that are such levels
 * without names (to_csv(index=False)).  km_table_index_name_line: the line
 * after the levels holding the index's name over empty fields (its name
 * into `name`, lower case), 1; else 0. */
typedef struct km_table_level {
    char name[32];      /* the level's name, lower case, quotes and blanks off */
    int64_t n;          /* labels after it */
    int ints, repeats;  /* every label an integer; two neighbours alike (an outer level) */
    int64_t first;      /* the first label */
    int64_t run;        /* labels before the first change */
    int64_t period;     /* labels before the first one comes back */
    int outer, inner;   /* first + k / run (0 0 0 1 1 1); first + k % period (0 1 2 0 1 2) */
} km_table_level;
void km_table_level_line(const char *p, const char *e, int named, km_table_level *lv);
int km_table_levels(const km_table_level *a, const km_table_level *b, int64_t *rows, int64_t *cols, char *why,
                    size_t cap);
int km_table_unnamed_levels(const km_table_level *a, const km_table_level *b);
int km_table_index_name_line(const char *p, const char *e, char name[32]);
/* The geometry rule of a text matrix (text_geometry.c, docs/FORMAT.md 1.4):
 * n_lines data lines of n1 values (the first at line line1; `label` the first
 * column's role, km_table_label_of's) and the options' grid and layout give
 * one frame per line or the matrix layout, the grid and the frame count; or
 * KM_ERR_INVALID (ambiguous: give the grid) or KM_ERR_FORMAT (the grid fits
 * neither layout), detail "line L: ..." for the reader to prefix. */
typedef struct km_text_grid {
    int64_t rows, cols, n_frames;
    int per_line;        /* 1: one frame per line; 0: matrix layout */
    int layout_guessed;  /* no grid, no layout: read as one frame (assumed "text_layout") */
} km_text_grid;
km_status km_text_geometry(km_ctx *ctx, const km_read_options *opt, int label, int64_t n_lines, int64_t n1,
                           int64_t line1, km_text_grid *g);
/* A date and time at p (text_dates.c; docs/FORMAT.md 1.4): ISO 8601's
 * YYYY-MM-DD, perhaps followed by 'T' or blanks and HH:MM[:SS[.fff]] and a
 * UTC offset (Z, +HH:MM), as pandas writes a DatetimeIndex; or pandas'
 * timedelta, [-]N days HH:MM:SS[.fff].  With `comma`, ',' is a decimal
 * mark in the seconds too.  0 for a date with its day (from 1970-01-01),
 * 1 for a timedelta with its N days, and the seconds of that day (UTC), *endp
 * past it; -1 when p holds none.  Thread-safe. */
int km_scan_datetime(const char *p, const char *e, int comma, const char **endp, int64_t *day, double *secs);
/* Does the line [p, e) hold TABs between values and decimal commas inside
 * them ("1,5\t2,25"): every ',' between two digits, no ';'? */
int km_tab_decimal_comma(const char *p, const char *e);

/* The values of a line of numbers written nan or inf (km_scan_number's
 * words, any case and sign): their count, and the first one's column into
 * *first_col (1-based, counting every value as the readers' errors count
 * columns).  Values are runs of bytes between blanks and `sep`; the first
 * `skip` (a line label) are counted as columns only.  A line without an
 * 'n' or an 'i' is passed over at once.  Thread-safe. */
int64_t km_line_nonfinite(const char *p, const char *end, char sep, int skip, int64_t *first_col);

/* p past the line's first value (a run of bytes between blanks and `sep`),
 * the blanks after it and one `sep`: a label column dropped.  Thread-safe. */
const char *km_past_value(const char *p, const char *end, char sep);

/* 1 when the line holds only blanks (space, tab, CR). */
int km_line_blank(const char *p, size_t len);
/* 1 when it holds only blanks and commas: a blank line as a spreadsheet
 * saves it in a comma-separated file (",,,,"), and the padding after a
 * line's last value. */
int km_line_padding(const char *p, size_t len);

/* A piece of the file quoted in an error detail: at most KM_TOKEN_SHOWN
 * bytes of s[0..n) (up to a NUL), with control bytes (C0, DEL, and C1 in
 * UTF-8: C2 80..C2 9F) and bytes that are not valid UTF-8 written as \xNN,
 * so a binary file never puts raw bytes on the terminal or into a log.  dst must hold KM_TOKEN_TEXT bytes; returns dst. */
#define KM_TOKEN_SHOWN 32
#define KM_TOKEN_TEXT (4 * KM_TOKEN_SHOWN + 1)
const char *km_token_text(char *dst, const char *s, size_t n);

/* A value that is not a number, or outside the float range: KM_ERR_FORMAT
 * with "line L: frame F: non-numeric value 'TOKEN' in column C" or "line L:
 * frame F: value 'TOKEN' in column C is out of range" (no "frame F: " when
 * frame is NULL).  TOKEN is s[0..n) through km_token_text; the reader prefixes
 * its path.  Returns KM_ERR_FORMAT. */
km_status km_value_error(km_ctx *ctx, int64_t line, const long long *frame, const char *s,
                         size_t n, int64_t column, int out_of_range);

#endif
