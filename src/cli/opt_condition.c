/* Command-line options of the conditioning chain (km_condition_params),
 * shared by the commands that process sessions.  docs/CLI.md lists them. */
#include <math.h>
#include <string.h>

#include "cli.h"

const char km_cli_condition_help[] =
    "Conditioning chain (docs/ALGORITHMS.md 1, 2, 8, 10):\n"
    "  --resample-hz F        resample irregular times to F Hz first [off]\n"
    "  --tare N               subtract each taxel's mean over the first N frames [off]\n"
    "  --calibration C        raw -> kPa curve: none, header (the Tekscan header's\n"
    "                         CALIBRATION_POINT_k), linear or power [none]\n"
    "  --curve-a A            p = A * raw^B in kPa (linear/power) [1]\n"
    "  --curve-b B            [1]\n"
    "  --detect-bad-taxels    mask dead, stuck and hot taxels found in the warm-up\n"
    "  --warmup-frames N      warm-up block for --detect-bad-taxels [100]\n"
    "  --hot-ratio R          hot: above R times every neighbour, 0 = off [4]\n"
    "  --fill-bad-taxels      fill masked taxels from their neighbours in the output\n"
    "  --corrupt-ratio R      flag frames whose total exceeds R times the median of\n"
    "                         their neighbours, 0 = off [4]\n"
    "  --corrupt-window N     frames in that median, odd [9]\n"
    "  --lowpass-hz F         low-pass corner [off]\n"
    "  --highpass-hz F        high-pass corner (drift removal) [off]\n"
    "  --iir                  low/high-pass as causal Butterworth IIR [zero-phase FIR]\n"
    "  --order N              IIR order [4]\n"
    "  --taps N               FIR taps, odd [auto]\n"
    "  --notch-hz F           mains notch [off]\n"
    "  --notch-q Q            notch quality factor [30]\n"
    "  --harmonics N          notches at k*F, k = 1..N [1]\n"
    "  --median N             running median over N frames, odd [off]\n"
    "  --dog-sigma S          difference of Gaussians: subtract a Gaussian of sigma S\n"
    "                         taxels (blob enhancement) [off]\n"
    "  --equilibrate FILE     per-taxel gains from FILE, a uniform-load recording\n"
    "                         (any format, read on its own; its grid must be the\n"
    "                         session's); dead taxels are masked [off]\n"
    "  --gain-map FILE        per-taxel gains from a text file of R lines of C\n"
    "                         numbers (nan = dead taxel, masked) [off]\n"
    "  --equil-load-fraction F  equilibration: loaded frames are within F..1/F\n"
    "                         of the plateau [0.8]\n"
    "  --equil-settle-frames N  loaded frames dropped at each end of a load [10]\n"
    "  --equil-max-gain G     gains clipped to [1/G, G] [4]\n";

static int set_double(const char *cmd, const char *name, const char *v, double lo, double *out)
{
    double d;
    if (km_cli_double(cmd, name, v, &d) < 0)
        return -1;
    if (!isfinite(d) || d < lo) {
        km_cli_usage(cmd, "--%s: '%s' is out of range", name, v);
        return -1;
    }
    *out = d;
    return 1;
}

static int set_int(const char *cmd, const char *name, const char *v, long long lo,
                   long long hi, int32_t *out)
{
    long long n;
    if (km_cli_int(cmd, name, v, lo, hi, &n) < 0)
        return -1;
    *out = (int32_t)n;
    return 1;
}

/* --calibration NAME. */
static int set_curve(const char *cmd, const char *v, km_calib_curve *out)
{
    static const struct {
        const char *name;
        km_calib_curve curve;
    } curves[] = {{"none", KM_CURVE_NONE},
                  {"header", KM_CURVE_HEADER},
                  {"linear", KM_CURVE_LINEAR},
                  {"power", KM_CURVE_POWER}};
    for (size_t k = 0; k < sizeof curves / sizeof curves[0]; k++)
        if (strcmp(v, curves[k].name) == 0) {
            *out = curves[k].curve;
            return 1;
        }
    km_cli_usage(cmd, "--calibration: '%s' is not none, header, linear or power", v);
    return -1;
}

/* Options of the gain map (km_process_params: equilibrate, gain_map_path,
 * equil).  Returns as km_cli_condition_option. */
static int equil_option(const char *cmd, int argc, char **argv, int *i, km_process_params *pp)
{
    static const char *const names[] = {"equilibrate", "gain-map", "equil-load-fraction",
                                        "equil-settle-frames", "equil-max-gain"};
    const char *v = NULL;
    int m = 0;
    size_t k = 0;
    for (; k < sizeof names / sizeof names[0]; k++)
        if ((m = km_cli_match(cmd, argc, argv, i, names[k], 0, 1, &v)) != 0)
            break;
    if (k == sizeof names / sizeof names[0])
        return 0;
    if (m < 0)
        return -1;
    switch (k) {
    case 0:
    case 1:
        if (v[0] == '\0') {
            km_cli_usage(cmd, "--%s needs a file name", names[k]);
            return -1;
        }
        if ((k == 0 ? pp->gain_map_path : pp->equilibrate) != NULL) {
            km_cli_usage(cmd, "--equilibrate and --gain-map exclude each other");
            return -1;
        }
        *(k == 0 ? &pp->equilibrate : &pp->gain_map_path) = v;
        return 1;
    case 2: {
        double f;
        if (km_cli_double(cmd, names[k], v, &f) < 0)
            return -1;
        if (!(f > 0.0 && f < 1.0)) {
            km_cli_usage(cmd, "--%s: '%s' is not between 0 and 1", names[k], v);
            return -1;
        }
        pp->equil.load_fraction = f;
        return 1;
    }
    case 3: return set_int(cmd, names[k], v, 0, 1000000, &pp->equil.settle_frames);
    default: return set_double(cmd, names[k], v, 1.0, &pp->equil.max_gain);
    }
}

int km_cli_condition_option(const char *cmd, int argc, char **argv, int *i,
                            km_process_params *pp)
{
    km_condition_params *c = &pp->cond;
    const char *v = NULL;
    int m;
    if ((m = equil_option(cmd, argc, argv, i, pp)) != 0)
        return m;
    static const char *const flags[] = {"detect-bad-taxels", "fill-bad-taxels", "iir"};
    for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++) {
        if ((m = km_cli_match(cmd, argc, argv, i, flags[k], 0, 0, &v)) == 0)
            continue;
        if (m < 0)
            return -1;
        if (k == 0)
            c->detect_bad = 1;
        else if (k == 1)
            c->fill_bad = 1;
        else
            c->fir = 0;
        return 1;
    }
    static const char *const names[] = {
        "resample-hz", "tare", "calibration", "curve-a", "curve-b", "warmup-frames",
        "hot-ratio", "corrupt-ratio", "corrupt-window", "lowpass-hz", "highpass-hz", "order",
        "taps", "notch-hz", "notch-q", "harmonics", "median", "dog-sigma"};
    size_t k = 0;
    for (; k < sizeof names / sizeof names[0]; k++)
        if ((m = km_cli_match(cmd, argc, argv, i, names[k], 0, 1, &v)) != 0)
            break;
    if (k == sizeof names / sizeof names[0])
        return 0;
    if (m < 0)
        return -1;
    const char *n = names[k];
    switch (k) {
    case 0: return set_double(cmd, n, v, 0.0, &c->resample_hz);
    case 1: return set_int(cmd, n, v, 0, 100000, &c->tare_frames);
    case 2: return set_curve(cmd, v, &c->curve);
    case 3: return set_double(cmd, n, v, -INFINITY, &c->curve_a);
    case 4: return set_double(cmd, n, v, 0.0, &c->curve_b);
    case 5: return set_int(cmd, n, v, 1, 100000, &c->warmup_frames);
    case 6: return set_double(cmd, n, v, 0.0, &c->bad.hot_ratio);
    case 7: return set_double(cmd, n, v, 0.0, &c->corrupt_ratio);
    case 8: return set_int(cmd, n, v, 3, 255, &c->corrupt_window);
    case 9: return set_double(cmd, n, v, 0.0, &c->lowpass_hz);
    case 10: return set_double(cmd, n, v, 0.0, &c->highpass_hz);
    case 11: return set_int(cmd, n, v, 1, 16, &c->order);
    case 12: return set_int(cmd, n, v, 0, 1 << 20, &c->taps);
    case 13: return set_double(cmd, n, v, 0.0, &c->notch_hz);
    case 14: return set_double(cmd, n, v, 0.0, &c->notch_q);
    case 15: return set_int(cmd, n, v, 1, 1000, &c->notch_harmonics);
    case 16: return set_int(cmd, n, v, 0, 255, &c->median_frames);
    default: return set_double(cmd, n, v, 0.0, &c->dog_sigma);
    }
}
