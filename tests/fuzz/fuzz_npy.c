/* Fuzz target: the .npy reader (read_npy.c: the header dict, the layouts
 * of array_read.c) on
 * arbitrary bytes; the first byte selects --time-axis (fuzz_common.h). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    km_fuzz_array(data, size, KM_FORMAT_NPY);
    return 0;
}
