/* A roller's per-taxel flat field estimated from the session itself
 * (docs/ALGORITHMS.md 7.5).  Every taxel reads its own multiple of the
 * pressure (its gain); a body cell that one sensor row presses all session
 * carries that row's gain as if it were the body's, but a roller turning
 * freely while lifted puts other sensor rows on the same body cells
 * afterwards.  Per pass, the candidate layer knows which sensor row gave
 * the pass maximum, the value v there and its row background b; log(v / b)
 * = G(taxel) + B(cell) + noise, with the lean and any row-wide gain
 * cancelled by b.  Per column, the cells pressed by two or more rows link
 * those rows' gains: a least-squares problem on a graph (rows and cells)
 * with a prior that holds every gain at 1 where the links do not reach
 * (a row never linked, or one constant per group of linked rows), made
 * robust to knots and sampling offsets (Huber weights).  The correction is
 * applied at the end, per cell, from per-row sums kept with each cell, so
 * no frame is kept. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bodygrid_internal.h"

/* A pass maximum sampled more than this share of a row pitch from the
   cell's centre is left out of the estimate (its correction still
   applies): without re-phasing, a taxel row's deposit flips to the next
   cell only when the odometry is half a pitch off, and there it samples
   the body half a pitch away, which is body relief, not gain. */
#define FLAT_MAX_OFFSET 0.25
/* The prior: every log gain is 0 with the weight of this many passes. */
#define FLAT_PRIOR_PASSES 0.1
/* A taxel's gain is applied when its row shares at least this many cells
   with other rows in its column. */
#define FLAT_MIN_LINKS 2
/* Huber's constant, in robust standard deviations of the residuals. */
#define FLAT_HUBER 1.5
/* Fits: the first plain, the others reweighted. */
#define FLAT_ITERATIONS 3
/* Gains applied are kept within [1 / FLAT_MAX_GAIN, FLAT_MAX_GAIN]. */
#define FLAT_MAX_GAIN 2.0
/* A dense solve per column: rollers with more rows get no estimate. */
#define FLAT_MAX_ROWS 128

void km_flat_pass(km_flat_cell *fc, int32_t crow, float m, float b, float off, int32_t turn)
{
    int s = 0;
    while (s < KM_FLAT_SLOTS && fc->row[s] != 0 && fc->row[s] != crow)
        s++;
    if (s == KM_FLAT_SLOTS || crow <= 0)
        return; /* a fourth row: uncorrected, outside the estimate */
    if (fc->row[s] == 0)
        fc->turn[s] = turn;
    fc->row[s] = crow;
    double v = (double)m + (double)b;
    fc->n[s]++;
    fc->v[s] += v;
    if (b > 0.0f && v > 0.0 && fabs((double)off) <= FLAT_MAX_OFFSET) {
        fc->qn[s]++;
        fc->q[s] += log(v / (double)b);
    }
}

double km_flat_removed(const km_flat_cell *fc, const float *gain, int32_t cols, int32_t x,
                       int32_t only_row, int32_t but_row)
{
    double d = 0.0;
    for (int s = 0; s < KM_FLAT_SLOTS && fc->row[s] != 0; s++) {
        if ((only_row != 0 && fc->row[s] != only_row) || (but_row != 0 && fc->row[s] == but_row))
            continue;
        double gn = (double)gain[(size_t)(fc->row[s] - 1) * (size_t)cols + (size_t)x];
        d += (1.0 - 1.0 / gn) * fc->v[s];
    }
    return d;
}

/* The usable slots of a cell pressed by two rows or more: their sensor
 * rows (0..), weights (passes, times the Huber weight of the residual of
 * the fit G when sigma > 0) and mean log(v / b).  Returns their count, 0
 * when fewer than two. */
static int cell_links(const km_flat_cell *fc, const double *G, double sigma, int32_t *r,
                      double *w, double *q)
{
    int k = 0, turned = 0;
    for (int s = 1; s < KM_FLAT_SLOTS && fc->row[s] != 0; s++)
        turned |= fc->turn[s] != fc->turn[0];
    if (!turned)
        return 0; /* the rows changed without a turn in the air */
    for (int s = 0; s < KM_FLAT_SLOTS && fc->row[s] != 0; s++)
        if (fc->qn[s] > 0) {
            r[k] = fc->row[s] - 1;
            w[k] = (double)fc->qn[s];
            q[k] = fc->q[s] / (double)fc->qn[s];
            k++;
        }
    if (k < 2)
        return 0;
    if (sigma > 0.0) {
        double sw = 0.0, sb = 0.0;
        for (int j = 0; j < k; j++) {
            sw += w[j];
            sb += w[j] * (q[j] - G[r[j]]);
        }
        for (int j = 0; j < k; j++) {
            double a = fabs(q[j] - G[r[j]] - sb / sw) / (FLAT_HUBER * sigma);
            if (a > 1.0)
                w[j] /= a;
        }
    }
    return k;
}

/* Cholesky solve of the n x n SPD system h x = b in place (x in b). */
static void spd_solve(double *h, double *b, int32_t n)
{
    for (int32_t j = 0; j < n; j++) {
        double d = h[(size_t)j * (size_t)n + (size_t)j];
        for (int32_t k = 0; k < j; k++)
            d -= h[(size_t)j * (size_t)n + (size_t)k] * h[(size_t)j * (size_t)n + (size_t)k];
        d = sqrt(d);
        h[(size_t)j * (size_t)n + (size_t)j] = d;
        for (int32_t i = j + 1; i < n; i++) {
            double s = h[(size_t)i * (size_t)n + (size_t)j];
            for (int32_t k = 0; k < j; k++)
                s -= h[(size_t)i * (size_t)n + (size_t)k] * h[(size_t)j * (size_t)n + (size_t)k];
            h[(size_t)i * (size_t)n + (size_t)j] = s / d;
        }
    }
    for (int32_t i = 0; i < n; i++) {
        for (int32_t k = 0; k < i; k++)
            b[i] -= h[(size_t)i * (size_t)n + (size_t)k] * b[k];
        b[i] /= h[(size_t)i * (size_t)n + (size_t)i];
    }
    for (int32_t i = n - 1; i >= 0; i--) {
        for (int32_t k = i + 1; k < n; k++)
            b[i] -= h[(size_t)k * (size_t)n + (size_t)i] * b[k];
        b[i] /= h[(size_t)i * (size_t)n + (size_t)i];
    }
}

/* The storage index of cell row iy (lo..hi), column x. */
static size_t cell_at(const km_bodygrid *g, int64_t iy, int32_t x)
{
    return (size_t)(iy - g->base) * (size_t)g->cols + (size_t)x;
}

/* Column x's log gains G (rows) from its linked cells, the previous fit's
 * G and sigma giving the weights (sigma 0: plain).  Eliminating each
 * cell's body term B leaves, per cell, the weighted spread of
 * q - G over its rows: its normal equations are W - w w^T / N. */
static void solve_column(const km_bodygrid *g, int32_t x, double sigma, double *G, double *h,
                         double *rhs)
{
    const int32_t n = g->rows;
    memset(h, 0, (size_t)n * (size_t)n * sizeof *h);
    memset(rhs, 0, (size_t)n * sizeof *rhs);
    for (int32_t i = 0; i < n; i++)
        h[(size_t)i * (size_t)n + (size_t)i] = FLAT_PRIOR_PASSES;
    for (int64_t iy = g->lo; iy <= g->hi; iy++) {
        int32_t r[KM_FLAT_SLOTS];
        double w[KM_FLAT_SLOTS], q[KM_FLAT_SLOTS], sw = 0.0, swq = 0.0;
        int k = cell_links(&g->flat[cell_at(g, iy, x)], G, sigma, r, w, q);
        for (int j = 0; j < k; j++) {
            sw += w[j];
            swq += w[j] * q[j];
        }
        for (int j = 0; j < k; j++) {
            h[(size_t)r[j] * (size_t)n + (size_t)r[j]] += w[j];
            rhs[r[j]] += w[j] * q[j] - w[j] * swq / sw;
            for (int l = 0; l < k; l++)
                h[(size_t)r[j] * (size_t)n + (size_t)r[l]] -= w[j] * w[l] / sw;
        }
    }
    spd_solve(h, rhs, n);
    memcpy(G, rhs, (size_t)n * sizeof *G);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The robust standard deviation (1.4826 MAD about 0) of the residuals of
 * the fit G (rows x cols, row-major) over every linked cell; the links per
 * taxel into links when given.  res: scratch of 3 values per cell. */
static double residual_sigma(const km_bodygrid *g, const double *G, double *res, int32_t *links)
{
    size_t m = 0;
    for (int32_t x = 0; x < g->cols; x++)
        for (int64_t iy = g->lo; iy <= g->hi; iy++) {
            int32_t r[KM_FLAT_SLOTS];
            double w[KM_FLAT_SLOTS], q[KM_FLAT_SLOTS], sw = 0.0, sb = 0.0;
            const double *gx = G + (size_t)x * (size_t)g->rows;
            int k = cell_links(&g->flat[cell_at(g, iy, x)], gx, 0.0, r, w, q);
            for (int j = 0; j < k; j++) {
                sw += w[j];
                sb += w[j] * (q[j] - gx[r[j]]);
            }
            for (int j = 0; j < k; j++) {
                res[m++] = fabs(q[j] - gx[r[j]] - sb / sw);
                if (links)
                    links[(size_t)r[j] * (size_t)g->cols + (size_t)x]++;
            }
        }
    if (m == 0)
        return 0.0;
    qsort(res, m, sizeof *res, cmp_double);
    return 1.4826 * res[m / 2];
}

km_status km_flat_estimate(km_ctx *ctx, const km_bodygrid *g, float *gain, int32_t *n_applied)
{
    km_status st = KM_OK;
    const size_t rc = (size_t)g->rows * (size_t)g->cols;
    double *G = NULL, *h = NULL, *rhs = NULL, *res = NULL;
    int32_t *links = NULL;
    for (size_t k = 0; k < rc; k++)
        gain[k] = 1.0f;
    *n_applied = 0;
    if (g->mode != KM_MODE_ROLLER || g->cand.flat_field == 0 || g->rows > FLAT_MAX_ROWS ||
        g->hi < g->lo)
        return KM_OK;
    const size_t cells = (size_t)(g->hi - g->lo + 1) * (size_t)g->cols;
    G = km_calloc(ctx, rc, sizeof *G);
    h = km_alloc(ctx, (size_t)g->rows * (size_t)g->rows * sizeof *h);
    rhs = km_alloc(ctx, (size_t)g->rows * sizeof *rhs);
    res = km_alloc(ctx, KM_FLAT_SLOTS * cells * sizeof *res);
    links = km_calloc(ctx, rc, sizeof *links);
    if (G == NULL || h == NULL || rhs == NULL || res == NULL || links == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    /* G per column (cols x rows); the first fit plain, then reweighted by
       the residuals of the one before. */
    for (int it = 0; it < FLAT_ITERATIONS; it++) {
        double sigma = it > 0 ? residual_sigma(g, G, res, NULL) : 0.0;
        for (int32_t x = 0; x < g->cols; x++)
            solve_column(g, x, sigma, G + (size_t)x * (size_t)g->rows, h, rhs);
    }
    (void)residual_sigma(g, G, res, links);
    for (int32_t r = 0; r < g->rows; r++)
        for (int32_t x = 0; x < g->cols; x++) {
            size_t k = (size_t)r * (size_t)g->cols + (size_t)x;
            if (links[k] < FLAT_MIN_LINKS)
                continue;
            double v = exp(G[(size_t)x * (size_t)g->rows + (size_t)r]);
            v = v > FLAT_MAX_GAIN ? FLAT_MAX_GAIN : v < 1.0 / FLAT_MAX_GAIN ? 1.0 / FLAT_MAX_GAIN : v;
            gain[k] = (float)v;
            ++*n_applied;
        }
done:
    km_free(ctx, G);
    km_free(ctx, h);
    km_free(ctx, rhs);
    km_free(ctx, res);
    km_free(ctx, links);
    return st;
}
