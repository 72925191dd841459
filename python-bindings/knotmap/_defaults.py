"""The pipeline's defaults, read once from the C library.

km_process_params_default() and the stage *_params_default() functions
are the one source: the Python functions take their keyword defaults from
the dicts below, so that `knotmap.find_peaks(frame)` finds what `knotmap
process` writes to /peaks for that frame, and no default is written twice.
"""
import math

from ._core import enum_names, ffi, lib
from ._params import enum_values

__all__ = ["PIPELINE", "PEAK_DEFAULTS", "METRICS_DEFAULTS", "ODOMETRY_DEFAULTS",
           "BODYMAP_DEFAULTS", "TRACK_DEFAULTS", "TEMPORAL_DEFAULTS", "CALIB_DEFAULTS"]


def _struct(ctype, init):
    p = ffi.new(ctype + " *")
    init(p)
    return p


#: km_process_params_default(): the defaults of `knotmap process`.
PIPELINE = _struct("km_process_params", lib.km_process_params_default)

_PLATEAUS = {v: k for k, v in enum_values("peaks_plateau").items()}
_TEMPORAL_KINDS = {v: k for k, v in enum_names("km_temporal_kind", "KM_TEMPORAL_").items()}


def peak_kwargs(pk):
    """A km_peak_params as find_peaks keyword arguments."""
    return {
        "min_distance": int(pk.min_distance),
        "threshold_abs": None if math.isnan(pk.threshold_abs) else float(pk.threshold_abs),
        "threshold_rel": float(pk.threshold_rel),
        "exclude_border": True if pk.exclude_border < 0 else
        (False if pk.exclude_border == 0 else int(pk.exclude_border)),
        "plateau": _PLATEAUS[int(pk.plateau)],
        "p_norm": float(pk.p_norm),
        "num_peaks": math.inf if pk.num_peaks < 0 else int(pk.num_peaks),
        "min_prominence": float(pk.min_prominence),
        "saturation": float(pk.saturation),
        "subpixel": bool(pk.want & lib.KM_WANT_SUBPIXEL),
        "prominence": bool(pk.want & lib.KM_WANT_PROMINENCE),
    }


#: find_peaks' defaults: the pipeline's peak parameters (km_process_params.peaks).
PEAK_DEFAULTS = peak_kwargs(PIPELINE.peaks)

#: frame_metrics' defaults: the pipeline's contact threshold.
METRICS_DEFAULTS = {"contact_threshold": float(PIPELINE.contact_threshold)}

_ODO = _struct("km_odometry_params", lib.km_odometry_params_default)
#: odometry's defaults: the pipeline's lift threshold, km_odometry_params' window.
ODOMETRY_DEFAULTS = {"lift_threshold": float(PIPELINE.lift_threshold),
                     "window_rows": int(_ODO.window_rows)}

_BODY = _struct("km_bodymap_params", lib.km_bodymap_params_default)
#: bodymap's defaults: as the pipeline builds its body map (from the
#: candidate parameters; max_extent_mm from km_bodymap_params).
BODYMAP_DEFAULTS = {"lift_threshold": float(PIPELINE.lift_threshold),
                    "contact_half_rows": int(PIPELINE.cand.contact_half_rows),
                    "contact_threshold": float(PIPELINE.cand.contact_threshold),
                    "pass_gap_frames": int(PIPELINE.cand.pass_gap_frames),
                    "max_extent_mm": float(_BODY.max_extent_mm)}

#: track's defaults: the pipeline's tracking parameters.
TRACK_DEFAULTS = {"gate_mm": float(PIPELINE.track.gate_mm),
                  "max_gap": int(PIPELINE.track.max_gap)}

_TEMP = _struct("km_temporal_params", lib.km_temporal_params_default)
#: temporal_filter's defaults (km_temporal_params_default; rate_hz 0 = must be given).
TEMPORAL_DEFAULTS = {"kind": _TEMPORAL_KINDS[int(_TEMP.kind)], "rate_hz": float(_TEMP.rate_hz),
                     "cutoff_hz": float(_TEMP.cutoff_hz), "order": int(_TEMP.order),
                     "taps": int(_TEMP.taps), "fft_size": int(_TEMP.fft_size),
                     "notch_hz": float(_TEMP.notch_hz), "notch_q": float(_TEMP.notch_q),
                     "harmonics": int(_TEMP.harmonics),
                     "median_width": int(_TEMP.median_width)}

#: calibrate's defaults: the pipeline's (km_process_params.calib).
CALIB_DEFAULTS = {"offset": float(PIPELINE.calib.offset), "gain": float(PIPELINE.calib.gain),
                  "noise_threshold": float(PIPELINE.calib.noise_threshold)}

#: km_peak_params_default(): the bare detector's defaults (scikit-image's
#: conventions: min_distance 1, no relative threshold, every plateau taxel),
#: which the pipeline overrides; for comparing with scikit-image.
DETECTOR_DEFAULTS = peak_kwargs(_struct("km_peak_params", lib.km_peak_params_default))
