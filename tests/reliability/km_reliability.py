"""Helpers of the reliability tests: the knotmap binary under test and
session files written with h5py (knotmap session HDF5 v1, docs/FORMAT.md),
so the tests depend on the reader and the CLI only.

The binary is $KNOTMAP_BIN, else <repo>/build/knotmap.  Tests skip (with the
reason) when it is missing or its `process` command is not built yet.
$KNOTMAP_SANITIZED=1 says the binary runs under ASan (.ci/sanitize): memory
figures mean nothing there, so the RSS test skips.
"""
import os
import resource
import signal
import subprocess

import numpy as np
import pytest

# The commands start with SIGINT and SIGTERM at their default action whoever
# runs the tests: a background job of a shell without job control (`pytest
# ... &` in a script) starts with SIGINT ignored, and knotmap keeps a signal
# ignored at its start (docs/CLI.md, "Signals"; tests/cli/test_signal_ignored.py),
# so the tests that send one would see nothing happen.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
if signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)

h5py = pytest.importorskip("h5py")

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("KNOTMAP_BIN") or os.path.join(REPO, "build", "knotmap")
SANITIZED = os.environ.get("KNOTMAP_SANITIZED") == "1"


def _process_available():
    if not os.access(BIN, os.X_OK):
        return "knotmap binary not found at %s (set KNOTMAP_BIN)" % BIN
    p = subprocess.run([BIN, "process", "--help"], capture_output=True, text=True, timeout=60)
    if p.returncode != 0 or "Usage" not in p.stdout:
        return "`knotmap process` not built yet (exit %d)" % p.returncode
    return None


@pytest.fixture(scope="session")
def knotmap_bin():
    why = _process_available()
    if why:
        pytest.skip(why)
    return BIN


def _starts(kib):
    """`knotmap --version` exits 0 under an address-space limit of kib KiB."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (kib << 10, kib << 10))
    return subprocess.run([BIN, "--version"], capture_output=True, timeout=60,
                          preexec_fn=limit).returncode == 0


@pytest.fixture(scope="session")
def startup_kib(knotmap_bin):
    """The smallest address-space limit (`ulimit -v`, KiB) under which
    `knotmap --version` exits 0, bisected once per test session to a page
    (4 KiB).  It follows the binary: what the loader maps at start-up (the
    command, libc, libm, the stack) is most of it, so a smaller binary starts
    under a smaller limit (91e8af7's 7.3 MB binary at 11 028 KiB, session
    49's 5.0 MB one at 8 964 KiB).  The address-limit sweeps are placed from
    it (rebased)."""
    lo, hi = 1024, 1 << 20  # 1 MiB: not even the loader; 1 GiB: any build
    assert not _starts(lo) and _starts(hi), (lo, hi)
    while hi - lo > 4:
        mid = (lo + hi) // 8 * 4
        if _starts(mid):
            hi = mid
        else:
            lo = mid
    return hi


# The address-limit sweeps' ranges were chosen (sessions 47-48) for a binary
# that started at this limit (startup_kib of 91e8af7's build).  What the
# command needs beyond its start-up does not depend on its size (the exit-71
# ends of 91e8af7's and session 49's process, info and synth sweeps lie the
# same 9.3, 2.6 and 6.2 MiB above their startup_kib, within 40 KiB, the step
# they were measured at).
REF_STARTUP_KIB = 11028


def rebased(startup, lo, hi, step):
    """range(lo, hi, step) as written for REF_STARTUP_KIB, moved with the
    binary under test: by startup - REF_STARTUP_KIB."""
    shift = startup - REF_STARTUP_KIB
    return range(lo + shift, hi + shift, step)


def write_session(path, n_frames, rows=32, cols=32, rate=100.0, seed=0, n_blobs=3):
    """A mat session: a few Gaussian blobs drifting over a noisy floor,
    written in slabs so that long sessions need little memory here."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
    centres = rng.uniform([4, 4], [rows - 4, cols - 4], size=(n_blobs, 2))
    amps = rng.uniform(40, 120, size=n_blobs)
    slab = 1000
    with h5py.File(path, "w") as f:
        f.attrs["schema"] = "knotmap-session"
        f.attrs["schema_version"] = 1
        f.attrs["frame_rate_hz"] = rate
        f.attrs["row_pitch_mm"] = 5.0
        f.attrs["col_pitch_mm"] = 5.0
        f.attrs["units"] = "kPa"
        f.attrs["mode"] = "mat"
        d = f.create_dataset("frames", shape=(n_frames, rows, cols), dtype=np.float32,
                             chunks=(min(64, n_frames), rows, cols))
        for t0 in range(0, n_frames, slab):
            n = min(slab, n_frames - t0)
            block = rng.normal(5.0, 1.0, size=(n, rows, cols)).astype(np.float32)
            t = np.arange(t0, t0 + n, dtype=np.float32)[:, None, None]
            for (cy, cx), a in zip(centres, amps):
                y = cy + 2.0 * np.sin(t / 50.0)
                x = cx + 2.0 * np.cos(t / 70.0)
                block += (a * np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / 8.0)).astype(np.float32)
            d[t0:t0 + n] = block
    return path


def result_state(path):
    """'complete' when `path` is a readable knotmap result marked complete,
    else a short reason."""
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("schema") not in ("knotmap-result", b"knotmap-result"):
                return "schema %r" % (f.attrs.get("schema"),)
            if int(f.attrs.get("complete", 0)) != 1:
                return "no completeness marker"
            for name in ("session", "metrics", "peaks"):
                if name not in f:
                    return "missing /%s" % name
            n = int(f["session"].attrs["n_frames"])
            if len(f["metrics"]["time"]) != n:
                return "/metrics has %d rows for %d frames" % (len(f["metrics"]["time"]), n)
            return "complete"
    except Exception as e:  # an unreadable file is exactly what must never appear
        return "unreadable: %s" % e


def is_temp_name(name):
    """Temporary names of the writers: .<final name>.tmp-XXXXXX."""
    return name.startswith(".") and ".tmp-" in name


def write_mat73(path, frames):
    """A MATLAB v7.3 MAT-file (HDF5 behind a 512-byte user block that begins
    "MATLAB 7.3 MAT-file", docs/FORMAT.md 1.8) holding frames [T, R, C] as
    MATLAB's single frames(t, r, c) (stored [C, R, T], as HDF5 shows MATLAB's
    dimensions reversed), in deflated chunks of 50 frames."""
    with h5py.File(path, "w", userblock_size=512) as h:
        v = h.create_dataset("frames", data=frames.transpose(2, 1, 0), chunks=frames.shape[2:0:-1] + (50,),
                             compression="gzip")
        v.attrs["MATLAB_class"] = np.bytes_("single")
    head = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Dec  7 12:00:00 2026 HDF5 schema 1.00 ."
    with open(path, "r+b") as fh:
        fh.write(head.ljust(116) + b"\0" * 8 + b"\x00\x02IM")
    return path
