"""What the CLI tests share: the knotmap command under test, the repository's
bundled data, and one way to run the command.

The binary is $KNOTMAP_BIN, else <repo>/build/knotmap.
"""
import os
import subprocess
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


def run(*args, cwd=None, env=None, timeout=TIMEOUT_S):
    """Run `knotmap ARGS...` (each argument passed through str()); text output."""
    return subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def run_ok(*args, **kwargs):
    """run(), asserting exit status 0 (stderr in the failure message)."""
    r = run(*args, **kwargs)
    assert r.returncode == 0, r.stderr
    return r
