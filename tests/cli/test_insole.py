"""The Tekscan F-Scan walk (datasets/real/tekscan_fscan: an in-shoe insole, a foot in
walking) listed 7 "knot candidates" on a foot without a word until session 41. The
candidates are where the foot bears its load; knotmap now says so (`insole` in
`assumed`, docs/FORMAT.md 1.3) and leaves detection as it is: the same file with another
SENSOR_TYPE gives the same candidates and no such word."""
import numpy as np
import pytest

from km_cli import TEKSCAN, run_ok

h5py = pytest.importorskip("h5py")
SAYS = "an in-shoe sensor (Tekscan F-Scan insole)"


def other_sensor(tmp_path):
    p = tmp_path / "mat.asf"
    text = TEKSCAN.read_bytes()
    assert b"SENSOR_TYPE FSCAN" in text
    p.write_bytes(text.replace(b"SENSOR_TYPE FSCAN", b"SENSOR_TYPE BPMS"))  # a body mat
    return p


def test_info_says_an_insole(tmp_path):
    r = run_ok("info", TEKSCAN, "--mode", "mat")
    assert "assumed:      insole\n" in r.stdout
    assert r.stderr.count("warning") == 1 and SAYS in r.stderr and "trigger points" in r.stderr
    r = run_ok("info", other_sensor(tmp_path), "--mode", "mat")
    assert "assumed:      nothing\n" in r.stdout and r.stderr == ""


def test_process_labels_the_insole_and_finds_the_same_candidates(tmp_path):
    out = {}
    for name, src in (("fscan", TEKSCAN), ("other", other_sensor(tmp_path))):
        res = tmp_path / (name + ".h5")
        r = run_ok("process", "-q", src, "-o", res)
        assert (SAYS in r.stderr) == (name == "fscan"), r.stderr
        with h5py.File(res) as f:
            out[name] = (f["session"].attrs["assumed"], f["candidates"]["x_mm"][()],
                         f["candidates"]["y_mm"][()], f["candidates"]["score"][()])
    assert out["fscan"][0] == "mode,insole" and out["other"][0] == "mode"
    assert len(out["fscan"][1]) > 0
    for a, b in zip(out["fscan"][1:], out["other"][1:]):
        np.testing.assert_array_equal(a, b)
    rep = tmp_path / "r.html"
    run_ok("report", tmp_path / "fscan.h5", "-o", rep)
    assert "an in-shoe insole is a foot: its candidates are where it bears its load, not knots" in rep.read_text()
    assert "in-shoe sensor" in run_ok("info", tmp_path / "fscan.h5").stdout
