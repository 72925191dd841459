/* The line `process` ends a batch with when not every input gave a result:
 * its words are the library's (km_batch_tally, which knotmap.batch prints
 * too); here the names are cleaned (km_cli_clean) and the line printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void km_cli_tally(const char *const *input, const signed char *outcome, int n, const char *out)
{
    char clean[1024];
    /* shown[0..n): input[i] cleaned for the failed (the only ones named),
       else ""; shown[n + i]: the copy to free, or NULL. */
    const char **shown = n > 1 ? calloc(2 * (size_t)n, sizeof *shown) : NULL;
    char *line = NULL;
    if (shown == NULL)
        return;
    for (int i = 0; i < n; i++) {
        char *copy = NULL;
        if (outcome[i] == KM_BATCH_FAILED) {
            size_t len = strlen(km_cli_clean(input[i], clean, sizeof clean)) + 1;
            if ((copy = malloc(len)) != NULL)
                memcpy(copy, clean, len);
        }
        shown[i] = copy != NULL ? copy : outcome[i] == KM_BATCH_FAILED ? "?" : "";
        shown[n + i] = copy;
    }
    const char *o = out != NULL ? km_cli_clean(out, clean, sizeof clean) : NULL;
    size_t len = km_batch_tally(NULL, 0, shown, outcome, n, o);
    if (len > 0 && (line = malloc(len + 1)) != NULL) {
        km_batch_tally(line, len + 1, shown, outcome, n, o);
        fprintf(stderr, "knotmap: %s\n", line);
    }
    for (int i = 0; i < n; i++)
        free((void *)shown[n + i]);
    free(shown);
    free(line);
}
