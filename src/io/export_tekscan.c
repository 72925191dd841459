/* Export frames as a Tekscan ASCII movie (docs/FORMAT.md 1.3), the layout of
 * datasets/real/tekscan_fscan: KEY value header, ASCII_DATA @@, "Frame N"
 * blocks, B for masked taxels, final @@. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_out.h"
#include "file_out.h"

/* ---------------------------------------------------------------------
 * Tekscan writer
 * ------------------------------------------------------------------- */
struct km_tekscan_writer {
    km_alloc_ref alloc;
    km_atomic_out tmp;
    FILE *f;
    int32_t rows, cols, overwrite, committed;
    uint8_t *mask;
    int64_t frames;
    int64_t n_expected;    /* -1: END_FRAME is patched at commit */
    long end_frame_pos;    /* offset of the END_FRAME digits */
};

#define KM_END_FRAME_DIGITS 12

static const char *tekscan_units(const char *u)
{
    /* Tekscan writes "KPa"; other unit names pass through. */
    if (strcmp(u, "kPa") == 0)
        return "KPa";
    return u[0] != '\0' ? u : "Raw";
}

static int write_header(km_tekscan_writer *w, const km_session_info *info)
{
    FILE *f = w->f;
    int bad = 0;
    bad |= fprintf(f, KM_TEKSCAN_EXPORT_HEAD "%s\r\nSENSOR_TYPE KNOTMAP\r\n",
                   km_version_string()) < 0;
    bad |= fprintf(f, "ROWS %d\r\nCOLS %d\r\n", (int)info->rows, (int)info->cols) < 0;
    bad |= fprintf(f, "ROW_SPACING %.17g mm\r\nCOL_SPACING %.17g mm\r\n", info->row_pitch_mm,
                   info->col_pitch_mm) < 0;
    bad |= fprintf(f, "SENSEL_AREA %.9g mm2\r\n", info->row_pitch_mm * info->col_pitch_mm) < 0;
    bad |= fprintf(f, "SECONDS_PER_FRAME %.17g\r\n", 1.0 / info->frame_rate_hz) < 0;
    if (isfinite(info->saturation) && info->saturation > 0.0)
        bad |= fprintf(f, "SATURATION_PRESSURE %.17g %s\r\n", info->saturation,
                       tekscan_units(info->units)) < 0;
    bad |= fprintf(f, "COMMENTS:\r\nknotmap export mode=%s", info->mode == KM_MODE_ROLLER ? "roller" : "mat") < 0;
    if (info->mode == KM_MODE_ROLLER)
        bad |= fprintf(f, " roller_radius_mm=%.17g", info->roller_radius_mm) < 0;
    bad |= fprintf(f, "\r\nSTART_FRAME 1\r\nEND_FRAME ") < 0;
    w->end_frame_pos = ftell(f);
    if (w->n_expected >= 0)
        bad |= fprintf(f, "%lld\r\n", (long long)w->n_expected) < 0;
    else
        bad |= fprintf(f, "%0*d\r\n", KM_END_FRAME_DIGITS, 0) < 0;
    bad |= fprintf(f, "UNITS %s\r\nASCII_DATA @@\r\n\r\n", tekscan_units(info->units)) < 0;
    return bad;
}

km_status km_tekscan_writer_create(km_ctx *ctx, const char *path, const km_session_info *info,
                                   const uint8_t *mask, int32_t overwrite, km_tekscan_writer **out)
{
    km_status st = KM_OK;
    km_tekscan_writer *w = NULL;
    if (out == NULL || path == NULL || info == NULL) {
        st = km_fail(ctx, KM_ERR_INVALID, "tekscan export: NULL argument");
        goto done;
    }
    *out = NULL;
    st = km_check_shape(ctx, info->rows, info->cols, "tekscan export grid");
    if (st != KM_OK)
        goto done;
    if (!(info->frame_rate_hz > 0.0) || !isfinite(info->frame_rate_hz) || !(info->row_pitch_mm > 0.0)
        || !(info->col_pitch_mm > 0.0)) {
        st = km_fail(ctx, KM_ERR_INVALID, "%s: tekscan export needs a frame rate and pitches > 0", path);
        goto done;
    }
    w = km_calloc(ctx, 1, sizeof *w);
    if (w == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    w->alloc = km_ctx_alloc_ref(ctx);
    km_atomic_init(&w->tmp);
    w->rows = info->rows;
    w->cols = info->cols;
    w->overwrite = overwrite;
    w->n_expected = info->n_frames;
    size_t n = (size_t)info->rows * (size_t)info->cols;
    w->mask = km_alloc(ctx, n);
    if (w->mask == NULL) {
        st = KM_ERR_NOMEM;
        goto done;
    }
    if (mask)
        memcpy(w->mask, mask, n);
    else
        memset(w->mask, 1, n);
    st = km_file_check_target(ctx, path, KM_FILE_TEKSCAN_EXPORT, overwrite);
    if (st == KM_OK)
        st = km_atomic_open(ctx, &w->alloc, path, NULL, overwrite, &w->tmp);
    if (st != KM_OK)
        goto done;
    w->f = fdopen(w->tmp.fd, "wb");
    if (w->f == NULL) {
        st = km_fail(ctx, KM_ERR_IO, "%s: %s", path, strerror(errno));
        goto done;
    }
    w->tmp.fd = -1; /* owned by the FILE now */
    if (write_header(w, info)) {
        st = km_atomic_write_failed(ctx, &w->tmp, fileno(w->f), "cannot write", strerror(errno));
        goto done;
    }
    *out = w;
    w = NULL;
done:
    km_tekscan_writer_free(w);
    return st;
}

km_status km_tekscan_writer_append(km_ctx *ctx, km_tekscan_writer *w, const float *frames, int64_t n)
{
    if (w == NULL || w->f == NULL || n < 0 || (frames == NULL && n > 0))
        return km_fail(ctx, KM_ERR_INVALID, "tekscan export: bad arguments to append");
    size_t per = (size_t)w->rows * (size_t)w->cols;
    int bad = 0;
    for (int64_t k = 0; k < n && !bad; k++) {
        const float *f = frames + (size_t)k * per;
        bad |= fprintf(w->f, "Frame %lld\r\n", (long long)(w->frames + k + 1)) < 0;
        for (int32_t r = 0; r < w->rows && !bad; r++) {
            for (int32_t c = 0; c < w->cols; c++) {
                size_t i = (size_t)r * (size_t)w->cols + (size_t)c;
                const char *sep = c + 1 < w->cols ? "," : "\r\n";
                if (!w->mask[i])
                    bad |= fprintf(w->f, "B%s", sep) < 0;
                else if (f[i] == floorf(f[i]) && fabsf(f[i]) < 1e9f)
                    bad |= fprintf(w->f, "%lld%s", (long long)f[i], sep) < 0;
                else
                    bad |= fprintf(w->f, "%.9g%s", (double)f[i], sep) < 0;
            }
        }
        bad |= fputs("\r\n", w->f) < 0;
    }
    if (bad)
        return km_atomic_write_failed(ctx, &w->tmp, fileno(w->f), "cannot write",
                                      strerror(errno));
    w->frames += n;
    return KM_OK;
}

km_status km_tekscan_writer_commit(km_ctx *ctx, km_tekscan_writer *w)
{
    if (w == NULL || w->f == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "tekscan export: commit without an open writer");
    if (w->n_expected >= 0 && w->frames != w->n_expected)
        return km_fail(ctx, KM_ERR_INVALID, "%s: %lld frames written, the header announced %lld",
                       w->tmp.path, (long long)w->frames, (long long)w->n_expected);
    int bad = fputs("@@\r\n", w->f) < 0;
    if (w->n_expected < 0) {
        bad |= fseek(w->f, w->end_frame_pos, SEEK_SET) != 0;
        bad |= fprintf(w->f, "%0*lld", KM_END_FRAME_DIGITS, (long long)w->frames) < 0;
    }
    bad |= fflush(w->f) != 0;
    if (bad) { /* stdio writes when its buffer is full or flushed: the error shows here */
        km_status st = km_atomic_write_failed(ctx, &w->tmp, fileno(w->f), "cannot write",
                                              strerror(errno));
        fclose(w->f);
        w->f = NULL;
        return st;
    }
    int sync_bad = fsync(fileno(w->f)) != 0, err = errno;
    int close_bad = fclose(w->f) != 0;
    w->f = NULL;
    if (sync_bad || close_bad)
        return km_fail(ctx, KM_ERR_IO, "%s: %s: %s", w->tmp.path,
                       sync_bad ? "cannot flush to disk" : "cannot close",
                       strerror(sync_bad ? err : errno));
    km_status st = km_atomic_commit(ctx, &w->tmp);
    if (st == KM_OK)
        w->committed = 1;
    return st;
}

void km_tekscan_writer_free(km_tekscan_writer *w)
{
    if (w == NULL)
        return;
    km_alloc_ref a = w->alloc;
    if (w->f != NULL)
        fclose(w->f);
    km_atomic_discard(&w->tmp);
    km_ref_free(&a, w->mask);
    km_ref_free(&a, w);
}
