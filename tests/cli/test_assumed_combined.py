"""The values any file may lack (row and column pitch, frame rate, units, mode) are said in
one warning line when two or more were assumed, naming each with what was assumed and the
option that gives it; every other assumption keeps its own line. Before session 40 each
had a line: the PhysioNet air mat (a text matrix that carries nothing) printed 6 warning
lines, now 2. Nothing else changes: each name is still in the `assumed:` line, in the
result's /session `assumed` and in its legend (tests/cli/test_assumptions.py,
test_assumed_shown.py). The reference for which names were assumed is the result's own
/session `assumed` attribute, read with h5py."""
import numpy as np
import pytest

from km_cli import REPO, run_ok

h5py = pytest.importorskip("h5py")

AIR = REPO / "datasets" / "real" / "physionet_pmd" / "experiment-ii" / "S1" / "Air_Mat" / "Matrix_Air_B1.txt"

# name in /session assumed -> (its words in the combined line, its value, its option)
PLAIN = {"row_pitch_mm": ("row pitch", "1 mm", "--pitch MM or RxC"),
         "col_pitch_mm": ("column pitch", "1 mm", "--pitch MM or RxC"),
         "frame_rate_hz": ("frame rate", "1 Hz", "--rate HZ"),
         "units": ("units knotmap knows", "raw counts", "--units kPa|mmHg|N/cm2|psi|Pa|MPa"),
         "mode": ("acquisition mode", "a mat", "--mode mat|roller")}


def warnings_of(stderr):
    return [l for l in stderr.splitlines() if ": warning: " in l]


def assumed_by_result(tmp_path, path, *opts):
    out = tmp_path / "r.h5"
    r = run_ok("process", "-q", *opts, path, "-o", out)
    with h5py.File(out) as f:
        a = f["session"].attrs["assumed"]
    return (a.decode() if isinstance(a, bytes) else str(a)).split(","), r.stderr


def check_combined(line, names):
    """Every plain name assumed is in the line with its value and option, in order."""
    kinds = [PLAIN[n][0] for n in names]
    said = line.split(": warning: ", 1)[1]
    assert said.startswith("no " + ", ".join(kinds[:-1]) + " or " + kinds[-1] + " in the file: "), line
    values = ", ".join(PLAIN[n][1] for n in names[:-1]) + " and " + PLAIN[names[-1]][1]
    assert ": assuming " + values + " (pass " in said, line
    for n in names:
        assert PLAIN[n][2] in said.split("(pass ", 1)[1], (n, line)


def test_the_air_mat_says_its_six_assumptions_in_two_lines(tmp_path):
    names, stderr = assumed_by_result(tmp_path, AIR)
    r = run_ok("info", AIR)
    for err in (r.stderr, stderr):
        lines = warnings_of(err)
        plain = [n for n in names if n in PLAIN]
        others = [n for n in names if n not in PLAIN]
        assert len(plain) == 5 and others == ["text_layout"], names
        assert len(lines) == 2, err
        check_combined(lines[0], plain)
        assert "no grid given: the text read as one 64 x 27 frame" in lines[1], err
    assert "assumed:      " + ",".join(names) in r.stdout


@pytest.mark.parametrize("given", [("--rate", "20"), ("--units", "kPa", "--mode", "mat"),
                                   ("--pitch", "8", "--rate", "20")])
def test_only_what_was_assumed_is_in_the_line(tmp_path, given):
    p = tmp_path / "s.npy"
    np.save(p, np.random.default_rng(1).random((30, 6, 5)).astype("f4"))
    names, stderr = assumed_by_result(tmp_path, p, "--time-axis", "first", *given)
    plain = [n for n in names if n in PLAIN]
    lines = [l for l in warnings_of(stderr) if " in the file: assuming " in l]
    assert len(lines) == 1, stderr
    check_combined(lines[0], plain)
    for n in set(PLAIN) - set(plain):
        assert PLAIN[n][0] + "," not in lines[0] and PLAIN[n][2] not in lines[0]


def test_one_assumed_keeps_its_own_sentence(tmp_path):
    p = tmp_path / "s.npy"
    np.save(p, np.random.default_rng(2).random((30, 6, 5)).astype("f4"))
    names, stderr = assumed_by_result(tmp_path, p, "--time-axis", "first", "--pitch", "8",
                                      "--units", "kPa", "--mode", "mat")
    assert names == ["frame_rate_hz"]
    assert warnings_of(stderr) == [
        "knotmap: %s: warning: no frame rate in the file: assuming 1 Hz (pass --rate HZ)" % p]
