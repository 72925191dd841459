/* What a file says against what the options say (docs/FORMAT.md 1.1): the
 * plausible rates and pitches, the options checked, a value given that the
 * file also carries (agree, conflict, --override), and what neither gives,
 * assumed and said.  The reader object itself: reader.c. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "reader_internal.h"

int km_units_known(const char *u)
{
    return strcmp(u, "kPa") == 0 || strcmp(u, "mmHg") == 0 || strcmp(u, "N/cm2") == 0 ||
           strcmp(u, "raw") == 0;
}

/* The one rule on frame rates (reader_internal.h, KM_RATE_MIN_HZ). */
#define RATE_RANGE "knotmap reads a frame a day to 1e+06 frames a second (a period of 24 h to 1 us)"

int km_reader_rate_plausible(double hz)
{
    return hz >= KM_RATE_MIN_HZ && hz <= KM_RATE_MAX_HZ;
}

void km_reader_rate_from(km_reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->rate_from, sizeof r->rate_from, fmt, ap);
    va_end(ap);
}

double km_reader_times_rate(km_reader *r, int64_t n, double first, double last, double unit, const char *fmt, ...)
{
    va_list ap;
    size_t k;
    if (n < 2 || !(last > first))
        return 0;
    va_start(ap, fmt);
    vsnprintf(r->rate_from, sizeof r->rate_from, fmt, ap);
    va_end(ap);
    k = strlen(r->rate_from);
    snprintf(r->rate_from + k, sizeof r->rate_from - k, ": %lld times from %g s to %g s", (long long)n, first * unit,
             last * unit);
    return (double)(n - 1) / ((last - first) * unit);
}

void km_reader_pitch_from(km_reader *r, int axis, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->pitch_from[axis != 0], sizeof r->pitch_from[0], fmt, ap);
    va_end(ap);
}

void km_reader_sources(km_reader *r, const char *rate, const char *row_pitch, const char *col_pitch)
{
    km_reader_rate_from(r, "%s", rate);
    km_reader_pitch_from(r, 0, "%s", row_pitch);
    km_reader_pitch_from(r, 1, "%s", col_pitch);
}

#define PITCH_RANGE "knotmap reads 0.01 mm to 1000 mm between taxels"

static int pitch_plausible(double mm)
{
    return mm >= KM_PITCH_MIN_MM && mm <= KM_PITCH_MAX_MM;
}

/* A pitch the file gives that no sensor has: a length in another unit. */
static km_status check_file_pitch(km_ctx *ctx, const km_reader *r)
{
    const double mm[2] = {r->info.row_pitch_mm, r->info.col_pitch_mm};
    for (int a = 0; a < 2; a++)
        if (mm[a] > 0 && !pitch_plausible(mm[a]))
            return km_fail(ctx, KM_ERR_FORMAT, "%s: a %s pitch of %g mm is not plausible: %s; a length in another "
                           "unit (metres, micrometres) without its unit?",
                           r->pitch_from[a][0] != '\0' ? r->pitch_from[a] : a ? "the file's column pitch"
                                                                                : "the file's row pitch",
                           a ? "column" : "row", mm[a], PITCH_RANGE);
    return KM_OK;
}

/* A rate the file gives (a key, an attribute, a variable, its times) that
   no recording has: a damaged header or a wrong unit, never read as it
   is (SECONDS_PER_FRAME 1e-300 was a 1e300 Hz session) nor replaced by a
   default.  Before the options: a --rate does not hide it. */
static km_status check_file_rate(km_ctx *ctx, const km_reader *r)
{
    double hz = r->info.frame_rate_hz;
    if (hz <= 0 || km_reader_rate_plausible(hz)) /* 0: the file does not say */
        return KM_OK;
    return km_fail(ctx, KM_ERR_FORMAT, "%s: a frame rate of %g Hz (a frame every %g s) is not plausible: %s; "
                   "a damaged file, or times in another unit?",
                   r->rate_from[0] != '\0' ? r->rate_from : "the file's frame rate", hz, 1.0 / hz, RATE_RANGE);
}

km_status km_reader_check_options(km_ctx *ctx, const km_read_options *o)
{
    if (km_format_name(o->format) == NULL)
        return km_fail(ctx, KM_ERR_INVALID, "unknown format %d", (int)o->format);
    if (o->rows < 0 || o->cols < 0)
        return km_fail(ctx, KM_ERR_INVALID, "grid %dx%d: rows and cols must be positive", (int)o->rows,
                       (int)o->cols);
    if ((o->rows > 0 || o->cols > 0) &&
        km_check_shape(ctx, o->rows > 0 ? o->rows : 1, o->cols > 0 ? o->cols : 1, "option grid") != KM_OK)
        return km_ctx_last_status(ctx);
    if (!(o->frame_rate_hz >= 0 && o->frame_rate_hz < INFINITY))
        return km_fail(ctx, KM_ERR_INVALID, "the frame rate given (%g Hz) must be positive and finite",
                       o->frame_rate_hz);
    if (o->frame_rate_hz > 0 && !km_reader_rate_plausible(o->frame_rate_hz))
        return km_fail(ctx, KM_ERR_INVALID, "the frame rate given (%g Hz) is not plausible: %s", o->frame_rate_hz,
                       RATE_RANGE);
    if (!(o->row_pitch_mm >= 0 && o->row_pitch_mm < INFINITY) || !(o->col_pitch_mm >= 0 && o->col_pitch_mm < INFINITY))
        return km_fail(ctx, KM_ERR_INVALID, "the pitch given (%gx%g mm) must be positive and finite",
                       o->row_pitch_mm, o->col_pitch_mm);
    if ((o->row_pitch_mm > 0 && !pitch_plausible(o->row_pitch_mm)) ||
        (o->col_pitch_mm > 0 && !pitch_plausible(o->col_pitch_mm)))
        return km_fail(ctx, KM_ERR_INVALID, "the pitch given (%gx%g mm) is not plausible: %s", o->row_pitch_mm,
                       o->col_pitch_mm, PITCH_RANGE);
    double scale;
    if (o->units != NULL && km_units_from_file(o->units, &scale) == NULL) {
        char list[96];
        km_units_list(list, sizeof list);
        return km_fail(ctx, KM_ERR_INVALID, "the units given ('%s'): knotmap reads %s", o->units, list);
    }
    if (o->mode < -1 || o->mode > KM_MODE_ROLLER)
        return km_fail(ctx, KM_ERR_INVALID, "mode %d: expected mat (0) or roller (1)", (int)o->mode);
    if (!(o->roller_radius_mm >= 0 && o->roller_radius_mm < INFINITY))
        return km_fail(ctx, KM_ERR_INVALID, "roller radius %g mm: must be positive and finite",
                       o->roller_radius_mm);
    if (o->text_frame_per_file < -1 || o->text_frame_per_file > 1)
        return km_fail(ctx, KM_ERR_INVALID, "text_frame_per_file %d: expected -1, 0 or 1", (int)o->text_frame_per_file);
    if (o->time_axis < -1 || o->time_axis > 1)
        return km_fail(ctx, KM_ERR_INVALID, "time_axis %d: expected -1, 0 or 1", (int)o->time_axis);
    if (o->sensor < -1)
        return km_fail(ctx, KM_ERR_INVALID, "sensor %d: expected -1 (the first) or a sensor's index >= 0",
                       (int)o->sensor);
    return KM_OK;
}

/* Append `name` to the comma-separated list `list` (cap bytes). */
static void note_assumed(char *list, size_t cap, const char *name)
{
    size_t n = strlen(list);
    snprintf(list + n, cap - n, "%s%s", n > 0 ? "," : "", name);
}

void km_reader_note_assumed(km_reader *r, const char *name)
{
    note_assumed(r->info.assumed, sizeof r->info.assumed, name);
}

void km_reader_set_insole(km_reader *r)
{
    r->insole = 1;
    if (r->info.mode < 0)
        r->info.mode = KM_MODE_MAT;
}

/* Do a given and a file's value differ (beyond the file's own rounding)? */
static int differ(double given, double file)
{
    return fabs(given - file) > 1e-6 * fabs(file);
}

static const char *mode_name(int32_t m)
{
    return m == KM_MODE_ROLLER ? "roller" : "mat";
}

static int same_units(const char *a, const char *b);

void km_reader_units_from(km_reader *r, const char *word, double *own_scale)
{
    double scale = 1.0;
    if (km_units_from_file(word, &scale) == NULL || scale == 1.0)
        return;
    snprintf(r->units_file, sizeof r->units_file, "%s", word);
    if (r->units_given[0] != '\0' && !same_units(r->units_given, word))
        scale = 1.0; /* replaced (--override): read as the given unit, not converted twice */
    if (own_scale != NULL)
        *own_scale = scale;
    else
        r->values_scale = scale != 1.0 ? scale : 0.0;
}

const char *km_rate_name(int32_t i)
{
    static const char *const NAMES[] = {"fs",       "Fs",          "FS",          "fps",
                                        "srate",    "rate",        "sample_rate", "sampling_rate",
                                        "samplerate", "sampling_frequency", "frame_rate", "framerate"};
    return i >= 0 && (size_t)i < sizeof NAMES / sizeof NAMES[0] ? NAMES[i] : NULL;
}

const char *km_time_name(int32_t i)
{
    static const char *const NAMES[] = {"t", "times", "timestamps", "time_s"};
    return i >= 0 && (size_t)i < sizeof NAMES / sizeof NAMES[0] ? NAMES[i] : NULL;
}

/* Two unit names for the same unit: raw and raw, or the same kPa per unit
   (N/cm^2 and N/cm2, psi and PSI). */
static int same_units(const char *a, const char *b)
{
    double ka = km_units_to_kpa(a), kb = km_units_to_kpa(b), scale;
    if (isfinite(ka) || isfinite(kb))
        return ka == kb;
    return km_units_from_file(a, &scale) != NULL && km_units_from_file(b, &scale) != NULL; /* raw */
}

/* The units the file does not say (or --override replaces): the given
   ones, psi, Pa and MPa converted to kPa by km_reader_read (values_scale:
   the file's own unit replaced was not converted, km_reader_units_from;
   a Tekscan PSI export given --units MPa --override reads its numbers x
   1000), else raw, assumed. */
static void given_units(km_reader *r, const km_read_options *opt, char *assumed, size_t cap)
{
    double scale = 1.0;
    const char *u = opt->units != NULL ? km_units_from_file(opt->units, &scale) : NULL;
    snprintf(r->info.units, sizeof r->info.units, "%s", u != NULL ? u : "raw");
    if (opt->units == NULL)
        note_assumed(assumed, cap, "units");
    r->values_scale = scale != 1.0 ? scale : 0.0;
}

/* A value given as an option that the file also carries: equal is fine;
   different is an error naming both, unless opt->override says the option
   wins (docs/FORMAT.md 1.1). */
static km_status conflicts(km_ctx *ctx, km_reader *r, const km_read_options *opt)
{
    km_session_info *in = &r->info;
    const char *how = "; drop the option, or pass --override (C: override = 1) to use the given value";

    if ((opt->rows > 0 && opt->rows != in->rows) || (opt->cols > 0 && opt->cols != in->cols))
        return km_fail(ctx, KM_ERR_INVALID,
                       "the grid given (%dx%d) conflicts with the file's own grid %dx%d (the layout of "
                       "its data, which cannot be overridden); drop --grid",
                       (int)opt->rows, (int)opt->cols, (int)in->rows, (int)in->cols);
    if (opt->frame_rate_hz > 0 && in->frame_rate_hz > 0 && isfinite(in->frame_rate_hz) &&
        differ(opt->frame_rate_hz, in->frame_rate_hz)) {
        if (!opt->override)
            return km_fail(ctx, KM_ERR_INVALID,
                           "the frame rate given (%.9g Hz) conflicts with the file's own %.9g Hz%s",
                           opt->frame_rate_hz, in->frame_rate_hz, how);
        in->frame_rate_hz = opt->frame_rate_hz;
        r->times_from_rate = 1; /* the file's times (/time, a time column) went with its rate */
    }
    if ((opt->row_pitch_mm > 0 && in->row_pitch_mm > 0 && isfinite(in->row_pitch_mm) &&
         differ(opt->row_pitch_mm, in->row_pitch_mm)) ||
        (opt->col_pitch_mm > 0 && in->col_pitch_mm > 0 && isfinite(in->col_pitch_mm) &&
         differ(opt->col_pitch_mm, in->col_pitch_mm))) {
        if (!opt->override)
            return km_fail(ctx, KM_ERR_INVALID,
                           "the pitch given (%.9gx%.9g mm) conflicts with the file's own %.9gx%.9g mm%s",
                           opt->row_pitch_mm, opt->col_pitch_mm, in->row_pitch_mm,
                           in->col_pitch_mm, how);
        if (opt->row_pitch_mm > 0)
            in->row_pitch_mm = opt->row_pitch_mm;
        if (opt->col_pitch_mm > 0)
            in->col_pitch_mm = opt->col_pitch_mm;
    }
    const char *own = r->units_file[0] != '\0' ? r->units_file : in->units; /* before a conversion */
    if (opt->units != NULL && in->units[0] != '\0' && !same_units(opt->units, own)) {
        if (!opt->override)
            return km_fail(ctx, KM_ERR_INVALID, "the units given (%s) conflict with the file's own %s%s%s",
                           opt->units, own, own != in->units ? " (read converted to kPa)" : "", how);
        in->units[0] = '\0'; /* the given units, applied as to a file without any */
    }
    if (opt->mode >= 0 && in->mode >= 0 && opt->mode != in->mode) {
        if (!opt->override)
            return km_fail(ctx, KM_ERR_INVALID, "the mode given (%s) conflicts with the file's own %s%s%s",
                           mode_name(opt->mode), mode_name(in->mode),
                           r->insole ? " (an in-shoe insole: a grid under a foot)" : "", how);
        in->mode = opt->mode;
    }
    if (opt->roller_radius_mm > 0 && in->roller_radius_mm > 0 &&
        differ(opt->roller_radius_mm, in->roller_radius_mm)) {
        if (!opt->override)
            return km_fail(ctx, KM_ERR_INVALID,
                           "the roller radius given (%.9g mm) conflicts with the file's own %.9g mm%s",
                           opt->roller_radius_mm, in->roller_radius_mm, how);
        in->roller_radius_mm = opt->roller_radius_mm;
    }
    return KM_OK;
}

km_status km_reader_apply_options(km_ctx *ctx, km_reader *r, const km_read_options *opt)
{
    km_session_info *in = &r->info;
    char *assumed = in->assumed;
    size_t cap = sizeof in->assumed, n_valid = 0, n;
    km_status st = check_file_rate(ctx, r);
    if (st == KM_OK)
        st = check_file_pitch(ctx, r);
    if (st == KM_OK)
        st = conflicts(ctx, r, opt);
    if (st != KM_OK)
        return st;
    assumed[0] = '\0';
    /* What neither the file nor the caller gave is assumed, and said so
       (info.assumed -> the result's /session attribute `assumed`). */
    if (in->row_pitch_mm <= 0 || !isfinite(in->row_pitch_mm)) {
        in->row_pitch_mm = opt->row_pitch_mm > 0 ? opt->row_pitch_mm : 1.0;
        if (opt->row_pitch_mm <= 0)
            note_assumed(assumed, cap, "row_pitch_mm");
    }
    if (in->col_pitch_mm <= 0 || !isfinite(in->col_pitch_mm)) {
        in->col_pitch_mm = opt->col_pitch_mm > 0 ? opt->col_pitch_mm : 1.0;
        if (opt->col_pitch_mm <= 0)
            note_assumed(assumed, cap, "col_pitch_mm");
    }
    if (in->frame_rate_hz <= 0 || !isfinite(in->frame_rate_hz)) {
        in->frame_rate_hz = opt->frame_rate_hz > 0 ? opt->frame_rate_hz : 1.0;
        if (opt->frame_rate_hz <= 0)
            note_assumed(assumed, cap, "frame_rate_hz");
    }
    if (in->units[0] == '\0')
        given_units(r, opt, assumed, cap);
    if (in->mode < 0) {
        in->mode = opt->mode >= 0 ? opt->mode : KM_MODE_MAT;
        if (opt->mode < 0)
            note_assumed(assumed, cap, "mode");
    }
    if (in->roller_radius_mm <= 0)
        in->roller_radius_mm = opt->roller_radius_mm > 0 ? opt->roller_radius_mm : 0.0;
    if (in->mode == KM_MODE_ROLLER && !(in->roller_radius_mm > 0))
        note_assumed(assumed, cap, "roller_radius_mm"); /* process derives it from the pitch */
    if (!(in->saturation > 0))
        in->saturation = (double)INFINITY;
    else if (r->values_scale > 0) /* in the values' units: converted as they are */
        in->saturation *= r->values_scale;
    if (r->mask == NULL)
        return km_fail(ctx, KM_ERR_INTERNAL, "reader geometry not set before applying options");
    n = (size_t)in->rows * (size_t)in->cols;
    for (size_t i = 0; i < n; i++)
        n_valid += r->mask[i] != 0;
    in->n_valid = (int32_t)n_valid;
    return KM_OK;
}
