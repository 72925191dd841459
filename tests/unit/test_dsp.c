/* Conditioning: units, calibration, border modes, Gaussian smoothing.
 * References: analytic results and a brute-force 2-D convolution written
 * independently of src/dsp (double precision, borders by iterative
 * folding).  The comparison with scipy itself is in
 * python-bindings/tests/test_dsp_gaussian.py. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dsp_internal.h"
#include "internal.h"
#include "knotmap.h"

static km_ctx *ctx;

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
}

static void teardown(void)
{
    km_ctx_free(ctx);
    ctx = NULL;
}

TestSuite(dsp, .init = setup, .fini = teardown);

/* Deterministic pseudo-random values in [0, 1). */
static float urand(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / 16777216.0f;
}

/* ---------------------------------------------------------------- units */

Test(dsp, units_known_and_case_insensitive)
{
    cr_assert_eq(km_units_to_kpa("kPa"), 1.0);
    cr_assert_eq(km_units_to_kpa("KPA"), 1.0);
    cr_assert_float_eq(km_units_to_kpa("mmHg"), 0.133322387415, 1e-15);
    cr_assert_float_eq(km_units_to_kpa("MMHG"), 0.133322387415, 1e-15);
    cr_assert_eq(km_units_to_kpa("N/cm2"), 10.0);
    cr_assert_eq(km_units_to_kpa("n/CM2"), 10.0);
    cr_assert_float_eq(km_units_to_kpa("psi"), 6.894757, 1e-6);
}

Test(dsp, units_raw_unknown_null_are_nan)
{
    cr_assert(isnan(km_units_to_kpa("raw")));
    cr_assert(isnan(km_units_to_kpa("kPa ")));
    cr_assert(isnan(km_units_to_kpa("")));
    cr_assert(isnan(km_units_to_kpa("furlong")));
    cr_assert(isnan(km_units_to_kpa(NULL)));
}

/* ---------------------------------------------------------- calibration */

Test(dsp, calib_defaults)
{
    km_calib_params p;
    memset(&p, 0xff, sizeof p);
    km_calib_params_default(&p);
    cr_assert_eq(p.offset, 0.0);
    cr_assert_eq(p.gain, 1.0);
    cr_assert_eq(p.noise_threshold, 0.0);
}

Test(dsp, calibrate_gain_offset_threshold_nan)
{
    const float in[6] = {10.0f, 11.0f, 12.0f, 14.0f, NAN, 5.0f};
    float out[6];
    km_calib_params p = {.offset = 10.0, .gain = 2.5, .noise_threshold = 3.0};
    km_frame fi = {in, 2, 3, 3};
    km_frame_mut fo = {out, 2, 3, 3};
    cr_assert_eq(km_calibrate(ctx, &p, &fi, &fo), KM_OK);
    cr_assert_eq(out[0], 0.0f);  /* 0 < 3 */
    cr_assert_eq(out[1], 0.0f);  /* 2.5 < 3 */
    cr_assert_eq(out[2], 5.0f);
    cr_assert_eq(out[3], 10.0f);
    cr_assert(isnan(out[4]));
    cr_assert_eq(out[5], 0.0f);  /* -12.5 < 3 */
}

Test(dsp, calibrate_threshold_zero_is_off_negative_values_kept)
{
    const float in[2] = {1.0f, -4.0f};
    float out[2];
    km_calib_params p;
    km_calib_params_default(&p);
    p.gain = 0.5;
    km_frame fi = {in, 1, 2, 2};
    km_frame_mut fo = {out, 1, 2, 2};
    cr_assert_eq(km_calibrate(ctx, &p, &fi, &fo), KM_OK);
    cr_assert_eq(out[0], 0.5f);
    cr_assert_eq(out[1], -2.0f);
}

Test(dsp, calibrate_in_place_with_stride)
{
    /* 2x2 view with stride 3: the third element of each row is padding. */
    float buf[6] = {1, 2, -99, 3, 4, -77};
    km_calib_params p = {.offset = 1.0, .gain = 10.0, .noise_threshold = 0.0};
    km_frame fi = {buf, 2, 2, 3};
    km_frame_mut fo = {buf, 2, 2, 3};
    cr_assert_eq(km_calibrate(ctx, &p, &fi, &fo), KM_OK);
    cr_assert_eq(buf[0], 0.0f);
    cr_assert_eq(buf[1], 10.0f);
    cr_assert_eq(buf[2], -99.0f);
    cr_assert_eq(buf[3], 20.0f);
    cr_assert_eq(buf[4], 30.0f);
    cr_assert_eq(buf[5], -77.0f);
}

Test(dsp, calibrate_different_strides)
{
    const float in[4] = {1, 2, 3, 4};
    float out[8];
    for (int i = 0; i < 8; i++)
        out[i] = -1.0f;
    km_calib_params p;
    km_calib_params_default(&p);
    km_frame fi = {in, 2, 2, 2};
    km_frame_mut fo = {out, 2, 2, 4};
    cr_assert_eq(km_calibrate(ctx, &p, &fi, &fo), KM_OK);
    cr_assert_eq(out[0], 1.0f);
    cr_assert_eq(out[1], 2.0f);
    cr_assert_eq(out[2], -1.0f);
    cr_assert_eq(out[4], 3.0f);
    cr_assert_eq(out[5], 4.0f);
    cr_assert_eq(out[7], -1.0f);
}

Test(dsp, calibrate_errors)
{
    float buf[8] = {0};
    km_calib_params p;
    km_calib_params_default(&p);
    km_frame fi = {buf, 2, 2, 2};
    km_frame_mut fo = {buf, 2, 2, 2};
    km_frame_mut shifted = {buf + 1, 2, 2, 2};
    km_frame_mut other_stride = {buf, 2, 2, 3};
    km_frame_mut wrong = {buf, 2, 3, 3};
    km_frame empty = {buf, 0, 2, 2};

    cr_assert_eq(km_calibrate(ctx, NULL, &fi, &fo), KM_ERR_INVALID);
    cr_assert_eq(km_calibrate(ctx, &p, NULL, &fo), KM_ERR_INVALID);
    cr_assert_eq(km_calibrate(ctx, &p, &fi, &shifted), KM_ERR_INVALID);
    cr_assert_eq(km_calibrate(ctx, &p, &fi, &other_stride), KM_ERR_INVALID);
    cr_assert_eq(km_calibrate(ctx, &p, &fi, &wrong), KM_ERR_INVALID);
    cr_assert_str_neq(km_ctx_last_error(ctx), "");
    cr_assert_eq(km_calibrate(ctx, &p, &empty, &fo), KM_ERR_INVALID);
    p.noise_threshold = -1.0;
    cr_assert_eq(km_calibrate(ctx, &p, &fi, &fo), KM_ERR_INVALID);
    p.noise_threshold = 0.0;
    p.gain = NAN;
    cr_assert_eq(km_calibrate(ctx, &p, &fi, &fo), KM_ERR_INVALID);
}

/* --------------------------------------------------------------- borders */

Test(dsp, border_parse)
{
    const char *names[] = {"nearest", "reflect", "mirror", "constant", "wrap"};
    const km_border want[] = {KM_BORDER_NEAREST, KM_BORDER_REFLECT, KM_BORDER_MIRROR,
                              KM_BORDER_CONSTANT, KM_BORDER_WRAP};
    km_border b = KM_BORDER_NEAREST;
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(km_border_parse(names[i], &b), KM_OK);
        cr_assert_eq(b, want[i]);
    }
    cr_assert_eq(km_border_parse("grid-wrap", &b), KM_ERR_INVALID);
    cr_assert_eq(km_border_parse(NULL, &b), KM_ERR_INVALID);
    cr_assert_eq(km_border_parse("wrap", NULL), KM_ERR_INVALID);
}

/* -------------------------------------------------------------- Gaussian */

/* Reference extension by repeated folding, independent of the library's
 * closed form.  Returns -1 for the constant outside. */
static int ref_index(int p, int n, km_border mode)
{
    if (mode == KM_BORDER_CONSTANT)
        return (p >= 0 && p < n) ? p : -1;
    if (mode == KM_BORDER_NEAREST)
        return p < 0 ? 0 : (p >= n ? n - 1 : p);
    if (mode == KM_BORDER_WRAP) {
        while (p < 0)
            p += n;
        while (p >= n)
            p -= n;
        return p;
    }
    if (n == 1)
        return 0;
    while (p < 0 || p >= n) {
        if (mode == KM_BORDER_REFLECT)
            p = p < 0 ? -p - 1 : 2 * n - 1 - p;
        else
            p = p < 0 ? -p : 2 * n - 2 - p;
    }
    return p;
}

static int ref_radius(double sigma, double truncate)
{
    return sigma <= 1e-15 ? 0 : (int)(truncate * sigma + 0.5);
}

static void ref_kernel(double sigma, int rad, double *w)
{
    double sum = 0.0;
    if (rad == 0) {
        w[0] = 1.0;
        return;
    }
    for (int k = -rad; k <= rad; k++)
        sum += (w[k + rad] = exp(-(double)k * k / (2.0 * sigma * sigma)));
    for (int k = 0; k <= 2 * rad; k++)
        w[k] /= sum;
}

/* Separable reference in double, rows first (as scipy), contiguous. */
static void ref_gaussian(const float *in, int rows, int cols, const km_gaussian_params *p,
                         double *out)
{
    int rr = ref_radius(p->sigma_rows, p->truncate), rc = ref_radius(p->sigma_cols, p->truncate);
    double *wr = malloc(sizeof(double) * (size_t)(2 * rr + 1));
    double *wc = malloc(sizeof(double) * (size_t)(2 * rc + 1));
    double *tmp = malloc(sizeof(double) * (size_t)(rows * cols));
    cr_assert(wr && wc && tmp);
    ref_kernel(p->sigma_rows, rr, wr);
    ref_kernel(p->sigma_cols, rc, wc);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            double s = 0.0;
            for (int k = -rr; k <= rr; k++) {
                int q = ref_index(r + k, rows, p->border);
                s += wr[k + rr] * (q < 0 ? p->cval : in[q * cols + c]);
            }
            tmp[r * cols + c] = (float)s; /* scipy stores the pass as float32 */
        }
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            double s = 0.0;
            for (int k = -rc; k <= rc; k++) {
                int q = ref_index(c + k, cols, p->border);
                s += wc[k + rc] * (q < 0 ? p->cval : tmp[r * cols + q]);
            }
            out[r * cols + c] = s;
        }
    free(wr);
    free(wc);
    free(tmp);
}

static km_status smooth(const float *in, int rows, int cols, const km_gaussian_params *p,
                        const uint8_t *mask, float *out)
{
    km_gaussian *g = NULL;
    km_status st = km_gaussian_create(ctx, rows, cols, p, &g);
    if (st != KM_OK)
        return st;
    km_frame fi = {in, rows, cols, cols};
    km_frame_mut fo = {out, rows, cols, cols};
    km_mask fm = {mask, rows, cols, cols};
    st = km_gaussian_apply(ctx, g, &fi, mask ? &fm : NULL, &fo);
    km_gaussian_free(g);
    return st;
}

Test(dsp, gaussian_defaults)
{
    km_gaussian_params p;
    memset(&p, 0xff, sizeof p);
    km_gaussian_params_default(&p);
    cr_assert_eq(p.sigma_rows, 1.0);
    cr_assert_eq(p.sigma_cols, 1.0);
    cr_assert_eq(p.truncate, 4.0);
    cr_assert_eq(p.border, KM_BORDER_NEAREST);
    cr_assert_eq(p.cval, 0.0);
}

Test(dsp, gaussian_delta_gives_the_kernel)
{
    enum { R = 21, C = 25 };
    float in[R * C] = {0}, out[R * C];
    double w_r[64], w_c[64];
    km_gaussian_params p;
    km_gaussian_params_default(&p);
    p.sigma_rows = 1.5;
    p.sigma_cols = 2.0;
    p.border = KM_BORDER_CONSTANT;
    in[10 * C + 12] = 1.0f;
    cr_assert_eq(smooth(in, R, C, &p, NULL, out), KM_OK);
    /* radius 6 and 8: the kernel fits inside the frame */
    ref_kernel(1.5, 6, w_r);
    ref_kernel(2.0, 8, w_c);
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            int dr = r - 10, dc = c - 12;
            double want = (abs(dr) <= 6 && abs(dc) <= 8) ? w_r[dr + 6] * w_c[dc + 8] : 0.0;
            cr_assert_float_eq(out[r * C + c], want, 1e-6 * w_r[6] * w_c[8] + 1e-12,
                               "(%d,%d): %g vs %g", r, c, out[r * C + c], want);
        }
}

Test(dsp, gaussian_constant_frame_stays_constant_in_every_mode)
{
    enum { R = 5, C = 3 };
    float in[R * C], out[R * C];
    for (int i = 0; i < R * C; i++)
        in[i] = 42.5f;
    for (int mode = KM_BORDER_NEAREST; mode <= KM_BORDER_WRAP; mode++) {
        km_gaussian_params p;
        km_gaussian_params_default(&p);
        p.sigma_rows = 3.0; /* kernels wider than the frame */
        p.sigma_cols = 2.0;
        p.border = (km_border)mode;
        p.cval = 42.5;
        cr_assert_eq(smooth(in, R, C, &p, NULL, out), KM_OK);
        for (int i = 0; i < R * C; i++)
            cr_assert_float_eq(out[i], 42.5f, 42.5f * 2e-6f, "mode %d: %g", mode, out[i]);
    }
}

Test(dsp, gaussian_sum_preserved_interior_and_wrap)
{
    enum { R = 40, C = 40 };
    static float in[R * C], out[R * C];
    uint32_t s = 7;
    double sum_in = 0.0, sum_out = 0.0;
    km_gaussian_params p;
    km_gaussian_params_default(&p);
    p.sigma_rows = p.sigma_cols = 1.5;
    p.border = KM_BORDER_CONSTANT;
    /* content at least the radius (6) away from every edge */
    for (int r = 8; r < 32; r++)
        for (int c = 8; c < 32; c++)
            sum_in += in[r * C + c] = urand(&s);
    cr_assert_eq(smooth(in, R, C, &p, NULL, out), KM_OK);
    for (int i = 0; i < R * C; i++)
        sum_out += out[i];
    cr_assert_float_eq(sum_out, sum_in, 1e-5 * sum_in);

    /* wrap preserves the sum of any frame */
    sum_in = sum_out = 0.0;
    for (int i = 0; i < R * C; i++)
        sum_in += in[i] = urand(&s);
    p.border = KM_BORDER_WRAP;
    p.sigma_rows = 9.0; /* wider than the frame: keeps wrapping */
    cr_assert_eq(smooth(in, R, C, &p, NULL, out), KM_OK);
    for (int i = 0; i < R * C; i++)
        sum_out += out[i];
    cr_assert_float_eq(sum_out, sum_in, 1e-5 * sum_in);
}

struct gcase {
    int rows, cols;
    double sr, sc, truncate;
    km_border border;
};

ParameterizedTestParameters(dsp, gaussian_matches_reference)
{
    static struct gcase cases[] = {
        {1, 1, 1.5, 1.5, 4.0, KM_BORDER_REFLECT},  {1, 1, 1.5, 1.5, 4.0, KM_BORDER_CONSTANT},
        {1, 9, 2.0, 2.0, 4.0, KM_BORDER_MIRROR},   {9, 1, 2.0, 2.0, 4.0, KM_BORDER_WRAP},
        {2, 3, 3.0, 2.0, 4.0, KM_BORDER_REFLECT},  {2, 3, 3.0, 2.0, 4.0, KM_BORDER_MIRROR},
        {3, 2, 5.0, 5.0, 4.0, KM_BORDER_WRAP},     {3, 2, 5.0, 5.0, 4.0, KM_BORDER_NEAREST},
        {4, 4, 2.5, 2.5, 4.0, KM_BORDER_CONSTANT}, {17, 13, 1.5, 0.7, 4.0, KM_BORDER_NEAREST},
        {17, 13, 0.0, 2.0, 4.0, KM_BORDER_REFLECT}, {17, 13, 2.0, 0.0, 3.0, KM_BORDER_MIRROR},
        {32, 48, 1.5, 1.5, 4.0, KM_BORDER_WRAP},   {32, 48, 4.0, 1.0, 2.0, KM_BORDER_CONSTANT},
        {5000, 3, 1.0, 3.0, 4.0, KM_BORDER_REFLECT}, /* tall: stack line */
        {3, 5000, 1.0, 3.0, 4.0, KM_BORDER_REFLECT}, /* wide: heap line */
    };
    return cr_make_param_array(struct gcase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct gcase *gc, dsp, gaussian_matches_reference)
{
    size_t n = (size_t)gc->rows * (size_t)gc->cols;
    float *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out);
    double *want = malloc(n * sizeof *want);
    uint32_t s = (uint32_t)(gc->rows * 31 + gc->cols);
    km_gaussian_params p;
    cr_assert(in && out && want);
    km_gaussian_params_default(&p);
    p.sigma_rows = gc->sr;
    p.sigma_cols = gc->sc;
    p.truncate = gc->truncate;
    p.border = gc->border;
    p.cval = 0.25;
    for (size_t i = 0; i < n; i++)
        in[i] = urand(&s) + 0.1f;
    cr_assert_eq(smooth(in, gc->rows, gc->cols, &p, NULL, out), KM_OK);
    ref_gaussian(in, gc->rows, gc->cols, &p, want);
    for (size_t i = 0; i < n; i++)
        cr_assert_float_eq(out[i], want[i], 1e-5 * fabs(want[i]), "%zu: %.9g vs %.9g", i,
                           out[i], want[i]);
    free(in);
    free(out);
    free(want);
}

/* Apply with one instruction-set variant; strides larger than cols, with
 * poison in the padding. */
static km_status smooth_isa(const float *in, int rows, int cols, int si, const km_gaussian_params *p,
                            const uint8_t *mask, float *out, int so, km_gauss_isa isa)
{
    km_gaussian *g = NULL;
    km_status st = km_gaussian_create(ctx, rows, cols, p, &g);
    if (st != KM_OK)
        return st;
    km_frame fi = {in, rows, cols, si};
    km_frame_mut fo = {out, rows, cols, so};
    km_mask fm = {mask, rows, cols, cols};
    st = km_gaussian_apply_isa(ctx, g, &fi, mask ? &fm : NULL, &fo, isa);
    km_gaussian_free(g);
    return st;
}

Test(dsp, gaussian_every_width_variant_and_mode)
{
    /* Widths 1-70 and around 128 reach every vector tail of every variant
     * (4, 8 and 16 floats, blocks of 4 vectors); sigmas up to 6 give
     * kernels far wider than the narrow frames.  Each variant must match
     * the double reference (masked: normalised convolution built from two
     * reference passes) and give the baseline's bits. */
    enum { MAXR = 12, MAXC = 140, PAD = 5 };
    static float in[MAXR * (MAXC + PAD)], dense[MAXR * MAXC], vm[MAXR * MAXC], vw[MAXR * MAXC];
    static float base[MAXR * (MAXC + PAD)], out[MAXR * (MAXC + PAD)];
    static double want[MAXR * MAXC], den[MAXR * MAXC];
    static uint8_t m[MAXR * MAXC];
    static const int wide[] = {127, 128, 129, 140};
    static const double sig[] = {0.0, 0.4, 1.0, 1.5, 2.5, 6.0};
    const km_gauss_isa isas[] = {KM_GAUSS_ISA_AVX2, KM_GAUSS_ISA_AVX512, KM_GAUSS_ISA_AUTO};
    uint32_t s = 99;
    int ran_wide = 0;
    cr_assert(km_gaussian_isa_supported(KM_GAUSS_ISA_BASE));
    cr_assert_eq(km_gaussian_isa_supported((km_gauss_isa)7), 0);
    for (int it = 0; it < 74 * 5; it++) {
        int ci = it / 5, mode = it % 5;
        int cols = ci < 70 ? ci + 1 : wide[ci - 70];
        int rows = 1 + (int)(urand(&s) * MAXR);
        int si = cols + (int)(urand(&s) * PAD), so = cols + (int)(urand(&s) * PAD);
        int masked = urand(&s) < 0.4f;
        km_gaussian_params p;
        km_gaussian_params_default(&p);
        p.sigma_rows = sig[(int)(urand(&s) * 6)];
        p.sigma_cols = sig[(int)(urand(&s) * 6)];
        p.border = (km_border)mode;
        p.cval = 0.75;
        for (int i = 0; i < rows * si; i++)
            in[i] = NAN;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                float v = urand(&s) + 0.1f;
                m[r * cols + c] = (uint8_t)(urand(&s) < 0.8f);
                in[r * si + c] = dense[r * cols + c] = v;
                vm[r * cols + c] = m[r * cols + c] ? v : 0.0f;
                vw[r * cols + c] = m[r * cols + c] ? 1.0f : 0.0f;
            }
        for (int i = 0; i < rows * so; i++)
            base[i] = -9.0f;
        cr_assert_eq(smooth_isa(in, rows, cols, si, &p, masked ? m : NULL, base, so,
                                KM_GAUSS_ISA_BASE), KM_OK);
        if (masked) {
            km_gaussian_params pd = p;
            pd.cval = 1.0;
            ref_gaussian(vm, rows, cols, &p, want);
            ref_gaussian(vw, rows, cols, &pd, den);
            for (int i = 0; i < rows * cols; i++)
                want[i] = m[i] ? want[i] / den[i] : NAN;
        } else {
            ref_gaussian(dense, rows, cols, &p, want);
        }
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                double w = want[r * cols + c];
                float got = base[r * so + c];
                if (isnan(w))
                    cr_assert(isnan(got), "it %d (%d,%d) should be NaN", it, r, c);
                else
                    cr_assert_float_eq(got, w, 1e-5 * fabs(w), "it %d %dx%d mode %d mask %d "
                                       "(%d,%d): %.9g vs %.9g", it, rows, cols, mode, masked,
                                       r, c, (double)got, w);
            }
            for (int c = cols; c < so; c++)
                cr_assert_eq(base[r * so + c], -9.0f, "padding written");
        }
        for (size_t k = 0; k < sizeof isas / sizeof isas[0]; k++) {
            if (!km_gaussian_isa_supported(isas[k]))
                continue;
            ran_wide |= isas[k] != KM_GAUSS_ISA_AUTO;
            for (int i = 0; i < rows * so; i++)
                out[i] = -9.0f;
            cr_assert_eq(smooth_isa(in, rows, cols, si, &p, masked ? m : NULL, out, so, isas[k]),
                         KM_OK);
            cr_assert_eq(memcmp(out, base, (size_t)(rows * so) * sizeof *out), 0,
                         "it %d: variant %d differs from the baseline", it, (int)isas[k]);
        }
    }
    if (!ran_wide)
        cr_log_warn("no AVX2 on this CPU: only the baseline variant was checked");
}

Test(dsp, gaussian_sigma_zero_is_identity)
{
    enum { R = 4, C = 5 };
    float in[R * C], out[R * C];
    uint32_t s = 3;
    km_gaussian_params p;
    km_gaussian_params_default(&p);
    p.sigma_rows = p.sigma_cols = 0.0;
    for (int i = 0; i < R * C; i++)
        in[i] = urand(&s);
    cr_assert_eq(smooth(in, R, C, &p, NULL, out), KM_OK);
    cr_assert_arr_eq(in, out, sizeof in);
}

Test(dsp, gaussian_strides_honoured)
{
    enum { R = 6, C = 5, SI = 7, SO = 9 };
    float dense[R * C], in[R * SI], out[R * SO], want[R * C];
    uint32_t s = 11;
    km_gaussian *g = NULL;
    km_gaussian_params p;
    km_gaussian_params_default(&p);
    p.border = KM_BORDER_MIRROR;
    for (int i = 0; i < R * SI; i++)
        in[i] = NAN; /* padding would poison the result if read */
    for (int i = 0; i < R * SO; i++)
        out[i] = -5.0f;
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            in[r * SI + c] = dense[r * C + c] = urand(&s);
    cr_assert_eq(smooth(dense, R, C, &p, NULL, want), KM_OK);
    cr_assert_eq(km_gaussian_create(ctx, R, C, &p, &g), KM_OK);
    km_frame fi = {in, R, C, SI};
    km_frame_mut fo = {out, R, C, SO};
    cr_assert_eq(km_gaussian_apply(ctx, g, &fi, NULL, &fo), KM_OK);
    for (int r = 0; r < R; r++) {
        for (int c = 0; c < C; c++)
            cr_assert_eq(out[r * SO + c], want[r * C + c]);
        for (int c = C; c < SO; c++)
            cr_assert_eq(out[r * SO + c], -5.0f);
    }
    km_gaussian_free(g);
}

Test(dsp, gaussian_nan_propagates_without_mask)
{
    enum { R = 15, C = 15 };
    float in[R * C], out[R * C];
    km_gaussian_params p;
    km_gaussian_params_default(&p);
    for (int i = 0; i < R * C; i++)
        in[i] = 1.0f;
    in[7 * C + 7] = NAN;
    cr_assert_eq(smooth(in, R, C, &p, NULL, out), KM_OK);
    cr_assert(isnan(out[7 * C + 7]));
    cr_assert(isnan(out[7 * C + 11])); /* within radius 4 */
    cr_assert_float_eq(out[7 * C + 12], 1.0f, 1e-6);
    cr_assert_float_eq(out[0], 1.0f, 1e-6);
}

/* Random values smoothed with the all-ones mask m and without a mask
 * agree (in, a and b hold rows * cols values). */
static void ones_mask_changes_nothing(float *in, int rows, int cols, const km_gaussian_params *p,
                                      const uint8_t *m, float *a, float *b, uint32_t *s, int mode)
{
    for (int i = 0; i < rows * cols; i++)
        in[i] = urand(s);
    cr_assert_eq(smooth(in, rows, cols, p, NULL, a), KM_OK);
    cr_assert_eq(smooth(in, rows, cols, p, m, b), KM_OK);
    for (int i = 0; i < rows * cols; i++)
        cr_assert_float_eq(a[i], b[i], 1e-5 * fabsf(a[i]), "mode %d", mode);
}

Test(dsp, gaussian_all_valid_mask_equals_no_mask)
{
    enum { R = 12, C = 9 };
    float in[R * C], a[R * C], b[R * C];
    uint8_t m[R * C];
    uint32_t s = 5;
    memset(m, 1, sizeof m);
    for (int mode = KM_BORDER_NEAREST; mode <= KM_BORDER_WRAP; mode++) {
        km_gaussian_params p;
        km_gaussian_params_default(&p);
        p.sigma_rows = 1.2;
        p.sigma_cols = 2.2;
        p.border = (km_border)mode;
        p.cval = 3.0;
        ones_mask_changes_nothing(in, R, C, &p, m, a, b, &s, mode);
    }
}

Test(dsp, gaussian_masked_normalised_convolution)
{
    enum { R = 9, C = 11 };
    float in[R * C], out[R * C];
    uint8_t m[R * C];
    km_gaussian_params p;
    km_gaussian_params_default(&p);
    p.sigma_rows = p.sigma_cols = 1.5;
    for (int i = 0; i < R * C; i++) {
        in[i] = 7.0f;
        m[i] = 1;
    }
    /* masked taxels with garbage, and a NaN on a valid taxel */
    in[4 * C + 5] = 1e6f;
    m[4 * C + 5] = 0;
    in[0] = -3e5f;
    m[0] = 0;
    in[8 * C + 10] = NAN;
    cr_assert_eq(smooth(in, R, C, &p, m, out), KM_OK);
    cr_assert(isnan(out[4 * C + 5]));
    cr_assert(isnan(out[0]));
    cr_assert(isnan(out[8 * C + 10]));
    /* a constant over the valid taxels stays that constant */
    for (int i = 0; i < R * C; i++)
        if (i != 4 * C + 5 && i != 0 && i != 8 * C + 10)
            cr_assert_float_eq(out[i], 7.0f, 7e-6f, "%d: %g", i, out[i]);
}

Test(dsp, gaussian_masked_weights_analytic)
{
    /* 1 x 3, radius 1 along columns only, centre taxel masked: with nearest
     * borders taxel 0 sees only copies of itself, taxel 2 likewise. */
    float in[3] = {2.0f, 100.0f, 8.0f}, out[3];
    uint8_t m[3] = {1, 0, 1};
    km_gaussian_params p;
    double w[3];
    km_gaussian_params_default(&p);
    p.sigma_rows = 0.0;
    p.sigma_cols = 1.0;
    p.truncate = 1.0; /* radius 1 */
    cr_assert_eq(smooth(in, 1, 3, &p, m, out), KM_OK);
    ref_kernel(1.0, 1, w);
    /* taxel 0: left neighbour (nearest) is v0, right is masked */
    cr_assert_float_eq(out[0], 2.0f, 1e-6);
    cr_assert(isnan(out[1]));
    cr_assert_float_eq(out[2], 8.0f, 1e-6);
    /* constant mode, cval 4: outside counts as a valid 4 */
    p.border = KM_BORDER_CONSTANT;
    p.cval = 4.0;
    cr_assert_eq(smooth(in, 1, 3, &p, m, out), KM_OK);
    cr_assert_float_eq(out[0], (w[0] * 4.0 + w[1] * 2.0) / (w[0] + w[1]), 1e-6);
    cr_assert_float_eq(out[2], (w[1] * 8.0 + w[2] * 4.0) / (w[1] + w[2]), 1e-6);
}

Test(dsp, gaussian_errors)
{
    km_gaussian *g = NULL;
    km_gaussian_params p;
    float buf[64] = {0}, out[64];
    uint8_t m[64] = {0};
    km_gaussian_params_default(&p);

    cr_assert_eq(km_gaussian_create(ctx, 0, 4, &p, &g), KM_ERR_INVALID);
    cr_assert_null(g);
    cr_assert_eq(km_gaussian_create(ctx, 70000, 4, &p, &g), KM_ERR_LIMIT);
    cr_assert_eq(km_gaussian_create(ctx, 4, 4, NULL, &g), KM_ERR_INVALID);
    p.sigma_rows = -1.0;
    cr_assert_eq(km_gaussian_create(ctx, 4, 4, &p, &g), KM_ERR_INVALID);
    p.sigma_rows = NAN;
    cr_assert_eq(km_gaussian_create(ctx, 4, 4, &p, &g), KM_ERR_INVALID);
    p.sigma_rows = 1e12;
    cr_assert_eq(km_gaussian_create(ctx, 4, 4, &p, &g), KM_ERR_LIMIT);
    p.sigma_rows = 1.0;
    p.truncate = 0.0;
    cr_assert_eq(km_gaussian_create(ctx, 4, 4, &p, &g), KM_ERR_INVALID);
    p.truncate = 4.0;
    p.border = (km_border)9;
    cr_assert_eq(km_gaussian_create(ctx, 4, 4, &p, &g), KM_ERR_INVALID);
    cr_assert_str_neq(km_ctx_last_error(ctx), "");
    p.border = KM_BORDER_NEAREST;

    cr_assert_eq(km_gaussian_create(ctx, 4, 4, &p, &g), KM_OK);
    km_frame fi = {buf, 4, 4, 4};
    km_frame_mut fo = {out, 4, 4, 4};
    km_frame wrong = {buf, 4, 5, 5};
    km_frame_mut overlap = {buf + 3, 4, 4, 4};
    km_frame small_stride = {buf, 4, 4, 3};
    km_mask bad_mask = {m, 4, 3, 3};
    cr_assert_eq(km_gaussian_apply(ctx, g, &wrong, NULL, &fo), KM_ERR_INVALID);
    cr_assert_eq(km_gaussian_apply(ctx, g, &fi, NULL, &overlap), KM_ERR_INVALID);
    cr_assert_eq(km_gaussian_apply(ctx, g, &small_stride, NULL, &fo), KM_ERR_INVALID);
    cr_assert_eq(km_gaussian_apply(ctx, g, &fi, &bad_mask, &fo), KM_ERR_INVALID);
    cr_assert_eq(km_gaussian_apply(ctx, NULL, &fi, NULL, &fo), KM_ERR_INVALID);
    cr_assert_eq(km_gaussian_apply(ctx, g, &fi, NULL, &fo), KM_OK);
    km_gaussian_free(g);
    km_gaussian_free(NULL);
}

/* ------------------------------------------------- recursive Gaussian */

Test(dsp, recursive_constant_stays_constant_and_mask_consistent)
{
    enum { R = 23, C = 17 };
    float in[R * C], a[R * C], b[R * C];
    uint8_t m[R * C];
    uint32_t s = 9;
    memset(m, 1, sizeof m);
    for (int mode = KM_BORDER_NEAREST; mode <= KM_BORDER_WRAP; mode++) {
        km_gaussian_params p;
        km_gaussian_params_default(&p);
        p.recursive = 1;
        p.sigma_rows = 6.0; /* wider than the frame along rows */
        p.sigma_cols = 2.0;
        p.border = (km_border)mode;
        p.cval = 12.0;
        for (int i = 0; i < R * C; i++)
            in[i] = 12.0f;
        cr_assert_eq(smooth(in, R, C, &p, NULL, a), KM_OK);
        for (int i = 0; i < R * C; i++)
            cr_assert_float_eq(a[i], 12.0f, 12.0f * 1e-5f, "mode %d: %g", mode, a[i]);
        ones_mask_changes_nothing(in, R, C, &p, m, a, b, &s, mode);
    }
}

Test(dsp, recursive_impulse_close_to_the_gaussian)
{
    enum { R = 101, C = 101 };
    static float in[R * C], out[R * C];
    double w[64], sum = 0.0;
    km_gaussian_params p;
    km_gaussian_params_default(&p);
    p.recursive = 1;
    p.sigma_rows = p.sigma_cols = 6.0;
    p.border = KM_BORDER_CONSTANT;
    in[50 * C + 50] = 1.0f;
    cr_assert_eq(smooth(in, R, C, &p, NULL, out), KM_OK);
    for (int i = 0; i < R * C; i++)
        sum += out[i];
    cr_assert_float_eq(sum, 1.0, 1e-4);
    /* Young-van Vliet 1995 at sigma 6, per axis: 0.5 % low at the centre,
     * 4.3 % low one sigma out (measured with scipy.signal.lfilter on the
     * same recursion) */
    ref_kernel(6.0, 24, w);
    cr_assert_float_eq(out[50 * C + 50], w[24] * w[24], 0.02 * w[24] * w[24]);
    cr_assert_float_eq(out[50 * C + 56], w[24] * w[30], 0.06 * w[24] * w[30]);
    cr_assert_lt(out[50 * C + 56], w[24] * w[30]);
}

Test(dsp, recursive_rejects_tiny_sigma)
{
    km_gaussian *g = NULL;
    km_gaussian_params p;
    km_gaussian_params_default(&p);
    p.recursive = 1;
    p.sigma_rows = 0.3;
    cr_assert_eq(km_gaussian_create(ctx, 8, 8, &p, &g), KM_ERR_INVALID);
    p.sigma_rows = 0.0; /* off along rows is fine */
    cr_assert_eq(km_gaussian_create(ctx, 8, 8, &p, &g), KM_OK);
    km_gaussian_free(g);
    p.recursive = 2;
    cr_assert_eq(km_gaussian_create(ctx, 8, 8, &p, &g), KM_ERR_INVALID);
}

static uint32_t gather_lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* The bad-taxel warm-up's gather of usable values (AVX2 eight at a time
 * where all eight are taken) packs the plain form's values in its order:
 * lengths 1-40 and 100 (blocks and tails), with and without a previous
 * frame, blocks all usable (the fast path) and blocks with a masked,
 * NaN, infinite or nonzero-but-not-1 mask byte; signed zeros. */
Test(dsp, gather_usable_same_values_as_the_plain_form)
{
    uint32_t s = 77u;
    size_t fast = 0, total = 0;
    for (size_t len = 1; len <= 41; len++) {
        size_t n = len == 41 ? 100 : len;
        for (int trial = 0; trial < 40; trial++) {
            float f[101], prev[101], out[101], ref[101];
            uint8_t mask[101];
            uint32_t rate = (uint32_t)trial % 4u; /* 0: every taxel usable */
            for (size_t k = 0; k < n; k++) {
                uint32_t a = gather_lcg(&s) % 64u, b = gather_lcg(&s) % 64u;
                f[k] = rate && a == 0 ? NAN : rate && a == 1 ? INFINITY : a == 2 ? -0.0f
                       : (float)(int32_t)(gather_lcg(&s) % 1000u) / 7.0f - 50.0f;
                prev[k] = rate && b == 0 ? -INFINITY : b == 1 ? 0.0f
                          : (float)(int32_t)(gather_lcg(&s) % 1000u) / 9.0f;
                mask[k] = rate && gather_lcg(&s) % (8u * rate) == 0 ? 0 : 1;
                if (rate == 3 && gather_lcg(&s) % 16u == 0)
                    mask[k] = 7;
            }
            for (int with_prev = 0; with_prev < 2; with_prev++) {
                const float *p = with_prev ? prev : NULL;
                size_t m = km_gather_usable(mask, f, p, n, out);
                size_t mr = km_gather_usable_plain(mask, f, p, n, ref, 0, 0);
                cr_assert_eq(m, mr, "n %zu trial %d prev %d: %zu values, expected %zu", n,
                             trial, with_prev, m, mr);
                cr_assert(memcmp(out, ref, m * sizeof *out) == 0, "n %zu trial %d prev %d", n,
                          trial, with_prev);
                fast += rate == 0 && n >= 8;
                total++;
            }
        }
    }
    cr_assert(fast > 100 && total > 1000, "fast %zu of %zu", fast, total);
}
