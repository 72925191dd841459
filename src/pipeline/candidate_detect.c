/* Knot candidates from the body grid's candidate maps (docs/ALGORITHMS.md 10 step 4): the
 * pipeline composes detect's map filters (noise, ridge removal, spikes, scale search, edges,
 * isolated and elongated peaks) and peak finder on the maps track accumulated (A, passes). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "detect/mapfilt.h"
#include "pipeline/cand_relief.h"

#define NOISE_HALF 4
/* A spike or isolated cell whose excess recurs under a second sensor row at
   this share of A is on the body (a knot narrower than a column), not on
   the sensor (a hot or high-gain taxel, whose excess follows the taxel
   when a lift turns the roller).  docs/ALGORITHMS.md 10 steps 3-4: the
   knots gained showed 0.4-0.7 of their excess under their other rows, hot
   taxels 0 or less; model 2 rollers, tuning seeds 1-20, moderate F1 0.886
   -> 0.903 (0.899 with a share of 0.3, 0.894 with 0.15). */
#define TWO_ROWS_SHARE 0.5
/* The footprint sigmas searched go up by this factor (footprint_sigmas). */
#define SCALE_STEP 1.25
/* A one-taxel peak's significance is bounded by this share of the lowest
   default score (default min_snr x min_persistence; docs/ALGORITHMS.md 10.4
   One-taxel peaks): never a default candidate, opened ranked after them. */
#define ONE_TAXEL_BOUND 0.9
/* A peak whose fitted footprint sigma is at least BROAD_SIGMA_MM (while
   scales are searched) needs BROAD_SNR_SHARE x min_snr: a broad matched
   filter averages many cells, so its noise peaks are few per body area.
   Knot-free null (models 1 and 2, both modes, moderate and hard, tuning
   seeds 1-6): no peak fitted at 6 mm or more stands at z 4-5 (42 at
   under 5 mm), so the false rate at the default stays 0.21 per 100 cm2,
   while 19 knots of the tuning seeds stood there (docs/ALGORITHMS.md 10.4
   Peaks; bench/HISTORY.md "Session 19 (recall)"). */
#define BROAD_SIGMA_MM 6.0
#define BROAD_SNR_SHARE 0.8
/* A roller peak whose excess recurs under a second sensor row (on_body:
   TWO_ROWS_SHARE of A under the weaker of two rows) needs TWO_ROWS_SNR_SHARE
   of the significance it would need otherwise: two sensor rows, whose gain
   and offset errors are independent, saw it on the same body cell, which a
   hot, high-gain or stuck taxel (the roller's false candidates of model 2,
   bench/false_candidates.py) does not do.  Tuning seeds (models 1-10,
   independent 1-40): 10 knots gained (model 2 roller hard 3, moderate 1,
   independent roller hard 6), no false candidate added; model 2 roller
   hard seeds 11-40: 6 gained, 7 false added; 0.75-0.85 gained the same
   knots.  The knot-free null at the defaults 0.22 -> 0.25 per 100 cm2,
   within the stated 0.3 (docs/ALGORITHMS.md 10.4 Peaks; bench/HISTORY.md
   "Session 21 (roller)"). */
#define TWO_ROWS_SNR_SHARE 0.8
/* A roller peak seen in every pass that covered it, at a knot's share of the contact pressure
   (km_cand_knot_share), needs at most KNOT_SHARE_SNR_SHARE x min_snr (docs/ALGORITHMS.md
   10.4 Peaks; bench/HISTORY.md "Session 38 (det11)"). */
#define KNOT_SHARE_SNR_SHARE 0.8
/* The broad scales (BROAD_SIGMA_MM on) are also searched as a band of their
   own, and the band's peaks away from every other candidate need
   BROAD_PEAK_SHARE x min_snr (broad_candidates): on a broad knot's top the
   taxels' gain errors and the noise make narrow bumps, where the per-cell
   best scale is narrow, so the knot's amplitude peak was fitted at 3-5 mm,
   needed the full min_snr and was placed on the bump.  0.9, not the 0.8 of a
   peak whose own best scale is broad: a second search over the same map; at
   0.9 the knot-free null at the defaults stays 47 candidates in 18998 cm2
   (0.25 per 100 cm2; 50 at 0.8).  Tuning seeds: independent hard roller F1
   0.699 -> 0.722, mat 0.773 -> 0.791, 11 knots gained, 1 false added; mean
   of the 12 tuning cells 0.8555 -> 0.8623 (docs/ALGORITHMS.md 10.4 Broad
   scales; bench/HISTORY.md "Session 23 (recall)"). */
#define BROAD_PEAK_SHARE 0.9
/* A band peak (broad_candidates) whose fitted amplitude is under this share
   of the contact pressure at its cell (the body map's maximum there) is
   dropped: a knot presses back in proportion to the lean, while the
   taxels' gain errors (spread 0.1-0.2) under a firm contact make broad
   bumps of a small share of it.  Tuning seeds: the band's 21 candidates
   at the defaults stood at 0.049-0.286 of the contact pressure; the 3
   false ones of the moderate cells (model 2 roller and mat seed 7,
   independent mat seed 33) at 0.049-0.077, the knots at 0.082 and more
   (docs/ALGORITHMS.md 10.4 Broad scales; bench/HISTORY.md "Session 23
   (broad)"). */
#define BROAD_PEAK_PRESSURE_SHARE 0.08
/* A peak of the full search (not one taxel) is scored at the scale of its
   neighbourhood: per scale the largest snr within this many of that scale's
   sigmas of the peak cell, at most the peak window (km_map_neighbourhood_
   scale).  Tuning seeds: mean F1 / AP of the 12 cells 0.8688 / 0.9017 ->
   0.8696 / 0.9080; 1 and 2 sigmas did less (docs/ALGORITHMS.md 10.4 Scale
   of a peak; bench/HISTORY.md "Session 31 (scale)"). */
#define NEIGHBOURHOOD_SIGMAS 1.5

/* The maps of the detection, all ny x nx. */
typedef struct cand_maps {
    int32_t ny, nx;
    double y0, row_pitch, col_pitch;
    float *map;     /* A: the candidate map */
    float *spread;  /* per cell sd of the pass maxima whose mean is A */
    float *two;     /* roller: A under the weaker of two sensor rows, NaN one row */
    float *flat;    /* A without ridges along y */
    float *amp, *snr, *size; /* matched filter at the best scale */
    float *bamp, *bsnr, *bsize; /* the same over the broad scales only (BROAD_SIGMA_MM on) */
    const float *fsize; /* the full search's best scale (size; the broad copy keeps it) */
    float *noise;   /* per cell noise */
    float *samp, *ssnr; /* every scale's amp and snr (scale k at k cells); NULL: not kept */
    int ns; double sig[32]; /* the scales searched, their sigmas (mm) */
    int rescale;    /* the peaks of these maps are scored at their neighbourhood's best scale */
    float *press;   /* the body map's maximum pressure (the contact pressure); NULL
                       without that layer */
    double clip;    /* the sensor's full scale on a mat (km_bodygrid_clip_level) */
    uint8_t *skip;  /* mat: the contact's holes (km_cand_bad_cells); NULL on a roller */
    double global;  /* the map's global noise (the floor of noise) */
    double used;    /* the seen threshold n_passes counts (km_bodygrid_seen_at) */
    int roller;     /* the grid is a roller's */
    int turned;     /* roller: it turned in the air (km_bodygrid_turns) */
    int n_broad;    /* broad scales searched (bamp, bsnr, bsize valid when > 0) */
    double broad_share; /* share of min_snr a broad footprint needs */
    float *diff;    /* scratch: 2 cells; from the spike removal on, the despiked
                       ridge-free map (the scale search and elongation test read it) */
    float *scratch; /* scratch: 5 cells */
    float *win;     /* scratch: the ridge median window */
    int32_t *cov, *seen;
    double *t_first, *t_last;
} cand_maps;

static void free_maps(km_ctx *ctx, cand_maps *m)
{
    void *p[] = {m->map,  m->spread, m->two,  m->flat,    m->amp,  m->snr,     m->size,
                 m->bamp, m->bsnr,   m->bsize, m->noise,  m->samp, m->ssnr,    m->diff,
                 m->scratch, m->win, m->cov,  m->seen,    m->t_first, m->t_last, m->skip};
    for (size_t i = 0; i < sizeof p / sizeof *p; i++)
        km_free(ctx, p[i]);
}

static km_status alloc_maps(km_ctx *ctx, size_t cells, int32_t ridge_rows, cand_maps *m)
{
    float **f[] = {&m->map, &m->spread, &m->two,  &m->flat,  &m->amp,  &m->snr,
                   &m->size, &m->bamp,  &m->bsnr, &m->bsize, &m->noise};
    int ok = 1;
    for (size_t i = 0; i < sizeof f / sizeof *f; i++)
        ok &= (*f[i] = km_alloc(ctx, cells * sizeof(float))) != NULL;
    m->diff = km_alloc(ctx, 2 * cells * sizeof *m->diff);
    m->scratch = km_alloc(ctx, 5 * cells * sizeof *m->scratch);
    m->win = km_alloc(ctx, (size_t)(2 * ridge_rows + 1) * sizeof *m->win);
    m->cov = km_alloc(ctx, cells * sizeof *m->cov);
    m->seen = km_alloc(ctx, cells * sizeof *m->seen);
    m->t_first = km_alloc(ctx, cells * sizeof *m->t_first);
    m->t_last = km_alloc(ctx, cells * sizeof *m->t_last);
    ok &= m->diff && m->scratch && m->win && m->cov && m->seen && m->t_first && m->t_last;
    return ok ? KM_OK : KM_ERR_NOMEM;
}

/* Noise per cell: the global estimate of the map, raised by a local one,
   both on the ridge-free map (flat), the map the matched filter sees: the
   column median takes the per-column structure off A (on model 2 rollers
   1.3-1.8 times the cell-to-cell noise), and measured on A that structure
   had deflated every z (docs/ALGORITHMS.md 10.4 Noise). */
static void noise_map(cand_maps *m, int32_t ny, int32_t nx)
{
    double top = 0.0;
    size_t cells = (size_t)ny * (size_t)nx;
    double global = km_map_noise(m->flat, ny, nx, 0, ny, 0, nx, m->diff);
    for (size_t i = 0; i < cells; i++)
        if (isfinite(m->flat[i]) && fabs(m->flat[i]) > top)
            top = fabs(m->flat[i]);
    /* A noise-free map (hand-built input) would divide by 0: a floor far
     * below any excess keeps snr finite and the ranking by amplitude. */
    if (!(global > 1e-6 * top))
        global = top > 0.0 ? 1e-6 * top : 1.0;
    m->global = global;
    /* The gain error of a taxel scales with the pressure on it, so the
     * noise is larger where the contact is stronger (away from the spine
     * valley, the middle of the stroke): the local estimate (a window of
     * +-NOISE_HALF cells) raises the bar there, never below the global
     * one, which keeps quiet patches (exact zeros where a taxel is always
     * its own row median) from making every bump significant. */
    for (int32_t y = 0; y < ny; y++)
        for (int32_t x = 0; x < nx; x++) {
            double loc = km_map_noise(m->flat, ny, nx, y - NOISE_HALF < 0 ? 0 : y - NOISE_HALF,
                                      y + NOISE_HALF + 1, x - NOISE_HALF < 0 ? 0 : x - NOISE_HALF,
                                      x + NOISE_HALF + 1, m->diff);
            m->noise[(size_t)y * (size_t)nx + (size_t)x] = (float)(loc > global ? loc : global);
        }
}

/* The local noise at peak (y, x) without the peak's own footprint, for a
   roller's peaks (km_map_noise_off_footprint: the window of noise_map,
   +-NOISE_HALF cells, less the pairs the footprint touches; docs/
   ALGORITHMS.md 10.4 Noise). */
static double noise_off_footprint(const cand_maps *m, int32_t y, int32_t x, double sigma_mm)
{
    return km_map_noise_off_footprint(m->flat, m->ny, m->nx, m->row_pitch, m->col_pitch, y, x,
                                      NOISE_HALF, sigma_mm, m->global, m->scratch,
                                      m->scratch + (size_t)m->ny * (size_t)m->nx);
}

/* The ridge median's half-length in rows: +- ridge_sigmas times the largest
   footprint sigma searched (max_sigma_mm, or knot_sigma_mm when set), in
   rows by the row pitch, rounded, at least 1, at most the map's rows; 0 =
   no ridge removal.  A length, not a cell count: a knot of that sigma then
   covers under half the window on any row pitch. */
static int32_t ridge_half_rows(const km_candidate_params *p, double row_pitch, int32_t ny)
{
    if (!(p->ridge_sigmas > 0.0))
        return 0;
    double s = p->knot_sigma_mm > 0.0 ? p->knot_sigma_mm : p->max_sigma_mm;
    int32_t h = km_map_cells(p->ridge_sigmas * s, row_pitch);
    return h < ny ? h : ny;
}

/* Footprint sigmas searched: knot_sigma_mm alone, or min..max_sigma_mm in
   steps of a factor SCALE_STEP (the snr of a Gaussian's matched filter falls
   by under 1.3% half a step off its own sigma).  Returns the count. */
static int footprint_sigmas(const km_candidate_params *p, double sig[32])
{
    int ns = 0;
    if (p->knot_sigma_mm > 0.0)
        sig[ns++] = p->knot_sigma_mm;
    else
        for (double v = p->min_sigma_mm; ns < 32 && v <= p->max_sigma_mm * 1.0001; v *= SCALE_STEP)
            sig[ns++] = v;
    return ns;
}

/* The significance of a peak one taxel wide at z: b (1 - exp(-w z / b)),
   b = ONE_TAXEL_BOUND x the default min_snr x the default
   min_persistence (1.35), w = one_taxel_weight:
   monotone in z, w z while that is small against b, never b or more. */
static double one_taxel_z(const km_candidate_params *p, double z)
{
    km_candidate_params d;
    km_candidate_params_default(&d);
    double b = ONE_TAXEL_BOUND * d.min_snr * d.min_persistence;
    return -b * expm1(-p->one_taxel_weight * z / b);
}

/* Cell k's excess recurs under a second sensor row (TWO_ROWS_SHARE). */
static int on_body(const cand_maps *m, size_t k)
{
    return m->map[k] > 0.0f && m->two[k] >= (float)(TWO_ROWS_SHARE * m->map[k]);
}

/* Roller cell k's excess was shown to be a taxel's: a second sensor row
   pressed the cell (excess_two_rows finite) and did not see it there
   (not on_body).  Only then is a roller spike replaced (filter_maps): a
   body cell pressed by one sensor row all session (a roller that never
   turned in the air over it) holds the same evidence for a taxel narrower
   than a column and a knot narrower than a column, and the spike test had
   taken every such one-column peak for the taxel's.  Left on the map, it
   is judged as any peak; one cell alone (km_map_isolated) is still a
   one-taxel peak, never a candidate at the defaults.  Tuning seeds
   (models 1 and 2 seeds 1-20, independent 1-20; roller cells seeds 21-40
   too): independent roller moderate 10 knots gained, none false; roller
   hard 4 / 0 (gained / false added); model 2 roller moderate 2 / 1, hard
   4 / 4; model 1 roller hard 1 / 0; mats unchanged; the knot-free null
   unchanged (docs/ALGORITHMS.md 10.4 Spikes; bench/HISTORY.md "Session 24
   (indep)"). */
static int on_sensor(const cand_maps *m, size_t k)
{
    return !isnan(m->two[k]) && !on_body(m, k);
}

/* Roller cell k's peak is a taxel's, whatever its neighbours read: on a
   roller that turned in the air, a second sensor row pressed the cell and did
   not see the excess (on_sensor), and the cell's best footprint is at most one
   scale step above the smallest searched (one taxel wide).  A fault travels
   with its taxel, a knot stays on the body; a broad knot that another row
   sampled up to a pitch off its centre reads under half as often (on_sensor
   alone: model 2 roller hard tuning seeds 0-19 lost 6 knots, 4.6-9.2 mm, for
   2 false), and without a turn a second row is the odometry's error (the
   independent simulator's held-back roller hard AP 0.800 -> 0.758 ungated).
   Tuning seeds 0-59: model 2 roller hard F1 0.697 -> 0.700, moderate 0.905 ->
   0.907; held-back 0.693 -> 0.714 and 0.910 -> 0.905; knot-free rollers 0.34
   -> 0.31 per 100 cm2 (docs/ALGORITHMS.md 10.4 Isolated cells; bench/HISTORY.md
   "Session 39 (det12)").  broad_taxel: fsize, the full search's size, in the band too. */
static int sensor_taxel(const km_candidate_params *p, const cand_maps *m, size_t k,
                        double largest_sigma)
{
    return m->turned && largest_sigma > 0.0 && m->map[k] > 0.0f && on_sensor(m, k) &&
           (p->broad_taxel ? m->fsize : m->size)[k] <= (float)(SCALE_STEP * p->min_sigma_mm);
}

/* Seen and persistence of cell k into e; 0 when it fails min_persistence or was never seen. */
static int passes_ok(const km_candidate_params *p, const cand_maps *m, size_t k,
                     km_candidate *e)
{
    int32_t cov = m->cov[k], seen = m->seen[k];
    double pers = cov > 0 ? (double)seen / (double)cov : 0.0;
    if (seen < 1 || pers < p->min_persistence)
        return 0;
    e->n_passes = seen;
    e->n_covering = cov;
    e->persistence = pers;
    e->first_time = m->t_first[k];
    e->last_time = m->t_last[k];
    return 1;
}

/* The candidate at peak q of the amplitude map, or 0 when it fails a test
   of 10 step 4 (significance, a mat's relief under min_pressure_share of the
   contact, broader than any knot, seen, persistence).  A peak one taxel wide
   (the isolated-cell test, not on the body) counts one_taxel_z of its
   significance, or is dropped when one_taxel_weight is 0; so does a roller
   peak one taxel wide that a second sensor row did not see (sensor_taxel).
   With scales searched (largest_sigma > 0) a footprint fitted at BROAD_SIGMA_MM or more
   needs BROAD_SNR_SHARE x min_snr.  On a roller the significance is measured
   against the local noise without the peak's own footprint
   (noise_off_footprint), and a peak on the body (seen under a second sensor
   row) needs TWO_ROWS_SNR_SHARE of what it would need otherwise.  First (m->rescale) its neighbourhood's scale, z and amp. */
static int make_candidate(const km_candidate_params *p, const cand_maps *m, const km_peak *q,
                          double largest_sigma, km_candidate *e)
{
    int32_t nx = m->nx, ny = m->ny;
    size_t k = (size_t)q->row * (size_t)nx + (size_t)q->col;
    int one = (km_map_isolated(m->flat, ny, nx, q->row, q->col) && !on_body(m, k)) ||
              sensor_taxel(p, m, k, largest_sigma);
    double z0 = m->snr[k], amp = m->amp[k];
    float size = m->size[k];
    /* The scale of the peak's neighbourhood (NEIGHBOURHOOD_SIGMAS). */
    double zn, an, sn;
    if (!one && m->rescale && isfinite(z0) &&
        km_map_neighbourhood_scale(m->samp, m->ssnr, ny, nx, m->row_pitch, m->col_pitch, m->sig,
                                   m->ns, m->noise, q->row, q->col, NEIGHBOURHOOD_SIGMAS,
                                   p->min_distance_mm, z0, &zn, &an, &sn)) {
        z0 = zn;
        amp = an;
        size = (float)sn;
    }
    double z = one ? one_taxel_z(p, z0) : z0;
    /* Roller: the local noise without the peak's own footprint (its
       slopes are the knot's, not the sensor's; noise_off_footprint). */
    if (!one && m->roller && isfinite(z))
        z *= (double)m->noise[k] / noise_off_footprint(m, q->row, q->col, (double)size);
    /* Under a share of the contact pressure, or above the surround by less:
       discounts (pressure_discount, surround_discount). */
    if (!one && isfinite(z))
        z *= km_cand_pressure_discount(m->press, k, amp) *
             km_cand_surround_discount(m->map, m->press, ny, nx, m->row_pitch, m->col_pitch,
                                       q->row, q->col, m->scratch);
    double need = p->min_snr;
    if (!one && largest_sigma > 0.0 && size >= (float)BROAD_SIGMA_MM)
        need *= m->broad_share;
    if (!one && m->roller && on_body(m, k))
        need *= TWO_ROWS_SNR_SHARE;
    if (!one && m->roller && m->cov[k] > 0 && m->seen[k] >= m->cov[k] &&
        km_cand_knot_share(m->press, k, amp))
        need = fmin(need, KNOT_SHARE_SNR_SHARE * p->min_snr);
    if ((one && !(p->one_taxel_weight > 0.0)) || !(z >= need) ||
        (!one && !m->roller && km_cand_relief(m->press, k, amp, p->min_pressure_share, m->clip)))
        return 0;
    /* Still growing at the largest sigma searched: broader than any knot
       footprint (a bony prominence, the body's shape). */
    if (largest_sigma > 0.0 && size >= (float)largest_sigma)
        return 0;
    /* Position: where the footprint of the fitted size fits best (the
     * despiked ridge-free map filtered at that one sigma), not the peak
     * cell of amp, whose cells each keep their own best scale.  The
     * elongation test measures against a round footprint centred there. */
    double fy, fx;
    km_map_locate(m->diff, ny, nx, q->row, q->col, m->row_pitch, m->col_pitch,
                  (double)size, &fy, &fx);
    if (!one && m->roller) /* a band's line (--cand-band-share) */
        z *= km_cand_band_discount(m->map, m->press, ny, nx, m->row_pitch, m->col_pitch, fy,
                                   fx, (double)size, amp, p->band_share);
    if (!(z >= need) || km_map_at_edge(m->map, m->skip, ny, nx, q->row, q->col) ||
        (!one && km_map_elongated(m->amp, m->diff, ny, nx, q->row, q->col, m->row_pitch,
                                  m->col_pitch, (double)size,
                                  m->roller ? KM_ELONGATION_WINDOW : KM_ELONGATION_WINDOW_MAT,
                                  fy - q->row, fx - q->col)) ||
        !passes_ok(p, m, k, e))
        return 0;
    e->x_mm = fx * m->col_pitch;
    e->y_mm = m->y0 + fy * m->row_pitch;
    e->peak = m->map[k];
    e->prominence = (float)amp;
    e->area_mm2 = q->area_taxels >= 0 ? q->area_taxels * m->col_pitch * m->row_pitch : NAN;
    e->size_mm = size;
    e->amplitude = amp;
    e->significance = z;
    e->score = z * e->persistence;
    return 1;
}

/* 1 when a candidate of c[0..n) lies within +-dy, +-dx mm of (y, x). */
static int near_mm(const km_candidate *c, size_t n, double dy, double dx, double y, double x)
{
    for (size_t i = 0; i < n; i++)
        if (fabs(c[i].y_mm - y) <= dy && fabs(c[i].x_mm - x) <= dx)
            return 1;
    return 0;
}

/* 1 when a candidate of c[0..n) lies within the peak window (+-ry rows,
   +-rx columns: min_distance_mm in cells) of the cell (y, x). */
static int near_candidate(const cand_maps *m, const km_candidate *c, size_t n, int32_t ry,
                          int32_t rx, int32_t y, int32_t x)
{
    return near_mm(c, n, ry * m->row_pitch, rx * m->col_pitch, m->y0 + y * m->row_pitch,
                   x * m->col_pitch);
}

/* The spikes that the despiking replaced before the matched filter (10
   step 4, One-taxel peaks) as candidates after the n_regular ones in c:
   each the largest of the ridge-free map within the peak window, away
   from the regular candidates and the contact's edge; significance =
   one_taxel_z of its excess over the ring background in noise sd,
   amplitude = that excess, size = the smallest sigma searched.  Returns
   the candidates added (at most room). */
static size_t spike_candidates(const km_candidate_params *p, const cand_maps *m,
                               double smallest_sigma, km_candidate *c, size_t n_regular,
                               size_t room)
{
    int32_t ny = m->ny, nx = m->nx;
    int32_t ry = km_map_cells(p->min_distance_mm, m->row_pitch);
    int32_t rx = km_map_cells(p->min_distance_mm, m->col_pitch);
    size_t n = 0;
    if (!(p->one_taxel_weight > 0.0))
        return 0;
    for (int32_t y = 0; y < ny; y++)
        for (int32_t x = 0; x < nx && n < room; x++) {
            size_t k = (size_t)y * (size_t)nx + (size_t)x;
            double c0 = (double)m->flat[k] - (double)m->diff[k];
            double z = c0 > 0.0 ? one_taxel_z(p, c0 / (double)m->noise[k]) : 0.0;
            km_candidate *e = &c[n_regular + n];
            if (!(c0 > 0.0) || !(z >= p->min_snr) || !(c0 >= p->min_prominence) ||
                !km_map_window_max(m->flat, ny, nx, y, x, ry, rx) ||
                near_candidate(m, c, n_regular, ry, rx, y, x) ||
                km_map_at_edge(m->map, m->skip, ny, nx, y, x) || !passes_ok(p, m, k, e))
                continue;
            e->x_mm = x * m->col_pitch;
            e->y_mm = m->y0 + y * m->row_pitch;
            e->peak = m->map[k];
            e->prominence = (float)c0;
            e->area_mm2 = m->col_pitch * m->row_pitch;
            e->size_mm = smallest_sigma;
            e->amplitude = c0;
            e->significance = z;
            e->score = z * e->persistence;
            n++;
        }
    return n;
}

static int cand_cmp(const void *a, const void *b)
{
    const km_candidate *p = a, *q = b;
    if (p->score != q->score)
        return p->score > q->score ? -1 : 1;
    if (p->prominence != q->prominence)
        return p->prominence > q->prominence ? -1 : 1;
    if (p->y_mm != q->y_mm)
        return p->y_mm < q->y_mm ? -1 : 1;
    return p->x_mm < q->x_mm ? -1 : p->x_mm > q->x_mm;
}

/* One candidate per peak window (10.4 Peaks, session 45): the n regular
   candidates of c by score, each dropped when placed within the peak window
   (+-min_distance_mm in cells along each axis, as near_mm) of one kept
   before it.  Two maxima of amp a window apart on one broad knot's top are
   both peaks, and their positions, each climbed on the map filtered at its
   fitted size, meet on the knot: one knot, two candidates (independent mat
   hard seed 39: 0.2 mm apart).  Returns the candidates kept. */
static size_t one_per_window(const km_candidate_params *p, const cand_maps *m, km_candidate *c,
                             size_t n)
{
    if (n > 1)
        qsort(c, n, sizeof *c, cand_cmp);
    double dy = km_map_cells(p->min_distance_mm, m->row_pitch) * m->row_pitch;
    double dx = km_map_cells(p->min_distance_mm, m->col_pitch) * m->col_pitch;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (!near_mm(c, kept, dy, dx, c[i].y_mm, c[i].x_mm))
            c[kept++] = c[i];
    return kept;
}

/* Peaks of the amplitude (where the knot is); their significance comes from
 * the snr (whether it is one): the snr map's own maxima lean towards
 * quieter neighbours.  The local maxima of 3 x 3 windows, then those that
 * are the largest within +-min_distance_mm along each axis (rows and
 * columns have their own pitches: a window of cells would span 2-4 times
 * more mm along y than along x on a coarse-row roller). */
static km_status amp_peaks(km_ctx *ctx, const km_candidate_params *p, const cand_maps *m,
                           km_peak *pk, size_t *npk)
{
    km_peak_params pp;
    km_peak_params_default(&pp);
    pp.min_distance = 1;
    pp.threshold_abs = p->min_prominence;
    pp.threshold_rel = 0.0;
    pp.exclude_border = 0;
    pp.plateau = KM_PLATEAU_ONE;
    pp.min_prominence = 0.0;
    pp.want = KM_WANT_PROMINENCE | KM_WANT_AREA;
    km_frame fr = {m->amp, m->ny, m->nx, m->nx};
    km_status st = km_find_peaks(ctx, &fr, NULL, &pp, pk, (size_t)m->ny * (size_t)m->nx, npk);
    if (st != KM_OK)
        return st;
    int32_t ry = km_map_cells(p->min_distance_mm, m->row_pitch);
    int32_t rx = km_map_cells(p->min_distance_mm, m->col_pitch);
    size_t n = 0;
    for (size_t k = 0; k < *npk; k++)
        if (km_map_window_max(m->amp, m->ny, m->nx, pk[k].row, pk[k].col, ry, rx))
            pk[n++] = pk[k];
    *npk = n;
    return KM_OK;
}

/* The peaks of the broad scales alone (BROAD_SIGMA_MM on) as candidates
   after the n regular ones in c, when not within the peak window of one:
   the same tests as make_candidate on the broad maps at BROAD_PEAK_SHARE
   of min_snr, dropped when their amplitude is under
   BROAD_PEAK_PRESSURE_SHARE of the contact pressure at the peak cell (when
   the grid has a body map) and when placed within the peak window of a
   candidate already kept.  *n: the candidates in c, at most room. */
static km_status broad_candidates(km_ctx *ctx, const km_candidate_params *p, const cand_maps *m,
                                  double largest_sigma, km_peak *pk, km_candidate *c, size_t *n,
                                  size_t room)
{
    cand_maps b = *m;
    b.amp = m->bamp;
    b.snr = m->bsnr;
    b.size = m->bsize;
    b.broad_share = BROAD_PEAK_SHARE;
    b.rescale = 0;
    size_t npk = 0, n_regular = *n;
    km_status st = amp_peaks(ctx, p, &b, pk, &npk);
    if (st != KM_OK)
        return st;
    int32_t ry = km_map_cells(p->min_distance_mm, m->row_pitch);
    int32_t rx = km_map_cells(p->min_distance_mm, m->col_pitch);
    for (size_t k = 0; k < npk && *n < room; k++)
        if (!near_candidate(m, c, n_regular, ry, rx, pk[k].row, pk[k].col) &&
            make_candidate(p, &b, &pk[k], largest_sigma, &c[*n]) &&
            !(m->press != NULL &&
              c[*n].amplitude <
                  BROAD_PEAK_PRESSURE_SHARE *
                      (double)m->press[(size_t)pk[k].row * (size_t)m->nx + (size_t)pk[k].col]) &&
            !near_mm(c, *n, ry * m->row_pitch, rx * m->col_pitch, c[*n].y_mm, c[*n].x_mm))
            (*n)++;
    return KM_OK;
}

/* The grid's maps into m, then the filters: ridges off, noise, scale
   search.  *ns, sig: the footprint sigmas searched. */
static km_status filter_maps(km_ctx *ctx, const km_bodygrid *g, const km_candidate_params *p,
                             cand_maps *m, double sig[32], int *ns)
{
    size_t cells = (size_t)m->ny * (size_t)m->nx;
    km_candidate_maps cm = {.excess = m->map, .n_covering = m->cov, .spread = m->spread,
                            .n_seen = m->seen, .first_time = m->t_first,
                            .last_time = m->t_last, .excess_two_rows = m->two};
    km_status st = km_bodygrid_candidate_maps(ctx, g, &cm, cells, NULL);
    if (st != KM_OK)
        return st;
    int32_t h = ridge_half_rows(p, m->row_pitch, m->ny);
    if (h > 0)
        km_map_remove_ridges(m->map, m->ny, m->nx, h, m->win, m->flat);
    else
        memcpy(m->flat, m->map, cells * sizeof *m->flat);
    noise_map(m, m->ny, m->nx);
    /* The seen threshold from the session's noise (seen_noise > 0: a quiet sensor sees more). */
    m->used = p->seen_threshold;
    if (p->seen_noise > 0.0 &&
        (st = km_bodygrid_seen_at(ctx, g, p->seen_noise * m->global, m->seen, cells, NULL,
                                  &m->used)) != KM_OK)
        return st;
    *ns = footprint_sigmas(p, sig);
    /* Spikes are cut at the default min_snr, not the caller's: opening the
       thresholds lists more candidates but does not change the map. */
    km_candidate_params d;
    km_candidate_params_default(&d);
    m->roller = km_bodygrid_mode(g) == KM_MODE_ROLLER;
    m->turned = km_bodygrid_turns(g) > 0;
    m->broad_share = BROAD_SNR_SHARE;
    km_map_despike(m->flat, m->ny, m->nx, m->roller, m->noise, d.min_snr, m->diff);
    for (size_t k = 0; k < cells; k++)
        if (m->roller && !on_sensor(m, k))
            m->diff[k] = m->flat[k];
    /* The broad scales (BROAD_SIGMA_MM on) also searched alone (broad_candidates). */
    int b0 = 0;
    while (b0 < *ns && sig[b0] < BROAD_SIGMA_MM)
        b0++;
    m->n_broad = *ns > 1 && b0 > 0 ? *ns - b0 : 0; /* none when every scale is broad */
    m->ns = *ns;
    memcpy(m->sig, sig, (size_t)*ns * sizeof *sig);
    /* Every scale's maps (each peak's neighbourhood scale), while scales are searched. */
    if (*ns > 1) {
        m->samp = km_alloc(ctx, (size_t)*ns * cells * sizeof *m->samp);
        m->ssnr = km_alloc(ctx, (size_t)*ns * cells * sizeof *m->ssnr);
        if (m->samp == NULL || m->ssnr == NULL)
            return KM_ERR_NOMEM;
        m->rescale = 1;
    }
    m->fsize = m->size;
    km_map_scale_search_keep(m->diff, m->ny, m->nx, m->row_pitch, m->col_pitch, sig, *ns,
                             m->n_broad > 0 ? b0 : *ns, m->noise, m->amp, m->snr, m->size,
                             m->bamp, m->bsnr, m->bsize, m->samp, m->ssnr, m->scratch);
    /* A mat's holes in the contact are not its edge (km_cand_bad_cells); a
       roller's cells beside a narrow body are deposited, its taxels move. */
    if (!m->roller && m->press != NULL) {
        if ((m->skip = km_alloc(ctx, cells)) == NULL)
            return KM_ERR_NOMEM;
        km_cand_bad_cells(m->map, m->press, m->ny, m->nx, m->scratch, m->skip);
    }
    return KM_OK;
}

km_status km_bodygrid_candidates(km_ctx *ctx, const km_bodygrid *g, km_candidate *out,
                                 size_t capacity, size_t *n_out)
{
    return km_bodygrid_candidates_seen(ctx, g, out, capacity, n_out, NULL);
}

km_status km_bodygrid_candidates_seen(km_ctx *ctx, const km_bodygrid *g, km_candidate *out,
                                      size_t capacity, size_t *n_out, km_candidate_seen *seen)
{
    km_status st = KM_OK;
    cand_maps m = {0};
    km_peak *pk = NULL;
    km_candidate *cand = NULL;
    size_t npk = 0, nc = 0;
    const km_candidate_params *p = km_bodygrid_candidate_params(g);
    if (p == NULL || n_out == NULL || (out == NULL && capacity > 0))
        return km_fail(ctx, KM_ERR_INVALID, "candidates: NULL argument or no candidate layer");
    *n_out = 0;
    if (seen != NULL) /* no map, no noise: nothing was counted */
        *seen = (km_candidate_seen){.map_noise = NAN, .threshold = p->seen_threshold};
    km_bodygrid_shape(g, &m.ny, &m.nx, &m.y0, &m.row_pitch, &m.col_pitch);
    m.clip = km_bodygrid_clip_level(g);
    size_t cells = (size_t)m.ny * (size_t)m.nx;
    if (cells == 0)
        return KM_OK;
    pk = km_alloc(ctx, cells * sizeof *pk);
    cand = km_alloc(ctx, cells * sizeof *cand);
    /* The contact pressure under the band's peaks (broad_candidates): the
       body map layer's maximum, when the grid has it, with the samples its
       own mask left out (the candidates see every taxel of the frames' mask). */
    m.press = km_alloc(ctx, cells * sizeof *m.press);
    if ((st = alloc_maps(ctx, cells, ridge_half_rows(p, m.row_pitch, m.ny), &m)) != KM_OK || pk == NULL ||
        cand == NULL || m.press == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    double sig[32];
    int ns = 0;
    /* No context: a grid without that layer (KM_ERR_INVALID, the only
       failure with this capacity) is not a failure of this call. */
    km_candidate_maps pm = {.pressure = m.press};
    if (km_bodygrid_candidate_maps(NULL, g, &pm, cells, NULL) != KM_OK) {
        km_free(ctx, m.press);
        m.press = NULL;
    }
    if ((st = filter_maps(ctx, g, p, &m, sig, &ns)) != KM_OK ||
        (st = amp_peaks(ctx, p, &m, pk, &npk)) != KM_OK)
        goto done;
    if (seen != NULL)
        *seen = (km_candidate_seen){.map_noise = m.global, .threshold = m.used};
    for (size_t k = 0; k < npk; k++)
        nc += (size_t)make_candidate(p, &m, &pk[k], ns > 1 ? sig[ns - 1] : 0.0, &cand[nc]);
    nc = one_per_window(p, &m, cand, nc);
    if (m.n_broad > 0 &&
        (st = broad_candidates(ctx, p, &m, sig[ns - 1], pk, cand, &nc, cells)) != KM_OK)
        goto done;
    nc += spike_candidates(p, &m, sig[0], cand, nc, cells - nc);
    if (nc > 1)
        qsort(cand, nc, sizeof *cand, cand_cmp);
    if (p->max_candidates >= 0 && nc > (size_t)p->max_candidates)
        nc = (size_t)p->max_candidates;
    *n_out = nc;
    if (nc > capacity) {
        st = km_fail(ctx, KM_ERR_CAPACITY, "candidates: %zu found, capacity %zu", nc, capacity);
        goto done;
    }
    if (nc > 0)
        memcpy(out, cand, nc * sizeof *cand);
done:
    free_maps(ctx, &m);
    km_free(ctx, m.press);
    km_free(ctx, pk);
    km_free(ctx, cand);
    return st;
}

km_status km_candidates_get(km_ctx *ctx, km_candidates *c, km_candidate *out, size_t capacity,
                            size_t *n_out)
{
    if (c == NULL || n_out == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "candidates: NULL argument");
    return km_bodygrid_candidates(ctx, km_candidates_grid(c), out, capacity, n_out);
}
