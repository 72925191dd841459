/* Odometry on a long session whose sensor offsets drift (issue 11;
 * docs/ALGORITHMS.md 7.1 step 2): rows the body never touches creep up
 * past lift_threshold, and a lift must still read as a lift, not as
 * contact on those rows.  Hand-made frames with an analytic answer. */
#include <criterion/criterion.h>
#include <math.h>

#include "knotmap.h"
#include "roller_frames.h"

#define PI 3.14159265358979323846

static km_ctx *ctx;

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
}

static void teardown(void)
{
    km_ctx_free(ctx);
}

TestSuite(odometry_drift, .init = setup, .fini = teardown);

/* 16 rows on a 40 mm radius, 8 columns; the band (3 rows at 40 kPa) rolls
   from row 2 to row 10 and back, a row a frame, and is lifted for 1 s
   (100 frames at 100 Hz) at every second return.  Rows 12-14, which the
   band never reaches, drift up by 0.1 kPa/s (6 kPa a minute, as a model 1
   hard session's worst row medians): after 50 s they stand 5 kPa over the
   floor, lift_threshold.  Over 90 s every lifted frame must be flagged
   lifted, and every contact frame within a fiftieth of a pitch of the
   truth. */
Test(odometry_drift, drifting_rows_do_not_read_as_contact_in_the_air)
{
    const int32_t R = 16, C = 8;
    const double pitch = 2 * PI * 40.0 / R;
    float f[16 * 8];
    km_frame fr = {f, R, C, C};
    km_odometry *o = NULL;
    km_odometry_sample s;
    cr_assert_eq(km_odometry_create(ctx, R, C, 40.0, NULL, &o), KM_OK);
    int t = 0, cycle = 0, lifted_frames = 0, late_lifts = 0;
    while (t < 9000) {
        int lift = cycle % 2 == 1 ? 100 : 0;
        for (int k = 0; k < 17 + lift && t < 9000; k++, t++) {
            int pos = k <= 8 ? k : k <= 16 ? 16 - k : 0; /* rows from 2 */
            if (k <= 16)
                km_test_band_frame(f, R, C, 2 + pos, 40.0f);
            else
                for (int32_t i = 0; i < R * C; i++)
                    f[i] = 0.0f;
            for (int32_t r = 12; r <= 14; r++)
                for (int32_t c = 0; c < C; c++)
                    f[r * C + c] += (float)(0.001 * t); /* 0.1 kPa/s at 100 Hz */
            cr_assert_eq(km_odometry_update(ctx, o, &fr, NULL, &s), KM_OK);
            if (k > 16) {
                lifted_frames++;
                late_lifts += t >= 5000;
                cr_assert(s.flags & KM_ODO_LIFTED, "frame %d (lifted, drift %.1f kPa) read "
                          "as contact at row %.2f", t, 0.001 * t, s.contact_row);
            } else {
                /* a fiftieth of a pitch: the drifting rows inside the
                   contact window pull the circular mean a little */
                cr_assert_float_eq(s.y_mm, pos * pitch, 0.02 * pitch, "frame %d: y %.2f mm, truth %.2f",
                                   t, s.y_mm, pos * pitch);
            }
        }
        cycle++;
    }
    cr_assert_geq(late_lifts, 1500, "the test must lift after the drift passed the threshold");
    cr_assert_gt(lifted_frames, late_lifts);
    km_odometry_free(o);
}

/* The same with every taxel drifting its own way (model 1's sensor: offsets
   N(0, 1-3 kPa a minute) each, here 0.4 kPa/s so that it shows in 90 s):
   after a minute a row's taxels spread by tens of kPa, a quarter of every
   row stands over its median + lift_threshold, and the narrow-body rule
   (7.1 step 1) took every row in the air for the loaded part of a narrow
   body; the contact then jumped between rows by up to half a turn (the
   lead's 1000 s model 1 session: 315 mm off after 889 s).  32 columns. */
Test(odometry_drift, taxels_drifting_apart_do_not_read_as_a_narrow_body)
{
    enum { RR = 16, CC = 32 };
    const double pitch = 2 * PI * 40.0 / RR;
    static float f[RR * CC], z[RR * CC];
    uint32_t seed = 12345u;
    for (int i = 0; i < RR * CC; i++) { /* about N(0, 1) */
        double u = 0.0;
        for (int q = 0; q < 4; q++) {
            seed = seed * 1664525u + 1013904223u;
            u += (seed >> 8) / 16777216.0;
        }
        z[i] = (float)((u - 2.0) * 1.732);
    }
    km_frame fr = {f, RR, CC, CC};
    km_odometry *o = NULL;
    km_odometry_sample s;
    cr_assert_eq(km_odometry_create(ctx, RR, CC, 40.0, NULL, &o), KM_OK);
    int t = 0, cycle = 0, late_lifts = 0;
    double worst = 0.0;
    while (t < 9000) {
        int lift = cycle % 2 == 1 ? 100 : 0;
        for (int k = 0; k < 17 + lift && t < 9000; k++, t++) {
            int pos = k <= 8 ? k : k <= 16 ? 16 - k : 0;
            if (k <= 16)
                km_test_band_frame(f, RR, CC, 2 + pos, 40.0f);
            else
                for (int i = 0; i < RR * CC; i++)
                    f[i] = 0.0f;
            for (int i = 0; i < RR * CC; i++)
                f[i] += (float)(0.004 * t) * z[i];
            cr_assert_eq(km_odometry_update(ctx, o, &fr, NULL, &s), KM_OK);
            if (k > 16) {
                late_lifts += t >= 5000;
                cr_assert(s.flags & KM_ODO_LIFTED, "frame %d (lifted, taxel sd %.0f kPa) read "
                          "as contact at row %.2f", t, 0.004 * t, s.contact_row);
            } else if (!(s.flags & KM_ODO_LIFTED)) {
                worst = fmax(worst, fabs(s.y_mm - pos * pitch));
            }
        }
        cycle++;
    }
    cr_assert_geq(late_lifts, 1500);
    /* a tenth of a pitch: the band's rows carry the spread too */
    cr_assert_leq(worst, 0.1 * pitch, "worst contact frame %.2f mm off", worst);
    km_odometry_free(o);
}

/* Rows whose levels fan out (model 1's sensor over an hour: each taxel's
   offset drifts N(0, 1 kPa a minute), a reading is clamped at 0, so half
   the rows of a roller sit at 0 and the others spread over tens of kPa).
   The floor is a rank among the rows: taken over the raw row medians, the
   three rows the band loads moved that rank from the last row at 0 to the
   fourth row above it, so the floor stepped by the levels' spacing between
   contact and lift; in the air every row stood over lift_threshold and the
   lift, after its frames had worn the contact strength down, read as firm
   contact anywhere (model 1 seed 1, 3600 s: every position past 2376 s up
   to 740 mm off; docs/ALGORITHMS.md 7.1 step 2).  32 rows of 8 columns on
   a 50 mm radius: rows 0-15 at 0, rows 16-31 rising to 2.5 kPa apart
   (2.5-40 kPa) over 300 s; the band (40 kPa) rolls rows 2-12 and back, a
   row every 4 frames, and is lifted for 0.8 s at every second return. */
Test(odometry_drift, rows_fanning_out_do_not_move_the_floor_between_contact_and_lift)
{
    enum { RR = 32, CC = 8, RAMP = 30000, END = 36000 };
    const double pitch = 2 * PI * 50.0 / RR;
    static float f[RR * CC];
    km_frame fr = {f, RR, CC, CC};
    km_odometry *o = NULL;
    km_odometry_sample s;
    cr_assert_eq(km_odometry_create(ctx, RR, CC, 50.0, NULL, &o), KM_OK);
    int t = 0, cycle = 0, late_lifts = 0;
    double worst = 0.0;
    while (t < END) {
        int lift = cycle % 2 == 1 ? 80 : 0;
        for (int k = 0; k < 81 + lift && t < END; k++, t++) {
            int step = k / 4, pos = step <= 10 ? step : 20 - step; /* rows from 2 */
            if (k <= 80)
                km_test_band_frame(f, RR, CC, 2 + pos, 40.0f);
            else
                for (int i = 0; i < RR * CC; i++)
                    f[i] = 0.0f;
            double ramp = t < RAMP ? (double)t / RAMP : 1.0;
            for (int32_t r = 16; r < RR; r++)
                for (int32_t c = 0; c < CC; c++)
                    f[r * CC + c] += (float)(2.5 * (r - 15) * ramp);
            cr_assert_eq(km_odometry_update(ctx, o, &fr, NULL, &s), KM_OK);
            if (k > 80) {
                late_lifts += t >= 2 * RAMP / 3;
                cr_assert(s.flags & KM_ODO_LIFTED, "frame %d (lifted, rows %.1f kPa apart) read "
                          "as contact at row %.2f", t, 2.5 * ramp, s.contact_row);
            } else if (!(s.flags & KM_ODO_LIFTED)) {
                worst = fmax(worst, fabs(s.y_mm - pos * pitch));
            }
        }
        cycle++;
    }
    cr_assert_geq(late_lifts, 3000, "the test must lift after the fan passed the threshold");
    cr_assert_leq(worst, 0.05 * pitch, "worst contact frame %.2f mm off", worst);
    /* the zero drift followed (7.1 step 6): rows 0 to 40 kPa apart, held
       for the last 60 s; the limit is the band's 40 kPa */
    double spread = -1.0, limit = -1.0;
    km_odometry_zero_drift(o, &spread, &limit);
    cr_assert_float_eq(spread, 40.0, 0.5, "zero drift %.2f", spread);
    cr_assert_float_eq(limit, 40.0, 0.5, "limit %.2f", limit);
    km_odometry_free(o);
}

/* Before any contact there is no drift and no limit; NULL outputs are fine. */
Test(odometry_drift, zero_drift_is_zero_before_contact)
{
    km_odometry *o = NULL;
    double spread = -1.0, limit = -1.0;
    cr_assert_eq(km_odometry_create(ctx, 16, 8, 40.0, NULL, &o), KM_OK);
    km_odometry_zero_drift(o, &spread, &limit);
    cr_assert(spread == 0.0 && limit == 0.0, "spread %g limit %g", spread, limit);
    km_odometry_zero_drift(o, NULL, NULL);
    km_odometry_zero_drift(NULL, &spread, &limit);
    cr_assert(spread == 0.0 && limit == 0.0);
    km_odometry_free(o);
}
