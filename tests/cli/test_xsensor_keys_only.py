"""An XSENSOR block export without its `Software` line and sensel sizes (a
script's copy, a trimmed export) is told by its block keys (`Frame:`,
`Rows:`, `Columns:`) and read as XSENSOR; what it lacks is named.  Until
session 44 it was read as text and refused at its first field
(`line 1: non-numeric value '"Rows:"' in column 1`), which says neither what
the file is nor what is wrong with it."""
import h5py
import numpy as np
import pytest

from km_cli import refused, run_ok

FRAMES = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)


def export(path, keys, frames=FRAMES, sep=","):
    lines = []
    for i, f in enumerate(frames):
        for k in keys:
            v = {"Frame": i + 1, "Time": "10:00:00.%03d" % (10 * i), "Rows": f.shape[0],
                 "Columns": f.shape[1]}[k]
            lines.append('"%s:"%s"%s"' % (k, sep, v))
        lines += [sep.join("%g" % v for v in row) for row in f]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("keys", [("Frame", "Time", "Rows", "Columns"), ("Rows", "Columns")])
@pytest.mark.parametrize("sep", [",", ";"])
def test_read_as_xsensor(tmp_path, keys, sep):
    p = export(tmp_path / "trimmed.csv", keys, sep=sep)
    r = run_ok("info", p)
    assert "format:       xsensor" in r.stdout and "3 x 4 taxels" in r.stdout, r.stdout
    out = tmp_path / "r.h5"
    run_ok("process", "-q", p, "-o", out, "--save-frames")
    with h5py.File(out) as f:
        assert f.attrs["source_format"] == "xsensor"
        assert f["frames/conditioned"].shape == (2, 3, 4)


def test_what_is_missing_is_named(tmp_path):
    refused(tmp_path, export(tmp_path / "norows.csv", ("Frame", "Columns")), 65,
            "line 3: frame 1: Rows missing before the data", "XSENSOR")
    refused(tmp_path, export(tmp_path / "nocols.csv", ("Frame", "Rows")), 65,
            "Columns missing before the data")
    big = tmp_path / "big.csv"                      # a few bytes that declare 65000 rows
    big.write_text('"Rows:","65000"\n"Columns:","4"\n1,2,3,4\n5,6,7,8\n')
    refused(tmp_path, big, 65, "line 4: frame 1: file ends after 2 of 65000 rows (truncated)")


def test_text_is_still_text(tmp_path):
    p = tmp_path / "t.csv"                           # a column named Rows is no key line
    p.write_text("Rows,Columns\n1,2\n3,4\n")
    r = run_ok("info", p, "--grid", "1x2")
    assert "format:       text" in r.stdout
