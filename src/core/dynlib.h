/* Libraries loaded on first use (dlopen), not at start-up: cairo (pictures
 * and reports, src/pipeline/draw.c), libsndfile (audio files, src/io) and
 * FFTW (the FIR filters and the FFT convolution, src/dsp/fftw_dyn.h).
 * Linked normally cairo, libsndfile and the ~20 libraries they pull in took
 * about a third of the start-up of every knotmap command (bench/HISTORY.md
 * "Session 14: speed"); FFTW, linked statically, 20 page faults of every
 * start ("Session 49 (speed26)").  Internal. */
#ifndef KM_DYNLIB_H
#define KM_DYNLIB_H

#include <stddef.h>

#include "knotmap.h"

/* One library: its soname (the ABI the headers describe), what needs it
 * and the Debian package that provides it (for the error), the names of
 * its functions used, and where their addresses go: `fns` is a struct of
 * n_fns function pointers in the order of `names` (static storage). */
typedef struct km_dynlib {
    const char *soname;
    const char *needed_for;
    const char *package;
    const char *const *names;
    size_t n_fns;
    void *fns;
    int loaded; /* set once every function is found; read under the lock */
} km_dynlib;

/* Loads lib once per process (thread-safe; later calls return at once).
 * KM_ERR_UNSUPPORTED with a detail naming the library, the loader's
 * reason and the package when it or one of its functions is missing (the
 * next call tries again); nothing is kept of a failed attempt. */
km_status km_dynlib_load(km_ctx *ctx, km_dynlib *lib);

/* The loader of one library, for its *_dyn.c (one per library, after its
 * *_dyn.h, which declares `api_type` with one function pointer per name of
 * the X-list FNS): defines `api`, the names looked up (from FNS: one list)
 * and `km_status load(km_ctx *)`, km_dynlib_load of them.  No semicolon
 * after it. */
#define KM_DYNLIB_NAME_(name) #name,
#define KM_DYNLIB_DEFINE(api_type, api, FNS, soname, needed_for, package, load)                \
    api_type api;                                                                               \
    static const char *const km_dynlib_names_[] = {FNS(KM_DYNLIB_NAME_)};                       \
    _Static_assert(sizeof(api_type) ==                                                          \
                       sizeof km_dynlib_names_ / sizeof km_dynlib_names_[0] * sizeof(void (*)(void)), \
                   "one pointer per name");                                                     \
    static km_dynlib km_dynlib_lib_ = {soname, needed_for, package, km_dynlib_names_,           \
                                       sizeof km_dynlib_names_ / sizeof km_dynlib_names_[0],    \
                                       &api, 0};                                                \
    km_status load(km_ctx *ctx)                                                                 \
    {                                                                                           \
        return km_dynlib_load(ctx, &km_dynlib_lib_);                                            \
    }

#endif
