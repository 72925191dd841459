/* Calibration curves from raw counts to kPa: the Tekscan model
 * (docs/ALGORITHMS.md 1.2). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define KG_TO_N 9.80665           /* standard gravity: Tekscan's "Kgs" are kilogram-force */
#define LB_TO_N 4.4482216152605   /* pound-force */

static int bad_point(const km_calib_point *p)
{
    return !(p->load_n > 0.0) || !(p->raw_sum > 0.0) || !(p->n_loaded > 0.0) ||
           !isfinite(p->load_n) || !isfinite(p->raw_sum) || !isfinite(p->n_loaded);
}

km_status km_calib_curve_fit(km_ctx *ctx, km_calib_curve curve, const km_calib_point *pts,
                             int32_t n_pts, double cell_area_mm2, double *a, double *b)
{
    double sxy = 0.0, sxx = 0.0, sx = 0.0, sy = 0.0;

    if (a == NULL || b == NULL || (n_pts > 0 && pts == NULL) || n_pts < 1)
        return km_fail(ctx, KM_ERR_INVALID, "calibration curve: no calibration point");
    if (!(cell_area_mm2 > 0.0) || !isfinite(cell_area_mm2))
        return km_fail(ctx, KM_ERR_INVALID, "calibration curve: cell area %g mm2", cell_area_mm2);
    if (curve != KM_CURVE_LINEAR && curve != KM_CURVE_POWER)
        return km_fail(ctx, KM_ERR_INVALID, "calibration curve: kind %d cannot be fitted",
                       (int)curve);
    for (int32_t i = 0; i < n_pts; i++) {
        if (bad_point(&pts[i]))
            return km_fail(ctx, KM_ERR_INVALID,
                           "calibration point %d: load, raw sum and loaded cells must be > 0",
                           (int)i + 1);
        /* The mean loaded cell: N / mm2 = 1000 kPa. */
        double x = pts[i].raw_sum / pts[i].n_loaded;
        double y = pts[i].load_n / (pts[i].n_loaded * cell_area_mm2) * 1e3;
        if (curve == KM_CURVE_POWER) {
            x = log(x);
            y = log(y);
        }
        sxy += x * y;
        sxx += x * x;
        sx += x;
        sy += y;
    }
    if (curve == KM_CURVE_LINEAR) {
        *a = sxy / sxx;
        *b = 1.0;
        return KM_OK;
    }
    double n = (double)n_pts, den = n * sxx - sx * sx;
    /* Relative test: identical mean raw values make den vanish up to rounding. */
    if (n_pts < 2 || !(fabs(den) > 1e-12 * n * sxx))
        return km_fail(ctx, KM_ERR_INVALID,
                       "calibration curve: a power law needs 2 points with different mean "
                       "raw values");
    *b = (n * sxy - sx * sy) / den;
    *a = exp((sy - *b * sx) / n);
    return KM_OK;
}

/* Next number in s after *pos, strtod from the C locale's point (header
 * values are written with a point). */
static int next_number(const char *s, const char **pos, double *v)
{
    const char *p = *pos;
    while (*p != '\0' && !(isdigit((unsigned char)*p) || *p == '.' || *p == '-' || *p == '+'))
        p++;
    if (*p == '\0')
        return 0;
    char *end = NULL;
    *v = strtod(p, &end);
    if (end == p)
        return 0;
    *pos = end;
    (void)s;
    return 1;
}

static int has_word(const char *s, const char *word)
{
    size_t n = strlen(word);
    for (; *s != '\0'; s++) {
        size_t i = 0;
        while (i < n && s[i] != '\0' &&
               tolower((unsigned char)s[i]) == tolower((unsigned char)word[i]))
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

static int key_eq(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++)
        if (toupper((unsigned char)*a) != toupper((unsigned char)*b))
            return 0;
    return *a == '\0' && *b == '\0';
}

/* "75.0001 (Kgs) 4798 (Raw Sum) 240 (Number of Loaded Cells)". */
static km_status parse_point(km_ctx *ctx, const char *key, const char *v, km_calib_point *pt)
{
    const char *p = v;
    double load, sum, cells;
    if (!next_number(v, &p, &load) || !next_number(v, &p, &sum) || !next_number(v, &p, &cells))
        return km_fail(ctx, KM_ERR_FORMAT, "%s: expected 'LOAD (unit) RAW_SUM (Raw Sum) CELLS', "
                       "got '%s'", key, v);
    /* The unit follows the load: look only at the text up to the raw sum. */
    const char *first_close = strchr(v, ')');
    char unit[32] = "";
    if (first_close != NULL) {
        const char *open = strchr(v, '(');
        if (open != NULL && open < first_close) {
            size_t n = (size_t)(first_close - open - 1);
            if (n >= sizeof unit)
                n = sizeof unit - 1;
            memcpy(unit, open + 1, n);
            unit[n] = '\0';
        }
    }
    double to_n;
    if (has_word(unit, "kg"))
        to_n = KG_TO_N;
    else if (has_word(unit, "lb"))
        to_n = LB_TO_N;
    else if (unit[0] == 'N' || unit[0] == 'n')
        to_n = 1.0;
    else
        return km_fail(ctx, KM_ERR_FORMAT, "%s: unknown load unit '%s' (Kgs, Lbs or N)", key,
                       unit);
    pt->load_n = load * to_n;
    pt->raw_sum = sum;
    pt->n_loaded = cells;
    if (bad_point(pt))
        return km_fail(ctx, KM_ERR_FORMAT, "%s: load, raw sum and cells must be > 0 in '%s'",
                       key, v);
    return KM_OK;
}

/* "25.8064 mm2" (or cm2, in2) -> mm2; "5.08 mm" (or cm, in) -> mm. */
static double parse_measure(const char *v, int squared)
{
    const char *p = v;
    double x, f = 1.0;
    if (!next_number(v, &p, &x))
        return NAN;
    if (has_word(p, "cm"))
        f = 10.0;
    else if (has_word(p, "in"))
        f = 25.4;
    return squared ? x * f * f : x * f;
}

km_status km_calib_header_points(km_ctx *ctx, const char *const *keys,
                                 const char *const *values, size_t n, km_calib_point *pts,
                                 int32_t capacity, int32_t *n_pts, double *cell_area_mm2)
{
    int32_t count = 0;
    double area = NAN, rs = NAN, cs = NAN;
    static const char prefix[] = "CALIBRATION_POINT_";

    if (n_pts == NULL || (n > 0 && (keys == NULL || values == NULL)) || capacity < 0 ||
        (capacity > 0 && pts == NULL))
        return km_fail(ctx, KM_ERR_INVALID, "calibration header: bad arguments");
    *n_pts = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = keys[i], *v = values[i];
        if (k == NULL || v == NULL)
            continue;
        if (strncmp(k, prefix, sizeof prefix - 1) == 0 &&
            isdigit((unsigned char)k[sizeof prefix - 1])) {
            km_calib_point pt;
            km_status st = parse_point(ctx, k, v, &pt);
            if (st != KM_OK)
                return st;
            if (count < capacity)
                pts[count] = pt;
            count++;
        } else if (key_eq(k, "SENSEL_AREA")) {
            area = parse_measure(v, 1);
        } else if (key_eq(k, "ROW_SPACING")) {
            rs = parse_measure(v, 0);
        } else if (key_eq(k, "COL_SPACING")) {
            cs = parse_measure(v, 0);
        }
    }
    if (!(area > 0.0))
        area = rs * cs;
    *n_pts = count;
    if (cell_area_mm2 != NULL)
        *cell_area_mm2 = area > 0.0 ? area : NAN;
    return KM_OK;
}

void km_calib_curve_apply(double a, double b, float *values, size_t n)
{
    if (values == NULL)
        return;
    if (b == 1.0) {
        float fa = (float)a;
        for (size_t i = 0; i < n; i++)
            values[i] *= fa;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        double v = values[i];
        double m = a * pow(fabs(v), b);
        values[i] = (float)(v < 0.0 ? -m : m);
    }
}
