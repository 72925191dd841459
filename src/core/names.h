/* Names of the library's small enums, each list written once: the
 * parameter tables (process and synth), the CLI and Python read them
 * from here.  Not installed. */
#ifndef KM_CORE_NAMES_H
#define KM_CORE_NAMES_H

#include <stddef.h>

#include "knotmap.h"

/* km_mode by value: "mat", "roller"; NULL-terminated. */
extern const char *const km_mode_names[];

/* km_format by value: "auto", "session", ..., "npz"; NULL-terminated. */
extern const char *const km_format_names[];

/* The row of rows[0..n) whose name, option or keyword is `key`; NULL if none. */
const km_param *km_param_row_find(const km_param *rows, size_t n, const char *key);

#endif
