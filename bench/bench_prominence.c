/* ns per taxel of the per-peak stage (sub-pixel, prominence, area) on the
 * frames knotmap-bench uses: km_synth, roller, moderate preset, seed 1,
 * the pipeline's peak parameters (km_process_params_default), with the
 * synth's all-valid mask.  Times km_detector_apply with want = 0 (local
 * maxima only) and want = KM_WANT_ALL, both by the thread's CPU clock,
 * best of `trials` passes over all frames; the difference is the stage.
 * Also prints a hash (FNV-1a over every byte of every peak) so that two
 * builds can be compared for identical results.
 *
 *   knotmap-bench-prominence [--trials N] [GRID FRAMES]...   [5; 32 4096 256 64]
 *
 * Prints one line per grid: grid frames peaks/frame ns_detect ns_all
 * ns_prominence hash. */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "knotmap.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *frames(int n, int64_t nf, uint8_t **mask)
{
    km_synth_params sp;
    km_synth *s = NULL;
    km_synth_params_default(&sp);
    sp.rows = sp.cols = n;
    sp.duration_s = (double)nf / 100.0 + 1.0;
    sp.seed = 1;
    size_t rc = (size_t)n * (size_t)n;
    float *f = malloc((size_t)nf * rc * sizeof *f);
    double *t = malloc((size_t)nf * sizeof *t);
    *mask = malloc(rc);
    if (f == NULL || t == NULL || *mask == NULL || km_synth_create(NULL, &sp, &s) != KM_OK)
        goto fail;
    memcpy(*mask, km_synth_mask(s), rc);
    for (int64_t got = 0; got < nf;) {
        int64_t k = 0;
        if (km_synth_frames(NULL, s, f + (size_t)got * rc, t + got, nf - got, &k) != KM_OK ||
            k == 0)
            goto fail;
        got += k;
    }
    km_synth_free(s);
    free(t);
    return f;
fail:
    km_synth_free(s);
    free(t);
    free(f);
    return NULL;
}

static uint64_t fnv(uint64_t h, const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t k = 0; k < len; k++)
        h = (h ^ b[k]) * 1099511628211u;
    return h;
}

/* Best time per frame (s) of `trials` passes; *hash and *npk from the last. */
static double pass(km_detector *det, const float *f, const km_mask *m, int n, int64_t nf,
                   km_peak *pk, int trials, uint64_t *hash, size_t *npk)
{
    size_t rc = (size_t)n * (size_t)n;
    double best = 1e30;
    for (int tr = 0; tr < trials; tr++) {
        uint64_t h = 14695981039346656037u;
        size_t total = 0;
        double t0 = now();
        for (int64_t i = 0; i < nf; i++) {
            km_frame fr = {f + (size_t)i * rc, n, n, n};
            size_t np = 0;
            if (km_detector_apply(NULL, det, &fr, m, pk, rc, &np) != KM_OK)
                return -1.0;
            total += np;
            if (hash != NULL)
                for (size_t k = 0; k < np; k++) {
                    h = fnv(h, &pk[k].row, sizeof pk[k].row);
                    h = fnv(h, &pk[k].col, sizeof pk[k].col);
                    h = fnv(h, &pk[k].y, sizeof pk[k].y);
                    h = fnv(h, &pk[k].x, sizeof pk[k].x);
                    h = fnv(h, &pk[k].value, sizeof pk[k].value);
                    h = fnv(h, &pk[k].prominence, sizeof pk[k].prominence);
                    h = fnv(h, &pk[k].area_taxels, sizeof pk[k].area_taxels);
                    h = fnv(h, &pk[k].flags, sizeof pk[k].flags);
                }
        }
        double dt = (now() - t0) / (double)nf;
        best = dt < best ? dt : best;
        if (hash != NULL)
            *hash = h;
        *npk = total;
    }
    return best;
}

static int run(int n, int64_t nf, int trials)
{
    uint8_t *mdata = NULL;
    float *f = frames(n, nf, &mdata);
    size_t rc = (size_t)n * (size_t)n, npk = 0, np0 = 0;
    km_peak *pk = malloc(rc * sizeof *pk);
    km_detector *d0 = NULL, *d1 = NULL;
    km_process_params pp;
    int status = 1;
    if (f == NULL || pk == NULL)
        goto done;
    km_process_params_default(&pp);
    km_peak_params p = pp.peaks;
    p.want = 0;
    if (km_detector_create(NULL, n, n, &p, &d0) != KM_OK)
        goto done;
    p.want = KM_WANT_ALL;
    if (km_detector_create(NULL, n, n, &p, &d1) != KM_OK)
        goto done;
    km_mask m = {mdata, n, n, n};
    uint64_t hash = 0;
    /* Hash outside the timed passes: one untimed pass with hashing. */
    if (pass(d1, f, &m, n, nf, pk, 1, &hash, &npk) < 0)
        goto done;
    double t0 = 1e30, t1 = 1e30;
    for (int r = 0; r < 2; r++) { /* alternate, so both see the same load */
        double a = pass(d0, f, &m, n, nf, pk, trials, NULL, &np0);
        double b = pass(d1, f, &m, n, nf, pk, trials, NULL, &npk);
        if (a < 0 || b < 0)
            goto done;
        t0 = a < t0 ? a : t0;
        t1 = b < t1 ? b : t1;
    }
    double s = 1e9 / (double)rc;
    printf("%dx%d %lld %.2f %.3f %.3f %.3f %016llx\n", n, n, (long long)nf,
           (double)npk / (double)nf, t0 * s, t1 * s, (t1 - t0) * s, (unsigned long long)hash);
    status = 0;
done:
    km_detector_free(d0);
    km_detector_free(d1);
    free(pk);
    free(f);
    free(mdata);
    if (status)
        fprintf(stderr, "knotmap-bench-prominence: %dx%d failed\n", n, n);
    return status;
}

int main(int argc, char **argv)
{
    int trials = 5, status = 0, any = 0;
    int a = 1;
    if (argc > 2 && strcmp(argv[1], "--trials") == 0) {
        trials = atoi(argv[2]);
        a = 3;
    }
    printf("grid frames peaks/frame ns_detect ns_all ns_prominence hash\n");
    for (; a + 1 < argc; a += 2, any = 1)
        status |= run(atoi(argv[a]), atoll(argv[a + 1]), trials);
    if (!any) {
        status |= run(32, 4096, trials);
        status |= run(256, 64, trials);
    }
    return status;
}
