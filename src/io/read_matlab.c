/* Reader for MATLAB MAT-files of level 5 (`save`, `save -v6`, `save -v7`;
 * scipy.io.savemat; Octave's `-mat`): docs/FORMAT.md 1.8.
 *
 * The file is a 128-byte header and a sequence of elements; each variable is
 * a miMATRIX element, zlib-compressed whole in a miCOMPRESSED element since
 * v7.  Open scans the elements once, reading only each variable's header
 * (class, dimensions, name) and the small variables knotmap uses (time, mask,
 * scalars, strings); the frames are read in order as the pipeline asks for
 * them, inflated on the way (zlib streams), so memory stays one block.
 * Arrays are column-major: frames(r, c, t) puts a frame's R x C values in one
 * run, transposed here to knotmap's row-major frames.  (v7.3 MAT-files are
 * HDF5: read_mat73.c.) */
#define _POSIX_C_SOURCE 200809L /* fseeko, fileno */
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mat_internal.h"
#include "reader_internal.h"

typedef struct mat_impl {
    FILE *f;
    int swap;              /* the file is big-endian */
    mat_var *vars;
    size_t n_vars;
    double *time;          /* n_frames seconds, or NULL: times from the rate */
    km_array arr;          /* the frames' values */
} mat_impl;

static void mat_close(km_reader *r)
{
    mat_impl *m = r->impl;
    if (m == NULL)
        return;
    km_array_close(r, &m->arr);
    if (m->f != NULL)
        fclose(m->f);
    km_reader_release(r, m->vars);
    km_reader_release(r, m->time);
    km_reader_release(r, m);
    r->impl = NULL;
}

static km_status mat_read(km_ctx *ctx, km_reader *r, float *frames, double *times, int64_t max_frames,
                          int64_t *n_read);

static const km_reader_ops mat_ops = {mat_read, mat_close};

/* ---- the scan ---- */

/* A variable (or a struct's field) into the list, after the checks of its
   declared sizes against its element's (bytes: the element's). */
static km_status add_var(km_ctx *ctx, km_reader *r, mat_impl *m, const mat_var *v, uint64_t bytes)
{
    /* Deflate expands at most 1032:1: a stream that claims more is crafted. */
    if (v->compressed && v->bytes / 1032 > bytes)
        return km_fail(ctx, KM_ERR_FORMAT, "variable %s (byte %llu) declares %llu bytes from %llu compressed",
                       v->name, (unsigned long long)v->elem_off, (unsigned long long)v->bytes,
                       (unsigned long long)bytes);
    if (!v->compressed && !v->is_small && v->data_pos + v->bytes > bytes + 8)
        return km_fail(ctx, KM_ERR_FORMAT, "variable %s (byte %llu): %llu bytes of values in a %llu-byte element",
                       v->name, (unsigned long long)v->elem_off, (unsigned long long)v->bytes,
                       (unsigned long long)bytes);
    if (v->name[0] == '\0')
        return KM_OK;
    return km_vars_append(ctx, r, &m->vars, &m->n_vars, v);
}

static km_status scan(km_ctx *ctx, km_reader *r, mat_impl *m, uint64_t size)
{
    uint64_t off = 128;
    mat_src s;
    km_status st = KM_OK;
    memset(&s, 0, sizeof s);
    while (st == KM_OK && off + 8 <= size) {
        unsigned char tag[8];
        mat_var v, *fields = NULL;
        size_t n_fields = 0;
        if (fseeko(m->f, (off_t)off, SEEK_SET) != 0 || fread(tag, 1, 8, m->f) != 8) {
            st = km_fail(ctx, KM_ERR_IO, "cannot read the element at byte %llu", (unsigned long long)off);
            break;
        }
        uint32_t type = km_mat_u32(tag, m->swap);
        uint64_t bytes = km_mat_u32(tag + 4, m->swap);
        if (type != MI_MATRIX && type != MI_COMPRESSED) { /* nothing a variable is made of */
            st = km_fail(ctx, KM_ERR_FORMAT, "element at byte %llu: type %u is not a variable",
                         (unsigned long long)off, (unsigned)type);
            break;
        }
        if (bytes > size - off - 8) {
            st = km_fail(ctx, KM_ERR_FORMAT,
                         "element at byte %llu declares %llu bytes; the file has %llu after its tag "
                         "(truncated file?)",
                         (unsigned long long)off, (unsigned long long)bytes, (unsigned long long)(size - off - 8));
            break;
        }
        memset(&v, 0, sizeof v);
        v.swap = m->swap;
        v.elem_off = off;
        v.elem_bytes = bytes;
        v.compressed = type == MI_COMPRESSED;
        st = km_mat_src_begin(ctx, &s, m->f, v.compressed ? off + 8 : off, v.compressed ? bytes : bytes + 8,
                              v.compressed);
        if (st == KM_OK)
            st = km_mat_read_header(ctx, &s, m->swap, &v);
        /* a 1 x 1 struct (MATLAB users often save s.frames, s.time, ...): its
           fields are listed as variables "s.field", nested ones "s.meta.fs" */
        if (st == KM_OK && km_mat_one_struct(&v))
            st = km_mat_read_fields(ctx, &s, m->swap, &v, &fields, &n_fields);
        if (st == KM_OK)
            st = add_var(ctx, r, m, &v, bytes);
        for (size_t k = 0; st == KM_OK && k < n_fields; k++)
            st = add_var(ctx, r, m, &fields[k], bytes);
        free(fields);
        off += 8 + bytes;
    }
    km_mat_src_end(&s); /* fewer than 8 bytes after the last element: padding, ignored */
    return st;
}

/* A variable's whole values (km_varset.values). */
static km_status var_values(km_ctx *ctx, void *src, const mat_var *v, unsigned char *buf)
{
    mat_impl *m = src;
    mat_src s;
    km_status st;
    memset(&s, 0, sizeof s);
    st = km_mat_read_values(ctx, m->f, v, &s, buf);
    km_mat_src_end(&s);
    return st;
}

/* Does the file begin as a level-4 MAT-file's first matrix?  Its 20-byte
   header: type MOPT (M the byte order 0 or 1, O 0, P the value type 0-5, T
   0-2), rows, columns, imagf (0 or 1), the name's length with its NUL, then
   the name. */
static int level4(const unsigned char *h, size_t n)
{
    for (int swap = 0; swap < 2; swap++) {
        uint32_t mopt = km_mat_u32(h, swap), imagf = km_mat_u32(h + 12, swap), len = km_mat_u32(h + 16, swap);
        if (mopt / 1000 != (uint32_t)swap || mopt / 100 % 10 != 0 || mopt / 10 % 10 > 5 || mopt % 10 > 2 ||
            imagf > 1 || len < 2 || len > 64 || 20 + len > n || h[20 + len - 1] != '\0')
            continue;
        return 1;
    }
    return 0;
}

/* Does the file begin with a v7.3 MAT-file's user block?  (Rewound.) */
static int is_v73(FILE *f)
{
    char h[sizeof KM_MAT73_SIG - 1];
    int is = fread(h, 1, sizeof h, f) == sizeof h && memcmp(h, KM_MAT73_SIG, sizeof h) == 0;
    rewind(f);
    return is;
}

void km_mat_head_text(const unsigned char *h, char *text)
{
    size_t n;
    memcpy(text, h, 116);
    for (n = 116; n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\0'); n--)
        ;
    text[n] = '\0';
    for (size_t k = 0; k < n; k++)
        if ((unsigned char)text[k] < 0x20 || (unsigned char)text[k] > 0x7e)
            text[k] = '?';
}

static km_status read_head(km_ctx *ctx, km_reader *r, mat_impl *m, uint64_t size)
{
    unsigned char h[128];
    char text[117];
    size_t got = fread(h, 1, 128, m->f);
    if (got >= 20 && level4(h, got))
        return km_fail(ctx, KM_ERR_FORMAT, "a MAT-file of level 4 (save -v4; scipy.io.savemat "
                                           "format='4'): knotmap reads level 5 (save -v7, or "
                                           "savemat's default format='5')");
    if (got >= 19 && memcmp(h, "# Created by Octave", 19) == 0)
        return km_fail(ctx, KM_ERR_FORMAT, "an Octave text file (save -text), not a MAT-file: in "
                                           "Octave, save -v7 (or -mat7-binary)");
    if (size < 128 || got != 128)
        return km_fail(ctx, KM_ERR_FORMAT, "not a MAT-file of level 5 (%llu bytes, shorter than its "
                                           "128-byte header; save with -v7 or -v7.3)",
                       (unsigned long long)size);
    if (memcmp(h, "MATLAB 5.0 MAT-file", 19) != 0)
        return km_fail(ctx, KM_ERR_FORMAT, "not a MAT-file of level 5 (its header does not begin "
                                           "'MATLAB 5.0 MAT-file'; save with -v7 or -v7.3)");
    if (h[126] == 'I' && h[127] == 'M')
        m->swap = 0;
    else if (h[126] == 'M' && h[127] == 'I')
        m->swap = 1;
    else
        return km_fail(ctx, KM_ERR_FORMAT, "MAT-file header: byte order mark '%c%c' is neither IM nor MI",
                       h[126] >= 0x20 && h[126] < 0x7f ? h[126] : '?', h[127] >= 0x20 && h[127] < 0x7f ? h[127] : '?');
    km_mat_head_text(h, text);
    return km_reader_add_header(ctx, r, "MAT-file", text);
}

km_status km_open_matlab(km_ctx *ctx, km_reader *r, const km_read_options *opt)
{
    struct stat sb;
    mat_impl *m = km_reader_alloc(r, sizeof *m);
    const mat_var *v;
    km_orient o;
    km_status st;
    if (m == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory");
    memset(m, 0, sizeof *m);
    r->impl = m;
    r->ops = &mat_ops;
    r->info.format = KM_FORMAT_MATLAB;
    m->f = fopen(r->path, "rb");
    if (m->f == NULL || fstat(fileno(m->f), &sb) != 0)
        return km_fail(ctx, KM_ERR_NOT_FOUND, "cannot open the file: %s", strerror(errno));
    if (is_v73(m->f)) { /* HDF5: its own reader */
        mat_close(r);
        return km_open_mat73(ctx, r, opt);
    }
    if ((st = read_head(ctx, r, m, (uint64_t)sb.st_size)) != KM_OK ||
        (st = scan(ctx, r, m, (uint64_t)sb.st_size)) != KM_OK)
        return st;
    km_varset vs = {.v = m->vars, .n = m->n_vars, .noun = "variable",
                    .hint = "MATLAB: frames = <one of them>; save(file, 'frames', ...)", .values = var_values,
                    .src = m};
    if ((st = km_vars_choose_frames(ctx, &vs, &v)) != KM_OK ||
        (st = km_vars_orient(ctx, r, &vs, v, opt, &o)) != KM_OK || (st = km_vars_read_scalars(ctx, r, &vs, &o)) != KM_OK ||
        (st = km_vars_read_time(ctx, r, &vs, opt, &o, &m->time)) != KM_OK ||
        (st = km_vars_read_mask(ctx, r, &vs)) != KM_OK)
        return st;
    km_array *a = &m->arr;
    km_vars_strides(a, v, &o);
    a->f = m->f;
    a->off = v->compressed ? v->elem_off + 8 : v->elem_off;
    a->bytes = v->compressed ? v->elem_bytes : v->elem_bytes + 8;
    a->z = v->compressed;
    a->skip = v->data_pos;
    a->inline_values = v->is_small ? v->small : NULL;
    a->time = m->time;
    a->at = v->elem_off;
    if (!km_array_streams(a) && v->bytes > km_read_max_memory(opt))
        return km_fail(ctx, KM_ERR_LIMIT,
                       "variable %s is stored time first (frames(t, r, c)) and is read whole: %llu bytes, "
                       "beyond the memory budget (store it frames(r, c, t), or raise --max-memory)",
                       v->name, (unsigned long long)v->bytes);
    r->info.n_frames = o.n_frames;
    if ((st = km_reader_apply_options(ctx, r, opt)) != KM_OK)
        return st;
    km_vars_note_assumed(r, &o);
    return KM_OK;
}

/* ---- frames ---- */

static km_status mat_read(km_ctx *ctx, km_reader *r, float *frames, double *times, int64_t max_frames,
                          int64_t *n_read)
{
    return km_array_read(ctx, r, &((mat_impl *)r->impl)->arr, frames, times, max_frames, n_read);
}
