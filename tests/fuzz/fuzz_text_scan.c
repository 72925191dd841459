/* Fuzz target: the line reader and the number scanner shared by the text
 * readers (src/io/text_scan.c).  Checks, beyond memory errors:
 *   - km_lines_next returns every line of the input exactly, with the
 *     right line numbers: the line end decided at the file's first one (LF
 *     or CR LF: lines end at LF, a CR before it dropped; a lone CR: lines end
 *     at CR, an LF that starts one dropped), a UTF-8 byte order mark at the
 *     file's start dropped;
 *   - km_scan_number agrees with strtod within a relative 1e-9 wherever it
 *     accepts a number (its fast path claims correct rounding, the slow
 *     path uses pow), never reads past `end`, and refuses only what is out
 *     of the float range;
 *   - km_line_nonfinite stays within the line and counts at most one value
 *     per 3 bytes, its first column among the line's values. */
#include <float.h>
#include <math.h>

#include "fuzz_common.h"
#include "internal.h"
#include "io/text_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_numbers(const char *line, size_t len)
{
    /* A copy exactly `len` long: ASan catches any read past `end`. */
    char *copy = malloc(len + 1);
    char *term = malloc(len + 1);
    const char *p, *end;
    if (copy == NULL || term == NULL)
        abort();
    memcpy(copy, line, len);
    memcpy(term, line, len);
    term[len] = '\0';
    p = copy;
    end = copy + len;
    while (p < end) {
        const char *q = NULL;
        double v = 0, ref;
        char *rend;
        int rc = km_scan_number(p, end, &q, &v);
        if (rc == 0) {
            if (q <= p || q > end)
                km_fuzz_die("km_scan_number: end pointer outside (p, end]", "");
            /* strtod on the same span (NUL-terminated copy). */
            {
                size_t off = (size_t)(p - copy), n = (size_t)(q - p);
                char saved = term[off + n];
                term[off + n] = '\0';
                ref = strtod(term + off, &rend);
                term[off + n] = saved;
                if (rend == term + off + n && isfinite(ref) && isfinite(v)) {
                    double tol = 1e-9 * fabs(ref);
                    if (fabs(ref) < 1e-300)
                        tol = 1e-300; /* the scanner flushes deep subnormals to 0 */
                    if (fabs(v - ref) > tol) {
                        char msg[160];
                        snprintf(msg, sizeof msg, "'%.60s' gave %.17g, strtod %.17g", term + off, v, ref);
                        km_fuzz_die("km_scan_number disagrees with strtod", msg);
                    }
                }
            }
            p = q;
        } else {
            if (rc != -1 && rc != -2)
                km_fuzz_die("km_scan_number: unknown result", "");
            p++;
        }
    }
    /* km_line_nonfinite: within the copy (ASan), at most one per 3 bytes
       ("nan"), the first one's column among the line's values */
    int64_t col = 0, n = km_line_nonfinite(copy, end, ',', 0, &col);
    if (n < 0 || (size_t)n > len / 3 || (n > 0 && (col < 1 || (size_t)col > len)) || (n == 0 && col != 0))
        km_fuzz_die("km_line_nonfinite: count or column out of range", "");
    free(copy);
    free(term);
}

/* The line end km_lines_next decides at the file's first one: '\r' for a
 * lone CR (classic Mac OS), else '\n' (LF, CR LF, or none at all). */
static char line_end(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        if (data[i] == '\n')
            return '\n';
        if (data[i] == '\r')
            return i + 1 < size && data[i + 1] == '\n' ? '\n' : '\r';
    }
    return '\n';
}

/* The line that starts at pos, as km_lines_next gives it: *start and *len
 * into data; returns where the next line starts. */
static size_t expected_line(const uint8_t *data, size_t size, size_t pos, char eol,
                            size_t *start, size_t *len)
{
    const uint8_t *e = memchr(data + pos, eol, size - pos);
    size_t n = e != NULL ? (size_t)(e - (data + pos)) : size - pos;
    size_t next = pos + n + (e != NULL);
    if (n > 0 && data[pos + n - 1] == '\r')
        n--;
    if (eol == '\r' && n > 0 && data[pos] == '\n') { /* a CR LF inside a CR file */
        pos++;
        n--;
    }
    if (pos == 0 && n >= 3 && data[0] == 0xef && data[1] == 0xbb && data[2] == 0xbf) {
        pos += 3; /* the byte order mark */
        n -= 3;
    }
    *start = pos;
    *len = n;
    return next;
}

/* An independent UTF-16 decoder, the reference for km_lines_open's UTF-8
   copy: the UTF-8 bytes of p[0..n) (without its byte order mark) in a
   malloc'ed buffer, or NULL when it is not valid UTF-16. */
static uint8_t *utf16_reference(const uint8_t *p, size_t n, int big, size_t *out_n)
{
    uint8_t *out = malloc(n / 2 * 3 + 4), *o = out;
    size_t i = (n >= 2 && ((p[0] == 0xFF && p[1] == 0xFE) || (p[0] == 0xFE && p[1] == 0xFF))) ? 2 : 0;
    if (out == NULL)
        abort();
    if ((n - i) % 2 != 0)
        goto bad;
    for (; i < n; i += 2) {
        uint32_t u = big ? (uint32_t)(p[i] << 8 | p[i + 1]) : (uint32_t)(p[i + 1] << 8 | p[i]), c = u;
        if (u >= 0xDC00 && u <= 0xDFFF)
            goto bad;
        if (u >= 0xD800 && u <= 0xDBFF) {
            uint32_t v;
            if (i + 4 > n)
                goto bad;
            v = big ? (uint32_t)(p[i + 2] << 8 | p[i + 3]) : (uint32_t)(p[i + 3] << 8 | p[i + 2]);
            if (v < 0xDC00 || v > 0xDFFF)
                goto bad;
            c = 0x10000 + ((u & 0x3FF) << 10 | (v & 0x3FF));
            i += 2;
        }
        if (c < 0x80) {
            *o++ = (uint8_t)c;
        } else if (c < 0x800) {
            *o++ = (uint8_t)(0xC0 | c >> 6);
            *o++ = (uint8_t)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            *o++ = (uint8_t)(0xE0 | c >> 12);
            *o++ = (uint8_t)(0x80 | (c >> 6 & 0x3F));
            *o++ = (uint8_t)(0x80 | (c & 0x3F));
        } else {
            *o++ = (uint8_t)(0xF0 | c >> 18);
            *o++ = (uint8_t)(0x80 | (c >> 12 & 0x3F));
            *o++ = (uint8_t)(0x80 | (c >> 6 & 0x3F));
            *o++ = (uint8_t)(0x80 | (c & 0x3F));
        }
    }
    *out_n = (size_t)(o - out);
    return out;
bad:
    free(out);
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = km_fuzz_file(data, size);
    const char *utf16 = km_utf16_name(data, size);
    uint8_t *copy = NULL;
    km_ctx *ctx = NULL;
    km_lines lines;
    km_alloc_ref ref;
    size_t pos = 0;
    int64_t line_no = 0;
    km_status st;

    if (km_ctx_create(&ctx) != KM_OK)
        abort();
    ref = km_ctx_alloc_ref(ctx);
    st = km_lines_open(ctx, &lines, path, &ref);
    if (utf16 != NULL) { /* read through a UTF-8 copy: the lines are the reference's */
        copy = utf16_reference(data, size, strcmp(utf16, "UTF-16BE") == 0, &size);
        if (copy == NULL) {
            if (st != KM_ERR_FORMAT)
                km_fuzz_die("invalid UTF-16 not refused as KM_ERR_FORMAT", km_ctx_last_error(ctx));
            km_lines_close(&lines);
            km_ctx_free(ctx);
            return 0;
        }
        data = copy;
    }
    const char eol = line_end(data, size);
    if (st != KM_OK)
        km_fuzz_die("km_lines_open failed on a readable file", km_ctx_last_error(ctx));
    for (;;) {
        char *line = NULL;
        size_t len = 0, want;
        int got = 0;
        st = km_lines_next(ctx, &lines, &line, &len, &got);
        if (st != KM_OK)
            km_fuzz_die("km_lines_next failed", km_ctx_last_error(ctx));
        if (!got) {
            if (pos != size)
                km_fuzz_die("km_lines_next stopped before the end", "");
            break;
        }
        line_no++;
        if (lines.line_no != line_no)
            km_fuzz_die("line number out of step", "");
        {
            size_t start, next = expected_line(data, size, pos, eol, &start, &want);
            if (len != want || memcmp(line, data + start, len) != 0 || line[len] != '\0')
                km_fuzz_die("km_lines_next returned a different line", "");
            check_numbers(line, len);
            pos = next;
        }
        if (km_lines_tell(&lines) != (long long)pos)
            km_fuzz_die("km_lines_tell disagrees with the bytes consumed", "");
    }
    km_lines_close(&lines);
    km_ctx_free(ctx);
    free(copy);
    return 0;
}
