"""Stuck and hot taxels the warm-up finds are said on stderr and recorded when they are
not masked (docs/ALGORITHMS.md 11.3): without --detect-bad-taxels they stay in the mask
(made a peak in every frame until session 36: on a synthetic roller session a stuck taxel
at 193 kPa headed the command's hottest spots; now left out of the peaks, 3.7), so the
command warns and /params/suspect_taxels counts them; with --detect-bad-taxels they are
masked and the count is 0.

The count is checked against the simulator's own truth (`knotmap.synth`'s
truth["taxel_state"]: its stuck taxels), not against knotmap's classification.
"""
import h5py
import numpy as np
import pytest

knotmap = pytest.importorskip("knotmap")
from km_cli import run_ok as run

SESSION = dict(grid=(32, 32), rate=100, duration=10)


def true_stuck(mode, preset, seed):
    _, truth = knotmap.synth(None, mode=mode, preset=preset, seed=seed, **SESSION)
    return int((np.asarray(truth["taxel_state"]) == 2).sum())


def suspect(path):
    with h5py.File(path, "r") as f:
        return int(f["params"].attrs["suspect_taxels"]), int(f["params"].attrs["bad_taxels"])


@pytest.mark.parametrize("mode,preset,seed", [("roller", "moderate", 1), ("mat", "hard", 2)])
def test_stuck_taxels_are_said_and_counted(tmp_path, mode, preset, seed):
    n = true_stuck(mode, preset, seed)
    assert n > 0
    s = knotmap.synth(tmp_path / "s.h5", mode=mode, preset=preset, seed=seed, **SESSION)
    r = run("process", "-q", s, "-o", tmp_path / "r.h5")
    assert f"warning: {n} taxel{'s' if n > 1 else ''} look" in r.stderr, r.stderr
    assert "stuck or hot" in r.stderr and "--detect-bad-taxels" in r.stderr
    assert str(s) in r.stderr
    assert suspect(tmp_path / "r.h5") == (n, 0)

    r = run("process", "-q", s, "-o", tmp_path / "masked.h5", "--detect-bad-taxels")
    assert "stuck or hot" not in r.stderr, r.stderr
    found, bad = suspect(tmp_path / "masked.h5")
    assert found == 0 and bad >= n


def test_a_sensor_without_faults_gets_no_warning(tmp_path):
    assert true_stuck("roller", "easy", 1) == 0
    s = knotmap.synth(tmp_path / "s.h5", mode="roller", preset="easy", seed=1, **SESSION)
    r = run("process", "-q", s, "-o", tmp_path / "r.h5")
    assert "stuck or hot" not in r.stderr, r.stderr
    assert suspect(tmp_path / "r.h5") == (0, 0)


def test_one_of_each_is_said_in_the_singular(tmp_path):
    """A newcomer's first files: one suspect taxel, one frame, one peak. Before
    session 36: "1 taxel looks stuck or hot ... and still make peaks", "1 frames",
    "1 peaks", "1 tracks"."""
    rng = np.random.default_rng(4)
    a = rng.normal(10, 1, (200, 64))
    a[:, 19] = 500  # one taxel reading 500 whatever is pressed: hot
    p = tmp_path / "hot.txt"
    np.savetxt(p, a, fmt="%.3f")
    opts = ("--rate", "50", "--pitch", "5", "--units", "kPa", "--mode", "mat")
    r = run("process", "-q", "--grid", "8x8", *opts, p, "-o", tmp_path / "r.h5")
    # Since session 36 such a taxel is left out of the peaks by default
    # (docs/ALGORITHMS.md 3.7); --keep-suspect-taxels gives the sentence of before.
    assert ("warning: 1 taxel looks stuck or hot in the warm-up and is left out of the "
            "peaks, metrics and maps (/params/suspect_taxels; --keep-suspect-taxels keeps it, "
            "--detect-bad-taxels masks it everywhere)") in r.stderr, r.stderr
    r = run("process", "-q", "--grid", "8x8", *opts, p, "-o", tmp_path / "k.h5",
            "--keep-suspect-taxels")
    assert ("warning: 1 taxel looks stuck or hot in the warm-up and makes a peak in every "
            "frame and counts in the metrics and maps (/params/suspect_taxels; "
            "--detect-bad-taxels masks it)") in r.stderr, r.stderr
    one = tmp_path / "one.txt"
    one.write_text("1 2 3\n4 9 6\n7 8 1\n")
    r = run("process", "--text-layout", "matrix", *opts, one, "-o", tmp_path / "one.h5")
    assert "  1 frame, 0.02 s at 50 Hz, 3x3 taxels" in r.stdout, r.stdout
    assert "  1 peak; hottest spots:" in r.stdout and "  1 track; 0 knot candidates" in r.stdout
    off = np.abs(rng.normal(0, 0.2, (300, 64)))
    off[:, 19] += 6  # one taxel reading 6 kPa while nothing presses: a steady offset
    q = tmp_path / "offset.txt"
    np.savetxt(q, off, fmt="%.3f")
    r = run("process", "-q", "--grid", "8x8", *opts, q, "-o", tmp_path / "off.h5")
    assert ("warning: 1 taxel read a steady offset while unloaded (hot): masked "
            "(/params/offset_taxels; --offset-sigmas 0 keeps it)") in r.stderr, r.stderr
