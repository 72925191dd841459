/* Variable-length string attributes of untrusted files, read without
 * libhdf5's vlen conversion and global-heap parser (H5T__conv_vlen ->
 * H5HG_read loop for ever or overflow on damaged collections): a soft
 * conversion copies the stored descriptor (length, heap address, object
 * index) out of H5Aread as it is, and the string's bytes are read from the
 * global heap collection with pread, every size checked against the
 * collection and the file.  See h5_vlen.h. */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700

#include "h5_vlen.h"

#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KM_VLEN_TAG "knotmap.vlen-string-descriptor"
#define KM_VLEN_DESC_MAX 16 /* 4-byte length + address (<= 8 bytes) + 4-byte index */

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

void km_h5_vlen_register(void)
{
    hid_t t = vlen_desc_type(), src = H5Tcopy(H5T_C_S1);
    if (t >= 0 && src >= 0 && H5Tset_size(src, H5T_VARIABLE) >= 0 &&
        H5Tregister(H5T_PERS_SOFT, "knotmap_vlen_desc", src, t, conv_vlen_desc) >= 0)
        km_vlen_desc_ok = 1;
    if (src >= 0)
        H5Tclose(src);
    if (t >= 0)
        H5Tclose(t);
}

/* The last file km_h5_raw_open found usable for strings, per thread (a
 * session's open reads some eight string attributes of one file).  Asking
 * the property lists again copies and closes both lists, ~115 k
 * instructions and ~11 takes of HDF5's global lock a string, which another
 * session's thread waits for at its own open (bench/HISTORY.md "Session 40
 * (burst14)"). */
static _Thread_local km_h5_raw_seen raw_seen = {H5I_INVALID_HID, {-1, 0, 0, 0, 0}};

static _Atomic unsigned long raw_looks;

unsigned long km_h5_vlen_file_looks(void)
{
    return raw_looks;
}

/* The file's descriptor, sizes and user block from its property lists; 1
 * when it is usable (read-only, sec2, sane sizes). */
static int raw_look(hid_t file, km_h5_raw_file *raw, _Atomic unsigned long *looks)
{
    hid_t fapl = H5I_INVALID_HID, fcpl = H5I_INVALID_HID;
    unsigned intent = 0;
    void *handle = NULL;
    hsize_t ub = 0;
    int ok = 0;

    if (looks != NULL)
        (*looks)++;
    if (H5Fget_intent(file, &intent) < 0 || (intent & H5F_ACC_RDWR))
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
    ok = raw->sizeof_addr >= 2 && raw->sizeof_addr <= 8 && raw->sizeof_size >= 2 &&
         raw->sizeof_size <= 8;
done:
    if (fcpl >= 0)
        H5Pclose(fcpl);
    if (fapl >= 0)
        H5Pclose(fapl);
    return ok;
}

int km_h5_raw_open(hid_t obj, km_h5_raw_seen *seen, _Atomic unsigned long *looks,
                   km_h5_raw_file *raw)
{
    hid_t file = H5Iget_file_id(obj);
    struct stat sb;
    int ok = 0;

    if (file < 0)
        return 0;
    if (file == seen->file) {
        *raw = seen->raw;
        ok = 1;
    } else if (raw_look(file, raw, looks)) {
        seen->file = file;
        seen->raw = *raw;
        ok = 1;
    }
    /* The size now: the file may have changed since it was looked at. */
    if (ok && (fstat(raw->fd, &sb) != 0 || sb.st_size < 0))
        ok = 0;
    if (ok)
        raw->eof = (uint64_t)sb.st_size;
    H5Fclose(file); /* this id's reference only: the object keeps the file open */
    return ok;
}

int km_h5_raw_read(const km_h5_raw_file *raw, uint64_t off, void *buf, size_t n)
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
static km_status heap_string(const km_h5_raw_file *raw, uint64_t addr, uint32_t idx, uint32_t len,
                             char *buf)
{
    unsigned char h[32];
    size_t hdr = km_h5_align8(8 + raw->sizeof_size), objhdr = km_h5_align8(8 + raw->sizeof_size);
    uint64_t off, size, end, p;

    if (addr > UINT64_MAX - raw->base)
        return KM_ERR_FORMAT;
    off = raw->base + addr;
    if (km_h5_raw_read(raw, off, h, hdr) != 0 || memcmp(h, "GCOL", 4) != 0 || h[4] != 1)
        return KM_ERR_FORMAT;
    size = km_le(h + 8, raw->sizeof_size);
    if (size < hdr || size > raw->eof || off > raw->eof - size)
        return KM_ERR_FORMAT;
    end = off + size;
    /* Each step moves on by at least objhdr bytes: the walk ends. */
    for (p = off + hdr; end - p >= objhdr;) {
        uint64_t osize, need;
        unsigned oidx;
        if (km_h5_raw_read(raw, p, h, objhdr) != 0)
            return KM_ERR_FORMAT;
        oidx = (unsigned)km_le(h, 2);
        osize = km_le(h + 8, raw->sizeof_size);
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
            if (osize != len || km_h5_raw_read(raw, p + objhdr, buf, len) != 0)
                return KM_ERR_FORMAT;
            buf[len] = '\0';
            return KM_OK;
        }
        need = objhdr + km_h5_align8((size_t)osize);
        if (need > end - p)
            return KM_ERR_FORMAT;
        p += need;
    }
    return KM_ERR_FORMAT;
}

/* See h5_vlen.h: H5Aread copies the stored descriptor through
 * conv_vlen_desc, and the bytes come from the global heap through
 * heap_string. */
km_status km_h5_read_vlen_string(hid_t attr, char *buf, size_t cap, int *too_long)
{
    unsigned char d[KM_VLEN_DESC_MAX];
    km_h5_raw_file raw;
    uint64_t len, addr, idx;
    hid_t dtype;
    herr_t rc;

    if (!km_vlen_desc_ok || !km_h5_raw_open(attr, &raw_seen, &raw_looks, &raw))
        return KM_ERR_UNSUPPORTED;
    memset(d, 0, sizeof d);
    dtype = vlen_desc_type();
    rc = dtype >= 0 ? H5Aread(attr, dtype, d) : -1;
    if (dtype >= 0)
        H5Tclose(dtype);
    if (rc < 0)
        return KM_ERR_FORMAT;
    len = km_le(d, 4);
    addr = km_le(d + 4, raw.sizeof_addr);
    idx = km_le(d + 4 + raw.sizeof_addr, 4);
    if (len == 0 || addr == 0) /* empty or null string */
        return KM_OK;
    if (len >= cap) {
        *too_long = 1;
        return KM_ERR_FORMAT;
    }
    return heap_string(&raw, addr, (uint32_t)idx, (uint32_t)len, buf);
}
