/* The body stage: roller odometry, the body grid (body map and candidate
 * map on the same cells) and the per-taxel maps of the session, fed frame
 * after frame; written once at the end (/frames/max and mean, /bodymap,
 * /candidates detected by candidate_detect.c). */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "pipeline/engine_internal.h"

#if KM_AVX2_TARGET
#include <immintrin.h>
#endif

/* /candidates (docs/FORMAT.md 2.1): one row per candidate, best first. */
static const km_result_col CAND_COLS[] = {
    {"candidate", KM_COL_I32, "", "rank, 0 = best", KM_COL_ROW},
    {"x_mm", KM_COL_F64, "mm", "body x, sub-pixel", offsetof(km_candidate, x_mm)},
    {"y_mm", KM_COL_F64, "mm", "body y, sub-pixel", offsetof(km_candidate, y_mm)},
    {"peak", KM_COL_F32, "@", "accumulated excess at the peak cell", offsetof(km_candidate, peak)},
    {"prominence", KM_COL_F32, "@", "fitted knot amplitude (as amplitude, single precision)", offsetof(km_candidate, prominence)},
    {"area_mm2", KM_COL_F64, "mm2", "basin of the fitted amplitude map above half the amplitude", offsetof(km_candidate, area_mm2)},
    {"n_passes", KM_COL_I32, "1", "passes in which the excess at the cell reached seen_threshold (or its seen_noise rung)", offsetof(km_candidate, n_passes)},
    {"n_covering", KM_COL_I32, "1", "passes that covered the cell", offsetof(km_candidate, n_covering)},
    {"persistence", KM_COL_F64, "1", "n_passes / n_covering", offsetof(km_candidate, persistence)},
    {"first_time", KM_COL_F64, "s", "first time the cell was seen (NaN if never)", offsetof(km_candidate, first_time)},
    {"last_time", KM_COL_F64, "s", "last time the cell was seen (NaN if never)", offsetof(km_candidate, last_time)},
    {"score", KM_COL_F64, "1", "ranking key: significance * persistence", offsetof(km_candidate, score)},
    {"size_mm", KM_COL_F64, "mm", "fitted footprint sigma", offsetof(km_candidate, size_mm)},
    {"amplitude", KM_COL_F64, "@", "fitted knot amplitude (least squares, footprint of size_mm)", offsetof(km_candidate, amplitude)},
    {"significance", KM_COL_F64, "1", "z: amplitude over the session-measured noise of it", offsetof(km_candidate, significance)},
};
static const km_result_table CAND_TABLE = {"candidates", CAND_COLS,
                                           sizeof CAND_COLS / sizeof CAND_COLS[0],
                                           sizeof(km_candidate), "n_candidates"};

double km_roller_radius(const km_session_info *info)
{
    if (info->roller_radius_mm > 0.0)
        return info->roller_radius_mm;
    return info->rows * info->row_pitch_mm / (2.0 * 3.14159265358979323846);
}

static km_status create_taxel_maps(km_ctx *ctx, km_stage_body *s)
{
    size_t rc = (size_t)s->rows * (size_t)s->cols;
    s->max_map = km_alloc(ctx, rc * sizeof *s->max_map);
    s->sum_map = km_calloc(ctx, rc, sizeof *s->sum_map);
    s->bad_map = km_calloc(ctx, rc, sizeof *s->bad_map);
    s->avx2 = km_cpu_avx2();
    if (s->max_map == NULL || s->sum_map == NULL || s->bad_map == NULL)
        return KM_ERR_NOMEM;
    /* -inf: any finite value replaces it, so the update needs no count test. */
    for (size_t k = 0; k < rc; k++)
        s->max_map[k] = -INFINITY;
    return KM_OK;
}

km_status km_stage_body_create(km_ctx *ctx, km_stage_body *s, const km_session_info *in,
                               const km_process_params *p)
{
    km_status st;
    memset(s, 0, sizeof *s);
    s->roller = in->mode == KM_MODE_ROLLER;
    s->rows = in->rows;
    s->cols = in->cols;
    if (s->roller) {
        km_odometry_params op;
        km_odometry_params_default(&op);
        op.lift_threshold = p->lift_threshold;
        if ((st = km_odometry_create(ctx, in->rows, in->cols, km_roller_radius(in), &op,
                                     &s->odo)) != KM_OK)
            return st;
    }
    km_bodymap_params bp;
    km_bodymap_params_default(&bp);
    bp.contact_half_rows = p->cand.contact_half_rows;
    bp.contact_threshold = p->cand.contact_threshold;
    bp.pass_gap_frames = p->cand.pass_gap_frames;
    int32_t mode = s->roller ? KM_MODE_ROLLER : KM_MODE_MAT;
    /* A gain map (an equilibration) has corrected the gains at their
       source: it takes precedence over the session's own estimate. */
    km_candidate_params cp = p->cand;
    if (p->equilibrate != NULL || p->gain_map_path != NULL || p->cond.gain_map != NULL)
        cp.flat_field = 0;
    if ((st = km_bodygrid_create(ctx, mode, in->rows, in->cols, in->row_pitch_mm,
                                 in->col_pitch_mm, &bp, &cp,
                                 KM_GRID_BODYMAP | KM_GRID_CANDIDATES, &s->grid)) != KM_OK)
        return st;
    /* A mat taxel held at the sensor's full scale by the load is not stuck
       (docs/ALGORITHMS.md 10 step 1); unknown (+inf) changes nothing. */
    if (in->saturation > 0.0 && (st = km_bodygrid_set_saturation(s->grid, in->saturation)) != KM_OK)
        return km_fail(ctx, st, "body grid: saturation %g", in->saturation);
    return create_taxel_maps(ctx, s);
}

km_status km_stage_body_set_view(km_ctx *ctx, km_stage_body *s, const uint8_t *view)
{
    s->view = view;
    return km_bodygrid_set_bodymap_mask(ctx, s->grid, view);
}

void km_stage_body_row_medians(const km_stage_body *s, const km_frame *fr, const km_mask *mask,
                               float *scratch, double *row_med)
{
    if (s->roller)
        km_odometry_row_medians(s->odo, fr, mask, scratch, row_med);
}

km_status km_stage_body_odometry(km_ctx *ctx, km_stage_body *s, double *row_meds, int64_t n,
                                 km_odometry_sample *out)
{
    memset(out, 0, (size_t)n * sizeof *out);
    for (int64_t i = 0; s->roller && i < n; i++) {
        km_status st = km_odometry_advance(ctx, s->odo, row_meds + (size_t)i * (size_t)s->rows,
                                           &out[i]);
        if (st != KM_OK)
            return st;
    }
    return KM_OK;
}

/* Per-taxel maximum, sum and count of one frame, branch-free so that it
 * vectorises: a masked (NaN) or infinite value adds and counts nothing.
 * The finiteness test and the selects are on the bits (exponent not all
 * ones): gcc if-converts neither isfinite() nor a select between floats
 * behind a float test, and would leave the loop scalar.  The count is kept
 * as the frames a taxel was not finite (map_frames less it): a taxel is
 * finite in nearly every frame, so a group of eight all finite (the usual
 * one) adds nothing to it (bench/HISTORY.md "Session 39 (speed12)"). */
#if KM_AVX2_TARGET
/* taxel_maps' loop eight taxels at a time (the sums and the bad counts in
   double and int64 lanes, each taxel's own: the same bits); returns where
   it stopped. */
__attribute__((target("avx2"))) static size_t taxel_maps_avx2(const float *f, float *mx,
                                                              double *sum, int64_t *nbad, size_t rc)
{
    const __m256i expo = _mm256_set1_epi32(0x7f800000);
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    size_t k = 0;
    for (; k + 8 <= rc; k += 8) {
        __m256 v = _mm256_loadu_ps(f + k);
        __m256i bad = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_castps_si256(v), expo), expo);
        /* All eight finite (the usual group): v itself is vz and vm. */
        int all_ok = _mm256_testz_si256(bad, bad);
        __m256 vz = v, vm = v;
        if (!all_ok) {
            vz = _mm256_andnot_ps(_mm256_castsi256_ps(bad), v);
            vm = _mm256_or_ps(vz, _mm256_and_ps(_mm256_castsi256_ps(bad), ninf));
        }
        _mm256_storeu_ps(mx + k, _mm256_max_ps(vm, _mm256_loadu_ps(mx + k))); /* vm > m ? vm : m */
        _mm256_storeu_pd(sum + k, _mm256_add_pd(_mm256_loadu_pd(sum + k),
                                                _mm256_cvtps_pd(_mm256_castps256_ps128(vz))));
        _mm256_storeu_pd(sum + k + 4, _mm256_add_pd(_mm256_loadu_pd(sum + k + 4),
                                                    _mm256_cvtps_pd(_mm256_extractf128_ps(vz, 1))));
        if (all_ok)
            continue;
        for (int h = 0; h < 2; h++) {
            __m128i bh = h == 0 ? _mm256_castsi256_si128(bad) : _mm256_extracti128_si256(bad, 1);
            __m256i *cp = (__m256i *)(void *)(nbad + k + 4 * h);
            _mm256_storeu_si256(cp, _mm256_sub_epi64(_mm256_loadu_si256(cp), _mm256_cvtepi32_epi64(bh)));
        }
    }
    return k;
}
#endif

static void taxel_maps(km_stage_body *s, const float *f)
{
    size_t rc = (size_t)s->rows * (size_t)s->cols;
    float *restrict mx = s->max_map;
    double *restrict sum = s->sum_map;
    int64_t *restrict nbad = s->bad_map;
    size_t k = 0;
    s->map_frames++;
#if KM_AVX2_TARGET
    if (s->avx2)
        k = taxel_maps_avx2(f, mx, sum, nbad, rc);
#endif
    for (; k < rc; k++) {
        float v = f[k], m = mx[k], vz, vm;
        uint32_t b;
        memcpy(&b, &v, sizeof b);
        uint32_t ok = -(uint32_t)((b & 0x7f800000u) != 0x7f800000u);
        uint32_t bz = b & ok, bm = bz | (0xff800000u & ~ok); /* v or 0; v or -inf */
        memcpy(&vz, &bz, sizeof vz);
        memcpy(&vm, &bm, sizeof vm);
        mx[k] = vm > m ? vm : m;
        sum[k] += (double)vz;
        nbad[k] += ~ok & 1u;
    }
}

km_status km_stage_body_add(km_ctx *ctx, km_stage_body *s, const km_frame *fr,
                            const km_mask *mask, const km_odometry_sample *odo, double t)
{
    km_status st = km_bodygrid_add(ctx, s->grid, fr, mask, odo, t);
    taxel_maps(s, fr->data);
    return st;
}

km_status km_stage_body_maps(km_ctx *ctx, const km_stage_body *s, float *max, float *mean,
                             int32_t *coverage, float *excess, size_t capacity, size_t *cells)
{
    int32_t ny, nx;
    km_bodygrid_shape(s->grid, &ny, &nx, NULL, NULL, NULL);
    *cells = (size_t)ny * (size_t)nx;
    if (*cells == 0 || (max == NULL && mean == NULL && coverage == NULL && excess == NULL))
        return KM_OK;
    if (capacity < *cells)
        return km_fail(ctx, KM_ERR_CAPACITY, "body map: %zu cells, room for %zu", *cells,
                       capacity);
    km_status st = KM_OK;
    if (max != NULL || mean != NULL || coverage != NULL)
        st = km_bodygrid_bodymap(ctx, s->grid, max, mean, coverage, capacity, NULL);
    if (st == KM_OK && excess != NULL) {
        km_candidate_maps m = {0};
        m.excess = excess;
        st = km_bodygrid_candidate_maps(ctx, s->grid, &m, capacity, NULL);
    }
    return st;
}

km_status km_stage_body_write_taxel_maps(km_ctx *ctx, km_stage_body *s, km_result_writer *w)
{
    size_t rc = (size_t)s->rows * (size_t)s->cols;
    /* The sum map is reused as float storage for the mean: half its bytes
       suffice, and it is not needed afterwards. */
    float *mean = (float *)(void *)s->sum_map;
    for (size_t k = 0; k < rc; k++) {
        int64_t n = s->map_frames - s->bad_map[k];
        if (n == 0 || (s->view != NULL && !s->view[k])) {
            s->max_map[k] = NAN;
            mean[k] = NAN;
        } else {
            mean[k] = (float)(s->sum_map[k] / (double)n);
        }
    }
    return km_result_writer_set_maps(ctx, w, s->max_map, mean);
}

static void free_end(km_ctx *ctx, km_body_end *z)
{
    km_free(ctx, z->bmax);
    km_free(ctx, z->bmean);
    km_free(ctx, z->excess);
    km_free(ctx, z->spread);
    km_free(ctx, z->cov);
    km_free(ctx, z->cand);
    memset(z, 0, sizeof *z);
}

/* The whole-session body map and candidates: computed once at the end,
 * so the buffers here are the only allocation after the stream. */
km_status km_stage_body_finish(km_ctx *ctx, km_stage_body *s)
{
    km_status st = KM_OK;
    km_body_end *z = &s->end;
    km_result_bodymap *b = &z->b;
    size_t cells;

    free_end(ctx, z);
    const km_candidate_params *cp = km_bodygrid_candidate_params(s->grid);
    z->seen = (km_candidate_seen){.map_noise = NAN, .threshold = cp ? cp->seen_threshold : NAN};
    b->mode = s->roller ? KM_MODE_ROLLER : KM_MODE_MAT;
    km_bodygrid_shape(s->grid, &b->ny, &b->nx, &b->y0_mm, &b->y_pitch_mm, &b->x_pitch_mm);
    if ((st = km_stage_body_maps(ctx, s, NULL, NULL, NULL, NULL, 0, &cells)) != KM_OK)
        return st;
    if (cells > 0) {
        z->bmax = km_alloc(ctx, cells * sizeof *z->bmax);
        z->bmean = km_alloc(ctx, cells * sizeof *z->bmean);
        z->excess = km_alloc(ctx, cells * sizeof *z->excess);
        z->spread = km_alloc(ctx, cells * sizeof *z->spread);
        z->cov = km_alloc(ctx, cells * sizeof *z->cov);
        z->cand = km_alloc(ctx, cells * sizeof *z->cand);
        if (z->bmax == NULL || z->bmean == NULL || z->excess == NULL || z->spread == NULL ||
            z->cov == NULL || z->cand == NULL)
            return KM_ERR_NOMEM;
        km_candidate_maps sm = {0};
        sm.spread = z->spread;
        if ((st = km_stage_body_maps(ctx, s, z->bmax, z->bmean, z->cov, z->excess, cells,
                                     &cells)) != KM_OK ||
            (st = km_bodygrid_candidate_maps(ctx, s->grid, &sm, cells, NULL)) != KM_OK ||
            (st = km_bodygrid_candidates_seen(ctx, s->grid, z->cand, cells, &z->nc, &z->seen)) !=
                KM_OK)
            return st;
    }
    b->max = z->bmax;
    b->mean = z->bmean;
    b->coverage = z->cov;
    b->excess = z->excess;
    b->spread = z->spread;
    z->done = 1;
    return KM_OK;
}

/* What the session's flat field did (docs/ALGORITHMS.md 7.5), in /params:
 * the taxels whose gain it estimated and divided out of the candidate map
 * (0 when off, with a gain map, on a mat, or without the evidence). */
static km_status write_flat_field(km_ctx *ctx, const km_stage_body *s, km_result_writer *w,
                                  km_process_summary *sum)
{
    size_t rc = (size_t)s->rows * (size_t)s->cols;
    int32_t n = 0;
    float *gain = km_alloc(ctx, rc * sizeof *gain);
    if (gain == NULL)
        return KM_ERR_NOMEM;
    km_status st = km_bodygrid_flat_field(ctx, s->grid, gain, rc, &n);
    km_free(ctx, gain);
    if (st != KM_OK)
        return st;
    sum->n_flat_field_taxels = n;
    return km_result_writer_param_i64(ctx, w, "cand_flat_field_taxels", n);
}

/* What the candidates' seen count followed (docs/ALGORITHMS.md 10 step 3),
 * in /params and the summary: the map's noise and the threshold counted. */
static km_status write_seen(km_ctx *ctx, const km_body_end *z, km_result_writer *w,
                            km_process_summary *sum)
{
    km_status st;
    sum->cand_map_noise = z->seen.map_noise;
    sum->cand_seen_threshold_used = z->seen.threshold;
    if ((st = km_result_writer_param_f64(ctx, w, "cand_map_noise", z->seen.map_noise)) != KM_OK)
        return st;
    return km_result_writer_param_f64(ctx, w, "cand_seen_threshold_used", z->seen.threshold);
}

/* The zero drift the roller odometry followed and its limit
 * (docs/ALGORITHMS.md 7.1 step 6), in /params and the summary; 0 on a mat. */
static km_status write_zero_drift(km_ctx *ctx, const km_stage_body *s, km_result_writer *w,
                                  km_process_summary *sum)
{
    km_status st;
    double spread = 0.0, limit = 0.0;
    if (s->roller)
        km_odometry_zero_drift(s->odo, &spread, &limit);
    sum->zero_drift = spread;
    sum->zero_drift_limit = limit;
    if ((st = km_result_writer_param_f64(ctx, w, "odo_zero_drift", spread)) != KM_OK)
        return st;
    return km_result_writer_param_f64(ctx, w, "odo_zero_drift_limit", limit);
}

/* Only the table: /frames/max and mean made ahead as well (Session 39,
   a4990e2) raised the peak memory of sessions of 200 s and more by 2 MB, one
   huge page (600 s bench session 18.9 -> 21.0 MB, a 60 s one unchanged), for
   two of the end's ~420 lock takes; the writer makes them with their values
   (km_result_writer_set_maps). */
km_status km_stage_body_prepare(km_ctx *ctx, km_result_writer *w)
{
    return km_result_writer_prepare_table(ctx, w, &CAND_TABLE);
}

km_status km_stage_body_write(km_ctx *ctx, km_stage_body *s, km_result_writer *w,
                              km_process_summary *sum)
{
    km_status st = KM_OK;
    km_body_end *z = &s->end;
    if ((z->done || (st = km_stage_body_finish(ctx, s)) == KM_OK) &&
        (st = write_flat_field(ctx, s, w, sum)) == KM_OK &&
        (st = write_zero_drift(ctx, s, w, sum)) == KM_OK &&
        (st = write_seen(ctx, z, w, sum)) == KM_OK &&
        (st = km_result_writer_set_bodymap(ctx, w, &z->b)) == KM_OK &&
        (st = km_result_writer_set_table(ctx, w, &CAND_TABLE, z->cand, z->nc)) == KM_OK) {
        sum->n_candidates = (int64_t)z->nc;
        sum->n_cand = z->nc < KM_SUMMARY_TOP ? (int)z->nc : KM_SUMMARY_TOP;
        for (int i = 0; i < sum->n_cand; i++)
            sum->cand[i] = z->cand[i];
        sum->bodymap_ny = z->b.ny;
        sum->bodymap_nx = z->b.nx;
    }
    free_end(ctx, z);
    return st;
}

void km_stage_body_free(km_ctx *ctx, km_stage_body *s)
{
    km_odometry_free(s->odo);
    km_bodygrid_free(s->grid);
    km_free(ctx, s->max_map);
    km_free(ctx, s->sum_map);
    km_free(ctx, s->bad_map);
    free_end(ctx, &s->end);
    memset(s, 0, sizeof *s);
}
