/* What `knotmap render` and `knotmap report` share: one knotmap result in,
 * one file out (a picture, the report), the same options and steps. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

enum { O_OUTPUT, O_NO_OVERWRITE, O_DEADLINE, O_QUIET };

typedef struct run {
    const km_cli_result_cmd *c;
    km_render_params p;
    const char *output, *input;
    int quiet;
    double deadline;
    km_ctx *ctx;
    km_render_info info;
} run;

static int on_option(void *user, int id, const char *v)
{
    run *r = user;
    switch (id) {
    case O_OUTPUT:
        return km_cli_output_arg(r->c->cmd, v, &r->output);
    case O_NO_OVERWRITE:
        r->p.overwrite = 0;
        return KM_EX_OK;
    case O_DEADLINE:
        return km_cli_deadline_arg(r->c->cmd, v, &r->deadline);
    default: /* O_QUIET */
        r->quiet = 1;
        return KM_EX_OK;
    }
}

/* The file, once the result passed the probe. */
static int make(void *user)
{
    run *r = user;
    /* SIGINT/SIGTERM cancel between the steps and rows (exit 130/143,
       nothing written); still working after the grace of 2 s, the run ends
       at once with its temporary removed (signals.c) */
    km_cli_interrupt_begin(&r->ctx, 1);
    km_status st = r->c->make(r->ctx, r->input, r->output, &r->p, &r->info);
    km_cli_interrupt_end();
    if (st != KM_OK)
        return km_cli_report(r->ctx, st, r->input, r->output);
    if (!r->quiet)
        r->c->print(r->input, r->output, &r->info);
    return KM_EX_OK;
}

int km_cli_result_main(const km_cli_result_cmd *c, int argc, char **argv)
{
    run r = {.c = c, .output = NULL, .input = NULL, .quiet = 0, .deadline = 0.0, .ctx = NULL};
    const km_cli_opt opts[] = {
        KM_CLI_OPT_OUTPUT(c->out_metavar, c->out_help, O_OUTPUT),
        KM_CLI_OPT_NO_OVERWRITE(c->no_overwrite_help, O_NO_OVERWRITE),
        KM_CLI_OPT_DEADLINE(NULL, O_DEADLINE),
        KM_CLI_OPT_QUIET("print nothing on success", O_QUIET),
        KM_CLI_OPT_HELP(NULL),
    };
    char *own_output = NULL;
    int rc;

    km_render_params_default(&r.p);
    km_cli_parser ps = {c->cmd, c->usage, c->footer, opts,     sizeof opts / sizeof opts[0],
                        &r.p,   c->groups, on_option, &r,      &r.input,
                        1,      "RESULT",  0,         &km_cli_render_vocab, NULL};
    rc = km_cli_parse(&ps, argc, argv);
    if (rc != KM_EX_OK)
        return rc == KM_CLI_DONE ? KM_EX_OK : rc;
    if (r.input == NULL)
        return km_cli_usage(c->cmd, "no RESULT file given");
    if (c->check != NULL && (rc = c->check(c->cmd, &r.p)) != KM_EX_OK)
        return rc;
    if (r.output == NULL) {
        own_output = km_cli_output_name(r.input, c->ext);
        if (own_output == NULL) {
            km_cli_error("out of memory");
            return KM_EX_OSERR;
        }
        r.output = own_output;
    }
    if (km_ctx_create(&r.ctx) != KM_OK) {
        km_cli_error("out of memory");
        free(own_output);
        return KM_EX_OSERR;
    }
    rc = km_cli_bounded(r.input, NULL, r.deadline, make, &r); /* probe.c: libhdf5 may crash */
    fflush(stdout);
    km_ctx_free(r.ctx);
    free(own_output);
    return rc;
}
