/* Pressure units (km_units_to_kpa): in core because the readers convert a
   file's unit (Tekscan's PSI, a unit on another tool's /frames) as the
   calibration does, from the one table. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* ASCII-only and locale-free on purpose: unit names come from files. */
static int name_eq(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        int ca = (unsigned char)*a, cb = (unsigned char)*b;
        if (ca >= 'A' && ca <= 'Z')
            ca += 'a' - 'A';
        if (cb >= 'A' && cb <= 'Z')
            cb += 'a' - 'A';
        if (ca != cb)
            return 0;
    }
    return *a == '\0' && *b == '\0';
}

/* Every pressure unit knotmap knows: its names (ASCII case ignored), kPa per
 * unit, and the name knotmap keeps it under (NULL: converted to kPa when a
 * file gives it).  Conventional mmHg (13.5951 g/cm3 mercury under standard
 * gravity), not the torr (101.325/760 kPa), which differs in the 7th digit.
 * psi from the international pound and inch (0.45359237 kg x 9.80665 m/s2
 * over 0.0254 m squared), to the last digit a double keeps. */
static const struct {
    const char *name;
    double kpa;
    const char *keep;
    int alias; /* another spelling of the unit before it (not listed by km_units_name) */
} UNITS[] = {
    {"kPa", 1.0, "kPa", 0},
    {"mmHg", 0.133322387415, "mmHg", 0},
    {"N/cm2", 10.0, "N/cm2", 0},
    {"N/cm^2", 10.0, "N/cm2", 1},
    {"N/cm\xc2\xb2", 10.0, "N/cm2", 1}, /* N/cm with a superscript two (UTF-8) */
    {"N/cm\xb2", 10.0, "N/cm2", 1},     /* the same in Latin-1 / Windows-1252 (an ANSI export) */
    {"N/sq cm", 10.0, "N/cm2", 1},
    {"psi", 6.894757293168361, NULL, 0},
    {"Pa", 1e-3, NULL, 0},
    {"MPa", 1e3, NULL, 0},
};
#define N_UNITS (sizeof UNITS / sizeof UNITS[0])

static size_t find(const char *units)
{
    size_t i = 0;
    if (units != NULL)
        for (; i < N_UNITS; i++)
            if (name_eq(units, UNITS[i].name))
                break;
    return units != NULL ? i : N_UNITS;
}

const char *km_units_name(int32_t i)
{
    for (size_t k = 0; k < N_UNITS && i >= 0; k++)
        if (!UNITS[k].alias && i-- == 0)
            return UNITS[k].name;
    return i == 0 ? "raw" : NULL;
}

void km_units_join(char *buf, size_t cap, const char *sep, const char *last)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int32_t i = 0; km_units_name(i) != NULL && n < cap; i++) {
        int is_last = km_units_name(i + 1) == NULL;
        if (is_last && last == NULL) /* raw left out */
            break;
        snprintf(buf + n, cap - n, "%s%s", i == 0 ? "" : is_last ? last : sep, km_units_name(i));
        n += strlen(buf + n);
    }
}

void km_units_list(char *buf, size_t cap)
{
    km_units_join(buf, cap, ", ", " or ");
}

double km_units_to_kpa(const char *units)
{
    size_t i = find(units);
    return i < N_UNITS ? UNITS[i].kpa : NAN;
}

const char *km_units_from_file(const char *word, double *scale)
{
    size_t i;
    *scale = 1.0;
    if (word != NULL && name_eq(word, "raw"))
        return "raw";
    if ((i = find(word)) >= N_UNITS)
        return NULL;
    if (UNITS[i].keep != NULL)
        return UNITS[i].keep;
    *scale = UNITS[i].kpa;
    return "kPa";
}

double km_length_unit_mm(const char *unit)
{
    /* The symbols and the words spelled out, both spellings, singular or
       plural; "milimeters" as some Tekscan exports spell it. */
    static const struct {
        const char *word;
        double mm;
    } LENGTHS[] = {{"mm", 1.0},          {"millimeter", 1.0},   {"millimeters", 1.0},
                   {"millimetre", 1.0},  {"millimetres", 1.0},  {"milimeter", 1.0},
                   {"milimeters", 1.0},  {"cm", 10.0},          {"centimeter", 10.0},
                   {"centimeters", 10.0}, {"centimetre", 10.0}, {"centimetres", 10.0},
                   {"m", 1000.0},        {"meter", 1000.0},     {"meters", 1000.0},
                   {"metre", 1000.0},    {"metres", 1000.0},    {"in", 25.4},
                   {"inch", 25.4},       {"inches", 25.4},      {"\"", 25.4}};
    for (size_t k = 0; unit != NULL && k < sizeof LENGTHS / sizeof LENGTHS[0]; k++)
        if (name_eq(unit, LENGTHS[k].word))
            return LENGTHS[k].mm;
    return 0.0;
}
