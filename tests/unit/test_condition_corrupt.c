/* The corrupt-frame test (src/pipeline/condition_stages.c, corrupt_decide)
 * against its definition, docs/ALGORITHMS.md 11.2, computed here by
 * sorting: frame j is corrupt when its total s > 0 and s > corrupt_ratio
 * times the median of the loaded totals (> 0) among the corrupt_window
 * frames centred on it, the stream's first and last totals repeated beyond
 * its ends, the upper of the two middle totals when their count is even. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "knotmap.h"

static km_ctx *ctx;

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
}

static void teardown(void)
{
    km_ctx_free(ctx);
}

TestSuite(condition_corrupt, .init = setup, .fini = teardown);

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The definition's flag for every frame of totals tot[0, n). */
static void corrupt_by_definition(const double *tot, int64_t n, int w, double r, int *flag)
{
    double win[256];
    int h = w / 2;
    for (int64_t j = 0; j < n; j++) {
        int k = 0;
        for (int d = -h; d <= h; d++) {
            int64_t q = j + d < 0 ? 0 : j + d >= n ? n - 1 : j + d;
            if (tot[q] > 0.0)
                win[k++] = tot[q];
        }
        qsort(win, (size_t)k, sizeof *win, cmp_double);
        flag[j] = tot[j] > 0.0 && k > 0 && tot[j] > r * win[k / 2];
    }
}

/* Frames of one loaded taxel (the rest 0) whose totals come from a few
 * levels (ties, empty frames, totals at exactly 4 and 2.5 times others and
 * one ulp above), windows of 3, 5 and 9 and ratios 4 and 2.5, pushed in
 * blocks of 5: the conditioner flags exactly the frames the definition
 * does.  With the median one rank too high (mutation: k / 2 + 2 totals
 * below) or too low (k / 2) the flags differ. */
Test(condition_corrupt, flags_follow_the_median_rule)
{
    static const float level[] = {0.0f, 1.0f, 1.0f, 2.0f, 2.5f, 4.0f, 4.0000005f, 6.25f, 10.0f,
                                  16.0f, 16.000002f, 40.0f, 64.0f, 100.0f};
    enum { R = 2, C = 3, N = 400 };
    km_session_info info;
    memset(&info, 0, sizeof info);
    info.rows = R;
    info.cols = C;
    info.n_frames = N;
    info.frame_rate_hz = 100.0;
    info.row_pitch_mm = info.col_pitch_mm = 10.0;
    uint8_t mask[R * C];
    memset(mask, 1, sizeof mask);
    float *frames = calloc((size_t)N * R * C, sizeof *frames), *out = malloc(64 * R * C * 4);
    double tot[N], *times = malloc(N * sizeof *times), ot[64];
    uint32_t flags[N], of[64];
    int want[N], flagged = 0;
    uint32_t s = 2024u;
    cr_assert(frames != NULL && out != NULL && times != NULL);
    for (int i = 0; i < N; i++) {
        s = s * 1664525u + 1013904223u;
        /* runs of one level, so that medians meet the boundary often */
        int lv = (int)((s >> 16) % (sizeof level / sizeof level[0]));
        frames[(size_t)i * R * C + 4] = i > 0 && (s >> 8) % 3 != 0 ? frames[(size_t)(i - 1) * R * C + 4]
                                                                  : level[lv];
        tot[i] = frames[(size_t)i * R * C + 4];
        times[i] = i / 100.0;
    }
    static const int windows[] = {3, 5, 9};
    static const double ratios[] = {4.0, 2.5};
    for (int wi = 0; wi < 3; wi++)
        for (int ri = 0; ri < 2; ri++) {
            km_condition_params cp;
            km_condition_params_default(&cp);
            cp.corrupt_window = windows[wi];
            cp.corrupt_ratio = ratios[ri];
            km_conditioner *c = NULL;
            cr_assert_eq(km_conditioner_create(ctx, &info, mask, &cp, NULL, NULL, &c), KM_OK, "%s",
                         km_ctx_last_error(ctx));
            int64_t n = 0;
            for (int i = 0; i <= N; i += 5) {
                if (i < N)
                    cr_assert_eq(km_conditioner_push(ctx, c, frames + (size_t)i * R * C, times + i,
                                                     N - i < 5 ? N - i : 5), KM_OK);
                else
                    cr_assert_eq(km_conditioner_finish(ctx, c), KM_OK);
                for (int64_t got = 1; got > 0;) {
                    km_conditioner_pull(c, out, ot, of, 64, &got);
                    cr_assert_leq(n + got, N);
                    for (int64_t k = 0; k < got; k++)
                        flags[n + k] = of[k];
                    n += got;
                }
            }
            cr_assert_eq(n, N);
            km_conditioner_free(c);
            corrupt_by_definition(tot, N, windows[wi], ratios[ri], want);
            for (int i = 0; i < N; i++) {
                cr_assert_eq((flags[i] & KM_FRAME_CORRUPT) != 0, want[i] != 0,
                             "window %d ratio %g: frame %d (total %.9g) flagged %d, definition %d",
                             windows[wi], ratios[ri], i, tot[i], (flags[i] & KM_FRAME_CORRUPT) != 0,
                             want[i]);
                flagged += want[i];
            }
        }
    cr_assert_gt(flagged, 20, "only %d corrupt frames: the boundary is not met", flagged);
    free(frames);
    free(out);
    free(times);
}
