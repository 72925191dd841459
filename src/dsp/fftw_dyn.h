/* FFTW (single precision), loaded on first use (src/core/dynlib.h): include
 * instead of <fftw3.h>; call km_fftw_load before any fftwf_* function.  The
 * fftwf_* names used by src/dsp are macros for the loaded addresses, so the
 * calls read as FFTW's own.  Only the FIR low/high-pass and the FFT
 * convolution plan transforms: a run with the defaults never loads the
 * library.  Internal to src/dsp. */
#ifndef KM_FFTW_DYN_H
#define KM_FFTW_DYN_H

#include <fftw3.h>

#include "knotmap.h"

/* The functions used, one list: the table below and the names looked up. */
#define KM_FFTW_FNS(X)                                                                         \
    X(fftwf_destroy_plan) X(fftwf_execute) X(fftwf_execute_dft_c2r) X(fftwf_execute_dft_r2c) \
    X(fftwf_plan_dft_c2r_2d) X(fftwf_plan_dft_r2c_1d) X(fftwf_plan_dft_r2c_2d)               \
    X(fftwf_plan_many_dft_c2r) X(fftwf_plan_many_dft_r2c)

#define KM_FFTW_FIELD(name) __typeof__(name) *name;
typedef struct km_fftw_api {
    KM_FFTW_FNS(KM_FFTW_FIELD)
} km_fftw_api;
#undef KM_FFTW_FIELD

extern km_fftw_api km_fftw;

/* KM_ERR_UNSUPPORTED naming libfftw3f and its Debian package when it cannot
 * be loaded (KM_ERR_NOMEM when no address space is left to map it).
 * Thread-safe; after the first success it returns at once. */
km_status km_fftw_load(km_ctx *ctx);

#ifndef KM_FFTW_LOADER
#define fftwf_destroy_plan (km_fftw.fftwf_destroy_plan)
#define fftwf_execute (km_fftw.fftwf_execute)
#define fftwf_execute_dft_c2r (km_fftw.fftwf_execute_dft_c2r)
#define fftwf_execute_dft_r2c (km_fftw.fftwf_execute_dft_r2c)
#define fftwf_plan_dft_c2r_2d (km_fftw.fftwf_plan_dft_c2r_2d)
#define fftwf_plan_dft_r2c_1d (km_fftw.fftwf_plan_dft_r2c_1d)
#define fftwf_plan_dft_r2c_2d (km_fftw.fftwf_plan_dft_r2c_2d)
#define fftwf_plan_many_dft_c2r (km_fftw.fftwf_plan_many_dft_c2r)
#define fftwf_plan_many_dft_r2c (km_fftw.fftwf_plan_many_dft_r2c)
#endif

#endif
