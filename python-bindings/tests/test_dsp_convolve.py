"""km_convolve (FFT convolution through FFTW) against scipy.ndimage.convolve
and scipy.signal.fftconvolve.  Called through the raw cffi `lib`: the
package has no Python wrapper for it yet.

Tolerance: float32 FFT arithmetic against scipy's float64 direct sums:
|diff| <= 2e-5 * (sum |kernel|) * max |frame|, about 100 float32 ulps of the
output scale for these sizes."""
import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal as sig

from knotmap._core import check, ctx, ffi, lib

MODES = {"nearest": lib.KM_BORDER_NEAREST, "reflect": lib.KM_BORDER_REFLECT,
         "mirror": lib.KM_BORDER_MIRROR, "constant": lib.KM_BORDER_CONSTANT,
         "wrap": lib.KM_BORDER_WRAP}


def km_convolve(frame, kernel, mode, cval=0.0):
    frame = np.ascontiguousarray(frame, dtype=np.float32)
    kernel = np.ascontiguousarray(kernel, dtype=np.float32)
    c = ctx()
    cv = ffi.new("km_convolve **")
    check(c, lib.km_convolve_create(c, frame.shape[0], frame.shape[1],
                                    ffi.cast("const float *", kernel.ctypes.data),
                                    kernel.shape[0], kernel.shape[1], MODES[mode], cval, cv))
    try:
        out = np.empty_like(frame)
        fin = ffi.new("km_frame *", {"data": ffi.cast("const float *", frame.ctypes.data),
                                     "rows": frame.shape[0], "cols": frame.shape[1],
                                     "row_stride": frame.shape[1]})
        fout = ffi.new("km_frame_mut *", {"data": ffi.cast("float *", out.ctypes.data),
                                          "rows": out.shape[0], "cols": out.shape[1],
                                          "row_stride": out.shape[1]})
        check(c, lib.km_convolve_apply(c, cv[0], fin, fout))
    finally:
        lib.km_convolve_free(cv[0])
    return out


def tol(frame, kernel):
    return 2e-5 * float(np.abs(kernel).sum()) * float(np.abs(frame).max())


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("kshape", [(3, 3), (5, 4), (2, 7), (1, 1), (9, 9)])
def test_matches_ndimage_convolve(mode, kshape):
    rng = np.random.default_rng(hash((mode, kshape)) % 2**32)
    frame = rng.uniform(0, 100, size=(23, 17)).astype(np.float32)
    kernel = rng.normal(size=kshape).astype(np.float32)
    got = km_convolve(frame, kernel, mode, cval=3.5)
    ref = ndi.convolve(frame.astype(np.float64), kernel.astype(np.float64), mode=mode,
                       cval=3.5)
    np.testing.assert_allclose(got, ref, rtol=0, atol=tol(frame, kernel))


def test_kernel_larger_than_frame_reflects_repeatedly():
    rng = np.random.default_rng(7)
    frame = rng.uniform(0, 10, size=(4, 5)).astype(np.float32)
    kernel = rng.uniform(size=(11, 13)).astype(np.float32)
    for mode in MODES:
        got = km_convolve(frame, kernel, mode)
        ref = ndi.convolve(frame.astype(np.float64), kernel.astype(np.float64), mode=mode)
        np.testing.assert_allclose(got, ref, rtol=0, atol=tol(frame, kernel), err_msg=mode)


def test_matches_fftconvolve_same_with_zero_border():
    """Odd kernels, constant 0 border: scipy.signal.fftconvolve(mode='same')."""
    rng = np.random.default_rng(3)
    frame = rng.uniform(0, 50, size=(32, 32)).astype(np.float32)
    y, x = np.mgrid[-4:5, -4:5]
    kernel = (np.exp(-(x**2 + y**2) / 4.0) - 0.5 * np.exp(-(x**2 + y**2) / 16.0))
    got = km_convolve(frame, kernel, "constant")
    ref = sig.fftconvolve(frame.astype(np.float64), kernel, mode="same")
    np.testing.assert_allclose(got, ref, rtol=0, atol=tol(frame, kernel))


def test_bad_arguments():
    c = ctx()
    cv = ffi.new("km_convolve **")
    k = np.ones((3, 3), np.float32)
    k[1, 1] = np.nan
    assert lib.km_convolve_create(c, 8, 8, ffi.cast("const float *", k.ctypes.data), 3, 3,
                                  lib.KM_BORDER_NEAREST, 0.0, cv) == lib.KM_ERR_INVALID
    assert cv[0] == ffi.NULL
    lib.km_convolve_free(ffi.NULL)
