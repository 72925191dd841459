"""knotmap.peak_local_max and knotmap.gaussian_filter as drop-ins for
scikit-image 0.19.3's and scipy 1.10's (Debian): their defaults, argument
checks and output dtypes; calls the C path does not compute are handed to
the namesake (equal results), or, without it, refused with a clear error.
The namesakes' own suites run in python-bindings/tests/namesake/run.py."""
import warnings

import numpy as np
import pytest
import scipy.ndimage as ndi
from skimage.feature import peak_local_max as sk_plm

import knotmap
from knotmap import _dsp, _peaks


def _frame(seed=0, shape=(40, 30)):
    return np.random.default_rng(seed).random(shape) * 100


def test_gaussian_defaults_dtype_and_mode_as_scipy():
    x = _frame()
    got = knotmap.gaussian_filter(x, 1.0)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, ndi.gaussian_filter(x, 1.0))  # mode 'reflect'
    x32 = x.astype(np.float32)
    got32 = knotmap.gaussian_filter(x32, 1.5)
    assert got32.dtype == np.float32
    # the C path: scipy's float32 result within a few float32 ulps
    np.testing.assert_allclose(got32, ndi.gaussian_filter(x32, 1.5), rtol=1e-6, atol=0)


@pytest.mark.parametrize("kw", [dict(order=1), dict(order=(0, 2)), dict(radius=3),
                                dict(radius=(2, 5)), dict(mode=("wrap", "nearest")),
                                dict(mode="grid-wrap"), dict(output=np.float64),
                                dict(truncate=0.0)])
def test_gaussian_scipy_arguments(kw):
    x = _frame(1).astype(np.float32)
    np.testing.assert_allclose(knotmap.gaussian_filter(x, 1.2, **kw),
                               ndi.gaussian_filter(x, 1.2, **kw), rtol=1e-6, atol=1e-5)


def test_gaussian_output_array_and_nd():
    x = _frame(2).astype(np.float32)
    out = np.empty_like(x)
    assert knotmap.gaussian_filter(x, 1.0, output=out) is out
    np.testing.assert_allclose(out, ndi.gaussian_filter(x, 1.0), rtol=1e-6)
    vol = np.random.default_rng(3).random((5, 6, 7, 4))
    np.testing.assert_array_equal(knotmap.gaussian_filter(vol, 0.8),
                                  ndi.gaussian_filter(vol, 0.8))
    with pytest.raises(RuntimeError):
        knotmap.gaussian_filter(x, (1.0, 1.0, 1.0))   # scipy: sequence length != rank
    with pytest.raises(ValueError):
        knotmap.gaussian_filter(x, 1.0, radius=-1)


def test_gaussian_without_scipy_float32_runs_in_c_and_other_calls_are_refused(monkeypatch):
    monkeypatch.setattr(_dsp, "_scipy_gaussian", lambda: None)
    x = _frame(4)
    got = knotmap.gaussian_filter(x, 1.0)   # float64: the C path in float32 precision
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, ndi.gaussian_filter(x, 1.0), rtol=1e-5)
    with pytest.raises(NotImplementedError) as info:
        knotmap.gaussian_filter(x, 1.0, order=1)
    assert isinstance(info.value, knotmap.Error) and "scipy" in str(info.value)


def _same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)


def test_peak_local_max_every_argument_of_skimage():
    img = _frame(5)
    labels = np.zeros(img.shape, int)
    labels[:20] = 1
    labels[20:] = 2
    cases = [dict(), dict(min_distance=3), dict(min_distance=0), dict(threshold_rel=0.5),
             dict(threshold_abs=50), dict(exclude_border=(1, 4)), dict(exclude_border=0),
             dict(num_peaks=3), dict(labels=labels), dict(labels=labels, num_peaks_per_label=2),
             dict(footprint=np.eye(5, dtype=bool)), dict(p_norm=2, min_distance=3),
             dict(p_norm=1.5, min_distance=3)]
    for kw in cases:
        _same(knotmap.peak_local_max(img, **kw), sk_plm(img, **kw))
    vol = np.random.default_rng(6).random((12, 10, 8))
    _same(knotmap.peak_local_max(vol, min_distance=2), sk_plm(vol, min_distance=2))
    neg = img - 50   # the outside counts as 0 in scikit-image: handed over
    _same(knotmap.peak_local_max(neg), sk_plm(neg))


def test_peak_local_max_indices_deprecated_as_in_skimage():
    img = _frame(7)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        mask = knotmap.peak_local_max(img, indices=False)
    assert any(issubclass(x.category, FutureWarning) and "indices argument is deprecated"
               in str(x.message) for x in w)
    assert mask.dtype == bool and mask.shape == img.shape
    assert set(zip(*np.nonzero(mask))) == set(map(tuple, sk_plm(img)))


def test_peak_local_max_argument_checks_as_skimage():
    img = _frame(8)
    for bad, exc in (((1,), ValueError), (1.0, TypeError), ((1, "a"), ValueError),
                     ((1, -1), ValueError), (-1, ValueError)):
        with pytest.raises(exc):
            sk_plm(img, exclude_border=bad)
        with pytest.raises(exc) as info:
            knotmap.peak_local_max(img, exclude_border=bad)
        assert isinstance(info.value, knotmap.Error)
        assert "exclude_border" in str(info.value)


def test_peak_local_max_without_skimage(monkeypatch):
    monkeypatch.setattr(_peaks, "_SKIMAGE", [None])
    img = _frame(9).astype(np.float32)
    _same(knotmap.peak_local_max(img, min_distance=2), sk_plm(img, min_distance=2))
    with pytest.raises(NotImplementedError) as info:
        knotmap.peak_local_max(img, labels=np.ones(img.shape, int))
    assert isinstance(info.value, knotmap.Error) and "scikit-image" in str(info.value)
