/* Synthetic roller and mat sessions with ground truth (docs/ALGORITHMS.md 6).
 *
 * The generator is a strict frame-by-frame process with three independent
 * random streams (setup, motion, noise), so the output does not depend on
 * the block size the caller pulls, and changing the noise level leaves the
 * knots and the motion where they were. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "synth_internal.h"

#define BAND_END_MM 10.0 /* a taut band's Gaussian fall beyond its extent (model 1) */

const char *const km_synth_difficulty_names[] = {
    [KM_SYNTH_EASY] = "easy", [KM_SYNTH_MODERATE] = "moderate", [KM_SYNTH_HARD] = "hard", NULL};

km_status km_synth_difficulty_parse(const char *name, km_synth_difficulty *out)
{
    if (name == NULL || out == NULL)
        return KM_ERR_INVALID;
    for (int i = 0; km_synth_difficulty_names[i] != NULL; i++) {
        if (strcmp(name, km_synth_difficulty_names[i]) == 0) {
            *out = (km_synth_difficulty)i;
            return KM_OK;
        }
    }
    return KM_ERR_INVALID;
}

void km_synth_preset(km_synth_params *p, km_synth_difficulty preset)
{
    if (p == NULL)
        return;
    p->difficulty = (int32_t)preset;
    switch (preset) {
    case KM_SYNTH_EASY:
        p->speed_jitter = 0.1;
        p->knot_kpa_min = 40.0;
        p->knot_kpa_max = 100.0;
        p->noise_kpa = 0.3;
        p->gain_spread = 0.01;
        p->drift_kpa_per_min = 0.0;
        p->hum_kpa = 0.0;
        p->dead_fraction = 0.0;
        p->stuck_fraction = 0.0;
        p->saturation_kpa = INFINITY;
        p->lift_probability = 0.0;
        break;
    case KM_SYNTH_HARD:
        p->speed_jitter = 0.5;
        p->knot_kpa_min = 20.0;
        p->knot_kpa_max = 60.0;
        p->noise_kpa = 2.5;
        p->gain_spread = 0.10;
        p->drift_kpa_per_min = 3.0;
        p->hum_kpa = 3.0;
        p->dead_fraction = 0.02;
        p->stuck_fraction = 0.01;
        p->saturation_kpa = 120.0;
        p->lift_probability = 0.25;
        break;
    case KM_SYNTH_MODERATE:
    default:
        p->speed_jitter = 0.3;
        p->knot_kpa_min = 25.0;
        p->knot_kpa_max = 80.0;
        p->noise_kpa = 1.0;
        p->gain_spread = 0.05;
        p->drift_kpa_per_min = 1.0;
        p->hum_kpa = 1.0;
        p->dead_fraction = 0.005;
        p->stuck_fraction = 0.002;
        p->saturation_kpa = 300.0;
        p->lift_probability = 0.1;
        break;
    }
}

void km_synth_params_default(km_synth_params *p)
{
    if (p == NULL)
        return;
    memset(p, 0, sizeof *p);
    p->mode = KM_MODE_ROLLER;
    p->rows = 32;
    p->cols = 32;
    p->row_pitch_mm = 10.0;
    p->col_pitch_mm = 5.0;
    p->roller_radius_mm = 50.0;
    p->frame_rate_hz = 100.0;
    p->duration_s = 30.0;
    p->cycles_per_minute = 25.0;
    p->stroke_mm = 200.0;
    p->contact_rows = 3.0;
    p->contact_kpa = 40.0;
    p->spine_depth = 0.5;
    p->spine_width_mm = 10.0;
    p->n_knots = 6;
    p->knot_diameter_min_mm = 3.0;
    p->knot_diameter_max_mm = 6.0;
    p->knot_spread_mm = 4.0;
    p->knot_min_separation_mm = 30.0;
    p->taut_band_fraction = 0.5;
    p->taut_band_kpa = 8.0;
    p->hum_hz = 50.0;
    p->seed = 1;
    p->model = 1;
    km_synth_preset(p, KM_SYNTH_MODERATE);
}

static int bad(double v, double lo, double hi)
{
    return !(v >= lo && v <= hi);
}

static km_status validate(km_ctx *ctx, const km_synth_params *p)
{
    km_status st = km_check_shape(ctx, p->rows, p->cols, "synthetic grid");
    if (st != KM_OK)
        return st;
#define KM_CHECK(cond, name) \
    if (cond)                \
        return km_fail(ctx, KM_ERR_INVALID, "synth: %s out of range", name)
    KM_CHECK(p->mode != KM_MODE_MAT && p->mode != KM_MODE_ROLLER, "mode");
    KM_CHECK(p->model != 1 && p->model != 2, "model (1 or 2)");
    KM_CHECK(p->difficulty < 0 || p->difficulty > 2, "difficulty");
    KM_CHECK(p->rows < 4 || p->cols < 4, "rows/cols (at least 4)");
    KM_CHECK(bad(p->col_pitch_mm, 1e-3, 1e4), "col_pitch_mm");
    KM_CHECK(p->mode == KM_MODE_MAT && bad(p->row_pitch_mm, 1e-3, 1e4), "row_pitch_mm");
    KM_CHECK(p->mode == KM_MODE_ROLLER && bad(p->roller_radius_mm, 1.0, 1e4), "roller_radius_mm");
    KM_CHECK(bad(p->frame_rate_hz, 1e-3, 1e6), "frame_rate_hz");
    KM_CHECK(bad(p->duration_s, 0.0, 1e7) || p->duration_s * p->frame_rate_hz < 1.0
                 || p->duration_s * p->frame_rate_hz > 1e12,
             "duration_s");
    KM_CHECK(bad(p->cycles_per_minute, 0.0, 600.0), "cycles_per_minute");
    KM_CHECK(bad(p->speed_jitter, 0.0, 0.9), "speed_jitter");
    KM_CHECK(p->mode == KM_MODE_ROLLER && bad(p->stroke_mm, 1.0, 1e5), "stroke_mm");
    KM_CHECK(bad(p->contact_rows, 0.5, 1e4), "contact_rows");
    if (p->contact_rows > p->rows / 2.0) /* the roller's contact band, or a mat's */
        return km_fail(ctx, KM_ERR_INVALID,
                       "synth: a grid of %d rows is too small: at least %d rows for the contact "
                       "band of %g rows (--grid RxC)",
                       (int)p->rows, (int)ceil(2.0 * p->contact_rows), p->contact_rows);
    KM_CHECK(bad(p->contact_kpa, 0.0, 1e4), "contact_kpa");
    KM_CHECK(bad(p->spine_depth, 0.0, 1.0), "spine_depth");
    KM_CHECK(bad(p->spine_width_mm, 1e-3, 1e4), "spine_width_mm");
    KM_CHECK(p->n_knots < 0 || p->n_knots > KM_SYNTH_MAX_KNOTS, "n_knots");
    KM_CHECK(bad(p->knot_diameter_min_mm, 0.0, 1e3)
                 || bad(p->knot_diameter_max_mm, p->knot_diameter_min_mm, 1e3),
             "knot_diameter_min_mm/max_mm");
    KM_CHECK(bad(p->knot_kpa_min, 0.0, 1e4) || bad(p->knot_kpa_max, p->knot_kpa_min, 1e4),
             "knot_kpa_min/max");
    KM_CHECK(bad(p->knot_spread_mm, 0.0, 1e3), "knot_spread_mm");
    KM_CHECK(bad(p->knot_min_separation_mm, 0.0, 1e5), "knot_min_separation_mm");
    KM_CHECK(bad(p->taut_band_fraction, 0.0, 1.0), "taut_band_fraction");
    KM_CHECK(bad(p->taut_band_kpa, 0.0, 1e4), "taut_band_kpa");
    KM_CHECK(bad(p->noise_kpa, 0.0, 1e4), "noise_kpa");
    KM_CHECK(bad(p->gain_spread, 0.0, 1.0), "gain_spread");
    KM_CHECK(bad(p->drift_kpa_per_min, 0.0, 1e4), "drift_kpa_per_min");
    KM_CHECK(bad(p->hum_kpa, 0.0, 1e4), "hum_kpa");
    KM_CHECK(bad(p->hum_hz, 0.0, 1e6), "hum_hz");
    KM_CHECK(bad(p->dead_fraction, 0.0, 1.0) || bad(p->stuck_fraction, 0.0, 1.0)
                 || p->dead_fraction + p->stuck_fraction > 1.0,
             "dead_fraction/stuck_fraction");
    KM_CHECK(!(p->saturation_kpa > 0.0), "saturation_kpa");
    KM_CHECK(bad(p->lift_probability, 0.0, 1.0), "lift_probability");
    KM_CHECK(bad(p->equilibration_kpa, 0.0, 1e4), "equilibration_kpa");
#undef KM_CHECK
    return KM_OK;
}

#define PLACE_TRIES 100000

/* Knots that do not fit the grid: what was asked, how many random tries
 * placed (or that the region is empty: its size), and what to ask instead
 * (fewer knots, the number placed; more rows or columns when none fits).
 * An equilibration recording places the session's knots to draw the same
 * sensor, so it is told to take the session's --knots. */
static km_status too_few(km_ctx *ctx, const km_synth *s, double mx, double ylo, double yhi)
{
    const km_synth_params *p = &s->p;
    double width = (p->cols - 1) * s->col_pitch, spine = p->spine_depth > 0.0
                                                              ? 1.5 * p->spine_width_mm
                                                              : 0.0;
    char ask[200];
    if (width / 2.0 - mx > spine && yhi > ylo)
        snprintf(ask, sizeof ask,
                 "%zu placed in %d random tries: ask for %zu (--knots %zu) or a larger grid "
                 "(--grid RxC)",
                 s->n_knots, PLACE_TRIES, s->n_knots, s->n_knots);
    else if (yhi > ylo) /* width must exceed the 2 margins and the spine's band */
        snprintf(ask, sizeof ask,
                 "no room for one (x %.0f..%.0f mm%s): a grid of at least %d columns at this "
                 "pitch, or --knots 0",
                 mx, width - mx, spine > 0.0 ? " without the spine's middle" : "",
                 (int)floor((2.0 * mx + 2.0 * spine) / s->col_pitch) + 2);
    else /* a mat's rows: 2 above and 3 below the region */
        snprintf(ask, sizeof ask, "no room for one (y %.0f..%.0f mm): a grid of at least 6 "
                 "rows, or --knots 0", ylo, yhi);
    return km_fail(ctx, KM_ERR_INVALID, "synth: cannot place %d knots %.1f mm apart on a %dx%d "
                   "grid: %s%s",
                   (int)p->n_knots, p->knot_min_separation_mm, (int)p->rows, (int)p->cols, ask,
                   p->equilibration_kpa > 0.0
                       ? " (an equilibration recording places the session's knots to draw the "
                         "same sensor: give it the session's --knots)"
                       : "");
}

/* The knot region keeps each knot inside the swept area, off the spine and
 * away from the grid edge so that every knot is seen whole. */
static km_status place_knots(km_ctx *ctx, km_synth *s, km_synth_rng *rng)
{
    const km_synth_params *p = &s->p;
    double width = (p->cols - 1) * s->col_pitch;
    double xc = width / 2.0;
    double mx = fmax(2.0 * s->col_pitch, 8.0);
    double ylo, yhi;
    if (p->n_knots == 0)
        return KM_OK; /* no draw made: the same sensor as before */
    if (p->mode == KM_MODE_ROLLER) {
        ylo = 0.1 * p->stroke_mm;
        yhi = 0.9 * p->stroke_mm;
    } else {
        ylo = 2.0 * s->row_pitch;
        yhi = (p->rows - 3) * s->row_pitch;
    }
    if (!(width - 2.0 * mx > 0.0) || !(yhi > ylo))
        return too_few(ctx, s, mx, ylo, yhi); /* no draw made */
    size_t n_band = (size_t)ceil(p->taut_band_fraction * p->n_knots - 1e-9);
    long tries = 0;
    while (s->n_knots < (size_t)p->n_knots) {
        if (++tries > PLACE_TRIES)
            return too_few(ctx, s, mx, ylo, yhi);
        double x = mx + km_rng_uniform(rng) * (width - 2.0 * mx);
        double y = ylo + km_rng_uniform(rng) * (yhi - ylo);
        if (p->spine_depth > 0.0 && fabs(x - xc) < 1.5 * p->spine_width_mm)
            continue;
        int ok = 1;
        for (size_t k = 0; k < s->n_knots && ok; k++)
            ok = hypot(x - s->knots[k].x_mm, y - s->knots[k].y_mm) >= p->knot_min_separation_mm;
        if (!ok)
            continue;
        km_synth_knot *kn = &s->knots[s->n_knots];
        double diam = p->knot_diameter_min_mm
                      + km_rng_uniform(rng) * (p->knot_diameter_max_mm - p->knot_diameter_min_mm);
        kn->x_mm = x;
        kn->y_mm = y;
        kn->sigma_mm = diam / KM_FWHM_PER_SIGMA;
        kn->amplitude_kpa = p->knot_kpa_min + km_rng_uniform(rng) * (p->knot_kpa_max - p->knot_kpa_min);
        kn->in_taut_band = s->n_knots < n_band;
        double fs2 = kn->sigma_mm * kn->sigma_mm + p->knot_spread_mm * p->knot_spread_mm;
        s->knot_s2[s->n_knots] = 2.0 * fmax(fs2, 1e-6);
        kn->footprint_sigma_mm = sqrt(fs2);
        if (kn->in_taut_band) {
            /* Taut bands run along y (muscle fibres along the rolling
               direction), 40-80 mm long, the knot somewhere on the ridge. */
            km_taut_band *b = &s->bands[s->n_bands++];
            double len = 40.0 + 40.0 * km_rng_uniform(rng);
            double at = km_rng_uniform(rng);
            b->x_mm = x;
            b->y0_mm = y - at * len;
            b->y1_mm = y + (1.0 - at) * len;
            b->sigma_mm = 3.0;
            s->distractors[s->n_distractors++] = (km_synth_distractor){
                KM_SYNTH_BAND, x, y, 0.0, b->y0_mm - y, b->y1_mm - y, BAND_END_MM, b->sigma_mm,
                p->taut_band_kpa};
        }
        s->n_knots++;
    }
    return KM_OK;
}

static km_status make_taxels(km_ctx *ctx, km_synth *s, km_synth_rng *rng)
{
    const km_synth_params *p = &s->p;
    size_t n = (size_t)p->rows * (size_t)p->cols;
    s->state = km_calloc(ctx, n, 1);
    s->mask = km_alloc(ctx, n);
    s->gain = km_alloc(ctx, n * sizeof(float));
    s->offset = km_calloc(ctx, n, sizeof(float)); /* model 1 draws no offsets */
    s->drift = km_alloc(ctx, n * sizeof(float));
    s->stuck_value = km_alloc(ctx, n * sizeof(float));
    s->hum_phase = km_alloc(ctx, (size_t)p->rows * sizeof(double));
    if (!s->state || !s->mask || !s->gain || !s->offset || !s->drift || !s->stuck_value ||
        !s->hum_phase)
        return KM_ERR_NOMEM;
    memset(s->mask, 1, n);
    double full = isfinite(p->saturation_kpa) ? p->saturation_kpa : 2.0 * s->p0 + p->knot_kpa_max;
    for (size_t i = 0; i < n; i++) {
        double u = km_rng_uniform(rng);
        s->state[i] = u < p->dead_fraction ? KM_SYNTH_TAXEL_DEAD
                      : u < p->dead_fraction + p->stuck_fraction ? KM_SYNTH_TAXEL_STUCK
                                                                 : KM_SYNTH_TAXEL_OK;
        s->gain[i] = (float)fmax(0.5, 1.0 + p->gain_spread * km_rng_normal(rng));
        s->drift[i] = (float)(p->drift_kpa_per_min / 60.0 * km_rng_normal(rng));
        s->stuck_value[i] = (float)(full * (0.3 + 0.7 * km_rng_uniform(rng)));
    }
    for (int32_t r = 0; r < p->rows; r++)
        s->hum_phase[r] = KM_TWO_PI * km_rng_uniform(rng);
    return KM_OK;
}

km_status km_synth_create(km_ctx *ctx, const km_synth_params *p, km_synth **out)
{
    km_status st = KM_OK;
    km_synth *s = NULL;
    if (out == NULL || p == NULL) {
        st = km_fail(ctx, KM_ERR_INVALID, "synth: NULL argument");
        goto done;
    }
    *out = NULL;
    st = validate(ctx, p);
    if (st != KM_OK)
        goto done;
    s = km_calloc(ctx, 1, sizeof *s);
    if (s == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    s->alloc = km_ctx_alloc_ref(ctx);
    s->p = *p;
    if (p->model == 2) {
        st = km_synth2_create(ctx, s);
        if (st != KM_OK)
            goto done;
        *out = s;
        s = NULL;
        goto done;
    }
    s->col_pitch = p->col_pitch_mm;
    s->row_pitch = p->mode == KM_MODE_ROLLER ? KM_TWO_PI * p->roller_radius_mm / p->rows
                                             : p->row_pitch_mm;
    s->n_frames = (int64_t)llround(p->duration_s * p->frame_rate_hz);
    s->half_width = 0.5 * p->contact_rows * s->row_pitch;
    /* Hertz profile sqrt(1 - (u/a)^2) averages pi/4 of its peak. */
    s->p0 = p->contact_kpa * 4.0 / (KM_TWO_PI / 2.0);

    km_synth_rng setup;
    km_rng_seed(&setup, p->seed, 1);
    km_rng_seed(&s->motion_rng, p->seed, 2);
    km_rng_seed(&s->noise_rng, p->seed, 3);
    s->theta0 = p->mode == KM_MODE_ROLLER ? KM_TWO_PI * km_rng_uniform(&setup) : 0.0;
    s->body_phase = KM_TWO_PI * km_rng_uniform(&setup);
    for (int i = 0; i < 2; i++) {
        s->jf[i] = 0.05 + 0.25 * km_rng_uniform(&setup);
        s->jp[i] = KM_TWO_PI * km_rng_uniform(&setup);
    }
    st = place_knots(ctx, s, &setup);
    if (st != KM_OK)
        goto done;
    st = make_taxels(ctx, s, &setup);
    if (st != KM_OK)
        goto done;
    *out = s;
    s = NULL;
done:
    km_synth_free(s);
    return st;
}

void km_synth_free(km_synth *s)
{
    if (s == NULL)
        return;
    km_alloc_ref a = s->alloc;
    km_synth2_free(&a, s->m2);
    km_ref_free(&a, s->state);
    km_ref_free(&a, s->mask);
    km_ref_free(&a, s->gain);
    km_ref_free(&a, s->offset);
    km_ref_free(&a, s->drift);
    km_ref_free(&a, s->stuck_value);
    km_ref_free(&a, s->hum_phase);
    km_ref_free(&a, s);
}

void km_synth_info(const km_synth *s, km_session_info *out)
{
    if (s == NULL || out == NULL)
        return;
    memset(out, 0, sizeof *out);
    out->format = KM_FORMAT_SESSION;
    out->rows = s->p.rows;
    out->cols = s->p.cols;
    out->n_frames = s->n_frames;
    out->frame_rate_hz = s->p.frame_rate_hz;
    out->row_pitch_mm = s->row_pitch;
    out->col_pitch_mm = s->col_pitch;
    memcpy(out->units, "kPa", 4);
    out->mode = s->p.mode;
    out->roller_radius_mm = s->p.mode == KM_MODE_ROLLER ? s->p.roller_radius_mm : 0.0;
    out->saturation = s->p.saturation_kpa;
    out->n_valid = s->p.rows * s->p.cols;
}

const uint8_t *km_synth_mask(const km_synth *s)
{
    return s ? s->mask : NULL;
}

void km_synth_truth_get(const km_synth *s, km_synth_truth *out)
{
    if (s == NULL || out == NULL)
        return;
    int uniform = s->p.equilibration_kpa > 0.0; /* presses no knot, no relief */
    out->n_knots = uniform ? 0 : s->n_knots;
    out->knots = s->knots;
    out->taxel_state = s->state;
    out->gain = s->gain;
    out->offset = s->offset;
    out->row_pitch_mm = s->row_pitch;
    out->col_pitch_mm = s->col_pitch;
    out->n_distractors = uniform ? 0 : s->n_distractors;
    out->distractors = s->distractors;
}

/* Advance the motion by one frame; returns the motion of frame `i`. */
static km_synth_motion step_motion(km_synth *s, double t)
{
    const km_synth_params *p = &s->p;
    km_synth_motion m;
    double stroke = p->mode == KM_MODE_ROLLER ? p->stroke_mm : (p->rows - 1) * s->row_pitch;
    m.load = s->lift_left > 0 ? 0.0 : 1.0;
    m.y_contact_mm = 0.5 * stroke * (1.0 - cos(s->phase));
    if (p->mode == KM_MODE_ROLLER) {
        m.theta_rad = s->theta0 + m.y_contact_mm / p->roller_radius_mm;
        double c = fmod(m.theta_rad / KM_TWO_PI * p->rows, (double)p->rows);
        m.contact_row = c < 0.0 ? c + p->rows : c;
    } else {
        m.theta_rad = 0.0;
        m.contact_row = m.y_contact_mm / s->row_pitch;
    }
    /* Then move to the next frame: lifted frames freeze the phase; every
       cycle start may begin a lift (drawn from the motion stream only). */
    if (s->lift_left > 0) {
        s->lift_left--;
        return m;
    }
    double speed = 1.0 + p->speed_jitter * (0.6 * sin(KM_TWO_PI * s->jf[0] * t + s->jp[0])
                                            + 0.4 * sin(KM_TWO_PI * s->jf[1] * t + s->jp[1]));
    double before = floor(s->phase / KM_TWO_PI);
    s->phase += KM_TWO_PI * p->cycles_per_minute / 60.0 * speed / p->frame_rate_hz;
    if (floor(s->phase / KM_TWO_PI) > before) {
        double u = km_rng_uniform(&s->motion_rng);
        double d = 0.3 + 0.5 * km_rng_uniform(&s->motion_rng);
        if (u < p->lift_probability)
            s->lift_left = (int64_t)llround(d * p->frame_rate_hz);
    }
    return m;
}

/* Noise-free pressure at body (x, y) at offset u from the contact line. */
static double pressure_at(const km_synth *s, double x, double y, double u)
{
    const km_synth_params *p = &s->p;
    double a = u / s->half_width;
    if (fabs(a) >= 1.0)
        return 0.0;
    double shape = sqrt(1.0 - a * a);
    double xc = 0.5 * (p->cols - 1) * s->col_pitch;
    double dx = x - xc;
    double body = (1.0 - p->spine_depth * exp(-dx * dx / (2.0 * p->spine_width_mm * p->spine_width_mm)))
                  * (1.0 + 0.1 * sin(KM_TWO_PI * y / 150.0 + s->body_phase));
    double v = s->p0 * body;
    for (size_t b = 0; b < s->n_bands; b++) {
        const km_taut_band *tb = &s->bands[b];
        double bx = x - tb->x_mm;
        double out = y < tb->y0_mm ? tb->y0_mm - y : y > tb->y1_mm ? y - tb->y1_mm : 0.0;
        v += p->taut_band_kpa * exp(-bx * bx / (2.0 * tb->sigma_mm * tb->sigma_mm)
                                    - out * out / (2.0 * BAND_END_MM * BAND_END_MM));
    }
    for (size_t k = 0; k < s->n_knots; k++) {
        double kx = x - s->knots[k].x_mm, ky = y - s->knots[k].y_mm;
        double r2 = kx * kx + ky * ky;
        if (r2 < 25.0 * s->knot_s2[k])
            v += s->knots[k].amplitude_kpa * exp(-r2 / s->knot_s2[k]);
    }
    return shape * v;
}

/* Equilibration recording: the uniform load at time t (unloaded first and
 * last 10%, linear ramps over the next 10%, the plateau in between). */
static double equilibration_load(const km_synth *s, double t)
{
    double d = s->p.duration_s, u = d > 0.0 ? t / d : 0.0;
    double ramp = u < 0.5 ? (u - 0.1) / 0.1 : (0.9 - u) / 0.1;
    return s->p.equilibration_kpa * fmin(1.0, fmax(0.0, ramp));
}

static void render_frame(km_synth *s, const km_synth_motion *m, double t, float *f)
{
    const km_synth_params *p = &s->p;
    int32_t R = p->rows, C = p->cols;
    double sat = p->saturation_kpa;
    for (int32_t r = 0; r < R; r++) {
        double u;
        if (p->mode == KM_MODE_ROLLER) {
            double d = fmod(r - m->contact_row + 1.5 * R, (double)R) - 0.5 * R;
            u = d * s->row_pitch;
        } else {
            u = r * s->row_pitch - m->y_contact_mm;
        }
        double y = m->y_contact_mm + u;
        double hum = p->hum_kpa * sin(KM_TWO_PI * p->hum_hz * t + s->hum_phase[r]);
        for (int32_t c = 0; c < C; c++) {
            size_t i = (size_t)r * (size_t)C + (size_t)c;
            double v = p->equilibration_kpa > 0.0 ? m->load
                       : m->load > 0.0 ? m->load * pressure_at(s, c * s->col_pitch, y, u) : 0.0;
            v = s->gain[i] * (v + s->drift[i] * t + hum);
            if (p->noise_kpa > 0.0)
                v += p->noise_kpa * km_rng_normal(&s->noise_rng);
            v = v < 0.0 ? 0.0 : v > sat ? sat : v;
            if (s->state[i] == KM_SYNTH_TAXEL_DEAD)
                v = 0.0;
            else if (s->state[i] == KM_SYNTH_TAXEL_STUCK)
                v = s->stuck_value[i];
            f[i] = (float)v;
        }
    }
}

km_status km_synth_frames_motion(km_ctx *ctx, km_synth *s, float *frames, double *times,
                                 km_synth_motion *motion, int64_t max, int64_t *n)
{
    if (s == NULL || n == NULL || max < 0 || (frames == NULL && max > 0))
        return km_fail(ctx, KM_ERR_INVALID, "synth: bad arguments to km_synth_frames");
    size_t per = (size_t)s->p.rows * (size_t)s->p.cols;
    int64_t k = 0;
    for (; k < max && s->next < s->n_frames; k++, s->next++) {
        double t = (double)s->next / s->p.frame_rate_hz;
        if (s->m2 != NULL) {
            km_synth2_render(s, t, frames + (size_t)k * per, motion ? &motion[k] : NULL);
            if (times)
                times[k] = t;
            continue;
        }
        km_synth_motion m = {0.0, 0.0, 0.0, equilibration_load(s, t)};
        if (!(s->p.equilibration_kpa > 0.0))
            m = step_motion(s, t);
        render_frame(s, &m, t, frames + (size_t)k * per);
        if (times)
            times[k] = t;
        if (motion)
            motion[k] = m;
    }
    *n = k;
    return KM_OK;
}

km_status km_synth_frames(km_ctx *ctx, km_synth *s, float *frames, double *times, int64_t max,
                          int64_t *n)
{
    return km_synth_frames_motion(ctx, s, frames, times, NULL, max, n);
}
