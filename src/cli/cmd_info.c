/* knotmap info INPUT...: what a reader sees in a file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const CMD = "info";

/* Values (frames x taxels) info reads to count nan and inf without --scan:
 * 64 MiB of float32, 164 s of a 32 x 32 session at 100 Hz; a fraction of a
 * second for an HDF5 session (docs/CLI.md). */
#define INFO_VALUES 16777216
#define STR_(x) #x
#define STR(x) STR_(x)

enum { O_DEADLINE = 1, O_SCAN };

typedef struct info_opts {
    double deadline;
    int scan;
} info_opts;

static const km_cli_opt OPTS[] = {
    KM_CLI_OPT_DEADLINE_READ(O_DEADLINE), /* info's own, above the input options */
    {"scan", 0, NULL,
     "read every frame: count every nan and inf, and refuse a file damaged anywhere [the "
     "frames that hold the first " STR(INFO_VALUES) " values]",
     NULL, NULL, O_SCAN},
    KM_CLI_OPT_HELP(NULL),
};

static const char USAGE[] =
    "Usage: knotmap info [OPTION]... INPUT...\n"
    "Print the geometry, frame count, rate, units, format, mask, what was assumed,\n"
    "the nan and inf values (counted in the frames that hold the first " STR(INFO_VALUES) "\n"
    "values; every frame with --scan) and the source header of each INPUT as\n"
    "knotmap reads it.  A knotmap result is summarised instead: its session, what\n"
    "was assumed, the parameters that differ from the defaults, the table sizes,\n"
    "whether every taxel was in contact in every frame, and the best candidates.\n"
    "INPUT: any file process reads (.h5, .asf, .csv, text, audio, .mat, .npy,\n"
    ".npz; docs/FORMAT.md 1).  A pipe is refused (66).\n\n";

static const char FOOTER[] =
    "A value the file lacks and no option gives is assumed (1 Hz, 1 mm, raw, mat)\n"
    "with a warning on stderr, and listed on the 'assumed:' line (by process: in\n"
    "the result's /session attribute 'assumed').\n"
    "\nExit status: 0 ok, 64 usage, 65 bad input data, 66 input missing (or a pipe),\n"
    "69 libsndfile cannot be loaded (an audio input),\n" KM_CLI_EXIT_70_71 ",\n"
    "74 I/O error, 75 --deadline exceeded; with several INPUTs, the first failure's.\n";

static int on_option(void *user, int id, const char *value)
{
    info_opts *o = user;
    if (id == O_SCAN) {
        o->scan = 1;
        return KM_EX_OK;
    }
    if (id != O_DEADLINE)
        return KM_EX_SOFTWARE; /* info has no other option of its own but --help */
    return km_cli_deadline_arg(CMD, value, &o->deadline);
}

static const char *or_none(const char *s)
{
    return s[0] != '\0' ? s : "nothing";
}

/* The column of /candidates called `name`, -1 if absent. */
static int best_col(const km_result_info *ri, const char *name)
{
    for (int k = 0; k < ri->n_best_cols; k++)
        if (strcmp(ri->best[k].name, name) == 0)
            return k;
    return -1;
}

static void show_best(const km_result_info *ri)
{
    static const char *const want[] = {"x_mm",         "y_mm",        "score",    "amplitude",
                                       "significance", "persistence", "n_passes", "size_mm",
                                       "prominence"};
    int cols[sizeof want / sizeof want[0]], n = 0;
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
        if ((cols[n] = best_col(ri, want[k])) >= 0)
            n++;
    printf("best candidates (of %lld, by score):\n    %2s", (long long)ri->n_candidates, "#");
    for (int c = 0; c < n; c++) {
        char head[sizeof ri->best[0].name + sizeof ri->best[0].units + 3]; /* "NAME (UNITS)" */
        const char *u = ri->best[cols[c]].units;
        snprintf(head, sizeof head, "%s%s%s%s", ri->best[cols[c]].name, u[0] != '\0' ? " (" : "",
                 u, u[0] != '\0' ? ")" : "");
        printf(" %14s", head);
    }
    printf("\n");
    for (int r = 0; r < ri->n_best; r++) {
        printf("    %2d", r + 1);
        for (int c = 0; c < n; c++)
            printf(" %14.6g", ri->best[cols[c]].v[r]);
        printf("\n");
    }
}

/* The session's nan and inf values, when there were any; and when not every
 * frame was read (n_read frames, without --scan), how far the count goes. */
static void print_nonfinite(const km_session_info *in, int all, int64_t n_read)
{
    if (in->n_nonfinite <= 0 && all)
        return;
    if (in->n_nonfinite <= 0)
        printf("non-finite:   none");
    else
        printf("non-finite:   %lld value%s (nan or inf; %s %s", (long long)in->n_nonfinite,
               in->n_nonfinite == 1 ? "" : "s", in->n_nonfinite == 1 ? "at" : "the first at",
               in->nonfinite_at);
    if (in->n_fill > 0)
        printf("; %lld the file's _FillValue", (long long)in->n_fill);
    if (in->n_nonfinite > 0)
        printf(")");
    if (!all)
        printf(" in the first %lld frames: the rest not read (--scan reads every frame)", (long long)n_read);
    printf("\n");
}

/* A knotmap result: what was read, how, what was assumed, what came out. */
/* A result's own text (written by whoever wrote the file) cleaned in place
 * before it is printed (km_cli_clean; cut to its field). */
static void clean_text(char *s, size_t cap)
{
    char raw[1024];
    size_t n = strlen(s) < sizeof raw ? strlen(s) : sizeof raw - 1;
    memcpy(raw, s, n);
    raw[n] = '\0';
    km_cli_clean(raw, s, cap);
}

static void clean_result(km_result_info *ri)
{
#define CLEAN(field) clean_text(field, sizeof field)
    CLEAN(ri->knotmap_version);
    CLEAN(ri->created_utc);
    CLEAN(ri->command_line);
    CLEAN(ri->source_path);
    CLEAN(ri->session.units);
    CLEAN(ri->session.assumed);
    for (int k = 0; k < ri->n_changed; k++) {
        CLEAN(ri->changed[k].name);
        CLEAN(ri->changed[k].value);
        CLEAN(ri->changed[k].dflt);
    }
    for (int c = 0; c < ri->n_best_cols; c++) {
        CLEAN(ri->best[c].name);
        CLEAN(ri->best[c].units);
    }
#undef CLEAN
}

static int show_result(km_ctx *ctx, const char *path)
{
    km_result_info *ri = malloc(sizeof *ri);
    if (ri == NULL) {
        km_cli_error("out of memory");
        return KM_EX_OSERR;
    }
    km_status st = km_result_info_read(ctx, path, ri);
    if (st != KM_OK) {
        free(ri);
        return km_cli_report(ctx, st, path, NULL);
    }
    clean_result(ri);
    const km_session_info *in = &ri->session;
    const char *fmt = km_format_name(in->format);
    printf("file:         %s\n", path);
    printf("kind:         knotmap result%s, written by knotmap %s at %s\n",
           ri->complete ? "" : " (INCOMPLETE: the writer did not finish)", ri->knotmap_version,
           ri->created_utc);
    if (ri->command_line[0] != '\0')
        printf("command:      %s\n", ri->command_line);
    printf("source:       %s (%s)\n", ri->source_path, fmt != NULL ? fmt : "?");
    printf("grid:         %d x %d taxels (rows x cols), pitch %.6g x %.6g mm\n", (int)in->rows,
           (int)in->cols, in->row_pitch_mm, in->col_pitch_mm);
    printf("frames:       %lld at %.6g Hz (%.6g s)\n", (long long)in->n_frames, in->frame_rate_hz,
           in->frame_rate_hz > 0 ? (double)in->n_frames / in->frame_rate_hz : 0.0);
    printf("units:        %s\n", in->units);
    printf("mode:         %s", in->mode == KM_MODE_ROLLER ? "roller" : "mat");
    if (in->mode == KM_MODE_ROLLER && in->roller_radius_mm > 0)
        printf(", radius %.6g mm", in->roller_radius_mm);
    printf("\nassumed:      %s\n", or_none(in->assumed));
    for (const char *p = in->assumed; *p != '\0';) {
        size_t len = strcspn(p, ",");
        char what[512];
        km_assumed_sentence(in, p, len, what, sizeof what);
        if (km_assumed_text(p, len) != NULL)
            printf("  %s\n", what);
        p += len + (p[len] == ',');
    }
    print_nonfinite(in, 1, 0);
    printf("parameters:   %d differ from the defaults%s\n", (int)ri->n_changed,
           ri->n_changed > 0 ? ":" : "");
    for (int k = 0; k < ri->n_changed; k++)
        printf("  %s = %s (default %s)\n", ri->changed[k].name, ri->changed[k].value,
               ri->changed[k].dflt);
    printf("tables:       %lld peaks, %lld tracks, %lld candidates\n", (long long)ri->n_peaks,
           (long long)ri->n_tracks, (long long)ri->n_candidates);
    if (isfinite(ri->cand_seen_threshold_used) && isfinite(ri->cand_map_noise))
        printf("seen:         the candidates' passes counted at %.4g %s (the candidate map's "
               "noise: %.3g %s)\n", /* docs/ALGORITHMS.md 10 step 3 */
               ri->cand_seen_threshold_used, in->units, ri->cand_map_noise, in->units);
    else if (isfinite(ri->cand_seen_threshold_used))
        printf("seen:         no candidate map (no contact)\n");
    if (ri->all_contact) /* as process's summary says it (cmd_process.c) */
        printf("contact:      every taxel above the contact threshold (%g) in %s: the contact "
               "area is the whole sheet (/metrics flags ALL_CONTACT); if the unloaded sheet "
               "reads above %g, process again with --contact-threshold V above its floor or "
               "--tare N\n",
               ri->contact_threshold, in->n_frames == 1 ? "the frame" : "every frame",
               ri->contact_threshold);
    if (ri->n_best > 0)
        show_best(ri);
    free(ri);
    return KM_EX_OK;
}

static int show(km_ctx *ctx, const char *path, const km_read_options *ro, const info_opts *o,
                int first)
{
    double deadline = o->deadline;
    km_reader *r = NULL;
    km_session_info in;
    int is_result = 0, probe = km_cli_probe(path, ro, deadline, &is_result, 0);
    if (probe != KM_EX_OK)
        return probe;
    if (is_result < 0 && km_is_result_file(ctx, path, &is_result) != KM_OK)
        is_result = 0;
    if (is_result) {
        if (!first)
            printf("\n");
        return show_result(ctx, path);
    }
    km_status st = km_reader_open(ctx, path, ro, &r);
    if (st != KM_OK)
        return km_cli_report(ctx, st, path, NULL);
    int all = 1;
    int64_t n_read = 0;
    /* the nan and inf values, as process counts them */
    st = km_reader_scan_at_most(ctx, r, o->scan ? 0 : INFO_VALUES, &in, &n_read, &all);
    if (st != KM_OK) {
        km_reader_free(r);
        return km_cli_report(ctx, st, path, NULL);
    }
    int32_t taxels = in.rows * in.cols;
    const char *fmt = km_format_name(in.format);
    if (!first)
        printf("\n");
    printf("file:         %s\n", path);
    printf("format:       %s\n", fmt != NULL ? fmt : "?");
    printf("grid:         %d x %d taxels (rows x cols)\n", (int)in.rows, (int)in.cols);
    printf("pitch:        %.6g x %.6g mm\n", in.row_pitch_mm, in.col_pitch_mm);
    if (in.n_frames >= 0)
        printf("frames:       %lld\n", (long long)in.n_frames);
    else
        printf("frames:       unknown until read\n");
    printf("rate:         %.6g Hz\n", in.frame_rate_hz);
    if (in.n_frames >= 0 && in.frame_rate_hz > 0.0)
        printf("duration:     %.6g s\n", (double)in.n_frames / in.frame_rate_hz);
    printf("units:        %s\n", in.units);
    printf("mode:         %s\n", in.mode == KM_MODE_ROLLER ? "roller" : "mat");
    if (in.mode == KM_MODE_ROLLER)
        printf("roller:       radius %.6g mm\n", in.roller_radius_mm);
    if (isfinite(in.saturation) && in.saturation > 0.0) /* in the units read */
        printf("saturation:   %.6g %s\n", in.saturation, in.units);
    else /* +inf: km_session_info's "unknown" */
        printf("saturation:   unknown (the file gives none)\n");
    printf("mask:         %d valid, %d masked of %d taxels\n", (int)in.n_valid,
           (int)(taxels - in.n_valid), (int)taxels);
    printf("assumed:      %s\n", in.assumed[0] != '\0' ? in.assumed : "nothing");
    print_nonfinite(&in, all, n_read);
    km_cli_warn_assumed(path, &in);
    km_cli_warn_nonfinite(path, &in);
    size_t nh = km_reader_header_count(r);
    printf("header:       %zu key%s\n", nh, nh == 1 ? "" : "s");
    for (size_t i = 0; i < nh; i++) {
        const char *k = NULL, *v = NULL;
        char ck[1024], cv[4096]; /* the file's own text: cleaned for the terminal */
        km_reader_header_get(r, i, &k, &v);
        printf("  %s = %s\n", km_cli_clean(k != NULL ? k : "", ck, sizeof ck),
               km_cli_clean(v != NULL ? v : "", cv, sizeof cv));
    }
    km_reader_free(r);
    return KM_EX_OK;
}

int km_cmd_info(int argc, char **argv)
{
    km_process_params pp;
    int rc = KM_EX_OK;
    info_opts o = {0.0, 0};
    km_ctx *ctx = NULL;
    const char *groups[] = {km_process_param_find("format")->group, NULL};
    const char **inputs = calloc((size_t)argc + 1, sizeof *inputs);

    if (inputs == NULL) {
        km_cli_error("out of memory");
        return KM_EX_OSERR;
    }
    km_process_params_default(&pp);
    km_cli_parser ps = {CMD,     USAGE,  FOOTER, OPTS, sizeof OPTS / sizeof OPTS[0], &pp,
                        groups, on_option, &o, inputs, argc, "INPUT", 0, NULL, NULL};
    rc = km_cli_parse(&ps, argc, argv);
    if (rc == KM_EX_OK && ps.n_operands == 0)
        rc = km_cli_usage(CMD, "no input file given");
    if (rc == KM_EX_OK && km_ctx_create(&ctx) != KM_OK) {
        km_cli_error("out of memory");
        rc = KM_EX_OSERR;
    }
    if (rc == KM_EX_OK && km_cli_deadline_begin(o.deadline) != 0) {
        km_cli_error("cannot set the --deadline timer");
        rc = KM_EX_OSERR;
    }
    int first_failure = KM_EX_OK;
    for (int i = 0; rc == KM_EX_OK && i < ps.n_operands; i++) {
        km_cli_deadline_enter(0, inputs[i]);
        int r = show(ctx, inputs[i], &pp.read, &o, i == 0);
        km_cli_deadline_enter(0, NULL);
        if (r != KM_EX_OK && first_failure == KM_EX_OK)
            first_failure = r;
        km_ctx_clear_error(ctx);
    }
    if (rc == KM_EX_OK) {
        km_cli_deadline_end();
        rc = first_failure;
    }
    fflush(stdout);
    km_ctx_free(ctx);
    free(inputs);
    return rc == KM_CLI_DONE ? KM_EX_OK : rc;
}
