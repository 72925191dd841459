"""Peak detection: find_peaks (all per-peak fields) and peak_local_max
(drop-in for scikit-image's)."""
from __future__ import annotations

import math
import numbers
import threading
import warnings

import numpy as np
from numpy.typing import ArrayLike
from typing import Optional, Tuple, Union

from ._defaults import PEAK_DEFAULTS
from ._params import enum_values
from ._core import (ctx, error_class, ffi, frame_view, invalid, invalid_type, lib, mask_view,
                    namesake_call, raise_error, real)

__all__ = ["PEAK_DTYPE", "find_peaks", "peak_local_max",
           "PEAK_AT_BORDER", "PEAK_PLATEAU", "PEAK_FIT_FALLBACK", "PEAK_SATURATED"]

PEAK_AT_BORDER = lib.KM_PEAK_AT_BORDER
PEAK_PLATEAU = lib.KM_PEAK_PLATEAU
PEAK_FIT_FALLBACK = lib.KM_PEAK_FIT_FALLBACK
PEAK_SATURATED = lib.KM_PEAK_SATURATED


def _peak_dtype():
    fields = [("row", np.int32), ("col", np.int32), ("y", np.float64), ("x", np.float64),
              ("value", np.float32), ("prominence", np.float32),
              ("area_taxels", np.int32), ("flags", np.uint32)]
    dt = np.dtype({"names": [n for n, _ in fields],
                   "formats": [t for _, t in fields],
                   "offsets": [ffi.offsetof("km_peak", n) for n, _ in fields],
                   "itemsize": ffi.sizeof("km_peak")})
    c_fields = dict(ffi.typeof("km_peak").fields)
    for name, t in fields:
        if np.dtype(t).itemsize != ffi.sizeof(c_fields[name].type):
            raise ImportError("knotmap: km_peak.%s has an unexpected size" % name)
    if dt.itemsize != ffi.sizeof("km_peak"):
        raise ImportError("knotmap: the peak dtype (%d bytes) does not match km_peak (%d)"
                          % (dt.itemsize, ffi.sizeof("km_peak")))
    return dt


_PEAK_INT32S = ffi.sizeof("km_peak") // 4
if ffi.offsetof("km_peak", "row") != 0 or ffi.offsetof("km_peak", "col") != 4 \
        or ffi.sizeof("km_peak") % 4:
    raise ImportError("knotmap: km_peak does not start with int32 row, col")

#: numpy dtype of one km_peak: the /peaks columns row, col, y, x, value,
#: prominence, area_taxels, flags.
PEAK_DTYPE = _peak_dtype()

_PLATEAU = enum_values("peaks_plateau")


def _int_or_inf(name, v):
    if v is None or (isinstance(v, float) and math.isinf(v) and v > 0):
        return -1
    if isinstance(v, numbers.Integral) or (isinstance(v, float) and v.is_integer()):
        if v < 0:
            raise invalid("%s must be >= 0 or inf, got %r" % (name, v))
        return int(v)
    raise invalid_type("%s must be an int or inf, got %r" % (name, v))


def _p_norm(v):
    v = real("p_norm", v)
    if not (v == 1.0 or v == 2.0 or math.isinf(v)):
        raise invalid("p_norm=%r must be 1, 2 or inf" % (v,))
    return math.inf if math.isinf(v) else v


class _Detectors(threading.local):
    """Per-thread km_detectors by (shape, params struct), each with the peak
    capacity it last needed: a detector keeps its scratch between calls
    (creating one per call cost as much as the detection) and is not
    thread-safe, hence one set per thread."""

    def __init__(self):
        self.by_key = {}


_detectors = _Detectors()
_DETECTORS_MAX = 8


def _detector(c, shape, p):
    """[detector, capacity] for this shape and params struct.  The entry
    holds p, so no other struct can take its id while the entry lives."""
    cache = _detectors.by_key
    key = (shape, id(p))
    entry = cache.get(key)
    if entry is not None and entry[0] is p:
        return entry[1]
    out = ffi.new("km_detector **")
    status = lib.km_detector_create(c, shape[0], shape[1], p, out)
    if status != 0:
        raise_error(c, status)
    slot = [ffi.gc(out[0], lib.km_detector_free), min(shape[0] * shape[1], 256)]
    if len(cache) >= _DETECTORS_MAX:
        cache.clear()
    cache[key] = (p, slot)
    return slot


def _detect(frame, mask, p):
    """Run the thread's cached detector into a numpy buffer of the capacity
    it last needed (grown and kept on KM_ERR_CAPACITY); returns a
    structured array (a view of the buffer C wrote into, copied when the
    buffer is mostly empty, so that kept results stay small)."""
    fr, keep = frame_view("frame", frame)
    m, keep_mask = mask_view(mask, keep.shape) if mask is not None else (ffi.NULL, None)
    c = ctx()
    slot = _detector(c, keep.shape, p)
    n = ffi.new("size_t *")
    while True:
        capacity = slot[1]
        out = np.empty(capacity, dtype=PEAK_DTYPE)
        status = lib.km_detector_apply(c, slot[0], fr, m, ffi.from_buffer("km_peak[]", out),
                                       capacity, n)
        if status == 0:
            count = n[0]
            return out[:count] if 4 * count >= capacity else out[:count].copy()
        if status == lib.KM_ERR_CAPACITY and n[0] > capacity:
            slot[1] = int(n[0])
            continue
        raise_error(c, status)


# Built parameter structs by argument values: most callers repeat the same
# arguments frame after frame, and building a struct costs more than the C
# call on small frames.  The structs are only read by C, so threads share
# them.  The types of the bool/int arguments are part of the key (True == 1
# in Python, but exclude_border=True means min_distance).
_PARAMS_CACHE = {}
_PARAMS_CACHE_MAX = 512


def _peak_params(min_distance, threshold_abs, threshold_rel, exclude_border, plateau, p_norm,
                 num_peaks, min_prominence, saturation, subpixel, prominence):
    key = (type(min_distance), min_distance, threshold_abs, threshold_rel,
           type(exclude_border), exclude_border, plateau, p_norm, num_peaks, min_prominence,
           saturation, subpixel, prominence)
    try:
        return _PARAMS_CACHE[key]
    except (KeyError, TypeError):
        pass
    p = ffi.new("km_peak_params *")
    lib.km_peak_params_default(p)
    p.min_distance = _min_distance(min_distance)
    p.threshold_abs = math.nan if threshold_abs is None else real("threshold_abs", threshold_abs)
    p.threshold_rel = 0.0 if threshold_rel is None else real("threshold_rel", threshold_rel)
    p.exclude_border = _exclude_border(exclude_border)
    try:
        p.plateau = _PLATEAU[plateau]
    except (KeyError, TypeError):
        raise invalid("plateau=%r is not one of 'all', 'one'" % (plateau,)) from None
    p.p_norm = _p_norm(p_norm)
    p.num_peaks = _int_or_inf("num_peaks", num_peaks)
    p.min_prominence = real("min_prominence", min_prominence)
    p.saturation = real("saturation", saturation)
    want = 0
    if subpixel:
        want |= lib.KM_WANT_SUBPIXEL
    if prominence:
        want |= lib.KM_WANT_PROMINENCE | lib.KM_WANT_AREA
    p.want = want
    try:
        if len(_PARAMS_CACHE) >= _PARAMS_CACHE_MAX:
            _PARAMS_CACHE.clear()
        _PARAMS_CACHE[key] = p
    except TypeError:
        pass  # unhashable argument (e.g. a numpy array): not cached
    return p


_PD = PEAK_DEFAULTS


def find_peaks(frame: ArrayLike, mask: Optional[ArrayLike] = None,
               min_distance: int = _PD["min_distance"],
               threshold_abs: Optional[float] = _PD["threshold_abs"],
               threshold_rel: Optional[float] = _PD["threshold_rel"],
               exclude_border: Union[bool, int] = _PD["exclude_border"],
               plateau: str = _PD["plateau"], p_norm: float = _PD["p_norm"],
               num_peaks: float = _PD["num_peaks"],
               min_prominence: float = _PD["min_prominence"],
               saturation: float = _PD["saturation"], subpixel: bool = _PD["subpixel"],
               prominence: bool = _PD["prominence"]) -> np.ndarray:
    """Peaks of one 2-D frame with every per-peak field (km_detector).

    The defaults are the pipeline's (knotmap.PEAK_DEFAULTS, read from
    km_process_params_default): one frame gives the peaks `knotmap process`
    writes to /peaks for it (pass the session's ``saturation`` for the same
    SATURATED flags; frames the pipeline flags corrupt have no peaks there),
    but for two decisions the pipeline takes over the session's warm-up and
    one frame cannot: its floor (pass ``threshold_abs=`` the result's
    /params ``peaks_floor`` when that is not NaN) and the taxels it found
    stuck or hot (/params ``suspect_taxels`` counts them; a result made
    with ``keep_suspect_taxels=True`` keeps them in /peaks); and on a
    roller the zero each taxel's peaks are measured from, which follows the
    sensor's drift across frames (a result made with ``zero_rate=0``
    keeps the warm-up's zero; /params ``peaks_zero_drift``).

    Parameters
    ----------
    frame : array_like
        2-D frame (float32 used as is, zero-copy also for row-strided views;
        other dtypes converted once).
    mask : array_like of bool, optional
        2-D validity, True = valid (invalid, NaN and inf taxels are never
        peaks).
    min_distance : int, optional
        Window radius r >= 1 in taxels.
    threshold_abs : float or None, optional
        Peaks have value > T, frame units [None = minimum of valid taxels].
    threshold_rel : float or None, optional
        T = max(threshold_abs, threshold_rel * max) [None = 0].
    exclude_border : bool or int, optional
        True = min_distance, False = 0, or a width in taxels.
    plateau : {"one", "all"}, optional
        "one" (one peak per plateau, at its centroid) or "all" (every
        plateau taxel, scikit-image).
    p_norm : float, optional
        1, 2 or inf: the distance for thinning.
    num_peaks : int or inf, optional
        Keep the first n.
    min_prominence : float, optional
        In frame units.
    saturation : float, optional
        value >= this is flagged PEAK_SATURATED.
    subpixel, prominence : bool, optional
        Compute y/x fits and prominence/area (cheaper when off).

    Returns
    -------
    ndarray
        Structured array of PEAK_DTYPE (row, col, y, x in taxels, value,
        prominence, area_taxels, flags), value descending, then raster index.

    Examples
    --------
    >>> import numpy as np, knotmap
    >>> frame = np.zeros((5, 7), np.float32)
    >>> frame[1, 2], frame[3, 5] = 5.0, 3.0
    >>> peaks = knotmap.find_peaks(frame)
    >>> peaks[["row", "col", "value"]].tolist()
    [(1, 2, 5.0), (3, 5, 3.0)]
    """
    p = _peak_params(min_distance, threshold_abs, threshold_rel, exclude_border, plateau,
                     p_norm, num_peaks, min_prominence, saturation, bool(subpixel),
                     bool(prominence))
    return _detect(frame, mask, p)


def _min_distance(v):
    if not isinstance(v, numbers.Integral) or isinstance(v, bool):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        else:
            raise invalid_type("min_distance must be an int, got %r" % (v,))
    if v < 1:
        raise invalid("min_distance must be >= 1 (knotmap has no 1x1 window), got %d" % v)
    return int(v)


def _exclude_border(v):
    if isinstance(v, (bool, np.bool_)):
        return -1 if v else 0
    if isinstance(v, tuple):
        if len(v) != 2:
            raise invalid("exclude_border=%r: a tuple must have 2 entries (rows, cols)" % (v,))
        if v[0] != v[1]:
            raise error_class(NotImplementedError)(
                lib.KM_ERR_UNSUPPORTED, "exclude_border=%r: find_peaks excludes one border "
                "width on rows and cols (knotmap.peak_local_max takes per-axis widths)" % (v,))
        v = v[0]
    if isinstance(v, numbers.Integral):
        if v < 0:
            raise invalid("exclude_border=%r cannot be a negative value" % (v,))
        return int(v)
    raise invalid_type("exclude_border=%r must be bool, int, or tuple of 2 ints" % (v,))


def _skimage_border(image_ndim, min_distance, exclude_border):
    """Border widths per axis, checked as scikit-image 0.19.3 checks them
    (the same exception types, the argument named)."""
    if isinstance(exclude_border, bool):
        return (min_distance if exclude_border else 0,) * image_ndim
    if isinstance(exclude_border, int):
        if exclude_border < 0:
            raise invalid("exclude_border=%r: `exclude_border` cannot be a negative value"
                          % (exclude_border,))
        return (exclude_border,) * image_ndim
    if isinstance(exclude_border, tuple):
        if len(exclude_border) != image_ndim:
            raise invalid("exclude_border=%r: `exclude_border` should have the same length as "
                          "the dimensionality of the image (%d)" % (exclude_border, image_ndim))
        for w in exclude_border:
            if not isinstance(w, int):
                raise invalid("exclude_border=%r: `exclude_border`, when expressed as a tuple, "
                              "must only contain ints." % (exclude_border,))
            if w < 0:
                raise invalid("exclude_border=%r: `exclude_border` can not be a negative value"
                              % (exclude_border,))
        return tuple(exclude_border)
    raise invalid_type("exclude_border=%r: `exclude_border` must be bool, int, or tuple with "
                       "the same length as the dimensionality of the image." % (exclude_border,))


class _IndicesDefault:
    """indices= not given (a call giving it warns, as scikit-image 0.19.3):
    true, and shown as True by help() and inspect.signature, as there."""

    def __bool__(self):
        return True

    def __repr__(self):
        return "True"


_NOT_GIVEN = _IndicesDefault()
_INDICES_WARNING = (
    "indices argument is deprecated and will be removed in version 0.20. To avoid this "
    "warning, please do not use the indices argument. Please see peak_local_max "
    "documentation for more details.")
_SKIMAGE = []


def _skimage_peak_local_max():
    """scikit-image's own peak_local_max (undecorated: knotmap handles the
    deprecated `indices` itself), or None when scikit-image is missing.
    Looked up once, so that a test patching skimage.feature.peak with this
    function still reaches the original."""
    if not _SKIMAGE:
        try:
            from skimage.feature import peak as sk_peak
            fn = sk_peak.peak_local_max
        except ImportError:
            fn = None
        if fn is peak_local_max:
            fn = None
        _SKIMAGE.append(getattr(fn, "__wrapped__", fn))
    return _SKIMAGE[0]


def _c_image(arr):
    """The image as float32 when C computes peak_local_max on it exactly
    as scikit-image does, else None: real values that float32 holds
    exactly, all finite and >= 0 (scikit-image takes the outside of the
    image as 0; knotmap ignores it, the same for non-negative images), in
    a dtype scipy.ndimage's maximum filter takes (integers, float32,
    float64: float16 and long double are refused there, so scikit-image
    raises RuntimeError, and so does the call handed to it)."""
    if arr.ndim != 2 or arr.size == 0 or not (
            arr.dtype.kind in "iu" or arr.dtype in (np.float32, np.float64)):
        return None
    img = arr if arr.dtype == np.float32 else arr.astype(np.float32)
    if img is not arr and not np.array_equal(img, arr):
        return None
    lo = img.min()
    if not (lo >= 0) or not np.isfinite(img.max()):
        return None
    return img


def peak_local_max(image: ArrayLike, min_distance: int = 1,
                   threshold_abs: Optional[float] = None,
                   threshold_rel: Optional[float] = None,
                   exclude_border: Union[bool, int, Tuple[int, ...]] = True,
                   indices: bool = _NOT_GIVEN,  # type: ignore[assignment]
                   num_peaks: float = np.inf, footprint: Optional[ArrayLike] = None,
                   labels: Optional[ArrayLike] = None, num_peaks_per_label: float = np.inf,
                   p_norm: float = np.inf) -> np.ndarray:
    """Find peaks in an image as a coordinate list: a drop-in for
    ``skimage.feature.peak_local_max`` (scikit-image 0.19.3) with a C fast
    path.

    Parameters
    ----------
    image : ndarray
        Input image (any number of dimensions).
    min_distance : int, optional
        The minimal allowed distance separating peaks; window radius.
        Default 1.
    threshold_abs : float or None, optional
        Minimum intensity of peaks [None = the image minimum].
    threshold_rel : float or None, optional
        Minimum intensity of peaks as ``max(image) * threshold_rel``.
    exclude_border : int, tuple of ints, or bool, optional
        Border width (per axis with a tuple) where no peak is reported;
        True = min_distance.  Default True.
    indices : bool, optional
        Deprecated (scikit-image 0.19, removed in 0.20; a FutureWarning as
        there): False returns a boolean peak mask of the image's shape.
    num_peaks : int, optional
        Maximum number of peaks (the highest).  Default inf.
    footprint : ndarray of bools, optional
        The neighbourhood of the maximum filter [a (2 * min_distance + 1)
        box].
    labels : ndarray of ints, optional
        Regions searched separately (0 = background).
    num_peaks_per_label : int, optional
        Maximum number of peaks per label.  Default inf.
    p_norm : float, optional
        Minkowski p-norm of the distance between peaks (1, 2, inf, ...).
        Default inf.

    Returns
    -------
    ndarray
        (N, image.ndim) intp coordinates, highest value first; with
        ``indices=False`` a boolean array shaped like the image.

    Notes
    -----
    knotmap's C detector runs when it computes the call exactly: a 2-D,
    non-empty image of integers, float32 or float64 (the dtypes
    scikit-image's maximum filter takes: float16 and long double raise
    RuntimeError there, and here) whose values float32 holds exactly, all
    finite and >= 0; no
    labels; the default box footprint; min_distance >= 1; one border width
    for both axes; p_norm 1, 2 or inf.  Its result then equals
    scikit-image's (same peaks, same order; where equal values tie, which
    one is kept and their order is arbitrary in scikit-image, and knotmap
    takes the first in raster order).  Every other call is handed to
    scikit-image's own function when it is installed (the result is then
    scikit-image's), else raises NotImplementedError naming what needs it.

    Examples
    --------
    >>> import numpy as np, knotmap
    >>> img = np.zeros((7, 7))
    >>> img[3, 3], img[1, 5] = 1.0, 0.5
    >>> knotmap.peak_local_max(img, min_distance=1)
    array([[3, 3],
           [1, 5]])
    >>> from skimage.feature import peak_local_max
    >>> np.array_equal(knotmap.peak_local_max(img), peak_local_max(img))
    True
    """
    if indices is not _NOT_GIVEN:
        warnings.warn(_INDICES_WARNING, FutureWarning, stacklevel=2)
    else:
        indices = True
    arr = np.asarray(image)
    border = _skimage_border(arr.ndim, min_distance, exclude_border)
    img = None
    if (labels is None and isinstance(min_distance, numbers.Integral) and min_distance >= 1
            and len(set(border)) <= 1 and _p_norm_or_none(p_norm) is not None
            and _finite_or_other(threshold_abs) and _finite_or_other(threshold_rel)
            and (num_peaks == np.inf or (isinstance(num_peaks, numbers.Real)
                                         and float(num_peaks).is_integer() and num_peaks >= 0))
            and (footprint is None or _is_box(footprint, min_distance, arr.ndim))):
        img = _c_image(arr)
    if img is not None:
        p = _peak_params(int(min_distance), threshold_abs, threshold_rel, int(border[0]), "all",
                         p_norm, num_peaks, 0.0, math.inf, False, False)
        peaks = _detect(img, None, p)
        # row and col are the first two int32 of each km_peak (checked at import)
        coords = peaks.view(np.int32).reshape(len(peaks), _PEAK_INT32S)[:, :2].astype(np.intp)
    else:
        sk = _skimage_peak_local_max()
        if sk is None:
            raise error_class(NotImplementedError)(
                lib.KM_ERR_UNSUPPORTED,
                "knotmap.peak_local_max computes 2-D, finite, non-negative images with the box "
                "footprint, min_distance >= 1, no labels and p_norm 1, 2 or inf itself; this "
                "call (shape %r, dtype %s, labels %s, footprint %s, min_distance=%r) needs "
                "scikit-image (Debian: python3-skimage)"
                % (arr.shape, arr.dtype, "given" if labels is not None else "None",
                   "given" if footprint is not None else "None", min_distance))
        coords = namesake_call(sk, image, min_distance=min_distance, threshold_abs=threshold_abs,
                               threshold_rel=threshold_rel, exclude_border=exclude_border,
                               num_peaks=num_peaks, footprint=footprint, labels=labels,
                               num_peaks_per_label=num_peaks_per_label, p_norm=p_norm)
    if indices:
        return coords
    out = np.zeros(arr.shape, dtype=bool)
    out[tuple(np.asarray(coords).T)] = True
    return out


def _finite_or_other(v):
    """Not a non-finite number: a NaN or infinite threshold means what
    scikit-image's comparisons make of it (NaN: no peak for threshold_abs,
    ignored for threshold_rel), so such calls are handed to it."""
    return not (isinstance(v, numbers.Real) and not math.isfinite(v))


def _p_norm_or_none(v):
    try:
        return _p_norm(v)
    except (ValueError, TypeError):
        return None


def _is_box(footprint, min_distance, ndim):
    fp = np.asarray(footprint)
    return fp.shape == (2 * int(min_distance) + 1,) * ndim and bool(np.all(fp))
