/* Frames of a dense array stored in a file: a MAT-file variable
 * (read_matlab.c) or a NumPy .npy array (read_npy.c).  The values lie in a
 * byte range of the file, zlib-compressed or not; value (t, r, c) is value
 * number t*st + r*sr + c*sc of the range.  When time is the slowest axis the
 * frames are read in order a block at a time (memory: one block); otherwise
 * the array is read whole at the first read (the caller checked it against
 * the memory budget at open). */
#include <string.h>

#include "mat_internal.h"
#include "reader_internal.h"

#define ARRAY_BLOCK_BYTES (1 << 20) /* raw bytes read per step when streaming */

int km_array_streams(const km_array *a)
{
    return a->st == a->R * a->C && ((a->sr == a->C && a->sc == 1) || (a->sr == 1 && a->sc == a->R));
}

void km_array_close(km_reader *r, km_array *a)
{
    km_mat_src_end(&a->src);
    km_reader_release(r, a->raw);
    a->raw = NULL;
    a->raw_cap = 0;
}

static km_status raw_values(km_ctx *ctx, km_reader *r, km_array *a, size_t bytes, int64_t first)
{
    km_status st;
    if (bytes > a->raw_cap) {
        km_reader_release(r, a->raw);
        a->raw = km_reader_alloc(r, bytes);
        a->raw_cap = a->raw != NULL ? bytes : 0;
        if (a->raw == NULL)
            return km_fail(ctx, KM_ERR_NOMEM, "out of memory for %zu bytes of frames", bytes);
    }
    if (a->inline_values != NULL) {
        memcpy(a->raw, a->inline_values, bytes);
        return KM_OK;
    }
    if (!a->started) {
        a->started = 1;
        if ((st = km_mat_src_begin(ctx, &a->src, a->f, a->off, a->bytes, a->z)) != KM_OK)
            return st;
        a->src.crc_on = a->crc_check; /* over the whole member: its .npy header too */
        if ((st = km_mat_src_read(ctx, &a->src, NULL, a->skip, a->at, "values")) != KM_OK)
            return st;
    }
    char what[96];
    snprintf(what, sizeof what, "%s from frame %lld", a->name, (long long)first + 1);
    return km_mat_src_read(ctx, &a->src, a->raw, bytes, a->at, what);
}

static km_status array_frames(km_ctx *ctx, km_reader *r, km_array *a, int64_t first, int64_t n, float *frames)
{
    size_t R = (size_t)a->R, C = (size_t)a->C, es = km_mat_type_size(a->type);
    size_t frame_bytes = R * C * es;
    int stream = km_array_streams(a);
    km_status st;
    if (!stream && !a->whole) {
        if ((st = raw_values(ctx, r, a, (size_t)a->T * frame_bytes, 0)) != KM_OK)
            return st;
        a->whole = 1;
    }
    for (int64_t done = 0; done < n;) {
        int64_t k = n - done, t0 = first + done, base = 0;
        if (km_ctx_cancelled(ctx))
            return km_fail(ctx, KM_ERR_CANCELLED, "cancelled");
        if (stream) { /* whole frames in order: a block of them */
            int64_t fit = (int64_t)(ARRAY_BLOCK_BYTES / frame_bytes);
            k = k < (fit > 0 ? fit : 1) ? k : (fit > 0 ? fit : 1);
            if ((st = raw_values(ctx, r, a, (size_t)k * frame_bytes, t0)) != KM_OK)
                return st;
            base = -t0 * a->st;
        }
        for (int64_t f = 0; f < k; f++) {
            float *out = frames + (size_t)(done + f) * R * C;
            int64_t t = base + (t0 + f) * a->st;
            for (size_t i = 0; i < R; i++) /* a row: C values, sc apart */
                km_mat_run_f(a->raw, (size_t)(t + (int64_t)i * a->sr), (size_t)a->sc, C, a->type, a->swap,
                             out + i * C);
        }
        done += k;
    }
    return KM_OK;
}

km_status km_array_read(km_ctx *ctx, km_reader *r, km_array *a, float *frames, double *times, int64_t max_frames,
                        int64_t *n_read)
{
    int64_t n = a->T - a->next;
    km_status st;
    *n_read = 0;
    if (n > max_frames)
        n = max_frames;
    if (n <= 0)
        return KM_OK;
    if ((st = array_frames(ctx, r, a, a->next, n, frames)) != KM_OK)
        return st;
    if (a->crc_check && a->next + n == a->T && a->src.pos == a->crc_len &&
        (st = km_mat_src_crc(ctx, &a->src, a->crc_want, a->name, a->at)) != KM_OK)
        return st;
    for (int64_t i = 0; times != NULL && i < n; i++)
        times[i] = a->time != NULL ? a->time[a->next + i] : (double)(a->next + i) / r->info.frame_rate_hz;
    a->next += n;
    *n_read = n;
    return KM_OK;
}
