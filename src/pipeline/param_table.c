/* The parameter vocabulary of km_process_params: one row per parameter
 * (name in /params, CLI option, Python keyword, type, field, range, units,
 * help line), in /params order.  Adding a parameter: the struct field and
 * its default (km_process_params_default), then one row here; the CLI,
 * its help, /params and knotmap.process() follow (docs/ARCHITECTURE.md). */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "core/internal.h"
#include "core/names.h"
#include "pipeline/params.h"

#define F(field) offsetof(km_process_params, field)
#define R(field) offsetof(km_param_run, field)

/* Enum names by value: the one list of each (the CLI parses and prints
 * them, /params records them, Python reads them from here). */
static const char *const LAYOUTS[] = {"line", "matrix", NULL};
static const char *const AXES[] = {"first", "last", NULL};
static const char *const BORDERS[] = {"nearest", "reflect", "mirror", "constant", "wrap", NULL};
static const char *const CURVES[] = {"none", "linear", "power", "header", NULL};
static const char *const PLATEAUS[] = {"all", "one", NULL};

static const char G_OUTPUT[] = "Output";
static const char G_INPUT[] = "Input (what the file does not say itself)";
static const char G_COND[] = "Conditioning (values in the result units: kPa for pressure "
                             "sessions)";
static const char G_CHAIN[] = "Conditioning chain (docs/ALGORITHMS.md 1, 2, 8, 10)";
static const char G_PEAKS[] = "Peaks (docs/ALGORITHMS.md section 3)";
static const char G_TRACK[] = "Tracking and knot candidates (docs/ALGORITHMS.md 7, 9, 10; "
                              "result units, mm)";
/* Detection rules kept opt-in: each gained on some measured cells and lost
   on others (docs/ALGORITHMS.md 10, Experimental options); the rules that
   lost everywhere were removed (10, Tried and removed). */
static const char G_EXPERIMENT[] = "Experimental detection options, off by default: each "
                                   "gained on some measured\ncells and lost on others "
                                   "(docs/ALGORITHMS.md 10)";
static const char G_RUN[] = "Run";

/* --units' help line, "kPa|mmHg|N/cm2|psi|Pa|MPa|raw (psi, Pa, MPa read
   converted to kPa) [from the file, else raw]", made from the units table
   (km_units_name, and km_units_from_file for the ones converted), so a unit
   added there is listed here.  Made once (pthread_once) by the functions
   that hand out TABLE's rows, then read only. */
static char units_doc[256];
static pthread_once_t units_doc_once = PTHREAD_ONCE_INIT;

static void units_doc_init(void)
{
    char conv[128] = "";
    double scale;
    km_units_join(units_doc, sizeof units_doc, "|", "|");
    size_t n = strlen(units_doc);
    for (int32_t i = 0; km_units_name(i) != NULL; i++) {
        const char *u = km_units_name(i), *kept = km_units_from_file(u, &scale);
        if (kept != NULL && strcmp(kept, u) != 0) /* psi, Pa, MPa: kept as kPa */
            snprintf(conv + strlen(conv), sizeof conv - strlen(conv), "%s%s", conv[0] ? ", " : "", u);
    }
    if (n < sizeof units_doc)
        snprintf(units_doc + n, sizeof units_doc - n, "%s%s%s [from the file, else raw]",
                 conv[0] ? " (" : "", conv, conv[0] ? " read converted to kPa)" : "");
}

#define REC KM_PARAM_RECORDED
#define BIG 1e300
/* Bounds with a reason, so a value beyond them is a usage error naming the
 * option (exit 64, ValueError) and not a stage's limit in the middle of a
 * run.  A Gaussian sigma (taxels) beyond the widest grid knotmap reads
 * (KM_MAX_DIM) smooths every frame to its mean: meaningless.  Its kernel
 * radius is truncate x sigma, at most 16 x 65536 = 1048576 taxels, the
 * filter's own limit (src/dsp/gaussian.c).  A resampling rate above
 * 100 kHz is beyond any pressure-mapping sensor (they sample at most a few
 * kHz) and would make 10^5 frames of every second. */
#define SIGMA_MAX ((double)KM_MAX_DIM)
#define TRUNCATE_MAX 16.0
#define RESAMPLE_HZ_MAX 1e5
#define D(nm, opt, field, lo, hi, un, mv, grp, dc, fl)                                         \
    {.name = nm, .option = opt, .type = KM_PARAM_DOUBLE, .offset = F(field), .min = lo,        \
     .max = hi, .metavar = mv, .units = un, .group = grp, .doc = dc, .flags = REC | (fl)}
#define I(nm, opt, field, lo, hi, un, mv, grp, dc)                                             \
    {.name = nm, .option = opt, .type = KM_PARAM_INT32, .offset = F(field), .min = lo,         \
     .max = hi, .metavar = mv, .units = un, .group = grp, .doc = dc, .flags = REC}
#define B(nm, opt, field, grp, dc, fl)                                                         \
    {.name = nm, .option = opt, .type = KM_PARAM_BOOL, .offset = F(field), .min = 0, .max = 1, \
     .group = grp, .doc = dc, .flags = REC | (fl)}
#define E(nm, opt, field, nms, mv, grp, dc, fl)                                                \
    {.name = nm, .option = opt, .type = KM_PARAM_ENUM, .offset = F(field), .names = nms,       \
     .metavar = mv, .group = grp, .doc = dc, .flags = REC | (fl)}
#define RUN(nm, ty, field, un, dc)                                                             \
    {.name = nm, .type = ty, .offset = R(field), .units = un, .doc = dc,                       \
     .flags = REC | KM_PARAM_DERIVED}

static const km_param TABLE[] = {
    /* ---- reading (km_read_options: 0 / "" / -1 = from the file) ---- */
    E("read_format", "format", read.format, km_format_names, "NAME", G_INPUT,
      "the file's format, auto|session|tekscan|xsensor|text|audio|matlab|npy|npz", 0),
    {.option = "grid", .type = KM_PARAM_GRID, .offset = F(read.rows), .offset2 = F(read.cols),
     .min = 1, .max = KM_MAX_DIM, .metavar = "RxC", .units = "taxels", .group = G_INPUT,
     .doc = "taxel rows x columns (text and audio files)"},
    I("read_rows", NULL, read.rows, 0, KM_MAX_DIM, "taxels", NULL, G_INPUT,
      "grid rows, 0 = from the file"),
    I("read_cols", NULL, read.cols, 0, KM_MAX_DIM, "taxels", NULL, G_INPUT,
      "grid columns, 0 = from the file"),
    D("read_frame_rate_hz", "rate", read.frame_rate_hz, 0, KM_RATE_MAX_HZ, "Hz", "HZ", G_INPUT,
      "frame rate, a frame a day to 1e6 a second [from the file, else 1]", KM_PARAM_MIN_OPEN),
    {.option = "pitch", .type = KM_PARAM_PAIR, .offset = F(read.row_pitch_mm),
     .offset2 = F(read.col_pitch_mm), .min = 0, .max = BIG, .metavar = "MM|RxC", .units = "mm",
     .group = G_INPUT,
     .doc = "taxel pitch in mm, rows x columns [from the file, else 1]",
     .flags = KM_PARAM_MIN_OPEN | KM_PARAM_PAIR_ONE},
    D("read_row_pitch_mm", NULL, read.row_pitch_mm, 0, BIG, "mm", NULL, G_INPUT,
      "row pitch, 0 = from the file", 0),
    D("read_col_pitch_mm", NULL, read.col_pitch_mm, 0, BIG, "mm", NULL, G_INPUT,
      "column pitch, 0 = from the file", 0),
    {.name = "read_units", .option = "units", .type = KM_PARAM_UNITS, .offset = F(read.units),
     .metavar = "U", .group = G_INPUT, .doc = units_doc, /* from km_units_name: units_doc_init */
     .flags = REC},
    E("read_mode", "mode", read.mode, km_mode_names, "M", G_INPUT,
      "mat|roller [from the file, else mat]", KM_PARAM_AS_INT),
    D("read_roller_radius_mm", "roller-radius", read.roller_radius_mm, 0, BIG, "mm", "MM",
      G_INPUT, "roller radius (roller mode) [from the file]", KM_PARAM_MIN_OPEN),
    I("read_sensor", "sensor", read.sensor, -1, 1, "", "N", G_INPUT,
      "XSENSOR: which sensor of a two-sensor file, 0 or 1 [the first, warned when there are "
      "two; /params -1]"),
    {.option = "text-layout", .type = KM_PARAM_ENUM, .offset = F(read.text_frame_per_file),
     .names = LAYOUTS, .metavar = "L", .group = G_INPUT,
     .doc = "text: matrix (frames of R lines) or line (one frame per line) [from --grid; "
            "without --grid a long thin file is refused, another read as one frame, warned]"},
    {.option = "time-axis", .type = KM_PARAM_ENUM, .offset = F(read.time_axis),
     .names = AXES, .metavar = "A", .group = G_INPUT,
     .doc = "HDF5 session: first ([T, R, C]) or last ([R, C, T], time-last as h5py or xarray "
            "may keep it) [from /time's length, else first]; MAT-file: first (frames(t, r, c)) "
            "or last (frames(r, c, t)) [from time's length, else the longer end axis]; .npy: "
            "first ([T, R, C]) or last ([R, C, T]) [the longer end axis]; .npz: as .npy [from "
            "time's length, else the longer end axis]"},
    {.option = "override", .type = KM_PARAM_BOOL, .offset = F(read.override), .min = 0,
     .max = 1, .group = G_INPUT,
     .doc = "options replace the file's own rate, pitch, units, mode and roller radius "
            "[a conflict is an error]"},
    {.option = "max-memory", .type = KM_PARAM_SIZE, .offset = F(read.max_memory),
     .min = 1048576.0, .max = 9.0e18, .metavar = "SIZE", .units = "bytes", .group = G_INPUT,
     .doc = "memory budget for the declared grid, block and HDF5 chunks, bytes or with "
            "K/M/G (GiB) [1G]"},
    RUN("units", KM_PARAM_STRING, units, "", "result units"),
    /* ---- point-wise calibration and smoothing ---- */
    D("calib_offset", "offset", calib.offset, -BIG, BIG, "source units", "V", G_COND,
      "subtracted from every value first", 0),
    D("calib_gain", "gain", calib.gain, -BIG, BIG, "", "G", G_COND, "multiplied after", 0),
    RUN("calib_units_to_kpa", KM_PARAM_DOUBLE, units_to_kpa, "kPa",
        "source unit in kPa, folded into the gain (NaN for raw)"),
    D("calib_noise_threshold", "noise-threshold", calib.noise_threshold, -BIG, BIG,
      "result units", "V", G_COND, "values below V become 0 [0 = off]", 0),
    {.option = "sigma", .type = KM_PARAM_PAIR, .offset = F(smooth.sigma_rows),
     .offset2 = F(smooth.sigma_cols), .min = 0, .max = SIGMA_MAX, .metavar = "S|RxC",
     .units = "taxels", .group = G_COND, .doc = "Gaussian smoothing sigma in taxels [0 = off]",
     .flags = KM_PARAM_PAIR_ONE},
    D("smooth_sigma_rows", NULL, smooth.sigma_rows, 0, SIGMA_MAX, "taxels", NULL, G_COND,
      "smoothing sigma along the rows", 0),
    D("smooth_sigma_cols", NULL, smooth.sigma_cols, 0, SIGMA_MAX, "taxels", NULL, G_COND,
      "smoothing sigma along the columns", 0),
    {.name = "smooth_truncate", .keyword = "truncate", .type = KM_PARAM_DOUBLE,
     .offset = F(smooth.truncate), .min = 0, .max = TRUNCATE_MAX, .units = "sigmas", .group = G_COND,
     .doc = "kernel radius in sigmas", .flags = REC | KM_PARAM_MIN_OPEN},
    {.name = "smooth_border", .keyword = "border", .type = KM_PARAM_ENUM,
     .offset = F(smooth.border), .names = BORDERS, .group = G_COND,
     .doc = "smoothing border mode (scipy.ndimage names)", .flags = REC},
    {.name = "smooth_cval", .keyword = "cval", .type = KM_PARAM_DOUBLE, .offset = F(smooth.cval),
     .min = -BIG, .max = BIG, .group = G_COND, .doc = "value outside for border constant",
     .flags = REC},
    /* ---- the conditioning chain (km_condition_params) ---- */
    D("resample_hz", "resample-hz", cond.resample_hz, 0, RESAMPLE_HZ_MAX, "Hz", "F", G_CHAIN,
      "resample irregular times to F Hz first [off]", 0),
    I("tare_frames", "tare", cond.tare_frames, 0, 100000, "frames", "N", G_CHAIN,
      "subtract each taxel's mean over the first N frames [off]"),
    {.name = "tare_given", .type = KM_PARAM_GIVEN, .offset = F(cond.tare), .group = G_CHAIN,
     .doc = "1 when a per-taxel baseline was given", .flags = REC},
    {.name = "gain_map_given", .type = KM_PARAM_GIVEN, .offset = F(cond.gain_map),
     .group = G_CHAIN, .doc = "1 when any gain map was applied", .flags = REC},
    E("calib_curve", "calibration", cond.curve, CURVES, "C", G_CHAIN,
      "raw -> kPa curve: none, header (the Tekscan header's CALIBRATION_POINT_k), linear or "
      "power",
      KM_PARAM_RESOLVED),
    D("calib_curve_a", "curve-a", cond.curve_a, -BIG, BIG, "kPa", "A", G_CHAIN,
      "p = A * raw^B in kPa (linear/power)", KM_PARAM_RESOLVED),
    D("calib_curve_b", "curve-b", cond.curve_b, 0, BIG, "", "B", G_CHAIN,
      "the exponent B", KM_PARAM_RESOLVED),
    B("detect_bad_taxels", "detect-bad-taxels", cond.detect_bad, G_CHAIN,
      "mask dead, stuck and hot taxels found in the warm-up", 0),
    I("warmup_frames", "warmup-frames", cond.warmup_frames, 1, 100000, "frames", "N", G_CHAIN,
      "warm-up block for --detect-bad-taxels"),
    D("bad_flat_range", NULL, cond.bad.flat_range, 0, BIG, "source units", NULL, G_CHAIN,
      "flat when max - min over the warm-up <= this", 0),
    D("bad_dead_level", NULL, cond.bad.dead_level, 0, BIG, "source units", NULL, G_CHAIN,
      "a flat taxel with |value| <= this is dead", 0),
    D("bad_active_range", NULL, cond.bad.active_range, 0, BIG, "source units", NULL, G_CHAIN,
      "flat counts as bad only where the neighbours' range exceeds this", 0),
    D("bad_hot_ratio", "hot-ratio", cond.bad.hot_ratio, 0, BIG, "", "R", G_CHAIN,
      "hot: above R times every neighbour, 0 = off", 0),
    B("fill_bad_taxels", "fill-bad-taxels", cond.fill_bad, G_CHAIN,
      "fill masked taxels from their neighbours in the output", 0),
    D("corrupt_ratio", "corrupt-ratio", cond.corrupt_ratio, 0, BIG, "", "R", G_CHAIN,
      "flag frames whose total exceeds R times the median of their loaded neighbours, 0 = off", 0),
    I("corrupt_window", "corrupt-window", cond.corrupt_window, 3, 255, "frames", "N", G_CHAIN,
      "frames in that median, odd"),
    B("temporal_fir", "iir", cond.fir, G_CHAIN,
      "low/high-pass as causal Butterworth IIR [zero-phase FIR]", KM_PARAM_NEGATED),
    D("lowpass_hz", "lowpass-hz", cond.lowpass_hz, 0, BIG, "Hz", "F", G_CHAIN,
      "low-pass corner [off]", 0),
    D("highpass_hz", "highpass-hz", cond.highpass_hz, 0, BIG, "Hz", "F", G_CHAIN,
      "high-pass corner (drift removal) [off]", 0),
    I("iir_order", "order", cond.order, 1, 16, "", "N", G_CHAIN, "IIR order"),
    I("fir_taps", "taps", cond.taps, 0, 1 << 20, "", "N", G_CHAIN, "FIR taps, odd [auto]"),
    D("notch_hz", "notch-hz", cond.notch_hz, 0, BIG, "Hz", "F", G_CHAIN, "mains notch [off]",
      0),
    D("notch_q", "notch-q", cond.notch_q, 0, BIG, "", "Q", G_CHAIN, "notch quality factor", 0),
    I("notch_harmonics", "harmonics", cond.notch_harmonics, 1, 1000, "", "N", G_CHAIN,
      "notches at k*F, k = 1..N"),
    I("median_frames", "median", cond.median_frames, 0, 255, "frames", "N", G_CHAIN,
      "running median over N frames, odd [off]"),
    D("dog_sigma", "dog-sigma", cond.dog_sigma, 0, SIGMA_MAX, "taxels", "S", G_CHAIN,
      "difference of Gaussians: subtract a Gaussian of sigma S taxels (blob enhancement) "
      "[off]",
      0),
    /* ---- peaks (km_peak_params) ---- */
    I("peaks_min_distance", "min-distance", peaks.min_distance, 1, 1000, "taxels", "R",
      G_PEAKS, "window radius, taxels"),
    D("peaks_threshold_abs", "threshold-abs", peaks.threshold_abs, -BIG, BIG, "result units",
      "V", G_PEAKS, "peaks must exceed V [--floor-sigmas x the noise, else the frame minimum]",
      0),
    D("peaks_threshold_rel", "threshold-rel", peaks.threshold_rel, 0, BIG, "", "F", G_PEAKS,
      "... and F times the frame maximum", 0),
    I("peaks_exclude_border", "exclude-border", peaks.exclude_border, 0, KM_MAX_DIM, "taxels",
      "B", G_PEAKS, "drop peaks within B taxels of the edge"),
    E("peaks_plateau", "plateau", peaks.plateau, PLATEAUS, "all|one", G_PEAKS,
      "every plateau taxel, or one per plateau", 0),
    {.name = "peaks_p_norm", .keyword = "p_norm", .type = KM_PARAM_DOUBLE,
     .offset = F(peaks.p_norm), .min = 1, .max = INFINITY, .group = G_PEAKS,
     .doc = "distance for thinning: 1, 2 or inf", .flags = REC},
    {.name = "peaks_num_peaks", .keyword = "num_peaks", .type = KM_PARAM_INT64,
     .offset = F(peaks.num_peaks), .min = -1, .max = 9.0e18, .group = G_PEAKS,
     .doc = "keep the first n peaks of a frame, -1 = all", .flags = REC},
    D("peaks_min_prominence", "min-prominence", peaks.min_prominence, 0, BIG, "result units",
      "V", G_PEAKS, "drop peaks less prominent than V", 0),
    {.name = "peaks_saturation", .keyword = "saturation", .type = KM_PARAM_DOUBLE,
     .offset = F(peaks.saturation), .min = -INFINITY, .max = INFINITY, .units = "result units",
     .group = G_PEAKS, .doc = "peaks at or above are flagged saturated [the session's]",
     .flags = REC | KM_PARAM_RESOLVED},
    {.name = "peaks_want", .type = KM_PARAM_UINT32, .offset = F(peaks.want), .min = 0, .max = 7,
     .group = G_PEAKS, .doc = "KM_WANT_* bits: sub-pixel fit, prominence, area", .flags = REC},
    D("peaks_floor_sigmas", "floor-sigmas", floor_sigmas, 0, BIG, "noise sd", "K", G_PEAKS,
      "without --threshold-abs, peaks must exceed K times the sensor's frame-to-frame noise "
      "in the warm-up, 0 = off", 0),
    B("peaks_keep_suspect_taxels", "keep-suspect-taxels", keep_suspect, G_PEAKS,
      "stuck and hot taxels found in the warm-up stay in the peaks, metrics and maps "
      "[left out]", 0),
    D("peaks_zero_rate", "zero-rate", zero_rate, 0, BIG, "noise sd a minute", "R", G_PEAKS,
      "peaks are measured from each taxel's zero, its low envelope, which follows a drift of "
      "up to R times the warm-up's noise a minute [8 on a roller, 0 = off on a mat]",
      KM_PARAM_RESOLVED),
    D("contact_threshold", "contact-threshold", contact_threshold, -BIG, BIG, "result units",
      "V", G_COND, "a taxel is in contact when above V", 0),
    RUN("saturation", KM_PARAM_DOUBLE, saturation, "result units",
        "the session's saturation (+inf when unknown)"),
    {.name = "block_frames", .option = "block-frames", .type = KM_PARAM_INT64,
     .offset = F(block_frames), .min = 1, .max = 1 << 20, .metavar = "N", .units = "frames",
     .group = G_RUN, .doc = "frames read per block", .flags = REC | KM_PARAM_RESOLVED},
    B("save_frames", "save-frames", save_frames, G_OUTPUT,
      "also write /frames/conditioned [off]", 0),
    /* ---- tracking, odometry, knot candidates, body map ---- */
    D("track_gate_mm", "track-gate-mm", track.gate_mm, -BIG, BIG, "mm", "D", G_TRACK,
      "a peak continues a track within D mm", 0),
    I("track_max_gap", "track-max-gap", track.max_gap, 0, INT32_MAX, "frames", "N", G_TRACK,
      "frames a track may miss"),
    {.name = "odometry_lift_threshold", .option = "odometry-lift-threshold",
     .alias = NULL, .type = KM_PARAM_DOUBLE, .offset = F(lift_threshold), .min = -BIG,
     .max = BIG, .metavar = "V", .units = "result units", .group = G_TRACK,
     .doc = "roller lifted below V", .flags = REC},
    D("cand_background_sigmas", "cand-background-sigmas", cand.background_sigmas, -BIG, BIG, "",
      "K", G_TRACK, "row median background within +-K x the largest footprint sigma", 0),
    D("cand_seen_threshold", "cand-seen-threshold", cand.seen_threshold, -BIG, BIG,
      "result units", "V", G_TRACK, "a pass sees a cell at this excess", 0),
    D("cand_min_prominence", "cand-min-prominence", cand.min_prominence, -BIG, BIG,
      "result units", "V", G_TRACK, "floor on the fitted knot amplitude", 0),
    D("cand_min_snr", "cand-min-snr", cand.min_snr, -BIG, BIG, "", "K", G_TRACK,
      "threshold on the significance (z)", 0),
    D("cand_knot_sigma_mm", "cand-knot-sigma-mm", cand.knot_sigma_mm, -BIG, BIG, "mm", "S",
      G_TRACK, "one footprint sigma, 0 = search the range", 0),
    D("cand_min_sigma_mm", "cand-min-sigma-mm", cand.min_sigma_mm, -BIG, BIG, "mm", "S",
      G_TRACK, "smallest footprint sigma searched", 0),
    D("cand_max_sigma_mm", "cand-max-sigma-mm", cand.max_sigma_mm, -BIG, BIG, "mm", "S",
      G_TRACK, "largest footprint sigma searched", 0),
    D("cand_ridge_sigmas", "cand-ridge-sigmas", cand.ridge_sigmas, -BIG, BIG, "", "K", G_TRACK,
      "remove ridges along y: column median within +-K x the largest footprint sigma, 0 = off",
      0),
    I("cand_stuck_frames", "cand-stuck-frames", cand.stuck_frames, 0, INT32_MAX, "frames", "N",
      G_TRACK, "a taxel repeating a value N frames while its neighbours change is ignored, "
      "0 = off"),
    D("cand_min_distance_mm", "cand-min-distance-mm", cand.min_distance_mm, -BIG, BIG, "mm", "D",
      G_TRACK, "a peak is the largest within +-D mm along each axis", 0),
    I("cand_min_coverage", "cand-min-coverage", cand.min_coverage, 1, INT32_MAX, "passes", "N",
      G_TRACK, "passes a cell needs"),
    D("cand_min_persistence", "cand-min-persistence", cand.min_persistence, -BIG, BIG, "", "F",
      G_TRACK, "share of covering passes that saw it", 0),
    I("cand_max_candidates", "cand-max-candidates", cand.max_candidates, -1, INT32_MAX, "", "N",
      G_TRACK, "keep the best N, -1 = all"),
    I("bodymap_contact_half_rows", "cand-contact-half-rows", cand.contact_half_rows, 0,
      INT32_MAX, "rows", "N", G_TRACK, "roller: rows around the contact row"),
    D("bodymap_contact_threshold", "cand-contact-threshold", cand.contact_threshold, -BIG, BIG,
      "result units", "V", G_TRACK, "mat: contact above V", 0),
    I("bodymap_pass_gap_frames", "cand-pass-gap-frames", cand.pass_gap_frames, 0, INT32_MAX,
      "frames", "N", G_TRACK, "untouched frames that end a pass"),
    I("cand_flat_field", "cand-flat-field", cand.flat_field, 0, 1, "", "N", G_EXPERIMENT,
      "roller: 1 = divide the per-taxel gains estimated from the session out of the "
      "candidate map (off with a gain map)"),
    I("cand_background_slope", "cand-background-slope", cand.background_slope, 0, 2, "", "N",
      G_EXPERIMENT, "roller: the row background follows the body's slope across the row (a "
      "straight line taken off): 1 = its slope from the medians either side, 2 = from the "
      "row's opening, which no knot tilts; 0 = the plain row median"),
    D("cand_seen_noise", "cand-seen-noise", cand.seen_noise, 0, BIG, "", "C", G_TRACK,
      "a pass sees a cell at min(the seen threshold, C x the map's noise), on a ladder down "
      "to a quarter of it; 0 = the seen threshold alone", 0),
    D("cand_drift_sigmas", "cand-drift-sigmas", cand.drift_sigmas, 0, BIG, "", "Z", G_TRACK,
      "take each cell's drift over the session (its pass maxima's slope in time, shrunk "
      "by Z standard errors) off the candidate map; 0 = off", 0),
    D("cand_one_taxel_weight", "cand-one-taxel-weight", cand.one_taxel_weight, -BIG, BIG, "",
      "W", G_TRACK, "peaks one taxel wide (a narrow knot or a hot taxel) listed with a "
      "significance about W x z, under any default candidate's score; 0 = dropped",
      0),
    D("cand_min_pressure_share", "cand-min-pressure-share", cand.min_pressure_share, -BIG, BIG,
      "", "F", G_TRACK, "mat: a peak whose amplitude is under F x the contact pressure at it "
      "(the body's relief, not a knot) is dropped; 0 = off", 0),
    D("cand_band_share", "cand-band-share", cand.band_share, 0, 1, "", "A", G_TRACK,
      "roller: a peak under 0.14 of the contact pressure whose map keeps A of its height "
      "along a line 2.5 and 4 fitted sigmas away (a taut band, a bony prominence) keeps "
      "1 - that share of its significance; 0 = off", 0),
    I("cand_broad_taxel", "cand-broad-taxel", cand.broad_taxel, 0, 1, "", "N", G_EXPERIMENT,
      "roller: 1 = a peak the full scale search found one taxel wide where a second sensor "
      "row did not see it stays one taxel in the broad scales' search; 0 = judged by its "
      "broad fit"),
    /* ---- the gain map (equilibration) ---- */
    {.name = "equilibrate_path", .option = "equilibrate", .type = KM_PARAM_STRING,
     .offset = F(equilibrate), .metavar = "FILE", .group = G_CHAIN,
     .doc = "per-taxel gains from FILE, a uniform-load recording (any format, read on its "
            "own; its grid must be the session's); dead taxels are masked [off]",
     .flags = REC},
    {.name = "gain_map_path", .option = "gain-map", .type = KM_PARAM_STRING,
     .offset = F(gain_map_path), .metavar = "FILE", .group = G_CHAIN,
     .doc = "per-taxel gains from a text file of R lines of C numbers (nan = dead taxel, "
            "masked) [off]",
     .flags = REC},
    D("equil_load_fraction", "equil-load-fraction", equil.load_fraction, 0, 1, "", "F", G_CHAIN,
      "equilibration: loaded frames are within F..1/F of the plateau",
      KM_PARAM_MIN_OPEN | KM_PARAM_MAX_OPEN),
    I("equil_settle_frames", "equil-settle-frames", equil.settle_frames, 0, 1000000, "frames",
      "N", G_CHAIN, "loaded frames dropped at each end of a load"),
    D("equil_unload_fraction", NULL, equil.unload_fraction, 0, 1, "", NULL, G_CHAIN,
      "frames below this share of the plateau are the baseline", 0),
    D("equil_clip_sigma", NULL, equil.clip_sigma, 0, BIG, "", NULL, G_CHAIN,
      "robust mean: values beyond this many deviations dropped, 0 = plain mean", 0),
    D("equil_dead_fraction", NULL, equil.dead_fraction, 0, 1, "", NULL, G_CHAIN,
      "a taxel responding below this share of the median is dead", 0),
    D("equil_max_gain", "equil-max-gain", equil.max_gain, 1, BIG, "", "G", G_CHAIN,
      "gains clipped to 1/G..G", 0),
    RUN("equil_n_frames", KM_PARAM_INT64, equil.n_frames, "frames",
        "frames of the recording"),
    RUN("equil_n_loaded", KM_PARAM_INT64, equil.n_loaded, "frames", "frames averaged"),
    RUN("equil_n_unloaded", KM_PARAM_INT64, equil.n_unloaded, "frames",
        "frames in the baseline"),
    RUN("equil_plateau", KM_PARAM_DOUBLE, equil.plateau, "recording units",
        "plateau of the frame means"),
    RUN("equil_reference", KM_PARAM_DOUBLE, equil.reference, "recording units",
        "median response"),
    RUN("gain_map_n_dead", KM_PARAM_INT32, equil.n_dead, "taxels",
        "taxels masked by a NaN or non-positive gain"),
    RUN("gain_map_n_clipped", KM_PARAM_INT32, equil.n_clipped, "taxels",
        "gains clipped to the max_gain bounds"),
    RUN("gain_map_min", KM_PARAM_DOUBLE, equil.gain_min, "", "smallest finite gain"),
    RUN("gain_map_median", KM_PARAM_DOUBLE, equil.gain_median, "", "median finite gain"),
    RUN("gain_map_max", KM_PARAM_DOUBLE, equil.gain_max, "", "largest finite gain"),
    D("bad_offset_sigmas", "offset-sigmas", cond.bad.offset_sigmas, 0, BIG, "", "Z", G_CHAIN,
      "mask taxels that read a steady offset while their neighbourhood is unloaded, over Z "
      "times the noise (found in the warm-up, even without --detect-bad-taxels), 0 = off",
      0),
    D("bad_unload_sigmas", NULL, cond.bad.unload_sigmas, 0, BIG, "", NULL, G_CHAIN,
      "offset test: a neighbourhood is unloaded at most this many frame-to-frame noise sd "
      "above the frame's 10th percentile",
      0),
    /* ---- not recorded: how the run goes, not what it computes ---- */
    {.option = "no-overwrite", .keyword = "overwrite", .alias = "no-clobber",
     .type = KM_PARAM_BOOL, .offset = F(overwrite), .min = 0, .max = 1, .group = G_OUTPUT,
     .doc = "never replace an existing result [replace results; any other existing file is "
            "never replaced]",
     .flags = KM_PARAM_NEGATED},
    {.option = "threads", .type = KM_PARAM_INT32, .offset = F(n_threads), .min = 1, .max = 64,
     .metavar = "N", .group = G_RUN,
     .doc = "threads within each session (peak detection); results identical for any N"},
};

const km_param *km_process_param_table(size_t *n)
{
    pthread_once(&units_doc_once, units_doc_init);
    if (n != NULL)
        *n = sizeof TABLE / sizeof TABLE[0];
    return TABLE;
}

const char *const *km_process_param_groups(size_t *n)
{
    static const char *const order[] = {G_OUTPUT, G_INPUT, G_COND,       G_CHAIN,
                                        G_PEAKS,  G_TRACK, G_EXPERIMENT, G_RUN};
    if (n != NULL)
        *n = sizeof order / sizeof order[0];
    return order;
}

static double field_f64(const km_process_params *p, size_t offset)
{
    double v;
    memcpy(&v, (const char *)p + offset, sizeof v);
    return v;
}

/* "--sigma 1e+30 (keyword sigma) is out of range [0, 65536] taxels". */
static km_status out_of_range(km_ctx *ctx, const km_param *d, double v)
{
    char kw[64], what[128], range[80];
    snprintf(kw, sizeof kw, "%s", d->keyword != NULL ? d->keyword : d->option != NULL ? d->option : d->name);
    for (char *c = kw; *c != '\0'; c++)
        *c = *c == '-' ? '_' : *c; /* knotmap.process's keyword (_params.py param_keyword) */
    if (d->option != NULL)
        snprintf(what, sizeof what, "--%s %.10g (keyword %s)", d->option, v, kw);
    else
        snprintf(what, sizeof what, "%s %.10g (keyword %s)", d->name, v, kw);
    if (d->max >= BIG && d->min <= -BIG)
        snprintf(range, sizeof range, "must be a finite number");
    else if (d->max >= BIG)
        snprintf(range, sizeof range, "must be a finite number %s %.10g", (d->flags & KM_PARAM_MIN_OPEN) ? ">" : ">=",
                 d->min);
    else
        snprintf(range, sizeof range, "is out of range %c%.10g, %.10g%c", (d->flags & KM_PARAM_MIN_OPEN) ? '(' : '[',
                 d->min, d->max, (d->flags & KM_PARAM_MAX_OPEN) ? ')' : ']');
    return km_fail(ctx, KM_ERR_INVALID, "%s %s%s%s", what, range, d->units != NULL && d->units[0] ? " " : "",
                   d->units != NULL ? d->units : "");
}

/* Every number of the table within its row's range; NaN only where it is
   the row's default (threshold_abs: the frame's minimum).  An open minimum
   is not checked: 0 there means "not given" (the rate, pitch and roller
   radius then come from the file). */
km_status km_process_params_check(km_ctx *ctx, const km_process_params *p)
{
    km_process_params def;
    km_process_params_default(&def);
    for (size_t i = 0; i < sizeof TABLE / sizeof TABLE[0]; i++) {
        const km_param *d = &TABLE[i];
        if ((d->type != KM_PARAM_DOUBLE && d->type != KM_PARAM_PAIR) || (d->flags & KM_PARAM_DERIVED))
            continue;
        for (int k = 0; k < (d->type == KM_PARAM_PAIR ? 2 : 1); k++) {
            size_t off = k == 0 ? d->offset : d->offset2;
            double v = field_f64(p, off);
            if (isnan(v) ? !isnan(field_f64(&def, off))
                         : v < d->min || v > d->max || ((d->flags & KM_PARAM_MAX_OPEN) && v == d->max))
                return out_of_range(ctx, d, v);
        }
    }
    return KM_OK;
}

const km_param *km_process_param_find(const char *key)
{
    pthread_once(&units_doc_once, units_doc_init);
    return km_param_row_find(TABLE, sizeof TABLE / sizeof TABLE[0], key);
}
