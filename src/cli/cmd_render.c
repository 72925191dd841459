/* knotmap render RESULT.h5 -o MAP.png|.svg|.pdf: the picture of a result. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const CMD = "render";

enum { O_OUTPUT, O_NO_OVERWRITE, O_DEADLINE, O_QUIET };

/* The picture options (--map, --candidates, --cell-px, --vmin, --vmax,
 * --percentile) are the rows of km_render_param_table. */
static const km_cli_opt OPTS[] = {
    KM_CLI_OPT_OUTPUT("FILE", "the picture [RESULT without .h5, plus .png]", O_OUTPUT),
    KM_CLI_OPT_NO_OVERWRITE("refuse to replace an existing picture", O_NO_OVERWRITE),
    KM_CLI_OPT_DEADLINE(NULL, O_DEADLINE),
    KM_CLI_OPT_QUIET("print nothing on success", O_QUIET),
    KM_CLI_OPT_HELP(NULL),
};

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

typedef struct render_opts {
    km_render_params p;
    const char *output, *input;
    int quiet;
    double deadline;
    km_ctx *ctx;
    km_render_info info;
} render_opts;

static int on_option(void *user, int id, const char *v)
{
    render_opts *o = user;
    switch (id) {
    case O_OUTPUT:
        return km_cli_output_arg(CMD, v, &o->output);
    case O_NO_OVERWRITE:
        o->p.overwrite = 0;
        return KM_EX_OK;
    case O_DEADLINE:
        return km_cli_deadline_arg(CMD, v, &o->deadline);
    default: /* O_QUIET */
        o->quiet = 1;
        return KM_EX_OK;
    }
}

static void print_info(const char *input, const char *output, const km_render_info *info)
{
    printf("%s -> %s\n  %d x %d px; map %d x %d cells of %d x %d px, %.4g..%.4g "
           "(%.2g%% of the cells above); %d candidate%s marked\n",
           input, output, (int)info->width, (int)info->height, (int)info->map_ny,
           (int)info->map_nx, (int)info->cell_w, (int)info->cell_h, info->vmin, info->vmax,
           100.0 * info->clipped_above, (int)info->n_marked, info->n_marked == 1 ? "" : "s");
}

/* The picture, once the result passed the probe. */
static int draw(void *user)
{
    render_opts *o = user;
    /* SIGINT/SIGTERM cancel the picture between its steps and rows (exit
       130/143, nothing written); still drawing after the grace of 2 s, the
       run ends at once with its temporary removed (signals.c) */
    km_cli_interrupt_begin(&o->ctx, 1);
    km_status st = km_render(o->ctx, o->input, o->output, &o->p, &o->info);
    km_cli_interrupt_end();
    if (st != KM_OK)
        return km_cli_report(o->ctx, st, o->input, o->output);
    if (!o->quiet)
        print_info(o->input, o->output, &o->info);
    return KM_EX_OK;
}

int km_cmd_render(int argc, char **argv)
{
    render_opts o = {.output = NULL, .input = NULL, .quiet = 0, .deadline = 0.0, .ctx = NULL};
    char *own_output = NULL;
    int rc;

    km_render_params_default(&o.p);
    km_cli_parser ps = {CMD,  USAGE,     FOOTER, OPTS,   sizeof OPTS / sizeof OPTS[0],
                        &o.p, NULL,      on_option, &o, &o.input,
                        1,    "RESULT",  0,      &km_cli_render_vocab, NULL};
    rc = km_cli_parse(&ps, argc, argv);
    if (rc != KM_EX_OK)
        return rc == KM_CLI_DONE ? KM_EX_OK : rc;
    if (o.input == NULL)
        return km_cli_usage(CMD, "no RESULT file given");
    if (!isnan(o.p.vmin) && !isnan(o.p.vmax) && !(o.p.vmin < o.p.vmax))
        return km_cli_usage(CMD, "--vmin %g must be below --vmax %g", o.p.vmin, o.p.vmax);
    if (o.output == NULL) {
        own_output = km_cli_output_name(o.input, ".png");
        if (own_output == NULL) {
            km_cli_error("out of memory");
            return KM_EX_OSERR;
        }
        o.output = own_output;
    }
    if (km_ctx_create(&o.ctx) != KM_OK) {
        km_cli_error("out of memory");
        free(own_output);
        return KM_EX_OSERR;
    }
    rc = km_cli_bounded(o.input, NULL, o.deadline, draw, &o); /* probe.c: libhdf5 may crash */
    fflush(stdout);
    km_ctx_free(o.ctx);
    free(own_output);
    return rc;
}
