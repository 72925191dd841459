/* Evaluation of knot candidates against the ground truth of a synthetic
 * session: one-to-one matching within a tolerance, precision, recall, F1
 * and localization error. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "io/result_reader.h"

typedef struct pair {
    double d;
    size_t c, t;
} pair;

/* Distance first; then the better-ranked candidate, then the lower truth
 * index, so the result never depends on qsort's order of equal keys. */
static int pair_cmp(const void *a, const void *b)
{
    const pair *p = a, *q = b;
    if (p->d != q->d)
        return p->d < q->d ? -1 : 1;
    if (p->c != q->c)
        return p->c < q->c ? -1 : 1;
    return p->t < q->t ? -1 : p->t > q->t;
}

static km_status check_points(km_ctx *ctx, const double *x, const double *y, size_t n,
                              const char *what)
{
    if (n > 0 && (x == NULL || y == NULL))
        return km_fail(ctx, KM_ERR_INVALID, "km_eval_points: %s positions are NULL", what);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]) || !isfinite(y[i]))
            return km_fail(ctx, KM_ERR_INVALID, "km_eval_points: %s %zu is not at a finite position",
                           what, i);
    return KM_OK;
}

km_status km_eval_points(km_ctx *ctx, const double *cx, const double *cy, size_t nc,
                         const double *tx, const double *ty, size_t nt, double tolerance_mm,
                         int32_t *truth_match, km_eval_result *out)
{
    km_status st = KM_OK;
    pair *pairs = NULL;
    uint8_t *c_used = NULL, *t_used = NULL;
    size_t n_pairs = 0, cap, bytes;
    double sum = 0.0, sum2 = 0.0, dmax = 0.0;
    int64_t matched = 0;

    if (out == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "km_eval_points: out is NULL");
    memset(out, 0, sizeof *out);
    if (!(tolerance_mm > 0.0) || !isfinite(tolerance_mm))
        return km_fail(ctx, KM_ERR_INVALID, "km_eval_points: tolerance %g mm must be > 0",
                       tolerance_mm);
    if (nc > INT32_MAX || nt > INT32_MAX)
        return km_fail(ctx, KM_ERR_LIMIT, "km_eval_points: too many points");
    st = check_points(ctx, cx, cy, nc, "candidate");
    if (st == KM_OK)
        st = check_points(ctx, tx, ty, nt, "true knot");
    if (st != KM_OK)
        return st;
    for (size_t t = 0; t < nt && truth_match != NULL; t++)
        truth_match[t] = -1;

    /* Pairs within the tolerance only: usually a handful per knot. */
    cap = 0;
    for (size_t c = 0; c < nc; c++)
        for (size_t t = 0; t < nt; t++)
            cap += hypot(cx[c] - tx[t], cy[c] - ty[t]) <= tolerance_mm;
    if (cap > 0) {
        if (!km_size_mul(cap, sizeof *pairs, &bytes))
            return km_fail(ctx, KM_ERR_LIMIT, "km_eval_points: too many pairs");
        pairs = km_alloc(ctx, bytes);
        c_used = km_calloc(ctx, nc, 1);
        t_used = km_calloc(ctx, nt, 1);
        if (pairs == NULL || c_used == NULL || t_used == NULL) {
            st = KM_ERR_NOMEM;
            goto done;
        }
        for (size_t c = 0; c < nc; c++)
            for (size_t t = 0; t < nt; t++) {
                double d = hypot(cx[c] - tx[t], cy[c] - ty[t]);
                if (d <= tolerance_mm)
                    pairs[n_pairs++] = (pair){d, c, t};
            }
        qsort(pairs, n_pairs, sizeof *pairs, pair_cmp);
        for (size_t i = 0; i < n_pairs; i++) {
            const pair *p = &pairs[i];
            if (c_used[p->c] || t_used[p->t])
                continue;
            c_used[p->c] = t_used[p->t] = 1;
            if (truth_match != NULL)
                truth_match[p->t] = (int32_t)p->c;
            matched++;
            sum += p->d;
            sum2 += p->d * p->d;
            if (p->d > dmax)
                dmax = p->d;
        }
    }
    out->tolerance_mm = tolerance_mm;
    out->n_truth = (int64_t)nt;
    out->n_candidates = (int64_t)nc;
    out->n_matched = matched;
    out->precision = nc > 0 ? (double)matched / (double)nc : 1.0;
    out->recall = nt > 0 ? (double)matched / (double)nt : 1.0;
    out->f1 = nc + nt > 0 ? 2.0 * (double)matched / (double)(nc + nt) : 1.0;
    out->error_mean_mm = matched > 0 ? sum / (double)matched : NAN;
    out->error_rms_mm = matched > 0 ? sqrt(sum2 / (double)matched) : NAN;
    out->error_max_mm = matched > 0 ? dmax : NAN;
done:
    km_free(ctx, pairs);
    km_free(ctx, c_used);
    km_free(ctx, t_used);
    return st;
}

km_status km_eval(km_ctx *ctx, const char *result_path, const char *truth_path,
                  double tolerance_mm, int64_t max_candidates, km_eval_result *out)
{
    km_status st;
    km_points cand, truth;
    double pitch = 0.0;
    size_t nc;

    memset(&cand, 0, sizeof cand);
    memset(&truth, 0, sizeof truth);
    if (out == NULL || result_path == NULL || truth_path == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "km_eval: NULL argument");
    memset(out, 0, sizeof *out);
    if (isnan(tolerance_mm) || max_candidates < -1)
        return km_fail(ctx, KM_ERR_INVALID, "km_eval: tolerance must be a number and "
                                            "max_candidates >= -1");
    st = km_result_read_candidates(ctx, result_path, &cand, &pitch);
    if (st == KM_OK)
        st = km_session_read_truth(ctx, truth_path, &truth);
    if (st != KM_OK)
        goto done;
    nc = cand.n;
    if (max_candidates >= 0 && (uint64_t)max_candidates < (uint64_t)nc)
        nc = (size_t)max_candidates;
    st = km_eval_points(ctx, cand.x_mm, cand.y_mm, nc, truth.x_mm, truth.y_mm, truth.n,
                        tolerance_mm > 0.0 ? tolerance_mm : pitch, NULL, out);
done:
    km_points_clear(ctx, &cand);
    km_points_clear(ctx, &truth);
    return st;
}
