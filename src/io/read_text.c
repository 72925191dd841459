/* Text matrices: docs/FORMAT.md 1.4.
 *
 * Two layouts: one frame per line (rows*cols values on each line), or the
 * matrix layout (each frame is `rows` lines of `cols` values; a file of R
 * lines is one frame).  Values are separated by blanks and/or one comma;
 * blank lines are ignored.  The file is surveyed once at open (count of
 * non-blank lines, values on the first one) to decide the geometry and the
 * frame count, then streamed. */
#include <math.h>
#include <string.h>

#include "reader_internal.h"
#include "text_scan.h"

typedef struct tx_impl {
    km_lines lines;
    int32_t rows, cols;
    int per_line;       /* 1: one frame per line; 0: matrix layout */
    int64_t n_frames;
    int64_t parsed;
    double dt;
} tx_impl;

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static km_status bad_value(km_ctx *ctx, const tx_impl *t, const char *tok, const char *e, int64_t col, int range)
{
    const char *te = tok;
    while (te < e && !is_ws(*te) && *te != ',' && te - tok < KM_TOKEN_SHOWN)
        te++;
    return km_value_error(ctx, t->lines.line_no, NULL, tok, (size_t)(te - tok), col, range);
}

/* Parse the values of one line into dst (up to cap; dst may be NULL to
   count and check only); *count gets how many the line holds. */
static km_status parse_values(km_ctx *ctx, const tx_impl *t, const char *p, const char *e, float *restrict dst,
                              int64_t cap, int64_t *count)
{
    int64_t c = 0;
    while (p < e && is_ws(*p))
        p++;
    while (p < e) {
        const char *q;
        float v;
        if (*p == ',' && c > 0 && km_line_padding(p, (size_t)(e - p)))
            break; /* a spreadsheet's padding after the last value */
        if (*p == ',')
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: empty value in column %lld", (long long)t->lines.line_no,
                           (long long)c + 1);
        if ((unsigned)(*p - '0') < 10u) {
            /* plain integers: the common case, no conversion call */
            uint32_t iv = (uint32_t)(*p - '0');
            q = p + 1;
            while (q < e && (unsigned)(*q - '0') < 10u && q - p < 9) {
                iv = iv * 10u + (uint32_t)(*q - '0');
                q++;
            }
            if (q == e || is_ws(*q) || *q == ',') {
                v = (float)iv;
                goto store;
            }
        }
        {
            double d;
            int rc = km_scan_number(p, e, &q, &d);
            if (rc != 0 || (q < e && !is_ws(*q) && *q != ','))
                return bad_value(ctx, t, p, e, c + 1, rc == -2);
            v = (float)d;
        }
    store:
        if (dst != NULL && c < cap)
            dst[c] = v;
        c++;
        p = q;
        while (p < e && is_ws(*p))
            p++;
        if (p < e && *p == ',') {
            p++;
            while (p < e && is_ws(*p))
                p++;
        }
    }
    *count = c;
    return KM_OK;
}

/* Next non-blank line; *got = 0 at the end. */
static km_status next_data_line(km_ctx *ctx, tx_impl *t, char **line, size_t *len, int *got)
{
    km_status st;
    do {
        st = km_lines_next(ctx, &t->lines, line, len, got);
    } while (st == KM_OK && *got && km_line_padding(*line, *len));
    return st;
}

static km_status count_error(km_ctx *ctx, const tx_impl *t, int64_t frame, int64_t want, int64_t found)
{
    return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame %lld: expected %lld values, found %lld",
                   (long long)t->lines.line_no, (long long)frame, (long long)want, (long long)found);
}

static km_status parse_frame(km_ctx *ctx, tx_impl *t, float *dst, int *got)
{
    const int64_t frame = t->parsed + 1;
    char *line;
    size_t len;
    int g;
    int64_t n;
    km_status st;

    *got = 0;
    if (t->per_line) {
        const int64_t want = (int64_t)t->rows * t->cols;
        st = next_data_line(ctx, t, &line, &len, &g);
        if (st != KM_OK || !g)
            return st;
        st = parse_values(ctx, t, line, line + len, dst, want, &n);
        if (st != KM_OK)
            return st;
        if (n != want)
            return count_error(ctx, t, frame, want, n);
    } else {
        for (int32_t row = 0; row < t->rows; row++) {
            st = next_data_line(ctx, t, &line, &len, &g);
            if (st != KM_OK)
                return st;
            if (!g) {
                if (row == 0)
                    return KM_OK;
                return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame %lld: file ends after %d of %d rows (truncated)",
                               (long long)t->lines.line_no, (long long)frame, (int)row, (int)t->rows);
            }
            st = parse_values(ctx, t, line, line + len, dst + (size_t)row * (size_t)t->cols, t->cols, &n);
            if (st != KM_OK)
                return st;
            if (n != t->cols)
                return count_error(ctx, t, frame, t->cols, n);
        }
    }
    t->parsed++;
    *got = 1;
    return KM_OK;
}

static km_status tx_read(km_ctx *ctx, km_reader *r, float *frames, double *times, int64_t max_frames,
                         int64_t *n_read)
{
    tx_impl *t = r->impl;
    const size_t fs = (size_t)t->rows * (size_t)t->cols;
    int64_t n = 0;
    km_status st = KM_OK;

    while (n < max_frames) {
        int got;
        const int64_t index = t->parsed;
        if ((n & 63) == 63 && km_ctx_cancelled(ctx)) {
            st = km_fail(ctx, KM_ERR_CANCELLED, "cancelled");
            break;
        }
        st = parse_frame(ctx, t, frames + (size_t)n * fs, &got);
        if (st != KM_OK || !got)
            break;
        if (times != NULL)
            times[n] = (double)index * t->dt;
        n++;
    }
    *n_read = n;
    return st;
}

static void tx_close(km_reader *r)
{
    tx_impl *t = r->impl;
    if (t == NULL)
        return;
    km_lines_close(&t->lines);
    km_reader_release(r, t);
    r->impl = NULL;
}

static const km_reader_ops tx_ops = {tx_read, tx_close};

/* One pass over the file: non-blank lines, and the values of the first. */
static km_status survey(km_ctx *ctx, tx_impl *t, int64_t *n_lines, int64_t *first_count, int64_t *first_line)
{
    char *line;
    size_t len;
    int got;
    km_status st;
    *n_lines = 0;
    *first_count = 0;
    *first_line = 0;
    for (;;) {
        st = next_data_line(ctx, t, &line, &len, &got);
        if (st != KM_OK)
            return st;
        if (!got)
            break;
        if (*n_lines == 0) {
            st = parse_values(ctx, t, line, line + len, NULL, 0, first_count);
            if (st != KM_OK)
                return st;
            *first_line = t->lines.line_no;
        }
        ++*n_lines;
    }
    if (*n_lines == 0 && t->lines.line_no == 0)
        return km_fail(ctx, KM_ERR_FORMAT, "empty file");
    if (*n_lines == 0)
        return km_fail(ctx, KM_ERR_FORMAT, "line %lld: no data: the file holds only blank lines",
                       (long long)t->lines.line_no);
    return km_lines_seek(ctx, &t->lines, 0, 0);
}

/* Without a grid, is one L x N frame (matrix layout) the only sensible
 * reading of L lines of N values?  A long thin matrix (sides more than
 * 4:1 apart) is as likely L frames of N taxels: ambiguous, so refused
 * (docs/FORMAT.md 1.4). */
static int matrix_plausible(int64_t n_lines, int64_t n1)
{
    int64_t lo = n_lines < n1 ? n_lines : n1, hi = n_lines < n1 ? n1 : n_lines;
    return lo <= 1 || hi <= 4 * lo;
}

/* The geometry rule of docs/FORMAT.md 1.4. */
static km_status decide_geometry(km_ctx *ctx, tx_impl *t, const km_read_options *opt, int64_t n_lines, int64_t n1,
                                 int64_t line1, int64_t *rows, int64_t *cols)
{
    const int64_t R = opt->rows, C = opt->cols;
    int layout = opt->text_frame_per_file; /* 1 matrix, 0 per line, -1 guess */

    if (layout == -1) {
        if (R > 0 && C > 0)
            layout = n1 == R * C && R > 1 ? 0 : n1 == C ? 1 : -2;
        else if (C > 0)
            layout = n1 == C ? 1 : n1 % C == 0 ? 0 : -2;
        else if (R > 0)
            layout = n_lines % R == 0 ? 1 : n1 % R == 0 ? 0 : -2;
        else
            layout = matrix_plausible(n_lines, n1) ? 1 : -3;
        if (layout == -3) {
            int64_t c = (int64_t)sqrt((double)n1);
            while (c > 1 && n1 % c != 0)
                c--;
            return km_fail(ctx, KM_ERR_INVALID,
                           "line %lld: %lld lines of %lld values, no grid given: one %lld x %lld frame, or "
                           "%lld frames of %lld values each (one frame per line)? Pass --grid RxC for one "
                           "frame per line (e.g. --grid %lldx%lld), or --text-layout matrix for one frame",
                           (long long)line1, (long long)n_lines, (long long)n1, (long long)n_lines,
                           (long long)n1, (long long)n_lines, (long long)n1, (long long)(n1 / c),
                           (long long)c);
        }
        if (layout == -2)
            return km_fail(ctx, KM_ERR_FORMAT,
                           "line %lld: %lld values fit neither one frame per line nor %lld lines per frame of the "
                           "grid %lldx%lld",
                           (long long)line1, (long long)n1, (long long)(R > 0 ? R : n_lines),
                           (long long)(R > 0 ? R : 0), (long long)(C > 0 ? C : 0));
    }
    if (layout == 0) {
        t->per_line = 1;
        if (R > 0 && C > 0) {
            *rows = R;
            *cols = C;
        } else if (R > 0 || C > 0) {
            const int64_t given = R > 0 ? R : C;
            if (n1 % given != 0)
                return km_fail(ctx, KM_ERR_FORMAT, "line %lld: %lld values per line is not a multiple of %lld %s",
                               (long long)line1, (long long)n1, (long long)given, R > 0 ? "rows" : "cols");
            *rows = R > 0 ? R : n1 / C;
            *cols = C > 0 ? C : n1 / R;
        } else {
            return km_fail(ctx, KM_ERR_INVALID,
                           "line %lld: %lld values per line: give the grid (--grid RxC) to read one frame per line",
                           (long long)line1, (long long)n1);
        }
        if (*rows * *cols != n1)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame 1: expected %lld values (grid %lldx%lld), found %lld",
                           (long long)line1, (long long)(*rows * *cols), (long long)*rows, (long long)*cols,
                           (long long)n1);
        t->n_frames = n_lines;
    } else {
        t->per_line = 0;
        if (C > 0 && C != n1)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame 1: expected %lld values (grid %lldx%lld), found %lld",
                           (long long)line1, (long long)C, (long long)(R > 0 ? R : n_lines), (long long)C,
                           (long long)n1);
        *cols = n1;
        *rows = R > 0 ? R : n_lines;
        t->n_frames = *rows > 0 ? n_lines / *rows : 0;
    }
    return KM_OK;
}

km_status km_open_text(km_ctx *ctx, km_reader *r, const km_read_options *opt)
{
    tx_impl *t;
    int64_t n_lines, n1, line1, rows = 0, cols = 0;
    km_status st;

    t = km_reader_alloc(r, sizeof *t);
    if (t == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory for the text reader");
    memset(t, 0, sizeof *t);
    r->impl = t;
    r->ops = &tx_ops;
    st = km_reader_open_lines(ctx, r, &t->lines);
    if (st == KM_OK)
        st = survey(ctx, t, &n_lines, &n1, &line1);
    if (st == KM_OK && n1 == 0)
        st = km_fail(ctx, KM_ERR_FORMAT, "line %lld: no values", (long long)line1);
    if (st == KM_OK)
        st = decide_geometry(ctx, t, opt, n_lines, n1, line1, &rows, &cols);
    if (st != KM_OK)
        return st;
    st = km_reader_set_geometry(ctx, r, rows, cols);
    if (st != KM_OK)
        return st;
    t->rows = (int32_t)rows;
    t->cols = (int32_t)cols;
    r->info.n_frames = t->n_frames;
    st = km_reader_apply_options(ctx, r, opt);
    if (st != KM_OK)
        return st;
    t->dt = 1.0 / r->info.frame_rate_hz;
    return KM_OK;
}
