/* Text matrix reader: PhysioNet experiment-i (one frame per line) and
 * experiment-ii (one frame per file), the geometry rule, separators,
 * CRLF/LF, non-finite values, block sizes and every bad file of ours. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "knotmap.h"
#include "test_util.h"

#define EXP1 KM_DATASETS "/real/physionet_pmd/experiment-i/S1/1.txt"
#define EXP2 KM_DATASETS "/real/physionet_pmd/experiment-ii/S1/Air_Mat/Matrix_Air_B1.txt"

static km_ctx *ctx;
static char tmpdir[64];

static void setup(void)
{
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    km_test_make_dir(tmpdir, sizeof tmpdir, "km_tx_");
}

static void teardown(void)
{
    km_ctx_free(ctx);
    rmdir(tmpdir);
}

TestSuite(io_text, .init = setup, .fini = teardown);

static const char *write_tmp(const char *name, const char *content)
{
    static char path[512];
    km_test_path(path, sizeof path, tmpdir, name);
    km_test_write_file(path, content);
    return path;
}

static km_reader *open_with(const char *path, int32_t rows, int32_t cols, double rate, int32_t per_file)
{
    km_read_options o;
    km_read_options_default(&o);
    o.rows = rows;
    o.cols = cols;
    o.frame_rate_hz = rate;
    o.text_frame_per_file = per_file;
    return km_test_open(ctx, path, &o);
}

Test(io_text, physionet_experiment_i_64x32_frame_per_line)
{
    km_reader *r = open_with(EXP1, 64, 32, 1.0, -1);
    km_session_info in;
    km_reader_info(r, &in);
    cr_assert_eq(in.format, KM_FORMAT_TEXT);
    cr_assert_eq(in.rows, 64);
    cr_assert_eq(in.cols, 32);
    cr_assert_eq(in.n_frames, 82); /* wc -l */
    cr_assert_float_eq(in.frame_rate_hz, 1.0, 0);
    cr_assert_str_eq(in.units, "raw");
    cr_assert_eq(in.n_valid, 2048);
    /* the rate was given, the pitch was not */
    cr_assert_str_eq(in.assumed, "row_pitch_mm,col_pitch_mm,units,mode");
    cr_assert_null(km_test_header_value(r, "knotmap_assumed"), "the source header is the file's only");
    float *f;
    double *t;
    int64_t n = km_test_read_all(ctx, r, 10, &f, &t);
    cr_assert_eq(n, 82);
    /* numpy.loadtxt references: total 8439111, frame 0 sum 609, frame 1
       max 3841 (the known corrupt frame), frame 81 sum 84327, frame 5 row 20
       col 7 = 16 */
    double sum = 0, s0 = 0, s81 = 0;
    float mx1 = 0;
    for (size_t i = 0; i < 82 * 2048; i++)
        sum += f[i];
    for (size_t i = 0; i < 2048; i++) {
        s0 += f[i];
        s81 += f[81 * 2048 + i];
        if (f[2048 + i] > mx1)
            mx1 = f[2048 + i];
    }
    cr_assert_float_eq(sum, 8439111.0, 0);
    cr_assert_float_eq(s0, 609.0, 0);
    cr_assert_float_eq(s81, 84327.0, 0);
    cr_assert_float_eq(mx1, 3841.0f, 0);
    cr_assert_float_eq(f[5 * 2048 + 20 * 32 + 7], 16.0f, 0);
    for (int64_t k = 0; k < n; k++)
        cr_assert_float_eq(t[k], (double)k, 0);
    free(f);
    free(t);
    km_reader_free(r);
}

Test(io_text, physionet_experiment_ii_one_frame_64x27)
{
    km_reader *r = open_with(EXP2, 0, 0, 0, -1);
    km_session_info in;
    km_reader_info(r, &in);
    cr_assert_eq(in.format, KM_FORMAT_TEXT);
    cr_assert_eq(in.rows, 64);
    cr_assert_eq(in.cols, 27);
    cr_assert_eq(in.n_frames, 1);
    /* no rate anywhere: 1 Hz, and the header says it was assumed; no grid
       given: one frame by its shape, assumed too (session 39) */
    cr_assert_float_eq(in.frame_rate_hz, 1.0, 0);
    cr_assert_float_eq(in.row_pitch_mm, 1.0, 0);
    cr_assert_str_eq(in.assumed, "row_pitch_mm,col_pitch_mm,frame_rate_hz,units,mode,text_layout");
    float *f;
    double *t;
    cr_assert_eq(km_test_read_all(ctx, r, 4096, &f, &t), 1);
    double sum = 0;
    for (int i = 0; i < 64 * 27; i++)
        sum += f[i];
    cr_assert_float_eq(sum, 138442.0, 0);
    cr_assert_float_eq(f[0], 44.0f, 0);
    cr_assert_float_eq(f[64 * 27 - 1], 57.0f, 0);
    free(f);
    free(t);
    km_reader_free(r);
}

Test(io_text, geometry_rule_and_overrides)
{
    km_reader *r = NULL;
    km_read_options o;
    km_session_info in;
    /* no grid, 82 lines of 2048 values: one 82 x 2048 frame or 82 frames?
       Refused, saying what was seen and what to pass */
    km_read_options_default(&o);
    cr_assert_eq(km_reader_open(ctx, EXP1, &o, &r), KM_ERR_INVALID);
    cr_assert_not_null(strstr(km_ctx_last_error(ctx), "82 lines of 2048 values"), "%s",
                       km_ctx_last_error(ctx));
    cr_assert_not_null(strstr(km_ctx_last_error(ctx), "--grid 64x32"));
    cr_assert_null(r);
    /* asked for explicitly: one frame of line-count rows */
    r = open_with(EXP1, 0, 0, 0, 1);
    km_reader_info(r, &in);
    cr_assert_eq(in.rows, 82);
    cr_assert_eq(in.cols, 2048);
    cr_assert_eq(in.n_frames, 1);
    km_reader_free(r);
    /* cols only: 2048 = 64 * 32, so one frame per line */
    r = open_with(EXP1, 0, 32, 0, -1);
    km_reader_info(r, &in);
    cr_assert_eq(in.rows, 64);
    cr_assert_eq(in.n_frames, 82);
    km_reader_free(r);
    /* one frame per line asked without a grid: an options error */
    km_read_options_default(&o);
    o.text_frame_per_file = 0;
    cr_assert_eq(km_reader_open(ctx, EXP1, &o, &r), KM_ERR_INVALID);
    cr_assert_not_null(strstr(km_ctx_last_error(ctx), "--grid"));
    /* a grid that fits neither layout */
    km_read_options_default(&o);
    o.rows = 10;
    o.cols = 10;
    cr_assert_eq(km_reader_open(ctx, EXP2, &o, &r), KM_ERR_FORMAT);
    cr_assert_not_null(strstr(km_ctx_last_error(ctx), "Matrix_Air_B1.txt: line 1:"));
}

Test(io_text, lf_and_crlf_commas_tabs_trailing_separators)
{
    km_reader *a = open_with(KM_TEST_DATA "/good/text_small.txt", 0, 0, 0, -1);
    km_reader *b = open_with(KM_TEST_DATA "/good/text_small_crlf.txt", 0, 0, 0, -1);
    float *fa, *fb;
    double *ta, *tb;
    cr_assert_eq(km_test_read_all(ctx, a, 1, &fa, &ta), 1);
    cr_assert_eq(km_test_read_all(ctx, b, 1, &fb, &tb), 1);
    for (int i = 0; i < 12; i++)
        cr_assert_float_eq(fa[i], (float)(i + 1), 0);
    cr_assert_arr_eq(fa, fb, 12 * sizeof(float));
    free(fa);
    free(fb);
    free(ta);
    free(tb);
    km_reader_free(a);
    km_reader_free(b);
}

Test(io_text, stacked_matrices_with_blank_lines_and_nonfinite)
{
    const char *p = write_tmp("stack.txt", "1 2.5 -3\n4e2 NaN inf\n\n7 8 9\n-Infinity 0.125 +6\n\n");
    km_reader *r = open_with(p, 2, 0, 50, 1);
    km_session_info in;
    km_reader_info(r, &in);
    cr_assert_eq(in.rows, 2);
    cr_assert_eq(in.cols, 3);
    cr_assert_eq(in.n_frames, 2);
    /* counted at open, the first one's place as errors name places; said */
    cr_assert_eq(in.n_nonfinite, 3);
    cr_assert_str_eq(in.nonfinite_at, "line 2, column 2");
    char said[256];
    km_nonfinite_text(&in, said, sizeof said);
    const char *want = "3 values are nan or inf (the first at line 2, column 2): kept";
    cr_assert(strncmp(said, want, strlen(want)) == 0, "%s", said);
    float *f;
    double *t;
    cr_assert_eq(km_test_read_all(ctx, r, 7, &f, &t), 2);
    cr_assert_float_eq(f[1], 2.5f, 0);
    cr_assert_float_eq(f[2], -3.0f, 0);
    cr_assert_float_eq(f[3], 400.0f, 0);
    cr_assert(isnan(f[4]));
    cr_assert(isinf(f[5]) && f[5] > 0);
    cr_assert(isinf(f[9]) && f[9] < 0);
    cr_assert_float_eq(f[10], 0.125f, 0);
    cr_assert_float_eq(f[11], 6.0f, 0);
    cr_assert_float_eq(t[1], 0.02, 1e-12);
    free(f);
    free(t);
    km_reader_free(r);
    remove(p);
}

Test(io_text, nonfinite_counted_beside_a_time_column_and_with_semicolons)
{
    const char *p = write_tmp("times.csv", "time,a,b,c,d\n0,1,2,3,4\n0.1,4,-inf,6,7\n0.2,nan,NaN,9,1\n");
    km_reader *r = open_with(p, 2, 2, 0, -1);
    km_session_info in;
    km_reader_info(r, &in);
    cr_assert_eq(in.n_nonfinite, 3);
    cr_assert_str_eq(in.nonfinite_at, "line 3, column 3"); /* the time column is column 1 */
    km_reader_free(r);
    remove(p);
    p = write_tmp("semi.csv", "1,5;2;3\n4;Infinity;6,25\n");
    r = open_with(p, 1, 3, 0, -1);
    km_reader_info(r, &in);
    cr_assert_eq(in.n_nonfinite, 1);
    cr_assert_str_eq(in.nonfinite_at, "line 2, column 2");
    km_reader_free(r);
    remove(p);
    p = write_tmp("none.txt", "1 2 3\n4 5 6\n"); /* nothing to say */
    r = open_with(p, 1, 3, 0, -1);
    km_reader_info(r, &in);
    cr_assert_eq(in.n_nonfinite, 0);
    cr_assert_str_eq(in.nonfinite_at, "");
    char said[8] = "x";
    km_nonfinite_text(&in, said, sizeof said);
    cr_assert_str_eq(said, "");
    km_reader_free(r);
    remove(p);
}

Test(io_text, decimal_values_round_like_strtof)
{
    const char *vals[] = {"0.1", "3.14159265358979", "1e-7", "123456789", "9.999999e37", "-2.5E+3", "0.000001234",
                          "16777217", "1.17549435e-38", "4294967296"};
    char content[512] = "";
    for (int i = 0; i < 10; i++) {
        strcat(content, vals[i]);
        strcat(content, i == 9 ? "\n" : ",");
    }
    const char *p = write_tmp("dec.txt", content);
    km_reader *r = open_with(p, 0, 0, 0, -1);
    float f[10];
    int64_t got;
    cr_assert_eq(km_reader_read(ctx, r, f, NULL, 1, &got), KM_OK);
    cr_assert_eq(got, 1);
    for (int i = 0; i < 10; i++)
        cr_assert_float_eq(f[i], strtof(vals[i], NULL), 0, "%s -> %.9g", vals[i], f[i]);
    km_reader_free(r);
    remove(p);
}

Test(io_text, blocks_of_1_7_4096_identical_and_end_gives_0)
{
    km_read_options o;
    km_read_options_default(&o);
    o.rows = 64;
    o.cols = 32;
    o.frame_rate_hz = 1.0;
    o.text_frame_per_file = 0;
    km_test_block_sizes_agree(ctx, EXP1, &o, 82);
}

Test(io_text, truncated_matrix_frame_names_line_and_frame)
{
    const char *p = write_tmp("trunc.txt", "1 2\n3 4\n5 6\n");
    km_reader *r = open_with(p, 2, 2, 0, 1);
    float buf[8];
    int64_t got = -1;
    cr_assert_eq(km_reader_read(ctx, r, buf, NULL, 1, &got), KM_OK);
    cr_assert_eq(got, 1);
    cr_assert_eq(km_reader_read(ctx, r, buf, NULL, 1, &got), KM_ERR_FORMAT);
    cr_assert_not_null(strstr(km_ctx_last_error(ctx), "trunc.txt: line 3: frame 2: file ends after 1 of 2 rows"),
                       "%s", km_ctx_last_error(ctx));
    km_reader_free(r);
    remove(p);
}

Test(io_text, bad_files_fail_with_file_and_line)
{
    FILE *f = fopen(KM_TEST_DATA "/bad/EXPECTED.tsv", "r");
    km_test_bad b;
    int checked = 0, format;
    cr_assert_not_null(f);
    while (km_test_next_bad(f, "text_", &b)) {
        const char *name = b.name, *path = b.path, *frag = b.frag;
        km_status st = km_test_open_and_drain(ctx, path, NULL, &format);
        cr_assert_eq(st, KM_ERR_FORMAT, "%s: status %d (%s)", name, st, km_ctx_last_error(ctx));
        cr_assert_eq(atoi(b.code), 65);
        cr_assert_not_null(strstr(km_ctx_last_error(ctx), path), "%s: '%s'", name, km_ctx_last_error(ctx));
        cr_assert_not_null(strstr(km_ctx_last_error(ctx), frag), "%s: detail '%s' lacks '%s'", name,
                           km_ctx_last_error(ctx), frag);
        checked++;
    }
    fclose(f);
    cr_assert_geq(checked, 5);
}

/* The BodiTrak matrix (experiment ii) as a spreadsheet saves it as CSV
   after a title cell made the sheet wider: values comma-separated, every
   row padded with empty fields, a blank row as ",,,,", the matrix twice.
   It reads as the original's values, two frames with --grid 64x27.  Before
   session 31 the padding was "empty value in column 28". */
Test(io_text, spreadsheet_padding_reads_as_the_values)
{
    km_reader *a = open_with(EXP2, 0, 0, 0, -1);
    float *fa, *fb;
    double *ta, *tb;
    cr_assert_eq(km_test_read_all(ctx, a, 1, &fa, &ta), 1);
    km_reader_free(a);
    FILE *in = fopen(EXP2, "rb");
    char path[512], line[4096];
    km_test_path(path, sizeof path, tmpdir, "resaved.csv");
    FILE *out = fopen(path, "wb");
    cr_assert(in && out);
    for (int copy = 0; copy < 2; copy++) {
        rewind(in);
        fputs(",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\r\n", out);
        while (fgets(line, sizeof line, in) != NULL) {
            int fields = 1;
            for (char *q = line; *q != '\0' && *q != '\n' && *q != '\r'; q++) {
                int sep = *q == ' ' && q[1] != ' ' && q[1] != '\n' && q[1] != '\r' && q[1] != '\0' && q > line;
                fputc(sep ? ',' : *q, out);
                fields += sep;
            }
            for (; fields < 31; fields++)
                fputc(',', out);
            fputs("\r\n", out);
        }
    }
    fclose(in);
    fclose(out);
    km_reader *b = open_with(path, 64, 27, 0, -1);
    km_session_info ib;
    km_reader_info(b, &ib);
    cr_assert_eq(ib.rows, 64);
    cr_assert_eq(ib.cols, 27);
    cr_assert_eq(ib.n_frames, 2);
    cr_assert_eq(km_test_read_all(ctx, b, 1, &fb, &tb), 2);
    cr_assert_arr_eq(fa, fb, 64 * 27 * sizeof(float));
    cr_assert_arr_eq(fa, fb + 64 * 27, 64 * 27 * sizeof(float));
    km_reader_free(b);
    free(fa);
    free(fb);
    free(ta);
    free(tb);
    remove(path);
    /* Padding is not a value: an empty field between two values still is. */
    const char *p = write_tmp("gap.csv", "1,2,3,,\n4,,6,,\n");
    int format;
    cr_assert_eq(km_test_open_and_drain(ctx, p, NULL, &format), KM_ERR_FORMAT);
    cr_assert_not_null(strstr(km_ctx_last_error(ctx), "line 2: empty value in column 2"), "'%s'",
                       km_ctx_last_error(ctx));
    remove(p);
}
