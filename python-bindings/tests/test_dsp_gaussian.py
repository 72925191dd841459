"""knotmap.gaussian_filter against scipy.ndimage.gaussian_filter.

Reference: scipy (Debian python3-scipy 1.10), same sigma, truncate, mode and
cval, float32 input.  Tolerance: 1e-4 relative, everywhere (interior and
borders).  Values are drawn in [0.1, 1.1) so that a relative comparison is
meaningful (no cancellation to zero).
"""
import itertools

import numpy as np
import pytest
import scipy.ndimage as ndi

import knotmap

MODES = ["nearest", "reflect", "mirror", "constant", "wrap"]
SHAPES = [(1, 1), (1, 9), (9, 1), (2, 3), (3, 2), (5, 5), (17, 13), (64, 48), (128, 128)]
SIGMAS = [0.5, 1.0, 1.5, 3.0, 7.0, (0.0, 2.0), (2.5, 0.0), (1.2, 3.4)]
RTOL = 1e-4


def _frame(rng, shape):
    return (rng.random(shape) + 0.1).astype(np.float32)


def _ref(x, sigma, mode, truncate, cval):
    return ndi.gaussian_filter(x, sigma, mode=mode, truncate=truncate, cval=cval)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "%dx%d" % s)
def test_matches_scipy(mode, shape):
    rng = np.random.default_rng(sum(shape) * 7 + MODES.index(mode))
    for sigma, truncate in itertools.product(SIGMAS, (4.0, 2.0)):
        x = _frame(rng, shape)
        got = knotmap.gaussian_filter(x, sigma, mode=mode, truncate=truncate, cval=0.37)
        want = _ref(x, sigma, mode, truncate, 0.37)
        assert got.dtype == np.float32 and got.shape == x.shape
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=0,
                                   err_msg="sigma=%r truncate=%r" % (sigma, truncate))


@pytest.mark.parametrize("mode", MODES)
def test_borders_with_kernel_wider_than_frame(mode):
    # radius 28 on a 3x4 frame: the extension must keep reflecting/wrapping.
    rng = np.random.default_rng(3)
    x = _frame(rng, (3, 4))
    got = knotmap.gaussian_filter(x, 7.0, mode=mode, cval=-0.5)
    want = _ref(x, 7.0, mode, 4.0, -0.5)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=0)


def test_random_frames_every_mode():
    rng = np.random.default_rng(2024)
    for _ in range(60):
        shape = tuple(int(v) for v in rng.integers(1, 40, size=2))
        sigma = tuple(float(v) for v in rng.uniform(0.0, 4.0, size=2))
        truncate = float(rng.uniform(1.0, 5.0))
        mode = MODES[int(rng.integers(0, 5))]
        x = _frame(rng, shape)
        got = knotmap.gaussian_filter(x, sigma, mode=mode, truncate=truncate, cval=0.2)
        want = _ref(x, sigma, mode, truncate, 0.2)
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=0,
                                   err_msg="%r %r %r %r" % (shape, sigma, truncate, mode))


def test_non_contiguous_input():
    rng = np.random.default_rng(5)
    big = _frame(rng, (40, 60))
    x = big[3:30:2, 5:50]  # row stride 120 elements, not contiguous
    got = knotmap.gaussian_filter(x, 1.5, mode="reflect")
    want = _ref(np.ascontiguousarray(x), 1.5, "reflect", 4.0, 0.0)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=0)


def test_nan_propagates_like_scipy():
    x = np.ones((15, 15), np.float32)
    x[7, 7] = np.nan
    got = knotmap.gaussian_filter(x, 1.0)
    want = _ref(x, 1.0, "nearest", 4.0, 0.0)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(want)], want[~np.isnan(want)], rtol=RTOL)


def test_mask_normalised_convolution():
    # scipy has no masked Gaussian: the reference is the normalised
    # convolution built from two scipy filters.
    rng = np.random.default_rng(9)
    x = _frame(rng, (30, 25))
    mask = rng.random(x.shape) > 0.2
    x_bad = x.copy()
    x_bad[~mask] = 1e6  # garbage under the mask must not leak
    got = knotmap.gaussian_filter(x_bad, 1.5, mode="reflect", mask=mask)
    num = ndi.gaussian_filter(np.where(mask, x, 0).astype(np.float64), 1.5, mode="reflect")
    den = ndi.gaussian_filter(mask.astype(np.float64), 1.5, mode="reflect")
    want = np.where(mask, num / den, np.nan)
    np.testing.assert_array_equal(np.isnan(got), ~mask)
    np.testing.assert_allclose(got[mask], want[mask], rtol=RTOL)


def test_stack_of_frames():
    rng = np.random.default_rng(11)
    x = _frame(rng, (4, 20, 21))
    # per frame: no smoothing along T (sigma 0 there), as scipy with (0, s, s)
    got = knotmap.gaussian_filter(x, (0, 2.0, 2.0), mode="mirror")
    np.testing.assert_allclose(got, _ref(x, (0, 2.0, 2.0), "mirror", 4.0, 0.0), rtol=RTOL)
    for t in range(4):
        np.testing.assert_allclose(got[t], _ref(x[t], 2.0, "mirror", 4.0, 0.0), rtol=RTOL)


def test_bad_arguments_raise():
    x = np.ones((4, 4), np.float32)
    with pytest.raises((ValueError, knotmap.Error)):
        knotmap.gaussian_filter(x, 1.0, mode="grid-bogus")
    # a negative or NaN sigma skips its axis, as scipy's (session 39):
    # test_gaussian_sigma_types.py compares them with scipy


def test_units_and_calibrate():
    assert knotmap.units_to_kpa("kPa") == 1.0
    assert knotmap.units_to_kpa("MMHG") == pytest.approx(0.133322387415, rel=1e-12)
    assert knotmap.units_to_kpa("N/cm2") == 10.0
    assert np.isnan(knotmap.units_to_kpa("raw"))
    x = np.array([[10, 11, 12], [14, np.nan, 5]], np.float32)
    got = knotmap.calibrate(x, offset=10, gain=2.5, noise_threshold=3.0)
    want = np.array([[0, 0, 5], [10, np.nan, 0]], np.float32)
    np.testing.assert_array_equal(got, want)


def _recursive(x, sigma, mode):
    """km_gaussian with recursive = 1 (the Python wrapper does not expose
    it yet): through the package's cffi module."""
    from knotmap._core import check, ctx, ffi, lib
    x = np.ascontiguousarray(x, np.float32)
    out = np.empty_like(x)
    p = ffi.new("km_gaussian_params *")
    lib.km_gaussian_params_default(p)
    p.sigma_rows = p.sigma_cols = sigma
    p.recursive = 1
    b = ffi.new("km_border *")
    check(ctx(), lib.km_border_parse(mode.encode(), b))
    p.border = b[0]
    g = ffi.new("km_gaussian **")
    check(ctx(), lib.km_gaussian_create(ctx(), x.shape[0], x.shape[1], p, g))
    try:
        fi = ffi.new("km_frame *", [ffi.from_buffer("float[]", x), x.shape[0], x.shape[1],
                                    x.shape[1]])
        fo = ffi.new("km_frame_mut *", [ffi.from_buffer("float[]", out), x.shape[0],
                                        x.shape[1], x.shape[1]])
        check(ctx(), lib.km_gaussian_apply(ctx(), g[0], fi, ffi.NULL, fo))
    finally:
        lib.km_gaussian_free(g[0])
    return out


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sigma", [5.0, 8.0, 16.0])
def test_recursive_close_to_scipy_on_pressure_like_frames(mode, sigma):
    # Young-van Vliet is an approximation: on smooth frames (a contact
    # plateau with blobs, like pressure maps) it stays within 2.5 % of the
    # frame maximum of scipy's exact filter for sigma >= 5.
    yy, xx = np.mgrid[0:120, 0:100]
    x = np.full((120, 100), 20.0)
    for cy, cx, s, a in ((30, 30, 4, 50), (80, 60, 6, 40), (60, 20, 3, 30)):
        x += a * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2.0 * s * s))
    x = x.astype(np.float32)
    got = _recursive(x, sigma, mode)
    want = _ref(x, sigma, mode, 4.0, 0.0)
    assert np.abs(got - want).max() <= 0.025 * want.max()
