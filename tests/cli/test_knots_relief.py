"""End to end: on a mat, the body's own relief under a share of the contact pressure is
not a knot candidate (`--cand-min-pressure-share`, 0.12 by default since session 34;
docs/ALGORITHMS.md 10 step 4, Peaks).

Model 2, mat, moderate, tuning seeds 12 and 16, 20 s: without the share (0)
knotmap listed a bony prominence's top as a candidate (seed 12 at z 14.8, seed 16 two
at z 5.7 and 8.3; bench/false_candidates.py --list names them from the simulator's
truth, `knotmap.synth`'s truth["distractors"]). At a share of 0.12 every knot found
without it is still found, and every candidate the share removes lies on a
listed prominence or band, not on a knot.
"""
import json

import h5py
import numpy as np
import pytest

knotmap = pytest.importorskip("knotmap")
from km_cli import run_ok as run


def candidates(path):
    with h5py.File(path, "r") as f:
        c = f["candidates"]
        return np.column_stack([c["x_mm"][()], c["y_mm"][()]])


def on_relief(x, y, d):
    """Within 2 sigmas of a listed prominence, or of a band's axis inside its extent
    widened by 2 end sigmas (bench/false_candidates.py's labels)."""
    for i in range(len(d["kind"])):
        dx, dy, s, a = x - d["x_mm"][i], y - d["y_mm"][i], d["sigma_mm"][i], d["angle_rad"][i]
        if d["kind"][i] == 2 and np.hypot(dx, dy) <= 2 * s:
            return True
        along, across = dx * np.sin(a) + dy * np.cos(a), dx * np.cos(a) - dy * np.sin(a)
        e = 2 * d["end_sigma_mm"][i]
        if d["kind"][i] == 1 and abs(across) <= max(2 * s, 10.0) and \
                d["along_lo_mm"][i] - e <= along <= d["along_hi_mm"][i] + e:
            return True
    return False


@pytest.mark.parametrize("seed", [12, 16])
def test_relief_under_a_share_of_the_contact_is_not_a_candidate(tmp_path, seed):
    s, r, r0 = tmp_path / "s.h5", tmp_path / "r.h5", tmp_path / "r0.h5"
    run("synth", "--model", "2", "--mode", "mat", "--preset", "moderate", "--seed", seed,
        "--duration", "20", "-o", s)
    # The fixed seen threshold these seeds were labelled at (session 34): with the
    # session's noise (--cand-seen-noise 3, session 40) seed 12's run without the
    # share also lists a peak on no listed relief and no knot (40.7, 211.8 mm),
    # which the share removes as well.
    seen = ("--cand-seen-noise", "0")
    run("process", "-q", s, *seen, "-o", r)                # the default share: 0.12
    run("process", "-q", s, *seen, "--cand-min-pressure-share", "0", "-o", r0)
    ev = json.loads(run("eval", r, "--truth", s, "--json").stdout)
    ev0 = json.loads(run("eval", r0, "--truth", s, "--json").stdout)
    assert ev["n_matched"] == ev0["n_matched"], (ev, ev0)
    c, c0 = candidates(r), candidates(r0)
    gone = [p for p in c0 if not (np.hypot(*(c - p).T) < 1e-6).any()]
    assert gone, "the share removed nothing"
    _, truth = knotmap.synth(None, model=2, mode="mat", preset="moderate", seed=seed,
                             duration=0.2)
    k = truth["knots"]
    for x, y in gone:
        assert np.hypot(k["x_mm"] - x, k["y_mm"] - y).min() > 10.0, (x, y)
        assert on_relief(x, y, truth["distractors"]), (x, y)


def test_knot_at_the_full_scale_is_not_relief(tmp_path):
    """A knot pressed into the sensor's saturation reads a clipped amplitude over a
    clipped contact, so its share of the contact reads low: a peak whose contact pressure
    reaches 0.99 of the session's full scale is exempt from the share (session 35).
    Model 2 mat hard, tuning seed 17 (full scale 101.7 kPa), 20 s: at 0.12 the knot at
    (123.6, 48.3) mm, 11.1 kPa over a cell at 101.6 kPa (a share of 0.109), was dropped
    (6 of 8 knots matched against 7 with the share off); now every knot found without the
    share is found with it. Fails before (6 != 7)."""
    s, r, r0 = tmp_path / "s.h5", tmp_path / "r.h5", tmp_path / "r0.h5"
    run("synth", "--model", "2", "--mode", "mat", "--preset", "hard", "--seed", "17",
        "--duration", "20", "-o", s)
    run("process", "-q", s, "-o", r)
    run("process", "-q", s, "--cand-min-pressure-share", "0", "-o", r0)
    ev = json.loads(run("eval", r, "--truth", s, "--json").stdout)
    ev0 = json.loads(run("eval", r0, "--truth", s, "--json").stdout)
    assert ev["n_matched"] == ev0["n_matched"] >= 7, (ev, ev0)
    with h5py.File(s, "r") as f:
        full = float(f.attrs["saturation"])
    with h5py.File(r, "r") as f:
        c, p = f["candidates"], f["bodymap/pressure"][()]
        xs, ys = f["bodymap/x_mm"][()], f["bodymap/y_mm"][()]
        kept = [(a, p[np.abs(ys - y).argmin(), np.abs(xs - x).argmin()])
                for x, y, a in zip(c["x_mm"][()], c["y_mm"][()], c["amplitude"][()])]
    # what the exemption kept: under the share, at the full scale
    assert any(a < 0.12 * q and q >= 0.99 * full for a, q in kept), (kept, full)



def test_holes_in_the_contact_beside_a_knot_do_not_hide_it(tmp_path):
    """The edge test counts the cells without data around a peak; a dead or stuck taxel
    between cells pressed like the contact is a hole in it, neither contact nor edge
    (session 36; ALGORITHMS.md 10.4, Edges). Model 2 mat moderate, tuning seed 10, 20 s: a
    79 kPa knot at (194, 160) mm, two columns in from a thigh's edge (5 of its 24 window
    cells off the body), had two stuck taxels and a dead one in its window, which made 8:
    it was dropped as on the edge (7 of 8 knots matched, checked on db8d32d). Now all 8,
    and no candidate more."""
    s, r = tmp_path / "s.h5", tmp_path / "r.h5"
    run("synth", "--model", "2", "--mode", "mat", "--preset", "moderate", "--seed", "10",
        "--duration", "20", "-o", s)
    run("process", "-q", s, "-o", r)
    ev = json.loads(run("eval", r, "--truth", s, "--json").stdout)
    assert ev["n_matched"] == ev["n_truth"] == 8, ev
    assert ev["n_candidates"] == 8, ev
    c = candidates(r)
    assert np.hypot(c[:, 0] - 194.0, c[:, 1] - 160.0).min() < 10.0, c
