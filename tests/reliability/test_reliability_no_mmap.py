"""No input is ever memory-mapped: a file another program cuts while knotmap
reads it can then only make a read come back short (an error naming the file,
docs/FORMAT.md "A file cut while it is read"), never raise SIGBUS, which kills
a process that touches a mapped page past the file's new end.

Checked with strace (skipped without it) on every reader and every command
that opens a result: each mmap of the command is matched to the path its file
descriptor was opened on, and only shared libraries, locale and font files may
be mapped.  Session 48 (hostile5) found nothing mapped; this keeps it so.  The
checker's own failure is shown on a Python process that maps the file."""
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from km_reliability import REPO, write_mat73  # (skips without h5py)

pytestmark = [pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed"),
              pytest.mark.skipif(os.environ.get("KNOTMAP_SANITIZED") == "1",
                                 reason="LeakSanitizer does not run under ptrace (strace)")]
GOOD = os.path.join(REPO, "tests", "data", "good")
EXAMPLE = os.path.join(REPO, "datasets", "example", "roller_example.h5")
ALLOWED = re.compile(r"\.so(\.|$)|ld\.so\.cache|/locale|gconv|fontconfig|/fonts/")


def mapped_files(args, cwd):
    """The files (not libraries, locale or fonts) args maps, under strace."""
    log = os.path.join(str(cwd), "strace.log")
    r = subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat,mmap", "-o", log] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=300, cwd=str(cwd))
    fds, mapped = {}, []
    with open(log) as f:
        for line in f:
            m = re.match(r'(\d+)\s+openat\([^"]*"([^"]+)"[^=]*=\s*(\d+)', line)
            if m:
                fds[(m.group(1), m.group(3))] = m.group(2)
                continue
            m = re.match(r"(\d+)\s+mmap\([^,]*, \d+, [^,]*, [^,]*, (\d+), ", line)
            if m:
                path = fds.get((m.group(1), m.group(2)), "fd %s" % m.group(2))
                if not ALLOWED.search(path):
                    mapped.append(path)
    os.unlink(log)
    return r, mapped


def test_the_check_sees_a_mapped_input(tmp_path):
    src = tmp_path / "x.bin"
    src.write_bytes(b"\0" * 65536)
    code = "import mmap; f = open(%r, 'rb'); m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)" % str(src)
    _, mapped = mapped_files([sys.executable, "-c", code], tmp_path)
    assert str(src) in mapped, mapped


@pytest.fixture(scope="module")
def inputs(knotmap_bin, tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    f = np.random.default_rng(0).normal(10, 1, (300, 8, 8)).astype("f4")
    np.save(d / "a.npy", f)
    np.savez_compressed(d / "a.npz", frames=f, fs=100.0)
    write_mat73(d / "v73.mat", f)
    for args in (["synth", "--duration", "2", "-q", "-o", d / "syn.h5"],
                 ["synth", "--duration", "2", "-q", "--format", "audio", "-o", d / "a.wav"],
                 ["process", "-q", EXAMPLE, "-o", d / "r.h5"], ["process", "-q", d / "syn.h5", "-o", d / "rs.h5"]):
        subprocess.run([knotmap_bin] + [str(a) for a in args], check=True, capture_output=True, timeout=300)
    return d


CASES = {
    "session": ["process", "-q", "{d}/syn.h5", "-o", "o.h5"],
    "npy": ["process", "-q", "{d}/a.npy", "--rate", "100", "--pitch", "5", "-o", "o.h5"],
    "npz": ["process", "-q", "{d}/a.npz", "--pitch", "5", "-o", "o.h5"],
    "mat73": ["process", "-q", "{d}/v73.mat", "--rate", "100", "--pitch", "5", "-o", "o.h5"],
    "audio": ["process", "-q", "{d}/a.wav", "-o", "o.h5"],
    "text": ["process", "-q", GOOD + "/text_small.txt", "-o", "o.h5"],
    "tekscan": ["process", "-q", GOOD + "/tekscan_small.asf", "-o", "o.h5"],
    "xsensor": ["process", "-q", GOOD + "/xsensor_wide_2sensors.csv", "-o", "o.h5"],
    "info": ["info", "{d}/r.h5"],
    "render": ["render", "{d}/r.h5", "-o", "m.png"],
    "report": ["report", "{d}/r.h5", "-o", "r.html"],
    "eval": ["eval", "{d}/rs.h5", "--truth", "{d}/syn.h5"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_no_input_is_mapped(knotmap_bin, inputs, tmp_path, case):
    args = [a.format(d=inputs) for a in CASES[case]]
    r, mapped = mapped_files([knotmap_bin] + args, tmp_path)
    assert r.returncode == 0, (case, r.stderr[-400:])
    assert mapped == [], (case, mapped)
