/* The geometry of a text matrix (docs/FORMAT.md 1.4, "Geometry"): from the
 * lines and values the reader's survey counted and the grid and layout
 * options, one frame per line or the matrix layout, the grid and the frame
 * count; or the refusal that says what to give.  The reader: read_text.c. */
#include <math.h>

#include "text_scan.h"

/* Without a grid, is one L x N frame (matrix layout) the only sensible
 * reading of L lines of N values?  A long thin matrix (sides more than
 * 4:1 apart) is as likely L frames of N taxels: ambiguous, so refused
 * (docs/FORMAT.md 1.4). */
static int matrix_plausible(int64_t n_lines, int64_t n1)
{
    int64_t lo = n_lines < n1 ? n_lines : n1, hi = n_lines < n1 ? n1 : n_lines;
    return lo <= 1 || hi <= 4 * lo;
}

km_status km_text_geometry(km_ctx *ctx, const km_read_options *opt, int label, int64_t n_lines, int64_t n1,
                           int64_t line1, km_text_grid *g)
{
    const int64_t R = opt->rows, C = opt->cols;
    int layout = opt->text_frame_per_file; /* 1 matrix, 0 per line, -1 guess */
    int64_t *rows = &g->rows, *cols = &g->cols;

    if (layout == -1) {
        if (R > 0 && C > 0)
            layout = n1 == R * C && (R > 1 || label == KM_LABEL_TIME) ? 0 : n1 == C ? 1 : -2; /* 1xC: the same */
        else if (C > 0)
            layout = n1 == C ? 1 : n1 % C == 0 ? 0 : -2;
        else if (R > 0)
            layout = n_lines % R == 0 ? 1 : n1 % R == 0 ? 0 : -2;
        else if ((layout = matrix_plausible(n_lines, n1) ? 1 : -3) == 1)
            g->layout_guessed = 1; /* said: assumed "text_layout" */
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
                           "grid %lldx%lld%s",
                           (long long)line1, (long long)n1, (long long)(R > 0 ? R : n_lines),
                           (long long)(R > 0 ? R : 0), (long long)(C > 0 ? C : 0),
                           R > 0 && C > 0 && n1 == R * C + 1 && label == 0
                               ? " (one value more than the grid: a first column of times or frame numbers? Name "
                                 "the columns in a first line, the first time or index)"
                           : R > 0 && C > 0 && n1 == R * C + 1
                               ? " (one value more than the grid after the first column, a label: a second label "
                                 "column, a time beside an index or frame number? One is read: drop the other, "
                                 "pandas' to_csv(index=False))"
                               : "");
    }
    if (layout == 0) {
        g->per_line = 1;
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
        g->n_frames = n_lines;
    } else {
        g->per_line = 0;
        if (C > 0 && C != n1)
            return km_fail(ctx, KM_ERR_FORMAT, "line %lld: frame 1: expected %lld values (grid %lldx%lld), found %lld",
                           (long long)line1, (long long)C, (long long)(R > 0 ? R : n_lines), (long long)C,
                           (long long)n1);
        *cols = n1;
        *rows = R > 0 ? R : n_lines;
        g->n_frames = *rows > 0 ? n_lines / *rows : 0;
    }
    return KM_OK;
}

