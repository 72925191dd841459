/* HDF5 helpers of the result writer (result_writer_internal.h): types,
 * attributes, extendible columns, 2-D datasets, groups, scratch. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>
#include <hdf5_hl.h>

#include "io/result_writer_internal.h"

hid_t km_rw_mem_type(int kind)
{
    switch (kind) {
    case KM_COL_F64: return H5T_NATIVE_DOUBLE;
    case KM_COL_F32: return H5T_NATIVE_FLOAT;
    case KM_COL_I64: return H5T_NATIVE_INT64;
    case KM_COL_I32: return H5T_NATIVE_INT32;
    default: return H5T_NATIVE_UINT32;
    }
}

hid_t km_rw_file_type(int kind)
{
    switch (kind) {
    case KM_COL_F64: return H5T_IEEE_F64LE;
    case KM_COL_F32: return H5T_IEEE_F32LE;
    case KM_COL_I64: return H5T_STD_I64LE;
    case KM_COL_I32: return H5T_STD_I32LE;
    default: return H5T_STD_U32LE;
    }
}

/* Close an HDF5 handle if open and mark it closed. */
void km_rw_close_h(hid_t *h, herr_t (*fn)(hid_t))
{
    if (*h >= 0)
        fn(*h);
    *h = -1;
}

/* ---- attributes -------------------------------------------------------- */

static int km_rw_utf8_valid(const unsigned char *s)
{
    while (*s != 0) {
        int n = *s < 0x80 ? 0 : (*s & 0xE0) == 0xC0 ? 1 : (*s & 0xF0) == 0xE0 ? 2
              : (*s & 0xF8) == 0xF0 ? 3 : -1;
        if (n < 0)
            return 0;
        s++;
        for (; n > 0; n--, s++)
            if ((*s & 0xC0) != 0x80)
                return 0;
    }
    return 1;
}

/* The scalar dataspace and the variable-length UTF-8 string type every
 * attribute of the writer uses, made at its first attribute and closed
 * with the writer: made and closed per attribute they were ~2 000 takes of
 * HDF5's global lock a result file (bench/HISTORY.md "Session 31 (pipe2)"). */
static int attr_ids(km_result_writer *w)
{
    if (w->attr_scalar < 0)
        w->attr_scalar = H5Screate(H5S_SCALAR);
    if (w->attr_str < 0) {
        hid_t t = H5Tcopy(H5T_C_S1_g);
        if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0))
            km_rw_close_h(&t, H5Tclose);
        w->attr_str = t;
    }
    return w->attr_scalar >= 0 && w->attr_str >= 0;
}

/* Scalar attribute `name` of loc holding *v (memory type mtype). */
static int attr_put(km_result_writer *w, hid_t loc, const char *name, hid_t ftype, hid_t mtype,
                    const void *v)
{
    hid_t a = attr_ids(w) ? H5Acreate2(loc, name, ftype, w->attr_scalar, H5P_DEFAULT, H5P_DEFAULT)
                          : -1;
    int ok = a >= 0 && H5Awrite(a, mtype, v) >= 0;
    km_rw_close_h(&a, H5Aclose);
    return ok;
}

/* Scalar variable-length UTF-8 string attribute.  Text that is not valid
 * UTF-8 (old exports in Latin-1) is transcoded as Latin-1 so every reader
 * gets a string. */
int km_rw_attr_str(km_result_writer *w, hid_t loc, const char *name, const char *value)
{
    int ok;
    char *conv = NULL;
    const char *v = value != NULL ? value : "";

    if (!km_rw_utf8_valid((const unsigned char *)v)) {
        size_t len = strlen(v), j = 0;
        conv = km_ref_alloc(&w->alloc, 2 * len + 1);
        if (conv == NULL)
            return 0;
        for (size_t i = 0; i < len; i++) {
            unsigned char ch = (unsigned char)v[i];
            if (ch < 0x80) {
                conv[j++] = (char)ch;
            } else {
                conv[j++] = (char)(0xC0 | (ch >> 6));
                conv[j++] = (char)(0x80 | (ch & 0x3F));
            }
        }
        conv[j] = '\0';
        v = conv;
    }
    ok = attr_ids(w) && attr_put(w, loc, name, w->attr_str, w->attr_str, &v);
    km_ref_free(&w->alloc, conv);
    return ok;
}

/* The types' globals (H5T_*_g), not their macros: each macro calls
 * H5open(), one more take of the lock; the library is open here. */
int km_rw_attr_f64(km_result_writer *w, hid_t loc, const char *name, double v)
{
    return attr_put(w, loc, name, H5T_IEEE_F64LE_g, H5T_NATIVE_DOUBLE_g, &v);
}

int km_rw_attr_i64(km_result_writer *w, hid_t loc, const char *name, int64_t v)
{
    return attr_put(w, loc, name, H5T_STD_I64LE_g, H5T_NATIVE_INT64_g, &v);
}

int km_rw_attr_i32(km_result_writer *w, hid_t loc, const char *name, int32_t v)
{
    return attr_put(w, loc, name, H5T_STD_I32LE_g, H5T_NATIVE_INT32_g, &v);
}

/* ---- datasets ------------------------------------------------------------ */

/* The one place a column, map or axis gets its `units` ("@" = the result
 * units `runits`) and `description` (every dataset carries both). */
int km_rw_col_attrs(km_result_writer *w, hid_t ds, const char *units, const char *runits,
                     const char *desc)
{
    return km_rw_attr_str(w, ds, "units", units[0] == '@' ? runits : units) &&
           km_rw_attr_str(w, ds, "description", desc);
}

/* A scalar attribute holding the null-terminated ASCII string v, of v's
 * length + 1, as the high-level library's H5LTset_attribute_string writes
 * it. */
static int attr_fixed_str(km_result_writer *w, hid_t loc, const char *name, const char *v)
{
    hid_t t = attr_ids(w) ? H5Tcopy(H5T_C_S1_g) : -1; /* null-terminated, ASCII */
    int ok = t >= 0 && H5Tset_size(t, strlen(v) + 1) >= 0 && attr_put(w, loc, name, t, t, v);
    km_rw_close_h(&t, H5Tclose);
    return ok;
}

/* Make the new dataset `ds` a dimension scale: a netCDF dimension named like
 * the dataset, and its coordinate variable (xarray/h5netcdf).  The two
 * attributes H5DSset_scale writes (CLASS "DIMENSION_SCALE", NAME), written
 * here: H5DSset_scale looks for DIMENSION_LIST, CLASS and NAME first (each
 * a walk of the attributes) and makes a dataspace per attribute, 24 takes
 * of HDF5's global lock a scale against 8 (bench/HISTORY.md "Session 38
 * (threads)"). */
int km_rw_set_scale(km_result_writer *w, hid_t ds, const char *name)
{
    return attr_fixed_str(w, ds, "CLASS", "DIMENSION_SCALE") && attr_fixed_str(w, ds, "NAME", name);
}

/* Attach the scale named `name` in group g to dimension `idx` of ds. */
int km_rw_attach_named(hid_t g, hid_t ds, const char *name, unsigned idx)
{
    hid_t sc = H5Dopen2(g, name, H5P_DEFAULT);
    int ok = sc >= 0 && H5DSattach_scale(ds, sc, idx) >= 0;
    km_rw_close_h(&sc, H5Dclose);
    return ok;
}

/* Column 0 of `cols` (a scale: km_rw_set_scale) attached to dimension 0 of
 * columns 1..n-1, all at once: the attributes n - 1 calls of
 * H5DSattach_scale leave (each column's DIMENSION_LIST, a variable-length
 * list of object references, one per dimension; the scale's REFERENCE_LIST,
 * {dataset reference, dimension} in the order of the calls, its type as
 * H5DS makes it), written once each instead of the scale's list read,
 * deleted and written again per column (8.9 M instructions of a 1 s run,
 * bench/HISTORY.md "Session 27 (fixed)").  The columns are 1-D and new (no
 * DIMENSION_LIST), the scale has no REFERENCE_LIST yet. */
typedef struct {
    hobj_ref_t ref;
    unsigned int dim_idx;
} rw_ds_list;

/* The scale's REFERENCE_LIST: {dataset reference, dimension} x n, its type
 * as H5DS makes it.  A scale that already has one (the saved frames'
 * /frames/conditioned on /frames/row and col) keeps its entries first, as
 * H5DSattach_scale leaves them: read, deleted and written again with the n
 * new ones, once rather than once per dataset.  extend 0: the scale is new
 * (no list to look for). */
static int write_ref_list(const km_alloc_ref *ref, hid_t scale, const rw_ds_list *list, size_t n,
                          int extend)
{
    hsize_t len[1] = {(hsize_t)n};
    hid_t ct = H5Tcreate(H5T_COMPOUND, sizeof(rw_ds_list)), sn = -1, a = -1;
    rw_ds_list *all = NULL;
    int ok = ct >= 0 && H5Tinsert(ct, "dataset", HOFFSET(rw_ds_list, ref), H5T_STD_REF_OBJ) >= 0 &&
             H5Tinsert(ct, "dimension", HOFFSET(rw_ds_list, dim_idx), H5T_NATIVE_INT) >= 0;
    htri_t had = !ok ? -1 : extend ? H5Aexists(scale, REFERENCE_LIST) : 0;
    ok = had >= 0;
    if (ok && had > 0) {
        a = H5Aopen(scale, REFERENCE_LIST, H5P_DEFAULT);
        sn = a >= 0 ? H5Aget_space(a) : -1;
        hssize_t old = sn >= 0 ? H5Sget_simple_extent_npoints(sn) : -1;
        all = old >= 0 ? km_ref_alloc(ref, ((size_t)old + n) * sizeof *all) : NULL;
        ok = all != NULL && H5Aread(a, ct, all) >= 0;
        if (ok)
            memcpy(all + old, list, n * sizeof *list);
        list = all;
        len[0] = (hsize_t)old + n;
        km_rw_close_h(&sn, H5Sclose);
        km_rw_close_h(&a, H5Aclose);
        ok = ok && H5Adelete(scale, REFERENCE_LIST) >= 0;
    }
    ok = ok && (sn = H5Screate_simple(1, len, NULL)) >= 0 &&
         (a = H5Acreate2(scale, REFERENCE_LIST, ct, sn, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
         H5Awrite(a, ct, list) >= 0;
    km_ref_free(ref, all);
    km_rw_close_h(&a, H5Aclose);
    km_rw_close_h(&sn, H5Sclose);
    km_rw_close_h(&ct, H5Tclose);
    return ok;
}

/* ds's DIMENSION_LIST: one scale per dimension (rank 1 or 2), of type vt
 * (variable-length object references) and dataspace s ([rank]). */
static int write_dim_list(hid_t ds, const hobj_ref_t *scales, int rank, hid_t vt, hid_t s)
{
    hvl_t v[2] = {{1, (void *)&scales[0]}, {1, rank > 1 ? (void *)&scales[1] : NULL}};
    hid_t a = H5Acreate2(ds, DIMENSION_LIST, vt, s, H5P_DEFAULT, H5P_DEFAULT);
    int ok = a >= 0 && H5Awrite(a, vt, v) >= 0;
    km_rw_close_h(&a, H5Aclose);
    return ok;
}

/* The type and dataspace of a DIMENSION_LIST of `rank` dimensions. */
static int dim_list_type(int rank, hid_t *vt, hid_t *s)
{
    hsize_t dims[1] = {(hsize_t)rank};
    *vt = H5Tvlen_create(H5T_STD_REF_OBJ);
    *s = H5Screate_simple(1, dims, NULL);
    return *vt >= 0 && *s >= 0;
}

int km_rw_attach_columns(const km_alloc_ref *ref, const km_rw_col *cols, size_t n)
{
    hobj_ref_t scale;
    hid_t vt = -1, s1 = -1;
    if (n < 2)
        return 1;
    rw_ds_list *list = km_ref_alloc(ref, (n - 1) * sizeof *list);
    int ok = list != NULL && dim_list_type(1, &vt, &s1) &&
             H5Rcreate(&scale, cols[0].ds, ".", H5R_OBJECT, -1) >= 0;
    for (size_t i = 1; ok && i < n; i++) {
        list[i - 1].dim_idx = 0;
        ok = H5Rcreate(&list[i - 1].ref, cols[i].ds, ".", H5R_OBJECT, -1) >= 0 &&
             write_dim_list(cols[i].ds, &scale, 1, vt, s1);
    }
    ok = ok && write_ref_list(ref, cols[0].ds, list, n - 1, 0);
    km_rw_close_h(&s1, H5Sclose);
    km_rw_close_h(&vt, H5Tclose);
    km_ref_free(ref, list);
    return ok;
}

/* The scales ydim and xdim of g attached to dimensions 0 and 1 of the n
 * new 2-D datasets ds at once, as n pairs of H5DSattach_scale calls (y then
 * x, dataset by dataset) leave them: the body map's five maps and the two
 * /frames maps at the end of a run, /session/mask at its start, where each
 * call read, deleted and wrote the scale's list again under HDF5's lock
 * (bench/HISTORY.md "Session 32 (pipe3)", "Session 38 (threads)"). */
static int attach_maps(const km_alloc_ref *ref, hid_t g, const hid_t *ds, size_t n,
                       const char *ydim, const char *xdim)
{
    hobj_ref_t sc[2];
    hid_t y = H5Dopen2(g, ydim, H5P_DEFAULT), x = H5Dopen2(g, xdim, H5P_DEFAULT), vt = -1, s2 = -1;
    rw_ds_list *list = km_ref_alloc(ref, 2 * (n + 1) * sizeof *list);
    int ok = y >= 0 && x >= 0 && list != NULL && dim_list_type(2, &vt, &s2) &&
             H5Rcreate(&sc[0], g, ydim, H5R_OBJECT, -1) >= 0 &&
             H5Rcreate(&sc[1], g, xdim, H5R_OBJECT, -1) >= 0;
    for (size_t i = 0; ok && i < n; i++) {
        ok = H5Rcreate(&list[i].ref, ds[i], ".", H5R_OBJECT, -1) >= 0 &&
             write_dim_list(ds[i], sc, 2, vt, s2);
        list[i].dim_idx = 0;
        list[n + i].ref = list[i].ref;
        list[n + i].dim_idx = 1;
    }
    ok = ok && n > 0 && write_ref_list(ref, y, list, n, 1) &&
         write_ref_list(ref, x, list + n, n, 1);
    km_ref_free(ref, list);
    km_rw_close_h(&s2, H5Sclose);
    km_rw_close_h(&vt, H5Tclose);
    km_rw_close_h(&x, H5Dclose);
    km_rw_close_h(&y, H5Dclose);
    return ok || n == 0;
}

/* A fixed 1-D axis NAME [n] = x0 + i * step in group g, stored as ftype,
 * made a dimension scale.  Written from memory of the file's own type
 * (double, or int32 for an integer ftype: the taxel indices): a conversion
 * has HDF5 zero a 1 MiB conversion buffer, 1 M instructions an axis. */
int km_rw_write_axis(km_result_writer *w, hid_t g, const char *name, hid_t ftype,
                      int32_t n, double x0, double step, const char *units, const char *desc)
{
    int ok = 0, integer = H5Tget_class(ftype) == H5T_INTEGER;
    hsize_t dims[1] = {(hsize_t)n};
    void *buf = km_ref_alloc(&w->alloc, ((size_t)n + 1) * sizeof(double));
    hid_t s = H5Screate_simple(1, dims, NULL), ds = -1;
    if (buf == NULL || s < 0)
        goto done;
    for (int32_t i = 0; i < n; i++) {
        double x = x0 + (double)i * step;
        if (integer)
            ((int32_t *)buf)[i] = (int32_t)x;
        else
            ((double *)buf)[i] = x;
    }
    ds = H5Dcreate2(g, name, ftype, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ds < 0 || (n > 0 && H5Dwrite(ds, integer ? H5T_NATIVE_INT32 : H5T_NATIVE_DOUBLE, H5S_ALL,
                                     H5S_ALL, H5P_DEFAULT, buf) < 0))
        goto done;
    ok = km_rw_col_attrs(w, ds, units, "", desc) && km_rw_set_scale(w, ds, name);
done:
    km_rw_close_h(&ds, H5Dclose);
    km_rw_close_h(&s, H5Sclose);
    km_ref_free(&w->alloc, buf);
    return ok;
}

/* The taxel-index axes `row` [rows] and `col` [cols] of a group's maps. */
int km_rw_write_grid_axes(km_result_writer *w, hid_t g, int32_t rows, int32_t cols)
{
    return km_rw_write_axis(w, g, "row", H5T_STD_I32LE, rows, 0.0, 1.0, "",
                      "sensor grid row (taxel index)") &&
           km_rw_write_axis(w, g, "col", H5T_STD_I32LE, cols, 0.0, 1.0, "",
                      "sensor grid column (taxel index)");
}

/* The chunk cache of the datasets the result file opens with the default
 * access list: a column's (COL_CACHE_BYTES).  Set on the file, not on each
 * column's access list: a dataset keeps its own copy of an access list,
 * and closing the copies was ~8% of the instructions under HDF5's lock at
 * the end of a session (bench/HISTORY.md "Session 39 (burst13)"). */
int km_rw_column_cache(hid_t fapl)
{
    int mdc = 0;
    size_t slots = 0, bytes = 0;
    double w0 = 0.0;
    return H5Pget_cache(fapl, &mdc, &slots, &bytes, &w0) >= 0 &&
           H5Pset_cache(fapl, mdc, 11, COL_CACHE_BYTES, 1.0) >= 0;
}

/* A dataset access list with HDF5's default chunk cache (a new file access
 * list's), for a dataset that is not a column: /frames/conditioned. */
hid_t km_rw_default_cache_dapl(void)
{
    int mdc = 0;
    size_t slots = 0, bytes = 0;
    double w0 = 0.0;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (fapl < 0 || dapl < 0 || H5Pget_cache(fapl, &mdc, &slots, &bytes, &w0) < 0 ||
        H5Pset_chunk_cache(dapl, slots, bytes, w0) < 0)
        km_rw_close_h(&dapl, H5Pclose);
    km_rw_close_h(&fapl, H5Pclose);
    return dapl;
}

/* Creation list of an appended column with the filters `filters`. */
static hid_t km_rw_column_dcpl(int filters)
{
    hsize_t chunk[1] = {COL_CHUNK};
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (dcpl >= 0 && (H5Pset_chunk(dcpl, 1, chunk) < 0 ||
                      (filters == KM_RW_SHUFFLE_DEFLATE && H5Pset_shuffle(dcpl) < 0) ||
                      (filters != KM_RW_UNFILTERED && H5Pset_deflate(dcpl, COL_DEFLATE) < 0))) {
        H5Pclose(dcpl);
        dcpl = -1;
    }
    return dcpl;
}

/* An empty, extendible, chunked 1-D column with the filters `filters`
 * (KM_RW_*) into *out.  The property lists are the writer's, made at the
 * first column that needs them (making and closing two lists per column
 * was 2 M instructions of a 1 s run). */
int km_rw_make_column(km_result_writer *w, hid_t group, const col_def *c, int filters,
                      km_rw_col *out)
{
    hid_t ds = -1, s = -1;
    hsize_t dims[1] = {0}, maxdims[1] = {H5S_UNLIMITED};
    int ok = 0;

    if (!km_h5_headroom())
        return 0;
    if (w->col_dcpl[filters] < 0)
        w->col_dcpl[filters] = km_rw_column_dcpl(filters);
    s = H5Screate_simple(1, dims, maxdims);
    if (s < 0 || w->col_dcpl[filters] < 0)
        goto done;
    ds = H5Dcreate2(group, c->name, km_rw_file_type(c->kind), s, H5P_DEFAULT,
                    w->col_dcpl[filters], H5P_DEFAULT); /* the file's cache */
    if (ds < 0)
        goto done;
    /* The direct-write layout of the first column of its filters and kind
       serves the next ones (they share creation list, type and shape). */
    km_h5_chunks_out **layout =
        c->kind >= 0 && c->kind < KM_COL_KINDS ? &w->col_layout[filters][c->kind] : NULL;
    if (w->defl != NULL && layout != NULL && *layout != NULL) {
        out->ds = ds;
        out->mtype = km_rw_mem_type(c->kind);
        out->z = km_h5_chunks_out_like(*layout, ds);
    } else {
        km_rw_col_init(w, out, ds, km_rw_mem_type(c->kind));
        /* Float columns' low mantissa bytes are noise on most sensors
           (docs/FORMAT.md 2.1): stored, not searched for matches. */
        if (out->z != NULL && (c->kind == KM_COL_F32 || c->kind == KM_COL_F64))
            km_h5_chunks_out_noise_planes(out->z);
        if (layout != NULL)
            *layout = km_h5_chunks_out_layout(out->z);
    }
    ok = km_rw_col_attrs(w, ds, c->units, w->units, c->desc);
done:
    if (!ok && out->ds != ds)
        km_rw_close_h(&ds, H5Dclose); /* not handed to *out */
    km_rw_close_h(&s, H5Sclose);
    return ok;
}

void km_rw_col_init(km_result_writer *w, km_rw_col *c, hid_t ds, hid_t mtype)
{
    c->ds = ds;
    c->mtype = mtype;
    c->z = w->defl != NULL ? km_h5_chunks_out_open(ds, mtype, w->defl) : NULL;
    if (c->z != NULL)
        km_h5_chunks_out_flush_via(c->z, &w->io);
}

int km_rw_append_rows(km_rw_col *c, int rank, int32_t rows, int32_t cols, int64_t old,
                      const void *buf, size_t n)
{
    int ok = 0;
    hid_t fs = -1, ms = -1;
    hsize_t size[3] = {(hsize_t)old + n, (hsize_t)rows, (hsize_t)cols};
    hsize_t start[3] = {(hsize_t)old, 0, 0}, count[3] = {n, (hsize_t)rows, (hsize_t)cols};

    if (n == 0)
        return 1;
    if (c->z != NULL)
        return km_h5_chunks_write(c->z, buf, n);
    if (H5Dset_extent(c->ds, size) < 0)
        goto done;
    fs = H5Dget_space(c->ds);
    ms = H5Screate_simple(rank, count, NULL);
    if (fs < 0 || ms < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0)
        goto done;
    if (H5Dwrite(c->ds, c->mtype, ms, fs, H5P_DEFAULT, buf) < 0)
        goto done;
    ok = 1;
done:
    km_rw_close_h(&ms, H5Sclose);
    km_rw_close_h(&fs, H5Sclose);
    return ok;
}

int km_rw_append_1d(km_rw_col *c, int64_t old, const void *buf, size_t n)
{
    return km_rw_append_rows(c, 1, 0, 0, old, buf, n);
}

int km_rw_col_calls_h5(const km_rw_col *c, size_t n)
{
    return n > 0 && (c->z == NULL || km_h5_chunks_out_fills(c->z, n));
}

int km_rw_col_finish(km_rw_col *c)
{
    return c->z == NULL || km_h5_chunks_flush(c->z);
}

void km_rw_col_close(km_rw_col *c)
{
    km_h5_chunks_out_free(c->z);
    c->z = NULL;
    km_rw_close_h(&c->ds, H5Dclose);
}

static int make_maps_(km_result_writer *w, hid_t g, const km_rw_map *maps, size_t n,
                    const char *ydim, const char *xdim, hid_t *ds);
int km_rw_make_maps(km_result_writer *w, hid_t g, const km_rw_map *maps, size_t n,
                    const char *ydim, const char *xdim, hid_t *ds)
{
    km_h5_run_begin();
    int ok = make_maps_(w, g, maps, n, ydim, xdim, ds);
    km_h5_run_end();
    return ok;
}
static int make_maps_(km_result_writer *w, hid_t g, const km_rw_map *maps, size_t n,
                    const char *ydim, const char *xdim, hid_t *ds)
{
    size_t made = 0;
    int ok = n <= KM_RW_MAX_MAPS;
    for (size_t i = 0; ok && i < n; i++, made++) {
        const km_rw_map *m = &maps[i];
        hsize_t dims[2] = {(hsize_t)m->ny, (hsize_t)m->nx};
        hid_t s = H5Screate_simple(2, dims, NULL);
        ds[i] = s >= 0 ? H5Dcreate2(g, m->name, m->ftype, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)
                       : -1;
        km_rw_close_h(&s, H5Sclose);
        ok = ds[i] >= 0 &&
             ((size_t)m->ny * (size_t)m->nx == 0 || m->data == NULL ||
              H5Dwrite(ds[i], m->mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, m->data) >= 0) &&
             km_rw_col_attrs(w, ds[i], m->units, "", m->desc);
    }
    ok = ok && attach_maps(&w->alloc, g, ds, n, ydim, xdim);
    for (size_t i = made; i < n; i++)
        ds[i] = -1;
    if (!ok)
        for (size_t i = 0; i < made; i++)
            km_rw_close_h(&ds[i], H5Dclose);
    return ok;
}

int km_rw_write_maps(km_result_writer *w, hid_t g, const km_rw_map *maps, size_t n,
                     const char *ydim, const char *xdim)
{
    hid_t ds[KM_RW_MAX_MAPS];
    if (n > KM_RW_MAX_MAPS || !km_rw_make_maps(w, g, maps, n, ydim, xdim, ds))
        return 0;
    for (size_t i = 0; i < n; i++)
        km_rw_close_h(&ds[i], H5Dclose);
    return 1;
}

hid_t km_rw_make_group(hid_t loc, const char *name, int track_order)
{
    hid_t g, gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (gcpl < 0)
        return -1;
    /* Header keys keep the file's order for readers that ask for it. */
    if (track_order &&
        H5Pset_attr_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0) {
        H5Pclose(gcpl);
        return -1;
    }
    g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    return g;
}

/* A table's group: its columns list in the order they were written
 * (link creation order tracked), the order docs/FORMAT.md gives. */
hid_t km_rw_table_group(hid_t loc, const char *name)
{
    hid_t g, gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (gcpl < 0)
        return -1;
    if (H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0) {
        H5Pclose(gcpl);
        return -1;
    }
    g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    return g;
}

void *km_rw_scratch(km_ctx *ctx, km_result_writer *w, size_t bytes)
{
    if (bytes <= w->scratch_cap)
        return w->scratch;
    void *p = km_alloc(ctx, bytes);
    if (p == NULL)
        return NULL;
    km_ref_free(&w->alloc, w->scratch);
    w->scratch = p;
    w->scratch_cap = bytes;
    return p;
}
