"""Streaming stages on whole numpy arrays: temporal filters, roller
odometry, body map, tracking and knot candidates.

Each function creates the C object, pushes the whole array through it and
frees it: the C code does the work (no algorithm is written twice here).
"""
from __future__ import annotations

import math

import numbers

import numpy as np
from numpy.typing import ArrayLike
from typing import Any, Dict, Optional, Tuple, Union

from ._defaults import (BODYMAP_DEFAULTS, ODOMETRY_DEFAULTS, PIPELINE, TEMPORAL_DEFAULTS,
                        TRACK_DEFAULTS)
from ._core import (check, enum_names, choice, ctx, ffi, frame_view, invalid, invalid_type, lib,
                    integer, make_error, mask_view, real, real_array)
from ._session import Session

__all__ = ["temporal_filter", "TEMPORAL_KINDS", "odometry", "bodymap", "track",
           "candidates", "ODO_LIFTED", "ODO_START", "ODO_LIGHT"]

#: kind names of temporal_filter (km_temporal_kind without the prefix).
TEMPORAL_KINDS = enum_names("km_temporal_kind", "KM_TEMPORAL_")
_TD = TEMPORAL_DEFAULTS
# Frames per push of temporal_filter: the pipeline's block.
_TEMPORAL_BLOCK = int(PIPELINE.block_frames)

ODO_LIFTED = lib.KM_ODO_LIFTED
ODO_START = lib.KM_ODO_START
ODO_LIGHT = lib.KM_ODO_LIGHT

_MODES = {"mat": lib.KM_MODE_MAT, "roller": lib.KM_MODE_ROLLER}


def _ptr(arr, ctype):
    return ffi.cast(ctype, arr.ctypes.data)


def temporal_filter(frames: ArrayLike, kind: str = _TD["kind"], rate_hz: float = _TD["rate_hz"],
                    cutoff_hz: float = _TD["cutoff_hz"], order: int = _TD["order"],
                    taps: int = _TD["taps"], fft_size: int = _TD["fft_size"],
                    notch_hz: float = _TD["notch_hz"], notch_q: float = _TD["notch_q"],
                    harmonics: int = _TD["harmonics"],
                    median_width: int = _TD["median_width"]) -> np.ndarray:
    """Filter every taxel along time (km_temporal_*, docs/ALGORITHMS.md 8).

    The array is pushed a block at a time (the output does not depend on the
    cut; Ctrl-C stops it between blocks) and the filter flushed, so output
    frame k belongs to input frame k.  Defaults: km_temporal_params_default
    (TEMPORAL_DEFAULTS).

    Parameters
    ----------
    frames : array_like
        [T, R, C] or [T, N]; T may be 0 (an empty result, parameters still
        checked).
    kind : str, optional
        "fir_lowpass", "fir_highpass" (zero-phase windowed-sinc FIR),
        "iir_lowpass", "iir_highpass" (causal Butterworth, scipy.signal.butter
        sos), "notch" (causal iirnotch cascade), "median" (centred running
        median).
    rate_hz : float
        Frame rate in Hz (required except for median).
    cutoff_hz : float, optional
        Corner in Hz, 0 < f < rate/2.
    order : int, optional
        IIR order 1..16.
    taps : int, optional
        FIR length, odd, 0 = auto.
    fft_size : int, optional
        FIR FFT length, 0 = auto.
    notch_hz, notch_q : float, optional
        Mains frequency in Hz and quality factor.
    harmonics : int, optional
        Notches at k * notch_hz, k = 1..harmonics.
    median_width : int, optional
        Odd, 1..255 frames.

    Returns
    -------
    ndarray
        float32 of the input's shape.
    """
    x = real_array("frames", frames)
    if x.ndim not in (2, 3):
        raise invalid("frames must be [T, R, C] or [T, N], got shape %r" % (x.shape,))
    shape = x.shape
    n_t = shape[0]
    n_tax = int(np.prod(shape[1:], dtype=np.int64))
    if n_tax == 0:
        raise invalid("frames=%r has no taxels" % (shape,))
    x = x.reshape(n_t, n_tax)
    p = ffi.new("km_temporal_params *")
    lib.km_temporal_params_default(p)
    if isinstance(kind, str):
        p.kind = choice("kind", kind.lower().replace("-", "_"), TEMPORAL_KINDS)
    elif (isinstance(kind, numbers.Integral) and not isinstance(kind, bool)
          and int(kind) in TEMPORAL_KINDS.values()):
        p.kind = int(kind)  # TEMPORAL_KINDS[name]
    else:  # temporal_filter(frames, 100.0): the rate given where the kind goes
        raise invalid("kind=%r is not one of %s%s" % (
            kind, ", ".join(repr(k) for k in TEMPORAL_KINDS),
            "; the frame rate is rate_hz=: temporal_filter(frames, rate_hz=%r)" % (kind,)
            if isinstance(kind, numbers.Real) and not isinstance(kind, bool) else ""))
    p.rate_hz = real("rate_hz", rate_hz)
    p.cutoff_hz = real("cutoff_hz", cutoff_hz)
    p.order = integer("order", order)
    p.taps = integer("taps", taps)
    p.fft_size = integer("fft_size", fft_size)
    p.notch_hz = real("notch_hz", notch_hz)
    p.notch_q = real("notch_q", notch_q)
    p.harmonics = integer("harmonics", harmonics)
    p.median_width = integer("median_width", median_width)
    c = ctx()
    tp = ffi.new("km_temporal **")
    check(c, lib.km_temporal_create(c, n_tax, p, tp))
    t = ffi.gc(tp[0], lib.km_temporal_free)
    if n_t == 0:
        # parameters checked by the create above; no frames in, none out
        ffi.release(t)
        return np.empty(shape, dtype=np.float32)
    try:
        # Pushed a block at a time (the output does not depend on the cut:
        # knotmap.h), so Python runs between blocks (Ctrl-C stops it) and
        # only a block is converted to float32 at once.  A push outputs no
        # more frames than came in so far, plus what max_output allows.
        n_out = ffi.new("int64_t *")
        block = _TEMPORAL_BLOCK
        cap = n_t + int(lib.km_temporal_max_output(t, block)) \
            + int(lib.km_temporal_max_output(t, 0))
        out = np.empty((cap, n_tax), dtype=np.float32)
        done = 0
        for start in range(0, n_t, block):
            xb = np.ascontiguousarray(x[start:start + block], dtype=np.float32)
            check(c, lib.km_temporal_push(c, t, _ptr(xb, "float *"), len(xb),
                                          _ptr(out[done:], "float *"), n_out))
            done += int(n_out[0])
        check(c, lib.km_temporal_flush(c, t, _ptr(out[done:], "float *"), n_out))
        done += int(n_out[0])
    finally:
        ffi.release(t)
    if done != n_t:
        raise make_error(lib.KM_ERR_INTERNAL, "temporal filter returned %d frames for %d"
                         % (done, n_t))
    return out[:n_t].reshape(shape)


def _frames3(frames):
    arr = real_array("frames", frames)
    if arr.ndim != 3:
        raise invalid("frames must be [T, R, C], got shape %r" % (arr.shape,))
    return arr


def _odo_params(lift_threshold, window_rows):
    p = ffi.new("km_odometry_params *")
    lib.km_odometry_params_default(p)
    if lift_threshold is not None:
        p.lift_threshold = real("lift_threshold", lift_threshold)
    if window_rows is not None:
        p.window_rows = integer("window_rows", window_rows)
    return p


def _unpack_session(frames, mask, meta_needed):
    """(frames, times or None, mask, metadata dict) from a Session or array."""
    if isinstance(frames, Session):
        s = frames
        return s.frames, s.time, (s.mask if mask is None else mask), s.metadata
    return frames, None, mask, {}


def _odometry_samples(c, arr, m, rows, cols, roller_radius_mm, p):
    """km_odometry over every frame: (samples cdata array, keepalives)."""
    op = ffi.new("km_odometry **")
    radius = real("roller_radius_mm", roller_radius_mm)
    check(c, lib.km_odometry_create(c, rows, cols, radius, p, op))
    o = ffi.gc(op[0], lib.km_odometry_free)
    samples = ffi.new("km_odometry_sample[]", max(len(arr), 1))
    try:
        for i in range(len(arr)):
            fr, keep = frame_view("frames", arr[i])
            check(c, lib.km_odometry_update(c, o, fr, m, samples + i))
            del keep
    finally:
        ffi.release(o)
    return samples


def _samples_to_dict(samples, n):
    cols = {k: np.empty(n, dtype=np.float64)
            for k in ("contact_row", "theta_rad", "y_mm", "strength")}
    cols["flags"] = np.empty(n, dtype=np.uint32)
    for i in range(n):
        s = samples[i]
        cols["contact_row"][i] = s.contact_row
        cols["theta_rad"][i] = s.theta_rad
        cols["y_mm"][i] = s.y_mm
        cols["strength"][i] = s.strength
        cols["flags"][i] = s.flags
    return cols


def _dict_to_samples(odo, n):
    for k in ("contact_row", "theta_rad", "y_mm", "strength", "flags"):
        if len(odo[k]) != n:
            raise invalid("odometry[%r] has %d entries for %d frames" % (k, len(odo[k]), n))
    samples = ffi.new("km_odometry_sample[]", max(n, 1))
    for i in range(n):
        s = samples[i]
        s.contact_row = float(odo["contact_row"][i])
        s.theta_rad = float(odo["theta_rad"][i])
        s.y_mm = float(odo["y_mm"][i])
        s.strength = float(odo["strength"][i])
        s.flags = int(odo["flags"][i])
    return samples


def odometry(frames: Union[ArrayLike, Session], roller_radius_mm: Optional[float] = None,
             mask: Optional[ArrayLike] = None,
             lift_threshold: float = ODOMETRY_DEFAULTS["lift_threshold"],
             window_rows: int = ODOMETRY_DEFAULTS["window_rows"]) -> Dict[str, np.ndarray]:
    """Roller rotation and body position of the contact line, frame by frame
    (km_odometry_*, docs/ALGORITHMS.md 7.1).

    Parameters
    ----------
    frames : array_like or Session
        [T, R, C] (R = rows around the circumference, >= 3), or a Session
        (its frames, mask and roller_radius_mm are used).
    roller_radius_mm : float, optional
        Roller radius in mm (required for arrays).
    mask : array_like of bool, optional
        [R, C] validity, True = valid.
    lift_threshold : float, optional
        Lifted when the strongest row's excess is below this, frame units;
        default the pipeline's.
    window_rows : int, optional
        Refine over +-this many rows, 0 = all.

    Returns
    -------
    dict
        [T] columns: contact_row, theta_rad, y_mm (= radius * theta),
        strength (frame units), flags (ODO_LIFTED, ODO_START, ODO_LIGHT bits).
    """
    frames, _, mask, meta = _unpack_session(frames, mask, True)
    if roller_radius_mm is None:
        roller_radius_mm = meta.get("roller_radius_mm")
        if not roller_radius_mm:
            raise invalid("odometry needs roller_radius_mm")
    arr = _frames3(frames)
    _, rows, cols = arr.shape
    m, keep_mask = mask_view(mask, (rows, cols))
    c = ctx()
    samples = _odometry_samples(c, arr, m, rows, cols, roller_radius_mm,
                                _odo_params(lift_threshold, window_rows))
    del keep_mask
    return _samples_to_dict(samples, len(arr))


def _geometry(meta, mode, row_pitch_mm, col_pitch_mm, roller_radius_mm, rows):
    mode = mode if mode is not None else meta.get("mode", "mat")
    if isinstance(mode, str):
        mode_i = choice("mode", mode, _MODES)
    else:
        mode_i = int(mode)
    radius = roller_radius_mm if roller_radius_mm is not None \
        else meta.get("roller_radius_mm", 0.0)
    rp = row_pitch_mm if row_pitch_mm is not None else meta.get("row_pitch_mm")
    cp = col_pitch_mm if col_pitch_mm is not None else meta.get("col_pitch_mm")
    if mode_i == lib.KM_MODE_ROLLER and rp is None and radius:
        rp = 2 * math.pi * float(radius) / rows
    if rp is None or cp is None:
        raise invalid("row_pitch_mm and col_pitch_mm are needed (or a Session)")
    return mode_i, real("row_pitch_mm", rp), real("col_pitch_mm", cp), radius


def _roller_samples(c, arr, m, mode_i, odo, radius, lift_threshold, rows, cols):
    """Odometry samples for a roller (given, or computed), NULLs for a mat."""
    if mode_i != lib.KM_MODE_ROLLER:
        return None
    if odo is not None:
        return _dict_to_samples(odo, len(arr))
    if not radius:
        raise invalid("a roller needs roller_radius_mm or odometry=")
    return _odometry_samples(c, arr, m, rows, cols, radius, _odo_params(lift_threshold, None))


def _fed(kind, arr, mask, mode_i, odometry, radius, lift_threshold, rp, cp, p, times=None):
    """A km_<kind> (bodymap, candidates) made on the session's geometry with
    params p, every frame of arr [T, R, C] added (km_<kind>_add, with each
    frame's roller sample, and its time when `times` is given): (ctx, the
    object, the mask's keeper).  The caller releases the object (ffi.release)
    before it drops the keeper."""
    _, rows, cols = arr.shape
    m, keep_mask = mask_view(mask, (rows, cols))
    c = ctx()
    samples = _roller_samples(c, arr, m, mode_i, odometry, radius, lift_threshold, rows, cols)
    out = ffi.new("km_%s **" % kind)
    check(c, getattr(lib, "km_%s_create" % kind)(c, mode_i, rows, cols, rp, cp, p, out))
    obj = ffi.gc(out[0], getattr(lib, "km_%s_free" % kind))
    add = getattr(lib, "km_%s_add" % kind)
    try:
        for i in range(len(arr)):
            fr, keep = frame_view("frames", arr[i])
            sample = samples + i if samples is not None else ffi.NULL
            check(c, add(c, obj, fr, m, sample) if times is None
                  else add(c, obj, fr, m, sample, float(times[i])))
            del keep
    except BaseException:
        ffi.release(obj)
        raise
    return c, obj, keep_mask


def bodymap(frames: Union[ArrayLike, Session], mode: Optional[str] = None,
            row_pitch_mm: Optional[float] = None, col_pitch_mm: Optional[float] = None,
            mask: Optional[ArrayLike] = None, odometry: Optional[Dict[str, Any]] = None,
            roller_radius_mm: Optional[float] = None,
            lift_threshold: float = BODYMAP_DEFAULTS["lift_threshold"],
            contact_half_rows: int = BODYMAP_DEFAULTS["contact_half_rows"],
            contact_threshold: float = BODYMAP_DEFAULTS["contact_threshold"],
            pass_gap_frames: int = BODYMAP_DEFAULTS["pass_gap_frames"],
            max_extent_mm: float = BODYMAP_DEFAULTS["max_extent_mm"]) -> Dict[str, Any]:
    """Max, mean and coverage of pressure in body coordinates (km_bodymap_*,
    docs/ALGORITHMS.md 7.2).  Defaults: as the pipeline builds its body map
    (BODYMAP_DEFAULTS).

    Parameters
    ----------
    frames : array_like or Session
        [T, R, C], or a Session (geometry from its metadata).
    mode : {"mat", "roller"}, optional
        [the Session's, else "mat"].
    row_pitch_mm, col_pitch_mm : float, optional
        Taxel pitch in mm (roller row pitch defaults to 2*pi*radius/R).
    mask : array_like of bool, optional
        [R, C], True = valid.
    odometry : dict, optional
        Roller: the dict from knotmap.odometry.
    roller_radius_mm : float, optional
        Roller: odometry computed here, with lift_threshold (frame units).
    lift_threshold : float, optional
    contact_half_rows : int, optional
        Roller: rows within +-this of the contact row are accumulated.
    contact_threshold : float, optional
        Mat: in contact above this, frame units.
    pass_gap_frames : int, optional
        A cell untouched for more frames starts a new pass.
    max_extent_mm : float, optional
        Roller map length limit.

    Returns
    -------
    dict
        pressure, mean ([Ny, Nx] float32, NaN where never sampled), coverage
        ([Ny, Nx] int32 passes), y0_mm, y_pitch_mm, x_pitch_mm (cell (iy, ix)
        centre at x = ix * x_pitch_mm, y = y0_mm + iy * y_pitch_mm).
    """
    frames, _, mask, meta = _unpack_session(frames, mask, True)
    arr = _frames3(frames)
    _, rows, cols = arr.shape
    mode_i, rp, cp, radius = _geometry(meta, mode, row_pitch_mm, col_pitch_mm,
                                       roller_radius_mm, rows)
    p = ffi.new("km_bodymap_params *")
    lib.km_bodymap_params_default(p)
    p.contact_half_rows = integer("contact_half_rows", contact_half_rows)
    p.contact_threshold = real("contact_threshold", contact_threshold)
    p.pass_gap_frames = integer("pass_gap_frames", pass_gap_frames)
    p.max_extent_mm = real("max_extent_mm", max_extent_mm)
    c, b, keep_mask = _fed("bodymap", arr, mask, mode_i, odometry, radius, lift_threshold,
                           rp, cp, p)
    try:
        ny, nx = ffi.new("int32_t *"), ffi.new("int32_t *")
        y0, yp, xp = ffi.new("double *"), ffi.new("double *"), ffi.new("double *")
        lib.km_bodymap_shape(b, ny, nx, y0, yp, xp)
        shape = (int(ny[0]), int(nx[0]))
        mx = np.empty(shape, np.float32)
        mean = np.empty(shape, np.float32)
        cov = np.empty(shape, np.int32)
        needed = ffi.new("size_t *")
        check(c, lib.km_bodymap_get(c, b, _ptr(mx, "float *"), _ptr(mean, "float *"),
                                    _ptr(cov, "int32_t *"), mx.size, needed))
    finally:
        ffi.release(b)
    del keep_mask
    return {"pressure": mx, "mean": mean, "coverage": cov, "y0_mm": float(y0[0]),
            "y_pitch_mm": float(yp[0]), "x_pitch_mm": float(xp[0])}


def _column(name, v, dtype):
    a = np.ascontiguousarray(v, dtype=dtype)
    if a.ndim != 1:
        raise invalid("%s must be 1-D" % name)
    return a


def track(frame: ArrayLike, y_mm: ArrayLike, x_mm: ArrayLike, value: ArrayLike,
          gate_mm: float = TRACK_DEFAULTS["gate_mm"],
          max_gap: int = TRACK_DEFAULTS["max_gap"]) -> Tuple[np.ndarray, Dict[str, np.ndarray]]:
    """Link peaks across frames into tracks (km_tracker_*,
    docs/ALGORITHMS.md 9).  Defaults: the pipeline's (TRACK_DEFAULTS).

    Parameters
    ----------
    frame, y_mm, x_mm, value : array_like
        One entry per peak (e.g. a result's /peaks frame, grid_y_mm,
        grid_x_mm, value), frames non-decreasing and, within a frame, value
        descending.
    gate_mm : float, optional
        A peak may continue a track within this distance of its last
        position, mm.
    max_gap : int, optional
        Frames a track may miss.

    Returns
    -------
    ids : ndarray
        [N] int32, the track of each peak.
    tracks : dict
        Columns of the /tracks table in order of ending: track, first_frame,
        last_frame, n_frames, y_mm, x_mm (mean position, mm), value_max.
    """
    fr = _column("frame", frame, np.int64)
    y = _column("y_mm", y_mm, np.float64)
    x = _column("x_mm", x_mm, np.float64)
    v = _column("value", value, np.float32)
    n = len(fr)
    if not (len(y) == len(x) == len(v) == n):
        raise invalid("frame, y_mm, x_mm and value must have the same length")
    if n and np.any(np.diff(fr) < 0):
        raise invalid("frame must be non-decreasing")
    p = ffi.new("km_track_params *")
    lib.km_track_params_default(p)
    p.gate_mm = real("gate_mm", gate_mm)
    p.max_gap = integer("max_gap", max_gap)
    c = ctx()
    tp = ffi.new("km_tracker **")
    check(c, lib.km_tracker_create(c, p, tp))
    t = ffi.gc(tp[0], lib.km_tracker_free)
    ids = np.empty(n, dtype=np.int32)
    rows = []
    buf = ffi.new("km_track[]", 64)

    def drain():
        while True:
            k = lib.km_tracker_pop(t, buf, 64)
            if k == 0:
                return
            for i in range(k):
                r = buf[i]
                rows.append((r.track, r.first_frame, r.last_frame, r.n_frames, r.y_mean,
                             r.x_mean, r.value_max))

    try:
        starts = np.flatnonzero(np.r_[True, fr[1:] != fr[:-1]]) if n else np.empty(0, int)
        ends = np.r_[starts[1:], n] if n else starts
        for s, e in zip(starts, ends):
            check(c, lib.km_tracker_update(c, t, int(fr[s]), _ptr(y[s:], "double *"),
                                           _ptr(x[s:], "double *"), _ptr(v[s:], "float *"),
                                           int(e - s), _ptr(ids[s:], "int32_t *")))
            drain()
        check(c, lib.km_tracker_finish(c, t))
        drain()
    finally:
        ffi.release(t)
    tracks = {name: np.array([r[i] for r in rows], dtype=dt)
              for i, (name, dt) in enumerate(_TRACK_COLUMNS)}
    return ids, tracks


_TRACK_COLUMNS = (("track", np.int32), ("first_frame", np.int64), ("last_frame", np.int64),
                  ("n_frames", np.int64), ("y_mm", np.float64), ("x_mm", np.float64),
                  ("value_max", np.float32))

# km_candidate_params' fields and km_candidate's columns, from the header
_CAND_FIELDS = tuple(name for name, _ in ffi.typeof("km_candidate_params").fields)
_C_DTYPES = {"double": np.float64, "float": np.float32, "int32_t": np.int32,
             "int64_t": np.int64, "uint32_t": np.uint32, "int": np.intc}
_CAND_COLUMNS = tuple((name, _C_DTYPES[f.type.cname])
                      for name, f in ffi.typeof("km_candidate").fields)


#: The seen count's record (km_candidate_seen's fields) and the keys it goes
#: by: candidates() returns them as they are; process()'s summary and
#: Pipeline.candidates() put CAND_PREFIX before them, as their keywords
#: (cand_seen_threshold) and a result's /params do.
_SEEN_KEYS = (("map_noise", "map_noise"), ("threshold", "seen_threshold_used"))
#: The prefix of the candidate keywords of process() and Pipeline.
CAND_PREFIX = "cand_"


def seen_keys(prefix: str = "") -> Tuple[str, ...]:
    """The keys of the seen count's record, after prefix."""
    return tuple(prefix + key for _, key in _SEEN_KEYS)


def seen_dict(seen: Any, prefix: str = "") -> Dict[str, float]:
    """A km_candidate_seen as a dict of seen_keys(prefix)."""
    return {prefix + key: float(getattr(seen, field)) for field, key in _SEEN_KEYS}


def candidates(frames: Union[ArrayLike, Session], time: Optional[ArrayLike] = None,
               mode: Optional[str] = None, row_pitch_mm: Optional[float] = None,
               col_pitch_mm: Optional[float] = None, mask: Optional[ArrayLike] = None,
               odometry: Optional[Dict[str, Any]] = None,
               roller_radius_mm: Optional[float] = None,
               lift_threshold: float = ODOMETRY_DEFAULTS["lift_threshold"],
               **params: Any) -> Dict[str, Any]:
    """Knot candidates: body places where a compact pressure excess recurs
    across passes (km_candidates_*, docs/ALGORITHMS.md 10).

    Parameters
    ----------
    frames : array_like or Session
        [T, R, C] or a Session.
    time : array_like, optional
        [T] seconds [the Session's, else index / 1 Hz].
    mode, row_pitch_mm, col_pitch_mm, mask, odometry, roller_radius_mm, lift_threshold : optional
        Geometry and odometry as for bodymap().
    **params
        The km_candidate_params fields by name, with the pipeline's values as
        defaults (knotmap.CANDIDATE_DEFAULTS; include/knotmap.h documents
        each; pressures in frame units).

    Returns
    -------
    dict
        The /candidates columns (candidate rank and the km_candidate fields),
        sorted by score descending, plus "excess" ([Ny, Nx] float32 candidate
        map: mean of the pass maxima of the local excess), "spread" ([Ny, Nx]
        float32: their standard deviation over the passes, ddof 1, NaN under
        2 passes), "y0_mm", "map_noise" (the candidate map's global noise)
        and "seen_threshold_used" (the seen threshold n_passes counted:
        seen_threshold, or with seen_noise C > 0 the ladder's rung for
        min(seen_threshold, C x map_noise); docs/ALGORITHMS.md 10 step 3).
    """
    unknown = set(params) - set(_CAND_FIELDS)
    if unknown:
        raise invalid_type("candidates() got unexpected keyword arguments: %s"
                        % ", ".join(sorted(unknown)))
    frames, times, mask, meta = _unpack_session(frames, mask, True)
    arr = _frames3(frames)
    n_t, rows, cols = arr.shape
    if time is not None:
        times = time
    times = np.arange(n_t, dtype=np.float64) if times is None \
        else _column("time", times, np.float64)
    if len(times) != n_t:
        raise invalid("time has %d entries for %d frames" % (len(times), n_t))
    mode_i, rp, cp, radius = _geometry(meta, mode, row_pitch_mm, col_pitch_mm,
                                       roller_radius_mm, rows)
    p = ffi.new("km_candidate_params *")
    p[0] = PIPELINE.cand
    for name, value in params.items():
        if value is not None:
            setattr(p, name, value)
    c, obj, keep_mask = _fed("candidates", arr, mask, mode_i, odometry, radius, lift_threshold,
                             rp, cp, p, times)
    try:
        ny, nx, y0 = ffi.new("int32_t *"), ffi.new("int32_t *"), ffi.new("double *")
        lib.km_candidates_shape(obj, ny, nx, y0)
        excess = np.empty((int(ny[0]), int(nx[0])), np.float32)
        needed = ffi.new("size_t *")
        check(c, lib.km_candidates_map(c, obj, _ptr(excess, "float *"), excess.size, needed))
        spread = np.empty_like(excess)
        maps = ffi.new("km_candidate_maps *")
        maps.spread = _ptr(spread, "float *")
        check(c, lib.km_bodygrid_candidate_maps(c, lib.km_candidates_grid(obj), maps, spread.size,
                                                needed))
        cap = 64
        n = ffi.new("size_t *")
        seen = ffi.new("km_candidate_seen *")
        while True:
            buf = ffi.new("km_candidate[]", cap)
            st = lib.km_bodygrid_candidates_seen(c, lib.km_candidates_grid(obj), buf, cap, n,
                                                 seen)
            if st == lib.KM_ERR_CAPACITY and n[0] > cap:
                cap = int(n[0])
                continue
            check(c, st)
            break
    finally:
        ffi.release(obj)
    del keep_mask
    k = int(n[0])
    out = {"candidate": np.arange(k, dtype=np.int32)}
    for name, dt in _CAND_COLUMNS:
        out[name] = np.array([getattr(buf[i], name) for i in range(k)], dtype=dt)
    out["excess"] = excess
    out["spread"] = spread
    out["y0_mm"] = float(y0[0])
    out.update(seen_dict(seen))
    return out



#: The pipeline's candidate parameters (km_process_params.cand), one source:
#: the library.
CANDIDATE_DEFAULTS = {name: getattr(PIPELINE.cand, name) for name in _CAND_FIELDS}
