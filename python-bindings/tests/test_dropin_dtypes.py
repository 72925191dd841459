"""The drop-ins against their namesakes, called directly, over the inputs a user may
hand them: every numpy dtype (float16, bool, int8 ... uint64, complex, object, long
double), 0-d, 1-d, 3-d, empty and NaN/inf-holding arrays, and lists.  Same exception
type, or the same output dtype, shape and values.  Before: peak_local_max took float16
(scikit-image raises RuntimeError: scipy's maximum filter refuses it) and
gaussian_filter raised ValueError on an empty float32 image (scipy returns it)."""
import warnings

import numpy as np
import pytest
import scipy.ndimage as ndi
from skimage.feature import peak_local_max as sk_plm

import knotmap

DTYPES = ["float16", "float32", "float64", "longdouble", "bool", "int8", "uint8", "int16",
          "uint16", "int32", "uint32", "int64", "uint64", "complex64", "complex128", "object"]


def _inputs():
    rng = np.random.default_rng(0)
    base = rng.random((12, 12)) * 100
    cases = {dt: (base > 50 if dt == "bool" else base.astype(dt)) for dt in DTYPES}
    nan = base.copy()
    nan[3, 3] = np.nan
    cases.update({
        "0d": np.ones(()), "1d": rng.random(10), "3d": rng.random((5, 6, 7)),
        "3d_float32": rng.random((5, 6, 7)).astype(np.float32),
        "empty": np.zeros((0, 5)), "empty_float32": np.zeros((0, 5), np.float32),
        "empty_uint8": np.zeros((4, 0), np.uint8), "nan": nan,
        "nan_float32": nan.astype(np.float32),
        "inf_float32": np.where(base > 90, np.inf, base).astype(np.float32),
        "negative": base - 50, "list": base.tolist(),
    })
    return cases


CASES = _inputs()


def _call(fn, *args, **kw):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kw), None
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return None, e


def _same(want, got):
    (a, ea), (b, eb) = want, got
    if ea is not None or eb is not None:
        assert ea is not None and eb is not None, (ea, eb)
        assert isinstance(eb, type(ea)), (type(ea), type(eb), eb)
        return
    a, b = np.asarray(a), np.asarray(b)
    assert (b.dtype, b.shape) == (a.dtype, a.shape)
    if a.dtype.kind in "fc":
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-4, equal_nan=True)
    else:
        np.testing.assert_array_equal(np.sort(b, axis=0) if b.ndim == 2 else b,
                                      np.sort(a, axis=0) if a.ndim == 2 else a)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("kw", [dict(min_distance=1), dict(min_distance=2, threshold_abs=10),
                                dict(min_distance=1, exclude_border=False, num_peaks=3)],
                         ids=["md1", "md2_abs10", "noborder_n3"])
def test_peak_local_max_as_skimage(case, kw):
    _same(_call(sk_plm, CASES[case], **kw), _call(knotmap.peak_local_max, CASES[case], **kw))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("kw", [dict(), dict(mode="constant"), dict(output=np.float32),
                                dict(mode="nearest", truncate=2.0)],
                         ids=["reflect", "constant", "out_f32", "nearest_t2"])
def test_gaussian_filter_as_scipy(case, kw):
    _same(_call(ndi.gaussian_filter, CASES[case], 1.5, **kw),
          _call(knotmap.gaussian_filter, CASES[case], 1.5, **kw))
