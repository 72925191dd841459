/* Fuzz target: the knotmap result readers (result_reader.c, result_info.c,
 * result_summary.c: what `info`, `render`, `report`, `eval` and `process
 * --resume` read back) on arbitrary bytes.  Results arrive from elsewhere
 * like sessions do, so they are untrusted input too.  Beyond memory errors:
 * a failure must carry a documented status and name the file, and no HDF5
 * object may stay open after a call.  libhdf5's own faults are filed apart
 * by run.sh (see libhdf5/). */
#include <hdf5.h>

#include "fuzz_common.h"
#include "io/result_reader.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return 0;
}

static void check(km_ctx *ctx, km_status st, const char *path, const char *call)
{
    ssize_t open_objects = H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (open_objects > 0)
        km_fuzz_die("HDF5 handles left open after", call);
    if (st != KM_OK)
        km_fuzz_check_failure(ctx, st, path);
    km_ctx_clear_error(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = km_fuzz_file(data, size);
    km_ctx *ctx = NULL;
    km_result_info *ri = NULL;
    km_result_map map;
    km_points pts;
    double pitch = 0.0;
    int flag = 0;
    km_status st;
    static const km_result_map_kind kinds[] = {KM_RESULT_MAP_AUTO, KM_RESULT_MAP_MAX,
                                               KM_RESULT_MAP_EXCESS};

    if (km_ctx_create(&ctx) != KM_OK)
        abort();
    st = km_is_result_file(ctx, path, &flag);
    check(ctx, st, path, "km_is_result_file");
    st = km_result_is_complete(ctx, path, &flag);
    check(ctx, st, path, "km_result_is_complete");
    ri = malloc(sizeof *ri);
    if (ri == NULL)
        abort();
    st = km_result_info_read(ctx, path, ri);
    check(ctx, st, path, "km_result_info_read");
    free(ri);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        memset(&map, 0, sizeof map);
        st = km_result_read_map(ctx, path, kinds[k], NULL, NULL, &map);
        check(ctx, st, path, "km_result_read_map");
        if (st == KM_OK) {
            if (map.ny < 1 || map.nx < 1 || map.values == NULL)
                km_fuzz_die("map read without cells", "");
            for (int64_t i = 0; i < (int64_t)map.ny * map.nx; i++)
                (void)map.values[i];
        }
        km_result_map_clear(ctx, &map);
    }
    memset(&pts, 0, sizeof pts);
    st = km_result_read_candidates(ctx, path, &pts, &pitch);
    check(ctx, st, path, "km_result_read_candidates");
    for (size_t i = 0; i < pts.n; i++)
        (void)(pts.x_mm[i] + pts.y_mm[i]);
    km_points_clear(ctx, &pts);
    memset(&pts, 0, sizeof pts);
    st = km_session_read_truth(ctx, path, &pts);
    check(ctx, st, path, "km_session_read_truth");
    km_points_clear(ctx, &pts);
    km_ctx_free(ctx);
    return 0;
}
