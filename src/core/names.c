/* Names of the library's small enums (names.h). */
#include "names.h"

#include <string.h>

const char *const km_mode_names[] = {[KM_MODE_MAT] = "mat", [KM_MODE_ROLLER] = "roller", NULL};

const km_param *km_param_row_find(const km_param *rows, size_t n, const char *key)
{
    for (size_t i = 0; key != NULL && i < n; i++) {
        const km_param *d = &rows[i];
        if ((d->name != NULL && strcmp(d->name, key) == 0) ||
            (d->option != NULL && strcmp(d->option, key) == 0) ||
            (d->keyword != NULL && strcmp(d->keyword, key) == 0))
            return d;
    }
    return NULL;
}
