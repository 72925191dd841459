"""MAT-files from writers other than scipy (docs/FORMAT.md 1.8), as a lab brings them:
GNU Octave's `save -v6`, `-v7`, a struct `s.frames`/`s.time`, `-v4` and `-text`
(tests/data/octave, made by tests/data/octave/make.m; Octave is not needed here), and
the struct and tie cases from scipy.io.savemat. The reference is scipy.io.loadmat of
the same file; frames must equal it bit for bit."""
import warnings
from pathlib import Path

import numpy as np
import pytest

from km_cli import refused, run, run_ok

sio = pytest.importorskip("scipy.io")
knotmap = pytest.importorskip("knotmap")
h5py = pytest.importorskip("h5py")

OCTAVE = Path(__file__).resolve().parents[1] / "data" / "octave"


def knotmap_frames(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = knotmap.read_session(str(path), **kw)
    return np.asarray(s.frames), np.asarray(s.time)


def as_trc(a):
    """MATLAB's frames(r, c, t) as knotmap's [T, R, C] float32."""
    return np.moveaxis(np.asarray(a), -1, 0).astype("f4")


def assumed(stdout):
    return stdout.split("assumed:")[1].splitlines()[0].strip().split(",")


@pytest.mark.parametrize("name", ["v6.mat", "v7.mat"])
def test_octave_v6_v7_equal_loadmat(name):
    p = OCTAVE / name
    ref = sio.loadmat(p)
    got, t = knotmap_frames(p)
    assert np.array_equal(got.view("u4"), as_trc(ref["frames"]).view("u4"))
    assert np.array_equal(t, ref["time"].ravel())
    r = run_ok("info", p)
    assert "rate:         100 Hz" in r.stdout and "units:        kPa" in r.stdout
    assert "written by Octave" in r.stdout
    assert "time_axis" not in assumed(r.stdout)


def test_octave_uint16_and_logical_mask():
    p = OCTAVE / "v6_uint16_mask.mat"
    ref = sio.loadmat(p)
    assert ref["frames"].dtype == np.uint16 and ref["mask"].dtype == np.uint8
    got, _ = knotmap_frames(p)
    assert np.array_equal(got, as_trc(ref["frames"]))
    assert "mask:         29 valid, 1 masked of 30 taxels" in run_ok("info", p).stdout


@pytest.mark.parametrize("name", ["struct_v6.mat", "struct_v7.mat"])
def test_octave_struct_fields_are_the_session(name, tmp_path):
    # s.frames, s.time, s.fs, s.units, s.subject: before session 33 "no variable `frames`
    # and no single 3-D array; the file holds s [1 x 1 struct]" (exit 65).
    p = OCTAVE / name
    s = sio.loadmat(p)["s"][0, 0]
    got, t = knotmap_frames(p)
    assert np.array_equal(got.view("u4"), as_trc(s["frames"]).view("u4"))
    assert np.array_equal(t, s["time"].ravel())
    r = run_ok("info", p)
    assert "rate:         50 Hz" in r.stdout and "units:        kPa" in r.stdout
    assert "s.fs = 50" in r.stdout and "s.subject = P07 left thigh" in r.stdout
    assert "units" not in assumed(r.stdout) and "time_axis" not in assumed(r.stdout)
    out = tmp_path / "s.knotmap.h5"
    run_ok("process", "-q", p, "-o", out)
    with h5py.File(out) as h:
        assert h["metrics"]["time"].shape[0] == 8


def test_octave_v4_and_text_are_named():
    # before: "not a MAT-file of level 5 (its header does not begin ...)" for both
    for name, words in (("v4.mat", ("a MAT-file of level 4", "save -v7")),
                        ("text.mat", ("an Octave text file", "save -v7"))):
        r = run("info", OCTAVE / name)
        assert r.returncode == 65, r.stderr
        assert str(OCTAVE / name) in r.stderr
        for w in words:
            assert w in r.stderr


def test_octave_text_is_named_by_any_name(tmp_path):
    # before: a .txt went to the text reader, "line 1: non-numeric value '#' in column 1"
    p = tmp_path / "trial.txt"
    p.write_bytes((OCTAVE / "text.mat").read_bytes())
    refused(tmp_path, p, 65, "an Octave text file", "save -v7")


def test_scipy_format_4_is_named(tmp_path):
    p = tmp_path / "v4.mat"
    sio.savemat(p, {"frames": np.ones((3, 4), "f8")}, format="4")
    refused(tmp_path, p, 65, "a MAT-file of level 4", "format='4'")


@pytest.mark.parametrize("compress", [False, True])
def test_scipy_struct_and_its_metadata(tmp_path, compress):
    rng = np.random.default_rng(8)
    a = (rng.random((12, 9, 30)) * 50).astype("f4")          # frames(r, c, t)
    p = tmp_path / "s.mat"
    sio.savemat(p, {"rec": {"frames": a, "time": np.arange(30) / 20.0, "units": "mmHg",
                            "row_pitch_mm": 5.0, "col_pitch_mm": 4.0},
                    "other": {"units": "banana", "frame_rate_hz": -1.0}},
                do_compression=compress)
    got, t = knotmap_frames(p)
    assert np.array_equal(got, as_trc(a)) and np.allclose(t, np.arange(30) / 20.0)
    r = run_ok("info", p)
    assert "units:        mmHg" in r.stdout and "pitch:        5 x 4 mm" in r.stdout
    assert "rate:         20 Hz" in r.stdout
    assert "other.units = banana" in r.stdout          # another struct's field: listed only


def test_struct_without_frames_field_and_two_structs(tmp_path):
    a = np.arange(4 * 3 * 6, dtype="f4").reshape(4, 3, 6)
    p = tmp_path / "only3d.mat"                           # the only 3-D array is a field
    sio.savemat(p, {"data": {"pressure": a, "fs": 100.0}})
    got, _ = knotmap_frames(p)
    assert np.array_equal(got, as_trc(a))
    q = tmp_path / "two.mat"
    sio.savemat(q, {"left": {"frames": a}, "right": {"frames": a}})
    r = refused(tmp_path, q, 65, "more than one struct with a field `frames`", "left.frames [4 x 3 x 6",
                "right.frames [4 x 3 x 6")
    assert "struct" in r.stderr


def test_time_as_long_as_both_ends_is_assumed(tmp_path):
    # frames T x R x T with a time of T values: the file does not tell which end is time.
    # Before, time-last was taken silently (nothing in `assumed`, no warning).
    a = np.arange(16 * 5 * 16, dtype="f4").reshape(16, 5, 16)
    p = tmp_path / "tie.mat"
    sio.savemat(p, {"frames": a, "time": np.arange(16) / 100.0})
    r = run_ok("info", p)
    assert "time_axis" in assumed(r.stdout)
    assert "--time-axis first|last" in r.stderr
    got, _ = knotmap_frames(p)
    assert np.array_equal(got, as_trc(a))                 # the last on a tie, as documented
    r = run_ok("info", "--time-axis", "first", p)
    assert "time_axis" not in assumed(r.stdout)


def test_crafted_structs_are_refused(tmp_path):
    good = (OCTAVE / "struct_v6.mat").read_bytes()
    assert good[180:184] == b"\x40\0\0\0" and good[512:516] == b"\x0e\0\0\0"

    def patched(name, at, value):
        p = tmp_path / name
        p.write_bytes(good[:at] + value + good[at + len(value):])
        return p
    # the field name length 0, or one that does not divide the names' bytes
    refused(tmp_path, patched("len0.mat", 180, b"\0\0\0\0"), 65, "variable s (byte 128)", "field names")
    refused(tmp_path, patched("len63.mat", 180, b"\x3f\0\0\0"), 65, "variable s (byte 128)", "field names")
    # the first field (s.frames) declares more bytes than the struct holds
    refused(tmp_path, patched("field.mat", 516, b"\0\0\0\x7f"), 65, "element at byte 128",
            "runs past the element's end")
    # a compressed struct cut in the middle
    cut = tmp_path / "cut.mat"
    cut.write_bytes((OCTAVE / "struct_v7.mat").read_bytes()[:600])
    refused(tmp_path, cut, 65, "element at byte 128", "truncated file")


def test_help_names_the_formats_a_user_brings():
    # before: neither `knotmap --help` nor `process --help` said which files are inputs
    # (matlab and npy only as --format values)
    for args in (("--help",), ("process", "--help"), ("info", "--help")):
        out = run_ok(*args).stdout
        assert ".mat" in out and ".npy" in out and ".asf" in out, args
