"""knotmap.peak_local_max against skimage.feature.peak_local_max (Debian
python3-skimage 0.19.3): random non-negative float32 frames from 1x1 to
256x256, min_distance 1-5, exclude_border True/False/int, threshold_abs,
threshold_rel, p_norm and num_peaks.

Tolerance: exact, as sets of coordinates.  With num_peaks, only frames whose
candidate values are all distinct are compared (scikit-image sorts with an
unstable argsort, so which of two equal peaks it keeps is arbitrary); there
the order must match too.
"""
import math

import numpy as np
import pytest
from scipy.ndimage import maximum_filter
from scipy.spatial import cKDTree
from skimage.feature import peak_local_max as sk_plm

import knotmap

SIZES = [(1, 1), (1, 7), (7, 1), (2, 2), (3, 3), (5, 8), (16, 16), (31, 17), (64, 64),
         (100, 37), (128, 128), (256, 256)]


def _frame(rng, shape, kind):
    if kind == "uniform":
        return (rng.random(shape, dtype=np.float32) * np.float32(50)).astype(np.float32)
    if kind == "levels":  # many ties and plateaus
        return rng.integers(0, 6, size=shape).astype(np.float32)
    from scipy.ndimage import gaussian_filter
    img = gaussian_filter(rng.random(shape), sigma=1.5, mode="nearest")
    return (img * 100).astype(np.float32)


def _cases(n):
    rng = np.random.default_rng(20240601)
    for case in range(n):
        shape = SIZES[case % len(SIZES)] if case < 2 * len(SIZES) else (
            int(rng.integers(1, 257)), int(rng.integers(1, 257)))
        if shape[0] * shape[1] > 40000 and case % 16:  # keep scikit-image's share short
            shape = (int(rng.integers(1, 120)), int(rng.integers(1, 120)))
        kind = ["uniform", "smooth", "levels"][case % 3]
        kw = {"min_distance": int(rng.integers(1, 6))}
        eb = int(rng.integers(0, 4))
        kw["exclude_border"] = [True, False, int(rng.integers(0, 7)), True][eb]
        if rng.random() < 0.3:
            kw["threshold_abs"] = float(rng.random() * 30)
        if rng.random() < 0.3:
            kw["threshold_rel"] = float(rng.random() * 0.8)
        kw["p_norm"] = [np.inf, 2.0, 1.0][int(rng.integers(0, 3))]
        if rng.random() < 0.25:
            kw["num_peaks"] = int(rng.integers(0, 12))
        yield case, np.ascontiguousarray(_frame(rng, shape, kind)), kind, kw


CASES = list(_cases(320))


def _ties_matter(img, kw):
    """True when equal values could make scikit-image's arbitrary order
    change its result: ties with thinning (min_distance > 1) or num_peaks."""
    if kw["min_distance"] == 1 and "num_peaks" not in kw:
        return False
    size = 2 * kw["min_distance"] + 1
    cand = img[img == maximum_filter(img, size=size, mode="constant")]
    return np.unique(cand).size != cand.size


def _spaced(coords, r, p):
    """No two coordinates closer than r in the p-norm.  A k-d tree, not a
    Python double loop: "levels" frames give thousands of plateau peaks
    (the double loop made this file take minutes).  Distances between
    integer points below r are at most r - 1/(2r), so r - 1e-6 is exact."""
    if len(coords) < 2:
        return True
    return not cKDTree(coords).query_pairs(r - 1e-6, p=p)


def _greedy_maximal(img, coords, kw):
    """Every returned peak is a candidate (above the threshold, the maximum
    of its clipped window, inside the border) and every candidate left out
    lies closer than r to a returned one: what any greedy thinning gives,
    whichever order it takes equal values in."""
    r = kw["min_distance"]
    t = img.min() if kw.get("threshold_abs") is None else kw["threshold_abs"]
    if kw.get("threshold_rel") is not None:
        t = max(t, kw["threshold_rel"] * img.max())
    eb = kw["exclude_border"]
    b = r if eb is True else (0 if eb is False else eb)
    cand = (img > np.float32(t)) & (img >= maximum_filter(img, size=2 * r + 1, mode="nearest"))
    inside = np.zeros_like(cand)
    inside[b:img.shape[0] - b, b:img.shape[1] - b] = True
    cand &= inside
    if not cand[tuple(coords.T)].all():
        return False
    if len(coords) == 0:
        return not cand.any()
    dist, _ = cKDTree(coords).query(np.argwhere(cand), p=kw["p_norm"])
    return bool((dist < r).all())


@pytest.mark.parametrize("case,img,kind,kw", CASES, ids=[str(c[0]) for c in CASES])
def test_same_coordinates_as_skimage(case, img, kind, kw):
    ours = knotmap.peak_local_max(img, **kw)
    ref = sk_plm(img, **kw)
    assert ours.ndim == 2 and ours.shape[1] == 2
    if _ties_matter(img, kw):
        # scikit-image's choice among equal peaks is arbitrary: check that
        # ours obey the spacing and are a maximal greedy choice of candidates.
        assert _spaced(ours, kw["min_distance"], kw["p_norm"])
        if "num_peaks" not in kw:
            assert _greedy_maximal(img, ours, kw), (case, kind, kw)
        return
    assert set(map(tuple, ours.tolist())) == set(map(tuple, ref.tolist())), (case, kind, kw)
    if "num_peaks" in kw:
        assert ours.tolist() == ref.tolist()


def test_many_cases_compared_exactly():
    exact = sum(1 for _, img, _, kw in CASES if not _ties_matter(img, kw))
    assert exact >= 200


def test_order_is_total_on_ties():
    img = np.zeros((5, 9), np.float32)
    img[2, 2] = img[2, 6] = img[0, 8] = 3
    out = knotmap.peak_local_max(img, min_distance=1, exclude_border=False)
    assert out.tolist() == [[0, 8], [2, 2], [2, 6]]
