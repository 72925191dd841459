"""bench/indep_account.py (issue 11, session 45): the sensor truth it draws again, the taxel
under a body point, and the cause it gives a false candidate, on one short session of
bench/sim_independent.py and on made-up draws."""
import math
import sys

import h5py
import numpy as np

from km_cli import REPO

sys.path.insert(0, str(REPO / "bench"))
import indep_account  # noqa: E402
import sim_independent  # noqa: E402


def test_sensor_truth_draws_the_sessions_dead_taxels(tmp_path):
    # the same generator in the same order as sim_independent.frames: every taxel it calls
    # dead reads 0 in every frame, and the gains are the preset's spread around 1
    s = tmp_path / "s.h5"
    sim_independent.write(str(s), "mat", "hard", 3, indep_account.DUR)
    d, gain, dead = indep_account.sensor_truth("mat", "hard", 3)
    with h5py.File(s) as f:
        fr = f["frames"][:]
    assert dead.sum() >= 3  # the hard preset's lost row segment at least
    assert np.all(fr[:, dead] == 0)
    assert np.any(fr[:, ~dead] > 0, axis=0).mean() > 0.5
    assert abs(float(np.std(gain)) - d["gain_sd"]) < 0.3 * d["gain_sd"]


def test_taxel_under_a_body_point():
    d = {"mode": "roller", "rows": 30, "cols": 20, "radius": 60.0, "col_pitch": 8.0,
         "row_pitch": 2 * math.pi * 60.0 / 30}
    # the roller rolls without slipping: body y = row x row pitch, around the circumference
    assert indep_account.taxel_at(d, 16.0, 3 * d["row_pitch"]) == (3, 2)
    assert indep_account.taxel_at(d, 0.0, (30 + 4) * d["row_pitch"]) == (4, 0)
    m = dict(d, mode="mat", row_pitch=7.0)
    assert indep_account.taxel_at(m, 24.0, 21.0) == (3, 3)


def _draw():
    return {"mode": "mat", "rows": 20, "cols": 20, "row_pitch": 8.0, "col_pitch": 8.0,
            "gain_sd": 0.1, "body": "thigh", "body_centre": 80.0, "body_width": 200.0,
            "stroke": 160.0, "bands": [{"x": 40.0, "y0": 50.0, "len": 60.0, "w": 3.0}],
            "bony": [{"x": 120.0, "y": 120.0, "s": 20.0}],
            "knots": [{"x": 80.0, "y": 40.0, "s": 7.0}, {"x": 60.0, "y": 120.0, "s": 7.0}]}


def test_false_candidates_by_what_lies_under_them():
    d = _draw()
    gain, dead = np.ones((20, 20)), np.zeros((20, 20), bool)
    gain[9, 12] = 1.3
    dead[2, 2] = True
    ks = d["knots"]

    def cls(x, y, matched=(0,), unmatched=(1,)):
        return indep_account.false_class(d, gain, dead, x, y, 8.0, matched, unmatched, ks)

    assert cls(60.0, 132.0) == "knot placed off"  # 12 mm from the unmatched knot
    assert cls(80.0, 60.0) == "second peak"  # 20 mm from a matched knot (3 sigma 21)
    assert cls(80.0, 60.0, matched=()) != "second peak"
    assert cls(40.0, 52.0) == "taut band, end"
    assert cls(40.0, 80.0) == "taut band, along"
    assert cls(120.0, 150.0) == "bony prominence"
    assert cls(16.0, 16.0) == "dead taxel"
    assert cls(96.0, 72.0) == "high-gain taxel"  # the taxel (9, 12) at 1.3
    assert cls(64.0, 80.0) == "other"


def test_the_gain_under_a_false_candidate():
    # the class is the first that holds ("dead taxel" before "high-gain taxel"); the gain
    # under the candidate is reported whatever the class
    d = _draw()
    gain, dead = np.ones((20, 20)), np.zeros((20, 20), bool)
    gain[9, 12] = 1.3
    dead[9, 13] = True
    assert indep_account.gain_under(d, gain, 96.0, 72.0) == 1.3
    assert indep_account.gain_under(d, gain, 104.0, 72.0) == 1.0
    assert indep_account.false_class(d, gain, dead, 96.0, 72.0, 8.0, (), (), []) == "dead taxel"
    assert indep_account.on_high_gain({"gain_under": 1.3, "gain_sd": 0.1})
    assert not indep_account.on_high_gain({"gain_under": 1.19, "gain_sd": 0.1})
    # past the map's last row and column, the last taxel of a mat
    assert indep_account.gain_under(d, gain, 400.0, 400.0) == 1.0


def test_figures_with_the_knots_above_the_cut_as_must_find():
    def knot(z, found):
        return {"kind": "knot", "mapz_space": z, "gate": "found" if found else "z < min_snr"}

    rows = [knot(6.0, True), knot(3.0, True), knot(7.0, False), knot(2.0, False),
            {"kind": "false"}, {"kind": "false"}]
    # above 5: 2 knots, 1 found; the weaker knot found is neither true nor false
    n, tp, fp, p, r, f1 = indep_account.figures_above(rows, 5.0)
    assert (n, tp, fp) == (2, 1, 2)
    assert math.isclose(p, 1 / 3) and math.isclose(r, 0.5) and math.isclose(f1, 0.4)
    n, tp, fp, p, r, f1 = indep_account.figures_above(rows, 0.0)
    assert (n, tp, fp) == (4, 2, 2) and p == r == f1 == 0.5
