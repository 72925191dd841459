/* knotmap eval RESULT.h5 --truth SESSION.h5: candidates against ground truth. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *const CMD = "eval";

enum { O_TRUTH, O_TOLERANCE, O_TOP, O_JSON, O_DEADLINE };

static const km_cli_opt OPTS[] = {
    {"truth", 0, "SESSION", "the synthetic session (required)", NULL, NULL, O_TRUTH},
    {"tolerance", 0, "MM",
     "largest matching distance [one taxel pitch: the larger of the result's row and column "
     "pitch]",
     NULL, NULL, O_TOLERANCE},
    {"top", 0, "N", "evaluate only the best N candidates [all]", NULL, NULL, O_TOP},
    {"json", 0, NULL, "one JSON object on stdout", NULL, NULL, O_JSON},
    KM_CLI_OPT_DEADLINE_READ(O_DEADLINE),
    KM_CLI_OPT_HELP(NULL),
};

static const char USAGE[] =
    "Usage: knotmap eval [OPTION]... RESULT.h5 --truth SESSION.h5\n"
    "Match the knot candidates of RESULT (/candidates) to the true knots of a\n"
    "synthetic SESSION (/truth/knots), one to one, nearest pairs first, within a\n"
    "tolerance; print precision, recall, F1 and the localization error.\n\n";

static const char FOOTER[] =
    "Exit status: 0 ok, 64 usage, 65 not a result / no candidates / no truth,\n"
    "66 a file is missing, 75 --deadline exceeded,\n" KM_CLI_EXIT_70_71 ".\n";

typedef struct eval_opts {
    const char *truth, *input;
    double tolerance, deadline;
    long long top;
    int json;
    km_ctx *ctx;
} eval_opts;

static int on_option(void *user, int id, const char *v)
{
    eval_opts *o = user;
    switch (id) {
    case O_TRUTH:
        o->truth = v;
        return KM_EX_OK;
    case O_TOLERANCE:
        if (km_cli_double(CMD, "tolerance", v, &o->tolerance) != 0)
            return KM_EX_USAGE;
        if (!(o->tolerance > 0.0) || !isfinite(o->tolerance))
            return km_cli_usage(CMD, "--tolerance needs millimetres > 0, not '%s'", v);
        return KM_EX_OK;
    case O_TOP:
        return km_cli_int(CMD, "top", v, 0, INT64_MAX, &o->top) != 0 ? KM_EX_USAGE : KM_EX_OK;
    case O_DEADLINE:
        return km_cli_deadline_arg(CMD, v, &o->deadline);
    default:
        o->json = 1;
        return KM_EX_OK;
    }
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

/* The evaluation, once both files passed the probe. */
static int evaluate(void *user)
{
    eval_opts *o = user;
    km_eval_result r;
    km_status st = km_eval(o->ctx, o->input, o->truth, o->tolerance, (int64_t)o->top, &r);
    if (st != KM_OK)
        return km_cli_report(o->ctx, st, o->input, o->truth);
    if (o->json)
        print_json(o->input, o->truth, &r);
    else
        print_text(o->input, o->truth, &r);
    return KM_EX_OK;
}

int km_cmd_eval(int argc, char **argv)
{
    eval_opts o = {.truth = NULL, .input = NULL, .tolerance = 0.0, .deadline = 0.0,
                   .top = -1, .json = 0, .ctx = NULL};
    km_cli_parser ps = {CMD,       USAGE, FOOTER, OPTS,   sizeof OPTS / sizeof OPTS[0], NULL,
                        NULL, on_option, &o,    &o.input, 1, "RESULT", 0, NULL, NULL};
    int rc = km_cli_parse(&ps, argc, argv);
    if (rc != KM_EX_OK)
        return rc == KM_CLI_DONE ? KM_EX_OK : rc;
    if (o.input == NULL)
        return km_cli_usage(CMD, "no RESULT file given");
    if (o.truth == NULL)
        return km_cli_usage(CMD, "--truth SESSION is required");
    if (km_ctx_create(&o.ctx) != KM_OK) {
        km_cli_error("out of memory");
        return KM_EX_OSERR;
    }
    rc = km_cli_bounded(o.input, o.truth, o.deadline, evaluate, &o); /* probe.c */
    fflush(stdout);
    km_ctx_free(o.ctx);
    return rc;
}
