/* The line a batch ends with when not every input gave a result: one
 * source of its words for the command (src/cli/tally.c prints it) and
 * knotmap.batch. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

typedef struct text {
    char *buf;
    size_t cap, len; /* len: the full text's, past cap when cut */
} text;

static void put(text *t, const char *fmt, ...) KM_PRINTF(2, 3);
static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t at = t->len < t->cap ? t->len : t->cap;
    int n = vsnprintf(t->buf != NULL ? t->buf + at : NULL, t->cap - at, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n;
}

size_t km_batch_tally(char *buf, size_t cap, const char *const *input, const signed char *outcome,
                      int n, const char *out)
{
    enum { NAMED = 8 };
    int n_ok = 0, n_failed = 0, n_skipped = 0;
    text t = {cap > 0 ? buf : NULL, cap, 0};
    if (cap > 0 && buf != NULL)
        buf[0] = '\0';
    for (int i = 0; i < n && outcome != NULL; i++) {
        n_ok += outcome[i] == KM_BATCH_RAN;
        n_failed += outcome[i] == KM_BATCH_FAILED;
        n_skipped += outcome[i] == KM_BATCH_SKIPPED;
    }
    if (n < 2 || n_ok == n || input == NULL || (buf == NULL && cap > 0))
        return 0;
    put(&t, "%d of %d inputs processed", n_ok, n);
    if (n_ok > 0)
        put(&t, " (results in %s)", out != NULL ? out : "the current folder");
    if (n_failed > 0) {
        put(&t, "; %d failed, said above:", n_failed);
        for (int i = 0, named = 0; i < n && named < NAMED; i++)
            if (outcome[i] == KM_BATCH_FAILED)
                put(&t, "%s %s", named++ > 0 ? "," : "", input[i] != NULL ? input[i] : "?");
        if (n_failed > NAMED)
            put(&t, " and %d more", n_failed - NAMED);
    }
    if (n_skipped > 0)
        put(&t, "; %d skipped (a knotmap result, not a session)", n_skipped);
    return t.len;
}
