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
