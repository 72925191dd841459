/* ns per taxel of 3x3 local maxima (km_detector_apply, coordinates out,
 * no per-peak properties) on float32 smooth-noise frames: the best of 200
 * repetitions of about 1 ms each, timed by the thread's CPU clock
 * (CLOCK_THREAD_CPUTIME_ID) so that time spent descheduled on a loaded
 * machine is not counted; the best of many short repetitions also drops
 * the ones that lost their caches to a neighbour.
 *
 *   knotmap-bench-peaks                      64, 256, 1024 squared frames
 *   knotmap-bench-peaks --raw F R C [F R C]  frames from raw float32 files
 *   --no-portable first: skip timing the portable path (prints nan)
 *   --r R first: min_distance R (the general path when R > 1) with
 *                exclude_border = R, as scikit-image's default
 *
 * Prints one line per frame: rows cols peaks ns_auto ns_portable. */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detect/detect_internal.h"
#include "knotmap.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Uniform noise smoothed by three passes of a 5-tap box each way: smooth
 * noise with blobs a few taxels across. */
static void smooth_noise(float *f, int rows, int cols, unsigned seed)
{
    float *t = malloc((size_t)rows * (size_t)cols * sizeof *t);
    srand(seed);
    for (int k = 0; k < rows * cols; k++)
        f[k] = (float)rand() / (float)RAND_MAX;
    for (int pass = 0; pass < 3; pass++) {
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) {
                float s = 0;
                for (int d = -2; d <= 2; d++) {
                    int jj = j + d < 0 ? 0 : (j + d >= cols ? cols - 1 : j + d);
                    s += f[i * cols + jj];
                }
                t[i * cols + j] = s / 5;
            }
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) {
                float s = 0;
                for (int d = -2; d <= 2; d++) {
                    int ii = i + d < 0 ? 0 : (i + d >= rows ? rows - 1 : i + d);
                    s += t[ii * cols + j];
                }
                f[i * cols + j] = s / 5;
            }
    }
    free(t);
}

static double bench(km_detector *det, const km_frame *fr, km_peak *pk, size_t cap, km_isa isa,
                    size_t *np)
{
    size_t taxels = (size_t)fr->rows * (size_t)fr->cols;
    int inner = (int)(2e6 / (double)taxels) + 1;
    double best = INFINITY;
    for (int rep = 0; rep < 200; rep++) {
        double t0 = now();
        for (int k = 0; k < inner; k++)
            km_detector_apply_isa(NULL, det, fr, NULL, pk, cap, np, isa);
        double dt = (now() - t0) / inner;
        if (dt < best)
            best = dt;
    }
    return best * 1e9 / (double)taxels;
}

static int with_portable = 1;
static int radius = 1;

static int run(const float *f, int rows, int cols)
{
    km_peak_params p;
    km_detector *det = NULL;
    size_t cap = (size_t)rows * (size_t)cols, np = 0;
    km_peak *pk = malloc(cap * sizeof *pk);
    km_frame fr = {f, rows, cols, cols};
    km_peak_params_default(&p);
    p.min_distance = radius;
    p.exclude_border = radius > 1 ? -1 : 0;
    p.want = 0;
    if (pk == NULL || km_detector_create(NULL, rows, cols, &p, &det) != KM_OK) {
        fprintf(stderr, "knotmap-bench-peaks: cannot create a %dx%d detector\n", rows, cols);
        free(pk);
        return 1;
    }
    double ns_auto = bench(det, &fr, pk, cap, KM_ISA_AUTO, &np);
    double ns_port = with_portable ? bench(det, &fr, pk, cap, KM_ISA_PORTABLE, &np) : NAN;
    printf("%d %d %zu %.4f %.4f\n", rows, cols, np, ns_auto, ns_port);
    km_detector_free(det);
    free(pk);
    return 0;
}

int main(int argc, char **argv)
{
    int status = 0;
    for (;;) {
        if (argc > 1 && strcmp(argv[1], "--no-portable") == 0) {
            with_portable = 0;
            argc--;
            argv++;
        } else if (argc > 2 && strcmp(argv[1], "--r") == 0) {
            radius = atoi(argv[2]);
            argc -= 2;
            argv += 2;
        } else {
            break;
        }
    }
    if (argc > 1 && strcmp(argv[1], "--raw") == 0) {
        for (int a = 2; a + 2 < argc; a += 3) {
            int rows = atoi(argv[a + 1]), cols = atoi(argv[a + 2]);
            size_t n = (size_t)rows * (size_t)cols;
            float *f = malloc(n * sizeof *f);
            FILE *fp = fopen(argv[a], "rb");
            if (f == NULL || fp == NULL || fread(f, sizeof *f, n, fp) != n) {
                fprintf(stderr, "knotmap-bench-peaks: %s: cannot read %zu floats\n", argv[a], n);
                status = 1;
            } else {
                status |= run(f, rows, cols);
            }
            if (fp != NULL)
                fclose(fp);
            free(f);
        }
        return status;
    }
    int sizes[] = {64, 256, 1024};
    for (int s = 0; s < 3; s++) {
        int n = sizes[s];
        float *f = malloc((size_t)n * (size_t)n * sizeof *f);
        if (f == NULL)
            return 1;
        smooth_noise(f, n, n, 1u + (unsigned)s);
        status |= run(f, n, n);
        free(f);
    }
    return status;
}
