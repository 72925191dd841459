/* cairo loaded on first use (see cairo_dyn.h). */
#define KM_CAIRO_LOADER
#include "cairo_dyn.h"

#include "core/dynlib.h"

km_cairo_api km_cairo;

#define KM_CAIRO_NAME(name) #name,
static const char *const NAMES[] = {KM_CAIRO_FNS(KM_CAIRO_NAME)};
#undef KM_CAIRO_NAME
_Static_assert(sizeof(km_cairo_api) == sizeof NAMES / sizeof NAMES[0] * sizeof(void (*)(void)),
               "one pointer per name");

static km_dynlib lib = {"libcairo.so.2", "drawing pictures and reports", "libcairo2", NAMES,
                        sizeof NAMES / sizeof NAMES[0], &km_cairo, 0};

km_status km_cairo_load(km_ctx *ctx)
{
    return km_dynlib_load(ctx, &lib);
}
