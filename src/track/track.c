/* Tracking: link each frame's peaks to the tracks of the frames before
 * (docs/ALGORITHMS.md 9).  Greedy nearest-neighbour over all (peak, track)
 * pairs inside the gate, with one tie rule, so the result is a pure
 * function of the input and needs no assignment solver. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct active {
    int32_t id;
    int64_t first, last, n;
    double y, x;               /* last position: knots and heels do not move */
    double sy, sx;
    float vmax;
} active;

typedef struct pair {
    double d2;
    size_t peak;
    size_t slot;               /* index into act[], which is in id order */
} pair;

struct km_tracker {
    km_alloc_ref alloc;
    km_track_params p;
    int64_t last_frame;        /* -1 before the first update */
    int32_t next_id;
    active *act;
    size_t n_act, cap_act;
    km_track *done;            /* ended, not yet popped: [head, n_done) */
    size_t head, n_done, cap_done;
    pair *pairs;
    size_t cap_pairs;
    uint8_t *used;             /* per slot: linked in this frame */
    size_t cap_used;
};

void km_track_params_default(km_track_params *p)
{
    if (p == NULL)
        return;
    p->gate_mm = 15.0;
    p->max_gap = 2;
}

km_status km_tracker_create(km_ctx *ctx, const km_track_params *p, km_tracker **out)
{
    km_track_params d;
    if (out == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "tracker: NULL out");
    *out = NULL;
    if (p == NULL) {
        km_track_params_default(&d);
        p = &d;
    }
    if (!(p->gate_mm > 0.0) || !isfinite(p->gate_mm) || p->max_gap < 0)
        return km_fail(ctx, KM_ERR_INVALID, "tracker: gate_mm must be > 0 and max_gap >= 0");
    km_tracker *t = km_calloc(ctx, 1, sizeof *t);
    if (t == NULL)
        return KM_ERR_NOMEM;
    t->alloc = km_ctx_alloc_ref(ctx);
    t->p = *p;
    t->last_frame = -1;
    *out = t;
    return KM_OK;
}

void km_tracker_free(km_tracker *t)
{
    if (t == NULL)
        return;
    km_alloc_ref a = t->alloc;
    km_ref_free(&a, t->act);
    km_ref_free(&a, t->done);
    km_ref_free(&a, t->pairs);
    km_ref_free(&a, t->used);
    km_ref_free(&a, t);
}

/* Grow *buf to hold at least `need` elements of `size` bytes (doubling). */
static km_status grow(km_ctx *ctx, void **buf, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return KM_OK;
    size_t n = *cap > 0 ? *cap : 16, bytes;
    while (n < need)
        n *= 2;
    if (!km_size_mul(n, size, &bytes))
        return km_fail(ctx, KM_ERR_LIMIT, "tracker: too many peaks or tracks");
    void *p = km_alloc(ctx, bytes);
    if (p == NULL)
        return KM_ERR_NOMEM;
    if (*cap > 0)
        memcpy(p, *buf, *cap * size);
    km_free(ctx, *buf);
    *buf = p;
    *cap = n;
    return KM_OK;
}

/* Move the tracks that satisfy `ends` to the done queue, keeping act[] in
 * id order; the batch goes in order of (last frame, id). */
static km_status end_tracks(km_ctx *ctx, km_tracker *t, int64_t frame, int all)
{
    size_t keep = 0, first_new;
    if (t->head > 0 && t->head == t->n_done)
        t->head = t->n_done = 0;
    first_new = t->n_done;
    for (size_t i = 0; i < t->n_act; i++) {
        active *a = &t->act[i];
        if (!all && frame - a->last - 1 <= t->p.max_gap) {
            t->act[keep++] = *a;
            continue;
        }
        km_status st = grow(ctx, (void **)&t->done, &t->cap_done, t->n_done + 1, sizeof *t->done);
        if (st != KM_OK)
            return st;
        km_track *k = &t->done[t->n_done++];
        k->track = a->id;
        k->first_frame = a->first;
        k->last_frame = a->last;
        k->n_frames = a->n;
        k->y_mean = a->sy / (double)a->n;
        k->x_mean = a->sx / (double)a->n;
        k->value_max = a->vmax;
    }
    t->n_act = keep;
    /* Insertion sort of the batch by last frame (stable: ids stay in order). */
    for (size_t i = first_new + 1; i < t->n_done; i++) {
        km_track k = t->done[i];
        size_t j = i;
        while (j > first_new && t->done[j - 1].last_frame > k.last_frame) {
            t->done[j] = t->done[j - 1];
            j--;
        }
        t->done[j] = k;
    }
    return KM_OK;
}

static int pair_cmp(const void *a, const void *b)
{
    const pair *p = a, *q = b;
    if (p->d2 != q->d2)
        return p->d2 < q->d2 ? -1 : 1;
    if (p->peak != q->peak)
        return p->peak < q->peak ? -1 : 1;
    return p->slot < q->slot ? -1 : p->slot > q->slot;
}

/* Pairs nearest first.  pair_cmp is a total order (a peak and a slot make
 * one pair), so every correct sort gives the same array: a few dozen pairs
 * (the usual frame) by insertion, without qsort's calls per comparison. */
static void sort_pairs(pair *a, size_t n)
{
    if (n > 32) {
        qsort(a, n, sizeof *a, pair_cmp);
        return;
    }
    for (size_t k = 1; k < n; k++) {
        pair x = a[k];
        size_t j = k;
        for (; j > 0 && pair_cmp(&x, &a[j - 1]) < 0; j--)
            a[j] = a[j - 1];
        a[j] = x;
    }
}

static void link_peak(active *a, int64_t frame, double y, double x, float v)
{
    a->last = frame;
    a->n++;
    a->y = y;
    a->x = x;
    a->sy += y;
    a->sx += x;
    if (v > a->vmax)
        a->vmax = v;
}

km_status km_tracker_update(km_ctx *ctx, km_tracker *t, int64_t frame, const double *y_mm,
                            const double *x_mm, const float *value, size_t n, int32_t *ids)
{
    km_status st;
    if (t == NULL || (n > 0 && (y_mm == NULL || x_mm == NULL || value == NULL || ids == NULL)))
        return km_fail(ctx, KM_ERR_INVALID, "tracker: NULL argument");
    if (frame <= t->last_frame)
        return km_fail(ctx, KM_ERR_INVALID, "tracker: frame %lld after frame %lld",
                       (long long)frame, (long long)t->last_frame);
    t->last_frame = frame;
    if ((st = end_tracks(ctx, t, frame, 0)) != KM_OK)
        return st;

    /* Every (peak, track) pair inside the gate, nearest first.  Each pair
       is stored and kept only when inside (the count advances by the test,
       not a branch: which tracks a peak's gate holds does not predict); the
       room for a peak's n_act candidates is made before its loop. */
    double gate2 = t->p.gate_mm * t->p.gate_mm;
    size_t np = 0;
    for (size_t i = 0; i < n; i++) {
        ids[i] = -1;
        if (!isfinite(y_mm[i]) || !isfinite(x_mm[i]))
            continue;
        if ((st = grow(ctx, (void **)&t->pairs, &t->cap_pairs, np + t->n_act, sizeof *t->pairs)) != KM_OK)
            return st;
        pair *q = t->pairs;
        for (size_t j = 0; j < t->n_act; j++) {
            double dy = y_mm[i] - t->act[j].y, dx = x_mm[i] - t->act[j].x;
            double d2 = dy * dy + dx * dx;
            q[np] = (pair){d2, i, j};
            np += d2 <= gate2; /* NaN: outside */
        }
    }
    if ((st = grow(ctx, (void **)&t->used, &t->cap_used, t->n_act + 1, 1)) != KM_OK)
        return st;
    memset(t->used, 0, t->n_act);
    sort_pairs(t->pairs, np);
    for (size_t k = 0; k < np; k++) {
        const pair *q = &t->pairs[k];
        if (ids[q->peak] >= 0 || t->used[q->slot])
            continue;
        t->used[q->slot] = 1;
        active *a = &t->act[q->slot];
        ids[q->peak] = a->id;
        link_peak(a, frame, y_mm[q->peak], x_mm[q->peak], value[q->peak]);
    }

    /* The rest start tracks, in peak order: ids follow first appearance. */
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= 0)
            continue;
        if (t->next_id == INT32_MAX)
            return km_fail(ctx, KM_ERR_LIMIT, "tracker: more than %d tracks", INT32_MAX);
        if ((st = grow(ctx, (void **)&t->act, &t->cap_act, t->n_act + 1, sizeof *t->act)) != KM_OK)
            return st;
        active *a = &t->act[t->n_act++];
        memset(a, 0, sizeof *a);
        a->id = t->next_id++;
        a->first = frame;
        a->vmax = -INFINITY;
        ids[i] = a->id;
        link_peak(a, frame, isfinite(y_mm[i]) ? y_mm[i] : NAN, isfinite(x_mm[i]) ? x_mm[i] : NAN,
             value[i]);
    }
    return KM_OK;
}

km_status km_tracker_finish(km_ctx *ctx, km_tracker *t)
{
    if (t == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "tracker: NULL tracker");
    return end_tracks(ctx, t, 0, 1);
}

size_t km_tracker_pop(km_tracker *t, km_track *out, size_t capacity)
{
    if (t == NULL || out == NULL)
        return 0;
    size_t n = t->n_done - t->head;
    if (n > capacity)
        n = capacity;
    if (n == 0)
        return 0; /* done may still be NULL: memcpy from NULL is undefined even for 0 bytes */
    memcpy(out, t->done + t->head, n * sizeof *out);
    t->head += n;
    if (t->head == t->n_done)
        t->head = t->n_done = 0;
    return n;
}

int64_t km_tracker_count(const km_tracker *t)
{
    return t != NULL ? t->next_id : 0;
}
