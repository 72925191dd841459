"""Text files with classic Mac OS line ends (CR alone) read as the same file with LF
or CR LF (the shared line reader, src/io/text_scan.c, decides at the file's first line
end); before, a Tekscan export so saved failed with 'line 1: file ends before the
ASCII_DATA line' and a text matrix read as one line."""

import h5py
import numpy as np
import pytest

from km_cli import REPO, TEKSCAN, run

GOOD = REPO / "tests" / "data" / "good"
FIXTURES = [TEKSCAN, GOOD / "tekscan_small.asf", GOOD / "tekscan_small_crlf.asf",
            GOOD / "text_small.txt", GOOD / "text_small_crlf.txt",
            GOOD / "xsensor_block_2sensors.csv", GOOD / "xsensor_block_semicolon_crlf.csv",
            GOOD / "xsensor_wide_2sensors.csv", GOOD / "xsensor_wide_semicolon_crlf.csv"]


def datasets(path):
    out = {}
    with h5py.File(path) as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()])
                     if isinstance(obj, h5py.Dataset) else None)
        out["session attrs"] = {k: v for k, v in f["session"].attrs.items()}
    return out


@pytest.mark.parametrize("src", FIXTURES, ids=lambda p: p.name)
def test_cr_only_reads_as_the_original(tmp_path, src):
    data = src.read_bytes()
    cr = tmp_path / src.name
    cr.write_bytes(data.replace(b"\r\n", b"\r").replace(b"\n", b"\r"))
    assert b"\n" not in cr.read_bytes() and b"\r" in cr.read_bytes()
    orig = tmp_path / ("orig_" + src.name)
    orig.write_bytes(data)
    got = []
    for path in (orig, cr):
        out = tmp_path / (path.name + ".knotmap.h5")
        r = run("process", "-q", path, "-o", out, "--mode", "mat", "--rate", "10")
        if r.returncode != 0 and "conflicts" in r.stderr:
            r = run("process", "-q", path, "-o", out, "--mode", "mat")
        assert r.returncode == 0, r.stderr
        got.append(datasets(out))
    assert got[0].keys() == got[1].keys()
    for name in got[0]:
        if name == "session attrs":
            continue
        a, b = got[0][name], got[1][name]
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            np.testing.assert_array_equal(a, b, err_msg=name)
        elif isinstance(a, np.ndarray) and a.dtype.kind not in "OSU":
            assert np.array_equal(a, b), name
    for k in ("rows", "cols", "n_frames", "frame_rate_hz", "row_pitch_mm", "units"):
        assert got[0]["session attrs"][k] == got[1]["session attrs"][k], k


def test_cr_only_errors_count_lines(tmp_path):
    src = (GOOD / "tekscan_small.asf").read_bytes().replace(b"\r\n", b"\n")
    lines = src.split(b"\n")
    i = next(k for k, l in enumerate(lines) if l.startswith(b"Frame")) + 1
    lines[i] = lines[i] + b",1"           # one value too many in the first data row
    bad = tmp_path / "bad.asf"
    bad.write_bytes(b"\r".join(lines))
    r = run("info", bad)
    assert r.returncode == 65, r.stderr
    assert f"line {i + 1}: frame" in r.stderr and "expected" in r.stderr, r.stderr
