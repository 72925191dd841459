"""MATLAB string objects (`units = "kPa"`, double quotes: class string, since R2016b)
in a MAT-file, both levels (docs/FORMAT.md 1.8). Their text lives in the file's
#subsystem#, which knotmap does not read; before session 36 such a variable was
skipped without a word (a string `units` left the values "raw counts" and the
warning said the file had no units). Now each is a source-header entry saying it was
not read and what to save instead (char), and `string` is among the assumptions
(warned on stderr, in Python an AssumedWarning).

Level 5: MATLAB writes a string as an mxOPAQUE_CLASS element (class 17): its array
flags, three int8 texts (the name, the type system "MCOS", the class "string") and a
uint32 matrix into the subsystem; scipy.io.loadmat reads the fixture so (the
reference). v7.3: a uint32 dataset with MATLAB_class "string" and
MATLAB_object_decode 3."""
import struct
import warnings

import numpy as np
import pytest

from km_cli import run_ok

sio = pytest.importorskip("scipy.io")
h5py = pytest.importorskip("h5py")
knotmap = pytest.importorskip("knotmap")
from test_matlab_v5 import _el, _matrix, mat5  # noqa: E402  (the format's own writer)
from test_matlab_v73 import mat73  # noqa: E402

R, C, T = 6, 5, 12
META = np.array([0xDD000000, 2, 1, 1, 1, 1], "u4")  # what MATLAB's string metadata looks like


def frames():
    return (np.random.default_rng(2).random((R, C, T)) * 40).astype("f4")


def mcos(name, cls=b"string"):
    body = _el("<", 6, struct.pack("<II", 17, 0), small=False)
    body += _el("<", 1, name.encode()) + _el("<", 1, b"MCOS") + _el("<", 1, cls)
    body += _matrix("<", "", META[:, None], "u4")
    return struct.pack("<II", 14, len(body)) + body


def v5_file(path, **chars):
    return mat5(path, {"frames": frames(), "time": np.arange(T)[None, :] / 10.0, **chars},
                extra=mcos("units") + mcos("when", b"datetime"))


def v73_file(path):
    mat73(path, {"frames": frames(), "time": np.arange(T)[None, :] / 10.0})
    with h5py.File(path, "r+") as f:
        d = f.create_dataset("units", data=META[None, :].T)
        d.attrs["MATLAB_class"] = np.bytes_(b"string")
        d.attrs["MATLAB_object_decode"] = np.int32(3)
    return path


def test_the_level_5_fixture_is_what_scipy_reads_as_an_object(tmp_path):
    p = mat5(tmp_path / "one.mat", {"frames": frames()}, extra=mcos("units"))
    o = sio.loadmat(p)["None"][0]  # scipy keys an opaque object "None"
    assert (o["s0"], o["s1"], o["s2"]) == (b"units", b"MCOS", b"string")
    assert np.array_equal(o["arr"].ravel(), META)


@pytest.mark.parametrize("level", ["v5", "v73"])
def test_a_string_units_is_said_not_skipped(tmp_path, level):
    p = v5_file(tmp_path / "s.mat") if level == "v5" else v73_file(tmp_path / "s.mat")
    r = run_ok("info", p)
    said = r.stdout.split("assumed:")[1].splitlines()[0]
    assert "string" in said.split(", ") or "string" in said.split(","), said
    assert "units = (a MATLAB string, not read: save char(units))" in r.stdout
    assert "a MATLAB string object" in r.stderr and "char" in r.stderr
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        knotmap.read_session(str(p))
    texts = [str(x.message) for x in w if issubclass(x.category, knotmap.AssumedWarning)]
    assert any("a MATLAB string object" in t for t in texts), texts


def test_char_text_is_read_and_nothing_said(tmp_path):
    p = tmp_path / "c.mat"
    sio.savemat(p, {"frames": frames(), "time": np.arange(T) / 10.0, "units": "kPa"})
    r = run_ok("info", p)
    assert "units:        kPa" in r.stdout
    assert "string" not in r.stdout.split("assumed:")[1].splitlines()[0]
    assert "MATLAB string" not in r.stderr
