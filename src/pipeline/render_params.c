/* The vocabulary of km_render_params that `knotmap render` and `report`
 * and knotmap.render()/report() expose: one km_param row per option
 * (offsets into km_render_params).  Defaults are km_render_params_default()'s.
 * `report` takes the rows of the first section and the memory budget. */
#include <stddef.h>
#include <stdint.h>

#include "core/names.h"
#include "internal.h"

#define F(field) offsetof(km_render_params, field)
#define BIG 1e300

/* km_render_map by value: the one list (the CLI and Python read it here). */
static const char *const MAPS[] = {[KM_RENDER_AUTO] = "auto", [KM_RENDER_BODYMAP] = "bodymap",
                                   [KM_RENDER_MAX] = "max", [KM_RENDER_EXCESS] = "excess", NULL};

static const char G_MAP[] = "Map and candidates";
static const char G_PICTURE[] = "Picture";
static const char G_MEMORY[] = "Memory";

static const km_param TABLE[] = {
    {.name = "map", .option = "map", .type = KM_PARAM_ENUM, .offset = F(map), .names = MAPS,
     .metavar = "NAME", .group = G_MAP,
     .doc = "auto (bodymap if the result has one, else max), bodymap, max (per-taxel maximum, "
            "grid coordinates), excess (the candidate map)"},
    {.name = "max_candidates", .option = "candidates", .type = KM_PARAM_INT32,
     .offset = F(max_candidates), .min = -1, .max = INT32_MAX, .metavar = "N", .group = G_MAP,
     .doc = "candidates marked and numbered, best first; -1 = all, 0 = none"},
    {.name = "cell_px", .option = "cell-px", .type = KM_PARAM_INT32, .offset = F(cell_px),
     .min = 0, .max = 64, .metavar = "N", .units = "px", .group = G_PICTURE,
     .doc = "pixels per cell along the finer pitch, 1..64 (the picture is true to scale); "
            "0 = fit 480 px"},
    {.name = "vmin", .option = "vmin", .type = KM_PARAM_DOUBLE, .offset = F(vmin), .min = -BIG,
     .max = BIG, .metavar = "X", .units = "result units", .group = G_PICTURE,
     .doc = "the bottom of the colour range [0, or the minimum when a value is negative]"},
    {.name = "vmax", .option = "vmax", .type = KM_PARAM_DOUBLE, .offset = F(vmax), .min = -BIG,
     .max = BIG, .metavar = "X", .units = "result units", .group = G_PICTURE,
     .doc = "the top of the colour range [the percentile below]"},
    {.name = "vmax_percentile", .option = "percentile", .type = KM_PARAM_DOUBLE,
     .offset = F(vmax_percentile), .min = 50, .max = 100, .metavar = "P", .group = G_PICTURE,
     .doc = "the automatic vmax: this percentile of the cells with data, 50..100; higher "
            "cells show the top colour and their share is written in the picture"},
    {.name = "max_memory", .option = "max-memory", .type = KM_PARAM_SIZE, .offset = F(max_memory),
     .min = 1048576.0, .max = 9.0e18, .metavar = "SIZE", .units = "bytes", .group = G_MEMORY,
     .doc = "memory budget of the picture (map, drawing, file; the tables read: candidates, "
            "the report's /metrics), bytes or with K/M/G (GiB): a larger one is refused "
            "before the map or table is read [1G]"},
};

const km_param *km_render_param_table(size_t *n)
{
    if (n != NULL)
        *n = sizeof TABLE / sizeof TABLE[0];
    return TABLE;
}

const km_param *km_render_param_find(const char *key)
{
    return km_param_row_find(TABLE, sizeof TABLE / sizeof TABLE[0], key);
}
