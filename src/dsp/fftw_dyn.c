/* FFTW loaded on first use (see fftw_dyn.h). */
#define KM_FFTW_LOADER
#include "fftw_dyn.h"

#include "core/dynlib.h"

KM_DYNLIB_DEFINE(km_fftw_api, km_fftw, KM_FFTW_FNS, "libfftw3f.so.3",
                 "FFT filtering (the zero-phase FIR low/high-pass, FFT convolution)",
                 "libfftw3-single3", km_fftw_load)
