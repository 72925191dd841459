/* Whole-file output through the atomic-output mechanism (see file_out.h,
 * atomic_out.h). */
#define _POSIX_C_SOURCE 200809L

#include "file_out.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_out.h"
#include "text_scan.h"

const char *km_file_kind_name(km_file_kind kind)
{
    static const char *const names[] = {"PNG", "SVG", "PDF", "HTML", "knotmap Tekscan export",
                                        "knotmap audio export"};
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

/* Is the start of a file (n bytes of head) a file of this kind? */
static int looks_like(const unsigned char *head, size_t n, km_file_kind kind)
{
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    char text[513];
    switch (kind) {
    case KM_FILE_PNG:
        return n >= 8 && memcmp(head, png_sig, 8) == 0;
    case KM_FILE_PDF:
        return n >= 5 && memcmp(head, "%PDF-", 5) == 0;
    case KM_FILE_TEKSCAN_EXPORT: /* export_tekscan.c's first two lines */
        return n >= sizeof KM_TEKSCAN_EXPORT_HEAD - 1 &&
               memcmp(head, KM_TEKSCAN_EXPORT_HEAD, sizeof KM_TEKSCAN_EXPORT_HEAD - 1) == 0;
    case KM_FILE_AUDIO_EXPORT: /* export_audio.c's comment, in the header's first chunks; W64
                                  and AU carry none: any file of the container */
        if (n >= 4 && (memcmp(head, "riff", 4) == 0 || memcmp(head, ".snd", 4) == 0))
            return 1;
        for (size_t k = 0; k + sizeof KM_AUDIO_EXPORT_COMMENT - 1 <= n; k++)
            if (memcmp(head + k, KM_AUDIO_EXPORT_COMMENT, sizeof KM_AUDIO_EXPORT_COMMENT - 1) == 0)
                return 1;
        return 0;
    default:
        break;
    }
    size_t i = km_utf8_bom_len(head, n);
    while (i < n && isspace(head[i]))
        i++;
    n -= i;
    if (n > sizeof text - 1)
        n = sizeof text - 1;
    for (size_t k = 0; k < n; k++)
        text[k] = (char)tolower(head[i + k]);
    text[n] = '\0';
    if (kind == KM_FILE_SVG)
        return (strncmp(text, "<?xml", 5) == 0 || strncmp(text, "<svg", 4) == 0) &&
               strstr(text, "<svg") != NULL;
    return strncmp(text, "<!doctype html", 14) == 0 || strncmp(text, "<html", 5) == 0;
}

/* The general rules (atomic_out.h), then: an existing file is replaced
 * only when it is of the same kind. */
km_status km_file_check_target(km_ctx *ctx, const char *path, km_file_kind kind, int overwrite)
{
    struct stat sb;
    unsigned char head[512];
    size_t n = 0;
    FILE *f;
    km_status st = km_atomic_check_target(ctx, path, NULL, overwrite);
    if (st != KM_OK || stat(path, &sb) != 0)
        return st;
    if (S_ISREG(sb.st_mode) && (f = fopen(path, "rb")) != NULL) {
        n = fread(head, 1, sizeof head, f);
        fclose(f);
    }
    if (!S_ISREG(sb.st_mode) || !looks_like(head, n, kind))
        return km_fail(ctx, KM_ERR_CREATE, "%s: exists and is not a %s file: not replacing it",
                       path, km_file_kind_name(kind));
    return KM_OK;
}

km_status km_file_write_atomic(km_ctx *ctx, const char *path, const void *data, size_t n,
                               km_file_kind kind, int overwrite)
{
    km_status st;
    km_atomic_out o;
    km_alloc_ref alloc = km_ctx_alloc_ref(ctx);
    const unsigned char *p = data;

    km_atomic_init(&o);
    if (path == NULL || (data == NULL && n > 0) || (unsigned)kind > KM_FILE_AUDIO_EXPORT)
        return km_fail(ctx, KM_ERR_INVALID, "write: bad arguments");
    st = km_file_check_target(ctx, path, kind, overwrite);
    if (st != KM_OK)
        return st;
    st = km_atomic_open(ctx, &alloc, path, NULL, overwrite, &o);
    if (st != KM_OK)
        return st;
    while (n > 0) {
        ssize_t w = write(o.fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            st = km_atomic_write_failed(ctx, &o, -1, "cannot write",
                                        w < 0 ? strerror(errno) : "nothing written");
            goto done;
        }
        p += w;
        n -= (size_t)w;
    }
    /* A SIGINT to the command (km_ctx_cancel) before the rename: nothing
       under the final name, the temporary removed (render, report). */
    if (km_ctx_cancelled(ctx)) {
        st = km_fail(ctx, KM_ERR_CANCELLED, "%s: cancelled", path);
        goto done;
    }
    st = km_atomic_commit(ctx, &o);
done:
    km_atomic_discard(&o);
    return st;
}
