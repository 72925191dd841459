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
