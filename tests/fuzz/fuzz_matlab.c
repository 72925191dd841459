/* Fuzz target: the MAT-file reader (read_matlab.c, mat_file.c: element tags,
 * zlib streams, variable headers, time/mask/scalars) on arbitrary bytes.  The
 * first byte's low two bits select --time-axis (from the file, first, last);
 * the rest is the file. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    km_read_options opt;
    if (size < 1)
        return 0;
    km_read_options_default(&opt);
    opt.format = KM_FORMAT_MATLAB;
    opt.time_axis = (data[0] & 3) == 1 ? 0 : (data[0] & 3) == 2 ? 1 : -1;
    km_fuzz_drain(km_fuzz_file(data + 1, size - 1), &opt);
    return 0;
}
