/* km_result_check_chunks (knotmap.h): every dataset of a result checked as
 * km_h5_dread checks one before libhdf5 decodes it (h5_chunks_check.c), for
 * a reader that is not knotmap's: Python's read_result reads with h5py,
 * whose filters would decode a crafted chunk whole (a 4 KiB chunk to
 * gigabytes) and read a short one's uninitialised tail. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "h5_chunks.h"
#include "h5util.h"

#define VISIT_MAX 4096 /* datasets looked at: a result has a few dozen */

typedef struct visit {
    km_ctx *ctx;
    const char *path;
    int frames; /* also /frames/conditioned */
    int n;
    km_status st;
} visit;

static herr_t one(hid_t root, const char *name, const H5O_info_t *info, void *data)
{
    visit *w = data;
    char why[200];
    if (info->type != H5O_TYPE_DATASET || (!w->frames && strcmp(name, "frames/conditioned") == 0))
        return 0;
    if (++w->n > VISIT_MAX)
        return 1;
    hid_t d = H5Dopen2(root, name, H5P_DEFAULT);
    hid_t type = d >= 0 ? H5Dget_type(d) : H5I_INVALID_HID;
    hid_t dcpl = d >= 0 ? H5Dget_create_plist(d) : H5I_INVALID_HID;
    hid_t space = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
    size_t elem = type >= 0 ? H5Tget_size(type) : 0;
    int bad = elem > 0 ? km_h5_dataset_unsound(d, dcpl, space, elem, why, sizeof why) : 0;
    km_h5_close_layout(dcpl, type, space);
    if (d >= 0)
        H5Dclose(d);
    if (bad)
        w->st = km_fail(w->ctx, km_h5_unsound_status(bad), "%s: /%s cannot be read: %s", w->path,
                        name, why);
    return bad ? 1 : 0;
}

km_status km_result_check_chunks(km_ctx *ctx, const char *path, int frames)
{
    struct stat sb;
    km_h5_quiet q;
    visit w = {ctx, path, frames, 0, KM_OK};
    hid_t f = H5I_INVALID_HID;
    if (path == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "km_result_check_chunks: NULL path");
    if (stat(path, &sb) != 0)
        return km_fail(ctx, KM_ERR_NOT_FOUND, "%s: %s", path, km_open_reason(errno));
    km_h5_quiet_begin(&q);
    if ((f = km_h5_open_ro(path, H5P_DEFAULT)) < 0) {
        char why[256] = "";
        km_status kind = km_h5_error_kind(KM_ERR_FORMAT, why, sizeof why);
        w.st = km_fail(ctx, kind, "%s: cannot open as HDF5: %s", path, why);
        goto done;
    }
    if (H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, one, &w, H5O_INFO_BASIC) < 0 && w.st == KM_OK)
        w.st = km_fail(ctx, KM_ERR_FORMAT, "%s: its objects cannot be listed (damaged file)", path);
done:
    if (f >= 0)
        H5Fclose(f);
    km_h5_quiet_end(&q);
    return w.st;
}
