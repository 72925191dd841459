"""`nan` and `inf` in the frames of the binary formats (an HDF5 session, .npy, .npz, a
MAT-file) are kept and passed over by detection, as in a text matrix; before session 39
only the text reader counted and said them (tests/cli/test_text_nonfinite.py), these
went by without a word. Now `process` counts the values it reads and, when any is not
finite, warns with the count and the first one's place and records both in the result
(/session n_nonfinite, nonfinite_at). The reference count and place are numpy's:
np.isfinite over the array written, the first non-finite value in (frame, row, column)
order. Nothing else in the result changes: the candidates, peaks and maps are those of
the same run without the count (checked by hand against main before the change,
bench/HISTORY.md "Session 39 (user10)")."""
import numpy as np
import pytest

from km_cli import run_ok

h5py = pytest.importorskip("h5py")
scipy_io = pytest.importorskip("scipy.io")

T, R, C = 40, 6, 5
OPTS = ("--rate", "20", "--pitch", "8", "--units", "kPa", "--mode", "mat", "--time-axis", "first")


def frames(seed, n_bad):
    rng = np.random.default_rng(seed)
    a = (rng.random((T, R, C)) * 30).astype("f4")
    for k in rng.choice(a.size, size=n_bad, replace=False):
        a.flat[k] = rng.choice([np.nan, np.inf, -np.inf])
    return a


def write(tmp_path, kind, a):
    p = tmp_path / ("s." + kind)
    if kind == "npy":
        np.save(p, a)
    elif kind == "npz":
        np.savez(p, frames=a)
    elif kind == "mat":
        scipy_io.savemat(p, {"frames": a})
    else:
        with h5py.File(p, "w") as f:
            f.attrs.update({"schema": "knotmap-session", "schema_version": 1,
                            "frame_rate_hz": 20.0, "row_pitch_mm": 8.0, "col_pitch_mm": 8.0,
                            "units": "kPa", "mode": "mat"})
            f["frames"] = a
    return p


def reference(a):
    bad = np.argwhere(~np.isfinite(a))  # C order: frame, row, column
    return len(bad), "0-based frame %d, row %d, column %d" % tuple(int(v) for v in bad[0])


def recorded(out):
    with h5py.File(out, "r") as f:
        s = f["session"].attrs
        at = s["nonfinite_at"]
        return int(s["n_nonfinite"]), at.decode() if isinstance(at, bytes) else str(at)


@pytest.mark.parametrize("kind, seed", [("npy", 1), ("h5", 2), ("npz", 3), ("mat", 4)])
def test_count_and_first_place_said_and_recorded(tmp_path, kind, seed):
    a = frames(seed, 5)
    p = write(tmp_path, kind, a)
    n, at = reference(a)
    out = tmp_path / "r.h5"
    r = run_ok("process", "-q", *OPTS, p, "-o", out)
    said = "knotmap: %s: warning: %d values are nan or inf (the first at %s): kept" % (p, n, at)
    assert said in r.stderr, r.stderr
    assert recorded(out) == (n, at)
    assert "non-finite:   %d values (nan or inf; the first at %s)" % (n, at) in run_ok("info", out).stdout


def test_read_ahead_counts_the_same(tmp_path):
    """--threads 2 reads the next block while the engine works (another buffer)."""
    a = frames(5, 9)
    p = write(tmp_path, "npy", a)
    out = tmp_path / "r.h5"
    r = run_ok("process", "-q", "--threads", "2", "--block-frames", "7", *OPTS, p, "-o", out)
    n, at = reference(a)
    assert "%d values are nan or inf (the first at %s)" % (n, at) in r.stderr
    assert recorded(out) == (n, at)


@pytest.mark.parametrize("kind", ["npy", "h5"])
def test_nothing_said_without_them(tmp_path, kind):
    p = write(tmp_path, kind, frames(6, 0))
    out = tmp_path / "r.h5"
    r = run_ok("process", "-q", *OPTS, p, "-o", out)
    assert "nan or inf" not in r.stderr
    assert recorded(out) == (0, "")


@pytest.mark.parametrize("kind, seed", [("npy", 7), ("h5", 8), ("npz", 9), ("mat", 10)])
def test_info_input_says_what_process_counts(tmp_path, kind, seed):
    """`knotmap info INPUT` reads the frames to count (session 40; it was silent for these
    formats): the same warning and `non-finite:` line as process and its result, the count
    and place numpy's."""
    a = frames(seed, 6)
    p = write(tmp_path, kind, a)
    n, at = reference(a)
    r = run_ok("info", *OPTS, p)
    assert "knotmap: %s: warning: %d values are nan or inf (the first at %s): kept" % (p, n, at) \
        in r.stderr, r.stderr
    assert "non-finite:   %d values (nan or inf; the first at %s)" % (n, at) in r.stdout
    out = tmp_path / "r.h5"
    run_ok("process", "-q", *OPTS, p, "-o", out)
    assert recorded(out) == (n, at)
    clean = write(tmp_path, kind, frames(seed, 0))
    r = run_ok("info", *OPTS, clean)
    assert "nan or inf" not in r.stderr and "non-finite" not in r.stdout
