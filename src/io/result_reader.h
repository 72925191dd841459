/* Reading knotmap result HDF5 files (docs/FORMAT.md 2.1) and the ground
 * truth of synthetic sessions (1.2) back, for pictures and evaluation.
 * Internal: used by src/pipeline.  Files are treated as untrusted: every
 * shape and type is checked.  HDF5's error printing is off during each call
 * (h5util.h).  Every error detail starts with the path. */
#ifndef KM_RESULT_READER_H
#define KM_RESULT_READER_H

#include "internal.h"

/* Which map of a result. */
typedef enum km_result_map_kind {
    KM_RESULT_MAP_AUTO = 0,    /* bodymap/pressure if present, else frames/max */
    KM_RESULT_MAP_BODYMAP = 1, /* bodymap/pressure */
    KM_RESULT_MAP_MAX = 2,     /* frames/max (grid coordinates) */
    KM_RESULT_MAP_EXCESS = 3   /* bodymap/excess */
} km_result_map_kind;

typedef struct km_result_map {
    int32_t ny, nx;
    float *values;             /* ny*nx row-major, owned: km_result_map_clear */
    double x0_mm, y0_mm;       /* body position of the centre of cell (0, 0) */
    double x_pitch_mm, y_pitch_mm;
    char units[32];            /* result units ("kPa", "raw") */
    char dataset[32];          /* e.g. "/bodymap/pressure" */
    int32_t roller;            /* 1 = roller session */
} km_result_map;

typedef struct km_points {
    size_t n;
    double *x_mm, *y_mm;       /* n each, owned: km_points_clear */
} km_points;

/* A caller's say on a map before its values are read (the picture's
 * memory budget): `shape` has everything but values, units and roller. */
typedef km_status (*km_result_map_check)(km_ctx *ctx, const km_result_map *shape, void *user);

/* Read one map; check (may be NULL) is called with its shape before
 * anything of its size is allocated, and its error stops the read.
 * Errors: KM_ERR_NOT_FOUND (file), KM_ERR_FORMAT (not a knotmap result,
 * map absent, wrong shape or type, empty), KM_ERR_LIMIT, KM_ERR_NOMEM,
 * check's. */
km_status km_result_read_map(km_ctx *ctx, const char *path, km_result_map_kind kind,
                             km_result_map_check check, void *user, km_result_map *out);
void km_result_map_clear(km_ctx *ctx, km_result_map *m);

/* /candidates x_mm, y_mm in file order (best first).  *pitch_mm (may be
 * NULL) gets the larger of the session's row and column pitch.  Errors:
 * as above; no /candidates is KM_ERR_FORMAT. */
km_status km_result_read_candidates(km_ctx *ctx, const char *path, km_points *out,
                                    double *pitch_mm);

/* /truth/knots x_mm, y_mm of a knotmap session.  Errors: KM_ERR_NOT_FOUND,
 * KM_ERR_FORMAT (not a session, no /truth/knots, columns of different
 * lengths or not numbers), KM_ERR_NOMEM. */
km_status km_session_read_truth(km_ctx *ctx, const char *path, km_points *out);

void km_points_clear(km_ctx *ctx, km_points *p);

/* A /params default to compare with (src/pipeline/result_info.c): a number,
 * or a string when str != NULL; `same`, a number that reads as the default
 * does (NaN: none); `note`, NULL or said after the default (a parameter an
 * older result records and this version no longer has). */
typedef struct km_param_default {
    const char *name;
    double num;
    const char *str;
    double same;
    const char *note;
} km_param_default;

/* km_result_info_read's file side (result_info.c): everything but the
 * judgement of which defaults apply, given as defs[n_defs]. */
km_status km_result_read_info(km_ctx *ctx, const char *path, const km_param_default *defs,
                              size_t n_defs, km_result_info *out);

#endif
