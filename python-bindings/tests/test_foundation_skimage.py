"""knotmap.peak_local_max against scikit-image's (Debian python3-skimage
0.19.3) on a few hundred random finite non-negative float32 frames.

Reference: skimage.feature.peak_local_max.  Tolerance: exact, as a set of
coordinates; on frames without ties also in the same order (scikit-image's
tie order is arbitrary, so frames with ties compare as sets, and only with
min_distance=1 where thinning never depends on the order).
"""
import math

import numpy as np
import pytest
from skimage.feature import peak_local_max as sk_peak_local_max

import knotmap

N_CASES = 320


def _frame(rng, kind, shape):
    if kind == "uniform":
        return rng.random(shape, dtype=np.float32) * np.float32(100)
    if kind == "ints":
        return rng.integers(0, 5, size=shape).astype(np.float32)
    # blobs: a few Gaussian bumps over a noisy floor, like a pressure map
    rows, cols = shape
    yy, xx = np.mgrid[0:rows, 0:cols]
    img = rng.random(shape) * 2.0
    for _ in range(int(rng.integers(1, 6))):
        cy, cx = rng.random() * rows, rng.random() * cols
        s = 0.8 + rng.random() * 3.0
        img += (20 + 60 * rng.random()) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
    return img.astype(np.float32)


def _case(i):
    rng = np.random.default_rng(1000 + i)
    kind = ("uniform", "ints", "blobs")[i % 3]
    shape = (int(rng.integers(3, 41)), int(rng.integers(3, 41)))
    img = _frame(rng, kind, shape)
    ties = np.unique(img).size != img.size
    md = 1 if ties else int(rng.choice([1, 2, 3, 5]))
    kw = {"min_distance": md}
    kw["exclude_border"] = [True, False, 0, 1, 2, 3][int(rng.integers(0, 6))]
    vmax = float(img.max())
    kw["threshold_abs"] = [None, None, 0.0, 0.25 * vmax, 0.6 * vmax][int(rng.integers(0, 5))]
    kw["threshold_rel"] = [None, None, 0.1, 0.5, 0.9][int(rng.integers(0, 5))]
    if not ties and rng.random() < 0.3:
        kw["num_peaks"] = int(rng.integers(1, 8))
    if not ties and md > 1 and rng.random() < 0.3:
        kw["p_norm"] = float(rng.choice([1.0, 2.0]))
    return img, ties, kw


@pytest.mark.parametrize("i", range(N_CASES))
def test_peak_local_max_equals_skimage(i):
    img, ties, kw = _case(i)
    ours = knotmap.peak_local_max(img, **kw)
    theirs = sk_peak_local_max(img, **kw)
    assert ours.dtype == np.intp
    assert ours.ndim == 2 and ours.shape[1] == 2
    assert set(map(tuple, ours.tolist())) == set(map(tuple, theirs.tolist())), kw
    values = img[ours[:, 0], ours[:, 1]]
    assert np.all(np.diff(values) <= 0), "not sorted by value descending"
    if not ties:
        assert np.array_equal(ours, theirs), kw


def test_cases_cover_the_interesting_ground():
    """The random cases above must actually exercise peaks, plateaus and
    every argument (a suite that only ever compares empty sets proves
    nothing)."""
    n_nonempty = n_ties = n_md = n_num = 0
    for i in range(N_CASES):
        img, ties, kw = _case(i)
        n_nonempty += len(sk_peak_local_max(img, **kw)) > 0
        n_ties += ties
        n_md += kw["min_distance"] > 1
        n_num += "num_peaks" in kw
    assert n_nonempty > 0.8 * N_CASES
    assert n_ties > 50 and n_md > 50 and n_num > 20


def test_constant_frame_has_no_peaks():
    img = np.full((10, 12), 3.0, np.float32)
    assert knotmap.peak_local_max(img).shape == (0, 2)
    assert sk_peak_local_max(img).shape == (0, 2)


def test_argument_mapping_defaults():
    """exclude_border True = min_distance, False = 0; num_peaks=inf = all."""
    img = np.zeros((9, 9), np.float32)
    img[1, 1] = 5.0
    img[4, 4] = 4.0
    assert knotmap.peak_local_max(img, min_distance=1).tolist() == [[1, 1], [4, 4]]
    assert knotmap.peak_local_max(img, min_distance=2).tolist() == [[4, 4]]
    assert knotmap.peak_local_max(img, min_distance=2, exclude_border=False).tolist() \
        == [[1, 1], [4, 4]]
    assert knotmap.peak_local_max(img, num_peaks=1).tolist() == [[1, 1]]
    assert knotmap.peak_local_max(img, num_peaks=math.inf).tolist() == [[1, 1], [4, 4]]
    assert knotmap.peak_local_max(img, threshold_abs=4.0).tolist() == [[1, 1]]
    assert knotmap.peak_local_max(img, threshold_rel=0.9).tolist() == [[1, 1]]
    full = np.ones((5, 5), bool)
    assert knotmap.peak_local_max(img, min_distance=2, footprint=full).tolist() == [[4, 4]]
