/* LD_PRELOAD shim of the probe tests (test_reliability_probe.py): makes
 * libhdf5's H5Fopen crash or hang on one file, as libhdf5 itself does on
 * some crafted files (tests/fuzz/libhdf5/), so the test does not depend on
 * a heap layout.
 *
 *   KM_H5_BREAK=SUBSTRING      H5Fopen of a path containing it breaks
 *   KM_H5_BREAK_HOW=segv|hang  SIGSEGV, or never return [segv]
 *
 * Built by tests/CMakeLists.txt as build/tests/libkm_crashhdf5.so. */
#define _GNU_SOURCE

#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int64_t km_hid_t; /* hid_t of libhdf5 1.10 */

km_hid_t H5Fopen(const char *name, unsigned flags, km_hid_t fapl);

km_hid_t H5Fopen(const char *name, unsigned flags, km_hid_t fapl)
{
    static km_hid_t (*real)(const char *, unsigned, km_hid_t);
    const char *want = getenv("KM_H5_BREAK");
    if (want != NULL && want[0] != '\0' && name != NULL && strstr(name, want) != NULL) {
        const char *how = getenv("KM_H5_BREAK_HOW");
        if (how != NULL && strcmp(how, "hang") == 0)
            for (;;)
                pause();
        raise(SIGSEGV);
    }
    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "H5Fopen");
    return real(name, flags, fapl);
}
