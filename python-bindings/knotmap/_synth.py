"""Synthetic sessions with ground truth: knotmap.synth (km_synth_*)."""
import os

import numpy as np

from ._core import check, choice, ctx, ffi, fspath, invalid_type, lib, parse_enum
from ._session import Session, _pair, info_dict

__all__ = ["synth", "SYNTH_FIELDS"]

#: km_synth_params field names, accepted by synth() as keywords.
SYNTH_FIELDS = tuple(name for name, _ in ffi.typeof("km_synth_params").fields)

_MODES = {"mat": lib.KM_MODE_MAT, "roller": lib.KM_MODE_ROLLER}
_AUDIO_EXT = (".wav", ".w64", ".rf64", ".caf", ".aif", ".aiff", ".au")


def _format_for(path, fmt):
    """The output format: given, else from the extension as `knotmap synth`."""
    if fmt is None:
        ext = os.path.splitext(os.fspath(path))[1].lower()
        if ext in (".asf", ".csv"):
            return lib.KM_FORMAT_TEKSCAN
        if ext in _AUDIO_EXT:
            return lib.KM_FORMAT_AUDIO
        return lib.KM_FORMAT_SESSION
    return parse_enum("format", fmt, lib.km_format_parse, "km_format", "KM_FORMAT_")


def _params(mode, preset, seed, duration, rate, grid, knots, roller_radius, fields):
    unknown = sorted(set(fields) - set(SYNTH_FIELDS))
    if unknown:
        raise invalid_type("synth() got unknown parameters: %s (km_synth_params fields: %s)"
                        % (", ".join(unknown), ", ".join(SYNTH_FIELDS)))
    c = ctx()
    p = ffi.new("km_synth_params *")
    lib.km_synth_params_default(p)
    p.mode = choice("mode", mode, _MODES)
    p.seed = int(seed)
    p.duration_s = float(duration)
    p.frame_rate_hz = float(rate)
    p.rows, p.cols = _pair("grid", grid, int)
    d = [parse_enum("preset", preset, lib.km_synth_difficulty_parse, "km_synth_difficulty",
                    "KM_SYNTH_")]
    # As `knotmap synth`: the preset sets the artefact fields, then the
    # radius and the knot count; explicit fields win over all of them.
    lib.km_synth_preset(p, d[0])
    p.roller_radius_mm = float(roller_radius)
    p.n_knots = int(knots)
    for name, value in fields.items():
        setattr(p, name, value)
    return p


def synth(path=None, mode="roller", preset="moderate", seed=1, duration=30.0, rate=100.0,
          grid=(32, 32), knots=6, roller_radius=50.0, format=None, overwrite=True, **fields):
    """Generate a synthetic session with known knots (docs/ALGORITHMS.md 6).

    Keywords as `knotmap synth`: mode "roller" or "mat" [roller]; preset
    "easy", "moderate", "hard" (sensor artefacts, knot strength)
    [moderate]; seed [1]; duration in s [30]; rate in Hz [100]; grid
    (rows, cols) or "RxC" [32x32]; knots [6]; roller_radius in mm [50].
    Any other km_synth_params field (SYNTH_FIELDS: noise_kpa,
    lift_probability, cycles_per_minute, ...) may be given by its C name
    and is applied after the preset.

    With `path`: the session is written there (km_synth_write; format
    "session" (HDF5 with /truth/knots), "tekscan" or "audio", default from
    the extension as the CLI: .asf/.csv tekscan, .wav/.w64/... audio, else
    session; overwrite False refuses an existing file) and the path is
    returned.  Without: returns (session, truth) in memory, the same frames
    bit for bit: session a knotmap.Session (frames [T, R, C] float32 kPa,
    time [T] s, mask, metadata) and truth a dict: knots (dict of columns
    x_mm, y_mm, sigma_mm, amplitude_kpa, in_taut_band), taxel_state ([R,
    C] uint8, 0 ok 1 dead 2 stuck), gain ([R, C] float32), row_pitch_mm,
    col_pitch_mm, motion (dict of [T] columns y_contact_mm, theta_rad,
    contact_row, load).  Raises knotmap.Error (KM_ERR_INVALID naming the
    field out of range).
    """
    p = _params(mode, preset, seed, duration, rate, grid, knots, roller_radius, fields)
    c = ctx()
    if path is not None:
        check(c, lib.km_synth_write(c, p, _format_for(path, format), fspath("path", path),
                                    1 if overwrite else 0))
        return path
    sp = ffi.new("km_synth **")
    check(c, lib.km_synth_create(c, p, sp))
    s = ffi.gc(sp[0], lib.km_synth_free)
    try:
        info = ffi.new("km_session_info *")
        lib.km_synth_info(s, info)
        meta = info_dict(info)
        rows, cols, n_t = meta["rows"], meta["cols"], meta["n_frames"]
        frames = np.empty((n_t, rows, cols), np.float32)
        times = np.empty(n_t, np.float64)
        motion = ffi.new("km_synth_motion[]", max(n_t, 1))
        n = ffi.new("int64_t *")
        done = 0
        while done < n_t:
            check(c, lib.km_synth_frames_motion(
                c, s, ffi.cast("float *", frames[done:].ctypes.data),
                ffi.cast("double *", times[done:].ctypes.data), motion + done,
                n_t - done, n))
            if n[0] == 0:
                break
            done += int(n[0])
        frames, times = frames[:done], times[:done]
        mask = np.frombuffer(ffi.buffer(lib.km_synth_mask(s), rows * cols), np.uint8) \
            .reshape(rows, cols).astype(bool)
        tr = ffi.new("km_synth_truth *")
        lib.km_synth_truth_get(s, tr)
        knots_cols = {name: np.array([getattr(tr.knots[i], name) for i in range(tr.n_knots)],
                                     dtype=dt)
                      for name, dt in (("x_mm", np.float64), ("y_mm", np.float64),
                                       ("sigma_mm", np.float64), ("amplitude_kpa", np.float64),
                                       ("in_taut_band", np.int32))}
        truth = {
            "knots": knots_cols,
            "taxel_state": np.frombuffer(ffi.buffer(tr.taxel_state, rows * cols), np.uint8)
            .reshape(rows, cols).copy(),
            "gain": np.frombuffer(ffi.buffer(tr.gain, 4 * rows * cols), np.float32)
            .reshape(rows, cols).copy(),
            "row_pitch_mm": float(tr.row_pitch_mm),
            "col_pitch_mm": float(tr.col_pitch_mm),
            "motion": {name: np.array([getattr(motion[i], name) for i in range(done)],
                                      dtype=np.float64)
                       for name in ("y_contact_mm", "theta_rad", "contact_row", "load")},
        }
    finally:
        ffi.release(s)
    meta["n_frames"] = int(done)
    meta["source_header"] = {}
    meta["path"] = None
    return Session(frames, times, mask, meta), truth
