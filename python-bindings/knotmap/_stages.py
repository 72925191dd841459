"""Streaming stages on whole numpy arrays: temporal filters, roller
odometry, body map, tracking and knot candidates.

Each function creates the C object, pushes the whole array through it and
frees it: the C code does the work (no algorithm is written twice here).
"""
import math

import numpy as np

from ._core import (check, choice, ctx, ffi, frame_view, invalid, invalid_type, lib,
                    make_error, mask_view)
from ._session import Session

__all__ = ["temporal_filter", "TEMPORAL_KINDS", "odometry", "bodymap", "track",
           "candidates", "ODO_LIFTED", "ODO_START"]

#: kind names of temporal_filter (km_temporal_kind without the prefix).
TEMPORAL_KINDS = {
    "fir_lowpass": lib.KM_TEMPORAL_FIR_LOWPASS,
    "fir_highpass": lib.KM_TEMPORAL_FIR_HIGHPASS,
    "iir_lowpass": lib.KM_TEMPORAL_IIR_LOWPASS,
    "iir_highpass": lib.KM_TEMPORAL_IIR_HIGHPASS,
    "notch": lib.KM_TEMPORAL_NOTCH,
    "median": lib.KM_TEMPORAL_MEDIAN,
}

ODO_LIFTED = lib.KM_ODO_LIFTED
ODO_START = lib.KM_ODO_START

_MODES = {"mat": lib.KM_MODE_MAT, "roller": lib.KM_MODE_ROLLER}


def _ptr(arr, ctype):
    return ffi.cast(ctype, arr.ctypes.data)


def temporal_filter(frames, kind="iir_lowpass", rate_hz=0.0, cutoff_hz=1.0, order=4, taps=0,
                    fft_size=0, notch_hz=50.0, notch_q=30.0, harmonics=1, median_width=5):
    """Filter every taxel along time (km_temporal_*, docs/ALGORITHMS.md 8).

    frames: [T, R, C] or [T, N] (float32 used as is when C-contiguous,
    otherwise converted once).  kind: "fir_lowpass", "fir_highpass"
    (zero-phase windowed-sinc FIR, ends extended by repetition),
    "iir_lowpass", "iir_highpass" (causal Butterworth, scipy.signal.butter
    sos, started in the steady state of the first frame), "notch" (causal
    iirnotch cascade at notch_hz and its harmonics), "median" (centred
    running median) [iir_lowpass].  rate_hz: frame rate in Hz (required
    except for median).  cutoff_hz: corner in Hz, 0 < f < rate/2 [1].
    order: IIR order 1..16 [4].  taps: FIR length, odd, 0 = auto [0].
    fft_size: FIR FFT length, 0 = auto [0].  notch_hz: mains frequency in
    Hz [50].  notch_q: quality factor [30].  harmonics: notches at k *
    notch_hz, k = 1..harmonics [1].  median_width: odd, 1..255 frames [5].

    The whole array is pushed at once and the filter flushed, so output
    frame k belongs to input frame k.  Returns float32 of the input's shape.
    Raises knotmap.Error (KM_ERR_INVALID for bad parameters).
    """
    x = np.asarray(frames)
    if x.ndim not in (2, 3):
        raise invalid("frames must be [T, R, C] or [T, N], got shape %r" % (x.shape,))
    shape = x.shape
    n_t = shape[0]
    n_tax = int(np.prod(shape[1:], dtype=np.int64))
    if n_tax == 0:
        raise invalid("frames=%r has no taxels" % (shape,))
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(n_t, n_tax)
    p = ffi.new("km_temporal_params *")
    lib.km_temporal_params_default(p)
    if isinstance(kind, str):
        p.kind = choice("kind", kind.lower().replace("-", "_"), TEMPORAL_KINDS)
    else:
        p.kind = int(kind)
    p.rate_hz = float(rate_hz)
    p.cutoff_hz = float(cutoff_hz)
    p.order = int(order)
    p.taps = int(taps)
    p.fft_size = int(fft_size)
    p.notch_hz = float(notch_hz)
    p.notch_q = float(notch_q)
    p.harmonics = int(harmonics)
    p.median_width = int(median_width)
    c = ctx()
    tp = ffi.new("km_temporal **")
    check(c, lib.km_temporal_create(c, n_tax, p, tp))
    t = ffi.gc(tp[0], lib.km_temporal_free)
    if n_t == 0:
        # parameters checked by the create above; no frames in, none out
        ffi.release(t)
        return np.empty(shape, dtype=np.float32)
    try:
        n_out = ffi.new("int64_t *")
        cap = max(int(lib.km_temporal_max_output(t, n_t)), n_t) \
            + int(lib.km_temporal_max_output(t, 0))
        out = np.empty((cap, n_tax), dtype=np.float32)
        if n_t:
            check(c, lib.km_temporal_push(c, t, _ptr(x, "float *"), n_t, _ptr(out, "float *"),
                                          n_out))
        done = int(n_out[0]) if n_t else 0
        check(c, lib.km_temporal_flush(c, t, _ptr(out[done:], "float *"), n_out))
        done += int(n_out[0])
    finally:
        ffi.release(t)
    if done != n_t:
        raise make_error(lib.KM_ERR_INTERNAL, "temporal filter returned %d frames for %d"
                         % (done, n_t))
    return out[:n_t].reshape(shape)


def _frames3(frames):
    arr = np.asarray(frames)
    if arr.ndim != 3:
        raise invalid("frames must be [T, R, C], got shape %r" % (arr.shape,))
    return arr


def _odo_params(lift_threshold, window_rows):
    p = ffi.new("km_odometry_params *")
    lib.km_odometry_params_default(p)
    if lift_threshold is not None:
        p.lift_threshold = float(lift_threshold)
    if window_rows is not None:
        p.window_rows = int(window_rows)
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
    check(c, lib.km_odometry_create(c, rows, cols, float(roller_radius_mm), p, op))
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


def odometry(frames, roller_radius_mm=None, mask=None, lift_threshold=5.0, window_rows=4):
    """Roller rotation and body position of the contact line, frame by frame
    (km_odometry_*, docs/ALGORITHMS.md 7.1).

    frames: [T, R, C] (R = rows around the circumference, >= 3), or a
    Session (its frames, mask and roller_radius_mm are used).
    roller_radius_mm: roller radius in mm (required for arrays).  mask:
    [R, C] validity, True = valid.  lift_threshold: lifted when the
    strongest row's excess is below this, frame units [5].  window_rows:
    refine over +-this many rows, 0 = all [4].

    Returns a dict of [T] columns: contact_row (rows, [0, R)), theta_rad
    (unwrapped rotation since the first contact), y_mm (= radius * theta),
    strength (frame units), flags (ODO_LIFTED, ODO_START bits).
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
    return mode_i, float(rp), float(cp), radius


def _roller_samples(c, arr, m, mode_i, odo, radius, lift_threshold, rows, cols):
    """Odometry samples for a roller (given, or computed), NULLs for a mat."""
    if mode_i != lib.KM_MODE_ROLLER:
        return None
    if odo is not None:
        return _dict_to_samples(odo, len(arr))
    if not radius:
        raise invalid("a roller needs roller_radius_mm or odometry=")
    return _odometry_samples(c, arr, m, rows, cols, radius, _odo_params(lift_threshold, None))


def bodymap(frames, mode=None, row_pitch_mm=None, col_pitch_mm=None, mask=None, odometry=None,
            roller_radius_mm=None, lift_threshold=5.0, contact_half_rows=1,
            contact_threshold=5.0, pass_gap_frames=5, max_extent_mm=100000.0):
    """Max, mean and coverage of pressure in body coordinates (km_bodymap_*,
    docs/ALGORITHMS.md 7.2).

    frames: [T, R, C] or a Session (geometry taken from its metadata).
    mode: "mat" (the map is the grid) or "roller" [the Session's, else
    "mat"].  row_pitch_mm, col_pitch_mm: taxel pitch in mm (roller row
    pitch defaults to 2*pi*radius/R).  mask: [R, C], True = valid.
    Roller only: odometry (the dict from knotmap.odometry) or
    roller_radius_mm (odometry computed here, with lift_threshold in frame
    units [5]).  contact_half_rows: roller, rows within +-this of the
    contact row are accumulated [1].  contact_threshold: mat, in contact
    above this, frame units [5].  pass_gap_frames: a cell untouched for
    more frames starts a new pass [5].  max_extent_mm: roller map length
    limit [100000].

    Returns a dict: pressure, mean ([Ny, Nx] float32, NaN where never
    sampled), coverage ([Ny, Nx] int32, passes), y0_mm, y_pitch_mm,
    x_pitch_mm (cell (iy, ix) centre at x = ix * x_pitch_mm, y = y0_mm + iy
    * y_pitch_mm).
    """
    frames, _, mask, meta = _unpack_session(frames, mask, True)
    arr = _frames3(frames)
    _, rows, cols = arr.shape
    mode_i, rp, cp, radius = _geometry(meta, mode, row_pitch_mm, col_pitch_mm,
                                       roller_radius_mm, rows)
    p = ffi.new("km_bodymap_params *")
    lib.km_bodymap_params_default(p)
    p.contact_half_rows = int(contact_half_rows)
    p.contact_threshold = float(contact_threshold)
    p.pass_gap_frames = int(pass_gap_frames)
    p.max_extent_mm = float(max_extent_mm)
    m, keep_mask = mask_view(mask, (rows, cols))
    c = ctx()
    samples = _roller_samples(c, arr, m, mode_i, odometry, radius, lift_threshold, rows, cols)
    bp = ffi.new("km_bodymap **")
    check(c, lib.km_bodymap_create(c, mode_i, rows, cols, rp, cp, p, bp))
    b = ffi.gc(bp[0], lib.km_bodymap_free)
    try:
        for i in range(len(arr)):
            fr, keep = frame_view("frames", arr[i])
            check(c, lib.km_bodymap_add(c, b, fr, m, samples + i if samples is not None
                                        else ffi.NULL))
            del keep
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


def track(frame, y_mm, x_mm, value, gate_mm=15.0, max_gap=2):
    """Link peaks across frames into tracks (km_tracker_*,
    docs/ALGORITHMS.md 9).

    frame, y_mm, x_mm, value: one entry per peak (the /peaks columns of a
    result: frame index, body position in mm, value), frames
    non-decreasing and, within a frame, peaks in the detector's order
    (value descending).  gate_mm: a peak may continue a track within this
    distance of its last position, mm [15].  max_gap: frames a track may
    miss [2].

    Returns (ids, tracks): ids [N] int32, the track of each peak; tracks a
    dict of columns (the /tracks table, in order of ending): track,
    first_frame, last_frame, n_frames, y_mm, x_mm (mean position, mm), value_max.
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
    p.gate_mm = float(gate_mm)
    p.max_gap = int(max_gap)
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

_CAND_FIELDS = ("background_half_cols", "seen_threshold", "min_prominence", "min_snr",
                "knot_sigma_mm", "ridge_half_rows", "min_distance", "min_coverage",
                "min_persistence", "max_candidates", "stuck_frames", "contact_half_rows",
                "contact_threshold", "pass_gap_frames")


def candidates(frames, time=None, mode=None, row_pitch_mm=None, col_pitch_mm=None, mask=None,
               odometry=None, roller_radius_mm=None, lift_threshold=5.0, **params):
    """Knot candidates: body places where a compact pressure excess recurs
    across passes (km_candidates_*, docs/ALGORITHMS.md 10).

    frames: [T, R, C] or a Session; time: [T] seconds [the Session's, else
    index / 1 Hz].  Geometry and odometry as for bodymap().  Keyword
    parameters are the fields of km_candidate_params, with its defaults
    (include/knotmap.h documents each; pressures in frame units):
    background_half_cols, seen_threshold, min_prominence, min_snr,
    knot_sigma_mm, ridge_half_rows, min_distance (cells), min_coverage
    (passes), min_persistence (share), max_candidates (< 0 = all),
    stuck_frames (0 = off), contact_half_rows, contact_threshold,
    pass_gap_frames.  knotmap.CANDIDATE_DEFAULTS holds the default values.

    Returns a dict: the /candidates columns (candidate rank, x_mm, y_mm,
    peak, prominence, area_mm2, n_passes, n_covering, persistence,
    first_time, last_time, score), sorted by score descending, plus
    "excess" ([Ny, Nx] float32 candidate map) and "y0_mm".
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
    lib.km_candidate_params_default(p)
    for name, value in params.items():
        if value is not None:
            setattr(p, name, value)
    m, keep_mask = mask_view(mask, (rows, cols))
    c = ctx()
    samples = _roller_samples(c, arr, m, mode_i, odometry, radius, lift_threshold, rows, cols)
    cp_out = ffi.new("km_candidates **")
    check(c, lib.km_candidates_create(c, mode_i, rows, cols, rp, cp, p, cp_out))
    obj = ffi.gc(cp_out[0], lib.km_candidates_free)
    try:
        for i in range(n_t):
            fr, keep = frame_view("frames", arr[i])
            check(c, lib.km_candidates_add(c, obj, fr, m,
                                           samples + i if samples is not None else ffi.NULL,
                                           float(times[i])))
            del keep
        ny, nx, y0 = ffi.new("int32_t *"), ffi.new("int32_t *"), ffi.new("double *")
        lib.km_candidates_shape(obj, ny, nx, y0)
        excess = np.empty((int(ny[0]), int(nx[0])), np.float32)
        needed = ffi.new("size_t *")
        check(c, lib.km_candidates_map(c, obj, _ptr(excess, "float *"), excess.size, needed))
        cap = 64
        n = ffi.new("size_t *")
        while True:
            buf = ffi.new("km_candidate[]", cap)
            st = lib.km_candidates_get(c, obj, buf, cap, n)
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
    for name, dt in (("x_mm", np.float64), ("y_mm", np.float64), ("peak", np.float32),
                     ("prominence", np.float32), ("area_mm2", np.float64),
                     ("n_passes", np.int32), ("n_covering", np.int32),
                     ("persistence", np.float64), ("first_time", np.float64),
                     ("last_time", np.float64), ("score", np.float64)):
        out[name] = np.array([getattr(buf[i], name) for i in range(k)], dtype=dt)
    out["excess"] = excess
    out["y0_mm"] = float(y0[0])
    return out



def _candidate_defaults():
    p = ffi.new("km_candidate_params *")
    lib.km_candidate_params_default(p)
    return {name: getattr(p, name) for name in _CAND_FIELDS}


#: The C defaults of km_candidate_params, one source: the library.
CANDIDATE_DEFAULTS = _candidate_defaults()
