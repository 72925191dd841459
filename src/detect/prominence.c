/* Prominence by topological persistence (superlevel-set filtration,
 * 8-connected, union-find) and the basin area of a peak.
 * See docs/ALGORITHMS.md 3.5. */
#include <math.h>
#include <string.h>

#include "prominence.h"

/* Ascending-order key of a float (no -0.0, no NaN: the caller normalised). */
static inline uint32_t float_key(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* Stable sort of (key, ord) pairs by key ascending.  Below a few dozen
 * pairs an insertion sort; above, an LSD radix sort over only the key bits
 * that differ within the set, in as few passes of at most 11 bits as they
 * need (a 32x32 frame's keys differ in ~25 bits: 3 passes of 9 bits, so the
 * histograms are 512 buckets, not 2048, which at ~1000 keys cost more than
 * the scatter).  The result ends in key/ord (pointers may be swapped). */
static void sort_pairs(uint32_t **key, uint32_t **ord, uint32_t **key2, uint32_t **ord2, size_t m)
{
    uint32_t *k = *key, *o = *ord;
    if (m < 2)
        return;
    if (m <= 32) {
        for (size_t i = 1; i < m; i++) {
            uint32_t kv = k[i], ov = o[i];
            size_t j = i;
            while (j > 0 && k[j - 1] > kv) {
                k[j] = k[j - 1];
                o[j] = o[j - 1];
                j--;
            }
            k[j] = kv;
            o[j] = ov;
        }
        return;
    }
    uint32_t diff = 0, k0 = k[0];
    for (size_t i = 0; i < m; i++)
        diff |= k[i] ^ k0;
    if (diff == 0)
        return; /* all equal: the input (raster) order is already the order */
    int bits = 32;
    while (!(diff & 0x80000000u)) {
        diff <<= 1;
        bits--;
    }
    int passes = (bits + 10) / 11;
    int width = (bits + passes - 1) / passes;
    uint32_t mask = (1u << width) - 1u, nb = 1u << width;
    uint32_t hist[3][2048];
    for (int p = 0; p < passes; p++)
        memset(hist[p], 0, nb * sizeof hist[p][0]);
    for (size_t i = 0; i < m; i++) {
        uint32_t kv = k[i];
        for (int p = 0; p < passes; p++)
            hist[p][(kv >> (p * width)) & mask]++;
    }
    for (int p = 0; p < passes; p++) {
        uint32_t sum = 0;
        for (uint32_t b = 0; b < nb; b++) {
            uint32_t h = hist[p][b];
            hist[p][b] = sum;
            sum += h;
        }
    }
    for (int p = 0; p < passes; p++) {
        int shift = p * width;
        uint32_t *ks = *key, *os = *ord, *kd = *key2, *od = *ord2;
        uint32_t *h = hist[p];
        for (size_t i = 0; i < m; i++) {
            uint32_t dst = h[(ks[i] >> shift) & mask]++;
            kd[dst] = ks[i];
            od[dst] = os[i];
        }
        *key = kd;
        *ord = od;
        *key2 = ks;
        *ord2 = os;
    }
}

/* The back part was filled in reverse raster order: restore raster order
 * (equal values must stay in index order) and sort it. */
static void sort_low(uint32_t **key, uint32_t **ord, uint32_t **key2, uint32_t **ord2, size_t m)
{
    uint32_t *k = *key, *o = *ord;
    for (size_t a = 0, b = m > 0 ? m - 1 : 0; a < b; a++, b--) {
        uint32_t tk = k[a], to = o[a];
        k[a] = k[b];
        o[a] = o[b];
        k[b] = tk;
        o[b] = to;
    }
    sort_pairs(key, ord, key2, ord2, m);
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

/* Joins the component of processed neighbour q to that of the new taxel
 * (root *root) at level vt; the younger root dies there.  Every component's
 * root is its oldest member whatever the path compression did, so tracking
 * the new taxel's root here instead of finding it gives the same forest. */
static inline void join(const float *san, const km_prom_scratch *s, uint32_t q, float vt,
                        uint32_t *root, size_t *alive)
{
    uint32_t *parent = s->parent;
    uint32_t ra = *root;
    /* An added taxel links straight to its root, so this is the usual case. */
    if (parent[q] == ra)
        return;
    uint32_t rb = uf_find(parent, q);
    if (ra == rb)
        return;
    uint32_t young = older(san, ra, rb) ? rb : ra;
    uint32_t old = young == ra ? rb : ra;
    parent[young] = old;
    *root = old;
    if (s->flag[young]) {
        s->dtax[young] = vt;
        (*alive)--;
    }
}

/* ord entries: the raster index, with this bit set for a taxel on the
 * grid's edge (found in the raster-order partition, where row and column
 * are known: no division per taxel here). */
#define EDGE 0x80000000u

/* Adds ord[0..len) (the next taxels in the total order) to the filtration
 * until no wanted taxel is left alive; returns how many are.  A neighbour
 * has been added iff it is older than the new taxel (-inf never is), so the
 * test is a comparison of values: the 8 of an interior taxel make one bit
 * mask, and only its set bits are visited (one unpredictable loop instead
 * of eight unpredictable tests). */
static size_t filtrate(const float *san, int32_t rows, int32_t cols, const km_prom_scratch *s,
                       const uint32_t *ord, size_t len, size_t alive)
{
    uint32_t uc = (uint32_t)cols;
    const uint32_t off[8] = {uc + 1u, uc, uc - 1u, 1u, 1u, uc - 1u, uc, uc + 1u};
    for (size_t k = 0; k < len && alive > 0; k++) {
        uint32_t t = ord[k] & ~EDGE;
        float vt = san[t];
        uint32_t root = t;
        if (!(ord[k] & EDGE)) {
            /* Interior (most taxels): no bounds tests.  Equal values: the
               lower index is older (above and left of t). */
            const float *a = san + t - uc, *m = san + t, *b = san + t + uc;
            unsigned mask = (unsigned)(a[-1] >= vt) | (unsigned)(a[0] >= vt) << 1 |
                            (unsigned)(a[1] >= vt) << 2 | (unsigned)(m[-1] >= vt) << 3 |
                            (unsigned)(m[1] > vt) << 4 | (unsigned)(b[-1] > vt) << 5 |
                            (unsigned)(b[0] > vt) << 6 | (unsigned)(b[1] > vt) << 7;
            while (mask) {
                unsigned j = (unsigned)__builtin_ctz(mask);
                mask &= mask - 1u;
                join(san, s, j < 4 ? t - off[j] : t + off[j], vt, &root, &alive);
            }
        } else {
            int32_t ri = (int32_t)(t / uc), ci = (int32_t)(t % uc);
            for (int32_t rr = ri - 1; rr <= ri + 1; rr++) {
                if (rr < 0 || rr >= rows)
                    continue;
                for (int32_t cc = ci - 1; cc <= ci + 1; cc++) {
                    uint32_t q = (uint32_t)rr * uc + (uint32_t)cc;
                    if (cc < 0 || cc >= cols || q == t || !older(san, q, t))
                        continue;
                    join(san, s, q, vt, &root, &alive);
                }
            }
        }
        s->lastv[root] = vt;
    }
    return alive;
}

void km_persistence(const float *san, int32_t rows, int32_t cols, float vmin, float level,
                    const km_prom_scratch *s, const uint32_t *want, size_t n_want, float *death)
{
    size_t n = (size_t)rows * (size_t)cols;
    uint32_t *key = s->key, *ord = s->ord, *key2 = s->key2, *ord2 = s->ord2;
    size_t lo = 0, hi = n;

    if (n_want == 0)
        return;
    /* Taxels >= level to the front in raster order, the rest to the back
       (reversed); both slots written, one kept, so there is no branch.
       (n <= KM_MAX_TAXELS < EDGE.) */
    for (int32_t r = 0; r < rows; r++) {
        uint32_t edge_row = r == 0 || r == rows - 1 ? EDGE : 0u;
        for (int32_t c = 0; c < cols; c++) {
            size_t i = (size_t)r * (size_t)cols + (size_t)c;
            float v = san[i];
            uint32_t kv = ~float_key(v); /* descending values */
            uint32_t ov = (uint32_t)i | edge_row | (c == 0 || c == cols - 1 ? EDGE : 0u);
            size_t ge = v >= level, valid = v != -INFINITY;
            key[lo] = kv;
            ord[lo] = ov;
            key[hi - 1] = kv;
            ord[hi - 1] = ov;
            lo += ge & valid;
            hi -= (ge ^ 1u) & valid;
        }
    }
    size_t m1 = lo, m2 = n - hi;
    if (m1 + m2 == 0)
        return;

    /* Every taxel its own root: one not yet added is never reached. */
    for (size_t i = 0; i < n; i++)
        s->parent[i] = (uint32_t)i;
    for (size_t k = 0; k < n_want; k++)
        s->flag[want[k]] = 1;
    size_t alive = n_want;

    /* Stage 1: the filtration restricted to {v >= level} is the full one
       down to that level, so a wanted taxel that dies above it has its
       exact death; the rest is sorted only if one is still alive. */
    uint32_t *k1 = key, *o1 = ord, *k1b = key2, *o1b = ord2;
    uint32_t *k2 = key + hi, *o2 = ord + hi, *k2b = key2 + hi, *o2b = ord2 + hi;
    int sorted2 = 0;
    sort_pairs(&k1, &o1, &k1b, &o1b, m1);
    if (m1 == 0) {
        sort_low(&k2, &o2, &k2b, &o2b, m2);
        sorted2 = 1;
    }
    uint32_t oldest = (m1 > 0 ? o1[0] : o2[0]) & ~EDGE;
    if (s->flag[oldest]) {
        /* The oldest taxel never dies: it gets max - min. */
        s->dtax[oldest] = vmin;
        alive--;
    }
    alive = filtrate(san, rows, cols, s, o1, m1, alive);
    if (alive > 0 && m2 > 0) {
        if (!sorted2)
            sort_low(&k2, &o2, &k2b, &o2b, m2);
        alive = filtrate(san, rows, cols, s, o2, m2, alive);
    }
    (void)alive;
    for (size_t k = 0; k < n_want; k++) {
        uint32_t w = want[k];
        if (w != oldest && uf_find(s->parent, w) == w) {
            /* Never merged (every taxel was added, else it would have
               died): a separate valid component; its minimum. */
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
