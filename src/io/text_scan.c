/* Buffered line reader and number scanner for the text readers. */
#define _POSIX_C_SOURCE 200809L /* mkstemp, fdopen */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "text_scan.h"

#define KM_LINES_CHUNK ((size_t)1 << 16)

size_t km_utf16_to_utf8(const unsigned char *src, size_t n, int big, unsigned *hi, char *dst, size_t cap,
                        size_t *used)
{
    size_t i = 0, o = 0;
    for (; i + 2 <= n; i += 2) {
        unsigned u = big ? (unsigned)src[i] << 8 | src[i + 1] : (unsigned)src[i + 1] << 8 | src[i];
        unsigned cp;
        if (*hi != 0) { /* the second half of a surrogate pair */
            if (u < 0xDC00 || u > 0xDFFF)
                return (size_t)-1;
            cp = 0x10000 + ((*hi - 0xD800) << 10) + (u - 0xDC00);
        } else if (u >= 0xD800 && u <= 0xDBFF) {
            *hi = u;
            continue;
        } else if (u >= 0xDC00 && u <= 0xDFFF) {
            return (size_t)-1;
        } else {
            cp = u;
        }
        if (cap - o < 4)
            break;
        *hi = 0;
        if (cp < 0x80) {
            dst[o++] = (char)cp;
        } else if (cp < 0x800) {
            dst[o++] = (char)(0xC0 | cp >> 6);
            dst[o++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            dst[o++] = (char)(0xE0 | cp >> 12);
            dst[o++] = (char)(0x80 | (cp >> 6 & 0x3F));
            dst[o++] = (char)(0x80 | (cp & 0x3F));
        } else {
            dst[o++] = (char)(0xF0 | cp >> 18);
            dst[o++] = (char)(0x80 | (cp >> 12 & 0x3F));
            dst[o++] = (char)(0x80 | (cp >> 6 & 0x3F));
            dst[o++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    if (used != NULL)
        *used = i;
    return o;
}

/* Write all of p[0..n) to fd. */
static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The end of a UTF-16 file: `have` bytes unconverted (0 or 1), `hi` a high
   surrogate waiting for its pair (0: none). */
static km_status utf16_end(km_ctx *ctx, const km_lines *l, size_t have, unsigned hi)
{
    if (have == 1)
        return km_fail(ctx, KM_ERR_FORMAT, "text in %s ends in the middle of a character (an odd number "
                       "of bytes)", l->utf16);
    if (hi != 0)
        return km_fail(ctx, KM_ERR_FORMAT, "text in %s ends in the middle of a surrogate pair", l->utf16);
    return KM_OK;
}

/* The UTF-16 file l->f, from byte `skip` (its byte order mark), copied once
   as UTF-8 into an anonymous temporary file ($TMPDIR, else /tmp: created,
   then unlinked at once) that replaces l->f.  Streams in blocks of the line
   buffer's size, whatever the file's length. */
static km_status utf8_copy(km_ctx *ctx, km_lines *l, size_t skip)
{
    const char *dir = getenv("TMPDIR");
    char name[4096];
    size_t have = 0, out_cap = KM_LINES_CHUNK / 2 * 3 + 4;
    unsigned hi = 0;
    int big = strcmp(l->utf16, "UTF-16BE") == 0, fd;
    unsigned char *in = (unsigned char *)l->buf;
    char *out;
    FILE *copy;
    km_status st = KM_OK;

    if (dir == NULL || dir[0] == '\0')
        dir = "/tmp";
    if ((size_t)snprintf(name, sizeof name, "%s/knotmap-utf8-XXXXXX", dir) >= sizeof name)
        return km_fail(ctx, KM_ERR_IO, "text in %s: TMPDIR too long for its UTF-8 copy", l->utf16);
    if (fseek(l->f, (long)skip, SEEK_SET) != 0)
        return km_fail(ctx, KM_ERR_IO, "text in %s: cannot seek", l->utf16);
    out = km_ref_alloc(&l->alloc, out_cap);
    if (out == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory for a %zu-byte UTF-8 buffer", out_cap);
    fd = mkstemp(name);
    if (fd < 0) {
        st = km_fail(ctx, KM_ERR_IO, "text in %s: cannot create its UTF-8 copy in %s: %s", l->utf16, dir,
                     strerror(errno));
        km_ref_free(&l->alloc, out);
        return st;
    }
    unlink(name);
    for (;;) {
        size_t got = fread(in + have, 1, KM_LINES_CHUNK - have, l->f), used = 0, o;
        if (km_ctx_cancelled(ctx)) { /* a signal during a long copy */
            st = km_fail(ctx, KM_ERR_CANCELLED, "cancelled");
            break;
        }
        if (got == 0 && ferror(l->f)) {
            st = km_fail(ctx, KM_ERR_IO, "read error");
            break;
        }
        have += got;
        if (have < 2) {
            st = utf16_end(ctx, l, have, hi);
            break;
        }
        o = km_utf16_to_utf8(in, have, big, &hi, out, out_cap, &used);
        if (o == (size_t)-1) {
            st = km_fail(ctx, KM_ERR_FORMAT, "text in %s: an unpaired surrogate near byte %lld (not valid "
                         "UTF-16)", l->utf16, (long long)(ftell(l->f) - (long)have));
            break;
        }
        if (write_all(fd, out, o) != 0) {
            st = km_fail(ctx, KM_ERR_IO, "text in %s: cannot write its UTF-8 copy in %s: %s", l->utf16, dir,
                         strerror(errno));
            break;
        }
        memmove(in, in + used, have - used);
        have -= used;
        if (got == 0 && feof(l->f)) {
            st = utf16_end(ctx, l, have, hi);
            break;
        }
    }
    km_ref_free(&l->alloc, out);
    if (st == KM_OK && lseek(fd, 0, SEEK_SET) != 0)
        st = km_fail(ctx, KM_ERR_IO, "text in %s: cannot rewind its UTF-8 copy", l->utf16);
    copy = st == KM_OK ? fdopen(fd, "rb") : NULL;
    if (st == KM_OK && copy == NULL)
        st = km_fail(ctx, KM_ERR_NOMEM, "out of memory for the UTF-8 copy's stream");
    if (copy == NULL) {
        close(fd);
        return st;
    }
    fclose(l->f);
    l->f = copy;
    return KM_OK;
}

/* The open file's size and modification time (ns); 0 when it is not a
   regular file (a FIFO's times move as it is written) or fstat fails. */
static int file_stamp(const km_lines *l, long long *size, long long *mtime)
{
    struct stat sb;
    if (fstat(fileno(l->f), &sb) != 0 || !S_ISREG(sb.st_mode))
        return 0;
    *size = (long long)sb.st_size;
    *mtime = (long long)sb.st_mtim.tv_sec * 1000000000LL + (long long)sb.st_mtim.tv_nsec;
    return 1;
}

km_status km_lines_open(km_ctx *ctx, km_lines *l, const char *path, const km_alloc_ref *alloc)
{
    memset(l, 0, sizeof *l);
    l->alloc = *alloc;
    l->buf = km_ref_alloc(&l->alloc, KM_LINES_CHUNK);
    if (l->buf == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory for a %zu-byte read buffer", KM_LINES_CHUNK);
    l->cap = KM_LINES_CHUNK;
    l->f = fopen(path, "rb");
    if (l->f == NULL)
        return km_fail(ctx, KM_ERR_NOT_FOUND, "cannot open: %s", km_open_reason(errno));
    {
        unsigned char head[4];
        size_t n = fread(head, 1, sizeof head, l->f);
        km_status st = KM_OK;
        l->size_at_open = -1; /* not a regular file: never compared */
        l->utf16 = km_utf16_name(head, n);
        if (l->utf16 == NULL) {
            rewind(l->f);
        } else {
            l->utf16_guessed = !km_utf16_has_bom(head, n);
            st = utf8_copy(ctx, l, km_utf16_has_bom(head, n) ? 2 : 0);
        }
        if (st == KM_OK)
            file_stamp(l, &l->size_at_open, &l->mtime_at_open);
        return st;
    }
}

km_status km_lines_changed(km_ctx *ctx, const km_lines *l, km_status st)
{
    long long size = -1, mtime = -1;
    if (l->f == NULL || l->size_at_open < 0 || !file_stamp(l, &size, &mtime) ||
        (size == l->size_at_open && mtime == l->mtime_at_open))
        return st;
    return km_fail(ctx, KM_ERR_IO, "line %lld: the file changed while being read (%lld bytes when opened, "
                   "now %lld)", (long long)l->line_no, l->size_at_open, size);
}

void km_lines_close(km_lines *l)
{
    if (l->f != NULL)
        fclose(l->f);
    if (l->buf != NULL)
        km_ref_free(&l->alloc, l->buf);
    l->f = NULL;
    l->buf = NULL;
}

/* A line that fills the buffer (buf[0..end), its start at buf[0]) before
   the buffer grows: refused when it holds a NUL byte (not text: a sparse
   or binary file), a field longer than KM_FIELD_MAX (a separator-free
   line), or more fields than a line of the file can hold (max_fields, else
   KM_LINE_FIELDS), so that memory follows what the line can hold, not what
   the file declares. */
static km_status long_line(km_ctx *ctx, const km_lines *l)
{
    long long fields = 0, max = l->max_fields > 0 ? l->max_fields : KM_LINE_FIELDS;
    size_t start = 0;
    int in_field = 0;
    for (size_t i = 0; i < l->end; i++) {
        char c = l->buf[i];
        int sep = c == ' ' || c == '\t' || c == ',' || c == ';' || c == '\r' || c == '\f' || c == '\v';
        if (c == '\0')
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: a NUL byte at byte %zu of the line: not text "
                           "(a binary or sparse file?)", (long long)(l->line_no + 1), i + 1);
        if (!sep && !in_field) {
            fields++;
            start = i;
        }
        in_field = !sep;
        if (in_field && i - start >= KM_FIELD_MAX)
            return km_fail(ctx, KM_ERR_LIMIT, "line %lld: a value of over %d bytes without a blank, ',' or "
                           "';' (from byte %zu of the line): not a table of numbers",
                           (long long)(l->line_no + 1), KM_FIELD_MAX, start + 1);
    }
    if (fields > max && max < KM_LINE_FIELDS)
        return km_fail(ctx, KM_ERR_LIMIT, "line %lld: more than %lld values in its first %zu bytes (a line "
                       "of this file holds at most %lld: its grid's values and labels)",
                       (long long)(l->line_no + 1), max, l->end, max);
    if (fields > max)
        return km_fail(ctx, KM_ERR_LIMIT, "line %lld: more than %lld values in its first %zu bytes "
                       "(a line holds at most one frame, %d values and its labels)",
                       (long long)(l->line_no + 1), (long long)KM_LINE_FIELDS, l->end, KM_MAX_TAXELS);
    return KM_OK;
}

/* Move the unread part to the front and read more; grows the buffer when a
   single line fills it, up to KM_LINE_MAX bytes.  One spare byte is always
   kept for the final NUL. */
static km_status refill(km_ctx *ctx, km_lines *l)
{
    size_t n;
    if (l->pos > 0) {
        memmove(l->buf, l->buf + l->pos, l->end - l->pos);
        l->buf_off += (long long)l->pos;
        l->end -= l->pos;
        l->pos = 0;
    }
    if (l->end + 1 >= l->cap) {
        size_t ncap = l->cap * 2;
        char *nb;
        km_status st = long_line(ctx, l);
        if (st != KM_OK)
            return st;
        if (l->cap >= KM_LINE_MAX)
            return km_fail(ctx, KM_ERR_LIMIT, "line %lld: longer than %zu bytes",
                           (long long)(l->line_no + 1), KM_LINE_MAX - 1);
        nb = km_ref_alloc(&l->alloc, ncap);
        if (nb == NULL)
            return km_fail(ctx, KM_ERR_NOMEM, "out of memory for a %zu-byte line buffer", ncap);
        memcpy(nb, l->buf, l->end);
        km_ref_free(&l->alloc, l->buf);
        l->buf = nb;
        l->cap = ncap;
    }
    n = fread(l->buf + l->end, 1, l->cap - 1 - l->end, l->f);
    if (n == 0) {
        if (ferror(l->f))
            return km_fail(ctx, KM_ERR_IO, "read error after line %lld", (long long)l->line_no);
        l->eof = 1;
    }
    l->end += n;
    return KM_OK;
}

/* The file's line end, decided at its first one: LF (CR LF included) or a
   lone CR (classic Mac OS).  *at: where the search resumes after a refill.
   Returns 0 when more bytes are needed (a CR at the end of the buffer). */
static int decide_eol(km_lines *l, const char *s, size_t avail, size_t *at)
{
    for (size_t i = *at; i < avail; i++) {
        if (s[i] == '\n') {
            l->eol = '\n';
            return 1;
        }
        if (s[i] == '\r') {
            if (i + 1 == avail && !l->eof) {
                *at = i;
                return 0;
            }
            l->eol = i + 1 < avail && s[i + 1] == '\n' ? '\n' : '\r';
            return 1;
        }
    }
    *at = avail;
    return 0;
}

km_status km_lines_next(km_ctx *ctx, km_lines *l, char **line, size_t *len, int *got)
{
    size_t scanned = 0; /* bytes of the current line already searched */
    *got = 0;
    for (;;) {
        char *s = l->buf + l->pos;
        size_t avail = l->end - l->pos;
        if (l->eol == 0 && !decide_eol(l, s, avail, &scanned) && !l->eof) {
            km_status st = refill(ctx, l);
            if (st != KM_OK)
                return st;
            continue;
        }
        char *q = avail > scanned ? memchr(s + scanned, l->eol == '\r' ? '\r' : '\n', avail - scanned) : NULL;
        size_t n;
        if (q == NULL && !l->eof) {
            km_status st;
            scanned = avail;
            st = refill(ctx, l);
            if (st != KM_OK)
                return st;
            continue;
        }
        if (q == NULL && avail == 0)
            return KM_OK; /* end of file */
        n = q != NULL ? (size_t)(q - s) : avail;
        l->pos += q != NULL ? n + 1 : n;
        if (n > 0 && s[n - 1] == '\r')
            n--;
        if (l->eol == '\r' && n > 0 && s[0] == '\n') { /* a CR LF inside a CR file */
            s++;
            n--;
        }
        s[n] = '\0';
        l->line_no++;
        if (l->buf_off + (long long)(s - l->buf) == 0) { /* the file's first line */
            size_t bom = km_utf8_bom_len((const unsigned char *)s, n);
            s += bom;
            n -= bom;
        }
        *line = s;
        *len = n;
        *got = 1;
        return KM_OK;
    }
}

long long km_lines_tell(const km_lines *l)
{
    return l->buf_off + (long long)l->pos;
}

km_status km_lines_seek(km_ctx *ctx, km_lines *l, long long offset, int64_t line_no)
{
    if (fseek(l->f, (long)offset, SEEK_SET) != 0)
        return km_fail(ctx, KM_ERR_IO, "cannot seek to byte %lld", offset);
    l->pos = l->end = 0;
    l->buf_off = offset;
    l->eof = 0;
    l->line_no = line_no;
    return KM_OK;
}

int km_line_blank(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\f' && p[i] != '\v')
            return 0;
    return 1;
}

int km_line_padding(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != ',' && p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\f' && p[i] != '\v')
            return 0;
    return 1;
}

static int word_ci(const char *p, const char *end, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((p[i] | 0x20) != w[i])
            return 0;
    return 1;
}

static const double km_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                    1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* An exponent "e[+-]digits" at s: added to *exp10, and the byte after it
   returned; s itself when there is none ("e" without digits is not one). */
static const char *scan_exponent(const char *s, const char *end, int *exp10)
{
    if (s < end && (*s == 'e' || *s == 'E')) {
        const char *t = s + 1;
        int eneg = 0, e = 0;
        if (t < end && (*t == '+' || *t == '-')) {
            eneg = *t == '-';
            t++;
        }
        if (t < end && (unsigned)(*t - '0') < 10u) {
            while (t < end && (unsigned)(*t - '0') < 10u) {
                if (e < 100000)
                    e = e * 10 + (*t - '0');
                t++;
            }
            *exp10 += eneg ? -e : e;
            s = t;
        }
    }
    return s;
}

/* m x 10^exp10 into *v: 0, or -2 beyond the float range. */
static int compose(uint64_t m, int exp10, double *v)
{
    if (m == 0) {
        *v = 0.0;
    } else if (exp10 == 0) {
        *v = (double)m;
    } else if (m < ((uint64_t)1 << 53) && exp10 > -23 && exp10 < 23) {
        /* both operands exact: one correctly rounded operation */
        *v = exp10 > 0 ? (double)m * km_pow10[exp10] : (double)m / km_pow10[-exp10];
    } else if (exp10 < -400) {
        *v = 0.0;
    } else if (exp10 > 400) {
        return -2;
    } else {
        /* 16-19 digits (a double written with %.17g) or a far exponent:
           strtod rounds correctly; the text has no decimal mark, so the
           locale does not matter. */
        char buf[48];
        snprintf(buf, sizeof buf, "%llue%d", (unsigned long long)m, exp10);
        *v = strtod(buf, NULL);
    }
    return *v > (double)FLT_MAX ? -2 : 0;
}

int km_scan_number(const char *p, const char *end, const char **endp, double *out)
{
    const char *s = p;
    uint64_t m = 0;
    int nd = 0, exp10 = 0, any = 0, neg = 0;
    double v;

    if (s < end && (*s == '-' || *s == '+')) {
        neg = *s == '-';
        s++;
    }
    while (s < end && (unsigned)(*s - '0') < 10u) {
        if (nd < 19) {
            m = m * 10u + (uint64_t)(*s - '0');
            nd += m != 0;
        } else {
            exp10++;
        }
        any = 1;
        s++;
    }
    if (s < end && *s == '.') {
        s++;
        while (s < end && (unsigned)(*s - '0') < 10u) {
            if (nd < 19) {
                m = m * 10u + (uint64_t)(*s - '0');
                nd += m != 0;
                exp10--;
            }
            any = 1;
            s++;
        }
    }
    if (!any) {
        if (word_ci(s, end, "nan")) {
            *out = (double)NAN;
            *endp = s + 3;
            return 0;
        }
        if (word_ci(s, end, "inf")) {
            *out = neg ? -(double)INFINITY : (double)INFINITY;
            *endp = s + (word_ci(s, end, "infinity") ? 8 : 3);
            return 0;
        }
        return -1;
    }
    s = scan_exponent(s, end, &exp10);
    *endp = s;
    int rc = compose(m, exp10, &v);
    if (rc != 0 && exp10 > 400)
        v = (double)INFINITY;
    *out = neg ? -v : v;
    return rc;
}

int64_t km_line_nonfinite(const char *p, const char *end, char sep, int skip, int64_t *first_col)
{
    const char *q = p;
    int64_t n = 0, col = 0;
    while (q < end && (*q | 0x20) != 'n' && (*q | 0x20) != 'i')
        q++;
    while (q < end && p < end) { /* a word in the line: value by value */
        p = km_text_skip_seps(sep, p, end);
        const char *s = p, *e;
        double v;
        p = km_text_field_end(sep, p, end);
        if (s == p)
            break;
        if (++col > skip && km_scan_number(s, p, &e, &v) == 0 && e == p && !isfinite(v) && n++ == 0)
            *first_col = col;
    }
    return n;
}

const char *km_past_value(const char *p, const char *end, char sep)
{
    while (p < end && km_text_blank(*p))
        p++;
    p = km_text_field_end(sep, p, end);
    while (p < end && km_text_blank(*p))
        p++;
    return p < end && *p == sep ? p + 1 : p;
}

int km_scan_number_comma(const char *p, const char *end, const char **endp, double *out)
{
    /* Rewrite into the '.' grammar in a small copy so both scanners share
       one definition of a number; a '.' in the input is not a decimal mark
       here (it becomes a byte that stops the scan). */
    char buf[64];
    size_t n = 0;
    int seen_comma = 0;
    const char *q;
    int rc;
    while (p + n < end && n + 1 < sizeof buf) {
        char c = p[n];
        if (c == ',' && !seen_comma) {
            c = '.';
            seen_comma = 1;
        } else if (c == '.') {
            c = '!';
        }
        buf[n++] = c;
    }
    rc = km_scan_number(buf, buf + n, &q, out);
    if (rc == 0)
        *endp = p + (q - buf);
    return rc;
}

/* Length of the valid UTF-8 sequence of 2-4 bytes at s (at most n bytes),
   0 when there is none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len, i;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4;
    else
        return 0;
    if (len > n)
        return 0;
    for (i = 1; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

const char *km_token_text(char *dst, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, o = 0;
    if (n > KM_TOKEN_SHOWN)
        n = KM_TOKEN_SHOWN;
    while (i < n && u[i] != 0) {
        size_t k = u[i] >= 0x80 ? utf8_len(u + i, n - i) : 0;
        if (k == 2 && u[i] == 0xC2 && u[i + 1] <= 0x9F)
            k = 0; /* a C1 control (U+0080..U+009F, CSI among them): escaped byte by byte */
        if (k > 0) {
            memcpy(dst + o, s + i, k);
            o += k;
            i += k;
        } else if (u[i] < 0x20 || u[i] >= 0x7f) {
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[u[i] >> 4];
            dst[o++] = hex[u[i] & 15];
            i++;
        } else {
            dst[o++] = s[i++];
        }
    }
    dst[o] = '\0';
    return dst;
}

km_status km_value_error(km_ctx *ctx, int64_t line, const long long *frame, const char *s,
                         size_t n, int64_t column, int out_of_range)
{
    char shown[KM_TOKEN_TEXT], where[64] = "";
    km_token_text(shown, s, n);
    if (frame != NULL)
        snprintf(where, sizeof where, "frame %lld: ", *frame);
    if (out_of_range)
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: %svalue '%s' in column %lld is out of range",
                       (long long)line, where, shown, (long long)column);
    /* "1.5" as csv.QUOTE_ALL (pandas' quoting=, a spreadsheet's "quote all
       fields") writes it: say so, not only that it is no number */
    const char *quoted = n >= 2 && (s[0] == '"' || s[0] == '\'')
                             ? " (quoted fields: a text matrix's numbers are read unquoted, as "
                               "pandas' to_csv writes them by default: save it without quoting "
                               "every field)"
                             : "";
    /* R's write.csv, Excel and databases write a missing value as a word */
    static const char *const MISSING[] = {"NA", "N/A", "#N/A", "NULL", "null", "None", "-", "--"};
    for (size_t k = 0; k < sizeof MISSING / sizeof MISSING[0] && !quoted[0]; k++)
        if (strlen(MISSING[k]) == n && memcmp(MISSING[k], s, n) == 0)
            quoted = " (a missing value? write it as nan, which is read, kept and counted: R's "
                     "write.csv(na = 'nan'), pandas' to_csv(na_rep='nan'))";
    if (!quoted[0] && n > 0 && (unsigned)(s[0] - '0') < 10u &&
        (memchr(s, ':', n) != NULL || memchr(s, '/', n) != NULL || memchr(s + 1, '-', n - 1) != NULL))
        quoted = " (a date or time of day? times are read as numbers, seconds from any start under a "
                 "first column named time, milliseconds under time_ms, or as ISO dates YYYY-MM-DD "
                 "HH:MM:SS.fff there)";
    return km_fail(ctx, KM_ERR_FORMAT, "line %lld: %snon-numeric value '%s' in column %lld%s",
                   (long long)line, where, shown, (long long)column, quoted);
}
