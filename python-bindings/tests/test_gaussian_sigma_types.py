"""gaussian_filter's sigma types as scipy 1.10 takes them (session 25): a
sigma that is no number (None, a string, complex, Decimal) is a TypeError,
as scipy's; 0-d numpy arrays inside a sequence of sigmas are numbers, as
scipy takes them (before: ValueError for all of these).  A negative or NaN
sigma skips its axis as scipy's does (scipy filters only the axes whose sigma
is above 1e-15; before session 39 knotmap raised ValueError), and so do the
order, mode and radius of a skipped axis: every argument is checked as scipy
checks it, against scipy itself."""
import decimal
import itertools
import warnings

import numpy as np
import pytest
import scipy.ndimage as ndi

import knotmap

IMG = np.random.default_rng(5).random((12, 10)).astype(np.float32)


@pytest.mark.parametrize("sigma", [None, "1.5", 1 + 0j, decimal.Decimal("1.5"), (1.0, None)])
def test_sigma_of_the_wrong_type_is_a_type_error_like_scipy(sigma):
    with pytest.raises(TypeError):
        ndi.gaussian_filter(IMG, sigma)
    with pytest.raises(TypeError) as e:
        knotmap.gaussian_filter(IMG, sigma)
    assert isinstance(e.value, knotmap.Error)
    assert "sigma=" in str(e.value)


def test_zero_d_array_elements_are_numbers():
    sigma = [1.0, np.array(2.0)]
    got = knotmap.gaussian_filter(IMG, sigma)
    want = ndi.gaussian_filter(IMG, sigma)
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("sigma", [-1.0, float("nan"), (1.5, -1.0), (float("nan"), 2.0),
                                   (-np.inf, 1.0), 1e-16, (0.0, -0.0)])
def test_negative_or_nan_sigma_skips_its_axis_as_scipy(sigma):
    want = ndi.gaussian_filter(IMG, sigma)
    got = knotmap.gaussian_filter(IMG, sigma)
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    stack = np.stack([IMG, IMG[::-1]])
    s3 = (-1.0,) + (sigma if isinstance(sigma, tuple) else (sigma, sigma))
    np.testing.assert_allclose(knotmap.gaussian_filter(stack, s3), ndi.gaussian_filter(stack, s3),
                               rtol=1e-5, atol=1e-6)


def _outcome(fn, a, sigma, kw):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(a, sigma, **kw)
    except Exception as e:  # noqa: BLE001 - the exception is the outcome compared
        return e


ARRAYS = {"f32": IMG, "f64": IMG.astype(np.float64), "u8": (IMG * 200).astype(np.uint8),
          "3d": np.stack([IMG, IMG]), "1d": IMG[0], "empty": IMG[:0], "list": IMG[:3, :3].tolist()}
SIGMAS = [1.0, 0, -1.0, float("nan"), (1.0, -1.0), (float("nan"), 1.0), (1.0, 0), 1e-16,
          np.float32(1.5), True, (1, 2, 3), float("-inf"), float("inf")]
KWARGS = [{}, {"order": -1}, {"order": 1}, {"order": (0, -1)}, {"order": 1.5},
          {"mode": "bogus"}, {"mode": ("nearest", "bogus")}, {"mode": ("nearest", "reflect")},
          {"radius": -1}, {"radius": 0}, {"radius": (2, -1)}, {"radius": 1.5},
          {"truncate": 0}, {"truncate": -1}, {"truncate": float("nan")}, {"truncate": "a"},
          {"cval": float("nan"), "mode": "constant"}, {"output": np.float64}, {"output": "f4"},
          {"output": np.int8}]


def test_every_argument_is_checked_as_scipy_checks_it():
    """The same result (dtype, shape, values) or the same exception class as scipy
    1.10 over 1820 calls: negative, zero, NaN and infinite sigmas, per-axis orders,
    modes and radii on skipped and smoothed axes, bad truncates, output dtypes,
    1-D, 3-D, empty, integer and list inputs.  Before session 39, 676 differed
    (knotmap's ValueError where scipy skips an axis or checks nothing)."""
    differ = []
    for (name, a), sigma, kw in itertools.product(ARRAYS.items(), SIGMAS, KWARGS):
        want = _outcome(ndi.gaussian_filter, a, sigma, kw)
        got = _outcome(knotmap.gaussian_filter, a, sigma, kw)
        if isinstance(want, Exception):
            same = isinstance(got, type(want))
        else:
            same = (not isinstance(got, Exception) and got.dtype == want.dtype
                    and got.shape == want.shape
                    and np.allclose(got, want, rtol=1e-5, atol=1e-5, equal_nan=True))
        if not same:
            differ.append((name, sigma, kw, type(want).__name__, type(got).__name__))
    assert differ == [], differ[:10]


def test_a_kernel_the_c_filter_refuses_is_scipys():
    """Session 37: an infinite sigma was knotmap's ValueError ("gaussian: sigma_rows inf
    must be finite"), where scipy raises OverflowError; a sigma whose kernel radius
    exceeds the C filter's limit (1e6 taxels, truncate 4) was a ValueError too, where
    scipy smooths.  Both now go to scipy, as every call the C path does not compute."""
    for sigma in (np.inf, (1.0, np.inf)):
        with pytest.raises(OverflowError):
            ndi.gaussian_filter(IMG, sigma)
        with pytest.raises(OverflowError):
            knotmap.gaussian_filter(IMG, sigma)
    small = IMG[:4, :3]
    want = ndi.gaussian_filter(small, 1e6)
    got = knotmap.gaussian_filter(small, 1e6)
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_array_equal(got, want)
