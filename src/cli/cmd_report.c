/* knotmap report RESULT.h5 -o REPORT.html: one self-contained HTML report. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const CMD = "report";

enum { O_OUTPUT, O_NO_OVERWRITE, O_DEADLINE, O_QUIET };

/* --map and --candidates are the first section of km_render_param_table,
 * as render takes them. */
static const km_cli_opt OPTS[] = {
    KM_CLI_OPT_OUTPUT("HTML", "the report [RESULT without .h5, plus .html]", O_OUTPUT),
    KM_CLI_OPT_NO_OVERWRITE("refuse to replace an existing report", O_NO_OVERWRITE),
    KM_CLI_OPT_DEADLINE(NULL, O_DEADLINE),
    KM_CLI_OPT_QUIET("print nothing on success", O_QUIET),
    KM_CLI_OPT_HELP(NULL),
};

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

typedef struct report_opts {
    km_render_params p;
    const char *output, *input;
    int32_t overwrite;
    int quiet;
    double deadline;
    km_ctx *ctx;
} report_opts;

static int on_option(void *user, int id, const char *v)
{
    report_opts *o = user;
    switch (id) {
    case O_OUTPUT:
        return km_cli_output_arg(CMD, v, &o->output);
    case O_NO_OVERWRITE:
        o->overwrite = 0;
        return KM_EX_OK;
    case O_DEADLINE:
        return km_cli_deadline_arg(CMD, v, &o->deadline);
    default: /* O_QUIET */
        o->quiet = 1;
        return KM_EX_OK;
    }
}

/* The report, once the result passed the probe. */
static int write_report(void *user)
{
    report_opts *o = user;
    km_cli_interrupt_begin(&o->ctx, 1); /* as render's: cancelled, nothing left behind */
    km_status st = km_report(o->ctx, o->input, o->output, &o->p, o->overwrite);
    km_cli_interrupt_end();
    if (st != KM_OK)
        return km_cli_report(o->ctx, st, o->input, o->output);
    if (!o->quiet)
        printf("%s -> %s\n", o->input, o->output);
    return KM_EX_OK;
}

int km_cmd_report(int argc, char **argv)
{
    report_opts o = {.output = NULL, .input = NULL, .overwrite = 1, .quiet = 0,
                     .deadline = 0.0, .ctx = NULL};
    char *own_output = NULL;
    int rc;

    km_render_params_default(&o.p);
    const char *groups[] = {km_render_param_find("map")->group,
                            km_render_param_find("max_memory")->group, NULL};
    km_cli_parser ps = {CMD,  USAGE,    FOOTER, OPTS,   sizeof OPTS / sizeof OPTS[0],
                        &o.p, groups,   on_option, &o, &o.input,
                        1,    "RESULT", 0,      &km_cli_render_vocab, NULL};
    rc = km_cli_parse(&ps, argc, argv);
    if (rc != KM_EX_OK)
        return rc == KM_CLI_DONE ? KM_EX_OK : rc;
    if (o.input == NULL)
        return km_cli_usage(CMD, "no RESULT file given");
    if (o.output == NULL) {
        own_output = km_cli_output_name(o.input, ".html");
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
    rc = km_cli_bounded(o.input, NULL, o.deadline, write_report, &o); /* probe.c */
    fflush(stdout);
    km_ctx_free(o.ctx);
    free(own_output);
    return rc;
}
