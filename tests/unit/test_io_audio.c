/* Audio reader: files written here with libsndfile (WAV, W64, CAF, AIFF,
 * RF64; float and PCM16), channel-per-taxel and flattened layouts, the
 * comment string, and the errors (wrong channel count, missing grid, an
 * incomplete last frame, a 2048-channel WAV libsndfile refuses). */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "knotmap.h"
#include "test_util.h"

static char dir[64];
static km_ctx *ctx;

static void setup(void)
{
    km_test_make_dir(dir, sizeof dir, "km-ioaudio-");
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
}

static void teardown(void)
{
    km_ctx_free(ctx);
    cr_expect_eq(km_test_remove_dir(dir), 0);
}

TestSuite(io_audio, .init = setup, .fini = teardown);

/* Write `nframes` sample frames of `channels` channels. */
static void write_audio(const char *path, int format, int channels, int rate,
                        const float *data, sf_count_t nframes, const short *pcm,
                        const char *comment)
{
    SF_INFO si;
    SNDFILE *sf;
    memset(&si, 0, sizeof si);
    si.channels = channels;
    si.samplerate = rate;
    si.format = format;
    sf = sf_open(path, SFM_WRITE, &si);
    cr_assert_not_null(sf, "%s: %s", path, sf_strerror(NULL));
    if (comment != NULL)
        cr_assert_eq(sf_set_string(sf, SF_STR_COMMENT, comment), 0, "%s", sf_strerror(sf));
    if (pcm != NULL)
        cr_assert_eq(sf_writef_short(sf, pcm, nframes), nframes);
    else
        cr_assert_eq(sf_writef_float(sf, data, nframes), nframes);
    sf_close(sf);
}

static km_status open_audio(const char *path, int32_t rows, int32_t cols, km_reader **r)
{
    km_read_options opt;
    km_read_options_default(&opt);
    opt.format = KM_FORMAT_AUDIO;
    opt.rows = rows;
    opt.cols = cols;
    return km_reader_open(ctx, path, &opt, r);
}

enum { R = 4, C = 3, T = 9 };

static void fill(float *v, int n)
{
    for (int i = 0; i < n; i++) /* values a normalising reader would change */
        v[i] = (float)(i * 3.25 - 40.0) * (i % 3 == 0 ? 1e-3f : 1.0f);
}

static void read_all(km_reader *r, float *out, double *times, int64_t want)
{
    int64_t n, total = 0;
    while (km_reader_read(ctx, r, out + total * R * C, times + total, 4, &n) == KM_OK && n > 0)
        total += n;
    cr_assert_eq(total, want, "%s", km_ctx_last_error(ctx));
}

Test(io_audio, float_channel_per_taxel_every_container)
{
    static const struct {
        const char *name;
        int format;
        int comment; /* W64 cannot carry strings */
    } kinds[] = {
        {"a.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 1},
        {"a.w64", SF_FORMAT_W64 | SF_FORMAT_FLOAT, 0},
        {"a.caf", SF_FORMAT_CAF | SF_FORMAT_FLOAT, 1},
        {"a.aiff", SF_FORMAT_AIFF | SF_FORMAT_FLOAT, 1},
        {"a.rf64", SF_FORMAT_RF64 | SF_FORMAT_FLOAT, 1},
    };
    float data[T * R * C], back[T * R * C];
    double times[T];
    char path[128];

    fill(data, T * R * C);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        km_reader *r = NULL;
        km_session_info info;
        snprintf(path, sizeof path, "%s/%s", dir, kinds[k].name);
        write_audio(path, kinds[k].format, R * C, 100, data, T, NULL,
                    kinds[k].comment ? "knotmap grid=4x3 units=kPa" : NULL);
        cr_assert_eq(kinds[k].comment ? open_audio(path, 0, 0, &r) : open_audio(path, R, C, &r),
                     KM_OK, "%s", km_ctx_last_error(ctx));
        km_reader_info(r, &info);
        cr_expect_eq(info.format, KM_FORMAT_AUDIO);
        cr_expect_eq(info.rows, R, "%s", kinds[k].name);
        cr_expect_eq(info.cols, C);
        cr_expect_eq(info.n_frames, T);
        cr_expect_eq(info.frame_rate_hz, 100.0);
        cr_expect_str_eq(info.units, kinds[k].comment ? "kPa" : "raw");
        read_all(r, back, times, T);
        cr_expect_eq(memcmp(back, data, sizeof data), 0, "%s: float samples bit-exact",
                     kinds[k].name);
        cr_expect_eq(times[3], 0.03);
        km_reader_free(r);
    }
}

Test(io_audio, pcm16_gives_raw_counts)
{
    short pcm[T * R * C];
    float back[T * R * C];
    double times[T];
    char path[128];
    km_reader *r = NULL;
    km_session_info info;

    for (int i = 0; i < T * R * C; i++)
        pcm[i] = (short)(i * 601 - 32768);
    pcm[1] = 32767;
    snprintf(path, sizeof path, "%s/p.wav", dir);
    write_audio(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, R * C, 25, NULL, T, pcm, NULL);
    cr_assert_eq(open_audio(path, R, C, &r), KM_OK, "%s", km_ctx_last_error(ctx));
    read_all(r, back, times, T);
    for (int i = 0; i < T * R * C; i++)
        cr_expect_eq(back[i], (float)pcm[i], "sample %d: %g != %d", i, back[i], pcm[i]);
    km_reader_info(r, &info);
    cr_expect_str_eq(info.units, "raw");
    cr_expect_eq(info.saturation, 32767.0);
    cr_expect_eq(info.frame_rate_hz, 25.0);
    cr_expect_str_eq(km_test_header_value(r, "channels"), "12");
    cr_expect_str_eq(km_test_header_value(r, "layout"), "channel per taxel");
    km_reader_free(r);
}

Test(io_audio, flattened_single_channel)
{
    float data[T * R * C], back[T * R * C];
    double times[T];
    char path[128];
    km_reader *r = NULL;
    km_session_info info;
    km_read_options opt;

    fill(data, T * R * C);
    snprintf(path, sizeof path, "%s/flat.wav", dir);
    write_audio(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 1, 1200, data, T * R * C, NULL, NULL);
    cr_assert_eq(open_audio(path, R, C, &r), KM_OK, "%s", km_ctx_last_error(ctx));
    km_reader_info(r, &info);
    cr_expect_eq(info.n_frames, T);
    cr_expect_eq(info.frame_rate_hz, 100.0, "taxel rate 1200 / 12 taxels");
    read_all(r, back, times, T);
    cr_expect_eq(memcmp(back, data, sizeof data), 0);
    cr_expect_eq(times[2], 0.02);
    cr_expect_str_eq(km_test_header_value(r, "layout"), "flattened");
    km_reader_free(r);

    /* A rate given by the caller wins over the derived one. */
    km_read_options_default(&opt);
    opt.format = KM_FORMAT_AUDIO;
    opt.rows = R;
    opt.cols = C;
    opt.frame_rate_hz = 60;
    cr_assert_eq(km_reader_open(ctx, path, &opt, &r), KM_OK);
    km_reader_info(r, &info);
    cr_expect_eq(info.frame_rate_hz, 60.0);
    km_reader_free(r);
}

Test(io_audio, comment_string_geometry)
{
    float data[T * R * C];
    char path[128];
    km_reader *r = NULL;
    km_session_info info;

    fill(data, T * R * C);
    snprintf(path, sizeof path, "%s/c.caf", dir);
    write_audio(path, SF_FORMAT_CAF | SF_FORMAT_FLOAT, 1, 1000, data, T * R * C, NULL,
                "knotmap  grid=4x3 pitch=9.8x10\tunits=mmHg mode=roller roller_radius_mm=50 "
                "rate=12.5 operator=anna");
    cr_assert_eq(open_audio(path, 0, 0, &r), KM_OK, "%s", km_ctx_last_error(ctx));
    km_reader_info(r, &info);
    cr_expect_eq(info.rows, 4);
    cr_expect_eq(info.cols, 3);
    cr_expect_eq(info.row_pitch_mm, 9.8);
    cr_expect_eq(info.col_pitch_mm, 10.0);
    cr_expect_str_eq(info.units, "mmHg");
    cr_expect_eq(info.mode, KM_MODE_ROLLER);
    cr_expect_eq(info.roller_radius_mm, 50.0);
    cr_expect_eq(info.frame_rate_hz, 12.5, "rate= wins over the derived taxel rate");
    cr_expect_str_eq(km_test_header_value(r, "operator"), "anna", "unknown keys are kept");
    km_reader_free(r);
}

static void expect_error(const char *path, int32_t rows, int32_t cols, km_status want,
                         const char *frag1, const char *frag2)
{
    km_reader *r = NULL;
    km_status st = open_audio(path, rows, cols, &r);
    const char *e = km_ctx_last_error(ctx);
    cr_expect_eq(st, want, "%s: status %d: %s", path, (int)st, e);
    cr_expect_null(r);
    cr_expect_eq(strncmp(e, path, strlen(path)), 0, "detail names the file: %s", e);
    if (frag1)
        cr_expect_not_null(strstr(e, frag1), "'%s' lacks '%s'", e, frag1);
    if (frag2)
        cr_expect_not_null(strstr(e, frag2), "'%s' lacks '%s'", e, frag2);
    km_reader_free(r);
}

Test(io_audio, errors_name_what_is_wrong)
{
    float data[T * R * C];
    char path[128];

    fill(data, T * R * C);
    snprintf(path, sizeof path, "%s/e12.wav", dir);
    write_audio(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, R * C, 100, data, T, NULL, NULL);
    expect_error(path, 4, 4, KM_ERR_FORMAT, "12 channels", "4x4 needs 16");
    expect_error(path, 0, 0, KM_ERR_INVALID, "12 channels and no grid", NULL);

    snprintf(path, sizeof path, "%s/ebad.wav", dir);
    write_audio(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, R * C, 100, data, T, NULL,
                "knotmap grid=4y3");
    expect_error(path, 0, 0, KM_ERR_FORMAT, "grid=4y3", NULL);
    snprintf(path, sizeof path, "%s/ebad2.wav", dir);
    write_audio(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, R * C, 100, data, T, NULL,
                "knotmap grid=4x3 pitch=-2");
    expect_error(path, 0, 0, KM_ERR_FORMAT, "pitch=-2", NULL);

    snprintf(path, sizeof path, "%s/eclash.wav", dir);
    write_audio(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, R * C, 100, data, T, NULL,
                "knotmap grid=4x3");
    expect_error(path, 3, 4, KM_ERR_INVALID, "disagrees", NULL);

    /* 2 full frames and 1 of 12 samples of the third. */
    snprintf(path, sizeof path, "%s/eflat.wav", dir);
    write_audio(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 1, 1200, data, 25, NULL, NULL);
    expect_error(path, R, C, KM_ERR_FORMAT, "frame 2 is incomplete", "1 of 12");
    expect_error(path, 0, 0, KM_ERR_INVALID, "no grid", NULL);

    snprintf(path, sizeof path, "%s/text.wav", dir);
    FILE *f = fopen(path, "w");
    fputs("not audio at all", f);
    fclose(f);
    expect_error(path, R, C, KM_ERR_FORMAT, "cannot open it as audio", NULL);
}

static void put16(unsigned char *p, unsigned v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static void put32(unsigned char *p, unsigned long v)
{
    put16(p, (unsigned)(v & 0xffff));
    put16(p + 2, (unsigned)(v >> 16));
}

/* libsndfile refuses to write more than 1024 channels, so the file is
 * made by hand: a valid float WAV header for 2048 channels and 2 frames. */
Test(io_audio, more_than_1024_channels_is_explained)
{
    enum { CH = 2048, NF = 2 };
    unsigned long data_bytes = (unsigned long)CH * NF * 4;
    unsigned char hdr[44];
    char path[128];
    FILE *f;
    float zero[CH] = {0};

    memcpy(hdr, "RIFF", 4);
    put32(hdr + 4, 36 + data_bytes);
    memcpy(hdr + 8, "WAVEfmt ", 8);
    put32(hdr + 16, 16);
    put16(hdr + 20, 3); /* IEEE float */
    put16(hdr + 22, CH);
    put32(hdr + 24, 100);
    put32(hdr + 28, 100ul * CH * 4);
    put16(hdr + 32, CH * 4);
    put16(hdr + 34, 32);
    memcpy(hdr + 36, "data", 4);
    put32(hdr + 40, data_bytes);
    snprintf(path, sizeof path, "%s/wide.wav", dir);
    f = fopen(path, "wb");
    fwrite(hdr, 1, sizeof hdr, f);
    for (int i = 0; i < NF; i++)
        fwrite(zero, sizeof zero, 1, f);
    fclose(f);
    expect_error(path, 32, 64, KM_ERR_UNSUPPORTED, "2048 channels",
                 "more than 1024 channels: use the single-channel flattened layout");
}
