"""`nan` and `inf` in a text matrix (docs/FORMAT.md 1.4) are kept as non-finite values,
which detection and metrics pass over; before session 36 that happened without a
word. Now the reader counts them at open with the first one's place; `info` and
`process` warn with both, `info` shows them, and the result records them (/session
n_nonfinite, nonfinite_at). The reference count and place are numpy's: np.loadtxt
reads the same file and the first non-finite value in file order gives the line and
column."""
import numpy as np
import pytest

from km_cli import run_ok

h5py = pytest.importorskip("h5py")

R, C, T = 4, 5, 30


def table(tmp_path, seed, header=""):
    rng = np.random.default_rng(seed)
    a = rng.random((T, R * C)) * 50
    for k in rng.choice(a.size, size=7, replace=False):
        a.flat[k] = rng.choice([np.nan, np.inf, -np.inf])
    p = tmp_path / ("s%d.txt" % seed)
    np.savetxt(p, a, fmt="%.4f", header=header)  # writes nan, inf, -inf
    return p


def reference(p, header_lines):
    a = np.loadtxt(p)
    bad = np.flatnonzero(~np.isfinite(a))  # file order: row-major
    i, j = divmod(int(bad[0]), a.shape[1])
    return len(bad), "line %d, column %d" % (i + 1 + header_lines, j + 1)


@pytest.mark.parametrize("seed, header", [(1, ""), (2, "a comment line from numpy.savetxt")])
def test_count_and_first_place_said_and_recorded(tmp_path, seed, header):
    p = table(tmp_path, seed, header)
    n, at = reference(p, 1 if header else 0)
    said = "%d values are nan or inf (the first at %s): kept" % (n, at)
    r = run_ok("info", "--grid", "%dx%d" % (R, C), "--rate", "10", p)
    assert said in r.stderr, r.stderr
    assert "non-finite:   %d values (nan or inf; the first at %s)" % (n, at) in r.stdout
    out = tmp_path / "r.h5"
    r = run_ok("process", "-q", "--grid", "%dx%d" % (R, C), "--rate", "10", p, "-o", out)
    assert said in r.stderr
    with h5py.File(out, "r") as f:
        s = f["session"].attrs
        got_at = s["nonfinite_at"].decode() if isinstance(s["nonfinite_at"], bytes) else str(s["nonfinite_at"])
        assert int(s["n_nonfinite"]) == n and got_at == at
    assert "non-finite:   %d values" % n in run_ok("info", out).stdout


def test_nothing_said_without_them(tmp_path):
    p = tmp_path / "fine.txt"
    np.savetxt(p, np.arange(T * R * C, dtype=float).reshape(T, R * C))
    r = run_ok("info", "--grid", "%dx%d" % (R, C), "--rate", "10", p)
    assert "nan or inf" not in r.stderr and "non-finite" not in r.stdout
    out = tmp_path / "r.h5"
    run_ok("process", "-q", "--grid", "%dx%d" % (R, C), "--rate", "10", p, "-o", out)
    with h5py.File(out, "r") as f:
        assert int(f["session"].attrs["n_nonfinite"]) == 0
