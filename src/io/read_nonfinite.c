/* The frames' nan and inf values, counted as km_reader_read delivers them:
 * every format but a text matrix, whose reader counts its own at open with
 * their line and column (read_text.c; its frames are read by the scan all
 * the same, so that a bad value is found as in any other format).  One count for `knotmap info`,
 * `process` and Python's read_session (bench/HISTORY.md "Session 39
 * (user10)", "Session 40 (user11)"). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "reader_internal.h"

/* The nan and inf values of f[0..n) (n < 2^32), on the bits so that it
 * vectorises (a 32-bit count: four or eight lanes a vector). */
static inline uint32_t nonfinite_body(const float *restrict f, size_t n)
{
    uint32_t bad = 0;
    for (size_t k = 0; k < n; k++) {
        uint32_t b;
        memcpy(&b, &f[k], sizeof b);
        bad += (b & 0x7f800000u) == 0x7f800000u;
    }
    return bad;
}

#if KM_AVX2_TARGET
__attribute__((target("avx2"))) static uint32_t nonfinite_avx2(const float *restrict f, size_t n)
{
    return nonfinite_body(f, n);
}
#endif

void km_reader_count_nonfinite(km_reader *r, const float *f, int64_t n)
{
    const size_t chunk = (size_t)1 << 30;
    const size_t rc = (size_t)r->info.rows * (size_t)r->info.cols;
    size_t all = (size_t)n * rc;
    int64_t bad = 0;
    for (size_t k = 0; k < all; k += chunk) {
        size_t m = all - k < chunk ? all - k : chunk;
#if KM_AVX2_TARGET
        if (r->avx2) {
            bad += nonfinite_avx2(f + k, m);
            continue;
        }
#endif
        bad += nonfinite_body(f + k, m);
    }
    if (bad > 0 && r->info.n_nonfinite == 0) {
        size_t k = 0;
        while (isfinite(f[k]))
            k++;
        size_t t = k % rc;
        snprintf(r->info.nonfinite_at, sizeof r->info.nonfinite_at, "0-based frame %lld, row %d, column %d",
                 (long long)(r->frames_done + (int64_t)(k / rc)), (int)(t / (size_t)r->info.cols),
                 (int)(t % (size_t)r->info.cols));
    }
    r->info.n_nonfinite += bad;
}

km_status km_reader_scan_at_most(km_ctx *ctx, km_reader *reader, int64_t max_values,
                                 km_session_info *out, int64_t *n_read, int *all)
{
    if (all != NULL)
        *all = 1;
    if (n_read != NULL)
        *n_read = 0;
    if (reader == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "km_reader_scan: NULL reader");
    km_status st = KM_OK;
    {   /* a text matrix, which counted at open, is read too: every value checked */
        size_t rc = (size_t)reader->info.rows * (size_t)reader->info.cols;
        int64_t nb = (int64_t)((4u << 20) / (rc * sizeof(float)));
        nb = nb < 1 ? 1 : nb > 256 ? 256 : nb;
        /* The frames that hold max_values values, the last one's partly. */
        int64_t cap = max_values > 0 ? (int64_t)(((uint64_t)max_values + rc - 1) / rc) : INT64_MAX;
        float *buf = km_reader_alloc(reader, (size_t)nb * rc * sizeof *buf);
        if (buf == NULL)
            return km_fail(ctx, KM_ERR_NOMEM, "%s: out of memory", reader->path);
        int64_t n = 0, ended = 0;
        while (reader->frames_done < cap &&
               (st = km_reader_read(ctx, reader, buf, NULL,
                                    cap - reader->frames_done < nb ? cap - reader->frames_done : nb,
                                    &n)) == KM_OK && !(ended = n == 0))
            ;
        km_reader_release(reader, buf);
        int whole = ended || (reader->info.n_frames >= 0 && reader->frames_done >= reader->info.n_frames);
        if (st == KM_OK && reader->info.n_frames < 0 && ended)
            reader->info.n_frames = reader->frames_done;
        if (all != NULL) /* a text matrix's count is the whole file's, read or not */
            *all = whole || !reader->count_nonfinite;
    }
    if (n_read != NULL)
        *n_read = reader->frames_done;
    if (st == KM_OK)
        km_reader_info(reader, out);
    return st;
}

km_status km_reader_scan(km_ctx *ctx, km_reader *reader, km_session_info *out)
{
    return km_reader_scan_at_most(ctx, reader, 0, out, NULL, NULL);
}
