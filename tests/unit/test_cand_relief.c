/* The pipeline's relief rule of the knot candidates
 * (src/pipeline/cand_relief.c; docs/ALGORITHMS.md 10.4 Peaks):
 * exact invariants on hand-built values. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>

#include "pipeline/cand_relief.h"

/* The contact share: a peak under it is relief, unless its contact
   pressure reaches the sensor's full scale (clipped amplitude over a
   clipped contact); a grid without a body map has no share. */
Test(cand_relief, share_exempts_the_full_scale)
{
    const float press[2] = {100.0f, 101.6f};
    cr_assert(km_cand_relief(press, 0, 11.0, 0.12, INFINITY));
    cr_assert_not(km_cand_relief(press, 0, 12.5, 0.12, INFINITY));
    cr_assert(km_cand_relief(press, 1, 11.1, 0.12, INFINITY));
    cr_assert_not(km_cand_relief(press, 1, 11.1, 0.12, 0.99 * 101.7)); /* at the full scale */
    cr_assert(km_cand_relief(press, 0, 11.0, 0.12, 0.99 * 101.7));     /* under it */
    cr_assert_not(km_cand_relief(NULL, 0, 11.0, 0.12, INFINITY));
}

/* The holes of a mat's contact (km_cand_bad_cells): a contact over columns
   0-5 pressed at 40, off the body from column 6 at 3-6 kPa.  A dead taxel,
   a stuck one (pressure high, no data), a lost row segment: holes.  The
   off-body cells, also where a column beside the edge has data at 6 kPa
   every other row (quantised noise about the contact threshold, model 2
   hard): not holes, their neighbours are not pressed like the contact.
   Fails with the neighbours' pressure not tested (the off-body cell
   (1, 7) between (0, 7) and (2, 7)). */
Test(cand_relief, holes_in_the_contact_are_bad_cells)
{
    enum { NY = 9, NX = 9 };
    static float map[NY * NX], press[NY * NX], scratch[NY * NX];
    static uint8_t skip[NY * NX];
    for (int y = 0; y < NY; y++)
        for (int x = 0; x < NX; x++) {
            int on = x < 6 || (x == 7 && y % 2 == 0);
            map[y * NX + x] = on ? 0.0f : NAN;
            press[y * NX + x] = x < 6 ? 40.0f : x == 7 ? 6.0f : 3.0f;
        }
    map[2 * NX + 2] = NAN; /* dead */
    press[2 * NX + 2] = 0.0f;
    map[4 * NX + 3] = NAN; /* stuck: pressed, no data */
    for (int x = 1; x < 5; x++) { /* a lost row segment */
        map[6 * NX + x] = NAN;
        press[6 * NX + x] = 0.0f;
    }
    km_cand_bad_cells(map, press, NY, NX, scratch, skip);
    for (int y = 0; y < NY; y++)
        for (int x = 0; x < NX; x++) {
            int want = (y == 2 && x == 2) || (y == 4 && x == 3) || (y == 6 && x >= 1 && x < 5);
            cr_assert_eq(skip[y * NX + x], want, "cell %d, %d", y, x);
        }
    km_cand_bad_cells(map, NULL, NY, NX, scratch, skip); /* no body map: none */
    for (int i = 0; i < NY * NX; i++)
        cr_assert_eq(skip[i], 0, "cell %d", i);
}
