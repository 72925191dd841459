"""bench/eval_third.py keep_along_y and bench/one_taxel_peaks.py raw_z (session 48): the
diagnoses' features on noise-free maps and the one-taxel discount they invert."""
import math
import sys

import numpy as np
import pytest

from km_cli import REPO

sys.path.insert(0, str(REPO / "bench"))
eval_third = pytest.importorskip("eval_third")
one_taxel_peaks = pytest.importorskip("one_taxel_peaks")


def bump(ny, nx, py, px, sy, sx, level=0.0, height=10.0):
    """A Gaussian of sigmas sy (along y) and sx mm at the centre cell, over a level."""
    yy, xx = np.mgrid[0:ny, 0:nx]
    dy, dx = (yy - ny // 2) * py, (xx - nx // 2) * px
    return level + height * np.exp(-0.5 * (dy ** 2 / sy ** 2 + dx ** 2 / sx ** 2))


def test_keep_along_y_tells_a_knot_from_a_prominence_and_a_band():
    """10 mm rows, 6 mm columns: a knot of sigma 5 mm keeps exp(-1/2 (t/5)^2) at t = 10
    mm (the only row 10-20 mm away), 0.14; a prominence of 20 mm keeps 0.88 of its relief
    above the level 35-60 mm away (0.23-0.47 of it), so (0.88 - 0.34) / (1 - 0.34) =
    0.82; a band along y of sigma 40 mm about 1.  The same over a contact level of 100
    kPa with level=True; without it the level counts as kept.  Fails along x instead of
    y (the knot's 6 mm columns at 12-18 mm keep 0.01-0.06, the band's 3.5 mm across 0)."""
    ny, nx, py, px = 21, 21, 10.0, 6.0
    c = (ny // 2, nx // 2)
    knot = bump(ny, nx, py, px, 5.0, 5.0, 100.0)
    prom = bump(ny, nx, py, px, 20.0, 20.0, 100.0)
    band = bump(ny, nx, py, px, 40.0, 3.5, 100.0)
    k, p, b = (eval_third.keep_along_y(m, py, *c) for m in (knot, prom, band))
    assert k == pytest.approx(math.exp(-0.5 * 4.0), abs=0.01), k
    assert 0.75 <= p <= 0.9, p
    assert b >= 0.9, b
    assert eval_third.keep_along_y(knot - 100.0, py, *c, level=False) == pytest.approx(k,
                                                                                      abs=0.01)
    assert eval_third.keep_along_y(knot, py, *c, level=False) >= 0.9
    assert math.isnan(eval_third.keep_along_y(knot, py, 30, 3))


def test_raw_z_inverts_the_one_taxel_discount():
    """one_taxel_peaks.raw_z inverts b (1 - exp(-W z / b)) (docs/ALGORITHMS.md 10.4
    One-taxel peaks: 0.046 z at z 5, 0.042 z at 10, 0.030 z at 30), with b and W the
    library's defaults (0.9 x min_snr x min_persistence, one_taxel_weight)."""
    for z, per in ((5.0, 0.0456), (10.0, 0.0417), (30.0, 0.0302)):
        sig = one_taxel_peaks.B * -math.expm1(-one_taxel_peaks.W * z / one_taxel_peaks.B)
        assert sig / z == pytest.approx(per, abs=0.0001)
        assert one_taxel_peaks.raw_z(sig) == pytest.approx(z, rel=1e-9)
    assert one_taxel_peaks.raw_z(one_taxel_peaks.B) == math.inf
    knotmap = pytest.importorskip("knotmap")
    cand = knotmap._defaults.PIPELINE.cand
    assert one_taxel_peaks.B == pytest.approx(0.9 * cand.min_snr * cand.min_persistence)
    assert one_taxel_peaks.W == pytest.approx(cand.one_taxel_weight)
