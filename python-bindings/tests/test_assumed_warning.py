"""What was assumed is warned in Python as on the command line.

`knotmap info` and `knotmap process` print a "warning:" line for the values
the file lacks (1 Hz, 1 mm, raw, a mat; two or more of those in one line); before session 29 read_session and
process() only listed the names in metadata["assumed"], so a Python user
computed sizes in "mm" that were taxels without a word.  The sentences are
the library's (km_assumed_text), so the two cannot drift.
"""
import os
import subprocess
import warnings

import pytest

import knotmap
from knotmap._params import python_spelling


def _bed(datasets_dir):
    return os.path.join(datasets_dir, "real", "physionet_pmd", "experiment-i", "S1", "1.txt")


def _cli_warnings(path, *args):
    """The sentences `knotmap info` warns on stderr for `path`."""
    binary = os.environ.get("KNOTMAP_BIN")
    if not binary:
        pytest.skip("KNOTMAP_BIN is not set")
    r = subprocess.run([binary, "info", path, *args], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    prefix = "knotmap: %s: warning: " % path
    return [line[len(prefix):] for line in r.stderr.splitlines() if line.startswith(prefix)]


def _assumed_warnings(record):
    return [str(w.message) for w in record if issubclass(w.category, knotmap.AssumedWarning)]


def test_read_session_warns_what_the_cli_warns(datasets_dir):
    bed = _bed(datasets_dir)
    with pytest.warns(knotmap.AssumedWarning) as record:
        s = knotmap.read_session(bed, grid="64x32")
    got = _assumed_warnings(record)
    names = s.metadata["assumed"].split(",")
    assert names == ["row_pitch_mm", "col_pitch_mm", "frame_rate_hz", "units", "mode"]
    # the five in one warning, as the CLI's one line (session 40; one each before)
    assert len(got) == 1
    assert all(m.startswith(bed + ": ") for m in got)
    # the same sentences, the options spelled as Python's keywords (session 35)
    cli = _cli_warnings(bed, "--grid", "64x32")
    assert [m[len(bed) + 2:] for m in got] == [python_spelling(m) for m in cli]
    assert "frame rate" in cli[0] and "1 Hz" in cli[0] and "--rate HZ" in cli[0]
    assert "1 Hz" in got[0] and "rate=HZ" in got[0]
    assert "units='kPa'|'mmHg'|'N/cm2'" in got[0] and "--" not in " ".join(got)


def test_given_values_are_not_warned(datasets_dir):
    bed = _bed(datasets_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("error", knotmap.AssumedWarning)
        s = knotmap.read_session(bed, grid="64x32", rate=1, pitch=28.575, units="mmHg",
                                 mode="mat")
    assert s.metadata["assumed"] == ""
    with pytest.warns(knotmap.AssumedWarning) as record:
        knotmap.read_session(bed, grid="64x32", pitch=28.575, units="mmHg", mode="mat")
    got = _assumed_warnings(record)
    assert len(got) == 1 and "no frame rate in the file" in got[0]


def test_a_complete_session_warns_nothing(tmp_path):
    path = str(tmp_path / "s.h5")
    knotmap.synth(path, mode="roller", grid=(16, 12), rate=50, duration=1, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", knotmap.AssumedWarning)
        s = knotmap.read_session(path)
    assert s.metadata["assumed"] == ""


def test_process_warns_and_batch_records(datasets_dir, tmp_path):
    bed = _bed(datasets_dir)
    with pytest.warns(knotmap.AssumedWarning) as record:
        summary = knotmap.process(bed, str(tmp_path / "bed.h5"), grid="64x32")
    got = _assumed_warnings(record)
    assert summary["info"]["assumed"] == "row_pitch_mm,col_pitch_mm,frame_rate_hz,units,mode"
    assert len(got) == 1 and all(m.startswith(bed + ": ") for m in got)  # the 5 in one
    rec = knotmap.batch([bed], str(tmp_path / "out"), grid="64x32", progress=False)
    assert rec[0]["status"] == "ok", rec[0]
    assert rec[0]["assumed"] == summary["info"]["assumed"]


def test_the_sentence_of_a_name():
    """km_assumed_text reads `len` bytes of a comma-separated list."""
    lib, ffi = knotmap._lib, knotmap._ffi
    names = b"frame_rate_hz,units"
    first = lib.km_assumed_text(names, 13)
    assert ffi.string(first).decode().startswith("no frame rate in the file")
    assert lib.km_assumed_text(names, 12) == ffi.NULL      # "frame_rate_h"
    assert lib.km_assumed_text(b"sensor_gain", 11) == ffi.NULL
    assert lib.km_assumed_text(ffi.NULL, 0) == ffi.NULL
    with pytest.warns(knotmap.AssumedWarning, match="x.txt: sensor_gain assumed"):
        knotmap._core.warn_assumed("x.txt", "sensor_gain")


def test_a_text_read_as_one_frame_warns_its_shape(tmp_path):
    """50 lines of 48 values without a grid: one 50 x 48 frame, said with its
    shape as the CLI says it (session 39; before, nothing was said)."""
    import numpy as np
    path = str(tmp_path / "frames.txt")
    np.savetxt(path, np.arange(50 * 48).reshape(50, 48) % 97, fmt="%d")
    with pytest.warns(knotmap.AssumedWarning) as record:
        s = knotmap.read_session(path)
    got = [m for m in _assumed_warnings(record) if "no grid given" in m]
    assert s.metadata["assumed"].split(",")[-1] == "text_layout"
    assert len(got) == 1 and "one 50 x 48 frame" in got[0], got
    assert "grid=(R, C)" in got[0] and "--" not in got[0]
    assert [m[len(path) + 2:] for m in got] == \
        [python_spelling(m) for m in _cli_warnings(path) if "no grid given" in m]
    with pytest.warns(knotmap.AssumedWarning) as record:
        knotmap.process(path, str(tmp_path / "r.h5"))
    assert sum("one 50 x 48 frame" in m for m in _assumed_warnings(record)) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", knotmap.AssumedWarning)
        s = knotmap.read_session(path, grid=(8, 6), rate=1, pitch=1, units="raw", mode="mat")
    assert s.frames.shape[0] == 50


def test_the_first_of_two_xsensor_sensors_is_warned(datasets_dir):
    """Session 39: read_session of a two-sensor XSENSOR export read the first
    without a word; now an AssumedWarning naming sensor=N, none with sensor=."""
    path = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "good",
                        "xsensor_block_2sensors.csv")
    with pytest.warns(knotmap.AssumedWarning) as record:
        s = knotmap.read_session(path)
    got = [m for m in _assumed_warnings(record) if "several sensors" in m]
    assert len(got) == 1 and "sensor=N" in got[0], got
    assert "sensor" in s.metadata["assumed"].split(",")
    with pytest.warns(knotmap.AssumedWarning) as record:
        s = knotmap.read_session(path, sensor=1)
    assert not [m for m in _assumed_warnings(record) if "several sensors" in m]
    assert "sensor" not in s.metadata["assumed"].split(",")
