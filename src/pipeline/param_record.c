/* Reading a row of the parameter table out of a struct, and /params
 * written from the table (param_table.c). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "pipeline/params.h"

/* Row d's field in base (the table's struct, or km_param_run for DERIVED rows). */
static void field_value(const void *base, const km_param *d, double *num, const char **text)
{
    const char *at = (const char *)base + d->offset;
    double v = NAN;
    const char *s = NULL;
    switch (d->type) {
    case KM_PARAM_DOUBLE:
    case KM_PARAM_PAIR:
        memcpy(&v, at, sizeof v);
        break;
    case KM_PARAM_INT32:
    case KM_PARAM_BOOL:
    case KM_PARAM_GRID:
    case KM_PARAM_ENUM: {
        int32_t i; /* enums are int-sized (C11 6.7.2.2, and the ABI of every target) */
        memcpy(&i, at, sizeof i);
        v = i;
        if (d->type == KM_PARAM_ENUM) {
            s = "unknown";
            for (int32_t k = 0; d->names != NULL && d->names[k] != NULL; k++)
                if (k == i)
                    s = d->names[k];
        }
        break;
    }
    case KM_PARAM_INT64:
    case KM_PARAM_SIZE: {
        int64_t i;
        memcpy(&i, at, sizeof i);
        v = (double)i;
        break;
    }
    case KM_PARAM_UINT32: {
        uint32_t u;
        memcpy(&u, at, sizeof u);
        v = u;
        break;
    }
    case KM_PARAM_UINT64: {
        uint64_t u;
        memcpy(&u, at, sizeof u);
        v = (double)u;
        break;
    }
    case KM_PARAM_STRING:
    case KM_PARAM_UNITS:
    case KM_PARAM_GIVEN: {
        const void *ptr;
        memcpy(&ptr, at, sizeof ptr);
        if (d->type == KM_PARAM_GIVEN)
            v = ptr != NULL;
        else
            s = ptr != NULL ? (const char *)ptr : "";
        break;
    }
    }
    if (num != NULL)
        *num = v;
    if (text != NULL)
        *text = s;
}

void km_param_value(const void *p, const km_param *d, double *num, const char **text)
{
    if (num != NULL)
        *num = NAN;
    if (text != NULL)
        *text = NULL;
    if (p == NULL || d == NULL || (d->flags & KM_PARAM_DERIVED))
        return;
    field_value(p, d, num, text);
}

static km_status write_row(km_ctx *ctx, km_result_writer *w, const void *base, const km_param *d)
{
    const char *at = (const char *)base + d->offset;
    double v;
    const char *s;
    field_value(base, d, &v, &s);
    switch (d->type) {
    case KM_PARAM_DOUBLE:
        return km_result_writer_param_f64(ctx, w, d->name, v);
    case KM_PARAM_INT64:
    case KM_PARAM_SIZE: {
        int64_t i; /* exact, not through a double */
        memcpy(&i, at, sizeof i);
        return km_result_writer_param_i64(ctx, w, d->name, i);
    }
    case KM_PARAM_ENUM:
        if (!(d->flags & KM_PARAM_AS_INT))
            return km_result_writer_param_str(ctx, w, d->name, s);
        return km_result_writer_param_i64(ctx, w, d->name, (int64_t)v);
    case KM_PARAM_STRING:
    case KM_PARAM_UNITS:
        return km_result_writer_param_str(ctx, w, d->name, s);
    default: /* INT32, UINT32, BOOL, GIVEN: exact in a double */
        return km_result_writer_param_i64(ctx, w, d->name, (int64_t)v);
    }
}

km_status km_params_write(km_ctx *ctx, km_result_writer *w, const km_process_params *eff,
                          const km_param_run *run)
{
    size_t n = 0;
    const km_param *t = km_process_param_table(&n);
    km_status st = KM_OK;
    for (size_t i = 0; i < n && st == KM_OK; i++) {
        if (!(t[i].flags & KM_PARAM_RECORDED))
            continue;
        st = write_row(ctx, w, (t[i].flags & KM_PARAM_DERIVED) ? (const void *)run
                                                                : (const void *)eff,
                       &t[i]);
    }
    return st;
}
