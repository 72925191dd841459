/* XSENSOR CSV reader: both layouts, decimal commas, two sensors, CRLF/LF,
 * irregular and wrapping times, block sizes, sniffing, every bad file. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "knotmap.h"
#include "io/reader_internal.h"
#include "io/text_scan.h"
#include "test_util.h"

#define GOOD KM_TEST_DATA "/good/"
#define BLOCK2 GOOD "xsensor_block_2sensors.csv"
#define BLOCK_SEMI GOOD "xsensor_block_semicolon_crlf.csv"
#define WIDE2 GOOD "xsensor_wide_2sensors.csv"
#define WIDE_SEMI GOOD "xsensor_wide_semicolon_crlf.csv"
#define PSI_KPA 6.894757293168361

static km_ctx *ctx;

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
}

static void teardown(void)
{
    km_ctx_free(ctx);
}

TestSuite(io_xsensor, .init = setup, .fini = teardown);

static km_reader *open_sensor(const char *path, km_format fmt, int sensor)
{
    km_read_options o;
    km_read_options_default(&o);
    o.format = fmt;
    o.sensor = sensor;
    return km_test_open(ctx, path, &o);
}

Test(io_xsensor, scan_number_comma)
{
    const char *s;
    double v;
    const char *a = "1,25";
    cr_assert_eq(km_scan_number_comma(a, a + 4, &s, &v), 0);
    cr_assert_eq(v, 1.25);
    cr_assert_eq(s, a + 4);
    const char *b = "-3,5e2;";
    cr_assert_eq(km_scan_number_comma(b, b + 7, &s, &v), 0);
    cr_assert_eq(v, -350.0);
    cr_assert_eq(*s, ';');
    const char *c = "1.5"; /* a point is not the decimal mark here */
    cr_assert_eq(km_scan_number_comma(c, c + 3, &s, &v), 0);
    cr_assert_eq(v, 1.0);
    cr_assert_eq(s, c + 1);
    const char *d = "0,1";  /* same double as the '.' scanner gives */
    double w;
    cr_assert_eq(km_scan_number_comma(d, d + 3, &s, &v), 0);
    cr_assert_eq(km_scan_number("0.1", "0.1" + 3, &s, &w), 0);
    cr_assert_eq(v, w);
    cr_assert_eq(km_scan_number_comma("x", "x" + 1, &s, &v), -1);
}

Test(io_xsensor, block_layout_sensor0_decimal_commas)
{
    km_reader *r = open_sensor(BLOCK2, KM_FORMAT_AUTO, 0);
    km_session_info in;
    km_reader_info(r, &in);
    cr_assert_eq(in.format, KM_FORMAT_XSENSOR);
    cr_assert_eq(in.rows, 3);
    cr_assert_eq(in.cols, 4);
    cr_assert_eq(in.n_frames, 3);
    cr_assert_float_eq(in.row_pitch_mm, 6.35, 1e-12);  /* Sensel Height 0,635 cm */
    cr_assert_float_eq(in.col_pitch_mm, 12.7, 1e-12);  /* Sensel Width 1,27 cm */
    cr_assert_str_eq(in.units, "mmHg");
    cr_assert_float_eq(in.frame_rate_hz, 2.0 / 0.03, 1e-6); /* 1 / mean step */
    cr_assert_eq(in.n_valid, 12);

    /* the lines before the first Frame key, then the first block's keys */
    const char *keys[] = {"Software", "Session", "Frame", "Date", "Time", "Sensor", "Rows", "Columns",
                          "Sensel Width (cm)", "Sensel Height (cm)", "Units", "Average Pressure (mmHg)",
                          "knotmap_xsensor"};
    cr_assert_eq(km_reader_header_count(r), 13);
    for (size_t i = 0; i < 13; i++) {
        const char *k, *v;
        km_reader_header_get(r, i, &k, &v);
        cr_assert_str_eq(k, keys[i]);
    }
    cr_assert_str_eq(km_test_header_value(r, "Session"), "roller test, day 1");
    cr_assert_str_eq(km_test_header_value(r, "Sensel Width (cm)"), "1,27");
    cr_assert_str_eq(km_test_header_value(r, "Sensor"), "Left");

    float *f;
    double *t;
    cr_assert_eq(km_test_read_all(ctx, r, 2, &f, &t), 3);
    const float f1[12] = {0, 1.5f, 2.25f, 0, 3, 4, 5.5f, 6, 0, 7, 8, 0};
    for (int i = 0; i < 12; i++) {
        cr_assert_eq(f[i], f1[i], "frame 1 taxel %d", i);
        cr_assert_eq(f[24 + i], f1[i] + (f1[i] != 0 ? 2.0f : 0.0f), "frame 3 taxel %d", i);
    }
    cr_assert_float_eq(t[0], 0.0, 0);
    cr_assert_float_eq(t[1], 0.010, 1e-9);
    cr_assert_float_eq(t[2], 0.030, 1e-9); /* irregular: times as given */
    free(f);
    free(t);
    km_reader_free(r);
}

Test(io_xsensor, block_layout_sensor1_has_its_own_grid)
{
    km_reader *r = open_sensor(BLOCK2, KM_FORMAT_XSENSOR, 1);
    km_session_info in;
    km_reader_info(r, &in);
    cr_assert_eq(in.rows, 2);
    cr_assert_eq(in.cols, 3);
    cr_assert_eq(in.n_frames, 3);
    cr_assert_str_eq(in.units, "kPa");
    cr_assert_float_eq(in.row_pitch_mm, 8.0, 1e-12);
    cr_assert_float_eq(in.col_pitch_mm, 5.0, 1e-12);
    cr_assert_str_eq(km_test_header_value(r, "Software"), "XSENSOR Pro V8");
    cr_assert_str_eq(km_test_header_value(r, "Sensor"), "Right");
    cr_assert_str_eq(km_test_header_value(r, "Units"), "kPa");
    cr_assert_null(km_test_header_value(r, "Average Pressure (mmHg)"), "sensor 0's keys are not sensor 1's header");

    float *f;
    double *t;
    cr_assert_eq(km_test_read_all(ctx, r, 1, &f, &t), 3);
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 6; i++)
            cr_assert_eq(f[k * 6 + i], (float)((i < 3 ? 10 : 40) + 10 * (i % 3) + k), "frame %d taxel %d", k, i);
    cr_assert_float_eq(t[2], 0.030, 1e-9);
    free(f);
    free(t);
    km_reader_free(r);
}

Test(io_xsensor, missing_sensor_is_a_format_error)
{
    km_read_options o;
    km_reader *r = NULL;
    km_read_options_default(&o);
    o.sensor = 2;
    cr_assert_eq(km_reader_open(ctx, BLOCK2, &o, &r), KM_ERR_FORMAT);
    cr_assert_null(r);
    cr_assert_not_null(strstr(km_ctx_last_error(ctx), BLOCK2 ": line 83: sensor 2 requested, but the file holds 2 "
                                                              "sensors (0 'Left', 1 'Right')"),
                       "%s", km_ctx_last_error(ctx));
    cr_assert_eq(km_reader_open(ctx, WIDE2, &o, &r), KM_ERR_FORMAT);
    cr_assert_not_null(strstr(km_ctx_last_error(ctx), "line 4: sensor 2 requested, but the columns hold 2 sensors"),
                       "%s", km_ctx_last_error(ctx));
}

Test(io_xsensor, block_semicolon_crlf_psi_converted)
{
    km_reader *r = open_sensor(BLOCK_SEMI, KM_FORMAT_AUTO, 0);
    km_session_info in;
    km_reader_info(r, &in);
    cr_assert_eq(in.format, KM_FORMAT_XSENSOR);
    cr_assert_eq(in.rows, 2);
    cr_assert_eq(in.cols, 2);
    cr_assert_str_eq(in.units, "kPa");
    cr_assert_str_eq(km_test_header_value(r, "Units"), "PSI", "the original unit stays in the header");
    cr_assert_not_null(strstr(km_test_header_value(r, "knotmap_xsensor"), "converted=PSI->kPa"));
    cr_assert_float_eq(in.row_pitch_mm, 10.16, 1e-12);
    cr_assert_float_eq(in.frame_rate_hz, 4.0, 1e-9); /* 08:15:30,5 -> 08:15:30,75 */
    float *f;
    double *t;
    cr_assert_eq(km_test_read_all(ctx, r, 4096, &f, &t), 2);
    const double psi[8] = {1, 2.5, 3, 4, 5, 6, 7, 8.25};
    for (int i = 0; i < 8; i++)
        cr_assert_float_eq(f[i], (float)(psi[i] * PSI_KPA), 1e-6 * psi[i] * PSI_KPA, "value %d", i);
    cr_assert_float_eq(t[1], 0.25, 1e-9);
    free(f);
    free(t);
    km_reader_free(r);
}

Test(io_xsensor, wide_layout_two_insoles_outline_and_midnight)
{
    km_reader *r = open_sensor(WIDE2, KM_FORMAT_AUTO, 0);
    km_session_info in;
    km_reader_info(r, &in);
    cr_assert_eq(in.format, KM_FORMAT_XSENSOR);
    cr_assert_eq(in.rows, 2);
    cr_assert_eq(in.cols, 3);
    cr_assert_eq(in.n_frames, 3);
    cr_assert_eq(in.n_valid, 5);
    const uint8_t mexp[6] = {0, 1, 1, 1, 1, 1}; /* S_1_1 not exported: outside the outline */
    cr_assert_arr_eq(km_reader_mask(r), mexp, 6);
    cr_assert_float_eq(in.col_pitch_mm, 5.0, 1e-12);
    cr_assert_str_eq(in.units, "kPa"); /* from "Peak Pressure (kPa)" */
    cr_assert_float_eq(in.frame_rate_hz, 25.0, 1e-6);
    cr_assert_str_eq(km_test_header_value(r, "XSENSOR Export"), "X3 PRO 8.0");
    cr_assert_str_eq(km_test_header_value(r, "Insole"), "Left");
    cr_assert_str_eq(km_test_header_value(r, "Date"), "05/03/2024");
    float *f;
    double *t;
    cr_assert_eq(km_test_read_all(ctx, r, 7, &f, &t), 3);
    for (int k = 0; k < 3; k++) {
        const float fk = (float)k, e[6] = {0, 1.0f + fk, 2.0f + fk, 3.0f + fk, 4.0f + fk, 5.5f + fk};
        for (int i = 0; i < 6; i++)
            cr_assert_eq(f[k * 6 + i], e[i], "frame %d taxel %d", k, i);
    }
    /* 23:59:59.950, 23:59:59.990, 00:00:00.030: across midnight */
    cr_assert_float_eq(t[0], 0.0, 0);
    cr_assert_float_eq(t[1], 0.04, 1e-9);
    cr_assert_float_eq(t[2], 0.08, 1e-9);
    free(f);
    free(t);
    km_reader_free(r);

    r = open_sensor(WIDE2, KM_FORMAT_XSENSOR, 1);
    km_reader_info(r, &in);
    cr_assert_eq(in.rows, 2);
    cr_assert_eq(in.cols, 2);
    cr_assert_eq(in.n_valid, 4);
    cr_assert_str_eq(km_test_header_value(r, "Insole"), "Right");
    cr_assert_eq(km_test_read_all(ctx, r, 2, &f, &t), 3);
    const float e2[4] = {12, 22, 32, 42.25f};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(f[8 + i], e2[i]);
    cr_assert_float_eq(t[2], 0.08, 1e-9, "the second insole uses the row's time");
    free(f);
    free(t);
    km_reader_free(r);
}

Test(io_xsensor, wide_semicolon_zero_based_elapsed_bom)
{
    km_reader *r = open_sensor(WIDE_SEMI, KM_FORMAT_AUTO, 0);
    km_session_info in;
    km_reader_info(r, &in);
    cr_assert_eq(in.format, KM_FORMAT_XSENSOR);
    cr_assert_eq(in.rows, 2);
    cr_assert_eq(in.cols, 2);
    cr_assert_eq(in.n_frames, 4);
    cr_assert_str_eq(in.units, "N/cm2");
    cr_assert_float_eq(in.row_pitch_mm, 8.0, 1e-12); /* Sensel Height (mm) */
    cr_assert_float_eq(in.frame_rate_hz, 3.0 / 0.045, 1e-6);
    cr_assert_str_eq(km_test_header_value(r, "Units"), "N/cm2", "the BOM is not part of the first key");
    float *f;
    double *t;
    cr_assert_eq(km_test_read_all(ctx, r, 3, &f, &t), 4);
    const double el[4] = {0, 0.010, 0.025, 0.045};
    for (int k = 0; k < 4; k++) {
        const float fk = (float)k, e[4] = {0.5f + fk, 1.25f + fk, 2.0f + fk, 3.75f + fk};
        for (int i = 0; i < 4; i++)
            cr_assert_eq(f[k * 4 + i], e[i], "frame %d taxel %d", k, i);
        cr_assert_float_eq(t[k], el[k], 1e-12);
    }
    free(f);
    free(t);
    km_reader_free(r);
}

/* Copy `src` to a temporary file, LF <-> CRLF swapped. */
static void swap_line_ends(const char *src, char *dir, size_t dir_cap, char *path, size_t cap)
{
    km_test_make_dir(dir, dir_cap, "km_xs_");
    km_test_path(path, cap, dir, "swapped.csv");
    FILE *in = fopen(src, "rb"), *out = fopen(path, "wb");
    cr_assert(in && out);
    int c, prev = 0;
    while ((c = fgetc(in)) != EOF) {
        if (c == '\r')
            ;
        else if (c == '\n') {
            if (prev != '\r')
                fputc('\r', out);
            fputc('\n', out);
        } else
            fputc(c, out);
        prev = c;
    }
    fclose(in);
    fclose(out);
}

Test(io_xsensor, crlf_and_lf_read_the_same)
{
    const char *files[4] = {BLOCK2, BLOCK_SEMI, WIDE2, WIDE_SEMI};
    for (int i = 0; i < 4; i++) {
        char dir[64], path[256];
        swap_line_ends(files[i], dir, sizeof dir, path, sizeof path);
        km_reader *a = open_sensor(files[i], KM_FORMAT_AUTO, 0);
        km_reader *b = open_sensor(path, KM_FORMAT_AUTO, 0);
        km_session_info ia, ib;
        km_reader_info(a, &ia);
        km_reader_info(b, &ib);
        cr_assert_eq(ia.rows, ib.rows);
        cr_assert_eq(ia.cols, ib.cols);
        km_test_same_headers(a, b);
        float *fa, *fb;
        double *ta, *tb;
        int64_t na = km_test_read_all(ctx, a, 1, &fa, &ta), nb = km_test_read_all(ctx, b, 4096, &fb, &tb);
        cr_assert_eq(na, nb);
        cr_assert_gt(na, 1);
        cr_assert_arr_eq(fa, fb, (size_t)na * ia.rows * ia.cols * sizeof(float), "%s", files[i]);
        cr_assert_arr_eq(ta, tb, (size_t)na * sizeof(double));
        free(fa);
        free(fb);
        free(ta);
        free(tb);
        km_reader_free(a);
        km_reader_free(b);
        remove(path);
        rmdir(dir);
    }
}

Test(io_xsensor, blocks_of_1_7_4096_identical_and_end_gives_0)
{
    const char *files[2] = {BLOCK2, WIDE2};
    km_read_options o;
    km_read_options_default(&o);
    o.format = KM_FORMAT_XSENSOR;
    o.sensor = 1;
    for (int s = 0; s < 2; s++)
        km_test_block_sizes_agree(ctx, files[s], &o, 3);
}

Test(io_xsensor, sniffing_picks_xsensor)
{
    const char *files[4] = {BLOCK2, BLOCK_SEMI, WIDE2, WIDE_SEMI};
    for (int i = 0; i < 4; i++) {
        unsigned char head[4096];
        FILE *f = fopen(files[i], "rb");
        cr_assert_not_null(f);
        size_t n = fread(head, 1, sizeof head, f);
        fclose(f);
        cr_assert_eq(km_sniff_format(head, n, "renamed.txt"), KM_FORMAT_XSENSOR, "%s", files[i]);
    }
    /* a wide export whose first sensel is S_1_5, ';'-separated */
    const char *h = "Frame;Time;S_1_5;S_1_6\n1;00:00:00,0;1;2\n";
    cr_assert_eq(km_sniff_format((const unsigned char *)h, strlen(h), "x.csv"), KM_FORMAT_XSENSOR);
    /* plain numbers are still text, a Tekscan header still Tekscan */
    const char *num = "1,2,3\n4,5,6\n";
    cr_assert_eq(km_sniff_format((const unsigned char *)num, strlen(num), "x.csv"), KM_FORMAT_TEXT);
    const char *tk = "ROWS 2\nCOLS 2\n";
    cr_assert_eq(km_sniff_format((const unsigned char *)tk, strlen(tk), "x.csv"), KM_FORMAT_TEKSCAN);
}

/* Every xsensor_* line of tests/data/bad/EXPECTED.tsv (a 4th column may
   give `--sensor N`): the status, the file name and the fragment. */
Test(io_xsensor, bad_files_fail_with_file_and_line)
{
    FILE *f = fopen(KM_TEST_DATA "/bad/EXPECTED.tsv", "r");
    km_test_bad b;
    int checked = 0, format;
    cr_assert_not_null(f);
    while (km_test_next_bad(f, "xsensor_", &b)) {
        const char *name = b.name, *path = b.path, *frag = b.frag;
        km_read_options o;
        km_read_options_default(&o);
        if (b.extra != NULL && strncmp(b.extra, "--sensor ", 9) == 0)
            o.sensor = atoi(b.extra + 9);
        km_status st = km_test_open_and_drain(ctx, path, &o, &format);
        if (format >= 0)
            cr_assert_eq(format, KM_FORMAT_XSENSOR, "%s sniffed as %d", name, format);
        /* Both exit 65: a grid beyond the caps is KM_ERR_LIMIT. */
        cr_assert(st == KM_ERR_FORMAT || (st == KM_ERR_LIMIT && strstr(frag, "exceeds the limit") != NULL),
                  "%s: status %d (%s)", name, st, km_ctx_last_error(ctx));
        cr_assert_eq(atoi(b.code), 65, "%s", name);
        cr_assert_not_null(strstr(km_ctx_last_error(ctx), path), "%s: detail '%s' lacks the path", name,
                           km_ctx_last_error(ctx));
        cr_assert_not_null(strstr(km_ctx_last_error(ctx), frag), "%s: detail '%s' lacks '%s'", name,
                           km_ctx_last_error(ctx), frag);
        checked++;
    }
    fclose(f);
    cr_assert_geq(checked, 9, "only %d xsensor files checked", checked);
}

Test(io_xsensor, read_error_keeps_earlier_frames)
{
    km_reader *r = open_sensor(KM_TEST_DATA "/bad/xsensor_non_numeric.csv", KM_FORMAT_AUTO, 0);
    float buf[12];
    int64_t got = -1;
    cr_assert_eq(km_reader_read(ctx, r, buf, NULL, 1, &got), KM_OK);
    cr_assert_eq(got, 1);
    cr_assert_eq(buf[11], 12.0f);
    cr_assert_eq(km_reader_read(ctx, r, buf, NULL, 1, &got), KM_ERR_FORMAT);
    cr_assert_eq(got, 0);
    cr_assert_not_null(strstr(km_ctx_last_error(ctx), "xsensor_non_numeric.csv: line 17: frame 2: non-numeric value 'x7'"),
                       "%s", km_ctx_last_error(ctx));
    km_reader_free(r);
}

Test(io_xsensor, no_time_in_file_uses_the_rate_option)
{
    char dir[64], path[256];
    km_test_make_dir(dir, sizeof dir, "km_xs_");
    km_test_path(path, sizeof path, dir, "notime.csv");
    km_test_write_file(path, "Frame,S_1_1,S_1_2\n5,1,2\n6,3,4\n8,5,6\n");
    km_read_options o;
    km_reader *r = NULL;
    km_read_options_default(&o);
    o.frame_rate_hz = 10.0;
    cr_assert_eq(km_reader_open(ctx, path, &o, &r), KM_OK, "%s", km_ctx_last_error(ctx));
    km_session_info in;
    km_reader_info(r, &in);
    cr_assert_float_eq(in.frame_rate_hz, 10.0, 0);
    float *fr;
    double *t;
    cr_assert_eq(km_test_read_all(ctx, r, 8, &fr, &t), 3);
    /* frame numbers 5, 6, 8: a skipped number leaves a gap */
    cr_assert_float_eq(t[1], 0.1, 1e-12);
    cr_assert_float_eq(t[2], 0.3, 1e-12);
    cr_assert_eq(fr[5], 6.0f);
    free(fr);
    free(t);
    km_reader_free(r);
    remove(path);
    rmdir(dir);
}

/* The Units word goes through the one unit table (km_units_from_file): Pa is
   converted to kPa like PSI, N/cm with a superscript two is N/cm2, and a word
   knotmap does not know is not silently "raw": the units are assumed (and so
   warned by the CLI and listed in the result).  Before, Pa and g/cm2 both
   read as raw with nothing assumed. */
Test(io_xsensor, units_word_through_the_unit_table)
{
    static const struct {
        const char *word, *units, *assumed;
        double scale;
    } cases[] = {{"Pa", "kPa", "", 1e-3}, {"N/cm\xc2\xb2", "N/cm2", "", 1.0}, {"kpa", "kPa", "", 1.0},
                 {"g/cm2", "raw", "units", 1.0}};
    char dir[64], path[256], text[256];
    km_test_make_dir(dir, sizeof dir, "km_xs_");
    km_test_path(path, sizeof path, dir, "units.csv");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        km_reader *r = NULL;
        km_session_info in;
        float *fr;
        double *t;
        snprintf(text, sizeof text,
                 "Frame:;1\nTime:;08:15:30,5\nRows:;1\nColumns:;2\nSensel Width (cm):;1\n"
                 "Sensel Height (cm):;1\nUnits:;%s\n1000;2500\n",
                 cases[i].word);
        km_test_write_file(path, text);
        cr_assert_eq(km_reader_open(ctx, path, NULL, &r), KM_OK, "%s: %s", cases[i].word, km_ctx_last_error(ctx));
        km_reader_info(r, &in);
        cr_assert_str_eq(in.units, cases[i].units, "%s", cases[i].word);
        cr_assert_not_null(strstr(in.assumed, cases[i].assumed), "%s: assumed '%s'", cases[i].word, in.assumed);
        cr_assert_eq(strstr(in.assumed, "units") != NULL, cases[i].assumed[0] != '\0', "%s", cases[i].word);
        cr_assert_str_eq(km_test_header_value(r, "Units"), cases[i].word);
        cr_assert_eq(km_test_read_all(ctx, r, 8, &fr, &t), 1);
        cr_assert_float_eq(fr[0], 1000 * cases[i].scale, 1e-9, "%s", cases[i].word);
        cr_assert_float_eq(fr[1], 2500 * cases[i].scale, 1e-9, "%s", cases[i].word);
        free(fr);
        free(t);
        km_reader_free(r);
    }
    remove(path);
    rmdir(dir);
}
