/* The vocabulary of km_synth_params that `knotmap synth` and
 * knotmap.synth() expose: one row per option (the same km_param rows as
 * the process table, offsets into km_synth_params).  Defaults are
 * km_synth_params_default()'s; the help and Python's signature read them
 * from there.  The artefact fields (noise, gains, ...) have no option:
 * the preset sets them (Python also takes them by their C names). */
#include <stddef.h>

#include "synth_internal.h"
#include "core/names.h"

#define F(field) offsetof(km_synth_params, field)
#define BIG 1e300

static const char G_SESSION[] = "Session";

static const km_param TABLE[] = {
    {.name = "mode", .option = "mode", .type = KM_PARAM_ENUM, .offset = F(mode),
     .names = km_mode_names, .metavar = "roller|mat", .group = G_SESSION,
     .doc = "acquisition mode"},
    {.name = "difficulty", .option = "preset", .keyword = "preset", .type = KM_PARAM_ENUM,
     .offset = F(difficulty), .names = km_synth_difficulty_names,
     .metavar = "easy|moderate|hard", .group = G_SESSION,
     .doc = "sensor artefacts and knot strength (docs/ALGORITHMS.md 6.4)"},
    {.name = "seed", .option = "seed", .type = KM_PARAM_UINT64, .offset = F(seed), .min = 0,
     .max = 9e18, .metavar = "N", .group = G_SESSION, .doc = "random seed"},
    {.name = "model", .option = "model", .type = KM_PARAM_INT32, .offset = F(model), .min = 1,
     .max = 2, .metavar = "1|2", .group = G_SESSION,
     .doc = "tissue and sensor model; model 2 draws the device (grid, pitches, roller "
            "radius), body, knots and artefacts from the seed (no --grid, --knots, "
            "--roller-radius)"},
    {.name = "duration_s", .option = "duration", .keyword = "duration", .type = KM_PARAM_DOUBLE,
     .offset = F(duration_s), .min = 0, .max = BIG, .metavar = "S", .units = "s",
     .group = G_SESSION, .doc = "length of the session, seconds", .flags = KM_PARAM_MIN_OPEN},
    {.name = "frame_rate_hz", .option = "rate", .keyword = "rate", .type = KM_PARAM_DOUBLE,
     .offset = F(frame_rate_hz), .min = 0, .max = BIG, .metavar = "HZ", .units = "Hz",
     .group = G_SESSION, .doc = "frames per second", .flags = KM_PARAM_MIN_OPEN},
    {.option = "grid", .type = KM_PARAM_GRID, .offset = F(rows), .offset2 = F(cols), .min = 1,
     .max = KM_MAX_DIM, .metavar = "RxC", .units = "taxels", .group = G_SESSION,
     .doc = "taxel rows x columns (a roller's rows go around it)"},
    {.name = "n_knots", .option = "knots", .keyword = "knots", .type = KM_PARAM_INT32,
     .offset = F(n_knots), .min = 0, .max = KM_SYNTH_MAX_KNOTS, .metavar = "N",
     .group = G_SESSION, .doc = "number of knots"},
    {.name = "roller_radius_mm", .option = "roller-radius", .type = KM_PARAM_DOUBLE,
     .offset = F(roller_radius_mm), .min = 0, .max = BIG, .metavar = "MM", .units = "mm",
     .group = G_SESSION, .doc = "roller radius", .flags = KM_PARAM_MIN_OPEN},
};

const km_param *km_synth_param_table(size_t *n)
{
    if (n != NULL)
        *n = sizeof TABLE / sizeof TABLE[0];
    return TABLE;
}

const km_param *km_synth_param_find(const char *key)
{
    return km_param_row_find(TABLE, sizeof TABLE / sizeof TABLE[0], key);
}

void km_synth_equilibration(km_synth_params *p, double kpa, int32_t duration_given)
{
    p->equilibration_kpa = kpa == 0.0 ? KM_SYNTH_EQUILIBRATION_KPA : kpa;
    if (!duration_given)
        p->duration_s = KM_SYNTH_EQUILIBRATION_S;
}
