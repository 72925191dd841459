/* Fuzz target: the knotmap session HDF5 reader (read_session.c) on arbitrary
 * bytes.  libhdf5 itself has open parser CVEs: a crash whose stack is inside
 * libhdf5 only (no knotmap frame between the fuzzer and the fault) is
 * reported separately from knotmap bugs.  Beyond memory errors this target
 * checks that the reader leaves no HDF5 object open after free, on success
 * and on every failure path: a leaked handle keeps the file open (and
 * locked) for the life of the process. */
#include <hdf5.h>

#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* HDF5 prints its error stack on stderr by default; the reader is
       expected to turn errors into a detail, so the noise only hides the
       fuzzer's own output. */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    km_read_options opt;
    ssize_t open_objects;
    km_read_options_default(&opt);
    opt.format = KM_FORMAT_SESSION;
    opt.time_axis = (int32_t)(size % 3) - 1; /* from /time, first, last: the file's bytes untouched */
    km_fuzz_drain(km_fuzz_file(data, size), &opt);
    open_objects = H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (open_objects > 0) {
        char n[32];
        snprintf(n, sizeof n, "%zd objects open", open_objects);
        km_fuzz_die("HDF5 handles left open after km_reader_free", n);
    }
    return 0;
}
