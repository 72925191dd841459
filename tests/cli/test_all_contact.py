"""A sheet whose unloaded floor reads above the contact threshold (docs/ALGORITHMS.md 4):
every taxel is "in contact" in every frame, so the contact area is the whole sheet and
the force and centre of pressure include the floor.  knotmap cannot tell that floor from
a body covering the sheet, so it says it: such frames carry the /metrics flag 8
ALL_CONTACT, and when every frame does the command's summary says what to pass.

Before (5f8f6b6): PhysioNet PMD experiment-ii's BodiTrak air mat (about 40 counts
everywhere, datasets/real/README.md) gave a contact area of 1728 of 1728 taxels without a
word.  The expectations come from numpy's reading of the file (np.loadtxt), not a run.
"""
import h5py
import numpy as np

from km_cli import REPO
from km_cli import run_ok as run

AIR = REPO / "datasets" / "real" / "physionet_pmd" / "experiment-ii" / "S1" / "Air_Mat" / \
    "Matrix_Air_B1.txt"
OPTS = ("--rate", "1", "--pitch", "10", "--mode", "mat")


def metrics(path):
    with h5py.File(path, "r") as f:
        return {k: f["metrics"][k][()] for k in f["metrics"]}


def test_a_floor_above_the_threshold_is_said(tmp_path):
    frame = np.loadtxt(AIR)
    assert frame.shape == (64, 27) and frame.min() > 0
    r = run("process", AIR, *OPTS, "-o", tmp_path / "r.h5")
    assert ("  every taxel above the contact threshold (0) in the frame: the contact area is "
            "the whole sheet (/metrics flags ALL_CONTACT)") in r.stdout, r.stdout
    assert "--contact-threshold V above its floor" in r.stdout
    m = metrics(tmp_path / "r.h5")
    assert m["contact_area_mm2"][0] == frame.size * 100.0
    assert m["flags"][0] & 8
    # A threshold at the floor: the lowest taxels are no contact, no flag, no warning.
    floor = frame.min()
    r = run("process", AIR, *OPTS, "--contact-threshold", floor, "-o", tmp_path / "t.h5")
    assert "contact threshold" not in r.stdout, r.stdout
    m = metrics(tmp_path / "t.h5")
    assert m["contact_area_mm2"][0] == np.sum(frame > floor) * 100.0
    assert not m["flags"][0] & 8


def test_the_flag_follows_the_frames(tmp_path):
    """Frames alternately on a floor of 2 (all contact) and with a row of zeros (not):
    the flag is set exactly on the first kind, and the summary says nothing (not every frame)."""
    rng = np.random.default_rng(2)
    f = 2.0 + rng.random((40, 8, 8))
    f[1::2, 3, :] = 0.0
    p = tmp_path / "s.txt"
    np.savetxt(p, f.reshape(40, 64), fmt="%.4f")
    r = run("process", "--grid", "8x8", "--units", "kPa", *OPTS, p, "-o", tmp_path / "r.h5")
    assert "contact threshold" not in r.stdout, r.stdout
    flags = metrics(tmp_path / "r.h5")["flags"]
    want = (f > 0).all(axis=(1, 2))
    np.testing.assert_array_equal((flags & 8) != 0, want)
    assert want.sum() == 20


def test_the_picture_and_the_report_say_it(tmp_path):
    """Since session 46 (user17; session 45's leftover) the picture's legend and the
    report's header say it too, with the threshold the result was made with (/params);
    before, only the command's summary and /metrics did.  A result whose frames are not
    all in contact (the threshold at the floor) says nothing."""
    run("process", AIR, *OPTS, "-o", tmp_path / "r.h5")
    run("process", AIR, *OPTS, "--contact-threshold", np.loadtxt(AIR).min(), "-o",
        tmp_path / "t.h5")
    first = "Every taxel was above the contact threshold (%s) in the frame: the contact is " \
            "the whole sheet."
    second = "If the unloaded sheet reads above %s, process again with --contact-threshold V " \
             "above its floor or --tare N."
    for name, threshold, said in (("r", "0", True), ("t", "", False)):
        run("render", tmp_path / (name + ".h5"), "-o", tmp_path / (name + ".svg"))
        run("report", tmp_path / (name + ".h5"), "-o", tmp_path / (name + ".html"))
        svg = (tmp_path / (name + ".svg")).read_text()
        html = (tmp_path / (name + ".html")).read_text()
        assert (">%s<" % (first % threshold) in svg) is said, name
        assert (">%s<" % (second % threshold) in svg) is said, name
        assert ('<p class="warn">%s %s</p>' % (first % threshold, second % threshold)
                in html) is said, name
        assert ("Every taxel" in svg + html) is said, name


def test_info_of_the_result_says_it(tmp_path):
    """`knotmap info RESULT` says it too (session 46), with the result's threshold; a
    result whose frames are not all in contact has no such line."""
    run("process", AIR, *OPTS, "--contact-threshold", "2.5", "-o", tmp_path / "r.h5")
    run("process", AIR, *OPTS, "--contact-threshold", np.loadtxt(AIR).min(), "-o",
        tmp_path / "t.h5")
    said = run("info", tmp_path / "r.h5").stdout
    assert ("\ncontact:      every taxel above the contact threshold (2.5) in the frame: the "
            "contact area is the whole sheet (/metrics flags ALL_CONTACT); if the unloaded "
            "sheet reads above 2.5, process again with --contact-threshold V above its floor "
            "or --tare N\n") in said, said
    assert "contact:" not in run("info", tmp_path / "t.h5").stdout


def test_info_help_says_it():
    """`knotmap info --help` lists it among what a result's summary says (session 46)."""
    said = " ".join(run("info", "--help").stdout.split())
    assert ("the table sizes, whether every taxel was in contact in every frame, and the best "
            "candidates") in said
