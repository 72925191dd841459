/* Map filters of the knot detector (docs/ALGORITHMS.md 10.4: spikes, edges of
 * the contact) on hand-built maps with values worked out by hand. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect/mapfilt.h"
#include "knotmap.h"

#define NY 9
#define NX 9

static float map[NY * NX], out[NY * NX], noise[NY * NX];

static void flat(float v)
{
    for (int i = 0; i < NY * NX; i++) {
        map[i] = v;
        noise[i] = 1.0f;
    }
}

static float *at(int y, int x)
{
    return &map[y * NX + x];
}

/* A hot taxel on a mat: one cell 10 above a flat 2 is replaced by 2. */
Test(mapfilt, despike_removes_one_hot_cell)
{
    flat(2.0f);
    *at(4, 4) = 12.0f;
    km_map_despike(map, NY, NX, 0, noise, 5.0, out);
    cr_assert_float_eq(out[4 * NX + 4], 2.0f, 1e-6);
    for (int i = 0; i < NY * NX; i++)
        if (i != 4 * NX + 4)
            cr_assert_eq(out[i], map[i]);
}

/* Under 5 noise sd (the default min_snr) it stays: 7.4 above the
   background with noise 1.5 is 4.93 sd; 7.6 (5.07 sd) goes. */
Test(mapfilt, despike_keeps_a_spike_under_5_sd)
{
    flat(0.0f);
    for (int i = 0; i < NY * NX; i++)
        noise[i] = 1.5f;
    *at(4, 4) = 7.4f;
    km_map_despike(map, NY, NX, 0, noise, 5.0, out);
    cr_assert_eq(out[4 * NX + 4], 7.4f);
    *at(4, 4) = 7.6f;
    km_map_despike(map, NY, NX, 0, noise, 5.0, out);
    cr_assert_eq(out[4 * NX + 4], 0.0f);
}

/* A roller's hot taxel: a streak of 3 cells along y, one column wide.  With
   x_only each cell is a spike (its left and right neighbours are at the
   background); with all 4 neighbours tested none is. */
Test(mapfilt, despike_roller_streak_one_column)
{
    flat(1.0f);
    *at(3, 4) = 7.0f;
    *at(4, 4) = 12.0f;
    *at(5, 4) = 7.0f;
    km_map_despike(map, NY, NX, 1, noise, 5.0, out);
    cr_assert_float_eq(out[3 * NX + 4], 1.0f, 1e-6);
    cr_assert_float_eq(out[4 * NX + 4], 1.0f, 1e-6);
    cr_assert_float_eq(out[5 * NX + 4], 1.0f, 1e-6);
    km_map_despike(map, NY, NX, 0, noise, 5.0, out);
    cr_assert_eq(out[4 * NX + 4], 12.0f);
}

/* A knot of sigma half the pitch sampled at its centre: neighbours at
   exp(-2) = 0.135 of the peak, above the 0.08 share: kept. */
Test(mapfilt, despike_keeps_a_knot_of_half_a_pitch)
{
    flat(0.0f);
    for (int y = 0; y < NY; y++)
        for (int x = 0; x < NX; x++)
            *at(y, x) = (float)(20.0 * exp(-2.0 * ((y - 4) * (y - 4) + (x - 4) * (x - 4))));
    km_map_despike(map, NY, NX, 1, noise, 5.0, out);
    cr_assert_eq(out[4 * NX + 4], map[4 * NX + 4]);
    km_map_despike(map, NY, NX, 0, noise, 5.0, out);
    cr_assert_eq(out[4 * NX + 4], map[4 * NX + 4]);
}

/* On a mat a high-gain taxel beside another structure (ALGORITHMS 10.4
   Spikes, the mean test): 30 above a flat 0 next to a band 8 high along
   column 5.  Its right neighbour stands 8 >= 0.08 x 30, so the each-under-
   the-share test keeps it; that neighbour is explained (the band goes on
   above and below it at 8), the other three average 0, one standard error
   (1 / sqrt 3) under 2.4: a spike.  The band itself is untouched, its ends
   on the map's border too (a line of raised cells runs into them). */
Test(mapfilt, despike_mat_taxel_beside_a_band)
{
    flat(0.0f);
    for (int y = 0; y < NY; y++)
        *at(y, 5) = 8.0f;
    *at(4, 4) = 30.0f;
    km_map_despike(map, NY, NX, 0, noise, 5.0, out);
    cr_assert_float_eq(out[4 * NX + 4], 0.0f, 1e-6);
    for (int i = 0; i < NY * NX; i++)
        if (i != 4 * NX + 4)
            cr_assert_eq(out[i], map[i], "cell %d, %d", i / NX, i % NX);
    /* A roller tests the left and right neighbours only, each under the
       share: kept. */
    km_map_despike(map, NY, NX, 1, noise, 5.0, out);
    cr_assert_eq(out[4 * NX + 4], 30.0f);
}

/* The same taxel on the shoulder of a knot of sigma 3 mm (0.6 of a 5 mm
   cell) centred two cells to its left, 20 high: the shoulder (5.0) is
   explained by the knot's centre beside it, the taxel goes; the knot stays
   (its shoulders other than the one the taxel explains are not explained:
   mean 5.0 against 0.08 x 20). */
Test(mapfilt, despike_mat_taxel_on_a_knot_shoulder_keeps_the_knot)
{
    flat(0.0f);
    double s = 0.6;
    for (int y = 0; y < NY; y++)
        for (int x = 0; x < NX; x++)
            *at(y, x) = (float)(20.0 * exp(-((y - 4) * (y - 4) + (x - 2) * (x - 2)) / (2 * s * s)));
    *at(4, 4) += 30.0f;
    km_map_despike(map, NY, NX, 0, noise, 5.0, out);
    cr_assert_lt(out[4 * NX + 4], 0.1f);
    for (int i = 0; i < NY * NX; i++)
        if (i != 4 * NX + 4)
            cr_assert_eq(out[i], map[i], "cell %d, %d", i / NX, i % NX);
}

/* A knot of sigma 3 mm straddling two 5 mm cells (centred on their common
   border, 20 high): both cells read 0.71 of it and each is the other's
   raised, unexplained neighbour: neither is a spike. */
Test(mapfilt, despike_mat_keeps_a_knot_straddling_two_cells)
{
    flat(0.0f);
    double s = 0.6;
    for (int y = 0; y < NY; y++)
        for (int x = 0; x < NX; x++)
            *at(y, x) = (float)(20.0 * exp(-((y - 4) * (y - 4) + (x - 4.5) * (x - 4.5)) /
                                           (2 * s * s)));
    km_map_despike(map, NY, NX, 0, noise, 5.0, out);
    for (int i = 0; i < NY * NX; i++)
        cr_assert_eq(out[i], map[i], "cell %d, %d", i / NX, i % NX);
}

/* A knot's footprint spread over three cells of a row, the middle one lower
   by noise (model 1 mat hard seed 34: 22.8, 16.9, 19.4 over -1.2): each end's
   neighbour is explained by the other end, but it stands at half the end's
   excess or more, so the end continues that structure: no spike. */
Test(mapfilt, despike_mat_keeps_a_footprint_along_a_row)
{
    flat(0.0f);
    *at(4, 3) = 24.0f;
    *at(4, 4) = 17.0f;
    *at(4, 5) = 20.0f;
    km_map_despike(map, NY, NX, 0, noise, 5.0, out);
    for (int i = 0; i < NY * NX; i++)
        cr_assert_eq(out[i], map[i], "cell %d, %d", i / NX, i % NX);
}

/* Bands one or two cells wide are lines of raised cells through each of
   their cells (ALGORITHMS 10.4 Spikes, the ridge rule): a band of 15 and
   13.5 on alternate rows running diagonally, (r, 1 + r) and (r, 2 + r),
   and one along a column.  Without the rule the mean test would take the
   cells whose two raised neighbours are both explained (on the diagonal
   band the lower rows' left cells, on the column every cell between the
   second and the second last) and cut the bands into fragments that look
   like knots. */
Test(mapfilt, despike_mat_keeps_bands_whole)
{
    flat(0.0f);
    for (int r = 0; r < NY; r++)
        for (int k = 1; k <= 2 && r + k < NX; k++)
            *at(r, r + k) = (r & 1) ? 13.5f : 15.0f;
    km_map_despike(map, NY, NX, 0, noise, 5.0, out);
    for (int i = 0; i < NY * NX; i++)
        cr_assert_eq(out[i], map[i], "diagonal band: cell %d, %d", i / NX, i % NX);
    flat(0.0f);
    for (int y = 0; y < NY; y++)
        *at(y, 4) = 12.0f;
    km_map_despike(map, NY, NX, 0, noise, 5.0, out);
    for (int i = 0; i < NY * NX; i++)
        cr_assert_eq(out[i], map[i], "band along y: cell %d, %d", i / NX, i % NX);
}

/* Edges: the map's border (10 of 24 window cells off the map), a cell next
   to a NaN half plane (10), beside a NaN row segment (5: not an edge), next
   to one NaN cell (1), and the middle (0). */
Test(mapfilt, edge_of_the_contact)
{
    flat(1.0f);
    cr_assert(km_map_at_edge(map, NULL, NY, NX, 0, 4));
    cr_assert(km_map_at_edge(map, NULL, NY, NX, 4, 8));
    cr_assert(km_map_at_edge(map, NULL, NY, NX, 1, 1)); /* 9 off the map */
    cr_assert_not(km_map_at_edge(map, NULL, NY, NX, 2, 2));
    cr_assert_not(km_map_at_edge(map, NULL, NY, NX, 4, 4));
    for (int x = 2; x < 7; x++)
        *at(3, x) = NAN; /* a lost row segment above (4, 4) */
    cr_assert_not(km_map_at_edge(map, NULL, NY, NX, 4, 4));
    flat(1.0f);
    *at(4, 5) = NAN;
    cr_assert_not(km_map_at_edge(map, NULL, NY, NX, 4, 4));
    flat(1.0f);
    for (int y = 0; y < NY; y++)
        for (int x = 6; x < NX; x++)
            *at(y, x) = NAN; /* outside the body from column 6 */
    cr_assert(km_map_at_edge(map, NULL, NY, NX, 4, 5));     /* 2 columns of NaN: 10 */
    cr_assert_not(km_map_at_edge(map, NULL, NY, NX, 4, 4)); /* 1 column: 5 */
}

/* Holes in the contact (skip) are neither contact nor edge: off the peak's
   row they leave the window, 8 of 24 scaled to the cells left; on its own
   row they still count (they bias its row median as the edge does); off
   the map nothing is skipped.  Fails with skip ignored (the first case). */
Test(mapfilt, holes_are_not_the_edge)
{
    static uint8_t skip[NY * NX];
    flat(1.0f);
    for (int y = 0; y < NY; y++)
        *at(y, 6) = *at(y, 7) = *at(y, 8) = NAN; /* the body's edge: 5 of (4, 4)'s window */
    int holes[3][2] = {{2, 3}, {3, 2}, {6, 5}};
    for (int i = 0; i < 3; i++) {
        *at(holes[i][0], holes[i][1]) = NAN;
        skip[holes[i][0] * NX + holes[i][1]] = 1;
    }
    cr_assert(km_map_at_edge(map, NULL, NY, NX, 4, 4));     /* 8 of 24 */
    cr_assert_not(km_map_at_edge(map, skip, NY, NX, 4, 4)); /* 5 of 21 */
    flat(1.0f);
    memset(skip, 0, sizeof skip);
    for (int y = 0; y < NY; y++)
        *at(y, 6) = NAN;
    *at(2, 3) = NAN; /* no hole: 6 with the edge */
    for (int x = 3; x < 5; x++) {
        *at(4, x) = NAN; /* holes on (4, 5)'s own row */
        skip[4 * NX + x] = 1;
    }
    cr_assert(km_map_at_edge(map, skip, NY, NX, 4, 5)); /* 8: left out, 6 of 22 */
    flat(1.0f);
    memset(skip, 1, sizeof skip);
    cr_assert(km_map_at_edge(map, skip, NY, NX, 0, 4)); /* 10 off the map of 14 */
}

/* The peak window per axis: two bumps 3 columns and 1 row apart.  The
   smaller one (5 at (4, 6)) is a window maximum while the box stops short
   of the larger (9 at (3, 3)): rx 2 keeps it, rx 3 drops it; ry 0 rows
   with rx 3 keeps it again (the larger is one row off).  Ties are kept. */
Test(mapfilt, window_max_per_axis)
{
    flat(0.0f);
    *at(3, 3) = 9.0f;
    *at(4, 6) = 5.0f;
    cr_assert(km_map_window_max(map, NY, NX, 4, 6, 1, 2));
    cr_assert_not(km_map_window_max(map, NY, NX, 4, 6, 1, 3));
    cr_assert(km_map_window_max(map, NY, NX, 4, 6, 0, 3));
    cr_assert(km_map_window_max(map, NY, NX, 3, 3, 8, 8));
    *at(3, 5) = 9.0f; /* a tie within the window of (3, 3) */
    cr_assert(km_map_window_max(map, NY, NX, 3, 3, 1, 2));
    cr_assert(km_map_window_max(map, NY, NX, 3, 5, 1, 2));
    cr_assert_not(km_map_window_max(map, NY, NX, 0, 0, 8, 8)); /* the flat floor */
}

/* Cells without data never suppress a peak, and the window is clipped at
   the map's border. */
Test(mapfilt, window_max_ignores_nan_and_border)
{
    flat(0.0f);
    *at(0, 0) = 3.0f;
    *at(0, 1) = NAN;
    *at(1, 1) = NAN;
    cr_assert(km_map_window_max(map, NY, NX, 0, 0, 2, 2));
    *at(0, 2) = 3.5f;
    cr_assert_not(km_map_window_max(map, NY, NX, 0, 0, 2, 2));
    cr_assert(km_map_window_max(map, NY, NX, 0, 0, 2, 1));
}

/* mm to cells: rounded to the nearest cell, at least 1.  10 mm on 17.8 mm
   rows is 1 cell (0.56), on 5.2 mm columns 2 (1.92), on 3 mm 3 (3.33);
   0 mm is 1 cell (the 3 x 3 local maximum). */
Test(mapfilt, cells_from_mm)
{
    cr_assert_eq(km_map_cells(10.0, 17.8), 1);
    cr_assert_eq(km_map_cells(10.0, 5.2), 2);
    cr_assert_eq(km_map_cells(10.0, 3.0), 3);
    cr_assert_eq(km_map_cells(0.0, 5.0), 1);
    cr_assert_eq(km_map_cells(12.5, 5.0), 3); /* 2.5 rounds up */
    cr_assert_eq(km_map_cells(40.0, 9.8), 4);
}

/* A broad footprint (sigma 9 mm on 6 mm cells, 1.5 cells) centred at row
   10.3, column 9.6 of a 21 x 21 map, found at a peak cell 1.4 cells off (as
   on the amp map, where a noise bump on the flank can win): the position is
   the centre within 0.1 cell.  The filtered footprint is a Gaussian of
   sigma 1.5 sqrt 2 = 2.1 cells, whose 3-point parabola vertex is off by
   under 0.04 cell at these offsets; the old rule (the peak cell +-0.5)
   could not leave column 11. */
Test(mapfilt, locate_climbs_to_the_footprint_centre)
{
    enum { N = 21 };
    static float g[N * N];
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++) {
            double dy = (y - 10.3) / 1.5, dx = (x - 9.6) / 1.5;
            g[y * N + x] = (float)(20.0 * exp(-0.5 * (dy * dy + dx * dx)));
        }
    double fy = 0.0, fx = 0.0;
    km_map_locate(g, N, N, 10, 11, 6.0, 6.0, 9.0, &fy, &fx);
    cr_assert_float_eq(fy, 10.3, 0.1, "row %f", fy);
    cr_assert_float_eq(fx, 9.6, 0.1, "column %f", fx);
    /* Climbing is bounded by round(sigma / pitch) = 2 cells per axis: from 4
       columns off it stops 2 columns from the start, on the way. */
    km_map_locate(g, N, N, 10, 14, 6.0, 6.0, 9.0, &fy, &fx);
    cr_assert(fx >= 11.5 && fx <= 12.5, "column %f", fx);
    /* Without a sigma the peak cell is kept. */
    km_map_locate(g, N, N, 10, 11, 6.0, 6.0, 0.0, &fy, &fx);
    cr_assert(fy == 10.0 && fx == 11.0);
}

/* The footprint (amplitude 30) of sigma s mm centred (oy, ox) cells off
   the middle of a 25 x 25 map of rp x cp mm cells, and its amplitude map
   (the matched filter at s, noise 1), as the detector hands them to the
   elongation test. */
enum { NE = 25 };
static float raw[NE * NE], amp_e[NE * NE], snr_e[NE * NE], noise_e[NE * NE];

static void footprint(double s_y, double s_x, double rp, double cp, double oy, double ox,
                      double s_fit)
{
    for (int y = 0; y < NE; y++)
        for (int x = 0; x < NE; x++) {
            double dy = (y - 12 - oy) * rp / s_y, dx = (x - 12 - ox) * cp / s_x;
            raw[y * NE + x] = (float)(30.0 * exp(-0.5 * (dy * dy + dx * dx)));
            noise_e[y * NE + x] = 1.0f;
        }
    km_map_matched_filter(raw, NE, NE, s_fit / rp, s_fit / cp, noise_e, amp_e, snr_e);
}

/* Issue 11: knots on a roller with coarse rows (17.8 mm x 5.2 mm, the
   independent simulator's roller moderate seed 1) are blobs, at the 3 x 3
   cells and in the quadratic window (sigma 9 mm: +-3 columns, +-1 row).
   In mm the curvature along y is bounded by the row pitch: noise-free, the
   ratio of the principal curvatures in mm is 4.1 for a round knot of sigma
   4 mm there (1.0 on 5 mm x 5 mm cells), 3.9 for that session's knot of
   sigma 4.8 x 9.2 mm and 7.7 for its knot of 2.7 x 5.2 mm found 0.37 row
   and 0.26 column off its peak cell, so the test in mm took it for a ridge
   (with the map's noise 3 of the session's 5 knots, z 5-15, were dropped).
   Against a round footprint seen through the same grid they are blobs. */
Test(mapfilt, knots_on_coarse_rows_are_blobs)
{
    static const double c[][7] = {
        /* sigma y, x (mm), row, column pitch, offset y, x (cells), fitted sigma */
        {4.0, 4.0, 17.8, 5.2, 0.0, 0.0, 4.0},   {4.0, 4.0, 17.8, 5.2, 0.4, 0.0, 4.0},
        {9.0, 9.0, 17.8, 5.2, 0.0, 0.0, 9.0},   {9.2, 4.8, 17.8, 5.2, 0.18, 0.33, 4.2},
        {5.2, 2.7, 17.8, 5.2, 0.37, 0.26, 3.0}, {12.1, 6.1, 17.8, 5.2, 0.0, 0.0, 4.7},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        footprint(c[i][0], c[i][1], c[i][2], c[i][3], c[i][4], c[i][5], c[i][6]);
        cr_assert_not(km_map_elongated(amp_e, raw, NE, NE, 12, 12, c[i][2], c[i][3], c[i][6],
                                       KM_ELONGATION_WINDOW, c[i][4], c[i][5]),
                      "case %zu", i);
    }
}

/* ... while a taut band along y (sigma 3 mm across, 70 mm along) stays a
   ridge on the same grid and on 5 mm cells, and a knot elongated 2x along
   the fibres on fine cells (2 mm, sigma 4 x 8 mm) is a blob. */
Test(mapfilt, bands_stay_ridges_on_any_grid)
{
    footprint(70.0, 3.0, 17.8, 5.2, 0.0, 0.0, 3.0);
    cr_assert(km_map_elongated(amp_e, raw, NE, NE, 12, 12, 17.8, 5.2, 3.0, KM_ELONGATION_WINDOW,
                               0.0, 0.0));
    footprint(70.0, 3.0, 5.0, 5.0, 0.0, 0.0, 4.0);
    cr_assert(km_map_elongated(amp_e, raw, NE, NE, 12, 12, 5.0, 5.0, 4.0, KM_ELONGATION_WINDOW,
                               0.0, 0.0));
    footprint(8.0, 4.0, 2.0, 2.0, 0.0, 0.0, 5.7);
    cr_assert_not(km_map_elongated(amp_e, raw, NE, NE, 12, 12, 2.0, 2.0, 5.7,
                                   KM_ELONGATION_WINDOW, 0.0, 0.0));
}

/* Issue 11, one-taxel peaks (docs/ALGORITHMS.md 10 step 4): on a mat of
   8 x 16 taxels (10 x 5 mm), 4 passes at 40 kPa, a taxel (3, 4) that reads
   30 kPa more at every pass (a knot narrower than a taxel, or a hot taxel:
   the map cannot tell) and a knot footprint at (4, 11) (30 kPa, 15 on its 4
   neighbours).  With one_taxel_weight 0 the one-taxel peak is dropped: the
   knot alone, thresholds opened or not.  With a weight (the default 0.05)
   and the thresholds opened (min_snr 0, as bench/eval.py's threshold-free
   ranking) it is listed after the knot, with its excess over the ring (30)
   as amplitude, the smallest sigma searched as size and a significance
   under the lowest score of a default candidate; at the defaults it is not a
   candidate, however large its z (this map has no noise: z about 1e6,
   which the weight alone, 0.05 z, had let through). */
static size_t one_taxel_run(km_ctx *ctx, double weight, double min_snr, km_candidate *got)
{
    enum { R = 8, C = 16 };
    km_candidates *c = NULL;
    float f[R * C];
    km_frame fr = {f, R, C, C};
    km_candidate_params p;
    km_candidate_params_default(&p);
    p.one_taxel_weight = weight;
    p.min_snr = min_snr;
    cr_assert_eq(km_candidates_create(ctx, KM_MODE_MAT, R, C, 10.0, 5.0, &p, &c), KM_OK);
    for (int frame = 0; frame < 80; frame++) {
        int contact = frame % 20 < 10;
        for (int i = 0; i < R * C; i++)
            f[i] = contact ? 40.0f : 0.0f;
        if (contact) {
            f[3 * C + 4] += 30.0f;
            f[4 * C + 11] += 30.0f;
            f[4 * C + 10] += 15.0f;
            f[4 * C + 12] += 15.0f;
            f[3 * C + 11] += 15.0f;
            f[5 * C + 11] += 15.0f;
        }
        cr_assert_eq(km_candidates_add(ctx, c, &fr, NULL, NULL, 0.01 * frame), KM_OK);
    }
    size_t n = 0;
    cr_assert_eq(km_candidates_get(ctx, c, got, 8, &n), KM_OK, "%s", km_ctx_last_error(ctx));
    km_candidates_free(c);
    return n;
}

Test(mapfilt, one_taxel_peak_listed_after_the_knots)
{
    km_ctx *ctx = NULL;
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    km_candidate_params d;
    km_candidate_params_default(&d);
    cr_assert_eq(d.one_taxel_weight, 0.05);
    const double bound = 0.9 * d.min_snr * d.min_persistence;
    km_candidate a[8], z[8], o[8];
    /* the defaults: the knot alone */
    cr_assert_eq(one_taxel_run(ctx, d.one_taxel_weight, d.min_snr, z), 1);
    cr_assert_float_eq(z[0].x_mm, 55.0, 1e-6);
    cr_assert_float_eq(z[0].y_mm, 40.0, 1e-6);
    /* weight 0: dropped even with the thresholds opened */
    cr_assert_eq(one_taxel_run(ctx, 0.0, 0.0, o), 1);
    cr_assert_float_eq(o[0].x_mm, 55.0, 1e-6);
    /* opened: the knot first, unchanged */
    cr_assert_eq(one_taxel_run(ctx, d.one_taxel_weight, 0.0, a), 2);
    cr_assert_float_eq(a[0].x_mm, 55.0, 1e-6);
    cr_assert_eq(a[0].significance, z[0].significance);
    cr_assert_eq(a[0].score, z[0].score);
    /* then the one-taxel peak at its cell, under the bound */
    cr_assert_float_eq(a[1].x_mm, 20.0, 1e-6);
    cr_assert_float_eq(a[1].y_mm, 30.0, 1e-6);
    cr_assert_float_eq(a[1].amplitude, 30.0, 1e-4);
    cr_assert_float_eq(a[1].size_mm, d.min_sigma_mm, 1e-12);
    cr_assert_eq(a[1].n_passes, 4);
    cr_assert_float_eq(a[1].persistence, 1.0, 1e-12);
    cr_assert(a[1].significance <= bound && a[1].significance > 0.99 * bound, "%g",
              a[1].significance);
    cr_assert(a[1].significance < d.min_snr);
    cr_assert_float_eq(a[1].score, a[1].significance, 1e-12);
    km_ctx_free(ctx);
}

/* The broad scales' own search (docs/ALGORITHMS.md 10.4 Broad scales) kept
 * beside the full one in one pass: the full result is km_map_scale_search's
 * and the band's is km_map_scale_search's on the band's scales alone, bit
 * for bit, on a map with a broad and a narrow bump over a texture. */
Test(mapfilt, scale_search_band_is_the_band_searched_alone)
{
    enum { H = 24, W = 20, C = H * W };
    static float a[C], nz[C], amp0[C], snr0[C], sig0[C], amp1[C], snr1[C], sig1[C],
        bamp[C], bsnr[C], bsig[C], amp2[C], snr2[C], sig2[C], scratch[5 * C];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            /* a broad bump (sigma 9 x 8 mm) and a narrow one (3.2 x 3 mm), 5 mm cells */
            double b = 9.0 * exp(-0.5 * (pow((y - 8) * 5.0 / 9.0, 2) +
                                         pow((x - 6) * 5.0 / 8.0, 2)));
            double n = 6.0 * exp(-0.5 * (pow((y - 16) * 5.0 / 3.2, 2) +
                                         pow((x - 14) * 5.0 / 3.0, 2)));
            a[y * W + x] = (float)(b + n + 0.3 * sin(1.7 * y + 2.3 * x));
            nz[y * W + x] = 1.0f;
        }
    a[3 * W + 17] = NAN; /* a cell without data */
    const double sig[] = {3.0, 3.75, 4.6875, 5.859375, 7.32421875, 9.1552734375,
                          11.444091796875, 14.30511474609375};
    km_map_scale_search(a, H, W, 5.0, 5.0, sig, 8, nz, amp0, snr0, sig0, scratch);
    km_map_scale_search(a, H, W, 5.0, 5.0, sig + 4, 4, nz, amp1, snr1, sig1, scratch);
    km_map_scale_search_band(a, H, W, 5.0, 5.0, sig, 8, 4, nz, amp2, snr2, sig2, bamp, bsnr,
                             bsig, scratch);
    int broad_best = 0;
    for (int i = 0; i < C; i++) {
        cr_assert(memcmp(&amp0[i], &amp2[i], sizeof(float)) == 0, "%d", i);
        cr_assert(memcmp(&snr0[i], &snr2[i], sizeof(float)) == 0, "%d", i);
        cr_assert(memcmp(&sig0[i], &sig2[i], sizeof(float)) == 0, "%d", i);
        cr_assert(memcmp(&amp1[i], &bamp[i], sizeof(float)) == 0, "%d", i);
        cr_assert(memcmp(&snr1[i], &bsnr[i], sizeof(float)) == 0, "%d", i);
        cr_assert(memcmp(&sig1[i], &bsig[i], sizeof(float)) == 0, "%d", i);
        broad_best += sig0[i] >= 6.0f;
    }
    /* both bands are exercised: cells whose best is broad and cells whose is not */
    cr_assert(broad_best > 0 && broad_best < C, "%d", broad_best);
    /* on the narrow bump the band's best is its narrowest scale, lower than the full one */
    cr_assert(sig2[16 * W + 14] < 6.0f && bsnr[16 * W + 14] < snr2[16 * W + 14], "%g %g %g",
              sig2[16 * W + 14], bsnr[16 * W + 14], snr2[16 * W + 14]);
    cr_assert(sig2[8 * W + 6] >= 6.0f && bsnr[8 * W + 6] == snr2[8 * W + 6], "%g %g %g",
              sig2[8 * W + 6], bsnr[8 * W + 6], snr2[8 * W + 6]);
}

static uint32_t mf_lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* The matched filter (AVX2 where the CPU has it: four cells at a time over
 * a NaN-padded row) gives the plain form's bits: widths that are no
 * multiple of four, wider than the footprint or narrower, one column or
 * row, past the AVX2 form's 1024 columns (the plain form then), footprints
 * from one cell to the 16-cell cap, maps with cells without data (NaN,
 * infinities, centres among them), signed zeros and negative values. */
Test(mapfilt, matched_filter_same_bits_as_the_plain_form)
{
    static const int32_t shapes[][2] = {{1, 1},  {1, 7},  {7, 1},  {5, 3},   {9, 9},  {6, 13},
                                        {4, 32}, {3, 37}, {40, 5}, {11, 64}, {2, 99}, {3, 1025}};
    static const double sig[][2] = {{0.0, 0.0}, {0.3, 0.3}, {1.0, 0.7}, {2.5, 1.3}, {7.0, 6.0}};
    uint32_t s = 4242u;
    size_t finite = 0, nan = 0;
    for (size_t h = 0; h < sizeof shapes / sizeof shapes[0]; h++) {
        int32_t ny = shapes[h][0], nx = shapes[h][1];
        size_t n = (size_t)ny * (size_t)nx;
        float *a = malloc(n * sizeof *a), *nz = malloc(n * sizeof *nz);
        float *amp = malloc(n * sizeof *amp), *snr = malloc(n * sizeof *snr);
        float *amp_p = malloc(n * sizeof *amp_p), *snr_p = malloc(n * sizeof *snr_p);
        cr_assert(a && nz && amp && snr && amp_p && snr_p);
        for (size_t i = 0; i < n; i++) {
            uint32_t k = mf_lcg(&s) % 20u;
            a[i] = k == 0 ? NAN : k == 1 ? INFINITY : k == 2 ? -INFINITY : k == 3 ? -0.0f
                 : k == 4 ? 0.0f : (float)((int32_t)(mf_lcg(&s) % 2001u) - 500) / 37.0f;
            nz[i] = 0.5f + (float)(mf_lcg(&s) % 100u) / 50.0f;
        }
        for (size_t g = 0; g < sizeof sig / sizeof sig[0]; g++) {
            km_map_matched_filter(a, ny, nx, sig[g][0], sig[g][1], nz, amp, snr);
            km_map_matched_filter_plain(a, ny, nx, sig[g][0], sig[g][1], nz, amp_p, snr_p);
            for (size_t i = 0; i < n; i++) {
                cr_assert(memcmp(&amp[i], &amp_p[i], sizeof amp[i]) == 0 &&
                              memcmp(&snr[i], &snr_p[i], sizeof snr[i]) == 0,
                          "%dx%d sigma %g,%g cell %zu: amp %a / %a, snr %a / %a", ny, nx,
                          sig[g][0], sig[g][1], i, (double)amp[i], (double)amp_p[i],
                          (double)snr[i], (double)snr_p[i]);
                finite += isfinite(amp[i]) != 0;
                nan += isnan(amp[i]) != 0;
            }
        }
        free(a), free(nz), free(amp), free(snr), free(amp_p), free(snr_p);
    }
    cr_assert(finite > 5000 && nan > 1000, "finite %zu, NaN %zu", finite, nan);
}

/* Every scale's maps kept by the one scale search (docs/ALGORITHMS.md 10.4
 * Scale of a peak): scale k's are km_map_matched_filter's at that sigma, and
 * the best-scale and band maps are km_map_scale_search_band's, bit for bit. */
Test(mapfilt, scale_search_keeps_every_scale)
{
    enum { H = 20, W = 18, C = H * W, S = 8 };
    static float a[C], nz[C], amp0[C], snr0[C], sig0[C], bamp0[C], bsnr0[C], bsig0[C], amp1[C],
        snr1[C], sig1[C], bamp1[C], bsnr1[C], bsig1[C], samp[S * C], ssnr[S * C], ak[C], zk[C],
        scratch[5 * C];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            a[y * W + x] = (float)(8.0 * exp(-0.5 * (pow((y - 9) * 5.0 / 7.0, 2) +
                                                     pow((x - 8) * 5.2 / 6.0, 2))) +
                                   0.4 * sin(1.3 * y + 2.9 * x));
            nz[y * W + x] = 0.5f + 0.01f * (float)((y * 7 + x * 3) % 11);
        }
    a[4 * W + 2] = NAN;
    const double sig[S] = {3.0, 3.75, 4.6875, 5.859375, 7.32421875, 9.1552734375,
                           11.444091796875, 14.30511474609375};
    km_map_scale_search_band(a, H, W, 11.0, 5.2, sig, S, 4, nz, amp0, snr0, sig0, bamp0, bsnr0,
                             bsig0, scratch);
    km_map_scale_search_keep(a, H, W, 11.0, 5.2, sig, S, 4, nz, amp1, snr1, sig1, bamp1, bsnr1,
                             bsig1, samp, ssnr, scratch);
    cr_assert(memcmp(amp0, amp1, sizeof amp0) == 0 && memcmp(snr0, snr1, sizeof snr0) == 0 &&
              memcmp(sig0, sig1, sizeof sig0) == 0 && memcmp(bamp0, bamp1, sizeof bamp0) == 0 &&
              memcmp(bsnr0, bsnr1, sizeof bsnr0) == 0 && memcmp(bsig0, bsig1, sizeof bsig0) == 0);
    for (int k = 0; k < S; k++) {
        km_map_matched_filter(a, H, W, sig[k] / 11.0, sig[k] / 5.2, nz, ak, zk);
        cr_assert(memcmp(ak, samp + k * C, sizeof ak) == 0, "scale %d", k);
        cr_assert(memcmp(zk, ssnr + k * C, sizeof zk) == 0, "scale %d", k);
    }
}

/* The scale of a peak's neighbourhood (docs/ALGORITHMS.md 10.4 Scale of a
 * peak) on hand-built per-scale maps, 9 x 9 cells of 5 mm, 8 scales: the
 * peak cell (4, 4) is best fitted at 3 mm (a narrow bump on a broad knot's
 * top); the cell beside it, 5 mm off, peaks at 7.3 mm above it. */
#define NS 8
static const double nb_sig[NS] = {3.0, 3.75, 4.6875, 5.859375, 7.32421875, 9.1552734375,
                                  11.444091796875, 14.30511474609375};
static float nb_amp[NS * NY * NX], nb_snr[NS * NY * NX];

static void nb_set(int y, int x, const float *z)
{
    for (int k = 0; k < NS; k++) {
        nb_snr[k * NY * NX + y * NX + x] = z[k];
        nb_amp[k * NY * NX + y * NX + x] = 2.0f * z[k] / (float)(k + 1);
    }
}

static void nb_reset(void)
{
    static const float low[NS] = {1, 1, 1, 1, 1, 1, 1, 1};
    for (int y = 0; y < NY; y++)
        for (int x = 0; x < NX; x++)
            nb_set(y, x, low);
    static const float peak[NS] = {6.0f, 5.8f, 5.5f, 5.2f, 5.0f, 4.5f, 4.0f, 3.5f};
    static const float side[NS] = {4.0f, 4.5f, 5.5f, 6.5f, 7.0f, 6.8f, 6.0f, 5.0f};
    nb_set(4, 4, peak);
    nb_set(4, 3, side);
    for (int i = 0; i < NY * NX; i++)
        noise[i] = 1.0f;
}

Test(mapfilt, neighbourhood_scale_of_a_peak)
{
    double z, a, s;
    nb_reset();
    cr_assert_eq(km_map_neighbourhood_scale(nb_amp, nb_snr, NY, NX, 5.0, 5.0, nb_sig, NS, noise,
                                            4, 4, 1.5, 10.0, 6.0, &z, &a, &s),
                 1);
    cr_assert_float_eq(z, 7.0, 1e-6);
    cr_assert_float_eq(a, 2.0 * 7.0 / 5.0, 1e-6); /* scale 4's amp at (4, 3) */
    /* the parabola through 6.5, 7.0, 6.8 in log sigma: a little above 7.3 mm */
    double l = 6.5f, h = 6.8f, off = 0.5 * (l - h) / (l - 14.0 + h);
    cr_assert_float_eq(s, nb_sig[4] * exp(off * log(1.25)), 1e-9);
    /* Not better than the cell's own z: left. */
    cr_assert_eq(km_map_neighbourhood_scale(nb_amp, nb_snr, NY, NX, 5.0, 5.0, nb_sig, NS, noise,
                                            4, 4, 1.5, 10.0, 7.5, &z, &a, &s),
                 0);
    /* Beyond the peak window (15 mm, over the 10 mm cap): not looked at. */
    static const float far[NS] = {4, 5, 6, 8, 9, 9.5f, 10, 8};
    nb_set(4, 1, far);
    cr_assert_eq(km_map_neighbourhood_scale(nb_amp, nb_snr, NY, NX, 5.0, 5.0, nb_sig, NS, noise,
                                            4, 4, 1.5, 10.0, 6.0, &z, &a, &s),
                 1);
    cr_assert_float_eq(z, 7.0, 1e-6);
    /* ... but within a wider cap it is, at 11.4 mm (radius 17.2 mm; 9.2 mm
       reaches 13.7 mm). */
    cr_assert_eq(km_map_neighbourhood_scale(nb_amp, nb_snr, NY, NX, 5.0, 5.0, nb_sig, NS, noise,
                                            4, 4, 1.5, 20.0, 6.0, &z, &a, &s),
                 1);
    cr_assert_float_eq(z, 10.0, 1e-6);
    /* Best at the largest scale (still growing: broader than a knot): left. */
    nb_reset();
    static const float growing[NS] = {4, 5, 6, 7, 8, 9, 10, 11};
    nb_set(4, 3, growing);
    cr_assert_eq(km_map_neighbourhood_scale(nb_amp, nb_snr, NY, NX, 5.0, 5.0, nb_sig, NS, noise,
                                            4, 4, 1.5, 10.0, 6.0, &z, &a, &s),
                 0);
    /* Not a maximum across scales at its cell: 10 mm off, scale 3 (5.9 mm,
       whose radius is 8.8 mm) stands higher there than scale 4's best. */
    nb_reset();
    static const float shoulder[NS] = {4, 5, 6, 9, 8, 7, 6, 5};
    nb_set(4, 2, shoulder);
    static const float plain[NS] = {1, 1, 1, 1, 1, 1, 1, 1};
    nb_set(4, 3, plain);
    cr_assert_eq(km_map_neighbourhood_scale(nb_amp, nb_snr, NY, NX, 5.0, 5.0, nb_sig, NS, noise,
                                            4, 4, 1.5, 10.0, 6.0, &z, &a, &s),
                 0);
    /* A quieter cell does not win by its noise: the side cell's noise a
       quarter of the peak's makes its response 7 / 4 (scale 4), under 6. */
    nb_reset();
    noise[4 * NX + 3] = 0.25f;
    cr_assert_eq(km_map_neighbourhood_scale(nb_amp, nb_snr, NY, NX, 5.0, 5.0, nb_sig, NS, noise,
                                            4, 4, 1.5, 10.0, 6.0, &z, &a, &s),
                 0);
    cr_assert_eq(km_map_neighbourhood_scale(nb_amp, nb_snr, NY, NX, 5.0, 5.0, nb_sig, NS, NULL,
                                            4, 4, 1.5, 10.0, 6.0, &z, &a, &s),
                 1);
}

/* A taut band of sigma sb mm across, 100 mm long (Gaussian ends of 8 mm),
   its axis angle_deg from the y axis, through the cell (12 + oy, 12 + ox)
   of a 25 x 25 map of rp x cp mm cells, and its amplitude map at s_fit. */
static void band(double sb, double angle_deg, double rp, double cp, double oy, double ox,
                 double s_fit)
{
    double t = angle_deg * acos(-1.0) / 180.0, uy = cos(t), ux = sin(t);
    for (int y = 0; y < NE; y++)
        for (int x = 0; x < NE; x++) {
            double py = (y - 12 - oy) * rp, px = (x - 12 - ox) * cp;
            double along = py * uy + px * ux, across = px * uy - py * ux;
            double e = fabs(along) > 50.0 ? fabs(along) - 50.0 : 0.0;
            raw[y * NE + x] = (float)(30.0 * exp(-0.5 * across * across / (sb * sb)) *
                                      exp(-0.5 * e * e / 64.0));
            noise_e[y * NE + x] = 1.0f;
        }
    km_map_matched_filter(raw, NE, NE, s_fit / rp, s_fit / cp, noise_e, amp_e, snr_e);
}

/* Issue 11, session 37: on model 2's mats (cells of 7.8 x 8.8 mm) a narrow
   taut band crossing the columns at a slant, fitted at 6 mm, is a staircase
   of cells whose 3 x 3 curvatures make a blob: over +-1.5 fitted sigmas the
   test never leaves the 3 x 3 cells, over the mats' +-2 it fits the
   quadratic over +-2 cells and sees the ridge, at every offset of the band
   from the cell.  Round knots and knots elongated 2x along the fibres, of
   sigma 2-9 mm, stay blobs with the mats' window. */
Test(mapfilt, slanted_bands_are_ridges_in_the_mats_window)
{
    static const double angles[] = {30.0, 45.0, 60.0}, widths[] = {2.5, 3.75};
    for (size_t a = 0; a < 3; a++)
        for (size_t w = 0; w < 2; w++)
            for (int o = 0; o < 4; o++) {
                double oy = (o & 1) ? 0.4 : 0.0, ox = (o & 2) ? 0.4 : 0.0;
                band(widths[w], angles[a], 7.8, 8.8, oy, ox, 6.0);
                cr_assert(km_map_elongated(amp_e, raw, NE, NE, 12, 12, 7.8, 8.8, 6.0,
                                           KM_ELONGATION_WINDOW_MAT, 0.0, 0.0),
                          "angle %g, sigma %g, offset %d", angles[a], widths[w], o);
            }
    /* Before (1.5 fitted sigmas on mats too): the 45-degree band a blob. */
    band(3.75, 45.0, 7.8, 8.8, 0.0, 0.0, 6.0);
    cr_assert_not(km_map_elongated(amp_e, raw, NE, NE, 12, 12, 7.8, 8.8, 6.0,
                                   KM_ELONGATION_WINDOW, 0.0, 0.0));
    for (double s = 2.0; s <= 9.0; s += 1.0)
        for (double el = 1.0; el <= 2.0; el += 0.5)
            for (int o = 0; o < 4; o++) {
                double oy = (o & 1) ? 0.4 : 0.0, ox = (o & 2) ? 0.4 : 0.0;
                double sy = s * sqrt(el), sx = s / sqrt(el);
                double fit = s < 3.0 ? 3.0 : s;
                footprint(sy, sx, 7.8, 8.8, oy, ox, fit);
                cr_assert_not(km_map_elongated(amp_e, raw, NE, NE, 12, 12, 7.8, 8.8, fit,
                                               KM_ELONGATION_WINDOW_MAT, oy, ox),
                              "knot sigma %g, elongation %g, offset %d", s, el, o);
            }
}
