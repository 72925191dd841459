/* Fuzz target: the MAT-file reader (read_matlab.c, mat_file.c: element tags,
 * zlib streams, variable headers, time/mask/scalars) on
 * arbitrary bytes; the first byte selects --time-axis (fuzz_common.h). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    km_fuzz_array(data, size, KM_FORMAT_MATLAB);
    return 0;
}
