/* MAT-file level 5 elements: byte order, tags, zlib streams, variable
 * headers (mat_internal.h; docs/FORMAT.md 1.8). */
#define _POSIX_C_SOURCE 200809L /* fseeko, fileno */
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mat_internal.h"

/* ---- bytes ---- */

uint32_t km_mat_u32(const unsigned char *p, int swap)
{
    return swap ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
                : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

size_t km_mat_type_size(uint32_t t)
{
    switch (t) {
    case MI_INT8: case MI_UINT8: case MI_UTF8: return 1;
    case MI_INT16: case MI_UINT16: case MI_UTF16: case MI_HALF: return 2;
    case MI_INT32: case MI_UINT32: case MI_SINGLE: case MI_UTF32: return 4;
    case MI_DOUBLE: case MI_INT64: case MI_UINT64: return 8;
    default: return 0;
    }
}

/* An IEEE 754 half (numpy's float16) as a double: exact. */
static double half_value(uint16_t h)
{
    const int e = (h >> 10) & 0x1F;
    const double m = (double)(h & 0x3FF), sign = (h & 0x8000) ? -1.0 : 1.0;
    if (e == 0x1F)
        return m != 0 ? NAN : sign * INFINITY;
    return sign * (e == 0 ? ldexp(m, -24) : ldexp(m + 1024.0, e - 25));
}

/* Element i of a run of type t, in the file's byte order. */
double km_mat_elem(const unsigned char *p, size_t i, uint32_t t, int swap)
{
    unsigned char b[8];
    size_t s = km_mat_type_size(t);
    for (size_t k = 0; k < s; k++)
        b[k] = p[i * s + (swap ? s - 1 - k : k)];
    switch (t) {
    case MI_INT8: return (int8_t)b[0];
    case MI_UINT8: case MI_UTF8: return b[0];
    case MI_INT16: { int16_t v; memcpy(&v, b, 2); return v; }
    case MI_UINT16: case MI_UTF16: { uint16_t v; memcpy(&v, b, 2); return v; }
    case MI_HALF: { uint16_t v; memcpy(&v, b, 2); return half_value(v); }
    case MI_INT32: { int32_t v; memcpy(&v, b, 4); return v; }
    case MI_UINT32: case MI_UTF32: { uint32_t v; memcpy(&v, b, 4); return v; }
    case MI_SINGLE: { float v; memcpy(&v, b, 4); return v; }
    case MI_DOUBLE: { double v; memcpy(&v, b, 8); return v; }
    case MI_INT64: { int64_t v; memcpy(&v, b, 8); return (double)v; }
    default: { uint64_t v; memcpy(&v, b, 8); return (double)v; }
    }
}

/* The same element as a float, converted once (an int64 or uint64 directly,
   not through double). */
static float elem_f(const unsigned char *p, size_t i, uint32_t t, int swap)
{
    if (t == MI_INT64 || t == MI_UINT64) {
        unsigned char b[8];
        for (size_t k = 0; k < 8; k++)
            b[k] = p[i * 8 + (swap ? 7 - k : k)];
        if (t == MI_INT64) {
            int64_t v;
            memcpy(&v, b, 8);
            return (float)v;
        }
        uint64_t v;
        memcpy(&v, b, 8);
        return (float)v;
    }
    return (float)km_mat_elem(p, i, t, swap);
}

/* One typed loop per stored type in the file's byte order: the value read
   with memcpy and converted once, as elem_f converts it. */
#define RUN_AS(type)                                                                       \
    for (size_t k = 0; k < n; k++) {                                                       \
        type v;                                                                            \
        memcpy(&v, p + (i0 + k * step) * sizeof v, sizeof v);                              \
        out[k] = (float)v;                                                                 \
    }                                                                                      \
    return

void km_mat_run_f(const unsigned char *p, size_t i0, size_t step, size_t n, uint32_t t, int swap, float *out)
{
    if (!swap || km_mat_type_size(t) == 1)
        switch (t) {
        case MI_INT8: RUN_AS(int8_t);
        case MI_UINT8: case MI_UTF8: RUN_AS(uint8_t);
        case MI_INT16: RUN_AS(int16_t);
        case MI_UINT16: case MI_UTF16: RUN_AS(uint16_t);
        case MI_INT32: RUN_AS(int32_t);
        case MI_UINT32: case MI_UTF32: RUN_AS(uint32_t);
        case MI_SINGLE: RUN_AS(float);
        case MI_DOUBLE: RUN_AS(double);
        case MI_INT64: RUN_AS(int64_t);
        case MI_UINT64: RUN_AS(uint64_t);
        default: break;
        }
    for (size_t k = 0; k < n; k++) /* the other byte order: value by value */
        out[k] = elem_f(p, i0 + k * step, t, swap);
}
#undef RUN_AS

/* ---- streams ---- */

void km_mat_src_end(mat_src *s)
{
    if (s->z_init)
        inflateEnd(&s->zs);
    s->z_init = 0;
}

km_status km_mat_src_begin(km_ctx *ctx, mat_src *s, FILE *f, uint64_t off, uint64_t bytes, int z)
{
    km_mat_src_end(s);
    s->f = f;
    s->z = z;
    s->in_left = bytes;
    struct stat sb;
    s->size_at_begin = fstat(fileno(f), &sb) == 0 ? (long long)sb.st_size : -1;
    s->pos = 0;
    s->crc = 0;
    s->crc_on = 0;
    if (fseeko(f, (off_t)off, SEEK_SET) != 0)
        return km_fail(ctx, KM_ERR_IO, "cannot seek to byte %llu", (unsigned long long)off);
    if (z) {
        memset(&s->zs, 0, sizeof s->zs);
        if ((z == 2 ? inflateInit2(&s->zs, -MAX_WBITS) : inflateInit(&s->zs)) != Z_OK)
            return km_fail(ctx, KM_ERR_NOMEM, "out of memory for zlib");
        s->z_init = 1;
    }
    return KM_OK;
}

km_status km_mat_src_crc(km_ctx *ctx, const mat_src *s, uint32_t want, const char *what, uint64_t at)
{
    if (s->crc == want)
        return KM_OK;
    return km_fail(ctx, KM_ERR_FORMAT, "%s (member at byte %llu): CRC-32 %08x, the archive says %08x (a damaged file)",
                   what, (unsigned long long)at, (unsigned)s->crc, (unsigned)want);
}

/* A read of the range that came back short: an I/O failure (KM_ERR_IO,
   exit 74) when the OS said so or when the file is now shorter than it was
   when the range's reading began: cut while being read (a copy or sync tool
   replacing it), as text's "the file changed while being read" and an HDF5
   session's "cut while being read".  KM_OK otherwise (nothing recorded):
   then the bytes themselves are at fault, as before. */
static km_status read_failed(km_ctx *ctx, const mat_src *s, uint64_t at, const char *what)
{
    struct stat sb;
    if (ferror(s->f))
        return km_fail(ctx, KM_ERR_IO, "element at byte %llu: %s cut short (%s)", (unsigned long long)at, what,
                       strerror(errno));
    if (s->size_at_begin >= 0 && fstat(fileno(s->f), &sb) == 0 && (long long)sb.st_size < s->size_at_begin)
        return km_fail(ctx, KM_ERR_IO, "element at byte %llu: %s cut short: the file is now %lld bytes, %lld "
                       "when its reading began: cut while being read (changed on disk?)",
                       (unsigned long long)at, what, (long long)sb.st_size, s->size_at_begin);
    return KM_OK;
}

/* Exactly n bytes into buf (NULL: skip them).  `what` names the place. */
km_status km_mat_src_read(km_ctx *ctx, mat_src *s, void *buf, uint64_t n, uint64_t at, const char *what)
{
    unsigned char scratch[4096], *out = buf;
    if (buf == NULL && !s->z && n > sizeof scratch) { /* skip a file range (a struct's big field) by seeking */
        if (n > s->in_left)
            return km_fail(ctx, KM_ERR_FORMAT, "element at byte %llu: %s runs past the element's end",
                           (unsigned long long)at, what);
        if (fseeko(s->f, (off_t)n, SEEK_CUR) != 0)
            return km_fail(ctx, KM_ERR_IO, "element at byte %llu: cannot seek past %s (%s)", (unsigned long long)at,
                           what, strerror(errno));
        s->in_left -= n;
        s->pos += n;
        return KM_OK;
    }
    while (n > 0) {
        size_t want = n > sizeof scratch && buf == NULL ? sizeof scratch : n > (1u << 30) ? (1u << 30) : (size_t)n;
        unsigned char *dst = buf != NULL ? out : scratch;
        size_t got;
        if (!s->z) {
            if (want > s->in_left)
                return km_fail(ctx, KM_ERR_FORMAT, "element at byte %llu: %s runs past the element's end",
                               (unsigned long long)at, what);
            got = fread(dst, 1, want, s->f);
            s->in_left -= got;
            km_status st;
            if (got < want)
                return (st = read_failed(ctx, s, at, what)) != KM_OK
                           ? st
                           : km_fail(ctx, KM_ERR_FORMAT, "element at byte %llu: %s cut short (truncated file)",
                                     (unsigned long long)at, what);
        } else {
            s->zs.next_out = dst;
            s->zs.avail_out = (uInt)want;
            while (s->zs.avail_out > 0) {
                if (s->zs.avail_in == 0 && s->in_left > 0) {
                    size_t k = s->in_left < sizeof s->in ? (size_t)s->in_left : sizeof s->in;
                    size_t r = fread(s->in, 1, k, s->f);
                    km_status st;
                    if (r < k && (st = read_failed(ctx, s, at, what)) != KM_OK)
                        return st;
                    s->in_left = r < k ? 0 : s->in_left - r;
                    s->zs.next_in = s->in;
                    s->zs.avail_in = (uInt)r;
                }
                int zr = inflate(&s->zs, Z_NO_FLUSH);
                if (zr == Z_STREAM_END && s->zs.avail_out > 0)
                    return km_fail(ctx, KM_ERR_FORMAT,
                                   "compressed element at byte %llu: %s cut short (the stream ends)",
                                   (unsigned long long)at, what);
                if (zr == Z_BUF_ERROR && s->zs.avail_in == 0 && s->in_left == 0)
                    return km_fail(ctx, KM_ERR_FORMAT,
                                   "compressed element at byte %llu: %s cut short (truncated stream)",
                                   (unsigned long long)at, what);
                if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
                    return km_fail(ctx, KM_ERR_FORMAT, "compressed element at byte %llu: %s: %s",
                                   (unsigned long long)at, what,
                                   s->zs.msg != NULL ? s->zs.msg : "damaged zlib stream");
            }
            got = want;
        }
        if (s->crc_on)
            s->crc = (uint32_t)crc32(s->crc, dst, (uInt)got);
        s->pos += got;
        n -= got;
        if (buf != NULL)
            out += got;
    }
    return KM_OK;
}

/* A subelement's tag (small data elements: their <= 4 bytes into small). */
static km_status read_sub(km_ctx *ctx, mat_src *s, int swap, uint64_t at, const char *what, uint32_t *type,
                          uint64_t *bytes, unsigned char small[4], int *is_small)
{
    unsigned char tag[8];
    km_status st = km_mat_src_read(ctx, s, tag, 8, at, what);
    if (st != KM_OK)
        return st;
    uint32_t w = km_mat_u32(tag, swap);
    *is_small = (w >> 16) != 0;
    if (*is_small) {
        *type = w & 0xffffu;
        *bytes = w >> 16;
        memcpy(small, tag + 4, 4);
        if (*bytes > 4)
            return km_fail(ctx, KM_ERR_FORMAT, "element at byte %llu: %s: a small element of %llu bytes",
                           (unsigned long long)at, what, (unsigned long long)*bytes);
    } else {
        *type = w;
        *bytes = km_mat_u32(tag + 4, swap);
    }
    return KM_OK;
}

static uint64_t pad8(uint64_t n)
{
    return (n + 7) & ~(uint64_t)7;
}

/* The dimensions subelement: v->nd (99: more than three real ones), the
   first three, and the count of values. */
static km_status read_dims(km_ctx *ctx, mat_src *s, int swap, mat_var *v)
{
    uint64_t at = v->elem_off, bytes;
    uint32_t type;
    unsigned char buf[4 * MAT_MAX_DIMS], small[4];
    int is_small;
    km_status st;
    if ((st = read_sub(ctx, s, swap, at, "dimensions", &type, &bytes, small, &is_small)) != KM_OK)
        return st;
    if (type != MI_INT32 || bytes < 8 || bytes % 4 != 0 || bytes > sizeof buf)
        return km_fail(ctx, KM_ERR_FORMAT, "element at byte %llu: dimensions of type %u, %llu bytes",
                       (unsigned long long)at, (unsigned)type, (unsigned long long)bytes);
    if ((st = km_mat_src_read(ctx, s, buf, pad8(bytes), at, "dimensions")) != KM_OK)
        return st;
    int nd = (int)(bytes / 4), more = 0;
    v->n = 1;
    for (int k = 0; k < nd; k++) {
        int32_t d = (int32_t)km_mat_u32(buf + 4 * k, swap);
        if (d < 0)
            return km_fail(ctx, KM_ERR_FORMAT, "element at byte %llu: dimension %d is %d",
                           (unsigned long long)at, k + 1, (int)d);
        if (k < 3)
            v->dims[k] = (uint64_t)d;
        else if (d != 1)
            more = 1;
        v->n = d != 0 && v->n > (UINT64_MAX >> 4) / (uint64_t)d ? (UINT64_MAX >> 4) : v->n * (uint64_t)d;
    }
    v->nd = more ? 99 : nd > 3 ? 3 : nd; /* 99: more than three real dimensions, never frames */
    return KM_OK;
}

/* A subelement's tag (read_sub), its type t1 or t2 and its bytes, padded,
   with the tag, within `limit`: else an error naming `what`. */
static km_status read_sub_as(km_ctx *ctx, mat_src *s, int swap, uint64_t at, const char *what, uint32_t t1,
                             uint32_t t2, uint64_t limit, uint64_t *bytes, unsigned char small[4], int *is_small)
{
    uint32_t type;
    km_status st = read_sub(ctx, s, swap, at, what, &type, bytes, small, is_small);
    if (st == KM_OK && ((type != t1 && type != t2) || (!*is_small && pad8(*bytes) + 8 > limit)))
        st = km_fail(ctx, KM_ERR_FORMAT, "element at byte %llu: %s of type %u, %llu bytes", (unsigned long long)at,
                     what, (unsigned)type, (unsigned long long)*bytes);
    return st;
}

/* An int8/uint8 text subelement (a name) into out (cap bytes, cut there,
   printable: '?' for the rest); at most `limit` bytes with its tag. */
static km_status read_text(km_ctx *ctx, mat_src *s, int swap, uint64_t at, const char *what, uint64_t limit,
                           char *out, size_t cap)
{
    uint64_t bytes;
    unsigned char small[4], keep_buf[256];
    int is_small;
    km_status st = read_sub_as(ctx, s, swap, at, what, MI_INT8, MI_UINT8, limit, &bytes, small, &is_small);
    if (st != KM_OK)
        return st;
    size_t lim = (cap < sizeof keep_buf ? cap : sizeof keep_buf) - 1, keep = bytes < lim ? (size_t)bytes : lim;
    if (is_small) {
        memcpy(keep_buf, small, keep);
    } else if ((st = km_mat_src_read(ctx, s, keep_buf, keep, at, what)) != KM_OK ||
               (st = km_mat_src_read(ctx, s, NULL, pad8(bytes) - keep, at, what)) != KM_OK) {
        return st;
    }
    for (size_t k = 0; k < keep; k++) /* names are identifiers; keep messages printable */
        out[k] = keep_buf[k] < 0x21 || keep_buf[k] > 0x7e ? '?' : (char)keep_buf[k];
    out[keep] = '\0';
    return KM_OK;
}

/* A classdef object (mxOPAQUE: MATLAB's string, datetime, table): after the
   array flags, its name, its type system ("MCOS") and its class, then
   values that point into the file's #subsystem#, never read.  Named, its
   class in v->descr, when all three are there (listed, and a string one
   said: array_vars.c); else left unnamed, skipped.  content: the stream's
   position at the element's first subelement. */
static km_status read_object(km_ctx *ctx, mat_src *s, int swap, mat_var *v, uint64_t content)
{
    char name[sizeof v->name], system[16], cls[sizeof v->descr];
    char *text[] = {name, system, cls};
    const size_t cap[] = {sizeof name, sizeof system, sizeof cls};
    uint64_t end = content + v->matrix_bytes;
    for (int k = 0; k < 3; k++) /* a damaged one: skipped, as before it was read */
        if (end < s->pos + 8 ||
            read_text(ctx, s, swap, v->elem_off, "object", end - s->pos, text[k], cap[k]) != KM_OK)
            return KM_OK;
    if (strcmp(system, "MCOS") != 0 || !((cls[0] | 0x20) >= 'a' && (cls[0] | 0x20) <= 'z'))
        return KM_OK;
    for (const char *c = cls; *c != '\0'; c++) /* a class name: letters, digits, _ and . (packages) */
        if (!(((*c | 0x20) >= 'a' && (*c | 0x20) <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '.'))
            return KM_OK;
    memcpy(v->name, name, sizeof v->name);
    memcpy(v->descr, cls, sizeof v->descr);
    v->nd = 0; /* no dimensions stored */
    return KM_OK;
}

/* A variable's header, the stream at its miMATRIX tag; v->elem_* set.
   An empty element (0 bytes) leaves v->name "". */
km_status km_mat_read_header(km_ctx *ctx, mat_src *s, int swap, mat_var *v)
{
    uint64_t at = v->elem_off, bytes;
    uint32_t type;
    unsigned char buf[8], small[4]; /* the array flags */
    int is_small;
    km_status st;

    v->name[0] = '\0';
    if ((st = read_sub(ctx, s, swap, at, "variable", &type, &bytes, small, &is_small)) != KM_OK)
        return st;
    if (type != MI_MATRIX)
        return km_fail(ctx, KM_ERR_FORMAT, "element at byte %llu: type %u where a matrix (14) belongs",
                       (unsigned long long)at, (unsigned)type);
    v->matrix_bytes = bytes;
    if (bytes == 0)
        return KM_OK;
    if ((st = read_sub(ctx, s, swap, at, "array flags", &type, &bytes, small, &is_small)) != KM_OK)
        return st;
    if (type != MI_UINT32 || bytes != 8 || is_small)
        return km_fail(ctx, KM_ERR_FORMAT, "element at byte %llu: array flags of type %u, %llu bytes",
                       (unsigned long long)at, (unsigned)type, (unsigned long long)bytes);
    if ((st = km_mat_src_read(ctx, s, buf, 8, at, "array flags")) != KM_OK)
        return st;
    uint32_t flags = km_mat_u32(buf, swap);
    v->cls = flags & 0xffu;
    v->complex_ = (flags & 0x800u) != 0;
    if (v->cls == MX_OPAQUE)
        return read_object(ctx, s, swap, v, s->pos - 16); /* content: past the matrix tag */
    if (v->cls == 0 || v->cls > MX_UINT64)
        return KM_OK; /* functions: another layout, never frames; left unnamed, skipped */
    if ((st = read_dims(ctx, s, swap, v)) != KM_OK)
        return st;
    if ((st = read_text(ctx, s, swap, at, "name", UINT64_MAX, v->name, sizeof v->name)) != KM_OK)
        return st;
    if (v->cls < MX_CHAR || v->cls == MX_SPARSE || v->cls > MX_UINT64 || v->complex_)
        return KM_OK; /* cells, structs, objects, sparse, complex: listed, never read */
    if ((st = read_sub(ctx, s, swap, at, "values", &v->type, &v->bytes, v->small, &v->is_small)) != KM_OK)
        return st;
    size_t es = km_mat_type_size(v->type);
    if (es == 0 || v->bytes % es != 0 || v->bytes / es != v->n)
        return km_fail(ctx, KM_ERR_FORMAT,
                       "variable %s (byte %llu): %llu bytes of type %u for %llu values", v->name,
                       (unsigned long long)at, (unsigned long long)v->bytes, (unsigned)v->type,
                       (unsigned long long)v->n);
    v->data_pos = s->pos;
    return KM_OK;
}

#define MAT_MAX_FIELDS 4096

/* A subelement of one int32 (a struct's field name length), small or not. */
static km_status read_int32(km_ctx *ctx, mat_src *s, int swap, uint64_t at, const char *what, uint32_t *out)
{
    uint64_t bytes;
    unsigned char small[4], buf[8];
    int is_small;
    km_status st = read_sub_as(ctx, s, swap, at, what, MI_INT32, MI_INT32, UINT64_MAX, &bytes, small, &is_small);
    if (st == KM_OK && bytes != 4)
        st = km_fail(ctx, KM_ERR_FORMAT, "element at byte %llu: %s of %llu bytes, not one int32",
                     (unsigned long long)at, what, (unsigned long long)bytes);
    if (st != KM_OK)
        return st;
    if (!is_small && (st = km_mat_src_read(ctx, s, buf, 8, at, what)) != KM_OK)
        return st;
    *out = km_mat_u32(is_small ? small : buf, swap);
    return KM_OK;
}

typedef struct field_list { /* the fields found so far, nested ones after their struct */
    mat_var *v;
    size_t n, cap;
} field_list;

static km_status read_fields(km_ctx *ctx, mat_src *s, int swap, const mat_var *v, int depth, field_list *out);

/* A field's header, the stream at its miMATRIX tag, named "v.field", into
   the list (a 1 x 1 struct's own fields after it, to KM_MAT_STRUCT_DEPTH);
   the stream left at the field's end. */
static km_status read_field(km_ctx *ctx, mat_src *s, int swap, const mat_var *v, const char *field, int depth,
                            field_list *out)
{
    uint64_t start = s->pos, end;
    km_status st;
    mat_var *f;
    if (out->n == out->cap) {
        size_t cap = out->cap ? 2 * out->cap : 16;
        mat_var *grown = cap > KM_VARS_MAX ? NULL : realloc(out->v, cap * sizeof *grown);
        if (grown == NULL)
            return cap > KM_VARS_MAX ? km_fail(ctx, KM_ERR_LIMIT, "variable %s (byte %llu): more than %d fields",
                                               v->name, (unsigned long long)v->elem_off, KM_VARS_MAX)
                                     : km_fail(ctx, KM_ERR_NOMEM, "out of memory for the fields of %s", v->name);
        out->v = grown;
        out->cap = cap;
    }
    f = &out->v[out->n++];
    memset(f, 0, sizeof *f);
    f->elem_off = v->elem_off;
    f->elem_bytes = v->elem_bytes;
    f->compressed = v->compressed;
    f->swap = v->swap;
    if ((st = km_mat_read_header(ctx, s, swap, f)) != KM_OK)
        return st;
    /* MATLAB: names of <= 63; KM_MAT_STRUCT_DEPTH levels fit the name */
    snprintf(f->name, sizeof f->name, depth == 1 ? "%.63s.%.63s" : "%.191s.%.63s", v->name, field);
    end = start + 8 + f->matrix_bytes;
    mat_var self = *f; /* out->v moves as the list grows */
    if (km_mat_one_struct(&self) && depth < KM_MAT_STRUCT_DEPTH &&
        (st = read_fields(ctx, s, swap, &self, depth + 1, out)) != KM_OK)
        return st;
    if (s->pos > end)
        return km_fail(ctx, KM_ERR_FORMAT, "variable %s (byte %llu): its header runs past its %llu bytes",
                       self.name, (unsigned long long)v->elem_off, (unsigned long long)self.matrix_bytes);
    return km_mat_src_read(ctx, s, NULL, end - s->pos, v->elem_off, self.name);
}

/* The fields of struct v (depth 1: a variable's), the stream just past v's
   name. */
static km_status read_fields(km_ctx *ctx, mat_src *s, int swap, const mat_var *v, int depth, field_list *out)
{
    uint64_t at = v->elem_off, bytes;
    uint32_t type, len = 0;
    unsigned char small[4];
    int is_small;
    char *names = NULL;
    size_t nf = 0;
    km_status st;

    if ((st = read_int32(ctx, s, swap, at, "field name length", &len)) != KM_OK ||
        (st = read_sub(ctx, s, swap, at, "field names", &type, &bytes, small, &is_small)) != KM_OK)
        return st;
    if (len == 0 || len > 256 || (type != MI_INT8 && type != MI_UINT8) || bytes % len != 0 ||
        bytes / len > MAT_MAX_FIELDS)
        return km_fail(ctx, KM_ERR_FORMAT, "variable %s (byte %llu): %llu bytes of field names of type %u, "
                       "%u bytes each (at most %d fields)", v->name, (unsigned long long)at,
                       (unsigned long long)bytes, (unsigned)type, (unsigned)len, MAT_MAX_FIELDS);
    nf = (size_t)(bytes / len);
    names = malloc((size_t)bytes + 1);
    if (names == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory for the fields of %s", v->name);
    if (is_small)
        memcpy(names, small, (size_t)bytes);
    else if ((st = km_mat_src_read(ctx, s, names, bytes, at, "field names")) != KM_OK ||
             (st = km_mat_src_read(ctx, s, NULL, pad8(bytes) - bytes, at, "field names")) != KM_OK)
        goto done;
    for (size_t k = 0; k < nf; k++) {
        char field[64];
        size_t m = 0;
        for (; m < len && m + 1 < sizeof field && names[k * len + m] != '\0'; m++) /* printable, as variable names */
            field[m] = names[k * len + m] > 0x20 && names[k * len + m] < 0x7f ? names[k * len + m] : '?';
        field[m] = '\0';
        if ((st = read_field(ctx, s, swap, v, field, depth, out)) != KM_OK)
            goto done;
    }
done:
    free(names);
    return st;
}

int km_mat_one_struct(const mat_var *v)
{
    return v->cls == MX_STRUCT && !v->complex_ && v->nd == 2 && v->dims[0] == 1 && v->dims[1] == 1;
}

km_status km_mat_read_fields(km_ctx *ctx, mat_src *s, int swap, const mat_var *v, mat_var **out, size_t *n)
{
    field_list list = {NULL, 0, 0};
    km_status st = read_fields(ctx, s, swap, v, 1, &list);
    *out = NULL;
    *n = 0;
    if (st != KM_OK) {
        free(list.v);
        return st;
    }
    *out = list.v;
    *n = list.n;
    return KM_OK;
}

/* The whole real part of a small variable into buf (v->bytes). */
km_status km_mat_read_values(km_ctx *ctx, FILE *f, const mat_var *v, mat_src *s, unsigned char *buf)
{
    km_status st;
    if (v->is_small) {
        memcpy(buf, v->small, (size_t)v->bytes);
        return KM_OK;
    }
    if ((st = km_mat_src_begin(ctx, s, f, v->compressed ? v->elem_off + 8 : v->elem_off,
                        v->compressed ? v->elem_bytes : v->elem_bytes + 8, v->compressed)) != KM_OK ||
        (st = km_mat_src_read(ctx, s, NULL, v->data_pos, v->elem_off, "values")) != KM_OK)
        return st;
    return km_mat_src_read(ctx, s, buf, v->bytes, v->elem_off, v->name);
}

