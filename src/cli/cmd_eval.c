/* knotmap eval RESULT.h5 --truth SESSION.h5: candidates against ground truth. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *const CMD = "eval";

static void help(void)
{
    printf("Usage: knotmap eval [OPTION]... RESULT.h5 --truth SESSION.h5\n"
           "Match the knot candidates of RESULT (/candidates) to the true knots of a\n"
           "synthetic SESSION (/truth/knots), one to one, nearest pairs first, within a\n"
           "tolerance; print precision, recall, F1 and the localization error.\n"
           "\n"
           "      --truth SESSION    the synthetic session (required)\n"
           "      --tolerance MM     largest matching distance [one taxel pitch: the\n"
           "                         larger of the result's row and column pitch]\n"
           "      --top N            evaluate only the best N candidates [all]\n"
           "      --json             one JSON object on stdout\n"
           "  -h, --help             show this help and exit\n"
           "\n"
           "Exit status: 0 ok, 64 usage, 65 not a result / no candidates / no truth,\n"
           "66 a file is missing.\n");
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, at most U+10FFFF), 0 if there is none. */
static size_t utf8_seq(const unsigned char *p)
{
    unsigned c = p[0];
    size_t n = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
             : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    for (size_t k = 1; k < n; k++)
        if ((p[k] & 0xC0) != 0x80)
            return 0;
    if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0) ||
        (c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90))
        return 0;
    return n;
}

/* A JSON string for any file name: quotes, backslashes and control
 * characters escaped; a byte that is not part of valid UTF-8 becomes
 * \udcXX, Python's surrogateescape, so os.fsencode() of the decoded string
 * gives the original bytes back (docs/CLI.md). */
static void json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_seq(p);
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20 || *p == 0x7F)
            printf("\\u%04x", *p);
        else if (n == 0)
            printf("\\udc%02x", *p);
        else
            fwrite(p, 1, n, stdout);
        p += n > 0 ? n : 1;
    }
    putchar('"');
}

static void json_number(const char *key, double v, int last)
{
    printf("\"%s\": ", key);
    if (isfinite(v))
        printf("%.17g", v);
    else
        printf("null");
    printf(last ? "}\n" : ", ");
}

static void print_text(const char *input, const char *truth, const km_eval_result *r)
{
    printf("result:       %s (%lld candidates)\n", input, (long long)r->n_candidates);
    printf("truth:        %s (%lld knots)\n", truth, (long long)r->n_truth);
    printf("tolerance:    %.4g mm\n", r->tolerance_mm);
    printf("matched:      %lld\n", (long long)r->n_matched);
    printf("precision:    %.4f\n", r->precision);
    printf("recall:       %.4f\n", r->recall);
    printf("f1:           %.4f\n", r->f1);
    if (r->n_matched > 0)
        printf("error:        mean %.3f mm, rms %.3f mm, max %.3f mm\n", r->error_mean_mm,
               r->error_rms_mm, r->error_max_mm);
    else
        printf("error:        - (nothing matched)\n");
}

static void print_json(const char *input, const char *truth, const km_eval_result *r)
{
    printf("{\"result\": ");
    json_string(input);
    printf(", \"truth\": ");
    json_string(truth);
    printf(", \"n_candidates\": %lld, \"n_truth\": %lld, \"n_matched\": %lld, ",
           (long long)r->n_candidates, (long long)r->n_truth, (long long)r->n_matched);
    json_number("tolerance_mm", r->tolerance_mm, 0);
    json_number("precision", r->precision, 0);
    json_number("recall", r->recall, 0);
    json_number("f1", r->f1, 0);
    json_number("error_mean_mm", r->error_mean_mm, 0);
    json_number("error_rms_mm", r->error_rms_mm, 0);
    json_number("error_max_mm", r->error_max_mm, 1);
}

int km_cmd_eval(int argc, char **argv)
{
    const char *input = NULL, *truth = NULL, *v = NULL;
    double tolerance = 0.0;
    long long top = -1;
    int json = 0, m, rc = KM_EX_OK, options_done = 0;
    km_ctx *ctx = NULL;
    km_eval_result r;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int taken = km_cli_single_operand(CMD, a, &options_done, &input, help, &rc);
        if (taken < 0)
            return rc;
        if (taken > 0)
            continue;
        if ((m = km_cli_match(CMD, argc, argv, &i, "truth", 0, 1, &v)) != 0) {
            if (m < 0)
                return KM_EX_USAGE;
            truth = v;
        } else if ((m = km_cli_match(CMD, argc, argv, &i, "tolerance", 0, 1, &v)) != 0) {
            if (m < 0 || km_cli_double(CMD, "tolerance", v, &tolerance) != 0)
                return KM_EX_USAGE;
            if (!(tolerance > 0.0) || !isfinite(tolerance))
                return km_cli_usage(CMD, "--tolerance needs millimetres > 0, not '%s'", v);
        } else if ((m = km_cli_match(CMD, argc, argv, &i, "top", 0, 1, &v)) != 0) {
            if (m < 0 || km_cli_int(CMD, "top", v, 0, INT64_MAX, &top) != 0)
                return KM_EX_USAGE;
        } else if ((m = km_cli_match(CMD, argc, argv, &i, "json", 0, 0, &v)) != 0) {
            if (m < 0)
                return KM_EX_USAGE;
            json = 1;
        } else {
            return km_cli_usage(CMD, "unknown option '%s'", a);
        }
    }
    if (input == NULL)
        return km_cli_usage(CMD, "no RESULT file given");
    if (truth == NULL)
        return km_cli_usage(CMD, "--truth SESSION is required");
    if (km_ctx_create(&ctx) != KM_OK) {
        km_cli_error("out of memory");
        return KM_EX_OSERR;
    }
    km_status st = KM_OK;
    if ((rc = km_cli_probe(input, NULL, 0.0)) == KM_EX_OK && /* probe.c: libhdf5 may crash */
        (rc = km_cli_probe(truth, NULL, 0.0)) == KM_EX_OK)
        st = km_eval(ctx, input, truth, tolerance, (int64_t)top, &r);
    if (st != KM_OK)
        rc = km_cli_report(ctx, st, input, truth);
    else if (rc == KM_EX_OK && json)
        print_json(input, truth, &r);
    else if (rc == KM_EX_OK)
        print_text(input, truth, &r);
    fflush(stdout);
    km_ctx_free(ctx);
    return rc;
}
