/* libsndfile loaded on first use (see sndfile_dyn.h). */
#define KM_SNDFILE_LOADER
#include "sndfile_dyn.h"

#include "core/dynlib.h"

KM_DYNLIB_DEFINE(km_sndfile_api, km_sndfile, KM_SNDFILE_FNS, "libsndfile.so.1",
                 "reading and writing audio files", "libsndfile1", km_sndfile_load)
