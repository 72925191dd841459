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

/* The definition (docs/ALGORITHMS.md 9) written out plainly: every active
   track against every peak, the pairs sorted by (distance, peak, id). */
typedef struct ref_track {
    int32_t id;
    int64_t last;
    double y, x;
} ref_track;

typedef struct ref_pair {
    double d2;
    size_t peak, slot;
} ref_pair;

static int ref_pair_cmp(const void *a, const void *b)
{
    const ref_pair *p = a, *q = b;
    if (p->d2 != q->d2)
        return p->d2 < q->d2 ? -1 : 1;
    if (p->peak != q->peak)
        return p->peak < q->peak ? -1 : 1;
    return (p->slot > q->slot) - (p->slot < q->slot);
}

enum { REF_MAX_TRACKS = 512, REF_MAX_PEAKS = 96 };

typedef struct ref_tracker {
    double gate;
    int32_t max_gap, next_id;
    size_t n;
    ref_track tr[REF_MAX_TRACKS];
    ref_pair pairs[REF_MAX_TRACKS * REF_MAX_PEAKS];
    uint8_t used[REF_MAX_TRACKS];
} ref_tracker;

static void ref_update(ref_tracker *r, int64_t f, const double *y, const double *x, size_t n,
                       int32_t *ids)
{
    size_t keep = 0, np = 0;
    for (size_t j = 0; j < r->n; j++)
        if (f - r->tr[j].last - 1 <= r->max_gap)
            r->tr[keep++] = r->tr[j];
    r->n = keep;
    for (size_t i = 0; i < n; i++) {
        ids[i] = -1;
        for (size_t j = 0; j < r->n && isfinite(y[i]) && isfinite(x[i]); j++) {
            double dy = y[i] - r->tr[j].y, dx = x[i] - r->tr[j].x;
            double d2 = dy * dy + dx * dx;
            if (d2 <= r->gate * r->gate)
                r->pairs[np++] = (ref_pair){d2, i, j};
        }
    }
    qsort(r->pairs, np, sizeof *r->pairs, ref_pair_cmp);
    memset(r->used, 0, sizeof r->used);
    for (size_t k = 0; k < np; k++) {
        ref_pair *q = &r->pairs[k];
        if (ids[q->peak] >= 0 || r->used[q->slot])
            continue;
        r->used[q->slot] = 1;
        ids[q->peak] = r->tr[q->slot].id;
        r->tr[q->slot] = (ref_track){r->tr[q->slot].id, f, y[q->peak], x[q->peak]};
    }
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= 0)
            continue;
        cr_assert_lt(r->n, (size_t)REF_MAX_TRACKS);
        ids[i] = r->next_id++;
        r->tr[r->n++] = (ref_track){ids[i], f, isfinite(y[i]) ? y[i] : NAN,
                                    isfinite(x[i]) ? x[i] : NAN};
    }
}

static uint64_t rng_state;

static double uniform(void) /* [0, 1) */
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) * 0x1p-53;
}

/* A coordinate for a crowded frame: often on a multiple of half the gate or
   a float beside one (pairs exactly at the gate, ties, cell edges), else
   anywhere in `span` mm around `origin`. */
static double coord(double origin, double span, double gate)
{
    double u = uniform(), v = origin + floor(uniform() * span / (0.5 * gate)) * 0.5 * gate;
    if (u < 0.3)
        return v;
    if (u < 0.4)
        return nextafter(v, uniform() < 0.5 ? -INFINITY : INFINITY);
    return origin + uniform() * span;
}

/* Frames of up to 90 peaks (blobs that wander, come and go, and exact
   lattice points), against the definition: the ids of every peak equal. */
static void crowd_against_definition(double gate, double origin, double span, uint64_t seed)
{
    static ref_tracker r;
    double y[REF_MAX_PEAKS], x[REF_MAX_PEAKS], by[64], bx[64];
    float v[REF_MAX_PEAKS];
    int32_t ids[REF_MAX_PEAKS], want[REF_MAX_PEAKS];
    km_track_params p = {gate, 2};
    km_tracker *t = NULL;
    memset(&r, 0, sizeof r);
    r.gate = gate;
    r.max_gap = 2;
    rng_state = seed;
    cr_assert_eq(km_tracker_create(ctx, &p, &t), KM_OK);
    for (size_t b = 0; b < 64; b++)
        by[b] = coord(origin, span, gate), bx[b] = coord(origin, span, gate);
    for (int64_t f = 0; f < 300; f += 1 + (uniform() < 0.05) * 3) {
        size_t n = 0, crowd = uniform() < 0.2 ? 8 : 64;
        for (size_t b = 0; b < crowd; b++) {
            if (uniform() < 0.1)
                by[b] = coord(origin, span, gate), bx[b] = coord(origin, span, gate);
            by[b] += (uniform() - 0.5) * gate * (uniform() < 0.5 ? 0.0 : 0.8);
            if (uniform() < 0.75)
                y[n] = by[b], x[n] = bx[b], v[n++] = 1.0f;
        }
        for (size_t k = (size_t)(uniform() * 20); k > 0; k--)
            y[n] = coord(origin, span, gate), x[n] = coord(origin, span, gate), v[n++] = 2.0f;
        if (uniform() < 0.1)
            y[n] = NAN, x[n] = origin, v[n++] = 3.0f;
        if (uniform() < 0.1)
            y[n] = origin, x[n] = INFINITY, v[n++] = 3.0f;
        ref_update(&r, f, y, x, n, want);
        cr_assert_eq(km_tracker_update(ctx, t, f, y, x, v, n, ids), KM_OK);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(ids[i], want[i], "gate %g seed %llu frame %lld peak %zu of %zu: id %d, want %d",
                         gate, (unsigned long long)seed, (long long)f, i, n, ids[i], want[i]);
    }
    km_tracker_free(t);
}

/* 20 tracks at y just inside the grid's reach (2^30 cells of a bit more
   than the gate) and their peaks 8 mm beyond it: still linked. */
static void beyond_the_grid(void)
{
    double y[20], x[20], lim = 0x1p30 * 15.0 * (1.0 + 0x1p-20);
    float v[20];
    int32_t ids[20];
    km_tracker *t = NULL;
    cr_assert_eq(km_tracker_create(ctx, NULL, &t), KM_OK);
    for (int64_t f = 0; f < 2; f++) {
        for (size_t i = 0; i < 20; i++)
            y[i] = lim + (f == 0 ? -4.0 : 4.0), x[i] = 40.0 * (double)i, v[i] = 1.0f;
        cr_assert_eq(km_tracker_update(ctx, t, f, y, x, v, 20, ids), KM_OK);
        for (size_t i = 0; i < 20; i++)
            cr_assert_eq(ids[i], (int32_t)i, "frame %lld peak %zu: id %d", (long long)f, i, ids[i]);
    }
    km_tracker_free(t);
}

/* Crowded frames find their pairs through a grid of cells; the grid must
   give the pairs of the definition: positive and negative coordinates,
   pairs exactly at the gate and at cell edges, a gate that is no binary
   fraction, frames too sparse for the grid, positions too far out for it. */
Test(tracking, crowded_frames_equal_the_definition)
{
    for (uint64_t seed = 1; seed <= 6; seed++) {
        crowd_against_definition(15.0, 0.0, 150.0, seed);
        crowd_against_definition(15.0, -160.0, 200.0, seed);
        crowd_against_definition(7.3, -40.0, 90.0, seed);
        crowd_against_definition(4.0, -10.0, 30.0, seed);
        crowd_against_definition(15.0, -1e3, 4e3, seed);          /* sparse: no grid */
        crowd_against_definition(15.0, 1.6106127e10 - 150.0, 300.0, seed); /* 2^30 cells */
    }
    beyond_the_grid();
}
