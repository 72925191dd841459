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
#include <strings.h>
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
    int ran;                   /* run_job finished with it */
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

enum { O_OUTPUT, O_RESUME, O_REPLACE, O_JOBS, O_DEADLINE, O_QUIET, O_VERBOSE };

/* The options of the command itself; the parameters are the table's rows. */
static const km_cli_opt OPTS[] = {
    {"output", 'o', "OUT",
     "one INPUT: the result file; several INPUTs, an existing folder or OUT ending in '/': "
     "a folder (made if missing; with several INPUTs not a new name ending in .h5) holding "
     "<input stem>.knotmap.h5 per input [<input "
     "stem>.knotmap.h5 in the current folder]",
     "Output", NULL, O_OUTPUT},
    {"resume", 0, NULL,
     "skip inputs whose result is already complete; any other file under a result name "
     "(complete = 0, damaged, foreign) is an error (73), not replaced [off]",
     "Output", NULL, O_RESUME},
    {"replace-incomplete", 0, NULL,
     "with --resume: remake a knotmap result whose complete attribute is not 1 [off]",
     "Output", NULL, O_REPLACE},
    {"jobs", 'j', "N", "sessions processed in parallel [1]", "Run", NULL, O_JOBS},
    KM_CLI_OPT_DEADLINE("Run", O_DEADLINE),
    {"quiet", 'q', NULL, "no summary, progress, notes or tally: warnings and errors only", "Run", NULL, O_QUIET},
    {"verbose", 'v', NULL,
     "also print 'INPUT -> OUTPUT' on stderr before each run (the parameters: knotmap info "
     "OUTPUT)",
     "Run", NULL, O_VERBOSE},
    KM_CLI_OPT_HELP("Run"),
};

static const char USAGE[] =
    "Usage: knotmap process [OPTION]... INPUT... [-o OUT]\n"
    "Condition each INPUT, find its pressure peaks (knot candidates), compute\n"
    "per-frame metrics and write a knotmap result HDF5 (docs/FORMAT.md 2.1).\n"
    "INPUT: a knotmap session (.h5), Tekscan (.asf), XSENSOR (.csv), text matrix,\n"
    "audio, MATLAB MAT-file (.mat: frames R x C x T, time, ...; or a struct s with\n"
    "them) or NumPy (.npy, .npz: frames, time, ...) file, told by content\n"
    "(docs/FORMAT.md 1).\n"
    "Long options may be abbreviated to any unambiguous prefix.\n";

static const char FOOTER[] =
    "Exit status: 0 ok, 64 usage, 65 bad input data, 66 input missing, 69 libsndfile\n"
    "cannot be loaded (an audio input), 73 output cannot be created, 74 I/O error,\n"
    "75 --deadline exceeded, 130/143 interrupted (SIGINT/SIGTERM; a second one stops\n"
    "at once), " KM_CLI_EXIT_70_71 ".\n";

/* What the command's own options set. */
typedef struct run_opts {
    const char *out;
    int quiet, verbose, resume, replace_incomplete;
    double deadline;
    long long jobs;
} run_opts;

static int on_option(void *user, int id, const char *v)
{
    run_opts *o = user;
    switch (id) {
    case O_OUTPUT:
        return km_cli_output_arg(CMD, v, &o->out);
    case O_RESUME:
        o->resume = 1;
        return KM_EX_OK;
    case O_REPLACE:
        o->replace_incomplete = 1;
        return KM_EX_OK;
    case O_JOBS:
        return km_cli_int(CMD, "jobs", v, 1, MAX_JOBS, &o->jobs) < 0 ? KM_EX_USAGE : KM_EX_OK;
    case O_DEADLINE:
        return km_cli_deadline_arg(CMD, v, &o->deadline);
    case O_QUIET:
        o->quiet = 1;
        return KM_EX_OK;
    default:
        o->verbose = 1;
        return KM_EX_OK;
    }
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

/* "s" after a count other than 1 ("1 frame", "2 frames"). */
static const char *plural(long long n)
{
    return n == 1 ? "" : "s";
}

static void print_summary(const job *j, double contact_threshold)
{
    const km_process_summary *s = &j->summary;
    const km_session_info *in = &s->info;
    double dur = in->frame_rate_hz > 0.0 ? (double)s->n_frames / in->frame_rate_hz : NAN;
    printf("%s -> %s\n", j->input, j->output);
    printf("  %lld frame%s, %.3g s at %.6g Hz, %dx%d taxels (%.4g x %.4g mm), units %s, %s\n",
           (long long)s->n_frames, plural(s->n_frames), dur, in->frame_rate_hz, (int)in->rows, (int)in->cols,
           in->row_pitch_mm, in->col_pitch_mm, in->units,
           in->mode == KM_MODE_ROLLER ? "roller" : "mat");
    if (s->n_corrupt_frames > 0)
        printf("  %lld frame%s flagged corrupt: replaced by the last good frame, no peaks (/metrics flags)\n",
               (long long)s->n_corrupt_frames, plural(s->n_corrupt_frames));
    /* docs/ALGORITHMS.md 4: what a sheet whose unloaded floor reads above
       the threshold gives (PhysioNet PMD's BodiTrak air mat, ~40 counts). */
    if (s->n_frames > 0 && s->n_all_contact_frames == s->n_frames)
        printf("  every taxel above the contact threshold (%g) in %s: the contact area is the "
               "whole sheet (/metrics flags ALL_CONTACT); if the unloaded sheet reads above %g, "
               "pass --contact-threshold V above its floor or --tare N\n",
               contact_threshold, s->n_frames == 1 ? "the frame" : "every frame",
               contact_threshold);
    printf("  %lld peak%s", (long long)s->n_peaks, plural(s->n_peaks));
    if (isfinite(s->peaks_floor) && s->noise > 0.0)
        printf(" above a floor of %.4g %s (%.3g x the sensor's noise, %.3g %s)", s->peaks_floor,
               in->units, s->peaks_floor / s->noise, s->noise, in->units);
    if (s->peaks_zero_drift > 0.0)
        printf(", from each taxel's zero (it followed a drift of up to %.3g %s)",
               s->peaks_zero_drift, in->units);
    else if (s->peaks_zero_drift == 0.0)
        printf(", from each taxel's zero (no drift to follow)");
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
    printf("  %lld track%s; %lld knot candidate%s", (long long)s->n_tracks, plural(s->n_tracks),
           (long long)s->n_candidates, plural(s->n_candidates));
    if (s->n_cand == 0) {
        printf("\n");
        return;
    }
    if (s->n_cand < s->n_candidates) /* the summary holds the best few: say how many */
        printf(" (the best %d by score; all: knotmap info or render the result):\n", s->n_cand);
    else
        printf(" (by score):\n");
    printf("    %2s %9s %9s %8s %10s %-5s %8s %12s %9s %11s\n", "#", "x_mm", "y_mm", "score",
           "amplitude", "units", "size_mm", "significance", "passes", "persistence");
    for (int i = 0; i < s->n_cand; i++) {
        const km_candidate *c = &s->cand[i];
        printf("    %2d %9.2f %9.2f %8.4g %10.4g %-5s %8.2f %12.3g %4d/%-4d %11.2f\n", i + 1,
               c->x_mm, c->y_mm, c->score, c->amplitude, in->units, c->size_mm,
               c->significance, (int)c->n_passes, (int)c->n_covering, c->persistence);
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

/* Stuck or hot taxels the warm-up found and left in the mask
   (docs/ALGORITHMS.md 3.7): out of the peaks, the metrics and the maps'
   pressure unless --keep-suspect-taxels. */
static void warn_suspect(const char *input, int32_t n, int keep)
{
    int one = n == 1;
    const char *what =
        keep ? (one ? "makes a peak in every frame and counts in the metrics and maps"
                    : "make a peak in every frame and count in the metrics and maps")
             : (one ? "is left out of the peaks, metrics and maps"
                    : "are left out of the peaks, metrics and maps");
    fprintf(stderr,
            "knotmap: %s: warning: %d taxel%s look%s stuck or hot in the warm-up and %s "
            "(/params/suspect_taxels; %s%s%s)\n",
            input, (int)n, one ? "" : "s", one ? "s" : "", what,
            keep ? "" : (one ? "--keep-suspect-taxels keeps it, " : "--keep-suspect-taxels keeps them, "),
            one ? "--detect-bad-taxels masks it" : "--detect-bad-taxels masks them",
            keep ? "" : " everywhere");
}

/* What the opt-in session flat field did (docs/ALGORITHMS.md 7.5), said
 * on stderr as /params records it: the gains it divided out, or why none. */
static void warn_flat_field(const char *input, int32_t n, int quiet)
{
    if (n > 0 && !quiet) /* a note: -q keeps the warnings only */
        fprintf(stderr,
                "knotmap: %s: note: flat field: gains of %d taxel%s estimated from the "
                "roller's turns and divided out of the candidate map "
                "(/params/cand_flat_field_taxels)\n",
                input, (int)n, n == 1 ? "" : "s");
    else if (n <= 0)
        fprintf(stderr,
                "knotmap: %s: warning: flat field requested but not applied: no gain "
                "estimated (a mat, a gain map given, or no turn in the air that moved "
                "the sensor rows onto other body cells)\n",
                input);
}

/* A sensor zero that drifted, as /params records it: past what the roller
 * odometry and the body map follow (docs/ALGORITHMS.md 7.1 step 6), a
 * warning; else, when the peaks' zero (3.7) followed more than the floor,
 * a note (those taxels would have made a peak in every frame). */
static void warn_zero_drift(const char *input, const km_process_summary *s, int quiet)
{
    const char *u = s->info.units;
    int peaks = isfinite(s->peaks_zero_drift) && s->peaks_zero_drift > s->peaks_floor;
    if (s->zero_drift_limit > 0.0 && s->zero_drift > s->zero_drift_limit) {
        fprintf(stderr,
                "knotmap: %s: warning: zero drift: the sensor rows' unloaded levels drifted "
                "%.3g %s apart over the session, more than the %.3g %s the roller odometry and "
                "the body map follow (/params/odo_zero_drift; the peaks follow each taxel's "
                "zero: /params/peaks_zero_drift); knots may be lost or misplaced: re-tare "
                "(re-zero) the sensor more often, or record shorter sessions\n",
                input, s->zero_drift, u, s->zero_drift_limit, u);
    } else if (peaks && !quiet) { /* a note: -q keeps the warnings only */
        fprintf(stderr,
                "knotmap: %s: note: zero drift: the peaks are measured from each taxel's zero, "
                "which rose by up to %.3g %s over the session, more than the floor "
                "(/params/peaks_zero_drift; --zero-rate 0 keeps the warm-up's zero)\n",
                input, s->peaks_zero_drift, u);
    }
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
        /* not KM_OK: another program is writing the output (in use): km_process
           refuses to replace it below, as it does without --resume */
        km_status cs = km_result_is_complete(ctx, j->output, &complete);
        if (cs == KM_OK && complete) {
            j->status = KM_OK;
            j->exit_code = KM_EX_OK;
            j->ran = 1;
            if (!sh->quiet) {
                pthread_mutex_lock(&sh->print_lock);
                printf("%s: skipped, %s is complete\n", j->input, j->output);
                fflush(stdout);
                pthread_mutex_unlock(&sh->print_lock);
            }
            return;
        }
        if (cs == KM_OK && refuse_incomplete(sh, j))
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
        km_cli_warn_assumed(j->input, &j->summary.info);
        km_cli_warn_nonfinite(j->input, &j->summary.info);
        if (j->summary.n_offset_taxels > 0)
            fprintf(stderr,
                    "knotmap: %s: warning: %d taxel%s read a steady offset while unloaded "
                    "(hot): masked (/params/offset_taxels; --offset-sigmas 0 keeps %s)\n",
                    j->input, (int)j->summary.n_offset_taxels, plural(j->summary.n_offset_taxels),
                    j->summary.n_offset_taxels == 1 ? "it" : "them");
        if (j->summary.n_suspect_taxels > 0)
            warn_suspect(j->input, j->summary.n_suspect_taxels, pp.keep_suspect);
        if (pp.cand.flat_field != 0)
            warn_flat_field(j->input, j->summary.n_flat_field_taxels, sh->quiet);
        warn_zero_drift(j->input, &j->summary, sh->quiet);
        if (sh->print_now && !sh->quiet) {
            print_summary(j, sh->pp->contact_threshold);
            fflush(stdout);
        }
    } else if (j->status == KM_ERR_CANCELLED) {
        km_cli_error("%s: interrupted; no result written", j->input);
        j->exit_code = 128 + (km_cli_interrupted() != 0 ? km_cli_interrupted() : SIGINT);
    } else {
        j->exit_code = km_cli_report(ctx, j->status, j->input, j->output);
    }
    j->ran = 1;
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
 * dropped[i]: KM_BATCH_RAN (kept), KM_BATCH_SKIPPED or KM_BATCH_FAILED.  Returns the number of
 * inputs kept, in order. */
static int drop_results(job *jobs, int n, const km_read_options *ro, double deadline,
                        int *refused, signed char *dropped)
{
    int kept = 0;
    for (int i = 0; i < n; i++) {
        int is_result = 0, probe = km_cli_probe(jobs[i].input, ro, deadline, &is_result, 1);
        dropped[i] = probe != KM_EX_OK ? KM_BATCH_FAILED : KM_BATCH_RAN;
        if (probe != KM_EX_OK) {
            *refused = *refused != KM_EX_OK ? *refused : probe;
            continue;
        }
        if (is_result < 0 && km_is_result_file(NULL, jobs[i].input, &is_result) != KM_OK)
            is_result = 0;
        dropped[i] = is_result ? KM_BATCH_SKIPPED : KM_BATCH_RAN;
        if (is_result)
            fprintf(stderr, "knotmap: %s: skipped: a knotmap result, not a session\n",
                    jobs[i].input);
        else
            jobs[kept++] = jobs[i];
    }
    return kept;
}

/* Several inputs and an -o that does not exist, named as a file is (.h5 or
 * .hdf5: a result; a picture's or the report's name): the user wanted one
 * file, which -o cannot give for several inputs.  Refused before anything
 * is read or made (it used to become a folder named like a file). */
static int looks_like_a_file(const char *out)
{
    static const char *const exts[] = {".h5", ".hdf5", ".png", ".svg", ".pdf", ".html", ".htm"};
    const char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
    struct stat st;
    if (dot == NULL || (slash != NULL && dot < slash) || stat(out, &st) == 0)
        return 0;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (strcasecmp(dot, exts[i]) == 0)
            return 1;
    return 0;
}

/* Decide every output path before any work: clashes are usage errors.
 * *made = 1 when the output folder was made here (km_cmd_process removes it
 * again if the run leaves it empty). */
static int plan_outputs(job *jobs, int n, const char *out, int *made)
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
            *made = 1;
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
            print_summary(j, sh->pp->contact_threshold);
        if (rc == KM_EX_OK && j->exit_code != KM_EX_OK)
            rc = j->exit_code;
    }
    /* A signal that came after every input was written (complete results
       under their names) stopped nothing: the run's own status stands. */
    int all_written = 1;
    for (int i = 0; i < sh->n_jobs; i++)
        all_written &= sh->jobs[i].ran && sh->jobs[i].exit_code == KM_EX_OK;
    if (km_cli_interrupted() != 0 && !all_written)
        rc = 128 + km_cli_interrupted();
done:
    for (int t = 0; t < n_threads; t++)
        km_ctx_free(ctxs[t]);
    return rc;
}

/* Run the planned jobs[n] with o's options; the run's exit code. */
static int run_jobs(job *jobs, int n, const km_process_params *pp, const run_opts *o)
{
    shared sh;
    memset(&sh, 0, sizeof sh);
    sh.jobs = jobs;
    sh.n_jobs = n;
    atomic_init(&sh.next, 0);
    sh.pp = pp;
    sh.quiet = o->quiet;
    sh.verbose = o->verbose;
    sh.resume = o->resume;
    sh.replace_incomplete = o->replace_incomplete;
    sh.deadline = o->deadline;
    sh.print_now = o->jobs == 1;
    sh.progress = o->jobs == 1 && !o->quiet && isatty(STDERR_FILENO);
    pthread_mutex_init(&sh.print_lock, NULL);
    int rc = run_all(&sh, (int)o->jobs);
    pthread_mutex_destroy(&sh.print_lock);
    return rc;
}

/* The batch's last line (km_cli_tally): outcome[n_given] from drop_results,
 * completed with how the kept inputs, jobs[] in order, ended. */
static void tally(const job *jobs, const char *const *given, signed char *outcome, int n_given,
                  const run_opts *o)
{
    for (int i = 0, k = 0; i < n_given; i++) {
        if (outcome[i] != KM_BATCH_RAN)
            continue;
        const job *j = &jobs[k++];
        if (!j->ran || j->exit_code != KM_EX_OK)
            outcome[i] = KM_BATCH_FAILED;
    }
    if (!o->quiet && km_cli_interrupted() == 0)
        km_cli_tally(given, outcome, n_given, o->out);
}

/* Parse the command line into pp and o, inputs into jobs[*n_in]. */
static int parse(int argc, char **argv, km_process_params *pp, run_opts *o, job *jobs,
                 int *n_in)
{
    const char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
    if (inputs == NULL) {
        km_cli_error("out of memory");
        return KM_EX_OSERR;
    }
    km_cli_parser ps = {CMD, USAGE, FOOTER, OPTS, sizeof OPTS / sizeof OPTS[0], pp, NULL,
                        on_option, o, inputs, argc, "INPUT", 0, NULL, NULL};
    int rc = km_cli_parse(&ps, argc, argv);
    for (int i = 0; i < ps.n_operands; i++)
        jobs[i].input = inputs[i];
    *n_in = ps.n_operands;
    free(inputs);
    if (rc == KM_EX_OK && pp->equilibrate != NULL && pp->gain_map_path != NULL)
        rc = km_cli_usage(CMD, "--equilibrate and --gain-map exclude each other");
    if (rc == KM_EX_OK && *n_in == 0)
        rc = km_cli_usage(CMD, "no input file given");
    return rc;
}

int km_cmd_process(int argc, char **argv)
{
    km_process_params pp;
    run_opts o = {NULL, 0, 0, 0, 0, 0.0, 1};
    int n_in = 0, rc = KM_EX_OK, made_folder = 0;
    char *cmdline = NULL;
    const char **given = NULL;  /* the inputs as given, for the tally */
    signed char *dropped = NULL;

    km_process_params_default(&pp);
    job *jobs = calloc((size_t)argc + 1, sizeof *jobs);
    if (jobs == NULL) {
        km_cli_error("out of memory");
        return KM_EX_OSERR;
    }
    rc = parse(argc, argv, &pp, &o, jobs, &n_in);
    if (rc != KM_EX_OK) {
        rc = rc == KM_CLI_DONE ? KM_EX_OK : rc;
        n_in = 0; /* no output planned yet */
        goto done;
    }
    if (n_in > 1 && o.out != NULL && looks_like_a_file(o.out)) {
        rc = km_cli_usage(CMD, "-o %s: with %d inputs, -o names a folder that gets one <input "
                          "stem>.knotmap.h5 per input, and %s is named as a file: give a "
                          "folder (-o results/), or one input per run to name its result",
                          o.out, n_in, o.out);
        n_in = 0; /* no output planned yet */
        goto done;
    }
    /* The gain source is read by every job in the command's own process:
       probed first as the inputs are (a crafted one crashed libhdf5 there). */
    const char *gain_file = pp.equilibrate != NULL ? pp.equilibrate : pp.gain_map_path;
    if (gain_file != NULL && (rc = km_cli_probe(gain_file, NULL, o.deadline, NULL, 0)) != KM_EX_OK) {
        n_in = 0;
        goto done;
    }
    int refused = KM_EX_OK, n_given = n_in;
    given = calloc((size_t)n_in, sizeof *given);
    dropped = calloc((size_t)n_in, sizeof *dropped);
    if (given == NULL || dropped == NULL) {
        km_cli_error("out of memory");
        rc = KM_EX_OSERR;
        n_in = 0;
        goto done;
    }
    for (int i = 0; i < n_in; i++)
        given[i] = jobs[i].input;
    n_in = drop_results(jobs, n_in, &pp.read, o.deadline, &refused, dropped);
    if (n_in == 0) {
        if (refused == KM_EX_OK)
            km_cli_error("no session to process: every input is a knotmap result");
        rc = refused != KM_EX_OK ? refused : KM_EX_DATAERR;
        goto done;
    }
    rc = plan_outputs(jobs, n_in, o.out, &made_folder);
    if (rc != KM_EX_OK)
        goto done;
    cmdline = km_cli_command_line(km_cli_argc, km_cli_argv);
    pp.command_line = cmdline;

    rc = run_jobs(jobs, n_in, &pp, &o);
    rc = rc != KM_EX_OK ? rc : refused;
    tally(jobs, given, dropped, n_given, &o);
done:
    if (made_folder)
        (void)rmdir(o.out); /* only when empty: no result was written there */
    for (int i = 0; i < n_in; i++)
        free(jobs[i].output);
    free(jobs);
    free(given);
    free(dropped);
    free(cmdline);
    return rc;
}
