/* The running median over time, per taxel (docs/ALGORITHMS.md section 8):
 * a ring of the last `width` frames of the extended stream; small widths
 * sort all taxels at once, wider ones select per taxel. */
#include <string.h>

#include "temporal_internal.h"

/* Up to this width the median sorts all taxels at once with a
 * compare-exchange network (vectorised across taxels); wider windows use
 * quickselect per taxel. */
#define KM_TEMPORAL_NETWORK_WIDTH 15

km_status km_temporal_create_median(km_ctx *ctx, km_temporal *t)
{
    const size_t nt = (size_t)t->nt;
    t->width = t->p.median_width;
    t->delay = (t->width - 1) / 2;
    t->ring = km_alloc(ctx, (size_t)t->width * nt * sizeof *t->ring);
    t->win = km_alloc(ctx, (size_t)t->width * sizeof *t->win);
    if (t->width <= KM_TEMPORAL_NETWORK_WIDTH)
        t->sortbuf = km_alloc(ctx, (size_t)t->width * nt * sizeof *t->sortbuf);
    if (t->ring == NULL || t->win == NULL ||
        (t->width <= KM_TEMPORAL_NETWORK_WIDTH && t->sortbuf == NULL))
        return KM_ERR_NOMEM;
    return KM_OK;
}

/* Odd-even transposition sort of the w ring rows, all taxels at once:
 * w rounds of compare-exchanges between neighbouring rows leave every
 * column sorted; row w/2 is the median.  Order in the ring does not
 * matter for a median. */
static void median_network(km_temporal *t, float *restrict y)
{
    const int32_t nt = t->nt, w = t->width;
    float *buf = t->sortbuf;
    memcpy(buf, t->ring, (size_t)w * (size_t)nt * sizeof *buf);
    for (int32_t round = 0; round < w; round++) {
        for (int32_t r = round % 2; r + 1 < w; r += 2) {
            float *restrict a = buf + (size_t)r * nt;
            float *restrict b = a + nt;
            for (int32_t i = 0; i < nt; i++) {
                float lo = a[i] < b[i] ? a[i] : b[i];
                float hi = a[i] < b[i] ? b[i] : a[i];
                a[i] = lo;
                b[i] = hi;
            }
        }
    }
    memcpy(y, buf + (size_t)(w / 2) * nt, (size_t)nt * sizeof *y);
}

void km_temporal_median_feed(km_temporal *t, const float *frames, int64_t count, int repeat,
                        float *out, int64_t *n_out)
{
    const int32_t nt = t->nt, w = t->width;
    for (int64_t f = 0; f < count; f++) {
        const float *x = repeat ? frames : frames + f * nt;
        memcpy(t->ring + (size_t)t->ring_pos * nt, x, (size_t)nt * sizeof *x);
        t->ring_pos = (t->ring_pos + 1) % w;
        if (t->ring_count < w)
            t->ring_count++;
        if (t->ring_count == w && t->sortbuf != NULL) {
            median_network(t, out + *n_out * nt);
            (*n_out)++;
            t->n_out++;
        } else if (t->ring_count == w) {
            float *y = out + *n_out * nt;
            for (int32_t i = 0; i < nt; i++) {
                for (int32_t j = 0; j < w; j++)
                    t->win[j] = t->ring[(size_t)j * nt + i];
                y[i] = km_select_kth_f(t->win, (size_t)w, (size_t)(w / 2));
            }
            (*n_out)++;
            t->n_out++;
        }
    }
}
