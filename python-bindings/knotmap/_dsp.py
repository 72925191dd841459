"""Conditioning on numpy arrays: calibrate, gaussian_filter, frame_metrics."""
import math
import numbers

import numpy as np

from ._core import check, ctx, ffi, frame_view, lib, mask_view, out_frame

__all__ = ["calibrate", "gaussian_filter", "frame_metrics", "units_to_kpa"]


def units_to_kpa(units):
    """kPa per unit ("kPa" 1, "mmHg" 0.133322, "N/cm2" 10); NaN for "raw"."""
    return float(lib.km_units_to_kpa(str(units).encode()))


def _frames(name, a):
    """Iterate 2-D frames of a 2-D or 3-D array; the result shape."""
    arr = np.asarray(a)
    if arr.ndim == 2:
        return [arr], arr.shape
    if arr.ndim == 3:
        return list(arr), arr.shape
    raise ValueError("%s must be 2-D [R, C] or 3-D [T, R, C], got shape %r" % (name, arr.shape))


def calibrate(frames, offset=0.0, gain=1.0, noise_threshold=0.0):
    """Point-wise calibration (km_calibrate): gain * (frames - offset), then
    values below noise_threshold (in output units, 0 = off) become 0.

    frames: [R, C] or [T, R, C]; returns a new float32 array of that shape.
    """
    p = ffi.new("km_calib_params *")
    lib.km_calib_params_default(p)
    p.offset = float(offset)
    p.gain = float(gain)
    p.noise_threshold = float(noise_threshold)
    items, shape = _frames("frames", frames)
    out = np.empty(shape, dtype=np.float32)
    outs = [out] if out.ndim == 2 else list(out)
    c = ctx()
    for src, dst in zip(items, outs):
        fr, keep = frame_view("frames", src)
        check(c, lib.km_calibrate(c, p, fr, out_frame(dst)))
        del keep
    return out


def _sigma_pair(sigma):
    if isinstance(sigma, numbers.Number):
        s = (float(sigma), float(sigma))
    else:
        s = tuple(float(v) for v in sigma)
        if len(s) != 2:
            raise ValueError("sigma must be a scalar or (sigma_rows, sigma_cols)")
    if any(v < 0 or math.isnan(v) for v in s):
        raise ValueError("sigma must be >= 0, got %r" % (sigma,))
    return s


def gaussian_filter(image, sigma, mode="nearest", truncate=4.0, cval=0.0, mask=None):
    """Separable Gaussian smoothing with scipy.ndimage.gaussian_filter's
    kernel (radius int(truncate * sigma + 0.5)) and border modes.

    image: [R, C] or [T, R, C] (each frame filtered on its own).
    sigma: in taxels, scalar or (sigma_rows, sigma_cols); 0 = no smoothing
    along that axis.  mode: "nearest" (default here, scipy's is "reflect"),
    "reflect", "mirror", "constant", "wrap".  cval: outside value for
    "constant".  mask: optional [R, C] validity (True = valid): masked
    taxels do not contribute (normalised convolution) and come out NaN.
    Returns float32 of the input's shape.
    """
    sr, sc = _sigma_pair(sigma)
    items, shape = _frames("image", image)
    rows, cols = shape[-2:]
    c = ctx()
    p = ffi.new("km_gaussian_params *")
    lib.km_gaussian_params_default(p)
    p.sigma_rows, p.sigma_cols = sr, sc
    p.truncate = float(truncate)
    border = ffi.new("km_border *")
    check(c, lib.km_border_parse(str(mode).encode(), border))
    p.border = border[0]
    p.cval = float(cval)
    m, keep_mask = mask_view(mask, (rows, cols))
    out = np.empty(shape, dtype=np.float32)
    outs = [out] if out.ndim == 2 else list(out)
    g = ffi.new("km_gaussian **")
    check(c, lib.km_gaussian_create(c, rows, cols, p, g))
    try:
        for src, dst in zip(items, outs):
            fr, keep = frame_view("image", src)
            check(c, lib.km_gaussian_apply(c, g[0], fr, m, out_frame(dst)))
            del keep
    finally:
        lib.km_gaussian_free(g[0])
    del keep_mask
    return out


def frame_metrics(frame, mask=None, row_pitch_mm=1.0, col_pitch_mm=1.0, units="kPa",
                  contact_threshold=0.0, saturation=math.inf):
    """One row of the /metrics table for a frame (km_frame_metrics).

    units: the frame's units ("kPa", "mmHg", "N/cm2", "raw") for the force;
    or a number = kPa per unit.  contact_threshold: contact when value >
    this, in frame units [0].  saturation: in frame units [inf].
    Returns a dict: peak, mean, contact_area_mm2, force_n (NaN for raw),
    cop_x_mm, cop_y_mm, flags (KM_FRAME_* bits).
    """
    fr, keep = frame_view("frame", frame)
    m, keep_mask = mask_view(mask, keep.shape)
    to_kpa = float(units) if isinstance(units, numbers.Number) else units_to_kpa(units)
    out = ffi.new("km_metrics *")
    c = ctx()
    check(c, lib.km_frame_metrics(c, fr, m, float(row_pitch_mm), float(col_pitch_mm), to_kpa,
                                  float(contact_threshold), float(saturation), out))
    del keep, keep_mask
    return {
        "peak": out.peak, "mean": out.mean, "contact_area_mm2": out.contact_area_mm2,
        "force_n": out.force_n, "cop_x_mm": out.cop_x_mm, "cop_y_mm": out.cop_y_mm,
        "flags": int(out.flags),
    }
