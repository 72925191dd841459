"""Text a file carries reaches the terminal cleaned (docs/CLI.md, "Text from files"):
a header value, a token quoted in an error, a result's own attributes.  The bytes a
terminal acts on (ESC, BEL, CR and the other C0 controls but TAB and newline, DEL, C1
controls in UTF-8) are printed as \\xNN, so a crafted file cannot clear the screen,
retitle the window or write the clipboard (OSC 52) when `knotmap info` shows it.
Before session 42 they went out raw (3 of 5 fail on 80e4cd4; the other two are
controls: plain UTF-8 text unchanged, a token the library escaped already)."""
import subprocess

import pytest

from km_cli import BIN, TEKSCAN, run, run_ok

h5py = pytest.importorskip("h5py")
ESC = "\x1b]52;c;cHduZWQ=\x07\x1b[2J\x1b[31mRED\x1b[0m\r"   # clipboard, clear, colour
SHOWN = r"\x1b]52;c;cHduZWQ=\x07\x1b[2J\x1b[31mRED\x1b[0m\x0d"
CONTROLS = [chr(c) for c in range(0x20) if chr(c) not in "\t\n"] + ["\x7f"] + \
    [chr(c) for c in range(0x80, 0xa0)]


def no_controls(text):
    return not any(c in text for c in CONTROLS)


def tekscan_with_comment(tmp_path, comment):
    text = TEKSCAN.read_bytes()
    i = text.index(b"COMMENTS")
    j = text.index(b"\n", i)
    p = tmp_path / "walk.asf"
    p.write_bytes(text[:i] + b"COMMENTS " + comment.encode() + b"\r" + text[j:])
    return p


def test_header_value_is_cleaned(tmp_path):
    r = run_ok("info", tekscan_with_comment(tmp_path, ESC + "\u009b6n"), "--mode", "mat")
    line = [l for l in r.stdout.splitlines() if l.startswith("  COMMENTS")][0]
    assert line == "  COMMENTS = " + SHOWN + r"\xc2\x9b6n", line
    assert no_controls(r.stdout)


def test_plain_utf8_and_tabs_are_kept(tmp_path):
    r = run_ok("info", tekscan_with_comment(tmp_path, "Café\tgait lab, Zürich"), "--mode", "mat")
    assert "  COMMENTS = Café\tgait lab, Zürich\n" in r.stdout


def test_value_in_an_error_is_cleaned(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes(b'"Software:","XSENSOR Pro V8"\n"Frame:","1"\n"Rows:","3\x1b[2J"\n'
                  b'"Columns:","2"\n"0","1"\n"0","1"\n"0","1"\n')
    r = run("info", p)
    assert r.returncode == 65, r.stderr
    assert r"line 3: Rows '3\x1b[2J' is not a positive integer" in r.stderr, r.stderr
    assert no_controls(r.stderr)


def test_text_matrix_token_was_already_escaped(tmp_path):
    """The text readers' value errors escaped their token before (km_value_error):
    unchanged, and not escaped twice."""
    p = tmp_path / "m.txt"
    p.write_bytes(b"1 2 3\n4 \x1b[2Jx 6\n")
    r = run("process", "-q", p, "--grid", "2x3", "-o", tmp_path / "r.h5")
    assert r.returncode == 65, r.stderr
    assert r"non-numeric value '\x1b[2Jx' in column 2" in r.stderr, r.stderr


def test_result_attributes_are_cleaned(tmp_path):
    res = tmp_path / "r.h5"
    run_ok("process", "-q", tekscan_with_comment(tmp_path, "x"), "--mode", "mat", "-o", res)
    with h5py.File(res, "r+") as f:
        f.attrs["command_line"] = "knotmap process " + ESC
        f.attrs["source_path"] = "walk" + ESC + ".asf"
    r = run_ok("info", res)
    assert "command:      knotmap process " + SHOWN + "\n" in r.stdout, r.stdout
    assert no_controls(r.stdout)


def test_latin1_header_is_shown_as_the_result_stores_it(tmp_path):
    """A header in Latin-1 (an old export: `N/cm` and byte B2) is read as Latin-1, as
    the result file stores it, and its C1 bytes (80..9F: 9B is an 8-bit terminal's CSI)
    are escaped (session 47, user18): before, the raw bytes went out, B2 and 9B among them
    (fails on 88fc8a2's build)."""
    text = TEKSCAN.read_bytes()
    assert b"UNITS KPa\r\n" in text
    p = tekscan_with_comment(tmp_path, "x")
    p.write_bytes(p.read_bytes().replace(b"UNITS KPa\r\n", b"UNITS N/cm\xb2\r\n")
                  .replace(b"COMMENTS x", b"COMMENTS sch\xf6n \x9b2J"))
    r = subprocess.run([str(BIN), "info", str(p), "--mode", "mat"], capture_output=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode("utf-8")  # strict: every byte printed is UTF-8
    assert "  UNITS = N/cm\u00b2\n" in out, out
    assert "  COMMENTS = sch\u00f6n \\x9b2J\n" in out, out
    res = tmp_path / "r.knotmap.h5"
    run_ok("process", "-q", p, "--mode", "mat", "-o", res)
    with h5py.File(res, "r") as f:  # what the result stores: the same text
        header = dict(f["session/source_header"].attrs)
    assert header["UNITS"] == "N/cm\u00b2" and header["COMMENTS"] == "sch\u00f6n \x9b2J", header
