"""End to end: a roller session whose sensor zero drifted further than the
pipeline follows is said on stderr and recorded (docs/ALGORITHMS.md 7.1 step 6,
docs/FORMAT.md /params odo_zero_drift, odo_zero_drift_limit).

Sessions from knotmap.synth (model 1) with the taxel offsets drifting
N(0, 180 kPa a minute) each for 60 s (three hours of the moderate preset's
1 kPa a minute, or one of the hard preset's 3) against the moderate preset as
it is (1 kPa a minute, 20 s).  Run with the Python bindings on PYTHONPATH; the binary comes
from $KNOTMAP_BIN, else build/knotmap.
"""

import h5py
import pytest

from km_cli import run_ok as run

knotmap = pytest.importorskip("knotmap")


def _params(path):
    with h5py.File(path) as f:
        return dict(f["params"].attrs)


def test_a_drifting_roller_session_is_said_and_recorded(tmp_path):
    s, r = tmp_path / "drift.h5", tmp_path / "drift.r.h5"
    knotmap.synth(s, mode="roller", preset="moderate", seed=1, duration=60,
                  drift_kpa_per_min=180.0)
    out = run("process", "-q", s, "-o", r)
    p = _params(r)
    # rows about 90 kPa apart after a minute, over the ~65 kPa contact
    assert p["odo_zero_drift"] > p["odo_zero_drift_limit"] + 10.0
    assert 40.0 < p["odo_zero_drift_limit"] < 90.0
    said = "knotmap: %s: warning: zero drift: the sensor rows' unloaded levels drifted " \
           "%.3g kPa apart" % (s, p["odo_zero_drift"])
    assert said in out.stderr, out.stderr
    assert "re-tare" in out.stderr


def test_a_usual_session_is_not_warned(tmp_path):
    s, r = tmp_path / "usual.h5", tmp_path / "usual.r.h5"
    run("synth", "--mode", "roller", "--preset", "moderate", "--seed", 1, "--duration", 20,
        "-o", s)
    out = run("process", "-q", s, "-o", r)
    p = _params(r)
    assert 0.0 < p["odo_zero_drift"] < 0.1 * p["odo_zero_drift_limit"]
    assert "zero drift" not in out.stderr


def test_a_mat_records_no_zero_drift(tmp_path):
    s, r = tmp_path / "mat.h5", tmp_path / "mat.r.h5"
    knotmap.synth(s, mode="mat", preset="moderate", seed=1, duration=20,
                  drift_kpa_per_min=180.0)
    out = run("process", "-q", s, "-o", r)
    p = _params(r)
    assert p["odo_zero_drift"] == 0.0 and p["odo_zero_drift_limit"] == 0.0
    assert "zero drift" not in out.stderr
