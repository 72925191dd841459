"""End to end: on a roller, a peak one taxel wide (its cell's footprint fitted at most one
scale step above the smallest sigma searched) on a body cell that a second sensor row
pressed without seeing its excess is the taxel's, not a knot's: a one-taxel peak, never a
candidate at the defaults, listed at a discounted significance with the thresholds opened
(session 39, docs/ALGORITHMS.md 10 step 4, Isolated cells).

Model 2 rollers, tuning seeds, 20 s: moderate seed 22 and hard seed 33 listed a
high-gain taxel (truth gain >= 1.3, in a sensor row that pressed the candidate's body row
by the true motion, bench/false_candidates.py's label) as a candidate (both fail on
707834c: F1 0.889 and 0.889, now 1.0 and 0.941); with the thresholds opened it is still
listed, under the one-taxel bound.
"""
import json
import sys

import h5py
import numpy as np
import pytest

knotmap = pytest.importorskip("knotmap")
from km_cli import REPO, run_ok as run

sys.path.insert(0, str(REPO / "bench"))
import false_candidates as fc  # noqa: E402  (bench/false_candidates.py)

OPEN = ["--cand-min-snr", "0", "--cand-min-prominence", "0", "--cand-min-persistence", "0",
        "--cand-min-pressure-share", "0", "--cand-max-candidates", "-1"]
# the highest significance a one-taxel peak can have (docs/ALGORITHMS.md 10.4 One-taxel
# peaks: 0.9 x the default min_snr x the default min_persistence)
ONE_TAXEL_BOUND = 0.9 * 5.0 * 0.3


def candidates(path):
    with h5py.File(path, "r") as f:
        c = f["candidates"]
        return [tuple(float(v) for v in w) for w in
                zip(*(c[k][()] for k in ("x_mm", "y_mm", "significance", "size_mm")))]


def hot(truth, x, y):
    """The candidate at (x, y) lies on a high-gain taxel of a row that pressed it."""
    rows = fc.pressing_rows(truth, y)
    g = truth["gain"][rows]
    cols = np.nonzero((g >= 1.3).any(axis=0))[0]
    return bool(rows) and bool(np.any(np.abs(cols - x / truth["col_pitch_mm"]) <= 0.75))


@pytest.mark.parametrize("preset,seed", [("moderate", 22), ("hard", 33)])
def test_a_taxel_a_second_row_did_not_see_is_not_a_candidate(tmp_path, preset, seed):
    s, r, o = tmp_path / "s.h5", tmp_path / "r.h5", tmp_path / "o.h5"
    run("synth", "--model", "2", "--mode", "roller", "--preset", preset, "--seed", seed,
        "--duration", "20", "-o", s)
    _, truth = knotmap.synth(None, model=2, mode="roller", preset=preset, seed=seed,
                             duration=20)
    run("process", "-q", s, "-o", r)
    assert not [w for w in candidates(r) if hot(truth, w[0], w[1])]
    # listed with the thresholds opened, one taxel wide and discounted
    run("process", "-q", s, *OPEN, "-o", o)
    listed = [w for w in candidates(o) if hot(truth, w[0], w[1]) and w[3] <= 3.75 + 1e-6]
    assert listed and all(w[2] < ONE_TAXEL_BOUND for w in listed), listed


@pytest.mark.parametrize("seed", [2, 3])
def test_the_broad_search_keeps_the_taxels_verdict(tmp_path, seed):
    """`--cand-broad-taxel 1` (session 42): the broad scales' own search (6 mm and up,
    ALGORITHMS 10.4 Broad scales) found again, fitted at 7.3 mm, a high-gain taxel that
    the full search had fitted one taxel wide on a cell a second sensor row pressed
    without seeing it, and listed it (model 2 roller moderate tuning seeds 2 and 3, z
    11-12). With 1 that search takes the full search's size for the one-taxel test: the
    taxel is one taxel there too and the knots found stay the same. Fails on 80e4cd4 (no
    such option) and with the full search's size replaced by the broad one's."""
    s = tmp_path / "s.h5"
    run("synth", "--model", "2", "--mode", "roller", "--preset", "moderate", "--seed", seed,
        "--duration", "20", "-o", s)
    _, truth = knotmap.synth(None, model=2, mode="roller", preset="moderate", seed=seed,
                             duration=20)
    found = {}
    for on in (0, 1):
        r = tmp_path / ("r%d.h5" % on)
        run("process", "-q", s, "--cand-broad-taxel", on, "-o", r)
        found[on] = [w for w in candidates(r) if hot(truth, w[0], w[1])]
        ev = run("eval", r, "--truth", s, "--json").stdout
        found["matched%d" % on] = json.loads(ev)["n_matched"]
    assert [w[3] for w in found[0]] and all(w[3] >= 6.0 for w in found[0]), found[0]
    assert found[1] == [], found[1]
    assert found["matched1"] == found["matched0"]
