/* knotmap info INPUT...: what a reader sees in a file. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *const CMD = "info";

static void help(void)
{
    printf("Usage: knotmap info [OPTION]... INPUT...\n"
           "Print the geometry, frame count, rate, units, format, mask and source header\n"
           "of each INPUT as knotmap reads it.\n\n%s\n"
           "  -h, --help           show this help and exit\n"
           "\nExit status: 0 ok, 64 usage, 65 bad input data, 66 input missing.\n",
           km_cli_read_help);
}

static int show(km_ctx *ctx, const char *path, const km_read_options *ro, int first)
{
    km_reader *r = NULL;
    km_session_info in;
    km_status st = km_reader_open(ctx, path, ro, &r);
    if (st != KM_OK)
        return km_cli_report(ctx, st, path, NULL);
    km_reader_info(r, &in);
    int32_t taxels = in.rows * in.cols;
    const char *fmt = km_format_name(in.format);
    if (!first)
        printf("\n");
    printf("file:         %s\n", path);
    printf("format:       %s\n", fmt != NULL ? fmt : "?");
    printf("grid:         %d x %d taxels (rows x cols)\n", (int)in.rows, (int)in.cols);
    printf("pitch:        %.6g x %.6g mm\n", in.row_pitch_mm, in.col_pitch_mm);
    if (in.n_frames >= 0)
        printf("frames:       %lld\n", (long long)in.n_frames);
    else
        printf("frames:       unknown until read\n");
    printf("rate:         %.6g Hz\n", in.frame_rate_hz);
    if (in.n_frames >= 0 && in.frame_rate_hz > 0.0)
        printf("duration:     %.6g s\n", (double)in.n_frames / in.frame_rate_hz);
    printf("units:        %s\n", in.units);
    printf("mode:         %s\n", in.mode == KM_MODE_ROLLER ? "roller" : "mat");
    if (in.mode == KM_MODE_ROLLER)
        printf("roller:       radius %.6g mm\n", in.roller_radius_mm);
    printf("saturation:   %.6g\n", in.saturation);
    printf("mask:         %d valid, %d masked of %d taxels\n", (int)in.n_valid,
           (int)(taxels - in.n_valid), (int)taxels);
    size_t nh = km_reader_header_count(r);
    printf("header:       %zu key%s\n", nh, nh == 1 ? "" : "s");
    for (size_t i = 0; i < nh; i++) {
        const char *k = NULL, *v = NULL;
        km_reader_header_get(r, i, &k, &v);
        printf("  %s = %s\n", k != NULL ? k : "", v != NULL ? v : "");
    }
    km_reader_free(r);
    return KM_EX_OK;
}

int km_cmd_info(int argc, char **argv)
{
    km_read_options ro;
    int n_in = 0, rc = KM_EX_OK, options_done = 0, m;
    km_ctx *ctx = NULL;

    km_read_options_default(&ro);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || a[1] == '\0') {
            n_in++;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options_done = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help();
            return KM_EX_OK;
        }
        if ((m = km_cli_read_option(CMD, argc, argv, &i, &ro)) != 0) {
            if (m < 0)
                return KM_EX_USAGE;
            continue;
        }
        return km_cli_usage(CMD, "unknown option '%s'", a);
    }
    if (n_in == 0)
        return km_cli_usage(CMD, "no input file given");
    if (km_ctx_create(&ctx) != KM_OK) {
        km_cli_error("out of memory");
        return KM_EX_OSERR;
    }
    /* Second pass for the inputs, now that every option is known. */
    int first = 1;
    options_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!options_done && strcmp(a, "--") == 0) {
            options_done = 1;
            continue;
        }
        if (!options_done && a[0] == '-' && a[1] != '\0') {
            if (strchr(a, '=') == NULL && strcmp(a, "--") != 0)
                i++; /* every info option takes a value */
            continue;
        }
        int r = show(ctx, a, &ro, first);
        first = 0;
        if (r != KM_EX_OK && rc == KM_EX_OK)
            rc = r;
        km_ctx_clear_error(ctx);
    }
    fflush(stdout);
    km_ctx_free(ctx);
    return rc;
}
