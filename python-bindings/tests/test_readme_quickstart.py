"""The README's Python quick start runs as printed, from a checkout's root
(a new user's first paste).  Before session 35 it used an `image` it never
defined (NameError) and processed a "session.h5" that is not in the
repository."""
import os
import re
import subprocess
import sys

import knotmap


def _quick_start(readme):
    """The first ```python block of README.md's "### Python" section."""
    section = readme.split("### Python", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_python_quick_start_runs(repo_dir, tmp_path):
    with open(os.path.join(repo_dir, "README.md"), encoding="utf-8") as f:
        code = _quick_start(f.read())
    os.symlink(os.path.join(repo_dir, "datasets"), tmp_path / "datasets")  # cwd = a checkout
    pythonpath = os.path.dirname(os.path.dirname(knotmap.__file__))
    check = ("\nimport numpy as np\n"
             "assert len(peaks) > 0 and coords.shape[1] == 2 and smooth.shape == s.frames[40].shape\n"
             "assert summary['n_frames'] == 1500\n")
    r = subprocess.run([sys.executable, "-W", "ignore", "-c", code + check],
                       cwd=tmp_path, env=dict(os.environ, PYTHONPATH=pythonpath),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, code + r.stderr
