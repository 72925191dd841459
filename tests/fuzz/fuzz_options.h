/* A config byte in front of the file for the formats whose geometry can
 * come from options (text matrix, audio): the fuzzer explores the option
 * combinations together with the bytes.  Seeds carry the byte too
 * (tests/fuzz/make_seeds.py writes it). */
#ifndef KM_FUZZ_OPTIONS_H
#define KM_FUZZ_OPTIONS_H

#include "knotmap.h"

/* bits 0-2: grid; bits 3-4: text_frame_per_file; bit 5: rate; bit 6: mode. */
static void km_fuzz_options(uint8_t cfg, km_format format, km_read_options *opt)
{
    static const int32_t grids[8][2] = {{0, 0}, {1, 1}, {2, 3}, {4, 4}, {64, 32}, {64, 27}, {60, 21}, {3, 0}};
    static const int32_t per_file[4] = {-1, 0, 1, -1};
    km_read_options_default(opt);
    opt->format = format;
    opt->rows = grids[cfg & 7][0];
    opt->cols = grids[cfg & 7][1];
    opt->text_frame_per_file = per_file[(cfg >> 3) & 3];
    opt->frame_rate_hz = (cfg & 32) ? 10.0 : 0.0;
    opt->mode = (cfg & 64) ? KM_MODE_ROLLER : -1;
    opt->roller_radius_mm = (cfg & 64) ? 50.0 : 0.0;
}

#endif
