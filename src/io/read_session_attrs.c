/* A knotmap session's root attributes (docs/FORMAT.md 1.2): the schema,
 * the numbers and words knotmap reads from them, and every attribute kept
 * as the source header.  The datasets: read_session.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "h5_cf.h"
#include "h5util.h"
#include "reader_internal.h"

#define KM_SESSION_MAX_ATTRS 4096
#define KM_SESSION_TEXT 4096 /* longest header value kept */

typedef struct hdr_walk {
    km_ctx *ctx;
    km_reader *r;
    km_status st;
    size_t count;
    char *text;
} hdr_walk;

static herr_t add_attr(hid_t loc, const char *name, const H5A_info_t *ainfo, void *data)
{
    hdr_walk *w = data;
    hid_t attr;

    (void)ainfo;
    if (++w->count > KM_SESSION_MAX_ATTRS) {
        w->st = km_fail(w->ctx, KM_ERR_LIMIT, "more than %d root attributes",
                        KM_SESSION_MAX_ATTRS);
        return -1;
    }
    attr = H5Aopen(loc, name, H5P_DEFAULT);
    if (attr < 0)
        snprintf(w->text, KM_SESSION_TEXT, "<unreadable>");
    else {
        km_h5_attr_text(attr, w->text, KM_SESSION_TEXT);
        H5Aclose(attr);
    }
    w->st = km_reader_add_header(w->ctx, w->r, name, w->text);
    return w->st == KM_OK ? 0 : -1;
}

/* Keep every root attribute as key/value text, in creation order when the
 * file tracks it, else by name. */
km_status km_session_header(km_ctx *ctx, km_reader *r, hid_t file)
{
    hdr_walk w = {ctx, r, KM_OK, 0, NULL};
    hsize_t idx = 0;
    herr_t rc;

    km_status st = km_h5_check_attributes(ctx, file);
    if (st != KM_OK)
        return st;
    w.text = km_reader_alloc(r, KM_SESSION_TEXT);
    if (w.text == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory");
    rc = H5Aiterate2(file, H5_INDEX_CRT_ORDER, H5_ITER_INC, &idx, add_attr, &w);
    if (rc < 0 && w.st == KM_OK && w.count == 0) {
        idx = 0;
        rc = H5Aiterate2(file, H5_INDEX_NAME, H5_ITER_INC, &idx, add_attr, &w);
    }
    km_reader_release(r, w.text);
    if (w.st != KM_OK)
        return w.st;
    if (rc < 0)
        return km_fail(ctx, KM_ERR_FORMAT, "the root attributes cannot be listed");
    return KM_OK;
}

/* Optional positive (or >= 0) finite number: KM_OK and *out untouched when absent. */
static km_status get_number(km_ctx *ctx, hid_t f, const char *name, int allow_zero, double *out)
{
    double v;
    km_status st = km_h5_attr_get_double(ctx, f, name, &v);

    if (st == KM_ERR_NOT_FOUND)
        return KM_OK;
    if (st != KM_OK)
        return st;
    if (!isfinite(v) || v < 0 || (!allow_zero && v == 0))
        return km_fail(ctx, KM_ERR_FORMAT, "attribute %s = %g must be %s and finite", name, v,
                       allow_zero ? ">= 0" : "> 0");
    *out = v;
    return KM_OK;
}

/* The schema attributes.  A file without `schema` is read as a session
 * only when the caller named the format (forced): *no_schema = 1 then (the
 * open names "schema" as assumed; 2 for a MATLAB file, "matlab" too), as
 * version 1. */
static km_status check_schema(km_ctx *ctx, hid_t f, int forced, int *no_schema)
{
    char buf[64];
    double version;
    km_status st = km_h5_attr_get_string(ctx, f, "schema", buf, sizeof buf);

    *no_schema = st == KM_ERR_NOT_FOUND && forced ? 1 + km_h5_matlab_file(f) : 0;
    if (*no_schema)
        return KM_OK;
    if (st == KM_ERR_NOT_FOUND && H5Lexists(f, "frames", H5P_DEFAULT) <= 0) {
        char hint[1536] = ""; /* h5py's /pressure: --format session alone would fail on it */
        km_h5_frames_hint(f, hint, sizeof hint);
        const int rank3 = hint[0] != '\0';
        if (!rank3) /* a pandas table: no 3-D dataset to name /frames */
            km_h5_pandas_hint(f, hint, sizeof hint);
        return km_fail(ctx, KM_ERR_FORMAT,
                       "attribute schema is missing and there is no /frames: not a knotmap session%s%s",
                       hint[0] ? hint : " (a session holds /frames [T, R, C] and schema = \"knotmap-session\")",
                       rank3 ? "; then pass --format session to read it" : "");
    }
    if (st == KM_ERR_NOT_FOUND)
        return km_fail(ctx, KM_ERR_FORMAT,
                       "attribute schema is missing: not a knotmap session "
                       "(expected schema = \"knotmap-session\"; pass --format session to read "
                       "its /frames [T, R, C] anyway)");
    if (st != KM_OK)
        return st;
    if (strcmp(buf, "knotmap-result") == 0) /* what process wrote: read by info, render, report */
        return km_fail(ctx, KM_ERR_FORMAT,
                       "a knotmap result, not a session (attribute schema = \"knotmap-result\", "
                       "expected \"knotmap-session\"): a recording is processed once; read a "
                       "result with knotmap info, render or report (Python: read_result)");
    if (strcmp(buf, "knotmap-session") != 0)
        return km_fail(ctx, KM_ERR_FORMAT,
                       "attribute schema = \"%s\", expected \"knotmap-session\"", buf);
    st = km_h5_attr_get_double(ctx, f, "schema_version", &version);
    if (st == KM_ERR_NOT_FOUND)
        return km_fail(ctx, KM_ERR_FORMAT, "attribute schema_version is missing");
    if (st != KM_OK)
        return st;
    if (version != 1)
        return km_fail(ctx, KM_ERR_FORMAT,
                       "attribute schema_version = %g is not supported (this knotmap reads 1)",
                       version);
    return KM_OK;
}

km_status km_session_root_attrs(km_ctx *ctx, km_reader *r, hid_t f, int forced, int *no_schema)
{
    km_status st;
    char buf[64];

    if ((st = check_schema(ctx, f, forced, no_schema)) != KM_OK)
        return st;
    km_reader_sources(r, "attribute frame_rate_hz", "attribute row_pitch_mm", "attribute col_pitch_mm");
    if ((st = get_number(ctx, f, "frame_rate_hz", 0, &r->info.frame_rate_hz)) != KM_OK ||
        (st = get_number(ctx, f, "row_pitch_mm", 0, &r->info.row_pitch_mm)) != KM_OK ||
        (st = get_number(ctx, f, "col_pitch_mm", 0, &r->info.col_pitch_mm)) != KM_OK ||
        (st = get_number(ctx, f, "roller_radius_mm", 1, &r->info.roller_radius_mm)) != KM_OK ||
        (st = get_number(ctx, f, "saturation", 0, &r->info.saturation)) != KM_OK)
        return st;
    st = km_h5_attr_get_string(ctx, f, "units", buf, sizeof buf);
    if (st == KM_OK) { /* the one unit list (KPa as Tekscan writes it; psi, Pa, MPa read converted) */
        char list[96];
        double scale;
        const char *u = km_units_from_file(buf, &scale);
        km_units_list(list, sizeof list);
        if (u == NULL)
            return km_fail(ctx, KM_ERR_FORMAT, "attribute units = \"%s\": knotmap reads %s", buf, list);
        snprintf(r->info.units, sizeof r->info.units, "%s", u);
        km_reader_units_from(r, buf, NULL);
    } else if (st != KM_ERR_NOT_FOUND)
        return st;
    st = km_h5_attr_get_string(ctx, f, "mode", buf, sizeof buf);
    if (st == KM_OK) {
        if (strcmp(buf, "mat") == 0)
            r->info.mode = KM_MODE_MAT;
        else if (strcmp(buf, "roller") == 0)
            r->info.mode = KM_MODE_ROLLER;
        else
            return km_fail(ctx, KM_ERR_FORMAT,
                           "attribute mode = \"%s\", expected \"mat\" or \"roller\"", buf);
    } else if (st != KM_ERR_NOT_FOUND)
        return st;
    return KM_OK;
}

/* Another tool's HDF5 file (no schema) whose rate neither frame_rate_hz nor
 * /time gives: a root attribute named like a sampling rate (km_rate_name,
 * the MAT-file's and .npz's list) that holds a plausible rate is the rate;
 * several must agree.  *named = 1 when one was taken (the open notes
 * "rate_name"); another kind of value under such a name is not a rate. */
km_status km_session_rate_by_name(km_ctx *ctx, km_reader *r, hid_t f, int *named)
{
    double rate = 0;
    const char *first = NULL;
    *named = 0;
    for (int32_t k = 0; km_rate_name(k) != NULL; k++) {
        double x;
        if (H5Aexists(f, km_rate_name(k)) <= 0 || km_h5_attr_get_double(ctx, f, km_rate_name(k), &x) != KM_OK)
            continue; /* absent, or text, an array: no rate */
        if (!km_reader_rate_plausible(x))
            return KM_OK; /* fs = 0, a size?: the file does not say */
        if (rate > 0 && x != rate) /* two that disagree: never a silent pick */
            return km_fail(ctx, KM_ERR_FORMAT, "attributes %s = %g and %s = %g are both named like a frame rate "
                           "and disagree: which is it? (pass --rate HZ, or write frame_rate_hz)", first, rate,
                           km_rate_name(k), x);
        rate = x;
        first = km_rate_name(k);
    }
    if (rate > 0) {
        r->info.frame_rate_hz = rate;
        km_reader_rate_from(r, "attribute %s = %g", first, rate);
        *named = 1;
    }
    return KM_OK;
}
