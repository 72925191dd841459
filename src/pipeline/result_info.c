/* km_result_info_read: a result summarised, its /params compared with what
 * a default run (km_process_params_default) writes: every recorded row of
 * the parameter table (param_table.c) but those the run derives or
 * resolves (units, saturation, block size, a header curve), then the
 * parameters since removed (REMOVED). */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "io/result_reader.h"
#include "knotmap.h"

#define KM_RESULT_INFO_DEFS 256 /* > the rows of the table (a unit test checks) */

/* Detection parameters removed after older results recorded them, each 0
   (off) by default (docs/ALGORITHMS.md 10, Tried and removed; docs/FORMAT.md
   2.1 /params): such a result made with one on says so, with the note. */
static const char *const REMOVED[] = {"cand_scale_peaks", "cand_background_mask",
                                      "cand_background_bumps", "cand_scale_noise"};

km_status km_result_info_read(km_ctx *ctx, const char *path, km_result_info *out)
{
    km_process_params p;
    km_param_default defs[KM_RESULT_INFO_DEFS];
    size_t n_rows = 0, n = 0;
    const km_param *t = km_process_param_table(&n_rows);
    km_process_params_default(&p);
    for (size_t i = 0; i < n_rows && n < KM_RESULT_INFO_DEFS; i++) {
        const km_param *d = &t[i];
        if (!(d->flags & KM_PARAM_RECORDED) || (d->flags & (KM_PARAM_DERIVED | KM_PARAM_RESOLVED)))
            continue;
        double v;
        const char *s;
        km_param_value(&p, d, &v, &s);
        int text = d->type == KM_PARAM_STRING || d->type == KM_PARAM_UNITS ||
                   (d->type == KM_PARAM_ENUM && !(d->flags & KM_PARAM_AS_INT));
        /* The sensor not given (-1) is the first, 0: results written before
           session 39 recorded 0 for it (without the assumption `sensor`). */
        double same = d->offset == offsetof(km_process_params, read.sensor) ? 0.0 : NAN;
        defs[n++] = (km_param_default){d->name, v, text ? s : NULL, same, NULL};
    }
    for (size_t i = 0; i < sizeof REMOVED / sizeof *REMOVED && n < KM_RESULT_INFO_DEFS; i++)
        defs[n++] = (km_param_default){REMOVED[i], 0.0, NULL, NAN, "option removed"};
    return km_result_read_info(ctx, path, defs, n, out);
}
