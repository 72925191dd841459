/* Tekscan ASCII movie reader: the real F-Scan fixture, a small file with a
 * shuffled header, CRLF/LF, block sizes and every bad file of ours. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "knotmap.h"
#include "test_util.h"

#define FSCAN KM_DATASETS "/real/tekscan_fscan/FrasP01L.asf"
#define SMALL KM_TEST_DATA "/good/tekscan_small.asf"
#define SMALL_CRLF KM_TEST_DATA "/good/tekscan_small_crlf.asf"

static km_ctx *ctx;

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
}

static void teardown(void)
{
    km_ctx_free(ctx);
}

TestSuite(io_tekscan, .init = setup, .fini = teardown);

static km_reader *open_ok(const char *path, km_format fmt)
{
    km_read_options o;
    km_read_options_default(&o);
    o.format = fmt;
    return km_test_open(ctx, path, &o);
}

Test(io_tekscan, fscan_fixture_facts)
{
    km_reader *r = open_ok(FSCAN, KM_FORMAT_AUTO);
    km_session_info in;
    km_reader_info(r, &in);
    cr_assert_eq(in.format, KM_FORMAT_TEKSCAN);
    cr_assert_eq(in.rows, 60);
    cr_assert_eq(in.cols, 21);
    cr_assert_eq(in.n_frames, 205);
    cr_assert_float_eq(in.frame_rate_hz, 31.25, 1e-9);
    cr_assert_float_eq(in.row_pitch_mm, 5.08, 1e-12);
    cr_assert_float_eq(in.col_pitch_mm, 5.08, 1e-12);
    cr_assert_str_eq(in.units, "kPa");
    cr_assert_float_eq(in.saturation, 1514.73, 1e-9);
    cr_assert_eq(in.mode, KM_MODE_MAT);
    cr_assert_eq(in.n_valid, 60 * 21 - 305);

    const uint8_t *m = km_reader_mask(r);
    int masked = 0;
    for (int i = 0; i < 60 * 21; i++)
        masked += m[i] == 0;
    cr_assert_eq(masked, 305);
    cr_assert_eq(m[0], 0);      /* row 0 starts with B */
    cr_assert_eq(m[9], 1);      /* row 0 col 9 is 0, inside */

    /* every key by name; COMMENTS: takes the next line */
    cr_assert_eq(km_reader_header_count(r), 27);
    cr_assert_str_eq(km_test_header_value(r, "COMMENTS"), "overground walk p10");
    cr_assert_str_eq(km_test_header_value(r, "UNITS"), "KPa");
    cr_assert_str_eq(km_test_header_value(r, "SENSEL_AREA"), "25.8064 mm2");
    cr_assert_str_eq(km_test_header_value(r, "TIME"), "Thursday, 16 February 2017 11:26:22 a.m.");
    cr_assert_null(km_test_header_value(r, "knotmap_assumed"));

    float *f;
    double *t;
    int64_t n = km_test_read_all(ctx, r, 64, &f, &t);
    cr_assert_eq(n, 205);
    /* references computed with numpy from the file: max 760 at frame 101,
       row 54, col 10; total of all valid values 3154674; frame 100: 3980 */
    double sum = 0, sum100 = 0;
    float mx = -1;
    size_t imax = 0;
    for (size_t i = 0; i < (size_t)n * 1260; i++) {
        sum += f[i];
        if (f[i] > mx) {
            mx = f[i];
            imax = i;
        }
    }
    for (size_t i = 0; i < 1260; i++)
        sum100 += f[100 * 1260 + i];
    cr_assert_float_eq(mx, 760.0f, 0);
    cr_assert_eq(imax, (size_t)128404);
    cr_assert_float_eq(sum, 3154674.0, 0);
    cr_assert_float_eq(sum100, 3980.0, 0);
    for (int64_t k = 0; k < n; k++)
        cr_assert_float_eq(t[k], (double)k * 0.032, 1e-9);
    free(f);
    free(t);
    km_reader_free(r);
}

Test(io_tekscan, small_shuffled_header_by_name)
{
    km_reader *r = open_ok(SMALL, KM_FORMAT_TEKSCAN);
    km_session_info in;
    km_reader_info(r, &in);
    cr_assert_eq(in.rows, 3);
    cr_assert_eq(in.cols, 4);
    cr_assert_eq(in.n_frames, 3);
    cr_assert_float_eq(in.frame_rate_hz, 100.0, 1e-9);
    cr_assert_float_eq(in.row_pitch_mm, 5.0, 1e-12);  /* 0.5 cm */
    cr_assert_float_eq(in.col_pitch_mm, 5.08, 1e-12); /* 0.2 inches */
    cr_assert_str_eq(in.units, "mmHg");
    cr_assert_float_eq(in.saturation, 250.0, 0);
    cr_assert_eq(in.n_valid, 8);

    const char *expect_keys[] = {"DATA_TYPE", "VERSION", "UNITS", "COLS", "SECONDS_PER_FRAME", "ROWS",
                                 "ROW_SPACING", "COL_SPACING", "COMMENTS", "START_FRAME", "END_FRAME",
                                 "SATURATION_PRESSURE"};
    cr_assert_eq(km_reader_header_count(r), 12);
    for (size_t i = 0; i < 12; i++) {
        const char *k, *v;
        km_reader_header_get(r, i, &k, &v);
        cr_assert_str_eq(k, expect_keys[i]);
    }
    cr_assert_str_eq(km_test_header_value(r, "COMMENTS"), "a free text comment");
    cr_assert_str_eq(km_test_header_value(r, "SATURATION_PRESSURE"), "250 mmHg");

    const uint8_t mexp[12] = {0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 0};
    cr_assert_arr_eq(km_reader_mask(r), mexp, 12);

    float *f;
    double *t;
    int64_t n = km_test_read_all(ctx, r, 2, &f, &t);
    cr_assert_eq(n, 3);
    const float f2[12] = {0, 10, 20.5f, 0, 30, 40, 50, 60, 0, 70, 100, 0};
    for (int i = 0; i < 12; i++)
        cr_assert_float_eq(f[12 + i], f2[i], 0, "frame 2 taxel %d", i);
    cr_assert_float_eq(f[24 + 7], -1.5f, 0);
    cr_assert_float_eq(t[0], 0.0, 0);
    cr_assert_float_eq(t[1], 0.01, 1e-12);
    cr_assert_float_eq(t[2], 0.02, 1e-12);
    free(f);
    free(t);
    km_reader_free(r);
}

Test(io_tekscan, crlf_and_lf_read_the_same)
{
    km_reader *a = open_ok(SMALL, KM_FORMAT_AUTO);
    km_reader *b = open_ok(SMALL_CRLF, KM_FORMAT_AUTO);
    km_test_same_headers(a, b);
    km_test_same_reads(ctx, a, b, 1, 3);
}

Test(io_tekscan, blocks_of_1_7_4096_identical_and_end_gives_0)
{
    km_read_options o;
    km_read_options_default(&o);
    o.format = KM_FORMAT_TEKSCAN;
    km_test_block_sizes_agree(ctx, FSCAN, &o, 205);
}

Test(io_tekscan, sniffed_by_content_when_renamed_txt)
{
    char dir[64], path[256];
    km_test_make_dir(dir, sizeof dir, "km_tk_");
    km_test_path(path, sizeof path, dir, "renamed.txt");
    FILE *in = fopen(FSCAN, "rb"), *out = fopen(path, "wb");
    cr_assert(in && out);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    fclose(out);
    km_reader *r = open_ok(path, KM_FORMAT_AUTO);
    km_session_info info;
    km_reader_info(r, &info);
    cr_assert_eq(info.format, KM_FORMAT_TEKSCAN);
    cr_assert_eq(info.n_frames, 205);
    km_reader_free(r);
    remove(path);
    rmdir(dir);
}

/* Every tekscan_* line of tests/data/bad/EXPECTED.tsv: the status, the file
   name and the fragment (which names the line) in the detail. */
static void check_bad_files(const char *prefix)
{
    FILE *f = fopen(KM_TEST_DATA "/bad/EXPECTED.tsv", "r");
    km_test_bad b;
    int checked = 0, format;
    cr_assert_not_null(f);
    while (km_test_next_bad(f, prefix, &b)) {
        const char *name = b.name, *path = b.path, *frag = b.frag;
        km_status st = km_test_open_and_drain(ctx, path, NULL, &format);
        cr_assert(st == KM_ERR_FORMAT || st == KM_ERR_LIMIT, "%s: status %d (%s)", name, st, km_ctx_last_error(ctx));
        cr_assert_eq(atoi(b.code), 65, "%s", name);
        cr_assert_not_null(strstr(km_ctx_last_error(ctx), path), "%s: detail '%s' lacks the path", name,
                           km_ctx_last_error(ctx));
        cr_assert_not_null(strstr(km_ctx_last_error(ctx), frag), "%s: detail '%s' lacks '%s'", name,
                           km_ctx_last_error(ctx), frag);
        checked++;
    }
    fclose(f);
    cr_assert_geq(checked, 5, "only %d %s files checked", checked, prefix);
}

Test(io_tekscan, bad_files_fail_with_file_and_line)
{
    check_bad_files("tekscan_");
}

Test(io_tekscan, huge_rows_is_limit_and_zero_rows_is_format)
{
    km_reader *r = NULL;
    cr_assert_eq(km_reader_open(ctx, KM_TEST_DATA "/bad/tekscan_rows_huge.asf", NULL, &r), KM_ERR_LIMIT);
    cr_assert_eq(km_reader_open(ctx, KM_TEST_DATA "/bad/tekscan_rows_zero.asf", NULL, &r), KM_ERR_FORMAT);
    cr_assert_eq(km_reader_open(ctx, KM_TEST_DATA "/bad/tekscan_rows_negative.asf", NULL, &r), KM_ERR_FORMAT);
    cr_assert_str_eq(km_ctx_last_error(ctx),
                     KM_TEST_DATA "/bad/tekscan_rows_negative.asf: line 6: ROWS '-3' is not a positive integer");
    cr_assert_null(r);
}

Test(io_tekscan, truncated_mid_frame_keeps_earlier_frames)
{
    km_reader *r = open_ok(KM_TEST_DATA "/bad/tekscan_truncated_mid_frame.asf", KM_FORMAT_AUTO);
    float buf[12];
    int64_t got = -1;
    cr_assert_eq(km_reader_read(ctx, r, buf, NULL, 1, &got), KM_OK);
    cr_assert_eq(got, 1);
    cr_assert_float_eq(buf[4], 3.0f, 0);
    cr_assert_eq(km_reader_read(ctx, r, buf, NULL, 1, &got), KM_ERR_FORMAT);
    cr_assert_eq(got, 0);
    cr_assert_not_null(strstr(km_ctx_last_error(ctx), "tekscan_truncated_mid_frame.asf: line 22: frame 2:"));
    km_reader_free(r);
}

/* A small Tekscan file at `path`: a 3 x 4 header, the `spacing` and
   `frames` (START_FRAME/END_FRAME) lines, ASCII_DATA, then `data`. */
static void write_variant(const char *path, const char *spacing, const char *frames, const char *data)
{
    char text[2048];
    snprintf(text, sizeof text,
             "DATA_TYPE MOVIE\nUNITS mmHg\nCOLS 4\nSECONDS_PER_FRAME 0.01\nROWS 3\n%s%sASCII_DATA @@\n\n%s",
             spacing, frames, data);
    km_test_write_file(path, text);
}

/* A single-frame export (ASCII_DATA, then the rows, no `Frame N` line, as
   Tekscan saves one frame) reads as frames numbered from START_FRAME (else
   1), blocks of ROWS rows; before session 29 it was refused at its first
   row ("expected 'Frame N' or '@@'"). */
Test(io_tekscan, frames_without_frame_lines)
{
    char dir[64], path[256];
    km_test_make_dir(dir, sizeof dir, "km_tk_");
    km_test_path(path, sizeof path, dir, "single.asf");
    const char *rows3 = "B,1,2,B\n3,4,5,6\nB,7,8,B\n";
    char data[512];
    snprintf(data, sizeof data, "%s@@\n", rows3);
    write_variant(path, "", "", data);
    km_reader *r = open_ok(path, KM_FORMAT_AUTO);
    km_session_info in;
    km_reader_info(r, &in);
    cr_assert_eq(in.format, KM_FORMAT_TEKSCAN);
    cr_assert_eq(in.n_frames, 1, "counted at open: 3 data lines / 3 rows");
    float *f;
    double *t;
    cr_assert_eq(km_test_read_all(ctx, r, 4, &f, &t), 1);
    const float f1[12] = {0, 1, 2, 0, 3, 4, 5, 6, 0, 7, 8, 0};
    for (int i = 0; i < 12; i++)
        cr_assert_float_eq(f[i], f1[i], 0, "taxel %d", i);
    const uint8_t mexp[12] = {0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 0};
    cr_assert_arr_eq(km_reader_mask(r), mexp, 12);
    free(f);
    free(t);
    km_reader_free(r);

    /* Two blocks, numbered from START_FRAME: times 0 and 0.01 s. */
    snprintf(data, sizeof data, "%s%s@@\n", rows3, "B,9,9,B\n9,9,9,9\nB,9,9,B\n");
    write_variant(path, "", "START_FRAME 7\nEND_FRAME 8\n", data);
    r = open_ok(path, KM_FORMAT_AUTO);
    cr_assert_eq(km_test_read_all(ctx, r, 1, &f, &t), 2);
    cr_assert_float_eq(f[12 + 1], 9.0f, 0);
    cr_assert_float_eq(t[1], 0.01, 1e-12);
    free(f);
    free(t);
    km_reader_free(r);

    /* A `Frame N` line after frames without one, and a block cut short. */
    const struct {
        const char *data, *frag;
    } bad[] = {{"B,1,2,B\n3,4,5,6\nB,7,8,B\nFrame 2\nB,1,2,B\n3,4,5,6\nB,7,8,B\n@@\n",
                "line 11: 'Frame N' line after frames without one"},
               {"B,1,2,B\n3,4,5,6\nB,7,8,B\nB,1,2,B\n@@\n", "line 12: frame 2: frame ends after 1 of 3 rows"}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        int format;
        write_variant(path, "", "", bad[k].data);
        cr_assert_eq(km_test_open_and_drain(ctx, path, NULL, &format), KM_ERR_FORMAT, "case %zu", k);
        cr_assert_not_null(strstr(km_ctx_last_error(ctx), bad[k].frag), "case %zu: '%s'", k,
                           km_ctx_last_error(ctx));
    }
    remove(path);
    rmdir(dir);
}

/* Spacing units spelled out, in either spelling ("milimeters" as some
   exports write it); before session 29 only the symbols were read. */
Test(io_tekscan, spacing_units_spelled_out)
{
    char dir[64], path[256], head[128];
    km_test_make_dir(dir, sizeof dir, "km_tk_");
    km_test_path(path, sizeof path, dir, "units.asf");
    const struct {
        const char *row, *col;
        double row_mm, col_mm;
    } cases[] = {{"5.08 milimeters", "5.08 Millimeters", 5.08, 5.08},
                 {"0.5 centimetres", "0.5 CENTIMETER", 5.0, 5.0},
                 {"0.005 metres", "0.2 inch", 5.0, 5.08},
                 {"7 millimetre", "0.7 centimeters", 7.0, 7.0}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        snprintf(head, sizeof head, "ROW_SPACING %s\nCOL_SPACING %s\n", cases[k].row, cases[k].col);
        write_variant(path, head, "", "Frame 1\n1,1,1,1\n1,1,1,1\n1,1,1,1\n@@\n");
        km_reader *r = open_ok(path, KM_FORMAT_AUTO);
        km_session_info in;
        km_reader_info(r, &in);
        cr_assert_float_eq(in.row_pitch_mm, cases[k].row_mm, 1e-12, "%s", cases[k].row);
        cr_assert_float_eq(in.col_pitch_mm, cases[k].col_mm, 1e-12, "%s", cases[k].col);
        km_reader_free(r);
    }
    int format;
    write_variant(path, "ROW_SPACING 5 furlongs\n", "", "Frame 1\n1,1,1,1\n1,1,1,1\n1,1,1,1\n@@\n");
    cr_assert_eq(km_test_open_and_drain(ctx, path, NULL, &format), KM_ERR_FORMAT);
    cr_assert_not_null(strstr(km_ctx_last_error(ctx), "unit 'furlongs' not understood"));
    remove(path);
    rmdir(dir);
}

/* The F-Scan export as a spreadsheet saves it after opening it as CSV:
   every line padded with commas to the widest ("ROWS 60,,,,", "Frame 1,,,,",
   ",,,," for a blank line, "@@,,,,"), rows with `extra` empty fields after
   their values.  It reads as the export does: same header values, frames,
   times and mask.  Before session 31 it was refused at "ROWS '60,,,,'". */
static void write_padded(const char *path, int extra)
{
    FILE *in = fopen(FSCAN, "rb"), *out = fopen(path, "wb");
    cr_assert(in && out);
    char line[4096];
    int data = 0;
    while (fgets(line, sizeof line, in) != NULL) {
        size_t n = strcspn(line, "\r\n");
        int row = data && n > 0 && strncmp(line, "Frame", 5) != 0 && strncmp(line, "@@", 2) != 0;
        line[n] = '\0';
        fputs(line, out);
        for (int k = 0; k < (row ? extra : 20); k++)
            fputc(',', out);
        fputs("\r\n", out);
        data = data || strncmp(line, "ASCII_DATA", 10) == 0;
    }
    fclose(in);
    fclose(out);
}

Test(io_tekscan, spreadsheet_padding_reads_as_the_export)
{
    char dir[64], path[256];
    km_test_make_dir(dir, sizeof dir, "km_tk_");
    km_test_path(path, sizeof path, dir, "resaved.csv");
    for (int extra = 0; extra <= 3; extra += 3) {
        write_padded(path, extra);
        km_reader *a = open_ok(FSCAN, KM_FORMAT_AUTO), *b = open_ok(path, KM_FORMAT_AUTO);
        km_session_info ia, ib;
        km_reader_info(a, &ia);
        km_reader_info(b, &ib);
        cr_assert_eq(ib.format, KM_FORMAT_TEKSCAN);
        cr_assert_eq(ib.n_frames, ia.n_frames);
        cr_assert_float_eq(ib.frame_rate_hz, ia.frame_rate_hz, 0);
        cr_assert_float_eq(ib.row_pitch_mm, ia.row_pitch_mm, 0);
        cr_assert_float_eq(ib.saturation, ia.saturation, 0);
        km_test_same_headers(a, b);
        km_test_same_reads(ctx, a, b, 7, 205);
    }
    /* Padding is not a value: a row one value short, padded, still fails. */
    write_variant(path, "", "", "Frame 1,,\nB,1,2,,,\n3,4,5,6,,\nB,7,8,B,,\n@@,,\n");
    int format;
    cr_assert_eq(km_test_open_and_drain(ctx, path, NULL, &format), KM_ERR_FORMAT);
    cr_assert_not_null(strstr(km_ctx_last_error(ctx), "line 9: frame 1: empty value in column 4"), "'%s'",
                       km_ctx_last_error(ctx));
    remove(path);
    rmdir(dir);
}

/* The F-Scan export with lines of fields after each `Frame N` line, before
   its rows, as Tekscan versions newer than the fixture's 6.33 may write
   them: `Key words: value` (style 0) or `KEY value` as in the header (style
   1), the frame's times from SECONDS_PER_FRAME.  With `pad`, every line
   padded with commas and CRLF-ended as a spreadsheet saves it. */
static void write_with_fields(const char *path, int style, int pad)
{
    static const char *const colon[] = {"Relative Time: %.3f", "Absolute Time: 11:26:%06.3f",
                                        "Force: %.1f N", "Contact Area: 96.77 cm2", "Peak Pressure: 412 KPa"};
    static const char *const word[] = {"RELATIVE_TIME %.3f", "ABSOLUTE_TIME 11:26:%06.3f", "FORCE %.1f N",
                                       "CONTACT_AREA 96.77 cm2", "PEAK_PRESSURE 412 KPa"};
    FILE *in = fopen(FSCAN, "rb"), *out = fopen(path, "wb");
    cr_assert(in && out);
    char line[4096];
    const char *end = pad ? ",,,,\r\n" : "\n";
    while (fgets(line, sizeof line, in) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        fprintf(out, "%s%s", line, end);
        long no;
        if (sscanf(line, "Frame %ld", &no) == 1)
            for (int k = 0; k < 5; k++) {
                double v = k == 1 ? 22.0 + 0.032 * (double)(no - 1) : k == 2 ? 500.0 + (double)no : 0.032 * (double)(no - 1);
                fprintf(out, style ? word[k] : colon[k], v);
                fputs(end, out);
            }
    }
    fclose(in);
    fclose(out);
}

/* Fields per frame are read past: the export reads as the one without
   them (frames, times, mask, header), and the first frame's keys are the
   header entry `frame_fields`.  Before session 49 each was refused at its
   first field line ("line 32: frame 1: non-numeric value 'Relative' in
   column 1"). */
Test(io_tekscan, fields_per_frame_are_read_past)
{
    char dir[64], path[256];
    km_test_make_dir(dir, sizeof dir, "km_tk_");
    km_test_path(path, sizeof path, dir, "fields.asf");
    static const char *const keys[] = {"Relative Time, Absolute Time, Force, Contact Area, Peak Pressure",
                                       "RELATIVE_TIME, ABSOLUTE_TIME, FORCE, CONTACT_AREA, PEAK_PRESSURE"};
    for (int v = 0; v < 4; v++) {
        int style = v & 1, pad = v >> 1;
        write_with_fields(path, style, pad);
        km_reader *a = open_ok(FSCAN, KM_FORMAT_AUTO), *b = open_ok(path, KM_FORMAT_AUTO);
        km_session_info ia, ib;
        km_reader_info(a, &ia);
        km_reader_info(b, &ib);
        cr_assert_eq(ib.format, KM_FORMAT_TEKSCAN);
        cr_assert_eq(ib.n_frames, 205);
        cr_assert_float_eq(ib.frame_rate_hz, ia.frame_rate_hz, 0);
        cr_assert_str_eq(ib.assumed, ia.assumed);
        cr_assert_eq(km_reader_header_count(b), km_reader_header_count(a) + 1, "style %d pad %d", style, pad);
        km_test_header_starts_with(b, a);
        cr_assert_str_eq(km_test_header_value(b, "frame_fields"), keys[style]);
        km_test_same_reads(ctx, a, b, 7, 205);
    }
    remove(path);
    rmdir(dir);
}

/* What is no key and value stays an error naming its line: a word alone, a
   damaged row (its first value a word, a comma after it), a `B` or nan
   first (a row written with blanks), a field after the first row. */
Test(io_tekscan, not_a_field_stays_an_error)
{
    char dir[64], path[256];
    km_test_make_dir(dir, sizeof dir, "km_tk_");
    km_test_path(path, sizeof path, dir, "notfield.asf");
    static const struct {
        const char *data, *frag;
    } cases[] = {
        {"Frame 1\nNotes\nB,1,2,B\n3,4,5,6\nB,7,8,B\n@@\n", "line 9: frame 1: non-numeric value 'Notes' in column 1"},
        {"Frame 1\nx7 ,1,2,B\n3,4,5,6\nB,7,8,B\n@@\n", "line 9: frame 1: non-numeric value 'x7"},
        {"Frame 1\nx7,1,2,B\n3,4,5,6\nB,7,8,B\n@@\n", "line 9: frame 1: non-numeric value 'x7' in column 1"},
        {"Frame 1\nB 1 2 B\n3,4,5,6\nB,7,8,B\n@@\n", "line 9: frame 1: non-numeric value"},
        {"Frame 1\nnan 1 2 3\n3,4,5,6\nB,7,8,B\n@@\n", "line 9: frame 1: non-numeric value"},
        {"Frame 1\nB,1,2,B\nForce: 12 N\n3,4,5,6\nB,7,8,B\n@@\n", "line 10: frame 1: non-numeric value 'Force: 12 N'"},
        {"Frame 1\nForce: 12 N\n@@\n", "line 10: frame 1: frame ends after 0 of 3 rows (truncated)"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int format;
        write_variant(path, "", "", cases[k].data);
        cr_assert_eq(km_test_open_and_drain(ctx, path, NULL, &format), KM_ERR_FORMAT, "case %zu", k);
        cr_assert_not_null(strstr(km_ctx_last_error(ctx), cases[k].frag), "case %zu: '%s' lacks '%s'", k,
                           km_ctx_last_error(ctx), cases[k].frag);
    }
    remove(path);
    rmdir(dir);
}
