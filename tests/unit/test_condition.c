/* Conditioning chain: streaming equals whole-signal processing, corrupt
 * frames (PhysioNet), dead/stuck taxels (synthetic truth), the Tekscan
 * calibration model on the real F-Scan fixture, resampling, filling. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "knotmap.h"
#include "pipeline/condition.h"
#include "pipeline/condition_internal.h"
#include "test_util.h"

#define FSCAN KM_DATASETS "/real/tekscan_fscan/FrasP01L.asf"
#define PMD KM_DATASETS "/real/physionet_pmd/experiment-i/S1/1.txt"

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

TestSuite(condition, .init = setup, .fini = teardown);

/* A whole session in memory. */
typedef struct session {
    km_session_info info;
    uint8_t *mask;
    float *frames;
    double *times;
    int64_t n;
} session;

static void session_free(session *s)
{
    free(s->mask);
    free(s->frames);
    free(s->times);
}

static void read_all(const char *path, const km_read_options *opt, session *s)
{
    km_reader *r = NULL;
    memset(s, 0, sizeof *s);
    cr_assert_eq(km_reader_open(ctx, path, opt, &r), KM_OK, "%s", km_ctx_last_error(ctx));
    km_reader_info(r, &s->info);
    size_t rc = (size_t)s->info.rows * (size_t)s->info.cols;
    int64_t cap = 64;
    s->frames = malloc((size_t)cap * rc * sizeof(float));
    s->times = malloc((size_t)cap * sizeof(double));
    s->mask = malloc(rc);
    memcpy(s->mask, km_reader_mask(r), rc);
    for (;;) {
        int64_t got = 0;
        if (s->n + 16 > cap) {
            cap *= 2;
            s->frames = realloc(s->frames, (size_t)cap * rc * sizeof(float));
            s->times = realloc(s->times, (size_t)cap * sizeof(double));
        }
        cr_assert_eq(km_reader_read(ctx, r, s->frames + (size_t)s->n * rc, s->times + s->n, 16,
                                    &got),
                     KM_OK, "%s", km_ctx_last_error(ctx));
        if (got == 0)
            break;
        s->n += got;
    }
    km_reader_free(r);
}

static void synth_session(km_synth_difficulty d, double duration, session *s, km_synth **keep)
{
    km_synth_params sp;
    km_synth *syn = NULL;
    memset(s, 0, sizeof *s);
    km_synth_params_default(&sp);
    km_synth_preset(&sp, d);
    sp.duration_s = duration;
    cr_assert_eq(km_synth_create(ctx, &sp, &syn), KM_OK, "%s", km_ctx_last_error(ctx));
    km_synth_info(syn, &s->info);
    size_t rc = (size_t)s->info.rows * (size_t)s->info.cols;
    s->n = s->info.n_frames;
    s->frames = malloc((size_t)s->n * rc * sizeof(float));
    s->times = malloc((size_t)s->n * sizeof(double));
    s->mask = malloc(rc);
    memcpy(s->mask, km_synth_mask(syn), rc);
    int64_t got = 0;
    cr_assert_eq(km_synth_frames(ctx, syn, s->frames, s->times, s->n, &got), KM_OK);
    cr_assert_eq(got, s->n);
    if (keep != NULL)
        *keep = syn;
    else
        km_synth_free(syn);
}

/* Condition a session pushed in blocks of `block`; returns frames, times
 * and flags (caller frees) and the count. */
typedef struct conditioned {
    float *frames;
    double *times;
    uint32_t *flags;
    int64_t n;
    uint8_t *mask;
    int32_t n_bad;
} conditioned;

/* Room for `more` frames at the output's end. */
static void grow(conditioned *o, size_t rc, int64_t *cap, int64_t more)
{
    if (o->n + more > *cap) {
        *cap = *cap * 2 + more;
        o->frames = realloc(o->frames, (size_t)*cap * rc * sizeof(float));
        o->times = realloc(o->times, (size_t)*cap * sizeof(double));
        o->flags = realloc(o->flags, (size_t)*cap * sizeof(uint32_t));
    }
}

static void drain(km_conditioner *c, conditioned *o, size_t rc, int64_t *cap)
{
    for (;;) {
        grow(o, rc, cap, 64);
        int64_t got = 0;
        km_conditioner_pull(c, o->frames + (size_t)o->n * rc, o->times + o->n, o->flags + o->n,
                            64, &got);
        if (got == 0)
            break;
        o->n += got;
    }
}

/* > 0: before each push, km_conditioner_direct into the output's end
 * with this many places (at most 64), and after it one pull of up to 64
 * (frames left in the queue until the end: the next push's frames must
 * queue behind them).  direct_alias: the push's frames are first copied
 * to those places and pushed from there (the engine's one thread reads
 * into its block), up to 64 of them direct. */
static int64_t direct_cap = 0;
static int direct_alias = 0;

static void condition(const session *s, const km_condition_params *cp,
                      const km_calib_params *calib, const km_gaussian_params *g, int64_t block,
                      conditioned *o)
{
    km_conditioner *c = NULL;
    size_t rc = (size_t)s->info.rows * (size_t)s->info.cols;
    int64_t cap = 0;
    memset(o, 0, sizeof *o);
    cr_assert_eq(km_conditioner_create(ctx, &s->info, s->mask, cp, calib, g, &c), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    for (int64_t i = 0; i < s->n; i += block) {
        int64_t n = s->n - i < block ? s->n - i : block;
        const float *in = s->frames + (size_t)i * rc;
        if (direct_cap > 0) {
            grow(o, rc, &cap, 64 + n);
            float *at = o->frames + (size_t)o->n * rc;
            int64_t places = direct_cap;
            if (direct_alias) {
                memcpy(at, in, (size_t)n * rc * sizeof *at);
                in = at;
                places = n < 64 ? n : 64;
            }
            km_conditioner_direct(c, at, o->times + o->n, o->flags + o->n, places);
        }
        cr_assert_eq(km_conditioner_push(ctx, c, in, s->times + i, n),
                     KM_OK, "%s", km_ctx_last_error(ctx));
        if (direct_cap > 0) {
            int64_t got = 0;
            km_conditioner_pull(c, o->frames + (size_t)o->n * rc, o->times + o->n,
                                o->flags + o->n, 64, &got);
            o->n += got;
            continue;
        }
        drain(c, o, rc, &cap);
    }
    cr_assert_eq(km_conditioner_finish(ctx, c), KM_OK, "%s", km_ctx_last_error(ctx));
    drain(c, o, rc, &cap);
    o->mask = malloc(rc);
    memcpy(o->mask, km_conditioner_mask(c), rc);
    o->n_bad = km_conditioner_n_bad(c);
    km_conditioner_free(c);
}

static void conditioned_free(conditioned *o)
{
    free(o->frames);
    free(o->times);
    free(o->flags);
    free(o->mask);
}

/* Everything on: the same session through blocks of 1, 7 and 4096 frames
 * gives bit-identical frames, times and flags. */
/* The chain's masked fill and copy (km_cond_mask_copy): the AVX2 form
 * against the plain loop, bit for bit, out of place and in place, fills 0
 * and NaN, NaN and infinite values in the frame, every length up to 100
 * (the eight-wide blocks and the tail) and random masks, all-masked and
 * unmasked; the bytes past n untouched. */
Test(condition, mask_copy_avx2_matches_plain_loop)
{
    enum { N = 100, PAD = 8 };
    static float src[N + PAD], a[N + PAD], b[N + PAD];
    static uint8_t mask[N + PAD];
    const float fills[] = {0.0f, NAN};
    srand(99);
    for (size_t n = 0; n <= N; n++) {
        for (int kind = 0; kind < 6; kind++) {
            float fill = fills[kind % 2];
            for (size_t k = 0; k < N + PAD; k++) {
                src[k] = k % 11 == 3 ? NAN : k % 13 == 5 ? -INFINITY : (float)(rand() % 1000) - 300.0f;
                mask[k] = kind < 2 ? (uint8_t)(rand() % 3 != 0) : kind < 4 ? (uint8_t)(kind & 1) : (uint8_t)(rand() % 256);
                a[k] = b[k] = -7.0f;
            }
            km_cond_mask_copy(a, src, mask, n, fill, 0);
            for (size_t k = 0; k < N + PAD; k++) {
                float want = k >= n ? -7.0f : mask[k] ? src[k] : fill;
                cr_assert(memcmp(&a[k], &want, sizeof want) == 0, "plain: n %zu, taxel %zu", n, k);
            }
            if (km_cpu_avx2()) {
                km_cond_mask_copy(b, src, mask, n, fill, 1);
                cr_assert(memcmp(a, b, sizeof a) == 0, "avx2: n %zu, kind %d", n, kind);
                memcpy(b, src, sizeof b);
                km_cond_mask_copy(b, b, mask, n, fill, 1);
                for (size_t k = n; k < N + PAD; k++)
                    a[k] = src[k];
                cr_assert(memcmp(a, b, sizeof a) == 0, "avx2 in place: n %zu, kind %d", n, kind);
            }
        }
    }
}

Test(condition, streaming_equals_whole)
{
    session s;
    synth_session(KM_SYNTH_HARD, 6.0, &s, NULL);
    size_t rc = (size_t)s.info.rows * (size_t)s.info.cols;
    /* Jitter the clock and plant a corrupt frame so that every stage works. */
    for (int64_t i = 1; i < s.n; i++)
        s.times[i] += 0.003 * sin(1.7 * (double)i);
    for (size_t k = 0; k < rc / 2; k++)
        s.frames[(size_t)300 * rc + k] = 4000.0f;
    km_condition_params cp;
    km_condition_params_default(&cp);
    cp.resample_hz = 125.0;
    cp.tare_frames = 20;
    cp.detect_bad = 1;
    cp.warmup_frames = 150;
    cp.fill_bad = 1;
    cp.lowpass_hz = 10.0;
    cp.highpass_hz = 0.2;
    cp.notch_hz = 50.0;
    cp.notch_harmonics = 1;
    cp.median_frames = 5;
    cp.dog_sigma = 3.0;
    km_gaussian_params g;
    km_gaussian_params_default(&g);
    g.sigma_rows = g.sigma_cols = 1.0;
    km_calib_params cal;
    km_calib_params_default(&cal);
    cal.gain = 1.5;

    conditioned ref, o;
    condition(&s, &cp, &cal, &g, 4096, &ref);
    /* Resampled from 100 Hz to 125 Hz. */
    cr_assert_gt(ref.n, (s.n - 1) * 5 / 4 - 3, "got %lld frames", (long long)ref.n);
    cr_assert_lt(ref.n, (s.n - 1) * 5 / 4 + 3, "got %lld frames", (long long)ref.n);
    cr_assert_gt(ref.n_bad, 0);
    int corrupt = 0;
    for (int64_t i = 0; i < ref.n; i++)
        corrupt += (ref.flags[i] & KM_FRAME_CORRUPT) != 0;
    /* Output frames interpolated from the corrupt input frame carry its flag. */
    cr_assert(corrupt >= 1 && corrupt <= 3, "corrupt frames flagged: %d", corrupt);
    const int64_t blocks[] = {1, 7};
    for (int b = 0; b < 2; b++) {
        condition(&s, &cp, &cal, &g, blocks[b], &o);
        cr_assert_eq(o.n, ref.n, "block %lld", (long long)blocks[b]);
        cr_assert_eq(memcmp(o.frames, ref.frames, (size_t)ref.n * rc * sizeof(float)), 0,
                     "block %lld: frames differ", (long long)blocks[b]);
        cr_assert_eq(memcmp(o.times, ref.times, (size_t)ref.n * sizeof(double)), 0);
        cr_assert_eq(memcmp(o.flags, ref.flags, (size_t)ref.n * sizeof(uint32_t)), 0);
        cr_assert_eq(memcmp(o.mask, ref.mask, rc), 0);
        conditioned_free(&o);
    }
    conditioned_free(&ref);
    session_free(&s);
}

/* km_conditioner_direct (the engine's block written by the push): the
 * same frames, times and flags in the same order as the queue alone, at
 * the defaults (warm-up, corrupt test, NaN at masked taxels) and with
 * every stage, pushed 1, 7 or 300 frames at a time into 1, 5 or 64
 * places (the rest, and all while frames wait in the queue, queued), or
 * pushed from those places (the engine's one thread), a taxel in 37
 * masked. */
Test(condition, direct_output_as_the_queue)
{
    session s;
    synth_session(KM_SYNTH_HARD, 6.0, &s, NULL);
    size_t rc = (size_t)s.info.rows * (size_t)s.info.cols;
    for (size_t k = 0; k < rc / 2; k++)
        s.frames[(size_t)300 * rc + k] = 4000.0f;
    for (size_t k = 5; k < rc; k += 37)
        s.mask[k] = 0; /* NaN there at the output */
    km_condition_params cp[2];
    km_condition_params_default(&cp[0]);
    km_condition_params_default(&cp[1]);
    cp[1].resample_hz = 125.0;
    cp[1].tare_frames = 20;
    cp[1].detect_bad = 1;
    cp[1].fill_bad = 1;
    cp[1].lowpass_hz = 10.0;
    cp[1].median_frames = 5;
    for (int k = 0; k < 2; k++) {
        conditioned ref, o;
        direct_cap = 0;
        condition(&s, &cp[k], NULL, NULL, 64, &ref);
        cr_assert_gt(ref.n, 500);
        const int64_t blocks[] = {1, 7, 300}, caps[] = {1, 5, 64, 64};
        for (int b = 0; b < 3; b++)
            for (int d = 0; d < 4; d++) {
                direct_cap = caps[d];
                direct_alias = d == 3;
                condition(&s, &cp[k], NULL, NULL, blocks[b], &o);
                direct_cap = 0;
                direct_alias = 0;
                cr_assert_eq(o.n, ref.n, "params %d block %lld cap %lld alias %d", k,
                             (long long)blocks[b], (long long)caps[d], d == 3);
                cr_assert_eq(memcmp(o.frames, ref.frames, (size_t)ref.n * rc * sizeof(float)), 0,
                             "params %d block %lld cap %lld alias %d: frames differ", k,
                             (long long)blocks[b], (long long)caps[d], d == 3);
                cr_assert_eq(memcmp(o.times, ref.times, (size_t)ref.n * sizeof(double)), 0);
                cr_assert_eq(memcmp(o.flags, ref.flags, (size_t)ref.n * sizeof(uint32_t)), 0);
                conditioned_free(&o);
            }
        conditioned_free(&ref);
    }
    session_free(&s);
}

/* Output frame k belongs to input frame k: with zero-phase filters only,
 * times pass through unchanged and a constant session stays constant. */
Test(condition, alignment_and_identity)
{
    session s;
    synth_session(KM_SYNTH_EASY, 3.0, &s, NULL);
    km_condition_params cp;
    km_condition_params_default(&cp);
    cp.corrupt_ratio = 0.0;
    cp.lowpass_hz = 20.0;
    cp.median_frames = 3;
    conditioned o;
    condition(&s, &cp, NULL, NULL, 7, &o);
    cr_assert_eq(o.n, s.n);
    for (int64_t i = 0; i < s.n; i++)
        cr_assert_eq(o.times[i], s.times[i]);
    conditioned_free(&o);

    /* Nothing on: the frames come out untouched. */
    km_condition_params_default(&cp);
    cp.corrupt_ratio = 0.0;
    condition(&s, &cp, NULL, NULL, 5, &o);
    size_t rc = (size_t)s.info.rows * (size_t)s.info.cols;
    cr_assert_eq(o.n, s.n);
    cr_assert_eq(memcmp(o.frames, s.frames, (size_t)s.n * rc * sizeof(float)), 0);
    conditioned_free(&o);
    session_free(&s);
}

/* Each calibration and filter stage reaches the frames after the warm-up
 * too (without them the frames go to the output from where they are, with
 * no calibrated copy: condition_stages.c passes_through): a tare, a gain
 * map, the calibration's gain and the curve as their arithmetic on every
 * frame; smoothing, a temporal filter, the fill and a difference of
 * Gaussians change frames. */
Test(condition, every_stage_after_the_warm_up)
{
    session s;
    synth_session(KM_SYNTH_EASY, 3.0, &s, NULL);
    size_t rc = (size_t)s.info.rows * (size_t)s.info.cols;
    float *ones = malloc(rc * sizeof *ones), *twos = malloc(rc * sizeof *twos);
    for (size_t k = 0; k < rc; k++) {
        ones[k] = 1.0f;
        twos[k] = 2.0f;
    }
    s.mask[5] = 0; /* a masked taxel for the fill */
    for (int stage = 0; stage < 8; stage++) {
        km_condition_params cp;
        km_condition_params_default(&cp);
        cp.corrupt_ratio = 0.0;
        km_calib_params cal;
        km_calib_params_default(&cal);
        km_gaussian_params g;
        km_gaussian_params_default(&g);
        cp.tare = stage == 0 ? ones : NULL;
        cp.gain_map = stage == 1 ? twos : NULL;
        cal.gain = stage == 2 ? 2.0 : 1.0;
        cp.curve = stage == 3 ? KM_CURVE_POWER : KM_CURVE_NONE;
        cp.curve_a = 2.0;
        cp.lowpass_hz = stage == 5 ? 20.0 : 0.0;
        cp.fill_bad = stage == 6;
        cp.dog_sigma = stage == 7 ? 2.0 : 0.0;
        conditioned o;
        condition(&s, &cp, &cal, stage == 4 ? &g : NULL, 7, &o);
        cr_assert_eq(o.n, s.n);
        int64_t after = 0, moved = 0;
        for (int64_t i = cp.warmup_frames; i < s.n; i++)
            for (size_t k = 0; k < rc; k++) {
                float in = s.frames[(size_t)i * rc + k], out = o.frames[(size_t)i * rc + k];
                float want = stage == 0 ? in - 1.0f : stage <= 2 ? in * 2.0f : 2.0f * in;
                if (!o.mask[k]) {
                    moved += stage == 6 && !isnan(out);
                    continue;
                }
                if (stage <= 3)
                    cr_assert(out == want, "stage %d frame %lld taxel %zu: %a, want %a", stage,
                              (long long)i, k, (double)out, (double)want);
                moved += out != in;
                after++;
            }
        cr_assert(after > 0 && moved > 0, "stage %d: %lld of %lld taxels changed", stage,
                  (long long)moved, (long long)after);
        /* A filter's output frame with a load is none of the input frames
           (passed through after the warm-up, they would come out shifted). */
        for (int64_t i = cp.warmup_frames; (stage == 4 || stage == 5 || stage == 7) && i < s.n; i++) {
            const float *a = o.frames + (size_t)i * rc;
            size_t k = 0;
            while (k < rc && (!o.mask[k] || a[k] == 0.0f))
                k++;
            for (int64_t j = 0; k < rc && j < s.n; j++) {
                const float *b = s.frames + (size_t)j * rc;
                size_t d = 0;
                while (d < rc && (!o.mask[d] || a[d] == b[d]))
                    d++;
                cr_assert(d < rc, "stage %d: frame %lld is input %lld", stage, (long long)i,
                          (long long)j);
            }
        }
        conditioned_free(&o);
    }
    free(ones);
    free(twos);
    session_free(&s);
}

/* Condition s with the default parameters in blocks of `block`; exactly
 * frame `only` (or none when -1) is flagged corrupt. */
static void condition_corrupt_only(const session *s, int64_t block, int64_t only, conditioned *o)
{
    km_condition_params cp;
    km_condition_params_default(&cp);
    condition(s, &cp, NULL, NULL, block, o);
    cr_assert_eq(o->n, s->n);
    for (int64_t i = 0; i < o->n; i++)
        cr_assert_eq(o->flags[i] & KM_FRAME_CORRUPT, i == only ? KM_FRAME_CORRUPT : 0u,
                     "frame %lld flags %u", (long long)i, o->flags[i]);
}

/* PhysioNet experiment-i S1/1.txt: frame index 1 (hundreds of taxels near
 * 3840) is corrupt, no other frame is (frame 0 is nearly empty, not
 * corrupt). */
Test(condition, physionet_frame1_corrupt)
{
    km_read_options opt;
    km_read_options_default(&opt);
    opt.rows = 64;
    opt.cols = 32;
    opt.frame_rate_hz = 1.0;
    session s;
    read_all(PMD, &opt, &s);
    cr_assert_gt(s.n, 10);
    conditioned o;
    condition_corrupt_only(&s, 3, 1, &o);
    /* The corrupt frame is replaced by the last good one (frame 0). */
    size_t rc = 64 * 32;
    cr_assert_eq(memcmp(o.frames + rc, s.frames, rc * sizeof(float)), 0);
    conditioned_free(&o);
    session_free(&s);
}

/* The real F-Scan walk: the foot leaves the sensor (frames of exact zeros,
 * a quantised sensor) and frames 16-18 keep a heel's last 78-96 raw units
 * among them. No frame is corrupt: the median of a window that is mostly
 * empty is taken over its loaded frames (frame 18 was flagged when it was
 * taken over all nine, the median then 0). */
Test(condition, fscan_walk_no_frame_corrupt)
{
    session s;
    read_all(FSCAN, NULL, &s);
    cr_assert_gt(s.n, 30);
    conditioned o;
    condition_corrupt_only(&s, 5, -1, &o);
    conditioned_free(&o);
    session_free(&s);
}

/* A quantised sensor's touch-downs among empty frames (a roller lifted, a
 * foot in its swing): a lone loaded frame, a loaded frame at the end of an
 * empty stretch, and loads that rise over three frames are all good; a
 * glitch (30 x + 500) within loaded frames is still corrupt, also when the
 * frames before it are empty. */
Test(condition, touch_down_after_empty_frames_not_corrupt)
{
    session s;
    synth_session(KM_SYNTH_MODERATE, 2.0, &s, NULL);
    size_t rc = (size_t)s.info.rows * (size_t)s.info.cols;
    for (int64_t i = 0; i < s.n; i++) {
        int empty = (i >= 20 && i < 40 && i != 30) || (i >= 60 && i < 80) || (i >= 100 && i < 110);
        for (size_t k = 0; k < rc; k++) {
            float *v = &s.frames[(size_t)i * rc + k];
            *v = empty ? 0.0f : roundf(fmaxf(*v, 0.0f)); /* counts, clipped at 0 */
        }
    }
    for (size_t k = 0; k < rc; k++) { /* a rising touch-down at 80-82 */
        s.frames[80 * rc + k] *= 0.05f;
        s.frames[81 * rc + k] *= 0.3f;
    }
    const int64_t glitch = 112; /* three loaded frames after the empty 100-109 */
    for (size_t k = 0; k < rc; k++)
        s.frames[(size_t)glitch * rc + k] = 30.0f * s.frames[(size_t)glitch * rc + k] + 500.0f;
    conditioned o;
    condition_corrupt_only(&s, 7, glitch, &o);
    conditioned_free(&o);
    session_free(&s);
}

/* Runs of one, two and three corrupt frames (a glitch that multiplies the
 * whole frame): each is flagged and replaced by the last good frame before
 * its run, bit for bit, whatever the block size (the last good frame is
 * kept only when a corrupt one needs it). */
Test(condition, corrupt_runs_take_the_last_good_frame)
{
    session s;
    synth_session(KM_SYNTH_MODERATE, 3.0, &s, NULL);
    size_t rc = (size_t)s.info.rows * (size_t)s.info.cols;
    static const int64_t bad[] = {40, 90, 91, 150, 151, 152};
    static const int64_t good_before[] = {39, 89, 89, 149, 149, 149};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++)
        for (size_t k = 0; k < rc; k++)
            s.frames[(size_t)bad[b] * rc + k] = 30.0f * s.frames[(size_t)bad[b] * rc + k] + 500.0f;
    km_condition_params cp;
    km_condition_params_default(&cp);
    static const int64_t blocks[] = {1, 7, 64};
    for (size_t bi = 0; bi < 3; bi++) {
        conditioned o;
        condition(&s, &cp, NULL, NULL, blocks[bi], &o);
        cr_assert_eq(o.n, s.n);
        for (int64_t i = 0; i < o.n; i++) {
            int is_bad = 0;
            for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++)
                is_bad |= bad[b] == i;
            cr_assert_eq(o.flags[i] & KM_FRAME_CORRUPT, is_bad ? KM_FRAME_CORRUPT : 0u,
                         "block %lld: frame %lld flags %u", (long long)blocks[bi], (long long)i,
                         o.flags[i]);
        }
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++)
            cr_assert_eq(memcmp(o.frames + (size_t)bad[b] * rc, o.frames + (size_t)good_before[b] * rc,
                                rc * sizeof(float)),
                         0, "block %lld: frame %lld is not frame %lld", (long long)blocks[bi],
                         (long long)bad[b], (long long)good_before[b]);
        conditioned_free(&o);
    }
    session_free(&s);
}

/* A hard synthetic session: every true dead and stuck taxel is found and
 * masked; few good taxels are lost. */
Test(condition, synth_dead_and_stuck_found)
{
    session s;
    km_synth *syn = NULL;
    synth_session(KM_SYNTH_HARD, 3.0, &s, &syn);
    km_synth_truth truth;
    km_synth_truth_get(syn, &truth);
    size_t rc = (size_t)s.info.rows * (size_t)s.info.cols;
    int n_dead = 0, n_stuck = 0, false_pos = 0;
    km_condition_params cp;
    km_condition_params_default(&cp);
    cp.detect_bad = 1;
    cp.warmup_frames = 100;
    conditioned o;
    condition(&s, &cp, NULL, NULL, 7, &o);
    for (size_t k = 0; k < rc; k++) {
        if (truth.taxel_state[k] == KM_SYNTH_TAXEL_DEAD)
            n_dead++;
        if (truth.taxel_state[k] == KM_SYNTH_TAXEL_STUCK)
            n_stuck++;
        if (truth.taxel_state[k] != KM_SYNTH_TAXEL_OK)
            cr_assert_eq(o.mask[k], 0, "bad taxel %zu (state %d) not masked", k,
                         (int)truth.taxel_state[k]);
        else if (o.mask[k] == 0)
            false_pos++;
    }
    cr_assert_gt(n_dead, 0, "the preset should plant dead taxels");
    cr_assert_gt(n_stuck, 0, "the preset should plant stuck taxels");
    cr_assert_leq(false_pos, 2, "%d good taxels masked", false_pos);
    cr_assert_eq(o.n_bad, n_dead + n_stuck + false_pos);
    /* Masked taxels are NaN in the output (fill off). */
    for (size_t k = 0; k < rc; k++)
        if (!o.mask[k])
            cr_assert(isnan(o.frames[(size_t)(o.n - 1) * rc + k]));
    conditioned_free(&o);
    km_synth_free(syn);
    session_free(&s);
}

/* Badtaxel on its own: dead vs stuck vs hot vs unloaded. */
Test(condition, badtaxel_classes)
{
    enum { R = 6, C = 6 };
    float f[R * C];
    km_badtaxel *b = NULL;
    km_badtaxel_params p;
    km_badtaxel_params_default(&p);
    /* The spike classes alone: a taxel at 500 steady beside neighbours at
       10-14 that jitter by +-2 also reads as an offset (test_badtaxel.c). */
    p.offset_sigmas = 0.0;
    cr_assert_eq(km_badtaxel_create(ctx, R, C, NULL, &p, &b), KM_OK);
    for (int t = 0; t < 20; t++) {
        for (int k = 0; k < R * C; k++)
            f[k] = (k / C) < 4 ? 10.0f + (float)((k * 7 + t * 3) % 5) : 0.0f; /* rows 4-5 unloaded */
        f[1 * C + 1] = 0.0f;              /* dead */
        f[2 * C + 2] = 33.0f;             /* stuck */
        f[0 * C + 4] = 500.0f + (float)t; /* hot */
        cr_assert_eq(km_badtaxel_add(ctx, b, f), KM_OK);
    }
    uint8_t state[R * C], mask[R * C];
    int32_t n_bad = -1;
    cr_assert_eq(km_badtaxel_decide(ctx, b, state, mask, &n_bad), KM_OK);
    cr_assert_eq(state[1 * C + 1], KM_TAXEL_DEAD);
    cr_assert_eq(state[2 * C + 2], KM_TAXEL_STUCK);
    cr_assert_eq(state[0 * C + 4], KM_TAXEL_HOT);
    cr_assert_eq(state[5 * C + 3], KM_TAXEL_OK, "unloaded region is not dead");
    cr_assert_eq(n_bad, 3);
    cr_assert_eq(mask[1 * C + 1], 0);
    cr_assert_eq(mask[0], 1);
    km_badtaxel_free(b);
    km_badtaxel_free(NULL);
}

Test(condition, fill_masked_from_neighbours)
{
    float f[9] = {1, 2, 3, 4, NAN, 6, 7, 8, 9};
    uint8_t m[9] = {1, 1, 1, 1, 0, 1, 1, 1, 1};
    cr_assert_eq(km_fill_masked(ctx, f, 3, 3, m, NULL), KM_OK);
    cr_assert_float_eq(f[4], 5.0f, 1e-6f);
    /* A masked corner two steps from the only valid taxel. */
    float g[4] = {NAN, NAN, NAN, 8};
    uint8_t mg[4] = {0, 0, 0, 1};
    cr_assert_eq(km_fill_masked(ctx, g, 2, 2, mg, NULL), KM_OK);
    for (int k = 0; k < 4; k++)
        cr_assert_float_eq(g[k], 8.0f, 1e-6f);
}

/* Linear interpolation reproduces a linear ramp exactly on a uniform grid
 * from jittered times. */
Test(condition, resample_linear_ramp)
{
    session s;
    memset(&s, 0, sizeof s);
    s.info.rows = 1;
    s.info.cols = 2;
    s.info.frame_rate_hz = 50.0;
    s.n = 200;
    s.frames = malloc((size_t)s.n * 2 * sizeof(float));
    s.times = malloc((size_t)s.n * sizeof(double));
    s.mask = NULL;
    for (int64_t i = 0; i < s.n; i++) {
        double t = (double)i / 50.0 + (i > 0 && i < s.n - 1 ? 0.006 * sin(2.3 * (double)i) : 0.0);
        s.times[i] = t;
        s.frames[2 * i] = (float)(3.0 * t);
        s.frames[2 * i + 1] = (float)(10.0 - t);
    }
    km_condition_params cp;
    km_condition_params_default(&cp);
    cp.corrupt_ratio = 0.0;
    cp.resample_hz = 100.0;
    conditioned o;
    condition(&s, &cp, NULL, NULL, 3, &o);
    cr_assert_eq(o.n, 2 * (s.n - 1) + 1, "got %lld frames", (long long)o.n);
    for (int64_t j = 0; j < o.n; j++) {
        double t = (double)j / 100.0;
        cr_assert_float_eq(o.times[j], t, 1e-12);
        cr_assert_float_eq(o.frames[2 * j], 3.0 * t, 1e-4);
        cr_assert_float_eq(o.frames[2 * j + 1], 10.0 - t, 1e-4);
    }
    conditioned_free(&o);
    session_free(&s);
}

/* Tekscan F-Scan fixture.  The header's one-point calibration (75.0001 Kgs
 * on 240 cells summing 4798 raw, SENSEL_AREA 25.8064 mm2) gives the kPa
 * per raw count; the same factor times 255 (8-bit full scale) is the
 * header's SATURATION_PRESSURE 1514.73 KPa.  Raw counts reconstructed from
 * the exported kPa frames (the export prints whole kPa) map back within
 * the export's rounding per taxel and within 0.1% per frame total. */
Test(condition, tekscan_calibration_reproduced)
{
    session s;
    km_reader *r = NULL;
    read_all(FSCAN, NULL, &s);
    cr_assert_eq(km_reader_open(ctx, FSCAN, NULL, &r), KM_OK);
    km_condition_params cp;
    km_condition_params_default(&cp);
    cp.curve = KM_CURVE_HEADER;
    cr_assert_eq(km_condition_resolve_curve(ctx, r, &cp), KM_OK, "%s", km_ctx_last_error(ctx));
    km_reader_free(r);
    cr_assert_eq(cp.curve, KM_CURVE_LINEAR);
    cr_assert_eq(cp.curve_b, 1.0);
    double expect = 75.0001 * 9.80665 / 4798.0 / 25.8064 * 1e3;
    cr_assert_float_eq(cp.curve_a, expect, 1e-12 * expect);
    cr_assert_float_eq(cp.curve_a * 255.0, 1514.73, 1514.73 * 1e-3,
                       "a*255 = %g", cp.curve_a * 255.0);

    size_t rc = (size_t)s.info.rows * (size_t)s.info.cols;
    session raw = s;
    raw.frames = malloc((size_t)s.n * rc * sizeof(float));
    raw.times = s.times;
    raw.mask = s.mask;
    for (size_t k = 0; k < (size_t)s.n * rc; k++)
        raw.frames[k] = isfinite(s.frames[k]) ? (float)round(s.frames[k] / cp.curve_a)
                                              : s.frames[k];
    cp.corrupt_ratio = 0.0;
    conditioned o;
    condition(&raw, &cp, NULL, NULL, 16, &o);
    cr_assert_eq(o.n, s.n);
    int high = 0;
    for (int64_t i = 0; i < s.n; i++) {
        double se = 0.0, sc = 0.0, n_loaded = 0.0;
        for (size_t k = 0; k < rc; k++) {
            if (!s.mask[k])
                continue;
            double e = s.frames[(size_t)i * rc + k], c = o.frames[(size_t)i * rc + k];
            /* Tekscan printed round(a * raw): the model reproduces every
               printed value exactly, which at the high values (500-760
               kPa) pins a within 0.1%. */
            cr_assert_eq(round(c), e, "frame %lld taxel %zu: %g vs %g", (long long)i, k, c, e);
            high += e >= 500.0;
            se += e;
            sc += c;
            n_loaded += e > 0.0;
        }
        cr_assert_leq(fabs(sc - se), 0.5 * n_loaded + 1e-3, "frame %lld", (long long)i);
    }
    int checked = high;
    cr_assert_gt(checked, 10, "taxels >= 500 kPa: %d", checked);
    conditioned_free(&o);
    free(raw.frames);
    session_free(&s);
}

Test(condition, curve_fit_power_and_errors)
{
    /* Two points on p = 2 * raw^0.8 (kPa), cells of 10 mm2. */
    km_calib_point pts[2];
    double area = 10.0;
    for (int i = 0; i < 2; i++) {
        double raw = i == 0 ? 20.0 : 90.0, cells = i == 0 ? 50.0 : 120.0;
        double p = 2.0 * pow(raw, 0.8);
        pts[i].raw_sum = raw * cells;
        pts[i].n_loaded = cells;
        pts[i].load_n = p * 1e-3 * cells * area;
    }
    double a = 0, b = 0;
    cr_assert_eq(km_calib_curve_fit(ctx, KM_CURVE_POWER, pts, 2, area, &a, &b), KM_OK);
    cr_assert_float_eq(a, 2.0, 1e-9);
    cr_assert_float_eq(b, 0.8, 1e-12);
    float v[3] = {0.0f, 16.0f, -16.0f};
    km_calib_curve_apply(a, b, v, 3);
    cr_assert_float_eq(v[1], 2.0 * pow(16.0, 0.8), 1e-4);
    cr_assert_float_eq(v[2], -v[1], 0.0);
    cr_assert_eq(v[0], 0.0f);
    cr_assert_eq(km_calib_curve_fit(ctx, KM_CURVE_POWER, pts, 1, area, &a, &b), KM_ERR_INVALID);
    cr_assert_eq(km_calib_curve_fit(ctx, KM_CURVE_LINEAR, pts, 1, 0.0, &a, &b), KM_ERR_INVALID);

    const char *keys[] = {"SENSEL_AREA", "CALIBRATION_POINT_1", "CALIBRATION_POINT_2"};
    const char *vals[] = {"0.258064 cm2", "10 (Lbs) 500 (Raw Sum) 20 (Number of Loaded Cells)",
                          "100 (N) 3000 (Raw Sum) 60 (Number of Loaded Cells)"};
    km_calib_point got[4];
    int32_t n = 0;
    cr_assert_eq(km_calib_header_points(ctx, keys, vals, 3, got, 4, &n, &area), KM_OK);
    cr_assert_eq(n, 2);
    cr_assert_float_eq(area, 25.8064, 1e-9);
    cr_assert_float_eq(got[0].load_n, 44.482216152605, 1e-9);
    cr_assert_eq(got[1].load_n, 100.0);
    cr_assert_eq(got[1].n_loaded, 60.0);
    const char *bad[] = {"CALIBRATION_POINT_1"};
    const char *badv[] = {"75 (furlongs) 4798 (Raw Sum) 240"};
    cr_assert_eq(km_calib_header_points(ctx, bad, badv, 1, got, 4, &n, &area), KM_ERR_FORMAT);
}

Test(condition, bad_parameters)
{
    km_session_info info;
    memset(&info, 0, sizeof info);
    info.rows = 4;
    info.cols = 4;
    info.frame_rate_hz = 0.0;
    km_condition_params cp;
    km_condition_params_default(&cp);
    km_conditioner *c = NULL;
    cp.lowpass_hz = 5.0; /* no rate */
    cr_assert_eq(km_conditioner_create(ctx, &info, NULL, &cp, NULL, NULL, &c), KM_ERR_INVALID);
    cr_assert_null(c);
    km_condition_params_default(&cp);
    cp.corrupt_window = 4;
    cr_assert_eq(km_conditioner_create(ctx, &info, NULL, &cp, NULL, NULL, &c), KM_ERR_INVALID);
    km_condition_params_default(&cp);
    cp.curve = KM_CURVE_HEADER; /* must be resolved first */
    cr_assert_eq(km_conditioner_create(ctx, &info, NULL, &cp, NULL, NULL, &c), KM_ERR_INVALID);
    km_conditioner_free(NULL);
}

/* ------------------------------------------------ through km_process */

#include <hdf5.h>
#include <unistd.h>

static char tmpdir[256];

static void make_tmpdir(void)
{
    km_test_make_dir(tmpdir, sizeof tmpdir, "km_condition_");
}

/* Read a whole 1-D or n-D dataset as `type` into a malloc'd buffer. */
static void *read_ds(const char *path, const char *name, hid_t type, size_t elem, size_t *count)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(f, 0, "%s", path);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    cr_assert_geq(d, 0, "%s: %s", path, name);
    hid_t sp = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    void *buf = malloc((size_t)(n > 0 ? n : 1) * elem);
    if (n > 0)
        cr_assert_geq(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), 0);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);
    *count = (size_t)n;
    return buf;
}

/* The PhysioNet fixture through the whole pipeline: frame 1 is flagged
 * KM_FRAME_CORRUPT in /metrics and has no row in /peaks; the others do. */
Test(condition, process_physionet_frame1)
{
    make_tmpdir();
    char out[512];
    snprintf(out, sizeof out, "%s/pmd.h5", tmpdir);
    km_process_params p;
    km_process_params_default(&p);
    p.read.rows = 64;
    p.read.cols = 32;
    p.read.frame_rate_hz = 1.0;
    p.block_frames = 5;
    km_process_summary sum;
    cr_assert_eq(km_process(ctx, PMD, out, &p, &sum), KM_OK, "%s", km_ctx_last_error(ctx));
    cr_assert_eq(sum.n_corrupt_frames, 1);
    size_t nf = 0, np = 0;
    uint32_t *flags = read_ds(out, "/metrics/flags", H5T_NATIVE_UINT32, 4, &nf);
    int64_t *frame = read_ds(out, "/peaks/frame", H5T_NATIVE_INT64, 8, &np);
    cr_assert_eq((int64_t)nf, sum.n_frames);
    for (size_t i = 0; i < nf; i++)
        cr_assert_eq(flags[i] & KM_FRAME_CORRUPT, i == 1 ? KM_FRAME_CORRUPT : 0u, "frame %zu", i);
    int in_frame2 = 0;
    for (size_t i = 0; i < np; i++) {
        cr_assert_neq(frame[i], 1, "a peak reported in the corrupt frame");
        in_frame2 += frame[i] == 2;
    }
    cr_assert_gt(in_frame2, 0);
    double corrupt_ratio = 0.0;
    hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t a = H5Aopen_by_name(f, "/params", "corrupt_ratio", H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(a, 0, "/params corrupt_ratio missing");
    H5Aread(a, H5T_NATIVE_DOUBLE, &corrupt_ratio);
    H5Aclose(a);
    H5Fclose(f);
    cr_assert_eq(corrupt_ratio, 4.0);
    free(flags);
    free(frame);
    unlink(out);
    rmdir(tmpdir);
}

/* km_process with every conditioning stage: /frames/conditioned, /time
 * and /metrics/flags are identical for blocks of 1, 7 and 4096 frames. */
Test(condition, process_blocks_identical)
{
    make_tmpdir();
    char in[512], out[3][512];
    snprintf(in, sizeof in, "%s/hard.h5", tmpdir);
    km_synth_params sp;
    km_synth_params_default(&sp);
    km_synth_preset(&sp, KM_SYNTH_HARD);
    sp.duration_s = 4.0;
    cr_assert_eq(km_synth_write(ctx, &sp, KM_FORMAT_SESSION, in, 1), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    const int64_t blocks[3] = {4096, 1, 7};
    float *ref = NULL, *got = NULL;
    uint32_t *rflags = NULL;
    size_t nref = 0, nfl = 0;
    for (int b = 0; b < 3; b++) {
        snprintf(out[b], sizeof out[b], "%s/out%d.h5", tmpdir, b);
        km_process_params p;
        km_process_params_default(&p);
        p.block_frames = blocks[b];
        p.save_frames = 1;
        p.smooth.sigma_rows = p.smooth.sigma_cols = 0.8;
        p.cond.tare_frames = 10;
        p.cond.detect_bad = 1;
        p.cond.warmup_frames = 100;
        p.cond.fill_bad = 1;
        p.cond.lowpass_hz = 8.0;
        p.cond.highpass_hz = 0.3;
        p.cond.notch_hz = 25.0;
        p.cond.median_frames = 3;
        p.cond.dog_sigma = 4.0;
        km_process_summary sum;
        cr_assert_eq(km_process(ctx, in, out[b], &p, &sum), KM_OK, "%s", km_ctx_last_error(ctx));
        cr_assert_eq(sum.n_frames, 400);
        size_t n = 0, nf2 = 0;
        float *fr = read_ds(out[b], "/frames/conditioned", H5T_NATIVE_FLOAT, 4, &n);
        uint32_t *fl = read_ds(out[b], "/metrics/flags", H5T_NATIVE_UINT32, 4, &nf2);
        if (b == 0) {
            ref = fr;
            nref = n;
            rflags = fl;
            nfl = nf2;
            cr_assert_eq(n, 400u * 32u * 32u);
        } else {
            got = fr;
            cr_assert_eq(n, nref);
            cr_assert_eq(memcmp(got, ref, n * sizeof(float)), 0, "block %lld differs",
                         (long long)blocks[b]);
            cr_assert_eq(nf2, nfl);
            cr_assert_eq(memcmp(fl, rflags, nfl * sizeof(uint32_t)), 0);
            free(got);
            free(fl);
        }
        unlink(out[b]);
    }
    free(ref);
    free(rflags);
    unlink(in);
    rmdir(tmpdir);
}

/* km_convolve invariants (the scipy comparison is in
 * python-bindings/tests/test_dsp_convolve.py): a delta kernel is the
 * identity, an off-centre delta shifts with the border rule, strides are
 * honoured. */
Test(condition, convolve_delta_and_stride)
{
    enum { R = 5, C = 6, S = 9 };
    float in[R * S], out[R * S];
    for (int k = 0; k < R * S; k++)
        in[k] = (float)(k % 17) - 3.0f;
    float delta[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0};
    km_convolve *cv = NULL;
    cr_assert_eq(km_convolve_create(ctx, R, C, delta, 3, 3, KM_BORDER_NEAREST, 0.0, &cv), KM_OK);
    km_frame fi = {in, R, C, S};
    for (int k = 0; k < R * S; k++)
        out[k] = -999.0f;
    km_frame_mut fo = {out, R, C, S};
    cr_assert_eq(km_convolve_apply(ctx, cv, &fi, &fo), KM_OK);
    for (int r = 0; r < R; r++)
        for (int c = 0; c < S; c++) {
            if (c < C)
                cr_assert_float_eq(out[r * S + c], in[r * S + c], 1e-4f);
            else
                cr_assert_eq(out[r * S + c], -999.0f, "stride padding written");
        }
    km_convolve_free(cv);
    /* kernel[1][0] = 1: out[i][j] = ext[i][j + 1], nearest at the right edge. */
    float shift[9] = {0, 0, 0, 1, 0, 0, 0, 0, 0};
    cr_assert_eq(km_convolve_create(ctx, R, C, shift, 3, 3, KM_BORDER_NEAREST, 0.0, &cv), KM_OK);
    cr_assert_eq(km_convolve_apply(ctx, cv, &fi, &fo), KM_OK);
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            cr_assert_float_eq(out[r * S + c], in[r * S + (c + 1 < C ? c + 1 : C - 1)], 1e-4f);
    km_frame_mut bad = {(float *)in, R, C, S};
    cr_assert_eq(km_convolve_apply(ctx, cv, &fi, &bad), KM_ERR_INVALID);
    km_convolve_free(cv);
    km_convolve_free(NULL);
}
