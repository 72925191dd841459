"""MATLAB v7.3 MAT-files (HDF5 behind a 512-byte user block that begins "MATLAB 7.3
MAT-file"): MATLAB keeps arrays column-major and HDF5 shows their dimensions reversed,
so a MATLAB frames(r, c, t) reads as [t, c, r], rows and columns swapped. Nothing in the
file read as a session (--format session) says which order the user meant, so knotmap
warns it and records "matlab" among the assumptions (docs/FORMAT.md 1.2, "From MATLAB").
Before session 30 a MAT-file read with --format session said nothing of it. Since session
34 `--format auto` reads such a file as a MAT-file (test_matlab_v73.py)."""

import h5py
import numpy as np

from km_cli import run, run_ok

R, C, T = 6, 4, 30


def mat_file(path, signature=b"MATLAB 7.3 MAT-file"):
    a = np.random.default_rng(1).random((R, C, T)).astype("f4") * 20  # frames(r, c, t)
    with h5py.File(path, "w", userblock_size=512) as f:
        d = f.create_dataset("frames", data=np.ascontiguousarray(a.transpose(2, 1, 0)))
        d.attrs["MATLAB_class"] = np.bytes_(b"single")
    with open(path, "r+b") as fp:
        fp.write((signature + b", Platform: GLNXA64, Created on: Sat Dec  5 2026").ljust(116)
                 + b"\0" * 8 + b"\0\x02IM")
    return path


def test_auto_reads_it_as_a_mat_file(tmp_path):
    """Since session 34 (before: refused, "schema is missing"); tests/cli/test_matlab_v73.py."""
    r = run_ok("info", mat_file(tmp_path / "s.mat"))
    assert "format:       matlab" in r.stdout and "grid:         6 x 4" in r.stdout


def test_read_anyway_warns_and_records_it(tmp_path):
    path = mat_file(tmp_path / "s.mat")
    r = run_ok("info", "--format", "session", path)
    assert "MATLAB v7.3 MAT-file" in r.stderr and "permute(frames, [2 1 3])" in r.stderr
    assert "matlab" in r.stdout.split("assumed:")[1].splitlines()[0]
    out = tmp_path / "r.h5"
    run_ok("process", "-q", "--format", "session", path, "-o", out)
    with h5py.File(out) as f:
        assumed = f["session"].attrs["assumed"]
        assumed = assumed.decode() if isinstance(assumed, bytes) else str(assumed)
    assert "schema" in assumed.split(",") and "matlab" in assumed.split(",")


def test_other_files_are_not_called_matlab(tmp_path):
    other = mat_file(tmp_path / "o.h5", signature=b"Some other tool's user block")
    r = run("info", other)
    assert r.returncode == 65 and "MATLAB" not in r.stderr
    r = run_ok("info", "--format", "session", other)
    assert "MATLAB" not in r.stderr and "matlab" not in r.stdout
    plain = tmp_path / "p.h5"
    with h5py.File(plain, "w") as f:
        f["frames"] = np.zeros((T, R, C), dtype="f4")
    assert "MATLAB" not in run("info", plain).stderr
