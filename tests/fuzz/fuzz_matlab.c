/* Fuzz target: the MAT-file readers on arbitrary bytes: level 5
 * (read_matlab.c, mat_file.c: element tags, zlib streams, variable headers,
 * time/mask/scalars) and v7.3 (read_mat73.c: HDF5 behind the 512-byte user
 * block, through libhdf5 as the session target); the first byte selects
 * --time-axis (fuzz_common.h).  As the session target, it checks that the
 * reader leaves no HDF5 object open after free (a v7.3 file read or
 * refused on any path). */
#include <hdf5.h>

#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors become details, not stderr noise */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ssize_t open_objects;
    km_fuzz_array(data, size, KM_FORMAT_MATLAB);
    open_objects = H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (open_objects > 0) {
        char n[32];
        snprintf(n, sizeof n, "%zd objects open", open_objects);
        km_fuzz_die("HDF5 handles left open after km_reader_free", n);
    }
    return 0;
}
