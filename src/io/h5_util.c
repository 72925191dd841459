/* HDF5 helpers shared by src/io (see h5util.h). */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700

#include "h5util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- One init for the process: HDF5 silent for its whole life. ----
 *
 * HDF5 prints (1) its error stack when an API call fails and (2), at
 * library shutdown (its own atexit handler), "HDF5: infinite loop closing
 * library" plus a list of id types when ids are still referenced: libhdf5
 * 1.10.8 itself leaks error-stack references on some damaged files (the
 * "E,E,E,..." list), so no discipline of ours can rule (2) out.  It prints
 * (2) only when the automatic error printer of the thread that runs exit()
 * is on.  So, once per process:
 *  - the default printer of the initialising thread is turned off (a
 *    host's own printer function is left alone);
 *  - an atexit handler, registered after HDF5's (atexit runs handlers in
 *    reverse order, so it runs before H5_term_library), turns the exiting
 *    thread's printer off;
 *  - the vlen-string descriptor conversion (read_vlen_string) is
 *    registered.
 * Every entry point still wraps its calls in km_h5_quiet_begin/end, since
 * each thread of a thread-safe HDF5 has its own error stack. */

#define KM_VLEN_TAG "knotmap.vlen-string-descriptor"
#define KM_VLEN_DESC_MAX 16 /* 4-byte length + address (<= 8 bytes) + 4-byte index */

static pthread_once_t km_h5_once = PTHREAD_ONCE_INIT;
static int km_vlen_desc_ok;

/* The memory type of conv_vlen_desc.  Made per read, never kept: an open
 * type id would count as an HDF5 object left open. */
static hid_t vlen_desc_type(void)
{
    hid_t t = H5Tcreate(H5T_OPAQUE, KM_VLEN_DESC_MAX);
    if (t >= 0 && H5Tset_tag(t, KM_VLEN_TAG) < 0) {
        H5Tclose(t);
        t = H5I_INVALID_HID;
    }
    return t;
}

static void km_h5_silence_at_exit(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* Soft conversion "variable-length string -> KM_VLEN_TAG opaque": copies
 * the stored descriptor (length, global heap address, object index) as it
 * is, so H5Aread never reaches libhdf5's global heap (H5T__conv_vlen ->
 * H5HG_read), whose parser loops or overflows on damaged collections.  It
 * applies to that pair only: init fails for any other. */
static herr_t conv_vlen_desc(hid_t src, hid_t dst, H5T_cdata_t *cdata, size_t nelmts,
                             size_t buf_stride, size_t bkg_stride, void *buf, void *bkg,
                             hid_t dxpl)
{
    size_t ssize, dsize, i;
    unsigned char *b = buf;

    (void)bkg_stride;
    (void)bkg;
    (void)dxpl;
    switch (cdata->command) {
    case H5T_CONV_INIT: {
        char *tag;
        int ok;
        if (H5Tget_class(src) != H5T_STRING || H5Tis_variable_str(src) <= 0 ||
            H5Tget_class(dst) != H5T_OPAQUE)
            return -1;
        tag = H5Tget_tag(dst);
        ok = tag != NULL && strcmp(tag, KM_VLEN_TAG) == 0;
        H5free_memory(tag);
        if (!ok || H5Tget_size(src) > KM_VLEN_DESC_MAX)
            return -1;
        cdata->need_bkg = H5T_BKG_NO;
        return 0;
    }
    case H5T_CONV_CONV:
        ssize = H5Tget_size(src);
        dsize = H5Tget_size(dst);
        if (ssize == 0 || ssize > dsize)
            return -1;
        /* In place, packed unless a stride is given; back to front since
           dsize >= ssize. */
        for (i = nelmts; i-- > 0;) {
            unsigned char *from = b + i * (buf_stride ? buf_stride : ssize);
            unsigned char *to = b + i * (buf_stride ? buf_stride : dsize);
            memmove(to, from, ssize);
            memset(to + ssize, 0, dsize - ssize);
        }
        return 0;
    case H5T_CONV_FREE:
        return 0;
    default:
        return -1;
    }
}

static void km_h5_init_once(void)
{
    H5E_auto2_t func = NULL;
    void *data = NULL;
    hid_t t, src;

    if (H5open() < 0)
        return;
    /* HDF5's default printer is H5Eprint2 (or an internal alias of it):
       anything else was installed by the host and stays. */
    if (H5Eget_auto2(H5E_DEFAULT, &func, &data) >= 0 && func != NULL &&
        (func == (H5E_auto2_t)H5Eprint2 || data == NULL || data == (void *)stderr))
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    atexit(km_h5_silence_at_exit);
    t = vlen_desc_type();
    src = H5Tcopy(H5T_C_S1);
    if (t >= 0 && src >= 0 && H5Tset_size(src, H5T_VARIABLE) >= 0 &&
        H5Tregister(H5T_PERS_SOFT, "knotmap_vlen_desc", src, t, conv_vlen_desc) >= 0)
        km_vlen_desc_ok = 1;
    if (src >= 0)
        H5Tclose(src);
    if (t >= 0)
        H5Tclose(t);
    H5Eclear2(H5E_DEFAULT);
}

void km_h5_init(void)
{
    pthread_once(&km_h5_once, km_h5_init_once);
}

void km_h5_quiet_begin(km_h5_quiet *q)
{
    km_h5_init();
    q->saved = H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data) >= 0;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void km_h5_quiet_end(const km_h5_quiet *q)
{
    H5Eclear2(H5E_DEFAULT);
    if (q->saved)
        H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

typedef struct walk_state {
    char *buf;
    size_t cap;
} walk_state;

static herr_t walk_first(unsigned n, const H5E_error2_t *err, void *data)
{
    walk_state *w = data;
    /* Walking upward, entry 0 is where the error was first detected. */
    if (n == 0 && err != NULL && err->desc != NULL)
        snprintf(w->buf, w->cap, "%s", err->desc);
    return 0;
}

void km_h5_error_text(char *buf, size_t cap)
{
    walk_state w = {buf, cap};
    if (cap == 0)
        return;
    buf[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_first, &w);
    H5Eclear2(H5E_DEFAULT);
}

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
        st = km_fail(ctx, KM_ERR_IO, "cannot replace attribute %s", name);
        goto done;
    }
    space = H5Screate(H5S_SCALAR);
    if (space < 0) {
        st = km_fail(ctx, KM_ERR_IO, "cannot write attribute %s", name);
        goto done;
    }
    attr = H5Acreate2(obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0 || H5Awrite(attr, mem_type, value) < 0)
        st = km_fail(ctx, KM_ERR_IO, "cannot write attribute %s", name);
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
        st = km_fail(ctx, KM_ERR_IO, "cannot write attribute %s", name);
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
    htri_t exists = H5Aexists(obj, name);

    *attr_out = H5I_INVALID_HID;
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

static uint64_t le_get(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    while (n-- > 0)
        v = (v << 8) | p[n];
    return v;
}

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* The file under `obj`, its descriptor (sec2 driver), address sizes and
 * base address; KM_OK only for a file opened read-only. */
typedef struct h5_raw {
    int fd;
    size_t sizeof_addr, sizeof_size;
    uint64_t base, eof;
} h5_raw;

static int raw_open(hid_t obj, h5_raw *raw)
{
    hid_t file = H5Iget_file_id(obj), fapl = H5I_INVALID_HID, fcpl = H5I_INVALID_HID;
    unsigned intent = 0;
    void *handle = NULL;
    hsize_t ub = 0;
    struct stat sb;
    int ok = 0;

    if (file < 0 || H5Fget_intent(file, &intent) < 0 || (intent & H5F_ACC_RDWR))
        goto done;
    fapl = H5Fget_access_plist(file);
    fcpl = H5Fget_create_plist(file);
    if (fapl < 0 || fcpl < 0 || H5Pget_driver(fapl) != H5FD_SEC2 ||
        H5Fget_vfd_handle(file, fapl, &handle) < 0 || handle == NULL ||
        H5Pget_sizes(fcpl, &raw->sizeof_addr, &raw->sizeof_size) < 0 ||
        H5Pget_userblock(fcpl, &ub) < 0)
        goto done;
    raw->fd = *(int *)handle;
    raw->base = ub;
    if (fstat(raw->fd, &sb) != 0 || sb.st_size < 0)
        goto done;
    raw->eof = (uint64_t)sb.st_size;
    ok = raw->sizeof_addr >= 2 && raw->sizeof_addr <= 8 && raw->sizeof_size >= 2 &&
         raw->sizeof_size <= 8;
done:
    if (fcpl >= 0)
        H5Pclose(fcpl);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (file >= 0)
        H5Fclose(file);
    return ok;
}

static int raw_read(const h5_raw *raw, uint64_t off, void *buf, size_t n)
{
    ssize_t got;
    if (off > raw->eof || n > raw->eof - off || off > (uint64_t)INT64_MAX)
        return -1;
    got = pread(raw->fd, buf, n, (off_t)off);
    return got == (ssize_t)n ? 0 : -1;
}

/* Object `idx` of the global heap collection at `addr` (HDF5 file format
 * spec, "Global Heap"), read with pread and every size checked against the
 * collection and the file: the string of `len` bytes into buf.  Returns
 * KM_OK, or KM_ERR_FORMAT for any inconsistency. */
static km_status heap_string(const h5_raw *raw, uint64_t addr, uint32_t idx, uint32_t len,
                             char *buf)
{
    unsigned char h[32];
    size_t hdr = align8(8 + raw->sizeof_size), objhdr = align8(8 + raw->sizeof_size);
    uint64_t off, size, end, p;

    if (addr > UINT64_MAX - raw->base)
        return KM_ERR_FORMAT;
    off = raw->base + addr;
    if (raw_read(raw, off, h, hdr) != 0 || memcmp(h, "GCOL", 4) != 0 || h[4] != 1)
        return KM_ERR_FORMAT;
    size = le_get(h + 8, raw->sizeof_size);
    if (size < hdr || size > raw->eof || off > raw->eof - size)
        return KM_ERR_FORMAT;
    end = off + size;
    /* Each step moves on by at least objhdr bytes: the walk ends. */
    for (p = off + hdr; end - p >= objhdr;) {
        uint64_t osize, need;
        unsigned oidx;
        if (raw_read(raw, p, h, objhdr) != 0)
            return KM_ERR_FORMAT;
        oidx = (unsigned)le_get(h, 2);
        osize = le_get(h + 8, raw->sizeof_size);
        if (oidx == 0) {
            /* Free space; its size counts its header.  libhdf5 loops for
               ever on a size below that. */
            if (osize < objhdr || osize > end - p)
                return KM_ERR_FORMAT;
            p += osize;
            continue;
        }
        if (osize > end - p - objhdr)
            return KM_ERR_FORMAT;
        if (oidx == idx) {
            if (osize != len || raw_read(raw, p + objhdr, buf, len) != 0)
                return KM_ERR_FORMAT;
            buf[len] = '\0';
            return KM_OK;
        }
        need = objhdr + align8((size_t)osize);
        if (need > end - p)
            return KM_ERR_FORMAT;
        p += need;
    }
    return KM_ERR_FORMAT;
}

/* A variable-length string attribute of a file opened read-only, without
 * libhdf5's vlen conversion: H5Aread copies the stored descriptor (length,
 * heap address, index) through conv_vlen_desc, and the bytes come from the
 * global heap through heap_string.  Files open for writing (our own) take
 * the library's path. */
static km_status read_vlen_string(hid_t attr, hid_t ftype, char *buf, size_t cap,
                                  int *too_long)
{
    unsigned char d[KM_VLEN_DESC_MAX];
    h5_raw raw;
    uint64_t len, addr, idx;
    hid_t dtype;
    herr_t rc;

    (void)ftype;
    if (!km_vlen_desc_ok || !raw_open(attr, &raw))
        return KM_ERR_UNSUPPORTED;
    memset(d, 0, sizeof d);
    dtype = vlen_desc_type();
    rc = dtype >= 0 ? H5Aread(attr, dtype, d) : -1;
    if (dtype >= 0)
        H5Tclose(dtype);
    if (rc < 0)
        return KM_ERR_FORMAT;
    len = le_get(d, 4);
    addr = le_get(d + 4, raw.sizeof_addr);
    idx = le_get(d + 4 + raw.sizeof_addr, 4);
    if (len == 0 || addr == 0) /* empty or null string */
        return KM_OK;
    if (len >= cap) {
        *too_long = 1;
        return KM_ERR_FORMAT;
    }
    return heap_string(&raw, addr, (uint32_t)idx, (uint32_t)len, buf);
}

/* Read one string element of `attr` (class checked by the caller): its
 * stored size is checked first; variable-length strings of untrusted
 * (read-only) files go through read_vlen_string. */
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
        st = read_vlen_string(attr, ftype, buf, cap, too_long);
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

km_status km_h5_write_column(km_ctx *ctx, hid_t group, const char *name, hid_t mem_type,
                             hid_t file_type, const void *data, size_t n, const char *units)
{
    km_status st = KM_OK;
    hsize_t dims[1] = {(hsize_t)n};
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t dset = H5I_INVALID_HID;

    if (space < 0)
        goto fail;
    dset = H5Dcreate2(group, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (dset < 0)
        goto fail;
    if (n > 0 && H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        goto fail;
    if (units != NULL && (st = km_h5_attr_put_string(ctx, dset, "units", units)) != KM_OK)
        goto done;
    goto done;
fail:
    st = km_fail(ctx, KM_ERR_IO, "cannot write dataset %s", name);
done:
    if (dset >= 0)
        H5Dclose(dset);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

/* See h5util.h.  A few KiB can declare 2^40 frames or gigabytes of fill
 * values. */
km_status km_h5_check_storage(km_ctx *ctx, hid_t d, const char *name, size_t elem_size)
{
    km_status st = KM_OK;
    hid_t dcpl = H5Dget_create_plist(d);
    hid_t space = H5Dget_space(d);
    hsize_t dims[H5S_MAX_RANK], chunk[H5S_MAX_RANK], n_chunks = 0;
    hsize_t stored = H5Dget_storage_size(d);
    double declared = (double)elem_size, want = 1;
    H5D_layout_t layout;
    int i, rank = space >= 0 ? H5Sget_simple_extent_dims(space, dims, NULL) : -1;

    if (rank < 0 || dcpl < 0) {
        st = km_fail(ctx, KM_ERR_FORMAT, "%s: cannot read its shape and storage", name);
        goto done;
    }
    for (i = 0; i < rank; i++)
        declared *= (double)dims[i];
    layout = H5Pget_layout(dcpl);
    if (H5Pget_external_count(dcpl) != 0 || layout == H5D_VIRTUAL) {
        st = km_fail(ctx, KM_ERR_UNSUPPORTED,
                     "%s is stored in other files (external or virtual storage): not read",
                     name);
        goto done;
    }
    if (declared == 0 || layout == H5D_COMPACT)
        goto done;
    if (layout == H5D_CONTIGUOUS) {
        if ((double)stored < declared)
            st = km_fail(ctx, KM_ERR_FORMAT,
                         "%s declares %.0f bytes but stores %llu: unwritten data (a session "
                         "must hold every frame it declares)",
                         name, declared, (unsigned long long)stored);
        goto done;
    }
    if (layout != H5D_CHUNKED || H5Pget_chunk(dcpl, rank, chunk) != rank) {
        st = km_fail(ctx, KM_ERR_FORMAT, "%s: unknown storage layout", name);
        goto done;
    }
    for (i = 0; i < rank; i++) {
        if (chunk[i] == 0) {
            st = km_fail(ctx, KM_ERR_FORMAT, "%s: chunk dimension %d is 0", name, i);
            goto done;
        }
        want *= (double)((dims[i] + chunk[i] - 1) / chunk[i]);
    }
    /* libhdf5 1.10.8 refuses H5S_ALL here, despite its documentation. */
    if (H5Dget_num_chunks(d, space, &n_chunks) < 0) {
        st = km_fail(ctx, KM_ERR_FORMAT, "%s: its chunk index cannot be read", name);
        goto done;
    }
    if ((double)n_chunks < want) {
        st = km_fail(ctx, KM_ERR_FORMAT,
                     "%s declares %.0f chunks but stores %llu: unwritten data (a session "
                     "must hold every frame it declares)",
                     name, want, (unsigned long long)n_chunks);
        goto done;
    }
    if (H5Pget_nfilters(dcpl) == 0) {
        double per = (double)elem_size;
        for (i = 0; i < rank; i++)
            per *= (double)chunk[i];
        if ((double)stored < per * want)
            st = km_fail(ctx, KM_ERR_FORMAT,
                         "%s stores %llu bytes, less than its %.0f uncompressed chunks need",
                         name, (unsigned long long)stored, want);
    }
done:
    if (space >= 0)
        H5Sclose(space);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return st;
}
