/* Tracking (docs/ALGORITHMS.md 9) on a hand-built sequence with exact
 * expected ids: two blobs crossing near each other, a gap of two frames, a
 * peak appearing, disappearing and coming back, a track ending. */
#include <criterion/criterion.h>
#include <math.h>
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

TestSuite(tracking, .init = setup, .fini = teardown);

typedef struct pt {
    double y, x;
    float v;
} pt;

/* Feed one frame of up to 4 peaks and check their ids. */
static void frame(km_tracker *t, int64_t f, const pt *p, size_t n, const int32_t *want)
{
    double y[4], x[4];
    float v[4];
    int32_t ids[4] = {-9, -9, -9, -9};
    for (size_t i = 0; i < n; i++) {
        y[i] = p[i].y;
        x[i] = p[i].x;
        v[i] = p[i].v;
    }
    cr_assert_eq(km_tracker_update(ctx, t, f, y, x, v, n, ids), KM_OK, "%s",
                 km_ctx_last_error(ctx));
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(ids[i], want[i], "frame %lld peak %zu: id %d, want %d", (long long)f, i,
                     ids[i], want[i]);
}

Test(tracking, crossing_gap_appear_disappear)
{
    km_track_params p;
    km_track_params_default(&p);
    cr_assert_eq(p.gate_mm, 15.0);
    cr_assert_eq(p.max_gap, 2);
    p.gate_mm = 10.0;
    km_tracker *t = NULL;
    cr_assert_eq(km_tracker_create(ctx, &p, &t), KM_OK);

    /* A moves +x by 4 mm per frame, B moves -x: they come 6 mm apart at
       frame 3 (each still nearest its own track). */
    frame(t, 0, (pt[]){{0, 0, 10}, {0, 30, 9}}, 2, (int32_t[]){0, 1});
    frame(t, 1, (pt[]){{0, 4, 10}, {0, 26, 9}}, 2, (int32_t[]){0, 1});
    frame(t, 2, (pt[]){{0, 8, 10}, {0, 22, 9}}, 2, (int32_t[]){0, 1});
    frame(t, 3, (pt[]){{0, 12, 10}, {0, 18, 9}}, 2, (int32_t[]){0, 1});
    /* They part again; A vanishes for frames 4-5 (B at x=22 is 4 mm from
       B's last position, 10 from A's: nearest pair first); C appears (first
       in value order: id 2). */
    frame(t, 4, (pt[]){{50, 50, 20}, {0, 22, 9}}, 2, (int32_t[]){2, 1});
    frame(t, 5, (pt[]){{50, 50, 20}, {0, 26, 9}}, 2, (int32_t[]){2, 1});
    /* A returns after a gap of 2 frames, 4 mm from its last position. */
    frame(t, 6, (pt[]){{0, 8, 10}, {0, 30, 9}}, 2, (int32_t[]){0, 1});
    /* C misses frames 6-7 and returns at frame 8 (gap 2); D is new. */
    frame(t, 7, (pt[]){{0, 34, 9}}, 1, (int32_t[]){1});
    cr_assert_eq(km_tracker_pop(t, (km_track[1]){{0}}, 1), 0, "nothing ended yet");
    frame(t, 8, (pt[]){{50, 51, 20}, {0, 60, 5}}, 2, (int32_t[]){2, 3});
    frame(t, 9, NULL, 0, NULL);
    /* A last seen at frame 6: at frame 10 it has missed 3 > max_gap frames,
       so a peak where it was starts a new track. */
    frame(t, 10, (pt[]){{0, 8, 10}}, 1, (int32_t[]){4});
    cr_assert_eq(km_tracker_count(t), 5);

    km_track out[8];
    size_t n = km_tracker_pop(t, out, 8);
    cr_assert_eq(n, 1);
    cr_assert_eq(out[0].track, 0);
    cr_assert_eq(out[0].first_frame, 0);
    cr_assert_eq(out[0].last_frame, 6);
    cr_assert_eq(out[0].n_frames, 5);
    cr_assert_float_eq(out[0].x_mean, (0 + 4 + 8 + 12 + 8) / 5.0, 1e-12);
    cr_assert_float_eq(out[0].y_mean, 0.0, 1e-12);
    cr_assert_eq(out[0].value_max, 10.0f);

    /* D (last frame 8) ended at frame 11 but frame 11 never came: finish. */
    cr_assert_eq(km_tracker_finish(ctx, t), KM_OK);
    n = km_tracker_pop(t, out, 8);
    cr_assert_eq(n, 4);
    /* In order of ending: B (7), C (8), D (8), the new one (10). */
    int32_t want_id[4] = {1, 2, 3, 4};
    int64_t want_last[4] = {7, 8, 8, 10}, want_n[4] = {8, 3, 1, 1};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(out[i].track, want_id[i], "row %d", i);
        cr_assert_eq(out[i].last_frame, want_last[i], "row %d", i);
        cr_assert_eq(out[i].n_frames, want_n[i], "row %d", i);
    }
    cr_assert_float_eq(out[0].x_mean, (30 + 26 + 22 + 18 + 22 + 26 + 30 + 34) / 8.0, 1e-12);
    cr_assert_eq(out[1].first_frame, 4);
    cr_assert_float_eq(out[1].x_mean, (50 + 50 + 51) / 3.0, 1e-12);
    cr_assert_float_eq(out[1].y_mean, 50.0, 1e-12);
    cr_assert_eq(out[1].value_max, 20.0f);
    cr_assert_eq(km_tracker_pop(t, out, 8), 0);
    km_tracker_free(t);
}

Test(tracking, tie_goes_to_the_lower_id)
{
    km_tracker *t = NULL;
    cr_assert_eq(km_tracker_create(ctx, NULL, &t), KM_OK);
    frame(t, 0, (pt[]){{0, 0, 5}, {0, 10, 5}}, 2, (int32_t[]){0, 1});
    /* One peak exactly between: equal distance, the lower id wins. */
    frame(t, 1, (pt[]){{0, 5, 5}}, 1, (int32_t[]){0});
    /* Two peaks at equal distance from track 1's last position (x=10) and
       farther from track 0's (now x=5): the earlier peak in order wins it. */
    frame(t, 2, (pt[]){{3, 10, 5}, {-3, 10, 5}}, 2, (int32_t[]){1, 0});
    km_tracker_free(t);
}

Test(tracking, beyond_the_gate_is_a_new_track)
{
    km_track_params p = {5.0, 0};
    km_tracker *t = NULL;
    cr_assert_eq(km_tracker_create(ctx, &p, &t), KM_OK);
    frame(t, 0, (pt[]){{0, 0, 1}}, 1, (int32_t[]){0});
    frame(t, 1, (pt[]){{0, 5, 1}}, 1, (int32_t[]){0});   /* exactly at the gate: linked */
    frame(t, 2, (pt[]){{0, 10.001, 1}}, 1, (int32_t[]){1});
    frame(t, 4, (pt[]){{0, 10.001, 1}}, 1, (int32_t[]){2}); /* max_gap 0: frame 3 missed */
    km_tracker_free(t);
}

Test(tracking, invalid_use)
{
    km_track_params p = {0.0, 2};
    km_tracker *t = NULL;
    cr_assert_eq(km_tracker_create(ctx, &p, &t), KM_ERR_INVALID);
    cr_assert_null(t);
    p.gate_mm = NAN;
    cr_assert_eq(km_tracker_create(ctx, &p, &t), KM_ERR_INVALID);
    p.gate_mm = 1.0;
    p.max_gap = -1;
    cr_assert_eq(km_tracker_create(ctx, &p, &t), KM_ERR_INVALID);
    cr_assert_eq(km_tracker_create(ctx, NULL, &t), KM_OK);
    double y = 0, x = 0;
    float v = 1;
    int32_t id;
    cr_assert_eq(km_tracker_update(ctx, t, 5, &y, &x, &v, 1, &id), KM_OK);
    cr_assert_eq(km_tracker_update(ctx, t, 5, &y, &x, &v, 1, &id), KM_ERR_INVALID);
    cr_assert_eq(km_tracker_update(ctx, t, 6, NULL, &x, &v, 1, &id), KM_ERR_INVALID);
    km_tracker_free(t);
    km_tracker_free(NULL);
}
