/* Two lines of column names: pandas' to_csv of a DataFrame whose columns
 * are a two-level MultiIndex (docs/FORMAT.md 1.4).  pandas writes a line per
 * level, each led by the level's name (in the index column) and holding
 * every column's label in full (`row,0,0,0,1,1,1` over `col,0,1,2,0,1,2`),
 * then the index's name over empty fields when the index has one
 * (`time,,,,,,`).  Levels named row and col that number every taxel row by
 * row give the grid; any other two-level header is refused saying what to
 * do, never read as data.  The reader that asks: read_text.c. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "text_scan.h"

/* The field delimiter of a header line: ';', else ',', else TAB, else blanks. */
static char delimiter(const char *p, const char *e)
{
    const size_t n = (size_t)(e - p);
    return memchr(p, ';', n) ? ';' : memchr(p, ',', n) ? ',' : memchr(p, '\t', n) ? '\t' : ' ';
}

/* The next field from *p (at most e), quotes and blanks off; *p past its
   delimiter.  0 at the end of the line. */
static int next_field(char d, const char **p, const char *e, const char **f, const char **fe)
{
    const char *s = *p, *q;
    if (d == ' ')
        while (s < e && km_text_blank(*s))
            s++;
    if (s >= e && (d == ' ' || *p > e))
        return 0;
    for (q = s; q < e && (d == ' ' ? !km_text_blank(*q) : *q != d);)
        q++;
    *p = q + 1; /* past e at the end: the next call stops */
    while (s < q && (km_text_blank(*s) || *s == '"'))
        s++;
    while (q > s && (km_text_blank(q[-1]) || q[-1] == '"'))
        q--;
    *f = s;
    *fe = q;
    return 1;
}

/* A field as an integer: 1 when it is one. */
static int int_field(const char *f, const char *fe, int64_t *x)
{
    const char *q;
    double d;
    if (f == fe || km_scan_number(f, fe, &q, &d) != 0 || q != fe || !(d >= -1e15 && d <= 1e15) ||
        d != (double)(int64_t)d) /* nan and inf fail the range before the cast */
        return 0;
    *x = (int64_t)d;
    return 1;
}

void km_table_level_line(const char *p, const char *e, int named, km_table_level *lv)
{
    const char d = delimiter(p, e), *s = p, *f, *fe;
    int64_t x = 0;
    memset(lv, 0, sizeof *lv);
    lv->ints = 1;
    if (named && next_field(d, &s, e, &f, &fe))
        for (size_t k = 0; f < fe && k + 1 < sizeof lv->name; f++)
            if (!km_text_blank(*f))
                lv->name[k++] = (char)(*f >= 'A' && *f <= 'Z' ? *f + 32 : *f);
    /* pass 1: the first value, its run, where it comes back; neighbours alike */
    for (const char *a = s, *prev_f = NULL, *prev_fe = NULL; next_field(d, &a, e, &f, &fe); prev_f = f, prev_fe = fe) {
        if (f == fe && a > e) /* padding after the last label */
            break;
        if (prev_f != NULL && fe - f == prev_fe - prev_f && memcmp(f, prev_f, (size_t)(fe - f)) == 0)
            lv->repeats = 1;
        if (!int_field(f, fe, &x))
            lv->ints = 0;
        else if (lv->n == 0)
            lv->first = x;
        else if (lv->run == 0 && x != lv->first)
            lv->run = lv->n;
        else if (lv->period == 0 && lv->run > 0 && x == lv->first)
            lv->period = lv->n;
        lv->n++;
    }
    if (lv->run == 0)
        lv->run = lv->n;
    if (lv->period == 0)
        lv->period = lv->n;
    lv->outer = lv->inner = lv->ints && lv->n > 0 && lv->n % lv->run == 0 && lv->n % lv->period == 0;
    /* pass 2: 0 0 0 1 1 1 (outer: a step every run), 0 1 2 0 1 2 (inner: again every period) */
    for (int64_t k = 0; (lv->outer || lv->inner) && next_field(d, &s, e, &f, &fe) && k < lv->n; k++) {
        int_field(f, fe, &x);
        lv->outer &= x == lv->first + k / lv->run;
        lv->inner &= x == lv->first + k % lv->period;
    }
}

int km_table_index_name_line(const char *p, const char *e, char name[32])
{
    const char d = delimiter(p, e), *s = p, *f, *fe;
    size_t k = 0;
    if (d == ' ' || !next_field(d, &s, e, &f, &fe) || f == fe || s > e || !km_table_padding(d, s, (size_t)(e - s)))
        return 0;
    for (; f < fe && k + 1 < 32; f++)
        if (!km_text_blank(*f))
            name[k++] = (char)(*f >= 'A' && *f <= 'Z' ? *f + 32 : *f);
    name[k] = '\0';
    return 1;
}

/* 1 when a level's name says rows, 2 columns, else 0. */
static int level_role(const char *name)
{
    static const char *const ROWS[] = {"row", "rows", "r", "y"}, *const COLS[] = {"col", "cols", "column", "columns",
                                                                                   "c", "x"};
    for (size_t k = 0; k < sizeof ROWS / sizeof *ROWS; k++)
        if (strcmp(name, ROWS[k]) == 0)
            return 1;
    for (size_t k = 0; k < sizeof COLS / sizeof *COLS; k++)
        if (strcmp(name, COLS[k]) == 0)
            return 2;
    return 0;
}

#define LEVELS_HOW                                                                                                  \
    "name them row and col if they number the taxels (df.columns.names = ['row', 'col']), or write one line of " \
    "names (df.columns = range(df.shape[1])) and pass --grid RxC"

int km_table_levels(const km_table_level *a, const km_table_level *b, int64_t *rows, int64_t *cols, char *why,
                    size_t cap)
{
    const int ra = level_role(a->name), rb = level_role(b->name);
    if (a->n < 2 || a->n != b->n || !a->repeats)
        return 0;
    if (ra == 1 && rb == 2 && a->outer && b->inner && a->run == b->period && a->run < a->n) {
        *cols = a->run;
        *rows = a->n / a->run;
        return 1;
    }
    if (ra == 1 && rb == 2)
        snprintf(why, cap, "its levels row and col do not number every taxel once, row by row (line 1 steps up "
                           "every C labels, line 2 counts 0 to C - 1 and again): sort the columns "
                           "(df.sort_index(axis=1)) and give every taxel of the grid a column");
    else if (ra == 2 && rb == 1)
        snprintf(why, cap, "its levels are col and row, the taxels column by column: put the rows first "
                           "(df = df.reorder_levels(['row', 'col'], axis=1).sort_index(axis=1))");
    else if (a->name[0] == '\0' && b->name[0] == '\0')
        snprintf(why, cap, "its levels have no names: " LEVELS_HOW);
    else
        snprintf(why, cap, "its levels are named '%s' and '%s', not row and col: " LEVELS_HOW, a->name, b->name);
    return -1;
}

int km_table_unnamed_levels(const km_table_level *a, const km_table_level *b)
{
    return a->n >= 4 && a->n == b->n && a->outer && b->inner && a->run >= 2 && a->run < a->n &&
           a->run == b->period;
}
