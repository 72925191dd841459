/* Reading results and session ground truth back (see result_reader.h). */
#define _POSIX_C_SOURCE 200809L

#include "result_reader.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "h5util.h"
#include "reader_internal.h"

/* Open `path` read-only and check its schema attribute.  The file handle
 * goes to *out; the caller closes it. */
static km_status open_checked(km_ctx *ctx, const char *path, const char *schema, hid_t *out)
{
    struct stat sb;
    char buf[64];
    km_status st;
    hid_t f;

    *out = H5I_INVALID_HID;
    if (stat(path, &sb) != 0)
        return km_fail(ctx, KM_ERR_NOT_FOUND, "%s: %s", path, km_open_reason(errno));
    if (S_ISDIR(sb.st_mode))
        return km_fail(ctx, KM_ERR_NOT_FOUND, "%s: Is a directory", path);
    if (S_ISFIFO(sb.st_mode)) {
        km_refuse_pipe(ctx, path);
        km_error_prefix(ctx, path);
        return KM_ERR_NOT_FOUND;
    }
    int result = strcmp(schema, "knotmap-result") == 0;
    /* a recording where a result is wanted (render walk.asf): say how to make one */
    const char *make = result ? "; a recording? `knotmap process` makes its result"
                       : strcmp(schema, "knotmap-session") == 0
                           ? ": the truth is a session `knotmap synth` wrote, with its knots; a "
                             "recording has none"
                           : "";
    if (H5Fis_hdf5(path) <= 0)
        return km_fail(ctx, KM_ERR_FORMAT, "%s: not an HDF5 file (expected a %s file%s)", path,
                       schema, make);
    f = km_h5_open_ro(path, H5P_DEFAULT);
    if (f < 0)
        return km_h5_open_fail(ctx, path, KM_ERR_FORMAT);
    st = km_h5_attr_get_string(ctx, f, "schema", buf, sizeof buf);
    if (st == KM_OK && strcmp(buf, schema) != 0) /* a session where a result is wanted: say how */
        st = km_fail(ctx, KM_ERR_FORMAT, "%s: schema is '%s', expected '%s'%s", path, buf, schema,
                     strcmp(buf, "knotmap-session") == 0 ? " (a session: `knotmap process` makes its result)"
                     : strcmp(buf, "knotmap-result") == 0
                         ? " (a result: the truth is the session `knotmap synth` wrote)"
                         : "");
    else if (st == KM_ERR_NOT_FOUND)
        st = km_fail(ctx, KM_ERR_FORMAT, "%s: no schema attribute: not a %s file%s", path, schema,
                     result ? " (another tool's HDF5? `knotmap process --format session` makes "
                              "its result)"
                            : "");
    else if (st != KM_OK)
        km_error_prefix(ctx, path);
    if (st != KM_OK) {
        H5Fclose(f);
        return st;
    }
    *out = f;
    return KM_OK;
}

/* Does the link `name` (a path from loc) exist, all its parents too? */
static int has_path(hid_t loc, const char *name)
{
    char part[128];
    const char *slash = name;
    while ((slash = strchr(slash + 1, '/')) != NULL) {
        size_t n = (size_t)(slash - name);
        if (n >= sizeof part)
            return 0;
        memcpy(part, name, n);
        part[n] = '\0';
        if (H5Lexists(loc, part, H5P_DEFAULT) <= 0)
            return 0;
    }
    return H5Lexists(loc, name, H5P_DEFAULT) > 0;
}

/* A numeric dataset of rank `rank` with its dimensions (at most 2). */
static km_status open_numeric(km_ctx *ctx, const char *path, hid_t f, const char *name, int rank,
                              hsize_t *dims, hid_t *out)
{
    km_status st = KM_OK;
    hid_t d = H5I_INVALID_HID, type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    H5T_class_t cls;

    *out = H5I_INVALID_HID;
    if (!has_path(f, name))
        return km_fail(ctx, KM_ERR_FORMAT, "%s: no %s", path, name);
    d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) {
        st = km_fail(ctx, KM_ERR_FORMAT, "%s: %s is not a dataset", path, name);
        goto done;
    }
    type = H5Dget_type(d);
    cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
        st = km_fail(ctx, KM_ERR_FORMAT, "%s: %s does not hold numbers", path, name);
        goto done;
    }
    space = H5Dget_space(d);
    if (space < 0 || H5Sget_simple_extent_ndims(space) != rank) {
        st = km_fail(ctx, KM_ERR_FORMAT, "%s: %s must have rank %d", path, name, rank);
        goto done;
    }
    if (H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        st = km_fail(ctx, KM_ERR_FORMAT, "%s: %s: cannot read its shape", path, name);
        goto done;
    }
    /* Unwritten data (a few KiB declaring millions of rows) is refused
       before anything is allocated for it. */
    if ((st = km_h5_check_storage(ctx, d, name, H5Tget_size(type))) != KM_OK) {
        km_error_prefix(ctx, path);
        goto done;
    }
    *out = d;
    d = H5I_INVALID_HID;
done:
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    if (d >= 0)
        H5Dclose(d);
    return st;
}

static km_status read_all(km_ctx *ctx, const char *path, const char *name, hid_t d,
                          hid_t mem_type, void *buf)
{
    if (km_h5_dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        char why[256];
        km_status kind = km_h5_error_kind(KM_ERR_FORMAT, why, sizeof why);
        return km_fail(ctx, kind, "%s: %s cannot be read: %s", path, name, why);
    }
    return KM_OK;
}

/* A required positive number attribute on obj. */
static km_status get_pitch(km_ctx *ctx, const char *path, hid_t obj, const char *where,
                           const char *name, double *out)
{
    km_status st = km_h5_attr_get_double(ctx, obj, name, out);
    if (st == KM_ERR_NOT_FOUND)
        return km_fail(ctx, KM_ERR_FORMAT, "%s: %s has no attribute %s", path, where, name);
    if (st != KM_OK) {
        km_error_prefix(ctx, path);
        return st;
    }
    if (!(*out > 0.0) || !isfinite(*out))
        return km_fail(ctx, KM_ERR_FORMAT, "%s: %s attribute %s must be > 0", path, where, name);
    return KM_OK;
}

static void get_session_text(hid_t f, const char *name, char *buf, size_t cap, const char *dflt)
{
    hid_t g = has_path(f, "/session") ? H5Gopen2(f, "/session", H5P_DEFAULT) : H5I_INVALID_HID;
    if (g < 0 || km_h5_attr_get_string(NULL, g, name, buf, cap) != KM_OK)
        snprintf(buf, cap, "%s", dflt);
    if (g >= 0)
        H5Gclose(g);
}

static km_status read_geometry(km_ctx *ctx, const char *path, hid_t f, km_result_map *m,
                               const char *group)
{
    km_status st;
    hid_t g = H5Gopen2(f, group, H5P_DEFAULT);
    if (g < 0)
        return km_fail(ctx, KM_ERR_FORMAT, "%s: %s is not a group", path, group);
    if (strcmp(group, "/session") == 0) {
        m->x0_mm = 0.0;
        m->y0_mm = 0.0;
        st = get_pitch(ctx, path, g, group, "col_pitch_mm", &m->x_pitch_mm);
        if (st == KM_OK)
            st = get_pitch(ctx, path, g, group, "row_pitch_mm", &m->y_pitch_mm);
    } else {
        st = get_pitch(ctx, path, g, group, "x_pitch_mm", &m->x_pitch_mm);
        if (st == KM_OK)
            st = get_pitch(ctx, path, g, group, "y_pitch_mm", &m->y_pitch_mm);
        if (st == KM_OK && km_h5_attr_get_double(NULL, g, "x0_mm", &m->x0_mm) != KM_OK)
            m->x0_mm = 0.0;
        if (st == KM_OK && km_h5_attr_get_double(NULL, g, "y0_mm", &m->y0_mm) != KM_OK)
            m->y0_mm = 0.0;
        if (!isfinite(m->x0_mm) || !isfinite(m->y0_mm))
            st = km_fail(ctx, KM_ERR_FORMAT, "%s: %s origin is not finite", path, group);
    }
    H5Gclose(g);
    return st;
}

km_status km_result_read_map(km_ctx *ctx, const char *path, km_result_map_kind kind,
                             km_result_map_check check, void *user, km_result_map *out)
{
    km_status st;
    km_h5_quiet q;
    hid_t f = H5I_INVALID_HID, d = H5I_INVALID_HID;
    hsize_t dims[2] = {0, 0};
    const char *name, *group;
    char mode[16];
    size_t n;

    if (out == NULL || path == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "km_result_read_map: NULL argument");
    memset(out, 0, sizeof *out);
    km_h5_quiet_begin(&q);
    st = open_checked(ctx, path, "knotmap-result", &f);
    if (st != KM_OK)
        goto done;
    if (kind == KM_RESULT_MAP_AUTO)
        kind = has_path(f, "/bodymap/pressure") ? KM_RESULT_MAP_BODYMAP : KM_RESULT_MAP_MAX;
    name = kind == KM_RESULT_MAP_BODYMAP  ? "/bodymap/pressure"
           : kind == KM_RESULT_MAP_EXCESS ? "/bodymap/excess"
                                          : "/frames/max";
    group = kind == KM_RESULT_MAP_MAX ? "/session" : "/bodymap";
    snprintf(out->dataset, sizeof out->dataset, "%s", name);
    st = open_numeric(ctx, path, f, name, 2, dims, &d);
    if (st != KM_OK)
        goto done;
    if (dims[0] == 0 || dims[1] == 0) {
        st = km_fail(ctx, KM_ERR_FORMAT, "%s: %s is empty (nothing was pressed)", path, name);
        goto done;
    }
    st = km_check_shape(ctx, (int64_t)dims[0], (int64_t)dims[1], name);
    if (st != KM_OK) {
        km_error_prefix(ctx, path);
        goto done;
    }
    st = read_geometry(ctx, path, f, out, group);
    if (st != KM_OK)
        goto done;
    out->ny = (int32_t)dims[0];
    out->nx = (int32_t)dims[1];
    st = check != NULL ? check(ctx, out, user) : KM_OK;
    if (st != KM_OK)
        goto done;
    n = (size_t)out->ny * (size_t)out->nx;
    out->values = km_alloc(ctx, n * sizeof *out->values);
    if (out->values == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    st = read_all(ctx, path, name, d, H5T_NATIVE_FLOAT, out->values);
    if (st != KM_OK)
        goto done;
    get_session_text(f, "units", out->units, sizeof out->units, "");
    get_session_text(f, "mode", mode, sizeof mode, "mat");
    out->roller = strcmp(mode, "roller") == 0;
done:
    if (d >= 0)
        H5Dclose(d);
    if (f >= 0)
        H5Fclose(f);
    km_h5_quiet_end(&q);
    if (st != KM_OK)
        km_result_map_clear(ctx, out);
    return st;
}

void km_result_map_clear(km_ctx *ctx, km_result_map *m)
{
    if (m == NULL)
        return;
    km_free(ctx, m->values);
    m->values = NULL;
    m->ny = m->nx = 0;
}

void km_points_clear(km_ctx *ctx, km_points *p)
{
    if (p == NULL)
        return;
    km_free(ctx, p->x_mm);
    km_free(ctx, p->y_mm);
    p->x_mm = p->y_mm = NULL;
    p->n = 0;
}

/* Columns x_mm and y_mm of a table group into out. */
static km_status read_xy(km_ctx *ctx, const char *path, hid_t f, const char *group,
                         km_points *out)
{
    km_status st = KM_OK;
    hid_t dx = H5I_INVALID_HID, dy = H5I_INVALID_HID;
    hsize_t nx = 0, ny = 0;
    char name_x[96], name_y[96];
    size_t n;

    snprintf(name_x, sizeof name_x, "%s/x_mm", group);
    snprintf(name_y, sizeof name_y, "%s/y_mm", group);
    if (!has_path(f, group)) {
        st = km_fail(ctx, KM_ERR_FORMAT, "%s: no %s", path, group);
        goto done;
    }
    st = open_numeric(ctx, path, f, name_x, 1, &nx, &dx);
    if (st == KM_OK)
        st = open_numeric(ctx, path, f, name_y, 1, &ny, &dy);
    if (st != KM_OK)
        goto done;
    if (nx != ny) {
        st = km_fail(ctx, KM_ERR_FORMAT, "%s: %s has %llu values but %s has %llu", path,
                     name_x, (unsigned long long)nx, name_y, (unsigned long long)ny);
        goto done;
    }
    if (nx > ((hsize_t)1 << 28)) {
        st = km_fail(ctx, KM_ERR_LIMIT, "%s: %s has %llu rows: beyond the limit", path, group,
                     (unsigned long long)nx);
        goto done;
    }
    n = (size_t)nx;
    out->n = n;
    if (n == 0)
        goto done;
    out->x_mm = km_alloc(ctx, n * sizeof(double));
    out->y_mm = km_alloc(ctx, n * sizeof(double));
    if (out->x_mm == NULL || out->y_mm == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    st = read_all(ctx, path, name_x, dx, H5T_NATIVE_DOUBLE, out->x_mm);
    if (st == KM_OK)
        st = read_all(ctx, path, name_y, dy, H5T_NATIVE_DOUBLE, out->y_mm);
done:
    if (dx >= 0)
        H5Dclose(dx);
    if (dy >= 0)
        H5Dclose(dy);
    return st;
}

/* The x_mm/y_mm columns of `group` in a file of schema `schema`; with
 * pitch_mm, also the larger taxel pitch of /session.  `fn` names the
 * public entry point in argument errors. */
static km_status read_points(km_ctx *ctx, const char *fn, const char *path, const char *schema,
                             const char *group, km_points *out, double *pitch_mm)
{
    km_status st;
    km_h5_quiet q;
    hid_t f = H5I_INVALID_HID;

    if (out == NULL || path == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "%s: NULL argument", fn);
    memset(out, 0, sizeof *out);
    km_h5_quiet_begin(&q);
    st = open_checked(ctx, path, schema, &f);
    if (st != KM_OK)
        goto done;
    if (pitch_mm != NULL) {
        km_result_map g;
        memset(&g, 0, sizeof g);
        st = has_path(f, "/session") ? read_geometry(ctx, path, f, &g, "/session")
                                     : km_fail(ctx, KM_ERR_FORMAT, "%s: no /session", path);
        if (st != KM_OK)
            goto done;
        *pitch_mm = g.x_pitch_mm > g.y_pitch_mm ? g.x_pitch_mm : g.y_pitch_mm;
    }
    st = read_xy(ctx, path, f, group, out);
done:
    if (f >= 0)
        H5Fclose(f);
    km_h5_quiet_end(&q);
    if (st != KM_OK)
        km_points_clear(ctx, out);
    return st;
}

km_status km_result_read_candidates(km_ctx *ctx, const char *path, km_points *out,
                                    double *pitch_mm)
{
    return read_points(ctx, "km_result_read_candidates", path, "knotmap-result", "/candidates",
                       out, pitch_mm);
}

km_status km_session_read_truth(km_ctx *ctx, const char *path, km_points *out)
{
    return read_points(ctx, "km_session_read_truth", path, "knotmap-session", "/truth/knots", out,
                       NULL);
}
