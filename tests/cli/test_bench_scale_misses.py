"""bench/scale_misses.py (issue 11, knots missed beside a stronger knot): its scale-space
reading of a saved candidate map and the map's share of a knot, on a made-up result file
(no session is simulated)."""
import sys

import h5py
import numpy as np

from km_cli import REPO

sys.path.insert(0, str(REPO / "bench"))
import scale_misses  # noqa: E402


def made_up_result(path, a, pitch=5.0):
    with h5py.File(path, "w") as f:
        g = f.create_group("bodymap")
        g.create_dataset("excess", data=a.astype(np.float32))
        for k, v in (("x0_mm", 0.0), ("y0_mm", 0.0), ("x_pitch_mm", pitch),
                     ("y_pitch_mm", pitch)):
            g.attrs[k] = v


def two_knots(n=40, pitch=5.0):
    """A 35 kPa knot of sigma 10 mm at (100, 85) mm and a 12 kPa one of sigma 4 mm 30 mm
    away along y, NaN (no data) in the first row."""
    y, x = np.mgrid[0:n, 0:n] * pitch
    a = (35.0 * np.exp(-0.5 * ((x - 100) ** 2 + (y - 85) ** 2) / 10.0 ** 2)
         + 12.0 * np.exp(-0.5 * ((x - 100) ** 2 + (y - 115) ** 2) / 4.0 ** 2))
    a[0] = np.nan
    return a


def test_scale_maxima_at_both_knots(tmp_path):
    r = tmp_path / "r.h5"
    made_up_result(r, two_knots())
    sc, flat = scale_misses.blob_maxima(str(r))
    for x, y in ((100.0, 85.0), (100.0, 115.0)):
        assert scale_misses.near(sc, x, y, 5.0), (x, y, sc)
        assert scale_misses.near(flat, x, y, 5.0), (x, y, flat)
    # nothing between them
    assert not scale_misses.near(sc, 100.0, 100.0, 5.0)


def test_map_share_is_the_largest_cell_near_the_knot_over_its_amplitude(tmp_path):
    r = tmp_path / "r.h5"
    a = two_knots()
    made_up_result(r, a)
    # the first knot given 3 mm off its peak: its cell is row 18, the peak's row 17
    truth = (np.array([100.0, 100.0]), np.array([88.0, 115.0]), np.array([35.0, 24.0]))
    share = scale_misses.map_share(str(r), truth)
    assert abs(share[0] - a[17, 20] / 35.0) < 1e-6
    assert abs(share[1] - a[23, 20] / 24.0) < 1e-6
    assert 0.45 < share[1] < 0.55
