/* Reading the summary of a result (see result_summary.h). */
#define _POSIX_C_SOURCE 200809L

#include "result_summary.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "h5util.h"

#define MAX_TABLE_ROWS ((hsize_t)1 << 27)
#define MAX_TABLE_COLS 64
#define MAX_PAIRS 1024

typedef struct walk {
    km_ctx *ctx;
    km_status st;
    km_table *t;
    hid_t group;
    km_text_pair *pairs;
    size_t n_pairs;
    const char *path, *table; /* a table's: its file and group, for the budget's message */
    uint64_t *left;           /* bytes of the budget the tables may still take; NULL: no limit */
    uint64_t budget;          /* the whole budget */
    hsize_t n_links;          /* the table group's links: its columns at most */
} walk;

/* A table's columns take rows x 8 bytes each: at its first column, what all
   of its declared columns would take must fit in what is left of the budget
   (a small file may declare 2^27 rows of unwritten chunks: gigabytes of
   fill values), else KM_ERR_LIMIT before anything of that size is read. */
static int over_budget(walk *w, hsize_t n)
{
    uint64_t cols = w->n_links < MAX_TABLE_COLS ? (uint64_t)w->n_links : MAX_TABLE_COLS;
    uint64_t need = w->t->n_cols == 0 ? cols * (uint64_t)n * sizeof(double)
                                      : (uint64_t)n * sizeof(double);
    if (w->left == NULL || need <= *w->left) {
        if (w->left != NULL)
            *w->left -= (uint64_t)n * sizeof(double);
        return 0;
    }
    w->st = km_fail(w->ctx, KM_ERR_LIMIT,
                    "%s: %s declares %llu columns of %llu rows: about %.0f MiB to read, beyond "
                    "the memory budget of %.0f MiB (raise it: --max-memory, max_memory=)",
                    w->path, w->table, (unsigned long long)cols, (unsigned long long)n,
                    (double)need / 1048576.0, (double)w->budget / 1048576.0);
    return 1;
}

static int has_link(hid_t loc, const char *name)
{
    return H5Lexists(loc, name, H5P_DEFAULT) > 0;
}

/* One 1-D numeric dataset of a table group: appended to the table when its
 * length matches (the first column sets the length). */
static herr_t add_column(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    walk *w = data;
    km_table *t = w->t;
    hid_t d = H5I_INVALID_HID, type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hsize_t n = 0;
    H5T_class_t cls;
    (void)info;
    if (t->n_cols >= MAX_TABLE_COLS || strlen(name) >= sizeof t->cols[0].name)
        return 0;
    d = H5Dopen2(g, name, H5P_DEFAULT);
    if (d < 0)
        goto done;
    type = H5Dget_type(d);
    cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    space = H5Dget_space(d);
    if ((cls != H5T_FLOAT && cls != H5T_INTEGER) || space < 0 ||
        H5Sget_simple_extent_ndims(space) != 1 || H5Sget_simple_extent_dims(space, &n, NULL) < 0 ||
        n > MAX_TABLE_ROWS)
        goto done;
    if (t->n_cols > 0 && (size_t)n != t->n_rows)
        goto done;
    if (over_budget(w, n))
        goto done;
    km_table_col *c = &t->cols[t->n_cols];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    if (km_h5_attr_get_string(NULL, d, "units", c->units, sizeof c->units) != KM_OK)
        c->units[0] = '\0';
    if (n > 0) {
        c->v = km_alloc(w->ctx, (size_t)n * sizeof(double));
        if (c->v == NULL) {
            w->st = KM_ERR_NOMEM;
            goto done;
        }
        if (km_h5_dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, c->v) < 0) {
            /* a numeric column of the table's length whose chunks cannot be read
               (damaged: km_h5_dread) is the file's error, never left out unsaid */
            char why[200];
            km_status kind = km_h5_error_kind(KM_ERR_FORMAT, why, sizeof why);
            km_free(w->ctx, c->v);
            c->v = NULL;
            w->st = km_fail(w->ctx, kind, "%s: %s/%s cannot be read: %s", w->path, w->table,
                            name, why);
            goto done;
        }
    }
    t->n_rows = (size_t)n;
    t->n_cols++;
done:
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    if (d >= 0)
        H5Dclose(d);
    return w->st == KM_OK ? 0 : -1;
}

static km_status read_table(km_ctx *ctx, hid_t f, const char *path, const char *group,
                           uint64_t *left, uint64_t budget, km_table *t)
{
    walk w;
    hid_t g;
    H5G_info_t gi;
    memset(&w, 0, sizeof w);
    if (!has_link(f, group))
        return KM_OK;
    g = H5Gopen2(f, group, H5P_DEFAULT);
    if (g < 0)
        return KM_OK;
    t->cols = km_calloc(ctx, MAX_TABLE_COLS, sizeof *t->cols);
    if (t->cols == NULL) {
        H5Gclose(g);
        return KM_ERR_NOMEM;
    }
    w.ctx = ctx;
    w.st = KM_OK;
    w.t = t;
    w.path = path;
    w.table = group;
    w.left = left;
    w.budget = budget;
    w.n_links = H5Gget_info(g, &gi) >= 0 ? gi.nlinks : MAX_TABLE_COLS;
    H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, add_column, &w);
    H5Gclose(g);
    return w.st;
}

/* Percent-decoding of an escaped header key (docs/FORMAT.md 2.1):
 * drop a trailing "#<n>", then %XX. */
static void decode_key(const char *in, char *out, size_t cap)
{
    size_t n = strlen(in), k = 0;
    const char *hash = strrchr(in, '#');
    if (hash != NULL && hash[1] != '\0' && strspn(hash + 1, "0123456789") == strlen(hash + 1))
        n = (size_t)(hash - in);
    for (size_t i = 0; i < n && k + 1 < cap; i++) {
        unsigned v;
        if (in[i] == '%' && i + 2 < n + 1 && isxdigit((unsigned char)in[i + 1]) &&
            isxdigit((unsigned char)in[i + 2]) && sscanf(in + i + 1, "%2x", &v) == 1) {
            out[k++] = v == 0 ? ' ' : (char)v;
            i += 2;
        } else {
            out[k++] = in[i];
        }
    }
    out[k] = '\0';
}

static herr_t add_pair(hid_t obj, const char *name, const H5A_info_t *info, void *data)
{
    walk *w = data;
    hid_t a;
    (void)info;
    if (w->n_pairs >= MAX_PAIRS)
        return 1;
    a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0)
        return 0;
    km_text_pair *p = &w->pairs[w->n_pairs++];
    if (w->group == 1)
        decode_key(name, p->key, sizeof p->key);
    else
        snprintf(p->key, sizeof p->key, "%s", name);
    km_h5_attr_text(a, p->value, sizeof p->value);
    H5Aclose(a);
    return 0;
}

/* Attributes of `name` as text pairs; header = 1 decodes the keys and keeps
 * creation order when the file tracks it. */
static km_status read_pairs(km_ctx *ctx, hid_t f, const char *name, int header,
                            km_text_pair **out, size_t *n)
{
    walk w;
    hid_t g;
    hsize_t idx = 0;
    memset(&w, 0, sizeof w);
    *out = NULL;
    *n = 0;
    if (!has_link(f, "/session") && strncmp(name, "/session", 8) == 0)
        return KM_OK;
    if (!has_link(f, name))
        return KM_OK;
    g = H5Oopen(f, name, H5P_DEFAULT);
    if (g < 0)
        return KM_OK;
    if (km_h5_check_attributes(ctx, g) != KM_OK) {
        H5Oclose(g);
        return KM_ERR_FORMAT;
    }
    w.pairs = km_calloc(ctx, MAX_PAIRS, sizeof *w.pairs);
    if (w.pairs == NULL) {
        H5Oclose(g);
        return KM_ERR_NOMEM;
    }
    w.group = header;
    if (!header || H5Aiterate2(g, H5_INDEX_CRT_ORDER, H5_ITER_INC, &idx, add_pair, &w) < 0) {
        w.n_pairs = 0;
        idx = 0;
        H5Aiterate2(g, H5_INDEX_NAME, H5_ITER_INC, &idx, add_pair, &w);
    }
    H5Oclose(g);
    *out = w.pairs;
    *n = w.n_pairs;
    return KM_OK;
}

static void get_text(hid_t obj, const char *name, char *buf, size_t cap)
{
    if (km_h5_attr_get_string(NULL, obj, name, buf, cap) != KM_OK)
        buf[0] = '\0';
}

static double get_num(hid_t obj, const char *name)
{
    double v;
    return km_h5_attr_get_double(NULL, obj, name, &v) == KM_OK ? v : NAN;
}

static const char *header_value(const km_result_summary *s, const char *key)
{
    for (size_t i = 0; i < s->n_header; i++)
        if (strcasecmp(s->header[i].key, key) == 0)
            return s->header[i].value;
    return NULL;
}

/* A recording date from the header: the first key that names a date, and a
 * time of day when one is given apart. */
static void find_recorded(km_result_summary *s)
{
    static const char *const times[] = {"time", "start time", "start_time", "recording time"};
    const char *date = NULL, *tod = NULL;
    for (size_t i = 0; i < s->n_header && date == NULL; i++) {
        char low[96];
        size_t k;
        for (k = 0; s->header[i].key[k] != '\0' && k + 1 < sizeof low; k++)
            low[k] = (char)tolower((unsigned char)s->header[i].key[k]);
        low[k] = '\0';
        if ((strstr(low, "date") != NULL || strcmp(low, "recorded") == 0 ||
             strcmp(low, "recorded_utc") == 0) && s->header[i].value[0] != '\0')
            date = s->header[i].value;
    }
    for (size_t i = 0; i < sizeof times / sizeof times[0] && tod == NULL; i++)
        tod = header_value(s, times[i]);
    if (date == NULL)
        return;
    if (tod != NULL && tod[0] != '\0' && strstr(date, tod) == NULL)
        snprintf(s->recorded, sizeof s->recorded, "%.60s %.60s", date, tod);
    else
        snprintf(s->recorded, sizeof s->recorded, "%.120s", date);
}

static void read_duration(hid_t f, km_result_summary *s)
{
    hid_t d = has_link(f, "/session") && has_link(f, "/session/time")
                  ? H5Dopen2(f, "/session/time", H5P_DEFAULT)
                  : H5I_INVALID_HID;
    hid_t space = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
    hsize_t n = 0;
    s->duration_s = NAN;
    if (space >= 0 && H5Sget_simple_extent_ndims(space) == 1 &&
        H5Sget_simple_extent_dims(space, &n, NULL) >= 0 && n > 0) {
        double ends[2];
        hsize_t coord[2] = {0, n - 1};
        hid_t mem = H5Screate_simple(1, (hsize_t[]){2}, NULL);
        if (mem >= 0 && H5Sselect_elements(space, H5S_SELECT_SET, 2, coord) >= 0 &&
            km_h5_dread(d, H5T_NATIVE_DOUBLE, mem, space, H5P_DEFAULT, ends) >= 0 &&
            isfinite(ends[0]) && isfinite(ends[1]))
            s->duration_s = ends[1] - ends[0] +
                            (s->frame_rate_hz > 0.0 && isfinite(s->frame_rate_hz)
                                 ? 1.0 / s->frame_rate_hz
                                 : 0.0);
        if (mem >= 0)
            H5Sclose(mem);
    }
    if (!isfinite(s->duration_s) && s->n_frames > 0 && s->frame_rate_hz > 0.0)
        s->duration_s = (double)s->n_frames / s->frame_rate_hz;
    if (space >= 0)
        H5Sclose(space);
    if (d >= 0)
        H5Dclose(d);
}

_Static_assert(sizeof(hid_t) == sizeof(int64_t), "hid_t is int64_t (HDF5 1.10)");

int km_result_all_contact(km_ctx *ctx, int64_t file, int64_t n_frames)
{
    hid_t f = (hid_t)file;
    enum { BLOCK = 16384 };
    int all = 0;
    hid_t d = has_link(f, "/metrics") && has_link(f, "/metrics/flags")
                  ? H5Dopen2(f, "/metrics/flags", H5P_DEFAULT)
                  : H5I_INVALID_HID;
    hid_t space = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
    hsize_t n = 0;
    uint32_t *buf = NULL;
    if (space < 0 || H5Sget_simple_extent_ndims(space) != 1 ||
        H5Sget_simple_extent_dims(space, &n, NULL) < 0 || n == 0 || n > MAX_TABLE_ROWS ||
        n != (hsize_t)n_frames || (buf = km_alloc(ctx, BLOCK * sizeof *buf)) == NULL)
        goto done;
    all = 1;
    for (hsize_t at = 0; all && at < n; at += BLOCK) {
        hsize_t k = n - at < BLOCK ? n - at : BLOCK;
        /* its chunks checked first, as every block libhdf5 decodes */
        all = km_h5_read_block(d, H5T_NATIVE_UINT32, 1, &at, &k, buf);
        for (hsize_t i = 0; all && i < k; i++)
            all = (buf[i] & KM_FRAME_ALL_CONTACT) != 0;
    }
done:
    km_free(ctx, buf);
    if (space >= 0)
        H5Sclose(space);
    if (d >= 0)
        H5Dclose(d);
    return all;
}

static km_status read_coverage(km_ctx *ctx, hid_t f, km_result_summary *s)
{
    hid_t d, space;
    hsize_t dims[2];
    km_status st = KM_OK;
    if (!has_link(f, "/bodymap") || !has_link(f, "/bodymap/coverage"))
        return KM_OK;
    d = H5Dopen2(f, "/bodymap/coverage", H5P_DEFAULT);
    if (d < 0)
        return KM_OK;
    space = H5Dget_space(d);
    if (space >= 0 && H5Sget_simple_extent_ndims(space) == 2 &&
        H5Sget_simple_extent_dims(space, dims, NULL) >= 0 && dims[0] > 0 && dims[1] > 0 &&
        km_check_shape(NULL, (int64_t)dims[0], (int64_t)dims[1], "coverage") == KM_OK) {
        size_t n = (size_t)dims[0] * (size_t)dims[1];
        s->coverage = km_alloc(ctx, n * sizeof(int32_t));
        if (s->coverage == NULL)
            st = KM_ERR_NOMEM;
        else if (km_h5_dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, s->coverage) < 0) {
            km_free(ctx, s->coverage);
            s->coverage = NULL;
        } else {
            s->cov_ny = (int32_t)dims[0];
            s->cov_nx = (int32_t)dims[1];
        }
    }
    if (space >= 0)
        H5Sclose(space);
    H5Dclose(d);
    return st;
}

km_status km_result_read_summary(km_ctx *ctx, const char *path, int64_t max_bytes,
                                 int metrics, km_result_summary *s)
{
    km_status st = KM_OK;
    uint64_t left = max_bytes > 0 ? (uint64_t)max_bytes : 0, left0 = left;
    km_h5_quiet q;
    hid_t f = H5I_INVALID_HID, g = H5I_INVALID_HID;

    if (s == NULL || path == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "km_result_read_summary: NULL argument");
    memset(s, 0, sizeof *s);
    s->duration_s = NAN;
    km_h5_quiet_begin(&q);
    if (H5Fis_hdf5(path) <= 0) {
        st = km_fail(ctx, KM_ERR_FORMAT, "%s: not an HDF5 file", path);
        goto done;
    }
    f = km_h5_open_ro(path, H5P_DEFAULT);
    if (f < 0) {
        st = km_h5_open_fail(ctx, path, KM_ERR_FORMAT);
        goto done;
    }
    get_text(f, "source_path", s->source_path, sizeof s->source_path);
    get_text(f, "source_format", s->source_format, sizeof s->source_format);
    get_text(f, "created_utc", s->created_utc, sizeof s->created_utc);
    get_text(f, "knotmap_version", s->version, sizeof s->version);
    get_text(f, "command_line", s->command_line, sizeof s->command_line);
    s->row_pitch_mm = s->col_pitch_mm = s->frame_rate_hz = s->roller_radius_mm = NAN;
    if (has_link(f, "/session") && (g = H5Gopen2(f, "/session", H5P_DEFAULT)) >= 0) {
        double v;
        get_text(g, "mode", s->mode, sizeof s->mode);
        get_text(g, "units", s->units, sizeof s->units);
        get_text(g, "assumed", s->assumed, sizeof s->assumed);
        v = get_num(g, "rows");
        s->rows = isfinite(v) && v >= 0 && v < 1e9 ? (int32_t)v : 0;
        v = get_num(g, "cols");
        s->cols = isfinite(v) && v >= 0 && v < 1e9 ? (int32_t)v : 0;
        s->row_pitch_mm = get_num(g, "row_pitch_mm");
        s->col_pitch_mm = get_num(g, "col_pitch_mm");
        s->frame_rate_hz = get_num(g, "frame_rate_hz");
        s->roller_radius_mm = get_num(g, "roller_radius_mm");
        v = get_num(g, "n_frames");
        s->n_frames = isfinite(v) && v >= 0 && v < 9e18 ? (int64_t)v : 0;
        H5Gclose(g);
    }
    st = read_pairs(ctx, f, "/session/source_header", 1, &s->header, &s->n_header);
    if (st == KM_OK)
        st = read_pairs(ctx, f, "/params", 0, &s->params, &s->n_params);
    if (st == KM_OK)
        st = read_table(ctx, f, path, "/candidates", max_bytes > 0 ? &left : NULL, left0,
                        &s->candidates);
    if (st == KM_OK && metrics)
        st = read_table(ctx, f, path, "/metrics", max_bytes > 0 ? &left : NULL,
                        left0, &s->metrics);
    if (st == KM_OK)
        st = read_coverage(ctx, f, s);
    if (st != KM_OK)
        goto done;
    if (s->assumed[0] == '\0') {
        const char *a = header_value(s, "knotmap_assumed");
        if (a != NULL)
            snprintf(s->assumed, sizeof s->assumed, "%s", a);
    }
    find_recorded(s);
    read_duration(f, s);
    s->all_contact = km_result_all_contact(ctx, f, s->n_frames);
done:
    if (f >= 0)
        H5Fclose(f);
    km_h5_quiet_end(&q);
    if (st != KM_OK)
        km_result_summary_clear(ctx, s);
    return st;
}

static void table_clear(km_ctx *ctx, km_table *t)
{
    for (size_t i = 0; i < t->n_cols; i++)
        km_free(ctx, t->cols[i].v);
    km_free(ctx, t->cols);
    memset(t, 0, sizeof *t);
}

void km_result_summary_clear(km_ctx *ctx, km_result_summary *s)
{
    if (s == NULL)
        return;
    table_clear(ctx, &s->candidates);
    table_clear(ctx, &s->metrics);
    km_free(ctx, s->params);
    km_free(ctx, s->header);
    km_free(ctx, s->coverage);
    s->params = s->header = NULL;
    s->coverage = NULL;
    s->n_params = s->n_header = 0;
}

const km_table_col *km_table_find(const km_table *t, const char *name)
{
    for (size_t i = 0; i < t->n_cols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return &t->cols[i];
    return NULL;
}
