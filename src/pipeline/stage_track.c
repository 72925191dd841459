/* The tracking stage: each peak's body position (DESIGN 6: mat = grid mm;
 * roller = odometry y of the contact line + the row offset wrapped to half
 * a turn), linked into tracks frame after frame. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "pipeline/engine_internal.h"

#define PEAKS_START 1024

/* /tracks (docs/FORMAT.md 2.1): one row per ended track. */
static const km_result_col TRACK_COLS[] = {
    {"track", KM_COL_I32, "", "track id, in order of first appearance", offsetof(km_track, track)},
    {"first_frame", KM_COL_I64, "", "first frame with a linked peak", offsetof(km_track, first_frame)},
    {"last_frame", KM_COL_I64, "", "last frame with a linked peak", offsetof(km_track, last_frame)},
    {"n_frames", KM_COL_I64, "1", "frames with a linked peak", offsetof(km_track, n_frames)},
    {"y_mm", KM_COL_F64, "mm", "mean body y of its peaks", offsetof(km_track, y_mean)},
    {"x_mm", KM_COL_F64, "mm", "mean body x of its peaks", offsetof(km_track, x_mean)},
    {"value_max", KM_COL_F32, "@", "highest peak value", offsetof(km_track, value_max)},
};
static const km_result_table TRACK_TABLE = {"tracks", TRACK_COLS,
                                            sizeof TRACK_COLS / sizeof TRACK_COLS[0],
                                            sizeof(km_track), "n_tracks"};

km_status km_stage_track_create(km_ctx *ctx, km_stage_track *s, const km_session_info *info,
                                const km_track_params *p)
{
    size_t rc = (size_t)info->rows * (size_t)info->cols;
    memset(s, 0, sizeof *s);
    s->roller = info->mode == KM_MODE_ROLLER;
    s->rows = info->rows;
    s->row_pitch_mm = info->row_pitch_mm;
    s->col_pitch_mm = info->col_pitch_mm;
    s->cap = rc < PEAKS_START ? rc : PEAKS_START;
    s->y = km_alloc(ctx, s->cap * sizeof *s->y);
    s->x = km_alloc(ctx, s->cap * sizeof *s->x);
    s->v = km_alloc(ctx, s->cap * sizeof *s->v);
    if (s->y == NULL || s->x == NULL || s->v == NULL)
        return KM_ERR_NOMEM;
    return km_tracker_create(ctx, p, &s->tracker);
}

/* Room for np peaks. */
static km_status room(km_ctx *ctx, km_stage_track *s, size_t np)
{
    if (np <= s->cap)
        return KM_OK;
    size_t cap = np > s->cap * 2 ? np : s->cap * 2;
    double *ny = km_alloc(ctx, cap * sizeof *ny), *nx = km_alloc(ctx, cap * sizeof *nx);
    float *nv = km_alloc(ctx, cap * sizeof *nv);
    if (ny == NULL || nx == NULL || nv == NULL) {
        km_free(ctx, ny);
        km_free(ctx, nx);
        km_free(ctx, nv);
        return KM_ERR_NOMEM;
    }
    km_free(ctx, s->y);
    km_free(ctx, s->x);
    km_free(ctx, s->v);
    s->y = ny;
    s->x = nx;
    s->v = nv;
    s->cap = cap;
    return KM_OK;
}

/* Roller: the body y of a peak at (fractional) row `row`: the contact
 * line's odometry position plus the row offset, wrapped to half a turn. */
static double roller_y(const km_stage_track *s, const km_odometry_sample *odo, double row)
{
    double rows = s->rows;
    double d = fmod(row - odo->contact_row, rows);
    if (d < -rows / 2)
        d += rows;
    else if (d >= rows / 2)
        d -= rows;
    return odo->y_mm + d * s->row_pitch_mm;
}

km_status km_stage_track_frame(km_ctx *ctx, km_stage_track *s, int64_t frame_no,
                               const km_odometry_sample *odo, const km_peak *pks, size_t np,
                               int32_t *ids)
{
    km_status st = room(ctx, s, np);
    if (st != KM_OK)
        return st;
    for (size_t i = 0; i < np; i++) {
        const km_peak *pk = &pks[i];
        s->y[i] = s->roller ? roller_y(s, odo, pk->y) : pk->y * s->row_pitch_mm;
        s->x[i] = pk->x * s->col_pitch_mm;
        s->v[i] = pk->value;
    }
    return km_tracker_update(ctx, s->tracker, frame_no, s->y, s->x, s->v, np, ids);
}

km_status km_stage_track_declare(km_ctx *ctx, km_stage_track *s, km_result_writer *w)
{
    return km_result_writer_add_table(ctx, w, &TRACK_TABLE, &s->table);
}

void km_stage_track_free(km_ctx *ctx, km_stage_track *s)
{
    km_tracker_free(s->tracker);
    km_free(ctx, s->y);
    km_free(ctx, s->x);
    km_free(ctx, s->v);
    s->tracker = NULL;
    s->y = s->x = NULL;
    s->v = NULL;
}
