/* Is a result complete?  The result writer sets the root attribute
 * complete = 1 last, just before close and rename; a file without it was cut
 * short (or written by something else), whatever its name. */
#include <string.h>
#include <sys/stat.h>

#include <hdf5.h>

#include "h5util.h"
#include "internal.h"

km_status km_is_hdf5_file(km_ctx *ctx, const char *path, int *is_hdf5)
{
    struct stat sb;
    km_h5_quiet q;
    if (path == NULL || is_hdf5 == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "km_is_hdf5_file: NULL argument");
    *is_hdf5 = 0;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return KM_OK;
    km_h5_quiet_begin(&q);
    *is_hdf5 = H5Fis_hdf5(path) > 0;
    km_h5_quiet_end(&q);
    return KM_OK;
}

km_status km_is_result_file(km_ctx *ctx, const char *path, int *is_result)
{
    struct stat sb;
    km_h5_quiet q;
    char schema[64];
    hid_t f;

    if (path == NULL || is_result == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "km_is_result_file: NULL argument");
    *is_result = 0;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return KM_OK;
    km_h5_quiet_begin(&q);
    if (H5Fis_hdf5(path) > 0 && (f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) >= 0) {
        if (km_h5_attr_get_string(NULL, f, "schema", schema, sizeof schema) == KM_OK &&
            strcmp(schema, "knotmap-result") == 0)
            *is_result = 1;
        H5Fclose(f);
    }
    km_h5_quiet_end(&q);
    return KM_OK;
}

km_status km_result_is_complete(km_ctx *ctx, const char *path, int *complete)
{
    struct stat sb;
    km_h5_quiet q;
    char schema[64];
    double flag = 0.0;
    hid_t f;

    if (path == NULL || complete == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "km_result_is_complete: NULL argument");
    *complete = 0;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return KM_OK;
    km_h5_quiet_begin(&q);
    if (H5Fis_hdf5(path) > 0 && (f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) >= 0) {
        if (km_h5_attr_get_string(NULL, f, "schema", schema, sizeof schema) == KM_OK &&
            strcmp(schema, "knotmap-result") == 0 &&
            km_h5_attr_get_double(NULL, f, "complete", &flag) == KM_OK && flag == 1.0)
            *complete = 1;
        H5Fclose(f);
    }
    km_h5_quiet_end(&q);
    return KM_OK;
}
