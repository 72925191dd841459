/* The fields of a Tekscan ASCII export's lines (tekscan_internal.h,
 * docs/FORMAT.md 1.3): integers and numbers with a unit in the header, a
 * line trimmed of its blanks and a spreadsheet's padding.  The reader:
 * read_tekscan.c. */
#include <math.h>
#include <string.h>

#include "tekscan_internal.h"
#include "text_scan.h"

/* Strict non-negative or negative integer: optional sign and digits only. */
int km_tk_int64(const char *s, long long *out)
{
    long long v = 0;
    int neg = 0, any = 0;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    while ((unsigned)(*s - '0') < 10u) {
        if (v > (long long)1 << 50) {
            while ((unsigned)(*s - '0') < 10u)
                s++;
            return *s == '\0' && !neg ? -2 : -1; /* -2: a positive integer too large to hold */
        }
        v = v * 10 + (*s++ - '0');
        any = 1;
    }
    if (!any || *s != '\0')
        return -1;
    *out = neg ? -v : v;
    return 0;
}

/* Leading number of a value such as "5.08 mm" or "1514.73 KPa"; *rest
   points at the trimmed remainder. */
int km_tk_leading_number(const char *s, double *out, const char **rest)
{
    const char *e = s + strlen(s), *q;
    int rc = km_scan_number(s, e, &q, out); /* -2: beyond a float, not a double: still a number */
    if ((rc != 0 && rc != -2) || !isfinite(*out))
        return -1;
    if (q < e && !km_text_blank(*q))
        return -1;
    while (q < e && km_text_blank(*q))
        q++;
    *rest = q;
    return 0;
}

/* The first word of u into w (cap bytes). */
void km_tk_first_word(const char *u, char *w, size_t cap)
{
    size_t n = 0;
    while (u[n] != '\0' && !km_text_blank(u[n]) && n + 1 < cap) {
        w[n] = u[n];
        n++;
    }
    w[n] = '\0';
}

static void trim(char **s, size_t *len)
{
    char *p = *s;
    size_t n = *len;
    while (n > 0 && km_text_blank(*p)) {
        p++;
        n--;
    }
    while (n > 0 && km_text_blank(p[n - 1]))
        n--;
    p[n] = '\0';
    *s = p;
    *len = n;
}

/* A spreadsheet that opened the export as CSV and saved it again pads every
   line to the widest one with commas ("ROWS 60,,,,", "Frame 1,,,,", a blank
   line as ",,,,"): outside the frame rows a trailing run of commas and blanks
   is not part of the line. */
void km_tk_trim_padding(char **s, size_t *len)
{
    trim(s, len);
    while (*len > 0 && ((*s)[*len - 1] == ',' || km_text_blank((*s)[*len - 1])))
        (*len)--;
    (*s)[*len] = '\0';
}

/* Newer Tekscan versions may write fields of their own between `Frame N`
   and the frame's rows (a time, a force, an area).  Such a line is read
   past when it is plainly a key and its value, never a row of values:
   `Key words: value` (the key is the text before the first ':' that a blank
   or the line's end follows, and no comma comes before it), or `KEY value` as in the header (the first word,
   holding no comma, then blanks and a value that does not start with a
   comma).  The key starts with a letter and is no value itself (`B`, nan,
   inf), so a row that is damaged stays an error naming its value. */
int km_tk_frame_field(const char *line, size_t len, size_t *klen)
{
    const char *q;
    double d;
    size_t k, v;
    if (len == 0 || !(((unsigned)line[0] | 0x20u) - 'a' < 26u))
        return 0;
    for (k = 0; k < len && line[k] != ',' && !(line[k] == ':' && (k + 1 == len || km_text_blank(line[k + 1])));
         k++)
        ;
    if (k < len && line[k] == ':') {
        while (k > 0 && km_text_blank(line[k - 1]))
            k--;
        *klen = k;
        return 1;
    }
    for (k = 0; k < len && !km_text_blank(line[k]); k++)
        if (line[k] == ',')
            return 0;
    for (v = k; v < len && km_text_blank(line[v]); v++)
        ;
    if (v == len || line[v] == ',')
        return 0;
    if ((k == 1 && line[0] == 'B') || (km_scan_number(line, line + k, &q, &d) == 0 && q == line + k))
        return 0;
    *klen = k;
    return 1;
}
