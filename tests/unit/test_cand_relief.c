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
