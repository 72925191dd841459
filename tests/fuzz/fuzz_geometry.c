/* Fuzz target: the CLI's option parsing (src/cli/argparse.c, param_value.c,
 * options.c, compiled in): --grid, --pitch, --rate, --roller-radius,
 * --sensor, --units, --mode, --format through km_cli_parse and the
 * parameter table, in both "--opt VALUE" and "--opt=VALUE" forms; the whole
 * input as a `process` command line (bundles, abbreviations, "--"); and
 * km_cli_command_line's shell quoting.
 *
 * Input: NUL-separated strings; the first is the value given to every
 * option, all of them form an argv for the parser and the quoting check.
 * Checks: an accepted --grid is whole and within [1, KM_MAX_DIM]; an
 * accepted pitch, rate or radius is positive and finite; the parser returns
 * ok or a usage error, never anything else; the quoted command line parses
 * back (POSIX single quotes) to the same argv. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include "fuzz_common.h"
#include "cli.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* options.c links against these (main.c defines them). */
int km_cli_argc;
char **km_cli_argv;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* Usage errors go to stderr by design; under libFuzzer (argv[0] names
       fuzz_geometry) they would fill the log at 100k runs a second.  The
       replay driver keeps them, so a reproducer shows everything. */
    if (*argc > 0 && strstr((*argv)[0], "fuzz_geometry") != NULL) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0)
            stderr = fdopen(fd, "w");
    }
    return 0;
}

static const char *const km_fuzz_opts[] = {"grid", "pitch", "rate", "roller-radius",
                                           "sensor", "units", "mode", "format"};

static void check_parsed(const char *opt, const km_read_options *ro)
{
    if (strcmp(opt, "grid") == 0 &&
        (ro->rows < 1 || ro->cols < 1 || ro->rows > KM_MAX_DIM || ro->cols > KM_MAX_DIM))
        km_fuzz_die("--grid accepted a grid outside [1, KM_MAX_DIM]", "");
    if (strcmp(opt, "pitch") == 0 && !(ro->row_pitch_mm > 0 && isfinite(ro->row_pitch_mm) &&
                                       ro->col_pitch_mm > 0 && isfinite(ro->col_pitch_mm)))
        km_fuzz_die("--pitch accepted a pitch not positive and finite", "");
    if (strcmp(opt, "rate") == 0 && !(ro->frame_rate_hz > 0 && isfinite(ro->frame_rate_hz)))
        km_fuzz_die("--rate accepted a rate not positive and finite", "");
    if (strcmp(opt, "roller-radius") == 0 && !(ro->roller_radius_mm > 0 && isfinite(ro->roller_radius_mm)))
        km_fuzz_die("--roller-radius accepted a radius not positive and finite", "");
    /* -1 is what /params records when no sensor is given: the first, said */
    if (strcmp(opt, "sensor") == 0 && (ro->sensor < -1 || ro->sensor > 1))
        km_fuzz_die("--sensor accepted a sensor outside [-1, 1]", "");
    if (strcmp(opt, "format") == 0 && km_format_name(ro->format) == NULL)
        km_fuzz_die("--format accepted an unknown format", "");
}

static int no_option(void *user, int id, const char *value)
{
    (void)user, (void)id, (void)value;
    return KM_EX_SOFTWARE; /* no command option is listed: never called */
}

/* argv through the parser with the whole table (as process) or the input
 * rows only; its status, the parsed parameters in *pp. */
static int parse_argv(int argc, char **argv, int input_only, km_process_params *pp)
{
    const char *operands[64];
    const char *groups[] = {km_process_param_find("format")->group, NULL};
    km_cli_parser ps = {"process", "", NULL, NULL, 0, pp, input_only ? groups : NULL,
                        no_option, NULL, operands, 64, "INPUT", 0};
    km_process_params_default(pp);
    int rc = km_cli_parse(&ps, argc, argv);
    if (rc != KM_EX_OK && rc != KM_EX_USAGE)
        km_fuzz_die("km_cli_parse returned neither ok nor a usage error", argv[argc - 1]);
    if (ps.n_operands < 0 || ps.n_operands > argc)
        km_fuzz_die("km_cli_parse counted more operands than words", "");
    return rc;
}

static void parse_one(const char *opt, const char *value)
{
    char longopt[32], *joined;
    km_process_params pp;
    size_t n = strlen(opt) + strlen(value) + 4;
    snprintf(longopt, sizeof longopt, "--%s", opt);

    {   /* "--opt VALUE" */
        char *argv[4] = {"process", longopt, (char *)value, NULL};
        if (parse_argv(3, argv, 1, &pp) == KM_EX_OK)
            check_parsed(opt, &pp.read);
    }
    joined = malloc(n);
    if (joined == NULL)
        abort();
    snprintf(joined, n, "--%s=%s", opt, value);
    {   /* "--opt=VALUE" */
        char *argv[3] = {"process", joined, NULL};
        if (parse_argv(2, argv, 1, &pp) == KM_EX_OK)
            check_parsed(opt, &pp.read);
    }
    free(joined);
}

/* Undo POSIX shell quoting as km_cli_command_line writes it. */
static int unquote_matches(const char *s, int argc, char **argv)
{
    int k = 0;
    while (*s != '\0') {
        char *word = malloc(strlen(s) + 1), *w = word;
        if (word == NULL)
            abort();
        while (*s == ' ')
            s++;
        while (*s != '\0' && *s != ' ') {
            if (*s == '\'') {
                s++;
                while (*s != '\0' && *s != '\'')
                    *w++ = *s++;
                if (*s == '\'')
                    s++;
            } else if (*s == '\\' && s[1] != '\0') {
                *w++ = s[1];
                s += 2;
            } else {
                *w++ = *s++;
            }
        }
        *w = '\0';
        if (k >= argc || strcmp(word, argv[k]) != 0) {
            free(word);
            return 0;
        }
        free(word);
        k++;
    }
    return k == argc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    char *argv[64];
    int argc = 0;
    if (buf == NULL)
        abort();
    memcpy(buf, data, size);
    buf[size] = '\0';
    for (size_t k = 0; k < sizeof km_fuzz_opts / sizeof km_fuzz_opts[0]; k++)
        parse_one(km_fuzz_opts[k], buf);

    for (size_t i = 0; i <= size && argc < 64; i += strlen(buf + i) + 1)
        argv[argc++] = buf + i;
    {   /* the whole input as the words after "knotmap process" */
        char *words[65];
        km_process_params pp;
        words[0] = "process";
        memcpy(words + 1, argv, (size_t)argc * sizeof argv[0]);
        parse_argv(argc + 1, words, 0, &pp);
    }
    {
        char *line = km_cli_command_line(argc, argv);
        if (line == NULL)
            abort();
        if (!unquote_matches(line, argc, argv))
            km_fuzz_die("km_cli_command_line does not quote back to argv", line);
        free(line);
    }
    free(buf);
    return 0;
}
