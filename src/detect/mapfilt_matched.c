/* The matched filter of a body map for a Gaussian footprint
 * (docs/ALGORITHMS.md 10.4); see mapfilt.h.  Two forms with the same bits:
 * the plain one cell at a time, and (AVX2) four cells of a row at once, each
 * lane summing its own taps in the plain form's order. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "detect/mapfilt.h"
#include "internal.h"

#if KM_AVX2_TARGET
#include <immintrin.h>
#endif

/* The footprint's radius in cells (3 sigma, at most 16) and its weights
   w[j][k] = ky[j] * kx[k] with their squares; returns sum w^2 over the
   whole footprint. */
static double footprint(double sy, double sx, int32_t *ry, int32_t *rx, double w[33][33],
                        double ww[33][33])
{
    int32_t y = sy > 0.0 ? (int32_t)ceil(3.0 * sy) : 0, x = sx > 0.0 ? (int32_t)ceil(3.0 * sx) : 0;
    *ry = y > 16 ? 16 : y;
    *rx = x > 16 ? 16 : x;
    double ky[33], kx[33], full = 0.0;
    for (int32_t k = -*ry; k <= *ry; k++)
        ky[k + *ry] = sy > 0.0 ? exp(-0.5 * (double)(k * k) / (sy * sy)) : 1.0;
    for (int32_t k = -*rx; k <= *rx; k++)
        kx[k + *rx] = sx > 0.0 ? exp(-0.5 * (double)(k * k) / (sx * sx)) : 1.0;
    for (int32_t j = 0; j <= 2 * *ry; j++)
        for (int32_t k = 0; k <= 2 * *rx; k++) {
            full += ky[j] * ky[j] * kx[k] * kx[k];
            w[j][k] = ky[j] * kx[k];
            ww[j][k] = w[j][k] * w[j][k];
        }
    return full;
}

/* Cell i's amplitude and snr from its sums (NaN with less than half the
   footprint's energy on finite cells). */
static void finish_cell(double num, double den, double full, const float *noise, size_t i,
                        float *amp, float *snr)
{
    if (!(den >= 0.5 * full)) {
        amp[i] = snr[i] = NAN;
        return;
    }
    amp[i] = (float)(num / den);
    snr[i] = (float)(num / sqrt(den) / noise[i]);
}

void km_map_matched_filter_plain(const float *a, int32_t ny, int32_t nx, double sy, double sx,
                                 const float *noise, float *amp, float *snr)
{
    int32_t ry, rx;
    double w[33][33], ww[33][33];
    double full = footprint(sy, sx, &ry, &rx, w, ww);
    for (int32_t y = 0; y < ny; y++)
        for (int32_t x = 0; x < nx; x++) {
            size_t i = (size_t)y * (size_t)nx + (size_t)x;
            double num = 0.0, den = 0.0;
            if (isfinite(a[i]))
                for (int32_t j = -ry; j <= ry; j++) {
                    if (y + j < 0 || y + j >= ny)
                        continue;
                    for (int32_t k = -rx; k <= rx; k++) {
                        if (x + k < 0 || x + k >= nx)
                            continue;
                        float v = a[(size_t)(y + j) * (size_t)nx + (size_t)(x + k)];
                        if (!isfinite(v))
                            continue;
                        num += w[j + ry][k + rx] * v;
                        den += ww[j + ry][k + rx];
                    }
                }
            finish_cell(num, den, full, noise, i, amp, snr);
        }
}

#if KM_AVX2_TARGET
/* Widest map row the AVX2 form takes (its padded row lives on the stack). */
#define MF_MAX_COLS 1024
#define MF_PAD 16

/* Output row y's sums, four cells at a time: each source row in turn into
   a copy padded with NaN (a tap off the map is a tap on no finite value:
   skipped in both forms), then for every tap num += w v, den += w^2 where v
   is finite.  A lane that skips adds +0.0, which keeps its sum's bits: the
   sums start at +0.0 and a sum of doubles never becomes -0.0. */
__attribute__((target("avx2"))) static void mf_row_avx2(const float *a, int32_t ny, int32_t nx,
                                                        int32_t y, int32_t ry, int32_t rx,
                                                        double w[33][33], double ww[33][33],
                                                        float *pad, double *num, double *den)
{
    const __m256d absmask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
    const __m256d inf = _mm256_set1_pd(INFINITY);
    for (int32_t x = 0; x < nx; x++)
        num[x] = den[x] = 0.0;
    for (int32_t j = -ry; j <= ry; j++) {
        if (y + j < 0 || y + j >= ny)
            continue;
        memcpy(pad + MF_PAD, a + (size_t)(y + j) * (size_t)nx, (size_t)nx * sizeof *pad);
        for (int32_t x = 0; x < nx; x += 4) {
            __m256d sn = _mm256_loadu_pd(num + x), sd = _mm256_loadu_pd(den + x);
            const float *p = pad + MF_PAD + x - rx;
            for (int32_t k = 0; k <= 2 * rx; k++) {
                __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(p + k));
                __m256d fin = _mm256_cmp_pd(_mm256_and_pd(v, absmask), inf, _CMP_LT_OQ);
                __m256d wk = _mm256_set1_pd(w[j + ry][k]);
                sn = _mm256_add_pd(sn, _mm256_and_pd(fin, _mm256_mul_pd(wk, v)));
                sd = _mm256_add_pd(sd, _mm256_and_pd(fin, _mm256_set1_pd(ww[j + ry][k])));
            }
            _mm256_storeu_pd(num + x, sn);
            _mm256_storeu_pd(den + x, sd);
        }
    }
}

static void matched_filter_avx2(const float *a, int32_t ny, int32_t nx, double sy, double sx,
                                const float *noise, float *amp, float *snr)
{
    int32_t ry, rx;
    double w[33][33], ww[33][33];
    double full = footprint(sy, sx, &ry, &rx, w, ww);
    /* num and den past nx: the last block of four may run over the row. */
    double num[MF_MAX_COLS + 4], den[MF_MAX_COLS + 4];
    float pad[MF_MAX_COLS + 2 * MF_PAD + 4];
    for (size_t k = 0; k < sizeof pad / sizeof pad[0]; k++)
        pad[k] = NAN;
    for (int32_t y = 0; y < ny; y++) {
        mf_row_avx2(a, ny, nx, y, ry, rx, w, ww, pad, num, den);
        for (int32_t x = 0; x < nx; x++) {
            size_t i = (size_t)y * (size_t)nx + (size_t)x;
            int c = isfinite(a[i]); /* a cell without data has no sums */
            finish_cell(c ? num[x] : 0.0, c ? den[x] : 0.0, full, noise, i, amp, snr);
        }
    }
}
#endif

void km_map_matched_filter(const float *a, int32_t ny, int32_t nx, double sy, double sx,
                           const float *noise, float *amp, float *snr)
{
#if KM_AVX2_TARGET
    if (nx <= MF_MAX_COLS && km_cpu_avx2()) {
        matched_filter_avx2(a, ny, nx, sy, sx, noise, amp, snr);
        return;
    }
#endif
    km_map_matched_filter_plain(a, ny, nx, sy, sx, noise, amp, snr);
}
