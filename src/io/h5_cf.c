/* What another tool's session HDF5 says in the CF conventions that h5py,
 * xarray and h5netcdf write (docs/FORMAT.md 1.2, "Another tool's HDF5"):
 * the unit of /time, packed /frames (scale_factor, add_offset, _FillValue)
 * and the unit on /frames itself.  Ignoring them misreads the file without a
 * word: /time in milliseconds gave a rate 1000 times too low, int16 frames
 * packed by 0.1 read ten times too high. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5_cf.h"
#include "h5util.h"
#include "reader_internal.h"
#include "text_scan.h"

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
 * the root has none: a knotmap unit as it is; Pa, MPa, psi to kPa, the
 * file's word recorded (a --units psi agrees with it; --override with
 * another unit reads the stored numbers in that one: km_reader_units_from). */
static km_status frames_units(km_ctx *ctx, hid_t d, km_reader *r, km_h5_packing *p)
{
    char buf[64];
    double to_kpa = 1.0;
    km_status st;
    if (r->info.units[0] != '\0')
        return KM_OK;
    st = km_h5_attr_get_string(ctx, d, "units", buf, sizeof buf);
    if (st == KM_ERR_NOT_FOUND || st == KM_ERR_FORMAT) /* unreadable: unknown, assumed */
        return KM_OK;
    if (st != KM_OK)
        return st;
    if (km_units_known(buf)) {
        snprintf(r->info.units, sizeof r->info.units, "%.15s", buf); /* known units fit */
    } else if (isfinite(km_units_to_kpa(buf))) {
        snprintf(r->info.units, sizeof r->info.units, "kPa");
        km_reader_units_from(r, buf, &to_kpa);
        if (to_kpa != 1.0) {
            p->scale *= to_kpa;
            p->offset *= to_kpa;
            p->active = 1;
        }
    }
    return KM_OK;
}

km_status km_h5_frames_cf(km_ctx *ctx, hid_t d, km_reader *r, km_h5_packing *p)
{
    km_session_info *info = &r->info;
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
    if ((st = frames_units(ctx, d, r, p)) != KM_OK)
        return st;
    if (p->active && isfinite(info->saturation))
        info->saturation = info->saturation * p->scale + p->offset;
    return KM_OK;
}

size_t km_h5_unpack(const km_h5_packing *p, float *v, size_t n)
{
    size_t n_fill = 0;
    if (!p->active)
        return 0;
    const float fill = (float)p->fill;
    for (size_t i = 0; i < n; i++) {
        int is_fill = p->has_fill && v[i] == fill;
        n_fill += (size_t)is_fill;
        v[i] = is_fill ? NAN : (float)(v[i] * p->scale + p->offset);
    }
    return n_fill;
}

/* km_h5_coord_pitch: the dimension scales attached to /frames (HDF5's
   REFERENCE_LIST on each scale: a fixed-size compound of an object
   reference and a dimension index, read without dereferencing anything;
   /frames' DIMENSION_LIST is a variable-length list, which the readers
   never parse through libhdf5). */
#define COORD_LINKS_MAX 256 /* root links looked at */
#define COORD_REFS_MAX 64   /* datasets a scale may be attached to */

typedef struct coord_walk {
    haddr_t frames;     /* /frames' object address */
    int dim[2];         /* /frames' row and column dimensions */
    hsize_t len[2];     /* rows, cols */
    double pitch[2];    /* mm, 0 when not found */
    int links;
    km_ctx *ctx;
} coord_walk;

typedef struct coord_ref {
    hobj_ref_t ref;
    int dim;
} coord_ref;

/* The dimension of /frames that dataset d is attached to as a scale; -1
   when none. */
static int attached_dim(hid_t d, haddr_t frames)
{
    coord_ref refs[COORD_REFS_MAX];
    int dim = -1;
    hid_t a = km_h5_check_attributes(NULL, d) == KM_OK && H5Aexists(d, "REFERENCE_LIST") > 0
                  ? H5Aopen(d, "REFERENCE_LIST", H5P_DEFAULT)
                  : -1;
    hid_t ft = a >= 0 ? H5Aget_type(a) : -1, sp = a >= 0 ? H5Aget_space(a) : -1;
    hid_t mt = H5Tcreate(H5T_COMPOUND, sizeof(coord_ref));
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    /* Read only when the stored type is the one H5DS writes, member for
       member (HDF5's H5DSattach_scale, h5py, netCDF): then H5Aread copies
       the bytes as they are.  A crafted compound that differs went through
       libhdf5's struct conversion, which read freed memory
       (tests/fuzz/regressions/session/uaf-H5T__conv_struct_opt-cf-reference-list.h5). */
    if (mt >= 0 && ft >= 0 && H5Tget_class(ft) == H5T_COMPOUND && H5Tget_nmembers(ft) == 2 &&
        n > 0 && n <= COORD_REFS_MAX &&
        H5Tinsert(mt, "dataset", offsetof(coord_ref, ref), H5T_STD_REF_OBJ) >= 0 &&
        H5Tinsert(mt, "dimension", offsetof(coord_ref, dim), H5T_NATIVE_INT) >= 0 &&
        H5Tequal(mt, ft) > 0 && H5Aread(a, mt, refs) >= 0)
        for (hssize_t i = 0; i < n; i++)
            if ((haddr_t)refs[i].ref == frames)
                dim = refs[i].dim;
    if (mt >= 0)
        H5Tclose(mt);
    if (ft >= 0)
        H5Tclose(ft);
    if (sp >= 0)
        H5Sclose(sp);
    if (a >= 0)
        H5Aclose(a);
    return dim;
}

/* Millimetres per unit of coordinate d (its `units`, else a name ending in
   _mm, _cm or _m); 0 when neither says a length. */
static double coord_unit_mm(km_ctx *ctx, hid_t d, const char *name)
{
    char u[32];
    size_t n = strlen(name);
    if (km_h5_attr_get_string(ctx, d, "units", u, sizeof u) == KM_OK)
        return km_length_unit_mm(u);
    for (const char *const *s = (const char *const[]){"_mm", "_cm", "_m", NULL}; *s; s++)
        if (n > strlen(*s) && strcmp(name + n - strlen(*s), *s) == 0)
            return km_length_unit_mm(*s + 1);
    return 0.0;
}

/* A layout HDF5 reads within a few times the data's own size: contiguous
   or compact, or chunks of at most max(n, 4096) values (a chunk is read
   whole: a tiny file could declare one of gigabytes). */
static int coord_layout_ok(hid_t dcpl, hsize_t n)
{
    hsize_t chunk[1];
    H5D_layout_t l = H5Pget_layout(dcpl);
    return H5Pget_external_count(dcpl) == 0 &&
           (l == H5D_CONTIGUOUS || l == H5D_COMPACT ||
            (l == H5D_CHUNKED && H5Pget_chunk(dcpl, 1, chunk) == 1 &&
             chunk[0] <= (n > 4096 ? n : 4096)));
}

/* The step of the n values of 1-D dataset d, in its own units, when every
   step is within 1e-3 of their mean and not 0; 0 otherwise (uneven or
   unreadable: the pitch stays as it was, assumed and warned). */
static double coord_step(hid_t d, hsize_t n)
{
    double *v = n >= 2 && n <= KM_MAX_DIM ? malloc((size_t)n * sizeof *v) : NULL, step = 0.0;
    hid_t sp = H5Dget_space(d), dcpl = H5Dget_create_plist(d);
    hsize_t dims[1];
    if (v != NULL && sp >= 0 && dcpl >= 0 &&
        H5Sget_simple_extent_ndims(sp) == 1 && H5Sget_simple_extent_dims(sp, dims, NULL) == 1 &&
        dims[0] == n && coord_layout_ok(dcpl, n) && H5Dget_storage_size(d) > 0 &&
        km_h5_dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0) {
        step = (v[n - 1] - v[0]) / (double)(n - 1);
        for (hsize_t i = 1; i < n && isfinite(step) && step != 0.0; i++)
            if (!(fabs(v[i] - v[i - 1] - step) <= 1e-3 * fabs(step)))
                step = 0.0;
    }
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (sp >= 0)
        H5Sclose(sp);
    free(v);
    return isfinite(step) ? fabs(step) : 0.0;
}

static herr_t coord_one(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    coord_walk *w = data;
    H5O_info_t oi;
    if (++w->links > COORD_LINKS_MAX)
        return 1;
    if (info->type != H5L_TYPE_HARD ||
        H5Oget_info_by_name(g, name, &oi, H5P_DEFAULT) < 0 || oi.type != H5O_TYPE_DATASET ||
        oi.addr == w->frames)
        return 0;
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT), t = d >= 0 ? H5Dget_type(d) : -1;
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    int dim = (cls == H5T_INTEGER || cls == H5T_FLOAT) ? attached_dim(d, w->frames) : -1;
    for (int k = 0; k < 2; k++)
        if (dim == w->dim[k] && w->pitch[k] == 0.0)
            w->pitch[k] = coord_unit_mm(w->ctx, d, name) * coord_step(d, w->len[k]);
    if (t >= 0)
        H5Tclose(t);
    if (d >= 0)
        H5Dclose(d);
    return 0;
}

void km_h5_coord_pitch(km_ctx *ctx, km_session_info *info, hid_t file, hid_t frames, int rct)
{
    H5O_info_t oi;
    coord_walk w = {.dim = {rct ? 0 : 1, rct ? 1 : 2},
                    .len = {(hsize_t)info->rows, (hsize_t)info->cols},
                    .ctx = ctx};
    if ((info->row_pitch_mm > 0 && info->col_pitch_mm > 0) ||
        H5Oget_info2(frames, &oi, H5O_INFO_BASIC) < 0)
        return;
    w.frames = oi.addr;
    H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, NULL, coord_one, &w);
    H5Eclear2(H5E_DEFAULT);
    if (!(info->row_pitch_mm > 0) && w.pitch[0] > 0 && isfinite(w.pitch[0]))
        info->row_pitch_mm = w.pitch[0];
    if (!(info->col_pitch_mm > 0) && w.pitch[1] > 0 && isfinite(w.pitch[1]))
        info->col_pitch_mm = w.pitch[1];
}

int km_h5_matlab_file(hid_t file)
{
    static const char sig[] = KM_MAT73_SIG;
    char path[4096], head[sizeof sig - 1];
    hsize_t ub = 0;
    hid_t fcpl = H5Fget_create_plist(file);
    int is = 0;
    if (fcpl >= 0 && H5Pget_userblock(fcpl, &ub) >= 0 && ub >= 128) {
        ssize_t n = H5Fget_name(file, path, sizeof path);
        FILE *fp = n > 0 && (size_t)n < sizeof path ? fopen(path, "rb") : NULL;
        is = fp != NULL && fread(head, 1, sizeof head, fp) == sizeof head &&
             memcmp(head, sig, sizeof head) == 0;
        if (fp != NULL)
            fclose(fp);
    }
    if (fcpl >= 0)
        H5Pclose(fcpl);
    H5Eclear2(H5E_DEFAULT);
    return is;
}

/* km_h5_time_coord: a root dataset attached to /frames' first or last
   dimension as a scale, whose `units` is a time unit. */
typedef struct time_walk {
    haddr_t frames;
    char *name;
    size_t cap;
    int dim; /* the dimension found, -1 none */
    int links;
    km_ctx *ctx;
} time_walk;

static herr_t time_one(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    time_walk *w = data;
    H5O_info_t oi;
    char u[64];
    if (++w->links > COORD_LINKS_MAX)
        return 1;
    /* The name goes into messages as it is: printable ASCII only. */
    for (const char *c = name; *c != '\0'; c++)
        if (*c < 0x20 || *c > 0x7e)
            return 0;
    if (info->type != H5L_TYPE_HARD || H5Oget_info_by_name(g, name, &oi, H5P_DEFAULT) < 0 ||
        oi.type != H5O_TYPE_DATASET || oi.addr == w->frames || strlen(name) >= w->cap)
        return 0;
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    int dim = d >= 0 ? attached_dim(d, w->frames) : -1;
    if ((dim == 0 || dim == 2) && (w->dim < 0 || dim < w->dim) &&
        km_h5_attr_get_string(w->ctx, d, "units", u, sizeof u) == KM_OK &&
        time_unit_seconds(u) > 0) {
        memcpy(w->name, name, strlen(name) + 1);
        w->dim = dim;
    }
    if (d >= 0)
        H5Dclose(d);
    return 0;
}

void km_h5_time_coord(km_ctx *ctx, hid_t file, hid_t frames, char *name, size_t cap)
{
    H5O_info_t oi;
    time_walk w = {.name = name, .cap = cap, .dim = -1, .ctx = ctx};
    if (H5Oget_info2(frames, &oi, H5O_INFO_BASIC) < 0)
        return;
    w.frames = oi.addr;
    H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, NULL, time_one, &w);
    H5Eclear2(H5E_DEFAULT);
}

/* km_h5_pandas_hint: the first group (of at most 256 links, hard links
 * only) that carries pandas' `pandas_type` attribute (HDFStore, to_hdf). */
typedef struct pandas_walk {
    int links;
    char name[KM_TOKEN_TEXT];
} pandas_walk;

static herr_t pandas_one(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    pandas_walk *w = data;
    H5O_info_t oi;
    if (++w->links > 256)
        return 1; /* stop: a crafted file's thousands of links */
    if (info->type != H5L_TYPE_HARD || H5Oget_info_by_name(g, name, &oi, H5P_DEFAULT) < 0 ||
        oi.type != H5O_TYPE_GROUP || H5Aexists_by_name(g, name, "pandas_type", H5P_DEFAULT) <= 0)
        return 0;
    km_token_text(w->name, name, strlen(name)); /* a name from the file: control bytes as \xNN */
    return 1;
}

void km_h5_pandas_hint(hid_t file, char *buf, size_t cap)
{
    pandas_walk w = {0, ""};
    H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, pandas_one, &w);
    H5Eclear2(H5E_DEFAULT);
    if (w.name[0] != '\0')
        snprintf(buf, cap, "; /%s is a pandas table (HDFStore, DataFrame.to_hdf: attribute pandas_type), "
                 "which knotmap does not read: save it with df.to_csv() and read that with --grid RxC "
                 "(a frame a row), or write the frames as /frames [T, R, C] (h5py)", w.name);
}
