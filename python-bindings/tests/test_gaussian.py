"""knotmap.gaussian_filter against scipy.ndimage.gaussian_filter (Debian
python3-scipy 1.10).  Tolerance: 1e-5 relative to the image range (float32
accumulation against scipy's float64)."""
import numpy as np
import pytest
from scipy import ndimage

import knotmap


@pytest.mark.parametrize("mode", ["nearest", "reflect", "mirror", "constant", "wrap"])
@pytest.mark.parametrize("sigma", [0.7, 1.5, (2.0, 0.8)])
def test_matches_scipy(mode, sigma):
    rng = np.random.default_rng(7)
    img = (rng.random((23, 31)) * 100).astype(np.float32)
    ours = knotmap.gaussian_filter(img, sigma, mode=mode, cval=5.0)
    ref = ndimage.gaussian_filter(img.astype(np.float64), sigma, mode=mode, cval=5.0)
    assert ours.dtype == np.float32 and ours.shape == img.shape
    np.testing.assert_allclose(ours, ref, atol=1e-5 * 100, rtol=0)


def test_truncate_and_default_mode():
    rng = np.random.default_rng(8)
    img = (rng.random((16, 16)) * 10).astype(np.float32)
    ours = knotmap.gaussian_filter(img, 2.0, truncate=2.0)
    # scipy's default mode, 'reflect'
    ref = ndimage.gaussian_filter(img.astype(np.float64), 2.0, mode="reflect", truncate=2.0)
    np.testing.assert_allclose(ours, ref, atol=1e-4)


def test_sigma_zero_is_identity_and_strided_input():
    rng = np.random.default_rng(9)
    big = (rng.random((20, 40)) * 10).astype(np.float32)
    view = big[:, 3:23]
    assert np.array_equal(knotmap.gaussian_filter(view, 0.0), view)
    np.testing.assert_allclose(knotmap.gaussian_filter(view, 1.0),
                               knotmap.gaussian_filter(np.ascontiguousarray(view), 1.0))


def test_stack_of_frames():
    rng = np.random.default_rng(10)
    stack = (rng.random((3, 12, 14)) * 10).astype(np.float32)
    out = knotmap.gaussian_filter(stack, (0, 1.0, 1.0))
    for t in range(3):
        np.testing.assert_array_equal(out[t], knotmap.gaussian_filter(stack[t], 1.0))
    # a scalar sigma smooths along every axis, T included, as scipy does
    np.testing.assert_allclose(knotmap.gaussian_filter(stack, 1.0),
                               ndimage.gaussian_filter(stack, 1.0), rtol=1e-6)


def test_mask_gives_nan_at_masked_taxels():
    img = np.ones((10, 10), np.float32)
    mask = np.ones((10, 10), bool)
    mask[4, 4] = False
    img[4, 4] = 1000.0        # masked: must not leak into its neighbours
    out = knotmap.gaussian_filter(img, 1.0, mask=mask)
    assert np.isnan(out[4, 4])
    np.testing.assert_allclose(out[mask], 1.0, atol=1e-5)


def test_bad_arguments():
    img = np.zeros((5, 5), np.float32)
    img[2, 2] = 1.0
    # a negative sigma skips its axis, as scipy's (a ValueError before session 39)
    np.testing.assert_array_equal(knotmap.gaussian_filter(img, -1.0), img)
    with pytest.raises(knotmap.Error) as e:
        knotmap.gaussian_filter(img, 1.0, mode="bogus")
    assert isinstance(e.value, RuntimeError)   # scipy's class
