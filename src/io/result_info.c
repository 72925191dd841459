/* A knotmap result summarised for `knotmap info RESULT` (result_reader.h):
 * root and /session attributes, table lengths, the first rows of
 * /candidates, and the /params that differ from given defaults. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "h5util.h"
#include "result_reader.h"
#include "result_summary.h"

static void text_attr(hid_t obj, const char *name, char *buf, size_t cap)
{
    if (km_h5_attr_get_string(NULL, obj, name, buf, cap) != KM_OK)
        buf[0] = '\0';
}

static double num_attr(hid_t obj, const char *name, double dflt)
{
    double v;
    return km_h5_attr_get_double(NULL, obj, name, &v) == KM_OK ? v : dflt;
}

/* Length of the 1-D dataset `name` under f, -1 when absent. */
static int64_t length_of(hid_t f, const char *name)
{
    hsize_t dims[1] = {0};
    int64_t n = -1;
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0)
        return -1;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT), s = d >= 0 ? H5Dget_space(d) : -1;
    if (s >= 0 && H5Sget_simple_extent_ndims(s) == 1 && H5Sget_simple_extent_dims(s, dims, NULL) == 1)
        n = (int64_t)dims[0];
    if (s >= 0)
        H5Sclose(s);
    if (d >= 0)
        H5Dclose(d);
    return n;
}

static void read_session(hid_t f, km_result_info *out)
{
    km_session_info *in = &out->session;
    char buf[32];
    hid_t g = H5Gopen2(f, "/session", H5P_DEFAULT);
    text_attr(f, "source_format", buf, sizeof buf);
    in->format = KM_FORMAT_AUTO;
    km_format_parse(buf, &in->format);
    in->rows = (int32_t)num_attr(g, "rows", 0);
    in->cols = (int32_t)num_attr(g, "cols", 0);
    in->n_frames = (int64_t)num_attr(g, "n_frames", -1);
    in->frame_rate_hz = num_attr(g, "frame_rate_hz", NAN);
    in->row_pitch_mm = num_attr(g, "row_pitch_mm", NAN);
    in->col_pitch_mm = num_attr(g, "col_pitch_mm", NAN);
    text_attr(g, "units", in->units, sizeof in->units);
    text_attr(g, "mode", buf, sizeof buf);
    in->mode = strcmp(buf, "roller") == 0 ? KM_MODE_ROLLER : KM_MODE_MAT;
    in->roller_radius_mm = num_attr(g, "roller_radius_mm", 0.0);
    in->saturation = num_attr(g, "saturation", INFINITY);
    in->n_valid = (int32_t)num_attr(g, "n_valid", 0);
    text_attr(g, "assumed", in->assumed, sizeof in->assumed);
    in->n_nonfinite = (int64_t)num_attr(g, "n_nonfinite", 0); /* since session 36 */
    text_attr(g, "nonfinite_at", in->nonfinite_at, sizeof in->nonfinite_at);
    H5Gclose(g);
}

/* The first rows of /candidates, every numeric column in file order; a
   column whose stored chunks cannot be read (damaged: km_h5_dread) is the
   file's error, not a column left out without a word. */
static km_status read_best(km_ctx *ctx, const char *path, hid_t f, km_result_info *out)
{
    km_status st = KM_OK;
    hid_t g = H5Gopen2(f, "/candidates", H5P_DEFAULT);
    H5G_info_t gi;
    int64_t rows = out->n_candidates < KM_SUMMARY_TOP ? out->n_candidates : KM_SUMMARY_TOP;
    if (g < 0 || rows <= 0 || H5Gget_info(g, &gi) < 0)
        goto done;
    H5_index_t idx = H5_INDEX_CRT_ORDER;
    char probe[8];
    if (gi.nlinks > 0 && H5Lget_name_by_idx(g, ".", idx, H5_ITER_INC, 0, probe, sizeof probe,
                                            H5P_DEFAULT) < 0)
        idx = H5_INDEX_NAME; /* written without creation order */
    out->n_best = (int32_t)rows;
    for (hsize_t i = 0; i < gi.nlinks && out->n_best_cols < KM_RESULT_INFO_COLS && st == KM_OK; i++) {
        char name[64];
        hsize_t start[1] = {0}, count[1] = {(hsize_t)rows};
        if (H5Lget_name_by_idx(g, ".", idx, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT) < 0)
            continue;
        hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
        hid_t s = d >= 0 ? H5Dget_space(d) : -1, t = d >= 0 ? H5Dget_type(d) : -1;
        hid_t m = H5Screate_simple(1, count, NULL);
        H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
        int ok = s >= 0 && m >= 0 && (cls == H5T_FLOAT || cls == H5T_INTEGER) &&
                 H5Sget_simple_extent_ndims(s) == 1 && length_of(g, name) >= rows;
        int k = out->n_best_cols;
        if (ok && H5Sselect_hyperslab(s, H5S_SELECT_SET, start, NULL, count, NULL) >= 0) {
            if (km_h5_dread(d, H5T_NATIVE_DOUBLE, m, s, H5P_DEFAULT, out->best[k].v) >= 0) {
                snprintf(out->best[k].name, sizeof out->best[k].name, "%s", name);
                text_attr(d, "units", out->best[k].units, sizeof out->best[k].units);
                out->n_best_cols++;
            } else {
                char why[200];
                km_status kind = km_h5_error_kind(KM_ERR_FORMAT, why, sizeof why);
                st = km_fail(ctx, kind, "%s: /candidates/%s cannot be read: %s", path, name, why);
            }
        }
        if (m >= 0)
            H5Sclose(m);
        if (t >= 0)
            H5Tclose(t);
        if (s >= 0)
            H5Sclose(s);
        if (d >= 0)
            H5Dclose(d);
    }
done:
    if (g >= 0)
        H5Gclose(g);
    return st;
}

static void fmt_num(char *buf, size_t cap, double v)
{
    snprintf(buf, cap, "%.10g", v);
}

/* /params that differ from defs, in the order defs gives. */
static void read_changed(hid_t f, const km_param_default *defs, size_t n_defs,
                         km_result_info *out)
{
    hid_t g = H5Lexists(f, "/params", H5P_DEFAULT) > 0 ? H5Gopen2(f, "/params", H5P_DEFAULT) : -1;
    if (g >= 0 && km_h5_check_attributes(NULL, g) != KM_OK) {
        H5Gclose(g);
        g = -1; /* damaged: the parameters are not listed */
    }
    if (g < 0)
        return;
    for (size_t i = 0; i < n_defs && out->n_changed < KM_RESULT_INFO_PARAMS; i++) {
        const km_param_default *d = &defs[i];
        char value[48], dflt[48];
        int differs;
        if (H5Aexists(g, d->name) <= 0)
            continue;
        if (d->str != NULL) {
            if (km_h5_attr_get_string(NULL, g, d->name, value, sizeof value) != KM_OK)
                continue;
            differs = strcmp(value, d->str) != 0;
            snprintf(dflt, sizeof dflt, "%s", d->str[0] != '\0' ? d->str : "\"\"");
        } else {
            double v;
            if (km_h5_attr_get_double(NULL, g, d->name, &v) != KM_OK)
                continue;
            differs = isnan(v) ? !isnan(d->num) : (isnan(d->num) || v != d->num) && v != d->same;
            fmt_num(value, sizeof value, v);
            fmt_num(dflt, sizeof dflt, d->num);
        }
        if (d->note != NULL)
            snprintf(dflt + strlen(dflt), sizeof dflt - strlen(dflt), "; %s", d->note);
        if (!differs)
            continue;
        int k = out->n_changed++;
        snprintf(out->changed[k].name, sizeof out->changed[k].name, "%s", d->name);
        snprintf(out->changed[k].value, sizeof out->changed[k].value, "%s", value);
        snprintf(out->changed[k].dflt, sizeof out->changed[k].dflt, "%s", dflt);
    }
    H5Gclose(g);
}

/* What the candidates' seen count followed (/params; NaN before session 41). */
static void read_seen(hid_t f, km_result_info *out)
{
    hid_t g = H5Lexists(f, "/params", H5P_DEFAULT) > 0 ? H5Gopen2(f, "/params", H5P_DEFAULT) : -1;
    out->cand_map_noise = g >= 0 ? num_attr(g, "cand_map_noise", NAN) : NAN;
    out->cand_seen_threshold_used = g >= 0 ? num_attr(g, "cand_seen_threshold_used", NAN) : NAN;
    out->contact_threshold = g >= 0 ? num_attr(g, "contact_threshold", NAN) : NAN;
    if (g >= 0)
        H5Gclose(g);
}

km_status km_result_read_info(km_ctx *ctx, const char *path, const km_param_default *defs,
                              size_t n_defs, km_result_info *out)
{
    struct stat sb;
    km_h5_quiet q;
    km_status st = KM_OK;
    char schema[64] = "";
    hid_t f = -1;

    if (path == NULL || out == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "km_result_info_read: NULL argument");
    memset(out, 0, sizeof *out);
    if (stat(path, &sb) != 0)
        return km_fail(ctx, KM_ERR_NOT_FOUND, "%s: %s", path, km_open_reason(errno));
    if (S_ISDIR(sb.st_mode))
        return km_fail(ctx, KM_ERR_NOT_FOUND, "%s: Is a directory", path);
    km_h5_quiet_begin(&q);
    htri_t is_h5 = H5Fis_hdf5(path);
    if (is_h5 == 0) {
        st = km_fail(ctx, KM_ERR_FORMAT, "%s: not an HDF5 file (expected a knotmap result)", path);
        goto done;
    }
    if (is_h5 < 0 || (f = km_h5_open_ro(path, H5P_DEFAULT)) < 0) {
        st = km_h5_open_fail(ctx, path, KM_ERR_FORMAT);
        goto done;
    }
    text_attr(f, "schema", schema, sizeof schema);
    if (strcmp(schema, "knotmap-result") != 0 || H5Lexists(f, "/session", H5P_DEFAULT) <= 0) {
        st = km_fail(ctx, KM_ERR_FORMAT, "%s: not a knotmap result (schema '%s')", path, schema);
        goto done;
    }
    text_attr(f, "source_path", out->source_path, sizeof out->source_path);
    text_attr(f, "knotmap_version", out->knotmap_version, sizeof out->knotmap_version);
    text_attr(f, "created_utc", out->created_utc, sizeof out->created_utc);
    text_attr(f, "command_line", out->command_line, sizeof out->command_line);
    out->complete = num_attr(f, "complete", 0.0) == 1.0;
    read_session(f, out);
    out->n_peaks = length_of(f, "/peaks/frame");
    out->n_tracks = length_of(f, "/tracks/track");
    out->n_candidates = length_of(f, "/candidates/candidate");
    if ((st = read_best(ctx, path, f, out)) != KM_OK)
        goto done;
    read_changed(f, defs, n_defs, out);
    read_seen(f, out);
    out->all_contact = km_result_all_contact(ctx, f, out->session.n_frames);
done:
    if (f >= 0)
        H5Fclose(f);
    km_h5_quiet_end(&q);
    return st;
}
