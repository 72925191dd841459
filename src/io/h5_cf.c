/* What another tool's session HDF5 says in the CF conventions that h5py,
 * xarray and h5netcdf write (docs/FORMAT.md 1.2, "Another tool's HDF5"):
 * the unit of /time, packed /frames (scale_factor, add_offset, _FillValue)
 * and the unit on /frames itself.  Ignoring them misreads the file without a
 * word: /time in milliseconds gave a rate 1000 times too low, int16 frames
 * packed by 0.1 read ten times too high. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "h5_cf.h"
#include "h5util.h"
#include "reader_internal.h"

static int lower_eq(const char *a, size_t n, const char *b)
{
    size_t i;
    for (i = 0; i < n && b[i] != '\0'; i++)
        if ((a[i] >= 'A' && a[i] <= 'Z' ? a[i] + ('a' - 'A') : a[i]) != b[i])
            return 0;
    return i == n && b[i] == '\0';
}

/* Seconds per unit of a CF time unit ("ms", "seconds since 2026-01-01"); 0 when unknown. */
static double time_unit_seconds(const char *u)
{
    static const struct {
        const char *name;
        double seconds;
    } units[] = {
        {"s", 1.0},     {"sec", 1.0},          {"secs", 1.0},          {"second", 1.0},
        {"seconds", 1.0}, {"ms", 1e-3},        {"msec", 1e-3},         {"millisecond", 1e-3},
        {"milliseconds", 1e-3}, {"us", 1e-6},  {"usec", 1e-6},         {"microsecond", 1e-6},
        {"microseconds", 1e-6}, {"ns", 1e-9},  {"nanosecond", 1e-9},   {"nanoseconds", 1e-9},
        {"min", 60.0},  {"minute", 60.0},      {"minutes", 60.0},      {"h", 3600.0},
        {"hour", 3600.0}, {"hours", 3600.0},   {"d", 86400.0},         {"day", 86400.0},
        {"days", 86400.0},
    };
    size_t n;
    while (*u == ' ')
        u++;
    for (n = 0; u[n] != '\0' && u[n] != ' '; n++)
        ;
    /* "UNIT" or "UNIT since DATE": the epoch only shifts the times */
    if (u[n] != '\0' && !(strncmp(u + n, " since ", 7) == 0))
        return 0.0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (lower_eq(u, n, units[i].name))
            return units[i].seconds;
    return 0.0;
}

km_status km_h5_time_scale(km_ctx *ctx, hid_t d, double *scale)
{
    char buf[128];
    km_status st = km_h5_attr_get_string(ctx, d, "units", buf, sizeof buf);
    *scale = 1.0;
    if (st == KM_ERR_NOT_FOUND)
        return KM_OK;
    if (st != KM_OK) {
        km_error_prefix(ctx, "/time");
        return st;
    }
    *scale = time_unit_seconds(buf);
    if (*scale == 0.0)
        return km_fail(ctx, KM_ERR_FORMAT,
                       "/time: attribute units = \"%s\" is not a time unit (s, ms, us, ns, min, h or d, "
                       "perhaps followed by 'since DATE')", buf);
    return KM_OK;
}

int km_h5_netcdf_phony(km_ctx *ctx, hid_t d)
{
    static const char SAY[] = "This is a netCDF dimension but not a netCDF variable";
    char buf[256];
    return km_h5_attr_get_string(ctx, d, "NAME", buf, sizeof buf) == KM_OK &&
           strncmp(buf, SAY, sizeof SAY - 1) == 0;
}

void km_h5_scale_times(double *t, int64_t n, double scale)
{
    if (scale != 1.0)
        for (int64_t i = 0; i < n; i++)
            t[i] *= scale;
}

/* A number attribute of /frames when present (*has = 1). */
static km_status frames_number(km_ctx *ctx, hid_t d, const char *name, double *out, int *has)
{
    km_status st = km_h5_attr_get_double(ctx, d, name, out);
    *has = st == KM_OK;
    if (st == KM_ERR_NOT_FOUND)
        return KM_OK;
    if (st != KM_OK)
        km_error_prefix(ctx, "/frames");
    else if (!isfinite(*out) && strcmp(name, "_FillValue") != 0)
        return km_fail(ctx, KM_ERR_FORMAT, "/frames: attribute %s = %g is not finite", name, *out);
    return st;
}

/* The unit on /frames (xarray's and h5netcdf's place for it), taken when
 * the root has none: a knotmap unit as it is; Pa, MPa, psi to kPa. */
static km_status frames_units(km_ctx *ctx, hid_t d, km_session_info *info, km_h5_packing *p)
{
    char buf[64];
    double to_kpa;
    km_status st;
    if (info->units[0] != '\0')
        return KM_OK;
    st = km_h5_attr_get_string(ctx, d, "units", buf, sizeof buf);
    if (st == KM_ERR_NOT_FOUND || st == KM_ERR_FORMAT) /* unreadable: unknown, assumed */
        return KM_OK;
    if (st != KM_OK)
        return st;
    to_kpa = km_units_to_kpa(buf);
    if (km_units_known(buf)) {
        snprintf(info->units, sizeof info->units, "%.15s", buf); /* known units fit */
    } else if (isfinite(to_kpa)) {
        snprintf(info->units, sizeof info->units, "kPa");
        p->scale *= to_kpa;
        p->offset *= to_kpa;
        p->active = 1;
    }
    return KM_OK;
}

km_status km_h5_frames_cf(km_ctx *ctx, hid_t d, km_session_info *info, km_h5_packing *p)
{
    int has_scale, has_offset;
    km_status st;

    p->scale = 1.0;
    p->offset = 0.0;
    if ((st = frames_number(ctx, d, "scale_factor", &p->scale, &has_scale)) != KM_OK ||
        (st = frames_number(ctx, d, "add_offset", &p->offset, &has_offset)) != KM_OK ||
        (st = frames_number(ctx, d, "_FillValue", &p->fill, &p->has_fill)) != KM_OK)
        return st;
    if (has_scale && p->scale == 0.0)
        return km_fail(ctx, KM_ERR_FORMAT, "/frames: attribute scale_factor is 0");
    p->has_fill = p->has_fill && !isnan(p->fill);
    p->active = has_scale || has_offset || p->has_fill;
    if ((st = frames_units(ctx, d, info, p)) != KM_OK)
        return st;
    if (p->active && isfinite(info->saturation))
        info->saturation = info->saturation * p->scale + p->offset;
    return KM_OK;
}

void km_h5_unpack(const km_h5_packing *p, float *v, size_t n)
{
    if (!p->active)
        return;
    const float fill = (float)p->fill;
    for (size_t i = 0; i < n; i++)
        v[i] = p->has_fill && v[i] == fill ? NAN : (float)(v[i] * p->scale + p->offset);
}
