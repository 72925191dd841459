/* Is a result complete?  The result writer sets the root attribute
 * complete = 1 last, just before close and rename; a file without it was cut
 * short (or written by something else), whatever its name.  And whether a
 * file is HDF5 at all (its signature). */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <hdf5.h>

#include "h5util.h"
#include "internal.h"

/* HDF5's signature, which a file holds at offset 0 or, after a user block,
 * at 512, 1024, 2048, ... (the offsets libhdf5's H5Fis_hdf5 tries). */
static const unsigned char HDF5_SIGNATURE[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

km_status km_is_hdf5_file(km_ctx *ctx, const char *path, int *is_hdf5)
{
    struct stat sb;
    if (path == NULL || is_hdf5 == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "km_is_hdf5_file: NULL argument");
    *is_hdf5 = 0;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return KM_OK;
    /* Read here, without starting libhdf5 (a caller such as the command's
       probe asks before it forks). */
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return KM_OK;
    unsigned char sig[8];
    for (uint64_t at = 0; at + 8 <= (uint64_t)sb.st_size && !*is_hdf5;
         at = at == 0 ? 512 : 2 * at) {
        if (fseeko(f, (off_t)at, SEEK_SET) != 0 || fread(sig, 1, 8, f) != 8)
            break;
        *is_hdf5 = memcmp(sig, HDF5_SIGNATURE, 8) == 0;
    }
    fclose(f);
    return KM_OK;
}

void km_hdf5_start(void)
{
    km_h5_init();
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
    if (H5Fis_hdf5(path) > 0 && (f = km_h5_open_ro(path, H5P_DEFAULT)) >= 0) {
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
    km_status st = KM_OK;
    *complete = 0;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return KM_OK;
    km_h5_quiet_begin(&q);
    if (H5Fis_hdf5(path) > 0) {
        if ((f = km_h5_open_ro(path, H5P_DEFAULT)) >= 0) {
            if (km_h5_attr_get_string(NULL, f, "schema", schema, sizeof schema) == KM_OK &&
                strcmp(schema, "knotmap-result") == 0 &&
                km_h5_attr_get_double(NULL, f, "complete", &flag) == KM_OK && flag == 1.0)
                *complete = 1;
            H5Fclose(f);
        } else { /* in use (another program is writing it: neither complete nor ours to
                    judge) or out of memory fail; a damaged file is not complete */
            st = km_h5_open_fail(ctx, path, KM_OK);
        }
    }
    km_h5_quiet_end(&q);
    return st;
}
