/* Internal to src/dsp: the one lock around FFTW's planner. */
#ifndef KM_DSP_INTERNAL_H
#define KM_DSP_INTERNAL_H

/* FFTW's planner (plan creation and destruction) is not thread-safe; only
 * the execute functions are.  Every fftwf_plan_* and fftwf_destroy_plan
 * call in knotmap runs between these two. */
void km_fftw_lock(void);
void km_fftw_unlock(void);

#endif
