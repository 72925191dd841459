/* km_process: one session from a file to a result HDF5, as a driver of
 * the push engine (engine.c): reader -> engine -> result writer.  With
 * threads, the next block is read while the engine works on this one
 * (read-ahead, the executor's hook), and the first one while the result
 * file is created. */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "io/result_writer.h"
#include "pipeline/condition.h"
#include "pipeline/engine_internal.h"
#include "pipeline/params.h"
#include "pipeline/render.h"

void km_process_params_default(km_process_params *p)
{
    if (p == NULL)
        return;
    memset(p, 0, sizeof *p);
    km_read_options_default(&p->read);
    km_calib_params_default(&p->calib);
    km_gaussian_params_default(&p->smooth);
    /* A knot is 3-6 mm across and a taxel 5-10 mm: it shows on one or two
       taxels, and smoothing would flatten exactly what is looked for. */
    p->smooth.sigma_rows = 0.0;
    p->smooth.sigma_cols = 0.0;
    km_peak_params_default(&p->peaks);
    /* Every field set here so the pipeline's defaults are what the header
       and docs/CLI.md say, independent of km_peak_params_default(). */
    p->peaks.min_distance = 2;
    p->peaks.threshold_abs = NAN;
    p->peaks.threshold_rel = 0.1;
    p->peaks.exclude_border = 0;
    p->peaks.plateau = KM_PLATEAU_ONE;
    p->peaks.p_norm = INFINITY;
    p->peaks.num_peaks = -1;
    p->peaks.min_prominence = 0.0;
    p->peaks.saturation = INFINITY;
    p->peaks.want = KM_WANT_ALL;
    p->keep_suspect = 0;
    p->floor_sigmas = 8.0;
    p->zero_rate = NAN; /* KM_ZERO_RATE_ROLLER on a roller, off on a mat */
    p->contact_threshold = 0.0;
    p->block_frames = 256;
    p->save_frames = 0;
    p->overwrite = 1;
    p->command_line = NULL;
    p->progress = NULL;
    p->progress_user = NULL;
    km_track_params_default(&p->track);
    km_candidate_params_default(&p->cand);
    p->lift_threshold = 5.0;
    km_condition_params_default(&p->cond);
    p->n_threads = 1;
    km_equil_params_default(&p->equil);
}

/* /params from the parameter table: the effective values (a header curve
 * resolved, the block size used, the session's saturation filled in) as of
 * the open (the peaks' threshold, for one, is the floor's once the warm-up
 * is over), written later (driver.params_due). */
static void snap_params(const km_engine *e, const km_process_params *p, km_process_params *eff,
                        km_param_run *rec)
{
    *eff = *p;
    eff->cond = e->cp;
    eff->peaks = e->peaks;
    eff->block_frames = e->nb;
    eff->zero_rate = e->zero_rate;
    km_param_run r = {e->info.units, e->physical ? e->calib.gain / p->calib.gain : NAN,
                      e->info.saturation, e->eq};
    *rec = r;
}

/* The reader and its read-ahead buffer. */
typedef struct driver {
    km_reader *reader;
    km_ctx *rctx;              /* read-ahead thread (threads > 1) */
    float *rbuf;               /* read-ahead block (threads > 1) */
    double *rtimes;
    int64_t r_n;
    km_status r_st;
    int64_t nb;
    /* /params, snapped at the open, written during the frames once no
       other thread is in a burst of HDF5 calls (km_h5_burst_begin), at
       the latest after the last frame: ~300 takes of HDF5's lock out of
       the opening burst (bench/HISTORY.md "Session 38 (threads)"). */
    km_process_params eff;
    km_param_run rec;
    int params_due;
    int warm_written; /* write_warm_params */
} driver;

/* The existing target's schema when the open left it (another thread was
   in a burst then), the source header and /params; during the frames (one
   thread) also /candidates' group and empty columns, out of the opening
   and end bursts (bench/HISTORY.md "Session 39 (burst13)", "Session 40
   (burst14)"; the /frames maps are made at the end: km_stage_body_prepare). */
static km_status write_params(km_ctx *ctx, driver *d, km_engine *e, int now)
{
    if (!d->params_due || (!now && km_h5_bursts_elsewhere() > 0))
        return KM_OK;
    d->params_due = 0;
    km_h5_run_begin(); /* one run of HDF5 calls (io/result_writer.h) */
    km_status st = km_result_writer_check_target(ctx, e->writer);
    for (size_t i = 0; i < km_reader_header_count(d->reader) && st == KM_OK; i++) {
        const char *k = NULL, *v = NULL;
        km_reader_header_get(d->reader, i, &k, &v);
        st = km_result_writer_add_header(ctx, e->writer, k, v);
    }
    if (st == KM_OK)
        st = km_params_write(ctx, e->writer, &d->eff, &d->rec);
    if (st == KM_OK && e->nw < 2)
        st = km_stage_body_prepare(ctx, e->writer);
    km_h5_run_end();
    return st;
}

/* The /params the warm-up settles (the bad, offset and suspect taxels, the
 * noise and the peaks' floor: final once the peaks are set up, at the
 * first block out of the conditioner), written as write_params writes
 * /params: during the frames (one thread) after it, when no other thread
 * is in a burst, at the latest after the last frame (bench/HISTORY.md
 * "Session 41 (burst15)"). */
static atomic_ulong warm_params_early;

unsigned long km_process_warm_params_early(void)
{
    return atomic_load(&warm_params_early);
}

static km_status warm_params(km_ctx *ctx, km_engine *e);
static km_status write_warm_params(km_ctx *ctx, driver *d, km_engine *e, int now)
{
    if (d->warm_written ||
        (!now && (d->params_due || !e->peaks_set || e->nw > 1 || km_h5_bursts_elsewhere() > 0)))
        return KM_OK;
    d->warm_written = 1;
    if (!now)
        atomic_fetch_add(&warm_params_early, 1);
    km_h5_run_begin(); /* one run of HDF5 calls (io/result_writer.h) */
    km_status st = warm_params(ctx, e);
    km_h5_run_end();
    return st;
}

static km_status warm_params(km_ctx *ctx, km_engine *e)
{
    km_status st;
    if ((st = km_result_writer_param_i64(ctx, e->writer, "bad_taxels",
                                         km_conditioner_n_bad(e->cond))) != KM_OK ||
        (st = km_result_writer_param_i64(ctx, e->writer, "offset_taxels",
                                         km_conditioner_n_offset(e->cond))) != KM_OK ||
        (st = km_result_writer_param_i64(ctx, e->writer, "suspect_taxels",
                                         km_engine_n_suspect(e))) != KM_OK ||
        (st = km_result_writer_param_f64(ctx, e->writer, "noise", e->noise)) != KM_OK ||
        (st = km_result_writer_param_f64(ctx, e->writer, "peaks_floor", e->floor)) != KM_OK)
        return st;
    char *at = NULL;
    if ((st = km_engine_suspect_at(ctx, e, &at)) == KM_OK)
        st = km_result_writer_param_str(ctx, e->writer, "suspect_taxels_at", at);
    km_free(ctx, at);
    return st;
}

/* The next block into the read-ahead buffer, on one of the executor's
 * workers and its own ctx, while the engine works on the block before. */
static void read_ahead(void *arg)
{
    driver *d = arg;
    d->r_n = 0;
    d->r_st = km_reader_read(d->rctx, d->reader, d->rbuf, d->rtimes, d->nb, &d->r_n);
}

static km_status create_read_ahead(km_ctx *ctx, driver *d, km_engine *e)
{
    km_alloc_ref ref = km_ctx_alloc_ref(ctx);
    size_t rc = (size_t)e->info.rows * (size_t)e->info.cols;
    d->nb = e->nb;
    if (e->nw < 2)
        return KM_OK;
    km_status st = km_ctx_create_with(&ref.a, &d->rctx);
    if (st != KM_OK)
        return km_fail(ctx, st, "cannot create a context for the reading thread");
    d->rbuf = km_alloc(ctx, (size_t)d->nb * rc * sizeof *d->rbuf);
    d->rtimes = km_alloc(ctx, (size_t)d->nb * sizeof *d->rtimes);
    if (d->rbuf == NULL || d->rtimes == NULL)
        return KM_ERR_NOMEM;
    e->ahead = read_ahead;
    e->ahead_user = d;
    e->x.pipelined = 1;
    e->x.end_early = 1;
    return KM_OK;
}

/* Read, push, repeat; then finish the engine's input. */
static km_status stream(km_ctx *ctx, driver *d, km_engine *e, const km_process_params *p,
                        const char *input)
{
    int64_t total = e->info.n_frames, n_in = 0;
    km_status st;
    /* One thread: read into the engine's block (the conditioner copies it). */
    float *in = d->rbuf != NULL ? d->rbuf : e->blk->frames;
    double *in_t = d->rbuf != NULL ? d->rtimes : e->blk->times;
    int ahead = e->ahead_started; /* the read-ahead holds the next block */
    for (;;) {
        int64_t n = 0;
        if (ahead)
            km_exec_wait_ahead(ctx, e); /* computing frames meanwhile */
        if (km_ctx_cancelled(ctx))
            return km_fail(ctx, KM_ERR_CANCELLED, "%s: cancelled", input);
        if (ahead) {
            n = d->r_n;
            if (d->r_st != KM_OK)
                return km_fail(ctx, d->r_st, "%s", km_ctx_last_error(d->rctx));
        } else if ((st = km_reader_read(ctx, d->reader, in, in_t, d->nb, &n)) != KM_OK) {
            return st;
        }
        if (n == 0)
            break;
        e->ahead_wanted = d->rbuf != NULL;
        e->ahead_started = 0;
        st = km_engine_push(ctx, e, in, in_t, n);
        /* No block came out (held back by conditioning): read in turn. */
        ahead = e->ahead_started;
        e->ahead_wanted = 0;
        if (st != KM_OK || (st = write_params(ctx, d, e, 0)) != KM_OK ||
            (st = write_warm_params(ctx, d, e, 0)) != KM_OK)
            return st;
        n_in += n;
        /* Progress counts frames read: conditioning may hold some back. */
        if (p->progress != NULL && p->progress(p->progress_user, n_in, total) != 0)
            return km_fail(ctx, KM_ERR_CANCELLED, "%s: cancelled", input);
    }
    if ((st = write_params(ctx, d, e, 1)) != KM_OK || (st = km_engine_flush(ctx, e)) != KM_OK ||
        (st = km_result_writer_last_frame(ctx, e->writer)) != KM_OK)
        return st;
    km_session_info rd;
    km_reader_info(d->reader, &rd); /* the frames' nan and inf, counted as read */
    if (e->info.n_nonfinite == 0 && rd.n_nonfinite > 0) { /* else the text reader's, at open */
        e->info.n_nonfinite = rd.n_nonfinite;
        e->info.n_fill = rd.n_fill;
        snprintf(e->info.nonfinite_at, sizeof e->info.nonfinite_at, "%s", rd.nonfinite_at);
        km_result_writer_set_nonfinite(e->writer, rd.n_nonfinite, rd.nonfinite_at);
    }
    if ((st = write_warm_params(ctx, d, e, 1)) != KM_OK ||
        (st = km_result_writer_param_f64(ctx, e->writer, "peaks_zero_drift",
                                         km_engine_zero_drift(e))) != KM_OK)
        return st;
    if (km_ctx_cancelled(ctx))
        return km_fail(ctx, KM_ERR_CANCELLED, "%s: cancelled", input);
    return KM_OK;
}

static km_status add_sinks(km_ctx *ctx, km_engine *e, const km_stage_sink *s, int n)
{
    km_status st = KM_OK;
    for (int k = 0; k < n && st == KM_OK; k++)
        st = km_engine_add_sink(ctx, e, &s[k]);
    return st;
}

/* The result file, its source header and /params. */
static km_status open_result(km_ctx *ctx, driver *d, km_engine *e, const km_process_params *p,
                             const char *input, const char *output)
{
    /* With another session's thread in a burst, an existing target's
       schema is read during the frames (write_params), not now. */
    km_result_meta meta = {&e->info, km_reader_mask(d->reader), input,
                           km_format_name(e->info.format), p->command_line,
                           p->save_frames != 0, p->overwrite != 0,
                           km_h5_bursts_elsewhere() > 0};
    km_status st = km_result_writer_create(ctx, output, &meta, &e->writer);
    if (st == KM_OK)
        st = km_stage_track_declare(ctx, &e->trk, e->writer);
    snap_params(e, p, &d->eff, &d->rec);
    d->params_due = 1;
    /* With a writing thread (--threads) the writer is in use during the
       frames: the source header and /params now, as before. */
    if (st == KM_OK && e->nw > 1)
        st = write_params(ctx, d, e, 1);
    return st;
}

km_status km_process(km_ctx *ctx, const char *input, const char *output,
                     const km_process_params *p, km_process_summary *summary)
{
    return km_process_with(ctx, input, output, p, summary, NULL, 0);
}

/* A result under a picture's or a report's name (`-o map.png`, meaning
   `knotmap render`) opened in no viewer of that kind. */
static km_status check_output_name(km_ctx *ctx, const char *output)
{
    if (km_render_format_of_path(output) != 0)
        return km_fail(ctx, KM_ERR_INVALID,
                       "%s: a result is one HDF5 file, not a picture: name it .h5 (knotmap render "
                       "draws its map as PNG, SVG or PDF)", output);
    if (km_report_name(output))
        return km_fail(ctx, KM_ERR_INVALID,
                       "%s: a result is one HDF5 file, not a report: name it .h5 (knotmap report "
                       "writes its HTML page)", output);
    return KM_OK;
}

km_status km_process_with(km_ctx *ctx, const char *input, const char *output,
                          const km_process_params *p_in, km_process_summary *summary,
                          const km_stage_sink *sinks, int n_sinks)
{
    km_process_params pp;
    km_session_info info;
    driver d;
    km_engine *e = NULL;
    km_status st;
    int burst = 0; /* 1: the end burst; 2: the opening */

    memset(&d, 0, sizeof d);
    if (summary != NULL)
        memset(summary, 0, sizeof *summary);
    if (input == NULL || output == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "process: input and output are required");
    if ((st = check_output_name(ctx, output)) != KM_OK)
        return st;
    if (p_in != NULL)
        pp = *p_in;
    else
        km_process_params_default(&pp);
    /* The opening (a burst: the sessions of -j N all need HDF5 now), one
       at a time (km_h5_opening_begin). */
    km_h5_opening_begin();
    burst = 2;
    if ((st = km_reader_open(ctx, input, &pp.read, &d.reader)) != KM_OK)
        goto done;
    km_reader_info(d.reader, &info);
    if ((st = km_result_check_not_input(ctx, output, input)) != KM_OK ||
        (st = km_condition_resolve_curve(ctx, d.reader, &pp.cond)) != KM_OK ||
        (st = km_engine_create(ctx, &info, km_reader_mask(d.reader), &pp, &e)) != KM_OK ||
        (st = add_sinks(ctx, e, sinks, n_sinks)) != KM_OK ||
        (st = create_read_ahead(ctx, &d, e)) != KM_OK)
        goto done;
    km_exec_start_ahead(e); /* the first block is read while the result file is made */
    if ((st = open_result(ctx, &d, e, &pp, input, output)) != KM_OK)
        goto done;
    km_h5_opening_end();
    burst = 0;
    if ((st = stream(ctx, &d, e, &pp, input)) == KM_OK) {
        km_h5_burst_begin(); /* the end: maps, last chunks, tables, commit */
        burst = 1;
        if ((st = km_engine_write_final(ctx, e, summary)) == KM_OK)
            st = km_result_writer_commit(ctx, e->writer);
    }
    if (st == KM_OK && summary != NULL) {
        summary->n_bad_taxels = km_conditioner_n_bad(e->cond);
        summary->n_offset_taxels = km_conditioner_n_offset(e->cond);
        summary->n_suspect_taxels = km_engine_n_suspect(e);
        summary->noise = e->noise;
        summary->peaks_floor = e->floor;
        summary->peaks_zero_drift = km_engine_zero_drift(e);
    }
done:
    /* Every detail names a file: the reader's and writer's already do. */
    if (st != KM_OK && strncmp(km_ctx_last_error(ctx), input, strlen(input)) != 0 &&
        strncmp(km_ctx_last_error(ctx), output, strlen(output)) != 0)
        km_error_prefix(ctx, input);
    if (e != NULL) {
        km_exec_stop(e); /* failed elsewhere while a block was being written */
        km_result_writer_free(e->writer); /* removes the temporary file unless committed */
        e->writer = NULL;
    }
    km_engine_free(e);
    km_ctx_free(d.rctx);
    km_free(ctx, d.rbuf);
    km_free(ctx, d.rtimes);
    km_reader_free(d.reader);
    if (st != KM_OK && summary != NULL)
        memset(summary, 0, sizeof *summary);
    if (burst == 2)
        km_h5_opening_end();
    else if (burst)
        km_h5_burst_end();
    return st;
}
