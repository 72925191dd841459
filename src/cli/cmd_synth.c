/* knotmap synth: write a synthetic session with ground truth. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

static const char synth_usage[] =
    "Usage: knotmap synth [OPTIONS] -o OUT\n"
    "Write a synthetic pressure session with known knots (ground truth).\n"
    "\n"
    "  --mode roller|mat       acquisition mode [roller]\n"
    "  --preset easy|moderate|hard   sensor artefacts and knot strength [moderate]\n"
    "  --seed N                random seed [1]\n"
    "  --model 1|2             tissue and sensor model [1]; model 2 draws the device\n"
    "                          (grid, pitches, roller radius), body, knots and\n"
    "                          artefacts from the seed (no --grid, --knots,\n"
    "                          --roller-radius)\n"
    "  --duration S            seconds [30]\n"
    "  --rate HZ               frames per second [100]\n"
    "  --grid RxC              rows x columns [32x32]\n"
    "  --knots N               number of knots [6]\n"
    "  --roller-radius MM      roller radius [50]\n"
    "  --format session|tekscan|audio   output layout [from the extension of OUT:\n"
    "                          .asf/.csv tekscan, .wav/.w64/.rf64/.caf/.aif/.aiff/.au audio,\n"
    "                          else session]\n"
    "  --equilibration         write the uniform-load (equilibration) recording of\n"
    "                          the same sensor instead (same --seed, --preset,\n"
    "                          --grid, --mode): gains, dead and stuck taxels of that\n"
    "                          session, no knots; for knotmap process --equilibrate\n"
    "  --equilibration-kpa K   its load [50]; --duration defaults to 5 s for it\n"
    "  --no-clobber            refuse to replace an existing OUT\n"
    "  -o, --output OUT        the file to write\n"
    "  -h, --help              this text\n"
    "\n"
    "The session format (HDF5) carries the true knots in /truth/knots.\n";

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

/* "--name=value" or "--name value": the value, advancing *i; NULL if absent. */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc)
        return "";
    return argv[++*i];
}

int km_cmd_synth(int argc, char **argv)
{
    km_synth_params p;
    km_synth_params_default(&p);
    const char *out = NULL;
    int have_format = 0, overwrite = 1;
    double equil_kpa = 0.0;
    int have_duration = 0;
    km_format format = KM_FORMAT_SESSION;
    km_synth_difficulty preset = KM_SYNTH_MODERATE;
    double radius = p.roller_radius_mm;
    int32_t knots = p.n_knots;
    int32_t model = 1;
    const char *geometry_opt = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        long long ll;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(synth_usage, stdout);
            return KM_EX_OK;
        } else if (strcmp(a, "--no-clobber") == 0) {
            overwrite = 0;
        } else if (strcmp(a, "--equilibration") == 0) {
            if (!(equil_kpa > 0.0))
                equil_kpa = 50.0;
        } else if ((v = option_value(argc, argv, &i, "--equilibration-kpa")) != NULL) {
            if (parse_double(v, &equil_kpa) != 0 || !(equil_kpa > 0.0)) {
                km_cli_error("synth: --equilibration-kpa needs kPa > 0, not '%s'", v);
                return KM_EX_USAGE;
            }
        } else if (strcmp(a, "-o") == 0 || (v = option_value(argc, argv, &i, "--output")) != NULL) {
            if (strcmp(a, "-o") == 0) {
                if (i + 1 >= argc) {
                    km_cli_error("synth: -o needs a file name");
                    return KM_EX_USAGE;
                }
                v = argv[++i];
            }
            out = v;
        } else if ((v = option_value(argc, argv, &i, "--mode")) != NULL) {
            if (strcmp(v, "roller") == 0)
                p.mode = KM_MODE_ROLLER;
            else if (strcmp(v, "mat") == 0)
                p.mode = KM_MODE_MAT;
            else {
                km_cli_error("synth: --mode must be roller or mat, not '%s'", v);
                return KM_EX_USAGE;
            }
        } else if ((v = option_value(argc, argv, &i, "--preset")) != NULL) {
            if (km_synth_difficulty_parse(v, &preset) != KM_OK) {
                km_cli_error("synth: --preset must be easy, moderate or hard, not '%s'", v);
                return KM_EX_USAGE;
            }
        } else if ((v = option_value(argc, argv, &i, "--seed")) != NULL) {
            if (parse_long(v, 0, INT64_MAX, &ll) != 0) {
                km_cli_error("synth: --seed needs a non-negative integer, not '%s'", v);
                return KM_EX_USAGE;
            }
            p.seed = (uint64_t)ll;
        } else if ((v = option_value(argc, argv, &i, "--model")) != NULL) {
            if (parse_long(v, 1, 2, &ll) != 0) {
                km_cli_error("synth: --model must be 1 or 2, not '%s'", v);
                return KM_EX_USAGE;
            }
            model = (int32_t)ll;
        } else if ((v = option_value(argc, argv, &i, "--knots")) != NULL) {
            geometry_opt = "--knots";
            if (parse_long(v, 0, KM_SYNTH_MAX_KNOTS, &ll) != 0) {
                km_cli_error("synth: --knots needs an integer 0..%d, not '%s'", KM_SYNTH_MAX_KNOTS, v);
                return KM_EX_USAGE;
            }
            knots = (int32_t)ll;
        } else if ((v = option_value(argc, argv, &i, "--duration")) != NULL) {
            have_duration = 1;
            if (parse_double(v, &p.duration_s) != 0 || !(p.duration_s > 0.0)) {
                km_cli_error("synth: --duration needs seconds > 0, not '%s'", v);
                return KM_EX_USAGE;
            }
        } else if ((v = option_value(argc, argv, &i, "--rate")) != NULL) {
            if (parse_double(v, &p.frame_rate_hz) != 0 || !(p.frame_rate_hz > 0.0)) {
                km_cli_error("synth: --rate needs a frame rate > 0, not '%s'", v);
                return KM_EX_USAGE;
            }
        } else if ((v = option_value(argc, argv, &i, "--roller-radius")) != NULL) {
            geometry_opt = "--roller-radius";
            if (parse_double(v, &radius) != 0 || !(radius > 0.0)) {
                km_cli_error("synth: --roller-radius needs millimetres > 0, not '%s'", v);
                return KM_EX_USAGE;
            }
        } else if ((v = option_value(argc, argv, &i, "--grid")) != NULL) {
            geometry_opt = "--grid";
            int r = 0, c = 0;
            char x = 0, extra = 0;
            if (sscanf(v, "%d%c%d%c", &r, &x, &c, &extra) != 3 || (x != 'x' && x != 'X') || r < 1 || c < 1) {
                km_cli_error("synth: --grid needs ROWSxCOLS, not '%s'", v);
                return KM_EX_USAGE;
            }
            p.rows = r;
            p.cols = c;
        } else if ((v = option_value(argc, argv, &i, "--format")) != NULL) {
            if (km_format_parse(v, &format) != KM_OK
                || (format != KM_FORMAT_SESSION && format != KM_FORMAT_TEKSCAN && format != KM_FORMAT_AUDIO)) {
                km_cli_error("synth: --format must be session, tekscan or audio, not '%s'", v);
                return KM_EX_USAGE;
            }
            have_format = 1;
        } else {
            km_cli_error("synth: unknown argument '%s' (see knotmap synth --help)", a);
            return KM_EX_USAGE;
        }
    }
    if (out == NULL || out[0] == '\0') {
        km_cli_error("synth: missing -o OUT (see knotmap synth --help)");
        return KM_EX_USAGE;
    }
    if (model == 2 && geometry_opt != NULL) {
        km_cli_error("synth: %s does not apply to --model 2 (it draws the device and the knots "
                     "from the seed)", geometry_opt);
        return KM_EX_USAGE;
    }
    km_synth_preset(&p, preset);
    p.model = model;
    p.equilibration_kpa = equil_kpa;
    if (equil_kpa > 0.0 && !have_duration)
        p.duration_s = 5.0;
    p.roller_radius_mm = radius;
    p.n_knots = knots;
    if (!have_format)
        format = format_from_extension(out);

    km_ctx *ctx = NULL;
    if (km_ctx_create(&ctx) != KM_OK) {
        km_cli_error("synth: out of memory");
        return KM_EX_SOFTWARE;
    }
    /* A first SIGINT/SIGTERM cancels between blocks, a second ends at once. */
    km_cli_interrupt_begin(&ctx, 1);
    km_status st = km_synth_write(ctx, &p, format, out, overwrite);
    km_cli_interrupt_end();
    int rc = KM_EX_OK;
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
