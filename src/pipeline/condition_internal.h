/* The conditioner's private header (src/pipeline/condition*.c only): its
 * state, shared by the assembly (condition.c) and the stages a frame
 * passes through (condition_stages.c). */
#ifndef KM_CONDITION_INTERNAL_H
#define KM_CONDITION_INTERNAL_H

#include "condition.h"
#include "internal.h"

#define CHUNK 64                  /* frames staged before running the temporal chain */
#define MAX_TF 4

struct km_conditioner {
    km_alloc_ref ref;
    km_condition_params p;
    km_calib_params calib;
    int apply_calib;
    int32_t rows, cols;
    size_t rc;
    double rate_in, rate;
    uint8_t *mask0, *mask;
    int avx2;                  /* the masked fill in AVX2 (the CPU has it) */
    int32_t n_bad;             /* taxels masked as bad after the warm-up */
    int32_t n_offset;          /* of which read a steady offset unloaded */
    uint8_t *state;            /* KM_TAXEL_* after the warm-up, or NULL */
    int suspect_out;           /* suspect taxels enter the spatial filter as masked */
    uint8_t *fmask;            /* then: mask less them, the filters' input (or NULL) */
    int32_t *suspect;          /* then: their indices, filled from their valid neighbours */
    int32_t n_suspect;
    double noise;              /* the warm-up's frame-to-frame noise, source units */
    int64_t n_pushed;
    int finished;
    float *rs, *cal;           /* resampled frame, frame being calibrated */
    float *tare;               /* rc or NULL */
    float *gain_map;           /* rc or NULL */

    /* Corrupt-frame test: window 2h+1 of totals, h+2 frames held (the one
       before the frame decided too, for last_good), h+1 times. */
    int32_t h;
    float *cring;
    double *ctime, *csum, *cwin;
    int64_t c_in, c_out;
    float *last_good;          /* copied from the ring at a corrupt frame only */
    int have_good, prev_good;  /* a good frame seen; the frame before was good */

    /* Resampling. */
    float *rprev;
    double rt_prev;
    uint32_t rf_prev;
    int rhave;
    int64_t r_next;
    double t0;

    /* Warm-up. */
    int32_t W;
    int warm_done;
    int32_t wcount;
    float *wbuf;
    double *wtime;
    uint32_t *wflag;
    double *tare_acc;
    int32_t *tare_cnt;
    km_badtaxel *bad;

    /* Temporal chain. */
    int ntf;
    km_temporal *tf[MAX_TF];
    float *tb[MAX_TF + 1];     /* tb[0]: staging (CHUNK frames); tb[i+1]: output of tf[i] */
    int64_t tstaged;
    double *qt;
    uint32_t *qf;
    int64_t qcap, qhead, qlen;

    /* Spatial. */
    km_gaussian *g1, *g2;
    float *s1, *s2;
    uint8_t *fill_scratch;

    /* Output queue (ring). */
    float *out;
    double *out_t;
    uint32_t *out_f;
    int64_t ocap, ohead, olen;
    /* Direct output (km_conditioner_direct): the puller's buffers. */
    float *dout;
    double *dout_t;
    uint32_t *dout_f;
    int64_t dcap, dlen;
    int64_t dsafe; /* places below it are free: frames of the push already consumed */
};

/* dst[k] = mask[k] ? src[k] : fill for k < n (dst == src: in place); avx2
 * (the CPU has it, km_cpu_avx2): eight taxels at a time, the same values.
 * The masked fills of the chain: 0 into the filters, NaN at the output,
 * where the copy into the output queue is the same pass (spatial). */
void km_cond_mask_copy(float *dst, const float *src, const uint8_t *mask, size_t n, float fill,
                       int avx2);

#endif
