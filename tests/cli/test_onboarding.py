"""A plain CMake configure works without Criterion and without cffi: the unit tests
and the Python extension are optional, and configure says what is missing."""
import glob
import os
import shutil
import subprocess

import pytest

from km_cli import REPO


pytestmark = pytest.mark.skipif(shutil.which("cmake") is None, reason="no cmake")


def configure(tmp_path, *args, env=None):
    return subprocess.run(["cmake", "-S", str(REPO), "-B", str(tmp_path / "b"), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_configure_with_tests_and_bindings_off(tmp_path):
    r = configure(tmp_path, "-DKM_BUILD_TESTS=OFF", "-DKM_BUILD_PYTHON=OFF")
    assert r.returncode == 0, r.stderr
    assert "knotmap: unit tests OFF, Python extension OFF" in r.stdout
    assert "Warning" not in r.stderr, "turned off on purpose: no warning"
    assert not (tmp_path / "b" / "tests").exists()
    assert not (tmp_path / "b" / "python-bindings").exists()


def test_missing_criterion_and_cffi_turn_them_off_with_a_message(tmp_path):
    # pkg-config sees every installed .pc file but Criterion's; the Python given
    # cannot be used (no headers, no cffi).
    pc = tmp_path / "pc"
    pc.mkdir()
    dirs = subprocess.run(["pkg-config", "--variable", "pc_path", "pkg-config"],
                          capture_output=True, text=True).stdout.strip().split(":")
    for d in dirs:
        for f in glob.glob(os.path.join(d, "*.pc")):
            if not os.path.basename(f).startswith("criterion") and not (pc / os.path.basename(f)).exists():
                os.symlink(f, pc / os.path.basename(f))
    env = dict(os.environ, PKG_CONFIG_LIBDIR=str(pc))
    r = configure(tmp_path, "-DPython3_EXECUTABLE=/bin/false", env=env)
    assert r.returncode == 0, r.stderr
    assert "unit tests OFF: Criterion not found" in r.stderr
    assert "libcriterion-dev" in r.stderr
    assert "Python extension OFF" in r.stderr and "python3-cffi" in r.stderr
    assert "knotmap: unit tests OFF, Python extension OFF" in r.stdout
