/* A value given on the command line for a row of the parameter table,
 * parsed strictly by the row's type and checked against its range. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void *field(void *p, size_t offset)
{
    return (char *)p + offset;
}

/* A vocabulary's struct at its defaults, filled once (the CLI parses on one thread). */
#define DEFAULTS_OF(name, type, set_default)                                                   \
    static const void *name(void)                                                              \
    {                                                                                          \
        static type def;                                                                       \
        static int done;                                                                       \
        if (!done)                                                                             \
            set_default(&def);                                                                 \
        done = 1;                                                                              \
        return &def;                                                                           \
    }

DEFAULTS_OF(process_defaults, km_process_params, km_process_params_default)
DEFAULTS_OF(synth_defaults, km_synth_params, km_synth_params_default)
DEFAULTS_OF(render_defaults, km_render_params, km_render_params_default)

const km_cli_vocab km_cli_process_vocab = {km_process_param_table, km_process_param_groups,
                                           process_defaults};
const km_cli_vocab km_cli_synth_vocab = {km_synth_param_table, NULL, synth_defaults};
const km_cli_vocab km_cli_render_vocab = {km_render_param_table, NULL, render_defaults};

static int in_range(const km_param *d, double v)
{
    int lo = (d->flags & KM_PARAM_MIN_OPEN) ? v > d->min : v >= d->min;
    int hi = (d->flags & KM_PARAM_MAX_OPEN) ? v < d->max : v <= d->max;
    return lo && hi;
}

static int bad_range(const char *cmd, const km_param *d, const char *text)
{
    char lo[32], hi[32];
    snprintf(lo, sizeof lo, "%.10g", d->min);
    snprintf(hi, sizeof hi, "%.10g", d->max);
    const char *sp = d->units != NULL && d->units[0] != '\0' ? " " : "", *un = d->units != NULL ? d->units : "";
    if (d->max >= 1e300 && d->min <= -1e300)
        km_cli_usage(cmd, "--%s: '%s' is out of range (must be a finite number)", d->option, text);
    else if (d->max >= 1e300)
        km_cli_usage(cmd, "--%s: '%s' is out of range (must be %s %s%s%s)", d->option, text,
                     (d->flags & KM_PARAM_MIN_OPEN) ? ">" : ">=", lo, sp, un);
    else
        km_cli_usage(cmd, "--%s: '%s' is out of range %s%s, %s%s%s%s", d->option, text,
                     (d->flags & KM_PARAM_MIN_OPEN) ? "(" : "[", lo, hi,
                     (d->flags & KM_PARAM_MAX_OPEN) ? ")" : "]", sp, un);
    return -1;
}

static int set_number(const char *cmd, void *p, const km_param *d, const char *v)
{
    if (d->type == KM_PARAM_DOUBLE) {
        double x;
        if (km_cli_double(cmd, d->option, v, &x) < 0)
            return -1;
        if (!isfinite(x) || !in_range(d, x))
            return bad_range(cmd, d, v);
        memcpy(field(p, d->offset), &x, sizeof x);
        return 0;
    }
    long long n;
    if (km_cli_int(cmd, d->option, v, (long long)d->min, (long long)d->max, &n) < 0)
        return -1;
    if (d->type == KM_PARAM_INT64) {
        int64_t n64 = n;
        memcpy(field(p, d->offset), &n64, sizeof n64);
    } else if (d->type == KM_PARAM_UINT64) { /* the range keeps it >= 0 */
        uint64_t u64 = (uint64_t)n;
        memcpy(field(p, d->offset), &u64, sizeof u64);
    } else {
        int32_t n32 = (int32_t)n;
        memcpy(field(p, d->offset), &n32, sizeof n32);
    }
    return 0;
}

static int set_enum(const char *cmd, void *p, const km_param *d, const char *v)
{
    char list[160] = "";
    for (int32_t k = 0; d->names[k] != NULL; k++) {
        if (strcmp(v, d->names[k]) == 0) {
            memcpy(field(p, d->offset), &k, sizeof k);
            return 0;
        }
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", k > 0 ? ", " : "", d->names[k]);
    }
    km_cli_usage(cmd, "--%s: '%s' is not one of %s", d->option, v, list);
    return -1;
}

/* "V" (with KM_PARAM_PAIR_ONE) or "RxC", each value in the row's range. */
static int set_pair(const char *cmd, void *p, const km_param *d, const char *v)
{
    char *end = NULL;
    double a, b;
    errno = 0;
    a = strtod(v, &end);
    if (end == v || errno == ERANGE || !isfinite(a))
        goto bad;
    b = a;
    if (*end != '\0' || !(d->flags & KM_PARAM_PAIR_ONE)) {
        const char *t = end + 1;
        if (*end != 'x' && *end != 'X')
            goto bad;
        b = strtod(t, &end);
        if (end == t || *end != '\0' || errno == ERANGE || !isfinite(b))
            goto bad;
    }
    if ((!in_range(d, a) || !in_range(d, b)) && d->type != KM_PARAM_GRID && a >= d->min && b >= d->min)
        return bad_range(cmd, d, v); /* a number, above the row's maximum */
    if (!in_range(d, a) || !in_range(d, b))
        goto bad;
    if (d->type == KM_PARAM_GRID) {
        if (a != floor(a) || b != floor(b))
            goto bad;
        int32_t r = (int32_t)a, c = (int32_t)b;
        memcpy(field(p, d->offset), &r, sizeof r);
        memcpy(field(p, d->offset2), &c, sizeof c);
        return 0;
    }
    memcpy(field(p, d->offset), &a, sizeof a);
    memcpy(field(p, d->offset2), &b, sizeof b);
    return 0;
bad:
    if (d->type == KM_PARAM_GRID)
        km_cli_usage(cmd, "--%s: '%s' is not RxC with whole numbers 1..%.0f (e.g. 64x32)",
                     d->option, v, d->max);
    else
        km_cli_usage(cmd, "--%s: '%s' is not %s", d->option, v,
                     (d->flags & KM_PARAM_MIN_OPEN) ? "a positive number or RxC (e.g. 5.08 or 10x5)"
                                                    : "a number >= 0 or RxC (e.g. 1.5 or 2x1)");
    return -1;
}

/* Bytes, or with K, M, G (binary). */
static int set_size(const char *cmd, void *p, const km_param *d, const char *v)
{
    char *end = NULL;
    double mult = 1.0;
    double a = strtod(v, &end);
    if (end != v && end[0] != '\0' && end[1] == '\0')
        mult = end[0] == 'K' || end[0] == 'k'   ? 1024.0
               : end[0] == 'M' || end[0] == 'm' ? 1048576.0
               : end[0] == 'G' || end[0] == 'g' ? 1073741824.0
                                                : 0.0;
    else if (end == v || end[0] != '\0')
        mult = 0.0;
    a *= mult;
    if (mult == 0.0 || !(a >= 0.0)) { /* '1GB', '1T', 'x', '-1': say the spelling */
        km_cli_usage(cmd, "--%s: '%s' is not a size: bytes, or a number with K, M or G "
                     "(binary: 4G = 4 GiB)", d->option, v);
        return -1;
    }
    if (a < d->min) {
        km_cli_usage(cmd, "--%s: '%s' is below %gM (e.g. 4G)", d->option, v, d->min / 1048576.0);
        return -1;
    }
    if (!(a <= d->max)) {
        km_cli_usage(cmd, "--%s: '%s' is above %g bytes", d->option, v, d->max);
        return -1;
    }
    int64_t n = (int64_t)a;
    memcpy(field(p, d->offset), &n, sizeof n);
    return 0;
}

int km_cli_param_set(const char *cmd, void *p, const km_param *d, const char *v)
{
    switch (d->type) {
    case KM_PARAM_BOOL: {
        int32_t on = (d->flags & KM_PARAM_NEGATED) ? 0 : 1;
        memcpy(field(p, d->offset), &on, sizeof on);
        return 0;
    }
    case KM_PARAM_ENUM:
        return set_enum(cmd, p, d, v);
    case KM_PARAM_PAIR:
    case KM_PARAM_GRID:
        return set_pair(cmd, p, d, v);
    case KM_PARAM_SIZE:
        return set_size(cmd, p, d, v);
    case KM_PARAM_UNITS:
        if (strcmp(v, "raw") != 0 && !isfinite(km_units_to_kpa(v))) {
            char list[96] = ""; /* the library's one list (km_units_name) */
            for (int32_t i = 0; km_units_name(i) != NULL; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i > 0 ? ", " : "", km_units_name(i));
            km_cli_usage(cmd, "--%s: unknown unit '%s' (%s; psi, Pa and MPa are read converted to kPa)",
                         d->option, v, list);
            return -1;
        }
        memcpy(field(p, d->offset), &v, sizeof v);
        return 0;
    case KM_PARAM_STRING:
        if (v[0] == '\0') {
            km_cli_usage(cmd, "--%s needs a file name", d->option);
            return -1;
        }
        memcpy(field(p, d->offset), &v, sizeof v);
        return 0;
    default:
        return set_number(cmd, p, d, v);
    }
}
