"""Properties of knotmap's peak detection that hold by definition:
invariance under adding a constant (threshold shifted too), flips and
transposes (coordinates mapped), strictly increasing transforms of the
values; prominence against skimage.morphology.local_maxima (the regional
maxima are exactly the peaks with positive prominence)."""
import numpy as np
import pytest
from skimage.morphology import local_maxima

import knotmap
from knotmap._defaults import DETECTOR_DEFAULTS

# These tests check the detector itself, with its own defaults
# (km_peak_params_default), not the pipeline's that find_peaks takes.
def find_peaks(frame, **kw):
    return knotmap.find_peaks(frame, **dict(DETECTOR_DEFAULTS, **kw))



def _frames(n, seed):
    rng = np.random.default_rng(seed)
    for k in range(n):
        shape = (int(rng.integers(1, 40)), int(rng.integers(1, 40)))
        if k % 2:
            img = rng.integers(0, 7, size=shape).astype(np.float32)
        else:
            img = (rng.random(shape, dtype=np.float32) * 10).astype(np.float32)
        yield k, img, int(rng.integers(1, 4)), bool(k % 3)


def _set(pk):
    return set(zip(pk["row"].tolist(), pk["col"].tolist()))


@pytest.mark.parametrize("k,img,r,eb", list(_frames(60, 1)))
def test_add_constant_with_threshold(k, img, r, eb):
    t = float(np.median(img))
    a = find_peaks(img, min_distance=r, exclude_border=eb, threshold_abs=t)
    # Integers-valued shifts keep float32 sums exact.
    b = find_peaks(img + np.float32(64), min_distance=r, exclude_border=eb,
                           threshold_abs=t + 64)
    assert a["row"].tolist() == b["row"].tolist() and a["col"].tolist() == b["col"].tolist()
    c = find_peaks(img - np.float32(64), min_distance=r, exclude_border=eb)
    d = find_peaks(img, min_distance=r, exclude_border=eb)
    assert _set(c) == _set(d)  # negative data: no zero padding


@pytest.mark.parametrize("k,img,r,eb", list(_frames(60, 2)))
def test_flips_and_transpose(k, img, r, eb):
    rows, cols = img.shape
    base = _set(find_peaks(img, min_distance=1, exclude_border=eb))
    ud = _set(find_peaks(np.ascontiguousarray(img[::-1]), min_distance=1, exclude_border=eb))
    lr = _set(find_peaks(np.ascontiguousarray(img[:, ::-1]), min_distance=1, exclude_border=eb))
    tr = _set(find_peaks(np.ascontiguousarray(img.T), min_distance=1, exclude_border=eb))
    # r = 1: no thinning, so the set does not depend on the tie order.
    assert ud == {(rows - 1 - y, x) for y, x in base}
    assert lr == {(y, cols - 1 - x) for y, x in base}
    assert tr == {(x, y) for y, x in base}


@pytest.mark.parametrize("k,img,r,eb", list(_frames(60, 3)))
def test_monotone_transform(k, img, r, eb):
    a = find_peaks(img, min_distance=r, exclude_border=eb, plateau="one")
    f = (np.exp(img.astype(np.float64) / 3.0) * 2 + 1).astype(np.float32)
    if np.unique(f).size != np.unique(img).size:
        pytest.skip("transform not injective in float32")
    b = find_peaks(f, min_distance=r, exclude_border=eb, plateau="one")
    assert a["row"].tolist() == b["row"].tolist() and a["col"].tolist() == b["col"].tolist()


@pytest.mark.parametrize("k,img,r,eb", list(_frames(80, 4)))
def test_positive_prominence_counts_regional_maxima(k, img, r, eb):
    if img.min() == img.max():
        pytest.skip("constant frame: no peaks by definition")
    pk = find_peaks(img, min_distance=1, exclude_border=False, plateau="one",
                            threshold_abs=-np.inf)
    regional = local_maxima(img, connectivity=2, allow_borders=True, indices=False)
    from scipy.ndimage import label
    _, n_regional = label(regional, structure=np.ones((3, 3)))
    assert int(np.sum(pk["prominence"] > 0)) == n_regional
    # every peak with positive prominence sits on a regional maximum
    for p in pk[pk["prominence"] > 0]:
        assert regional[p["row"], p["col"]]
