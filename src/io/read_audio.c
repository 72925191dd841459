/* Reader for audio containers through libsndfile (docs/FORMAT.md 1.5).
 *
 * Two layouts: one channel per taxel (row-major; sample rate = frame rate)
 * or a single channel of flattened frames (rows*cols consecutive samples
 * per frame; sample rate = taxel rate).  Integer PCM is read with
 * libsndfile's float normalisation off, so raw sensor counts survive
 * exactly; float files keep their values.  Geometry and metadata come from
 * the comment string ("knotmap grid=32x32 pitch=10 ...") or from options. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include "reader_internal.h"
#include "sndfile_dyn.h"

#define KM_SF_MAX_CHANNELS 1024 /* libsndfile's compile-time SF_MAX_CHANNELS */
#define KM_AUDIO_HEAD_BYTES 65536

typedef struct audio_impl {
    SNDFILE *sf;
    int flat;             /* 1: single channel of flattened frames */
    int64_t n_frames;
    int64_t next;
    size_t taxels;
} audio_impl;

static void audio_close(km_reader *r)
{
    audio_impl *a = r->impl;
    if (a == NULL)
        return;
    if (a->sf != NULL)
        sf_close(a->sf);
    km_reader_release(r, a);
    r->impl = NULL;
}

static km_status audio_read(km_ctx *ctx, km_reader *r, float *frames, double *times,
                            int64_t max_frames, int64_t *n_read);

static const km_reader_ops audio_ops = {audio_read, audio_close};

/* ---- channel count of files libsndfile refused ---- */

static uint32_t le16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t be16(const unsigned char *p) { return (uint32_t)p[0] << 8 | (uint32_t)p[1]; }
static uint32_t le32(const unsigned char *p) { return le16(p) | le16(p + 2) << 16; }
static uint32_t be32(const unsigned char *p) { return be16(p) << 16 | be16(p + 2); }

/* The channel count written in a WAV/RF64/W64/AIFF/CAF header, 0 if not
 * found.  Only used to explain why libsndfile refused a file. */
static uint32_t sniff_channels(const unsigned char *h, size_t n)
{
    size_t p;
    if (n >= 12 && (memcmp(h, "RIFF", 4) == 0 || memcmp(h, "RF64", 4) == 0) &&
        memcmp(h + 8, "WAVE", 4) == 0) {
        for (p = 12; p + 8 <= n;) {
            uint32_t size = le32(h + p + 4);
            if (memcmp(h + p, "fmt ", 4) == 0)
                return p + 12 <= n ? le16(h + p + 10) : 0;
            if (size > n)
                return 0;
            p += 8 + (size_t)size + (size & 1u);
        }
    } else if (n >= 40 && memcmp(h, "riff", 4) == 0) { /* W64: 16-byte GUIDs, 64-bit sizes */
        for (p = 40; p + 24 <= n;) {
            uint64_t size = le32(h + p + 16) | (uint64_t)le32(h + p + 20) << 32;
            if (memcmp(h + p, "fmt ", 4) == 0)
                return p + 28 <= n ? le16(h + p + 26) : 0;
            if (size < 24 || size > n)
                return 0;
            p += (size_t)((size + 7) & ~(uint64_t)7);
        }
    } else if (n >= 12 && memcmp(h, "FORM", 4) == 0 &&
               (memcmp(h + 8, "AIFF", 4) == 0 || memcmp(h + 8, "AIFC", 4) == 0)) {
        for (p = 12; p + 8 <= n;) {
            uint32_t size = be32(h + p + 4);
            if (memcmp(h + p, "COMM", 4) == 0)
                return p + 10 <= n ? be16(h + p + 8) : 0;
            if (size > n)
                return 0;
            p += 8 + (size_t)size + (size & 1u);
        }
    } else if (n >= 8 && memcmp(h, "caff", 4) == 0) {
        for (p = 8; p + 12 <= n;) {
            uint64_t size = (uint64_t)be32(h + p + 4) << 32 | be32(h + p + 8);
            if (memcmp(h + p, "desc", 4) == 0)
                return p + 12 + 28 <= n ? be32(h + p + 12 + 24) : 0;
            if (size > n)
                return 0;
            p += 12 + (size_t)size;
        }
    }
    return 0;
}

static km_status open_failed(km_ctx *ctx, const char *path)
{
    unsigned char *head;
    size_t n;
    uint32_t ch;
    FILE *f = fopen(path, "rb");

    if (f == NULL)
        return km_fail(ctx, KM_ERR_NOT_FOUND, "cannot open the file: %s", strerror(errno));
    head = malloc(KM_AUDIO_HEAD_BYTES);
    n = head != NULL ? fread(head, 1, KM_AUDIO_HEAD_BYTES, f) : 0;
    fclose(f);
    ch = head != NULL ? sniff_channels(head, n) : 0;
    free(head);
    if (ch > KM_SF_MAX_CHANNELS)
        return km_fail(ctx, KM_ERR_UNSUPPORTED,
                       "%u channels: libsndfile reads at most %d (more than %d channels: use the "
                       "single-channel flattened layout)",
                       (unsigned)ch, KM_SF_MAX_CHANNELS, KM_SF_MAX_CHANNELS);
    /* libsndfile reports failed opens only through its global error, which
       other threads may overwrite: say what we know instead. */
    return km_fail(ctx, KM_ERR_FORMAT,
                   "libsndfile cannot open it as audio (not WAV/W64/RF64/CAF/AIFF, or a "
                   "damaged header)");
}

/* ---- header list ---- */

static km_status add_header_num(km_ctx *ctx, km_reader *r, const char *key, double v)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", v);
    return km_reader_add_header(ctx, r, key, buf);
}

static km_status add_sf_header(km_ctx *ctx, km_reader *r, SNDFILE *sf, const SF_INFO *si)
{
    static const struct {
        int id;
        const char *key;
    } strs[] = {{SF_STR_TITLE, "title"},     {SF_STR_COPYRIGHT, "copyright"},
                {SF_STR_SOFTWARE, "software"}, {SF_STR_ARTIST, "artist"},
                {SF_STR_COMMENT, "comment"}, {SF_STR_DATE, "date"},
                {SF_STR_ALBUM, "album"},     {SF_STR_LICENSE, "license"},
                {SF_STR_TRACKNUMBER, "tracknumber"}, {SF_STR_GENRE, "genre"}};
    SF_FORMAT_INFO fi;
    km_status st;
    size_t i;

    fi.format = si->format & SF_FORMAT_TYPEMASK;
    fi.name = NULL;
    if (sf_command(NULL, SFC_GET_FORMAT_INFO, &fi, (int)sizeof fi) == 0 && fi.name != NULL &&
        (st = km_reader_add_header(ctx, r, "audio_format", fi.name)) != KM_OK)
        return st;
    fi.format = si->format & SF_FORMAT_SUBMASK;
    fi.name = NULL;
    if (sf_command(NULL, SFC_GET_FORMAT_INFO, &fi, (int)sizeof fi) == 0 && fi.name != NULL &&
        (st = km_reader_add_header(ctx, r, "audio_encoding", fi.name)) != KM_OK)
        return st;
    if ((st = add_header_num(ctx, r, "sample_rate", si->samplerate)) != KM_OK ||
        (st = add_header_num(ctx, r, "channels", si->channels)) != KM_OK ||
        (st = add_header_num(ctx, r, "sample_frames", (double)si->frames)) != KM_OK)
        return st;
    for (i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        const char *s = sf_get_string(sf, strs[i].id);
        if (s != NULL && (st = km_reader_add_header(ctx, r, strs[i].key, s)) != KM_OK)
            return st;
    }
    return KM_OK;
}

/* Largest raw count of an integer encoding; +inf for floats. */
static double pcm_saturation(int subtype)
{
    switch (subtype) {
    case SF_FORMAT_PCM_S8:
    case SF_FORMAT_PCM_U8: return 127.0; /* libsndfile centres unsigned 8-bit on 0 */
    case SF_FORMAT_PCM_16: return 32767.0;
    case SF_FORMAT_PCM_24: return 8388607.0;
    case SF_FORMAT_PCM_32: return 2147483647.0;
    default: return INFINITY;
    }
}

/* Grid from the comment or the options; a clash is an error, not a guess. */
static km_status decide_grid(km_ctx *ctx, const km_comment_meta *m, const km_read_options *opt,
                             int channels, int64_t *rows, int64_t *cols)
{
    int64_t orow = opt != NULL ? opt->rows : 0, ocol = opt != NULL ? opt->cols : 0;

    if (m->rows > 0) {
        if ((orow > 0 && orow != m->rows) || (ocol > 0 && ocol != m->cols))
            return km_fail(ctx, KM_ERR_INVALID,
                           "the grid given (%lldx%lld) disagrees with grid=%lldx%lld in the "
                           "file's comment",
                           (long long)orow, (long long)ocol, (long long)m->rows,
                           (long long)m->cols);
        *rows = m->rows;
        *cols = m->cols;
        return KM_OK;
    }
    *rows = orow;
    *cols = ocol;
    /* One side given and one channel per taxel: the other side follows. */
    if (channels > 1 && (orow > 0) != (ocol > 0)) {
        int64_t side = orow > 0 ? orow : ocol;
        if (channels % side == 0) {
            *rows = orow > 0 ? orow : channels / side;
            *cols = ocol > 0 ? ocol : channels / side;
        }
    }
    if (*rows <= 0 || *cols <= 0) {
        if (channels > 1)
            return km_fail(ctx, KM_ERR_INVALID,
                           "%d channels and no grid: give the grid (--grid RxC, or grid=RxC in "
                           "the file's comment) with rows*cols = %d",
                           channels, channels);
        return km_fail(ctx, KM_ERR_INVALID,
                       "a single channel of flattened frames and no grid: give the grid "
                       "(--grid RxC, or grid=RxC in the file's comment)");
    }
    return KM_OK;
}

/* Integer PCM or float samples, and a header that makes sense. */
static km_status check_encoding(km_ctx *ctx, const SF_INFO *si)
{
    int subtype = si->format & SF_FORMAT_SUBMASK;
    if (subtype != SF_FORMAT_PCM_S8 && subtype != SF_FORMAT_PCM_U8 &&
        subtype != SF_FORMAT_PCM_16 && subtype != SF_FORMAT_PCM_24 &&
        subtype != SF_FORMAT_PCM_32 && subtype != SF_FORMAT_FLOAT && subtype != SF_FORMAT_DOUBLE)
        return km_fail(ctx, KM_ERR_UNSUPPORTED,
                       "sample encoding 0x%04x is not supported (use integer PCM or float)",
                       (unsigned)subtype);
    if (si->channels < 1 || si->samplerate < 1 || si->frames < 0)
        return km_fail(ctx, KM_ERR_FORMAT, "bad audio header (%d channels, %d Hz)", si->channels,
                       si->samplerate);
    return KM_OK;
}

/* Bytes of one sample of a supported encoding (check_encoding). */
static int sample_bytes(int subtype)
{
    switch (subtype) {
    case SF_FORMAT_PCM_S8:
    case SF_FORMAT_PCM_U8: return 1;
    case SF_FORMAT_PCM_16: return 2;
    case SF_FORMAT_PCM_24: return 3;
    case SF_FORMAT_DOUBLE: return 8;
    default: return 4; /* PCM_32, FLOAT */
    }
}

/* The frames the container's header declares, from libsndfile's log of
   it: the data chunk's bytes (WAV, W64, RF64 "data : 640 (should be 100)",
   AIFF "SSND") over the bytes of a frame, or a frame count (AIFF's COMM, a
   W64 or WAV fact chunk: "Frames : 20").  -1 when the log says neither;
   values of 0x7FFFFF00 or more are a streaming writer's "unknown". */
static long long declared_frames(const char *log, long long frame)
{
    long long most = -1;
    for (const char *line = log; *line != '\0';) {
        const char *end = strchr(line, '\n'), *key = line, *colon = strchr(line, ':');
        long long v;
        size_t klen;
        if (end == NULL)
            end = line + strlen(line);
        while (*key == ' ')
            key++;
        klen = colon != NULL && colon < end ? (size_t)(colon - key) : 0;
        while (klen > 0 && key[klen - 1] == ' ')
            klen--;
        if (klen > 0 && sscanf(colon + 1, "%lld", &v) == 1 && v >= 0 && v < 0x7FFFFF00LL) {
            if ((klen == 4 && (strncmp(key, "data", 4) == 0 || strncmp(key, "SSND", 4) == 0)) &&
                strstr(colon, "(should be ") != NULL && strstr(colon, "(should be ") < end)
                most = v / frame > most ? v / frame : most;
            else if (klen == 6 && (strncmp(key, "Frames", 6) == 0 || strncmp(key, "frames", 6) == 0))
                most = v > most ? v : most;
        }
        line = *end != '\0' ? end + 1 : end;
    }
    return most;
}

/* A container that declares more frames than the file holds (a copy cut
   short): libsndfile reads the frames there and only logs the difference,
   so they would go missing without a word.  Refused as every reader
   refuses a file cut short.  Not refused: a declared size short of a whole
   frame (padding), a header declaring fewer (a writer killed before it
   updated it), a streamed length.  libsndfile keeps the first 2 KiB of its
   log: a header logged longer (a CAF's peak chunk of many channels) is not
   checked. */
static km_status check_cut_short(km_ctx *ctx, SNDFILE *sf, const SF_INFO *si)
{
    char log[4096];
    long long frame = (long long)sample_bytes(si->format & SF_FORMAT_SUBMASK) * si->channels;
    long long declared;
    log[0] = '\0';
    if ((si->format & SF_FORMAT_TYPEMASK) == SF_FORMAT_FLAC)
        return KM_OK;
    sf_command(sf, SFC_GET_LOG_INFO, log, (int)sizeof log);
    log[sizeof log - 1] = '\0';
    declared = declared_frames(log, frame);
    if (declared > (long long)si->frames)
        return km_fail(ctx, KM_ERR_FORMAT,
                       "the audio header declares %lld frames but the file holds %lld: a file cut "
                       "short?", declared, (long long)si->frames);
    return KM_OK;
}

/* One channel per taxel, or a single channel of flattened frames: the
   frame count and rate each gives. */
static km_status frame_layout(km_ctx *ctx, km_reader *r, audio_impl *a, const SF_INFO *si,
                              const km_comment_meta *m, const km_read_options *opt, int64_t rows,
                              int64_t cols)
{
    int64_t taxels = rows * cols;
    a->taxels = (size_t)taxels;
    if (si->channels > 1 || taxels == 1) {
        if (si->channels != taxels)
            return km_fail(ctx, KM_ERR_FORMAT,
                           "%d channels but the grid %lldx%lld needs %lld (one channel per "
                           "taxel, or a single channel of flattened frames)",
                           si->channels, (long long)rows, (long long)cols, (long long)taxels);
        a->flat = 0;
        a->n_frames = si->frames;
        r->info.frame_rate_hz = m->rate > 0 ? m->rate : (double)si->samplerate;
        if (m->rate > 0)
            km_reader_rate_from(r, "the comment's rate=%g", m->rate);
        else
            km_reader_rate_from(r, "the sample rate %d Hz", si->samplerate);
    } else {
        int64_t rest = si->frames % taxels;
        a->flat = 1;
        a->n_frames = si->frames / taxels;
        if (rest != 0)
            return km_fail(ctx, KM_ERR_FORMAT,
                           "frame %lld is incomplete: %lld of %lld samples (%lld samples is not "
                           "a multiple of rows*cols = %lld)",
                           (long long)a->n_frames, (long long)rest, (long long)taxels,
                           (long long)si->frames, (long long)taxels);
        if (m->rate > 0)
            r->info.frame_rate_hz = m->rate;
        else if (opt != NULL && opt->frame_rate_hz > 0)
            r->info.frame_rate_hz = opt->frame_rate_hz;
        else
            r->info.frame_rate_hz = (double)si->samplerate / (double)taxels;
        if (m->rate > 0)
            km_reader_rate_from(r, "the comment's rate=%g", m->rate);
        else
            km_reader_rate_from(r, "the sample rate %d Hz over %lld taxels a frame", si->samplerate, (long long)taxels);
    }
    return km_reader_add_header(ctx, r, "layout", a->flat ? "flattened" : "channel per taxel");
}

/* What the comment said about the geometry and the session, into info. */
static void take_meta(km_reader *r, const km_comment_meta *m)
{
    if (m->row_pitch > 0) {
        r->info.row_pitch_mm = m->row_pitch;
        r->info.col_pitch_mm = m->col_pitch;
        km_reader_pitch_from(r, 0, "the comment's pitch=%gx%g", m->row_pitch, m->col_pitch);
        km_reader_pitch_from(r, 1, "the comment's pitch=%gx%g", m->row_pitch, m->col_pitch);
    }
    if (m->units[0] != '\0') { /* kPa as written in any case; psi, Pa, MPa read converted to kPa */
        double scale;
        snprintf(r->info.units, sizeof r->info.units, "%s", km_units_from_file(m->units, &scale));
        km_reader_units_from(r, m->units, NULL);
    }
    if (m->mode >= 0)
        r->info.mode = m->mode;
    if (m->radius > 0)
        r->info.roller_radius_mm = m->radius;
}

km_status km_open_audio(km_ctx *ctx, km_reader *r, const km_read_options *opt)
{
    km_status st = KM_OK;
    audio_impl *a;
    SF_INFO si;
    km_comment_meta m;
    int64_t rows = 0, cols = 0;
    const char *comment;

    km_comment_meta_init(&m);
    if ((st = km_sndfile_load(ctx)) != KM_OK)
        return st; /* the caller names the file */
    a = km_reader_alloc(r, sizeof *a);
    if (a == NULL)
        return km_fail(ctx, KM_ERR_NOMEM, "out of memory");
    memset(a, 0, sizeof *a);
    r->impl = a;
    r->ops = &audio_ops;
    r->info.format = KM_FORMAT_AUDIO;

    memset(&si, 0, sizeof si);
    a->sf = sf_open(r->path, SFM_READ, &si);
    if (a->sf == NULL)
        return open_failed(ctx, r->path);
    if ((st = check_encoding(ctx, &si)) != KM_OK || (st = check_cut_short(ctx, a->sf, &si)) != KM_OK)
        return st;
    /* Raw counts, not [-1, 1): integer PCM values come out as integers. */
    sf_command(a->sf, SFC_SET_NORM_FLOAT, NULL, SF_FALSE);
    sf_command(a->sf, SFC_SET_NORM_DOUBLE, NULL, SF_FALSE);

    if ((st = add_sf_header(ctx, r, a->sf, &si)) != KM_OK)
        return st;
    comment = sf_get_string(a->sf, SF_STR_COMMENT);
    if (comment != NULL && (st = km_comment_parse(ctx, r, comment, 1, &m)) != KM_OK)
        return st;
    if ((st = decide_grid(ctx, &m, opt, si.channels, &rows, &cols)) != KM_OK ||
        (st = km_reader_set_geometry(ctx, r, rows, cols)) != KM_OK ||
        (st = frame_layout(ctx, r, a, &si, &m, opt, rows, cols)) != KM_OK)
        return st;
    r->info.n_frames = a->n_frames;
    r->info.saturation = pcm_saturation(si.format & SF_FORMAT_SUBMASK);
    take_meta(r, &m);
    return km_reader_apply_options(ctx, r, opt);
}

static km_status audio_read(km_ctx *ctx, km_reader *r, float *frames, double *times,
                            int64_t max_frames, int64_t *n_read)
{
    audio_impl *a = r->impl;
    int64_t n = a->n_frames - a->next, got, i;

    *n_read = 0;
    if (n > max_frames)
        n = max_frames;
    if (n <= 0)
        return KM_OK;
    if (km_ctx_cancelled(ctx))
        return km_fail(ctx, KM_ERR_CANCELLED, "cancelled");
    if (a->flat) {
        sf_count_t items = (sf_count_t)n * (sf_count_t)a->taxels;
        sf_count_t done = sf_read_float(a->sf, frames, items);
        got = done / (sf_count_t)a->taxels;
        if (done != items)
            return km_fail(ctx, KM_ERR_FORMAT,
                           "frame %lld: the samples end early (%lld of %lld frames read): %s",
                           (long long)(a->next + got), (long long)(a->next + got),
                           (long long)a->n_frames, sf_strerror(a->sf));
    } else {
        got = sf_readf_float(a->sf, frames, (sf_count_t)n);
        if (got != n)
            return km_fail(ctx, KM_ERR_FORMAT,
                           "frame %lld: the samples end early (%lld of %lld frames read): %s",
                           (long long)(a->next + (got > 0 ? got : 0)),
                           (long long)(a->next + (got > 0 ? got : 0)), (long long)a->n_frames,
                           sf_strerror(a->sf));
    }
    if (times != NULL)
        for (i = 0; i < n; i++)
            times[i] = (double)(a->next + i) / r->info.frame_rate_hz;
    a->next += n;
    *n_read = n;
    return KM_OK;
}
