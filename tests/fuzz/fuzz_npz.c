/* Fuzz target: the .npz reader (read_npz.c: the zip directory, zip64, stored and
 * deflated members, the CRC-32, the members' .npy headers, the layouts
 * of array_read.c) on
 * arbitrary bytes; the first byte selects --time-axis (fuzz_common.h). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    km_fuzz_array(data, size, KM_FORMAT_NPZ);
    return 0;
}
