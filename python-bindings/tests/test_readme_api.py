"""python-bindings/README.md's Python blocks run as printed, one after the other, from a
checkout's root, as a new user pastes them into an interpreter (session 37).  Before,
its blocks were sketches: the first read a "1.txt" that is not in the repository
(FileNotFoundError) and used `image`, `frames`, `mask`, `frame` it never defined, the
Pipeline block an `acquisition()` and a `session` defined later, the stages block a
mat session for the roller odometry and a `peaks` without frames, the results block a
"s.knotmap.h5" nothing wrote, the batch block a "sessions/" folder.  The last block
(a Dask cluster at a given address) is left out: it needs that cluster."""
import os
import re
import subprocess
import sys

import knotmap


def _blocks(readme):
    return re.findall(r"```python\n(.*?)```", readme, re.S)


def test_readme_python_blocks_run_in_order(repo_dir, tmp_path):
    with open(os.path.join(repo_dir, "python-bindings", "README.md"), encoding="utf-8") as f:
        blocks = _blocks(f.read())
    assert len(blocks) == 6 and "tcp://" in blocks[-1]
    os.symlink(os.path.join(repo_dir, "datasets"), tmp_path / "datasets")  # cwd = a checkout
    pythonpath = os.path.dirname(os.path.dirname(knotmap.__file__))
    check = ("\nassert len(peaks) > 0 and bodymap['pressure'].size > 0 and len(best) >= 0\n"
             "assert res['peaks']['value'].size > 0 and len(tracks['track']) > 0\n"
             "assert [r['status'] for r in summary] == ['ok', 'ok']\n")
    r = subprocess.run([sys.executable, "-W", "ignore", "-c", "\n".join(blocks[:-1]) + check],
                       cwd=tmp_path, env=dict(os.environ, PYTHONPATH=pythonpath),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    for name in ("walk.knotmap.h5", "s.h5", "s.knotmap.h5", "s.png", "s.html",
                 "results/s.knotmap.h5", "results/roller_example.knotmap.h5"):
        assert (tmp_path / name).is_file(), name
