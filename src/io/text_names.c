/* The first line of a text table (docs/FORMAT.md 1.4): numbers, numbers
 * that count 0, 1, 2, ... (pandas' names for unnamed columns), or column
 * names, and what a first column's name says it holds.  The reader that
 * decides with them: read_text.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "text_scan.h"

/* Would parse_values read this line without an error (a value out of
   range aside)?  Asked of the first line only, to tell column names. */
int km_table_numeric_line(char sep, const char *p, const char *e)
{
    int64_t c = 0;
    while (p < e && km_text_blank(*p))
        p++;
    while (p < e) {
        const char *q;
        double d;
        if (*p == sep)
            return c > 0 && km_table_padding(sep, p, (size_t)(e - p));
        if (km_scan_value(sep, p, e, &q, &d) == -1 || (q < e && !km_text_blank(*q) && *q != sep))
            return 0;
        c++;
        p = q;
        while (p < e && km_text_blank(*p))
            p++;
        if (p < e && *p == sep) {
            p++;
            while (p < e && km_text_blank(*p))
                p++;
        }
    }
    return 1;
}

/* Column numbers as names: 0, 1, 2, ..., what pandas writes over a frame of
   unnamed columns: how many (at least 4), else 0. */
int64_t km_table_counting_line(char sep, const char *p, const char *e)
{
    int64_t c = 0;
    while (p < e) {
        const char *q;
        double d;
        p = km_text_skip_seps(sep, p, e);
        if (p == e)
            break;
        if (km_scan_value(sep, p, e, &q, &d) != 0 || d != (double)c)
            return 0;
        c++;
        p = q;
    }
    return c >= 4 ? c : 0;
}

void km_table_split_names(const char *p, const char *e, km_table_names *h)
{
    const char sep = memchr(p, ';', (size_t)(e - p))   ? ';'
                     : memchr(p, ',', (size_t)(e - p)) ? ','
                     : memchr(p, '\t', (size_t)(e - p)) ? '\t'
                                                        : ' ';
    int64_t named = 0; /* fields up to the last non-empty one: padding is not a name */
    memset(h, 0, sizeof *h);
    for (int64_t n = 0;; n++) {
        const char *f = p, *fe;
        size_t k = 0;
        if (sep == ' ')
            while (f < e && km_text_blank(*f))
                f++;
        fe = f;
        while (fe < e && (sep == ' ' ? !km_text_blank(*fe) : *fe != sep))
            fe++;
        p = fe;
        while (f < fe && (km_text_blank(*f) || *f == '"'))
            f++;
        while (fe > f && (km_text_blank(fe[-1]) || fe[-1] == '"'))
            fe--;
        if (fe > f || sep != ' ')
            named = fe > f ? n + 1 : named;
        for (char *to = n == 0 ? h->first : h->second, *c = (char *)f; n < 2 && c < fe && k + 1 < 32; c++)
            if (!km_text_blank(*c))
                to[k++] = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        if (n < 3)
            snprintf(h->shown + strlen(h->shown), sizeof h->shown - strlen(h->shown), "%s'%.*s'", n ? ", " : "",
                     (int)(fe - f > 40 ? 40 : fe - f), f);
        if (p >= e || (sep == ' ' && fe == f))
            break;
        p++; /* the separator */
    }
    h->n = named;
}

/* What a first column's name says it holds (docs/FORMAT.md 1.4). */
int km_table_label_of(const char *name, double *unit)
{
    static const char *const INDEX[] = {"", "index", "frame", "frames", "frameno", "frame_no", "frame_number",
                                        "framenumber", "frame#", "sample", "row", "unnamed:0"};
    static const char *const SECONDS[] = {"time", "t", "time_s", "time(s)", "time[s]", "t(s)", "t[s]", "t_s",
                                          "seconds", "sec", "s", "time_sec", "elapsed", "elapsed_s"};
    static const char *const MILLIS[] = {"time_ms", "time(ms)", "time[ms]", "t_ms", "t(ms)", "t[ms]", "ms",
                                         "milliseconds", "elapsed_ms"};
    for (size_t k = 0; k < sizeof INDEX / sizeof *INDEX; k++)
        if (strcmp(name, INDEX[k]) == 0)
            return KM_LABEL_INDEX;
    *unit = 1.0;
    for (size_t k = 0; k < sizeof SECONDS / sizeof *SECONDS; k++)
        if (strcmp(name, SECONDS[k]) == 0)
            return KM_LABEL_TIME;
    *unit = 1e-3;
    for (size_t k = 0; k < sizeof MILLIS / sizeof *MILLIS; k++)
        if (strcmp(name, MILLIS[k]) == 0)
            return KM_LABEL_TIME;
    return 0;
}

/* pandas' header over one to three unnamed columns (too few to count as
   names alone, km_table_counting_line): its index's name, empty or a line
   label or time (`,0,1`, `time,0,1`), then 0, 1, ...: how many numbers,
   else 0. */
int64_t km_table_labelled_count(char sep, const char *p, const char *e)
{
    char name[32];
    const char *f = p;
    double unit, d;
    int64_t c = 0;
    size_t k = 0;
    for (; f < e && *f != sep; f++) /* the name as km_table_split_names keeps it */
        if (!km_text_blank(*f) && *f != '"' && k + 1 < sizeof name)
            name[k++] = (char)(*f >= 'A' && *f <= 'Z' ? *f + 32 : *f);
    name[k] = '\0';
    if (f == e || km_table_label_of(name, &unit) == 0)
        return 0;
    for (p = f + 1; p < e; c++) {
        const char *q;
        p = km_text_skip_seps(sep, p, e);
        if (p == e)
            break;
        if (km_scan_value(sep, p, e, &q, &d) != 0 || d != (double)c || (q < e && !km_text_blank(*q) && *q != sep))
            return 0;
        p = q;
    }
    return c;
}

/* One field of a units line, brackets and quotes off: a pressure unit
   (km_units_from_file's words, raw too), 1; a time unit (seconds or
   milliseconds per unit into *secs), 2; empty, 3; else 0. */
static int unit_field(const char *f, const char *fe, char *word, size_t cap, double *secs)
{
    static const char *const SECS[] = {"s", "sec", "secs", "second", "seconds"};
    static const char *const MILLIS[] = {"ms", "msec", "millisecond", "milliseconds"};
    double scale;
    size_t n = 0;
    while (f < fe && (km_text_blank(*f) || *f == '"' || *f == '(' || *f == '['))
        f++;
    while (fe > f && (km_text_blank(fe[-1]) || fe[-1] == '"' || fe[-1] == ')' || fe[-1] == ']'))
        fe--;
    if (f == fe)
        return 3;
    if ((size_t)(fe - f) >= cap)
        return 0;
    for (; f < fe; f++)
        word[n++] = *f;
    word[n] = '\0';
    *secs = 0.0;
    for (size_t k = 0; k < sizeof SECS / sizeof *SECS; k++)
        if (strcasecmp(word, SECS[k]) == 0)
            *secs = 1.0;
    for (size_t k = 0; k < sizeof MILLIS / sizeof *MILLIS; k++)
        if (strcasecmp(word, MILLIS[k]) == 0)
            *secs = 1e-3;
    return *secs > 0 ? 2 : km_units_from_file(word, &scale) != NULL;
}

/* The same pressure unit (N/cm^2 and N/cm2, raw and Raw)? */
static int same_unit(const char *a, const char *b)
{
    double ka = km_units_to_kpa(a), kb = km_units_to_kpa(b);
    return isnan(ka) && isnan(kb) ? 1 : ka == kb;
}

int km_table_units_line(const char *p, const char *e, km_table_units *u)
{
    const char sep = memchr(p, ';', (size_t)(e - p))   ? ';'
                     : memchr(p, ',', (size_t)(e - p)) ? ','
                     : memchr(p, '\t', (size_t)(e - p)) ? '\t'
                                                        : ' ';
    int any = 0;
    memset(u, 0, sizeof *u);
    for (int n = 0; p < e; n++) {
        const char *fe = p;
        char word[16];
        double secs = 0;
        if (sep == ' ')
            while (p < e && km_text_blank(*p))
                p++;
        for (fe = p; fe < e && (sep == ' ' ? !km_text_blank(*fe) : *fe != sep); fe++)
            ;
        switch (unit_field(p, fe, word, sizeof word, &secs)) {
        case 0: return 0;
        case 2: /* a time: only in the first two columns (a time beside pandas' index) */
            if (n > 1)
                return 0;
            u->time_secs[n] = secs;
            break;
        case 1:
            if (u->pressure[0] == '\0')
                memcpy(u->pressure, word, strlen(word) + 1);
            else if (!same_unit(u->pressure, word) && u->other[0] == '\0')
                memcpy(u->other, word, strlen(word) + 1);
            any = 1;
            break;
        default: break;
        }
        p = fe + (fe < e);
    }
    return any;
}
