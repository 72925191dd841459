/* Fuzz target: the XSENSOR CSV reader (read_xsensor.c) on arbitrary bytes. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    km_read_options opt;
    km_read_options_default(&opt);
    opt.format = KM_FORMAT_XSENSOR;
    km_fuzz_drain(km_fuzz_file(data, size), &opt);
    return 0;
}
