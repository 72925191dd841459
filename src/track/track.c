/* Tracking: link each frame's peaks to the tracks of the frames before
 * (docs/ALGORITHMS.md 9).  Greedy nearest-neighbour over all (peak, track)
 * pairs inside the gate, with one tie rule, so the result is a pure
 * function of the input and needs no assignment solver.  A frame with many
 * peaks and tracks finds its pairs through a grid of cells (gate_grid),
 * the same pairs as the loop over every track. */
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

typedef struct gridpos {
    double y, x;               /* a copy of the track's last position */
    size_t slot;
} gridpos;

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
    /* The gate's grid (built per frame when it pays): tracks in cell order,
       cell k's tracks at gp[start[k] .. start[k + 1]). */
    gridpos *gp;
    size_t cap_gp;
    size_t *start;
    size_t cap_start;
    int64_t *cell;             /* per slot: its cell, -1 without a position */
    size_t cap_cell;
    double gc;                 /* cell side */
    int64_t gy0, gx0, gy1, gx1; /* first and last row and column */
    size_t gw;                 /* columns */
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
    km_ref_free(&a, t->gp);
    km_ref_free(&a, t->start);
    km_ref_free(&a, t->cell);
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
 * one pair), so every correct sort gives the same array: up to 64 pairs (a
 * crowded mat frame has ~30) by insertion, without qsort's calls per
 * comparison. */
static void sort_pairs(pair *a, size_t n)
{
    if (n > 64) {
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

/* The grid pays from this many (peak, track) candidates in a frame: below,
   building it costs more than the loop over every track saves. */
#define GRID_MIN_PAIRS 256
/* Tracks' cells within +-2^30 of 0 (quotients v / c within 2^-23), peaks'
   within +-2^31 (2^-22): a peak beyond is more than a cell from them all. */
#define GRID_QMAX 1073741824.0

/* The cell of v, trunc(v / c), into *k when |v / c| <= lim (NaN: never).
   Truncation is monotone with steps of at least 1 (the cell about 0 is two
   wide), so quotients less than 1 apart fall in cells at most 1 apart. */
static inline int cell_index(double v, double c, double lim, int64_t *k)
{
    double q = v / c;
    if (!(fabs(q) <= lim))
        return 0;
    *k = (int64_t)q;
    return 1;
}

/* The gate's grid.  Each active track with a finite position goes in the
   cell (y / c, x / c) of side c = gate (1 + 2^-20).  A pair
   inside the gate has |dy| and |dx| <= gate (1 + 3u) (u = 2^-53: the
   difference, the squares and the sum each rounded, rounding monotone), so
   the exact quotients differ by under 1 - 2^-21 and the rounded ones (a
   track's within 2^-23, a peak's 2^-22: GRID_QMAX) by under 1: the peak's cell and its eight
   neighbours hold every track of its pairs.  Returns *ok 0 (the caller
   loops over every track) when a position is beyond 2^30 cells or the
   grid would hold more than 8 cells a track + 256 (clearing and summing
   a cell's count costs a few instructions, placing a track some 40). */
static km_status gate_grid(km_ctx *ctx, km_tracker *t, int *ok)
{
    km_status st;
    double c = t->p.gate_mm * (1.0 + 0x1p-20);
    int64_t y0 = INT64_MAX, y1 = INT64_MIN, x0 = INT64_MAX, x1 = INT64_MIN, *cell;
    *ok = 0;
    if ((st = grow(ctx, (void **)&t->cell, &t->cap_cell, 2 * t->n_act, sizeof *t->cell)) != KM_OK)
        return st;
    cell = t->cell;
    for (size_t j = 0; j < t->n_act; j++) {
        int64_t *k = cell + 2 * j;
        k[0] = INT64_MIN; /* NaN: never inside the gate */
        if (!isfinite(t->act[j].y) || !isfinite(t->act[j].x))
            continue;
        if (!cell_index(t->act[j].y, c, GRID_QMAX, k) || !cell_index(t->act[j].x, c, GRID_QMAX, k + 1))
            return KM_OK;
        y0 = k[0] < y0 ? k[0] : y0, y1 = k[0] > y1 ? k[0] : y1;
        x0 = k[1] < x0 ? k[1] : x0, x1 = k[1] > x1 ? k[1] : x1;
    }
    if (y0 > y1 || (double)(y1 - y0 + 1) * (double)(x1 - x0 + 1) > 8.0 * (double)t->n_act + 256.0)
        return KM_OK;
    size_t w = (size_t)(x1 - x0) + 1, ncell = (size_t)(y1 - y0 + 1) * w;
    if ((st = grow(ctx, (void **)&t->start, &t->cap_start, ncell + 1, sizeof *t->start)) != KM_OK ||
        (st = grow(ctx, (void **)&t->gp, &t->cap_gp, t->n_act, sizeof *t->gp)) != KM_OK)
        return st;
    memset(t->start, 0, (ncell + 1) * sizeof *t->start);
    for (size_t j = 0; j < t->n_act; j++) {
        int64_t k = cell[2 * j] == INT64_MIN ? -1 : (cell[2 * j] - y0) * (int64_t)w + (cell[2 * j + 1] - x0);
        cell[j] = k; /* j <= 2j: read before written */
        t->start[k + 1] += k >= 0;
    }
    for (size_t k = 0; k < ncell; k++)
        t->start[k + 1] += t->start[k];
    for (size_t j = 0; j < t->n_act; j++) /* start[k] ends as cell k + 1's start */
        if (cell[j] >= 0)
            t->gp[t->start[cell[j]]++] = (gridpos){t->act[j].y, t->act[j].x, j};
    memmove(t->start + 1, t->start, ncell * sizeof *t->start);
    t->start[0] = 0;
    t->gc = c, t->gy0 = y0, t->gy1 = y1, t->gx0 = x0, t->gx1 = x1, t->gw = w;
    *ok = 1;
    return KM_OK;
}

/* Peak i's pairs inside the gate from the tracks of its cell and the eight
   around it, appended at q[np]; returns the new count. */
static size_t grid_pairs(const km_tracker *t, size_t i, double y, double x, double gate2, pair *q,
                         size_t np)
{
    int64_t qy, qx;
    if (!cell_index(y, t->gc, 2 * GRID_QMAX, &qy) || !cell_index(x, t->gc, 2 * GRID_QMAX, &qx))
        return np;
    int64_t r0 = qy - 1 > t->gy0 ? qy - 1 : t->gy0, r1 = qy + 1 < t->gy1 ? qy + 1 : t->gy1;
    int64_t c0 = qx - 1 > t->gx0 ? qx - 1 : t->gx0, c1 = qx + 1 < t->gx1 ? qx + 1 : t->gx1;
    const gridpos *g = t->gp;
    for (int64_t r = r0; r <= r1 && c0 <= c1; r++) {
        size_t row = (size_t)(r - t->gy0) * t->gw;
        size_t e = t->start[row + (size_t)(c1 - t->gx0) + 1];
        for (size_t k = t->start[row + (size_t)(c0 - t->gx0)]; k < e; k++) {
            double dy = y - g[k].y, dx = x - g[k].x;
            double d2 = dy * dy + dx * dx;
            q[np] = (pair){d2, i, g[k].slot};
            np += d2 <= gate2; /* as the loop over every track: same operands */
        }
    }
    return np;
}

/* Every (peak, track) pair inside the gate, in no particular order (the
   caller sorts them by pair_cmp, a total order).  Each pair is stored and
   kept only when inside (the count advances by the test, not a branch:
   which tracks a peak's gate holds does not predict); the room for a
   peak's n_act candidates is made before its loop. */
static km_status gate_pairs(km_ctx *ctx, km_tracker *t, const double *y_mm, const double *x_mm,
                            size_t n, int32_t *ids, size_t *out)
{
    km_status st;
    double gate2 = t->p.gate_mm * t->p.gate_mm;
    size_t np = 0;
    int grid = 0;
    if (n * t->n_act >= GRID_MIN_PAIRS && (st = gate_grid(ctx, t, &grid)) != KM_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        ids[i] = -1;
        if (!isfinite(y_mm[i]) || !isfinite(x_mm[i]))
            continue;
        if (np + t->n_act > t->cap_pairs &&
            (st = grow(ctx, (void **)&t->pairs, &t->cap_pairs, np + t->n_act, sizeof *t->pairs)) != KM_OK)
            return st;
        pair *q = t->pairs;
        if (grid) {
            np = grid_pairs(t, i, y_mm[i], x_mm[i], gate2, q, np);
            continue;
        }
        for (size_t j = 0; j < t->n_act; j++) {
            double dy = y_mm[i] - t->act[j].y, dx = x_mm[i] - t->act[j].x;
            double d2 = dy * dy + dx * dx;
            q[np] = (pair){d2, i, j};
            np += d2 <= gate2; /* NaN: outside */
        }
    }
    *out = np;
    return KM_OK;
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

    /* Every (peak, track) pair inside the gate, nearest first. */
    size_t np = 0;
    if ((st = gate_pairs(ctx, t, y_mm, x_mm, n, ids, &np)) != KM_OK)
        return st;
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
