/* Prominence by topological persistence (superlevel-set filtration,
 * 8-connected, union-find) and the basin area of a peak.
 * See docs/ALGORITHMS.md 3.5. */
#include <math.h>
#include <string.h>

#include "prominence.h"

#define UNSET UINT32_MAX

/* Ascending-order key of a float (no -0.0, no NaN: the caller normalised). */
static inline uint32_t float_key(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* Stable LSD radix sort of (key, ord) pairs by key ascending, 3 passes of
 * 11 bits.  The result ends in key/ord (pointers may be swapped). */
static void radix_sort(uint32_t **key, uint32_t **ord, uint32_t **key2, uint32_t **ord2, size_t m)
{
    size_t hist[2048];
    for (int pass = 0; pass < 3; pass++) {
        int shift = pass * 11;
        uint32_t *k = *key, *o = *ord, *k2 = *key2, *o2 = *ord2;
        memset(hist, 0, sizeof hist);
        for (size_t i = 0; i < m; i++)
            hist[(k[i] >> shift) & 2047u]++;
        size_t sum = 0;
        for (size_t b = 0; b < 2048; b++) {
            size_t h = hist[b];
            hist[b] = sum;
            sum += h;
        }
        for (size_t i = 0; i < m; i++) {
            size_t dst = hist[(k[i] >> shift) & 2047u]++;
            k2[dst] = k[i];
            o2[dst] = o[i];
        }
        *key = k2;
        *ord = o2;
        *key2 = k;
        *ord2 = o;
    }
}

static inline uint32_t uf_find(uint32_t *parent, uint32_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

/* a comes before b in the total order (value descending, index ascending). */
static inline int older(const float *san, uint32_t a, uint32_t b)
{
    return san[a] > san[b] || (san[a] == san[b] && a < b);
}

void km_persistence(const float *san, int32_t rows, int32_t cols, float vmin,
                    const km_prom_scratch *s, const uint32_t *want, size_t n_want, float *death)
{
    size_t n = (size_t)rows * (size_t)cols;
    uint32_t *key = s->key, *ord = s->ord, *key2 = s->key2, *ord2 = s->ord2;
    uint32_t *parent = s->parent;
    size_t m = 0;

    for (size_t i = 0; i < n; i++) {
        float v = san[i];
        if (v == -INFINITY)
            continue;
        /* Descending values: complement of the ascending key. */
        key[m] = ~float_key(v);
        ord[m] = (uint32_t)i;
        m++;
    }
    if (m == 0 || n_want == 0)
        return;
    radix_sort(&key, &ord, &key2, &ord2, m);

    memset(parent, 0xff, n * sizeof *parent);
    for (size_t k = 0; k < n_want; k++)
        s->flag[want[k]] = 1;
    size_t alive = n_want;
    if (s->flag[ord[0]]) {
        /* The oldest taxel never dies: it gets max - min. */
        s->dtax[ord[0]] = vmin;
        alive--;
    }
    for (size_t k = 0; k < m && alive > 0; k++) {
        uint32_t t = ord[k];
        int32_t r = (int32_t)(t / (uint32_t)cols), c = (int32_t)(t % (uint32_t)cols);
        float vt = san[t];
        parent[t] = t;
        for (int dr = -1; dr <= 1; dr++) {
            int32_t rr = r + dr;
            if (rr < 0 || rr >= rows)
                continue;
            for (int dc = -1; dc <= 1; dc++) {
                int32_t cc = c + dc;
                if (cc < 0 || cc >= cols || (dr == 0 && dc == 0))
                    continue;
                uint32_t q = (uint32_t)rr * (uint32_t)cols + (uint32_t)cc;
                if (parent[q] == UNSET)
                    continue;
                uint32_t ra = uf_find(parent, t), rb = uf_find(parent, q);
                if (ra == rb)
                    continue;
                /* The younger component dies here, at level vt. */
                uint32_t young = older(san, ra, rb) ? rb : ra;
                uint32_t old = young == ra ? rb : ra;
                parent[young] = old;
                if (s->flag[young]) {
                    s->dtax[young] = vt;
                    alive--;
                }
            }
        }
        s->lastv[uf_find(parent, t)] = vt;
    }
    for (size_t k = 0; k < n_want; k++) {
        uint32_t w = want[k];
        if (w != ord[0] && parent[w] != UNSET && uf_find(parent, w) == w) {
            /* Never merged: a separate valid component; its minimum. */
            s->dtax[w] = s->lastv[w];
        }
        death[k] = s->dtax[w];
        s->flag[w] = 0;
    }
}

int32_t km_basin_area(const float *san, int32_t rows, int32_t cols, uint32_t start, double level,
                      uint32_t *stamp, uint32_t stamp_value, uint32_t *queue)
{
    size_t head = 0, tail = 0;
    queue[tail++] = start;
    stamp[start] = stamp_value;
    while (head < tail) {
        uint32_t t = queue[head++];
        int32_t r = (int32_t)(t / (uint32_t)cols), c = (int32_t)(t % (uint32_t)cols);
        for (int dr = -1; dr <= 1; dr++) {
            int32_t rr = r + dr;
            if (rr < 0 || rr >= rows)
                continue;
            for (int dc = -1; dc <= 1; dc++) {
                int32_t cc = c + dc;
                if (cc < 0 || cc >= cols)
                    continue;
                uint32_t q = (uint32_t)rr * (uint32_t)cols + (uint32_t)cc;
                if (stamp[q] == stamp_value || !((double)san[q] >= level))
                    continue;
                stamp[q] = stamp_value;
                queue[tail++] = q;
            }
        }
    }
    return (int32_t)tail;
}
