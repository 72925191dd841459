/* Shared by the Tekscan reader's files (read_tekscan.c, tekscan_fields.c):
 * docs/FORMAT.md 1.3. */
#ifndef KM_TEKSCAN_INTERNAL_H
#define KM_TEKSCAN_INTERNAL_H

#include <stddef.h>

/* Strict integer: optional sign and digits only, into *out: 0; -1 when s is
   not one; -2 when it is a positive integer too large to hold. */
int km_tk_int64(const char *s, long long *out);
/* The leading number of a value such as "5.08 mm" or "1514.73 KPa": 0 and
   *rest at the trimmed remainder, -1 when s does not start with a finite
   number followed by a blank or the end. */
int km_tk_leading_number(const char *s, double *out, const char **rest);
/* The first word of u into w (cap bytes). */
void km_tk_first_word(const char *u, char *w, size_t cap);
/* The line [*s, *s + *len) without its blanks at both ends and the run of
   commas and blanks a spreadsheet pads it with, NUL-terminated in place. */
void km_tk_trim_padding(char **s, size_t *len);

/* A line between `Frame N` and the frame's first row that is a key and its
   value (`Key words: value`, or `KEY value` as in the header), never a row:
   1 and *klen the key's length in bytes; 0 otherwise (docs/FORMAT.md 1.3,
   "Fields per frame"). */
int km_tk_frame_field(const char *line, size_t len, size_t *klen);

#endif
