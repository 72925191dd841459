"""knotmap.synth(equilibration=...) is `knotmap synth --equilibration`
(--equilibration-kpa): the same recording bit for bit, the same defaults
(km_synth_equilibration: 50 kPa, 5 s unless a duration is given), and a
load that is not a positive number refused naming the keyword.  Until
session 44 the keyword did not exist (TypeError: unknown parameter), and
the C field equilibration_kpa given as a field kept the session's 30 s."""
import subprocess

import h5py
import numpy as np
import pytest

import knotmap
from knotmap._core import lib
from test_params import _knotmap_bin

SENSOR = dict(mode="mat", preset="hard", seed=3, grid=(20, 24), knots=2)


def cli(path, *args):
    r = subprocess.run([_knotmap_bin(), "synth", "--mode", "mat", "--preset", "hard", "--seed",
                        "3", "--grid", "20x24", "--knots", "2", *args, "-o", str(path)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with h5py.File(path, "r") as f:
        return f["frames"][()], float(f["frames"].shape[0])


def py(path, **kw):
    knotmap.synth(path, **SENSOR, **kw)
    with h5py.File(path, "r") as f:
        return f["frames"][()]


@pytest.mark.parametrize("cli_args, kw", [
    ((("--equilibration",)), dict(equilibration=True)),
    (("--equilibration-kpa", "80", "--duration", "2"), dict(equilibration=80, duration=2)),
    (("--equilibration", "--duration", "30"), dict(equilibration=True, duration=30.0)),
])
def test_the_same_recording_as_the_command(tmp_path, cli_args, kw):
    want, _ = cli(tmp_path / "cli.h5", *cli_args)
    got = py(tmp_path / "py.h5", **kw)
    np.testing.assert_array_equal(got, want)


def test_defaults_are_the_libraries(tmp_path):
    frames = py(tmp_path / "eq.h5", equilibration=True)
    assert frames.shape[0] == lib.KM_SYNTH_EQUILIBRATION_S * 100   # 5 s at the default 100 Hz
    loaded = frames[frames.shape[0] // 2]                          # the plateau
    assert abs(np.median(loaded) - lib.KM_SYNTH_EQUILIBRATION_KPA) < 10
    doc = knotmap.synth.__doc__
    assert "%d kPa" % lib.KM_SYNTH_EQUILIBRATION_KPA in doc and "@" not in doc
    session, truth = knotmap.synth(None, **SENSOR, duration=1, equilibration=20)
    assert session.frames.shape[0] == 100
    assert len(truth["knots"]["x_mm"]) == 0 and len(truth["distractors"]["x_mm"]) == 0
    assert abs(np.median(session.frames[50]) - 20) < 5


@pytest.mark.parametrize("value, error", [(0, ValueError), (-5, ValueError),
                                          (float("nan"), ValueError), ("50", TypeError)])
def test_bad_loads_name_the_keyword(value, error):
    with pytest.raises(error, match="equilibration"):
        knotmap.synth(None, **SENSOR, duration=0.5, equilibration=value)


def test_false_is_the_session():
    a, ta = knotmap.synth(None, **SENSOR, duration=0.5, equilibration=False)
    b, tb = knotmap.synth(None, **SENSOR, duration=0.5)
    np.testing.assert_array_equal(a.frames, b.frames)
    assert len(ta["knots"]["x_mm"]) > 0
