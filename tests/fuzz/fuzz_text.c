/* Fuzz target: the text matrix reader (read_text.c) on
 * arbitrary bytes.  The first byte selects the options (fuzz_options.h),
 * the rest is the file. */
#include "fuzz_common.h"
#include "fuzz_options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    km_read_options opt;
    if (size < 1)
        return 0;
    km_fuzz_options(data[0], KM_FORMAT_TEXT, &opt);
    km_fuzz_drain(km_fuzz_file(data + 1, size - 1), &opt);
    return 0;
}
