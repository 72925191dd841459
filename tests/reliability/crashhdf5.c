/* LD_PRELOAD shim of the probe tests (test_reliability_probe.py): makes
 * libhdf5 (or libsndfile) crash or hang on one file, as libhdf5 itself does
 * on some crafted files (tests/fuzz/libhdf5/), so the test does not depend
 * on a heap layout.  The open() door below breaks libsndfile's opening of an
 * audio input in the probe child just the same.
 *
 *   KM_H5_BREAK=SUBSTRING      opening a path containing it breaks
 *   KM_H5_BREAK_HOW=segv|hang  SIGSEGV, or never return [segv]
 *   KM_H5_BREAK_PARENT=1       open() breaks in the command's own process too
 *                              (a crash while it writes a result, as libhdf5
 *                              out of memory in H5Dcreate2: test_address_limit.py)
 *
 * Two doors: H5Fopen, where a shared libhdf5 is used; and, for the knotmap
 * command, which links HDF5 statically (its calls to H5Fopen cannot be
 * interposed), libc's open() as HDF5's file driver calls it, in a forked
 * child only: the command's own process only asks H5Fis_hdf5 (a signature
 * check, which opens the file too) before the probe child opens the file
 * with H5Fopen, and the probe is the command's only child.
 *
 * Built by tests/CMakeLists.txt as build/tests/libkm_crashhdf5.so. */
#define _GNU_SOURCE

#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

typedef int64_t km_hid_t; /* hid_t of libhdf5 1.10 */

km_hid_t H5Fopen(const char *name, unsigned flags, km_hid_t fapl);
int open(const char *path, int flags, ...);
int open64(const char *path, int flags, ...);

static pid_t g_first; /* the process the shim was loaded into */

__attribute__((constructor)) static void remember_pid(void)
{
    g_first = getpid();
}

static void maybe_break(const char *name)
{
    const char *want = getenv("KM_H5_BREAK");
    if (want == NULL || want[0] == '\0' || name == NULL || strstr(name, want) == NULL)
        return;
    const char *how = getenv("KM_H5_BREAK_HOW");
    if (how != NULL && strcmp(how, "hang") == 0)
        for (;;)
            pause();
    raise(SIGSEGV);
}

km_hid_t H5Fopen(const char *name, unsigned flags, km_hid_t fapl)
{
    static km_hid_t (*real)(const char *, unsigned, km_hid_t);
    maybe_break(name);
    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "H5Fopen");
    return real(name, flags, fapl);
}

static int open_via(const char *sym, const char *path, int flags, mode_t mode)
{
    int (*real)(const char *, int, ...);
    const char *parent = getenv("KM_H5_BREAK_PARENT");
    if (getpid() != g_first || (parent != NULL && strcmp(parent, "1") == 0))
        maybe_break(path);
    *(void **)&real = dlsym(RTLD_NEXT, sym);
    return real(path, flags, mode);
}

/* open and open64 take a mode only with O_CREAT or O_TMPFILE. */
#define OPEN_SHIM(fn)                                                                          \
    int fn(const char *path, int flags, ...)                                                   \
    {                                                                                          \
        mode_t mode = 0;                                                                       \
        if (flags & (O_CREAT | O_TMPFILE)) {                                                   \
            va_list ap;                                                                        \
            va_start(ap, flags);                                                               \
            mode = (mode_t)va_arg(ap, int);                                                    \
            va_end(ap);                                                                        \
        }                                                                                      \
        return open_via(#fn, path, flags, mode);                                               \
    }

OPEN_SHIM(open)
OPEN_SHIM(open64)
