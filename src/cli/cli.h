/* The knotmap command: shared declarations of src/cli.  Only src/cli prints,
 * reads argv and the environment, and exits. */
#ifndef KM_CLI_H
#define KM_CLI_H

#include "knotmap.h"

/* sysexits.h codes used by the command. */
#define KM_EX_OK 0
#define KM_EX_USAGE 64
#define KM_EX_DATAERR 65
#define KM_EX_NOINPUT 66
#define KM_EX_SOFTWARE 70
#define KM_EX_CANTCREAT 73
#define KM_EX_IOERR 74

/* Each command gets argv with argv[0] = the command name ("process");
 * it returns a sysexits code. */
int km_cmd_process(int argc, char **argv);
int km_cmd_info(int argc, char **argv);
int km_cmd_synth(int argc, char **argv);

/* Print "knotmap: <message>" on stderr. */
void km_cli_error(const char *fmt, ...);
/* The exit code for a library status (65 format, 66 not found, 73 create, 74 io, ...). */
int km_cli_exit_code(km_status status);

#endif
