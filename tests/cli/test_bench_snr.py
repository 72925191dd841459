"""bench/eval_independent.py --snr-bins (issue 11, "where the knots stand above the
sensor's noise"): the bookkeeping of weak knots as "don't care" and the knot SNR, on
made-up truth and candidates (no session is simulated)."""
import math
import sys

import numpy as np
import pytest

from km_cli import REPO

sys.path.insert(0, str(REPO / "bench"))
import eval as kev  # noqa: E402  (bench/eval.py)
import eval_independent as ei  # noqa: E402

# Three knots 50 mm apart, the middle one weak.
TX, TY, SNR = [0.0, 50.0, 100.0], [0.0, 0.0, 0.0], [10.0, 2.0, 4.0]


def test_weak_knots_neither_missed_nor_counted():
    # one on the strong knot, one on the weak knot, one far from any
    cx, cy = [1.0, 51.0, 200.0], [0.0, 0.0, 0.0]
    cut, found = ei.snr_figures(cx, cy, TX, TY, SNR, 5.0, [-math.inf, 3.0, 5.0])
    assert found.tolist() == [True, True, False]
    # every knot must-find: the figures of session_figures
    assert cut[-math.inf] == pytest.approx(
        {"tp": 2, "fp": 1, "fn": 1, "precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3})
    fig, _, _ = kev.session_figures(cx, cy, [3, 2, 1], None, (TX, TY, [1.0] * 3), 5.0, 1.0)
    assert cut[-math.inf]["f1"] == pytest.approx(fig["f1"])
    # SNR >= 3: the candidate on the weak knot is neither; the knot at SNR 4 is missed
    assert cut[3.0] == pytest.approx(
        {"tp": 1, "fp": 1, "fn": 1, "precision": 0.5, "recall": 0.5, "f1": 0.5})
    # SNR >= 5: the knot at SNR 4 is no longer a miss
    assert cut[5.0] == pytest.approx(
        {"tp": 1, "fp": 1, "fn": 0, "precision": 0.5, "recall": 1.0, "f1": 2 / 3})


def test_matching_is_made_against_every_knot():
    """A candidate nearer a weak knot goes to it (nearest pairs first, as `knotmap
    eval`), so it does not count for the strong knot within reach either."""
    cut, found = ei.snr_figures([30.0], [0.0], TX, TY, SNR, 40.0, [3.0])
    assert found.tolist() == [False, True, False]
    assert cut[3.0]["tp"] == 0 and cut[3.0]["fp"] == 0 and cut[3.0]["fn"] == 2


def test_nothing_to_find_nothing_found():
    cut, found = ei.snr_figures([], [], TX, TY, SNR, 5.0, [20.0])
    assert not found.any()
    assert cut[20.0]["f1"] == 1.0 and cut[20.0]["recall"] == 1.0


def _session(x, y):
    s = 4.0
    return {"mode": "roller", "col_pitch": 8.0, "row_pitch": 6.0, "noise": 2.0,
            "offset_sd": 1.0, "gain_sd": 0.1, "count_kpa": 0.5, "contact_kpa": 40.0,
            "body_centre": 80.0, "body_width": 400.0, "body": "thigh",
            "knots": [{"x": x, "y": y, "sx": s, "sy": 2 * s, "amp": 30.0}]}


def test_knot_snr_at_the_nearest_taxel():
    # on a taxel centre: amp / noise; half a column off: the footprint 4 mm away
    assert ei.knot_snr(_session(80.0, 36.0)) == pytest.approx([15.0])
    assert ei.knot_snr(_session(84.0, 36.0)) == pytest.approx([15.0 * math.exp(-0.5)])
    # rows sample y (fixed body points a row pitch apart, roller and mat alike): 33 mm
    # is 3 mm from the row at 36 mm (sy 8 mm)
    assert ei.knot_snr(_session(80.0, 33.0)) == pytest.approx(
        [15.0 * math.exp(-0.5 * (3 / 8) ** 2)])
    # total: white, offset, gain x background (body profile 1 at the centre), counts
    p = 4 / math.pi * 40.0
    sd = math.sqrt(4.0 + 1.0 + (0.1 * p) ** 2 + 0.25 / 12)
    assert ei.knot_snr(_session(80.0, 36.0), "total") == pytest.approx([30.0 / sd])
    # spread: over the figure given
    assert ei.knot_snr(_session(80.0, 36.0), "spread", 6.0) == pytest.approx([5.0])
    assert np.all(ei.knot_snr(_session(80.0, 33.0), "total")
                  < ei.knot_snr(_session(80.0, 33.0)))


def _result(path, excess, spread, coverage, pitch=5.0):
    import h5py
    ny, nx = excess.shape
    with h5py.File(path, "w") as f:
        g = f.create_group("bodymap")
        g["excess"], g["spread"] = excess.astype(np.float32), spread.astype(np.float32)
        g["coverage"] = coverage.astype(np.int32)
        g["y_mm"], g["x_mm"] = 100.0 + pitch * np.arange(ny), pitch * np.arange(nx)


def test_map_z_is_the_knots_excess_over_the_local_spread(tmp_path):
    """bench/eval.py map_z (session 47): A / s at the cell nearest the knot, s the median
    of /bodymap/spread over +-4 cells (the knot's own cell, spread 9, does not set it);
    0 off the map, where no pass covered the cell, and where A is NaN."""
    ex, sp, cov = np.zeros((12, 12)), np.full((12, 12), 0.5), np.full((12, 12), 6)
    ex[5, 6], sp[5, 6] = 4.0, 9.0
    sp[:, 11] = 2.0  # the far column: a noisier patch out of the knot's window
    ex[2, 2], cov[2, 2] = 3.0, 0
    ex[9, 9] = np.nan
    _result(tmp_path / "r.h5", ex, sp, cov)
    # knot at x 31 mm (nearest column 6), y 124 mm (nearest row 5); one at x 400, off it
    z = kev.map_z(tmp_path / "r.h5", [31.0, 400.0, 10.0, 45.0], [124.0, 124.0, 110.0, 145.0])
    assert z.tolist() == pytest.approx([8.0, 0.0, 0.0, 0.0])
    # the window's median: with the far column's 2.0 inside it (a knot at column 10)
    ex[5, 10] = 4.0
    _result(tmp_path / "r2.h5", ex, sp, cov)
    assert kev.map_z(tmp_path / "r2.h5", [50.0], [125.0]).tolist() == pytest.approx([8.0])
    sp[:, 7:] = 2.0
    _result(tmp_path / "r3.h5", ex, sp, cov)
    assert kev.map_z(tmp_path / "r3.h5", [50.0], [125.0]).tolist() == pytest.approx([2.0])


def test_snr_noise_names_are_checked():
    import argparse
    ap = argparse.ArgumentParser()
    ei.add_common_args(ap)
    a = ap.parse_args(["--snr-noise", "map,spread"])
    ei.check_cells(ap, a, ei.sim_independent_presets())
    with pytest.raises(SystemExit):
        ei.check_cells(ap, ap.parse_args(["--snr-noise", "map,sd"]),
                       ei.sim_independent_presets())


def test_map_z_over_the_maps_own_spread(tmp_path):
    """map_z noise "space": A over 1.4826 x the median absolute deviation of A over the
    +-4 cells, the knot's 3 x 3 left out (its shoulder, 3.0 beside it, does not count)."""
    yy, xx = np.mgrid[0:12, 0:12]
    ex = 0.5 * (-1.0) ** (yy + xx)
    ex[5, 6], ex[5, 7] = 4.0, 3.0
    _result(tmp_path / "r.h5", ex, np.full((12, 12), 0.25), np.full((12, 12), 6))
    z = kev.map_z(tmp_path / "r.h5", [31.0], [124.0], noise="space")
    assert z.tolist() == pytest.approx([4.0 / (1.4826 * 0.5)])
    assert kev.map_z(tmp_path / "r.h5", [31.0], [124.0]).tolist() == pytest.approx([16.0])
    # the two tables' names (eval_independent.py --snr-noise)
    assert ei.map_snr(tmp_path / "r.h5", ([31.0], [124.0]), "map-space").tolist() == \
        pytest.approx(z.tolist())
