/* knotmap report RESULT.h5 -o REPORT.html: one self-contained HTML report
 * (its options and steps: result_cmd.c, as render's). */
#include <stdio.h>

#include "cli.h"

static const char USAGE[] =
    "Usage: knotmap report [OPTION]... RESULT.h5 [-o REPORT.html]\n"
    "Write one self-contained HTML file about a knotmap result, readable on a phone\n"
    "and printable: the map with the knot candidates (as knotmap render draws it),\n"
    "the candidate table, the passes over each candidate, the pressure over time\n"
    "(peak, contact area, force, centre of pressure), the parameters (those set by\n"
    "the command's options first) and what was assumed.  Nothing in it is fetched\n"
    "from the network: no scripts, external styles, fonts or images.\n\n";

static const char FOOTER[] =
    "An existing file is replaced only when it is a report knotmap wrote.\n"
    "Contents: docs/FORMAT.md 2.3.\n"
    "\n"
    "Exit status: 0 ok, 64 usage, 65 not a result / no map / beyond --max-memory,\n"
    "66 result missing (or a pipe), 69 cairo cannot be loaded,\n" KM_CLI_EXIT_70_71 ",\n"
    "73 the report cannot be created (folder missing or full), 74 I/O error,\n"
    "75 --deadline exceeded, 130/143 interrupted (SIGINT/SIGTERM: nothing written).\n";

static km_status make(km_ctx *ctx, const char *input, const char *output, const km_render_params *p,
                      km_render_info *info)
{
    (void)info;
    return km_report(ctx, input, output, p, p->overwrite);
}

static void print_info(const char *input, const char *output, const km_render_info *info)
{
    (void)info;
    printf("%s -> %s\n", input, output);
}

int km_cmd_report(int argc, char **argv)
{
    /* --map and --candidates are the first section of km_render_param_table,
       as render takes them; --max-memory its own */
    const char *groups[] = {km_render_param_find("map")->group,
                            km_render_param_find("max_memory")->group, NULL};
    const km_cli_result_cmd c = {
        "report", USAGE, FOOTER, "HTML", "the report [RESULT without .h5, plus .html]",
        "refuse to replace an existing report", ".html", groups, NULL, make, print_info};
    return km_cli_result_main(&c, argc, argv);
}
