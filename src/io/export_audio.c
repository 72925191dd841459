/* Export frames to an audio container through libsndfile (docs/FORMAT.md
 * 1.5): float32, one channel per taxel up to libsndfile's 1024 channels,
 * else one channel of flattened frames; geometry in the comment string. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "atomic_out.h"
#include "file_out.h"
#include "sndfile_dyn.h"

#define KM_SF_MAX_CHANNELS 1024

struct km_audio_writer {
    km_alloc_ref alloc;
    km_atomic_out tmp;
    SNDFILE *sf;
    int32_t rows, cols, overwrite;
    int channels;
};

/* The containers the export writes, by extension: the one list (the
 * error message, km_format_from_extension and the CLI read it). */
static const struct {
    const char *ext;
    int format;
    int comment;
} CONTAINERS[] = {
    {".wav", SF_FORMAT_WAV, 1},   {".w64", SF_FORMAT_W64, 0},   {".rf64", SF_FORMAT_RF64, 1},
    {".caf", SF_FORMAT_CAF, 1},   {".aif", SF_FORMAT_AIFF, 1},  {".aiff", SF_FORMAT_AIFF, 1},
    {".au", SF_FORMAT_AU, 0},
};
#define N_CONTAINERS (sizeof CONTAINERS / sizeof CONTAINERS[0])

static int container_for(const char *path, int *format, int *has_comment)
{
    const char *dot = strrchr(path, '.');
    if (dot == NULL)
        return -1;
    for (size_t i = 0; i < N_CONTAINERS; i++) {
        if (strcasecmp(dot, CONTAINERS[i].ext) == 0) {
            *format = CONTAINERS[i].format;
            *has_comment = CONTAINERS[i].comment;
            return 0;
        }
    }
    return -1;
}

const char *km_audio_extension(size_t i)
{
    return i < N_CONTAINERS ? CONTAINERS[i].ext : NULL;
}

km_format km_format_from_extension(const char *path)
{
    int container, comment;
    const char *dot = path != NULL ? strrchr(path, '.') : NULL;
    if (dot == NULL)
        return KM_FORMAT_SESSION;
    if (strcasecmp(dot, ".asf") == 0 || strcasecmp(dot, ".csv") == 0)
        return KM_FORMAT_TEKSCAN;
    return container_for(path, &container, &comment) == 0 ? KM_FORMAT_AUDIO : KM_FORMAT_SESSION;
}

/* libsndfile's text for an OS error ("System error : No space left on
   device.") as strerror gives it; any other as it is. */
static const char *sf_reason(const char *m, char *buf, size_t cap)
{
    static const char sys[] = "System error : ";
    snprintf(buf, cap, "%s", strncmp(m, sys, sizeof sys - 1) == 0 ? m + sizeof sys - 1 : m);
    size_t k = strlen(buf);
    if (k > 0 && buf[k - 1] == '.')
        buf[k - 1] = '\0';
    return buf;
}

/* libsndfile on the temporary file: float samples at `rate` a second
   (frames a second, times the samples of a frame in one channel). */
static km_status open_sf(km_ctx *ctx, km_audio_writer *w, const char *path, int container,
                         double rate)
{
    SF_INFO sfi;
    memset(&sfi, 0, sizeof sfi);
    sfi.samplerate = (int)rate;
    sfi.channels = w->channels;
    sfi.format = container | SF_FORMAT_FLOAT;
    if (!sf_format_check(&sfi))
        return km_fail(ctx, KM_ERR_UNSUPPORTED, "%s: libsndfile cannot write %d float channels in this container",
                       path, w->channels);
    w->sf = sf_open_fd(w->tmp.fd, SFM_WRITE, &sfi, SF_TRUE);
    if (w->sf == NULL) { /* its header's write failed, and it closed the descriptor */
        char reason[256];
        w->tmp.fd = -1; /* not to be closed again: its number may be another file's by now */
        return km_atomic_write_failed(ctx, &w->tmp, -1, "cannot write",
                                      sf_reason(sf_strerror(NULL), reason, sizeof reason));
    }
    w->tmp.fd = -1; /* sf_close closes it */
    sf_command(w->sf, SFC_SET_UPDATE_HEADER_AUTO, NULL, SF_TRUE);
    return KM_OK;
}

/* The geometry in the comment string; the frame rate too when the sample
   rate (rate, per samples a frame) does not give it exactly. */
static km_status write_comment(km_ctx *ctx, km_audio_writer *w, const char *path,
                               const km_session_info *info, double rate, double per)
{
    char comment[512];
    int len = snprintf(comment, sizeof comment, KM_AUDIO_EXPORT_COMMENT "%dx%d pitch=%.17gx%.17g units=%s mode=%s",
                       (int)info->rows, (int)info->cols, info->row_pitch_mm, info->col_pitch_mm,
                       info->units[0] ? info->units : "raw",
                       info->mode == KM_MODE_ROLLER ? "roller" : "mat");
    if (info->mode == KM_MODE_ROLLER && info->roller_radius_mm > 0.0 && len > 0 && (size_t)len < sizeof comment)
        len += snprintf(comment + len, sizeof comment - (size_t)len, " roller_radius_mm=%.17g",
                        info->roller_radius_mm);
    if (rate / per != info->frame_rate_hz && len > 0 && (size_t)len < sizeof comment)
        snprintf(comment + len, sizeof comment - (size_t)len, " frame_rate_hz=%.17g", info->frame_rate_hz);
    if (sf_set_string(w->sf, SF_STR_COMMENT, comment) != 0)
        return km_fail(ctx, KM_ERR_IO, "%s: cannot set the comment: %s", path, sf_strerror(w->sf));
    return KM_OK;
}

km_status km_audio_writer_create(km_ctx *ctx, const char *path, const km_session_info *info,
                                 int32_t overwrite, km_audio_writer **out)
{
    km_status st = KM_OK;
    km_audio_writer *w = NULL;
    int container = 0, has_comment = 0;
    if (out == NULL || path == NULL || info == NULL) {
        st = km_fail(ctx, KM_ERR_INVALID, "audio export: NULL argument");
        goto done;
    }
    *out = NULL;
    st = km_check_shape(ctx, info->rows, info->cols, "audio export grid");
    if (st != KM_OK)
        goto done;
    if (container_for(path, &container, &has_comment) != 0) {
        char list[96] = "";
        for (size_t i = 0; i < N_CONTAINERS; i++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", i == 0 ? "" : ", ",
                     CONTAINERS[i].ext);
        }
        st = km_fail(ctx, KM_ERR_INVALID, "%s: audio export needs one of the extensions %s",
                     path, list);
        goto done;
    }
    if (!(info->frame_rate_hz > 0.0) || info->frame_rate_hz > 1e9) {
        st = km_fail(ctx, KM_ERR_INVALID, "%s: audio export needs a frame rate > 0", path);
        goto done;
    }
    if ((st = km_sndfile_load(ctx)) != KM_OK) {
        km_error_prefix(ctx, path);
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
    int64_t taxels = (int64_t)info->rows * info->cols;
    w->channels = taxels <= KM_SF_MAX_CHANNELS ? (int)taxels : 1;
    st = km_file_check_target(ctx, path, KM_FILE_AUDIO_EXPORT, overwrite);
    if (st == KM_OK)
        st = km_atomic_open(ctx, &w->alloc, path, NULL, overwrite, &w->tmp);
    if (st != KM_OK)
        goto done;

    /* Flattened: one sample per taxel, so the sample rate is the taxel
       rate and the reader divides by rows*cols. */
    double per = w->channels == 1 ? (double)taxels : 1.0;
    double rate = fmax(1.0, floor(info->frame_rate_hz * per + 0.5));
    if (rate > 2147483647.0) {
        st = km_fail(ctx, KM_ERR_INVALID, "%s: frame rate too high for an audio sample rate", path);
        goto done;
    }
    st = open_sf(ctx, w, path, container, rate);
    if (st == KM_OK && has_comment)
        st = write_comment(ctx, w, path, info, rate, per);
    if (st != KM_OK)
        goto done;
    *out = w;
    w = NULL;
done:
    km_audio_writer_free(w);
    return st;
}

km_status km_audio_writer_append(km_ctx *ctx, km_audio_writer *w, const float *frames, int64_t n)
{
    if (w == NULL || w->sf == NULL || n < 0 || (frames == NULL && n > 0))
        return km_fail(ctx, KM_ERR_INVALID, "audio export: bad arguments to append");
    sf_count_t items = (sf_count_t)n * w->rows * w->cols;
    sf_count_t want = w->channels == 1 ? items : (sf_count_t)n;
    sf_count_t got = w->channels == 1 ? sf_write_float(w->sf, frames, items)
                                      : sf_writef_float(w->sf, frames, (sf_count_t)n);
    /* libsndfile can return short counts with "No Error" (FACTS.md): check it. */
    if (got != want) {
        char reason[256];
        return km_fail(ctx, KM_ERR_IO, "%s: wrote %lld of %lld sample frames: %s", w->tmp.path,
                       (long long)got, (long long)want,
                       sf_reason(sf_strerror(w->sf), reason, sizeof reason));
    }
    return KM_OK;
}

km_status km_audio_writer_commit(km_ctx *ctx, km_audio_writer *w)
{
    if (w == NULL || w->sf == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "audio export: commit without an open writer");
    sf_write_sync(w->sf);
    int rc = sf_close(w->sf);
    w->sf = NULL;
    if (rc != 0)
        return km_fail(ctx, KM_ERR_IO, "%s: closing failed: %s", w->tmp.path, sf_error_number(rc));
    return km_atomic_commit(ctx, &w->tmp);
}

void km_audio_writer_free(km_audio_writer *w)
{
    if (w == NULL)
        return;
    km_alloc_ref a = w->alloc;
    if (w->sf != NULL)
        sf_close(w->sf);
    km_atomic_discard(&w->tmp);
    km_ref_free(&a, w);
}
