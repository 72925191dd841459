/* knotmap synth: write a synthetic session with ground truth. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define STR_(x) #x
#define STR(x) STR_(x)

enum { O_FORMAT, O_EQUIL, O_EQUIL_KPA, O_NO_OVERWRITE, O_QUIET, O_OUTPUT };

/* The session options (mode, preset, seed, model, duration, rate, grid,
 * knots, roller radius) are the rows of km_synth_param_table. */
static const km_cli_opt OPTS[] = {
    {"format", 0, "session|tekscan|audio", "output layout [from the extension of OUT, below]",
     NULL, NULL, O_FORMAT},
    {"equilibration", 0, NULL,
     "write the uniform-load (equilibration) recording of the same sensor instead (same "
     "--seed, --preset, --grid, --mode): gains, dead and stuck taxels of that session, no "
     "knots; for knotmap process --equilibrate",
     NULL, NULL, O_EQUIL},
    {"equilibration-kpa", 0, "K",
     "its load [" STR(KM_SYNTH_EQUILIBRATION_KPA) "]; --duration defaults to " STR(KM_SYNTH_EQUILIBRATION_S)
     " s for it",
     NULL, NULL, O_EQUIL_KPA},
    KM_CLI_OPT_NO_OVERWRITE("refuse to replace an existing OUT", O_NO_OVERWRITE),
    KM_CLI_OPT_OUTPUT("OUT", "the file to write", O_OUTPUT),
    /* -q as every command that writes files takes it: synth prints nothing on success */
    KM_CLI_OPT_QUIET("print nothing on success (synth never does)", O_QUIET),
    KM_CLI_OPT_HELP(NULL),
};


static const char USAGE[] = "Usage: knotmap synth [OPTION]... -o OUT\n"
                            "Write a synthetic pressure session with known knots (ground "
                            "truth).\n\n";

/* What the options set; the preset is applied after them. */
typedef struct synth_opts {
    km_synth_params p;
    const char *out;
    int have_format, have_duration, overwrite, equil;
    double equil_kpa;
    km_format format;
    const char *geometry_opt; /* the last of --grid, --knots, --roller-radius given */
} synth_opts;

static int usage(const char *what, const char *v)
{
    km_cli_error("synth: %s, not '%s'", what, v);
    return KM_EX_USAGE;
}

/* A table row was set: remember what model 2 and --equilibration need to know. */
static void on_row(void *user, const km_param *row)
{
    synth_opts *o = user;
    if (row->type == KM_PARAM_GRID || row->offset == offsetof(km_synth_params, n_knots) ||
        row->offset == offsetof(km_synth_params, roller_radius_mm))
        o->geometry_opt = row->option;
    if (row->offset == offsetof(km_synth_params, duration_s))
        o->have_duration = 1;
}

static int on_option(void *user, int id, const char *v)
{
    synth_opts *o = user;
    switch (id) {
    case O_FORMAT:
        if (km_format_parse(v, &o->format) != KM_OK ||
            (o->format != KM_FORMAT_SESSION && o->format != KM_FORMAT_TEKSCAN &&
             o->format != KM_FORMAT_AUDIO))
            return usage("--format must be session, tekscan or audio", v);
        o->have_format = 1;
        return KM_EX_OK;
    case O_EQUIL:
        o->equil = 1;
        return KM_EX_OK;
    case O_EQUIL_KPA:
        if (km_cli_double("synth", "equilibration-kpa", v, &o->equil_kpa) < 0)
            return KM_EX_USAGE;
        if (!(o->equil_kpa > 0.0))
            return usage("--equilibration-kpa needs kPa > 0", v);
        o->equil = 1;
        return KM_EX_OK;
    case O_NO_OVERWRITE:
        o->overwrite = 0;
        return KM_EX_OK;
    case O_QUIET:
        return KM_EX_OK;
    default: /* O_OUTPUT */
        return km_cli_output_arg("synth", v, &o->out);
    }
}

/* The help's last lines: how OUT's extension picks the layout (the audio
 * export's own list) and where the truth goes. */
static void footer(char *buf, size_t size)
{
    int k = snprintf(buf, size, "Without --format, the extension of OUT picks the layout: .asf or "
                                ".csv a\nTekscan export; audio:");
    for (size_t i = 0; km_audio_extension(i) != NULL && k > 0 && (size_t)k < size; i++)
        k += snprintf(buf + k, size - (size_t)k, " %s", km_audio_extension(i));
    if (k > 0 && (size_t)k < size)
        snprintf(buf + k, size - (size_t)k,
                 "\n(one channel per taxel); anything else a knotmap session (HDF5), with\n"
                 "the true knots in /truth/knots.\n\n"
                 "Exit status: 0 ok, 64 usage, 69 libsndfile cannot be loaded (an audio\n"
                 "OUT), " KM_CLI_EXIT_70_71 ",\n"
                 "73 OUT cannot be created (folder missing or full, a file knotmap\n"
                 "did not write), 74 I/O error, 130/143 interrupted (SIGINT/SIGTERM:\n"
                 "nothing written).\n");
}

/* Parse and check the command line into o; KM_EX_OK, KM_CLI_DONE or an exit code. */
static int parse(int argc, char **argv, synth_opts *o)
{
    char foot[640];
    footer(foot, sizeof foot);
    km_synth_params_default(&o->p);
    o->out = NULL;
    o->have_format = o->have_duration = 0;
    o->overwrite = 1;
    o->equil = 0;
    o->equil_kpa = 0.0;
    o->format = KM_FORMAT_SESSION;
    o->geometry_opt = NULL;
    km_cli_parser ps = {"synth", USAGE, foot, OPTS, sizeof OPTS / sizeof OPTS[0], &o->p, NULL,
                        on_option, o, NULL, 0, "", 0, &km_cli_synth_vocab, on_row};
    int rc = km_cli_parse(&ps, argc, argv);
    if (rc != KM_EX_OK)
        return rc;
    if (o->out == NULL || o->out[0] == '\0')
        return km_cli_usage("synth", "no -o OUT given (the session file to write, e.g. -o s.h5)");
    if (o->p.model == 2 && o->geometry_opt != NULL) {
        km_cli_error("synth: --%s does not apply to --model 2 (it draws the device and the "
                     "knots from the seed)", o->geometry_opt);
        return KM_EX_USAGE;
    }
    return KM_EX_OK;
}

int km_cmd_synth(int argc, char **argv)
{
    synth_opts o;
    int rc = parse(argc, argv, &o);
    if (rc != KM_EX_OK)
        return rc == KM_CLI_DONE ? KM_EX_OK : rc;
    km_synth_params p = o.p;
    km_synth_preset(&p, (km_synth_difficulty)p.difficulty);
    if (o.equil) /* 0 kPa: the default load */
        km_synth_equilibration(&p, o.equil_kpa, o.have_duration);
    km_format format = o.have_format ? o.format : km_format_from_extension(o.out);
    const char *out = o.out;
    int overwrite = o.overwrite;

    km_ctx *ctx = NULL;
    if (km_ctx_create(&ctx) != KM_OK) {
        km_cli_error("synth: out of memory");
        return KM_EX_SOFTWARE;
    }
    /* A first SIGINT/SIGTERM cancels between blocks, a second ends at once. */
    km_cli_interrupt_begin(&ctx, 1);
    km_status st = km_synth_write(ctx, &p, format, out, overwrite);
    km_cli_interrupt_end();
    rc = KM_EX_OK;
    if (st == KM_ERR_CANCELLED) {
        km_cli_error("%s: interrupted; nothing written", out);
        rc = 128 + km_cli_interrupted();
    } else if (st != KM_OK) {
        const char *detail = km_ctx_last_error(ctx);
        km_cli_error("%s", detail[0] ? detail : km_strerror(st));
        /* Bad parameters are a usage error here: the user typed them. */
        rc = st == KM_ERR_INVALID ? KM_EX_USAGE : km_cli_exit_code(st);
    }
    km_ctx_free(ctx);
    return rc;
}
