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
/* The two exits every command can give, in each help's "Exit status". */
#define KM_CLI_EXIT_70_71 "70 internal error (a bug: please report it), 71 out of memory"

/* Each command gets argv with argv[0] = the command name ("process");
 * it returns a sysexits code. */
int km_cmd_process(int argc, char **argv);
int km_cmd_info(int argc, char **argv);
int km_cmd_synth(int argc, char **argv);
int km_cmd_render(int argc, char **argv);
int km_cmd_eval(int argc, char **argv);
int km_cmd_report(int argc, char **argv);

/* A command that reads one knotmap result and writes one file from it
 * (render, report: result_cmd.c runs both). */
typedef struct km_cli_result_cmd {
    const char *cmd;                /* "render" */
    const char *usage, *footer;     /* the help's text before and after the options */
    const char *out_metavar, *out_help, *no_overwrite_help; /* -o and --no-overwrite in the help */
    const char *ext;                /* without -o: RESULT without .h5, plus this */
    const char *const *groups;      /* the km_render_param_table sections taken (NULL = all) */
    /* after the options (NULL: none): KM_EX_OK or the exit code, said */
    int (*check)(const char *cmd, const km_render_params *p);
    km_status (*make)(km_ctx *ctx, const char *input, const char *output, const km_render_params *p,
                      km_render_info *info);
    void (*print)(const char *input, const char *output, const km_render_info *info); /* unless -q */
} km_cli_result_cmd;
int km_cli_result_main(const km_cli_result_cmd *c, int argc, char **argv);

/* Print "knotmap: <message>" on stderr, cleaned by km_cli_clean (a message
 * quotes the file's own text: a value, a token, a path). */
void km_cli_error(const char *fmt, ...);
/* `s` with the bytes a terminal acts on written as \xNN: C0 controls but TAB
 * and newline (ESC, BEL, CR, ...), DEL, and C1 controls in UTF-8 (C2 80..C2
 * 9F), so that a file's text (a header value, a token in an error, a name)
 * cannot move the cursor, clear the screen, retitle the window or write the
 * clipboard when printed (docs/CLI.md, "Text from files").  Text that is not
 * UTF-8 (an old export in Latin-1: N/cm followed by byte B2) is read as
 * Latin-1, as the result file stores it (N/cm\u00b2), its bytes 80..9F (C1
 * controls) escaped.  Into buf (cap bytes, cut at a whole escape or
 * character to fit, terminated); returns buf. */
const char *km_cli_clean(const char *s, char *buf, size_t cap);
/* With several inputs of which not all gave a result: one line on stderr at
 * the end that counts them, names the failed ones (their errors are above,
 * among the summaries; the first 8) and the skipped knotmap results, in
 * km_batch_tally's words.  input[n] as given, outcome[n] KM_BATCH_*; out: -o
 * (NULL = here). */
void km_cli_tally(const char *const *input, const signed char *outcome, int n, const char *out);
/* The exit code for a library status (65 format, 66 not found, 73 create, 74 io, ...). */
int km_cli_exit_code(km_status status);
/* Print the failure of `status` on ctx as "knotmap: FILE: what" and return
 * the exit code.  The library detail usually names the file already (the
 * input `file` or an `other` one, e.g. the output; other may be NULL): then
 * it is printed as it is, else prefixed with `file`.  KM_ERR_CANCELLED (a
 * first SIGINT/SIGTERM) is "OTHER: interrupted; nothing written", 128 +
 * the signal. */
int km_cli_report(km_ctx *ctx, km_status status, const char *file, const char *other);

/* ---- signals (signals.c: the only place that installs handlers) --------- */

#define KM_CLI_MAX_SLOTS 64 /* worker threads (process -j) */

/* At start: SIGXFSZ ignored, so a file-size limit is an EFBIG write error;
 * notes whether SIGINT and SIGTERM were ignored (they then stay so); under
 * an address-space limit below KM_CLI_PROBE_SMALL_AS a SIGSEGV or SIGBUS
 * removes the temporaries and exits 71 saying the limit (most likely a
 * library out of memory). */
void km_cli_signals_init(void);
/* In a forked child: SIGINT and SIGTERM at their default action, unless
 * ignored when the command started; SIGSEGV and SIGBUS at theirs. */
void km_cli_signals_child(void);
/* SIGINT/SIGTERM while working (each unless ignored at the start): the first
 * cancels ctxs[0..n) (the run stops between blocks); a second removes the
 * temporaries being written and ends the process at once with 128 + signal.
 * _end restores the old handlers. */
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

/* An input's probe may take this long before the input is refused. */
#define KM_CLI_PROBE_SECONDS 60
/* A probe child's crash under an address-space limit (ulimit -v) below this
 * is taken for running out of memory (exit 71): libhdf5 does not check every
 * allocation.  Above it, for a damaged or hostile file (exit 65). */
#define KM_CLI_PROBE_SMALL_AS ((unsigned long long)256 << 20)
/* Open `path` (when it is an HDF5 file, or read as audio: km_reader_format
 * with `ro`) in a short-lived child process that reads its structure as the
 * commands will, and exits.  KM_EX_OK when the child came back (the command
 * then opens the file itself and reports its errors) or `path` is neither;
 * else the refusal is printed ("PATH: reading the file's HDF5 structure
 * crashed (...): ...; refused", or "reading the audio file (libsndfile)
 * ...") and the exit code
 * returned: 65 (the child died by a signal, or ran past
 * KM_CLI_PROBE_SECONDS), 71 (it died by a signal under an address-space
 * limit below KM_CLI_PROBE_SMALL_AS), 75 (ran past
 * `deadline` > 0, when shorter), 130/143 (the child was interrupted).
 * *is_result (may be NULL): 1 when the child found a knotmap result, 0 a
 * file that is not one, -1 not known (not probed, or the child could not
 * tell): then ask km_is_result_file.  session_first: the input is expected to
 * be a session (process): the child opens it as one first and asks whether
 * it is a result only when that fails (one open of the file fewer in the
 * serial start; the same verdicts). */
int km_cli_probe(const char *path, const km_read_options *ro, double deadline, int *is_result,
                 int session_first);
/* Run `work` on `input` under --deadline (0 = none): the timer, the input
 * (and second_input, when not NULL) probed first (km_cli_probe, a crash or hang refused), then work(user),
 * which returns an exit code.  Returns the first failing exit code. */
int km_cli_bounded(const char *input, const char *second_input, double deadline,
                   int (*work)(void *user), void *user);

/* ---- option parsing (options.c) ---------------------------------------- */

/* "knotmap: CMD: message" and "Try 'knotmap CMD --help'." on stderr;
 * returns KM_EX_USAGE. */
int km_cli_usage(const char *cmd, const char *fmt, ...);
/* INPUT with a trailing ".h5" replaced by EXT (or EXT appended); malloc'd,
 * NULL when out of memory. */
char *km_cli_output_name(const char *input, const char *ext);

/* ---- the option parser (argparse.c, GNU getopt_long rules) -------------- */

#define KM_CLI_HELP (-1)   /* km_cli_opt.id of -h/--help: the parser prints the help */
#define KM_CLI_DONE 1000   /* km_cli_parse: the help was printed, exit 0 */

/* One option of a command.  Its handler gets `id` and the value. */
typedef struct km_cli_opt {
    const char *name;          /* long name without "--" */
    char short_name;           /* 0 = none */
    const char *metavar;       /* the value's name in the help; NULL = a flag */
    const char *doc;           /* help line */
    const char *section;       /* the table section it is listed in (a prefix of the
                                  title: "Output", "Run"), NULL = first, untitled */
    const char *alias;         /* an older long name kept for scripts, or NULL */
    int id;
} km_cli_opt;

/* The options every command spells the same way. */
#define KM_CLI_OPT_HELP(section)                                                               \
    {"help", 'h', NULL, "show this help and exit", section, NULL, KM_CLI_HELP}
#define KM_CLI_OPT_OUTPUT(metavar, doc, id) {"output", 'o', metavar, doc, NULL, NULL, id}
#define KM_CLI_OPT_QUIET(doc, id) {"quiet", 'q', NULL, doc, NULL, NULL, id}
/* --deadline S of the commands that read files (process, info, render,
 * report, eval); its value through km_cli_deadline_arg. */
#define KM_CLI_OPT_DEADLINE(section, id)                                                       \
    {"deadline", 0, "S",                                                                       \
     "an input still in work after S seconds ends the command at once: temporaries "         \
     "removed, exit 75 [off]",                                                               \
     section, NULL, id}
/* The same for the commands that write nothing (info, eval). */
#define KM_CLI_OPT_DEADLINE_READ(id)                                                           \
    {"deadline", 0, "S",                                                                       \
     "an input still being read after S seconds ends the command at once, exit 75 [off]",   \
     NULL, NULL, id}
/* --no-clobber (synth's older name) is kept as an alias. */
#define KM_CLI_OPT_NO_OVERWRITE(doc, id) {"no-overwrite", 0, NULL, doc, NULL, "no-clobber", id}

/* A parameter table whose rows are options: km_process_param_table (process,
 * info) or km_synth_param_table (synth). */
typedef struct km_cli_vocab {
    const km_param *(*table)(size_t *n);
    const char *const *(*groups)(size_t *n); /* help sections in order; NULL = in
                                                the order the rows first name them */
    const void *(*defaults)(void);           /* the table's struct at its defaults */
} km_cli_vocab;

extern const km_cli_vocab km_cli_process_vocab, km_cli_synth_vocab, km_cli_render_vocab;

typedef struct km_cli_parser {
    const char *cmd;           /* "process": messages say "knotmap: process: ..." */
    const char *usage;         /* help text before the options */
    const char *footer;        /* help text after them, or NULL */
    const km_cli_opt *opts;
    size_t n_opts;
    void *pp;                  /* non-NULL: the rows of `vocab` are options too, and set
                                  this struct (km_process_params for process's table) */
    const char *const *groups; /* ... those of these sections (NULL-terminated; NULL = all) */
    /* Called per command option in command-line order; returns KM_EX_OK or an
       exit code after printing the error. */
    int (*on_option)(void *user, int id, const char *value);
    void *user;
    const char **operands;     /* filled with the operands, in order */
    int max_operands;          /* more is a usage error naming operand_name */
    const char *operand_name;
    int n_operands;
    const km_cli_vocab *vocab; /* the table of pp; NULL = km_cli_process_vocab */
    /* Optional: called after a row was set from the command line. */
    void (*on_row)(void *user, const km_param *row);
} km_cli_parser;

/* Parse argv[1..argc): KM_EX_OK, KM_CLI_DONE (help printed), or an exit code
 * after printing the error. */
int km_cli_parse(km_cli_parser *ps, int argc, char **argv);
/* Print the help of a command (its options, and the table rows it takes). */
void km_cli_help(const km_cli_parser *ps);
/* Does the command take this table row as an option? */
int km_cli_takes_row(const km_cli_parser *ps, const km_param *d);
/* Edit distance between a[0..n) and b (case ignored, a swap of two
   neighbours is one edit); 99 when above 2: for "did you mean". */
int km_cli_distance(const char *a, size_t n, const char *b);
/* Set row d of p from the command-line text v (NULL for a flag), strictly
 * parsed and range-checked; 0, or -1 after printing the usage error. */
int km_cli_param_set(const char *cmd, void *p, const km_param *d, const char *v);
/* -o VALUE: "-" (standard output) is refused, a file is needed; KM_EX_OK or
 * KM_EX_USAGE after printing it. */
int km_cli_output_arg(const char *cmd, const char *v, const char **out);
/* --deadline's value: seconds > 0 (at most 1e9) into *out; KM_EX_OK, or
 * KM_EX_USAGE after printing the usage error. */
int km_cli_deadline_arg(const char *cmd, const char *v, double *out);

/* Strict number parsing; on error print a usage error naming the option
 * and return -1, else 0. */
int km_cli_double(const char *cmd, const char *opt, const char *text, double *out);
int km_cli_int(const char *cmd, const char *opt, const char *text, long long lo, long long hi,
               long long *out);
/* One "knotmap: PATH: warning: ..." line on stderr per name of a
 * km_session_info.assumed list; returns how many. */
int km_cli_warn_assumed(const char *path, const km_session_info *in);
/* The session's nan and inf values, when it holds any (km_nonfinite_text), on
   stderr as "knotmap: PATH: warning: ...". */
void km_cli_warn_nonfinite(const char *path, const km_session_info *in);

/* argv joined with shell quoting where needed (recorded in results).
 * Returns a malloc'd string or NULL. */
char *km_cli_command_line(int argc, char **argv);

/* The whole argv of main, for km_cli_command_line. */
extern int km_cli_argc;
extern char **km_cli_argv;

#endif
