/* knotmap report RESULT.h5 -o REPORT.html: one self-contained HTML report. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const CMD = "report";

static void help(void)
{
    printf("Usage: knotmap report [OPTION]... RESULT.h5 [-o REPORT.html]\n"
           "Write one self-contained HTML file about a knotmap result, readable on a phone\n"
           "and printable: the map with the knot candidates (as knotmap render draws it),\n"
           "the candidate table, the passes over each candidate, the pressure over time\n"
           "(peak, contact area, force, centre of pressure), the parameters (those set by\n"
           "the command's options first) and what was assumed.  Nothing in it is fetched\n"
           "from the network: no scripts, external styles, fonts or images.\n"
           "\n"
           "  -o, --output HTML      the report [RESULT without .h5, plus .html]\n"
           "      --map NAME         the map drawn: auto, bodymap, max, excess [auto]\n"
           "      --candidates N     candidates marked on the map; -1 = all [20]\n"
           "      --no-overwrite     refuse to replace an existing report\n"
           "  -q, --quiet            print nothing on success\n"
           "  -h, --help             show this help and exit\n"
           "\n"
           "An existing file is replaced only when it is an HTML file.  Contents:\n"
           "docs/FORMAT.md 2.3.\n"
           "\n"
           "Exit status: 0 ok, 64 usage, 65 not a result / no map, 66 result missing,\n"
           "73 the report cannot be created, 74 I/O error.\n");
}

int km_cmd_report(int argc, char **argv)
{
    km_render_params p;
    const char *input = NULL, *output = NULL, *v = NULL;
    char *own_output = NULL;
    int quiet = 0, m, rc = KM_EX_OK, options_done = 0;
    int32_t overwrite = 1;
    long long ll;
    km_ctx *ctx = NULL;

    km_render_params_default(&p);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int taken = km_cli_single_operand(CMD, a, &options_done, &input, help, &rc);
        if (taken < 0)
            return rc;
        if (taken > 0)
            continue;
        if ((m = km_cli_match(CMD, argc, argv, &i, "output", 'o', 1, &v)) != 0) {
            if (m < 0)
                return KM_EX_USAGE;
            output = v;
        } else if ((m = km_cli_match(CMD, argc, argv, &i, "map", 0, 1, &v)) != 0) {
            if (m < 0 || km_cli_parse_render_map(CMD, v, &p.map) != 0)
                return KM_EX_USAGE;
        } else if ((m = km_cli_match(CMD, argc, argv, &i, "candidates", 0, 1, &v)) != 0) {
            if (m < 0 || km_cli_int(CMD, "candidates", v, -1, INT32_MAX, &ll) != 0)
                return KM_EX_USAGE;
            p.max_candidates = (int32_t)ll;
        } else if ((m = km_cli_match(CMD, argc, argv, &i, "no-overwrite", 0, 0, &v)) != 0) {
            if (m < 0)
                return KM_EX_USAGE;
            overwrite = 0;
        } else if ((m = km_cli_match(CMD, argc, argv, &i, "quiet", 'q', 0, &v)) != 0) {
            if (m < 0)
                return KM_EX_USAGE;
            quiet = 1;
        } else {
            return km_cli_usage(CMD, "unknown option '%s'", a);
        }
    }
    if (input == NULL)
        return km_cli_usage(CMD, "no RESULT file given");
    if (output == NULL) {
        own_output = km_cli_output_name(input, ".html");
        if (own_output == NULL) {
            km_cli_error("out of memory");
            return KM_EX_OSERR;
        }
        output = own_output;
    }
    if (km_ctx_create(&ctx) != KM_OK) {
        km_cli_error("out of memory");
        free(own_output);
        return KM_EX_OSERR;
    }
    km_status st = KM_OK;
    if ((rc = km_cli_probe(input, NULL, 0.0)) == KM_EX_OK) /* probe.c: libhdf5 may crash */
        st = km_report(ctx, input, output, &p, overwrite);
    if (st != KM_OK)
        rc = km_cli_report(ctx, st, input, output);
    else if (rc == KM_EX_OK && !quiet)
        printf("%s -> %s\n", input, output);
    fflush(stdout);
    km_ctx_free(ctx);
    free(own_output);
    return rc;
}
