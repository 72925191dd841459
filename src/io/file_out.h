/* Writing a whole output file that was made in memory (pictures, reports):
 * to a temporary file in the target folder, renamed into place when
 * complete (atomic_out.h), so a reader never sees half a file.
 * Internal: used by src/pipeline (render.c, report.c). */
#ifndef KM_FILE_OUT_H
#define KM_FILE_OUT_H

#include "internal.h"

typedef enum km_file_kind {
    KM_FILE_PNG = 0,
    KM_FILE_SVG = 1,
    KM_FILE_PDF = 2,
    KM_FILE_HTML = 3,
    KM_FILE_TEKSCAN_EXPORT = 4, /* `knotmap synth -o x.asf` (export_tekscan.c) */
    KM_FILE_AUDIO_EXPORT = 5    /* `knotmap synth -o x.wav` (export_audio.c) */
} km_file_kind;

/* How the exports begin, written by the exporters and looked for before one
 * replaces a file: the Tekscan export's first lines (then the version), and
 * the audio export's comment (then the grid). */
#define KM_TEKSCAN_EXPORT_HEAD "DATA_TYPE MOVIE\r\nVERSION knotmap "
#define KM_AUDIO_EXPORT_COMMENT "knotmap grid="

/* How a picture or report says knotmap made it, looked for before one
 * replaces a file: the picture's text entry KM_SOFTWARE_KEY = "knotmap
 * VERSION" (a PNG tEXt chunk, an SVG comment "<!-- Software: knotmap ...",
 * the PDF's Creator), the report's generator meta (then the version). */
#define KM_SOFTWARE_KEY "Software"
#define KM_MADE_BY "knotmap "
#define KM_HTML_GENERATOR "<meta name=\"generator\" content=\"" KM_MADE_BY

/* "a PNG file knotmap drew", ..., "an HTML report knotmap wrote", "a
 * knotmap Tekscan export file", "a knotmap audio export file": what a file
 * must be to be replaced. */
const char *km_file_kind_name(km_file_kind kind);

/* Write n bytes of data to `path`.  overwrite 1 replaces an existing file
 * of the same kind that knotmap wrote (its first bytes, and the marks
 * above: a PDF's Creator in its last bytes); anything else that exists at
 * `path` (a photo, a page or a PDF from elsewhere, another kind of file, a
 * folder) is never replaced, and with overwrite 0 nothing is.  Mode 0666 &
 * ~umask.  Errors:
 * KM_ERR_INVALID, KM_ERR_CREATE, KM_ERR_IO, KM_ERR_NOMEM; details start
 * with the path. */
km_status km_file_write_atomic(km_ctx *ctx, const char *path, const void *data, size_t n,
                               km_file_kind kind, int overwrite);

/* May `path` be written as a file of this kind?  The rules of
 * km_file_write_atomic, for writers that stream (the exporters): an export
 * replaces only an export knotmap wrote (the Tekscan header's "VERSION
 * knotmap", the audio comment "knotmap grid="; W64 and AU files, which
 * carry no comment, by their container), never a recording. */
km_status km_file_check_target(km_ctx *ctx, const char *path, km_file_kind kind, int overwrite);

#endif
