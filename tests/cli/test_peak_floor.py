"""What the peaks see by default (docs/ALGORITHMS.md 3.7): taxels the warm-up finds stuck or
hot are left out of the peaks, and a floor of --floor-sigmas times the sensor's noise
(measured in the warm-up) stands under threshold_rel.

Before: a stuck taxel made a peak in every frame and, through threshold_rel (0.1 of the
frame maximum), hid every real peak under a tenth of its value; a frame with nothing on
the sheet had dozens of noise peaks; a loaded taxel of a body lying still on a sensor
that reads counts could be called stuck.  Each test below fails on the code before this
change (checked) and states what it expects from the scene it builds, not from a run.
"""
import h5py
import numpy as np
import pytest

from km_cli import SESSION_ATTRS
from km_cli import run_ok as run

R, C, T = 24, 24, 300


def write_session(path, frames):
    with h5py.File(path, "w") as f:
        f.create_dataset("frames", data=np.asarray(frames, np.float32))
        f.attrs.update(SESSION_ATTRS)
    return path


def peaks(path):
    with h5py.File(path, "r") as f:
        p = f["peaks"]
        out = {k: p[k][:] for k in ("frame", "value")}
        # row and col are the sub-pixel position: the taxel is the nearest.
        out.update({k: np.rint(p[k][:]).astype(int) for k in ("row", "col")})
        return out, dict(f["params"].attrs)


def knot_and_stuck(seed=3):
    """A 15 kPa knot (Gaussian, sigma 1.2 taxels) at (8, 8) on a 2 kPa floor with white
    noise of 0.5 kPa, and a taxel stuck at 200 kPa at (16, 16)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:R, 0:C]
    knot = 15.0 * np.exp(-((y - 8) ** 2 + (x - 8) ** 2) / (2 * 1.2 ** 2))
    f = 2.0 + knot[None] + 0.5 * rng.standard_normal((T, R, C))
    f[:, 16, 16] = 200.0
    return f


def test_a_stuck_taxel_no_longer_hides_a_knot(tmp_path):
    s = write_session(tmp_path / "s.h5", knot_and_stuck())
    r = run("process", "-q", s, "-o", tmp_path / "new.h5")
    assert "warning: 1 taxel looks stuck or hot" in r.stderr, r.stderr
    assert "left out of the peaks" in r.stderr and "--keep-suspect-taxels" in r.stderr
    new, par = peaks(tmp_path / "new.h5")
    at_knot = (new["row"] == 8) & (new["col"] == 8)
    # The knot (17 kPa over the noise) is a peak in every frame, under a tenth of 200.
    assert np.unique(new["frame"][at_knot]).size == T
    assert np.all(new["value"][at_knot] < 20.0)
    assert not np.any((new["row"] == 16) & (new["col"] == 16))
    assert par["suspect_taxels"] == 1 and par["peaks_keep_suspect_taxels"] == 0
    # Where it is, so that a user can mask it or reproduce /peaks frame by frame.
    assert par["suspect_taxels_at"] == "16,16"
    # The knot pressed from the first frame is no offset: its diagonal neighbours (their
    # neighbours' median unloaded, 7.5 kPa above it in every frame) were masked as two
    # offset taxels, at (9, 7) and (9, 9), until session 38 (ALGORITHMS 11.3).
    assert par["offset_taxels"] == 0 and "steady offset" not in r.stderr, r.stderr

    # The switch keeps the old peaks: the stuck taxel in every frame, holding the
    # threshold at 20 kPa, the knot under it never.
    run("process", "-q", s, "-o", tmp_path / "old.h5", "--keep-suspect-taxels",
        "--floor-sigmas", "0")
    old, par = peaks(tmp_path / "old.h5")
    assert np.unique(old["frame"][(old["row"] == 16) & (old["col"] == 16)]).size == T
    assert not np.any((old["row"] == 8) & (old["col"] == 8))
    assert par["peaks_keep_suspect_taxels"] == 1 and np.isnan(par["peaks_floor"])
    assert par["suspect_taxels_at"] == "16,16"
    # Masked with --detect-bad-taxels: none left in, none listed.
    run("process", "-q", s, "-o", tmp_path / "bad.h5", "--detect-bad-taxels")
    _, par = peaks(tmp_path / "bad.h5")
    assert par["suspect_taxels"] == 0 and par["suspect_taxels_at"] == ""


def test_an_empty_sheet_makes_no_peaks(tmp_path):
    """White noise alone (1 kPa on a 3 kPa floor): the 5x5 local maxima of noise
    are dozens a frame above a tenth of the frame's maximum; none stands 10 noise sd
    up (a chance of about 1e-20 a taxel)."""
    rng = np.random.default_rng(5)
    s = write_session(tmp_path / "s.h5", 3.0 + rng.standard_normal((T, R, C)))
    run("process", "-q", s, "-o", tmp_path / "new.h5")
    new, par = peaks(tmp_path / "new.h5")
    assert new["value"].size == 0
    # The noise is the excess over the neighbours' median: between 1 and 1.25 sd.
    assert 1.0 < par["noise"] < 1.25
    assert par["peaks_floor"] == pytest.approx(par["peaks_floor_sigmas"] * par["noise"])
    run("process", "-q", s, "-o", tmp_path / "old.h5", "--floor-sigmas", "0")
    old, _ = peaks(tmp_path / "old.h5")
    assert old["value"].size > 10 * T
    # A floor given by hand replaces the noise's.
    run("process", "-q", s, "-o", tmp_path / "abs.h5", "--threshold-abs", "5")
    given, par = peaks(tmp_path / "abs.h5")
    assert given["value"].size > 0 and given["value"].min() > 5.0
    assert np.isnan(par["peaks_floor"])


def test_a_still_body_on_a_counting_sensor_keeps_its_taxels(tmp_path):
    """A body lying still on a sensor that reads counts (noise 0.15 count, rounded):
    many loaded taxels read one count for the whole warm-up.  They are not stuck, so
    nothing is left out of the peaks, and the body's top is a peak in every frame."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:R, 0:C]
    body = 60.0 * np.exp(-((y - 12) ** 2 / (2 * 5.0 ** 2) + (x - 11) ** 2 / (2 * 3.0 ** 2)))
    f = np.maximum(0.0, np.round(body[None] + 0.15 * rng.standard_normal((T, R, C))))
    warm = f[:100]
    assert np.sum((warm.min(0) == warm.max(0)) & (warm[0] > 0)) > 50
    s = write_session(tmp_path / "s.h5", f)
    r = run("process", "-q", s, "-o", tmp_path / "new.h5")
    assert "stuck or hot" not in r.stderr, r.stderr
    new, par = peaks(tmp_path / "new.h5")
    assert par["suspect_taxels"] == 0 and par["bad_taxels"] == 0
    top = (new["row"] == 12) & (new["col"] == 11)
    assert np.unique(new["frame"][top]).size == T
    # --detect-bad-taxels masks no loaded taxel either (zeros at the body's edge
    # beside taxels that flip between 0 and 1 are still called dead: that rule
    # is unchanged, and a 0 makes no peak).
    run("process", "-q", s, "-o", tmp_path / "bad.h5", "--detect-bad-taxels")
    with h5py.File(tmp_path / "bad.h5", "r") as r:
        masked = np.isnan(r["frames/max"][()])
    assert masked.sum() < 50 and warm[:, masked].max() == 0


def test_lifted_roller_frames_make_no_peaks(tmp_path):
    """The simulator's truth: frames in which the roller has been lifted for more than
    10 frames (load 0) hold no peak; before, dozens of noise peaks a frame (or the
    stuck taxel's)."""
    knotmap = pytest.importorskip("knotmap")
    kw = dict(mode="roller", preset="moderate", seed=0, duration=20, grid=(32, 32), rate=100)
    _, truth = knotmap.synth(None, **kw)
    load = np.asarray(truth["motion"]["load"])
    quiet = np.zeros(len(load), bool)
    for i in range(11, len(load)):
        quiet[i] = not load[i - 11:i + 1].any()
    assert quiet.sum() > 20
    s = knotmap.synth(tmp_path / "s.h5", **kw)
    run("process", "-q", s, "-o", tmp_path / "new.h5")
    new, _ = peaks(tmp_path / "new.h5")
    assert not quiet[new["frame"]].any()
    run("process", "-q", s, "-o", tmp_path / "old.h5", "--floor-sigmas", "0")
    old, _ = peaks(tmp_path / "old.h5")
    assert quiet[old["frame"]].sum() > 10 * quiet.sum()


def test_the_summary_says_the_floor(tmp_path):
    """The floor removes peaks the user may look for: the command's peaks line says
    it, with the noise it stands on, as /params records them (and says nothing of a
    floor when none applies: --floor-sigmas 0)."""
    s = write_session(tmp_path / "s.h5", knot_and_stuck())
    r = run("process", s, "-o", tmp_path / "new.h5")
    _, par = peaks(tmp_path / "new.h5")
    said = "peaks above a floor of %.4g kPa (%.3g x the sensor's noise, %.3g kPa);" % (
        par["peaks_floor"], par["peaks_floor_sigmas"], par["noise"])
    assert said in r.stdout, r.stdout
    r = run("process", s, "-o", tmp_path / "off.h5", "--floor-sigmas", "0")
    assert "floor" not in r.stdout and "peaks; hottest spots:" in r.stdout, r.stdout


def test_a_stuck_taxel_is_not_smoothed_into_its_neighbours(tmp_path):
    """With --sigma the taxel stuck at 200 kPa, left out of the peaks, still entered the
    smoothing: its neighbours carried a share of it (200 x ~0.06-0.1 with sigma 1, over the
    12 kPa floor) and made a peak beside it in every frame.  Now it enters the filter as a
    masked taxel does (0); --keep-suspect-taxels keeps it, and its peak, as before."""
    s = write_session(tmp_path / "s.h5", knot_and_stuck())
    run("process", "-q", s, "-o", tmp_path / "new.h5", "--sigma", "1")
    new, par = peaks(tmp_path / "new.h5")
    near = (np.abs(new["row"] - 16) <= 2) & (np.abs(new["col"] - 16) <= 2)
    assert not np.any(near), np.unique(new["frame"][near]).size
    at_knot = (np.abs(new["row"] - 8) <= 1) & (np.abs(new["col"] - 8) <= 1)
    assert np.unique(new["frame"][at_knot]).size == T
    run("process", "-q", s, "-o", tmp_path / "keep.h5", "--sigma", "1", "--keep-suspect-taxels")
    kept, _ = peaks(tmp_path / "keep.h5")
    at = (kept["row"] == 16) & (kept["col"] == 16)
    assert np.unique(kept["frame"][at]).size == T
