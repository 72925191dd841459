/* The option parser of every command, with GNU getopt_long's rules:
 * options and operands in any order, "--" ends the options, "-" alone is
 * an operand; short options bundle ("-qv", "-oFILE", "-j2"); long options
 * take "--opt=value" or "--opt value" and may be abbreviated to any
 * unambiguous prefix ("--min-prom").  A command lists its own options
 * (km_cli_opt); process and info also take the rows of the parameter
 * table (km_process_param_table) of the sections they name, synth the rows
 * of km_synth_param_table. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define MAX_ENTRIES 256

/* One long or short spelling: a command option (opt) or a table row (row). */
typedef struct entry {
    const char *name;
    char short_name;
    int takes_value;
    const km_cli_opt *opt;
    const km_param *row;
} entry;

int km_cli_takes_row(const km_cli_parser *ps, const km_param *d)
{
    if (ps->pp == NULL || d->option == NULL)
        return 0;
    if (ps->groups == NULL)
        return 1;
    for (size_t g = 0; ps->groups[g] != NULL; g++)
        if (strcmp(ps->groups[g], d->group) == 0)
            return 1;
    return 0;
}

static size_t build(const km_cli_parser *ps, entry *e)
{
    size_t n = 0, n_rows = 0;
    const km_cli_vocab *v = ps->vocab != NULL ? ps->vocab : &km_cli_process_vocab;
    const km_param *t = v->table(&n_rows);
    for (size_t k = 0; k < ps->n_opts && n + 2 <= MAX_ENTRIES; k++) {
        const km_cli_opt *o = &ps->opts[k];
        e[n++] = (entry){o->name, o->short_name, o->metavar != NULL, o, NULL};
        if (o->alias != NULL)
            e[n++] = (entry){o->alias, 0, o->metavar != NULL, o, NULL};
    }
    for (size_t k = 0; k < n_rows && n + 2 <= MAX_ENTRIES; k++) {
        if (!km_cli_takes_row(ps, &t[k]))
            continue;
        int value = t[k].type != KM_PARAM_BOOL;
        e[n++] = (entry){t[k].option, 0, value, NULL, &t[k]};
        if (t[k].alias != NULL)
            e[n++] = (entry){t[k].alias, 0, value, NULL, &t[k]};
    }
    return n;
}

/* Edit distance (insert, delete, substitute, swap two neighbours; case
   ignored) between a[0..n) and b, or 99 beyond 2 or for long words. */
int km_cli_distance(const char *a, size_t n, const char *b)
{
    enum { W = 48 };
    size_t m = strlen(b);
    int d[W + 1][W + 1];
    if (n > W || m > W || (n > m ? n - m : m - n) > 2)
        return 99;
    for (size_t i = 0; i <= n; i++)
        for (size_t j = 0; j <= m; j++) {
            if (i == 0 || j == 0) {
                d[i][j] = (int)(i + j);
                continue;
            }
            int sub = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            int v = d[i - 1][j - 1] + sub;
            v = d[i - 1][j] + 1 < v ? d[i - 1][j] + 1 : v;
            v = d[i][j - 1] + 1 < v ? d[i][j - 1] + 1 : v;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[n][m] <= 2 ? d[n][m] : 99;
}

/* The long name nearest to text[0..len) (at most 2 edits), or NULL. */
static const char *nearest(const entry *e, size_t n, const char *text, size_t len)
{
    const char *best = NULL;
    int best_d = 3;
    for (size_t k = 0; k < n; k++) {
        int d = e[k].name != NULL ? km_cli_distance(text, len, e[k].name) : 99;
        if (d < best_d) {
            best_d = d;
            best = e[k].name;
        }
    }
    return best;
}

static int same_target(const entry *a, const entry *b)
{
    return a->opt == b->opt && a->row == b->row;
}

/* word[0..len) is within one edit of a prefix of b (b's first len-1 to
 * len+1 letters); exactly a prefix when under 3 letters. */
static int near_prefix(const char *word, size_t len, const char *b, size_t m)
{
    char pre[50];
    if (len < 3 || len >= sizeof pre - 1)
        return len <= m && len < sizeof pre - 1 && strncmp(word, b, len) == 0;
    for (size_t l = len - 1; l <= len + 1 && l <= m; l++) {
        memcpy(pre, b, l);
        pre[l] = '\0';
        if (km_cli_distance(word, len, pre) <= 1)
            return 1;
    }
    return 0;
}

/* Every word of text[0..len) ('-' apart) near a prefix of its own word of
 * name, in any order ("--thresh-abs", "--abs-thresh", "--cand-thresh" for
 * "--cand-seen-threshold"). */
static int words_match(const char *text, size_t len, const char *name)
{
    enum { WORDS = 8 };
    const char *w[WORDS];
    size_t wl[WORDS], n_words = 0;
    int used = 0;
    for (const char *c = name; n_words < WORDS;) {
        size_t l = strcspn(c, "-");
        w[n_words] = c;
        wl[n_words++] = l;
        if (c[l] == '\0')
            break;
        c += l + 1;
    }
    for (size_t i = 0; i < len;) {
        size_t l = 0, k = 0;
        while (i + l < len && text[i + l] != '-')
            l++;
        while (k < n_words && ((used >> k & 1) || !near_prefix(text + i, l, w[k], wl[k])))
            k++;
        if (l == 0 || k == n_words)
            return 0;
        used |= 1 << k;
        i += l + 1;
    }
    return 1;
}

/* A near miss of an abbreviation: the options (up to 3, one name each)
 * whose first len-1..len+1 letters are one edit from text[0..len)
 * ("--treshold"), else those whose words it abbreviates ("--thresh-abs");
 * their number, 0 for a text under 4 letters. */
static int near_prefixes(const entry *e, size_t n, const char *text, size_t len, const entry **out)
{
    int found = 0;
    for (int pass = 0; pass < 2 && found == 0; pass++)
        for (size_t k = 0; k < n && found < 3 && len >= 4 && len < 49; k++) {
            if (e[k].name == NULL)
                continue;
            int hit = pass == 0 ? near_prefix(text, len, e[k].name, strlen(e[k].name))
                                : words_match(text, len, e[k].name);
            for (int j = 0; j < found && hit; j++)
                hit = !same_target(out[j], &e[k]);
            if (hit)
                out[found++] = &e[k];
        }
    return found;
}

/* "unknown option '--TEXT'", with the options it may have meant. */
static void unknown_long(const km_cli_parser *ps, const entry *e, size_t n, const char *text,
                         size_t len)
{
    const entry *near[3];
    const char *one = nearest(e, n, text, len);
    int k = one != NULL ? 0 : near_prefixes(e, n, text, len, near);
    if (one != NULL)
        km_cli_usage(ps->cmd, "unknown option '--%.*s' (did you mean '--%s'?)", (int)len, text, one);
    else if (k == 0)
        km_cli_usage(ps->cmd, "unknown option '--%.*s'", (int)len, text);
    else
        km_cli_usage(ps->cmd, "unknown option '--%.*s' (did you mean '--%s'%s%s%s%s%s%s?)", (int)len,
                     text, near[0]->name, k > 2 ? ", '--" : k > 1 ? " or '--" : "",
                     k > 1 ? near[1]->name : "", k > 1 ? "'" : "", k > 2 ? " or '--" : "",
                     k > 2 ? near[2]->name : "", k > 2 ? "'" : "");
}

/* The entry for "--text" (name up to '=' or the end): an exact name, else
 * the one option all names starting with it belong to.  NULL after
 * printing the usage error. */
static const entry *find_long(const km_cli_parser *ps, const entry *e, size_t n, const char *text,
                              size_t len)
{
    const entry *hit = NULL;
    int ambiguous = 0;
    for (size_t k = 0; k < n; k++) {
        if (e[k].name == NULL || strncmp(e[k].name, text, len) != 0)
            continue;
        if (e[k].name[len] == '\0')
            return &e[k];
        if (hit != NULL && !same_target(hit, &e[k]))
            ambiguous = 1;
        if (hit == NULL)
            hit = &e[k];
    }
    if (hit != NULL && !ambiguous)
        return hit;
    if (hit == NULL) {
        unknown_long(ps, e, n, text, len);
        return NULL;
    }
    fprintf(stderr, "knotmap: %s: option '--%.*s' is ambiguous; possibilities:", ps->cmd,
            (int)len, text);
    for (size_t k = 0; k < n; k++)
        if (e[k].name != NULL && strncmp(e[k].name, text, len) == 0)
            fprintf(stderr, " '--%s'", e[k].name);
    fprintf(stderr, "\nTry 'knotmap %s --help'.\n", ps->cmd);
    return NULL;
}

/* Hand one option and its value to the table or the command. */
static int deliver(km_cli_parser *ps, const entry *en, const char *value)
{
    if (en->row != NULL) {
        if (km_cli_param_set(ps->cmd, ps->pp, en->row, value) != 0)
            return KM_EX_USAGE;
        if (ps->on_row != NULL)
            ps->on_row(ps->user, en->row);
        return KM_EX_OK;
    }
    if (en->opt->id == KM_CLI_HELP) {
        km_cli_help(ps);
        return KM_CLI_DONE;
    }
    return ps->on_option(ps->user, en->opt->id, value);
}

static int long_option(km_cli_parser *ps, const entry *e, size_t n, int argc, char **argv,
                       int *i)
{
    const char *a = argv[*i] + 2, *eq = strchr(a, '=');
    size_t len = eq != NULL ? (size_t)(eq - a) : strlen(a);
    const entry *en = find_long(ps, e, n, a, len);
    if (en == NULL)
        return KM_EX_USAGE;
    const char *name = en->row != NULL ? en->row->option : en->opt->name;
    if (!en->takes_value) {
        if (eq != NULL)
            return km_cli_usage(ps->cmd, "--%s takes no value", name);
        return deliver(ps, en, NULL);
    }
    if (eq != NULL)
        return deliver(ps, en, eq + 1);
    if (*i + 1 >= argc)
        return km_cli_usage(ps->cmd, "--%s needs a value", name);
    *i += 1;
    return deliver(ps, en, argv[*i]);
}

/* "-qv", "-oFILE", "-o FILE". */
static int short_options(km_cli_parser *ps, const entry *e, size_t n, int argc, char **argv,
                         int *i)
{
    for (const char *c = argv[*i] + 1; *c != '\0'; c++) {
        const entry *en = NULL;
        for (size_t k = 0; k < n && en == NULL; k++)
            if (e[k].short_name == *c)
                en = &e[k];
        if (en == NULL && c == argv[*i] + 1 && c[1] != '\0') {
            /* "-sigma": a long option written with one dash? */
            size_t len = strcspn(c, "=");
            const char *near = nearest(e, n, c, len);
            if (near != NULL)
                return km_cli_usage(ps->cmd, "unknown option '-%c' in '%s' (long options take two dashes: "
                                    "'--%s')", *c, argv[*i], near);
        }
        if (en == NULL)
            return km_cli_usage(ps->cmd, "unknown option '-%c'", *c);
        int rc;
        if (!en->takes_value) {
            if ((rc = deliver(ps, en, NULL)) != KM_EX_OK)
                return rc;
            continue;
        }
        if (c[1] != '\0')
            return deliver(ps, en, c + 1);
        if (*i + 1 >= argc)
            return km_cli_usage(ps->cmd, "-%c needs a value", *c);
        *i += 1;
        return deliver(ps, en, argv[*i]);
    }
    return KM_EX_OK;
}

int km_cli_parse(km_cli_parser *ps, int argc, char **argv)
{
    entry e[MAX_ENTRIES];
    size_t n = build(ps, e);
    int options_done = 0, rc = KM_EX_OK;
    ps->n_operands = 0;
    for (int i = 1; i < argc && rc == KM_EX_OK; i++) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || a[1] == '\0') {
            if (ps->max_operands == 0)
                return km_cli_usage(ps->cmd, "unexpected argument '%s'", a);
            if (ps->n_operands >= ps->max_operands)
                return km_cli_usage(ps->cmd, "one %s at a time ('%s' and '%s')",
                                    ps->operand_name, ps->operands[0], a);
            ps->operands[ps->n_operands++] = a;
        } else if (strcmp(a, "--") == 0) {
            options_done = 1;
        } else if (a[1] == '-') {
            rc = long_option(ps, e, n, argc, argv, &i);
        } else {
            rc = short_options(ps, e, n, argc, argv, &i);
        }
    }
    return rc;
}
