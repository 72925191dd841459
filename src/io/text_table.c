/* The fields of a text table (docs/FORMAT.md 1.4): what a value is with
 * the table's separator, and what a line of one is not (Excel's "sep=;",
 * values with a bad one taken for column names), and a table that writes
 * decimal commas between TABs.  The lines themselves: text_scan.c. */
#include <string.h>

#include "text_scan.h"

int km_scan_value(char sep, const char *p, const char *e, const char **q, double *d)
{
    int rc = km_scan_number(p, e, q, d);
    if ((sep == ';' || sep == '\t') && rc == 0 && *q < e && **q == ',')
        rc = km_scan_number_comma(p, e, q, d);
    return rc;
}

/* Excel's first line naming the separator, "sep=;" (what a spreadsheet
   reads as a hint and some exporters write): not a line of the table.  In
   place: the separator, its padding gone. */
int km_line_sep_hint(char *p, size_t len)
{
    while (len > 5 && (km_text_blank(p[len - 1]) || p[len - 1] == p[4]))
        len--;
    if (len != 5 || strncmp(p, "sep=", 4) != 0 || !(p[4] == ';' || p[4] == ',' || p[4] == '\t'))
        return 0;
    p[5] = '\0';
    return 1;
}

/* A line of values with a bad one is not column names (it was read as
   names over the numbers below it, so a data line went without a word:
   `1,NA,3`, R's missing value; `1.234,5;2;3`, a thousands mark): more of
   its fields are numbers than not, and they are not three or more that
   count up one by one (pandas' `time,0,1,2`, names `1 2 3 4`). */
int km_values_with_a_bad_one(char sep, const char *p, const char *e, int counting)
{
    int64_t num = 0, other = 0, run = 0;
    double prev = 0;
    while (p < e) {
        const char *q;
        double d;
        p = km_text_skip_seps(sep, p, e);
        if (p == e)
            break;
        if (km_scan_value(sep, p, e, &q, &d) == 0 && (q == e || km_text_blank(*q) || *q == sep)) {
            run = num > 0 && d == prev + 1 ? run + 1 : 1;
            prev = d;
            num++;
        } else {
            q = km_text_field_end(sep, p, e);
            other++;
        }
        p = q;
    }
    return num > other && !(counting && run == num && num >= 3);
}

/* A European spreadsheet's "text (tab delimited)": TABs between the values
   and a ',' inside numbers ("1,5\t2,25"), read as 1, 5, 2, 25 before
   session 45.  At least two TAB-separated fields, each with at most one ','
   and that one between digits; no ';' (that is the ';' table's rule).  So
   "1,2,3\t" (commas between values, a trailing TAB) keeps its commas. */
int km_tab_decimal_comma(const char *p, const char *e)
{
    int fields = 0, commas = 0;
    if (memchr(p, ';', (size_t)(e - p)) != NULL)
        return 0;
    while (p < e) {
        const char *f = p;
        int in_field = 0;
        for (; p < e && *p != '\t'; p++) {
            if (*p == ',') {
                if (in_field++ || p == f || p + 1 == e || (unsigned)(p[-1] - '0') >= 10u ||
                    (unsigned)(p[1] - '0') >= 10u)
                    return 0;
                commas++;
            }
        }
        while (f < p && km_text_blank(*f))
            f++;
        fields += f < p;
        p += p < e; /* the TAB */
    }
    return fields >= 2 && commas > 0;
}
