/* Fuzz target: the Tekscan ASCII movie reader (read_tekscan.c) on arbitrary bytes. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    km_read_options opt;
    km_read_options_default(&opt);
    opt.format = KM_FORMAT_TEKSCAN;
    km_fuzz_drain(km_fuzz_file(data, size), &opt);
    return 0;
}
