"""Every HDF5 open under a small address-space limit (`ulimit -v`, RLIMIT_AS):
one mapping of a failed open (km_h5_open_fail), so out of memory is 71 ("cannot
open as HDF5: out of memory") whichever reader or writer opened the file.

Before session 49 (io7):
  - `info` of a MAT-file of v7.3 at the limits where 1 MiB of address space is
    no longer free before H5Fopen (km_h5_headroom's refusal) said "a MAT-file
    of v7.3 whose HDF5 cannot be opened: unknown error (truncated or damaged
    file?)", exit 65 (here 11.3-12.3 MiB), where a session said "cannot open as
    HDF5: out of memory" (71);
  - the writers' look at an existing output (its schema, before replacing a
    result; its /truth, before `synth` replaces a session) opened it with
    H5Fopen without that check: libhdf5 1.10.8 dereferences a failed
    allocation in H5Fopen, and `synth -o EXISTING` crashed (SIGSEGV, ended by
    the crash handler) at 11.9-12.9 MiB, `process -o EXISTING_RESULT` at
    12.0-12.25 MiB, at limits where the same command writing a new file ended
    cleanly.
The limits are 91e8af7's binary's (it started at 11 028 KiB), moved with the
binary under test (rebased from startup_kib, km_reliability.py).  The limits
at which libhdf5's own start-up crashes (H5T's init, just above the start:
tests/reliability/test_reliability_startup_limit.py) are told apart by
running the same command with a new output at the same limit.  Not under the
sanitizers: ASan reserves terabytes of address space."""
import os
import resource
import shutil
import subprocess

import numpy as np
import pytest

from km_reliability import rebased, write_mat73, h5py as h5  # (skips without h5py)

pytestmark = pytest.mark.skipif(os.environ.get("KNOTMAP_SANITIZED") == "1",
                                reason="ASan needs an unlimited address space")
CRASHED = "crashed ("  # the crash handler's words (docs/CLI.md, exit 71)
NOMEM = "cannot open as HDF5: out of memory"


def run(bin_, args, kib, cwd):
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (kib << 10, kib << 10))
    return subprocess.run([bin_] + [str(a) for a in args], cwd=str(cwd), capture_output=True, text=True,
                          timeout=120, preexec_fn=limit)


@pytest.fixture(scope="module")
def files(knotmap_bin, tmp_path_factory):
    d = tmp_path_factory.mktemp("open_limit")
    f = np.random.default_rng(0).normal(10, 1, (300, 8, 8)).astype("f4")
    np.save(d / "a.npy", f[:50])
    write_mat73(d / "v73.mat", f)
    for args in (["synth", "--duration", "2", "-q", "-o", d / "syn.h5"],
                 ["process", "-q", d / "a.npy", "--rate", "100", "--pitch", "5", "-o", d / "r.h5"]):
        subprocess.run([knotmap_bin] + [str(a) for a in args], check=True, capture_output=True, timeout=300)
    return d


@pytest.mark.parametrize("name", ["v73.mat", "syn.h5"])
def test_reader_open_out_of_memory_is_71(knotmap_bin, startup_kib, files, tmp_path, name):
    said = set()
    for kib in rebased(startup_kib, 11000, 12800, 100):
        r = run(knotmap_bin, ["info", files / name], kib, tmp_path)
        assert r.returncode in (0, 71), (kib, r.returncode, r.stderr[-400:])
        assert "damaged" not in r.stderr and "unknown error" not in r.stderr, (kib, r.stderr[-400:])
        if NOMEM in r.stderr:
            assert r.stderr == "knotmap: %s: %s\n" % (files / name, NOMEM), (kib, r.stderr[-400:])
            said.add(kib)
    assert said, "the sweep never reached the open"  # both readers: the same words


def _paired(knotmap_bin, files, tmp_path, cmd, existing, limits):
    """cmd (OUT substituted) at each limit, writing a new OUT and replacing
    `existing`: where the new one did not crash, replacing must not either,
    and the file to replace stays as it was, nothing beside it."""
    checked = said = 0
    want = (files / existing).read_bytes()
    for kib in limits:
        outs = []
        for old in (False, True):
            d = tmp_path / ("o%d%s" % (kib, "x" if old else ""))
            d.mkdir()
            if old:
                shutil.copy(files / existing, d / existing)
            r = run(knotmap_bin, [a if a != "OUT" else d / existing for a in cmd], kib, tmp_path)
            outs.append(r)
            assert r.returncode in (0, 71), (kib, old, r.returncode, r.stderr[-400:])
            if r.returncode == 71:
                assert sorted(os.listdir(d)) == ([existing] if old else []), (kib, old, os.listdir(d))
                if old:
                    assert (d / existing).read_bytes() == want, kib
        if CRASHED not in outs[0].stderr:
            checked += 1
            assert CRASHED not in outs[1].stderr, (kib, outs[1].stderr[-400:])
            said += NOMEM in outs[1].stderr
    assert checked and said, (checked, said)  # the sweep reached the target's open


def test_synth_replacing_a_session_under_a_sweep(knotmap_bin, startup_kib, files, tmp_path):
    _paired(knotmap_bin, files, tmp_path, ["synth", "-q", "--duration", "2", "-o", "OUT"], "syn.h5",
            rebased(startup_kib, 11500, 13200, 100))


def test_process_replacing_a_result_under_a_sweep(knotmap_bin, startup_kib, files, tmp_path):
    _paired(knotmap_bin, files, tmp_path,
            ["process", "-q", files / "a.npy", "--rate", "100", "--pitch", "5", "-o", "OUT"], "r.h5",
            rebased(startup_kib, 11500, 13000, 100))


def test_mat73_in_use_is_74(knotmap_bin, files, tmp_path):
    """The same mapping's other branch: a MAT-file of v7.3 another program
    holds open for writing (h5py "a": HDF5's lock) is in use (74), as a
    session is; before session 49, 65 "... unable to lock file ... (truncated
    or damaged file?)"."""
    p = tmp_path / "held.mat"
    shutil.copy(files / "v73.mat", p)
    with h5.File(p, "a"):
        r = subprocess.run([knotmap_bin, "info", str(p)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 74, (r.returncode, r.stderr)
    assert r.stderr == "knotmap: %s: in use: another program has it open for writing (HDF5's file lock)\n" % p
