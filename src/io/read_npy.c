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

/* descr: '<f4', '|u1', '>i2', ... -> an mi type and the byte order. */
static km_status parse_descr(km_ctx *ctx, const char *v, uint32_t *type, int *swap)
{
    static const struct {
        char kind;
        int size;
        uint32_t type;
    } TYPES[] = {{'f', 4, MI_SINGLE}, {'f', 8, MI_DOUBLE}, {'i', 1, MI_INT8}, {'u', 1, MI_UINT8},
                 {'b', 1, MI_UINT8},  {'i', 2, MI_INT16},  {'u', 2, MI_UINT16}, {'i', 4, MI_INT32},
                 {'u', 4, MI_UINT32}, {'i', 8, MI_INT64},  {'u', 8, MI_UINT64}};
    char q = v != NULL ? *v : 0, text[16];
    size_t n = 0;
    if (q != '\'' && q != '"')
        return km_fail(ctx, KM_ERR_UNSUPPORTED, "header: descr is not a plain type (a structured "
                                                "array: save the frames as one numeric array)");
    for (v++; *v != q && *v != '\0' && n + 1 < sizeof text; v++)
        text[n++] = *v;
    text[n] = '\0';
    if (n >= 3 && (text[0] == '<' || text[0] == '>' || text[0] == '|' || text[0] == '=')) {
        char *end;
        long size = strtol(text + 2, &end, 10);
        for (size_t k = 0; *end == '\0' && k < sizeof TYPES / sizeof TYPES[0]; k++)
            if (TYPES[k].kind == text[1] && TYPES[k].size == size) {
                *type = TYPES[k].type;
                *swap = text[0] == '>' && size > 1; /* '=' is the writer's native order: little-endian here */
                return KM_OK;
            }
    }
    return km_fail(ctx, KM_ERR_UNSUPPORTED,
                   "values of type '%s': knotmap reads float32/64, (u)int8-64 and bool (numpy: "
                   "a.astype('float32'))", text);
}

static km_status parse_shape(km_ctx *ctx, const char *v, int64_t dims[3], int *nd)
{
    *nd = 0;
    if (v == NULL || *v != '(')
        return km_fail(ctx, KM_ERR_FORMAT, "header: no shape tuple");
    for (v++;;) {
        while (*v == ' ' || *v == ',')
            v++;
        if (*v == ')')
            break;
        char *end;
        errno = 0;
        long long d = strtoll(v, &end, 10);
        if (end == v || d < 0 || errno != 0)
            return km_fail(ctx, KM_ERR_FORMAT, "header: shape is not a tuple of sizes");
        if (*nd == 3)
            return km_fail(ctx, KM_ERR_FORMAT, "an array of more than 3 dimensions: frames are "
                                               "[T, R, C] (or one [R, C] frame)");
        dims[(*nd)++] = d;
        v = end;
        while (*v == 'L' || *v == ' ')
            v++;
        if (*v != ',' && *v != ')')
            return km_fail(ctx, KM_ERR_FORMAT, "header: shape is not a tuple of sizes");
    }
    if (*nd < 2)
        return km_fail(ctx, KM_ERR_FORMAT, "an array of %d dimension%s: frames are [T, R, C] (or one "
                                           "[R, C] frame)", *nd, *nd == 1 ? "" : "s");
    return KM_OK;
}

static km_status read_header(km_ctx *ctx, npy_impl *p, uint64_t size, char **text, uint64_t *data_off)
{
    unsigned char m[12];
    uint64_t len, at;
    if (size < 10 || fread(m, 1, 10, p->f) != 10 || memcmp(m, "\x93NUMPY", 6) != 0)
        return km_fail(ctx, KM_ERR_FORMAT, "not a NumPy .npy file (no \\x93NUMPY magic)");
    if (m[6] == 1) {
        len = (uint64_t)m[8] | (uint64_t)m[9] << 8;
        at = 10;
    } else if (m[6] == 2 || m[6] == 3) {
        if (fread(m + 10, 1, 2, p->f) != 2)
            return km_fail(ctx, KM_ERR_FORMAT, "truncated .npy header");
        len = (uint64_t)m[8] | (uint64_t)m[9] << 8 | (uint64_t)m[10] << 16 | (uint64_t)m[11] << 24;
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
    if (fread(*text, 1, (size_t)len, p->f) != (size_t)len)
        return km_fail(ctx, KM_ERR_IO, "cannot read the header: %s", strerror(errno));
    (*text)[len] = '\0';
    if (strlen(*text) != len)
        return km_fail(ctx, KM_ERR_FORMAT, "header holds a NUL byte");
    *data_off = at + len;
    while (len > 0 && ((*text)[len - 1] == ' ' || (*text)[len - 1] == '\n'))
        (*text)[--len] = '\0'; /* the padding to the values' alignment */
    return KM_OK;
}

static km_status open_npy(km_ctx *ctx, km_reader *r, npy_impl *p, const km_read_options *opt, char **h)
{
    struct stat sb;
    uint64_t off = 0;
    int64_t d[3];
    int nd, swap = 0, guessed = 0;
    uint32_t type = 0;
    km_status st;
    if (fstat(fileno(p->f), &sb) != 0)
        return km_fail(ctx, KM_ERR_IO, "cannot stat the file: %s", strerror(errno));
    if ((st = read_header(ctx, p, (uint64_t)sb.st_size, h, &off)) != KM_OK ||
        (st = parse_descr(ctx, dict_value(*h, "descr"), &type, &swap)) != KM_OK ||
        (st = parse_shape(ctx, dict_value(*h, "shape"), d, &nd)) != KM_OK)
        return st;
    const char *fo = dict_value(*h, "fortran_order");
    int fortran = fo != NULL && strncmp(fo, "True", 4) == 0;
    if (fo == NULL || (!fortran && strncmp(fo, "False", 5) != 0))
        return km_fail(ctx, KM_ERR_FORMAT, "header: fortran_order is not True or False");
    km_array *a = &p->arr;
    int first = 1;
    if (nd == 3) {
        first = opt->time_axis >= 0 ? opt->time_axis == 0 : d[0] >= d[2];
        guessed = opt->time_axis < 0;
    }
    a->T = nd == 2 ? 1 : first ? d[0] : d[2];
    a->R = nd == 3 && first ? d[1] : d[0];
    a->C = nd == 3 && first ? d[2] : d[1];
    if ((st = km_reader_set_geometry(ctx, r, a->R, a->C)) != KM_OK)
        return st;
    if (a->T == 0)
        return km_fail(ctx, KM_ERR_FORMAT, "no frames: shape with 0 frames");
    uint64_t frame = (uint64_t)a->R * (uint64_t)a->C * km_mat_type_size(type); /* R x C within the caps */
    uint64_t need = (uint64_t)a->T <= UINT64_MAX / frame ? (uint64_t)a->T * frame : UINT64_MAX;
    if (need > (uint64_t)sb.st_size - off)
        return km_fail(ctx, KM_ERR_FORMAT, "shape declares %llu bytes of values; the file holds %llu after "
                                           "its header (truncated file?)",
                       (unsigned long long)need, (unsigned long long)((uint64_t)sb.st_size - off));
    /* The values are in the file, so every product of dimensions below fits. */
    int64_t s[3]; /* strides of the stored dimensions, in values */
    s[0] = fortran ? 1 : d[1] * (nd == 3 ? d[2] : 1);
    s[1] = fortran ? d[0] : (nd == 3 ? d[2] : 1);
    s[2] = fortran ? d[0] * d[1] : 1;
    a->st = nd == 2 ? a->R * a->C : first ? s[0] : s[2];
    a->sr = nd == 3 && first ? s[1] : s[0];
    a->sc = nd == 3 && first ? s[2] : s[1];
    if (!km_array_streams(a) && need > km_read_max_memory(opt))
        return km_fail(ctx, KM_ERR_LIMIT, "the array is stored with time not its slowest axis and is read "
                                          "whole: %llu bytes, beyond the memory budget (save it [T, R, C] "
                                          "in C order, or raise --max-memory)", (unsigned long long)need);
    a->f = p->f;
    a->off = off;
    a->bytes = need;
    a->type = type;
    a->swap = swap;
    a->name = "the array";
    a->at = off;
    r->info.n_frames = a->T;
    if ((st = km_reader_add_header(ctx, r, "npy_header", *h)) != KM_OK ||
        (st = km_reader_apply_options(ctx, r, opt)) != KM_OK)
        return st;
    if (guessed)
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
