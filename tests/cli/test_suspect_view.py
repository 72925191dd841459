"""A taxel the warm-up finds stuck or hot (and --detect-bad-taxels does not mask) is left
out of what shows the body's pressure, as it is out of the peaks (docs/ALGORITHMS.md 3.7):
/metrics, the body map's pressure, mean and coverage, and the per-taxel maps
(/frames/max, /frames/mean; NaN there, as a masked taxel); --keep-suspect-taxels keeps it
in all of them.  The candidates set stuck taxels aside by their own rule, and the
odometry's row medians still see the taxel: /candidates are the same bytes either way.

Before (5f8f6b6): a taxel stuck at 200 kPa was every frame's /metrics peak, the body
map's and /frames/max's maximum, and a contact (area, force, centre of pressure) in
every frame.  Each test fails there (checked).  The metrics are checked against numpy
computed from the session's own frames with the taxel left out, not against a run.
"""
import h5py
import numpy as np
import pytest

from km_cli import PHYSIONET, SESSION_ATTRS
from km_cli import run_ok as run

R, C, T = 24, 24, 300
STUCK = (16, 16)


def scene(seed=3):
    """A body (20 kPa, Gaussian, sigma 5 taxels) at (9, 9) with a 15 kPa knot (sigma 1.2
    taxels) at (8, 8), on a 2 kPa floor with white noise of 0.5 kPa, and a taxel stuck
    at 200 kPa."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:R, 0:C]
    body = 20.0 * np.exp(-((y - 9) ** 2 + (x - 9) ** 2) / (2 * 5.0 ** 2))
    knot = 15.0 * np.exp(-((y - 8) ** 2 + (x - 8) ** 2) / (2 * 1.2 ** 2))
    f = (2.0 + body + knot + 0.5 * rng.standard_normal((T, R, C))).astype(np.float32)
    f[:, STUCK[0], STUCK[1]] = 200.0
    return f


def read(path):
    with h5py.File(path, "r") as f:
        out = {g + "/" + k: f[g][k][()] for g in ("metrics", "bodymap", "frames", "candidates")
               for k in f[g]}
        out["params"] = dict(f["params"].attrs)
        return out


def numpy_metrics(frames, valid, pitch):
    """/metrics by docs/ALGORITHMS.md 4 (contact threshold 0, kPa) over valid taxels."""
    v = np.where(valid[None], frames.astype(np.float64), np.nan)
    contact = v > 0.0
    w = np.where(contact, v, 0.0)
    rows, cols = np.mgrid[0:frames.shape[1], 0:frames.shape[2]]
    total = w.sum(axis=(1, 2))
    return {"peak": np.nanmax(v, axis=(1, 2)), "mean": np.nanmean(v, axis=(1, 2)),
            "contact_area_mm2": contact.sum(axis=(1, 2)) * pitch * pitch,
            "force_n": total * pitch * pitch * 1e-3,
            "cop_grid_x_mm": (w * cols).sum(axis=(1, 2)) / total * pitch,
            "cop_grid_y_mm": (w * rows).sum(axis=(1, 2)) / total * pitch}


def test_metrics_and_maps_leave_out_a_stuck_taxel(tmp_path):
    f = scene()
    s = tmp_path / "s.h5"
    with h5py.File(s, "w") as h:
        h.create_dataset("frames", data=f)
        h.attrs.update(SESSION_ATTRS)
    r = run("process", "-q", s, "-o", tmp_path / "new.h5")
    new = read(tmp_path / "new.h5")
    assert new["params"]["offset_taxels"] == 0
    assert new["params"]["suspect_taxels_at"] == "%d,%d" % STUCK
    valid = np.ones((R, C), bool)
    valid[STUCK] = False
    want = numpy_metrics(f, valid, SESSION_ATTRS["row_pitch_mm"])
    for k, v in want.items():
        np.testing.assert_allclose(new["metrics/" + k], v, rtol=1e-6, err_msg=k)
    assert new["metrics/peak"].max() < 50.0
    # The maps: NaN at the taxel (no sample), its neighbours as they are.
    for m in ("bodymap/pressure", "bodymap/mean", "frames/max", "frames/mean"):
        assert np.isnan(new[m][STUCK]) and np.nanmax(new[m]) < 50.0, m
    assert new["bodymap/coverage"][STUCK] == 0
    np.testing.assert_array_equal(new["frames/max"][valid], f.max(axis=0)[valid])

    run("process", "-q", s, "-o", tmp_path / "keep.h5", "--keep-suspect-taxels")
    keep = read(tmp_path / "keep.h5")
    assert keep["params"]["peaks_keep_suspect_taxels"] == 1
    want = numpy_metrics(f, np.ones((R, C), bool), SESSION_ATTRS["row_pitch_mm"])
    for k, v in want.items():
        np.testing.assert_allclose(keep["metrics/" + k], v, rtol=1e-6, err_msg=k)
    for m in ("bodymap/pressure", "frames/max"):
        assert keep[m][STUCK] == 200.0, m
    cands = [k for k in new if k.startswith("candidates/")]
    assert len(cands) > 5
    for k in cands:
        assert new[k].tobytes() == keep[k].tobytes(), k
    # Said where it applies, with the switch.
    assert "is left out of the peaks, metrics and maps" in r.stderr, r.stderr


def test_a_roller_session_keeps_its_candidates(tmp_path):
    """knotmap synth's roller (seed 1) has stuck taxels: /metrics' peak was the
    highest of them in every frame; now it never is, and the candidates are the same
    bytes as with --keep-suspect-taxels."""
    s = tmp_path / "s.h5"
    run("synth", "--mode", "roller", "--grid", "32x32", "--rate", "100", "--duration", "10",
        "--seed", "1", "-o", s)
    run("process", "-q", s, "-o", tmp_path / "new.h5")
    run("process", "-q", s, "-o", tmp_path / "keep.h5", "--keep-suspect-taxels")
    new, keep = read(tmp_path / "new.h5"), read(tmp_path / "keep.h5")
    at = [tuple(map(int, p.split(","))) for p in new["params"]["suspect_taxels_at"].split()]
    assert len(at) > 0
    with h5py.File(s, "r") as h:
        frames = h["frames"][()]
    stuck = max(frames[0][p] for p in at)
    assert np.all(keep["metrics/peak"] == stuck)
    assert np.all(new["metrics/peak"] < stuck)
    valid = np.ones(frames.shape[1:], bool)
    for p in at:
        valid[p] = False
    np.testing.assert_allclose(new["metrics/peak"], np.where(valid, frames, -np.inf).max((1, 2)))
    for p in at:
        assert np.isnan(new["frames/max"][p]) and keep["frames/max"][p] >= frames[:, p[0], p[1]].max()
    assert np.nanmax(new["bodymap/pressure"]) < stuck <= np.nanmax(keep["bodymap/pressure"])
    assert new["candidates/x_mm"].size > 0
    for k in new:
        if k.startswith("candidates/"):
            assert new[k].tobytes() == keep[k].tobytes(), k


def test_the_real_mats_hot_taxel_is_not_its_peak_pressure(tmp_path):
    """PhysioNet PMD experiment-i S1/1.txt: a taxel reading ~1160 counts beside
    neighbours at ~90 (datasets/real/README.md) was every frame's /metrics peak."""
    opts = ("--grid", "64x32", "--rate", "1", "--pitch", "15.875", "--units", "raw")
    run("process", "-q", PHYSIONET, *opts, "-o", tmp_path / "new.h5")
    run("process", "-q", PHYSIONET, *opts, "-o", tmp_path / "keep.h5", "--keep-suspect-taxels")
    new, keep = read(tmp_path / "new.h5"), read(tmp_path / "keep.h5")
    at = [tuple(map(int, p.split(","))) for p in new["params"]["suspect_taxels_at"].split()]
    hot = max(at, key=lambda p: keep["frames/max"][p])
    assert keep["frames/max"][hot] > 1000.0
    loaded = keep["metrics/peak"] > 1000.0
    assert loaded.sum() > 0.9 * loaded.size
    assert np.all(new["metrics/peak"] < 800.0)
    assert np.isnan(new["frames/max"][hot]) and np.nanmax(new["frames/max"]) < 800.0
    for k in new:
        if k.startswith("candidates/"):
            assert new[k].tobytes() == keep[k].tobytes(), k
    # The picture's legend says why the left-out taxels are grey (session 38: it said
    # "masked taxel or no valid reading" of a taxel no mask holds).
    run("render", "-q", tmp_path / "new.h5", "-o", tmp_path / "new.svg")
    assert "one left out as stuck or hot" in (tmp_path / "new.svg").read_text()
