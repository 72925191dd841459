/* km_result_info_read: a result summarised, its /params compared with what
 * a default run (km_process_params_default) writes.  One table names each
 * /params key beside the km_process_params field it comes from. */
#include <stddef.h>
#include <string.h>

#include "io/result_reader.h"
#include "knotmap.h"

enum { P_F64, P_I32, P_I64 };

#define KIND(x) _Generic((x), double: P_F64, int32_t: P_I32, int64_t: P_I64)
#define P(name, field)                                                                         \
    {name, offsetof(km_process_params, field), KIND(((km_process_params *)0)->field)}

/* The /params keys written straight from a km_process_params field
 * (process.c write_params); keys derived from the session (units,
 * saturation, block size, the effective peak options) are not compared. */
static const struct {
    const char *name;
    size_t off;
    int kind;
} FIELDS[] = {
    P("read_rows", read.rows),
    P("read_cols", read.cols),
    P("read_frame_rate_hz", read.frame_rate_hz),
    P("read_row_pitch_mm", read.row_pitch_mm),
    P("read_col_pitch_mm", read.col_pitch_mm),
    P("read_mode", read.mode),
    P("read_roller_radius_mm", read.roller_radius_mm),
    P("read_sensor", read.sensor),
    P("calib_offset", calib.offset),
    P("calib_gain", calib.gain),
    P("calib_noise_threshold", calib.noise_threshold),
    P("smooth_sigma_rows", smooth.sigma_rows),
    P("smooth_sigma_cols", smooth.sigma_cols),
    P("smooth_truncate", smooth.truncate),
    P("smooth_cval", smooth.cval),
    P("resample_hz", cond.resample_hz),
    P("tare_frames", cond.tare_frames),
    P("detect_bad_taxels", cond.detect_bad),
    P("warmup_frames", cond.warmup_frames),
    P("fill_bad_taxels", cond.fill_bad),
    P("corrupt_ratio", cond.corrupt_ratio),
    P("corrupt_window", cond.corrupt_window),
    P("lowpass_hz", cond.lowpass_hz),
    P("highpass_hz", cond.highpass_hz),
    P("notch_hz", cond.notch_hz),
    P("median_frames", cond.median_frames),
    P("dog_sigma", cond.dog_sigma),
    P("peaks_min_distance", peaks.min_distance),
    P("peaks_threshold_rel", peaks.threshold_rel),
    P("peaks_exclude_border", peaks.exclude_border),
    P("peaks_num_peaks", peaks.num_peaks),
    P("peaks_min_prominence", peaks.min_prominence),
    P("contact_threshold", contact_threshold),
    P("save_frames", save_frames),
    P("track_gate_mm", track.gate_mm),
    P("track_max_gap", track.max_gap),
    P("odometry_lift_threshold", lift_threshold),
    P("cand_background_half_cols", cand.background_half_cols),
    P("cand_seen_threshold", cand.seen_threshold),
    P("cand_min_prominence", cand.min_prominence),
    P("cand_min_snr", cand.min_snr),
    P("cand_knot_sigma_mm", cand.knot_sigma_mm),
    P("cand_ridge_half_rows", cand.ridge_half_rows),
    P("cand_stuck_frames", cand.stuck_frames),
    P("cand_min_distance", cand.min_distance),
    P("cand_min_coverage", cand.min_coverage),
    P("cand_min_persistence", cand.min_persistence),
    P("cand_max_candidates", cand.max_candidates),
    P("bodymap_contact_half_rows", cand.contact_half_rows),
    P("bodymap_contact_threshold", cand.contact_threshold),
    P("bodymap_pass_gap_frames", cand.pass_gap_frames),
};
#define N_FIELDS (sizeof FIELDS / sizeof FIELDS[0])

km_status km_result_info_read(km_ctx *ctx, const char *path, km_result_info *out)
{
    km_process_params p;
    km_param_default defs[N_FIELDS + 2];
    size_t n = 0;
    km_process_params_default(&p);
    defs[n++] = (km_param_default){"read_format", 0.0, "auto"};
    defs[n++] = (km_param_default){"read_units", 0.0, ""};
    for (size_t i = 0; i < N_FIELDS; i++) {
        const char *at = (const char *)&p + FIELDS[i].off;
        double v;
        if (FIELDS[i].kind == P_F64)
            memcpy(&v, at, sizeof v);
        else if (FIELDS[i].kind == P_I32) {
            int32_t x;
            memcpy(&x, at, sizeof x);
            v = x;
        } else {
            int64_t x;
            memcpy(&x, at, sizeof x);
            v = (double)x;
        }
        defs[n++] = (km_param_default){FIELDS[i].name, v, NULL};
    }
    return km_result_read_info(ctx, path, defs, n, out);
}
