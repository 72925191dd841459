/* FFTW loaded on first use (see fftw_dyn.h). */
#define KM_FFTW_LOADER
#include "fftw_dyn.h"

#include "core/dynlib.h"

km_fftw_api km_fftw;

#define KM_FFTW_NAME(name) #name,
static const char *const NAMES[] = {KM_FFTW_FNS(KM_FFTW_NAME)};
#undef KM_FFTW_NAME
_Static_assert(sizeof(km_fftw_api) == sizeof NAMES / sizeof NAMES[0] * sizeof(void (*)(void)),
               "one pointer per name");

static km_dynlib lib = {"libfftw3f.so.3", "FFT filtering (the zero-phase FIR low/high-pass, FFT convolution)",
                        "libfftw3-single3", NAMES, sizeof NAMES / sizeof NAMES[0], &km_fftw, 0};

km_status km_fftw_load(km_ctx *ctx)
{
    return km_dynlib_load(ctx, &lib);
}
