/* The line `process` ends a batch with when not every input gave a result. */
#include <stdio.h>

#include "cli.h"

void km_cli_tally(const char *const *input, const signed char *outcome, int n, const char *out)
{
    enum { NAMED = 8 };
    int n_ok = 0, n_failed = 0, n_skipped = 0;
    char clean[1024];
    for (int i = 0; i < n; i++) {
        n_ok += outcome[i] == KM_CLI_RAN;
        n_failed += outcome[i] == KM_CLI_FAILED;
        n_skipped += outcome[i] == KM_CLI_SKIPPED;
    }
    if (n < 2 || n_ok == n)
        return;
    fprintf(stderr, "knotmap: %d of %d inputs processed", n_ok, n);
    if (n_ok > 0)
        fprintf(stderr, " (results in %s)",
                out != NULL ? km_cli_clean(out, clean, sizeof clean) : "the current folder");
    if (n_failed > 0) {
        fprintf(stderr, "; %d failed, said above:", n_failed);
        for (int i = 0, named = 0; i < n && named < NAMED; i++)
            if (outcome[i] == KM_CLI_FAILED)
                fprintf(stderr, "%s %s", named++ > 0 ? "," : "",
                        km_cli_clean(input[i], clean, sizeof clean));
        if (n_failed > NAMED)
            fprintf(stderr, " and %d more", n_failed - NAMED);
    }
    if (n_skipped > 0)
        fprintf(stderr, "; %d skipped (a knotmap result, not a session)", n_skipped);
    fprintf(stderr, "\n");
}
