/* Loading a library on first use (see dynlib.h). */
#include "dynlib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#include "internal.h"

typedef void (*km_fn)(void);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Every function of lib from handle h into lib->fns; the name of the
 * first one missing, or NULL. */
static const char *resolve(km_dynlib *lib, void *h)
{
    for (size_t i = 0; i < lib->n_fns; i++) {
        void *p = dlsym(h, lib->names[i]);
        if (p == NULL)
            return lib->names[i];
        /* dlsym returns functions as void *: POSIX guarantees the round
           trip; memcpy avoids ISO C's ban on the cast. */
        memcpy((char *)lib->fns + i * sizeof(km_fn), &p, sizeof p);
    }
    return NULL;
}

km_status km_dynlib_load(km_ctx *ctx, km_dynlib *lib)
{
    km_status st = KM_OK;
    pthread_mutex_lock(&lock);
    if (lib->loaded)
        goto done;
    void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        const char *why = dlerror();
        if (why != NULL && (strstr(why, "failed to map segment") != NULL ||
                            strstr(why, "Cannot allocate memory") != NULL)) {
            /* installed, but no address space left to map it (ulimit -v) */
            st = km_fail(ctx, KM_ERR_NOMEM, "%s needs the library %s, which could not be mapped: out of memory (%s)",
                         lib->needed_for, lib->soname, why);
            goto done;
        }
        st = km_fail(ctx, KM_ERR_UNSUPPORTED,
                     "%s needs the library %s, which could not be loaded (%s): install it "
                     "(Debian: apt-get install %s)",
                     lib->needed_for, lib->soname, why != NULL ? why : "unknown reason",
                     lib->package);
        goto done;
    }
    const char *missing = resolve(lib, h);
    if (missing != NULL) {
        memset(lib->fns, 0, lib->n_fns * sizeof(km_fn));
        dlclose(h);
        st = km_fail(ctx, KM_ERR_UNSUPPORTED,
                     "%s needs the library %s, whose copy here lacks %s: install the one "
                     "of Debian's %s",
                     lib->needed_for, lib->soname, missing, lib->package);
        goto done;
    }
    lib->loaded = 1; /* never closed: the functions stay valid for the process */
done:
    pthread_mutex_unlock(&lock);
    return st;
}
