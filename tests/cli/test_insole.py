"""The Tekscan F-Scan walk (datasets/real/tekscan_fscan: an in-shoe insole, a foot in
walking) listed 7 "knot candidates" on a foot without a word until session 41. The
candidates are where the foot bears its load; knotmap now says so (`insole` in
`assumed`, docs/FORMAT.md 1.3) and leaves detection as it is: the same file with another
SENSOR_TYPE gives the same candidates and no such word."""
import numpy as np
import pytest

from km_cli import TEKSCAN, run, run_ok

h5py = pytest.importorskip("h5py")
SAYS = "an in-shoe sensor (a Tekscan F-Scan or XSENSOR insole)"
# What the picture's legend and the report say of an insole (session 42: said on
# its own line, not among the values assumed)
NOTE = ("An in-shoe insole: the pressure under a foot. The candidates mark where the foot "
        "bears its load (heel, forefoot, toes), not trigger points.")


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
    assert out["fscan"][0] == "insole" and out["other"][0] == "mode"
    assert len(out["fscan"][1]) > 0
    for a, b in zip(out["fscan"][1:], out["other"][1:]):
        np.testing.assert_array_equal(a, b)
    rep = tmp_path / "r.html"
    run_ok("report", tmp_path / "fscan.h5", "-o", rep)
    assert NOTE in rep.read_text()
    assert "in-shoe sensor" in run_ok("info", tmp_path / "fscan.h5").stdout


def test_picture_and_report_read_as_a_foot(tmp_path):
    """Session 42: the legend said "Head and feet are not recorded in the file" and
    "Assumed, not in the recording: mode mat, a body on a roller or mat, but an in-shoe
    insole is a foot ..." of a foot. Now the insole is its own sentence, the subtitle
    says what was recorded, and the orientation note names toes and heel; a body mat
    (the same file as BPMS) keeps its words. Fails on 80e4cd4."""
    for name, src in (("fscan", TEKSCAN), ("other", other_sensor(tmp_path))):
        res = tmp_path / (name + ".h5")
        run_ok("process", "-q", src, "-o", res)
        run_ok("render", res, "-o", tmp_path / (name + ".svg"))
        run_ok("report", res, "-o", tmp_path / (name + ".html"))
    for ext in ("svg", "html"):
        foot = (tmp_path / ("fscan." + ext)).read_text()
        mat = (tmp_path / ("other." + ext)).read_text()
        assert NOTE in foot and NOTE not in mat, ext
        assert "Which end is the toes and which the heel" in foot and "Head and feet" not in foot
        assert "Head and feet are not recorded in the file." in mat
        assert "in-shoe insole" in foot and "in-shoe insole" not in mat
        assert "pressure mat" in mat and "pressure mat" not in foot
        # the insole is not listed among the values assumed, and its mode is known
        # (session 43: "Assumed, not in the recording: mode mat." before)
        assert "Assumed, not in the recording" not in foot, ext
        assert "Assumed, not in the recording: mode mat." in mat, ext


XSENSOR_BLOCK = """"Software:","XSENSOR Pro V8"
"Frame:","1"
"Time:","12:00:00.000"
"{key}:","{value}"
"Rows:","3"
"Columns:","2"
"Sensel Width (cm):","0,508"
"Sensel Height (cm):","0,508"
"Units:","kPa"
"0,00","1,50"
"3,00","4,00"
"0,00","7,00"
"Frame:","2"
"Time:","12:00:00.100"
"0,00","2,50"
"3,00","5,00"
"0,00","7,50"
"""


@pytest.mark.parametrize("key, value, insole", [
    ("Insole", "Left", True),               # XSENSOR's key for a foot product's sensor
    ("Sensor", "LX210 Insole Right", True),  # a sensor named an insole
    ("Sensor", "Left", False),               # two mats are Left and Right too
    ("Sensor", "Seat", False)])
def test_xsensor_insole_is_labelled(tmp_path, key, value, insole):
    """Session 42: an XSENSOR insole export said nothing (F-Scan's did since session
    41). Fails on 80e4cd4 for the two insoles."""
    p = tmp_path / "x.csv"
    p.write_text(XSENSOR_BLOCK.format(key=key, value=value))
    r = run_ok("info", p, "--mode", "mat")
    listed = r.stdout.split("assumed:")[1].splitlines()[0].strip().split(",")
    assert ("insole" in listed) == insole, r.stdout
    assert (SAYS in r.stderr) == insole, r.stderr


def test_xsensor_wide_insoles_are_labelled(tmp_path):
    """The wide export of two insoles (an `Insole` column per sensor) is labelled, in
    the result too."""
    from km_cli import REPO
    src = REPO / "tests" / "data" / "good" / "xsensor_wide_2sensors.csv"
    res = tmp_path / "r.h5"
    r = run_ok("process", "-q", src, "--sensor", "1", "--pitch", "5", "--mode", "mat", "-o", res)
    assert SAYS in r.stderr
    with h5py.File(res) as f:
        assert f["session"].attrs["assumed"] == "insole"


@pytest.mark.parametrize("which", ["fscan", "xsensor"])
def test_an_insole_is_not_assumed_a_mat(tmp_path, which):
    """Session 43: an insole's mode is the file's (a grid under a foot, read as a mat),
    not an assumption: without --mode, F-Scan and XSENSOR insoles said "no acquisition
    mode in the file: assuming a mat" beside "not a body on a roller or a mat", and
    `assumed` held `mode`. `--mode roller` is a conflict naming the insole (exit 64),
    `--mode mat` agrees. Fails on b471879."""
    if which == "fscan":
        src = TEKSCAN
    else:
        src = tmp_path / "x.csv"
        src.write_text(XSENSOR_BLOCK.format(key="Insole", value="Left"))
    r = run_ok("info", src)
    listed = r.stdout.split("assumed:")[1].splitlines()[0].strip().split(",")
    assert "insole" in listed and "mode" not in listed, r.stdout
    assert "mode:         mat\n" in r.stdout
    assert "assuming a mat" not in r.stderr and "acquisition mode" not in r.stderr, r.stderr
    assert SAYS in r.stderr
    res = tmp_path / "r.h5"
    r = run_ok("process", "-q", src, "-o", res)
    assert "assuming a mat" not in r.stderr, r.stderr
    with h5py.File(res) as f:
        assert "mode" not in f["session"].attrs["assumed"].split(",")
        assert f["session"].attrs["mode"] == "mat"
    info = run_ok("info", res).stdout
    assert "assuming a mat" not in info and "in-shoe sensor" in info
    r = run("info", src, "--mode", "roller")
    assert r.returncode == 64, r.stderr
    assert str(src) in r.stderr and "(roller)" in r.stderr and "in-shoe insole" in r.stderr
    run_ok("info", src, "--mode", "mat")
