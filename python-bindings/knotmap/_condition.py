"""Calibration curves, bad taxels and the whole conditioning chain on numpy
arrays (km_calib_curve_*, km_badtaxel_*, km_conditioner_*)."""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from typing import Any, Optional, Tuple

from ._defaults import CALIB_DEFAULTS
from ._core import check, choice, ctx, ffi, invalid, invalid_type, lib, real
from ._process import _CURVES
from ._stages import _frames3

__all__ = ["calib_curve_fit", "bad_taxels", "condition", "TAXEL_OK", "TAXEL_DEAD",
           "TAXEL_STUCK", "TAXEL_HOT", "TAXEL_MASKED", "TAXEL_OFFSET"]

TAXEL_OK = lib.KM_TAXEL_OK
TAXEL_DEAD = lib.KM_TAXEL_DEAD
TAXEL_STUCK = lib.KM_TAXEL_STUCK
TAXEL_HOT = lib.KM_TAXEL_HOT
TAXEL_MASKED = lib.KM_TAXEL_MASKED
TAXEL_OFFSET = lib.KM_TAXEL_OFFSET


def _defaults(kind):
    """A new km_<kind>_params holding the C defaults (km_<kind>_params_default)."""
    p = ffi.new("km_%s_params *" % kind)
    getattr(lib, "km_%s_params_default" % kind)(p)
    return p


def _frames32(frames):
    """frames as C-contiguous float32 [T, R, C] (the stages' check: _frames3)."""
    return np.ascontiguousarray(_frames3(frames), dtype=np.float32)


def _bad_defaults():
    p = _defaults("badtaxel")
    return {name: getattr(p, name) for name, _ in ffi.typeof("km_badtaxel_params").fields}


# km_badtaxel_params_default(): bad_taxels' defaults, one source
_BAD = _bad_defaults()


def _curve(v):
    """The km_calib_curve of a name (or its number); an unknown name is
    knotmap's ValueError naming the argument and the names."""
    return choice("curve", v, _CURVES) if isinstance(v, str) else int(v)


def _p(arr, t):
    return ffi.cast(t, arr.ctypes.data)


def calib_curve_fit(points: ArrayLike, curve: str = "power",
                    cell_area_mm2: float = 1.0) -> Tuple[float, float]:
    """Fit a raw-to-kPa curve p = a * raw^b (docs/ALGORITHMS.md 1.2).

    Parameters
    ----------
    points : array_like
        [(load_n, raw_sum, n_loaded), ...]: newtons, counts summed over the
        loaded cells, cells loaded.
    curve : {"power", "linear"}, optional
        "linear" (b = 1) or "power" (needs 2 points of different mean raw).
    cell_area_mm2 : float, optional
        One cell's area in mm2.

    Returns
    -------
    (float, float)
        (a, b).
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    cp = ffi.new("km_calib_point[]", max(len(pts), 1))
    for i, (load, raw, n) in enumerate(pts):
        cp[i].load_n, cp[i].raw_sum, cp[i].n_loaded = load, raw, n
    a, b = ffi.new("double *"), ffi.new("double *")
    c = ctx()
    check(c, lib.km_calib_curve_fit(c, _curve(curve),
                                    cp, len(pts), real("cell_area_mm2", cell_area_mm2), a, b))
    return float(a[0]), float(b[0])


def bad_taxels(frames: ArrayLike, mask: Optional[ArrayLike] = None,
               flat_range: float = _BAD["flat_range"], dead_level: float = _BAD["dead_level"],
               active_range: float = _BAD["active_range"],
               hot_ratio: float = _BAD["hot_ratio"],
               offset_sigmas: float = _BAD["offset_sigmas"],
               unload_sigmas: float = _BAD["unload_sigmas"]
               ) -> Tuple[np.ndarray, np.ndarray, int]:
    """Classify dead, stuck and hot taxels (spikes, and steady offsets read
    while the neighbourhood is unloaded) over a block of frames
    (km_badtaxel_*).

    Parameters
    ----------
    frames : array_like
        [T, R, C] (the warm-up block).
    mask : array_like of bool, optional
        [R, C] source validity.
    flat_range : float, optional
        Flat when max - min <= this, frame units.
    dead_level : float, optional
        A flat taxel with |value| <= this is dead.
    active_range : float, optional
        Flat taxels count only where the neighbours' median range exceeds
        this.
    hot_ratio : float, optional
        Hot when above ratio * the largest valid neighbour in most frames,
        0 = off.
    offset_sigmas : float, optional
        TAXEL_OFFSET: in the frames where its neighbours' median is unloaded,
        above it in at least 90% of them, by a mean over offset_sigmas times
        the noise (or the taxels' spread), and not part of a steady load's
        footprint, 0 = off (docs/ALGORITHMS.md 11.3).
    unload_sigmas : float, optional
        Unloaded: at most the frame's 10th percentile plus this many times
        the frame-to-frame noise.

    Returns
    -------
    state : ndarray
        [R, C] uint8 of TAXEL_*.
    mask : ndarray
        [R, C] bool: source mask and not bad.
    n_bad : int
    """
    x = _frames32(frames)
    _, rows, cols = x.shape
    p = _defaults("badtaxel")
    p.flat_range, p.dead_level = real("flat_range", flat_range), real("dead_level", dead_level)
    p.active_range, p.hot_ratio = real("active_range", active_range), real("hot_ratio", hot_ratio)
    p.offset_sigmas, p.unload_sigmas = real("offset_sigmas", offset_sigmas), real("unload_sigmas", unload_sigmas)
    m = None if mask is None else np.ascontiguousarray(mask, dtype=bool).view(np.uint8)
    if m is not None and m.shape != (rows, cols):
        raise invalid("mask shape %r differs from the frame shape" % (m.shape,))
    c = ctx()
    bp = ffi.new("km_badtaxel **")
    check(c, lib.km_badtaxel_create(c, rows, cols, ffi.NULL if m is None else _p(m, "uint8_t *"),
                                    p, bp))
    b = ffi.gc(bp[0], lib.km_badtaxel_free)
    try:
        for f in x:
            check(c, lib.km_badtaxel_add(c, b, _p(f, "float *")))
        state = np.empty((rows, cols), np.uint8)
        out = np.empty((rows, cols), np.uint8)
        n = ffi.new("int32_t *")
        check(c, lib.km_badtaxel_decide(c, b, _p(state, "uint8_t *"), _p(out, "uint8_t *"), n))
    finally:
        ffi.release(b)
    return state, out.astype(bool), int(n[0])


_COND_NAMES = [n for n, _ in ffi.typeof("km_condition_params").fields
               if n not in ("tare", "gain_map", "bad", "curve")]


def condition(frames: ArrayLike, rate_hz: float, time: Optional[ArrayLike] = None,
              mask: Optional[ArrayLike] = None, offset: float = CALIB_DEFAULTS["offset"],
              gain: float = CALIB_DEFAULTS["gain"],
              noise_threshold: float = CALIB_DEFAULTS["noise_threshold"],
              sigma: float = 0.0, curve: str = "none",
              tare: Optional[ArrayLike] = None, gain_map: Optional[ArrayLike] = None,
              **params: Any) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run the conditioning chain of `knotmap process` on frames in memory
    (km_conditioner_*: corrupt frames -> resampling -> tare and bad taxels
    -> curve -> gain map -> calibration -> temporal filters -> Gaussian).

    Parameters
    ----------
    frames : array_like
        [T, R, C].
    rate_hz : float
        Frame rate in Hz.
    time : array_like, optional
        [T] s [index / rate].
    mask : array_like of bool, optional
        [R, C] valid taxels.
    offset, gain, noise_threshold : float, optional
        The point-wise calibration (km_calib_params).
    sigma : float, optional
        Gaussian smoothing in taxels [0 = off].
    curve : {"none", "linear", "power"}, optional
        With curve_a, curve_b.
    tare, gain_map : array_like, optional
        [R, C] arrays.
    **params
        The km_condition_params fields by name (resample_hz, tare_frames,
        detect_bad, warmup_frames, fill_bad, corrupt_ratio, corrupt_window,
        fir, lowpass_hz, highpass_hz, order, taps, notch_hz, notch_q,
        notch_harmonics, median_frames, dog_sigma, curve_a, curve_b) and
        bad_<km_badtaxel_params field>; defaults as in C.

    Returns
    -------
    frames : ndarray
        [T', R, C] float32.
    time : ndarray
        [T'] s.
    flags : ndarray
        [T'] uint32 (FRAME_CORRUPT).
    mask : ndarray
        [R, C] bool: source mask and not bad.
    """
    x = _frames32(frames)
    n_t, rows, cols = x.shape
    p = _defaults("condition")
    for k, v in params.items():
        if k in _COND_NAMES:
            setattr(p, k, v)
        elif k.startswith("bad_") and hasattr(p.bad, k[4:]):
            setattr(p.bad, k[4:], real(k, v))
        else:
            raise invalid_type("condition() got an unknown parameter %r" % k)
    p.curve = _curve(curve)
    keep = []
    for name, arr in (("tare", tare), ("gain_map", gain_map)):
        if arr is not None:
            a = np.ascontiguousarray(arr, dtype=np.float32)
            if a.shape != (rows, cols):
                raise invalid("%s must be [R, C] = %r" % (name, (rows, cols)))
            keep.append(a)
            setattr(p, name, _p(a, "float *"))
    info = ffi.new("km_session_info *")
    info.rows, info.cols, info.frame_rate_hz = rows, cols, real("rate_hz", rate_hz)
    info.n_frames = n_t
    info.saturation = float("inf")
    m = None if mask is None else np.ascontiguousarray(mask, dtype=bool).view(np.uint8)
    cal = ffi.new("km_calib_params *")
    lib.km_calib_params_default(cal)
    cal.offset, cal.gain, cal.noise_threshold = real("offset", offset), real("gain", gain), real("noise_threshold", noise_threshold)
    sm = ffi.new("km_gaussian_params *")
    lib.km_gaussian_params_default(sm)
    sm.sigma_rows = sm.sigma_cols = real("sigma", sigma)
    t = None if time is None else np.ascontiguousarray(time, dtype=np.float64)
    c = ctx()
    cp = ffi.new("km_conditioner **")
    check(c, lib.km_conditioner_create(c, info, ffi.NULL if m is None else _p(m, "uint8_t *"),
                                       p, cal, sm, cp))
    obj = ffi.gc(cp[0], lib.km_conditioner_free)
    try:
        outs, times, flags = [], [], []
        n = ffi.new("int64_t *")

        def pull():
            while True:
                block = 256
                f = np.empty((block, rows, cols), np.float32)
                tt = np.empty(block, np.float64)
                fl = np.empty(block, np.uint32)
                lib.km_conditioner_pull(obj, _p(f, "float *"), _p(tt, "double *"),
                                        _p(fl, "uint32_t *"), block, n)
                k = int(n[0])
                if k == 0:
                    return
                outs.append(f[:k])
                times.append(tt[:k])
                flags.append(fl[:k])

        step = 256
        for i in range(0, n_t, step):
            check(c, lib.km_conditioner_push(c, obj, _p(x[i:], "float *"),
                                             ffi.NULL if t is None else _p(t[i:], "double *"),
                                             min(step, n_t - i)))
            pull()
        check(c, lib.km_conditioner_finish(c, obj))
        pull()
        mk = np.frombuffer(ffi.buffer(lib.km_conditioner_mask(obj), rows * cols), np.uint8) \
            .reshape(rows, cols).astype(bool)
    finally:
        ffi.release(obj)
    if not outs:
        return (np.empty((0, rows, cols), np.float32), np.empty(0), np.empty(0, np.uint32), mk)
    return np.concatenate(outs), np.concatenate(times), np.concatenate(flags), mk
