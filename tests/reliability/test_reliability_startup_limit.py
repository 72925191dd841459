"""The command's start-up under the smallest address-space limits (`ulimit -v`,
RLIMIT_AS), swept finely from 528 KiB below the smallest limit at which
`knotmap --version` starts (startup_kib, bisected once per test session) to
2.5 MiB above it: 10.5-13.5 MiB for 91e8af7's 7.3 MB binary, 8.4-11.4 MiB
for session 49's 5.0 MB one (FFTW no longer linked).  What a user sees is the dynamic
loader's own refusal (exit 127, "error while loading shared libraries: ...:
failed to map segment", before any knotmap code runs), or exit 71 with a
message about memory, or a normal run; never a bare signal.

Before session 48 (hostile5), at one limit (~11 440 KiB here) every command,
`--version` included, died of SIGSEGV in libhdf5's first call
(H5dont_atexit: its thread state's allocation failed and
H5TS_cancel_count_dec dereferenced NULL) because the command installed its
crash handler after that call; and between ~13.1 and 13.5 MiB `info` and
`render` of a result said "out of memory checking its chunks" as a damaged
file (exit 65).  Session 47's sweeps (test_reliability_address_limit.py)
start at 12.25 MiB (for 91e8af7's binary).  The sweep's 40 KiB steps pass
8 and 48 KiB under startup_kib, inside `--version`'s exit-71 window (libhdf5's
start-up out of memory: the 56 KiB under startup_kib on both binaries), so
every command's sweep reaches it whatever the binary's size; with the window
tied to fixed limits a smaller binary started at every one of them and
`--version`'s sweep failed (session 48, speed24's lost branch).  Not under the
sanitizers: ASan reserves terabytes of address space."""
import os
import resource
import subprocess

import pytest

from km_reliability import REPO, rebased

pytestmark = pytest.mark.skipif(os.environ.get("KNOTMAP_SANITIZED") == "1",
                                reason="ASan needs an unlimited address space")
EXAMPLE = os.path.join(REPO, "datasets", "example", "roller_example.h5")


def limits(startup_kib):
    """The sweep as written for 91e8af7's binary, moved with the one under test."""
    return rebased(startup_kib, 10500, 13600, 40)


@pytest.fixture(scope="module")
def result(knotmap_bin, tmp_path_factory):
    d = tmp_path_factory.mktemp("result")
    subprocess.run([knotmap_bin, "process", "-q", "-o", str(d / "r.h5"), EXAMPLE], check=True, timeout=300)
    return d / "r.h5"


def sweep(knotmap_bin, args, out_dir, startup_kib):
    outcomes = {}
    for kib in limits(startup_kib):
        def limit():
            resource.setrlimit(resource.RLIMIT_AS, (kib << 10, kib << 10))
        r = subprocess.run([knotmap_bin] + [str(a) for a in args], capture_output=True, text=True,
                           timeout=120, preexec_fn=limit, cwd=str(out_dir))
        assert r.returncode >= 0, (kib, "signal %d" % -r.returncode, r.stderr[-300:])
        if r.returncode == 127:
            assert "error while loading shared libraries" in r.stderr, (kib, r.stderr[-300:])
        elif r.returncode == 71:
            assert "memory" in r.stderr, (kib, r.stderr[-300:])
            assert os.listdir(out_dir) == [], (kib, os.listdir(out_dir))  # nothing left
        else:
            assert r.returncode == 0, (kib, r.returncode, r.stderr[-300:])
        for name in os.listdir(out_dir):
            os.unlink(os.path.join(out_dir, name))
        outcomes.setdefault(r.returncode, kib)
    return outcomes


@pytest.mark.parametrize("cmd", ["version", "process", "info", "render", "synth"])
def test_startup_under_the_smallest_limits(knotmap_bin, startup_kib, result, tmp_path, cmd):
    args = {"version": ["--version"], "process": ["process", "-q", "-o", "o.h5", EXAMPLE],
            "info": ["info", result], "render": ["render", result, "-o", "m.png"],
            "synth": ["synth", "--duration", "1", "-q", "-o", "s.h5"]}[cmd]
    outcomes = sweep(knotmap_bin, args, tmp_path, startup_kib)
    assert 71 in outcomes, outcomes  # the sweep reaches libhdf5's start-up
