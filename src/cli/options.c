/* Option parsing shared by the commands: strict numbers, "--opt=value" and
 * "--opt value", the reader options. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int km_cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "knotmap: %s%s", cmd != NULL ? cmd : "", cmd != NULL ? ": " : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'knotmap %s%s--help'.\n", cmd != NULL ? cmd : "", cmd != NULL ? " " : "");
    return KM_EX_USAGE;
}

int km_cli_single_operand(const char *cmd, const char *a, int *options_done, const char **operand,
                          void (*help)(void), int *exit_code)
{
    if (*options_done || a[0] != '-' || a[1] == '\0') {
        if (*operand != NULL) {
            *exit_code = km_cli_usage(cmd, "one RESULT at a time ('%s' and '%s')", *operand, a);
            return -1;
        }
        *operand = a;
        return 1;
    }
    if (strcmp(a, "--") == 0) {
        *options_done = 1;
        return 1;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
        help();
        *exit_code = KM_EX_OK;
        return -1;
    }
    return 0;
}

int km_cli_match(const char *cmd, int argc, char **argv, int *i, const char *long_name,
                 char short_name, int want_value, const char **value)
{
    const char *a = argv[*i];
    const char *inline_value = NULL;
    int matched = 0;

    if (long_name != NULL && a[0] == '-' && a[1] == '-') {
        size_t n = strlen(long_name);
        if (strncmp(a + 2, long_name, n) == 0 && (a[2 + n] == '\0' || a[2 + n] == '=')) {
            matched = 1;
            if (a[2 + n] == '=')
                inline_value = a + 3 + n;
        }
    } else if (short_name != 0 && a[0] == '-' && a[1] == short_name) {
        matched = 1;
        if (a[2] != '\0') {
            if (!want_value)
                return 0; /* "-qv": not supported as a bundle, reported as unknown */
            inline_value = a + 2;
        }
    }
    if (!matched)
        return 0;
    if (!want_value) {
        if (inline_value != NULL) {
            km_cli_usage(cmd, "--%s takes no value", long_name);
            return -1;
        }
        return 1;
    }
    if (inline_value != NULL) {
        *value = inline_value;
        return 1;
    }
    if (*i + 1 >= argc) {
        if (long_name != NULL)
            km_cli_usage(cmd, "--%s needs a value", long_name);
        else
            km_cli_usage(cmd, "-%c needs a value", short_name);
        return -1;
    }
    *i += 1;
    *value = argv[*i];
    return 1;
}

int km_cli_double(const char *cmd, const char *opt, const char *text, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (text[0] == '\0' || end == text || *end != '\0' || errno == ERANGE || isnan(v)) {
        km_cli_usage(cmd, "--%s: '%s' is not a number", opt, text);
        return -1;
    }
    *out = v;
    return 0;
}

int km_cli_int(const char *cmd, const char *opt, const char *text, long long lo, long long hi,
               long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (text[0] == '\0' || end == text || *end != '\0' || errno == ERANGE) {
        km_cli_usage(cmd, "--%s: '%s' is not an integer", opt, text);
        return -1;
    }
    if (v < lo || v > hi) {
        km_cli_usage(cmd, "--%s: %lld is out of range [%lld, %lld]", opt, v, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int km_cli_pair(const char *cmd, const char *opt, const char *text, int allow_single,
                double *a, double *b)
{
    char *end = NULL;
    errno = 0;
    double x = strtod(text, &end), y;
    if (end == text || errno == ERANGE || !(x > 0.0) || !isfinite(x))
        goto bad;
    if (*end == '\0' && allow_single) {
        *a = *b = x;
        return 0;
    }
    if (*end != 'x' && *end != 'X')
        goto bad;
    const char *t2 = end + 1;
    y = strtod(t2, &end);
    if (end == t2 || *end != '\0' || errno == ERANGE || !(y > 0.0) || !isfinite(y))
        goto bad;
    *a = x;
    *b = y;
    return 0;
bad:
    km_cli_usage(cmd, "--%s: '%s' is not %s", opt, text,
                 allow_single ? "a positive number or RxC (e.g. 5.08 or 10x5)"
                              : "RxC with positive values (e.g. 64x32)");
    return -1;
}

const char km_cli_read_help[] =
    "Input options (what the file does not say itself):\n"
    "  --format NAME        auto|session|tekscan|xsensor|text|audio [auto]\n"
    "  --grid RxC           taxel rows x columns (text and audio files)\n"
    "  --rate HZ            frame rate [from the file, else 1]\n"
    "  --pitch MM|RxC       taxel pitch in mm, rows x columns [from the file, else 1]\n"
    "  --units U            kPa|mmHg|N/cm2|raw [from the file, else raw]\n"
    "  --mode M             mat|roller [from the file, else mat]\n"
    "  --roller-radius MM   roller radius (roller mode)\n"
    "  --sensor N           XSENSOR: which sensor of a two-sensor file [0]\n"
    "  --text-layout L      text: matrix (frames of R lines) or line (one frame per line)\n"
    "                       [from --grid; a long thin file without --grid is refused]\n"
    "  --override           options replace the file's own rate, pitch, units, mode and\n"
    "                       roller radius [a conflict is an error]\n"
    "  --max-memory SIZE    memory budget for the declared grid, block and HDF5\n"
    "                       chunks, bytes or with K/M/G (GiB) [1G]\n"
    "A value the file lacks and no option gives is assumed (1 Hz, 1 mm, raw, mat) with a\n"
    "warning on stderr, and listed in the result's /session attribute 'assumed'.\n";

int km_cli_read_option(const char *cmd, int argc, char **argv, int *i, km_read_options *ro)
{
    const char *v = NULL;
    int m;
    double a, b;
    long long n;

    if ((m = km_cli_match(cmd, argc, argv, i, "format", 0, 1, &v)) != 0) {
        km_format f;
        if (m < 0)
            return -1;
        if (km_format_parse(v, &f) != KM_OK) {
            km_cli_usage(cmd, "--format: unknown format '%s' (auto, session, tekscan, xsensor, "
                              "text, audio)", v);
            return -1;
        }
        ro->format = f;
        return 1;
    }
    if ((m = km_cli_match(cmd, argc, argv, i, "grid", 0, 1, &v)) != 0) {
        if (m < 0 || km_cli_pair(cmd, "grid", v, 0, &a, &b) < 0)
            return -1;
        if (a != floor(a) || b != floor(b) || a > KM_MAX_DIM || b > KM_MAX_DIM) {
            km_cli_usage(cmd, "--grid: '%s' is not RxC with whole numbers up to %d", v, KM_MAX_DIM);
            return -1;
        }
        ro->rows = (int32_t)a;
        ro->cols = (int32_t)b;
        return 1;
    }
    if ((m = km_cli_match(cmd, argc, argv, i, "rate", 0, 1, &v)) != 0) {
        if (m < 0 || km_cli_double(cmd, "rate", v, &a) < 0)
            return -1;
        if (!(a > 0.0) || !isfinite(a)) {
            km_cli_usage(cmd, "--rate: must be > 0 (got '%s')", v);
            return -1;
        }
        ro->frame_rate_hz = a;
        return 1;
    }
    if ((m = km_cli_match(cmd, argc, argv, i, "pitch", 0, 1, &v)) != 0) {
        if (m < 0 || km_cli_pair(cmd, "pitch", v, 1, &a, &b) < 0)
            return -1;
        ro->row_pitch_mm = a;
        ro->col_pitch_mm = b;
        return 1;
    }
    if ((m = km_cli_match(cmd, argc, argv, i, "units", 0, 1, &v)) != 0) {
        if (m < 0)
            return -1;
        if (strcmp(v, "raw") != 0 && !isfinite(km_units_to_kpa(v))) {
            km_cli_usage(cmd, "--units: unknown unit '%s' (kPa, mmHg, N/cm2, raw)", v);
            return -1;
        }
        ro->units = v;
        return 1;
    }
    if ((m = km_cli_match(cmd, argc, argv, i, "mode", 0, 1, &v)) != 0) {
        if (m < 0)
            return -1;
        if (strcmp(v, "mat") == 0) {
            ro->mode = KM_MODE_MAT;
        } else if (strcmp(v, "roller") == 0) {
            ro->mode = KM_MODE_ROLLER;
        } else {
            km_cli_usage(cmd, "--mode: '%s' is not mat or roller", v);
            return -1;
        }
        return 1;
    }
    if ((m = km_cli_match(cmd, argc, argv, i, "roller-radius", 0, 1, &v)) != 0) {
        if (m < 0 || km_cli_double(cmd, "roller-radius", v, &a) < 0)
            return -1;
        if (!(a > 0.0) || !isfinite(a)) {
            km_cli_usage(cmd, "--roller-radius: must be > 0 (got '%s')", v);
            return -1;
        }
        ro->roller_radius_mm = a;
        return 1;
    }
    if ((m = km_cli_match(cmd, argc, argv, i, "max-memory", 0, 1, &v)) != 0) {
        char *end = NULL;
        double mult = 1;
        if (m < 0)
            return -1;
        a = strtod(v, &end);
        if (end != v && end[0] != '\0' && end[1] == '\0')
            mult = end[0] == 'K' || end[0] == 'k'   ? 1024.0
                   : end[0] == 'M' || end[0] == 'm' ? 1048576.0
                   : end[0] == 'G' || end[0] == 'g' ? 1073741824.0
                                                    : 0.0;
        else if (end == v || end[0] != '\0')
            mult = 0;
        a *= mult;
        if (!(a >= 1048576.0 && a <= 9.0e18)) {
            km_cli_usage(cmd, "--max-memory: '%s' is not a size of 1M or more (e.g. 4G)", v);
            return -1;
        }
        ro->max_memory = (int64_t)a;
        return 1;
    }
    if ((m = km_cli_match(cmd, argc, argv, i, "sensor", 0, 1, &v)) != 0) {
        if (m < 0 || km_cli_int(cmd, "sensor", v, 0, 1, &n) < 0)
            return -1;
        ro->sensor = (int32_t)n;
        return 1;
    }
    if ((m = km_cli_match(cmd, argc, argv, i, "text-layout", 0, 1, &v)) != 0) {
        if (m < 0)
            return -1;
        if (strcmp(v, "matrix") == 0 || strcmp(v, "line") == 0) {
            ro->text_frame_per_file = strcmp(v, "matrix") == 0;
            return 1;
        }
        km_cli_usage(cmd, "--text-layout: '%s' is not matrix or line", v);
        return -1;
    }
    if ((m = km_cli_match(cmd, argc, argv, i, "override", 0, 0, &v)) != 0) {
        if (m < 0)
            return -1;
        ro->override = 1;
        return 1;
    }
    return 0;
}

/* What each name of km_session_info.assumed means, and what to pass. */
static const struct {
    const char *name, *what;
} ASSUMED[] = {
    {"row_pitch_mm", "no row pitch in the file: assuming 1 mm (pass --pitch MM or RxC)"},
    {"col_pitch_mm", "no column pitch in the file: assuming 1 mm (pass --pitch MM or RxC)"},
    {"frame_rate_hz", "no frame rate in the file: assuming 1 Hz (pass --rate HZ)"},
    {"units", "no units in the file: values are raw counts (pass --units kPa|mmHg|N/cm2)"},
    {"mode", "no acquisition mode in the file: assuming a mat (pass --mode mat|roller)"},
    {"roller_radius_mm", "roller without a radius: taking rows x row pitch / 2 pi "
                         "(pass --roller-radius MM)"},
};

const char *km_cli_assumed_text(const char *name, size_t len)
{
    for (size_t k = 0; k < sizeof ASSUMED / sizeof ASSUMED[0]; k++)
        if (strlen(ASSUMED[k].name) == len && strncmp(ASSUMED[k].name, name, len) == 0)
            return ASSUMED[k].what;
    return NULL;
}

int km_cli_warn_assumed(const char *path, const char *assumed)
{
    int n = 0;
    const char *p = assumed != NULL ? assumed : "";
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        const char *what = km_cli_assumed_text(p, len);
        if (what != NULL)
            fprintf(stderr, "knotmap: %s: warning: %s\n", path, what);
        else
            fprintf(stderr, "knotmap: %s: warning: %.*s assumed\n", path, (int)len, p);
        n++;
        p += len;
        if (*p == ',')
            p++;
    }
    return n;
}

static int needs_quotes(const char *s)
{
    if (*s == '\0')
        return 1;
    for (; *s != '\0'; s++)
        if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%", *s) ==
            NULL)
            return 1;
    return 0;
}

char *km_cli_command_line(int argc, char **argv)
{
    size_t n = 1;
    for (int i = 0; i < argc; i++)
        n += 4 * strlen(argv[i]) + 3;
    char *s = malloc(n), *p = s;
    if (s == NULL)
        return NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (i > 0)
            *p++ = ' ';
        if (!needs_quotes(a)) {
            size_t l = strlen(a);
            memcpy(p, a, l);
            p += l;
            continue;
        }
        *p++ = '\'';
        for (; *a != '\0'; a++) {
            if (*a == '\'') {
                memcpy(p, "'\\''", 4);
                p += 4;
            } else {
                *p++ = *a;
            }
        }
        *p++ = '\'';
    }
    *p = '\0';
    return s;
}

char *km_cli_output_name(const char *input, const char *ext)
{
    size_t n = strlen(input), e = strlen(ext);
    char *out = malloc(n + e + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, input, n + 1);
    if (n > 3 && strcmp(input + n - 3, ".h5") == 0)
        out[n - 3] = '\0';
    strcat(out, ext);
    return out;
}

int km_cli_parse_render_map(const char *cmd, const char *v, int32_t *out)
{
    static const char *const names[] = {"auto", "bodymap", "max", "excess"};
    for (int32_t i = 0; i < 4; i++)
        if (strcmp(v, names[i]) == 0) {
            *out = i;
            return 0;
        }
    return km_cli_usage(cmd, "--map must be auto, bodymap, max or excess, not '%s'", v), -1;
}
