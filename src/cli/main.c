/* The knotmap command: dispatch, --help/--version, errors and exit codes. */
#define _GNU_SOURCE

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "memory_policy.h"

int km_cli_argc;
char **km_cli_argv;

void km_cli_error(const char *fmt, ...)
{
    char line[2048], clean[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One write per line: several worker threads may report at once. */
    fprintf(stderr, "knotmap: %s\n", km_cli_clean(line, clean, sizeof clean));
}

int km_cli_exit_code(km_status status)
{
    switch (status) {
    case KM_OK: return KM_EX_OK;
    case KM_ERR_INVALID: return KM_EX_USAGE;
    case KM_ERR_FORMAT: return KM_EX_DATAERR;
    case KM_ERR_LIMIT: return KM_EX_DATAERR;
    case KM_ERR_NOT_FOUND: return KM_EX_NOINPUT;
    case KM_ERR_CREATE: return KM_EX_CANTCREAT;
    case KM_ERR_IO: return KM_EX_IOERR;
    case KM_ERR_NOMEM: return KM_EX_OSERR;
    case KM_ERR_UNSUPPORTED: return KM_EX_UNAVAILABLE;
    default: return KM_EX_SOFTWARE;
    }
}

static int starts_with(const char *s, const char *prefix)
{
    return prefix != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A folder given where a file goes (`knotmap process sessions/`): what to
 * give instead, by command; 0 when `path` is no folder. */
static int folder_given(km_status status, const char *path)
{
    struct stat st;
    if (status != KM_ERR_NOT_FOUND || path == NULL || stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return 0;
    const char *cmd = km_cli_argc > 1 ? km_cli_argv[1] : "";
    int n = (int)strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    if (strcmp(cmd, "process") == 0 || strcmp(cmd, "info") == 0)
        km_cli_error("%s: is a folder: give the files in it (knotmap %s %.*s/*%s)", path, cmd, n, path,
                     cmd[0] == 'p' ? " -o OUT/ writes one result per input" : "");
    else if (strcmp(cmd, "render") == 0 || strcmp(cmd, "report") == 0)
        km_cli_error("%s: is a folder: give a result file (knotmap process writes them)", path);
    else
        km_cli_error("%s: is a folder, not a file", path);
    return 1;
}

/* A shell pattern that matched nothing (`knotmap process *.ASF` where the files
 * are .asf: the shell passes it as it is): said so; 0 when `path` is no such
 * pattern. */
static int pattern_given(km_status status, const char *path)
{
    struct stat st;
    if (status != KM_ERR_NOT_FOUND || path == NULL || strpbrk(path, "*?[") == NULL ||
        lstat(path, &st) == 0 || errno != ENOENT)
        return 0;
    km_cli_error("%s: no file matches this pattern (the shell passes a pattern that matches "
                 "nothing as it is): check the folder and the names' case (*.asf, *.ASF)", path);
    return 1;
}

int km_cli_report(km_ctx *ctx, km_status status, const char *file, const char *other)
{
    const char *detail = km_ctx_last_error(ctx);
    if (folder_given(status, file) || folder_given(status, other) || pattern_given(status, file))
        return km_cli_exit_code(status);
    if (status == KM_ERR_CANCELLED) { /* a first SIGINT/SIGTERM (render, report) */
        km_cli_error("%s: interrupted; nothing written", other != NULL ? other : file);
        return 128 + (km_cli_interrupted() != 0 ? km_cli_interrupted() : SIGINT);
    }
    if (detail[0] == '\0')
        km_cli_error("%s: %s", file, km_strerror(status));
    else if (starts_with(detail, file) || starts_with(detail, other))
        km_cli_error("%s", detail);
    else
        km_cli_error("%s: %s", file, detail);
    return km_cli_exit_code(status);
}

static void print_help(FILE *f)
{
    fprintf(f,
            "Usage: knotmap COMMAND [OPTION]... [FILE]...\n"
            "Pressure-mapping toolkit: find muscle knots in pressure-sensor recordings.\n"
            "\n"
            "Commands:\n"
            "  process INPUT... [-o OUT]   condition, detect, write one result .h5 per input\n"
            "  info INPUT...               geometry, frames, rate, units, format, header\n"
            "  synth [OPTION]... -o FILE   synthetic session with ground truth\n"
            "  render RESULT -o MAP.png    body map with the knot candidates (.png/.svg/.pdf)\n"
            "  report RESULT -o R.html     self-contained HTML report: map, candidates, plots\n"
            "  eval RESULT --truth SESSION precision, recall, F1 and error against truth\n"
            "\n"
            "INPUT: a knotmap session (.h5), a Tekscan (.asf) or XSENSOR (.csv) export, a\n"
            "text matrix, audio (WAV, FLAC, ...), a MATLAB MAT-file (.mat), a NumPy array\n"
            "(.npy) or archive (.npz); the format is told by content (--format NAME to say\n"
            "it).\n"
            "\n"
            "  -h, --help      show this help and exit\n"
            "      --version   show the version and exit\n"
            "\n"
            "'knotmap COMMAND --help' describes a command.  Exit status: 0 ok, 64 usage,\n"
            "65 bad input data, 66 input missing, 69 not possible with this build or\n"
            "machine (a library missing: cairo, libsndfile; an unsupported data type),\n"
            KM_CLI_EXIT_70_71 ",\n"
            "73 output cannot be created, 74 I/O error, 75 deadline exceeded, 130/143\n"
            "interrupted.  Documentation: docs/CLI.md.\n");
}

int main(int argc, char **argv)
{
    km_cli_memory_policy(); /* before anything allocates */
    /* Before libhdf5's first call: under ulimit -v ~11.4 MiB its thread
       state's allocation fails there and it dereferences NULL (SIGSEGV in
       H5TS_cancel_count_dec), which the crash handler turns into exit 71. */
    km_cli_signals_init();
    km_hdf5_no_shutdown(); /* before libhdf5 starts: its shutdown can crash (knotmap.h) */
    km_cli_argc = argc;
    km_cli_argv = argv;
    if (argc < 2) {
        fprintf(stderr, "knotmap: no command given\nTry 'knotmap --help'.\n");
        return KM_EX_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        print_help(stdout);
        return KM_EX_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("knotmap %s\n", km_version_string());
        return KM_EX_OK;
    }
    static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
    } commands[] = {{"process", km_cmd_process}, {"info", km_cmd_info},     {"synth", km_cmd_synth},
                    {"render", km_cmd_render},   {"eval", km_cmd_eval},     {"report", km_cmd_report}};
    const char *near = NULL;
    for (size_t k = 0, best = 3; k < sizeof commands / sizeof commands[0]; k++) {
        if (strcmp(cmd, commands[k].name) == 0)
            return commands[k].run(argc - 1, argv + 1);
        size_t d = (size_t)km_cli_distance(cmd, strlen(cmd), commands[k].name);
        if (d < best) {
            best = d;
            near = commands[k].name;
        }
    }
    if (near != NULL)
        fprintf(stderr, "knotmap: '%s' is not a command (did you mean '%s'?)\nTry 'knotmap --help'.\n", cmd, near);
    else
        fprintf(stderr, "knotmap: '%s' is not a command\nTry 'knotmap --help'.\n", cmd);
    return KM_EX_USAGE;
}
