/* Frames and metadata from a file of named arrays: the variables of a
 * MAT-file (read_matlab.c, read_mat73.c) or the arrays of a NumPy .npz
 * archive (read_npz.c).  One rule for all (docs/FORMAT.md 1.8, 1.10): the
 * frames are the array `frames`, else a struct's field `frames` (a
 * MAT-file's s.frames, rec.data.frames), else the only 3-D numeric one,
 * else the only numeric matrix; `time` gives the times and the time axis;
 * scalars and strings named as the session's attributes give the metadata;
 * `mask` the valid taxels.  Each such name is looked up nearest the frames
 * first (find_near). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mat_internal.h"
#include "reader_internal.h"

#define VARS_SMALL_BYTES (1 << 20) /* time, mask, scalars, strings: read whole at open */

const char *km_var_class(const mat_var *v)
{
    static const char *const names[] = {"?", "cell", "struct", "object", "char", "sparse", "double",
                                        "single", "int8", "uint8", "int16", "uint16", "int32",
                                        "uint32", "int64", "uint64"};
    if (v->descr[0] != '\0')
        return v->descr;
    return v->complex_ ? "complex" : v->cls < sizeof names / sizeof names[0] ? names[v->cls] : "function";
}

int km_var_numeric(const mat_var *v)
{
    return v->cls >= MX_DOUBLE && v->cls <= MX_UINT64 && !v->complex_;
}

km_status km_vars_append(km_ctx *ctx, km_reader *r, mat_var **vars, size_t *n, const mat_var *v)
{
    if (*n == KM_VARS_MAX)
        return km_fail(ctx, KM_ERR_LIMIT, "more than %d variables", KM_VARS_MAX);
    if (*n % 64 == 0) {
        mat_var *grown = km_reader_alloc(r, (*n + 64) * sizeof *grown);
        if (grown == NULL)
            return km_fail(ctx, KM_ERR_NOMEM, "out of memory for the variable list");
        if (*n > 0)
            memcpy(grown, *vars, *n * sizeof *grown);
        km_reader_release(r, *vars);
        *vars = grown;
    }
    (*vars)[(*n)++] = *v;
    return KM_OK;
}

const mat_var *km_vars_find(const km_varset *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].name, name) == 0)
            return &s->v[i];
    return NULL;
}

static void shape_text(const mat_var *v, char *buf, size_t cap)
{
    if (v->nd == 0) /* a .npz member whose header was not read */
        snprintf(buf, cap, "%s", km_var_class(v));
    else if (v->nd == 99)
        snprintf(buf, cap, "%s, more than 3-D", km_var_class(v));
    else if (v->nd == 3)
        snprintf(buf, cap, "%llu x %llu x %llu %s", (unsigned long long)v->dims[0],
                 (unsigned long long)v->dims[1], (unsigned long long)v->dims[2], km_var_class(v));
    else
        snprintf(buf, cap, "%llu x %llu %s", (unsigned long long)v->dims[0], (unsigned long long)v->dims[1],
                 km_var_class(v));
}

/* The last part of a name (fs of s.meta.fs) and the length of its struct's
   path before it (s.meta: 6; 0 at the top level). */
static const char *last_part(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot != NULL ? dot + 1 : name;
}

static size_t path_len(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot != NULL ? (size_t)(dot - name) : 0;
}

static int path_depth(const char *p, size_t n)
{
    int d = n > 0;
    for (size_t i = 0; i < n; i++)
        d += p[i] == '.';
    return d;
}

/* Struct steps between two structs' paths: up from a to the struct holding
   both, then down to b (rec -> rec.meta: 1; rec.data -> rec.meta: 2). */
static int steps(const char *a, size_t an, const char *b, size_t bn)
{
    size_t k = 0, common = 0;
    while (k < an && k < bn && a[k] == b[k]) {
        k++;
        if ((k == an || a[k] == '.') && (k == bn || b[k] == '.'))
            common = k;
    }
    return path_depth(a, an) + path_depth(b, bn) - 2 * path_depth(a, common);
}

/* Do two arrays hold the same values (numbers as numbers: a double 100 and
   a uint8 100 are the same)? */
static km_status same_values(km_ctx *ctx, km_reader *r, const km_varset *s, const mat_var *a,
                             const mat_var *b, int *same);

/* Does name count for the frames: at the top level, in the top-level
   struct that holds the frames (rec.meta.fs for rec.data.frames), or in any
   struct when the frames are a top-level variable?  Another struct's fields
   are header entries only. */
static int in_reach(const km_varset *s, const char *name)
{
    const char *top = strchr(s->group, '.'), *dot = strchr(name, '.');
    size_t n = top != NULL ? (size_t)(top - s->group) : 0;
    return s->group_len == 0 || dot == NULL || ((size_t)(dot - name) == n && strncmp(name, s->group, n) == 0);
}

/* The array named `key` for the frames (time, mask, units, fs, ...): among
   the arrays of that name in reach (in_reach), the nearest to the frames'
   struct in struct steps (for rec.frames: rec.fs 0, rec.meta.fs and a
   top-level fs 1, rec.meta.cal.fs 2; docs/FORMAT.md 1.8).  Two as near with
   different values: an error naming both, never a silent pick.  *out NULL
   when there is none. */
static km_status find_near(km_ctx *ctx, km_reader *r, const km_varset *s, const char *key, const mat_var **out)
{
    size_t gl = s->group_len > 0 ? s->group_len - 1 : 0;
    const mat_var *best = NULL;
    int bd = 0;
    *out = NULL;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < s->n; i++) {
            const mat_var *v = &s->v[i];
            if (v == best || strcmp(last_part(v->name), key) != 0 || !in_reach(s, v->name))
                continue;
            int d = steps(s->group, gl, v->name, path_len(v->name)), same = 0;
            km_status st;
            if (pass == 0 && (best == NULL || d < bd)) {
                best = v;
                bd = d;
            } else if (pass == 1 && d == bd) {
                if ((st = same_values(ctx, r, s, best, v, &same)) != KM_OK)
                    return st;
                if (!same)
                    return km_fail(ctx, KM_ERR_FORMAT,
                                   "%ss %s and %s: two `%s` as near the frames (%s), with different values "
                                   "(keep one, or put the one meant beside the frames)",
                                   s->noun, best->name, v->name, key, s->group);
            }
        }
    *out = best;
    return KM_OK;
}

km_status km_vars_choose_frames(km_ctx *ctx, km_varset *s, const mat_var **out)
{
    const mat_var *v = km_vars_find(s, "frames"), *pick[2] = {NULL, NULL};
    char list[512] = "", one[160];
    size_t n3 = 0, n2 = 0, nf = 0;
    for (size_t i = 0; v == NULL && i < s->n; i++) /* a struct's field `frames` (s.frames, rec.data.frames) */
        if (path_len(s->v[i].name) > 0 && strcmp(last_part(s->v[i].name), "frames") == 0)
            pick[0] = nf++ == 0 ? &s->v[i] : pick[0];
    if (v == NULL && nf == 1)
        v = pick[0];
    if (v == NULL) {
        for (size_t i = 0; i < s->n; i++) {
            const mat_var *c = &s->v[i];
            if (!km_var_numeric(c) || c->nd == 99)
                continue;
            if (c->nd == 3 && c->dims[2] > 1)
                pick[0] = n3++ == 0 ? c : pick[0];
            else if (c->dims[0] > 1 && c->dims[1] > 1)
                pick[1] = n2++ == 0 ? c : pick[1];
        }
        v = n3 == 1 ? pick[0] : n3 == 0 && n2 == 1 ? pick[1] : NULL;
    }
    if (v == NULL) {
        const char *array = NULL; /* a struct array: its elements' fields are not read */
        const char *deep = NULL;  /* a struct below the levels opened: listed, not opened */
        for (size_t i = 0; i < s->n; i++) {
            shape_text(&s->v[i], one, sizeof one);
            size_t len = strlen(list);
            if (len + strlen(one) + strlen(s->v[i].name) + 8 < sizeof list)
                snprintf(list + len, sizeof list - len, "%s%s [%s]", len ? ", " : "", s->v[i].name, one);
            if (s->v[i].cls == MX_STRUCT && s->v[i].n != 1 && array == NULL)
                array = s->v[i].name;
            if (s->v[i].cls == MX_STRUCT && s->v[i].n == 1 && deep == NULL &&
                path_depth(s->v[i].name, strlen(s->v[i].name)) > KM_MAT_STRUCT_DEPTH)
                deep = s->v[i].name;
        }
        char note[512] = "";
        if (array != NULL)
            snprintf(note, sizeof note, "; the fields of a struct array are not read (%.40s: save one element, "
                     "s = %.40s(1), or its frames as a variable)", array, array);
        if (deep != NULL && strlen(note) < sizeof note / 2)
            snprintf(note + strlen(note), sizeof note - strlen(note),
                     "; structs are opened %d levels deep, so the fields of %.120s are not read "
                     "(save its frames higher up, or as a variable)", KM_MAT_STRUCT_DEPTH, deep);
        return km_fail(ctx, KM_ERR_FORMAT, "no %s `frames`%s%s; the file holds %s%s (%s)", s->noun,
                       nf > 1 ? ", more than one struct with a field `frames`" : "",
                       n3 > 1 ? " and more than one 3-D array" : " and no single 3-D array",
                       s->n ? list : "nothing", note, s->hint);
    }
    shape_text(v, one, sizeof one);
    if (!km_var_numeric(v) || v->nd == 99)
        return km_fail(ctx, v->nd == 99 || v->cls == MX_CHAR ? KM_ERR_FORMAT : KM_ERR_UNSUPPORTED,
                       "%s %s is %s: frames are a real numeric array of 3 dimensions (or one frame of 2)",
                       s->noun, v->name, one);
    if (v->n == 0)
        return km_fail(ctx, KM_ERR_FORMAT, "%s %s is empty (%s)", s->noun, v->name, one);
    if (km_mat_type_size(v->type) == 0)
        return km_fail(ctx, KM_ERR_FORMAT, "%s %s (%s) is stored as a type knotmap does not read", s->noun,
                       v->name, one);
    s->group = v->name;
    s->group_len = path_len(v->name) > 0 ? path_len(v->name) + 1 : 0;
    *out = v;
    return KM_OK;
}

/* A small array's values, read whole (NULL and an error beyond
   VARS_SMALL_BYTES). */
static unsigned char *small_values(km_ctx *ctx, km_reader *r, const km_varset *s, const mat_var *v,
                                   km_status *st)
{
    unsigned char *buf;
    if (km_mat_type_size(v->type) == 0) { /* v7.3: a crafted HDF5 type (a 2 GB float) */
        *st = km_fail(ctx, KM_ERR_FORMAT, "%s %s is stored as a type knotmap does not read", s->noun, v->name);
        return NULL;
    }
    if (v->bytes > VARS_SMALL_BYTES) {
        *st = km_fail(ctx, KM_ERR_LIMIT, "%s %s: %llu bytes, more than knotmap reads for it", s->noun, v->name,
                      (unsigned long long)v->bytes);
        return NULL;
    }
    buf = km_reader_alloc(r, (size_t)v->bytes + 1);
    if (buf == NULL) {
        *st = km_fail(ctx, KM_ERR_NOMEM, "out of memory for %s %s", s->noun, v->name);
        return NULL;
    }
    *st = s->values(ctx, s->src, v, buf);
    if (*st != KM_OK) {
        km_reader_release(r, buf);
        return NULL;
    }
    return buf;
}

/* A string's text: printable ASCII, '?' for the rest, ended at a NUL (numpy
   pads a string to its array's width with NULs). */
static void string_text(const mat_var *v, const unsigned char *b, char *text, size_t cap)
{
    size_t k;
    for (k = 0; k < v->n && k + 1 < cap; k++) {
        double c = km_mat_elem(b, k, v->type, v->swap);
        if (c == 0)
            break;
        text[k] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    text[k] = '\0';
}

static km_status same_values(km_ctx *ctx, km_reader *r, const km_varset *s, const mat_var *a,
                             const mat_var *b, int *same)
{
    km_status st = KM_OK;
    unsigned char *va = NULL, *vb = NULL;
    *same = a->n == b->n && (a->cls == MX_CHAR) == (b->cls == MX_CHAR) && km_var_numeric(a) == km_var_numeric(b) &&
            (km_var_numeric(a) || a->cls == MX_CHAR) && km_mat_type_size(a->type) > 0 &&
            km_mat_type_size(b->type) > 0;
    if (!*same)
        return KM_OK;
    if ((va = small_values(ctx, r, s, a, &st)) != NULL && (vb = small_values(ctx, r, s, b, &st)) != NULL)
        for (size_t k = 0; k < a->n && *same; k++)
            *same = km_mat_elem(va, k, a->type, a->swap) == km_mat_elem(vb, k, b->type, b->swap);
    km_reader_release(r, va);
    km_reader_release(r, vb);
    return st;
}

/* Is v the array its name gives the frames (find_near)? */
static km_status chosen(km_ctx *ctx, km_reader *r, const km_varset *s, const mat_var *v, int *yes)
{
    const mat_var *c;
    km_status st = find_near(ctx, r, s, last_part(v->name), &c);
    *yes = st == KM_OK && c == v;
    return st;
}

static km_status apply_number(km_ctx *ctx, km_reader *r, const km_varset *s, const mat_var *v, double x)
{
    static const char *const NUMBERS[] = {"frame_rate_hz", "row_pitch_mm", "col_pitch_mm",
                                          "roller_radius_mm", "saturation"};
    double *dst[] = {&r->info.frame_rate_hz, &r->info.row_pitch_mm, &r->info.col_pitch_mm,
                     &r->info.roller_radius_mm, &r->info.saturation};
    const char *key = last_part(v->name);
    int yes = 0;
    km_status st;
    for (size_t k = 0; k < sizeof NUMBERS / sizeof NUMBERS[0]; k++)
        if (strcmp(key, NUMBERS[k]) == 0) {
            if ((st = chosen(ctx, r, s, v, &yes)) != KM_OK || !yes)
                return st;
            if (!(isfinite(x) && x > 0))
                return km_fail(ctx, KM_ERR_FORMAT, "%s %s = %g: expected a positive number", s->noun, v->name, x);
            *dst[k] = x;
            if (k == 0)
                km_reader_rate_from(r, "%s %s = %g", s->noun, v->name, x);
            else if (k <= 2)
                km_reader_pitch_from(r, k == 2, "%s %s = %g", s->noun, v->name, x);
        }
    return KM_OK;
}

static km_status apply_string(km_ctx *ctx, km_reader *r, const km_varset *s, const mat_var *v, const char *text)
{
    const char *key = last_part(v->name);
    int yes = 0;
    km_status st;
    if (strcmp(key, "units") != 0 && strcmp(key, "mode") != 0)
        return KM_OK;
    if ((st = chosen(ctx, r, s, v, &yes)) != KM_OK || !yes)
        return st;
    if (strcmp(key, "units") == 0) {
        /* the unit table every reader reads (KPa, N/cm^2 as Tekscan writes
           them; psi, Pa, MPa read converted to kPa by km_reader_read) */
        double scale;
        char list[96];
        const char *u = km_units_from_file(text, &scale);
        km_units_list(list, sizeof list);
        if (u == NULL)
            return km_fail(ctx, KM_ERR_FORMAT, "%s %s = '%s': knotmap reads %s", s->noun, v->name, text, list);
        snprintf(r->info.units, sizeof r->info.units, "%s", u);
        km_reader_units_from(r, text, NULL);
    } else {
        if (strcmp(text, "mat") != 0 && strcmp(text, "roller") != 0)
            return km_fail(ctx, KM_ERR_FORMAT, "%s %s = '%s': expected mat or roller", s->noun, v->name, text);
        r->info.mode = strcmp(text, "roller") == 0 ? KM_MODE_ROLLER : KM_MODE_MAT;
    }
    return KM_OK;
}

/* A MATLAB string object (class string: its text lives in the file's
   #subsystem#, which knotmap does not read). */
static int string_object(const mat_var *v)
{
    return (v->cls == MX_OBJECT || v->cls == MX_OPAQUE) && strcmp(v->descr, "string") == 0;
}

km_status km_vars_read_scalars(km_ctx *ctx, km_reader *r, const km_varset *s, km_orient *o)
{
    km_status st = KM_OK;
    o->n_strings = 0;
    for (size_t i = 0; i < s->n && st == KM_OK; i++) {
        const mat_var *v = &s->v[i];
        char text[260];
        unsigned char *b;
        size_t es = km_mat_type_size(v->type);
        if (string_object(v)) { /* said (assumed "string") and named in the header, not read */
            snprintf(text, sizeof text, "(a MATLAB string, not read: save char(%.200s))", last_part(v->name));
            o->n_strings++;
            st = km_reader_add_header(ctx, r, v->name, text);
            continue;
        }
        if (v->nd == 99 || v->complex_ || !(km_var_numeric(v) ? v->n == 1 : v->cls == MX_CHAR && v->n < 256) ||
            es == 0)
            continue;
        if ((b = small_values(ctx, r, s, v, &st)) == NULL)
            return st;
        if (km_var_numeric(v)) {
            double x = km_mat_elem(b, 0, v->type, v->swap);
            snprintf(text, sizeof text, "%.17g", x);
            st = apply_number(ctx, r, s, v, x);
        } else {
            string_text(v, b, text, sizeof text);
            st = apply_string(ctx, r, s, v, text);
        }
        km_reader_release(r, b);
        if (st == KM_OK)
            st = km_reader_add_header(ctx, r, v->name, text);
    }
    return st;
}

/* A vector of numbers as long as n (a row or a column: 1 x n, n x 1, numpy's (n,)). */
static int vector_of(const mat_var *v, uint64_t n)
{
    return v != NULL && km_var_numeric(v) && !v->complex_ && v->nd == 2 && (v->dims[0] == 1 || v->dims[1] == 1) &&
           v->n == n;
}

/* The frames' times: `time` (find_near), else a vector named like a time
   (km_time_name: t, times, ...) as long as one end dimension of 3-D frames
   (one frame: 1), *named then 1.  Several so named: the same values, else
   an error naming two (never a silent pick); one whose length agrees with
   no end dimension is not a time (a t for a thickness). */
static km_status find_time(km_ctx *ctx, km_reader *r, const km_varset *s, const mat_var *f, const mat_var **t,
                           int *named)
{
    km_status st = find_near(ctx, r, s, "time", t);
    *named = 0;
    for (int32_t k = 0; st == KM_OK && *t == NULL && km_time_name(k) != NULL; k++) {
        const mat_var *v;
        int same = 1;
        if ((st = find_near(ctx, r, s, km_time_name(k), &v)) != KM_OK || v == NULL)
            continue;
        if (f->nd == 3 ? !vector_of(v, f->dims[0]) && !vector_of(v, f->dims[2]) : !vector_of(v, 1))
            continue;
        for (int32_t j = k + 1; km_time_name(j) != NULL && same && st == KM_OK; j++) {
            const mat_var *w;
            if ((st = find_near(ctx, r, s, km_time_name(j), &w)) == KM_OK && w != NULL && vector_of(w, v->n) &&
                (st = same_values(ctx, r, s, v, w, &same)) == KM_OK && !same)
                st = km_fail(ctx, KM_ERR_FORMAT, "%ss %s and %s are both named like the frames' times, as long "
                             "as the frames, and disagree: which is it? (save it as time)", s->noun, v->name,
                             w->name);
        }
        *t = v;
        *named = 1;
    }
    return st;
}

km_status km_vars_orient(km_ctx *ctx, km_reader *r, const km_varset *s, const mat_var *f,
                         const km_read_options *opt, km_orient *o)
{
    const mat_var *t;
    km_status st = find_time(ctx, r, s, f, &t, &o->time_named);
    o->time = t;
    if (st != KM_OK)
        return st;
    uint64_t d0 = f->dims[0], d2 = f->dims[2];
    int64_t tn = t != NULL && km_var_numeric(t) && t->nd == 2 && (t->dims[0] == 1 || t->dims[1] == 1) ? (int64_t)t->n
                                                                                                     : -1;
    int t0 = tn >= 0 && (uint64_t)tn == d0, t2 = tn >= 0 && (uint64_t)tn == d2;
    o->guessed = 0;
    if (f->nd == 2) {
        o->time_first = 0;
        d2 = 1;
    } else if (opt->time_axis >= 0) {
        o->time_first = opt->time_axis == 0;
    } else if (t0 != t2) { /* the time vector's length */
        o->time_first = t0;
    } else if (t0) { /* as long as both ends (T x R x T): not told by the file; the writer's own order */
        o->time_first = s->numpy;
        o->guessed = 1;
    } else if (s->numpy && (d0 == 1) != (d2 == 1)) {
        /* numpy's [1, R, C] or [R, C, 1]: one frame (frames[None], a recording
           of one frame), not R or C frames of a grid one taxel wide (since
           session 45); MATLAB's [1, C, T] is a one-row sensor's frames */
        o->time_first = d0 == 1;
        o->guessed = 1;
    } else {
        o->time_first = d0 > d2 || (d0 == d2 && s->numpy);
        o->guessed = 1;
    }
    o->n_frames = (int64_t)(o->time_first ? d0 : d2);
    if (t != NULL && tn != o->n_frames)
        return km_fail(ctx, KM_ERR_FORMAT, "%s %s has %lld values but %s has %lld frames (%s)", s->noun, t->name,
                       (long long)t->n, f->name, (long long)o->n_frames,
                       s->numpy ? (o->time_first ? "[T, R, C]" : "[R, C, T]")
                                    : (o->time_first ? "frames(t, r, c)" : "frames(r, c, t)"));
    return o->time_first ? km_reader_set_geometry(ctx, r, (int64_t)f->dims[1], (int64_t)f->dims[2])
                         : km_reader_set_geometry(ctx, r, (int64_t)f->dims[0], (int64_t)f->dims[1]);
}

static km_status read_time_vector(km_ctx *ctx, km_reader *r, const km_varset *s, const km_orient *o,
                                  double **time)
{
    const mat_var *t = o->time;
    const int64_t n_frames = o->n_frames;
    km_status st = KM_OK;
    unsigned char *b;
    double *tm;
    *time = NULL;
    if (t == NULL)
        return KM_OK;
    if (o->time_named && (st = km_reader_add_header(ctx, r, "time from", t->name)) != KM_OK)
        return st;
    if ((b = small_values(ctx, r, s, t, &st)) == NULL)
        return st;
    tm = km_reader_alloc(r, (size_t)n_frames * sizeof *tm);
    if (tm == NULL)
        st = km_fail(ctx, KM_ERR_NOMEM, "out of memory for the times");
    for (int64_t i = 0; st == KM_OK && i < n_frames; i++) {
        tm[i] = km_mat_elem(b, (size_t)i, t->type, t->swap);
        if (!isfinite(tm[i]) || (i > 0 && tm[i] < tm[i - 1]))
            st = km_fail(ctx, KM_ERR_FORMAT, "time(%lld) = %g is %s (times must be finite and non-decreasing)",
                         (long long)i + 1, tm[i], isfinite(tm[i]) ? "smaller than the one before" : "not finite");
    }
    km_reader_release(r, b);
    if (st != KM_OK) {
        km_reader_release(r, tm);
        return st;
    }
    if (r->info.frame_rate_hz == 0)
        r->info.frame_rate_hz = km_reader_times_rate(r, n_frames, tm[0], tm[n_frames - 1], 1, "%s %s", s->noun,
                                                     t->name);
    *time = tm;
    return KM_OK;
}

/* With no frame_rate_hz, no `time` giving the rate and no rate given, a
   plausible number under a name like a sampling rate's (km_rate_name: the
   one list of every reader; several: all equal, else an error naming two)
   is taken as the rate
   (o->rate_named: the reader notes "rate_name" as assumed; docs/FORMAT.md 1.8). */
static km_status rate_by_name(km_ctx *ctx, km_reader *r, const km_varset *s, km_orient *o)
{
    double rate = 0;
    const mat_var *first = NULL;
    for (int32_t k = 0; km_rate_name(k) != NULL; k++) {
        const mat_var *v;
        km_status st = find_near(ctx, r, s, km_rate_name(k), &v);
        unsigned char *b;
        double x;
        if (st != KM_OK)
            return st;
        if (v == NULL || v->nd == 99 || v->complex_ || !km_var_numeric(v) || v->n != 1 ||
            km_mat_type_size(v->type) == 0)
            continue;
        if ((b = small_values(ctx, r, s, v, &st)) == NULL)
            return st;
        x = km_mat_elem(b, 0, v->type, v->swap);
        km_reader_release(r, b);
        if (!km_reader_rate_plausible(x))
            return KM_OK; /* not a rate (fs = 0, a size?): the file does not say */
        if (rate > 0 && x != rate) /* two that disagree: never a silent pick */
            return km_fail(ctx, KM_ERR_FORMAT, "%ss %s = %g and %s = %g are both named like a frame rate "
                           "and disagree: which is it? (pass --rate HZ, or save frame_rate_hz)", s->noun,
                           first->name, rate, v->name, x);
        rate = x;
        first = v;
    }
    if (rate > 0) {
        r->info.frame_rate_hz = rate;
        km_reader_rate_from(r, "%s %s = %g", s->noun, first->name, rate);
        o->rate_named = 1;
    }
    return KM_OK;
}

km_status km_vars_read_time(km_ctx *ctx, km_reader *r, const km_varset *s, const km_read_options *opt,
                            km_orient *o, double **time)
{
    km_status st = read_time_vector(ctx, r, s, o, time);
    o->rate_named = 0;
    if (st == KM_OK && r->info.frame_rate_hz == 0 && !(opt->frame_rate_hz > 0))
        st = rate_by_name(ctx, r, s, o);
    if (st != KM_OK) {
        km_reader_release(r, *time);
        *time = NULL;
    }
    return st;
}

km_status km_vars_read_mask(km_ctx *ctx, km_reader *r, const km_varset *s)
{
    const mat_var *v;
    km_status st = find_near(ctx, r, s, "mask", &v);
    unsigned char *b;
    int64_t R = r->info.rows, C = r->info.cols, n_valid = 0;
    if (st != KM_OK || v == NULL)
        return st;
    if (!km_var_numeric(v) || v->nd != 2 || v->dims[0] != (uint64_t)R || v->dims[1] != (uint64_t)C)
        return km_fail(ctx, KM_ERR_FORMAT, "%s %s is %llu x %llu %s but frames are %lld x %lld", s->noun,
                       v->name, (unsigned long long)v->dims[0], (unsigned long long)v->dims[1], km_var_class(v),
                       (long long)R, (long long)C);
    if ((b = small_values(ctx, r, s, v, &st)) == NULL)
        return st;
    for (int64_t i = 0; i < R; i++)
        for (int64_t j = 0; j < C; j++) {
            size_t at = v->row_major ? (size_t)(i * C + j) : (size_t)(i + R * j);
            r->mask[i * C + j] = km_mat_elem(b, at, v->type, v->swap) != 0;
            n_valid += r->mask[i * C + j];
        }
    r->info.n_valid = (int32_t)n_valid;
    km_reader_release(r, b);
    return KM_OK;
}

void km_vars_strides(km_array *a, const mat_var *f, const km_orient *o)
{
    int64_t d0 = (int64_t)f->dims[0], d1 = (int64_t)f->dims[1], d2 = f->nd == 3 ? (int64_t)f->dims[2] : 1;
    int64_t s0 = f->row_major ? d1 * d2 : 1, s1 = f->row_major ? d2 : d0, s2 = f->row_major ? 1 : d0 * d1;
    a->T = o->n_frames;
    a->R = o->time_first ? d1 : d0;
    a->C = o->time_first ? d2 : d1;
    a->st = o->time_first ? s0 : s2;
    a->sr = o->time_first ? s1 : s0;
    a->sc = o->time_first ? s2 : s1;
    if (f->nd != 3) /* one frame */
        a->st = a->R * a->C;
    a->type = f->type;
    a->swap = f->swap;
    a->name = f->name;
}

void km_vars_note_assumed(km_reader *r, const km_orient *o)
{
    if (o->guessed)
        km_reader_note_assumed(r, "time_axis");
    if (o->rate_named)
        km_reader_note_assumed(r, "rate_name");
    if (o->time_named)
        km_reader_note_assumed(r, "time_name");
    if (o->n_strings > 0)
        km_reader_note_assumed(r, "string");
}
