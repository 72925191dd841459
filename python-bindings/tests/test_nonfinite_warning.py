"""`nan` and `inf` in a text matrix are kept (detection passes over them) and said:
read_session and process() warn knotmap.NonFiniteWarning with the sentence
`knotmap info` prints (the library's km_nonfinite_text: count and first place), and
the metadata carries n_nonfinite and nonfinite_at (a result's /session attributes).
Before session 36 nothing was said in Python or on the command line. The reference
count is numpy's (np.loadtxt of the same file)."""
import os
import subprocess
import warnings

import numpy as np
import pytest

import knotmap

KW = dict(grid=(2, 3), rate=10, pitch=5, units="kPa", mode="mat")


def _file(tmp_path):
    a = np.arange(60, dtype=float).reshape(10, 6)
    a[3, 4], a[7, 0], a[9, 5] = np.nan, np.inf, -np.inf
    p = tmp_path / "s.txt"
    np.savetxt(p, a)
    return str(p), int(np.count_nonzero(~np.isfinite(np.loadtxt(p))))


def _said(record):
    return [str(w.message) for w in record if issubclass(w.category, knotmap.NonFiniteWarning)]


def test_read_session_warns_what_the_cli_warns(tmp_path):
    p, n = _file(tmp_path)
    with pytest.warns(knotmap.NonFiniteWarning) as record:
        s = knotmap.read_session(p, **KW)
    got = _said(record)
    assert len(got) == 1 and got[0].startswith(p + ": %d values are nan or inf (the first at "
                                               "line 4, column 5)" % n)
    assert s.metadata["n_nonfinite"] == n == 3
    assert s.metadata["nonfinite_at"] == "line 4, column 5"
    assert np.count_nonzero(~np.isfinite(np.asarray(s.frames))) == n
    binary = os.environ.get("KNOTMAP_BIN")
    if binary:
        r = subprocess.run([binary, "info", "--grid", "2x3", "--rate", "10", "--pitch", "5",
                            "--units", "kPa", "--mode", "mat", p], capture_output=True, text=True)
        assert r.returncode == 0 and "knotmap: %s: warning: %s" % (p, got[0][len(p) + 2:]) in r.stderr


def test_process_warns_and_records(tmp_path):
    p, n = _file(tmp_path)
    out = str(tmp_path / "r.h5")
    with pytest.warns(knotmap.NonFiniteWarning):
        summary = knotmap.process(p, out, **KW)
    assert summary["info"]["n_nonfinite"] == n
    assert summary["info"]["nonfinite_at"] == "line 4, column 5"


def test_finite_files_warn_nothing(tmp_path):
    p = tmp_path / "fine.txt"
    np.savetxt(p, np.arange(60, dtype=float).reshape(10, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("error", knotmap.NonFiniteWarning)
        s = knotmap.read_session(str(p), **KW)
    assert s.metadata["n_nonfinite"] == 0 and s.metadata["nonfinite_at"] == ""


def test_process_warns_for_binary_frames(tmp_path):
    """A .npy's nan and inf are counted as process() reads them (since session 39; the
    text reader counts at open): the same warning, the count numpy's, the first place
    in (frame, row, column) order from 0."""
    a = np.arange(120, dtype="f4").reshape(4, 6, 5)
    a[1, 2, 3], a[2, 0, 0], a[3, 5, 4] = np.nan, np.inf, -np.inf
    p = str(tmp_path / "s.npy")
    np.save(p, a)
    kw = dict(rate=10, pitch=5, units="kPa", mode="mat", time_axis="first")
    with pytest.warns(knotmap.NonFiniteWarning) as record:
        summary = knotmap.process(p, str(tmp_path / "r.h5"), **kw)
    n = int(np.count_nonzero(~np.isfinite(a)))
    got = _said(record)
    assert len(got) == 1 and got[0].startswith(
        p + ": %d values are nan or inf (the first at 0-based frame 1, row 2, column 3)" % n)
    assert summary["info"]["n_nonfinite"] == n == 3
    np.save(p, np.nan_to_num(a, posinf=0, neginf=0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", knotmap.NonFiniteWarning)
        summary = knotmap.process(p, str(tmp_path / "r2.h5"), **kw)
    assert summary["info"]["n_nonfinite"] == 0


@pytest.mark.parametrize("suffix", ["npy", "npz"])
def test_read_session_warns_for_binary_frames(tmp_path, suffix):
    """read_session counts a .npy's or .npz's nan and inf as it reads the frames (session
    40; before, only process() said them): the warning process() gives, the metadata set,
    the count and first place numpy's."""
    rng = np.random.default_rng(40)
    a = rng.random((9, 4, 7)).astype("f4")
    for k in rng.choice(a.size, size=5, replace=False):
        a.flat[k] = rng.choice([np.nan, np.inf, -np.inf])
    p = str(tmp_path / ("s." + suffix))
    (np.save if suffix == "npy" else np.savez)(p, a)
    bad = np.argwhere(~np.isfinite(a))
    at = "0-based frame %d, row %d, column %d" % tuple(int(v) for v in bad[0])
    kw = dict(rate=10, pitch=5, units="kPa", mode="mat", time_axis="first")
    with pytest.warns(knotmap.NonFiniteWarning) as record:
        s = knotmap.read_session(p, **kw)
    got = _said(record)
    assert len(got) == 1 and got[0].startswith(
        p + ": %d values are nan or inf (the first at %s)" % (len(bad), at))
    assert s.metadata["n_nonfinite"] == len(bad) and s.metadata["nonfinite_at"] == at
    with pytest.warns(knotmap.NonFiniteWarning) as again:
        knotmap.process(p, str(tmp_path / "r.h5"), **kw)
    assert _said(again) == got
