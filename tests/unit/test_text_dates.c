/* km_scan_datetime (src/io/text_dates.c): the dates and times pandas, ISO
 * 8601 loggers and spreadsheets write in a table's time column, against
 * values worked out by hand (days from 1970-01-01: Python's
 * date.toordinal() - 719163). */
#include <criterion/criterion.h>
#include <string.h>

#include "knotmap.h"
#include "io/text_scan.h"

static int scan(const char *s, int comma, int64_t *day, double *secs, size_t *used)
{
    const char *end = s;
    int rc = km_scan_datetime(s, s + strlen(s), comma, &end, day, secs);
    *used = (size_t)(end - s);
    return rc;
}

Test(text_dates, dates_and_times)
{
    static const struct {
        const char *s;
        int rc;
        int64_t day;
        double secs;
        size_t used;
    } CASES[] = {
        {"1970-01-01", 0, 0, 0, 10},
        {"2026-01-01 23:59:59.980,1", 0, 20454, 86399.98, 23},
        {"2026-01-01T23:59:59.98Z", 0, 20454, 86399.98, 23},
        {"2026-01-01 00:00:00+01:00", 0, 20454, -3600, 25},
        {"2026-01-01 00:00:00-0530", 0, 20454, 19800, 24},
        {"2024-02-29 12:00", 0, 19782, 43200, 16},
        {"1969-12-31 23:59:59", 0, -1, 86399, 19},
        {"2000-03-01", 0, 11017, 0, 10},
        {"2026-01-01 1", 0, 20454, 0, 10},           /* a date, then a value */
        {"0 days 00:00:00.010000", 1, 0, 0.01, 22},  /* pandas' timedelta */
        {"-1 days +23:59:59.990000", 1, -1, 86399.99, 24},
        {"2 days 01:00:00", 1, 2, 3600, 15},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        int64_t day = -99;
        double secs = -99;
        size_t used = 0;
        int rc = scan(CASES[i].s, 0, &day, &secs, &used);
        cr_expect_eq(rc, CASES[i].rc, "%s: rc %d", CASES[i].s, rc);
        cr_expect_eq(day, CASES[i].day, "%s: day %lld", CASES[i].s, (long long)day);
        cr_expect_float_eq(secs, CASES[i].secs, 1e-9, "%s: secs %.9f", CASES[i].s, secs);
        cr_expect_eq(used, CASES[i].used, "%s: used %zu", CASES[i].s, used);
    }
}

Test(text_dates, not_dates)
{
    static const char *const BAD[] = {"2026-02-29", "2100-02-29", "2026-13-01", "2026-00-10", "2026-01-32",
                                      "26-01-01",   "2026/01/01", "01.01.2026", "12:00:00",   "1.5",
                                      "0 days",     "3 weeks",    "",           "2026-01-0"};
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        int64_t day;
        double secs;
        size_t used;
        cr_expect_eq(scan(BAD[i], 0, &day, &secs, &used), -1, "'%s' read as a date", BAD[i]);
    }
}

Test(text_dates, clock_out_of_range_is_the_date_alone)
{
    /* 25:00 is no time of day: the date is read, the rest left to the caller */
    int64_t day;
    double secs;
    size_t used;
    cr_expect_eq(scan("2026-01-01 25:00:00", 0, &day, &secs, &used), 0);
    cr_expect_eq(used, 10);
    cr_expect_eq(secs, 0.0);
}

Test(text_dates, decimal_comma_only_when_asked)
{
    int64_t day;
    double secs;
    size_t used;
    cr_expect_eq(scan("2026-01-01 00:00:01,5;1", 1, &day, &secs, &used), 0);
    cr_expect_float_eq(secs, 1.5, 1e-12);
    cr_expect_eq(used, 21);
    cr_expect_eq(scan("2026-01-01 00:00:01,5", 0, &day, &secs, &used), 0);
    cr_expect_float_eq(secs, 1.0, 1e-12);
    cr_expect_eq(used, 19);
}
