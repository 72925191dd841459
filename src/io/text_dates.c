/* Dates and times in a text table's time column (docs/FORMAT.md 1.4): what
 * pandas' to_csv writes for a DatetimeIndex (`2026-01-01 23:59:59.980`,
 * `2026-01-01 00:00:00+00:00`, `2026-01-01` for daily data) or a
 * TimedeltaIndex (`0 days 00:00:00.010000`), and ISO 8601 as loggers and
 * spreadsheets write it (`2026-01-01T12:00:00.5Z`).  Read as a day number
 * and the seconds of that day, so that times keep their milliseconds
 * (seconds since 1970 in a double would keep about 0.2 us). */
#include <string.h>

#include "text_scan.h"

/* Digits p[0..n) as a number; -1 when they are not n digits. */
static int digits(const char *p, const char *e, int n)
{
    int v = 0;
    if (e - p < n)
        return -1;
    for (int i = 0; i < n; i++) {
        if ((unsigned)(p[i] - '0') >= 10u)
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int month_days(int y, int m)
{
    static const int DAYS[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) ? 29 : DAYS[m - 1];
}

/* HH:MM[:SS[.fff]] (',' too as the decimal mark when `comma`): seconds of
   the day into *secs; the first byte after it, NULL when p holds none. */
static const char *clock_time(const char *p, const char *e, int comma, double *secs)
{
    int h = digits(p, e, 2), m = -1, s = 0;
    double num = 0, den = 1; /* the fraction's digits over 10^n: 0.010000 is 0.01 */
    if (h < 0 || h > 23 || e - p < 5 || p[2] != ':' || (m = digits(p + 3, e, 2)) < 0 || m > 59)
        return NULL;
    p += 5;
    if (p < e && *p == ':') {
        if ((s = digits(p + 1, e, 2)) < 0 || s > 60) /* 60: a leap second */
            return NULL;
        p += 3;
        if (p + 1 < e && (*p == '.' || (comma && *p == ',')) && (unsigned)(p[1] - '0') < 10u)
            for (p++; p < e && (unsigned)(*p - '0') < 10u; p++)
                if (den < 1e15) {
                    num = num * 10 + (*p - '0');
                    den *= 10;
                }
    }
    *secs = h * 3600.0 + m * 60.0 + s + num / den;
    return p;
}

/* A UTC offset after a time: Z, +HH:MM, +HHMM or +HH (- too): its seconds
   into *off (0 without one). */
static const char *utc_offset(const char *p, const char *e, double *off)
{
    int sign, h, m = 0;
    *off = 0;
    if (p < e && *p == 'Z')
        return p + 1;
    if (p >= e || (*p != '+' && *p != '-') || (h = digits(p + 1, e, 2)) < 0 || h > 23)
        return p;
    sign = *p == '-' ? -1 : 1;
    p += 3;
    if (p < e && *p == ':' && (m = digits(p + 1, e, 2)) >= 0)
        p += 3;
    else if ((m = digits(p, e, 2)) >= 0)
        p += 2;
    else
        m = 0;
    *off = sign * (h * 3600.0 + m * 60.0);
    return p;
}

/* pandas' timedelta: [-]N days[ +]HH:MM:SS[.f] ("-1 days +23:59:59.990000"
   for -10 ms). */
static const char *timedelta(const char *p, const char *e, int comma, int64_t *day, double *secs)
{
    const char *q = p + (p < e && *p == '-');
    int64_t n = 0;
    if (q >= e || (unsigned)(*q - '0') >= 10u)
        return NULL;
    for (; q < e && (unsigned)(*q - '0') < 10u && n < 100000000; q++)
        n = n * 10 + (*q - '0');
    if (e - q < 6 || (memcmp(q, " days ", 6) != 0 && memcmp(q, " day ", 5) != 0))
        return NULL;
    q += q[4] == ' ' ? 5 : 6;
    q += q < e && *q == '+';
    *day = *p == '-' ? -n : n;
    return clock_time(q, e, comma, secs);
}

int km_scan_datetime(const char *p, const char *e, int comma, const char **endp, int64_t *day, double *secs)
{
    int y = digits(p, e, 4), mo, d;
    double off;
    const char *q;
    *secs = 0;
    if (y < 0 || e - p < 10 || p[4] != '-' || p[7] != '-' || (mo = digits(p + 5, e, 2)) < 1 || mo > 12 ||
        (d = digits(p + 8, e, 2)) < 1 || d > month_days(y, mo)) {
        if ((q = timedelta(p, e, comma, day, secs)) == NULL)
            return -1;
        *endp = q;
        return 1;
    }
    *day = days_from_civil(y, mo, d);
    p += 10;
    q = p;
    if (q < e && (*q == 'T' || *q == ' ')) {
        const char *c = q + 1;
        while (*q == ' ' && c < e && *c == ' ')
            c++;
        if ((c = clock_time(c, e, comma, secs)) != NULL) {
            p = utc_offset(c, e, &off);
            *secs -= off;
        }
    }
    *endp = p;
    return 0;
}
