/* Pressure units (km_units_to_kpa): in core because the readers convert a
   file's unit (Tekscan's PSI, a unit on another tool's /frames) as the
   calibration does, from the one table. */
#include <math.h>
#include <stddef.h>

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

double km_units_to_kpa(const char *units)
{
    /* Conventional mmHg (13.5951 g/cm3 mercury under standard gravity),
     * not the torr (101.325/760 kPa), which differs in the 7th digit.
     * psi from the international pound and inch (0.45359237 kg x 9.80665
     * m/s2 over 0.0254 m squared), to the last digit a double keeps. */
    static const struct {
        const char *name;
        double kpa;
    } table[] = {
        {"kPa", 1.0},
        {"mmHg", 0.133322387415},
        {"N/cm2", 10.0},
        {"N/cm^2", 10.0},
        {"psi", 6.894757293168361},
        {"Pa", 1e-3},
        {"MPa", 1e3},
    };
    if (units == NULL)
        return NAN;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (name_eq(units, table[i].name))
            return table[i].kpa;
    return NAN;
}
