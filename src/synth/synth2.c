/* Synthetic sessions, model 2 (docs/ALGORITHMS.md 6.7): a second tissue,
 * motion and sensor model, parametrised independently of model 1 and drawn
 * widely per seed, so that a detector tuned on one model is checked on the
 * other.  Own random streams (11: setup, 12: motion, 13: noise). */
#include <math.h>
#include <string.h>

#include "synth_internal.h"

#define S2_MAX_BANDS 8
#define S2_MAX_BONES 3
#define SUB 3 /* taxel area sampled SUB x SUB */
#define BAND_END_MM 8.0 /* a band's Gaussian fall beyond its extent */

typedef struct s2_feature {    /* an elliptical Gaussian, axes along/across the fibres */
    double x, y, s_along, s_across, rel;
    double y0, y1;             /* bands: extent along the fibres (relative to y) */
} s2_feature;

struct km_synth2 {
    int roller;
    double rp, cp, radius, dt;
    int32_t rows, cols;
    /* body */
    int thigh;
    double xm, half_body;      /* thigh: body half width; back: roller half length */
    double valley_depth, valley_w, edge_gain, contact_kpa, half_contact;
    double fibre_c, fibre_s;   /* fibre direction (unit vector, mostly along y) */
    s2_feature knots[KM_SYNTH_MAX_KNOTS];
    size_t n_bands, n_bones;
    s2_feature bands[S2_MAX_BANDS], bones[S2_MAX_BONES];
    double fill;               /* sensing share of the pitch, per axis */
    /* sensor */
    double tau_alpha, xtalk, quant, noise, sat;
    float *drift, *lag, *tmp, *stuck_value;
    int32_t lost_row, lost_c0, lost_c1;
    /* motion */
    double y_lo, y_hi, end_lo, end_hi, y, dir, v_seg, lean, lean_target, spin;
    double theta0, jf, jp, p_lift, p_pause, pause_lean;
    int64_t lift_left, pause_left;
    uint8_t tender[KM_SYNTH_MAX_KNOTS];
};

static double uni(km_synth_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * km_rng_uniform(r);
}

/* Preset ranges (docs/ALGORITHMS.md 6.7): [easy, moderate, hard]. */
typedef struct s2_range { double lo, hi; } s2_range;
static const s2_range KNOT_REL[3] = {{0.6, 1.5}, {0.35, 1.2}, {0.25, 0.8}};
static const s2_range NOISE[3] = {{0.1, 0.5}, {0.4, 1.5}, {1.0, 3.0}};
static const s2_range GAIN_SD[3] = {{0.005, 0.02}, {0.02, 0.06}, {0.05, 0.12}};
static const s2_range XTALK[3] = {{0.0, 0.03}, {0.02, 0.06}, {0.04, 0.10}};
static const s2_range QUANT[3] = {{0.05, 0.2}, {0.2, 0.5}, {0.5, 1.5}};
static const double HOT[3] = {0.0, 0.005, 0.015}, DEAD[3] = {0.0, 0.003, 0.015};
static const double STUCK[3] = {0.0, 0.002, 0.01}, DRIFT[3] = {0.0, 0.5, 2.0};
static const double LOST[3] = {0.0, 0.3, 0.7}, LIFT[3] = {0.1, 0.3, 0.5};
static const double PAUSE[3] = {0.0, 0.1, 0.2};
static const s2_range SAT[3] = {{INFINITY, INFINITY}, {250.0, 400.0}, {100.0, 200.0}};


static double rot_q(const km_synth2 *m, const s2_feature *f, double dx, double dy, double *along)
{
    double a = dx * m->fibre_s + dy * m->fibre_c;     /* along the fibres */
    double c = dx * m->fibre_c - dy * m->fibre_s;     /* across */
    if (along)
        *along = a;
    return c * c / (f->s_across * f->s_across);
}

/* Relative pressure field of the body at (x, y) (1 = the contact pressure),
 * knots and bands averaged over the taxel area. */
static double body_at(const km_synth2 *m, double x, double y)
{
    double b;
    double dx = x - m->xm;
    if (m->thigh) {
        double q = dx / m->half_body;
        if (fabs(q) >= 1.0)
            return 0.0;
        b = pow(1.0 - q * q, 0.3);
    } else {
        b = 1.0 - m->valley_depth * exp(-dx * dx / (2.0 * m->valley_w * m->valley_w));
        double to_end = m->half_body - fabs(dx);
        if (to_end < 0.0)
            return 0.0;
        b += m->edge_gain * exp(-to_end / 6.0);
    }
    for (size_t k = 0; k < m->n_bones; k++) {
        const s2_feature *f = &m->bones[k];
        double ex = x - f->x, ey = y - f->y;
        b += f->rel * exp(-0.5 * (ex * ex + ey * ey) / (f->s_along * f->s_along));
    }
    return b;
}

static double small_at(const km_synth2 *m, size_t n_knots, double x, double y)
{
    double v = 0.0;
    for (size_t k = 0; k < m->n_bands; k++) {
        const s2_feature *f = &m->bands[k];
        double along;
        double q = rot_q(m, f, x - f->x, y - f->y, &along);
        if (q > 30.0)
            continue;
        double out = along < f->y0 ? f->y0 - along : along > f->y1 ? along - f->y1 : 0.0;
        v += f->rel * exp(-0.5 * q - out * out / (2.0 * BAND_END_MM * BAND_END_MM));
    }
    for (size_t k = 0; k < n_knots; k++) {
        const s2_feature *f = &m->knots[k];
        double along;
        double q = rot_q(m, f, x - f->x, y - f->y, &along);
        if (q > 40.0)
            continue;
        q += along * along / (f->s_along * f->s_along);
        if (q < 40.0)
            v += f->rel * exp(-0.5 * q);
    }
    return v;
}

static int far_from(const km_synth *s, double x, double y, double d)
{
    for (size_t k = 0; k < s->n_knots; k++)
        if (hypot(x - s->knots[k].x_mm, y - s->knots[k].y_mm) < d)
            return 0;
    return 1;
}

/* Device: rollers of 40-75 mm radius with 24-48 rows, 5-10 mm column
   pitch, 120-240 mm long; mats of 24-48 x 24-48 taxels at 5-10 mm.  The
   geometry goes into the session's parameters. */
static void draw_device(km_synth *s, km_synth2 *m, km_synth_rng *r)
{
    km_synth_params *p = &s->p;
    m->cp = uni(r, 5.0, 10.0);
    if (m->roller) {
        m->radius = uni(r, 40.0, 75.0);
        m->rows = (int32_t)(24 + (int)(km_rng_uniform(r) * 25.0));
        m->rp = KM_TWO_PI * m->radius / m->rows;
        m->cols = (int32_t)lround(uni(r, 120.0, 240.0) / m->cp);
    } else {
        m->rp = uni(r, 5.0, 10.0);
        m->rows = (int32_t)(24 + (int)(km_rng_uniform(r) * 25.0));
        m->cols = (int32_t)(24 + (int)(km_rng_uniform(r) * 25.0));
    }
    if (m->cols < 16)
        m->cols = 16;
    if (m->cols > 48)
        m->cols = 48;
    p->rows = m->rows;
    p->cols = m->cols;
    p->col_pitch_mm = m->cp;
    p->row_pitch_mm = m->rp;
    p->roller_radius_mm = m->roller ? m->radius : 0.0;
    s->row_pitch = m->rp;
    s->col_pitch = m->cp;
    double width = (m->cols - 1) * m->cp;
    m->xm = 0.5 * width + uni(r, -0.1, 0.1) * width;
    m->fill = uni(r, 0.6, 1.0);
}

/* Body: a back (spine valley, the body wider than the roller, stiffer
   roller ends on a rigid roller) or a thigh (no valley, narrower than the
   sensor: the contact has edges inside the grid); the region swept. */
static void draw_body(km_synth2 *m, km_synth_rng *r)
{
    double width = (m->cols - 1) * m->cp;
    m->thigh = km_rng_uniform(r) < 0.5;
    int rigid = km_rng_uniform(r) < 0.3;
    m->contact_kpa = rigid ? uni(r, 55.0, 90.0) : uni(r, 30.0, 50.0);
    if (m->thigh) {
        m->half_body = fmin(0.5 * width * uni(r, 0.6, 0.85), uni(r, 45.0, 90.0));
        m->xm = 0.5 * width + uni(r, -1.0, 1.0) * (0.5 * width - m->half_body) * 0.8;
    } else {
        m->valley_depth = uni(r, 0.3, 0.7);
        m->valley_w = uni(r, 8.0, 15.0);
        m->half_body = 0.5 * width + m->cp * 0.5;
        m->xm = 0.5 * width;
        m->edge_gain = rigid ? uni(r, 0.2, 0.5) : uni(r, 0.0, 0.15);
    }
    m->half_contact = uni(r, 10.0, 25.0);
    double ang = uni(r, -25.0, 25.0) * KM_TWO_PI / 360.0;
    m->fibre_c = cos(ang);
    m->fibre_s = sin(ang);
    /* Region swept: a roller's stroke of 150-300 mm; a mat's load sweeps
       70-100% of its rows. */
    if (m->roller) {
        m->y_lo = 0.0;
        m->y_hi = uni(r, 150.0, 300.0);
    } else {
        double span = (m->rows - 1) * m->rp, use = span * uni(r, 0.7, 1.0);
        m->y_lo = uni(r, 0.0, span - use);
        m->y_hi = m->y_lo + use;
    }
}

/* Knots: nodules of 2-10 mm under 5-25 mm of tissue; the footprint sigma is
   the nodule's widened by the tissue (0.3-0.45 of the depth), elongated
   1-2x along the fibres; a stiffer spot adds 'rel' times the contact
   pressure, in proportion to the lean.  Placed within [xlo, xhi]. */
static void draw_knots(km_synth *s, km_synth2 *m, km_synth_rng *r, int pi, double xlo, double xhi)
{
    double spread = uni(r, 0.3, 0.45);
    double span_y = m->y_hi - m->y_lo;
    int want = 3 + (int)(km_rng_uniform(r) * 6.0);
    if (s->p.n_knots == 0)
        want = 0; /* a knot-free session: the detector's null distribution */
    for (int tries = 0; tries < 20000 && (int)s->n_knots < want; tries++) {
        double x = uni(r, xlo, xhi);
        double y = m->y_lo + span_y * uni(r, 0.2, 0.8);
        if (!m->thigh && fabs(x - m->xm) < 2.0 * m->valley_w)
            continue;
        if (!far_from(s, x, y, 40.0))
            continue;
        double d = uni(r, 2.0, 10.0), z = uni(r, 5.0, 25.0);
        double sn = d / KM_FWHM_PER_SIGMA, sf = hypot(sn, spread * z);
        double e = uni(r, 1.0, 2.0);
        s2_feature *f = &m->knots[s->n_knots];
        f->x = x;
        f->y = y;
        f->s_along = sf * sqrt(e);
        f->s_across = sf / sqrt(e);
        f->rel = uni(r, KNOT_REL[pi].lo, KNOT_REL[pi].hi);
        m->tender[s->n_knots] = km_rng_uniform(r) < 0.5;
        km_synth_knot *kn = &s->knots[s->n_knots++];
        kn->x_mm = x;
        kn->y_mm = y;
        kn->sigma_mm = sn;
        kn->footprint_sigma_mm = sf;
        kn->amplitude_kpa = f->rel * m->contact_kpa;
        kn->in_taut_band = 0;
    }
}

/* Taut bands along the fibres (some through knots), 40-120 mm long; broad
   bony prominences (sigma 15-30 mm) away from the knots. */
static void draw_distractors(km_synth *s, km_synth2 *m, km_synth_rng *r, double xlo, double xhi)
{
    double span_y = m->y_hi - m->y_lo;
    size_t nb = (size_t)(km_rng_uniform(r) * 4.0);
    for (size_t k = 0; k < nb && m->n_bands < S2_MAX_BANDS; k++) {
        s2_feature *f = &m->bands[m->n_bands];
        int on_knot = s->n_knots > 0 && km_rng_uniform(r) < 0.5;
        size_t kk = on_knot ? (size_t)(km_rng_uniform(r) * (double)s->n_knots) : 0;
        f->x = on_knot ? s->knots[kk].x_mm : uni(r, xlo, xhi);
        f->y = on_knot ? s->knots[kk].y_mm : m->y_lo + span_y * uni(r, 0.2, 0.8);
        f->s_across = uni(r, 2.5, 5.0);
        f->s_along = f->s_across;
        f->rel = uni(r, 0.08, 0.25);
        double len = uni(r, 40.0, 120.0), at = km_rng_uniform(r);
        f->y0 = -at * len;
        f->y1 = (1.0 - at) * len;
        if (on_knot)
            s->knots[kk].in_taut_band = 1;
        m->n_bands++;
    }
    size_t nbone = (size_t)(km_rng_uniform(r) * 3.0);
    for (int tries = 0; tries < 200 && m->n_bones < nbone; tries++) {
        s2_feature *f = &m->bones[m->n_bones];
        f->x = uni(r, xlo, xhi);
        f->y = m->y_lo + span_y * uni(r, 0.1, 0.9);
        f->s_along = f->s_across = uni(r, 15.0, 30.0);
        f->rel = uni(r, 0.2, 0.5);
        if (far_from(s, f->x, f->y, 30.0 + f->s_along))
            m->n_bones++;
    }
}

/* The bands and prominences into the truth (km_synth_distractor). */
static void list_distractors(km_synth *s, const km_synth2 *m)
{
    double ang = atan2(m->fibre_s, m->fibre_c);
    for (size_t k = 0; k < m->n_bands; k++) {
        const s2_feature *f = &m->bands[k];
        s->distractors[s->n_distractors++] = (km_synth_distractor){
            KM_SYNTH_BAND, f->x, f->y, ang, f->y0, f->y1, BAND_END_MM, f->s_across,
            f->rel * m->contact_kpa};
    }
    for (size_t k = 0; k < m->n_bones; k++) {
        const s2_feature *f = &m->bones[k];
        s->distractors[s->n_distractors++] = (km_synth_distractor){
            KM_SYNTH_BONE, f->x, f->y, 0.0, 0.0, 0.0, 0.0, f->s_along, f->rel * m->contact_kpa};
    }
}

/* Per-taxel sensor state: gain (and high-gain or offset hot taxels), offset
   drift, dead and stuck taxels, a lost row segment. */
static km_status draw_taxels(km_ctx *ctx, km_synth *s, km_synth2 *m, km_synth_rng *r, int pi)
{
    double gsd = uni(r, GAIN_SD[pi].lo, GAIN_SD[pi].hi);
    size_t n = (size_t)m->rows * (size_t)m->cols;
    s->state = km_calloc(ctx, n, 1);
    s->mask = km_alloc(ctx, n);
    s->gain = km_alloc(ctx, n * sizeof(float));
    s->offset = km_alloc(ctx, n * sizeof(float));
    m->drift = km_alloc(ctx, n * sizeof(float));
    m->lag = km_calloc(ctx, n, sizeof(float));
    m->tmp = km_alloc(ctx, n * sizeof(float));
    m->stuck_value = km_alloc(ctx, n * sizeof(float));
    if (!s->state || !s->mask || !s->gain || !s->offset || !m->drift || !m->lag || !m->tmp ||
        !m->stuck_value)
        return KM_ERR_NOMEM;
    memset(s->mask, 1, n);
    double full = isfinite(m->sat) ? m->sat : 3.0 * m->contact_kpa;
    for (size_t i = 0; i < n; i++) {
        double u = km_rng_uniform(r);
        s->state[i] = u < DEAD[pi] ? KM_SYNTH_TAXEL_DEAD
                      : u < DEAD[pi] + STUCK[pi] ? KM_SYNTH_TAXEL_STUCK
                                                 : KM_SYNTH_TAXEL_OK;
        double g = 1.0 + gsd * km_rng_normal(r), off = 0.0;
        if (km_rng_uniform(r) < HOT[pi]) {
            if (km_rng_uniform(r) < 0.5)
                g = uni(r, 1.3, 1.8);
            else
                off = uni(r, 5.0, 20.0);
        }
        s->gain[i] = (float)fmax(0.3, g);
        s->offset[i] = (float)off;
        m->drift[i] = (float)(DRIFT[pi] / 60.0 * km_rng_normal(r));
        m->stuck_value[i] = (float)(full * uni(r, 0.2, 1.0));
    }
    m->lost_row = -1;
    if (km_rng_uniform(r) < LOST[pi]) {
        int32_t len = (int32_t)(4 + (int)(km_rng_uniform(r) * 9.0));
        m->lost_row = (int32_t)(km_rng_uniform(r) * m->rows);
        m->lost_c0 = (int32_t)(km_rng_uniform(r) * (double)(m->cols - len));
        m->lost_c1 = m->lost_c0 + len;
        for (int32_t c = m->lost_c0; c < m->lost_c1; c++)
            s->state[(size_t)m->lost_row * (size_t)m->cols + (size_t)c] = KM_SYNTH_TAXEL_DEAD;
    }
    return KM_OK;
}

/* Motion: back and forth at uneven speed (40-200 mm/s per stroke, slowing
   at the ends), ends that vary, lifts at the ends (the roller may turn in
   the air), pauses pressing a tender knot for 1-4 s. */
static void draw_motion(km_synth2 *m, km_synth_rng *r, int pi)
{
    m->theta0 = KM_TWO_PI * km_rng_uniform(r);
    m->jf = uni(r, 0.2, 1.0);
    m->jp = KM_TWO_PI * km_rng_uniform(r);
    m->p_lift = LIFT[pi];
    m->p_pause = PAUSE[pi];
    m->y = m->y_lo;
    m->dir = 1.0;
    m->end_hi = m->y_hi;
    m->end_lo = m->y_lo;
    m->v_seg = uni(r, 40.0, 200.0);
    m->lean = m->lean_target = uni(r, 0.75, 1.25);
}

km_status km_synth2_create(km_ctx *ctx, km_synth *s)
{
    km_synth_params *p = &s->p;
    int pi = p->difficulty < 0 ? 0 : p->difficulty > 2 ? 2 : p->difficulty;
    km_synth_rng r;
    km_rng_seed(&r, p->seed, 11);
    km_rng_seed(&s->motion_rng, p->seed, 12);
    km_rng_seed(&s->noise_rng, p->seed, 13);
    km_synth2 *m = km_calloc(ctx, 1, sizeof *m);
    if (m == NULL)
        return KM_ERR_NOMEM;
    s->m2 = m;
    m->roller = p->mode == KM_MODE_ROLLER;
    m->dt = 1.0 / p->frame_rate_hz;
    draw_device(s, m, &r);
    draw_body(m, &r);
    double width = (m->cols - 1) * m->cp, xlo, xhi;
    if (m->thigh) {
        xlo = m->xm - 0.75 * m->half_body;
        xhi = m->xm + 0.75 * m->half_body;
    } else {
        xlo = fmax(2.0 * m->cp, 10.0);
        xhi = width - xlo;
    }
    draw_knots(s, m, &r, pi, xlo, xhi);
    draw_distractors(s, m, &r, xlo, xhi);
    list_distractors(s, m);
    /* Sensor: lag 1-10 ms, crosstalk to the 4 neighbours, counts, noise,
       gain error, offset drift, hot (high-gain or offset) taxels, dead and
       stuck taxels, a lost row segment, saturation. */
    m->tau_alpha = 1.0 - exp(-m->dt / uni(&r, 0.001, 0.010));
    m->xtalk = uni(&r, XTALK[pi].lo, XTALK[pi].hi);
    m->quant = uni(&r, QUANT[pi].lo, QUANT[pi].hi);
    m->noise = uni(&r, NOISE[pi].lo, NOISE[pi].hi);
    m->sat = isfinite(SAT[pi].lo) ? uni(&r, SAT[pi].lo, SAT[pi].hi) : INFINITY;
    p->saturation_kpa = m->sat;
    km_status st = draw_taxels(ctx, s, m, &r, pi);
    if (st != KM_OK)
        return st;
    draw_motion(m, &r, pi);
    s->n_frames = (int64_t)llround(p->duration_s * p->frame_rate_hz);
    return KM_OK;
}

void km_synth2_free(const km_alloc_ref *a, km_synth2 *m)
{
    if (m == NULL)
        return;
    km_ref_free(a, m->drift);
    km_ref_free(a, m->lag);
    km_ref_free(a, m->tmp);
    km_ref_free(a, m->stuck_value);
    km_ref_free(a, m);
}

static km_synth_motion step(km_synth *s, double t)
{
    km_synth2 *m = s->m2;
    km_synth_rng *r = &s->motion_rng;
    km_synth_motion o;
    double span = m->y_hi - m->y_lo;
    o.y_contact_mm = m->y;
    o.load = m->lift_left > 0 ? 0.0 : m->lean;
    o.theta_rad = m->roller ? m->theta0 + m->y / m->radius + m->spin : 0.0;
    if (m->roller) {
        double c = fmod(o.theta_rad / KM_TWO_PI * m->rows, (double)m->rows);
        o.contact_row = c < 0.0 ? c + m->rows : c;
    } else {
        o.contact_row = m->y / m->rp;
    }
    /* advance to the next frame */
    double k = 1.0 - exp(-m->dt / 0.4);
    m->lean += k * (m->lean_target - m->lean);
    if (m->lift_left > 0) {
        m->lift_left--;
        m->spin += m->roller ? 0.02 * km_rng_normal(r) : 0.0;
        return o;
    }
    if (m->pause_left > 0) {
        if (--m->pause_left == 0)
            m->lean_target = uni(r, 0.75, 1.25);
        return o;
    }
    double end = m->dir > 0.0 ? m->end_hi : m->end_lo, dist = fabs(end - m->y);
    double v = m->v_seg * (1.0 + 0.3 * sin(KM_TWO_PI * m->jf * t + m->jp)) *
               fmin(1.0, fmax(0.15, sqrt(dist / 15.0)));
    double y0 = m->y;
    m->y += m->dir * v * m->dt;
    for (size_t q = 0; q < s->n_knots; q++) {
        double ky = s->knots[q].y_mm;
        if (m->tender[q] && (y0 - ky) * (m->y - ky) <= 0.0 && y0 != m->y &&
            km_rng_uniform(r) < m->p_pause) {
            m->y = ky + uni(r, -3.0, 3.0);
            m->pause_left = (int64_t)llround(uni(r, 1.0, 4.0) / m->dt);
            m->lean_target = uni(r, 1.3, 1.8);
            return o;
        }
    }
    if ((m->dir > 0.0 && m->y >= end) || (m->dir < 0.0 && m->y <= end)) {
        m->y = end;
        m->dir = -m->dir;
        m->v_seg = uni(r, 40.0, 200.0);
        m->lean_target = uni(r, 0.75, 1.25);
        if (m->dir > 0.0)
            m->end_hi = m->y_hi - uni(r, 0.0, 0.1) * span;
        else
            m->end_lo = m->y_lo + uni(r, 0.0, 0.1) * span;
        if (km_rng_uniform(r) < m->p_lift)
            m->lift_left = (int64_t)llround(uni(r, 0.2, 1.0) / m->dt);
    }
    return o;
}

/* Contact profile along the rolling direction: cos^2 over +-half_contact. */
static double contact(const km_synth2 *m, double u)
{
    double a = u / m->half_contact;
    if (fabs(a) >= 1.0)
        return 0.0;
    double c = cos(0.25 * KM_TWO_PI * a);
    return c * c;
}

void km_synth2_render(km_synth *s, double t, float *f, km_synth_motion *mo)
{
    km_synth2 *m = s->m2;
    const km_synth_params *p = &s->p;
    int32_t R = m->rows, C = m->cols;
    size_t n = (size_t)R * (size_t)C;
    double eq = p->equilibration_kpa;
    km_synth_motion o = {0.0, 0.0, 0.0, 0.0};
    if (eq > 0.0) {
        double d = p->duration_s, u = d > 0.0 ? t / d : 0.0;
        double ramp = u < 0.5 ? (u - 0.1) / 0.1 : (0.9 - u) / 0.1;
        o.load = eq * fmin(1.0, fmax(0.0, ramp));
    } else {
        o = step(s, t);
    }
    /* true pressure */
    for (int32_t r = 0; r < R; r++) {
        double u;
        if (m->roller) {
            double d = fmod(r - o.contact_row + 1.5 * R, (double)R) - 0.5 * R;
            u = d * m->rp;
        } else {
            u = r * m->rp - o.y_contact_mm;
        }
        double h = eq > 0.0 ? 1.0 : contact(m, u);
        double y = m->roller ? o.y_contact_mm + u : r * m->rp;
        for (int32_t c = 0; c < C; c++) {
            double v = 0.0;
            if (eq > 0.0) {
                v = o.load;
            } else if (h > 0.0 && o.load > 0.0) {
                double x = c * m->cp, sm = 0.0;
                for (int a = 0; a < SUB; a++)
                    for (int b = 0; b < SUB; b++)
                        sm += small_at(m, s->n_knots,
                                       x + m->fill * m->cp * ((b + 0.5) / SUB - 0.5),
                                       y + m->fill * m->rp * ((a + 0.5) / SUB - 0.5));
                double body = body_at(m, x, y);
                v = body > 0.0 ? o.load * m->contact_kpa * h * (body + sm / (SUB * SUB)) : 0.0;
            }
            m->tmp[(size_t)r * (size_t)C + (size_t)c] = (float)v;
        }
    }
    /* lag, then crosstalk into the 4 neighbours */
    for (size_t i = 0; i < n; i++)
        m->lag[i] += (float)(m->tau_alpha * (m->tmp[i] - m->lag[i]));
    for (int32_t r = 0; r < R; r++)
        for (int32_t c = 0; c < C; c++) {
            size_t i = (size_t)r * (size_t)C + (size_t)c;
            double nb = (c > 0 ? m->lag[i - 1] : 0.0f) + (c + 1 < C ? m->lag[i + 1] : 0.0f) +
                        (r > 0 ? m->lag[i - (size_t)C] : 0.0f) +
                        (r + 1 < R ? m->lag[i + (size_t)C] : 0.0f);
            double v = m->lag[i] + m->xtalk * nb;
            v = s->gain[i] * v + s->offset[i] + m->drift[i] * t + m->noise * km_rng_normal(&s->noise_rng);
            v = v < 0.0 ? 0.0 : v > m->sat ? m->sat : v;
            v = floor(v / m->quant + 0.5) * m->quant;
            if (s->state[i] == KM_SYNTH_TAXEL_DEAD)
                v = 0.0;
            else if (s->state[i] == KM_SYNTH_TAXEL_STUCK)
                v = m->stuck_value[i];
            f[i] = (float)v;
        }
    if (mo)
        *mo = o;
}
