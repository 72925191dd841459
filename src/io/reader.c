/* The reader front end: options, format choice (sniffing), the reader
 * object shared by every format, and the checks and error prefixes common
 * to all of them.  Format code lives in read_<format>.c. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "names.h"
#include "reader_internal.h"
#include "text_scan.h"

const char *km_format_name(km_format format)
{
    if ((int)format < 0 || (int)format > KM_FORMAT_NPZ)
        return NULL;
    return km_format_names[format];
}

km_status km_format_parse(const char *name, km_format *out)
{
    if (name == NULL || out == NULL)
        return KM_ERR_INVALID;
    for (size_t i = 0; km_format_names[i] != NULL; i++) {
        if (strcmp(name, km_format_names[i]) == 0) {
            *out = (km_format)i;
            return KM_OK;
        }
    }
    return KM_ERR_INVALID;
}

void km_read_options_default(km_read_options *opt)
{
    if (opt == NULL)
        return;
    memset(opt, 0, sizeof *opt);
    opt->format = KM_FORMAT_AUTO;
    opt->units = NULL;
    opt->mode = -1;
    opt->sensor = -1;
    opt->text_frame_per_file = -1;
    opt->time_axis = -1;
    opt->max_memory = KM_MAX_MEMORY_DEFAULT;
}

uint64_t km_read_max_memory(const km_read_options *opt)
{
    if (opt == NULL || opt->max_memory <= 0)
        return (uint64_t)KM_MAX_MEMORY_DEFAULT;
    return (uint64_t)opt->max_memory;
}

void *km_reader_alloc(km_reader *r, size_t size)
{
    return km_ref_alloc(&r->alloc, size);
}

void km_reader_release(km_reader *r, void *ptr)
{
    km_ref_free(&r->alloc, ptr);
}

km_status km_reader_add_header(km_ctx *ctx, km_reader *r, const char *key, const char *value)
{
    km_kv kv;
    if (r->n_header == r->cap_header) {
        size_t ncap = r->cap_header ? r->cap_header * 2 : 32;
        km_kv *nh = km_reader_alloc(r, ncap * sizeof *nh);
        if (nh == NULL)
            return km_fail(ctx, KM_ERR_NOMEM, "out of memory for %zu header entries", ncap);
        if (r->n_header > 0)
            memcpy(nh, r->header, r->n_header * sizeof *nh);
        km_reader_release(r, r->header);
        r->header = nh;
        r->cap_header = ncap;
    }
    kv.key = km_ref_strdup(&r->alloc, key);
    kv.value = km_ref_strdup(&r->alloc, value != NULL ? value : "");
    if (kv.key == NULL || kv.value == NULL) {
        km_reader_release(r, kv.key);
        km_reader_release(r, kv.value);
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory for a header entry");
    }
    r->header[r->n_header++] = kv;
    return KM_OK;
}

km_status km_reader_set_geometry(km_ctx *ctx, km_reader *r, int64_t rows, int64_t cols)
{
    km_status st = km_check_shape(ctx, rows, cols, "grid");
    size_t n;
    if (st != KM_OK)
        return st;
    n = (size_t)(rows * cols);
    km_reader_release(r, r->mask);
    r->mask = km_reader_alloc(r, n);
    if (r->mask == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory for a %lldx%lld mask", (long long)rows, (long long)cols);
    memset(r->mask, 1, n);
    r->info.rows = (int32_t)rows;
    r->info.cols = (int32_t)cols;
    r->info.n_valid = (int32_t)n;
    return KM_OK;
}

km_status km_reader_open_lines(km_ctx *ctx, km_reader *r, km_lines *lines)
{
    km_status st = km_lines_open(ctx, lines, r->path, &r->alloc);
    if (st == KM_OK && lines->utf16_guessed)
        r->utf16_guessed = 1;
    return st;
}

/* ------------------------------------------------------------ the reader */

static void reader_destroy(km_reader *r)
{
    if (r == NULL)
        return;
    if (r->ops != NULL && r->ops->close != NULL)
        r->ops->close(r);
    for (size_t i = 0; i < r->n_header; i++) {
        km_reader_release(r, r->header[i].key);
        km_reader_release(r, r->header[i].value);
    }
    km_reader_release(r, r->header);
    km_reader_release(r, r->mask);
    km_reader_release(r, r->path);
    {
        km_alloc_ref a = r->alloc;
        km_ref_free(&a, r);
    }
}

/* See reader_internal.h.  Opened without
 * waiting for a writer (a blocking open of a FIFO nobody writes waits for
 * ever): with nobody writing it is refused at once; a writer that has not
 * written yet is waited for, its first bytes or its end (a stuck input, as a
 * hung file system's, for --deadline and signals), then refused the same. */
km_status km_refuse_pipe(km_ctx *ctx, const char *path)
{
    unsigned char b;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0 && read(fd, &b, 1) < 0 && errno == EAGAIN) {
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0 && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0)
            while (read(fd, &b, 1) < 0 && errno == EINTR)
                ;
    }
    if (fd >= 0)
        close(fd);
    errno = ESPIPE;
    return km_fail(ctx, KM_ERR_NOT_FOUND, "a pipe, not a file: knotmap reads its input "
                                          "more than once (save it to a file first)");
}

/* Open failures of the file itself, before any format: what the OS says. */
static km_status open_head(km_ctx *ctx, const char *path, unsigned char *head, size_t *n)
{
    struct stat sb;
    FILE *f;
    if (stat(path, &sb) != 0)
        return km_fail(ctx, KM_ERR_NOT_FOUND, "%s", km_open_reason(errno));
    if (S_ISDIR(sb.st_mode))
        return km_fail(ctx, KM_ERR_NOT_FOUND, "Is a directory");
    if (S_ISFIFO(sb.st_mode))
        return km_refuse_pipe(ctx, path);
    /* A device or socket: /dev/zero or /dev/urandom would be read until a line
       limit (a GiB of buffer), a terminal (/dev/stdin at a prompt) waited on. */
    if (!S_ISREG(sb.st_mode))
        return km_fail(ctx, KM_ERR_NOT_FOUND, "not a file but %s: knotmap reads recordings saved as files",
                       S_ISCHR(sb.st_mode)   ? "a character device"
                       : S_ISBLK(sb.st_mode) ? "a block device"
                       : S_ISSOCK(sb.st_mode) ? "a socket"
                                              : "a special file");
    f = fopen(path, "rb");
    if (f == NULL)
        return km_fail(ctx, KM_ERR_NOT_FOUND, "%s", km_open_reason(errno));
    *n = fread(head, 1, KM_SNIFF_BYTES, f);
    if (ferror(f)) {
        fclose(f);
        return km_fail(ctx, KM_ERR_IO, "read error");
    }
    fclose(f);
    return KM_OK;
}

km_status km_reader_format(km_ctx *ctx, const char *path, const km_read_options *opt, km_format *out)
{
    unsigned char head[KM_SNIFF_BYTES];
    size_t n = 0;
    struct stat sb;
    if (path == NULL || out == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "km_reader_format: path and out must not be NULL");
    *out = KM_FORMAT_AUTO;
    /* A regular file only: a FIFO must not be read here (its bytes would be
       gone for the open), nor waited on. */
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return KM_OK;
    if (opt != NULL && opt->format != KM_FORMAT_AUTO) {
        *out = opt->format;
        return KM_OK;
    }
    if (open_head(NULL, path, head, &n) == KM_OK)
        *out = km_sniff_format(head, n, path);
    return KM_OK;
}

/* open_head for a reader: a file of 0 bytes is refused whatever its name or
   --format says (no reader finds a session in it). */
static km_status open_nonempty_head(km_ctx *ctx, const char *path, unsigned char *head, size_t *n_head)
{
    km_status st = open_head(ctx, path, head, n_head);
    if (st == KM_OK && *n_head == 0)
        st = km_fail(ctx, KM_ERR_FORMAT, "empty file (0 bytes): nothing recorded in it");
    return st;
}

/* Sniffing found nothing: say what the file is when its head tells, and
   which names --format takes. */
static km_status not_recognised(km_ctx *ctx, const unsigned char *head, size_t n)
{
    char list[160] = "";
    const char *kind = km_sniff_foreign(head, n);
    for (int i = 1; km_format_names[i] != NULL; i++) /* the names but auto */
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                 i == 1 ? "" : km_format_names[i + 1] == NULL ? " or " : ", ", km_format_names[i]);
    if (kind != NULL)
        return km_fail(ctx, KM_ERR_FORMAT, "%s (knotmap reads the formats --format names: %s)", kind,
                       list);
    return km_fail(ctx, KM_ERR_FORMAT, "format not recognised (give it with --format: %s)", list);
}

km_status km_reader_open(km_ctx *ctx, const char *path, const km_read_options *opt, km_reader **out)
{
    km_read_options defaults;
    unsigned char head[KM_SNIFF_BYTES];
    size_t n_head = 0;
    km_format fmt;
    km_alloc_ref a;
    km_reader *r = NULL;
    km_status st;

    if (out != NULL)
        *out = NULL;
    if (path == NULL || out == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "km_reader_open: path and out must not be NULL");
    if (opt == NULL) {
        km_read_options_default(&defaults);
        opt = &defaults;
    }
    st = km_reader_check_options(ctx, opt);
    if (st != KM_OK)
        return st; /* the options' fault, not the file's: no path before it */
    st = open_nonempty_head(ctx, path, head, &n_head);
    if (st != KM_OK)
        goto done;
    fmt = opt->format == KM_FORMAT_AUTO ? km_sniff_format(head, n_head, path) : opt->format;
    if (fmt == KM_FORMAT_AUTO) {
        st = not_recognised(ctx, head, n_head);
        goto done;
    }

    a = km_ctx_alloc_ref(ctx);
    r = km_ref_alloc(&a, sizeof *r);
    if (r == NULL) {
        st = km_fail(ctx, KM_ERR_NOMEM, "out of memory for a reader");
        goto done;
    }
    memset(r, 0, sizeof *r);
    r->alloc = a;
    r->info.format = fmt;
    r->info.n_frames = -1;
    r->info.mode = -1;
    r->count_nonfinite = 1; /* a format that counts at open clears it */
    snprintf(r->units_given, sizeof r->units_given, "%s", opt->override && opt->units ? opt->units : "");
    r->path = km_ref_strdup(&r->alloc, path);
    if (r->path == NULL) {
        st = km_fail(ctx, KM_ERR_NOMEM, "out of memory for the path");
        goto done;
    }
    switch (fmt) {
    case KM_FORMAT_SESSION: st = km_open_session(ctx, r, opt); break;
    case KM_FORMAT_TEKSCAN: st = km_open_tekscan(ctx, r, opt); break;
    case KM_FORMAT_XSENSOR: st = km_open_xsensor(ctx, r, opt); break;
    case KM_FORMAT_TEXT: st = km_open_text(ctx, r, opt); break;
    case KM_FORMAT_AUDIO: st = km_open_audio(ctx, r, opt); break;
    case KM_FORMAT_MATLAB: st = km_open_matlab(ctx, r, opt); break;
    case KM_FORMAT_NPY: st = km_open_npy(ctx, r, opt); break;
    case KM_FORMAT_NPZ: st = km_open_npz(ctx, r, opt); break;
    default: st = km_fail(ctx, KM_ERR_INTERNAL, "format %d has no reader", (int)fmt); break;
    }
    if (st == KM_OK && (r->mask == NULL || r->ops == NULL || r->ops->read == NULL))
        st = km_fail(ctx, KM_ERR_INTERNAL, "%s reader left the geometry unset", km_format_name(fmt));
    if (st == KM_OK && r->utf16_guessed) /* after the format's km_reader_apply_options */
        km_reader_note_assumed(r, "encoding");
    if (st == KM_OK && r->info.n_frames == 0) /* known empty (HDF5, audio); text ends earlier */
        st = km_fail(ctx, KM_ERR_FORMAT, "no frames: the file holds no frame data");
    if (st == KM_OK && r->info.n_frames > (int64_t)1 << 48)
        st = km_fail(ctx, KM_ERR_LIMIT, "%lld frames: beyond the limit", (long long)r->info.n_frames);
    r->info.format = fmt;
    r->avx2 = km_cpu_avx2();

done:
    if (st != KM_OK) {
        if (path != NULL)
            km_error_prefix(ctx, path);
        reader_destroy(r);
        return st;
    }
    *out = r;
    return KM_OK;
}

void km_reader_free(km_reader *reader)
{
    reader_destroy(reader);
}

void km_reader_info(const km_reader *reader, km_session_info *out)
{
    if (out == NULL)
        return;
    if (reader == NULL) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = reader->info;
}

const uint8_t *km_reader_mask(const km_reader *reader)
{
    return reader != NULL ? reader->mask : NULL;
}

size_t km_reader_header_count(const km_reader *reader)
{
    return reader != NULL ? reader->n_header : 0;
}

void km_reader_header_get(const km_reader *reader, size_t index, const char **key, const char **value)
{
    const char *k = NULL, *v = NULL;
    if (reader != NULL && index < reader->n_header) {
        k = reader->header[index].key;
        v = reader->header[index].value;
    }
    if (key != NULL)
        *key = k;
    if (value != NULL)
        *value = v;
}

km_status km_reader_probe(km_ctx *ctx, km_reader *reader)
{
    km_status st;
    if (reader == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "km_reader_probe: NULL reader");
    if (km_ctx_cancelled(ctx))
        return km_fail(ctx, KM_ERR_CANCELLED, "%s: cancelled", reader->path);
    if (reader->probe != NULL) {
        st = reader->probe(ctx, reader);
        if (st != KM_OK)
            km_error_prefix(ctx, reader->path);
        return st;
    }
    size_t rc = (size_t)reader->info.rows * (size_t)reader->info.cols;
    float *frame = km_reader_alloc(reader, (rc > 0 ? rc : 1) * sizeof *frame);
    if (frame == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "%s: out of memory", reader->path);
    int64_t n = 0;
    st = km_reader_read(ctx, reader, frame, NULL, 1, &n);
    km_reader_release(reader, frame);
    return st;
}

km_status km_reader_read(km_ctx *ctx, km_reader *reader, float *frames, double *times, int64_t max_frames,
                         int64_t *n_read)
{
    km_status st;
    int64_t n = 0;
    if (n_read != NULL)
        *n_read = 0;
    if (reader == NULL || n_read == NULL || max_frames < 0 || (frames == NULL && max_frames > 0))
        return km_fail(ctx, KM_ERR_INVALID, "km_reader_read: reader, frames and n_read must be given, max_frames >= 0");
    if (km_ctx_cancelled(ctx))
        return km_fail(ctx, KM_ERR_CANCELLED, "%s: cancelled", reader->path);
    if (max_frames == 0)
        return KM_OK;
    st = reader->ops->read(ctx, reader, frames, times, max_frames, &n);
    if (st != KM_OK) {
        if (st == KM_ERR_CANCELLED && strstr(km_ctx_last_error(ctx), "cancelled") == NULL)
            km_fail(ctx, KM_ERR_CANCELLED, "cancelled");
        km_error_prefix(ctx, reader->path);
        return st;
    }
    if (n < 0 || n > max_frames)
        return km_fail(ctx, KM_ERR_INTERNAL, "%s: reader returned %lld frames for %lld asked", reader->path,
                       (long long)n, (long long)max_frames);
    if (reader->values_scale > 0) /* psi, Pa, MPa to kPa (reader_internal.h) */
        for (size_t i = 0, m = (size_t)n * (size_t)reader->info.rows * (size_t)reader->info.cols; i < m; i++)
            frames[i] = (float)(frames[i] * reader->values_scale);
    if (reader->count_nonfinite)
        km_reader_count_nonfinite(reader, frames, n);
    if (times != NULL && reader->times_from_rate)
        for (int64_t k = 0; k < n; k++)
            times[k] = (double)(reader->frames_done + k) / reader->info.frame_rate_hz;
    reader->frames_done += n;
    *n_read = n;
    return KM_OK;
}
