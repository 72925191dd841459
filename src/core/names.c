/* Names of the library's small enums (names.h). */
#include "names.h"
#include "internal.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

const char *const km_mode_names[] = {[KM_MODE_MAT] = "mat", [KM_MODE_ROLLER] = "roller", NULL};

const char *const km_format_names[] = {[KM_FORMAT_AUTO] = "auto",     [KM_FORMAT_SESSION] = "session",
                                       [KM_FORMAT_TEKSCAN] = "tekscan", [KM_FORMAT_XSENSOR] = "xsensor",
                                       [KM_FORMAT_TEXT] = "text",       [KM_FORMAT_AUDIO] = "audio",
                                       [KM_FORMAT_MATLAB] = "matlab",   [KM_FORMAT_NPY] = "npy",
                                       [KM_FORMAT_NPZ] = "npz",         NULL};

const km_param *km_param_row_find(const km_param *rows, size_t n, const char *key)
{
    for (size_t i = 0; key != NULL && i < n; i++) {
        const km_param *d = &rows[i];
        if ((d->name != NULL && strcmp(d->name, key) == 0) ||
            (d->option != NULL && strcmp(d->option, key) == 0) ||
            (d->keyword != NULL && strcmp(d->keyword, key) == 0))
            return d;
    }
    return NULL;
}

/* What each name of km_session_info.assumed means, and what to pass.  The
 * values any file may lack (PLAIN: what, and its parts) are said together
 * when two or more were assumed (km_assumed_combined). */
typedef struct assumed_row {
    const char *name, *what, *kind, *value, *pass;
} assumed_row;

#define SAID(name, what) {name, what, NULL, NULL, NULL}
#define PLAIN(name, kind, value, pass) \
    {name, "no " kind " in the file: assuming " value " (pass " pass ")", kind, value, pass}

static const assumed_row ASSUMED[] = {
    PLAIN("row_pitch_mm", "row pitch", "1 mm", "--pitch MM or RxC"),
    PLAIN("col_pitch_mm", "column pitch", "1 mm", "--pitch MM or RxC"),
    PLAIN("frame_rate_hz", "frame rate", "1 Hz", "--rate HZ"),
    SAID("rate_name", "no frame_rate_hz or time in the file: the rate taken from a number named like a "
                      "sampling rate (fs, fps, sample_rate, ...; pass --rate HZ to give it)"),
    SAID("time_name", "no `time` vector in the file: the frames' times taken from a vector as long as the frames "
                      "named t, times, timestamps or time_s (the source header's `time from` says which; save "
                      "it as time to say so, or pass --rate HZ --override for times from a rate)"),
    /* its option's units are km_units_name's (units.c), filled in by units_row */
    {"units", NULL, "units knotmap knows", "raw counts", NULL},
    PLAIN("mode", "acquisition mode", "a mat", "--mode mat|roller"),
    SAID("roller_radius_mm", "roller without a radius: taking rows x row pitch / 2 pi "
                             "(pass --roller-radius MM)"),
    SAID("encoding", "no byte order mark: text with every other byte NUL read as UTF-16 "
                     "(save it as UTF-8, or as UTF-16 with its byte order mark)"),
    SAID("schema", "no schema attribute: read as a knotmap session (/frames [T, R, C], or [R, C, T] "
                   "when /time is as long as its last axis or --time-axis last is given) because "
                   "--format session was given"),
    SAID("matlab", "a MATLAB v7.3 MAT-file: /frames read as HDF5 shows it, [T, R, C], where MATLAB's "
                   "frames(r, c, t) appear as [t, c, r] with rows and columns swapped (save "
                   "permute(frames, [2 1 3]) to keep them)"),
    SAID("string", "a MATLAB string object (\"kPa\", with double quotes) was not read: knotmap reads text "
                   "saved as char ('kPa', or units = char(units) before saving; each is named in the "
                   "source header)"),
    SAID("time_units", "no units attribute on /time (a file without knotmap's schema): its values read "
                       "as seconds (give /time the attribute units = \"ms\", \"s\", ... as xarray and "
                       "netCDF tools write it)"),
    SAID("time_axis", "3-D frames without a time vector telling their time axis (a MAT-file without "
                      "`time` or with one as long as both end dimensions, a .npy or .npz array): time taken as the "
                      "longer of the first and last dimensions, frames(t, r, c) or frames(r, c, t) "
                      "(pass --time-axis first|last)"),
    SAID("sensor", "several sensors in the file (an XSENSOR export of two insoles or mats): the first read "
                   "(pass --sensor N for another, 0 the first)"),
    SAID("insole", "an in-shoe sensor (a Tekscan F-Scan or XSENSOR insole): the pressure under a foot, not a body on a "
                   "roller or a mat; the knot candidates are where the foot bears its load (heel, forefoot, "
                   "toes), not trigger points (peaks, tracks and metrics hold as for any recording)"),
    SAID("text_layout", "no grid given: the text read as one frame, a line a row (pass --grid RxC when each "
                        "line or block of lines is a frame, --text-layout matrix to say it is one)"),
};

/* The units row as the others read: "--units kPa|mmHg|N/cm2|psi|Pa|MPa",
 * the units knotmap reads (km_units_name, but raw: what is assumed), so a
 * unit added there is suggested here.  Made once (pthread_once), then
 * read only. */
static assumed_row units_row;
static char units_what[192], units_pass[96];
static pthread_once_t units_once = PTHREAD_ONCE_INIT;

static void units_init(void)
{
    const assumed_row *a = NULL;
    for (size_t k = 0; k < sizeof ASSUMED / sizeof ASSUMED[0] && a == NULL; k++)
        if (strcmp(ASSUMED[k].name, "units") == 0)
            a = &ASSUMED[k];
    snprintf(units_pass, sizeof units_pass, "--units ");
    km_units_join(units_pass + strlen(units_pass), sizeof units_pass - strlen(units_pass), "|", NULL);
    snprintf(units_what, sizeof units_what, "no %s in the file: assuming %s (pass %s)", a->kind, a->value,
             units_pass);
    units_row = *a;
    units_row.what = units_what;
    units_row.pass = units_pass;
}

static const assumed_row *assumed_row_of(const char *name, size_t len)
{
    for (size_t k = 0; k < sizeof ASSUMED / sizeof ASSUMED[0]; k++)
        if (name != NULL && strlen(ASSUMED[k].name) == len && strncmp(ASSUMED[k].name, name, len) == 0) {
            if (ASSUMED[k].what != NULL)
                return &ASSUMED[k];
            pthread_once(&units_once, units_init);
            return &units_row;
        }
    return NULL;
}

const char *km_assumed_text(const char *name, size_t len)
{
    const assumed_row *a = assumed_row_of(name, len);
    return a != NULL ? a->what : NULL;
}

/* s appended to buf (cap bytes, always terminated). */
static void append(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(buf);
    if (n + 1 < cap)
        snprintf(buf + n, cap - n, "%s", s);
}

size_t km_assumed_combined(const km_session_info *in, char *buf, size_t cap, char *rest, size_t rest_cap)
{
    const assumed_row *plain[sizeof ASSUMED / sizeof ASSUMED[0]];
    size_t n = 0;
    if (buf == NULL || cap == 0 || rest == NULL || rest_cap == 0)
        return 0;
    buf[0] = rest[0] = '\0';
    for (const char *p = in != NULL ? in->assumed : ""; *p != '\0';) {
        size_t len = strcspn(p, ",");
        const assumed_row *a = assumed_row_of(p, len);
        if (a != NULL && a->kind != NULL && n < sizeof plain / sizeof plain[0]) /* a list repeating names */
            plain[n++] = a;
        p += len + (p[len] == ',');
    }
    if (n < 2) {
        snprintf(rest, rest_cap, "%s", in != NULL ? in->assumed : "");
        return 0;
    }
    for (const char *p = in->assumed; *p != '\0';) { /* the others, in their order */
        size_t len = strcspn(p, ",");
        const assumed_row *a = assumed_row_of(p, len);
        if (a == NULL || a->kind == NULL) {
            size_t m = strlen(rest);
            if (m + len + 2 <= rest_cap)
                snprintf(rest + m, rest_cap - m, "%s%.*s", m > 0 ? "," : "", (int)len, p);
        }
        p += len + (p[len] == ',');
    }
    append(buf, cap, "no ");
    for (size_t k = 0; k < n; k++) {
        append(buf, cap, k == 0 ? "" : k + 1 < n ? ", " : " or ");
        append(buf, cap, plain[k]->kind);
    }
    append(buf, cap, " in the file: assuming ");
    for (size_t k = 0; k < n; k++) {
        append(buf, cap, k == 0 ? "" : k + 1 < n ? ", " : " and ");
        append(buf, cap, plain[k]->value);
    }
    append(buf, cap, " (pass ");
    for (size_t k = 0; k < n; k++) {
        if (k > 0 && strcmp(plain[k]->pass, plain[k - 1]->pass) == 0)
            continue; /* row and column pitch: one option */
        append(buf, cap, k == 0 ? "" : ", ");
        append(buf, cap, plain[k]->pass);
    }
    append(buf, cap, ")");
    return n;
}

void km_assumed_sentence(const km_session_info *in, const char *name, size_t len, char *buf, size_t cap)
{
    const char *what = km_assumed_text(name, len);
    if (buf == NULL || cap == 0)
        return;
    if (what == NULL)
        snprintf(buf, cap, "%.*s assumed", (int)len, name != NULL ? name : "");
    else if (in != NULL && len == 11 && strncmp(name, "text_layout", len) == 0) /* the frame's shape */
        snprintf(buf, cap, "%.*s%d x %d %s", (int)(strstr(what, "frame") - what), what, (int)in->rows,
                 (int)in->cols, strstr(what, "frame"));
    else
        snprintf(buf, cap, "%s", what);
}

void km_nonfinite_text(const km_session_info *in, char *buf, size_t cap)
{
    if (buf == NULL || cap == 0)
        return;
    buf[0] = '\0';
    if (in == NULL || in->n_nonfinite <= 0)
        return;
    char fill[96] = ""; /* which of them the file's fill value made (h5_cf.c) */
    if (in->n_fill > 0 && in->n_fill >= in->n_nonfinite)
        snprintf(fill, sizeof fill, "; %s the file's _FillValue: missing data",
                 in->n_nonfinite == 1 ? "it was" : "all were");
    else if (in->n_fill > 0)
        snprintf(fill, sizeof fill, "; %lld of them the file's _FillValue: missing data",
                 (long long)in->n_fill);
    snprintf(buf, cap, "%lld value%s nan or inf (%s%.*s%s): kept as %s; detection and metrics pass over a "
             "non-finite taxel in its frame (the result's /session n_nonfinite)",
             (long long)in->n_nonfinite, in->n_nonfinite == 1 ? " is" : "s are",
             in->n_nonfinite == 1 ? "at " : "the first at ", (int)sizeof in->nonfinite_at, in->nonfinite_at,
             fill, in->n_nonfinite == 1 ? "it is" : "they are");
}
