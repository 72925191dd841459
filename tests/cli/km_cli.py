"""What the CLI tests share: the knotmap command under test, the repository's
bundled data, and one way to run the command.

The binary is $KNOTMAP_BIN, else <repo>/build/knotmap.
"""
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("KNOTMAP_BIN", REPO / "build" / "knotmap"))
EXAMPLE = REPO / "datasets" / "example" / "roller_example.h5"
# The root attributes of a small knotmap session (docs/FORMAT.md 1.2), for
# tests that write one with h5py.
SESSION_ATTRS = {"schema": "knotmap-session", "schema_version": 1, "frame_rate_hz": 100.0,
                 "row_pitch_mm": 5.0, "col_pitch_mm": 5.0, "units": "kPa", "mode": "mat"}
TEKSCAN = REPO / "datasets" / "real" / "tekscan_fscan" / "FrasP01L.asf"
PHYSIONET = REPO / "datasets" / "real" / "physionet_pmd" / "experiment-i" / "S1" / "1.txt"
BAD = REPO / "tests" / "data" / "bad"
TIMEOUT_S = 300

# The commands start with SIGINT and SIGTERM at their default action whoever
# runs the tests: a background job of a shell without job control (`pytest
# ... &` in a script) starts with SIGINT ignored, and knotmap keeps a signal
# ignored at its start (docs/CLI.md, "Signals"; tests/cli/test_signal_ignored.py),
# so the tests that send one would see nothing happen.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
if signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


# argv[1:] run as a child of this small process; its exit code and peak RSS
# (bytes) printed on stdout, its stderr passed through
_MEASURE = ("import os, sys\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)\n"
            "    os.execv(sys.argv[1], sys.argv[1:])\n"
            "_, status, usage = os.wait4(pid, 0)\n"
            "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024)\n")


def run_rss(*args):
    """Run `knotmap ARGS...`: (exit code, stderr, peak RSS in bytes).  The peak is
    knotmap's own: a small Python process forks it and reads it from os.wait4()
    (ru_maxrss, KiB on Linux).  Forked from pytest itself, the figure would start at
    pytest's size (Linux keeps the larger of the parent's and the child's across exec)."""
    r = subprocess.run([sys.executable, "-c", _MEASURE, str(BIN), *map(str, args)],
                       capture_output=True, text=True, timeout=TIMEOUT_S)
    code, rss = map(int, r.stdout.split())
    return code, r.stderr, rss


def with_bodymap(res, values, **create):
    """The result file `res` with every 2-D dataset of its /bodymap replaced by
    `values` (n x n, cast to each one's dtype; `create`: h5py's create_dataset keywords,
    compression and chunks) and its x_mm, y_mm coordinates by 0, 10, 20, ... mm: a
    crafted large map for render and report."""
    import h5py
    import numpy as np
    with h5py.File(res, "r+") as f:
        g = f["bodymap"]
        for k in [k for k in g if g[k].ndim == 2]:
            dt, attrs = g[k].dtype, dict(g[k].attrs)
            del g[k]
            g.create_dataset(k, data=np.asarray(values).astype(dt), **create)
            g[k].attrs.update(attrs)
        for k, n in (("x_mm", values.shape[1]), ("y_mm", values.shape[0])):
            attrs = dict(g[k].attrs)
            del g[k]
            g.create_dataset(k, data=np.arange(n, dtype=np.float64) * 10)
            g[k].attrs.update(attrs)
    return res


def run(*args, cwd=None, env=None, timeout=TIMEOUT_S):
    """Run `knotmap ARGS...` (each argument passed through str()); text output."""
    return subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def says_assumed(stderr, kind):
    """Whether a warning line on `stderr` says `kind` ("row pitch", "frame rate", ...) is not
    in the file and was assumed: in its own line ("no row pitch in the file: assuming 1 mm
    ...") or in the one line that names two or more of pitch, rate, units and mode ("no row
    pitch, column pitch or frame rate in the file: assuming ...", since session 40)."""
    for line in stderr.splitlines():
        m = re.search(r": warning: no (.+?) in the file: assuming ", line)
        if m and kind in re.split(r", | or ", m.group(1)):
            return True
    return False


def run_ok(*args, **kwargs):
    """run(), asserting exit status 0 (stderr in the failure message)."""
    r = run(*args, **kwargs)
    assert r.returncode == 0, r.stderr
    return r


def refused(out_dir, path, code, *words):
    """`process PATH` fails with exit `code`, names the file and each of `words` on
    stderr, and leaves no output."""
    out = Path(out_dir) / "refused.h5"
    r = run("process", "-q", path, "-o", out)
    assert r.returncode == code, r.stderr
    assert str(path) in r.stderr
    for w in words:
        assert w in r.stderr, r.stderr
    assert not out.exists()
    return r


def assert_same_results(a, b):
    """Two results hold equal tables, body map and frames, dataset for dataset."""
    import h5py
    import numpy as np
    with h5py.File(a) as fa, h5py.File(b) as fb:
        compared = 0
        for group in ("peaks", "metrics", "tracks", "candidates", "bodymap", "frames"):
            for k, db in fb[group].items():
                if isinstance(db, h5py.Dataset):
                    assert np.array_equal(fa[group][k][()], db[()], equal_nan=True), (group, k)
                    compared += 1
        assert compared > 20
        assert np.array_equal(fa["session/time"][()], fb["session/time"][()])
        return fa.attrs["source_format"]
