/* Atomic output files: the one way src/io writes a file under a final name
 * (results, sessions, exports, pictures).  Internal to src/io.
 *
 * The file is written under a temporary name ".<name>.tmp-XXXXXX" (name cut
 * to fit 255 bytes) in the
 * target's folder (same file system, so the rename is atomic), created
 * with O_EXCL and mode 0666 & ~umask.  Commit: flush the temporary to disk
 * (fsync), rename it to the final name, flush the folder.  A failure at any
 * step removes the temporary; the final name is either untouched or holds
 * the whole new file.
 *
 * Replacing: a missing target is always fine.  An existing one needs
 * overwrite != 0, and when a schema is given (HDF5 outputs) it must be an
 * HDF5 file whose root attribute `schema` equals it: a file knotmap did not
 * write is never replaced.  The check runs at open and again just before
 * the rename (km_atomic_open_later: the schema at a time the caller chooses,
 * or just before the rename); the second one reads the file again only
 * when it is not the one the open checked (device, inode, size, modification and change times
 * differ, or it appeared meanwhile): HDF5's open of the old result costs
 * ~1.3 M instructions under HDF5's global lock.  Without overwrite the
 * rename refuses an existing target atomically (RENAME_NOREPLACE, or link
 * + unlink).
 *
 * Every temporary is registered, from before it exists until it is
 * renamed or removed, in a fixed process-wide table that
 * km_remove_temporaries() (include/knotmap.h) walks from a signal handler.
 * A full table or a path longer than KM_ATOMIC_PATH_MAX only means that
 * temporary is not registered (the write itself goes on). */
#ifndef KM_ATOMIC_OUT_H
#define KM_ATOMIC_OUT_H

#include <sys/stat.h>

#include "internal.h"

#define KM_ATOMIC_SLOTS 256       /* temporaries registered at once */
#define KM_ATOMIC_PATH_MAX 4096   /* longest registered temporary path, with its NUL */

typedef struct km_atomic_out {
    km_alloc_ref alloc;
    char *path;          /* final name (owned copy) */
    char *tmp;           /* temporary name (owned); NULL when none */
    const char *schema;  /* required schema of a file to replace; NULL: any regular file */
    int fd;              /* descriptor of tmp; -1 once closed or handed over */
    int slot;            /* registry slot, -1 when not registered */
    unsigned gen;        /* registry generation of that slot */
    int overwrite;
    int committed;
    int target_seen;     /* the target existed at open and passed the check */
    struct stat target;  /* ... and was this file (km_atomic_commit compares) */
    int schema_due;      /* km_atomic_open_later: its schema is still to be read */
} km_atomic_out;

/* An empty handle (fd -1, nothing owned): km_atomic_discard() on it is a no-op. */
void km_atomic_init(km_atomic_out *o);

/* May `path` be (re)written under the rules above?  Errors: KM_ERR_CREATE
 * ("PATH: is a folder", "PATH: exists (and overwriting was not asked)",
 * "PATH: exists and is not a SCHEMA file: not replacing it"). */
km_status km_atomic_check_target(km_ctx *ctx, const char *path, const char *schema, int overwrite);

/* Check the target, then create and register the temporary, open for
 * writing in o->fd.  `schema` must outlive o (a string literal).  A caller
 * that gives the descriptor to a FILE or a library sets o->fd = -1 and
 * closes it itself; HDF5 writers call km_atomic_close_fd() and let HDF5
 * open the name.  Errors: KM_ERR_CREATE (target refused, folder missing or
 * not writable: "PATH: ..."), KM_ERR_NOMEM.  On error o is left empty. */
km_status km_atomic_open(km_ctx *ctx, const km_alloc_ref *alloc, const char *path,
                         const char *schema, int overwrite, km_atomic_out *o);

/* km_atomic_open, except that an existing regular file's schema (HDF5's
 * open of it: ~1.3 M instructions under HDF5's global lock) is not read
 * yet: km_atomic_check_schema reads it when the caller chooses, and
 * km_atomic_commit at the latest, so a file of another kind is still never
 * replaced.  A session's opening, which other sessions' threads wait on,
 * leaves it for the frames (bench/HISTORY.md "Session 40 (burst14)"). */
km_status km_atomic_open_later(km_ctx *ctx, const km_alloc_ref *alloc, const char *path,
                               const char *schema, int overwrite, km_atomic_out *o);

/* The check km_atomic_open_later left due, on the target as it is now
 * (KM_OK when none is due, and after it has run once).  Errors as
 * km_atomic_check_target's. */
km_status km_atomic_check_schema(km_ctx *ctx, km_atomic_out *o);

/* Close o->fd if open (no flush).  Errors: KM_ERR_IO (close reported a
 * write error: "PATH: errno text"). */
km_status km_atomic_close_fd(km_ctx *ctx, km_atomic_out *o);

/* The temporary is complete and closed by its writer (or o->fd is still
 * open): fsync, close, check the target again, rename, fsync the folder,
 * unregister.  Errors: KM_ERR_IO ("PATH: cannot flush to disk: errno
 * text", "... cannot rename into place: ..."), KM_ERR_CREATE (the target
 * appeared or changed meanwhile).  On error the temporary stays for
 * km_atomic_discard() to remove. */
km_status km_atomic_commit(km_ctx *ctx, km_atomic_out *o);

/* A write to o's temporary (through descriptor fd, or -1: o->fd, else its
 * name) failed for `reason` (strerror's text): KM_ERR_CREATE "PATH: cannot
 * create the temporary file: REASON" (exit 73, as the HDF5 writers say it)
 * when nothing of it reached the file (its size 0: a full folder, `ulimit
 * -f 0`), else KM_ERR_IO "PATH: what: REASON" (exit 74).  So every writer
 * gives a full folder one status. */
km_status km_atomic_write_failed(km_ctx *ctx, const km_atomic_out *o, int fd, const char *what,
                                 const char *reason);

/* Close the descriptor, remove the temporary unless committed, unregister,
 * free the names.  Safe on an empty or committed handle; o is empty after. */
void km_atomic_discard(km_atomic_out *o);

/* How many times this process has opened an existing target to read its
 * schema (the tests count the re-reads the commit saves). */
unsigned long km_atomic_schema_reads(void);

#endif
