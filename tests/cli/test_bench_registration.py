"""bench/registration.py (issue 11, session 45): candidate - truth of the matched knots, and
the independent simulator's y0 (its truth's y = 0 lies one frame of motion before its
first frame; knotmap's and the other simulators' y = 0 is the first frame's contact line)."""
import math
import sys
from types import SimpleNamespace

import h5py
import numpy as np

from km_cli import BIN, REPO

sys.path.insert(0, str(REPO / "bench"))
import registration  # noqa: E402
import sim_independent  # noqa: E402

DUR = 4.0


def args():
    return SimpleNamespace(bin=str(BIN), duration=DUR, process_args="")


def test_independent_roller_pairs_carry_its_first_frame_y(tmp_path):
    cell, pairs = registration.one(args(), "indep", "roller", "moderate", 1, str(tmp_path))
    assert cell == ("indep", "roller", "moderate")
    d = sim_independent.draw("roller", "moderate", 1)
    y, _ = sim_independent.motion(d, DUR)
    assert 0.0 < y[0] < 3.0  # one frame of motion at 100 Hz
    assert pairs, "no knot matched on the session"
    for dx, dy, rp, y0, seed, ty in pairs:
        assert y0 == float(y[0]) and seed == 1
        assert math.isclose(rp, d["row_pitch"], rel_tol=1e-9)
        assert math.hypot(dx, dy) <= max(rp, d["col_pitch"]) + 1e-9
        assert any(math.isclose(ty, k["y"]) for k in d["knots"])
    assert not list(tmp_path.iterdir())  # the session and result are removed


def test_model_sessions_have_no_y0(tmp_path):
    s = tmp_path / "s.h5"
    assert registration.make_session("m1", "roller", "moderate", 2, str(s), args()) == 0.0
    with h5py.File(s) as f:
        assert len(f["truth/knots/y_mm"]) > 0


def test_stats():
    m, sd, se = registration.stats([1.0, 2.0, 3.0])
    assert (m, sd) == (2.0, 1.0) and math.isclose(se, 1 / math.sqrt(3))
    assert all(np.isnan(registration.stats([])))
