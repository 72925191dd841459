/* knotmap render RESULT.h5 -o MAP.png|.svg|.pdf: the picture of a result
 * (its options and steps: result_cmd.c, as report's). */
#include <math.h>
#include <stdio.h>

#include "cli.h"

/* The picture options (--map, --candidates, --cell-px, --vmin, --vmax,
 * --percentile) are the rows of km_render_param_table. */
static const char USAGE[] =
    "Usage: knotmap render [OPTION]... RESULT.h5 [-o MAP.png|MAP.svg|MAP.pdf]\n"
    "Draw the body map (roller) or maximum map (mat) of a knotmap result as a picture\n"
    "a clinician can read alone: a title (file, recording date, duration, mode), axes\n"
    "in mm with the orientation, viridis colours with a colour bar, the knot\n"
    "candidates ringed and numbered by rank (1 = strongest) with their amplitude and\n"
    "size, a legend, and what the session assumed.  The format is the output's\n"
    "extension: .png, .svg or .pdf.\n\n";

static const char FOOTER[] =
    "Candidates are body positions: they are marked on a body map and on the grid\n"
    "of a mat, not on a roller's grid (--map max).  An existing file is replaced only\n"
    "when it is a picture of the same format that knotmap drew.  Layout:\n"
    "docs/FORMAT.md 2.2.\n"
    "\n"
    "Exit status: 0 ok, 64 usage (or an unknown extension), 65 not a result / no\n"
    "map / beyond --max-memory, 66 result missing (or a pipe), 69 cairo cannot be\n"
    "loaded, "
    KM_CLI_EXIT_70_71 ",\n"
    "73 the picture cannot be created (folder missing or full), 74 I/O error,\n"
    "75 --deadline exceeded, 130/143 interrupted (SIGINT/SIGTERM: nothing written).\n";

static int check(const char *cmd, const km_render_params *p)
{
    if (!isnan(p->vmin) && !isnan(p->vmax) && !(p->vmin < p->vmax))
        return km_cli_usage(cmd, "--vmin %g must be below --vmax %g", p->vmin, p->vmax);
    return KM_EX_OK;
}

static km_status make(km_ctx *ctx, const char *input, const char *output, const km_render_params *p,
                      km_render_info *info)
{
    return km_render(ctx, input, output, p, info);
}

static void print_info(const char *input, const char *output, const km_render_info *info)
{
    printf("%s -> %s\n  %d x %d px; map %d x %d cells of %d x %d px, %.4g..%.4g "
           "(%.2g%% of the cells above); %d candidate%s marked\n",
           input, output, (int)info->width, (int)info->height, (int)info->map_ny,
           (int)info->map_nx, (int)info->cell_w, (int)info->cell_h, info->vmin, info->vmax,
           100.0 * info->clipped_above, (int)info->n_marked, info->n_marked == 1 ? "" : "s");
}

int km_cmd_render(int argc, char **argv)
{
    static const km_cli_result_cmd c = {
        "render", USAGE, FOOTER, "FILE", "the picture [RESULT without .h5, plus .png]",
        "refuse to replace an existing picture", ".png", NULL, check, make, print_info};
    return km_cli_result_main(&c, argc, argv);
}
