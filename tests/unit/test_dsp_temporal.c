/* Temporal filters: analytic properties, streaming invariance, errors.
 * The comparison with scipy.signal is in
 * python-bindings/tests/test_dsp_temporal.py. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "knotmap.h"

static km_ctx *ctx;
static const double PI = 3.14159265358979323846;

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
}

static void teardown(void)
{
    km_ctx_free(ctx);
    ctx = NULL;
}

TestSuite(dsp_temporal, .init = setup, .fini = teardown);

/* Run x [n][nt] through a filter in pushes of `block` frames then flush;
 * returns the output (caller frees) and its frame count. */
static float *run(const km_temporal_params *p, const float *x, int64_t n, int32_t nt,
                  int64_t block, int64_t *n_out)
{
    km_temporal *t = NULL;
    float *y = NULL, *tmp = NULL;
    int64_t got = 0, k = 0, cap;
    cr_assert_eq(km_temporal_create(ctx, nt, p, &t), KM_OK, "%s", km_ctx_last_error(ctx));
    cap = km_temporal_max_output(t, block > n ? block : n);
    y = malloc((size_t)(n + cap) * (size_t)nt * sizeof *y);
    tmp = malloc((size_t)cap * (size_t)nt * sizeof *tmp);
    cr_assert(y && tmp);
    for (int64_t i = 0; i < n; i += block) {
        int64_t m = n - i < block ? n - i : block;
        cr_assert_leq(km_temporal_max_output(t, m), cap);
        cr_assert_eq(km_temporal_push(ctx, t, x + i * nt, m, tmp, &k), KM_OK);
        cr_assert_leq(k, km_temporal_max_output(t, m));
        memcpy(y + got * nt, tmp, (size_t)(k * nt) * sizeof *y);
        got += k;
    }
    cr_assert_eq(km_temporal_flush(ctx, t, tmp, &k), KM_OK);
    cr_assert_leq(k, km_temporal_max_output(t, 0));
    memcpy(y + got * nt, tmp, (size_t)(k * nt) * sizeof *y);
    got += k;
    free(tmp);
    km_temporal_free(t);
    *n_out = got;
    return y;
}

/* Amplitude of the component at f (Hz) in y[i0..n) of taxel 0 by
 * projection on sin and cos (exact for whole periods). */
static double amplitude(const float *y, int32_t nt, int64_t i0, int64_t n, double f, double fs)
{
    double s = 0.0, c = 0.0;
    for (int64_t i = i0; i < n; i++) {
        s += y[i * nt] * sin(2.0 * PI * f * (double)i / fs);
        c += y[i * nt] * cos(2.0 * PI * f * (double)i / fs);
    }
    return 2.0 * sqrt(s * s + c * c) / (double)(n - i0);
}

Test(dsp_temporal, defaults)
{
    km_temporal_params p;
    memset(&p, 0xff, sizeof p);
    km_temporal_params_default(&p);
    cr_assert_eq(p.kind, KM_TEMPORAL_IIR_LOWPASS);
    cr_assert_eq(p.rate_hz, 0.0);
    cr_assert_eq(p.order, 4);
    cr_assert_eq(p.taps, 0);
    cr_assert_eq(p.notch_hz, 50.0);
    cr_assert_eq(p.notch_q, 30.0);
    cr_assert_eq(p.harmonics, 1);
    cr_assert_eq(p.median_width, 5);
}

Test(dsp_temporal, notch_kills_50hz_keeps_2hz)
{
    enum { N = 10000, NT = 3 };
    const double fs = 1000.0;
    float *x = malloc(sizeof(float) * N * NT), *y;
    int64_t n_out;
    km_temporal_params p;
    km_temporal_params_default(&p);
    p.kind = KM_TEMPORAL_NOTCH;
    p.rate_hz = fs;
    p.harmonics = 3;
    for (int64_t i = 0; i < N; i++)
        for (int t = 0; t < NT; t++)
            x[i * NT + t] = (float)(20.0 + 5.0 * sin(2 * PI * 2.0 * (double)i / fs) +
                                    3.0 * sin(2 * PI * 50.0 * (double)i / fs) +
                                    1.0 * sin(2 * PI * 150.0 * (double)i / fs + 0.3));
    y = run(&p, x, N, NT, 7, &n_out);
    cr_assert_eq(n_out, N);
    /* after the transient (bandwidth 1.7 Hz: ~0.2 s), over whole periods */
    double a50 = amplitude(y, NT, 2000, N, 50.0, fs);
    double a150 = amplitude(y, NT, 2000, N, 150.0, fs);
    double a2 = amplitude(y, NT, 2000, N, 2.0, fs);
    cr_assert_lt(20.0 * log10(a50 / 3.0), -40.0, "50 Hz left %g", a50);
    cr_assert_lt(20.0 * log10(a150 / 1.0), -40.0, "150 Hz left %g", a150);
    cr_assert_float_eq(a2, 5.0, 0.05, "2 Hz amplitude %g", a2);
    free(x);
    free(y);
}

struct kind_case {
    km_temporal_kind kind;
    int32_t taps_or_width;
};

static void fill_params(km_temporal_params *p, const struct kind_case *k)
{
    km_temporal_params_default(p);
    p->kind = k->kind;
    p->rate_hz = 100.0;
    p->cutoff_hz = 4.0;
    p->order = 3;
    p->notch_hz = 10.0;
    p->harmonics = 4;
    if (k->kind == KM_TEMPORAL_MEDIAN)
        p->median_width = k->taps_or_width;
    else
        p->taps = k->taps_or_width;
}

static const struct kind_case kinds[] = {
    {KM_TEMPORAL_FIR_LOWPASS, 0},   {KM_TEMPORAL_FIR_LOWPASS, 31},
    {KM_TEMPORAL_FIR_HIGHPASS, 101}, {KM_TEMPORAL_IIR_LOWPASS, 0},
    {KM_TEMPORAL_IIR_HIGHPASS, 0},  {KM_TEMPORAL_NOTCH, 0},
    {KM_TEMPORAL_MEDIAN, 7},
};

Test(dsp_temporal, streaming_blocks_1_7_4096_identical)
{
    enum { N = 5000, NT = 6 };
    float *x = malloc(sizeof(float) * N * NT);
    uint32_t s = 1;
    for (int i = 0; i < N * NT; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = 30.0f + (float)(s >> 8) / 16777216.0f;
    }
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        km_temporal_params p;
        int64_t n1, n7, n4096;
        fill_params(&p, &kinds[k]);
        float *y1 = run(&p, x, N, NT, 1, &n1);
        float *y7 = run(&p, x, N, NT, 7, &n7);
        float *y4096 = run(&p, x, N, NT, 4096, &n4096);
        cr_assert_eq(n1, N, "kind %d", (int)p.kind);
        cr_assert_eq(n7, N);
        cr_assert_eq(n4096, N);
        cr_assert_arr_eq(y1, y7, sizeof(float) * N * NT, "kind %d", (int)p.kind);
        cr_assert_arr_eq(y1, y4096, sizeof(float) * N * NT, "kind %d", (int)p.kind);
        free(y1);
        free(y7);
        free(y4096);
    }
    free(x);
}

Test(dsp_temporal, constant_input_steady_from_the_first_frame)
{
    enum { N = 700, NT = 2 };
    float x[N * NT];
    for (int i = 0; i < N; i++) {
        x[i * NT] = 40.0f;
        x[i * NT + 1] = -3.0f;
    }
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        km_temporal_params p;
        int64_t n;
        fill_params(&p, &kinds[k]);
        float *y = run(&p, x, N, NT, 64, &n);
        int high = p.kind == KM_TEMPORAL_FIR_HIGHPASS || p.kind == KM_TEMPORAL_IIR_HIGHPASS;
        /* A Hamming-windowed high-pass leaks DC at its stopband level
         * (about -53 dB); the IIR high-pass has an exact zero at DC. */
        double tol = p.kind == KM_TEMPORAL_FIR_HIGHPASS ? 4e-3 : 3e-6;
        cr_assert_eq(n, N);
        for (int i = 0; i < N; i++) {
            cr_assert_float_eq(y[i * NT], high ? 0.0f : 40.0f, 40.0 * tol, "kind %d frame %d: %g",
                               (int)p.kind, i, y[i * NT]);
            cr_assert_float_eq(y[i * NT + 1], high ? 0.0f : -3.0f, 3.0 * tol);
        }
        free(y);
    }
}

Test(dsp_temporal, fir_is_zero_phase_and_highpass_removes_a_ramp)
{
    enum { N = 600 };
    float x[N], *y;
    int64_t n;
    km_temporal_params p;
    km_temporal_params_default(&p);
    p.kind = KM_TEMPORAL_FIR_LOWPASS;
    p.rate_hz = 100.0;
    p.cutoff_hz = 10.0;
    p.taps = 51;
    /* a slow sine passes the low-pass with no delay */
    for (int i = 0; i < N; i++)
        x[i] = (float)sin(2 * PI * 1.0 * i / 100.0);
    y = run(&p, x, N, 1, 13, &n);
    cr_assert_eq(n, N);
    /* Hamming passband ripple is about 2e-3; a lag of one frame would
     * show as an error of 2 pi / 100 = 0.063. */
    for (int i = 100; i < N - 100; i++)
        cr_assert_float_eq(y[i], x[i], 5e-3, "%d: %g vs %g", i, y[i], x[i]);
    free(y);
    /* a symmetric kernel maps a ramp to H(0) times the ramp away from the
     * ends (no slope term): only the DC leakage of the window remains */
    p.kind = KM_TEMPORAL_FIR_HIGHPASS;
    p.cutoff_hz = 2.0;
    p.taps = 101;
    for (int i = 0; i < N; i++)
        x[i] = 5.0f + 0.1f * (float)i;
    y = run(&p, x, N, 1, 1000, &n);
    {
        km_temporal *t = NULL;
        cr_assert_eq(km_temporal_create(ctx, 1, &p, &t), KM_OK);
        cr_assert_eq(km_temporal_delay(t), 50);
        km_temporal_free(t);
    }
    for (int i = 50; i < N - 50; i++)
        cr_assert_float_eq(y[i], 0.0f, 4e-3 * x[i], "%d: %g", i, y[i]);
    free(y);
}

Test(dsp_temporal, median_removes_isolated_spikes)
{
    enum { N = 50 };
    float x[N], *y;
    int64_t n;
    km_temporal_params p;
    km_temporal_params_default(&p);
    p.kind = KM_TEMPORAL_MEDIAN;
    p.median_width = 5;
    for (int i = 0; i < N; i++)
        x[i] = 7.0f;
    x[1] = 1000.0f; /* next to the start: the nearest extension repeats x[0] */
    x[20] = -500.0f;
    x[21] = 900.0f; /* two-frame spike: still fewer than (width+1)/2 */
    x[49] = 300.0f; /* the last frame is repeated by the extension: kept */
    y = run(&p, x, N, 1, 3, &n);
    cr_assert_eq(n, N);
    for (int i = 0; i < N - 1; i++)
        cr_assert_eq(y[i], 7.0f, "%d: %g", i, y[i]);
    cr_assert_eq(y[N - 1], 300.0f); /* median of {7, 7, 300, 300, 300} */
    free(y);
}

Test(dsp_temporal, errors)
{
    km_temporal *t = NULL;
    km_temporal_params p;
    float buf[4] = {0};
    int64_t n = -1;
    km_temporal_params_default(&p);
    cr_assert_eq(km_temporal_create(ctx, 4, &p, &t), KM_ERR_INVALID); /* rate 0 */
    cr_assert_null(t);
    p.rate_hz = 100.0;
    p.cutoff_hz = 50.0;
    cr_assert_eq(km_temporal_create(ctx, 4, &p, &t), KM_ERR_INVALID); /* at Nyquist */
    p.cutoff_hz = 5.0;
    p.order = 0;
    cr_assert_eq(km_temporal_create(ctx, 4, &p, &t), KM_ERR_INVALID);
    p.order = 4;
    cr_assert_eq(km_temporal_create(ctx, 0, &p, &t), KM_ERR_INVALID);
    p.kind = KM_TEMPORAL_FIR_LOWPASS;
    p.taps = 30;
    cr_assert_eq(km_temporal_create(ctx, 4, &p, &t), KM_ERR_INVALID);
    p.taps = 31;
    p.fft_size = 48;
    cr_assert_eq(km_temporal_create(ctx, 4, &p, &t), KM_ERR_INVALID);
    p.fft_size = 32;
    cr_assert_eq(km_temporal_create(ctx, 4, &p, &t), KM_ERR_INVALID); /* < 2 taps */
    p.fft_size = 0;
    p.cutoff_hz = 1e-6;
    p.taps = 0;
    cr_assert_eq(km_temporal_create(ctx, 4, &p, &t), KM_ERR_LIMIT);
    p.kind = KM_TEMPORAL_MEDIAN;
    p.median_width = 4;
    cr_assert_eq(km_temporal_create(ctx, 4, &p, &t), KM_ERR_INVALID);
    p.kind = KM_TEMPORAL_NOTCH;
    p.notch_hz = 60.0;
    cr_assert_eq(km_temporal_create(ctx, 4, &p, &t), KM_ERR_INVALID); /* above Nyquist */
    p.kind = (km_temporal_kind)17;
    cr_assert_eq(km_temporal_create(ctx, 4, &p, &t), KM_ERR_INVALID);
    cr_assert_str_neq(km_ctx_last_error(ctx), "");

    p.kind = KM_TEMPORAL_IIR_LOWPASS;
    cr_assert_eq(km_temporal_create(ctx, 4, &p, &t), KM_OK);
    cr_assert_eq(km_temporal_push(ctx, t, NULL, 1, buf, &n), KM_ERR_INVALID);
    cr_assert_eq(n, 0);
    cr_assert_eq(km_temporal_push(ctx, t, buf, -1, buf, &n), KM_ERR_INVALID);
    cr_assert_eq(km_temporal_push(ctx, t, buf, 0, NULL, &n), KM_OK);
    cr_assert_eq(n, 0);
    cr_assert_eq(km_temporal_delay(t), 0);
    km_temporal_free(t);
    km_temporal_free(NULL);
}
