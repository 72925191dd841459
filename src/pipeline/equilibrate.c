/* Equilibration: a per-taxel gain map from a uniform-load recording
 * (docs/ALGORITHMS.md 1.3), and the gain-map text file (docs/FORMAT.md 1.7).
 *
 * The recording is streamed three times through the readers rather than
 * held: pass 1 gives the frame means (which frames are loaded depends on
 * the plateau, known only at the end), pass 2 the per-taxel mean, spread
 * and baseline over the frames chosen, pass 3 the mean without outliers
 * (spikes, hot frames).  Memory: O(rows*cols) plus a few bytes per frame. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "pipeline/equilibrate.h"

#define EQ_BLOCK 64

enum { EQ_SKIP = 0, EQ_LOADED = 1, EQ_UNLOADED = 2 };

void km_equil_params_default(km_equil_params *p)
{
    if (p == NULL)
        return;
    memset(p, 0, sizeof *p);
    p->load_fraction = 0.8;
    p->settle_frames = 10;
    p->unload_fraction = 0.05;
    p->clip_sigma = 3.0;
    p->dead_fraction = 0.1;
    p->max_gain = 4.0;
}

static km_status check_params(km_ctx *ctx, const km_equil_params *p)
{
    if (!(p->load_fraction > 0.0 && p->load_fraction < 1.0))
        return km_fail(ctx, KM_ERR_INVALID, "equilibration: load_fraction must be in (0, 1), got %g",
                       p->load_fraction);
    if (p->settle_frames < 0)
        return km_fail(ctx, KM_ERR_INVALID, "equilibration: settle_frames must be >= 0, got %d",
                       (int)p->settle_frames);
    if (!(p->unload_fraction >= 0.0 && p->unload_fraction < p->load_fraction))
        return km_fail(ctx, KM_ERR_INVALID,
                       "equilibration: unload_fraction must be in [0, load_fraction), got %g",
                       p->unload_fraction);
    if (!(p->clip_sigma >= 0.0) || !isfinite(p->clip_sigma))
        return km_fail(ctx, KM_ERR_INVALID, "equilibration: clip_sigma must be >= 0, got %g",
                       p->clip_sigma);
    if (!(p->dead_fraction >= 0.0 && p->dead_fraction < 1.0))
        return km_fail(ctx, KM_ERR_INVALID, "equilibration: dead_fraction must be in [0, 1), got %g",
                       p->dead_fraction);
    if (!(p->max_gain >= 1.0))
        return km_fail(ctx, KM_ERR_INVALID, "equilibration: max_gain must be >= 1, got %g",
                       p->max_gain);
    return KM_OK;
}

typedef struct eq_run {
    const char *path;
    const km_read_options *opt;
    const km_equil_params *p;
    int32_t rows, cols;
    size_t rc;
    uint8_t *mask;             /* the source mask (rc) */
    float *block;              /* EQ_BLOCK frames */
    double *means;             /* pass 1: per frame (grows) */
    uint8_t *cls;              /* EQ_* per frame */
    int64_t n_frames, cap;
    /* per taxel */
    double *sum, *sumsq, *base, *csum;
    int64_t *cnt;
    float *vmin, *vmax;
    int64_t n_loaded, n_unloaded;
} eq_run;

typedef km_status (*eq_frame_fn)(km_ctx *ctx, eq_run *e, const float *f, int64_t index);

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Stream the recording once through fn, frame by frame. */
static km_status eq_pass(km_ctx *ctx, eq_run *e, eq_frame_fn fn)
{
    km_reader *rd = NULL;
    km_status st = km_reader_open(ctx, e->path, e->opt, &rd);
    if (st != KM_OK)
        goto done;
    int64_t index = 0;
    for (;;) {
        int64_t n = 0;
        if ((st = km_reader_read(ctx, rd, e->block, NULL, EQ_BLOCK, &n)) != KM_OK || n == 0)
            break;
        for (int64_t j = 0; j < n && st == KM_OK; j++, index++)
            st = fn(ctx, e, e->block + (size_t)j * e->rc, index);
        if (st != KM_OK)
            break;
    }
done:
    km_reader_free(rd);
    return st;
}

static km_status pass_means(km_ctx *ctx, eq_run *e, const float *f, int64_t index)
{
    (void)index;
    if (e->n_frames == e->cap) {
        int64_t cap = e->cap < 256 ? 256 : 2 * e->cap;
        double *m = km_alloc(ctx, (size_t)cap * sizeof *m);
        if (m == NULL)
            return KM_ERR_NOMEM;
        if (e->n_frames > 0)
            memcpy(m, e->means, (size_t)e->n_frames * sizeof *m);
        km_free(ctx, e->means);
        e->means = m;
        e->cap = cap;
    }
    double s = 0.0;
    size_t n = 0;
    for (size_t k = 0; k < e->rc; k++)
        if (e->mask[k] && isfinite(f[k])) {
            s += f[k];
            n++;
        }
    e->means[e->n_frames++] = n > 0 ? s / (double)n : NAN;
    return KM_OK;
}

static km_status check_index(km_ctx *ctx, const eq_run *e, int64_t index)
{
    if (index >= e->n_frames)
        return km_fail(ctx, KM_ERR_FORMAT, "%s: the recording changed while it was read",
                       e->path);
    return KM_OK;
}

static km_status pass_moments(km_ctx *ctx, eq_run *e, const float *f, int64_t index)
{
    km_status st = check_index(ctx, e, index);
    if (st != KM_OK)
        return st;
    for (size_t k = 0; k < e->rc; k++) {
        float v = f[k];
        if (!isfinite(v))
            continue;
        /* A stuck taxel never changes over the whole recording. */
        e->vmin[k] = v < e->vmin[k] ? v : e->vmin[k];
        e->vmax[k] = v > e->vmax[k] ? v : e->vmax[k];
        if (e->cls[index] == EQ_LOADED) {
            e->sum[k] += v;
            e->sumsq[k] += (double)v * v;
            e->cnt[k]++;
        } else if (e->cls[index] == EQ_UNLOADED) {
            e->base[k] += v;
        }
    }
    return KM_OK;
}

/* Pass 3: sum[] holds the pass-2 mean, sumsq[] the bound on |v - mean|. */
static km_status pass_clipped(km_ctx *ctx, eq_run *e, const float *f, int64_t index)
{
    km_status st = check_index(ctx, e, index);
    if (st != KM_OK || e->cls[index] != EQ_LOADED)
        return st;
    for (size_t k = 0; k < e->rc; k++) {
        double v = f[k];
        if (isfinite(v) && fabs(v - e->sum[k]) <= e->sumsq[k]) {
            e->csum[k] += v;
            e->cnt[k]++;
        }
    }
    return KM_OK;
}

/* Loaded and unloaded frames from the frame means; settling frames dropped. */
static km_status classify(km_ctx *ctx, eq_run *e, km_equil_summary *s)
{
    const km_equil_params *p = e->p;
    km_status st = KM_OK;
    double *sorted = NULL;
    size_t nf = 0;
    if ((e->cls = km_calloc(ctx, (size_t)(e->n_frames > 0 ? e->n_frames : 1), 1)) == NULL ||
        (sorted = km_alloc(ctx, (size_t)(e->n_frames > 0 ? e->n_frames : 1) * sizeof *sorted)) ==
            NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    for (int64_t i = 0; i < e->n_frames; i++)
        if (isfinite(e->means[i]))
            sorted[nf++] = e->means[i];
    /* The 90th percentile, not the maximum: a corrupt frame must not set
       the plateau. */
    double plateau = NAN;
    if (nf > 0) {
        qsort(sorted, nf, sizeof *sorted, cmp_double);
        plateau = sorted[(size_t)floor(0.9 * (double)(nf - 1))];
    }
    s->plateau = plateau;
    if (!(plateau > 0.0)) {
        st = km_fail(ctx, KM_ERR_FORMAT, "%s: no frame under load (%lld frames, plateau %g)",
                     e->path, (long long)e->n_frames, plateau);
        goto done;
    }
    double lo = p->load_fraction * plateau, hi = plateau / p->load_fraction;
    for (int64_t i = 0; i < e->n_frames; i++) {
        double m = e->means[i];
        e->cls[i] = m >= lo && m <= hi                 ? EQ_LOADED
                    : m < p->unload_fraction * plateau ? EQ_UNLOADED
                                                       : EQ_SKIP;
    }
    /* Drop the settling ends of each run of loaded frames, keeping at least
       its middle frame. */
    for (int64_t i = 0; i < e->n_frames;) {
        if (e->cls[i] != EQ_LOADED) {
            i++;
            continue;
        }
        int64_t j = i;
        while (j < e->n_frames && e->cls[j] == EQ_LOADED)
            j++;
        int64_t len = j - i, drop = (len - 1) / 2;
        if (drop > p->settle_frames)
            drop = p->settle_frames;
        for (int64_t k = 0; k < drop; k++)
            e->cls[i + k] = e->cls[j - 1 - k] = EQ_SKIP;
        i = j;
    }
    for (int64_t i = 0; i < e->n_frames; i++) {
        e->n_loaded += e->cls[i] == EQ_LOADED;
        e->n_unloaded += e->cls[i] == EQ_UNLOADED;
    }
done:
    km_free(ctx, sorted);
    return st;
}

static double median_of(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Responses -> gains; NaN for dead, stuck and masked taxels. */
static km_status make_gains(km_ctx *ctx, eq_run *e, float *gains, km_equil_summary *s)
{
    const km_equil_params *p = e->p;
    double *resp = km_alloc(ctx, e->rc * sizeof *resp);
    double *tmp = km_alloc(ctx, e->rc * sizeof *tmp);
    km_status st = KM_OK;
    size_t n = 0;
    if (resp == NULL || tmp == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    for (size_t k = 0; k < e->rc; k++) {
        double base = e->n_unloaded > 0 ? e->base[k] / (double)e->n_unloaded : 0.0;
        int live = e->mask[k] && e->cnt[k] > 0 && e->vmax[k] > e->vmin[k];
        resp[k] = live ? e->csum[k] / (double)e->cnt[k] - base : NAN;
        if (isfinite(resp[k]))
            tmp[n++] = resp[k];
    }
    /* Dead taxels (response ~0) would drag the median down: take it once
       over all, decide who is dead, then again over the living. */
    double ref0 = median_of(tmp, n);
    n = 0;
    for (size_t k = 0; k < e->rc; k++) {
        if (!(resp[k] >= p->dead_fraction * ref0) || !(resp[k] > 0.0))
            resp[k] = NAN;
        else
            tmp[n++] = resp[k];
    }
    double ref = median_of(tmp, n);
    s->reference = ref;
    if (n == 0 || !(ref > 0.0)) {
        st = km_fail(ctx, KM_ERR_FORMAT, "%s: no taxel responds to the load", e->path);
        goto done;
    }
    n = 0;
    for (size_t k = 0; k < e->rc; k++) {
        if (isnan(resp[k])) {
            gains[k] = NAN;
            s->n_dead++;
            continue;
        }
        double g = ref / resp[k];
        if (g > p->max_gain || g < 1.0 / p->max_gain) {
            g = g > p->max_gain ? p->max_gain : 1.0 / p->max_gain;
            s->n_clipped++;
        }
        gains[k] = (float)g;
        tmp[n++] = g;
    }
    s->gain_median = median_of(tmp, n);
    s->gain_min = n > 0 ? tmp[0] : NAN;
    s->gain_max = n > 0 ? tmp[n - 1] : NAN;
done:
    km_free(ctx, resp);
    km_free(ctx, tmp);
    return st;
}

static km_status eq_alloc(km_ctx *ctx, eq_run *e)
{
    size_t rc = e->rc;
    e->block = km_alloc(ctx, rc * EQ_BLOCK * sizeof *e->block);
    e->sum = km_calloc(ctx, rc, sizeof *e->sum);
    e->sumsq = km_calloc(ctx, rc, sizeof *e->sumsq);
    e->base = km_calloc(ctx, rc, sizeof *e->base);
    e->csum = km_calloc(ctx, rc, sizeof *e->csum);
    e->cnt = km_calloc(ctx, rc, sizeof *e->cnt);
    e->vmin = km_alloc(ctx, rc * sizeof *e->vmin);
    e->vmax = km_alloc(ctx, rc * sizeof *e->vmax);
    if (!e->block || !e->sum || !e->sumsq || !e->base || !e->csum || !e->cnt || !e->vmin ||
        !e->vmax)
        return KM_ERR_NOMEM;
    for (size_t k = 0; k < rc; k++) {
        e->vmin[k] = INFINITY;
        e->vmax[k] = -INFINITY;
    }
    return KM_OK;
}

static void eq_free(km_ctx *ctx, eq_run *e)
{
    void *bufs[] = {e->mask, e->block, e->means, e->cls,  e->sum,
                    e->sumsq, e->base, e->csum, e->cnt, e->vmin, e->vmax};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        km_free(ctx, bufs[i]);
}

/* Open once for the grid and the mask; the capacity is checked before any
 * frame is read. */
static km_status eq_open(km_ctx *ctx, eq_run *e, size_t capacity, km_equil_summary *s)
{
    km_reader *rd = NULL;
    km_status st = km_reader_open(ctx, e->path, e->opt, &rd);
    if (st != KM_OK)
        return st;
    km_session_info info;
    km_reader_info(rd, &info);
    e->rows = s->rows = info.rows;
    e->cols = s->cols = info.cols;
    e->rc = (size_t)info.rows * (size_t)info.cols;
    if (capacity < e->rc)
        st = km_fail(ctx, KM_ERR_CAPACITY, "%s: a gain map of %d x %d needs %zu floats, got %zu",
                     e->path, (int)info.rows, (int)info.cols, e->rc, capacity);
    else if ((e->mask = km_alloc(ctx, e->rc)) == NULL)
        st = KM_ERR_NOMEM;
    else
        memcpy(e->mask, km_reader_mask(rd), e->rc);
    km_reader_free(rd);
    return st;
}

km_status km_gain_map_from_recording(km_ctx *ctx, const char *path, const km_read_options *opt,
                                     const km_equil_params *p_in, float *gains, size_t capacity,
                                     km_equil_summary *summary)
{
    km_equil_params defaults;
    const km_equil_params *p = p_in;
    eq_run e;
    km_status st;
    memset(&e, 0, sizeof e);
    if (path == NULL || summary == NULL || (gains == NULL && capacity > 0))
        return km_fail(ctx, KM_ERR_INVALID, "equilibration: path and summary are required");
    memset(summary, 0, sizeof *summary);
    summary->plateau = summary->reference = NAN;
    summary->gain_min = summary->gain_median = summary->gain_max = NAN;
    if (p == NULL) {
        km_equil_params_default(&defaults);
        p = &defaults;
    }
    if ((st = check_params(ctx, p)) != KM_OK)
        return st;
    e.path = path;
    e.opt = opt;
    e.p = p;
    if ((st = eq_open(ctx, &e, capacity, summary)) != KM_OK)
        goto done;
    if ((st = eq_alloc(ctx, &e)) != KM_OK)
        goto done;
    if ((st = eq_pass(ctx, &e, pass_means)) != KM_OK)
        goto done;
    summary->n_frames = e.n_frames;
    if ((st = classify(ctx, &e, summary)) != KM_OK)
        goto done;
    summary->n_loaded = e.n_loaded;
    summary->n_unloaded = e.n_unloaded;
    if ((st = eq_pass(ctx, &e, pass_moments)) != KM_OK)
        goto done;
    for (size_t k = 0; k < e.rc; k++) {
        double n = (double)e.cnt[k];
        double mean = n > 0 ? e.sum[k] / n : NAN;
        double var = n > 1 ? fmax(0.0, (e.sumsq[k] - n * mean * mean) / (n - 1.0)) : 0.0;
        e.sum[k] = mean;
        /* The relative floor keeps a noise-free taxel's own values inside. */
        e.sumsq[k] = p->clip_sigma > 0.0 ? p->clip_sigma * sqrt(var) + 1e-6 * fabs(mean) + 1e-12
                                         : INFINITY;
        e.csum[k] = 0.0;
        e.cnt[k] = 0;
    }
    if ((st = eq_pass(ctx, &e, pass_clipped)) != KM_OK)
        goto done;
    st = make_gains(ctx, &e, gains, summary);
done:
    if (st != KM_OK && strncmp(km_ctx_last_error(ctx), path, strlen(path)) != 0)
        km_error_prefix(ctx, path);
    eq_free(ctx, &e);
    return st;
}

km_status km_gain_map_read(km_ctx *ctx, const char *path, float *gains, size_t capacity,
                           int32_t *rows, int32_t *cols)
{
    km_read_options o;
    km_reader *rd = NULL;
    float *buf = NULL;
    km_status st;
    if (path == NULL || rows == NULL || cols == NULL || (gains == NULL && capacity > 0))
        return km_fail(ctx, KM_ERR_INVALID, "gain map: path, rows and cols are required");
    *rows = *cols = 0;
    km_read_options_default(&o);
    o.format = KM_FORMAT_TEXT;
    o.text_frame_per_file = 1;
    if ((st = km_reader_open(ctx, path, &o, &rd)) != KM_OK)
        goto done;
    km_session_info info;
    km_reader_info(rd, &info);
    *rows = info.rows;
    *cols = info.cols;
    size_t rc = (size_t)info.rows * (size_t)info.cols;
    if (capacity < rc) {
        st = km_fail(ctx, KM_ERR_CAPACITY, "%s: a gain map of %d x %d needs %zu floats, got %zu",
                     path, (int)info.rows, (int)info.cols, rc, capacity);
        goto done;
    }
    /* Room for two frames: a second one is an error, not ignored. */
    if ((buf = km_alloc(ctx, 2 * rc * sizeof *buf)) == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    int64_t n = 0;
    if ((st = km_reader_read(ctx, rd, buf, NULL, 2, &n)) != KM_OK)
        goto done;
    if (n != 1) {
        st = km_fail(ctx, KM_ERR_FORMAT, "%s: a gain map is one matrix of R lines of C values, "
                     "found %lld", path, (long long)n);
        goto done;
    }
    for (size_t k = 0; k < rc; k++) {
        if (!(buf[k] >= 0.0f) && !isnan(buf[k])) {
            st = km_fail(ctx, KM_ERR_FORMAT, "%s: row %zu, column %zu: gain %g is negative",
                         path, k / (size_t)info.cols + 1, k % (size_t)info.cols + 1,
                         (double)buf[k]);
            goto done;
        }
        if (isinf(buf[k])) {
            st = km_fail(ctx, KM_ERR_FORMAT, "%s: row %zu, column %zu: gain is infinite", path,
                         k / (size_t)info.cols + 1, k % (size_t)info.cols + 1);
            goto done;
        }
    }
    memcpy(gains, buf, rc * sizeof *buf);
done:
    km_free(ctx, buf);
    km_reader_free(rd);
    return st;
}

/* ------------------------------------------------- pipeline side */

static void gain_stats(const float *g, size_t rc, double *tmp, km_equil_summary *s)
{
    size_t n = 0;
    for (size_t k = 0; k < rc; k++) {
        if (g[k] > 0.0f && isfinite(g[k]))
            tmp[n++] = g[k];
        else
            s->n_dead++;
    }
    s->gain_median = median_of(tmp, n);
    s->gain_min = n > 0 ? tmp[0] : NAN;
    s->gain_max = n > 0 ? tmp[n - 1] : NAN;
}

km_status km_equil_resolve(km_ctx *ctx, const km_process_params *p, const km_session_info *info,
                           float **gains, km_equil_summary *s)
{
    km_status st = KM_OK;
    float *g = NULL;
    double *tmp = NULL;
    const char *file = p->equilibrate != NULL ? p->equilibrate : p->gain_map_path;
    memset(s, 0, sizeof *s);
    s->plateau = s->reference = s->gain_min = s->gain_median = s->gain_max = NAN;
    *gains = NULL;
    if (file == NULL)
        return KM_OK;
    if ((p->equilibrate != NULL) + (p->gain_map_path != NULL) + (p->cond.gain_map != NULL) > 1)
        return km_fail(ctx, KM_ERR_INVALID,
                       "give one gain source: an equilibration recording, a gain-map file "
                       "or a gain array");
    size_t rc = (size_t)info->rows * (size_t)info->cols;
    if ((g = km_alloc(ctx, rc * sizeof *g)) == NULL)
        return KM_ERR_NOMEM;
    int32_t rows = 0, cols = 0;
    if (p->equilibrate != NULL) {
        /* Its own format and geometry; the session's grid only for a file
           that carries none (text, flattened audio): a grid given to a file
           with its own is a conflict (docs/FORMAT.md 1.1). */
        km_read_options o;
        km_reader *probe = NULL;
        km_read_options_default(&o);
        if (km_reader_open(ctx, file, &o, &probe) != KM_OK) {
            o.rows = info->rows;
            o.cols = info->cols;
        }
        km_reader_free(probe);
        st = km_gain_map_from_recording(ctx, file, &o, &p->equil, g, rc, s);
        rows = s->rows;
        cols = s->cols;
    } else {
        st = km_gain_map_read(ctx, file, g, rc, &rows, &cols);
        s->rows = rows;
        s->cols = cols;
    }
    if ((st == KM_OK || st == KM_ERR_CAPACITY) && (rows != info->rows || cols != info->cols)) {
        /* km_process prefixes the session's name: both files are named. */
        st = km_fail(ctx, KM_ERR_FORMAT, "%s: grid %d x %d differs from the session's %d x %d",
                     file, (int)rows, (int)cols, (int)info->rows, (int)info->cols);
        goto done;
    }
    if (st != KM_OK)
        goto done;
    if (p->gain_map_path != NULL) {
        if ((tmp = km_alloc(ctx, rc * sizeof *tmp)) == NULL) {
            st = KM_ERR_NOMEM;
            goto done;
        }
        gain_stats(g, rc, tmp, s);
    }
    *gains = g;
    g = NULL;
done:
    km_free(ctx, g);
    km_free(ctx, tmp);
    return st;
}
