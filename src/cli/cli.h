/* The knotmap command: shared declarations of src/cli.  Only src/cli prints,
 * reads argv and the environment, and exits. */
#ifndef KM_CLI_H
#define KM_CLI_H

#include <stddef.h>

#include "knotmap.h"

/* sysexits.h codes used by the command. */
#define KM_EX_OK 0
#define KM_EX_USAGE 64
#define KM_EX_DATAERR 65
#define KM_EX_NOINPUT 66
#define KM_EX_UNAVAILABLE 69
#define KM_EX_SOFTWARE 70
#define KM_EX_OSERR 71
#define KM_EX_CANTCREAT 73
#define KM_EX_IOERR 74
#define KM_EX_TEMPFAIL 75 /* --deadline exceeded */

/* Each command gets argv with argv[0] = the command name ("process");
 * it returns a sysexits code. */
int km_cmd_process(int argc, char **argv);
int km_cmd_info(int argc, char **argv);
int km_cmd_synth(int argc, char **argv);
int km_cmd_render(int argc, char **argv);
int km_cmd_eval(int argc, char **argv);
int km_cmd_report(int argc, char **argv);

/* Print "knotmap: <message>" on stderr. */
void km_cli_error(const char *fmt, ...);
/* The exit code for a library status (65 format, 66 not found, 73 create, 74 io, ...). */
int km_cli_exit_code(km_status status);
/* Print the failure of `status` on ctx as "knotmap: FILE: what" and return
 * the exit code.  The library detail usually names the file already (the
 * input `file` or an `other` one, e.g. the output; other may be NULL): then
 * it is printed as it is, else prefixed with `file`. */
int km_cli_report(km_ctx *ctx, km_status status, const char *file, const char *other);

/* ---- signals (signals.c: the only place that installs handlers) --------- */

#define KM_CLI_MAX_SLOTS 64 /* worker threads (process -j) */

/* At start: SIGXFSZ ignored, so a file-size limit is an EFBIG write error. */
void km_cli_signals_init(void);
/* SIGINT/SIGTERM while working: the first cancels ctxs[0..n) (the run stops
 * between blocks); a second removes the temporaries being written and ends
 * the process at once with 128 + signal.  _end restores the old handlers. */
void km_cli_interrupt_begin(km_ctx *const *ctxs, int n);
void km_cli_interrupt_end(void);
/* The first SIGINT/SIGTERM received (0 when none). */
int km_cli_interrupted(void);
/* --deadline: from _begin (seconds > 0; 0 turns it off), an input that a
 * worker slot has been working on (_enter(slot, input); _enter(slot, NULL)
 * when done) for longer than `seconds` ends the process at once: message
 * "INPUT: deadline of S s exceeded", temporaries removed, exit 75.  Checked
 * every 0.1 s.  Returns -1 when the timer cannot be set. */
int km_cli_deadline_begin(double seconds);
void km_cli_deadline_enter(int slot, const char *input);
void km_cli_deadline_end(void);

/* ---- the probe (probe.c) ------------------------------------------------ */

/* An HDF5 input's probe may take this long before the input is refused. */
#define KM_CLI_PROBE_SECONDS 60
/* Open `path` (when it is an HDF5 file) in a short-lived child process that
 * reads its structure as the commands will, and exits.  KM_EX_OK when the
 * child came back (the command then opens the file itself and reports its
 * errors) or `path` is not HDF5; else the refusal is printed ("PATH: reading
 * the file's HDF5 structure crashed (...): ...; refused") and the exit code
 * returned: 65 (the child died by a signal, or ran past
 * KM_CLI_PROBE_SECONDS), 75 (ran past
 * `deadline` > 0, when shorter), 130/143 (the child was interrupted). */
int km_cli_probe(const char *path, const km_read_options *ro, double deadline);

/* ---- option parsing (options.c) ---------------------------------------- */

/* "knotmap: CMD: message" and "Try 'knotmap CMD --help'." on stderr;
 * returns KM_EX_USAGE. */
int km_cli_usage(const char *cmd, const char *fmt, ...);
/* INPUT with a trailing ".h5" replaced by EXT (or EXT appended); malloc'd,
 * NULL when out of memory. */
char *km_cli_output_name(const char *input, const char *ext);
/* --map of render and report: auto, bodymap, max, excess (km_render_map);
 * 0, or -1 after printing the usage error. */
int km_cli_parse_render_map(const char *cmd, const char *v, int32_t *out);

/* Does argv[*i] name this option?  Accepts "--long", "--long=VALUE",
 * "-s", "-sVALUE" (short may be 0).  For an option with a value
 * (want_value), *value gets it, taking argv[*i + 1] when needed (and
 * advancing *i).  Returns 1 matched, 0 not this option, -1 usage error
 * printed (value missing, or a value given to a flag). */
int km_cli_match(const char *cmd, int argc, char **argv, int *i, const char *long_name,
                 char short_name, int want_value, const char **value);

/* The head of the option loop of a command that takes one operand (render
 * and eval: a RESULT file).  Word `a` is the operand when it is not an
 * option ("-" alone is an operand, so is every word after "--"); a second
 * operand is a usage error.  "--" and -h/--help (which prints help) are
 * handled here.  Returns 1 when `a` was taken, 0 when it is an option for
 * the command to match, -1 when the command must return *exit_code. */
int km_cli_single_operand(const char *cmd, const char *a, int *options_done, const char **operand,
                          void (*help)(void), int *exit_code);

/* Strict number parsing; on error print a usage error naming the option
 * and return -1, else 0. */
int km_cli_double(const char *cmd, const char *opt, const char *text, double *out);
int km_cli_int(const char *cmd, const char *opt, const char *text, long long lo, long long hi,
               long long *out);
/* "RxC" (both > 0) into *a, *b; with allow_single also "V" (a = b = V). */
int km_cli_pair(const char *cmd, const char *opt, const char *text, int allow_single,
                double *a, double *b);

/* Try the reader options (--format, --grid, --rate, --pitch, --units,
 * --mode, --roller-radius, --sensor, --text-layout, --override, --max-memory) at argv[*i].  Returns 1 consumed,
 * 0 not a read option, -1 usage error printed. */
int km_cli_read_option(const char *cmd, int argc, char **argv, int *i, km_read_options *ro);
/* Help text of the reader options. */
extern const char km_cli_read_help[];
/* One "knotmap: PATH: warning: ..." line on stderr per name of a
 * km_session_info.assumed list; returns how many. */
int km_cli_warn_assumed(const char *path, const char *assumed);
/* The sentence for one name of that list (len bytes), NULL if unknown. */
const char *km_cli_assumed_text(const char *name, size_t len);

/* Try the conditioning options (--lowpass-hz, --tare, --equilibrate, ...;
 * opt_condition.c) at argv[*i] into pp->cond (and pp->equilibrate,
 * pp->gain_map_path, pp->equil).  Returns 1 consumed, 0 not one, -1 usage
 * error printed. */
int km_cli_condition_option(const char *cmd, int argc, char **argv, int *i,
                            km_process_params *pp);
extern const char km_cli_condition_help[];

/* argv joined with shell quoting where needed (recorded in results).
 * Returns a malloc'd string or NULL. */
char *km_cli_command_line(int argc, char **argv);

/* The whole argv of main, for km_cli_command_line. */
extern int km_cli_argc;
extern char **km_cli_argv;

#endif
