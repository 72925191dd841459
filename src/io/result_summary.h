/* Everything a picture caption or a report says about a result beyond its
 * map: session facts, what was assumed, the candidate and metrics tables,
 * the parameters, the source header.  Internal: used by src/pipeline
 * (render.c, report.c).  Files are untrusted: every shape is checked, a
 * table column of another length than the table's is skipped. */
#ifndef KM_RESULT_SUMMARY_H
#define KM_RESULT_SUMMARY_H

#include "internal.h"

typedef struct km_table_col {
    char name[64];
    char units[32];            /* the column's "units" attribute, "" when none */
    double *v;                 /* n_rows values (integers converted), owned */
} km_table_col;

typedef struct km_table {
    size_t n_rows, n_cols;
    km_table_col *cols;        /* by name order, owned */
} km_table;

typedef struct km_text_pair {
    char key[96];
    char value[256];
} km_text_pair;

typedef struct km_result_summary {
    char source_path[512];     /* root attributes, "" when absent */
    char source_format[32];
    char created_utc[40];
    char version[32];
    char command_line[1024];
    char mode[16];             /* /session attributes */
    char units[32];
    char assumed[256];         /* /session assumed, else the source header's
                                  knotmap_assumed, else "" */
    char recorded[128];        /* recording date (and time) from the source
                                  header, "" when not known */
    int32_t rows, cols;
    double row_pitch_mm, col_pitch_mm, frame_rate_hz, roller_radius_mm;
    int64_t n_frames;
    double duration_s;         /* last minus first /session/time plus one
                                  frame period; NaN when unknown */
    int all_contact;           /* 1: every frame's /metrics flags carry
                                  ALL_CONTACT (the whole sheet in contact) */
    km_table candidates;       /* /candidates, empty when absent */
    km_table metrics;          /* /metrics */
    km_text_pair *params;      /* /params attributes as text, by name */
    size_t n_params;
    km_text_pair *header;      /* /session/source_header, keys decoded */
    size_t n_header;
    int32_t *coverage;         /* /bodymap/coverage (cov_ny x cov_nx), NULL
                                  when absent */
    int32_t cov_ny, cov_nx;
} km_result_summary;

/* Read the summary of the knotmap result at `path` (already checked to be
 * one, e.g. by km_result_read_map).  Absent parts stay empty; metrics 0
 * leaves /metrics unread (a picture does not show it).  The tables' values
 * (rows x columns as doubles) may take at most max_bytes (<= 0: no limit):
 * a table whose declared size would go beyond it is refused before its
 * values are read.  Errors: KM_ERR_NOT_FOUND, KM_ERR_FORMAT (not HDF5),
 * KM_ERR_LIMIT (beyond max_bytes, naming the table), KM_ERR_NOMEM. */
km_status km_result_read_summary(km_ctx *ctx, const char *path, int64_t max_bytes, int metrics,
                                 km_result_summary *out);
void km_result_summary_clear(km_ctx *ctx, km_result_summary *s);

/* Whether every frame's /metrics flags carry KM_FRAME_ALL_CONTACT (the
 * whole sheet in contact) in the open result `file` (an HDF5 file id,
 * hid_t) of n_frames frames: read a block at a time up to the first frame
 * without it (at once on most sessions); 0 when unknown (no such column,
 * not one value per frame).  For the picture, the report and `info`. */
int km_result_all_contact(km_ctx *ctx, int64_t file, int64_t n_frames);

/* The column called `name`, NULL when absent. */
const km_table_col *km_table_find(const km_table *t, const char *name);

#endif
