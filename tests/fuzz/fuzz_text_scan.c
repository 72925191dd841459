/* Fuzz target: the line reader and the number scanner shared by the text
 * readers (src/io/text_scan.c).  Checks, beyond memory errors:
 *   - km_lines_next returns every line of the input exactly (LF or CRLF
 *     ends, a final CR dropped), with the right line numbers;
 *   - km_scan_number agrees with strtod within a relative 1e-9 wherever it
 *     accepts a number (its fast path claims correct rounding, the slow
 *     path uses pow), never reads past `end`, and refuses only what is out
 *     of the float range. */
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
    free(copy);
    free(term);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = km_fuzz_file(data, size);
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
    if (st != KM_OK)
        km_fuzz_die("km_lines_open failed on a readable file", km_ctx_last_error(ctx));
    for (;;) {
        char *line = NULL;
        size_t len = 0, want;
        int got = 0;
        const uint8_t *nl;
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
        nl = memchr(data + pos, '\n', size - pos);
        want = nl != NULL ? (size_t)(nl - (data + pos)) : size - pos;
        {
            size_t next = pos + want + (nl != NULL);
            if (want > 0 && data[pos + want - 1] == '\r')
                want--;
            if (len != want || memcmp(line, data + pos, len) != 0 || line[len] != '\0')
                km_fuzz_die("km_lines_next returned a different line", "");
            check_numbers(line, len);
            pos = next;
        }
        if (km_lines_tell(&lines) != (long long)pos)
            km_fuzz_die("km_lines_tell disagrees with the bytes consumed", "");
    }
    km_lines_close(&lines);
    km_ctx_free(ctx);
    return 0;
}
