/* Sub-pixel peak position: least-squares quadratic surface on the log of
 * the 3x3 neighbourhood (on the values when some are <= 0), with
 * documented fallbacks (docs/ALGORITHMS.md 3.4). */
#include <float.h>
#include <math.h>

#include "detect_internal.h"
#include "internal.h"

/* The 2-D vertex may land up to one taxel away: beyond that the surface
 * is not describing this maximum any more. */
#define KM_FIT_MAX_OFFSET 1.0

/* Vertex of the parabola through (-1, a), (0, b), (1, c); 0 when it opens
 * upwards or is flat. */
static double parabola_vertex(double a, double b, double c, int *ok)
{
    double den = a - 2.0 * b + c;
    if (!(den < 0.0)) {
        *ok = 0;
        return 0.0;
    }
    double t = 0.5 * (a - c) / den;
    if (!(fabs(t) <= KM_FIT_MAX_OFFSET)) {
        *ok = 0;
        return 0.0;
    }
    return t;
}

/* Vertex of the least-squares quadratic surface through the 3x3 values z;
 * 1 when it is a maximum (negative definite Hessian) within reach. */
static int quad_vertex(double z[3][3], double *dy, double *dx)
{
    /* Orthogonal basis 1, x, y, x^2-2/3, y^2-2/3, xy on the 3x3 grid:
     * each coefficient is a plain weighted sum, over the nine values in
     * row-major order from +0.0.  The weights 0 (b's centre column, c's
     * centre row, e's centre cross: 11 products) are left out and the
     * weights -1 subtract: the same bits, since a sum from +0.0 is never
     * -0.0 (adding a product by 0, +0.0 or -0.0, left it as it was) and
     * x + (-1 * v) is x - v.  A loop over the nine with weights
     * j, i, j*j - 2/3, i*i - 2/3 and i*j gave these bits
     * (tests/unit/test_detect.c subpixel_fit_bits_as_the_weighted_loop). */
    const double t = 1.0 - 2.0 / 3.0, m = 0.0 - 2.0 / 3.0;
    double b = 0.0 - z[0][0] + z[0][2] - z[1][0] + z[1][2] - z[2][0] + z[2][2];
    double c = 0.0 - z[0][0] - z[0][1] - z[0][2] + z[2][0] + z[2][1] + z[2][2];
    double e = 0.0 + z[0][0] - z[0][2] - z[2][0] + z[2][2];
    double d = 0.0 + t * z[0][0] + m * z[0][1] + t * z[0][2] + t * z[1][0] + m * z[1][1] +
               t * z[1][2] + t * z[2][0] + m * z[2][1] + t * z[2][2];
    double f = 0.0 + t * z[0][0] + t * z[0][1] + t * z[0][2] + m * z[1][0] + m * z[1][1] +
               m * z[1][2] + t * z[2][0] + t * z[2][1] + t * z[2][2];
    b /= 6.0;
    c /= 6.0;
    d /= 2.0;
    f /= 2.0;
    e /= 4.0;
    /* Maximum only when the Hessian [[2d, e], [e, 2f]] is negative definite. */
    double det = 4.0 * d * f - e * e;
    if (!(d < 0.0 && det > 0.0))
        return 0;
    *dx = (-2.0 * f * b + c * e) / det;
    *dy = (-2.0 * d * c + b * e) / det;
    return fabs(*dx) <= KM_FIT_MAX_OFFSET && fabs(*dy) <= KM_FIT_MAX_OFFSET;
}

/* km_subpixel; checked: every neighbour's place tested against the grid
 * (the plain form, km_subpixel_checked), else only for peaks on the edge. */
__attribute__((always_inline)) static inline int
subpixel(const float *data, ptrdiff_t stride, int32_t rows, int32_t cols, int32_t row,
         int32_t col, const km_mask *mask, double *y, double *x, int checked)
{
    double z[3][3], lz[3][3];
    int ok[3][3];
    int all = 1, pos = 1;

    *y = row;
    *x = col;
    if (!checked && row >= 1 && row < rows - 1 && col >= 1 && col < cols - 1) {
        /* Inside the grid (every peak but those on the edge): the 3x3
           block without bounds tests, the mask's rows read directly. */
        const uint8_t *md = mask != NULL ? mask->data : NULL;
        for (int di = -1; di <= 1; di++) {
            const float *dr = data + (ptrdiff_t)(row + di) * stride + col;
            const uint8_t *mr = md != NULL ? md + (ptrdiff_t)(row + di) * mask->row_stride + col
                                           : NULL;
            for (int dj = -1; dj <= 1; dj++) {
                float v = dr[dj];
                int good = fabsf(v) <= FLT_MAX && (mr == NULL || mr[dj] != 0);
                z[di + 1][dj + 1] = good ? (double)v : 0.0;
                ok[di + 1][dj + 1] = good;
                all &= good;
                pos &= good && v > 0.0f;
            }
        }
    } else {
        for (int di = -1; di <= 1; di++) {
            for (int dj = -1; dj <= 1; dj++) {
                int32_t r = row + di, c = col + dj;
                int good = r >= 0 && r < rows && c >= 0 && c < cols;
                float v = 0.0f;
                if (good) {
                    v = data[(ptrdiff_t)r * stride + c];
                    good = fabsf(v) <= FLT_MAX && km_mask_at(mask, r, c);
                }
                z[di + 1][dj + 1] = good ? (double)v : 0.0;
                ok[di + 1][dj + 1] = good;
                all &= good;
                pos &= good && v > 0.0f;
            }
        }
    }
    if (all) {
        double dy, dx;
        /* On log values first: a Gaussian blob is exactly a quadratic
         * there, so narrow blobs carry no fit bias; values <= 0 have no
         * log, and then the surface is fitted to the values themselves. */
        if (pos) {
            /* Nine calls in a row: as loops around the calls, their tests
               were mispredicted 80 000 times on the bench session. */
            lz[0][0] = log(z[0][0]);
            lz[0][1] = log(z[0][1]);
            lz[0][2] = log(z[0][2]);
            lz[1][0] = log(z[1][0]);
            lz[1][1] = log(z[1][1]);
            lz[1][2] = log(z[1][2]);
            lz[2][0] = log(z[2][0]);
            lz[2][1] = log(z[2][1]);
            lz[2][2] = log(z[2][2]);
            if (quad_vertex(lz, &dy, &dx)) {
                *y = row + dy;
                *x = col + dx;
                return 0;
            }
        }
        if (quad_vertex(z, &dy, &dx)) {
            *y = row + dy;
            *x = col + dx;
            return 0;
        }
    }
    /* Fallback: independent 1-D parabolas through the centre row and column
     * where both neighbours are valid; the integer position otherwise. */
    int okx = ok[1][0] && ok[1][2], oky = ok[0][1] && ok[2][1];
    if (okx) {
        double t = parabola_vertex(z[1][0], z[1][1], z[1][2], &okx);
        *x = col + t;
    }
    if (oky) {
        double t = parabola_vertex(z[0][1], z[1][1], z[2][1], &oky);
        *y = row + t;
    }
    return 1;
}

int km_subpixel(const float *data, ptrdiff_t stride, int32_t rows, int32_t cols, int32_t row,
                int32_t col, const km_mask *mask, double *y, double *x)
{
    return subpixel(data, stride, rows, cols, row, col, mask, y, x, 0);
}

int km_subpixel_checked(const float *data, ptrdiff_t stride, int32_t rows, int32_t cols,
                        int32_t row, int32_t col, const km_mask *mask, double *y, double *x)
{
    return subpixel(data, stride, rows, cols, row, col, mask, y, x, 1);
}
