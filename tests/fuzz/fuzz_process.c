/* Fuzz target: the whole pipeline, km_process(), file in -> result out,
 * on the text formats and audio (the session format is left to
 * fuzz_session: a damaged HDF5 file can hang libhdf5).  The first byte
 * selects the format and options (fuzz_options.h; bit 7: format audio
 * instead of text, and bits 3-4 = 3 selects tekscan), the rest is the file.
 *
 * Checks the safe-output contract (DESIGN.md section 8): after a failure
 * nothing is left in the output folder, not even a temporary; after a
 * success exactly the result is there.  Frames are capped through the
 * progress callback (cancel after a budget), which must also leave nothing. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "fuzz_options.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char km_fuzz_outdir[64];
static char km_fuzz_outpath[96];

static void rm_outdir(void)
{
    rmdir(km_fuzz_outdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(km_fuzz_outdir, sizeof km_fuzz_outdir, "/dev/shm/knotmap-fuzz-out-XXXXXX");
    if (mkdtemp(km_fuzz_outdir) == NULL)
        km_fuzz_die("cannot create the output folder", km_fuzz_outdir);
    snprintf(km_fuzz_outpath, sizeof km_fuzz_outpath, "%s/result.knotmap.h5", km_fuzz_outdir);
    atexit(rm_outdir);
    return 0;
}

/* Names in the output folder; the first one into `first`. */
static int count_outputs(char *first, size_t cap)
{
    DIR *d = opendir(km_fuzz_outdir);
    struct dirent *e;
    int n = 0;
    if (d == NULL)
        km_fuzz_die("output folder vanished", km_fuzz_outdir);
    first[0] = '\0';
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n++ == 0)
            snprintf(first, cap, "%s", e->d_name);
    }
    closedir(d);
    return n;
}

static int budget(void *user, int64_t done, int64_t total)
{
    (void)user;
    (void)total;
    return done > 2048; /* cancel: a long input is not a bug, a slow test is */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    km_process_params p;
    km_ctx *ctx = NULL;
    km_status st;
    char first[256];
    int n;
    const char *in;
    if (size < 1)
        return 0;
    km_process_params_default(&p);
    km_fuzz_options(data[0], (data[0] & 128) ? KM_FORMAT_AUDIO
                             : ((data[0] >> 3) & 3) == 3 ? KM_FORMAT_TEKSCAN
                                                         : KM_FORMAT_TEXT, &p.read);
    p.block_frames = 5;
    p.progress = budget;
    in = km_fuzz_file(data + 1, size - 1);
    if (km_ctx_create(&ctx) != KM_OK)
        abort();
    st = km_process(ctx, in, km_fuzz_outpath, &p, NULL);
    n = count_outputs(first, sizeof first);
    if (st == KM_OK) {
        if (n != 1 || strcmp(first, "result.knotmap.h5") != 0)
            km_fuzz_die("success but the output folder does not hold exactly the result", first);
    } else {
        if (st != KM_ERR_CANCELLED)
            km_fuzz_check_failure(ctx, st, in);
        if (n != 0)
            km_fuzz_die("failure left a file in the output folder", first);
    }
    unlink(km_fuzz_outpath);
    km_ctx_free(ctx);
    return 0;
}
