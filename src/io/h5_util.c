/* HDF5 for the whole process (see h5util.h): one init, HDF5 silent for the
 * process life, the quiet sections of every entry point, and the text of an
 * HDF5 error.  Attributes: h5_attr.c; variable-length strings read without
 * libhdf5's global-heap parser: h5_vlen.c; datasets: h5_dataset.c. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE */

#include "h5util.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "h5_vfd.h"
#include "h5_vlen.h"
#include "text_scan.h"

/* ---- One init for the process: HDF5 silent for its whole life. ----
 *
 * HDF5 prints (1) its error stack when an API call fails and (2), at
 * library shutdown (its own atexit handler), "HDF5: infinite loop closing
 * library" plus a list of id types when ids are still referenced: libhdf5
 * 1.10.8 itself leaks error-stack references on some damaged files (the
 * "E,E,E,..." list), so no discipline of ours can rule (2) out.  It prints
 * (2) only when the automatic error printer of the thread that runs exit()
 * is on.  So, once per process:
 *  - the default printer of the initialising thread is turned off (a
 *    host's own printer function is left alone);
 *  - an atexit handler, registered after HDF5's (atexit runs handlers in
 *    reverse order, so it runs before H5_term_library), turns the exiting
 *    thread's printer off;
 *  - the vlen-string descriptor conversion (h5_vlen.c) is registered.
 * Every entry point still wraps its calls in km_h5_quiet_begin/end, since
 * each thread of a thread-safe HDF5 has its own error stack. */

static pthread_once_t km_h5_once = PTHREAD_ONCE_INIT;

static void km_h5_silence_at_exit(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void km_h5_init_once(void)
{
    H5E_auto2_t func = NULL;
    void *data = NULL;

    if (H5open() < 0)
        return;
    /* HDF5's default printer is H5Eprint2 (or an internal alias of it):
       anything else was installed by the host and stays. */
    if (H5Eget_auto2(H5E_DEFAULT, &func, &data) >= 0 && func != NULL &&
        (func == (H5E_auto2_t)H5Eprint2 || data == NULL || data == (void *)stderr))
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    atexit(km_h5_silence_at_exit);
    km_h5_vlen_register();
    H5Eclear2(H5E_DEFAULT);
}

void km_h5_init(void)
{
    pthread_once(&km_h5_once, km_h5_init_once);
}

void km_hdf5_no_shutdown(void)
{
    H5dont_atexit(); /* refused (no effect) once libhdf5 has started */
}

/* Every H5E call takes HDF5's global lock, which threads running other
 * sessions wait for: a printer already off (a nested section, a writer's
 * own) is neither switched nor put back. */
void km_h5_quiet_begin(km_h5_quiet *q)
{
    km_h5_init();
    q->saved = H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data) >= 0;
    q->switched = !q->saved || q->func != NULL;
    if (q->switched)
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void km_h5_quiet_end(const km_h5_quiet *q)
{
    H5Eclear2(H5E_DEFAULT);
    if (q->saved && q->switched)
        H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

typedef struct walk_state {
    char *buf;
    size_t cap;
} walk_state;

static herr_t walk_first(unsigned n, const H5E_error2_t *err, void *data)
{
    walk_state *w = data;
    /* Walking upward, entry 0 is where the error was first detected. */
    if (n == 0 && err != NULL && err->desc != NULL)
        snprintf(w->buf, w->cap, "%s", err->desc);
    return 0;
}

void km_h5_error_text(char *buf, size_t cap)
{
    walk_state w = {buf, cap};
    if (cap == 0)
        return;
    buf[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_first, &w);
    H5Eclear2(H5E_DEFAULT);
}

/* What the error first detected says of the failure (walking upward,
   entry 0): libhdf5 out of memory (H5MM/H5FL and the deflate filter push
   H5E_RESOURCE with H5E_NOSPACE, "memory allocation failed ..." anywhere
   on the stack), not a damaged file; knotmap's chunk check refusing a
   filter it cannot check (KM_H5_UNSOUND_FUNC with H5E_UNSUPPORTED), not
   a damaged file either; the file cut while being read (KM_H5_CUT_FUNC),
   an I/O failure. */
static herr_t walk_kind(unsigned n, const H5E_error2_t *err, void *data)
{
    km_status *kind = data;
    if (err == NULL)
        return 0;
    if ((n == 0 && err->maj_num == H5E_RESOURCE && err->min_num == H5E_NOSPACE) ||
        (err->desc != NULL && strstr(err->desc, "memory allocation failed") != NULL))
        *kind = KM_ERR_NOMEM;
    else if (n == 0 && err->func_name != NULL && strcmp(err->func_name, KM_H5_UNSOUND_FUNC) == 0 &&
             err->min_num == H5E_UNSUPPORTED)
        *kind = KM_ERR_UNSUPPORTED;
    else if (n == 0 && err->func_name != NULL && strcmp(err->func_name, KM_H5_CUT_FUNC) == 0)
        *kind = KM_ERR_IO;
    return 0;
}

km_status km_h5_error_kind(km_status kind, char *buf, size_t cap)
{
    km_status seen = KM_OK;
    int e = errno;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_kind, &seen);
    km_h5_error_text(buf, cap);
    if (cap > 0 && buf[0] == '\0' && e == ENOMEM) {
        /* libhdf5 records every failure it sees, unless recording it needed
           memory too: no words and a malloc's ENOMEM */
        snprintf(buf, cap, "out of memory");
        seen = KM_ERR_NOMEM;
    }
    return seen != KM_OK ? seen : kind;
}

km_status km_h5_write_fail(km_ctx *ctx, km_status kind, int os_err, const char *fmt, ...)
{
    char what[512], text[256], reason[sizeof text + 16];
    int e = km_h5_vfd_take_errno();
    va_list ap;
    km_status h5kind = km_h5_error_kind(kind, text, sizeof text); /* reads errno: first */
    if (os_err != 0)
        e = os_err;
    if (e != 0 && e != ENOMEM) { /* the OS reason says more than HDF5's words */
        snprintf(reason, sizeof reason, "%s", strerror(e));
    } else if (e == ENOMEM || h5kind == KM_ERR_NOMEM) {
        snprintf(reason, sizeof reason, "out of memory");
        kind = KM_ERR_NOMEM;
        e = ENOMEM;
    } else {
        snprintf(reason, sizeof reason, "HDF5 error%s%s", text[0] != '\0' ? ": " : "", text);
    }
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    errno = e; /* km_ctx_last_errno: the OS reason, or none */
    return km_fail(ctx, kind, "%s: %s", what, reason);
}

int km_h5_headroom(void)
{
    /* Without an address-space limit the probe below cannot fail (PROT_NONE
       and NORESERVE count against no commit limit, and a 64-bit address
       space has no shortage of 1 MiB holes), so the limit's answer is
       enough: getrlimit costs ~1.3 us where the mapping and unmapping cost
       4-5 us, ~49 times a run (bench/HISTORY.md "Session 49 (speed26)").
       Asked each time: a limit may be set from outside (prlimit). */
    struct rlimit as;
    if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur == RLIM_INFINITY)
        return 1;
    /* Address space, not memory (what `ulimit -v` counts): PROT_NONE and
       never touched, a mapping and an unmapping. */
    void *p = mmap(NULL, KM_H5_HEADROOM, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        H5Eclear2(H5E_DEFAULT);
        errno = ENOMEM;
        return 0;
    }
    munmap(p, KM_H5_HEADROOM);
    return 1;
}

hid_t km_h5_open_ro(const char *path, hid_t fapl)
{
    return km_h5_headroom() ? H5Fopen(path, H5F_ACC_RDONLY, fapl) : H5I_INVALID_HID;
}

int km_h5_locked(const char *why)
{
    return strstr(why, "unable to lock file") != NULL;
}

km_status km_h5_open_fail(km_ctx *ctx, const char *path, km_status damaged)
{
    char why[256];
    km_status kind = km_h5_error_kind(KM_ERR_FORMAT, why, sizeof why);
    const char *sep = path != NULL ? ": " : "";
    if (path == NULL)
        path = "";
    if (km_h5_locked(why))
        return km_fail_errno(ctx, KM_ERR_IO, KM_H5_LOCKED_ERRNO, "%s%s" KM_H5_LOCKED_TEXT, path, sep);
    if (kind == KM_ERR_NOMEM)
        return km_fail(ctx, KM_ERR_NOMEM, "%s%scannot open as HDF5: out of memory", path, sep);
    if (damaged == KM_OK)
        return KM_OK;
    return km_fail(ctx, damaged, "%s%scannot open as HDF5: %s (truncated or damaged file?)", path, sep,
                   why[0] != '\0' ? why : "unknown error");
}

/* n (odd) has no odd divisor from 3 up to its square root. */
static int is_odd_prime(size_t n)
{
    for (size_t q = 3; q * q <= n; q += 2)
        if (n % q == 0)
            return 0;
    return 1;
}

size_t km_h5_chunk_bytes_1d(hid_t d, size_t elem)
{
    hid_t dcpl = H5Dget_create_plist(d);
    hsize_t chunk = 0;
    if (dcpl < 0)
        return 0;
    if (H5Pget_layout(dcpl) != H5D_CHUNKED || H5Pget_chunk(dcpl, 1, &chunk) != 1 ||
        chunk > ((hsize_t)1 << 20))
        chunk = 0;
    H5Pclose(dcpl);
    return (size_t)chunk * elem;
}

/* km_h5_chunk_cache_within: see h5util.h. */
km_status km_h5_chunk_cache_within(km_ctx *ctx, hid_t file, const char *name, hid_t *d, size_t chunk_bytes,
                                   size_t across, uint64_t budget)
{
    double cache = (double)chunk_bytes * (double)across;
    if (budget > 0 && cache > (double)(budget / 2))
        cache = (double)(budget / 2) > (double)chunk_bytes ? (double)(budget / 2) : (double)chunk_bytes;
    if (cache > (double)(1u << 20))
        return km_h5_reopen_with_chunk_cache(ctx, file, name, d, (size_t)cache, across);
    return KM_OK;
}

/* km_h5_reopen_with_chunk_cache: see h5util.h. */
km_status km_h5_reopen_with_chunk_cache(km_ctx *ctx, hid_t file, const char *name, hid_t *d,
                                        size_t cache_bytes, size_t n_chunks)
{
    km_status st = KM_OK;
    size_t slots = 10 * n_chunks + 1; /* HDF5 wants ~10-100 slots per cached chunk, a prime */
    while (!is_odd_prime(slots))
        slots += 2;
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (dapl < 0 || H5Pset_chunk_cache(dapl, slots, cache_bytes + 4096, 1.0) < 0) {
        st = km_fail(ctx, KM_ERR_NOMEM, "/%s: cannot set up its chunk cache", name);
        goto done;
    }
    H5Dclose(*d);
    *d = H5Dopen2(file, name, dapl);
    if (*d < 0)
        st = km_fail(ctx, KM_ERR_FORMAT, "/%s cannot be opened again", name);
done:
    if (dapl >= 0)
        H5Pclose(dapl);
    return st;
}

/* The cache of a file access list (open_file 0) or of an open file. */
static int fixed_mdc(hid_t id, int open_file, size_t bytes)
{
    H5AC_cache_config_t c;
    memset(&c, 0, sizeof c);
    c.version = H5AC__CURR_CACHE_CONFIG_VERSION;
    if ((open_file ? H5Fget_mdc_config(id, &c) : H5Pget_mdc_config(id, &c)) < 0)
        return 0;
    c.set_initial_size = 1;
    c.initial_size = bytes;
    c.min_size = bytes;
    c.max_size = bytes;
    c.incr_mode = H5C_incr__off;
    c.flash_incr_mode = H5C_flash_incr__off;
    c.decr_mode = H5C_decr__off;
    return (open_file ? H5Fset_mdc_config(id, &c) : H5Pset_mdc_config(id, &c)) >= 0;
}

int km_h5_fixed_mdc(hid_t fapl, size_t bytes)
{
    return fixed_mdc(fapl, 0, bytes);
}

int km_h5_fixed_mdc_file(hid_t file, size_t bytes)
{
    return fixed_mdc(file, 1, bytes);
}

/* A session is read front to back: a chunk's lookup walks the root and
 * one leaf of its dataset's index, so a small cache holds what is used
 * (the object headers and those nodes); the rest was kept for nothing.
 * km_h5_check_storage's walk over every chunk at the open took the whole
 * index of /frames into the default cache: an hour at 100 Hz (1407
 * chunks, 23 nodes) held 0.41 MB more than a minute (bench/HISTORY.md,
 * "Session 28 (mem)"). */
hid_t km_h5_read_fapl(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0 && !km_h5_fixed_mdc(fapl, KM_H5_READ_MDC_BYTES)) {
        H5Pclose(fapl);
        fapl = -1;
    }
    return fapl;
}

/* km_h5_frames_hint: the file's 3-D datasets, in groups too (h5py's
 * /data/pressure), gathered by H5Lvisit over hard links only (an external
 * link would open another file) and at most RANK3_LINKS_MAX links. */
#define RANK3_LINKS_MAX 256

typedef struct rank3_walk {
    char *buf;
    size_t cap;
    int n, links;
    char first[KM_TOKEN_TEXT];
} rank3_walk;

static herr_t rank3_one(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    rank3_walk *w = data;
    hsize_t dims[3];
    H5O_info_t oi;
    if (++w->links > RANK3_LINKS_MAX)
        return 1; /* stop: a crafted file's thousands of links */
    if (info->type != H5L_TYPE_HARD || H5Oget_info_by_name(g, name, &oi, H5P_DEFAULT) < 0 ||
        oi.type != H5O_TYPE_DATASET)
        return 0;
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT), space = d >= 0 ? H5Dget_space(d) : -1;
    if (space >= 0 && H5Sget_simple_extent_ndims(space) == 3 &&
        H5Sget_simple_extent_dims(space, dims, NULL) == 3 && w->n < 3) {
        char tok[KM_TOKEN_TEXT]; /* a name from the file: control bytes as \xNN */
        size_t len = strlen(w->buf);
        km_token_text(tok, name, strlen(name));
        snprintf(w->buf + len, w->cap - len, "%s/%s [%llu x %llu x %llu]", w->n ? ", " : "", tok,
                 (unsigned long long)dims[0], (unsigned long long)dims[1],
                 (unsigned long long)dims[2]);
        if (w->n++ == 0)
            snprintf(w->first, sizeof w->first, "%s", tok);
    }
    if (space >= 0)
        H5Sclose(space);
    if (d >= 0)
        H5Dclose(d);
    return 0;
}

void km_h5_frames_hint(hid_t file, char *buf, size_t cap)
{
    char list[3 * (KM_TOKEN_TEXT + 64)] = "";
    rank3_walk w = {list, sizeof list, 0, 0, ""};
    buf[0] = '\0';
    H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, rank3_one, &w);
    H5Eclear2(H5E_DEFAULT);
    if (w.n == 1)
        snprintf(buf, cap, "; the file's 3-D dataset is %s: name it /frames (h5py: "
                 "f.move(\"%s\", \"frames\"); xarray: name the variable frames)", list, w.first);
    else if (w.n > 1)
        snprintf(buf, cap, "; the file's 3-D datasets are %s: name the session's /frames", list);
}
