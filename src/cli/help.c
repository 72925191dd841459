/* Help texts: the command's usage line, then its options and the rows of
 * the parameter table it takes, section by section, each with its default
 * (read from the table struct's *_default(), never written here). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define DOC_COLUMN 25
#define WIDTH 79

/* Print `text` from column `col`, wrapped at WIDTH, continuation lines at DOC_COLUMN. */
static void wrapped(const char *text, int col)
{
    const char *p = text;
    while (*p != '\0') {
        int room = WIDTH - col;
        size_t len = strlen(p);
        if ((int)len > room) {
            size_t cut = (size_t)room;
            while (cut > 0 && p[cut] != ' ')
                cut--;
            if (cut == 0)
                cut = strcspn(p, " ");
            len = cut;
        }
        printf("%.*s\n", (int)len, p);
        p += len;
        while (*p == ' ')
            p++;
        if (*p != '\0')
            printf("%*s", DOC_COLUMN, "");
        col = DOC_COLUMN;
    }
}

/* An option's head: "-o, --output OUT", and its older name after it
   ("--no-overwrite, --no-clobber": both are accepted, so both are shown). */
static void line(char short_name, const char *name, const char *alias, const char *metavar,
                 const char *doc)
{
    char head[96];
    int n = snprintf(head, sizeof head, "  %c%c%s--%s%s%s%s%s", short_name ? '-' : ' ',
                     short_name ? short_name : ' ', short_name ? ", " : "  ", name,
                     alias != NULL ? ", --" : "", alias != NULL ? alias : "",
                     metavar != NULL ? " " : "", metavar != NULL ? metavar : "");
    if (n < 0)
        return;
    if (n >= DOC_COLUMN - 1) {
        printf("%s\n%*s", head, DOC_COLUMN, "");
    } else {
        printf("%-*s", DOC_COLUMN, head);
    }
    wrapped(doc, DOC_COLUMN);
}

/* The row's doc with its default appended as " [X]" unless the doc says it. */
static void row_line(const km_param *d, const void *def)
{
    char dflt[48] = "";
    double v;
    const char *s;
    km_param_value(def, d, &v, &s);
    if (d->type == KM_PARAM_GRID && strchr(d->doc, '[') == NULL) { /* both fields, when set */
        int32_t r, c;
        memcpy(&r, (const char *)def + d->offset, sizeof r);
        memcpy(&c, (const char *)def + d->offset2, sizeof c);
        if (r > 0 && c > 0)
            snprintf(dflt, sizeof dflt, " [%dx%d]", (int)r, (int)c);
    }
    int shown = strchr(d->doc, '[') == NULL && d->type != KM_PARAM_BOOL &&
                d->type != KM_PARAM_STRING && d->type != KM_PARAM_PAIR &&
                d->type != KM_PARAM_GRID;
    if (shown && d->type == KM_PARAM_ENUM && s != NULL && strcmp(s, "unknown") != 0)
        snprintf(dflt, sizeof dflt, " [%s]", s);
    else if (shown && d->type != KM_PARAM_ENUM && isfinite(v))
        snprintf(dflt, sizeof dflt, " [%.10g]", v);
    /* sized to the doc: a fixed buffer cut --time-axis's 390 characters */
    size_t len = strlen(d->doc) + strlen(dflt) + 1;
    char *doc = malloc(len);
    if (doc != NULL)
        snprintf(doc, len, "%s%s", d->doc, dflt);
    line(0, d->option, d->alias, d->metavar, doc != NULL ? doc : d->doc);
    free(doc);
}

static int section_is(const char *want, const char *title)
{
    return want != NULL && strncmp(title, want, strlen(want)) == 0;
}

static void command_options(const km_cli_parser *ps, const char *title)
{
    for (size_t k = 0; k < ps->n_opts; k++) {
        const km_cli_opt *o = &ps->opts[k];
        if (o->doc != NULL && (title == NULL ? o->section == NULL : section_is(o->section, title)))
            line(o->short_name, o->name, o->alias, o->metavar, o->doc);
    }
}

/* The help sections: the vocabulary's order, else the rows' (first mention). */
static size_t row_groups(const km_cli_vocab *v, const km_param *t, size_t n_rows,
                         const char **out, size_t max)
{
    size_t n = 0;
    if (v->groups != NULL) {
        const char *const *g = v->groups(&n);
        n = n < max ? n : max;
        memcpy(out, g, n * sizeof *out);
        return n;
    }
    for (size_t k = 0; k < n_rows; k++) {
        size_t j = 0;
        while (j < n && strcmp(out[j], t[k].group) != 0)
            j++;
        if (j == n && n < max)
            out[n++] = t[k].group;
    }
    return n;
}

void km_cli_help(const km_cli_parser *ps)
{
    size_t n_rows = 0;
    const km_cli_vocab *v = ps->vocab != NULL ? ps->vocab : &km_cli_process_vocab;
    const km_param *t = v->table(&n_rows);
    const char *groups[32];
    size_t n_groups = row_groups(v, t, n_rows, groups, sizeof groups / sizeof groups[0]);
    const void *def = v->defaults();
    fputs(ps->usage, stdout);
    command_options(ps, NULL);
    for (size_t g = 0; g < n_groups; g++) {
        int any = 0;
        for (size_t k = 0; k < ps->n_opts; k++)
            any |= section_is(ps->opts[k].section, groups[g]);
        for (size_t k = 0; k < n_rows; k++)
            any |= km_cli_takes_row(ps, &t[k]) && strcmp(t[k].group, groups[g]) == 0;
        if (!any)
            continue;
        printf("\n%s:\n", groups[g]);
        command_options(ps, groups[g]);
        for (size_t k = 0; k < n_rows; k++)
            if (km_cli_takes_row(ps, &t[k]) && strcmp(t[k].group, groups[g]) == 0)
                row_line(&t[k], def);
    }
    if (ps->footer != NULL)
        printf("\n%s", ps->footer);
}
