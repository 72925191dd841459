"""End to end: on a roller, a narrow peak seen in every pass that covered it and standing at
0.16 of the contact pressure or more needs 0.8 of `min_snr` (4 at the default; session 38,
docs/ALGORITHMS.md 10 step 4, Peaks: "A knot's share of the contact on rollers").

Model 1 rollers roll without slipping: a body cell is pressed by one sensor row, so
the two-row rule never lowers the threshold there, and a narrow peak (fitted under 6 mm)
needed the full 5 before. Tuning seeds, 20 s: on hard seeds 16 and 18 a knot stood at
z 4.4-4.9, 0.23-0.24 of the contact, and was missed; now it is found (both tests of the
first kind fail on 2214945: no candidate under 5). On moderate seed 4 a false peak at
z 4.9, seen in every pass but at 0.14 of the contact, stays out.
"""
import json

import h5py
import numpy as np
import pytest

pytest.importorskip("knotmap")
from km_cli import run_ok as run

OPEN = ["--cand-min-snr", "0", "--cand-min-prominence", "0", "--cand-min-persistence", "0",
        "--cand-min-pressure-share", "0", "--cand-max-candidates", "-1"]


def session(tmp_path, preset, seed):
    s = tmp_path / "s.h5"
    run("synth", "--model", "1", "--mode", "roller", "--preset", preset, "--seed", seed,
        "--duration", "20", "-o", s)
    return s


def rows(path):
    """Per candidate: x, y, significance, size, persistence, amplitude / the contact
    pressure at its cell (/bodymap/pressure)."""
    with h5py.File(path, "r") as f:
        c, p = f["candidates"], f["bodymap/pressure"][()]
        xs, ys = f["bodymap/x_mm"][()], f["bodymap/y_mm"][()]
        out = []
        for x, y, z, s, q, a in zip(*(c[k][()] for k in ("x_mm", "y_mm", "significance",
                                                          "size_mm", "persistence",
                                                          "amplitude"))):
            press = p[np.abs(ys - y).argmin(), np.abs(xs - x).argmin()]
            out.append((x, y, z, s, q, a / press))
    return out


@pytest.mark.parametrize("seed", [16, 18])
def test_a_narrow_knot_at_a_knots_share_needs_less(tmp_path, seed):
    s, r = session(tmp_path, "hard", seed), tmp_path / "r.h5"
    run("process", "-q", s, "-o", r)
    low = [w for w in rows(r) if w[2] < 5.0 and w[3] < 6.0]
    assert low, "no narrow candidate under the full min_snr"
    with h5py.File(s, "r") as f:
        tx, ty = f["truth/knots/x_mm"][()], f["truth/knots/y_mm"][()]
    tol = json.loads(run("eval", r, "--truth", s, "--json").stdout)["tolerance_mm"]
    for x, y, z, size, pers, share in low:
        assert z >= 4.0 and pers == 1.0 and share >= 0.15, (x, y, z, pers, share)
        assert np.hypot(tx - x, ty - y).min() <= tol, (x, y, z)


def test_a_peak_under_a_knots_share_needs_the_full_threshold(tmp_path):
    s, r, o = session(tmp_path, "moderate", 4), tmp_path / "r.h5", tmp_path / "o.h5"
    run("process", "-q", s, "-o", r)
    run("process", "-q", s, *OPEN, "-o", o)
    out = [w for w in rows(o) if 4.0 <= w[2] < 5.0 and w[3] < 6.0 and w[4] == 1.0 and
           w[5] < 0.15]
    assert out, "no peak at z 4-5 under the share on this session"
    kept = np.array([(w[0], w[1]) for w in rows(r)])
    for x, y, *_ in out:
        assert np.hypot(kept[:, 0] - x, kept[:, 1] - y).min() > 1e-3, (x, y)
