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
    static const char *const names[] = {"a PNG file knotmap drew", "an SVG file knotmap drew",
                                        "a PDF file knotmap drew", "an HTML report knotmap wrote",
                                        "a knotmap Tekscan export file",
                                        "a knotmap audio export file"};
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

/* Is the needle (m bytes, NULs included) in the n bytes at h? */
static int holds(const unsigned char *h, size_t n, const char *needle, size_t m)
{
    for (size_t k = 0; k + m <= n; k++)
        if (memcmp(h + k, needle, m) == 0)
            return 1;
    return 0;
}

/* Is a file whose first n bytes are head (and last nt bytes tail) a file of
 * this kind that knotmap wrote? */
static int looks_like(const unsigned char *head, size_t n, const unsigned char *tail, size_t nt,
                      km_file_kind kind)
{
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const char png_mark[] = KM_SOFTWARE_KEY "\0" KM_MADE_BY;  /* its tEXt chunk */
    static const char pdf_mark[] = "/Creator (" KM_MADE_BY;          /* its Info dictionary */
    char text[513];
    switch (kind) {
    case KM_FILE_PNG:
        return n >= 8 && memcmp(head, png_sig, 8) == 0 && holds(head, n, png_mark, sizeof png_mark - 1);
    case KM_FILE_PDF:
        return n >= 5 && memcmp(head, "%PDF-", 5) == 0 && holds(tail, nt, pdf_mark, sizeof pdf_mark - 1);
    case KM_FILE_TEKSCAN_EXPORT: /* export_tekscan.c's first two lines */
        return n >= sizeof KM_TEKSCAN_EXPORT_HEAD - 1 &&
               memcmp(head, KM_TEKSCAN_EXPORT_HEAD, sizeof KM_TEKSCAN_EXPORT_HEAD - 1) == 0;
    case KM_FILE_AUDIO_EXPORT: /* export_audio.c's comment, in the header's first chunks; W64
                                  and AU carry none: any file of the container */
        if (n >= 4 && (memcmp(head, "riff", 4) == 0 || memcmp(head, ".snd", 4) == 0))
            return 1;
        return holds(head, n, KM_AUDIO_EXPORT_COMMENT, sizeof KM_AUDIO_EXPORT_COMMENT - 1);
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
    if (kind == KM_FILE_SVG) /* draw.c's comments come before <svg */
        return strncmp(text, "<?xml", 5) == 0 && strstr(text, "<svg") != NULL &&
               holds(head + i, n, "<!-- " KM_SOFTWARE_KEY ": " KM_MADE_BY,
                     sizeof("<!-- " KM_SOFTWARE_KEY ": " KM_MADE_BY) - 1);
    return strncmp(text, "<!doctype html", 14) == 0 &&
           holds(head + i, n, KM_HTML_GENERATOR, sizeof KM_HTML_GENERATOR - 1);
}

/* The general rules (atomic_out.h), then: an existing file is replaced
 * only when it is of the same kind and knotmap wrote it. */
km_status km_file_check_target(km_ctx *ctx, const char *path, km_file_kind kind, int overwrite)
{
    struct stat sb;
    unsigned char head[512], tail[4096];
    size_t n = 0, nt = 0;
    FILE *f;
    km_status st = km_atomic_check_target(ctx, path, NULL, overwrite);
    if (st != KM_OK || stat(path, &sb) != 0)
        return st;
    if (S_ISREG(sb.st_mode) && (f = fopen(path, "rb")) != NULL) {
        n = fread(head, 1, sizeof head, f);
        if (kind == KM_FILE_PDF && /* cairo writes the Info dictionary last */
            fseeko(f, sb.st_size > (off_t)sizeof tail ? sb.st_size - (off_t)sizeof tail : 0, SEEK_SET) == 0)
            nt = fread(tail, 1, sizeof tail, f);
        fclose(f);
    }
    if (!S_ISREG(sb.st_mode) || !looks_like(head, n, tail, nt, kind))
        return km_fail(ctx, KM_ERR_CREATE, "%s: exists and is not %s: not replacing it", path,
                       km_file_kind_name(kind));
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
