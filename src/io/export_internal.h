/* Shared by the exporters (export_tekscan.c, export_audio.c): create a
 * temporary file beside the target and move it into place when complete,
 * so a reader never sees a half-written export under the final name. */
#ifndef KM_EXPORT_INTERNAL_H
#define KM_EXPORT_INTERNAL_H

#include "internal.h"

typedef struct km_tmpfile {
    char *path;        /* final name (owned copy) */
    char *tmp;         /* temporary name (owned); NULL once committed */
    int fd;            /* open descriptor of tmp, -1 when closed */
} km_tmpfile;

/* Check the target (KM_ERR_CREATE when it exists and overwrite == 0, or the
 * folder is not writable) and create "<path>.tmp-<pid>-<n>" (mode 0666 &
 * ~umask, O_EXCL).  t->fd is open for writing. */
km_status km_tmpfile_open(km_ctx *ctx, const km_alloc_ref *a, const char *path,
                          int32_t overwrite, km_tmpfile *t);
/* fsync and close fd (if still open), then rename (overwrite) or link +
 * unlink (refusing an existing target) into place. */
km_status km_tmpfile_commit(km_ctx *ctx, km_tmpfile *t, int32_t overwrite);
/* Close and remove the temporary file if not committed; free names. */
void km_tmpfile_discard(const km_alloc_ref *a, km_tmpfile *t);

#endif
