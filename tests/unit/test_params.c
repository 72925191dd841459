/* The parameter table (km_process_param_table): its rows are consistent
 * with km_process_params and with the library's own name parsers, and
 * km_param_value reads the pipeline defaults the header documents. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "knotmap.h"

static const km_param *row(const char *key)
{
    const km_param *d = km_process_param_find(key);
    cr_assert_not_null(d, "no row for %s", key);
    return d;
}

Test(params, rows_are_unique_and_inside_the_struct)
{
    size_t n = 0;
    const km_param *t = km_process_param_table(&n);
    cr_assert_gt(n, 80);
    cr_assert_lt(n, 256 - 4); /* pipeline/result_info.c's bound, less its REMOVED */
    for (size_t i = 0; i < n; i++) {
        cr_expect(t[i].name != NULL || t[i].option != NULL, "row %zu has no name", i);
        cr_expect_not_null(t[i].doc, "row %zu has no doc", i);
        if (!(t[i].flags & KM_PARAM_DERIVED))
            cr_expect_lt(t[i].offset, sizeof(km_process_params), "row %zu", i);
        if (t[i].type == KM_PARAM_ENUM)
            cr_expect_not_null(t[i].names, "enum row %zu without names", i);
        for (size_t k = 0; k < i; k++) {
            if (t[i].name != NULL && t[k].name != NULL)
                cr_expect_str_neq(t[i].name, t[k].name);
            if (t[i].option != NULL && t[k].option != NULL)
                cr_expect_str_neq(t[i].option, t[k].option);
        }
    }
}

Test(params, defaults_read_through_the_table)
{
    km_process_params p;
    km_process_params_default(&p);
    double v;
    const char *s;
    km_param_value(&p, row("peaks_min_distance"), &v, NULL);
    cr_expect_eq(v, 2.0);
    km_param_value(&p, row("threshold-rel"), &v, NULL);
    cr_expect_eq(v, 0.1);
    km_param_value(&p, row("peaks_threshold_abs"), &v, NULL);
    cr_expect(isnan(v));
    km_param_value(&p, row("plateau"), &v, &s);
    cr_expect_eq(v, 1.0);
    cr_expect_str_eq(s, "one");
    km_param_value(&p, row("smooth_border"), NULL, &s);
    cr_expect_str_eq(s, "nearest");
    km_param_value(&p, row("read_units"), NULL, &s);
    cr_expect_str_eq(s, "");
    km_param_value(&p, row("read_mode"), &v, NULL);
    cr_expect_eq(v, -1.0);
    km_param_value(&p, row("block_frames"), &v, NULL);
    cr_expect_eq(v, 256.0);
    km_param_value(&p, row("cand_max_candidates"), &v, NULL);
    cr_expect_eq(v, 100.0);
    km_param_value(&p, row("tare_given"), &v, NULL);
    cr_expect_eq(v, 0.0);
    p.cand.min_snr = 2.5;
    km_param_value(&p, row("cand-min-snr"), &v, NULL);
    cr_expect_eq(v, 2.5);
    cr_expect_null(km_process_param_find("no_such_parameter"));
}

/* The enum names of the table are the ones the library's parsers know. */
Test(params, enum_names_match_the_library)
{
    const km_param *f = row("read_format");
    for (int i = 0; f->names[i] != NULL; i++) {
        km_format out;
        cr_expect_str_eq(km_format_name((km_format)i), f->names[i]);
        cr_expect_eq(km_format_parse(f->names[i], &out), KM_OK);
        cr_expect_eq((int)out, i);
    }
    const km_param *b = row("smooth_border");
    for (int i = 0; b->names[i] != NULL; i++) {
        km_border out;
        cr_expect_eq(km_border_parse(b->names[i], &out), KM_OK);
        cr_expect_eq((int)out, i);
    }
    cr_expect_str_eq(row("plateau")->names[KM_PLATEAU_ONE], "one");
    cr_expect_str_eq(row("calibration")->names[KM_CURVE_HEADER], "header");
    cr_expect_str_eq(row("mode")->names[KM_MODE_ROLLER], "roller");
}

/* --format's help names every format the library parses, in its order (the
   names come from one list; the help's text must follow it). */
Test(params, format_help_lists_every_format)
{
    const km_param *d = row("read_format");
    char want[256] = "";
    for (int i = 0; km_format_name((km_format)i) != NULL; i++) {
        strcat(want, i ? "|" : "");
        strcat(want, km_format_name((km_format)i));
        cr_expect_str_eq(d->names[i], km_format_name((km_format)i));
    }
    const char *at = strstr(d->doc, want);
    cr_expect(at != NULL && (at[strlen(want)] == '\0' || at[strlen(want)] == ' '), "%s vs %s", d->doc, want);
}
