/* knotmap synth: write a synthetic session with ground truth. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

enum { O_MODE, O_PRESET, O_SEED, O_MODEL, O_DURATION, O_RATE, O_GRID, O_KNOTS, O_RADIUS,
       O_FORMAT, O_EQUIL, O_EQUIL_KPA, O_NO_OVERWRITE, O_OUTPUT };

static const km_cli_opt OPTS[] = {
    {"mode", 0, "roller|mat", "acquisition mode [roller]", NULL, NULL, O_MODE},
    {"preset", 0, "easy|moderate|hard", "sensor artefacts and knot strength [moderate]", NULL,
     NULL, O_PRESET},
    {"seed", 0, "N", "random seed [1]", NULL, NULL, O_SEED},
    {"model", 0, "1|2",
     "tissue and sensor model [1]; model 2 draws the device (grid, pitches, roller radius), "
     "body, knots and artefacts from the seed (no --grid, --knots, --roller-radius)",
     NULL, NULL, O_MODEL},
    {"duration", 0, "S", "seconds [30]", NULL, NULL, O_DURATION},
    {"rate", 0, "HZ", "frames per second [100]", NULL, NULL, O_RATE},
    {"grid", 0, "RxC", "rows x columns [32x32]", NULL, NULL, O_GRID},
    {"knots", 0, "N", "number of knots [6]", NULL, NULL, O_KNOTS},
    {"roller-radius", 0, "MM", "roller radius [50]", NULL, NULL, O_RADIUS},
    {"format", 0, "session|tekscan|audio",
     "output layout [from the extension of OUT: .asf/.csv tekscan, "
     ".wav/.w64/.rf64/.caf/.aif/.aiff/.au audio, else session]",
     NULL, NULL, O_FORMAT},
    {"equilibration", 0, NULL,
     "write the uniform-load (equilibration) recording of the same sensor instead (same "
     "--seed, --preset, --grid, --mode): gains, dead and stuck taxels of that session, no "
     "knots; for knotmap process --equilibrate",
     NULL, NULL, O_EQUIL},
    {"equilibration-kpa", 0, "K", "its load [50]; --duration defaults to 5 s for it", NULL,
     NULL, O_EQUIL_KPA},
    KM_CLI_OPT_NO_OVERWRITE("refuse to replace an existing OUT (--no-clobber is the same)",
                            O_NO_OVERWRITE),
    KM_CLI_OPT_OUTPUT("OUT", "the file to write", O_OUTPUT),
    KM_CLI_OPT_HELP(NULL),
};

static const char USAGE[] = "Usage: knotmap synth [OPTION]... -o OUT\n"
                            "Write a synthetic pressure session with known knots (ground "
                            "truth).\n\n";

static const char FOOTER[] = "The session format (HDF5) carries the true knots in "
                             "/truth/knots.\n";

static int parse_long(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static km_format format_from_extension(const char *path)
{
    static const char *const audio[] = {".wav", ".w64", ".rf64", ".caf", ".aif", ".aiff", ".au"};
    const char *dot = strrchr(path, '.');
    if (dot == NULL)
        return KM_FORMAT_SESSION;
    if (strcasecmp(dot, ".asf") == 0 || strcasecmp(dot, ".csv") == 0)
        return KM_FORMAT_TEKSCAN;
    for (size_t i = 0; i < sizeof audio / sizeof audio[0]; i++)
        if (strcasecmp(dot, audio[i]) == 0)
            return KM_FORMAT_AUDIO;
    return KM_FORMAT_SESSION;
}

/* What the options set, before the preset is applied. */
typedef struct synth_opts {
    km_synth_params p;
    const char *out;
    int have_format, have_duration, overwrite;
    double equil_kpa;
    km_format format;
    km_synth_difficulty preset;
    double radius;
    int32_t knots, model;
    const char *geometry_opt;
} synth_opts;

static int usage(const char *what, const char *v)
{
    km_cli_error("synth: %s, not '%s'", what, v);
    return KM_EX_USAGE;
}

static int set_grid(synth_opts *o, const char *v)
{
    int r = 0, c = 0;
    char x = 0, extra = 0;
    o->geometry_opt = "--grid";
    if (sscanf(v, "%d%c%d%c", &r, &x, &c, &extra) != 3 || (x != 'x' && x != 'X') || r < 1 ||
        c < 1)
        return usage("--grid needs ROWSxCOLS", v);
    o->p.rows = r;
    o->p.cols = c;
    return KM_EX_OK;
}

/* The options that shape the session (mode, model, grid, knots, radius, format). */
static int on_shape(synth_opts *o, int id, const char *v)
{
    long long ll;
    switch (id) {
    case O_MODE: { /* the names of process --mode (the parameter table's) */
        const char *const *names = km_process_param_find("mode")->names;
        for (int32_t k = 0; names[k] != NULL; k++)
            if (strcmp(v, names[k]) == 0) {
                o->p.mode = k;
                return KM_EX_OK;
            }
        return usage("--mode must be roller or mat", v);
    }
    case O_MODEL:
        if (parse_long(v, 1, 2, &ll) != 0)
            return usage("--model must be 1 or 2", v);
        o->model = (int32_t)ll;
        return KM_EX_OK;
    case O_GRID:
        return set_grid(o, v);
    case O_KNOTS:
        o->geometry_opt = "--knots";
        if (parse_long(v, 0, KM_SYNTH_MAX_KNOTS, &ll) != 0) {
            km_cli_error("synth: --knots needs an integer 0..%d, not '%s'", KM_SYNTH_MAX_KNOTS, v);
            return KM_EX_USAGE;
        }
        o->knots = (int32_t)ll;
        return KM_EX_OK;
    case O_RADIUS:
        o->geometry_opt = "--roller-radius";
        if (parse_double(v, &o->radius) != 0 || !(o->radius > 0.0))
            return usage("--roller-radius needs millimetres > 0", v);
        return KM_EX_OK;
    default: /* O_FORMAT */
        if (km_format_parse(v, &o->format) != KM_OK ||
            (o->format != KM_FORMAT_SESSION && o->format != KM_FORMAT_TEKSCAN &&
             o->format != KM_FORMAT_AUDIO))
            return usage("--format must be session, tekscan or audio", v);
        o->have_format = 1;
        return KM_EX_OK;
    }
}

static int on_option(void *user, int id, const char *v)
{
    synth_opts *o = user;
    long long ll;
    switch (id) {
    case O_PRESET:
        return km_synth_difficulty_parse(v, &o->preset) != KM_OK
                   ? usage("--preset must be easy, moderate or hard", v)
                   : KM_EX_OK;
    case O_SEED:
        if (parse_long(v, 0, INT64_MAX, &ll) != 0)
            return usage("--seed needs a non-negative integer", v);
        o->p.seed = (uint64_t)ll;
        return KM_EX_OK;
    case O_DURATION:
        o->have_duration = 1;
        if (parse_double(v, &o->p.duration_s) != 0 || !(o->p.duration_s > 0.0))
            return usage("--duration needs seconds > 0", v);
        return KM_EX_OK;
    case O_RATE:
        if (parse_double(v, &o->p.frame_rate_hz) != 0 || !(o->p.frame_rate_hz > 0.0))
            return usage("--rate needs a frame rate > 0", v);
        return KM_EX_OK;
    case O_EQUIL:
        if (!(o->equil_kpa > 0.0))
            o->equil_kpa = 50.0;
        return KM_EX_OK;
    case O_EQUIL_KPA:
        if (parse_double(v, &o->equil_kpa) != 0 || !(o->equil_kpa > 0.0))
            return usage("--equilibration-kpa needs kPa > 0", v);
        return KM_EX_OK;
    case O_NO_OVERWRITE:
        o->overwrite = 0;
        return KM_EX_OK;
    case O_OUTPUT:
        return km_cli_output_arg("synth", v, &o->out);
    default:
        return on_shape(o, id, v);
    }
}

/* Parse and check the command line into o; KM_EX_OK, KM_CLI_DONE or an exit code. */
static int parse(int argc, char **argv, synth_opts *o)
{
    km_synth_params_default(&o->p);
    o->out = NULL;
    o->have_format = o->have_duration = 0;
    o->overwrite = 1;
    o->equil_kpa = 0.0;
    o->format = KM_FORMAT_SESSION;
    o->preset = KM_SYNTH_MODERATE;
    o->radius = o->p.roller_radius_mm;
    o->knots = o->p.n_knots;
    o->model = 1;
    o->geometry_opt = NULL;
    km_cli_parser ps = {"synth", USAGE, FOOTER, OPTS, sizeof OPTS / sizeof OPTS[0], NULL, NULL,
                        on_option, o, NULL, 0, "", 0};
    int rc = km_cli_parse(&ps, argc, argv);
    if (rc != KM_EX_OK)
        return rc;
    if (o->out == NULL || o->out[0] == '\0') {
        km_cli_error("synth: missing -o OUT (see knotmap synth --help)");
        return KM_EX_USAGE;
    }
    if (o->model == 2 && o->geometry_opt != NULL) {
        km_cli_error("synth: %s does not apply to --model 2 (it draws the device and the knots "
                     "from the seed)", o->geometry_opt);
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
    km_synth_preset(&p, o.preset);
    p.model = o.model;
    p.equilibration_kpa = o.equil_kpa;
    if (o.equil_kpa > 0.0 && !o.have_duration)
        p.duration_s = 5.0;
    p.roller_radius_mm = o.radius;
    p.n_knots = o.knots;
    km_format format = o.have_format ? o.format : format_from_extension(o.out);
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
