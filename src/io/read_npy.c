/* Reader for NumPy .npy files (numpy.save): docs/FORMAT.md 1.9.
 *
 * A magic string, a version, and a header that is a Python dict literal
 * ({'descr': '<f4', 'fortran_order': False, 'shape': (300, 32, 32), }), then
 * the values, uncompressed.  Frames are read through array_read.c: in order a
 * block at a time when time is the slowest axis ([T, R, C] in C order), whole
 * otherwise.  The file carries no rate, pitch or units: they are given or
 * assumed as for a text matrix. */
#define _POSIX_C_SOURCE 200809L /* fileno */
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "byte_order.h"
#include "mat_internal.h"
#include "reader_internal.h"

#define NPY_MAX_HEADER 65536

typedef struct npy_impl {
    FILE *f;
    km_array arr;
} npy_impl;

static void npy_close(km_reader *r)
{
    npy_impl *p = r->impl;
    if (p == NULL)
        return;
    km_array_close(r, &p->arr);
    if (p->f != NULL)
        fclose(p->f);
    km_reader_release(r, p);
    r->impl = NULL;
}

static km_status npy_read(km_ctx *ctx, km_reader *r, float *frames, double *times, int64_t max_frames,
                          int64_t *n_read)
{
    return km_array_read(ctx, r, &((npy_impl *)r->impl)->arr, frames, times, max_frames, n_read);
}

static const km_reader_ops npy_ops = {npy_read, npy_close};

/* The value of `key` in the header dict: a pointer just past "'key':" and
   its blanks, or NULL. */
static const char *dict_value(const char *h, const char *key)
{
    char quoted[32];
    const char *p;
    for (int q = 0; q < 2; q++) {
        snprintf(quoted, sizeof quoted, q ? "\"%s\"" : "'%s'", key);
        if ((p = strstr(h, quoted)) == NULL)
            continue;
        p += strlen(quoted);
        while (*p == ' ')
            p++;
        if (*p++ != ':')
            return NULL;
        while (*p == ' ')
            p++;
        return p;
    }
    return NULL;
}

/* descr: '<f4', '|u1', '>i2', '<U5', ... -> v's class, type and byte order.
   strict: a type knotmap cannot read is an error, else left unreadable (cls
   0) with its descr for messages (an archive's other arrays). */
static km_status parse_descr(km_ctx *ctx, const char *v, mat_var *out, int strict)
{
    static const struct {
        char kind;
        int size;
        uint32_t type, cls;
    } TYPES[] = {{'f', 2, MI_HALF, 7},   {'f', 4, MI_SINGLE, 7}, {'f', 8, MI_DOUBLE, MX_DOUBLE}, {'i', 1, MI_INT8, 8},
                 {'u', 1, MI_UINT8, 9},   {'b', 1, MI_UINT8, 9},          {'i', 2, MI_INT16, 10},
                 {'u', 2, MI_UINT16, 11}, {'i', 4, MI_INT32, 12},         {'u', 4, MI_UINT32, 13},
                 {'i', 8, MI_INT64, 14},  {'u', 8, MI_UINT64, MX_UINT64}};
    char q = v != NULL ? *v : 0, text[16];
    size_t n = 0;
    if (q != '\'' && q != '"') {
        snprintf(out->descr, sizeof out->descr, "structured");
        return !strict ? KM_OK
                       : km_fail(ctx, KM_ERR_UNSUPPORTED, "header: descr is not a plain type (a structured "
                                                          "array: save the frames as one numeric array)");
    }
    for (v++; *v != q && *v != '\0' && n + 1 < sizeof text; v++)
        text[n++] = *v;
    text[n] = '\0';
    snprintf(out->descr, sizeof out->descr, "'%s'", text);
    if (n >= 3 && (text[0] == '<' || text[0] == '>' || text[0] == '|' || text[0] == '=')) {
        char *end;
        long size = strtol(text + 2, &end, 10);
        out->swap = text[0] == '>' && size > 1; /* '=' is the writer's native order: little-endian here */
        for (size_t k = 0; *end == '\0' && k < sizeof TYPES / sizeof TYPES[0]; k++)
            if (TYPES[k].kind == text[1] && TYPES[k].size == size) {
                out->type = TYPES[k].type;
                out->cls = TYPES[k].cls;
                return KM_OK;
            }
        if (*end == '\0' && size > 0 && size < 4096 && (text[1] == 'U' || text[1] == 'S')) { /* a string */
            out->type = text[1] == 'U' ? MI_UINT32 : MI_UINT8; /* UTF-32 or bytes */
            out->cls = MX_CHAR;
            out->n = (uint64_t)size;
            return KM_OK;
        }
    }
    return !strict ? KM_OK
                   : km_fail(ctx, KM_ERR_UNSUPPORTED,
                             "values of type '%s': knotmap reads float16/32/64, (u)int8-64 and bool (numpy: "
                             "a.astype('float32'))", text);
}

/* shape: the dimensions into v (more than three that are not 1: nd 99;
   fewer than two: a column, as MATLAB keeps a vector) and the stored count
   of dimensions into *nd. */
static km_status parse_shape(km_ctx *ctx, const char *s, mat_var *v, int *nd)
{
    uint64_t n = 1;
    *nd = 0;
    v->dims[0] = v->dims[1] = v->dims[2] = 1;
    if (s == NULL || *s != '(')
        return km_fail(ctx, KM_ERR_FORMAT, "header: no shape tuple");
    for (s++;;) {
        while (*s == ' ' || *s == ',')
            s++;
        if (*s == ')')
            break;
        char *end;
        errno = 0;
        long long d = strtoll(s, &end, 10);
        if (end == s || d < 0 || errno != 0 || *nd == 64)
            return km_fail(ctx, KM_ERR_FORMAT, "header: shape is not a tuple of sizes");
        if (*nd < 3)
            v->dims[*nd] = (uint64_t)d;
        else if (d != 1)
            v->nd = 99;
        (*nd)++;
        n = d != 0 && n > (UINT64_MAX >> 4) / (uint64_t)d ? (UINT64_MAX >> 4) : n * (uint64_t)d;
        s = end;
        while (*s == 'L' || *s == ' ')
            s++;
        if (*s != ',' && *s != ')')
            return km_fail(ctx, KM_ERR_FORMAT, "header: shape is not a tuple of sizes");
    }
    if (v->nd != 99)
        v->nd = *nd == 3 ? 3 : 2;
    v->n = v->cls == MX_CHAR ? (n == 1 ? v->n : 0) : n; /* a string: one of them, else none read */
    return KM_OK;
}

km_status km_npy_header(km_ctx *ctx, mat_src *s, uint64_t size, mat_var *v, int *nd, char **text, int strict)
{
    unsigned char m[12];
    uint64_t len, at;
    km_status st;
    *text = NULL;
    if (size < 10 || km_mat_src_read(ctx, s, m, 10, 0, "the magic") != KM_OK || memcmp(m, "\x93NUMPY", 6) != 0)
        return km_fail(ctx, KM_ERR_FORMAT, "not a NumPy .npy file (no \\x93NUMPY magic)");
    if (m[6] == 1) {
        len = km_le(m + 8, 2);
        at = 10;
    } else if (m[6] == 2 || m[6] == 3) {
        if (size < 12 || km_mat_src_read(ctx, s, m + 10, 2, 0, "the header") != KM_OK)
            return km_fail(ctx, KM_ERR_FORMAT, "truncated .npy header");
        len = km_le(m + 8, 4);
        at = 12;
    } else {
        return km_fail(ctx, KM_ERR_UNSUPPORTED, ".npy format version %d.%d (knotmap reads 1.0-3.0)", m[6], m[7]);
    }
    if (len > NPY_MAX_HEADER || at + len > size)
        return km_fail(ctx, KM_ERR_FORMAT, "header of %llu bytes in a %llu-byte file", (unsigned long long)len,
                       (unsigned long long)size);
    *text = malloc((size_t)len + 1);
    if (*text == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory for the header");
    if ((st = km_mat_src_read(ctx, s, *text, len, 0, "the header")) != KM_OK)
        return st;
    (*text)[len] = '\0';
    if (strlen(*text) != len)
        return km_fail(ctx, KM_ERR_FORMAT, "header holds a NUL byte");
    v->data_pos = at + len;
    while (len > 0 && ((*text)[len - 1] == ' ' || (*text)[len - 1] == '\n'))
        (*text)[--len] = '\0'; /* the padding to the values' alignment */
    if ((st = parse_descr(ctx, dict_value(*text, "descr"), v, strict)) != KM_OK ||
        (st = parse_shape(ctx, dict_value(*text, "shape"), v, nd)) != KM_OK)
        return st;
    const char *fo = dict_value(*text, "fortran_order");
    int fortran = fo != NULL && strncmp(fo, "True", 4) == 0;
    if (fo == NULL || (!fortran && strncmp(fo, "False", 5) != 0))
        return km_fail(ctx, KM_ERR_FORMAT, "header: fortran_order is not True or False");
    v->row_major = !fortran;
    v->bytes = v->n <= UINT64_MAX / 8 ? v->n * km_mat_type_size(v->type) : UINT64_MAX;
    return KM_OK;
}

static km_status open_npy(km_ctx *ctx, km_reader *r, npy_impl *p, const km_read_options *opt, char **h)
{
    struct stat sb;
    mat_var v;
    mat_src s;
    int nd;
    km_orient o;
    km_status st;
    if (fstat(fileno(p->f), &sb) != 0)
        return km_fail(ctx, KM_ERR_IO, "cannot stat the file: %s", strerror(errno));
    memset(&v, 0, sizeof v);
    memset(&s, 0, sizeof s);
    snprintf(v.name, sizeof v.name, "the array");
    if ((st = km_mat_src_begin(ctx, &s, p->f, 0, (uint64_t)sb.st_size, 0)) == KM_OK)
        st = km_npy_header(ctx, &s, (uint64_t)sb.st_size, &v, &nd, h, 1);
    km_mat_src_end(&s);
    if (st != KM_OK)
        return st;
    if (nd > 3)
        return km_fail(ctx, KM_ERR_FORMAT, "an array of more than 3 dimensions: frames are "
                                           "[T, R, C] (or one [R, C] frame)");
    if (nd < 2)
        return km_fail(ctx, KM_ERR_FORMAT, "an array of %d dimension%s: frames are [T, R, C] (or one "
                                           "[R, C] frame)", nd, nd == 1 ? "" : "s");
    if (v.cls == MX_CHAR) /* parse_descr takes text for an archive's strings */
        return km_fail(ctx, KM_ERR_UNSUPPORTED, "values of type %s: text, not numbers (numpy: "
                                                "a.astype('float32'), if the text holds numbers)", v.descr);
    if (v.n == 0) /* before the time axis: an empty end axis would be taken for the grid's */
        return km_fail(ctx, KM_ERR_FORMAT, "an empty array (a dimension of 0 in its shape): no frames");
    km_varset vs = {.v = &v, .n = 1, .noun = "array", .hint = "", .numpy = 1};
    if ((st = km_vars_orient(ctx, r, &vs, &v, opt, &o)) != KM_OK)
        return st;
    if (o.n_frames == 0)
        return km_fail(ctx, KM_ERR_FORMAT, "no frames: shape with 0 frames");
    uint64_t off = v.data_pos, avail = (uint64_t)sb.st_size - off;
    if (v.bytes > avail) /* R x C within the caps, so only T can make it large */
        return km_fail(ctx, KM_ERR_FORMAT, "shape declares %llu bytes of values; the file holds %llu after "
                                           "its header (truncated file?)",
                       (unsigned long long)v.bytes, (unsigned long long)avail);
    km_array *a = &p->arr;
    km_vars_strides(a, &v, &o);
    if (!km_array_streams(a) && v.bytes > km_read_max_memory(opt))
        return km_fail(ctx, KM_ERR_LIMIT, "the array is stored with time not its slowest axis and is read "
                                          "whole: %llu bytes, beyond the memory budget (save it [T, R, C] "
                                          "in C order, or raise --max-memory)", (unsigned long long)v.bytes);
    a->f = p->f;
    a->off = off;
    a->bytes = v.bytes;
    a->name = "the array";
    a->at = off;
    r->info.n_frames = a->T;
    if ((st = km_reader_add_header(ctx, r, "npy_header", *h)) != KM_OK ||
        (st = km_reader_apply_options(ctx, r, opt)) != KM_OK)
        return st;
    if (o.guessed)
        km_reader_note_assumed(r, "time_axis");
    return KM_OK;
}

km_status km_open_npy(km_ctx *ctx, km_reader *r, const km_read_options *opt)
{
    npy_impl *p = km_reader_alloc(r, sizeof *p);
    char *h = NULL;
    km_status st;
    if (p == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory");
    memset(p, 0, sizeof *p);
    r->impl = p;
    r->ops = &npy_ops;
    r->info.format = KM_FORMAT_NPY;
    p->f = fopen(r->path, "rb");
    if (p->f == NULL)
        return km_fail(ctx, KM_ERR_NOT_FOUND, "cannot open the file: %s", strerror(errno));
    st = open_npy(ctx, r, p, opt, &h);
    free(h);
    return st;
}
