"""`pip install ./python-bindings` into a venv, offline, as the README says.

The package directory is copied to a temporary folder first (pip builds in
the tree it is given) and pointed at this checkout with KNOTMAP_SOURCE_DIR,
so the test leaves the checkout untouched.  Takes about a minute: setup.py
configures and builds the library with CMake.
"""
import os
import shutil
import subprocess

import pytest

SCRIPT = r"""
import sys, numpy as np, knotmap
assert knotmap.__file__.startswith(sys.prefix), knotmap.__file__
img = np.zeros((6, 7), np.float32)
img[2, 3] = 9.0
p = knotmap.find_peaks(img)
print(knotmap.__version__, len(p), int(p["row"][0]), int(p["col"][0]), float(p["value"][0]))
"""


@pytest.mark.slow
def test_pip_install_into_venv_offline(repo_dir, tmp_path):
    import knotmap
    if shutil.which("cmake") is None:
        pytest.fail("cmake is needed to build the package")
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)], check=True)
    pkg = tmp_path / "python-bindings"
    shutil.copytree(os.path.join(repo_dir, "python-bindings"), pkg,
                    ignore=shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__"))
    env = dict(os.environ, KNOTMAP_SOURCE_DIR=repo_dir)
    env.pop("PYTHONPATH", None)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-index",
                          "--no-build-isolation", "--no-cache-dir", str(pkg)],
                         env=env, capture_output=True, text=True)
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    run = subprocess.run([str(venv / "bin" / "python"), "-c", SCRIPT], env=env,
                         cwd=str(tmp_path), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == [knotmap.__version__, "1", "2", "3", "9.0"]
