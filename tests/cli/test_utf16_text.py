"""A text input saved as UTF-16 (Windows Notepad's and Excel's "Unicode text") is read
as it is: the text readers read it through a UTF-8 copy (docs/FORMAT.md, text
encodings), so `info` and `process` give what the same file saved as UTF-8 gives.
Before, it was refused by name (and before that, a Tekscan export so saved stopped at
"line 12741: file ends before the ASCII_DATA line", a text matrix at "non-numeric
value '\\xff\\xfe4'"). UTF-16 told only by its NUL bytes (Python's utf-16-le/-be
write no byte order mark) is read too, with a warning, and listed as assumed."""

import os

import h5py
import numpy as np
import pytest

from km_cli import PHYSIONET, REPO, TEKSCAN, run

AIR = REPO / "datasets" / "real" / "physionet_pmd" / "experiment-ii" / "S1" / "Air_Mat" / "Matrix_Air_B1.txt"
CASES = [(TEKSCAN, "walk.asf", "utf-16", ()),
         (TEKSCAN, "walk.asf", "utf-16-be", ()),
         (AIR, "air.txt", "utf-16", ()),
         (AIR, "air.csv", "utf-16-le", ()),
         (AIR, "air", "utf-16", ()),
         (AIR, "air.dat", "utf-16-be", ("--format", "text")),
         (PHYSIONET, "bed.txt", "utf-16", ("--grid", "64x32"))]
GUESSED = ("knotmap: %s: warning: no byte order mark: text with every other byte NUL read as "
           "UTF-16 (save it as UTF-8, or as UTF-16 with its byte order mark)")


def _pair(tmp_path, src, name, encoding):
    """The same text saved as UTF-8 and as `encoding` (the bytes read as Latin-1,
    so a non-ASCII byte becomes the same character in both)."""
    text = src.read_bytes().decode("latin1")
    (tmp_path / "u8").mkdir()
    (tmp_path / "u16").mkdir()
    p8, p16 = tmp_path / "u8" / name, tmp_path / "u16" / name
    p8.write_bytes(text.encode("utf-8"))
    p16.write_bytes(text.encode(encoding))
    return p8, p16


def _tables(path):
    """Every dataset of a result, by name (values), and the /session attributes."""
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
        session = dict(f["session"].attrs) if "session" in f else {}
    return out, session


@pytest.mark.parametrize("src,name,encoding,opts", CASES, ids=lambda v: v if isinstance(v, str) else None)
def test_utf16_info_reads_as_utf8(tmp_path, src, name, encoding, opts):
    p8, p16 = _pair(tmp_path, src, name, encoding)
    r8, r16 = run("info", p8, *opts, cwd=tmp_path), run("info", p16, *opts, cwd=tmp_path)
    assert r8.returncode == 0 and r16.returncode == 0, r16.stderr
    guessed = "bom" not in encoding and encoding != "utf-16"
    out16 = r16.stdout.replace(str(p16), str(p8))
    err16 = r16.stderr.replace(str(p16), str(p8)).splitlines()
    if guessed:
        assert GUESSED % p8 in err16, r16.stderr
        err16.remove(GUESSED % p8)
        assumed = [ln for ln in out16.splitlines() if ln.startswith("assumed:")][0]
        assert assumed.split()[-1].split(",")[-1] == "encoding", assumed
        out16 = out16.replace(",encoding\n", "\n").replace("assumed:      encoding\n",
                                                           "assumed:      nothing\n")
    assert out16 == r8.stdout
    assert err16 == r8.stderr.splitlines()


@pytest.mark.parametrize("src,name,encoding,opts", [CASES[0], CASES[1], CASES[5]],
                         ids=lambda v: v if isinstance(v, str) else None)
def test_utf16_process_same_result(tmp_path, src, name, encoding, opts):
    p8, p16 = _pair(tmp_path, src, name, encoding)
    o8, o16 = tmp_path / "u8.knotmap.h5", tmp_path / "u16.knotmap.h5"
    r8 = run("process", p8, *opts, "-q", "-o", o8)
    r16 = run("process", p16, *opts, "-q", "-o", o16)
    assert r8.returncode == 0 and r16.returncode == 0, r16.stderr
    t8, s8 = _tables(o8)
    t16, s16 = _tables(o16)
    assert sorted(t8) == sorted(t16) and len(t8) > 5
    for k in t8:
        np.testing.assert_array_equal(t16[k], t8[k], err_msg=k)
    if encoding == "utf-16-be":
        assert str(s16["assumed"]).split(",")[-1] == "encoding", s16["assumed"]


BAD = [("lone high surrogate", b"\xff\xfe" + "1,2\n".encode("utf-16-le") + b"\x00\xd8" + "3\n".encode("utf-16-le"),
        "text in UTF-16LE: an unpaired surrogate"),
       ("lone low surrogate", b"\xfe\xff" + "1,2\n".encode("utf-16-be") + b"\xdc\x00",
        "text in UTF-16BE: an unpaired surrogate"),
       ("odd byte count", b"\xff\xfe" + "1,2\n3,4\n".encode("utf-16-le") + b"5",
        "text in UTF-16LE ends in the middle of a character (an odd number of bytes)"),
       ("cut surrogate pair", b"\xff\xfe" + "1,2\n".encode("utf-16-le") + b"\x3d\xd8",
        "text in UTF-16LE ends in the middle of a surrogate pair")]


@pytest.mark.parametrize("what,data,message", BAD, ids=[b[0] for b in BAD])
def test_invalid_utf16_refused_with_no_output(tmp_path, what, data, message):
    path = tmp_path / "m.txt"
    path.write_bytes(data)
    out = tmp_path / "out.knotmap.h5"
    r = run("process", path, "-o", out, cwd=tmp_path)
    assert r.returncode == 65, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("knotmap: %s: %s" % (path, message)), r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.txt"]  # no partial output


def test_utf16_copy_where_it_cannot_be_written(tmp_path):
    """The UTF-8 copy goes to $TMPDIR: a folder that does not exist is named in the
    error (exit 74), with no output and no copy left behind."""
    p8, p16 = _pair(tmp_path, AIR, "air.txt", "utf-16")
    out = tmp_path / "out.knotmap.h5"
    env = dict(os.environ, TMPDIR=str(tmp_path / "missing"))
    r = run("process", p16, "-o", out, env=env)
    assert r.returncode == 74, r.stderr
    assert ("knotmap: %s: text in UTF-16LE: cannot create its UTF-8 copy in %s" % (p16, tmp_path / "missing")
            in r.stderr), r.stderr
    assert not out.exists()


def test_utf8_and_ascii_still_read(tmp_path):
    for enc in ("latin1", "utf-8-sig"):
        path = tmp_path / ("walk_%s.asf" % enc)
        path.write_bytes(TEKSCAN.read_bytes().decode("latin1").encode(enc))
        r = run("info", path, "--mode", "mat")
        assert r.returncode == 0 and "grid:         60 x 21" in r.stdout, r.stderr
