/* Synthetic sessions: determinism, knots where the truth says, presets,
 * artefacts, and the exports read back by the readers. */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "knotmap.h"
#include "test_util.h"

static km_ctx *ctx;

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
}

static void teardown(void)
{
    km_ctx_free(ctx);
}

TestSuite(synth, .init = setup, .fini = teardown);

typedef struct session {
    int64_t n;
    size_t per;
    float *frames;
    double *times;
    km_synth_motion *motion;
} session;

/* Whole session in memory, pulled in blocks of `block` frames. */
static session generate(km_synth *s, int64_t block)
{
    km_session_info info;
    km_synth_info(s, &info);
    session out = {0, (size_t)info.rows * (size_t)info.cols, NULL, NULL, NULL};
    out.frames = malloc((size_t)info.n_frames * out.per * sizeof(float));
    out.times = malloc((size_t)info.n_frames * sizeof(double));
    out.motion = malloc((size_t)info.n_frames * sizeof(km_synth_motion));
    cr_assert(out.frames && out.times && out.motion);
    for (;;) {
        int64_t n = 0;
        cr_assert_eq(km_synth_frames_motion(ctx, s, out.frames + (size_t)out.n * out.per, out.times + out.n,
                                            out.motion + out.n, block, &n),
                     KM_OK, "%s", km_ctx_last_error(ctx));
        if (n == 0)
            break;
        out.n += n;
        cr_assert_leq(out.n, info.n_frames);
    }
    cr_assert_eq(out.n, info.n_frames);
    return out;
}

static void session_free(session *s)
{
    free(s->frames);
    free(s->times);
    free(s->motion);
}

static km_synth_params small_params(int32_t mode)
{
    km_synth_params p;
    km_synth_params_default(&p);
    p.mode = mode;
    p.duration_s = 8.0;
    p.frame_rate_hz = 50.0;
    p.seed = 7;
    return p;
}

Test(synth, defaults_and_presets)
{
    km_synth_params p, e, h;
    km_synth_params_default(&p);
    cr_assert_eq(p.mode, KM_MODE_ROLLER);
    cr_assert_eq(p.rows, 32);
    cr_assert(p.roller_radius_mm >= 30.0 && p.roller_radius_mm <= 75.0);
    cr_assert(p.cycles_per_minute >= 15.0 && p.cycles_per_minute <= 35.0);
    cr_assert(p.contact_kpa >= 30.0 && p.contact_kpa <= 50.0);
    e = p;
    h = p;
    km_synth_preset(&e, KM_SYNTH_EASY);
    km_synth_preset(&h, KM_SYNTH_HARD);
    cr_assert_lt(e.noise_kpa, p.noise_kpa);
    cr_assert_lt(p.noise_kpa, h.noise_kpa);
    cr_assert_gt(e.knot_kpa_min, h.knot_kpa_min);
    cr_assert_lt(h.saturation_kpa, p.saturation_kpa);
    cr_assert_eq(e.dead_fraction, 0.0);
    cr_assert_gt(h.dead_fraction, p.dead_fraction);
    /* The preset leaves geometry and seed alone. */
    cr_assert_eq(h.rows, p.rows);
    cr_assert_eq(h.seed, p.seed);
    km_synth_difficulty d;
    cr_assert_eq(km_synth_difficulty_parse("hard", &d), KM_OK);
    cr_assert_eq(d, KM_SYNTH_HARD);
    cr_assert_eq(km_synth_difficulty_parse("extreme", &d), KM_ERR_INVALID);
}

/* The equilibration recording's defaults live in one place (the CLI and
   Python call km_synth_equilibration): 50 kPa, 5 s unless a duration was
   given; a load given is kept, and nothing else of the sensor changes. */
Test(synth, equilibration_defaults)
{
    km_synth_params p, q;
    km_synth_params_default(&p);
    p.duration_s = 12.0;
    q = p;
    km_synth_equilibration(&q, 0.0, 0);
    cr_assert_eq(q.equilibration_kpa, 50.0);
    cr_assert_eq(q.duration_s, 5.0);
    q = p;
    km_synth_equilibration(&q, 80.0, 1);
    cr_assert_eq(q.equilibration_kpa, 80.0);
    cr_assert_eq(q.duration_s, 12.0);
    q.equilibration_kpa = p.equilibration_kpa;
    q.duration_s = p.duration_s;
    cr_assert_eq(memcmp(&p, &q, sizeof p), 0);
}

Test(synth, deterministic_for_a_seed_on_any_block_size)
{
    km_synth_params p = small_params(KM_MODE_ROLLER);
    km_synth *a = NULL, *b = NULL, *c = NULL;
    cr_assert_eq(km_synth_create(ctx, &p, &a), KM_OK, "%s", km_ctx_last_error(ctx));
    cr_assert_eq(km_synth_create(ctx, &p, &b), KM_OK);
    p.seed = 8;
    cr_assert_eq(km_synth_create(ctx, &p, &c), KM_OK);
    session sa = generate(a, 1000), sb = generate(b, 7), sc = generate(c, 64);
    cr_assert_eq(sa.n, 400);
    cr_assert_eq(memcmp(sa.frames, sb.frames, (size_t)sa.n * sa.per * sizeof(float)), 0);
    cr_assert_eq(memcmp(sa.times, sb.times, (size_t)sa.n * sizeof(double)), 0);
    cr_assert_neq(memcmp(sa.frames, sc.frames, (size_t)sa.n * sa.per * sizeof(float)), 0);
    cr_assert_float_eq(sa.times[50], 1.0, 1e-12);
    km_synth_truth ta, tc;
    km_synth_truth_get(a, &ta);
    km_synth_truth_get(c, &tc);
    cr_assert_eq(ta.n_knots, 6);
    cr_assert_neq(ta.knots[0].x_mm, tc.knots[0].x_mm);
    session_free(&sa);
    session_free(&sb);
    session_free(&sc);
    km_synth_free(a);
    km_synth_free(b);
    km_synth_free(c);
    km_synth_free(NULL);
}

Test(synth, invalid_params_name_the_field)
{
    km_synth_params p = small_params(KM_MODE_ROLLER);
    km_synth *s = NULL;
    p.speed_jitter = 1.5;
    cr_assert_eq(km_synth_create(ctx, &p, &s), KM_ERR_INVALID);
    cr_assert_null(s);
    cr_assert_not_null(strstr(km_ctx_last_error(ctx), "speed_jitter"));
    p = small_params(KM_MODE_ROLLER);
    p.n_knots = 200; /* cannot fit 30 mm apart */
    cr_assert_eq(km_synth_create(ctx, &p, &s), KM_ERR_INVALID);
    cr_assert_not_null(strstr(km_ctx_last_error(ctx), "place"));
}

/* A clean session (no artefacts) and the same session without knots: the
   difference is exactly the knots' pressure. */
static void clean(km_synth_params *p)
{
    km_synth_preset(p, KM_SYNTH_EASY);
    p->noise_kpa = 0.0;
    p->gain_spread = 0.0;
    p->taut_band_fraction = 0.0;
}

static void check_knots_where_expected(int32_t mode)
{
    km_synth_params p = small_params(mode);
    if (mode == KM_MODE_MAT)
        p.rows = 40;
    clean(&p);
    p.duration_s = 6.0;
    km_synth_params q = p;
    q.n_knots = 0;
    km_synth *s = NULL, *s0 = NULL;
    cr_assert_eq(km_synth_create(ctx, &p, &s), KM_OK, "%s", km_ctx_last_error(ctx));
    cr_assert_eq(km_synth_create(ctx, &q, &s0), KM_OK);
    session a = generate(s, 100), b = generate(s0, 100);
    km_synth_truth tr;
    km_synth_truth_get(s, &tr);
    const int32_t R = p.rows, C = p.cols;
    int checked = 0;
    for (size_t k = 0; k < tr.n_knots; k++) {
        const km_synth_knot *kn = &tr.knots[k];
        /* the frame whose contact line is nearest the knot */
        int64_t best = -1;
        for (int64_t t = 0; t < a.n; t++)
            if (best < 0 || fabs(a.motion[t].y_contact_mm - kn->y_mm) < fabs(a.motion[best].y_contact_mm - kn->y_mm))
                best = t;
        const km_synth_motion *m = &a.motion[best];
        cr_assert_lt(fabs(m->y_contact_mm - kn->y_mm), tr.row_pitch_mm / 2);
        double row = mode == KM_MODE_ROLLER ? m->contact_row + (kn->y_mm - m->y_contact_mm) / tr.row_pitch_mm
                                            : kn->y_mm / tr.row_pitch_mm;
        int32_t er = (int32_t)lround(row), ec = (int32_t)lround(kn->x_mm / tr.col_pitch_mm);
        er = ((er % R) + R) % R;
        /* argmax of the knots-only difference within 4 taxels (another
           knot at the same y may be in the same frame) */
        const float *fa = a.frames + (size_t)best * a.per, *fb = b.frames + (size_t)best * b.per;
        int32_t ar = 0, ac = 0;
        float dmax = -1.0f;
        for (int32_t rr = er - 4; rr <= er + 4; rr++)
            for (int32_t c = ec - 4; c <= ec + 4; c++) {
                int32_t r = ((rr % R) + R) % R;
                if (c < 0 || c >= C || (mode == KM_MODE_MAT && rr != r))
                    continue;
                float d = fa[r * C + c] - fb[r * C + c];
                if (d > dmax) {
                    dmax = d;
                    ar = r;
                    ac = c;
                }
            }
        int dr = abs(ar - er);
        dr = dr > R / 2 ? R - dr : dr;
        cr_assert_leq(dr, 1, "knot %zu: row %d, expected %d", k, ar, er);
        cr_assert_leq(abs(ac - ec), 1, "knot %zu: col %d, expected %d", k, ac, ec);
        cr_assert_geq(dmax, 0.3 * kn->amplitude_kpa, "knot %zu: excess %g of %g", k, dmax, kn->amplitude_kpa);
        checked++;
    }
    cr_assert_eq(checked, 6);
    /* Far from every knot the two sessions agree. */
    int far_frames = 0;
    for (int64_t t = 0; t < a.n; t++) {
        int far = 1;
        for (size_t k = 0; k < tr.n_knots; k++)
            far &= fabs(a.motion[t].y_contact_mm - tr.knots[k].y_mm) > 4.0 * tr.row_pitch_mm;
        if (!far || mode == KM_MODE_MAT)
            continue;
        far_frames++;
        for (size_t i = 0; i < a.per; i++)
            cr_assert_float_eq(a.frames[(size_t)t * a.per + i], b.frames[(size_t)t * b.per + i], 1e-3);
    }
    if (mode == KM_MODE_ROLLER)
        cr_assert_gt(far_frames, 0);
    session_free(&a);
    session_free(&b);
    km_synth_free(s);
    km_synth_free(s0);
}

Test(synth, roller_knots_appear_when_the_contact_passes)
{
    check_knots_where_expected(KM_MODE_ROLLER);
}

Test(synth, mat_knots_appear_at_their_grid_position)
{
    check_knots_where_expected(KM_MODE_MAT);
}

Test(synth, roller_contact_row_follows_rotation)
{
    km_synth_params p = small_params(KM_MODE_ROLLER);
    clean(&p);
    km_synth *s = NULL;
    cr_assert_eq(km_synth_create(ctx, &p, &s), KM_OK);
    session a = generate(s, 50);
    km_session_info info;
    km_synth_info(s, &info);
    cr_assert_float_eq(info.row_pitch_mm, 2 * 3.14159265358979323846 * 50.0 / 32, 1e-9);
    cr_assert_float_eq(a.motion[0].y_contact_mm, 0.0, 1e-12);
    double ymax = 0;
    for (int64_t t = 0; t < a.n; t++) {
        const km_synth_motion *m = &a.motion[t];
        /* contact row = theta/(2 pi)*rows mod rows, and y = Rr*(theta - theta0) */
        double c = fmod(m->theta_rad / (2 * 3.14159265358979323846) * 32, 32.0);
        cr_assert_float_eq(c, m->contact_row, 1e-9);
        cr_assert_float_eq(m->y_contact_mm, 50.0 * (m->theta_rad - a.motion[0].theta_rad), 1e-9);
        ymax = fmax(ymax, m->y_contact_mm);
        /* the pressed row is the contact row */
        const float *f = a.frames + (size_t)t * a.per;
        int32_t br = 0;
        double bs = -1;
        for (int32_t r = 0; r < 32; r++) {
            double sum = 0;
            for (int32_t col = 0; col < 32; col++)
                sum += f[r * 32 + col];
            if (sum > bs) {
                bs = sum;
                br = r;
            }
        }
        int d = abs(br - (int)lround(m->contact_row) % 32);
        d = d > 16 ? 32 - d : d;
        cr_assert_leq(d, 1, "frame %lld: strongest row %d, contact %g", (long long)t, br, m->contact_row);
    }
    /* 8 s at 25 cycles/min: the stroke is travelled */
    cr_assert_gt(ymax, 0.95 * p.stroke_mm);
    session_free(&a);
    km_synth_free(s);
}

Test(synth, artefacts_match_the_truth)
{
    km_synth_params p = small_params(KM_MODE_ROLLER);
    km_synth_preset(&p, KM_SYNTH_HARD);
    p.dead_fraction = 0.05;
    p.stuck_fraction = 0.05;
    km_synth *s = NULL;
    cr_assert_eq(km_synth_create(ctx, &p, &s), KM_OK);
    session a = generate(s, 33);
    km_synth_truth tr;
    km_synth_truth_get(s, &tr);
    int dead = 0, stuck = 0;
    double vmax = 0;
    for (size_t i = 0; i < a.per; i++) {
        cr_assert_eq(km_synth_mask(s)[i], 1); /* artefacts are for conditioning to find */
        for (int64_t t = 1; t < a.n; t++) {
            float v = a.frames[(size_t)t * a.per + i];
            vmax = fmax(vmax, v);
            cr_assert_geq(v, 0.0f);
            if (tr.taxel_state[i] == KM_SYNTH_TAXEL_DEAD)
                cr_assert_eq(v, 0.0f);
            if (tr.taxel_state[i] == KM_SYNTH_TAXEL_STUCK)
                cr_assert_eq(v, a.frames[i]);
        }
        dead += tr.taxel_state[i] == KM_SYNTH_TAXEL_DEAD;
        stuck += tr.taxel_state[i] == KM_SYNTH_TAXEL_STUCK;
    }
    /* 5% of 1024 each, binomial: well inside 20..90 */
    cr_assert(dead > 20 && dead < 90 && stuck > 20 && stuck < 90, "dead %d stuck %d", dead, stuck);
    cr_assert_leq(vmax, p.saturation_kpa);
    cr_assert_eq(vmax, (double)(float)p.saturation_kpa, "saturation is reached in the hard preset");
    session_free(&a);
    km_synth_free(s);
}

/* Off-contact noise grows with the preset. */
static double quiet_sd(km_synth_difficulty d)
{
    km_synth_params p = small_params(KM_MODE_ROLLER);
    km_synth_preset(&p, d);
    p.dead_fraction = p.stuck_fraction = 0.0;
    km_synth *s = NULL;
    cr_assert_eq(km_synth_create(ctx, &p, &s), KM_OK);
    session a = generate(s, 100);
    double sum = 0, sum2 = 0, n = 0;
    for (int64_t t = 0; t < a.n; t++) {
        int32_t opp = (int32_t)lround(a.motion[t].contact_row + 16) % 32;
        for (int32_t c = 0; c < 32; c++) {
            double v = a.frames[(size_t)t * a.per + (size_t)opp * 32 + (size_t)c];
            sum += v;
            sum2 += v * v;
            n++;
        }
    }
    session_free(&a);
    km_synth_free(s);
    return sqrt(sum2 / n - (sum / n) * (sum / n));
}

Test(synth, presets_differ_in_noise)
{
    double e = quiet_sd(KM_SYNTH_EASY), m = quiet_sd(KM_SYNTH_MODERATE), h = quiet_sd(KM_SYNTH_HARD);
    cr_assert_lt(e, m, "easy %g moderate %g", e, m);
    cr_assert_lt(m, h, "moderate %g hard %g", m, h);
}

/* ---- exports read back ---------------------------------------------- */

static char tmpdir[256];

static void make_tmpdir(void)
{
    km_test_make_dir(tmpdir, sizeof tmpdir, "km_synth_test_");
}

static void roundtrip(km_format format, const char *name, const km_synth_params *p)
{
    char path[512];
    make_tmpdir();
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    km_status st = km_synth_write(ctx, p, format, path, 0);
    if (st == KM_ERR_UNSUPPORTED)
        cr_skip_test("writer not built yet: %s", km_ctx_last_error(ctx));
    cr_assert_eq(st, KM_OK, "%s", km_ctx_last_error(ctx));
    /* no temporary file left beside it, and no overwrite without asking */
    cr_assert_eq(km_synth_write(ctx, p, format, path, 0), KM_ERR_CREATE);

    km_read_options opt;
    km_read_options_default(&opt);
    opt.format = format;
    km_reader *rd = NULL;
    st = km_reader_open(ctx, path, &opt, &rd);
    if (st == KM_ERR_UNSUPPORTED)
        cr_skip_test("reader not built yet: %s", km_ctx_last_error(ctx));
    cr_assert_eq(st, KM_OK, "%s", km_ctx_last_error(ctx));
    km_session_info info;
    km_reader_info(rd, &info);
    km_synth *s = NULL;
    cr_assert_eq(km_synth_create(ctx, p, &s), KM_OK);
    session a = generate(s, 64);
    cr_assert_eq(info.rows, p->rows);
    cr_assert_eq(info.cols, p->cols);
    cr_assert_float_eq(info.frame_rate_hz, p->frame_rate_hz, 1e-9);
    float *got = malloc((size_t)a.n * a.per * sizeof(float));
    int64_t total = 0;
    for (;;) {
        int64_t n = 0;
        cr_assert_eq(km_reader_read(ctx, rd, got + (size_t)total * a.per, NULL, 50, &n), KM_OK, "%s",
                     km_ctx_last_error(ctx));
        if (n == 0)
            break;
        total += n;
        cr_assert_leq(total, a.n);
    }
    cr_assert_eq(total, a.n);
    cr_assert_eq(memcmp(got, a.frames, (size_t)a.n * a.per * sizeof(float)), 0, "frames differ after %s",
                 name);
    free(got);
    session_free(&a);
    km_synth_free(s);
    km_reader_free(rd);
    unlink(path);
    rmdir(tmpdir);
}

Test(synth, tekscan_export_reads_back)
{
    km_synth_params p = small_params(KM_MODE_ROLLER);
    p.duration_s = 2.0;
    roundtrip(KM_FORMAT_TEKSCAN, "s.asf", &p);
}

Test(synth, audio_export_reads_back)
{
    km_synth_params p = small_params(KM_MODE_ROLLER);
    p.duration_s = 2.0;
    roundtrip(KM_FORMAT_AUDIO, "s.wav", &p);
}

Test(synth, audio_export_flattened_reads_back)
{
    km_synth_params p = small_params(KM_MODE_MAT);
    p.rows = 48;
    p.cols = 24; /* 1152 taxels > 1024 channels */
    p.duration_s = 1.0;
    roundtrip(KM_FORMAT_AUDIO, "s.caf", &p);
}

Test(synth, session_export_reads_back)
{
    km_synth_params p = small_params(KM_MODE_ROLLER);
    p.duration_s = 2.0;
    roundtrip(KM_FORMAT_SESSION, "s.h5", &p);
}

Test(synth, tekscan_file_layout)
{
    km_synth_params p = small_params(KM_MODE_MAT);
    p.duration_s = 0.1; /* 5 frames */
    char path[512];
    make_tmpdir();
    snprintf(path, sizeof path, "%s/m.asf", tmpdir);
    cr_assert_eq(km_synth_write(ctx, &p, KM_FORMAT_TEKSCAN, path, 1), KM_OK, "%s", km_ctx_last_error(ctx));
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    char line[4096];
    int rows = 0, cols = 0, frames = 0, ascii = 0, last_at = 0, end_frame = 0;
    while (fgets(line, sizeof line, f)) {
        sscanf(line, "ROWS %d", &rows);
        sscanf(line, "COLS %d", &cols);
        sscanf(line, "END_FRAME %d", &end_frame);
        ascii |= strncmp(line, "ASCII_DATA @@", 13) == 0;
        frames += strncmp(line, "Frame ", 6) == 0;
        last_at = strcmp(line, "@@\r\n") == 0;
    }
    fclose(f);
    cr_assert_eq(rows, 32);
    cr_assert_eq(cols, 32);
    cr_assert_eq(end_frame, 5);
    cr_assert(ascii);
    cr_assert_eq(frames, 5);
    cr_assert(last_at);
    unlink(path);
    rmdir(tmpdir);
}
