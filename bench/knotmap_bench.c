/* knotmap-bench: what each stage of the core costs, how far it is from
 * memory speed, what a whole session costs end to end, how much memory it
 * takes and how it scales to two threads.  See bench/README.md.
 *
 *   knotmap-bench [--quick | --full] [--json FILE] [--case SUBSTR]
 *                 [--grids 16,32,...] [--session FILE.h5] [--commit ID]
 *                 [--trials N] [--tmp DIR] [--keep]
 *
 * Inputs are synthetic (km_synth, roller, moderate preset, seed 1), so every
 * run sees the same frames.  Times are per call, best of N trials after a
 * warm-up (bench_timer.h); the figure is the CPU time of the timing thread
 * (the machine may be shared), the wall time is reported next to it.
 * "limit" is a plain read-and-sum of the same bytes the stage reads (the
 * frames in memory, or the file for readers and end-to-end): the distance
 * to memory speed.  Nothing here asserts on a time. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_timer.h"
#include "cli/memory_policy.h"
#include "io/result_writer.h"
#include "knotmap.h"

typedef struct options {
    int full;
    const char *json;
    const char *only;
    const char *commit;
    const char *session;
    const char *tmp;
    int trials;
    int keep;
    int grids[16];
    int n_grids;
} options;

static options g_opt;
static FILE *g_json;
static char g_dir[4096];
static volatile double g_sink;

/* Per-stage figures at 32x32, kept for the end-to-end share table. */
typedef struct stage_rec {
    char name[32];
    double ns_per_taxel;
} stage_rec;
static stage_rec g_rec[32];
static int g_n_rec;
static double g_e2e_ns = NAN;
/* The whole pipeline's budget per taxel sample: 50 M samples/s (issue 12). */
#define KM_BUDGET_NS 20.0

static void die(km_ctx *ctx, const char *what, km_status st)
{
    fprintf(stderr, "knotmap-bench: %s: %s (%s)\n", what, km_strerror(st),
            ctx != NULL ? km_ctx_last_error(ctx) : "");
    exit(1);
}

static int wanted(const char *name)
{
    return g_opt.only == NULL || strstr(name, g_opt.only) != NULL;
}

/* ---------------------------------------------------------------- output */

typedef struct row {
    const char *name;
    int rows, cols;
    int64_t frames;
    double sec;        /* primary time for the case (CPU seconds) */
    double wall;       /* wall seconds (NaN when not measured) */
    double limit_sec;  /* read-and-sum of the same bytes (NaN = none) */
    long rss_kb;       /* -1 = not measured */
    double bytes;      /* input bytes, for MB/s (0 = not shown) */
    const char *note;  /* free text, JSON "note" (NULL = none) */
} row;

static void table_header(const char *title)
{
    printf("\n%s\n%-28s %9s %8s %10s %10s %9s %7s %9s %s\n", title, "case", "grid", "frames",
           "ns/taxel", "Msamp/s", "limit ns", "ratio", "rss KB", "note");
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, const char *key, double v)
{
    if (isfinite(v))
        fprintf(f, ",\"%s\":%.6g", key, v);
    else
        fprintf(f, ",\"%s\":null", key);
}

static void emit(const row *r)
{
    double taxels = (double)r->rows * (double)r->cols * (double)r->frames;
    double ns = r->sec * 1e9 / taxels;
    double lim = isfinite(r->limit_sec) ? r->limit_sec * 1e9 / taxels : NAN;
    double ratio = isfinite(lim) && lim > 0.0 ? ns / lim : NAN;
    double ms = taxels / r->sec / 1e6;
    double mbs = r->bytes > 0.0 ? r->bytes / r->sec / 1e6 : NAN;
    char grid[32], note[160];
    snprintf(grid, sizeof grid, "%dx%d", r->rows, r->cols);
    snprintf(note, sizeof note, "%s", r->note != NULL ? r->note : "");
    if (isfinite(mbs)) {
        size_t l = strlen(note);
        snprintf(note + l, sizeof note - l, "%s%.0f MB/s", l ? "; " : "", mbs);
    }
    printf("%-28s %9s %8lld %10.3f %10.1f %9.3f %7.1f %9ld %s\n", r->name, grid,
           (long long)r->frames, ns, ms, lim, ratio, r->rss_kb, note);
    fflush(stdout);
    if (r->rows == 32 && r->cols == 32 && g_n_rec < 32) {
        snprintf(g_rec[g_n_rec].name, sizeof g_rec[0].name, "%s", r->name);
        g_rec[g_n_rec++].ns_per_taxel = ns;
    }
    if (g_json == NULL)
        return;
    fprintf(g_json, "{\"name\":");
    json_str(g_json, r->name);
    fprintf(g_json, ",\"grid\":\"%s\",\"rows\":%d,\"cols\":%d,\"frames\":%lld", grid, r->rows,
            r->cols, (long long)r->frames);
    json_num(g_json, "ns_per_taxel", ns);
    json_num(g_json, "wall_ns_per_taxel", r->wall * 1e9 / taxels);
    json_num(g_json, "msamples_per_s", ms);
    json_num(g_json, "limit_ns_per_taxel", lim);
    json_num(g_json, "ratio", ratio);
    json_num(g_json, "seconds", r->sec);
    json_num(g_json, "mb_per_s", mbs);
    if (r->rss_kb >= 0)
        fprintf(g_json, ",\"rss_kb\":%ld", r->rss_kb);
    else
        fprintf(g_json, ",\"rss_kb\":null");
    fprintf(g_json, ",\"clock\":\"cpu\",\"commit\":");
    json_str(g_json, g_opt.commit);
    fprintf(g_json, ",\"mode\":\"%s\"", g_opt.full ? "full" : "quick");
    if (r->note != NULL) {
        fprintf(g_json, ",\"note\":");
        json_str(g_json, r->note);
    }
    fprintf(g_json, "}\n");
    fflush(g_json);
}

/* ------------------------------------------------------------- the limit */

/* Sum of n floats with independent accumulators so the compiler can keep
 * several vector lanes busy: the memory-speed floor for a stage that reads
 * the same frames. */
static double sum_floats(const float *restrict x, size_t n)
{
    float acc[16] = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++)
            acc[j] += x[i + (size_t)j];
    double s = 0.0;
    for (; i < n; i++)
        s += x[i];
    for (int j = 0; j < 16; j++)
        s += acc[j];
    return s;
}

static double sum_words(const uint64_t *restrict x, size_t n)
{
    uint64_t acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += x[i + (size_t)j];
    uint64_t s = 0;
    for (; i < n; i++)
        s += x[i];
    for (int j = 0; j < 8; j++)
        s += acc[j];
    return (double)s;
}

/* read() the whole file (from the page cache after the first time) and sum
 * its bytes as 64-bit words: the floor for anything that reads the file. */
typedef struct file_sum_arg {
    const char *path;
    uint64_t *buf;
    size_t cap_words;
} file_sum_arg;

static int file_sum(void *a)
{
    file_sum_arg *f = a;
    int fd = open(f->path, O_RDONLY);
    if (fd < 0)
        return 1;
    double s = 0.0;
    for (;;) {
        ssize_t got = read(fd, f->buf, f->cap_words * sizeof(uint64_t));
        if (got < 0) {
            close(fd);
            return 1;
        }
        if (got == 0)
            break;
        s += sum_words(f->buf, (size_t)got / sizeof(uint64_t));
    }
    close(fd);
    g_sink += s;
    return 0;
}

static double file_limit(const char *path)
{
    static uint64_t buf[1 << 17]; /* 1 MiB: stays in L2 */
    file_sum_arg a = {path, buf, sizeof buf / sizeof buf[0]};
    bench_stat st;
    if (bench_run(file_sum, &a, g_opt.trials, 0.05, &st) != 0)
        return NAN;
    return st.cpu_best;
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* ------------------------------------------------------ per-grid stages */

typedef struct grid {
    km_ctx *ctx;
    int rows, cols;
    int64_t nf;
    size_t rc;
    km_session_info info;
    const uint8_t *mask_data;
    km_mask mask;
    float *in, *out;
    double *times;
    km_odometry_sample *odo;
    km_metrics *met;
    km_peak *pk;           /* peaks of every frame, concatenated */
    size_t *pk_off;        /* nf + 1 offsets into pk */
    km_peak *scratch;      /* rc peaks */
    double *py, *px;
    float *pv;
    int32_t *pid;
    size_t max_np;
    km_calib_params calib;
    km_gaussian *gauss;
    km_detector *det_max, *det_all;
    km_temporal *iir, *fir;
    km_odometry *odometry;
    char tek_path[4200], h5_path[4200], res_path[4200];
} grid;

static int st_limit(void *a)
{
    grid *g = a;
    g_sink += sum_floats(g->in, (size_t)g->nf * g->rc);
    return 0;
}

static km_frame frame_in(const grid *g, int64_t i)
{
    km_frame f = {g->in + (size_t)i * g->rc, g->rows, g->cols, g->cols};
    return f;
}

static int st_calibrate(void *a)
{
    grid *g = a;
    for (int64_t i = 0; i < g->nf; i++) {
        km_frame f = frame_in(g, i);
        km_frame_mut o = {g->out + (size_t)i * g->rc, g->rows, g->cols, g->cols};
        if (km_calibrate(g->ctx, &g->calib, &f, &o) != KM_OK)
            return 1;
    }
    return 0;
}

static int run_temporal(grid *g, km_temporal *t)
{
    int64_t n_out = 0, n_flush = 0;
    km_temporal_reset(t);
    /* Pushed in 256-frame blocks as the pipeline pulls them. */
    for (int64_t i = 0; i < g->nf; i += 256) {
        int64_t n = g->nf - i < 256 ? g->nf - i : 256;
        int64_t got = 0;
        if (km_temporal_push(g->ctx, t, g->in + (size_t)i * g->rc, n,
                             g->out + (size_t)n_out * g->rc, &got) != KM_OK)
            return 1;
        n_out += got;
    }
    if (km_temporal_flush(g->ctx, t, g->out + (size_t)n_out * g->rc, &n_flush) != KM_OK)
        return 1;
    return n_out + n_flush == g->nf ? 0 : 1;
}

static int st_temporal_iir(void *a)
{
    grid *g = a;
    return run_temporal(g, g->iir);
}

static int st_temporal_fir(void *a)
{
    grid *g = a;
    return run_temporal(g, g->fir);
}

static int st_spatial(void *a)
{
    grid *g = a;
    for (int64_t i = 0; i < g->nf; i++) {
        km_frame f = frame_in(g, i);
        km_frame_mut o = {g->out + (size_t)i * g->rc, g->rows, g->cols, g->cols};
        if (km_gaussian_apply(g->ctx, g->gauss, &f, NULL, &o) != KM_OK)
            return 1;
    }
    return 0;
}

static int st_metrics(void *a)
{
    grid *g = a;
    for (int64_t i = 0; i < g->nf; i++) {
        km_frame f = frame_in(g, i);
        if (km_frame_metrics(g->ctx, &f, &g->mask, g->info.row_pitch_mm, g->info.col_pitch_mm,
                             1.0, 0.0, INFINITY, &g->met[i]) != KM_OK)
            return 1;
    }
    return 0;
}

static int detect_all_frames(grid *g, km_detector *det)
{
    for (int64_t i = 0; i < g->nf; i++) {
        km_frame f = frame_in(g, i);
        size_t n = 0;
        if (km_detector_apply(g->ctx, det, &f, &g->mask, g->scratch, g->rc, &n) != KM_OK)
            return 1;
    }
    return 0;
}

static int st_detect(void *a)
{
    grid *g = a;
    return detect_all_frames(g, g->det_max);
}

static int st_detect_all(void *a)
{
    grid *g = a;
    return detect_all_frames(g, g->det_all);
}

static int st_odometry(void *a)
{
    grid *g = a;
    km_odometry_reset(g->odometry);
    for (int64_t i = 0; i < g->nf; i++) {
        km_frame f = frame_in(g, i);
        km_odometry_sample s;
        if (km_odometry_update(g->ctx, g->odometry, &f, &g->mask, &s) != KM_OK)
            return 1;
    }
    return 0;
}

/* Objects without a reset are made inside the timed call: their creation
 * is amortised over the frames, as in a session. */
static int st_bodymap(void *a)
{
    grid *g = a;
    km_bodymap *b = NULL;
    km_bodymap_params p;
    km_bodymap_params_default(&p);
    if (km_bodymap_create(g->ctx, KM_MODE_ROLLER, g->rows, g->cols, g->info.row_pitch_mm,
                          g->info.col_pitch_mm, &p, &b) != KM_OK)
        return 1;
    int bad = 0;
    for (int64_t i = 0; i < g->nf && !bad; i++) {
        km_frame f = frame_in(g, i);
        bad = km_bodymap_add(g->ctx, b, &f, &g->mask, &g->odo[i]) != KM_OK;
    }
    km_bodymap_free(b);
    return bad;
}

static int st_candidates(void *a)
{
    grid *g = a;
    km_candidates *c = NULL;
    km_candidate_params p;
    km_candidate_params_default(&p);
    if (km_candidates_create(g->ctx, KM_MODE_ROLLER, g->rows, g->cols, g->info.row_pitch_mm,
                             g->info.col_pitch_mm, &p, &c) != KM_OK)
        return 1;
    int bad = 0;
    for (int64_t i = 0; i < g->nf && !bad; i++) {
        km_frame f = frame_in(g, i);
        bad = km_candidates_add(g->ctx, c, &f, &g->mask, &g->odo[i], g->times[i]) != KM_OK;
    }
    km_candidates_free(c);
    return bad;
}

static int st_track(void *a)
{
    grid *g = a;
    km_tracker *t = NULL;
    km_track_params p;
    km_track buf[64];
    km_track_params_default(&p);
    if (km_tracker_create(g->ctx, &p, &t) != KM_OK)
        return 1;
    int bad = 0;
    for (int64_t i = 0; i < g->nf && !bad; i++) {
        size_t n = g->pk_off[i + 1] - g->pk_off[i];
        const km_peak *pk = g->pk + g->pk_off[i];
        for (size_t k = 0; k < n; k++) {
            g->py[k] = g->odo[i].y_mm + (pk[k].y - g->odo[i].contact_row) * g->info.row_pitch_mm;
            g->px[k] = pk[k].x * g->info.col_pitch_mm;
            g->pv[k] = pk[k].value;
        }
        bad = km_tracker_update(g->ctx, t, i, g->py, g->px, g->pv, n, g->pid) != KM_OK;
        while (km_tracker_pop(t, buf, 64) > 0)
            ;
    }
    if (!bad)
        bad = km_tracker_finish(g->ctx, t) != KM_OK;
    while (km_tracker_pop(t, buf, 64) > 0)
        ;
    km_tracker_free(t);
    return bad;
}

/* The result writer as the pipeline drives it without --save-frames:
 * metrics per block, peaks per frame, the maps, commit (fsync, rename). */
static int st_write(void *a)
{
    grid *g = a;
    km_result_writer *w = NULL;
    km_result_meta meta = {&g->info, g->mask_data, "bench", "session", "knotmap-bench", 0, 1, 0};
    int bad = km_result_writer_create(g->ctx, g->res_path, &meta, &w) != KM_OK;
    for (int64_t i = 0; i < g->nf && !bad; i += 256) {
        int64_t n = g->nf - i < 256 ? g->nf - i : 256;
        bad = km_result_writer_append_frames(g->ctx, w, g->times + i, g->met + i, NULL, n) != KM_OK;
        for (int64_t k = i; k < i + n && !bad; k++)
            bad = km_result_writer_append_peaks(g->ctx, w, k, g->times[k], g->pk + g->pk_off[k],
                                                g->pk_off[k + 1] - g->pk_off[k]) != KM_OK;
    }
    if (!bad)
        bad = km_result_writer_set_maps(g->ctx, w, g->in, g->in) != KM_OK;
    if (!bad)
        bad = km_result_writer_commit(g->ctx, w) != KM_OK;
    km_result_writer_free(w);
    return bad;
}

static int read_file(grid *g, const char *path)
{
    km_reader *r = NULL;
    km_read_options o;
    km_read_options_default(&o);
    if (km_reader_open(g->ctx, path, &o, &r) != KM_OK)
        return 1;
    int64_t total = 0, n = 0;
    int bad = 0;
    do {
        int64_t max = g->nf - total < 256 ? g->nf - total : 256;
        if (max <= 0)
            max = 1; /* the final call must see the end */
        bad = km_reader_read(g->ctx, r, g->out + (size_t)(total % g->nf) * g->rc, g->times, max,
                             &n) != KM_OK;
        total += n;
    } while (!bad && n > 0 && total <= g->nf);
    km_reader_free(r);
    return bad || total != g->nf;
}

static int st_read_tekscan(void *a)
{
    grid *g = a;
    return read_file(g, g->tek_path);
}

static int st_read_session(void *a)
{
    grid *g = a;
    return read_file(g, g->h5_path);
}

static void synth_params(km_synth_params *p, int rows, int cols, double duration_s, uint64_t seed)
{
    km_synth_params_default(p);
    p->rows = rows;
    p->cols = cols;
    p->duration_s = duration_s;
    p->seed = seed;
}

static void grid_setup(grid *g, km_ctx *ctx, int rows, int cols, int64_t nf)
{
    km_synth_params sp;
    km_synth *s = NULL;
    km_status st;
    memset(g, 0, sizeof *g);
    g->ctx = ctx;
    g->rows = rows;
    g->cols = cols;
    g->nf = nf;
    g->rc = (size_t)rows * (size_t)cols;
    synth_params(&sp, rows, cols, (double)nf / 100.0 + 1.0, 1);
    if ((st = km_synth_create(ctx, &sp, &s)) != KM_OK)
        die(ctx, "synth", st);
    km_synth_info(s, &g->info);
    g->info.n_frames = nf;
    g->mask_data = km_synth_mask(s);
    size_t bytes = (size_t)nf * g->rc * sizeof(float);
    g->in = malloc(bytes);
    g->out = malloc(bytes + 512 * g->rc * sizeof(float)); /* FIR flush room */
    g->times = malloc((size_t)nf * sizeof *g->times);
    g->odo = malloc((size_t)nf * sizeof *g->odo);
    g->met = malloc((size_t)nf * sizeof *g->met);
    g->pk_off = malloc((size_t)(nf + 1) * sizeof *g->pk_off);
    g->scratch = malloc(g->rc * sizeof *g->scratch);
    if (!g->in || !g->out || !g->times || !g->odo || !g->met || !g->pk_off || !g->scratch)
        die(NULL, "out of memory", KM_ERR_NOMEM);
    int64_t got = 0;
    while (got < nf) {
        int64_t n = 0;
        if ((st = km_synth_frames(ctx, s, g->in + (size_t)got * g->rc, g->times + got,
                                  nf - got, &n)) != KM_OK || n == 0)
            die(ctx, "synth frames", st);
        got += n;
    }
    /* The synth's mask outlives s only by copy. */
    uint8_t *mask = malloc(g->rc);
    if (mask == NULL)
        die(NULL, "out of memory", KM_ERR_NOMEM);
    memcpy(mask, g->mask_data, g->rc);
    g->mask_data = mask;
    km_synth_free(s);
    km_mask m = {mask, rows, cols, cols};
    g->mask = m;

    km_calib_params_default(&g->calib);
    g->calib.offset = 0.5;
    g->calib.gain = 1.1;
    g->calib.noise_threshold = 1.0;
    km_gaussian_params gp;
    km_gaussian_params_default(&gp); /* sigma 1, truncate 4, nearest, direct */
    if ((st = km_gaussian_create(ctx, rows, cols, &gp, &g->gauss)) != KM_OK)
        die(ctx, "gaussian", st);
    km_process_params pp;
    km_process_params_default(&pp); /* the pipeline's peak parameters */
    km_peak_params pk = pp.peaks;
    pk.want = 0;
    if ((st = km_detector_create(ctx, rows, cols, &pk, &g->det_max)) != KM_OK)
        die(ctx, "detector", st);
    pk.want = KM_WANT_ALL;
    if ((st = km_detector_create(ctx, rows, cols, &pk, &g->det_all)) != KM_OK)
        die(ctx, "detector", st);
    km_temporal_params tp;
    km_temporal_params_default(&tp);
    tp.rate_hz = 100.0;
    tp.cutoff_hz = 10.0;
    tp.kind = KM_TEMPORAL_IIR_LOWPASS;
    if ((st = km_temporal_create(ctx, (int32_t)g->rc, &tp, &g->iir)) != KM_OK) {
        fprintf(stderr, "knotmap-bench: temporal IIR unavailable: %s\n", km_ctx_last_error(ctx));
        g->iir = NULL;
    }
    tp.kind = KM_TEMPORAL_FIR_LOWPASS;
    tp.taps = 101;
    if ((st = km_temporal_create(ctx, (int32_t)g->rc, &tp, &g->fir)) != KM_OK) {
        fprintf(stderr, "knotmap-bench: temporal FIR unavailable: %s\n", km_ctx_last_error(ctx));
        g->fir = NULL;
    }
    km_odometry_params op;
    km_odometry_params_default(&op);
    if ((st = km_odometry_create(ctx, rows, cols, g->info.roller_radius_mm, &op, &g->odometry)) !=
        KM_OK)
        die(ctx, "odometry", st);
    /* Precomputed inputs of the later stages: odometry samples and peaks. */
    size_t cap = 1024, used = 0;
    g->pk = malloc(cap * sizeof *g->pk);
    if (g->pk == NULL)
        die(NULL, "out of memory", KM_ERR_NOMEM);
    for (int64_t i = 0; i < nf; i++) {
        km_frame f = frame_in(g, i);
        size_t n = 0;
        if ((st = km_odometry_update(ctx, g->odometry, &f, &g->mask, &g->odo[i])) != KM_OK)
            die(ctx, "odometry", st);
        if ((st = km_detector_apply(ctx, g->det_all, &f, &g->mask, g->scratch, g->rc, &n)) !=
            KM_OK)
            die(ctx, "detect", st);
        if (used + n > cap) {
            while (used + n > cap)
                cap *= 2;
            km_peak *np = realloc(g->pk, cap * sizeof *np);
            if (np == NULL)
                die(NULL, "out of memory", KM_ERR_NOMEM);
            g->pk = np;
        }
        memcpy(g->pk + used, g->scratch, n * sizeof *g->pk);
        g->pk_off[i] = used;
        used += n;
        if (n > g->max_np)
            g->max_np = n;
    }
    g->pk_off[nf] = used;
    size_t m1 = g->max_np + 1;
    g->py = malloc(m1 * sizeof *g->py);
    g->px = malloc(m1 * sizeof *g->px);
    g->pv = malloc(m1 * sizeof *g->pv);
    g->pid = malloc(m1 * sizeof *g->pid);
    if (!g->py || !g->px || !g->pv || !g->pid)
        die(NULL, "out of memory", KM_ERR_NOMEM);
    snprintf(g->tek_path, sizeof g->tek_path, "%s/grid%dx%d.asf", g_dir, rows, cols);
    snprintf(g->h5_path, sizeof g->h5_path, "%s/grid%dx%d.h5", g_dir, rows, cols);
    snprintf(g->res_path, sizeof g->res_path, "%s/grid%dx%d.knotmap.h5", g_dir, rows, cols);
}

static void grid_write_files(grid *g)
{
    km_tekscan_writer *tw = NULL;
    km_session_writer *sw = NULL;
    km_status st;
    if ((st = km_tekscan_writer_create(g->ctx, g->tek_path, &g->info, g->mask_data, 1, &tw)) !=
            KM_OK ||
        (st = km_tekscan_writer_append(g->ctx, tw, g->in, g->nf)) != KM_OK ||
        (st = km_tekscan_writer_commit(g->ctx, tw)) != KM_OK)
        die(g->ctx, "tekscan export", st);
    km_tekscan_writer_free(tw);
    if ((st = km_session_writer_create(g->ctx, g->h5_path, &g->info, g->mask_data, 1, &sw)) !=
            KM_OK ||
        (st = km_session_writer_append(g->ctx, sw, g->in, g->times, g->nf)) != KM_OK ||
        (st = km_session_writer_commit(g->ctx, sw)) != KM_OK)
        die(g->ctx, "session export", st);
    km_session_writer_free(sw);
}

static void grid_free(grid *g)
{
    km_gaussian_free(g->gauss);
    km_detector_free(g->det_max);
    km_detector_free(g->det_all);
    km_temporal_free(g->iir);
    km_temporal_free(g->fir);
    km_odometry_free(g->odometry);
    free(g->in);
    free(g->out);
    free(g->times);
    free(g->odo);
    free(g->met);
    free(g->pk);
    free(g->pk_off);
    free(g->scratch);
    free(g->py);
    free(g->px);
    free(g->pv);
    free(g->pid);
    free((void *)g->mask_data);
    if (!g_opt.keep) {
        unlink(g->tek_path);
        unlink(g->h5_path);
        unlink(g->res_path);
    }
}

typedef struct stage {
    const char *name;
    bench_fn fn;
    int limit; /* 0 = frames in memory, 1 = tekscan file, 2 = session file, -1 = none */
    const char *note;
} stage;

static double measure(bench_fn fn, void *arg, double *wall)
{
    bench_stat st;
    if (bench_run(fn, arg, g_opt.trials, 0.05, &st) != 0)
        return NAN;
    *wall = st.wall_best;
    return st.cpu_best;
}

static void bench_grid(km_ctx *ctx, int n)
{
    const size_t budget = g_opt.full ? (size_t)1 << 25 : (size_t)1 << 22;
    const size_t cap = (size_t)1 << 24; /* values per buffer: 64 MiB */
    size_t rc = (size_t)n * (size_t)n;
    size_t nf = budget / rc;
    if (nf * rc > cap)
        nf = cap / rc;
    if (nf < 2)
        nf = 2;
    char name[64];
    int any = 0;
    static const stage stages[] = {
        {"read_tekscan", st_read_tekscan, 1, "Tekscan ASCII parse"},
        {"read_session", st_read_session, 2, "session HDF5 (deflate)"},
        {"calibrate", st_calibrate, 0, NULL},
        {"temporal_iir", st_temporal_iir, 0, "Butterworth order 4"},
        {"temporal_fir", st_temporal_fir, 0, "FIR 101 taps, FFT"},
        {"spatial", st_spatial, 0, "gaussian sigma 1 direct"},
        {"metrics", st_metrics, 0, NULL},
        {"detect", st_detect, 0, "local maxima only"},
        {"detect_all", st_detect_all, 0, "+ subpixel, prominence, area"},
        {"odometry", st_odometry, 0, NULL},
        {"bodymap", st_bodymap, 0, NULL},
        {"candidates", st_candidates, 0, NULL},
        {"track", st_track, -1, "per taxel of the frames"},
        {"write", st_write, -1, "result HDF5, no frames"},
    };
    for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++) {
        snprintf(name, sizeof name, "stage/%s/%dx%d", stages[i].name, n, n);
        any |= wanted(name);
    }
    snprintf(name, sizeof name, "stage/prominence/%dx%d", n, n);
    any |= wanted(name);
    if (!any)
        return;
    grid g;
    grid_setup(&g, ctx, n, n, (int64_t)nf);
    grid_write_files(&g);
    double wall = NAN;
    double mem_limit = measure(st_limit, &g, &wall);
    double tek_limit = file_limit(g.tek_path), h5_limit = file_limit(g.h5_path);
    double t_detect = NAN, t_all = NAN;
    for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++) {
        const stage *s = &stages[i];
        snprintf(name, sizeof name, "stage/%s/%dx%d", s->name, n, n);
        int need = wanted(name) || ((s->fn == st_detect || s->fn == st_detect_all) &&
                                    wanted("stage/prominence/"));
        if (!need)
            continue;
        if ((s->fn == st_temporal_iir && g.iir == NULL) ||
            (s->fn == st_temporal_fir && g.fir == NULL)) {
            printf("%-28s %9s   (km_temporal unavailable: %s)\n", name, "", "see stderr");
            continue;
        }
        double sec = measure(s->fn, &g, &wall);
        if (!isfinite(sec)) {
            fprintf(stderr, "knotmap-bench: %s failed: %s\n", name, km_ctx_last_error(ctx));
            continue;
        }
        if (s->fn == st_detect)
            t_detect = sec;
        if (s->fn == st_detect_all)
            t_all = sec;
        double limit = s->limit == 0 ? mem_limit : s->limit == 1 ? tek_limit
                       : s->limit == 2 ? h5_limit : NAN;
        double bytes = s->limit == 1 ? (double)file_size(g.tek_path) : 0.0;
        row r = {name, n, n, (int64_t)nf, sec, wall, limit, -1, bytes, s->note};
        if (wanted(name))
            emit(&r);
    }
    snprintf(name, sizeof name, "stage/prominence/%dx%d", n, n);
    if (wanted(name) && isfinite(t_detect) && isfinite(t_all)) {
        row r = {name, n, n, (int64_t)nf, t_all - t_detect, NAN, mem_limit, -1, 0.0,
                 "detect_all - detect"};
        emit(&r);
    }
    grid_free(&g);
}

/* ------------------------------------------------------- end to end */

typedef struct proc_result {
    double wall, cpu, sys; /* cpu = user + sys of the child */
    long rss_kb, faults;   /* peak RSS, page faults (minor + major) */
    int ok;
    double job_cpu[2];     /* sessions run one after the other: each one's thread CPU time */
} proc_result;

#define PROC_NONE {NAN, NAN, NAN, -1, -1, 0, {NAN, NAN}}
#define PROC_WORST {INFINITY, INFINITY, INFINITY, -1, -1, 0, {NAN, NAN}}

static int process_one(km_ctx *ctx, const char *in, const char *out)
{
    km_process_params p;
    km_process_params_default(&p);
    return km_process(ctx, in, out, &p, NULL) == KM_OK ? 0 : 1;
}

typedef struct thread_job {
    const char *in;
    const char *out;
    int status;
} thread_job;

static void *thread_main(void *a)
{
    thread_job *j = a;
    km_ctx *ctx = NULL;
    j->status = 1;
    if (km_ctx_create(&ctx) == KM_OK) {
        j->status = process_one(ctx, j->in, j->out);
        if (j->status != 0)
            fprintf(stderr, "knotmap-bench: %s: %s\n", j->in, km_ctx_last_error(ctx));
    }
    km_ctx_free(ctx);
    return NULL;
}

static int floor_once(const char *path);

/* Run `n` sessions in a fresh child process (so ru_maxrss is the child's
 * own), on `threads` threads (1: one after the other; 2: one per thread,
 * one km_ctx each); threads = 0: the floor (floor_once) of in[0] instead.
 * The child first takes the command's memory policy (src/cli/
 * memory_policy.c), so that it runs km_process as `knotmap process` does:
 * without it the child took ~3050 page faults on the 60 s session instead
 * of ~300-700, their kernel time counted in its CPU time. */
static proc_result run_child_pages(const char *const *in, const char *const *out, int n,
                                   int threads, int huge_pages)
{
    proc_result res = PROC_NONE;
    /* The child's per-session CPU times come back through a shared page. */
    double *job_cpu = mmap(NULL, 2 * sizeof(double), PROT_READ | PROT_WRITE,
                           MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (job_cpu == MAP_FAILED)
        return res;
    job_cpu[0] = job_cpu[1] = NAN;
    double w0 = bench_clock(CLOCK_MONOTONIC);
    pid_t pid = fork();
    if (pid < 0) {
        munmap(job_cpu, 2 * sizeof(double));
        return res;
    }
    if (pid == 0) {
        /* Without huge pages the peak counts the 4 KiB pages touched. */
        if (!huge_pages && prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0)
            _exit(3);
        km_cli_memory_policy();
        if (threads == 0)
            _exit(floor_once(in[0]));
        thread_job jobs[8];
        pthread_t th[8];
        int bad = 0;
        for (int i = 0; i < n; i++) {
            jobs[i].in = in[i];
            jobs[i].out = out[i];
        }
        if (threads <= 1) {
            for (int i = 0; i < n; i++) {
                double c0 = bench_clock(CLOCK_THREAD_CPUTIME_ID);
                thread_main(&jobs[i]);
                if (i < 2)
                    job_cpu[i] = bench_clock(CLOCK_THREAD_CPUTIME_ID) - c0;
                bad |= jobs[i].status;
            }
        } else {
            for (int i = 0; i < n; i++)
                if (pthread_create(&th[i], NULL, thread_main, &jobs[i]) != 0)
                    _exit(2);
            for (int i = 0; i < n; i++) {
                pthread_join(th[i], NULL);
                bad |= jobs[i].status;
            }
        }
        _exit(bad ? 1 : 0);
    }
    int status = 0;
    struct rusage ru;
    pid_t got = wait4(pid, &status, 0, &ru);
    res.job_cpu[0] = job_cpu[0];
    res.job_cpu[1] = job_cpu[1];
    munmap(job_cpu, 2 * sizeof(double));
    if (got != pid)
        return res;
    res.wall = bench_clock(CLOCK_MONOTONIC) - w0;
    res.cpu = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
              (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
    res.sys = (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
    res.rss_kb = ru.ru_maxrss;
    res.faults = ru.ru_minflt + ru.ru_majflt;
    res.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return res;
}

static proc_result run_child(const char *const *in, const char *const *out, int n, int threads)
{
    return run_child_pages(in, out, n, threads, 1);
}

/* Two sessions in two child processes at once: what `knotmap process -j`
 * could reach without the HDF5 library's global lock in the way. */
static double run_two_procs(const char *const *in, const char *const *out)
{
    double w0 = bench_clock(CLOCK_MONOTONIC);
    pid_t pid[2];
    int ok = 1;
    for (int i = 0; i < 2; i++) {
        pid[i] = fork();
        if (pid[i] < 0)
            return NAN;
        if (pid[i] == 0) {
            km_cli_memory_policy();
            thread_job j = {in[i], out[i], 1};
            thread_main(&j);
            _exit(j.status);
        }
    }
    for (int i = 0; i < 2; i++) {
        int status = 0;
        if (waitpid(pid[i], &status, 0) != pid[i] || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            ok = 0;
    }
    return ok ? bench_clock(CLOCK_MONOTONIC) - w0 : NAN;
}

static void ensure_session(km_ctx *ctx, const char *path, double seconds, uint64_t seed)
{
    km_synth_params sp;
    km_status st;
    struct stat sb;
    if (stat(path, &sb) == 0)
        return;
    synth_params(&sp, 32, 32, seconds, seed);
    fprintf(stderr, "knotmap-bench: writing a %.0f s synthetic session %s\n", seconds, path);
    if ((st = km_synth_write(ctx, &sp, KM_FORMAT_SESSION, path, 1)) != KM_OK)
        die(ctx, "synth write", st);
}

/* The best of `reps` children (CPU time) running km_process on `in`, each
 * writing a new `out` (the old one removed first, outside the timing: a
 * replaced result costs more, the old file's schema read among it, and a
 * user's run mostly writes a new one), or with out == NULL the floor. */
static proc_result best_child(const char *in, const char *out, int reps)
{
    proc_result best = PROC_WORST;
    for (int i = 0; i < reps; i++) {
        const char *ins[1] = {in}, *outs[1] = {out};
        if (out != NULL)
            unlink(out);
        proc_result r = run_child(ins, outs, 1, out != NULL ? 1 : 0);
        if (!r.ok)
            return r;
        if (r.cpu < best.cpu)
            best = r;
    }
    return best;
}

/* Peak RSS of one session, with or without huge pages: the median of three
 * fresh children.  One child's peak moved by up to ~0.5 MB from run to run
 * (massif, 600 s session: the frame shares' buffers at the moment of the
 * peak, 0.35 or 0.55 MB), enough to cross a 2 MiB page either way; the same
 * rule for both. */
static proc_result mem_child(const char *in, const char *out, int huge_pages)
{
    const char *ins[1] = {in}, *outs[1] = {out};
    proc_result r[3];
    for (int i = 0; i < 3; i++) {
        unlink(out);
        if (!(r[i] = run_child_pages(ins, outs, 1, 1, huge_pages)).ok)
            return r[i];
    }
    for (int i = 1; i < 3; i++)
        for (int j = i; j > 0 && r[j].rss_kb < r[j - 1].rss_kb; j--) {
            proc_result t = r[j];
            r[j] = r[j - 1];
            r[j - 1] = t;
        }
    return r[1];
}

static double session_frames(km_ctx *ctx, const char *path)
{
    km_reader *r = NULL;
    km_session_info info;
    km_status st;
    if ((st = km_reader_open(ctx, path, NULL, &r)) != KM_OK)
        die(ctx, path, st);
    km_reader_info(r, &info);
    km_reader_free(r);
    return (double)info.n_frames;
}

static void share_table(double e2e_ns)
{
    static const char *const in_pipeline[] = {"read_session", "calibrate", "metrics", "detect",
                                              "prominence", "odometry", "bodymap",
                                              "candidates", "track", "write"};
    double sum = 0.0;
    printf("\nEnd-to-end profile, 32x32 roller at 100 Hz: share of km_process per stage\n"
           "(stage costs measured alone on the same kind of frames; 'rest' = what km_process\n"
           "spends beyond the sum of its stages: glue, per-taxel maps, summary)\n");
    printf("(budget: %.0f ns per taxel sample in all = 50 M samples/s; 'x budget' = ns / %.0f)\n",
           KM_BUDGET_NS, KM_BUDGET_NS);
    printf("%-16s %10s %8s %9s\n", "stage", "ns/taxel", "share", "x budget");
    for (size_t i = 0; i < sizeof in_pipeline / sizeof in_pipeline[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "stage/%s/32x32", in_pipeline[i]);
        for (int k = 0; k < g_n_rec; k++)
            if (strcmp(g_rec[k].name, want) == 0) {
                double ns = g_rec[k].ns_per_taxel;
                sum += ns;
                printf("%-16s %10.3f %7.1f%% %9.2f\n", in_pipeline[i], ns, 100.0 * ns / e2e_ns,
                       ns / KM_BUDGET_NS);
            }
    }
    printf("%-16s %10.3f %7.1f%% %9.2f\n", "rest", e2e_ns - sum, 100.0 * (e2e_ns - sum) / e2e_ns,
           (e2e_ns - sum) / KM_BUDGET_NS);
    printf("%-16s %10.3f %7.1f%% %9.2f\n", "km_process", e2e_ns, 100.0, e2e_ns / KM_BUDGET_NS);
    if (g_json != NULL)
        fprintf(g_json, "{\"name\":\"e2e/profile_rest\",\"grid\":\"32x32\",\"ns_per_taxel\":%.6g,"
                        "\"stages_ns_per_taxel\":%.6g,\"commit\":\"%s\"}\n",
                e2e_ns - sum, sum, g_opt.commit);
}

/* The floor line: read the session through km_reader (open, read the
 * chunks, decode them: everything km_process must do before any stage) and
 * sum the frames.  No stage can make the end-to-end time lower than this. */
typedef struct floor_arg {
    km_ctx *ctx;
    const char *path;
    float *buf;
    int64_t block;
} floor_arg;

static int floor_sum(void *a)
{
    floor_arg *f = a;
    km_reader *r = NULL;
    km_session_info info;
    int64_t got = 0;
    double s = 0.0;
    if (km_reader_open(f->ctx, f->path, NULL, &r) != KM_OK)
        return 1;
    km_reader_info(r, &info);
    for (;;) {
        if (km_reader_read(f->ctx, r, f->buf, NULL, f->block, &got) != KM_OK) {
            km_reader_free(r);
            return 1;
        }
        if (got == 0)
            break;
        s += sum_floats(f->buf, (size_t)got * (size_t)info.rows * (size_t)info.cols);
    }
    km_reader_free(r);
    g_sink += s;
    return 0;
}

/* The floor once in a fresh process, as a child of run_child: exit status. */
static int floor_once(const char *path)
{
    km_ctx *ctx = NULL;
    if (km_ctx_create(&ctx) != KM_OK)
        return 1;
    floor_arg f = {ctx, path, NULL, 256}; /* 32x32 frames, as session_floor */
    f.buf = malloc((size_t)f.block * 32 * 32 * sizeof(float));
    int rc = f.buf != NULL ? floor_sum(&f) : 1;
    free(f.buf);
    km_ctx_free(ctx);
    return rc;
}

/* The floor in this process, warmed up, best of the trials. */
static double session_floor(km_ctx *ctx, const char *path, int rows, int cols)
{
    floor_arg f = {ctx, path, NULL, 256};
    bench_stat st;
    f.buf = malloc((size_t)f.block * (size_t)rows * (size_t)cols * sizeof(float));
    if (f.buf == NULL)
        return NAN;
    int rc = bench_run(floor_sum, &f, g_opt.trials, 0.05, &st);
    free(f.buf);
    return rc != 0 ? NAN : st.cpu_best;
}

/* e2e/process, e2e/memory_10x and the floor.  The children are forked
 * from the same state of this process (sessions written and opened, no
 * session read here yet): a forked child's ru_maxrss starts from the
 * parent's resident pages, so the read-speed limits (a static 1 MiB
 * buffer) and the warm floor (a read of the session in this process) are
 * measured after them, or a later child would count them.  The floor of
 * record is measured as km_process is, in fresh children (best of 3): a
 * first read in a new process (first-touch pages, HDF5's first open) costs
 * more than the warm loop, and process/floor compares like with like. */

/* The threads rows' children each write new outputs: the old ones are
   removed first, outside the timing.  Before, the first child in sequence
   created the second output while every later child replaced both, and a
   replacement pays more (the old file's schema read at the opening, its
   blocks freed and, on a file system mounted `-o discard`, discarded in the
   rename: 1-9 ms here), so the best of 3 in sequence could be a run that
   wrote its outputs differently (bench/HISTORY.md "Session 43 (burst17)"). */
static void fresh_outputs(const char *const *outs)
{
    unlink(outs[0]);
    unlink(outs[1]);
}

static proc_result run_child_fresh(const char *const *in, const char *const *out, int threads)
{
    fresh_outputs(out);
    return run_child(in, out, 2, threads);
}

/* Scaling without the sessions' imbalance: the same session twice, in
   sequence and on two threads (best of 3 each).  threads/2 above runs two
   sessions of unequal cost, which bounds its speedup below 2x by itself. */
static void threads_same(km_ctx *ctx, const char *sess, const char *const *outs, double frames)
{
    const char *ins[2] = {sess, sess};
    proc_result one = PROC_WORST, two = one;
    for (int rep = 0; rep < 3; rep++) {
        proc_result r1 = run_child_fresh(ins, outs, 1), r2 = run_child_fresh(ins, outs, 2);
        if (!r1.ok || !r2.ok)
            die(ctx, "threads", KM_ERR_INTERNAL);
        if (r1.wall < one.wall)
            one = r1;
        if (r2.wall < two.wall)
            two = r2;
    }
    double load[1] = {NAN};
    getloadavg(load, 1);
    char note[160];
    snprintf(note, sizeof note, "WALL; one session twice, 1 thread each; speedup %.2fx (in sequence %.3f s); "
             "load %.1f", one.wall / two.wall, one.wall, load[0]);
    row w = {"threads/2same", 32, 32, (int64_t)frames, two.wall, two.wall, NAN, two.rss_kb, 0.0, note};
    emit(&w);
}

static void bench_e2e(km_ctx *ctx)
{
    double short_s = g_opt.full ? 600.0 : 60.0;
    char a[4300], longp[4300], ra[4300], rb[4300];
    const char *sess = g_opt.session;
    if (!wanted("e2e/process") && !wanted("e2e/memory") && !wanted("threads/"))
        return;
    if (sess == NULL) {
        snprintf(a, sizeof a, "%s/roller32_%.0fs_seed1.h5", g_dir, short_s);
        ensure_session(ctx, a, short_s, 1);
        sess = a;
    }
    snprintf(ra, sizeof ra, "%s/e2e_a.knotmap.h5", g_dir);
    snprintf(rb, sizeof rb, "%s/e2e_b.knotmap.h5", g_dir);
    double frames = session_frames(ctx, sess), lf = NAN;
    if (wanted("e2e/memory")) {
        double long_s = 10.0 * short_s;
        snprintf(longp, sizeof longp, "%s/roller32_%.0fs_seed1.h5", g_dir, long_s);
        ensure_session(ctx, longp, long_s, 1);
        lf = session_frames(ctx, longp);
    }
    proc_result rp = PROC_NONE, rl = rp, rf = rp;
    if (wanted("e2e/process") && !(rp = best_child(sess, ra, 3)).ok)
        die(ctx, "km_process", KM_ERR_INTERNAL);
    if (wanted("e2e/process") && !(rf = best_child(sess, NULL, 3)).ok)
        die(ctx, "floor", KM_ERR_INTERNAL);
    /* Peak memory, the session and the 10x one, each in one child (the
       command's memory policy puts its heap at the start of a huge page,
       so its peak no longer moves with the address of the heap), and
       again without huge pages (4 KiB granularity: what the session's
       length adds, without the 2 MiB steps). */
    proc_result ms = PROC_NONE, ms4 = ms, rl4 = ms;
    if (wanted("e2e/memory") &&
        (!(ms = mem_child(sess, ra, 1)).ok || !(rl = mem_child(longp, ra, 1)).ok))
        die(ctx, "km_process (memory)", KM_ERR_INTERNAL);
    if (wanted("e2e/memory") && (!(ms4 = mem_child(sess, ra, 0)).ok ||
                                 !(rl4 = mem_child(longp, ra, 0)).ok))
        ms4.rss_kb = rl4.rss_kb = -1; /* huge pages could not be turned off: not shown */
    g_e2e_ns = NAN;
    if (wanted("e2e/process")) {
        double lim = file_limit(sess);
        char note[160];
        snprintf(note, sizeof note, "km_process, best of 3, CPU of the child (sys %.3f s, %ld faults)",
                 rp.sys, rp.faults);
        row w = {"e2e/process", 32, 32, (int64_t)frames, rp.cpu, rp.wall, lim, rp.rss_kb, 0.0,
                 note};
        emit(&w);
        g_e2e_ns = rp.cpu * 1e9 / (frames * 1024.0);
    }
    if (wanted("e2e/memory")) {
        char note[160], small[64] = "not measured";
        if (ms4.rss_kb > 0)
            snprintf(small, sizeof small, "%ld -> %ld KB (%+.1f%%)", ms4.rss_kb, rl4.rss_kb,
                     100.0 * ((double)rl4.rss_kb / (double)ms4.rss_kb - 1.0));
        snprintf(note, sizeof note,
                 "peak %ld -> %ld KB (%+.1f%%) with huge pages as the command; 4 KiB pages %s "
                 "(medians of 3)",
                 ms.rss_kb, rl.rss_kb, 100.0 * ((double)rl.rss_kb / (double)ms.rss_kb - 1.0),
                 small);
        row w = {"e2e/memory_10x", 32, 32, (int64_t)lf, rl.cpu, rl.wall, file_limit(longp),
                 rl.rss_kb, 0.0, note};
        emit(&w);
        if (!g_opt.keep)
            unlink(longp);
    }
    if (wanted("e2e/process")) {
        double lim = file_limit(sess), warm = session_floor(ctx, sess, 32, 32);
        char note[160];
        snprintf(note, sizeof note,
                 "floor: km_reader read+decode+sum, best of 3 children; process/floor %.2fx; "
                 "warm loop %.2f ns", rp.cpu / rf.cpu, warm * 1e9 / (frames * 1024.0));
        row f = {"e2e/floor", 32, 32, (int64_t)frames, rf.cpu, rf.wall, lim, rf.rss_kb, 0.0, note};
        emit(&f);
    }
    if (wanted("threads")) {
        char sess2[4300];
        snprintf(sess2, sizeof sess2, "%s/roller32_%.0fs_seed2.h5", g_dir, short_s);
        ensure_session(ctx, sess2, short_s, 2);
        const char *ins[2] = {sess, sess2}, *outs[2] = {ra, rb};
        proc_result one = PROC_WORST, two = one;
        double procs = INFINITY;
        for (int rep = 0; rep < 3; rep++) {
            proc_result r1 = run_child_fresh(ins, outs, 1), r2 = run_child_fresh(ins, outs, 2);
            fresh_outputs(outs);
            double p2 = run_two_procs(ins, outs);
            if (!r1.ok || !r2.ok || !isfinite(p2))
                die(ctx, "threads", KM_ERR_INTERNAL);
            if (r1.wall < one.wall)
                one = r1;
            if (r2.wall < two.wall)
                two = r2;
            if (p2 < procs)
                procs = p2;
        }
        double f2 = frames + session_frames(ctx, sess2);
        double load[1] = {NAN};
        getloadavg(load, 1);
        char note[160];
        snprintf(note, sizeof note, "WALL; 2 sessions in sequence; load %.1f", load[0]);
        /* Wall time is the figure for scaling: these rows use it as `sec`. */
        row w1 = {"threads/1", 32, 32, (int64_t)f2, one.wall, one.wall, NAN, one.rss_kb, 0.0,
                  note};
        emit(&w1);
        /* Two sessions of unequal cost: two threads can at best take the longer one's
           time, (a + b) / max(a, b) of the sequence (CPU times of the sessions there). */
        double ja = one.job_cpu[0], jb = one.job_cpu[1];
        snprintf(note, sizeof note,
                 "WALL; 2 sessions, 1 thread each; speedup %.2fx; their CPU split bounds it "
                 "at %.2fx; load %.1f",
                 one.wall / two.wall, (ja + jb) / (ja > jb ? ja : jb), load[0]);
        row w2 = {"threads/2", 32, 32, (int64_t)f2, two.wall, two.wall, NAN, two.rss_kb, 0.0,
                  note};
        emit(&w2);
        snprintf(note, sizeof note, "WALL; 2 sessions, 2 processes; speedup %.2fx; load %.1f",
                 one.wall / procs, load[0]);
        row w3 = {"threads/2proc", 32, 32, (int64_t)f2, procs, procs, NAN, -1, 0.0, note};
        emit(&w3);
        threads_same(ctx, sess, outs, 2 * frames);
        if (!g_opt.keep)
            unlink(sess2);
    }
    if (!g_opt.keep) {
        unlink(ra);
        unlink(rb);
        if (g_opt.session == NULL)
            unlink(a);
    }
}

/* ------------------------------------------------------------ main */

static void usage(void)
{
    fputs("usage: knotmap-bench [--quick|--full] [--json FILE] [--case SUBSTR]\n"
          "                     [--grids 16,32,...] [--session FILE.h5] [--commit ID]\n"
          "                     [--trials N] [--tmp DIR] [--keep]\n"
          "Cases: stage/<stage>/<R>x<C>, e2e/process (+ e2e/floor), e2e/memory_10x, threads/1,\n"
          "       threads/2 (+ threads/2proc, threads/2same).\n",
          stderr);
}

static void parse_grids(const char *s)
{
    g_opt.n_grids = 0;
    while (*s != '\0' && g_opt.n_grids < 16) {
        char *end = NULL;
        long v = strtol(s, &end, 10);
        if (end == s || v < 4 || v > 2048) {
            usage();
            exit(64);
        }
        g_opt.grids[g_opt.n_grids++] = (int)v;
        s = *end == ',' ? end + 1 : end;
    }
}

int main(int argc, char **argv)
{
    km_ctx *ctx = NULL;
    g_opt.commit = "unknown";
    g_opt.trials = 0;
    parse_grids("16,32,64,128,256,512,1024");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0)
            g_opt.full = 0;
        else if (strcmp(a, "--full") == 0)
            g_opt.full = 1;
        else if (strcmp(a, "--keep") == 0)
            g_opt.keep = 1;
        else if (v != NULL && strcmp(a, "--json") == 0)
            g_opt.json = argv[++i];
        else if (v != NULL && strcmp(a, "--case") == 0)
            g_opt.only = argv[++i];
        else if (v != NULL && strcmp(a, "--commit") == 0)
            g_opt.commit = argv[++i];
        else if (v != NULL && strcmp(a, "--session") == 0)
            g_opt.session = argv[++i];
        else if (v != NULL && strcmp(a, "--tmp") == 0)
            g_opt.tmp = argv[++i];
        else if (v != NULL && strcmp(a, "--trials") == 0)
            g_opt.trials = atoi(argv[++i]);
        else if (v != NULL && strcmp(a, "--grids") == 0)
            parse_grids(argv[++i]);
        else {
            usage();
            return strcmp(a, "--help") == 0 ? 0 : 64;
        }
    }
    if (g_opt.trials <= 0)
        g_opt.trials = g_opt.full ? 9 : 5;
    if (g_opt.tmp != NULL) {
        snprintf(g_dir, sizeof g_dir, "%s", g_opt.tmp);
        mkdir(g_dir, 0755);
    } else {
        snprintf(g_dir, sizeof g_dir, "%s/knotmap-bench-XXXXXX",
                 getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
        if (mkdtemp(g_dir) == NULL) {
            perror("knotmap-bench: mkdtemp");
            return 1;
        }
    }
    if (g_opt.json != NULL && (g_json = fopen(g_opt.json, "w")) == NULL) {
        perror(g_opt.json);
        return 1;
    }
    if (km_ctx_create(&ctx) != KM_OK)
        return 1;
    printf("knotmap-bench %s, commit %s, %s mode, %d trials, CPU time of the timing thread\n",
           km_version_string(), g_opt.commit, g_opt.full ? "full" : "quick", g_opt.trials);
    /* End to end first: the children it forks start from this process's
       pages, which must not yet hold the large grids (ru_maxrss counts them). */
    table_header("End to end (km_process; rss = peak of a child process running only it)");
    bench_e2e(ctx);
    table_header("Per stage (ns per taxel sample; limit = read-and-sum of the same bytes)");
    for (int i = 0; i < g_opt.n_grids; i++)
        bench_grid(ctx, g_opt.grids[i]);
    if (isfinite(g_e2e_ns) && g_n_rec > 0)
        share_table(g_e2e_ns);
    km_ctx_free(ctx);
    if (g_json != NULL)
        fclose(g_json);
    if (!g_opt.keep && g_opt.tmp == NULL)
        rmdir(g_dir);
    return 0;
}
