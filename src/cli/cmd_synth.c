/* STUB: knotmap synth (owned by the synth engineer). */
#include "cli.h"
int km_cmd_synth(int argc, char **argv)
{
    (void)argc; (void)argv;
    km_cli_error("synth: not built yet");
    return KM_EX_SOFTWARE;
}
