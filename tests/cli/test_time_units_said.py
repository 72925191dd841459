"""Another tool's HDF5 /time without a units attribute is read as seconds, and
that is said (session 44): a warning on stderr naming the attribute to give,
`time_units` in `info`'s assumed line, the result's /session `assumed` and
the picture, Python's AssumedWarning.  Before, a script's /time in
milliseconds (0, 10, 20, ...) gave 0.1 Hz instead of 100 Hz without a word."""
import subprocess
import sys

import h5py
import numpy as np
import pytest

from km_cli import REPO, run_ok

FRAMES = (np.random.default_rng(0).random((50, 8, 6)) * 100).astype("f4")


def foreign(path, units=None):
    with h5py.File(path, "w") as f:
        f["frames"] = FRAMES
        f["time"] = np.arange(50) * 10.0                 # milliseconds, unsaid
        if units is not None:
            f["time"].attrs["units"] = units
    return path


def said(stderr):
    return [l for l in stderr.splitlines() if "no units attribute on /time" in l]


def test_said_everywhere(tmp_path):
    p = foreign(tmp_path / "ms.h5")
    r = run_ok("info", "--format", "session", p)
    assert len(said(r.stderr)) == 1 and 'units = "ms"' in said(r.stderr)[0], r.stderr
    assert "time_units" in r.stdout.split("assumed:")[1].splitlines()[0]
    assert "rate:         0.1 Hz" in r.stdout
    out, svg = tmp_path / "r.h5", tmp_path / "r.svg"
    r = run_ok("process", "-q", "--format", "session", p, "-o", out)
    assert len(said(r.stderr)) == 1
    with h5py.File(out) as f:
        assert "time_units" in f["session"].attrs["assumed"].split(",")
    run_ok("render", "-q", out, "-o", svg)
    assert "/time in seconds (it has no units attribute)" in svg.read_text("utf-8")
    pytest.importorskip("knotmap")  # the child imports it (not on the path in .ci/sanitize)
    code = ("import sys, warnings, knotmap\nwith warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    knotmap.read_session(sys.argv[1], format='session')\n"
            "print([str(x.message) for x in w if 'on /time' in str(x.message)])\n")
    r = subprocess.run([sys.executable, "-c", code, str(p)], capture_output=True, text=True)
    assert "no units attribute on /time" in r.stdout, r.stdout + r.stderr


@pytest.mark.parametrize("units", ["ms", "s"])
def test_a_unit_given_is_not_assumed(tmp_path, units):
    r = run_ok("info", "--format", "session", foreign(tmp_path / "t.h5", units))
    assert said(r.stderr) == [] and "time_units" not in r.stdout
    assert ("rate:         %s Hz" % ("100" if units == "ms" else "0.1")) in r.stdout


def test_knotmap_sessions_are_in_seconds():
    r = run_ok("info", REPO / "datasets" / "example" / "roller_example.h5")
    assert said(r.stderr) == [] and "time_units" not in r.stdout
