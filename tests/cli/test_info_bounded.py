"""`knotmap info INPUT` read every frame to count the nan and inf values (session 40): on
a long session it took as long as reading the whole file. Since session 41 it reads the
frames that hold the first N values (N as its --help says) and says how far its count
goes; `--scan` reads every frame. The reference counts are numpy's over the same array."""
import re

import numpy as np
import pytest

from km_cli import SESSION_ATTRS, run_ok

h5py = pytest.importorskip("h5py")
R = C = 32


def bound():
    m = re.search(r"frames\s+that\s+hold\s+the\s+first\s+(\d+)\s+values", run_ok("info", "--help").stdout)
    assert m, "info --help does not say its bound"
    return int(m.group(1))


def zeros(f, t):
    """/frames of t zero frames, every chunk written (a session stores them all)."""
    d = f.create_dataset("frames", (t, R, C), "f4", chunks=(64, R, C), compression="gzip",
                         shuffle=True)
    for k in range(0, t, 2048):
        d[k:k + 2048] = 0
    return d


def where(a):
    t, r, c = np.argwhere(~np.isfinite(a))[0]
    return "0-based frame %d, row %d, column %d" % (t, r, c)


@pytest.fixture(scope="module")
def long_session(tmp_path_factory):
    """Zeros, one nan in the last frame info reads and one inf past it."""
    first = -(-bound() // (R * C))  # the frames that hold the first N values
    p = tmp_path_factory.mktemp("long") / "long.h5"
    with h5py.File(p, "w") as f:
        f.attrs.update(SESSION_ATTRS)
        d = zeros(f, first + 40)
        d[first - 1, 3, 4] = np.nan
        d[first + 10, 5, 6] = np.inf
    with h5py.File(p) as f:
        a = f["frames"][()]
    return p, first, a


def test_info_counts_within_its_bound_and_says_so(long_session):
    p, first, a = long_session
    seen = a[:first]
    assert (~np.isfinite(seen)).sum() == 1  # the fixture's premise
    out = run_ok("info", p).stdout
    assert ("non-finite:   1 value (nan or inf; at %s) in the first %d frames: the rest not "
            "read (--scan reads every frame)\n" % (where(seen), first)) in out, out
    assert "frames:       %d\n" % len(a) in out


def test_info_scan_reads_every_frame(long_session):
    p, _, a = long_session
    out = run_ok("info", "--scan", p).stdout
    n = int((~np.isfinite(a)).sum())
    assert "non-finite:   %d values (nan or inf; the first at %s)\n" % (n, where(a)) in out, out


def test_info_says_none_when_the_frames_read_hold_none(tmp_path):
    n = bound()
    p = tmp_path / "clean.h5"
    with h5py.File(p, "w") as f:
        f.attrs.update(SESSION_ATTRS)
        zeros(f, -(-n // (R * C)) + 1)
    out = run_ok("info", p).stdout
    assert "non-finite:   none in the first %d frames: the rest not read" % (-(-n // (R * C))) in out
    assert "non-finite" not in run_ok("info", "--scan", p).stdout
