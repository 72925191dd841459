/* Where a roller frame's contact rows land on the body: shared by the body
 * map and the candidate map, whose grids must coincide cell for cell
 * (docs/ALGORITHMS.md 7.2).  Not installed. */
#ifndef KM_ROLLER_ROWS_H
#define KM_ROLLER_ROWS_H

#include <math.h>
#include <stdint.h>

#include "knotmap.h"

/* Body y of body row 0: the first frame's contact line, snapped so that
 * the nearest sensor row falls on a cell centre. */
static inline double km_roller_y_origin(const km_odometry_sample *odo, double pitch)
{
    const double c = odo->contact_row;
    return odo->y_mm + (floor(c + 0.5) - c) * pitch;
}

/* For the sensor row d rows from the contact row (d may be negative):
 * the sensor row index *r (wrapped around the roller) and the body row
 * *iy of the map whose row 0 lies at y_origin. */
static inline void km_roller_row(const km_odometry_sample *odo, int64_t d, int32_t rows,
                                 double pitch, double y_origin, int32_t *r, int64_t *iy)
{
    const double c = odo->contact_row;
    const int64_t ru = (int64_t)floor(c + 0.5) + d;
    const double y = odo->y_mm + ((double)ru - c) * pitch;
    *r = (int32_t)(((ru % rows) + rows) % rows);
    *iy = (int64_t)floor((y - y_origin) / pitch + 0.5);
}

#endif
