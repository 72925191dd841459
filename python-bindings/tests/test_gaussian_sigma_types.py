"""gaussian_filter's sigma types as scipy 1.10 takes them (session 25): a
sigma that is no number (None, a string, complex, Decimal) is a TypeError,
as scipy's; 0-d numpy arrays inside a sequence of sigmas are numbers, as
scipy takes them (before: ValueError for all of these).  A negative or NaN
sigma stays knotmap's ValueError (scipy smooths nothing then; see
python-bindings/README.md)."""
import decimal

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


@pytest.mark.parametrize("sigma", [-1.0, float("nan")])
def test_negative_or_nan_sigma_stays_a_value_error(sigma):
    with pytest.raises(ValueError):
        knotmap.gaussian_filter(IMG, sigma)


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
