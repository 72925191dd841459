"""Conditioning on numpy arrays: calibrate, gaussian_filter, frame_metrics."""
from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.typing import ArrayLike
from typing import Any, Dict, Optional, Sequence, Union

from ._defaults import CALIB_DEFAULTS, METRICS_DEFAULTS
from ._core import (check, ctx, enum_names, error_class, ffi, frame_view, invalid,
                    invalid_type, lib, mask_view, namesake_call, out_frame, real, real_array)

__all__ = ["calibrate", "gaussian_filter", "frame_metrics", "units_to_kpa"]


def _units_names():
    """The units knotmap reads, "raw" last (km_units_name: the library's one list)."""
    names, i = [], 0
    while lib.km_units_name(i) != ffi.NULL:
        names.append(ffi.string(lib.km_units_name(i)).decode())
        i += 1
    return tuple(names)


#: km_units_name's list, as the errors below name it: "'kPa', 'mmHg', ..., 'MPa'" (raw aside).
_UNITS_SAID = ", ".join("%r" % u for u in _units_names()[:-1])


def units_to_kpa(units: str) -> float:
    """kPa per unit of pressure (km_units_to_kpa).

    Parameters
    ----------
    units : str
        A unit name: "kPa", "mmHg", "N/cm2", "psi", ... or "raw"
        (uncalibrated sensor counts).

    Returns
    -------
    float
        kPa per unit ("kPa" 1, "mmHg" 0.133322, "N/cm2" 10); NaN for "raw".

    Raises
    ------
    ValueError
        (a knotmap.Error) for a name that is not a unit.
    """
    if not isinstance(units, str) or "\0" in units:
        raise invalid("units=%r must be a unit name (%s) or 'raw'" % (units, _UNITS_SAID))
    v = float(lib.km_units_to_kpa(units.encode()))
    if math.isnan(v) and units != "raw":
        raise invalid("units=%r is not a unit knotmap knows (%s; 'raw' for uncalibrated "
                      "counts; or give kPa per unit as a number)" % (units, _UNITS_SAID))
    return v


def _frames(name, a):
    """Iterate 2-D frames of a 2-D or 3-D array; the result shape."""
    arr = real_array(name, a)
    if arr.ndim == 2:
        return [arr], arr.shape
    if arr.ndim == 3:
        return list(arr), arr.shape
    raise invalid("%s must be 2-D [R, C] or 3-D [T, R, C], got shape %r" % (name, arr.shape))


def calibrate(frames: ArrayLike, offset: float = CALIB_DEFAULTS["offset"],
              gain: float = CALIB_DEFAULTS["gain"],
              noise_threshold: float = CALIB_DEFAULTS["noise_threshold"]) -> np.ndarray:
    """Point-wise calibration (km_calibrate): ``gain * (frames - offset)``,
    then values below `noise_threshold` become 0.

    Parameters
    ----------
    frames : array_like
        [R, C] or [T, R, C] frames in source units.
    offset : float, optional
        Subtracted first (source units); default the pipeline's.
    gain : float, optional
        Multiplied after; default the pipeline's.
    noise_threshold : float, optional
        Values below this (output units) become 0; 0 = off; default the
        pipeline's.

    Returns
    -------
    ndarray
        float32 of the input's shape.
    """
    p = ffi.new("km_calib_params *")
    lib.km_calib_params_default(p)
    p.offset = real("offset", offset)
    p.gain = real("gain", gain)
    p.noise_threshold = real("noise_threshold", noise_threshold)
    items, shape = _frames("frames", frames)
    out = np.empty(shape, dtype=np.float32)
    outs = [out] if out.ndim == 2 else list(out)
    c = ctx()
    for src, dst in zip(items, outs):
        fr, keep = frame_view("frames", src)
        check(c, lib.km_calibrate(c, p, fr, out_frame(dst)))
        del keep
    return out


# scipy's names for the same borders (its filters treat them as synonyms).
_MODE_ALIASES = {"grid-mirror": "reflect", "grid-constant": "constant", "grid-wrap": "wrap"}
_BORDERS = enum_names("km_border", "KM_BORDER_")


def _scipy_gaussian():
    """scipy's own gaussian_filter (the implementation module's, so that a
    test patching scipy.ndimage.gaussian_filter with this one does not
    recurse), or None when scipy is not installed."""
    try:
        from scipy.ndimage import _filters
    except ImportError:
        return None
    fn = getattr(_filters, "gaussian_filter", None)
    return None if fn is None or fn is gaussian_filter else fn


def _is_real(v):
    try:
        real("", v)
    except TypeError:
        return False
    return True


def _per_axis(name, v, ndim):
    """scipy's _normalize_sequence: a scalar repeated, or a sequence of
    length ndim."""
    if isinstance(v, (str, numbers.Number)) or v is None or np.ndim(v) == 0:
        return [v] * ndim
    v = list(v)
    if len(v) != ndim:
        raise error_class(RuntimeError)(
            lib.KM_ERR_INVALID, "%s=%r: a sequence argument must have length equal to the "
            "input rank (%d)" % (name, v, ndim))
    return v


# scipy 1.10 filters only the axes whose sigma is above this (a negative or
# NaN sigma skips its axis, and with it that axis's order, mode and radius).
_SIGMA_SKIP = 1e-15


def _active(sigma):
    """Does scipy filter along an axis of this sigma?  (`sigma > 1e-15`.)"""
    return bool(sigma > _SIGMA_SKIP)


def _c_plan(arr, sigmas, orders, output, modes, cval, truncate, radius, scipy_there):
    """(sigma_rows, sigma_cols, border, truncate) when the C filter computes
    exactly this call (2-D, or [T, R, C] with no smoothing along T; order
    0; one C border mode over the axes smoothed; float32, or float64 without
    scipy; a float32 output; not empty: scipy returns an empty array as it
    is), else None: scipy then decides, its errors included.  The axes scipy
    skips (sigma <= 1e-15, negative or NaN) are sigma 0 here, whatever their
    order, mode and radius."""
    if arr.size == 0 or arr.ndim not in (2, 3):
        return None
    if not all(isinstance(s, numbers.Real) and not isinstance(s, bool) for s in sigmas):
        return None
    on = [_active(s) for s in sigmas]
    if arr.ndim == 3:
        if on[0]:
            return None
        sigmas, orders, modes, on = sigmas[1:], orders[1:], modes[1:], on[1:]
        radius = radius[1:] if radius is not None else None
    if not all(type(o) is int or isinstance(o, np.integer) for o, a in zip(orders, on) if a):
        return None
    if any(o != 0 for o, a in zip(orders, on) if a):
        return None
    if arr.dtype != np.float32 and not (arr.dtype == np.float64 and not scipy_there):
        return None
    if output is not None:
        if isinstance(output, np.ndarray):
            out_dtype = output.dtype
        else:
            try:
                out_dtype = np.dtype(output)
            except TypeError:
                return None
        if out_dtype != arr.dtype:
            return None
    names = {_MODE_ALIASES.get(m, m) if isinstance(m, str) else None
             for m, a in zip(modes, on) if a}
    if len(names) > 1:
        return None
    name = names.pop() if names else "reflect"
    if not (_is_real(cval) and _is_real(truncate)):
        return None
    cval, truncate = float(cval), float(truncate)
    if name not in _BORDERS or not math.isfinite(cval):
        return None
    sig = [float(s) if a else 0.0 for s, a in zip(sigmas, on)]
    if radius is not None:
        # radius r == int(truncate * sigma + 0.5) with truncate = r / sigma,
        # for one truncate over both axes
        pairs = [(s, r) for s, r, a in zip(sig, radius, on) if a]
        if not all(isinstance(r, numbers.Integral) and r >= 0 and math.isfinite(s)
                   for s, r in pairs):
            return None
        if pairs:
            truncate = pairs[0][1] / pairs[0][0]
            if any(int(truncate * s + 0.5) != r for s, r in pairs):
                return None
    if not (truncate > 0 and math.isfinite(truncate)):
        return None
    return sig[0], sig[1], _BORDERS[name], truncate


def _check_alone(arr, sigma, sigmas, orders, modes, radii, order, mode, radius):
    """Without scipy: the argument checks scipy makes, on the axes it
    smooths (a sigma <= 1e-15, negative or NaN, skips its axis)."""
    on = [_active(s) for s in sigmas]
    if any(int(o) < 0 for o, a in zip(orders, on) if a):
        raise invalid("order=%r must be >= 0 (a derivative order per axis)" % (order,))
    allowed = list(_BORDERS) + list(_MODE_ALIASES)
    for m, a in zip(modes, on):
        if a and (not isinstance(m, str) or _MODE_ALIASES.get(m, m) not in _BORDERS):
            raise invalid("mode=%r is not one of %s" % (m, ", ".join(map(repr, allowed))))
    for r, a in zip(radii or [], on):
        if a and (not isinstance(r, numbers.Integral) or r < 0):
            raise invalid("radius=%r must be a non-negative integer (or one per axis)"
                          % (radius,))


def gaussian_filter(input: ArrayLike, sigma: Union[float, Sequence[float]],
                    order: Union[int, Sequence[int]] = 0, output: Any = None,
                    mode: Union[str, Sequence[str]] = "reflect", cval: float = 0.0,
                    truncate: float = 4.0, *, radius: Union[None, int, Sequence[int]] = None,
                    mask: Optional[ArrayLike] = None) -> np.ndarray:
    """Multidimensional Gaussian filter: a drop-in for
    ``scipy.ndimage.gaussian_filter`` (scipy 1.10) with a faster C path.

    Parameters
    ----------
    input : array_like
        The input array (any number of dimensions, as scipy).
    sigma : scalar or sequence of scalars
        Standard deviation of the Gaussian kernel per axis, in samples
        (taxels); as scipy, an axis whose sigma is not above 1e-15 (0,
        negative, NaN) is not smoothed, its order, mode and radius unused.
    order : int or sequence of ints, optional
        Derivative order per axis (0 = plain smoothing).  Default 0.
    output : array or dtype, optional
        Where to place the result, or its dtype.  Default: the input's dtype.
    mode : str or sequence of str, optional
        Border mode: 'reflect' (default, as scipy), 'mirror', 'nearest',
        'constant', 'wrap' (and scipy's 'grid-*' synonyms).
    cval : float, optional
        Value outside the input for mode 'constant'.  Default 0.
    truncate : float, optional
        Kernel radius in standard deviations: radius = int(truncate * sigma
        + 0.5).  Default 4.0.
    radius : None or int or sequence of ints, optional
        Kernel radius per axis, overriding truncate (keyword only).
    mask : array_like of bool, optional
        knotmap only (keyword only): [R, C] validity (True = valid) for 2-D
        frames or [T, R, C] stacks smoothed per frame (sigma = (0, s, s)):
        masked taxels do not contribute (normalised convolution) and come
        out NaN.

    Returns
    -------
    ndarray
        The filtered array, of the input's shape and dtype (or of
        `output`); `output` itself when an array was given.

    Notes
    -----
    knotmap's C filter runs when it computes the call (non-empty 2-D
    frames, or [T, R, C] stacks with sigma 0 along T; order 0; one border
    mode for all axes; float32 in and out): scipy's definition (docs/ALGORITHMS.md
    section 2), equal to scipy's float32 result within a few float32 ulps
    (scipy sums in float64; at most 5 ulps over 200 random frames).  Any other call (derivative
    orders, n-D smoothing, float64 or integer data, an empty array
    (returned empty, as scipy does), per-axis modes or
    radii that one truncate cannot express, a kernel the C filter refuses:
    an infinite sigma, whose OverflowError is scipy's, or a radius over its
    limit) is handed to
    ``scipy.ndimage.gaussian_filter``, so the result is scipy's.  Without
    scipy installed, float64 input is filtered by the C path in float32
    precision (relative error about 1e-7) and returned as float64; other
    calls raise NotImplementedError.

    Examples
    --------
    >>> import numpy as np, knotmap
    >>> a = np.arange(50, step=2, dtype=np.float32).reshape((5, 5))
    >>> knotmap.gaussian_filter(a, sigma=1).round(2)
    array([[ 5.12,  6.41,  8.27, 10.13, 11.42],
           [11.53, 12.81, 14.68, 16.54, 17.82],
           [20.85, 22.14, 24.  , 25.86, 27.15],
           [30.18, 31.46, 33.32, 35.19, 36.47],
           [36.58, 37.87, 39.73, 41.59, 42.88]], dtype=float32)
    >>> from scipy.ndimage import gaussian_filter
    >>> np.allclose(knotmap.gaussian_filter(a, 1), gaussian_filter(a, 1), rtol=1e-6)
    True
    """
    arr = np.asarray(input)
    if isinstance(output, np.ndarray) and output.shape != arr.shape:
        raise error_class(RuntimeError)(
            lib.KM_ERR_INVALID, "output shape %r differs from the input shape %r"
            % (output.shape, arr.shape))
    orders = _per_axis("order", order, arr.ndim)
    sigmas = _per_axis("sigma", sigma, arr.ndim)
    sigmas = [s.item() if isinstance(s, np.ndarray) and s.ndim == 0 and s.dtype.kind in "biuf"
              else s for s in sigmas]  # 0-d array elements, as scipy takes them
    for s in sigmas:
        if not isinstance(s, numbers.Real):  # None, str, complex, Decimal: scipy's TypeError
            raise invalid_type("sigma=%r must be a number or a sequence of them, one per "
                               "axis" % (sigma,))
    modes = _per_axis("mode", mode, arr.ndim)
    radii = None if radius is None else _per_axis("radius", radius, arr.ndim)
    scipy_fn = _scipy_gaussian()
    if scipy_fn is None:
        _check_alone(arr, sigma, sigmas, orders, modes, radii, order, mode, radius)

    def namesake():
        kw = {} if radius is None else {"radius": radius}
        return namesake_call(scipy_fn, input, sigma, order=order, output=output, mode=mode,
                             cval=cval, truncate=truncate, **kw)

    plan = _c_plan(arr, sigmas, orders, output, modes, cval, truncate, radii,
                   scipy_fn is not None)
    if plan is None:
        if mask is not None:
            raise invalid("mask= needs the C path: a 2-D frame or a [T, R, C] stack with "
                          "sigma 0 along T, order 0, one border mode, float32 data")
        if scipy_fn is None:
            real("cval", cval), real("truncate", truncate)
            raise error_class(NotImplementedError)(
                lib.KM_ERR_UNSUPPORTED, "knotmap.gaussian_filter computes 2-D float32 "
                "smoothing (order 0, one border mode) itself; this call (shape %r, dtype "
                "%s, order=%r, mode=%r) needs scipy.ndimage (Debian: python3-scipy)"
                % (arr.shape, arr.dtype, order, mode))
        return namesake()
    sr, sc, border, trunc = plan
    rows, cols = arr.shape[-2:]
    c = ctx()
    p = ffi.new("km_gaussian_params *")
    lib.km_gaussian_params_default(p)
    p.sigma_rows, p.sigma_cols = sr, sc
    p.truncate = trunc
    p.border = border
    p.cval = float(cval)
    m, keep_mask = mask_view(mask, (rows, cols))
    # C writes float32 into its own array (never aliasing the input), then
    # the result goes where scipy would put it.
    res = np.empty(arr.shape, dtype=np.float32)
    items = [arr] if arr.ndim == 2 else list(arr)
    outs = [res] if res.ndim == 2 else list(res)
    g = ffi.new("km_gaussian **")
    st = lib.km_gaussian_create(c, rows, cols, p, g)
    if st != lib.KM_OK and scipy_fn is not None and mask is None:
        # A kernel the C filter refuses (an infinite sigma, a radius over its
        # limit): scipy's answer, OverflowError for the infinite one.
        return namesake()
    check(c, st)
    try:
        for src, dst in zip(items, outs):
            fr, keep = frame_view("input", src)
            check(c, lib.km_gaussian_apply(c, g[0], fr, m, out_frame(dst)))
            del keep
    finally:
        lib.km_gaussian_free(g[0])
    del keep_mask
    if isinstance(output, np.ndarray):
        output[...] = res
        return output
    return res if arr.dtype == np.float32 else res.astype(arr.dtype)


def frame_metrics(frame: ArrayLike, mask: Optional[ArrayLike] = None, row_pitch_mm: float = 1.0,
                  col_pitch_mm: float = 1.0, units: Union[str, float] = "kPa",
                  contact_threshold: float = METRICS_DEFAULTS["contact_threshold"],
                  saturation: float = math.inf) -> Dict[str, Any]:
    """One row of the /metrics table for a frame (km_frame_metrics).

    Parameters
    ----------
    frame : array_like
        [R, C] frame.
    mask : array_like of bool, optional
        [R, C] validity, True = valid taxel.
    row_pitch_mm, col_pitch_mm : float, optional
        Taxel pitch in mm (default 1).
    units : str or float, optional
        The frame's units ("kPa", "mmHg", "N/cm2", "raw", ...), or kPa per
        unit as a number > 0; an unknown name raises ValueError.  Default
        "kPa".
    contact_threshold : float, optional
        Contact when value > this, frame units; default the pipeline's.
    saturation : float, optional
        Saturated when value >= this, frame units (default inf).

    Returns
    -------
    dict
        peak, mean, contact_area_mm2, force_n (N; NaN for "raw"), cop_grid_x_mm,
        cop_grid_y_mm (centre of pressure on the sensor grid, the result's /metrics
        names), flags (KM_FRAME_* bits).
    """
    fr, keep = frame_view("frame", frame)
    m, keep_mask = mask_view(mask, keep.shape)
    if isinstance(units, numbers.Real) and not isinstance(units, bool):
        to_kpa = float(units)
        if not (to_kpa > 0 and math.isfinite(to_kpa)):
            raise invalid("units=%r: kPa per unit must be a finite number > 0" % (units,))
    else:
        to_kpa = units_to_kpa(units)
    out = ffi.new("km_metrics *")
    c = ctx()
    check(c, lib.km_frame_metrics(c, fr, m, real("row_pitch_mm", row_pitch_mm), real("col_pitch_mm", col_pitch_mm), to_kpa,
                                  real("contact_threshold", contact_threshold), real("saturation", saturation), out))
    del keep, keep_mask
    return {
        "peak": out.peak, "mean": out.mean, "contact_area_mm2": out.contact_area_mm2,
        "force_n": out.force_n, "cop_grid_x_mm": out.cop_x_mm,
        "cop_grid_y_mm": out.cop_y_mm,
        "flags": int(out.flags),
    }
