"""Peak detection: find_peaks (all per-peak fields) and peak_local_max
(drop-in for scikit-image's)."""
import math
import numbers
import threading

import numpy as np

from ._core import ctx, ffi, frame_view, lib, mask_view, raise_error

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

_PLATEAU = {"all": lib.KM_PLATEAU_ALL, "one": lib.KM_PLATEAU_ONE}


def _int_or_inf(name, v):
    if v is None or (isinstance(v, float) and math.isinf(v) and v > 0):
        return -1
    if isinstance(v, numbers.Integral) or (isinstance(v, float) and v.is_integer()):
        if v < 0:
            raise ValueError("%s must be >= 0 or inf, got %r" % (name, v))
        return int(v)
    raise TypeError("%s must be an int or inf, got %r" % (name, v))


def _p_norm(v):
    v = float(v)
    if not (v == 1.0 or v == 2.0 or math.isinf(v)):
        raise ValueError("p_norm must be 1, 2 or inf, got %r" % v)
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
    p.threshold_abs = math.nan if threshold_abs is None else float(threshold_abs)
    p.threshold_rel = 0.0 if threshold_rel is None else float(threshold_rel)
    p.exclude_border = _exclude_border(exclude_border)
    try:
        p.plateau = _PLATEAU[plateau]
    except (KeyError, TypeError):
        raise ValueError("plateau must be 'all' or 'one', got %r" % (plateau,)) from None
    p.p_norm = _p_norm(p_norm)
    p.num_peaks = _int_or_inf("num_peaks", num_peaks)
    p.min_prominence = float(min_prominence)
    p.saturation = float(saturation)
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


def find_peaks(frame, mask=None, min_distance=1, threshold_abs=None, threshold_rel=None,
               exclude_border=True, plateau="all", p_norm=math.inf, num_peaks=math.inf,
               min_prominence=0.0, saturation=math.inf, subpixel=True, prominence=True):
    """Peaks of one 2-D frame with every per-peak field (DESIGN section 7).

    frame: 2-D array (float32 used as is, zero-copy also for row-strided
    views; other dtypes converted once).  mask: optional 2-D bool/uint8,
    true = valid taxel (invalid, NaN and inf taxels are never peaks).
    min_distance: window radius r >= 1 in taxels [1].  threshold_abs: peaks
    have value > T, in frame units [None = minimum of valid taxels].
    threshold_rel: T = max(threshold_abs, threshold_rel * max) [None = 0].
    exclude_border: True = min_distance, False = 0, or an int in taxels.
    plateau: "all" (every plateau taxel, scikit-image) or "one" (one per
    plateau, at its centroid).  p_norm: 1, 2 or inf for thinning distance.
    num_peaks: keep the first n [inf].  min_prominence: in frame units [0].
    saturation: value >= this is flagged SATURATED [inf].  subpixel,
    prominence: compute y/x fits and prominence/area (cheaper when off).

    Returns a structured array of PEAK_DTYPE (row, col, y, x in taxels,
    value, prominence, area_taxels, flags) sorted by value descending, then
    raster index.  Raises knotmap.Error on C failures.
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
            raise TypeError("min_distance must be an int, got %r" % (v,))
    if v < 1:
        raise ValueError("min_distance must be >= 1 (knotmap has no 1x1 window), got %d" % v)
    return int(v)


def _exclude_border(v):
    if isinstance(v, (bool, np.bool_)):
        return -1 if v else 0
    if isinstance(v, tuple):
        if len(v) != 2:
            raise ValueError("exclude_border as a tuple must have 2 entries (rows, cols)")
        if v[0] != v[1]:
            raise NotImplementedError(
                "knotmap excludes the same border width on rows and cols; got %r" % (v,))
        v = v[0]
    if isinstance(v, numbers.Integral):
        if v < 0:
            raise ValueError("`exclude_border` cannot be a negative value")
        return int(v)
    raise TypeError("exclude_border must be bool, int, or tuple of 2 ints, got %r" % (v,))


def peak_local_max(image, min_distance=1, threshold_abs=None, threshold_rel=None,
                   exclude_border=True, num_peaks=np.inf, footprint=None, labels=None,
                   num_peaks_per_label=np.inf, p_norm=np.inf):
    """Drop-in for ``skimage.feature.peak_local_max`` on 2-D images.

    Same arguments and result: an (N, 2) intp array of (row, col), highest
    value first (ties in raster order, where scikit-image's order is
    arbitrary).  Equal to scikit-image 0.19.3 as a set of coordinates on
    finite, non-negative images; docs/ALGORITHMS.md lists where knotmap
    deliberately differs (NaN taxels are skipped instead of emptying the
    result, the outside of the image is ignored instead of taken as 0).

    Not supported: min_distance < 1, a footprint other than the full
    (2*min_distance+1)^2 square, labels (NotImplementedError).
    """
    if labels is not None:
        raise NotImplementedError("knotmap.peak_local_max does not support labels; "
                                  "use knotmap.find_peaks with a mask per region")
    if footprint is not None:
        fp = np.asarray(footprint)
        size = 2 * int(min_distance) + 1
        if fp.shape != (size, size) or not np.all(fp):
            raise NotImplementedError(
                "knotmap.peak_local_max supports only the full square footprint "
                "of side 2*min_distance+1; use min_distance instead")
    del num_peaks_per_label  # meaningful only with labels
    p = _peak_params(min_distance, threshold_abs, threshold_rel, exclude_border, "all",
                     p_norm, num_peaks, 0.0, math.inf, False, False)
    peaks = _detect(image, None, p)
    # row and col are the first two int32 of each km_peak (checked at import)
    return peaks.view(np.int32).reshape(len(peaks), _PEAK_INT32S)[:, :2].astype(np.intp)
