"""Python's `knotmap.batch` on a full disk (session 47): every session is
reported with its failure (KM_ERR_CREATE when nothing could be written,
KM_ERR_IO when the writes ran out), the batch itself returns, nothing is left
in the output folder, and results already there stay as they were when
`force=True` tries them again.

Each session runs in a child interpreter of its own (knotmap.batch): the
failwrite shim (LD_PRELOAD, inherited) gives each child the same budget.  The
batch runs in a child interpreter too, so that this test process neither
imports knotmap nor carries the shim (the sanitize step runs without
PYTHONPATH and with ASan: skipped there)."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from km_reliability import BIN, REPO, SANITIZED, write_session

SHIM = os.environ.get("KM_FAILWRITE") or os.path.join(os.path.dirname(BIN), "tests", "libkm_failwrite.so")
PYPATH = os.environ.get("KNOTMAP_PYTHONPATH") or os.path.join(REPO, "build", "python")

pytestmark = pytest.mark.skipif(SANITIZED or not os.path.exists(SHIM)
                                or not os.path.isdir(os.path.join(PYPATH, "knotmap")),
                                reason="needs the plain build's Python package and the failwrite shim")

SCRIPT = """
import json, sys, knotmap
res = knotmap.batch(sys.argv[1], sys.argv[2], progress=False, max_workers=2, force=sys.argv[3] == "1")
print(json.dumps([{k: r[k] for k in ("input", "output", "status", "detail")} for r in res]))
"""


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    d = tmp_path_factory.mktemp("in")
    for k in range(3):
        write_session(str(d / f"s{k}.h5"), 200, rows=16, cols=16, seed=k)
    return d


def batch(sessions, out, after=None, force=False):
    env = dict(os.environ, PYTHONPATH=PYPATH)
    if after is not None:
        env.update(LD_PRELOAD=SHIM, KM_FAIL_DIR=str(out), KM_FAIL_AFTER=str(after))
    p = subprocess.run([sys.executable, "-c", SCRIPT, str(sessions), str(out), "1" if force else "0"],
                       capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("after, status, says", [(0, "KM_ERR_CREATE", "cannot create the temporary file"),
                                                 (20000, "KM_ERR_IO", "cannot write")])
def test_batch_on_a_full_disk(sessions, tmp_path, after, status, says):
    out = tmp_path / "out"
    out.mkdir()
    res = batch(sessions, out, after)
    assert [r["status"] for r in res] == [status] * 3, res
    for r in res:
        assert r["detail"].startswith(r["output"] + ": " + says), r["detail"]
        assert r["detail"].endswith("No space left on device"), r["detail"]
    assert os.listdir(out) == []


def test_batch_force_on_a_full_disk_keeps_the_results_there(sessions, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    assert [r["status"] for r in batch(sessions, out)] == ["ok"] * 3
    before = {n: (out / n).read_bytes() for n in os.listdir(out)}
    assert len(before) == 3
    res = batch(sessions, out, after=20000, force=True)
    assert [r["status"] for r in res] == ["KM_ERR_IO"] * 3, res
    assert {n: (out / n).read_bytes() for n in os.listdir(out)} == before
