/* Shared by the fuzz targets: hand the fuzzer's bytes to a reader as a file
 * and drain it under a budget, checking the reader's contract on the way.
 *
 * Readers take a path, so the bytes go to a scratch file in /dev/shm (not a
 * memfd: HDF5 resolves the real path of /proc/self/fd/N and refuses a
 * deleted one); run.sh removes what a crash leaves behind.  A contract violation that is not a memory error (an
 * undocumented status, KM_ERR_INTERNAL, an empty detail, more frames than
 * asked, a frame count that disagrees with the header) aborts with a
 * message, so the fuzzer records it like a crash. */
#ifndef KM_FUZZ_COMMON_H
#define KM_FUZZ_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "knotmap.h"

/* What one input may cost: taxels delivered in total, and the largest grid
 * whose frames are read at all (a legal 4096x4096 header is opened and
 * checked, but reading 64 MB frames would only slow the fuzzer down). */
#define KM_FUZZ_TAXEL_BUDGET ((int64_t)1 << 22)
#define KM_FUZZ_MAX_FRAME_TAXELS ((int64_t)1 << 20)
#define KM_FUZZ_BLOCK 7 /* odd on purpose: blocks end mid-file */

static int km_fuzz_fd = -1;
static char km_fuzz_path[64];

static void km_fuzz_die(const char *what, const char *detail)
{
    fprintf(stderr, "knotmap fuzz: contract violated: %s [%s]\n", what, detail != NULL ? detail : "");
    abort();
}

static void km_fuzz_cleanup(void)
{
    if (km_fuzz_fd >= 0)
        unlink(km_fuzz_path);
}

/* Write `data` as the whole content of the scratch file; returns its path. */
static const char *km_fuzz_file(const uint8_t *data, size_t size)
{
    size_t done = 0;
    if (km_fuzz_fd < 0) {
        snprintf(km_fuzz_path, sizeof km_fuzz_path, "/dev/shm/knotmap-fuzz-XXXXXX");
        km_fuzz_fd = mkstemp(km_fuzz_path);
        if (km_fuzz_fd < 0) {
            snprintf(km_fuzz_path, sizeof km_fuzz_path, "/tmp/knotmap-fuzz-XXXXXX");
            km_fuzz_fd = mkstemp(km_fuzz_path);
        }
        if (km_fuzz_fd < 0)
            km_fuzz_die("cannot create a scratch file", km_fuzz_path);
        atexit(km_fuzz_cleanup);
    }
    if (ftruncate(km_fuzz_fd, 0) != 0)
        km_fuzz_die("ftruncate", km_fuzz_path);
    while (done < size) {
        ssize_t n = pwrite(km_fuzz_fd, data + done, size - done, (off_t)done);
        if (n <= 0)
            km_fuzz_die("pwrite", km_fuzz_path);
        done += (size_t)n;
    }
    return km_fuzz_path;
}

static int km_fuzz_documented(km_status st)
{
    return st == KM_ERR_INVALID || st == KM_ERR_NOMEM || st == KM_ERR_FORMAT || st == KM_ERR_IO ||
           st == KM_ERR_NOT_FOUND || st == KM_ERR_UNSUPPORTED || st == KM_ERR_LIMIT;
}

/* A failure must carry a documented status and a detail that names the file. */
static void km_fuzz_check_failure(km_ctx *ctx, km_status st, const char *path)
{
    const char *detail = km_ctx_last_error(ctx);
    if (!km_fuzz_documented(st))
        km_fuzz_die(km_strerror(st), detail);
    if (detail == NULL || detail[0] == '\0')
        km_fuzz_die("failure without a detail", km_strerror(st));
    if (strstr(detail, path) == NULL)
        km_fuzz_die("detail does not name the file", detail);
}

/* Open `path` with `opt`, check what the reader reports, read every frame
 * in blocks within the budget.  Returns the frames read (-1 if open failed). */
static int64_t km_fuzz_drain(const char *path, const km_read_options *opt)
{
    km_ctx *ctx = NULL;
    km_reader *r = NULL;
    km_session_info info;
    float *frames = NULL;
    double *times = NULL;
    int64_t total = -1, taxels;
    km_status st;

    if (km_ctx_create(&ctx) != KM_OK)
        abort();
    st = km_reader_open(ctx, path, opt, &r);
    if (st != KM_OK) {
        if (r != NULL)
            km_fuzz_die("reader set on failure", km_ctx_last_error(ctx));
        km_fuzz_check_failure(ctx, st, path);
        goto done;
    }
    km_reader_info(r, &info);
    if (info.rows < 1 || info.cols < 1 || info.rows > KM_MAX_DIM || info.cols > KM_MAX_DIM ||
        (int64_t)info.rows * info.cols > KM_MAX_TAXELS)
        km_fuzz_die("open accepted a grid beyond the caps", "");
    taxels = (int64_t)info.rows * info.cols;
    if (info.n_valid < 0 || info.n_valid > taxels)
        km_fuzz_die("n_valid outside [0, rows*cols]", "");
    if (!(info.frame_rate_hz > 0) || !(info.row_pitch_mm > 0) || !(info.col_pitch_mm > 0))
        km_fuzz_die("rate or pitch not positive after open", "");
    if (memchr(info.units, '\0', sizeof info.units) == NULL)
        km_fuzz_die("units not NUL-terminated", "");
    {
        const uint8_t *mask = km_reader_mask(r);
        int64_t valid = 0;
        if (mask == NULL)
            km_fuzz_die("no mask", "");
        for (int64_t i = 0; i < taxels; i++)
            valid += mask[i] != 0;
        if (valid != info.n_valid)
            km_fuzz_die("n_valid disagrees with the mask", "");
    }
    for (size_t i = 0; i < km_reader_header_count(r); i++) {
        const char *k = NULL, *v = NULL;
        km_reader_header_get(r, i, &k, &v);
        if (k == NULL || v == NULL)
            km_fuzz_die("header entry NULL", "");
        (void)strlen(k);
        (void)strlen(v);
    }
    if (taxels > KM_FUZZ_MAX_FRAME_TAXELS)
        goto done;
    frames = malloc((size_t)(KM_FUZZ_BLOCK * taxels) * sizeof *frames);
    times = malloc(KM_FUZZ_BLOCK * sizeof *times);
    if (frames == NULL || times == NULL)
        abort();
    total = 0;
    for (;;) {
        int64_t n = -1, want = KM_FUZZ_BLOCK;
        if ((total + want) * taxels > KM_FUZZ_TAXEL_BUDGET) {
            want = KM_FUZZ_TAXEL_BUDGET / taxels - total;
            if (want < 1)
                break; /* budget spent: a long file, not an error */
        }
        st = km_reader_read(ctx, r, frames, times, want, &n);
        if (st != KM_OK) {
            km_fuzz_check_failure(ctx, st, path);
            break;
        }
        if (n < 0 || n > want)
            km_fuzz_die("read returned more frames than asked", "");
        if (n == 0) {
            /* KM_FUZZ_ALLOW_COUNT_MISMATCH: fuzz past a known, reported
               miscount while its fix is pending. */
            if (info.n_frames >= 0 && total != info.n_frames && getenv("KM_FUZZ_ALLOW_COUNT_MISMATCH") == NULL) {
                char msg[96];
                snprintf(msg, sizeof msg, "header said %lld frames, read %lld", (long long)info.n_frames,
                         (long long)total);
                km_fuzz_die("frame count disagrees with n_frames", msg);
            }
            break;
        }
        total += n;
        /* Touch every value delivered: MSan-style use of uninitialised
           output shows up under valgrind, and a short write under ASan. */
        {
            volatile float sink = 0;
            for (int64_t i = 0; i < n * taxels; i++)
                sink += frames[i];
            (void)sink;
        }
    }

done:
    if (getenv("KM_FUZZ_VERBOSE") != NULL)
        fprintf(stderr, "  -> %s, %lld frames read: %s\n", km_strerror(st), (long long)total,
                km_ctx_last_error(ctx));
    free(frames);
    free(times);
    km_reader_free(r);
    km_ctx_free(ctx);
    return total;
}

/* The array formats (MAT-file, .npy): the first byte's low two bits select
   the time axis (from the file, first, last), the rest is the file. */
static inline void km_fuzz_array(const uint8_t *data, size_t size, km_format format)
{
    km_read_options opt;
    if (size < 1)
        return;
    km_read_options_default(&opt);
    opt.format = format;
    opt.time_axis = (data[0] & 3) == 1 ? 0 : (data[0] & 3) == 2 ? 1 : -1;
    km_fuzz_drain(km_fuzz_file(data + 1, size - 1), &opt);
}

#endif
