/* libsndfile loaded on first use (see sndfile_dyn.h). */
#define KM_SNDFILE_LOADER
#include "sndfile_dyn.h"

#include "core/dynlib.h"

km_sndfile_api km_sndfile;

#define KM_SNDFILE_NAME(name) #name,
static const char *const NAMES[] = {KM_SNDFILE_FNS(KM_SNDFILE_NAME)};
#undef KM_SNDFILE_NAME
_Static_assert(sizeof(km_sndfile_api) == sizeof NAMES / sizeof NAMES[0] * sizeof(void (*)(void)),
               "one pointer per name");

static km_dynlib lib = {"libsndfile.so.1", "reading and writing audio files", "libsndfile1",
                        NAMES, sizeof NAMES / sizeof NAMES[0], &km_sndfile, 0};

km_status km_sndfile_load(km_ctx *ctx)
{
    return km_dynlib_load(ctx, &lib);
}
