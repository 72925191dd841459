/* Reader for MATLAB MAT-files of v7.3 (`save -v7.3`): docs/FORMAT.md 1.8.
 *
 * Such a file is HDF5 behind a 512-byte user block that begins "MATLAB 7.3
 * MAT-file".  Each variable is a dataset of the root with an attribute
 * MATLAB_class ('double', 'single', 'int16', 'uint8', 'logical', 'char',
 * 'struct', 'cell', ...); a 1 x 1 struct is a group of that class holding
 * its fields as datasets; char arrays are uint16, logical uint8; an empty
 * array has the attribute MATLAB_empty (its dataset then holds the
 * dimensions); cells and strings hold object references into "#refs#".
 * MATLAB's arrays are column-major and HDF5 shows their dimensions
 * reversed: frames(r, c, t) is the dataset [t, c, r].
 *
 * The variables are listed here in MATLAB's terms (mat_var: MATLAB's
 * dimensions, column-major) so that the level-5 rule of array_vars.c picks
 * the frames, time, mask and metadata; the frames are read through HDF5 a
 * block of frames at a time and transposed to knotmap's row-major frames. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "h5_raw.h"
#include "h5util.h"
#include "mat_internal.h"
#include "reader_internal.h"

typedef struct m73_impl {
    hid_t file, frames;
    mat_var *vars;
    size_t n_vars;
    const mat_var *f;      /* the frames' variable */
    km_orient o;
    double *time;          /* n_frames seconds, or NULL: times from the rate */
    unsigned char *buf;    /* a block of frames as stored */
    size_t buf_cap;
    int64_t next;
} m73_impl;

static void m73_close(km_reader *r)
{
    m73_impl *m = r->impl;
    km_h5_quiet q;
    if (m == NULL)
        return;
    km_h5_quiet_begin(&q);
    if (m->frames >= 0)
        H5Dclose(m->frames);
    if (m->file >= 0)
        H5Fclose(m->file);
    km_h5_quiet_end(&q);
    km_reader_release(r, m->vars);
    km_reader_release(r, m->time);
    km_reader_release(r, m->buf);
    km_reader_release(r, m);
    r->impl = NULL;
}

static km_status m73_read(km_ctx *ctx, km_reader *r, float *frames, double *times, int64_t max_frames,
                          int64_t *n_read);

static const km_reader_ops m73_ops = {m73_read, m73_close};

/* ---- the variables ---- */

/* The mi type of an HDF5 integer or float type (0: none knotmap reads). */
static uint32_t mi_type(hid_t t)
{
    H5T_class_t c = H5Tget_class(t);
    size_t size = H5Tget_size(t);
    int sgn = c == H5T_INTEGER && H5Tget_sign(t) == H5T_SGN_2;
    if (c == H5T_FLOAT)
        return size == 4 ? MI_SINGLE : size == 8 ? MI_DOUBLE : 0;
    if (c != H5T_INTEGER)
        return 0;
    return size == 1 ? (sgn ? MI_INT8 : MI_UINT8) : size == 2 ? (sgn ? MI_INT16 : MI_UINT16)
           : size == 4 ? (sgn ? MI_INT32 : MI_UINT32) : size == 8 ? (sgn ? MI_INT64 : MI_UINT64) : 0;
}

/* The native HDF5 type of an mi type, to read the values as stored. */
static hid_t native_type(uint32_t mi)
{
    switch (mi) {
    case MI_INT8: return H5T_NATIVE_INT8;
    case MI_UINT8: return H5T_NATIVE_UINT8;
    case MI_INT16: return H5T_NATIVE_INT16;
    case MI_UINT16: return H5T_NATIVE_UINT16;
    case MI_INT32: return H5T_NATIVE_INT32;
    case MI_UINT32: return H5T_NATIVE_UINT32;
    case MI_INT64: return H5T_NATIVE_INT64;
    case MI_UINT64: return H5T_NATIVE_UINT64;
    case MI_SINGLE: return H5T_NATIVE_FLOAT;
    default: return H5T_NATIVE_DOUBLE;
    }
}

/* The mx class of a MATLAB_class name ("" when the attribute is missing:
   the class of the stored type). */
static uint32_t mx_class(const char *name, uint32_t mi)
{
    static const char *const names[] = {"", "cell", "struct", "object", "char", "sparse", "double", "single",
                                        "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"};
    static const uint32_t by_mi[] = {0, 8, 9, 10, 11, 12, 13, 7, 0, 6, 0, 0, 14, 15};
    if (name[0] == '\0')
        return mi < sizeof by_mi / sizeof by_mi[0] ? by_mi[mi] : 0;
    if (strcmp(name, "logical") == 0)
        return 9; /* uint8, as level 5 stores it */
    for (uint32_t k = 1; k < sizeof names / sizeof names[0]; k++)
        if (strcmp(name, names[k]) == 0)
            return k;
    return 3; /* function_handle, a class's object, ...: not numbers */
}

/* Variable `name` from dataset d: class, type, MATLAB's dimensions (HDF5's
   reversed), elements and bytes. */
static void describe(km_ctx *ctx, hid_t d, const char *name, mat_var *v)
{
    char cls[32] = "";
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
    hsize_t h[H5S_MAX_RANK];
    int rank = sp >= 0 ? H5Sget_simple_extent_dims(sp, h, NULL) : -1;
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    if (km_h5_attr_get_string(ctx, d, "MATLAB_class", cls, sizeof cls) != KM_OK)
        cls[0] = '\0';
    v->type = t >= 0 ? mi_type(t) : 0;
    v->cls = mx_class(cls, v->type);
    if (v->cls == MX_OBJECT) /* a classdef object (string, datetime): its class, for messages */
        snprintf(v->descr, sizeof v->descr, "%s", cls);
    if (t >= 0 && H5Tget_class(t) == H5T_REFERENCE && v->cls != MX_STRUCT)
        v->cls = 1; /* a cell, a string: references into #refs# */
    v->complex_ = t >= 0 && H5Tget_class(t) == H5T_COMPOUND; /* MATLAB's {real, imag} */
    v->nd = rank > 3 ? 99 : rank == 3 ? 3 : 2;
    for (int k = 0; k < 3; k++)
        v->dims[k] = rank <= 0 ? (k < 2) : k < rank ? h[rank - 1 - k] : 1;
    if (rank < 0 || km_h5_check_attributes(NULL, d) != KM_OK || H5Aexists(d, "MATLAB_empty") > 0)
        v->dims[0] = v->dims[1] = v->dims[2] = 0;
    v->n = 1;
    for (int k = 0; k < (v->nd == 3 ? 3 : 2); k++)
        v->n = v->dims[k] != 0 && v->n > UINT64_MAX / v->dims[k] / 8 ? UINT64_MAX / 8 : v->n * v->dims[k];
    v->bytes = v->n * km_mat_type_size(v->type);
    H5Eclear2(H5E_DEFAULT);
    if (t >= 0)
        H5Tclose(t);
    if (sp >= 0)
        H5Sclose(sp);
}

typedef struct m73_scan {
    km_ctx *ctx;
    km_reader *r;
    m73_impl *m;
    const char *prefix;    /* "s." inside struct s, else "" */
    int depth;             /* the struct levels above: 0 at the root */
    km_status st;
} m73_scan;

static km_status add_var(m73_scan *w, const mat_var *v)
{
    return km_vars_append(w->ctx, w->r, &w->m->vars, &w->m->n_vars, v);
}

/* A struct array (MATLAB's layout, as matio reads it): its fields are
   arrays of references without MATLAB_class, one per element, of the
   struct's dimensions; a 1 x 1 struct's field that is a cell has the class.
   The first field dataset tells: its MATLAB dimensions into dims[2], 1 when
   the struct is an array. */
static herr_t struct_array_field(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    uint64_t *dims = data;
    H5O_info_t oi;
    if (name[0] == '#' || info->type != H5L_TYPE_HARD || H5Oget_info_by_name(g, name, &oi, H5P_DEFAULT) < 0 ||
        oi.type != H5O_TYPE_DATASET)
        return 0;
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    if (d < 0)
        return 1;
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
    hsize_t h[H5S_MAX_RANK];
    int rank = sp >= 0 ? H5Sget_simple_extent_dims(sp, h, NULL) : -1;
    if (t >= 0 && H5Tget_class(t) == H5T_REFERENCE && rank == 2 &&
        km_h5_check_attributes(NULL, d) == KM_OK && H5Aexists(d, "MATLAB_class") == 0) {
        dims[0] = h[1]; /* HDF5's dimensions reversed */
        dims[1] = h[0];
    }
    if (t >= 0)
        H5Tclose(t);
    if (sp >= 0)
        H5Sclose(sp);
    H5Dclose(d);
    return 1; /* the first field tells */
}

/* One link of the root (or of a struct's group): a dataset is a variable;
   a 1 x 1 struct's group lists its fields as "s.field" (nested structs
   "s.meta.fs", to KM_MAT_STRUCT_DEPTH, as level 5); a struct array is listed as one variable of its dimensions (not read, as
   level 5's). */
static herr_t scan_one(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    m73_scan *w = data;
    H5O_info_t oi;
    char full[sizeof w->m->vars->name], cls[32] = "";
    mat_var v;
    if (name[0] == '#' || info->type != H5L_TYPE_HARD || strchr(name, '.') != NULL ||
        H5Oget_info_by_name(g, name, &oi, H5P_DEFAULT) < 0) /* #refs#, #subsystem#; not MATLAB's */
        return 0;
    if (snprintf(full, sizeof full, "%s%s", w->prefix, name) >= (int)sizeof full)
        return 0;
    if (oi.type == H5O_TYPE_DATASET) {
        hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
        if (d < 0)
            return 0;
        describe(w->ctx, d, full, &v);
        H5Dclose(d);
        w->st = add_var(w, &v);
        return w->st == KM_OK ? 0 : -1;
    }
    if (oi.type != H5O_TYPE_GROUP)
        return 0;
    hid_t sg = H5Gopen2(g, name, H5P_DEFAULT);
    if (sg < 0)
        return 0;
    if (km_h5_attr_get_string(w->ctx, sg, "MATLAB_class", cls, sizeof cls) != KM_OK)
        cls[0] = '\0';
    memset(&v, 0, sizeof v);
    snprintf(v.name, sizeof v.name, "%s", full);
    v.cls = strcmp(cls, "struct") == 0 ? MX_STRUCT : 3;
    v.nd = 2;
    v.dims[0] = v.dims[1] = v.n = 1;
    if (v.cls == MX_STRUCT)
        H5Literate(sg, H5_INDEX_NAME, H5_ITER_INC, NULL, struct_array_field, v.dims);
    v.n = v.dims[0] != 0 && v.dims[1] > UINT64_MAX / v.dims[0] ? UINT64_MAX : v.dims[0] * v.dims[1];
    w->st = add_var(w, &v);
    if (w->st == KM_OK && v.cls == MX_STRUCT && v.n == 1 && w->depth < KM_MAT_STRUCT_DEPTH) { /* its fields */
        char prefix[sizeof full + 1];
        snprintf(prefix, sizeof prefix, "%s.", full);
        m73_scan in = *w;
        in.prefix = prefix;
        in.depth = w->depth + 1;
        H5Literate(sg, H5_INDEX_NAME, H5_ITER_INC, NULL, scan_one, &in);
        w->st = in.st;
    }
    H5Gclose(sg);
    H5Eclear2(H5E_DEFAULT);
    return w->st == KM_OK ? 0 : -1;
}

/* The dataset of variable v ("s.field": s/field). */
static hid_t open_var(m73_impl *m, const mat_var *v)
{
    char path[sizeof v->name];
    snprintf(path, sizeof path, "%s", v->name);
    for (char *c = path; *c != '\0'; c++)
        *c = *c == '.' ? '/' : *c;
    return H5Dopen2(m->file, path, H5P_DEFAULT);
}

/* A variable's whole values (km_varset.values), as stored. */
static km_status var_values(km_ctx *ctx, void *src, const mat_var *v, unsigned char *buf)
{
    m73_impl *m = src;
    km_status st = KM_OK;
    char why[256];
    hid_t d, sp;
    if (v->n == 0)
        return KM_OK; /* an empty array's dataset holds its dimensions */
    d = open_var(m, v);
    sp = d >= 0 ? H5Dget_space(d) : -1;
    if (sp < 0 || (uint64_t)H5Sget_simple_extent_npoints(sp) != v->n ||
        km_h5_dread(d, native_type(v->type), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        km_status kind = km_h5_error_kind(KM_ERR_FORMAT, why, sizeof why);
        st = km_fail(ctx, kind, "variable %s cannot be read (%s)", v->name, why[0] ? why : "HDF5");
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    return st;
}

/* ---- open ---- */

/* The frames' dataset: its storage backed by the file (a crafted shape is
   refused, not read as fill values), its chunks within the limits, a chunk
   cache for every chunk a block of frames touches. */
static km_status open_frames(km_ctx *ctx, m73_impl *m, const km_read_options *opt)
{
    char path[sizeof m->f->name + 1];
    hsize_t chunk[3] = {1, 1, 1};
    size_t elem = km_mat_type_size(m->f->type), chunk_bytes = 0, across = 1;
    km_status st;
    hid_t dcpl;
    int tdim = m->f->nd == 3 ? (m->o.time_first ? 2 : 0) : -1; /* the time axis in HDF5's order */
    snprintf(path, sizeof path, "/%s", m->f->name);
    for (char *c = path; *c != '\0'; c++)
        *c = *c == '.' ? '/' : *c;
    if ((m->frames = open_var(m, m->f)) < 0)
        return km_fail(ctx, KM_ERR_FORMAT, "variable %s cannot be opened", m->f->name);
    if ((st = km_h5_check_storage(ctx, m->frames, path, elem)) != KM_OK)
        return st;
    dcpl = H5Dget_create_plist(m->frames);
    if (dcpl >= 0 && H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, m->f->nd, chunk) == m->f->nd) {
        chunk_bytes = elem;
        for (int k = 0; k < m->f->nd; k++) {
            hsize_t len = m->f->dims[m->f->nd - 1 - k]; /* HDF5's dimension k */
            chunk_bytes *= (size_t)chunk[k];
            across *= k == tdim ? 1 : (size_t)((len + chunk[k] - 1) / chunk[k]);
        }
    }
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (chunk_bytes > 0 && (st = km_h5_check_chunk_size(ctx, chunk_bytes, opt)) != KM_OK)
        return st;
    return chunk_bytes > 0 ? km_h5_chunk_cache_within(ctx, m->file, path + 1, &m->frames, chunk_bytes, across,
                                                      km_read_max_memory(opt))
                           : KM_OK;
}

static km_status open_file(km_ctx *ctx, km_reader *r, m73_impl *m)
{
    unsigned char h[128];
    char text[117];
    km_status st = KM_OK;
    FILE *f = fopen(r->path, "rb");
    int got = f != NULL && fread(h, 1, sizeof h, f) == sizeof h;
    if (f != NULL)
        fclose(f);
    if (!got)
        return km_fail(ctx, KM_ERR_FORMAT, "a MAT-file of v7.3 shorter than its 128-byte header");
    hid_t fapl = km_h5_read_fapl();
    if (fapl < 0)
        return km_fail(ctx, KM_ERR_NOMEM, "cannot set up HDF5 to read the MAT-file");
    m->file = km_h5_open_ro(r->path, fapl);
    if (m->file < 0) /* before H5Pclose clears HDF5's error stack */
        st = km_h5_open_fail(ctx, NULL, KM_ERR_FORMAT);
    H5Pclose(fapl);
    if (m->file < 0)
        return st;
    km_mat_head_text(h, text);
    return km_reader_add_header(ctx, r, "MAT-file", text);
}

static km_status open_all(km_ctx *ctx, km_reader *r, m73_impl *m, const km_read_options *opt)
{
    m73_scan w = {.ctx = ctx, .r = r, .m = m, .prefix = "", .st = KM_OK};
    km_status st;
    if ((st = open_file(ctx, r, m)) != KM_OK)
        return st;
    H5Literate(m->file, H5_INDEX_NAME, H5_ITER_INC, NULL, scan_one, &w);
    H5Eclear2(H5E_DEFAULT);
    if (w.st != KM_OK)
        return w.st;
    km_varset vs = {.v = m->vars, .n = m->n_vars, .noun = "variable",
                    .hint = "MATLAB: frames = <one of them>; save(file, 'frames', ..., '-v7.3')",
                    .values = var_values, .src = m};
    if ((st = km_vars_choose_frames(ctx, &vs, &m->f)) != KM_OK ||
        (st = km_vars_orient(ctx, r, &vs, m->f, opt, &m->o)) != KM_OK ||
        (st = km_vars_read_scalars(ctx, r, &vs, &m->o)) != KM_OK ||
        (st = km_vars_read_time(ctx, r, &vs, opt, &m->o, &m->time)) != KM_OK ||
        (st = km_vars_read_mask(ctx, r, &vs)) != KM_OK || (st = open_frames(ctx, m, opt)) != KM_OK)
        return st;
    r->info.n_frames = m->o.n_frames;
    if ((st = km_reader_apply_options(ctx, r, opt)) != KM_OK)
        return st;
    km_vars_note_assumed(r, &m->o);
    return KM_OK;
}

km_status km_open_mat73(km_ctx *ctx, km_reader *r, const km_read_options *opt)
{
    m73_impl *m = km_reader_alloc(r, sizeof *m);
    km_h5_quiet q;
    km_status st;
    if (m == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory");
    memset(m, 0, sizeof *m);
    m->file = m->frames = H5I_INVALID_HID;
    r->impl = m;
    r->ops = &m73_ops;
    r->info.format = KM_FORMAT_MATLAB;
    km_h5_quiet_begin(&q);
    st = open_all(ctx, r, m, opt);
    km_h5_quiet_end(&q);
    return st;
}

/* ---- frames ---- */

/* Frames next .. next + n - 1 as stored into m->buf: HDF5's [n, C, R]
   (frames(r, c, t)), [C, R, n] (frames(t, r, c)) or [C, R] (one frame). */
static int read_block(m73_impl *m, int64_t n)
{
    const mat_var *f = m->f;
    hsize_t start[3] = {0, 0, 0}, count[3] = {f->dims[f->nd - 1], f->dims[f->nd - 2], f->nd == 3 ? f->dims[0] : 1};
    if (f->nd == 3 && m->o.time_first) {
        start[2] = (hsize_t)m->next;
        count[2] = (hsize_t)n;
    } else if (f->nd == 3) {
        start[0] = (hsize_t)m->next;
        count[0] = (hsize_t)n;
    }
    int ok = km_h5_read_block(m->frames, native_type(f->type), f->nd, start, count, m->buf);
    /* Read or not, a file cut meanwhile is the reason, as for a session: HDF5
       reads contiguous frames past the end as zeros (h5_raw.h). */
    return km_h5_file_cut(m->frames) ? 0 : ok;
}

static km_status m73_read(km_ctx *ctx, km_reader *r, float *frames, double *times, int64_t max_frames,
                          int64_t *n_read)
{
    m73_impl *m = r->impl;
    int64_t n = m->o.n_frames - m->next, R = r->info.rows, C = r->info.cols;
    size_t need;
    km_status st = KM_OK;
    km_h5_quiet q;
    char why[256];
    *n_read = 0;
    if (n > max_frames)
        n = max_frames;
    if (n <= 0)
        return KM_OK;
    if (km_ctx_cancelled(ctx))
        return km_fail(ctx, KM_ERR_CANCELLED, "cancelled");
    need = (size_t)n * (size_t)(R * C) * km_mat_type_size(m->f->type);
    if (need > m->buf_cap) {
        km_reader_release(r, m->buf);
        m->buf_cap = 0;
        if ((m->buf = km_reader_alloc(r, need)) == NULL)
            return km_fail(ctx, KM_ERR_NOMEM, "out of memory for %lld frames", (long long)n);
        m->buf_cap = need;
    }
    km_h5_quiet_begin(&q);
    if (!read_block(m, n)) {
        km_status kind = km_h5_error_kind(KM_ERR_FORMAT, why, sizeof why);
        st = km_fail(ctx, kind, "frames %lld..%lld: variable %s cannot be read (%s)", (long long)m->next,
                     (long long)(m->next + n - 1), m->f->name, why);
    }
    km_h5_quiet_end(&q);
    if (st != KM_OK)
        return st;
    /* The block's strides: the variable with n frames, column-major. */
    mat_var blk = *m->f;
    km_orient bo = m->o;
    km_array a;
    if (blk.nd == 3)
        blk.dims[m->o.time_first ? 0 : 2] = (uint64_t)n;
    bo.n_frames = n;
    km_vars_strides(&a, &blk, &bo);
    for (int64_t t = 0; t < n; t++)
        for (int64_t i = 0; i < R; i++)
            km_mat_run_f(m->buf, (size_t)(t * a.st + i * a.sr), (size_t)a.sc, (size_t)C, a.type, 0,
                         frames + (t * R + i) * C);
    for (int64_t i = 0; times != NULL && i < n; i++)
        times[i] = m->time != NULL ? m->time[m->next + i] : (double)(m->next + i) / r->info.frame_rate_hz;
    m->next += n;
    *n_read = n;
    return KM_OK;
}
