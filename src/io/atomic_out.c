/* Atomic output files and the registry of in-flight temporaries (see
 * atomic_out.h). */
#define _GNU_SOURCE /* renameat2, RENAME_NOREPLACE */

#include "atomic_out.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "h5util.h"

/* ---- registry of in-flight temporaries -----------------------------------
 * A slot's word is (generation << 2) | state.  The owner moves FREE ->
 * FILLING (writes the path) -> LIVE, and LIVE -> FREE with the generation
 * bumped; the signal handler moves LIVE -> TAKEN, unlinks, then TAKEN ->
 * FREE.  Every change is one compare-and-swap on a lock-free atomic, so the
 * handler may interrupt any thread at any point: it only reads paths of
 * LIVE slots it has taken, which nobody writes until they are FREE again,
 * and the generation stops an owner from freeing a slot reused since. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the temporaries registry needs lock-free atomics");

enum { SLOT_FREE = 0, SLOT_FILLING = 1, SLOT_LIVE = 2, SLOT_TAKEN = 3 };

static atomic_uint reg_word[KM_ATOMIC_SLOTS];
static pid_t reg_pid[KM_ATOMIC_SLOTS];
static char reg_path[KM_ATOMIC_SLOTS][KM_ATOMIC_PATH_MAX];

static void reg_add(km_atomic_out *o)
{
    size_t n = strlen(o->tmp);
    o->slot = -1;
    if (n >= KM_ATOMIC_PATH_MAX)
        return;
    for (int i = 0; i < KM_ATOMIC_SLOTS; i++) {
        unsigned w = atomic_load(&reg_word[i]);
        if ((w & 3u) != SLOT_FREE ||
            !atomic_compare_exchange_strong(&reg_word[i], &w, (w & ~3u) | SLOT_FILLING))
            continue;
        memcpy(reg_path[i], o->tmp, n + 1);
        reg_pid[i] = getpid();
        atomic_store(&reg_word[i], (w & ~3u) | SLOT_LIVE);
        o->slot = i;
        o->gen = w >> 2;
        return;
    }
}

static void reg_remove(km_atomic_out *o)
{
    if (o->slot < 0)
        return;
    unsigned live = (o->gen << 2) | SLOT_LIVE;
    /* Fails only when a handler has taken the slot: it frees it itself. */
    atomic_compare_exchange_strong(&reg_word[o->slot], &live, ((o->gen + 1u) << 2) | SLOT_FREE);
    o->slot = -1;
}

int km_remove_temporaries(void)
{
    int saved = errno, removed = 0;
    pid_t self = getpid();
    for (int i = 0; i < KM_ATOMIC_SLOTS; i++) {
        unsigned w = atomic_load(&reg_word[i]);
        if ((w & 3u) != SLOT_LIVE ||
            !atomic_compare_exchange_strong(&reg_word[i], &w, (w & ~3u) | SLOT_TAKEN))
            continue;
        /* A forked child inherits the table: it must not remove its parent's files. */
        if (reg_pid[i] == self && unlink(reg_path[i]) == 0)
            removed++;
        atomic_store(&reg_word[i], (((w >> 2) + 1u) << 2) | SLOT_FREE);
    }
    errno = saved;
    return removed;
}

/* ---- target checks ---------------------------------------------------------- */

static atomic_ulong schema_reads;

unsigned long km_atomic_schema_reads(void)
{
    return atomic_load(&schema_reads);
}

/* Is `path` an HDF5 file with root attribute schema == `schema`?  -1: one
   that another program holds open for writing (HDF5's lock): not known;
   -2: out of memory (km_h5_open_fail's words recorded on ctx). */
static int has_schema(km_ctx *ctx, const char *path, const char *schema)
{
    char buf[64];
    int ok = 0;
    hid_t f;
    htri_t is;

    atomic_fetch_add(&schema_reads, 1u);
    is = H5Fis_hdf5(path);
    if (is == 0)
        return 0;
    f = is > 0 ? km_h5_open_ro(path, H5P_DEFAULT) : H5I_INVALID_HID;
    if (f < 0) { /* the one mapping of a failed open; a damaged file is simply not one */
        km_status st = km_h5_open_fail(ctx, path, KM_OK);
        return st == KM_ERR_NOMEM ? -2 : st != KM_OK ? -1 : 0;
    }
    if (km_h5_attr_get_string(NULL, f, "schema", buf, sizeof buf) == KM_OK)
        ok = strcmp(buf, schema) == 0;
    H5Fclose(f);
    return ok;
}

/* km_atomic_check_target, and what it saw: *exists = 1 and *sb the file
 * when there was one.  With `due` non-NULL an existing regular file's
 * schema is not read (*due = 1 then): km_atomic_check_schema reads it. */
static km_status check_target(km_ctx *ctx, const char *path, const char *schema, int overwrite,
                              int *exists, struct stat *out, int *due)
{
    struct stat sb;
    km_h5_quiet q;
    int ok;

    *exists = 0;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT)
            return KM_OK;
        return km_fail(ctx, KM_ERR_CREATE, "%s: %s", path, strerror(errno));
    }
    *exists = 1;
    *out = sb;
    if (S_ISDIR(sb.st_mode))
        return km_fail(ctx, KM_ERR_CREATE, "%s: is a folder", path);
    if (!overwrite)
        return km_fail(ctx, KM_ERR_CREATE, "%s: exists (and overwriting was not asked)", path);
    if (schema == NULL) {
        if (!S_ISREG(sb.st_mode))
            return km_fail(ctx, KM_ERR_CREATE, "%s: exists and is not a regular file: not replacing it",
                           path);
        return KM_OK;
    }
    if (due != NULL && S_ISREG(sb.st_mode)) {
        *due = 1;
        return KM_OK;
    }
    km_h5_quiet_begin(&q);
    ok = S_ISREG(sb.st_mode) ? has_schema(ctx, path, schema) : 0;
    km_h5_quiet_end(&q);
    if (ok == -2)
        return KM_ERR_NOMEM;
    if (ok < 0) /* a file another program writes: replacing it would lose what it writes */
        return km_fail_errno(ctx, KM_ERR_CREATE, KM_H5_LOCKED_ERRNO, "%s: " KM_H5_LOCKED_TEXT ": not replacing it", path);
    if (!ok)
        return km_fail(ctx, KM_ERR_CREATE, "%s: exists and is not a %s file: not replacing it",
                       path, schema);
    return KM_OK;
}

km_status km_atomic_check_target(km_ctx *ctx, const char *path, const char *schema, int overwrite)
{
    struct stat sb;
    int exists;
    return check_target(ctx, path, schema, overwrite, &exists, &sb, NULL);
}

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mode == b->st_mode && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
           a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The check before the rename: the target the open checked, unchanged, or
 * still none (cheap: one stat), else the whole check again. */
static km_status recheck_target(km_ctx *ctx, km_atomic_out *o)
{
    struct stat sb;
    int exists;
    if (o->schema_due)
        return km_atomic_check_schema(ctx, o);
    if (stat(o->path, &sb) == 0 ? o->target_seen && same_file(&sb, &o->target)
                                : errno == ENOENT && !o->target_seen)
        return KM_OK;
    return check_target(ctx, o->path, o->schema, o->overwrite, &exists, &sb, NULL);
}

km_status km_atomic_check_schema(km_ctx *ctx, km_atomic_out *o)
{
    if (!o->schema_due)
        return KM_OK;
    o->schema_due = 0;
    /* The whole check: the file may have changed since the open saw it. */
    return check_target(ctx, o->path, o->schema, o->overwrite, &o->target_seen, &o->target,
                        NULL);
}

/* ---- open / commit / discard --------------------------------------------------- */

void km_atomic_init(km_atomic_out *o)
{
    memset(o, 0, sizeof *o);
    o->fd = -1;
    o->slot = -1;
}

static uint64_t mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15u;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
    return x ^ (x >> 31);
}

/* The longest file name a folder takes (POSIX NAME_MAX on Linux). */
#define KM_NAME_MAX 255

/* ".<name>.tmp-XXXXXX" beside path: six letters or digits from the pid, a
 * process-wide counter and the clock (the O_EXCL create settles clashes).
 * A name too long for that keeps its first bytes (whole UTF-8 characters):
 * every name that fits the folder gets a temporary that fits too. */
static void temp_name(const char *path, char *tmp, size_t cap)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static atomic_uint counter;
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash != NULL ? (size_t)(slash - path) + 1 : 0;
    struct timespec ts;
    char suffix[7];

    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t r = mix64(((uint64_t)getpid() << 32) ^ atomic_fetch_add(&counter, 1u) ^
                       ((uint64_t)ts.tv_nsec << 16) ^ (uint64_t)ts.tv_sec);
    for (int i = 0; i < 6; i++, r /= 62u)
        suffix[i] = alnum[r % 62u];
    suffix[6] = '\0';
    const char *base = path + dirlen;
    size_t keep = strlen(base), room = KM_NAME_MAX - 12; /* "." ".tmp-" XXXXXX */
    if (keep > room) {
        keep = room;
        while (keep > 0 && ((unsigned char)base[keep] & 0xC0) == 0x80)
            keep--; /* not inside a UTF-8 character */
    }
    snprintf(tmp, cap, "%.*s.%.*s.tmp-%s", (int)dirlen, path, (int)keep, base, suffix);
}

/* Is the folder of `file` an existing folder?  (A create can fail with
   ENOENT in a folder that exists: /proc, some FUSE file systems.) */
static int folder_exists(const char *file)
{
    char dir[KM_ATOMIC_PATH_MAX];
    const char *slash = strrchr(file, '/');
    struct stat sb;
    size_t n = slash == NULL ? 0 : slash == file ? 1 : (size_t)(slash - file);
    if (n >= sizeof dir)
        return 0;
    memcpy(dir, n > 0 ? file : ".", n > 0 ? n : 1);
    dir[n > 0 ? n : 1] = '\0';
    return stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* km_atomic_open and km_atomic_open_later: an existing target's schema
 * read now (later = 0) or left due. */
static km_status open_out(km_ctx *ctx, const km_alloc_ref *alloc, const char *path,
                          const char *schema, int overwrite, int later, km_atomic_out *o)
{
    km_status st;
    size_t n = strlen(path), cap = n + 32;
    int e = EEXIST;

    km_atomic_init(o);
    o->alloc = *alloc;
    o->schema = schema;
    o->overwrite = overwrite != 0;
    if ((st = check_target(ctx, path, schema, overwrite, &o->target_seen, &o->target,
                           later ? &o->schema_due : NULL)) != KM_OK)
        goto done;
    o->path = km_ref_alloc(alloc, n + 1);
    o->tmp = km_ref_alloc(alloc, cap);
    if (o->path == NULL || o->tmp == NULL) {
        st = km_fail(ctx, KM_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    memcpy(o->path, path, n + 1);
    for (int attempt = 0; attempt < 100 && o->fd < 0 && e == EEXIST; attempt++) {
        temp_name(path, o->tmp, cap);
        /* Registered before it exists, so no moment leaves it unlisted. */
        reg_add(o);
        o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        e = o->fd < 0 ? errno : 0;
        if (o->fd < 0)
            reg_remove(o);
    }
    if (o->fd >= 0)
        goto done;
    if ((e == ENOENT || e == ENOTDIR) && !folder_exists(path))
        st = km_fail(ctx, KM_ERR_CREATE, "%s: the folder does not exist", path);
    else if (e == EEXIST)
        st = km_fail(ctx, KM_ERR_CREATE, "%s: cannot find a free temporary name", path);
    else
        st = km_fail(ctx, KM_ERR_CREATE, "%s: cannot create a file in its folder: %s", path,
                     strerror(e));
done:
    if (st != KM_OK) {
        km_ref_free(alloc, o->tmp);
        o->tmp = NULL; /* nothing to remove: the create failed */
        km_atomic_discard(o);
    }
    return st;
}

km_status km_atomic_open(km_ctx *ctx, const km_alloc_ref *alloc, const char *path,
                         const char *schema, int overwrite, km_atomic_out *o)
{
    return open_out(ctx, alloc, path, schema, overwrite, 0, o);
}

km_status km_atomic_open_later(km_ctx *ctx, const km_alloc_ref *alloc, const char *path,
                               const char *schema, int overwrite, km_atomic_out *o)
{
    return open_out(ctx, alloc, path, schema, overwrite, 1, o);
}

km_status km_atomic_close_fd(km_ctx *ctx, km_atomic_out *o)
{
    int fd = o->fd;
    o->fd = -1;
    if (fd >= 0 && close(fd) != 0)
        return km_fail(ctx, KM_ERR_IO, "%s: %s", o->path, strerror(errno));
    return KM_OK;
}

/* fsync the temporary: through o->fd when still open, else by name. */
static int sync_temp(km_atomic_out *o)
{
    int fd = o->fd >= 0 ? o->fd : open(o->tmp, O_RDONLY | O_CLOEXEC);
    int rc = fd >= 0 ? fsync(fd) : -1, e = errno;
    if (fd >= 0 && close(fd) != 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    o->fd = -1;
    errno = e;
    return rc;
}

static int sync_folder(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[KM_ATOMIC_PATH_MAX];
    int fd, rc;

    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) < sizeof dir)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else
        return 0; /* absurdly long folder name: the rename is done, skip the folder sync */
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    /* Some file systems refuse fsync on folders; the rename is done anyway. */
    if (rc != 0 && (errno == EINVAL || errno == EBADF))
        rc = 0;
    close(fd);
    return rc;
}

/* rename() that never replaces an existing target. */
static int rename_noreplace(const char *from, const char *to)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    /* No RENAME_NOREPLACE on this file system: link() refuses a target too. */
    if (link(from, to) != 0)
        return -1;
    unlink(from);
    return 0;
}

km_status km_atomic_commit(km_ctx *ctx, km_atomic_out *o)
{
    km_status st;
    int rc;

    if (o->tmp == NULL || o->committed)
        return km_fail(ctx, KM_ERR_INTERNAL, "%s: no temporary file to commit",
                       o->path != NULL ? o->path : "output");
    if (sync_temp(o) != 0)
        return km_fail(ctx, KM_ERR_IO, "%s: cannot flush to disk: %s", o->path, strerror(errno));
    /* The target may have appeared or changed since open: check again. */
    if ((st = recheck_target(ctx, o)) != KM_OK)
        return st;
    rc = o->overwrite ? rename(o->tmp, o->path) : rename_noreplace(o->tmp, o->path);
    if (rc != 0) {
        if (errno == EEXIST)
            return km_fail(ctx, KM_ERR_CREATE, "%s: exists (and overwriting was not asked)",
                           o->path);
        return km_fail(ctx, KM_ERR_IO, "%s: cannot rename into place: %s", o->path,
                       strerror(errno));
    }
    o->committed = 1;
    reg_remove(o);
    if (sync_folder(o->path) != 0)
        return km_fail(ctx, KM_ERR_IO, "%s: cannot flush the folder to disk: %s", o->path,
                       strerror(errno));
    return KM_OK;
}

km_status km_atomic_write_failed(km_ctx *ctx, const km_atomic_out *o, int fd, const char *what,
                                 const char *reason)
{
    struct stat st;
    int known;
    if (fd < 0)
        fd = o->fd;
    known = fd >= 0 ? fstat(fd, &st) == 0 : o->tmp != NULL && stat(o->tmp, &st) == 0;
    if (known && S_ISREG(st.st_mode) && st.st_size == 0)
        return km_fail(ctx, KM_ERR_CREATE, "%s: cannot create the temporary file: %s", o->path,
                       reason);
    return km_fail(ctx, KM_ERR_IO, "%s: %s: %s", o->path, what, reason);
}

void km_atomic_discard(km_atomic_out *o)
{
    if (o->fd >= 0)
        close(o->fd);
    o->fd = -1;
    if (o->tmp != NULL && !o->committed)
        unlink(o->tmp);
    reg_remove(o);
    km_ref_free(&o->alloc, o->tmp);
    km_ref_free(&o->alloc, o->path);
    km_alloc_ref a = o->alloc;
    km_atomic_init(o);
    o->alloc = a;
}
