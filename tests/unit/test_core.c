/* Core: context, status, version, errors, allocator hooks. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "knotmap.h"

Test(core, version_matches_header)
{
    char expect[64];
    snprintf(expect, sizeof expect, "%d.%d.%d", KM_VERSION_MAJOR, KM_VERSION_MINOR, KM_VERSION_PATCH);
    cr_assert_str_eq(km_version_string(), expect);
    cr_assert_str_eq(km_version_string(), KM_VERSION_STRING);
    cr_assert_eq(km_version_number(), KM_VERSION_MAJOR * 10000 + KM_VERSION_MINOR * 100 + KM_VERSION_PATCH);
}

Test(core, free_null_is_noop)
{
    km_ctx_free(NULL);
    km_reader_free(NULL);
    km_gaussian_free(NULL);
    km_detector_free(NULL);
    cr_assert_str_eq(km_ctx_last_error(NULL), "");
}

Test(core, strerror_every_status_is_distinct)
{
    for (int a = 0; a >= KM_ERR_INTERNAL; a--) {
        cr_assert_not_null(km_strerror((km_status)a));
        for (int b = a - 1; b >= KM_ERR_INTERNAL; b--)
            cr_assert_str_neq(km_strerror((km_status)a), km_strerror((km_status)b));
    }
    cr_assert_str_eq(km_strerror((km_status)-999), "unknown status");
}

Test(core, error_detail_and_prefix)
{
    km_ctx *ctx = NULL;
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    cr_assert_str_eq(km_ctx_last_error(ctx), "");
    cr_assert_eq(km_fail(ctx, KM_ERR_FORMAT, "line %d: bad", 12), KM_ERR_FORMAT);
    km_error_prefix(ctx, "a.csv");
    cr_assert_str_eq(km_ctx_last_error(ctx), "a.csv: line 12: bad");
    cr_assert_eq(km_ctx_last_status(ctx), KM_ERR_FORMAT);
    km_ctx_clear_error(ctx);
    cr_assert_str_eq(km_ctx_last_error(ctx), "");
    cr_assert_eq(km_ctx_last_status(ctx), KM_OK);
    km_ctx_free(ctx);
}

Test(core, last_errno_kept_for_os_failures_only)
{
    km_ctx *ctx = NULL;
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    cr_assert_eq(km_ctx_last_errno(ctx), 0);
    errno = ENOENT;
    km_fail(ctx, KM_ERR_NOT_FOUND, "x: %s", strerror(ENOENT));
    cr_assert_eq(km_ctx_last_errno(ctx), ENOENT);
    errno = EACCES;
    km_fail(ctx, KM_ERR_FORMAT, "x: line 1: bad");
    cr_assert_eq(km_ctx_last_errno(ctx), 0);
    errno = ENOSPC;
    km_fail(ctx, KM_ERR_IO, "x: %s", strerror(ENOSPC));
    km_ctx_clear_error(ctx);
    cr_assert_eq(km_ctx_last_errno(ctx), 0);
    cr_assert_eq(km_ctx_last_errno(NULL), 0);
    km_ctx_free(ctx);
}

/* Session 48: errno is kept only when it is the failure's own (the detail
   carries its text, or km_fail_errno names it); b2c6910 kept any errno of an
   OS-level status, a stale one included, and "in use" had none. */
Test(core, last_errno_is_the_failures_own)
{
    km_ctx *ctx = NULL;
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    errno = EACCES; /* left by some earlier call */
    km_fail(ctx, KM_ERR_IO, "x: cannot write the table");
    cr_assert_eq(km_ctx_last_errno(ctx), 0);
    errno = 0;
    km_fail_errno(ctx, KM_ERR_IO, EWOULDBLOCK, "x: in use");
    cr_assert_eq(km_ctx_last_errno(ctx), EWOULDBLOCK);
    cr_assert_str_eq(km_ctx_last_error(ctx), "x: in use");
    km_fail_errno(ctx, KM_ERR_FORMAT, EWOULDBLOCK, "x: line 1: bad");
    cr_assert_eq(km_ctx_last_errno(ctx), 0); /* not an OS-level status */
    km_ctx_free(ctx);
}

/* The batch's tally line: the words the CLI and knotmap.batch print. */
Test(core, batch_tally_words_and_cut)
{
    const char *in[4] = {"a.h5", "b.txt", "r.knotmap.h5", "c.csv"};
    const signed char oc[4] = {KM_BATCH_RAN, KM_BATCH_FAILED, KM_BATCH_SKIPPED, KM_BATCH_FAILED};
    const char *want = "1 of 4 inputs processed (results in out); 2 failed, said above: b.txt, "
                       "c.csv; 1 skipped (a knotmap result, not a session)";
    char buf[256], small[10];
    cr_assert_eq(km_batch_tally(NULL, 0, in, oc, 4, "out"), strlen(want));
    cr_assert_eq(km_batch_tally(buf, sizeof buf, in, oc, 4, "out"), strlen(want));
    cr_assert_str_eq(buf, want);
    cr_assert_eq(km_batch_tally(small, sizeof small, in, oc, 4, "out"), strlen(want));
    cr_assert_str_eq(small, "1 of 4 in");
    const signed char all[4] = {0, 0, 0, 0};
    cr_assert_eq(km_batch_tally(buf, sizeof buf, in, all, 4, "out"), 0);
    cr_assert_str_eq(buf, "");
    cr_assert_eq(km_batch_tally(buf, sizeof buf, in, oc, 1, NULL), 0); /* one input */
    const signed char none[2] = {KM_BATCH_FAILED, KM_BATCH_FAILED};
    km_batch_tally(buf, sizeof buf, in, none, 2, NULL);
    cr_assert_str_eq(buf, "0 of 2 inputs processed; 2 failed, said above: a.h5, b.txt");
}

Test(core, cancel_flag)
{
    km_ctx *ctx = NULL;
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    cr_assert_eq(km_ctx_cancelled(ctx), 0);
    km_ctx_cancel(ctx);
    km_ctx_clear_error(ctx);
    cr_assert_eq(km_ctx_cancelled(ctx), 1);
    km_ctx_reset_cancel(ctx);
    cr_assert_eq(km_ctx_cancelled(ctx), 0);
    km_ctx_free(ctx);
}

static size_t g_allocs, g_frees;
static void *count_alloc(void *opaque, size_t n) { (void)opaque; g_allocs++; return malloc(n); }
static void count_free(void *opaque, void *p) { (void)opaque; if (p) g_frees++; free(p); }

Test(core, allocator_hooks_are_used_and_balanced)
{
    km_allocator a = {count_alloc, count_free, NULL};
    km_ctx *ctx = NULL;
    g_allocs = g_frees = 0;
    cr_assert_eq(km_ctx_create_with(&a, &ctx), KM_OK);
    void *p = km_alloc(ctx, 100);
    cr_assert_not_null(p);
    km_free(ctx, p);
    km_ctx_free(ctx);
    cr_assert_eq(g_allocs, 2);
    cr_assert_eq(g_frees, 2);
    km_allocator bad = {count_alloc, NULL, NULL};
    cr_assert_eq(km_ctx_create_with(&bad, &ctx), KM_ERR_INVALID);
    cr_assert_null(ctx);
    cr_assert_eq(km_ctx_create(NULL), KM_ERR_INVALID);
}

Test(core, size_arithmetic_and_shape_caps)
{
    size_t out = 0;
    cr_assert_eq(km_size_mul(3, 5, &out), 1);
    cr_assert_eq(out, 15);
    cr_assert_eq(km_size_mul(SIZE_MAX / 2 + 1, 2, &out), 0);
    km_ctx *ctx = NULL;
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    cr_assert_eq(km_check_shape(ctx, 64, 32, "grid"), KM_OK);
    cr_assert_eq(km_check_shape(ctx, 0, 32, "grid"), KM_ERR_INVALID);
    cr_assert_eq(km_check_shape(ctx, KM_MAX_DIM + 1, 1, "grid"), KM_ERR_LIMIT);
    cr_assert_eq(km_check_shape(ctx, 8192, 8192, "grid"), KM_ERR_LIMIT);
    cr_assert(strstr(km_ctx_last_error(ctx), "8192x8192") != NULL);
    km_ctx_free(ctx);
}

/* km_select_kth_bf against a sort: every length 1..80 with every rank,
 * longer ones (to 700: past the insertion finish, several rounds) at
 * random ranks; values from a few (ties, both zeros: the equal block) to
 * many (no ties), and non-negative ones, where the bits must be the
 * sort's (the noise's changes are |x - y|).  v must come out a
 * permutation of the input, partitioned about k. */
static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

enum { SEL_MAXN = 4200 };

/* n values of one kind (0: span 3, 1: span 40, 2: wide, 3: |wide|) into in. */
static void selection_input(float *in, size_t n, int kind, uint32_t *s)
{
    for (size_t i = 0; i < n; i++) {
        *s = *s * 1664525u + 1013904223u;
        int span = kind == 0 ? 3 : kind == 1 ? 40 : 1 << 20;
        int x = (int)((*s >> 8) % (uint32_t)span) - span / 2;
        float f = x == 0 && (*s & 1u) && kind < 2 ? -0.0f : (float)x * 0.37f;
        in[i] = kind == 3 ? fabsf(f) : f;
    }
}

/* km_select_kth_bf(in, n, k) is sorted[k] (its bits too when bits), and
 * leaves a permutation of in partitioned about k. */
static void check_selection(const float *in, const float *sorted, size_t n, size_t k, int bits,
                            int trial)
{
    static float v[SEL_MAXN], back[SEL_MAXN];
    memcpy(v, in, n * sizeof *in);
    float a = km_select_kth_bf(v, n, k);
    cr_assert(a == sorted[k], "trial %d n %zu k %zu: %g against %g", trial, n, k, (double)a,
              (double)sorted[k]);
    if (bits)
        cr_assert(memcmp(&a, &sorted[k], sizeof a) == 0, "trial %d: bits", trial);
    cr_assert(v[k] == a);
    for (size_t i = 0; i < n; i++)
        cr_assert(i < k ? v[i] <= a : i > k ? v[i] >= a : 1, "trial %d n %zu k %zu: v[%zu]", trial,
                  n, k, i);
    memcpy(back, v, n * sizeof *v);
    qsort(back, n, sizeof *back, cmp_float);
    for (size_t i = 0; i < n; i++)
        cr_assert(back[i] == sorted[i], "trial %d: not a permutation", trial);
}

Test(core, branchless_selection_is_the_sort)
{
    enum { MAXN = 700 };
    static float in[MAXN], sorted[MAXN];
    uint32_t s = 777u;
    for (int trial = 0; trial < 6000; trial++) {
        size_t n = trial < 3240 ? 1 + (size_t)(trial / 40) % 80 : 1 + (size_t)(trial % MAXN);
        int kind = trial % 4;
        selection_input(in, n, kind, &s);
        memcpy(sorted, in, n * sizeof *in);
        qsort(sorted, n, sizeof *sorted, cmp_float);
        size_t nk = n <= 80 ? n : 3;
        for (size_t r = 0; r < nk; r++) {
            s = s * 1664525u + 1013904223u;
            size_t k = n <= 80 ? r : (size_t)(s >> 8) % n;
            check_selection(in, sorted, n, k, kind == 3, trial);
        }
    }
}

/* The same on the lengths where the partitions change hands: a multiple of
 * eight and one to seven past it (the AVX2 partitions' last values one by
 * one), around 2048 (longer ranges start with the plain partitions) and
 * past 4096; the extreme ranks and the percentiles the bad-taxel warm-up
 * asks for (10th, 50th, 95th, 99th) with the random ones. */
Test(core, branchless_selection_long_ranges_are_the_sort)
{
    static float in[SEL_MAXN], sorted[SEL_MAXN];
    static const size_t lens[] = {17, 23, 24, 25, 31, 32, 33, 1023, 1024, 1025, 1031,
                                  2040, 2047, 2048, 2049, 2055, 2056, 2057, 4095, 4103, 4200};
    uint32_t s = 4242u;
    int trial = 0;
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
        for (int kind = 0; kind < 4; kind++, trial++) {
            size_t n = lens[li];
            selection_input(in, n, kind, &s);
            memcpy(sorted, in, n * sizeof *in);
            qsort(sorted, n, sizeof *sorted, cmp_float);
            s = s * 1664525u + 1013904223u;
            size_t ks[7] = {0, n - 1, n / 10, n / 2, (n - 1) * 95 / 100, (n - 1) * 99 / 100,
                            (size_t)(s >> 8) % n};
            for (size_t r = 0; r < 7; r++)
                check_selection(in, sorted, n, ks[r], kind == 3, trial);
        }
}

/* km_min_positive_f is the plain loop's minimum over the values above 0:
 * every length 0..40 (the four-wide part and its last 0-3 one by one),
 * zeros of both signs, negatives, +inf and subnormals; +inf when none. */
Test(core, min_positive_is_the_plain_minimum)
{
    static const float pool[] = {0.0f, -0.0f, -1.5f, 3.0f, 0.25f, INFINITY, 1e-40f, 7.0f, -INFINITY};
    float v[40];
    uint32_t s = 99u;
    for (int trial = 0; trial < 4000; trial++) {
        size_t n = (size_t)trial % 41;
        float want = INFINITY;
        for (size_t i = 0; i < n; i++) {
            s = s * 1664525u + 1013904223u;
            v[i] = pool[(s >> 8) % (sizeof pool / sizeof pool[0])] * (1.0f + (float)(s >> 28));
            if (v[i] > 0.0f && v[i] < want)
                want = v[i];
        }
        float got = km_min_positive_f(v, n);
        cr_assert(memcmp(&got, &want, sizeof got) == 0, "trial %d n %zu: %g against %g", trial, n,
                  (double)got, (double)want);
    }
}

/* km_select_kth_f leaves v partitioned about k (what km_select_above_f
 * relies on), and percentiles picked in turn above the last one are the
 * values a sort puts there: random arrays with many ties and both zeros. */
Test(core, selection_partitions_and_selects_above)
{
    enum { MAXN = 300 };
    float v[MAXN], sorted[MAXN];
    uint32_t s = 12345u;
    for (int trial = 0; trial < 3000; trial++) {
        size_t n = 1 + (size_t)(trial % MAXN);
        int span = 1 + trial % 40;
        for (size_t i = 0; i < n; i++) {
            s = s * 1664525u + 1013904223u;
            int x = (int)((s >> 8) % (uint32_t)span) - span / 2;
            v[i] = x == 0 && (s & 1u) ? -0.0f : (float)x;
            sorted[i] = v[i];
        }
        for (size_t i = 1; i < n; i++) /* insertion sort: the reference */
            for (size_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
                float t = sorted[j];
                sorted[j] = sorted[j - 1];
                sorted[j - 1] = t;
            }
        size_t k1 = n / 10, k2 = (n - 1) * 95 / 100, k3 = (n - 1) * 99 / 100;
        float a = km_select_kth_f(v, n, k1);
        cr_assert(a == sorted[k1]);
        for (size_t i = 0; i < n; i++)
            cr_assert(i < k1 ? v[i] <= a : i > k1 ? v[i] >= a : 1, "trial %d: v[%zu]", trial, i);
        float b = km_select_above_f(v, n, k1, k2);
        cr_assert(b == sorted[k2], "trial %d: %g against %g", trial, (double)b, (double)sorted[k2]);
        float c = km_select_above_f(v, n, k2, k3);
        cr_assert(c == sorted[k3], "trial %d: %g against %g", trial, (double)c, (double)sorted[k3]);
    }
}

/* km_assumed_combined (public): the line that names two or more of pitch, rate, units and
 * mode; the other names left to say one by one, in order; a list that repeats a name (a
 * caller's own km_session_info) stays inside the sentence's table (ASan: a stack
 * overflow before the bound; session 40). */
Test(core, assumed_combined_names_each_and_leaves_the_rest)
{
    km_session_info in;
    char buf[512], rest[96];
    memset(&in, 0, sizeof in);
    snprintf(in.assumed, sizeof in.assumed, "row_pitch_mm,col_pitch_mm,time_axis,units");
    cr_assert_eq(km_assumed_combined(&in, buf, sizeof buf, rest, sizeof rest), 3);
    cr_assert_str_eq(rest, "time_axis");
    cr_assert_str_eq(buf, "no row pitch, column pitch or units knotmap knows in the file: assuming "
                          "1 mm, 1 mm and raw counts (pass --pitch MM or RxC, --units kPa|mmHg|N/cm2|psi|Pa|MPa)");
    snprintf(in.assumed, sizeof in.assumed, "units,sensor");
    cr_assert_eq(km_assumed_combined(&in, buf, sizeof buf, rest, sizeof rest), 0);
    cr_assert_str_eq(buf, "");
    cr_assert_str_eq(rest, "units,sensor");
    snprintf(in.assumed, sizeof in.assumed, "mode");
    while (strlen(in.assumed) + 6 < sizeof in.assumed)
        strcat(in.assumed, ",mode");
    size_t n = km_assumed_combined(&in, buf, sizeof buf, rest, sizeof rest);
    cr_assert(n >= 2 && n < 32, "%zu", n);
    cr_assert(strncmp(buf, "no acquisition mode, acquisition mode", 37) == 0, "%s", buf);
    cr_assert_str_eq(rest, "");
}
