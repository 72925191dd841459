/* Causal IIR temporal filters: Butterworth low- and high-pass (as
 * scipy.signal.butter) and notches at a frequency and its harmonics (as
 * scipy.signal.iirnotch), as cascades of second-order sections run across
 * all taxels at once (unit stride over taxels, state in double), starting
 * in the steady state of the first frame (docs/ALGORITHMS.md section 8). */
#include <math.h>

#include "temporal_internal.h"

static void add_section(km_temporal *t, double b0, double b1, double b2, double a1, double a2)
{
    double *s = t->sos[t->n_sec++];
    s[0] = b0;
    s[1] = b1;
    s[2] = b2;
    s[3] = a1;
    s[4] = a2;
}

/* Butterworth by the bilinear transform with prewarping (as
 * scipy.signal.butter): analog prototype poles on the unit circle, scaled
 * (low-pass) or inverted (high-pass) to the warped corner, mapped to z and
 * paired into conjugate sections, each normalised to unit gain at DC
 * (low-pass) or Nyquist (high-pass). */
static void design_butter(km_temporal *t)
{
    const int32_t n = t->p.order;
    const int high = t->p.kind == KM_TEMPORAL_IIR_HIGHPASS;
    const double fs2 = 2.0 * t->p.rate_hz;
    const double wc = fs2 * tan(KM_PI * t->p.cutoff_hz / t->p.rate_hz);
    for (int32_t k = 0; k < n / 2; k++) {
        double th = KM_PI * (double)(2 * k + n + 1) / (2.0 * n);
        double pr = cos(th), pi = sin(th), sr, si, dr, di, den, zr, zi, a1, a2, g;
        if (high) { /* s = wc / p, |p| = 1 */
            sr = wc * pr;
            si = -wc * pi;
        } else {
            sr = wc * pr;
            si = wc * pi;
        }
        /* z = (1 + s/fs2) / (1 - s/fs2) */
        dr = 1.0 - sr / fs2;
        di = -si / fs2;
        den = dr * dr + di * di;
        zr = ((1.0 + sr / fs2) * dr + (si / fs2) * di) / den;
        zi = ((si / fs2) * dr - (1.0 + sr / fs2) * di) / den;
        a1 = -2.0 * zr;
        a2 = zr * zr + zi * zi;
        if (high) {
            g = (1.0 - a1 + a2) / 4.0;
            add_section(t, g, -2.0 * g, g, a1, a2);
        } else {
            g = (1.0 + a1 + a2) / 4.0;
            add_section(t, g, 2.0 * g, g, a1, a2);
        }
    }
    if (n % 2 == 1) { /* real pole p = -1 */
        /* s = -wc for both: wc * (-1) and wc / (-1) */
        double s = -wc;
        double zp = (1.0 + s / fs2) / (1.0 - s / fs2), g;
        if (high) {
            g = (1.0 + zp) / 2.0;
            add_section(t, g, -g, 0.0, -zp, 0.0);
        } else {
            g = (1.0 - zp) / 2.0;
            add_section(t, g, g, 0.0, -zp, 0.0);
        }
    }
}

/* scipy.signal.iirnotch at each harmonic below Nyquist, same Q. */
static void design_notch(km_temporal *t)
{
    for (int32_t k = 1; k <= t->p.harmonics; k++) {
        double f0 = k * t->p.notch_hz, w0, bw, gain, c;
        if (f0 >= 0.5 * t->p.rate_hz)
            break;
        w0 = 2.0 * KM_PI * f0 / t->p.rate_hz;
        bw = w0 / t->p.notch_q;
        gain = 1.0 / (1.0 + tan(bw / 2.0));
        c = cos(w0);
        add_section(t, gain, -2.0 * gain * c, gain, -2.0 * gain * c, 2.0 * gain - 1.0);
    }
}

/* Per section, the state that makes a constant input u a steady state:
 * z1 = (G - b0) U, z2 = (b2 - a2 G) U, U = u times the DC gain of the
 * sections before (scipy.signal.sosfilt_zi scaled by the first frame). */
static void steady_state_factors(km_temporal *t)
{
    double u = 1.0;
    for (int32_t s = 0; s < t->n_sec; s++) {
        const double *c = t->sos[s];
        double g = (c[0] + c[1] + c[2]) / (1.0 + c[3] + c[4]);
        t->zi[s][0] = (g - c[0]) * u;
        t->zi[s][1] = (c[2] - c[4] * g) * u;
        u *= g;
    }
}

km_status km_temporal_create_iir(km_ctx *ctx, km_temporal *t)
{
    if (t->p.kind == KM_TEMPORAL_NOTCH)
        design_notch(t);
    else
        design_butter(t);
    steady_state_factors(t);
    t->z = km_alloc(ctx, (size_t)t->n_sec * 2 * (size_t)t->nt * sizeof *t->z);
    t->v = km_alloc(ctx, (size_t)t->nt * sizeof *t->v);
    return t->z == NULL || t->v == NULL ? KM_ERR_NOMEM : KM_OK;
}

void km_temporal_iir_start(km_temporal *t, const float *x0)
{
    const int32_t nt = t->nt;
    for (int32_t s = 0; s < t->n_sec; s++) {
        double *z1 = t->z + (size_t)(2 * s) * nt, *z2 = z1 + nt;
        for (int32_t i = 0; i < nt; i++) {
            z1[i] = t->zi[s][0] * x0[i];
            z2[i] = t->zi[s][1] * x0[i];
        }
    }
}

void km_temporal_iir_run(km_temporal *t, const float *in, int64_t n, float *out)
{
    const int32_t nt = t->nt;
    for (int64_t f = 0; f < n; f++) {
        const float *restrict x = in + f * nt;
        float *restrict y = out + f * nt;
        double *restrict v = t->v;
        for (int32_t i = 0; i < nt; i++)
            v[i] = x[i];
        for (int32_t s = 0; s < t->n_sec; s++) {
            const double b0 = t->sos[s][0], b1 = t->sos[s][1], b2 = t->sos[s][2];
            const double a1 = t->sos[s][3], a2 = t->sos[s][4];
            double *restrict z1 = t->z + (size_t)(2 * s) * nt;
            double *restrict z2 = z1 + nt;
            /* transposed direct form II */
            for (int32_t i = 0; i < nt; i++) {
                double u = v[i], w = b0 * u + z1[i];
                z1[i] = b1 * u - a1 * w + z2[i];
                z2[i] = b2 * u - a2 * w;
                v[i] = w;
            }
        }
        for (int32_t i = 0; i < nt; i++)
            y[i] = (float)v[i];
    }
}
