/* The body grid's state (docs/ALGORITHMS.md 7.2 and 10 steps 1-3), shared
 * by its files: bodygrid.c (cells, storage, the deposit rule), bodymap.c
 * (the body map layer), candidates.c (the candidate layer) and
 * cand_stuck.c (its stuck rule).
 * Private to src/track. */
#ifndef KM_BODYGRID_INTERNAL_H
#define KM_BODYGRID_INTERNAL_H

#include "internal.h"

/* Per taxel and per row state of the local excess (10 step 1). */
#include "core/select_small.h"

typedef struct km_excess_state {
    float *excess;              /* one row of excess (cols) */
    float *bg;                  /* one row of local background (cols) */
    float *win;                 /* median window */
    const km_median_net *net;   /* the window's network (NULL: windows over
                                   KM_MEDIAN_NET_MAX use the sorted window) */
    int32_t half;               /* the window's half-width W in columns */
    uint8_t *ok;                /* one row: taxel usable (cols) */
    float *slope;               /* cand_slope.c's scratch (NULL: off) */
    /* The stuck rule's state, per taxel on the padded layout (km_cand_at:
       a border of one taxel around the sensor, zeros), each array
       KM_CAND_SLACK entries longer (zeros: the AVX2 sweep's last block of
       32 reads and writes past the sensor's last taxel). */
    float *prev;                /* value in the previous frame */
    uint8_t *changed;           /* its value changed in this frame */
    uint8_t *nb;                /* neighbours on the sensor (2-4; border 0) */
    int32_t *run;               /* frames it has repeated that value while
                                   its neighbours changed (10 step 1) */
    uint8_t *stuck;             /* was ever stuck at a nonzero value */
    float sat_lo;               /* mat: a value at or above this is clipped by
                                   the load, never a repeat towards a run
                                   (km_bodygrid_set_saturation); +inf */
    int avx2;                   /* the stuck sweep in AVX2 (the CPU has it; the
                                   tests clear it to check the plain loop) */
} km_excess_state;

/* Per cell, the pass maxima split by the sensor row that gave them, for
 * the session's flat field (flatfield.c, docs/ALGORITHMS.md 7.5): at most
 * KM_FLAT_SLOTS rows; a further row's passes stay uncorrected. */
#define KM_FLAT_SLOTS 3
typedef struct km_flat_cell {
    int32_t row[KM_FLAT_SLOTS]; /* sensor row + 1, 0 = empty slot */
    int32_t n[KM_FLAT_SLOTS];   /* closed passes whose maximum it gave */
    int32_t qn[KM_FLAT_SLOTS];  /* of those, the ones in the estimate */
    int32_t turn[KM_FLAT_SLOTS]; /* the grid's turns in the air before the
                                   row's first pass here */
    double v[KM_FLAT_SLOTS];    /* sum of the values at those maxima */
    double q[KM_FLAT_SLOTS];    /* sum of log(value / background) there */
} km_flat_cell;

/* The closed passes' maxima of a cell against their times, for the drift
 * correction of the candidate map (docs/ALGORITHMS.md 10 step 3): mean
 * time, sum of squared time deviations, co-deviation with the maxima, and
 * the first pass's time. */
typedef struct km_trend_cell {
    double tmean, tm2, ctm, t0;
} km_trend_cell;

/* A cell's closed passes whose maximum reached each rung of the seen
 * ladder, seen_threshold x (k + 2) / 8 (km_bodygrid_seen_at). */
typedef struct km_seen_ladder {
    int32_t n[KM_SEEN_RUNGS];
} km_seen_ladder;

struct km_bodygrid {
    km_alloc_ref alloc;
    int32_t mode, rows, cols;
    double row_pitch, col_pitch;
    unsigned layers;            /* KM_GRID_BODYMAP | KM_GRID_CANDIDATES */
    km_bodymap_params rule;     /* contact rule, passes, extent */
    km_candidate_params cand;   /* the candidate layer's parameters */
    int64_t frame;              /* frames added so far */
    /* storage covers cell rows [base, base + cap); used [lo, hi] */
    int64_t base, cap, lo, hi;
    int have_origin;
    double y_origin;            /* body y of cell row 0 */
    uint8_t *on;                /* roller: one row, taxel in contact (cols) */
    /* The body map layer's own mask (km_bodygrid_set_bodymap_mask: rows x
       cols, nonzero = used, applied on top of each frame's; NULL = none)
       and one row of scratch for it (cols). */
    uint8_t *bmask, *brow;
    /* The columns it leaves out, row by row: row r's are bout[bout[r] ..
       bout[r + 1]) (the first rows + 1 entries are those offsets). */
    int32_t *bout;
    /* body map layer, per cell */
    float *max;
    double *sum;
    int64_t *n;
    int32_t *cov;               /* passes */
    int64_t *last;              /* frame of the last touch in contact, -1 never */
    float *xmax;                /* maximum of the samples the body map's own
                                   mask left out (-inf: none) */
    /* candidate layer, per cell */
    int32_t *ccov, *seen;       /* passes; closed passes that saw the cell */
    km_seen_ladder *ladder;     /* closed passes that saw it at each rung of
                                   the seen ladder (km_bodygrid_seen_at) */
    double *csum;               /* sum of the closed passes' maxima */
    double *wmean, *wm2;        /* Welford: mean and sum of squared deviations
                                   of the closed passes' maxima */
    float *cur;                 /* maximum of the open pass */
    double *cur_t;              /* its time */
    km_trend_cell *trend;       /* the pass maxima against time (drift) */
    /* Which taxel row pressed the cell (roller; rows + 1, 0 none): a roller
       turning freely in a lift puts other rows on a body cell afterwards
       (10 step 3, excess_two_rows). */
    int32_t *crow;              /* the row of the open pass's maximum */
    int32_t *rowa;              /* the row of the first pass (row A) */
    int32_t *an, *bn;           /* closed passes whose maximum came from row A,
                                   from any other row */
    double *asum, *bsum;        /* sums of those passes' maxima */
    km_flat_cell *flat;         /* the pass maxima by sensor row (flatfield.c) */
    float *cur_b;               /* background at the open pass's maximum */
    float *cur_off;             /* its sample's offset from the cell centre,
                                   in row pitches (roller) */
    int32_t *cur_turn;          /* turns in the air before the open pass */
    /* Roller: the times the roller turned in the air (a lift after which
       the contact row had moved by half a row or more), the contact row of
       the last frame deposited, and a lift since. */
    int32_t turns;
    double last_row;
    int lifted;
    int64_t *clast;             /* frame of the last touch, -1 never */
    double *t_first, *t_last;   /* times the excess reached seen_threshold */
    km_excess_state ex;
};

/* Entries after the padded layout in each stuck-rule array: the AVX2
 * runs' sweep (cand_stuck.c) reads up to 30 past it. */
#define KM_CAND_SLACK 32

/* Taxel (r, c)'s index in the candidate layer's padded per-taxel state
 * (km_excess_state). */
static inline size_t km_cand_at(const km_bodygrid *g, int32_t r, int32_t c)
{
    return (size_t)(r + 1) * (size_t)(g->cols + 2) + (size_t)(c + 1);
}

/* The pass rule, one for both layers: a touch at `frame` starts a new pass
 * when the cell was never touched or stayed untouched for more than `gap`
 * frames. */
static inline int km_grid_new_pass(int64_t last, int64_t frame, int32_t gap)
{
    return last < 0 || frame - last - 1 > gap;
}

/* bodygrid.c: which taxels of roller frame row r (cols values, mask m)
 * press tissue at threshold thr (docs/ALGORITHMS.md 7.2): on[x]. */
void km_grid_roller_contact(uint8_t *on, const float *row, const km_mask *m, int32_t r,
                            int32_t cols, double thr);

/* bodymap.c: the body map layer.  One roller frame row deposited on the
 * cells at off (the taxels with on[x], all in contact), or a mat frame
 * (every usable sample; in contact above contact_threshold). */
void km_body_layer_row(km_bodygrid *g, const float *row, const uint8_t *on, size_t off);
/* The body layer's flags of taxel row r (values row) deposited on the cells
 * at off: flags (on[x], or a mat's mask row, NULL = all) less the taxels
 * its own mask leaves out (g->brow then; flags itself when it has none),
 * whose samples go to xmax instead. */
const uint8_t *km_body_layer_leave_out(km_bodygrid *g, const float *row, const uint8_t *flags,
                                       int32_t r, size_t off);
/* The contact pressure the candidates weigh a peak against, per cell of the
 * current shape: the body map's maximum with the samples its own mask left
 * out (what it was without that mask); NaN where nothing was deposited. */
void km_body_layer_pressure(const km_bodygrid *g, float *out);
/* The same one cell at a time from column `from` on (the AVX2 form's tail,
 * and what it is tested against). */
void km_body_layer_row_plain(km_bodygrid *g, const float *row, const uint8_t *on, size_t off,
                             int32_t from);
void km_body_layer_mat(km_bodygrid *g, const km_frame *f, const km_mask *m);
/* One mat frame row at off: the cells whose mask byte (valid; NULL: all) is
 * nonzero and whose value is finite, in contact above contact_threshold;
 * AVX2 four cells at a time where the CPU has it.  The plain form from
 * column `from` (the tail, and what the AVX2 form is tested against). */
void km_body_layer_mat_row(km_bodygrid *g, const float *row, const uint8_t *valid, size_t off);
void km_body_layer_mat_row_plain(km_bodygrid *g, const float *row, const uint8_t *valid,
                                 size_t off, int32_t from);

#if KM_AVX2_TARGET
#include <immintrin.h>

/* 0 / -1 int32 lanes to eight bytes 0 / 1 at p (the candidate layer's
 * flags). */
__attribute__((target("avx2"))) static inline void km_store_flags8(uint8_t *p, __m256i m)
{
    const __m256i zero = _mm256_setzero_si256();
    __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(m, zero), zero);
    __m128i b8 = _mm_unpacklo_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
    _mm_storel_epi64((__m128i *)(void *)p, _mm_and_si128(b8, _mm_set1_epi8(1)));
}

/* Eight bytes at p are nonzero, as int32 lanes of -1 / 0. */
__attribute__((target("avx2"))) static inline __m256i km_nonzero8(const uint8_t *p)
{
    __m256i b = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p));
    return _mm256_xor_si256(_mm256_cmpeq_epi32(b, _mm256_setzero_si256()), _mm256_set1_epi32(-1));
}
#endif

/* candidates.c: the candidate layer; cand_stuck.c its stuck rule;
 * cand_excess.c its local excess of row r into g->ex (excess, bg where
 * usable, ok), the usable taxels those in contact (on, roller) or all. */
km_status km_cand_layer_create(km_ctx *ctx, km_bodygrid *g, const km_candidate_params *p);
void km_cand_layer_free(km_bodygrid *g);
void km_cand_layer_stuck(km_bodygrid *g, const km_frame *f);
void km_cand_row_excess(km_bodygrid *g, const float *row, const km_mask *m, int32_t r,
                        const uint8_t *on);
/* One roller frame row r: the local excess over the taxels in contact
 * (on[x]), deposited on the cells at off, its samples frac row pitches
 * from the cell centres. */
void km_cand_layer_row(km_bodygrid *g, const float *row, const km_mask *m, int32_t r,
                       const uint8_t *on, size_t off, float frac, double t);
void km_cand_layer_mat(km_bodygrid *g, const km_frame *f, const km_mask *m, double t);

/* cand_slope.c: the roller's row background on a slope (docs/ALGORITHMS.md
 * 10 step 1, Slope).  Bytes of scratch for a half-window of w columns. */
size_t km_cand_slope_scratch(int32_t w, int32_t cols);
/* bg[x] of the usable taxels (ok) = the median of the window's usable
 * values with a line through the row taken off, its slope by `slope`: 1
 * from the medians of the two sides (none where a side has no usable
 * taxel), 2 the row's opening's between the usable columns nearest x - w
 * and x + w; excess[x] = row[x] - bg[x] (NaN where not usable).  net: the
 * window's network (NULL over KM_MEDIAN_NET_MAX), net_scratch its
 * km_row_window_scratch. */
void km_cand_slope_row(const km_median_net *net, const float *row, const uint8_t *ok,
                       int32_t cols, int32_t w, int32_t slope, void *scratch, void *net_scratch,
                       float *bg, float *excess);

/* flatfield.c: the session's flat field (docs/ALGORITHMS.md 7.5). */
/* A closed pass of a cell: its maximum m from sensor row crow (rows + 1),
 * over background b, sampled off row pitches from the cell centre, after
 * `turn` turns of the roller in the air. */
void km_flat_pass(km_flat_cell *fc, int32_t crow, float m, float b, float off, int32_t turn);
/* What dividing by the gains (rows x cols, row-major) removes from the sum
 * of cell column x's pass maxima: sum over its rows of (1 - 1/gain) times
 * the sum of the values at their maxima; only_row / but_row (rows + 1, 0 =
 * no condition) select the rows. */
double km_flat_removed(const km_flat_cell *fc, const float *gain, int32_t cols, int32_t x,
                       int32_t only_row, int32_t but_row);
/* The per-taxel gains (rows x cols, 1 where not estimated) and how many
 * were estimated.  Errors: KM_ERR_NOMEM. */
km_status km_flat_estimate(km_ctx *ctx, const km_bodygrid *g, float *gain, int32_t *n_applied);

#endif
