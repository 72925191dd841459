/* Reader front end: format names, options, sniffing, open errors, argument
 * checks, cancellation, allocator hooks. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/reader_internal.h"
#include "knotmap.h"

#define FSCAN KM_DATASETS "/real/tekscan_fscan/FrasP01L.asf"
#define EXP2 KM_DATASETS "/real/physionet_pmd/experiment-ii/S1/Air_Mat/Matrix_Air_B1.txt"

static km_ctx *ctx;

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
}

static void teardown(void)
{
    km_ctx_free(ctx);
}

TestSuite(io_reader, .init = setup, .fini = teardown);

Test(io_reader, format_names_round_trip)
{
    const char *names[] = {"auto", "session", "tekscan", "xsensor", "text", "audio", "matlab", "npy", "npz"};
    for (int i = 0; i < 9; i++) {
        km_format f;
        cr_assert_str_eq(km_format_name((km_format)i), names[i]);
        cr_assert_eq(km_format_parse(names[i], &f), KM_OK);
        cr_assert_eq((int)f, i);
    }
    km_format f = KM_FORMAT_TEXT;
    cr_assert_null(km_format_name((km_format)9));
    cr_assert_null(km_format_name((km_format)-1));
    cr_assert_eq(km_format_parse("Tekscan", &f), KM_ERR_INVALID);
    cr_assert_eq(km_format_parse(NULL, &f), KM_ERR_INVALID);
    cr_assert_eq(f, KM_FORMAT_TEXT);
}

Test(io_reader, options_defaults)
{
    km_read_options o;
    memset(&o, 0x5a, sizeof o);
    km_read_options_default(&o);
    cr_assert_eq(o.format, KM_FORMAT_AUTO);
    cr_assert_eq(o.rows, 0);
    cr_assert_eq(o.cols, 0);
    cr_assert_eq(o.frame_rate_hz, 0.0);
    cr_assert_null(o.units);
    cr_assert_eq(o.mode, -1);
    cr_assert_eq(o.sensor, -1); /* the first, assumed when there are several (session 39) */
    cr_assert_eq(o.text_frame_per_file, -1);
}

Test(io_reader, missing_file_is_not_found_with_path)
{
    km_reader *r = (km_reader *)&r;
    cr_assert_eq(km_reader_open(ctx, "/nonexistent/dir/session.asf", NULL, &r), KM_ERR_NOT_FOUND);
    cr_assert_null(r);
    cr_assert_str_eq(km_ctx_last_error(ctx), "/nonexistent/dir/session.asf: No such file or directory");
}

Test(io_reader, directory_is_refused)
{
    km_reader *r = NULL;
    cr_assert_eq(km_reader_open(ctx, KM_TEST_DATA, NULL, &r), KM_ERR_NOT_FOUND);
    cr_assert_str_eq(km_ctx_last_error(ctx), KM_TEST_DATA ": Is a directory");
    cr_assert_null(r);
}

Test(io_reader, sniffing_by_content_then_extension)
{
    const unsigned char hdf5[16] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n', 0, 0};
    const char *tek = "DATA_TYPE MOVIE\r\nROWS 60\r\n";
    const char *tek2 = "VERSION 7\nROWS 3\nCOLS 4\n";
    const char *num = "0\t0\t12\t\r\n3 4 5\n1.5,2e3,nan\n7 8"; /* cut last line */
    const char *prose = "hello world\n";
    cr_assert_eq(km_sniff_format(hdf5, sizeof hdf5, "x.bin"), KM_FORMAT_SESSION);
    unsigned char mat[128];
    memset(mat, ' ', sizeof mat);
    memcpy(mat, "MATLAB 5.0 MAT-file, Platform: GLNXA64", 38);
    memcpy(mat + 124, "\0\x01IM", 4);
    cr_assert_eq(km_sniff_format(mat, sizeof mat, "x.bin"), KM_FORMAT_MATLAB);
    memcpy(mat + 124, "\x01\0MI", 4); /* big-endian */
    cr_assert_eq(km_sniff_format(mat, sizeof mat, "x.bin"), KM_FORMAT_MATLAB);
    cr_assert_eq(km_sniff_format(mat, 100, "x.bin"), KM_FORMAT_AUTO);    /* cut: text then */
    cr_assert_eq(km_sniff_format(mat, 100, "x.MAT"), KM_FORMAT_MATLAB);  /* by name: its reader says */
    cr_assert_eq(km_sniff_format((const unsigned char *)"\x93NUMPY\x01\0", 8, "x.bin"), KM_FORMAT_NPY);
    cr_assert_eq(km_sniff_format((const unsigned char *)prose, strlen(prose), "x.npy"), KM_FORMAT_NPY);
    /* .npz: a zip whose first member's name ends .npy; another zip by its name only */
    unsigned char zip[64] = "PK\3\4";
    zip[26] = 10;
    memcpy(zip + 30, "frames.npy", 10);
    cr_assert_eq(km_sniff_format(zip, 40, "x.bin"), KM_FORMAT_NPZ);
    cr_assert_eq(km_sniff_format(zip, 39, "x.bin"), KM_FORMAT_AUTO); /* the name cut */
    memcpy(zip + 30, "[Content_T", 10);                              /* a spreadsheet */
    cr_assert_eq(km_sniff_format(zip, 40, "x.xlsx"), KM_FORMAT_AUTO);
    cr_assert_eq(km_sniff_format(zip, 40, "x.NPZ"), KM_FORMAT_NPZ);
    cr_assert_eq(km_sniff_format((const unsigned char *)"RIFF\0\0\0\0WAVEfmt ", 16, "x"), KM_FORMAT_AUDIO);
    cr_assert_eq(km_sniff_format((const unsigned char *)"RF64", 4, "x"), KM_FORMAT_AUDIO);
    cr_assert_eq(km_sniff_format((const unsigned char *)"FORM\0\0\0\0AIFF", 12, "x"), KM_FORMAT_AUDIO);
    cr_assert_eq(km_sniff_format((const unsigned char *)"caff", 4, "x"), KM_FORMAT_AUDIO);
    cr_assert_eq(km_sniff_format((const unsigned char *)tek, strlen(tek), "a.txt"), KM_FORMAT_TEKSCAN);
    cr_assert_eq(km_sniff_format((const unsigned char *)tek2, strlen(tek2), "a.csv"), KM_FORMAT_TEKSCAN);
    cr_assert_eq(km_sniff_format((const unsigned char *)num, strlen(num), "a.asf"), KM_FORMAT_TEXT);
    cr_assert_eq(km_sniff_format((const unsigned char *)prose, strlen(prose), "a.bin"), KM_FORMAT_AUTO);
    cr_assert_eq(km_sniff_format((const unsigned char *)prose, strlen(prose), "a.H5"), KM_FORMAT_SESSION);
    cr_assert_eq(km_sniff_format((const unsigned char *)prose, strlen(prose), "dir.wav/a.asf"), KM_FORMAT_TEKSCAN);
    cr_assert_eq(km_sniff_format((const unsigned char *)prose, strlen(prose), "a.txt"), KM_FORMAT_TEXT);
    cr_assert_eq(km_sniff_format((const unsigned char *)"", 0, "noext"), KM_FORMAT_AUTO);
}

/* An XSENSOR block export without its Software line or sensel sizes is told
   by its block keys ("Rows:", "Columns:", "Frame:", quoted or not, then a
   separator), not read as text; words that only resemble them are not. */
Test(io_reader, sniffing_xsensor_block_keys)
{
    static const char *const xs[] = {"\"Rows:\",\"65000\"\n\"Columns:\",\"4\"\n1,2,3,4\n",
                                     "Rows:;3\r\nColumns:;4\r\n1;2;3;4\r\n",
                                     "\"Sensor:\",\"L\"\n \"Frame:\" ,\"1\"\n1,2\n",
                                     "Cols:\t4\n1\t2\t3\t4\n"};
    static const char *const not_xs[] = {"Rows: 3\n1 2 3\n", "Rows,Columns\n1,2\n",
                                         "\"Rowsx:\",3\n1,2\n", "# Frame: 1\n1,2\n"};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
        cr_assert_eq(km_sniff_format((const unsigned char *)xs[i], strlen(xs[i]), "a.csv"),
                     KM_FORMAT_XSENSOR, "%s", xs[i]);
    for (size_t i = 0; i < sizeof not_xs / sizeof not_xs[0]; i++)
        cr_assert_neq(km_sniff_format((const unsigned char *)not_xs[i], strlen(not_xs[i]), "a.csv"),
                      KM_FORMAT_XSENSOR, "%s", not_xs[i]);
}

Test(io_reader, auto_picks_tekscan_for_asf_and_text_for_txt)
{
    km_reader *r = NULL;
    km_session_info in;
    cr_assert_eq(km_reader_open(ctx, FSCAN, NULL, &r), KM_OK, "%s", km_ctx_last_error(ctx));
    km_reader_info(r, &in);
    cr_assert_eq(in.format, KM_FORMAT_TEKSCAN);
    km_reader_free(r);
    cr_assert_eq(km_reader_open(ctx, EXP2, NULL, &r), KM_OK, "%s", km_ctx_last_error(ctx));
    km_reader_info(r, &in);
    cr_assert_eq(in.format, KM_FORMAT_TEXT);
    km_reader_free(r);
}

/* km_reader_format: what km_reader_open would read the file as, from the
 * options or the first bytes, without parsing; AUTO for a missing file or one
 * that is not regular (a FIFO is not read: its bytes would be lost). */
Test(io_reader, reader_format_without_parsing)
{
    km_format f = KM_FORMAT_SESSION;
    km_read_options o;
    char dir[] = "/tmp/km_fmt_XXXXXX", wav[64], fifo[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(wav, sizeof wav, "%s/x.dat", dir);
    snprintf(fifo, sizeof fifo, "%s/p", dir);
    FILE *fp = fopen(wav, "wb");
    cr_assert_not_null(fp);
    fwrite("RIFF\0\0\0\0WAVEfmt ", 1, 16, fp);
    fclose(fp);
    cr_assert_eq(km_reader_format(ctx, wav, NULL, &f), KM_OK);
    cr_assert_eq(f, KM_FORMAT_AUDIO);
    cr_assert_eq(km_reader_format(ctx, FSCAN, NULL, &f), KM_OK);
    cr_assert_eq(f, KM_FORMAT_TEKSCAN);
    km_read_options_default(&o);
    o.format = KM_FORMAT_TEXT; /* the option wins over the bytes */
    cr_assert_eq(km_reader_format(ctx, wav, &o, &f), KM_OK);
    cr_assert_eq(f, KM_FORMAT_TEXT);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    o.format = KM_FORMAT_AUDIO; /* not even then: not a regular file */
    cr_assert_eq(km_reader_format(ctx, fifo, &o, &f), KM_OK);
    cr_assert_eq(f, KM_FORMAT_AUTO);
    cr_assert_eq(km_reader_format(ctx, dir, NULL, &f), KM_OK);
    cr_assert_eq(f, KM_FORMAT_AUTO);
    cr_assert_eq(km_reader_format(ctx, "/nonexistent/x.wav", NULL, &f), KM_OK);
    cr_assert_eq(f, KM_FORMAT_AUTO);
    cr_assert_eq(km_reader_format(ctx, NULL, NULL, &f), KM_ERR_INVALID);
    cr_assert_eq(km_reader_format(ctx, wav, NULL, NULL), KM_ERR_INVALID);
    unlink(fifo);
    unlink(wav);
    rmdir(dir);
}

Test(io_reader, forced_wrong_format_fails_with_path)
{
    km_read_options o;
    km_reader *r = NULL;
    km_read_options_default(&o);
    o.format = KM_FORMAT_TEKSCAN;
    cr_assert_eq(km_reader_open(ctx, EXP2, &o, &r), KM_ERR_FORMAT);
    cr_assert_null(r);
    cr_assert_not_null(strstr(km_ctx_last_error(ctx), EXP2 ": line "), "%s", km_ctx_last_error(ctx));
    o.format = KM_FORMAT_TEXT;
    cr_assert_eq(km_reader_open(ctx, FSCAN, &o, &r), KM_ERR_FORMAT);
    cr_assert_not_null(strstr(km_ctx_last_error(ctx), FSCAN ": line 1: non-numeric value 'DATA_TYPE'"), "%s",
                       km_ctx_last_error(ctx));
}

Test(io_reader, invalid_options_are_refused)
{
    km_read_options o;
    km_reader *r = NULL;
    km_read_options_default(&o);
    o.rows = -3;
    cr_assert_eq(km_reader_open(ctx, EXP2, &o, &r), KM_ERR_INVALID);
    km_read_options_default(&o);
    o.rows = 100000000;
    cr_assert_eq(km_reader_open(ctx, EXP2, &o, &r), KM_ERR_LIMIT);
    km_read_options_default(&o);
    o.units = "furlong"; /* psi is read, converted (session 46) */
    cr_assert_eq(km_reader_open(ctx, EXP2, &o, &r), KM_ERR_INVALID);
    cr_assert_str_eq(km_ctx_last_error(ctx),
                     "the units given ('furlong'): knotmap reads kPa, mmHg, N/cm2, psi, Pa, MPa or raw",
                     "the option's fault, without the path: %s", km_ctx_last_error(ctx));
    static const char *const UNITS[] = {"kPa", "mmHg", "N/cm2", "psi", "Pa", "MPa", "raw"};
    for (int32_t i = 0; i < 7; i++) /* the one list */
        cr_assert_str_eq(km_units_name(i), UNITS[i]);
    cr_assert_null(km_units_name(7));
    cr_assert_null(km_units_name(-1));
    km_read_options_default(&o);
    o.frame_rate_hz = -1;
    cr_assert_eq(km_reader_open(ctx, EXP2, &o, &r), KM_ERR_INVALID);
    km_read_options_default(&o);
    o.format = (km_format)42;
    cr_assert_eq(km_reader_open(ctx, EXP2, &o, &r), KM_ERR_INVALID);
    cr_assert_eq(km_reader_open(ctx, NULL, NULL, &r), KM_ERR_INVALID);
    cr_assert_eq(km_reader_open(ctx, EXP2, NULL, NULL), KM_ERR_INVALID);
    cr_assert_null(r);
}

Test(io_reader, options_fill_what_the_file_lacks_only)
{
    km_read_options o;
    km_reader *r = NULL;
    km_session_info in;
    km_read_options_default(&o);
    o.frame_rate_hz = 10;            /* the .asf says 31.25 Hz: a conflict */
    o.row_pitch_mm = 2;
    o.col_pitch_mm = 5.08;
    o.units = "mmHg";
    o.mode = KM_MODE_ROLLER;
    o.roller_radius_mm = 50;
    cr_assert_eq(km_reader_open(ctx, FSCAN, &o, &r), KM_ERR_INVALID);
    cr_assert_not_null(strstr(km_ctx_last_error(ctx), "(10 Hz)"), "%s", km_ctx_last_error(ctx));
    cr_assert_not_null(strstr(km_ctx_last_error(ctx), "31.25 Hz"), "names both values");
    o.frame_rate_hz = 31.25;         /* agreeing is fine; the pitch still conflicts */
    cr_assert_eq(km_reader_open(ctx, FSCAN, &o, &r), KM_ERR_INVALID);
    cr_assert_not_null(strstr(km_ctx_last_error(ctx), "5.08x5.08 mm"), "%s", km_ctx_last_error(ctx));
    o.row_pitch_mm = 5.08;
    cr_assert_eq(km_reader_open(ctx, FSCAN, &o, &r), KM_ERR_INVALID);
    cr_assert_not_null(strstr(km_ctx_last_error(ctx), "units given (mmHg)"), "%s",
                       km_ctx_last_error(ctx));
    o.units = "kPa";
    o.rows = 10;                     /* a grid conflict is never overridden */
    o.override = 1;
    cr_assert_eq(km_reader_open(ctx, FSCAN, &o, &r), KM_ERR_INVALID);
    cr_assert_not_null(strstr(km_ctx_last_error(ctx), "60x21"), "%s", km_ctx_last_error(ctx));
    o.rows = 0;
    o.frame_rate_hz = 10;
    o.row_pitch_mm = 2;
    o.units = "mmHg";
    cr_assert_eq(km_reader_open(ctx, FSCAN, &o, &r), KM_OK, "%s", km_ctx_last_error(ctx));
    km_reader_info(r, &in);          /* override: the options win */
    cr_assert_float_eq(in.frame_rate_hz, 10.0, 0);
    cr_assert_float_eq(in.row_pitch_mm, 2.0, 0);
    cr_assert_float_eq(in.col_pitch_mm, 5.08, 1e-12);
    cr_assert_str_eq(in.units, "mmHg");
    cr_assert_eq(in.mode, KM_MODE_ROLLER);
    cr_assert_float_eq(in.roller_radius_mm, 50.0, 0);
    cr_assert_str_eq(in.assumed, "insole"); /* an F-Scan is a foot, whatever the options say */
    km_reader_free(r);
    o.override = 0;
    o.col_pitch_mm = 0;
    cr_assert_eq(km_reader_open(ctx, EXP2, &o, &r), KM_OK); /* text carries none of it */
    km_reader_info(r, &in);
    cr_assert_float_eq(in.frame_rate_hz, 10.0, 0);
    cr_assert_float_eq(in.row_pitch_mm, 2.0, 0);
    cr_assert_float_eq(in.col_pitch_mm, 1.0, 0);
    cr_assert_str_eq(in.units, "mmHg");
    cr_assert(in.saturation > 1e300);
    km_reader_free(r);
}

Test(io_reader, read_checks_arguments_and_cancellation)
{
    km_reader *r = NULL;
    float buf[64 * 27];
    int64_t got = 99;
    cr_assert_eq(km_reader_open(ctx, EXP2, NULL, &r), KM_OK);
    cr_assert_eq(km_reader_read(ctx, NULL, buf, NULL, 1, &got), KM_ERR_INVALID);
    cr_assert_eq(km_reader_read(ctx, r, NULL, NULL, 1, &got), KM_ERR_INVALID);
    cr_assert_eq(km_reader_read(ctx, r, buf, NULL, -1, &got), KM_ERR_INVALID);
    cr_assert_eq(km_reader_read(ctx, r, buf, NULL, 0, &got), KM_OK);
    cr_assert_eq(got, 0);
    km_ctx_cancel(ctx);
    cr_assert_eq(km_reader_read(ctx, r, buf, NULL, 1, &got), KM_ERR_CANCELLED);
    cr_assert_not_null(strstr(km_ctx_last_error(ctx), "Matrix_Air_B1.txt"));
    km_ctx_reset_cancel(ctx);
    cr_assert_eq(km_reader_read(ctx, r, buf, NULL, 1, &got), KM_OK);
    cr_assert_eq(got, 1);
    cr_assert_float_eq(buf[0], 44.0f, 0);
    km_reader_free(r);
    km_reader_free(NULL);
}

static int allocs, frees;
static void *count_alloc(void *op, size_t n)
{
    (void)op;
    allocs++;
    return malloc(n);
}
static void count_free(void *op, void *p)
{
    (void)op;
    if (p != NULL)
        frees++;
    free(p);
}

Test(io_reader, every_allocation_goes_through_the_hooks_and_is_freed)
{
    km_allocator a = {count_alloc, count_free, NULL};
    km_ctx *c2 = NULL;
    km_reader *r = NULL;
    const char *bad = KM_TEST_DATA "/bad/tekscan_wrong_count.asf";
    cr_assert_eq(km_ctx_create_with(&a, &c2), KM_OK);
    allocs = frees = 0;
    cr_assert_eq(km_reader_open(c2, FSCAN, NULL, &r), KM_OK);
    cr_assert_gt(allocs, 3);
    km_reader_free(r);
    cr_assert_eq(allocs, frees);
    /* a failed open frees everything too */
    allocs = frees = 0;
    cr_assert_eq(km_reader_open(c2, KM_TEST_DATA "/bad/tekscan_rows_zero.asf", NULL, &r), KM_ERR_FORMAT);
    cr_assert_eq(allocs, frees);
    (void)bad;
    km_ctx_free(c2);
}
