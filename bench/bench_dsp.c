/* Conditioning speed, best of N repetitions, one thread.
 *
 *   knotmap-bench-dsp
 *
 * Prints:
 *   gaussian R C sigma border direct|recursive ns_per_pixel us_per_frame
 *   temporal KIND taxels frames Msamples_per_s
 * Times are thread CPU time (the machine is shared).
 * Gaussian: km_gaussian_apply on a random float32 frame (no mask), object
 * made once.  Temporal: km_temporal_push of 4096-frame blocks of a 32x32
 * stream (the whole session is 16384 frames), then flush. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "knotmap.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void bench_gaussian(km_ctx *ctx, int rows, int cols, double sigma, km_border border,
                           int recursive)
{
    size_t n = (size_t)rows * (size_t)cols;
    float *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out);
    km_gaussian *g = NULL;
    km_gaussian_params p;
    double best = 1e30;
    int reps = (int)(2e7 / (double)n) + 3;
    if (in == NULL || out == NULL)
        exit(1);
    srand(1);
    for (size_t i = 0; i < n; i++)
        in[i] = (float)rand() / (float)RAND_MAX;
    km_gaussian_params_default(&p);
    p.sigma_rows = p.sigma_cols = sigma;
    p.border = border;
    p.recursive = recursive;
    if (km_gaussian_create(ctx, rows, cols, &p, &g) != KM_OK)
        exit(1);
    km_frame fi = {in, rows, cols, cols};
    km_frame_mut fo = {out, rows, cols, cols};
    for (int trial = 0; trial < 7; trial++) {
        double t0 = now();
        for (int r = 0; r < reps; r++)
            km_gaussian_apply(ctx, g, &fi, NULL, &fo);
        double dt = (now() - t0) / reps;
        if (dt < best)
            best = dt;
    }
    printf("gaussian %d %d %.2f %d %s %.3f %.1f\n", rows, cols, sigma, (int)border,
           recursive ? "recursive" : "direct", best * 1e9 / (double)n, best * 1e6);
    km_gaussian_free(g);
    free(in);
    free(out);
}

static void bench_temporal(km_ctx *ctx, const char *name, const km_temporal_params *p)
{
    enum { NT = 32 * 32, BLOCK = 4096, FRAMES = 16384 };
    float *in = malloc(sizeof(float) * NT * BLOCK);
    float *out = NULL;
    km_temporal *t = NULL;
    double best = 1e30;
    int64_t n_out;
    if (in == NULL || km_temporal_create(ctx, NT, p, &t) != KM_OK)
        exit(1);
    out = malloc(sizeof(float) * NT * (size_t)km_temporal_max_output(t, BLOCK));
    if (out == NULL)
        exit(1);
    srand(2);
    for (size_t i = 0; i < (size_t)NT * BLOCK; i++)
        in[i] = 30.0f + (float)rand() / (float)RAND_MAX;
    for (int trial = 0; trial < 5; trial++) {
        double t0 = now();
        for (int b = 0; b < FRAMES / BLOCK; b++)
            km_temporal_push(ctx, t, in, BLOCK, out, &n_out);
        km_temporal_flush(ctx, t, out, &n_out);
        double dt = now() - t0;
        if (dt < best)
            best = dt;
    }
    printf("temporal %s %d %d %.1f\n", name, NT, FRAMES, (double)NT * FRAMES / best / 1e6);
    km_temporal_free(t);
    free(in);
    free(out);
}

int main(void)
{
    km_ctx *ctx = NULL;
    km_temporal_params p;
    if (km_ctx_create(&ctx) != KM_OK)
        return 1;
    bench_gaussian(ctx, 256, 256, 1.5, KM_BORDER_REFLECT, 0);
    bench_gaussian(ctx, 256, 256, 1.5, KM_BORDER_NEAREST, 0);
    bench_gaussian(ctx, 64, 64, 1.5, KM_BORDER_NEAREST, 0);
    bench_gaussian(ctx, 1024, 1024, 1.5, KM_BORDER_NEAREST, 0);
    bench_gaussian(ctx, 256, 256, 5.0, KM_BORDER_NEAREST, 0);
    bench_gaussian(ctx, 256, 256, 5.0, KM_BORDER_NEAREST, 1);
    bench_gaussian(ctx, 256, 256, 20.0, KM_BORDER_NEAREST, 0);
    bench_gaussian(ctx, 256, 256, 20.0, KM_BORDER_NEAREST, 1);

    km_temporal_params_default(&p);
    p.rate_hz = 100.0;
    p.cutoff_hz = 5.0;
    p.kind = KM_TEMPORAL_IIR_LOWPASS;
    p.order = 4;
    bench_temporal(ctx, "iir-lowpass-order4", &p);
    p.kind = KM_TEMPORAL_NOTCH;
    p.rate_hz = 1000.0;
    p.harmonics = 1;
    bench_temporal(ctx, "notch-50Hz", &p);
    p.kind = KM_TEMPORAL_FIR_LOWPASS;
    p.rate_hz = 100.0;
    p.taps = 101;
    bench_temporal(ctx, "fir-lowpass-101taps", &p);
    p.taps = 1001;
    p.cutoff_hz = 0.5;
    p.kind = KM_TEMPORAL_FIR_HIGHPASS;
    bench_temporal(ctx, "fir-highpass-1001taps", &p);
    p.kind = KM_TEMPORAL_MEDIAN;
    p.median_width = 5;
    bench_temporal(ctx, "median-5", &p);
    km_ctx_free(ctx);
    return 0;
}
