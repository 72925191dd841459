"""A new user's first hour, session 48 (user19); each case fails on b2c6910's build:

- `--thresh-abs` (a near miss of `--threshold-abs` in words, neither a prefix nor two
  edits from it) said only "unknown option"; now every long option of every command is
  suggested when the typed words abbreviate its words (in any order);
- `knotmap process map.png` (a picture `knotmap render` wrote) said "format not
  recognised"; now it says what the file is and what knotmap reads instead (a report's
  HTML, a PDF or SVG picture, an Excel workbook, a zip or gzip file likewise).
The controls (a one-edit typo, a file that says nothing of itself) pass on b2c6910 too."""
import gzip
import io
import zipfile

import pytest

from km_cli import EXAMPLE, run

FORMATS = "session, tekscan, xsensor, text, audio, matlab, npy or npz"


@pytest.mark.parametrize("cmd, typed, meant", [
    ("process", "--thresh-abs", "(did you mean '--threshold-abs'?)"),
    ("process", "--abs-thresh", "(did you mean '--threshold-abs'?)"),
    ("process", "--rel-threshold", "(did you mean '--threshold-rel'?)"),
    ("process", "--cand-seen-thresh", None),          # a prefix: accepted, as GNU's rules
    ("process", "--min-promin", None),
    ("process", "--cand-contct-thresh", "(did you mean '--cand-contact-threshold'?)"),  # control:
    # one edit from its start, suggested on b2c6910 too, as is --roler-rad
    ("synth", "--roler-rad", "(did you mean '--roller-radius'?)"),
    ("process", "--sigmma", "(did you mean '--sigma'?)"),    # control: one edit
])
def test_a_near_miss_in_words_is_suggested(tmp_path, cmd, typed, meant):
    args = [] if cmd == "synth" else [EXAMPLE]
    r = run(cmd, *args, typed, "3", "-o", tmp_path / "o.h5", cwd=tmp_path)
    if meant is None:
        assert "unknown option" not in r.stderr, r.stderr
        return
    assert r.returncode == 64, r.stderr
    assert r.stderr == "knotmap: %s: unknown option '%s' %s\nTry 'knotmap %s --help'.\n" % (
        cmd, typed, meant, cmd), r.stderr
    assert list(tmp_path.iterdir()) == []


def test_words_near_nothing_get_no_suggestion(tmp_path):
    r = run("process", EXAMPLE, "--frobnicate-widely", "3", cwd=tmp_path)
    assert r.returncode == 64
    assert r.stderr.startswith("knotmap: process: unknown option '--frobnicate-widely'\n"), r.stderr


def _xlsx():
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    return b.getvalue()


def _zip():
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("walk.asf", "DATA_TYPE MOVIE\n")
    return b.getvalue()


@pytest.mark.parametrize("name, head, says", [
    ("map.png", b"\x89PNG\r\n\x1a\n" + bytes(64), "a PNG picture (knotmap render writes these), "
     "not a recording"),
    ("map.pdf", b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n", "a PDF document (knotmap render writes these), "
     "not a recording"),
    ("map.svg", b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg">',
     "an SVG picture (knotmap render writes these), not a recording"),
    ("report.html", b"<!DOCTYPE html>\n<html><head>", "an HTML page (knotmap report writes these), "
     "not a recording"),
    # saved by an editor with a UTF-8 byte order mark (session 49; before, "format not recognised")
    ("bom.svg", b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg">',
     "an SVG picture (knotmap render writes these), not a recording"),
    ("bom2.svg", b'\xef\xbb\xbf<svg xmlns="http://www.w3.org/2000/svg">',
     "an SVG picture (knotmap render writes these), not a recording"),
    ("bom.html", b"\xef\xbb\xbf<!DOCTYPE html>\n<html><head>", "an HTML page (knotmap report writes these), "
     "not a recording"),
    ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "a picture (JPEG or GIF), not a recording"),
    ("sheet.xlsx", None, "an Excel workbook: save its sheet as CSV (a text table knotmap reads)"),
    ("sessions.zip", None, "a zip archive (not a numpy .npz): take the recording out of it first"),
    ("walk.asf.gz", None, "gzip-compressed: decompress it first (gunzip)"),
])
def test_a_file_that_is_no_recording_is_named(tmp_path, name, head, says):
    data = {"sheet.xlsx": _xlsx, "sessions.zip": _zip,
            "walk.asf.gz": lambda: gzip.compress(b"DATA_TYPE MOVIE\n")}.get(name, lambda: head)()
    (tmp_path / name).write_bytes(data)
    for cmd in ("process", "info"):
        r = run(cmd, name, cwd=tmp_path)
        assert r.returncode == 65, r.stderr
        assert r.stderr == "knotmap: %s: %s (knotmap reads the formats --format names: %s)\n" % (
            name, says, FORMATS), r.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_a_file_that_says_nothing_is_not_recognised_as_before(tmp_path):
    (tmp_path / "blob.bin").write_bytes(bytes(range(256)))
    r = run("process", "blob.bin", cwd=tmp_path)
    assert r.returncode == 65
    assert r.stderr == ("knotmap: blob.bin: format not recognised (give it with --format: %s)\n"
                        % FORMATS), r.stderr
