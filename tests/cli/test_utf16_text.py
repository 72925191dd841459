"""A text input saved as UTF-16 (Windows Notepad's and Excel's "Unicode text") is
refused in one line that says so and how to convert it (docs/FORMAT.md, errors common
to every reader), whatever the reader: before, a Tekscan export so saved stopped at
"line 12741: file ends before the ASCII_DATA line", a text matrix at "non-numeric
value '\\xff\\xfe4'", and a file without extension at "format not recognised"."""

import pytest

from km_cli import PHYSIONET, REPO, TEKSCAN, run

AIR = REPO / "datasets" / "real" / "physionet_pmd" / "experiment-ii" / "S1" / "Air_Mat" / "Matrix_Air_B1.txt"
CASES = [(TEKSCAN, "walk.asf", "utf-16", "UTF-16LE", ()),
         (TEKSCAN, "walk.asf", "utf-16-be", "UTF-16BE", ()),
         (AIR, "air.txt", "utf-16", "UTF-16LE", ()),
         (AIR, "air.csv", "utf-16-le", "UTF-16LE", ()),
         (AIR, "air", "utf-16", "UTF-16LE", ()),
         (AIR, "air.dat", "utf-16-be", "UTF-16BE", ("--format", "text")),
         (PHYSIONET, "bed.txt", "utf-16", "UTF-16LE", ("--grid", "64x32"))]


@pytest.mark.parametrize("src,name,encoding,label,opts", CASES,
                         ids=lambda v: v if isinstance(v, str) else None)
@pytest.mark.parametrize("command", ["info", "process"])
def test_utf16_text_is_refused_by_name(tmp_path, src, name, encoding, label, opts, command):
    path = tmp_path / name
    path.write_bytes(src.read_bytes().decode("latin1").encode(encoding))
    out = tmp_path / "out.knotmap.h5"
    args = [command, path, *opts] + (["-o", out] if command == "process" else [])
    r = run(*args, cwd=tmp_path)
    assert r.returncode == 65, r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        "knotmap: %s: text in %s: knotmap reads text in ASCII or UTF-8 (save it as UTF-8, "
        "e.g. iconv -f %s -t UTF-8)" % (path, label, label)), r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no partial output


def test_utf8_and_ascii_still_read(tmp_path):
    for enc in ("latin1", "utf-8-sig"):
        path = tmp_path / ("walk_%s.asf" % enc)
        path.write_bytes(TEKSCAN.read_bytes().decode("latin1").encode(enc))
        r = run("info", path, "--mode", "mat")
        assert r.returncode == 0 and "grid:         60 x 21" in r.stdout, r.stderr
