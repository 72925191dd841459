"""bench/gate_trace.patch (the diagnostic build bench/gate_misses.py reads) applies to
today's src/pipeline/candidate_detect.c and compiles with the project's warnings: a change
to make_candidate that breaks the patch fails here, not in the next session that needs the
trace (it had stopped applying twice before session 40).  No session is run."""
import shutil
import subprocess

import pytest

from km_cli import BIN, REPO

SRC = "src/pipeline/candidate_detect.c"


def patched(tmp_path):
    (tmp_path / "src/pipeline").mkdir(parents=True)
    shutil.copy(REPO / SRC, tmp_path / SRC)
    r = subprocess.run(["git", "apply", "--whitespace=nowarn", str(REPO / "bench/gate_trace.patch")],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, "bench/gate_trace.patch no longer applies:\n" + r.stderr
    return tmp_path / SRC


def test_the_patch_applies_and_compiles(tmp_path):
    if shutil.which("git") is None or shutil.which("cc") is None:
        pytest.skip("needs git and cc")
    src = patched(tmp_path)
    text = src.read_text()
    # the three traces gate_misses.py parses, and the gates' inputs it reads
    for what in ("TRACE peak", "TRACE spike", "TRACE merged", "share %.4f", "relief %d"):
        assert what in text
    version = BIN.parent / "include"  # knotmap_version.h is generated into the build
    if not (version / "knotmap_version.h").exists():
        pytest.skip("no build include folder beside %s" % BIN)
    r = subprocess.run(["cc", "-fsyntax-only", "-std=c11", "-Wall", "-Wextra", "-Wpedantic",
                        "-Wshadow", "-Wconversion", "-Wno-sign-conversion", "-Werror",
                        "-DH5_USE_110_API", "-I", str(REPO / "include"), "-I", str(version),
                        "-I", str(REPO / "src"), "-I", str(REPO / "src/core"),
                        "-isystem", "/usr/include/hdf5/serial", str(src)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
