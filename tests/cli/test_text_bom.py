"""A text matrix saved with a UTF-8 byte order mark (Excel's "CSV UTF-8",
Windows Notepad) reads as the same matrix without it, whatever the name,
line ends and separator; the Tekscan and XSENSOR readers already skipped
it.  Before session 25 the text reader stopped at line 1 with
"non-numeric value '\ufeff1' in column 1" (exit 65).
"""
import h5py
import numpy as np
import pytest

import km_cli

ROWS = [[0, 1, 2, 0], [1, 7, 3, 1], [0, 2, 9, 0]]


def _text(sep, eol):
    return eol.join(sep.join(str(v) for v in row) for row in ROWS) + eol


@pytest.mark.parametrize("name", ["m.txt", "m.csv", "matrix"])
@pytest.mark.parametrize("sep,eol", [(" ", "\n"), (",", "\r\n"), ("\t", "\r\n")])
def test_bom_text_matrix_reads_as_without(tmp_path, name, sep, eol):
    plain = tmp_path / ("plain_" + name)
    bom = tmp_path / name
    plain.write_bytes(_text(sep, eol).encode())
    bom.write_bytes(b"\xef\xbb\xbf" + _text(sep, eol).encode())
    frames = []
    for src in (plain, bom):
        out = tmp_path / (src.name + ".knotmap.h5")
        r = km_cli.run("process", "-q", src, "-o", out, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        with h5py.File(out) as f:
            assert (f["session"].attrs["rows"], f["session"].attrs["cols"]) == (3, 4)
            frames.append(f["frames"]["max"][()])
    np.testing.assert_array_equal(frames[1], np.array(ROWS, np.float32))
    np.testing.assert_array_equal(frames[0], frames[1])


def test_bom_only_on_the_first_line(tmp_path):
    # A BOM anywhere else is still a bad value, named with its line.
    src = tmp_path / "m.txt"
    src.write_bytes(b"1 2 3\n\xef\xbb\xbf4 5 6\n7 8 9\n")
    r = km_cli.run("process", "-q", src, "-o", tmp_path / "out.h5", cwd=tmp_path)
    assert r.returncode == 65
    assert r.stderr.startswith("knotmap: %s: line 2: " % src), r.stderr
    assert not (tmp_path / "out.h5").exists()
