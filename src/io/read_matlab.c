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
 * HDF5: read_session.c.) */
#define _POSIX_C_SOURCE 200809L /* fseeko, fileno */
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mat_internal.h"
#include "reader_internal.h"

#define MAT_MAX_VARS 4096
#define MAT_SMALL_BYTES (1 << 20) /* time, mask, scalars, strings: read whole at open */

typedef struct mat_impl {
    FILE *f;
    int swap;              /* the file is big-endian */
    mat_var *vars;
    size_t n_vars;
    mat_var frames;
    int time_first;        /* frames(t, r, c) rather than frames(r, c, t) */
    int64_t n_frames;
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

static const char *class_name(const mat_var *v)
{
    static const char *const names[] = {"?", "cell", "struct", "object", "char", "sparse", "double",
                                        "single", "int8", "uint8", "int16", "uint16", "int32",
                                        "uint32", "int64", "uint64"};
    return v->complex_ ? "complex" : v->cls < sizeof names / sizeof names[0] ? names[v->cls] : "function";
}

static int numeric(const mat_var *v)
{
    return v->cls >= MX_DOUBLE && v->cls <= MX_UINT64 && !v->complex_;
}

/* ---- the scan ---- */

static km_status scan(km_ctx *ctx, km_reader *r, mat_impl *m, uint64_t size)
{
    uint64_t off = 128;
    mat_src s;
    km_status st = KM_OK;
    memset(&s, 0, sizeof s);
    while (st == KM_OK && off + 8 <= size) {
        unsigned char tag[8];
        mat_var v;
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
        v.elem_off = off;
        v.elem_bytes = bytes;
        v.compressed = type == MI_COMPRESSED;
        st = km_mat_src_begin(ctx, &s, m->f, v.compressed ? off + 8 : off, v.compressed ? bytes : bytes + 8,
                              v.compressed);
        if (st == KM_OK)
            st = km_mat_read_header(ctx, &s, m->swap, &v);
        /* Deflate expands at most 1032:1: a stream that claims more is crafted. */
        if (st == KM_OK && v.compressed && v.bytes / 1032 > bytes)
            st = km_fail(ctx, KM_ERR_FORMAT, "variable %s (byte %llu) declares %llu bytes from %llu compressed",
                         v.name, (unsigned long long)off, (unsigned long long)v.bytes, (unsigned long long)bytes);
        if (st == KM_OK && !v.compressed && !v.is_small && v.data_pos + v.bytes > bytes + 8)
            st = km_fail(ctx, KM_ERR_FORMAT, "variable %s (byte %llu): %llu bytes of values in a %llu-byte element",
                         v.name, (unsigned long long)off, (unsigned long long)v.bytes, (unsigned long long)bytes);
        if (st == KM_OK && v.name[0] != '\0') {
            if (m->n_vars == MAT_MAX_VARS) {
                st = km_fail(ctx, KM_ERR_LIMIT, "more than %d variables", MAT_MAX_VARS);
                break;
            }
            if (m->n_vars % 64 == 0) {
                mat_var *grown = km_reader_alloc(r, (m->n_vars + 64) * sizeof *grown);
                if (grown == NULL) {
                    st = km_fail(ctx, KM_ERR_NOMEM, "out of memory for the variable list");
                    break;
                }
                if (m->n_vars > 0)
                    memcpy(grown, m->vars, m->n_vars * sizeof *grown);
                km_reader_release(r, m->vars);
                m->vars = grown;
            }
            m->vars[m->n_vars++] = v;
        }
        off += 8 + bytes;
    }
    km_mat_src_end(&s); /* fewer than 8 bytes after the last element: padding, ignored */
    return st;
}

static const mat_var *find(const mat_impl *m, const char *name)
{
    for (size_t i = 0; i < m->n_vars; i++)
        if (strcmp(m->vars[i].name, name) == 0)
            return &m->vars[i];
    return NULL;
}

static void shape_text(const mat_var *v, char *buf, size_t cap)
{
    if (v->nd == 99)
        snprintf(buf, cap, "%s, more than 3-D", class_name(v));
    else if (v->nd == 3)
        snprintf(buf, cap, "%llu x %llu x %llu %s", (unsigned long long)v->dims[0],
                 (unsigned long long)v->dims[1], (unsigned long long)v->dims[2], class_name(v));
    else
        snprintf(buf, cap, "%llu x %llu %s", (unsigned long long)v->dims[0], (unsigned long long)v->dims[1],
                 class_name(v));
}

/* The frames: the variable `frames`, else the only 3-D numeric one, else the
   only numeric matrix (both dimensions > 1: one frame). */
static km_status choose_frames(km_ctx *ctx, mat_impl *m)
{
    const mat_var *v = find(m, "frames"), *pick[2] = {NULL, NULL};
    char list[512] = "", one[128];
    size_t n3 = 0, n2 = 0;
    if (v == NULL) {
        for (size_t i = 0; i < m->n_vars; i++) {
            const mat_var *c = &m->vars[i];
            if (!numeric(c) || c->nd == 99)
                continue;
            if (c->nd == 3 && c->dims[2] > 1)
                pick[0] = n3++ == 0 ? c : pick[0];
            else if (c->dims[0] > 1 && c->dims[1] > 1)
                pick[1] = n2++ == 0 ? c : pick[1];
        }
        v = n3 == 1 ? pick[0] : n3 == 0 && n2 == 1 ? pick[1] : NULL;
    }
    if (v == NULL) {
        for (size_t i = 0; i < m->n_vars; i++) {
            shape_text(&m->vars[i], one, sizeof one);
            size_t len = strlen(list);
            if (len + strlen(one) + 80 < sizeof list)
                snprintf(list + len, sizeof list - len, "%s%s [%s]", len ? ", " : "", m->vars[i].name, one);
        }
        return km_fail(ctx, KM_ERR_FORMAT,
                       "no variable `frames`%s; the file holds %s (MATLAB: frames = <one of them>; "
                       "save(file, 'frames', ...))",
                       n3 > 1 ? " and more than one 3-D array" : " and no single 3-D array",
                       m->n_vars ? list : "no variable");
    }
    shape_text(v, one, sizeof one);
    if (!numeric(v) || v->nd == 99)
        return km_fail(ctx, v->nd == 99 || v->cls == MX_CHAR ? KM_ERR_FORMAT : KM_ERR_UNSUPPORTED,
                       "variable %s is %s: frames are a real numeric array R x C x T", v->name, one);
    if (v->n == 0)
        return km_fail(ctx, KM_ERR_FORMAT, "variable %s is empty (%s)", v->name, one);
    m->frames = *v;
    return KM_OK;
}

/* A small variable's values, read whole (NULL and an error beyond
   MAT_SMALL_BYTES). */
static unsigned char *small_values(km_ctx *ctx, km_reader *r, mat_impl *m, const mat_var *v, km_status *st)
{
    mat_src s;
    unsigned char *buf;
    if (v->bytes > MAT_SMALL_BYTES) {
        *st = km_fail(ctx, KM_ERR_LIMIT, "variable %s: %llu bytes, more than knotmap reads for it", v->name,
                      (unsigned long long)v->bytes);
        return NULL;
    }
    buf = km_reader_alloc(r, (size_t)v->bytes + 1);
    if (buf == NULL) {
        *st = km_fail(ctx, KM_ERR_NOMEM, "out of memory for variable %s", v->name);
        return NULL;
    }
    memset(&s, 0, sizeof s);
    *st = km_mat_read_values(ctx, m->f, v, &s, buf);
    km_mat_src_end(&s);
    if (*st != KM_OK) {
        km_reader_release(r, buf);
        return NULL;
    }
    return buf;
}

/* Scalars and strings become header entries; those named as the session's
   attributes (docs/FORMAT.md 1.2) give the metadata. */
static km_status read_scalars(km_ctx *ctx, km_reader *r, mat_impl *m)
{
    static const char *const NUMBERS[] = {"frame_rate_hz", "row_pitch_mm", "col_pitch_mm",
                                          "roller_radius_mm", "saturation"};
    km_status st = KM_OK;
    for (size_t i = 0; i < m->n_vars && st == KM_OK; i++) {
        const mat_var *v = &m->vars[i];
        char text[260];
        unsigned char *b;
        size_t es = km_mat_type_size(v->type);
        if (v->nd == 99 || v->complex_ || !(numeric(v) ? v->n == 1 : v->cls == MX_CHAR && v->n < 256) || es == 0)
            continue;
        if ((b = small_values(ctx, r, m, v, &st)) == NULL)
            return st;
        if (numeric(v)) {
            double x = km_mat_elem(b, 0, v->type, m->swap);
            snprintf(text, sizeof text, "%.17g", x);
            double *dst[] = {&r->info.frame_rate_hz, &r->info.row_pitch_mm, &r->info.col_pitch_mm,
                             &r->info.roller_radius_mm, &r->info.saturation};
            for (size_t k = 0; k < sizeof NUMBERS / sizeof NUMBERS[0]; k++)
                if (strcmp(v->name, NUMBERS[k]) == 0) {
                    if (!(isfinite(x) && x > 0))
                        st = km_fail(ctx, KM_ERR_FORMAT, "variable %s = %g: expected a positive number",
                                     v->name, x);
                    *dst[k] = x;
                }
        } else {
            size_t k;
            for (k = 0; k < v->n; k++) {
                double c = km_mat_elem(b, k, v->type, m->swap);
                text[k] = c >= 0x20 && c < 0x7f ? (char)c : '?';
            }
            text[k] = '\0';
            if (strcmp(v->name, "units") == 0) {
                if (!km_units_known(text))
                    st = km_fail(ctx, KM_ERR_FORMAT, "variable units = '%s': expected kPa, mmHg, N/cm2 or raw", text);
                else
                    memcpy(r->info.units, text, strlen(text) + 1);
            } else if (strcmp(v->name, "mode") == 0) {
                if (strcmp(text, "mat") != 0 && strcmp(text, "roller") != 0)
                    st = km_fail(ctx, KM_ERR_FORMAT, "variable mode = '%s': expected mat or roller", text);
                r->info.mode = strcmp(text, "roller") == 0 ? KM_MODE_ROLLER : KM_MODE_MAT;
            }
        }
        km_reader_release(r, b);
        if (st == KM_OK)
            st = km_reader_add_header(ctx, r, v->name, text);
    }
    return st;
}

/* The time axis: the option, else a `time` vector as long as one end axis,
   else the longer end axis (noted as assumed). */
static km_status orient(km_ctx *ctx, km_reader *r, mat_impl *m, const km_read_options *opt, int *guessed)
{
    const mat_var *f = &m->frames, *t = find(m, "time");
    uint64_t d0 = f->dims[0], d2 = f->dims[2];
    int64_t tn = t != NULL && numeric(t) && t->nd == 2 && (t->dims[0] == 1 || t->dims[1] == 1) ? (int64_t)t->n : -1;
    *guessed = 0;
    if (f->nd == 2) {
        m->time_first = 0;
        d2 = 1;
    } else if (opt->time_axis >= 0) {
        m->time_first = opt->time_axis == 0;
    } else if (tn >= 0 && (uint64_t)tn == d0 && d0 != d2) {
        m->time_first = 1;
    } else if (tn >= 0 && (uint64_t)tn == d2) {
        m->time_first = 0;
    } else {
        m->time_first = d0 > d2;
        *guessed = 1;
    }
    m->n_frames = (int64_t)(m->time_first ? d0 : d2);
    if (t != NULL && tn != m->n_frames)
        return km_fail(ctx, KM_ERR_FORMAT, "variable time has %lld values but frames has %lld frames (%s)",
                       (long long)(t != NULL ? (int64_t)t->n : 0), (long long)m->n_frames,
                       m->time_first ? "frames(t, r, c)" : "frames(r, c, t)");
    return m->time_first ? km_reader_set_geometry(ctx, r, (int64_t)f->dims[1], (int64_t)f->dims[2])
                         : km_reader_set_geometry(ctx, r, (int64_t)f->dims[0], (int64_t)f->dims[1]);
}

static km_status read_time(km_ctx *ctx, km_reader *r, mat_impl *m)
{
    const mat_var *t = find(m, "time");
    km_status st = KM_OK;
    unsigned char *b;
    if (t == NULL)
        return KM_OK;
    if ((b = small_values(ctx, r, m, t, &st)) == NULL)
        return st;
    m->time = km_reader_alloc(r, (size_t)m->n_frames * sizeof *m->time);
    if (m->time == NULL)
        st = km_fail(ctx, KM_ERR_NOMEM, "out of memory for the times");
    for (int64_t i = 0; st == KM_OK && i < m->n_frames; i++) {
        m->time[i] = km_mat_elem(b, (size_t)i, t->type, m->swap);
        if (!isfinite(m->time[i]) || (i > 0 && m->time[i] < m->time[i - 1]))
            st = km_fail(ctx, KM_ERR_FORMAT,
                         "time(%lld) = %g is %s (times must be finite and non-decreasing)", (long long)i + 1,
                         m->time[i], isfinite(m->time[i]) ? "smaller than the one before" : "not finite");
    }
    km_reader_release(r, b);
    if (st == KM_OK && r->info.frame_rate_hz == 0 && m->n_frames > 1 && m->time[m->n_frames - 1] > m->time[0])
        r->info.frame_rate_hz = (double)(m->n_frames - 1) / (m->time[m->n_frames - 1] - m->time[0]);
    return st;
}

static km_status read_mask(km_ctx *ctx, km_reader *r, mat_impl *m)
{
    const mat_var *v = find(m, "mask");
    km_status st = KM_OK;
    unsigned char *b;
    int64_t R = r->info.rows, C = r->info.cols, n_valid = 0;
    if (v == NULL)
        return KM_OK;
    if (!numeric(v) || v->nd != 2 || v->dims[0] != (uint64_t)R || v->dims[1] != (uint64_t)C)
        return km_fail(ctx, KM_ERR_FORMAT, "variable mask is %llu x %llu %s but frames are %lld x %lld",
                       (unsigned long long)v->dims[0], (unsigned long long)v->dims[1], class_name(v),
                       (long long)R, (long long)C);
    if ((b = small_values(ctx, r, m, v, &st)) == NULL)
        return st;
    for (int64_t i = 0; i < R; i++)
        for (int64_t j = 0; j < C; j++) {
            r->mask[i * C + j] = km_mat_elem(b, (size_t)(i + R * j), v->type, m->swap) != 0;
            n_valid += r->mask[i * C + j];
        }
    r->info.n_valid = (int32_t)n_valid;
    km_reader_release(r, b);
    return KM_OK;
}

static km_status read_head(km_ctx *ctx, km_reader *r, mat_impl *m, uint64_t size)
{
    unsigned char h[128];
    char text[117];
    size_t n;
    if (size < 128 || fread(h, 1, 128, m->f) != 128)
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
    memcpy(text, h, 116);
    for (n = 116; n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\0'); n--)
        ;
    text[n] = '\0';
    for (size_t k = 0; k < n; k++)
        if ((unsigned char)text[k] < 0x20 || (unsigned char)text[k] > 0x7e)
            text[k] = '?';
    return km_reader_add_header(ctx, r, "MAT-file", text);
}

km_status km_open_matlab(km_ctx *ctx, km_reader *r, const km_read_options *opt)
{
    struct stat sb;
    mat_impl *m = km_reader_alloc(r, sizeof *m);
    km_status st;
    int guessed;
    if (m == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory");
    memset(m, 0, sizeof *m);
    r->impl = m;
    r->ops = &mat_ops;
    r->info.format = KM_FORMAT_MATLAB;
    m->f = fopen(r->path, "rb");
    if (m->f == NULL || fstat(fileno(m->f), &sb) != 0)
        return km_fail(ctx, KM_ERR_NOT_FOUND, "cannot open the file: %s", strerror(errno));
    if ((st = read_head(ctx, r, m, (uint64_t)sb.st_size)) != KM_OK ||
        (st = scan(ctx, r, m, (uint64_t)sb.st_size)) != KM_OK || (st = choose_frames(ctx, m)) != KM_OK ||
        (st = orient(ctx, r, m, opt, &guessed)) != KM_OK || (st = read_scalars(ctx, r, m)) != KM_OK ||
        (st = read_time(ctx, r, m)) != KM_OK || (st = read_mask(ctx, r, m)) != KM_OK)
        return st;
    const mat_var *v = &m->frames;
    km_array *a = &m->arr;
    a->f = m->f;
    a->off = v->compressed ? v->elem_off + 8 : v->elem_off;
    a->bytes = v->compressed ? v->elem_bytes : v->elem_bytes + 8;
    a->z = v->compressed;
    a->skip = v->data_pos;
    a->type = v->type;
    a->swap = m->swap;
    a->T = m->n_frames;
    a->R = r->info.rows;
    a->C = r->info.cols;
    a->st = m->time_first ? 1 : a->R * a->C; /* column-major: the first dimension fastest */
    a->sr = m->time_first ? a->T : 1;
    a->sc = m->time_first ? a->T * a->R : a->R;
    a->inline_values = v->is_small ? v->small : NULL;
    a->time = m->time;
    a->name = v->name;
    a->at = v->elem_off;
    if (!km_array_streams(a) && m->frames.bytes > km_read_max_memory(opt))
        return km_fail(ctx, KM_ERR_LIMIT,
                       "variable %s is stored time first (frames(t, r, c)) and is read whole: %llu bytes, "
                       "beyond the memory budget (store it frames(r, c, t), or raise --max-memory)",
                       m->frames.name, (unsigned long long)m->frames.bytes);
    r->info.n_frames = m->n_frames;
    if ((st = km_reader_apply_options(ctx, r, opt)) != KM_OK)
        return st;
    if (guessed)
        km_reader_note_assumed(r, "time_axis");
    return KM_OK;
}

/* ---- frames ---- */

static km_status mat_read(km_ctx *ctx, km_reader *r, float *frames, double *times, int64_t max_frames,
                          int64_t *n_read)
{
    return km_array_read(ctx, r, &((mat_impl *)r->impl)->arr, frames, times, max_frames, n_read);
}
