"""A text file whose line runs on for hundreds of megabytes (docs/FORMAT.md
1.4, "Untrusted input"): refused with the file and the line named, exit 65,
no output, and the memory it takes follows what a line can hold, not the
file's size.  Before session 42 a 600 MB sparse file (NUL bytes after
"1 2 ") took 1.37 GB and 31 s before its refusal, a 200 MB line of "1 "
400 MB; both tests fail on 80e4cd4 by their peak RSS.

Each run's peak RSS is knotmap's own (km_cli.run_rss).  Nothing is timed.
"""
import os

import pytest

from km_cli import run_rss

SANITIZED = os.environ.get("KNOTMAP_SANITIZED") == "1"
MIB = 1024 * 1024


def sparse(path, head, size):
    """`head`, then NUL bytes up to `size` (a hole: nothing on disk)."""
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)
    return path


@pytest.mark.parametrize("head, line", [(b"1 2 ", 1), (b"# made by hand\n1 2\n3 4 ", 3)])
def test_sparse_file_refused_at_its_first_nul(tmp_path, head, line):
    path = sparse(tmp_path / "s.txt", head, 600 * MIB)
    code, err, rss = run_rss("info", path)
    assert code == 65, err
    assert err.startswith(f"knotmap: {path}: line {line}: a NUL byte"), err
    if not SANITIZED:
        assert rss < 64 * MIB, rss


def test_sparse_file_process_leaves_nothing(tmp_path):
    path = sparse(tmp_path / "s.txt", b"1 2 ", 600 * MIB)
    out = tmp_path / "out"
    out.mkdir()
    code, err, _ = run_rss("process", "-q", path, "-o", out / "r.h5")
    assert code == 65, err
    assert "line 1: a NUL byte" in err, err
    assert list(out.iterdir()) == []


@pytest.mark.skipif(SANITIZED, reason="ASan's shadow memory makes RSS meaningless")
def test_line_of_more_values_than_a_frame_refused_early(tmp_path):
    path = tmp_path / "dense.txt"
    with open(path, "wb") as f:
        chunk = b"1 " * MIB
        for _ in range(100):  # 200 MB, 100 Mi values on one line
            f.write(chunk)
    code, err, rss = run_rss("info", path)
    assert code == 65, err
    assert err.startswith(f"knotmap: {path}: line 1: more than 16777218 values"), err
    # The line is refused when it outgrows a 64 MiB buffer (32 MiB of it
    # copied on the way): not the 512 MiB the longest line may take.
    assert rss < 256 * MIB, rss


def long_file(path, head, fill, size):
    """`head`, then `fill` repeated up to about `size` bytes, one line."""
    with open(path, "wb") as f:
        f.write(head)
        chunk = fill * (MIB // len(fill))
        for _ in range(size // len(chunk)):
            f.write(chunk)
    return path


@pytest.mark.skipif(SANITIZED, reason="ASan's shadow memory makes RSS meaningless")
@pytest.mark.parametrize("cmd", ["info", "process"])
def test_separator_free_line_refused_at_its_first_4_kib(tmp_path, cmd):
    """Session 43: a line without a blank, ',' or ';' grew the buffer to hold it whole
    (a 48 MB line of digits: 64 MiB, up to 512 MiB for longer ones) before the reader
    found it was no number. Now a field over 4096 bytes is refused when the line
    first outgrows the 64 KiB buffer. Fails on b471879 by the peak RSS and the words."""
    path = long_file(tmp_path / "digits.txt", b"1 2\n3 4\n", b"9", 48 * MIB)
    out = tmp_path / "out"
    out.mkdir()
    args = ("info", path) if cmd == "info" else ("process", "-q", path, "-o", out / "r.h5")
    code, err, rss = run_rss(*args)
    assert code == 65, err
    assert err == (f"knotmap: {path}: line 3: a value of over 4096 bytes without a blank, ',' "
                   "or ';' (from byte 1 of the line): not a table of numbers\n"), err
    assert rss < 32 * MIB, rss
    assert list(out.iterdir()) == []


@pytest.mark.skipif(SANITIZED, reason="ASan's shadow memory makes RSS meaningless")
def test_text_line_bound_by_the_observed_grid(tmp_path):
    """After a first data line of 3 values, a line of 20 Mi values is refused at its
    first 64 KiB (a line of this file holds 3 values and its labels), not when it
    passes a frame's 16 Mi values (64 MiB of buffer). Fails on b471879."""
    path = long_file(tmp_path / "dense.txt", b"1 2 3\n", b"1 ", 40 * MIB)
    code, err, rss = run_rss("info", path)
    assert code == 65, err
    assert err.startswith(f"knotmap: {path}: line 2: more than 5 values in its first "), err
    assert "a line of this file holds at most 5: its grid's values and labels" in err, err
    assert rss < 32 * MIB, rss


@pytest.mark.skipif(SANITIZED, reason="ASan's shadow memory makes RSS meaningless")
def test_tekscan_line_bound_by_its_cols(tmp_path):
    """A Tekscan export's data line holds COLS values: a 40 MB row of the F-Scan walk
    (COLS 21) is refused at its first 64 KiB. Fails on b471879."""
    from km_cli import TEKSCAN
    text = TEKSCAN.read_bytes()
    head = text[:text.index(b"\nFrame 1") + 1] + b"Frame 1\n"
    path = long_file(tmp_path / "walk.asf", head, b"0,", 40 * MIB)
    code, err, rss = run_rss("info", path)
    assert code == 65, err
    assert "more than 23 values" in err and "its grid's values and labels" in err, err
    assert err.startswith(f"knotmap: {path}: line "), err
    assert rss < 32 * MIB, rss
