/* knotmap process INPUT... [-o OUT]: one result HDF5 per input. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define MAX_JOBS KM_CLI_MAX_SLOTS

static const char *const CMD = "process";

typedef struct job {
    const char *input;
    char *output;
    km_status status;
    int exit_code;
    km_process_summary summary;
} job;

typedef struct shared {
    job *jobs;
    int n_jobs;
    atomic_int next;
    const km_process_params *pp;
    int quiet, verbose, print_now, progress, resume, replace_incomplete;
    double deadline;
    pthread_mutex_t print_lock;
} shared;

static void help(void)
{
    printf("Usage: knotmap process [OPTION]... INPUT... [-o OUT]\n"
           "Condition each INPUT, find its pressure peaks (knot candidates), compute\n"
           "per-frame metrics and write a knotmap result HDF5 (docs/FORMAT.md 2.1).\n"
           "\n"
           "Output:\n"
           "  -o, --output OUT       one INPUT: the result file; several INPUTs, an existing\n"
           "                         folder or OUT ending in '/': a folder (made if missing)\n"
           "                         holding <input stem>.knotmap.h5 per input\n"
           "                         [<input stem>.knotmap.h5 in the current folder]\n"
           "      --save-frames      also write /frames/conditioned [off]\n"
           "      --no-overwrite     never replace an existing result [replace results;\n"
           "                         any other existing file is never replaced]\n"
           "      --resume           skip inputs whose result is already complete; any\n"
           "                         other file under a result name (complete = 0,\n"
           "                         damaged, foreign) is an error (73), not replaced [off]\n"
           "      --replace-incomplete  with --resume: remake a knotmap result whose\n"
           "                         complete attribute is not 1 [off]\n"
           "\n");
    printf("%s\n", km_cli_read_help);
    printf("Conditioning (values in the result units: kPa for pressure sessions):\n"
           "  --offset V             subtracted from every value first [0]\n"
           "  --gain G               multiplied after [1]\n"
           "  --noise-threshold V    values below V become 0 [0 = off]\n"
           "  --sigma S|RxC          Gaussian smoothing sigma in taxels [0 = off]\n"
           "  --contact-threshold V  a taxel is in contact when above V [0]\n"
           "\n");
    printf("%s\n", km_cli_condition_help);
    printf("Peaks (docs/ALGORITHMS.md section 3):\n"
           "  --min-distance R       window radius, taxels [2]\n"
           "  --threshold-abs V      peaks must exceed V [minimum of the frame]\n"
           "  --threshold-rel F      ... and F times the frame maximum [0.1]\n"
           "  --exclude-border B     drop peaks within B taxels of the edge [0]\n"
           "  --plateau all|one      every plateau taxel, or one per plateau [one]\n"
           "  --min-prominence V     drop peaks less prominent than V [0]\n"
           "\n");
    printf("Tracking and knot candidates (docs/ALGORITHMS.md 7, 9, 10; values in the\n"
           "result units, distances in mm):\n"
           "  --track-gate-mm D      a peak continues a track within D mm [15]\n"
           "  --track-max-gap N      frames a track may miss [2]\n"
           "  --cand-min-snr K       threshold on the significance (z) [4]\n"
           "  --cand-min-prominence V  floor on the fitted knot amplitude [4]\n"
           "  --cand-knot-sigma-mm S one footprint sigma, 0 = search the range [0]\n"
           "  --cand-min-sigma-mm S, --cand-max-sigma-mm S  footprint sigmas searched [3, 15]\n"
           "  --cand-ridge-half-rows N  remove ridges along y (median of +-N cells),\n"
           "                         0 = off [4]\n"
           "  --cand-background-half-cols N  row median window for the excess [4]\n"
           "  --cand-seen-threshold V  a pass sees a cell at this excess [8]\n"
           "  --cand-min-persistence F  share of covering passes that saw it [0.3]\n"
           "  --cand-min-distance N  peak window radius on the map, cells [2]\n"
           "  --cand-min-coverage N  passes a cell needs [2]\n"
           "  --cand-max-candidates N  keep the best N, -1 = all [100]\n"
           "  --cand-stuck-frames N  a taxel repeating a value N frames is ignored,\n"
           "                         0 = off [25]\n"
           "  --cand-contact-half-rows N  roller: rows around the contact row [1]\n"
           "  --cand-contact-threshold V  mat: contact above V [5]\n"
           "  --cand-pass-gap-frames N  untouched frames that end a pass [5]\n"
           "  --odometry-lift-threshold V  roller lifted below V [5]\n"
           "\n"
           "Run:\n"
           "  --block-frames N       frames read per block [256]\n"
           "  -j, --jobs N           sessions processed in parallel [1]\n"
           "  --threads N            threads within each session (peak detection) [1]\n"
           "      --deadline S       an input still in work after S seconds ends the run\n"
           "                         at once: temporaries removed, exit 75 [off]\n"
           "  -q, --quiet            no summary, no progress\n"
           "  -v, --verbose          also print the output paths and parameters\n"
           "  -h, --help             show this help and exit\n"
           "\n"
           "Exit status: 0 ok, 64 usage, 65 bad input data, 66 input missing, 73 output\n"
           "cannot be created, 74 I/O error, 75 --deadline exceeded, 130/143 interrupted\n"
           "(SIGINT/SIGTERM; a second one stops at once).\n");
}

/* Basename without its last extension ("a/b/FrasP01L.asf" -> "FrasP01L"). */
static char *stem_of(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    size_t n = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot != NULL && dot != base)
        n = (size_t)(dot - base);
    if (n == 0)
        n = strlen(base);
    char *s = malloc(n + 1);
    if (s != NULL) {
        memcpy(s, base, n);
        s[n] = '\0';
    }
    return s;
}

static char *join_output(const char *folder, const char *input)
{
    char *stem = stem_of(input);
    if (stem == NULL)
        return NULL;
    size_t n = (folder != NULL ? strlen(folder) + 1 : 0) + strlen(stem) + sizeof ".knotmap.h5";
    char *s = malloc(n);
    if (s != NULL) {
        if (folder == NULL)
            snprintf(s, n, "%s.knotmap.h5", stem);
        else if (folder[strlen(folder) - 1] == '/')
            snprintf(s, n, "%s%s.knotmap.h5", folder, stem);
        else
            snprintf(s, n, "%s/%s.knotmap.h5", folder, stem);
    }
    free(stem);
    return s;
}

static int progress_cb(void *user, int64_t done, int64_t total)
{
    const job *j = user;
    if (total > 0)
        fprintf(stderr, "\rknotmap: %s: %lld/%lld frames (%d%%)", j->input, (long long)done,
                (long long)total, (int)(100.0 * (double)done / (double)total));
    else
        fprintf(stderr, "\rknotmap: %s: %lld frames", j->input, (long long)done);
    fflush(stderr);
    return 0;
}

static void print_summary(const job *j)
{
    const km_process_summary *s = &j->summary;
    const km_session_info *in = &s->info;
    double dur = in->frame_rate_hz > 0.0 ? (double)s->n_frames / in->frame_rate_hz : NAN;
    printf("%s -> %s\n", j->input, j->output);
    printf("  %lld frames, %.3g s at %.6g Hz, %dx%d taxels (%.4g x %.4g mm), units %s, %s\n",
           (long long)s->n_frames, dur, in->frame_rate_hz, (int)in->rows, (int)in->cols,
           in->row_pitch_mm, in->col_pitch_mm, in->units,
           in->mode == KM_MODE_ROLLER ? "roller" : "mat");
    printf("  %lld peaks", (long long)s->n_peaks);
    if (s->n_top == 0) {
        printf(", no hot spots\n");
        return;
    }
    printf("; hottest spots:\n");
    printf("    %2s %10s %-5s %7s %9s %5s %5s %9s %9s %10s\n", "#", "value", "units", "frame",
           "time_s", "row", "col", "grid_y_mm", "grid_x_mm", "prominence");
    for (int i = 0; i < s->n_top; i++)
        printf("    %2d %10.4g %-5s %7lld %9.3f %5d %5d %9.2f %9.2f %10.4g\n", i + 1,
               (double)s->top[i].value, in->units, (long long)s->top[i].frame, s->top[i].time,
               (int)s->top[i].row, (int)s->top[i].col, s->top[i].y_mm, s->top[i].x_mm,
               (double)s->top[i].prominence);
    printf("  %lld tracks; %lld knot candidates", (long long)s->n_tracks,
           (long long)s->n_candidates);
    if (s->n_cand == 0) {
        printf("\n");
        return;
    }
    printf(" (best by score):\n");
    printf("    %2s %9s %9s %10s %10s %-5s %9s %11s\n", "#", "x_mm", "y_mm", "score",
           "prominence", "units", "passes", "persistence");
    for (int i = 0; i < s->n_cand; i++) {
        const km_candidate *c = &s->cand[i];
        printf("    %2d %9.2f %9.2f %10.4g %10.4g %-5s %4d/%-4d %11.2f\n", i + 1, c->x_mm,
               c->y_mm, c->score, (double)c->prominence, in->units, (int)c->n_passes,
               (int)c->n_covering, c->persistence);
    }
}

/* --resume and a file under the final name that is not a complete result. */
static int refuse_incomplete(const shared *sh, job *j)
{
    struct stat sb;
    if (sh->replace_incomplete || stat(j->output, &sb) != 0)
        return 0;
    pthread_mutex_lock((pthread_mutex_t *)&sh->print_lock);
    km_cli_error("%s: exists but is not a complete knotmap result (complete != 1, damaged or "
                 "foreign): not replacing it with --resume; remove it, or add --replace-incomplete",
                 j->output);
    pthread_mutex_unlock((pthread_mutex_t *)&sh->print_lock);
    j->status = KM_ERR_CREATE;
    j->exit_code = KM_EX_CANTCREAT;
    return 1;
}

static void run_job(shared *sh, job *j, km_ctx *ctx)
{
    km_process_params pp = *sh->pp;
    if (sh->progress) {
        pp.progress = progress_cb;
        pp.progress_user = j;
    }
    if (sh->resume) {
        int complete = 0;
        if (km_result_is_complete(ctx, j->output, &complete) == KM_OK && complete) {
            j->status = KM_OK;
            j->exit_code = KM_EX_OK;
            if (!sh->quiet) {
                pthread_mutex_lock(&sh->print_lock);
                printf("%s: skipped, %s is complete\n", j->input, j->output);
                fflush(stdout);
                pthread_mutex_unlock(&sh->print_lock);
            }
            return;
        }
        if (refuse_incomplete(sh, j))
            return;
    }
    if (sh->verbose)
        fprintf(stderr, "knotmap: %s -> %s\n", j->input, j->output);
    j->status = km_process(ctx, j->input, j->output, &pp, &j->summary);
    if (sh->progress)
        fputs("\r\033[K", stderr);
    pthread_mutex_lock(&sh->print_lock);
    if (j->status == KM_OK) {
        j->exit_code = KM_EX_OK;
        km_cli_warn_assumed(j->input, j->summary.info.assumed);
        if (sh->print_now && !sh->quiet) {
            print_summary(j);
            fflush(stdout);
        }
    } else if (j->status == KM_ERR_CANCELLED) {
        km_cli_error("%s: interrupted; no result written", j->input);
        j->exit_code = 128 + (km_cli_interrupted() != 0 ? km_cli_interrupted() : SIGINT);
    } else {
        j->exit_code = km_cli_report(ctx, j->status, j->input, j->output);
    }
    pthread_mutex_unlock(&sh->print_lock);
}

typedef struct worker_arg {
    shared *sh;
    km_ctx *ctx;
    int slot;
} worker_arg;

static void *worker(void *arg)
{
    const worker_arg *w = arg;
    for (;;) {
        int i = atomic_fetch_add(&w->sh->next, 1);
        if (i >= w->sh->n_jobs || km_cli_interrupted() != 0 || km_ctx_cancelled(w->ctx))
            break;
        km_cli_deadline_enter(w->slot, w->sh->jobs[i].input);
        run_job(w->sh, &w->sh->jobs[i], w->ctx);
        km_cli_deadline_enter(w->slot, NULL);
    }
    return NULL;
}

/* Drop the inputs that are knotmap results (`process dir/{all}.h5 -o dir/` run
 * twice sees its own outputs): a note on stderr for each; and the HDF5
 * inputs the probe refuses (probe.c), their exit code kept in *refused.
 * Returns the number of inputs kept, in order. */
static int drop_results(job *jobs, int n, const km_read_options *ro, double deadline,
                        int *refused)
{
    int kept = 0;
    for (int i = 0; i < n; i++) {
        int is_result = 0, probe = km_cli_probe(jobs[i].input, ro, deadline);
        if (probe != KM_EX_OK) {
            *refused = *refused != KM_EX_OK ? *refused : probe;
            continue;
        }
        km_is_result_file(NULL, jobs[i].input, &is_result);
        if (is_result)
            fprintf(stderr, "knotmap: %s: skipped: a knotmap result, not a session\n",
                    jobs[i].input);
        else
            jobs[kept++] = jobs[i];
    }
    return kept;
}

/* Decide every output path before any work: clashes are usage errors. */
static int plan_outputs(job *jobs, int n, const char *out)
{
    struct stat st;
    int folder = 0;
    if (out != NULL) {
        size_t l = strlen(out);
        folder = n > 1 || (l > 0 && out[l - 1] == '/') || (stat(out, &st) == 0 && S_ISDIR(st.st_mode));
        if (folder && stat(out, &st) != 0) {
            if (mkdir(out, 0777) != 0) {
                km_cli_error("%s: cannot create the output folder: %s", out, strerror(errno));
                return KM_EX_CANTCREAT;
            }
        } else if (folder && !S_ISDIR(st.st_mode)) {
            km_cli_error("%s: is not a folder (several inputs need an output folder)", out);
            return KM_EX_CANTCREAT;
        }
    }
    for (int i = 0; i < n; i++) {
        jobs[i].output = folder ? join_output(out, jobs[i].input)
                                : out != NULL ? strdup(out) : join_output(NULL, jobs[i].input);
        if (jobs[i].output == NULL) {
            km_cli_error("out of memory");
            return KM_EX_OSERR;
        }
        for (int k = 0; k < i; k++)
            if (strcmp(jobs[k].output, jobs[i].output) == 0)
                return km_cli_usage(CMD, "%s and %s would both write %s", jobs[k].input,
                                    jobs[i].input, jobs[i].output);
    }
    return KM_EX_OK;
}

/* Tracking, knot candidate and odometry parameters (docs/ALGORITHMS.md 7,
 * 9, 10): each option sets one field; the library checks the ranges. */
static int parse_track_option(int argc, char **argv, int *i, km_process_params *pp)
{
    static const struct { const char *name; size_t off; } dbl[] = {
        {"track-gate-mm", offsetof(km_process_params, track.gate_mm)},
        {"cand-seen-threshold", offsetof(km_process_params, cand.seen_threshold)},
        {"cand-min-prominence", offsetof(km_process_params, cand.min_prominence)},
        {"cand-min-snr", offsetof(km_process_params, cand.min_snr)},
        {"cand-knot-sigma-mm", offsetof(km_process_params, cand.knot_sigma_mm)},
        {"cand-min-sigma-mm", offsetof(km_process_params, cand.min_sigma_mm)},
        {"cand-max-sigma-mm", offsetof(km_process_params, cand.max_sigma_mm)},
        {"cand-min-persistence", offsetof(km_process_params, cand.min_persistence)},
        {"cand-contact-threshold", offsetof(km_process_params, cand.contact_threshold)},
        {"odometry-lift-threshold", offsetof(km_process_params, lift_threshold)}};
    static const struct { const char *name; size_t off; long long lo; } ints[] = {
        {"track-max-gap", offsetof(km_process_params, track.max_gap), 0},
        {"cand-background-half-cols", offsetof(km_process_params, cand.background_half_cols), 1},
        {"cand-ridge-half-rows", offsetof(km_process_params, cand.ridge_half_rows), 0},
        {"cand-min-distance", offsetof(km_process_params, cand.min_distance), 1},
        {"cand-min-coverage", offsetof(km_process_params, cand.min_coverage), 1},
        {"cand-max-candidates", offsetof(km_process_params, cand.max_candidates), -1},
        {"cand-stuck-frames", offsetof(km_process_params, cand.stuck_frames), 0},
        {"cand-contact-half-rows", offsetof(km_process_params, cand.contact_half_rows), 0},
        {"cand-pass-gap-frames", offsetof(km_process_params, cand.pass_gap_frames), 0}};
    const char *v = NULL;
    int m;
    for (size_t k = 0; k < sizeof dbl / sizeof dbl[0]; k++) {
        double d;
        if ((m = km_cli_match(CMD, argc, argv, i, dbl[k].name, 0, 1, &v)) == 0)
            continue;
        if (m < 0 || km_cli_double(CMD, dbl[k].name, v, &d) < 0)
            return -1;
        if (!isfinite(d)) {
            km_cli_usage(CMD, "--%s: '%s' is out of range", dbl[k].name, v);
            return -1;
        }
        memcpy((char *)pp + dbl[k].off, &d, sizeof d);
        return 1;
    }
    for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++) {
        long long n;
        if ((m = km_cli_match(CMD, argc, argv, i, ints[k].name, 0, 1, &v)) == 0)
            continue;
        if (m < 0 || km_cli_int(CMD, ints[k].name, v, ints[k].lo, INT32_MAX, &n) < 0)
            return -1;
        int32_t n32 = (int32_t)n;
        memcpy((char *)pp + ints[k].off, &n32, sizeof n32);
        return 1;
    }
    return 0;
}

static int parse_peak_option(int argc, char **argv, int *i, km_process_params *pp)
{
    const char *v = NULL;
    int m;
    double d, d2;
    long long n;
    if ((m = km_cli_match(CMD, argc, argv, i, "sigma", 0, 1, &v)) != 0) {
        if (m < 0)
            return -1;
        if (strcmp(v, "0") == 0) {
            pp->smooth.sigma_rows = pp->smooth.sigma_cols = 0.0;
            return 1;
        }
        if (km_cli_pair(CMD, "sigma", v, 1, &d, &d2) < 0)
            return -1;
        pp->smooth.sigma_rows = d;
        pp->smooth.sigma_cols = d2;
        return 1;
    }
    static const struct { const char *name; int which; } dbl[] = {
        {"threshold-abs", 0}, {"threshold-rel", 1}, {"min-prominence", 2},
        {"noise-threshold", 3}, {"offset", 4}, {"gain", 5}, {"contact-threshold", 6}};
    for (size_t k = 0; k < sizeof dbl / sizeof dbl[0]; k++) {
        if ((m = km_cli_match(CMD, argc, argv, i, dbl[k].name, 0, 1, &v)) == 0)
            continue;
        if (m < 0 || km_cli_double(CMD, dbl[k].name, v, &d) < 0)
            return -1;
        if (!isfinite(d) || ((dbl[k].which == 1 || dbl[k].which == 2) && d < 0.0)) {
            km_cli_usage(CMD, "--%s: '%s' is out of range", dbl[k].name, v);
            return -1;
        }
        switch (dbl[k].which) {
        case 0: pp->peaks.threshold_abs = d; break;
        case 1: pp->peaks.threshold_rel = d; break;
        case 2: pp->peaks.min_prominence = d; break;
        case 3: pp->calib.noise_threshold = d; break;
        case 4: pp->calib.offset = d; break;
        case 5: pp->calib.gain = d; break;
        default: pp->contact_threshold = d; break;
        }
        return 1;
    }
    if ((m = km_cli_match(CMD, argc, argv, i, "min-distance", 0, 1, &v)) != 0) {
        if (m < 0 || km_cli_int(CMD, "min-distance", v, 1, 1000, &n) < 0)
            return -1;
        pp->peaks.min_distance = (int32_t)n;
        return 1;
    }
    if ((m = km_cli_match(CMD, argc, argv, i, "exclude-border", 0, 1, &v)) != 0) {
        if (m < 0 || km_cli_int(CMD, "exclude-border", v, 0, KM_MAX_DIM, &n) < 0)
            return -1;
        pp->peaks.exclude_border = (int32_t)n;
        return 1;
    }
    if ((m = km_cli_match(CMD, argc, argv, i, "plateau", 0, 1, &v)) != 0) {
        if (m < 0)
            return -1;
        if (strcmp(v, "all") == 0) {
            pp->peaks.plateau = KM_PLATEAU_ALL;
        } else if (strcmp(v, "one") == 0) {
            pp->peaks.plateau = KM_PLATEAU_ONE;
        } else {
            km_cli_usage(CMD, "--plateau: '%s' is not all or one", v);
            return -1;
        }
        return 1;
    }
    if ((m = km_cli_match(CMD, argc, argv, i, "block-frames", 0, 1, &v)) != 0) {
        if (m < 0 || km_cli_int(CMD, "block-frames", v, 1, 1 << 20, &n) < 0)
            return -1;
        pp->block_frames = n;
        return 1;
    }
    if ((m = km_cli_match(CMD, argc, argv, i, "threads", 0, 1, &v)) != 0) {
        if (m < 0 || km_cli_int(CMD, "threads", v, 1, 64, &n) < 0)
            return -1;
        pp->n_threads = (int32_t)n;
        return 1;
    }
    return 0;
}

static int run_all(shared *sh, int jobs_wanted)
{
    int n_threads = jobs_wanted < sh->n_jobs ? jobs_wanted : sh->n_jobs;
    km_ctx *ctxs[MAX_JOBS] = {0};
    pthread_t th[MAX_JOBS];
    worker_arg args[MAX_JOBS];
    int started = 0, rc = KM_EX_OK;

    for (int t = 0; t < n_threads; t++) {
        if (km_ctx_create(&ctxs[t]) != KM_OK) {
            km_cli_error("out of memory");
            rc = KM_EX_OSERR;
            goto done;
        }
        args[t] = (worker_arg){sh, ctxs[t], t};
    }
    km_cli_interrupt_begin(ctxs, n_threads);
    if (km_cli_deadline_begin(sh->deadline) != 0) {
        km_cli_error("cannot set the --deadline timer: %s", strerror(errno));
        rc = KM_EX_OSERR;
        km_cli_interrupt_end();
        goto done;
    }

    if (n_threads == 1) {
        worker(&args[0]);
    } else {
        for (int t = 0; t < n_threads; t++) {
            if (pthread_create(&th[t], NULL, worker, &args[t]) != 0)
                break;
            started++;
        }
        if (started == 0)
            worker(&args[0]);
        for (int t = 0; t < started; t++)
            pthread_join(th[t], NULL);
    }
    km_cli_deadline_end();
    km_cli_interrupt_end();

    for (int i = 0; i < sh->n_jobs; i++) {
        job *j = &sh->jobs[i];
        if (!sh->print_now && !sh->quiet && j->status == KM_OK && j->exit_code == KM_EX_OK &&
            j->output != NULL && j->summary.info.rows > 0)
            print_summary(j);
        if (rc == KM_EX_OK && j->exit_code != KM_EX_OK)
            rc = j->exit_code;
    }
    if (km_cli_interrupted() != 0)
        rc = 128 + km_cli_interrupted();
done:
    for (int t = 0; t < n_threads; t++)
        km_ctx_free(ctxs[t]);
    return rc;
}

int km_cmd_process(int argc, char **argv)
{
    km_process_params pp;
    const char *out = NULL, *v = NULL;
    int quiet = 0, verbose = 0, resume = 0, replace_incomplete = 0, n_in = 0, rc = KM_EX_OK;
    int options_done = 0;
    double deadline = 0.0;
    long long jobs_wanted = 1;
    job *jobs = NULL;
    char *cmdline = NULL;

    km_process_params_default(&pp);
    jobs = calloc((size_t)argc + 1, sizeof *jobs);
    if (jobs == NULL) {
        km_cli_error("out of memory");
        return KM_EX_OSERR;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int m;
        if (options_done || a[0] != '-' || a[1] == '\0') {
            jobs[n_in++].input = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options_done = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help();
            goto done;
        }
        if ((m = km_cli_match(CMD, argc, argv, &i, "output", 'o', 1, &v)) != 0) {
            if (m < 0)
                goto usage;
            out = v;
            continue;
        }
        if ((m = km_cli_match(CMD, argc, argv, &i, "jobs", 'j', 1, &v)) != 0) {
            if (m < 0 || km_cli_int(CMD, "jobs", v, 1, MAX_JOBS, &jobs_wanted) < 0)
                goto usage;
            continue;
        }
        if ((m = km_cli_match(CMD, argc, argv, &i, "quiet", 'q', 0, &v)) != 0) {
            if (m < 0)
                goto usage;
            quiet = 1;
            continue;
        }
        if ((m = km_cli_match(CMD, argc, argv, &i, "verbose", 'v', 0, &v)) != 0) {
            if (m < 0)
                goto usage;
            verbose = 1;
            continue;
        }
        if ((m = km_cli_match(CMD, argc, argv, &i, "save-frames", 0, 0, &v)) != 0) {
            if (m < 0)
                goto usage;
            pp.save_frames = 1;
            continue;
        }
        if ((m = km_cli_match(CMD, argc, argv, &i, "resume", 0, 0, &v)) != 0) {
            if (m < 0)
                goto usage;
            resume = 1;
            continue;
        }
        if ((m = km_cli_match(CMD, argc, argv, &i, "replace-incomplete", 0, 0, &v)) != 0) {
            if (m < 0)
                goto usage;
            replace_incomplete = 1;
            continue;
        }
        if ((m = km_cli_match(CMD, argc, argv, &i, "deadline", 0, 1, &v)) != 0) {
            if (m < 0 || km_cli_double(CMD, "deadline", v, &deadline) < 0)
                goto usage;
            if (!(deadline > 0.0) || deadline > 1e9) {
                rc = km_cli_usage(CMD, "--deadline must be > 0 seconds");
                goto done;
            }
            continue;
        }
        if ((m = km_cli_match(CMD, argc, argv, &i, "no-overwrite", 0, 0, &v)) != 0) {
            if (m < 0)
                goto usage;
            pp.overwrite = 0;
            continue;
        }
        if ((m = km_cli_read_option(CMD, argc, argv, &i, &pp.read)) != 0) {
            if (m < 0)
                goto usage;
            continue;
        }
        if ((m = parse_peak_option(argc, argv, &i, &pp)) != 0) {
            if (m < 0)
                goto usage;
            continue;
        }
        if ((m = parse_track_option(argc, argv, &i, &pp)) != 0) {
            if (m < 0)
                goto usage;
            continue;
        }
        if ((m = km_cli_condition_option(CMD, argc, argv, &i, &pp)) != 0) {
            if (m < 0)
                goto usage;
            continue;
        }
        rc = km_cli_usage(CMD, "unknown option '%s'", a);
        goto done;
    }
    if (n_in == 0) {
        rc = km_cli_usage(CMD, "no input file given");
        goto done;
    }
    int refused = KM_EX_OK;
    n_in = drop_results(jobs, n_in, &pp.read, deadline, &refused);
    if (n_in == 0) {
        if (refused == KM_EX_OK)
            km_cli_error("no session to process: every input is a knotmap result");
        rc = refused != KM_EX_OK ? refused : KM_EX_DATAERR;
        goto done;
    }
    rc = plan_outputs(jobs, n_in, out);
    if (rc != KM_EX_OK)
        goto done;
    cmdline = km_cli_command_line(km_cli_argc, km_cli_argv);
    pp.command_line = cmdline;

    shared sh;
    memset(&sh, 0, sizeof sh);
    sh.jobs = jobs;
    sh.n_jobs = n_in;
    atomic_init(&sh.next, 0);
    sh.pp = &pp;
    sh.quiet = quiet;
    sh.verbose = verbose;
    sh.resume = resume;
    sh.replace_incomplete = replace_incomplete;
    sh.deadline = deadline;
    sh.print_now = jobs_wanted == 1;
    sh.progress = jobs_wanted == 1 && !quiet && isatty(STDERR_FILENO);
    pthread_mutex_init(&sh.print_lock, NULL);
    rc = run_all(&sh, (int)jobs_wanted);
    rc = rc != KM_EX_OK ? rc : refused;
    pthread_mutex_destroy(&sh.print_lock);
    goto done;
usage:
    rc = KM_EX_USAGE;
done:
    for (int i = 0; i < n_in; i++)
        free(jobs[i].output);
    free(jobs);
    free(cmdline);
    return rc;
}
