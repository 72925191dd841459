/* Internal to src/dsp: the one lock around FFTW's planner, and the switch
 * that tests use to run one instruction-set variant of the Gaussian. */
#ifndef KM_DSP_INTERNAL_H
#define KM_DSP_INTERNAL_H

#include "knotmap.h"

/* FFTW's planner (plan creation and destruction) is not thread-safe; only
 * the execute functions are.  Every fftwf_plan_* and fftwf_destroy_plan
 * call in knotmap runs between these two. */
void km_fftw_lock(void);
void km_fftw_unlock(void);


/* Variants of the direct Gaussian's hot loops.  AUTO takes the widest the
 * CPU runs; all give the same bits (same float operations in the same
 * order on every taxel, no FMA). */
typedef enum km_gauss_isa {
    KM_GAUSS_ISA_AUTO = -1,
    KM_GAUSS_ISA_BASE = 0,
    KM_GAUSS_ISA_AVX2 = 1,
    KM_GAUSS_ISA_AVX512 = 2
} km_gauss_isa;

/* 1 when this build and the running CPU can run the variant. */
int km_gaussian_isa_supported(km_gauss_isa isa);

/* km_gaussian_apply with the variant forced (KM_ERR_UNSUPPORTED when the
 * CPU lacks it); the recursive filter ignores it. */
km_status km_gaussian_apply_isa(km_ctx *ctx, const km_gaussian *g, const km_frame *in,
                                const km_mask *mask, const km_frame_mut *out, km_gauss_isa isa);

/* badtaxel.c: the usable taxels' values packed into out in taxel order:
 * f[k] where mask[k] and f[k] is finite, or with prev, |f[k] - prev[k]|
 * where both are finite; returns how many (out holds n floats).  The
 * plain form continues from taxel k0 with m values already packed (the
 * AVX2 form's tail, and what it is tested against). */
size_t km_gather_usable(const uint8_t *mask, const float *f, const float *prev, size_t n,
                        float *out);
size_t km_gather_usable_plain(const uint8_t *mask, const float *f, const float *prev, size_t n,
                              float *out, size_t k0, size_t m);

#endif
