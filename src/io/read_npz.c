/* Reader for NumPy .npz archives (numpy.savez, numpy.savez_compressed):
 * docs/FORMAT.md 1.10.
 *
 * A zip archive of .npy files, one per array, stored or deflated, the key
 * being the member's name without ".npy".  Open reads the zip's central
 * directory (zip64 too: numpy writes its members with zip64 headers) and
 * each member's .npy header; frames, time, mask and metadata are chosen by
 * the rule of a MAT-file's variables (array_vars.c).  The frames are read
 * through array_read.c, inflated as a stream when time is the slowest axis,
 * and the member's CRC-32 is checked once its last byte is read. */
#define _POSIX_C_SOURCE 200809L /* fseeko, fileno */
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "byte_order.h"
#include "mat_internal.h"
#include "reader_internal.h"

#define NPZ_MAX_MEMBERS 4096
#define ZIP_EOCD_MAX (22 + 65535) /* the end record and the longest comment */

typedef struct npz_member {
    uint64_t data_off, csize, usize;
    uint32_t crc;
    int method;
} npz_member;

typedef struct npz_impl {
    FILE *f;
    uint64_t size;
    mat_var *vars;         /* the .npy members, as arrays */
    npz_member *mem;       /* the same index */
    size_t n;
    double *time;
    km_array arr;
    char what[272];        /* "array frames" (a mat_var name), for messages */
} npz_impl;

static void npz_close(km_reader *r)
{
    npz_impl *p = r->impl;
    if (p == NULL)
        return;
    km_array_close(r, &p->arr);
    if (p->f != NULL)
        fclose(p->f);
    km_reader_release(r, p->vars);
    km_reader_release(r, p->mem);
    km_reader_release(r, p->time);
    km_reader_release(r, p);
    r->impl = NULL;
}

static km_status npz_read(km_ctx *ctx, km_reader *r, float *frames, double *times, int64_t max_frames,
                          int64_t *n_read)
{
    return km_array_read(ctx, r, &((npz_impl *)r->impl)->arr, frames, times, max_frames, n_read);
}

static const km_reader_ops npz_ops = {npz_read, npz_close};

static km_status read_at(km_ctx *ctx, npz_impl *p, uint64_t off, void *buf, size_t n, const char *what)
{
    if (off > p->size || n > p->size - off)
        return km_fail(ctx, KM_ERR_FORMAT, "%s at byte %llu runs past the end of the file (truncated file?)", what,
                       (unsigned long long)off);
    if (fseeko(p->f, (off_t)off, SEEK_SET) != 0 || fread(buf, 1, n, p->f) != n)
        return km_fail(ctx, KM_ERR_IO, "cannot read %s at byte %llu: %s", what, (unsigned long long)off,
                       ferror(p->f) ? strerror(errno) : "short read");
    return KM_OK;
}

/* The central directory: where it starts and how many entries it has. */
static km_status find_directory(km_ctx *ctx, npz_impl *p, uint64_t *cd_off, uint64_t *cd_size, uint64_t *count)
{
    size_t tail = p->size < ZIP_EOCD_MAX ? (size_t)p->size : ZIP_EOCD_MAX;
    unsigned char *b = malloc(tail > 0 ? tail : 1), z[56];
    km_status st;
    int64_t at = -1;
    if (b == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory for the archive's end");
    st = read_at(ctx, p, p->size - tail, b, tail, "the archive's end");
    for (int64_t i = (int64_t)tail - 22; st == KM_OK && i >= 0 && at < 0; i--)
        if (memcmp(b + i, "PK\5\6", 4) == 0)
            at = i;
    if (st == KM_OK && at < 0)
        st = km_fail(ctx, KM_ERR_FORMAT, "not a zip archive (no end-of-directory record): a .npz is "
                                         "numpy.savez's zip file (truncated file?)");
    if (st == KM_OK) {
        *count = km_le(b + at + 10, 2);
        *cd_size = km_le(b + at + 12, 4);
        *cd_off = km_le(b + at + 16, 4);
    }
    uint64_t eocd = p->size - tail + (uint64_t)(at > 0 ? at : 0);
    int zip64 = st == KM_OK && (*count == 0xffff || *cd_size == 0xffffffffu || *cd_off == 0xffffffffu);
    free(b);
    if (!zip64)
        return st;
    /* zip64: a locator just before the end record gives the zip64 end record */
    if (eocd < 20 || (st = read_at(ctx, p, eocd - 20, z, 20, "the zip64 locator")) != KM_OK)
        return st != KM_OK ? st : km_fail(ctx, KM_ERR_FORMAT, "zip64 archive without its locator");
    if (memcmp(z, "PK\6\7", 4) != 0)
        return km_fail(ctx, KM_ERR_FORMAT, "zip64 locator at byte %llu: wrong signature",
                       (unsigned long long)(eocd - 20));
    uint64_t z64 = km_le(z + 8, 8);
    if ((st = read_at(ctx, p, z64, z, 56, "the zip64 end record")) != KM_OK)
        return st;
    if (memcmp(z, "PK\6\6", 4) != 0)
        return km_fail(ctx, KM_ERR_FORMAT, "zip64 end record at byte %llu: wrong signature", (unsigned long long)z64);
    *count = km_le(z + 32, 8);
    *cd_size = km_le(z + 40, 8);
    *cd_off = km_le(z + 48, 8);
    return KM_OK;
}

/* An entry's zip64 extra field: the sizes and offset that read all ones. */
static void zip64_extra(const unsigned char *x, size_t n, npz_member *m, uint64_t *local)
{
    for (size_t i = 0; i + 4 <= n;) {
        size_t id = (size_t)km_le(x + i, 2), len = (size_t)km_le(x + i + 2, 2), k = i + 4;
        if (i + 4 + len > n)
            return;
        if (id == 1) {
            uint64_t *f[] = {&m->usize, &m->csize, local};
            for (int j = 0; j < 3; j++)
                if (*f[j] == 0xffffffffu && k + 8 <= i + 4 + len) {
                    *f[j] = km_le(x + k, 8);
                    k += 8;
                }
        }
        i += 4 + len;
    }
}

/* One central directory entry at *off: the member, its name and where its
   local header is; *off moves past it. */
static km_status read_entry(km_ctx *ctx, npz_impl *p, uint64_t *off, uint64_t end, npz_member *m, char *name,
                            size_t cap, uint64_t *local, int *flags)
{
    unsigned char e[46], x[65536];
    km_status st;
    if (*off + 46 > end || (st = read_at(ctx, p, *off, e, 46, "a directory entry")) != KM_OK ||
        memcmp(e, "PK\1\2", 4) != 0)
        return km_fail(ctx, KM_ERR_FORMAT, "the archive's directory entry at byte %llu is damaged",
                       (unsigned long long)*off);
    size_t nl = (size_t)km_le(e + 28, 2), xl = (size_t)km_le(e + 30, 2), cl = (size_t)km_le(e + 32, 2);
    if (*off + 46 + nl + xl + cl > end)
        return km_fail(ctx, KM_ERR_FORMAT, "the archive's directory entry at byte %llu runs past the directory",
                       (unsigned long long)*off);
    *flags = (int)km_le(e + 8, 2);
    m->method = (int)km_le(e + 10, 2);
    m->crc = (uint32_t)km_le(e + 16, 4);
    m->csize = km_le(e + 20, 4);
    m->usize = km_le(e + 24, 4);
    *local = km_le(e + 42, 4);
    size_t keep = nl < cap ? nl : 0; /* too long: no name, never an array */
    if ((st = read_at(ctx, p, *off + 46, name, keep, "a member's name")) != KM_OK ||
        (st = read_at(ctx, p, *off + 46 + nl, x, xl, "a member's extra field")) != KM_OK)
        return st;
    name[keep] = '\0';
    zip64_extra(x, xl, m, local);
    *off += 46 + nl + xl + cl;
    return KM_OK;
}

/* A member's .npy header, read from its data, into v. */
static km_status member_header(km_ctx *ctx, npz_impl *p, const npz_member *m, mat_var *v)
{
    mat_src s;
    char *text = NULL;
    int nd;
    km_status st;
    memset(&s, 0, sizeof s);
    v->elem_off = m->data_off;
    v->elem_bytes = m->csize;
    v->compressed = m->method == 8;
    st = km_mat_src_begin(ctx, &s, p->f, m->data_off, m->csize, m->method == 8 ? 2 : 0);
    if (st == KM_OK)
        st = km_npy_header(ctx, &s, m->usize, v, &nd, &text, 0);
    km_mat_src_end(&s);
    free(text);
    if (st != KM_OK) {
        char why[400];
        snprintf(why, sizeof why, "%s", km_ctx_last_error(ctx));
        return km_fail(ctx, st, "array %s (member at byte %llu): %s", v->name, (unsigned long long)m->data_off,
                       why);
    }
    if (v->cls != 0 && v->n > 0 && v->data_pos + v->bytes != m->usize)
        return km_fail(ctx, KM_ERR_FORMAT, "array %s (member at byte %llu): its shape declares %llu bytes of "
                                           "values; the member holds %llu after its header",
                       v->name, (unsigned long long)m->data_off, (unsigned long long)v->bytes,
                       (unsigned long long)(m->usize - (v->data_pos < m->usize ? v->data_pos : m->usize)));
    return KM_OK;
}

/* Where a member's data starts (after its local header), and its checks. */
static km_status locate(km_ctx *ctx, npz_impl *p, npz_member *m, uint64_t local, int flags, mat_var *v)
{
    unsigned char h[30];
    km_status st;
    if ((st = read_at(ctx, p, local, h, 30, "a member's header")) != KM_OK)
        return st;
    if (memcmp(h, "PK\3\4", 4) != 0)
        return km_fail(ctx, KM_ERR_FORMAT, "array %s: no member header at byte %llu", v->name,
                       (unsigned long long)local);
    m->data_off = local + 30 + km_le(h + 26, 2) + km_le(h + 28, 2);
    if (m->data_off > p->size || m->csize > p->size - m->data_off)
        return km_fail(ctx, KM_ERR_FORMAT, "array %s (member at byte %llu): %llu bytes declared, the file has "
                                           "%llu after it (truncated file?)", v->name, (unsigned long long)local,
                       (unsigned long long)m->csize, (unsigned long long)(p->size - (m->data_off < p->size
                                                                                         ? m->data_off : p->size)));
    if (flags & 1)
        snprintf(v->descr, sizeof v->descr, "encrypted");
    else if (m->method != 0 && m->method != 8)
        snprintf(v->descr, sizeof v->descr, "packed by zip method %d", m->method & 0xffff);
    else if (m->method == 8 ? m->usize / 1032 > m->csize : m->usize != m->csize)
        return km_fail(ctx, KM_ERR_FORMAT, "array %s (member at byte %llu): %llu bytes from %llu %s", v->name,
                       (unsigned long long)local, (unsigned long long)m->usize, (unsigned long long)m->csize,
                       m->method == 8 ? "compressed (beyond deflate's 1032:1)" : "stored");
    else
        return member_header(ctx, p, m, v);
    return KM_OK; /* listed, unreadable (cls 0) */
}

static km_status read_directory(km_ctx *ctx, km_reader *r, npz_impl *p)
{
    uint64_t cd_off = 0, cd_size = 0, count = 0, off;
    km_status st;
    if ((st = find_directory(ctx, p, &cd_off, &cd_size, &count)) != KM_OK)
        return st;
    if (cd_off > p->size || cd_size > p->size - cd_off)
        return km_fail(ctx, KM_ERR_FORMAT, "the archive's directory (%llu bytes at byte %llu) lies past the end "
                                           "of the file (truncated file?)",
                       (unsigned long long)cd_size, (unsigned long long)cd_off);
    if (count > NPZ_MAX_MEMBERS)
        return km_fail(ctx, KM_ERR_LIMIT, "an archive of %llu members (knotmap reads up to %d)",
                       (unsigned long long)count, NPZ_MAX_MEMBERS);
    p->vars = km_reader_alloc(r, (size_t)(count ? count : 1) * sizeof *p->vars);
    p->mem = km_reader_alloc(r, (size_t)(count ? count : 1) * sizeof *p->mem);
    if (p->vars == NULL || p->mem == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory for the archive's directory");
    off = cd_off;
    for (uint64_t i = 0; i < count; i++) {
        char name[72];
        uint64_t local;
        int flags;
        npz_member *m = &p->mem[p->n];
        mat_var *v = &p->vars[p->n];
        memset(m, 0, sizeof *m);
        memset(v, 0, sizeof *v);
        if ((st = read_entry(ctx, p, &off, cd_off + cd_size, m, name, sizeof name, &local, &flags)) != KM_OK)
            return st;
        size_t nl = strlen(name);
        if (nl < 5 || nl - 4 >= sizeof v->name || strcmp(name + nl - 4, ".npy") != 0)
            continue; /* not an array numpy.load would give */
        memcpy(v->name, name, nl - 4);
        v->name[nl - 4] = '\0';
        for (size_t k = 0; k < nl - 4; k++) /* keep messages printable */
            if ((unsigned char)v->name[k] < 0x20 || (unsigned char)v->name[k] > 0x7e)
                v->name[k] = '?';
        if ((st = locate(ctx, p, m, local, flags, v)) != KM_OK)
            return st;
        p->n++;
    }
    return KM_OK;
}

/* An array's whole values (km_varset.values), its CRC-32 checked. */
static km_status member_values(km_ctx *ctx, void *src, const mat_var *v, unsigned char *buf)
{
    npz_impl *p = src;
    const npz_member *m = &p->mem[v - p->vars];
    mat_src s;
    km_status st;
    memset(&s, 0, sizeof s);
    st = km_mat_src_begin(ctx, &s, p->f, m->data_off, m->csize, m->method == 8 ? 2 : 0);
    s.crc_on = 1;
    if (st == KM_OK && (st = km_mat_src_read(ctx, &s, NULL, v->data_pos, m->data_off, v->name)) == KM_OK)
        st = km_mat_src_read(ctx, &s, buf, v->bytes, m->data_off, v->name);
    if (st == KM_OK) {
        char what[272];
        snprintf(what, sizeof what, "array %s", v->name);
        st = km_mat_src_crc(ctx, &s, m->crc, what, m->data_off);
    }
    km_mat_src_end(&s);
    return st;
}

static km_status open_npz(km_ctx *ctx, km_reader *r, npz_impl *p, const km_read_options *opt)
{
    const mat_var *v;
    km_orient o;
    km_status st;
    if ((st = read_directory(ctx, r, p)) != KM_OK)
        return st;
    km_varset vs = {.v = p->vars, .n = p->n, .noun = "array",
                    .hint = "numpy: numpy.savez(file, frames=..., time=...)", .numpy = 1, .values = member_values,
                    .src = p};
    if ((st = km_vars_choose_frames(ctx, &vs, &v)) != KM_OK ||
        (st = km_vars_orient(ctx, r, &vs, v, opt, &o)) != KM_OK ||
        (st = km_vars_read_scalars(ctx, r, &vs, &o)) != KM_OK ||
        (st = km_vars_read_time(ctx, r, &vs, opt, &o, &p->time)) != KM_OK ||
        (st = km_vars_read_mask(ctx, r, &vs)) != KM_OK)
        return st;
    if (o.n_frames == 0)
        return km_fail(ctx, KM_ERR_FORMAT, "array %s: no frames (shape with 0 frames)", v->name);
    const npz_member *m = &p->mem[v - p->vars];
    km_array *a = &p->arr;
    km_vars_strides(a, v, &o);
    a->f = p->f;
    a->off = m->data_off;
    a->bytes = m->csize;
    a->z = m->method == 8 ? 2 : 0;
    a->skip = v->data_pos;
    a->time = p->time;
    a->at = m->data_off;
    snprintf(p->what, sizeof p->what, "array %s", v->name);
    a->name = p->what;
    a->crc_check = 1;
    a->crc_want = m->crc;
    a->crc_len = m->usize;
    if (!km_array_streams(a) && v->bytes > km_read_max_memory(opt))
        return km_fail(ctx, KM_ERR_LIMIT, "array %s is stored with time not its slowest axis and is read whole: "
                                          "%llu bytes, beyond the memory budget (save it [T, R, C] in C order, or "
                                          "raise --max-memory)", v->name, (unsigned long long)v->bytes);
    r->info.n_frames = o.n_frames;
    if ((st = km_reader_apply_options(ctx, r, opt)) != KM_OK)
        return st;
    km_vars_note_assumed(r, &o);
    return KM_OK;
}

km_status km_open_npz(km_ctx *ctx, km_reader *r, const km_read_options *opt)
{
    struct stat sb;
    npz_impl *p = km_reader_alloc(r, sizeof *p);
    if (p == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory");
    memset(p, 0, sizeof *p);
    r->impl = p;
    r->ops = &npz_ops;
    r->info.format = KM_FORMAT_NPZ;
    p->f = fopen(r->path, "rb");
    if (p->f == NULL || fstat(fileno(p->f), &sb) != 0)
        return km_fail(ctx, KM_ERR_NOT_FOUND, "cannot open the file: %s", strerror(errno));
    p->size = (uint64_t)sb.st_size;
    return open_npz(ctx, r, p, opt);
}
