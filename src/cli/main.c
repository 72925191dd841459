/* STUB: the knotmap command (owned by the pipeline/CLI engineer). */
#include <stdarg.h>
#include <stdio.h>
#include "cli.h"
void km_cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("knotmap: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
int km_cli_exit_code(km_status status) { (void)status; return KM_EX_SOFTWARE; }
int km_cmd_process(int argc, char **argv) { (void)argc; (void)argv; return KM_EX_SOFTWARE; }
int km_cmd_info(int argc, char **argv) { (void)argc; (void)argv; return KM_EX_SOFTWARE; }
int main(void)
{
    printf("knotmap %s\n", km_version_string());
    return 0;
}
