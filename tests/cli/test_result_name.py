"""`knotmap process IN -o map.png` (a new user asking for the picture) wrote the
HDF5 result under the picture's name and exited 0 until session 39; a result
under a picture's or a report's name opens in no viewer of that kind (as
`knotmap report -o r.pdf`, refused since session 38).  Refused now, before
anything is read: exit 64, the name and what to run instead, nothing written."""
import pytest

from km_cli import EXAMPLE, run, run_ok


@pytest.mark.parametrize("name, says", [("map.png", "knotmap render"), ("map.SVG", "knotmap render"),
                                        ("map.pdf", "knotmap render"), ("r.html", "knotmap report"),
                                        ("r.htm", "knotmap report")])
def test_a_result_under_a_picture_or_report_name_is_refused(tmp_path, name, says):
    out = tmp_path / name
    r = run("process", EXAMPLE, "-o", out, "-q")
    assert r.returncode == 64, r.stderr
    assert f"knotmap: {out}: a result is one HDF5 file" in r.stderr and says in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []


def test_other_names_and_folders_stay_as_they_were(tmp_path):
    run_ok("process", EXAMPLE, "-o", tmp_path / "r.h5", "-q")
    run_ok("process", EXAMPLE, "-o", tmp_path / "r.knotmap", "-q")
    (tmp_path / "maps.png").mkdir()   # a folder named like a picture holds results
    run_ok("process", EXAMPLE, "-o", str(tmp_path / "maps.png") + "/", "-q")
    assert (tmp_path / "maps.png" / "roller_example.knotmap.h5").is_file()


@pytest.mark.parametrize("name", ["all.h5", "all.HDF5", "map.png", "r.html"])
def test_several_inputs_and_an_output_named_as_a_file_are_refused(tmp_path, name):
    """`process A B -o all.h5` made a folder called all.h5 (until session 41): with several
    inputs -o names a folder, so a name that is a file's is a usage error, said before
    anything is read or made."""
    out = tmp_path / name
    r = run("process", EXAMPLE, EXAMPLE, "-o", out, "-q")
    assert r.returncode == 64, r.stderr
    assert f"-o {out}: with 2 inputs, -o names a folder" in r.stderr, r.stderr
    assert "(-o results/)" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_several_inputs_into_a_folder_named_as_a_file_that_exists_or_ends_in_slash(tmp_path):
    """What stays a folder: one that exists (whatever its name), and a name ending in '/'."""
    (tmp_path / "in.h5").write_bytes(EXAMPLE.read_bytes())
    ins = [EXAMPLE, tmp_path / "in.h5"]
    (tmp_path / "old.h5").mkdir()
    run_ok("process", *ins, "-o", tmp_path / "old.h5", "-q")
    run_ok("process", *ins, "-o", str(tmp_path / "new.h5") + "/", "-q")
    for d in ("old.h5", "new.h5"):
        assert sorted(p.name for p in (tmp_path / d).iterdir()) == [
            "in.knotmap.h5", "roller_example.knotmap.h5"]


@pytest.mark.parametrize("name", ["map.html", "map.HTM"])
def test_render_to_a_report_name_points_to_report(tmp_path, name):
    """`render -o x.html` said only "unknown picture format" (until session 41)."""
    res = tmp_path / "r.h5"
    run_ok("process", EXAMPLE, "-o", res, "-q")
    out = tmp_path / name
    r = run("render", res, "-o", out)
    assert r.returncode == 64, r.stderr
    assert f"knotmap report {res} -o {out}" in r.stderr, r.stderr
    assert not out.exists()
    r = run("render", res, "-o", tmp_path / "map.jpg")  # any other name: as before
    assert r.returncode == 64 and "unknown picture format" in r.stderr, r.stderr
