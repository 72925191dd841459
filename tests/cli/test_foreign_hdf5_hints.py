"""An HDF5 file that h5py wrote the natural way but knotmap cannot read says
what to store instead, and a result given where a session is wanted says it
is a result (session 44, a new user's files):
- a single frame saved 2-D: `/frames has rank 2, expected 3 [T, R, C]` now
  adds `store it as [1, R, C], numpy's frame[None]`;
- numpy bool and complex (h5py stores them as an enum and a compound) name
  what they are and what to store;
- a knotmap result read as a session (Python's process() and read_session(),
  the C API; the command skips results before reading them) says
  `a knotmap result, not a session` and where results are read, where it
  said only `attribute schema = "knotmap-result", expected "knotmap-session"`."""
import subprocess
import sys

import h5py
import numpy as np
import pytest

from km_cli import REPO, run, run_ok

FRAMES = np.arange(3 * 4 * 5, dtype="f4").reshape(3, 4, 5)


@pytest.mark.parametrize("data, said", [
    (FRAMES[0], "/frames has rank 2, expected 3 [T, R, C] (one frame [R, C]: store it as "
                "[1, R, C], numpy's frame[None])"),
    (FRAMES > 20, "/frames holds an enum type, expected numbers (numpy's bool is stored so by "
                  "h5py: store uint8)"),
    (FRAMES.astype("c8"), "/frames holds a compound type, expected numbers (numpy's complex"),
])
def test_what_to_store_instead(tmp_path, data, said):
    p = tmp_path / "f.h5"
    with h5py.File(p, "w") as f:
        f["frames"] = data
    r = run("info", "--format", "session", p)
    assert r.returncode == 65 and "%s: %s" % (p, said) in r.stderr, r.stderr


def test_a_result_is_named_a_result(tmp_path):
    res = tmp_path / "r.h5"
    run_ok("process", "-q", REPO / "datasets" / "example" / "roller_example.h5", "-o", res)
    pytest.importorskip("knotmap")  # the child imports it (not on the path in .ci/sanitize)
    code = ("import sys, knotmap\n"
            "for call in (knotmap.read_session, lambda p: knotmap.process(p, sys.argv[2])):\n"
            "    try:\n        call(sys.argv[1])\n    except ValueError as e:\n"
            "        print(e)\n")
    r = subprocess.run([sys.executable, "-c", code, str(res), str(tmp_path / "o.h5")],
                       capture_output=True, text=True)
    lines = r.stdout.splitlines()
    assert len(lines) == 2, r.stdout + r.stderr
    for line in lines:
        assert line.startswith("%s: a knotmap result, not a session" % res), line
        assert "read_result" in line
    assert not (tmp_path / "o.h5").exists()
