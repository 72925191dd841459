"""`knotmap info` finds a bad value in a text matrix as in any other format:
a text matrix counts its nan and inf values at open, and until session 44 it
was not read again, so `info` (even `info --scan`, whose help promises to
refuse a file damaged anywhere) said nothing of `abc`, or of the empty field
pandas writes for a missing value, after the first line, and exited 0 where
`process` refused the file (65)."""
import numpy as np
import pandas as pd
import pytest

from km_cli import run, run_ok


def bad_files(tmp_path):
    a = tmp_path / "abc.txt"
    a.write_text("1 2 3 4\n5 abc 7 8\n")
    b = np.arange(24, dtype=float).reshape(2, 12)
    b[1, 3] = np.nan
    c = tmp_path / "missing.csv"
    pd.DataFrame(b).to_csv(c, index=False)         # the missing value as an empty field
    return [(a, [], "line 2: non-numeric value 'abc' in column 2"),
            (c, ["--grid", "3x4"], "line 3: empty value in column 4")]


@pytest.mark.parametrize("scan", [[], ["--scan"]])
def test_info_refuses_what_process_refuses(tmp_path, scan):
    for path, opts, said in bad_files(tmp_path):
        r = run("info", *scan, *opts, path)
        assert r.returncode == 65, r.stderr
        assert "%s: %s" % (path, said) in r.stderr
        assert r.stdout == ""
        r = run("process", "-q", *opts, path, "-o", tmp_path / "r.h5")
        assert r.returncode == 65 and said in r.stderr


def test_a_good_text_keeps_its_count_at_open(tmp_path):
    p = tmp_path / "nan.txt"
    p.write_text("1 2 3 4\n5 nan 7 inf\n")
    r = run_ok("info", p, "--grid", "1x4")
    line = [l for l in r.stdout.splitlines() if l.startswith("non-finite:")]
    assert line == ["non-finite:   2 values (nan or inf; the first at line 2, column 2)"], r.stdout
