/* cairo loaded on first use (see cairo_dyn.h). */
#define KM_CAIRO_LOADER
#include "cairo_dyn.h"

#include "core/dynlib.h"

KM_DYNLIB_DEFINE(km_cairo_api, km_cairo, KM_CAIRO_FNS, "libcairo.so.2",
                 "drawing pictures and reports", "libcairo2", km_cairo_load)
