/* knotmap render RESULT.h5 -o MAP.png|.svg|.pdf: the picture of a result. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const CMD = "render";

static void help(void)
{
    printf("Usage: knotmap render [OPTION]... RESULT.h5 [-o MAP.png|MAP.svg|MAP.pdf]\n"
           "Draw the body map (roller) or maximum map (mat) of a knotmap result as a picture\n"
           "a clinician can read alone: a title (file, recording date, duration, mode), axes\n"
           "in mm with the orientation, viridis colours with a colour bar, the knot\n"
           "candidates ringed and numbered by rank (1 = strongest) with their amplitude and\n"
           "size, a legend, and what the session assumed.  The format is the output's\n"
           "extension: .png, .svg or .pdf.\n"
           "\n"
           "  -o, --output FILE      the picture [RESULT without .h5, plus .png]\n"
           "      --map NAME         auto (bodymap if the result has one, else max),\n"
           "                         bodymap, max (per-taxel maximum, grid coordinates),\n"
           "                         excess (the candidate map) [auto]\n"
           "      --cell-px N        pixels per cell along the finer pitch, 1..64 (the\n"
           "                         picture is true to scale); 0 = fit 480 px [0]\n"
           "      --vmin X, --vmax X colour range in result units [vmin 0 (the minimum when\n"
           "                         a value is negative), vmax the percentile below]\n"
           "      --percentile P     the automatic vmax: this percentile of the cells with\n"
           "                         data, 50..100; higher cells show the top colour and\n"
           "                         their share is written in the picture [99]\n"
           "      --candidates N     candidates marked, best first; -1 = all [20]\n"
           "      --no-overwrite     refuse to replace an existing picture\n"
           "  -q, --quiet            print nothing on success\n"
           "  -h, --help             show this help and exit\n"
           "\n"
           "Candidates are body positions: they are marked on a body map and on the grid\n"
           "of a mat, not on a roller's grid (--map max).  An existing file is replaced only\n"
           "when it is a picture of the same format.  Layout: docs/FORMAT.md 2.2.\n"
           "\n"
           "Exit status: 0 ok, 64 usage (or an unknown extension), 65 not a result / no map,\n"
           "66 result missing, 73 the picture cannot be created, 74 I/O error.\n");
}

int km_cmd_render(int argc, char **argv)
{
    km_render_params p;
    km_render_info info;
    const char *input = NULL, *output = NULL, *v = NULL;
    char *own_output = NULL;
    int quiet = 0, m, rc = KM_EX_OK, options_done = 0;
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
        } else if ((m = km_cli_match(CMD, argc, argv, &i, "cell-px", 0, 1, &v)) != 0) {
            if (m < 0 || km_cli_int(CMD, "cell-px", v, 0, 64, &ll) != 0)
                return KM_EX_USAGE;
            p.cell_px = (int32_t)ll;
        } else if ((m = km_cli_match(CMD, argc, argv, &i, "vmin", 0, 1, &v)) != 0) {
            if (m < 0 || km_cli_double(CMD, "vmin", v, &p.vmin) != 0)
                return KM_EX_USAGE;
        } else if ((m = km_cli_match(CMD, argc, argv, &i, "vmax", 0, 1, &v)) != 0) {
            if (m < 0 || km_cli_double(CMD, "vmax", v, &p.vmax) != 0)
                return KM_EX_USAGE;
        } else if ((m = km_cli_match(CMD, argc, argv, &i, "percentile", 0, 1, &v)) != 0) {
            if (m < 0 || km_cli_double(CMD, "percentile", v, &p.vmax_percentile) != 0)
                return KM_EX_USAGE;
            if (!(p.vmax_percentile >= 50.0 && p.vmax_percentile <= 100.0))
                return km_cli_usage(CMD, "--percentile must be 50..100, not '%s'", v);
        } else if ((m = km_cli_match(CMD, argc, argv, &i, "candidates", 0, 1, &v)) != 0) {
            if (m < 0 || km_cli_int(CMD, "candidates", v, -1, INT32_MAX, &ll) != 0)
                return KM_EX_USAGE;
            p.max_candidates = (int32_t)ll;
        } else if ((m = km_cli_match(CMD, argc, argv, &i, "no-overwrite", 0, 0, &v)) != 0) {
            if (m < 0)
                return KM_EX_USAGE;
            p.overwrite = 0;
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
    if (!isnan(p.vmin) && !isnan(p.vmax) && !(p.vmin < p.vmax))
        return km_cli_usage(CMD, "--vmin %g must be below --vmax %g", p.vmin, p.vmax);
    if (output == NULL) {
        own_output = km_cli_output_name(input, ".png");
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
        st = km_render(ctx, input, output, &p, &info);
    if (st != KM_OK) {
        rc = km_cli_report(ctx, st, input, output);
    } else if (rc == KM_EX_OK && !quiet) {
        printf("%s -> %s\n  %d x %d px; map %d x %d cells of %d x %d px, %.4g..%.4g "
               "(%.2g%% of the cells above); %d candidate%s marked\n",
               input, output, (int)info.width, (int)info.height, (int)info.map_ny,
               (int)info.map_nx, (int)info.cell_w, (int)info.cell_h, info.vmin, info.vmax,
               100.0 * info.clipped_above, (int)info.n_marked, info.n_marked == 1 ? "" : "s");
    }
    fflush(stdout);
    km_ctx_free(ctx);
    free(own_output);
    return rc;
}
