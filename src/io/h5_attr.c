/* Attributes of HDF5 objects (see h5util.h): scalar attributes written,
 * scalar attributes of untrusted files read with their class and shape
 * checked (variable-length strings through h5_vlen.c), and any attribute
 * as text for a header list. */
#define _POSIX_C_SOURCE 200809L

#include "h5util.h"

#include <stdio.h>
#include <string.h>

#include "h5_vlen.h"

/* Create (or replace) a scalar attribute and write one value. */
static km_status attr_put(km_ctx *ctx, hid_t obj, const char *name, hid_t file_type,
                          hid_t mem_type, const void *value)
{
    km_status st = KM_OK;
    hid_t space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
    htri_t exists = H5Aexists(obj, name);

    if (exists > 0 && H5Adelete(obj, name) < 0)
        exists = -1;
    if (exists < 0) {
        st = km_h5_write_fail(ctx, KM_ERR_IO, 0, "cannot replace attribute %s", name);
        goto done;
    }
    space = H5Screate(H5S_SCALAR);
    if (space < 0) {
        st = km_h5_write_fail(ctx, KM_ERR_IO, 0, "cannot write attribute %s", name);
        goto done;
    }
    attr = H5Acreate2(obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0 || H5Awrite(attr, mem_type, value) < 0)
        st = km_h5_write_fail(ctx, KM_ERR_IO, 0, "cannot write attribute %s", name);
done:
    if (attr >= 0)
        H5Aclose(attr);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

km_status km_h5_attr_put_string(km_ctx *ctx, hid_t obj, const char *name, const char *value)
{
    km_status st;
    hid_t type = H5Tcopy(H5T_C_S1);
    const char *v = value != NULL ? value : "";

    if (type < 0 || H5Tset_size(type, H5T_VARIABLE) < 0 || H5Tset_cset(type, H5T_CSET_UTF8) < 0) {
        st = km_h5_write_fail(ctx, KM_ERR_IO, 0, "cannot write attribute %s", name);
        goto done;
    }
    st = attr_put(ctx, obj, name, type, type, &v);
done:
    if (type >= 0)
        H5Tclose(type);
    return st;
}

km_status km_h5_attr_put_double(km_ctx *ctx, hid_t obj, const char *name, double value)
{
    return attr_put(ctx, obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

km_status km_h5_attr_put_int64(km_ctx *ctx, hid_t obj, const char *name, int64_t value)
{
    return attr_put(ctx, obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

/* Open attribute `name` and check it holds exactly one element. */
static km_status attr_open_one(km_ctx *ctx, hid_t obj, const char *name, hid_t *attr_out)
{
    km_status st = KM_OK;
    hid_t attr = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hssize_t n;
    htri_t exists;

    *attr_out = H5I_INVALID_HID;
    if ((st = km_h5_check_attributes(ctx, obj)) != KM_OK)
        return st;
    exists = H5Aexists(obj, name);
    if (exists == 0)
        return KM_ERR_NOT_FOUND;
    if (exists < 0 || (attr = H5Aopen(obj, name, H5P_DEFAULT)) < 0) {
        st = km_fail(ctx, KM_ERR_FORMAT, "attribute %s cannot be opened", name);
        goto done;
    }
    space = H5Aget_space(attr);
    n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    if (n != 1) {
        st = km_fail(ctx, KM_ERR_FORMAT, "attribute %s holds %lld values, expected one", name,
                     (long long)n);
        goto done;
    }
    *attr_out = attr;
    attr = H5I_INVALID_HID;
done:
    if (space >= 0)
        H5Sclose(space);
    if (attr >= 0)
        H5Aclose(attr);
    return st;
}

static const char *class_name(H5T_class_t c)
{
    switch (c) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_STRING: return "string";
    case H5T_BITFIELD: return "bitfield";
    case H5T_OPAQUE: return "opaque";
    case H5T_COMPOUND: return "compound";
    case H5T_REFERENCE: return "reference";
    case H5T_ENUM: return "enum";
    case H5T_VLEN: return "vlen";
    case H5T_ARRAY: return "array";
    default: return "unknown";
    }
}

/* Read one string element of `attr` (class checked by the caller): its
 * stored size is checked first; variable-length strings of untrusted
 * (read-only) files go through km_h5_read_vlen_string. */
static km_status read_string(hid_t attr, hid_t ftype, char *buf, size_t cap, int *too_long)
{
    km_status st = KM_ERR_FORMAT;
    hid_t mtype = H5Tcopy(H5T_C_S1);
    htri_t var = H5Tis_variable_str(ftype);

    *too_long = 0;
    buf[0] = '\0';
    if (mtype < 0 || var < 0 || H5Tset_cset(mtype, H5Tget_cset(ftype)) < 0)
        goto done;
    if (var > 0) {
        char *s = NULL;
        st = km_h5_read_vlen_string(attr, buf, cap, too_long);
        if (st != KM_ERR_UNSUPPORTED)
            goto done;
        st = KM_ERR_FORMAT;
        if (H5Tset_size(mtype, H5T_VARIABLE) < 0 || H5Aread(attr, mtype, &s) < 0)
            goto done;
        if (s != NULL) {
            size_t len = strlen(s);
            *too_long = len >= cap;
            if (!*too_long)
                memcpy(buf, s, len + 1);
            H5free_memory(s);
        }
    } else {
        size_t size = H5Tget_size(ftype);
        char *tmp;
        if (size == 0 || size >= cap) {
            *too_long = size >= cap;
            goto done;
        }
        if (H5Aget_storage_size(attr) != (hsize_t)size)
            goto done;
        tmp = buf;
        if (H5Tset_size(mtype, size + 1) < 0 || H5Tset_strpad(mtype, H5T_STR_NULLTERM) < 0 ||
            H5Aread(attr, mtype, tmp) < 0)
            goto done;
        buf[size] = '\0';
    }
    st = KM_OK;
done:
    if (mtype >= 0)
        H5Tclose(mtype);
    return st;
}

km_status km_h5_attr_get_string(km_ctx *ctx, hid_t obj, const char *name, char *buf, size_t cap)
{
    km_status st;
    hid_t attr, ftype = H5I_INVALID_HID;
    H5T_class_t cls;
    int too_long = 0;

    if (cap == 0)
        return km_fail(ctx, KM_ERR_INTERNAL, "attribute %s: no buffer", name);
    buf[0] = '\0';
    st = attr_open_one(ctx, obj, name, &attr);
    if (st != KM_OK)
        return st;
    ftype = H5Aget_type(attr);
    cls = ftype >= 0 ? H5Tget_class(ftype) : H5T_NO_CLASS;
    if (cls != H5T_STRING) {
        st = km_fail(ctx, KM_ERR_FORMAT, "attribute %s must be a string, found %s", name,
                     class_name(cls));
        goto done;
    }
    st = read_string(attr, ftype, buf, cap, &too_long);
    if (too_long)
        st = km_fail(ctx, KM_ERR_FORMAT, "attribute %s is longer than %zu characters", name,
                     cap - 1);
    else if (st != KM_OK)
        st = km_fail(ctx, KM_ERR_FORMAT, "attribute %s cannot be read as a string", name);
done:
    if (ftype >= 0)
        H5Tclose(ftype);
    H5Aclose(attr);
    return st;
}

km_status km_h5_attr_get_double(km_ctx *ctx, hid_t obj, const char *name, double *out)
{
    km_status st;
    hid_t attr, ftype = H5I_INVALID_HID;
    H5T_class_t cls;

    st = attr_open_one(ctx, obj, name, &attr);
    if (st != KM_OK)
        return st;
    ftype = H5Aget_type(attr);
    cls = ftype >= 0 ? H5Tget_class(ftype) : H5T_NO_CLASS;
    if (cls != H5T_INTEGER && cls != H5T_FLOAT) {
        st = km_fail(ctx, KM_ERR_FORMAT, "attribute %s must be a number, found %s", name,
                     class_name(cls));
        goto done;
    }
    if (H5Aread(attr, H5T_NATIVE_DOUBLE, out) < 0)
        st = km_fail(ctx, KM_ERR_FORMAT, "attribute %s cannot be read as a number", name);
done:
    if (ftype >= 0)
        H5Tclose(ftype);
    H5Aclose(attr);
    return st;
}

#define KM_TEXT_MAX_ELEMS 64

static void append(char *buf, size_t cap, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (*len + 1 >= cap)
        return;
    if (n > cap - 1 - *len)
        n = cap - 1 - *len;
    memcpy(buf + *len, s, n);
    *len += n;
    buf[*len] = '\0';
}

void km_h5_attr_text(hid_t attr, char *buf, size_t cap)
{
    hid_t ftype = H5Aget_type(attr), space = H5Aget_space(attr);
    H5T_class_t cls = ftype >= 0 ? H5Tget_class(ftype) : H5T_NO_CLASS;
    hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    size_t len = 0, i, m;
    char item[48];

    if (cap == 0)
        goto done;
    buf[0] = '\0';
    if (cls == H5T_STRING && n == 1) {
        int too_long = 0;
        if (read_string(attr, ftype, buf, cap, &too_long) != KM_OK)
            snprintf(buf, cap, too_long ? "<long string>" : "<string>");
        goto done;
    }
    if ((cls != H5T_INTEGER && cls != H5T_FLOAT) || n < 1) {
        snprintf(buf, cap, "<%s>", class_name(cls));
        goto done;
    }
    m = n > KM_TEXT_MAX_ELEMS ? KM_TEXT_MAX_ELEMS : (size_t)n;
    {
        double dv[KM_TEXT_MAX_ELEMS];
        long long iv[KM_TEXT_MAX_ELEMS];
        int is_int = cls == H5T_INTEGER;
        hid_t mspace = H5Screate_simple(1, (hsize_t[]){(hsize_t)m}, NULL);
        herr_t rc = -1;
        /* Attributes are read whole; only small ones are shown element by element. */
        if (m == (size_t)n && mspace >= 0)
            rc = H5Aread(attr, is_int ? H5T_NATIVE_LLONG : H5T_NATIVE_DOUBLE,
                         is_int ? (void *)iv : (void *)dv);
        if (mspace >= 0)
            H5Sclose(mspace);
        if (rc < 0) {
            snprintf(buf, cap, "<%lld %s values>", (long long)n, class_name(cls));
            goto done;
        }
        for (i = 0; i < m; i++) {
            if (is_int)
                snprintf(item, sizeof item, "%s%lld", i ? ", " : "", iv[i]);
            else
                snprintf(item, sizeof item, "%s%.17g", i ? ", " : "", dv[i]);
            append(buf, cap, &len, item);
        }
    }
done:
    if (ftype >= 0)
        H5Tclose(ftype);
    if (space >= 0)
        H5Sclose(space);
}
