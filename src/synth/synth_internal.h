/* Shared by the two synthetic models (synth.c: model 1, synth2.c: model 2,
 * docs/ALGORITHMS.md 6).  Not installed. */
#ifndef KM_SYNTH_INTERNAL_H
#define KM_SYNTH_INTERNAL_H

#include "internal.h"
#include "synth_rng.h"

#define KM_TWO_PI 6.283185307179586476925286766559
#define KM_FWHM_PER_SIGMA 2.3548200450309493

typedef struct km_synth2 km_synth2;

/* Model 1: a band per knot at most; model 2: 8 bands and 3 prominences. */
#define KM_SYNTH_MAX_DISTRACTORS (KM_SYNTH_MAX_KNOTS + 16)

/* km_synth_difficulty by value, NULL-terminated (synth.c; the parameter
 * table and km_synth_difficulty_parse read it). */
extern const char *const km_synth_difficulty_names[];

typedef struct km_taut_band {
    double x_mm, y0_mm, y1_mm, sigma_mm;
} km_taut_band;

struct km_synth {
    km_alloc_ref alloc;
    km_synth_params p;
    double row_pitch, col_pitch;
    int64_t n_frames, next;
    double p0;                  /* peak contact pressure of the Hertz profile */
    double half_width;          /* half the contact band width, mm */
    double body_phase;          /* phase of the gentle y undulation of the body */
    km_synth_rng motion_rng, noise_rng;
    /* motion state */
    double phase;               /* cycle phase, 2 pi per back-and-forth */
    int64_t lift_left;          /* frames still lifted */
    double jf[2], jp[2];        /* speed jitter frequencies (Hz) and phases */
    double theta0;
    /* knots and bands */
    size_t n_knots;
    km_synth_knot knots[KM_SYNTH_MAX_KNOTS];
    double knot_s2[KM_SYNTH_MAX_KNOTS]; /* 2 * footprint sigma^2 */
    size_t n_bands;
    km_taut_band bands[KM_SYNTH_MAX_KNOTS];
    size_t n_distractors;       /* the truth's list of bands and prominences */
    km_synth_distractor distractors[KM_SYNTH_MAX_DISTRACTORS];
    /* per taxel */
    uint8_t *state;
    uint8_t *mask;
    float *gain;
    float *offset;              /* fixed offset, kPa (model 2 hot taxels; 0 on model 1) */
    float *drift;               /* kPa per second */
    float *stuck_value;
    double *hum_phase;          /* per row */
    km_synth2 *m2;              /* model 2 state, NULL for model 1 */
};

/* Model 2: draws the device, body, knots and sensor into s (geometry in
 * s->p, s->row_pitch, s->col_pitch; knots; state, mask, gain, offset). */
km_status km_synth2_create(km_ctx *ctx, km_synth *s);
void km_synth2_free(const km_alloc_ref *a, km_synth2 *m);
/* One frame at time t (and its motion when mo != NULL). */
void km_synth2_render(km_synth *s, double t, float *f, km_synth_motion *mo);

#endif
