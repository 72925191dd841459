"""A folder of mixed files processed at once (`knotmap process mix/* -o out/`) ends
with one line on stderr that counts the inputs and names the failed ones (session 47,
user18): before, the errors were scattered among the summaries and only the exit status
(the first failure's) said that anything failed.  The tally cases fail on 88fc8a2's
build; the controls (one input; every input processed; -q) pass there too."""
import shutil

import pytest

from km_cli import BAD, EXAMPLE, TEKSCAN, run


@pytest.fixture
def mix(tmp_path):
    d = tmp_path / "mix"
    d.mkdir()
    shutil.copy(EXAMPLE, d / "a_roller.h5")
    shutil.copy(TEKSCAN, d / "b_walk.asf")
    (d / "c_empty.csv").write_bytes(b"")
    (d / "d_notes.txt").write_text("notes about the sessions\n")
    (d / "e_cut.asf").write_bytes(TEKSCAN.read_bytes()[:3000])
    shutil.copy(BAD / "garbage.h5", d / "f_garbage.h5")   # refused by the probe
    return d


def test_mixed_folder_ends_with_the_tally(tmp_path, mix):
    r = run("process", *sorted(mix.iterdir()), "-o", tmp_path / "out", cwd=tmp_path)
    assert r.returncode == 65, r.stderr
    last = r.stderr.splitlines()[-1]
    assert last == ("knotmap: 2 of 6 inputs processed (results in %s); 4 failed, said above: "
                    "%s/c_empty.csv, %s/d_notes.txt, %s/e_cut.asf, %s/f_garbage.h5"
                    % ((tmp_path / "out",) + (mix,) * 4)), r.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "a_roller.knotmap.h5", "b_walk.knotmap.h5"]
    # each failure's own error is above it, once
    for name in ("c_empty.csv", "d_notes.txt", "e_cut.asf", "f_garbage.h5"):
        assert sum(l.startswith("knotmap: %s/%s: " % (mix, name))
                   for l in r.stderr.splitlines()) == 1, (name, r.stderr)


def test_skipped_results_and_more_than_eight_failures(tmp_path, mix):
    out = tmp_path / "out"
    out.mkdir()
    assert run("process", "-q", mix / "a_roller.h5", "-o", out / "a_roller.knotmap.h5",
               cwd=tmp_path).returncode == 0
    inputs = [out / "a_roller.knotmap.h5", mix / "a_roller.h5"]
    for k in range(9):
        (mix / ("z%d.csv" % k)).write_bytes(b"")
        inputs.append(mix / ("z%d.csv" % k))
    r = run("process", *inputs, "-o", tmp_path / "o2", cwd=tmp_path)
    assert r.returncode == 65, r.stderr
    last = r.stderr.splitlines()[-1]
    assert last.startswith("knotmap: 1 of 11 inputs processed (results in %s); 9 failed, said "
                           "above: %s/z0.csv, " % (tmp_path / "o2", mix)), last
    assert last.endswith("%s/z7.csv and 1 more; 1 skipped (a knotmap result, not a session)"
                         % mix), last


@pytest.mark.parametrize("case", ["one input", "all processed", "quiet"])
def test_no_tally_when_nothing_to_say(tmp_path, mix, case):
    args = {"one input": [mix / "c_empty.csv"],
            "all processed": [mix / "a_roller.h5", mix / "b_walk.asf", "-o", tmp_path / "o"],
            "quiet": ["-q", mix / "a_roller.h5", mix / "c_empty.csv", "-o", tmp_path / "o"]}[case]
    r = run("process", *args, cwd=tmp_path)
    assert r.returncode == (0 if case == "all processed" else 65), r.stderr
    assert "inputs processed" not in r.stderr, r.stderr
