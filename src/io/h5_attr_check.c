/* The attribute messages of an untrusted file's object header, checked from
 * the file's bytes before libhdf5 decodes them.
 *
 * libhdf5 1.10.8 decodes every attribute message of an object when it looks
 * one up (H5Aexists, H5Aopen, H5Aiterate2: H5O__msg_iterate_real calls
 * H5O_attr_decode on each) and trusts the sizes it finds there: a name
 * without its NUL inside the message is read on by strdup (H5MM_strdup), a
 * dataspace rank past its field by H5O_sdspace_decode, and the value is
 * copied with memcpy for as many bytes as rank x type size say
 * (tests/fuzz/libhdf5/: heap-buffer-overflow reads and a SEGV that depends
 * on the heap's layout).  Version 1 object headers (h5py's and MATLAB's
 * default) have no checksum; a version 2 header's checksum is verified by
 * libhdf5 before it is parsed, so only version 1 is walked here: its
 * messages and continuation blocks read with pread on libhdf5's own
 * descriptor (km_h5_raw_open: one look at the file's property lists for all
 * its objects, no second open by name), each attribute message's
 * name, datatype, dataspace and value checked to lie inside the message.
 * An object is checked once per thread and open file (libhdf5's fileno and
 * the object's address). */
#define _POSIX_C_SOURCE 200809L

#include "h5_vlen.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    MSG_ATTR = 0x000C,
    MSG_CONT = 0x0010,
    MAX_BLOCK = 1 << 24, /* larger header blocks are not walked (libhdf5 reads them) */
    MAX_BLOCKS = 64      /* continuation blocks followed */
};

typedef struct hdr_walk {
    km_h5_raw_file raw;   /* the file (its base: the superblock's position) */
    unsigned sa, ss;      /* sizes of offsets and lengths */
    uint64_t next[MAX_BLOCKS][2];
    int n_next;
} hdr_walk;


/* The fixed part of a datatype message's properties, by class: the bytes
 * libhdf5 reads without a further size (0 when it depends on more). */
static size_t dtype_props(unsigned cls)
{
    static const unsigned char props[] = {4, 12, 2, 0, 4, 0, 0, 0, 0, 0, 0};
    return cls < sizeof props ? props[cls] : 0;
}

/* One attribute message (m, its n bytes; sa, ss the file's sizes of
 * offsets and lengths): NULL when it is whole, else what is wrong. */
static const char *attr_damage(const unsigned char *m, size_t n, unsigned sa, unsigned ss)
{
    if (n < 8)
        return "shorter than its fields";
    unsigned ver = m[0], flags = ver >= 2 ? m[1] : 0;
    size_t name_len = (size_t)km_le(m + 2, 2), dt_len = (size_t)km_le(m + 4, 2),
           ds_len = (size_t)km_le(m + 6, 2);
    size_t at = ver >= 3 ? 9 : 8;
    if (ver < 1 || ver > 3)
        return "an unknown version";
    size_t name_sp = ver == 1 ? km_h5_align8(name_len) : name_len,
           dt_sp = ver == 1 ? km_h5_align8(dt_len) : dt_len,
           ds_sp = ver == 1 ? km_h5_align8(ds_len) : ds_len;
    if (name_len == 0 || at + name_sp + dt_sp + ds_sp > n)
        return "its name, type and shape run past it";
    if (memchr(m + at, '\0', name_len) != m + at + name_len - 1)
        return "its name is not ended where its length says";
    const unsigned char *dt = m + at + name_sp, *ds = dt + dt_sp;
    uint64_t size = 0, count = 1;
    if (!(flags & 1)) { /* not a shared datatype: its class, size and fixed properties */
        if (dt_len < 8 || 8 + dtype_props(dt[0] & 0x0f) > dt_len)
            return "its datatype runs past its size";
        size = km_le(dt + 4, 4);
        /* A variable-length type (a string h5py or MATLAB writes): libhdf5
           keeps count x this size of the value, then reads each element as
           its stored descriptor, length 4 + heap address + index 4 bytes,
           whatever the size said (13 of 16: a heap over-read under H5Aread,
           tests/fuzz/regressions/session/). */
        if ((dt[0] & 0x0f) == 9 && size != 4 + (uint64_t)sa + 4)
            return "its variable-length datatype's size is not that of its stored descriptor";
    }
    if (!(flags & 2)) { /* not a shared dataspace */
        if (ds_len < 4)
            return "its dataspace runs past its size";
        unsigned dver = ds[0], rank = ds[1], dflags = ds[2];
        size_t dims = dver == 1 ? 8 : 4;
        if ((dver != 1 && dver != 2) || rank > 32 ||
            dims + (size_t)rank * ss * ((dflags & 1) ? 2 : 1) > ds_len)
            return "its dataspace runs past its size";
        if (dver == 2 && ds[3] == 2) /* null dataspace: no value */
            count = 0;
        for (unsigned k = 0; k < rank && count > 0; k++) {
            uint64_t d = km_le(ds + dims + (size_t)k * ss, ss);
            count = d != 0 && count > UINT64_MAX / d ? UINT64_MAX : count * d;
        }
    }
    if ((flags & 3) == 0 && count > 0 && size > 0 && count > (n - at - name_sp - dt_sp - ds_sp) / size)
        return "its value runs past it";
    return NULL;
}

/* len bytes at the format address addr into buf: 0, or -1 when they are
   not all in the file. */
static int read_at(const hdr_walk *w, uint64_t addr, void *buf, size_t len)
{
    if (addr > UINT64_MAX - w->raw.base)
        return -1;
    return km_h5_raw_read(&w->raw, w->raw.base + addr, buf, len);
}

/* The messages of one header block [off, off + len) of the file. */
static const char *walk_block(hdr_walk *w, uint64_t off, uint64_t len, int *index)
{
    unsigned char *buf = len <= MAX_BLOCK ? malloc(len > 0 ? (size_t)len : 1) : NULL;
    const char *bad = NULL;
    if (buf == NULL || read_at(w, off, buf, (size_t)len) != 0) {
        free(buf);
        return NULL; /* not walked: libhdf5 reads (or refuses) it itself */
    }
    for (size_t p = 0; p + 8 <= len;) {
        unsigned type = (unsigned)km_le(buf + p, 2), flags = buf[p + 4];
        size_t size = (size_t)km_le(buf + p + 2, 2);
        if (p + 8 + size > len) {
            bad = "a message runs past its header block";
            break;
        }
        const unsigned char *m = buf + p + 8;
        if (type == MSG_ATTR && !(flags & 2)) {
            (*index)++;
            if ((bad = attr_damage(m, size, w->sa, w->ss)) != NULL)
                break;
        } else if (type == MSG_CONT && size >= w->sa + w->ss && w->n_next < MAX_BLOCKS) {
            w->next[w->n_next][0] = km_le(m, w->sa);
            w->next[w->n_next][1] = km_le(m + w->sa, w->ss);
            w->n_next++;
        }
        p += 8 + size;
    }
    free(buf);
    return bad;
}

/* A version 1 object header at `addr`: the first damaged attribute message
 * found (*index its 1-based place among the attribute messages), or NULL. */
static const char *walk_header(hdr_walk *w, uint64_t addr, int *index)
{
    unsigned char head[16];
    if (read_at(w, addr, head, sizeof head) != 0 || head[0] != 1)
        return NULL;
    w->n_next = 0;
    const char *bad = walk_block(w, addr + 16, km_le(head + 8, 4), index);
    for (int k = 0; bad == NULL && k < w->n_next; k++)
        bad = walk_block(w, w->next[k][0], w->next[k][1], index);
    return bad;
}

km_status km_h5_check_attributes(km_ctx *ctx, hid_t obj)
{
    static _Thread_local unsigned long last_fileno;
    static _Thread_local haddr_t last_addr = HADDR_UNDEF;
    /* the file's property lists read once for all its objects (h5_vlen.c's
       raw opening, its own record: the strings' looks stay theirs) */
    static _Thread_local km_h5_raw_seen file_seen = {H5I_INVALID_HID, {-1, 0, 0, 0, 0}};
    H5O_info_t oi;
    if (H5Oget_info2(obj, &oi, H5O_INFO_BASIC) < 0 ||
        H5Oget_info2(obj, &oi, H5O_INFO_BASIC | H5O_INFO_NUM_ATTRS | H5O_INFO_HDR) < 0) {
        /* libhdf5 cannot read the header's messages as an object ("unable to
           determine object type": neither group nor dataset), yet H5Aexists
           would decode its attribute messages unchecked (session 47's
           campaign: heap-buffer-overflows in H5MM_strdup and memcpy under
           H5O__attr_exists on such a root group) */
        char why[200], name[256] = "";
        km_h5_error_text(why, sizeof why);
        if (H5Iget_name(obj, name, sizeof name) <= 0)
            snprintf(name, sizeof name, "an object");
        return km_fail(ctx, KM_ERR_FORMAT, "the object header of %s is damaged (%s): refused before libhdf5 "
                       "reads its attributes", name, why[0] != '\0' ? why : "libhdf5 cannot read it");
    }
    if (oi.fileno == last_fileno && oi.addr == last_addr)
        return KM_OK; /* walked */
    if (oi.num_attrs == 0 || oi.hdr.version != 1)
        return KM_OK; /* no attribute, or a header whose checksum libhdf5 verifies */
    hdr_walk w;
    memset(&w, 0, sizeof w);
    if (!km_h5_raw_open(obj, &file_seen, NULL, &w.raw) || (w.raw.sizeof_addr != 4 && w.raw.sizeof_addr != 8) ||
        (w.raw.sizeof_size != 4 && w.raw.sizeof_size != 8))
        return KM_OK; /* not a read-only sec2 file (a writer's own): libhdf5 reads what it has */
    w.sa = (unsigned)w.raw.sizeof_addr;
    w.ss = (unsigned)w.raw.sizeof_size;
    int index = 0;
    const char *bad = walk_header(&w, oi.addr, &index);
    if (bad != NULL) {
        char name[256] = "";
        if (H5Iget_name(obj, name, sizeof name) <= 0)
            snprintf(name, sizeof name, "the object at address %llu", (unsigned long long)oi.addr);
        return km_fail(ctx, KM_ERR_FORMAT,
                       "attribute message %d of %s is damaged (%s): refused before libhdf5 reads it",
                       index, name, bad);
    }
    last_fileno = oi.fileno;
    last_addr = oi.addr;
    return KM_OK;
}
